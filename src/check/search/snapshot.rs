//! The deepest configuration a search reached, kept for the counterexample of a failed search.

use super::super::model::Model;
use super::{Deepest, OverwrittenBy, Search};

/// The deepest configuration, kept incrementally: `frames` shares its first `common` frames with
/// the current stack, so recording a new deepest point costs only the frames that changed.
pub(super) struct Snapshot<S> {
    pub(super) frames: Vec<(u32, Vec<u32>)>,
    pub(super) common: usize,
    pub(super) state: Option<S>,
    pub(super) stuck: Vec<u32>,
    pub(super) stranded: Vec<u32>,
}

impl<S> Snapshot<S> {
    pub(super) fn new() -> Self {
        Snapshot {
            frames: Vec::new(),
            common: 0,
            state: None,
            stuck: Vec::new(),
            stranded: Vec::new(),
        }
    }
}

impl<M: Model> Search<'_, M> {
    /// The deepest configuration reached, for the counterexample of a failed search.
    pub(crate) fn deepest(&self) -> Option<Deepest<M::Op, M::State>> {
        let state = self.snapshot.state.clone()?;
        let mut taken = vec![0usize; self.pool.classes.len()];
        let mut path = Vec::new();
        for (op, info) in &self.snapshot.frames {
            for &k in info {
                let class = &self.pool.classes[k as usize];
                // Relaxed searches may use an operation more than once: show its first copy.
                let nth = taken[k as usize].min(class.ids.len() - 1);
                let id = class.ids[nth] as usize;
                taken[k as usize] += 1;
                path.push((self.pool.sources[id], class.op.clone()));
            }
            let op = *op as usize;
            path.push((self.sources[op], self.ops[op].clone()));
        }
        let one = |op: u32| (self.sources[op as usize], self.ops[op as usize].clone());
        let described = |ops: &[u32]| ops.iter().map(|&op| one(op)).collect();
        // Only the initial configuration can be ruled out by real-time order alone.
        let overwritten = self
            .overwritten
            .filter(|_| self.snapshot.frames.is_empty())
            .map(|o| OverwrittenBy {
                by: one(o.by),
                last_setter: o.last_setter.map(one),
            });
        Some(Deepest {
            path,
            state,
            stuck: described(&self.snapshot.stuck),
            stranded: described(&self.snapshot.stranded),
            overwritten,
        })
    }

    /// Records the current (deepest so far) configuration for the counterexample.
    pub(super) fn snapshot(&mut self) {
        let snapshot = &mut self.snapshot;
        snapshot.frames.truncate(snapshot.common);
        for frame in &self.stack[snapshot.common..] {
            snapshot.frames.push((frame.op, frame.info.clone()));
        }
        snapshot.common = self.stack.len();
        snapshot.state = Some(self.state.clone());
        snapshot.stranded.clone_from(&self.stranded_here);
        snapshot.stuck.clear();
        let mut entry = self.list.first();
        while let Some(op) = self.list.call_op(entry) {
            // An unknown outcome placed at +∞ is never what could not be placed.
            if !self.optional[op as usize] {
                snapshot.stuck.push(op);
            }
            entry = self.list.next(entry);
        }
    }
}
