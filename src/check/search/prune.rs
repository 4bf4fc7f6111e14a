//! Dead-configuration pruning from what pending operations need.
//!
//! A completed operation that is legal in exactly one state (a read of 3, `cas(1, 2)`) and is
//! still a candidate must be linearized before its return. If the current state is not the one it
//! needs, some operation that sets that state has to come first: a completed one not yet
//! linearized, or one of unknown outcome, invoked before that return. When there is none, no
//! linearization continues from here, however the other candidates are ordered — without this
//! the search would discover it only at the return entry, after trying every order of the
//! operations in between (exponential in the concurrency).
//!
//! Only sound when every state-changing operation declares the state it sets, so a partition
//! with an operation that does not (an `append`) is not pruned.

use super::super::model::Model;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

pub(super) struct Prune<S> {
    /// Per completed operation: the group of the state it needs.
    requires: Vec<Option<u32>>,
    /// Per completed operation: the group of the state it sets.
    sets: Vec<Option<u32>>,
    states: Vec<S>,
    /// Per group: completed setters not linearized, as (call position, operation).
    pending: Vec<BTreeSet<(u32, u32)>>,
    /// Per group: the earliest call of an unknown-outcome setter (always available).
    unknown_call_min: Vec<u32>,
}

impl<S: Clone + Eq + std::hash::Hash> Prune<S> {
    /// `completed`: (operation, call position); `unknown`: likewise. `None` when the partition
    /// cannot be pruned.
    pub(super) fn new<M: Model<State = S>>(
        model: &M,
        completed: &[(&M::Op, u32)],
        unknown: &[(&M::Op, u32)],
    ) -> Option<Self> {
        let mut groups: FxHashMap<S, u32> = FxHashMap::default();
        let mut states: Vec<S> = Vec::new();
        let mut group = |state: S| -> u32 {
            *groups.entry(state.clone()).or_insert_with(|| {
                states.push(state);
                states.len() as u32 - 1
            })
        };
        let mut sets = Vec::with_capacity(completed.len());
        let mut requires = Vec::with_capacity(completed.len());
        for &(op, _) in completed {
            sets.push(if model.is_read_only(op) {
                None
            } else {
                Some(group(model.sets(op)?))
            });
            requires.push(model.requires(op).map(&mut group));
        }
        let mut unknown_setters = Vec::new();
        for &(op, call) in unknown {
            if !model.is_read_only(op) {
                unknown_setters.push((group(model.sets(op)?), call));
            }
        }
        if requires.iter().all(Option::is_none) {
            return None;
        }
        let mut pending = vec![BTreeSet::new(); states.len()];
        for (index, (&(_, call), set)) in completed.iter().zip(&sets).enumerate() {
            if let Some(g) = set {
                pending[*g as usize].insert((call, index as u32));
            }
        }
        let mut unknown_call_min = vec![u32::MAX; states.len()];
        for (g, call) in unknown_setters {
            let min = &mut unknown_call_min[g as usize];
            *min = (*min).min(call);
        }
        Some(Prune {
            requires,
            sets,
            states,
            pending,
            unknown_call_min,
        })
    }

    /// `op` was linearized (`done`) or taken back.
    pub(super) fn mark(&mut self, op: u32, call: u32, done: bool) {
        if let Some(g) = self.sets[op as usize] {
            let pending = &mut self.pending[g as usize];
            if done {
                pending.remove(&(call, op));
            } else {
                pending.insert((call, op));
            }
        }
    }

    /// False when the candidate `op` (returning at `ret`) can never become legal from `state`.
    pub(super) fn can_place(&self, op: u32, ret: u32, state: &S) -> bool {
        let Some(g) = self.requires[op as usize] else {
            return true;
        };
        let g = g as usize;
        if self.states[g] == *state || self.unknown_call_min[g] < ret {
            return true;
        }
        // An operation cannot set up its own precondition (`cas(1, 1)`).
        self.pending[g]
            .iter()
            .take_while(|&&(call, _)| call < ret)
            .any(|&(_, setter)| setter != op)
    }
}
