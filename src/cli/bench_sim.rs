//! `faultlab bench sim`: simulator speed, on either backend, for one scenario or a scaling
//! series over cluster sizes.

use crate::backend::BackendKind;
use crate::bench::sim::{SCALING_NODES, SimBenchReport, bench_sim, scenario_with_nodes};
use crate::plugin::Registry;
use crate::runner::seeds::SeedRange;
use crate::scenario::Scenario;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SimBenchArgs {
    /// Scenario file to time (default: the built-in preset).
    #[arg(long, conflicts_with = "preset")]
    pub scenario: Option<PathBuf>,
    /// A registered service's benchmark scenario (the built-in ones: `idgen`, 5 nodes; `kv`,
    /// 5 nodes and ~500 operations; both 10 simulated seconds without faults). Default: the
    /// first registered service that has one.
    #[arg(long)]
    pub preset: Option<String>,
    /// The simulator (madsim needs a `cargo simbuild` binary).
    #[arg(long, value_enum, default_value_t = BackendKind::Turmoil)]
    pub backend: BackendKind,
    /// Seeds to run, one after another on one thread.
    #[arg(long, default_value = "0..20")]
    pub seeds: SeedRange,
    /// Override the simulator step (ms; turmoil only: it delivers messages on step boundaries).
    #[arg(long)]
    pub tick_ms: Option<u64>,
    /// The scaling series: the same scenario (same clients, so the same total load) on 3, 5,
    /// 9, 17, 33 and 64 nodes.
    #[arg(long)]
    pub scaling: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SimBenchArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let (text, origin, name) = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            (text, path.display().to_string(), stem)
        }
        None => {
            let (service, text) = preset(registry, args.preset.as_deref())?;
            let name = format!("{service}-bench");
            (text.to_string(), format!("<preset {name}>"), Some(name))
        }
    };
    if args.tick_ms.is_some() && args.backend != BackendKind::Turmoil {
        anyhow::bail!("--tick-ms applies to the turmoil backend only");
    }
    let load = |text: &str| -> anyhow::Result<Scenario> {
        let mut sc = Scenario::parse(text, &origin, name.as_deref(), registry)?;
        if let Some(tick) = args.tick_ms {
            anyhow::ensure!((1..=100).contains(&tick), "--tick-ms must be 1..=100");
            sc.network.tick_ms = tick;
        }
        Ok(sc)
    };
    let reports: Vec<SimBenchReport> = if args.scaling {
        let mut out = Vec::new();
        for &n in SCALING_NODES {
            let sc = load(&scenario_with_nodes(&text, n)?)?;
            out.push(bench_sim(&sc, args.backend, args.seeds)?);
        }
        out
    } else {
        vec![bench_sim(&load(&text)?, args.backend, args.seeds)?]
    };
    if args.json {
        let json = match reports.as_slice() {
            [one] => serde_json::to_string_pretty(one)?,
            all => serde_json::to_string_pretty(all)?,
        };
        println!("{json}");
    } else if args.scaling {
        print_series(&reports);
    } else {
        reports.iter().for_each(print_one);
    }
    Ok(ExitCode::SUCCESS)
}

/// The benchmark scenario of the service called `name` (default: the first that has one).
fn preset(registry: &Registry, name: Option<&str>) -> anyhow::Result<(&'static str, &'static str)> {
    let with_bench = || {
        registry
            .services()
            .filter_map(|s| s.bench_scenario().map(|_| s.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let found = match name {
        Some(n) => registry.service(n)?.bench_scenario().map(|t| (n, t)),
        None => registry
            .services()
            .find_map(|s| s.bench_scenario().map(|t| (s.name(), t))),
    };
    let (service, text) = found.ok_or_else(|| {
        anyhow::anyhow!(
            "no benchmark scenario for {} (services with one: {}); give --scenario FILE",
            name.unwrap_or("any registered service"),
            with_bench()
        )
    })?;
    let service = registry.service(service)?.name();
    Ok((service, text))
}

fn print_one(r: &SimBenchReport) {
    let tick = r
        .tick_ms
        .map_or(String::new(), |t| format!(", tick {t} ms"));
    println!(
        "scenario            {} ({} nodes, {}{tick})",
        r.scenario, r.nodes, r.backend
    );
    println!(
        "runs                {} x {:.1} simulated s, one thread",
        r.runs, r.sim_seconds_per_run
    );
    println!(
        "wall per run        p50 {:.1} ms, max {:.1} ms",
        r.wall_ms_per_run_p50, r.wall_ms_per_run_max
    );
    println!(
        "time compression    {:.0}x (simulated s per wall s)",
        r.time_compression
    );
    println!("runs per minute     {:.0}", r.runs_per_minute);
    println!(
        "events per second   {:.0} (simulated events per wall s; {:.0} ns each)",
        r.events_per_second, r.wall_ns_per_event
    );
    println!(
        "per run             {} events, {} client operations",
        r.events_per_run, r.ops_per_run
    );
}

fn print_series(reports: &[SimBenchReport]) {
    if let Some(first) = reports.first() {
        println!(
            "scaling series      {} on {}",
            first.scenario, first.backend
        );
    }
    println!("nodes  wall/run p50  compression  runs/min  events/run  events/s    ns/event");
    for r in reports {
        println!(
            "{:>5}  {:>9.1} ms  {:>10.0}x  {:>8.0}  {:>10}  {:>9.0}  {:>9.0}",
            r.nodes,
            r.wall_ms_per_run_p50,
            r.time_compression,
            r.runs_per_minute,
            r.events_per_run,
            r.events_per_second,
            r.wall_ns_per_event
        );
    }
}
