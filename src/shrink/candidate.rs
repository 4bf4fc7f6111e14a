//! A shrink candidate: a scenario file as a TOML document the shrinker edits (sizes, phases,
//! the workload), and — once the faults are explicit — its schedule as entries. Validation
//! (`Scenario::parse`) is the judge of what a candidate may be; the document keeps the
//! service's own table as written, so the shrinker never needs to know a service's options.

use super::explicit::Entry;
use std::fmt::Write;
use toml::{Table, Value};

/// Top-level keys written first, in this order; the rest follow by name.
const LEADING_KEYS: &[&str] = &[
    "name",
    "description",
    "service",
    "nodes",
    "clients",
    "duration_ms",
    "liveness_ms",
    "bugs",
];

/// One scenario the shrinker may try.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The document; without `faults` when `schedule` is given.
    doc: Table,
    /// The explicit schedule (no `[faults.random]`); `None`: `doc` keeps the file's `faults`.
    schedule: Option<Vec<Entry>>,
}

impl Candidate {
    /// A candidate with the file's own faults.
    pub fn new(doc: Table) -> Self {
        Candidate {
            doc,
            schedule: None,
        }
    }

    /// The same candidate with its faults replaced by an explicit schedule.
    pub fn with_schedule(&self, entries: &[Entry]) -> Self {
        let mut doc = self.doc.clone();
        doc.remove("faults");
        Candidate {
            doc,
            schedule: Some(entries.to_vec()),
        }
    }

    /// The explicit schedule, if the faults are explicit.
    pub fn schedule(&self) -> Option<&[Entry]> {
        self.schedule.as_deref()
    }

    /// An integer at `path` (`["workload", "think_ms_max"]`), if present and not negative.
    pub fn int(&self, path: &[&str]) -> Option<u64> {
        let (last, tables) = path.split_last()?;
        let mut table = &self.doc;
        for key in tables {
            table = table.get(*key)?.as_table()?;
        }
        table
            .get(*last)?
            .as_integer()
            .and_then(|n| u64::try_from(n).ok())
    }

    /// The same candidate with the integer at `path` set (tables created as needed).
    pub fn with_int(&self, path: &[&str], value: u64) -> Self {
        let mut c = self.clone();
        c.set(
            path,
            Value::Integer(i64::try_from(value).unwrap_or(i64::MAX)),
        );
        c
    }

    /// Sets a value at `path`; an intermediate key that is not a table becomes one.
    pub fn set(&mut self, path: &[&str], value: Value) {
        let Some((last, tables)) = path.split_last() else {
            return;
        };
        let mut table = &mut self.doc;
        for key in tables {
            let slot = table
                .entry((*key).to_string())
                .or_insert_with(|| Value::Table(Table::new()));
            if !slot.is_table() {
                *slot = Value::Table(Table::new());
            }
            let Some(inner) = slot.as_table_mut() else {
                return;
            };
            table = inner;
        }
        table.insert((*last).to_string(), value);
    }

    /// Removes a top-level key.
    pub fn remove(&mut self, key: &str) {
        self.doc.remove(key);
    }

    /// The scenario file: leading keys, the other plain values, the tables, then the faults.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let is_table = |v: &Value| v.is_table() || is_table_array(v);
        let mut rest: Vec<(&String, &Value)> = self
            .doc
            .iter()
            .filter(|(k, _)| !LEADING_KEYS.contains(&k.as_str()))
            .collect();
        rest.sort_by_key(|(k, v)| (is_table(v), k.as_str() == "faults", k.as_str()));
        for key in LEADING_KEYS {
            if let Some(v) = self.doc.get(*key) {
                let _ = writeln!(out, "{key} = {v}");
            }
        }
        for (k, v) in rest {
            if is_table(v) {
                let mut one = Table::new();
                one.insert(k.clone(), v.clone());
                let _ = write!(out, "\n{}", toml::to_string(&one).unwrap_or_default());
            } else {
                let _ = writeln!(out, "{k} = {v}");
            }
        }
        for e in self.schedule.iter().flatten() {
            out.push('\n');
            e.render(&mut out);
        }
        out
    }
}

fn is_table_array(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_table))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Table {
        text.parse::<Table>().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn renders_a_document_validation_accepts_again() {
        let text = "service = \"kv\"\nclients = 3\nnodes = 5\nduration_ms = 900\n\
                    [kv]\nkeys = 2\n[workload]\nthink_ms_max = 4\n\
                    [[faults.schedule]]\nat_ms = 10\nfault = \"heal\"\n\
                    [faults.random]\nkinds = [\"crash\"]\n";
        let c = Candidate::new(doc(text)).with_int(&["workload", "think_ms_min"], 2);
        let out = c.render();
        assert!(
            out.starts_with("service = \"kv\"\nnodes = 5\nclients = 3\n"),
            "{out}"
        );
        let sc =
            crate::scenario::Scenario::parse(&out, "rendered", None, &crate::Registry::builtin());
        let sc = sc.unwrap_or_else(|e| panic!("{e}\n{out}"));
        assert_eq!((sc.nodes, sc.workload.think_ms_min), (5, 2));
        assert_eq!(sc.schedule.len(), 1);
        assert!(sc.random.is_some());
        let explicit = c.with_schedule(&[]).render();
        let sc = crate::scenario::Scenario::parse(
            &explicit,
            "explicit",
            None,
            &crate::Registry::builtin(),
        );
        let sc = sc.unwrap_or_else(|e| panic!("{e}\n{explicit}"));
        assert!(sc.schedule.is_empty() && sc.random.is_none(), "{explicit}");
        assert_eq!(c.int(&["workload", "think_ms_max"]), Some(4));
        assert_eq!(c.int(&["nodes"]), Some(5));
        assert_eq!(c.int(&["kv", "missing"]), None);
    }
}
