//! `sometimes` over a sweep: which `[expect]` minimums (on counters, and on service notes in
//! `[expect.notes]`) were reached in at least one seed, and in how many seeds each service note
//! (a rare path) was reached. A minimum no seed reached is a coverage gap: the sweep proves
//! nothing about it, so it is reported and the sweep's verdict is unknown — never a pass.

use crate::counters::{Counter, Counters};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// What an `[expect]` minimum is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expectation {
    /// A run counter.
    Counter(Counter),
    /// How often a service note (a rare path) was made.
    Note(String),
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Counter(c) => write!(f, "{c}"),
            Expectation::Note(label) => write!(f, "note {label}"),
        }
    }
}

impl Serialize for Expectation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Expectation {
    fn value(&self, counters: &Counters) -> u64 {
        match self {
            Expectation::Counter(c) => counters[*c],
            Expectation::Note(label) => counters.notes.get(label).copied().unwrap_or(0),
        }
    }
}

/// One `[expect]` minimum judged over a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reach {
    /// What it is on.
    pub expectation: Expectation,
    /// The scenario's minimum.
    pub min: u64,
    /// Seeds that reached the minimum.
    pub seeds_reached: u64,
}

/// What a sweep covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    seeds: u64,
    expect: BTreeMap<Expectation, (u64, u64)>,
    notes: BTreeMap<String, u64>,
}

impl Coverage {
    /// Coverage of the minimums on counters (`expect`) and on notes (`notes`), before any seed.
    pub fn new(expect: &BTreeMap<Counter, u64>, notes: &BTreeMap<String, u64>) -> Self {
        let counters = expect
            .iter()
            .map(|(&c, &min)| (Expectation::Counter(c), (min, 0)));
        let notes_min = notes
            .iter()
            .map(|(l, &min)| (Expectation::Note(l.clone()), (min, 0)));
        Coverage {
            seeds: 0,
            expect: counters.chain(notes_min).collect(),
            notes: BTreeMap::new(),
        }
    }

    /// Adds one seed's counters.
    pub fn add(&mut self, counters: &Counters) {
        self.seeds += 1;
        for (e, (min, reached)) in &mut self.expect {
            if e.value(counters) >= *min {
                *reached += 1;
            }
        }
        for label in counters.notes.keys() {
            *self.notes.entry(label.clone()).or_default() += 1;
        }
    }

    /// Seeds added.
    pub fn seeds(&self) -> u64 {
        self.seeds
    }

    /// Every minimum with the number of seeds that reached it.
    pub fn reaches(&self) -> Vec<Reach> {
        self.expect
            .iter()
            .map(|(e, &(min, seeds_reached))| Reach {
                expectation: e.clone(),
                min,
                seeds_reached,
            })
            .collect()
    }

    /// Minimums no seed reached (empty before any seed: nothing was swept).
    pub fn unreached(&self) -> Vec<Reach> {
        self.reaches()
            .into_iter()
            .filter(|r| r.seeds_reached == 0 && self.seeds > 0)
            .collect()
    }

    /// In how many seeds each service note was made.
    pub fn notes(&self) -> &BTreeMap<String, u64> {
        &self.notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimum_reached_in_no_seed_is_a_gap() {
        let expect = BTreeMap::from([(Counter::DuplicatedMessages, 1), (Counter::OpsOk, 1)]);
        let notes = BTreeMap::from([("svc/rare".to_string(), 1)]);
        let mut cov = Coverage::new(&expect, &notes);
        assert!(cov.unreached().is_empty(), "nothing swept yet");
        let mut ran = Counters::default();
        ran.add(Counter::OpsOk, 5);
        cov.add(&ran);
        let gaps: Vec<String> = cov
            .unreached()
            .iter()
            .map(|r| r.expectation.to_string())
            .collect();
        assert_eq!(gaps, vec!["duplicated_messages", "note svc/rare"]);
        ran.add(Counter::DuplicatedMessages, 1);
        ran.notes.insert("svc/rare".into(), 2);
        cov.add(&ran);
        assert!(cov.unreached().is_empty());
    }
}
