//! The ring itself: sorted virtual-node points, each owned by one group.

use crate::rng::Fnv64;
use std::collections::BTreeSet;
use thiserror::Error;

/// A replication group (one Raft cluster) that owns part of the key space.
pub type GroupId = u32;

/// Bound on virtual nodes per group: keeps a ring of many groups in a few MiB.
const VNODES_PER_GROUP_MAX: u32 = 4096;

/// Why a ring could not be built or changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RingError {
    /// `vnodes_per_group` must be in `1..=4096`.
    #[error("vnodes_per_group must be 1..={VNODES_PER_GROUP_MAX}, got {0}")]
    BadVnodes(u32),
    /// The group is already on the ring.
    #[error("group {0} is already on the ring")]
    DuplicateGroup(GroupId),
    /// The group is not on the ring.
    #[error("group {0} is not on the ring")]
    UnknownGroup(GroupId),
}

/// The hash used for both keys and virtual-node points: FNV-1a 64 over the bytes, then the
/// SplitMix64 finaliser. FNV alone mixes short inputs poorly into the high bits, which is where
/// ring order is decided; the finaliser spreads them. Part of the routing contract: changing it
/// moves every key.
pub fn ring_hash(bytes: &[u8]) -> u64 {
    let mut h = Fnv64::new();
    h.write(bytes);
    let mut z = h.finish();
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The point of virtual node `vnode` of `group`: the hash of `"g{group}/v{vnode}"`.
fn point_of(group: GroupId, vnode: u32) -> u64 {
    ring_hash(format!("g{group}/v{vnode}").as_bytes())
}

/// A consistent-hash ring with `vnodes_per_group` points per group.
///
/// A key belongs to the group owning the first point at or after the key's hash (wrapping).
/// Points that collide are ordered by group id, so the order is total and deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ring {
    vnodes_per_group: u32,
    /// Sorted by (point, group).
    points: Vec<(u64, GroupId)>,
    groups: BTreeSet<GroupId>,
}

impl Ring {
    /// Builds a ring over `groups` (duplicates are an error). An empty ring maps no key.
    pub fn new(groups: &[GroupId], vnodes_per_group: u32) -> Result<Ring, RingError> {
        if !(1..=VNODES_PER_GROUP_MAX).contains(&vnodes_per_group) {
            return Err(RingError::BadVnodes(vnodes_per_group));
        }
        let mut ring = Ring {
            vnodes_per_group,
            points: Vec::new(),
            groups: BTreeSet::new(),
        };
        for &g in groups {
            ring.add_group(g)?;
        }
        Ok(ring)
    }

    /// Virtual nodes each group places on the ring.
    pub fn vnodes_per_group(&self) -> u32 {
        self.vnodes_per_group
    }

    /// The groups on the ring, in id order.
    pub fn groups(&self) -> impl Iterator<Item = GroupId> + '_ {
        self.groups.iter().copied()
    }

    /// The group that owns `key`; `None` only when the ring is empty.
    pub fn group_of(&self, key: &str) -> Option<GroupId> {
        self.group_of_hash(ring_hash(key.as_bytes()))
    }

    /// The group that owns a position on the ring.
    pub fn group_of_hash(&self, hash: u64) -> Option<GroupId> {
        let i = self.points.partition_point(|&(p, _)| p < hash);
        self.points
            .get(i)
            .or_else(|| self.points.first())
            .map(|&(_, g)| g)
    }

    /// Adds a group's virtual nodes. Only keys that now land on its points move, and they all
    /// move to it.
    pub fn add_group(&mut self, group: GroupId) -> Result<(), RingError> {
        if !self.groups.insert(group) {
            return Err(RingError::DuplicateGroup(group));
        }
        self.points
            .extend((0..self.vnodes_per_group).map(|v| (point_of(group, v), group)));
        self.points.sort_unstable();
        debug_assert_eq!(
            self.points.len(),
            self.groups.len() * self.vnodes_per_group as usize
        );
        Ok(())
    }

    /// Removes a group's virtual nodes; its keys go to the groups owning the following points.
    pub fn remove_group(&mut self, group: GroupId) -> Result<(), RingError> {
        if !self.groups.remove(&group) {
            return Err(RingError::UnknownGroup(group));
        }
        self.points.retain(|&(_, g)| g != group);
        debug_assert_eq!(
            self.points.len(),
            self.groups.len() * self.vnodes_per_group as usize
        );
        Ok(())
    }
}
