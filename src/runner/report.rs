//! Rendering a run for people: a one-line summary (pinned in snapshots), a full summary that
//! explains the run (what faults fired, what was counted, what was checked, how to replay it),
//! and the command that replays it.

use super::{RandomizeFlags, RunOutcome};
use crate::backend::BackendKind;
use crate::bugs::BugSet;
use crate::counters::Counter;
use crate::event::Event;
use crate::invariants::Overall;
use std::fmt::Write as _;

/// The command that replays one seed. `program` is how the user invoked faultlab.
pub fn replay_command(program: &str, outcome: &RunOutcome) -> String {
    replay_command_for(
        program,
        &outcome.source,
        outcome.seed,
        &outcome.bugs,
        outcome.backend,
        outcome.randomized.flags,
    )
}

/// The command that replays `seed` of the scenario at `source` with `bugs` on `backend`.
pub fn replay_command_for(
    program: &str,
    source: &str,
    seed: u64,
    bugs: &BugSet,
    backend: BackendKind,
    randomize: RandomizeFlags,
) -> String {
    let mut cmd = format!("{program} replay --scenario {source} --seed {seed}");
    for bug in bugs {
        let _ = write!(cmd, " --bug {bug}");
    }
    if randomize.knobs {
        cmd.push_str(" --knobs");
    }
    if randomize.buggify {
        cmd.push_str(" --buggify");
    }
    if backend != BackendKind::default() {
        let _ = write!(cmd, " --backend {backend}");
    }
    cmd
}

/// The counters the one-line summary shows, with their short labels (pinned in snapshots).
const LINE_COUNTERS: &[(&str, Counter)] = &[
    ("events", Counter::Events),
    ("ops ok", Counter::OpsOk),
    ("fail", Counter::OpsFail),
    ("info", Counter::OpsInfo),
    ("msgs sent", Counter::MessagesSent),
    ("dropped", Counter::DroppedMessages),
    ("dup", Counter::DuplicatedMessages),
    ("faults", Counter::FaultsApplied),
    ("crashes", Counter::Crashes),
    ("restarts", Counter::Restarts),
    ("pauses", Counter::Pauses),
    ("clock-back", Counter::ClockJumpsBackward),
];

/// One line: scenario, seed, digest, counts, verdict (`pass`, `FAIL <invariant>` or
/// `UNKNOWN <invariant>`).
pub fn summary_line(o: &RunOutcome) -> String {
    let verdict = match (o.failures().next(), o.unknowns().next()) {
        (Some(v), _) => format!("FAIL {}", v.invariant),
        (None, Some(v)) => format!("UNKNOWN {}", v.invariant),
        (None, None) => "pass".to_string(),
    };
    let mut line = format!("{} seed={} digest={}", o.scenario, o.seed, o.digest);
    for (label, c) in LINE_COUNTERS {
        let _ = write!(line, " {label}={}", o.counters[*c]);
    }
    let _ = write!(line, " -> {verdict}");
    line
}

/// Groups of counters in the full summary, one line each.
const TEXT_GROUPS: &[(&str, &[Counter])] = &[
    (
        "operations",
        &[
            Counter::OpsInvoked,
            Counter::OpsOk,
            Counter::OpsFail,
            Counter::OpsInfo,
        ],
    ),
    (
        "messages",
        &[
            Counter::MessagesSent,
            Counter::MessagesDelivered,
            Counter::DuplicatedMessages,
            Counter::DelayedMessages,
            Counter::GarbageMessages,
        ],
    ),
    (
        "dropped",
        &[
            Counter::DroppedPartition,
            Counter::DroppedLoss,
            Counter::DroppedNodeDown,
            Counter::DroppedInboxFull,
        ],
    ),
    (
        "nodes",
        &[
            Counter::Crashes,
            Counter::Restarts,
            Counter::Pauses,
            Counter::UnsyncedBytesLost,
            Counter::Syncs,
            Counter::TimersFired,
        ],
    ),
    (
        "clocks",
        &[
            Counter::ClockJumpsBackward,
            Counter::ClockJumpsForward,
            Counter::DriftChanges,
        ],
    ),
    ("faults", &[Counter::FaultsApplied, Counter::FaultsSkipped]),
];

/// A human-readable account of the run.
pub fn summary_text(program: &str, o: &RunOutcome) -> String {
    let mut out = String::new();
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
    let _ = writeln!(out, "backend    {}", o.backend);
    let _ = writeln!(out, "bugs       {bugs}");
    let _ = writeln!(out, "digest     {}", o.digest);
    let _ = writeln!(out, "heal at    {}", o.heal_at);
    let r = &o.randomized;
    if r.flags.knobs {
        let knobs: Vec<String> = r.knobs.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "knobs      {}", knobs.join(", "));
    }
    if r.flags.buggify {
        let active = if r.buggify_active.is_empty() {
            "none active in this seed".to_string()
        } else {
            r.buggify_active.join(", ")
        };
        let _ = writeln!(out, "buggify    {active}");
    }
    let _ = writeln!(out, "\nfaults");
    for r in o.log.records() {
        let at = r.time_ns.to_string();
        match &r.event {
            Event::Fault { action } => {
                let _ = writeln!(out, "  {at:>10}  {action}");
            }
            Event::FaultSkipped { fault, reason } => {
                let _ = writeln!(out, "  {at:>10}  (skipped {fault}: {reason})");
            }
            Event::HealAll => {
                let _ = writeln!(out, "  {at:>10}  heal everything (liveness phase)");
            }
            _ => {}
        }
    }
    let _ = writeln!(out, "\ncounts");
    for (group, counters) in TEXT_GROUPS {
        let parts: Vec<String> = counters
            .iter()
            .map(|&c| format!("{c} {}", o.counters[c]))
            .collect();
        let _ = writeln!(out, "  {group:<11} {}", parts.join(", "));
    }
    for (label, n) in &o.counters.notes {
        let _ = writeln!(out, "  note        {label}: {n}");
    }
    let _ = writeln!(
        out,
        "  (a `fail` operation definitely did not take effect: a refusal, not a violation)"
    );
    let _ = writeln!(out, "\ninvariants");
    for v in &o.verdicts {
        let msg = match v.outcome.message() {
            "" => String::new(),
            m => format!(": {m}"),
        };
        let tag = serde_json::to_value(v.tag)
            .ok()
            .and_then(|t| t.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<7} {:<28} [{tag}]{msg}",
            v.outcome.status(),
            v.invariant
        );
    }
    let verdict = match o.overall() {
        Overall::Pass => "pass",
        Overall::Fail => "FAIL",
        Overall::Unknown => "UNKNOWN (not a pass: an invariant could not be decided)",
    };
    let _ = writeln!(out, "\nverdict    {verdict}");
    let _ = writeln!(out, "replay     {}", replay_command(program, o));
    out
}
