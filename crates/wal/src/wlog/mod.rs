//! The segmented log that carries records: Prometheus's `tsdb/wlog` framing.
//!
//! A WAL directory holds segment files named by 8-digit sequence numbers (`00000000`,
//! `00000001`, …). A segment is a run of 32 KiB pages; a page holds record fragments,
//! each with a 7-byte header:
//!
//! ```text
//! ┌──────────────┬────────────────┬─────────────────────┬────────────┐
//! │ flags+type u8│ length u16 (BE)│ CRC32-Castagnoli u32│ data       │
//! └──────────────┴────────────────┴─────────────────────┴────────────┘
//! type (low 3 bits): 0 padding, 1 full, 2 first, 3 middle, 4 last
//! bit 3: data is snappy-compressed; bit 4: zstd (not supported here)
//! ```
//!
//! A record that does not fit in the rest of a page is split into first/middle/last
//! fragments; fewer than 7 free bytes at a page's end are zero padding. The CRC covers
//! the fragment's data as stored (compressed bytes when compressed). Records never
//! cross segments, so deleting whole old segments never tears a record, and a torn
//! write can only damage the tail of the newest segment.

mod reader;
mod repair;
mod writer;

pub use reader::{CorruptionError, CorruptionReason, Position, ReadError, Reader, SegmentRange};
pub use repair::RepairReport;
pub use writer::{DEFAULT_SEGMENT_SIZE, FsyncObserver, SyncMode, Wal, WalOptions, WalStats};

use std::io;
use std::path::{Path, PathBuf};

/// Size of a page, the unit fragments are packed into.
pub const PAGE_SIZE: usize = 32 * 1024;

/// Size of a fragment header: type, length and CRC.
const HEADER_SIZE: usize = 7;

/// Fragment type bits of the header's first byte.
const TYPE_MASK: u8 = 0b111;
/// Set when the record's data is snappy-compressed.
const SNAPPY_FLAG: u8 = 1 << 3;
/// Set when the record's data is zstd-compressed (Prometheus 3 option).
const ZSTD_FLAG: u8 = 1 << 4;

/// Where a fragment sits in its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragmentType {
    /// The whole record.
    Full = 1,
    /// The first part of a record that continues on the next page.
    First = 2,
    /// A part of a record that started on an earlier page and continues on the next.
    Middle = 3,
    /// The final part of a record.
    Last = 4,
}

impl FragmentType {
    fn from_header(b: u8) -> Option<FragmentType> {
        match b & TYPE_MASK {
            1 => Some(FragmentType::Full),
            2 => Some(FragmentType::First),
            3 => Some(FragmentType::Middle),
            4 => Some(FragmentType::Last),
            _ => None,
        }
    }
}

/// The path of segment `index` in `dir`.
pub fn segment_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index:08}"))
}

/// The segment numbers in `dir`, ascending. Fails when they are not consecutive: a gap
/// means a segment was lost and replaying across it would be wrong.
pub(crate) fn list_segments(dir: &Path) -> io::Result<Vec<u32>> {
    let mut indexes = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(index) = entry.file_name().to_str().and_then(parse_index) {
            indexes.push(index);
        }
    }
    indexes.sort_unstable();
    if let Some(w) = indexes
        .windows(2)
        .find(|w| w[0].checked_add(1) != Some(w[1]))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "segments in {} are not sequential: {:08} is followed by {:08}",
                dir.display(),
                w[0],
                w[1]
            ),
        ));
    }
    Ok(indexes)
}

/// A file or directory name made only of decimal digits, like `00000012`.
pub(crate) fn parse_index(name: &str) -> Option<u32> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Makes a directory's entries (created, renamed or removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
