use ember_model::{Labels, Matcher, Timestamp};

/// A read failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(pub String);

/// One series with its samples in `[mint, maxt]`, in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The label set.
    pub labels: Labels,
    /// `(timestamp, value)` pairs, ascending by timestamp, staleness markers included.
    pub samples: Vec<(Timestamp, f64)>,
}

/// Hands out queriers. Implementations are shared between threads.
pub trait Queryable: Send + Sync {
    /// A querier over the inclusive range `[mint, maxt]`.
    fn querier(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Box<dyn Querier + '_>, StorageError>;
}

/// Reads a consistent view of committed data.
pub trait Querier {
    /// Series matching every matcher, sorted by labels.
    fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>, StorageError>;

    /// Sorted label names of series matching `matchers` (all series when empty).
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;

    /// Sorted values of `name` among series matching `matchers` (all series when empty).
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;
}
