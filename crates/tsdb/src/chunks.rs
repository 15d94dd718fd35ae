//! Chunk segment files: where encoded chunks live on disk, and the references that point
//! at them.
//!
//! - Blocks (`<block>/chunks/000001` …, `chunks.md`): [`ChunkWriter`] appends chunks and
//!   hands out [`ChunkRef`]s for the index; [`ChunkReader`] mmaps the segments and returns a
//!   chunk's encoding and bytes for a ref, or all chunks in file order.
//! - The head (`<data>/chunks_head/000001` …, `head_chunks.md`): [`HeadChunkWriter`]
//!   m-maps full head chunks as records that also carry the series ref and time range,
//!   handing out [`MappedChunkRef`]s; [`HeadChunkReader`] reads them back, one by ref or all
//!   in file order to rebuild the head at start-up, and reports a torn tail with the offset
//!   to truncate at.
//!
//! Both kinds of file start with the same 8-byte header: a big-endian magic number, a
//! format version byte (1) and three zero bytes. Chunk bytes are borrowed from the mmap,
//! never copied. Errors name the file and the offset.

mod block;
mod head;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::chunkenc::DecodeError;
use crate::chunkenc::varint::{MAX_VARINT_LEN32, read_uvarint};

pub use block::{BlockChunk, BlockChunks, ChunkReader, ChunkWriter};
pub use head::{HeadChunkReader, HeadChunkWriter, MappedChunk, MappedChunks};

/// Magic number at the start of a block chunk segment file.
pub const MAGIC_CHUNKS: u32 = 0x85BD_40DD;
/// Magic number at the start of a head chunk file.
pub const MAGIC_HEAD_CHUNKS: u32 = 0x0130_BC91;
/// The only segment format version.
pub const CHUNKS_FORMAT_V1: u8 = 1;
/// Size of the segment file header: magic, version, padding.
pub const SEGMENT_HEADER_SIZE: usize = 8;
/// Prometheus's block chunk segment size, after which the writer starts a new file.
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 * 1024 * 1024;
/// Prometheus's maximum head chunk file size.
pub const MAX_HEAD_CHUNK_FILE_SIZE: u64 = 128 * 1024 * 1024;
/// Size of a chunk's CRC32 (Castagnoli), stored big-endian after its data.
const CRC_SIZE: usize = 4;

/// Where a chunk starts in a block's segment files: the segment's index (0 for
/// `000001`) in the upper 32 bits, the byte offset in the lower 32. The index stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkRef(pub u64);

impl ChunkRef {
    /// Packs a segment index and an offset, as Prometheus's `NewBlockChunkRef` does.
    pub fn new(segment_index: u32, offset: u32) -> Self {
        ChunkRef(u64::from(segment_index) << 32 | u64::from(offset))
    }

    /// The 0-based position of the segment file among the block's segments.
    pub fn segment_index(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The byte offset of the chunk's length field in its segment.
    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

/// Where an m-mapped head chunk record starts: the head chunk file's sequence number
/// (`000003` is 3) in the upper 32 bits, the record's byte offset in the lower 32
/// (Prometheus's `ChunkDiskMapperRef`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MappedChunkRef(pub u64);

impl MappedChunkRef {
    /// Packs a file sequence number and an offset.
    pub fn new(sequence: u32, offset: u32) -> Self {
        MappedChunkRef(u64::from(sequence) << 32 | u64::from(offset))
    }

    /// The head chunk file's sequence number, as in its name.
    pub fn sequence(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The byte offset of the record (its series ref) in the file.
    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

/// Errors reading or writing chunk files.
#[derive(Debug, thiserror::Error)]
pub enum ChunksError {
    /// An I/O operation on a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file's bytes are not what the format allows at `offset`. While iterating head
    /// chunks this marks a torn or corrupt tail: everything before `offset` in `path` is
    /// valid, everything from it on (and every later file) is not.
    #[error("{}: offset {offset}: {problem}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the bad header or record starts.
        offset: u64,
        /// What is wrong.
        problem: Corruption,
    },
    /// A chunk ref names a segment file the reader does not have.
    #[error("{}: chunk ref {chunk_ref:#x} names segment {segment}, which does not exist", dir.display())]
    NoSuchSegment {
        /// The chunks directory.
        dir: PathBuf,
        /// The ref.
        chunk_ref: u64,
        /// The segment index (block) or sequence number (head) it names.
        segment: u32,
    },
    /// The head chunk files have a gap in their sequence numbers.
    #[error("{}: head chunk files are not sequential: {before:06} is followed by {after:06}", dir.display())]
    NonSequentialFiles {
        /// The `chunks_head` directory.
        dir: PathBuf,
        /// The file before the gap.
        before: u32,
        /// The file after the gap.
        after: u32,
    },
}

/// What is wrong with a file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// The file is shorter than the segment header.
    #[error("{len} bytes is too short for the segment header")]
    ShortHeader {
        /// The file's length.
        len: u64,
    },
    /// The header's magic number is not this kind of file's.
    #[error("invalid magic number {found:#010x}, want {want:#010x}")]
    BadMagic {
        /// The magic number found.
        found: u32,
        /// The magic number this kind of file has.
        want: u32,
    },
    /// The header's version is not 1.
    #[error("invalid chunk format version {0}")]
    BadVersion(u8),
    /// A record runs past the end of the file.
    #[error("chunk needs {needed} bytes, {available} are left")]
    Truncated {
        /// Bytes the record needs from its start.
        needed: u64,
        /// Bytes left in the file from its start.
        available: u64,
    },
    /// The chunk length field is not a valid `uvarint`.
    #[error("invalid chunk length: {0}")]
    BadLength(DecodeError),
    /// The stored CRC32 does not match the bytes.
    #[error("checksum mismatch: stored {stored:08x}, computed {computed:08x}")]
    ChecksumMismatch {
        /// The CRC in the file.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// The encoding byte is not one Ember knows.
    #[error("unknown chunk encoding {0}")]
    UnknownEncoding(u8),
    /// The offset does not point at a record (inside the header, or past the end).
    #[error("offset is outside the file's records")]
    BadOffset,
}

/// One mmap'd segment file.
#[derive(Debug)]
struct Segment {
    path: PathBuf,
    /// The number in the file name.
    sequence: u32,
    map: Mmap,
}

impl Segment {
    fn bytes(&self) -> &[u8] {
        &self.map
    }

    fn corrupt(&self, offset: usize, problem: Corruption) -> ChunksError {
        ChunksError::Corrupt {
            path: self.path.clone(),
            offset: offset as u64,
            problem,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ChunksError + '_ {
    move |source| ChunksError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The segment files in `dir` (names that parse as numbers), sorted by number.
fn list_segment_files(dir: &Path) -> Result<Vec<(u32, PathBuf)>, ChunksError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let Some(sequence) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        files.push((sequence, entry.path()));
    }
    files.sort_unstable();
    Ok(files)
}

/// The name of segment `sequence`: six digits, zero-padded.
pub(crate) fn segment_path(dir: &Path, sequence: u32) -> PathBuf {
    dir.join(format!("{sequence:06}"))
}

/// Maps `path` read-only.
fn map_segment(path: &Path, sequence: u32) -> Result<Segment, ChunksError> {
    let file = File::open(path).map_err(io_error(path))?;
    // SAFETY: segment files are written once and never modified in place afterwards:
    // block segments are immutable, and head chunk files are only appended to (by the
    // writer, past the length mapped here) or deleted whole. Truncating a file while it
    // is mapped is the caller's responsibility to avoid, as in Prometheus.
    let map = unsafe { Mmap::map(&file) }.map_err(io_error(path))?;
    Ok(Segment {
        path: path.to_path_buf(),
        sequence,
        map,
    })
}

/// Checks the 8-byte segment header.
fn check_header(segment: &Segment, magic: u32) -> Result<(), ChunksError> {
    let bytes = segment.bytes();
    if bytes.len() < SEGMENT_HEADER_SIZE {
        let len = bytes.len() as u64;
        return Err(segment.corrupt(0, Corruption::ShortHeader { len }));
    }
    let found = u32::from_be_bytes(bytes[..4].try_into().expect("four bytes"));
    if found != magic {
        return Err(segment.corrupt(0, Corruption::BadMagic { found, want: magic }));
    }
    if bytes[4] != CHUNKS_FORMAT_V1 {
        return Err(segment.corrupt(0, Corruption::BadVersion(bytes[4])));
    }
    Ok(())
}

/// The segment header for `magic`.
fn segment_header(magic: u32) -> [u8; SEGMENT_HEADER_SIZE] {
    let mut header = [0; SEGMENT_HEADER_SIZE];
    header[..4].copy_from_slice(&magic.to_be_bytes());
    header[4] = CHUNKS_FORMAT_V1;
    header
}

/// Reads a chunk length `uvarint` at `offset`; returns the length and the field's size.
fn read_length(bytes: &[u8], offset: usize) -> Result<(usize, usize), Corruption> {
    let field = &bytes[offset..bytes.len().min(offset + MAX_VARINT_LEN32)];
    match read_uvarint(field) {
        Ok((len, n)) => usize::try_from(len)
            .map(|len| (len, n))
            .map_err(|_| Corruption::BadLength(DecodeError::VarintOverflow)),
        Err(DecodeError::UnexpectedEnd) if field.len() < MAX_VARINT_LEN32 => {
            Err(Corruption::Truncated {
                needed: (field.len() + 1) as u64,
                available: field.len() as u64,
            })
        }
        Err(err) => Err(Corruption::BadLength(err)),
    }
}

/// Compares the big-endian CRC32C in `stored` with the CRC32C of `covered`.
fn check_crc(covered: &[u8], stored: &[u8]) -> Result<(), Corruption> {
    let stored = u32::from_be_bytes(stored.try_into().expect("four CRC bytes"));
    let computed = crc32c::crc32c(covered);
    if stored == computed {
        Ok(())
    } else {
        Err(Corruption::ChecksumMismatch { stored, computed })
    }
}

/// Fsyncs a directory so newly created files in it survive a crash.
fn sync_dir(dir: &Path) -> Result<(), ChunksError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_pack_like_prometheus() {
        let r = ChunkRef::new(2, 0x1234);
        assert_eq!(r.0, 0x0000_0002_0000_1234);
        assert_eq!((r.segment_index(), r.offset()), (2, 0x1234));
        let m = MappedChunkRef::new(7, 8);
        assert_eq!(m.0, 7 << 32 | 8);
        assert_eq!((m.sequence(), m.offset()), (7, 8));
    }

    #[test]
    fn headers() {
        assert_eq!(
            segment_header(MAGIC_CHUNKS),
            [0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0]
        );
        assert_eq!(
            segment_header(MAGIC_HEAD_CHUNKS),
            [0x01, 0x30, 0xBC, 0x91, 1, 0, 0, 0]
        );
    }

    #[test]
    fn crc32c_is_castagnoli() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }
}
