use crate::metric::{Counter, CounterVec, Gauge, GaugeVec, Histogram, HistogramVec, SummaryVec};
use std::sync::{Arc, RwLock};

pub use ember_exposition::MetricType as Kind;

/// A sampled value with its labels, as returned by collector functions.
pub type CollectedSample = (Vec<(String, String)>, f64);

type CollectFn = Box<dyn Fn() -> Vec<CollectedSample> + Send + Sync>;

enum Source {
    Counter(Counter),
    Gauge(Gauge),
    CounterVec(CounterVec),
    GaugeVec(GaugeVec),
    Histogram(Histogram),
    HistogramVec(HistogramVec),
    SummaryVec(SummaryVec, Vec<f64>),
    Collect(CollectFn),
}

struct Family {
    name: String,
    help: String,
    kind: Kind,
    source: Source,
}

/// A set of metric families rendered together on `/metrics`. Cloning shares the registry.
#[derive(Clone, Default)]
pub struct Registry {
    families: Arc<RwLock<Vec<Family>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn register(&self, name: &str, help: &str, kind: Kind, source: Source) {
        let mut families = self.families.write().expect("registry lock");
        assert!(
            !families.iter().any(|f| f.name == name),
            "metric {name} registered twice"
        );
        families.push(Family {
            name: name.into(),
            help: help.into(),
            kind,
            source,
        });
        families.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Registers an unlabelled counter.
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        let c = Counter::default();
        self.register(name, help, Kind::Counter, Source::Counter(c.clone()));
        c
    }

    /// Registers an unlabelled gauge.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        let g = Gauge::default();
        self.register(name, help, Kind::Gauge, Source::Gauge(g.clone()));
        g
    }

    /// Registers a labelled counter family.
    pub fn counter_vec(&self, name: &str, help: &str, label_names: &[&str]) -> CounterVec {
        let v = CounterVec::new(label_names);
        self.register(name, help, Kind::Counter, Source::CounterVec(v.clone()));
        v
    }

    /// Registers a labelled gauge family.
    pub fn gauge_vec(&self, name: &str, help: &str, label_names: &[&str]) -> GaugeVec {
        let v = GaugeVec::new(label_names);
        self.register(name, help, Kind::Gauge, Source::GaugeVec(v.clone()));
        v
    }

    /// Registers an unlabelled histogram with the given upper bounds.
    pub fn histogram(&self, name: &str, help: &str, bounds: &[f64]) -> Histogram {
        let h = Histogram::new(bounds);
        self.register(name, help, Kind::Histogram, Source::Histogram(h.clone()));
        h
    }

    /// Registers a labelled histogram family.
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        label_names: &[&str],
        bounds: &[f64],
    ) -> HistogramVec {
        let v = HistogramVec::new(label_names, bounds);
        self.register(name, help, Kind::Histogram, Source::HistogramVec(v.clone()));
        v
    }

    /// Registers a labelled summary family reporting `quantiles`.
    pub fn summary_vec(
        &self,
        name: &str,
        help: &str,
        label_names: &[&str],
        quantiles: &[f64],
    ) -> SummaryVec {
        let v = SummaryVec::new(label_names);
        self.register(
            name,
            help,
            Kind::Summary,
            Source::SummaryVec(v.clone(), quantiles.to_vec()),
        );
        v
    }

    /// Registers a family whose samples `collect` produces at render time.
    pub fn collector(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        collect: impl Fn() -> Vec<CollectedSample> + Send + Sync + 'static,
    ) {
        self.register(name, help, kind, Source::Collect(Box::new(collect)));
    }

    /// Registers an unlabelled gauge read from `f` at render time.
    pub fn gauge_fn(&self, name: &str, help: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.collector(name, help, Kind::Gauge, move || vec![(Vec::new(), f())]);
    }

    /// Renders every family in the text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let families = self.families.read().expect("registry lock");
        let mut body = String::with_capacity(16 * 1024);
        let mut w = ember_exposition::TextWriter::new(&mut body);
        for f in families.iter() {
            render_family(&mut w, f);
        }
        body
    }
}

fn render_family(w: &mut ember_exposition::TextWriter<'_>, f: &Family) {
    let samples: Vec<CollectedSample> = match &f.source {
        Source::Counter(c) => vec![(Vec::new(), c.get())],
        Source::Gauge(g) => vec![(Vec::new(), g.get())],
        Source::CounterVec(v) => labelled(&v.0.label_names, v.0.snapshot(), |c| c.get()),
        Source::GaugeVec(v) => labelled(&v.0.label_names, v.0.snapshot(), |g| g.get()),
        Source::Collect(collect) => collect(),
        Source::Histogram(h) => {
            w.help(&f.name, &f.help);
            w.metric_type(&f.name, f.kind);
            write_histogram(w, &f.name, &[], h);
            return;
        }
        Source::SummaryVec(v, quantiles) => {
            w.help(&f.name, &f.help);
            w.metric_type(&f.name, f.kind);
            for (values, summary) in v.0.snapshot() {
                let labels = pairs(&v.0.label_names, &values);
                let (points, sum, count) = summary.snapshot(quantiles);
                for (q, value) in points {
                    let q = ember_exposition::format_float(q);
                    let mut with_q = labels.clone();
                    with_q.push(("quantile", &q));
                    w.sample(&f.name, with_q.iter().copied(), value, None);
                }
                w.sample(
                    &format!("{}_sum", f.name),
                    labels.iter().copied(),
                    sum,
                    None,
                );
                w.sample(
                    &format!("{}_count", f.name),
                    labels.iter().copied(),
                    count as f64,
                    None,
                );
            }
            return;
        }
        Source::HistogramVec(v) => {
            w.help(&f.name, &f.help);
            w.metric_type(&f.name, f.kind);
            for (values, h) in v.children.snapshot() {
                let labels = pairs(&v.children.label_names, &values);
                write_histogram(w, &f.name, &labels, &h);
            }
            return;
        }
    };
    w.help(&f.name, &f.help);
    w.metric_type(&f.name, f.kind);
    for (labels, value) in samples {
        let labels: Vec<(&str, &str)> = labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        w.sample(&f.name, labels.iter().copied(), value, None);
    }
}

fn labelled<M>(
    names: &[String],
    children: Vec<(Vec<String>, M)>,
    value: impl Fn(&M) -> f64,
) -> Vec<CollectedSample> {
    children
        .into_iter()
        .map(|(values, m)| (names.iter().cloned().zip(values).collect(), value(&m)))
        .collect()
}

fn pairs<'a>(names: &'a [String], values: &'a [String]) -> Vec<(&'a str, &'a str)> {
    names
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(String::as_str))
        .collect()
}

fn write_histogram(
    w: &mut ember_exposition::TextWriter<'_>,
    name: &str,
    labels: &[(&str, &str)],
    h: &Histogram,
) {
    let (buckets, sum, count) = h.snapshot();
    let bucket_name = format!("{name}_bucket");
    for (bound, cumulative) in buckets {
        let le = ember_exposition::format_float(bound);
        let mut with_le = labels.to_vec();
        with_le.push(("le", &le));
        w.sample(
            &bucket_name,
            with_le.iter().copied(),
            cumulative as f64,
            None,
        );
    }
    w.sample(&format!("{name}_sum"), labels.iter().copied(), sum, None);
    w.sample(
        &format!("{name}_count"),
        labels.iter().copied(),
        count as f64,
        None,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_kind_in_the_text_format() {
        let r = Registry::new();
        r.counter("c_total", "A counter.").inc_by(2.0);
        r.gauge_vec("g", "A gauge.", &["x"])
            .with(&["a\"b"])
            .set(1.5);
        let h = r.histogram("h_seconds", "A histogram.", &[0.1, 1.0]);
        h.observe(0.05);
        h.observe(5.0);
        let s = r.summary_vec("s_seconds", "A summary.", &["slice"], &[0.5, 0.9]);
        for v in [1.0, 2.0, 3.0, 4.0] {
            s.with(&["inner_eval"]).observe(v);
        }
        let text = r.render();
        for line in [
            "# TYPE c_total counter\nc_total 2\n",
            "g{x=\"a\\\"b\"} 1.5\n",
            "h_seconds_bucket{le=\"0.1\"} 1\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 5.05\nh_seconds_count 2\n",
            "# TYPE s_seconds summary\ns_seconds{slice=\"inner_eval\",quantile=\"0.5\"} 2\ns_seconds{slice=\"inner_eval\",quantile=\"0.9\"} 4\ns_seconds_sum{slice=\"inner_eval\"} 10\ns_seconds_count{slice=\"inner_eval\"} 4\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
