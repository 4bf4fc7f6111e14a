//! Running many seeds of a scenario, in parallel on OS threads (each run is single-threaded and
//! self-contained, so runs cannot disturb each other), with results in seed order.

use super::report::summary_line;
use super::seeds::SeedRange;
use super::stats::RunStats;
use super::{RunError, RunOptions, RunOutcome, run_seed};
use crate::event::Digest;
use crate::invariants::Verdict;
use crate::scenario::Scenario;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a sweep keeps of one seed (the full records are dropped to bound memory).
#[derive(Debug, Clone)]
pub struct SeedResult {
    pub seed: u64,
    pub digest: Digest,
    pub line: String,
    pub stats: RunStats,
    pub failures: Vec<Verdict>,
}

impl SeedResult {
    pub fn of(o: &RunOutcome) -> Self {
        SeedResult {
            seed: o.seed,
            digest: o.digest,
            line: summary_line(o),
            stats: o.stats.clone(),
            failures: o.failures().cloned().collect(),
        }
    }
}

/// Runs every seed; `on_done` sees each full outcome as it finishes (for progress and reports).
pub fn sweep(
    scenario: &Scenario,
    seeds: SeedRange,
    opts: &RunOptions,
    jobs: usize,
    on_done: &(dyn Fn(&RunOutcome) + Sync),
) -> Result<Vec<SeedResult>, RunError> {
    let next = AtomicU64::new(seeds.start);
    let results: Mutex<Vec<Result<SeedResult, RunError>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end {
                        return;
                    }
                    let r = run_seed(scenario, seed, opts).map(|o| {
                        on_done(&o);
                        SeedResult::of(&o)
                    });
                    let failed_hard = r.is_err();
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(r);
                    if failed_hard {
                        return;
                    }
                }
            });
        }
    });
    let mut all = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Vec::with_capacity(all.len());
    for r in all.drain(..) {
        out.push(r?);
    }
    out.sort_by_key(|r| r.seed);
    Ok(out)
}
