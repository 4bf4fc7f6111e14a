//! BUGGIFY (after FoundationDB): fault points a service places at interesting spots — a reply
//! dropped after the work was done, a spurious timeout, a needless wait — each a thing that can
//! happen on real machines anyway, only rarely. Per run, the seed decides which points are
//! active (each with probability 1/4, so different seeds explore different combinations); an
//! active point then fires at a call with `fire_permille`. Off unless a scenario or the command
//! line asks for it, and always off on real sockets.
//!
//! A service names its points as constants in its own folder and lists them in its plug-in
//! (`ServiceSpec::BUGGIFY_POINTS`), so reports can say which were active in a seed.
//!
//! Stateless on purpose: whether a point fires is a hash of the run seed, the point, the node,
//! its incarnation and the instant, so a service's own RNG draws are not shifted by it and runs
//! without BUGGIFY keep their digests.

use crate::ids::{Incarnation, NodeId};
use crate::rng::{Fnv64, child_seed};
use crate::time::LocalInstant;

/// One in this many points is active in a run.
const ACTIVE_ONE_IN: u64 = 4;

/// BUGGIFY in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buggify {
    seed: u64,
    fire_permille: u32,
}

impl Buggify {
    /// BUGGIFY for the run with seed `run_seed`; active points fire with `fire_permille`.
    pub fn new(run_seed: u64, fire_permille: u32) -> Self {
        Buggify {
            seed: child_seed(run_seed, "buggify", 0),
            fire_permille: fire_permille.min(1000),
        }
    }

    /// True when `point` is active in this run.
    pub fn active(&self, point: &str) -> bool {
        let mut h = Fnv64::new();
        h.write(&self.seed.to_le_bytes());
        h.write(point.as_bytes());
        splitmix(h.finish()).is_multiple_of(ACTIVE_ONE_IN)
    }

    /// True when `point` fires on `node` (incarnation `inc`) at `now`.
    pub fn fires(&self, point: &str, node: NodeId, inc: Incarnation, now: LocalInstant) -> bool {
        if !self.active(point) {
            return false;
        }
        let mut h = Fnv64::new();
        h.write(&self.seed.to_le_bytes());
        h.write(point.as_bytes());
        h.write(&node.0.to_le_bytes());
        h.write(&inc.0.to_le_bytes());
        h.write(&now.ns.to_le_bytes());
        splitmix(h.finish()) % 1000 < u64::from(self.fire_permille)
    }

    /// Of `points`, those active in this run.
    pub fn active_points<'a>(&self, points: &[&'a str]) -> Vec<&'a str> {
        points.iter().copied().filter(|p| self.active(p)).collect()
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_a_quarter_of_points_are_active_and_active_ones_fire_at_their_rate() {
        let names: Vec<String> = (0..400).map(|i| format!("p{i}")).collect();
        let b = Buggify::new(7, 500);
        let active: Vec<&String> = names.iter().filter(|p| b.active(p)).collect();
        assert!(
            (60..140).contains(&active.len()),
            "{} of 400 active",
            active.len()
        );
        let p = active.first().map(|s| s.as_str()).unwrap_or("p0");
        let fired = (0..2000u64)
            .filter(|t| {
                b.fires(
                    p,
                    NodeId(1),
                    Incarnation(1),
                    LocalInstant { ns: t * 1_000_000 },
                )
            })
            .count();
        assert!((800..1200).contains(&fired), "{fired} of 2000 at 50 %");
        let inactive = names
            .iter()
            .find(|p| !b.active(p))
            .map(|s| s.as_str())
            .unwrap_or("x");
        assert!(!(0..100u64).any(|t| b.fires(
            inactive,
            NodeId(1),
            Incarnation(1),
            LocalInstant { ns: t }
        )));
        // Another seed, another selection.
        let other = Buggify::new(8, 500);
        assert!(names.iter().any(|p| b.active(p) != other.active(p)));
    }
}
