//! The report's SVG timelines: the lanes, time axis and fault bands of a view, the whole-run
//! overview (operations aggregated per pixel column when too narrow to draw) and the detail
//! view around the blamed operations.

use super::DETAIL_OPS_MAX;
use super::records::{RecordLane, RoleSpan};
use super::timeline::{Band, DrawnOp, End, FaultMark};
use crate::check::html::escape as esc;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Left margin (lane labels) and plot width, in pixels.
const LABEL_PX: f64 = 64.0;
const PLOT_PX: f64 = 1100.0;
const NODE_LANE_PX: f64 = 18.0;
/// A node lane with a role strip under its fault bands.
const NODE_ROLE_LANE_PX: f64 = 26.0;
const CLIENT_LANE_PX: f64 = 14.0;
const RECORD_LANE_PX: f64 = 18.0;
const AXIS_PX: f64 = 22.0;

/// Each blamed operation once, with its number (✖n: its first place in `blamed`).
pub(super) fn numbered(blamed: &[(usize, &'static str)]) -> Vec<(usize, usize)> {
    let mut seen = BTreeSet::new();
    blamed
        .iter()
        .enumerate()
        .filter(|(_, (i, _))| seen.insert(*i))
        .map(|(n, (i, _))| (n + 1, *i))
        .collect()
}

#[derive(Clone, Copy)]
pub(super) struct Window {
    pub(super) from_ns: u64,
    pub(super) to_ns: u64,
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

pub(super) struct View {
    pub(super) window: Window,
    pub(super) nodes: u32,
    pub(super) clients: u32,
    pub(super) heal_ns: u64,
    /// Node lanes carry a role strip (the run has Raft roles).
    pub(super) roles: bool,
    /// Record lanes under the client lanes.
    pub(super) record_lanes: u32,
}

impl View {
    fn with(&self, window: Window) -> View {
        View { window, ..*self }
    }

    fn node_lane_px(&self) -> f64 {
        if self.roles {
            NODE_ROLE_LANE_PX
        } else {
            NODE_LANE_PX
        }
    }

    fn node_y(&self, node: u32) -> f64 {
        AXIS_PX + f64::from(node) * self.node_lane_px()
    }

    fn client_y(&self, client: u32) -> f64 {
        self.node_y(self.nodes) + 8.0 + f64::from(client) * CLIENT_LANE_PX
    }

    fn record_y(&self, lane: u32) -> f64 {
        self.client_y(self.clients) + 8.0 + f64::from(lane) * RECORD_LANE_PX
    }

    fn height(&self) -> f64 {
        self.record_y(self.record_lanes) + 4.0
    }
}

/// What the event log adds to a view: roles, record lanes, blamed records (index into the
/// event log, numbered R1, R2, ... in this order).
pub(super) struct Extras<'a> {
    pub(super) roles: &'a [RoleSpan],
    pub(super) lanes: &'a [RecordLane],
    pub(super) blamed_records: &'a [(usize, &'static str)],
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
        let y = view.node_y(n);
        let _ = write!(
            svg,
            "<rect class=lane x=\"{LABEL_PX}\" y=\"{y}\" width=\"{PLOT_PX}\" height=\"{}\"/><text x=\"4\" y=\"{:.0}\">n{n}</text>",
            view.node_lane_px() - 2.0,
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
        let lane_y = view.node_y(m.node.0);
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
            | "net-corrupt" | "clock-jump" | "clock-offset" | "clock-drift" => m.kind,
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
pub(super) fn overview(
    page: &mut String,
    view: &View,
    ops: &[DrawnOp],
    marks: &[FaultMark],
    blamed: &[(usize, &'static str)],
    extras: &Extras<'_>,
) {
    let w = view.window;
    let _ = write!(page, "<h3>Whole run</h3><div id=overview>");
    let mut svg = String::new();
    frame(&mut svg, view, marks);
    draw_extras(&mut svg, view, extras, false);
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
pub(super) struct Marked<'a> {
    pub(super) blamed: &'a [(usize, &'static str)],
    pub(super) prefix: &'a BTreeSet<u32>,
    pub(super) keys: &'a BTreeSet<&'a str>,
}

pub(super) fn detail(
    page: &mut String,
    view: &View,
    ops: &[DrawnOp],
    marks: &[FaultMark],
    marked: &Marked<'_>,
    extras: &Extras<'_>,
    (from, to): (u64, u64),
) {
    let blamed = marked.blamed;
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
        "<h3>Around what the failed verdicts blame: {} – {}{}</h3><div id=detail>",
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
    draw_extras(&mut svg, &dview, extras, true);
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

/// Role strips on the node lanes, the record lanes, and the blamed records (outlined, with a
/// line across the view and their number R1, R2, ...; labelled with their text in detail).
fn draw_extras(svg: &mut String, view: &View, extras: &Extras<'_>, detail: bool) {
    let w = view.window;
    if view.roles {
        for s in extras
            .roles
            .iter()
            .filter(|s| w.overlaps(s.from_ns, s.to_ns))
        {
            let (class, letter) = s.role.class_and_letter();
            let x0 = w.x(s.from_ns);
            let wd = (w.x(s.to_ns) - x0).max(1.0);
            let y = view.node_y(s.node.0) + 17.0;
            let _ = write!(
                svg,
                "<rect class={class} x=\"{x0:.1}\" y=\"{y:.0}\" width=\"{wd:.1}\" height=\"7\"><title>{} {} of term {}, {} – {}</title></rect>",
                s.node,
                class.trim_start_matches("role-"),
                s.term,
                crate::time::SimTime { ns: s.from_ns },
                crate::time::SimTime { ns: s.to_ns },
            );
            if wd >= 22.0 {
                let _ = write!(
                    svg,
                    "<text class=role-text x=\"{:.1}\" y=\"{:.0}\">{letter}{}</text>",
                    x0 + 1.5,
                    y + 6.0,
                    s.term
                );
            }
        }
    }
    let blamed: BTreeMap<usize, usize> = extras
        .blamed_records
        .iter()
        .enumerate()
        .map(|(n, (record, _))| (*record, n + 1))
        .collect();
    for (k, lane) in extras.lanes.iter().enumerate() {
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        let y = view.record_y(k);
        let _ = write!(
            svg,
            "<rect class=lane x=\"{LABEL_PX}\" y=\"{y}\" width=\"{PLOT_PX}\" height=\"{}\"/><text x=\"4\" y=\"{:.0}\">{}</text>",
            RECORD_LANE_PX - 2.0,
            y + 12.0,
            esc(&lane.label)
        );
        // Colours by first appearance in the whole lane, so a holder keeps its colour in
        // every view.
        let mut whos: BTreeMap<&str, usize> = BTreeMap::new();
        for who in lane.marks.iter().filter_map(|m| m.who.as_deref()) {
            let next = whos.len();
            whos.entry(who).or_insert(next);
        }
        // The overview draws one mark per pixel column and look (a lane of every reply of a
        // long run would otherwise weigh megabytes); blamed marks always.
        let mut drawn: BTreeSet<(i64, usize, bool)> = BTreeSet::new();
        for m in lane.marks.iter().filter(|m| w.overlaps(m.at.ns, m.at.ns)) {
            let colour = m
                .who
                .as_deref()
                .and_then(|who| whos.get(who))
                .map_or(0, |c| c % 8);
            let x = w.x(m.at.ns);
            let column = x.round() as i64;
            let is_blamed = blamed.contains_key(&m.record);
            if !detail && !is_blamed && !drawn.insert((column, colour, m.accepted)) {
                continue;
            }
            let hollow = if m.accepted { "" } else { " refused" };
            let _ = write!(
                svg,
                "<rect class=\"rec who{colour}{hollow}\" x=\"{:.1}\" y=\"{:.0}\" width=\"3\" height=\"{}\"><title>{} {} {} {}</title></rect>",
                x - 1.5,
                y + 1.0,
                RECORD_LANE_PX - 4.0,
                m.at,
                m.node,
                esc(&lane.label),
                esc(&m.text)
            );
            let Some(n) = blamed.get(&m.record) else {
                continue;
            };
            let _ = write!(
                svg,
                "<line class=blamed-line x1=\"{x:.1}\" y1=\"{AXIS_PX}\" x2=\"{x:.1}\" y2=\"{:.0}\"/><rect class=blamed-rec x=\"{:.1}\" y=\"{:.0}\" width=\"7\" height=\"{}\"/>",
                view.height(),
                x - 3.5,
                y - 1.0,
                RECORD_LANE_PX
            );
            // Short, so neighbours do not collide: the evidence list has the whole record.
            let label = match (detail, m.who.as_deref()) {
                (true, Some(who)) => format!("✖R{n} {who}"),
                _ => format!("✖R{n}"),
            };
            let anchor = if x > LABEL_PX + PLOT_PX * 0.6 {
                "end"
            } else {
                "start"
            };
            let dy = if n % 2 == 0 { -2.0 } else { 9.0 };
            let _ = write!(
                svg,
                "<text class=blamed-label text-anchor={anchor} x=\"{:.1}\" y=\"{:.0}\">{}</text>",
                x + if anchor == "end" { -5.0 } else { 5.0 },
                y + dy,
                esc(&label)
            );
        }
    }
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
