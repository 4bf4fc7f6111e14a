//! Helpers shared by subcommands.

use anyhow::{Context, bail};
use faultlab::bugs::BugSet;
use faultlab::runner::RunOutcome;
use faultlab::runner::report::summary_text;
use faultlab::scenario::Scenario;
use faultlab::services::ServiceKind;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// `--knobs` and `--buggify`: FoundationDB's randomized knobs and BUGGIFY points, on for every
/// scenario run (a scenario can also ask for them in `[randomize]`).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct RandomizeArgs {
    /// Draw the service's knobs (its tunables, within their safe ranges) per seed.
    #[arg(long)]
    pub knobs: bool,
    /// Switch BUGGIFY points on (each active in a seed with probability 1/4).
    #[arg(long)]
    pub buggify: bool,
}

impl RandomizeArgs {
    pub fn flags(self) -> faultlab::runner::RandomizeFlags {
        faultlab::runner::RandomizeFlags {
            knobs: self.knobs,
            buggify: self.buggify,
        }
    }
}

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

/// The command line's `--bug` names, checked against the scenario's service.
pub fn resolve_bugs(sc: &Scenario, names: &[String]) -> anyhow::Result<BugSet> {
    let mut bugs = BugSet::new();
    for name in names {
        let (owner, bug) =
            ServiceKind::find_bug(name).map_err(|e| anyhow::anyhow!("--bug: {e}"))?;
        if owner != sc.service_kind() {
            bail!(
                "--bug {bug} is a bug of the {owner} service, but scenario {} runs {}",
                sc.source,
                sc.service_kind()
            );
        }
        bugs.insert(bug);
    }
    Ok(bugs)
}

/// Wall-clock time since a command started, for "done in 3.2 s" lines (never in a digest).
pub struct Elapsed {
    #[allow(clippy::disallowed_types)]
    started: std::time::Instant,
}

impl Elapsed {
    #[allow(clippy::disallowed_methods)] // reporting how long a command took is the point
    pub fn start() -> Self {
        Elapsed {
            started: std::time::Instant::now(),
        }
    }

    pub fn ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn human(&self) -> String {
        let s = self.started.elapsed().as_secs_f64();
        if s < 60.0 {
            format!("{s:.1} s")
        } else {
            format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0)
        }
    }
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
