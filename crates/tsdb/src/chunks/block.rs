//! Block chunk segments (`<block>/chunks/000001` …): after the header, chunks back to back,
//! each `len <uvarint> | encoding <u8> | data | CRC32C(encoding, data) <u32 BE>`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{
    CRC_SIZE, ChunkRef, ChunksError, Corruption, DEFAULT_SEGMENT_SIZE, MAGIC_CHUNKS,
    SEGMENT_HEADER_SIZE, Segment, check_crc, check_header, io_error, list_segment_files,
    map_segment, read_length, segment_header, segment_path, sync_dir,
};
use crate::chunkenc::Encoding;
use crate::chunkenc::varint::{MAX_VARINT_LEN32, MAX_VARINT_LEN64, put_uvarint};

/// Write buffer per segment, as Prometheus's.
const WRITE_BUFFER_SIZE: usize = 8 * 1024 * 1024;

/// Writes a block's chunk segment files, starting a new one when the next chunk could
/// overflow the segment size, exactly where Prometheus's `chunks.Writer` would.
///
/// Call [`ChunkWriter::finish`] to make the files durable; dropping the writer flushes
/// but neither syncs nor reports errors.
#[derive(Debug)]
pub struct ChunkWriter {
    dir: PathBuf,
    segment_size: u64,
    tail: Option<Tail>,
    /// Segment files started so far; the tail's index is one less.
    segments: u32,
}

/// The segment being written.
#[derive(Debug)]
struct Tail {
    path: PathBuf,
    file: BufWriter<File>,
    /// Bytes in the file, header included: the next chunk's offset.
    written: u64,
}

impl ChunkWriter {
    /// A writer into `dir` (created if missing; it must hold no segment files) with
    /// Prometheus's 512 MiB segments.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self, ChunksError> {
        Self::with_segment_size(dir, DEFAULT_SEGMENT_SIZE)
    }

    /// Like [`ChunkWriter::create`] with another segment size (Prometheus's
    /// `WithSegmentSize`).
    ///
    /// # Panics
    ///
    /// If `segment_size` exceeds `u32::MAX`, beyond which offsets do not fit a chunk ref.
    pub fn with_segment_size(
        dir: impl AsRef<Path>,
        segment_size: u64,
    ) -> Result<Self, ChunksError> {
        assert!(
            segment_size <= u64::from(u32::MAX),
            "segment size {segment_size} does not fit 32-bit chunk offsets"
        );
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        Ok(ChunkWriter {
            dir,
            segment_size,
            tail: None,
            segments: 0,
        })
    }

    /// Appends a chunk and returns its ref.
    ///
    /// # Panics
    ///
    /// If `data` is 4 GiB or longer, which the format cannot describe.
    pub fn write_chunk(
        &mut self,
        encoding: Encoding,
        data: &[u8],
    ) -> Result<ChunkRef, ChunksError> {
        assert!(
            u32::try_from(data.len()).is_ok(),
            "a chunk of {} bytes is too long for the chunk format",
            data.len()
        );
        // Like Prometheus, reserve the longest length field when deciding, and never leave
        // a segment without chunks.
        let max_size = (MAX_VARINT_LEN32 + 1 + data.len() + CRC_SIZE) as u64;
        let cut = match &self.tail {
            None => true,
            Some(tail) => {
                tail.written > SEGMENT_HEADER_SIZE as u64
                    && tail.written + max_size > self.segment_size
            }
        };
        if cut {
            self.cut()?;
        }
        let segment_index = self.segments - 1;
        let tail = self.tail.as_mut().expect("a segment was just started");
        let chunk_ref = ChunkRef::new(segment_index, tail.written as u32);

        let mut len_buf = [0; MAX_VARINT_LEN64];
        let len_size = put_uvarint(&mut len_buf, data.len() as u64);
        let encoding_byte = [encoding.as_u8()];
        let crc = crc32c::crc32c_append(crc32c::crc32c(&encoding_byte), data);
        let write = |file: &mut BufWriter<File>| -> std::io::Result<()> {
            file.write_all(&len_buf[..len_size])?;
            file.write_all(&encoding_byte)?;
            file.write_all(data)?;
            file.write_all(&crc.to_be_bytes())
        };
        write(&mut tail.file).map_err(io_error(&tail.path))?;
        tail.written += (len_size + 1 + data.len() + CRC_SIZE) as u64;
        Ok(chunk_ref)
    }

    /// Flushes and fsyncs the last segment and the directory.
    pub fn finish(mut self) -> Result<(), ChunksError> {
        self.finish_tail()?;
        sync_dir(&self.dir)
    }

    /// Finishes the current segment and starts the next.
    fn cut(&mut self) -> Result<(), ChunksError> {
        self.finish_tail()?;
        let path = segment_path(&self.dir, self.segments + 1);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_error(&path))?;
        sync_dir(&self.dir)?;
        let mut file = BufWriter::with_capacity(WRITE_BUFFER_SIZE, file);
        file.write_all(&segment_header(MAGIC_CHUNKS))
            .map_err(io_error(&path))?;
        self.segments += 1;
        self.tail = Some(Tail {
            path,
            file,
            written: SEGMENT_HEADER_SIZE as u64,
        });
        Ok(())
    }

    fn finish_tail(&mut self) -> Result<(), ChunksError> {
        if let Some(mut tail) = self.tail.take() {
            tail.file.flush().map_err(io_error(&tail.path))?;
            tail.file
                .get_ref()
                .sync_all()
                .map_err(io_error(&tail.path))?;
        }
        Ok(())
    }
}

/// Reads a block's chunk segment files through mmap.
#[derive(Debug)]
pub struct ChunkReader {
    dir: PathBuf,
    segments: Vec<Segment>,
}

/// A chunk in a block segment, borrowed from the mmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockChunk<'a> {
    /// Where the chunk starts.
    pub chunk_ref: ChunkRef,
    /// Its encoding.
    pub encoding: Encoding,
    /// The encoded chunk.
    pub data: &'a [u8],
}

impl ChunkReader {
    /// Maps every segment file in `dir` (a block's `chunks` directory) and checks headers.
    /// Segments are indexed in file-number order, as Prometheus does.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ChunksError> {
        let dir = dir.as_ref().to_path_buf();
        let mut segments = Vec::new();
        for (sequence, path) in list_segment_files(&dir)? {
            let segment = map_segment(&path, sequence)?;
            check_header(&segment, MAGIC_CHUNKS)?;
            segments.push(segment);
        }
        Ok(ChunkReader { dir, segments })
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Total bytes of all segment files.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes().len() as u64).sum()
    }

    /// The chunk at `chunk_ref`, without verifying its checksum (the fast path for
    /// queries, as in Prometheus).
    pub fn chunk(&self, chunk_ref: ChunkRef) -> Result<(Encoding, &[u8]), ChunksError> {
        self.read(chunk_ref, false)
    }

    /// The chunk at `chunk_ref`, after verifying its checksum.
    pub fn chunk_checked(&self, chunk_ref: ChunkRef) -> Result<(Encoding, &[u8]), ChunksError> {
        self.read(chunk_ref, true)
    }

    /// Every chunk in file order, checksums verified. Iteration stops after the first
    /// error.
    pub fn iter(&self) -> BlockChunks<'_> {
        BlockChunks {
            reader: self,
            segment: 0,
            offset: SEGMENT_HEADER_SIZE,
            failed: false,
        }
    }

    fn read(&self, chunk_ref: ChunkRef, verify: bool) -> Result<(Encoding, &[u8]), ChunksError> {
        let index = chunk_ref.segment_index();
        let segment =
            self.segments
                .get(index as usize)
                .ok_or_else(|| ChunksError::NoSuchSegment {
                    dir: self.dir.clone(),
                    chunk_ref: chunk_ref.0,
                    segment: index,
                })?;
        let offset = chunk_ref.offset() as usize;
        parse_chunk(segment, offset, verify).map(|(encoding, data, _)| (encoding, data))
    }
}

/// Parses the chunk at `offset`; returns its encoding, data and end offset.
fn parse_chunk(
    segment: &Segment,
    offset: usize,
    verify: bool,
) -> Result<(Encoding, &[u8], usize), ChunksError> {
    let bytes = segment.bytes();
    if offset < SEGMENT_HEADER_SIZE || offset >= bytes.len() {
        return Err(segment.corrupt(offset, Corruption::BadOffset));
    }
    let (len, len_size) = read_length(bytes, offset).map_err(|p| segment.corrupt(offset, p))?;
    let encoding_at = offset + len_size;
    let data_at = encoding_at + 1;
    let available = (bytes.len() - offset) as u64;
    let needed = (len_size + 1 + CRC_SIZE) as u64 + len as u64;
    if needed > available {
        return Err(segment.corrupt(offset, Corruption::Truncated { needed, available }));
    }
    let data_end = data_at + len;
    let end = data_end + CRC_SIZE;
    if verify {
        check_crc(&bytes[encoding_at..data_end], &bytes[data_end..end])
            .map_err(|p| segment.corrupt(offset, p))?;
    }
    let encoding = Encoding::try_from(bytes[encoding_at])
        .map_err(|_| segment.corrupt(offset, Corruption::UnknownEncoding(bytes[encoding_at])))?;
    Ok((encoding, &bytes[data_at..data_end], end))
}

/// Iterator over every chunk of a [`ChunkReader`] in file order.
#[derive(Debug)]
pub struct BlockChunks<'a> {
    reader: &'a ChunkReader,
    segment: usize,
    offset: usize,
    failed: bool,
}

impl<'a> Iterator for BlockChunks<'a> {
    type Item = Result<BlockChunk<'a>, ChunksError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let segment = self.reader.segments.get(self.segment)?;
            if self.offset >= segment.bytes().len() {
                self.segment += 1;
                self.offset = SEGMENT_HEADER_SIZE;
                continue;
            }
            let chunk_ref = ChunkRef::new(self.segment as u32, self.offset as u32);
            return Some(match parse_chunk(segment, self.offset, true) {
                Ok((encoding, data, end)) => {
                    self.offset = end;
                    Ok(BlockChunk {
                        chunk_ref,
                        encoding,
                        data,
                    })
                }
                Err(err) => {
                    self.failed = true;
                    Err(err)
                }
            });
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
            c.append(i * 15_000, i as f64);
        }
        c
    }

    #[test]
    fn writes_prometheus_layout_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = dir.path().join("chunks");
        let mut w = ChunkWriter::create(&chunks).unwrap();
        let a = xor_chunk(3);
        let b = xor_chunk(120);
        let ra = w.write_chunk(Encoding::Xor, a.bytes()).unwrap();
        let rb = w.write_chunk(Encoding::Xor, b.bytes()).unwrap();
        w.finish().unwrap();
        assert_eq!(ra, ChunkRef::new(0, 8));
        assert_eq!(rb, ChunkRef::new(0, 8 + 1 + 1 + a.bytes().len() as u32 + 4));

        let file = std::fs::read(chunks.join("000001")).unwrap();
        assert_eq!(&file[..8], &[0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0]);
        assert_eq!(file[8] as usize, a.bytes().len());
        assert_eq!(file[9], 1);
        let crc_at = 10 + a.bytes().len();
        let mut covered = vec![1u8];
        covered.extend_from_slice(a.bytes());
        assert_eq!(
            &file[crc_at..crc_at + 4],
            &crc32c::crc32c(&covered).to_be_bytes()
        );

        let r = ChunkReader::open(&chunks).unwrap();
        assert_eq!(r.chunk(ra).unwrap(), (Encoding::Xor, a.bytes()));
        assert_eq!(r.chunk_checked(rb).unwrap(), (Encoding::Xor, b.bytes()));
        let all: Vec<_> = r.iter().map(Result::unwrap).collect();
        assert_eq!(all.len(), 2);
        assert_eq!((all[1].chunk_ref, all[1].data), (rb, b.bytes()));
        assert_eq!(r.size(), file.len() as u64);
    }

    #[test]
    fn cuts_segments_where_prometheus_does() {
        let dir = tempfile::tempdir().unwrap();
        let c = xor_chunk(10);
        let len = c.bytes().len() as u64;
        // Room for exactly two chunks at their worst-case size after the header.
        let segment_size = 8 + 2 * (5 + 1 + len + 4);
        let mut w = ChunkWriter::with_segment_size(dir.path(), segment_size).unwrap();
        let refs: Vec<_> = (0..5)
            .map(|_| w.write_chunk(Encoding::Xor, c.bytes()).unwrap())
            .collect();
        w.finish().unwrap();
        let stride = (1 + 1 + len + 4) as u32;
        assert_eq!(
            refs,
            vec![
                ChunkRef::new(0, 8),
                ChunkRef::new(0, 8 + stride),
                ChunkRef::new(1, 8),
                ChunkRef::new(1, 8 + stride),
                ChunkRef::new(2, 8),
            ]
        );
        // A chunk larger than a whole segment still goes into a fresh one.
        let dir2 = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::with_segment_size(dir2.path(), 16).unwrap();
        assert_eq!(
            w.write_chunk(Encoding::Xor, c.bytes()).unwrap(),
            ChunkRef::new(0, 8)
        );
        assert_eq!(
            w.write_chunk(Encoding::Xor, c.bytes()).unwrap(),
            ChunkRef::new(1, 8)
        );
        w.finish().unwrap();

        let r = ChunkReader::open(dir.path()).unwrap();
        assert_eq!(r.segment_count(), 3);
        let got: Vec<_> = r.iter().map(|c| c.unwrap().chunk_ref).collect();
        assert_eq!(got, refs);
        for chunk_ref in refs {
            assert_eq!(r.chunk_checked(chunk_ref).unwrap().1, c.bytes());
        }
    }

    #[test]
    fn corruption_is_reported_with_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::create(dir.path()).unwrap();
        let c = xor_chunk(5);
        w.write_chunk(Encoding::Xor, c.bytes()).unwrap();
        let second = w.write_chunk(Encoding::Xor, c.bytes()).unwrap();
        w.finish().unwrap();
        let path = dir.path().join("000001");
        let mut bytes = std::fs::read(&path).unwrap();
        let flip = second.offset() as usize + 5;
        bytes[flip] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();

        let r = ChunkReader::open(dir.path()).unwrap();
        // The unchecked read returns the damaged bytes; the checked one refuses them.
        assert!(r.chunk(second).is_ok());
        let err = r.chunk_checked(second).unwrap_err();
        match &err {
            ChunksError::Corrupt {
                path: p,
                offset,
                problem: Corruption::ChecksumMismatch { .. },
            } => {
                assert_eq!(p, &path);
                assert_eq!(*offset, u64::from(second.offset()));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("000001: offset "));
        let results: Vec<_> = r.iter().collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok() && results[1].is_err());

        // Truncated tail.
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let r = ChunkReader::open(dir.path()).unwrap();
        assert!(matches!(
            r.chunk(second),
            Err(ChunksError::Corrupt {
                problem: Corruption::Truncated { .. },
                ..
            })
        ));
        assert!(matches!(
            r.chunk(ChunkRef::new(0, 2)),
            Err(ChunksError::Corrupt {
                problem: Corruption::BadOffset,
                ..
            })
        ));
        assert!(matches!(
            r.chunk(ChunkRef::new(3, 8)),
            Err(ChunksError::NoSuchSegment { segment: 3, .. })
        ));

        // Bad header.
        std::fs::write(&path, [0x85, 0xBD, 0x40, 0xDD, 2, 0, 0, 0]).unwrap();
        assert!(matches!(
            ChunkReader::open(dir.path()),
            Err(ChunksError::Corrupt {
                problem: Corruption::BadVersion(2),
                ..
            })
        ));
    }

    #[test]
    fn refuses_to_overwrite_segments() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("000001"), b"x").unwrap();
        let mut w = ChunkWriter::create(dir.path()).unwrap();
        assert!(matches!(
            w.write_chunk(Encoding::Xor, &[0, 0]),
            Err(ChunksError::Io { .. })
        ));
    }
}
