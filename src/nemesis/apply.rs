//! Resolving a planned fault into a concrete action, and applying actions to the world.

use crate::backend::SimDriver;
use crate::event::Event;
use crate::fault::{Fault, FaultSpec, OpenCut};
use crate::ids::NodeId;
use crate::net::partition::cut_links;
use crate::rng::DetRng;
use crate::time::SimTime;
use crate::world::WorldState;
use rand::Rng;

const NS_PER_MS: i64 = 1_000_000;

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
) -> Result<Fault, String> {
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
        Fault::Partition { kind, cut } => Fault::Partition {
            kind: *kind,
            cut: match cut {
                OpenCut::Pivot(pivot) => {
                    cut_links(*kind, nodes, *pivot, rng).map_err(|e| e.to_string())?
                }
                // Validation checked the nodes; nothing is drawn.
                OpenCut::Links(links) => links.clone(),
            },
        },
        // A planned heal or calm ends everything; only a resolved fault's undo ends one thing.
        Fault::Heal { .. } => Fault::Heal { ends: None },
        Fault::NetLoss { probability, links } => Fault::NetLoss {
            probability: *probability,
            links: *links,
        },
        Fault::NetDuplicate { probability, links } => Fault::NetDuplicate {
            probability: *probability,
            links: *links,
        },
        Fault::NetDelay {
            probability,
            delay_ms_max,
            links,
        } => Fault::NetDelay {
            probability: *probability,
            delay_ms_max: *delay_ms_max,
            links: *links,
        },
        Fault::NetCalm { .. } => Fault::NetCalm { ends: None },
        Fault::Crash { node } => {
            check_limit()?;
            Fault::Crash {
                node: node_or(*node, rng, filter(&|n| w.node(n).up), "up")?,
            }
        }
        Fault::Restart { node } => Fault::Restart {
            node: node_or(*node, rng, filter(&|n| !w.node(n).up), "down")?,
        },
        Fault::Pause { node } => {
            check_limit()?;
            let eligible = filter(&|n| w.node(n).up && !w.node(n).paused);
            Fault::Pause {
                node: node_or(*node, rng, eligible, "running")?,
            }
        }
        Fault::Resume { node } => Fault::Resume {
            node: node_or(*node, rng, filter(&|n| w.node(n).paused), "paused")?,
        },
        Fault::ClockOffset { node, offset_ms } => Fault::ClockOffset {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
            offset_ms: *offset_ms,
        },
        Fault::ClockDrift { node, drift_ppm } => Fault::ClockDrift {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
            drift_ppm: *drift_ppm,
        },
        Fault::ClockJump { node, delta_ms } => Fault::ClockJump {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
            delta_ms: *delta_ms,
        },
    })
}

fn skip(w: &mut WorldState, now: SimTime, action: &Fault, reason: &str) -> bool {
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
    action: &Fault,
    driver: &mut dyn SimDriver,
    w: &mut WorldState,
    now: SimTime,
) -> bool {
    // Check first, so a skipped fault leaves no `fault` event behind.
    match action {
        Fault::Crash { node } if !w.node(*node).up => {
            return skip(w, now, action, "node is already down");
        }
        Fault::Restart { node } if w.node(*node).up => {
            return skip(w, now, action, "node is up");
        }
        Fault::Pause { node } if !w.node(*node).up || w.node(*node).paused => {
            return skip(w, now, action, "node is down or already paused");
        }
        Fault::Resume { node } if !w.node(*node).paused => {
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
        Fault::Partition { cut, .. } => w.net.faults.cut_links(cut),
        Fault::Heal { ends: None } => w.net.faults.heal(),
        Fault::Heal { ends: Some(p) } => {
            if let Fault::Partition { cut, .. } = p.as_ref() {
                w.net.faults.uncut_links(cut);
            }
        }
        Fault::NetLoss { probability, links } => w.net.faults.add_loss(*links, *probability),
        Fault::NetDuplicate { probability, links } => {
            w.net.faults.add_duplicate(*links, *probability)
        }
        Fault::NetDelay {
            probability,
            delay_ms_max,
            links,
        } => w.net.faults.add_delay(*links, *probability, *delay_ms_max),
        Fault::NetCalm { ends: None } => w.net.faults.calm(),
        Fault::NetCalm { ends: Some(rule) } => w.net.faults.end_rule(rule),
        Fault::Crash { node } => {
            driver.kill(*node);
            w.crash(now, *node);
        }
        Fault::Restart { node } => driver.start(*node),
        Fault::Pause { node } => w.pause(*node),
        Fault::Resume { node } => w.resume(*node),
        Fault::ClockOffset { node, offset_ms } => {
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
        Fault::ClockDrift { node, drift_ppm } => w.node_mut(*node).clock.set_drift(now, *drift_ppm),
        Fault::ClockJump { node, delta_ms } => {
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
