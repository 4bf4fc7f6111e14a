//! The coverage audit of a set of scenarios (`faultlab scenarios --coverage`): which options
//! of each service the scenarios set away from their defaults, and which of the rare paths a
//! service declares (its notes, [`crate::plugin::ServiceSpec::NOTES`]) no scenario reaches in a
//! few seeds — what guided exploration cannot reach if no scenario opens the door.
//!
//! Its verdict is pass only when nothing is missing; any gap makes it unknown ("not covered"),
//! never a pass: an option nobody sets and a path nobody reaches are states no sweep has judged.

mod keys;
mod options;
#[cfg(test)]
mod tests;

pub use keys::option_keys;
pub use options::{DRAWN_BY_KNOBS, OptionSet, options_set};

use crate::invariants::Overall;
use crate::plugin::Registry;
use crate::runner::seeds::SeedRange;
use crate::runner::sweep::sweep;
use crate::runner::{RunError, RunOptions, RunOutcome};
use crate::scenario::Scenario;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use thiserror::Error;

/// Why the audit could not be made.
#[derive(Debug, Error)]
pub enum AuditError {
    /// A scenario file could not be read again.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// A scenario file is not TOML (it parsed when loaded: it changed since).
    #[error("{file}: {source}")]
    Toml {
        /// The file.
        file: String,
        /// Why.
        source: toml::de::Error,
    },
    /// The harness failed running a seed.
    #[error("{scenario}: {source}")]
    Run {
        /// The scenario.
        scenario: String,
        /// Why.
        source: RunError,
    },
}

/// One option of a service, and what the scenarios set it to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionRow {
    /// `key` or `table.key`.
    pub key: String,
    /// Value as written → the scenarios writing it.
    pub values: BTreeMap<String, BTreeSet<String>>,
    /// Scenarios whose setting changes the options (not just restates the default).
    pub away_in: BTreeSet<String>,
}

/// Where a note was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteReach {
    /// Seeds (over every scenario) that made it at least once.
    pub seeds: u64,
    /// Scenarios with such a seed.
    pub scenarios: BTreeSet<String>,
}

/// A service's part of the audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAudit {
    /// Its name.
    pub service: &'static str,
    /// The scenarios that run it.
    pub scenarios: BTreeSet<String>,
    /// Every option, in declaration order (then any key the probe missed).
    pub options: Vec<OptionRow>,
    /// Every declared note, in declaration order.
    pub notes: Vec<(&'static str, NoteReach)>,
    /// Notes made that the service does not declare (nor are BUGGIFY points).
    pub undeclared: BTreeMap<String, NoteReach>,
    /// Distinct abstract states its scenarios reached, together.
    pub abstract_states: usize,
    /// Per scenario, the abstract states no other scenario of the service reached (only
    /// scenarios with at least one).
    pub unique_states: BTreeMap<String, usize>,
}

/// One thing no scenario covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gap {
    /// No scenario sets the option away from its default.
    OptionAtDefault {
        /// The service.
        service: &'static str,
        /// The option.
        key: String,
    },
    /// No seed made the declared note.
    NoteUnreached {
        /// The service.
        service: &'static str,
        /// The note.
        label: &'static str,
    },
    /// A note was made that the service does not declare.
    NoteUndeclared {
        /// The service.
        service: &'static str,
        /// The note.
        label: String,
    },
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// The seeds run of every scenario.
    pub seeds: SeedRange,
    /// Runs made.
    pub runs: u64,
    /// Every registered service, in registry order.
    pub services: Vec<ServiceAudit>,
}

impl Audit {
    /// Everything not covered.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut gaps = Vec::new();
        for s in &self.services {
            for o in &s.options {
                if o.away_in.is_empty() {
                    gaps.push(Gap::OptionAtDefault {
                        service: s.service,
                        key: o.key.clone(),
                    });
                }
            }
            for (label, reach) in &s.notes {
                if reach.seeds == 0 {
                    gaps.push(Gap::NoteUnreached {
                        service: s.service,
                        label,
                    });
                }
            }
            for label in s.undeclared.keys() {
                gaps.push(Gap::NoteUndeclared {
                    service: s.service,
                    label: label.clone(),
                });
            }
        }
        gaps
    }

    /// Pass when nothing is missing, else unknown (never fail: a gap is not a bug found, and
    /// never pass: it is a state no sweep judged).
    pub fn overall(&self) -> Overall {
        if self.gaps().is_empty() {
            Overall::Pass
        } else {
            Overall::Unknown
        }
    }
}

/// What one scenario contributed: the options it sets, and per seed the notes made.
#[derive(Debug, Clone, Default)]
pub struct ScenarioEvidence {
    /// Its name.
    pub name: String,
    /// Its service.
    pub service: &'static str,
    /// The options it sets.
    pub options: Vec<OptionSet>,
    /// Per seed run: each note label and how often it was made.
    pub notes_per_seed: Vec<BTreeMap<String, u64>>,
    /// The keys of the abstract states its nodes reached (guided exploration's coverage
    /// signal, [`RunOutcome::abstract_states`]).
    pub abstract_states: BTreeSet<u64>,
}

/// Runs `seeds` of every scenario (`jobs` threads each, as `faultlab run` does) and audits
/// the services of `registry` against them. `on_scenario` sees each scenario when it is done
/// (for progress).
pub fn audit(
    registry: &Registry,
    scenarios: &[Scenario],
    seeds: SeedRange,
    jobs: usize,
    on_scenario: &dyn Fn(&ScenarioEvidence),
) -> Result<Audit, AuditError> {
    let mut evidence = Vec::with_capacity(scenarios.len());
    for sc in scenarios {
        let e = scenario_evidence(sc, seeds, jobs)?;
        on_scenario(&e);
        evidence.push(e);
    }
    Ok(Audit {
        seeds,
        runs: seeds.len() * scenarios.len() as u64,
        services: registry
            .services()
            .map(|s| {
                service_audit(
                    s.name(),
                    &s.option_keys(),
                    s.notes(),
                    s.buggify_points(),
                    &evidence,
                )
            })
            .collect(),
    })
}

fn scenario_evidence(
    sc: &Scenario,
    seeds: SeedRange,
    jobs: usize,
) -> Result<ScenarioEvidence, AuditError> {
    let text = std::fs::read_to_string(&sc.source).map_err(|source| AuditError::Read {
        file: sc.source.clone(),
        source,
    })?;
    let options = options_set(sc, &text).map_err(|source| AuditError::Toml {
        file: sc.source.clone(),
        source,
    })?;
    let opts = RunOptions {
        abstract_states: true,
        ..RunOptions::default()
    };
    let states = Mutex::new(BTreeSet::new());
    let on_done = |o: &RunOutcome| {
        states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(o.abstract_states.keys().copied());
    };
    let results =
        sweep(sc, seeds, &opts, jobs.max(1), &on_done).map_err(|source| AuditError::Run {
            scenario: sc.name.clone(),
            source,
        })?;
    Ok(ScenarioEvidence {
        name: sc.name.clone(),
        service: sc.service_name(),
        options,
        notes_per_seed: results.into_iter().map(|r| r.counters.notes).collect(),
        abstract_states: states.into_inner().unwrap_or_else(PoisonError::into_inner),
    })
}

/// One service's audit from the evidence of every scenario (those of other services are
/// skipped).
pub fn service_audit(
    service: &'static str,
    option_keys: &[String],
    declared: &'static [&'static str],
    buggify_points: &[&str],
    evidence: &[ScenarioEvidence],
) -> ServiceAudit {
    let mine: Vec<&ScenarioEvidence> = evidence.iter().filter(|e| e.service == service).collect();
    let mut rows: Vec<OptionRow> = option_keys
        .iter()
        .map(|k| OptionRow {
            key: k.clone(),
            ..OptionRow::default()
        })
        .collect();
    let mut notes: Vec<(&'static str, NoteReach)> = declared
        .iter()
        .map(|&l| (l, NoteReach::default()))
        .collect();
    let mut undeclared: BTreeMap<String, NoteReach> = BTreeMap::new();
    for e in &mine {
        for set in &e.options {
            let row = match rows.iter().position(|r| r.key == set.key) {
                Some(i) => &mut rows[i],
                None => {
                    rows.push(OptionRow {
                        key: set.key.clone(),
                        ..OptionRow::default()
                    });
                    let last = rows.len() - 1;
                    &mut rows[last]
                }
            };
            row.values
                .entry(set.value.clone())
                .or_default()
                .insert(e.name.clone());
            if set.away_from_default {
                row.away_in.insert(e.name.clone());
            }
        }
        for seed_notes in &e.notes_per_seed {
            for (label, &count) in seed_notes {
                if count == 0 {
                    continue;
                }
                let reach = match notes.iter_mut().find(|(l, _)| *l == label.as_str()) {
                    Some((_, r)) => r,
                    None if buggify_points.contains(&label.as_str()) => continue,
                    None => undeclared.entry(label.clone()).or_default(),
                };
                reach.seeds += 1;
                reach.scenarios.insert(e.name.clone());
            }
        }
    }
    let (abstract_states, unique_states) = states(&mine);
    ServiceAudit {
        service,
        scenarios: mine.iter().map(|e| e.name.clone()).collect(),
        options: rows,
        notes,
        undeclared,
        abstract_states,
        unique_states,
    }
}

/// Distinct abstract states over `evidence`, and per scenario those only it reached.
fn states(evidence: &[&ScenarioEvidence]) -> (usize, BTreeMap<String, usize>) {
    let mut reached_by: BTreeMap<u64, usize> = BTreeMap::new();
    for e in evidence {
        for &k in &e.abstract_states {
            *reached_by.entry(k).or_default() += 1;
        }
    }
    let unique = evidence
        .iter()
        .map(|e| {
            let only = e
                .abstract_states
                .iter()
                .filter(|k| reached_by.get(k) == Some(&1))
                .count();
            (e.name.clone(), only)
        })
        .filter(|&(_, n)| n > 0)
        .collect();
    (reached_by.len(), unique)
}
