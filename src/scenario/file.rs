//! The raw shape of a scenario file (`fault-scenarios/*.toml`), exactly as written: strict
//! (`deny_unknown_fields`) and with every default stated here. `validate.rs` turns it into a
//! [`super::Scenario`]. The service's own table (`[idgen]`, `[kv]`, ...) is not here: it is
//! taken out before this is deserialized and read by the service's plug-in.

pub use crate::fault::schedule::ScheduleEntryFile;
pub use crate::fault::swarm::RandomFaults;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A scenario file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Defaults to the file name without `.toml`.
    pub name: Option<String>,
    /// One line: what the scenario is for.
    #[serde(default)]
    pub description: String,
    /// A registered service's name (checked in `validate.rs`, which can list the known ones).
    pub service: String,
    /// Cluster size (1–64).
    pub nodes: u32,
    /// Concurrent clients (1–1024).
    pub clients: u32,
    /// Simulated time with faults (the safety phase).
    pub duration_ms: u64,
    /// Simulated time after everything is healed (the liveness phase). Default 3000.
    #[serde(default = "default_liveness_ms")]
    pub liveness_ms: u64,
    /// Planted bugs switched on, by name. Default none.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// Planted bugs this scenario is built to catch: with one of them switched on, some seed
    /// must fail (the negative tests and `faultlab bench bugs` run these). Default none.
    #[serde(default)]
    pub catches: Vec<String>,
    /// `[network]`.
    #[serde(default)]
    pub network: NetworkConfig,
    /// `[disk]`.
    #[serde(default)]
    pub disk: DiskConfig,
    /// `[workload]`.
    #[serde(default)]
    pub workload: WorkloadConfig,
    /// `[faults]`: schedule and swarm.
    #[serde(default)]
    pub faults: FaultsFile,
    /// `[randomize]`: knobs drawn per seed, BUGGIFY points. Default: neither.
    #[serde(default)]
    pub randomize: Randomize,
    /// Minimum observable effects, `<counter>_min = N` (see `counters.rs`), and a `notes`
    /// table of minimums on service notes (rare paths), judged over a sweep. Default:
    /// `ops_ok_min = 1`, nothing else.
    #[serde(default)]
    pub expect: BTreeMap<String, ExpectEntry>,
}

/// `[randomize]`: FoundationDB's two tools for reaching rare states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Randomize {
    /// Draw each of the service's declared knobs (its tunables, within their safe ranges) per
    /// seed, instead of the scenario's values. Default false.
    pub knobs: bool,
    /// Switch the services' BUGGIFY points on: each is active in a seed with probability 1/4,
    /// and an active one fires with `buggify_fire_permille`. Default false.
    pub buggify: bool,
    /// Default 50 (5 %).
    pub buggify_fire_permille: u32,
}

impl Default for Randomize {
    fn default() -> Self {
        Randomize {
            knobs: false,
            buggify: false,
            buggify_fire_permille: 50,
        }
    }
}

/// One `[expect]` entry: a counter minimum, or the `notes` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ExpectEntry {
    /// `<counter>_min = N`.
    Min(u64),
    /// `[expect.notes]`: `"label" = N`.
    Notes(BTreeMap<String, u64>),
}

fn default_liveness_ms() -> u64 {
    3000
}

/// `[network]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// The simulator's step. Messages are delivered on step boundaries. Default 1.
    pub tick_ms: u64,
    /// Base one-way latency bounds (the simulator draws from an exponential curve between
    /// them). Defaults 1 and 5.
    pub latency_ms_min: u64,
    /// See `latency_ms_min`.
    pub latency_ms_max: u64,
    /// Messages a node buffers while busy or paused; beyond it they are dropped. Default 1024.
    pub inbox_capacity: usize,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            tick_ms: 1,
            latency_ms_min: 1,
            latency_ms_max: 5,
            inbox_capacity: 1024,
        }
    }
}

/// `[disk]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskConfig {
    /// How long an fsync takes. Default 2.
    pub fsync_ms: u64,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig { fsync_ms: 2 }
    }
}

/// `[workload]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// Pause between a client's operations, drawn uniformly. Defaults 0 and 10.
    pub think_ms_min: u64,
    /// Pause between a client's operations, upper bound.
    pub think_ms_max: u64,
    /// A client gives up on a request after this long and records it as `info`. Default 200.
    pub timeout_ms: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            think_ms_min: 0,
            think_ms_max: 10,
            timeout_ms: 200,
        }
    }
}

/// `[faults]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsFile {
    /// Faults at fixed times.
    pub schedule: Vec<ScheduleEntryFile>,
    /// A random swarm of faults drawn from the seed.
    pub random: Option<RandomFaults>,
}
