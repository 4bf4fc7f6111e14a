//! Resolving a planned fault into a concrete action, and applying actions to the world.

use crate::backend::SimDriver;
use crate::disk::DiskRule;
use crate::event::Event;
use crate::fault::decl::Target;
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

/// Chooses the open parameters of `spec`: the node its declaration targets, a partition's
/// links, a corruption's file and bit. `down_limit` bounds how many nodes may be down or paused
/// at once (random faults only).
pub(super) fn resolve(
    spec: &FaultSpec,
    nodes: &[NodeId],
    down_limit: Option<u32>,
    w: &WorldState,
    rng: &mut DetRng,
) -> Result<Fault, String> {
    let target = spec.kind().decl().target;
    if target.impairs() {
        let impaired = nodes
            .iter()
            .filter(|&&n| !w.node(n).up || w.node(n).paused)
            .count() as u32;
        if let Some(limit) = down_limit
            && impaired >= limit
        {
            return Err(format!(
                "{impaired} nodes already down or paused (limit {limit})"
            ));
        }
    }
    match spec {
        Fault::Partition { kind, cut } => Ok(Fault::Partition {
            kind: *kind,
            cut: match cut {
                OpenCut::Pivot(pivot) => {
                    cut_links(*kind, nodes, *pivot, rng).map_err(|e| e.to_string())?
                }
                // Validation checked the nodes; nothing is drawn.
                OpenCut::Links(links) => links.clone(),
            },
        }),
        Fault::DiskCorrupt { node, file, bit } => {
            resolve_corrupt(*node, file.as_deref(), *bit, nodes, w, rng)
        }
        // A planned heal or calm ends everything; only a resolved fault's undo ends one thing.
        _ => {
            let node = match (spec.node(), target) {
                (_, Target::NoNode) => None,
                (Some(n), _) => Some(n),
                (None, target) => {
                    let eligible: Vec<NodeId> = nodes
                        .iter()
                        .copied()
                        .filter(|&n| qualifies(w, n, target))
                        .collect();
                    Some(pick(&eligible, rng, target.what())?)
                }
            };
            spec.resolved_with(node)
                .map_err(|e| format!("cannot resolve {}: {e}", spec.name()))
        }
    }
}

/// True when `node` is one a fault with `target` may hit now.
fn qualifies(w: &WorldState, node: NodeId, target: Target) -> bool {
    let slot = w.node(node);
    match target {
        Target::NoNode | Target::Any => true,
        Target::Up => slot.up,
        Target::Down => !slot.up,
        Target::Running => slot.up && !slot.paused,
        Target::Paused => slot.paused,
        Target::WithFiles => !slot.disk.durable_files().is_empty(),
    }
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
                .filter(|&n| qualifies(w, n, Target::WithFiles))
                .collect();
            pick(&with_files, rng, Target::WithFiles.what())?
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
        Fault::ClockResync { node } => {
            let clock = &mut w.node_mut(*node).clock;
            clock.set_drift(now, 0);
            let delta_ns = clock.set_wall_error(now, 0);
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
