//! Leased worker ids, driven by hand: a generator and a lock service played by the test.

use super::*;
use crate::bugs::{Bug, BugSet};
use crate::disk::SimDisk;
use crate::ids::{Addr, ClientId, Incarnation, NodeId};
use crate::node::service::{Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::rng::{DetRng, component_rng};
use crate::services::lock::api::{LockOp, LockResult};
use crate::services::replicated::{Request, Response};
use crate::time::{LocalInstant, LocalNow, WallTime};

struct Rig {
    info: NodeInfo,
    disk: SimDisk,
    rng: DetRng,
    cfg: IdgenConfig,
    wall_ms: i64,
    mono_ms: u64,
    out: Vec<Output<IdGen>>,
    req_id: u64,
}

impl Rig {
    /// Generator n3 of a cluster whose lock servers are n0–n2.
    fn new(bugs: &[Bug]) -> Self {
        let cfg = IdgenConfig {
            leases: Some(WorkerLeases {
                worker_ids: Some(2),
                ..WorkerLeases::default()
            }),
            ..IdgenConfig::default()
        };
        Rig {
            info: NodeInfo {
                node: NodeId(3),
                incarnation: Incarnation(1),
                cluster: (0..5).map(NodeId).collect(),
                bugs: bugs.iter().copied().collect::<BugSet>(),
                buggify: None,
            },
            disk: SimDisk::new(),
            rng: component_rng(0, "test", 0),
            wall_ms: cfg.epoch_unix_ms + 10_000,
            mono_ms: 1_000,
            cfg,
            out: Vec::new(),
            req_id: 0,
        }
    }

    fn ts(&self) -> u64 {
        u64::try_from(self.wall_ms - self.cfg.epoch_unix_ms).unwrap_or(0)
    }

    fn with<R>(&mut self, f: impl FnOnce(&mut Ctx<'_, IdGen>) -> R) -> R {
        let now = LocalNow {
            mono: LocalInstant {
                ns: self.mono_ms * 1_000_000,
            },
            wall: WallTime {
                ns: self.wall_ms * 1_000_000,
            },
        };
        let mut ctx = Ctx::new(
            &self.info,
            now,
            &mut self.rng,
            &mut self.disk,
            &mut self.out,
        );
        f(&mut ctx)
    }

    fn advance(&mut self, ms: u64) {
        self.mono_ms += ms;
        self.wall_ms += i64::try_from(ms).unwrap_or(0);
    }

    /// The lock requests sent since the last call: (req_id, request).
    fn asked(&mut self) -> Vec<(u64, Request<LockOp>)> {
        let out = std::mem::take(&mut self.out);
        if out.iter().any(|o| matches!(o, Output::Sync)) {
            self.disk.sync_all();
        }
        out.into_iter()
            .filter_map(|o| match o {
                Output::Send {
                    msg: IdgenMsg::Lease { req_id, req },
                    ..
                } => Some((req_id, req)),
                _ => None,
            })
            .collect()
    }

    fn answer(&mut self, idg: &mut IdGen, req_id: u64, out: LockResult) {
        let msg = IdgenMsg::LeaseReply {
            req_id,
            resp: Response::Done(out),
        };
        self.with(|ctx| idg.on_message(ctx, NodeId(0), msg));
    }

    /// Asks for an id; the answer, if one came at once.
    fn next(&mut self, idg: &mut IdGen) -> Vec<IdResponse> {
        self.req_id += 1;
        let from = ReplyTo {
            to: Addr::Client(ClientId(0)),
            req_id: self.req_id,
        };
        self.with(|ctx| idg.on_request(ctx, from, IdRequest::Next));
        self.replies()
    }

    fn replies(&mut self) -> Vec<IdResponse> {
        let out = std::mem::take(&mut self.out);
        if out.iter().any(|o| matches!(o, Output::Sync)) {
            self.disk.sync_all();
        }
        out.into_iter()
            .filter_map(|o| match o {
                Output::Reply { resp, .. } => Some(resp),
                _ => None,
            })
            .collect()
    }
}

/// Starts a generator and grants it worker 0 with `mark`; returns it with the renewal's
/// request id and mark.
fn granted(rig: &mut Rig, mark: u64) -> (IdGen, u64, u64) {
    let cfg = rig.cfg.clone();
    let mut idg = rig.with(|ctx| IdGen::start(&cfg, ctx));
    let asked = rig.asked();
    let [(req_id, req)] = asked.as_slice() else {
        panic!("one acquire expected: {asked:?}");
    };
    let LockOp::Acquire { name, attempt, .. } = &req.op else {
        panic!("an acquire expected: {req:?}");
    };
    assert_eq!(name, "worker-0", "generator 0 wants worker id 0");
    let grant = LockResult::Granted {
        token: 7,
        attempt: *attempt,
        mark,
    };
    rig.answer(&mut idg, *req_id, grant);
    let asked = rig.asked();
    let [(renew_id, renew)] = asked.as_slice() else {
        panic!("a renewal expected right after the grant: {asked:?}");
    };
    let LockOp::Renew { token: 7, mark, .. } = renew.op else {
        panic!("a renewal of token 7 expected: {renew:?}");
    };
    (idg, *renew_id, mark)
}

#[test]
fn no_id_before_the_mark_reserves_it_then_ids_above_the_floor() {
    let mut rig = Rig::new(&[]);
    let floor = rig.ts() + 40; // the previous holder reserved 40 ms past this clock
    let (mut idg, renew_id, mark) = granted(&mut rig, floor);
    assert!(mark > floor, "the renewal reserves above the floor");
    // Granted but nothing reserved yet: the request waits.
    assert!(rig.next(&mut idg).is_empty());
    rig.answer(&mut idg, renew_id, LockResult::Renewed);
    rig.replies();
    rig.advance(45);
    rig.with(|ctx| idg.on_timer(ctx, TimerId(1)));
    let ids: Vec<u64> = rig
        .replies()
        .into_iter()
        .chain(rig.next(&mut idg))
        .filter_map(|r| match r {
            IdResponse::Id(id) => Some(id),
            IdResponse::Refused(_) => None,
        })
        .collect();
    assert!(!ids.is_empty(), "ids once reserved");
    let layout = IdLayout::of(&rig.cfg);
    for id in ids {
        let (ts, worker, _) = layout.decompose(id);
        assert_eq!(worker, 0, "the leased worker id, not the node index");
        assert!(ts > floor && ts <= mark, "{ts} outside ({floor}, {mark}]");
    }
}

#[test]
fn a_lease_past_its_validity_issues_nothing_unless_the_bug_is_on() {
    for (bugs, issues) in [(vec![], false), (vec![bugs::WORKER_LEASE_IGNORED], true)] {
        let mut rig = Rig::new(&bugs);
        let floor = rig.ts();
        let (mut idg, renew_id, _) = granted(&mut rig, floor);
        rig.answer(&mut idg, renew_id, LockResult::Renewed);
        rig.advance(1);
        assert!(
            matches!(rig.next(&mut idg).as_slice(), [IdResponse::Id(_)]),
            "an id while the lease is valid"
        );
        // Paused past the lease: no renewal ran.
        rig.advance(5_000);
        let got = rig.next(&mut idg);
        if issues {
            assert!(matches!(got.as_slice(), [IdResponse::Id(_)]), "{got:?}");
        } else {
            assert_eq!(
                got,
                vec![IdResponse::Refused(Refusal::NoWorkerLease)],
                "a lease past its validity by the node's own clock"
            );
        }
    }
}

#[test]
fn a_refused_renewal_gives_the_worker_id_up_and_queues_for_the_next() {
    let mut rig = Rig::new(&[]);
    let floor = rig.ts();
    let (mut idg, renew_id, _) = granted(&mut rig, floor);
    rig.answer(&mut idg, renew_id, LockResult::NotHolder);
    assert_eq!(
        rig.next(&mut idg),
        vec![IdResponse::Refused(Refusal::NoWorkerLease)]
    );
    // After the back-off it asks for the next worker id.
    rig.advance(100);
    rig.with(|ctx| idg.on_timer(ctx, TimerId(2)));
    let asked = rig.asked();
    assert!(
        asked
            .iter()
            .any(|(_, r)| matches!(&r.op, LockOp::Acquire { name, .. } if name == "worker-1")),
        "{asked:?}"
    );
}

#[test]
fn a_grant_from_anyone_but_the_server_asked_is_ignored() {
    let mut rig = Rig::new(&[]);
    let cfg = rig.cfg.clone();
    let mut idg = rig.with(|ctx| IdGen::start(&cfg, ctx));
    let asked = rig.asked();
    let [(req_id, req)] = asked.as_slice() else {
        panic!("one acquire expected: {asked:?}");
    };
    let LockOp::Acquire { attempt, .. } = &req.op else {
        panic!("an acquire expected: {req:?}");
    };
    let forged = IdgenMsg::LeaseReply {
        req_id: *req_id,
        resp: Response::Done(LockResult::Granted {
            token: 9,
            attempt: *attempt,
            mark: 0,
        }),
    };
    // n4 is another generator, n2 a server that was not asked.
    for from in [NodeId(4), NodeId(2)] {
        rig.with(|ctx| idg.on_message(ctx, from, forged.clone()));
    }
    assert!(rig.asked().is_empty(), "no renewal: nothing was granted");
    assert_eq!(
        rig.next(&mut idg),
        vec![IdResponse::Refused(Refusal::NoWorkerLease)]
    );
}
