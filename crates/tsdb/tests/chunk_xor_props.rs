//! Property tests of the XOR chunk: whatever samples go in come out bit for bit (NaN
//! payloads and staleness markers included, any timestamps), reopened chunks continue
//! exactly as Prometheus's appender would, seeking agrees with a linear scan, and no input
//! bytes make the decoder panic.

use ember_model::STALE_NAN;
use ember_tsdb::chunkenc::{Chunk, ChunkIterator, Encoding, ValueType, XorChunk, XorIterator};
use proptest::prelude::*;

/// Timestamp steps: mostly scrape-like, sometimes zero, negative or anything at all.
fn step() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => Just(15_000i64),
        6 => 14_990i64..15_010,
        2 => Just(0i64),
        2 => -1_000_000i64..1_000_000,
        1 => any::<i64>(),
    ]
}

/// Values: repeats, integers, arbitrary bit patterns (every NaN payload) and the
/// special values Prometheus stores.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (0u32..50).prop_map(f64::from),
        3 => any::<u64>().prop_map(f64::from_bits),
        1 => Just(STALE_NAN),
        1 => Just(f64::NAN),
        1 => (0x7FF0_0000_0000_0001u64..0x7FFF_FFFF_FFFF_FFFF).prop_map(f64::from_bits),
        1 => prop_oneof![Just(0.0), Just(-0.0), Just(f64::INFINITY), Just(f64::MIN_POSITIVE)],
    ]
}

fn samples(max: usize) -> impl Strategy<Value = Vec<(i64, f64)>> {
    (
        any::<i64>(),
        prop::collection::vec((step(), value()), 0..max),
    )
        .prop_map(|(start, steps)| {
            let mut t = start;
            steps
                .into_iter()
                .map(|(dt, v)| {
                    t = t.wrapping_add(dt);
                    (t, v)
                })
                .collect()
        })
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

fn encode(samples: &[(i64, f64)]) -> XorChunk {
    let mut chunk = XorChunk::new();
    for &(t, v) in samples {
        chunk.append(t, v);
    }
    chunk
}

fn decode(bytes: &[u8]) -> Vec<(i64, u64)> {
    let mut it = XorIterator::new(bytes);
    let out: Vec<_> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
    assert_eq!(it.err(), None);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trips_bit_exactly(samples in samples(300)) {
        let chunk = encode(&samples);
        prop_assert_eq!(chunk.num_samples(), samples.len());
        prop_assert_eq!(decode(chunk.bytes()), bits(&samples));

        let generic = Chunk::from_bytes(Encoding::Xor, chunk.bytes()).unwrap();
        prop_assert_eq!(generic.bytes(), chunk.bytes());
        let mut it = ChunkIterator::new(Encoding::Xor, chunk.bytes()).unwrap();
        let mut got = Vec::new();
        while let Some(ValueType::Float) = it.next_value() {
            let (t, v) = it.at();
            prop_assert_eq!(it.at_t(), t);
            got.push((t, v.to_bits()));
        }
        prop_assert_eq!(it.err(), None);
        prop_assert_eq!(got, bits(&samples));
    }

    #[test]
    fn reopened_chunks_continue_like_prometheus(samples in samples(150), split in 0usize..150) {
        let split = split.min(samples.len());
        let whole = encode(&samples);
        let mut reopened = XorChunk::from_bytes(encode(&samples[..split]).into_bytes()).unwrap();
        for &(t, v) in &samples[split..] {
            reopened.append(t, v);
        }
        prop_assert_eq!(decode(reopened.bytes()), bits(&samples));
        // Prometheus's reopened appender only differs from a fresh one while no value
        // window has been written, i.e. until the value first changes.
        let window_before_split = samples[..split]
            .windows(2)
            .any(|w| w[0].1.to_bits() != w[1].1.to_bits());
        if window_before_split || split == 0 {
            prop_assert_eq!(reopened.bytes(), whole.bytes());
        }
    }

    #[test]
    fn seek_finds_the_first_sample_at_or_after(
        mut ts in prop::collection::btree_set(-1_000_000i64..1_000_000, 1..200),
        targets in prop::collection::vec(-1_100_000i64..1_100_000, 1..10),
    ) {
        let samples: Vec<_> = std::mem::take(&mut ts).into_iter().map(|t| (t, t as f64 * 0.25)).collect();
        let chunk = encode(&samples);
        for target in targets {
            let mut it = XorIterator::new(chunk.bytes());
            let want = samples.iter().copied().find(|&(t, _)| t >= target);
            prop_assert_eq!(it.seek(target), want);
            let mut generic = ChunkIterator::new(Encoding::Xor, chunk.bytes()).unwrap();
            prop_assert_eq!(generic.seek(target).map(|_| generic.at()), want);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut it = XorIterator::new(&bytes);
        let n = it.by_ref().count();
        prop_assert!(n <= it.num_samples());
        let _ = XorChunk::from_bytes(bytes.as_slice());
        let mut it = XorIterator::new(&bytes);
        let _ = it.seek(0);
    }

    #[test]
    fn truncation_is_an_error_not_garbage(samples in samples(100), cut in 0usize..2000) {
        prop_assume!(!samples.is_empty());
        let chunk = encode(&samples);
        let cut = cut % chunk.bytes().len();
        let mut it = XorIterator::new(&chunk.bytes()[..cut]);
        let got: Vec<_> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
        // Whatever decodes is a prefix of the truth; a short read is reported as an error.
        // (Cutting only the empty byte Prometheus's streams may end in loses nothing.)
        prop_assert_eq!(&got[..], &bits(&samples)[..got.len()]);
        prop_assert!(got.len() == samples.len() || it.err().is_some());
    }
}
