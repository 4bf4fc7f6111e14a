//! Linearizability checking (Wing–Gong/Lowe with memoisation and P-compositionality).
//!
//! The checker consumes histories only: it never imports a service or the simulator.
//!
//! - [`check`] takes a [`History`] and a [`ModelKind`] and returns a [`CheckReport`] whose verdict
//!   is linearizable, not linearizable (with a [`Counterexample`]) or unknown (step budget or memo
//!   memory exhausted — never a pass).
//! - A new data type implements [`Model`] (a few dozen lines; see `models/mutex.rs`) and is
//!   checked with [`check_model`].
//! - Conventions per built-in model (operation names, value shapes) are documented in
//!   [`models::register`], [`models::kv`], [`models::mutex`], [`models::lock`] and [`idgen`].
//!
//! How: operations are paired (`history::pair`), parsed by the model and split into partitions
//! (`partition.rs`); each partition gets a resumable search (`search/`), interleaved under one
//! budget (`schedule.rs`). The `idgen` model needs no search: a sweep decides it (`idgen.rs`).

mod counterexample;
mod error;
pub mod html;
pub mod idgen;
mod model;
pub mod models;
mod options;
mod partition;
mod report;
mod schedule;
mod search;
mod stopwatch;
pub mod text;
mod value;

pub use error::CheckError;
pub use model::{Model, OpView, key_partition};
pub use options::{
    BUDGET_STEPS_DEFAULT, CheckOptions, MEMORY_BYTES_MAX_DEFAULT, ModelKind, ReadNil,
    SearchStrategy,
};
pub use report::{CheckReport, Counterexample, OpSummary, PrefixStep, UnknownReason, Verdict};
pub use value::Val;

use crate::history::{History, Paired, Source, pair};
use stopwatch::{Deadline, Stopwatch};

/// Checks an in-memory history (event `i` is line `i + 1`, as `History::write_jsonl` writes it).
pub fn check(
    history: &History,
    model: ModelKind,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let source = Source::in_memory("<history>");
    check_paired(&pair(history, &source)?, &source, model, options)
}

/// Checks already paired operations (what `faultlab check` does, to render HTML afterwards).
pub fn check_paired(
    paired: &Paired,
    source: &Source,
    model: ModelKind,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let initial = options.initial.as_ref();
    match model {
        ModelKind::Register => {
            let register = models::Register::new(initial, options.read_nil);
            check_paired_model(paired, source, &register, options)
        }
        ModelKind::Kv => {
            let kv = models::kv::new(initial, options.read_nil);
            check_paired_model(paired, source, &kv, options)
        }
        ModelKind::Mutex => no_initial(model, options)
            .and_then(|()| check_paired_model(paired, source, &models::Mutex, options)),
        ModelKind::Lock => no_initial(model, options)
            .and_then(|()| check_paired_model(paired, source, &models::Lock, options)),
        ModelKind::Idgen => {
            no_initial(model, options)?;
            let stopwatch = Stopwatch::start();
            let outcome = idgen::check(paired, source)?;
            Ok(CheckReport {
                model: model.name().to_string(),
                verdict: outcome.verdict,
                ops: paired.ops.len(),
                ops_unknown: paired.unknown_count(),
                ops_failed: paired.failed,
                partitions: outcome.partitions,
                elapsed_ms: stopwatch.elapsed_ms(),
                steps: outcome.steps,
                budget_steps: options.budget_steps,
                memory_bytes_peak: 0,
                memory_bytes_max: options.memory_bytes_max,
            })
        }
    }
}

/// Checks an in-memory history against any [`Model`].
pub fn check_model<M: Model>(
    history: &History,
    model: &M,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let source = Source::in_memory("<history>");
    check_paired_model(&pair(history, &source)?, &source, model, options)
}

/// Checks paired operations against any [`Model`].
pub fn check_paired_model<M: Model>(
    paired: &Paired,
    source: &Source,
    model: &M,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let stopwatch = Stopwatch::start();
    let partitions = partition::partitions(model, paired, source)?;
    let partition_count = partitions.len();
    let limits = schedule::Limits {
        budget_steps: options.budget_steps,
        memory_bytes_max: options.memory_bytes_max,
        deadline: Deadline::after(options.timeout_s),
        strategy: options.strategy,
    };
    let outcome = schedule::run(model, paired, partitions, &limits);
    Ok(CheckReport {
        model: model.name().to_string(),
        verdict: outcome.verdict,
        ops: paired.ops.len(),
        ops_unknown: paired.unknown_count(),
        ops_failed: paired.failed,
        partitions: partition_count,
        elapsed_ms: stopwatch.elapsed_ms(),
        steps: outcome.steps,
        budget_steps: options.budget_steps,
        memory_bytes_peak: outcome.memory_bytes_peak,
        memory_bytes_max: options.memory_bytes_max,
    })
}

fn no_initial(model: ModelKind, options: &CheckOptions) -> Result<(), CheckError> {
    match options.initial {
        Some(_) => Err(CheckError::InitialNotSupported {
            model: model.name(),
        }),
        None => Ok(()),
    }
}
