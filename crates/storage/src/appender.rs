use ember_model::{Labels, MetricType, Timestamp};

/// An opaque, storage-assigned series handle. Zero means "not known yet".
///
/// A writer may pass back the ref a previous append returned for the same labels to let
/// the storage skip the label lookup; the labels stay authoritative.
pub type SeriesRef = u64;

/// Why a sample was refused. The messages are Prometheus's, so users see the same errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    /// The sample is older than the newest one stored for the series.
    #[error("out of order sample")]
    OutOfOrder,
    /// A different value already exists at that timestamp.
    #[error("duplicate sample for timestamp")]
    DuplicateTimestamp,
    /// The timestamp is outside the range the storage accepts.
    #[error("out of bounds")]
    OutOfBounds,
    /// The label set is not acceptable (empty, duplicate names, invalid names).
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
    /// Any other storage failure; the transaction should be rolled back.
    #[error("{0}")]
    Storage(String),
}

/// Metric metadata as scraped from `# TYPE`, `# HELP` and `# UNIT`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// The declared type.
    pub kind: MetricType,
    /// The help text.
    pub help: String,
    /// The unit (OpenMetrics).
    pub unit: String,
}

/// Hands out appenders. Implementations are shared between threads.
pub trait Appendable: Send + Sync {
    /// Starts a new transaction.
    fn appender(&self) -> Box<dyn Appender>;
}

/// One transaction of appends.
///
/// Samples become visible to readers only on [`Appender::commit`], all at once. An appender
/// dropped without commit is rolled back. An append error refuses that one sample; the rest
/// of the transaction is unaffected and may still be committed.
pub trait Appender: Send {
    /// Adds a float sample (a staleness marker is [`ember_model::STALE_NAN`]).
    /// Returns the series ref to pass back next time.
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        v: f64,
    ) -> Result<SeriesRef, AppendError>;

    /// Appends to the series `series_ref` names, without its labels: the fast path for
    /// writers that keep refs (scrapes). `Ok(false)` when the storage does not know the
    /// ref (0, or a series it has since dropped); the writer then calls
    /// [`append`](Self::append) with the labels.
    fn append_by_ref(
        &mut self,
        series_ref: SeriesRef,
        t: Timestamp,
        v: f64,
    ) -> Result<bool, AppendError> {
        let _ = (series_ref, t, v);
        Ok(false)
    }

    /// Records metadata for the series' metric family.
    fn update_metadata(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        metadata: &Metadata,
    ) -> Result<SeriesRef, AppendError>;

    /// Makes every accepted sample visible atomically. Once this returns `Ok`, the samples
    /// are durable as far as the storage promises durability.
    fn commit(self: Box<Self>) -> Result<(), AppendError>;

    /// Discards every sample of the transaction.
    fn rollback(self: Box<Self>);
}
