//! A persisted block: `meta.json`, `index` and `chunks/` read through mmap, immutable once
//! `meta.json` exists.

use crate::TsdbError;
use crate::chunkenc::XorIterator;
use crate::chunks::{ChunkReader, ChunkRef};
use crate::index::{ChunkMeta, IndexReader};
use crate::meta::BlockMeta;
use ember_model::{Labels, Matcher, Timestamp};
use ember_storage::Series;
use std::path::{Path, PathBuf};

/// An open block.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader<memmap2::Mmap>,
    chunks: ChunkReader,
    size: u64,
}

impl Block {
    /// Opens the block in `dir`.
    pub fn open(dir: &Path) -> Result<Block, TsdbError> {
        let meta = BlockMeta::read(dir).map_err(|e| TsdbError::block(dir, e))?;
        let index = IndexReader::open(dir.join("index")).map_err(|e| TsdbError::block(dir, e))?;
        let chunks = ChunkReader::open(dir.join("chunks")).map_err(|e| TsdbError::block(dir, e))?;
        let size = crate::head::dir_size(dir);
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            size,
        })
    }

    /// The block's metadata.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True when the block holds samples in `[mint, maxt]` (its max time is exclusive).
    pub fn overlaps(&self, mint: Timestamp, maxt: Timestamp) -> bool {
        self.meta.min_time <= maxt && mint < self.meta.max_time
    }

    /// Series matching `matchers` with their samples in `[mint, maxt]`, sorted by labels.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Series>, TsdbError> {
        let refs = self
            .index
            .postings_for_matchers(matchers)
            .map_err(|e| TsdbError::block(&self.dir, e))?;
        let mut labels = Vec::new();
        let mut metas: Vec<ChunkMeta> = Vec::new();
        let mut out = Vec::new();
        for r in refs {
            self.index
                .series_into(r, &mut labels, &mut metas)
                .map_err(|e| TsdbError::block(&self.dir, e))?;
            let mut samples = Vec::new();
            for m in metas.iter().filter(|m| m.maxt >= mint && m.mint <= maxt) {
                let (_, bytes) = self
                    .chunks
                    .chunk(ChunkRef(m.chunk_ref))
                    .map_err(|e| TsdbError::block(&self.dir, e))?;
                samples.extend(
                    XorIterator::new(bytes)
                        .skip_while(|&(t, _)| t < mint)
                        .take_while(|&(t, _)| t <= maxt),
                );
            }
            if !samples.is_empty() {
                out.push(Series {
                    labels: Labels::from_pairs(labels.iter().copied()),
                    samples,
                });
            }
        }
        Ok(out)
    }

    /// Labels of the series matching `matchers` that have chunks in `[mint, maxt]`.
    pub fn matching_labels(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, TsdbError> {
        let refs = self
            .index
            .postings_for_matchers(matchers)
            .map_err(|e| TsdbError::block(&self.dir, e))?;
        let mut labels = Vec::new();
        let mut metas: Vec<ChunkMeta> = Vec::new();
        let mut out = Vec::new();
        for r in refs {
            self.index
                .series_into(r, &mut labels, &mut metas)
                .map_err(|e| TsdbError::block(&self.dir, e))?;
            if metas.iter().any(|m| m.maxt >= mint && m.mint <= maxt) {
                out.push(Labels::from_pairs(labels.iter().copied()));
            }
        }
        Ok(out)
    }
}

impl Block {
    /// Every symbol of the block's index, sorted.
    pub(crate) fn symbols(&self) -> Result<Vec<String>, TsdbError> {
        self.index
            .symbols()
            .map(|s| {
                s.map(str::to_string)
                    .map_err(|e| TsdbError::block(&self.dir, e))
            })
            .collect()
    }

    /// Every series in label order with its chunks' metadata and bytes (for compaction).
    pub(crate) fn series_cursor(&self) -> Result<SeriesCursor<'_>, TsdbError> {
        let refs = self
            .index
            .all_postings()
            .map_err(|e| TsdbError::block(&self.dir, e))?;
        Ok(SeriesCursor { block: self, refs })
    }
}

/// Iterates a block's series in label order, copying out chunk bytes.
pub(crate) struct SeriesCursor<'a> {
    block: &'a Block,
    refs: crate::index::ListPostings<'a>,
}

impl Iterator for SeriesCursor<'_> {
    type Item = Result<(Labels, Vec<(ChunkMeta, Vec<u8>)>), TsdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.refs.next()?;
        let b = self.block;
        let read = || {
            let (labels, metas) = b.index.series(r).map_err(|e| TsdbError::block(&b.dir, e))?;
            let chunks = metas
                .into_iter()
                .map(|m| {
                    let (_, bytes) = b
                        .chunks
                        .chunk(ChunkRef(m.chunk_ref))
                        .map_err(|e| TsdbError::block(&b.dir, e))?;
                    Ok((m, bytes.to_vec()))
                })
                .collect::<Result<Vec<_>, TsdbError>>()?;
            Ok((labels, chunks))
        };
        Some(read())
    }
}
