//! Knobs (after FoundationDB): the tunables a service declares with the range in which it
//! promises to be correct. A scenario with `[randomize] knobs = true` draws each knob per seed,
//! so boundary settings — a reservation window of 1 ms, a heartbeat just under the election
//! timeout — are visited by sweeps instead of waiting for a user to choose them.

use super::{OptionError, Shape};
use crate::rng::DetRng;
use rand::Rng;
use std::fmt;

/// One tunable of a service's options.
pub struct Knob<O> {
    /// The option's name in the service's table.
    pub name: &'static str,
    /// Smallest value the service promises to be correct with.
    pub min: u64,
    /// Largest such value.
    pub max: u64,
    /// Sets it.
    pub set: fn(&mut O, u64),
}

/// A knob's value in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnobValue {
    /// The option.
    pub name: &'static str,
    /// Its value in this run.
    pub value: u64,
}

impl fmt::Display for KnobValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

/// Draws every knob, in declaration order, half the time at an end of its range (where the
/// boundary cases are), else uniformly inside it. A draw the options' own validation rejects
/// in combination with earlier ones (a heartbeat above the election timeout drawn before it)
/// is dropped, and the knob keeps its earlier value.
pub fn draw<O: Clone>(
    opts: &O,
    knobs: &[Knob<O>],
    rng: &mut DetRng,
    validate: impl Fn(&O) -> Result<(), OptionError>,
) -> (O, Vec<KnobValue>) {
    let mut out = opts.clone();
    let mut drawn = Vec::new();
    for k in knobs {
        let value = match rng.random_range(0..4u8) {
            0 => k.min,
            1 => k.max,
            _ => rng.random_range(k.min..=k.max),
        };
        let mut next = out.clone();
        (k.set)(&mut next, value);
        if validate(&next).is_ok() {
            out = next;
            drawn.push(KnobValue {
                name: k.name,
                value,
            });
        }
    }
    (out, drawn)
}

/// The validation `draw` needs, for a service's options in a cluster of `shape`.
pub fn validator<O>(
    shape: Shape,
    validate: fn(&O, &Shape) -> Result<(), OptionError>,
) -> impl Fn(&O) -> Result<(), OptionError> {
    move |o| validate(o, &shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::component_rng;

    #[derive(Debug, Clone, PartialEq)]
    struct Opts {
        a: u64,
        b: u64,
    }

    const KNOBS: &[Knob<Opts>] = &[
        Knob {
            name: "a",
            min: 1,
            max: 100,
            set: |o, v| o.a = v,
        },
        Knob {
            name: "b",
            min: 1,
            max: 100,
            set: |o, v| o.b = v,
        },
    ];

    #[test]
    fn draws_stay_in_range_hit_the_ends_and_respect_validation() {
        let base = Opts { a: 50, b: 60 };
        let valid = |o: &Opts| {
            if o.a < o.b {
                Ok(())
            } else {
                Err(OptionError::new("a", "must be below b"))
            }
        };
        let mut ends = 0;
        for seed in 0..200 {
            let mut rng = component_rng(seed, "knobs", 0);
            let (o, drawn) = draw(&base, KNOBS, &mut rng, valid);
            assert!(valid(&o).is_ok(), "{o:?}");
            assert!((1..=100).contains(&o.a) && (1..=100).contains(&o.b));
            for d in &drawn {
                let v = if d.name == "a" { o.a } else { o.b };
                assert_eq!(d.value, v, "a reported draw is the value used");
            }
            ends += usize::from(o.a == 1 || o.a == 100);
        }
        // An end is drawn half the time; `a = 100` is then invalid next to most `b` and
        // dropped, so about a quarter of the seeds keep `a` at an end.
        assert!(ends > 30, "ends of the range visited {ends} times in 200");
    }
}
