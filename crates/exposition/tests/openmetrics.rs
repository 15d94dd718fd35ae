//! OpenMetrics 1.0: metadata, units, exemplars, float-second timestamps, `# EOF`, errors.

mod common;

use common::{check_errors, describe_all, samples};
use ember_exposition::{Format, MetricType, NORMAL_NAN, Parser};

#[test]
fn families_exemplars_and_timestamps() {
    let body = concat!(
        "# HELP rpc_seconds RPC latency.\n",
        "# TYPE rpc_seconds summary\n",
        "# UNIT rpc_seconds seconds\n",
        "rpc_seconds{quantile=\"0.5\"} 4.9351e-05\n",
        "rpc_seconds_count 99 # {id=\"count-ex\"} 1 123.321\n",
        "rpc_seconds_sum 42.0\n",
        "rpc_seconds_created 1520430000.123\n",
        "# HELP nohelp \n",
        "# HELP esc escape \\ \\n \\\\ \\\" \\x chars\n",
        "# UNIT nounit \n",
        "# TYPE goroutines gauge\n",
        "goroutines 33 123.123\n",
        "# TYPE hh histogram\n",
        "hh_bucket{le=\"+Inf\"} 1 # {id=\"bucket-ex\"} 4\n",
        "hh_count 1 # {id=\"c\",xx=\"yy\"} 4 123.123\n",
        "# TYPE gh gaugehistogram\n",
        "gh_bucket{le=\"+Inf\"} 1\n",
        "gh_gcount 1\n",
        "gh_gsum 2\n",
        "# TYPE build info\n",
        "build_info{version=\"1.2\"} 1\n",
        "# TYPE ss stateset\n",
        "ss{ss=\"foo\"} 1\n",
        "ss{ss=\"bar\"} 0\n",
        "# TYPE un unknown\n",
        "un 1\n",
        "# TYPE foo counter\n",
        "foo_total 17.0 1520879607.789 # {id=\"counter-test\"} 5\n",
        "foo_created 1520430000\n",
        "foo_total{a=\"b\",} NaN -1.5 # {} +Inf\n",
        "# EOF\n",
    );
    assert_eq!(
        describe_all(body, Format::OpenMetrics),
        [
            r#"help "rpc_seconds" "RPC latency.""#,
            r#"type "rpc_seconds" summary"#,
            r#"unit "rpc_seconds" "seconds""#,
            r#""rpc_seconds"{"quantile"="0.5"} 4.9351e-5 [summary]"#,
            r#""rpc_seconds_count"{} 99.0 # {"id"="count-ex"} 1.0 @123321 [summary]"#,
            r#""rpc_seconds_sum"{} 42.0 [summary]"#,
            r#""rpc_seconds_created"{} 1520430000.123 [summary]"#,
            r#"help "nohelp" """#,
            r#"help "esc" "escape \\ \n \\ \" \\x chars""#,
            r#"unit "nounit" """#,
            r#"type "goroutines" gauge"#,
            r#""goroutines"{} 33.0 @123123 [gauge]"#,
            r#"type "hh" histogram"#,
            r#""hh_bucket"{"le"="+Inf"} 1.0 # {"id"="bucket-ex"} 4.0 [histogram]"#,
            r#""hh_count"{} 1.0 # {"id"="c","xx"="yy"} 4.0 @123123 [histogram]"#,
            r#"type "gh" gaugehistogram"#,
            r#""gh_bucket"{"le"="+Inf"} 1.0 [gaugehistogram]"#,
            r#""gh_gcount"{} 1.0 [gaugehistogram]"#,
            r#""gh_gsum"{} 2.0 [gaugehistogram]"#,
            r#"type "build" info"#,
            r#""build_info"{"version"="1.2"} 1.0 [info]"#,
            r#"type "ss" stateset"#,
            r#""ss"{"ss"="foo"} 1.0 [stateset]"#,
            r#""ss"{"ss"="bar"} 0.0 [stateset]"#,
            r#"type "un" unknown"#,
            r#""un"{} 1.0 [unknown]"#,
            r#"type "foo" counter"#,
            r#""foo_total"{} 17.0 @1520879607789 # {"id"="counter-test"} 5.0 [counter]"#,
            r#""foo_created"{} 1520430000.0 [counter]"#,
            r#""foo_total"{"a"="b"} NaN @-1500 # {} inf [counter]"#,
        ]
    );
}

#[test]
fn created_series_and_nan_bits() {
    let body = b"# TYPE foo counter\nfoo_total 1 # {} NaN\nfoo_created 1.5e9\n# TYPE g gauge\ng_created 1\n# EOF";
    let all = samples(body, Format::OpenMetrics);
    let created: Vec<bool> = all.iter().map(|s| s.is_created_series()).collect();
    assert_eq!(created, [false, true, false]);
    assert_eq!(
        all[0].exemplar.as_ref().unwrap().value.to_bits(),
        NORMAL_NAN.to_bits()
    );
}

#[test]
fn quoted_utf8_names() {
    let body = concat!(
        "# HELP \"go.gc_duration_seconds\" A summary.\n",
        "# TYPE \"go.gc_duration_seconds\" summary\n",
        "# UNIT \"go.gc_duration_seconds\" seconds\n",
        "{\"go.gc_duration_seconds\",quantile=\"0\"} 4.9351e-05\n",
        "{\"http.status\",q=\"0.9\",\"a.b\"=\"c\"} 1\n",
        "{q=\"0.9\",\"http.status\",a=\"b\"} 2\n",
        "{\"go.gc_duration_seconds_sum\"} 0.004304266\n",
        "{\"Heizölrückstoßabdämpfung 10€ metric with \\\"interesting\\\" {character\\nchoices}\",\"strange©™\\n'quoted' \\\"name\\\"\"=\"6\"} 10.0\n",
        "# EOF\n",
    );
    assert_eq!(
        describe_all(body, Format::OpenMetrics),
        [
            r#"help "go.gc_duration_seconds" "A summary.""#,
            r#"type "go.gc_duration_seconds" summary"#,
            r#"unit "go.gc_duration_seconds" "seconds""#,
            r#""go.gc_duration_seconds"{"quantile"="0"} 4.9351e-5 [summary]"#,
            r#""http.status"{"q"="0.9","a.b"="c"} 1.0"#,
            r#""http.status"{"q"="0.9","a"="b"} 2.0"#,
            r#""go.gc_duration_seconds_sum"{} 0.004304266 [summary]"#,
            r#""Heizölrückstoßabdämpfung 10€ metric with \"interesting\" {character\nchoices}"{"strange©™\n'quoted' \"name\""="6"} 10.0"#,
        ]
    );
}

#[test]
fn eof_may_lack_its_newline_and_ends_the_body() {
    for body in ["# EOF", "# EOF\n", "a 1\n# EOF", "a 1\n# EOF\n"] {
        let entries: Result<Vec<_>, _> =
            Parser::new(body.as_bytes(), Format::OpenMetrics).collect();
        assert!(entries.is_ok(), "{body:?}: {entries:?}");
    }
}

#[test]
fn exemplar_type_is_the_family_type() {
    let body =
        b"# TYPE h histogram\nh_bucket{le=\"1\"} 1 # {trace_id=\"abc\"} 0.5 1700000000.5\n# EOF\n";
    let s = &samples(body, Format::OpenMetrics)[0];
    assert_eq!(s.metric_type, Some(MetricType::Histogram));
    let e = s.exemplar.as_ref().unwrap();
    assert_eq!((e.value, e.timestamp_ms), (0.5, Some(1_700_000_000_500)));
    assert_eq!(
        e.labels().next().unwrap(),
        ("trace_id".into(), "abc".into())
    );
}

#[test]
fn errors_name_line_and_reason() {
    check_errors(
        Format::OpenMetrics,
        &[
            ("", 1, "data does not end with # EOF"),
            ("metric 1", 1, "data does not end with # EOF"),
            ("metric 1\n", 2, "data does not end with # EOF"),
            (
                "metric_total 1 # {aa=\"bb\"} 4",
                1,
                "data does not end with # EOF",
            ),
            (
                "\n",
                1,
                r#"expected a valid start token, got "\n" ("INVALID") while parsing: "\n""#,
            ),
            (
                "a 1\n\nb 2\n# EOF\n",
                2,
                r#"expected a valid start token, got "\n" ("INVALID") while parsing: "\n""#,
            ),
            (
                "metric",
                1,
                r#"expected value after metric, got "" ("EOF") while parsing: "metric""#,
            ),
            (
                "a\n# EOF\n",
                1,
                r#"expected value after metric, got "\n" ("INVALID") while parsing: "a\n""#,
            ),
            (
                " a 1\n# EOF\n",
                1,
                r#"expected a valid start token, got " " ("INVALID") while parsing: " ""#,
            ),
            (
                "9\n# EOF\n",
                1,
                r#"expected a valid start token, got "9" ("INVALID") while parsing: "9""#,
            ),
            (
                "# random comment\n# EOF\n",
                1,
                r##"expected a valid start token, got "# r" ("INVALID") while parsing: "# r""##,
            ),
            (
                "#  TYPE c counter\n# EOF\n",
                1,
                r##"expected a valid start token, got "#  " ("INVALID") while parsing: "#  ""##,
            ),
            (
                "#\tTYPE c counter\n",
                1,
                r##"expected a valid start token, got "#\t" ("INVALID") while parsing: "#\t""##,
            ),
            (
                "# TYPE u untyped\n# EOF\n",
                1,
                r#"invalid metric type "untyped""#,
            ),
            (
                "# TYPE c counter \n# EOF\n",
                1,
                r#"invalid metric type "counter ""#,
            ),
            (
                "# TYPE c  counter\n",
                1,
                r#"invalid metric type " counter""#,
            ),
            (
                "# TYPE \n# EOF\n",
                1,
                r##"expected metric name after TYPE, got "\n" ("INVALID") while parsing: "# TYPE \n""##,
            ),
            ("# TYPE m\n# EOF\n", 1, "expected text in TYPE"),
            ("# HELP m\n# EOF\n", 1, "expected text in HELP"),
            ("# HELP m text", 1, "expected text in HELP"),
            ("# UNIT m\n# EOF\n", 1, "expected text in UNIT"),
            (
                "# UNIT metric suffix\n# EOF\n",
                1,
                r#"unit "suffix" not a suffix of metric "metric""#,
            ),
            (
                "# UNIT metricsuffix suffix\n# EOF\n",
                1,
                r#"unit "suffix" not a suffix of metric "metricsuffix""#,
            ),
            (
                "# UNIT m suffix\n# EOF\n",
                1,
                r#"unit "suffix" not a suffix of metric "m""#,
            ),
            (
                "a\t1\n# EOF\n",
                1,
                r#"expected value after metric, got "\t" ("INVALID") while parsing: "a\t""#,
            ),
            (
                "a  1\n# EOF\n",
                1,
                r#"expected value after metric, got "  " ("INVALID") while parsing: "a  ""#,
            ),
            (
                "a 1\t2\n# EOF\n",
                1,
                r#"strconv.ParseFloat: parsing "1\t2": invalid syntax while parsing: "a 1\t2""#,
            ),
            (
                "a 1 \n# EOF\n",
                1,
                r#"expected timestamp or new record, got " \n" ("INVALID") while parsing: "a 1 \n""#,
            ),
            (
                "a 1 2 \n# EOF\n",
                1,
                r#"expected next entry after timestamp, got " \n" ("INVALID") while parsing: "a 1 2 \n""#,
            ),
            (
                "a 1 2 #\n# EOF\n",
                1,
                r##"expected next entry after timestamp, got " #\n" ("TIMESTAMP") while parsing: "a 1 2 #\n""##,
            ),
            (
                "a 1 1 1\n# EOF\n",
                1,
                r#"expected next entry after timestamp, got " 1\n" ("TIMESTAMP") while parsing: "a 1 1 1\n""#,
            ),
            (
                "a 1 1z\n# EOF\n",
                1,
                r#"strconv.ParseFloat: parsing "1z": invalid syntax while parsing: "a 1 1z""#,
            ),
            (
                "a true\n# EOF\n",
                1,
                r#"strconv.ParseFloat: parsing "true": invalid syntax while parsing: "a true""#,
            ),
            (
                "foo 1_2\n# EOF\n",
                1,
                r#"unsupported character in float while parsing: "foo 1_2""#,
            ),
            (
                "foo 0 1_2\n# EOF\n",
                1,
                r#"unsupported character in float while parsing: "foo 0 1_2""#,
            ),
            ("a 1 NaN\n# EOF\n", 1, "invalid timestamp NaN"),
            ("a 1 -Inf\n# EOF\n", 1, "invalid timestamp -Inf"),
            ("a 1 Inf\n# EOF\n", 1, "invalid timestamp +Inf"),
            (
                " # EOF\n",
                1,
                r#"expected a valid start token, got " " ("INVALID") while parsing: " ""#,
            ),
            ("# EOF\na 1", 2, "unexpected data after # EOF"),
            ("# EOF\n\n", 2, "unexpected data after # EOF"),
            ("# EOFa 1", 1, "unexpected data after # EOF"),
            (
                "a{b='c'} 1\n# EOF\n",
                1,
                r#"expected label value, got "'" ("INVALID") while parsing: "a{b='""#,
            ),
            (
                "a{,b=\"c\"} 1\n# EOF\n",
                1,
                r#"expected label name, got ",b" ("COMMA") while parsing: "a{,b""#,
            ),
            (
                "a{b=\"c\"d=\"e\"} 1\n# EOF\n",
                1,
                r#"expected comma or brace close, got "d=" ("LNAME") while parsing: "a{b=\"c\"d=""#,
            ),
            (
                "a{b=\"c\",,d=\"e\"} 1\n# EOF\n",
                1,
                r#"expected label name, got ",d" ("COMMA") while parsing: "a{b=\"c\",,d""#,
            ),
            (
                "a{b =\"c\"} 1\n# EOF\n",
                1,
                r#"expected equal, got " " ("INVALID") while parsing: "a{b ""#,
            ),
            (
                "a{ b=\"c\"} 1\n# EOF\n",
                1,
                r#"expected label name, got " " ("INVALID") while parsing: "a{ ""#,
            ),
            (
                "a{b=\n# EOF\n",
                1,
                r#"expected label value, got "\n" ("INVALID") while parsing: "a{b=\n""#,
            ),
            (
                "something_weird{problem=\"\n# EOF\n",
                1,
                r#"expected label value, got "\"\n" ("INVALID") while parsing: "something_weird{problem=\"\n""#,
            ),
            (
                "empty_label_name{=\"\"} 0\n# EOF\n",
                1,
                r#"expected label name, got "=\"" ("EQUAL") while parsing: "empty_label_name{=\"""#,
            ),
            (
                "{b=\"c\",} 1\n# EOF\n",
                1,
                r#"metric name not set while parsing: "{b=\"c\",} 1""#,
            ),
            (
                "{\"a\",\"b\"} 1\n# EOF\n",
                1,
                r#"metric name already set while parsing: "{\"a\",\"b\"}""#,
            ),
            (
                "custom_metric_total 1 # {aa=bb}\n# EOF\n",
                1,
                r##"expected label value, got "b" ("INVALID") while parsing: "custom_metric_total 1 # {aa=b""##,
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"}\n# EOF\n",
                1,
                r##"expected value after exemplar labels, got "\n" ("INVALID") while parsing: "custom_metric_total 1 # {aa=\"bb\"}\n""##,
            ),
            (
                "custom_metric_total 1 # {\"bb\"} 1\n# EOF\n",
                1,
                r##"expected label name, got "} " ("BCLOSE") while parsing: "custom_metric_total 1 # {\"bb\"} ""##,
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\",,cc=\"dd\"} 1\n# EOF\n",
                1,
                r##"expected label name, got ",c" ("COMMA") while parsing: "custom_metric_total 1 # {aa=\"bb\",,c""##,
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"} 1_2\n# EOF\n",
                1,
                r##"unsupported character in float while parsing: "custom_metric_total 1 # {aa=\"bb\"} 1_2""##,
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"} 1 2 3\n# EOF\n",
                1,
                r##"expected next entry after exemplar timestamp, got " 3\n" ("TIMESTAMP") while parsing: "custom_metric_total 1 # {aa=\"bb\"} 1 2 3\n""##,
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"} 1 x\n# EOF\n",
                1,
                r##"strconv.ParseFloat: parsing "x": invalid syntax while parsing: "custom_metric_total 1 # {aa=\"bb\"} 1 x""##,
            ),
            (
                "h 1 # {aa=\"bb\"} 4 NaN\n# EOF\n",
                1,
                "invalid exemplar timestamp NaN",
            ),
            (
                "h 1 # {aa=\"bb\"} 4 -Inf\n# EOF\n",
                1,
                "invalid exemplar timestamp -Inf",
            ),
            (
                "h 1 # {aa=\"bb\"} 4 Inf",
                1,
                "invalid exemplar timestamp +Inf",
            ),
            ("h 1 # {aa=\"bb\"} 4 1", 1, "data does not end with # EOF"),
            (
                "ok 1\n# TYPE x gauge\nbad{\n# EOF\n",
                3,
                r#"expected label name, got "\n" ("INVALID") while parsing: "bad{\n""#,
            ),
        ],
    );
}
