//! Query results and errors as callers see them.

use ember_model::Labels;

/// One sample of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: Labels,
    /// The evaluation timestamp, in milliseconds.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// One series of a range result.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesPoints {
    /// The series' labels.
    pub labels: Labels,
    /// `(timestamp, value)` pairs in time order.
    pub points: Vec<(i64, f64)>,
}

/// The value a query produced.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryValue {
    /// A scalar at a timestamp.
    Scalar {
        /// Evaluation timestamp, in milliseconds.
        t: i64,
        /// The value.
        v: f64,
    },
    /// A string at a timestamp.
    String {
        /// Evaluation timestamp, in milliseconds.
        t: i64,
        /// The value.
        v: String,
    },
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector (range queries, or an instant query of a range expression), sorted by
    /// labels.
    Matrix(Vec<SeriesPoints>),
}

/// A query's value with the annotations (warnings and infos) raised while computing it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOutput {
    /// The value.
    pub value: QueryValue,
    /// Annotations such as `PromQL info: metric might not be a counter, …`.
    pub warnings: Vec<String>,
    /// How many samples the query read, for the HTTP API's `stats` parameter.
    pub stats: QueryStats,
}

/// Sample counts of one query, as Prometheus reports them under `stats`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryStats {
    /// Samples read per step of the query (one entry for an instant query): per step, one
    /// for every series an instant selector yields and every point in the windows of range
    /// selectors and subqueries (whose inner evaluation is not counted, as in Prometheus).
    pub samples_per_step: Vec<u64>,
    /// The most samples held at once: the largest selector result or the final result.
    /// Prometheus's engine also counts its intermediate vectors, so its figure can be higher.
    pub peak_samples: u64,
}

impl QueryStats {
    /// `totalQueryableSamples`: the sum over the steps.
    pub fn total_samples(&self) -> u64 {
        self.samples_per_step.iter().sum()
    }
}

/// The class of a query failure, as the HTTP API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query is malformed (parse or type errors).
    BadData,
    /// Evaluation failed (duplicate series, too many samples, …).
    Execution,
    /// The query ran longer than the timeout.
    Timeout,
    /// The query was canceled.
    Canceled,
    /// A storage or engine fault.
    Internal,
}

/// A failed query. Messages follow Prometheus's wording.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
}

impl QueryError {
    /// An evaluation failure.
    pub fn execution(message: impl Into<String>) -> Self {
        QueryError {
            kind: ErrorKind::Execution,
            message: message.into(),
        }
    }

    /// A malformed query.
    pub fn bad_data(message: impl Into<String>) -> Self {
        QueryError {
            kind: ErrorKind::BadData,
            message: message.into(),
        }
    }

    /// A storage or engine fault.
    pub fn internal(message: impl Into<String>) -> Self {
        QueryError {
            kind: ErrorKind::Internal,
            message: message.into(),
        }
    }
}
