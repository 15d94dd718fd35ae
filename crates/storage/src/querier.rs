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

/// Series in label order, each with its samples, produced one at a time: a reader keeps
/// one series decoded, not the whole selection.
pub type SeriesSet<'a> = Box<dyn Iterator<Item = Result<Series, StorageError>> + 'a>;

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
    /// Series matching every matcher that have samples in range, sorted by labels.
    fn select(&self, matchers: &[Matcher]) -> Result<SeriesSet<'_>, StorageError>;

    /// [`select`](Self::select), collected (tests, small selections).
    fn select_all(&self, matchers: &[Matcher]) -> Result<Vec<Series>, StorageError> {
        self.select(matchers)?.collect()
    }

    /// Sorted label names of series matching `matchers` (all series when empty).
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;

    /// Sorted values of `name` among series matching `matchers` (all series when empty).
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;
}

/// The sorted, distinct label names of `sets`: how a querier that finds matching series
/// answers [`Querier::label_names`].
pub fn label_names_of<'a>(sets: impl IntoIterator<Item = &'a Labels>) -> Vec<String> {
    let names: std::collections::BTreeSet<&str> = sets
        .into_iter()
        .flat_map(|l| l.iter().map(|l| l.name.as_str()))
        .collect();
    names.into_iter().map(str::to_string).collect()
}

/// The sorted, distinct values of label `name` in `sets`: how a querier that finds
/// matching series answers [`Querier::label_values`].
pub fn label_values_of<'a>(sets: impl IntoIterator<Item = &'a Labels>, name: &str) -> Vec<String> {
    let values: std::collections::BTreeSet<&str> =
        sets.into_iter().filter_map(|l| l.get(name)).collect();
    values.into_iter().map(str::to_string).collect()
}
