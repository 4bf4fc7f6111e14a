//! The Chrome / Perfetto trace of a replay (`faultlab replay --trace-json`), checked as
//! trace-event JSON: a track per node and per client, flows in pairs, and a cut of it to a time
//! window and some nodes.

use crate::report::{CLIENTS, NODES, SCENARIO, SEED, replay, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

#[test]
fn trace_json_has_a_track_per_node_and_client_and_paired_flows() {
    let run = replay("trace");
    let bytes = std::fs::read(run.dir.join("trace.json")).expect("trace.json is written");
    let doc: Value = serde_json::from_slice(&bytes).expect("the trace is JSON");
    let events = doc["traceEvents"].as_array().expect("a traceEvents array");

    // One named track per node (process 1) and per client (process 2).
    let names: BTreeSet<(u64, String)> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                num(e, "pid"),
                e["args"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for n in 0..NODES {
        assert!(names.contains(&(1, format!("n{n}"))), "no track for n{n}");
    }
    for c in 0..CLIENTS {
        assert!(names.contains(&(2, format!("c{c}"))), "no track for c{c}");
    }

    // Spans: request spans on clients, handler spans on nodes, never overlapping on a track.
    let mut tracks: BTreeMap<(u64, u64), Vec<(f64, f64)>> = BTreeMap::new();
    let mut cats: BTreeMap<(u64, String), usize> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let (ts, dur) = (
            e["ts"].as_f64().expect("ts"),
            e["dur"].as_f64().expect("dur"),
        );
        assert!(dur > 0.0, "a span lasts: {e}");
        assert!(e["args"]["trace_id"].is_string() && e["args"]["span_id"].is_string());
        tracks
            .entry((num(e, "pid"), num(e, "tid")))
            .or_default()
            .push((ts, ts + dur));
        let cat = e["cat"].as_str().unwrap_or("").to_string();
        *cats.entry((num(e, "pid"), cat)).or_default() += 1;
    }
    assert!(
        cats.get(&(1, "handler".into())).copied().unwrap_or(0) > 100,
        "{cats:?}"
    );
    assert!(
        cats.get(&(2, "request".into())).copied().unwrap_or(0) > 100,
        "{cats:?}"
    );
    for (track, spans) in &mut tracks {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in spans.windows(2) {
            assert!(w[1].0 >= w[0].1 - 1e-6, "spans overlap on {track:?}: {w:?}");
        }
    }

    // Flows: every id has one start and one finish, the finish not before the start, and
    // the start carries the trace context (trace id, sending span).
    let mut flows: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "s" || e["ph"] == "f") {
        flows.entry(num(e, "id")).or_default().push(e);
    }
    assert!(flows.len() > 1000, "only {} messages drawn", flows.len());
    let mut node_to_node = 0;
    for (id, pair) in &flows {
        let phases: Vec<&str> = pair
            .iter()
            .map(|e| e["ph"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            phases,
            ["s", "f"],
            "flow {id} is not one start then one finish"
        );
        assert!(
            pair[1]["ts"].as_f64() >= pair[0]["ts"].as_f64(),
            "flow {id} goes back"
        );
        assert!(
            pair[0]["args"]["trace_id"].is_string(),
            "flow {id} carries no trace id"
        );
        if num(pair[0], "pid") == 1 && num(pair[1], "pid") == 1 {
            node_to_node += 1;
        }
    }
    assert!(node_to_node > 0, "no message between nodes");
    // The partitions of the scenario are instants on the node tracks.
    let faults = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["cat"] == "fault")
        .count();
    assert!(faults > 0, "no fault instants");
}

#[test]
fn a_trace_can_be_cut_to_a_time_window_and_some_nodes() {
    let dir = std::env::temp_dir().join(format!("faultlab-trace-cut-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let trace = dir.join("trace.json");
    let replay = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_faultlab"))
            .args(["replay", "--scenario", SCENARIO, "--seed", SEED, "--out"])
            .arg(&dir)
            .arg("--trace-json")
            .arg(&trace)
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("faultlab runs")
    };
    let o = replay(&[
        "--trace-from-ms",
        "2000",
        "--trace-to-ms",
        "2500",
        "--trace-nodes",
        "0,2",
    ]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&std::fs::read(&trace).expect("trace")).expect("JSON");
    let events = doc["traceEvents"].as_array().expect("traceEvents");
    let node_tracks: BTreeSet<String> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && num(e, "pid") == 1)
        .map(|e| e["args"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(node_tracks, BTreeSet::from(["n0".into(), "n2".into()]));
    let spans: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert!(spans.len() > 50, "only {} spans in the window", spans.len());
    for e in &spans {
        let (ts, dur) = (
            e["ts"].as_f64().unwrap_or(-1.0),
            e["dur"].as_f64().unwrap_or(0.0),
        );
        assert!(
            ts + dur >= 2_000_000.0 && ts <= 2_500_000.0,
            "span outside the window: {e}"
        );
        if num(e, "pid") == 1 {
            assert!(
                [1, 3].contains(&num(e, "tid")),
                "a span of another node: {e}"
            );
        }
    }
    let mut flows: BTreeMap<u64, usize> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "s" || e["ph"] == "f") {
        *flows.entry(num(e, "id")).or_default() += 1;
    }
    assert!(
        flows.values().all(|&n| n == 2),
        "a message arrow lost an end"
    );
    // Refused with a clear error, not an empty trace.
    let o = replay(&["--trace-nodes", "9"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("node 9 is not in this 5-node scenario"),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn num(e: &Value, field: &str) -> u64 {
    e[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a number in {e}"))
}
