//! The message layer: wire format, partition shapes, the network's fault rules and the
//! backend-neutral fault layer every simulated message passes through.

pub mod envelope;
pub mod faults;
pub mod layer;
pub mod partition;
