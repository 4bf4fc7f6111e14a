//! The runner: builds a world from (scenario, seed), drives simulated time, lets the nemesis
//! act, then hands the records to the invariants. One runner for every service — a service
//! plugs in with its core type, its workload and its invariants.

pub mod report;
pub mod seeds;
pub mod stats;
pub mod sweep;

use crate::backend::turmoil::{HostSetup, SimOptions, TurmoilDriver};
use crate::backend::{DriverError, SimDriver};
use crate::bugs::BugSet;
use crate::client::{ClientConfig, Workload};
use crate::event::{Digest, EventLog};
use crate::history::History;
use crate::invariants::{self, Outcome, RunRecords, Tag, Verdict};
use crate::nemesis::Nemesis;
use crate::node::service::Service;
use crate::rng::component_rng;
use crate::scenario::Scenario;
use crate::services::ServiceConfig;
use crate::services::idgen::{IdGen, IdgenWorkload};
use crate::time::{LocalInstant, SimTime};
use crate::world::{WorldConfig, WorldState};
use rand::Rng;
use stats::RunStats;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;
use thiserror::Error;

/// What an unskewed wall clock reads at true time zero: 2026-01-01T00:00:00Z. Fixed, because
/// a run must not depend on when it runs.
pub const EPOCH_UNIX_NS: i64 = 1_767_225_600_000_000_000;

/// Bound on the event log of one run.
pub const EVENTS_MAX_DEFAULT: usize = 5_000_000;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Bugs switched on in addition to the scenario's own.
    pub extra_bugs: BugSet,
    pub events_max: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            extra_bugs: BugSet::new(),
            events_max: EVENTS_MAX_DEFAULT,
        }
    }
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error("{0}")]
    Driver(#[from] DriverError),
}

/// Everything a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub scenario: String,
    pub source: String,
    pub seed: u64,
    pub bugs: BugSet,
    pub digest: Digest,
    pub stats: RunStats,
    pub verdicts: Vec<Verdict>,
    pub log: EventLog,
    pub history: History,
    pub heal_at: SimTime,
}

impl RunOutcome {
    pub fn failures(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.failed())
    }

    pub fn failed(&self) -> bool {
        self.failures().next().is_some()
    }
}

/// Runs one seed of a scenario.
pub fn run_seed(scenario: &Scenario, seed: u64, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let bugs: BugSet = scenario.bugs.union(&opts.extra_bugs).copied().collect();
    let world = Rc::new(RefCell::new(new_world(scenario, seed, opts)));
    let heal_at = SimTime::from_ms(scenario.duration_ms);
    // A panic in a service (a tripped assertion) is a finding, not a harness crash.
    let ran = catch_unwind(AssertUnwindSafe(|| match &scenario.service {
        ServiceConfig::Idgen(cfg) => simulate::<IdGen, IdgenWorkload>(
            scenario,
            seed,
            &bugs,
            cfg.clone(),
            IdgenWorkload,
            &world,
        ),
    }));
    let panic_message = match ran {
        Ok(result) => {
            result?;
            None
        }
        Err(payload) => Some(panic_text(payload.as_ref())),
    };
    let mut state = Rc::try_unwrap(world)
        .map(RefCell::into_inner)
        .map_err(|_| DriverError::Sim {
            at: heal_at,
            message: "simulator still holds the world after the run".into(),
        })?;
    state.log.sort_by_time();
    let stats = RunStats::from_events(state.log.records());
    let records = RunRecords {
        scenario,
        history: &state.history,
        events: state.log.records(),
        stats: &stats,
        events_overflowed: state.log.overflowed(),
        heal_at,
    };
    let mut verdicts =
        invariants::check_all(&invariants::for_service(scenario.service.kind()), &records);
    verdicts.push(Verdict {
        invariant: "no-panic",
        tag: Tag::Always,
        outcome: panic_message.map_or(Outcome::Pass, |m| {
            Outcome::Fail(format!("a node panicked: {m}"))
        }),
    });
    Ok(RunOutcome {
        scenario: scenario.name.clone(),
        source: scenario.source.clone(),
        seed,
        bugs,
        digest: state.log.digest(),
        stats,
        verdicts,
        log: state.log,
        history: state.history,
        heal_at,
    })
}

fn new_world(scenario: &Scenario, seed: u64, opts: &RunOptions) -> WorldState {
    let cfg = WorldConfig {
        nodes: scenario.nodes,
        clients: scenario.clients,
        epoch_unix_ns: EPOCH_UNIX_NS,
        events_max: opts.events_max,
    };
    // Monotonic clocks start at arbitrary boot times, as on real machines.
    let mut boot = component_rng(seed, "boot", 0);
    let starts: Vec<LocalInstant> = (0..scenario.nodes)
        .map(|_| LocalInstant {
            ns: boot.random_range(0..1_000_000_000_000),
        })
        .collect();
    WorldState::new(&cfg, component_rng(seed, "net", 0), &starts)
}

fn simulate<S, W>(
    scenario: &Scenario,
    seed: u64,
    bugs: &BugSet,
    service_cfg: S::Config,
    workload: W,
    world: &Rc<RefCell<WorldState>>,
) -> Result<(), RunError>
where
    S: Service,
    W: Workload<S> + Clone,
{
    let setup = Rc::new(HostSetup::<S, W> {
        seed,
        nodes: scenario.nodes,
        clients: scenario.clients,
        service_cfg,
        bugs: bugs.clone(),
        client: ClientConfig {
            nodes: scenario.node_ids(),
            process_stride: u64::from(scenario.clients),
            think_ms_min: scenario.workload.think_ms_min,
            think_ms_max: scenario.workload.think_ms_max,
            timeout_ms: scenario.workload.timeout_ms,
        },
        workload,
        inbox_capacity: scenario.network.inbox_capacity,
        fsync: Duration::from_millis(scenario.disk.fsync_ms),
    });
    let opts = SimOptions {
        tick: Duration::from_millis(scenario.network.tick_ms),
        latency_min: Duration::from_millis(scenario.network.latency_ms_min),
        latency_max: Duration::from_millis(scenario.network.latency_ms_max),
        epoch_unix_ns: EPOCH_UNIX_NS,
        horizon: Duration::from_millis(scenario.total_ms()) + Duration::from_secs(3600),
    };
    let mut driver = TurmoilDriver::build(setup, world.clone(), &opts);
    let mut nemesis = Nemesis::new(scenario, seed);
    let heal_at = SimTime::from_ms(scenario.duration_ms);
    let end = SimTime::from_ms(scenario.total_ms());
    let mut healed = false;
    while driver.now() < end {
        let now = driver.now();
        if healed {
            // liveness phase: no faults
        } else if now >= heal_at {
            nemesis.heal_all(&mut driver, world, now);
            healed = true;
        } else {
            nemesis.apply_due(&mut driver, world, now);
        }
        driver.step()?;
    }
    world.borrow_mut().clients_stop = true;
    Ok(())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
