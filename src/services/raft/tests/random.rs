//! The randomized cluster test: seeded lossy network, partitions, crashes and restarts, clock
//! drift within the configured bound; safety checked after every step, then liveness once the
//! faults stop. `RAFT_SEEDS=N` runs N seeds (default 200); `RAFT_SEED=S` replays one.

use super::super::*;
use super::harness::{Cluster, NetFaults};
use crate::rng::{DetRng, component_rng};
use rand::Rng;

/// What one seed did, for the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub proposals: u64,
    pub crashes: u64,
    pub reads: u64,
    pub reads_by_lease: u64,
    pub commit_index: u64,
    pub snapshots_installed: u64,
    pub leaderships: u64,
}

fn drawn_config(rng: &mut DetRng) -> RaftConfig {
    RaftConfig {
        // Small bounds so batching, snapshots and chunking all happen in a short run.
        append_entries_max: rng.random_range(1..8),
        compact_after_entries: rng.random_range(10..60),
        snapshot_chunk_bytes: rng.random_range(8..64),
        pre_vote: rng.random_bool(0.7),
        check_quorum: rng.random_bool(0.7),
        lease_read: rng.random_bool(0.5).then_some(LeaseConfig {
            drift_bound_ppm: 20_000,
        }),
        ..RaftConfig::default()
    }
}

/// Runs one seed; `Err` carries the first violation with the replay line.
pub fn run_seed(seed: u64, nodes: u32, bugs: RaftBugs, chaos_ms: u64) -> Result<Stats, String> {
    run_seed_with(seed, nodes, bugs, chaos_ms, false)
}

/// `run_seed`, optionally with the host bug "ack before fsync".
pub fn run_seed_with(
    seed: u64,
    nodes: u32,
    bugs: RaftBugs,
    chaos_ms: u64,
    host_acks_before_sync: bool,
) -> Result<Stats, String> {
    let mut rng = component_rng(seed, "raft-test-driver", 0);
    let cfg = drawn_config(&mut rng);
    let mut c = Cluster::new(nodes, cfg.clone(), bugs, seed);
    c.host_acks_before_sync = host_acks_before_sync;
    for n in &mut c.nodes {
        n.rate_ppm = rng.random_range(990_000..=1_010_000);
    }
    c.net = NetFaults {
        drop_ppm: rng.random_range(0..150_000),
        dup_ppm: rng.random_range(0..50_000),
        delay_ms_max: rng.random_range(0..30),
    };
    let fail = |c: &Cluster, phase: &str| {
        Err(format!(
            "seed {seed} ({nodes} nodes, {phase}): {} — replay: RAFT_SEED={seed} cargo test --lib services::raft::tests::random\nconfig: {cfg:?}",
            c.violations[0]
        ))
    };
    let mut stats = Stats::default();
    let mut ctx = 0;
    let mut t_ms = 0;
    while t_ms < chaos_ms {
        t_ms += 10;
        c.run_until(t_ms * 1_000_000);
        if !c.violations.is_empty() {
            return fail(&c, "chaos");
        }
        if let Some(l) = c.leader() {
            if c.propose(l).is_some() {
                stats.proposals += 1;
            }
            ctx += 1;
            c.read(l, ctx);
        }
        if t_ms % 100 == 0 {
            chaos(&mut c, &mut rng, &mut stats);
        }
    }
    // Liveness: heal everything and expect progress.
    c.heal();
    c.net = NetFaults::default();
    for id in 0..nodes {
        if c.core(id).is_none() {
            c.restart(id);
        }
    }
    c.run_ms(2_000);
    let Some(leader) = c.leader() else {
        c.violations
            .push("liveness: no leader 2 s after healing".into());
        return fail(&c, "liveness");
    };
    let mut last = None;
    for _ in 0..5 {
        last = c.propose(leader).or(last);
    }
    c.run_ms(1_000);
    let target = c.core(leader).map_or(0, |l| l.last_index());
    let all_applied = (0..nodes).all(|id| c.core(id).is_some_and(|n| n.applied_index() >= target));
    if last.is_none() || !all_applied || !c.converged() {
        c.violations.push(format!(
            "liveness: proposals did not commit and apply everywhere (target {target}, applied {:?})",
            (0..nodes).map(|id| c.core(id).map(|n| n.applied_index())).collect::<Vec<_>>()
        ));
    }
    if !c.violations.is_empty() {
        return fail(&c, "liveness");
    }
    stats.reads = c.reads_served;
    stats.reads_by_lease = c.reads_by_lease;
    stats.snapshots_installed = c.snapshots_installed;
    stats.leaderships = c.leaderships;
    stats.commit_index = c.core(leader).map_or(0, |l| l.commit_index());
    Ok(stats)
}

/// One random fault action: partition, heal, crash or restart.
fn chaos(c: &mut Cluster, rng: &mut DetRng, stats: &mut Stats) {
    let n = c.nodes.len() as u32;
    match rng.random_range(0..6) {
        0 => {
            let id = rng.random_range(0..n);
            c.isolate(id);
        }
        1 => {
            // A random two-way split.
            c.heal();
            let side: Vec<bool> = (0..n).map(|_| rng.random_bool(0.5)).collect();
            for a in 0..n {
                for b in 0..n {
                    if side[a as usize] != side[b as usize] {
                        c.cut.insert((a, b));
                    }
                }
            }
        }
        2 | 3 => c.heal(),
        4 => {
            let id = rng.random_range(0..n);
            if c.core(id).is_some() {
                c.crash(id);
                stats.crashes += 1;
            }
        }
        _ => {
            for id in 0..n {
                if c.core(id).is_none() {
                    c.restart(id);
                }
            }
        }
    }
}

/// Simulated time of the fault phase of each seed.
const CHAOS_MS: u64 = 3_000;

fn seeds() -> Vec<u64> {
    if let Some(s) = std::env::var("RAFT_SEED").ok().and_then(|s| s.parse().ok()) {
        return vec![s];
    }
    let n = std::env::var("RAFT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    (0..n).collect()
}

#[test]
fn random_clusters_stay_safe_and_recover() {
    let mut total = Stats::default();
    let seeds = seeds();
    for &seed in &seeds {
        let nodes = if seed % 2 == 0 { 3 } else { 5 };
        match run_seed(seed, nodes, RaftBugs::default(), CHAOS_MS) {
            Ok(s) => {
                total.proposals += s.proposals;
                total.crashes += s.crashes;
                total.reads += s.reads;
                total.reads_by_lease += s.reads_by_lease;
                total.commit_index += s.commit_index;
                total.snapshots_installed += s.snapshots_installed;
                total.leaderships += s.leaderships;
            }
            Err(e) => panic!("{e}"),
        }
    }
    println!("{} seeds: {total:?}", seeds.len());
    // Guards against a sweep that passes because a fault or a path never happened.
    let covered = total.crashes > 0
        && total.commit_index > 0
        && total.reads_by_lease > 0
        && total.reads > total.reads_by_lease
        && total.snapshots_installed > 0
        && total.leaderships > seeds.len() as u64;
    assert!(
        covered || seeds.len() == 1,
        "a fault or a path never happened: {total:?}"
    );
}

#[test]
#[ignore = "exploration"]
fn explore_bugs() {
    let flags = [
        RaftBugs {
            commit_old_term: true,
            ..RaftBugs::default()
        },
        RaftBugs {
            truncate_on_stale_append: true,
            ..RaftBugs::default()
        },
        RaftBugs {
            vote_not_persisted: true,
            ..RaftBugs::default()
        },
        RaftBugs {
            lease_read_no_drift_bound: true,
            ..RaftBugs::default()
        },
    ];
    for bugs in flags {
        let mut found = 0;
        let mut first = None;
        for seed in 0..300 {
            let nodes = if seed % 2 == 0 { 3 } else { 5 };
            if let Err(e) = run_seed(seed, nodes, bugs, 1_500) {
                found += 1;
                println!(
                    "  {}",
                    e.lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect::<String>()
                );
                first.get_or_insert(e);
            }
        }
        println!("{bugs:?}: {found}/300 seeds fail; first: {first:?}");
    }
}
