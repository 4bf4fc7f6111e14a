//! The human-readable report `faultlab check` prints.

use super::report::{CheckReport, Counterexample, OpSummary, Verdict};
use std::fmt::Write;

/// Prefix operations shown before eliding the older ones.
const PREFIX_SHOWN_MAX: usize = 20;

/// The whole report: the verdict, the effort, and the counterexample if there is one.
pub fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    let verdict = match &report.verdict {
        Verdict::Linearizable if report.ops == 0 => {
            "LINEARIZABLE — 0 operations: nothing was checked".to_string()
        }
        Verdict::Linearizable => "LINEARIZABLE".to_string(),
        Verdict::NotLinearizable(_) => "NOT LINEARIZABLE".to_string(),
        Verdict::Unknown(reason) => format!("UNKNOWN — {}", reason.describe()),
    };
    let _ = writeln!(out, "{verdict}");
    let _ = writeln!(
        out,
        "model {}, {} ops ({} unknown outcome, {} failed and dropped), {} partition(s), {} steps, \
         memo peak {} KiB, {:.1} ms",
        report.model,
        report.ops,
        report.ops_unknown,
        report.ops_failed,
        report.partitions,
        report.steps,
        report.memory_bytes_peak / 1024,
        report.elapsed_ms
    );
    if let Some(cx) = report.verdict.counterexample() {
        render_counterexample(&mut out, cx);
    }
    out
}

/// One line for a history among many: the verdict, the size, and what could not be placed.
pub fn render_line(report: &CheckReport) -> String {
    let size = match report.ops {
        0 => "0 operations: nothing was checked".to_string(),
        1 => "1 op".to_string(),
        n => format!("{n} ops"),
    };
    let unknown = match report.ops_unknown {
        0 => String::new(),
        n => format!(", {n} unknown outcome"),
    };
    let effort = format!("{size}{unknown}, {:.1} ms", report.elapsed_ms);
    match &report.verdict {
        Verdict::Linearizable => format!("linearizable ({effort})"),
        Verdict::NotLinearizable(cx) => {
            let culprit = cx.unplaced.first().map_or(String::new(), |op| {
                format!(": {} cannot be placed", op_line(op))
            });
            format!("NOT LINEARIZABLE ({effort}){culprit}")
        }
        Verdict::Unknown(reason) => format!("UNKNOWN ({effort}): {}", reason.describe()),
    }
}

/// The counterexample part of the report.
pub fn render_counterexample(out: &mut String, cx: &Counterexample) {
    if let Some(partition) = &cx.partition {
        let _ = writeln!(out, "\npartition: key {partition}");
    }
    if !cx.prefix.is_empty() {
        let _ = writeln!(
            out,
            "\nlongest linearizable prefix ({} ops):",
            cx.prefix.len()
        );
        let skipped = cx.prefix.len().saturating_sub(PREFIX_SHOWN_MAX);
        if skipped > 0 {
            let _ = writeln!(out, "  … {skipped} earlier ops");
        }
        for (i, step) in cx.prefix.iter().enumerate().skip(skipped) {
            let _ = writeln!(
                out,
                "  {:>4}. {}  ⇒ {}",
                i + 1,
                op_line(&step.op),
                step.state_after
            );
        }
    }
    if !cx.state.is_empty() {
        let _ = writeln!(out, "\nstate after the prefix: {}", cx.state);
    }
    // A model decided without a search (idgen) has no state: its operations contradict each
    // other rather than fail to be placed.
    let heading = match cx.state.is_empty() {
        true => "operations in conflict:",
        false => "could not be placed:",
    };
    let _ = writeln!(out, "\n{heading}");
    for op in &cx.unplaced {
        let _ = writeln!(out, "        {}", op_line(op));
    }
    let _ = writeln!(out, "\n{}", cx.explanation);
}

fn op_line(op: &OpSummary) -> String {
    let unknown = if op.outcome == "ok" {
        ""
    } else {
        " [unknown outcome]"
    };
    format!(
        "process {}: {}{unknown}  ({})",
        op.process,
        op.op,
        op.lines()
    )
}
