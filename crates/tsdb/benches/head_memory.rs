//! Heap bytes per head series, counted by a wrapping allocator: how much the series table,
//! the postings and the chunks cost with node_exporter-like label sets.
//! `cargo bench -p ember-tsdb --bench head_memory [-- SERIES]`. Not a timing benchmark.

use ember_model::Labels;
use ember_storage::{Appendable, SeriesRef};
use ember_tsdb::{Head, HeadOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A node_exporter-like label set: ~25 metric names, 100-series targets.
fn labels(i: usize) -> Labels {
    let metric = [
        "node_cpu_seconds_total",
        "node_network_receive_bytes_total",
        "node_filesystem_avail_bytes",
        "node_disk_io_time_seconds_total",
        "go_gc_duration_seconds",
    ][i % 5];
    Labels::from_pairs([
        ("__name__", metric.to_string()),
        ("cpu", (i / 5 % 8).to_string()),
        ("instance", format!("host-{:05}.example.org:9100", i / 500)),
        ("job", "node".to_string()),
        (
            "mode",
            ["idle", "user", "system", "iowait"][i / 40 % 4].to_string(),
        ),
        ("series", (i / 160 % 4).to_string()),
    ])
}

/// Resident set size from /proc (Linux), 0 elsewhere.
fn rss_bytes() -> isize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<isize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let sets: Vec<Labels> = (0..n).map(labels).collect();
    let before = LIVE.load(Ordering::Relaxed);
    let rss_before = rss_bytes();
    let (head, _) = Head::replay(
        HeadOptions::default(),
        &dir.path().join("wal"),
        Default::default(),
    )
    .unwrap();
    let mut refs = vec![0 as SeriesRef; n];
    let report = |what: &str| {
        let bytes = LIVE.load(Ordering::Relaxed) - before;
        let rss = rss_bytes() - rss_before;
        println!(
            "{what:<20} heap {:>6.0} bytes/series, RSS {:>6.0} bytes/series",
            bytes as f64 / n as f64,
            rss as f64 / n as f64
        );
    };
    for scrape in 0..240i64 {
        let t = 1_700_000_000_000 + scrape * 15_000;
        // One commit per target of 500 series, as scrapes commit.
        for target in 0..n.div_ceil(500) {
            let mut app = head.appender();
            for i in target * 500..n.min(target * 500 + 500) {
                refs[i] = app
                    .append(refs[i], &sets[i], t, (scrape * (i as i64 % 50)) as f64)
                    .unwrap();
            }
            app.commit().unwrap();
        }
        match scrape {
            0 => report("after 1 sample"),
            9 => report("after 10 samples"),
            119 => report("after 120 samples"),
            239 => report("after 240 samples"),
            _ => {}
        }
    }
    drop(head);
}
