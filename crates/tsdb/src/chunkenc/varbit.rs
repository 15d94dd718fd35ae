//! Prometheus's varbit integers (`varbit.go`), used by the native-histogram chunk
//! encodings: a unary bucket prefix, then the value in that bucket's width.
//!
//! | prefix     | value bits | signed range                |
//! |------------|-----------:|-----------------------------|
//! | `0`        | 0          | 0                           |
//! | `10`       | 3          | -3 ..= 4                    |
//! | `110`      | 6          | -31 ..= 32                  |
//! | `1110`     | 9          | -255 ..= 256                |
//! | `11110`    | 12         | -2047 ..= 2048              |
//! | `111110`   | 18         | -131071 ..= 131072          |
//! | `1111110`  | 25         | -16777215 ..= 16777216      |
//! | `11111110` | 56         | -(2^55 - 1) ..= 2^55        |
//! | `11111111` | 64         | everything else             |
//!
//! Unsigned values use the same buckets with ranges `0 .. 2^width`.

use super::DecodeError;
use super::bstream::{BitReader, BitWriter};

/// Value widths of the buckets after the zero bucket, indexed by prefix ones minus one.
const WIDTHS: [u32; 8] = [3, 6, 9, 12, 18, 25, 56, 64];

/// True when `value` lies in a `nbits` bucket of Prometheus's signed bucketing, whose
/// range is `-(2^(nbits-1) - 1) ..= 2^(nbits-1)` (one more positive value than negative,
/// which the decoder's sign rule below relies on).
#[inline]
pub(crate) fn fits_signed(value: i64, nbits: u32) -> bool {
    let half = 1i64 << (nbits - 1);
    -(half - 1) <= value && value <= half
}

/// Interprets the `nbits` low-order bits of `bits` as a value of the signed bucketing.
#[inline]
pub(crate) fn decode_signed(bits: u64, nbits: u32) -> i64 {
    if nbits < 64 && bits > 1 << (nbits - 1) {
        bits.wrapping_sub(1 << nbits) as i64
    } else {
        bits as i64
    }
}

/// The bucket (index into [`WIDTHS`]) for a non-zero value.
fn signed_bucket(value: i64) -> usize {
    WIDTHS
        .iter()
        .position(|&w| w == 64 || fits_signed(value, w))
        .expect("the 64-bit bucket takes every value")
}

fn unsigned_bucket(value: u64) -> usize {
    WIDTHS
        .iter()
        .position(|&w| w == 64 || value < 1 << w)
        .expect("the 64-bit bucket takes every value")
}

impl BitWriter {
    /// Appends `value` in Prometheus's signed varbit encoding.
    pub fn write_varbit_int(&mut self, value: i64) {
        if value == 0 {
            self.write_bit(false);
            return;
        }
        let bucket = signed_bucket(value);
        self.write_bucket_prefix(bucket);
        self.write_bits(value as u64, WIDTHS[bucket]);
    }

    /// Appends `value` in Prometheus's unsigned varbit encoding.
    pub fn write_varbit_uint(&mut self, value: u64) {
        if value == 0 {
            self.write_bit(false);
            return;
        }
        let bucket = unsigned_bucket(value);
        self.write_bucket_prefix(bucket);
        self.write_bits(value, WIDTHS[bucket]);
    }

    /// `bucket + 1` one-bits, then a terminating zero except after the eighth.
    fn write_bucket_prefix(&mut self, bucket: usize) {
        let ones = bucket as u32 + 1;
        if ones == 8 {
            self.write_bits(0xFF, 8);
        } else {
            self.write_bits(((1 << ones) - 1) << 1, ones + 1);
        }
    }
}

impl BitReader<'_> {
    /// Reads a value written by [`BitWriter::write_varbit_int`].
    pub fn read_varbit_int(&mut self) -> Result<i64, DecodeError> {
        let ones = self.read_unary(8)?;
        if ones == 0 {
            return Ok(0);
        }
        let width = WIDTHS[ones as usize - 1];
        Ok(decode_signed(self.read_bits(width)?, width))
    }

    /// Reads a value written by [`BitWriter::write_varbit_uint`].
    pub fn read_varbit_uint(&mut self) -> Result<u64, DecodeError> {
        let ones = self.read_unary(8)?;
        if ones == 0 {
            return Ok(0);
        }
        self.read_bits(WIDTHS[ones as usize - 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_bucket_edges_round_trip_with_expected_sizes() {
        // (value, encoded bits) at each bucket's edges.
        let cases = [
            (0, 1),
            (-3, 5),
            (4, 5),
            (-4, 9),
            (5, 9),
            (32, 9),
            (-31, 9),
            (33, 13),
            (256, 13),
            (257, 17),
            (2048, 17),
            (2049, 24),
            (-131_071, 24),
            (131_072, 24),
            (131_073, 32),
            (16_777_216, 32),
            (-16_777_216, 64),
            ((1 << 55), 64),
            (-((1 << 55) - 1), 64),
            ((1 << 55) + 1, 72),
            (i64::MIN, 72),
            (i64::MAX, 72),
        ];
        let mut w = BitWriter::new();
        let mut expected_len = 0;
        for &(value, bits) in &cases {
            w.write_varbit_int(value);
            expected_len += bits;
            assert_eq!(w.bit_len(), expected_len, "value {value}");
        }
        let mut r = BitReader::new(w.bytes());
        for &(value, _) in &cases {
            assert_eq!(r.read_varbit_int().unwrap(), value);
        }
    }

    #[test]
    fn unsigned_bucket_edges_round_trip_with_expected_sizes() {
        let cases = [
            (0u64, 1),
            (7, 5),
            (8, 9),
            (63, 9),
            (64, 13),
            (4095, 17),
            (4096, 24),
            ((1 << 25) - 1, 32),
            (1 << 25, 64),
            ((1 << 56) - 1, 64),
            (1 << 56, 72),
            (u64::MAX, 72),
        ];
        let mut w = BitWriter::new();
        let mut expected_len = 0;
        for &(value, bits) in &cases {
            w.write_varbit_uint(value);
            expected_len += bits;
            assert_eq!(w.bit_len(), expected_len, "value {value}");
        }
        let mut r = BitReader::new(w.bytes());
        for &(value, _) in &cases {
            assert_eq!(r.read_varbit_uint().unwrap(), value);
        }
    }

    #[test]
    fn prefix_layout_matches_prometheus() {
        let mut w = BitWriter::new();
        w.write_varbit_int(-1);
        // 10 then -1 in 3 bits (111).
        assert_eq!(w.bytes(), &[0b1011_1000]);
        let mut w = BitWriter::new();
        w.write_varbit_uint(1 << 56);
        assert_eq!(&w.bytes()[..2], &[0xFF, 0x01]);
    }
}
