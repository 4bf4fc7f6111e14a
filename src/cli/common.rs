//! Helpers shared by subcommands.

use anyhow::{Context, bail};
use faultlab::bugs::{BugSet, PlantedBug};
use faultlab::runner::RunOutcome;
use faultlab::runner::report::summary_text;
use faultlab::scenario::Scenario;
use faultlab::services::ServiceKind;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// How the user invoked us, for replay commands they can paste.
pub fn program_name() -> String {
    std::env::args()
        .next()
        .unwrap_or_else(|| "faultlab".to_string())
}

/// Loads scenario files; a directory means every `*.toml` in it, in name order.
pub fn load_scenarios(paths: &[PathBuf]) -> anyhow::Result<Vec<Scenario>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = fs::read_dir(p)
                .with_context(|| format!("{}: cannot list directory", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            if found.is_empty() {
                bail!(
                    "{}: no *.toml scenario files in this directory",
                    p.display()
                );
            }
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
        .iter()
        .map(|f| Scenario::load(f).map_err(anyhow::Error::from))
        .collect()
}

/// The scenario's bugs plus the command line's; a bug of another service is a usage error.
pub fn merge_bugs(sc: &Scenario, extra: &[PlantedBug]) -> anyhow::Result<BugSet> {
    for bug in extra {
        let owner = ServiceKind::of_bug(*bug);
        if owner != sc.service.kind() {
            bail!(
                "--bug {bug} is a bug of the {} service, but scenario {} runs {}",
                owner.name(),
                sc.source,
                sc.service.kind().name()
            );
        }
    }
    Ok(extra.iter().copied().collect())
}

/// Writes `summary.txt`, `history.jsonl` and `events.jsonl` for one run into `dir`.
pub fn write_report(program: &str, o: &RunOutcome, dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create directory", dir.display()))?;
    let write = |name: &str,
                 f: &dyn Fn(&mut BufWriter<File>) -> std::io::Result<()>|
     -> anyhow::Result<()> {
        let path = dir.join(name);
        let file =
            File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        let mut w = BufWriter::new(file);
        f(&mut w)
            .and_then(|()| w.flush())
            .with_context(|| format!("{}: cannot write", path.display()))
    };
    write("summary.txt", &|w| {
        w.write_all(summary_text(program, o).as_bytes())
    })?;
    write("history.jsonl", &|w| o.history.write_jsonl(w))?;
    write("events.jsonl", &|w| o.log.write_jsonl(w))?;
    Ok(())
}
