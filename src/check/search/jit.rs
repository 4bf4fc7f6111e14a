//! Just-in-time placement of unknown-outcome operations
//! ([`super::Placement::JustInTime`]): once the plain moves of a configuration have failed, each
//! candidate is tried again after each minimal set of unknown operations that makes it legal
//! (one per resulting state), computed by `info::reach` and cached.

use super::super::model::Model;
use super::super::stopwatch::Deadline;
use super::info::{self, is_submultiset, order_of};
use super::memo::MemoryMeter;
use super::{Cursor, Progress, ReachSet, Search};
use rustc_hash::FxHashMap;
use std::rc::Rc;

/// Reached states cached across configurations before the cache is emptied: bounds its memory
/// (tens of MB at worst) without a per-entry eviction policy.
const REACH_CACHE_ENTRIES_MAX: usize = 1 << 18;

/// An alternative for one candidate: the state after it and the unknown operations it needs.
#[derive(Clone)]
pub(super) struct Alt<S> {
    state: S,
    /// Sorted, for the dominance test.
    used: Vec<u32>,
    /// The order that reaches `state`: what the frame records.
    order: Vec<u32>,
}

impl<M: Model> Search<'_, M> {
    /// One just-in-time move attempt.
    pub(super) fn jit(
        &mut self,
        entry: u32,
        alt: u32,
        meter: &mut MemoryMeter,
    ) -> Option<Progress> {
        let Some(op) = self.list.call_op(entry) else {
            return self.backtrack();
        };
        let depth = self.stack.len();
        if alt == 0 {
            let alts = self.alternatives(op, depth);
            self.level(depth).alts = alts;
        }
        let Some(choice) = self.levels[depth].alts.get(alt as usize).cloned() else {
            self.cursor = Cursor::Jit {
                entry: self.list.next(entry),
                alt: 0,
            };
            return None;
        };
        self.steps += 1;
        self.cursor = Cursor::Jit {
            entry,
            alt: alt + 1,
        };
        self.push(
            op,
            Some(Cursor::Jit { entry, alt }),
            choice.order,
            choice.state,
            meter,
        )
    }

    /// The minimal ways to make `op` legal with unknown operations, one per resulting state,
    /// leaving out results the plain move already covered.
    pub(super) fn alternatives(&mut self, op: u32, depth: usize) -> Vec<Alt<M::State>> {
        let y = &self.ops[op as usize];
        // A blind write leaves the same state after anything: the plain move covers it.
        if self.model.is_blind_write(y) {
            return Vec::new();
        }
        let direct = self.model.step(&self.state, y);
        let needs = self.model.requires(y);
        let mut alts: Vec<Alt<M::State>> = Vec::new();
        let mut by_state: FxHashMap<M::State, Vec<usize>> = FxHashMap::default();
        let reach = &self.levels[depth].reach;
        let mut compared = 0u64;
        for (at, reached) in reach.iter().enumerate() {
            // An op legal in one state only needs that state: comparing is cheaper than a step.
            if let Some(needs) = &needs {
                compared += 1;
                if reached.state != *needs {
                    continue;
                }
            }
            self.steps += 1;
            let Some(state) = self.model.step(&reached.state, y) else {
                continue;
            };
            if direct.as_ref() == Some(&state) {
                continue;
            }
            let same = by_state.entry(state.clone()).or_default();
            self.steps += same.len() as u64 / 8;
            if same
                .iter()
                .any(|&j| is_submultiset(&alts[j].used, &reached.used))
            {
                continue;
            }
            same.push(alts.len());
            alts.push(Alt {
                state,
                used: reached.used.clone(),
                order: order_of(reach, at),
            });
        }
        self.steps += compared / 8;
        alts
    }

    /// The states unknown operations can reach from here (cached).
    pub(super) fn reach(
        &mut self,
        open: Vec<(u32, u32)>,
        frontier: u32,
        steps_max: u64,
        deadline: &Deadline,
    ) -> Result<ReachSet<M::State>, info::ReachStop> {
        let key = (self.state.clone(), open);
        if let Some(hit) = self.reach_cache.get(&key) {
            return Ok(hit.clone());
        }
        let mut steps = self.steps;
        let reached = info::reach(
            self.model,
            &self.pool,
            &self.state,
            frontier,
            &mut steps,
            steps_max,
            deadline,
        );
        self.steps = steps;
        let reach = Rc::new(reached?);
        if self.reach_cached_entries + reach.len() > REACH_CACHE_ENTRIES_MAX {
            self.reach_cache.clear();
            self.reach_cached_entries = 0;
        }
        self.reach_cached_entries += reach.len() + 1;
        self.reach_cache.insert(key, reach.clone());
        Ok(reach)
    }
}
