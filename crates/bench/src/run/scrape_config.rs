//! The scrape configuration all three systems read (Prometheus YAML).

use crate::workload::Workload;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// One `node` job with each target in its own static group, labelled with its simulated
/// `instance` (so series look the same whatever port a run got). Timestamps are honoured
/// explicitly: the workload's samples carry them, and VictoriaMetrics must keep them too.
pub fn render(workload: &Workload, addrs: &[SocketAddr]) -> String {
    let interval_s = workload.params().interval_ms / 1000;
    let mut out = format!(
        "global:\n  scrape_interval: {interval_s}s\n  scrape_timeout: {}s\n\
         scrape_configs:\n  - job_name: node\n    honor_timestamps: true\n    static_configs:\n",
        interval_s.min(10)
    );
    for (target, addr) in addrs.iter().enumerate() {
        let _ = write!(
            out,
            "      - targets: ['{addr}']\n        labels:\n          instance: '{}'\n",
            Workload::instance(target)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadParams;

    #[test]
    fn one_group_per_target_with_its_instance() {
        let workload = Workload::new(WorkloadParams {
            seed: 1,
            targets: 2,
            series_per_target: 519,
            interval_ms: 15_000,
            churn: None,
        })
        .unwrap();
        let addrs: Vec<SocketAddr> = vec![
            "127.0.0.1:4001".parse().unwrap(),
            "127.0.0.1:4002".parse().unwrap(),
        ];
        let yaml = render(&workload, &addrs);
        assert!(yaml.starts_with("global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\n"));
        assert!(yaml.contains(
            "      - targets: ['127.0.0.1:4002']\n        labels:\n          instance: 'node-00001.bench.internal:9100'\n"
        ));
        assert_eq!(yaml.matches("- targets:").count(), 2);
    }
}
