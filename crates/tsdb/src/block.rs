//! A persisted block: `meta.json`, `index` and `chunks/` read through mmap, immutable once
//! `meta.json` exists.

use crate::TsdbError;
use crate::chunkenc::XorIterator;
use crate::chunks::{ChunkReader, ChunkRef};
use crate::index::{ChunkMeta, IndexReader};
use crate::meta::BlockMeta;
use crate::tombstones::{Interval, Tombstones, read_tombstones, write_tombstones};
use ember_model::{Labels, Matcher, Timestamp};
use ember_storage::{Series, Shard};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open block.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader<memmap2::Mmap>,
    chunks: ChunkReader,
    /// Deleted ranges per series ref; the only mutable part of a block.
    tombstones: std::sync::RwLock<Tombstones>,
    size: u64,
}

impl Block {
    /// Opens the block in `dir`.
    pub fn open(dir: &Path) -> Result<Block, TsdbError> {
        let meta = BlockMeta::read(dir).map_err(|e| TsdbError::block(dir, e))?;
        let index = IndexReader::open(dir.join("index")).map_err(|e| TsdbError::block(dir, e))?;
        let chunks = ChunkReader::open(dir.join("chunks")).map_err(|e| TsdbError::block(dir, e))?;
        let (tombstones, _) = read_tombstones(dir).map_err(|e| TsdbError::block(dir, e))?;
        let size = crate::head::dir_size(dir);
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            tombstones: std::sync::RwLock::new(tombstones),
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

    /// Calls `visit` with the ref, labels and in-range chunk metas of every series
    /// matching `matchers` (every series when there is none, as in the head: the label
    /// endpoints without `match[]`) that has chunks in `[mint, maxt]`, in label order.
    fn for_each_series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
        mut visit: impl FnMut(u64, &[(&str, &str)], &[ChunkMeta]) -> Result<(), TsdbError>,
    ) -> Result<(), TsdbError> {
        let refs = self.matching_refs(matchers)?;
        let mut labels = Vec::new();
        let mut metas: Vec<ChunkMeta> = Vec::new();
        for r in refs {
            self.index
                .series_into(r, &mut labels, &mut metas)
                .map_err(|e| TsdbError::block(&self.dir, e))?;
            metas.retain(|m| m.maxt >= mint && m.mint <= maxt);
            if !metas.is_empty() {
                visit(r, &labels, &metas)?;
            }
        }
        Ok(())
    }

    /// Series matching `matchers` with their samples in `[mint, maxt]` (deleted ones left
    /// out), in label order, each read from the mapped files when the iterator reaches it.
    /// The iterator keeps the block open, so the block may be deleted meanwhile.
    pub(crate) fn select(
        self: &Arc<Self>,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
        shard: Shard,
    ) -> Result<BlockSeries, TsdbError> {
        Ok(BlockSeries {
            block: self.clone(),
            shard,
            refs: self.matching_refs(matchers)?.into_iter(),
            // A copy, so deletions are not blocked while the iterator lives.
            tombstones: self.tombstones.read().expect("tombstones lock").clone(),
            mint,
            maxt,
            metas: Vec::new(),
        })
    }

    /// Refs of the series `matchers` select (every series when there is none), in label
    /// order.
    fn matching_refs(&self, matchers: &[Matcher]) -> Result<Vec<u64>, TsdbError> {
        if matchers.is_empty() {
            self.index.all_postings().map(|p| p.collect::<Vec<_>>())
        } else {
            self.index.postings_for_matchers(matchers)
        }
        .map_err(|e| TsdbError::block(&self.dir, e))
    }

    /// Labels of the series matching `matchers` that have chunks in `[mint, maxt]`.
    pub fn matching_labels(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Vec<Labels>, TsdbError> {
        let mut out = Vec::new();
        self.for_each_series(matchers, mint, maxt, |_, labels, _| {
            out.push(Labels::from_pairs(labels.iter().copied()));
            Ok(())
        })?;
        Ok(out)
    }
}

/// The series of one block a select found, decoded one by one.
pub(crate) struct BlockSeries {
    block: Arc<Block>,
    shard: Shard,
    refs: std::vec::IntoIter<u64>,
    tombstones: Tombstones,
    mint: Timestamp,
    maxt: Timestamp,
    metas: Vec<ChunkMeta>,
}

impl BlockSeries {
    /// The samples of series `r` in range, its chunk metas already in `self.metas`.
    fn samples(&self, r: u64) -> Result<Vec<(Timestamp, f64)>, TsdbError> {
        let mut samples = Vec::new();
        for m in self.metas.iter() {
            let (_, bytes) = self
                .block
                .chunks
                .chunk(ChunkRef(m.chunk_ref))
                .map_err(|e| TsdbError::block(&self.block.dir, e))?;
            samples.extend(
                XorIterator::new(bytes)
                    .skip_while(|&(t, _)| t < self.mint)
                    .take_while(|&(t, _)| t <= self.maxt),
            );
        }
        if let Some(deleted) = self.tombstones.get(r) {
            samples.retain(|&(t, _)| !deleted.contains(t));
        }
        Ok(samples)
    }
}

impl Iterator for BlockSeries {
    type Item = Result<Series, TsdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        let block = self.block.clone();
        let mut labels = Vec::new();
        loop {
            let r = self.refs.next()?;
            if let Err(e) = block.index.series_into(r, &mut labels, &mut self.metas) {
                return Some(Err(TsdbError::block(&block.dir, e)));
            }
            if !self.shard.contains(labels.iter().copied()) {
                continue;
            }
            let (mint, maxt) = (self.mint, self.maxt);
            self.metas.retain(|m| m.maxt >= mint && m.mint <= maxt);
            if self.metas.is_empty() {
                continue;
            }
            match self.samples(r) {
                Ok(samples) if samples.is_empty() => continue,
                Ok(samples) => {
                    return Some(Ok(Series {
                        labels: Labels::from_pairs(labels.iter().copied()),
                        samples,
                    }));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Block {
    /// Heap bytes of the index's lookup tables.
    pub(crate) fn index_table_bytes(&self) -> usize {
        self.index.lookup_table_bytes()
    }

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

    /// Marks the samples of series matching `matchers` in `[mint, maxt]` deleted, clamped
    /// to each series' data as Prometheus does, and persists the tombstones file and the
    /// tombstone count in `meta.json`. Returns how many series were affected.
    pub(crate) fn delete(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<usize, TsdbError> {
        let mut tombstones = self.tombstones.write().expect("tombstones lock");
        let mut affected = 0;
        self.for_each_series(matchers, mint, maxt, |r, _, metas| {
            let (first, last) = (metas[0].mint, metas[metas.len() - 1].maxt);
            tombstones.add(r, Interval::new(mint.max(first), maxt.min(last)));
            affected += 1;
            Ok(())
        })?;
        if affected > 0 {
            let io = |e: std::io::Error| TsdbError::Io {
                path: self.dir.clone(),
                source: e,
            };
            write_tombstones(&self.dir, &tombstones).map_err(io)?;
            let mut meta = self.meta.clone();
            meta.stats.num_tombstones = tombstones.total() as u64;
            meta.write(&self.dir).map_err(io)?;
        }
        Ok(affected)
    }

    /// True when some samples of the block are marked deleted.
    pub(crate) fn has_tombstones(&self) -> bool {
        !self.tombstones.read().expect("tombstones lock").is_empty()
    }

    /// Every series in label order with its chunks' metadata and bytes (for compaction).
    pub(crate) fn series_cursor(&self) -> Result<SeriesCursor<'_>, TsdbError> {
        let refs = self
            .index
            .all_postings()
            .map_err(|e| TsdbError::block(&self.dir, e))?;
        let tombstones = self.tombstones.read().expect("tombstones lock").clone();
        Ok(SeriesCursor {
            block: self,
            refs,
            tombstones,
        })
    }
}

/// Iterates a block's series in label order, copying out chunk bytes; deleted samples are
/// left out (their chunks re-encoded), and series left empty are skipped.
pub(crate) struct SeriesCursor<'a> {
    block: &'a Block,
    refs: crate::index::ListPostings<'a>,
    tombstones: Tombstones,
}

impl Iterator for SeriesCursor<'_> {
    type Item = Result<(Labels, Vec<(ChunkMeta, Vec<u8>)>), TsdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let r = self.refs.next()?;
            match self.read(r) {
                Ok(Some(series)) => return Some(Ok(series)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl SeriesCursor<'_> {
    fn read(&self, r: u64) -> Result<Option<(Labels, Vec<(ChunkMeta, Vec<u8>)>)>, TsdbError> {
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
        let (labels, chunks) = read()?;
        let Some(deleted) = self.tombstones.get(r) else {
            return Ok(Some((labels, chunks)));
        };
        let samples: Vec<(Timestamp, f64)> = chunks
            .iter()
            .flat_map(|(_, bytes)| XorIterator::new(bytes))
            .filter(|&(t, _)| !deleted.contains(t))
            .collect();
        let chunks = crate::compact::encode_chunks(&samples);
        Ok((!chunks.is_empty()).then_some((labels, chunks)))
    }
}
