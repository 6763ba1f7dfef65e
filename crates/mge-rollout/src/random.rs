//! Seedable randomness for the places where a rollout is random by design (Unleash's
//! `gradualRolloutRandom` and the `random` stickiness fallback). Nothing here reads a clock or the
//! operating system: callers pass a seed, so tests are reproducible.

/// A source of uniformly distributed 64-bit values.
pub trait RandomSource {
    fn next_u64(&mut self) -> u64;

    /// A uniform value in `1..=100` (the random percentage of `gradualRolloutRandom`).
    fn percent(&mut self) -> u32 {
        // Rejection sampling keeps the distribution exactly uniform.
        let zone = u64::MAX - (u64::MAX % 100);
        loop {
            let v = self.next_u64();
            if v < zone {
                return (v % 100) as u32 + 1;
            }
        }
    }

    /// A random stickiness value for a context without one: a decimal string in `1..=10000`,
    /// hashed like any other key.
    fn stickiness_value(&mut self) -> String {
        (self.next_u64() % 10_000 + 1).to_string()
    }
}

/// SplitMix64: a small, fast, seedable generator (Steele, Lea, Flood 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }
}

impl RandomSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_reproducible_and_percent_covers_its_range() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        // Reference output of SplitMix64 seeded with 0.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);

        let mut seen = [false; 100];
        let mut rng = SplitMix64::new(1);
        for _ in 0..5000 {
            let p = rng.percent();
            assert!((1..=100).contains(&p));
            seen[(p - 1) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every percentage value occurs");
    }
}
