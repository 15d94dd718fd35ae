//! Go's `encoding/binary` varints, which Prometheus uses for chunk lengths, the first
//! timestamps of an XOR chunk and throughout the index: `uvarint` is base-128 little-endian
//! groups with a continuation bit, `varint` is a zigzag-mapped `uvarint`.

use super::DecodeError;
use super::bstream::{BitReader, BitWriter};

/// The longest encoding of a 64-bit varint, in bytes.
pub const MAX_VARINT_LEN64: usize = 10;

/// The longest encoding of a 32-bit varint, in bytes (the length field of a chunk).
pub const MAX_VARINT_LEN32: usize = 5;

/// Encodes `value` into `out`; returns the number of bytes used.
#[inline]
pub fn put_uvarint(out: &mut [u8; MAX_VARINT_LEN64], mut value: u64) -> usize {
    let mut i = 0;
    while value >= 0x80 {
        out[i] = value as u8 | 0x80;
        value >>= 7;
        i += 1;
    }
    out[i] = value as u8;
    i + 1
}

/// Encodes `value` zigzag-mapped into `out`; returns the number of bytes used.
#[inline]
pub fn put_varint(out: &mut [u8; MAX_VARINT_LEN64], value: i64) -> usize {
    put_uvarint(out, zigzag(value))
}

/// Decodes a `uvarint` from the start of `bytes`; returns the value and its length.
#[inline]
pub fn read_uvarint(bytes: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(MAX_VARINT_LEN64) {
        if byte < 0x80 {
            if i == MAX_VARINT_LEN64 - 1 && byte > 1 {
                return Err(DecodeError::VarintOverflow);
            }
            return Ok((value | u64::from(byte) << (7 * i), i + 1));
        }
        value |= u64::from(byte & 0x7F) << (7 * i);
    }
    if bytes.len() >= MAX_VARINT_LEN64 {
        Err(DecodeError::VarintOverflow)
    } else {
        Err(DecodeError::UnexpectedEnd)
    }
}

/// Decodes a zigzag `varint` from the start of `bytes`; returns the value and its length.
#[inline]
pub fn read_varint(bytes: &[u8]) -> Result<(i64, usize), DecodeError> {
    read_uvarint(bytes).map(|(u, n)| (unzigzag(u), n))
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    (value >> 1) as i64 ^ -((value & 1) as i64)
}

impl BitWriter {
    /// Appends `value` as a `uvarint` at the current bit position.
    pub fn write_uvarint(&mut self, value: u64) {
        let mut buf = [0; MAX_VARINT_LEN64];
        let n = put_uvarint(&mut buf, value);
        for &byte in &buf[..n] {
            self.write_byte(byte);
        }
    }

    /// Appends `value` as a zigzag `varint` at the current bit position.
    pub fn write_varint(&mut self, value: i64) {
        self.write_uvarint(zigzag(value));
    }
}

impl BitReader<'_> {
    /// Reads a `uvarint` starting at the current bit position.
    pub fn read_uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for i in 0..MAX_VARINT_LEN64 {
            let byte = self.read_byte()?;
            if byte < 0x80 {
                if i == MAX_VARINT_LEN64 - 1 && byte > 1 {
                    return Err(DecodeError::VarintOverflow);
                }
                return Ok(value | u64::from(byte) << (7 * i));
            }
            value |= u64::from(byte & 0x7F) << (7 * i);
        }
        Err(DecodeError::VarintOverflow)
    }

    /// Reads a zigzag `varint` starting at the current bit position.
    pub fn read_varint(&mut self) -> Result<i64, DecodeError> {
        self.read_uvarint().map(unzigzag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_encodings() {
        // Values and encodings from Go's encoding/binary.
        let cases: &[(u64, &[u8])] = &[
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (300, &[0xAC, 0x02]),
            (
                u64::MAX,
                &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            ),
        ];
        for &(value, encoded) in cases {
            let mut buf = [0; MAX_VARINT_LEN64];
            let n = put_uvarint(&mut buf, value);
            assert_eq!(&buf[..n], encoded);
            assert_eq!(read_uvarint(encoded).unwrap(), (value, n));
        }
        let signed: &[(i64, &[u8])] = &[(0, &[0]), (-1, &[1]), (1, &[2]), (-64, &[0x7F])];
        for &(value, encoded) in signed {
            let mut buf = [0; MAX_VARINT_LEN64];
            let n = put_varint(&mut buf, value);
            assert_eq!(&buf[..n], encoded);
            assert_eq!(read_varint(encoded).unwrap(), (value, n));
        }
        for v in [i64::MIN, i64::MAX, -1_700_000_000_000] {
            let mut buf = [0; MAX_VARINT_LEN64];
            let n = put_varint(&mut buf, v);
            assert_eq!(read_varint(&buf[..n]).unwrap(), (v, n));
        }
    }

    #[test]
    fn rejects_truncated_and_overflowing() {
        assert_eq!(read_uvarint(&[0x80]), Err(DecodeError::UnexpectedEnd));
        assert_eq!(read_uvarint(&[]), Err(DecodeError::UnexpectedEnd));
        let too_big = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02];
        assert_eq!(read_uvarint(&too_big), Err(DecodeError::VarintOverflow));
        let too_long = [0x80; 11];
        assert_eq!(read_uvarint(&too_long), Err(DecodeError::VarintOverflow));
        let mut r = BitReader::new(&too_big);
        assert_eq!(r.read_uvarint(), Err(DecodeError::VarintOverflow));
    }

    #[test]
    fn bit_stream_varints_round_trip_unaligned() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_varint(-1_700_000_000_123);
        w.write_uvarint(u64::MAX);
        let mut r = BitReader::new(w.bytes());
        assert!(r.read_bit().unwrap());
        assert_eq!(r.read_varint().unwrap(), -1_700_000_000_123);
        assert_eq!(r.read_uvarint().unwrap(), u64::MAX);
    }
}
