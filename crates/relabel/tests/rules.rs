//! Table-driven tests of every action and of rule validation, with Prometheus 3 semantics.
//! Several cases come from Prometheus's own relabel tests.

mod common;

use common::{invalid_rules, rule, valid_rules};
use ember_model::Labels;
use ember_relabel::{Action, RelabelConfig, process};

type Pairs = &'static [(&'static str, &'static str)];

struct Case {
    name: &'static str,
    input: Pairs,
    rules: Vec<RelabelConfig>,
    /// `None` when the label set is dropped.
    output: Option<Pairs>,
}

fn process_cases() -> Vec<Case> {
    use Action::*;
    vec![
        Case {
            name: "replace expands ${1}",
            input: &[("a", "foo"), ("b", "bar")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("f(.*)")
                    .target("d")
                    .replacement("ch${1}-ch${1}")
                    .build(),
            ],
            output: Some(&[("a", "foo"), ("b", "bar"), ("d", "choo-choo")]),
        },
        Case {
            name: "later rules see earlier results",
            input: &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            rules: vec![
                rule(Replace)
                    .source(&["a", "b"])
                    .regex("f(.*);(.*)r")
                    .target("a")
                    .replacement("b${1}${2}m")
                    .build(),
                rule(Replace)
                    .source(&["c", "a"])
                    .regex("(b).*b(.*)ba(.*)")
                    .target("d")
                    .replacement("$1$2$2$3")
                    .build(),
            ],
            output: Some(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")]),
        },
        Case {
            name: "custom separator joins several sources",
            input: &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            rules: vec![
                rule(Replace)
                    .source(&["a", "b", "c"])
                    .separator("/")
                    .regex("(.*)/(.*)/(.*)")
                    .target("joined")
                    .replacement("$3-$2-$1")
                    .build(),
            ],
            output: Some(&[
                ("a", "foo"),
                ("b", "bar"),
                ("c", "baz"),
                ("joined", "baz-bar-foo"),
            ]),
        },
        Case {
            name: "missing source labels join as empty strings",
            input: &[("a", "foo")],
            rules: vec![
                rule(Replace)
                    .source(&["missing", "a", "gone"])
                    .separator("-")
                    .regex("-(.*)-")
                    .target("out")
                    .build(),
            ],
            output: Some(&[("a", "foo"), ("out", "foo")]),
        },
        Case {
            name: "replace without a match changes nothing",
            input: &[("a", "boo")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("f")
                    .target("b")
                    .replacement("bar")
                    .build(),
            ],
            output: Some(&[("a", "boo")]),
        },
        Case {
            name: "regex is anchored: foo does not match foobar",
            input: &[("a", "foobar")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("foo")
                    .target("m")
                    .replacement("yes")
                    .build(),
            ],
            output: Some(&[("a", "foobar")]),
        },
        Case {
            name: "empty replacement deletes the target",
            input: &[("a", "foo"), ("f", "baz")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("(f).*")
                    .target("$1")
                    .replacement("$2")
                    .build(),
            ],
            output: Some(&[("a", "foo")]),
        },
        Case {
            name: "static replacement with no source labels",
            input: &[("a", "foo"), ("b", "bar")],
            rules: vec![
                rule(Replace).target("env").replacement("prod").build(),
                rule(Replace).target("b").replacement("").build(),
            ],
            output: Some(&[("a", "foo"), ("env", "prod")]),
        },
        Case {
            name: "$$ is a literal dollar",
            input: &[("a", "foo")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .target("price")
                    .replacement("$$1 costs $$$1 $")
                    .build(),
            ],
            output: Some(&[("a", "foo"), ("price", "$1 costs $foo $")]),
        },
        Case {
            name: "target label is a template",
            input: &[("a", "some-name-value")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("some-([^-]+)-([^,]+)")
                    .target("${1}")
                    .replacement("${2}")
                    .build(),
            ],
            output: Some(&[("a", "some-name-value"), ("name", "value")]),
        },
        Case {
            name: "replacement naming a missing group deletes nothing that is absent",
            input: &[("a", "some-name-value")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("some-([^-]+)-([^,]+)")
                    .target("${1}")
                    .replacement("${3}")
                    .build(),
            ],
            output: Some(&[("a", "some-name-value")]),
        },
        Case {
            name: "target expanding to an empty name is skipped",
            input: &[("a", "some-name-0")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("some-([^-]+)-([^,]+)")
                    .target("${3}")
                    .replacement("${1}")
                    .build(),
                rule(Replace)
                    .source(&["a"])
                    .regex("some-([^-]+)(-[^,]+)")
                    .target("${3}")
                    .replacement("${1}")
                    .build(),
            ],
            output: Some(&[("a", "some-name-0")]),
        },
        Case {
            name: "UTF-8 target names (Prometheus 3)",
            input: &[("a", "0-x")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("([0-9])-.*")
                    .target("${1}")
                    .replacement("digit")
                    .build(),
                rule(Replace).source(&["a"]).target("utf-8.label").build(),
            ],
            output: Some(&[("0", "digit"), ("a", "0-x"), ("utf-8.label", "0-x")]),
        },
        Case {
            name: "legacy names skip a target that is not a legacy name",
            input: &[("a", "0-x")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("([0-9])-.*")
                    .target("${1}")
                    .replacement("digit")
                    .legacy_names()
                    .build(),
                rule(Replace)
                    .source(&["a"])
                    .regex("([0-9])-(.*)")
                    .target("l_${1}")
                    .replacement("$2")
                    .legacy_names()
                    .build(),
            ],
            output: Some(&[("a", "0-x"), ("l_0", "x")]),
        },
        Case {
            name: "named groups in both reference forms",
            input: &[("a", "line1\nline2")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("(line1).*(?<second>line2)")
                    .target("label1_${1}")
                    .replacement("val_${second}")
                    .build(),
                rule(Replace)
                    .source(&["a"])
                    .regex("(line1).*(?P<second>line2)")
                    .target("label2_$1")
                    .replacement("val_$second")
                    .build(),
            ],
            output: Some(&[
                ("a", "line1\nline2"),
                ("label1_line1", "val_line2"),
                ("label2_line1", "val_line2"),
            ]),
        },
        Case {
            name: ". matches a newline (Prometheus 3)",
            input: &[("a", "line1\nline2")],
            rules: vec![
                rule(Keep).source(&["a"]).regex("line1.line2").build(),
                rule(Replace)
                    .source(&["a"])
                    .regex("line1.*line2")
                    .target("d")
                    .replacement("match${1}")
                    .build(),
            ],
            output: Some(&[("a", "line1\nline2"), ("d", "match")]),
        },
        Case {
            name: "realistic service-discovery tags",
            input: &[("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar")],
            rules: vec![
                rule(Replace)
                    .source(&["__meta_sd_tags"])
                    .regex("(?:.+,|^)path:(/[^,]+).*")
                    .target("__metrics_path__")
                    .build(),
                rule(Replace)
                    .source(&["__meta_sd_tags"])
                    .regex("(?:.+,|^)job:([^,]+).*")
                    .target("job")
                    .build(),
                rule(Replace)
                    .source(&["__meta_sd_tags"])
                    .regex("(?:.+,|^)label:([^=]+)=([^,]+).*")
                    .target("${1}")
                    .replacement("${2}")
                    .build(),
            ],
            output: Some(&[
                ("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
                ("__metrics_path__", "/secret"),
                ("foo", "bar"),
                ("job", "some-job"),
            ]),
        },
        Case {
            name: "drop on match",
            input: &[("a", "foo"), ("b", "bar")],
            rules: vec![rule(Drop).source(&["a"]).regex(".*o.*").build()],
            output: None,
        },
        Case {
            name: "drop stops later rules",
            input: &[("a", "foo")],
            rules: vec![
                rule(Drop).source(&["a"]).regex(".*o.*").build(),
                rule(Replace)
                    .source(&["a"])
                    .regex("f(.*)")
                    .target("d")
                    .build(),
            ],
            output: None,
        },
        Case {
            name: "drop without a match keeps",
            input: &[("a", "foo")],
            rules: vec![rule(Drop).source(&["a"]).regex("no-match").build()],
            output: Some(&[("a", "foo")]),
        },
        Case {
            name: "drop alternation is anchored as a whole",
            input: &[("a", "foo")],
            rules: vec![rule(Drop).source(&["a"]).regex("f|o").build()],
            output: Some(&[("a", "foo")]),
        },
        Case {
            name: "keep without a match drops",
            input: &[("a", "foo")],
            rules: vec![rule(Keep).source(&["a"]).regex("no-match").build()],
            output: None,
        },
        Case {
            name: "keep on match",
            input: &[("a", "foo")],
            rules: vec![rule(Keep).source(&["a"]).regex("f.*").build()],
            output: Some(&[("a", "foo")]),
        },
        Case {
            name: "keep is anchored: foo does not match foobar",
            input: &[("a", "foobar")],
            rules: vec![rule(Keep).source(&["a"]).regex("foo").build()],
            output: None,
        },
        Case {
            name: "keep on an absent label sees the empty string",
            input: &[("a", "foo")],
            rules: vec![rule(Keep).source(&["missing"]).regex("").build()],
            output: Some(&[("a", "foo")]),
        },
        Case {
            name: "keepequal keeps equal values",
            input: &[
                ("__tmp_port", "1234"),
                ("__port1", "1234"),
                ("__port2", "5678"),
            ],
            rules: vec![
                rule(KeepEqual)
                    .source(&["__tmp_port"])
                    .target("__port1")
                    .build(),
            ],
            output: Some(&[
                ("__port1", "1234"),
                ("__port2", "5678"),
                ("__tmp_port", "1234"),
            ]),
        },
        Case {
            name: "keepequal drops different values",
            input: &[
                ("__tmp_port", "1234"),
                ("__port1", "1234"),
                ("__port2", "5678"),
            ],
            rules: vec![
                rule(KeepEqual)
                    .source(&["__tmp_port"])
                    .target("__port2")
                    .build(),
            ],
            output: None,
        },
        Case {
            name: "keepequal: two absent labels are equal",
            input: &[("a", "foo")],
            rules: vec![
                rule(KeepEqual)
                    .source(&["missing"])
                    .target("absent")
                    .build(),
            ],
            output: Some(&[("a", "foo")]),
        },
        Case {
            name: "keepequal compares the joined value",
            input: &[("a", "x"), ("b", "y"), ("both", "x;y")],
            rules: vec![rule(KeepEqual).source(&["a", "b"]).target("both").build()],
            output: Some(&[("a", "x"), ("b", "y"), ("both", "x;y")]),
        },
        Case {
            name: "dropequal drops equal values",
            input: &[
                ("__tmp_port", "1234"),
                ("__port1", "1234"),
                ("__port2", "5678"),
            ],
            rules: vec![
                rule(DropEqual)
                    .source(&["__tmp_port"])
                    .target("__port1")
                    .build(),
            ],
            output: None,
        },
        Case {
            name: "dropequal keeps different values",
            input: &[
                ("__tmp_port", "1234"),
                ("__port1", "1234"),
                ("__port2", "5678"),
            ],
            rules: vec![
                rule(DropEqual)
                    .source(&["__tmp_port"])
                    .target("__port2")
                    .build(),
            ],
            output: Some(&[
                ("__port1", "1234"),
                ("__port2", "5678"),
                ("__tmp_port", "1234"),
            ]),
        },
        Case {
            name: "hashmod (values from Prometheus's tests)",
            input: &[("a", "foo\nbar"), ("c", "baz")],
            rules: vec![
                rule(HashMod)
                    .source(&["c"])
                    .target("d")
                    .modulus(1000)
                    .build(),
                rule(HashMod)
                    .source(&["a"])
                    .target("b")
                    .modulus(1000)
                    .build(),
            ],
            output: Some(&[("a", "foo\nbar"), ("b", "734"), ("c", "baz"), ("d", "976")]),
        },
        Case {
            name: "hashmod of the empty string and large moduli",
            input: &[("a", "foo"), ("b", "bar")],
            rules: vec![
                rule(HashMod)
                    .source(&["missing"])
                    .target("empty")
                    .modulus(1000)
                    .build(),
                rule(HashMod)
                    .source(&["a"])
                    .target("m32")
                    .modulus(1 << 32)
                    .build(),
                rule(HashMod)
                    .source(&["b"])
                    .target("max")
                    .modulus(u64::MAX)
                    .build(),
                rule(HashMod)
                    .source(&["a"])
                    .target("one")
                    .modulus(1)
                    .build(),
            ],
            output: Some(&[
                ("a", "foo"),
                ("b", "bar"),
                ("empty", "958"),
                ("m32", "3435439320"),
                ("max", "6581718738824679922"),
                ("one", "0"),
            ]),
        },
        Case {
            name: "labelmap copies matching names",
            input: &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            rules: vec![
                rule(LabelMap)
                    .regex("(b.*)")
                    .replacement("bar_${1}")
                    .build(),
            ],
            output: Some(&[
                ("a", "foo"),
                ("b1", "bar"),
                ("b2", "baz"),
                ("bar_b1", "bar"),
                ("bar_b2", "baz"),
            ]),
        },
        Case {
            name: "labelmap of meta labels with the default replacement",
            input: &[
                ("a", "foo"),
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
            ],
            rules: vec![rule(LabelMap).regex("__meta_(my.*)").build()],
            output: Some(&[
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
                ("a", "foo"),
                ("my_bar", "aaa"),
                ("my_baz", "bbb"),
            ]),
        },
        Case {
            name: "labelmap overwrites an existing label",
            input: &[("__meta_x", "new"), ("x", "old")],
            rules: vec![rule(LabelMap).regex("__meta_(.*)").build()],
            output: Some(&[("__meta_x", "new"), ("x", "new")]),
        },
        Case {
            name: "labelmap collision: the last name in order wins",
            input: &[("a_x", "1"), ("b_x", "2")],
            rules: vec![rule(LabelMap).regex("[ab]_(x)").build()],
            output: Some(&[("a_x", "1"), ("b_x", "2"), ("x", "2")]),
        },
        Case {
            // Prometheus 3 walks labels written by earlier rules last; 2.42 would give x=2.
            name: "labelmap collision: labels written earlier come last (Prometheus 3)",
            input: &[("a_x", "1"), ("b_x", "2")],
            rules: vec![
                rule(Replace).target("a_x").replacement("new").build(),
                rule(LabelMap).regex("[ab]_(x)").build(),
            ],
            output: Some(&[("a_x", "new"), ("b_x", "2"), ("x", "new")]),
        },
        Case {
            name: "labelkeep keeps matching names only",
            input: &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            rules: vec![rule(LabelKeep).regex("(b.*)").build()],
            output: Some(&[("b1", "bar"), ("b2", "baz")]),
        },
        Case {
            name: "labeldrop drops matching names only (anchored)",
            input: &[("a", "foo"), ("b", "x"), ("b1", "bar"), ("b2", "baz")],
            rules: vec![rule(LabelDrop).regex("b[0-9]").build()],
            output: Some(&[("a", "foo"), ("b", "x")]),
        },
        Case {
            name: "labeldrop, then recreate and keep on it",
            input: &[
                ("__meta_kubernetes_pod_container_port_name", "foo"),
                ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
            ],
            rules: vec![
                rule(LabelDrop)
                    .regex("__meta_kubernetes_pod_container_port_name")
                    .build(),
                rule(Replace)
                    .source(&["__meta_kubernetes_pod_annotation_XXX_metrics_port"])
                    .regex("(.+)")
                    .target("__meta_kubernetes_pod_container_port_name")
                    .replacement("metrics")
                    .build(),
                rule(Keep)
                    .source(&["__meta_kubernetes_pod_container_port_name"])
                    .regex("metrics")
                    .build(),
            ],
            output: Some(&[
                ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
                ("__meta_kubernetes_pod_container_port_name", "metrics"),
            ]),
        },
        Case {
            name: "uppercase and lowercase",
            input: &[("foo", "bAr123Foo")],
            rules: vec![
                rule(Uppercase)
                    .source(&["foo"])
                    .target("foo_uppercase")
                    .build(),
                rule(Lowercase)
                    .source(&["foo"])
                    .target("foo_lowercase")
                    .build(),
            ],
            output: Some(&[
                ("foo", "bAr123Foo"),
                ("foo_lowercase", "bar123foo"),
                ("foo_uppercase", "BAR123FOO"),
            ]),
        },
        Case {
            name: "case mapping is Go's simple per-character mapping",
            input: &[("s", "Straße İ ᾳ ΟΔΟΣ")],
            rules: vec![
                rule(Uppercase).source(&["s"]).target("up").build(),
                rule(Lowercase).source(&["s"]).target("down").build(),
            ],
            output: Some(&[
                ("down", "straße i ᾳ οδοσ"),
                ("s", "Straße İ ᾳ ΟΔΟΣ"),
                ("up", "STRAßE İ ᾼ ΟΔΟΣ"),
            ]),
        },
        Case {
            name: "lowercase of absent sources deletes the target",
            input: &[("a", "foo"), ("t", "old")],
            rules: vec![rule(Lowercase).source(&["missing"]).target("t").build()],
            output: Some(&[("a", "foo")]),
        },
    ]
}

fn labels(pairs: Pairs) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

#[test]
fn process_applies_every_action_like_prometheus() {
    for case in process_cases() {
        for rule in &case.rules {
            assert_eq!(rule.validate(), Ok(()), "{}: rule {rule:?}", case.name);
        }
        let got = process(&labels(case.input), &case.rules);
        assert_eq!(got, case.output.map(labels), "{}", case.name);
    }
}

#[test]
fn process_with_no_rules_returns_the_input() {
    let input = labels(&[("a", "1"), ("b", "2")]);
    assert_eq!(process(&input, &[]), Some(input));
}

#[test]
fn validation_accepts_valid_rules() {
    for config in valid_rules() {
        assert_eq!(config.validate(), Ok(()), "{config:?}");
    }
    assert_eq!(RelabelConfig::default().action, Action::Replace);
}

#[test]
fn validation_rejects_like_prometheus() {
    for (config, message) in invalid_rules() {
        let error = config.validate().expect_err(message);
        assert_eq!(error.to_string(), message, "{config:?}");
    }
}
