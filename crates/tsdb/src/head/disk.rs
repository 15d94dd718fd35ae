//! Full head chunks on disk (`chunks_head/`), memory-mapped, so a large head keeps only a
//! few words per closed chunk on the heap (Prometheus's chunk disk mapper).
//!
//! Every chunk is flushed to the file as it is written, so a read right after sees it; the
//! reader maps the files again when a ref points past what it has mapped. The files are
//! rebuilt from the WAL at start-up, and removed once every chunk in them is older than
//! the head.

use crate::chunkenc::Encoding;
use crate::chunks::{ChunksError, HeadChunkReader, HeadChunkWriter, MappedChunk, MappedChunkRef};
use ember_model::Timestamp;
use std::collections::BTreeMap;
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

impl ChunkDiskMapper {
    /// Starts afresh in `dir`: older files are removed, because replaying the WAL writes
    /// every chunk again.
    pub(crate) fn create(dir: &Path) -> Result<Self, ChunksError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| ChunksError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        std::fs::create_dir_all(dir).map_err(|e| ChunksError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        Ok(ChunkDiskMapper {
            dir: dir.to_path_buf(),
            state: Mutex::new(WriterState {
                writer: HeadChunkWriter::open(dir)?,
                max_time_by_file: BTreeMap::new(),
            }),
            reader: RwLock::new(HeadChunkReader::open(dir)?),
        })
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
