//! Seed ranges as users write them: `7`, `0..50` (end excluded) or `0..=49`.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A range of run seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub start: u64,
    /// Exclusive.
    pub end: u64,
}

/// A seed range that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad seed range {given:?}: {reason} (write N, A..B or A..=B)")]
pub struct SeedRangeError {
    /// What was written.
    pub given: String,
    /// What is wrong with it.
    pub reason: String,
}

impl SeedRange {
    /// Just `seed`.
    pub fn single(seed: u64) -> Self {
        SeedRange {
            start: seed,
            end: seed.saturating_add(1),
        }
    }

    /// How many seeds.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when it holds no seed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every seed, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> {
        self.start..self.end
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len() == 1 {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}..{}", self.start, self.end)
        }
    }
}

impl FromStr for SeedRange {
    type Err = SeedRangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| SeedRangeError {
            given: s.to_string(),
            reason: reason.to_string(),
        };
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| err(&format!("{t:?} is not a seed")))
        };
        let range = if let Some((a, b)) = s.split_once("..=") {
            let end = num(b)?
                .checked_add(1)
                .ok_or_else(|| err("end is too large"))?;
            SeedRange {
                start: num(a)?,
                end,
            }
        } else if let Some((a, b)) = s.split_once("..") {
            SeedRange {
                start: num(a)?,
                end: num(b)?,
            }
        } else {
            SeedRange::single(num(s)?)
        };
        if range.is_empty() {
            return Err(err("the range is empty"));
        }
        Ok(range)
    }
}

/// Environment variable that replays one seed in `cargo test` sim-tests.
pub const SEED_ENV: &str = "FAULTLAB_SEED";
/// Environment variable that sweeps a range of seeds in `cargo test` sim-tests.
pub const SEEDS_ENV: &str = "FAULTLAB_SEEDS";

/// A seed environment variable that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{var}={given:?}: {reason}")]
pub struct SeedEnvError {
    /// The variable.
    pub var: &'static str,
    /// Its value.
    pub given: String,
    /// What is wrong, and what to write instead.
    pub reason: String,
}

/// `FAULTLAB_SEED=N` replays one seed, `FAULTLAB_SEEDS=A..B` sweeps a range; otherwise `default`.
pub fn seeds_from_env(default: SeedRange) -> Result<SeedRange, SeedEnvError> {
    if let Ok(one) = std::env::var(SEED_ENV) {
        return one
            .trim()
            .parse::<u64>()
            .map(SeedRange::single)
            .map_err(|_| SeedEnvError {
                var: SEED_ENV,
                given: one.clone(),
                reason: format!(
                    "not a seed: write one non-negative integer (e.g. {SEED_ENV}=7), or use \
                     {SEEDS_ENV}=A..B for a range"
                ),
            });
    }
    match std::env::var(SEEDS_ENV) {
        Ok(range) => range.parse().map_err(|e: SeedRangeError| SeedEnvError {
            var: SEEDS_ENV,
            given: range.clone(),
            reason: format!("{}: write N, A..B or A..=B", e.reason),
        }),
        Err(_) => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!("7".parse(), Ok(SeedRange { start: 7, end: 8 }));
        assert_eq!("0..50".parse(), Ok(SeedRange { start: 0, end: 50 }));
        assert_eq!("3..=4".parse(), Ok(SeedRange { start: 3, end: 5 }));
        assert!("5..5".parse::<SeedRange>().is_err());
        assert!("x..3".parse::<SeedRange>().is_err());
        assert!("".parse::<SeedRange>().is_err());
        assert_eq!(SeedRange::single(9).to_string(), "9");
        assert_eq!(SeedRange { start: 0, end: 3 }.to_string(), "0..3");
    }
}
