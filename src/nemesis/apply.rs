//! Resolving a planned fault into a concrete action, and applying actions to the world.

use crate::backend::SimDriver;
use crate::disk::DiskRule;
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
        Fault::NetCorrupt { probability, links } => Fault::NetCorrupt {
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
        Fault::DiskTornWrite { node } => Fault::DiskTornWrite {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
        },
        Fault::DiskFsyncFail { node } => Fault::DiskFsyncFail {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
        },
        Fault::DiskLostSync { node } => Fault::DiskLostSync {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
        },
        Fault::DiskFull { node } => Fault::DiskFull {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
        },
        Fault::DiskSlow { node, delay_ms } => Fault::DiskSlow {
            node: node_or(*node, rng, nodes.to_vec(), "in the cluster")?,
            delay_ms: *delay_ms,
        },
        Fault::DiskCorrupt { node, file, bit } => {
            resolve_corrupt(*node, file.as_deref(), *bit, nodes, w, rng)?
        }
        Fault::DiskCalm { .. } => Fault::DiskCalm { ends: None },
    })
}

/// A disk-corrupt fault made concrete: a node with a file, the file, and one bit of it.
fn resolve_corrupt(
    node: Option<NodeId>,
    file: Option<&str>,
    bit: Option<u64>,
    nodes: &[NodeId],
    w: &WorldState,
    rng: &mut DetRng,
) -> Result<Fault, String> {
    let node = match node {
        Some(n) => n,
        None => {
            let with_files: Vec<NodeId> = nodes
                .iter()
                .copied()
                .filter(|&n| !w.node(n).disk.durable_files().is_empty())
                .collect();
            pick(&with_files, rng, "holding a file")?
        }
    };
    let files = w.node(node).disk.durable_files();
    let (name, len) = match file {
        Some(f) => files
            .into_iter()
            .find(|(name, _)| name == f)
            .ok_or_else(|| format!("{node} has no file {f:?} on disk"))?,
        None => {
            if files.is_empty() {
                return Err(format!("{node} has no file on disk"));
            }
            files[rng.random_range(0..files.len())].clone()
        }
    };
    // A bit the scenario names is checked against the file when the fault applies.
    let bit = bit.unwrap_or_else(|| rng.random_range(0..len.saturating_mul(8).max(1)));
    Ok(Fault::DiskCorrupt {
        node,
        file: Some(name),
        bit: Some(bit),
    })
}

/// True when `file` exists on `node`'s disk with durable content holding `bit`.
fn corruptible(w: &WorldState, node: NodeId, file: &Option<String>, bit: Option<u64>) -> bool {
    let (Some(file), Some(bit)) = (file, bit) else {
        return false;
    };
    w.node(node)
        .disk
        .durable_files()
        .iter()
        .any(|(f, len)| f == file && bit < len.saturating_mul(8))
}

/// The disk rule a lasting disk fault switches on, and where.
fn disk_rule(f: &Fault) -> Option<(NodeId, DiskRule)> {
    match f {
        Fault::DiskTornWrite { node } => Some((*node, DiskRule::TornWrite)),
        Fault::DiskFsyncFail { node } => Some((*node, DiskRule::FsyncFail)),
        Fault::DiskLostSync { node } => Some((*node, DiskRule::LostSync)),
        Fault::DiskFull { node } => Some((*node, DiskRule::Full)),
        Fault::DiskSlow { node, delay_ms } => Some((
            *node,
            DiskRule::Slow {
                delay_ms: *delay_ms,
            },
        )),
        _ => None,
    }
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
        Fault::DiskCorrupt { node, file, bit } if !corruptible(w, *node, file, *bit) => {
            return skip(w, now, action, "no such file or bit on disk");
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
        Fault::NetCorrupt { probability, links } => w.net.faults.add_corrupt(*links, *probability),
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
        Fault::DiskTornWrite { .. }
        | Fault::DiskFsyncFail { .. }
        | Fault::DiskLostSync { .. }
        | Fault::DiskFull { .. }
        | Fault::DiskSlow { .. } => {
            if let Some((node, rule)) = disk_rule(action) {
                w.node_mut(node).disk.add_rule(rule);
            }
        }
        Fault::DiskCorrupt {
            node,
            file: Some(file),
            bit: Some(bit),
        } => {
            let flipped = w.node_mut(*node).disk.corrupt(file, *bit);
            debug_assert!(flipped, "checked before logging");
        }
        Fault::DiskCorrupt { .. } => {}
        Fault::DiskCalm { ends: None } => {
            for slot in &mut w.nodes {
                slot.disk.clear_rules();
            }
        }
        Fault::DiskCalm { ends: Some(rule) } => {
            if let Some((node, rule)) = disk_rule(rule) {
                w.node_mut(node).disk.end_rule(rule);
            }
        }
    }
    true
}
