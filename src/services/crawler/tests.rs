//! The crawler's pure parts driven by hand: URLs and the web, the crawl state (seeds, leases,
//! the frontier, expiry through the leader's duties), a crawler's timing, nodes fed hostile
//! input, and the invariants on made-up records that must fail and must pass.

use super::invariants::{Completeness, NoDuplicateFetch, Politeness, RobotsRespected};
use super::machine::DutyConfig;
use super::owner::{CLAIM_TIMER, HOST_TIMER_BASE};
use super::web::{Web, normalise, spell};
use super::*;
use crate::counters::Counters;
use crate::disk::SimDisk;
use crate::event::{Event, EventRecord};
use crate::history::{HistoryEvent, OpType, Process};
use crate::ids::{Incarnation, NodeId};
use crate::invariants::{Invariant, Outcome, RunRecords};
use crate::node::service::{Ctx, NodeInfo, Output, Service, TimerId};
use crate::rng::{DetRng, component_rng};
use crate::services::replicated::{Request, Response, SYSTEM_SESSION, StateMachine};
use crate::time::{LocalInstant, LocalNow, SimTime, WallTime};
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

const CRAWLER: u64 = (1 << 48) + 3 * 100_000 + 1;
const OTHER: u64 = (1 << 48) + 4 * 100_000 + 1;

fn mono(ms: u64) -> LocalInstant {
    LocalInstant { ns: ms * 1_000_000 }
}

fn clocks(ms: u64) -> LocalNow {
    LocalNow {
        mono: mono(ms),
        wall: WallTime {
            ns: i64::try_from(ms).unwrap_or(0) * 1_000_000,
        },
    }
}

#[test]
fn every_spelling_normalises_alike_and_off_web_urls_are_refused() {
    for v in 0..6 {
        assert_eq!(
            normalise(&spell(1, "/p3", v), 3).as_deref(),
            Some("http://h1.example/p3"),
            "variant {v}"
        );
    }
    assert_eq!(
        normalise("http://h1.example", 3).as_deref(),
        Some("http://h1.example/")
    );
    for bad in [
        "ftp://h1.example/p1",
        "http://h3.example/p1",
        "http://h01.example/p1",
        "http://h1.example:8080/p1",
        "http://h1.example/p 1",
        "http://evil.example/p1",
        "h1.example/p1",
        "",
    ] {
        assert_eq!(normalise(bad, 3), None, "{bad}");
    }
}

#[test]
fn the_web_serves_pages_redirects_and_robots_and_a_crawl_skips_private_pages() {
    let opts = CrawlerOptions::default();
    let web = Web::new(&opts);
    assert_eq!(web.serve(0, "/robots.txt").robots, Some(web.robots(0)));
    assert_eq!(web.robots(1).delay_ms, 130);
    let redirect = web.serve(2, "/old1");
    assert_eq!(redirect.status, 301);
    assert_eq!(
        redirect.location.and_then(|l| normalise(&l, 3)).as_deref(),
        Some("http://h2.example/p1")
    );
    assert_eq!(web.serve(0, "/p99").status, 404);
    let all = web.reachable(&["http://h0.example/p0".to_string()]);
    // The chain p0 -> p1 -> ... reaches every page of the seed's host.
    for k in 0..opts.pages_per_host {
        assert!(all.contains(&format!("http://h0.example/p{k}")), "{all:?}");
    }
    assert!(all.iter().all(|u| !u.contains("/private")));
    assert!(all.iter().any(|u| u.contains("/old")), "{all:?}");
}

fn owner(r: CrawlResult) -> (u64, Vec<Pending>) {
    match r {
        CrawlResult::Owner { token, next, .. } => (token, next),
        other => panic!("expected ownership, got {other:?}"),
    }
}

fn seed(url: &str) -> CrawlOp {
    CrawlOp::Seed {
        host: 0,
        url: url.into(),
    }
}

fn fetched(token: u64, id: u64, links: &[&str], dedup: bool, batch: bool) -> CrawlOp {
    CrawlOp::Fetched {
        host: 0,
        token,
        id,
        links: links.iter().map(|u| (0, u.to_string())).collect(),
        robots: None,
        dedup,
        batch,
    }
}

#[test]
fn one_owner_per_host_and_a_url_leaves_the_frontier_only_when_its_owner_fetched_it() {
    let mut m = CrawlMachine::empty();
    let a = "http://h0.example/p0";
    assert_eq!(
        m.apply_from(1, 1, &seed(a)),
        CrawlResult::Seeded { new: true }
    );
    assert_eq!(
        m.apply_from(2, 1, &seed(a)),
        CrawlResult::Seeded { new: false }
    );
    let claim = CrawlOp::Claim {
        host: 0,
        force: false,
        batch: false,
    };
    let (t1, next) = owner(m.apply_from(3, CRAWLER, &claim));
    assert_eq!(next.len(), 1);
    assert_eq!(m.apply_from(4, OTHER, &claim), CrawlResult::OwnedElsewhere);
    // Only the owner's session with its token may report.
    let id = next[0].id;
    assert_eq!(
        m.apply_from(5, OTHER, &fetched(t1, id, &[], true, false)),
        CrawlResult::NotOwner
    );
    assert_eq!(m.pending(0), vec![a.to_string()]);
    let links = ["http://h0.example/p1", a];
    let (_, next) = owner(m.apply_from(6, CRAWLER, &fetched(t1, id, &links, true, false)));
    // The page is off the frontier; the seen one is not put back.
    assert_eq!(m.pending(0), vec!["http://h0.example/p1".to_string()]);
    assert_eq!(next[0].url, "http://h0.example/p1");
    // Without dedup (the planted bug) it is.
    let (_, _) = owner(m.apply_from(7, CRAWLER, &fetched(t1, 0, &[a], false, false)));
    assert_eq!(m.pending(0).len(), 2);
    // Batch (the planted bug): the frontier is handed out and forgotten.
    let batch = CrawlOp::Renew {
        host: 0,
        token: t1,
        batch: true,
    };
    let (_, all) = owner(m.apply_from(8, CRAWLER, &batch));
    assert_eq!(all.len(), 2);
    assert!(m.pending(0).is_empty());
    // A forced claim (the planted bug) takes the host from its owner.
    let force = CrawlOp::Claim {
        host: 0,
        force: true,
        batch: false,
    };
    let (t2, _) = owner(m.apply_from(9, OTHER, &force));
    assert!(t2 > t1);
    assert_eq!(m.owner(0).map(|o| o.session), Some(OTHER));
}

#[test]
fn the_leader_expires_a_lease_not_renewed_for_the_stretched_lease_and_only_then() {
    let mut m = CrawlMachine::empty();
    let claim = CrawlOp::Claim {
        host: 0,
        force: false,
        batch: false,
    };
    let (t1, _) = owner(m.apply_from(1, CRAWLER, &claim));
    let mut d = CrawlMachine::duties(&DutyConfig { expiry_ms: 440 });
    assert!(m.leader_duties(&mut d, clocks(0)).propose.is_empty());
    // A renewal restarts the count.
    let renew = CrawlOp::Renew {
        host: 0,
        token: t1,
        batch: false,
    };
    owner(m.apply_from(2, CRAWLER, &renew));
    assert!(m.leader_duties(&mut d, clocks(400)).propose.is_empty());
    assert!(m.leader_duties(&mut d, clocks(839)).propose.is_empty());
    let plan = m.leader_duties(&mut d, clocks(840));
    assert_eq!(plan.propose.len(), 1);
    // A client cannot expire a lease; a stale expiry (before a renewal) changes nothing.
    assert_eq!(
        m.apply_from(3, CRAWLER, &plan.propose[0]),
        CrawlResult::Done
    );
    assert!(m.owner(0).is_some());
    let stale = CrawlOp::Expire {
        host: 0,
        token: t1,
        renewals: 0,
    };
    m.apply_from(4, SYSTEM_SESSION, &stale);
    assert!(m.owner(0).is_some());
    m.apply_from(5, SYSTEM_SESSION, &plan.propose[0]);
    assert!(m.owner(0).is_none());
    // The next owner gets a later token, and is told it is a handover.
    match m.apply_from(6, OTHER, &claim) {
        CrawlResult::Owner {
            token, handover, ..
        } => assert!(token > t1 && handover),
        other => panic!("{other:?}"),
    }
}

struct Rig {
    info: NodeInfo,
    disk: SimDisk,
    rng: DetRng,
    out: Vec<Output<CrawlNode>>,
}

impl Rig {
    fn on(node: u32) -> Self {
        Rig {
            info: NodeInfo {
                node: NodeId(node),
                incarnation: Incarnation(1),
                cluster: (0..9).map(NodeId).collect(),
                bugs: Default::default(),
                buggify: None,
            },
            disk: SimDisk::new(),
            rng: component_rng(0, "test", 0),
            out: Vec::new(),
        }
    }

    fn with<R>(&mut self, ms: u64, f: impl FnOnce(&mut Ctx<'_, CrawlNode>) -> R) -> R {
        let mut ctx = Ctx::new(
            &self.info,
            clocks(ms),
            &mut self.rng,
            &mut self.disk,
            &mut self.out,
        );
        f(&mut ctx)
    }

    fn take(&mut self) -> Vec<Output<CrawlNode>> {
        std::mem::take(&mut self.out)
    }
}

fn fetches(out: &[Output<CrawlNode>]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                msg: CrawlMsg::Fetch { url, .. },
                ..
            } => Some(url.clone()),
            _ => None,
        })
        .collect()
}

/// Answers every call the crawler sent: it owns what it claims, under token 7.
fn answer_calls(rig: &mut Rig, node: &mut CrawlNode, ms: u64) {
    let calls: Vec<(NodeId, u64)> = rig
        .take()
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                msg: CrawlMsg::Call(Request { seq, .. }),
                to,
            } => Some((*to, *seq)),
            _ => None,
        })
        .collect();
    for (to, seq) in calls {
        let answer = CrawlMsg::Answer {
            seq,
            resp: Response::Done(CrawlResult::Owner {
                token: 7,
                next: Vec::new(),
                robots: None,
                handover: true,
            }),
        };
        rig.with(ms, |ctx| node.on_message(ctx, to, answer));
    }
}

#[test]
fn a_new_owner_waits_out_a_crawl_delay_and_a_fetch_timeout_and_stops_when_its_lease_lapses() {
    let opts = CrawlerOptions::default();
    let mut rig = Rig::on(3);
    let mut node = rig.with(0, |ctx| CrawlNode::start(&opts, ctx));
    rig.with(10, |ctx| node.on_timer(ctx, CLAIM_TIMER));
    let wait = opts.handover_wait_ms();
    let mut first: BTreeMap<String, u64> = BTreeMap::new();
    // Every call answered at once (renewals included), every host timer fired each ms.
    for ms in 11..=11 + wait + 10 {
        for host in 0..3 {
            let timer = TimerId(HOST_TIMER_BASE + host);
            rig.with(ms, |ctx| node.on_timer(ctx, timer));
        }
        for url in fetches(&rig.out) {
            first.entry(url).or_insert(ms);
        }
        answer_calls(&mut rig, &mut node, ms);
    }
    assert!(!first.is_empty(), "it never fetched");
    for (url, ms) in &first {
        assert!(
            *ms >= 11 + wait,
            "{url} fetched at {ms} ms, before the handover wait"
        );
    }
    // From now on no call is answered: past the usable lease it stops, whatever is pending.
    let until = 11 + wait + 10 + opts.usable_ms() + 1;
    for host in 0..3 {
        rig.with(until, |ctx| {
            node.on_timer(ctx, TimerId(HOST_TIMER_BASE + host))
        });
    }
    let lapsed = rig
        .out
        .iter()
        .any(|o| matches!(o, Output::Note { label, .. } if *label == "crawler/lease-lapsed"));
    assert!(lapsed, "{:?}", rig.out);
}

fn arb_msg() -> impl Strategy<Value = (u32, CrawlMsg)> {
    let op = prop_oneof![
        (any::<u32>(), "[a-zA-Z:/.]{0,200}").prop_map(|(host, url)| CrawlOp::Seed { host, url }),
        (any::<u32>(), any::<bool>()).prop_map(|(host, force)| CrawlOp::Claim {
            host,
            force,
            batch: false
        }),
        (any::<u32>(), any::<u64>()).prop_map(|(host, token)| CrawlOp::Renew {
            host,
            token,
            batch: true
        }),
        (
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec((any::<u32>(), "[a-z:/.0-9]{0,150}"), 0..40)
        )
            .prop_map(|(host, token, id, links)| CrawlOp::Fetched {
                host,
                token,
                id,
                links,
                robots: None,
                dedup: true,
                batch: false
            }),
        (any::<u32>(), any::<u64>(), any::<u64>()).prop_map(|(host, token, renewals)| {
            CrawlOp::Expire {
                host,
                token,
                renewals,
            }
        }),
    ];
    let msg =
        prop_oneof![
            (any::<u64>(), any::<u64>(), op)
                .prop_map(|(client_id, seq, op)| CrawlMsg::Call(Request { client_id, seq, op })),
            ("[a-zA-Z:/.#0-9]{0,300}", any::<u64>(), any::<u64>())
                .prop_map(|(url, token, fetch)| CrawlMsg::Fetch { url, token, fetch }),
            (
                any::<u64>(),
                any::<u16>(),
                proptest::collection::vec("[a-zA-Z:/.#0-9]{0,150}", 0..40)
            )
                .prop_map(|(fetch, status, links)| CrawlMsg::Page {
                    fetch,
                    served: web::Served {
                        status,
                        links,
                        location: None,
                        robots: None
                    }
                }),
            any::<u64>().prop_map(|seq| CrawlMsg::Answer {
                seq,
                resp: Response::Unknown
            }),
            Just(CrawlMsg::Ping),
        ];
    (0u32..9, msg)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Whatever peers send, no node panics, and a replica's crawl state holds only URLs within
    /// the bound.
    #[test]
    fn hostile_messages_never_panic_a_node(msgs in proptest::collection::vec(arb_msg(), 1..60)) {
        let opts = CrawlerOptions::default();
        for node in [0u32, 3, 6] {
            let mut rig = Rig::on(node);
            let mut n = rig.with(0, |ctx| CrawlNode::start(&opts, ctx));
            for (i, (from, msg)) in msgs.iter().enumerate() {
                rig.with(i as u64 + 1, |ctx| n.on_message(ctx, NodeId(*from), msg.clone()));
            }
            for o in &rig.out {
                if let Output::Send { msg: CrawlMsg::Raft(m), .. } = o {
                    prop_assert!(serde_json::to_string(m).map_or(0, |s| s.len()) < 1 << 20);
                }
            }
        }
    }
}

fn request(
    ms: u64,
    host: u64,
    path: &str,
    crawler: u64,
    token: u64,
    fetch: u64,
    status: u64,
) -> EventRecord {
    EventRecord {
        time_ns: SimTime::from_ms(ms),
        event: Event::Observe {
            node: NodeId(6 + u32::try_from(host).unwrap_or(0)),
            incarnation: Incarnation(1),
            label: "crawler/request".into(),
            value: json!({"host": host, "url": format!("http://h{host}.example{path}"), "raw": path,
                "path": path, "crawler": crawler, "token": token, "fetch": fetch, "status": status}),
        },
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
        liveness_ms: 4000,
        clients: 2,
        expect: &expect,
        scheduled: &[],
    };
    inv.judge(&records).0
}

fn failed(o: &Outcome) -> bool {
    matches!(o, Outcome::Fail(_))
}

#[test]
fn politeness_fails_on_two_requests_closer_than_the_delay_whoever_sent_them() {
    let p = Politeness {
        opts: CrawlerOptions::default(),
    };
    // h0 asks for 150 ms, h1 for 130 ms.
    let ok = [
        request(100, 0, "/p0", 3, 1, 1, 200),
        request(250, 0, "/p1", 3, 1, 2, 200),
        request(260, 1, "/p0", 4, 2, 1, 200),
    ];
    assert_eq!(judge(&p, &[], &ok), Outcome::Pass);
    let two_owners = [
        request(100, 0, "/p0", 3, 1, 1, 200),
        request(249, 0, "/p1", 4, 2, 1, 200),
    ];
    assert!(failed(&judge(&p, &[], &two_owners)));
    // The network delivering one request twice is not the crawler's doing.
    let duplicated = [
        request(100, 0, "/p0", 3, 1, 1, 200),
        request(101, 0, "/p0", 3, 1, 1, 200),
    ];
    assert_eq!(judge(&p, &[], &duplicated), Outcome::Pass);
}

#[test]
fn a_second_fetch_passes_only_as_the_forced_retry() {
    let d = NoDuplicateFetch;
    // Retried by the same owner (lost answer), or by the next owner after the old one's last
    // request: forced.
    let retry = [
        request(100, 0, "/p0", 3, 1, 1, 200),
        request(300, 0, "/p0", 3, 1, 2, 503),
        request(500, 0, "/p0", 3, 1, 3, 200),
    ];
    assert_eq!(judge(&d, &[], &retry), Outcome::Pass);
    let handover = [
        request(100, 0, "/p0", 3, 1, 1, 200),
        request(900, 0, "/p0", 4, 2, 1, 200),
    ];
    assert_eq!(judge(&d, &[], &handover), Outcome::Pass);
    // The owner had gone on to another page: the first answer was recorded, then forgotten.
    let forgotten = [
        request(100, 0, "/p0", 3, 1, 1, 200),
        request(300, 0, "/p1", 3, 1, 2, 200),
        request(900, 0, "/p0", 4, 2, 1, 200),
    ];
    assert!(failed(&judge(&d, &[], &forgotten)));
    let twice = [
        request(100, 0, "/p0", 3, 1, 1, 200),
        request(300, 0, "/p1", 3, 1, 2, 200),
        request(500, 0, "/p0", 3, 1, 3, 200),
    ];
    assert!(failed(&judge(&d, &[], &twice)));
}

fn seeded(line: u64, kind: OpType, url: &str, ms: u64) -> HistoryEvent {
    HistoryEvent {
        process: Process::Int(line),
        kind,
        f: "seed".into(),
        key: Some(json!(url)),
        value: None,
        time: Some(ms * 1_000_000),
    }
}

#[test]
fn completeness_wants_every_reachable_page_and_robots_none_of_the_private_ones() {
    let opts = CrawlerOptions::default();
    let c = Completeness {
        opts: opts.clone(),
        settle_ms: 1000,
    };
    let seed = "http://h0.example/p0";
    let history = [
        seeded(0, OpType::Invoke, seed, 100),
        seeded(0, OpType::Ok, seed, 110),
    ];
    let all: Vec<EventRecord> = Web::new(&opts)
        .reachable(&[seed.to_string()])
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let host = web::host_of(u, 3).map_or(0, u64::from);
            let path = web::path_of(u, 3).unwrap_or_default();
            request(200 + i as u64, host, &path, 3, 1, i as u64, 200)
        })
        .collect();
    assert_eq!(judge(&c, &history, &all), Outcome::Pass);
    assert!(failed(&judge(&c, &history, &all[1..])));
    // Only seeds acknowledged after the cutoff: too short to judge, never a pass.
    let late = [
        seeded(0, OpType::Invoke, seed, 3100),
        seeded(0, OpType::Ok, seed, 3200),
    ];
    assert!(matches!(judge(&c, &late, &[]), Outcome::Unknown(_)));
    // An unanswered seed promises nothing.
    assert_eq!(judge(&c, &late[..1], &[]), Outcome::Pass);
    let r = RobotsRespected { opts };
    assert_eq!(judge(&r, &[], &all), Outcome::Pass);
    let private = [request(100, 1, "/private/2", 3, 1, 1, 200)];
    assert!(failed(&judge(&r, &[], &private)));
}
