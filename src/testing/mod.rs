//! The test builder: sweeps of a service from `cargo test`, no scenario file needed.
//!
//! ```ignore
//! #[test]
//! fn survives_isolation_and_crashes() {
//!     Sim::<PbService>::new()
//!         .nodes(3)
//!         .clients(4)
//!         .safety_ms(6000)
//!         .isolate(1000, 0, 800)
//!         .crash(3000, 1, 500)
//!         .swarm(&[FaultKind::Pause, FaultKind::NetLoss])
//!         .seeds(0..50)
//!         .run()
//!         .assert_pass();
//! }
//! ```
//!
//! The builder writes a scenario — the same TOML a file would hold, validated by the same
//! parser (so its errors name the field) — and sweeps it. `FAULTLAB_SEED=N` replays one seed and
//! `FAULTLAB_SEEDS=A..B` sweeps a range, exactly as in faultlab's own sim-tests. When a seed
//! fails, [`SimReport::assert_pass`] writes the scenario file and that seed's records (summary,
//! history, events, `report.html`) under `target/faultlab/` and prints the `cargo test` line
//! and the replay command that reproduce it.

mod report;

pub use report::SimReport;

use crate::backend::BackendKind;
use crate::bugs::{Bug, BugSet};
use crate::fault::{FaultKind, PartitionKind};
use crate::plugin::{Registry, ServiceSpec};
use crate::runner::seeds::{SeedRange, seeds_from_env};
use crate::runner::sweep::sweep;
use crate::runner::{RandomizeFlags, RunOptions};
use crate::scenario::{Scenario, ScenarioError};
use serde::Serialize;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Seeds a builder sweeps unless told otherwise (or overridden by `FAULTLAB_SEED(S)`).
pub const SEEDS_DEFAULT: Range<u64> = 0..10;

/// A simulation test of service `S`, built in code. See the [module docs](self).
#[must_use = "a Sim does nothing until .run()"]
pub struct Sim<S: ServiceSpec> {
    doc: Table,
    schedule: Vec<Table>,
    registry: Registry,
    bugs: BugSet,
    seeds: SeedRange,
    backend: BackendKind,
    randomize: RandomizeFlags,
    jobs: Option<usize>,
    replay_program: Option<String>,
    /// The first mistake made while building (reported by `run`).
    error: Option<String>,
    _service: PhantomData<fn() -> S>,
}

impl<S: ServiceSpec> Default for Sim<S> {
    fn default() -> Self {
        Self::new()
    }
}

fn int(v: u64) -> Value {
    Value::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

impl<S: ServiceSpec> Sim<S> {
    /// 3 nodes, 3 clients, 5 s of faults then 3 s to recover, no faults yet, seeds 0..10.
    pub fn new() -> Self {
        let mut doc = Table::new();
        doc.insert("name".into(), Value::String(format!("{}-sim", S::NAME)));
        doc.insert("service".into(), Value::String(S::NAME.into()));
        doc.insert("nodes".into(), int(3));
        doc.insert("clients".into(), int(3));
        doc.insert("duration_ms".into(), int(5000));
        Sim {
            doc,
            schedule: Vec::new(),
            registry: Registry::new().with::<S>(),
            bugs: BugSet::new(),
            seeds: SeedRange {
                start: SEEDS_DEFAULT.start,
                end: SEEDS_DEFAULT.end,
            },
            backend: BackendKind::default(),
            randomize: RandomizeFlags::default(),
            jobs: None,
            replay_program: None,
            error: None,
            _service: PhantomData,
        }
    }

    /// Starts from a scenario's TOML text (as a file in `fault-scenarios/` holds it); builder
    /// calls then change it.
    pub fn from_toml(text: &str) -> Self {
        let mut sim = Self::new();
        match text.parse::<Table>() {
            Ok(doc) => {
                let mut doc = doc;
                if let Some(Value::Array(entries)) = doc
                    .get_mut("faults")
                    .and_then(|f| f.as_table_mut())
                    .and_then(|f| f.remove("schedule"))
                {
                    sim.schedule = entries
                        .into_iter()
                        .filter_map(|e| match e {
                            Value::Table(t) => Some(t),
                            _ => None,
                        })
                        .collect();
                }
                sim.doc = doc;
            }
            Err(e) => sim.fail(format!("scenario text: {e}")),
        }
        sim
    }

    /// Starts from a scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut sim = Self::from_toml(&text);
                if !sim.doc.contains_key("name") {
                    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                    sim = sim.name(&stem.unwrap_or_else(|| "scenario".into()));
                }
                sim
            }
            Err(e) => {
                let mut sim = Self::new();
                sim.fail(format!("{}: cannot read: {e}", path.display()));
                sim
            }
        }
    }

    fn fail(&mut self, message: String) {
        self.error.get_or_insert(message);
    }

    /// Sets any scenario field by its dotted path (`"network.latency_ms_max"`,
    /// `"workload.think_ms_max"`, `"randomize.knobs"`): for what has no method of its own.
    pub fn set(mut self, path: &str, value: impl Into<Value>) -> Self {
        let mut keys: Vec<&str> = path.split('.').collect();
        let Some(last) = keys.pop() else {
            return self;
        };
        let mut table = &mut self.doc;
        for k in keys {
            let entry = table
                .entry(k.to_string())
                .or_insert_with(|| Value::Table(Table::new()));
            match entry {
                Value::Table(t) => table = t,
                _ => {
                    self.fail(format!("{path}: {k} is not a table"));
                    return self;
                }
            }
        }
        table.insert(last.to_string(), value.into());
        self
    }

    /// The scenario's name (in summaries, file names and replay commands).
    pub fn name(self, name: &str) -> Self {
        self.set("name", name)
    }

    /// Server nodes (default 3).
    pub fn nodes(self, n: u32) -> Self {
        self.set("nodes", int(u64::from(n)))
    }

    /// Concurrent clients (default 3).
    pub fn clients(self, n: u32) -> Self {
        self.set("clients", int(u64::from(n)))
    }

    /// The safety phase, with faults (default 5000 ms).
    pub fn safety_ms(self, ms: u64) -> Self {
        self.set("duration_ms", int(ms))
    }

    /// The liveness phase after everything heals (default 3000 ms).
    pub fn liveness_ms(self, ms: u64) -> Self {
        self.set("liveness_ms", int(ms))
    }

    /// Clients pause between operations for a time drawn from `[min_ms, max_ms]`.
    pub fn think_ms(self, min_ms: u64, max_ms: u64) -> Self {
        self.set("workload.think_ms_min", int(min_ms))
            .set("workload.think_ms_max", int(max_ms))
    }

    /// An operation without a definite answer after this long is recorded `info`.
    pub fn timeout_ms(self, ms: u64) -> Self {
        self.set("workload.timeout_ms", int(ms))
    }

    /// One-way message latency bounds.
    pub fn latency_ms(self, min_ms: u64, max_ms: u64) -> Self {
        self.set("network.latency_ms_min", int(min_ms))
            .set("network.latency_ms_max", int(max_ms))
    }

    /// The service's options (its `[NAME]` table).
    pub fn options(mut self, opts: &S::Options) -> Self
    where
        S::Options: Serialize,
    {
        match Value::try_from(opts) {
            Ok(v) => self.doc.insert(S::NAME.into(), v),
            Err(e) => {
                self.fail(format!(
                    "[{}]: cannot write the options as TOML: {e}",
                    S::NAME
                ));
                None
            }
        };
        self
    }

    /// One `[[faults.schedule]]` entry as a scenario file writes it (`at_ms`, `fault`, and
    /// that fault's parameters).
    pub fn fault(mut self, entry: Table) -> Self {
        self.schedule.push(entry);
        self
    }

    fn entry(self, at_ms: u64, fault: FaultKind, params: &[(&str, Value)]) -> Self {
        let mut t = Table::new();
        t.insert("at_ms".into(), int(at_ms));
        t.insert("fault".into(), Value::String(fault.name().into()));
        for (k, v) in params {
            t.insert((*k).into(), v.clone());
        }
        self.fault(t)
    }

    /// Cuts `node` off from every other node at `at_ms` for `for_ms`.
    pub fn isolate(self, at_ms: u64, node: u32, for_ms: u64) -> Self {
        self.entry(
            at_ms,
            FaultKind::Partition,
            &[
                ("kind", Value::String(PartitionKind::Isolate.name().into())),
                ("node", int(u64::from(node))),
                ("duration_ms", int(for_ms)),
            ],
        )
    }

    /// A partition of shape `kind` (drawn by the seed) at `at_ms` for `for_ms`.
    pub fn partition(self, at_ms: u64, kind: PartitionKind, for_ms: u64) -> Self {
        self.entry(
            at_ms,
            FaultKind::Partition,
            &[
                ("kind", Value::String(kind.name().into())),
                ("duration_ms", int(for_ms)),
            ],
        )
    }

    /// Crashes `node` at `at_ms` (unsynced writes are lost) and restarts it `down_ms` later.
    pub fn crash(self, at_ms: u64, node: u32, down_ms: u64) -> Self {
        self.entry(
            at_ms,
            FaultKind::Crash,
            &[("node", int(u64::from(node))), ("down_ms", int(down_ms))],
        )
    }

    /// Pauses `node`'s process at `at_ms` for `for_ms` (a GC pause, a SIGSTOP).
    pub fn pause(self, at_ms: u64, node: u32, for_ms: u64) -> Self {
        self.entry(
            at_ms,
            FaultKind::Pause,
            &[("node", int(u64::from(node))), ("duration_ms", int(for_ms))],
        )
    }

    /// Steps `node`'s wall clock by `delta_ms` (negative: backwards) at `at_ms`.
    pub fn clock_jump(self, at_ms: u64, node: u32, delta_ms: i64) -> Self {
        self.entry(
            at_ms,
            FaultKind::ClockJump,
            &[
                ("node", int(u64::from(node))),
                ("delta_ms", Value::Integer(delta_ms)),
            ],
        )
    }

    /// Loses each message with `probability` from `at_ms` for `for_ms`.
    pub fn net_loss(self, at_ms: u64, probability: f64, for_ms: u64) -> Self {
        self.entry(
            at_ms,
            FaultKind::NetLoss,
            &[
                ("probability", Value::Float(probability)),
                ("duration_ms", int(for_ms)),
            ],
        )
    }

    /// A random swarm of these fault kinds, drawn per seed (`[faults.random]`, its other
    /// settings at their defaults; change them with [`Sim::set`], e.g.
    /// `.set("faults.random.mean_interval_ms", 300)`).
    pub fn swarm(self, kinds: &[FaultKind]) -> Self {
        let names: Vec<Value> = kinds
            .iter()
            .map(|k| Value::String(k.name().into()))
            .collect();
        self.set("faults.random.kinds", Value::Array(names))
    }

    /// At least `min` of a counter in every run (`[expect] <counter>_min`): the proof that a
    /// fault really happened, e.g. `expect_min("crashes", 1)`.
    pub fn expect_min(self, counter: &str, min: u64) -> Self {
        self.set(&format!("expect.{counter}_min"), int(min))
    }

    /// Switches a planted bug on (repeatable).
    pub fn bug(mut self, bug: Bug) -> Self {
        if S::BUGS.contains(&bug) {
            self.bugs.insert(bug);
        } else {
            self.fail(format!("bug {bug} is not a planted bug of {}", S::NAME));
        }
        self
    }

    /// Draws the service's knobs per seed (`[randomize] knobs`).
    pub fn knobs(mut self) -> Self {
        self.randomize.knobs = true;
        self
    }

    /// Switches BUGGIFY points on.
    pub fn buggify(mut self) -> Self {
        self.randomize.buggify = true;
        self
    }

    /// The seeds to sweep (default [`SEEDS_DEFAULT`]); `FAULTLAB_SEED` / `FAULTLAB_SEEDS`
    /// override them.
    pub fn seeds(mut self, seeds: Range<u64>) -> Self {
        self.seeds = SeedRange {
            start: seeds.start,
            end: seeds.end,
        };
        self
    }

    /// The simulator (default turmoil; madsim needs a `--cfg madsim` build).
    pub fn backend(mut self, backend: BackendKind) -> Self {
        self.backend = backend;
        self
    }

    /// Seeds run in parallel (default: the machine's cores).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// How a failing seed's replay command starts: the crate's own binary built on
    /// [`crate::cli::main_with`], e.g. `"cargo run --bin pb-lab --"`.
    pub fn replay_with(mut self, program: &str) -> Self {
        self.replay_program = Some(program.to_string());
        self
    }

    /// The scenario as TOML text (what a failing run writes next to its records).
    pub fn toml(&self) -> String {
        let mut doc = self.doc.clone();
        if !self.schedule.is_empty() {
            let entries = self.schedule.iter().cloned().map(Value::Table).collect();
            let faults = doc
                .entry("faults".to_string())
                .or_insert_with(|| Value::Table(Table::new()));
            if let Value::Table(f) = faults {
                f.insert("schedule".into(), Value::Array(entries));
            }
        }
        doc.to_string()
    }

    /// Where a failing run's scenario file and records go.
    fn out_dir() -> PathBuf {
        if let Ok(dir) = std::env::var("FAULTLAB_OUT") {
            return PathBuf::from(dir);
        }
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .or_else(|_| std::env::var("CARGO_MANIFEST_DIR").map(|d| Path::new(&d).join("target")));
        target
            .unwrap_or_else(|_| std::env::temp_dir())
            .join("faultlab")
    }

    /// The validated scenario (as `run` would sweep it).
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        if let Some(e) = &self.error {
            return Err(ScenarioError::Io {
                file: "<builder>".into(),
                message: e.clone(),
            });
        }
        let name = self
            .doc
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("scenario")
            .to_string();
        let source = Self::out_dir().join(format!("{name}.toml"));
        self.registry
            .parse_scenario(&self.toml(), &source.display().to_string(), Some(&name))
    }

    /// Runs `seed` twice and compares the two event logs record by record: a service (or a
    /// dependency of it) that reads the machine's clock, a thread RNG or a randomly seeded
    /// map's order would replay differently — the one failure replay cannot survive.
    ///
    /// # Panics
    /// When the runs part (naming the first record that differs), or the scenario is invalid.
    pub fn assert_deterministic(&self, seed: u64) {
        let scenario = self.scenario().unwrap_or_else(|e| panic!("{e}"));
        let opts = RunOptions {
            extra_bugs: self.bugs.clone(),
            randomize: self.randomize,
            backend: self.backend,
            ..RunOptions::default()
        };
        match crate::runner::determinism::check_determinism(&scenario, seed, &opts) {
            Ok(Ok(_)) => {}
            Ok(Err(divergence)) => panic!("{}: {divergence}", scenario.name),
            Err(e) => panic!("{} seed {seed}: harness error: {e}", scenario.name),
        }
    }

    /// Sweeps the seeds.
    ///
    /// # Panics
    /// When the scenario is invalid (the message names the field), or the simulator itself
    /// fails (a harness error, not a finding).
    pub fn run(self) -> SimReport {
        let scenario = self.scenario().unwrap_or_else(|e| panic!("{e}"));
        let seeds = seeds_from_env(self.seeds).unwrap_or_else(|e| panic!("{e}"));
        let opts = RunOptions {
            extra_bugs: self.bugs.clone(),
            randomize: self.randomize,
            backend: self.backend,
            ..RunOptions::default()
        };
        let jobs = self
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        let results = sweep(&scenario, seeds, &opts, jobs, &|_| {})
            .unwrap_or_else(|e| panic!("{}: harness error: {e}", scenario.name));
        SimReport::new(
            scenario,
            self.toml(),
            opts,
            results,
            self.replay_program,
            Self::out_dir(),
        )
    }
}
