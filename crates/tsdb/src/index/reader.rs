//! Reading an index in place: symbols, series and postings are decoded from the bytes on
//! demand; only samples of the symbol table and of the postings offset table live on the
//! heap.

use super::encoding::{Decoder, section_at, truncated, uvarint_section_at};
use super::postings::{BoxPostings, ListPostings, Merge, Postings};
use super::{ChunkMeta, FORMAT_V2, IndexError, MAGIC_INDEX, SeriesRef, Toc};
use ember_model::Labels;
use std::cmp::Ordering;
use std::fs::File;
use std::path::Path;

const HEADER_LEN: usize = 5;
const TOC_LEN: usize = 6 * 8 + 4;
/// Keep every n-th entry of the symbol table and of each label name's values in the
/// postings offset table, as Prometheus does; a lookup decodes at most n-1 more entries.
const SAMPLE_EVERY: usize = 32;

/// An index file read from `B` (an mmap in production, a `Vec<u8>` in tests).
///
/// Strings and postings it returns borrow from `B`; nothing is copied.
pub struct IndexReader<B> {
    bytes: B,
    toc: Toc,
    symbols: Symbols,
    /// Every label name of the postings offset table, sorted, starting with the empty
    /// name of the all-postings list.
    names: Vec<LabelName>,
    /// Positions in the file of sampled postings offset table entries: every 32nd value
    /// of each label name, and its last one.
    samples: Vec<usize>,
    /// End of the postings offset table's entries (where its CRC starts).
    table_end: usize,
}

/// Where to find the symbols without holding them.
struct Symbols {
    /// Position in the file of every 32nd symbol.
    sampled: Vec<usize>,
    count: u32,
    /// End of the symbol table's entries (where its CRC starts).
    end: usize,
}

struct LabelName {
    /// Position and length of the name in the file.
    start: usize,
    len: usize,
    /// The name's symbol ref; `None` for the empty name.
    symbol: Option<u32>,
    /// This name's range in `IndexReader::samples`.
    first_sample: usize,
    end_sample: usize,
}

/// One entry of the postings offset table.
struct TableEntry<'a> {
    name: &'a [u8],
    /// Position of the name in the file.
    name_start: usize,
    value: &'a [u8],
    postings_offset: u64,
    /// Position of the following entry.
    next: usize,
}

impl IndexReader<memmap2::Mmap> {
    /// Maps the index file at `path` into memory and opens it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IndexError> {
        let file = File::open(path)?;
        // SAFETY: blocks are write-once: nothing writes to a finished index file, and its
        // owner keeps it from being truncated or removed while a reader maps it.
        let mmap = unsafe { memmap2::Mmap::map(&file)? };
        IndexReader::new(mmap)
    }
}

impl<B: AsRef<[u8]>> IndexReader<B> {
    /// Opens the index in `bytes`: checks the header and the TOC, and samples the symbol
    /// table and the postings offset table (verifying their checksums).
    pub fn new(bytes: B) -> Result<Self, IndexError> {
        let data = bytes.as_ref();
        if data.len() < HEADER_LEN + TOC_LEN {
            return Err(truncated("index header"));
        }
        let magic = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        if magic != MAGIC_INDEX {
            return Err(IndexError::BadMagic(magic));
        }
        if data[4] != FORMAT_V2 {
            return Err(IndexError::UnsupportedVersion(data[4]));
        }
        let toc = read_toc(data)?;
        let symbols = read_symbols(data, position(toc.symbols, data)?)?;
        let table = sample_postings_table(data, position(toc.postings_table, data)?)?;
        let mut reader = IndexReader {
            toc,
            symbols,
            names: table.names,
            samples: table.samples,
            table_end: table.end,
            bytes,
        };
        for i in 0..reader.names.len() {
            let name = &reader.names[i];
            if name.len == 0 {
                continue;
            }
            let text = reader.name_str(name);
            let symbol = reader.symbol_ref(text)?.ok_or(IndexError::Corrupt {
                section: TABLE,
                problem: "label name missing from the symbol table",
            })?;
            reader.names[i].symbol = Some(symbol);
        }
        Ok(reader)
    }

    fn data(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// The table of contents.
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Heap bytes the reader keeps to find symbols and postings (the rest stays in the
    /// mapped file): Prometheus's `prometheus_tsdb_symbol_table_size_bytes` per block.
    pub fn lookup_table_bytes(&self) -> usize {
        let word = std::mem::size_of::<usize>();
        (self.symbols.sampled.len() + self.samples.len()) * word
            + self.names.len() * std::mem::size_of::<LabelName>()
    }

    /// Number of symbols.
    pub fn symbol_count(&self) -> u32 {
        self.symbols.count
    }

    /// The symbol `r` refers to.
    pub fn symbol(&self, r: u32) -> Result<&str, IndexError> {
        if r >= self.symbols.count {
            return Err(IndexError::UnknownSymbol(r));
        }
        let r = r as usize;
        let start = self.symbols.sampled[r / SAMPLE_EVERY];
        let mut d = Decoder::new(&self.data()[start..self.symbols.end], "symbols");
        for _ in 0..r % SAMPLE_EVERY {
            d.uvarint_bytes()?;
        }
        d.uvarint_str()
    }

    /// The ref of `symbol`, if the table holds it (binary search).
    pub fn symbol_ref(&self, symbol: &str) -> Result<Option<u32>, IndexError> {
        let data = self.data();
        let end = self.symbols.end;
        let first_of = |sample: usize| {
            Decoder::new(&data[self.symbols.sampled[sample]..end], "symbols").uvarint_bytes()
        };
        let after = partition_point(self.symbols.sampled.len(), |i| {
            Ok(first_of(i)? <= symbol.as_bytes())
        })?;
        let Some(sample) = after.checked_sub(1) else {
            return Ok(None);
        };
        let mut d = Decoder::new(&data[self.symbols.sampled[sample]..end], "symbols");
        let first = sample * SAMPLE_EVERY;
        let last = (first + SAMPLE_EVERY).min(self.symbols.count as usize);
        for r in first..last {
            match d.uvarint_bytes()?.cmp(symbol.as_bytes()) {
                Ordering::Less => {}
                Ordering::Equal => return Ok(Some(r as u32)),
                Ordering::Greater => break,
            }
        }
        Ok(None)
    }

    /// All symbols in order.
    pub fn symbols(&self) -> SymbolIter<'_> {
        let start = self
            .symbols
            .sampled
            .first()
            .copied()
            .unwrap_or(self.symbols.end);
        SymbolIter {
            decoder: Decoder::new(&self.data()[start..self.symbols.end], "symbols"),
            left: self.symbols.count,
        }
    }

    /// The sorted label names of all series.
    pub fn label_names(&self) -> Vec<&str> {
        self.names
            .iter()
            .filter(|n| n.symbol.is_some())
            .map(|n| self.name_str(n))
            .collect()
    }

    /// The sorted values of label `name` (empty when no series has it).
    pub fn label_values(&self, name: &str) -> Result<Vec<&str>, IndexError> {
        let mut values = Vec::new();
        if let Some(entry) = self.label_name(name).filter(|_| !name.is_empty()) {
            for e in self.table_scan(entry, 0) {
                values.push(entry_value(&e?)?);
            }
        }
        Ok(values)
    }

    /// The refs of all series, in label order.
    pub fn all_postings(&self) -> Result<ListPostings<'_>, IndexError> {
        self.postings_list("", "")
    }

    /// The refs of the series with label `name` set to `value`. The empty name and value
    /// are Prometheus's key for all series.
    pub fn postings_list(&self, name: &str, value: &str) -> Result<ListPostings<'_>, IndexError> {
        let mut offset = None;
        self.find_values(name, [value.as_bytes()], |o| offset = Some(o))?;
        match offset {
            Some(o) => self.list_at(o),
            None => Ok(ListPostings::empty()),
        }
    }

    /// The refs of the series with label `name` set to any of `values`, merged. Sorted
    /// values are looked up in one forward scan; other orders work too.
    pub fn postings<S: AsRef<str>>(
        &self,
        name: &str,
        values: &[S],
    ) -> Result<BoxPostings<'_>, IndexError> {
        let mut offsets = Vec::with_capacity(values.len());
        let values = values.iter().map(|v| v.as_ref().as_bytes());
        self.find_values(name, values, |o| offsets.push(o))?;
        self.merge_lists(offsets)
    }

    /// `postings` in label-set order. Refs of a block index are already in that order
    /// (they are offsets of series written in label order), so this returns its argument;
    /// it exists so that queriers state the order they rely on, as with Prometheus's
    /// `SortedPostings`.
    pub fn sorted_postings<P: Postings>(&self, postings: P) -> P {
        postings
    }

    /// The labels and chunks of series `r`.
    pub fn series(&self, r: SeriesRef) -> Result<(Labels, Vec<ChunkMeta>), IndexError> {
        let mut labels = Vec::new();
        let mut chunks = Vec::new();
        self.series_into(r, &mut labels, &mut chunks)?;
        Ok((Labels::from_pairs(labels), chunks))
    }

    /// Decodes series `r` into reusable buffers (cleared first): label pairs borrowed from
    /// the index, in name order, and chunk metas.
    pub fn series_into<'a>(
        &'a self,
        r: SeriesRef,
        labels: &mut Vec<(&'a str, &'a str)>,
        chunks: &mut Vec<ChunkMeta>,
    ) -> Result<(), IndexError> {
        labels.clear();
        chunks.clear();
        let offset = r
            .checked_mul(16)
            .filter(|&o| o >= self.toc.series && o < self.toc.label_indices)
            .ok_or(IndexError::InvalidSeriesRef(r))?;
        let body = uvarint_section_at(self.data(), offset as usize, "series")?;
        let mut d = Decoder::new(body, "series");
        let symbol = |d: &mut Decoder| {
            u32::try_from(d.uvarint()?).map_err(|_| IndexError::Corrupt {
                section: "series",
                problem: "symbol ref exceeds 32 bits",
            })
        };
        for _ in 0..d.uvarint()? {
            let name = self.name_by_symbol(symbol(&mut d)?)?;
            let value = self.symbol(symbol(&mut d)?)?;
            labels.push((name, value));
        }
        let n_chunks = d.uvarint()?;
        if n_chunks == 0 {
            return Ok(());
        }
        let mint = d.varint()?;
        let maxt = mint.wrapping_add(d.uvarint()? as i64);
        let chunk_ref = d.uvarint()?;
        let mut prev = ChunkMeta {
            mint,
            maxt,
            chunk_ref,
        };
        chunks.push(prev);
        for _ in 1..n_chunks {
            let mint = prev.maxt.wrapping_add(d.uvarint()? as i64);
            let maxt = mint.wrapping_add(d.uvarint()? as i64);
            let chunk_ref = prev.chunk_ref.wrapping_add(d.varint()? as u64);
            prev = ChunkMeta {
                mint,
                maxt,
                chunk_ref,
            };
            chunks.push(prev);
        }
        Ok(())
    }

    /// The postings list stored at `offset`.
    fn list_at(&self, offset: u64) -> Result<ListPostings<'_>, IndexError> {
        let body = section_at(self.data(), position(offset, self.data())?, "postings")?;
        let mut d = Decoder::new(body, "postings");
        let count = d.be32()? as usize;
        let (refs, rest) = body[4..].as_chunks::<4>();
        if refs.len() != count || !rest.is_empty() {
            return Err(IndexError::Corrupt {
                section: "postings",
                problem: "entry count does not match length",
            });
        }
        Ok(ListPostings::new(refs))
    }

    /// One postings iterator over the lists at `offsets`.
    pub(super) fn merge_lists(&self, offsets: Vec<u64>) -> Result<BoxPostings<'_>, IndexError> {
        if let [offset] = offsets[..] {
            return Ok(Box::new(self.list_at(offset)?));
        }
        let lists = offsets
            .into_iter()
            .map(|o| self.list_at(o))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(match lists.len() {
            0 => Box::new(ListPostings::empty()),
            _ => Box::new(Merge::new(lists)),
        })
    }

    /// Calls `found` with the postings offset of each of `values` that label `name` has.
    pub(super) fn find_values<'v>(
        &self,
        name: &str,
        values: impl IntoIterator<Item = &'v [u8]>,
        mut found: impl FnMut(u64),
    ) -> Result<(), IndexError> {
        let Some(entry) = self.label_name(name) else {
            return Ok(());
        };
        let samples = &self.samples[entry.first_sample..entry.end_sample];
        let last = samples[samples.len() - 1];
        // Where the previous value's scan stopped; later values continue from there.
        let mut resume: Option<(usize, &[u8])> = None;
        for value in values {
            let after = partition_point(samples.len(), |i| {
                Ok(self.table_entry(samples[i])?.value <= value)
            })?;
            let Some(sample) = after.checked_sub(1) else {
                continue;
            };
            let mut pos = match resume {
                Some((pos, previous)) if previous <= value => pos.max(samples[sample]),
                _ => samples[sample],
            };
            while pos <= last {
                let e = self.table_entry(pos)?;
                match e.value.cmp(value) {
                    Ordering::Less => pos = e.next,
                    Ordering::Equal => {
                        found(e.postings_offset);
                        pos = e.next;
                        break;
                    }
                    Ordering::Greater => break,
                }
            }
            resume = Some((pos, value));
        }
        Ok(())
    }

    /// Calls `found` with the postings offset of each value of `name` starting with
    /// `prefix`, found by binary search and a scan of just those values.
    pub(super) fn find_prefixed(
        &self,
        name: &str,
        prefix: &[u8],
        mut found: impl FnMut(u64),
    ) -> Result<(), IndexError> {
        let Some(entry) = self.label_name(name) else {
            return Ok(());
        };
        let samples = &self.samples[entry.first_sample..entry.end_sample];
        let below = partition_point(samples.len(), |i| {
            Ok(self.table_entry(samples[i])?.value < prefix)
        })?;
        for e in self.table_scan(entry, below.saturating_sub(1)) {
            let e = e?;
            if e.value.starts_with(prefix) {
                found(e.postings_offset);
            } else if e.value > prefix {
                break;
            }
        }
        Ok(())
    }

    /// Calls `found` with the postings offset of each value of `name` for which `keep`
    /// holds, scanning all of the name's values.
    pub(super) fn find_matching(
        &self,
        name: &str,
        mut keep: impl FnMut(&str) -> bool,
        mut found: impl FnMut(u64),
    ) -> Result<(), IndexError> {
        if let Some(entry) = self.label_name(name) {
            for e in self.table_scan(entry, 0) {
                let e = e?;
                if keep(entry_value(&e)?) {
                    found(e.postings_offset);
                }
            }
        }
        Ok(())
    }

    /// A name of the postings offset table (the empty one is that of the all-postings list).
    fn label_name(&self, name: &str) -> Option<&LabelName> {
        if name.is_empty() {
            return self
                .names
                .first()
                .filter(|n| n.symbol.is_none() && n.len == 0);
        }
        self.names
            .binary_search_by(|n| self.name_bytes(n).cmp(name.as_bytes()))
            .ok()
            .map(|i| &self.names[i])
    }

    fn name_bytes(&self, n: &LabelName) -> &[u8] {
        &self.data()[n.start..n.start + n.len]
    }

    fn name_str(&self, n: &LabelName) -> &str {
        // Checked to be UTF-8 when the table was sampled.
        std::str::from_utf8(self.name_bytes(n)).unwrap_or_default()
    }

    /// Label names are few and appear in every series: find them among the sampled names
    /// rather than walking the symbol table.
    fn name_by_symbol(&self, r: u32) -> Result<&str, IndexError> {
        match self.names.binary_search_by_key(&Some(r), |n| n.symbol) {
            Ok(i) => Ok(self.name_str(&self.names[i])),
            Err(_) => self.symbol(r),
        }
    }

    fn table_entry(&self, pos: usize) -> Result<TableEntry<'_>, IndexError> {
        table_entry(&self.data()[..self.table_end], pos)
    }

    /// Entries of one label name from its `sample`-th sample to its last value.
    fn table_scan(&self, name: &LabelName, sample: usize) -> TableScan<'_, B> {
        TableScan {
            reader: self,
            pos: self.samples[name.first_sample + sample],
            last: self.samples[name.end_sample - 1],
        }
    }
}

const TABLE: &str = "postings offset table";

/// The sampled postings offset table.
struct SampledTable {
    names: Vec<LabelName>,
    samples: Vec<usize>,
    end: usize,
}

/// Walks the postings offset table once: checks that it is sorted and that names are
/// UTF-8, and keeps every 32nd value of each name plus its last one.
fn sample_postings_table(data: &[u8], table: usize) -> Result<SampledTable, IndexError> {
    let body = section_at(data, table, TABLE)?;
    let body_start = table + 4;
    let end = body_start + body.len();
    let entries = &data[..end];
    let count = Decoder::new(body, TABLE).be32()?;
    let mut names: Vec<LabelName> = Vec::new();
    let mut samples = Vec::new();
    // The previous entry: its position, name, value, and whether it was sampled.
    let mut previous: Option<(usize, &[u8], &[u8], bool)> = None;
    let mut values_of_name = 0;
    let mut pos = body_start + 4;
    for _ in 0..count {
        let e = table_entry(entries, pos)?;
        let new_name = match previous {
            None => true,
            Some((_, name, value, _)) => match name.cmp(e.name) {
                Ordering::Less => true,
                Ordering::Equal if value < e.value => false,
                _ => {
                    return Err(IndexError::Corrupt {
                        section: TABLE,
                        problem: "entries are not sorted",
                    });
                }
            },
        };
        if new_name {
            if let Some((last_pos, _, _, false)) = previous {
                samples.push(last_pos);
            }
            if let Some(n) = names.last_mut() {
                n.end_sample = samples.len();
            }
            std::str::from_utf8(e.name).map_err(|_| IndexError::Corrupt {
                section: TABLE,
                problem: "label name is not valid UTF-8",
            })?;
            names.push(LabelName {
                start: e.name_start,
                len: e.name.len(),
                symbol: None,
                first_sample: samples.len(),
                end_sample: 0,
            });
            values_of_name = 0;
        }
        let sampled = values_of_name % SAMPLE_EVERY == 0;
        if sampled {
            samples.push(pos);
        }
        values_of_name += 1;
        previous = Some((pos, e.name, e.value, sampled));
        pos = e.next;
    }
    if let Some((last_pos, _, _, false)) = previous {
        samples.push(last_pos);
    }
    if let Some(n) = names.last_mut() {
        n.end_sample = samples.len();
    }
    Ok(SampledTable {
        names,
        samples,
        end,
    })
}

/// Decodes the postings offset table entry at `pos`; `entries` ends where the table's
/// entries end.
fn table_entry(entries: &[u8], pos: usize) -> Result<TableEntry<'_>, IndexError> {
    let mut d = Decoder::new(entries.get(pos..).ok_or(truncated(TABLE))?, TABLE);
    if d.uvarint()? != 2 {
        return Err(IndexError::Corrupt {
            section: TABLE,
            problem: "entry does not have 2 keys",
        });
    }
    let name = d.uvarint_bytes()?;
    let name_start = entries.len() - d.remaining() - name.len();
    let value = d.uvarint_bytes()?;
    let postings_offset = d.uvarint()?;
    Ok(TableEntry {
        name,
        name_start,
        value,
        postings_offset,
        next: entries.len() - d.remaining(),
    })
}

fn entry_value<'a>(e: &TableEntry<'a>) -> Result<&'a str, IndexError> {
    std::str::from_utf8(e.value).map_err(|_| IndexError::Corrupt {
        section: TABLE,
        problem: "label value is not valid UTF-8",
    })
}

/// Entries of one label name, in order.
struct TableScan<'a, B> {
    reader: &'a IndexReader<B>,
    pos: usize,
    /// Position of the name's last entry.
    last: usize,
}

impl<'a, B: AsRef<[u8]>> Iterator for TableScan<'a, B> {
    type Item = Result<TableEntry<'a>, IndexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos > self.last {
            return None;
        }
        let entry = self.reader.table_entry(self.pos);
        self.pos = match &entry {
            Ok(e) => e.next,
            Err(_) => usize::MAX,
        };
        Some(entry)
    }
}

/// All symbols of an index, in order.
pub struct SymbolIter<'a> {
    decoder: Decoder<'a>,
    left: u32,
}

impl<'a> Iterator for SymbolIter<'a> {
    type Item = Result<&'a str, IndexError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        let symbol = self.decoder.uvarint_str();
        if symbol.is_err() {
            self.left = 0;
        }
        Some(symbol)
    }
}

/// The first index in `0..n` for which `below` is false, `below` being true then false.
fn partition_point(
    n: usize,
    mut below: impl FnMut(usize) -> Result<bool, IndexError>,
) -> Result<usize, IndexError> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(mid)? {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

fn position(offset: u64, data: &[u8]) -> Result<usize, IndexError> {
    usize::try_from(offset)
        .ok()
        .filter(|&p| p < data.len())
        .ok_or(IndexError::Corrupt {
            section: "TOC",
            problem: "offset beyond the end of the file",
        })
}

fn read_toc(data: &[u8]) -> Result<Toc, IndexError> {
    let toc = &data[data.len() - TOC_LEN..];
    let (fields, crc) = toc.split_at(TOC_LEN - 4);
    if crc32c::crc32c(fields) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(IndexError::Checksum { section: "TOC" });
    }
    let mut d = Decoder::new(fields, "TOC");
    Ok(Toc {
        symbols: d.be64()?,
        series: d.be64()?,
        label_indices: d.be64()?,
        label_indices_table: d.be64()?,
        postings: d.be64()?,
        postings_table: d.be64()?,
    })
}

/// Walks the symbol table once, keeping the position of every 32nd symbol.
fn read_symbols(data: &[u8], table: usize) -> Result<Symbols, IndexError> {
    let body = section_at(data, table, "symbols")?;
    let body_start = table + 4;
    let mut d = Decoder::new(body, "symbols");
    let count = d.be32()?;
    // Every symbol takes at least a byte: a corrupt count cannot make us over-allocate.
    let mut sampled = Vec::with_capacity((count as usize).min(body.len()) / SAMPLE_EVERY + 1);
    for i in 0..count as usize {
        if i % SAMPLE_EVERY == 0 {
            sampled.push(body_start + body.len() - d.remaining());
        }
        d.uvarint_bytes()?;
    }
    Ok(Symbols {
        sampled,
        count,
        end: body_start + body.len(),
    })
}
