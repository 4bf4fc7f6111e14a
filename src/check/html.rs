//! A self-contained HTML page for a checked history: one timeline row per process, operations as
//! bars over real time (history order), the longest linearizable prefix numbered in green, the
//! operations that could not be placed in red, unknown outcomes open-ended and hatched. No script
//! and no external resources: hovering a bar shows its details through the `title` attribute.
//!
//! A large history is drawn as windows of operations around each blamed one (every blamed
//! operation is drawn, however far apart they are); the time axis keeps only the moments where a
//! drawn operation starts or ends, so the stretches left out take no room.

use super::report::{CheckReport, Counterexample};
use crate::history::{Operation, Paired, Process};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Operations drawn at most; a larger history shows the ones around each blamed operation.
const OPS_DRAWN_MAX: usize = 2000;

/// The page for a checked history (`source_name` is shown in the title).
pub fn render(paired: &Paired, report: &CheckReport, source_name: &str) -> String {
    let cx = report.verdict.counterexample();
    let (ops, gaps) = drawn_ops(paired, cx);
    let axis = Axis::new(&ops);
    let width = axis.len().max(1) as f64;
    let prefix_rank: BTreeMap<(u32, String), usize> = cx
        .map(|cx| {
            cx.prefix
                .iter()
                .enumerate()
                .map(|(i, step)| ((step.op.invoke_line, step.op.process.to_string()), i + 1))
                .collect()
        })
        .unwrap_or_default();
    let unplaced: BTreeSet<u32> = cx
        .map(|cx| cx.unplaced.iter().map(|op| op.invoke_line).collect())
        .unwrap_or_default();
    let mut rows: BTreeMap<&Process, Vec<&Operation>> = BTreeMap::new();
    for op in &ops {
        rows.entry(&op.process).or_default().push(op);
    }
    let mut body = String::new();
    let mut gap_marks = String::new();
    for gap in &gaps {
        let left = axis.at(gap.before) as f64 / width * 100.0;
        let _ = write!(
            gap_marks,
            "<div class=gap style=\"left:{left:.3}%\" title=\"{} operations not drawn\"></div>",
            gap.skipped
        );
    }
    for (process, row) in rows {
        let _ = write!(
            body,
            "<div class=row><div class=label>{}</div><div class=lane>{gap_marks}",
            escape(&process.to_string())
        );
        for op in row {
            let from = axis.at(op.invoke_index);
            let to = op
                .complete_index
                .filter(|_| op.outcome.is_known())
                .map_or(axis.len(), |end| axis.at(end));
            let start = from as f64 / width * 100.0;
            let len = to.saturating_sub(from).max(1) as f64 / width * 100.0;
            let rank = prefix_rank.get(&(op.invoke_line, op.process.to_string()));
            let class = if unplaced.contains(&op.invoke_line) {
                "op stuck"
            } else if rank.is_some() {
                "op lin"
            } else if !op.outcome.is_known() {
                "op unknown"
            } else {
                "op"
            };
            let label = rank.map_or(String::new(), |r| format!("#{r} "));
            let title = format!(
                "{} {} key={} in={} out={} ({}) lines {}–{}",
                op.process,
                op.f,
                json(op.key.as_ref()),
                json(op.input.as_ref()),
                json(op.output.as_ref()),
                op.outcome.as_str(),
                op.invoke_line,
                op.complete_line.map_or("∞".to_string(), |l| l.to_string())
            );
            let _ = write!(
                body,
                "<div class=\"{class}\" style=\"left:{start:.3}%;width:{len:.3}%\" title=\"{}\">{}{}</div>",
                escape(&title),
                escape(&label),
                escape(&op.f)
            );
        }
        body.push_str("</div></div>\n");
    }
    let skipped = gaps.iter().map(|g| g.skipped).sum();
    let drawn = Drawn {
        ops: ops.len(),
        total: paired.ops.len(),
        skipped,
    };
    page(report, cx, source_name, &body, &drawn)
}

/// A stretch of the drawn partition's operations left out between two windows.
struct Gap {
    /// The history position of the first operation drawn after it (past the end: `usize::MAX`).
    before: usize,
    skipped: usize,
}

/// How much of the history the page shows.
struct Drawn {
    ops: usize,
    total: usize,
    /// Operations of the drawn partition left out between windows.
    skipped: usize,
}

/// The failing partition's operations (or all). Past `OPS_DRAWN_MAX`, a window around each
/// blamed operation (the ones that could not be placed), leading up to it; every blamed
/// operation is in its own window, so none is ever left out. Also the stretches left out.
fn drawn_ops<'a>(
    paired: &'a Paired,
    cx: Option<&Counterexample>,
) -> (Vec<&'a Operation>, Vec<Gap>) {
    let partition = cx.and_then(|cx| cx.partition.clone());
    let ops: Vec<&Operation> = paired
        .ops
        .iter()
        .filter(|op| partition.is_none() || op.key.as_ref().map(|k| k.to_string()) == partition)
        .collect();
    if ops.len() <= OPS_DRAWN_MAX {
        return (ops, Vec::new());
    }
    let blamed: BTreeSet<u32> = cx
        .map(|cx| cx.unplaced.iter().map(|op| op.invoke_line).collect())
        .unwrap_or_default();
    if blamed.is_empty() {
        // Nothing blamed: the start of the history.
        let skipped = ops.len() - OPS_DRAWN_MAX;
        let gap = Gap {
            before: usize::MAX,
            skipped,
        };
        return (ops[..OPS_DRAWN_MAX].to_vec(), vec![gap]);
    }
    let window = OPS_DRAWN_MAX / blamed.len();
    let mut keep = vec![false; ops.len()];
    for &line in &blamed {
        let at = ops.partition_point(|op| op.invoke_line < line);
        // Mostly what led up to it, and some of what overlapped or followed it (all of the
        // window when little precedes it).
        let before = at.min(window - window / 4 - 1);
        let after = window - before - 1;
        let from = at - before;
        let to = (at + 1 + after).min(ops.len());
        keep[from..to].iter_mut().for_each(|k| *k = true);
    }
    let mut gaps = Vec::new();
    let mut skipped = 0;
    for (op, &kept) in ops.iter().zip(&keep) {
        match kept {
            false => skipped += 1,
            true if skipped > 0 => {
                let before = op.invoke_index;
                gaps.push(Gap { before, skipped });
                skipped = 0;
            }
            true => {}
        }
    }
    if skipped > 0 {
        let before = usize::MAX;
        gaps.push(Gap { before, skipped });
    }
    let drawn = ops
        .into_iter()
        .zip(keep)
        .filter_map(|(op, keep)| keep.then_some(op))
        .collect();
    (drawn, gaps)
}

/// The time axis: the history positions where a drawn operation starts or ends, in order.
struct Axis(Vec<usize>);

impl Axis {
    fn new(ops: &[&Operation]) -> Self {
        let mut moments: Vec<usize> = ops
            .iter()
            .flat_map(|op| [Some(op.invoke_index), op.complete_index])
            .flatten()
            .collect();
        moments.sort_unstable();
        moments.dedup();
        Axis(moments)
    }

    /// The slot of a history position that is on the axis.
    fn at(&self, index: usize) -> usize {
        self.0.partition_point(|&moment| moment < index)
    }

    /// Slots in all; an operation that never ends runs to here.
    fn len(&self) -> usize {
        self.0.len()
    }
}

fn page(
    report: &CheckReport,
    cx: Option<&Counterexample>,
    source_name: &str,
    rows: &str,
    drawn: &Drawn,
) -> String {
    let mut details = String::new();
    if let Some(cx) = cx {
        if let Some(p) = &cx.partition {
            let _ = write!(details, "<p>Partition: key <code>{}</code></p>", escape(p));
        }
        if !cx.prefix.is_empty() {
            details.push_str("<h2>Longest linearizable prefix</h2><ol>");
            for step in &cx.prefix {
                let _ = write!(
                    details,
                    "<li>process {}: {} ({}) ⇒ {}</li>",
                    escape(&step.op.process.to_string()),
                    escape(&step.op.op),
                    escape(&step.op.lines()),
                    escape(&step.state_after)
                );
            }
            details.push_str("</ol>");
        }
        // A model decided without a search (idgen) has no state: its counterexample is a set of
        // operations that contradict each other.
        let heading = match cx.state.as_str() {
            "" => "Operations that contradict each other".to_string(),
            state if cx.prefix.is_empty() => format!("Could not be placed first (state {state})"),
            state => format!("Could not be placed next (state {state})"),
        };
        let _ = write!(details, "<h2>{}</h2><ul>", escape(&heading));
        for op in &cx.unplaced {
            let _ = write!(
                details,
                "<li class=bad>process {}: {} ({})</li>",
                escape(&op.process.to_string()),
                escape(&op.op),
                escape(&op.lines())
            );
        }
        let _ = write!(details, "</ul><p>{}</p>", escape(&cx.explanation));
    }
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>faultlab check: {source}</title>\
<style>body{{font:14px sans-serif;margin:1em}}.row{{display:flex;align-items:center;height:26px}}\
.label{{width:9em;text-align:right;padding-right:.5em;font-family:monospace}}\
.lane{{position:relative;flex:1;height:22px;border-bottom:1px solid #eee}}\
.op{{position:absolute;top:2px;height:18px;background:#9ab;border-radius:3px;font-size:11px;\
overflow:hidden;white-space:nowrap;box-sizing:border-box;border:1px solid #678;min-width:3px}}\
.lin{{background:#8c8;border-color:#484}}.stuck{{background:#e66;border:2px solid #900}}\
.unknown{{background:repeating-linear-gradient(45deg,#ccc,#ccc 4px,#eee 4px,#eee 8px);\
border-style:dashed}}.bad{{color:#900}}\
.gap{{position:absolute;top:0;bottom:0;border-left:2px dashed #c60}}</style></head><body>\
<h1>{verdict}</h1><p>{source} — model {model}, {ops} ops, {partitions} partition(s), \
{steps} steps; drawing {drawn_ops} of {total} ops{left_out}.</p>\
<p>Legend: {legend}<span class=\"op unknown\" style=\"position:static\">unknown outcome</span>\
</p><div>{rows}</div>{details}</body></html>\n",
        source = escape(source_name),
        drawn_ops = drawn.ops,
        total = drawn.total,
        left_out = match drawn.skipped {
            0 => String::new(),
            n => format!(
                " (windows around each blamed operation: the dashed lines mark {n} operations \
                 left out)"
            ),
        },
        legend = legend(cx),
        verdict = report.verdict.name(),
        model = escape(&report.model),
        ops = report.ops,
        partitions = report.partitions,
        steps = report.steps,
    )
}

/// The legend's first entries: what green and red mean for this counterexample.
fn legend(cx: Option<&Counterexample>) -> String {
    let chip = |class: &str, text: &str| {
        format!("<span class=\"{class}\" style=\"position:static\">{text}</span> ")
    };
    match cx {
        // idgen: no prefix, no state; the red operations contradict each other.
        Some(cx) if cx.state.is_empty() => chip("op stuck", "in conflict"),
        Some(cx) if cx.prefix.is_empty() => chip("op stuck", "could not be placed"),
        _ => chip("op lin", "#n linearized") + &chip("op stuck", "could not be placed"),
    }
}

fn json(value: Option<&serde_json::Value>) -> String {
    value.map_or("-".to_string(), |v| v.to_string())
}

/// HTML-escapes text for an element or a quoted attribute (the run report uses it too).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
