//! Serves a workload's targets over HTTP on 127.0.0.1, one port per target (`GET /metrics`,
//! gzip when asked, as node_exporter does), and counts each target's scrapes.

use super::Workload;
use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::task::JoinHandle;
use tower_http::compression::CompressionLayer;

/// Maps a scrape's arrival time to its slot number: scrapes are counted from the target's
/// first one, rounding to whole intervals, so a scraper's jitter (or a restart at the same
/// phase) never skips or repeats a slot.
#[derive(Debug)]
struct SlotClock {
    first_ms: AtomicI64,
    last_slot: AtomicI64,
}

const UNSET: i64 = i64::MIN;

/// The slot of a scrape `now_ms`, given the first scrape at `first_ms`.
fn slot_of(first_ms: i64, now_ms: i64, interval_ms: u64) -> u64 {
    ((now_ms - first_ms).max(0) as f64 / interval_ms as f64).round() as u64
}

impl SlotClock {
    fn new() -> SlotClock {
        SlotClock {
            first_ms: AtomicI64::new(UNSET),
            last_slot: AtomicI64::new(-1),
        }
    }

    fn tick(&self, now_ms: i64, interval_ms: u64) -> u64 {
        let first =
            match self
                .first_ms
                .compare_exchange(UNSET, now_ms, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => now_ms,
                Err(first) => first,
            };
        let slot = slot_of(first, now_ms, interval_ms);
        self.last_slot.fetch_max(slot as i64, Ordering::SeqCst);
        slot
    }

    fn last_slot(&self) -> Option<u64> {
        u64::try_from(self.last_slot.load(Ordering::SeqCst)).ok()
    }
}

#[derive(Debug)]
struct Shared {
    workload: Arc<Workload>,
    epoch_ms: i64,
    clocks: Vec<SlotClock>,
}

#[derive(Clone, Debug)]
struct TargetRef {
    shared: Arc<Shared>,
    target: usize,
}

/// The listening targets of one run; they stop when this is dropped.
#[derive(Debug)]
pub struct TargetServer {
    addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

fn unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn metrics(State(t): State<TargetRef>) -> impl IntoResponse {
    let shared = &t.shared;
    let interval = shared.workload.params().interval_ms;
    let slot = shared.clocks[t.target].tick(unix_ms(), interval);
    let mut body = String::with_capacity(96 * 1024);
    shared
        .workload
        .render(t.target, slot, shared.epoch_ms, &mut body);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

impl TargetServer {
    /// Binds one loopback port per target and serves them on `runtime`, with samples
    /// stamped relative to `epoch_ms` (Unix milliseconds).
    pub fn start(
        runtime: &tokio::runtime::Handle,
        workload: Arc<Workload>,
        epoch_ms: i64,
    ) -> std::io::Result<TargetServer> {
        let targets = workload.params().targets;
        let shared = Arc::new(Shared {
            workload,
            epoch_ms,
            clocks: (0..targets).map(|_| SlotClock::new()).collect(),
        });
        let mut addrs = Vec::with_capacity(targets);
        let mut tasks = Vec::with_capacity(targets);
        for target in 0..targets {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            addrs.push(listener.local_addr()?);
            let app = Router::new()
                .route("/metrics", get(metrics))
                .layer(CompressionLayer::new())
                .with_state(TargetRef {
                    shared: shared.clone(),
                    target,
                });
            tasks.push(runtime.spawn(async move {
                // Errors here end only this target; the run notices it as a target down.
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    let _ = axum::serve(listener, app).await;
                }
            }));
        }
        Ok(TargetServer {
            addrs,
            shared,
            tasks,
        })
    }

    /// The `host:port` of each target, in target order.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The latest sample time (Unix ms) that every target has served, or `None` while some
    /// target has not been scraped yet. Once a target has served a later slot, its earlier
    /// ones are committed by the scraper (a scrape loop appends before it scrapes again).
    pub fn served_through_ms(&self) -> Option<i64> {
        let workload = &self.shared.workload;
        self.shared
            .clocks
            .iter()
            .enumerate()
            .map(|(target, clock)| {
                clock.last_slot().map(|slot| {
                    self.shared.epoch_ms + workload.sample_offset_ms(target, slot) as i64
                })
            })
            .try_fold(i64::MAX, |min, t| t.map(|t| min.min(t)))
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_scrapes_despite_jitter() {
        let first = 1_000_000;
        assert_eq!(slot_of(first, first, 5000), 0);
        assert_eq!(slot_of(first, first + 4_990, 5000), 1);
        assert_eq!(slot_of(first, first + 10_030, 5000), 2);
        assert_eq!(slot_of(first, first - 5, 5000), 0);
    }

    #[test]
    fn clock_remembers_the_first_scrape_and_the_latest_slot() {
        let clock = SlotClock::new();
        assert_eq!(clock.last_slot(), None);
        assert_eq!(clock.tick(10_000, 1000), 0);
        assert_eq!(clock.tick(13_010, 1000), 3);
        assert_eq!(clock.tick(12_000, 1000), 2);
        assert_eq!(clock.last_slot(), Some(3));
    }
}
