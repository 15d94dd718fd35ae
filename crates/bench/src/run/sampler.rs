//! Samples a process's resident memory every few seconds for the RSS-over-time chart. The
//! pid is shared so the sampler follows the system across its restart.

use crate::measure::proc_stats;
use crate::report::RssPoint;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub(crate) struct RssSampler {
    points: Arc<Mutex<Vec<RssPoint>>>,
    origin: Instant,
    task: JoinHandle<()>,
}

impl RssSampler {
    pub(crate) fn start(pid: Arc<AtomicU32>, origin: Instant, every: Duration) -> RssSampler {
        let points = Arc::new(Mutex::new(Vec::new()));
        let sink = points.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Ok(m) = proc_stats::memory(pid.load(Ordering::SeqCst)) {
                    let point = RssPoint {
                        t_s: origin.elapsed().as_secs_f64(),
                        rss: m.rss,
                    };
                    sink.lock().expect("rss points").push(point);
                }
            }
        });
        RssSampler {
            points,
            origin,
            task,
        }
    }

    pub(crate) fn points(&self) -> Vec<RssPoint> {
        self.points.lock().expect("rss points").clone()
    }

    /// The points sampled between `from` and `to`.
    pub(crate) fn points_between(&self, from: Instant, to: Instant) -> Vec<RssPoint> {
        let (from, to) = (from - self.origin, to - self.origin);
        let within = |p: &&RssPoint| (from.as_secs_f64()..=to.as_secs_f64()).contains(&p.t_s);
        self.points().iter().filter(within).copied().collect()
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}
