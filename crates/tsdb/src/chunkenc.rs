//! Chunk encodings: given samples, an encoded chunk; given a chunk's bytes, its samples.
//!
//! - [`Encoding`] is the chunk encoding byte stored in chunk files, with Prometheus's
//!   values.
//! - [`XorChunk`] encodes float samples exactly as Prometheus's XOR chunk does;
//!   [`XorIterator`] decodes them from borrowed (typically mmap'd) bytes.
//! - [`Chunk`] and [`ChunkIterator`] dispatch on the encoding, so callers stay unchanged
//!   when the native-histogram encodings arrive; [`ValueType`] tells what kind of sample
//!   an iterator stopped at.
//! - [`bstream`] and [`varint`] are the bit- and byte-level primitives the encodings share
//!   (Prometheus's `bstream.go`, `varbit.go` and Go's varints).
//!
//! Formats: `chunks.md` in the shared `tsdb-format` corpus. Encoding and decoding allocate
//! nothing per sample.

pub mod bstream;
mod varbit;
pub mod varint;
mod xor;

use std::fmt;

pub use xor::{XorChunk, XorIterator};

/// A chunk encoding, as the byte stored before each chunk in chunk files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum Encoding {
    /// Float samples, Gorilla-style XOR compression ([`XorChunk`]).
    Xor = 1,
    /// Integer native histograms (not decoded yet).
    Histogram = 2,
    /// Float native histograms (not decoded yet).
    FloatHistogram = 3,
}

impl Encoding {
    /// The byte stored in chunk files.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for Encoding {
    type Error = DecodeError;

    fn try_from(byte: u8) -> Result<Self, DecodeError> {
        match byte {
            1 => Ok(Encoding::Xor),
            2 => Ok(Encoding::Histogram),
            3 => Ok(Encoding::FloatHistogram),
            _ => Err(DecodeError::UnknownEncoding(byte)),
        }
    }
}

impl fmt::Display for Encoding {
    /// Prometheus's names (`Encoding.String()`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Xor => "XOR",
            Encoding::Histogram => "histogram",
            Encoding::FloatHistogram => "floathistogram",
        })
    }
}

/// Why chunk bytes could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the chunk header needs.
    #[error("chunk of {len} bytes is shorter than its header")]
    ChunkTooShort {
        /// The chunk's length.
        len: usize,
    },
    /// The data ended before the number of samples the header promises.
    #[error("chunk data ends before its last sample")]
    UnexpectedEnd,
    /// A varint longer than 64 bits.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// An XOR value window wider than 64 bits.
    #[error("invalid XOR value window: {leading} leading zeros and {significant} significant bits")]
    InvalidValueWindow {
        /// Leading zero bits read.
        leading: u8,
        /// Significant bits read.
        significant: u8,
    },
    /// Whole bytes after the last sample, where appending would misplace new samples.
    #[error("bytes after the last sample")]
    TrailingBytes,
    /// An encoding byte Prometheus does not define (or Ember does not know yet).
    #[error("unknown chunk encoding {0}")]
    UnknownEncoding(u8),
    /// A known encoding Ember cannot decode yet.
    #[error("chunk encoding {0} is not supported yet")]
    UnsupportedEncoding(Encoding),
}

/// What kind of sample an iterator is positioned at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueType {
    /// A float sample: read it with [`ChunkIterator::at`].
    Float,
}

/// An encoded chunk of any supported encoding, owning its bytes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Chunk {
    /// An XOR float chunk.
    Xor(XorChunk),
}

impl Chunk {
    /// Opens `bytes` in `encoding`, validating them.
    pub fn from_bytes(encoding: Encoding, bytes: impl Into<Vec<u8>>) -> Result<Self, DecodeError> {
        match encoding {
            Encoding::Xor => XorChunk::from_bytes(bytes).map(Chunk::Xor),
            other => Err(DecodeError::UnsupportedEncoding(other)),
        }
    }

    /// The chunk's encoding.
    pub fn encoding(&self) -> Encoding {
        match self {
            Chunk::Xor(_) => Encoding::Xor,
        }
    }

    /// The encoded bytes, as stored in chunk files.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Xor(c) => c.bytes(),
        }
    }

    /// Number of samples.
    pub fn num_samples(&self) -> usize {
        match self {
            Chunk::Xor(c) => c.num_samples(),
        }
    }

    /// An iterator over the samples.
    pub fn iter(&self) -> ChunkIterator<'_> {
        match self {
            Chunk::Xor(c) => ChunkIterator::Xor(c.iter()),
        }
    }
}

/// Iterates the samples of borrowed chunk bytes of any supported encoding.
///
/// Prometheus-style: [`next_value`](ChunkIterator::next_value) advances and says which
/// kind of sample is current, the matching accessor reads it, and
/// [`err`](ChunkIterator::err) tells whether the end was premature.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ChunkIterator<'a> {
    /// Over an XOR chunk.
    Xor(XorIterator<'a>),
}

impl<'a> ChunkIterator<'a> {
    /// An iterator over `bytes` encoded as `encoding`.
    pub fn new(encoding: Encoding, bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match encoding {
            Encoding::Xor => Ok(ChunkIterator::Xor(XorIterator::new(bytes))),
            other => Err(DecodeError::UnsupportedEncoding(other)),
        }
    }

    /// Advances to the next sample; `None` at the end or on an error.
    #[inline]
    pub fn next_value(&mut self) -> Option<ValueType> {
        match self {
            ChunkIterator::Xor(it) => it.next().map(|_| ValueType::Float),
        }
    }

    /// Advances to the first sample with timestamp `>= t`, never moving backwards.
    pub fn seek(&mut self, t: i64) -> Option<ValueType> {
        match self {
            ChunkIterator::Xor(it) => it.seek(t).map(|_| ValueType::Float),
        }
    }

    /// The current float sample.
    #[inline]
    pub fn at(&self) -> (i64, f64) {
        match self {
            ChunkIterator::Xor(it) => it.at(),
        }
    }

    /// The current sample's timestamp, whatever its kind.
    #[inline]
    pub fn at_t(&self) -> i64 {
        match self {
            ChunkIterator::Xor(it) => it.at().0,
        }
    }

    /// Why iteration ended early, if it did.
    pub fn err(&self) -> Option<DecodeError> {
        match self {
            ChunkIterator::Xor(it) => it.err(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_bytes_and_names_match_prometheus() {
        for (e, b, name) in [
            (Encoding::Xor, 1, "XOR"),
            (Encoding::Histogram, 2, "histogram"),
            (Encoding::FloatHistogram, 3, "floathistogram"),
        ] {
            assert_eq!(e.as_u8(), b);
            assert_eq!(Encoding::try_from(b), Ok(e));
            assert_eq!(e.to_string(), name);
        }
        assert_eq!(Encoding::try_from(0), Err(DecodeError::UnknownEncoding(0)));
        assert_eq!(Encoding::try_from(4), Err(DecodeError::UnknownEncoding(4)));
    }

    #[test]
    fn generic_chunk_dispatches_to_xor() {
        let mut xor = XorChunk::new();
        xor.append(1, 1.5);
        xor.append(2, 2.5);
        let chunk = Chunk::from_bytes(Encoding::Xor, xor.bytes()).unwrap();
        assert_eq!(chunk.encoding(), Encoding::Xor);
        assert_eq!(chunk.num_samples(), 2);
        let mut it = chunk.iter();
        let mut got = Vec::new();
        while let Some(ValueType::Float) = it.next_value() {
            got.push(it.at());
        }
        assert_eq!(got, vec![(1, 1.5), (2, 2.5)]);
        assert_eq!(it.err(), None);
        assert!(matches!(
            ChunkIterator::new(Encoding::Histogram, &[0, 0]),
            Err(DecodeError::UnsupportedEncoding(Encoding::Histogram))
        ));
    }
}
