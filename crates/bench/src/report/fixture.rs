//! A fixed set of figures for the rendering tests.

use super::*;
use crate::workload::Churn;

fn system(kind: SystemKind, scale: f64) -> SystemFigures {
    let queries = [
        "rate(node_cpu_seconds_total[5m])",
        "count by (__name__) ({__name__=~\".+\"})",
    ]
    .iter()
    .flat_map(|q| {
        [QueryKind::Instant, QueryKind::Range].map(|kind| QueryFigures {
            query: q.to_string(),
            kind,
            median_s: 0.010 * scale,
            p99_s: 0.020 * scale,
            runs: 10,
            series: 1600,
        })
    })
    .collect();
    SystemFigures {
        system: kind,
        version: format!("{} 1.0", kind.id()),
        startup_s: 0.5,
        active_series: Some(52_400.0),
        series_by_query: Some(52_400.0),
        targets_up: Some(100.0),
        cpu: CpuFigures {
            window_s: 30.0,
            cpu_s: 2.0 * scale,
            samples: 314_400.0,
            per_million_samples: Some(6.36 * scale),
            harness_cpu_s: 0.5,
            load_average: Some(1.5),
        },
        memory: MemoryFigures {
            steady_rss: (100.0 * MIB * scale) as u64,
            peak_rss: (120.0 * MIB * scale) as u64,
            bytes_per_series: Some(2000.0 * scale),
        },
        rss_timeline: (0..20)
            .map(|i| RssPoint {
                t_s: f64::from(i) * 2.0,
                rss: ((50.0 + 2.5 * f64::from(i)) * MIB * scale) as u64,
            })
            .collect(),
        disk: Some(DiskFigures {
            bytes: (1.5 * 314_400.0 * scale) as u64,
            samples: 314_400,
            bytes_per_sample: Some(1.5 * scale),
            data_dir_bytes: (20.0 * MIB) as u64,
        }),
        queries,
        restart: Some(RestartFigures {
            answering_s: 0.4 * scale,
            series_restored_s: Some(0.5 * scale),
            peak_rss: (80.0 * MIB * scale) as u64,
        }),
        shutdown_s: Some(0.3),
        log_problems: 0,
        log_examples: Vec::new(),
    }
}

/// Ember at 0.8× Prometheus's costs and 1.6× VictoriaMetrics' (VM at half Prometheus's).
pub(crate) fn report() -> Report {
    let rate = "rate(node_cpu_seconds_total[5m])".to_string();
    let differing = Comparison {
        common_series: 1600,
        points: 1600,
        differing_points: 1600,
        max_relative_diff: 0.04,
        example: Some("{cpu=\"0\"} at +60000 ms: 0.5 vs 0.52".into()),
        ..Comparison::default()
    };
    Report {
        date: "2026-11-25T10:00:00Z".into(),
        machine: Machine {
            cpu_model: "Test CPU @ 2.0GHz".into(),
            cores: 2,
            memory_bytes: 24 * 1024 * 1024 * 1024,
            kernel: "6.1.0".into(),
        },
        workload: WorkloadParams {
            seed: 1,
            targets: 100,
            series_per_target: 519,
            interval_ms: 5000,
            churn: Some(Churn {
                share: 0.1,
                every_s: 600,
            }),
        },
        series_per_target: 519,
        plan: PlanSummary {
            mode: "quick".into(),
            concurrent: false,
            ingest_s: 50,
            warmup_s: 20,
            query_runs: 10,
            tolerance: 1e-6,
            eval_offset_s: 50,
            range_s: 50,
            step_s: 5,
        },
        systems: vec![
            system(SystemKind::Ember, 0.8),
            system(SystemKind::Prometheus, 1.0),
            system(SystemKind::VictoriaMetrics, 0.5),
        ],
        answers: vec![
            AnswerCheck {
                query: rate.clone(),
                kind: QueryKind::Instant,
                left: SystemKind::Ember,
                right: SystemKind::Prometheus,
                informational: false,
                comparison: Comparison {
                    common_series: 1600,
                    points: 1600,
                    ..Comparison::default()
                },
            },
            AnswerCheck {
                query: rate,
                kind: QueryKind::Instant,
                left: SystemKind::VictoriaMetrics,
                right: SystemKind::Prometheus,
                informational: true,
                comparison: differing,
            },
        ],
        notes: vec!["a note".into()],
    }
}
