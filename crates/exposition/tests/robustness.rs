//! Mutated bodies never panic the parser, and whatever it accepts decodes cleanly. A
//! cheap, deterministic stand-in for the cargo-fuzz target in `fuzz/`.

mod common;

use common::corpus;
use ember_exposition::{Entry, Format, Parser};

/// Parses `body` in both formats, decoding every accepted sample fully.
fn exercise(body: &[u8]) {
    for format in [Format::PromText, Format::OpenMetrics] {
        for entry in Parser::new(body, format) {
            let Ok(Entry::Sample(sample)) = entry else {
                continue;
            };
            let id = sample.series_id();
            assert!(
                body.as_ptr_range().contains(&id.as_ptr()),
                "series id borrows from the body"
            );
            assert!(!sample.metric_name().is_empty() || id.starts_with(b"{"));
            let labels = sample.to_labels();
            assert!(labels.len() <= sample.labels().count() + 1);
            if let Some(exemplar) = &sample.exemplar {
                exemplar.labels().for_each(drop);
            }
        }
    }
}

/// Bytes that steer the parsers into their edge cases.
const INTERESTING: &[u8] = b"{}\"\\=, \t\n#0.eE+-_pxIiNn\x00\xff";

#[test]
fn mutated_corpus_never_panics() {
    let seeds = [corpus("alltypes.5mfs.om.txt"), corpus("metrics-test.prom")];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut body = seeds[round % seeds.len()].clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % body.len().max(1);
            let byte = INTERESTING[(next() as usize) % INTERESTING.len()];
            match next() % 4 {
                0 => body[at] = byte,
                1 => body.insert(at, byte),
                2 => {
                    body.remove(at);
                }
                _ => body.truncate(at),
            }
            if body.is_empty() {
                break;
            }
        }
        exercise(&body);
    }
}

#[test]
fn every_prefix_of_a_body_is_handled() {
    let body = b"# HELP \"a.b\" h\\n\n# TYPE \"a.b\" counter\n{\"a.b\",x=\"y\\\"z\"} 1 2 # {t=\"1\"} 3 4.5\nm{q=\"\xc3\xa9\"} -Inf\n# EOF\n";
    for len in 0..=body.len() {
        exercise(&body[..len]);
    }
}
