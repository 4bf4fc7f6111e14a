//! The raw shape of a scenario file (`fault-scenarios/*.toml`), exactly as written: strict
//! (`deny_unknown_fields`) and with every default stated here. `validate.rs` turns it into a
//! [`super::Scenario`].

use crate::bugs::PlantedBug;
use crate::fault::PartitionKind;
use crate::rng::Probability;
use crate::services::ServiceKind;
use crate::services::idgen::IdgenConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Defaults to the file name without `.toml`.
    pub name: Option<String>,
    #[serde(default)]
    pub description: String,
    pub service: ServiceKind,
    pub nodes: u32,
    pub clients: u32,
    /// Simulated time with faults (the safety phase).
    pub duration_ms: u64,
    /// Simulated time after everything is healed (the liveness phase). Default 3000.
    #[serde(default = "default_liveness_ms")]
    pub liveness_ms: u64,
    /// Planted bugs switched on. Default none.
    #[serde(default)]
    pub bugs: Vec<PlantedBug>,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub disk: DiskConfig,
    #[serde(default)]
    pub workload: WorkloadConfig,
    #[serde(default)]
    pub faults: FaultsFile,
    #[serde(default)]
    pub expect: Expect,
    /// Options of the ID generator; only with `service = "idgen"`.
    pub idgen: Option<IdgenConfig>,
}

fn default_liveness_ms() -> u64 {
    3000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// The simulator's step. Messages are delivered on step boundaries. Default 1.
    pub tick_ms: u64,
    /// Base one-way latency bounds (the simulator draws from an exponential curve between
    /// them). Defaults 1 and 5.
    pub latency_ms_min: u64,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// Pause between a client's operations, drawn uniformly. Defaults 0 and 10.
    pub think_ms_min: u64,
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsFile {
    /// Faults at fixed times.
    pub schedule: Vec<ScheduleEntryFile>,
    /// A random swarm of faults drawn from the seed.
    pub random: Option<RandomFaults>,
}

/// Fault names as written in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultName {
    Partition,
    Heal,
    NetLoss,
    NetDuplicate,
    NetDelay,
    NetCalm,
    Crash,
    Restart,
    Pause,
    Resume,
    ClockOffset,
    ClockDrift,
    ClockJump,
}

/// One `[[faults.schedule]]` entry. Flat on purpose: which parameters a fault takes is checked
/// in `validate.rs`, which can then name the offending field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntryFile {
    pub at_ms: u64,
    pub fault: FaultName,
    pub kind: Option<PartitionKind>,
    /// Target node; when absent the nemesis picks one with its RNG.
    pub node: Option<u32>,
    pub from: Option<u32>,
    pub to: Option<u32>,
    pub probability: Option<Probability>,
    pub delay_ms_max: Option<u64>,
    pub offset_ms: Option<i64>,
    pub drift_ppm: Option<i64>,
    pub delta_ms: Option<i64>,
    /// Undo the fault after this long (partition → heal, pause → resume, net-* → net-calm).
    pub duration_ms: Option<u64>,
    /// For `crash`: restart the node after this long.
    pub down_ms: Option<u64>,
}

/// Random fault kinds for `[faults.random] kinds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RandomKind {
    Partition,
    NetLoss,
    NetDuplicate,
    NetDelay,
    Crash,
    Pause,
    ClockJump,
    ClockDrift,
    ClockOffset,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    pub kinds: Vec<RandomKind>,
    /// Mean time between fault starts; intervals are uniform in [0, 2 × mean]. Default 1000.
    #[serde(default = "d_mean_interval_ms")]
    pub mean_interval_ms: u64,
    /// No random fault starts before this. Default 200.
    #[serde(default = "d_start_ms")]
    pub start_ms: u64,
    /// How long a partition, pause, network rule or crash lasts. Defaults 200 and 2000.
    #[serde(default = "d_fault_ms_min")]
    pub fault_ms_min: u64,
    #[serde(default = "d_fault_ms_max")]
    pub fault_ms_max: u64,
    /// Partition shapes to draw from. Default: every shape the cluster size allows.
    #[serde(default)]
    pub partition_kinds: Vec<PartitionKind>,
    /// Defaults 0.2, 0.2, 0.5.
    #[serde(default = "d_p02")]
    pub loss_probability: Probability,
    #[serde(default = "d_p02")]
    pub duplicate_probability: Probability,
    #[serde(default = "d_p05")]
    pub delay_probability: Probability,
    /// Default 50.
    #[serde(default = "d_delay_ms_max")]
    pub delay_ms_max: u64,
    /// Clock jumps are drawn uniformly from [min, max]. Defaults −2000 and 2000.
    #[serde(default = "d_jump_min")]
    pub clock_jump_ms_min: i64,
    #[serde(default = "d_jump_max")]
    pub clock_jump_ms_max: i64,
    /// |drift| and |offset| bounds. Defaults 100000 ppm and 1000 ms.
    #[serde(default = "d_drift")]
    pub drift_ppm_max: i64,
    #[serde(default = "d_offset")]
    pub offset_ms_max: i64,
    /// At most this many nodes down or paused at once. Default: a minority, (nodes − 1) / 2.
    pub down_nodes_max: Option<u32>,
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

/// Minimum observable effects: a fault that silently never fires makes a scenario useless, so
/// scenarios state what their faults must have done. All default to 0 except `ops_ok_min` (1).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Expect {
    pub dropped_messages_min: u64,
    pub duplicated_messages_min: u64,
    pub delayed_messages_min: u64,
    pub crashes_min: u64,
    pub restarts_min: u64,
    pub pauses_min: u64,
    pub clock_jumps_backward_min: u64,
    pub clock_jumps_forward_min: u64,
    pub partitions_min: u64,
    pub unsynced_bytes_lost_min: u64,
    pub ops_ok_min: u64,
    pub ops_info_min: u64,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            dropped_messages_min: 0,
            duplicated_messages_min: 0,
            delayed_messages_min: 0,
            crashes_min: 0,
            restarts_min: 0,
            pauses_min: 0,
            clock_jumps_backward_min: 0,
            clock_jumps_forward_min: 0,
            partitions_min: 0,
            unsynced_bytes_lost_min: 0,
            ops_ok_min: 1,
            ops_info_min: 0,
        }
    }
}
