//! Damaged logs: what the reader reports, and what repair keeps.

mod common;

use common::{Rng, read_dir, read_ranges};
use ember_wal::{
    CorruptionError, CorruptionReason, FragmentType, PAGE_SIZE, ReadError, RepairReport,
    SegmentRange, SyncMode, Wal, WalOptions, segment_path,
};
use std::fs::{self, OpenOptions};
use std::path::Path;

/// Plain (uncompressed) records of 100 bytes: record `k` of the first segment starts
/// at `107 * k` (7-byte header), so offsets are easy to predict.
const SMALL: usize = 100;
const FRAGMENT: u64 = 107;

fn plain(pages_per_segment: usize) -> WalOptions {
    WalOptions {
        segment_size: pages_per_segment * PAGE_SIZE,
        compression: false,
        sync: SyncMode::SegmentEnd,
    }
}

fn small_records(n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(11);
    (0..n).map(|_| rng.noise(SMALL)).collect()
}

/// A WAL holding `records` in segment 0, closed (and so page-padded).
fn wal_with(dir: &Path, records: &[Vec<u8>]) {
    let mut wal = Wal::open(dir, plain(64)).unwrap();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    wal.log(&refs).unwrap();
    wal.close().unwrap();
}

fn edit_segment(dir: &Path, segment: u32, edit: impl FnOnce(&mut Vec<u8>)) {
    let path = segment_path(dir, segment);
    let mut bytes = fs::read(&path).unwrap();
    edit(&mut bytes);
    fs::write(&path, bytes).unwrap();
}

/// Reads `dir`, expecting corruption; returns the records before it and the error.
fn read_until_corruption(dir: &Path) -> (Vec<Vec<u8>>, CorruptionError) {
    match read_ranges(&[SegmentRange::all(dir)]) {
        (records, Some(ReadError::Corruption(c))) => (records, c),
        (records, other) => panic!(
            "expected corruption after {} records, got {other:?}",
            records.len()
        ),
    }
}

fn expect_corruption(dir: &Path, segment: u32, offset: u64, reason: CorruptionReason) -> usize {
    let (records, err) = read_until_corruption(dir);
    assert_eq!(
        (err.segment, err.offset, &err.reason),
        (segment, offset, &reason),
        "{err}"
    );
    assert_eq!(err.dir, dir);
    records.len()
}

#[test]
fn flipped_byte_is_a_checksum_error_and_repair_keeps_the_records_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let records = small_records(20);
    wal_with(dir.path(), &records);
    edit_segment(dir.path(), 0, |b| {
        b[(5 * FRAGMENT) as usize + 7 + 10] ^= 0x40
    });

    // Start-up: open (new segment 1), read, repair.
    let mut wal = Wal::open(dir.path(), plain(64)).unwrap();
    let (read, err) = read_until_corruption(dir.path());
    assert_eq!((err.segment, err.offset), (0, 5 * FRAGMENT));
    assert!(
        matches!(err.reason, CorruptionReason::Checksum { .. }),
        "{err}"
    );
    assert_eq!(read, records[..5]);

    let report = wal.repair(&err).unwrap();
    assert_eq!(
        report,
        RepairReport {
            truncated_bytes: PAGE_SIZE as u64 - 5 * FRAGMENT,
            deleted_segments: 1,
            deleted_bytes: 0,
        }
    );
    assert_eq!(wal.current_segment(), 1);
    wal.log(&[b"after repair"]).unwrap();
    wal.close().unwrap();
    let mut want = records[..5].to_vec();
    want.push(b"after repair".to_vec());
    assert_eq!(read_dir(dir.path()), want);
}

#[test]
fn record_cut_mid_fragment_or_between_fragments_is_torn() {
    let big = Rng::new(2).noise(3 * PAGE_SIZE);
    let mut records = small_records(3);
    records.push(big);
    let big_start = 3 * FRAGMENT;

    // The file ends inside the middle fragment.
    let dir = tempfile::tempdir().unwrap();
    wal_with(dir.path(), &records);
    edit_segment(dir.path(), 0, |b| b.truncate(PAGE_SIZE + 100));
    let before = expect_corruption(
        dir.path(),
        0,
        big_start,
        CorruptionReason::TruncatedFragment,
    );
    assert_eq!(before, 3);

    // The file ends exactly at a page boundary after the first two fragments.
    let dir = tempfile::tempdir().unwrap();
    wal_with(dir.path(), &records);
    edit_segment(dir.path(), 0, |b| b.truncate(2 * PAGE_SIZE));
    expect_corruption(dir.path(), 0, big_start, CorruptionReason::TornRecord);

    // The pages after the first fragment never made it to disk: zeros.
    let dir = tempfile::tempdir().unwrap();
    wal_with(dir.path(), &records);
    edit_segment(dir.path(), 0, |b| b[PAGE_SIZE..].fill(0));
    expect_corruption(dir.path(), 0, big_start, CorruptionReason::TornRecord);

    // Repair cuts the torn record; the three before it survive.
    let mut wal = Wal::open(dir.path(), plain(64)).unwrap();
    let (_, err) = read_until_corruption(dir.path());
    let report = wal.repair(&err).unwrap();
    assert_eq!(report.truncated_bytes, 4 * PAGE_SIZE as u64 - big_start);
    drop(wal);
    assert_eq!(read_dir(dir.path()), records[..3]);
}

#[test]
fn zeros_after_the_last_record_are_padding() {
    let dir = tempfile::tempdir().unwrap();
    let records = small_records(10);
    let mut wal = Wal::open(dir.path(), plain(64)).unwrap();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    wal.log(&refs).unwrap();
    drop(wal); // Unpadded, as when the process dies.

    let seg = segment_path(dir.path(), 0);
    let grow = |n: usize| {
        let f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.set_len(f.metadata().unwrap().len() + n as u64).unwrap();
    };
    assert_eq!(read_dir(dir.path()), records);
    grow(1000); // a torn page: zeros up to somewhere in the page
    assert_eq!(read_dir(dir.path()), records);
    grow(2 * PAGE_SIZE); // and whole pages of zeros beyond it
    assert_eq!(read_dir(dir.path()), records);

    // Logging continues in a new segment; the zeros stay harmless.
    let mut wal = Wal::open(dir.path(), plain(64)).unwrap();
    wal.log(&[b"next"]).unwrap();
    drop(wal);
    assert_eq!(read_dir(dir.path()).len(), 11);
}

#[test]
fn bad_fragment_sequences_and_headers() {
    let records = small_records(8);
    let header_of = |k: u64| (k * FRAGMENT) as usize;

    // A full record turned into a "last" fragment: nothing was started.
    let dir = tempfile::tempdir().unwrap();
    wal_with(dir.path(), &records);
    edit_segment(dir.path(), 0, |b| b[header_of(4)] = 4);
    expect_corruption(
        dir.path(),
        0,
        4 * FRAGMENT,
        CorruptionReason::MissingStart(FragmentType::Last),
    );

    // A "first" fragment followed by a full record.
    let dir = tempfile::tempdir().unwrap();
    wal_with(dir.path(), &records);
    edit_segment(dir.path(), 0, |b| b[header_of(2)] = 2);
    let before = expect_corruption(
        dir.path(),
        0,
        2 * FRAGMENT,
        CorruptionReason::UnexpectedStart(FragmentType::Full),
    );
    assert_eq!(before, 2);

    // Type bits 5..7 do not exist.
    let dir = tempfile::tempdir().unwrap();
    wal_with(dir.path(), &records);
    edit_segment(dir.path(), 0, |b| b[header_of(6)] = 0x07);
    expect_corruption(
        dir.path(),
        0,
        6 * FRAGMENT,
        CorruptionReason::InvalidFragmentType(7),
    );

    // A length running past the page end.
    let dir = tempfile::tempdir().unwrap();
    wal_with(dir.path(), &records);
    edit_segment(dir.path(), 0, |b| {
        b[header_of(1) + 1..header_of(1) + 3].copy_from_slice(&0xff00u16.to_be_bytes())
    });
    expect_corruption(dir.path(), 0, FRAGMENT, CorruptionReason::CrossesPage);

    // Garbage in the padding after the last record: the records all survive repair.
    let dir = tempfile::tempdir().unwrap();
    wal_with(dir.path(), &records);
    let end = 8 * FRAGMENT;
    edit_segment(dir.path(), 0, |b| b[end as usize + 100] = 0x55);
    let mut wal = Wal::open(dir.path(), plain(64)).unwrap();
    let before = expect_corruption(dir.path(), 0, end, CorruptionReason::NonZeroPadding);
    assert_eq!(before, 8);
    let (_, err) = read_until_corruption(dir.path());
    wal.repair(&err).unwrap();
    drop(wal);
    assert_eq!(read_dir(dir.path()), records);
}

#[test]
fn corruption_in_an_older_segment_drops_everything_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), plain(1)).unwrap();
    let mut rng = Rng::new(4);
    // About 9 records per one-page segment.
    let records: Vec<Vec<u8>> = (0..60).map(|_| rng.noise(3000)).collect();
    for r in &records {
        wal.log(&[r]).unwrap();
    }
    wal.close().unwrap();
    let per_segment = PAGE_SIZE / 3007;
    let last_written = ((records.len() - 1) / per_segment) as u32;
    edit_segment(dir.path(), 2, |b| b[3007 + 50] ^= 1);

    let mut wal = Wal::open(dir.path(), plain(1)).unwrap();
    let (read, err) = read_until_corruption(dir.path());
    assert_eq!((err.segment, err.offset), (2, 3007));
    assert_eq!(read, records[..2 * per_segment + 1]);
    let report = wal.repair(&err).unwrap();
    assert_eq!(
        report.deleted_segments as u32,
        last_written - 2 + 1,
        "later ones and the new active one"
    );
    assert_eq!(report.truncated_bytes, PAGE_SIZE as u64 - 3007);
    assert_eq!(wal.segments().unwrap(), (0, 3));
    drop(wal);
    assert_eq!(read_dir(dir.path()), records[..2 * per_segment + 1]);
}

#[test]
fn repair_refuses_what_it_must_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let records = small_records(4);
    wal_with(dir.path(), &records);
    // Full fragment with the zstd flag: valid data this reader cannot decode.
    edit_segment(dir.path(), 0, |b| b[(FRAGMENT * 3) as usize] = 0x11);
    let mut wal = Wal::open(dir.path(), plain(64)).unwrap();
    let (_, err) = read_until_corruption(dir.path());
    assert_eq!(err.reason, CorruptionReason::UnsupportedCompression);
    assert!(wal.repair(&err).is_err());

    // Damage reported for another directory (e.g. a checkpoint).
    let other = tempfile::tempdir().unwrap();
    wal_with(other.path(), &records);
    let foreign = CorruptionError {
        dir: other.path().into(),
        segment: 0,
        offset: 0,
        reason: CorruptionReason::TornRecord,
    };
    assert!(wal.repair(&foreign).is_err());
    // Neither attempt changed anything.
    assert_eq!(read_dir(other.path()), records);
    assert_eq!(
        read_ranges(&[SegmentRange::all(dir.path())]).0,
        records[..3]
    );
}

#[test]
fn compressed_records_are_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(
        dir.path(),
        WalOptions {
            compression: true,
            ..plain(64)
        },
    )
    .unwrap();
    let records: Vec<Vec<u8>> = (0..5).map(|i| common::compressible(50_000, i)).collect();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    wal.log(&refs).unwrap();
    wal.close().unwrap();
    // Find the third record's header: walk the first two full fragments.
    let bytes = fs::read(segment_path(dir.path(), 0)).unwrap();
    let mut at = 0;
    for _ in 0..2 {
        assert_eq!(bytes[at], 0x09);
        at += 7 + usize::from(u16::from_be_bytes([bytes[at + 1], bytes[at + 2]]));
    }
    edit_segment(dir.path(), 0, |b| b[at + 9] ^= 0xff);
    let before = expect_corruption(
        dir.path(),
        0,
        at as u64,
        CorruptionReason::Checksum {
            stored: u32::from_be_bytes(bytes[at + 3..at + 7].try_into().unwrap()),
            computed: {
                let len = usize::from(u16::from_be_bytes([bytes[at + 1], bytes[at + 2]]));
                let mut data = bytes[at + 7..at + 7 + len].to_vec();
                data[2] ^= 0xff;
                crc32c::crc32c(&data)
            },
        },
    );
    assert_eq!(before, 2);
}
