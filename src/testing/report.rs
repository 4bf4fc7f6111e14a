//! What a builder's sweep found, and the assertions a test makes of it.

use crate::backend::BackendKind;
use crate::invariants::Overall;
use crate::report::write_run_dir;
use crate::runner::report::replay_command_for;
use crate::runner::sweep::SeedResult;
use crate::runner::{RunOptions, run_seed};
use crate::scenario::Scenario;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Every seed's result of a [`super::Sim`] sweep, in seed order.
#[derive(Debug)]
pub struct SimReport {
    scenario: Scenario,
    toml: String,
    opts: RunOptions,
    results: Vec<SeedResult>,
    replay_program: Option<String>,
    out_dir: PathBuf,
}

impl SimReport {
    pub(super) fn new(
        scenario: Scenario,
        toml: String,
        opts: RunOptions,
        results: Vec<SeedResult>,
        replay_program: Option<String>,
        out_dir: PathBuf,
    ) -> Self {
        SimReport {
            scenario,
            toml,
            opts,
            results,
            replay_program,
            out_dir,
        }
    }

    /// Each seed's digest, summary line, counters and the verdicts that did not pass.
    pub fn results(&self) -> &[SeedResult] {
        &self.results
    }

    /// The scenario that was swept.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Fail if any seed failed, else unknown if any seed is unknown, else pass.
    pub fn overall(&self) -> Overall {
        self.results
            .iter()
            .map(|r| r.overall)
            .max()
            .unwrap_or(Overall::Unknown)
    }

    /// The seeds on which an invariant failed.
    pub fn failing_seeds(&self) -> Vec<u64> {
        self.seeds_with(Overall::Fail)
    }

    /// The seeds that could not be decided (never a pass).
    pub fn unknown_seeds(&self) -> Vec<u64> {
        self.seeds_with(Overall::Unknown)
    }

    fn seeds_with(&self, overall: Overall) -> Vec<u64> {
        self.results
            .iter()
            .filter(|r| r.overall == overall)
            .map(|r| r.seed)
            .collect()
    }

    /// Asserts every seed passed: no failure and no unknown.
    ///
    /// # Panics
    /// Otherwise — after writing the scenario and the first bad seed's records (summary,
    /// history, events, `report.html`) under `target/faultlab/`, and with the lines that
    /// replay it.
    pub fn assert_pass(&self) {
        let bad: Vec<&SeedResult> = self
            .results
            .iter()
            .filter(|r| r.overall != Overall::Pass)
            .collect();
        let Some(first) = bad.first() else {
            assert!(
                !self.results.is_empty(),
                "{}: no seed ran",
                self.scenario.name
            );
            return;
        };
        let mut msg = format!(
            "{}: {} of {} seeds did not pass\n",
            self.scenario.name,
            bad.len(),
            self.results.len()
        );
        for r in bad.iter().take(10) {
            let _ = writeln!(msg, "  {}", r.line);
            for v in &r.not_passed {
                let _ = writeln!(
                    msg,
                    "      {} {}: {}",
                    v.outcome.status(),
                    v.invariant,
                    v.outcome.message()
                );
            }
        }
        msg.push_str(&self.reproduce(first.seed));
        panic!("{msg}");
    }

    /// Asserts some seed failed (a planted bug was caught) and that on that seed the service
    /// without the builder's bugs passes (the failure is the bug's, not a false alarm).
    /// Returns the seed.
    ///
    /// # Panics
    /// When no seed failed, or the correct service fails the same seed.
    pub fn assert_caught(&self) -> u64 {
        let Some(seed) = self.failing_seeds().first().copied() else {
            panic!(
                "{}: nothing failed in {} seeds with bugs [{}] (unknown: {:?})",
                self.scenario.name,
                self.results.len(),
                self.bug_names().join(", "),
                self.unknown_seeds()
            );
        };
        let correct = RunOptions {
            extra_bugs: Default::default(),
            ..self.opts.clone()
        };
        let o = run_seed(&self.scenario, seed, &correct)
            .unwrap_or_else(|e| panic!("{} seed {seed}: harness error: {e}", self.scenario.name));
        if o.overall() != Overall::Pass {
            let mut msg = format!(
                "{} seed {seed} fails with the bugs on, but without them it is {:?} too: \
                 the failure is not (only) the bug's\n  {}\n",
                self.scenario.name,
                o.overall(),
                crate::runner::report::summary_line(&o)
            );
            msg.push_str(&self.reproduce(seed));
            panic!("{msg}");
        }
        seed
    }

    fn bug_names(&self) -> Vec<&'static str> {
        self.opts.extra_bugs.iter().map(|b| b.name).collect()
    }

    /// Writes the scenario and `seed`'s records, and says how to replay it.
    fn reproduce(&self, seed: u64) -> String {
        let mut msg = String::new();
        let test = std::thread::current()
            .name()
            .filter(|n| *n != "main")
            .map(str::to_string);
        let pkg = std::env::var("CARGO_PKG_NAME").map_or(String::new(), |p| format!(" -p {p}"));
        let filter = test.map_or(String::new(), |t| format!(" -- {t} --exact"));
        let _ = writeln!(
            msg,
            "replay with:\n  FAULTLAB_SEED={seed} cargo test{pkg}{filter}"
        );
        let written = std::fs::create_dir_all(&self.out_dir)
            .and_then(|()| std::fs::write(&self.scenario.source, &self.toml));
        match written {
            Ok(()) => {
                if let Some(program) = &self.replay_program {
                    let cmd = replay_command_for(
                        program,
                        &self.scenario.source,
                        seed,
                        &self.opts.extra_bugs,
                        self.opts.backend,
                        self.opts.randomize,
                    );
                    let _ = writeln!(msg, "  {cmd}");
                }
                let _ = writeln!(msg, "scenario written to {}", self.scenario.source);
            }
            Err(e) => {
                let _ = writeln!(msg, "(cannot write {}: {e})", self.scenario.source);
            }
        }
        let dir = self
            .out_dir
            .join(format!("{}-seed{seed}", self.scenario.name));
        let program = self.replay_program.as_deref().unwrap_or("<your binary>");
        let recorded = run_seed(&self.scenario, seed, &self.opts)
            .map_err(|e| e.to_string())
            .and_then(|o| {
                write_run_dir(program, &self.scenario, &o, &dir).map_err(|e| e.to_string())
            });
        match recorded {
            Ok(()) => {
                let _ = writeln!(
                    msg,
                    "records of seed {seed} (summary.txt, history.jsonl, events.jsonl, \
                     report.html) in {}",
                    dir.display()
                );
            }
            Err(e) => {
                let _ = writeln!(msg, "(cannot record seed {seed}: {e})");
            }
        }
        if self.opts.backend != BackendKind::default() {
            let _ = writeln!(msg, "(backend {})", self.opts.backend);
        }
        msg
    }
}
