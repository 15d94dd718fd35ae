//! The scrape manager: one pool per `scrape_configs` entry, kept in step with config
//! reloads and with service discovery.

use crate::discovery::{FileWatcher, TargetGroup};
use crate::metrics::ScrapeMetrics;
use crate::pool::ScrapePool;
use crate::scrape_loop::StopMode;
use crate::target::Target;
use ember_config::{Config, ScrapeConfig};
use ember_model::Labels;
use ember_selfmetrics::Registry;
use ember_storage::Appendable;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// How often file SD files are checked for changes.
const FILE_SD_POLL: Duration = Duration::from_secs(1);

/// An active target as the API shows it.
#[derive(Clone, Debug)]
pub struct ActiveTarget {
    /// The job name.
    pub pool: String,
    /// The target with its live status.
    pub target: Arc<Target>,
    /// The pool's scrape interval.
    pub interval: Duration,
    /// The pool's scrape timeout.
    pub timeout: Duration,
}

#[derive(Default)]
struct TargetsView {
    active: BTreeMap<String, Vec<ActiveTarget>>,
    dropped: BTreeMap<String, Vec<Labels>>,
}

/// Runs every scrape pool. Share it behind an `Arc`.
pub struct ScrapeManager {
    storage: Arc<dyn Appendable>,
    metrics: ScrapeMetrics,
    pools: Mutex<BTreeMap<String, ScrapePool>>,
    discovery: std::sync::Mutex<BTreeMap<String, CancellationToken>>,
    view: RwLock<TargetsView>,
    offset_seed: std::sync::atomic::AtomicU64,
}

impl ScrapeManager {
    /// A manager with no pools; its metrics are registered on `registry`.
    pub fn new(storage: Arc<dyn Appendable>, registry: &Registry) -> Arc<Self> {
        let metrics = ScrapeMetrics::register(registry);
        Arc::new(ScrapeManager {
            storage,
            metrics,
            pools: Mutex::default(),
            discovery: std::sync::Mutex::default(),
            view: RwLock::default(),
            offset_seed: Default::default(),
        })
    }

    /// Makes the pools match `config`: new jobs start, removed jobs stop (their series
    /// marked stale), changed jobs reload. Unchanged jobs keep running untouched.
    /// Every pool is checked before anything changes, so a bad config changes nothing.
    pub async fn apply_config(self: &Arc<Self>, config: &Config) -> Result<(), String> {
        for sc in &config.scrape_configs {
            crate::client::build_client(&sc.http_client)
                .map_err(|e| format!("scrape job {:?}: {e}", sc.job_name))?;
        }
        let seed = offset_seed(&config.global.external_labels);
        self.offset_seed
            .store(seed, std::sync::atomic::Ordering::Relaxed);
        let mut pools = self.pools.lock().await;
        let wanted: BTreeMap<&str, &ScrapeConfig> = config
            .scrape_configs
            .iter()
            .map(|c| (c.job_name.as_str(), c))
            .collect();
        let removed: Vec<String> = pools
            .keys()
            .filter(|k| !wanted.contains_key(k.as_str()))
            .cloned()
            .collect();
        for name in removed {
            self.stop_discovery(&name);
            if let Some(pool) = pools.remove(&name) {
                pool.stop(StopMode::TargetGone).await;
            }
        }
        for (name, sc) in wanted {
            let sc = Arc::new(sc.clone());
            match pools.get_mut(name) {
                Some(pool) if *pool.config == *sc => continue,
                Some(pool) => pool.reload(sc.clone(), seed).await?,
                None => {
                    let pool = ScrapePool::new(
                        sc.clone(),
                        self.storage.clone(),
                        self.metrics.clone(),
                        seed,
                    )?;
                    pools.insert(name.to_string(), pool);
                }
            }
            self.start_discovery(&mut pools, &sc).await;
        }
        self.refresh_view(&pools);
        Ok(())
    }

    /// (Re)starts discovery for a pool: static groups at once, file SD in a watcher task.
    async fn start_discovery(
        self: &Arc<Self>,
        pools: &mut BTreeMap<String, ScrapePool>,
        sc: &ScrapeConfig,
    ) {
        self.stop_discovery(&sc.job_name);
        let sd = &sc.service_discovery;
        if let Some(pool) = pools.get_mut(&sc.job_name) {
            pool.set_groups("static", sd.static_configs.clone()).await;
        }
        if !sd.unsupported.is_empty() {
            tracing::warn!(scrape_pool = %sc.job_name, kinds = ?sd.unsupported, "service discovery kinds not supported yet; their targets are ignored");
        }
        if sd.file_sd_configs.is_empty() {
            return;
        }
        let cancel = CancellationToken::new();
        self.discovery
            .lock()
            .expect("discovery lock")
            .insert(sc.job_name.clone(), cancel.clone());
        for (i, fsd) in sd.file_sd_configs.iter().enumerate() {
            let watcher = FileWatcher::new(fsd.files.clone(), fsd.refresh_interval);
            let provider = format!("file/{i}");
            tokio::spawn(self.clone().watch_files(
                sc.job_name.clone(),
                provider,
                watcher,
                cancel.clone(),
            ));
        }
    }

    async fn watch_files(
        self: Arc<Self>,
        job: String,
        provider: String,
        mut watcher: FileWatcher,
        cancel: CancellationToken,
    ) {
        loop {
            if let Some((groups, errors)) = watcher.poll() {
                for e in &errors {
                    self.metrics.sd_file_read_errors.inc();
                    tracing::error!(scrape_pool = %job, err = %e, "file SD read failed");
                }
                self.update_groups(&job, &provider, groups, &cancel).await;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(FILE_SD_POLL) => {}
            }
        }
    }

    async fn update_groups(
        &self,
        job: &str,
        provider: &str,
        groups: Vec<TargetGroup>,
        cancel: &CancellationToken,
    ) {
        let mut pools = self.pools.lock().await;
        if cancel.is_cancelled() {
            return;
        }
        if let Some(pool) = pools.get_mut(job) {
            pool.set_groups(provider, groups).await;
        }
        self.refresh_view(&pools);
    }

    fn stop_discovery(&self, job: &str) {
        if let Some(c) = self.discovery.lock().expect("discovery lock").remove(job) {
            c.cancel();
        }
    }

    fn refresh_view(&self, pools: &BTreeMap<String, ScrapePool>) {
        let mut view = TargetsView::default();
        for (name, pool) in pools {
            let active = pool
                .targets()
                .into_iter()
                .map(|target| ActiveTarget {
                    pool: name.clone(),
                    target,
                    interval: pool.config.scrape_interval,
                    timeout: pool.config.scrape_timeout,
                })
                .collect();
            view.active.insert(name.clone(), active);
            view.dropped.insert(name.clone(), pool.dropped.clone());
        }
        *self.view.write().expect("targets view lock") = view;
    }

    /// Active targets in pool order.
    pub fn active_targets(&self) -> Vec<ActiveTarget> {
        self.view
            .read()
            .expect("targets view lock")
            .active
            .values()
            .flatten()
            .cloned()
            .collect()
    }

    /// Targets dropped by relabelling, with their pool.
    pub fn dropped_targets(&self) -> Vec<(String, Labels)> {
        let view = self.view.read().expect("targets view lock");
        view.dropped
            .iter()
            .flat_map(|(p, d)| d.iter().map(|l| (p.clone(), l.clone())))
            .collect()
    }

    /// Stops every pool without staleness markers (server shutdown).
    pub async fn stop(&self) {
        let names: Vec<String> = self
            .discovery
            .lock()
            .expect("discovery lock")
            .keys()
            .cloned()
            .collect();
        for n in names {
            self.stop_discovery(&n);
        }
        let mut pools = self.pools.lock().await;
        for (_, pool) in std::mem::take(&mut *pools) {
            pool.stop(StopMode::Quiet).await;
        }
        self.refresh_view(&pools);
    }
}

/// A seed from the external labels and host name, so that HA replicas scrape a target at
/// different phases, as Prometheus does.
fn offset_seed(external: &Labels) -> u64 {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in external.to_string().bytes().chain(host.trim().bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
