//! Bit streams: chunk encodings pack fields of any bit width, most significant bit first,
//! with no alignment between them, exactly as Prometheus's `bstream` lays them out.
//!
//! [`BitWriter`] appends to an owned buffer; [`BitReader`] reads a borrowed slice (an mmap'd
//! segment, typically) without copying or allocating.

use super::DecodeError;

/// Appends bits, most significant first, to a growable byte buffer.
///
/// Unused bits of the last byte are zero, so [`BitWriter::bytes`] is always a valid stream
/// padded to whole bytes. Like Prometheus's `bstream`, writing a whole byte always leaves a
/// next byte allocated, so a stream can end in one empty byte; keeping that quirk makes
/// our chunks byte-identical to Prometheus's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Low-order bits of the last byte not written yet (0..=8). Zero means the next bit
    /// starts a new byte; eight means the last byte is allocated but empty.
    free_bits: u32,
}

impl BitWriter {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Continues the stream in `bytes`, whose last `free_bits` bits (0..=8) are not written
    /// yet. Those bits are cleared so later writes can OR into them.
    ///
    /// # Panics
    ///
    /// If `free_bits` is more than 8, or non-zero for an empty buffer.
    pub fn resume(mut bytes: Vec<u8>, free_bits: u32) -> Self {
        assert!(
            free_bits <= 8,
            "free_bits must be at most 8, got {free_bits}"
        );
        if let Some(last) = bytes.last_mut() {
            *last &= !((1u16 << free_bits) - 1) as u8;
        } else {
            assert_eq!(free_bits, 0, "an empty stream has no free bits");
        }
        BitWriter { bytes, free_bits }
    }

    /// The stream so far, the last byte zero-padded.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The stream for in-place edits of already written bytes (headers, counters).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Gives the buffer back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Number of bits written.
    pub fn bit_len(&self) -> usize {
        self.bytes.len() * 8 - self.free_bits as usize
    }

    /// Appends one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        if self.free_bits == 0 {
            self.bytes.push(0);
            self.free_bits = 8;
        }
        self.free_bits -= 1;
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << self.free_bits;
        }
    }

    /// Appends the `nbits` (0..=64) low-order bits of `value`, most significant first.
    /// Higher bits of `value` are ignored, so a negative number cast to `u64` writes its
    /// two's complement truncated to `nbits`. Whole bytes go first, then single bits, as
    /// Prometheus writes them (which decides where the stream may end in an empty byte).
    #[inline]
    pub fn write_bits(&mut self, value: u64, nbits: u32) {
        debug_assert!(nbits <= 64);
        if nbits == 0 {
            return;
        }
        let mut bits = value << (64 - nbits);
        let mut remaining = nbits;
        while remaining >= 8 {
            self.write_byte((bits >> 56) as u8);
            bits <<= 8;
            remaining -= 8;
        }
        while remaining > 0 {
            self.write_bit(bits >> 63 == 1);
            bits <<= 1;
            remaining -= 1;
        }
    }

    /// Appends a whole byte at the current bit position and allocates the next byte.
    #[inline]
    pub fn write_byte(&mut self, byte: u8) {
        if self.free_bits == 0 {
            self.bytes.push(0);
            self.free_bits = 8;
        }
        let last = self.bytes.len() - 1;
        self.bytes[last] |= ((u16::from(byte)) >> (8 - self.free_bits)) as u8;
        self.bytes.push(((u16::from(byte)) << self.free_bits) as u8);
    }
}

/// Reads bits, most significant first, from a borrowed byte slice.
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Bits consumed so far.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader positioned at the first bit of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    /// Bits consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bits left to read, including the zero padding of the last byte.
    pub fn remaining_bits(&self) -> usize {
        self.bytes.len() * 8 - self.pos
    }

    /// Reads one bit.
    #[inline]
    pub fn read_bit(&mut self) -> Result<bool, DecodeError> {
        let byte = *self
            .bytes
            .get(self.pos / 8)
            .ok_or(DecodeError::UnexpectedEnd)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// Reads `nbits` (1..=64) bits into the low-order bits of the result.
    #[inline]
    pub fn read_bits(&mut self, nbits: u32) -> Result<u64, DecodeError> {
        debug_assert!((1..=64).contains(&nbits));
        let end = self.pos + nbits as usize;
        if end > self.bytes.len() * 8 {
            return Err(DecodeError::UnexpectedEnd);
        }
        let byte = self.pos / 8;
        let shift = (self.pos % 8) as u32;
        let mut bits = self.load_be_u64(byte) << shift;
        if nbits + shift > 64 {
            // The field straddles nine bytes; its tail is in the ninth.
            bits |= u64::from(self.bytes[byte + 8]) >> (8 - shift);
        }
        self.pos = end;
        Ok(bits >> (64 - nbits))
    }

    /// Reads eight bits as a byte.
    #[inline]
    pub fn read_byte(&mut self) -> Result<u8, DecodeError> {
        self.read_bits(8).map(|b| b as u8)
    }

    /// Reads up to `max` one-bits, stopping after the first zero bit; returns how many ones
    /// were read. This decodes the unary bucket prefixes of the varbit encodings.
    #[inline]
    pub fn read_unary(&mut self, max: u32) -> Result<u32, DecodeError> {
        let mut ones = 0;
        while ones < max && self.read_bit()? {
            ones += 1;
        }
        Ok(ones)
    }

    /// Eight bytes starting at `byte`, big-endian; zeros past the end of the stream.
    #[inline]
    fn load_be_u64(&self, byte: usize) -> u64 {
        match self.bytes.get(byte..byte + 8) {
            Some(word) => u64::from_be_bytes(word.try_into().expect("eight bytes")),
            None => {
                let tail = &self.bytes[byte..];
                let mut word = [0u8; 8];
                word[..tail.len()].copy_from_slice(tail);
                u64::from_be_bytes(word)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_written_most_significant_first() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_bits(0b01, 2);
        w.write_bits(0xABCD, 16);
        w.write_bit(false);
        w.write_bit(true);
        assert_eq!(w.bit_len(), 21);
        // 1 01 1010101111001101 0 1 (000 padding)
        assert_eq!(w.bytes(), &[0b1011_0101, 0b0111_1001, 0b1010_1000]);
    }

    #[test]
    fn write_bits_ignores_high_bits() {
        let mut w = BitWriter::new();
        w.write_bits(-3i64 as u64, 4);
        assert_eq!(w.bytes(), &[0b1101_0000]);
    }

    #[test]
    fn round_trips_every_width_at_every_alignment() {
        for lead in 0..8 {
            for nbits in 1..=64u32 {
                let value = 0xDEAD_BEEF_F00D_CAFEu64 & (u64::MAX >> (64 - nbits));
                let mut w = BitWriter::new();
                w.write_bits(0, lead);
                w.write_bits(value, nbits);
                w.write_bits(0b101, 3);
                let mut r = BitReader::new(w.bytes());
                if lead > 0 {
                    assert_eq!(r.read_bits(lead).unwrap(), 0);
                }
                assert_eq!(
                    r.read_bits(nbits).unwrap(),
                    value,
                    "lead {lead} nbits {nbits}"
                );
                assert_eq!(r.read_bits(3).unwrap(), 0b101);
            }
        }
    }

    #[test]
    fn reading_past_the_end_fails() {
        let mut r = BitReader::new(&[0xFF]);
        assert_eq!(r.read_bits(7).unwrap(), 0x7F);
        assert_eq!(r.read_bits(2), Err(DecodeError::UnexpectedEnd));
        assert!(r.read_bit().unwrap());
        assert_eq!(r.read_bit(), Err(DecodeError::UnexpectedEnd));
    }

    #[test]
    fn resume_clears_unwritten_bits() {
        let mut w = BitWriter::resume(vec![0xFF, 0xFF], 3);
        assert_eq!(w.bytes(), &[0xFF, 0xF8]);
        w.write_bits(0b010, 3);
        assert_eq!(w.bytes(), &[0xFF, 0xFA]);
        assert_eq!(w.bit_len(), 16);
    }
}
