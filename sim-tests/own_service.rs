//! A service defined here, outside faultlab's registry — as a user's crate defines one — run
//! through the test builder: it passes, its planted bug is caught, a panic in it fails
//! `no-panic` for that seed (with the panic's message) without stopping the sweep, and the
//! builder's scenario errors name the field.

use faultlab::prelude::*;
use serde::{Deserialize, Serialize};

/// Counts requests; with the bug on, node 0 panics on its 20th request.
struct Counter {
    served: u64,
}

const PANIC_ON_20TH: Bug = Bug::new("count-panic", "node 0 panics on its 20th request");

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Never;

impl Message for Never {
    fn label(&self) -> &'static str {
        "never"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Served(u64);

impl Message for Served {
    fn label(&self) -> &'static str {
        "served"
    }
}

impl Service for Counter {
    type Msg = Never;
    type Request = Never;
    type Response = Served;
    type Config = ();

    fn start(_: &(), _: &mut Ctx<'_, Self>) -> Self {
        Counter { served: 0 }
    }

    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: Never) {}

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, _: Never) {
        self.served += 1;
        if ctx.bug(PANIC_ON_20TH) && ctx.node() == NodeId(0) && self.served == 20 {
            panic!("request 20 on node 0");
        }
        ctx.reply(from, Served(self.served));
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, Self>, _: TimerId) {}

    fn on_sync_failed(&mut self, _: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        AfterSyncFailure::Restart
    }
}

struct CountClient;

impl ClientLogic<Counter> for CountClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, Never, NodeId) {
        let to = cx.nodes[cx.rng.random_range(0..cx.nodes.len())];
        let d = OpDescription {
            f: "count",
            key: None,
            value: None,
        };
        (d, Never, to)
    }

    fn on_reply(&mut self, _: &mut ClientCtx<'_>, r: Served) -> Next<Never> {
        Next::Done(Completion {
            op_type: OpType::Ok,
            value: Some(json!(r.0)),
        })
    }

    fn on_timeout(&mut self, _: &mut ClientCtx<'_>) -> Next<Never> {
        Next::Unknown
    }
}

struct CountService;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CountOptions {
    #[serde(default)]
    nodes_min: u32,
}

impl ServiceSpec for CountService {
    const NAME: &'static str = "count";
    const ABOUT: &'static str = "a request counter, defined in a test";
    const BUGS: &'static [Bug] = &[PANIC_ON_20TH];
    type Options = CountOptions;
    type Server = Counter;
    type Client = CountClient;

    fn validate(opts: &CountOptions, shape: &Shape) -> Result<(), OptionError> {
        if shape.nodes < opts.nodes_min {
            return Err(OptionError::new("nodes_min", "more than the cluster has"));
        }
        Ok(())
    }

    fn server_config(_: &CountOptions, _: &Shape) {}

    fn client(_: &CountOptions, _: &Shape, _: ClientId, _: &BugSet) -> CountClient {
        CountClient
    }

    fn invariants(_: &CountOptions) -> Vec<Box<dyn Invariant>> {
        Vec::new()
    }

    fn history_checks(_: &CountOptions, _: &History) -> Vec<Verdict> {
        Vec::new()
    }
}

fn sim() -> Sim<CountService> {
    Sim::<CountService>::new()
        .nodes(2)
        .clients(2)
        .safety_ms(1000)
        .liveness_ms(500)
        .crash(300, 1, 100)
        .expect_min("crashes", 1)
        .seeds(0..3)
        .jobs(1)
}

#[test]
fn an_outside_service_runs_under_the_builder() {
    let report = sim().run();
    report.assert_pass();
    assert_eq!(report.results().len(), 3);
    // The scheduled crash happened in every seed (`[expect] crashes_min` would fail otherwise).
    assert!(
        report
            .results()
            .iter()
            .all(|r| r.line.contains("crashes=1"))
    );
}

#[test]
fn a_panic_in_the_service_fails_no_panic_for_that_seed_and_the_sweep_goes_on() {
    let report = sim().bug(PANIC_ON_20TH).run();
    assert_eq!(report.results().len(), 3, "every seed ran");
    for r in report.results() {
        let panic = r.not_passed.iter().find(|v| v.invariant == "no-panic");
        let message = panic.map(|v| v.outcome.message().to_string());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("request 20 on node 0")),
            "seed {}: {:?}",
            r.seed,
            r.not_passed
        );
    }
    assert_eq!(report.assert_caught(), 0);
}

#[test]
fn the_builder_reports_a_bad_option_by_its_field() {
    let err = match sim().set("count.nodes_min", 5).scenario() {
        Ok(_) => panic!("nodes_min 5 on 2 nodes was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("count.nodes_min"), "{err}");
    let unknown = sim().set("count.nodes_max", 5).scenario().map(|_| ());
    assert!(unknown.is_err_and(|e| e.to_string().contains("nodes_max")));
}

#[test]
fn a_deterministic_service_replays_record_for_record() {
    sim().assert_deterministic(1);
}

/// The counter again, but its answers depend on a randomly seeded `HashSet`'s order: the
/// classic determinism leak (clippy's `disallowed_methods` keeps it out of faultlab's own code).
struct Leaky;

impl Service for Leaky {
    type Msg = Never;
    type Request = Never;
    type Response = Served;
    type Config = ();

    fn start(_: &(), _: &mut Ctx<'_, Self>) -> Self {
        Leaky
    }

    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: Never) {}

    #[allow(clippy::disallowed_methods)]
    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, _: Never) {
        let set: std::collections::HashSet<u64> = (0..16).collect();
        let first = set.iter().next().copied().unwrap_or(0);
        ctx.reply(from, Served(first));
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, Self>, _: TimerId) {}

    fn on_sync_failed(&mut self, _: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        AfterSyncFailure::Restart
    }
}

struct LeakyClient;

impl ClientLogic<Leaky> for LeakyClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, Never, NodeId) {
        let d = OpDescription {
            f: "count",
            key: None,
            value: None,
        };
        (d, Never, cx.nodes[0])
    }

    fn on_reply(&mut self, _: &mut ClientCtx<'_>, r: Served) -> Next<Never> {
        Next::Done(Completion {
            op_type: OpType::Ok,
            value: Some(json!(r.0)),
        })
    }

    fn on_timeout(&mut self, _: &mut ClientCtx<'_>) -> Next<Never> {
        Next::Unknown
    }
}

struct LeakyService;

impl ServiceSpec for LeakyService {
    const NAME: &'static str = "leaky";
    const ABOUT: &'static str = "answers in a HashSet's random order";
    const BUGS: &'static [Bug] = &[];
    type Options = CountOptions;
    type Server = Leaky;
    type Client = LeakyClient;

    fn validate(_: &CountOptions, _: &Shape) -> Result<(), OptionError> {
        Ok(())
    }

    fn server_config(_: &CountOptions, _: &Shape) {}

    fn client(_: &CountOptions, _: &Shape, _: ClientId, _: &BugSet) -> LeakyClient {
        LeakyClient
    }

    fn invariants(_: &CountOptions) -> Vec<Box<dyn Invariant>> {
        Vec::new()
    }

    fn history_checks(_: &CountOptions, _: &History) -> Vec<Verdict> {
        Vec::new()
    }
}

#[test]
#[should_panic(expected = "is not deterministic")]
fn a_determinism_leak_is_named_at_the_first_record_that_differs() {
    Sim::<LeakyService>::new()
        .nodes(1)
        .clients(2)
        .safety_ms(300)
        .liveness_ms(0)
        .assert_deterministic(0);
}
