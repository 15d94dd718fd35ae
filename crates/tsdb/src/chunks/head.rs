//! Head chunk files (`<data>/chunks_head/000001` …): after the header, records back to
//! back, each `series ref <u64 BE> | mint <i64 BE> | maxt <i64 BE> | encoding <u8> |
//! len <uvarint> | data | CRC32C(everything before) <u32 BE>`. The encoding byte's top bit
//! marks out-of-order chunks.
//!
//! Prometheus preallocates these files, so a run of zeros (a record with series ref, mint
//! and maxt all zero) marks the end of the written data.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use super::{
    CRC_SIZE, ChunksError, Corruption, MAGIC_HEAD_CHUNKS, MAX_HEAD_CHUNK_FILE_SIZE, MappedChunkRef,
    SEGMENT_HEADER_SIZE, Segment, check_crc, check_header, io_error, list_segment_files,
    map_segment, read_length, segment_header, segment_path, sync_dir,
};
use crate::chunkenc::Encoding;
use crate::chunkenc::varint::{MAX_VARINT_LEN32, MAX_VARINT_LEN64, put_uvarint};

/// Series ref, mint and maxt.
const FIXED_FIELDS_SIZE: usize = 8 + 8 + 8;
/// The most a record takes besides its data (Prometheus's `MaxHeadChunkMetaSize`).
const MAX_RECORD_META_SIZE: usize = FIXED_FIELDS_SIZE + 1 + MAX_VARINT_LEN32 + CRC_SIZE;
/// The encoding byte's out-of-order flag.
const OUT_OF_ORDER_MASK: u8 = 0x80;
/// Prometheus's default head chunk write buffer.
const WRITE_BUFFER_SIZE: usize = 4 * 1024 * 1024;

/// One head chunk record: a full head chunk and what the head needs to re-attach it to
/// its series without an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedChunk<'a> {
    /// The head series the chunk belongs to (never 0 together with zero mint and maxt,
    /// which reads as the end of the file).
    pub series_ref: u64,
    /// Timestamp of the first sample.
    pub min_time: i64,
    /// Timestamp of the last sample.
    pub max_time: i64,
    /// The chunk's encoding.
    pub encoding: Encoding,
    /// Whether the chunk holds out-of-order samples.
    pub out_of_order: bool,
    /// The encoded chunk.
    pub data: &'a [u8],
}

/// Appends head chunk records, cutting a new file when the next record could overflow the
/// maximum file size, as Prometheus's `ChunkDiskMapper` does.
///
/// Records are buffered: [`HeadChunkWriter::flush`] hands them to the OS (after which a
/// newly opened [`HeadChunkReader`] sees them) and [`HeadChunkWriter::finish`] also
/// fsyncs. Dropping the writer flushes without syncing or reporting errors.
#[derive(Debug)]
pub struct HeadChunkWriter {
    dir: PathBuf,
    max_file_size: u64,
    current: Option<HeadFile>,
    next_sequence: u32,
}

/// The head chunk file being written.
#[derive(Debug)]
struct HeadFile {
    path: PathBuf,
    sequence: u32,
    file: BufWriter<File>,
    /// Bytes in the file, header included: the next record's offset.
    written: u64,
    /// Bytes handed to the OS; a failed write rewinds the file to here.
    flushed: u64,
}

impl HeadChunkWriter {
    /// A writer into `dir` (created if missing) with Prometheus's 128 MiB files. The first
    /// record goes into a new file numbered after the existing ones; an empty last file,
    /// left by a crash right after it was created, is removed first, as Prometheus does.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ChunksError> {
        Self::with_max_file_size(dir, MAX_HEAD_CHUNK_FILE_SIZE)
    }

    /// Like [`HeadChunkWriter::open`] with another maximum file size.
    ///
    /// # Panics
    ///
    /// If `max_file_size` exceeds `u32::MAX`, beyond which offsets do not fit a ref.
    pub fn with_max_file_size(
        dir: impl AsRef<Path>,
        max_file_size: u64,
    ) -> Result<Self, ChunksError> {
        assert!(
            max_file_size <= u64::from(u32::MAX),
            "head chunk file size {max_file_size} does not fit 32-bit offsets"
        );
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let mut files = list_segment_files(&dir)?;
        if let Some((_, last)) = files.last() {
            let len = std::fs::metadata(last).map_err(io_error(last))?.len();
            if len == 0 {
                std::fs::remove_file(last).map_err(io_error(last))?;
                files.pop();
            }
        }
        let next_sequence = files.last().map_or(1, |(sequence, _)| sequence + 1);
        Ok(HeadChunkWriter {
            dir,
            max_file_size,
            current: None,
            next_sequence,
        })
    }

    /// Appends a record for `chunk` and returns its ref.
    ///
    /// # Panics
    ///
    /// If the series ref, mint and maxt are all zero (such a record would read as the end
    /// of the file), or the data is 4 GiB or longer.
    pub fn write_chunk(&mut self, chunk: &MappedChunk<'_>) -> Result<MappedChunkRef, ChunksError> {
        assert!(
            chunk.series_ref != 0 || chunk.min_time != 0 || chunk.max_time != 0,
            "a head chunk record with series ref, mint and maxt all zero reads as end of file"
        );
        assert!(
            u32::try_from(chunk.data.len()).is_ok(),
            "a chunk of {} bytes is too long for the chunk format",
            chunk.data.len()
        );
        let max_size = (MAX_RECORD_META_SIZE + chunk.data.len()) as u64;
        let cut = match &self.current {
            None => true,
            Some(current) => current.written + max_size > self.max_file_size,
        };
        if cut {
            self.cut_new_file()?;
        }
        let current = self.current.as_mut().expect("a file was just started");
        let chunk_ref = MappedChunkRef::new(current.sequence, current.written as u32);

        let mut meta = [0u8; FIXED_FIELDS_SIZE + 1 + MAX_VARINT_LEN64];
        meta[..8].copy_from_slice(&chunk.series_ref.to_be_bytes());
        meta[8..16].copy_from_slice(&chunk.min_time.to_be_bytes());
        meta[16..24].copy_from_slice(&chunk.max_time.to_be_bytes());
        meta[24] = chunk.encoding.as_u8()
            | if chunk.out_of_order {
                OUT_OF_ORDER_MASK
            } else {
                0
            };
        let mut len_buf = [0; MAX_VARINT_LEN64];
        let len_size = put_uvarint(&mut len_buf, chunk.data.len() as u64);
        meta[25..25 + len_size].copy_from_slice(&len_buf[..len_size]);
        let meta = &meta[..25 + len_size];
        let crc = crc32c::crc32c_append(crc32c::crc32c(meta), chunk.data);
        let write = |file: &mut BufWriter<File>| -> std::io::Result<()> {
            file.write_all(meta)?;
            file.write_all(chunk.data)?;
            file.write_all(&crc.to_be_bytes())
        };
        if let Err(e) = write(&mut current.file) {
            let e = io_error(&current.path)(e);
            self.rewind();
            return Err(e);
        }
        current.written += (meta.len() + chunk.data.len() + CRC_SIZE) as u64;
        Ok(chunk_ref)
    }

    /// Cuts the current file back to its last flushed record after a failed write (a full
    /// disk), dropping what is buffered, so the next record lands at the offset its ref
    /// names. If even that fails the file is left behind and the next write starts a new one.
    fn rewind(&mut self) {
        let Some(HeadFile {
            path,
            sequence,
            file,
            flushed,
            ..
        }) = self.current.take()
        else {
            return;
        };
        let (mut file, _unwritten) = file.into_parts();
        match file
            .set_len(flushed)
            .and_then(|()| file.seek(std::io::SeekFrom::Start(flushed)))
        {
            Ok(_) => {
                self.current = Some(HeadFile {
                    path,
                    sequence,
                    file: BufWriter::with_capacity(WRITE_BUFFER_SIZE, file),
                    written: flushed,
                    flushed,
                })
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), err = %e, "cutting back a head chunk file failed; starting a new one");
            }
        }
    }

    /// Finishes the current file (flushed and fsynced) and starts the next, as
    /// Prometheus's `CutNewFile` (used before truncating old files).
    pub fn cut_new_file(&mut self) -> Result<(), ChunksError> {
        self.finish_current()?;
        let sequence = self.next_sequence;
        let path = segment_path(&self.dir, sequence);
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_error(&path))?;
        // The header goes straight to the OS, so a rewind never cuts into it.
        if let Err(e) = file
            .write_all(&segment_header(MAGIC_HEAD_CHUNKS))
            .and_then(|()| sync_dir(&self.dir).map_err(std::io::Error::other))
        {
            let _ = std::fs::remove_file(&path);
            return Err(io_error(&path)(e));
        }
        self.next_sequence += 1;
        self.current = Some(HeadFile {
            path,
            sequence,
            file: BufWriter::with_capacity(WRITE_BUFFER_SIZE, file),
            written: SEGMENT_HEADER_SIZE as u64,
            flushed: SEGMENT_HEADER_SIZE as u64,
        });
        Ok(())
    }

    /// The sequence number of the file being written, if any.
    pub fn current_sequence(&self) -> Option<u32> {
        self.current.as_ref().map(|c| c.sequence)
    }

    /// Hands buffered records to the OS.
    pub fn flush(&mut self) -> Result<(), ChunksError> {
        let Some(current) = &mut self.current else {
            return Ok(());
        };
        match current.file.flush() {
            Ok(()) => {
                current.flushed = current.written;
                Ok(())
            }
            Err(e) => {
                let e = io_error(&current.path)(e);
                self.rewind();
                Err(e)
            }
        }
    }

    /// Flushes and fsyncs the current file.
    pub fn finish(mut self) -> Result<(), ChunksError> {
        self.finish_current()
    }

    fn finish_current(&mut self) -> Result<(), ChunksError> {
        if let Some(mut current) = self.current.take() {
            current.file.flush().map_err(io_error(&current.path))?;
            current
                .file
                .get_ref()
                .sync_all()
                .map_err(io_error(&current.path))?;
        }
        Ok(())
    }
}

/// Reads head chunk files through mmap, as they were when opened.
#[derive(Debug)]
pub struct HeadChunkReader {
    dir: PathBuf,
    /// In sequence order, without gaps.
    files: Vec<Segment>,
}

impl HeadChunkReader {
    /// Maps every head chunk file in `dir` and checks headers and that sequence numbers
    /// have no gaps. A missing directory has no chunks; an empty last file (a crash right
    /// after it was created) is ignored.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ChunksError> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.exists() {
            return Ok(HeadChunkReader {
                dir,
                files: Vec::new(),
            });
        }
        let mut listed = list_segment_files(&dir)?;
        if let Some((_, last)) = listed.last()
            && std::fs::metadata(last).map_err(io_error(last))?.len() == 0
        {
            listed.pop();
        }
        for pair in listed.windows(2) {
            if pair[1].0 != pair[0].0 + 1 {
                return Err(ChunksError::NonSequentialFiles {
                    dir,
                    before: pair[0].0,
                    after: pair[1].0,
                });
            }
        }
        let mut files = Vec::with_capacity(listed.len());
        for (sequence, path) in listed {
            let file = map_segment(&path, sequence)?;
            check_header(&file, MAGIC_HEAD_CHUNKS)?;
            files.push(file);
        }
        Ok(HeadChunkReader { dir, files })
    }

    /// The sequence numbers of the files, first and last, if there are any.
    pub fn sequence_range(&self) -> Option<(u32, u32)> {
        Some((self.files.first()?.sequence, self.files.last()?.sequence))
    }

    /// The record at `chunk_ref`, checksum verified.
    pub fn chunk(&self, chunk_ref: MappedChunkRef) -> Result<MappedChunk<'_>, ChunksError> {
        let file = self
            .files
            .first()
            .and_then(|first| chunk_ref.sequence().checked_sub(first.sequence))
            .and_then(|i| self.files.get(i as usize))
            .ok_or_else(|| ChunksError::NoSuchSegment {
                dir: self.dir.clone(),
                chunk_ref: chunk_ref.0,
                segment: chunk_ref.sequence(),
            })?;
        let offset = chunk_ref.offset() as usize;
        if offset < SEGMENT_HEADER_SIZE || offset >= file.bytes().len() {
            return Err(file.corrupt(offset, Corruption::BadOffset));
        }
        match parse_record(file, offset)? {
            Some((chunk, _)) => Ok(chunk),
            None => Err(file.corrupt(offset, Corruption::BadOffset)),
        }
    }

    /// Every record in file order, checksums verified, for rebuilding the head.
    ///
    /// A torn or corrupt record ends iteration with [`ChunksError::Corrupt`], whose `path`
    /// and `offset` say where the valid data ends: truncate that file there and delete the
    /// files after it (after dropping this reader).
    pub fn iter(&self) -> MappedChunks<'_> {
        MappedChunks {
            reader: self,
            file: 0,
            offset: SEGMENT_HEADER_SIZE,
            failed: false,
        }
    }
}

/// Parses the record at `offset`; `None` when only zeros (preallocated space) remain.
fn parse_record(
    file: &Segment,
    offset: usize,
) -> Result<Option<(MappedChunk<'_>, usize)>, ChunksError> {
    let bytes = file.bytes();
    let rest = &bytes[offset..];
    if rest.len() < FIXED_FIELDS_SIZE + 1 {
        // Prometheus treats a tail shorter than the longest record header as the end when
        // it is all zeros and as corruption otherwise; a real record is never that short.
        return if rest.iter().all(|&b| b == 0) {
            Ok(None)
        } else {
            Err(file.corrupt(
                offset,
                Corruption::Truncated {
                    needed: MAX_RECORD_META_SIZE as u64,
                    available: rest.len() as u64,
                },
            ))
        };
    }
    let field = |i: usize| u64::from_be_bytes(rest[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let (series_ref, min_time, max_time) = (field(0), field(1) as i64, field(2) as i64);
    if series_ref == 0 && min_time == 0 && max_time == 0 {
        return Ok(None);
    }
    let encoding_byte = rest[FIXED_FIELDS_SIZE];
    let (len, len_size) =
        read_length(bytes, offset + FIXED_FIELDS_SIZE + 1).map_err(|p| file.corrupt(offset, p))?;
    let data_at = FIXED_FIELDS_SIZE + 1 + len_size;
    let needed = (data_at + CRC_SIZE) as u64 + len as u64;
    if needed > rest.len() as u64 {
        let available = rest.len() as u64;
        return Err(file.corrupt(offset, Corruption::Truncated { needed, available }));
    }
    let data_end = data_at + len;
    check_crc(&rest[..data_end], &rest[data_end..data_end + CRC_SIZE])
        .map_err(|p| file.corrupt(offset, p))?;
    let encoding = Encoding::try_from(encoding_byte & !OUT_OF_ORDER_MASK)
        .map_err(|_| file.corrupt(offset, Corruption::UnknownEncoding(encoding_byte)))?;
    let chunk = MappedChunk {
        series_ref,
        min_time,
        max_time,
        encoding,
        out_of_order: encoding_byte & OUT_OF_ORDER_MASK != 0,
        data: &rest[data_at..data_end],
    };
    Ok(Some((chunk, offset + data_end + CRC_SIZE)))
}

/// Iterator over every record of a [`HeadChunkReader`] in file order.
#[derive(Debug)]
pub struct MappedChunks<'a> {
    reader: &'a HeadChunkReader,
    file: usize,
    offset: usize,
    failed: bool,
}

impl<'a> Iterator for MappedChunks<'a> {
    type Item = Result<(MappedChunkRef, MappedChunk<'a>), ChunksError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let file = self.reader.files.get(self.file)?;
            if self.offset < file.bytes().len() {
                match parse_record(file, self.offset) {
                    Ok(Some((chunk, end))) => {
                        let chunk_ref = MappedChunkRef::new(file.sequence, self.offset as u32);
                        self.offset = end;
                        return Some(Ok((chunk_ref, chunk)));
                    }
                    Ok(None) => {}
                    Err(err) => {
                        self.failed = true;
                        return Some(Err(err));
                    }
                }
            }
            self.file += 1;
            self.offset = SEGMENT_HEADER_SIZE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkenc::XorChunk;

    fn xor_chunk(n: i64) -> XorChunk {
        let mut c = XorChunk::new();
        for i in 0..n {
            c.append(1_000 + i * 15_000, i as f64 * 0.5);
        }
        c
    }

    fn record(series_ref: u64, data: &[u8]) -> MappedChunk<'_> {
        MappedChunk {
            series_ref,
            min_time: 1_000,
            max_time: 2_000,
            encoding: Encoding::Xor,
            out_of_order: false,
            data,
        }
    }

    #[test]
    fn record_layout_matches_head_chunks_md() {
        let dir = tempfile::tempdir().unwrap();
        let c = xor_chunk(2);
        let mut w = HeadChunkWriter::open(dir.path()).unwrap();
        let mut rec = record(0x0102_0304_0506_0708, c.bytes());
        rec.min_time = -5;
        rec.out_of_order = true;
        let r = w.write_chunk(&rec).unwrap();
        w.finish().unwrap();
        assert_eq!(r, MappedChunkRef::new(1, 8));

        let file = std::fs::read(dir.path().join("000001")).unwrap();
        assert_eq!(&file[..8], &[0x01, 0x30, 0xBC, 0x91, 1, 0, 0, 0]);
        assert_eq!(&file[8..16], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&file[16..24], &(-5i64).to_be_bytes());
        assert_eq!(&file[24..32], &2000i64.to_be_bytes());
        assert_eq!(file[32], 0x81);
        assert_eq!(file[33] as usize, c.bytes().len());
        let data_end = 34 + c.bytes().len();
        assert_eq!(&file[34..data_end], c.bytes());
        assert_eq!(
            &file[data_end..],
            &crc32c::crc32c(&file[8..data_end]).to_be_bytes()
        );

        let reader = HeadChunkReader::open(dir.path()).unwrap();
        assert_eq!(reader.chunk(r).unwrap(), rec);
    }

    #[test]
    fn iterates_files_in_order_and_continues_numbering() {
        let dir = tempfile::tempdir().unwrap();
        let c = xor_chunk(30);
        // Two records per file.
        let size = 8 + 2 * (MAX_RECORD_META_SIZE + c.bytes().len()) as u64;
        let mut w = HeadChunkWriter::with_max_file_size(dir.path(), size).unwrap();
        let mut refs = Vec::new();
        for series in 1..=5 {
            refs.push(w.write_chunk(&record(series, c.bytes())).unwrap());
        }
        w.finish().unwrap();
        assert_eq!(
            refs.iter().map(|r| r.sequence()).collect::<Vec<_>>(),
            vec![1, 1, 2, 2, 3]
        );

        // A restarted writer starts a new file after the last one.
        let mut w = HeadChunkWriter::open(dir.path()).unwrap();
        refs.push(w.write_chunk(&record(6, c.bytes())).unwrap());
        w.finish().unwrap();
        assert_eq!(refs[5], MappedChunkRef::new(4, 8));

        let reader = HeadChunkReader::open(dir.path()).unwrap();
        assert_eq!(reader.sequence_range(), Some((1, 4)));
        let all: Vec<_> = reader.iter().map(Result::unwrap).collect();
        assert_eq!(all.iter().map(|(r, _)| *r).collect::<Vec<_>>(), refs);
        assert_eq!(
            all.iter().map(|(_, c)| c.series_ref).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6]
        );
        for (r, chunk) in &all {
            assert_eq!(reader.chunk(*r).unwrap(), *chunk);
        }
    }

    #[test]
    fn preallocated_zeros_end_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let c = xor_chunk(10);
        let mut w = HeadChunkWriter::open(dir.path()).unwrap();
        w.write_chunk(&record(1, c.bytes())).unwrap();
        w.write_chunk(&record(2, c.bytes())).unwrap();
        w.finish().unwrap();
        let path = dir.path().join("000001");
        let mut bytes = std::fs::read(&path).unwrap();
        let written = bytes.len();
        bytes.resize(written + 64 * 1024, 0);
        std::fs::write(&path, &bytes).unwrap();
        let reader = HeadChunkReader::open(dir.path()).unwrap();
        assert_eq!(reader.iter().map(Result::unwrap).count(), 2);
        // A short all-zero tail is the end as well.
        std::fs::write(&path, &bytes[..written + 7]).unwrap();
        let reader = HeadChunkReader::open(dir.path()).unwrap();
        assert_eq!(reader.iter().map(Result::unwrap).count(), 2);
    }

    #[test]
    fn torn_tail_reports_last_valid_offset() {
        let dir = tempfile::tempdir().unwrap();
        let c = xor_chunk(10);
        let mut w = HeadChunkWriter::open(dir.path()).unwrap();
        w.write_chunk(&record(1, c.bytes())).unwrap();
        let second = w.write_chunk(&record(2, c.bytes())).unwrap();
        w.finish().unwrap();
        let path = dir.path().join("000001");
        let full = std::fs::read(&path).unwrap();

        for cut in [
            second.offset() as usize + 10,
            second.offset() as usize + 30,
            full.len() - 1,
        ] {
            std::fs::write(&path, &full[..cut]).unwrap();
            let reader = HeadChunkReader::open(dir.path()).unwrap();
            let results: Vec<_> = reader.iter().collect();
            assert_eq!(results.len(), 2, "cut at {cut}");
            assert!(results[0].is_ok());
            match &results[1] {
                Err(ChunksError::Corrupt {
                    path: p,
                    offset,
                    problem: Corruption::Truncated { .. },
                }) => {
                    assert_eq!(p, &path);
                    assert_eq!(*offset, u64::from(second.offset()));
                }
                other => panic!("cut at {cut}: unexpected {other:?}"),
            }
        }

        let mut flipped = full.clone();
        flipped[second.offset() as usize + 40] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let reader = HeadChunkReader::open(dir.path()).unwrap();
        let err = reader.iter().find_map(Result::err).unwrap();
        assert!(matches!(
            err,
            ChunksError::Corrupt {
                problem: Corruption::ChecksumMismatch { .. },
                ..
            }
        ));
        assert!(reader.chunk(second).is_err());
    }

    #[test]
    fn file_set_problems() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            HeadChunkReader::open(dir.path().join("missing"))
                .unwrap()
                .iter()
                .count(),
            0
        );
        let c = xor_chunk(3);
        let mut w = HeadChunkWriter::open(dir.path()).unwrap();
        w.write_chunk(&record(1, c.bytes())).unwrap();
        w.finish().unwrap();

        // An empty last file is ignored by the reader and removed by the writer.
        std::fs::write(dir.path().join("000002"), b"").unwrap();
        assert_eq!(HeadChunkReader::open(dir.path()).unwrap().iter().count(), 1);
        let mut w = HeadChunkWriter::open(dir.path()).unwrap();
        let r = w.write_chunk(&record(1, c.bytes())).unwrap();
        w.finish().unwrap();
        assert_eq!(r.sequence(), 2);

        std::fs::copy(dir.path().join("000001"), dir.path().join("000004")).unwrap();
        assert!(matches!(
            HeadChunkReader::open(dir.path()),
            Err(ChunksError::NonSequentialFiles {
                before: 2,
                after: 4,
                ..
            })
        ));
        std::fs::write(
            dir.path().join("000004"),
            [0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0],
        )
        .unwrap();
        std::fs::rename(dir.path().join("000004"), dir.path().join("000003")).unwrap();
        assert!(matches!(
            HeadChunkReader::open(dir.path()),
            Err(ChunksError::Corrupt {
                problem: Corruption::BadMagic { .. },
                ..
            })
        ));
    }
}
