//! The lock service's invariants:
//!
//! - `linearizable` (always): the history under the checker's `lock` model (per lock name);
//! - `one-valid-holder` (always): in true simulated time, no two clients hold a lease they
//!   believe valid at once — a client's lease runs from its acquire's `ok` to the invocation of
//!   its release (where it last checks the lease) or of a renewal that found it lost. Holds while the clocks stay within the
//!   drift bound;
//! - `fenced-writes` (always): the fencing tokens the resource accepted never go down, and a
//!   new holder's writes carry a larger token than the previous holder's;
//! - `exclusive-writes` (always): two holders' critical sections never interleave at the
//!   resource (no `A … B … A` among accepted writes).
//!
//! Liveness (every waiting client gets the lock after heal) is the common `progress-after-heal`.

use crate::check::ModelKind;
use crate::history::{History, OpType, Process};
use crate::invariants::linearizable::{Linearizable, model_verdict};
use crate::invariants::observations_indexed;
use crate::invariants::{Evidence, Invariant, Outcome, RunRecords, Tag};
use crate::time::SimTime;
use serde_json::Value;
use std::collections::BTreeMap;

/// Every lock invariant.
pub fn all() -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(Linearizable {
            model: ModelKind::Lock,
        }),
        Box::new(OneValidHolder),
        Box::new(FencedWrites),
        Box::new(ExclusiveWrites),
    ]
}

/// The `lock` model's verdict.
pub fn history_verdict(history: &History) -> Outcome {
    model_verdict(history, ModelKind::Lock)
}

/// A client's lease as the history shows it.
#[derive(Debug, Clone)]
struct Lease {
    client: u64,
    from_ns: u64,
    to_ns: u64,
    /// The 1-based history line of the `acquire` that granted it.
    acquire_line: u32,
}

/// Valid-lease intervals per lock, from the history (`clients`: processes advance by it).
fn leases(history: &History, clients: u64) -> Result<BTreeMap<String, Vec<Lease>>, String> {
    let mut open: BTreeMap<(String, u64), (u64, u32)> = BTreeMap::new();
    let mut pending: BTreeMap<u64, (String, String, u64, u32)> = BTreeMap::new();
    let mut out: BTreeMap<String, Vec<Lease>> = BTreeMap::new();
    let mut last_ns = 0;
    for (i, e) in history.events.iter().enumerate() {
        let Process::Int(p) = e.process else {
            return Err(format!(
                "history line {}: process {} is not a client",
                i + 1,
                e.process
            ));
        };
        let client = p % clients.max(1);
        let name = e
            .key
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let at = e
            .time
            .ok_or_else(|| format!("history line {}: no time", i + 1))?;
        last_ns = last_ns.max(at);
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        match e.kind {
            OpType::Invoke => {
                pending.insert(p, (e.f.clone(), name.clone(), at, line));
                if e.f == "release"
                    && let Some((from_ns, acquire_line)) = open.remove(&(name.clone(), client))
                {
                    out.entry(name).or_default().push(Lease {
                        client,
                        from_ns,
                        to_ns: at,
                        acquire_line,
                    });
                }
            }
            OpType::Ok => match pending.remove(&p) {
                Some((f, name, _, invoke_line)) if f == "acquire" => {
                    open.insert((name, client), (at, invoke_line));
                }
                Some((f, name, invoked, _))
                    if f == "renew" && e.value == Some(Value::Bool(false)) =>
                {
                    if let Some((from_ns, acquire_line)) = open.remove(&(name.clone(), client)) {
                        out.entry(name).or_default().push(Lease {
                            client,
                            from_ns,
                            to_ns: invoked,
                            acquire_line,
                        });
                    }
                }
                _ => {}
            },
            OpType::Fail | OpType::Info => {
                pending.remove(&p);
            }
        }
    }
    // Still held at the end (clients release before they stop, so only when cut short).
    for ((name, client), (from_ns, acquire_line)) in open {
        out.entry(name).or_default().push(Lease {
            client,
            from_ns,
            to_ns: last_ns,
            acquire_line,
        });
    }
    Ok(out)
}

struct OneValidHolder;

impl Invariant for OneValidHolder {
    fn name(&self) -> &'static str {
        "one-valid-holder"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the two `acquire`s whose leases overlap.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let by_lock = match leases(r.history, u64::from(r.clients)) {
            Ok(l) => l,
            Err(e) => return (Outcome::Unknown(e), Evidence::default()),
        };
        for (name, mut ls) in by_lock {
            ls.sort_by_key(|l| (l.from_ns, l.to_ns, l.client));
            for pair in ls.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if a.client != b.client && b.from_ns < a.to_ns {
                    let outcome = Outcome::Fail(format!(
                        "{name}: client {} held a valid lease from {} to {} and client {} from {}",
                        a.client,
                        SimTime { ns: a.from_ns },
                        SimTime { ns: a.to_ns },
                        b.client,
                        SimTime { ns: b.from_ns }
                    ));
                    let evidence = Evidence {
                        blamed_lines: vec![a.acquire_line, b.acquire_line],
                        key: serde_json::to_string(&name).ok(),
                        ..Evidence::default()
                    };
                    return (outcome, evidence);
                }
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// A write the resource accepted.
struct Accepted {
    at: SimTime,
    /// Its record's index in the event log (what a verdict blames).
    record: usize,
    lock: String,
    holder: String,
    token: Option<u64>,
}

fn accepted_writes(r: &RunRecords<'_>) -> Result<Vec<Accepted>, String> {
    let mut out = Vec::new();
    for (record, at, _, value) in observations_indexed(r.events, "lock/write") {
        if value.get("error").is_some() {
            continue;
        }
        let (Some(holder), Some(accepted)) = (
            value.get("holder").and_then(Value::as_str),
            value.get("accepted").and_then(Value::as_bool),
        ) else {
            return Err(format!("malformed lock/write record at {at}: {value}"));
        };
        if accepted {
            out.push(Accepted {
                at,
                record,
                lock: value
                    .get("lock")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                holder: holder.to_string(),
                token: value.get("token").and_then(Value::as_u64),
            });
        }
    }
    Ok(out)
}

/// The evidence of a verdict on resource writes: the records at fault, on `lock`.
fn blaming(lock: &str, records: Vec<usize>) -> Evidence {
    Evidence {
        blamed_events: records,
        key: serde_json::to_string(lock).ok(),
        ..Evidence::default()
    }
}

struct FencedWrites;

impl Invariant for FencedWrites {
    fn name(&self) -> &'static str {
        "fenced-writes"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the write that set the highest token and the one accepted below (or beside) it.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let writes = match accepted_writes(r) {
            Ok(w) => w,
            Err(e) => return (Outcome::Unknown(e), Evidence::default()),
        };
        let mut last: BTreeMap<&str, &Accepted> = BTreeMap::new();
        for w in &writes {
            let Some(t) = w.token else { continue };
            if let Some(prev) = last.get(w.lock.as_str()) {
                let max = prev.token.unwrap_or(0);
                let lower = t < max;
                let shared = t == max && prev.holder != w.holder;
                if lower || shared {
                    let outcome = Outcome::Fail(format!(
                        "{}: the resource accepted {} with token {t} at {} after {} with token {max} at {}",
                        w.lock, w.holder, w.at, prev.holder, prev.at
                    ));
                    return (outcome, blaming(&w.lock, vec![prev.record, w.record]));
                }
            }
            last.insert(&w.lock, w);
        }
        (Outcome::Pass, Evidence::default())
    }
}

struct ExclusiveWrites;

impl Invariant for ExclusiveWrites {
    fn name(&self) -> &'static str {
        "exclusive-writes"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the `A … B … A` writes: A's last write before B's, B's write, A's write after.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let writes = match accepted_writes(r) {
            Ok(w) => w,
            Err(e) => return (Outcome::Unknown(e), Evidence::default()),
        };
        // (lock, holder) → the other holder's write that followed this holder's last one.
        let mut followed: BTreeMap<(&str, &str), &Accepted> = BTreeMap::new();
        // (lock, holder) → this holder's last write.
        let mut own_last: BTreeMap<(&str, &str), &Accepted> = BTreeMap::new();
        let mut current: BTreeMap<&str, &str> = BTreeMap::new();
        for w in &writes {
            let lock = w.lock.as_str();
            if current.get(lock) != Some(&w.holder.as_str()) {
                if let Some(other) = followed.get(&(lock, w.holder.as_str())) {
                    let own = own_last.get(&(lock, w.holder.as_str()));
                    let outcome = Outcome::Fail(format!(
                        "{lock}: {} wrote again at {} after {}'s write at {} had followed its own{}",
                        w.holder,
                        w.at,
                        other.holder,
                        other.at,
                        own.map_or(String::new(), |o| format!(" (at {})", o.at))
                    ));
                    let mut records: Vec<usize> = own.map(|o| o.record).into_iter().collect();
                    records.extend([other.record, w.record]);
                    return (outcome, blaming(lock, records));
                }
                if let Some(prev) = current.insert(lock, &w.holder) {
                    followed.insert((lock, prev), w);
                }
            }
            own_last.insert((lock, w.holder.as_str()), w);
        }
        (Outcome::Pass, Evidence::default())
    }
}
