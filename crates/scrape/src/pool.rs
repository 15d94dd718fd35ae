//! A scrape pool: the targets of one job and their loops.

use crate::append::AppendOptions;
use crate::discovery::TargetGroup;
use crate::metrics::ScrapeMetrics;
use crate::scrape_loop::{LoopHandle, LoopSettings, LoopState, StopMode, spawn};
use crate::target::{ADDRESS_LABEL, PoolDefaults, Populated, Target, populate_labels};
use ember_config::{ScrapeConfig, format_duration};
use ember_model::Labels;
use ember_storage::Appendable;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) struct ScrapePool {
    pub(crate) config: Arc<ScrapeConfig>,
    settings: Arc<LoopSettings>,
    params: Vec<(String, Vec<String>)>,
    /// Target groups by discovery provider (e.g. `static`, `file/0`).
    groups: BTreeMap<String, Vec<TargetGroup>>,
    /// Running loops by the target's final labels.
    loops: BTreeMap<Labels, (Arc<Target>, LoopHandle)>,
    pub(crate) dropped: Vec<Labels>,
    storage: Arc<dyn Appendable>,
    metrics: ScrapeMetrics,
}

fn loop_settings(cfg: &ScrapeConfig, offset_seed: u64) -> Result<LoopSettings, String> {
    Ok(LoopSettings {
        client: crate::client::build_client(&cfg.http_client)?,
        interval: cfg.scrape_interval,
        timeout: cfg.scrape_timeout,
        body_size_limit: cfg.limits.body_size_limit,
        append: AppendOptions {
            honor_labels: cfg.honor_labels,
            honor_timestamps: cfg.honor_timestamps,
            sample_limit: cfg.limits.sample_limit as usize,
            label_limit: cfg.limits.label_limit as usize,
            label_name_length_limit: cfg.limits.label_name_length_limit as usize,
            label_value_length_limit: cfg.limits.label_value_length_limit as usize,
            metric_relabel: cfg.metric_relabel_configs.clone(),
        },
        offset_seed,
    })
}

impl ScrapePool {
    pub(crate) fn new(
        config: Arc<ScrapeConfig>,
        storage: Arc<dyn Appendable>,
        metrics: ScrapeMetrics,
        offset_seed: u64,
    ) -> Result<Self, String> {
        let settings = Arc::new(loop_settings(&config, offset_seed)?);
        let params = config
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(ScrapePool {
            config,
            settings,
            params,
            groups: BTreeMap::new(),
            loops: BTreeMap::new(),
            dropped: Vec::new(),
            storage,
            metrics,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.job_name
    }

    /// Replaces the groups of one discovery provider and re-syncs the targets.
    pub(crate) async fn set_groups(&mut self, provider: &str, groups: Vec<TargetGroup>) {
        self.groups.insert(provider.to_string(), groups);
        self.sync().await;
    }

    /// Applies a changed config: every loop restarts with the new settings, taking over its
    /// predecessor's cache so staleness tracking continues.
    pub(crate) async fn reload(
        &mut self,
        config: Arc<ScrapeConfig>,
        offset_seed: u64,
    ) -> Result<(), String> {
        self.metrics.pool_reloads.inc();
        let settings = match loop_settings(&config, offset_seed) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                self.metrics.pool_reloads_failed.inc();
                return Err(e);
            }
        };
        self.params = config
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.config = config;
        self.settings = settings;
        let old = std::mem::take(&mut self.loops);
        let mut states = BTreeMap::new();
        for (labels, (_, handle)) in old {
            states.insert(labels, handle.stop(StopMode::Quiet).await);
        }
        self.sync_with_states(states).await;
        Ok(())
    }

    async fn sync(&mut self) {
        self.sync_with_states(BTreeMap::new()).await;
    }

    async fn sync_with_states(&mut self, mut states: BTreeMap<Labels, LoopState>) {
        let job = self.name().to_string();
        self.metrics.pool_syncs.with(&[&job]).inc();
        let interval = format_duration(self.config.scrape_interval);
        let timeout = format_duration(self.config.scrape_timeout);
        let defaults = PoolDefaults {
            job_name: &job,
            scheme: self.config.scheme.as_str(),
            metrics_path: &self.config.metrics_path,
            scrape_interval: &interval,
            scrape_timeout: &timeout,
            params: &self.params,
            relabel: &self.config.relabel_configs,
        };
        let mut wanted: BTreeMap<Labels, Target> = BTreeMap::new();
        let mut dropped = Vec::new();
        let mut discovered = 0;
        for group in self.groups.values().flatten() {
            for address in &group.targets {
                discovered += 1;
                let target = Labels::from_pairs([(ADDRESS_LABEL, address.as_str())]);
                match populate_labels(&target, &group.labels, &defaults) {
                    Ok(Populated::Active { labels, discovered }) => {
                        wanted
                            .entry(labels.clone())
                            .or_insert_with(|| Target::new(labels, discovered, &self.params));
                    }
                    Ok(Populated::Dropped { discovered }) => dropped.push(discovered),
                    Err(e) => {
                        tracing::warn!(scrape_pool = %job, target = %address, err = %e, "creating target failed")
                    }
                }
            }
        }
        self.metrics
            .sd_discovered_targets
            .with(&[&job, "scrape"])
            .set(f64::from(discovered));
        self.dropped = dropped;
        let gone: Vec<Labels> = self
            .loops
            .keys()
            .filter(|l| !wanted.contains_key(*l))
            .cloned()
            .collect();
        for labels in gone {
            if let Some((_, handle)) = self.loops.remove(&labels) {
                handle.stop(StopMode::TargetGone).await;
            }
        }
        for (labels, target) in wanted {
            if self.loops.contains_key(&labels) {
                continue;
            }
            let target = Arc::new(target);
            let state = states.remove(&labels).unwrap_or_default();
            let handle = spawn(
                target.clone(),
                self.settings.clone(),
                self.storage.clone(),
                self.metrics.clone(),
                state,
            );
            self.loops.insert(labels, (target, handle));
        }
        self.enforce_target_limit();
        self.metrics
            .pool_targets
            .with(&[&job])
            .set(self.loops.len() as f64);
    }

    /// Over `target_limit`, every target of the pool fails its scrapes with Prometheus's error.
    fn enforce_target_limit(&self) {
        let limit = self.config.limits.target_limit as usize;
        let exceeded = limit > 0 && self.loops.len() > limit;
        if exceeded {
            self.metrics.exceeded_target_limit.inc();
        }
        let error = exceeded.then(|| {
            format!(
                "target_limit exceeded (number of targets: {}, limit: {limit})",
                self.loops.len()
            )
        });
        for (_, handle) in self.loops.values() {
            *handle.forced_error.lock().expect("forced error lock") = error.clone();
        }
    }

    pub(crate) fn targets(&self) -> Vec<Arc<Target>> {
        self.loops.values().map(|(t, _)| t.clone()).collect()
    }

    pub(crate) async fn stop(self, mode: StopMode) {
        self.metrics.pool_targets.remove(&[self.name()]);
        for (_, (_, handle)) in self.loops {
            handle.stop(mode).await;
        }
    }
}
