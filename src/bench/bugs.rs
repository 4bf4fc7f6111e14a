//! How fast the harness finds each planted bug: for every shipped scenario and every bug it is
//! built to catch (`catches = [...]`), the seeds run until the first failing one, in several
//! disjoint blocks of seeds, and the wall time that took — on one core, one run after another;
//! optionally, how far `faultlab shrink` shrinks the first catch.

use crate::backend::BackendKind;
use crate::bugs::{Bug, BugSet};
use crate::invariants::Overall;
use crate::runner::{RandomizeFlags, RunError, RunOptions, run_seed};
use crate::scenario::Scenario;
use crate::shrink::{ShrinkError, ShrinkOptions, Size, shrink};
use serde::Serialize;

/// The hunt for one bug in one block of seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hunt {
    /// First seed of the block.
    pub block_start: u64,
    /// Seeds run until the first failure, that one included (`None`: not caught in the block).
    pub seeds_to_catch: Option<u64>,
    /// The invariant that failed first on the catching seed.
    pub caught_by: Option<&'static str>,
    /// Wall time spent in the block until the catch (or the whole block).
    pub wall_ms: f64,
}

/// Every hunt for one (scenario, bug).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BugReport {
    /// The scenario.
    pub scenario: String,
    /// The bug.
    pub bug: String,
    /// The simulator.
    pub backend: BackendKind,
    /// One hunt per block.
    pub hunts: Vec<Hunt>,
    /// The first catch, shrunk (when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<Shrunk>,
}

/// How far the first catch of a bug shrank.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shrunk {
    /// The seed shrunk (the first block's catch).
    pub seed: u64,
    /// The invariant every shrunk candidate fails.
    pub invariant: &'static str,
    /// The catching run.
    pub before: Size,
    /// The shrunk scenario's run.
    pub after: Size,
    /// Simulation runs the shrink took.
    pub runs: u32,
    /// The run budget ran out (smaller may exist).
    pub budget_exhausted: bool,
}

impl BugReport {
    /// Median seeds-to-catch over the blocks that caught it.
    pub fn median(&self) -> Option<u64> {
        let mut caught: Vec<u64> = self.hunts.iter().filter_map(|h| h.seeds_to_catch).collect();
        caught.sort_unstable();
        caught.get(caught.len() / 2).copied()
    }

    /// The worst block: `None` when some block did not catch it at all.
    pub fn worst(&self) -> Option<u64> {
        self.hunts
            .iter()
            .map(|h| h.seeds_to_catch)
            .collect::<Option<Vec<u64>>>()
            .and_then(|v| v.into_iter().max())
    }

    /// The first seed that caught it, in the first block that did.
    pub fn first_catch(&self) -> Option<u64> {
        self.hunts
            .iter()
            .find_map(|h| h.seeds_to_catch.map(|n| h.block_start + n - 1))
    }

    /// Median wall time to catch it, in ms.
    pub fn median_wall_ms(&self) -> f64 {
        let mut walls: Vec<f64> = self.hunts.iter().map(|h| h.wall_ms).collect();
        walls.sort_by(f64::total_cmp);
        walls.get(walls.len() / 2).copied().unwrap_or(0.0)
    }
}

/// Hunts `bug` in `scenario`: `blocks` blocks of at most `seeds_max` seeds, block `k` starting
/// at seed `k * block_stride`.
pub fn hunt(
    scenario: &Scenario,
    bug: Bug,
    blocks: u64,
    seeds_max: u64,
    block_stride: u64,
    backend: BackendKind,
) -> Result<BugReport, RunError> {
    let opts = RunOptions {
        extra_bugs: BugSet::from([bug]),
        backend,
        ..RunOptions::default()
    };
    let mut hunts = Vec::new();
    for k in 0..blocks {
        let start = k * block_stride;
        #[allow(clippy::disallowed_methods)] // measuring the wall clock is the point
        let started = std::time::Instant::now();
        let mut hunt = Hunt {
            block_start: start,
            seeds_to_catch: None,
            caught_by: None,
            wall_ms: 0.0,
        };
        for seed in start..start + seeds_max {
            let o = run_seed(scenario, seed, &opts)?;
            if o.overall() == Overall::Fail {
                hunt.seeds_to_catch = Some(seed - start + 1);
                hunt.caught_by = o.failures().next().map(|v| v.invariant);
                break;
            }
        }
        hunt.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        hunts.push(hunt);
    }
    Ok(BugReport {
        scenario: scenario.name.clone(),
        bug: bug.name.to_string(),
        backend,
        hunts,
        shrunk: None,
    })
}

/// Shrinks the first catch of `report` in `scenario` (`text` is the file it came from;
/// `randomize` what the hunt switched on beyond it), with at most `runs_max` runs. `None` when
/// the bug was never caught.
pub fn shrink_first_catch(
    report: &BugReport,
    scenario: &Scenario,
    text: &str,
    bug: Bug,
    randomize: RandomizeFlags,
    runs_max: u32,
) -> Result<Option<Shrunk>, ShrinkError> {
    let Some(seed) = report.first_catch() else {
        return Ok(None);
    };
    let opts = ShrinkOptions {
        seed,
        run: RunOptions {
            extra_bugs: BugSet::from([bug]),
            backend: report.backend,
            randomize,
            ..RunOptions::default()
        },
        runs_max,
    };
    let r = shrink(scenario, text, &opts)?;
    Ok(Some(Shrunk {
        seed,
        invariant: r.invariant,
        before: r.before,
        after: r.after,
        runs: r.runs,
        budget_exhausted: r.budget_exhausted,
    }))
}
