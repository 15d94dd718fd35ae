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

/// One of `count` disjoint parts of every selection, chosen by a hash of each series'
/// labels: a query reads the parts on several cores, and a series falls in the same part
/// in every block and in the head, so each part merges on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which part, `0..count`.
    pub index: u32,
    /// How many parts.
    pub count: u32,
}

impl Shard {
    /// The whole selection.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether the series with these (sorted) label pairs belongs to this part.
    pub fn contains<'a>(self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        if self.count <= 1 {
            return true;
        }
        // FNV-1a over names and values with separators: stable, and cheap beside decoding.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, value) in labels {
            for b in name
                .bytes()
                .chain([0xff])
                .chain(value.bytes())
                .chain([0xff])
            {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash % u64::from(self.count) == u64::from(self.index)
    }

    /// [`Shard::contains`] for a label set.
    pub fn contains_labels(self, labels: &Labels) -> bool {
        self.count <= 1 || self.contains(labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
    }
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
    /// Series matching every matcher that have samples in range, sorted by labels.
    fn select(&self, matchers: &[Matcher]) -> Result<SeriesSet<'_>, StorageError> {
        self.select_shard(matchers, Shard::WHOLE)
    }

    /// The part `shard` of [`select`](Self::select): series outside it are skipped before
    /// their samples are read.
    fn select_shard(
        &self,
        matchers: &[Matcher],
        shard: Shard,
    ) -> Result<SeriesSet<'_>, StorageError>;

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
