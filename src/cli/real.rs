//! `faultlab serve` and `faultlab load`: the same services on real UDP sockets and a real disk.

use super::common::resolve_bugs;
use anyhow::Context;
use clap::Args;
use faultlab::backend::real::{LoadConfig, ServeConfig, load, serve};
use faultlab::bugs::BugSet;
use faultlab::history::{History, OpType};
use faultlab::ids::NodeId;
use faultlab::invariants::{Outcome, Overall, Tag, Verdict};
use faultlab::scenario::Scenario;
use faultlab::services::{
    OptionsVisitor, Registered, ServiceKind, ServiceOptions, ServiceSpec, ServiceVisitor, Shape,
};
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
    pub bugs: Vec<String>,
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
    /// Switch on a planted bug the clients take part in (`lock-redlock`: clients speak Redlock;
    /// give the servers the same `--bug`). Repeatable.
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
}

/// The bugs named on the command line, each checked to be one of `service`'s.
fn bugs_of(service: ServiceKind, names: &[String]) -> anyhow::Result<BugSet> {
    let mut bugs = BugSet::new();
    for name in names {
        let (owner, bug) =
            ServiceKind::find_bug(name).map_err(|e| anyhow::anyhow!("--bug: {e}"))?;
        anyhow::ensure!(
            owner == service,
            "--bug {bug} is a bug of the {owner} service"
        );
        bugs.insert(bug);
    }
    Ok(bugs)
}

fn parse_service(s: &str) -> Result<ServiceKind, String> {
    ServiceKind::from_name(s)
        .ok_or_else(|| format!("unknown service {s:?} (known: {})", ServiceKind::names()))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
}

/// Default options of a service, for `serve` without a scenario.
struct Defaults;

impl ServiceVisitor for Defaults {
    type Output = ServiceOptions;
    fn visit<T: Registered>(self) -> ServiceOptions {
        T::wrap(T::Options::default())
    }
}

/// Runs one node of the service, by its type.
struct Serve {
    cfg: ServeConfig,
}

impl OptionsVisitor for Serve {
    type Output = anyhow::Result<()>;
    fn visit<T: Registered>(self, opts: &T::Options) -> anyhow::Result<()> {
        let shape = Shape {
            nodes: u32::try_from(self.cfg.cluster.len()).unwrap_or(u32::MAX),
            clients: 0,
        };
        T::validate(opts, &shape)
            .map_err(|e| anyhow::anyhow!("[{}] {}: {}", T::NAME, e.field, e.message))?;
        let service_cfg = <T as ServiceSpec>::server_config(opts, &shape);
        let local = tokio::task::LocalSet::new();
        runtime()?.block_on(local.run_until(serve::<T::Server>(self.cfg, service_cfg)))?;
        Ok(())
    }
}

pub fn serve_cmd(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (options, bugs): (ServiceOptions, BugSet) = match &args.scenario {
        Some(path) => {
            let sc = Scenario::load(path)?;
            anyhow::ensure!(
                sc.service_kind() == args.service,
                "{} runs the {} service, not {}",
                path.display(),
                sc.service_kind(),
                args.service
            );
            let extra = resolve_bugs(&sc, &args.bugs)?;
            (sc.service.clone(), sc.bugs.union(&extra).copied().collect())
        }
        None => (
            args.service.visit(Defaults),
            bugs_of(args.service, &args.bugs)?,
        ),
    };
    let cfg = ServeConfig {
        node: NodeId(args.node),
        cluster: args.cluster,
        data_dir: args.data,
        bugs,
        seed: args.seed,
    };
    options.visit(Serve { cfg })?;
    Ok(ExitCode::SUCCESS)
}

/// Drives a real cluster of the service, by its type, and checks what the clients saw.
struct Load {
    cfg: LoadConfig,
    bugs: BugSet,
}

impl ServiceVisitor for Load {
    type Output = anyhow::Result<(History, Vec<Verdict>)>;
    fn visit<T: Registered>(self) -> Self::Output {
        let opts = T::Options::default();
        let shape = Shape {
            nodes: u32::try_from(self.cfg.cluster.len()).unwrap_or(u32::MAX),
            clients: self.cfg.clients,
        };
        let local = tokio::task::LocalSet::new();
        let bugs = self.bugs;
        let make = |c| T::client(&opts, &shape, c, &bugs);
        let history =
            runtime()?.block_on(local.run_until(load::<T::Server, T::Client>(self.cfg, make)))?;
        let verdicts = T::history_checks(&opts, &history);
        Ok((history, verdicts))
    }
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
    let bugs = bugs_of(args.service, &args.bugs)?;
    let (history, mut verdicts) = args.service.visit(Load { cfg, bugs })?;
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
