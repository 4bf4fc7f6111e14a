//! `faultlab serve` and `faultlab load`: the same services on real UDP sockets and a real disk.

use super::common::merge_bugs;
use anyhow::Context;
use clap::Args;
use faultlab::backend::real::{LoadConfig, ServeConfig, load, serve};
use faultlab::bugs::{BugSet, PlantedBug};
use faultlab::history::OpType;
use faultlab::ids::NodeId;
use faultlab::invariants::{Outcome, check_history_only};
use faultlab::scenario::Scenario;
use faultlab::services::idgen::{IdGen, IdgenConfig, IdgenWorkload};
use faultlab::services::{ServiceConfig, ServiceKind};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The service to run.
    #[arg(long, value_parser = parse_service)]
    pub service: ServiceKind,
    /// This node's index in --cluster.
    #[arg(long)]
    pub node: u32,
    /// Every node's UDP address, comma-separated, in node order.
    #[arg(long, value_delimiter = ',', required = true)]
    pub cluster: Vec<SocketAddr>,
    /// Directory for this node's durable state.
    #[arg(long)]
    pub data: PathBuf,
    /// Take the service's options and bugs from this scenario file.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Switch on a planted bug (repeatable).
    #[arg(long = "bug")]
    pub bugs: Vec<PlantedBug>,
    /// Seed of the node's RNG.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    #[arg(long, value_parser = parse_service)]
    pub service: ServiceKind,
    /// Every node's UDP address, comma-separated, in node order.
    #[arg(long, value_delimiter = ',', required = true)]
    pub cluster: Vec<SocketAddr>,
    #[arg(long, default_value_t = 4)]
    pub clients: u32,
    #[arg(long, default_value_t = 2000)]
    pub duration_ms: u64,
    #[arg(long, default_value_t = 0)]
    pub think_ms_min: u64,
    #[arg(long, default_value_t = 5)]
    pub think_ms_max: u64,
    #[arg(long, default_value_t = 500)]
    pub timeout_ms: u64,
    /// Write the history (JSON Lines) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

fn parse_service(s: &str) -> Result<ServiceKind, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("unknown service {s:?} (known: idgen)"))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
}

pub fn serve_cmd(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (service_cfg, bugs): (ServiceConfig, BugSet) = match &args.scenario {
        Some(path) => {
            let sc = Scenario::load(path)?;
            anyhow::ensure!(
                sc.service.kind() == args.service,
                "{} runs another service",
                path.display()
            );
            let extra = merge_bugs(&sc, &args.bugs)?;
            (sc.service.clone(), sc.bugs.union(&extra).copied().collect())
        }
        None => (
            ServiceConfig::Idgen(IdgenConfig::default()),
            args.bugs.iter().copied().collect(),
        ),
    };
    let cfg = ServeConfig {
        node: NodeId(args.node),
        cluster: args.cluster,
        data_dir: args.data,
        bugs,
        seed: args.seed,
    };
    let local = tokio::task::LocalSet::new();
    runtime()?.block_on(local.run_until(async move {
        match service_cfg {
            ServiceConfig::Idgen(c) => serve::<IdGen>(cfg, c).await,
        }
    }))?;
    Ok(ExitCode::SUCCESS)
}

pub fn load_cmd(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let cfg = LoadConfig {
        cluster: args.cluster,
        clients: args.clients,
        duration: Duration::from_millis(args.duration_ms),
        think_ms_min: args.think_ms_min,
        think_ms_max: args.think_ms_max.max(args.think_ms_min),
        timeout_ms: args.timeout_ms,
        seed: args.seed,
    };
    let local = tokio::task::LocalSet::new();
    let history = runtime()?.block_on(local.run_until(async move {
        match args.service {
            ServiceKind::Idgen => load::<IdGen, IdgenWorkload>(cfg, IdgenWorkload).await,
        }
    }))?;
    if let Some(path) = &args.out {
        let f = std::fs::File::create(path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        history
            .write_jsonl(std::io::BufWriter::new(f))
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let count = |t: OpType| history.events.iter().filter(|e| e.kind == t).count();
    println!(
        "operations  invoked {} ok {} fail {} info {}",
        count(OpType::Invoke),
        count(OpType::Ok),
        count(OpType::Fail),
        count(OpType::Info)
    );
    let mut failed = false;
    for v in check_history_only(args.service, &history) {
        match &v.outcome {
            Outcome::Pass => println!("pass    {}", v.invariant),
            Outcome::Fail(m) => {
                failed = true;
                println!("FAIL    {}: {m}", v.invariant);
            }
            Outcome::Unknown(m) => println!("unknown {}: {m}", v.invariant),
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
