//! One loop per target: wait for the jittered offset, then scrape every interval, append
//! samples and the synthetic report series in one transaction, and keep target status.

use crate::append::{AppendFailure, AppendOptions, AppendStats, TargetAppender};
use crate::cache::ScrapeCache;
use crate::fetch::{FetchError, fetch};
use crate::metrics::ScrapeMetrics;
use crate::target::{Health, Target, TargetStatus};
use ember_model::{Labels, STALE_NAN, Timestamp, now_millis};
use ember_storage::{Appendable, Appender, SeriesRef};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Settings shared by every loop of a pool.
pub(crate) struct LoopSettings {
    /// The HTTP client, configured for the pool's auth and TLS.
    pub(crate) client: reqwest::Client,
    /// Scrape interval.
    pub(crate) interval: Duration,
    /// Scrape timeout.
    pub(crate) timeout: Duration,
    /// Largest body accepted (0 = no limit).
    pub(crate) body_size_limit: u64,
    /// How samples are appended.
    pub(crate) append: AppendOptions,
    /// Seed mixed into start offsets so several servers spread differently.
    pub(crate) offset_seed: u64,
}

/// How a stopped loop ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopMode {
    /// The target went away: write staleness markers for everything it exposed.
    TargetGone,
    /// A new loop takes over (config reload) or the server stops: no markers.
    Quiet,
}

/// State a loop hands to its successor so staleness continues across a reload.
pub(crate) struct LoopState {
    cache: ScrapeCache,
    prev_iter: u64,
    report_refs: [SeriesRef; REPORT_SERIES],
}

impl Default for LoopState {
    fn default() -> Self {
        LoopState {
            cache: ScrapeCache::default(),
            prev_iter: 0,
            report_refs: [0; REPORT_SERIES],
        }
    }
}

const REPORT_SERIES: usize = 5;
const REPORT_NAMES: [&str; REPORT_SERIES] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// A running loop.
pub(crate) struct LoopHandle {
    cancel: CancellationToken,
    mode: Arc<Mutex<StopMode>>,
    task: tokio::task::JoinHandle<LoopState>,
    /// When set, every scrape fails with this error (e.g. target_limit exceeded).
    pub(crate) forced_error: Arc<Mutex<Option<String>>>,
}

impl LoopHandle {
    /// Stops the loop and returns its state for a successor.
    pub(crate) async fn stop(self, mode: StopMode) -> LoopState {
        *self.mode.lock().expect("stop mode lock") = mode;
        self.cancel.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// Starts a loop for `target`, continuing from `state`.
pub(crate) fn spawn(
    target: Arc<Target>,
    settings: Arc<LoopSettings>,
    storage: Arc<dyn Appendable>,
    metrics: ScrapeMetrics,
    state: LoopState,
) -> LoopHandle {
    let cancel = CancellationToken::new();
    let mode = Arc::new(Mutex::new(StopMode::Quiet));
    let forced_error = Arc::new(Mutex::new(None));
    let scrape_loop = ScrapeLoop {
        last_start: None,
        target,
        settings,
        storage,
        metrics,
        state,
        forced_error: forced_error.clone(),
    };
    let task = tokio::spawn(scrape_loop.run(cancel.clone(), mode.clone()));
    LoopHandle {
        cancel,
        mode,
        task,
        forced_error,
    }
}

struct ScrapeLoop {
    /// When the previous scrape started, for `prometheus_target_interval_length_seconds`.
    last_start: Option<Instant>,
    target: Arc<Target>,
    settings: Arc<LoopSettings>,
    storage: Arc<dyn Appendable>,
    metrics: ScrapeMetrics,
    state: LoopState,
    forced_error: Arc<Mutex<Option<String>>>,
}

impl ScrapeLoop {
    async fn run(mut self, cancel: CancellationToken, mode: Arc<Mutex<StopMode>>) -> LoopState {
        let interval = self.settings.interval;
        let first = tokio::time::Instant::now() + self.start_offset();
        let mut ticker = tokio::time::interval_at(first, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {}
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.scrape_and_report() => {}
            }
        }
        if *mode.lock().expect("stop mode lock") == StopMode::TargetGone {
            self.mark_all_stale(now_millis());
        }
        self.state
    }

    /// Prometheus's offset: a stable per-target position within the interval, so a
    /// restarted server scrapes each target at the same phase and targets spread out.
    fn start_offset(&self) -> Duration {
        let interval = self.settings.interval.as_nanos() as u64;
        if interval == 0 {
            return Duration::ZERO;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let base = interval - (now % u128::from(interval)) as u64;
        let offset = (self.target.offset_hash() ^ self.settings.offset_seed) % interval;
        let mut next = base + offset;
        if next > interval {
            next -= interval;
        }
        Duration::from_nanos(next)
    }

    async fn scrape_and_report(&mut self) {
        let start_ms = now_millis();
        let started = Instant::now();
        if let Some(previous) = self.last_start.replace(started) {
            let interval = ember_config::format_duration(self.settings.interval);
            self.metrics
                .interval_length
                .with(&[&interval])
                .observe(started.duration_since(previous).as_secs_f64());
        }
        let forced = self.forced_error.lock().expect("forced error lock").clone();
        let fetched = match forced {
            Some(e) => Err(FetchError::Other(e)),
            None => {
                fetch(
                    &self.settings.client,
                    &self.target.url,
                    self.settings.timeout,
                    self.settings.body_size_limit,
                )
                .await
            }
        };
        if matches!(fetched, Err(FetchError::BodySizeLimit)) {
            self.metrics.exceeded_body_size_limit.inc();
        }
        let storage = self.storage.clone();
        let mut app = storage.appender();
        let (stats, error) = match fetched {
            Ok(f) => {
                let format = ember_exposition::format_for_content_type(&f.content_type);
                self.append_scrape(&mut app, &f.body, format, start_ms)
            }
            Err(e) => {
                let prev = self.state.prev_iter;
                self.state.prev_iter =
                    self.appender()
                        .append_all_stale(app.as_mut(), prev, start_ms);
                (AppendStats::default(), Some(e.to_string()))
            }
        };
        let duration = started.elapsed();
        self.append_report(app.as_mut(), start_ms, duration, &stats, error.is_none());
        // A scrape the storage refused (a full disk, typically) stored nothing, `up`
        // included: the target shows down with the storage's error until commits succeed.
        let error = match app.commit() {
            Ok(()) => error,
            Err(e) => {
                tracing::warn!(target = %self.target.url, err = %e, "committing scrape failed");
                Some(format!("storing the scrape failed: {e}"))
            }
        };
        if let Some(metadata) = self.state.cache.take_metadata_change() {
            self.target.set_metadata(metadata);
        }
        self.target.set_status(TargetStatus {
            health: if error.is_none() {
                Health::Up
            } else {
                Health::Down
            },
            last_error: error.unwrap_or_default(),
            last_scrape_ms: Some(start_ms),
            last_duration: duration,
        });
    }

    fn appender(&mut self) -> TargetAppender<'_> {
        TargetAppender {
            target_labels: &self.target.public_labels,
            options: &self.settings.append,
            cache: &mut self.state.cache,
        }
    }

    /// Appends a fetched body into `app`. On failure the transaction is rolled back and
    /// replaced by a fresh one holding only the staleness markers that a failed (empty)
    /// scrape implies, as Prometheus does.
    fn append_scrape(
        &mut self,
        app: &mut Box<dyn Appender>,
        body: &[u8],
        format: ember_exposition::Format,
        ts: Timestamp,
    ) -> (AppendStats, Option<String>) {
        let prev = self.state.prev_iter;
        match self
            .appender()
            .append_body(app.as_mut(), body, format, ts, prev)
        {
            Ok((iter, stats)) => {
                self.state.prev_iter = iter;
                self.record(&stats);
                (stats, None)
            }
            Err((_, failure, stats)) => {
                let failed = std::mem::replace(app, self.storage.appender());
                failed.rollback();
                if matches!(failure, AppendFailure::Limit(ref m) if m == "sample limit exceeded") {
                    self.metrics.exceeded_sample_limit.inc();
                }
                self.state.prev_iter = self.appender().append_all_stale(app.as_mut(), prev, ts);
                (stats, Some(failure.to_string()))
            }
        }
    }

    fn record(&self, stats: &AppendStats) {
        self.metrics
            .sample_out_of_order
            .inc_by(stats.out_of_order as f64);
        self.metrics.sample_duplicate.inc_by(stats.duplicate as f64);
        self.metrics
            .sample_out_of_bounds
            .inc_by(stats.out_of_bounds as f64);
    }

    fn report_labels(&self, name: &str) -> Labels {
        let mut b = self.target.public_labels.to_builder();
        b.set(ember_model::METRIC_NAME, name);
        b.build()
    }

    fn append_report(
        &mut self,
        app: &mut dyn Appender,
        ts: Timestamp,
        duration: Duration,
        stats: &AppendStats,
        up: bool,
    ) {
        let values = [
            if up { 1.0 } else { 0.0 },
            duration.as_secs_f64(),
            stats.scraped as f64,
            stats.post_relabel as f64,
            stats.series_added as f64,
        ];
        for (i, value) in values.into_iter().enumerate() {
            let labels = self.report_labels(REPORT_NAMES[i]);
            if let Ok(r) = app.append(self.state.report_refs[i], &labels, ts, value) {
                self.state.report_refs[i] = r;
            }
        }
    }

    fn mark_all_stale(&mut self, ts: Timestamp) {
        let storage = self.storage.clone();
        let mut app = storage.appender();
        let prev = self.state.prev_iter;
        self.state.prev_iter = self.appender().append_all_stale(app.as_mut(), prev, ts);
        for (i, name) in REPORT_NAMES.iter().enumerate() {
            let _ = app.append(
                self.state.report_refs[i],
                &self.report_labels(name),
                ts,
                STALE_NAN,
            );
        }
        if let Err(e) = app.commit() {
            tracing::warn!(target = %self.target.url, err = %e, "committing end-of-run staleness markers failed");
        }
    }
}
