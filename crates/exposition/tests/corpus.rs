//! Every file of the shared Prometheus textparse corpus parses, with the counts the files
//! really hold, and every sample equals an independent line-based reading.

mod common;

use common::{Owned, corpus, entries, naive_read, samples};
use ember_exposition::{Entry, Format, MetricType, format_float};
use std::collections::BTreeMap;

/// What a body holds, by entry kind.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    help: usize,
    types: BTreeMap<&'static str, usize>,
    units: usize,
    comments: usize,
    samples: usize,
    exemplars: usize,
    created: usize,
}

fn counts(body: &[u8], format: Format) -> Counts {
    let mut c = Counts::default();
    for entry in entries(body, format) {
        match entry {
            Entry::Help { .. } => c.help += 1,
            Entry::Type { kind, .. } => *c.types.entry(kind.as_str()).or_default() += 1,
            Entry::Unit { .. } => c.units += 1,
            Entry::Comment { .. } => c.comments += 1,
            Entry::Sample(s) => {
                c.samples += 1;
                c.exemplars += usize::from(s.exemplar.is_some());
                c.created += usize::from(s.is_created_series());
            }
        }
    }
    c
}

fn types(pairs: &[(&'static str, usize)]) -> BTreeMap<&'static str, usize> {
    pairs.iter().copied().collect()
}

#[test]
fn alltypes_counts() {
    // The README says 1835 samples, but that counts only lines with two fields: 22 more
    // samples have label values with spaces. 2332 lines = 237 HELP + 237 TYPE + `# EOF` +
    // 1857 samples.
    let want = Counts {
        help: 237,
        types: types(&[
            ("counter", 112),
            ("gauge", 97),
            ("histogram", 15),
            ("summary", 13),
        ]),
        comments: 1,
        samples: 1857,
        ..Counts::default()
    };
    assert_eq!(
        counts(&corpus("alltypes.237mfs.prom.txt"), Format::PromText),
        want
    );
}

#[test]
fn alltypes_nometa_counts() {
    let want = Counts {
        comments: 1,
        samples: 1857,
        ..Counts::default()
    };
    assert_eq!(
        counts(&corpus("alltypes.237mfs.nometa.prom.txt"), Format::PromText),
        want
    );
}

#[test]
fn openmetrics_alltypes_counts() {
    let want = Counts {
        help: 5,
        types: types(&[
            ("counter", 2),
            ("gauge", 1),
            ("histogram", 1),
            ("summary", 1),
        ]),
        samples: 53,
        exemplars: 6,
        created: 9,
        ..Counts::default()
    };
    assert_eq!(
        counts(&corpus("alltypes.5mfs.om.txt"), Format::OpenMetrics),
        want
    );
}

#[test]
fn openmetrics_histogram_without_final_newline_counts() {
    let body = corpus("1histogram.om.txt");
    assert!(body.ends_with(b"# EOF"), "the file ends without a newline");
    let want = Counts {
        help: 1,
        types: types(&[("histogram", 1)]),
        samples: 42,
        ..Counts::default()
    };
    assert_eq!(counts(&body, Format::OpenMetrics), want);
}

#[test]
fn promtool_metrics_test_counts() {
    let want = Counts {
        help: 4,
        types: types(&[
            ("counter", 1),
            ("gauge", 1),
            ("histogram", 1),
            ("summary", 1),
        ]),
        samples: 27,
        ..Counts::default()
    };
    assert_eq!(counts(&corpus("metrics-test.prom"), Format::PromText), want);
}

/// Each parsed sample equals the naive reading of the same line.
fn check_against_naive_reading(file: &str, format: Format) {
    let body = corpus(file);
    let parsed: Vec<Owned> = samples(&body, format).iter().map(Owned::of).collect();
    let naive = naive_read(
        std::str::from_utf8(&body).unwrap(),
        format == Format::OpenMetrics,
    );
    assert_eq!(parsed.len(), naive.len(), "{file}: sample count");
    for (i, (p, n)) in parsed.iter().zip(&naive).enumerate() {
        assert_eq!(p, n, "{file}: sample {i}");
    }
}

#[test]
fn every_sample_matches_a_naive_reading() {
    check_against_naive_reading("alltypes.237mfs.prom.txt", Format::PromText);
    check_against_naive_reading("alltypes.237mfs.nometa.prom.txt", Format::PromText);
    check_against_naive_reading("metrics-test.prom", Format::PromText);
    check_against_naive_reading("alltypes.5mfs.om.txt", Format::OpenMetrics);
    check_against_naive_reading("1histogram.om.txt", Format::OpenMetrics);
}

#[test]
fn series_ids_are_the_raw_series_text() {
    for (file, format) in [
        ("alltypes.237mfs.prom.txt", Format::PromText),
        ("alltypes.5mfs.om.txt", Format::OpenMetrics),
    ] {
        let body = corpus(file);
        let text = std::str::from_utf8(&body).unwrap();
        let lines = text.lines().filter(|l| !l.starts_with('#'));
        for (line, sample) in lines.zip(samples(&body, format)) {
            let id = std::str::from_utf8(sample.series_id()).unwrap();
            let line = line.split(" # ").next().unwrap();
            let want = match line.rfind('}') {
                Some(close) => &line[..=close],
                None => line.split(' ').next().unwrap(),
            };
            assert_eq!(id, want);
        }
    }
}

#[test]
fn text_values_were_written_by_go_and_format_back_identically() {
    // Prometheus wrote this file with Go's FormatFloat, so formatting each parsed value
    // must reproduce the text byte for byte (both in values and in `le` labels).
    let body = corpus("alltypes.237mfs.prom.txt");
    let text = std::str::from_utf8(&body).unwrap();
    let lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut checked = 0;
    for (line, sample) in lines.zip(samples(&body, Format::PromText)) {
        assert_eq!(
            format_float(sample.value),
            line.rsplit(' ').next().unwrap(),
            "{line}"
        );
        for (name, value) in sample.labels() {
            if name == "le" || name == "quantile" {
                let parsed: f64 = value.parse().unwrap();
                assert_eq!(format_float(parsed), value, "{line}");
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "only {checked} le/quantile labels");
}

#[test]
fn family_types_reach_their_samples() {
    let body = corpus("alltypes.237mfs.prom.txt");
    let by_name: BTreeMap<String, Option<MetricType>> = samples(&body, Format::PromText)
        .iter()
        .map(|s| (s.metric_name().into_owned(), s.metric_type))
        .collect();
    assert_eq!(by_name["go_gc_duration_seconds"], Some(MetricType::Summary));
    assert_eq!(
        by_name["go_gc_duration_seconds_count"],
        Some(MetricType::Summary)
    );
    assert_eq!(
        by_name["go_gc_heap_allocs_by_size_bytes_bucket"],
        Some(MetricType::Histogram)
    );
    assert_eq!(by_name["go_gc_gogc_percent"], Some(MetricType::Gauge));
    assert_eq!(
        by_name["promhttp_metric_handler_requests_total"],
        Some(MetricType::Counter)
    );
    assert!(
        by_name.values().all(Option::is_some),
        "every sample in this file has a TYPE"
    );

    let nometa = corpus("alltypes.237mfs.nometa.prom.txt");
    assert!(
        samples(&nometa, Format::PromText)
            .iter()
            .all(|s| s.metric_type.is_none())
    );
}

#[test]
fn openmetrics_exemplars_and_created_series() {
    let body = corpus("alltypes.5mfs.om.txt");
    let all = samples(&body, Format::OpenMetrics);

    let bucket = all
        .iter()
        .find(|s| {
            s.series_id()
                == br#"rpc_durations_histogram_seconds_bucket{le="-0.0002899999999999998"}"#
        })
        .unwrap();
    assert_eq!(bucket.value, 3.0);
    assert_eq!(bucket.metric_type, Some(MetricType::Histogram));
    let exemplar = bucket.exemplar.as_ref().unwrap();
    let labels: Vec<_> = exemplar.labels().collect();
    assert_eq!(labels, [("dummyID".into(), "17783".into())]);
    assert_eq!(exemplar.value, -0.0003825067330956884);
    assert_eq!(
        exemplar.timestamp_ms,
        Some((1.7268398142239082e9_f64 * 1000.0) as i64)
    );
    assert_eq!(exemplar.timestamp_ms, Some(1726839814223));

    let created: Vec<_> = all.iter().filter(|s| s.is_created_series()).collect();
    assert_eq!(created.len(), 9);
    let first = created[0];
    assert_eq!(
        first.metric_name(),
        "promhttp_metric_handler_errors_created"
    );
    assert_eq!(
        first.labels().collect::<Vec<_>>(),
        [("cause".into(), "encoding".into())]
    );
    assert_eq!(first.value, 1.726839813016397e9);
    assert_eq!(first.metric_type, Some(MetricType::Counter));
    assert!(
        created
            .iter()
            .all(|s| s.metric_name().ends_with("_created") && s.timestamp_ms.is_none())
    );

    let total = all
        .iter()
        .find(|s| s.metric_name() == "rpc_requests_total")
        .unwrap();
    assert_eq!(total.metric_type, Some(MetricType::Counter));
    assert!(!total.is_created_series());
    let info = all
        .iter()
        .find(|s| s.metric_name() == "go_build_info")
        .unwrap();
    assert_eq!(info.metric_type, Some(MetricType::Gauge));
}

#[test]
fn openmetrics_corpus_is_rejected_without_its_eof() {
    let body = corpus("alltypes.5mfs.om.txt");
    let cut = &body[..body.len() - b"# EOF\n".len()];
    let err = common::error(cut, Format::OpenMetrics);
    assert_eq!(
        (err.line, err.message.as_str()),
        (64, "data does not end with # EOF")
    );
}

#[test]
fn text_corpus_without_openmetrics_differences_reads_the_same_in_both() {
    // This file uses single spaces, no comments and no `untyped`, so with `# EOF` appended
    // it is also OpenMetrics, and both parsers must agree on it.
    let body = corpus("metrics-test.prom");
    let mut om = body.clone();
    om.extend_from_slice(b"# EOF\n");
    let as_text: Vec<Owned> = samples(&body, Format::PromText)
        .iter()
        .map(Owned::of)
        .collect();
    let as_om: Vec<Owned> = samples(&om, Format::OpenMetrics)
        .iter()
        .map(Owned::of)
        .collect();
    assert_eq!(as_text, as_om);
}
