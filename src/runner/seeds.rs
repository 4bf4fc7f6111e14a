//! Seed ranges as users write them: `7`, `0..50` (end excluded) or `0..=49`.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    pub start: u64,
    /// Exclusive.
    pub end: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad seed range {given:?}: {reason} (write N, A..B or A..=B)")]
pub struct SeedRangeError {
    pub given: String,
    pub reason: String,
}

impl SeedRange {
    pub fn single(seed: u64) -> Self {
        SeedRange {
            start: seed,
            end: seed.saturating_add(1),
        }
    }

    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

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

/// Environment variables that choose seeds for `cargo test` sim-tests.
pub const SEED_ENV: &str = "FAULTLAB_SEED";
pub const SEEDS_ENV: &str = "FAULTLAB_SEEDS";

/// `FAULTLAB_SEED=N` replays one seed, `FAULTLAB_SEEDS=A..B` sweeps a range; otherwise `default`.
pub fn seeds_from_env(default: SeedRange) -> Result<SeedRange, SeedRangeError> {
    if let Ok(one) = std::env::var(SEED_ENV) {
        return one
            .trim()
            .parse::<u64>()
            .map(SeedRange::single)
            .map_err(|_| SeedRangeError {
                given: one.clone(),
                reason: format!("{SEED_ENV} must be a single seed"),
            });
    }
    match std::env::var(SEEDS_ENV) {
        Ok(range) => range.parse(),
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
