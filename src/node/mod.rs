//! What runs on a node: the service contract, the node environment and the host loop that
//! joins them, and storage.

pub mod env;
pub mod host;
pub mod service;
pub mod sketch;
