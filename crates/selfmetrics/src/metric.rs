use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// An `f64` updated atomically.
#[derive(Default, Debug)]
struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    fn add(&self, d: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + d).to_bits())
            });
    }
}

/// A monotonically increasing value. Cloning shares the same counter.
#[derive(Clone, Default, Debug)]
pub struct Counter(Arc<AtomicF64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.add(1.0);
    }

    /// Adds `v` (must be non-negative).
    pub fn inc_by(&self, v: f64) {
        debug_assert!(v >= 0.0, "counters only go up");
        self.0.add(v);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        self.0.get()
    }
}

/// A value that goes up and down. Cloning shares the same gauge.
#[derive(Clone, Default, Debug)]
pub struct Gauge(Arc<AtomicF64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: f64) {
        self.0.set(v);
    }

    /// Adds `d` (may be negative).
    pub fn add(&self, d: f64) {
        self.0.add(d);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        self.0.get()
    }
}

/// A histogram with fixed upper bounds. Cloning shares the same histogram.
#[derive(Clone, Debug)]
pub struct Histogram(Arc<HistogramCore>);

#[derive(Debug)]
struct HistogramCore {
    bounds: Vec<f64>,
    /// Non-cumulative counts per bucket; the last is the `+Inf` overflow.
    counts: Vec<AtomicU64>,
    sum: AtomicF64,
}

impl Histogram {
    pub(crate) fn new(bounds: &[f64]) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram(Arc::new(HistogramCore {
            bounds: bounds.to_vec(),
            counts,
            sum: AtomicF64::default(),
        }))
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let i = self
            .0
            .bounds
            .iter()
            .position(|&b| v <= b)
            .unwrap_or(self.0.bounds.len());
        self.0.counts[i].fetch_add(1, Ordering::Relaxed);
        self.0.sum.add(v);
    }

    /// `(upper bound, cumulative count)` per bucket including `+Inf`, the sum, and the count.
    pub(crate) fn snapshot(&self) -> (Vec<(f64, u64)>, f64, u64) {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(self.0.counts.len());
        for (i, c) in self.0.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            buckets.push((
                self.0.bounds.get(i).copied().unwrap_or(f64::INFINITY),
                cumulative,
            ));
        }
        (buckets, self.0.sum.get(), cumulative)
    }
}

/// Children of a labelled family, keyed by label values in label-name order.
#[derive(Debug)]
pub(crate) struct Children<M> {
    pub(crate) label_names: Vec<String>,
    pub(crate) by_values: Mutex<BTreeMap<Vec<String>, M>>,
}

impl<M: Clone> Children<M> {
    fn new(label_names: &[&str]) -> Self {
        Children {
            label_names: label_names.iter().map(|s| s.to_string()).collect(),
            by_values: Mutex::default(),
        }
    }

    fn get_or(&self, values: &[&str], make: impl FnOnce() -> M) -> M {
        assert_eq!(
            values.len(),
            self.label_names.len(),
            "label value count must match label names"
        );
        let key: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        self.by_values
            .lock()
            .expect("metric children lock")
            .entry(key)
            .or_insert_with(make)
            .clone()
    }

    pub(crate) fn snapshot(&self) -> Vec<(Vec<String>, M)> {
        let map = self.by_values.lock().expect("metric children lock");
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn remove(&self, values: &[&str]) {
        let key: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        self.by_values
            .lock()
            .expect("metric children lock")
            .remove(&key);
    }
}

macro_rules! labelled_family {
    ($vec:ident, $metric:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Debug)]
        pub struct $vec(pub(crate) Arc<Children<$metric>>);

        impl $vec {
            pub(crate) fn new(label_names: &[&str]) -> Self {
                $vec(Arc::new(Children::new(label_names)))
            }

            /// The child for these label values (in label-name order), created on first use.
            pub fn with(&self, values: &[&str]) -> $metric {
                self.0.get_or(values, $metric::default)
            }

            /// Removes the child for these label values (e.g. when a scrape pool goes away).
            pub fn remove(&self, values: &[&str]) {
                self.0.remove(values)
            }
        }
    };
}

labelled_family!(
    CounterVec,
    Counter,
    "A family of counters with label dimensions."
);
labelled_family!(GaugeVec, Gauge, "A family of gauges with label dimensions.");
labelled_family!(
    SummaryVec,
    Summary,
    "A family of summaries with label dimensions."
);

/// A family of histograms with label dimensions, all with the same bounds.
#[derive(Clone, Debug)]
pub struct HistogramVec {
    pub(crate) children: Arc<Children<Histogram>>,
    bounds: Vec<f64>,
}

impl HistogramVec {
    pub(crate) fn new(label_names: &[&str], bounds: &[f64]) -> Self {
        HistogramVec {
            children: Arc::new(Children::new(label_names)),
            bounds: bounds.to_vec(),
        }
    }

    /// The child for these label values, created on first use.
    pub fn with(&self, values: &[&str]) -> Histogram {
        self.children
            .get_or(values, || Histogram::new(&self.bounds))
    }
}

/// How many recent observations a [`Summary`] keeps for its quantiles.
const SUMMARY_WINDOW: usize = 512;

/// A summary: count and sum of every observation, and quantiles over the most recent
/// ones (Prometheus's summaries use a time window; a fixed count is close enough for
/// self-monitoring and needs no clock). Cloning shares the same summary.
#[derive(Clone, Debug, Default)]
pub struct Summary(Arc<Mutex<SummaryCore>>);

#[derive(Debug, Default)]
struct SummaryCore {
    recent: std::collections::VecDeque<f64>,
    sum: f64,
    count: u64,
}

impl Summary {
    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let mut core = self.0.lock().expect("summary lock");
        if core.recent.len() == SUMMARY_WINDOW {
            core.recent.pop_front();
        }
        core.recent.push_back(v);
        core.sum += v;
        core.count += 1;
    }

    /// `(quantile, value)` for each of `quantiles` (NaN before any observation), the sum
    /// and the count.
    pub(crate) fn snapshot(&self, quantiles: &[f64]) -> (Vec<(f64, f64)>, f64, u64) {
        let core = self.0.lock().expect("summary lock");
        let mut sorted: Vec<f64> = core.recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let values = quantiles
            .iter()
            .map(|&q| {
                let v = if sorted.is_empty() {
                    f64::NAN
                } else {
                    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
                };
                (q, v)
            })
            .collect();
        (values, core.sum, core.count)
    }
}
