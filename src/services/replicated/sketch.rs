//! A replica's abstract state for guided exploration: where Raft stands on this node, plus the
//! state machine's own dimensions. The dimensions are the ones Raft's subtle bugs hide behind:
//! a leader with uncommitted entries of an old term (Figure 8), a follower far behind the
//! commit point (snapshot install), a node whose term ran ahead of its log (a storm of
//! elections), a compacted log.

use super::StateMachine;
use crate::node::sketch::Sketch;
use crate::services::raft::{Command, RaftCore, Role};
use crate::time::LocalNow;

/// Writes the Raft dimensions of `core` and then `machine`'s.
pub(super) fn replica<C: Command, M: StateMachine>(
    core: &RaftCore<C>,
    machine: &M,
    now: LocalNow,
    sketch: &mut Sketch,
) {
    let role = match core.role() {
        Role::Follower => 0,
        Role::PreCandidate => 1,
        Role::Candidate => 2,
        Role::Leader => 3,
    };
    let last = core.last_index();
    let last_term = core.term_at(last).unwrap_or(0);
    let commit = core.commit_index();
    sketch
        .dim("role", role)
        .flag("leader_known", core.leader().is_some())
        .count("term_gap", core.term().saturating_sub(last_term))
        .count("commit_lag", last.saturating_sub(commit))
        .count("apply_lag", commit.saturating_sub(core.applied_index()))
        // Entries past the commit point written in an earlier term: what §5.4.2 is about.
        .flag("old_term_tail", last > commit && last_term < core.term())
        .flag("compacted", core.snapshot_meta().index > 0);
    machine.sketch(now, sketch);
}
