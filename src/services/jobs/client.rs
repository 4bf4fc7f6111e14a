//! The producer: enqueues jobs (`c3-7`: client 3's seventh job) through the replicated layer's
//! client core, each under an idempotency key. An enqueue whose outcome it never learned is
//! retried as its next operation under the same key, so the queue keeps one job for it however
//! many times it was applied — unless the planted bug `jobs-retry-new-key` makes a fresh key.
//!
//! Some new jobs are enqueued to run at a wall-clock time: the producer's wall clock plus a
//! drawn delay (a retry asks for the same time).
//!
//! History: `enqueue` (key: the job's name; invoke value: `{"delay_ms": d}` for a job to run
//! later; ok value: its id).

use super::bugs;
use super::machine::{JobOp, JobResult, JobsMachine};
use super::msg::{JobsRequest, JobsResponse};
use super::node::JobsNode;
use super::options::JobsOptions;
use crate::bugs::BugSet;
use crate::client::{ClientCtx, ClientLogic, Completion, Next, OpDescription};
use crate::history::OpType;
use crate::ids::{ClientId, NodeId};
use crate::services::replicated::{ClientOp, ReplicatedClient, Request, Response, Workload};
use rand::Rng;
use serde_json::json;
use std::time::Duration;

/// The producer's plan: the enqueue it begins next.
#[derive(Debug, Default)]
pub struct Producer {
    next: Option<Planned>,
}

/// One enqueue as the producer plans it (a retry plans the same one again).
#[derive(Debug, Clone, Default)]
struct Planned {
    name: String,
    key: String,
    /// For a job to run later: the delay drawn and the wall-clock time it makes.
    later: Option<(u64, i64)>,
}

impl Workload for Producer {
    type Machine = JobsMachine;

    fn next(&mut self, _cx: &mut ClientCtx<'_>) -> ClientOp<JobOp> {
        // The client always plans before it begins; the fallback is an empty name.
        let Planned { name, key, later } = self.next.take().unwrap_or_default();
        ClientOp {
            describe: OpDescription {
                f: "enqueue",
                key: Some(json!(name)),
                value: later.map(|(delay_ms, _)| json!({ "delay_ms": delay_ms })),
            },
            op: JobOp::Enqueue {
                key,
                name,
                at_unix_ms: later.map(|(_, at)| at),
            },
        }
    }

    fn complete(&mut self, _op: &JobOp, output: &JobResult) -> Completion {
        match output {
            JobResult::Enqueued { id } => Completion {
                op_type: OpType::Ok,
                value: Some(json!(id)),
            },
            // A replica answering out of protocol: it took no job.
            _ => Completion {
                op_type: OpType::Fail,
                value: None,
            },
        }
    }

    fn answers(&self, _op: &JobOp, output: &JobResult) -> bool {
        matches!(output, JobResult::Enqueued { .. })
    }
}

/// One producer.
#[derive(Debug)]
pub struct JobsClient {
    opts: JobsOptions,
    client: ClientId,
    raft: ReplicatedClient<Producer>,
    jobs: u64,
    /// The enqueue in flight, and one whose outcome is unknown (retried next).
    current: Option<Planned>,
    retry: Option<Planned>,
    retries: u64,
    fresh_key_on_retry: bool,
}

impl JobsClient {
    /// Producer `client` under this run's bugs.
    pub fn new(opts: &JobsOptions, client: ClientId, bugs: &BugSet) -> Self {
        JobsClient {
            opts: opts.clone(),
            client,
            raft: ReplicatedClient::new(Producer::default(), opts.client(), client),
            jobs: 0,
            current: None,
            retry: None,
            retries: 0,
            fresh_key_on_retry: bugs.contains(&bugs::RETRY_NEW_KEY),
        }
    }

    fn sub<'b>(&self, cx: &'b mut ClientCtx<'_>) -> ClientCtx<'b> {
        let replicas = (self.opts.replicas as usize).min(cx.nodes.len());
        ClientCtx {
            client: cx.client,
            local: cx.local,
            nodes: &cx.nodes[..replicas],
            rng: &mut *cx.rng,
        }
    }

    fn wrap(&mut self, next: Next<Request<JobOp>>) -> Next<JobsRequest> {
        match next {
            Next::Send { to, req } => Next::Send {
                to,
                req: JobsRequest::Call(req),
            },
            Next::SendAfter { after, to, req } => Next::SendAfter {
                after,
                to,
                req: JobsRequest::Call(req),
            },
            Next::Done(c) => {
                self.current = None;
                Next::Done(c)
            }
            Next::Unknown => {
                // Retried next, under the same key: the queue keeps one job for it.
                self.retry = self.current.take();
                Next::Unknown
            }
        }
    }
}

impl ClientLogic<JobsNode> for JobsClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, JobsRequest, NodeId) {
        let planned = match self.retry.take() {
            Some(p) if self.fresh_key_on_retry => {
                self.retries += 1;
                let key = format!("{}#{}", p.name, self.retries);
                Planned { key, ..p }
            }
            // The same key (and the same time): the queue keeps one job for it.
            Some(p) => Planned {
                key: p.name.clone(),
                ..p
            },
            None => {
                self.jobs += 1;
                let name = format!("c{}-{}", self.client.0, self.jobs);
                let later =
                    (cx.rng.random_range(0..1000) < self.opts.delayed_permille).then(|| {
                        let delay_ms = cx.rng.random_range(0..=self.opts.delay_ms_max);
                        let at = cx
                            .local
                            .wall
                            .as_unix_ms()
                            .saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
                        (delay_ms, at)
                    });
                Planned {
                    key: name.clone(),
                    name,
                    later,
                }
            }
        };
        self.current = Some(planned.clone());
        self.raft.workload_mut().next = Some(planned);
        let mut sub = self.sub(cx);
        let (describe, req, to) = self.raft.begin(&mut sub);
        (describe, JobsRequest::Call(req), to)
    }

    fn attempt_timeout(&self, op_timeout: Duration) -> Duration {
        Duration::from_millis(self.opts.attempt_timeout_ms).min(op_timeout)
    }

    fn on_reply(&mut self, cx: &mut ClientCtx<'_>, resp: JobsResponse) -> Next<JobsRequest> {
        let next = match resp {
            JobsResponse::Call(r) => self.raft.on_reply(&mut self.sub(cx), r),
            // Only a replica answers like this if the layout is wrong: try another.
            JobsResponse::WrongNode => self.raft.on_reply(&mut self.sub(cx), Response::Unknown),
        };
        self.wrap(next)
    }

    fn on_timeout(&mut self, cx: &mut ClientCtx<'_>) -> Next<JobsRequest> {
        let next = self.raft.on_timeout(&mut self.sub(cx));
        self.wrap(next)
    }

    fn on_deadline(&mut self, cx: &mut ClientCtx<'_>) -> Next<JobsRequest> {
        let next = self.raft.on_deadline(&mut self.sub(cx));
        self.wrap(next)
    }
}
