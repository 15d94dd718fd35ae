//! Filtering native-histogram sample records (types 7–10) without decoding them.
//!
//! A checkpoint must drop old or deleted histogram samples like float samples, but this
//! crate has no histogram model. Each entry's deltas are against the record's base
//! reference and timestamp, not against the previous entry, so keeping the base and
//! copying the kept entries' bytes verbatim yields a valid record that decodes to
//! exactly the kept histograms.
//!
//! One entry (integer flavour; the float flavour stores counts and buckets as f64):
//!
//! ```text
//! Δref:varint Δt:varint reset_hint:u8 schema:varint zero_threshold:f64
//! zero_count:uvarint count:uvarint sum:f64
//! pos_spans:uvarint (offset:varint len:uvarint)*  neg_spans:uvarint (…)*
//! pos_buckets:uvarint varint*  neg_buckets:uvarint varint*
//! [custom_values:uvarint f64*   only when schema is -53 (custom buckets)]
//! ```

use super::codec::Decbuf;
use super::{DecodeError, RecordType, SeriesRef};
use ember_model::Timestamp;

/// Prometheus's `histogram.CustomBucketsSchema`.
const CUSTOM_BUCKETS_SCHEMA: i64 = -53;

/// How many entries a filtered record had and how many were kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Filtered {
    pub(crate) total: usize,
    pub(crate) kept: usize,
}

/// Appends to `out` a copy of the histogram record `rec` holding only the entries for
/// which `keep(series, timestamp)` is true; appends nothing when none is kept.
pub(crate) fn filter_histogram_record(
    rec: &[u8],
    mut keep: impl FnMut(SeriesRef, Timestamp) -> bool,
    out: &mut Vec<u8>,
) -> Result<Filtered, DecodeError> {
    let mut dec = Decbuf::new(rec);
    let type_byte = dec.byte().unwrap_or(0);
    let float = match super::record_type(rec) {
        RecordType::HistogramSamples | RecordType::CustomBucketsHistogramSamples => false,
        RecordType::FloatHistogramSamples | RecordType::CustomBucketsFloatHistogramSamples => true,
        _ => {
            return Err(DecodeError::WrongType {
                expected: RecordType::HistogramSamples,
                found: type_byte,
            });
        }
    };
    let mut filtered = Filtered::default();
    if dec.is_empty() {
        return Ok(filtered);
    }
    let base_ref = dec.be64()?;
    let base_time = dec.be64()? as i64;
    let start = out.len();
    out.extend_from_slice(&rec[..rec.len() - dec.remaining().len()]);
    while !dec.is_empty() {
        let entry_start = dec.remaining();
        let series_ref = base_ref.wrapping_add(dec.varint()? as u64);
        let timestamp = base_time.wrapping_add(dec.varint()?);
        skip_histogram(&mut dec, float)?;
        filtered.total += 1;
        if keep(series_ref, timestamp) {
            filtered.kept += 1;
            let len = entry_start.len() - dec.remaining().len();
            out.extend_from_slice(&entry_start[..len]);
        }
    }
    if filtered.kept == 0 {
        out.truncate(start);
    }
    Ok(filtered)
}

fn skip_histogram(dec: &mut Decbuf<'_>, float: bool) -> Result<(), DecodeError> {
    dec.byte()?; // counter reset hint
    let schema = dec.varint()?;
    dec.be64()?; // zero threshold
    // Zero count and count: uvarints for integer histograms, f64 for float ones.
    for _ in 0..2 {
        skip_count(dec, float)?;
    }
    dec.be64()?; // sum
    for _ in 0..2 {
        let spans = dec.uvarint()?;
        for _ in 0..spans {
            dec.varint()?;
            dec.uvarint()?;
        }
    }
    for _ in 0..2 {
        let buckets = dec.uvarint()?;
        if float {
            skip_f64s(dec, buckets)?;
        } else {
            for _ in 0..buckets {
                dec.varint()?;
            }
        }
    }
    if schema == CUSTOM_BUCKETS_SCHEMA {
        let values = dec.uvarint()?;
        skip_f64s(dec, values)?;
    }
    Ok(())
}

fn skip_count(dec: &mut Decbuf<'_>, float: bool) -> Result<(), DecodeError> {
    if float {
        dec.be64()?;
    } else {
        dec.uvarint()?;
    }
    Ok(())
}

fn skip_f64s(dec: &mut Decbuf<'_>, n: u64) -> Result<(), DecodeError> {
    let len = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(8))
        .ok_or(DecodeError::Truncated)?;
    dec.bytes(len).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::codec::{put_be64, put_uvarint, put_varint};

    /// An integer histogram entry shaped like Prometheus's `EncodeHistogram` output.
    fn int_entry(buf: &mut Vec<u8>, delta_ref: i64, delta_t: i64, schema: i64) {
        put_varint(buf, delta_ref);
        put_varint(buf, delta_t);
        buf.push(0);
        put_varint(buf, schema);
        put_be64(buf, 0.001f64.to_bits());
        put_uvarint(buf, 3);
        put_uvarint(buf, 10);
        put_be64(buf, 12.5f64.to_bits());
        put_uvarint(buf, 1); // one positive span
        put_varint(buf, -2);
        put_uvarint(buf, 2);
        put_uvarint(buf, 0); // no negative spans
        put_uvarint(buf, 2); // two positive buckets
        put_varint(buf, 4);
        put_varint(buf, -1);
        put_uvarint(buf, 0); // no negative buckets
        if schema == CUSTOM_BUCKETS_SCHEMA {
            put_uvarint(buf, 2);
            put_be64(buf, 1.0f64.to_bits());
            put_be64(buf, 5.0f64.to_bits());
        }
    }

    fn float_entry(buf: &mut Vec<u8>, delta_ref: i64, delta_t: i64) {
        put_varint(buf, delta_ref);
        put_varint(buf, delta_t);
        buf.push(1);
        put_varint(buf, 3);
        for v in [0.0, 1.5, 9.0, 20.25] {
            put_be64(buf, f64::to_bits(v)); // threshold, zero count, count, sum
        }
        put_uvarint(buf, 1);
        put_varint(buf, 0);
        put_uvarint(buf, 1);
        put_uvarint(buf, 1);
        put_varint(buf, 1);
        put_uvarint(buf, 1);
        put_uvarint(buf, 1); // one positive bucket
        put_be64(buf, 7.5f64.to_bits());
        put_uvarint(buf, 1); // one negative bucket
        put_be64(buf, 1.5f64.to_bits());
    }

    fn header(type_byte: u8, base_ref: u64, base_t: i64) -> Vec<u8> {
        let mut rec = vec![type_byte];
        put_be64(&mut rec, base_ref);
        put_be64(&mut rec, base_t as u64);
        rec
    }

    #[test]
    fn keeps_matching_entries_verbatim() {
        for (type_byte, schema) in [(7, 0), (9, CUSTOM_BUCKETS_SCHEMA)] {
            let mut rec = header(type_byte, 100, 1_000);
            let mut second = Vec::new();
            int_entry(&mut rec, 0, 0, schema);
            int_entry(&mut second, 5, 30, schema);
            rec.extend_from_slice(&second);
            int_entry(&mut rec, 1, 60, schema);

            let mut out = Vec::new();
            let f = filter_histogram_record(&rec, |r, _| r == 105, &mut out).unwrap();
            assert_eq!(f, Filtered { total: 3, kept: 1 });
            let mut want = header(type_byte, 100, 1_000);
            want.extend_from_slice(&second);
            assert_eq!(out, want);

            let mut seen = Vec::new();
            filter_histogram_record(
                &rec,
                |r, t| {
                    seen.push((r, t));
                    true
                },
                &mut Vec::new(),
            )
            .unwrap();
            assert_eq!(seen, [(100, 1_000), (105, 1_030), (101, 1_060)]);
        }
    }

    #[test]
    fn float_entries_and_nothing_kept() {
        let mut rec = header(8, 7, 0);
        float_entry(&mut rec, 0, 0);
        float_entry(&mut rec, 0, 15);
        let mut out = vec![0xaa];
        let f = filter_histogram_record(&rec, |_, t| t > 100, &mut out).unwrap();
        assert_eq!(f, Filtered { total: 2, kept: 0 });
        assert_eq!(out, [0xaa]);
        let f = filter_histogram_record(&rec, |_, _| true, &mut out).unwrap();
        assert_eq!(f.kept, 2);
        assert_eq!(&out[1..], &rec[..]);
    }

    #[test]
    fn truncated_and_wrong_records_are_errors() {
        let mut rec = header(7, 1, 1);
        int_entry(&mut rec, 0, 0, 0);
        rec.pop();
        assert_eq!(
            filter_histogram_record(&rec, |_, _| true, &mut Vec::new()),
            Err(DecodeError::Truncated)
        );
        assert!(matches!(
            filter_histogram_record(&[2], |_, _| true, &mut Vec::new()),
            Err(DecodeError::WrongType { found: 2, .. })
        ));
        assert_eq!(
            filter_histogram_record(&[7], |_, _| true, &mut Vec::new()),
            Ok(Filtered::default())
        );
    }
}
