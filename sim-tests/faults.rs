//! Every fault kind has its observable effect, read off the event log of small runs. A fault
//! that silently never fires is a harness bug; so is a "partition" that lets messages through.

use crate::common;
use faultlab::Registry;
use faultlab::counters::Counter;
use faultlab::event::{DropCause, Event, EventRecord};
use faultlab::fault::Fault;
use faultlab::ids::{Addr, NodeId};
use faultlab::runner::RunOutcome;
use faultlab::runner::coverage::Coverage;
use faultlab::scenario::Scenario;
use faultlab::time::SimTime;
use std::collections::{BTreeMap, BTreeSet};

const NODES: u32 = 5;
const CLIENTS: u32 = 5;

fn scenario(name: &str, faults: &str) -> Scenario {
    let text = format!(
        "service = \"idgen\"\nnodes = {NODES}\nclients = {CLIENTS}\nduration_ms = 3000\nliveness_ms = 500\n\
         [workload]\nthink_ms_max = 3\ntimeout_ms = 50\n{faults}"
    );
    Scenario::parse(
        &text,
        &format!("<{name}>"),
        Some(name),
        &Registry::builtin(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn run(sc: &Scenario) -> RunOutcome {
    common::run(sc, 5, &[])
}

/// Clients sit next to node `c mod n` (see `net::faults`).
fn position(a: Addr) -> NodeId {
    match a {
        Addr::Node(n) => n,
        Addr::Client(c) => NodeId(c.0 % NODES),
    }
}

fn between(o: &RunOutcome, from: SimTime, to: SimTime) -> impl Iterator<Item = &EventRecord> {
    o.log
        .records()
        .iter()
        .filter(move |r| r.time_ns >= from && r.time_ns < to)
}

fn fault_times(o: &RunOutcome, name: &str) -> Vec<(SimTime, Fault)> {
    o.log
        .records()
        .iter()
        .filter_map(|r| match &r.event {
            Event::Fault { action } if action.name() == name => Some((r.time_ns, action.clone())),
            _ => None,
        })
        .collect()
}

fn assert_clean(o: &RunOutcome) {
    common::assert_passed(o);
}

#[test]
fn partitions_cut_exactly_their_links_for_their_duration() {
    for kind in ["halves", "isolate", "one-way", "bridge", "majorities-ring"] {
        let sc = scenario(
            kind,
            &format!(
                "[[faults.schedule]]\nat_ms = 500\nfault = \"partition\"\nkind = \"{kind}\"\nduration_ms = 1000\n"
            ),
        );
        let o = run(&sc);
        assert_clean(&o);
        let (start, action) = fault_times(&o, "partition")
            .pop()
            .unwrap_or_else(|| panic!("{kind}: no partition"));
        let heal = fault_times(&o, "heal")
            .pop()
            .map(|(t, _)| t)
            .unwrap_or_else(|| panic!("{kind}: never healed"));
        assert_eq!(heal.as_ms() - start.as_ms(), 1000, "{kind}: heal time");
        let Fault::Partition { cut, .. } = action else {
            unreachable!()
        };
        let cut: BTreeSet<(NodeId, NodeId)> = cut.into_iter().collect();
        let mut dropped = 0;
        for r in between(&o, start, heal) {
            match &r.event {
                Event::Deliver { from, to, .. } => {
                    let link = (position(*from), position(*to));
                    assert!(
                        !cut.contains(&link),
                        "{kind}: delivered across cut link {link:?} at {}",
                        r.time_ns
                    );
                }
                Event::Drop {
                    from,
                    to,
                    cause: DropCause::Partition | DropCause::PartitionInFlight,
                    ..
                } => {
                    assert!(
                        cut.contains(&(position(*from), position(*to))),
                        "{kind}: dropped on an uncut link"
                    );
                    dropped += 1;
                }
                _ => {}
            }
        }
        assert!(dropped > 0, "{kind}: the partition dropped nothing");
        let after = between(&o, heal, SimTime::from_ms(10_000))
            .filter(|r| {
                matches!(
                    r.event,
                    Event::Drop {
                        cause: DropCause::Partition,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(after, 0, "{kind}: drops after heal");
    }
}

#[test]
fn a_paused_node_does_nothing_until_resumed() {
    let sc = scenario(
        "pause",
        "[[faults.schedule]]\nat_ms = 500\nfault = \"pause\"\nnode = 2\nduration_ms = 800\n",
    );
    let o = run(&sc);
    assert_clean(&o);
    let (paused, resumed) = (SimTime::from_ms(500), SimTime::from_ms(1300));
    let acted = |r: &&EventRecord| match &r.event {
        Event::Reply { node, .. } | Event::Timer { node, .. } | Event::Sync { node, .. } => {
            *node == NodeId(2)
        }
        Event::Send { from, .. } => *from == Addr::Node(NodeId(2)),
        _ => false,
    };
    let during = between(&o, paused, resumed).filter(acted).count();
    let after = between(&o, resumed, SimTime::from_ms(1400))
        .filter(acted)
        .count();
    assert_eq!(during, 0, "n2 acted while paused");
    assert!(after > 0, "n2 did not catch up after resume");
}

#[test]
fn crash_kills_the_process_and_restart_brings_a_new_incarnation() {
    let sc = scenario(
        "crash",
        "[[faults.schedule]]\nat_ms = 500\nfault = \"crash\"\nnode = 1\ndown_ms = 700\n",
    );
    let o = run(&sc);
    assert_clean(&o);
    let mut starts: BTreeMap<NodeId, Vec<(SimTime, u32)>> = BTreeMap::new();
    for r in o.log.records() {
        if let Event::Start { node, incarnation } = r.event {
            starts
                .entry(node)
                .or_default()
                .push((r.time_ns, incarnation.0));
        }
    }
    let n1 = &starts[&NodeId(1)];
    assert_eq!(n1.len(), 2);
    assert_eq!(n1[1].1, 2);
    assert!(n1[1].0 >= SimTime::from_ms(1200));
    let replies_while_down = between(&o, SimTime::from_ms(500), SimTime::from_ms(1200))
        .filter(|r| {
            matches!(
                r.event,
                Event::Reply {
                    node: NodeId(1),
                    ..
                }
            )
        })
        .count();
    assert_eq!(replies_while_down, 0);
    assert!(
        o.counters[Counter::DroppedNodeDown] > 0,
        "nobody noticed n1 was down"
    );
    assert_eq!(o.counters[Counter::Crashes], 1);
    assert_eq!(o.counters[Counter::Restarts], 1);
}

#[test]
fn message_loss_duplication_and_delay_happen() {
    let sc = scenario(
        "net",
        "[[faults.schedule]]\nat_ms = 200\nfault = \"net-loss\"\nprobability = 1.0\nfrom = 0\nduration_ms = 300\n\
         [[faults.schedule]]\nat_ms = 1000\nfault = \"net-duplicate\"\nprobability = 1.0\nduration_ms = 300\n\
         [[faults.schedule]]\nat_ms = 2000\nfault = \"net-delay\"\ndelay_ms_max = 40\nduration_ms = 300\n",
    );
    let o = run(&sc);
    assert_clean(&o);
    let (mut lost, mut dups, mut delayed) = (0, 0, 0);
    let mut delivered: BTreeMap<u64, u32> = BTreeMap::new();
    for r in o.log.records() {
        match &r.event {
            Event::Drop {
                from,
                cause: DropCause::Loss,
                ..
            } => {
                assert_eq!(position(*from), NodeId(0), "loss only on links from n0");
                assert!(r.time_ns >= SimTime::from_ms(200) && r.time_ns < SimTime::from_ms(500));
                lost += 1;
            }
            Event::Duplicate { .. } => dups += 1,
            Event::Delay { extra_ns, .. } => {
                assert!((1_000_000..=40_000_000).contains(extra_ns));
                delayed += 1;
            }
            Event::Deliver { msg_id, .. } => *delivered.entry(*msg_id).or_default() += 1,
            _ => {}
        }
    }
    assert!(
        lost > 0 && dups > 0 && delayed > 0,
        "lost {lost} dups {dups} delayed {delayed}"
    );
    assert!(
        delivered.values().any(|&n| n == 2),
        "no duplicate was delivered twice"
    );
}

#[test]
fn corrupted_messages_are_dropped_at_the_receiver_never_decoded() {
    let sc = scenario(
        "corrupt",
        "[[faults.schedule]]\nat_ms = 200\nfault = \"net-corrupt\"\nprobability = 0.5\nto = 1\nduration_ms = 500\n",
    );
    let o = run(&sc);
    assert_clean(&o);
    let mut corrupted = BTreeSet::new();
    let mut garbage_at_n1 = 0;
    let mut delivered = BTreeSet::new();
    for r in o.log.records() {
        match &r.event {
            Event::Corrupt { to, msg_id, .. } => {
                assert_eq!(position(*to), NodeId(1), "corruption only on links to n1");
                assert!(r.time_ns >= SimTime::from_ms(200) && r.time_ns < SimTime::from_ms(700));
                corrupted.insert(*msg_id);
            }
            Event::Garbage { to, error, .. } => {
                assert!(error.contains("checksum"), "{error}");
                if position(*to) == NodeId(1) {
                    garbage_at_n1 += 1;
                }
            }
            Event::Deliver { msg_id, .. } => {
                delivered.insert(*msg_id);
            }
            _ => {}
        }
    }
    assert!(corrupted.len() > 5, "only {} corrupted", corrupted.len());
    assert_eq!(
        o.counters[Counter::CorruptedMessages],
        corrupted.len() as u64
    );
    assert_eq!(
        garbage_at_n1,
        corrupted.len(),
        "every corrupted message is dropped as garbage"
    );
    assert!(
        corrupted.is_disjoint(&delivered),
        "a corrupted message reached a service"
    );
}

#[test]
fn clock_faults_reach_the_service() {
    let sc = scenario(
        "clock",
        "[[faults.schedule]]\nat_ms = 500\nfault = \"clock-jump\"\nnode = 0\ndelta_ms = -2000\n\
         [[faults.schedule]]\nat_ms = 600\nfault = \"clock-offset\"\nnode = 1\noffset_ms = 700\n",
    );
    let o = run(&sc);
    assert_clean(&o);
    assert_eq!(o.counters[Counter::ClockJumpsBackward], 1);
    assert_eq!(o.counters[Counter::ClockJumpsForward], 1);
    let refused = o
        .counters
        .notes
        .get("idgen/clock-behind-refuse")
        .copied()
        .unwrap_or(0);
    assert!(refused > 0, "n0 never noticed its clock went back");
}

#[test]
fn clock_resync_steps_a_skewed_clock_back_to_true_time() {
    let sc = scenario(
        "resync",
        "[[faults.schedule]]\nat_ms = 500\nfault = \"clock-offset\"\nnode = 1\noffset_ms = 700\n\
         [[faults.schedule]]\nat_ms = 900\nfault = \"clock-resync\"\nnode = 1\n",
    );
    let o = run(&sc);
    assert_clean(&o);
    let steps: Vec<i64> = o
        .log
        .records()
        .iter()
        .filter_map(|r| match &r.event {
            Event::ClockStep { node, delta_ns } if *node == NodeId(1) => Some(*delta_ns),
            _ => None,
        })
        .collect();
    assert_eq!(steps, vec![700_000_000, -700_000_000]);
    assert_eq!(o.counters[Counter::ClockJumpsBackward], 1);
}

#[test]
fn an_expectation_its_faults_did_not_meet_fails_the_seed() {
    // One crash is scheduled, yet the scenario expects two: the seed must not pass.
    let sc = scenario(
        "unmet",
        "[[faults.schedule]]\nat_ms = 500\nfault = \"crash\"\nnode = 1\ndown_ms = 100\n\
         [expect]\ncrashes_min = 2\n",
    );
    let o = run(&sc);
    let failed: Vec<&str> = o.failures().map(|v| v.invariant).collect();
    assert_eq!(failed, vec!["faults-observable"]);
}

#[test]
fn an_expectation_no_fault_could_cause_is_a_coverage_gap_not_a_pass() {
    // No crash is planned at all, yet the scenario expects a restart: no single seed is to
    // blame, but a sweep that never reached it is unknown, never a pass.
    let sc = scenario("gap", "[expect]\nrestarts_min = 1\n");
    let o = run(&sc);
    assert!(!o.failed(), "no seed can be blamed");
    let mut cov = Coverage::new(&sc.expect, &sc.expect_notes);
    cov.add(&o.counters);
    let gaps: Vec<String> = cov
        .unreached()
        .iter()
        .map(|r| r.expectation.to_string())
        .collect();
    assert_eq!(gaps, vec!["restarts"]);
}

#[test]
fn a_fault_that_cannot_apply_is_logged_as_skipped() {
    let sc = scenario(
        "skip",
        "[[faults.schedule]]\nat_ms = 100\nfault = \"restart\"\nnode = 0\n",
    );
    let o = run(&sc);
    assert_eq!(o.counters[Counter::FaultsSkipped], 1);
    assert_eq!(o.counters[Counter::Restarts], 0);
}
