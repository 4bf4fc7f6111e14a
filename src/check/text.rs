//! The human-readable report `faultlab check` prints.

use super::report::{CheckReport, Counterexample, OpSummary, Verdict};
use std::fmt::Write;

/// Prefix operations shown before eliding the older ones.
const PREFIX_SHOWN_MAX: usize = 20;

pub fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    let verdict = match &report.verdict {
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
    let _ = writeln!(out, "\ncould not be placed:");
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
