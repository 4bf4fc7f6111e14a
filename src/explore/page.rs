//! The campaign's page (`explore.html`): coverage against runs, guided and (when it ran) the
//! random baseline, as inline SVG — no script, nothing fetched.

use super::{ExploreReport, Point};
use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 260.0;
const PAD: f64 = 48.0;

/// The page for `guided`, with `baseline` drawn next to it when given.
pub fn render(guided: &ExploreReport, baseline: Option<&ExploreReport>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>faultlab explore: {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:720px}}\
         .g{{stroke:#1565c0}}.r{{stroke:#9e9e9e;stroke-dasharray:6 4}}\
         table{{border-collapse:collapse}}td,th{{padding:2px 10px;text-align:right}}</style>\
         </head><body><h1>faultlab explore: {}</h1>",
        esc(&guided.scenario),
        esc(&guided.scenario)
    );
    let _ = write!(
        out,
        "<p>campaign seed {}, {} runs, corpus {} inputs, {} failing invariant(s), {} run(s) \
         unknown.</p>",
        guided.campaign_seed,
        guided.runs,
        guided.corpus_len,
        guided.found.len(),
        guided.unknown_runs
    );
    for (title, pick) in [
        (
            "distinct coverage features",
            (|p: &Point| p.features) as fn(&Point) -> usize,
        ),
        ("distinct abstract states", |p: &Point| p.states),
    ] {
        let _ = write!(out, "<h2>{title} against runs</h2>");
        chart(&mut out, guided, baseline, pick);
    }
    out.push_str(
        "<p>Solid blue: guided. Dashed grey: the random swarm (fresh seeds of the same \
         scenario), same budget. A curve that keeps climbing is still finding new behaviour; \
         a flat one has stopped.</p>",
    );
    if !guided.found.is_empty() {
        out.push_str("<h2>failures</h2><table><tr><th>run</th><th>invariant</th><th>seed</th><th>input</th></tr>");
        for f in &guided.found {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                f.run,
                esc(f.invariant),
                f.seed,
                if f.mutant { "mutant" } else { "swarm seed" }
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</body></html>\n");
    out
}

fn chart(
    out: &mut String,
    guided: &ExploreReport,
    baseline: Option<&ExploreReport>,
    pick: fn(&Point) -> usize,
) {
    let runs_max = guided.runs.max(baseline.map_or(0, |b| b.runs)).max(1) as f64;
    let y_max = guided
        .curve
        .iter()
        .chain(baseline.into_iter().flat_map(|b| b.curve.iter()))
        .map(pick)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         role=\"img\"><rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#fff\"/>\
         <line x1=\"{PAD}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#000\"/>\
         <line x1=\"{PAD}\" y1=\"{PAD2}\" x2=\"{PAD}\" y2=\"{y0}\" stroke=\"#000\"/>\
         <text x=\"{x1}\" y=\"{yl}\" text-anchor=\"end\" font-size=\"12\">{runs} runs</text>\
         <text x=\"4\" y=\"{PAD2}\" font-size=\"12\">{ymax}</text>",
        y0 = H - PAD,
        x1 = W - PAD / 2.0,
        PAD2 = PAD / 2.0,
        yl = H - PAD / 3.0,
        runs = runs_max as u64,
        ymax = y_max as u64,
    );
    for (report, class) in [(Some(guided), "g"), (baseline, "r")] {
        let Some(r) = report else { continue };
        let pts: String = r
            .curve
            .iter()
            .map(|p| {
                let x = PAD + (W - 1.5 * PAD) * p.runs as f64 / runs_max;
                let y = (H - PAD) - (H - 1.5 * PAD) * pick(p) as f64 / y_max;
                format!("{x:.1},{y:.1} ")
            })
            .collect();
        let _ = write!(
            out,
            "<polyline class=\"{class}\" fill=\"none\" stroke-width=\"2\" points=\"{pts}\"/>"
        );
    }
    out.push_str("</svg>");
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::{Found, Strategy};

    fn report(strategy: Strategy, features: &[usize]) -> ExploreReport {
        ExploreReport {
            scenario: "kv-<swarm>".into(),
            strategy,
            campaign_seed: 1,
            runs: features.len() as u64,
            unknown_runs: 0,
            invalid_mutants: 0,
            curve: features
                .iter()
                .enumerate()
                .map(|(i, &f)| Point {
                    runs: i as u64 + 1,
                    features: f,
                    states: f / 2,
                })
                .collect(),
            corpus_len: 3,
            found: vec![Found {
                run: 2,
                invariant: "one-leader-per-term",
                message: String::new(),
                seed: 9,
                mutant: true,
                scenario_text: String::new(),
            }],
            sometimes_unreached: Vec::new(),
            corpus: Vec::new(),
        }
    }

    #[test]
    fn draws_both_curves_escapes_names_and_lists_failures() {
        let g = report(Strategy::Guided, &[10, 20, 40]);
        let r = report(Strategy::Random, &[10, 15, 18]);
        let page = render(&g, Some(&r));
        assert_eq!(page.matches("<polyline class=\"g\"").count(), 2);
        assert_eq!(page.matches("<polyline class=\"r\"").count(), 2);
        assert!(page.contains("kv-&lt;swarm&gt;") && !page.contains("kv-<swarm>"));
        assert!(page.contains("one-leader-per-term"));
        let alone = render(&g, None);
        assert_eq!(
            alone.matches("<polyline").count(),
            2,
            "no baseline, one curve per chart"
        );
    }
}
