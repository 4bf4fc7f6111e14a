//! Renders the run report page (see the module above): parameters, verdicts, an overview
//! timeline of the whole run, a detail timeline around the blamed operations, the evidence.

use super::ReportInput;
use super::records::{blamed_records, describe, record_lanes, role_spans};
use super::svg::{Extras, Marked, View, Window, detail, numbered, overview};
use super::timeline::{DrawnOp, fault_marks, operations};
use crate::check::html::escape as esc;
use crate::event::Event;
use crate::invariants::{Evidence, Outcome, Overall};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Faults listed in the table at most (they are all drawn).
const FAULTS_LISTED_MAX: usize = 400;
/// Prefix steps listed at most.
const PREFIX_LISTED_MAX: usize = 40;

/// The page for one run.
pub fn render(input: &ReportInput<'_>) -> String {
    let o = input.outcome;
    let sc = input.scenario;
    let events = o.log.records();
    let end_ns = events
        .last()
        .map_or(0, |r| r.time_ns.ns)
        .max(sc.total_ms() * 1_000_000)
        .max(1);
    let ops = operations(&o.history, events, sc.clients, end_ns);
    let marks = fault_marks(events, sc.nodes, end_ns);
    let blamed = blamed_ops(&ops, &o.evidence);
    let blamed_recs = blamed_records(&o.evidence);
    let roles = role_spans(events, end_ns);
    let lanes = record_lanes(events, &blamed_recs);
    let extras = Extras {
        roles: &roles,
        lanes: &lanes,
        blamed_records: &blamed_recs,
    };
    let prefix: BTreeSet<u32> = o
        .evidence
        .iter()
        .flat_map(|(_, e)| e.prefix_lines.iter().copied())
        .collect();
    let mut page = String::with_capacity(256 * 1024);
    head(&mut page, input);
    parameters(&mut page, input);
    verdicts(&mut page, input);
    page.push_str("<h2>Timeline</h2>");
    legend(&mut page, !roles.is_empty());
    let whole = Window {
        from_ns: 0,
        to_ns: end_ns,
    };
    let view = View {
        window: whole,
        nodes: sc.nodes,
        clients: sc.clients,
        heal_ns: o.heal_at.ns,
        roles: !roles.is_empty(),
        record_lanes: u32::try_from(lanes.len()).unwrap_or(u32::MAX),
    };
    overview(&mut page, &view, &ops, &marks, &blamed, &extras);
    // The detail view spans everything blamed: operations and records.
    let times = blamed
        .iter()
        .flat_map(|(i, _)| [ops[*i].from_ns, ops[*i].to_ns])
        .chain(
            blamed_recs
                .iter()
                .filter_map(|(r, _)| events.get(*r).map(|e| e.time_ns.ns)),
        );
    let span = times.fold(None, |acc: Option<(u64, u64)>, t| {
        Some(acc.map_or((t, t), |(a, b)| (a.min(t), b.max(t))))
    });
    if let Some(span) = span {
        let keys: BTreeSet<&str> = o
            .evidence
            .iter()
            .filter(|(_, e)| !e.blamed_lines.is_empty())
            .filter_map(|(_, e)| e.key.as_deref())
            .collect();
        let marked = Marked {
            blamed: &blamed,
            prefix: &prefix,
            keys: &keys,
        };
        detail(&mut page, &view, &ops, &marks, &marked, &extras, span);
    }
    evidence(&mut page, &ops, &o.evidence, &blamed);
    records_evidence(&mut page, events, &blamed_recs);
    faults_table(&mut page, events);
    page.push_str("</body></html>\n");
    page
}

/// The operations blamed by failed verdicts: (index into `ops`, invariant).
fn blamed_ops(
    ops: &[DrawnOp],
    evidence: &[(&'static str, Evidence)],
) -> Vec<(usize, &'static str)> {
    let by_line: BTreeMap<u32, usize> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| (op.invoke_line, i))
        .collect();
    let mut blamed = Vec::new();
    for (invariant, e) in evidence {
        for line in &e.blamed_lines {
            if let Some(&i) = by_line.get(line) {
                blamed.push((i, *invariant));
            }
        }
    }
    blamed
}

fn head(page: &mut String, input: &ReportInput<'_>) {
    let o = input.outcome;
    let _ = write!(
        page,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
<title>faultlab report: {} seed {}</title><style>{CSS}</style></head><body>",
        esc(&o.scenario),
        o.seed
    );
    let (class, word) = match o.overall() {
        Overall::Pass => ("pass", "PASS"),
        Overall::Fail => ("fail", "FAIL"),
        Overall::Unknown => ("unknown", "UNKNOWN — not a pass: a check could not decide"),
    };
    let _ = write!(
        page,
        "<h1><span class=\"badge {class}\">{word}</span> {} · seed {}</h1>",
        esc(&o.scenario),
        o.seed
    );
}

const CSS: &str = "body{font:13px system-ui,sans-serif;margin:16px;color:#222;background:#fff}\
h1{font-size:20px}h2{font-size:16px;margin-top:22px}\
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}\
pre,code{background:#f4f4f4;padding:2px 4px;font:12px ui-monospace,monospace}pre{padding:8px;white-space:pre-wrap}\
.badge{padding:2px 8px;border-radius:4px;color:#fff}\
.badge.pass{background:#2a8a2a}.badge.fail{background:#c0182b}.badge.unknown{background:#8a6d00}\
tr.pass .st{color:#2a8a2a}tr.fail .st{color:#c0182b;font-weight:bold}tr.unknown .st{color:#8a6d00;font-weight:bold}\
tr.fail{background:#fff0f0}tr.unknown{background:#fffbe6}\
svg{display:block;border:1px solid #ddd;background:#fff;margin:6px 0}\
svg text{font:10px ui-monospace,monospace;fill:#333}\
.ok{fill:#3fa34d}.fail{fill:#f0a030}.info{fill:#8c8ca8}.pending{fill:#b8b8c8}\
.crash{fill:#222}.pause{fill:#8e44ad}.partition{fill:#e67e22}.net-loss{fill:#2e86c1}\
.net-duplicate{fill:#17a589}.net-delay{fill:#5dade2}.net-corrupt{fill:#d4ac0d}.clock-jump,.clock-offset,.clock-drift{fill:#c0392b}\
.disk{fill:#6d4c41}.fault{fill:#7f8c8d}.lane{fill:#fafafa}.heal{stroke:#2a8a2a;stroke-dasharray:4 3}\
.other-key{opacity:.3}.blamed-line{stroke:#d00;stroke-width:1;opacity:.6}.blamed-op{stroke:#d00;stroke-width:2.5;fill-opacity:.95}.prefix-op{stroke:#155724;stroke-width:1}\
text.blamed-label{fill:#d00;font-weight:bold;paint-order:stroke;stroke:#fff;stroke-width:3px}.tick{stroke:#ddd}\
.legend span{display:inline-block;margin-right:10px}.sw{display:inline-block;width:12px;height:10px;margin-right:3px;vertical-align:middle}\
i.ok{background:#3fa34d}i.fail{background:#f0a030}i.info{background:#8c8ca8}i.pending{background:#b8b8c8}\
i.crash{background:#222}i.pause{background:#8e44ad}i.partition{background:#e67e22}i.net-loss{background:#2e86c1}\
i.net-duplicate{background:#17a589}i.net-delay{background:#5dade2}i.net-corrupt{background:#d4ac0d}i.clock-jump{background:#c0392b}i.disk{background:#6d4c41}\
i.blamed-sw{border:2px solid #d00;box-sizing:border-box}\
li.blamed,li.blamed-record{color:#b00}\
.role-leader{fill:#1f3a93}.role-candidate{fill:#f5b041}.role-follower{fill:#aab7c4}\
i.role-leader{background:#1f3a93}i.role-candidate{background:#f5b041}i.role-follower{background:#aab7c4}\
svg text.role-text{font-size:7px;fill:#fff}\
.rec{stroke:none}.rec.refused{fill:#fff;stroke:#777;stroke-width:1}\
.who0{fill:#1f77b4}.who1{fill:#9467bd}.who2{fill:#2ca02c}.who3{fill:#8c564b}\
.who4{fill:#e377c2}.who5{fill:#17becf}.who6{fill:#bcbd22}.who7{fill:#7f7f7f}\
.blamed-rec{fill:none;stroke:#d00;stroke-width:2}";

fn parameters(page: &mut String, input: &ReportInput<'_>) {
    let o = input.outcome;
    let sc = input.scenario;
    let bugs: Vec<String> = o.bugs.iter().map(ToString::to_string).collect();
    let mut rows: Vec<(&str, String)> = vec![
        ("scenario", format!("{} ({})", sc.name, sc.source)),
        ("description", sc.description.trim().to_string()),
        ("service", sc.service_name().to_string()),
        ("seed", o.seed.to_string()),
        ("backend", o.backend.to_string()),
        (
            "bugs",
            if bugs.is_empty() {
                "none".into()
            } else {
                bugs.join(", ")
            },
        ),
        ("nodes · clients", format!("{} · {}", sc.nodes, sc.clients)),
        (
            "safety · liveness",
            format!(
                "{} ms · {} ms (heal at {})",
                sc.duration_ms, sc.liveness_ms, o.heal_at
            ),
        ),
        ("digest", o.digest.to_string()),
        (
            "records",
            format!(
                "{} events, {} history lines{}",
                o.log.len(),
                o.history.len(),
                if o.log.overflowed() {
                    " (event log hit its bound)"
                } else {
                    ""
                }
            ),
        ),
    ];
    let r = &o.randomized;
    if r.flags.knobs {
        let knobs: Vec<String> = r.knobs.iter().map(ToString::to_string).collect();
        rows.push(("knobs (drawn)", knobs.join(", ")));
    }
    if r.flags.buggify {
        let active = match r.buggify_active.is_empty() {
            true => "none active in this seed".to_string(),
            false => r.buggify_active.join(", "),
        };
        rows.push(("buggify", active));
    }
    page.push_str("<h2>Run</h2><table>");
    for (k, v) in rows {
        let _ = write!(page, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    let _ = write!(
        page,
        "</table><p>Replay:</p><pre id=replay>{}</pre>",
        esc(&input.replay)
    );
}

fn verdicts(page: &mut String, input: &ReportInput<'_>) {
    page.push_str("<h2>Verdicts</h2><table><tr><th>status</th><th>invariant</th><th>tag</th><th>message</th></tr>");
    for v in &input.outcome.verdicts {
        let (class, word) = match &v.outcome {
            Outcome::Pass => ("pass", "✔ pass"),
            Outcome::Fail(_) => ("fail", "✖ FAIL"),
            Outcome::Unknown(_) => ("unknown", "? UNKNOWN"),
        };
        let tag = serde_json::to_value(v.tag)
            .ok()
            .and_then(|t| t.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            page,
            "<tr class={class}><td class=st>{word}</td><td>{}</td><td>{tag}</td><td>{}</td></tr>",
            v.invariant,
            esc(v.outcome.message())
        );
    }
    page.push_str("</table>");
}

fn legend(page: &mut String, roles: bool) {
    let sw = |class: &str, text: &str| format!("<span><i class=\"sw {class}\"></i>{text}</span>");
    let _ = write!(
        page,
        "<p class=legend>Operations: {}{}{}{} · Faults (per node lane: process / partition / \
         network / disk bands): {}{}{}{}{}{}{}{}{} · <span><i class=\"sw blamed-sw\"></i>blamed by a failed \
         verdict (✖n an operation, ✖Rn a record)</span><span>green dashed line: heal everything, the liveness phase begins\
         </span> · hover anything for details</p>",
        sw("ok", "ok"),
        sw("fail", "fail (not applied)"),
        sw("info", "info (unknown outcome)"),
        sw("pending", "never completed"),
        sw("crash", "crashed"),
        sw("pause", "paused"),
        sw("partition", "partitioned"),
        sw("net-loss", "loss"),
        sw("net-duplicate", "duplication"),
        sw("net-delay", "delay"),
        sw("net-corrupt", "corruption"),
        sw("clock-jump", "clock step / offset / drift"),
        sw("disk", "disk fault"),
    );
    if roles {
        let _ = write!(
            page,
            "<p class=legend>Raft roles (the strip under each node lane, with the term): {}{}{} — \
             as the node's own records show them: a leader's strip runs until it votes again, \
             crashes or restarts (stepping down on hearing a newer leader leaves no record), so \
             two leader strips at once show a deposed leader that may still serve.</p>",
            sw("role-leader", "leader (L)"),
            sw("role-candidate", "candidate (C)"),
            sw("role-follower", "follower, voted (F)"),
        );
    }
}

fn evidence(
    page: &mut String,
    ops: &[DrawnOp],
    evidence: &[(&'static str, Evidence)],
    blamed: &[(usize, &'static str)],
) {
    if evidence.is_empty() {
        return;
    }
    page.push_str("<h2>Counterexample</h2>");
    for (invariant, e) in evidence {
        let _ = write!(page, "<h3>{invariant}</h3>");
        if !e.explanation.is_empty() {
            let _ = write!(page, "<p>{}</p>", esc(&e.explanation));
        }
        if !e.prefix_lines.is_empty() {
            let by_line: BTreeMap<u32, &DrawnOp> =
                ops.iter().map(|op| (op.invoke_line, op)).collect();
            let _ = write!(
                page,
                "<details><summary>Longest linearizable prefix: {} operations</summary><ol>",
                e.prefix_lines.len()
            );
            for line in e.prefix_lines.iter().take(PREFIX_LISTED_MAX) {
                let text = by_line
                    .get(line)
                    .map_or(format!("history line {line}"), |op| op.describe());
                let _ = write!(page, "<li>{}</li>", esc(&text));
            }
            if e.prefix_lines.len() > PREFIX_LISTED_MAX {
                let _ = write!(
                    page,
                    "<li>… {} more</li>",
                    e.prefix_lines.len() - PREFIX_LISTED_MAX
                );
            }
            page.push_str("</ol></details>");
        }
        if e.blamed_lines.is_empty() {
            continue;
        }
        page.push_str("<p>Blamed operations (red on the timeline):</p><ul>");
        let number: BTreeMap<usize, usize> =
            numbered(blamed).into_iter().map(|(n, i)| (i, n)).collect();
        for (i, inv) in blamed {
            if inv != invariant {
                continue;
            }
            let n = number.get(i).copied().unwrap_or(0);
            let _ = write!(
                page,
                "<li class=blamed id=\"blamed-{invariant}-{n}\">✖{n} <span class=op-text>{}</span></li>",
                esc(&ops[*i].describe())
            );
        }
        page.push_str("</ul>");
    }
}

/// The records failed verdicts blame, numbered as the timeline marks them (✖R1, ...).
fn records_evidence(
    page: &mut String,
    events: &[crate::event::EventRecord],
    blamed: &[(usize, &'static str)],
) {
    if blamed.is_empty() {
        return;
    }
    page.push_str("<h3>Blamed records (red on their lane)</h3><ul>");
    for (n, (record, invariant)) in blamed.iter().enumerate() {
        let _ = write!(
            page,
            "<li class=blamed-record id=\"record-{}\">✖R{} <b>{invariant}</b> <span class=rec-text>{}</span></li>",
            n + 1,
            n + 1,
            esc(&describe(events, *record))
        );
    }
    page.push_str("</ul>");
}

fn faults_table(page: &mut String, events: &[crate::event::EventRecord]) {
    page.push_str("<h2>Faults</h2><table><tr><th>at</th><th>fault</th></tr>");
    let mut listed = 0;
    let mut total = 0;
    for r in events {
        let text = match &r.event {
            Event::Fault { action } => action.to_string(),
            Event::FaultSkipped { fault, reason } => format!("(skipped {fault}: {reason})"),
            Event::HealAll => "heal everything (liveness phase)".to_string(),
            _ => continue,
        };
        total += 1;
        if listed < FAULTS_LISTED_MAX {
            listed += 1;
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td></tr>",
                r.time_ns,
                esc(&text)
            );
        }
    }
    if total > listed {
        let _ = write!(
            page,
            "<tr><td></td><td>… {} more (all drawn above; see summary.txt)</td></tr>",
            total - listed
        );
    }
    page.push_str("</table>");
}
