//! Rendering a run for people: a one-line summary (pinned in snapshots), a full summary that
//! explains the run (what faults fired, what was checked), and the command that replays it.

use super::RunOutcome;
use crate::bugs::BugSet;
use crate::event::Event;
use crate::invariants::Outcome;
use std::fmt::Write as _;

/// The command that replays one seed. `program` is how the user invoked faultlab.
pub fn replay_command(program: &str, outcome: &RunOutcome) -> String {
    replay_command_for(program, &outcome.source, outcome.seed, &outcome.bugs)
}

pub fn replay_command_for(program: &str, source: &str, seed: u64, bugs: &BugSet) -> String {
    let mut cmd = format!("{program} replay --scenario {source} --seed {seed}");
    for bug in bugs {
        let _ = write!(cmd, " --bug {bug}");
    }
    cmd
}

/// One line: scenario, seed, digest, counts, verdict.
pub fn summary_line(o: &RunOutcome) -> String {
    let s = &o.stats;
    let verdict = match o.failures().next() {
        Some(v) => format!("FAIL {}", v.invariant),
        None => "pass".to_string(),
    };
    format!(
        "{} seed={} digest={} events={} ops ok={} fail={} info={} msgs sent={} dropped={} dup={} faults={} crashes={} restarts={} pauses={} clock-back={} -> {}",
        o.scenario,
        o.seed,
        o.digest,
        s.events,
        s.ops_ok,
        s.ops_fail,
        s.ops_info,
        s.messages_sent,
        s.dropped_messages(),
        s.duplicated,
        s.faults_applied,
        s.crashes,
        s.restarts,
        s.pauses,
        s.clock_jumps_backward,
        verdict
    )
}

/// A human-readable account of the run.
pub fn summary_text(program: &str, o: &RunOutcome) -> String {
    let mut out = String::new();
    let s = &o.stats;
    let bugs = if o.bugs.is_empty() {
        "none".to_string()
    } else {
        o.bugs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "scenario   {} ({})", o.scenario, o.source);
    let _ = writeln!(out, "seed       {}", o.seed);
    let _ = writeln!(out, "bugs       {bugs}");
    let _ = writeln!(out, "digest     {}", o.digest);
    let _ = writeln!(out, "heal at    {}", o.heal_at);
    let _ = writeln!(out, "\nfaults");
    for r in o.log.records() {
        match &r.event {
            Event::Fault { action } => {
                let _ = writeln!(out, "  {:>10}  {action}", r.time_ns.to_string());
            }
            Event::FaultSkipped { fault, reason } => {
                let _ = writeln!(
                    out,
                    "  {:>10}  (skipped {fault}: {reason})",
                    r.time_ns.to_string()
                );
            }
            Event::HealAll => {
                let _ = writeln!(
                    out,
                    "  {:>10}  heal everything (liveness phase)",
                    r.time_ns.to_string()
                );
            }
            _ => {}
        }
    }
    let _ = writeln!(out, "\ncounts");
    let _ = writeln!(
        out,
        "  operations  invoked {} ok {} fail {} info {}",
        s.ops_invoked, s.ops_ok, s.ops_fail, s.ops_info
    );
    let _ = writeln!(
        out,
        "  messages    sent {} delivered {} duplicated {} delayed {} garbage {}",
        s.messages_sent, s.messages_delivered, s.duplicated, s.delayed, s.garbage
    );
    let _ = writeln!(
        out,
        "  dropped     partition {} loss {} node-down {} inbox-full {}",
        s.dropped_partition, s.dropped_loss, s.dropped_node_down, s.dropped_inbox_full
    );
    let _ = writeln!(
        out,
        "  nodes       crashes {} restarts {} pauses {} unsynced bytes lost {} syncs {}",
        s.crashes, s.restarts, s.pauses, s.unsynced_bytes_lost, s.syncs
    );
    let _ = writeln!(
        out,
        "  clocks      jumps back {} jumps forward {} drift changes {}",
        s.clock_jumps_backward, s.clock_jumps_forward, s.drift_changes
    );
    for (label, n) in &s.notes {
        let _ = writeln!(out, "  note        {label}: {n}");
    }
    let _ = writeln!(out, "\ninvariants");
    for v in &o.verdicts {
        let (status, msg) = match &v.outcome {
            Outcome::Pass => ("pass", String::new()),
            Outcome::Fail(m) => ("FAIL", format!(": {m}")),
            Outcome::Unknown(m) => ("unknown", format!(": {m}")),
        };
        let tag = serde_json::to_value(v.tag)
            .ok()
            .and_then(|t| t.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(out, "  {status:<7} {:<28} [{tag}]{msg}", v.invariant);
    }
    let _ = writeln!(out, "\nreplay     {}", replay_command(program, o));
    out
}
