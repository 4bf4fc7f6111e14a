//! Mutation operators on explicit fault schedules (the `[[faults.schedule]]` entries the
//! shrinker writes: every node and link concrete, nothing left to draw). Each operator makes a
//! small, meaningful change — move a fault in time, make it last longer or shorter, aim it at
//! another node, cut the network another way, add, drop or splice faults, step a clock by a
//! different amount — so that a child input stays close to a parent that reached something new.
//!
//! Operators work on a fault's serde form for the fields every kind shares (`node`, `cut`,
//! `delta_ms`, …): a new fault kind needs no change here.

use crate::fault::{Fault, PartitionKind};
use crate::ids::NodeId;
use crate::rng::DetRng;
use crate::shrink::explicit::Entry;
use rand::Rng;
use serde_json::Value;

/// What a mutation may produce.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Faults happen in `0..duration_ms` (the safety phase).
    pub duration_ms: u64,
    /// Cluster size.
    pub nodes: u32,
}

/// The operators, named for the report and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// Move a fault earlier or later.
    Shift,
    /// Make a lasting fault last twice as long, or half.
    Stretch,
    /// Aim a fault at another node (a partition: relabel its nodes).
    Retarget,
    /// Cut the network another way at the same time.
    Reshape,
    /// Add a copy of a fault (from the input or a donor) at another time.
    Add,
    /// Remove a fault.
    Drop,
    /// The input's faults before a time, the donor's after it.
    Splice,
    /// Step a clock (offset, drift, jump) by another amount or the other way.
    Clock,
}

impl Op {
    /// Every operator.
    pub const ALL: &'static [Op] = &[
        Op::Shift,
        Op::Stretch,
        Op::Retarget,
        Op::Reshape,
        Op::Add,
        Op::Drop,
        Op::Splice,
        Op::Clock,
    ];
}

/// Applies `op` to `entries` (using `donor`'s faults for `Add` and `Splice`). Returns false when
/// the operator had nothing to act on (no lasting fault to stretch, say): the caller picks
/// another.
pub fn apply(
    op: Op,
    entries: &mut Vec<Entry>,
    donor: &[Entry],
    b: Bounds,
    rng: &mut DetRng,
) -> bool {
    let pick = |rng: &mut DetRng, n: usize| (n > 0).then(|| rng.random_range(0..n));
    match op {
        Op::Shift => {
            let Some(i) = pick(rng, entries.len()) else {
                return false;
            };
            let reach = (b.duration_ms / 8).max(50);
            let delta = rng.random_range(0..=2 * reach);
            let at = (entries[i].at_ms + delta).saturating_sub(reach);
            entries[i].at_ms = at.min(b.duration_ms.saturating_sub(1));
            entries.sort_by_key(|e| e.at_ms);
            true
        }
        Op::Stretch => {
            let lasting: Vec<usize> = (0..entries.len())
                .filter(|&i| entries[i].lasts_ms.is_some())
                .collect();
            let Some(k) = pick(rng, lasting.len()) else {
                return false;
            };
            let e = &mut entries[lasting[k]];
            let ms = e.lasts_ms.unwrap_or(0);
            let stretched = if rng.random_bool(0.5) {
                ms.saturating_mul(2)
            } else {
                ms / 2
            };
            e.lasts_ms = Some(stretched.clamp(1, b.duration_ms.max(1)));
            true
        }
        Op::Retarget => {
            let Some(i) = pick(rng, entries.len()) else {
                return false;
            };
            match retarget(&entries[i].fault, b.nodes, rng) {
                Some(f) => {
                    entries[i].fault = f;
                    true
                }
                None => false,
            }
        }
        Op::Reshape => {
            let partitions: Vec<usize> = (0..entries.len())
                .filter(|&i| matches!(entries[i].fault, Fault::Partition { .. }))
                .collect();
            let Some(k) = pick(rng, partitions.len()) else {
                return false;
            };
            match reshape(b.nodes, rng) {
                Some(f) => {
                    entries[partitions[k]].fault = f;
                    true
                }
                None => false,
            }
        }
        Op::Add => {
            let from = if donor.is_empty() || rng.random_bool(0.3) {
                &entries[..]
            } else {
                donor
            };
            let Some(i) = pick(rng, from.len()) else {
                return false;
            };
            let mut e = from[i].clone();
            e.at_ms = rng.random_range(0..b.duration_ms.max(1));
            insert_sorted(entries, e);
            true
        }
        Op::Drop => {
            let Some(i) = pick(rng, entries.len()) else {
                return false;
            };
            entries.remove(i);
            true
        }
        Op::Splice => {
            if donor.is_empty() {
                return false;
            }
            let cut_ms = rng.random_range(0..b.duration_ms.max(1));
            entries.retain(|e| e.at_ms < cut_ms);
            for e in donor.iter().filter(|e| e.at_ms >= cut_ms) {
                insert_sorted(entries, e.clone());
            }
            true
        }
        Op::Clock => {
            let clocks: Vec<usize> = (0..entries.len())
                .filter(|&i| {
                    matches!(
                        entries[i].fault,
                        Fault::ClockOffset { .. }
                            | Fault::ClockDrift { .. }
                            | Fault::ClockJump { .. }
                    )
                })
                .collect();
            let Some(k) = pick(rng, clocks.len()) else {
                return false;
            };
            let scale = |v: &mut i64, rng: &mut DetRng| {
                *v = match rng.random_range(0..3) {
                    0 => v.saturating_mul(2),
                    1 => *v / 2,
                    _ => v.saturating_neg(),
                };
            };
            match &mut entries[clocks[k]].fault {
                Fault::ClockOffset { offset_ms: v, .. }
                | Fault::ClockJump { delta_ms: v, .. }
                | Fault::ClockDrift { drift_ppm: v, .. } => scale(v, rng),
                _ => return false,
            }
            true
        }
    }
}

/// Keeps the schedule in time order (the order it applies in).
fn insert_sorted(entries: &mut Vec<Entry>, e: Entry) {
    let at = entries.partition_point(|x| x.at_ms <= e.at_ms);
    entries.insert(at, e);
}

/// The same fault aimed elsewhere: a node fault at another node, a partition with its nodes
/// relabelled by a random permutation. `None` for a fault that names no node.
fn retarget(f: &Fault, nodes: u32, rng: &mut DetRng) -> Option<Fault> {
    if nodes < 2 {
        return None;
    }
    let mut perm: Vec<u64> = (0..u64::from(nodes)).collect();
    for i in (1..perm.len()).rev() {
        let j = rng.random_range(0..=i);
        perm.swap(i, j);
    }
    let mut v = serde_json::to_value(f).ok()?;
    let obj = v.as_object_mut()?;
    let mut touched = false;
    for key in ["node", "from", "to"] {
        if let Some(Value::Number(n)) = obj.get(key)
            && let Some(n) = n.as_u64()
        {
            let to = perm.get(usize::try_from(n).ok()?).copied()?;
            obj.insert(key.to_string(), Value::from(to));
            touched = true;
        }
    }
    if let Some(Value::Array(links)) = obj.get_mut("cut") {
        for link in links.iter_mut() {
            for end in link.as_array_mut().into_iter().flatten() {
                let to = end
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| perm.get(n).copied())?;
                *end = Value::from(to);
            }
        }
        touched = true;
    }
    if !touched {
        return None;
    }
    serde_json::from_value(v).ok()
}

/// A fresh partition: two random sides cut both ways (halves), or one way, or one node
/// isolated.
fn reshape(nodes: u32, rng: &mut DetRng) -> Option<Fault> {
    if nodes < 2 {
        return None;
    }
    let kind = [
        PartitionKind::Halves,
        PartitionKind::OneWay,
        PartitionKind::Isolate,
    ][rng.random_range(0..3)];
    let side: Vec<bool> = match kind {
        PartitionKind::Isolate => {
            let alone = rng.random_range(0..nodes);
            (0..nodes).map(|n| n == alone).collect()
        }
        _ => loop {
            let s: Vec<bool> = (0..nodes).map(|_| rng.random_bool(0.5)).collect();
            if s.iter().any(|x| *x) && !s.iter().all(|x| *x) {
                break s;
            }
        },
    };
    let mut cut = Vec::new();
    for a in 0..nodes {
        for b in 0..nodes {
            let (sa, sb) = (side[a as usize], side[b as usize]);
            let crosses = sa && !sb || (!sa && sb && kind != PartitionKind::OneWay);
            if a != b && crosses {
                cut.push((NodeId(a), NodeId(b)));
            }
        }
    }
    Some(Fault::Partition { kind, cut })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> DetRng {
        crate::rng::component_rng(7, "mutate-test", 0)
    }

    fn sample() -> Vec<Entry> {
        vec![
            Entry {
                at_ms: 100,
                fault: Fault::Crash { node: NodeId(1) },
                lasts_ms: Some(400),
            },
            Entry {
                at_ms: 300,
                fault: Fault::ClockJump {
                    node: NodeId(2),
                    delta_ms: -500,
                },
                lasts_ms: None,
            },
        ]
    }

    const B: Bounds = Bounds {
        duration_ms: 2000,
        nodes: 3,
    };

    #[test]
    fn every_operator_changes_something_and_stays_in_bounds() {
        let donor = vec![Entry {
            at_ms: 1500,
            fault: Fault::Pause { node: NodeId(0) },
            lasts_ms: Some(200),
        }];
        let mut r = rng();
        for &op in Op::ALL {
            // Reshape needs a partition; give it one.
            let mut entries = sample();
            if op == Op::Reshape {
                entries.push(Entry {
                    at_ms: 700,
                    fault: reshape(3, &mut r).unwrap_or(Fault::Heal { ends: None }),
                    lasts_ms: Some(100),
                });
            }
            let before = entries.clone();
            let mut changed = false;
            for _ in 0..20 {
                let mut e = before.clone();
                assert!(apply(op, &mut e, &donor, B, &mut r), "{op:?}");
                changed |= e != before;
                for x in &e {
                    assert!(x.at_ms < B.duration_ms, "{op:?}: {x:?}");
                    assert!(x.max_node().is_none_or(|n| n < B.nodes), "{op:?}: {x:?}");
                }
                assert!(e.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "{op:?}");
            }
            assert!(changed, "{op:?} never changed the schedule");
        }
    }

    #[test]
    fn operators_without_a_target_say_so() {
        let mut r = rng();
        let mut none: Vec<Entry> = Vec::new();
        for op in [
            Op::Shift,
            Op::Stretch,
            Op::Retarget,
            Op::Reshape,
            Op::Drop,
            Op::Clock,
        ] {
            assert!(!apply(op, &mut none, &[], B, &mut r), "{op:?}");
        }
        assert!(!apply(Op::Splice, &mut sample(), &[], B, &mut r));
    }

    #[test]
    fn reshaped_partitions_cut_across_two_sides() {
        let mut r = rng();
        for _ in 0..50 {
            let Some(Fault::Partition { kind, cut }) = reshape(5, &mut r) else {
                panic!("a partition");
            };
            assert!(!cut.is_empty());
            assert!(cut.iter().all(|(a, b)| a != b && a.0 < 5 && b.0 < 5));
            if kind == PartitionKind::OneWay {
                assert!(cut.iter().all(|(a, b)| !cut.contains(&(*b, *a))));
            }
        }
    }
}
