//! The node host loop: feeds a service's sans-IO core with its start, messages, requests and
//! timers, and carries out the outputs in order. Generic over the backend, so the code that
//! runs in the simulator is the code that runs on real sockets.
//!
//! A failed sync: the service is asked ([`Service::on_sync_failed`]); on `Restart` the host drops
//! every output queued after the sync — a reply or message there depended on it — logs
//! `halt`, waits [`RESTART_AFTER_SYNC_FAILURE`] and starts the service again from what
//! the disk durably holds, with a new incarnation (PostgreSQL's fsync-panic: after a failed
//! fsync the page cache can no longer be trusted, so recover from disk). Never a panic.

use crate::event::Event;
use crate::ids::{Addr, NodeId};
use crate::net::envelope::{Body, decode_body, encode_body};
use crate::node::env::{Inbound, NodeEnv};
use crate::node::service::{AfterSyncFailure, Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::node::sketch::Sketch;
use crate::rng::DetRng;
use crate::time::LocalInstant;
use std::collections::BTreeMap;
use tracing::{debug, warn};

type ServiceBody<S> = Body<<S as Service>::Msg, <S as Service>::Request, <S as Service>::Response>;

/// Bounds the number of timers a service may hold, so a leaking service fails loudly.
pub const TIMERS_MAX: usize = 4096;

/// How long a node whose sync failed stays down before its software starts again (local time):
/// a disk that keeps failing then costs a restart per this interval, not a busy loop.
pub const RESTART_AFTER_SYNC_FAILURE: std::time::Duration = std::time::Duration::from_millis(50);

/// Whether the outputs of a step all went out, or a failed sync or a halt stopped the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flushed {
    All,
    Stopped,
}

enum Input<S: Service> {
    Timer(TimerId),
    Peer(NodeId, S::Msg),
    Request(ReplyTo, S::Request),
}

struct Host<S: Service> {
    info: NodeInfo,
    rng: DetRng,
    timers: BTreeMap<TimerId, LocalInstant>,
    out: Vec<Output<S>>,
}

/// Runs one node until its task is dropped (crash) — a node never exits by itself.
pub async fn run_node<S: Service, E: NodeEnv>(
    mut env: E,
    cfg: S::Config,
    info: NodeInfo,
    rng: DetRng,
) {
    let mut host: Host<S> = Host {
        info,
        rng,
        timers: BTreeMap::new(),
        out: Vec::new(),
    };
    let mut core = host.handle(&mut env, |ctx| S::start(&cfg, ctx));
    sketch(&mut env, &core);
    let mut flushed = host.flush(&mut env, &mut core).await;
    loop {
        while flushed == Flushed::Stopped {
            host.sleep(&mut env, RESTART_AFTER_SYNC_FAILURE).await;
            host.info.incarnation = env.restarted();
            core = host.handle(&mut env, |ctx| S::start(&cfg, ctx));
            sketch(&mut env, &core);
            flushed = host.flush(&mut env, &mut core).await;
        }
        env.wait_while_paused().await;
        let input = host.next_input(&mut env).await;
        // A pause that began while we waited holds the input until resume, like SIGSTOP.
        env.wait_while_paused().await;
        let Some(input) = input else { continue };
        host.handle(&mut env, |ctx| match input {
            Input::Timer(timer) => core.on_timer(ctx, timer),
            Input::Peer(from, msg) => core.on_message(ctx, from, msg),
            Input::Request(from, req) => core.on_request(ctx, from, req),
        });
        sketch(&mut env, &core);
        flushed = host.flush(&mut env, &mut core).await;
    }
}

/// Hands the node's abstract state to the environment, in runs that collect coverage.
fn sketch<S: Service, E: NodeEnv>(env: &mut E, core: &S) {
    if env.sketches_wanted() {
        let mut sketch = Sketch::new();
        core.sketch(env.now(), &mut sketch);
        if !sketch.is_empty() {
            env.record_sketch(sketch);
        }
    }
}

impl<S: Service> Host<S> {
    fn handle<E: NodeEnv, R>(&mut self, env: &mut E, f: impl FnOnce(&mut Ctx<'_, S>) -> R) -> R {
        let now = env.now();
        let Host { info, rng, out, .. } = self;
        env.with_storage(|storage| {
            let mut ctx = Ctx::new(info, now, rng, storage, out);
            f(&mut ctx)
        })
    }

    /// Waits for the earliest timer or the next message; `None` = woke early, look again.
    async fn next_input<E: NodeEnv>(&mut self, env: &mut E) -> Option<Input<S>> {
        let earliest = self
            .timers
            .iter()
            .min_by_key(|(id, at)| (**at, **id))
            .map(|(id, at)| (*id, *at));
        let inbound = match earliest {
            Some((timer, deadline)) => {
                if env.now().mono >= deadline {
                    return Some(self.fire(env, timer));
                }
                let sleep = env.sleep_until(deadline);
                tokio::select! {
                    biased;
                    () = sleep => return None,
                    inbound = env.recv() => inbound,
                }
            }
            None => env.recv().await,
        };
        self.decode(env, inbound)
    }

    fn fire<E: NodeEnv>(&mut self, env: &mut E, timer: TimerId) -> Input<S> {
        self.timers.remove(&timer);
        env.record(Event::Timer {
            node: self.info.node,
            incarnation: self.info.incarnation,
            timer: timer.0,
        });
        Input::Timer(timer)
    }

    fn decode<E: NodeEnv>(&mut self, env: &mut E, inbound: Inbound) -> Option<Input<S>> {
        let garbage = |env: &mut E, error: String| {
            warn!(from = %inbound.from, %error, "dropping undecodable message");
            env.record(Event::Garbage {
                to: env.me(),
                bytes: inbound.body.get().len() as u32,
                error,
            });
        };
        let body: ServiceBody<S> = match decode_body(&inbound.body) {
            Ok(body) => body,
            Err(e) => {
                garbage(env, e.to_string());
                return None;
            }
        };
        match (body, inbound.from) {
            (Body::Peer(msg), Addr::Node(from)) => Some(Input::Peer(from, msg)),
            (Body::Request { req_id, req }, from) => {
                Some(Input::Request(ReplyTo { to: from, req_id }, req))
            }
            (Body::Peer(_), from) => {
                garbage(env, format!("peer message from non-node {from}"));
                None
            }
            (Body::Reply { .. }, from) => {
                garbage(env, format!("reply sent to a node by {from}"));
                None
            }
        }
    }

    /// Sleeps `d` of local time (re-checking the clock, as timers do).
    async fn sleep<E: NodeEnv>(&mut self, env: &mut E, d: std::time::Duration) {
        let deadline = env.now().mono.saturating_add(d);
        while env.now().mono < deadline {
            env.sleep_until(deadline).await;
        }
    }

    /// Carries out the queued outputs in order (and any a sync-failure handler adds).
    async fn flush<E: NodeEnv>(&mut self, env: &mut E, core: &mut S) -> Flushed {
        while !self.out.is_empty() {
            let outputs = std::mem::take(&mut self.out);
            let mut rest = outputs.into_iter();
            while let Some(output) = rest.next() {
                env.wait_while_paused().await;
                let reason = match output {
                    Output::Halt { reason } => reason,
                    output => {
                        let Err(error) = self.execute(env, output).await else {
                            continue;
                        };
                        let after = self.handle(env, |ctx| core.on_sync_failed(ctx));
                        debug!(node = %self.info.node, %error, ?after, "sync failed");
                        if after == AfterSyncFailure::Continue {
                            continue;
                        }
                        error.to_string()
                    }
                };
                let dropped = rest.len() + self.out.len();
                env.record(Event::Halt {
                    node: self.info.node,
                    incarnation: self.info.incarnation,
                    outputs_dropped: u32::try_from(dropped).unwrap_or(u32::MAX),
                    reason,
                });
                self.out.clear();
                self.timers.clear();
                return Flushed::Stopped;
            }
        }
        Flushed::All
    }

    /// Carries out one output; `Err` only for a failed sync.
    async fn execute<E: NodeEnv>(
        &mut self,
        env: &mut E,
        output: Output<S>,
    ) -> Result<(), crate::disk::StorageError> {
        let (node, incarnation) = (self.info.node, self.info.incarnation);
        match output {
            Output::Send { to, msg } => {
                let label = crate::node::service::Message::label(&msg);
                let body: ServiceBody<S> = Body::Peer(msg);
                send_body(env, Addr::Node(to), label, &body);
            }
            Output::Reply { to, resp } => {
                let value = serde_json::to_value(&resp).unwrap_or(serde_json::Value::Null);
                env.record(Event::Reply {
                    node,
                    incarnation,
                    to: to.to,
                    req_id: to.req_id,
                    body: value,
                });
                let label = crate::node::service::Message::label(&resp);
                let body: ServiceBody<S> = Body::Reply {
                    req_id: to.req_id,
                    resp,
                };
                send_body(env, to.to, label, &body);
            }
            Output::SetTimer { timer, deadline } => {
                self.timers.insert(timer, deadline);
                assert!(
                    self.timers.len() <= TIMERS_MAX,
                    "{node} holds more than {TIMERS_MAX} timers"
                );
            }
            Output::CancelTimer { timer } => {
                self.timers.remove(&timer);
            }
            Output::Sync => {
                env.sync().await?;
                env.record(Event::Sync { node, incarnation });
            }
            Output::Observe { label, value } => {
                env.record(Event::Observe {
                    node,
                    incarnation,
                    label: label.to_string(),
                    value,
                });
            }
            Output::Halt { .. } => debug_assert!(false, "a halt is handled by flush"),
            Output::Alert { label, value } => {
                env.alert(label, &value);
                env.record(Event::Note {
                    node,
                    incarnation,
                    label: label.to_string(),
                    value,
                });
            }
            Output::Note { label, value } => {
                debug!(%node, label, %value, "note");
                env.record(Event::Note {
                    node,
                    incarnation,
                    label: label.to_string(),
                    value,
                });
            }
        }
        Ok(())
    }
}

fn send_body<E: NodeEnv, B: serde::Serialize>(
    env: &mut E,
    to: Addr,
    label: &'static str,
    body: &B,
) {
    // Message types are plain data; a type JSON cannot encode is a bug in the service.
    let raw = encode_body(body).expect("service message types must encode as JSON");
    env.send(to, label, &raw);
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
