//! Full head chunks on disk (`chunks_head/`), memory-mapped, so a large head keeps only a
//! few words per closed chunk on the heap (Prometheus's chunk disk mapper).
//!
//! Every chunk is flushed to the file as it is written, so a read right after sees it; the
//! reader maps the files again when a ref points past what it has mapped. At start-up the
//! chunks found are handed back to their series, so the WAL replay only rebuilds what came
//! after them; files are removed once every chunk in them is older than the head.

use super::int_map::IntMap;
use crate::chunkenc::Encoding;
use crate::chunks::{ChunksError, HeadChunkReader, HeadChunkWriter, MappedChunk, MappedChunkRef};
use ember_model::Timestamp;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

struct WriterState {
    writer: HeadChunkWriter,
    /// The newest sample time per file sequence, to know when a file can go.
    max_time_by_file: BTreeMap<u32, Timestamp>,
}

pub(crate) struct ChunkDiskMapper {
    dir: PathBuf,
    state: Mutex<WriterState>,
    reader: RwLock<HeadChunkReader>,
}

/// A chunk found in `chunks_head/` at start-up.
pub(crate) struct FoundChunk {
    pub(crate) mint: Timestamp,
    pub(crate) maxt: Timestamp,
    pub(crate) chunk_ref: MappedChunkRef,
    /// The sample count in the chunk's header.
    pub(crate) samples: u16,
}

impl ChunkDiskMapper {
    /// Opens `dir` and returns the XOR chunks already there, per series ref in file order
    /// (which is time order per series). Unreadable files are removed with everything in
    /// the directory: the WAL still holds their samples, so the replay rebuilds them.
    pub(crate) fn open(dir: &Path) -> Result<(Self, IntMap<Vec<FoundChunk>>), ChunksError> {
        let io = |e: std::io::Error| ChunksError::Io {
            path: dir.to_path_buf(),
            source: e,
        };
        let mut found: IntMap<Vec<FoundChunk>> = IntMap::default();
        let mut max_time_by_file = BTreeMap::new();
        let mut wal_only = HashSet::new();
        let reader = match Self::scan(dir, &mut found, &mut wal_only, &mut max_time_by_file) {
            Ok(reader) => {
                found.retain(|r, _| !wal_only.contains(r));
                reader
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), err = %e, "Head chunk files are unreadable; removing them, the WAL replay rebuilds their chunks");
                found.clear();
                max_time_by_file.clear();
                std::fs::remove_dir_all(dir).map_err(io)?;
                std::fs::create_dir_all(dir).map_err(io)?;
                HeadChunkReader::open(dir)?
            }
        };
        let mapper = ChunkDiskMapper {
            dir: dir.to_path_buf(),
            state: Mutex::new(WriterState {
                writer: HeadChunkWriter::open(dir)?,
                max_time_by_file,
            }),
            reader: RwLock::new(reader),
        };
        Ok((mapper, found))
    }

    /// Reads every chunk record of `dir` into `found`; returns the reader, kept for
    /// later reads.
    fn scan(
        dir: &Path,
        found: &mut IntMap<Vec<FoundChunk>>,
        wal_only: &mut HashSet<u64>,
        max_time_by_file: &mut BTreeMap<u32, Timestamp>,
    ) -> Result<HeadChunkReader, ChunksError> {
        std::fs::create_dir_all(dir).map_err(|e| ChunksError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let reader = HeadChunkReader::open(dir)?;
        for record in reader.iter() {
            let (chunk_ref, chunk) = record?;
            let newest = max_time_by_file
                .entry(chunk_ref.sequence())
                .or_insert(chunk.max_time);
            *newest = (*newest).max(chunk.max_time);
            // Other encodings (native histograms, out-of-order chunks of a Prometheus
            // directory) are left to the WAL replay: a series with one gets none back.
            if chunk.encoding != Encoding::Xor || chunk.out_of_order {
                wal_only.insert(chunk.series_ref);
                continue;
            }
            let samples = match chunk.data {
                [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
                _ => 0,
            };
            found.entry(chunk.series_ref).or_default().push(FoundChunk {
                mint: chunk.min_time,
                maxt: chunk.max_time,
                chunk_ref,
                samples,
            });
        }
        Ok(reader)
    }

    /// The last sample of a chunk found at start-up, decoded where it is mapped.
    pub(crate) fn last_sample(&self, r: MappedChunkRef) -> Option<(Timestamp, f64)> {
        let reader = self.reader.read().expect("chunk reader lock");
        crate::chunkenc::XorIterator::new(reader.chunk(r).ok()?.data).last()
    }

    /// Writes a closed chunk and returns where it lives.
    pub(crate) fn write(
        &self,
        series_ref: u64,
        mint: Timestamp,
        maxt: Timestamp,
        data: &[u8],
    ) -> Result<MappedChunkRef, ChunksError> {
        let mut state = self.state.lock().expect("chunk disk mapper lock");
        let chunk = MappedChunk {
            series_ref,
            min_time: mint,
            max_time: maxt,
            encoding: Encoding::Xor,
            out_of_order: false,
            data,
        };
        let r = state.writer.write_chunk(&chunk)?;
        state.writer.flush()?;
        let newest = state.max_time_by_file.entry(r.sequence()).or_insert(maxt);
        *newest = (*newest).max(maxt);
        Ok(r)
    }

    /// The bytes of a chunk written earlier.
    pub(crate) fn read(&self, r: MappedChunkRef) -> Result<Vec<u8>, ChunksError> {
        if let Ok(c) = self.reader.read().expect("chunk reader lock").chunk(r) {
            return Ok(c.data.to_vec());
        }
        // Written after the files were last mapped: map them again.
        let mut reader = self.reader.write().expect("chunk reader lock");
        *reader = HeadChunkReader::open(&self.dir)?;
        reader.chunk(r).map(|c| c.data.to_vec())
    }

    /// Deletes the files whose chunks all end before `mint`, starting a new file first so
    /// the one being written can go too.
    pub(crate) fn truncate_before(&self, mint: Timestamp) -> Result<(), ChunksError> {
        let mut state = self.state.lock().expect("chunk disk mapper lock");
        let doomed: Vec<u32> = state
            .max_time_by_file
            .iter()
            .filter(|&(_, &max)| max < mint)
            .map(|(&seq, _)| seq)
            .collect();
        if doomed.is_empty() {
            return Ok(());
        }
        if state
            .writer
            .current_sequence()
            .is_some_and(|cur| doomed.contains(&cur))
        {
            state.writer.cut_new_file()?;
        }
        // Only a prefix of the sequence may go, so the files stay contiguous.
        let first_kept = state
            .max_time_by_file
            .iter()
            .find(|&(_, &max)| max >= mint)
            .map(|(&seq, _)| seq);
        for seq in doomed
            .into_iter()
            .filter(|&s| first_kept.is_none_or(|k| s < k))
        {
            let path = crate::chunks::segment_path(&self.dir, seq);
            std::fs::remove_file(&path).map_err(|e| ChunksError::Io { path, source: e })?;
            state.max_time_by_file.remove(&seq);
        }
        *self.reader.write().expect("chunk reader lock") = HeadChunkReader::open(&self.dir)?;
        Ok(())
    }
}
