//! `limitk` and `limit_ratio` (Prometheus 3's experimental aggregations): which series
//! they keep, per group and step, and that complementary ratios split a vector in two.

use ember_promql::promqltest::assert_script_passes;

const LOAD: &str = r#"
load 5m
  requests_total{job="api", instance="a", group="production"} 0+10x10
  requests_total{job="api", instance="b", group="production"} 0+20x10
  requests_total{job="api", instance="a", group="canary"} 0+30x10
  requests_total{job="api", instance="b", group="canary"} 0+40x10
  requests_total{job="api", instance="c", group="canary"} 0+50x10
  requests_total{job="api", instance="d", group="canary"} 0+60x10
  rising 1+1x10
"#;

fn check(evals: &str) {
    assert_script_passes(&format!("{LOAD}\n{evals}"));
}

#[test]
fn limitk_keeps_the_first_k_series_of_each_group() {
    check(
        r#"
eval instant at 50m limitk by (group) (0, requests_total)

eval instant at 50m limitk by (group) (-1, requests_total)

eval instant at 50m count(limitk by (group) (1, requests_total) and requests_total)
  {} 2

eval instant at 50m count(limitk by (group) (3, requests_total) and requests_total)
  {} 5

eval instant at 50m limitk(1, requests_total{group="production"})
  requests_total{job="api", instance="a", group="production"} 100

eval range from 0 to 50m step 5m count(limitk(scalar(rising), requests_total))
  {} 1 2 3 4 5 6 6 6 6 6 6

eval instant at 50m limitk(NaN, requests_total)
  expect fail
"#,
    );
}

#[test]
fn limit_ratio_keeps_a_hash_chosen_share_and_its_complement() {
    check(
        r#"
eval range from 0 to 50m step 5m count(limit_ratio(1, requests_total))
  {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(-1, requests_total))
  {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0, requests_total))

eval range from 0 to 50m step 5m count(limit_ratio(0.3, requests_total) or limit_ratio(-0.7, requests_total))
  {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0.3, requests_total) and limit_ratio(-0.7, requests_total))

eval range from 0 to 50m step 5m count(limit_ratio(0.6, requests_total) or limit_ratio(-0.4, requests_total))
  {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0.6, requests_total) and limit_ratio(-0.4, requests_total))

eval instant at 50m count(limit_ratio(1.5, requests_total))
  expect warn
  {} 6
"#,
    );
}
