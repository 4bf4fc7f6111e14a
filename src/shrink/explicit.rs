//! A run's faults made explicit: the resolved faults of the event log (the swarm's draws and
//! every node the nemesis picked) turned back into `[[faults.schedule]]` entries that draw
//! nothing, so the same seed applies the same faults at the same times.
//!
//! A lasting fault and the undo the nemesis applied for it become one entry with a
//! `duration_ms` (`down_ms` for a crash): removing the entry removes both. Faults applied by the
//! final heal (at or after `duration_ms`) are not faults of the schedule.

use crate::event::{Event, EventRecord};
use crate::fault::Fault;
use crate::fault::schedule::params_of;
use crate::time::SimTime;
use std::fmt::Write;
use thiserror::Error;
use toml::Value;

/// One explicit schedule entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it fires.
    pub at_ms: u64,
    /// What it does, every node and link concrete.
    pub fault: Fault,
    /// For a lasting fault: when its undo runs (`None`: it lasts until the final heal).
    pub lasts_ms: Option<u64>,
}

/// A resolved fault the schedule format cannot write.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at {at_ms} ms: `{fault}` undoes a fault the log does not show applied")]
pub struct Inexpressible {
    /// When it was applied.
    pub at_ms: u64,
    /// The fault, as displayed.
    pub fault: String,
}

/// The faults a run applied before `heal_at`, as explicit entries in the order they applied.
pub fn entries_from_log(
    records: &[EventRecord],
    heal_at: SimTime,
) -> Result<Vec<Entry>, Inexpressible> {
    let mut entries: Vec<Entry> = Vec::new();
    // Lasting faults whose undo has not been seen yet: indices into `entries`.
    let mut open: Vec<usize> = Vec::new();
    for r in records {
        if r.time_ns >= heal_at {
            break;
        }
        let Event::Fault { action } = &r.event else {
            continue;
        };
        let at_ms = r.time_ns.as_ms();
        let undoes = open
            .iter()
            .position(|&i| entries[i].fault.undo().as_ref() == Some(action));
        if let Some(k) = undoes {
            let i = open.remove(k);
            debug_assert!(at_ms >= entries[i].at_ms);
            entries[i].lasts_ms = Some(at_ms - entries[i].at_ms);
            continue;
        }
        if action.ends().is_some() {
            return Err(Inexpressible {
                at_ms,
                fault: action.to_string(),
            });
        }
        if action.undo().is_some() {
            open.push(entries.len());
        }
        entries.push(Entry {
            at_ms,
            fault: action.clone(),
            lasts_ms: None,
        });
    }
    Ok(entries)
}

/// The entries that still make sense on a cluster of `nodes`: an entry naming a node beyond it
/// goes; a partition keeps the links among the nodes left (and goes if none is left).
pub fn within(entries: &[Entry], nodes: u32) -> Vec<Entry> {
    entries
        .iter()
        .filter_map(|e| {
            let mut e = e.clone();
            if let Fault::Partition { cut, .. } = &mut e.fault {
                cut.retain(|(a, b)| a.0 < nodes && b.0 < nodes);
                if cut.is_empty() {
                    return None;
                }
            }
            e.max_node().is_none_or(|n| n < nodes).then_some(e)
        })
        .collect()
}

impl Entry {
    /// True for a fault that lasts until undone (its entry may carry a duration).
    pub fn lasting(&self) -> bool {
        self.fault.undo().is_some()
    }

    /// The highest node the entry names, if any.
    pub fn max_node(&self) -> Option<u32> {
        self.params()
            .iter()
            .filter_map(|(name, v)| match (*name, v) {
                ("node" | "from" | "to", Value::Integer(n)) => u32::try_from(*n).ok(),
                ("cut", Value::Array(links)) => links
                    .iter()
                    .flat_map(|l| l.as_array().into_iter().flatten())
                    .filter_map(|n| n.as_integer().and_then(|n| u32::try_from(n).ok()))
                    .max(),
                _ => None,
            })
            .max()
    }

    /// The entry's parameters besides `at_ms` and `fault`, in [`crate::fault::FaultKind::params`] order:
    /// serde's encoding of the fault ([`params_of`]), and its duration.
    fn params(&self) -> Vec<(&'static str, Value)> {
        let int = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        // `entries_from_log` keeps out the one thing an entry cannot say (an undo of one fault).
        let mut p = params_of(&self.fault).unwrap_or_default();
        if let (Some(ms), Some(name)) = (self.lasts_ms, self.fault.kind().duration_param()) {
            p.push((name, int(ms)));
        }
        p
    }

    /// The entry as a `[[faults.schedule]]` table.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "[[faults.schedule]]");
        let _ = writeln!(out, "at_ms = {}", self.at_ms);
        let _ = writeln!(out, "fault = \"{}\"", self.fault.name());
        for (name, value) in self.params() {
            let _ = writeln!(out, "{name} = {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{LinkSelector, PartitionKind};
    use crate::ids::NodeId;
    use crate::rng::Probability;

    fn at(ms: u64, action: Fault) -> EventRecord {
        EventRecord {
            time_ns: SimTime::from_ms(ms),
            event: Event::Fault { action },
        }
    }

    #[test]
    fn a_lasting_fault_and_its_undo_are_one_entry() {
        let p = Fault::Partition {
            kind: PartitionKind::Isolate,
            cut: vec![(NodeId(0), NodeId(1)), (NodeId(1), NodeId(0))],
        };
        let crash = Fault::Crash { node: NodeId(2) };
        let log = vec![
            at(100, p.clone()),
            at(150, crash.clone()),
            at(
                400,
                Fault::Heal {
                    ends: Some(Box::new(p.clone())),
                },
            ),
            at(900, Fault::Restart { node: NodeId(2) }),
            at(950, Fault::Restart { node: NodeId(1) }),
            at(2000, Fault::Heal { ends: None }),
        ];
        let entries = entries_from_log(&log, SimTime::from_ms(2000)).ok();
        let expected = vec![
            Entry {
                at_ms: 100,
                fault: p,
                lasts_ms: Some(300),
            },
            Entry {
                at_ms: 150,
                fault: crash,
                lasts_ms: Some(750),
            },
            Entry {
                at_ms: 950,
                fault: Fault::Restart { node: NodeId(1) },
                lasts_ms: None,
            },
        ];
        assert_eq!(entries, Some(expected), "the final heal is not an entry");
    }

    #[test]
    fn an_undo_without_its_fault_is_inexpressible() {
        let rule = Fault::NetLoss {
            probability: Probability::ALWAYS,
            links: LinkSelector::default(),
        };
        let log = vec![at(
            10,
            Fault::NetCalm {
                ends: Some(Box::new(rule)),
            },
        )];
        let err = entries_from_log(&log, SimTime::from_ms(100)).err();
        assert_eq!(err.map(|e| e.at_ms), Some(10));
    }

    #[test]
    fn entries_render_as_schedule_tables_that_validate() {
        let entries = [
            Entry {
                at_ms: 5,
                fault: Fault::Partition {
                    kind: PartitionKind::Halves,
                    cut: vec![(NodeId(0), NodeId(2)), (NodeId(2), NodeId(0))],
                },
                lasts_ms: Some(20),
            },
            Entry {
                at_ms: 7,
                fault: Fault::NetDelay {
                    probability: Probability::ALWAYS,
                    delay_ms_max: 9,
                    links: LinkSelector {
                        from: Some(NodeId(1)),
                        to: None,
                    },
                },
                lasts_ms: None,
            },
            Entry {
                at_ms: 8,
                fault: Fault::Crash { node: NodeId(1) },
                lasts_ms: Some(3),
            },
        ];
        let mut text =
            "service = \"idgen\"\nnodes = 3\nclients = 1\nduration_ms = 100\n\n".to_string();
        for e in &entries {
            e.render(&mut text);
        }
        assert!(text.contains("cut = [[0, 2], [2, 0]]"), "{text}");
        assert!(text.contains("down_ms = 3"), "{text}");
        let sc =
            crate::scenario::Scenario::parse(&text, "rendered", None, &crate::Registry::builtin());
        let sc = sc.unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(sc.schedule.len(), 3);
        assert_eq!(sc.schedule[0].revert_after_ms, Some(20));
        assert_eq!(sc.schedule[2].revert_after_ms, Some(3));
        assert_eq!(entries.iter().filter_map(Entry::max_node).max(), Some(2));
        let on_two = within(&entries, 2);
        assert_eq!(
            on_two.len(),
            2,
            "the partition has no link left among n0, n1"
        );
        assert_eq!(on_two[0].at_ms, 7);
        assert_eq!(within(&entries, 1).len(), 0);
    }
}
