//! Seeds and randomness. One pinned algorithm (ChaCha8, portable across platforms and rand
//! versions by its crate's promise) and one child seed per component, so adding a draw in the
//! nemesis does not shift the draws of every node.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The only RNG type simulation code uses.
pub type DetRng = ChaCha8Rng;

/// Derives the seed of a named component (and its index) from a run seed.
pub fn child_seed(run_seed: u64, label: &str, index: u64) -> u64 {
    let mut h = Fnv64::new();
    h.write(&run_seed.to_le_bytes());
    h.write(label.as_bytes());
    h.write(&index.to_le_bytes());
    splitmix64(h.finish())
}

/// A seeded RNG for a named component.
pub fn component_rng(run_seed: u64, label: &str, index: u64) -> DetRng {
    DetRng::seed_from_u64(child_seed(run_seed, label, index))
}

/// Every component's seed in a run, derived from the run seed in this one place, so backends
/// and the runner cannot drift apart. Each component gets its own stream: adding a draw in the
/// nemesis does not shift the draws of any node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSeeds {
    run: u64,
}

impl RunSeeds {
    /// The seeds of the run with seed `run`.
    pub fn new(run: u64) -> Self {
        RunSeeds { run }
    }

    /// The run seed itself.
    pub fn run(&self) -> u64 {
        self.run
    }

    /// The simulator's own seed (message latencies, task order). Its label predates the
    /// backend seam and is kept so pinned digests stay valid.
    pub fn simulator(&self) -> u64 {
        child_seed(self.run, "turmoil", 0)
    }

    /// Draws of the network fault layer (loss, duplication, delay), in send order.
    pub fn net(&self) -> DetRng {
        component_rng(self.run, "net", 0)
    }

    /// Draws of the nemesis (its plan and the nodes its faults hit).
    pub fn nemesis(&self) -> DetRng {
        component_rng(self.run, "nemesis", 0)
    }

    /// Draws of the nodes' boot-time monotonic clock readings.
    pub fn boot(&self) -> DetRng {
        component_rng(self.run, "boot", 0)
    }

    /// A node's stream for one incarnation: a restarted node does not replay its old draws.
    pub fn node(&self, node: u32, incarnation: u32) -> DetRng {
        component_rng(
            self.run,
            "node",
            (u64::from(node) << 32) | u64::from(incarnation),
        )
    }

    /// A client's stream.
    pub fn client(&self, client: u32) -> DetRng {
        component_rng(self.run, "client", u64::from(client))
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bit: small, stable and specified, which is all a fingerprint needs.
#[derive(Debug, Clone)]
pub struct Fnv64 {
    state: u64,
}

impl Default for Fnv64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv64 {
    /// The FNV-1a offset basis.
    pub fn new() -> Self {
        Fnv64 {
            state: 0xcbf2_9ce4_8422_2325,
        }
    }

    /// Hashes more bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state ^= u64::from(b);
            self.state = self.state.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.state
    }
}

/// A probability in parts per million. Integer so that draws are exact and replayable; written
/// in scenario files as a float in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Probability {
    ppm: u32,
}

impl Probability {
    /// Never.
    pub const NEVER: Probability = Probability { ppm: 0 };
    /// Always.
    pub const ALWAYS: Probability = Probability { ppm: 1_000_000 };

    /// `None` unless `p` is a finite number in [0, 1].
    pub fn from_f64(p: f64) -> Option<Self> {
        if !(0.0..=1.0).contains(&p) {
            return None;
        }
        // In range, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ppm = (p * 1_000_000.0).round() as u32;
        Some(Probability { ppm })
    }

    /// Parts per million.
    pub fn ppm(self) -> u32 {
        self.ppm
    }

    /// As a fraction.
    pub fn as_f64(self) -> f64 {
        f64::from(self.ppm) / 1_000_000.0
    }

    /// True for probability 0.
    pub fn is_never(self) -> bool {
        self.ppm == 0
    }

    /// One Bernoulli draw. Draws nothing when the outcome is certain, so a calm network does not
    /// consume randomness (and so does not perturb other draws).
    pub fn sample(self, rng: &mut DetRng) -> bool {
        match self.ppm {
            0 => false,
            1_000_000.. => true,
            ppm => rng.random_range(0..1_000_000) < ppm,
        }
    }
}

impl Serialize for Probability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        Probability::from_f64(p).ok_or_else(|| {
            serde::de::Error::custom(format!("probability must be between 0 and 1, got {p}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED_DRAWS: [u32; 4] = [901, 517, 867, 461];

    #[test]
    fn child_seeds_differ_by_label_and_index() {
        let a = child_seed(7, "node", 0);
        assert_ne!(a, child_seed(7, "node", 1));
        assert_ne!(a, child_seed(7, "client", 0));
        assert_ne!(a, child_seed(8, "node", 0));
        assert_eq!(a, child_seed(7, "node", 0));
    }

    #[test]
    fn chacha8_stream_is_pinned() {
        // If this changes, every pinned digest changes: the PRNG is part of the replay contract.
        let mut rng = component_rng(42, "pin", 0);
        let draws: Vec<u32> = (0..4).map(|_| rng.random_range(0..1000)).collect();
        assert_eq!(
            draws, PINNED_DRAWS,
            "child_seed, ChaCha8 or rand's range sampling changed"
        );
    }

    #[test]
    fn probability_bounds() {
        assert!(Probability::from_f64(1.5).is_none());
        assert!(Probability::from_f64(-0.1).is_none());
        assert!(Probability::from_f64(f64::NAN).is_none());
        assert_eq!(
            Probability::from_f64(0.25).map(Probability::ppm),
            Some(250_000)
        );
        let mut rng = component_rng(1, "p", 0);
        assert!(!Probability::NEVER.sample(&mut rng));
        assert!(Probability::ALWAYS.sample(&mut rng));
    }
}
