//! `process` and `validate` against the real Prometheus 2.42.
//!
//! Relabelling: each case becomes a scrape job with one target from a file_sd file that
//! carries the case's labels, and with the case's rules as `relabel_configs`. Prometheus
//! adds `job`, `__scheme__`, … before relabelling; the test does the same, runs `process`,
//! applies Prometheus's post-processing and compares with the target's `labels`, or
//! expects the target under `droppedTargets`.
//!
//! Validation: `promtool check config` must accept or reject each rule with our message.
//!
//! Prometheus 2.42 predates UTF-8 names, so every rule here uses legacy name validation,
//! and its regexes lack `(?s)`, so no value here contains a newline.

mod common;

use common::{invalid_rules, rule, valid_rules};
use ember_model::Labels;
use ember_relabel::{Action, NameValidation, RelabelConfig, process};
use ember_testkit::{Peer, eventually, free_port, http_get, require_binary};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

type Pairs = &'static [(&'static str, &'static str)];
type LabelMap = BTreeMap<String, String>;

/// Nothing listens here: every target is simply down, which is all we need.
const TARGET: &str = "127.0.0.1:9";
const SCRAPE_INTERVAL: &str = "5s";
const SCRAPE_TIMEOUT: &str = "1s";

struct LiveCase {
    /// Also the scrape job's name.
    job: &'static str,
    labels: Pairs,
    rules: Vec<RelabelConfig>,
    /// A label Prometheus 2.42 sets to a different value than Prometheus 3: (name, 2.42 value).
    differs_in_2_42: Option<(&'static str, &'static str)>,
}

fn case(job: &'static str, labels: Pairs, rules: Vec<RelabelConfig>) -> LiveCase {
    LiveCase {
        job,
        labels,
        rules,
        differs_in_2_42: None,
    }
}

fn live_cases() -> Vec<LiveCase> {
    use Action::*;
    let mut cases = vec![
        case(
            "replace_expand",
            &[("a", "foo")],
            vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("f(.*)")
                    .target("d")
                    .replacement("ch${1}-ch${1}")
                    .build(),
            ],
        ),
        case(
            "replace_chain",
            &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            vec![
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
        ),
        case(
            "replace_separator",
            &[("a", "foo"), ("b", "bar"), ("c", "baz")],
            vec![
                rule(Replace)
                    .source(&["a", "b", "c"])
                    .separator("/")
                    .regex("(.*)/(.*)/(.*)")
                    .target("joined")
                    .replacement("$3-$2-$1")
                    .build(),
            ],
        ),
        case(
            "replace_missing_source",
            &[("a", "foo")],
            vec![
                rule(Replace)
                    .source(&["missing", "a", "gone"])
                    .separator("-")
                    .regex("-(.*)-")
                    .target("out")
                    .build(),
            ],
        ),
        case(
            "replace_no_match",
            &[("a", "boo")],
            vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("f")
                    .target("b")
                    .replacement("bar")
                    .build(),
            ],
        ),
        case(
            "replace_anchored",
            &[("a", "foobar")],
            vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("foo")
                    .target("m")
                    .replacement("yes")
                    .build(),
            ],
        ),
        LiveCase {
            job: "replace_delete_template_target",
            labels: &[("a", "foo"), ("f", "baz")],
            rules: vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("(f).*")
                    .target("$1")
                    .replacement("$2")
                    .build(),
            ],
            // 2.42 deletes the label named by the unexpanded target ("$1"), so f stays.
            differs_in_2_42: Some(("f", "baz")),
        },
        case(
            "replace_delete",
            &[("a", "foo"), ("f", "baz")],
            vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("(f).*")
                    .target("f")
                    .replacement("$2")
                    .build(),
            ],
        ),
        case(
            "replace_static",
            &[("a", "foo"), ("b", "bar")],
            vec![
                rule(Replace).target("env").replacement("prod").build(),
                rule(Replace).target("b").replacement("").build(),
            ],
        ),
        case(
            "replace_dollar",
            &[("a", "foo")],
            vec![
                rule(Replace)
                    .source(&["a"])
                    .target("price")
                    .replacement("$$1 costs $$$1 $")
                    .build(),
            ],
        ),
        case(
            "replace_target_template",
            &[("a", "some-name-value")],
            vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("some-([^-]+)-([^,]+)")
                    .target("${1}")
                    .replacement("${2}")
                    .build(),
            ],
        ),
        case(
            "replace_invalid_target_skipped",
            &[("a", "0-x")],
            vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("([0-9])-.*")
                    .target("${1}")
                    .replacement("digit")
                    .build(),
                rule(Replace)
                    .source(&["a"])
                    .regex("([0-9])-(.*)")
                    .target("l_${1}")
                    .replacement("$2")
                    .build(),
            ],
        ),
        case(
            "replace_named_groups",
            &[("a", "host-9100"), ("p", "old")],
            vec![
                rule(Replace)
                    .source(&["a"])
                    .regex("(?P<host>[a-z]+)-(?P<port>[0-9]+)")
                    .target("h_${host}")
                    .replacement("$port")
                    .build(),
                rule(Replace)
                    .source(&["a"])
                    .regex("(?P<port>.*)")
                    .target("p")
                    .replacement("$portx")
                    .build(),
            ],
        ),
        case(
            "replace_address",
            &[],
            vec![
                rule(Replace)
                    .source(&["__address__"])
                    .regex(r"127\.0\.0\.1:(\d+)")
                    .target("__address__")
                    .replacement("127.0.0.2:$1")
                    .build(),
            ],
        ),
        case(
            "keep_match",
            &[("a", "foo")],
            vec![rule(Keep).source(&["a"]).regex("f.*").build()],
        ),
        case(
            "keep_no_match",
            &[("a", "foo")],
            vec![rule(Keep).source(&["a"]).regex("no-match").build()],
        ),
        case(
            "keep_anchored",
            &[("a", "foobar")],
            vec![rule(Keep).source(&["a"]).regex("foo").build()],
        ),
        case(
            "keep_absent_is_empty",
            &[("a", "foo")],
            vec![rule(Keep).source(&["missing"]).regex("").build()],
        ),
        case(
            "drop_match",
            &[("a", "foo")],
            vec![rule(Drop).source(&["a"]).regex(".*o.*").build()],
        ),
        case(
            "drop_no_match",
            &[("a", "foo")],
            vec![rule(Drop).source(&["a"]).regex("no-match").build()],
        ),
        case(
            "drop_alternation",
            &[("a", "foo")],
            vec![rule(Drop).source(&["a"]).regex("f|o").build()],
        ),
        case(
            "keepequal_equal",
            &[("tmp", "1234"), ("port1", "1234")],
            vec![rule(KeepEqual).source(&["tmp"]).target("port1").build()],
        ),
        case(
            "keepequal_different",
            &[("tmp", "1234"), ("port2", "5678")],
            vec![rule(KeepEqual).source(&["tmp"]).target("port2").build()],
        ),
        case(
            "keepequal_joined",
            &[("a", "x"), ("b", "y"), ("both", "x;y")],
            vec![rule(KeepEqual).source(&["a", "b"]).target("both").build()],
        ),
        case(
            "dropequal_equal",
            &[("tmp", "1234"), ("port1", "1234")],
            vec![rule(DropEqual).source(&["tmp"]).target("port1").build()],
        ),
        case(
            "dropequal_different",
            &[("tmp", "1234"), ("port2", "5678")],
            vec![rule(DropEqual).source(&["tmp"]).target("port2").build()],
        ),
        case(
            "labelmap_prefix",
            &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            vec![
                rule(LabelMap)
                    .regex("(b.*)")
                    .replacement("bar_${1}")
                    .build(),
            ],
        ),
        case(
            "labelmap_meta",
            &[
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
            ],
            vec![rule(LabelMap).regex("__meta_(my.*)").build()],
        ),
        case(
            "labelmap_overwrite",
            &[("__meta_x", "new"), ("x", "old")],
            vec![rule(LabelMap).regex("__meta_(.*)").build()],
        ),
        case(
            "labelmap_collision",
            &[("a_x", "1"), ("b_x", "2")],
            vec![rule(LabelMap).regex("[ab]_(x)").build()],
        ),
        LiveCase {
            job: "labelmap_after_write",
            labels: &[("a_x", "1"), ("b_x", "2")],
            rules: vec![
                rule(Replace).target("a_x").replacement("new").build(),
                rule(LabelMap).regex("[ab]_(x)").build(),
            ],
            // 2.42 walks each rule's input in name order; Prometheus 3 walks written labels last.
            differs_in_2_42: Some(("x", "2")),
        },
        case(
            "labelkeep",
            &[("a", "foo"), ("b1", "bar")],
            vec![rule(LabelKeep).regex("__.*|job|b.*").build()],
        ),
        case(
            "labeldrop",
            &[("a", "foo"), ("b", "x"), ("b1", "bar"), ("b2", "baz")],
            vec![rule(LabelDrop).regex("b[0-9]").build()],
        ),
        case(
            "case_ascii",
            &[("foo", "bAr123Foo")],
            vec![
                rule(Uppercase).source(&["foo"]).target("up").build(),
                rule(Lowercase).source(&["foo"]).target("down").build(),
            ],
        ),
        case(
            "case_unicode",
            &[("s", "Straße İ ᾳ ᾈ ΟΔΟΣ ǅ ﬀ ŉ ı \u{212A}")],
            vec![
                rule(Uppercase).source(&["s"]).target("up").build(),
                rule(Lowercase).source(&["s"]).target("down").build(),
            ],
        ),
        case(
            "lowercase_absent_deletes",
            &[("a", "foo"), ("t", "old")],
            vec![rule(Lowercase).source(&["missing"]).target("t").build()],
        ),
        case(
            "pipeline",
            &[
                ("__meta_team", "Core"),
                ("__meta_env", "prod"),
                ("tmp_x", "1"),
            ],
            vec![
                rule(LabelMap).regex("__meta_(.*)").build(),
                rule(Lowercase).source(&["team"]).target("team").build(),
                rule(HashMod)
                    .source(&["__address__"])
                    .target("shard")
                    .modulus(4)
                    .build(),
                rule(Keep)
                    .source(&["env", "shard"])
                    .regex("prod;[0-3]")
                    .build(),
                rule(LabelDrop).regex("tmp_.*").build(),
            ],
        ),
    ];
    // hashmod must agree bit for bit: several values and moduli, up to the largest.
    let hashmod_cases: [(&'static str, Pairs, &'static [&'static str], u64); 8] = [
        ("hashmod_baz", &[("c", "baz")], &["c"], 1000),
        ("hashmod_empty", &[], &["missing"], 1000),
        ("hashmod_address", &[], &["__address__"], 7),
        ("hashmod_unicode", &[("u", "ünïcode")], &["u"], 1000),
        (
            "hashmod_joined",
            &[("a", "foo"), ("b", "bar")],
            &["a", "b"],
            13,
        ),
        ("hashmod_2_pow_32", &[("a", "foo")], &["a"], 1 << 32),
        ("hashmod_u64_max", &[("b", "bar")], &["b"], u64::MAX),
        ("hashmod_one", &[("a", "foo")], &["a"], 1),
    ];
    for (job, labels, source, modulus) in hashmod_cases {
        cases.push(case(
            job,
            labels,
            vec![
                rule(HashMod)
                    .source(source)
                    .target("shard")
                    .modulus(modulus)
                    .build(),
            ],
        ));
    }
    for rule in cases.iter_mut().flat_map(|c| c.rules.iter_mut()) {
        rule.name_validation = NameValidation::Legacy;
    }
    cases
}

/// A rule as Prometheus configuration, with only the fields that differ from the
/// defaults: Prometheus tells an explicit `regex: (.*)` or `source_labels: []` from an
/// omitted one.
fn rule_json(rule: &RelabelConfig) -> Value {
    let defaults = RelabelConfig::default_for(rule.action);
    let mut fields = serde_json::Map::new();
    fields.insert("action".into(), json!(rule.action.to_string()));
    if rule.source_labels != defaults.source_labels {
        fields.insert("source_labels".into(), json!(rule.source_labels));
    }
    if rule.separator != defaults.separator {
        fields.insert("separator".into(), json!(rule.separator));
    }
    if rule.regex != defaults.regex {
        fields.insert("regex".into(), json!(rule.regex.as_str()));
    }
    if rule.modulus != defaults.modulus {
        fields.insert("modulus".into(), json!(rule.modulus));
    }
    if rule.target_label != defaults.target_label {
        fields.insert("target_label".into(), json!(rule.target_label));
    }
    if rule.replacement != defaults.replacement {
        fields.insert("replacement".into(), json!(rule.replacement));
    }
    Value::Object(fields)
}

fn pairs_json(pairs: Pairs) -> Value {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value)))
        .collect()
}

fn sd_file(dir: &Path, case: &LiveCase) -> String {
    dir.join(format!("{}.json", case.job)).display().to_string()
}

/// The configuration, as JSON, which YAML accepts.
fn prometheus_config(dir: &Path, cases: &[LiveCase]) -> Value {
    let jobs: Vec<Value> = cases
        .iter()
        .map(|case| {
            json!({
                "job_name": case.job,
                "file_sd_configs": [{"files": [sd_file(dir, case)], "refresh_interval": "1s"}],
                "relabel_configs": case.rules.iter().map(rule_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_TIMEOUT},
        "scrape_configs": jobs,
    })
}

/// The labels Prometheus hands to relabelling: the discovered ones plus the job's.
fn relabel_input(dir: &Path, case: &LiveCase) -> Labels {
    let added = [
        ("__address__", TARGET.to_string()),
        ("__meta_filepath", sd_file(dir, case)),
        ("__metrics_path__", "/metrics".to_string()),
        ("__scheme__", "http".to_string()),
        ("__scrape_interval__", SCRAPE_INTERVAL.to_string()),
        ("__scrape_timeout__", SCRAPE_TIMEOUT.to_string()),
        ("job", case.job.to_string()),
    ];
    Labels::from_pairs(
        case.labels
            .iter()
            .map(|(n, v)| (*n, v.to_string()))
            .chain(added),
    )
}

/// What the targets API shows for a relabelled target: Prometheus drops `__meta_`
/// labels, defaults `instance` to `__address__`, and the API hides `__` labels.
fn public_target_labels(relabelled: &Labels) -> LabelMap {
    let mut public: LabelMap = relabelled
        .iter()
        .filter(|l| !l.name.starts_with("__"))
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect();
    if !relabelled.has("instance") {
        let address = relabelled.get("__address__").unwrap_or_default();
        public.insert("instance".into(), address.to_string());
    }
    public
}

fn label_map(value: &Value) -> LabelMap {
    let object = value.as_object().expect("a label object");
    object
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().expect("a string label value").to_string(),
            )
        })
        .collect()
}

/// Per job: the target's labels, or `None` when it was dropped.
type TargetsByJob = BTreeMap<String, Option<LabelMap>>;

/// Reads the targets API. Prometheus 2.42 overwrites `discoveredLabels` with
/// intermediate relabelling results, so a dropped target is told by its file_sd file,
/// which the drop rules here leave alone.
fn targets_by_job(body: &str) -> Option<TargetsByJob> {
    let body: Value = serde_json::from_str(body).ok()?;
    let data = &body["data"];
    let mut targets = TargetsByJob::new();
    for target in data["activeTargets"].as_array()? {
        let job = target["scrapePool"].as_str()?.to_string();
        targets.insert(job, Some(label_map(&target["labels"])));
    }
    for target in data["droppedTargets"].as_array()? {
        let file = Path::new(target["discoveredLabels"]["__meta_filepath"].as_str()?);
        let job = file.file_stem()?.to_str()?.to_string();
        targets.insert(job, None);
    }
    Some(targets)
}

#[test]
fn process_matches_prometheus_2_42_target_relabelling() {
    let prometheus = require_binary("prometheus");
    let cases = live_cases();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_path_buf();
    for case in &cases {
        for rule in &case.rules {
            assert_eq!(rule.validate(), Ok(()), "{}: {rule:?}", case.job);
        }
        let group = json!([{"targets": [TARGET], "labels": pairs_json(case.labels)}]);
        std::fs::write(sd_file(&root, case), group.to_string()).expect("write file_sd file");
    }
    let config_file = root.join("prometheus.yml");
    std::fs::write(&config_file, prometheus_config(&root, &cases).to_string())
        .expect("write config");

    let port = free_port();
    let args = [
        format!("--config.file={}", config_file.display()),
        format!("--storage.tsdb.path={}", root.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
    ];
    let mut peer = Peer::start("prometheus", prometheus, &args, dir);
    peer.wait_ready(
        &format!("http://127.0.0.1:{port}/-/ready"),
        Duration::from_secs(15),
    );

    let url = format!("http://127.0.0.1:{port}/api/v1/targets?state=any");
    let targets = eventually(
        "every case's target in the targets API",
        Duration::from_secs(25),
        || {
            let (status, body) = http_get(&url).ok()?;
            let targets = targets_by_job(&body).filter(|_| status == 200)?;
            (targets.len() == cases.len()).then_some(targets)
        },
    );

    let mut mismatches = Vec::new();
    for case in &cases {
        let prometheus_labels = &targets[case.job];
        let mut ours =
            process(&relabel_input(&root, case), &case.rules).map(|l| public_target_labels(&l));
        if let (Some(ours), Some((name, value))) = (ours.as_mut(), case.differs_in_2_42) {
            ours.insert(name.to_string(), value.to_string());
        }
        if ours != *prometheus_labels {
            mismatches.push(format!(
                "{}: ours {ours:?}, Prometheus {prometheus_labels:?}",
                case.job
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "differences from Prometheus 2.42:\n{}",
        mismatches.join("\n")
    );
    let dropped = targets.values().filter(|labels| labels.is_none()).count();
    let with_difference = cases
        .iter()
        .filter(|case| case.differs_in_2_42.is_some())
        .count();
    println!(
        "{} cases matched Prometheus 2.42 ({dropped} dropped), {with_difference} of them up to a known 2.42 difference",
        cases.len()
    );
}

/// What `promtool check config` says about one rule: `Ok` or its error message.
fn promtool_verdict(promtool: &Path, dir: &Path, name: &str, rule: Value) -> Result<(), String> {
    let path = dir.join(format!("{name}.yml"));
    let config = json!({"scrape_configs": [{"job_name": "j", "relabel_configs": [rule]}]});
    std::fs::write(&path, config.to_string()).expect("write config");
    let output = Command::new(promtool)
        .arg("check")
        .arg("config")
        .arg(&path)
        .output()
        .expect("run promtool");
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let prefix = format!("parsing YAML file {}: ", path.display());
    let message = stderr
        .lines()
        .find_map(|line| line.split_once(&prefix).map(|(_, message)| message));
    Err(message
        .unwrap_or_else(|| panic!("unexpected promtool output: {stderr}"))
        .to_string())
}

/// Prometheus 2.42 checked `lowercase`, `uppercase`, `keepequal` and `dropequal` targets
/// like `replace` targets, so it accepted `$` references there (and then wrote the
/// template text as the label name); Prometheus 3 requires a plain name.
fn template_target_accepted_by_2_42(rule: &RelabelConfig) -> bool {
    use Action::*;
    matches!(rule.action, Lowercase | Uppercase | KeepEqual | DropEqual)
        && rule.target_label.contains('$')
}

#[test]
fn validate_matches_promtool_2_42() {
    let promtool = require_binary("promtool");
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = valid_rules()
        .into_iter()
        .chain(invalid_rules().into_iter().map(|(rule, _)| rule));
    let (mut matched, mut known_differences) = (0, 0);
    for (i, mut rule) in rules.enumerate() {
        rule.name_validation = NameValidation::Legacy;
        let ours = rule.validate().map_err(|e| e.to_string());
        let theirs = promtool_verdict(&promtool, dir.path(), &format!("rule{i}"), rule_json(&rule));
        if template_target_accepted_by_2_42(&rule) {
            assert!(
                ours.is_err() && theirs.is_ok(),
                "{rule:?}: ours {ours:?}, promtool {theirs:?}"
            );
            known_differences += 1;
        } else {
            assert_eq!(ours, theirs, "{rule:?}");
            matched += 1;
        }
    }
    for (i, name) in ["Copy", "KEEP", "LabelMap", ""].into_iter().enumerate() {
        let ours = name
            .parse::<Action>()
            .map(|_| ())
            .map_err(|e| e.to_string());
        let theirs = promtool_verdict(
            &promtool,
            dir.path(),
            &format!("action{i}"),
            json!({"action": name}),
        );
        assert_eq!(ours, theirs, "action {name:?}");
        matched += 1;
    }
    println!(
        "{matched} validations matched promtool 2.42, {known_differences} known 2.42 differences"
    );
}
