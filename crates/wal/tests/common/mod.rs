//! Helpers shared by the integration tests.
#![allow(dead_code)] // Each test crate uses a different subset.

use ember_wal::{ReadError, Reader, SegmentRange};
use std::path::Path;

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Bytes snappy cannot shrink.
    pub(crate) fn noise(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Bytes snappy shrinks a lot.
pub(crate) fn compressible(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i / 64) as u8))
        .collect()
}

/// Every record of `ranges`, and the error that stopped reading, if any.
pub(crate) fn read_ranges(ranges: &[SegmentRange]) -> (Vec<Vec<u8>>, Option<ReadError>) {
    let mut reader = Reader::open(ranges).expect("open reader");
    let mut records = Vec::new();
    loop {
        match reader.next_record() {
            Ok(Some(rec)) => records.push(rec.to_vec()),
            Ok(None) => return (records, None),
            Err(e) => return (records, Some(e)),
        }
    }
}

/// Every record of the segments in `dir`; panics on any error.
pub(crate) fn read_dir(dir: &Path) -> Vec<Vec<u8>> {
    match read_ranges(&[SegmentRange::all(dir)]) {
        (records, None) => records,
        (_, Some(e)) => panic!("reading {}: {e}", dir.display()),
    }
}
