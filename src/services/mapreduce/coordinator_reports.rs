//! The coordinator's side of finished attempts, renames and its tick (split from
//! `coordinator.rs` to keep files short).

use super::{Coordinator, TICK_TIMER};
use crate::node::service::Ctx;
use crate::services::mapreduce::msg::{MrMsg, Report};
use crate::services::mapreduce::node::MrNode;
use crate::services::mapreduce::state::{Grant, MapDone};
use serde_json::json;
use std::time::Duration;

impl Coordinator {
    /// A worker reports a finished (or failed) attempt.
    pub(super) fn on_report(
        &mut self,
        ctx: &mut Ctx<'_, MrNode>,
        worker: u32,
        incarnation: u32,
        report: Report,
    ) {
        self.running.remove(&report.attempt());
        let maps = self.opts.maps as usize;
        let Some(s) = &mut self.state else { return };
        match report {
            Report::MapDone { job, map, attempt } => {
                let Some(j) = s.jobs.get_mut(&job) else {
                    return;
                };
                if j.done() {
                    return;
                }
                if let Some(slot @ None) = j.maps.get_mut(map as usize) {
                    *slot = Some(MapDone {
                        attempt,
                        worker,
                        incarnation,
                    });
                    self.persist(ctx);
                }
            }
            Report::ReduceDone {
                job,
                part,
                attempt,
                records,
                inputs,
            } => {
                if inputs.len() > maps {
                    return;
                }
                let Some(j) = s.jobs.get_mut(&job) else {
                    return;
                };
                let Some(slot) = j.reduces.get_mut(part as usize) else {
                    return;
                };
                let grant = match slot {
                    None => true,
                    Some(g) if g.attempt == attempt => false,
                    // The fence: a partition is granted to its first finished attempt only.
                    Some(_) if !self.double_commit => {
                        ctx.note(
                            "mr/fenced",
                            json!({"job": job, "part": part, "attempt": attempt}),
                        );
                        return;
                    }
                    Some(_) => true,
                };
                if grant {
                    *slot = Some(Grant {
                        attempt,
                        records,
                        inputs,
                        committed: false,
                    });
                    self.persist(ctx);
                }
                self.send_rename(ctx, &job, part);
            }
            Report::ReduceFailed {
                job,
                part,
                attempt,
                lost,
            } => {
                let Some(j) = s.jobs.get_mut(&job) else {
                    return;
                };
                let mut changed = false;
                for (m, a) in lost.iter().take(maps) {
                    let Some(slot) = j.maps.get_mut(*m as usize) else {
                        continue;
                    };
                    if !self.forget_lost && slot.is_some_and(|d| d.attempt == *a) {
                        *slot = None;
                        changed = true;
                    }
                }
                ctx.note(
                    "mr/fetch-failed",
                    json!({"job": job, "part": part, "attempt": attempt, "lost": lost, "rerun": changed}),
                );
                if changed {
                    self.persist(ctx);
                }
            }
        }
    }

    /// Asks the store to rename the granted attempt of (`job`, `part`), until it confirms.
    fn send_rename(&self, ctx: &mut Ctx<'_, MrNode>, job: &str, part: u32) {
        let grant = self
            .state
            .as_ref()
            .and_then(|s| s.jobs.get(job))
            .and_then(|j| j.reduces.get(part as usize))
            .and_then(Option::as_ref);
        let Some(g) = grant.filter(|g| !g.committed) else {
            return;
        };
        let msg = MrMsg::Rename {
            job: job.to_string(),
            part,
            attempt: g.attempt,
            records: g.records,
            inputs: g.inputs.clone(),
        };
        ctx.send(self.opts.store(), msg);
    }

    /// The store renamed (or refused to rename) an attempt's temp file.
    pub fn on_rename_reply(
        &mut self,
        ctx: &mut Ctx<'_, MrNode>,
        job: &str,
        part: u32,
        attempt: u64,
        ok: bool,
    ) {
        let Some(s) = &mut self.state else { return };
        let Some(j) = s.jobs.get_mut(job) else { return };
        let Some(slot) = j.reduces.get_mut(part as usize) else {
            return;
        };
        match slot {
            Some(g) if g.attempt == attempt && !g.committed => {
                if ok {
                    g.committed = true;
                } else {
                    // The temp file is not the whole output: run the partition again.
                    ctx.note(
                        "mr/rename-refused",
                        json!({"job": job, "part": part, "attempt": attempt}),
                    );
                    *slot = None;
                }
            }
            _ => return,
        }
        if j.done() {
            ctx.observe("mr/job-done", json!({"job": job}));
        }
        self.persist(ctx);
    }

    /// Dead workers, renames still unconfirmed, the next tick.
    pub fn on_tick(&mut self, ctx: &mut Ctx<'_, MrNode>) {
        ctx.set_timer(TICK_TIMER, Duration::from_millis(self.opts.tick_ms));
        if self.state.is_none() {
            return;
        }
        let now = ctx.now().mono;
        let timeout = Duration::from_millis(self.opts.worker_timeout_ms);
        let dead: Vec<u32> = self
            .workers
            .iter()
            .filter(|(_, s)| s.alive && now.saturating_since(s.last) > timeout)
            .map(|(w, _)| *w)
            .collect();
        for w in dead {
            if let Some(s) = self.workers.get_mut(&w) {
                s.alive = false;
            }
            ctx.note("mr/worker-dead", json!({"worker": w}));
            self.running.retain(|_, r| r.worker != w);
            self.forget_outputs_of(ctx, w, None);
        }
        let pending: Vec<(String, u32)> = self
            .state
            .iter()
            .flat_map(|s| s.jobs.iter())
            .flat_map(|(name, j)| {
                j.reduces
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| g.as_ref().is_some_and(|g| !g.committed))
                    .map(move |(p, _)| (name.clone(), p as u32))
            })
            .collect();
        for (job, part) in pending {
            self.send_rename(ctx, &job, part);
        }
    }
}
