//! `ember tsdb list|analyze|dump`: promtool's read-only inspection commands for the blocks
//! of a data directory, with promtool 2.42's output layout.
//!
//! - `list`: one line per block from its `meta.json`, plus the block's size (index,
//!   chunks, tombstones and `meta.json`, as Prometheus counts it), in Go tabwriter columns.
//! - `analyze`: one block's series, label names and label pairs, with its top-N churn and
//!   cardinality lists, computed from the index (churn from the first and last chunk of
//!   each series).
//! - `dump`: every sample of the blocks as `{labels} value timestamp` lines: series in
//!   label order, each series' samples merged across blocks by timestamp, tombstoned
//!   samples skipped.
//!
//! Blocks are read directly through the index, chunk and tombstones readers, so the tools
//! never open (or lock) the database and are safe on a live data directory. The head (WAL
//! and `chunks_head`) is not read: `dump` shows only persisted blocks, whereas promtool
//! also replays the WAL.

use crate::cli::Tsdb;
use anyhow::{Context, anyhow, bail};
use ember_exposition::format_float;
use ember_model::{METRIC_NAME, Matcher};
use ember_tsdb::BlockMeta;
use ember_tsdb::chunkenc::{ChunkIterator, ValueType};
use ember_tsdb::chunks::{ChunkReader, ChunkRef};
use ember_tsdb::index::{ChunkMeta, IndexReader, SeriesRef};
use ember_tsdb::tombstones::{TOMBSTONES_FILENAME, Tombstones, read_tombstones};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs one `ember tsdb` command, writing its report to stdout and any error to stderr.
pub(crate) fn run(command: Tsdb) -> ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let result = match command {
        Tsdb::List {
            human_readable,
            dir,
        } => list(&dir, human_readable, &mut out),
        Tsdb::Analyze {
            dir,
            block_id,
            limit,
        } => analyze(&dir, block_id.as_deref(), limit, &mut out),
        Tsdb::Dump {
            dir,
            min_time,
            max_time,
            selectors,
        } => dump(&dir, min_time, max_time, &selectors, &mut out),
    };
    match result.and_then(|()| Ok(out.flush()?)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`ember tsdb dump | head`): not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// A block directory and its metadata.
struct BlockDir {
    path: PathBuf,
    meta: BlockMeta,
}

/// The blocks of data directory `dir` (subdirectories named by a ULID), oldest first by
/// min time, as Prometheus orders them.
fn read_blocks(dir: &Path) -> anyhow::Result<Vec<BlockDir>> {
    let mut blocks = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("open {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("read {}", dir.display()))?;
        let is_block = entry.file_type().is_ok_and(|t| t.is_dir())
            && entry.file_name().to_str().is_some_and(is_ulid);
        if !is_block {
            continue;
        }
        let path = entry.path();
        let file = path.join("meta.json");
        let meta = BlockMeta::read(&path).with_context(|| format!("read {}", file.display()))?;
        if meta.version != 1 {
            bail!(
                "{}: unexpected meta file version {}",
                file.display(),
                meta.version
            );
        }
        blocks.push(BlockDir { path, meta });
    }
    blocks.sort_by(|a, b| (a.meta.min_time, &a.meta.ulid).cmp(&(b.meta.min_time, &b.meta.ulid)));
    Ok(blocks)
}

/// Whether `name` is a ULID: 26 Crockford base-32 digits, the first at most 7 (128 bits).
fn is_ulid(name: &str) -> bool {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    name.len() == 26
        && name.as_bytes()[0] <= b'7'
        && name
            .bytes()
            .all(|b| DIGITS.contains(&b.to_ascii_uppercase()))
}

/// The block's size as Prometheus reports it: index, chunk segments, tombstones and
/// `meta.json` (other files, such as a leftover `.tmp`, do not count).
fn block_size(block: &Path) -> anyhow::Result<u64> {
    let size_of = |path: PathBuf| -> anyhow::Result<u64> {
        match std::fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e)
                if e.kind() == io::ErrorKind::NotFound && path.ends_with(TOMBSTONES_FILENAME) =>
            {
                Ok(0)
            }
            Err(e) => Err(e).with_context(|| format!("stat {}", path.display())),
        }
    };
    let mut size = size_of(block.join("index"))?
        + size_of(block.join(TOMBSTONES_FILENAME))?
        + size_of(block.join("meta.json"))?;
    let chunks = block.join("chunks");
    for entry in std::fs::read_dir(&chunks).with_context(|| format!("open {}", chunks.display()))? {
        let entry = entry.with_context(|| format!("read {}", chunks.display()))?;
        let is_segment = entry
            .file_name()
            .to_str()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if is_segment {
            size += size_of(entry.path())?;
        }
    }
    Ok(size)
}

/// `ember tsdb list`.
fn list(dir: &Path, human_readable: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let mut rows = vec![
        [
            "BLOCK ULID",
            "MIN TIME",
            "MAX TIME",
            "DURATION",
            "NUM SAMPLES",
            "NUM CHUNKS",
            "NUM SERIES",
            "SIZE",
        ]
        .map(String::from),
    ];
    for block in read_blocks(dir)? {
        let meta = &block.meta;
        let size = block_size(&block.path)?;
        let time = |ms: i64| {
            if human_readable {
                go_utc_time(ms)
            } else {
                ms.to_string()
            }
        };
        rows.push([
            meta.ulid.clone(),
            time(meta.min_time),
            time(meta.max_time),
            go_duration(meta.max_time.wrapping_sub(meta.min_time)),
            meta.stats.num_samples.to_string(),
            meta.stats.num_chunks.to_string(),
            meta.stats.num_series.to_string(),
            if human_readable {
                go_base2_bytes(size)
            } else {
                size.to_string()
            },
        ]);
    }
    write_columns(out, &rows)
}

/// Writes `rows` as Go's `tabwriter.NewWriter(w, 13, 0, 2, ' ', 0)` does (promtool's
/// settings): every cell but the last of a row padded to its column's widest cell plus
/// two spaces, at least 13 characters.
fn write_columns<const N: usize>(out: &mut impl Write, rows: &[[String; N]]) -> anyhow::Result<()> {
    const MIN_WIDTH: usize = 13;
    const PADDING: usize = 2;
    let mut widths = [MIN_WIDTH; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count() + PADDING);
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < N {
                let _ = write!(line, "{cell:<width$}", width = widths[i]);
            } else {
                line.push_str(cell);
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Blocks at least this large report analysis progress on a terminal.
const PROGRESS_MIN_SERIES: u64 = 100_000;
/// Series between two progress reports.
const PROGRESS_EVERY: usize = 10_000;

/// `ember tsdb analyze`.
fn analyze(
    dir: &Path,
    block_id: Option<&str>,
    limit: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let blocks = read_blocks(dir)?;
    let block = match block_id {
        Some(id) => blocks
            .iter()
            .find(|b| b.meta.ulid == id)
            .ok_or_else(|| anyhow!("block {id} not found"))?,
        None => blocks.last().ok_or_else(|| anyhow!("no blocks found"))?,
    };
    let meta = &block.meta;
    let span = meta.max_time.wrapping_sub(meta.min_time);
    writeln!(out, "Block ID: {}", meta.ulid)?;
    writeln!(out, "Duration: {}", go_duration(span))?;
    writeln!(out, "Series: {}", meta.stats.num_series)?;
    let index_path = block.path.join("index");
    let index =
        IndexReader::open(&index_path).with_context(|| format!("open {}", index_path.display()))?;
    let names = index.label_names();
    writeln!(out, "Label names: {}", names.len())?;

    // Per label pair and name: how much of the block's time range its series do not
    // cover (summed, in ms), which is what promtool calls churn.
    let mut pair_uncovered: HashMap<(&str, &str), u64> = HashMap::new();
    let mut name_uncovered: HashMap<&str, u64> = HashMap::new();
    let mut pair_series: HashMap<(&str, &str), u64> = HashMap::new();
    let mut entries = 0u64;
    let (mut labels, mut chunks) = (Vec::new(), Vec::new());
    let show_progress = meta.stats.num_series >= PROGRESS_MIN_SERIES && io::stderr().is_terminal();
    for (n, series_ref) in index.all_postings()?.enumerate() {
        index.series_into(series_ref, &mut labels, &mut chunks)?;
        let covered = match (chunks.first(), chunks.last()) {
            (Some(first), Some(last)) => last.maxt.wrapping_sub(first.mint),
            _ => 0,
        };
        // Unsigned and wrapping, as promtool computes it.
        let uncovered = (span as u64).wrapping_sub(covered as u64);
        for &(name, value) in &labels {
            let pair = pair_uncovered.entry((name, value)).or_default();
            *pair = pair.wrapping_add(uncovered);
            let by_name = name_uncovered.entry(name).or_default();
            *by_name = by_name.wrapping_add(uncovered);
            *pair_series.entry((name, value)).or_default() += 1;
            entries += 1;
        }
        if show_progress && n % PROGRESS_EVERY == 0 {
            eprint!("\ranalyzed {n}/{} series", meta.stats.num_series);
        }
    }
    if show_progress {
        eprintln!("\ranalyzed {0}/{0} series", meta.stats.num_series);
    }
    writeln!(out, "Postings (unique label pairs): {}", pair_series.len())?;
    writeln!(out, "Postings entries (total label pairs): {entries}")?;

    let churn = |uncovered: u64| (uncovered as f64 / span as f64) as u64;
    let pair_key = |(name, value): (&str, &str)| format!("{name}={value}");
    let top = TopList { limit };
    top.write(
        out,
        "Label pairs most involved in churning",
        pair_uncovered
            .iter()
            .map(|(&pair, &u)| (pair_key(pair), churn(u))),
    )?;
    top.write(
        out,
        "Label names most involved in churning",
        name_uncovered
            .iter()
            .map(|(&name, &u)| (name.to_string(), churn(u))),
    )?;
    top.write(
        out,
        "Most common label pairs",
        pair_series.iter().map(|(&pair, &n)| (pair_key(pair), n)),
    )?;
    let mut value_lengths = Vec::with_capacity(names.len());
    let mut cardinalities = Vec::with_capacity(names.len());
    for &name in &names {
        let values = index.label_values(name)?;
        let length: usize = values.iter().map(|v| v.len()).sum();
        value_lengths.push((name.to_string(), length as u64));
        cardinalities.push((name.to_string(), values.len() as u64));
    }
    top.write(
        out,
        "Label names with highest cumulative label value length",
        value_lengths,
    )?;
    top.write(out, "Highest cardinality labels", cardinalities)?;
    let mut per_metric = Vec::new();
    for name in index.label_values(METRIC_NAME)? {
        let series = index.postings_list(METRIC_NAME, name)?.count();
        per_metric.push((name.to_string(), series as u64));
    }
    top.write(out, "Highest cardinality metric names", per_metric)
}

/// One of analyze's top-N sections.
struct TopList {
    limit: usize,
}

impl TopList {
    /// Writes the title and the `limit` highest `count key` lines. promtool leaves the
    /// order of equal counts unspecified; here they are in key order.
    fn write(
        &self,
        out: &mut impl Write,
        title: &str,
        entries: impl IntoIterator<Item = (String, u64)>,
    ) -> anyhow::Result<()> {
        let mut entries: Vec<_> = entries.into_iter().collect();
        entries.sort_unstable_by(|(ka, a), (kb, b)| b.cmp(a).then_with(|| ka.cmp(kb)));
        writeln!(out, "\n{title}:")?;
        for (key, count) in entries.iter().take(self.limit) {
            writeln!(out, "{count} {key}")?;
        }
        Ok(())
    }
}

/// `ember tsdb dump`.
fn dump(
    dir: &Path,
    min_time: i64,
    max_time: i64,
    selectors: &[String],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let matcher_sets = selectors
        .iter()
        .map(|s| ember_promql::parse_series_selector(s).with_context(|| format!("--match {s}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Blocks overlapping [min_time, max_time] (a block's max time is exclusive).
    let blocks: Vec<BlockDir> = read_blocks(dir)?
        .into_iter()
        .filter(|b| b.meta.min_time <= max_time && min_time < b.meta.max_time)
        .collect();
    let mut indexes = Vec::with_capacity(blocks.len());
    let mut sources = Vec::with_capacity(blocks.len());
    for block in &blocks {
        let path = block.path.join("index");
        indexes.push(IndexReader::open(&path).with_context(|| format!("open {}", path.display()))?);
        let path = block.path.join("chunks");
        let chunks =
            ChunkReader::open(&path).with_context(|| format!("open {}", path.display()))?;
        let (tombstones, _) = read_tombstones(&block.path)?;
        sources.push(Samples {
            chunks,
            tombstones,
            min_time,
            max_time,
        });
    }
    let mut cursors = Vec::with_capacity(blocks.len());
    for index in &indexes {
        let refs = if matcher_sets.is_empty() {
            index.all_postings()?.collect()
        } else {
            selected_refs(index, &matcher_sets)?
        };
        cursors.push(SeriesCursor::new(index, refs)?);
    }

    // The head, as promtool shows it too: replayed from the WAL without writing.
    let head = head_series(dir, &matcher_sets, min_time, max_time)?;
    let mut head = head
        .iter()
        .map(|s| {
            let pairs: Vec<(&str, &str)> = s
                .labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect();
            (pairs, &s.samples)
        })
        .peekable();

    let mut samples = Vec::new();
    // The smallest label set any block or the head is at: that series' turn.
    while let Some(labels) = cursors
        .iter()
        .filter_map(SeriesCursor::labels)
        .map(<[_]>::to_vec)
        .chain(head.peek().map(|(pairs, _)| pairs.clone()))
        .min()
    {
        samples.clear();
        let mut blocks_with_series = 0;
        for (cursor, source) in cursors.iter_mut().zip(&sources) {
            if cursor.labels() == Some(&labels[..]) {
                source.read(cursor.series_ref, &cursor.chunks, &mut samples)?;
                blocks_with_series += 1;
                cursor.advance()?;
            }
        }
        if let Some((_, head_samples)) = head.next_if(|(pairs, _)| *pairs == labels) {
            samples.extend_from_slice(head_samples);
            blocks_with_series += 1;
        }
        if blocks_with_series > 1 {
            // Overlapping blocks may hold the same sample twice: keep one, as
            // Prometheus's merge does.
            samples.sort_by_key(|&(t, _)| t);
            samples.dedup_by_key(|&mut (t, _)| t);
        }
        let labels = go_labels_string(&labels);
        for &(t, v) in &samples {
            writeln!(out, "{labels} {} {t}", format_float(v))?;
        }
    }
    Ok(())
}

/// The head's series in `[min_time, max_time]` that any of `matcher_sets` selects (all
/// without sets), sorted by labels; none when there is no WAL.
fn head_series(
    dir: &Path,
    matcher_sets: &[Vec<Matcher>],
    min_time: i64,
    max_time: i64,
) -> anyhow::Result<Vec<ember_storage::Series>> {
    use ember_storage::Queryable;
    let wal_dir = dir.join("wal");
    if !wal_dir.is_dir() {
        return Ok(Vec::new());
    }
    let (head, stats) = ember_tsdb::Head::read_only(&wal_dir)
        .with_context(|| format!("read {}", wal_dir.display()))?;
    if let Some(note) = stats.repaired {
        eprintln!("WAL: {note}");
    }
    let querier = head.querier(min_time, max_time)?;
    let all = [Matcher::new(
        ember_model::MatchType::Regex,
        METRIC_NAME,
        ".*",
    )?];
    let sets = if matcher_sets.is_empty() {
        vec![all.to_vec()]
    } else {
        matcher_sets.to_vec()
    };
    let mut series: Vec<ember_storage::Series> = Vec::new();
    for matchers in &sets {
        series.extend(querier.select_all(matchers)?);
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    series.dedup_by(|a, b| a.labels == b.labels);
    Ok(series)
}

/// The refs of the series any of `matcher_sets` selects, sorted (so in label order).
fn selected_refs<B: AsRef<[u8]>>(
    index: &IndexReader<B>,
    matcher_sets: &[Vec<Matcher>],
) -> anyhow::Result<Vec<SeriesRef>> {
    let mut refs = Vec::new();
    for matchers in matcher_sets {
        refs.extend(index.postings_for_matchers(matchers)?);
    }
    refs.sort_unstable();
    refs.dedup();
    Ok(refs)
}

/// Walks the selected series of one block in label order.
struct SeriesCursor<'a, B> {
    index: &'a IndexReader<B>,
    refs: std::vec::IntoIter<SeriesRef>,
    /// The current series; meaningless once `done`.
    series_ref: SeriesRef,
    series_labels: Vec<(&'a str, &'a str)>,
    chunks: Vec<ChunkMeta>,
    done: bool,
}

impl<'a, B: AsRef<[u8]>> SeriesCursor<'a, B> {
    fn new(index: &'a IndexReader<B>, refs: Vec<SeriesRef>) -> anyhow::Result<Self> {
        let mut cursor = SeriesCursor {
            index,
            refs: refs.into_iter(),
            series_ref: 0,
            series_labels: Vec::new(),
            chunks: Vec::new(),
            done: false,
        };
        cursor.advance()?;
        Ok(cursor)
    }

    fn advance(&mut self) -> anyhow::Result<()> {
        match self.refs.next() {
            Some(r) => {
                self.series_ref = r;
                self.index
                    .series_into(r, &mut self.series_labels, &mut self.chunks)?;
            }
            None => self.done = true,
        }
        Ok(())
    }

    /// The current series' labels, `None` when the block has no more.
    fn labels(&self) -> Option<&[(&'a str, &'a str)]> {
        (!self.done).then_some(&self.series_labels[..])
    }
}

/// Reads one block's samples of a series within the dump's time range, skipping deleted
/// ones.
struct Samples {
    chunks: ChunkReader,
    tombstones: Tombstones,
    min_time: i64,
    max_time: i64,
}

impl Samples {
    fn read(
        &self,
        series_ref: SeriesRef,
        metas: &[ChunkMeta],
        out: &mut Vec<(i64, f64)>,
    ) -> anyhow::Result<()> {
        let deleted = self.tombstones.get(series_ref);
        let in_range = |m: &&ChunkMeta| m.mint <= self.max_time && m.maxt >= self.min_time;
        for meta in metas.iter().filter(in_range) {
            if deleted.is_some_and(|d| d.covers(meta.mint, meta.maxt)) {
                continue;
            }
            let (encoding, bytes) = self.chunks.chunk(ChunkRef(meta.chunk_ref))?;
            let mut samples = ChunkIterator::new(encoding, bytes)
                .with_context(|| format!("chunk {:#x}", meta.chunk_ref))?;
            while let Some(kind) = samples.next_value() {
                let ValueType::Float = kind else {
                    bail!("chunk {:#x}: unsupported sample type", meta.chunk_ref);
                };
                let (t, v) = samples.at();
                if t > self.max_time {
                    break;
                }
                if t >= self.min_time && !deleted.is_some_and(|d| d.contains(t)) {
                    out.push((t, v));
                }
            }
            if let Some(e) = samples.err() {
                bail!("chunk {:#x}: {e}", meta.chunk_ref);
            }
        }
        Ok(())
    }
}

/// Prometheus's `labels.Labels.String()`: `{a="1", b="2"}`, values quoted as Go's
/// `strconv.Quote` does.
fn go_labels_string(labels: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push('=');
        out.push_str(&ember_model::go_quote(value.as_bytes()));
    }
    out.push('}');
    out
}

/// Go's `time.Duration(ms * 1e6).String()`: `1h0m0s`, `1m30.5s`, `59.999s`, `250ms`, `0s`.
fn go_duration(ms: i64) -> String {
    let nanos = ms.wrapping_mul(1_000_000);
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    const SECOND: u64 = 1_000_000_000;
    if u < SECOND {
        let (scale, unit) = match u {
            0 => return "0s".to_string(),
            1..1_000 => (1, "ns"),
            1_000..1_000_000 => (1_000, "µs"),
            _ => (1_000_000, "ms"),
        };
        return format!("{sign}{}{unit}", decimal(u, scale));
    }
    let minutes = u / (60 * SECOND);
    let mut out = String::from(sign);
    if minutes >= 60 {
        let _ = write!(out, "{}h", minutes / 60);
    }
    if minutes > 0 {
        let _ = write!(out, "{}m", minutes % 60);
    }
    let _ = write!(out, "{}s", decimal(u % (60 * SECOND), SECOND));
    out
}

/// `value / scale` in decimal, with the fraction's trailing zeros dropped.
fn decimal(value: u64, scale: u64) -> String {
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = scale.ilog10() as usize;
    let fraction = format!("{fraction:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// Go's `time.Unix(ms/1000, 0).UTC().String()`: `2023-11-14 22:13:20 +0000 UTC`.
fn go_utc_time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp(ms / 1000, 0) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string(),
        None => ms.to_string(),
    }
}

/// `units.Base2Bytes(n).String()` (alecthomas/units), which promtool uses: every
/// non-zero base-1024 digit with its unit, largest first: `1KiB585B`, `2MiB`, `0B`.
fn go_base2_bytes(mut n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut parts = Vec::new();
    for unit in UNITS {
        let digit = n % 1024;
        if digit != 0 || (unit == "B" && n == 0) {
            parts.push(format!("{digit}{unit}"));
        }
        n /= 1024;
        if n == 0 {
            break;
        }
    }
    parts.reverse();
    parts.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        for (ms, want) in [
            (0, "0s"),
            (1, "1ms"),
            (999, "999ms"),
            (1_000, "1s"),
            (1_500, "1.5s"),
            (59_999, "59.999s"),
            (90_000, "1m30s"),
            (3_600_000, "1h0m0s"),
            (6_000_001, "1h40m0.001s"),
            (7_200_000, "2h0m0s"),
            (-1_500, "-1.5s"),
            (100 * 3_600_000, "100h0m0s"),
        ] {
            assert_eq!(go_duration(ms), want, "{ms}");
        }
    }

    #[test]
    fn sizes_and_times_read_like_go() {
        for (n, want) in [
            (0, "0B"),
            (585, "585B"),
            (1_609, "1KiB585B"),
            (2_048, "2KiB"),
            (3 << 20 | 5, "3MiB5B"),
        ] {
            assert_eq!(go_base2_bytes(n), want, "{n}");
        }
        assert_eq!(
            go_utc_time(1_700_000_000_999),
            "2023-11-14 22:13:20 +0000 UTC"
        );
    }

    #[test]
    fn labels_quote_like_go() {
        assert_eq!(
            go_labels_string(&[("__name__", "up"), ("a", "q\"b\\\n\u{1}\u{a0}ü\u{200b}")]),
            r#"{__name__="up", a="q\"b\\\n\x01\u00a0ü\u200b"}"#
        );
        assert_eq!(go_labels_string(&[]), "{}");
    }

    #[test]
    fn ulids() {
        assert!(is_ulid("01M8873ZSQR9M26QHJ0RR5464Y"));
        assert!(is_ulid("01m8873zsqr9m26qhj0rr5464y"));
        assert!(!is_ulid("01M8873ZSQR9M26QHJ0RR5464"));
        assert!(!is_ulid("81M8873ZSQR9M26QHJ0RR5464Y"));
        assert!(!is_ulid("01M8873ZSQR9M26QHJ0RR5464U"));
        assert!(!is_ulid("wal"));
    }

    #[test]
    fn columns_like_tabwriter() {
        let rows = [
            ["A", "LONGER HEADER CELL", "LAST"].map(String::from),
            ["x", "y", "a long last cell"].map(String::from),
        ];
        let mut out = Vec::new();
        write_columns(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "A            LONGER HEADER CELL  LAST\nx            y                   a long last cell\n"
        );
    }
}
