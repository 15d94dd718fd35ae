//! The database's self-metrics, under Prometheus's `prometheus_tsdb_*` names, so the usual
//! dashboards and queries (bytes per sample, compaction rates) work unchanged.

use crate::db::Db;
use ember_selfmetrics::{Counter, Gauge, Histogram, Kind, Registry, Summary};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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
    /// Time range (ms, as Prometheus reports it) of each chunk on its first compaction.
    pub(crate) chunk_range: Histogram,
    /// Maintenance passes started (after commits that made the head compactable, and
    /// periodically).
    pub(crate) compactions_triggered: Counter,
    /// Seconds each compaction took.
    pub(crate) compaction_duration: Histogram,
    /// 1 while a block is being written.
    pub(crate) populating_block: Gauge,
    /// Merges of blocks whose time ranges overlap.
    pub(crate) vertical_compactions: Counter,
    /// Head truncations that failed.
    pub(crate) head_truncations_failed: Counter,
    /// WAL checkpoints that failed.
    pub(crate) checkpoint_creations_failed: Counter,
    /// Seconds each head garbage collection (dropping old chunks and series) took.
    pub(crate) head_gc_duration: Summary,
    /// Seconds each WAL truncation (checkpoint and segment deletion) took.
    pub(crate) wal_truncate_duration: Summary,
    /// Changes of the set of loaded blocks.
    pub(crate) reloads: Counter,
    /// Newly written blocks that could not be opened.
    pub(crate) reloads_failures: Counter,
    /// Seconds each tombstone cleanup took.
    pub(crate) tombstone_cleanup: Histogram,
    /// Seconds the WAL replay at start-up took.
    pub(crate) data_replay_duration: Gauge,
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
            chunk_range: registry.histogram(
                "prometheus_tsdb_compaction_chunk_range_seconds",
                "Final time range of chunks on their first compaction",
                &exponential(100.0, 4.0, 10),
            ),
            compactions_triggered: registry.counter("prometheus_tsdb_compactions_triggered_total", "Total number of triggered compactions for the partition."),
            compaction_duration: registry.histogram(
                "prometheus_tsdb_compaction_duration_seconds",
                "Duration of compaction runs",
                &exponential(1.0, 2.0, 14),
            ),
            populating_block: registry.gauge("prometheus_tsdb_compaction_populating_block", "Set to 1 when a block is currently being written to the disk."),
            vertical_compactions: registry.counter("prometheus_tsdb_vertical_compactions_total", "Total number of compactions done on overlapping blocks."),
            head_truncations_failed: registry.counter("prometheus_tsdb_head_truncations_failed_total", "Total number of head truncations that failed."),
            checkpoint_creations_failed: registry.counter("prometheus_tsdb_checkpoint_creations_failed_total", "Total number of checkpoint creations that failed."),
            head_gc_duration: registry
                .summary_vec("prometheus_tsdb_head_gc_duration_seconds", "Runtime of garbage collection in the head block.", &[], &[])
                .with(&[]),
            wal_truncate_duration: registry
                .summary_vec("prometheus_tsdb_wal_truncate_duration_seconds", "Duration of WAL truncation.", &[], &[])
                .with(&[]),
            reloads: registry.counter("prometheus_tsdb_reloads_total", "Number of times the database reloaded block data from disk."),
            reloads_failures: registry.counter("prometheus_tsdb_reloads_failures_total", "Number of times the database failed to reloadBlocks block data from disk."),
            tombstone_cleanup: registry.histogram(
                "prometheus_tsdb_tombstone_cleanup_seconds",
                "The time taken to recompact blocks to remove tombstones.",
                &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
            ),
            data_replay_duration: registry.gauge("prometheus_tsdb_data_replay_duration_seconds", "Time taken to replay the data on disk."),
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
    gauge(
        "prometheus_tsdb_head_min_time_seconds",
        "Minimum time bound of the head block.",
        |d| {
            d.head()
                .time_range()
                .map_or(f64::from(i32::MAX), |(min, _)| min as f64 / 1000.0)
        },
    );
    gauge(
        "prometheus_tsdb_head_max_time_seconds",
        "Maximum timestamp of the head block.",
        |d| {
            d.head()
                .time_range()
                .map_or(f64::from(i32::MIN), |(_, max)| max as f64 / 1000.0)
        },
    );
    gauge(
        "prometheus_tsdb_lowest_timestamp",
        "Lowest timestamp value stored in the database. The unit is decided by the library consumer.",
        // Prometheus reports the largest timestamp while nothing is stored.
        |d| d.lowest_timestamp().unwrap_or(i64::MAX) as f64,
    );
    gauge(
        "prometheus_tsdb_lowest_timestamp_seconds",
        "Lowest timestamp value stored in the database.",
        |d| d.lowest_timestamp().unwrap_or(i64::MAX) as f64 / 1000.0,
    );
    gauge(
        "prometheus_tsdb_symbol_table_size_bytes",
        "Size of symbol table in memory for loaded blocks",
        |d| {
            d.blocks()
                .iter()
                .map(|b| b.index_table_bytes())
                .sum::<usize>() as f64
        },
    );
    gauge(
        "prometheus_tsdb_clean_start",
        "-1: lockfile is disabled. 0: a lockfile from a previous execution was replaced. 1: lockfile creation was clean",
        |d| if d.clean_start() { 1.0 } else { 0.0 },
    );
    gauge(
        "prometheus_tsdb_head_active_appenders",
        "Number of currently active appender transactions",
        |d| head_gauge(d, |c| &c.active_appenders),
    );

    let counter = |name: &str, help: &str, labels: &[(&str, &str)], read: fn(&Db) -> f64| {
        let weak = db.downgrade();
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        registry.collector(name, help, Kind::Counter, move || {
            vec![(labels.clone(), weak.upgrade().map_or(0.0, |d| read(&d)))]
        });
    };
    let float = [("type", "float")];
    counter(
        "prometheus_tsdb_head_samples_appended_total",
        "Total number of appended samples.",
        &float,
        |d| head_count(d, |c| &c.samples_appended),
    );
    counter(
        "prometheus_tsdb_out_of_order_samples_total",
        "Total number of out of order samples ingestion failed attempts due to out of order being disabled.",
        &float,
        |d| head_count(d, |c| &c.out_of_order_samples),
    );
    counter(
        "prometheus_tsdb_wal_writes_failed_total",
        "Total number of write log writes that failed.",
        &[],
        |d| head_count(d, |c| &c.wal_writes_failed),
    );
    counter(
        "prometheus_tsdb_head_series_created_total",
        "Total number of series created in the head",
        &[],
        |d| head_count(d, |c| &c.series_created),
    );
    counter(
        "prometheus_tsdb_head_series_removed_total",
        "Total number of series removed in the head",
        &[],
        |d| head_count(d, |c| &c.series_removed),
    );
    counter(
        "prometheus_tsdb_head_series_not_found_total",
        "Total number of requests for series that were not found.",
        &[],
        |d| head_count(d, |c| &c.series_not_found),
    );
    counter(
        "prometheus_tsdb_head_chunks_created_total",
        "Total number of chunks created in the head",
        &[],
        |d| head_count(d, |c| &c.chunks_created),
    );
    counter(
        "prometheus_tsdb_head_chunks_removed_total",
        "Total number of chunks removed in the head",
        &[],
        |d| head_count(d, |c| &c.chunks_removed),
    );
    counter(
        "prometheus_tsdb_wal_page_flushes_total",
        "Total number of page flushes.",
        &[],
        |d| wal_count(d, |w| &w.page_flushes),
    );
    counter(
        "prometheus_tsdb_wal_completed_pages_total",
        "Total number of completed pages.",
        &[],
        |d| wal_count(d, |w| &w.completed_pages),
    );
    let fsync = registry
        .summary_vec(
            "prometheus_tsdb_wal_fsync_duration_seconds",
            "Duration of write log fsync.",
            &[],
            &[0.5, 0.9, 0.99],
        )
        .with(&[]);
    db.head()
        .on_wal_fsync(std::sync::Arc::new(move |d| fsync.observe(d.as_secs_f64())));
}

fn head_count(db: &Db, counter: fn(&crate::HeadCounters) -> &AtomicU64) -> f64 {
    counter(db.head().counters()).load(Ordering::Relaxed) as f64
}

fn head_gauge(db: &Db, gauge: fn(&crate::HeadCounters) -> &AtomicI64) -> f64 {
    gauge(db.head().counters()).load(Ordering::Relaxed) as f64
}

fn wal_count(db: &Db, counter: fn(&ember_wal::WalStats) -> &AtomicU64) -> f64 {
    db.head()
        .wal_stats()
        .map_or(0.0, |w| counter(&w).load(Ordering::Relaxed) as f64)
}
