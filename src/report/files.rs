//! A run's records on disk: `summary.txt`, `history.jsonl`, `events.jsonl` and `report.html`
//! in one directory — what `replay` writes, what a sweep keeps of a failing seed, and what the
//! test builder leaves behind for a failing seed.

use super::{ReportInput, render};
use crate::runner::RunOutcome;
use crate::runner::report::{replay_command, summary_text};
use crate::scenario::Scenario;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A record that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write: {source}", path.display())]
pub struct WriteError {
    /// The file or directory.
    pub path: PathBuf,
    /// What the OS said.
    #[source]
    pub source: io::Error,
}

fn write_with(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), WriteError> {
    let wrap = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let mut w = BufWriter::new(File::create(path).map_err(wrap)?);
    f(&mut w).and_then(|()| w.flush()).map_err(wrap)
}

/// Writes the records of run `o` of `sc` into `dir` (created if needed): `summary.txt`,
/// `history.jsonl`, `events.jsonl` and `report.html`. `program` is how replay commands start
/// (the running binary).
pub fn write_run_dir(
    program: &str,
    sc: &Scenario,
    o: &RunOutcome,
    dir: &Path,
) -> Result<(), WriteError> {
    fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_path_buf(),
        source,
    })?;
    write_with(&dir.join("summary.txt"), |w| {
        w.write_all(summary_text(program, o).as_bytes())
    })?;
    write_with(&dir.join("history.jsonl"), |w| o.history.write_jsonl(w))?;
    write_with(&dir.join("events.jsonl"), |w| o.log.write_jsonl(w))?;
    let input = ReportInput {
        scenario: sc,
        outcome: o,
        replay: replay_command(program, o),
    };
    write_with(&dir.join("report.html"), |w| {
        w.write_all(render(&input).as_bytes())
    })
}
