//! Arbitrary bytes through both parsers: no panic, and every accepted sample decodes.

#![no_main]

use ember_exposition::{Entry, Format, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for format in [Format::PromText, Format::OpenMetrics] {
        for entry in Parser::new(body, format) {
            let Ok(Entry::Sample(sample)) = entry else {
                continue;
            };
            assert!(body.as_ptr_range().contains(&sample.series_id().as_ptr()));
            let _ = sample.metric_name();
            let _ = sample.to_labels();
            if let Some(exemplar) = &sample.exemplar {
                exemplar.labels().for_each(drop);
            }
        }
    }
});
