//! `process_*` metrics read from `/proc/self`, with the names and meanings of Go's
//! process collector.

use crate::{Kind, Registry};

/// Registers the standard `process_*` families on `registry`.
pub fn register(registry: &Registry) {
    registry.collector(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        Kind::Counter,
        || one(stat().map(|s| (s.utime_ticks + s.stime_ticks) as f64 / clock_ticks())),
    );
    registry.gauge_fn(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        || {
            stat()
                .map(|s| (s.rss_pages * page_size()) as f64)
                .unwrap_or(f64::NAN)
        },
    );
    registry.gauge_fn(
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        || stat().map(|s| s.vsize_bytes as f64).unwrap_or(f64::NAN),
    );
    registry.gauge_fn(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        || {
            stat()
                .map(|s| boot_time() + s.start_ticks as f64 / clock_ticks())
                .unwrap_or(f64::NAN)
        },
    );
    registry.gauge_fn(
        "process_open_fds",
        "Number of open file descriptors.",
        || {
            std::fs::read_dir("/proc/self/fd")
                .map(|d| d.count() as f64)
                .unwrap_or(f64::NAN)
        },
    );
    registry.gauge_fn(
        "process_max_fds",
        "Maximum number of open file descriptors.",
        || limit("Max open files"),
    );
    registry.gauge_fn(
        "process_virtual_memory_max_bytes",
        "Maximum amount of virtual memory available in bytes.",
        || limit("Max address space"),
    );
}

fn one(v: Option<f64>) -> Vec<crate::registry::CollectedSample> {
    vec![(Vec::new(), v.unwrap_or(f64::NAN))]
}

struct Stat {
    utime_ticks: u64,
    stime_ticks: u64,
    start_ticks: u64,
    vsize_bytes: u64,
    rss_pages: u64,
}

fn stat() -> Option<Stat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces; fields are counted after its closing paren.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        utime_ticks: field(14)?,
        stime_ticks: field(15)?,
        start_ticks: field(22)?,
        vsize_bytes: field(23)?,
        rss_pages: field(24)?,
    })
}

fn clock_ticks() -> f64 {
    // USER_HZ is 100 on every Linux architecture Ember targets.
    100.0
}

fn page_size() -> u64 {
    4096
}

fn boot_time() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// A soft limit from `/proc/self/limits`; "unlimited" is reported as the maximum u64 as Go does.
fn limit(name: &str) -> f64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/limits") else {
        return f64::NAN;
    };
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix(name)?;
            let soft = rest.split_whitespace().next()?;
            Some(if soft == "unlimited" {
                u64::MAX as f64
            } else {
                soft.parse().ok()?
            })
        })
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_real_process_figures() {
        let s = stat().expect("parse /proc/self/stat");
        assert!(s.rss_pages > 0);
        assert!(s.vsize_bytes > 0);
        assert!(limit("Max open files") > 0.0);
        assert!(boot_time() > 1.0e9);
    }
}
