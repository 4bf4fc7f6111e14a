//! What a service crate needs, in one import: `use faultlab::prelude::*;`.
//!
//! The server side (a sans-IO [`Service`] driven through a [`Ctx`]), the client side (a
//! [`ClientLogic`] that draws operations and reads replies), the plug-in ([`ServiceSpec`],
//! registered in a [`Registry`]), invariants and verdicts, the test builder ([`Sim`]), and the
//! seeded RNG with its [`Rng`] trait (so your `Cargo.toml` need not match faultlab's `rand`).

pub use crate::bugs::{Bug, BugSet};
pub use crate::client::{ClientCtx, ClientLogic, Completion, Next, OpDescription};
pub use crate::disk::{Storage, StorageError};
pub use crate::event::{Event, EventRecord};
pub use crate::fault::{Fault, FaultKind, PartitionKind};
pub use crate::history::{History, OpType};
pub use crate::ids::{ClientId, NodeId};
pub use crate::invariants::{Evidence, Invariant, Outcome, RunRecords, Tag, Verdict, observations};
pub use crate::node::service::{
    AfterSyncFailure, Ctx, Message, NodeInfo, Output, ReplyTo, Service, TimerId,
};
pub use crate::node::sketch::{Sketch, bucket};
pub use crate::plugin::knobs::Knob;
pub use crate::plugin::{OptionError, Registry, ServiceSpec, Shape};
pub use crate::rng::DetRng;
pub use crate::testing::{Sim, SimReport};
pub use crate::time::{LocalInstant, LocalNow, SimTime};
pub use rand::Rng;
pub use serde_json::{Value, json};
