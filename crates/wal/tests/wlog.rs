//! The segmented log: layout, round trips, segment management.

mod common;

use common::{Rng, compressible, read_dir};
use ember_wal::{PAGE_SIZE, Reader, SegmentRange, SyncMode, Wal, WalOptions, segment_path};
use std::fs;

fn options(pages_per_segment: usize, compression: bool) -> WalOptions {
    WalOptions {
        segment_size: pages_per_segment * PAGE_SIZE,
        compression,
        sync: SyncMode::SegmentEnd,
    }
}

fn log_all(wal: &mut Wal, records: &[Vec<u8>]) {
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    wal.log(&refs).expect("log");
}

/// Sizes around every boundary the framing has: empty, page-filling, page-crossing,
/// several pages, larger than a whole segment.
fn boundary_sizes() -> Vec<usize> {
    vec![
        0,
        1,
        100,
        PAGE_SIZE - 7 - 1,
        PAGE_SIZE - 7,
        PAGE_SIZE - 6,
        PAGE_SIZE,
        2 * PAGE_SIZE + 13,
        5 * PAGE_SIZE + 1, // larger than a 4-page segment
        3,
    ]
}

#[test]
fn records_round_trip_across_pages_and_segments() {
    for compression in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(7);
        let mut records = Vec::new();
        for (i, size) in boundary_sizes().into_iter().enumerate() {
            records.push(rng.noise(size));
            records.push(compressible(size, i as u8));
        }
        for _ in 0..200 {
            let size = rng.below(3 * PAGE_SIZE as u64) as usize;
            records.push(if rng.below(2) == 0 {
                rng.noise(size)
            } else {
                compressible(size, size as u8)
            });
        }
        let mut wal = Wal::open(dir.path(), options(4, compression)).unwrap();
        // Batches of varied length, including empty ones.
        let mut rest = &records[..];
        while !rest.is_empty() {
            let n = (rng.below(7) as usize).min(rest.len());
            log_all(&mut wal, &rest[..n]);
            rest = &rest[n..];
        }
        let (first, last) = wal.segments().unwrap();
        assert_eq!(first, 0);
        assert!(last >= 10, "only {last} segments");
        wal.close().unwrap();

        let read = read_dir(dir.path());
        assert_eq!(read.len(), records.len());
        for (i, (got, want)) in read.iter().zip(&records).enumerate() {
            assert!(
                got == want,
                "record {i} differs (compression {compression})"
            );
        }
    }
}

#[test]
fn fragments_and_padding_are_laid_out_like_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), options(4, false)).unwrap();
    let seg = segment_path(dir.path(), 0);

    // Two pages of data: first and middle fill their pages, last holds the remainder.
    let big = Rng::new(1).noise(2 * PAGE_SIZE);
    wal.log(&[&big]).unwrap();
    let bytes = fs::read(&seg).unwrap();
    assert_eq!(
        bytes.len(),
        2 * PAGE_SIZE + 7 + 14,
        "no padding between batches"
    );
    let header = |at: usize| {
        (
            bytes[at],
            u16::from_be_bytes([bytes[at + 1], bytes[at + 2]]),
        )
    };
    assert_eq!(header(0), (2, (PAGE_SIZE - 7) as u16));
    assert_eq!(header(PAGE_SIZE), (3, (PAGE_SIZE - 7) as u16));
    assert_eq!(header(2 * PAGE_SIZE), (4, 14));
    let crc = u32::from_be_bytes(bytes[3..7].try_into().unwrap());
    assert_eq!(crc, crc32c::crc32c(&big[..PAGE_SIZE - 7]));

    // A record leaving fewer than 7 bytes in the page: the rest is padded at once.
    let start = bytes.len();
    let fill = PAGE_SIZE - (start % PAGE_SIZE) - 7 - 4;
    wal.log(&[&vec![0xab; fill]]).unwrap();
    let bytes = fs::read(&seg).unwrap();
    assert_eq!(bytes.len(), 3 * PAGE_SIZE);
    assert_eq!(&bytes[3 * PAGE_SIZE - 4..], &[0; 4]);

    // close() pads the started page.
    wal.log(&[b"tail"]).unwrap();
    wal.close().unwrap();
    let bytes = fs::read(&seg).unwrap();
    assert_eq!(bytes.len(), 4 * PAGE_SIZE);
    let mut tail = vec![1, 0, 4];
    tail.extend_from_slice(&crc32c::crc32c(b"tail").to_be_bytes());
    tail.extend_from_slice(b"tail");
    assert_eq!(&bytes[3 * PAGE_SIZE..3 * PAGE_SIZE + 11], tail);
    assert_eq!(read_dir(dir.path()).len(), 3);
}

#[test]
fn compression_is_flagged_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), options(4, true)).unwrap();
    let squeezable = compressible(1000, 1);
    let noise = Rng::new(3).noise(1000);
    wal.log(&[&squeezable, &noise]).unwrap();
    let bytes = fs::read(segment_path(dir.path(), 0)).unwrap();
    assert_eq!(bytes[0], 0x09, "full fragment, snappy");
    let len = usize::from(u16::from_be_bytes([bytes[1], bytes[2]]));
    assert!(len < 200, "compressed to {len} bytes");
    assert_eq!(bytes[7 + len], 0x01, "incompressible record stored plain");
    wal.close().unwrap();
    assert_eq!(read_dir(dir.path()), [squeezable, noise]);
}

#[test]
fn open_starts_a_new_segment_after_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path().join("nested/wal");
    let mut wal = Wal::open(&wal_dir, WalOptions::default()).unwrap();
    assert_eq!(wal.current_segment(), 0);
    wal.log(&[b"one"]).unwrap();
    drop(wal); // No close: the file stays unpadded, as after a crash.

    let mut wal = Wal::open(&wal_dir, WalOptions::default()).unwrap();
    assert_eq!(wal.current_segment(), 1);
    assert_eq!(wal.segments().unwrap(), (0, 1));
    wal.log(&[b"two"]).unwrap();
    assert_eq!(wal.next_segment().unwrap(), 2);
    wal.log(&[b"three"]).unwrap();
    wal.sync().unwrap();
    assert_eq!(
        fs::metadata(segment_path(&wal_dir, 1)).unwrap().len(),
        PAGE_SIZE as u64,
        "next_segment pads the finished segment"
    );
    assert_eq!(
        read_dir(&wal_dir),
        [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
}

#[test]
fn oversized_records_get_a_segment_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), options(2, false)).unwrap();
    let huge = Rng::new(5).noise(5 * PAGE_SIZE);
    wal.log(&[b"small", &huge, b"after"]).unwrap();
    wal.close().unwrap();

    let mut reader = Reader::open(&[SegmentRange::all(dir.path())]).unwrap();
    let mut segments = Vec::new();
    while let Some(rec) = reader.next_record().unwrap() {
        segments.push((rec.len(), reader.position().unwrap().segment));
    }
    assert_eq!(segments, [(5, 0), (5 * PAGE_SIZE, 1), (5, 2)]);
    assert!(fs::metadata(segment_path(dir.path(), 1)).unwrap().len() > 2 * PAGE_SIZE as u64);
}

#[test]
fn truncate_deletes_older_segments_but_never_the_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), options(1, false)).unwrap();
    for i in 0..6u8 {
        wal.log(&[&[i; 100]]).unwrap();
        wal.next_segment().unwrap();
    }
    assert_eq!(wal.segments().unwrap(), (0, 6));
    assert_eq!(wal.truncate(3).unwrap(), 3);
    assert_eq!(wal.segments().unwrap(), (3, 6));
    assert_eq!(wal.truncate(1000).unwrap(), 3);
    assert_eq!(wal.segments().unwrap(), (6, 6));
    wal.log(&[b"still writable"]).unwrap();
    wal.close().unwrap();
    assert_eq!(read_dir(dir.path()), [b"still writable".to_vec()]);
}

#[test]
fn segment_ranges_select_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::open(dir.path(), options(1, false)).unwrap();
    for i in 0..5u8 {
        wal.log(&[&[i]]).unwrap();
        wal.next_segment().unwrap();
    }
    wal.close().unwrap();
    let (records, err) = common::read_ranges(&[SegmentRange::between(dir.path(), 1, 3)]);
    assert!(err.is_none());
    assert_eq!(records, [vec![1], vec![2], vec![3]]);
    let (records, _) = common::read_ranges(&[SegmentRange {
        dir: dir.path().into(),
        first: Some(3),
        last: None,
    }]);
    assert_eq!(records, [vec![3], vec![4]]);
}

#[test]
fn every_log_mode_writes_the_same_log() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WalOptions {
        sync: SyncMode::EveryLog,
        ..options(1, true)
    };
    let mut wal = Wal::open(dir.path(), opts).unwrap();
    let mut rng = Rng::new(9);
    let records: Vec<Vec<u8>> = (0..50)
        .map(|i| match i % 2 {
            0 => compressible(i * 997, i as u8),
            _ => rng.noise(i * 997),
        })
        .collect();
    for r in &records {
        wal.log(&[r]).unwrap();
    }
    assert!(wal.current_segment() > 5);
    drop(wal);
    assert_eq!(read_dir(dir.path()), records);
}

#[test]
fn bad_directories_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Wal::open(dir.path(), options(0, false)).is_err());
    let odd = WalOptions {
        segment_size: PAGE_SIZE + 1,
        ..WalOptions::default()
    };
    assert!(Wal::open(dir.path(), odd).is_err());

    fs::write(segment_path(dir.path(), 0), b"").unwrap();
    fs::write(segment_path(dir.path(), 2), b"").unwrap();
    fs::write(dir.path().join("00000001.repair"), b"").unwrap(); // not a segment
    let err = Wal::open(dir.path(), WalOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not sequential"), "{err}");
    assert!(Reader::open(&[SegmentRange::all(dir.path())]).is_err());
}
