//! From TOML text to a validated [`Scenario`]: syntax and type errors from the parser, then the
//! checks serde cannot express (ranges, which parameters a fault takes, whether a bug belongs to
//! the service). Every error names file, line and field.

use super::error::{FieldError, ScenarioError};
use super::file::{FaultName, RandomFaults, ScenarioFile, ScheduleEntryFile};
use super::spans::{Segment, line_at, line_of, render_path};
use super::{FaultSpec, Scenario, TimedFault};
use crate::bugs::BugSet;
use crate::clock::DRIFT_PPM_LIMIT;
use crate::fault::{LinkSelector, PartitionKind};
use crate::ids::NodeId;
use crate::net::partition::min_nodes;
use crate::rng::Probability;
use crate::services::{ServiceConfig, ServiceKind};

pub(super) fn deserialize(text: &str, source: &str) -> Result<ScenarioFile, ScenarioError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(&e, text, source, &[]))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path: Vec<Segment> = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                _ => None,
            })
            .collect();
        toml_error(e.inner(), text, source, &path)
    })
}

fn toml_error(e: &toml::de::Error, text: &str, source: &str, path: &[Segment]) -> ScenarioError {
    let message = e.message().trim().to_string();
    let mut path = path.to_vec();
    let missing = message.starts_with("missing field");
    // A missing field has no line of its own: point at the table that lacks it (none for the
    // document root) rather than at wherever the parser stopped.
    let line = if missing {
        line_of(text, &path)
    } else {
        e.span()
            .map(|s| line_at(text, s.start))
            .or_else(|| line_of(text, &path))
    };
    // serde names unknown and missing fields only in its message; put them in the path.
    if let Some(name) = backticked(&message) {
        let named = missing || message.starts_with("unknown field");
        if named && path.last() != Some(&Segment::Key(name.to_string())) {
            path.push(Segment::Key(name.to_string()));
        }
    }
    ScenarioError::Field(FieldError {
        file: source.to_string(),
        line,
        field: render_path(&path),
        message,
    })
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Collects the first semantic error with its place.
struct Checker<'a> {
    text: &'a str,
    source: &'a str,
}

type Check = Result<(), ScenarioError>;

impl Checker<'_> {
    fn fail(&self, path: &[Segment], message: impl Into<String>) -> ScenarioError {
        ScenarioError::Field(FieldError {
            file: self.source.to_string(),
            line: line_of(self.text, path),
            field: render_path(path),
            message: message.into(),
        })
    }

    fn ensure(&self, ok: bool, path: &[Segment], message: impl FnOnce() -> String) -> Check {
        if ok {
            Ok(())
        } else {
            Err(self.fail(path, message()))
        }
    }
}

fn key(k: &str) -> Segment {
    Segment::Key(k.to_string())
}

fn at(parent: &[Segment], k: &str) -> Vec<Segment> {
    let mut p = parent.to_vec();
    p.push(key(k));
    p
}

pub(super) fn validate(
    raw: ScenarioFile,
    text: &str,
    source: &str,
    default_name: Option<&str>,
) -> Result<Scenario, ScenarioError> {
    let c = Checker { text, source };
    check_sizes(&c, &raw)?;
    let service = service_config(&c, &raw)?;
    let bugs = check_bugs(&c, &raw)?;
    let schedule = raw
        .faults
        .schedule
        .iter()
        .enumerate()
        .map(|(i, e)| schedule_entry(&c, &raw, i, e))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(random) = &raw.faults.random {
        check_random(&c, &raw, random)?;
    }
    let name = raw
        .name
        .clone()
        .or(default_name.map(str::to_string))
        .unwrap_or_else(|| "scenario".into());
    Ok(Scenario {
        name,
        description: raw.description,
        source: source.to_string(),
        service,
        nodes: raw.nodes,
        clients: raw.clients,
        duration_ms: raw.duration_ms,
        liveness_ms: raw.liveness_ms,
        bugs,
        network: raw.network,
        disk: raw.disk,
        workload: raw.workload,
        schedule,
        random: raw.faults.random,
        expect: raw.expect,
    })
}

fn check_sizes(c: &Checker, raw: &ScenarioFile) -> Check {
    c.ensure((1..=64).contains(&raw.nodes), &[key("nodes")], || {
        format!("must be 1..=64, got {}", raw.nodes)
    })?;
    c.ensure((1..=1024).contains(&raw.clients), &[key("clients")], || {
        format!("must be 1..=1024, got {}", raw.clients)
    })?;
    c.ensure(
        (1..=86_400_000).contains(&raw.duration_ms),
        &[key("duration_ms")],
        || format!("must be 1..=86400000 (one day), got {}", raw.duration_ms),
    )?;
    c.ensure(raw.liveness_ms <= 3_600_000, &[key("liveness_ms")], || {
        format!("must be at most 3600000, got {}", raw.liveness_ms)
    })?;
    let net = [key("network")];
    let n = &raw.network;
    c.ensure((1..=100).contains(&n.tick_ms), &at(&net, "tick_ms"), || {
        format!("must be 1..=100, got {}", n.tick_ms)
    })?;
    c.ensure(
        n.latency_ms_min <= n.latency_ms_max,
        &at(&net, "latency_ms_min"),
        || {
            format!(
                "{} exceeds latency_ms_max {}",
                n.latency_ms_min, n.latency_ms_max
            )
        },
    )?;
    c.ensure(
        n.latency_ms_max <= 60_000,
        &at(&net, "latency_ms_max"),
        || format!("must be at most 60000, got {}", n.latency_ms_max),
    )?;
    c.ensure(
        (1..=1_000_000).contains(&n.inbox_capacity),
        &at(&net, "inbox_capacity"),
        || format!("must be 1..=1000000, got {}", n.inbox_capacity),
    )?;
    c.ensure(
        raw.disk.fsync_ms <= 10_000,
        &[key("disk"), key("fsync_ms")],
        || format!("must be at most 10000, got {}", raw.disk.fsync_ms),
    )?;
    let w = &raw.workload;
    let wl = [key("workload")];
    c.ensure(
        w.think_ms_min <= w.think_ms_max,
        &at(&wl, "think_ms_min"),
        || format!("{} exceeds think_ms_max {}", w.think_ms_min, w.think_ms_max),
    )?;
    c.ensure(
        (1..=600_000).contains(&w.timeout_ms),
        &at(&wl, "timeout_ms"),
        || format!("must be 1..=600000, got {}", w.timeout_ms),
    )
}

fn service_config(c: &Checker, raw: &ScenarioFile) -> Result<ServiceConfig, ScenarioError> {
    match raw.service {
        ServiceKind::Idgen => {
            let cfg = raw.idgen.clone().unwrap_or_default();
            if let Err((field, message)) = cfg.validate(raw.nodes) {
                return Err(c.fail(&[key("idgen"), key(field)], message));
            }
            Ok(ServiceConfig::Idgen(cfg))
        }
    }
}

fn check_bugs(c: &Checker, raw: &ScenarioFile) -> Result<BugSet, ScenarioError> {
    let mut bugs = BugSet::new();
    for (i, bug) in raw.bugs.iter().enumerate() {
        let path = [key("bugs"), Segment::Index(i)];
        c.ensure(ServiceKind::of_bug(*bug) == raw.service, &path, || {
            format!(
                "bug `{bug}` belongs to another service than `{}`",
                raw.service.name()
            )
        })?;
        bugs.insert(*bug);
    }
    Ok(bugs)
}

fn schedule_entry(
    c: &Checker,
    raw: &ScenarioFile,
    index: usize,
    e: &ScheduleEntryFile,
) -> Result<TimedFault, ScenarioError> {
    let base = vec![key("faults"), key("schedule"), Segment::Index(index)];
    c.ensure(e.at_ms <= raw.duration_ms, &at(&base, "at_ms"), || {
        format!(
            "{} is after duration_ms {} (the liveness phase heals everything)",
            e.at_ms, raw.duration_ms
        )
    })?;
    check_params(c, &base, e)?;
    let node_at = |field: &str, n: Option<u32>| -> Result<Option<NodeId>, ScenarioError> {
        match n {
            Some(n) if n >= raw.nodes => Err(c.fail(
                &at(&base, field),
                format!("node {n} does not exist (nodes = {})", raw.nodes),
            )),
            other => Ok(other.map(NodeId)),
        }
    };
    let node = node_at("node", e.node)?;
    let links = LinkSelector {
        from: node_at("from", e.from)?,
        to: node_at("to", e.to)?,
    };
    let required = |field: &str| {
        c.fail(
            &at(&base, field),
            format!("required by fault `{}`", fault_name(e.fault)),
        )
    };
    let spec = match e.fault {
        FaultName::Partition => {
            let kind = e.kind.ok_or_else(|| required("kind"))?;
            check_partition_kind(c, &at(&base, "kind"), kind, raw.nodes)?;
            FaultSpec::Partition { kind, node }
        }
        FaultName::Heal => FaultSpec::Heal,
        FaultName::NetLoss => FaultSpec::NetLoss {
            probability: e.probability.ok_or_else(|| required("probability"))?,
            links,
        },
        FaultName::NetDuplicate => FaultSpec::NetDuplicate {
            probability: e.probability.ok_or_else(|| required("probability"))?,
            links,
        },
        FaultName::NetDelay => FaultSpec::NetDelay {
            probability: e.probability.unwrap_or(Probability::ALWAYS),
            delay_ms_max: e.delay_ms_max.ok_or_else(|| required("delay_ms_max"))?,
            links,
        },
        FaultName::NetCalm => FaultSpec::NetCalm,
        FaultName::Crash => FaultSpec::Crash { node },
        FaultName::Restart => FaultSpec::Restart { node },
        FaultName::Pause => FaultSpec::Pause { node },
        FaultName::Resume => FaultSpec::Resume { node },
        FaultName::ClockOffset => FaultSpec::ClockOffset {
            node,
            offset_ms: e.offset_ms.ok_or_else(|| required("offset_ms"))?,
        },
        FaultName::ClockDrift => {
            let drift_ppm = e.drift_ppm.ok_or_else(|| required("drift_ppm"))?;
            c.ensure(
                drift_ppm.abs() <= DRIFT_PPM_LIMIT,
                &at(&base, "drift_ppm"),
                || format!("|{drift_ppm}| exceeds {DRIFT_PPM_LIMIT} ppm"),
            )?;
            FaultSpec::ClockDrift { node, drift_ppm }
        }
        FaultName::ClockJump => FaultSpec::ClockJump {
            node,
            delta_ms: e.delta_ms.ok_or_else(|| required("delta_ms"))?,
        },
    };
    Ok(TimedFault {
        at_ms: e.at_ms,
        spec,
        revert_after_ms: e.duration_ms.or(e.down_ms),
    })
}

fn fault_name(f: FaultName) -> &'static str {
    match f {
        FaultName::Partition => "partition",
        FaultName::Heal => "heal",
        FaultName::NetLoss => "net-loss",
        FaultName::NetDuplicate => "net-duplicate",
        FaultName::NetDelay => "net-delay",
        FaultName::NetCalm => "net-calm",
        FaultName::Crash => "crash",
        FaultName::Restart => "restart",
        FaultName::Pause => "pause",
        FaultName::Resume => "resume",
        FaultName::ClockOffset => "clock-offset",
        FaultName::ClockDrift => "clock-drift",
        FaultName::ClockJump => "clock-jump",
    }
}

/// Which optional parameters each fault takes; anything else is an error, not silently ignored.
fn allowed_params(f: FaultName) -> &'static [&'static str] {
    match f {
        FaultName::Partition => &["kind", "node", "duration_ms"],
        FaultName::NetLoss | FaultName::NetDuplicate => {
            &["probability", "from", "to", "duration_ms"]
        }
        FaultName::NetDelay => &["probability", "delay_ms_max", "from", "to", "duration_ms"],
        FaultName::Crash => &["node", "down_ms"],
        FaultName::Pause => &["node", "duration_ms"],
        FaultName::Restart | FaultName::Resume => &["node"],
        FaultName::ClockOffset => &["node", "offset_ms"],
        FaultName::ClockDrift => &["node", "drift_ppm"],
        FaultName::ClockJump => &["node", "delta_ms"],
        FaultName::Heal | FaultName::NetCalm => &[],
    }
}

fn check_params(c: &Checker, base: &[Segment], e: &ScheduleEntryFile) -> Check {
    let present = [
        ("kind", e.kind.is_some()),
        ("node", e.node.is_some()),
        ("from", e.from.is_some()),
        ("to", e.to.is_some()),
        ("probability", e.probability.is_some()),
        ("delay_ms_max", e.delay_ms_max.is_some()),
        ("offset_ms", e.offset_ms.is_some()),
        ("drift_ppm", e.drift_ppm.is_some()),
        ("delta_ms", e.delta_ms.is_some()),
        ("duration_ms", e.duration_ms.is_some()),
        ("down_ms", e.down_ms.is_some()),
    ];
    let allowed = allowed_params(e.fault);
    for (field, is_present) in present {
        c.ensure(
            !is_present || allowed.contains(&field),
            &at(base, field),
            || {
                format!(
                    "not a parameter of fault `{}` (it takes: {})",
                    fault_name(e.fault),
                    list_or_none(allowed)
                )
            },
        )?;
    }
    Ok(())
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "nothing".to_string()
    } else {
        items.join(", ")
    }
}

fn check_partition_kind(c: &Checker, path: &[Segment], kind: PartitionKind, nodes: u32) -> Check {
    let min = min_nodes(kind);
    c.ensure(nodes as usize >= min, path, || {
        format!(
            "`{}` needs at least {min} nodes, the scenario has {nodes}",
            kind.name()
        )
    })
}

fn check_random(c: &Checker, raw: &ScenarioFile, r: &RandomFaults) -> Check {
    let base = [key("faults"), key("random")];
    c.ensure(!r.kinds.is_empty(), &at(&base, "kinds"), || {
        "must name at least one fault kind".into()
    })?;
    c.ensure(
        r.mean_interval_ms >= 1,
        &at(&base, "mean_interval_ms"),
        || "must be at least 1".into(),
    )?;
    c.ensure(
        r.fault_ms_min <= r.fault_ms_max,
        &at(&base, "fault_ms_min"),
        || format!("{} exceeds fault_ms_max {}", r.fault_ms_min, r.fault_ms_max),
    )?;
    c.ensure(
        r.clock_jump_ms_min <= r.clock_jump_ms_max,
        &at(&base, "clock_jump_ms_min"),
        || {
            format!(
                "{} exceeds clock_jump_ms_max {}",
                r.clock_jump_ms_min, r.clock_jump_ms_max
            )
        },
    )?;
    c.ensure(
        (0..=DRIFT_PPM_LIMIT).contains(&r.drift_ppm_max),
        &at(&base, "drift_ppm_max"),
        || format!("must be 0..={DRIFT_PPM_LIMIT}, got {}", r.drift_ppm_max),
    )?;
    c.ensure(r.offset_ms_max >= 0, &at(&base, "offset_ms_max"), || {
        "must not be negative".into()
    })?;
    c.ensure(r.delay_ms_max >= 1, &at(&base, "delay_ms_max"), || {
        "must be at least 1".into()
    })?;
    if let Some(max) = r.down_nodes_max {
        c.ensure(max < raw.nodes, &at(&base, "down_nodes_max"), || {
            format!(
                "{max} would allow the whole cluster (nodes = {}) down at once",
                raw.nodes
            )
        })?;
    }
    for (i, kind) in r.partition_kinds.iter().enumerate() {
        check_partition_kind(
            c,
            &[
                key("faults"),
                key("random"),
                key("partition_kinds"),
                Segment::Index(i),
            ],
            *kind,
            raw.nodes,
        )?;
    }
    Ok(())
}
