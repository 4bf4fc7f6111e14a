use super::machine::{DutyConfig, LockMachine, LockOp, LockResult};
use crate::services::replicated::StateMachine;
use crate::time::{LocalInstant, LocalNow, WallTime};
use std::time::Duration;

/// The leader's clocks at monotonic `mono` (the lock's duties read only the monotonic one).
fn clocks(mono: LocalInstant) -> LocalNow {
    LocalNow {
        mono,
        wall: WallTime::default(),
    }
}

fn acquire(name: &str, client: u64, attempt: u64) -> LockOp {
    LockOp::Acquire {
        name: name.to_string(),
        client,
        lease_ms: 1000,
        attempt,
    }
}

fn granted(r: &LockResult) -> Option<u64> {
    match r {
        LockResult::Granted { token, .. } => Some(*token),
        _ => None,
    }
}

#[test]
fn tokens_increase_and_waiters_are_served_in_order() {
    let mut m = LockMachine::empty();
    let t1 = granted(&m.apply(1, &acquire("a", 1, 0)));
    assert_eq!(t1, Some(1));
    // 3 queues before 2.
    assert!(matches!(
        m.apply(2, &acquire("a", 3, 0)),
        LockResult::Queued { position: 0, .. }
    ));
    assert!(matches!(
        m.apply(3, &acquire("a", 2, 0)),
        LockResult::Queued { position: 1, .. }
    ));
    // A release with the wrong token changes nothing.
    let wrong = LockOp::Release {
        name: "a".into(),
        token: 7,
    };
    assert_eq!(m.apply(4, &wrong), LockResult::NotHolder);
    let release = LockOp::Release {
        name: "a".into(),
        token: 1,
    };
    assert_eq!(m.apply(5, &release), LockResult::Released);
    // The free lock is reserved for 3: 2 asking first waits.
    assert!(granted(&m.apply(6, &acquire("a", 2, 1))).is_none());
    assert_eq!(granted(&m.apply(7, &acquire("a", 3, 1))), Some(2));
    // A holder asking anew gets a new grant with a larger token.
    assert_eq!(granted(&m.apply(8, &acquire("a", 3, 2))), Some(3));
    // Another lock numbers on its own.
    assert_eq!(granted(&m.apply(9, &acquire("b", 2, 0))), Some(1));
}

#[test]
fn a_waiter_that_gives_up_leaves_the_queue_and_never_a_grant() {
    let mut m = LockMachine::empty();
    let cancel = |client| LockOp::Cancel {
        name: "a".into(),
        client,
    };
    assert_eq!(granted(&m.apply(1, &acquire("a", 1, 0))), Some(1));
    let _ = m.apply(2, &acquire("a", 2, 0));
    let _ = m.apply(3, &acquire("a", 3, 0));
    // 2 gives up: 3 moves to the head, and the head's reservation counts from the cancel.
    assert_eq!(m.apply(4, &cancel(2)), LockResult::Left);
    let l = m.lock("a").expect("lock a");
    assert_eq!(l.queue, [3]);
    assert_eq!(l.free_since_index, 4);
    // The holder's cancel (late, from a wait it gave up before) leaves its grant alone.
    assert_eq!(m.apply(5, &cancel(1)), LockResult::Left);
    assert_eq!(
        m.lock("a").and_then(|l| l.holder.as_ref()).map(|h| h.token),
        Some(1)
    );
    // A cancel under another session is refused; of an unknown lock, a no-op.
    assert_eq!(m.apply_from(6, 4, &cancel(3)), LockResult::NotHolder);
    assert_eq!(m.lock("a").map(|l| l.queue.len()), Some(1));
    let other = LockOp::Cancel {
        name: "zz".into(),
        client: 3,
    };
    assert_eq!(m.apply(7, &other), LockResult::Left);
    assert!(m.lock("zz").is_none(), "a cancel creates no lock");
}

fn duty_cfg(restart: bool) -> DutyConfig {
    DutyConfig {
        drift_bound_ppm: 10_000,
        reserve_ms: 500,
        restart_tokens_on_failover: restart,
    }
}

#[test]
fn the_leader_expires_a_lease_after_the_drift_bound_and_skips_an_absent_waiter() {
    let mut m = LockMachine::empty();
    m.apply(1, &acquire("a", 1, 0));
    m.apply(2, &acquire("a", 2, 0));
    let mut d = LockMachine::duties(&duty_cfg(false));
    let t0 = LocalInstant::default();
    let plan = m.leader_duties(&mut d, clocks(t0));
    assert!(plan.propose.is_empty());
    // 1000 ms × 1.01 = 1010 ms on the leader's clock.
    assert_eq!(
        plan.next_at,
        Some(t0.saturating_add(Duration::from_millis(1010)))
    );
    let early = m.leader_duties(
        &mut d,
        clocks(t0.saturating_add(Duration::from_millis(1009))),
    );
    assert!(early.propose.is_empty());
    let due = m.leader_duties(
        &mut d,
        clocks(t0.saturating_add(Duration::from_millis(1010))),
    );
    assert_eq!(due.propose.len(), 1);
    assert_eq!(m.apply(3, &due.propose[0]), LockResult::Done);
    assert!(m.lock("a").is_some_and(|l| l.holder.is_none()));
    // Client 2 has it reserved; it does not come within reserve_ms, so it is skipped.
    let t1 = t0.saturating_add(Duration::from_millis(2000));
    assert!(m.leader_duties(&mut d, clocks(t1)).propose.is_empty());
    let skip = m.leader_duties(
        &mut d,
        clocks(t1.saturating_add(Duration::from_millis(500))),
    );
    assert!(matches!(
        skip.propose.as_slice(),
        [LockOp::Skip { client: 2, .. }]
    ));
    m.apply(4, &skip.propose[0]);
    assert_eq!(granted(&m.apply(5, &acquire("a", 3, 0))), Some(2));
}

#[test]
fn only_the_planted_bug_restarts_token_numbering() {
    let mut m = LockMachine::empty();
    m.apply(1, &acquire("a", 1, 0));
    let mut d = LockMachine::duties(&duty_cfg(false));
    assert!(
        m.leader_duties(&mut d, clocks(LocalInstant::default()))
            .propose
            .is_empty()
    );
    let mut bad = LockMachine::duties(&duty_cfg(true));
    let plan = m.leader_duties(&mut bad, clocks(LocalInstant::default()));
    assert_eq!(plan.propose, vec![LockOp::RestartTokens]);
    m.apply(2, &plan.propose[0]);
    m.apply(
        3,
        &LockOp::Release {
            name: "a".into(),
            token: 1,
        },
    );
    assert_eq!(granted(&m.apply(4, &acquire("a", 2, 0))), Some(1));
}

#[test]
fn a_mark_is_raised_only_by_the_holder_and_handed_to_the_next_holder() {
    let mut m = LockMachine::empty();
    let t1 = granted(&m.apply(1, &acquire("w", 1, 0))).unwrap_or_default();
    let renew = |token, mark| LockOp::Renew {
        name: "w".into(),
        token,
        mark,
    };
    assert_eq!(m.apply(2, &renew(t1, 500)), LockResult::Renewed);
    // A lower mark never lowers it; a stale token cannot raise it.
    assert_eq!(m.apply(3, &renew(t1, 100)), LockResult::Renewed);
    assert_eq!(m.apply(4, &renew(t1 + 9, 9_999)), LockResult::NotHolder);
    assert_eq!(m.lock("w").map(|l| l.mark), Some(500));
    let release = LockOp::Release {
        name: "w".into(),
        token: t1,
    };
    assert_eq!(m.apply(5, &release), LockResult::Released);
    assert!(matches!(
        m.apply(6, &acquire("w", 2, 0)),
        LockResult::Granted { mark: 500, .. }
    ));
}

#[test]
fn a_lease_answers_only_to_the_session_that_acquired_it() {
    use crate::services::replicated::SYSTEM_SESSION;
    let mut m = LockMachine::empty();
    let t = granted(&m.apply_from(1, 5, &acquire("a", 5, 0))).unwrap_or_default();
    assert_eq!(t, 1);
    // Another session guessing the token can neither renew nor release it.
    let renew = LockOp::Renew {
        name: "a".into(),
        token: t,
        mark: 0,
    };
    let release = LockOp::Release {
        name: "a".into(),
        token: t,
    };
    assert_eq!(m.apply_from(2, 6, &renew), LockResult::NotHolder);
    assert_eq!(m.apply_from(3, 6, &release), LockResult::NotHolder);
    // Nor acquire under another session's name, nor propose the leader's duties.
    assert_eq!(
        m.apply_from(4, 6, &acquire("b", 7, 0)),
        LockResult::NotHolder
    );
    let expire = LockOp::Expire {
        name: "a".into(),
        token: t,
        granted_index: 1,
    };
    assert_eq!(m.apply_from(5, 6, &expire), LockResult::Done);
    assert_eq!(m.apply_from(6, 6, &LockOp::RestartTokens), LockResult::Done);
    // The holder still holds; its own session renews and releases.
    assert_eq!(m.apply_from(7, 5, &renew), LockResult::Renewed);
    assert_eq!(m.apply_from(8, 5, &release), LockResult::Released);
    // The leader's duties still work from the system session.
    let t2 = granted(&m.apply_from(9, 5, &acquire("a", 5, 1))).unwrap_or_default();
    let expire = LockOp::Expire {
        name: "a".into(),
        token: t2,
        granted_index: 9,
    };
    assert_eq!(m.apply_from(10, SYSTEM_SESSION, &expire), LockResult::Done);
    assert_eq!(
        m.apply_from(11, 5, &renew),
        LockResult::NotHolder,
        "expired"
    );
}

mod hostile {
    use super::*;
    use crate::services::replicated::SYSTEM_SESSION;
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = LockOp> {
        let name = prop_oneof![Just("a".to_string()), Just("b".to_string())];
        let small = 0u64..6;
        prop_oneof![
            (name.clone(), 1u64..5, 0u64..3000, small.clone()).prop_map(
                |(name, client, lease_ms, attempt)| LockOp::Acquire {
                    name,
                    client,
                    lease_ms,
                    attempt
                }
            ),
            (name.clone(), small.clone(), small.clone())
                .prop_map(|(name, token, mark)| LockOp::Renew { name, token, mark }),
            (name.clone(), small.clone()).prop_map(|(name, token)| LockOp::Release { name, token }),
            (name.clone(), small.clone(), 0u64..40).prop_map(|(name, token, granted_index)| {
                LockOp::Expire {
                    name,
                    token,
                    granted_index,
                }
            }),
            (name.clone(), 1u64..5).prop_map(|(name, client)| LockOp::Cancel { name, client }),
            (name, 1u64..5, 0u64..40).prop_map(|(name, client, free_since_index)| LockOp::Skip {
                name,
                client,
                free_since_index
            }),
            Just(LockOp::RestartTokens),
        ]
    }

    proptest! {
        /// Whatever clients propose, under whatever session they claim: a lease changes hands
        /// only through its own session or the leader's duties, and tokens only grow (a
        /// client cannot propose the token restart, a leader duty).
        #[test]
        fn clients_cannot_take_or_break_anothers_lease(
            steps in prop::collection::vec((prop_oneof![Just(SYSTEM_SESSION), 1u64..5], op()), 1..80)
        ) {
            let mut m = LockMachine::empty();
            let mut top: std::collections::BTreeMap<String, u64> = Default::default();
            for (i, (session, op)) in (1u64..).zip(steps) {
                if session == SYSTEM_SESSION && op == LockOp::RestartTokens {
                    continue; // the planted bug's duty: tokens going back is its point
                }
                let before: Vec<_> = ["a", "b"]
                    .iter()
                    .map(|n| m.lock(n).and_then(|l| l.holder.clone()))
                    .collect();
                let out = m.apply_from(i, session, &op);
                if let LockResult::Granted { token, .. } = out {
                    let name = match &op {
                        LockOp::Acquire { name, client, .. } => {
                            if session != SYSTEM_SESSION {
                                prop_assert_eq!(*client, session, "granted to a session it does not name");
                            }
                            name.clone()
                        }
                        _ => String::new(),
                    };
                    let last = top.entry(name).or_insert(0);
                    prop_assert!(token > *last, "token {} after {}", token, *last);
                    *last = token;
                }
                for (n, was) in ["a", "b"].iter().zip(before) {
                    let now = m.lock(n).and_then(|l| l.holder.clone());
                    let Some(was) = was else { continue };
                    if now.as_ref() == Some(&was) || session == SYSTEM_SESSION {
                        continue;
                    }
                    // Changed by a client: only the holder's own session may.
                    prop_assert_eq!(session, was.client, "{} lost its lease to {:?}", n, op);
                }
            }
        }
    }
}
