//! `faultlab check` over many histories in one process: finding them (files and directories) and
//! checking them on `--jobs` threads, results handed back in input order.
//!
//! Each thread reads, pairs and checks whole histories on its own (the search's states are not
//! shared across threads), so a history's verdict never depends on `--jobs`.

use crate::check::{self, CheckOptions, CheckReport, ModelKind, ReadNil};
use crate::history::{HistoryFormat, Paired, Source, pair};
use anyhow::{Context, bail};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// What to check one history against (one `--model` group of the command line).
#[derive(Debug, Clone)]
pub struct Settings {
    pub model: ModelKind,
    pub initial: Option<serde_json::Value>,
    /// `None` = by extension or content.
    pub format: Option<HistoryFormat>,
    /// `None` = the format's convention (EDN: Knossos's `any`; JSON Lines: `value`).
    pub read_nil: Option<ReadNil>,
}

/// One history to check: a path (`-` = standard input) and its settings.
#[derive(Debug, Clone)]
pub struct Job {
    pub path: PathBuf,
    pub settings: Settings,
}

/// The file names a directory is searched for.
const HISTORY_EXTENSIONS: [&str; 2] = ["jsonl", "edn"];
/// In a Jepsen run directory only this is a history (`test.edn`, `results.edn` are not).
const JEPSEN_HISTORY: &str = "history.edn";

/// Expands directories (recursively, in name order; symbolic links to directories, like a
/// Jepsen store's `latest`, are not followed) into the histories in them.
pub fn expand(path: &Path, settings: &Settings, jobs: &mut Vec<Job>) -> anyhow::Result<()> {
    if path.as_os_str() == "-" || !path.is_dir() {
        jobs.push(Job {
            path: path.to_path_buf(),
            settings: settings.clone(),
        });
        return Ok(());
    }
    let before = jobs.len();
    walk(path, settings, jobs)?;
    if jobs.len() == before {
        bail!(
            "{}: no histories in this directory (*.jsonl, *.edn, or a Jepsen run's history.edn)",
            path.display()
        );
    }
    Ok(())
}

fn walk(dir: &Path, settings: &Settings, jobs: &mut Vec<Job>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list directory", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: cannot list directory", dir.display()))?;
    entries.sort();
    let jepsen_run = entries
        .iter()
        .any(|p| p.file_name().is_some_and(|n| n == JEPSEN_HISTORY));
    for entry in entries {
        let is_link = entry.symlink_metadata().is_ok_and(|m| m.is_symlink());
        if entry.is_dir() {
            if !is_link {
                walk(&entry, settings, jobs)?;
            }
            continue;
        }
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let wanted = match jepsen_run {
            true => name == JEPSEN_HISTORY,
            false => entry
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| HISTORY_EXTENSIONS.contains(&e)),
        };
        if wanted {
            jobs.push(Job {
                path: entry,
                settings: settings.clone(),
            });
        }
    }
    Ok(())
}

/// A checked history, or why it could not be checked (bad input: the message names the file
/// and line).
pub struct Checked {
    pub name: String,
    pub result: anyhow::Result<CheckedOk>,
}

/// What a successful check leaves: the report, and what an HTML page needs.
pub struct CheckedOk {
    pub report: CheckReport,
    pub paired: Paired,
    pub source: Source,
}

/// Reads, pairs and checks one history.
pub fn check_one(job: &Job, limits: &CheckOptions) -> Checked {
    let name = job.path.display().to_string();
    let result = check_file(job, limits);
    Checked { name, result }
}

fn check_file(job: &Job, limits: &CheckOptions) -> anyhow::Result<CheckedOk> {
    let (bytes, name) = if job.path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        (bytes, "<stdin>".to_string())
    } else {
        let name = job.path.display().to_string();
        let bytes = std::fs::read(&job.path).with_context(|| format!("opening {name}"))?;
        (bytes, name)
    };
    let path = (job.path.as_os_str() != "-").then_some(job.path.as_path());
    let format = job
        .settings
        .format
        .unwrap_or_else(|| HistoryFormat::detect(path, &bytes));
    let (history, source) = format.read(&bytes, &name)?;
    let paired = pair(&history, &source)?;
    let read_nil = job.settings.read_nil.unwrap_or(match format {
        HistoryFormat::Edn => ReadNil::Any,
        HistoryFormat::Jsonl => ReadNil::Value,
    });
    let options = CheckOptions {
        initial: job.settings.initial.clone(),
        read_nil,
        ..limits.clone()
    };
    let report = check::check_paired(&paired, &source, job.settings.model, &options)?;
    Ok(CheckedOk {
        report,
        paired,
        source,
    })
}

/// Checks every job on `threads` threads and calls `each` with the results in job order, each
/// as soon as it and every earlier one are done.
pub fn check_all(
    jobs: &[Job],
    limits: &CheckOptions,
    threads: usize,
    mut each: impl FnMut(usize, Checked),
) {
    let threads = threads.clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<(usize, Checked)>();
    // Scoped threads: plain CPU work on histories, no simulated code (the determinism rules'
    // ban on OS threads is for simulations); results are reordered, so output is deterministic.
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    if sender.send((index, check_one(job, limits))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut pending: std::collections::BTreeMap<usize, Checked> = Default::default();
        let mut emitted = 0;
        for (index, checked) in receiver {
            pending.insert(index, checked);
            while let Some(checked) = pending.remove(&emitted) {
                each(emitted, checked);
                emitted += 1;
            }
        }
    });
}
