//! Interleaves the partitions' searches under one step budget and one memory cap.
//!
//! Each live partition gets a slice of steps in turn, so one hard partition cannot starve a
//! violation in another; the first violation ends the check. A partition that hits the memory cap
//! is given up (its memory freed) while the others go on: a violation elsewhere is still a
//! definite answer, and otherwise the verdict is `unknown`. Running out of steps is `unknown`.
//!
//! A partition with operations of unknown outcome is searched twice. First *relaxed*: each such
//! operation may take effect any number of times. That allows more behaviour, so if even the
//! relaxed search finds no linearization, none exists — and it is far cheaper, because
//! configurations no longer differ by which unknown operations they used up. Only a relaxed pass
//! is confirmed by the exact search, which on linearizable histories finds a witness quickly.

use super::counterexample;
use super::model::Model;
use super::partition::Partition;
use super::report::{UnknownReason, Verdict};
use super::search::memo::MemoryMeter;
use super::search::{Progress, Search, SearchOp};
use crate::history::Paired;

/// Steps per turn: small partitions finish in their first turn; a hard one yields often enough
/// that a violation elsewhere is found within milliseconds.
const SLICE_STEPS: u64 = 1 << 16;

struct Live<'m, M: Model> {
    name: Option<String>,
    /// Kept for the exact search that follows a relaxed pass.
    ops: Vec<SearchOp<M::Op>>,
    search: Search<'m, M>,
}

pub(crate) struct Outcome {
    pub verdict: Verdict,
    pub steps: u64,
    pub memory_bytes_peak: u64,
}

pub(crate) fn run<M: Model>(
    model: &M,
    paired: &Paired,
    partitions: Vec<Partition<M::Op>>,
    budget_steps: u64,
    memory_bytes_max: u64,
) -> Outcome {
    let mut meter = MemoryMeter::new(memory_bytes_max);
    let mut live: Vec<Live<'_, M>> = partitions
        .into_iter()
        .map(|p| {
            let relaxed = p.ops.iter().any(|op| op.return_pos.is_none());
            Live {
                search: Search::new(model, p.ops.clone(), relaxed),
                name: p.name,
                ops: p.ops,
            }
        })
        .collect();
    let mut steps_done = 0u64;
    let mut out_of_memory: Vec<String> = Vec::new();
    let outcome = |verdict, steps, meter: &MemoryMeter| Outcome {
        verdict,
        steps,
        memory_bytes_peak: meter.peak_bytes,
    };
    while !live.is_empty() {
        let mut index = 0;
        while index < live.len() {
            let Live { name, ops, search } = &mut live[index];
            let before = search.steps();
            let remaining = budget_steps.saturating_sub(steps_done);
            let progress = if remaining == 0 {
                Progress::Paused
            } else {
                search.run(
                    SLICE_STEPS.min(remaining),
                    search.steps() + remaining,
                    &mut meter,
                )
            };
            steps_done += search.steps() - before;
            match progress {
                Progress::Paused if steps_done >= budget_steps => {
                    let reason = UnknownReason::BudgetExhausted { budget_steps };
                    return outcome(Verdict::Unknown(reason), steps_done, &meter);
                }
                Progress::Paused => index += 1,
                Progress::NotLinearizable => {
                    let cx = counterexample::from_search(model, paired, name.as_deref(), search);
                    return outcome(Verdict::NotLinearizable(Box::new(cx)), steps_done, &meter);
                }
                Progress::Linearizable | Progress::RelaxationUnbounded if search.is_relaxed() => {
                    meter.release(search.memo_bytes());
                    *search = Search::new(model, std::mem::take(ops), false);
                    index += 1;
                }
                Progress::Linearizable | Progress::OutOfMemory | Progress::RelaxationUnbounded => {
                    if progress == Progress::OutOfMemory {
                        out_of_memory.push(name.clone().unwrap_or_else(|| "(all)".to_string()));
                    }
                    meter.release(search.memo_bytes());
                    live.remove(index);
                }
            }
        }
    }
    let verdict = if out_of_memory.is_empty() {
        Verdict::Linearizable
    } else {
        Verdict::Unknown(UnknownReason::MemoryExhausted {
            memory_bytes_max,
            partitions: out_of_memory,
        })
    };
    outcome(verdict, steps_done, &meter)
}
