//! The raw shape of a scenario file (`fault-scenarios/*.toml`), exactly as written: strict
//! (`deny_unknown_fields`) and with every default stated here. `validate.rs` turns it into a
//! [`super::Scenario`]. The service's own table (`[idgen]`, `[kv]`, ...) is not here: it is
//! taken out before this is deserialized and read by the service's plug-in.

use crate::fault::{FaultKind, PartitionKind};
use crate::rng::Probability;
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

/// One `[[faults.schedule]]` entry. Flat on purpose: which parameters a fault takes is checked
/// in `validate.rs`, which can then name the offending field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntryFile {
    /// When it fires (true time).
    pub at_ms: u64,
    /// The fault's kind.
    pub fault: FaultKind,
    /// For partition: its shape.
    pub kind: Option<PartitionKind>,
    /// Target node; when absent the nemesis picks one with its RNG.
    pub node: Option<u32>,
    /// For partition: the exact directed links `[from, to]` to cut instead of drawing the
    /// shape (how `faultlab shrink` writes a resolved partition back).
    pub cut: Option<Vec<[u32; 2]>>,
    /// For net-* faults: the sending node (default any).
    pub from: Option<u32>,
    /// For net-* faults: the receiving node (default any).
    pub to: Option<u32>,
    /// For net-* faults.
    pub probability: Option<Probability>,
    /// For net-delay.
    pub delay_ms_max: Option<u64>,
    /// For clock-offset.
    pub offset_ms: Option<i64>,
    /// For clock-drift.
    pub drift_ppm: Option<i64>,
    /// For clock-jump.
    pub delta_ms: Option<i64>,
    /// For disk-slow: extra time per sync.
    pub delay_ms: Option<u64>,
    /// For disk-corrupt: the file (default: drawn among the node's files when it fires).
    pub file: Option<String>,
    /// For disk-corrupt with a `file`: the bit to flip, from the file's first byte (default:
    /// drawn when it fires). What `faultlab shrink` writes to make a corruption exact.
    pub bit: Option<u64>,
    /// Undo the fault after this long (partition → heal, pause → resume, net-* → net-calm).
    pub duration_ms: Option<u64>,
    /// For `crash`: restart the node after this long.
    pub down_ms: Option<u64>,
}

/// `[faults.random]`: the swarm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    /// Fault kinds to draw from (only kinds that start something: not heal, net-calm,
    /// restart or resume).
    pub kinds: Vec<FaultKind>,
    /// Mean time between fault starts; intervals are uniform in [0, 2 × mean]. Default 1000.
    #[serde(default = "d_mean_interval_ms")]
    pub mean_interval_ms: u64,
    /// No random fault starts before this. Default 200.
    #[serde(default = "d_start_ms")]
    pub start_ms: u64,
    /// How long a partition, pause, network rule or crash lasts. Defaults 200 and 2000.
    #[serde(default = "d_fault_ms_min")]
    pub fault_ms_min: u64,
    /// See `fault_ms_min`.
    #[serde(default = "d_fault_ms_max")]
    pub fault_ms_max: u64,
    /// Partition shapes to draw from. Default: every shape the cluster size allows.
    #[serde(default)]
    pub partition_kinds: Vec<PartitionKind>,
    /// Defaults 0.2, 0.2, 0.5.
    #[serde(default = "d_p02")]
    pub loss_probability: Probability,
    /// Chance a message is duplicated while a net-duplicate rule lasts.
    #[serde(default = "d_p02")]
    pub duplicate_probability: Probability,
    /// Chance a message is delayed while a net-delay rule lasts.
    #[serde(default = "d_p05")]
    pub delay_probability: Probability,
    /// Chance a message is corrupted in flight while a net-corrupt rule lasts. Default 0.1.
    #[serde(default = "d_p01")]
    pub corrupt_probability: Probability,
    /// Default 50.
    #[serde(default = "d_delay_ms_max")]
    pub delay_ms_max: u64,
    /// Clock jumps are drawn uniformly from [min, max]. Defaults −2000 and 2000.
    #[serde(default = "d_jump_min")]
    pub clock_jump_ms_min: i64,
    /// See `clock_jump_ms_min`.
    #[serde(default = "d_jump_max")]
    pub clock_jump_ms_max: i64,
    /// |drift| and |offset| bounds. Defaults 100000 ppm and 1000 ms.
    #[serde(default = "d_drift")]
    pub drift_ppm_max: i64,
    /// |offset| bound (see `drift_ppm_max`).
    #[serde(default = "d_offset")]
    pub offset_ms_max: i64,
    /// At most this many nodes down or paused at once. Default: a minority, (nodes − 1) / 2.
    pub down_nodes_max: Option<u32>,
    /// A disk-slow rule adds a delay drawn uniformly from [1, this] to each sync. Default 200.
    #[serde(default = "d_disk_slow_ms_max")]
    pub disk_slow_ms_max: u64,
}

fn d_disk_slow_ms_max() -> u64 {
    200
}

fn d_mean_interval_ms() -> u64 {
    1000
}
fn d_start_ms() -> u64 {
    200
}
fn d_fault_ms_min() -> u64 {
    200
}
fn d_fault_ms_max() -> u64 {
    2000
}
fn d_p02() -> Probability {
    Probability::from_f64(0.2).unwrap_or(Probability::NEVER)
}
fn d_p01() -> Probability {
    Probability::from_f64(0.1).unwrap_or(Probability::NEVER)
}
fn d_p05() -> Probability {
    Probability::from_f64(0.5).unwrap_or(Probability::NEVER)
}
fn d_delay_ms_max() -> u64 {
    50
}
fn d_jump_min() -> i64 {
    -2000
}
fn d_jump_max() -> i64 {
    2000
}
fn d_drift() -> i64 {
    100_000
}
fn d_offset() -> i64 {
    1000
}
