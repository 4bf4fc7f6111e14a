//! `serve` and `load`: the same services on real UDP sockets and a real disk.

use super::common::bugs_of;
use crate::backend::real::{ClusterKey, LoadConfig, ServeConfig};
use crate::bugs::BugSet;
use crate::history::OpType;
use crate::ids::NodeId;
use crate::invariants::{Outcome, Overall, Tag, Verdict};
use crate::plugin::{DynService, Registry, ServiceOptions};
use crate::scenario::Scenario;
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The service to run (`services` lists them).
    #[arg(long)]
    pub service: String,
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
    pub bugs: Vec<String>,
    /// Seed of the node's RNG.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The cluster's shared secret (a file of at least 16 bytes, readable only by you): every
    /// datagram is authenticated with it. Required to listen on 0.0.0.0.
    #[arg(long)]
    pub cluster_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The service the cluster runs.
    #[arg(long)]
    pub service: String,
    /// Take the clients' options (the service's table) from this scenario file.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
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
    /// The cluster's shared secret, as given to `serve`.
    #[arg(long)]
    pub cluster_key: Option<PathBuf>,
    /// Switch on a planted bug the clients take part in (`lock-redlock`: clients speak Redlock;
    /// give the servers the same `--bug`). Repeatable.
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
}

/// The service's options and the scenario's bugs: from `--scenario`, else the defaults.
fn options_of(
    registry: &Registry,
    service: &str,
    scenario: Option<&Path>,
) -> anyhow::Result<(Arc<dyn DynService>, ServiceOptions, BugSet)> {
    let plugin = registry.service(service)?.clone();
    Ok(match scenario {
        Some(path) => {
            let sc = Scenario::load(path, registry)?;
            anyhow::ensure!(
                sc.service_name() == plugin.name(),
                "{} runs the {} service, not {}",
                path.display(),
                sc.service_name(),
                plugin.name()
            );
            (plugin, sc.service.clone(), sc.bugs.clone())
        }
        None => {
            let opts = plugin.default_options();
            (plugin, opts, BugSet::new())
        }
    })
}

fn key_of(path: Option<&Path>) -> anyhow::Result<Option<ClusterKey>> {
    Ok(path.map(ClusterKey::load).transpose()?)
}

pub fn serve_cmd(args: ServeArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let (plugin, options, mut bugs) =
        options_of(registry, &args.service, args.scenario.as_deref())?;
    bugs.extend(bugs_of(plugin.as_ref(), &args.bugs)?);
    let cfg = ServeConfig {
        node: NodeId(args.node),
        cluster: args.cluster,
        data_dir: args.data,
        bugs,
        seed: args.seed,
        cluster_key: key_of(args.cluster_key.as_deref())?,
    };
    plugin.serve(&options, cfg)?;
    Ok(ExitCode::SUCCESS)
}

pub fn load_cmd(args: LoadArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let (plugin, options, mut bugs) =
        options_of(registry, &args.service, args.scenario.as_deref())?;
    bugs.extend(bugs_of(plugin.as_ref(), &args.bugs)?);
    let cfg = LoadConfig {
        cluster: args.cluster,
        clients: args.clients,
        duration: Duration::from_millis(args.duration_ms),
        think_ms_min: args.think_ms_min,
        think_ms_max: args.think_ms_max.max(args.think_ms_min),
        timeout_ms: args.timeout_ms,
        seed: args.seed,
        cluster_key: key_of(args.cluster_key.as_deref())?,
    };
    let (history, mut verdicts) = plugin.load(&options, cfg, &bugs)?;
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
    // Checks over zero completed operations pass vacuously: an unanswered cluster proves nothing.
    verdicts.push(Verdict {
        invariant: "operations-completed",
        tag: Tag::Sometimes,
        outcome: if count(OpType::Ok) > 0 {
            Outcome::Pass
        } else {
            Outcome::Unknown("no operation completed: is the cluster up and reachable?".into())
        },
    });
    for v in &verdicts {
        let msg = match v.outcome.message() {
            "" => String::new(),
            m => format!(": {m}"),
        };
        println!("{:<7} {}{msg}", v.outcome.status(), v.invariant);
    }
    let overall = Overall::of(&verdicts);
    println!("verdict {overall:?}");
    Ok(ExitCode::from(overall.exit_code()))
}
