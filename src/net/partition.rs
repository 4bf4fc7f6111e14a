//! Partition shapes → the directed links they cut. Pure functions of the node list and an RNG,
//! so a partition is replayable and testable without a network.

use crate::fault::PartitionKind;
use crate::ids::NodeId;
use crate::rng::DetRng;
use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::BTreeSet;
use thiserror::Error;

/// A partition that cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PartitionError {
    /// The cluster is too small for the shape.
    #[error("a {kind} partition needs at least {min} nodes, the cluster has {nodes}")]
    TooFewNodes {
        /// The partition shape.
        kind: &'static str,
        /// Nodes it needs.
        min: usize,
        /// Nodes in the cluster.
        nodes: usize,
    },
    /// The pivot node is not in the cluster.
    #[error("node {node} is not in the cluster")]
    UnknownNode {
        /// The node named.
        node: NodeId,
    },
}

/// The directed links `(from, to)` a partition cuts, sorted.
pub fn cut_links(
    kind: PartitionKind,
    nodes: &[NodeId],
    target: Option<NodeId>,
    rng: &mut DetRng,
) -> Result<Vec<(NodeId, NodeId)>, PartitionError> {
    let min = min_nodes(kind);
    if nodes.len() < min {
        return Err(PartitionError::TooFewNodes {
            kind: kind.name(),
            min,
            nodes: nodes.len(),
        });
    }
    if let Some(node) = target
        && !nodes.contains(&node)
    {
        return Err(PartitionError::UnknownNode { node });
    }
    let mut order = nodes.to_vec();
    order.shuffle(rng);
    let mut cut = BTreeSet::new();
    match kind {
        PartitionKind::Halves => {
            let (a, b) = order.split_at(order.len() / 2);
            cut_both(&mut cut, a, b);
        }
        PartitionKind::OneWay => {
            let (a, b) = order.split_at(order.len() / 2);
            cut_one_way(&mut cut, a, b);
        }
        PartitionKind::Isolate => {
            let lone = target.unwrap_or_else(|| order[rng.random_range(0..order.len())]);
            let rest: Vec<NodeId> = nodes.iter().copied().filter(|&n| n != lone).collect();
            cut_both(&mut cut, &[lone], &rest);
        }
        PartitionKind::Bridge => {
            let bridge = target.unwrap_or(order[0]);
            let rest: Vec<NodeId> = order.iter().copied().filter(|&n| n != bridge).collect();
            let (a, b) = rest.split_at(rest.len() / 2);
            cut_both(&mut cut, a, b);
        }
        PartitionKind::MajoritiesRing => ring(&mut cut, &order),
    }
    Ok(cut.into_iter().collect())
}

/// The smallest cluster a shape needs.
pub fn min_nodes(kind: PartitionKind) -> usize {
    kind.min_nodes()
}

fn cut_one_way(cut: &mut BTreeSet<(NodeId, NodeId)>, from: &[NodeId], to: &[NodeId]) {
    for &a in from {
        for &b in to {
            cut.insert((a, b));
        }
    }
}

fn cut_both(cut: &mut BTreeSet<(NodeId, NodeId)>, a: &[NodeId], b: &[NodeId]) {
    cut_one_way(cut, a, b);
    cut_one_way(cut, b, a);
}

/// Each node keeps the `k` nearest ring neighbours on each side, where `2k + 1` is the smallest
/// odd count that is a majority; everything else is cut.
fn ring(cut: &mut BTreeSet<(NodeId, NodeId)>, order: &[NodeId]) {
    let n = order.len();
    let majority = n / 2 + 1;
    let k = majority / 2; // (majority - 1) rounded up, halved
    debug_assert!(
        2 * k + 1 >= majority && 2 * k + 1 < n,
        "ring must leave a proper majority"
    );
    for i in 0..n {
        for j in 0..n {
            let d = i.abs_diff(j);
            let ring_distance = d.min(n - d);
            if ring_distance > k {
                cut.insert((order[i], order[j]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::component_rng;

    fn nodes(n: u32) -> Vec<NodeId> {
        (0..n).map(NodeId).collect()
    }

    fn reachable(cut: &[(NodeId, NodeId)], from: NodeId, all: &[NodeId]) -> usize {
        all.iter().filter(|&&to| !cut.contains(&(from, to))).count()
    }

    #[test]
    fn every_kind_cuts_something_and_is_seeded() {
        for &kind in PartitionKind::ALL {
            let all = nodes(5);
            let a = cut_links(kind, &all, None, &mut component_rng(3, "p", 0));
            let b = cut_links(kind, &all, None, &mut component_rng(3, "p", 0));
            assert_eq!(a, b, "{kind:?} must be a function of the seed");
            assert!(
                a.as_ref().is_ok_and(|c| !c.is_empty()),
                "{kind:?} cut nothing"
            );
        }
    }

    #[test]
    fn majorities_ring_gives_each_node_a_distinct_majority() {
        for n in [4u32, 5, 6, 7, 9] {
            let all = nodes(n);
            let cut = cut_links(
                PartitionKind::MajoritiesRing,
                &all,
                None,
                &mut component_rng(1, "r", 0),
            )
            .unwrap_or_default();
            let mut views = BTreeSet::new();
            for &node in &all {
                assert!(
                    reachable(&cut, node, &all) > all.len() / 2,
                    "n={n}: {node} lacks a majority"
                );
                let view: Vec<NodeId> = all
                    .iter()
                    .copied()
                    .filter(|&to| !cut.contains(&(node, to)))
                    .collect();
                views.insert(view);
            }
            assert_eq!(views.len(), all.len(), "n={n}: majorities must differ");
        }
    }

    #[test]
    fn isolate_targets_the_given_node() {
        let all = nodes(5);
        let cut = cut_links(
            PartitionKind::Isolate,
            &all,
            Some(NodeId(3)),
            &mut component_rng(1, "i", 0),
        )
        .unwrap_or_default();
        assert_eq!(cut.len(), 8);
        assert!(cut.iter().all(|&(a, b)| a == NodeId(3) || b == NodeId(3)));
    }

    #[test]
    fn one_way_cuts_only_one_direction() {
        let all = nodes(4);
        let cut = cut_links(
            PartitionKind::OneWay,
            &all,
            None,
            &mut component_rng(9, "o", 0),
        )
        .unwrap_or_default();
        assert_eq!(cut.len(), 4);
        assert!(cut.iter().all(|&(a, b)| !cut.contains(&(b, a))));
    }

    #[test]
    fn bridge_node_sees_everyone() {
        let all = nodes(5);
        let cut = cut_links(
            PartitionKind::Bridge,
            &all,
            Some(NodeId(0)),
            &mut component_rng(2, "b", 0),
        )
        .unwrap_or_default();
        assert_eq!(reachable(&cut, NodeId(0), &all), 5);
        assert!(!cut.is_empty());
    }

    #[test]
    fn too_few_nodes_is_an_error() {
        let r = cut_links(
            PartitionKind::MajoritiesRing,
            &nodes(3),
            None,
            &mut component_rng(0, "x", 0),
        );
        assert!(matches!(r, Err(PartitionError::TooFewNodes { .. })));
        let r = cut_links(
            PartitionKind::Isolate,
            &nodes(3),
            Some(NodeId(7)),
            &mut component_rng(0, "x", 0),
        );
        assert!(matches!(r, Err(PartitionError::UnknownNode { .. })));
    }
}
