//! The Prometheus text format: accepted syntax, escapes, names, timestamps, errors.

mod common;

use common::{check_errors, describe_all, error, samples};
use ember_exposition::{Entry, Format, MetricType, NORMAL_NAN, Parser};
use std::borrow::Cow;

#[test]
fn whitespace_comments_and_metadata() {
    let body = "# HELP rpc_seconds Latency of RPCs.\n\
                #  \tTYPE rpc_seconds summary\n\
                rpc_seconds{quantile=\"0\"} 4.9351e-05\n\
                rpc_seconds{quantile=\"0.25\",} 7.424100000000001e-05\n\
                rpc_seconds{ quantile=\"0.5\", svc=\"x\"} 1\n\
                rpc_seconds { quantile = \"0.9\" , svc = \"x\" , } 2\n\
                rpc_seconds{quantile=\"1\" svc=\"x\"} 3\n\
                # Hrandom comment that starts like HELP\n\
                #\n\
                #HELP not metadata without a blank\n\
                # HELP\n\
                \n   \t\n\
                wind:speed:rate5m{A=\"2\",c=\"3\"}\t12345\n\
                # HELP nohelp1\n\
                # HELP nohelp2 \n\
                # HELP twoblanks  keeps one\n\
                rpc_seconds_count 99\n\
                \t  _underscore 1  \t 1700000000000\n\
                # EOF\n\
                after_eof 1";
    assert_eq!(
        describe_all(body, Format::PromText),
        [
            r#"help "rpc_seconds" "Latency of RPCs.""#,
            r#"type "rpc_seconds" summary"#,
            r#""rpc_seconds"{"quantile"="0"} 4.9351e-5 [summary]"#,
            r#""rpc_seconds"{"quantile"="0.25"} 7.424100000000001e-5 [summary]"#,
            r#""rpc_seconds"{"quantile"="0.5","svc"="x"} 1.0 [summary]"#,
            r#""rpc_seconds"{"quantile"="0.9","svc"="x"} 2.0 [summary]"#,
            r#""rpc_seconds"{"quantile"="1","svc"="x"} 3.0 [summary]"#,
            r##"comment "# Hrandom comment that starts like HELP""##,
            r##"comment "#""##,
            r##"comment "#HELP not metadata without a blank""##,
            r##"comment "# HELP""##,
            r#""wind:speed:rate5m"{"A"="2","c"="3"} 12345.0"#,
            r#"help "nohelp1" """#,
            r#"help "nohelp2" """#,
            r#"help "twoblanks" " keeps one""#,
            r#""rpc_seconds_count"{} 99.0 [summary]"#,
            r#""_underscore"{} 1.0 @1700000000000"#,
            r##"comment "# EOF""##,
            r#""after_eof"{} 1.0"#,
        ]
    );
}

#[test]
fn series_id_is_the_series_as_written() {
    let body = b"a 1\nb{x=\"1\"} 2\nc {x=\"1\", } 3 4\n{\"d.e\",x=\"1\"} 5\n";
    let ids: Vec<&[u8]> = samples(body, Format::PromText)
        .iter()
        .map(|s| s.series_id())
        .collect();
    assert_eq!(
        ids,
        [
            &b"a"[..],
            b"b{x=\"1\"}",
            b"c {x=\"1\", }",
            b"{\"d.e\",x=\"1\"}"
        ]
    );
}

#[test]
fn escapes() {
    let body = concat!(
        "# HELP esc help \\\\ backslash \\n newline \\\" quote \\x other\n",
        "m{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\",d=\"keep \\x and \\t\",e=\"ü\\u00fc\"} 1\n",
        "m{a=\"\\\\n\"} 2\n",
    );
    assert_eq!(
        describe_all(body, Format::PromText),
        [
            r#"help "esc" "help \\ backslash \n newline \\\" quote \\x other""#,
            r#""m"{"a"="q\"uote","b"="back\\slash","c"="new\nline","d"="keep \\x and \\t","e"="ü\\u00fc"} 1.0"#,
            r#""m"{"a"="\\n"} 2.0"#,
        ]
    );
}

#[test]
fn decoding_borrows_unless_escaped() {
    let body = b"plain{a=\"b\"} 1\nesc{a=\"b\\n\"} 1\n";
    let all = samples(body, Format::PromText);
    let (_, plain) = all[0].labels().next().unwrap();
    assert!(matches!(plain, Cow::Borrowed("b")));
    assert!(matches!(all[0].metric_name(), Cow::Borrowed("plain")));
    let (_, escaped) = all[1].labels().next().unwrap();
    assert!(matches!(escaped, Cow::Owned(_)));
}

#[test]
fn quoted_utf8_names() {
    let body = concat!(
        "# HELP \"go.gc_duration_seconds\" A summary.\n",
        "# TYPE \"go.gc_duration_seconds\" summary\n",
        "{\"go.gc_duration_seconds\",quantile=\"0\"} 4.9351e-05\n",
        "{ \"go.gc_duration_seconds\", quantile = \"1.0\", \"a.b\" = \"c\" , } 1\n",
        "{quantile=\"0.5\",\"go.gc_duration_seconds\"} 2\n",
        "{\"go.gc_duration_seconds_count\"} 99\n",
        "{\"Heizölrückstoßabdämpfung 10€ with \\\"quotes\\\" {and\\nnewline}\",\"strange©™\\n'quoted' \\\"name\\\"\"=\"6\"} 10.0\n",
        "plain{\"label.with.dots\"=\"v\"} 3\n",
    );
    assert_eq!(
        describe_all(body, Format::PromText),
        [
            r#"help "go.gc_duration_seconds" "A summary.""#,
            r#"type "go.gc_duration_seconds" summary"#,
            r#""go.gc_duration_seconds"{"quantile"="0"} 4.9351e-5 [summary]"#,
            r#""go.gc_duration_seconds"{"quantile"="1.0","a.b"="c"} 1.0 [summary]"#,
            r#""go.gc_duration_seconds"{"quantile"="0.5"} 2.0 [summary]"#,
            r#""go.gc_duration_seconds_count"{} 99.0 [summary]"#,
            r#""Heizölrückstoßabdämpfung 10€ with \"quotes\" {and\nnewline}"{"strange©™\n'quoted' \"name\""="6"} 10.0"#,
            r#""plain"{"label.with.dots"="v"} 3.0"#,
        ]
    );
}

#[test]
fn to_labels_adds_the_name_and_sorts() {
    let body = b"{\"a.b\", z=\"1\", \"y.y\"=\"2\", e=\"\"} 1\n";
    let labels = samples(body, Format::PromText)[0].to_labels();
    assert_eq!(labels.to_string(), r#"{__name__="a.b", y.y="2", z="1"}"#);
}

#[test]
fn to_labels_normalizes_bucket_and_quantile_floats() {
    let body = concat!(
        "# TYPE h histogram\n",
        "h_bucket{le=\"1\"} 1\n",
        "h_bucket{le=\"0.25\"} 1\n",
        "h_bucket{le=\"1e6\"} 1\n",
        "h_bucket{le=\"+Inf\"} 1\n",
        "h_bucket{le=\"not a float\"} 1\n",
        "# TYPE s summary\n",
        "s{quantile=\"0\",le=\"1\"} 1\n",
        "# TYPE g gauge\n",
        "g{le=\"1\",quantile=\"1\"} 1\n",
    );
    let labels: Vec<String> = samples(body.as_bytes(), Format::PromText)
        .iter()
        .map(|s| s.to_labels().to_string())
        .collect();
    assert_eq!(
        labels,
        [
            r#"{__name__="h_bucket", le="1.0"}"#,
            r#"{__name__="h_bucket", le="0.25"}"#,
            r#"{__name__="h_bucket", le="1e+06"}"#,
            r#"{__name__="h_bucket", le="+Inf"}"#,
            r#"{__name__="h_bucket", le="not a float"}"#,
            r#"{__name__="s", le="1", quantile="0.0"}"#,
            r#"{__name__="g", le="1", quantile="1"}"#,
        ]
    );
}

#[test]
fn values() {
    let body = "a 1\nb -0\nc +Inf\nd -Inf\ne Inf\nf inf\ng Infinity\nh NaN\ni nan\nj 1e-400\nk .5\nl 1.\nm -1.5E+3\nn 12345678901234567890\n";
    let values: Vec<u64> = samples(body.as_bytes(), Format::PromText)
        .iter()
        .map(|s| s.value.to_bits())
        .collect();
    let want: Vec<u64> = [
        1.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::INFINITY,
        f64::INFINITY,
        NORMAL_NAN,
        NORMAL_NAN,
        0.0,
        0.5,
        1.0,
        -1500.0,
        12345678901234567890.0,
    ]
    .iter()
    .map(|v| v.to_bits())
    .collect();
    assert_eq!(values, want);
    assert!(!ember_model::is_stale_nan(NORMAL_NAN));
}

#[test]
fn timestamps_are_integer_milliseconds() {
    let body = b"a 1 0\nb 1 1700000000123\nc 1 9223372036854775807\nd 1\n";
    let ts: Vec<Option<i64>> = samples(body, Format::PromText)
        .iter()
        .map(|s| s.timestamp_ms)
        .collect();
    assert_eq!(ts, [Some(0), Some(1_700_000_000_123), Some(i64::MAX), None]);
}

#[test]
fn types_apply_only_to_their_family() {
    let body = concat!(
        "# TYPE http_requests_total counter\n",
        "http_requests_total 1\n",
        "http_requests_created 2\n",
        "other_metric 3\n",
        "# TYPE legacy untyped\n",
        "legacy 4\n",
        "# TYPE lat histogram\n",
        "lat_bucket{le=\"1\"} 5\n",
        "lat_sum 6\n",
        "lat_count 7\n",
        "lat_total 8\n",
    );
    let types: Vec<(String, Option<MetricType>, bool)> = samples(body.as_bytes(), Format::PromText)
        .iter()
        .map(|s| {
            (
                s.metric_name().into_owned(),
                s.metric_type,
                s.is_created_series(),
            )
        })
        .collect();
    let want = [
        ("http_requests_total", Some(MetricType::Counter), false),
        ("http_requests_created", Some(MetricType::Counter), true),
        ("other_metric", None, false),
        ("legacy", Some(MetricType::Unknown), false),
        ("lat_bucket", Some(MetricType::Histogram), false),
        ("lat_sum", Some(MetricType::Histogram), false),
        ("lat_count", Some(MetricType::Histogram), false),
        ("lat_total", None, false),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|&(n, t, c)| (n.to_string(), t, c))
        .collect();
    assert_eq!(types, want);
}

#[test]
fn nul_bytes_are_allowed_inside_label_values_and_help() {
    let body = b"# HELP m foo\x00bar\nm{a=\"abc\x00\"} 1\n";
    let all: Vec<Entry> = Parser::new(body, Format::PromText)
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        all[0],
        Entry::Help {
            metric: "m".into(),
            text: "foo\0bar".into()
        }
    );
    let Entry::Sample(s) = &all[1] else {
        panic!("not a sample")
    };
    assert_eq!(s.labels().next().unwrap().1, "abc\0");
}

#[test]
fn empty_body_has_no_entries() {
    assert_eq!(Parser::new(b"", Format::PromText).count(), 0);
    assert_eq!(Parser::new(b"\n\n  \n", Format::PromText).count(), 0);
}

#[test]
fn errors_name_line_and_reason() {
    check_errors(
        Format::PromText,
        &[
            (
                "a",
                1,
                r#"expected value after metric, got "\n" ("INVALID") while parsing: "a\n""#,
            ),
            (
                "ok 1\na{b='c'} 1\n",
                2,
                r#"expected label value, got "'" ("INVALID") while parsing: "a{b='""#,
            ),
            (
                "a{b=\n",
                1,
                r#"expected label value, got "\n" ("INVALID") while parsing: "a{b=\n""#,
            ),
            (
                "a{ü=\"foo\"} 1\n",
                1,
                r#"expected label name, got "\xc3" ("INVALID") while parsing: "a{\xc3""#,
            ),
            (
                "a{b=\"c\"}{d=\"e\"} 1",
                1,
                r#"expected value after metric, got "{d" ("BOPEN") while parsing: "a{b=\"c\"}{d""#,
            ),
            (
                "a{b=\"c\" 1",
                1,
                r#"expected label name, got "1" ("INVALID") while parsing: "a{b=\"c\" 1""#,
            ),
            (
                r#"{"a", "b = "c"}"#,
                1,
                r#"expected equal, got "c\"" ("LNAME") while parsing: "{\"a\", \"b = \"c\"""#,
            ),
            (
                r#"{"a",b\nc="d"} 1"#,
                1,
                r#"expected equal, got "\\" ("INVALID") while parsing: "{\"a\",b\\""#,
            ),
            (
                "a true\n",
                1,
                r#"strconv.ParseFloat: parsing "true": invalid syntax while parsing: "a true""#,
            ),
            (
                "a +nan\n",
                1,
                r#"strconv.ParseFloat: parsing "+nan": invalid syntax while parsing: "a +nan""#,
            ),
            (
                "a 1e400\n",
                1,
                r#"strconv.ParseFloat: parsing "1e400": value out of range while parsing: "a 1e400""#,
            ),
            (
                "something_weird{problem=\"",
                1,
                r#"expected label value, got "\"\n" ("INVALID") while parsing: "something_weird{problem=\"\n""#,
            ),
            (
                "empty_label_name{=\"\"} 0",
                1,
                r#"expected label name, got "=\"" ("EQUAL") while parsing: "empty_label_name{=\"""#,
            ),
            (
                "foo 1_2\n",
                1,
                r#"unsupported character in float while parsing: "foo 1_2""#,
            ),
            (
                "foo 0x1p-3\n",
                1,
                r#"unsupported character in float while parsing: "foo 0x1p-3""#,
            ),
            (
                "foo 0 1_2\n",
                1,
                r#"expected next entry after timestamp, got "_" ("INVALID") while parsing: "foo 0 1_""#,
            ),
            (
                "a 1 -5\n",
                1,
                r#"expected timestamp or new record, got "-" ("INVALID") while parsing: "a 1 -""#,
            ),
            (
                "a 1 1.5\n",
                1,
                r#"expected next entry after timestamp, got "." ("INVALID") while parsing: "a 1 1.""#,
            ),
            (
                "a 1\r\n",
                1,
                r#"strconv.ParseFloat: parsing "1\r": invalid syntax while parsing: "a 1\r""#,
            ),
            (
                "a 1 99999999999999999999\n",
                1,
                r#"strconv.ParseInt: parsing "99999999999999999999": value out of range while parsing: "a 1 99999999999999999999""#,
            ),
            (
                r#"{a="ok"} 1"#,
                1,
                r#"metric name not set while parsing: "{a=\"ok\"} 1""#,
            ),
            (
                r#"{"a","b"} 1"#,
                1,
                r#"metric name already set while parsing: "{\"a\",\"b\"}""#,
            ),
            (
                "# TYPE #\n",
                1,
                r##"expected metric name after TYPE, got "#" ("INVALID") while parsing: "# TYPE #""##,
            ),
            (
                "# HELP \n",
                1,
                r##"expected metric name after HELP, got "\n" ("INVALID") while parsing: "# HELP \n""##,
            ),
            (
                "# TYPE m gaugehistogram\n",
                1,
                r#"invalid metric type "gaugehistogram""#,
            ),
            (
                "# TYPE m counter \n",
                1,
                r#"invalid metric type "counter ""#,
            ),
            ("# TYPE m\n", 1, r#"invalid metric type """#),
            (
                "9a 1\n",
                1,
                r#"expected a valid start token, got "9" ("INVALID") while parsing: "9""#,
            ),
            (
                "a 1\n\n# c\nb{ 2\n",
                4,
                r#"expected label name, got "2" ("INVALID") while parsing: "b{ 2""#,
            ),
            (
                "\0\n",
                1,
                r#"expected a valid start token, got "\x00" ("INVALID") while parsing: "\x00""#,
            ),
        ],
    );
}

#[test]
fn invalid_utf8_is_rejected() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"a{b=\"\xff\"} 1\n",
            r#"invalid UTF-8 label value: "\"\xff\"""#,
        ),
        (b"{\"\xff\"} 1\n", r#"invalid UTF-8 label name: "\"\xff\"""#),
        (
            b"# HELP m \xff\n",
            r#"help text "\xff" is not a valid utf8 string"#,
        ),
        (
            b"# TYPE \"\xfe\" gauge\n",
            r#"invalid UTF-8 metric name: "\"\xfe\"""#,
        ),
        (
            b"a{\xff=\"foo\"} 1\n",
            r#"expected label name, got "\xff" ("INVALID") while parsing: "a{\xff""#,
        ),
    ];
    for &(body, message) in cases {
        let err = error(body, Format::PromText);
        assert_eq!((err.line, err.message.as_str()), (1, message), "{body:?}");
    }
}
