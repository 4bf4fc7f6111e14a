//! Replays every seed listed in `sim-tests/regressions.txt` and checks its expected outcome.

use crate::common;
use faultlab::Registry;

#[derive(Debug)]
enum Expect {
    Pass,
    Fail(String),
}

#[derive(Debug)]
struct Entry {
    line: usize,
    scenario: String,
    seed: u64,
    bugs: Vec<String>,
    expect: Expect,
}

fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let mut words = raw.split_whitespace();
        let scenario = words
            .next()
            .ok_or(format!("line {line}: empty"))?
            .to_string();
        let (mut seed, mut bugs, mut expect) = (None, Vec::new(), None);
        for w in words {
            let (k, v) = w
                .split_once('=')
                .ok_or(format!("line {line}: {w:?} is not key=value"))?;
            match k {
                "seed" => {
                    seed = Some(
                        v.parse::<u64>()
                            .map_err(|_| format!("line {line}: bad seed {v:?}"))?,
                    )
                }
                "bug" => {
                    Registry::builtin()
                        .find_bug(v)
                        .map_err(|e| format!("line {line}: {e}"))?;
                    bugs.push(v.to_string());
                }
                "expect" if v == "pass" => expect = Some(Expect::Pass),
                "expect" => match v.strip_prefix("fail:") {
                    Some(inv) => expect = Some(Expect::Fail(inv.to_string())),
                    None => {
                        return Err(format!(
                            "line {line}: expect must be pass or fail:<invariant>"
                        ));
                    }
                },
                _ => return Err(format!("line {line}: unknown key {k:?}")),
            }
        }
        let seed = seed.ok_or(format!("line {line}: no seed="))?;
        let expect = expect.ok_or(format!("line {line}: no expect="))?;
        entries.push(Entry {
            line,
            scenario,
            seed,
            bugs,
            expect,
        });
    }
    Ok(entries)
}

#[test]
fn every_listed_regression_replays_as_expected() {
    let path = common::repo_path("sim-tests/regressions.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let entries = parse(&text).unwrap_or_else(|e| panic!("sim-tests/regressions.txt: {e}"));
    assert!(!entries.is_empty(), "no regressions listed");
    for e in entries {
        let name = e
            .scenario
            .trim_start_matches("fault-scenarios/")
            .trim_end_matches(".toml");
        let bugs: Vec<&str> = e.bugs.iter().map(String::as_str).collect();
        let outcome = common::run(&common::scenario(name), e.seed, &bugs);
        let failed: Vec<&str> = outcome.failures().map(|v| v.invariant).collect();
        let hint = common::replay_hint(&outcome);
        match &e.expect {
            Expect::Pass => common::assert_passed(&outcome),
            Expect::Fail(inv) => {
                assert!(
                    failed.contains(&inv.as_str()),
                    "line {}: expected {inv} to fail, got {failed:?}\n{hint}",
                    e.line
                )
            }
        }
    }
}

#[test]
fn malformed_lines_are_rejected_with_their_line_number() {
    for (text, needle) in [
        ("x.toml seed=1", "line 1: no expect="),
        ("x.toml expect=pass", "line 1: no seed="),
        ("\nx.toml seed=q expect=pass", "line 2: bad seed"),
        ("x.toml seed=1 bug=nope expect=pass", "unknown planted bug"),
        ("x.toml seed=1 expect=maybe", "expect must be"),
        ("x.toml seed=1 colour=red expect=pass", "unknown key"),
    ] {
        let err = parse(text).err().unwrap_or_default();
        assert!(err.contains(needle), "{text:?}: {err:?}");
    }
}
