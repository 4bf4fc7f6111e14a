//! Renders the run report page (see the module above): parameters, verdicts, an overview
//! timeline of the whole run, a detail timeline around the blamed operations, the evidence.

use super::timeline::{Band, DrawnOp, End, FaultMark, fault_marks, operations};
use super::{DETAIL_OPS_MAX, ReportInput};
use crate::check::html::escape as esc;
use crate::event::Event;
use crate::invariants::{Evidence, Outcome, Overall};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Left margin (lane labels) and plot width, in pixels.
const LABEL_PX: f64 = 64.0;
const PLOT_PX: f64 = 1100.0;
const NODE_LANE_PX: f64 = 18.0;
const CLIENT_LANE_PX: f64 = 14.0;
const AXIS_PX: f64 = 22.0;
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
    legend(&mut page);
    let whole = Window {
        from_ns: 0,
        to_ns: end_ns,
    };
    let view = View {
        window: whole,
        nodes: sc.nodes,
        clients: sc.clients,
        heal_ns: o.heal_at.ns,
    };
    overview(&mut page, &view, &ops, &marks, &blamed);
    if !blamed.is_empty() {
        let keys: BTreeSet<&str> = o
            .evidence
            .iter()
            .filter_map(|(_, e)| e.key.as_deref())
            .collect();
        let marked = Marked {
            blamed: &blamed,
            prefix: &prefix,
            keys: &keys,
        };
        detail(&mut page, &view, &ops, &marks, &marked);
    }
    evidence(&mut page, &ops, &o.evidence, &blamed);
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

/// Each blamed operation once, with its number (✖n: its first place in `blamed`).
fn numbered(blamed: &[(usize, &'static str)]) -> Vec<(usize, usize)> {
    let mut seen = BTreeSet::new();
    blamed
        .iter()
        .enumerate()
        .filter(|(_, (i, _))| seen.insert(*i))
        .map(|(n, (i, _))| (n + 1, *i))
        .collect()
}

#[derive(Clone, Copy)]
struct Window {
    from_ns: u64,
    to_ns: u64,
}

impl Window {
    fn x(&self, ns: u64) -> f64 {
        let span = self.to_ns.saturating_sub(self.from_ns).max(1) as f64;
        let t = ns.clamp(self.from_ns, self.to_ns) - self.from_ns;
        LABEL_PX + t as f64 / span * PLOT_PX
    }

    fn overlaps(&self, from: u64, to: u64) -> bool {
        to >= self.from_ns && from <= self.to_ns
    }
}

struct View {
    window: Window,
    nodes: u32,
    clients: u32,
    heal_ns: u64,
}

impl View {
    fn with(&self, window: Window) -> View {
        View { window, ..*self }
    }

    fn client_y(&self, client: u32) -> f64 {
        AXIS_PX + f64::from(self.nodes) * NODE_LANE_PX + 8.0 + f64::from(client) * CLIENT_LANE_PX
    }

    fn height(&self) -> f64 {
        self.client_y(self.clients) + 4.0
    }
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
.net-duplicate{fill:#17a589}.net-delay{fill:#5dade2}.clock-jump,.clock-offset,.clock-drift{fill:#c0392b}\
.disk{fill:#6d4c41}.fault{fill:#7f8c8d}.lane{fill:#fafafa}.heal{stroke:#2a8a2a;stroke-dasharray:4 3}\
.other-key{opacity:.3}.blamed-line{stroke:#d00;stroke-width:1;opacity:.6}.blamed-op{stroke:#d00;stroke-width:2.5;fill-opacity:.95}.prefix-op{stroke:#155724;stroke-width:1}\
text.blamed-label{fill:#d00;font-weight:bold;paint-order:stroke;stroke:#fff;stroke-width:3px}.tick{stroke:#ddd}\
.legend span{display:inline-block;margin-right:10px}.sw{display:inline-block;width:12px;height:10px;margin-right:3px;vertical-align:middle}\
i.ok{background:#3fa34d}i.fail{background:#f0a030}i.info{background:#8c8ca8}i.pending{background:#b8b8c8}\
i.crash{background:#222}i.pause{background:#8e44ad}i.partition{background:#e67e22}i.net-loss{background:#2e86c1}\
i.net-duplicate{background:#17a589}i.net-delay{background:#5dade2}i.clock-jump{background:#c0392b}i.disk{background:#6d4c41}\
i.blamed-sw{border:2px solid #d00;box-sizing:border-box}\
li.blamed{color:#b00}";

fn parameters(page: &mut String, input: &ReportInput<'_>) {
    let o = input.outcome;
    let sc = input.scenario;
    let bugs: Vec<String> = o.bugs.iter().map(ToString::to_string).collect();
    let mut rows: Vec<(&str, String)> = vec![
        ("scenario", format!("{} ({})", sc.name, sc.source)),
        ("description", sc.description.trim().to_string()),
        ("service", sc.service_kind().to_string()),
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

fn legend(page: &mut String) {
    let sw = |class: &str, text: &str| format!("<span><i class=\"sw {class}\"></i>{text}</span>");
    let _ = write!(
        page,
        "<p class=legend>Operations: {}{}{}{} · Faults (per node lane: process / partition / \
         network / disk bands): {}{}{}{}{}{}{}{} · <span><i class=\"sw blamed-sw\"></i>blamed by a failed \
         verdict (✖n)</span><span>green dashed line: heal everything, the liveness phase begins\
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
        sw("clock-jump", "clock step / offset / drift"),
        sw("disk", "disk fault"),
    );
}

/// The lanes, axis and fault bands of a view.
fn frame(svg: &mut String, view: &View, marks: &[FaultMark]) {
    let w = view.window;
    let width = LABEL_PX + PLOT_PX + 8.0;
    let _ = write!(
        svg,
        "<svg width=\"{width}\" height=\"{:.0}\">",
        view.height()
    );
    // Axis: about ten ticks at a round interval.
    let span_ms = (w.to_ns - w.from_ns) as f64 / 1e6;
    let step_ms = nice_step(span_ms / 10.0);
    let first = (w.from_ns as f64 / 1e6 / step_ms).ceil() as u64;
    let mut k = first;
    loop {
        let t_ms = k as f64 * step_ms;
        let ns = (t_ms * 1e6) as u64;
        if ns > w.to_ns {
            break;
        }
        let x = w.x(ns);
        let _ = write!(
            svg,
            "<line class=tick x1=\"{x:.1}\" y1=\"{AXIS_PX}\" x2=\"{x:.1}\" y2=\"{:.0}\"/><text x=\"{x:.1}\" y=\"14\" text-anchor=middle>{}</text>",
            view.height(),
            fmt_ms(t_ms)
        );
        k += 1;
    }
    for n in 0..view.nodes {
        let y = AXIS_PX + f64::from(n) * NODE_LANE_PX;
        let _ = write!(
            svg,
            "<rect class=lane x=\"{LABEL_PX}\" y=\"{y}\" width=\"{PLOT_PX}\" height=\"{}\"/><text x=\"4\" y=\"{:.0}\">n{n}</text>",
            NODE_LANE_PX - 2.0,
            y + 12.0
        );
    }
    for c in 0..view.clients {
        let y = view.client_y(c);
        let _ = write!(
            svg,
            "<rect class=lane x=\"{LABEL_PX}\" y=\"{y}\" width=\"{PLOT_PX}\" height=\"{}\"/><text x=\"4\" y=\"{:.0}\">c{c}</text>",
            CLIENT_LANE_PX - 2.0,
            y + 10.0
        );
    }
    for m in marks.iter().filter(|m| w.overlaps(m.from_ns, m.to_ns)) {
        let lane_y = AXIS_PX + f64::from(m.node.0) * NODE_LANE_PX;
        let (dy, h) = match m.band {
            Band::Process => (0.0, 5.0),
            Band::Partition => (5.5, 5.0),
            Band::Network => (11.0, 5.0),
            Band::Instant => (0.0, NODE_LANE_PX - 2.0),
        };
        let x0 = w.x(m.from_ns);
        let wd = if m.band == Band::Instant {
            2.0
        } else {
            (w.x(m.to_ns) - x0).max(1.5)
        };
        let class = match m.kind {
            "crash" | "pause" | "partition" | "net-loss" | "net-duplicate" | "net-delay"
            | "clock-jump" | "clock-offset" | "clock-drift" => m.kind,
            kind if kind.starts_with("disk") => "disk",
            _ => "fault",
        };
        let _ = write!(
            svg,
            "<rect class=\"{class}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{wd:.1}\" height=\"{h}\"><title>{} n{} {}–{} ms</title></rect>",
            lane_y + dy,
            esc(&m.label),
            m.node.0,
            fmt_ms(m.from_ns as f64 / 1e6),
            fmt_ms(m.to_ns as f64 / 1e6),
        );
    }
    if w.overlaps(view.heal_ns, view.heal_ns) {
        let x = w.x(view.heal_ns);
        let _ = write!(
            svg,
            "<line class=heal x1=\"{x:.1}\" y1=\"{AXIS_PX}\" x2=\"{x:.1}\" y2=\"{:.0}\"><title>heal everything: the liveness phase begins</title></line>",
            view.height()
        );
    }
}

/// The whole run: operations individually when at least 2 px wide, else aggregated per pixel
/// column (info beats fail beats ok); blamed operations always individually, outlined.
fn overview(
    page: &mut String,
    view: &View,
    ops: &[DrawnOp],
    marks: &[FaultMark],
    blamed: &[(usize, &'static str)],
) {
    let w = view.window;
    let _ = write!(page, "<h3>Whole run</h3><div id=overview>");
    let mut svg = String::new();
    frame(&mut svg, view, marks);
    let blamed_set: BTreeSet<usize> = blamed.iter().map(|(i, _)| *i).collect();
    // Per client: pixel column → worst class seen there.
    let columns = PLOT_PX as usize;
    let mut bins: BTreeMap<u32, Vec<Option<End>>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        if blamed_set.contains(&i) {
            continue;
        }
        let (x0, x1) = (w.x(op.from_ns), w.x(op.to_ns));
        if x1 - x0 >= 2.0 {
            op_rect(&mut svg, view, op, x0, x1, "", false);
            continue;
        }
        let col = ((x0 - LABEL_PX) as usize).min(columns - 1);
        let slot = &mut bins.entry(op.client).or_insert_with(|| vec![None; columns])[col];
        *slot = Some(worst(*slot, op.end));
    }
    for (client, cols) in &bins {
        let y = view.client_y(*client);
        let mut col = 0;
        while col < columns {
            let Some(end) = cols[col] else {
                col += 1;
                continue;
            };
            let start = col;
            while col < columns && cols[col] == Some(end) {
                col += 1;
            }
            let _ = write!(
                svg,
                "<rect class={} x=\"{:.0}\" y=\"{:.0}\" width=\"{}\" height=\"{}\"/>",
                end.name(),
                LABEL_PX + start as f64,
                y + 1.0,
                col - start,
                CLIENT_LANE_PX - 4.0
            );
        }
    }
    for (n, i) in numbered(blamed) {
        let op = &ops[i];
        let (x0, x1) = (w.x(op.from_ns), w.x(op.to_ns));
        let _ = write!(
            svg,
            "<line class=blamed-line x1=\"{x0:.1}\" y1=\"{AXIS_PX}\" x2=\"{x0:.1}\" y2=\"{:.0}\"/>",
            view.height()
        );
        op_rect(&mut svg, view, op, x0, x1, "blamed-op", false);
        let y = view.client_y(op.client);
        let _ = write!(
            svg,
            "<text class=blamed-label x=\"{x0:.1}\" y=\"{:.0}\">✖{n}</text>",
            y + 1.0,
        );
    }
    svg.push_str("</svg>");
    page.push_str(&svg);
    page.push_str("</div>");
}

/// A window around the blamed operations, every operation in it drawn and labelled when wide
/// enough.
/// What the detail view marks: the blamed operations, the linearizable prefix, and the keys
/// the blamed operations are on (operations on other keys are faded).
struct Marked<'a> {
    blamed: &'a [(usize, &'static str)],
    prefix: &'a BTreeSet<u32>,
    keys: &'a BTreeSet<&'a str>,
}

fn detail(
    page: &mut String,
    view: &View,
    ops: &[DrawnOp],
    marks: &[FaultMark],
    marked: &Marked<'_>,
) {
    let blamed = marked.blamed;
    let from = blamed
        .iter()
        .map(|(i, _)| ops[*i].from_ns)
        .min()
        .unwrap_or(0);
    let to = blamed.iter().map(|(i, _)| ops[*i].to_ns).max().unwrap_or(0);
    let pad = ((to - from) / 4).max(30_000_000);
    let mut window = Window {
        from_ns: from.saturating_sub(pad),
        to_ns: to.saturating_add(pad).min(view.window.to_ns),
    };
    // Narrow the padding until the window holds few enough operations to draw one by one.
    let mut pad = pad;
    while ops
        .iter()
        .filter(|op| window.overlaps(op.from_ns, op.to_ns))
        .count()
        > DETAIL_OPS_MAX
        && pad > 1_000_000
    {
        pad /= 2;
        window = Window {
            from_ns: from.saturating_sub(pad),
            to_ns: to.saturating_add(pad).min(view.window.to_ns),
        };
    }
    let dview = view.with(window);
    let _ = write!(
        page,
        "<h3>Around the blamed operations: {} – {}{}</h3><div id=detail>",
        fmt_ms(window.from_ns as f64 / 1e6),
        fmt_ms(window.to_ns as f64 / 1e6),
        match marked.keys.len() {
            0 => String::new(),
            _ => {
                let keys: Vec<&str> = marked.keys.iter().copied().collect();
                esc(&format!(
                    " (key {}; operations on other keys faded, the linearizable prefix outlined in dark green)",
                    keys.join(", ")
                ))
            }
        }
    );
    let mut svg = String::new();
    frame(&mut svg, &dview, marks);
    let blamed_set: BTreeSet<usize> = blamed.iter().map(|(i, _)| *i).collect();
    let mut drawn = 0;
    for (i, op) in ops.iter().enumerate() {
        if blamed_set.contains(&i) || !window.overlaps(op.from_ns, op.to_ns) {
            continue;
        }
        if drawn >= DETAIL_OPS_MAX {
            break;
        }
        drawn += 1;
        let other_key = !marked.keys.is_empty()
            && !op
                .key
                .as_ref()
                .is_some_and(|k| marked.keys.contains(k.to_string().as_str()));
        let class = if marked.prefix.contains(&op.invoke_line) {
            "prefix-op"
        } else if other_key {
            "other-key"
        } else {
            ""
        };
        op_rect(
            &mut svg,
            &dview,
            op,
            window.x(op.from_ns),
            window.x(op.to_ns),
            class,
            true,
        );
    }
    for (n, i) in numbered(blamed) {
        let op = &ops[i];
        let (x0, x1) = (window.x(op.from_ns), window.x(op.to_ns));
        op_rect(&mut svg, &dview, op, x0, x1, "blamed-op", false);
        let y = dview.client_y(op.client);
        let anchor = if x0 > LABEL_PX + PLOT_PX * 0.6 {
            "end"
        } else {
            "start"
        };
        let tx = if anchor == "end" { x1 } else { x0 };
        let _ = write!(
            svg,
            "<text class=blamed-label text-anchor={anchor} x=\"{tx:.1}\" y=\"{:.0}\">✖{n} {}</text>",
            y + 1.0,
            esc(&op.describe())
        );
    }
    svg.push_str("</svg>");
    page.push_str(&svg);
    page.push_str("</div>");
}

fn op_rect(
    svg: &mut String,
    view: &View,
    op: &DrawnOp,
    x0: f64,
    x1: f64,
    extra: &str,
    label: bool,
) {
    let y = view.client_y(op.client);
    let wd = (x1 - x0).max(1.0);
    let _ = write!(
        svg,
        "<rect class=\"{} {extra}\" x=\"{x0:.1}\" y=\"{:.0}\" width=\"{wd:.1}\" height=\"{}\"><title>{}</title></rect>",
        op.end.name(),
        y + 1.0,
        CLIENT_LANE_PX - 4.0,
        esc(&op.describe())
    );
    // Roughly 6 px per character at 10 px monospace.
    if label && wd > 30.0 {
        let mut text = op.f.clone();
        if let Some(v) = op.output.as_ref().or(op.input.as_ref()) {
            text.push(' ');
            text.push_str(&v.to_string());
        }
        let fits = ((wd - 4.0) / 6.0) as usize;
        let shown: String = text.chars().take(fits).collect();
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.0}\" style=\"font-size:9px;fill:#fff\">{}</text>",
            x0 + 2.0,
            y + 9.0,
            esc(&shown)
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

fn worst(a: Option<End>, b: End) -> End {
    let rank = |e: End| match e {
        End::Ok => 0,
        End::Fail => 1,
        End::Pending => 2,
        End::Info => 3,
    };
    match a {
        Some(a) if rank(a) >= rank(b) => a,
        _ => b,
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw` (ms).
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(0.001);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{}s", (ms / 1000.0 * 1000.0).round() / 1000.0)
    } else {
        format!("{}ms", (ms * 1000.0).round() / 1000.0)
    }
}
