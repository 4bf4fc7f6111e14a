//! Guided exploration (`faultlab explore`): a coverage-guided search over fault schedules, for
//! any registered service.
//!
//! A campaign starts from a scenario (its swarm of faults) and keeps a **corpus** of inputs —
//! a seed plus an explicit fault schedule, the form the shrinker writes. Every run yields a
//! coverage signal ([`signal`]: abstract protocol states, rare paths under faults,
//! happens-before pairs); an input that reaches a feature no earlier run reached joins the
//! corpus. Each next input is either a fresh swarm seed or a **mutant** ([`mutate`]) of a
//! corpus input chosen with probability proportional to its *energy*: the rarer the features it
//! reaches (by how many runs reached each), the more often it is mutated. That is AFL's loop
//! with Mallory's feedback, on a simulator where a run takes milliseconds instead of minutes.
//!
//! **Reproducible**: everything the search decides comes from one RNG seeded by the campaign
//! seed, in a fixed order. Runs execute in batches of [`BATCH`] inputs, in parallel on `jobs`
//! threads, and their results are taken in batch order — so `--jobs 1` and `--jobs 8` build the
//! same corpus and find the same first failure.

pub mod corpus;
pub mod mutate;
pub mod page;
pub mod signal;

use crate::runner::coverage::Coverage;
use crate::runner::{RunError, RunOptions, RunOutcome, run_seed};
use crate::scenario::{Scenario, ScenarioError};
use crate::shrink::candidate::Candidate;
use crate::shrink::explicit::{Entry, entries_from_log};
use corpus::Input;
use mutate::{Bounds, Op};
use rand::Rng;
use serde::Serialize;
use signal::{RunSignal, signal};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use thiserror::Error;

/// Inputs planned and run together: fixed, so results do not depend on the number of jobs.
pub const BATCH: usize = 8;

/// How the next inputs are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Coverage-guided: mutants of corpus inputs, weighted by the rarity of what they reach.
    Guided,
    /// The plain swarm: fresh seeds only (the baseline guidance is measured against).
    Random,
}

/// What a campaign does.
#[derive(Debug, Clone)]
pub struct ExploreOptions {
    /// Runs to make (the budget).
    pub runs: u64,
    /// Threads running inputs.
    pub jobs: usize,
    /// Seeds the search (and the fresh swarm seeds: `campaign_seed * 1_000_000 + i`).
    pub campaign_seed: u64,
    /// Guided or the random baseline.
    pub strategy: Strategy,
    /// Bugs, backend and the rest, as for `run`.
    pub run: RunOptions,
    /// Stop at the first failing run (benchmarks); else go on and collect every failing
    /// invariant once.
    pub stop_at_first_failure: bool,
    /// Inputs to start from (a stored corpus), run before any fresh seed.
    pub seed_inputs: Vec<Input>,
}

/// A failing run found by a campaign.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// Which run of the campaign (1-based).
    pub run: u64,
    /// The first invariant that failed.
    pub invariant: &'static str,
    /// Its message.
    pub message: String,
    /// The run seed.
    pub seed: u64,
    /// True when the input was a mutant (an explicit schedule), false for a plain swarm seed.
    pub mutant: bool,
    /// The input as a standalone scenario file (explicit schedule), reproducing with
    /// `run --seeds SEED..=SEED`.
    #[serde(skip)]
    pub scenario_text: String,
}

/// Coverage after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Point {
    /// Runs so far.
    pub runs: u64,
    /// Distinct features reached.
    pub features: usize,
    /// Distinct abstract states reached.
    pub states: usize,
}

/// What a campaign did.
#[derive(Debug, Clone, Serialize)]
pub struct ExploreReport {
    /// The scenario it started from.
    pub scenario: String,
    /// Guided or random.
    pub strategy: Strategy,
    /// The campaign seed.
    pub campaign_seed: u64,
    /// Runs made.
    pub runs: u64,
    /// Runs that ended unknown (never a pass).
    pub unknown_runs: u64,
    /// Mutants that validation refused (not run, not counted as runs).
    pub invalid_mutants: u64,
    /// Coverage after every run.
    pub curve: Vec<Point>,
    /// Inputs in the corpus at the end.
    pub corpus_len: usize,
    /// Every failing invariant, at its first failing run.
    pub found: Vec<Found>,
    /// `[expect]` minimums (and notes) no run reached: a coverage gap, reported as unknown.
    pub sometimes_unreached: Vec<String>,
    /// The corpus at the end (explicit inputs), to store for the next campaign.
    #[serde(skip)]
    pub corpus: Vec<Input>,
}

impl ExploreReport {
    /// Distinct features at the end.
    pub fn features(&self) -> usize {
        self.curve.last().map_or(0, |p| p.features)
    }

    /// Distinct abstract states at the end.
    pub fn states(&self) -> usize {
        self.curve.last().map_or(0, |p| p.states)
    }

    /// The run that first failed, if any.
    pub fn first_failure(&self) -> Option<&Found> {
        self.found.iter().min_by_key(|f| f.run)
    }
}

/// Why a campaign could not run.
#[derive(Debug, Error)]
pub enum ExploreError {
    /// The scenario (or a stored input) is not valid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The harness failed while running an input.
    #[error("{0}")]
    Run(#[from] RunError),
}

/// One corpus input with what it reached.
struct Member {
    input: Input,
    features: Vec<u64>,
}

/// Where an input came from: the two arms the search splits its budget between (a stored
/// input is neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arm {
    Fresh,
    Mutant,
    Stored,
}

/// What an arm has yielded lately: new coverage per run, decayed so that the split follows
/// the campaign as it goes (mutation pays early around a rare state, fresh seeds later).
#[derive(Debug, Clone, Copy, Default)]
struct Yield {
    gain: f64,
    runs: f64,
}

impl Yield {
    /// Decay per run taken: the last ~50 runs count.
    const DECAY: f64 = 0.98;

    fn rate(&self) -> f64 {
        // One imagined run with one gain: an arm not yet tried is worth trying.
        (self.gain + 1.0) / (self.runs + 1.0)
    }
}

/// An input ready to run, and where it came from.
struct Planned {
    arm: Arm,
    input: Input,
    scenario: Scenario,
    text: String,
}

/// A finished run, reduced to what the search needs (the event log is dropped early).
struct Ran {
    arm: Arm,
    input: Input,
    text: String,
    signal: RunSignal,
    explicit: Option<Vec<Entry>>,
    failure: Option<(&'static str, String)>,
    unknown: bool,
    counters: crate::counters::Counters,
}

/// Runs a campaign from `scenario` (whose file text is `text`); `on_run` sees coverage after
/// each run (for a progress bar).
pub fn explore(
    scenario: &Scenario,
    text: &str,
    opts: &ExploreOptions,
    on_run: &(dyn Fn(&Point) + Sync),
) -> Result<ExploreReport, ExploreError> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ScenarioError::Io {
            file: scenario.source.clone(),
            message: e.to_string(),
        })?;
    let mut c = Campaign {
        scenario,
        base: explore_doc(doc, scenario),
        opts,
        rng: crate::rng::component_rng(opts.campaign_seed, "explore", 0),
        corpus: Vec::new(),
        hits: BTreeMap::new(),
        states: BTreeSet::new(),
        next_fresh: 0,
        pending: opts.seed_inputs.clone(),
        coverage: Coverage::new(&scenario.expect, &scenario.expect_notes),
        yields: [Yield::default(); 2],
        report: ExploreReport {
            scenario: scenario.name.clone(),
            strategy: opts.strategy,
            campaign_seed: opts.campaign_seed,
            runs: 0,
            unknown_runs: 0,
            invalid_mutants: 0,
            curve: Vec::new(),
            corpus_len: 0,
            found: Vec::new(),
            sometimes_unreached: Vec::new(),
            corpus: Vec::new(),
        },
    };
    c.pending.reverse();
    'search: while c.report.runs < opts.runs {
        let want = usize::try_from(opts.runs - c.report.runs)
            .unwrap_or(BATCH)
            .min(BATCH);
        let batch = c.plan(want)?;
        for ran in run_batch(batch, &opts.run, opts.jobs)? {
            let failed = ran.failure.is_some();
            c.take(ran);
            on_run(c.report.curve.last().unwrap_or(&Point {
                runs: 0,
                features: 0,
                states: 0,
            }));
            if failed && opts.stop_at_first_failure {
                break 'search;
            }
        }
    }
    c.report.sometimes_unreached = c
        .coverage
        .unreached()
        .iter()
        .map(|r| format!("{} (min {})", r.expectation, r.min))
        .collect();
    c.report.corpus_len = c.corpus.len();
    c.report.corpus = c.corpus.into_iter().map(|m| m.input).collect();
    Ok(c.report)
}

/// The scenario document inputs are built from: renamed, `catches` dropped (an input is not
/// built to catch anything).
fn explore_doc(doc: toml::Table, sc: &Scenario) -> Candidate {
    let mut c = Candidate::new(doc);
    c.set(
        &["name"],
        toml::Value::String(format!("{}-explore", sc.name)),
    );
    c.set(
        &["description"],
        toml::Value::String(format!(
            "an input `faultlab explore` derived from {}",
            sc.name
        )),
    );
    c.remove("catches");
    c
}

struct Campaign<'a> {
    scenario: &'a Scenario,
    base: Candidate,
    opts: &'a ExploreOptions,
    rng: crate::rng::DetRng,
    corpus: Vec<Member>,
    /// Feature → runs that reached it.
    hits: BTreeMap<u64, u64>,
    states: BTreeSet<u64>,
    next_fresh: u64,
    /// Stored inputs still to run, last first.
    pending: Vec<Input>,
    coverage: Coverage,
    report: ExploreReport,
    /// What fresh seeds (0) and mutants (1) yielded lately.
    yields: [Yield; 2],
}

/// The guided share of fresh swarm seeds stays within these bounds (per mille) whatever the
/// arms yield: fresh seeds keep the search from narrowing onto one corner, mutants keep it
/// digging where coverage was rare.
const FRESH_PERMILLE_MIN: u32 = 150;
const FRESH_PERMILLE_MAX: u32 = 850;
/// A new abstract state is worth this many other new features when arms are compared.
const STATE_WEIGHT: f64 = 4.0;
/// Chance that a mutant keeps its parent's seed (same workload, other faults).
const KEEP_SEED_PERMILLE: u32 = 600;
/// Mutations stacked on one child: 1..=this.
const STACK_MAX: usize = 4;
/// Attempts to make a valid mutant before running a fresh seed instead.
const MUTANT_TRIES: usize = 8;

impl Campaign<'_> {
    fn fresh(&mut self) -> Input {
        let seed = self
            .opts
            .campaign_seed
            .saturating_mul(1_000_000)
            .saturating_add(self.next_fresh);
        self.next_fresh += 1;
        Input {
            seed,
            schedule: None,
        }
    }

    /// The next `want` inputs, planned from the corpus as it stands.
    fn plan(&mut self, want: usize) -> Result<Vec<Planned>, ExploreError> {
        let mut batch = Vec::with_capacity(want);
        while batch.len() < want {
            let (arm, input) = if let Some(stored) = self.pending.pop() {
                (Arm::Stored, stored)
            } else if self.opts.strategy == Strategy::Random
                || self.corpus.is_empty()
                || self.rng.random_range(0..1000) < self.fresh_permille()
            {
                (Arm::Fresh, self.fresh())
            } else {
                match self.mutant() {
                    Some(input) => (Arm::Mutant, input),
                    None => (Arm::Fresh, self.fresh()),
                }
            };
            match self.prepare(arm, input) {
                Ok(p) => batch.push(p),
                Err(ExploreError::Scenario(_)) => self.report.invalid_mutants += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(batch)
    }

    /// The fresh share, from what each arm has yielded per run lately (a two-armed bandit):
    /// guidance spends its budget where it has been paying, and can only fall back to about
    /// the random swarm when mutation does not pay.
    fn fresh_permille(&self) -> u32 {
        let (f, m) = (self.yields[0].rate(), self.yields[1].rate());
        let share = (1000.0 * f / (f + m)) as u32;
        share.clamp(FRESH_PERMILLE_MIN, FRESH_PERMILLE_MAX)
    }

    fn prepare(&self, arm: Arm, input: Input) -> Result<Planned, ExploreError> {
        let text = match &input.schedule {
            Some(entries) => self.base.with_schedule(entries).render(),
            None => self.base.render(),
        };
        let scenario =
            self.scenario
                .reparse(&text, &self.scenario.source, Some(&self.scenario.name))?;
        Ok(Planned {
            arm,
            input,
            scenario,
            text,
        })
    }

    /// A mutant of a corpus member chosen by energy; `None` if no operator applied.
    fn mutant(&mut self) -> Option<Input> {
        let parent = self.choose()?;
        let donor = self.choose()?;
        let bounds = Bounds {
            duration_ms: self.scenario.duration_ms,
            nodes: self.scenario.nodes,
        };
        let mut entries = self.corpus[parent]
            .input
            .schedule
            .clone()
            .unwrap_or_default();
        let donor_entries = self.corpus[donor]
            .input
            .schedule
            .clone()
            .unwrap_or_default();
        let stack = self.rng.random_range(1..=STACK_MAX);
        let mut applied = 0;
        for _ in 0..MUTANT_TRIES {
            let op = Op::ALL[self.rng.random_range(0..Op::ALL.len())];
            if mutate::apply(op, &mut entries, &donor_entries, bounds, &mut self.rng) {
                applied += 1;
                if applied == stack {
                    break;
                }
            }
        }
        if applied == 0 {
            return None;
        }
        let seed = if self.rng.random_range(0..1000) < KEEP_SEED_PERMILLE {
            self.corpus[parent].input.seed
        } else {
            self.rng.random_range(0..u64::from(u32::MAX))
        };
        Some(Input {
            seed,
            schedule: Some(entries),
        })
    }

    /// A corpus member, with probability proportional to the summed rarity of its features.
    fn choose(&mut self) -> Option<usize> {
        let energy: Vec<f64> = self
            .corpus
            .iter()
            .map(|m| {
                m.features
                    .iter()
                    .map(|f| 1.0 / self.hits.get(f).copied().unwrap_or(1).max(1) as f64)
                    .sum::<f64>()
                    .max(1e-9)
            })
            .collect();
        let total: f64 = energy.iter().sum();
        if energy.is_empty() || total <= 0.0 {
            return None;
        }
        let mut x = self.rng.random_range(0.0..total);
        for (i, e) in energy.iter().enumerate() {
            if x < *e {
                return Some(i);
            }
            x -= e;
        }
        Some(energy.len() - 1)
    }

    /// Takes one finished run into the campaign, in batch order.
    fn take(&mut self, ran: Ran) {
        self.report.runs += 1;
        self.coverage.add(&ran.counters);
        let mut new_features = 0usize;
        for &f in &ran.signal.features {
            let n = self.hits.entry(f).or_insert(0);
            new_features += usize::from(*n == 0);
            *n += 1;
        }
        let new = new_features > 0;
        let states_before = self.states.len();
        self.states.extend(ran.signal.states.iter().copied());
        let gain = new_features as f64 + STATE_WEIGHT * (self.states.len() - states_before) as f64;
        for (i, y) in self.yields.iter_mut().enumerate() {
            y.gain *= Yield::DECAY;
            y.runs *= Yield::DECAY;
            if (i == 0 && ran.arm == Arm::Fresh) || (i == 1 && ran.arm == Arm::Mutant) {
                y.gain += gain;
                y.runs += 1.0;
            }
        }
        if ran.unknown {
            self.report.unknown_runs += 1;
        }
        if let Some((invariant, message)) = ran.failure
            && !self.report.found.iter().any(|f| f.invariant == invariant)
        {
            self.report.found.push(Found {
                run: self.report.runs,
                invariant,
                message,
                seed: ran.input.seed,
                mutant: ran.input.schedule.is_some(),
                scenario_text: ran.text.clone(),
            });
        }
        if new && let Some(entries) = ran.explicit {
            self.corpus.push(Member {
                input: Input {
                    seed: ran.input.seed,
                    schedule: Some(entries),
                },
                features: ran.signal.features.into_iter().collect(),
            });
        }
        self.report.curve.push(Point {
            runs: self.report.runs,
            features: self.hits.len(),
            states: self.states.len(),
        });
    }
}

/// Runs a batch on `jobs` threads; results in batch order.
fn run_batch(batch: Vec<Planned>, run: &RunOptions, jobs: usize) -> Result<Vec<Ran>, RunError> {
    let mut opts = run.clone();
    opts.abstract_states = true;
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<Ran, RunError>>>> =
        Mutex::new((0..batch.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(batch.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = batch.get(i) else { return };
                    let r = run_seed(&p.scenario, p.input.seed, &opts).map(|o| reduce(p, &o));
                    slots
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(r);
                }
            });
        }
    });
    let slots = slots
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Vec::with_capacity(slots.len());
    for s in slots.into_iter().flatten() {
        out.push(s?);
    }
    Ok(out)
}

fn reduce(p: &Planned, o: &RunOutcome) -> Ran {
    let explicit = match &p.input.schedule {
        Some(entries) => Some(entries.clone()),
        // A swarm run joins the corpus as the faults it actually applied.
        None => entries_from_log(o.log.records(), o.heal_at).ok(),
    };
    Ran {
        arm: p.arm,
        input: p.input.clone(),
        text: p.text.clone(),
        signal: signal(o),
        explicit,
        failure: o
            .failures()
            .next()
            .map(|v| (v.invariant, v.outcome.message().to_string())),
        unknown: o.failures().next().is_none() && o.unknowns().next().is_some(),
        counters: o.counters.clone(),
    }
}

#[cfg(test)]
mod tests;
