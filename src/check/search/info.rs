//! Operations of unknown outcome (`info`, never completed) and how the search places them.
//!
//! Such an operation never returns, so it constrains nothing in real time, and it may take effect
//! at any point after its invocation or never. Two facts keep the search small on histories full
//! of timeouts (etcd):
//! - identical unknown operations (same model op) invoked before the current frontier are
//!   interchangeable, so they form a *class* and the search only counts how many of each class it
//!   has used (always the earliest-invoked ones) instead of choosing subsets;
//! - "just in time": an unknown operation is only ever placed immediately before a completed
//!   operation that needs it. For a completed operation `y` the search considers the minimal
//!   multisets of unknown operations after which `y` is legal, one per resulting state; a larger
//!   multiset with the same result leaves fewer operations for later, so it can never help.
//!   Unknown operations with no completed operation after them are simply never placed.

use super::super::model::Model;
use super::super::stopwatch::Deadline;
use rustc_hash::FxHashMap;

pub(crate) struct InfoClass<O> {
    pub op: O,
    /// Invocation positions of the class's operations, ascending.
    pub calls: Vec<u32>,
    /// Their ids (index into the partition's unknown operations, in invocation order).
    pub ids: Vec<u32>,
}

/// The unknown-outcome operations of a partition and which of them the current path has used.
pub(crate) struct InfoPool<O> {
    pub classes: Vec<InfoClass<O>>,
    /// Per unknown operation id: its index in the paired operations.
    pub sources: Vec<u32>,
    used: Vec<u32>,
    bits: Vec<u64>,
    bits_hi_word: usize,
    /// Relaxed: an invoked unknown operation may take effect any number of times. Nothing is
    /// used up, so configurations do not differ by what they used, and what is reachable from a
    /// state no longer depends on how it was reached.
    pub relaxed: bool,
}

/// A state reachable from the current one with unknown operations, and a minimal multiset of
/// classes (sorted, repeats allowed) that reaches it.
#[derive(Debug, Clone)]
pub(crate) struct Reached<S> {
    pub state: S,
    pub used: Vec<u32>,
    /// The class applied last and the reached state it was applied to (an index in the same
    /// list, `FROM_ROOT` for the starting state): walking these gives an order that reaches
    /// `state` (`used` is sorted for comparisons; a counterexample must replay).
    pub via: (u32, u32),
}

const FROM_ROOT: u32 = u32::MAX;

/// The classes that reach `reached[at]`, in an order that does.
pub(crate) fn order_of<S>(reached: &[Reached<S>], at: usize) -> Vec<u32> {
    let mut order = Vec::new();
    let mut at = at as u32;
    while at != FROM_ROOT {
        let (class, parent) = reached[at as usize].via;
        order.push(class);
        at = parent;
    }
    order.reverse();
    order
}

impl<O: Clone + Eq + std::hash::Hash> InfoPool<O> {
    /// `ops` = (op, invocation position, source index), in invocation order.
    pub(crate) fn new(ops: Vec<(O, u32, u32)>, relaxed: bool) -> Self {
        let mut classes: Vec<InfoClass<O>> = Vec::new();
        let mut class_of: FxHashMap<O, usize> = FxHashMap::default();
        let mut sources = Vec::with_capacity(ops.len());
        for (id, (op, call, source)) in ops.into_iter().enumerate() {
            debug_assert!(
                classes.iter().all(|c| c.calls.last() <= Some(&call)),
                "in call order"
            );
            let class = *class_of.entry(op.clone()).or_insert_with(|| {
                classes.push(InfoClass {
                    op,
                    calls: Vec::new(),
                    ids: Vec::new(),
                });
                classes.len() - 1
            });
            classes[class].calls.push(call);
            classes[class].ids.push(id as u32);
            sources.push(source);
        }
        let words = sources.len().div_ceil(64);
        InfoPool {
            used: vec![0; classes.len()],
            classes,
            sources,
            bits: vec![0; words],
            bits_hi_word: 0,
            relaxed,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// How many of class `k` are invoked before `frontier` and not yet used.
    pub(crate) fn free(&self, k: usize, frontier: u32) -> u32 {
        let invoked = self.classes[k].calls.partition_point(|&c| c < frontier) as u32;
        match self.relaxed {
            true if invoked > 0 => u32::MAX,
            true => 0,
            false => invoked - self.used[k],
        }
    }

    /// Classes with a free operation before `frontier` (classes are in first-invocation order).
    pub(crate) fn open_classes(&self, frontier: u32) -> Vec<(u32, u32)> {
        self.classes
            .iter()
            .enumerate()
            .take_while(|(_, c)| c.calls[0] < frontier)
            .filter_map(|(k, _)| {
                let free = self.free(k, frontier);
                (free > 0).then_some((k as u32, free))
            })
            .collect()
    }

    /// Uses the earliest unused operation of class `k`.
    pub(crate) fn take(&mut self, k: u32) {
        if self.relaxed {
            return;
        }
        let class = &self.classes[k as usize];
        let id = class.ids[self.used[k as usize] as usize] as usize;
        self.used[k as usize] += 1;
        self.bits[id / 64] |= 1 << (id % 64);
        self.bits_hi_word = self.bits_hi_word.max(id / 64);
    }

    /// Undoes the last `take(k)`.
    pub(crate) fn give_back(&mut self, k: u32) {
        if self.relaxed {
            return;
        }
        self.used[k as usize] -= 1;
        let id = self.classes[k as usize].ids[self.used[k as usize] as usize] as usize;
        self.bits[id / 64] &= !(1 << (id % 64));
    }

    /// Appends the used-set, trailing zero words trimmed (canonical for the memo key).
    pub(crate) fn push_key_words(&mut self, key: &mut Vec<u64>) {
        while self.bits_hi_word > 0 && self.bits[self.bits_hi_word] == 0 {
            self.bits_hi_word -= 1;
        }
        if self.bits.first().is_some_and(|&w| w != 0) || self.bits_hi_word > 0 {
            key.extend_from_slice(&self.bits[..=self.bits_hi_word]);
        }
    }
}

/// Relaxed reachability explores at most this many states; past it (appends can build
/// unboundedly many strings) the relaxed pass is abandoned for the exact one.
const RELAXED_STATES_MAX: usize = 4096;

/// Steps between two looks at the clock inside one (possibly long) reachability computation.
const DEADLINE_CHECK_STEPS: u64 = 1 << 14;

/// Why `reach` stopped early.
pub(crate) enum ReachStop {
    /// More than `steps_max` steps, or the deadline passed.
    Budget,
    /// A relaxed pool reaches too many states.
    Unbounded,
}

/// Every state reachable from `root` with the free unknown operations before `frontier`, each
/// with its minimal multisets of classes (relaxed: one per state, as nothing is used up).
pub(crate) fn reach<M: Model>(
    model: &M,
    pool: &InfoPool<M::Op>,
    root: &M::State,
    frontier: u32,
    steps: &mut u64,
    steps_max: u64,
    deadline: &Deadline,
) -> Result<Vec<Reached<M::State>>, ReachStop> {
    let open = pool.open_classes(frontier);
    // A blind write after other unknown operations reaches what it reaches alone, with more used:
    // dominated, so only the first level tries blind writes.
    let chainable: Vec<(u32, u32)> = open
        .iter()
        .copied()
        .filter(|&(k, _)| !model.is_blind_write(&pool.classes[k as usize].op))
        .collect();
    let mut out: Vec<Reached<M::State>> = Vec::new();
    let mut by_state: FxHashMap<M::State, Vec<usize>> = FxHashMap::default();
    // Breadth first (`out` is the queue): multisets only grow, so a later one can be dominated
    // by an earlier one but never the other way round.
    let mut next_to_expand = 0;
    let mut from = Reached {
        state: root.clone(),
        used: Vec::new(),
        via: (u32::MAX, FROM_ROOT),
    };
    // Index of `from` in `out`; the root is not in it.
    let mut from_at = FROM_ROOT;
    loop {
        let classes = if from.used.is_empty() {
            &open
        } else {
            &chainable
        };
        for &(k, free) in classes {
            if from.used.iter().filter(|&&u| u == k).count() as u32 >= free {
                continue;
            }
            *steps += 1;
            if *steps > steps_max
                || ((*steps).is_multiple_of(DEADLINE_CHECK_STEPS) && deadline.expired())
            {
                return Err(ReachStop::Budget);
            }
            let Some(next) = model.step(&from.state, &pool.classes[k as usize].op) else {
                continue;
            };
            // An operation that changes nothing, or a detour back to the start, only uses up
            // operations: dominated.
            if next == from.state || next == *root {
                continue;
            }
            let mut used = from.used.clone();
            let at = used.partition_point(|&u| u <= k);
            used.insert(at, k);
            let known = by_state.entry(next.clone()).or_default();
            // Dominance comparisons are work too (about an eighth of a step each, measured):
            // counting them keeps the step budget a measure of time when a state has many
            // minimal multisets.
            *steps += known.len() as u64 / 8;
            let dominated = match pool.relaxed {
                true => !known.is_empty(),
                false => known.iter().any(|&j| is_submultiset(&out[j].used, &used)),
            };
            if dominated {
                continue;
            }
            if pool.relaxed && out.len() >= RELAXED_STATES_MAX {
                return Err(ReachStop::Unbounded);
            }
            known.push(out.len());
            out.push(Reached {
                state: next,
                used,
                via: (k, from_at),
            });
        }
        let Some(queued) = out.get(next_to_expand) else {
            return Ok(out);
        };
        from = queued.clone();
        from_at = next_to_expand as u32;
        next_to_expand += 1;
    }
}

/// Both sorted: is every element of `a` in `b`, counting repeats?
pub(crate) fn is_submultiset(a: &[u32], b: &[u32]) -> bool {
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j == b.len() || b[j] != x {
            return false;
        }
        j += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submultisets() {
        assert!(is_submultiset(&[], &[1]));
        assert!(is_submultiset(&[1, 1], &[0, 1, 1, 2]));
        assert!(!is_submultiset(&[1, 1], &[0, 1, 2]));
        assert!(!is_submultiset(&[3], &[0, 1, 2]));
    }

    #[test]
    fn identical_ops_share_a_class_and_are_used_earliest_first() {
        let mut pool = InfoPool::new(vec![("w1", 0, 10), ("w2", 3, 11), ("w1", 5, 12)], false);
        assert_eq!(pool.classes.len(), 2);
        assert_eq!(pool.open_classes(4), vec![(0, 1), (1, 1)]);
        assert_eq!(pool.open_classes(6), vec![(0, 2), (1, 1)]);
        pool.take(0);
        assert_eq!(pool.free(0, 6), 1);
        let mut key = Vec::new();
        pool.push_key_words(&mut key);
        assert_eq!(key, vec![0b1]);
        pool.give_back(0);
        key.clear();
        pool.push_key_words(&mut key);
        assert!(key.is_empty());
    }
}
