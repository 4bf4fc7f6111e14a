//! `faultlab check` over many histories and Jepsen's own files, as a user runs it: a directory
//! checked in one process on two threads with the worst verdict as exit code, EDN histories in
//! Knossos's and a Jepsen store's layouts read with Knossos's conventions, `--model` groups,
//! `--timeout-s`, empty histories, and HTML pages that draw every blamed operation.

use faultlab::bench::timed::{TimedConfig, timed_register_history};
use faultlab::history::{History, HistoryEvent, OpType, Process};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_faultlab");

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent");
    }
    std::fs::write(&path, text).expect("write history");
    path
}

fn faultlab(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run faultlab")
}

/// `faultlab check --model cas-register --initial 0 EXTRA... FILE`, as Knossos's data needs.
fn check_cas_register(file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["check", "--model", "cas-register", "--initial", "0"];
    args.extend_from_slice(extra);
    args.push(text(file));
    faultlab(&args)
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

const LINEARIZABLE: &str = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":1}
"#;

const STALE: &str = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"read"}
{"process":1,"type":"ok","f":"read","value":null}
"#;

/// Knossos's `data/cas-register` layout (our own small cases in that format): one vector of op
/// maps, `;` comments, `:fail` = did not happen, a `nil` read matches any value.
const KNOSSOS_BAD: &str = "; write 0, then a read of 3 while 4 is written: it could see 0 or 4
[{:process 0, :type :invoke, :f :write, :value 0}
 {:process 0, :type :ok, :f :write, :value 0}
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process 2, :type :invoke, :f :write, :value 4}
 {:process 1, :type :ok, :f :read, :value 3}
 {:process 2, :type :ok, :f :write, :value 4}]
";

const KNOSSOS_GOOD: &str = "[{:process 0, :type :invoke, :f :cas, :value [0 2]}
 {:process 0, :type :ok, :f :cas, :value [0 2]}
 ; a cas that failed did not happen
 {:process 1, :type :invoke, :f :cas, :value [0 3]}
 {:process 1, :type :fail, :f :cas, :value [0 3]}
 ; Knossos: a read of nil tells nothing
 {:process 2, :type :invoke, :f :read, :value nil}
 {:process 2, :type :ok, :f :read, :value nil}
 {:process 3, :type :invoke, :f :write, :value 1}
 {:process 3, :type :info, :f :write, :value 1, :error :timeout}
 {:process 4, :type :invoke, :f :read, :value nil}
 {:process 4, :type :ok, :f :read, :value 1}]
";

/// A Jepsen store's `history.edn`: bare op maps (some printed as records), nemesis ops.
const JEPSEN_STORE: &str = "{:index 0, :time 1000, :type :invoke, :process 0, :f :write, :value 3}
{:index 1, :time 2000, :type :info, :process :nemesis, :f :start-partition, :value [:isolated {\"n1\" #{\"n2\"}}]}
#jepsen.history.Op{:index 2, :time 3000, :type :ok, :process 0, :f :write, :value 3}
{:index 3, :time 4000, :type :invoke, :process 1, :f :read, :value nil}
{:index 4, :time 5000, :type :ok, :process 1, :f :read, :value 4}
";

#[test]
fn a_directory_is_checked_in_one_process_with_the_worst_verdict_as_exit_code() {
    let dir = scratch("many");
    write(&dir, "a-ok.jsonl", LINEARIZABLE);
    write(&dir, "b-stale.jsonl", STALE);
    write(&dir, "nested/c-ok.jsonl", LINEARIZABLE);
    write(&dir, "notes.txt", "not a history, not picked up");
    let out = faultlab(&["check", "--model", "register", "--jobs", "2", text(&dir)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "one line per file, then the summary: {stdout}"
    );
    assert!(
        lines[0].contains("a-ok.jsonl: linearizable (2 ops, "),
        "{stdout}"
    );
    assert!(
        lines[1].contains("b-stale.jsonl: NOT LINEARIZABLE"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("read → null  (lines 3–4) cannot be placed"),
        "{stdout}"
    );
    assert!(lines[2].contains("c-ok.jsonl: linearizable"), "{stdout}");
    assert!(
        lines[3].starts_with("3 histories in ")
            && lines[3].ends_with("2 linearizable, 1 not linearizable, 0 unknown, 0 bad input"),
        "{stdout}"
    );

    // JSON: one object per line, naming its file; the order is the input order whatever the
    // threads did.
    let out = faultlab(&[
        "check",
        "--model",
        "register",
        "--jobs",
        "2",
        "--json",
        text(&dir),
    ]);
    let objects: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    let verdicts: Vec<(&str, &str)> = objects
        .iter()
        .map(|o| {
            let file = o["file"].as_str().expect("file");
            (
                &file[file.rfind('/').map_or(0, |i| i + 1)..],
                o["verdict"].as_str().expect("verdict"),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("a-ok.jsonl", "linearizable"),
            ("b-stale.jsonl", "not_linearizable"),
            ("c-ok.jsonl", "linearizable")
        ]
    );

    // Unknown (a budget of one step) is worse than linearizable but better than a violation.
    let fine = scratch("many-fine");
    write(&fine, "a.jsonl", LINEARIZABLE);
    write(&fine, "b.jsonl", LINEARIZABLE);
    let all_ok = faultlab(&["check", "--model", "register", text(&fine)]);
    assert_eq!(all_ok.status.code(), Some(0));
    let starved = faultlab(&[
        "check",
        "--model",
        "register",
        "--budget-steps",
        "1",
        text(&fine),
    ]);
    assert_eq!(starved.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&starved.stdout).contains("UNKNOWN"));
    let with_stale = faultlab(&[
        "check",
        "--model",
        "register",
        "--budget-steps",
        "1",
        text(&fine),
        text(&dir.join("b-stale.jsonl")),
    ]);
    assert_eq!(
        with_stale.status.code(),
        Some(1),
        "a refutation needs no search steps"
    );

    // Bad input beats every verdict, and its line names the file and line.
    write(
        &fine,
        "c.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\nnope\n",
    );
    let bad = faultlab(&["check", "--model", "register", text(&fine), text(&dir)]);
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("c.jsonl: BAD INPUT — "), "{stdout}");
    assert!(stdout.contains("c.jsonl:2: not valid JSON"), "{stdout}");
    assert!(
        stdout.contains("b-stale.jsonl: NOT LINEARIZABLE"),
        "the others are still checked"
    );
}

#[test]
fn knossos_and_jepsen_edn_files_get_knossos_verdicts() {
    let dir = scratch("edn");
    let bad = write(&dir, "bad/rethink-like.edn", KNOSSOS_BAD);
    let good = write(&dir, "good/cas-and-nil-reads.edn", KNOSSOS_GOOD);
    let out = check_cas_register(&bad, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("process 1: read → 3  (lines 4–6)"),
        "lines point into the .edn: {stdout}"
    );
    let out = check_cas_register(&good, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Under JSON Lines conventions a nil read is the value nil: the same file is then refuted.
    let exact = check_cas_register(&good, &["--read-nil", "value"]);
    assert_eq!(exact.status.code(), Some(1));

    // A store: only each run's history.edn is read (test.edn is not a history), nemesis ops
    // are skipped, records are op maps. The read of 4 is impossible.
    let store = dir.join("store");
    write(&store, "etcd/20260101T000000/history.edn", JEPSEN_STORE);
    write(
        &store,
        "etcd/20260101T000000/test.edn",
        "{:name \"etcd\", :nodes [\"n1\"]}",
    );
    write(
        &store,
        "etcd/20260102T000000/history.edn",
        &JEPSEN_STORE.replace(":value 4}", ":value 3}"),
    );
    let out = faultlab(&["check", "--model", "register", "--jobs", "2", text(&store)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("20260101T000000/history.edn: NOT LINEARIZABLE"),
        "{stdout}"
    );
    assert!(
        stdout.contains("20260102T000000/history.edn: linearizable"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 histories in"),
        "test.edn is not read: {stdout}"
    );

    // EDN errors name the file, line and field.
    let broken = write(
        &dir,
        "broken.edn",
        "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :done, :f :read}]\n",
    );
    let out = faultlab(&["check", "--model", "register", text(&broken)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("broken.edn:2: not a history event: `:type` must be :invoke, :ok, :fail or :info, got :done"), "{stderr}");
}

#[test]
fn each_model_starts_a_group_of_histories_and_options() {
    let dir = scratch("groups");
    let register = write(&dir, "register.jsonl", STALE);
    // Porcupine's kv histories start every key at "" and are EDN in a .txt file.
    let kv = write(
        &dir,
        "kv.txt",
        "{:process 0, :type :invoke, :f :get, :key \"a\", :value nil}\n{:process 0, :type :ok, :f :get, :key \"a\", :value \"\"}\n",
    );
    let out = faultlab(&[
        "check",
        "--model",
        "register",
        "--initial",
        "1",
        text(&register),
        "--model",
        "kv",
        "--initial",
        "\"\"",
        "--format",
        "edn",
        text(&kv),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("register.jsonl: NOT LINEARIZABLE"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kv.txt: linearizable"),
        "--initial '\"\"' applies to kv only: {stdout}"
    );
    let twice = faultlab(&[
        "check",
        "--model",
        "register",
        "--initial",
        "1",
        "--initial",
        "2",
        text(&register),
    ]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&twice.stderr)
            .contains("--initial given twice for --model register")
    );
}

#[test]
fn an_empty_history_says_nothing_was_checked() {
    let dir = scratch("empty");
    let empty = write(&dir, "empty.jsonl", "");
    let out = faultlab(&["check", "--model", "register", text(&empty)]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("LINEARIZABLE — 0 operations: nothing was checked"),
        "{stdout}"
    );
    let out = faultlab(&["check", "--model", "register", "--json", text(&empty)]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (report["ops"].as_u64(), report["nothing_checked"].as_bool()),
        (Some(0), Some(true))
    );
    write(&dir, "one.jsonl", LINEARIZABLE);
    let out = faultlab(&["check", "--model", "register", text(&dir)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 linearizable (1 with 0 operations: nothing checked)"),
        "{stdout}"
    );
}

#[test]
fn a_time_limit_ends_in_unknown_never_a_pass() {
    // 40 clients on one register: far more than a fraction of a second of search.
    let dir = scratch("timeout");
    let history = timed_register_history(&TimedConfig::new(40, 10_000, 1));
    let path = dir.join("hard.jsonl");
    let mut bytes = Vec::new();
    history.write_jsonl(&mut bytes).expect("write");
    std::fs::write(&path, bytes).expect("write history");
    let out = faultlab(&[
        "check",
        "--model",
        "register",
        "--timeout-s",
        "0.2",
        "--json",
        text(&path),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["verdict"], "unknown");
    assert_eq!(report["unknown"]["reason"], "timeout");
    assert_eq!(report["unknown"]["timeout_s"], 0.2);
    for bad in ["0", "-1", "soon", "inf"] {
        let out = faultlab(&[
            "check",
            "--model",
            "register",
            "--timeout-s",
            bad,
            text(&path),
        ]);
        assert_eq!(out.status.code(), Some(2), "--timeout-s {bad}");
    }
}

/// Issue 7: an idgen clock-rollback failure blames two `next`s thousands of operations apart;
/// both must be drawn, and the page must not talk about states idgen does not have.
#[test]
fn the_html_page_draws_every_blamed_operation() {
    let mut history = History::default();
    let mut push = |process: u64, kind, value: Option<u64>| {
        history.push(HistoryEvent {
            process: Process::Int(process),
            kind,
            f: "next".to_string(),
            key: None,
            value: value.map(serde_json::Value::from),
            time: None,
        })
    };
    for id in 1..=5_000u64 {
        push(id % 3, OpType::Invoke, None);
        // The clock went back: id 7 is handed out again near the end.
        let issued = if id == 4_990 { 7 } else { id };
        push(id % 3, OpType::Ok, Some(issued));
    }
    let dir = scratch("html");
    let path = dir.join("idgen.jsonl");
    let mut bytes = Vec::new();
    history.write_jsonl(&mut bytes).expect("write");
    std::fs::write(&path, bytes).expect("write history");
    let page_path = dir.join("idgen.html");
    let out = faultlab(&[
        "check",
        "--model",
        "idgen",
        "--html",
        text(&page_path),
        text(&path),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("operations in conflict:"));
    let page = std::fs::read_to_string(&page_path).expect("page written");
    let blamed_bars = page.matches("<div class=\"op stuck\"").count();
    assert_eq!(blamed_bars, 2, "both operations returning id 7 are drawn");
    assert!(
        page.contains("lines 13–14"),
        "the first one, 4,977 operations earlier"
    );
    assert!(page.contains("Operations that contradict each other"));
    assert!(!page.contains("(state )"), "idgen has no state to show");
    assert!(
        !page.contains("Longest linearizable prefix"),
        "and no prefix"
    );
}
