//! A primary-backup key-value register, tested with faultlab — the tutorial's code, written
//! only against faultlab's public API (`faultlab::prelude`).
//!
//! The design: node 0 is the primary and keeps the data **in memory only**; nodes 1.. are
//! backups that keep it on disk. The backups *are* the primary's durability: a write (or a read)
//! is answered only once every backup has stored the primary's state on disk. A restarted
//! primary recovers by fetching the state of any one backup, then pushes it, under a new epoch
//! (its incarnation), to all of them.
//!
//! Why any one backup will do: nothing is answered before *every* backup has it, so every backup
//! holds every answered write. Why epochs: a late message from the primary's previous life must
//! not overwrite what its new life pushed.
//!
//! The planted bug [`ACK_BEFORE_REPLICATION`] answers at once and ships writes to the backups
//! in the background (every `resend_ms`) — fast, and wrong: a primary that crashes before its backups
//! caught up comes back without writes it acknowledged.

use faultlab::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The planted bug: answer clients before every backup has stored the write.
pub const ACK_BEFORE_REPLICATION: Bug = Bug::new(
    "pb-ack-before-replication",
    "the primary answers before its backups have stored the write (async replication)",
);

/// The register's contents: key → value.
pub type Values = BTreeMap<String, i64>;

/// Between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PbMsg {
    /// Primary → backup: send me what you hold (the primary is recovering).
    Fetch,
    /// The whole state at `(epoch, seq)`: a backup's answer to `Fetch`, or the primary's push.
    State {
        epoch: u32,
        seq: u64,
        values: Values,
    },
    /// Backup → primary: `(epoch, seq)` is on my disk.
    Ack { epoch: u32, seq: u64 },
}

/// Client → primary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PbRequest {
    Read { key: String },
    Write { key: String, value: i64 },
}

/// Primary → client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PbResponse {
    ReadOk {
        value: Option<i64>,
    },
    WriteOk,
    /// Definitely not done: not the primary, or still recovering.
    Refused,
}

impl Message for PbMsg {
    fn label(&self) -> &'static str {
        match self {
            PbMsg::Fetch => "fetch",
            PbMsg::State { .. } => "state",
            PbMsg::Ack { .. } => "ack",
        }
    }
}

impl Message for PbRequest {
    fn label(&self) -> &'static str {
        match self {
            PbRequest::Read { .. } => "read",
            PbRequest::Write { .. } => "write",
        }
    }
}

impl Message for PbResponse {
    fn label(&self) -> &'static str {
        "reply"
    }
}

const STATE_FILE: &str = "pb.state";
const RESEND: TimerId = TimerId(1);

/// What a backup keeps on disk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    epoch: u32,
    seq: u64,
    values: Values,
}

/// One node: the primary or a backup.
pub enum PbNode {
    Primary(Primary),
    Backup(Backup),
    /// A backup whose state file does not parse: it answers nothing (a lost disk must not
    /// pass for an empty one).
    Broken,
}

/// The primary's memory.
pub struct Primary {
    epoch: u32,
    resend: Duration,
    /// `None` while recovering.
    state: Option<(u64, Values)>,
    /// The highest `(seq)` each backup has acknowledged in this epoch.
    acked: BTreeMap<NodeId, u64>,
    /// Requests waiting for their sequence number to reach every backup.
    waiting: Vec<(u64, ReplyTo, PbResponse)>,
}

/// A backup's memory (a copy of its disk).
pub struct Backup {
    stored: Stored,
    resend: Duration,
}

impl Service for PbNode {
    type Msg = PbMsg;
    type Request = PbRequest;
    type Response = PbResponse;
    /// How often unacknowledged state is sent again.
    type Config = Duration;

    fn start(resend: &Duration, ctx: &mut Ctx<'_, Self>) -> Self {
        let resend = *resend;
        ctx.set_timer(RESEND, resend);
        if ctx.node() != NodeId(0) {
            return match ctx.storage().read(STATE_FILE) {
                Ok(None) => PbNode::Backup(Backup {
                    stored: Stored::default(),
                    resend,
                }),
                Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                    Ok(stored) => PbNode::Backup(Backup { stored, resend }),
                    Err(_) => PbNode::Broken,
                },
                Err(_) => PbNode::Broken,
            };
        }
        let primary = Primary {
            epoch: ctx.info().incarnation.0,
            resend,
            state: None,
            acked: BTreeMap::new(),
            waiting: Vec::new(),
        };
        for &b in backups(ctx) {
            ctx.send(b, PbMsg::Fetch);
        }
        PbNode::Primary(primary)
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: PbMsg) {
        match (self, msg) {
            (PbNode::Primary(p), PbMsg::State { seq, values, .. }) if p.state.is_none() => {
                // Recovered from the first backup that answered: it holds every answered write.
                ctx.observe("pb.recovered", json!({ "seq": seq }));
                p.state = Some((seq, values));
                p.push(ctx);
            }
            (PbNode::Primary(p), PbMsg::Ack { epoch, seq }) if epoch == p.epoch => {
                let best = p.acked.entry(from).or_insert(0);
                *best = (*best).max(seq);
                p.answer_replicated(ctx);
            }
            (PbNode::Backup(b), PbMsg::Fetch) => {
                let s = &b.stored;
                let (epoch, seq, values) = (s.epoch, s.seq, s.values.clone());
                ctx.send(from, PbMsg::State { epoch, seq, values });
            }
            (PbNode::Backup(b), PbMsg::State { epoch, seq, values }) => {
                if (epoch, seq) > (b.stored.epoch, b.stored.seq) {
                    b.stored = Stored { epoch, seq, values };
                    let bytes = serde_json::to_vec(&b.stored).unwrap_or_default();
                    if ctx.storage().write(STATE_FILE, &bytes).is_err() {
                        ctx.halt("cannot write pb.state");
                        return;
                    }
                    // The ack below is sent only once the write is durable.
                    ctx.sync();
                }
                if (epoch, seq) == (b.stored.epoch, b.stored.seq) {
                    ctx.send(from, PbMsg::Ack { epoch, seq });
                }
            }
            _ => {}
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: PbRequest) {
        let PbNode::Primary(p) = self else {
            ctx.reply(from, PbResponse::Refused);
            return;
        };
        let Some((seq, values)) = &mut p.state else {
            ctx.reply(from, PbResponse::Refused);
            return;
        };
        let resp = match req {
            PbRequest::Read { key } => PbResponse::ReadOk {
                value: values.get(&key).copied(),
            },
            PbRequest::Write { key, value } => {
                *seq += 1;
                values.insert(key, value);
                PbResponse::WriteOk
            }
        };
        let at = *seq;
        if ctx.bug(ACK_BEFORE_REPLICATION) {
            // Answer now; the backups catch up on the next background push (the timer).
            ctx.reply(from, resp);
            ctx.observe("pb.answered", json!({ "seq": at }));
            return;
        }
        // Even a read waits: what it returns must be on every backup first, or a crash could
        // take back a value someone has already seen.
        p.waiting.push((at, from, resp));
        p.push(ctx);
        p.answer_replicated(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _timer: TimerId) {
        match self {
            PbNode::Primary(Primary { resend, .. }) | PbNode::Backup(Backup { resend, .. }) => {
                ctx.set_timer(RESEND, *resend);
            }
            PbNode::Broken => {}
        }
        if let PbNode::Primary(p) = self {
            match p.state {
                None => {
                    for &b in backups(ctx) {
                        ctx.send(b, PbMsg::Fetch);
                    }
                }
                Some(_) => p.push(ctx),
            }
        }
    }

    fn on_sync_failed(&mut self, _: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        // The state it was to persist may be gone: start again from what the disk holds.
        AfterSyncFailure::Restart
    }
}

fn backups<'a>(ctx: &Ctx<'a, PbNode>) -> &'a [NodeId] {
    ctx.info().cluster.get(1..).unwrap_or(&[])
}

impl Primary {
    /// Sends the state to every backup that has not acknowledged it.
    fn push(&mut self, ctx: &mut Ctx<'_, PbNode>) {
        let Some((seq, values)) = &self.state else {
            return;
        };
        for &b in backups(ctx) {
            if self.acked.get(&b).is_none_or(|&acked| acked < *seq) {
                let (epoch, seq, values) = (self.epoch, *seq, values.clone());
                ctx.send(b, PbMsg::State { epoch, seq, values });
            }
        }
    }

    /// Answers every waiting request whose write every backup now holds.
    fn answer_replicated(&mut self, ctx: &mut Ctx<'_, PbNode>) {
        // A backup that has acknowledged nothing in this epoch holds nothing of it.
        let everywhere = backups(ctx)
            .iter()
            .map(|b| self.acked.get(b).copied().unwrap_or(0))
            .min()
            .unwrap_or(u64::MAX);
        let (done, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(seq, _, _)| *seq <= everywhere);
        self.waiting = still;
        for (seq, to, resp) in done {
            ctx.reply(to, resp);
            ctx.observe("pb.answered", json!({ "seq": seq }));
        }
    }
}

/// The client: reads and writes of a few keys, always at the primary. No retries: an attempt
/// without an answer is `info` (it may have happened).
pub struct PbClient;

const KEYS: [&str; 3] = ["x", "y", "z"];

impl ClientLogic<PbNode> for PbClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, PbRequest, NodeId) {
        let key = KEYS[cx.rng.random_range(0..KEYS.len())].to_string();
        let (desc, req) = if cx.rng.random_bool(0.5) {
            let d = OpDescription {
                f: "read",
                key: Some(json!(key)),
                value: None,
            };
            (d, PbRequest::Read { key })
        } else {
            let value = cx.rng.random_range(0..1000);
            let d = OpDescription {
                f: "write",
                key: Some(json!(key)),
                value: Some(json!(value)),
            };
            (d, PbRequest::Write { key, value })
        };
        (desc, req, NodeId(0))
    }

    fn on_reply(&mut self, _cx: &mut ClientCtx<'_>, resp: PbResponse) -> Next<PbRequest> {
        Next::Done(match resp {
            PbResponse::ReadOk { value } => Completion {
                op_type: OpType::Ok,
                value: Some(json!(value)),
            },
            PbResponse::WriteOk => Completion {
                op_type: OpType::Ok,
                value: None,
            },
            PbResponse::Refused => Completion {
                op_type: OpType::Fail,
                value: None,
            },
        })
    }

    fn on_timeout(&mut self, _cx: &mut ClientCtx<'_>) -> Next<PbRequest> {
        Next::Unknown
    }
}

mod invariant;
pub use invariant::AnsweredSurvivesRestart;

/// The plug-in: what faultlab needs to run, judge and replay the service.
pub struct PbService;

/// `[pb]` in a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PbOptions {
    /// How often the primary sends state its backups have not acknowledged (and, with the
    /// planted bug, how often it replicates at all). Default 20.
    pub resend_ms: u64,
}

impl Default for PbOptions {
    fn default() -> Self {
        PbOptions { resend_ms: 20 }
    }
}

impl ServiceSpec for PbService {
    const NAME: &'static str = "pb";
    const ABOUT: &'static str = "primary-backup register: in-memory primary, durable backups";
    const BUGS: &'static [Bug] = &[ACK_BEFORE_REPLICATION];
    type Options = PbOptions;
    type Server = PbNode;
    type Client = PbClient;

    fn validate(opts: &PbOptions, shape: &Shape) -> Result<(), OptionError> {
        if shape.nodes < 2 {
            return Err(OptionError::new(
                "nodes",
                "a primary needs at least one backup",
            ));
        }
        if !(1..=1000).contains(&opts.resend_ms) {
            return Err(OptionError::new("resend_ms", "must be 1..=1000"));
        }
        Ok(())
    }

    fn server_config(opts: &PbOptions, _shape: &Shape) -> Duration {
        Duration::from_millis(opts.resend_ms)
    }

    /// `--knobs` draws the resend period per seed, within the range it is correct in.
    fn knobs() -> Vec<Knob<PbOptions>> {
        vec![Knob {
            name: "resend_ms",
            min: 5,
            max: 100,
            set: |o, v| o.resend_ms = v,
        }]
    }

    fn client(_: &PbOptions, _: &Shape, _: ClientId, _: &BugSet) -> PbClient {
        PbClient
    }

    fn invariants(_opts: &PbOptions) -> Vec<Box<dyn Invariant>> {
        vec![
            Box::new(faultlab::invariants::linearizable::Linearizable::kv()),
            Box::new(AnsweredSurvivesRestart),
        ]
    }

    fn history_checks(_opts: &PbOptions, history: &History) -> Vec<Verdict> {
        vec![faultlab::invariants::linearizable::Linearizable::kv().judge_history(history)]
    }
}
