//! Support for the side-by-side benchmark (`bench/side_by_side.py`, documented in
//! `docs/benchmarks.md`): a fake node_exporter whose bodies have the series names and
//! label shapes of a real node_exporter 1.5 response (505 series), with values that
//! change on every scrape the way a real host's do.
//!
//! The template (`node_exporter_1.5.template`) holds `# HELP`/`# TYPE` lines and the
//! `name{labels}` of each sample, without values; host-specific label values (MAC
//! addresses, host name, kernel release) were replaced by generic ones.

#![deny(missing_docs)]

use std::fmt::Write as _;

/// The template: node_exporter 1.5's metric families, without sample values.
pub const NODE_EXPORTER_TEMPLATE: &str = include_str!("node_exporter_1.5.template");

/// How a series' value evolves between scrapes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// Copied verbatim (metadata lines).
    Meta,
    /// Never changes (info metrics, sizes, flags): `base`.
    Constant,
    /// A gauge that moves a little on every scrape around `base`.
    Jitter,
    /// A counter growing at `rate` per second; integral unless `fractional`.
    Counter { fractional: bool },
}

#[derive(Clone, Debug)]
struct Line {
    /// The metadata line, or the series (`name{labels}`) without the value.
    text: &'static str,
    shape: Shape,
    /// Per-series constant derived from the target and line index.
    seed: u64,
}

/// The body generator for one virtual target.
#[derive(Clone, Debug)]
pub struct Target {
    lines: Vec<Line>,
    /// Seconds added to the wall clock so that targets' counters differ.
    offset: f64,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A number in [0, 1) derived from `seed`.
fn unit(seed: u64) -> f64 {
    (splitmix(seed) >> 11) as f64 / (1u64 << 53) as f64
}

impl Target {
    /// The generator for target number `index` (values differ between targets).
    pub fn new(index: u64) -> Self {
        let mut kind = "untyped";
        let mut lines = Vec::new();
        for (i, text) in NODE_EXPORTER_TEMPLATE.lines().enumerate() {
            let seed = splitmix(index.wrapping_mul(1_000_003).wrapping_add(i as u64));
            if let Some(rest) = text.strip_prefix("# TYPE ") {
                kind = rest.rsplit(' ').next().unwrap_or("untyped");
                lines.push(Line {
                    text,
                    shape: Shape::Meta,
                    seed,
                });
                continue;
            }
            if text.starts_with('#') || text.is_empty() {
                lines.push(Line {
                    text,
                    shape: Shape::Meta,
                    seed,
                });
                continue;
            }
            let name = text.split('{').next().unwrap_or(text);
            let is_counter = kind == "counter"
                || (kind == "summary" && (name.ends_with("_sum") || name.ends_with("_count")));
            let shape = if is_counter {
                // About a quarter of real counters (errors, drops) stay still.
                if seed.is_multiple_of(4) {
                    Shape::Constant
                } else {
                    Shape::Counter {
                        fractional: name.ends_with("seconds_total") || name.ends_with("_sum"),
                    }
                }
            } else if name.ends_with("_info") || seed.is_multiple_of(2) {
                Shape::Constant
            } else {
                Shape::Jitter
            };
            lines.push(Line { text, shape, seed });
        }
        Target {
            lines,
            offset: unit(index) * 1e6,
        }
    }

    /// Number of sample lines in a body.
    pub fn series(&self) -> usize {
        self.lines.iter().filter(|l| l.shape != Shape::Meta).count()
    }

    /// Writes the body as it reads at `now` (Unix seconds) into `out` (cleared first).
    pub fn render(&self, now: f64, out: &mut String) {
        out.clear();
        let t = now + self.offset;
        // Values change once per second at most, like a real exporter's between scrapes.
        let tick = now.floor() as u64;
        for line in &self.lines {
            out.push_str(line.text);
            let value = match line.shape {
                Shape::Meta => {
                    out.push('\n');
                    continue;
                }
                Shape::Constant => (unit(line.seed) * 1000.0).floor(),
                Shape::Jitter => {
                    let base = unit(line.seed) * 1e9;
                    (base * (1.0 + 0.01 * (unit(line.seed ^ tick) - 0.5))).floor()
                }
                Shape::Counter { fractional } => {
                    let rate = unit(line.seed.rotate_left(17));
                    if fractional {
                        (t * rate * 100.0).floor() / 100.0
                    } else {
                        (t * rate * 1000.0).floor()
                    }
                }
            };
            out.push(' ');
            let _ = write!(out, "{}", ember_exposition::format_float(value));
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_exposition::{Entry, Format, MetricType, Parser};
    use std::collections::{HashMap, HashSet};

    fn samples(body: &str) -> HashMap<String, (f64, Option<MetricType>)> {
        let mut out = HashMap::new();
        for entry in Parser::new(body.as_bytes(), Format::PromText) {
            if let Entry::Sample(s) = entry.expect("body parses") {
                let key = String::from_utf8(s.series_id().to_vec()).unwrap();
                assert!(
                    out.insert(key, (s.value, s.metric_type)).is_none(),
                    "duplicate series"
                );
            }
        }
        out
    }

    #[test]
    fn body_has_node_exporter_shape_and_parses() {
        let target = Target::new(7);
        assert_eq!(target.series(), 505);
        let mut body = String::new();
        target.render(1_800_000_000.0, &mut body);
        let s = samples(&body);
        assert_eq!(s.len(), 505);
        assert_eq!(
            s.keys()
                .filter(|k| k.starts_with("node_cpu_seconds_total{"))
                .count(),
            16
        );
        let names: HashSet<_> = s.keys().map(|k| k.split('{').next().unwrap()).collect();
        assert!(names.len() > 250, "{} metric names", names.len());
        assert!(s.values().all(|(v, _)| v.is_finite() && *v >= 0.0));
    }

    #[test]
    fn counters_grow_and_targets_differ() {
        let (a, b) = (Target::new(1), Target::new(2));
        let (mut x, mut y, mut z) = (String::new(), String::new(), String::new());
        a.render(1_800_000_000.0, &mut x);
        a.render(1_800_000_015.0, &mut y);
        b.render(1_800_000_000.0, &mut z);
        let (x, y, z) = (samples(&x), samples(&y), samples(&z));
        let mut grew = 0;
        for (k, (v0, t)) in &x {
            let v1 = y[k].0;
            if *t == Some(MetricType::Counter) {
                assert!(v1 >= *v0, "{k} went down");
                grew += usize::from(v1 > *v0);
            }
        }
        assert!(grew > 100, "only {grew} counters grew");
        assert!(x.iter().filter(|(k, v)| z[*k].0 != v.0).count() > 200);
    }
}
