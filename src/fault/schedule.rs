//! `[[faults.schedule]]` entries ⇄ faults, both ways through serde's encoding of [`Fault`]: an
//! entry's parameters are the fault's serde fields (plus `at_ms`, and the duration of a lasting
//! one), so the parser and the shrinker's write-back are one encoding read and written, not two
//! hand-written inverses. Which parameters a kind takes comes from its declaration
//! ([`FaultKind::params`]); what each parameter name's type is, from [`ScheduleEntryFile`].
//!
//! The one place the file differs from serde's encoding: a partition drawn around a node names
//! it `node` (the isolated or bridge node), where [`Fault<Open>`](super::Open) keeps it in `cut`
//! (see [`OpenCut`](super::OpenCut)).

use super::{Fault, FaultKind, FaultSpec, PartitionKind};
use crate::rng::Probability;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One `[[faults.schedule]]` entry as written: flat, every parameter name any kind takes with
/// its type, so a value of the wrong type is reported at its own line. Which of them a kind
/// takes is checked against its declaration when the entry becomes a fault.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntryFile {
    /// When it fires (true time).
    pub at_ms: u64,
    /// The fault's kind.
    pub fault: FaultKind,
    /// For partition: its shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<PartitionKind>,
    /// Target node; when absent the nemesis picks one with its RNG.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
    /// For partition: the exact directed links `[from, to]` to cut instead of drawing the
    /// shape (how `faultlab shrink` writes a resolved partition back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<Vec<[u32; 2]>>,
    /// For net-* faults: the sending node (default any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<u32>,
    /// For net-* faults: the receiving node (default any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<u32>,
    /// For net-* faults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<Probability>,
    /// For net-delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms_max: Option<u64>,
    /// For clock-offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_ms: Option<i64>,
    /// For clock-drift.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_ppm: Option<i64>,
    /// For clock-jump.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_ms: Option<i64>,
    /// For disk-slow: extra time per sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// For disk-corrupt: the file (default: drawn among the node's files when it fires).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// For disk-corrupt with a `file`: the bit to flip, from the file's first byte (default:
    /// drawn when it fires). What `faultlab shrink` writes to make a corruption exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit: Option<u64>,
    /// Undo the fault after this long (partition → heal, pause → resume, net-* → net-calm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// For `crash`: restart the node after this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_ms: Option<u64>,
}

/// Why an entry's parameters do not make a fault: the parameter, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter (`fault` when the kind is missing).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ScheduleEntryFile {
    /// The entry's parameters as written (besides `at_ms` and `fault`), in field order.
    pub fn present(&self) -> Vec<String> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| k != "at_ms" && k != "fault")
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The fault this entry plans, with how long it lasts. Only the structure is checked here
    /// (the kind takes these parameters, the required ones are there); whether the nodes exist
    /// and the values are in range is the scenario validator's job.
    pub fn to_spec(&self) -> Result<(FaultSpec, Option<u64>), ParamError> {
        let kind = self.fault;
        let allowed = kind.params();
        for field in self.present() {
            if !allowed.contains(&field.as_str()) {
                return Err(ParamError {
                    message: format!(
                        "not a parameter of fault `{kind}` (it takes: {})",
                        if allowed.is_empty() {
                            "nothing".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                    field,
                });
            }
        }
        let mut map = match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        map.remove("at_ms");
        let lasts_ms = kind
            .duration_param()
            .and_then(|p| map.remove(p))
            .and_then(|v| v.as_u64());
        if kind == FaultKind::Partition {
            if map.contains_key("cut") && map.contains_key("node") {
                return Err(ParamError {
                    field: "cut".into(),
                    message: "give either `node` (the shape is drawn around it) or `cut` \
                              (the links), not both"
                        .into(),
                });
            }
            let pivot = map.remove("node").unwrap_or(Value::Null);
            map.entry("cut").or_insert(pivot);
        }
        // A cut is a set of links: written in any order, any number of times.
        if let Some(Value::Array(links)) = map.get_mut("cut") {
            links.sort_by_key(|l| (l[0].as_u64(), l[1].as_u64()));
            links.dedup();
        }
        let spec: FaultSpec =
            serde_json::from_value(Value::Object(map)).map_err(|e| missing(kind, &e))?;
        debug_assert_eq!(spec.kind(), kind);
        Ok((spec, lasts_ms))
    }
}

/// serde's complaint about an entry, on the parameter it names.
fn missing(kind: FaultKind, e: &serde_json::Error) -> ParamError {
    let text = e.to_string();
    match text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        Some(field) => ParamError {
            field: field.to_string(),
            message: format!("required by fault `{kind}`"),
        },
        None => ParamError {
            field: "fault".into(),
            message: text,
        },
    }
}

/// A resolved fault's parameters as a schedule entry writes them (besides `at_ms`, `fault` and
/// its duration), in its kind's declared order: serde's encoding of the fault, which is what
/// [`ScheduleEntryFile::to_spec`] reads back. `None` for an undo of one particular fault (a
/// heal that `ends` a partition), which an entry cannot name.
pub fn params_of(fault: &Fault) -> Option<Vec<(&'static str, toml::Value)>> {
    if fault.ends().is_some() {
        return None;
    }
    let Ok(Value::Object(map)) = serde_json::to_value(fault) else {
        return None;
    };
    let kind = fault.kind();
    let mut out = Vec::new();
    for &name in kind.params() {
        if let Some(v) = map.get(name) {
            out.push((name, to_toml(v)?));
        }
    }
    // Every field serde wrote is a declared parameter (else the entry would not read back).
    let written = map.keys().filter(|k| *k != "fault").count();
    (written == out.len()).then_some(out)
}

fn to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => {
            toml::Value::Array(items.iter().map(to_toml).collect::<Option<Vec<_>>>()?)
        }
        Value::Null | Value::Object(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Resolved;
    use crate::fault::decl::Target;
    use crate::fault::swarm::RandomFaults;
    use crate::ids::NodeId;
    use crate::rng::DetRng;
    use crate::shrink::explicit::Entry;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeSet;

    /// A swarm that may draw every drawable kind, with its parameters drawn too.
    fn swarm(rng: &mut DetRng) -> RandomFaults {
        let kinds: Vec<String> = FaultKind::ALL
            .iter()
            .filter(|k| k.drawable())
            .map(|k| format!("\"{k}\""))
            .collect();
        let text = format!(
            "kinds = [{}]\nloss_probability = {}\ndelay_ms_max = {}\ndisk_slow_ms_max = {}\n",
            kinds.join(", "),
            rng.random_range(0..=1000) as f64 / 1000.0,
            rng.random_range(1..=500),
            rng.random_range(1..=60_000),
        );
        toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// A drawn fault of `kind` made concrete the way the nemesis would, with every optional
    /// parameter the kind takes sometimes given: through serde, so no kind is named here.
    fn resolve(spec: &FaultSpec, nodes: u32, rng: &mut DetRng) -> Fault<Resolved> {
        let mut v = serde_json::to_value(spec).unwrap_or_default();
        let map = v.as_object_mut().expect("a fault encodes as a map");
        let kind = spec.kind();
        let node = |rng: &mut DetRng| serde_json::json!(rng.random_range(0..nodes));
        if kind.decl().target != Target::NoNode {
            map.insert("node".into(), node(rng));
        }
        for opt in ["from", "to"] {
            if kind.params().contains(&opt) && rng.random_bool(0.5) {
                map.insert(opt.into(), node(rng));
            }
        }
        if kind.params().contains(&"cut") {
            let a = rng.random_range(0..nodes);
            let b = (a + rng.random_range(1..nodes)) % nodes;
            map.insert("cut".into(), serde_json::json!([[a.min(b), a.max(b)]]));
        }
        if kind.params().contains(&"file") {
            map.insert("file".into(), serde_json::json!("raft.log"));
            map.insert(
                "bit".into(),
                serde_json::json!(rng.random_range(0..4096u64)),
            );
        }
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{kind}: {e}"))
    }

    /// Every planned fault a swarm can draw, resolved, and every undo of one (as an entry
    /// writes it: an undo that ends everything of its kind).
    fn every_kind(nodes: u32, rng: &mut DetRng) -> Vec<Fault<Resolved>> {
        let r = swarm(rng);
        let mut out = Vec::new();
        for &kind in FaultKind::ALL.iter().filter(|k| k.drawable()) {
            let fault = resolve(&r.draw(kind, nodes, rng), nodes, rng);
            if let Some(undo) = fault.undo() {
                let mut v = serde_json::to_value(&undo).unwrap_or_default();
                if let Some(map) = v.as_object_mut() {
                    map.remove("ends");
                }
                out.push(serde_json::from_value(v).expect("an undo without `ends` reads back"));
            }
            out.push(fault);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The shrinker's write-back and the schedule parser are inverses for every kind: an
        /// entry written from a resolved fault reads back as that fault, at its time, lasting
        /// as long.
        #[test]
        fn every_kind_round_trips_through_a_schedule_entry(seed in any::<u64>(), nodes in 2u32..8) {
            let mut rng = DetRng::seed_from_u64(seed);
            let faults = every_kind(nodes, &mut rng);
            let kinds: BTreeSet<FaultKind> = faults.iter().map(Fault::kind).collect();
            prop_assert_eq!(kinds.len(), FaultKind::ALL.len(), "a kind is neither drawable nor an undo");
            let entries: Vec<Entry> = faults
                .into_iter()
                .enumerate()
                .map(|(i, fault)| {
                    let lasts_ms = (fault.undo().is_some() && rng.random_bool(0.5))
                        .then(|| rng.random_range(1..5000));
                    Entry { at_ms: i as u64 * 10, fault, lasts_ms }
                })
                .collect();
            let mut text = format!(
                "service = \"kv\"\nnodes = {nodes}\nclients = 1\nduration_ms = 100000\n\n"
            );
            for e in &entries {
                e.render(&mut text);
            }
            let sc = crate::scenario::Scenario::parse(&text, "rendered", None, &crate::Registry::builtin());
            let sc = sc.map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(sc.schedule.len(), entries.len());
            for (e, tf) in entries.iter().zip(&sc.schedule) {
                prop_assert_eq!(tf.at_ms, e.at_ms);
                prop_assert_eq!(tf.revert_after_ms, e.lasts_ms, "{}", e.fault);
                let read = tf.spec.resolved_with(None).map_err(TestCaseError::fail)?;
                prop_assert_eq!(&read, &e.fault, "{}", text);
            }
        }
    }

    #[test]
    fn a_parameter_of_another_kind_is_named() {
        let text = "at_ms = 1\nfault = \"crash\"\nnode = 1\ndelta_ms = 5\n";
        let e: ScheduleEntryFile = toml::from_str(text).expect("the entry is well typed");
        let err = e.to_spec().expect_err("crash takes no delta_ms");
        assert_eq!(err.field, "delta_ms");
        assert!(
            err.message.contains("it takes: node, down_ms"),
            "{}",
            err.message
        );
        let text = "at_ms = 1\nfault = \"net-delay\"\n";
        let e: ScheduleEntryFile = toml::from_str(text).expect("the entry is well typed");
        let err = e.to_spec().expect_err("net-delay needs delay_ms_max");
        assert_eq!(err.field, "delay_ms_max");
        let text = "at_ms = 1\nfault = \"net-delay\"\ndelay_ms_max = 3\n";
        let e: ScheduleEntryFile = toml::from_str(text).expect("the entry is well typed");
        let (spec, lasts) = e.to_spec().expect("probability defaults to 1");
        assert_eq!(lasts, None);
        let json = serde_json::to_string(&spec).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"fault":"net-delay","probability":1.0,"delay_ms_max":3}"#
        );
        let pivot = "at_ms = 1\nfault = \"partition\"\nkind = \"isolate\"\nnode = 2\n";
        let e: ScheduleEntryFile = toml::from_str(pivot).expect("the entry is well typed");
        let (spec, _) = e.to_spec().expect("a pivot");
        assert_eq!(
            spec,
            Fault::Partition {
                kind: PartitionKind::Isolate,
                cut: crate::fault::OpenCut::Pivot(Some(NodeId(2)))
            }
        );
    }

    #[test]
    fn the_readme_table_is_the_declarations() {
        let readme = include_str!("../../README.md");
        let table = FaultKind::docs_table();
        assert!(
            readme.contains(&table),
            "README's fault table differs from the declarations; paste this:\n{table}"
        );
    }
}
