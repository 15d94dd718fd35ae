//! The primitive encodings WAL records are built from, as Go's `encoding/binary` writes
//! them: big-endian fixed-width integers, LEB128 unsigned varints and zigzag signed
//! varints, and strings prefixed with their uvarint length.

use super::DecodeError;

pub(super) fn put_be64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_be_bytes());
}

pub(super) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Zigzag, so that small negative deltas stay short (Go's `binary.PutVarint`).
pub(super) fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

pub(super) fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_uvarint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// A cursor over one record's bytes; every read fails cleanly on a short buffer.
pub(super) struct Decbuf<'a> {
    rest: &'a [u8],
}

impl<'a> Decbuf<'a> {
    pub(super) fn new(rec: &'a [u8]) -> Self {
        Decbuf { rest: rec }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(super) fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(super) fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    pub(super) fn be64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    /// Go's `binary.Uvarint`: at most 10 bytes, and the 10th may only carry one bit.
    pub(super) fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for (i, &b) in self.rest.iter().enumerate().take(10) {
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return Err(DecodeError::VarintOverflow);
                }
                self.rest = &self.rest[i + 1..];
                return Ok(value | (u64::from(b) << (7 * i)));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
        }
        if self.rest.len() >= 10 {
            Err(DecodeError::VarintOverflow)
        } else {
            Err(DecodeError::Truncated)
        }
    }

    pub(super) fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    pub(super) fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.uvarint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::Truncated)?;
        std::str::from_utf8(self.bytes(len)?).map_err(|_| DecodeError::InvalidUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_go() {
        // Values and encodings from Go's binary.PutUvarint / binary.PutVarint.
        let cases: &[(u64, &[u8])] = &[
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for &(v, want) in cases {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, v);
            assert_eq!(buf, want, "uvarint {v}");
            assert_eq!(Decbuf::new(want).uvarint(), Ok(v));
        }
        let signed: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
        ];
        for &(v, want) in signed {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(buf, want, "varint {v}");
            assert_eq!(Decbuf::new(want).varint(), Ok(v));
        }
        for v in [i64::MIN, i64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(Decbuf::new(&buf).varint(), Ok(v));
        }
    }

    #[test]
    fn malformed_varints_are_errors() {
        assert_eq!(
            Decbuf::new(&[0x80, 0x80]).uvarint(),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            Decbuf::new(&[0xff; 10]).uvarint(),
            Err(DecodeError::VarintOverflow)
        );
        let mut ten = [0xff; 10];
        ten[9] = 0x02;
        assert_eq!(
            Decbuf::new(&ten).uvarint(),
            Err(DecodeError::VarintOverflow)
        );
    }
}
