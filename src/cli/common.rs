//! Helpers shared by subcommands.

use crate::bugs::BugSet;
use crate::plugin::{DynService, Registry};
use crate::scenario::Scenario;
use anyhow::{Context, bail};
use std::fs;
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
    pub fn flags(self) -> crate::runner::RandomizeFlags {
        crate::runner::RandomizeFlags {
            knobs: self.knobs,
            buggify: self.buggify,
        }
    }
}

/// How the user invoked the running binary, for replay commands they can paste.
pub fn program_name() -> String {
    std::env::args()
        .next()
        .unwrap_or_else(|| "faultlab".to_string())
}

/// The running binary's file name (for `--help` and usage lines).
pub fn binary_name(program: &str) -> &'static str {
    let name = std::path::Path::new(program).file_stem().map_or_else(
        || "faultlab".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    // clap wants a 'static name; this runs once per process.
    name.leak()
}

/// Loads scenario files of `registry`'s services; a directory means every `*.toml` in it, in
/// name order.
pub fn load_scenarios(paths: &[PathBuf], registry: &Registry) -> anyhow::Result<Vec<Scenario>> {
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
        .map(|f| Scenario::load(f, registry).map_err(anyhow::Error::from))
        .collect()
}

/// The command line's `--bug` names, checked against the scenario's service.
pub fn resolve_bugs(sc: &Scenario, names: &[String]) -> anyhow::Result<BugSet> {
    bugs_of(sc.plugin().as_ref(), names)
        .map_err(|e| anyhow::anyhow!("{e} (scenario {} runs {})", sc.source, sc.service_name()))
}

/// The command line's `--bug` names, each checked to be one of `service`'s.
pub fn bugs_of(service: &dyn DynService, names: &[String]) -> anyhow::Result<BugSet> {
    let mut bugs = BugSet::new();
    for name in names {
        let Some(&bug) = service.bugs().iter().find(|b| b.name == name.as_str()) else {
            let known: Vec<&str> = service.bugs().iter().map(|b| b.name).collect();
            bail!(
                "--bug {name}: not a planted bug of the {} service (known bugs: {})",
                service.name(),
                known.join(", ")
            );
        };
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

/// Reads and validates one scenario file, keeping its text (the shrinker and explore build
/// their candidates from the file as written).
pub fn read_scenario(path: &Path, registry: &Registry) -> anyhow::Result<(Scenario, String)> {
    let source = path.display().to_string();
    let text =
        fs::read_to_string(path).with_context(|| format!("{source}: cannot read the scenario"))?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let sc = Scenario::parse(&text, &source, stem.as_deref(), registry)?;
    Ok((sc, text))
}
