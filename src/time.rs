//! Typed time: true simulated time, node-local monotonic time and node-local wall time.
//!
//! Three clocks exist in a run and must never be mixed up: the simulator's true time (what the
//! event log and the history are stamped with), each node's local monotonic clock (leases,
//! timeouts) and each node's local wall clock (ID timestamps). All are integer nanoseconds so
//! arithmetic is exact and replayable.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// True simulated time since the start of the run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime {
    /// Nanoseconds.
    pub ns: u64,
}

impl SimTime {
    /// Time zero.
    pub const ZERO: SimTime = SimTime { ns: 0 };

    /// From a duration since the start.
    pub fn from_duration(d: Duration) -> Self {
        SimTime { ns: duration_ns(d) }
    }

    /// From milliseconds since the start.
    pub fn from_ms(ms: u64) -> Self {
        SimTime {
            ns: ms.saturating_mul(1_000_000),
        }
    }

    /// Whole milliseconds since the start.
    pub fn as_ms(self) -> u64 {
        self.ns / 1_000_000
    }

    /// Later by `d`.
    pub fn saturating_add(self, d: Duration) -> Self {
        SimTime {
            ns: self.ns.saturating_add(duration_ns(d)),
        }
    }

    /// Time since `earlier` (zero if later).
    pub fn saturating_since(self, earlier: SimTime) -> Duration {
        Duration::from_nanos(self.ns.saturating_sub(earlier.ns))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:03}s",
            self.ns / 1_000_000_000,
            (self.ns / 1_000_000) % 1000
        )
    }
}

/// A reading of a node's local monotonic clock. Never goes backwards on one node.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct LocalInstant {
    /// Nanoseconds.
    pub ns: u64,
}

impl LocalInstant {
    /// Later by `d`.
    pub fn saturating_add(self, d: Duration) -> Self {
        LocalInstant {
            ns: self.ns.saturating_add(duration_ns(d)),
        }
    }

    /// Time since `earlier` (zero if later).
    pub fn saturating_since(self, earlier: LocalInstant) -> Duration {
        Duration::from_nanos(self.ns.saturating_sub(earlier.ns))
    }
}

/// A reading of a node's local wall clock: nanoseconds since the Unix epoch as the node
/// believes it. May jump backwards.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct WallTime {
    /// Nanoseconds since the Unix epoch.
    pub ns: i64,
}

impl WallTime {
    /// Milliseconds since the Unix epoch, rounded towards negative infinity.
    pub fn as_unix_ms(self) -> i64 {
        self.ns.div_euclid(1_000_000)
    }
}

/// Both local clocks, read at one instant. Handlers get one reading per input so a handler is a
/// pure function of its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalNow {
    /// The local monotonic clock.
    pub mono: LocalInstant,
    /// The local wall clock.
    pub wall: WallTime,
}

/// Saturating conversion; a run never lasts 584 years.
pub fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

thread_local! {
    /// The true time the runner last saw on this thread, for stamping log lines written
    /// outside a simulated host. Only logging reads it; a run never does.
    static TRACE_NOW: std::cell::Cell<Option<SimTime>> = const { std::cell::Cell::new(None) };
}

/// Sets the time log lines outside a simulated host are stamped with (`None` outside a run).
pub fn set_trace_now(now: Option<SimTime>) {
    TRACE_NOW.with(|t| t.set(now));
}

/// The time set by [`set_trace_now`] on this thread.
pub fn trace_now() -> Option<SimTime> {
    TRACE_NOW.with(std::cell::Cell::get)
}
