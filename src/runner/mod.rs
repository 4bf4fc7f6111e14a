//! The runner: builds a world from (scenario, seed), drives simulated time on the chosen
//! backend, lets the nemesis act, then hands the records to the invariants. One runner for
//! every service and every backend: a service plugs in through its [`ServiceSpec`], a
//! simulator through its [`Backend`].

pub mod coverage;
pub mod determinism;
pub mod report;
pub mod seeds;
pub mod sweep;

use crate::backend::madsim::{self, MadsimBackend};
use crate::backend::sim::panic_text;
use crate::backend::turmoil::TurmoilBackend;
use crate::backend::{Backend, BackendKind, DriverError, HostSetup, SimDriver, SimOptions};
use crate::buggify::Buggify;
use crate::bugs::BugSet;
use crate::client::ClientConfig;
use crate::counters::Counters;
use crate::event::{Digest, EventLog};
use crate::fault::FaultSpec;
use crate::history::History;
use crate::invariants::{self, Evidence, Outcome, Overall, RunRecords, Tag, Verdict};
use crate::nemesis::Nemesis;
use crate::plugin::ServiceSpec;
use crate::plugin::knobs::KnobValue;
use crate::rng::RunSeeds;
use crate::scenario::Scenario;
use crate::time::{LocalInstant, SimTime, set_trace_now};
use crate::world::{AbstractStates, WorldConfig, WorldState};
use rand::Rng;
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

/// How to run, beyond what the scenario says.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Bugs switched on in addition to the scenario's own.
    pub extra_bugs: BugSet,
    /// `[randomize]` switches turned on in addition to the scenario's own.
    pub randomize: RandomizeFlags,
    /// Bound on the event log (hitting it makes `records-complete` unknown).
    pub events_max: usize,
    /// The simulator.
    pub backend: BackendKind,
    /// Ask every node for its abstract state after each handler ([`RunOutcome::abstract_states`]):
    /// guided exploration's coverage signal. Off by default: it costs a call per handler.
    pub abstract_states: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            extra_bugs: BugSet::new(),
            randomize: RandomizeFlags::default(),
            events_max: EVENTS_MAX_DEFAULT,
            backend: BackendKind::default(),
            abstract_states: false,
        }
    }
}

/// Knobs and BUGGIFY switched on from the command line (`--knobs`, `--buggify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RandomizeFlags {
    /// Draw the service's knobs per seed.
    pub knobs: bool,
    /// BUGGIFY points on.
    pub buggify: bool,
}

/// What a run drew beyond the scenario: knob values and the active BUGGIFY points.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Randomized {
    /// Knobs and BUGGIFY as switched on for the run (the scenario's and the command line's).
    pub flags: RandomizeFlags,
    /// Every knob drawn, with its value.
    pub knobs: Vec<KnobValue>,
    /// The BUGGIFY points active in this seed.
    pub buggify_active: Vec<&'static str>,
}

/// The harness (not the system under test) failed.
#[derive(Debug, Error)]
pub enum RunError {
    /// The simulator failed.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// Everything a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The scenario's name.
    pub scenario: String,
    /// Where the scenario came from.
    pub source: String,
    /// The run seed.
    pub seed: u64,
    /// The simulator it ran on.
    pub backend: BackendKind,
    /// Bugs switched on (the scenario's and the caller's).
    pub bugs: BugSet,
    /// The event log's digest: the run's fingerprint.
    pub digest: Digest,
    /// Counters computed from the event log.
    pub counters: Counters,
    /// Every invariant's verdict.
    pub verdicts: Vec<Verdict>,
    /// The event log, sorted by true time.
    pub log: EventLog,
    /// The client history.
    pub history: History,
    /// When the liveness phase began.
    pub heal_at: SimTime,
    /// What each failed invariant blames (by name; only those that blame something), for the
    /// run report to highlight. Not part of the digest or the summary.
    pub evidence: Vec<(&'static str, Evidence)>,
    /// Knob values and BUGGIFY points of this seed.
    pub randomized: Randomized,
    /// Abstract states the nodes reported (empty unless [`RunOptions::abstract_states`]). Not
    /// part of the digest: collecting them changes nothing in the run.
    pub abstract_states: AbstractStates,
}

impl RunOutcome {
    /// The failed verdicts.
    pub fn failures(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.failed())
    }

    /// The verdicts that could not be decided.
    pub fn unknowns(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.unknown())
    }

    /// The verdicts that are not a pass (failures and unknowns).
    pub fn not_passed(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.outcome != Outcome::Pass)
    }

    /// Fail if any verdict failed, else unknown if any is unknown, else pass.
    pub fn overall(&self) -> Overall {
        Overall::of(&self.verdicts)
    }

    /// True when an invariant failed.
    pub fn failed(&self) -> bool {
        self.overall() == Overall::Fail
    }
}

/// Runs one seed of a scenario.
pub fn run_seed(scenario: &Scenario, seed: u64, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    match opts.backend {
        // madsim takes over process-wide state (time, randomness, HashMap seeds) per thread.
        BackendKind::Madsim => madsim::isolate(|| run_seed_here(scenario, seed, opts)),
        BackendKind::Turmoil => run_seed_here(scenario, seed, opts),
    }
}

fn run_seed_here(
    scenario: &Scenario,
    seed: u64,
    opts: &RunOptions,
) -> Result<RunOutcome, RunError> {
    let bugs: BugSet = scenario.bugs.union(&opts.extra_bugs).copied().collect();
    let seeds = RunSeeds::new(seed);
    let flags = RandomizeFlags {
        knobs: scenario.randomize.knobs || opts.randomize.knobs,
        buggify: scenario.randomize.buggify || opts.randomize.buggify,
    };
    let mut randomized = Randomized {
        flags,
        ..Randomized::default()
    };
    let knobbed;
    let scenario = if flags.knobs {
        // The knobs' own RNG stream: nothing else shifts.
        let mut rng = crate::rng::component_rng(seed, "knobs", 0);
        let (service, knobs) =
            scenario
                .plugin()
                .draw_knobs(&scenario.service, scenario.shape(), &mut rng);
        randomized.knobs = knobs;
        knobbed = Scenario {
            service,
            ..scenario.clone()
        };
        &knobbed
    } else {
        scenario
    };
    let buggify = flags.buggify.then(|| {
        let b = Buggify::new(seed, scenario.randomize.buggify_fire_permille);
        randomized.buggify_active = b.active_points(scenario.plugin().buggify_points());
        b
    });
    let world = Rc::new(RefCell::new(new_world(scenario, &seeds, opts)));
    let heal_at = SimTime::from_ms(scenario.duration_ms);
    // A panic in a service (a tripped assertion) is a finding, not a harness crash.
    let ran = catch_unwind(AssertUnwindSafe(|| {
        scenario.plugin().simulate(
            &scenario.service,
            SimRun {
                scenario,
                seeds,
                bugs: &bugs,
                buggify,
                world: &world,
                backend: opts.backend,
            },
        )
    }));
    set_trace_now(None);
    // A panic the host software caught (the usual case), or one that unwound this far.
    let caught = world.borrow_mut().panic.take();
    let panic_message = match ran {
        Ok(result) => {
            result?;
            caught
        }
        Err(payload) => Some(caught.unwrap_or_else(|| panic_text(payload.as_ref()))),
    };
    let mut state = Rc::try_unwrap(world)
        .map(RefCell::into_inner)
        .map_err(|_| DriverError::Sim {
            at: heal_at,
            message: "simulator still holds the world after the run".into(),
        })?;
    state.log.sort_by_time();
    let counters = Counters::from_events(state.log.records());
    let scheduled: Vec<FaultSpec> = scenario.schedule.iter().map(|t| t.spec.clone()).collect();
    let records = RunRecords {
        history: &state.history,
        events: state.log.records(),
        counters: &counters,
        events_overflowed: state.log.overflowed(),
        heal_at,
        liveness_ms: scenario.liveness_ms,
        clients: scenario.clients,
        expect: &scenario.expect,
        scheduled: &scheduled,
    };
    let mut checks = scenario.plugin().invariants(&scenario.service);
    checks.extend(invariants::common());
    let (mut verdicts, evidence): (Vec<Verdict>, Vec<_>) = invariants::judge_all(&checks, &records)
        .into_iter()
        .map(|(v, e)| {
            let blamed = (v.failed() && !e.is_empty()).then_some((v.invariant, e));
            (v, blamed)
        })
        .unzip();
    let evidence = evidence.into_iter().flatten().collect();
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
        backend: opts.backend,
        bugs,
        digest: state.log.digest(),
        counters,
        verdicts,
        log: state.log,
        history: state.history,
        heal_at,
        evidence,
        randomized,
        abstract_states: state.sketches.unwrap_or_default(),
    })
}

fn new_world(scenario: &Scenario, seeds: &RunSeeds, opts: &RunOptions) -> WorldState {
    let cfg = WorldConfig {
        nodes: scenario.nodes,
        clients: scenario.clients,
        epoch_unix_ns: EPOCH_UNIX_NS,
        events_max: opts.events_max,
    };
    // Monotonic clocks start at arbitrary boot times, as on real machines.
    let mut boot = seeds.boot();
    let starts: Vec<LocalInstant> = (0..scenario.nodes)
        .map(|_| LocalInstant {
            ns: boot.random_range(0..1_000_000_000_000),
        })
        .collect();
    let mut world = WorldState::new(&cfg, seeds.net(), &starts);
    if opts.abstract_states {
        world.sketches = Some(AbstractStates::new());
    }
    world
}

/// What the runner hands a service to simulate one seed ([`crate::plugin::DynService::simulate`]).
pub struct SimRun<'a> {
    /// The scenario (its knobs already drawn).
    pub scenario: &'a Scenario,
    /// Every component's seed.
    pub seeds: RunSeeds,
    /// Planted bugs switched on.
    pub bugs: &'a BugSet,
    /// BUGGIFY, when the run has it.
    pub buggify: Option<Buggify>,
    /// The world the backend runs over.
    pub world: &'a Rc<RefCell<WorldState>>,
    /// The simulator.
    pub backend: BackendKind,
}

/// Runs the simulation of service `S` with options `opts` on the chosen backend.
pub(crate) fn simulate<S: ServiceSpec>(opts: &S::Options, run: SimRun<'_>) -> Result<(), RunError> {
    let sc = run.scenario;
    let shape = sc.shape();
    let client_opts = opts.clone();
    let client_bugs = run.bugs.clone();
    let setup = Rc::new(HostSetup::<S::Server, S::Client> {
        seeds: run.seeds,
        nodes: sc.nodes,
        clients: sc.clients,
        service_cfg: S::server_config(opts, &shape),
        bugs: run.bugs.clone(),
        buggify: run.buggify,
        client: ClientConfig {
            nodes: sc.node_ids(),
            process_stride: u64::from(sc.clients),
            think_ms_min: sc.workload.think_ms_min,
            think_ms_max: sc.workload.think_ms_max,
            timeout_ms: sc.workload.timeout_ms,
        },
        make_client: Box::new(move |c| S::client(&client_opts, &shape, c, &client_bugs)),
        inbox_capacity: sc.network.inbox_capacity,
        fsync: Duration::from_millis(sc.disk.fsync_ms),
    });
    let sim = SimOptions {
        tick: Duration::from_millis(sc.network.tick_ms),
        latency_min: Duration::from_millis(sc.network.latency_ms_min),
        latency_max: Duration::from_millis(sc.network.latency_ms_max),
        epoch_unix_ns: EPOCH_UNIX_NS,
        horizon: Duration::from_millis(sc.total_ms()) + Duration::from_secs(3600),
    };
    match run.backend {
        BackendKind::Turmoil => {
            let driver = TurmoilBackend::build(setup, run.world.clone(), &sim)?;
            drive(driver, sc, &run.seeds, run.world)
        }
        BackendKind::Madsim => {
            let driver = MadsimBackend::build(setup, run.world.clone(), &sim)?;
            drive(driver, sc, &run.seeds, run.world)
        }
    }
}

/// Drives time: the safety phase with the nemesis acting at its due times, heal everything,
/// then the liveness phase.
fn drive(
    mut driver: impl SimDriver,
    sc: &Scenario,
    seeds: &RunSeeds,
    world: &RefCell<WorldState>,
) -> Result<(), RunError> {
    let mut nemesis = Nemesis::new(sc, seeds);
    let heal_at = SimTime::from_ms(sc.duration_ms);
    let end = SimTime::from_ms(sc.total_ms());
    loop {
        let now = driver.now();
        set_trace_now(Some(now));
        if now >= heal_at {
            nemesis.heal_all(&mut driver, world, now);
            break;
        }
        if world.borrow().panic.is_some() {
            return Ok(());
        }
        nemesis.apply_due(&mut driver, world, now);
        let next = nemesis
            .next_due_ms()
            .map_or(heal_at, SimTime::from_ms)
            .min(heal_at);
        debug_assert!(next > now, "the nemesis left something due at {now}");
        driver.run_until(next)?;
    }
    if world.borrow().panic.is_none() {
        driver.run_until(end)?;
    }
    set_trace_now(Some(driver.now()));
    world.borrow_mut().clients_stop = true;
    Ok(())
}
