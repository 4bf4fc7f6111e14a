//! `faultlab check`: linearizability of recorded histories — one, or many in one process.
//!
//! Exit codes: 0 = linearizable, 1 = not linearizable, 3 = unknown (budget, time or memory
//! exhausted), 2 = bad input or usage. With several histories the exit code is the worst one:
//! 2 before 1 before 3 before 0.
//!
//! `--model`, `--initial`, `--format` and `--read-nil` may be repeated: each `--model` starts a
//! group, and the options and histories that follow it (up to the next `--model`) belong to it;
//! anything before the first `--model` belongs to the first group.

use super::check_files::{self, Checked, Job, Settings};
use crate::check::{
    self, BUDGET_STEPS_DEFAULT, CheckOptions, CheckReport, MEMORY_BYTES_MAX_DEFAULT, ModelKind,
    ReadNil,
};
use crate::history::HistoryFormat;
use anyhow::{Context, bail};
use clap::{ArgMatches, Args, FromArgMatches};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The options as clap reads them; [`CheckArgs`] adds which group each history belongs to.
#[derive(Debug, Args)]
pub struct CheckFlags {
    /// The model: register (alias cas-register), kv, mutex, lock, idgen. Repeat to check
    /// histories against different models: each --model applies to the histories after it.
    #[arg(long, required = true)]
    pub model: Vec<ModelKind>,
    /// Initial value (JSON) of the register, or of every key for kv [default: null].
    #[arg(long, value_name = "JSON", value_parser = parse_json)]
    pub initial: Vec<Value>,
    /// History format: jsonl or edn [default: by extension (.edn, .jsonl), else by content].
    #[arg(long, value_name = "FORMAT")]
    pub format: Vec<HistoryFormat>,
    /// What an ok read of null means: `value` (the register held null) or `any` (Knossos: it
    /// matches any state) [default: any for EDN, value for JSON Lines].
    #[arg(long, value_name = "RULE")]
    pub read_nil: Vec<ReadNil>,
    /// Search steps allowed per history before its verdict is unknown (deterministic).
    #[arg(long, value_name = "N", default_value_t = BUDGET_STEPS_DEFAULT)]
    pub budget_steps: u64,
    /// Wall-clock seconds allowed per history before its verdict is unknown [default: none].
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout_s: Option<f64>,
    /// Memo-table memory allowed per history before its verdict is unknown, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = MEMORY_BYTES_MAX_DEFAULT >> 20)]
    pub memory_mb_max: u64,
    /// Histories checked at once (threads); memory is capped per history.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Print JSON: one object per history (one line each when there are several).
    #[arg(long)]
    pub json: bool,
    /// Also write an HTML timeline of the history (the failing partition, if any) to FILE; one
    /// history only.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// History files (JSON Lines or EDN) and directories (searched recursively for *.jsonl and
    /// *.edn; in a Jepsen run directory only history.edn); `-` reads standard input.
    #[arg(required = true, value_name = "HISTORY")]
    pub histories: Vec<PathBuf>,
}

/// `faultlab check` arguments: the flags, and the settings of each history.
#[derive(Debug)]
pub struct CheckArgs {
    /// What the command line said.
    pub flags: CheckFlags,
    /// Per entry of `flags.histories`: its group's settings.
    pub settings: Vec<Settings>,
}

impl Args for CheckArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        CheckFlags::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        CheckFlags::augment_args_for_update(cmd)
    }
}

impl FromArgMatches for CheckArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let flags = CheckFlags::from_arg_matches(matches)?;
        let settings = group_settings(&flags, matches).map_err(|message| {
            clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, message)
        })?;
        Ok(CheckArgs { flags, settings })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = CheckArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

/// Where each occurrence of an option stands on the command line.
fn positions(matches: &ArgMatches, id: &str) -> Vec<usize> {
    matches
        .indices_of(id)
        .map(|indices| indices.collect())
        .unwrap_or_default()
}

/// Splits the command line into `--model` groups (see the module docs).
fn group_settings(flags: &CheckFlags, matches: &ArgMatches) -> Result<Vec<Settings>, String> {
    let starts = positions(matches, "model");
    let group_of = |index: usize| starts.partition_point(|&start| start <= index).max(1) - 1;
    let mut groups: Vec<Settings> = flags
        .model
        .iter()
        .map(|&model| Settings {
            model,
            initial: None,
            format: None,
            read_nil: None,
        })
        .collect();
    let name = |g: usize| flags.model[g].name();
    for (&at, value) in positions(matches, "initial").iter().zip(&flags.initial) {
        let group = &mut groups[group_of(at)];
        if group.initial.replace(value.clone()).is_some() {
            return Err(format!("--initial given twice for --model {}", group.model));
        }
    }
    for (&at, &format) in positions(matches, "format").iter().zip(&flags.format) {
        let g = group_of(at);
        if groups[g].format.replace(format).is_some() {
            return Err(format!("--format given twice for --model {}", name(g)));
        }
    }
    for (&at, &rule) in positions(matches, "read_nil").iter().zip(&flags.read_nil) {
        let g = group_of(at);
        if groups[g].read_nil.replace(rule).is_some() {
            return Err(format!("--read-nil given twice for --model {}", name(g)));
        }
    }
    Ok(positions(matches, "histories")
        .into_iter()
        .map(|at| groups[group_of(at)].clone())
        .collect())
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|err| format!("not valid JSON: {err}"))
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(seconds),
        _ => Err(format!(
            "expected a positive number of seconds, got `{text}`"
        )),
    }
}

/// Runs `check`: exit 0 pass, 1 a violation, 3 unknown.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let flags = &args.flags;
    let mut jobs = Vec::new();
    for (path, settings) in flags.histories.iter().zip(&args.settings) {
        check_files::expand(path, settings, &mut jobs)?;
    }
    let single = flags.histories.len() == 1 && jobs.len() == 1 && !flags.histories[0].is_dir();
    if flags.html.is_some() && !single {
        bail!("--html draws one history; give a single history file");
    }
    let limits = CheckOptions {
        budget_steps: flags.budget_steps,
        memory_bytes_max: flags.memory_mb_max.saturating_mul(1024 * 1024),
        timeout_s: flags.timeout_s,
        ..CheckOptions::default()
    };
    if single {
        return run_single(&jobs[0], &limits, flags);
    }
    run_many(&jobs, &limits, flags)
}

/// One history: the full report (and its counterexample); bad input is an error (exit 2).
fn run_single(job: &Job, limits: &CheckOptions, flags: &CheckFlags) -> anyhow::Result<ExitCode> {
    let checked = check_files::check_one(job, limits).result?;
    let report = &checked.report;
    if let Some(path) = &flags.html {
        let page = check::html::render(&checked.paired, report, &checked.source.name);
        std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
    }
    if flags.json {
        let object = json_object(&checked.source.name, report);
        println!("{}", serde_json::to_string_pretty(&object)?);
    } else {
        print!("{}", check::text::render(report));
    }
    Ok(ExitCode::from(report.verdict.exit_code()))
}

/// The `--json` object of one history: the file it came from, then the report's fields.
#[derive(serde::Serialize)]
struct FileReport<'a> {
    file: &'a str,
    #[serde(flatten)]
    report: &'a CheckReport,
}

fn json_object<'a>(file: &'a str, report: &'a CheckReport) -> FileReport<'a> {
    FileReport { file, report }
}

/// Tallies of a many-history run, for the summary line and the exit code.
#[derive(Default)]
struct Tally {
    linearizable: usize,
    not_linearizable: usize,
    unknown: usize,
    bad_input: usize,
    empty: usize,
}

impl Tally {
    /// The worst verdict: bad input (2) before not linearizable (1) before unknown (3).
    fn exit_code(&self) -> u8 {
        if self.bad_input > 0 {
            2
        } else if self.not_linearizable > 0 {
            1
        } else if self.unknown > 0 {
            3
        } else {
            0
        }
    }
}

/// Many histories: one line (or JSON object) each, in the order given, then a summary.
fn run_many(jobs: &[Job], limits: &CheckOptions, flags: &CheckFlags) -> anyhow::Result<ExitCode> {
    let stopwatch = Stopwatch::start();
    let mut tally = Tally::default();
    let mut out = std::io::stdout().lock();
    let mut failure: Option<anyhow::Error> = None;
    check_files::check_all(jobs, limits, usize::from(flags.jobs), |_, checked| {
        let line = match record(&mut tally, &checked, flags.json) {
            Ok(line) => line,
            Err(err) => return failure = failure.take().or(Some(err)),
        };
        if let Err(err) = writeln!(out, "{line}") {
            failure = failure.take().or(Some(err.into()));
        }
    });
    if let Some(err) = failure {
        return Err(err);
    }
    if !flags.json {
        let empty = match tally.empty {
            0 => String::new(),
            n => format!(" ({n} with 0 operations: nothing checked)"),
        };
        writeln!(
            out,
            "{} histories in {:.2} s: {} linearizable{empty}, {} not linearizable, {} unknown, \
             {} bad input",
            jobs.len(),
            stopwatch.elapsed_s(),
            tally.linearizable,
            tally.not_linearizable,
            tally.unknown,
            tally.bad_input
        )?;
    }
    Ok(ExitCode::from(tally.exit_code()))
}

/// Counts one history and renders its line.
fn record(tally: &mut Tally, checked: &Checked, json: bool) -> anyhow::Result<String> {
    match &checked.result {
        Ok(ok) => {
            let report = &ok.report;
            match report.verdict.exit_code() {
                0 => tally.linearizable += 1,
                1 => tally.not_linearizable += 1,
                _ => tally.unknown += 1,
            }
            if report.ops == 0 {
                tally.empty += 1;
            }
            Ok(match json {
                true => serde_json::to_string(&json_object(&checked.name, report))?,
                false => format!("{}: {}", checked.name, check::text::render_line(report)),
            })
        }
        Err(err) => {
            tally.bad_input += 1;
            Ok(match json {
                true => serde_json::to_string(&serde_json::json!({
                    "file": checked.name,
                    "verdict": "bad_input",
                    "error": format!("{err:#}"),
                }))?,
                false => format!("{}: BAD INPUT — {err:#}", checked.name),
            })
        }
    }
}

/// Wall time of the whole run, for the summary line only.
struct Stopwatch(std::time::Instant);

impl Stopwatch {
    // Displayed to the user, never used to decide anything.
    #[allow(clippy::disallowed_methods)]
    fn start() -> Self {
        Stopwatch(std::time::Instant::now())
    }

    fn elapsed_s(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}
