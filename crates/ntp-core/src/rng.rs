//! The engine's deterministic pseudo-random generator (SplitMix64), seeded by the caller so
//! that the engine itself never draws randomness (sans-IO) and simulations are reproducible.
//! Used for request transmit timestamps (RFC 5905 section 9.1 leaves T1 opaque; RFC 9109
//! and the security anchor require it unpredictable) and for poll jitter.

/// SplitMix64: tiny, fast, full-period 64-bit generator. Not cryptographic; the daemon seeds
/// it from the OS random source, which makes transmit timestamps unpredictable off-path.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from a seed (any value, including zero).
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A nonzero 64-bit value (zero is the "not set" timestamp and must never be sent).
    pub fn next_nonzero_u64(&mut self) -> u64 {
        loop {
            let v = self.next_u64();
            if v != 0 {
                return v;
            }
        }
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller).
    pub fn next_gaussian(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln is finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Exponential with mean 1.
    pub fn next_exp(&mut self) -> f64 {
        -(1.0 - self.next_f64()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_sequence_and_different_seeds_differ() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let mut c = SplitMix64::new(8);
        let va: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let vb: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let vc: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(va, vb);
        assert_ne!(va, vc);
    }

    #[test]
    fn distributions_have_the_expected_moments() {
        let mut r = SplitMix64::new(1);
        let n = 20_000;
        let (mut sg, mut sg2, mut se) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let g = r.next_gaussian();
            sg += g;
            sg2 += g * g;
            se += r.next_exp();
        }
        let n = n as f64;
        assert!((sg / n).abs() < 0.05);
        assert!((sg2 / n - 1.0).abs() < 0.05);
        assert!((se / n - 1.0).abs() < 0.05);
    }
}
