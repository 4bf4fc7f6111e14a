//! The determinism check: run a (scenario, seed) twice and compare the two event logs record by
//! record, naming the first record where they part — on every backend, and under madsim on two
//! fresh threads, the same isolation each sweep run gets.
//!
//! madsim's own `MADSIM_TEST_CHECK_DETERMINISM` mode compares the log of its random draws
//! between two runs of one `async fn() -> T`; it cannot wrap our runs, whose time is driven
//! from outside madsim (the nemesis acts between `block_on`s) and whose draw log madsim keeps
//! private. The comparison here sees the same divergences: every event is stamped with madsim's
//! clock to the nanosecond, and each poll advances that clock by a random 50–100 ns draw, so a
//! run whose schedule or draws diverge shows a different record at the first observable point —
//! and the record says where and what.

use super::{RunError, RunOptions, RunOutcome, run_seed};
use crate::event::EventRecord;
use crate::scenario::Scenario;
use std::fmt;

/// Where two runs of one seed parted.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The seed.
    pub seed: u64,
    /// Index of the first record that differs (in time order).
    pub index: usize,
    /// That record in the first run (`None`: the first run's log ended here).
    pub first: Option<EventRecord>,
    /// That record in the second run.
    pub second: Option<EventRecord>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |r: &Option<EventRecord>| {
            r.as_ref().map_or("(log ended)".to_string(), |r| {
                serde_json::to_string(r).unwrap_or_else(|e| e.to_string())
            })
        };
        write!(
            f,
            "seed {} is not deterministic: the runs part at record {}\n  first:  {}\n  second: {}",
            self.seed,
            self.index,
            show(&self.first),
            show(&self.second)
        )
    }
}

/// Runs `seed` twice; `Ok(Ok(first run))` if both logs are identical record for record (and
/// so are their digests), `Ok(Err(divergence))` if not.
pub fn check_determinism(
    scenario: &Scenario,
    seed: u64,
    opts: &RunOptions,
) -> Result<Result<RunOutcome, Divergence>, RunError> {
    let a = run_seed(scenario, seed, opts)?;
    let b = run_seed(scenario, seed, opts)?;
    let (ra, rb) = (a.log.records(), b.log.records());
    let parted = (0..ra.len().max(rb.len())).find(|&i| ra.get(i) != rb.get(i));
    Ok(match parted {
        Some(index) => Err(Divergence {
            seed,
            index,
            first: ra.get(index).cloned(),
            second: rb.get(index).cloned(),
        }),
        None => {
            assert_eq!(a.digest, b.digest, "identical logs hash alike");
            Ok(a)
        }
    })
}
