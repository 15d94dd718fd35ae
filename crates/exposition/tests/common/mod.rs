//! Helpers shared by the integration tests: corpus access, owned copies of parsed samples,
//! and an independent, deliberately simple reader to compare the parser against.

#![allow(dead_code)] // Each test binary uses its own subset.

use ember_exposition::{Entry, Format, NORMAL_NAN, ParseError, Parser, Sample};

/// A file of the shared textparse corpus.
pub(crate) fn corpus(name: &str) -> Vec<u8> {
    let path = ember_testkit::shared_dir()
        .join("textparse-testdata")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// All entries of a body that must parse.
pub(crate) fn entries(body: &[u8], format: Format) -> Vec<Entry<'_>> {
    Parser::new(body, format)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}\nbody: {:?}", String::from_utf8_lossy(body)))
}

/// The samples of a body that must parse.
pub(crate) fn samples(body: &[u8], format: Format) -> Vec<Sample<'_>> {
    entries(body, format)
        .into_iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// The error a body must fail with; also checks the parser stops after it.
pub(crate) fn error(body: &[u8], format: Format) -> ParseError {
    let mut parser = Parser::new(body, format);
    let err = parser
        .by_ref()
        .find_map(Result::err)
        .unwrap_or_else(|| panic!("expected an error for {:?}", String::from_utf8_lossy(body)));
    assert!(parser.next().is_none(), "parser must stop after an error");
    err
}

/// A sample with everything decoded and owned, comparable across readers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Owned {
    pub(crate) name: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value_bits: u64,
    pub(crate) timestamp_ms: Option<i64>,
    pub(crate) exemplar: Option<OwnedExemplar>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OwnedExemplar {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value_bits: u64,
    pub(crate) timestamp_ms: Option<i64>,
}

impl Owned {
    pub(crate) fn of(s: &Sample<'_>) -> Owned {
        Owned {
            name: s.metric_name().into_owned(),
            labels: s
                .labels()
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect(),
            value_bits: s.value.to_bits(),
            timestamp_ms: s.timestamp_ms,
            exemplar: s.exemplar.as_ref().map(|e| OwnedExemplar {
                labels: e
                    .labels()
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect(),
                value_bits: e.value.to_bits(),
                timestamp_ms: e.timestamp_ms,
            }),
        }
    }
}

/// Reads samples line by line with string splitting, knowing nothing of the parser: the
/// series ends at the last `}` (or the first space), labels are `name="value"` pairs with
/// backslash escapes, then whitespace-separated value and timestamp. OpenMetrics
/// exemplars follow ` # `, and OpenMetrics timestamps are seconds.
pub(crate) fn naive_read(text: &str, openmetrics: bool) -> Vec<Owned> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (main, exemplar) = match line.split_once(" # ") {
                Some((main, exemplar)) if openmetrics => (main, Some(exemplar)),
                _ => (line, None),
            };
            let (name, labels, rest) = split_series(main);
            let mut fields = rest.split_whitespace();
            let value = naive_value(fields.next().expect("a value"));
            let timestamp_ms = fields.next().map(|t| naive_timestamp(t, openmetrics));
            assert_eq!(fields.next(), None, "trailing fields in {line:?}");
            let exemplar = exemplar.map(|e| {
                let (_, labels, rest) = split_series(e);
                let mut fields = rest.split_whitespace();
                OwnedExemplar {
                    labels,
                    value_bits: naive_value(fields.next().expect("an exemplar value")),
                    timestamp_ms: fields.next().map(|t| naive_timestamp(t, true)),
                }
            });
            Owned {
                name,
                labels,
                value_bits: value,
                timestamp_ms,
                exemplar,
            }
        })
        .collect()
}

fn split_series(s: &str) -> (String, Vec<(String, String)>, &str) {
    match (s.find('{'), s.rfind('}')) {
        (Some(open), Some(close)) => (
            s[..open].to_string(),
            naive_labels(&s[open + 1..close]),
            &s[close + 1..],
        ),
        _ => {
            let (name, rest) = s.split_once(' ').expect("name and value");
            (name.to_string(), Vec::new(), rest)
        }
    }
}

fn naive_labels(block: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = block.chars();
    loop {
        let name: String = chars.by_ref().take_while(|&c| c != '=').collect();
        let name = name.trim_start_matches(',').trim().to_string();
        if name.is_empty() {
            return out;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => panic!("dangling escape"),
                },
                c => value.push(c),
            }
        }
        out.push((name, value));
    }
}

fn naive_value(text: &str) -> u64 {
    let v: f64 = text
        .parse()
        .unwrap_or_else(|e| panic!("value {text:?}: {e}"));
    if v.is_nan() {
        NORMAL_NAN.to_bits()
    } else {
        v.to_bits()
    }
}

fn naive_timestamp(text: &str, seconds: bool) -> i64 {
    if seconds {
        let s: f64 = text.parse().expect("a float timestamp");
        (s * 1000.0) as i64
    } else {
        text.parse().expect("an integer timestamp")
    }
}

/// A one-line description of an entry, for compact expected tables.
pub(crate) fn describe(entry: &Entry<'_>) -> String {
    match entry {
        Entry::Help { metric, text } => format!("help {metric:?} {text:?}"),
        Entry::Type { metric, kind } => format!("type {metric:?} {kind}"),
        Entry::Unit { metric, unit } => format!("unit {metric:?} {unit:?}"),
        Entry::Comment { text } => format!("comment {text:?}"),
        Entry::Sample(s) => {
            let labels: Vec<String> = s.labels().map(|(n, v)| format!("{n:?}={v:?}")).collect();
            let mut out = format!(
                "{:?}{{{}}} {:?}",
                s.metric_name(),
                labels.join(","),
                s.value
            );
            if let Some(ts) = s.timestamp_ms {
                out.push_str(&format!(" @{ts}"));
            }
            if let Some(e) = &s.exemplar {
                let labels: Vec<String> = e.labels().map(|(n, v)| format!("{n:?}={v:?}")).collect();
                out.push_str(&format!(" # {{{}}} {:?}", labels.join(","), e.value));
                if let Some(ts) = e.timestamp_ms {
                    out.push_str(&format!(" @{ts}"));
                }
            }
            if let Some(kind) = s.metric_type {
                out.push_str(&format!(" [{kind}]"));
            }
            out
        }
    }
}

/// Descriptions of all entries of a body that must parse.
pub(crate) fn describe_all(body: &str, format: Format) -> Vec<String> {
    entries(body.as_bytes(), format)
        .iter()
        .map(describe)
        .collect()
}

/// Checks each `(body, line, message)` case fails exactly so.
pub(crate) fn check_errors(format: Format, cases: &[(&str, usize, &str)]) {
    for &(body, line, message) in cases {
        let err = error(body.as_bytes(), format);
        assert_eq!(
            (err.line, err.message.as_str()),
            (line, message),
            "body: {body:?}"
        );
    }
}
