//! The plug-in boundary, checked on the source: the harness never names a built-in service
//! (they reach it only through the registry, as an outside crate's services do), and the
//! built-in services never import the harness. Test code (after `#[cfg(test)]`, and test-only
//! files) and comments are not looked at.

use crate::common::repo_path;
use std::path::{Path, PathBuf};

/// Folders and files of the harness: what runs, judges, shrinks and reports any service.
const HARNESS: &[&str] = &[
    "src/runner",
    "src/nemesis",
    "src/scenario",
    "src/shrink",
    "src/report",
    "src/cli",
    "src/bench",
    "src/backend",
    "src/world",
    "src/testing",
    "src/plugin",
    "src/invariants",
    "src/check",
    "src/client",
    "src/node",
    "src/fault",
    "src/counters.rs",
    "src/event.rs",
];

/// What naming a built-in service looks like in code.
const BUILTIN_NAMES: &[&str] = &[
    "crate::services",
    "faultlab::services",
    "IdgenService",
    "KvService",
    "LockService",
    "Registry::builtin",
];

/// The harness modules a service must not import.
const HARNESS_MODULES: &[&str] = &[
    "runner", "nemesis", "scenario", "shrink", "report", "cli", "testing", "backend", "world",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let entries =
        std::fs::read_dir(path).unwrap_or_else(|e| panic!("{}: cannot list: {e}", path.display()));
    for e in entries {
        let p = e
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let test_only = name
            .as_deref()
            .is_some_and(|n| n == "tests" || n == "tests.rs" || n.ends_with("_tests.rs"));
        if p.is_dir() && !test_only {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") && !test_only {
            out.push(p);
        }
    }
}

/// `(line number, code)` of a file's non-test, non-comment lines.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()));
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

fn offences(roots: &[&str], bad: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut files = Vec::new();
    for r in roots {
        rust_files(&repo_path(r), &mut files);
    }
    assert!(
        files.len() > 20,
        "found only {} files under {roots:?}",
        files.len()
    );
    let mut found = Vec::new();
    for f in &files {
        for (n, line) in code_lines(f) {
            if let Some(what) = bad(&line) {
                found.push(format!("{}:{n}: {what}: {}", f.display(), line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_harness_never_names_a_builtin_service() {
    let found = offences(HARNESS, |line| {
        BUILTIN_NAMES
            .iter()
            .find(|name| line.contains(*name))
            .map(|name| format!("names {name}"))
    });
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_builtin_services_never_import_the_harness() {
    let found = offences(&["src/services"], |line| {
        HARNESS_MODULES.iter().find_map(|m| {
            let path = format!("crate::{m}");
            let at = line.find(&path)?;
            // `crate::cli` must not match `crate::client`.
            let next = line[at + path.len()..].chars().next();
            let whole = next.is_none_or(|c| !c.is_alphanumeric() && c != '_');
            whole.then(|| format!("imports {path}"))
        })
    });
    assert!(found.is_empty(), "{found:#?}");
}

/// The built-in services (shared layers such as `raft`, `replicated` and `ring` are not).
const SERVICES: &[&str] = &[
    "cache",
    "crawler",
    "idgen",
    "jobs",
    "kv",
    "lock",
    "mapreduce",
];

/// What a line of service `own` names of another service other than its front door
/// (`services::<other>::api`), if anything.
fn reaches_past_front_door(own: &str, line: &str) -> Option<String> {
    SERVICES.iter().filter(|s| **s != own).find_map(|other| {
        [format!("services::{other}"), format!("super::{other}")]
            .into_iter()
            .find_map(|path| {
                let at = line.find(&path)?;
                let rest = &line[at + path.len()..];
                let whole = rest
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                (whole && !rest.starts_with("::api")).then(|| format!("reaches into {path}"))
            })
    })
}

#[test]
fn a_service_reaches_another_only_through_its_front_door() {
    for own in SERVICES {
        let folder = format!("src/services/{own}");
        let mut files = Vec::new();
        rust_files(&repo_path(&folder), &mut files);
        assert!(
            files.len() > 3,
            "found only {} files in {folder}",
            files.len()
        );
        let mut found = Vec::new();
        for f in &files {
            for (n, line) in code_lines(f) {
                if let Some(what) = reaches_past_front_door(own, &line) {
                    found.push(format!("{}:{n}: {what}: {}", f.display(), line.trim()));
                }
            }
        }
        assert!(found.is_empty(), "{found:#?}");
    }
}

#[test]
fn the_checks_above_can_fail() {
    assert!(
        reaches_past_front_door("idgen", "use crate::services::lock::{LockMachine, x};").is_some()
    );
    assert!(reaches_past_front_door("idgen", "use super::lock::LockOptions;").is_some());
    assert!(reaches_past_front_door("idgen", "use crate::services::lock::api::Call;").is_none());
    assert!(reaches_past_front_door("lock", "use crate::services::lock::machine;").is_none());
    assert!(reaches_past_front_door("kv", "use crate::services::kvx::Y;").is_none());
    // The same predicates on lines that break the rules.
    assert!(
        BUILTIN_NAMES
            .iter()
            .any(|n| "use crate::services::kv::KvService;".contains(n))
    );
    let line = "use crate::runner::run_seed;";
    assert!(
        HARNESS_MODULES
            .iter()
            .any(|m| line.contains(&format!("crate::{m}::")))
    );
}
