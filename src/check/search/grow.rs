//! Dead-configuration pruning for partitions `prune.rs` cannot handle: those with operations
//! whose result is not a fixed state (an `append`), which the model can bound with
//! [`Model::can_reach`] (a string only grows by appends).
//!
//! A completed read of V not yet linearized must still see V. After a move leaves the state S,
//! V must be reachable from S by such operations, or some operation that sets a fixed state W
//! from which V is reachable must still be available (not yet placed, invoked before the read
//! returns); otherwise no linearization continues from here. Only reads that are candidates
//! now are checked (a sound subset: checking fewer only prunes less), so the cost per move is
//! bounded by the concurrency, not by the history's length. Without this, every order of a few
//! concurrent appends is explored until a later read rules it out.

use super::super::model::Model;

pub(super) struct Grow<S> {
    /// Per operation: the state it needs, for read-only operations.
    reads: Vec<Option<S>>,
    /// Operations that set a fixed state: (call, op, state), by call. `op` = `u32::MAX` for an
    /// unknown outcome placed just in time, which is never used up.
    setters: Vec<(u32, u32, S)>,
    returns: Vec<u32>,
}

impl<S: Clone + Eq> Grow<S> {
    /// `ops`: (operation, call, return) per operation of the entry list; `unknown`: (operation,
    /// call) of those placed just in time. `None` when there is nothing to check or the model
    /// gives no bound (a setter without a fixed state and no growth rule).
    pub(super) fn new<M: Model<State = S>>(
        model: &M,
        ops: &[(&M::Op, u32, u32)],
        unknown: &[(&M::Op, u32)],
    ) -> Option<Self> {
        let init = model.init();
        // The default `None` ("anything may happen") turns this pruning off.
        model.can_reach(&init, &init)?;
        let mut reads = Vec::with_capacity(ops.len());
        let mut setters = Vec::new();
        for (index, &(op, call, _)) in ops.iter().enumerate() {
            let read_only = model.is_read_only(op);
            reads.push(if read_only { model.requires(op) } else { None });
            if !read_only && let Some(state) = model.sets(op) {
                setters.push((call, index as u32, state));
            }
        }
        for &(op, call) in unknown {
            if !model.is_read_only(op)
                && let Some(state) = model.sets(op)
            {
                setters.push((call, u32::MAX, state));
            }
        }
        if reads.iter().all(Option::is_none) {
            return None;
        }
        setters.sort_by_key(|&(call, op, _)| (call, op));
        Some(Grow {
            reads,
            setters,
            returns: ops.iter().map(|&(_, _, ret)| ret).collect(),
        })
    }

    /// After a move to `after`: a candidate read (from `candidates`) that can no longer see its
    /// value, if any. `placed(op)` says whether an operation is already linearized.
    pub(super) fn stranded<M: Model<State = S>>(
        &self,
        model: &M,
        after: &S,
        candidates: impl Iterator<Item = u32>,
        placed: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        for read in candidates {
            let Some(needed) = &self.reads[read as usize] else {
                continue;
            };
            if model.can_reach(after, needed) != Some(false) {
                continue;
            }
            let ret = self.returns[read as usize];
            let rescued = self
                .setters
                .iter()
                .take_while(|&&(call, _, _)| call < ret)
                .any(|(_, op, state)| {
                    (*op == u32::MAX || !placed(*op))
                        && model.can_reach(state, needed) != Some(false)
                });
            if !rescued {
                return Some(read);
            }
        }
        None
    }
}
