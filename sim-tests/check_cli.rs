//! `faultlab check` as a user runs it: exit codes 0/1/3, `--json`, `--html`, and every kind of
//! bad input exiting 2 with a message that names the line (never a panic).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_faultlab");

fn write_temp(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("write temp history");
    path
}

fn faultlab(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run faultlab");
    let input = stdin.unwrap_or("");
    // A usage error exits before reading stdin: the pipe may be closed, which is fine.
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(input.as_bytes());
    }
    child.wait_with_output().expect("faultlab finishes")
}

const STALE: &str = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":null}
"#;

#[test]
fn exit_codes_follow_the_verdict() {
    let stale = write_temp("stale.jsonl", STALE);
    let stale = stale.to_str().expect("utf-8 path");
    let not = faultlab(&["check", "--model", "register", stale], None);
    assert_eq!(not.status.code(), Some(1));
    let out = String::from_utf8_lossy(&not.stdout);
    assert!(out.starts_with("NOT LINEARIZABLE"), "{out}");
    assert!(out.contains("read → null  (lines 3–4)"), "{out}");

    let fine = STALE.replace("\"value\":null", "\"value\":1");
    let ok = faultlab(&["check", "--model", "register", "-"], Some(&fine));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let starved = faultlab(
        &["check", "--model", "register", "--budget-steps", "1", "-"],
        Some(&fine),
    );
    assert_eq!(starved.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&starved.stdout).contains("UNKNOWN"));
}

#[test]
fn json_and_html_reports() {
    let out = faultlab(
        &["check", "--model", "register", "--json", "-"],
        Some(STALE),
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["verdict"], "not_linearizable");
    assert_eq!(report["ops"], 2);
    assert_eq!(report["partitions"], 1);
    assert!(report["elapsed_ms"].is_number());
    assert_eq!(report["counterexample"]["unplaced"][0]["invoke_line"], 3);

    let html = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stale.html");
    let html_arg = html.to_str().expect("utf-8 path");
    let out = faultlab(
        &["check", "--model", "register", "--html", html_arg, "-"],
        Some(STALE),
    );
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(&html).expect("html written");
    assert!(
        page.contains("class=\"op stuck\""),
        "the failing op is highlighted"
    );
    // Refuted before the search: no prefix to list, the read cannot come first.
    assert!(!page.contains("Longest linearizable prefix"));
    assert!(page.contains("Could not be placed first (state null)"));
    assert!(
        !page.contains("http"),
        "self-contained: no external fetches"
    );
}

#[test]
fn bad_input_exits_2_naming_the_line() {
    let invoke = r#"{"process":0,"type":"invoke","f":"read"}"#;
    let cases: Vec<(String, &str, &str)> = vec![
        (format!("{invoke}\nnot json\n"), "register", "<stdin>:2: not valid JSON"),
        (
            format!("{invoke}\n{{\"process\":0,\"type\":\"finished\",\"f\":\"read\"}}\n"),
            "register",
            "<stdin>:2: not a history event: unknown variant `finished`",
        ),
        (
            "{\"process\":0,\"type\":\"ok\",\"f\":\"read\"}\n".to_string(),
            "register",
            "<stdin>:1: `ok` completion on process 0, which has no open invocation",
        ),
        (
            format!("{invoke}\n{invoke}\n"),
            "register",
            "<stdin>:2: process 0 invokes again while its invocation on line 1 is still open",
        ),
        (
            format!("{invoke}\n{{\"type\":\"ok\",\"f\":\"read\"}}\n"),
            "register",
            "<stdin>:2: not a history event: missing field `process`",
        ),
        (
            format!("{invoke}\n{{\"process\":0,\"type\":\"ok\",\"f\":\"write\"}}\n"),
            "register",
            "<stdin>:2: completion has f `write`",
        ),
        (
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":3}\n".to_string(),
            "register",
            "<stdin>:1: `cas` operation: a cas needs `value` [expected, new], got 3",
        ),
        (
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\"}\n".to_string(),
            "kv",
            "<stdin>:1: `get` operation: a kv operation needs a `key`",
        ),
        (
            "\n\n{\"process\":0,\"type\":\"invoke\",\"f\":\"next\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"next\",\"value\":\"x\"}\n".to_string(),
            "idgen",
            "<stdin>:4: `next` operation: the ok value must be an integer id",
        ),
        (
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"acquire\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"acquire\",\"value\":true}\n".to_string(),
            "lock",
            "<stdin>:1: `acquire` operation: acquire's ok value must be an integer fencing token",
        ),
    ];
    for (history, model, expected) in cases {
        let out = faultlab(&["check", "--model", model, "-"], Some(&history));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expected}: {stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr:?}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-history.jsonl");
    let usage: Vec<Vec<&str>> = vec![
        vec!["check", "--model", "bogus", "-"],
        vec!["check", "--model", "register", "--initial", "{oops", "-"],
        vec!["check", "--model", "mutex", "--initial", "1", "-"],
        vec!["check", "-"],
        vec![
            "check",
            "--model",
            "register",
            missing.to_str().expect("utf-8"),
        ],
    ];
    for args in usage {
        let out = faultlab(&args, Some(STALE));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
