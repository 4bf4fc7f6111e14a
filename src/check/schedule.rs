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
//!
//! Such a partition is also raced against a second exact search that places unknown-outcome
//! operations like calls returning at +∞ (Porcupine's way): just-in-time placement explodes on
//! many distinct chains of unknown `cas`, the plain one on long stretches where unknown writes
//! could go anywhere. The two take slices in turn under the partition's share of the budget and
//! the first decisive answer wins; both are sound, so whichever answers is right.

use super::counterexample;
use super::model::Model;
use super::options::SearchStrategy;
use super::partition::Partition;
use super::report::{UnknownReason, Verdict};
use super::search::memo::MemoryMeter;
use super::search::{Placement, Progress, Search, SearchOp};
use super::stopwatch::Deadline;
use crate::history::Paired;

/// Steps per turn at most: a hard partition yields often enough that a violation elsewhere is
/// found within milliseconds, and the deadline is looked at every few milliseconds.
const SLICE_STEPS: u64 = 1 << 16;

/// Steps of a partition's first turns: the slices double from here, so when two placements
/// race, the one that needs a few hundred steps is not kept waiting behind a full slice of the
/// other (measured: Porcupine's etcd_002 took 66 k steps with full slices, ~1 k now).
const SLICE_STEPS_FIRST: u64 = 1 << 10;

struct Live<'m, M: Model> {
    name: Option<String>,
    /// Kept for the exact search that follows a relaxed pass.
    ops: Vec<SearchOp<M::Op>>,
    /// The searches racing on this partition (one when nothing has an unknown outcome).
    racers: Vec<Search<'m, M>>,
    /// Which racer takes the next slice.
    turn: usize,
}

impl<'m, M: Model> Live<'m, M> {
    fn new(model: &'m M, partition: Partition<M::Op>, strategy: SearchStrategy) -> Self {
        let has_unknown = partition.ops.iter().any(|op| op.return_pos.is_none());
        let just_in_time = Placement::JustInTime {
            relaxed: has_unknown,
        };
        let placements = match strategy {
            _ if !has_unknown => vec![just_in_time],
            SearchStrategy::Race => vec![just_in_time, Placement::AtInfinity],
            SearchStrategy::JustInTime => vec![just_in_time],
            SearchStrategy::AtInfinity => vec![Placement::AtInfinity],
        };
        let racers = placements
            .into_iter()
            .map(|placement| Search::new(model, partition.ops.clone(), placement))
            .collect();
        Live {
            name: partition.name,
            ops: partition.ops,
            racers,
            turn: 0,
        }
    }

    fn memo_bytes(&self) -> u64 {
        self.racers.iter().map(Search::memo_bytes).sum()
    }
}

/// What one slice of one partition's search came to.
enum Turn {
    Continue,
    Done,
    OutOfMemory,
}

/// How much effort one check may spend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub budget_steps: u64,
    pub memory_bytes_max: u64,
    pub deadline: Deadline,
    pub strategy: SearchStrategy,
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
    limits: &Limits,
) -> Outcome {
    let Limits {
        budget_steps,
        memory_bytes_max,
        deadline,
        strategy,
    } = *limits;
    let mut meter = MemoryMeter::new(memory_bytes_max);
    let mut live: Vec<Live<'_, M>> = partitions
        .into_iter()
        .map(|p| Live::new(model, p, strategy))
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
            let partition = &mut live[index];
            let racer = partition.turn % partition.racers.len();
            let rounds = partition.turn / partition.racers.len();
            partition.turn += 1;
            let slice_steps = SLICE_STEPS_FIRST
                .checked_shl(rounds.min(16) as u32)
                .map_or(SLICE_STEPS, |s| s.min(SLICE_STEPS));
            let search = &mut partition.racers[racer];
            let before = search.steps();
            let remaining = budget_steps.saturating_sub(steps_done);
            let progress = if remaining == 0 {
                Progress::Paused
            } else {
                search.run(
                    slice_steps.min(remaining),
                    search.steps() + remaining,
                    &mut meter,
                    &deadline,
                )
            };
            steps_done += search.steps() - before;
            let turn = match progress {
                Progress::Paused if steps_done >= budget_steps => {
                    let reason = UnknownReason::BudgetExhausted { budget_steps };
                    return outcome(Verdict::Unknown(reason), steps_done, &meter);
                }
                Progress::Paused if deadline.expired() => {
                    let timeout_s = deadline.timeout_s;
                    let reason = UnknownReason::Timeout { timeout_s };
                    return outcome(Verdict::Unknown(reason), steps_done, &meter);
                }
                Progress::Paused => Turn::Continue,
                Progress::NotLinearizable => {
                    let name = partition.name.as_deref();
                    let cx = counterexample::from_search(model, paired, name, search);
                    return outcome(Verdict::NotLinearizable(Box::new(cx)), steps_done, &meter);
                }
                Progress::Linearizable | Progress::RelaxationUnbounded if search.is_relaxed() => {
                    meter.release(search.memo_bytes());
                    let exact = Placement::JustInTime { relaxed: false };
                    *search = Search::new(model, partition.ops.clone(), exact);
                    Turn::Continue
                }
                Progress::Linearizable => Turn::Done,
                // Only a relaxed search reports an unbounded relaxation; treat anything else
                // like running out of memory: this racer cannot decide.
                Progress::OutOfMemory | Progress::RelaxationUnbounded => {
                    meter.release(search.memo_bytes());
                    partition.racers.remove(racer);
                    if partition.racers.is_empty() {
                        Turn::OutOfMemory
                    } else {
                        Turn::Continue
                    }
                }
            };
            match turn {
                Turn::Continue => index += 1,
                Turn::Done | Turn::OutOfMemory => {
                    if matches!(turn, Turn::OutOfMemory) {
                        let name = partition.name.clone();
                        out_of_memory.push(name.unwrap_or_else(|| "(all)".to_string()));
                    }
                    meter.release(partition.memo_bytes());
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
