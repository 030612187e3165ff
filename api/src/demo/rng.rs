//! A small seeded pseudo-random generator (SplitMix64) and the deterministic ids made from it.
//!
//! The demo data must be identical on every run and on every backend, so nothing here reads
//! the clock or the operating system's entropy. Each part of the data set draws from its own
//! stream ([`Rng::stream`]), so changing how visits are generated does not reshuffle mothers.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The seed of the whole data set; change it and every generated value changes.
const SEED: u64 = 0x4279_6465_6c73_6d6f; // "Bydelsmo"

/// SplitMix64: tiny, fast, and good enough for plausible demo data (not for secrets).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// An independent stream for one part of the data set, named so streams never collide.
    pub fn stream(name: &str) -> Self {
        Self::seeded(SEED, name)
    }

    /// A named stream under another seed: the scale generator's `--seed`.
    pub fn seeded(seed: u64, name: &str) -> Self {
        // FNV-1a over the name, mixed into the seed.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Self(seed ^ hash)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0). The modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform index into a collection of `len` items.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in the inclusive range `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Rounds `x` up or down at random so that the expected value is `x`: many small monthly
    /// expectations then add up to the right total instead of all rounding to zero.
    pub fn round(&mut self, x: f64) -> u32 {
        let floor = x.floor();
        let extra = u32::from(self.chance(x - floor));
        floor as u32 + extra
    }

    /// One item, uniformly. `None` only for an empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.index(items.len()))
        }
    }

    /// One value from `(value, weight)` pairs, proportionally to the weights.
    /// Falls back to the first value when all weights are zero.
    pub fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> Option<T> {
        let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut ticket = self.below(total);
        for (value, weight) in table {
            if ticket < u64::from(*weight) {
                return Some(*value);
            }
            ticket -= u64::from(*weight);
        }
        table.first().map(|(value, _)| *value)
    }

    /// `count` distinct values from the table, each draw proportional to the remaining weights.
    pub fn weighted_distinct<T: Copy + PartialEq>(
        &mut self,
        table: &[(T, u32)],
        count: usize,
    ) -> Vec<T> {
        let mut left: Vec<(T, u32)> = table.iter().copied().filter(|(_, w)| *w > 0).collect();
        let mut chosen = Vec::with_capacity(count);
        while chosen.len() < count {
            let Some(value) = self.weighted(&left) else {
                break;
            };
            left.retain(|(v, _)| *v != value);
            chosen.push(value);
        }
        chosen
    }

    /// A UUIDv7 whose timestamp is the record's own creation time, so ids sort like the
    /// records were made and are the same on every run.
    pub fn uuid_at(&mut self, created_at: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(created_at.timestamp_millis()).unwrap_or(0);
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream("a").next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream("a").next_u64(), Rng::stream("b").next_u64());
    }

    #[test]
    fn ids_carry_the_creation_time() {
        let at = DateTime::from_timestamp(1_336_000_000, 0).unwrap_or_default();
        let id = Rng::stream("ids").uuid_at(at);
        assert_eq!(id.get_version_num(), 7);
        let (secs, _) = id.get_timestamp().map(|t| t.to_unix()).unwrap_or_default();
        assert_eq!(secs, 1_336_000_000);
    }

    #[test]
    fn weighted_distinct_never_repeats() {
        let mut rng = Rng::stream("w");
        let picked = rng.weighted_distinct(&[(1, 5), (2, 1), (3, 1)], 3);
        assert_eq!(picked.len(), 3);
        assert!(picked.contains(&1) && picked.contains(&2) && picked.contains(&3));
    }
}
