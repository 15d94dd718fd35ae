//! The database's self-metrics, under Prometheus's `prometheus_tsdb_*` names, so the usual
//! dashboards and queries (bytes per sample, compaction rates) work unchanged.

use crate::db::Db;
use ember_selfmetrics::{Counter, Histogram, Kind, Registry};

/// Counters and histograms the database updates as it works.
#[derive(Clone)]
pub struct DbStats {
    /// Compactions that were executed (head to block and block merges).
    pub compactions: Counter,
    /// Compactions that failed.
    pub compactions_failed: Counter,
    /// Times blocks were deleted for time retention.
    pub time_retentions: Counter,
    /// Times blocks were deleted for size retention.
    pub size_retentions: Counter,
    /// Head truncations after a block was cut.
    pub head_truncations: Counter,
    /// WAL checkpoints written.
    pub checkpoint_creations: Counter,
    /// WAL truncations (checkpoint plus deletion of old segments) completed.
    pub wal_truncations: Counter,
    /// Head and WAL truncations that failed.
    pub wal_truncations_failed: Counter,
    /// Corrupt WAL tails repaired at start-up.
    pub wal_corruptions: Counter,
    /// Bytes of each chunk on its first compaction.
    pub(crate) chunk_size_bytes: Histogram,
    /// Samples of each chunk on its first compaction.
    pub(crate) chunk_samples: Histogram,
}

/// `start * factor^i` for `count` buckets.
fn exponential(start: f64, factor: f64, count: usize) -> Vec<f64> {
    (0..count).map(|i| start * factor.powi(i as i32)).collect()
}

impl DbStats {
    /// Registers the counters and histograms on `registry`.
    pub(crate) fn register(registry: &Registry) -> Self {
        DbStats {
            compactions: registry.counter("prometheus_tsdb_compactions_total", "Total number of compactions that were executed for the partition."),
            compactions_failed: registry.counter("prometheus_tsdb_compactions_failed_total", "Total number of compactions that failed for the partition."),
            time_retentions: registry.counter(
                "prometheus_tsdb_time_retentions_total",
                "The number of times that blocks were deleted because the maximum time limit was exceeded.",
            ),
            size_retentions: registry.counter(
                "prometheus_tsdb_size_retentions_total",
                "The number of times that blocks were deleted because the maximum number of bytes was exceeded.",
            ),
            head_truncations: registry.counter("prometheus_tsdb_head_truncations_total", "Total number of head truncations attempted."),
            checkpoint_creations: registry.counter("prometheus_tsdb_checkpoint_creations_total", "Total number of checkpoint creations attempted."),
            wal_truncations: registry.counter("prometheus_tsdb_wal_truncations_total", "Total number of write log truncations attempted."),
            wal_truncations_failed: registry.counter("prometheus_tsdb_wal_truncations_failed_total", "Total number of write log truncations that failed."),
            wal_corruptions: registry.counter("prometheus_tsdb_wal_corruptions_total", "Total number of WAL corruptions."),
            chunk_size_bytes: registry.histogram(
                "prometheus_tsdb_compaction_chunk_size_bytes",
                "Final size of chunks on their first compaction",
                &exponential(32.0, 1.5, 12),
            ),
            chunk_samples: registry.histogram(
                "prometheus_tsdb_compaction_chunk_samples",
                "Final number of samples on their first compaction",
                &exponential(4.0, 1.5, 12),
            ),
        }
    }
}

/// Registers the figures read from the database at scrape time.
pub(crate) fn register_gauges(registry: &Registry, db: &Db) {
    let gauge = |name: &str, help: &str, read: fn(&Db) -> f64| {
        let weak = db.downgrade();
        registry.gauge_fn(name, help, move || {
            weak.upgrade().map_or(f64::NAN, |d| read(&d))
        });
    };
    gauge(
        "prometheus_tsdb_head_series",
        "Total number of series in the head block.",
        |d| d.head().num_series() as f64,
    );
    gauge(
        "prometheus_tsdb_head_chunks",
        "Total number of chunks in the head block.",
        |d| d.head().num_chunks() as f64,
    );
    gauge(
        "prometheus_tsdb_head_min_time",
        "Minimum time bound of the head block.",
        |d| {
            d.head()
                .time_range()
                .map_or(f64::from(i32::MAX), |(min, _)| min as f64)
        },
    );
    gauge(
        "prometheus_tsdb_head_max_time",
        "Maximum timestamp of the head block.",
        |d| {
            d.head()
                .time_range()
                .map_or(f64::from(i32::MIN), |(_, max)| max as f64)
        },
    );
    gauge(
        "prometheus_tsdb_blocks_loaded",
        "Number of currently loaded data blocks",
        |d| d.blocks().len() as f64,
    );
    gauge(
        "prometheus_tsdb_storage_blocks_bytes",
        "The number of bytes that are currently used for local storage by all blocks.",
        |d| d.blocks().iter().map(|b| b.size()).sum::<u64>() as f64,
    );
    gauge(
        "prometheus_tsdb_retention_limit_bytes",
        "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled",
        |d| d.retention_limit_bytes() as f64,
    );
    gauge(
        "prometheus_tsdb_wal_storage_size_bytes",
        "Size of the write log directory.",
        |d| d.head().wal_size() as f64,
    );
    gauge(
        "prometheus_tsdb_wal_segment_current",
        "Write log segment index that TSDB is currently writing to.",
        |d| d.head().wal_segment_current().map_or(f64::NAN, f64::from),
    );
    let weak = db.downgrade();
    registry.collector(
        "prometheus_tsdb_wal_writes_failed_total",
        "Total number of write log writes that failed.",
        Kind::Counter,
        move || {
            vec![(
                Vec::new(),
                weak.upgrade().map_or(0, |d| d.head().wal_writes_failed()) as f64,
            )]
        },
    );
    let weak = db.downgrade();
    registry.collector(
        "prometheus_tsdb_head_samples_appended_total",
        "Total number of appended samples.",
        Kind::Counter,
        move || {
            let n = weak.upgrade().map_or(0, |d| d.head().samples_appended());
            vec![(vec![("type".to_string(), "float".to_string())], n as f64)]
        },
    );
    let weak = db.downgrade();
    registry.collector(
        "prometheus_tsdb_out_of_order_samples_total",
        "Total number of out of order samples ingestion failed attempts due to out of order being disabled.",
        Kind::Counter,
        move || {
            let n = weak.upgrade().map_or(0, |d| d.head().out_of_order_samples());
            vec![(vec![("type".to_string(), "float".to_string())], n as f64)]
        },
    );
}
