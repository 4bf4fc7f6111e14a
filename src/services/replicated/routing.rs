//! Which nodes form which replication group, and which group owns a key: the same answer on
//! every node and every client, computed from the cluster and two numbers.

use crate::ids::NodeId;
use crate::services::ring::{GroupId, Ring};

/// How a cluster is split into replication groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routing {
    /// Groups the nodes are split into, in contiguous blocks of equal size (the node count must
    /// be a multiple). 1 = one group of every node.
    pub groups: u32,
    /// Virtual nodes per group on the consistent-hash ring.
    pub vnodes_per_group: u32,
}

impl Routing {
    fn per_group(&self, cluster: &[NodeId]) -> u32 {
        (u32::try_from(cluster.len()).unwrap_or(u32::MAX) / self.groups.max(1)).max(1)
    }

    /// The group `node` belongs to.
    pub fn group_of_node(&self, node: NodeId, cluster: &[NodeId]) -> GroupId {
        node.0 / self.per_group(cluster)
    }

    /// The nodes of `group`.
    pub fn members(&self, group: GroupId, cluster: &[NodeId]) -> Vec<NodeId> {
        let per = self.per_group(cluster);
        cluster
            .iter()
            .copied()
            .filter(|n| n.0 / per == group)
            .collect()
    }

    /// The ring mapping keys to groups; `None` with one group (every key is its own).
    pub fn ring(&self) -> Option<Ring> {
        if self.groups <= 1 {
            return None;
        }
        let groups: Vec<GroupId> = (0..self.groups).collect();
        Ring::new(&groups, self.vnodes_per_group).ok()
    }

    /// The group owning `key` (group 0 when unsharded).
    pub fn group_of_key(ring: Option<&Ring>, key: Option<&str>) -> GroupId {
        match (ring, key) {
            (Some(ring), Some(key)) => ring.group_of(key).unwrap_or(0),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_contiguous_blocks() {
        let cluster: Vec<NodeId> = (0..6).map(NodeId).collect();
        let r = Routing {
            groups: 2,
            vnodes_per_group: 16,
        };
        assert_eq!(
            r.members(0, &cluster),
            vec![NodeId(0), NodeId(1), NodeId(2)]
        );
        assert_eq!(
            r.members(1, &cluster),
            vec![NodeId(3), NodeId(4), NodeId(5)]
        );
        assert_eq!(r.group_of_node(NodeId(4), &cluster), 1);
        let ring = r.ring();
        let g = Routing::group_of_key(ring.as_ref(), Some("k"));
        assert!(g < 2);
        let one = Routing {
            groups: 1,
            vnodes_per_group: 16,
        };
        assert!(one.ring().is_none());
        assert_eq!(one.members(0, &cluster).len(), 6);
    }
}
