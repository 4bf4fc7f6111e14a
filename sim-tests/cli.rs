//! The `faultlab` binary end to end: exit codes, `--json`, replay commands that reproduce,
//! byte-identical records across processes, `--help` everywhere.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn faultlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultlab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("faultlab runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch directory removed when the test ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for TempDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

fn temp_dir(tag: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("faultlab-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    TempDir(d)
}

/// The digest replay prints on its last line (`digest <16 hex digits>`).
fn digest_line(out: &str) -> Option<String> {
    let last = out.lines().last()?;
    let hex = last.strip_prefix("digest ")?;
    (hex.len() == 16).then(|| hex.to_string())
}

#[test]
fn passing_sweep_exits_0_with_json_summary() {
    let out = faultlab(&[
        "run",
        "--scenario",
        "fault-scenarios/idgen-calm.toml",
        "--seeds",
        "0..2",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(v["scenario"], "idgen-calm");
    assert_eq!(v["seeds_run"], 2);
    assert_eq!(v["failures"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["digests"].as_object().map(|m| m.len()), Some(2));
    assert!(
        v.get("digest").is_none(),
        "a multi-seed run has no single digest"
    );
}

#[test]
fn one_seed_json_carries_its_digest() {
    let out = faultlab(&[
        "run",
        "--scenario",
        "fault-scenarios/idgen-calm.toml",
        "--seeds",
        "3",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(v["seeds_run"], 1);
    let digest = v["digest"].as_str().unwrap_or_default().to_string();
    assert_eq!(digest.len(), 16);
    let scratch = temp_dir("one-seed");
    let replayed = faultlab(&[
        "replay",
        "--scenario",
        "fault-scenarios/idgen-calm.toml",
        "--seed",
        "3",
        "--out",
        scratch.to_str().unwrap_or_default(),
    ]);
    assert_eq!(
        digest_line(&stdout(&replayed)),
        Some(digest),
        "run and replay must agree"
    );
}

#[test]
fn failing_sweep_exits_1_and_its_replay_command_reproduces() {
    let out = faultlab(&[
        "run",
        "--scenario",
        "fault-scenarios/idgen-clock-backwards.toml",
        "--seeds",
        "0..2",
        "--bug",
        "idgen-clock-rollback",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    let failures = v["failures"].as_array().cloned().unwrap_or_default();
    assert!(!failures.is_empty());
    for key in ["seed", "invariant", "message", "replay"] {
        assert!(
            failures[0].get(key).is_some(),
            "failure lacks {key}: {}",
            failures[0]
        );
    }
    let replay = failures[0]["replay"].as_str().unwrap_or_default();
    let mut words: Vec<&str> = replay.split_whitespace().collect();
    assert_eq!(words.get(1), Some(&"replay"), "{replay}");
    assert!(
        words.contains(&"--bug") && words.contains(&"idgen-clock-rollback"),
        "{replay}"
    );
    words.remove(0); // the program name
    let mut digests = Vec::new();
    for i in 0..2 {
        let dir = temp_dir(&format!("replay{i}"));
        let mut args = words.clone();
        let dir_str = dir.to_string_lossy().into_owned();
        args.extend(["--out", &dir_str]);
        let r = faultlab(&args);
        assert_eq!(
            r.status.code(),
            Some(1),
            "the replay must fail the same way"
        );
        assert!(stdout(&r).contains("FAIL"), "{}", stdout(&r));
        digests.push(digest_line(&stdout(&r)));
    }
    assert!(digests[0].is_some());
    assert_eq!(digests[0], digests[1]);
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

#[test]
fn replay_twice_gives_byte_identical_records() {
    let (a, b) = (temp_dir("det-a"), temp_dir("det-b"));
    let mut outs = Vec::new();
    for dir in [&a, &b] {
        let o = faultlab(&[
            "replay",
            "--scenario",
            "fault-scenarios/idgen-swarm.toml",
            "--seed",
            "7",
            "--out",
            dir.to_str().unwrap_or_default(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        outs.push(digest_line(&stdout(&o)));
    }
    assert!(outs[0].is_some());
    assert_eq!(outs[0], outs[1]);
    for file in [
        "history.jsonl",
        "events.jsonl",
        "summary.txt",
        "report.html",
    ] {
        let (x, y) = (read(&a, file), read(&b, file));
        assert!(!x.is_empty(), "{file} is empty");
        assert!(x == y, "{file} differs between two processes");
    }
}

#[test]
fn every_command_has_help() {
    for cmd in [
        &["--help"][..],
        &["run", "--help"],
        &["replay", "--help"],
        &["check", "--help"],
        &["shrink", "--help"],
        &["scenarios", "--help"],
        &["explore", "--help"],
        &["bench", "explore", "--help"],
    ] {
        let o = faultlab(cmd);
        assert_eq!(o.status.code(), Some(0), "{cmd:?}");
        assert!(stdout(&o).contains("Usage"), "{cmd:?}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[
            "run",
            "--scenario",
            "fault-scenarios/idgen-calm.toml",
            "--seeds",
            "5..5",
        ][..],
        &[
            "run",
            "--scenario",
            "fault-scenarios/idgen-calm.toml",
            "--bug",
            "no-such-bug",
        ],
        &["replay", "--scenario", "fault-scenarios/idgen-calm.toml"],
        &["run", "--scenario", "no/such/file.toml"],
        &["frobnicate"],
    ] {
        let o = faultlab(args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_undecided_run_is_unknown_exit_3_never_a_pass() {
    let dir = temp_dir("unknown");
    std::fs::create_dir_all(&*dir).expect("temp dir");
    let file = dir.join("no-liveness.toml");
    std::fs::write(
        &file,
        "service = \"idgen\"\nnodes = 3\nclients = 2\nduration_ms = 500\nliveness_ms = 0\n",
    )
    .expect("write scenario");
    let path = file.to_string_lossy().into_owned();
    let text = faultlab(&["run", "--scenario", &path, "--seeds", "0..2"]);
    assert_eq!(text.status.code(), Some(3), "{}", stdout(&text));
    let out = stdout(&text);
    assert!(out.contains("unknown seed 0: progress-after-heal"), "{out}");
    assert!(out.contains("UNKNOWN (exit 3)"), "{out}");
    assert!(!out.contains("all passed"), "{out}");
    let json = faultlab(&["run", "--scenario", &path, "--seeds", "0..2", "--json"]);
    assert_eq!(json.status.code(), Some(3));
    let v: Value = serde_json::from_str(&stdout(&json)).expect("one JSON object");
    assert_eq!(v["seeds_unknown"], 2);
    assert_eq!(v["seeds_passed"], 0);
    assert_eq!(v["overall"], "unknown");
    let unknowns = v["unknowns"].as_array().cloned().unwrap_or_default();
    assert_eq!(unknowns.len(), 2);
    assert_eq!(unknowns[0]["invariant"], "progress-after-heal");
    assert!(
        unknowns[0]["replay"]
            .as_str()
            .is_some_and(|r| r.contains("replay"))
    );
    let replay = faultlab(&["replay", "--scenario", &path, "--seed", "0", "--out", &path]);
    assert_eq!(
        replay.status.code(),
        Some(2),
        "--out onto a file is a usage error"
    );
    let out_dir = dir.join("r0").to_string_lossy().into_owned();
    let replay = faultlab(&[
        "replay",
        "--scenario",
        &path,
        "--seed",
        "0",
        "--out",
        &out_dir,
    ]);
    assert_eq!(replay.status.code(), Some(3), "{}", stdout(&replay));
}

#[test]
fn bad_flags_name_themselves() {
    let calm = "fault-scenarios/idgen-calm.toml";
    let jobs = faultlab(&["run", "--scenario", calm, "--jobs", "0"]);
    assert_eq!(jobs.status.code(), Some(2));
    assert!(stderr(&jobs).contains("--jobs"), "{}", stderr(&jobs));
    let seeds = faultlab(&["run", "--scenario", calm, "--seeds", "-3"]);
    assert_eq!(seeds.status.code(), Some(2));
    assert!(stderr(&seeds).contains("--seeds"), "{}", stderr(&seeds));
    let bug = faultlab(&["run", "--scenario", calm, "--bug", "kv-nope"]);
    assert_eq!(bug.status.code(), Some(2));
    assert!(stderr(&bug).contains("known bugs"), "{}", stderr(&bug));
}

#[test]
fn a_bad_seed_variable_says_what_to_write() {
    let o = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "scenarios::every_shipped_scenario_passes_and_replays",
        ])
        .env("FAULTLAB_SEED", "abc")
        .output()
        .expect("rerun this test binary");
    assert!(!o.status.success());
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        all.contains("FAULTLAB_SEED=\"abc\": not a seed: write one non-negative integer"),
        "{all}"
    );
}

#[test]
fn the_scenario_catalogue_lists_every_shipped_scenario() {
    let out = faultlab(&["scenarios"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = stdout(&out);
    let shipped = crate::common::shipped_scenarios();
    for name in &shipped {
        let sc = crate::common::scenario(name);
        let line = listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(sc.name.as_str()))
            .unwrap_or_else(|| panic!("{name} is not listed:\n{listing}"));
        let nodes = sc.nodes.to_string();
        let mut words = line.split_whitespace().skip(1);
        assert_eq!(words.next(), Some(sc.service_name()), "{line}");
        assert_eq!(words.next(), Some(nodes.as_str()), "{line}");
        assert!(line.ends_with(&sc.description), "{line}");
        for tf in &sc.schedule {
            assert!(line.contains(tf.spec.name()), "{line}");
        }
    }
    assert_eq!(
        listing.lines().count(),
        shipped.len() + 1,
        "one header line, then one line per scenario:\n{listing}"
    );
}

#[test]
fn explore_finds_a_planted_bug_and_writes_an_input_that_reproduces_it() {
    let dir = temp_dir("explore");
    let _ = std::fs::create_dir_all(&*dir);
    let scenario = dir.join("small-kv.toml");
    std::fs::write(
        &scenario,
        "service = \"kv\"\nnodes = 3\nclients = 3\nduration_ms = 1500\nliveness_ms = 1500\n\
         [workload]\nthink_ms_max = 20\ntimeout_ms = 400\n\
         [faults.random]\nkinds = [\"partition\", \"crash\", \"pause\"]\nstart_ms = 100\n\
         mean_interval_ms = 250\nfault_ms_min = 100\nfault_ms_max = 600\n",
    )
    .expect("scenario written");
    let (scenario, out_dir, corpus) = (
        scenario.display().to_string(),
        dir.join("out").display().to_string(),
        dir.join("corpus"),
    );
    let corpus_arg = corpus.display().to_string();
    let args = [
        "explore",
        "--scenario",
        &scenario,
        "--runs",
        "40",
        "--jobs",
        "2",
        "--bug",
        "kv-vote-not-persisted",
        "--bug",
        "kv-ack-before-fsync",
        "--stop-at-first-failure",
        "--shrink-runs-max",
        "0",
        "--out",
        &out_dir,
        "--corpus",
        &corpus_arg,
    ];
    let out = faultlab(&args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(corpus.join("corpus.jsonl").exists(), "{text}");
    assert!(dir.join("out/explore.html").exists(), "{text}");
    // The printed command reproduces the failure.
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("reproduce: "))
        .unwrap_or_else(|| panic!("no reproduce line: {text}"));
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    let again = faultlab(&words);
    assert_eq!(again.status.code(), Some(1), "{line}\n{}", stdout(&again));
    // The same campaign seed finds the same first failure with one job.
    // (without the corpus, which now holds the first campaign's inputs).
    let mut one = args[..args.len() - 2].to_vec();
    one[6] = "1";
    let again = stdout(&faultlab(&one));
    let fail_line = |t: &str| {
        t.lines()
            .find(|l| l.contains("FAIL at run"))
            .map(str::to_string)
    };
    assert_eq!(fail_line(&again), fail_line(&text));
}
