//! Options of the ID generator (`[idgen]` in a scenario file); every default is stated here.

use crate::services::OptionError;
use serde::Deserialize;

/// Options of the ID generator (`[idgen]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdgenConfig {
    /// The ids' time origin, Unix ms. Default 1735689600000 (2025-01-01T00:00:00Z).
    pub epoch_unix_ms: i64,
    /// Bit widths; they must sum to at most 63 so ids are positive i64s. Defaults 41 / 10 / 12.
    pub timestamp_bits: u32,
    /// Bits of the worker (node) id.
    pub worker_bits: u32,
    /// Bits of the per-millisecond sequence.
    pub sequence_bits: u32,
    /// How far ahead of issued timestamps the persisted high-water mark runs. A larger value
    /// means fewer fsyncs and a longer wait after a restart. Default 1000.
    pub reserve_ms: u64,
    /// When the wall clock is behind the last issued timestamp by at most this, wait; by more,
    /// refuse. Default 50.
    pub backwards_wait_ms_max: u64,
    /// Requests queued while waiting; beyond it requests are refused. Default 10000.
    pub queue_max: usize,
}

impl Default for IdgenConfig {
    fn default() -> Self {
        IdgenConfig {
            epoch_unix_ms: 1_735_689_600_000,
            timestamp_bits: 41,
            worker_bits: 10,
            sequence_bits: 12,
            reserve_ms: 1000,
            backwards_wait_ms_max: 50,
            queue_max: 10_000,
        }
    }
}

impl IdgenConfig {
    /// Checks the options for a cluster of `nodes`; on error names the field.
    pub fn validate(&self, nodes: u32) -> Result<(), OptionError> {
        let bits = [
            ("timestamp_bits", self.timestamp_bits),
            ("worker_bits", self.worker_bits),
            ("sequence_bits", self.sequence_bits),
        ];
        for (field, b) in bits {
            if !(1..=62).contains(&b) {
                return Err(OptionError::new(field, format!("must be 1..=62, got {b}")));
            }
        }
        let total = self.timestamp_bits + self.worker_bits + self.sequence_bits;
        if total > 63 {
            return Err(OptionError::new(
                "timestamp_bits",
                format!("bit widths sum to {total}, more than 63"),
            ));
        }
        if u64::from(nodes) > (1u64 << self.worker_bits) {
            return Err(OptionError::new(
                "worker_bits",
                format!("{} bits cannot number {nodes} nodes", self.worker_bits),
            ));
        }
        if self.reserve_ms == 0 {
            return Err(OptionError::new("reserve_ms", "must be at least 1"));
        }
        if self.queue_max == 0 {
            return Err(OptionError::new("queue_max", "must be at least 1"));
        }
        Ok(())
    }
}
