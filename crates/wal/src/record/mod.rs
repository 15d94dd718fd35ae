//! WAL record payloads, byte-identical to Prometheus's `tsdb/record` (2.x and 3.x).
//!
//! The first byte of every record is its [`RecordType`]. The layouts (all integers
//! big-endian unless they are varints):
//!
//! ```text
//! Series (1):     ( ref:u64  n:uvarint  (len:uvarint name len:uvarint value){n} )*
//! Samples (2):    base_ref:u64 base_t:i64  ( Δref:varint Δt:varint value:f64 )*
//! Tombstones (3): ( ref:u64  min_t:varint  max_t:varint )*
//! Exemplars (4):  base_ref:u64 base_t:i64  ( Δref:varint Δt:varint value:f64 labels )*
//! Metadata (6):   ( ref:uvarint  type:u8  n:uvarint  (len name len value){n} )*
//! ```
//!
//! Deltas are against the *first* sample (`base_*`), not the previous one; an empty
//! Samples or Exemplars record is the type byte alone. Histogram records (7–10) are
//! recognised by [`record_type`] so readers can skip them; they are not decoded here.
//!
//! Encoders append to a caller's `Vec<u8>` and decoders append to a caller's `Vec`, so a
//! replay loop reuses its buffers and allocates nothing per sample.

mod codec;
pub(crate) mod histogram;

use codec::{Decbuf, put_be64, put_str, put_uvarint, put_varint};
use ember_model::{Labels, LabelsBuilder, MetricType, Timestamp};

/// A series' identifier inside one WAL (Prometheus's `HeadSeriesRef`).
pub type SeriesRef = u64;

/// The kind of a record, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// Series definitions: reference and labels.
    Series,
    /// Float samples.
    Samples,
    /// Deletion intervals.
    Tombstones,
    /// Exemplars.
    Exemplars,
    /// Out-of-order m-map markers (WBL only).
    MmapMarkers,
    /// Type, unit and help of series.
    Metadata,
    /// Integer native-histogram samples (not decoded by this crate).
    HistogramSamples,
    /// Float native-histogram samples (not decoded by this crate).
    FloatHistogramSamples,
    /// Integer custom-bucket histogram samples (not decoded by this crate).
    CustomBucketsHistogramSamples,
    /// Float custom-bucket histogram samples (not decoded by this crate).
    CustomBucketsFloatHistogramSamples,
    /// An empty record or a type this crate does not know (e.g. from a newer Prometheus);
    /// readers skip it.
    Unknown,
}

impl RecordType {
    /// The type byte, or `None` for [`RecordType::Unknown`].
    pub fn byte(self) -> Option<u8> {
        Some(match self {
            RecordType::Series => 1,
            RecordType::Samples => 2,
            RecordType::Tombstones => 3,
            RecordType::Exemplars => 4,
            RecordType::MmapMarkers => 5,
            RecordType::Metadata => 6,
            RecordType::HistogramSamples => 7,
            RecordType::FloatHistogramSamples => 8,
            RecordType::CustomBucketsHistogramSamples => 9,
            RecordType::CustomBucketsFloatHistogramSamples => 10,
            RecordType::Unknown => return None,
        })
    }

    fn from_byte(b: u8) -> RecordType {
        match b {
            1 => RecordType::Series,
            2 => RecordType::Samples,
            3 => RecordType::Tombstones,
            4 => RecordType::Exemplars,
            5 => RecordType::MmapMarkers,
            6 => RecordType::Metadata,
            7 => RecordType::HistogramSamples,
            8 => RecordType::FloatHistogramSamples,
            9 => RecordType::CustomBucketsHistogramSamples,
            10 => RecordType::CustomBucketsFloatHistogramSamples,
            _ => RecordType::Unknown,
        }
    }
}

/// The type of a record (Prometheus's `Decoder.Type`).
pub fn record_type(rec: &[u8]) -> RecordType {
    rec.first()
        .map_or(RecordType::Unknown, |&b| RecordType::from_byte(b))
}

/// Why a record could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record's type byte is not the one the decoder expects.
    #[error("invalid record type {found}, expected {expected:?}")]
    WrongType {
        /// The type the decoder handles.
        expected: RecordType,
        /// The type byte found (0 for an empty record).
        found: u8,
    },
    /// The record ends in the middle of a field.
    #[error("invalid size: record ends inside a field")]
    Truncated,
    /// A varint is longer than 64 bits.
    #[error("invalid varint: overflows 64 bits")]
    VarintOverflow,
    /// A label name or value is not UTF-8.
    #[error("label name or value is not valid UTF-8")]
    InvalidUtf8,
}

/// One series definition: the reference later records use, and its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefSeries {
    /// The series reference.
    pub series_ref: SeriesRef,
    /// The series' labels.
    pub labels: Labels,
}

/// One float sample of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefSample {
    /// The series reference.
    pub series_ref: SeriesRef,
    /// Milliseconds since the epoch.
    pub timestamp: Timestamp,
    /// The value, bit-exact (staleness markers included).
    pub value: f64,
}

/// One deleted interval of a series, `[min_time, max_time]` inclusive. A series with
/// several intervals has several rows, as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tombstone {
    /// The series reference.
    pub series_ref: SeriesRef,
    /// First deleted timestamp.
    pub min_time: Timestamp,
    /// Last deleted timestamp.
    pub max_time: Timestamp,
}

/// One exemplar of a series.
#[derive(Clone, Debug, PartialEq)]
pub struct RefExemplar {
    /// The series reference.
    pub series_ref: SeriesRef,
    /// Milliseconds since the epoch.
    pub timestamp: Timestamp,
    /// The value, bit-exact.
    pub value: f64,
    /// The exemplar's own labels (e.g. `trace_id`).
    pub labels: Labels,
}

/// The metadata of a series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefMetadata {
    /// The series reference.
    pub series_ref: SeriesRef,
    /// The declared metric type.
    pub metric_type: MetricType,
    /// The unit; empty when absent.
    pub unit: String,
    /// The help text; empty when absent.
    pub help: String,
}

const UNIT_FIELD: &str = "UNIT";
const HELP_FIELD: &str = "HELP";

fn put_type(buf: &mut Vec<u8>, t: RecordType) {
    buf.push(t.byte().expect("encoders write known types"));
}

fn put_labels(buf: &mut Vec<u8>, labels: &Labels) {
    put_uvarint(buf, labels.len() as u64);
    for l in labels.iter() {
        put_str(buf, &l.name);
        put_str(buf, &l.value);
    }
}

/// Appends a Series record. Takes references and labels separately so a caller holding
/// its series elsewhere need not build [`RefSeries`] values.
pub fn encode_series<'a>(
    series: impl IntoIterator<Item = (SeriesRef, &'a Labels)>,
    buf: &mut Vec<u8>,
) {
    put_type(buf, RecordType::Series);
    for (series_ref, labels) in series {
        put_be64(buf, series_ref);
        put_labels(buf, labels);
    }
}

/// Appends a Samples record.
pub fn encode_samples(samples: &[RefSample], buf: &mut Vec<u8>) {
    put_type(buf, RecordType::Samples);
    let Some(first) = samples.first() else {
        return;
    };
    buf.reserve(16 + samples.len() * 12);
    put_be64(buf, first.series_ref);
    put_be64(buf, first.timestamp as u64);
    for s in samples {
        put_varint(buf, s.series_ref.wrapping_sub(first.series_ref) as i64);
        put_varint(buf, s.timestamp.wrapping_sub(first.timestamp));
        put_be64(buf, s.value.to_bits());
    }
}

/// Appends a Tombstones record.
pub fn encode_tombstones(tombstones: &[Tombstone], buf: &mut Vec<u8>) {
    put_type(buf, RecordType::Tombstones);
    for t in tombstones {
        put_be64(buf, t.series_ref);
        put_varint(buf, t.min_time);
        put_varint(buf, t.max_time);
    }
}

/// Appends an Exemplars record.
pub fn encode_exemplars(exemplars: &[RefExemplar], buf: &mut Vec<u8>) {
    put_type(buf, RecordType::Exemplars);
    let Some(first) = exemplars.first() else {
        return;
    };
    put_be64(buf, first.series_ref);
    put_be64(buf, first.timestamp as u64);
    for e in exemplars {
        put_varint(buf, e.series_ref.wrapping_sub(first.series_ref) as i64);
        put_varint(buf, e.timestamp.wrapping_sub(first.timestamp));
        put_be64(buf, e.value.to_bits());
        put_labels(buf, &e.labels);
    }
}

/// Appends a Metadata record (fields `UNIT` then `HELP`, as Prometheus writes them).
pub fn encode_metadata(metadata: &[RefMetadata], buf: &mut Vec<u8>) {
    put_type(buf, RecordType::Metadata);
    for m in metadata {
        put_uvarint(buf, m.series_ref);
        buf.push(metric_type_byte(m.metric_type));
        put_uvarint(buf, 2);
        put_str(buf, UNIT_FIELD);
        put_str(buf, &m.unit);
        put_str(buf, HELP_FIELD);
        put_str(buf, &m.help);
    }
}

/// Checks the type byte and returns a cursor after it.
fn open(rec: &[u8], expected: RecordType) -> Result<Decbuf<'_>, DecodeError> {
    let mut dec = Decbuf::new(rec);
    let found = dec.byte().unwrap_or(0);
    if Some(found) != expected.byte() {
        return Err(DecodeError::WrongType { expected, found });
    }
    Ok(dec)
}

fn decode_labels(dec: &mut Decbuf<'_>) -> Result<Labels, DecodeError> {
    let n = dec.uvarint()?;
    let mut builder = LabelsBuilder::default();
    for _ in 0..n {
        let name = dec.str()?;
        let value = dec.str()?;
        builder.set(name, value);
    }
    Ok(builder.build())
}

/// Runs a decoder that appends to `out`, and leaves `out` as it was when it fails.
fn all_or_nothing<T>(
    out: &mut Vec<T>,
    decode: impl FnOnce(&mut Vec<T>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let len = out.len();
    decode(out).inspect_err(|_| out.truncate(len))
}

/// Appends the series of a Series record to `out`; on error `out` is unchanged.
pub fn decode_series(rec: &[u8], out: &mut Vec<RefSeries>) -> Result<(), DecodeError> {
    let mut dec = open(rec, RecordType::Series)?;
    all_or_nothing(out, |out| {
        while !dec.is_empty() {
            let series_ref = dec.be64()?;
            let labels = decode_labels(&mut dec)?;
            out.push(RefSeries { series_ref, labels });
        }
        Ok(())
    })
}

/// Appends the samples of a Samples record to `out`; on error `out` is unchanged.
pub fn decode_samples(rec: &[u8], out: &mut Vec<RefSample>) -> Result<(), DecodeError> {
    let mut dec = open(rec, RecordType::Samples)?;
    if dec.is_empty() {
        return Ok(());
    }
    let base_ref = dec.be64()?;
    let base_time = dec.be64()? as i64;
    // Every sample takes at least 10 bytes; reserve once instead of growing repeatedly.
    out.reserve(dec.remaining().len() / 10);
    all_or_nothing(out, |out| {
        while !dec.is_empty() {
            let delta_ref = dec.varint()?;
            let delta_time = dec.varint()?;
            let value = f64::from_bits(dec.be64()?);
            out.push(RefSample {
                series_ref: base_ref.wrapping_add(delta_ref as u64),
                timestamp: base_time.wrapping_add(delta_time),
                value,
            });
        }
        Ok(())
    })
}

/// Appends the rows of a Tombstones record to `out`; on error `out` is unchanged.
pub fn decode_tombstones(rec: &[u8], out: &mut Vec<Tombstone>) -> Result<(), DecodeError> {
    let mut dec = open(rec, RecordType::Tombstones)?;
    all_or_nothing(out, |out| {
        while !dec.is_empty() {
            out.push(Tombstone {
                series_ref: dec.be64()?,
                min_time: dec.varint()?,
                max_time: dec.varint()?,
            });
        }
        Ok(())
    })
}

/// Appends the exemplars of an Exemplars record to `out`; on error `out` is unchanged.
pub fn decode_exemplars(rec: &[u8], out: &mut Vec<RefExemplar>) -> Result<(), DecodeError> {
    let mut dec = open(rec, RecordType::Exemplars)?;
    if dec.is_empty() {
        return Ok(());
    }
    let base_ref = dec.be64()?;
    let base_time = dec.be64()? as i64;
    all_or_nothing(out, |out| {
        while !dec.is_empty() {
            let delta_ref = dec.varint()?;
            let delta_time = dec.varint()?;
            let value = f64::from_bits(dec.be64()?);
            let labels = decode_labels(&mut dec)?;
            out.push(RefExemplar {
                series_ref: base_ref.wrapping_add(delta_ref as u64),
                timestamp: base_time.wrapping_add(delta_time),
                value,
                labels,
            });
        }
        Ok(())
    })
}

/// Appends the entries of a Metadata record to `out`; on error `out` is unchanged.
/// Fields other than `UNIT` and `HELP` are skipped, as Prometheus does, so records from
/// newer writers stay readable.
pub fn decode_metadata(rec: &[u8], out: &mut Vec<RefMetadata>) -> Result<(), DecodeError> {
    let mut dec = open(rec, RecordType::Metadata)?;
    all_or_nothing(out, |out| {
        while !dec.is_empty() {
            let series_ref = dec.uvarint()?;
            let metric_type = metric_type_from_byte(dec.byte()?);
            let fields = dec.uvarint()?;
            let (mut unit, mut help) = ("", "");
            for _ in 0..fields {
                let name = dec.str()?;
                let value = dec.str()?;
                match name {
                    UNIT_FIELD => unit = value,
                    HELP_FIELD => help = value,
                    _ => {}
                }
            }
            out.push(RefMetadata {
                series_ref,
                metric_type,
                unit: unit.to_owned(),
                help: help.to_owned(),
            });
        }
        Ok(())
    })
}

/// Prometheus's `record.MetricType` numbering.
fn metric_type_byte(t: MetricType) -> u8 {
    match t {
        MetricType::Unknown => 0,
        MetricType::Counter => 1,
        MetricType::Gauge => 2,
        MetricType::Histogram => 3,
        MetricType::GaugeHistogram => 4,
        MetricType::Summary => 5,
        MetricType::Info => 6,
        MetricType::StateSet => 7,
    }
}

fn metric_type_from_byte(b: u8) -> MetricType {
    match b {
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        4 => MetricType::GaugeHistogram,
        5 => MetricType::Summary,
        6 => MetricType::Info,
        7 => MetricType::StateSet,
        _ => MetricType::Unknown,
    }
}

#[cfg(test)]
mod tests;
