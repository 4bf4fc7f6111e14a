//! `faultlab shrink`: a failing seed → a smaller scenario file that fails the same invariant.

use super::common::{Elapsed, RandomizeArgs, read_scenario, resolve_bugs};
use crate::backend::BackendKind;
use crate::plugin::Registry;
use crate::runner::RunOptions;
use crate::shrink::{RUNS_MAX_DEFAULT, ShrinkOptions, shrink};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// The scenario file.
    #[arg(long)]
    pub scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    pub seed: u64,
    /// Switch on a planted bug (repeatable), as for the failing run.
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// The simulator.
    #[arg(long, value_enum, default_value_t = BackendKind::Turmoil)]
    pub backend: BackendKind,
    /// Where to write the shrunk scenario (default: faultlab-out/<scenario>-seed<N>-shrunk.toml).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// At most this many simulation runs, the original's included.
    #[arg(long, default_value_t = RUNS_MAX_DEFAULT,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub runs_max: u32,
    #[command(flatten)]
    pub randomize: RandomizeArgs,
    /// Print each step's effect on stderr.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: &ShrinkArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let elapsed = Elapsed::start();
    let (sc, text) = read_scenario(&args.scenario, registry)?;
    let opts = ShrinkOptions {
        seed: args.seed,
        run: RunOptions {
            extra_bugs: resolve_bugs(&sc, &args.bugs)?,
            backend: args.backend,
            randomize: args.randomize.flags(),
            ..RunOptions::default()
        },
        runs_max: args.runs_max,
    };
    let report = shrink(&sc, &text, &opts)?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("faultlab-out").join(format!("{}-seed{}-shrunk.toml", sc.name, args.seed))
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create directory", dir.display()))?;
    }
    let out_name = out.display().to_string();
    std::fs::write(&out, report.file_text(&out_name))
        .with_context(|| format!("{out_name}: cannot write the shrunk scenario"))?;
    if args.verbose {
        for step in &report.steps {
            eprintln!("  {step}");
        }
    }
    println!("{report}; wrote {out_name} ({})", elapsed.human());
    Ok(ExitCode::SUCCESS)
}
