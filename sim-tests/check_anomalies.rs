//! Classic anomalies, hand-written, with their expected verdicts; the counterexamples of the
//! violations are pinned with insta (snapshots/check_anomalies__*.snap) so any change in what a
//! user is told shows up as a reviewable diff. Also a few histories that look suspicious but are
//! linearizable, so the table cannot pass by answering "violation" to everything.

use faultlab::check::{CheckOptions, ModelKind, check_paired, text};
use faultlab::history::{pair, read_jsonl_located};

struct Case {
    name: &'static str,
    model: ModelKind,
    /// `--initial`, as JSON text.
    initial: Option<&'static str>,
    expected: &'static str,
    history: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "stale_read",
        model: ModelKind::Register,
        initial: None,
        expected: "not_linearizable",
        history: r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"write","value":2}
{"process":1,"type":"ok","f":"write","value":2}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"ok","f":"read","value":1}
"#,
    },
    Case {
        name: "lost_update_cas",
        model: ModelKind::Register,
        initial: Some("0"),
        expected: "not_linearizable",
        history: r#"{"process":0,"type":"invoke","f":"read"}
{"process":1,"type":"invoke","f":"read"}
{"process":0,"type":"ok","f":"read","value":0}
{"process":1,"type":"ok","f":"read","value":0}
{"process":0,"type":"invoke","f":"cas","value":[0,1]}
{"process":1,"type":"invoke","f":"cas","value":[0,1]}
{"process":0,"type":"ok","f":"cas","value":[0,1]}
{"process":1,"type":"ok","f":"cas","value":[0,1]}
"#,
    },
    Case {
        name: "lost_append",
        model: ModelKind::Kv,
        initial: Some("\"\""),
        expected: "not_linearizable",
        history: r#"{"process":"a","type":"invoke","f":"append","key":"k","value":"x"}
{"process":"b","type":"invoke","f":"append","key":"k","value":"y"}
{"process":"a","type":"ok","f":"append","key":"k"}
{"process":"b","type":"ok","f":"append","key":"k"}
{"process":"c","type":"invoke","f":"get","key":"other"}
{"process":"c","type":"ok","f":"get","key":"other","value":""}
{"process":"c","type":"invoke","f":"get","key":"k"}
{"process":"c","type":"ok","f":"get","key":"k","value":"y"}
"#,
    },
    Case {
        name: "non_monotonic_ids",
        model: ModelKind::Idgen,
        initial: None,
        expected: "not_linearizable",
        history: r#"{"process":0,"type":"invoke","f":"next"}
{"process":0,"type":"ok","f":"next","value":5}
{"process":1,"type":"invoke","f":"next"}
{"process":1,"type":"ok","f":"next","value":3}
"#,
    },
    Case {
        name: "duplicate_ids",
        model: ModelKind::Idgen,
        initial: None,
        expected: "not_linearizable",
        history: r#"{"process":0,"type":"invoke","f":"next"}
{"process":1,"type":"invoke","f":"next"}
{"process":0,"type":"ok","f":"next","value":7}
{"process":1,"type":"ok","f":"next","value":7}
"#,
    },
    Case {
        name: "split_brain_lock",
        model: ModelKind::Lock,
        initial: None,
        expected: "not_linearizable",
        history: r#"{"process":"n1","type":"invoke","f":"acquire"}
{"process":"n1","type":"ok","f":"acquire","value":1}
{"process":"n2","type":"invoke","f":"acquire"}
{"process":"n2","type":"ok","f":"acquire","value":2}
{"process":"n1","type":"invoke","f":"release","value":1}
{"process":"n1","type":"ok","f":"release","value":1}
"#,
    },
    Case {
        name: "fencing_token_goes_backwards",
        model: ModelKind::Lock,
        initial: None,
        expected: "not_linearizable",
        history: r#"{"process":"n1","type":"invoke","f":"acquire"}
{"process":"n1","type":"ok","f":"acquire","value":4}
{"process":"n1","type":"invoke","f":"release","value":4}
{"process":"n1","type":"ok","f":"release"}
{"process":"n2","type":"invoke","f":"acquire"}
{"process":"n2","type":"ok","f":"acquire","value":3}
"#,
    },
    Case {
        name: "mutex_double_grant",
        model: ModelKind::Mutex,
        initial: None,
        expected: "not_linearizable",
        history: r#"{"process":0,"type":"invoke","f":"acquire"}
{"process":0,"type":"ok","f":"acquire","value":true}
{"process":1,"type":"invoke","f":"acquire"}
{"process":1,"type":"ok","f":"acquire","value":true}
"#,
    },
    Case {
        name: "timed_out_write_explains_a_read",
        model: ModelKind::Register,
        initial: None,
        expected: "linearizable",
        history: r#"{"process":0,"type":"invoke","f":"write","value":3}
{"process":0,"type":"info","f":"write","value":"timed-out"}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":null}
{"process":2,"type":"invoke","f":"read"}
{"process":2,"type":"ok","f":"read","value":3}
"#,
    },
    Case {
        name: "timed_out_write_cannot_take_effect_twice",
        model: ModelKind::Register,
        initial: None,
        expected: "not_linearizable",
        history: r#"{"process":0,"type":"invoke","f":"write","value":3}
{"process":0,"type":"info","f":"write"}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":3}
{"process":1,"type":"invoke","f":"write","value":4}
{"process":1,"type":"ok","f":"write","value":4}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":3}
"#,
    },
    Case {
        name: "concurrent_reads_see_either_side_of_a_write",
        model: ModelKind::Register,
        initial: Some("0"),
        expected: "linearizable",
        history: r#"{"process":0,"type":"invoke","f":"write","value":100}
{"process":1,"type":"invoke","f":"read"}
{"process":2,"type":"invoke","f":"read"}
{"process":2,"type":"ok","f":"read","value":0}
{"process":1,"type":"ok","f":"read","value":100}
{"process":0,"type":"ok","f":"write","value":100}
"#,
    },
];

#[test]
fn classic_anomalies_get_their_expected_verdicts_and_pinned_counterexamples() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    for case in CASES {
        let name = format!("{}.jsonl", case.name);
        let (history, source) = read_jsonl_located(case.history.as_bytes(), &name).expect("valid");
        let paired = pair(&history, &source).expect("pairs");
        let options = CheckOptions {
            initial: case
                .initial
                .map(|text| serde_json::from_str(text).expect("valid JSON")),
            ..CheckOptions::default()
        };
        let report = check_paired(&paired, &source, case.model, &options).expect("checks");
        assert_eq!(report.verdict.name(), case.expected, "{}", case.name);
        if let Some(cx) = report.verdict.counterexample() {
            let mut shown = String::new();
            text::render_counterexample(&mut shown, cx);
            let json = serde_json::to_string_pretty(cx).expect("serializes");
            settings.bind(|| {
                insta::assert_snapshot!(
                    format!("check_anomalies__{}", case.name),
                    format!("{shown}\n{json}")
                );
            });
        }
    }
}
