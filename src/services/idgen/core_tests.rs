//! The ID generator's core, driven by hand: no runtime, no network, just inputs and outputs.

use super::*;
use crate::bugs::{Bug, BugSet};
use crate::disk::SimDisk;
use crate::ids::{Addr, ClientId, Incarnation};
use crate::node::service::{NodeInfo, Output};
use crate::rng::{DetRng, component_rng};
use crate::services::idgen::bugs;
use crate::time::{LocalInstant, LocalNow, WallTime};

struct Rig {
    info: NodeInfo,
    disk: SimDisk,
    rng: DetRng,
    cfg: IdgenConfig,
    wall_ms: i64,
    out: Vec<Output<IdGen>>,
    req_id: u64,
}

impl Rig {
    fn new(cfg: IdgenConfig, bugs: &[Bug]) -> Self {
        Rig {
            info: NodeInfo {
                node: NodeId(3),
                incarnation: Incarnation(1),
                cluster: vec![NodeId(3)],
                bugs: bugs.iter().copied().collect::<BugSet>(),
                buggify: None,
            },
            disk: SimDisk::new(),
            rng: component_rng(0, "test", 0),
            wall_ms: cfg.epoch_unix_ms + 10_000,
            cfg,
            out: Vec::new(),
            req_id: 0,
        }
    }

    fn with<R>(&mut self, f: impl FnOnce(&mut Ctx<'_, IdGen>) -> R) -> R {
        let now = LocalNow {
            mono: LocalInstant { ns: 0 },
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

    fn start(&mut self) -> IdGen {
        let cfg = self.cfg.clone();
        self.with(|ctx| IdGen::start(&cfg, ctx))
    }

    fn request(&mut self, idg: &mut IdGen) {
        self.req_id += 1;
        let from = ReplyTo {
            to: Addr::Client(ClientId(0)),
            req_id: self.req_id,
        };
        self.with(|ctx| idg.on_request(ctx, from, IdRequest::Next));
    }

    fn timer(&mut self, idg: &mut IdGen) {
        self.with(|ctx| idg.on_timer(ctx, RETRY_TIMER));
    }

    /// Takes the outputs, applying syncs to the disk as the host would.
    fn take(&mut self) -> Vec<Output<IdGen>> {
        let out = std::mem::take(&mut self.out);
        if out.iter().any(|o| matches!(o, Output::Sync)) {
            self.disk.sync_all();
        }
        out
    }

    fn ids(&mut self) -> Vec<u64> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                Output::Reply {
                    resp: IdResponse::Id(id),
                    ..
                } => Some(id),
                _ => None,
            })
            .collect()
    }
}

fn small_sequence() -> IdgenConfig {
    IdgenConfig {
        sequence_bits: 2,
        ..IdgenConfig::default()
    }
}

#[test]
fn ids_increase_within_and_across_milliseconds() {
    let mut rig = Rig::new(IdgenConfig::default(), &[]);
    let mut idg = rig.start();
    let mut ids = Vec::new();
    for _ in 0..3 {
        rig.request(&mut idg);
        ids.extend(rig.ids());
    }
    rig.wall_ms += 1;
    rig.request(&mut idg);
    ids.extend(rig.ids());
    assert_eq!(ids.len(), 4);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let layout = IdLayout::of(&rig.cfg);
    assert!(
        ids.iter().all(|&id| layout.decompose(id).1 == 3),
        "worker id is the node index"
    );
}

#[test]
fn first_id_of_a_reservation_is_synced_before_the_reply() {
    let mut rig = Rig::new(IdgenConfig::default(), &[]);
    let mut idg = rig.start();
    rig.request(&mut idg);
    let out = rig.take();
    let sync_at = out.iter().position(|o| matches!(o, Output::Sync));
    let reply_at = out.iter().position(|o| matches!(o, Output::Reply { .. }));
    assert!(
        sync_at.is_some() && sync_at < reply_at,
        "ack after fsync: {out:?}"
    );
}

#[test]
fn exhausted_sequence_waits_for_the_next_millisecond() {
    let mut rig = Rig::new(small_sequence(), &[]);
    let mut idg = rig.start();
    for _ in 0..5 {
        rig.request(&mut idg);
    }
    let out = rig.take();
    let issued = out
        .iter()
        .filter(|o| matches!(o, Output::Reply { .. }))
        .count();
    assert_eq!(
        issued, 4,
        "two sequence bits allow four ids per millisecond"
    );
    assert!(out.iter().any(|o| matches!(o, Output::SetTimer { .. })));
    rig.wall_ms += 1;
    rig.timer(&mut idg);
    assert_eq!(rig.ids().len(), 1);
}

#[test]
fn planted_sequence_wrap_repeats_an_id() {
    let mut rig = Rig::new(small_sequence(), &[bugs::SEQUENCE_WRAP]);
    let mut idg = rig.start();
    for _ in 0..5 {
        rig.request(&mut idg);
    }
    let ids = rig.ids();
    assert_eq!(ids.len(), 5);
    assert_eq!(
        ids[0], ids[4],
        "the wrapped sequence reissues the millisecond's first id"
    );
}

#[test]
fn small_backwards_step_waits_large_one_refuses() {
    let mut rig = Rig::new(IdgenConfig::default(), &[]);
    let mut idg = rig.start();
    rig.request(&mut idg);
    let first = rig.ids();
    rig.wall_ms -= 20;
    rig.request(&mut idg);
    let out = rig.take();
    assert!(
        out.iter().any(|o| matches!(o, Output::SetTimer { .. })),
        "20 ms behind: wait"
    );
    rig.wall_ms += 21;
    rig.timer(&mut idg);
    let second = rig.ids();
    assert!(second[0] > first[0]);
    rig.wall_ms -= 5000;
    rig.request(&mut idg);
    let out = rig.take();
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Reply {
            resp: IdResponse::Refused(Refusal::ClockBehind { behind_ms: 5000 }),
            ..
        }
    )));
}

#[test]
fn planted_clock_rollback_goes_backwards() {
    let mut rig = Rig::new(IdgenConfig::default(), &[bugs::CLOCK_ROLLBACK]);
    let mut idg = rig.start();
    rig.request(&mut idg);
    let first = rig.ids();
    rig.wall_ms -= 5000;
    rig.request(&mut idg);
    let second = rig.ids();
    assert!(second[0] < first[0]);
}

#[test]
fn restart_never_reissues_even_with_the_clock_behind() {
    let mut rig = Rig::new(IdgenConfig::default(), &[]);
    let mut idg = rig.start();
    rig.request(&mut idg);
    let before = rig.ids()[0];
    rig.disk.crash();
    rig.wall_ms -= 500; // the rebooted machine's clock is behind
    let mut idg = rig.start();
    rig.request(&mut idg);
    let out = rig.take();
    assert!(out.iter().all(|o| !matches!(
        o,
        Output::Reply {
            resp: IdResponse::Id(_),
            ..
        }
    )));
    rig.wall_ms += 2000;
    rig.request(&mut idg);
    let after = rig.ids();
    assert!(after.iter().all(|&id| id > before), "{after:?} vs {before}");
}

#[test]
fn planted_restart_forgets_reissues() {
    let mut rig = Rig::new(IdgenConfig::default(), &[bugs::RESTART_FORGETS]);
    let mut idg = rig.start();
    rig.request(&mut idg);
    let before = rig.ids()[0];
    rig.disk.crash();
    let mut idg = rig.start();
    rig.request(&mut idg);
    assert_eq!(
        rig.ids(),
        vec![before],
        "same clock, same sequence, same id"
    );
}

#[test]
fn unreadable_state_refuses_rather_than_risking_a_repeat() {
    let mut rig = Rig::new(IdgenConfig::default(), &[]);
    let written = crate::disk::Storage::write(&mut rig.disk, HWM_FILE, b"not a number");
    assert!(written.is_ok());
    let mut idg = rig.start();
    rig.request(&mut idg);
    let out = rig.take();
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Reply {
            resp: IdResponse::Refused(Refusal::StateUnreadable),
            ..
        }
    )));
}
