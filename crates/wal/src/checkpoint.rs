//! Compacting old segments into a checkpoint: [`checkpoint`], [`last_checkpoint`].
//!
//! A checkpoint is a directory `checkpoint.NNNNNNNN` beside the segments, named after
//! the last segment it covers, holding segments in the WAL's own format. Replay reads the
//! last checkpoint and then the WAL segments after it.

use crate::record::histogram::filter_histogram_record;
use crate::record::{
    self, DecodeError, RecordType, RefMetadata, SeriesRef, decode_exemplars, decode_metadata,
    decode_samples, decode_series, decode_tombstones, encode_exemplars, encode_metadata,
    encode_samples, encode_series, encode_tombstones,
};
use crate::wlog::{
    ReadError, Reader, SegmentRange, SyncMode, Wal, WalOptions, parse_index, sync_dir,
};
use ember_model::Timestamp;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

const PREFIX: &str = "checkpoint.";
const TMP_SUFFIX: &str = ".tmp";

/// Records are handed to the checkpoint writer in batches of about this many bytes.
const BATCH_BYTES: usize = 1024 * 1024;

/// What a checkpoint kept and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Series read.
    pub total_series: usize,
    /// Series dropped because `keep_series` rejected them.
    pub dropped_series: usize,
    /// Float and histogram samples read.
    pub total_samples: usize,
    /// Samples dropped: older than `mint` or of a dropped series.
    pub dropped_samples: usize,
    /// Tombstone intervals read.
    pub total_tombstones: usize,
    /// Tombstone intervals dropped: ending before `mint` or of a dropped series.
    pub dropped_tombstones: usize,
    /// Exemplars read.
    pub total_exemplars: usize,
    /// Exemplars dropped: older than `mint` or of a dropped series.
    pub dropped_exemplars: usize,
    /// Metadata entries read.
    pub total_metadata: usize,
    /// Metadata entries dropped: superseded, or of a dropped series.
    pub dropped_metadata: usize,
}

/// Why a checkpoint could not be written. The WAL is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// `from` is after the segment following the last checkpoint: segments would be lost.
    #[error(
        "unexpected gap to last checkpoint: expected segment {expected:08}, requested {requested:08}"
    )]
    Gap {
        /// The first segment the last checkpoint does not cover.
        expected: u32,
        /// The `from` requested.
        requested: u32,
    },
    /// `to` is before the last checkpoint.
    #[error("checkpoint up to segment {to:08} requested, but checkpoint.{last:08} exists")]
    BehindLastCheckpoint {
        /// The last checkpoint's index.
        last: u32,
        /// The `to` requested.
        to: u32,
    },
    /// The input is damaged. Repair is no option here: the head would not know which
    /// series were lost.
    #[error("read segments: {0}")]
    Read(#[from] ReadError),
    /// A record could not be decoded.
    #[error("decode {record_type:?} record: {source}")]
    Decode {
        /// The record's type.
        record_type: RecordType,
        /// The error.
        source: DecodeError,
    },
    /// Listing, writing, syncing or renaming failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A checkpoint directory and the last segment it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointDir {
    /// The directory, `<wal>/checkpoint.NNNNNNNN`.
    pub path: PathBuf,
    /// The last segment it covers.
    pub index: u32,
}

/// The newest checkpoint in `wal_dir`, if any.
pub fn last_checkpoint(wal_dir: &Path) -> io::Result<Option<CheckpointDir>> {
    Ok(list_checkpoints(wal_dir)?.pop())
}

/// Writes `checkpoint.<to>` into `wal_dir`, holding what replay still needs from the
/// last checkpoint and segments `from..=to`:
///
/// - Series records of the series `keep_series` accepts;
/// - samples (float and native histogram) and exemplars of kept series at or after
///   `mint`, and tombstones of kept series ending at or after it;
/// - the latest metadata of each kept series.
///
/// Other records (m-map markers, unknown types) are dropped, as in Prometheus. The
/// checkpoint is written to `checkpoint.<to>.tmp` with `options` (compression and
/// segment size, normally the WAL's own), fsynced and renamed into place, so a crash
/// leaves either the old or the new checkpoint; then older checkpoints are deleted. The
/// covered segments stay: the caller deletes them with [`Wal::truncate`]`(to + 1)`.
///
/// It takes the WAL's directory rather than the [`Wal`] so the head can go on logging
/// while a checkpoint is written; segments up to `to` must be finished (call
/// [`Wal::next_segment`] first, as Prometheus does).
pub fn checkpoint(
    wal_dir: &Path,
    options: &WalOptions,
    from: u32,
    to: u32,
    keep_series: impl Fn(SeriesRef) -> bool,
    mint: Timestamp,
) -> Result<CheckpointStats, CheckpointError> {
    let mut ranges = Vec::with_capacity(2);
    let mut from = from;
    if let Some(last) = last_checkpoint(wal_dir)? {
        if to < last.index {
            return Err(CheckpointError::BehindLastCheckpoint {
                last: last.index,
                to,
            });
        }
        let expected = last.index + 1;
        if from > expected {
            return Err(CheckpointError::Gap {
                expected,
                requested: from,
            });
        }
        // Segments up to the last checkpoint are already in it.
        from = expected;
        ranges.push(SegmentRange::all(last.path));
    }
    if from <= to {
        ranges.push(SegmentRange::between(wal_dir, from, to));
    }
    let mut reader = Reader::open(&ranges)?;

    delete_temp_checkpoints(wal_dir)?;
    let final_dir = wal_dir.join(format!("{PREFIX}{to:08}"));
    let tmp_dir = wal_dir.join(format!("{PREFIX}{to:08}{TMP_SUFFIX}"));
    let options = WalOptions {
        sync: SyncMode::SegmentEnd,
        ..options.clone()
    };
    let stats = match write_checkpoint(&mut reader, &tmp_dir, options, &keep_series, mint) {
        Ok(stats) => stats,
        Err(e) => {
            // Best effort: a leftover is also removed before the next checkpoint.
            let _ = std::fs::remove_dir_all(&tmp_dir);
            return Err(e);
        }
    };
    sync_dir(&tmp_dir)?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)?;
    }
    std::fs::rename(&tmp_dir, &final_dir)?;
    sync_dir(wal_dir)?;
    delete_checkpoints_before(wal_dir, to)?;
    Ok(stats)
}

/// Encoded records waiting to be logged together.
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    /// End offset of each record in `buf`.
    ends: Vec<usize>,
}

impl Batch {
    /// Ends the record started at `start`, unless nothing was encoded since.
    fn finish_record(&mut self, start: usize) {
        if self.buf.len() > start {
            self.ends.push(self.buf.len());
        }
    }

    fn flush(&mut self, wal: &mut Wal) -> io::Result<()> {
        let mut start = 0;
        let records: Vec<&[u8]> = self
            .ends
            .iter()
            .map(|&end| {
                let rec = &self.buf[start..end];
                start = end;
                rec
            })
            .collect();
        wal.log(&records)?;
        self.buf.clear();
        self.ends.clear();
        Ok(())
    }
}

/// Reusable decode buffers, one per record type.
#[derive(Default)]
struct Scratch {
    series: Vec<record::RefSeries>,
    samples: Vec<record::RefSample>,
    tombstones: Vec<record::Tombstone>,
    exemplars: Vec<record::RefExemplar>,
    metadata: Vec<RefMetadata>,
}

fn write_checkpoint(
    reader: &mut Reader,
    tmp_dir: &Path,
    options: WalOptions,
    keep: &dyn Fn(SeriesRef) -> bool,
    mint: Timestamp,
) -> Result<CheckpointStats, CheckpointError> {
    let mut out = Wal::open(tmp_dir, options)?;
    let mut stats = CheckpointStats::default();
    let mut batch = Batch::default();
    let mut scratch = Scratch::default();
    let mut latest_metadata = HashMap::new();
    while let Some(rec) = reader.next_record()? {
        let record_type = record::record_type(rec);
        let decode_error = |source| CheckpointError::Decode {
            record_type,
            source,
        };
        let start = batch.buf.len();
        match record_type {
            RecordType::Series => {
                let series = &mut scratch.series;
                series.clear();
                decode_series(rec, series).map_err(decode_error)?;
                let (total, dropped) = retain_counting(series, |s| keep(s.series_ref));
                stats.total_series += total;
                stats.dropped_series += dropped;
                if !series.is_empty() {
                    let kept = series.iter().map(|s| (s.series_ref, &s.labels));
                    encode_series(kept, &mut batch.buf);
                }
            }
            RecordType::Samples => {
                let samples = &mut scratch.samples;
                samples.clear();
                decode_samples(rec, samples).map_err(decode_error)?;
                let (total, dropped) =
                    retain_counting(samples, |s| s.timestamp >= mint && keep(s.series_ref));
                stats.total_samples += total;
                stats.dropped_samples += dropped;
                if !samples.is_empty() {
                    encode_samples(samples, &mut batch.buf);
                }
            }
            RecordType::HistogramSamples
            | RecordType::FloatHistogramSamples
            | RecordType::CustomBucketsHistogramSamples
            | RecordType::CustomBucketsFloatHistogramSamples => {
                let filtered = filter_histogram_record(
                    rec,
                    |series_ref, t| t >= mint && keep(series_ref),
                    &mut batch.buf,
                )
                .map_err(decode_error)?;
                stats.total_samples += filtered.total;
                stats.dropped_samples += filtered.total - filtered.kept;
            }
            RecordType::Tombstones => {
                let tombstones = &mut scratch.tombstones;
                tombstones.clear();
                decode_tombstones(rec, tombstones).map_err(decode_error)?;
                let (total, dropped) =
                    retain_counting(tombstones, |t| t.max_time >= mint && keep(t.series_ref));
                stats.total_tombstones += total;
                stats.dropped_tombstones += dropped;
                if !tombstones.is_empty() {
                    encode_tombstones(tombstones, &mut batch.buf);
                }
            }
            RecordType::Exemplars => {
                let exemplars = &mut scratch.exemplars;
                exemplars.clear();
                decode_exemplars(rec, exemplars).map_err(decode_error)?;
                let (total, dropped) =
                    retain_counting(exemplars, |e| e.timestamp >= mint && keep(e.series_ref));
                stats.total_exemplars += total;
                stats.dropped_exemplars += dropped;
                if !exemplars.is_empty() {
                    encode_exemplars(exemplars, &mut batch.buf);
                }
            }
            RecordType::Metadata => {
                let metadata = &mut scratch.metadata;
                metadata.clear();
                decode_metadata(rec, metadata).map_err(decode_error)?;
                stats.total_metadata += metadata.len();
                // Written once at the end: only the latest entry of a series matters.
                for m in metadata.drain(..).filter(|m| keep(m.series_ref)) {
                    latest_metadata.insert(m.series_ref, m);
                }
            }
            RecordType::MmapMarkers | RecordType::Unknown => {}
        }
        batch.finish_record(start);
        if batch.buf.len() >= BATCH_BYTES {
            batch.flush(&mut out)?;
        }
    }
    stats.dropped_metadata = stats.total_metadata - latest_metadata.len();
    if !latest_metadata.is_empty() {
        let mut metadata: Vec<RefMetadata> = latest_metadata.into_values().collect();
        metadata.sort_unstable_by_key(|m| m.series_ref);
        let start = batch.buf.len();
        encode_metadata(&metadata, &mut batch.buf);
        batch.finish_record(start);
    }
    batch.flush(&mut out)?;
    out.close()?;
    Ok(stats)
}

/// Keeps the items `keep` accepts; returns how many there were and how many went.
fn retain_counting<T>(items: &mut Vec<T>, keep: impl FnMut(&T) -> bool) -> (usize, usize) {
    let total = items.len();
    items.retain(keep);
    (total, total - items.len())
}

/// Checkpoint directories in `wal_dir`, oldest first.
fn list_checkpoints(wal_dir: &Path) -> io::Result<Vec<CheckpointDir>> {
    let mut checkpoints = Vec::new();
    for entry in std::fs::read_dir(wal_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(index) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(parse_index)
        else {
            continue;
        };
        if !entry.file_type()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("checkpoint {} is not a directory", entry.path().display()),
            ));
        }
        checkpoints.push(CheckpointDir {
            path: entry.path(),
            index,
        });
    }
    checkpoints.sort_unstable_by_key(|c| c.index);
    Ok(checkpoints)
}

fn delete_checkpoints_before(wal_dir: &Path, index: u32) -> io::Result<()> {
    for checkpoint in list_checkpoints(wal_dir)?
        .into_iter()
        .take_while(|c| c.index < index)
    {
        std::fs::remove_dir_all(checkpoint.path)?;
    }
    Ok(())
}

/// Removes `checkpoint.*.tmp` directories left by an interrupted checkpoint.
fn delete_temp_checkpoints(wal_dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(wal_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PREFIX) && name.ends_with(TMP_SUFFIX) {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}
