//! Shrinking a failing run (`faultlab shrink`): from (scenario, seed) that fails an invariant to
//! a smaller scenario that fails the same invariant at the same seed.
//!
//! 1. Run the original; its first failing invariant is the *target*. A seed that does not fail
//!    (passes, or ends unknown) is an error: there is nothing to shrink.
//! 2. Make the faults explicit: the resolved faults of the event log become
//!    `[[faults.schedule]]` entries that draw nothing (no `[faults.random]`, every node and
//!    partition link written out). The nemesis draws from one stream for the swarm *and* for
//!    the nodes it picks, so an explicit schedule leaves that stream unused — but since nothing
//!    is left to draw, the world sees the same faults at the same times. That is checked, not
//!    assumed: the explicit scenario must fail the target at the same seed, else the shrinker
//!    says so and shrinks only the parameters of the original.
//! 3. Shrink, accepting a candidate only when the target invariant *fails* (a pass, an unknown,
//!    or a failure of another invariant alone is rejected): the safety phase (faults after it
//!    go), the liveness phase, the fault entries (ddmin), clients, nodes (as far as validation
//!    and the entries allow), each lasting fault's duration, the workload's think time, and the
//!    entries once more.
//!
//! Every candidate is a scenario file validated like any other; the result reproduces with
//! `faultlab run --scenario OUT --seeds N..=N` (and the same `--bug`s). Bounded by a run budget.
//! Never imports a service: the document keeps the service's table as written.

pub(crate) mod candidate;
pub mod ddmin;
pub mod explicit;
mod reduce;

use crate::counters::Counter;
use crate::invariants::Overall;
use crate::runner::{RunError, RunOptions, RunOutcome, run_seed};
use crate::scenario::{Scenario, ScenarioError};
use candidate::Candidate;
use ddmin::Probe;
use explicit::entries_from_log;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;
use toml::Value;

/// Default bound on simulation runs for one shrink.
pub const RUNS_MAX_DEFAULT: u32 = 200;

/// How to shrink.
#[derive(Debug, Clone)]
pub struct ShrinkOptions {
    /// The failing seed.
    pub seed: u64,
    /// Bugs and backend, as for the original run.
    pub run: RunOptions,
    /// At most this many simulation runs (the original's included).
    pub runs_max: u32,
}

/// Why a shrink could not start or went wrong.
#[derive(Debug, Error)]
pub enum ShrinkError {
    /// The scenario file is not valid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The harness failed while running a candidate.
    #[error("{0}")]
    Run(#[from] RunError),
    /// The seed does not fail: nothing to shrink.
    #[error("{scenario} seed {seed}{bugs} does not fail ({outcome}): nothing to shrink")]
    DoesNotFail {
        /// The scenario's source.
        scenario: String,
        /// The seed.
        seed: u64,
        /// ` with --bug X` or empty.
        bugs: String,
        /// What happened instead.
        outcome: String,
    },
}

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size {
    /// Faults the nemesis applied in the safety phase (a lasting fault and its undo count once).
    pub faults: usize,
    /// Client operations invoked.
    pub ops: u64,
    /// Safety plus liveness phase.
    pub simulated_ms: u64,
    /// Cluster size.
    pub nodes: u32,
    /// Concurrent clients.
    pub clients: u32,
}

impl Size {
    fn of(sc: &Scenario, o: &RunOutcome) -> Size {
        let faults = match entries_from_log(o.log.records(), o.heal_at) {
            Ok(entries) => entries.len(),
            Err(_) => o.counters[Counter::FaultsApplied] as usize,
        };
        Size {
            faults,
            ops: o.counters[Counter::OpsInvoked],
            simulated_ms: sc.total_ms(),
            nodes: sc.nodes,
            clients: sc.clients,
        }
    }
}

/// Whether the explicit schedule stood in for the original's faults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ExplicitSchedule {
    /// It fails the target at the same seed. `same_faults`: it applied exactly the original's
    /// faults at the same times.
    Reproduces {
        /// The applied faults are identical.
        same_faults: bool,
    },
    /// It does not; the faults were left as written and only parameters shrunk.
    DoesNotReproduce {
        /// Why.
        reason: String,
    },
}

/// What a shrink found.
#[derive(Debug, Clone, Serialize)]
pub struct ShrinkReport {
    /// The original scenario's name.
    pub scenario: String,
    /// Where it came from.
    pub source: String,
    /// The seed.
    pub seed: u64,
    /// Bugs switched on beyond the scenario's own.
    pub bugs: Vec<String>,
    /// The invariant every accepted candidate fails (the original's first failure).
    pub invariant: &'static str,
    /// The original.
    pub before: Size,
    /// The shrunk scenario.
    pub after: Size,
    /// Simulation runs taken (the original's included).
    pub runs: u32,
    /// True when the budget ran out before every step finished: smaller may exist.
    pub budget_exhausted: bool,
    /// Whether the faults were made explicit.
    pub explicit: ExplicitSchedule,
    /// One line per step: what it changed and how many runs it took.
    pub steps: Vec<String>,
    /// The shrunk scenario file (without the header).
    #[serde(skip)]
    body: String,
}

impl ShrinkReport {
    /// The shrunk scenario file, with a header saying where it came from and how to run it.
    pub fn file_text(&self, path: &str) -> String {
        format!(
            "# Shrunk by `faultlab shrink` from {} seed {}: still fails `{}`.\n# {}\n\
             # Reproduce: faultlab run --scenario {path} --seeds {}..={}{}\n\n{}",
            self.source,
            self.seed,
            self.invariant,
            self,
            self.seed,
            self.seed,
            self.bug_flags(),
            self.body
        )
    }

    fn bug_flags(&self) -> String {
        self.bugs.iter().map(|b| format!(" --bug {b}")).collect()
    }
}

/// The one-line result.
impl fmt::Display for ShrinkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (b, a) = (&self.before, &self.after);
        write!(
            f,
            "shrank {} seed {}{} (fails {}): faults {} → {}, operations {} → {}, \
             simulated {} → {} ms, nodes {} → {}, clients {} → {} in {} runs",
            self.scenario,
            self.seed,
            self.bug_flags(),
            self.invariant,
            b.faults,
            a.faults,
            b.ops,
            a.ops,
            b.simulated_ms,
            a.simulated_ms,
            b.nodes,
            a.nodes,
            b.clients,
            a.clients,
            self.runs
        )?;
        if self.budget_exhausted {
            write!(f, " (run budget reached: not minimal)")?;
        }
        if let ExplicitSchedule::DoesNotReproduce { reason } = &self.explicit {
            write!(f, " (faults kept as written: {reason})")?;
        }
        Ok(())
    }
}

/// Shrinks the failing run at `opts.seed` of `original`, a scenario read from `text` (its
/// file, whose service table the candidates keep as written).
pub fn shrink(
    original: &Scenario,
    text: &str,
    opts: &ShrinkOptions,
) -> Result<ShrinkReport, ShrinkError> {
    let source = original.source.as_str();
    let bugs: Vec<String> = opts.run.extra_bugs.iter().map(|b| b.to_string()).collect();
    let first = run_seed(original, opts.seed, &opts.run)?;
    let target = target_of(&first, original, opts.seed, &bugs)?;
    // Validation accepted the text, so it is a TOML table.
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ScenarioError::Io {
            file: source.to_string(),
            message: e.to_string(),
        })?;
    let before = Size::of(original, &first);
    let mut search = Search {
        opts,
        target,
        runs: 1,
        budget_exhausted: false,
        seen: BTreeMap::new(),
        best: prepared(doc, original, opts, target, &bugs),
        original,
        best_size: before,
        steps: Vec::new(),
    };
    // The prepared document runs exactly as the original (only name and description differ).
    search.seen.insert(search.best.render(), Some(before));
    let explicit = search.make_explicit(&first)?;
    let explicit_mode = matches!(explicit, ExplicitSchedule::Reproduces { .. });
    search.run_steps(explicit_mode)?;
    Ok(ShrinkReport {
        scenario: original.name.clone(),
        source: source.to_string(),
        seed: opts.seed,
        bugs,
        invariant: target,
        before,
        after: search.best_size,
        runs: search.runs,
        budget_exhausted: search.budget_exhausted,
        explicit,
        steps: search.steps,
        body: search.best.render(),
    })
}

/// The first failing invariant, or why there is none.
fn target_of(
    o: &RunOutcome,
    sc: &Scenario,
    seed: u64,
    bugs: &[String],
) -> Result<&'static str, ShrinkError> {
    if let Some(v) = o.failures().next() {
        return Ok(v.invariant);
    }
    let outcome = match (o.overall(), o.unknowns().next()) {
        (Overall::Unknown, Some(v)) => format!(
            "it ended unknown — {}: {} — and unknown is not a failure",
            v.invariant,
            v.outcome.message()
        ),
        _ => "every invariant passed".to_string(),
    };
    Err(ShrinkError::DoesNotFail {
        scenario: sc.source.clone(),
        seed,
        bugs: bugs.iter().map(|b| format!(" with --bug {b}")).collect(),
        outcome,
    })
}

/// The original document, renamed and described as a shrink of `sc`; `catches` dropped (a
/// shrunk file is not built to catch anything), the sizes written out.
fn prepared(
    doc: toml::Table,
    sc: &Scenario,
    opts: &ShrinkOptions,
    target: &str,
    bugs: &[String],
) -> Candidate {
    let (seed, opts_randomize) = (opts.seed, opts.run.randomize);
    let mut c = Candidate::new(doc);
    let with: String = bugs.iter().map(|b| format!(" --bug {b}")).collect();
    c.set(
        &["name"],
        Value::String(format!("{}-seed{seed}-shrunk", sc.name)),
    );
    c.set(
        &["description"],
        Value::String(format!(
            "{} seed {seed}{with}, shrunk: fails `{target}`",
            sc.name
        )),
    );
    c.remove("catches");
    // Knobs and BUGGIFY switched on from the command line belong in the file, so that it
    // reproduces on its own.
    let flags = opts_randomize;
    if flags.knobs {
        c.set(&["randomize", "knobs"], Value::Boolean(true));
    }
    if flags.buggify {
        c.set(&["randomize", "buggify"], Value::Boolean(true));
    }
    for (key, value) in [
        ("nodes", u64::from(sc.nodes)),
        ("clients", u64::from(sc.clients)),
        ("duration_ms", sc.duration_ms),
        ("liveness_ms", sc.liveness_ms),
    ] {
        c = c.with_int(&[key], value);
    }
    c
}

/// Where a shrink stands.
struct Search<'a> {
    opts: &'a ShrinkOptions,
    /// What candidates are re-read against (they run its service).
    original: &'a Scenario,
    target: &'static str,
    runs: u32,
    budget_exhausted: bool,
    /// Rendered candidate → its size when it fails the target, `None` when it does not (or is
    /// not a valid scenario).
    seen: BTreeMap<String, Option<Size>>,
    best: Candidate,
    best_size: Size,
    steps: Vec<String>,
}

const CANDIDATE_SOURCE: &str = "shrink candidate";

impl Search<'_> {
    /// Runs a candidate (a run from the budget), or `None` when it is not a valid scenario.
    fn run(&mut self, c: &Candidate) -> Result<Option<(Scenario, RunOutcome)>, ShrinkError> {
        let text = c.render();
        let Ok(sc) = self.original.reparse(&text, CANDIDATE_SOURCE, None) else {
            self.seen.insert(text, None);
            return Ok(None);
        };
        debug_assert!(self.runs < self.opts.runs_max);
        self.runs += 1;
        let o = run_seed(&sc, self.opts.seed, &self.opts.run)?;
        let fails = o
            .verdicts
            .iter()
            .any(|v| v.invariant == self.target && v.failed());
        self.seen.insert(text, fails.then(|| Size::of(&sc, &o)));
        Ok(Some((sc, o)))
    }

    /// Whether a candidate fails the target (from memory, or a run), and if so takes it.
    fn probe(&mut self, c: &Candidate) -> Result<Probe, ShrinkError> {
        let text = c.render();
        if !self.seen.contains_key(&text) {
            if self.runs >= self.opts.runs_max {
                self.budget_exhausted = true;
                return Ok(Probe::OutOfBudget);
            }
            self.run(c)?;
        }
        match self.seen.get(&text).copied().flatten() {
            Some(size) => {
                self.best = c.clone();
                self.best_size = size;
                Ok(Probe::Fails)
            }
            None => Ok(Probe::Passes),
        }
    }

    /// Step 2: the original's faults as an explicit schedule, if it still fails the target.
    fn make_explicit(&mut self, first: &RunOutcome) -> Result<ExplicitSchedule, ShrinkError> {
        let entries = match entries_from_log(first.log.records(), first.heal_at) {
            Ok(entries) => entries,
            Err(e) => {
                return Ok(ExplicitSchedule::DoesNotReproduce {
                    reason: e.to_string(),
                });
            }
        };
        let mut c = self.best.with_schedule(&entries);
        // `[expect]` minimums judge sweeps of the original; on a shrunk run they only add noise
        // (unless they are what fails).
        if self.target != "faults-observable" {
            c.remove("expect");
        }
        if self.runs >= self.opts.runs_max {
            self.budget_exhausted = true;
            return Ok(ExplicitSchedule::DoesNotReproduce {
                reason: "no run budget left to check the explicit schedule".into(),
            });
        }
        let Some((_, o)) = self.run(&c)? else {
            return Ok(ExplicitSchedule::DoesNotReproduce {
                reason: "the explicit schedule does not validate".into(),
            });
        };
        let faults = |o: &RunOutcome| -> Vec<(u64, crate::fault::Fault)> {
            o.log
                .records()
                .iter()
                .filter_map(|r| match &r.event {
                    crate::event::Event::Fault { action } => Some((r.time_ns.ns, action.clone())),
                    _ => None,
                })
                .collect()
        };
        let same_faults = faults(first) == faults(&o);
        if self.probe(&c)? != Probe::Fails {
            let got = o.failures().next().map_or_else(
                || {
                    let ends = match o.overall() {
                        Overall::Unknown => "unknown",
                        Overall::Pass | Overall::Fail => "passing",
                    };
                    format!("it ends {ends}")
                },
                |v| format!("it fails {} instead", v.invariant),
            );
            return Ok(ExplicitSchedule::DoesNotReproduce {
                reason: format!(
                    "the explicit schedule does not fail {} at this seed ({got}; same faults: {same_faults})",
                    self.target
                ),
            });
        }
        self.steps.push(format!(
            "explicit schedule: {} faults, {}, fails {}",
            entries.len(),
            if same_faults {
                "the same faults at the same times as the original"
            } else {
                "not quite the original's faults"
            },
            self.target
        ));
        Ok(ExplicitSchedule::Reproduces { same_faults })
    }

    /// Step 3, in an order that makes later runs cheap: the phases first, then the faults.
    fn run_steps(&mut self, explicit: bool) -> Result<(), ShrinkError> {
        self.step("duration_ms", |s| s.shrink_duration())?;
        self.step("liveness_ms", |s| {
            s.bisect(&["liveness_ms"], 0, |c, v| c.with_int(&["liveness_ms"], v))
        })?;
        if explicit {
            self.step("faults (ddmin)", |s| s.shrink_entries())?;
        }
        self.step("clients", |s| {
            s.bisect(&["clients"], 1, |c, v| c.with_int(&["clients"], v))
        })?;
        self.step("nodes", |s| {
            s.bisect(&["nodes"], 1, |c, v| {
                let c = c.with_int(&["nodes"], v);
                match c.schedule() {
                    Some(entries) => {
                        let nodes = u32::try_from(v).unwrap_or(u32::MAX);
                        c.with_schedule(&explicit::within(entries, nodes))
                    }
                    None => c,
                }
            })
        })?;
        if explicit {
            self.step("fault durations", |s| s.shrink_lasting())?;
        }
        self.step("think time", |s| s.shrink_think())?;
        if explicit {
            self.step("faults again (ddmin)", |s| s.shrink_entries())?;
        }
        Ok(())
    }

    /// Runs one step unless the budget is gone, and notes what it changed.
    fn step(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Self) -> Result<(), ShrinkError>,
    ) -> Result<(), ShrinkError> {
        if self.budget_exhausted {
            return Ok(());
        }
        let (runs, size) = (self.runs, self.best_size);
        f(self)?;
        if self.best_size != size {
            let (b, a) = (size, self.best_size);
            self.steps.push(format!(
                "{name}: faults {} → {}, operations {} → {}, simulated {} → {} ms, nodes {} → {}, clients {} → {} ({} runs)",
                b.faults, a.faults, b.ops, a.ops, b.simulated_ms, a.simulated_ms,
                b.nodes, a.nodes, b.clients, a.clients, self.runs - runs
            ));
        }
        Ok(())
    }

    /// Bisects the integer at `path` down towards `lowest`: tries `lowest`, then halves the
    /// gap, keeping every value that still fails. Stops when the gap is within 1/32 of the
    /// starting range (at least 1): about six runs.
    fn bisect(
        &mut self,
        path: &[&str],
        lowest: u64,
        make: impl Fn(&Candidate, u64) -> Candidate,
    ) -> Result<(), ShrinkError> {
        let Some(current) = self.best.int(path) else {
            return Ok(());
        };
        self.bisect_from(current, lowest, make)
    }

    fn bisect_from(
        &mut self,
        current: u64,
        lowest: u64,
        make: impl Fn(&Candidate, u64) -> Candidate,
    ) -> Result<(), ShrinkError> {
        if current <= lowest {
            return Ok(());
        }
        let base = self.best.clone();
        match self.probe(&make(&base, lowest))? {
            Probe::Fails | Probe::OutOfBudget => return Ok(()),
            Probe::Passes => {}
        }
        let (mut lo, mut hi) = (lowest, current);
        let close_enough = ((current - lowest) / 32).max(1);
        while hi - lo > close_enough {
            let mid = lo + (hi - lo) / 2;
            match self.probe(&make(&base, mid))? {
                Probe::Fails => hi = mid,
                Probe::Passes => lo = mid,
                Probe::OutOfBudget => break,
            }
        }
        Ok(())
    }
}
