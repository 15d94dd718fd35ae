//! Maps keyed by integers the head makes itself (series refs, label-set hashes). A
//! multiply spreads such keys well enough; SipHash's defence against chosen keys buys
//! nothing here and costs a good share of every append.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes one `u64` by a Fibonacci multiply.
#[derive(Clone, Copy, Default)]
pub(crate) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys reach this hasher (see `IntMap`); fold anything else in anyway.
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map from head-made `u64` keys.
pub(crate) type IntMap<V> = HashMap<u64, V, BuildHasherDefault<IntHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_keys_spread_over_the_high_bits() {
        // hashbrown tags buckets with the top 7 bits: sequential refs must not share them.
        let tags: std::collections::HashSet<u64> = (1..=128u64)
            .map(|k| {
                let mut h = IntHasher::default();
                h.write_u64(k);
                h.finish() >> 57
            })
            .collect();
        assert!(tags.len() > 64, "{}", tags.len());
        let mut m: IntMap<u64> = IntMap::default();
        m.extend((0..1000).map(|k| (k, k * 2)));
        assert!((0..1000).all(|k| m[&k] == k * 2));
    }
}
