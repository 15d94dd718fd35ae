//! Engine bugs found by the differential test against a real Prometheus
//! (`crates/ember/tests/query_diff.rs`), pinned as test scripts in Prometheus's format.

use ember_promql::promqltest::assert_script_passes;

/// `clamp` returns nothing only when min > max; a NaN bound compares false, so the
/// values become NaN (Go's `math.Max`/`math.Min` propagate NaN).
#[test]
fn clamp_with_a_nan_bound_yields_nan() {
    assert_script_passes(
        r#"
load 1m
  m{a="1"} 3

eval instant at 0m clamp(m, NaN, 5)
  {a="1"} NaN

eval instant at 0m clamp(m, 1, NaN)
  {a="1"} NaN

eval instant at 0m clamp(m, 5, 1)

eval range from 0 to 2m step 1m clamp(m, scalar(nope), 5)
  {a="1"} NaN NaN NaN
"#,
    );
}

/// In a range query, `or` continues a left-hand series with the right-hand one when their
/// labels are the same: one series, not two with the same labels.
#[test]
fn or_merges_series_with_the_same_labels() {
    assert_script_passes(
        r#"
load 1m
  m{a="1"} 1 _ _ _ _ _ _ _ 2

eval range from 0 to 10m step 5m sum(m) or vector(0)
  {} 1 0 2

eval range from 0 to 10m step 5m m or label_replace(vector(7), "a", "1", "", "")
  m{a="1"} 1 _ 2
  {a="1"} _ 7 _
"#,
    );
}

/// The native-histogram functions exist and ignore float samples (Ember has no others).
#[test]
fn native_histogram_functions_ignore_floats() {
    assert_script_passes(
        r#"
load 1m
  m_bucket{le="1"} 1
  m_bucket{le="+Inf"} 2

eval instant at 0m histogram_count(m_bucket)

eval instant at 0m histogram_sum(rate(m_bucket[1m]))

eval instant at 0m histogram_fraction(0, 0.5, m_bucket)

eval instant at 0m histogram_avg(m_bucket)

eval range from 0 to 2m step 1m histogram_stddev(m_bucket) or histogram_stdvar(m_bucket)
"#,
    );
}

/// Selections spanning an hour or more are read by several threads, each a share of the
/// series by label hash; the results are merged back into label order.
#[test]
fn long_reads_split_over_threads_keep_every_series_in_order() {
    let series = 40;
    let mut script = String::from("load 1m\n");
    for i in 0..series {
        script += &format!("  counter_total{{i=\"{i:02}\"}} 0+{}x180\n", i + 1);
    }
    script += "\neval range from 2h to 3h step 30m rate(counter_total[10m])\n";
    for i in 0..series {
        let per_second = (i + 1) as f64 / 60.0;
        script += &format!("  {{i=\"{i:02}\"}} {per_second} {per_second} {per_second}\n");
    }
    script += "\neval range from 2h to 3h step 30m counter_total\n";
    for i in 0..series {
        let v = |minute: usize| minute * (i + 1);
        script += &format!(
            "  counter_total{{i=\"{i:02}\"}} {} {} {}\n",
            v(120),
            v(150),
            v(180)
        );
    }
    // Unsorted: the order is the selector's, merged from the threads' parts.
    script += "\neval_ordered instant at 3h avg_over_time(counter_total[2h])\n";
    for i in 0..series {
        // Samples at minutes 61..=180 average to minute 120.5.
        script += &format!("  {{i=\"{i:02}\"}} {}\n", 120.5 * (i + 1) as f64);
    }
    assert_script_passes(&script);
}
