//! `faultlab check`: linearizability of a recorded history.
//!
//! Exit codes: 0 = linearizable, 1 = not linearizable, 3 = unknown (budget or memory exhausted),
//! 2 = bad input or usage (returned as an error, which `main` turns into 2).

use anyhow::Context;
use clap::Args;
use faultlab::check::{
    self, BUDGET_STEPS_DEFAULT, CheckOptions, MEMORY_BYTES_MAX_DEFAULT, ModelKind,
};
use faultlab::history::{pair, read_jsonl_located};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The model: register (alias cas-register), kv, mutex, lock, idgen.
    #[arg(long)]
    pub model: ModelKind,
    /// Initial value (JSON) of the register, or of every key for kv [default: null].
    #[arg(long, value_name = "JSON", value_parser = parse_json)]
    pub initial: Option<Value>,
    /// Search steps allowed before the verdict is unknown.
    #[arg(long, value_name = "N", default_value_t = BUDGET_STEPS_DEFAULT)]
    pub budget_steps: u64,
    /// Memo-table memory allowed before the verdict is unknown, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = MEMORY_BYTES_MAX_DEFAULT >> 20)]
    pub memory_mb_max: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also write an HTML timeline of the history (the failing partition, if any) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The history file (JSON Lines); `-` reads standard input.
    pub history: PathBuf,
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|err| format!("not valid JSON: {err}"))
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let name = args.history.display().to_string();
    let (history, source) = if name == "-" {
        let mut text = Vec::new();
        std::io::stdin()
            .read_to_end(&mut text)
            .context("reading standard input")?;
        read_jsonl_located(text.as_slice(), "<stdin>")?
    } else {
        let file = std::fs::File::open(&args.history).with_context(|| format!("opening {name}"))?;
        read_jsonl_located(std::io::BufReader::new(file), &name)?
    };
    let paired = pair(&history, &source)?;
    let options = CheckOptions {
        budget_steps: args.budget_steps,
        memory_bytes_max: args.memory_mb_max.saturating_mul(1024 * 1024),
        initial: args.initial,
        ..CheckOptions::default()
    };
    let report = check::check_paired(&paired, &source, args.model, &options)?;
    if let Some(path) = &args.html {
        let page = check::html::render(&paired, &report, &source.name);
        std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", check::text::render(&report));
    }
    Ok(ExitCode::from(report.verdict.exit_code()))
}
