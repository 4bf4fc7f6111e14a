//! What a service is: a sans-IO state machine fed with inputs (its start, peer messages, client
//! requests, timers) that answers with outputs (messages, replies, timers, disk syncs).
//!
//! A handler is a pure function of the service's state, its inputs and what the context hands
//! it (one clock reading, a seeded RNG, the node's storage), so the same core runs under the
//! simulator, on real sockets and in unit tests without a runtime. Services never import the
//! simulator, the nemesis or the checkers.

use crate::buggify::Buggify;
use crate::bugs::{Bug, BugSet};
use crate::disk::Storage;
use crate::ids::{Addr, Incarnation, NodeId};
use crate::node::sketch::Sketch;
use crate::rng::DetRng;
use crate::time::{LocalInstant, LocalNow};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Debug;
use std::time::Duration;

/// A message type of a service: serializable, and with a short label for the event log.
pub trait Message: Serialize + DeserializeOwned + Debug + Clone + 'static {
    /// Its label in the event log.
    fn label(&self) -> &'static str;
}

/// A service's own name for one of its timers. Setting a timer that is already set moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// Where a reply goes: the requester and its request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyTo {
    /// The receiver.
    pub to: Addr,
    /// The request id the reply answers.
    pub req_id: u64,
}

/// Who this node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node.
    pub node: NodeId,
    /// The node's incarnation.
    pub incarnation: Incarnation,
    /// Every node of the cluster, this one included, in id order.
    pub cluster: Vec<NodeId>,
    /// Planted bugs switched on.
    pub bugs: BugSet,
    /// BUGGIFY points, when this run has them (never on real sockets).
    pub buggify: Option<Buggify>,
}

/// One effect a handler asks for, executed by the host in order. Everything after a `Sync`
/// waits until the sync has completed: that is how a service says "ack after fsync".
#[derive(Debug, Clone)]
pub enum Output<S: Service> {
    /// Send a message to a peer.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: S::Msg,
    },
    /// Answer a client request.
    Reply {
        /// The receiver.
        to: ReplyTo,
        /// The response.
        resp: S::Response,
    },
    /// Set (or move) a timer.
    SetTimer {
        /// The service's timer id.
        timer: TimerId,
        /// When it fires, on the local monotonic clock.
        deadline: LocalInstant,
    },
    /// Cancel a timer.
    CancelTimer {
        /// The service's timer id.
        timer: TimerId,
    },
    /// Make every write so far durable before any later output.
    Sync,
    /// Record a fact about the node's internal state for invariants to check (a leader
    /// elected, an entry applied); unlike a note, not a rare path.
    Observe {
        /// What kind of fact.
        label: &'static str,
        /// The fact.
        value: Value,
    },
    /// Stop the node's software: drop every output after this one and start the service again
    /// from durable state (the host does it, as after a failed sync). For a service whose
    /// memory can no longer be trusted to match its disk (a write failed half-way).
    Halt {
        /// Why, for the event log.
        reason: String,
    },
    /// Say why the node cannot serve or is stopping (damaged state, a disk that refuses
    /// writes): a note in the event log, and on real machines a warning on stderr, where an
    /// operator looks.
    Alert {
        /// A short static name.
        label: &'static str,
        /// What is wrong.
        value: Value,
    },
    /// Report a rare path.
    Note {
        /// A short static name for the message or note.
        label: &'static str,
        /// The value.
        value: Value,
    },
}

/// Everything a handler may touch.
pub struct Ctx<'a, S: Service> {
    pub(crate) info: &'a NodeInfo,
    pub(crate) now: LocalNow,
    pub(crate) rng: &'a mut DetRng,
    pub(crate) storage: &'a mut dyn Storage,
    pub(crate) out: &'a mut Vec<Output<S>>,
}

impl<'a, S: Service> Ctx<'a, S> {
    /// Builds a context; the node host does this, and so can unit tests of a core.
    pub fn new(
        info: &'a NodeInfo,
        now: LocalNow,
        rng: &'a mut DetRng,
        storage: &'a mut dyn Storage,
        out: &'a mut Vec<Output<S>>,
    ) -> Self {
        Ctx {
            info,
            now,
            rng,
            storage,
            out,
        }
    }

    /// This node.
    pub fn node(&self) -> NodeId {
        self.info.node
    }

    /// Who this node is (for as long as the context's inputs live, so it can be handed to
    /// [`Ctx::nest`]).
    pub fn info(&self) -> &'a NodeInfo {
        self.info
    }

    /// True when the planted bug `bug` is switched on for this run.
    pub fn bug(&self, bug: Bug) -> bool {
        self.info.bugs.contains(&bug)
    }

    /// True when the BUGGIFY point `point` fires here and now (see [`crate::buggify`]); a
    /// firing is noted under the point's name. Always false without BUGGIFY.
    pub fn buggify(&mut self, point: &'static str) -> bool {
        let Some(b) = self.info.buggify else {
            return false;
        };
        let fires = b.fires(point, self.info.node, self.info.incarnation, self.now.mono);
        if fires {
            self.note(point, Value::Null);
        }
        fires
    }

    /// The local clocks, read once when this input arrived.
    pub fn now(&self) -> LocalNow {
        self.now
    }

    /// The node's seeded RNG.
    pub fn rng(&mut self) -> &mut DetRng {
        self.rng
    }

    /// The node's disk.
    pub fn storage(&mut self) -> &mut dyn Storage {
        self.storage
    }

    /// Sends `msg` to the peer `to`.
    pub fn send(&mut self, to: NodeId, msg: S::Msg) {
        self.out.push(Output::Send { to, msg });
    }

    /// Answers a client request.
    pub fn reply(&mut self, to: ReplyTo, resp: S::Response) {
        self.out.push(Output::Reply { to, resp });
    }

    /// Fires when the local monotonic clock has advanced by `after` (never earlier).
    pub fn set_timer(&mut self, timer: TimerId, after: Duration) {
        let deadline = self.now.mono.saturating_add(after);
        self.out.push(Output::SetTimer { timer, deadline });
    }

    /// Cancels a timer.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.out.push(Output::CancelTimer { timer });
    }

    /// Makes all writes so far durable before any later output takes effect.
    pub fn sync(&mut self) {
        self.out.push(Output::Sync);
    }

    /// Records a fact about internal state for the invariants (the event log keeps it; real
    /// runs log it at debug level).
    pub fn observe(&mut self, label: &'static str, value: Value) {
        self.out.push(Output::Observe { label, value });
    }

    /// Stops the node's software and starts it again from durable state; nothing asked for
    /// after this takes effect. See [`Output::Halt`].
    pub fn halt(&mut self, reason: impl Into<String>) {
        self.out.push(Output::Halt {
            reason: reason.into(),
        });
    }

    /// Says why the node cannot serve or is stopping (see [`Output::Alert`]).
    pub fn alert(&mut self, label: &'static str, value: Value) {
        self.out.push(Output::Alert { label, value });
    }

    /// Reports a rare path for coverage (`sometimes` properties) and debugging.
    pub fn note(&mut self, label: &'static str, value: Value) {
        self.out.push(Output::Note { label, value });
    }

    /// Runs a handler of `I`, a role this node plays (a replica inside a bigger service), as
    /// `info` (its own view of the cluster), and turns what it asks for into this service's
    /// outputs: its messages through `send`, its replies through `reply`, the rest as they are.
    pub fn nest<I: Service, R>(
        &mut self,
        info: &NodeInfo,
        f: impl FnOnce(&mut Ctx<'_, I>) -> R,
        mut send: impl FnMut(NodeId, I::Msg) -> Output<S>,
        mut reply: impl FnMut(ReplyTo, I::Response) -> Output<S>,
    ) -> R {
        let mut out = Vec::new();
        let r = {
            let mut inner = Ctx::new(info, self.now, &mut *self.rng, &mut *self.storage, &mut out);
            f(&mut inner)
        };
        for o in out {
            self.out.push(match o {
                Output::Send { to, msg } => send(to, msg),
                Output::Reply { to, resp } => reply(to, resp),
                Output::SetTimer { timer, deadline } => Output::SetTimer { timer, deadline },
                Output::CancelTimer { timer } => Output::CancelTimer { timer },
                Output::Sync => Output::Sync,
                Output::Observe { label, value } => Output::Observe { label, value },
                Output::Halt { reason } => Output::Halt { reason },
                Output::Alert { label, value } => Output::Alert { label, value },
                Output::Note { label, value } => Output::Note { label, value },
            });
        }
        r
    }
}

/// What the host does when a sync a service asked for fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSyncFailure {
    /// Stop: drop every output queued after the sync (they depended on it) and start the
    /// service again from what the disk durably holds — PostgreSQL's fsync-panic, the only
    /// answer that is safe without knowing what the writes were.
    Restart,
    /// Carry on with the outputs queued after the sync, as if it had succeeded: only right for a
    /// service that knows those outputs did not depend on it (a planted bug says it anyway).
    Continue,
}

/// A service: the code that runs on a node, the same under every backend.
pub trait Service: Sized + 'static {
    /// Messages between nodes.
    type Msg: Message;
    /// Client requests.
    type Request: Message;
    /// Replies to clients.
    type Response: Message;
    /// Options every node starts with.
    type Config: Clone + Debug + 'static;

    /// Called at every (re)start: recover from durable storage, set initial timers.
    fn start(cfg: &Self::Config, ctx: &mut Ctx<'_, Self>) -> Self;
    /// A peer's message arrived.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg);
    /// A client request arrived.
    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: Self::Request);
    /// A timer fired.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId);
    /// A sync this service asked for failed (the writes it was to persist may be gone): say
    /// what the host does, [`AfterSyncFailure::Restart`] unless the service knows better.
    /// Required, with no default, so that a service wrapping another (running it as a role
    /// through [`Ctx::nest`]) cannot forget to ask the one it wraps.
    fn on_sync_failed(&mut self, ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure;
    /// Where the protocol stands, abstractly (see [`Sketch`]): guided exploration's coverage
    /// signal, given the node's clocks. Called after every handler, only in runs that collect
    /// coverage; the default
    /// writes nothing (the run's coverage is then its notes and message orderings alone).
    fn sketch(&self, _now: LocalNow, _sketch: &mut Sketch) {}
}
