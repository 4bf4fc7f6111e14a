//! From TOML text to a validated [`Scenario`]: syntax and type errors from the parser, then the
//! checks serde cannot express (ranges, which parameters a fault takes, whether a bug belongs to
//! the service). Every error names file, line and field.

use super::checker::{Check, Checker, at, key, serde_path, toml_error};
use super::error::{FieldError, ScenarioError};
use super::file::{ExpectEntry, RandomFaults, ScenarioFile, ScheduleEntryFile};
use super::service_table::parse_service_table;
use super::spans::{Segment, line_at};
use super::{Scenario, TimedFault};
use crate::bugs::BugSet;
use crate::clock::DRIFT_PPM_LIMIT;
use crate::counters::Counter;
use crate::fault::PartitionKind;
use crate::plugin::{Registry, ServiceOptions};
use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A scenario file, deserialized: the common part, and the service's own table taken out of it.
pub(super) struct RawScenario<'i> {
    pub(super) file: ScenarioFile,
    pub(super) service_table: Option<Spanned<DeValue<'i>>>,
}

pub(super) fn deserialize<'i>(
    text: &'i str,
    source: &str,
    registry: &Registry,
) -> Result<RawScenario<'i>, ScenarioError> {
    let mut root = DeTable::parse(text).map_err(|e| toml_error(&e, text, source, &[]))?;
    let chosen = root
        .get_ref()
        .get("service")
        .and_then(|v| v.get_ref().as_str())
        .map(str::to_string);
    let mut service_table = None;
    if let Some(name) = chosen.as_deref() {
        service_table = root.get_mut().remove_entry(name).map(|(_, value)| value);
    }
    // A table named for another registered service would otherwise be silently ignored (an
    // unregistered name is an unknown field below).
    for other in registry.services().map(|s| s.name()) {
        if let Some((key, _)) = root.get_mut().remove_entry(other) {
            return Err(ScenarioError::Field(FieldError {
                file: source.to_string(),
                line: Some(line_at(text, key.span().start)),
                field: other.to_string(),
                message: format!(
                    "options of service `{other}`, but the scenario runs `{}`",
                    chosen.as_deref().unwrap_or("?")
                ),
            }));
        }
    }
    let de = toml::de::Deserializer::from(root);
    let file = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = serde_path(e.path());
        toml_error(e.inner(), text, source, &path)
    })?;
    Ok(RawScenario {
        file,
        service_table,
    })
}

pub(super) fn validate(
    raw: RawScenario<'_>,
    text: &str,
    source: &str,
    default_name: Option<&str>,
    registry: &Registry,
) -> Result<Scenario, ScenarioError> {
    let RawScenario {
        file: raw,
        service_table,
    } = raw;
    let c = Checker { text, source };
    check_sizes(&c, &raw)?;
    let service = service_options(&c, &raw, service_table, registry)?;
    let bugs = check_bugs(&c, &raw.bugs, "bugs", &service, registry)?;
    let catches = check_bugs(&c, &raw.catches, "catches", &service, registry)?;
    let (expect, expect_notes) = check_expect(&c, &raw)?;
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
        catches,
        network: raw.network,
        disk: raw.disk,
        workload: raw.workload,
        schedule,
        random: raw.faults.random,
        expect,
        expect_notes,
        randomize: raw.randomize,
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
    c.ensure(
        raw.randomize.buggify_fire_permille <= 1000,
        &[key("randomize"), key("buggify_fire_permille")],
        || {
            format!(
                "must be at most 1000, got {}",
                raw.randomize.buggify_fire_permille
            )
        },
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

fn service_options<'i>(
    c: &Checker,
    raw: &ScenarioFile,
    table: Option<Spanned<DeValue<'i>>>,
    registry: &Registry,
) -> Result<ServiceOptions, ScenarioError> {
    let service = registry
        .service(&raw.service)
        .map_err(|e| c.fail(&[key("service")], e.to_string()))?;
    parse_service_table(c, service.as_ref(), table, raw)
}

/// Bugs named in `field`, each one of `service`'s.
fn check_bugs(
    c: &Checker,
    names: &[String],
    field: &str,
    service: &ServiceOptions,
    registry: &Registry,
) -> Result<BugSet, ScenarioError> {
    let mut bugs = BugSet::new();
    for (i, name) in names.iter().enumerate() {
        let path = [key(field), Segment::Index(i)];
        let (owner, bug) = registry
            .find_bug(name)
            .map_err(|e| c.fail(&path, e.to_string()))?;
        c.ensure(owner.name() == service.name(), &path, || {
            format!(
                "bug `{bug}` belongs to service `{}`, not `{}`",
                owner.name(),
                service.name()
            )
        })?;
        bugs.insert(bug);
    }
    Ok(bugs)
}

type Expectations = (BTreeMap<Counter, u64>, BTreeMap<String, u64>);

/// `[expect]`: `<counter>_min = N` and `[expect.notes]`; `ops_ok_min` defaults to 1 so a run
/// that did nothing fails.
fn check_expect(c: &Checker, raw: &ScenarioFile) -> Result<Expectations, ScenarioError> {
    let mut expect = BTreeMap::from([(Counter::OpsOk, 1)]);
    let mut notes = BTreeMap::new();
    for (k, entry) in &raw.expect {
        match (k.as_str(), entry) {
            ("notes", ExpectEntry::Notes(n)) => notes.clone_from(n),
            ("notes", ExpectEntry::Min(_)) => {
                return Err(c.fail(
                    &[key("expect"), key(k)],
                    "must be a table of note labels and minimums",
                ));
            }
            (_, ExpectEntry::Min(min)) => {
                let Some(counter) = Counter::from_expect_key(k) else {
                    let known: Vec<String> =
                        Counter::ALL.iter().map(|c| format!("{c}_min")).collect();
                    return Err(c.fail(
                        &[key("expect"), key(k)],
                        format!("unknown expectation (known: notes, {})", known.join(", ")),
                    ));
                };
                expect.insert(counter, *min);
            }
            (_, ExpectEntry::Notes(_)) => {
                return Err(c.fail(&[key("expect"), key(k)], "must be an integer minimum"));
            }
        }
    }
    Ok((expect, notes))
}

/// One `[[faults.schedule]]` entry: its structure from the kind's declaration (through
/// [`ScheduleEntryFile::to_spec`]), then each parameter's value, whichever kind it belongs to.
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
    let (spec, revert_after_ms) = e
        .to_spec()
        .map_err(|p| c.fail(&at(&base, &p.field), p.message))?;
    for (field, n) in [("node", e.node), ("from", e.from), ("to", e.to)] {
        if let Some(n) = n {
            c.ensure(n < raw.nodes, &at(&base, field), || {
                format!("node {n} does not exist (nodes = {})", raw.nodes)
            })?;
        }
    }
    if let Some(kind) = e.kind {
        check_partition_kind(c, &at(&base, "kind"), kind, raw.nodes)?;
    }
    if let Some(links) = &e.cut {
        check_cut(c, &at(&base, "cut"), raw.nodes, links)?;
    }
    if let Some(drift_ppm) = e.drift_ppm {
        c.ensure(
            drift_ppm.abs() <= DRIFT_PPM_LIMIT,
            &at(&base, "drift_ppm"),
            || format!("|{drift_ppm}| exceeds {DRIFT_PPM_LIMIT} ppm"),
        )?;
    }
    if let Some(delay_ms) = e.delay_ms {
        c.ensure(
            (1..=60_000).contains(&delay_ms),
            &at(&base, "delay_ms"),
            || format!("must be 1..=60000, got {delay_ms}"),
        )?;
    }
    if let Some(file) = &e.file {
        c.ensure(
            crate::disk::check_file_name(file).is_ok(),
            &at(&base, "file"),
            || format!("{file:?} is not a plain file name"),
        )?;
    }
    c.ensure(
        e.bit.is_none() || e.file.is_some(),
        &at(&base, "bit"),
        || "a bit needs the file it is in (`file`)".to_string(),
    )?;
    Ok(TimedFault {
        at_ms: e.at_ms,
        spec,
        revert_after_ms,
    })
}

/// A partition's `cut = [[from, to], ...]`: at least one link, between existing, distinct nodes.
fn check_cut(c: &Checker, path: &[Segment], nodes: u32, links: &[[u32; 2]]) -> Check {
    c.ensure(!links.is_empty(), path, || {
        "must name at least one link [from, to]".into()
    })?;
    for &[from, to] in links {
        c.ensure(from < nodes && to < nodes, path, || {
            format!("link [{from}, {to}]: node does not exist (nodes = {nodes})")
        })?;
        c.ensure(from != to, path, || {
            format!("link [{from}, {to}] joins a node to itself")
        })?;
    }
    Ok(())
}

fn check_partition_kind(c: &Checker, path: &[Segment], kind: PartitionKind, nodes: u32) -> Check {
    let min = kind.min_nodes();
    c.ensure(nodes as usize >= min, path, || {
        format!(
            "`{}` needs at least {min} nodes, the scenario has {nodes}",
            kind.name()
        )
    })
}

fn check_random(c: &Checker, raw: &ScenarioFile, r: &RandomFaults) -> Check {
    r.check(raw.nodes).map_err(|e| {
        let mut path = vec![key("faults"), key("random"), key(e.field)];
        path.extend(e.index.map(Segment::Index));
        c.fail(&path, e.message)
    })
}
