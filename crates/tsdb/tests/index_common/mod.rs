//! Helpers shared by the index tests: writing an index for a set of series, and the
//! brute-force answer to a matcher query.
#![allow(dead_code)] // Each test binary uses its own subset.

use ember_model::{Labels, Matcher};
use ember_tsdb::index::{ChunkMeta, IndexReader, IndexWriter, SeriesRef};
use std::collections::BTreeSet;

/// Every label name and value of `series`, sorted and deduplicated.
pub(crate) fn symbols_of<'a>(series: impl IntoIterator<Item = &'a Labels>) -> BTreeSet<String> {
    let mut symbols = BTreeSet::new();
    for labels in series {
        for l in labels.iter() {
            symbols.insert(l.name.clone());
            symbols.insert(l.value.clone());
        }
    }
    symbols
}

/// An index of `series` (sorted here) written into memory.
pub(crate) fn write_index(series: &mut [(Labels, Vec<ChunkMeta>)]) -> Vec<u8> {
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let mut writer = IndexWriter::new(Vec::new()).expect("start index");
    writer
        .add_symbols(symbols_of(series.iter().map(|(l, _)| l)))
        .expect("add symbols");
    for (labels, chunks) in series.iter() {
        writer.add_series(labels, chunks).expect("add series");
    }
    writer.finish().expect("finish index")
}

/// The labels of the series `refs` point to.
pub(crate) fn labels_of<B: AsRef<[u8]>>(
    reader: &IndexReader<B>,
    refs: &[SeriesRef],
) -> Vec<Labels> {
    refs.iter()
        .map(|&r| reader.series(r).expect("read series").0)
        .collect()
}

/// The series of `all` that every matcher selects (an absent label matches as "").
pub(crate) fn brute_force(all: &[Labels], matchers: &[Matcher]) -> Vec<Labels> {
    if matchers.is_empty() {
        return Vec::new();
    }
    all.iter()
        .filter(|l| {
            matchers
                .iter()
                .all(|m| m.matches(l.get(&m.name).unwrap_or("")))
        })
        .cloned()
        .collect()
}
