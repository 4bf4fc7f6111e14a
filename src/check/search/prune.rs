//! Dead-configuration pruning from what operations still need.
//!
//! A completed operation that is legal in exactly one state (a read of 3, `cas(1, 2)`) and is not
//! yet linearized must be linearized before its return, in that state. So whenever the state
//! moves away from a state S, some operation that sets S again must still be available — a
//! completed one not yet linearized, or one of unknown outcome, invoked before that return — for
//! every operation that needs S. When there is none, no linearization continues from here,
//! however the rest is ordered. Without this the search finds out only when it reaches that
//! return, after trying every order of the operations in between (exponential in concurrency).
//!
//! The condition only changes when the state leaves S, so checking that one move keeps every
//! configuration the search visits free of stranded operations (the initial one is checked once).
//! Only sound when every state-changing operation declares the state it sets, so a partition with
//! an operation that does not (an `append`) is not pruned.

use super::super::model::Model;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

pub(super) struct Prune<S> {
    group_of: FxHashMap<S, u32>,
    states: Vec<S>,
    /// Per completed operation: the group of the state it needs / sets, and its call and return.
    requires: Vec<Option<u32>>,
    sets: Vec<Option<u32>>,
    calls: Vec<u32>,
    returns: Vec<u32>,
    /// Per group: completed operations not yet linearized that need it, as (return, op).
    needing: Vec<BTreeSet<(u32, u32)>>,
    /// Per group: completed operations not yet linearized that set it, as (call, op).
    setting: Vec<BTreeSet<(u32, u32)>>,
    /// Per group: the earliest call of an unknown-outcome operation that sets it (such operations
    /// are never used up: one may be placed any time after its call, or not at all).
    unknown_call_min: Vec<u32>,
}

impl<S: Clone + Eq + std::hash::Hash> Prune<S> {
    /// `completed`: (operation, call, return, optional) — an optional operation is one of unknown
    /// outcome placed at +∞: it needs nothing (it may do nothing), but is used up once placed;
    /// `unknown`: (operation, call), never used up. `None` when the partition cannot be pruned
    /// (or nothing in it needs a particular state).
    pub(super) fn new<M: Model<State = S>>(
        model: &M,
        completed: &[(&M::Op, u32, u32, bool)],
        unknown: &[(&M::Op, u32)],
    ) -> Option<Self> {
        let mut group_of: FxHashMap<S, u32> = FxHashMap::default();
        let mut states: Vec<S> = Vec::new();
        let mut group = |state: S| -> u32 {
            *group_of.entry(state.clone()).or_insert_with(|| {
                states.push(state);
                states.len() as u32 - 1
            })
        };
        let mut requires = Vec::with_capacity(completed.len());
        let mut sets = Vec::with_capacity(completed.len());
        for &(op, _, _, optional) in completed {
            sets.push(if model.is_read_only(op) {
                None
            } else {
                Some(group(model.sets(op)?))
            });
            requires.push(match optional {
                true => None,
                false => model.requires(op).map(&mut group),
            });
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
        let mut prune = Prune {
            needing: vec![BTreeSet::new(); states.len()],
            setting: vec![BTreeSet::new(); states.len()],
            unknown_call_min: vec![u32::MAX; states.len()],
            group_of,
            states,
            requires,
            sets,
            calls: completed.iter().map(|&(_, call, _, _)| call).collect(),
            returns: completed.iter().map(|&(_, _, ret, _)| ret).collect(),
        };
        for op in 0..completed.len() as u32 {
            prune.mark(op, false);
        }
        for (g, call) in unknown_setters {
            let min = &mut prune.unknown_call_min[g as usize];
            *min = (*min).min(call);
        }
        Some(prune)
    }

    /// `op` was linearized (`done`) or taken back.
    pub(super) fn mark(&mut self, op: u32, done: bool) {
        let i = op as usize;
        let toggle = |set: &mut BTreeSet<(u32, u32)>, entry| {
            if done {
                set.remove(&entry);
            } else {
                set.insert(entry);
            }
        };
        if let Some(g) = self.sets[i] {
            toggle(&mut self.setting[g as usize], (self.calls[i], op));
        }
        if let Some(g) = self.requires[i] {
            toggle(&mut self.needing[g as usize], (self.returns[i], op));
        }
    }

    /// After the state moved from `before` to `after`: an operation not yet linearized that
    /// needs `before` and can never get it back, if any.
    pub(super) fn stranded(&self, before: &S, after: &S) -> Option<u32> {
        if before == after {
            return None;
        }
        self.stranded_in(*self.group_of.get(before)? as usize)
    }

    /// Before anything is linearized: an operation that needs a state other than `initial` and
    /// that nothing can set in time, if any.
    pub(super) fn stranded_at_start(&self, initial: &S) -> Option<u32> {
        (0..self.states.len())
            .filter(|&g| self.states[g] != *initial)
            .filter_map(|g| self.stranded_in(g))
            .min_by_key(|&op| self.returns[op as usize])
    }

    /// The first-returning operation that needs group `g`'s state, if nothing sets it before
    /// that return. Only that one need be checked: later returns have at least the same setters.
    fn stranded_in(&self, g: usize) -> Option<u32> {
        let &(ret, op) = self.needing[g].first()?;
        if self.unknown_call_min[g] < ret {
            return None;
        }
        // An operation cannot set up its own precondition (`cas(1, 1)`).
        let rescued = self.setting[g]
            .iter()
            .take_while(|&&(call, _)| call < ret)
            .any(|&(_, setter)| setter != op);
        (!rescued).then_some(op)
    }
}

/// A completed operation that real-time order alone makes impossible: every operation that could
/// set the state it needs (or the initial state) is over before `by` begins, and `by`, which
/// sets another state, is over before `op` begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Overwritten {
    pub op: u32,
    pub by: u32,
    /// The setter that completed last, `None` when the needed state is the initial one and
    /// nothing else sets it.
    pub last_setter: Option<u32>,
}

impl<S: Clone + Eq + std::hash::Hash> Prune<S> {
    /// The first-returning operation made impossible by real-time order (see [`Overwritten`]).
    /// Unknown-outcome setters invoked before its return could take effect at any time, so
    /// they keep it possible.
    pub(super) fn overwritten_at_start(&self, initial: &S) -> Option<Overwritten> {
        let n = self.calls.len();
        // State-changing operations by call, with the earliest return from each on.
        let mut changing: Vec<u32> = (0..n as u32)
            .filter(|&i| self.sets[i as usize].is_some())
            .collect();
        changing.sort_unstable_by_key(|&i| self.calls[i as usize]);
        let mut earliest_return_from = vec![(u32::MAX, u32::MAX); changing.len() + 1];
        for (at, &op) in changing.iter().enumerate().rev() {
            let ret = self.returns[op as usize];
            earliest_return_from[at] = earliest_return_from[at + 1].min((ret, op));
        }
        // Per group: setters by call, with the latest return so far.
        let mut latest_return_by_call: Vec<Vec<(u32, u32, u32)>> =
            vec![Vec::new(); self.states.len()];
        for &op in &changing {
            if let Some(g) = self.sets[op as usize] {
                let list = &mut latest_return_by_call[g as usize];
                let ret = self.returns[op as usize];
                let latest = list
                    .last()
                    .map_or((ret, op), |&(_, r, o)| (r, o).max((ret, op)));
                list.push((self.calls[op as usize], latest.0, latest.1));
            }
        }
        let mut found: Option<Overwritten> = None;
        for op in 0..n as u32 {
            let i = op as usize;
            let Some(g) = self.requires[i] else { continue };
            let (call, ret) = (self.calls[i], self.returns[i]);
            // A `cas(1, 1)`-like operation sets its own precondition: leave it to the search.
            if self.sets[i] == Some(g) || self.unknown_call_min[g as usize] < ret {
                continue;
            }
            let setters = &latest_return_by_call[g as usize];
            let before = setters.partition_point(|&(c, _, _)| c < ret);
            let (last_return, last_setter) = match before {
                0 if self.states[g as usize] == *initial => (None, None),
                0 => continue, // no setter at all: `stranded_at_start` reports it
                _ => {
                    let (_, r, o) = setters[before - 1];
                    (Some(r), Some(o))
                }
            };
            // The first state-changing operation invoked after the last setter returned.
            let from = last_return.map_or(0, |r| {
                changing.partition_point(|&o| self.calls[o as usize] <= r)
            });
            let (by_return, by) = earliest_return_from[from];
            if by_return < call && found.is_none_or(|f| ret < self.returns[f.op as usize]) {
                found = Some(Overwritten {
                    op,
                    by,
                    last_setter,
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::models::register::{Register, RegisterOp};
    use super::super::super::options::ReadNil;
    use super::super::super::value::Val;
    use super::*;

    fn int(v: i64) -> Val {
        Val::from_json(&serde_json::json!(v))
    }

    #[test]
    fn leaving_a_state_a_pending_read_needs_strands_it_unless_a_writer_remains() {
        let model = Register::new(None, ReadNil::Value);
        let (w1, w2, r1) = (
            RegisterOp::Write(int(1)),
            RegisterOp::Write(int(2)),
            RegisterOp::Read(Some(int(1))),
        );
        // write(1) [0, 1], write(2) [2, 3], read → 1 [4, 5]: a stale read.
        let completed = [(&w1, 0, 1, false), (&w2, 2, 3, false), (&r1, 4, 5, false)];
        let mut prune = Prune::new(&model, &completed, &[]).expect("prunable");
        assert_eq!(prune.stranded_at_start(&Val::Null), None);
        prune.mark(0, true);
        assert_eq!(
            prune.stranded(&int(1), &int(2)),
            Some(2),
            "nothing rewrites 1"
        );
        // An unknown-outcome write of 1 invoked before the read returns could rescue it.
        let late = RegisterOp::Write(int(1));
        let mut prune = Prune::new(&model, &completed, &[(&late, 3)]).expect("prunable");
        prune.mark(0, true);
        assert_eq!(prune.stranded(&int(1), &int(2)), None);
    }

    #[test]
    fn a_read_of_a_value_nothing_writes_is_stranded_from_the_start() {
        let model = Register::new(None, ReadNil::Value);
        let (w1, r9) = (RegisterOp::Write(int(1)), RegisterOp::Read(Some(int(9))));
        let prune =
            Prune::new(&model, &[(&w1, 0, 1, false), (&r9, 2, 3, false)], &[]).expect("prunable");
        assert_eq!(prune.stranded_at_start(&Val::Null), Some(1));
        // A partition with an append is never pruned: its results are not fixed states.
        let append = RegisterOp::Append("x".into());
        assert!(Prune::new(&model, &[(&append, 0, 1, false), (&r9, 2, 3, false)], &[]).is_none());
    }

    #[test]
    fn real_time_order_alone_can_rule_a_read_out() {
        let model = Register::new(None, ReadNil::Value);
        let (w1, w2, r1, r0) = (
            RegisterOp::Write(int(1)),
            RegisterOp::Write(int(2)),
            RegisterOp::Read(Some(int(1))),
            RegisterOp::Read(Some(Val::Null)),
        );
        // write(1) [0, 1] < write(2) [2, 3] < read → 1 [4, 5]: stale.
        let stale = Prune::new(
            &model,
            &[(&w1, 0, 1, false), (&w2, 2, 3, false), (&r1, 4, 5, false)],
            &[],
        )
        .expect("p");
        let found = Some(Overwritten {
            op: 2,
            by: 1,
            last_setter: Some(0),
        });
        assert_eq!(stale.overwritten_at_start(&Val::Null), found);
        // The writes overlap: write(2) may come first, so only the search can tell.
        let overlap = Prune::new(
            &model,
            &[(&w1, 0, 3, false), (&w2, 1, 2, false), (&r1, 4, 5, false)],
            &[],
        )
        .expect("p");
        assert_eq!(overlap.overwritten_at_start(&Val::Null), None);
        // A timed-out write of 1 invoked before the read returns may land right before it.
        let late = RegisterOp::Write(int(1));
        let rescued = Prune::new(
            &model,
            &[(&w1, 0, 1, false), (&w2, 2, 3, false), (&r1, 4, 6, false)],
            &[(&late, 5)],
        )
        .expect("p");
        assert_eq!(rescued.overwritten_at_start(&Val::Null), None);
        // Reading the initial value after a completed write of something else.
        let initial =
            Prune::new(&model, &[(&w2, 0, 1, false), (&r0, 2, 3, false)], &[]).expect("p");
        let found = Some(Overwritten {
            op: 1,
            by: 0,
            last_setter: None,
        });
        assert_eq!(initial.overwritten_at_start(&Val::Null), found);
    }
}
