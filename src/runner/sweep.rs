//! Running many seeds of a scenario, in parallel on OS threads (each run is single-threaded and
//! self-contained, so runs cannot disturb each other), with results in seed order.

use super::report::summary_line;
use super::seeds::SeedRange;
use super::{RunError, RunOptions, RunOutcome, run_seed};
use crate::counters::Counters;
use crate::event::Digest;
use crate::invariants::{Overall, Verdict};
use crate::scenario::Scenario;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a sweep keeps of one seed (the full records are dropped to bound memory).
#[derive(Debug, Clone)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Its digest.
    pub digest: Digest,
    /// Its one-line summary.
    pub line: String,
    /// Its counters.
    pub counters: Counters,
    /// Fail, unknown or pass.
    pub overall: Overall,
    /// Its verdicts that did not pass (failures and unknowns).
    pub not_passed: Vec<Verdict>,
}

impl SeedResult {
    /// Keeps what a sweep needs of `o`.
    pub fn of(o: &RunOutcome) -> Self {
        SeedResult {
            seed: o.seed,
            digest: o.digest,
            line: summary_line(o),
            counters: o.counters.clone(),
            overall: o.overall(),
            not_passed: o.not_passed().cloned().collect(),
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
    assert!(jobs >= 1, "a sweep needs at least one job");
    let next = AtomicU64::new(seeds.start);
    let results: Mutex<Vec<Result<SeedResult, RunError>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
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
