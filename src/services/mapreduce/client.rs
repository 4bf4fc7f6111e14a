//! A client: it submits a job (`c3-7`: client 3's seventh, its corpus derived from the name)
//! to the coordinator, then reads the job's committed output from the store until every
//! partition is there, then submits the next. A submit whose outcome it never learned is
//! submitted again as its next operation, under the same name (the coordinator keeps one job
//! per name).
//!
//! History: `submit` (key: the job), and `read` (key: the job; ok value: `{"parts": {partition:
//! {word: count}}}`, the committed partitions only) — what the output-equals-sequential check
//! reads on real sockets, where there is no event log.

use super::msg::{MrRequest, MrResponse};
use super::node::MrNode;
use super::options::{COORDINATOR, MrOptions};
use crate::client::{ClientCtx, ClientLogic, Completion, Next, OpDescription};
use crate::history::OpType;
use crate::ids::{ClientId, NodeId};
use serde_json::json;
use std::time::Duration;

/// What the client is doing with its job.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Submitting it (again, after an unknown outcome).
    Submit,
    /// Reading its output until complete.
    Read,
}

/// One client.
#[derive(Debug)]
pub struct MrClient {
    opts: MrOptions,
    client: ClientId,
    jobs: u64,
    job: Option<(String, Stage)>,
    /// The request in flight, resent on a timeout (both requests are idempotent).
    req: Option<(MrRequest, NodeId)>,
}

impl MrClient {
    /// Client `client`.
    pub fn new(opts: &MrOptions, client: ClientId) -> Self {
        MrClient {
            opts: opts.clone(),
            client,
            jobs: 0,
            job: None,
            req: None,
        }
    }
}

impl ClientLogic<MrNode> for MrClient {
    fn begin(&mut self, _cx: &mut ClientCtx<'_>) -> (OpDescription, MrRequest, NodeId) {
        let (job, stage) = match self.job.clone() {
            Some(j) => j,
            None => {
                self.jobs += 1;
                let name = format!("c{}-{}", self.client.0, self.jobs);
                self.job = Some((name.clone(), Stage::Submit));
                (name, Stage::Submit)
            }
        };
        let (f, req, to) = match stage {
            Stage::Submit => (
                "submit",
                MrRequest::Submit { job: job.clone() },
                COORDINATOR,
            ),
            Stage::Read => (
                "read",
                MrRequest::Read { job: job.clone() },
                self.opts.store(),
            ),
        };
        self.req = Some((req.clone(), to));
        let describe = OpDescription {
            f,
            key: Some(json!(job)),
            value: None,
        };
        (describe, req, to)
    }

    fn attempt_timeout(&self, op_timeout: Duration) -> Duration {
        Duration::from_millis(self.opts.attempt_timeout_ms * 2).min(op_timeout)
    }

    fn on_reply(&mut self, _cx: &mut ClientCtx<'_>, resp: MrResponse) -> Next<MrRequest> {
        let done = |op_type, value| Next::Done(Completion { op_type, value });
        match resp {
            MrResponse::Accepted => {
                if let Some((_, stage)) = &mut self.job {
                    *stage = Stage::Read;
                }
                done(OpType::Ok, None)
            }
            // Refused before anything was kept: definitely not submitted.
            MrResponse::Busy => {
                self.job = None;
                done(OpType::Fail, None)
            }
            MrResponse::Output { parts } => {
                if parts.len() as u32 >= self.opts.reduces {
                    // Complete: the next operation submits a new job.
                    self.job = None;
                }
                done(OpType::Ok, Some(json!({ "parts": parts })))
            }
            // The node cannot serve this now: nothing done (a read changes nothing; a submit
            // refused this way was never kept).
            MrResponse::WrongNode => done(OpType::Fail, None),
        }
    }

    fn on_timeout(&mut self, _cx: &mut ClientCtx<'_>) -> Next<MrRequest> {
        match self.req.clone() {
            Some((req, to)) => Next::Send { to, req },
            None => Next::Unknown,
        }
    }
}
