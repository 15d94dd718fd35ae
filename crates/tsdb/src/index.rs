//! The block index (`<block>/index`): given a block's series and their chunk metadata, the
//! index file; given an index, its symbols, series and postings without loading it into
//! the heap; given label matchers, the postings of the series they select.
//!
//! The format is version 2 of the shared `tsdb-format/index.md`, written byte for byte as
//! Prometheus 2.42 writes it (including the label index sections and their offset table,
//! which readers no longer use but 2.x still writes).
//!
//! - [`IndexWriter`] streams an index to any [`std::io::Write`]: symbols first, then series
//!   in label order; [`IndexWriter::finish`] appends label indices, postings, the two
//!   offset tables and the TOC. It keeps the symbols and the postings in memory, nothing
//!   proportional to the series section.
//! - [`IndexReader`] works on any byte slice (an mmap via [`IndexReader::open`], a `Vec`
//!   in tests). Opening it walks the symbol table and the postings offset table once and
//!   keeps every 32nd entry of each (like Prometheus); everything else is decoded from the
//!   bytes on demand.
//! - [`Postings`] are sorted series-ref iterators with `seek`; [`ListPostings`] reads a
//!   stored list in place, and [`Intersect`], [`Merge`] and [`Without`] combine them
//!   lazily. [`IndexReader::postings_for_matchers`] evaluates label matchers with them,
//!   with Prometheus's semantics.
//!
//! A series ref is the series entry's offset divided by 16; refs in a block index are in
//! label-set order, so every postings list is already sorted by labels.

mod encoding;
pub(crate) mod matchers;
mod postings;
mod reader;
mod writer;

pub use postings::{BoxPostings, Intersect, ListPostings, Merge, Postings, VecPostings, Without};
pub use reader::{IndexReader, SymbolIter};
pub use writer::IndexWriter;

/// A series' position in an index: its entry's byte offset divided by 16.
pub type SeriesRef = u64;

/// The magic number that starts every index file.
pub const MAGIC_INDEX: u32 = 0xBAAA_D700;

/// The index format version this module writes and reads.
pub const FORMAT_V2: u8 = 2;

/// One chunk of a series as the index records it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Timestamp of the chunk's first sample (ms).
    pub mint: i64,
    /// Timestamp of the chunk's last sample (ms).
    pub maxt: i64,
    /// Where the chunk lives in the block's chunk segment files.
    pub chunk_ref: u64,
}

/// The table of contents: where each section of an index starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Toc {
    /// Offset of the symbol table.
    pub symbols: u64,
    /// Offset of the series section (before the first series' padding).
    pub series: u64,
    /// Offset of the label index sections.
    pub label_indices: u64,
    /// Offset of the label offset table.
    pub label_indices_table: u64,
    /// Offset of the postings lists (before their 4-byte alignment padding).
    pub postings: u64,
    /// Offset of the postings offset table.
    pub postings_table: u64,
}

/// What can go wrong writing or reading an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading or writing the underlying file failed.
    #[error("index I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with [`MAGIC_INDEX`].
    #[error("invalid magic number {0:x}")]
    BadMagic(u32),
    /// The file is an index of a version other than 2.
    #[error("unsupported index file version {0}")]
    UnsupportedVersion(u8),
    /// A section's CRC32 does not match its contents.
    #[error("{section}: invalid checksum")]
    Checksum {
        /// The section being read.
        section: &'static str,
    },
    /// A section is truncated or inconsistent.
    #[error("{section}: {problem}")]
    Corrupt {
        /// The section being read.
        section: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A symbol reference points outside the symbol table.
    #[error("unknown symbol offset {0}")]
    UnknownSymbol(u32),
    /// A series reference does not point into the series section.
    #[error("invalid series reference {0}")]
    InvalidSeriesRef(SeriesRef),
    /// Symbols were not strictly increasing.
    #[error("symbol {symbol:?} out-of-order")]
    SymbolOutOfOrder {
        /// The offending symbol.
        symbol: String,
    },
    /// A label name or value was not added as a symbol.
    #[error("symbol entry for {0:?} does not exist")]
    MissingSymbol(String),
    /// A series was not strictly greater than the previous one.
    #[error("out-of-order series added with label set {labels}, last label set {last}")]
    SeriesOutOfOrder {
        /// The series being added.
        labels: String,
        /// The series added before it.
        last: String,
    },
    /// A series' chunk metadata breaks the ordering rules of the format.
    #[error("series {labels}: {problem}")]
    InvalidChunks {
        /// The series being added.
        labels: String,
        /// Which rule is broken.
        problem: &'static str,
    },
    /// A writer method was called in the wrong stage (symbols after series, …).
    #[error("index writer: {0}")]
    Stage(&'static str),
    /// The index would outgrow a fixed-size field of the format.
    #[error("index too large: {0}")]
    TooLarge(&'static str),
}
