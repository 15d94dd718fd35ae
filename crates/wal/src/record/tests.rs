use super::*;
use ember_model::STALE_NAN;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// Bytes written out by hand from the layouts in Prometheus's `docs/format/wal.md`.
#[test]
fn series_bytes() {
    let up = labels(&[("__name__", "up"), ("job", "x")]);
    let mut buf = Vec::new();
    encode_series([(0x0102, &up)], &mut buf);
    let mut want = vec![1, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 2];
    want.extend_from_slice(b"\x08__name__\x02up\x03job\x01x");
    assert_eq!(buf, want);

    let mut out = Vec::new();
    decode_series(&buf, &mut out).unwrap();
    assert_eq!(
        out,
        [RefSeries {
            series_ref: 0x0102,
            labels: up
        }]
    );
}

#[test]
fn samples_bytes_delta_against_first() {
    let samples = [
        RefSample {
            series_ref: 10,
            timestamp: 1000,
            value: 1.0,
        },
        RefSample {
            series_ref: 9,
            timestamp: 990,
            value: STALE_NAN,
        },
        RefSample {
            series_ref: 12,
            timestamp: 1064,
            value: -0.0,
        },
    ];
    let mut buf = Vec::new();
    encode_samples(&samples, &mut buf);
    let mut want = vec![2];
    want.extend_from_slice(&10u64.to_be_bytes());
    want.extend_from_slice(&1000u64.to_be_bytes());
    want.extend_from_slice(&[0, 0]);
    want.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
    want.extend_from_slice(&[0x01, 0x13]); // -1, -10 zigzagged
    want.extend_from_slice(&0x7ff0_0000_0000_0002u64.to_be_bytes());
    want.extend_from_slice(&[0x04, 0x80, 0x01]); // +2, +64
    want.extend_from_slice(&(-0.0f64).to_bits().to_be_bytes());
    assert_eq!(buf, want);

    let mut out = Vec::new();
    decode_samples(&buf, &mut out).unwrap();
    assert_eq!(out.len(), 3);
    for (got, want) in out.iter().zip(&samples) {
        assert_eq!(got.series_ref, want.series_ref);
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.value.to_bits(), want.value.to_bits());
    }
}

#[test]
fn empty_records_are_the_type_byte() {
    let mut buf = Vec::new();
    encode_samples(&[], &mut buf);
    encode_exemplars(&[], &mut buf);
    encode_series([], &mut buf);
    encode_tombstones(&[], &mut buf);
    encode_metadata(&[], &mut buf);
    assert_eq!(buf, [2, 4, 1, 3, 6]);
    let mut samples = Vec::new();
    decode_samples(&[2], &mut samples).unwrap();
    assert!(samples.is_empty());
}

#[test]
fn tombstones_bytes() {
    let t = [Tombstone {
        series_ref: 7,
        min_time: -1,
        max_time: 64,
    }];
    let mut buf = Vec::new();
    encode_tombstones(&t, &mut buf);
    let mut want = vec![3, 0, 0, 0, 0, 0, 0, 0, 7];
    want.extend_from_slice(&[0x01, 0x80, 0x01]);
    assert_eq!(buf, want);
    let mut out = Vec::new();
    decode_tombstones(&buf, &mut out).unwrap();
    assert_eq!(out, t);
}

#[test]
fn exemplars_round_trip() {
    let ex = [
        RefExemplar {
            series_ref: 3,
            timestamp: 5_000,
            value: 0.25,
            labels: labels(&[("trace_id", "abc")]),
        },
        RefExemplar {
            series_ref: 1,
            timestamp: 4_000,
            value: 2.0,
            labels: Labels::empty(),
        },
    ];
    let mut buf = Vec::new();
    encode_exemplars(&ex, &mut buf);
    let mut want = vec![4];
    want.extend_from_slice(&3u64.to_be_bytes());
    want.extend_from_slice(&5000u64.to_be_bytes());
    want.extend_from_slice(&[0, 0]);
    want.extend_from_slice(&0.25f64.to_bits().to_be_bytes());
    want.extend_from_slice(b"\x01\x08trace_id\x03abc");
    assert!(buf.starts_with(&want));
    let mut out = Vec::new();
    decode_exemplars(&buf, &mut out).unwrap();
    assert_eq!(out, ex);
}

#[test]
fn metadata_bytes_and_unknown_fields() {
    let m = [RefMetadata {
        series_ref: 300,
        metric_type: MetricType::Counter,
        unit: "seconds".into(),
        help: "Time.".into(),
    }];
    let mut buf = Vec::new();
    encode_metadata(&m, &mut buf);
    let mut want = vec![6, 0xac, 0x02, 1, 2];
    want.extend_from_slice(b"\x04UNIT\x07seconds\x04HELP\x05Time.");
    assert_eq!(buf, want);
    let mut out = Vec::new();
    decode_metadata(&buf, &mut out).unwrap();
    assert_eq!(out, m);

    // A newer writer with an extra field and an unknown type byte.
    let rec = b"\x06\x01\x09\x03\x04HELP\x01h\x05EXTRA\x01e\x04UNIT\x01u";
    out.clear();
    decode_metadata(rec, &mut out).unwrap();
    assert_eq!(
        out,
        [RefMetadata {
            series_ref: 1,
            metric_type: MetricType::Unknown,
            unit: "u".into(),
            help: "h".into(),
        }]
    );
}

#[test]
fn record_types() {
    assert_eq!(record_type(&[]), RecordType::Unknown);
    assert_eq!(record_type(&[1]), RecordType::Series);
    assert_eq!(record_type(&[7, 0]), RecordType::HistogramSamples);
    assert_eq!(
        record_type(&[10]),
        RecordType::CustomBucketsFloatHistogramSamples
    );
    assert_eq!(record_type(&[11]), RecordType::Unknown);
    assert_eq!(record_type(&[0]), RecordType::Unknown);
    for b in 1..=10 {
        assert_eq!(record_type(&[b]).byte(), Some(b));
    }
}

#[test]
fn decode_errors_leave_output_unchanged() {
    let mut buf = Vec::new();
    encode_samples(
        &[
            RefSample {
                series_ref: 1,
                timestamp: 1,
                value: 1.0,
            },
            RefSample {
                series_ref: 2,
                timestamp: 2,
                value: 2.0,
            },
        ],
        &mut buf,
    );
    let before = RefSample {
        series_ref: 99,
        timestamp: 0,
        value: 0.0,
    };
    let mut out = vec![before];
    assert_eq!(
        decode_samples(&buf[..buf.len() - 1], &mut out),
        Err(DecodeError::Truncated)
    );
    assert_eq!(out, [before]);

    let mut series = Vec::new();
    assert_eq!(
        decode_series(&buf, &mut series),
        Err(DecodeError::WrongType {
            expected: RecordType::Series,
            found: 2
        })
    );
    assert_eq!(
        decode_series(&[], &mut series),
        Err(DecodeError::WrongType {
            expected: RecordType::Series,
            found: 0
        })
    );
    // A label value that is not UTF-8.
    let rec = b"\x01\0\0\0\0\0\0\0\x01\x01\x01a\x01\xff";
    assert_eq!(
        decode_series(rec, &mut series),
        Err(DecodeError::InvalidUtf8)
    );
    assert!(series.is_empty());
}
