//! The service's own invariant, over the event log: a write the primary answered survives the
//! primary's restart. The primary observes `pb.answered {seq}` when it answers and
//! `pb.recovered {seq}` when a new life of it has fetched a backup's state; a recovery below a
//! sequence number answered before it lost an answered write.

use faultlab::prelude::*;

/// `answered-survives-restart`: every recovery holds every sequence number answered before it.
pub struct AnsweredSurvivesRestart;

fn seq_of(value: &Value) -> Option<u64> {
    value.get("seq").and_then(Value::as_u64)
}

impl Invariant for AnsweredSurvivesRestart {
    fn name(&self) -> &'static str {
        "answered-survives-restart"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, records: &RunRecords<'_>) -> Outcome {
        let mut answered_max: Option<u64> = None;
        for r in records.events {
            let Event::Observe { label, value, .. } = &r.event else {
                continue;
            };
            let Some(seq) = seq_of(value) else {
                return Outcome::Unknown(format!("{label} without a seq: {value}"));
            };
            match label.as_str() {
                "pb.answered" => answered_max = answered_max.max(Some(seq)),
                "pb.recovered" => {
                    if let Some(max) = answered_max.filter(|&max| seq < max) {
                        return Outcome::Fail(format!(
                            "at {}: the primary recovered at seq {seq}, but seq {max} had been \
                             answered: answered writes were lost",
                            r.time_ns
                        ));
                    }
                }
                _ => {}
            }
        }
        Outcome::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultlab::counters::Counters;
    use faultlab::ids::Incarnation;
    use faultlab::time::SimTime;
    use std::collections::BTreeMap;

    fn observe(ms: u64, label: &str, seq: u64) -> EventRecord {
        EventRecord {
            time_ns: SimTime::from_ms(ms),
            event: Event::Observe {
                node: NodeId(0),
                incarnation: Incarnation(1),
                label: label.into(),
                value: json!({ "seq": seq }),
            },
        }
    }

    fn judge(events: &[EventRecord]) -> Outcome {
        let (history, counters, expect) =
            (History::default(), Counters::default(), BTreeMap::new());
        let records = RunRecords {
            history: &history,
            events,
            counters: &counters,
            events_overflowed: false,
            heal_at: SimTime::from_ms(1000),
            liveness_ms: 0,
            clients: 1,
            expect: &expect,
            scheduled: &[],
        };
        AnsweredSurvivesRestart.check(&records)
    }

    #[test]
    fn a_recovery_below_an_answer_fails_and_at_or_above_passes() {
        let lost = [observe(1, "pb.answered", 5), observe(2, "pb.recovered", 4)];
        assert!(matches!(judge(&lost), Outcome::Fail(m) if m.contains("seq 5")));
        let kept = [observe(1, "pb.answered", 5), observe(2, "pb.recovered", 5)];
        assert_eq!(judge(&kept), Outcome::Pass);
        assert_eq!(judge(&[observe(1, "pb.recovered", 0)]), Outcome::Pass);
    }
}
