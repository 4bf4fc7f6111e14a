//! Raft's log invariants judged on made-up records: each must fail on records that break its
//! property and pass on those that keep it, including the legal cases that look alike
//! (a follower truncating an uncommitted tail, a snapshot installed, a restart, compaction).

use super::invariants_raft::{LeaderAppendOnly, LeaderCompleteness, LogMatching};
use crate::counters::Counters;
use crate::event::{Event, EventRecord};
use crate::history::History;
use crate::ids::{Incarnation, NodeId};
use crate::invariants::{Invariant, Outcome, RunRecords};
use crate::time::SimTime;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn observe(ms: u64, node: u32, incarnation: u32, label: &str, value: Value) -> EventRecord {
    EventRecord {
        time_ns: SimTime::from_ms(ms),
        event: Event::Observe {
            node: NodeId(node),
            incarnation: Incarnation(incarnation),
            label: label.into(),
            value,
        },
    }
}

/// A log summary as the node records it.
struct Log {
    node: u32,
    incarnation: u32,
    group: u64,
    term: u64,
    leader: bool,
    won: bool,
    snapshot: (u64, u64),
    runs: Vec<(u64, u64)>,
    last: u64,
    cut: Option<u64>,
}

impl Log {
    /// A follower's log of `node` in `term`, no snapshot.
    fn of(node: u32, term: u64, runs: &[(u64, u64)], last: u64) -> Log {
        Log {
            node,
            incarnation: 1,
            group: 0,
            term,
            leader: false,
            won: false,
            snapshot: (0, 0),
            runs: runs.to_vec(),
            last,
            cut: None,
        }
    }

    fn won(mut self) -> Log {
        self.leader = true;
        self.won = true;
        self
    }

    fn leading(mut self) -> Log {
        self.leader = true;
        self
    }

    fn snapshot(mut self, index: u64, term: u64) -> Log {
        self.snapshot = (index, term);
        self
    }

    fn cut(mut self, from: u64) -> Log {
        self.cut = Some(from);
        self
    }

    fn incarnation(mut self, incarnation: u32) -> Log {
        self.incarnation = incarnation;
        self
    }

    fn group(mut self, group: u64) -> Log {
        self.group = group;
        self
    }

    fn at(self, ms: u64) -> EventRecord {
        observe(
            ms,
            self.node,
            self.incarnation,
            "raft/log",
            json!({"group": self.group, "term": self.term, "leader": self.leader,
                   "won": self.won, "snapshot": [self.snapshot.0, self.snapshot.1],
                   "runs": self.runs, "last": self.last, "cut": self.cut}),
        )
    }
}

/// Leader `node` of `term` committed `index`, an entry of `entry_term`.
fn commit(ms: u64, node: u32, group: u64, term: u64, index: u64, entry_term: u64) -> EventRecord {
    observe(
        ms,
        node,
        1,
        "raft/commit",
        json!({"group": group, "term": term, "index": index, "entry_term": entry_term}),
    )
}

fn judge(inv: &dyn Invariant, events: &[EventRecord]) -> Outcome {
    let history = History { events: Vec::new() };
    let (counters, expect) = (Counters::default(), BTreeMap::new());
    let records = RunRecords {
        history: &history,
        events,
        counters: &counters,
        events_overflowed: false,
        heal_at: SimTime::from_ms(1000),
        liveness_ms: 4000,
        clients: 2,
        expect: &expect,
        scheduled: &[],
    };
    inv.check(&records)
}

fn assert_fails(inv: &dyn Invariant, events: &[EventRecord], says: &str) {
    match judge(inv, events) {
        Outcome::Fail(why) => assert!(why.contains(says), "{}: {why}", inv.name()),
        other => panic!("{}: expected a failure, got {other:?}", inv.name()),
    }
}

fn assert_passes(inv: &dyn Invariant, events: &[EventRecord]) {
    assert_eq!(judge(inv, events), Outcome::Pass, "{}", inv.name());
}

#[test]
fn leader_completeness_fails_when_a_winner_lacks_a_committed_entry() {
    // n0 led term 1 and committed index 5; n3 wins term 2 with a log ending at 3.
    let events = [
        commit(10, 0, 0, 1, 5, 1),
        Log::of(3, 2, &[(1, 1), (4, 2)], 4).won().at(20),
    ];
    assert_fails(&LeaderCompleteness, &events, "n3 won term 2");
    // The winner's log holds index 5, but of another term: also a failure.
    let events = [
        commit(10, 0, 0, 1, 5, 1),
        Log::of(3, 3, &[(1, 1), (5, 2), (6, 3)], 6).won().at(20),
    ];
    assert_fails(&LeaderCompleteness, &events, "index 5");
}

#[test]
fn leader_completeness_passes_a_winner_holding_every_earlier_commit() {
    let events = [
        commit(10, 0, 0, 1, 5, 1),
        // A commit of a later term than the win is not the winner's to hold.
        commit(12, 1, 0, 4, 9, 4),
        Log::of(3, 2, &[(1, 1), (6, 2)], 6).won().at(20),
        // A commit recorded after the win, by a leader of an earlier term, counts too.
        commit(30, 0, 0, 1, 5, 1),
    ];
    assert_passes(&LeaderCompleteness, &events);
}

#[test]
fn leader_completeness_counts_a_commit_recorded_after_the_win() {
    // The committing majority stored index 7 before any of them voted in term 2.
    let events = [
        Log::of(3, 2, &[(1, 1), (6, 2)], 6).won().at(20),
        commit(30, 0, 0, 1, 7, 1),
    ];
    assert_fails(&LeaderCompleteness, &events, "no entry at index 7");
}

#[test]
fn leader_completeness_trusts_the_snapshot_and_keeps_groups_apart() {
    // Index 5 lies inside the winner's snapshot (at 8): compacted, so committed there.
    let events = [
        commit(10, 0, 0, 1, 5, 1),
        Log::of(3, 2, &[(9, 2)], 9).snapshot(8, 1).won().at(20),
    ];
    assert_passes(&LeaderCompleteness, &events);
    // At the snapshot's own index the term is known and must match.
    let events = [
        commit(10, 0, 0, 1, 8, 1),
        Log::of(3, 3, &[(9, 3)], 9).snapshot(8, 2).won().at(20),
    ];
    assert_fails(&LeaderCompleteness, &events, "index 8");
    // A commit in group 1 says nothing about group 0's winner (sharded kv).
    let events = [
        commit(10, 0, 1, 1, 5, 1),
        Log::of(3, 2, &[(1, 2)], 1).won().at(20),
    ];
    assert_passes(&LeaderCompleteness, &events);
}

#[test]
fn log_matching_fails_on_logs_sharing_an_entry_over_different_prefixes() {
    // Both hold (index 6, term 3); below it one has term 1 at 4, the other term 2.
    let events = [
        Log::of(0, 3, &[(1, 1), (6, 3)], 7).at(10),
        Log::of(1, 3, &[(1, 1), (4, 2), (6, 3)], 6).at(20),
    ];
    assert_fails(&LogMatching, &events, "index 4");
}

#[test]
fn log_matching_passes_a_follower_that_truncated_an_uncommitted_tail() {
    // n1 had entries of term 2 from 4 on, never committed; the term-3 leader's log replaces
    // them (cut at 4). The old and new summaries share only the prefix up to 3, and agree.
    let events = [
        Log::of(2, 3, &[(1, 1), (4, 3)], 5).won().at(5),
        Log::of(1, 2, &[(1, 1), (4, 2)], 6).at(10),
        Log::of(1, 3, &[(1, 1), (4, 3)], 5).cut(4).at(20),
    ];
    assert_passes(&LogMatching, &events);
    assert_passes(&LeaderAppendOnly, &events);
}

#[test]
fn log_matching_compares_above_snapshots_and_by_group() {
    // n1 installed a snapshot at 5 (term 2): what lies below it is not known, not a mismatch.
    let events = [
        Log::of(0, 2, &[(1, 1), (4, 2)], 8).at(10),
        Log::of(1, 2, &[(6, 2)], 9).snapshot(5, 2).at(20),
    ];
    assert_passes(&LogMatching, &events);
    // The snapshot's term is known, though: term 1 at 5 under a shared (7, 2) is a mismatch.
    let events = [
        Log::of(0, 2, &[(1, 1), (4, 2)], 8).at(10),
        Log::of(1, 2, &[(6, 2)], 9).snapshot(5, 1).at(20),
    ];
    assert_fails(&LogMatching, &events, "index 5");
    // Two groups' logs are never compared.
    let events = [
        Log::of(0, 3, &[(1, 1), (6, 3)], 7).at(10),
        Log::of(1, 3, &[(1, 1), (4, 2), (6, 3)], 6).group(1).at(20),
    ];
    assert_passes(&LogMatching, &events);
}

#[test]
fn log_matching_passes_a_restarted_node_and_logs_that_diverge_only_at_the_tail() {
    // n1 restarts (incarnation 2) with its log as it was, then learns term 3 — and n0's log
    // diverges from it only above every entry they share.
    let events = [
        Log::of(1, 2, &[(1, 1), (4, 2)], 5).at(10),
        Log::of(1, 2, &[(1, 1), (4, 2)], 5).incarnation(2).at(20),
        Log::of(0, 3, &[(1, 1), (4, 2), (5, 3)], 6).at(30),
    ];
    assert_passes(&LogMatching, &events);
}

#[test]
fn leader_append_only_fails_when_a_leader_truncates_or_rewrites_its_log() {
    let won = || Log::of(0, 3, &[(1, 1), (4, 3)], 6).won();
    // Truncated from 5, inside what it had.
    let events = [
        won().at(10),
        Log::of(0, 3, &[(1, 1), (4, 3)], 6).leading().cut(5).at(20),
    ];
    assert_fails(&LeaderAppendOnly, &events, "truncated its log from index 5");
    // Its log got shorter.
    let events = [
        won().at(10),
        Log::of(0, 3, &[(1, 1), (4, 3)], 4).leading().at(20),
    ];
    assert_fails(&LeaderAppendOnly, &events, "ends at 4");
    // Index 4 changed term.
    let events = [
        won().at(10),
        Log::of(0, 3, &[(1, 1), (5, 3)], 7).leading().at(20),
    ];
    assert_fails(&LeaderAppendOnly, &events, "index 4");
}

#[test]
fn leader_append_only_passes_extensions_compaction_and_new_leaderships() {
    let events = [
        Log::of(0, 3, &[(1, 1), (4, 3)], 6).won().at(10),
        // Extended, and compacted up to 5: not a deletion.
        Log::of(0, 3, &[(6, 3)], 9).snapshot(5, 3).leading().at(20),
        // A truncation above what it had is an append.
        Log::of(0, 3, &[(6, 3)], 12)
            .snapshot(5, 3)
            .leading()
            .cut(10)
            .at(30),
        // The same node as a follower of term 4 may lose entries: not its leadership.
        Log::of(0, 4, &[(1, 1), (4, 3)], 4).cut(5).at(40),
        // A new incarnation leading the next term starts a new leadership.
        Log::of(0, 5, &[(1, 1), (4, 3), (5, 5)], 5)
            .incarnation(2)
            .won()
            .at(50),
    ];
    assert_passes(&LeaderAppendOnly, &events);
}

#[test]
fn malformed_summaries_are_unknown_never_a_pass() {
    // Runs must start right after the snapshot.
    let events = [Log::of(0, 2, &[(3, 1)], 4).at(10)];
    for inv in [
        &LeaderCompleteness as &dyn Invariant,
        &LogMatching,
        &LeaderAppendOnly,
    ] {
        assert!(
            matches!(judge(inv, &events), Outcome::Unknown(_)),
            "{}",
            inv.name()
        );
    }
}
