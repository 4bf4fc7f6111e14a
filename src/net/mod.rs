//! The message layer: wire format, partition shapes and the network's fault state.

pub mod envelope;
pub mod faults;
pub mod partition;
