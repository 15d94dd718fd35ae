//! Runs Prometheus's PromQL test scripts from the shared corpus.

use ember_promql::promqltest::{EvalResult, run_script};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Evals of FLOAT_CORE_EVALS.tsv known to pass; raise it as the engine improves.
const FLOAT_CORE_FLOOR: usize = 913;

fn run_file(path: &Path) -> Vec<EvalResult> {
    let script =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    run_script(&script)
}

#[test]
fn float_core_evals_pass() {
    let dir = ember_testkit::shared_dir().join("promql-testdata");
    let tsv = std::fs::read_to_string(dir.join("FLOAT_CORE_EVALS.tsv")).expect("read the TSV");
    let mut wanted: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        wanted
            .entry(cols[0].to_string())
            .or_default()
            .push(cols[1].parse().expect("line number"));
    }
    let (mut total, mut passed) = (0, 0);
    let mut failures = Vec::new();
    for (file, lines) in &wanted {
        let results: HashMap<usize, EvalResult> = run_file(&dir.join(file))
            .into_iter()
            .map(|r| (r.line, r))
            .collect();
        for line in lines {
            total += 1;
            match results.get(line) {
                Some(EvalResult { failure: None, .. }) => passed += 1,
                Some(EvalResult {
                    failure: Some(f), ..
                }) => failures.push(format!("{file}:{line}: {f}")),
                None => failures.push(format!("{file}:{line}: eval not found by the runner")),
            }
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("FLOAT_CORE_EVALS: {passed}/{total} pass");
    assert!(
        passed >= FLOAT_CORE_FLOOR,
        "{passed} float-core evals pass, fewer than the recorded floor {FLOAT_CORE_FLOOR}"
    );
}

#[test]
fn corpus_pass_counts() {
    // Set to list every failing eval as well.
    let verbose = std::env::var_os("EMBER_PROMQLTEST_FAILURES").is_some();
    let shared = ember_testkit::shared_dir();
    for corpus in ["promql-testdata", "promql-testdata-v2.42.0"] {
        let mut files: Vec<_> = std::fs::read_dir(shared.join(corpus))
            .expect("read corpus dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "test"))
            .collect();
        files.sort();
        let (mut all, mut ok) = (0, 0);
        println!("{corpus}:");
        for path in files {
            let results = run_file(&path);
            if verbose {
                for r in &results {
                    if let Some(f) = &r.failure {
                        println!("FAIL {}:{}: {f}", path.display(), r.line);
                    }
                }
            }
            let passed = results.iter().filter(|r| r.failure.is_none()).count();
            println!(
                "  {:<28} {passed:>4}/{:<4}",
                path.file_name().unwrap().to_string_lossy(),
                results.len()
            );
            all += results.len();
            ok += passed;
        }
        println!("  {:<28} {ok:>4}/{all:<4}", "total");
    }
}
