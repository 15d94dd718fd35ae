//! The lines of one target's body: node_exporter 1.5's families (names, HELP/TYPE, label
//! shapes) followed by `http_request_duration_seconds` histograms, each series classified
//! by how its value moves. Shared by every target; values are added at render time.

/// node_exporter 1.5's metric families without sample values; host-specific label values
/// (MAC addresses, host name, kernel release) were replaced by generic ones.
const NODE_EXPORTER_TEMPLATE: &str = include_str!("node_exporter_1.5.template");

/// Upper bounds of the histogram buckets (the Go client's defaults), before `+Inf`.
const BUCKET_BOUNDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Series per histogram: the buckets, `+Inf`, `_sum` and `_count`.
pub(crate) const SERIES_PER_HISTOGRAM: usize = BUCKET_BOUNDS.len() + 3;

/// Handler label values of the histograms, as a typical web service exposes them.
const HANDLERS: [&str; 12] = [
    "/api/v1/orders",
    "/api/v1/orders/{order_id}",
    "/api/v1/users/{user_id}",
    "/api/v1/cart",
    "/api/v1/search",
    "/api/v1/products/{product_id}",
    "/api/v1/checkout",
    "/api/v1/login",
    "/api/v1/inventory",
    "/api/v1/recommendations",
    "/healthz",
    "/metrics",
];

/// What a counter counts, which sets its rate and resolution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CounterUnit {
    /// CPU and other seconds: fractions of a second per second, two decimals.
    Seconds,
    /// Bytes moved: up to ~1 MB/s.
    Bytes,
    /// Everything else (packets, interrupts, operations): up to ~1000/s.
    Events,
}

/// How a series' value evolves with time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ValueClass {
    /// Info metrics and success flags: always 1.
    One,
    Counter(CounterUnit),
    /// A gauge (or untyped sample, or summary quantile); `bytes` ones are large integers.
    Gauge {
        bytes: bool,
    },
    /// Cumulative bucket `le` (`f64::INFINITY` for `+Inf`) of histogram number `histogram`.
    Bucket {
        histogram: usize,
        le: f64,
    },
    HistogramCount {
        histogram: usize,
    },
    HistogramSum {
        histogram: usize,
    },
}

/// One sample line without its value.
#[derive(Clone, Debug)]
pub(crate) struct SeriesLine {
    /// `name` or `name{labels` (without the closing brace, so a label can be appended).
    pub(crate) open: String,
    pub(crate) has_labels: bool,
    pub(crate) class: ValueClass,
}

#[derive(Clone, Debug)]
pub(crate) enum Line {
    /// `# HELP` / `# TYPE`, copied verbatim.
    Meta(String),
    Series(SeriesLine),
}

/// The body's lines; series are numbered in order of appearance.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub(crate) lines: Vec<Line>,
}

/// Series in the node_exporter part of every body.
pub(crate) fn node_exporter_series() -> usize {
    NODE_EXPORTER_TEMPLATE
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

impl Template {
    /// node_exporter's families plus `histograms` request-duration histograms.
    pub(crate) fn new(histograms: usize) -> Template {
        let mut lines = Vec::new();
        let mut kind = "untyped";
        for text in NODE_EXPORTER_TEMPLATE.lines().filter(|l| !l.is_empty()) {
            if let Some(rest) = text.strip_prefix("# TYPE ") {
                kind = rest.rsplit(' ').next().unwrap_or("untyped");
            }
            if text.starts_with('#') {
                lines.push(Line::Meta(text.to_string()));
                continue;
            }
            let name = text.split('{').next().unwrap_or(text);
            lines.push(Line::Series(series_line(text, classify(name, kind))));
        }
        push_histograms(&mut lines, histograms);
        Template { lines }
    }

    pub(crate) fn series(&self) -> impl Iterator<Item = &SeriesLine> {
        self.lines.iter().filter_map(|l| match l {
            Line::Series(s) => Some(s),
            Line::Meta(_) => None,
        })
    }
}

fn series_line(text: &str, class: ValueClass) -> SeriesLine {
    match text.strip_suffix('}') {
        Some(open) => SeriesLine {
            open: open.to_string(),
            has_labels: true,
            class,
        },
        None => SeriesLine {
            open: text.to_string(),
            has_labels: false,
            class,
        },
    }
}

fn classify(name: &str, kind: &str) -> ValueClass {
    let counter = kind == "counter"
        || (kind == "summary" && (name.ends_with("_sum") || name.ends_with("_count")));
    if counter {
        let unit = if name.contains("seconds") {
            CounterUnit::Seconds
        } else if name.contains("bytes") {
            CounterUnit::Bytes
        } else {
            CounterUnit::Events
        };
        return ValueClass::Counter(unit);
    }
    if name.ends_with("_info") || name == "node_scrape_collector_success" {
        return ValueClass::One;
    }
    ValueClass::Gauge {
        bytes: name.contains("bytes"),
    }
}

fn push_histograms(lines: &mut Vec<Line>, histograms: usize) {
    if histograms == 0 {
        return;
    }
    let name = "http_request_duration_seconds";
    lines.push(Line::Meta(format!(
        "# HELP {name} Duration of HTTP requests in seconds."
    )));
    lines.push(Line::Meta(format!("# TYPE {name} histogram")));
    for histogram in 0..histograms {
        let handler = match HANDLERS.get(histogram) {
            Some(h) => (*h).to_string(),
            None => format!("/api/v2/resource_{histogram}"),
        };
        let labels = format!("code=\"200\",handler=\"{handler}\",method=\"GET\"");
        let bounds = BUCKET_BOUNDS.iter().copied().chain([f64::INFINITY]);
        for le in bounds {
            let le_text = if le.is_infinite() {
                "+Inf".to_string()
            } else {
                ember_exposition::format_float(le)
            };
            lines.push(Line::Series(SeriesLine {
                open: format!("{name}_bucket{{{labels},le=\"{le_text}\""),
                has_labels: true,
                class: ValueClass::Bucket { histogram, le },
            }));
        }
        for (suffix, class) in [
            ("sum", ValueClass::HistogramSum { histogram }),
            ("count", ValueClass::HistogramCount { histogram }),
        ] {
            lines.push(Line::Series(SeriesLine {
                open: format!("{name}_{suffix}{{{labels}"),
                has_labels: true,
                class,
            }));
        }
    }
}
