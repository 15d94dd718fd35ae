//! Tombstones: which time ranges of which series are deleted, and the `<block>/tombstones`
//! file that records them, byte for byte as Prometheus 2.42 writes it.
//!
//! Deleting samples never rewrites a block's chunks: it records, per series ref, closed
//! `[mint, maxt]` ranges that readers skip (until compaction drops them for good).
//!
//! - [`Interval`] is one closed range; [`Intervals`] keeps a series' ranges sorted, merging
//!   overlapping and adjacent ones as they are added (`[1, 2]` and `[3, 4]` become
//!   `[1, 4]`: timestamps are integers).
//! - [`Tombstones`] maps series refs to their intervals, iterated in ref order.
//! - [`write_tombstones`] and [`read_tombstones`] store them in a block directory;
//!   [`encode_tombstones`] and [`decode_tombstones`] do the same for bytes in memory.
//!
//! File layout (`tombstones.md` in the shared `tsdb-format` corpus; its note about a
//! trailing 8-byte offset is outdated, neither Prometheus nor Ember writes one):
//!
//! ```text
//! magic 0x0130BA30 <4 bytes BE> | version 1 <1 byte>
//! (series ref <uvarint> | mint <varint> | maxt <varint>)*   one entry per interval
//! CRC32C of the entries (not the version byte) <4 bytes BE>
//! ```
//!
//! A block without deletions has the 9-byte file of no entries. Prometheus writes its
//! entries in Go map order, so a file with several series may list them in any order;
//! [`read_tombstones`] accepts any order and [`write_tombstones`] uses ref order.

use crate::chunkenc::DecodeError;
use crate::chunkenc::varint::{
    MAX_VARINT_LEN64, put_uvarint, put_varint, read_uvarint, read_varint,
};
use crate::index::SeriesRef;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The tombstones file's name inside a block directory.
pub const TOMBSTONES_FILENAME: &str = "tombstones";

/// The magic number that starts every tombstones file.
pub const MAGIC_TOMBSTONES: u32 = 0x0130_BA30;

/// The tombstones format version this module writes and reads.
pub const TOMBSTONES_FORMAT_V1: u8 = 1;

/// Magic number and version byte.
const HEADER_LEN: usize = 5;
const CRC_LEN: usize = 4;

/// A closed range of deleted timestamps: `mint <= t <= maxt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    /// First deleted timestamp (ms).
    pub mint: i64,
    /// Last deleted timestamp (ms).
    pub maxt: i64,
}

impl Interval {
    /// The range `[mint, maxt]`.
    pub fn new(mint: i64, maxt: i64) -> Self {
        Interval { mint, maxt }
    }

    /// Whether `t` lies in the range.
    pub fn contains(&self, t: i64) -> bool {
        self.mint <= t && t <= self.maxt
    }

    /// Whether the whole range `[mint, maxt]` lies in this one (Prometheus's
    /// `IsSubrange`, for dropping a chunk without decoding it).
    pub fn covers(&self, mint: i64, maxt: i64) -> bool {
        self.contains(mint) && self.contains(maxt)
    }
}

/// A series' deleted ranges: sorted, non-overlapping and non-adjacent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Intervals(Vec<Interval>);

impl Intervals {
    /// No deleted range.
    pub fn new() -> Self {
        Intervals(Vec::new())
    }

    /// Adds `added`, merging it with every range it overlaps or touches.
    pub fn add(&mut self, added: Interval) {
        // Timestamps are integers: a range ending at t-1 or starting at t+1 touches one
        // at t. Saturation keeps the extremes of i64 from wrapping around.
        let first = self
            .0
            .partition_point(|iv| iv.maxt < added.mint.saturating_sub(1));
        let merged = self.0[first..].partition_point(|iv| iv.mint <= added.maxt.saturating_add(1));
        if merged == 0 {
            self.0.insert(first, added);
            return;
        }
        let last = first + merged - 1;
        self.0[first] = Interval {
            mint: added.mint.min(self.0[first].mint),
            maxt: added.maxt.max(self.0[last].maxt),
        };
        self.0.drain(first + 1..=last);
    }

    /// Whether `t` is deleted.
    pub fn contains(&self, t: i64) -> bool {
        let i = self.0.partition_point(|iv| iv.maxt < t);
        self.0.get(i).is_some_and(|iv| iv.contains(t))
    }

    /// Whether one range covers all of `[mint, maxt]`.
    pub fn covers(&self, mint: i64, maxt: i64) -> bool {
        let i = self.0.partition_point(|iv| iv.maxt < mint);
        self.0.get(i).is_some_and(|iv| iv.covers(mint, maxt))
    }

    /// The ranges in time order.
    pub fn as_slice(&self) -> &[Interval] {
        &self.0
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Interval> for Intervals {
    fn from_iter<I: IntoIterator<Item = Interval>>(ranges: I) -> Self {
        let mut intervals = Intervals::new();
        for iv in ranges {
            intervals.add(iv);
        }
        intervals
    }
}

/// Deleted ranges by series ref.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tombstones {
    series: BTreeMap<SeriesRef, Intervals>,
}

impl Tombstones {
    /// No tombstones.
    pub fn new() -> Self {
        Tombstones::default()
    }

    /// Deletes `interval` of series `series_ref`, merging with what is already deleted.
    pub fn add(&mut self, series_ref: SeriesRef, interval: Interval) {
        self.series.entry(series_ref).or_default().add(interval);
    }

    /// The deleted ranges of series `series_ref`, if it has any.
    pub fn get(&self, series_ref: SeriesRef) -> Option<&Intervals> {
        self.series.get(&series_ref)
    }

    /// Whether the sample of series `series_ref` at `t` is deleted.
    pub fn is_deleted(&self, series_ref: SeriesRef, t: i64) -> bool {
        self.get(series_ref).is_some_and(|ivs| ivs.contains(t))
    }

    /// Every series with deleted ranges, in ref order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (SeriesRef, &Intervals)> {
        self.series.iter().map(|(&r, ivs)| (r, ivs))
    }

    /// Number of series with deleted ranges.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Number of ranges over all series: what Prometheus records as the block's
    /// `stats.numTombstones`.
    pub fn total(&self) -> u64 {
        self.series.values().map(|ivs| ivs.len() as u64).sum()
    }
}

/// What can go wrong reading a tombstones file.
#[derive(Debug, thiserror::Error)]
pub enum TombstonesError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file is shorter than its header and checksum.
    #[error("tombstones header: invalid size {0}")]
    TooShort(usize),
    /// The file does not start with [`MAGIC_TOMBSTONES`].
    #[error("invalid magic number {0:x}")]
    BadMagic(u32),
    /// The checksum does not match the entries.
    #[error("checksum did not match")]
    Checksum,
    /// The format version is not 1.
    #[error("invalid tombstone format {0:x}")]
    UnsupportedVersion(u8),
    /// An entry is truncated or holds an invalid varint.
    #[error("tombstone entry at byte {offset}: {source}")]
    Corrupt {
        /// Where the entry starts in the file.
        offset: usize,
        /// What is wrong with it.
        source: DecodeError,
    },
}

/// The whole tombstones file for `tombstones`: header, entries in ref order, checksum.
pub fn encode_tombstones(tombstones: &Tombstones) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + CRC_LEN + tombstones.len() * 12);
    out.extend_from_slice(&MAGIC_TOMBSTONES.to_be_bytes());
    out.push(TOMBSTONES_FORMAT_V1);
    let mut buf = [0; MAX_VARINT_LEN64];
    for (series_ref, intervals) in tombstones.iter() {
        for iv in intervals.as_slice() {
            let n = put_uvarint(&mut buf, series_ref);
            out.extend_from_slice(&buf[..n]);
            let n = put_varint(&mut buf, iv.mint);
            out.extend_from_slice(&buf[..n]);
            let n = put_varint(&mut buf, iv.maxt);
            out.extend_from_slice(&buf[..n]);
        }
    }
    let crc = crc32c::crc32c(&out[HEADER_LEN..]);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// Reads a whole tombstones file from `bytes`, checking magic number, checksum and
/// version (in Prometheus's order, so the same corruption gets the same error).
pub fn decode_tombstones(bytes: &[u8]) -> Result<Tombstones, TombstonesError> {
    if bytes.len() < HEADER_LEN + CRC_LEN {
        return Err(TombstonesError::TooShort(bytes.len()));
    }
    let (body, crc) = bytes.split_at(bytes.len() - CRC_LEN);
    let magic = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    if magic != MAGIC_TOMBSTONES {
        return Err(TombstonesError::BadMagic(magic));
    }
    let entries = &body[HEADER_LEN..];
    if crc32c::crc32c(entries).to_be_bytes() != crc {
        return Err(TombstonesError::Checksum);
    }
    if body[4] != TOMBSTONES_FORMAT_V1 {
        return Err(TombstonesError::UnsupportedVersion(body[4]));
    }
    let mut tombstones = Tombstones::new();
    let mut pos = 0;
    while pos < entries.len() {
        let corrupt = |source| TombstonesError::Corrupt {
            offset: HEADER_LEN + pos,
            source,
        };
        let (series_ref, a) = read_uvarint(&entries[pos..]).map_err(corrupt)?;
        let (mint, b) = read_varint(&entries[pos + a..]).map_err(corrupt)?;
        let (maxt, c) = read_varint(&entries[pos + a + b..]).map_err(corrupt)?;
        tombstones.add(series_ref, Interval { mint, maxt });
        pos += a + b + c;
    }
    Ok(tombstones)
}

/// Writes `tombstones` to `<dir>/tombstones` atomically (a synced temporary file renamed
/// over it, then the directory synced); returns the file's size.
pub fn write_tombstones(dir: impl AsRef<Path>, tombstones: &Tombstones) -> io::Result<u64> {
    let dir = dir.as_ref();
    let path = dir.join(TOMBSTONES_FILENAME);
    let tmp = dir.join(format!("{TOMBSTONES_FILENAME}.tmp"));
    let bytes = encode_tombstones(tombstones);
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(&bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
        // Leave no half-written file behind; the original error is the one to report.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)?.sync_all()?;
    Ok(bytes.len() as u64)
}

/// Reads `<dir>/tombstones`; returns the tombstones and the file's size. A block without
/// the file (older Prometheus versions did not always write one) has none, size 0.
pub fn read_tombstones(dir: impl AsRef<Path>) -> Result<(Tombstones, u64), TombstonesError> {
    let path = dir.as_ref().join(TOMBSTONES_FILENAME);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Tombstones::new(), 0)),
        Err(source) => return Err(TombstonesError::Io { path, source }),
    };
    Ok((decode_tombstones(&bytes)?, bytes.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivs(ranges: &[(i64, i64)]) -> Vec<Interval> {
        ranges.iter().map(|&(a, b)| Interval::new(a, b)).collect()
    }

    fn added(start: &[(i64, i64)], new: (i64, i64)) -> Vec<Interval> {
        let mut intervals: Intervals = ivs(start).into_iter().collect();
        intervals.add(Interval::new(new.0, new.1));
        intervals.as_slice().to_vec()
    }

    #[test]
    fn add_keeps_ranges_sorted_and_merged() {
        assert_eq!(added(&[], (1, 2)), ivs(&[(1, 2)]));
        // Before, after and between existing ranges.
        assert_eq!(added(&[(10, 20)], (1, 5)), ivs(&[(1, 5), (10, 20)]));
        assert_eq!(added(&[(10, 20)], (30, 40)), ivs(&[(10, 20), (30, 40)]));
        assert_eq!(
            added(&[(1, 5), (30, 40)], (10, 20)),
            ivs(&[(1, 5), (10, 20), (30, 40)])
        );
        // Adjacent ranges merge; one apart do not.
        assert_eq!(added(&[(1, 5)], (6, 9)), ivs(&[(1, 9)]));
        assert_eq!(added(&[(6, 9)], (1, 5)), ivs(&[(1, 9)]));
        assert_eq!(added(&[(1, 5)], (7, 9)), ivs(&[(1, 5), (7, 9)]));
        // Overlaps, containment, and bridging several ranges.
        assert_eq!(added(&[(1, 5)], (3, 9)), ivs(&[(1, 9)]));
        assert_eq!(added(&[(1, 10)], (3, 4)), ivs(&[(1, 10)]));
        assert_eq!(added(&[(3, 4)], (1, 10)), ivs(&[(1, 10)]));
        assert_eq!(
            added(&[(1, 2), (5, 6), (9, 10), (20, 30)], (3, 9)),
            ivs(&[(1, 10), (20, 30)])
        );
        // The extremes of i64 do not wrap around.
        assert_eq!(
            added(&[(-5, 5), (100, 200)], (i64::MIN, -10)),
            ivs(&[(i64::MIN, -10), (-5, 5), (100, 200)])
        );
        assert_eq!(
            added(&[(-5, 5), (100, 200)], (150, i64::MAX)),
            ivs(&[(-5, 5), (100, i64::MAX)])
        );
        assert_eq!(
            added(&[(-5, 5)], (i64::MIN, i64::MAX)),
            ivs(&[(i64::MIN, i64::MAX)])
        );
    }

    #[test]
    fn lookups() {
        let intervals: Intervals = ivs(&[(10, 20), (30, 40)]).into_iter().collect();
        for (t, deleted) in [(9, false), (10, true), (20, true), (25, false), (40, true)] {
            assert_eq!(intervals.contains(t), deleted, "{t}");
        }
        assert!(intervals.covers(12, 18));
        assert!(!intervals.covers(15, 35));
        assert!(!intervals.covers(41, 50));

        let mut t = Tombstones::new();
        t.add(7, Interval::new(1, 2));
        t.add(3, Interval::new(5, 6));
        t.add(7, Interval::new(4, 4));
        assert!(t.is_deleted(7, 4) && !t.is_deleted(7, 3) && !t.is_deleted(8, 1));
        assert_eq!(t.iter().map(|(r, _)| r).collect::<Vec<_>>(), [3, 7]);
        assert_eq!((t.len(), t.total()), (2, 3));
        assert_eq!(t.get(7).map(Intervals::len), Some(2));
    }

    #[test]
    fn empty_file_is_header_and_crc_of_nothing() {
        assert_eq!(
            encode_tombstones(&Tombstones::new()),
            [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0]
        );
    }

    #[test]
    fn round_trips_through_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_tombstones(dir.path()).unwrap(), (Tombstones::new(), 0));
        let mut t = Tombstones::new();
        t.add(1, Interval::new(i64::MIN, -1));
        t.add(1 << 40, Interval::new(100, i64::MAX));
        t.add(1 << 40, Interval::new(0, 10));
        let size = write_tombstones(dir.path(), &t).unwrap();
        assert_eq!(read_tombstones(dir.path()).unwrap(), (t.clone(), size));
        assert_eq!(size, encode_tombstones(&t).len() as u64);
        assert!(!dir.path().join("tombstones.tmp").exists());
    }

    #[test]
    fn rejects_damage() {
        let mut t = Tombstones::new();
        t.add(5, Interval::new(1, 2));
        let good = encode_tombstones(&t);
        assert!(matches!(
            decode_tombstones(&good[..8]),
            Err(TombstonesError::TooShort(8))
        ));
        let mut bad = good.clone();
        bad[0] = 0;
        assert!(matches!(
            decode_tombstones(&bad),
            Err(TombstonesError::BadMagic(0x30BA30))
        ));
        let mut bad = good.clone();
        bad[6] ^= 1;
        assert!(matches!(
            decode_tombstones(&bad),
            Err(TombstonesError::Checksum)
        ));
        // The version byte is outside the checksum.
        let mut bad = good.clone();
        bad[4] = 2;
        assert!(matches!(
            decode_tombstones(&bad),
            Err(TombstonesError::UnsupportedVersion(2))
        ));
        // An entry cut short, with a checksum that matches the cut.
        let mut cut = good[..good.len() - CRC_LEN - 1].to_vec();
        let crc = crc32c::crc32c(&cut[HEADER_LEN..]);
        cut.extend_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            decode_tombstones(&cut),
            Err(TombstonesError::Corrupt { offset: 5, .. })
        ));
    }
}
