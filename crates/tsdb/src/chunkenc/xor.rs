//! The XOR float chunk (Gorilla compression with Prometheus's millisecond buckets),
//! byte-identical to Prometheus's `chunkenc.XORChunk`.
//!
//! Layout (`chunks.md`, "XOR chunk data"): a big-endian `u16` sample count; the first
//! timestamp as a `varint` and the first value as 64 raw bits; the second timestamp as a
//! `uvarint` delta and its value XOR-encoded; then per sample a delta-of-delta timestamp
//! in the buckets `0` (0), `10` + 14 bits, `110` + 17 bits, `1110` + 20 bits or
//! `1111` + 64 bits, followed by the XOR-encoded value:
//!
//! - `0`: same bits as the previous value;
//! - `10` + significant bits: the XOR fits the previous leading/trailing-zero window;
//! - `11` + 5 bits leading zeros + 6 bits significant length (0 means 64) + the bits:
//!   a new window.
//!
//! Values are compared and XORed as raw bits, so every NaN payload (the staleness marker
//! among them) round-trips exactly.

use super::DecodeError;
use super::bstream::{BitReader, BitWriter};
use super::varbit::{decode_signed, fits_signed};

/// Size of the sample-count header.
const HEADER_LEN: usize = 2;

/// `leading` before the first value window is chosen: forces the appender to write a
/// new window the first time a value changes.
const NO_WINDOW: u8 = 0xFF;

/// A chunk of float samples in Prometheus's XOR encoding, open for appending.
///
/// Increasing timestamps encode compactly; any order round-trips, because deltas wrap
/// like Go's integer arithmetic.
#[derive(Clone, Debug)]
pub struct XorChunk {
    stream: BitWriter,
    num_samples: u16,
    // Appender state: the last sample, its delta to the one before, and the current value
    // window (leading zeros clamped to 31, trailing zeros).
    t: i64,
    v_bits: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl XorChunk {
    /// An empty chunk.
    pub fn new() -> Self {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&[0; HEADER_LEN]);
        XorChunk {
            stream: BitWriter::resume(bytes, 0),
            num_samples: 0,
            t: 0,
            v_bits: 0,
            t_delta: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Opens an encoded chunk for reading and appending, validating it by decoding every
    /// sample.
    ///
    /// Appending resumes from the decoder's final state, as Prometheus's `Appender()` on an
    /// existing chunk does. Note what that implies: while no value window has been decoded
    /// yet (one sample, or only unchanged values), the reopened appender's window is
    /// "0 leading, 0 trailing" rather than "none", so the next changed value is written as
    /// 64 significant bits in that window. Prometheus does the same, so the bytes still
    /// match Prometheus's for the same sequence of operations. (Prometheus itself never
    /// appends to a reopened chunk in what it persists: after loading a memory snapshot it
    /// cuts a new chunk on the next append.)
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, DecodeError> {
        let bytes = bytes.into();
        let mut it = XorIterator::new(&bytes);
        for _ in it.by_ref() {}
        if let Some(err) = it.err() {
            return Err(err);
        }
        let num_samples = it.total;
        let (t, v_bits, t_delta, trailing) = (it.t, it.v_bits, it.t_delta, it.trailing);
        let leading = if num_samples == 0 {
            NO_WINDOW
        } else {
            it.leading
        };
        let bit_len = HEADER_LEN * 8 + it.reader.position();
        let free_bits = (bytes.len() * 8 - bit_len) as u32;
        if free_bits > 8 {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(XorChunk {
            stream: BitWriter::resume(bytes, free_bits),
            num_samples,
            t,
            v_bits,
            t_delta,
            leading,
            trailing,
        })
    }

    /// The encoded chunk: header and samples, padded to whole bytes.
    pub fn bytes(&self) -> &[u8] {
        self.stream.bytes()
    }

    /// Gives the encoded bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.stream.into_bytes()
    }

    /// Number of samples in the chunk.
    pub fn num_samples(&self) -> usize {
        usize::from(self.num_samples)
    }

    /// An iterator over the chunk's samples.
    pub fn iter(&self) -> XorIterator<'_> {
        XorIterator::new(self.bytes())
    }

    /// Appends a sample.
    ///
    /// # Panics
    ///
    /// When the chunk already holds `u16::MAX` samples, the most its header can count.
    /// (Prometheus cuts chunks at 120 samples.)
    pub fn append(&mut self, t: i64, v: f64) {
        assert!(
            self.num_samples < u16::MAX,
            "an XOR chunk holds at most {} samples",
            u16::MAX
        );
        let v_bits = v.to_bits();
        let mut t_delta = 0;
        match self.num_samples {
            0 => {
                self.stream.write_varint(t);
                self.stream.write_bits(v_bits, 64);
            }
            1 => {
                t_delta = t.wrapping_sub(self.t) as u64;
                self.stream.write_uvarint(t_delta);
                self.write_value(v_bits);
            }
            _ => {
                t_delta = t.wrapping_sub(self.t) as u64;
                self.write_dod(t_delta.wrapping_sub(self.t_delta) as i64);
                self.write_value(v_bits);
            }
        }
        self.t = t;
        self.v_bits = v_bits;
        self.t_delta = t_delta;
        self.num_samples += 1;
        self.stream.bytes_mut()[..HEADER_LEN].copy_from_slice(&self.num_samples.to_be_bytes());
    }

    // The write calls below mirror Prometheus's one for one, prefix and payload apart:
    // with its bit stream, how a field is split into calls decides whether a chunk ends
    // in an extra empty byte, and our chunks must be byte-identical.
    #[inline]
    fn write_dod(&mut self, dod: i64) {
        let dod_bits = dod as u64;
        if dod == 0 {
            self.stream.write_bit(false);
        } else if fits_signed(dod, 14) {
            self.stream.write_bits(0b10, 2);
            self.stream.write_bits(dod_bits, 14);
        } else if fits_signed(dod, 17) {
            self.stream.write_bits(0b110, 3);
            self.stream.write_bits(dod_bits, 17);
        } else if fits_signed(dod, 20) {
            self.stream.write_bits(0b1110, 4);
            self.stream.write_bits(dod_bits, 20);
        } else {
            self.stream.write_bits(0b1111, 4);
            self.stream.write_bits(dod_bits, 64);
        }
    }

    #[inline]
    fn write_value(&mut self, v_bits: u64) {
        let delta = v_bits ^ self.v_bits;
        if delta == 0 {
            self.stream.write_bit(false);
            return;
        }
        self.stream.write_bit(true);
        // Five bits hold the leading-zero count, so it is clamped to 31.
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            let significant = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.stream.write_bit(false);
            self.stream.write_bits(delta >> self.trailing, significant);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            let significant = 64 - u32::from(leading) - u32::from(trailing);
            self.stream.write_bit(true);
            self.stream.write_bits(u64::from(leading), 5);
            // 64 significant bits do not fit the 6-bit length; they are written as 0,
            // which can mean nothing else because a zero XOR takes the branch above.
            self.stream.write_bits(u64::from(significant), 6);
            self.stream.write_bits(delta >> trailing, significant);
        }
    }
}

/// Decodes the samples of an XOR chunk straight from borrowed bytes, allocating nothing.
///
/// Iteration ends after the header's sample count, or early when the bytes are malformed;
/// then [`XorIterator::err`] says why. Check it after the loop, as with Prometheus's
/// `Iterator.Err()`.
#[derive(Clone, Debug)]
pub struct XorIterator<'a> {
    reader: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    v_bits: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    err: Option<DecodeError>,
}

impl<'a> XorIterator<'a> {
    /// An iterator over the chunk encoded in `bytes` (header included).
    pub fn new(bytes: &'a [u8]) -> Self {
        let (total, err, body) = match bytes {
            [hi, lo, body @ ..] => (u16::from_be_bytes([*hi, *lo]), None, body),
            _ => (
                0,
                Some(DecodeError::ChunkTooShort { len: bytes.len() }),
                &[][..],
            ),
        };
        XorIterator {
            reader: BitReader::new(body),
            total,
            read: 0,
            t: 0,
            v_bits: 0,
            t_delta: 0,
            leading: 0,
            trailing: 0,
            err,
        }
    }

    /// The sample count from the chunk header.
    pub fn num_samples(&self) -> usize {
        usize::from(self.total)
    }

    /// The sample the last successful [`next`](Iterator::next) or
    /// [`seek`](XorIterator::seek) returned.
    pub fn at(&self) -> (i64, f64) {
        (self.t, f64::from_bits(self.v_bits))
    }

    /// Advances to the first sample with timestamp `>= t` and returns it, never moving
    /// backwards: if the current sample already qualifies, it is returned again.
    pub fn seek(&mut self, t: i64) -> Option<(i64, f64)> {
        if self.err.is_some() {
            return None;
        }
        while self.read == 0 || self.t < t {
            self.next()?;
        }
        Some(self.at())
    }

    /// Why iteration stopped before the header's sample count, if it did.
    pub fn err(&self) -> Option<DecodeError> {
        self.err
    }

    fn decode_next(&mut self) -> Result<(), DecodeError> {
        match self.read {
            0 => {
                self.t = self.reader.read_varint()?;
                self.v_bits = self.reader.read_bits(64)?;
            }
            1 => {
                self.t_delta = self.reader.read_uvarint()?;
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_value()?;
            }
            _ => {
                let dod = match self.reader.read_unary(4)? {
                    0 => 0,
                    1 => decode_signed(self.reader.read_bits(14)?, 14),
                    2 => decode_signed(self.reader.read_bits(17)?, 17),
                    3 => decode_signed(self.reader.read_bits(20)?, 20),
                    _ => self.reader.read_bits(64)? as i64,
                };
                self.t_delta = self.t_delta.wrapping_add(dod as u64);
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_value()?;
            }
        }
        self.read += 1;
        Ok(())
    }

    #[inline]
    fn read_value(&mut self) -> Result<(), DecodeError> {
        if !self.reader.read_bit()? {
            return Ok(());
        }
        if self.reader.read_bit()? {
            let header = self.reader.read_bits(11)?;
            let leading = (header >> 6) as u8;
            let significant = match (header & 0x3F) as u8 {
                0 => 64,
                n => n,
            };
            if u32::from(leading) + u32::from(significant) > 64 {
                return Err(DecodeError::InvalidValueWindow {
                    leading,
                    significant,
                });
            }
            self.leading = leading;
            self.trailing = 64 - leading - significant;
        }
        let significant = 64 - u32::from(self.leading) - u32::from(self.trailing);
        let bits = self.reader.read_bits(significant)?;
        self.v_bits ^= bits << self.trailing;
        Ok(())
    }
}

impl Iterator for XorIterator<'_> {
    type Item = (i64, f64);

    #[inline]
    fn next(&mut self) -> Option<(i64, f64)> {
        if self.err.is_some() || self.read == self.total {
            return None;
        }
        match self.decode_next() {
            Ok(()) => Some(self.at()),
            Err(err) => {
                self.err = Some(err);
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.err.is_some() {
            return (0, Some(0));
        }
        (0, Some(usize::from(self.total - self.read)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_model::STALE_NAN;

    fn encode(samples: &[(i64, f64)]) -> XorChunk {
        let mut c = XorChunk::new();
        for &(t, v) in samples {
            c.append(t, v);
        }
        c
    }

    fn decode(bytes: &[u8]) -> Vec<(i64, u64)> {
        let mut it = XorIterator::new(bytes);
        let out = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
        assert_eq!(it.err(), None);
        out
    }

    #[test]
    fn empty_chunk_is_a_zero_header() {
        let c = XorChunk::new();
        assert_eq!(c.bytes(), &[0, 0]);
        assert_eq!(c.num_samples(), 0);
        assert_eq!(decode(c.bytes()), vec![]);
    }

    #[test]
    fn whole_byte_writes_leave_prometheus_empty_byte() {
        // Prometheus 2.x's bit stream allocates the next byte after every whole-byte write,
        // so a one-sample chunk (varint timestamp, 64 value bits, both byte-aligned) ends
        // in one empty byte: header 2 + varint 1 + value 8 + 1.
        let mut c = XorChunk::new();
        c.append(1, 1.0);
        assert_eq!(c.bytes().len(), 12);
        assert_eq!(c.bytes()[11], 0);
        // A 14-bit delta-of-delta written as 2 + 14 bits ends unaligned: no empty byte.
        let mut c = XorChunk::new();
        for (t, v) in [(0, 1.0), (1000, 1.0), (2500, 1.0)] {
            c.append(t, v);
        }
        assert_eq!(
            decode(c.bytes()),
            vec![
                (0, 1.0f64.to_bits()),
                (1000, 1.0f64.to_bits()),
                (2500, 1.0f64.to_bits())
            ]
        );
    }

    #[test]
    fn known_bytes() {
        // Hand-computed against the Prometheus layout:
        // 00 03 | varint(1000)=d0 0f | 1.0 = 3ff0000000000000 | uvarint(15)=0f |
        // value 1.0->2.0: xor 0x7ff0.. lead 1 trail 52 sig 11: 11 00001 001011 11111111111
        // t dod 0: 0 | value 2.0->2.0: 0 | padding.
        let c = encode(&[(1000, 1.0), (1015, 2.0), (1030, 2.0)]);
        let mut expected = vec![0x00, 0x03, 0xd0, 0x0f];
        expected.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        expected.push(0x0f);
        // 1100 0010 0101 1111 1111 1111 00 + padding
        expected.extend_from_slice(&[0b1100_0010, 0b0101_1111, 0b1111_1111, 0b0000_0000]);
        assert_eq!(c.bytes(), expected.as_slice());
    }

    #[test]
    fn dod_bucket_edges_round_trip() {
        let dods = [
            0i64,
            1,
            -1,
            8192,
            -8191,
            8193,
            -8192,
            65536,
            -65535,
            65537,
            524_288,
            -524_287,
            524_289,
            -524_288,
            i64::MAX / 4,
        ];
        let mut samples = vec![(0i64, 0.0), (1000, 1.0)];
        let mut delta = 1000i64;
        for (i, dod) in dods.iter().enumerate() {
            delta += dod;
            let t = samples.last().unwrap().0.wrapping_add(delta);
            samples.push((t, i as f64));
        }
        let c = encode(&samples);
        let got = decode(c.bytes());
        let want: Vec<_> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn stale_markers_and_nan_payloads_round_trip() {
        let values = [
            1.0,
            STALE_NAN,
            f64::NAN,
            f64::from_bits(0x7ff8_0000_0000_0001),
            f64::from_bits(0xfff0_0000_0000_0001),
            STALE_NAN,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
        ];
        let samples: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as i64 * 15_000, v))
            .collect();
        let c = encode(&samples);
        let want: Vec<_> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        assert_eq!(decode(c.bytes()), want);
    }

    #[test]
    fn seek_moves_forward_only() {
        let c = encode(&[(10, 1.0), (20, 2.0), (30, 3.0)]);
        let mut it = c.iter();
        assert_eq!(it.seek(0), Some((10, 1.0)));
        assert_eq!(it.seek(15), Some((20, 2.0)));
        assert_eq!(it.seek(20), Some((20, 2.0)));
        assert_eq!(it.seek(5), Some((20, 2.0)));
        assert_eq!(it.seek(30), Some((30, 3.0)));
        assert_eq!(it.seek(31), None);
        assert_eq!(it.err(), None);
    }

    #[test]
    fn reopened_chunk_appends_like_prometheus() {
        let mut fresh = encode(&[(1, 1.0)]);
        let mut reopened = XorChunk::from_bytes(fresh.bytes()).unwrap();
        fresh.append(2, 3.0);
        reopened.append(2, 3.0);
        // A fresh appender writes a new window; a reopened one, as in Prometheus, starts
        // from the decoder's zero window and writes all 64 bits.
        assert_ne!(fresh.bytes(), reopened.bytes());
        assert_eq!(decode(fresh.bytes()), decode(reopened.bytes()));

        // Once a window exists, the reopened appender continues bit-for-bit.
        let samples: Vec<_> = (0..50)
            .map(|i| (i * 1000 + i % 3, (i * 7 % 11) as f64))
            .collect();
        let whole = encode(&samples);
        for split in 3..samples.len() {
            let mut c = XorChunk::from_bytes(encode(&samples[..split]).into_bytes()).unwrap();
            for &(t, v) in &samples[split..] {
                c.append(t, v);
            }
            assert_eq!(c.bytes(), whole.bytes(), "split at {split}");
        }
    }

    #[test]
    fn malformed_bytes_are_reported() {
        let mut it = XorIterator::new(&[0]);
        assert_eq!(it.next(), None);
        assert_eq!(it.err(), Some(DecodeError::ChunkTooShort { len: 1 }));

        let c = encode(&[(1, 1.0), (2, 2.0), (3, 5.0)]);
        let truncated = &c.bytes()[..c.bytes().len() - 2];
        let mut it = XorIterator::new(truncated);
        assert_eq!(it.by_ref().count(), 2);
        assert_eq!(it.err(), Some(DecodeError::UnexpectedEnd));
        assert!(XorChunk::from_bytes(truncated).is_err());

        let mut padded = c.bytes().to_vec();
        padded.push(0);
        assert_eq!(
            XorChunk::from_bytes(padded).unwrap_err(),
            DecodeError::TrailingBytes
        );
    }
}
