//! Real sockets are a hostile network: a replica must survive whatever a peer sends. Arbitrary
//! decoded messages, in arbitrary order, from arbitrary claimed senders (members, strangers,
//! itself), mixed with ticks, proposals and reads, never make the core panic, and never break
//! its own safety: the term and the commit index never go back, the log stays well formed.
//! What no correct replica sends is refused (and reported), not acted on.

use super::super::*;
use crate::ids::NodeId;
use crate::rng::component_rng;
use crate::time::LocalInstant;
use proptest::prelude::*;

type Cmd = u64;

/// Small numbers most of the time (so messages meet the replica's own terms and indexes and
/// reach deep paths), now and then anything at all.
fn num() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..8, 1 => any::<u64>()]
}

fn entry() -> impl Strategy<Value = Entry<Cmd>> {
    (num(), num(), prop::option::of(any::<u64>())).prop_map(|(term, index, cmd)| Entry {
        term,
        index,
        payload: cmd.map_or(Payload::Noop, Payload::Command),
    })
}

fn entries() -> impl Strategy<Value = Vec<Entry<Cmd>>> {
    prop_oneof![
        // Well formed: contiguous indexes, rising terms (re-numbered in `append`).
        3 => prop::collection::vec(entry(), 0..6).prop_map(|mut v| {
            v.sort_by_key(|e| e.term);
            v
        }),
        // Anything.
        1 => prop::collection::vec(entry(), 0..6),
    ]
}

fn message() -> impl Strategy<Value = RaftMsg<Cmd>> {
    prop_oneof![
        (num(), num(), num()).prop_map(|(term, last_index, last_term)| RaftMsg::PreVote {
            term,
            last_index,
            last_term
        }),
        (num(), any::<bool>()).prop_map(|(term, granted)| RaftMsg::PreVoteResp { term, granted }),
        (num(), num(), num()).prop_map(|(term, last_index, last_term)| RaftMsg::Vote {
            term,
            last_index,
            last_term
        }),
        (num(), any::<bool>()).prop_map(|(term, granted)| RaftMsg::VoteResp { term, granted }),
        (num(), num(), num(), entries(), num(), num(), any::<bool>()).prop_map(
            |(term, prev_index, prev_term, mut entries, commit, round, renumber)| {
                if renumber {
                    for (i, e) in (1u64..).zip(entries.iter_mut()) {
                        e.index = prev_index.wrapping_add(i);
                    }
                }
                RaftMsg::Append {
                    term,
                    prev_index,
                    prev_term,
                    entries,
                    commit,
                    round,
                }
            }
        ),
        (
            num(),
            num(),
            prop::option::of((prop::option::of(num()), num())),
            num()
        )
            .prop_map(|(term, index, reject, round)| RaftMsg::AppendResp {
                term,
                index,
                reject: reject.map(|(conflict_term, first_index)| RejectHint {
                    conflict_term,
                    first_index,
                }),
                round,
            }),
        (
            num(),
            (num(), num()),
            num(),
            prop::collection::vec(any::<u8>(), 0..16),
            any::<bool>(),
            num()
        )
            .prop_map(|(term, (index, mterm), offset, data, done, round)| {
                RaftMsg::Snapshot {
                    term,
                    meta: SnapshotMeta { index, term: mterm },
                    offset,
                    data,
                    done,
                    round,
                }
            }),
        (num(), num(), num(), any::<bool>(), num()).prop_map(
            |(term, index, next_offset, installed, round)| RaftMsg::SnapshotResp {
                term,
                index,
                next_offset,
                installed,
                round,
            }
        ),
    ]
}

/// Which term a generated message claims.
#[derive(Debug, Clone, Copy)]
enum TermOf {
    /// As generated.
    AsIs,
    /// The replica's own term (so the message is neither stale nor a new term).
    Current,
    /// One above (what a campaign's votes and pre-votes carry).
    Next,
}

#[derive(Debug, Clone)]
enum Action {
    /// A message "from" this node id (0..=4: members 0..=2, itself is 1, 3 and 4 strangers).
    Message(u32, RaftMsg<Cmd>, TermOf),
    /// Local time moves on by this many ms, and timers fire.
    Tick(u64),
    /// The election timer runs out now.
    Campaign,
    Propose(Cmd),
    Read(u64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0u32..5, message(), prop_oneof![Just(TermOf::AsIs), Just(TermOf::Current), Just(TermOf::Next)])
            .prop_map(|(from, m, t)| Action::Message(from, m, t)),
        // Votes for this replica's campaign, so it leads now and then and the leader's paths
        // meet hostile messages too.
        2 => (prop_oneof![Just(0u32), Just(2u32)], any::<bool>()).prop_map(|(from, pre)| {
            let m = if pre {
                RaftMsg::PreVoteResp { term: 0, granted: true }
            } else {
                RaftMsg::VoteResp { term: 0, granted: true }
            };
            Action::Message(from, m, if pre { TermOf::Next } else { TermOf::Current })
        }),
        2 => (0u64..400).prop_map(Action::Tick),
        1 => Just(Action::Campaign),
        1 => any::<u64>().prop_map(Action::Propose),
        1 => any::<u64>().prop_map(Action::Read),
    ]
}

fn set_term(m: &mut RaftMsg<Cmd>, t: u64) {
    match m {
        RaftMsg::PreVote { term, .. }
        | RaftMsg::PreVoteResp { term, .. }
        | RaftMsg::Vote { term, .. }
        | RaftMsg::VoteResp { term, .. }
        | RaftMsg::Append { term, .. }
        | RaftMsg::AppendResp { term, .. }
        | RaftMsg::Snapshot { term, .. }
        | RaftMsg::SnapshotResp { term, .. } => *term = t,
    }
}

fn replica() -> (RaftCore<Cmd>, crate::rng::DetRng) {
    let mut rng = component_rng(7, "hostile", 0);
    let members = [NodeId(0), NodeId(1), NodeId(2)];
    let cfg = RaftConfig {
        append_entries_max: 4,
        compact_after_entries: 8,
        snapshot_chunk_bytes: 8,
        lease_read: Some(LeaseConfig::default()),
        ..RaftConfig::default()
    };
    let core = RaftCore::new(
        NodeId(1),
        &members,
        cfg,
        RaftBugs::default(),
        Recovered::default(),
        LocalInstant { ns: 1_000_000_000 },
        &mut rng,
    );
    (core, rng)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn whatever_peers_send_the_replica_neither_panics_nor_goes_back(
        actions in prop::collection::vec(action(), 1..120)
    ) {
        let (mut core, mut rng) = replica();
        let mut now = LocalInstant { ns: 1_000_000_000 };
        let (mut term, mut commit) = (core.term(), core.commit_index());
        for a in actions {
            match a {
                Action::Message(from, mut m, t) => {
                    let claimed = match t {
                        TermOf::AsIs => None,
                        TermOf::Current => Some(core.term()),
                        TermOf::Next => Some(core.term().saturating_add(1)),
                    };
                    if let Some(claimed) = claimed {
                        set_term(&mut m, claimed);
                    }
                    core.step(NodeId(from), m, now, &mut rng);
                }
                Action::Tick(ms) => {
                    now = now.saturating_add(std::time::Duration::from_millis(ms));
                    core.on_time(now, &mut rng);
                }
                Action::Campaign => {
                    core.expire_election_timer();
                    core.on_time(now, &mut rng);
                }
                Action::Propose(c) => {
                    let _ = core.propose(c, now);
                }
                Action::Read(ctx) => {
                    let _ = core.read_index(ctx, now);
                }
            }
            // The host's side of the contract: everything in the Ready is done.
            let _ = core.ready();
            core.log.check(true);
            prop_assert!(core.term() >= term, "term went back: {} after {term}", core.term());
            prop_assert!(
                core.commit_index() >= commit,
                "commit went back: {} after {commit}",
                core.commit_index()
            );
            prop_assert!(core.commit_index() <= core.last_index().max(core.snapshot_meta().index));
            term = core.term();
            commit = core.commit_index();
        }
    }
}

#[test]
fn what_no_correct_replica_sends_is_refused_and_reported() {
    let (mut core, mut rng) = replica();
    let now = LocalInstant { ns: 1_000_000_000 };
    // A gap: entry 3 does not follow prev_index 0.
    let gap = RaftMsg::Append {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![Entry {
            term: 1,
            index: 3,
            payload: Payload::Command(9),
        }],
        commit: 0,
        round: 0,
    };
    core.step(NodeId(0), gap, now, &mut rng);
    assert_eq!(core.last_index(), 0, "nothing appended");
    let huge = RaftMsg::<Cmd>::VoteResp {
        term: u64::MAX,
        granted: true,
    };
    core.step(NodeId(2), huge, now, &mut rng);
    assert!(core.term() < 10, "an out-of-range term was adopted");
    let flood = RaftMsg::<Cmd>::Snapshot {
        term: 1,
        meta: SnapshotMeta { index: 5, term: 1 },
        offset: SNAPSHOT_BYTES_MAX,
        data: vec![0; 16],
        done: false,
        round: 0,
    };
    core.step(NodeId(0), flood, now, &mut rng);
    let refused = core.take_refused();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(core.take_refused().is_empty(), "reported once");
}
