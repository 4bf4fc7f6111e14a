//! The host loop against a fake environment: garbage is dropped and logged, outputs after a
//! sync wait for it, timers fire on the local clock.

use super::*;
use crate::disk::{SimDisk, Storage, StorageError};
use crate::event::Event;
use crate::ids::{ClientId, Incarnation};
use crate::node::env::Inbound;
use crate::node::service::Message;
use crate::rng::component_rng;
use crate::time::{LocalInstant, LocalNow, WallTime};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ping;

impl Message for Ping {
    fn label(&self) -> &'static str {
        "ping"
    }
}

/// Answers every request after persisting it, and ticks a timer every 10 ms.
struct Durable {
    ticks: u64,
}

impl Service for Durable {
    type Msg = Ping;
    type Request = Ping;
    type Response = Ping;
    type Config = ();

    fn start(_: &(), ctx: &mut Ctx<'_, Self>) -> Self {
        ctx.set_timer(TimerId(7), Duration::from_millis(10));
        Durable { ticks: 0 }
    }

    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: Ping) {}

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: Ping) {
        let _ = ctx.storage().append("log", b"x");
        ctx.sync();
        ctx.reply(from, req);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _: TimerId) {
        self.ticks += 1;
        ctx.set_timer(TimerId(7), Duration::from_millis(10));
    }

    fn on_sync_failed(&mut self, _: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        AfterSyncFailure::Restart
    }
}

#[derive(Default)]
struct Fake {
    inbox: VecDeque<Inbound>,
    /// What left the node, in order: "send:<label>", "event:<kind>".
    trace: Vec<String>,
    disk: SimDisk,
}

#[derive(Clone, Default)]
struct FakeEnv(Rc<RefCell<Fake>>);

impl NodeEnv for FakeEnv {
    fn me(&self) -> Addr {
        Addr::Node(NodeId(0))
    }

    fn now(&self) -> LocalNow {
        LocalNow {
            mono: LocalInstant { ns: clock_ns() },
            wall: WallTime { ns: 0 },
        }
    }

    fn sleep_until(&self, deadline: LocalInstant) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep(Duration::from_nanos(deadline.ns.saturating_sub(clock_ns())))
    }

    async fn recv(&mut self) -> Inbound {
        loop {
            if let Some(m) = self.0.borrow_mut().inbox.pop_front() {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn send(&mut self, _to: Addr, label: &'static str, _body: &RawValue) {
        self.0.borrow_mut().trace.push(format!("send:{label}"));
    }

    fn with_storage<R>(&mut self, f: impl FnOnce(&mut dyn Storage) -> R) -> R {
        f(&mut self.0.borrow_mut().disk)
    }

    async fn sync(&mut self) -> Result<(), StorageError> {
        tokio::time::sleep(Duration::from_millis(3)).await;
        self.0.borrow_mut().disk.complete_sync()
    }

    async fn wait_while_paused(&mut self) {}

    fn restarted(&mut self) -> crate::ids::Incarnation {
        self.0.borrow_mut().trace.push("restarted".to_string());
        crate::ids::Incarnation(2)
    }

    fn record(&mut self, event: Event) {
        let kind = serde_json::to_value(&event)
            .ok()
            .and_then(|v| v["kind"].as_str().map(str::to_string));
        self.0
            .borrow_mut()
            .trace
            .push(format!("event:{}", kind.unwrap_or_default()));
    }
}

thread_local! {
    static START: std::cell::Cell<Option<tokio::time::Instant>> = const { std::cell::Cell::new(None) };
}

/// The fake's local clock: paused tokio time since the first reading.
#[allow(clippy::disallowed_methods)] // the fake env *is* the clock here
fn clock_ns() -> u64 {
    let start = START.with(|s| {
        let v = s.get().unwrap_or_else(tokio::time::Instant::now);
        s.set(Some(v));
        v
    });
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(0)
}

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_string()).expect("valid JSON")
}

fn drive(fake: &FakeEnv, run_for: Duration) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build();
    let rt = rt.expect("runtime");
    let local = tokio::task::LocalSet::new();
    let info = NodeInfo {
        node: NodeId(0),
        incarnation: Incarnation(1),
        cluster: vec![NodeId(0)],
        bugs: Default::default(),
        buggify: None,
    };
    let env = fake.clone();
    local.block_on(&rt, async move {
        let node = tokio::task::spawn_local(run_node::<Durable, _>(
            env,
            (),
            info,
            component_rng(0, "t", 0),
        ));
        tokio::time::sleep(run_for).await;
        node.abort();
    });
}

#[test]
fn garbage_is_logged_and_dropped_and_the_node_carries_on() {
    let fake = FakeEnv::default();
    {
        let mut f = fake.0.borrow_mut();
        let from = Addr::Client(ClientId(1));
        f.inbox.push_back(Inbound {
            from,
            msg_id: 1,
            body: raw("{\"nonsense\":1}"),
        });
        f.inbox.push_back(Inbound {
            from,
            msg_id: 2,
            body: raw("{\"peer\":null}"),
        });
        f.inbox.push_back(Inbound {
            from,
            msg_id: 3,
            body: raw("{\"request\":{\"req_id\":9,\"req\":null}}"),
        });
    }
    drive(&fake, Duration::from_millis(5));
    let trace = fake.0.borrow().trace.clone();
    let garbage = trace.iter().filter(|t| *t == "event:garbage").count();
    assert_eq!(garbage, 2, "{trace:?}");
    assert!(
        trace.contains(&"send:ping".to_string()),
        "the valid request after the garbage was served: {trace:?}"
    );
}

#[test]
fn a_reply_after_a_sync_leaves_only_once_the_sync_completed() {
    let fake = FakeEnv::default();
    fake.0.borrow_mut().inbox.push_back(Inbound {
        from: Addr::Client(ClientId(0)),
        msg_id: 1,
        body: raw("{\"request\":{\"req_id\":1,\"req\":null}}"),
    });
    drive(&fake, Duration::from_millis(8));
    let trace = fake.0.borrow().trace.clone();
    let sync = trace.iter().position(|t| t == "event:sync");
    let reply = trace.iter().position(|t| t == "event:reply");
    assert!(sync.is_some() && sync < reply, "{trace:?}");
    assert_eq!(fake.0.borrow().disk.unsynced_bytes(), 0);
}

#[test]
fn a_failed_sync_drops_what_depended_on_it_and_restarts_from_disk() {
    let fake = FakeEnv::default();
    {
        let mut f = fake.0.borrow_mut();
        f.disk.add_rule(crate::disk::DiskRule::FsyncFail);
        f.inbox.push_back(Inbound {
            from: Addr::Client(ClientId(0)),
            msg_id: 1,
            body: raw("{\"request\":{\"req_id\":1,\"req\":null}}"),
        });
    }
    drive(&fake, Duration::from_millis(80));
    let f = fake.0.borrow();
    assert!(
        !f.trace
            .iter()
            .any(|t| t == "event:reply" || t == "send:ping"),
        "no reply after a failed sync: {:?}",
        f.trace
    );
    let failed = f.trace.iter().position(|t| t == "event:halt");
    let restarted = f.trace.iter().position(|t| t == "restarted");
    assert!(failed.is_some() && failed < restarted, "{:?}", f.trace);
    assert_eq!(
        f.disk.read("log").ok().flatten(),
        None,
        "the write was dropped"
    );
}

#[test]
fn timers_fire_on_schedule() {
    let fake = FakeEnv::default();
    drive(&fake, Duration::from_millis(55));
    let fired = fake
        .0
        .borrow()
        .trace
        .iter()
        .filter(|t| *t == "event:timer")
        .count();
    assert_eq!(fired, 5, "a 10 ms timer over 55 ms");
}
