//! Writing blocks: from the head's oldest chunk range, and from merging blocks into larger
//! ranges (Prometheus's leveled compaction).
//!
//! [`BlockWriter`] streams series in label order: each series' chunks go to the chunk
//! files, then its entry to the index, so memory stays proportional to postings, not to
//! data. A block is written under `<ulid>.tmp-for-creation`, fsynced, then renamed into
//! place, so a crash leaves either a whole block or a temporary directory removed at
//! start-up.

use crate::TsdbError;
use crate::block::Block;
use crate::chunkenc::{Encoding, XorChunk, XorIterator};
use crate::chunks::{ChunkRef, ChunkWriter};
use crate::index::{ChunkMeta, IndexWriter};
use crate::meta::{BlockCompaction, BlockDesc, BlockMeta, BlockStats};
use ember_model::{Labels, Timestamp};
use std::collections::BTreeSet;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The suffix of a block directory still being written.
pub(crate) const TMP_SUFFIX: &str = ".tmp-for-creation";

/// Samples per chunk when chunks have to be re-encoded (overlapping blocks).
const SAMPLES_PER_CHUNK: usize = 120;

/// One chunk to write: its time range and XOR bytes.
pub(crate) struct ChunkData<'a> {
    pub(crate) mint: Timestamp,
    pub(crate) maxt: Timestamp,
    pub(crate) bytes: &'a [u8],
}

/// A block directory being written: removed unless renamed into place, so a failed
/// compaction (a full disk, typically) gives its space back at once.
struct TmpBlockDir(PathBuf);

impl Drop for TmpBlockDir {
    fn drop(&mut self) {
        if self.0.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.0) {
                tracing::warn!(dir = %self.0.display(), err = %e, "removing an unfinished block failed");
            }
        }
    }
}

/// Streams one block to disk.
pub(crate) struct BlockWriter {
    id: String,
    db_dir: PathBuf,
    tmp: PathBuf,
    _cleanup: TmpBlockDir,
    chunks: ChunkWriter,
    index: IndexWriter<BufWriter<std::fs::File>>,
    stats: BlockStats,
    metas: Vec<ChunkMeta>,
}

impl BlockWriter {
    /// Starts a block whose index uses `symbols` (sorted, unique, including every label
    /// name and value written later).
    pub(crate) fn create<S: AsRef<str>>(
        db_dir: &Path,
        symbols: impl IntoIterator<Item = S>,
    ) -> Result<Self, TsdbError> {
        let id = ulid::Ulid::generate().to_string();
        let tmp = db_dir.join(format!("{id}{TMP_SUFFIX}"));
        let cleanup = TmpBlockDir(tmp.clone());
        std::fs::create_dir_all(tmp.join("chunks")).map_err(|e| TsdbError::Io {
            path: tmp.clone(),
            source: e,
        })?;
        let chunks =
            ChunkWriter::create(tmp.join("chunks")).map_err(|e| TsdbError::block(&tmp, e))?;
        let mut index =
            IndexWriter::create(tmp.join("index")).map_err(|e| TsdbError::block(&tmp, e))?;
        index
            .add_symbols(symbols)
            .map_err(|e| TsdbError::block(&tmp, e))?;
        Ok(BlockWriter {
            id,
            db_dir: db_dir.to_path_buf(),
            tmp,
            _cleanup: cleanup,
            chunks,
            index,
            stats: BlockStats::default(),
            metas: Vec::new(),
        })
    }

    /// Adds a series (in label order) with its chunks (in time order).
    pub(crate) fn add_series(
        &mut self,
        labels: &Labels,
        chunks: &[ChunkData<'_>],
    ) -> Result<(), TsdbError> {
        if chunks.is_empty() {
            return Ok(());
        }
        self.metas.clear();
        for c in chunks {
            let ChunkRef(chunk_ref) = self
                .chunks
                .write_chunk(Encoding::Xor, c.bytes)
                .map_err(|e| TsdbError::block(&self.tmp, e))?;
            self.metas.push(ChunkMeta {
                mint: c.mint,
                maxt: c.maxt,
                chunk_ref,
            });
            self.stats.num_chunks += 1;
            self.stats.num_samples += u64::from(u16::from_be_bytes([c.bytes[0], c.bytes[1]]));
        }
        self.index
            .add_series(labels, &self.metas)
            .map_err(|e| TsdbError::block(&self.tmp, e))?;
        self.stats.num_series += 1;
        Ok(())
    }

    /// Completes the block: files synced, tombstones and `meta.json` written, directory
    /// renamed into place.
    pub(crate) fn finish(
        self,
        mint: Timestamp,
        maxt: Timestamp,
        mut compaction: BlockCompaction,
    ) -> Result<BlockMeta, TsdbError> {
        let tmp = self.tmp.clone();
        let io = |e: std::io::Error| TsdbError::Io {
            path: tmp.clone(),
            source: e,
        };
        self.chunks
            .finish()
            .map_err(|e| TsdbError::block(&tmp, e))?;
        self.index
            .finish_sync()
            .map_err(|e| TsdbError::block(&tmp, e))?;
        if compaction.sources.is_empty() {
            compaction.sources = vec![self.id.clone()];
        }
        let meta = BlockMeta {
            ulid: self.id.clone(),
            min_time: mint,
            max_time: maxt,
            stats: self.stats,
            compaction,
            version: 1,
            extra: Default::default(),
        };
        crate::tombstones::write_tombstones(&tmp, &crate::tombstones::Tombstones::new())
            .map_err(io)?;
        meta.write(&tmp).map_err(io)?;
        std::fs::rename(&tmp, self.db_dir.join(&self.id)).map_err(io)?;
        std::fs::File::open(&self.db_dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| TsdbError::Io {
                path: self.db_dir.clone(),
                source: e,
            })?;
        Ok(meta)
    }
}

/// Writes the head's `series` (sorted by labels, chunks inside `[mint, maxt)`) as a
/// level-1 block.
pub(crate) fn write_head_block(
    db_dir: &Path,
    mint: Timestamp,
    maxt: Timestamp,
    series: &[(Labels, Vec<crate::head::ClosedChunk>)],
) -> Result<BlockMeta, TsdbError> {
    // Prometheus's symbol tables include the empty string; keep ours identical.
    let mut symbols: BTreeSet<&str> = BTreeSet::from([""]);
    for (labels, _) in series {
        for l in labels.iter() {
            symbols.insert(&l.name);
            symbols.insert(&l.value);
        }
    }
    let mut writer = BlockWriter::create(db_dir, symbols)?;
    let mut chunks = Vec::new();
    for (labels, closed) in series {
        chunks.clear();
        chunks.extend(closed.iter().map(|c| ChunkData {
            mint: c.mint,
            maxt: c.maxt,
            bytes: &c.bytes,
        }));
        writer.add_series(labels, &chunks)?;
    }
    writer.finish(
        mint,
        maxt,
        BlockCompaction {
            level: 1,
            ..Default::default()
        },
    )
}

/// The block ranges compaction builds: 2h, 6h, 18h, … (×3), up to `max_ms`.
pub(crate) fn compaction_ranges(base_ms: i64, max_ms: i64) -> Vec<i64> {
    let mut ranges = vec![base_ms];
    while let Some(&last) = ranges.last() {
        let next = last * 3;
        if next > max_ms || ranges.len() >= 10 {
            break;
        }
        ranges.push(next);
    }
    ranges
}

/// Chooses blocks to merge, as Prometheus's leveled compactor does: overlapping blocks
/// first; otherwise the oldest aligned range (of the larger ranges) that holds more than
/// one block and is complete. The newest block is never a candidate.
pub(crate) fn plan(blocks: &[std::sync::Arc<Block>], ranges: &[i64]) -> Vec<std::sync::Arc<Block>> {
    let mut sorted: Vec<_> = blocks.to_vec();
    sorted.sort_by_key(|b| b.meta().min_time);
    // The newest block stays out, giving backup tools a block's time to copy it whole.
    if sorted.pop().is_none() {
        return Vec::new();
    }
    // Overlapping blocks are merged first (vertical compaction).
    let mut overlapping: Vec<std::sync::Arc<Block>> = Vec::new();
    for pair in sorted.windows(2) {
        if pair[1].meta().min_time < pair[0].meta().max_time {
            for b in pair {
                if !overlapping.iter().any(|o| std::sync::Arc::ptr_eq(o, b)) {
                    overlapping.push(b.clone());
                }
            }
        } else if !overlapping.is_empty() {
            break;
        }
    }
    if !overlapping.is_empty() {
        return overlapping;
    }
    // A group qualifies when it spans its whole range, or ends before the newest
    // candidate starts, so blocks are not merged while another still fits the range.
    let high_time = sorted.last().map_or(i64::MIN, |b| b.meta().min_time);
    for &range in ranges.iter().skip(1) {
        for group in split_by_range(&sorted, range) {
            let mint = group[0].meta().min_time;
            let maxt = group[group.len() - 1].meta().max_time;
            if group.len() > 1 && (maxt - mint == range || maxt <= high_time) {
                return group;
            }
        }
    }
    Vec::new()
}

/// Groups time-sorted blocks by the aligned `range` window they fall in; blocks that do
/// not fit one window are left out.
fn split_by_range(blocks: &[std::sync::Arc<Block>], range: i64) -> Vec<Vec<std::sync::Arc<Block>>> {
    let mut groups: Vec<Vec<std::sync::Arc<Block>>> = Vec::new();
    let mut window_start = i64::MIN;
    for b in blocks {
        let start = b.meta().min_time.div_euclid(range) * range;
        if b.meta().max_time > start + range {
            continue;
        }
        if start != window_start || groups.is_empty() {
            groups.push(Vec::new());
            window_start = start;
        }
        groups.last_mut().expect("just pushed").push(b.clone());
    }
    groups
}

/// Merges `parents` into one block one level up; overlapping chunks of a series are
/// decoded, deduplicated by timestamp and re-encoded.
pub(crate) fn merge_blocks(
    db_dir: &Path,
    parents: &[std::sync::Arc<Block>],
) -> Result<BlockMeta, TsdbError> {
    let mut symbols = BTreeSet::new();
    for p in parents {
        for s in p.symbols()? {
            symbols.insert(s);
        }
    }
    let mut writer = BlockWriter::create(db_dir, &symbols)?;
    let mut cursors: Vec<_> = parents
        .iter()
        .map(|p| p.series_cursor())
        .collect::<Result<_, _>>()?;
    let mut heads: Vec<Option<(Labels, Vec<(ChunkMeta, Vec<u8>)>)>> = cursors
        .iter_mut()
        .map(|c| c.next().transpose())
        .collect::<Result<_, _>>()?;
    loop {
        let Some(smallest) = heads.iter().flatten().map(|(l, _)| l).min().cloned() else {
            break;
        };
        let mut chunks: Vec<(ChunkMeta, Vec<u8>)> = Vec::new();
        for (i, head) in heads.iter_mut().enumerate() {
            if head.as_ref().is_some_and(|(l, _)| *l == smallest) {
                let (_, c) = head.take().expect("checked");
                chunks.extend(c);
                *head = cursors[i].next().transpose()?;
            }
        }
        chunks.sort_by_key(|(m, _)| (m.mint, m.maxt));
        let overlapping = chunks.windows(2).any(|w| w[1].0.mint <= w[0].0.maxt);
        let reencoded;
        let data: Vec<ChunkData<'_>> = if overlapping {
            reencoded = reencode(&chunks);
            reencoded
                .iter()
                .map(|(m, b)| ChunkData {
                    mint: m.mint,
                    maxt: m.maxt,
                    bytes: b,
                })
                .collect()
        } else {
            chunks
                .iter()
                .map(|(m, b)| ChunkData {
                    mint: m.mint,
                    maxt: m.maxt,
                    bytes: b,
                })
                .collect()
        };
        writer.add_series(&smallest, &data)?;
    }
    let mint = parents.iter().map(|p| p.meta().min_time).min().unwrap_or(0);
    let maxt = parents.iter().map(|p| p.meta().max_time).max().unwrap_or(0);
    let mut sources: Vec<String> = parents
        .iter()
        .flat_map(|p| p.meta().compaction.sources.clone())
        .collect();
    sources.sort();
    sources.dedup();
    let compaction = BlockCompaction {
        level: parents
            .iter()
            .map(|p| p.meta().compaction.level)
            .max()
            .unwrap_or(1)
            + 1,
        sources,
        parents: parents
            .iter()
            .map(|p| BlockDesc {
                ulid: p.meta().ulid.clone(),
                min_time: p.meta().min_time,
                max_time: p.meta().max_time,
            })
            .collect(),
        ..Default::default()
    };
    writer.finish(mint, maxt, compaction)
}

/// Decodes overlapping chunks, keeps the first sample per timestamp, and re-encodes them.
fn reencode(chunks: &[(ChunkMeta, Vec<u8>)]) -> Vec<(ChunkMeta, Vec<u8>)> {
    let mut samples: Vec<(Timestamp, f64)> = chunks
        .iter()
        .flat_map(|(_, b)| XorIterator::new(b))
        .collect();
    samples.sort_by_key(|&(t, _)| t);
    samples.dedup_by_key(|&mut (t, _)| t);
    encode_chunks(&samples)
}

/// Encodes time-sorted samples into chunks of Prometheus's usual size.
pub(crate) fn encode_chunks(samples: &[(Timestamp, f64)]) -> Vec<(ChunkMeta, Vec<u8>)> {
    samples
        .chunks(SAMPLES_PER_CHUNK)
        .map(|run| {
            let mut c = XorChunk::new();
            for &(t, v) in run {
                c.append(t, v);
            }
            (
                ChunkMeta {
                    mint: run[0].0,
                    maxt: run[run.len() - 1].0,
                    chunk_ref: 0,
                },
                c.into_bytes(),
            )
        })
        .collect()
}
