//! A runner for Prometheus's PromQL test scripts (`promql/promqltest/testdata/*.test`).
//!
//! The script text is parsed into commands (`load`, `clear`, `eval …`) and run against any
//! storage that is both [`Appendable`] and [`Queryable`], so other crates can run the same
//! scripts against their own stores. Each eval yields an [`EvalResult`]; the caller decides
//! what must pass.
//!
//! Like Prometheus's harness, every instant eval is also run as a range query around its
//! time and with `@` pinned at other times (module `check`).
//!
//! Not yet supported: native-histogram values (`{{…}}` samples load as gaps; expected
//! histogram results fail) and start timestamps (`@st` lines are skipped).

mod check;
mod eval;
mod notation;

use crate::{Engine, EngineOptions};
use ember_model::Labels;
use ember_storage::{Appendable, MemStorage, Queryable};
use eval::parse_eval;
use notation::parse_series_line;
pub use notation::{expand_values, parse_duration, parse_number};
use std::collections::BTreeMap;
use std::time::Duration;

/// The outcome of one `eval` command.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalResult {
    /// 1-based line of the `eval` command.
    pub line: usize,
    /// `None` when the eval passed, else why it failed.
    pub failure: Option<String>,
}

/// An engine configured like Prometheus's test harness (5m lookback, 10000 samples, 100s
/// timeout, 1m default subquery step).
pub fn test_engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta: Duration::from_secs(300),
        max_samples: 10_000,
        timeout: Duration::from_secs(100),
        default_subquery_step: Duration::from_secs(60),
    })
}

/// Runs `script` against fresh [`MemStorage`]s.
pub fn run_script(script: &str) -> Vec<EvalResult> {
    run_script_with(script, &test_engine(), MemStorage::new)
}

/// Runs `script` and panics, listing the failures, unless it has evals and all pass.
pub fn assert_script_passes(script: &str) {
    let results = run_script(script);
    assert!(!results.is_empty(), "no evals in the script");
    let failed: Vec<_> = results.iter().filter(|r| r.failure.is_some()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Runs `script`, calling `new_storage` at the start and for every `clear`.
pub fn run_script_with<S: Appendable + Queryable>(
    script: &str,
    engine: &Engine,
    mut new_storage: impl FnMut() -> S,
) -> Vec<EvalResult> {
    let lines: Vec<&str> = script
        .lines()
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut storage = new_storage();
    let mut results = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let block_end = (i + 1..lines.len())
            .find(|&j| lines[j].is_empty())
            .unwrap_or(lines.len());
        let body = &lines[i + 1..block_end];
        if line == "clear" {
            storage = new_storage();
            i += 1;
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("load_with_nhcb ")
            .or_else(|| line.strip_prefix("load "))
        {
            if let Some(interval) = parse_duration(rest.trim()) {
                load(&storage, interval, body);
            }
            i = block_end;
            continue;
        }
        if line.starts_with("eval") {
            let cmd_line = i + 1;
            let failure = match parse_eval(line, body) {
                Ok((eval, consumed)) => {
                    // `expected_fail_*` lines end the block early.
                    i += consumed;
                    check::run_eval(engine, &storage, &eval).err()
                }
                Err(e) => {
                    i = block_end;
                    Some(format!("bad eval command: {e}"))
                }
            };
            results.push(EvalResult {
                line: cmd_line,
                failure,
            });
            continue;
        }
        i += 1;
    }
    results
}

fn load<S: Appendable>(storage: &S, interval: i64, body: &[&str]) {
    // A later line for the same series and timestamp overwrites an earlier one, as in
    // Prometheus's loader; collect first, then append in time order.
    let mut series: Vec<(Labels, BTreeMap<i64, f64>)> = Vec::new();
    for line in body {
        // Start timestamps are not supported yet.
        if line.contains("}@st") || line.contains("@st ") {
            continue;
        }
        let Ok((labels, values)) = parse_series_line(line) else {
            continue;
        };
        let Ok(values) = expand_values(values) else {
            continue;
        };
        let idx = match series.iter().position(|(l, _)| l == &labels) {
            Some(i) => i,
            None => {
                series.push((labels, BTreeMap::new()));
                series.len() - 1
            }
        };
        for (k, v) in values.into_iter().enumerate() {
            if let Some(v) = v {
                series[idx].1.insert(k as i64 * interval, v);
            }
        }
    }
    let mut app = storage.appender();
    for (labels, samples) in &series {
        for (&t, &v) in samples {
            let _ = app.append(0, labels, t, v);
        }
    }
    let _ = app.commit();
}

#[cfg(test)]
mod tests {
    use super::notation::parse_series_line;
    use super::*;

    #[test]
    fn series_notation() {
        assert_eq!(
            expand_values("1 _ 0+10x2 -1-1x1 _x2 3x1").unwrap(),
            vec![
                Some(1.0),
                None,
                Some(0.0),
                Some(10.0),
                Some(20.0),
                Some(-1.0),
                Some(-2.0),
                None,
                None,
                Some(3.0),
                Some(3.0)
            ]
        );
        assert_eq!(parse_number("0x10"), Some(16.0));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        let (l, v) = parse_series_line(r#"m{a="x y", b="1"} 1 2"#).unwrap();
        assert_eq!(l.to_string(), r#"{__name__="m", a="x y", b="1"}"#);
        assert_eq!(v, "1 2");
    }

    #[test]
    fn small_script() {
        let script = "load 1m\n  m{a=\"1\"} 0+1x10\n\neval instant at 5m m\n  m{a=\"1\"} 5\n\neval instant at 5m rate(m[5m])\n  {a=\"1\"} 0.016666666\n";
        let r = run_script(script);
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|e| e.failure.is_none()), "{r:?}");
    }
}
