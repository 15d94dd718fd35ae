//! Parsing and decoding samples without escapes allocates nothing: names, labels and help
//! texts all borrow from the body.

mod common;

use common::corpus;
use ember_exposition::{Entry, Format, Parser};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread, so the test harness's own threads do
/// not disturb the count.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations_while(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn parsing_and_decoding_a_real_scrape_allocates_nothing() {
    for (file, format) in [
        ("alltypes.237mfs.prom.txt", Format::PromText),
        ("alltypes.5mfs.om.txt", Format::OpenMetrics),
    ] {
        let body = corpus(file);
        let mut decoded_bytes = 0;
        let allocations = allocations_while(|| {
            for entry in Parser::new(&body, format) {
                match entry.expect("the corpus parses") {
                    Entry::Sample(s) => {
                        decoded_bytes += s.series_id().len() + s.metric_name().len();
                        for (name, value) in s.labels() {
                            decoded_bytes += name.len() + value.len();
                        }
                        if let Some(e) = &s.exemplar {
                            decoded_bytes += e.labels().count();
                        }
                    }
                    Entry::Help { metric, text } => decoded_bytes += metric.len() + text.len(),
                    _ => {}
                }
            }
        });
        assert!(decoded_bytes > 0);
        assert_eq!(allocations, 0, "{file}");
    }
}

#[test]
fn escapes_are_the_only_reason_to_allocate() {
    let body = b"m{a=\"x\\ny\"} 1\n";
    let allocations = allocations_while(|| {
        for entry in Parser::new(body, Format::PromText) {
            if let Ok(Entry::Sample(s)) = entry {
                s.labels().for_each(drop);
            }
        }
    });
    assert_eq!(allocations, 1);
}
