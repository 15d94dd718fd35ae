//! The text writer: byte-identical to Go's expfmt on a real scrape, and write → parse
//! round-trips names, labels, values and timestamps.

mod common;

use common::{Owned, corpus, entries, samples};
use ember_exposition::{Entry, Format, MetricType, NORMAL_NAN, TextWriter};

/// Writes parsed entries back out; comments are copied as they are.
fn rewrite(all: &[Entry<'_>]) -> String {
    let mut out = String::new();
    for entry in all {
        let mut w = TextWriter::new(&mut out);
        match entry {
            Entry::Help { metric, text } => w.help(metric, text),
            Entry::Type { metric, kind } => w.metric_type(metric, *kind),
            Entry::Sample(s) => {
                let labels: Vec<_> = s.labels().collect();
                w.sample(
                    &s.metric_name(),
                    labels.iter().map(|(n, v)| (&**n, &**v)),
                    s.value,
                    s.timestamp_ms,
                );
            }
            Entry::Comment { text } => {
                out.push_str(text);
                out.push('\n');
            }
            Entry::Unit { .. } => unreachable!("the text format has no units"),
        }
    }
    out
}

#[test]
fn rewriting_a_prometheus_scrape_reproduces_it_byte_for_byte() {
    // Prometheus's own /metrics output, written by Go's expfmt: same escaping, same floats.
    for file in [
        "alltypes.237mfs.prom.txt",
        "alltypes.237mfs.nometa.prom.txt",
        "metrics-test.prom",
    ] {
        let body = corpus(file);
        let rewritten = rewrite(&entries(&body, Format::PromText));
        assert_eq!(rewritten, std::str::from_utf8(&body).unwrap(), "{file}");
    }
}

#[test]
fn round_trip_of_awkward_names_labels_and_values() {
    let label_sets: &[&[(&str, &str)]] = &[
        &[],
        &[("a", "plain")],
        &[
            ("quote", "say \"hi\""),
            ("backslash", r"C:\path\n"),
            ("newline", "two\nlines"),
        ],
        &[("utf8", "Heizölrückstoßabdämpfung 10€ ©™"), ("empty", "")],
        &[
            ("dotted.name", "x"),
            ("a:b", "colon"),
            ("with space", "y"),
            ("q\"uote", "z"),
        ],
    ];
    let names = [
        "up",
        "ns:sub_total",
        "my.metric",
        "metric with \"quotes\" and \\ and \nnewline",
    ];
    let values = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        1e-5,
        123456789.0,
        1.7976931348623157e308,
        5e-324,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    // The text format has no negative timestamps: Prometheus reads only digits there.
    let timestamps = [
        None,
        Some(0),
        Some(1),
        Some(1_700_000_000_123),
        Some(i64::MAX),
    ];

    let mut body = String::new();
    let mut want = Vec::new();
    let mut w = TextWriter::new(&mut body);
    for (i, name) in names.iter().enumerate() {
        w.help(name, "help with \\ backslash,\nnewline and \"quotes\"");
        w.metric_type(
            name,
            [
                MetricType::Counter,
                MetricType::Gauge,
                MetricType::Summary,
                MetricType::Histogram,
            ][i],
        );
        for (j, labels) in label_sets.iter().enumerate() {
            let value = values[(i * 5 + j) % values.len()];
            let ts = timestamps[(i + j) % timestamps.len()];
            w.sample(name, labels.iter().copied(), value, ts);
            want.push(Owned {
                name: name.to_string(),
                labels: labels
                    .iter()
                    .map(|&(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                value_bits: if value.is_nan() {
                    NORMAL_NAN.to_bits()
                } else if value == 0.0 {
                    0f64.to_bits()
                } else {
                    value.to_bits()
                },
                timestamp_ms: ts,
                exemplar: None,
            });
        }
    }

    let parsed = entries(body.as_bytes(), Format::PromText);
    let helps: Vec<_> = parsed
        .iter()
        .filter_map(|e| {
            if let Entry::Help { text, .. } = e {
                Some(text.clone())
            } else {
                None
            }
        })
        .collect();
    assert!(
        helps
            .iter()
            .all(|h| h == "help with \\ backslash,\nnewline and \"quotes\""),
        "{helps:?}"
    );
    let got: Vec<Owned> = samples(body.as_bytes(), Format::PromText)
        .iter()
        .map(Owned::of)
        .collect();
    assert_eq!(got, want, "body:\n{body}");
    assert!(
        samples(body.as_bytes(), Format::PromText)
            .iter()
            .all(|s| s.metric_type.is_some())
    );
}

#[test]
fn every_float_round_trips_through_text() {
    // A deterministic spread of bit patterns: all exponents, random mantissas.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut body = String::new();
    let mut want = Vec::new();
    let mut w = TextWriter::new(&mut body);
    for _ in 0..20_000 {
        let v = f64::from_bits(next());
        if v.is_nan() || v == 0.0 {
            continue;
        }
        w.sample("v", [], v, None);
        want.push(v.to_bits());
    }
    let got: Vec<u64> = samples(body.as_bytes(), Format::PromText)
        .iter()
        .map(|s| s.value.to_bits())
        .collect();
    assert_eq!(got, want);
}
