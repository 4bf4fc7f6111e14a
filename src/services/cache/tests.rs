//! The cache tier's pure parts driven by hand: the lease/TTL table, the ring over cache nodes,
//! the writer's wait, a cache node fed hostile requests, and the invariants on made-up records.

use super::invariants::{BoundedStaleness, CacheMatchesStore, ReadsSeeWrittenValues};
use super::table::{Limits, Lookup, Table, TableBugs};
use super::*;
use crate::counters::Counters;
use crate::disk::SimDisk;
use crate::event::{Event, EventRecord};
use crate::history::{HistoryEvent, OpType, Process};
use crate::ids::{Addr, Incarnation, NodeId};
use crate::invariants::{Invariant, Outcome, RunRecords};
use crate::node::service::{Ctx, NodeInfo, Output, ReplyTo, Service};
use crate::rng::{DetRng, component_rng};
use crate::time::{LocalInstant, LocalNow, SimTime, WallTime};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

fn limits() -> Limits {
    Limits {
        ttl: Duration::from_millis(500),
        lease: Duration::from_millis(100),
        entries_max: 4,
        leases_max: 4,
    }
}

/// Monotonic and wall clocks at `mono_ms` and `wall_ms`.
fn at(mono_ms: u64, wall_ms: i64) -> LocalNow {
    LocalNow {
        mono: LocalInstant {
            ns: mono_ms * 1_000_000,
        },
        wall: WallTime {
            ns: wall_ms * 1_000_000,
        },
    }
}

fn token(l: Lookup) -> u64 {
    match l {
        Lookup::Miss(Some(t)) => t,
        other => panic!("expected a miss with a lease, got {other:?}"),
    }
}

#[test]
fn a_miss_leases_a_fill_installs_and_a_hit_serves() {
    let mut t = Table::new(limits(), TableBugs::default(), 1);
    let tok = token(t.get("k", at(0, 0)).0);
    // One lease per key at a time: a second reader reads the store but does not fill.
    assert_eq!(t.get("k", at(1, 1)).0, Lookup::Miss(None));
    assert_eq!(t.fill("k", tok, Some("v".into()), at(5, 5)), (true, None));
    assert_eq!(t.get("k", at(6, 6)).0, Lookup::Hit(Some("v".into())));
    // A lease is good for one fill.
    assert!(!t.fill("k", tok, Some("w".into()), at(7, 7)).0);
}

#[test]
fn an_invalidation_revokes_the_lease_so_a_late_fill_is_refused() {
    let mut t = Table::new(limits(), TableBugs::default(), 1);
    let tok = token(t.get("k", at(0, 0)).0);
    assert!(!t.invalidate("k"));
    assert!(!t.fill("k", tok, Some("old".into()), at(10, 10)).0);
    assert!(matches!(t.get("k", at(11, 11)).0, Lookup::Miss(Some(_))));
    // The planted bug takes it anyway.
    let bugs = TableBugs {
        fill_without_lease: true,
        ..TableBugs::default()
    };
    let mut t = Table::new(limits(), bugs, 1);
    let tok = token(t.get("k", at(0, 0)).0);
    t.invalidate("k");
    assert!(t.fill("k", tok, Some("old".into()), at(10, 10)).0);
}

#[test]
fn a_lease_expires_and_a_forged_token_is_refused() {
    let mut t = Table::new(limits(), TableBugs::default(), 1);
    let tok = token(t.get("k", at(0, 0)).0);
    assert!(!t.fill("k", tok + 1, Some("v".into()), at(1, 1)).0);
    assert!(!t.fill("k", tok, Some("v".into()), at(100, 100)).0);
    // An expired lease no longer blocks a new one.
    assert!(matches!(t.get("k", at(101, 101)).0, Lookup::Miss(Some(_))));
}

#[test]
fn ttl_is_judged_on_the_monotonic_clock_whatever_the_wall_clock_does() {
    let fill = |bugs| {
        let mut t = Table::new(limits(), bugs, 1);
        let tok = token(t.get("k", at(0, 10_000)).0);
        assert!(t.fill("k", tok, Some("v".into()), at(0, 10_000)).0);
        t
    };
    // 600 ms later on the monotonic clock; the wall clock was stepped back 3 s.
    let later = at(600, 10_000 + 600 - 3_000);
    let mut t = fill(TableBugs::default());
    assert!(matches!(t.get("k", later).0, Lookup::Miss(_)));
    let mut t = fill(TableBugs {
        ttl_wall_clock: true,
        ..TableBugs::default()
    });
    assert_eq!(t.get("k", later).0, Lookup::Hit(Some("v".into())));
}

#[test]
fn a_hit_does_not_extend_the_ttl_unless_the_bug_says_so() {
    let hits = |bugs| {
        let mut t = Table::new(limits(), bugs, 1);
        let tok = token(t.get("k", at(0, 0)).0);
        t.fill("k", tok, Some("v".into()), at(0, 0));
        for ms in (100..=400).step_by(100) {
            assert!(matches!(t.get("k", at(ms, ms as i64)).0, Lookup::Hit(_)));
        }
        t.get("k", at(700, 700)).0
    };
    assert!(matches!(hits(TableBugs::default()), Lookup::Miss(_)));
    let sliding = TableBugs {
        ttl_refresh_on_hit: true,
        ..TableBugs::default()
    };
    assert!(matches!(hits(sliding), Lookup::Hit(_)));
}

#[test]
fn tables_stay_bounded_and_tokens_differ_across_lives() {
    let mut t = Table::new(limits(), TableBugs::default(), 1);
    for i in 0..10 {
        let key = format!("k{i}");
        if let Lookup::Miss(Some(tok)) = t.get(&key, at(i, i as i64)).0 {
            t.fill(&key, tok, None, at(i, i as i64));
        }
        assert!(t.len() <= 4 && t.leases() <= 4);
    }
    let swept = t.sweep(at(10_000, 10_000));
    assert_eq!(swept.len(), 4);
    assert!(t.is_empty());
    let first = token(
        Table::new(limits(), TableBugs::default(), 1)
            .get("k", at(0, 0))
            .0,
    );
    let second = token(
        Table::new(limits(), TableBugs::default(), 2)
            .get("k", at(0, 0))
            .0,
    );
    assert_ne!(first, second);
}

#[test]
fn a_writer_waits_out_ttl_and_lease_stretched_by_the_drift_bound() {
    let opts = CacheOptions::default();
    // (500 + 100) * 1.1 / 0.9 = 733.3.., rounded up, plus a millisecond.
    assert_eq!(opts.wait_out(), Duration::from_millis(735));
    let shape = crate::plugin::Shape {
        nodes: 3,
        clients: 2,
    };
    assert_eq!(
        opts.validate(&shape).map_err(|e| e.field),
        Err("store_nodes")
    );
    let shape = crate::plugin::Shape {
        nodes: 6,
        clients: 2,
    };
    assert_eq!(opts.validate(&shape), Ok(()));
}

#[test]
fn the_ring_spreads_keys_over_the_cache_nodes_only() {
    let ring = crate::services::ring::Ring::new(&[0, 1, 2], 64).expect("ring");
    let mut owners = std::collections::BTreeSet::new();
    for i in 0..64 {
        let g = ring.group_of(&format!("k{i}")).expect("owner");
        assert!(g < 3);
        owners.insert(g);
    }
    assert_eq!(owners.len(), 3, "64 keys should reach every cache node");
}

/// A cache node (n3 of six, three of them store nodes) driven by hand.
struct Rig {
    info: NodeInfo,
    disk: SimDisk,
    rng: DetRng,
    out: Vec<Output<CacheNode>>,
}

impl Rig {
    fn new() -> Self {
        Rig::on(NodeId(3))
    }

    fn on(node: NodeId) -> Self {
        Rig {
            info: NodeInfo {
                node,
                incarnation: Incarnation(1),
                cluster: (0..6).map(NodeId).collect(),
                bugs: Default::default(),
                buggify: None,
            },
            disk: SimDisk::new(),
            rng: component_rng(0, "test", 0),
            out: Vec::new(),
        }
    }

    fn with<R>(&mut self, ms: u64, f: impl FnOnce(&mut Ctx<'_, CacheNode>) -> R) -> R {
        let now = at(ms, ms as i64);
        let mut ctx = Ctx::new(
            &self.info,
            now,
            &mut self.rng,
            &mut self.disk,
            &mut self.out,
        );
        f(&mut ctx)
    }

    /// Sends `req` and returns the reply.
    fn ask(&mut self, node: &mut CacheNode, ms: u64, req: CacheRequest) -> CacheResponse {
        self.out.clear();
        let from = ReplyTo {
            to: Addr::Client(crate::ids::ClientId(0)),
            req_id: 1,
        };
        self.with(ms, |ctx| node.on_request(ctx, from, req));
        let replies: Vec<_> = self
            .out
            .iter()
            .filter_map(|o| match o {
                Output::Reply { resp, .. } => Some(resp.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(replies.len(), 1, "one reply per request: {:?}", self.out);
        replies[0].clone()
    }
}

#[test]
fn a_cache_node_refuses_what_it_must_not_take() {
    let mut rig = Rig::new();
    let opts = CacheOptions::default();
    let mut node = rig.with(0, |ctx| CacheNode::start(&opts, ctx));
    let long = "x".repeat(opts.key_bytes_max + 1);
    let r = rig.ask(&mut node, 1, CacheRequest::Get { key: long });
    assert_eq!(r, CacheResponse::Refused(Refusal::TooLarge));
    let forged = CacheRequest::Fill {
        key: "k0".into(),
        token: 42,
        value: Some("forged".into()),
    };
    assert_eq!(
        rig.ask(&mut node, 2, forged),
        CacheResponse::Filled { accepted: false }
    );
    let call = crate::services::kv::api::Call {
        client_id: 1,
        seq: 0,
        op: crate::services::kv::api::KvOp::Get { key: "k0".into() },
    };
    let r = rig.ask(&mut node, 3, CacheRequest::Store(call));
    assert_eq!(r, CacheResponse::Refused(Refusal::WrongRole));
}

#[test]
fn a_store_replica_takes_raft_only_from_replicas() {
    let vote = || {
        CacheMsg::Store(crate::services::kv::api::ServerMsg::Vote {
            term: 99,
            last_index: 1_000,
            last_term: 98,
        })
    };
    let opts = CacheOptions::default();
    // From a cache node (n4): refused before the core sees it, so no vote goes out.
    let mut rig = Rig::on(NodeId(0));
    let mut node = rig.with(0, |ctx| CacheNode::start(&opts, ctx));
    rig.out.clear();
    rig.with(1, |ctx| node.on_message(ctx, NodeId(4), vote()));
    let refused = |o: &Output<CacheNode>| matches!(o, Output::Note { label, .. } if *label == "cache/refused-peer");
    assert!(rig.out.iter().any(refused), "{:?}", rig.out);
    assert!(!rig.out.iter().any(|o| matches!(o, Output::Send { .. })));
    // From a replica (n1): the core answers it.
    rig.out.clear();
    rig.with(2, |ctx| node.on_message(ctx, NodeId(1), vote()));
    assert!(!rig.out.iter().any(refused));
    assert!(
        rig.out
            .iter()
            .any(|o| matches!(o, Output::Send { to, .. } if *to == NodeId(1)))
    );
    // A cache node takes no peer messages at all.
    let mut rig = Rig::new();
    let mut cache = rig.with(0, |ctx| CacheNode::start(&opts, ctx));
    rig.out.clear();
    rig.with(1, |ctx| cache.on_message(ctx, NodeId(0), vote()));
    assert!(rig.out.iter().all(refused), "{:?}", rig.out);
}

fn arb_request() -> impl Strategy<Value = CacheRequest> {
    let key = prop_oneof![
        (0u32..8).prop_map(|i| format!("k{i}")),
        "[a-z]{0,300}".prop_map(|s| s),
    ];
    let value = proptest::option::of("[a-z]{0,50}");
    prop_oneof![
        key.clone().prop_map(|key| CacheRequest::Get { key }),
        (key.clone(), any::<u64>(), value).prop_map(|(key, token, value)| CacheRequest::Fill {
            key,
            token,
            value
        }),
        key.prop_map(|key| CacheRequest::Invalidate { key }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever clients send, a cache node answers each request once, never panics, and its
    /// tables stay within their bounds.
    #[test]
    fn hostile_requests_never_panic_or_grow_the_tables(
        reqs in proptest::collection::vec((arb_request(), 0u64..50), 1..200),
    ) {
        let mut rig = Rig::new();
        let opts = CacheOptions {
            entries_max: 3,
            leases_max: 3,
            ..CacheOptions::default()
        };
        let mut node = rig.with(0, |ctx| CacheNode::start(&opts, ctx));
        let mut ms = 0;
        for (req, step_ms) in reqs {
            ms += step_ms;
            rig.ask(&mut node, ms, req);
            let (entries, leases) = node.table_sizes().expect("a cache node");
            prop_assert!(entries <= 3 && leases <= 3);
        }
    }
}

fn line(process: u64, kind: OpType, f: &str, key: &str, value: Value, ms: u64) -> HistoryEvent {
    HistoryEvent {
        process: Process::Int(process),
        kind,
        f: f.into(),
        key: Some(json!(key)),
        value: Some(value),
        time: Some(ms * 1_000_000),
    }
}

fn judge(inv: &dyn Invariant, history: &[HistoryEvent], events: &[EventRecord]) -> Outcome {
    let history = crate::history::History {
        events: history.to_vec(),
    };
    let (counters, expect) = (Counters::default(), BTreeMap::new());
    let records = RunRecords {
        history: &history,
        events,
        counters: &counters,
        events_overflowed: false,
        heal_at: SimTime::from_ms(1000),
        liveness_ms: 5000,
        clients: 2,
        expect: &expect,
        scheduled: &[],
    };
    inv.check(&records)
}

#[test]
fn a_read_after_a_completed_write_must_see_it_or_newer() {
    use OpType::{Invoke, Ok};
    let w = |p, v: &str, from, to| {
        [
            line(p, Invoke, "write", "k", json!(v), from),
            line(p, Ok, "write", "k", Value::Null, to),
        ]
    };
    let r = |p, v: Value, from, to| {
        [
            line(p, Invoke, "read", "k", Value::Null, from),
            line(p, Ok, "read", "k", v, to),
        ]
    };
    let strict = BoundedStaleness {
        bound_ns: 0,
        own_writes: false,
    };
    // a (done at 20) then b (begun at 30, done at 40); a read begun at 50 returns a: stale.
    let stale: Vec<_> = [
        w(0, "a", 10, 20),
        w(0, "b", 30, 40),
        r(1, json!("a"), 50, 60),
    ]
    .concat();
    assert!(matches!(judge(&strict, &stale, &[]), Outcome::Fail(_)));
    // ... unless the promise allows 100 ms.
    let slack = BoundedStaleness {
        bound_ns: 100_000_000,
        own_writes: false,
    };
    assert_eq!(judge(&slack, &stale, &[]), Outcome::Pass);
    // A read begun before b completed may return a; null after a write completed is stale.
    let early: Vec<_> = [
        w(0, "a", 10, 20),
        w(0, "b", 30, 40),
        r(1, json!("a"), 35, 60),
    ]
    .concat();
    assert_eq!(judge(&strict, &early, &[]), Outcome::Pass);
    let absent: Vec<_> = [w(0, "a", 10, 20), r(1, Value::Null, 50, 60)].concat();
    assert!(matches!(judge(&strict, &absent, &[]), Outcome::Fail(_)));
    // Only one's own writes count for read-your-writes.
    let ryw = BoundedStaleness {
        bound_ns: 0,
        own_writes: true,
    };
    assert_eq!(judge(&ryw, &stale, &[]), Outcome::Pass);
    // A value nobody wrote.
    let made_up: Vec<_> = [w(0, "a", 10, 20), r(1, json!("z"), 50, 60)].concat();
    assert!(matches!(
        judge(&ReadsSeeWrittenValues, &made_up, &[]),
        Outcome::Fail(_)
    ));
}

fn observe(ms: u64, node: u32, label: &str, value: Value) -> EventRecord {
    EventRecord {
        time_ns: SimTime::from_ms(ms),
        event: Event::Observe {
            node: NodeId(node),
            incarnation: Incarnation(1),
            label: label.into(),
            value,
        },
    }
}

#[test]
fn a_cache_node_still_holding_an_old_value_at_the_end_fails_convergence() {
    let inv = CacheMatchesStore {
        settle_ns: 1_000_000_000,
    };
    let store = |ms, v: &'static str| {
        (0..3).map(move |n| observe(ms, n, "cache/store-value", json!({"key": "k", "value": v})))
    };
    let mut events: Vec<EventRecord> = store(100, "a").collect();
    events.push(observe(
        200,
        3,
        "cache/fill",
        json!({"key": "k", "value": "a"}),
    ));
    events.extend(store(300, "b"));
    // The store has held b since 0.3 s; the run ends at 6 s; n3 still holds a.
    assert!(matches!(judge(&inv, &[], &events), Outcome::Fail(_)));
    // Dropped, or a new life: converged.
    let mut dropped = events.clone();
    dropped.push(observe(
        400,
        3,
        "cache/drop",
        json!({"key": "k", "why": "invalidated"}),
    ));
    assert_eq!(judge(&inv, &[], &dropped), Outcome::Pass);
    let mut restarted = events;
    restarted.push(observe(400, 3, "cache/start", json!({"entries": 0})));
    assert_eq!(judge(&inv, &[], &restarted), Outcome::Pass);
}
