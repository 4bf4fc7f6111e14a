//! Resolving a planned fault into a concrete action, and applying actions to the world.

use crate::backend::SimDriver;
use crate::event::Event;
use crate::fault::FaultAction;
use crate::ids::NodeId;
use crate::net::partition::cut_links;
use crate::rng::DetRng;
use crate::scenario::FaultSpec;
use crate::time::SimTime;
use crate::world::WorldState;
use rand::Rng;

const NS_PER_MS: i64 = 1_000_000;

pub(super) fn spec_name(spec: &FaultSpec) -> &'static str {
    match spec {
        FaultSpec::Partition { .. } => "partition",
        FaultSpec::Heal => "heal",
        FaultSpec::NetLoss { .. } => "net-loss",
        FaultSpec::NetDuplicate { .. } => "net-duplicate",
        FaultSpec::NetDelay { .. } => "net-delay",
        FaultSpec::NetCalm => "net-calm",
        FaultSpec::Crash { .. } => "crash",
        FaultSpec::Restart { .. } => "restart",
        FaultSpec::Pause { .. } => "pause",
        FaultSpec::Resume { .. } => "resume",
        FaultSpec::ClockOffset { .. } => "clock-offset",
        FaultSpec::ClockDrift { .. } => "clock-drift",
        FaultSpec::ClockJump { .. } => "clock-jump",
    }
}

fn pick(eligible: &[NodeId], rng: &mut DetRng, what: &str) -> Result<NodeId, String> {
    if eligible.is_empty() {
        return Err(format!("no node is {what}"));
    }
    Ok(eligible[rng.random_range(0..eligible.len())])
}

/// Chooses the open parameters of `spec`. `down_limit` bounds how many nodes may be down or
/// paused at once (random faults only).
pub(super) fn resolve(
    spec: &FaultSpec,
    nodes: &[NodeId],
    down_limit: Option<u32>,
    w: &WorldState,
    rng: &mut DetRng,
) -> Result<FaultAction, String> {
    let filter =
        |f: &dyn Fn(NodeId) -> bool| nodes.iter().copied().filter(|&n| f(n)).collect::<Vec<_>>();
    let node_or =
        |given: Option<NodeId>, rng: &mut DetRng, eligible: Vec<NodeId>, what: &str| match given {
            Some(n) => Ok(n),
            None => pick(&eligible, rng, what),
        };
    let check_limit = || -> Result<(), String> {
        let impaired = nodes
            .iter()
            .filter(|&&n| !w.node(n).up || w.node(n).paused)
            .count() as u32;
        match down_limit {
            Some(limit) if impaired >= limit => Err(format!(
                "{impaired} nodes already down or paused (limit {limit})"
            )),
            _ => Ok(()),
        }
    };
    Ok(match spec {
        FaultSpec::Partition { kind, node } => {
            let cut = cut_links(*kind, nodes, *node, rng).map_err(|e| e.to_string())?;
            FaultAction::Partition { kind: *kind, cut }
        }
        FaultSpec::Heal => FaultAction::Heal,
        FaultSpec::NetLoss { probability, links } => FaultAction::NetLoss {
            probability: *probability,
            links: *links,
        },
        FaultSpec::NetDuplicate { probability, links } => FaultAction::NetDuplicate {
            probability: *probability,
            links: *links,
        },
        FaultSpec::NetDelay {
            probability,
            delay_ms_max,
            links,
        } => FaultAction::NetDelay {
            probability: *probability,
            delay_ms_max: *delay_ms_max,
            links: *links,
        },
        FaultSpec::NetCalm => FaultAction::NetCalm,
        FaultSpec::Crash { node } => {
            check_limit()?;
            FaultAction::Crash {
                node: node_or(*node, rng, filter(&|n| w.node(n).up), "up")?,
            }
        }
        FaultSpec::Restart { node } => FaultAction::Restart {
            node: node_or(*node, rng, filter(&|n| !w.node(n).up), "down")?,
        },
        FaultSpec::Pause { node } => {
            check_limit()?;
            let eligible = filter(&|n| w.node(n).up && !w.node(n).paused);
            FaultAction::Pause {
                node: node_or(*node, rng, eligible, "running")?,
            }
        }
        FaultSpec::Resume { node } => FaultAction::Resume {
            node: node_or(*node, rng, filter(&|n| w.node(n).paused), "paused")?,
        },
        FaultSpec::ClockOffset { node, offset_ms } => FaultAction::ClockOffset {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
            offset_ms: *offset_ms,
        },
        FaultSpec::ClockDrift { node, drift_ppm } => FaultAction::ClockDrift {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
            drift_ppm: *drift_ppm,
        },
        FaultSpec::ClockJump { node, delta_ms } => FaultAction::ClockJump {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
            delta_ms: *delta_ms,
        },
    })
}

/// What undoes a fault that lasts for a while.
pub(super) fn undo_of(action: &FaultAction) -> Option<FaultAction> {
    match action {
        FaultAction::Partition { .. } => Some(FaultAction::Heal),
        FaultAction::NetLoss { .. }
        | FaultAction::NetDuplicate { .. }
        | FaultAction::NetDelay { .. } => Some(FaultAction::NetCalm),
        FaultAction::Crash { node } => Some(FaultAction::Restart { node: *node }),
        FaultAction::Pause { node } => Some(FaultAction::Resume { node: *node }),
        _ => None,
    }
}

fn skip(w: &mut WorldState, now: SimTime, action: &FaultAction, reason: &str) -> bool {
    w.log(
        now,
        Event::FaultSkipped {
            fault: action.to_string(),
            reason: reason.to_string(),
        },
    );
    false
}

/// Applies `action`; returns whether it took effect (a skipped fault is logged with its reason).
pub(super) fn apply(
    action: &FaultAction,
    driver: &mut dyn SimDriver,
    w: &mut WorldState,
    now: SimTime,
) -> bool {
    // Check first, so a skipped fault leaves no `fault` event behind.
    match action {
        FaultAction::Crash { node } if !w.node(*node).up => {
            return skip(w, now, action, "node is already down");
        }
        FaultAction::Restart { node } if w.node(*node).up => {
            return skip(w, now, action, "node is up");
        }
        FaultAction::Pause { node } if !w.node(*node).up || w.node(*node).paused => {
            return skip(w, now, action, "node is down or already paused");
        }
        FaultAction::Resume { node } if !w.node(*node).paused => {
            return skip(w, now, action, "node is not paused");
        }
        _ => {}
    }
    tracing::info!(at = %now, fault = %action, "nemesis");
    w.log(
        now,
        Event::Fault {
            action: action.clone(),
        },
    );
    match action {
        FaultAction::Partition { cut, .. } => w.net.cut_links(cut),
        FaultAction::Heal => w.net.heal(),
        FaultAction::NetLoss { probability, links } => w.net.add_loss(*links, *probability),
        FaultAction::NetDuplicate { probability, links } => {
            w.net.add_duplicate(*links, *probability)
        }
        FaultAction::NetDelay {
            probability,
            delay_ms_max,
            links,
        } => w.net.add_delay(*links, *probability, *delay_ms_max),
        FaultAction::NetCalm => w.net.calm(),
        FaultAction::Crash { node } => {
            driver.crash(*node);
            let slot = w.node_mut(*node);
            slot.up = false;
            slot.paused = false;
            slot.resume.notify_waiters();
            let loss = slot.disk.crash();
            let incarnation = slot.incarnation;
            w.log(
                now,
                Event::Crash {
                    node: *node,
                    incarnation,
                    unsynced_bytes_lost: loss.bytes_lost,
                },
            );
        }
        FaultAction::Restart { node } => driver.restart(*node),
        FaultAction::Pause { node } => w.node_mut(*node).paused = true,
        FaultAction::Resume { node } => {
            let slot = w.node_mut(*node);
            slot.paused = false;
            slot.resume.notify_waiters();
        }
        FaultAction::ClockOffset { node, offset_ms } => {
            let delta_ns = w
                .node_mut(*node)
                .clock
                .set_wall_error(now, offset_ms.saturating_mul(NS_PER_MS));
            w.log(
                now,
                Event::ClockStep {
                    node: *node,
                    delta_ns,
                },
            );
        }
        FaultAction::ClockDrift { node, drift_ppm } => {
            w.node_mut(*node).clock.set_drift(now, *drift_ppm)
        }
        FaultAction::ClockJump { node, delta_ms } => {
            let delta_ns = delta_ms.saturating_mul(NS_PER_MS);
            w.node_mut(*node).clock.jump(delta_ns);
            w.log(
                now,
                Event::ClockStep {
                    node: *node,
                    delta_ns,
                },
            );
        }
    }
    true
}
