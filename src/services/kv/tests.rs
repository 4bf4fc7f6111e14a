//! KV state machine in its replicated state: semantics against a plain-map model, exactly-once
//! sessions, snapshots.

use super::*;
use crate::services::replicated::{Applied, Logged, Replicated, RestoreError, SessionOptions};
use proptest::prelude::*;
use std::collections::BTreeMap;

type KvState = Replicated<KvMachine>;

fn cmd(client_id: u64, seq: u64, op: KvOp) -> Logged<KvOp> {
    Logged { client_id, seq, op }
}

fn done(r: KvResult) -> Applied<KvResult> {
    Applied::Output(r)
}

fn read(kv: &KvState, key: &str) -> Option<String> {
    kv.machine().get(key).map(str::to_string)
}

fn put(key: &str, value: &str) -> KvOp {
    KvOp::Put {
        key: key.into(),
        value: value.into(),
    }
}

fn append(key: &str, suffix: &str) -> KvOp {
    KvOp::Append {
        key: key.into(),
        suffix: suffix.into(),
    }
}

#[test]
fn operations_have_register_semantics() {
    let mut kv = KvState::new(SessionOptions::default());
    let get = |k: &str| KvOp::Get { key: k.into() };
    assert_eq!(
        kv.apply(1, &cmd(1, 1, get("a"))),
        done(KvResult::Value { value: None })
    );
    assert_eq!(kv.apply(2, &cmd(1, 2, put("a", "x"))), done(KvResult::Done));
    let cas = |e: Option<&str>, n: &str| KvOp::Cas {
        key: "a".into(),
        expected: e.map(str::to_string),
        new: n.into(),
    };
    assert_eq!(
        kv.apply(3, &cmd(1, 3, cas(Some("y"), "z"))),
        done(KvResult::Cas { swapped: false })
    );
    assert_eq!(
        kv.apply(4, &cmd(1, 4, cas(Some("x"), "z"))),
        done(KvResult::Cas { swapped: true })
    );
    assert_eq!(
        kv.apply(5, &cmd(1, 5, append("a", "yz"))),
        done(KvResult::Appended { len_bytes: 3 })
    );
    assert_eq!(read(&kv, "a").as_deref(), Some("zyz"));
    assert_eq!(
        kv.read(&KvOp::Get { key: "a".into() }),
        KvResult::Value {
            value: Some("zyz".into())
        }
    );
    assert_eq!(
        kv.apply(6, &cmd(1, 6, KvOp::Delete { key: "a".into() })),
        done(KvResult::Done)
    );
    assert_eq!(
        kv.apply(7, &cmd(1, 7, cas(None, "n"))),
        done(KvResult::Cas { swapped: true })
    );
    assert_eq!(read(&kv, "a").as_deref(), Some("n"));
    assert_eq!(kv.applied_index(), 7);
}

#[test]
fn a_retry_is_applied_once_and_gets_the_first_result() {
    let mut kv = KvState::new(SessionOptions::default());
    let first = done(KvResult::Appended { len_bytes: 1 });
    assert_eq!(kv.apply(1, &cmd(9, 1, append("k", "a"))), first);
    assert_eq!(kv.apply(2, &cmd(9, 1, append("k", "a"))), first);
    assert_eq!(read(&kv, "k").as_deref(), Some("a"));
    kv.apply(3, &cmd(9, 2, append("k", "b")));
    assert_eq!(
        kv.apply(4, &cmd(9, 1, append("k", "a"))),
        Applied::Stale { last_seq: 2 }
    );
    assert_eq!(read(&kv, "k").as_deref(), Some("ab"));
}

#[test]
fn planted_no_dedup_applies_a_retry_twice() {
    for (no_dedup, expected) in [(false, "a"), (true, "aa")] {
        let mut kv = KvState::new(SessionOptions {
            no_dedup,
            ..SessionOptions::default()
        });
        kv.apply(1, &cmd(9, 1, append("k", "a")));
        kv.apply(2, &cmd(9, 1, append("k", "a")));
        assert_eq!(
            read(&kv, "k").as_deref(),
            Some(expected),
            "no_dedup = {no_dedup}"
        );
    }
}

#[test]
fn the_least_recently_applied_session_is_evicted() {
    let mut kv = KvState::new(SessionOptions {
        sessions_max: 2,
        no_dedup: false,
    });
    kv.apply(1, &cmd(1, 1, put("a", "1")));
    kv.apply(2, &cmd(2, 1, put("b", "1")));
    kv.apply(3, &cmd(1, 2, put("a", "2"))); // client 1 is now the most recent
    kv.apply(4, &cmd(3, 1, put("c", "1"))); // evicts client 2
    assert_eq!(kv.sessions(), 2);
    // Client 2's session is gone: a retry of its last write is applied again (the documented
    // cost of the bound), and its next write starts a new session.
    assert_eq!(
        kv.apply(5, &cmd(2, 1, append("b", "x"))),
        done(KvResult::Appended { len_bytes: 2 })
    );
    assert_eq!(read(&kv, "b").as_deref(), Some("1x"));
    assert_eq!(kv.apply(6, &cmd(1, 3, put("a", "3"))), done(KvResult::Done));
}

#[test]
fn a_session_starts_at_its_first_applied_write_whatever_its_number() {
    // The client's writes 1 and 2 timed out before reaching the log; write 3 must still apply.
    let mut kv = KvState::new(SessionOptions::default());
    assert_eq!(kv.apply(1, &cmd(7, 3, put("a", "x"))), done(KvResult::Done));
    assert_eq!(kv.apply(2, &cmd(7, 3, put("a", "y"))), done(KvResult::Done));
    assert_eq!(
        read(&kv, "a").as_deref(),
        Some("x"),
        "the retry of write 3 is not applied"
    );
    assert_eq!(
        kv.apply(3, &cmd(7, 2, put("a", "z"))),
        Applied::Stale { last_seq: 3 }
    );
}

#[test]
fn corrupt_snapshots_are_errors() {
    assert!(matches!(
        KvState::restore(SessionOptions::default(), b"{not json"),
        Err(RestoreError::Undecodable(_))
    ));
    let mut kv = KvState::new(SessionOptions::default());
    kv.apply(1, &cmd(1, 1, put("a", "1")));
    kv.apply(2, &cmd(2, 1, put("b", "1")));
    let small = SessionOptions {
        sessions_max: 1,
        no_dedup: false,
    };
    assert_eq!(
        KvState::restore(small, &kv.snapshot()),
        Err(RestoreError::TooManySessions {
            sessions: 2,
            max: 1
        })
    );
}

fn op_strategy() -> impl Strategy<Value = KvOp> {
    let key = prop::sample::select(vec!["a", "b", "c"]).prop_map(str::to_string);
    let val = prop::sample::select(vec!["", "x", "y", "xy"]).prop_map(str::to_string);
    prop_oneof![
        key.clone().prop_map(|key| KvOp::Get { key }),
        (key.clone(), val.clone()).prop_map(|(key, value)| KvOp::Put { key, value }),
        key.clone().prop_map(|key| KvOp::Delete { key }),
        (key.clone(), prop::option::of(val.clone()), val.clone())
            .prop_map(|(key, expected, new)| KvOp::Cas { key, expected, new }),
        (key, val).prop_map(|(key, suffix)| KvOp::Append { key, suffix }),
    ]
}

/// The reference: a plain map, no sessions.
fn model_step(m: &mut BTreeMap<String, String>, op: &KvOp) -> KvResult {
    match op {
        KvOp::Get { key } => KvResult::Value {
            value: m.get(key).cloned(),
        },
        KvOp::Put { key, value } => {
            m.insert(key.clone(), value.clone());
            KvResult::Done
        }
        KvOp::Delete { key } => {
            m.remove(key);
            KvResult::Done
        }
        KvOp::Cas { key, expected, new } => {
            let swapped = m.get(key) == expected.as_ref();
            if swapped {
                m.insert(key.clone(), new.clone());
            }
            KvResult::Cas { swapped }
        }
        KvOp::Append { key, suffix } => {
            let v = m.entry(key.clone()).or_default();
            v.push_str(suffix);
            KvResult::Appended {
                len_bytes: v.len() as u64,
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Retries (same client and seq, delivered again) change nothing: the store matches a
    /// model that applied each request once, and a snapshot taken anywhere restores to an
    /// identical state with the same digest.
    #[test]
    fn retries_are_exactly_once_and_snapshots_round_trip(
        ops in prop::collection::vec((1u64..4, op_strategy(), 0usize..3), 1..60),
        cut in 0usize..60,
    ) {
        let mut kv = KvState::new(SessionOptions::default());
        let mut model = BTreeMap::new();
        let mut seqs = [0u64; 3];
        let mut index = 0;
        for (i, (client, op, retries)) in ops.iter().enumerate() {
            // Session 0 is the leader's own (duties); clients number from 1.
            let c = usize::try_from(*client - 1).unwrap_or(0);
            seqs[c] += 1;
            let command = cmd(*client, seqs[c], op.clone());
            let expected = model_step(&mut model, op);
            for _ in 0..=*retries {
                index += 1;
                prop_assert_eq!(kv.apply(index, &command), done(expected.clone()));
            }
            if i == cut {
                let copy = KvState::restore(SessionOptions::default(), &kv.snapshot());
                prop_assert_eq!(copy.as_ref(), Ok(&kv));
                prop_assert_eq!(copy.map(|c| c.digest()), Ok(kv.digest()));
            }
        }
        for (k, v) in &model {
            prop_assert_eq!(read(&kv, k), Some(v.clone()));
        }
        prop_assert_eq!(kv.machine().len(), model.len());
    }
}
