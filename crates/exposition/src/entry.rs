//! What the parser yields: metadata, comments and samples borrowing from the body.

use crate::gofloat::{format_openmetrics_float, parse_float};
use crate::labels::{LabelPairs, decode_name};
use ember_model::MetricType;
use std::borrow::Cow;

/// The NaN bit pattern Prometheus stores for a scraped `NaN` (`value.NormalNaN`). Every
/// NaN value the parser yields has exactly these bits, so none can pass for the staleness
/// marker [`ember_model::STALE_NAN`].
pub const NORMAL_NAN: f64 = f64::from_bits(0x7ff8_0000_0000_0001);

/// One line of a body, as the parser yields it.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP name text`, with the text unescaped.
    Help {
        /// Metric family name.
        metric: Cow<'a, str>,
        /// Help text.
        text: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// Metric family name.
        metric: Cow<'a, str>,
        /// The declared type.
        kind: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics only).
    Unit {
        /// Metric family name.
        metric: Cow<'a, str>,
        /// The unit; empty when the line gives none.
        unit: Cow<'a, str>,
    },
    /// Any other `#` line of the text format (`# EOF` included), whole, without the newline.
    Comment {
        /// The line as written, starting at `#`.
        text: Cow<'a, str>,
    },
    /// A sample line.
    Sample(Sample<'a>),
}

/// One sample line, borrowing from the body.
///
/// Only the value, timestamp and exemplar are decoded up front; the name and labels are
/// decoded when asked for, so a scrape cache keyed by [`Sample::series_id`] pays nothing
/// for series it has seen before.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample<'a> {
    pub(crate) series: &'a [u8],
    pub(crate) name: &'a [u8],
    pub(crate) name_quoted: bool,
    pub(crate) label_block: &'a [u8],
    /// The sample value; any NaN is [`NORMAL_NAN`].
    pub value: f64,
    /// The sample's own timestamp in milliseconds. OpenMetrics writes seconds; they are
    /// scaled and truncated toward zero, as Prometheus does.
    pub timestamp_ms: Option<i64>,
    /// The exemplar after `#` (OpenMetrics only).
    pub exemplar: Option<Exemplar<'a>>,
    /// The type of the family this sample belongs to: the last `# TYPE`, if the sample's
    /// name is that family's name or one of its type's suffixes (`_total`, `_bucket`, …).
    pub metric_type: Option<MetricType>,
}

impl<'a> Sample<'a> {
    /// The metric name and label block exactly as written (`name{a="b"}`), the key a
    /// scrape cache uses to skip decoding labels it has seen.
    pub fn series_id(&self) -> &'a [u8] {
        self.series
    }

    /// The metric name, unescaped when it was written quoted.
    pub fn metric_name(&self) -> Cow<'a, str> {
        decode_name(self.name, self.name_quoted)
    }

    /// The labels in written order, unescaped, without the metric name, exactly as the
    /// body wrote them (see [`Sample::to_labels`] for the normalized set Prometheus stores).
    pub fn labels(&self) -> LabelPairs<'a> {
        LabelPairs::new(self.label_block)
    }

    /// The series' label set as Prometheus 3 stores it: the metric name as `__name__`
    /// plus the labels, sorted, with `le` of histograms and `quantile` of summaries
    /// rewritten in OpenMetrics float form (`le="1"` becomes `le="1.0"`), so both formats
    /// and all exporters name a bucket alike. Empty values are dropped and a repeated
    /// name keeps its last value, so check [`Sample::labels`] first where duplicates must
    /// be rejected.
    pub fn to_labels(&self) -> ember_model::Labels {
        let float_label = match self.metric_type {
            Some(MetricType::Histogram) => Some("le"),
            Some(MetricType::Summary) => Some("quantile"),
            _ => None,
        };
        let labels = self.labels().map(|(name, value)| {
            let normalized = (float_label == Some(&*name))
                .then(|| parse_float(value.as_bytes()).ok())
                .flatten()
                .map(|v| Cow::Owned(format_openmetrics_float(v)));
            (name, normalized.unwrap_or(value))
        });
        let name = (Cow::Borrowed(ember_model::METRIC_NAME), self.metric_name());
        ember_model::Labels::from_pairs(std::iter::once(name).chain(labels))
    }

    /// True for an OpenMetrics `_created` series of a counter, histogram or summary, whose
    /// value is the family's creation time in seconds rather than a measurement.
    pub fn is_created_series(&self) -> bool {
        self.metric_type.is_some_and(MetricType::has_created_series)
            && self.name.ends_with(b"_created")
    }
}

/// An OpenMetrics exemplar: `# {trace_id="…"} 1.5 1700000000.123`.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar<'a> {
    pub(crate) label_block: &'a [u8],
    /// The exemplar's value; any NaN is [`NORMAL_NAN`].
    pub value: f64,
    /// The exemplar's timestamp in milliseconds, if written.
    pub timestamp_ms: Option<i64>,
}

impl<'a> Exemplar<'a> {
    /// The exemplar's labels in written order, unescaped.
    pub fn labels(&self) -> LabelPairs<'a> {
        LabelPairs::new(self.label_block)
    }
}
