//! Reading records back: [`Reader`].

use super::{
    FragmentType, HEADER_SIZE, PAGE_SIZE, SNAPPY_FLAG, TYPE_MASK, ZSTD_FLAG, list_segments,
    segment_path,
};
use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::PathBuf;

/// Pages read per system call.
const READ_PAGES: usize = 16;

/// Some or all segments of one directory (a WAL or a checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentRange {
    /// The directory holding the segments.
    pub dir: PathBuf,
    /// The first segment to read; `None` starts at the oldest.
    pub first: Option<u32>,
    /// The last segment to read; `None` reads to the newest.
    pub last: Option<u32>,
}

impl SegmentRange {
    /// Every segment in `dir`.
    pub fn all(dir: impl Into<PathBuf>) -> SegmentRange {
        SegmentRange {
            dir: dir.into(),
            first: None,
            last: None,
        }
    }

    /// Segments `first..=last` of `dir`.
    pub fn between(dir: impl Into<PathBuf>, first: u32, last: u32) -> SegmentRange {
        SegmentRange {
            dir: dir.into(),
            first: Some(first),
            last: Some(last),
        }
    }
}

/// Where in the log something is: a segment and a byte offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The segment number.
    pub segment: u32,
    /// The byte offset within the segment.
    pub offset: u64,
}

/// A damaged log: everything before `offset` in `segment` was read intact; the record
/// starting at `offset` could not be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("corruption in segment {} at {offset}: {reason}", segment_path(dir, *segment).display())]
pub struct CorruptionError {
    /// The directory of the damaged segment.
    pub dir: PathBuf,
    /// The damaged segment.
    pub segment: u32,
    /// Where the first unreadable record starts: the last good record boundary, where
    /// [`Wal::repair`](super::Wal::repair) cuts the segment.
    pub offset: u64,
    /// What is wrong.
    pub reason: CorruptionReason,
}

/// What is wrong in a [`CorruptionError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CorruptionReason {
    /// A fragment's data does not match its CRC.
    #[error("unexpected checksum {computed:08x}, expected {stored:08x}")]
    Checksum {
        /// The CRC in the fragment header.
        stored: u32,
        /// The CRC of the data read.
        computed: u32,
    },
    /// The low three bits of a header byte are 5, 6 or 7.
    #[error("unexpected fragment type in header byte {0:#04x}")]
    InvalidFragmentType(u8),
    /// A full or first fragment inside a record that has not ended.
    #[error("unexpected {0:?} fragment: the previous record has no last fragment")]
    UnexpectedStart(FragmentType),
    /// A middle or last fragment with no record started.
    #[error("unexpected {0:?} fragment: no record was started")]
    MissingStart(FragmentType),
    /// A fragment header or its data would run past the end of its page.
    #[error("fragment crosses the page boundary")]
    CrossesPage,
    /// The segment ends inside a fragment.
    #[error("segment ends inside a fragment")]
    TruncatedFragment,
    /// The segment ends before the last fragment of a record (a torn write).
    #[error("last record is torn")]
    TornRecord,
    /// Page padding that is not all zeros.
    #[error("unexpected non-zero byte in padded page")]
    NonZeroPadding,
    /// Fragments of one record disagree about compression.
    #[error("fragments of one record disagree about compression")]
    MixedCompression,
    /// Snappy could not decompress the record.
    #[error("snappy: {0}")]
    Snappy(String),
    /// The record is zstd-compressed, which this reader does not support. The data is not
    /// damaged, so [`Wal::repair`](super::Wal::repair) refuses to cut it.
    #[error("zstd-compressed record: not supported")]
    UnsupportedCompression,
}

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A segment could not be opened or read.
    #[error("read {}: {source}", path.display())]
    Io {
        /// The segment file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A segment is damaged.
    #[error(transparent)]
    Corruption(#[from] CorruptionError),
}

/// Reads the records of a sequence of segments (e.g. a checkpoint, then the WAL),
/// reassembling fragments and decompressing.
///
/// Records come out through [`Reader::next_record`] as borrowed slices, valid until the
/// next call; an uncompressed single-fragment record is returned straight from the read
/// buffer without a copy. Segments are listed when the reader is built and opened one at
/// a time.
///
/// It reads finished logs (replay, checkpoints). A segment still being appended to can
/// end in a partly written record, which reads as [`CorruptionReason::TornRecord`]:
/// tailing a live WAL (remote write) needs a reader that waits for more data instead.
#[derive(Debug)]
pub struct Reader {
    dirs: Vec<PathBuf>,
    /// (index into `dirs`, segment number), in reading order.
    segments: Vec<(usize, u32)>,
    next_segment: usize,
    current: Option<SegmentCursor>,
    /// Whole pages of the current segment (only the last one of a file may be partial).
    buf: Box<[u8]>,
    /// A record being reassembled from fragments.
    record: Vec<u8>,
    /// The last decompressed record; only its first `n` bytes are meaningful.
    decompressed: Vec<u8>,
    snappy: snap::raw::Decoder,
    position: Option<Position>,
    finished: bool,
}

/// Where the record [`Reader::advance`] found is.
enum Found {
    /// Uncompressed, in one fragment: this range of the read buffer.
    InBuffer(Range<usize>),
    /// Uncompressed, reassembled in `Reader::record`.
    Assembled,
    /// The first `n` bytes of `Reader::decompressed`.
    Decompressed(usize),
}

impl Reader {
    /// A reader over `ranges`, in order. Fails when a directory cannot be listed or its
    /// segments are not consecutive.
    pub fn open(ranges: &[SegmentRange]) -> io::Result<Reader> {
        let mut dirs = Vec::with_capacity(ranges.len());
        let mut segments = Vec::new();
        for (dir_index, range) in ranges.iter().enumerate() {
            let listed = list_segments(&range.dir).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("list segments in {}: {e}", range.dir.display()),
                )
            })?;
            segments.extend(
                listed
                    .into_iter()
                    .filter(|&i| range.first.is_none_or(|first| i >= first))
                    .filter(|&i| range.last.is_none_or(|last| i <= last))
                    .map(|i| (dir_index, i)),
            );
            dirs.push(range.dir.clone());
        }
        Ok(Reader {
            dirs,
            segments,
            next_segment: 0,
            current: None,
            buf: vec![0; READ_PAGES * PAGE_SIZE].into_boxed_slice(),
            record: Vec::new(),
            decompressed: Vec::new(),
            snappy: snap::raw::Decoder::new(),
            position: None,
            finished: false,
        })
    }

    /// The next record, `Ok(None)` after the last one. After an error, or the end, the
    /// reader is finished and keeps returning `Ok(None)`.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, ReadError> {
        if self.finished {
            return Ok(None);
        }
        let found = match self.advance() {
            Ok(Some(found)) => found,
            other => {
                self.finished = true;
                return other.map(|_| None);
            }
        };
        Ok(Some(match found {
            Found::InBuffer(range) => &self.buf[range],
            Found::Assembled => &self.record,
            Found::Decompressed(n) => &self.decompressed[..n],
        }))
    }

    /// The segment of the record last returned and the offset just after it.
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    fn advance(&mut self) -> Result<Option<Found>, ReadError> {
        loop {
            if self.current.is_none() && !self.open_next_segment()? {
                return Ok(None);
            }
            match self.read_record()? {
                Some(found) => return Ok(Some(found)),
                None => self.current = None,
            }
        }
    }

    fn open_next_segment(&mut self) -> Result<bool, ReadError> {
        let Some(&(dir, index)) = self.segments.get(self.next_segment) else {
            return Ok(false);
        };
        self.next_segment += 1;
        let path = segment_path(&self.dirs[dir], index);
        let file = File::open(&path).map_err(|source| ReadError::Io { path, source })?;
        self.current = Some(SegmentCursor {
            file,
            dir,
            index,
            pos: 0,
            buf_start: 0,
            buf_len: 0,
        });
        Ok(true)
    }

    /// Reads the next record of the current segment; `None` at its end.
    fn read_record(&mut self) -> Result<Option<Found>, ReadError> {
        let Reader {
            dirs,
            current,
            buf,
            record,
            decompressed,
            snappy,
            position,
            ..
        } = self;
        let cursor = current.as_mut().expect("a segment is open");
        let (dir, segment) = (&dirs[cursor.dir], cursor.index);
        let corruption = |offset, reason| {
            ReadError::Corruption(CorruptionError {
                dir: dir.clone(),
                segment,
                offset,
                reason,
            })
        };
        // Offset and compression of the record's first fragment, once one was read.
        let mut started: Option<(u64, bool)> = None;
        record.clear();
        loop {
            let fragment = match cursor.next_fragment(buf) {
                Ok(Some(fragment)) => fragment,
                Ok(None) => {
                    return match started {
                        Some((start, _)) => Err(corruption(start, CorruptionReason::TornRecord)),
                        None => Ok(None),
                    };
                }
                Err(FragmentError::Io(source)) => {
                    return Err(ReadError::Io {
                        path: segment_path(dir, segment),
                        source,
                    });
                }
                Err(FragmentError::Corrupt { offset, reason }) => {
                    let start = started.map_or(offset, |(start, _)| start);
                    return Err(corruption(start, reason));
                }
            };
            let data = &buf[fragment.data.clone()];
            let found = match (fragment.kind, started) {
                (FragmentType::Full, None) => {
                    if fragment.snappy {
                        let n = decompress(snappy, data, decompressed)
                            .map_err(|reason| corruption(fragment.start, reason))?;
                        Found::Decompressed(n)
                    } else {
                        Found::InBuffer(fragment.data)
                    }
                }
                (FragmentType::First, None) => {
                    started = Some((fragment.start, fragment.snappy));
                    record.extend_from_slice(data);
                    continue;
                }
                (FragmentType::Middle | FragmentType::Last, Some((start, snappy_flag))) => {
                    if snappy_flag != fragment.snappy {
                        return Err(corruption(start, CorruptionReason::MixedCompression));
                    }
                    record.extend_from_slice(data);
                    if fragment.kind == FragmentType::Middle {
                        continue;
                    }
                    if snappy_flag {
                        let n = decompress(snappy, record.as_slice(), decompressed)
                            .map_err(|reason| corruption(start, reason))?;
                        Found::Decompressed(n)
                    } else {
                        Found::Assembled
                    }
                }
                (kind @ (FragmentType::Full | FragmentType::First), Some((start, _))) => {
                    return Err(corruption(start, CorruptionReason::UnexpectedStart(kind)));
                }
                (kind @ (FragmentType::Middle | FragmentType::Last), None) => {
                    return Err(corruption(
                        fragment.start,
                        CorruptionReason::MissingStart(kind),
                    ));
                }
            };
            *position = Some(Position {
                segment: cursor.index,
                offset: cursor.pos,
            });
            return Ok(Some(found));
        }
    }
}

fn decompress(
    snappy: &mut snap::raw::Decoder,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, CorruptionReason> {
    let snappy_error = |e: snap::Error| CorruptionReason::Snappy(e.to_string());
    let n = snap::raw::decompress_len(input).map_err(snappy_error)?;
    // Grow only; a shorter record reuses the front of the buffer without clearing it.
    if out.len() < n {
        out.resize(n, 0);
    }
    snappy
        .decompress(input, &mut out[..n])
        .map_err(snappy_error)
}

/// One fragment, its data still in the read buffer.
struct Fragment {
    kind: FragmentType,
    snappy: bool,
    /// Segment offset of the fragment header.
    start: u64,
    /// The fragment's data in the read buffer.
    data: Range<usize>,
}

enum FragmentError {
    Io(io::Error),
    Corrupt {
        offset: u64,
        reason: CorruptionReason,
    },
}

/// Reading position in one segment file.
#[derive(Debug)]
struct SegmentCursor {
    file: File,
    dir: usize,
    index: u32,
    /// Segment offset of the next byte to parse.
    pos: u64,
    /// Segment offset of the read buffer's first byte (page-aligned).
    buf_start: u64,
    /// Bytes of the segment in the read buffer.
    buf_len: usize,
}

impl SegmentCursor {
    /// The next fragment, skipping page padding; `None` at the end of the segment.
    ///
    /// A file that ends inside a page reads as if the page were padded with zeros, as in
    /// Prometheus: the active segment is not page-aligned between writes, and a torn page
    /// of zeros is just padding.
    fn next_fragment(&mut self, buf: &mut [u8]) -> Result<Option<Fragment>, FragmentError> {
        loop {
            let buf_end = self.buf_start + self.buf_len as u64;
            if self.pos >= buf_end && !self.fill(buf).map_err(FragmentError::Io)? {
                return Ok(None);
            }
            let buf_end = self.buf_start + self.buf_len as u64;
            let start = self.pos;
            let in_page = (start % PAGE_SIZE as u64) as usize;
            let page_end = (start - in_page as u64 + PAGE_SIZE as u64).min(buf_end);
            let at = (start - self.buf_start) as usize;
            let page = &buf[at..at + (page_end - start) as usize];
            let corrupt = |reason| FragmentError::Corrupt {
                offset: start,
                reason,
            };

            let header = page[0];
            if header & TYPE_MASK == 0 {
                if page.iter().any(|&b| b != 0) {
                    return Err(corrupt(CorruptionReason::NonZeroPadding));
                }
                self.pos = start - in_page as u64 + PAGE_SIZE as u64;
                continue;
            }
            if in_page + HEADER_SIZE > PAGE_SIZE {
                return Err(corrupt(CorruptionReason::CrossesPage));
            }
            if page.len() < HEADER_SIZE {
                return Err(corrupt(CorruptionReason::TruncatedFragment));
            }
            let len = usize::from(u16::from_be_bytes([page[1], page[2]]));
            let stored = u32::from_be_bytes([page[3], page[4], page[5], page[6]]);
            if in_page + HEADER_SIZE + len > PAGE_SIZE {
                return Err(corrupt(CorruptionReason::CrossesPage));
            }
            if page.len() < HEADER_SIZE + len {
                return Err(corrupt(CorruptionReason::TruncatedFragment));
            }
            let data = &page[HEADER_SIZE..HEADER_SIZE + len];
            let computed = crc32c::crc32c(data);
            if computed != stored {
                return Err(corrupt(CorruptionReason::Checksum { stored, computed }));
            }
            let kind = FragmentType::from_header(header)
                .ok_or(corrupt(CorruptionReason::InvalidFragmentType(header)))?;
            if header & ZSTD_FLAG != 0 {
                return Err(corrupt(CorruptionReason::UnsupportedCompression));
            }
            self.pos = start + (HEADER_SIZE + len) as u64;
            return Ok(Some(Fragment {
                kind,
                snappy: header & SNAPPY_FLAG != 0,
                start,
                data: at + HEADER_SIZE..at + HEADER_SIZE + len,
            }));
        }
    }

    /// Reads the pages after the buffer's; false at the end of the file.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        // A partial page means the previous read reached the end of the file.
        if !self.buf_len.is_multiple_of(PAGE_SIZE) {
            return Ok(false);
        }
        let mut n = 0;
        while n < buf.len() {
            match self.file.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf_start += self.buf_len as u64;
        self.buf_len = n;
        Ok(n > 0)
    }
}

impl CorruptionError {
    /// The path of the damaged segment file.
    pub fn segment_path(&self) -> PathBuf {
        segment_path(&self.dir, self.segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn corruption_message_names_the_segment() {
        let e = CorruptionError {
            dir: Path::new("/data/wal").to_path_buf(),
            segment: 3,
            offset: 32768,
            reason: CorruptionReason::TornRecord,
        };
        assert_eq!(
            e.to_string(),
            "corruption in segment /data/wal/00000003 at 32768: last record is torn"
        );
    }
}
