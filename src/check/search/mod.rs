//! The search of one partition: Wing–Gong/Lowe with memoisation, resumable under a step budget.
//!
//! Completed operations' call and return entries form a linked list in real-time order. At each
//! configuration the candidates are the calls before the first return entry; linearizing one lifts
//! it out of the list; reaching a return entry means that operation can no longer be placed, so
//! the search backtracks. Visited configurations (linearized set, state) go into the memo table:
//! reaching one again means it already failed. Operations of unknown outcome are placed "just in
//! time" in front of completed ones (see `info.rs`) in a second phase, after the plain moves of a
//! configuration have failed — or, in the other [`Placement`], as calls whose return lies at +∞
//! (Porcupine's way). The search is iterative, so the scheduler can pause it after any step and
//! interleave partitions and placements.

mod bits;
mod grow;
mod info;
mod jit;
mod list;
pub(crate) mod memo;
mod prune;
mod snapshot;

use super::model::Model;
use super::stopwatch::Deadline;
use bits::Bits;
use grow::Grow;
use info::{InfoPool, Reached};
use jit::Alt;
use list::EntryList;
use memo::{Insert, Memo, MemoryMeter};
use prune::{Overwritten, Prune};
use rustc_hash::{FxHashMap, FxHasher};
use snapshot::Snapshot;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// How the search places operations of unknown outcome. Both are exact; each is fast where the
/// other explodes, so the scheduler races them (see `schedule.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Only as the minimal sets that make a completed operation legal, right before it (see
    /// `info.rs`). `relaxed`: each may take effect any number of times (an over-approximation
    /// used to refute cheaply).
    JustInTime { relaxed: bool },
    /// As ordinary calls whose return lies at +∞ (Porcupine's way): placed where it cannot take
    /// effect (a `cas` that does not match) it changes nothing, and the search is done when
    /// every completed operation is placed (what is left never took effect). Such operations
    /// are tried before the completed candidates, earliest call first: placed at their first
    /// chance they leave few pending ones behind, where just-in-time placement enumerates every
    /// distinct chain of unknown `cas` that reaches a state.
    AtInfinity,
}

/// One operation of a partition, ready for the search.
#[derive(Clone)]
pub(crate) struct SearchOp<O> {
    pub op: O,
    pub call_pos: u32,
    /// `None` = unknown outcome.
    pub return_pos: Option<u32>,
    /// Index in the paired operations (for reports).
    pub source: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    Linearizable,
    NotLinearizable,
    Paused,
    OutOfMemory,
    /// A relaxed search whose state space is unbounded: only the exact search can decide.
    RelaxationUnbounded,
}

/// The deepest configuration the search reached: its path and the operations it could not place.
pub(crate) struct Deepest<O, S> {
    /// (source, op) in linearization order, unknown-outcome operations included.
    pub path: Vec<(u32, O)>,
    pub state: S,
    /// Candidates at that configuration: completed operations none of which could go next.
    pub stuck: Vec<(u32, O)>,
    /// Operations that need `state` and could never get it back once any candidate moved the
    /// state away from it (see `prune.rs`); empty when the candidates were simply impossible.
    pub stranded: Vec<(u32, O)>,
    /// When real-time order alone rules the stranded operation out: the operation that
    /// overwrote the state it needs, and the last operation that set that state (if any).
    pub overwritten: Option<OverwrittenBy<O>>,
}

pub(crate) struct OverwrittenBy<O> {
    pub by: (u32, O),
    pub last_setter: Option<(u32, O)>,
}

#[derive(Debug, Clone, Copy)]
enum Cursor {
    /// Looking for a legal candidate that never changes the state (a read): placing it first is
    /// always safe, so it is the only move tried (a *forced* move).
    Scan(u32),
    /// Trying candidates on their own: the `n`th of this level's candidates, earliest return
    /// first.
    Direct(u32),
    /// Trying candidates with unknown operations placed in front (alternative `alt`).
    Jit { entry: u32, alt: u32 },
}

struct Frame<S> {
    op: u32,
    prev_state: S,
    /// Where to resume after undoing this move; `None` = forced: its failure fails the parent.
    cursor: Option<Cursor>,
    /// Classes of unknown operations placed in front of `op`, in order.
    info: Vec<u32>,
}

type ReachSet<S> = Rc<Vec<Reached<S>>>;
/// Keyed by (state, free count per open class).
type ReachCache<S> = FxHashMap<(S, Vec<(u32, u32)>), ReachSet<S>>;

struct Level<S> {
    reach: Rc<Vec<Reached<S>>>,
    alts: Vec<Alt<S>>,
    /// The plain candidates of this configuration, earliest return first: the operation that
    /// must be placed soonest is the likeliest next one, and trying it first keeps the search
    /// on the real-time order instead of wandering through call-order permutations.
    cands: Vec<u32>,
    /// The first return entry of this configuration (the end of the candidates).
    frontier_entry: u32,
}

pub(crate) struct Search<'m, M: Model> {
    model: &'m M,
    /// The operations in the entry list: completed ones, and (placed at +∞) unknown-outcome ones.
    ops: Vec<M::Op>,
    /// Per operation: true for an unknown outcome placed at +∞ (it need not be placed at all).
    optional: Vec<bool>,
    /// Operations that must be placed (the completed ones).
    required: usize,
    /// Required operations on the stack.
    placed: usize,
    sources: Vec<u32>,
    /// Return position per completed operation.
    returns: Vec<u32>,
    /// Per completed operation: the first operation equal to it (interchangeable twins).
    class: Vec<u32>,
    /// Per class: the `stamp` of the last candidate collection that saw it.
    class_stamp: Vec<u32>,
    stamp: u32,
    prune: Option<Prune<M::State>>,
    /// The pruning for partitions with appends, when `prune` cannot run (see `grow.rs`).
    grow: Option<Grow<M::State>>,
    /// Operations a move from the current configuration would have stranded.
    stranded_here: Vec<u32>,
    /// Set when the initial configuration already strands an operation.
    dead_at_start: bool,
    /// Why, when real-time order alone strands it.
    overwritten: Option<Overwritten>,
    list: EntryList,
    pool: InfoPool<M::Op>,
    memo: Memo<M::State>,
    state: M::State,
    done: Bits,
    stack: Vec<Frame<M::State>>,
    cursor: Cursor,
    levels: Vec<Level<M::State>>,
    key: Vec<u64>,
    steps: u64,
    depth_best: usize,
    snapshot_due: bool,
    snapshot: Snapshot<M::State>,
    /// What unknown operations can reach, by (state, free count per open class): configurations
    /// at the same point of the history mostly share both, so it is computed once for them.
    reach_cache: ReachCache<M::State>,
    reach_cached_entries: usize,
}

impl<'m, M: Model> Search<'m, M> {
    /// `ops` in invocation order; unknown-outcome read-only operations must already be dropped.
    pub(crate) fn new(model: &'m M, ops: Vec<SearchOp<M::Op>>, placement: Placement) -> Self {
        let relaxed = placement == Placement::JustInTime { relaxed: true };
        let at_infinity = placement == Placement::AtInfinity;
        // Positions past every event stand for +∞ (distinct, in call order).
        let mut infinity = ops
            .iter()
            .map(|op| op.return_pos.unwrap_or(op.call_pos))
            .max()
            .map_or(0, |last| last + 1);
        let mut completed = Vec::new();
        let mut optional = Vec::new();
        let mut spans = Vec::new();
        let mut sources = Vec::new();
        let mut unknown = Vec::new();
        for op in ops {
            let ret = match op.return_pos {
                Some(ret) => ret,
                None if at_infinity => {
                    infinity += 1;
                    infinity - 1
                }
                None => {
                    unknown.push((op.op, op.call_pos, op.source));
                    continue;
                }
            };
            spans.push((op.call_pos, ret));
            sources.push(op.source);
            optional.push(op.return_pos.is_none());
            completed.push(op.op);
        }
        let list = EntryList::new(&spans);
        let returns = spans.iter().map(|&(_, ret)| ret).collect();
        let class: Vec<u32> = {
            // An optional operation may do nothing where its completed twin is impossible: they
            // are not interchangeable.
            let mut first: FxHashMap<(&M::Op, bool), u32> = FxHashMap::default();
            (0..completed.len() as u32)
                .map(|i| {
                    let key = (&completed[i as usize], optional[i as usize]);
                    *first.entry(key).or_insert(i)
                })
                .collect()
        };
        let prune = {
            let completed: Vec<_> = completed
                .iter()
                .zip(&spans)
                .zip(&optional)
                .map(|((op, &(c, r)), &optional)| (op, c, r, optional))
                .collect();
            let unknown: Vec<_> = unknown.iter().map(|(op, c, _)| (op, *c)).collect();
            Prune::new(model, &completed, &unknown)
        };
        let grow = match prune {
            Some(_) => None,
            None => {
                let ops: Vec<_> = completed
                    .iter()
                    .zip(&spans)
                    .map(|(op, &(c, r))| (op, c, r))
                    .collect();
                let unknown: Vec<_> = unknown.iter().map(|(op, c, _)| (op, *c)).collect();
                Grow::new(model, &ops, &unknown)
            }
        };
        let initial = model.init();
        let stranded = prune.as_ref().and_then(|p| p.stranded_at_start(&initial));
        let overwritten = match (&prune, stranded) {
            (Some(p), None) => p.overwritten_at_start(&initial),
            _ => None,
        };
        let stranded_here: Vec<u32> = stranded.or(overwritten.map(|o| o.op)).into_iter().collect();
        Search {
            model,
            required: optional.iter().filter(|&&o| !o).count(),
            placed: 0,
            optional,
            done: Bits::new(completed.len()),
            ops: completed,
            sources,
            returns,
            class_stamp: vec![0; class.len()],
            class,
            stamp: 0,
            dead_at_start: !stranded_here.is_empty(),
            stranded_here,
            overwritten,
            prune,
            grow,
            cursor: Cursor::Scan(list.first()),
            list,
            pool: InfoPool::new(unknown, relaxed),
            memo: Memo::new(),
            state: model.init(),
            stack: Vec::new(),
            levels: Vec::new(),
            key: Vec::new(),
            steps: 0,
            depth_best: 0,
            snapshot_due: true,
            snapshot: Snapshot::new(),
            reach_cache: FxHashMap::default(),
            reach_cached_entries: 0,
        }
    }

    pub(crate) fn is_relaxed(&self) -> bool {
        self.pool.relaxed
    }

    /// The state after `op`: an optional operation that cannot take effect changes nothing.
    fn step(&self, op: u32) -> Option<M::State> {
        let after = self.model.step(&self.state, &self.ops[op as usize]);
        match after {
            None if self.optional[op as usize] => Some(self.state.clone()),
            after => after,
        }
    }

    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    pub(crate) fn memo_bytes(&self) -> u64 {
        self.memo.charged_bytes()
    }

    /// Searches until done, or until `slice_steps` more steps have been taken (a just-in-time
    /// expansion may overrun the slice, but never `steps_max` in total).
    pub(crate) fn run(
        &mut self,
        slice_steps: u64,
        steps_max: u64,
        meter: &mut MemoryMeter,
        deadline: &Deadline,
    ) -> Progress {
        let stop_at = self.steps.saturating_add(slice_steps).min(steps_max);
        if self.dead_at_start {
            if self.snapshot.state.is_none() {
                self.snapshot();
            }
            return Progress::NotLinearizable;
        }
        loop {
            if self.placed == self.required {
                return Progress::Linearizable;
            }
            if self.steps >= stop_at {
                return Progress::Paused;
            }
            let outcome = match self.cursor {
                Cursor::Scan(entry) => self.scan(entry, meter),
                Cursor::Direct(entry) => self.direct(entry, steps_max, meter, deadline),
                Cursor::Jit { entry, alt } => self.jit(entry, alt, meter),
            };
            if let Some(progress) = outcome {
                return progress;
            }
        }
    }

    /// One step of the scan for a forced move.
    fn scan(&mut self, entry: u32, meter: &mut MemoryMeter) -> Option<Progress> {
        let Some(op) = self.list.call_op(entry) else {
            self.cursor = Cursor::Direct(0);
            return None;
        };
        self.cursor = Cursor::Scan(self.list.next(entry));
        // Only an operation that never changes the state can be moved to the front of any
        // linearization without changing what the others see (a write of the current value
        // cannot: elsewhere it would change the state).
        if !self.model.is_read_only(&self.ops[op as usize]) {
            return None;
        }
        self.steps += 1;
        let after = self.step(op)?;
        self.push(op, None, Vec::new(), after, meter)
    }

    /// One plain move attempt; `Some` when the search is over (or must pause).
    fn direct(
        &mut self,
        nth: u32,
        steps_max: u64,
        meter: &mut MemoryMeter,
        deadline: &Deadline,
    ) -> Option<Progress> {
        let depth = self.stack.len();
        if nth == 0 {
            self.collect_candidates(depth);
        }
        let Some(&op) = self.levels[depth].cands.get(nth as usize) else {
            // Every plain candidate has failed here.
            let frontier = self.list.pos(self.levels[depth].frontier_entry);
            let open = if self.pool.is_empty() {
                Vec::new()
            } else {
                self.pool.open_classes(frontier)
            };
            if open.is_empty() {
                return self.backtrack();
            }
            let reach = match self.reach(open, frontier, steps_max, deadline) {
                Ok(reach) => reach,
                Err(info::ReachStop::Budget) => return Some(Progress::Paused),
                Err(info::ReachStop::Unbounded) => return Some(Progress::RelaxationUnbounded),
            };
            self.level(depth).reach = reach;
            self.cursor = Cursor::Jit {
                entry: self.list.first(),
                alt: 0,
            };
            return None;
        };
        self.steps += 1;
        self.cursor = Cursor::Direct(nth + 1);
        let after = self.step(op)?;
        self.push(op, Some(Cursor::Direct(nth)), Vec::new(), after, meter)
    }

    /// The calls before the first return entry, earliest return first.
    fn collect_candidates(&mut self, depth: usize) {
        let mut cands = std::mem::take(&mut self.level(depth).cands);
        cands.clear();
        let mut entry = self.list.first();
        while let Some(op) = self.list.call_op(entry) {
            cands.push(op);
            entry = self.list.next(entry);
        }
        // Unknown outcomes placed at +∞ go first, earliest call first (their returns at +∞ are
        // in call order): placed at the first chance, where most of them took effect or can do
        // nothing, they leave few pending ones behind, so configurations recur in the memo.
        // Measured on etcd-shaped histories with 5 % timed-out cas: ~40 k steps where trying
        // them last took ~1 M and Porcupine's pure call order ran out of memory.
        let (returns, optional) = (&self.returns, &self.optional);
        cands.sort_unstable_by_key(|&op| (!optional[op as usize], returns[op as usize]));
        // Of identical operations only the first to return need be tried: if a linearization
        // continues with a later-returning twin, swapping the two gives one that continues with
        // the earlier (same effect; the earlier return only tightens where it may go).
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.class_stamp.iter_mut().for_each(|s| *s = 0);
            self.stamp = 1;
        }
        let (stamp, class_stamp, class) = (self.stamp, &mut self.class_stamp, &self.class);
        cands.retain(|&op| {
            let seen = &mut class_stamp[class[op as usize] as usize];
            std::mem::replace(seen, stamp) != stamp
        });
        let level = self.level(depth);
        level.cands = cands;
        level.frontier_entry = entry;
    }

    fn level(&mut self, depth: usize) -> &mut Level<M::State> {
        while self.levels.len() <= depth {
            self.levels.push(Level {
                reach: Rc::new(Vec::new()),
                alts: Vec::new(),
                cands: Vec::new(),
                frontier_entry: 0,
            });
        }
        &mut self.levels[depth]
    }

    /// Linearizes `op` (after the unknown operations `info`) unless that configuration was seen.
    fn push(
        &mut self,
        op: u32,
        cursor: Option<Cursor>,
        info: Vec<u32>,
        after: M::State,
        meter: &mut MemoryMeter,
    ) -> Option<Progress> {
        if let Some(prune) = &mut self.prune {
            prune.mark(op, true);
            if let Some(stranded) = prune.stranded(&self.state, &after) {
                prune.mark(op, false);
                if !self.stranded_here.contains(&stranded) {
                    self.stranded_here.push(stranded);
                }
                return None;
            }
        }
        if let Some(grow) = &self.grow
            && after != self.state
        {
            let mut candidates = Vec::new();
            let mut entry = self.list.first();
            while let Some(c) = self.list.call_op(entry) {
                if c != op {
                    candidates.push(c);
                }
                entry = self.list.next(entry);
            }
            let done = &self.done;
            let placed = |o: u32| done.get(o as usize);
            if let Some(stranded) =
                grow.stranded(self.model, &after, candidates.into_iter(), placed)
            {
                if !self.stranded_here.contains(&stranded) {
                    self.stranded_here.push(stranded);
                }
                return None;
            }
        }
        self.done.set(op as usize);
        for &k in &info {
            self.pool.take(k);
        }
        self.key.clear();
        self.done.push_key_words(&mut self.key);
        self.pool.push_key_words(&mut self.key);
        let mut hasher = FxHasher::default();
        self.key.hash(&mut hasher);
        after.hash(&mut hasher);
        let inserted = self.memo.insert(hasher.finish(), &self.key, &after, meter);
        if !matches!(inserted, Insert::New) {
            for &k in info.iter().rev() {
                self.pool.give_back(k);
            }
            self.done.clear(op as usize);
            if let Some(prune) = &mut self.prune {
                prune.mark(op, false);
            }
            return matches!(inserted, Insert::OutOfMemory).then_some(Progress::OutOfMemory);
        }
        self.list.lift(op);
        if !self.optional[op as usize] {
            self.placed += 1;
        }
        let prev_state = std::mem::replace(&mut self.state, after);
        self.stack.push(Frame {
            op,
            prev_state,
            cursor,
            info,
        });
        self.stranded_here.clear();
        if self.stack.len() > self.depth_best {
            self.depth_best = self.stack.len();
            self.snapshot_due = true;
        }
        self.cursor = Cursor::Scan(self.list.first());
        None
    }

    /// Undoes the last move and resumes after it; `Some(NotLinearizable)` when none is left.
    fn backtrack(&mut self) -> Option<Progress> {
        if self.snapshot_due && self.stack.len() == self.depth_best {
            self.snapshot();
            self.snapshot_due = false;
        }
        loop {
            let Some(frame) = self.stack.pop() else {
                return Some(Progress::NotLinearizable);
            };
            self.snapshot.common = self.snapshot.common.min(self.stack.len());
            self.stranded_here.clear();
            self.list.unlift(frame.op);
            if let Some(prune) = &mut self.prune {
                prune.mark(frame.op, false);
            }
            self.done.clear(frame.op as usize);
            if !self.optional[frame.op as usize] {
                self.placed -= 1;
            }
            for &k in frame.info.iter().rev() {
                self.pool.give_back(k);
            }
            self.state = frame.prev_state;
            let Some(cursor) = frame.cursor else {
                // A forced move failed, so its parent configuration fails too.
                continue;
            };
            self.cursor = match cursor {
                Cursor::Direct(nth) => Cursor::Direct(nth + 1),
                // Forced moves are stored without a cursor: a scan is never resumed.
                Cursor::Scan(_) => Cursor::Direct(0),
                Cursor::Jit { entry, alt } => Cursor::Jit {
                    entry,
                    alt: alt + 1,
                },
            };
            return None;
        }
    }
}
