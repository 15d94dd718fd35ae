//! Byte-level primitives of the index format: Go's varints (LEB128, zig-zag for signed),
//! big-endian fixed-width integers, CRC32-Castagnoli sections and a bounds-checked decoder.

use super::IndexError;

/// Appends `v` as an unsigned varint (Go's `binary.PutUvarint`).
pub(super) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// The longest unsigned varint.
pub(super) const MAX_UVARINT_LEN: usize = 10;

/// Encodes `v` as an unsigned varint into `buf`; returns the encoded bytes.
pub(super) fn encode_uvarint(buf: &mut [u8; MAX_UVARINT_LEN], mut v: u64) -> &[u8] {
    let mut n = 0;
    while v >= 0x80 {
        buf[n] = v as u8 | 0x80;
        v >>= 7;
        n += 1;
    }
    buf[n] = v as u8;
    &buf[..=n]
}

/// Appends `v` as a zig-zag signed varint (Go's `binary.PutVarint`).
pub(super) fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends `s` prefixed with its length as an unsigned varint.
pub(super) fn put_uvarint_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    put_uvarint(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// How many bytes [`put_uvarint`] writes for `v`.
pub(super) fn uvarint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads a big-endian u32 at `at`, if in bounds.
fn be32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    Some(u32::from_be_bytes(bytes.get(at..end)?.try_into().ok()?))
}

/// The body of a `len <4b> | body | CRC32 <4b>` section starting at `offset`, with its
/// checksum verified.
pub(super) fn section_at<'a>(
    bytes: &'a [u8],
    offset: usize,
    section: &'static str,
) -> Result<&'a [u8], IndexError> {
    let len = be32_at(bytes, offset).ok_or(truncated(section))? as usize;
    checked_body(bytes, offset + 4, len, section)
}

/// The body of a `len <uvarint> | body | CRC32 <4b>` entry (a series) starting at
/// `offset`, with its checksum verified.
pub(super) fn uvarint_section_at<'a>(
    bytes: &'a [u8],
    offset: usize,
    section: &'static str,
) -> Result<&'a [u8], IndexError> {
    let mut d = Decoder::new(bytes.get(offset..).ok_or(truncated(section))?, section);
    let len = d.uvarint()? as usize;
    let start = bytes.len() - d.remaining();
    checked_body(bytes, start, len, section)
}

fn checked_body<'a>(
    bytes: &'a [u8],
    start: usize,
    len: usize,
    section: &'static str,
) -> Result<&'a [u8], IndexError> {
    let end = start.checked_add(len).ok_or(truncated(section))?;
    let body = bytes.get(start..end).ok_or(truncated(section))?;
    let expected = be32_at(bytes, end).ok_or(truncated(section))?;
    if crc32c::crc32c(body) != expected {
        return Err(IndexError::Checksum { section });
    }
    Ok(body)
}

pub(super) fn truncated(section: &'static str) -> IndexError {
    IndexError::Corrupt {
        section,
        problem: "unexpected end of data",
    }
}

/// Consumes a byte slice front to back; every read is bounds-checked and reports the
/// section it was reading.
#[derive(Clone)]
pub(super) struct Decoder<'a> {
    buf: &'a [u8],
    section: &'static str,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(buf: &'a [u8], section: &'static str) -> Self {
        Decoder { buf, section }
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        if n > self.buf.len() {
            return Err(truncated(self.section));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(super) fn be32(&mut self) -> Result<u32, IndexError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn be64(&mut self) -> Result<u64, IndexError> {
        let hi = self.be32()? as u64;
        let lo = self.be32()? as u64;
        Ok(hi << 32 | lo)
    }

    /// An unsigned varint with Go's overflow rules (at most 10 bytes, fits in 64 bits).
    pub(super) fn uvarint(&mut self) -> Result<u64, IndexError> {
        let mut value = 0u64;
        for (i, &b) in self.buf.iter().enumerate().take(10) {
            if b < 0x80 {
                if i == 9 && b > 1 {
                    break;
                }
                self.buf = &self.buf[i + 1..];
                return Ok(value | (b as u64) << (7 * i));
            }
            value |= ((b & 0x7f) as u64) << (7 * i);
        }
        if self.buf.len() < 10 && self.buf.iter().all(|&b| b >= 0x80) {
            return Err(truncated(self.section));
        }
        Err(IndexError::Corrupt {
            section: self.section,
            problem: "varint overflows 64 bits",
        })
    }

    pub(super) fn varint(&mut self) -> Result<i64, IndexError> {
        let u = self.uvarint()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    /// A `len <uvarint> | bytes` string.
    pub(super) fn uvarint_bytes(&mut self) -> Result<&'a [u8], IndexError> {
        let n = self.uvarint()?;
        self.bytes(usize::try_from(n).map_err(|_| truncated(self.section))?)
    }

    /// A `len <uvarint> | bytes` string that must be UTF-8.
    pub(super) fn uvarint_str(&mut self) -> Result<&'a str, IndexError> {
        let section = self.section;
        std::str::from_utf8(self.uvarint_bytes()?).map_err(|_| IndexError::Corrupt {
            section,
            problem: "string is not valid UTF-8",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_like_go() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, v);
            assert_eq!(buf.len(), uvarint_len(v), "{v}");
            assert_eq!(encode_uvarint(&mut [0; MAX_UVARINT_LEN], v), buf);
            let mut d = Decoder::new(&buf, "test");
            assert_eq!(d.uvarint().unwrap(), v);
            assert_eq!(d.remaining(), 0);
        }
        for v in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX, 1_000_000] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(Decoder::new(&buf, "test").varint().unwrap(), v);
        }
        // Go's encoding of 1000000 as a varint (zig-zag 2000000).
        let mut buf = Vec::new();
        put_varint(&mut buf, 1_000_000);
        assert_eq!(buf, [0x80, 0x89, 0x7a]);
    }

    #[test]
    fn bad_varints_are_errors() {
        assert!(Decoder::new(&[0x80, 0x80], "t").uvarint().is_err());
        assert!(Decoder::new(&[0xff; 10], "t").uvarint().is_err());
        let mut eleven = [0x80u8; 11];
        eleven[10] = 0;
        assert!(Decoder::new(&eleven, "t").uvarint().is_err());
        let mut max = [0xffu8; 10];
        max[9] = 1;
        assert_eq!(Decoder::new(&max, "t").uvarint().unwrap(), u64::MAX);
        max[9] = 2;
        assert!(Decoder::new(&max, "t").uvarint().is_err());
    }

    #[test]
    fn sections_check_their_crc() {
        let body = b"\x00\x00\x00\x01abc";
        let mut file = vec![0u8; 3];
        file.extend_from_slice(&(body.len() as u32).to_be_bytes());
        file.extend_from_slice(body);
        file.extend_from_slice(&crc32c::crc32c(body).to_be_bytes());
        assert_eq!(section_at(&file, 3, "t").unwrap(), body);
        file[8] ^= 1;
        assert!(matches!(
            section_at(&file, 3, "t"),
            Err(IndexError::Checksum { .. })
        ));
        assert!(section_at(&file, 5, "t").is_err());
    }
}
