//! Writing an index: symbols, then series in label order, then everything derived from
//! them, in exactly the bytes Prometheus 2.42 produces for the same input.

use super::encoding::{
    MAX_UVARINT_LEN, encode_uvarint, put_uvarint, put_uvarint_bytes, put_varint, uvarint_len,
};
use super::{ChunkMeta, FORMAT_V2, IndexError, MAGIC_INDEX, SeriesRef, Toc};
use ember_model::Labels;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Series entries are 16-byte aligned so that a 4-byte ref (offset / 16) addresses 64 GiB.
const SERIES_ALIGNMENT: u64 = 16;
/// Label index and postings sections start 4-byte aligned for faster scans.
const SECTION_ALIGNMENT: u64 = 4;

/// Streams an index file to `W`.
///
/// Call [`add_symbols`](Self::add_symbols) once with every label name and value, then
/// [`add_series`](Self::add_series) for each series in label-set order, then
/// [`finish`](Self::finish). Memory holds the symbols and 8 bytes per label of every
/// series (the postings); the series section itself is only streamed.
///
/// Invalid input (unsorted symbols or series, unknown symbols, misordered chunks) is
/// rejected before anything is written, so the writer stays usable; after an I/O error
/// the output is incomplete and the writer should be dropped.
pub struct IndexWriter<W: Write> {
    out: Output<W>,
    symbols_written: bool,
    toc: Toc,
    symbols: SymbolArena,
    /// Refs of all series in order: the postings list under the empty name and value.
    all_series: Vec<u32>,
    /// Label name symbol → (value symbol, series ref) of every series carrying the name.
    label_postings: HashMap<u32, Vec<(u32, u32)>>,
    /// The symbol refs (name, value, name, value, …) of the last series, which orders
    /// like its label set because symbols are sorted.
    last_series: Vec<u32>,
    last_chunk_ref: u64,
    /// Scratch space for the current series' symbol refs and for encoding.
    series_symbols: Vec<u32>,
    buf: Vec<u8>,
}

impl IndexWriter<BufWriter<File>> {
    /// Creates (or truncates) the index file at `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, IndexError> {
        let file = File::create(path)?;
        IndexWriter::new(BufWriter::with_capacity(1 << 20, file))
    }

    /// Finishes the index and syncs the file to disk.
    pub fn finish_sync(self) -> Result<(), IndexError> {
        let file = self.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    }
}

impl<W: Write> IndexWriter<W> {
    /// Starts an index on `out` by writing the header.
    pub fn new(out: W) -> Result<Self, IndexError> {
        let mut out = Output { inner: out, pos: 0 };
        let mut header = MAGIC_INDEX.to_be_bytes().to_vec();
        header.push(FORMAT_V2);
        out.write(&header)?;
        Ok(IndexWriter {
            out,
            symbols_written: false,
            toc: Toc::default(),
            symbols: SymbolArena::default(),
            all_series: Vec::new(),
            label_postings: HashMap::new(),
            last_series: Vec::new(),
            last_chunk_ref: 0,
            series_symbols: Vec::new(),
            buf: Vec::with_capacity(4096),
        })
    }

    /// Writes the symbol table: every label name and value of every series, sorted and
    /// without duplicates. Call once, before any series.
    ///
    /// Prometheus takes the symbols of its blocks from its in-memory postings, whose
    /// all-series key adds the empty string: include `""` to reproduce its files exactly.
    pub fn add_symbols<S: AsRef<str>>(
        &mut self,
        symbols: impl IntoIterator<Item = S>,
    ) -> Result<(), IndexError> {
        if self.symbols_written {
            return Err(IndexError::Stage(
                "symbols must be added once, before series",
            ));
        }
        for symbol in symbols {
            self.symbols.push(symbol.as_ref())?;
        }
        self.write_symbols()
    }

    /// Appends a series with its chunks and returns its ref. Series must come in strictly
    /// increasing label-set order; chunk refs must not decrease within or across series.
    pub fn add_series(
        &mut self,
        labels: &Labels,
        chunks: &[ChunkMeta],
    ) -> Result<SeriesRef, IndexError> {
        if !self.symbols_written {
            self.write_symbols()?;
        }
        self.series_symbols.clear();
        for label in labels.iter() {
            for s in [&label.name, &label.value] {
                let r = self
                    .symbols
                    .find(s)
                    .ok_or_else(|| IndexError::MissingSymbol(s.clone()))?;
                self.series_symbols.push(r);
            }
        }
        // An empty label set compares equal to "no previous series", as in Prometheus.
        if self.series_symbols <= self.last_series {
            return Err(IndexError::SeriesOutOfOrder {
                labels: labels.to_string(),
                last: self.labels_of(&self.last_series),
            });
        }
        let last_chunk_ref = self.check_chunks(labels, chunks)?;

        self.out.pad(SERIES_ALIGNMENT)?;
        let series_ref = u32::try_from(self.out.pos / SERIES_ALIGNMENT)
            .map_err(|_| IndexError::TooLarge("series section exceeds 64 GiB"))?;

        self.buf.clear();
        put_uvarint(&mut self.buf, labels.len() as u64);
        for &r in &self.series_symbols {
            put_uvarint(&mut self.buf, r as u64);
        }
        encode_chunks(&mut self.buf, chunks);
        let mut len = [0; MAX_UVARINT_LEN];
        let len = encode_uvarint(&mut len, self.buf.len() as u64);
        let crc = crc32c::crc32c(&self.buf);
        self.out.write(len)?;
        self.out.write(&self.buf)?;
        self.out.write(&crc.to_be_bytes())?;

        for pair in self.series_symbols.chunks_exact(2) {
            self.label_postings
                .entry(pair[0])
                .or_default()
                .push((pair[1], series_ref));
        }
        self.all_series.push(series_ref);
        std::mem::swap(&mut self.last_series, &mut self.series_symbols);
        self.last_chunk_ref = last_chunk_ref;
        Ok(series_ref as SeriesRef)
    }

    /// Writes label indices, postings, the offset tables and the TOC, flushes, and returns
    /// the underlying writer.
    pub fn finish(mut self) -> Result<W, IndexError> {
        if !self.symbols_written {
            self.write_symbols()?;
        }

        let mut names: Vec<u32> = self.label_postings.keys().copied().collect();
        names.sort_unstable();
        for postings in self.label_postings.values_mut() {
            // Series refs grow with insertion order, so this keeps each value's list sorted.
            postings.sort_unstable();
        }

        self.toc.label_indices = self.out.pos;
        let mut label_index_offsets = Vec::with_capacity(names.len());
        for &name in &names {
            label_index_offsets.push(self.out.pos_after_pad(SECTION_ALIGNMENT));
            self.write_label_index(name)?;
        }

        self.toc.postings = self.out.pos;
        self.out.pad(SECTION_ALIGNMENT)?;
        let mut offset_table = Vec::new();
        let mut entries = 1u32;
        let all = std::mem::take(&mut self.all_series);
        write_postings(
            &mut self.out,
            &mut self.buf,
            (b"", b""),
            &all,
            &mut offset_table,
        )?;
        drop(all);
        let mut refs = Vec::new();
        for &name in &names {
            let postings = self.label_postings.remove(&name).unwrap_or_default();
            for run in postings.chunk_by(|a, b| a.0 == b.0) {
                refs.clear();
                refs.extend(run.iter().map(|&(_, series)| series));
                let pair = (self.symbols.get(name), self.symbols.get(run[0].0));
                write_postings(&mut self.out, &mut self.buf, pair, &refs, &mut offset_table)?;
                entries += 1;
            }
        }

        self.toc.label_indices_table = self.out.pos;
        let mut table = Vec::new();
        table.extend_from_slice(&(names.len() as u32).to_be_bytes());
        for (&name, &offset) in names.iter().zip(&label_index_offsets) {
            put_uvarint(&mut table, 1);
            put_uvarint_bytes(&mut table, self.symbols.get(name));
            put_uvarint(&mut table, offset);
        }
        self.write_section(&table, "label offset table exceeds 4 GiB")?;

        self.toc.postings_table = self.out.pos;
        let mut table = Vec::with_capacity(4 + offset_table.len());
        table.extend_from_slice(&entries.to_be_bytes());
        table.extend_from_slice(&offset_table);
        drop(offset_table);
        self.write_section(&table, "postings offset table exceeds 4 GiB")?;

        let mut toc = Vec::with_capacity(52);
        for offset in [
            self.toc.symbols,
            self.toc.series,
            self.toc.label_indices,
            self.toc.label_indices_table,
            self.toc.postings,
            self.toc.postings_table,
        ] {
            toc.extend_from_slice(&offset.to_be_bytes());
        }
        toc.extend_from_slice(&crc32c::crc32c(&toc).to_be_bytes());
        self.out.write(&toc)?;
        self.out.inner.flush()?;
        Ok(self.out.inner)
    }

    /// Writes the symbol table from the arena: `len | count | symbols | CRC32`.
    fn write_symbols(&mut self) -> Result<(), IndexError> {
        self.toc.symbols = self.out.pos;
        let count = self.symbols.len() as u32;
        let body_len = 4
            + (0..count)
                .map(|i| {
                    let s = self.symbols.get(i).len();
                    (uvarint_len(s as u64) + s) as u64
                })
                .sum::<u64>();
        let body_len = u32::try_from(body_len)
            .map_err(|_| IndexError::TooLarge("symbol table exceeds 4 GiB"))?;
        self.out.write(&body_len.to_be_bytes())?;
        let mut crc = crc32c::crc32c(&count.to_be_bytes());
        self.out.write(&count.to_be_bytes())?;
        for i in 0..count {
            self.buf.clear();
            put_uvarint_bytes(&mut self.buf, self.symbols.get(i));
            crc = crc32c::crc32c_append(crc, &self.buf);
            self.out.write(&self.buf)?;
        }
        self.out.write(&crc.to_be_bytes())?;
        self.toc.series = self.out.pos;
        self.symbols_written = true;
        Ok(())
    }

    /// Checks the format's chunk ordering rules; returns the last chunk ref.
    fn check_chunks(&self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<u64, IndexError> {
        let invalid = |problem| IndexError::InvalidChunks {
            labels: labels.to_string(),
            problem,
        };
        let mut last_ref = self.last_chunk_ref;
        for (i, c) in chunks.iter().enumerate() {
            if c.chunk_ref < last_ref {
                return Err(invalid("unsorted chunk reference"));
            }
            if i > 0 && c.mint <= chunks[i - 1].maxt {
                return Err(invalid("chunk minT is not higher than previous chunk maxT"));
            }
            if c.maxt < c.mint {
                return Err(invalid("chunk maxT is less than minT"));
            }
            last_ref = c.chunk_ref;
        }
        Ok(last_ref)
    }

    /// A label index section for one name: `len | 1 | #values | value refs | CRC32`.
    fn write_label_index(&mut self, name: u32) -> Result<(), IndexError> {
        self.out.pad(SECTION_ALIGNMENT)?;
        let postings = &self.label_postings[&name];
        self.buf.clear();
        self.buf.extend_from_slice(&1u32.to_be_bytes());
        self.buf.extend_from_slice(&[0; 4]);
        let mut values = 0u32;
        for run in postings.chunk_by(|a, b| a.0 == b.0) {
            self.buf.extend_from_slice(&run[0].0.to_be_bytes());
            values += 1;
        }
        self.buf[4..8].copy_from_slice(&values.to_be_bytes());
        let body = std::mem::take(&mut self.buf);
        let written = self.write_section(&body, "label index exceeds 4 GiB");
        self.buf = body;
        written
    }

    /// Writes `len <4b> | body | CRC32`.
    fn write_section(&mut self, body: &[u8], too_large: &'static str) -> Result<(), IndexError> {
        let len = u32::try_from(body.len()).map_err(|_| IndexError::TooLarge(too_large))?;
        self.out.write(&len.to_be_bytes())?;
        self.out.write(body)?;
        self.out.write(&crc32c::crc32c(body).to_be_bytes())
    }

    fn labels_of(&self, symbols: &[u32]) -> String {
        Labels::from_pairs(symbols.chunks_exact(2).map(|p| {
            let text = |r| String::from_utf8_lossy(self.symbols.get(r)).into_owned();
            (text(p[0]), text(p[1]))
        }))
        .to_string()
    }
}

/// A postings list (`len | #refs | refs | CRC32`) and its offset table entry.
fn write_postings<W: Write>(
    out: &mut Output<W>,
    buf: &mut Vec<u8>,
    (name, value): (&[u8], &[u8]),
    refs: &[u32],
    offset_table: &mut Vec<u8>,
) -> Result<(), IndexError> {
    out.pad(SECTION_ALIGNMENT)?;
    put_uvarint(offset_table, 2);
    put_uvarint_bytes(offset_table, name);
    put_uvarint_bytes(offset_table, value);
    put_uvarint(offset_table, out.pos);

    let body_len = u32::try_from(4 + 4 * refs.len() as u64)
        .map_err(|_| IndexError::TooLarge("postings list exceeds 4 GiB"))?;
    out.write(&body_len.to_be_bytes())?;
    let count = (refs.len() as u32).to_be_bytes();
    let mut crc = crc32c::crc32c(&count);
    out.write(&count)?;
    for batch in refs.chunks(1024) {
        buf.clear();
        for r in batch {
            buf.extend_from_slice(&r.to_be_bytes());
        }
        crc = crc32c::crc32c_append(crc, buf);
        out.write(buf)?;
    }
    out.write(&crc.to_be_bytes())
}

/// Chunk metas: the first as `mint | maxt-mint | ref`, the rest as deltas to the previous
/// chunk (`mint-prev.maxt | maxt-mint | ref-prev.ref`).
fn encode_chunks(buf: &mut Vec<u8>, chunks: &[ChunkMeta]) {
    put_uvarint(buf, chunks.len() as u64);
    let Some((first, rest)) = chunks.split_first() else {
        return;
    };
    put_varint(buf, first.mint);
    put_uvarint(buf, first.maxt.wrapping_sub(first.mint) as u64);
    put_uvarint(buf, first.chunk_ref);
    let mut prev = first;
    for c in rest {
        put_uvarint(buf, c.mint.wrapping_sub(prev.maxt) as u64);
        put_uvarint(buf, c.maxt.wrapping_sub(c.mint) as u64);
        put_varint(buf, c.chunk_ref.wrapping_sub(prev.chunk_ref) as i64);
        prev = c;
    }
}

/// A writer that knows its position.
struct Output<W> {
    inner: W,
    pos: u64,
}

impl<W: Write> Output<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), IndexError> {
        self.inner.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn pos_after_pad(&self, alignment: u64) -> u64 {
        self.pos.next_multiple_of(alignment)
    }

    /// Zero bytes up to the next multiple of `alignment`.
    fn pad(&mut self, alignment: u64) -> Result<(), IndexError> {
        const ZEROS: [u8; SERIES_ALIGNMENT as usize] = [0; SERIES_ALIGNMENT as usize];
        let n = (self.pos_after_pad(alignment) - self.pos) as usize;
        self.write(&ZEROS[..n])
    }
}

/// The sorted symbols in one buffer: two allocations however many symbols there are.
#[derive(Default)]
struct SymbolArena {
    bytes: Vec<u8>,
    /// End offset in `bytes` of each symbol.
    ends: Vec<usize>,
}

impl SymbolArena {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, r: u32) -> &[u8] {
        let r = r as usize;
        let start = if r == 0 { 0 } else { self.ends[r - 1] };
        &self.bytes[start..self.ends[r]]
    }

    fn push(&mut self, symbol: &str) -> Result<(), IndexError> {
        if let Some(last) = self.len().checked_sub(1)
            && symbol.as_bytes() <= self.get(last as u32)
        {
            return Err(IndexError::SymbolOutOfOrder {
                symbol: symbol.to_string(),
            });
        }
        if self.len() >= u32::MAX as usize {
            return Err(IndexError::TooLarge("more than 2^32-1 symbols"));
        }
        self.bytes.extend_from_slice(symbol.as_bytes());
        self.ends.push(self.bytes.len());
        Ok(())
    }

    fn find(&self, symbol: &str) -> Option<u32> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid as u32).cmp(symbol.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }
}
