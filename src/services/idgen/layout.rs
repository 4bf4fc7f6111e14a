//! Packing and unpacking ids: `timestamp << (worker_bits + sequence_bits) | worker <<
//! sequence_bits | sequence`.

use super::IdgenConfig;

/// The bit layout of an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdLayout {
    /// Bits of the millisecond timestamp.
    pub timestamp_bits: u32,
    /// Bits of the worker (node) id.
    pub worker_bits: u32,
    /// Bits of the per-millisecond sequence.
    pub sequence_bits: u32,
}

impl IdLayout {
    /// The layout the options describe.
    pub fn of(cfg: &IdgenConfig) -> Self {
        IdLayout {
            timestamp_bits: cfg.timestamp_bits,
            worker_bits: cfg.worker_bits,
            sequence_bits: cfg.sequence_bits,
        }
    }

    /// The largest sequence number.
    pub fn sequence_max(self) -> u64 {
        (1u64 << self.sequence_bits) - 1
    }

    /// The largest timestamp.
    pub fn timestamp_max(self) -> u64 {
        (1u64 << self.timestamp_bits) - 1
    }

    /// Packs an id.
    pub fn compose(self, timestamp_ms: u64, worker: u64, sequence: u64) -> u64 {
        debug_assert!(timestamp_ms <= self.timestamp_max());
        debug_assert!(worker < (1u64 << self.worker_bits));
        debug_assert!(sequence <= self.sequence_max());
        (timestamp_ms << (self.worker_bits + self.sequence_bits))
            | (worker << self.sequence_bits)
            | sequence
    }

    /// `(timestamp_ms, worker, sequence)`.
    pub fn decompose(self, id: u64) -> (u64, u64, u64) {
        let sequence = id & self.sequence_max();
        let worker = (id >> self.sequence_bits) & ((1u64 << self.worker_bits) - 1);
        let timestamp = id >> (self.worker_bits + self.sequence_bits);
        (timestamp, worker, sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_decompose_round_trip_and_order() {
        let l = IdLayout::of(&IdgenConfig::default());
        let id = l.compose(123_456, 7, 42);
        assert_eq!(l.decompose(id), (123_456, 7, 42));
        assert!(l.compose(5, 0, 1) > l.compose(5, 0, 0));
        assert!(l.compose(6, 0, 0) > l.compose(5, 1023, 4095));
    }
}
