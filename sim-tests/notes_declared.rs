//! Every note a shipped scenario makes is declared by its service (`ServiceSpec::NOTES`, or a
//! BUGGIFY point): the coverage audit (`faultlab scenarios --coverage`) lists the declared
//! notes no scenario reaches, so a rare path left undeclared would be invisible to it.
//!
//! The runs are those `scenarios` and `snapshots` share (`common::shipped_runs`).

use crate::common;
use std::collections::BTreeSet;

#[test]
fn every_note_a_shipped_scenario_makes_is_declared() {
    let mut undeclared = BTreeSet::new();
    let mut notes_seen = 0usize;
    for shipped in common::shipped_runs() {
        let sc = common::scenario(&shipped.name);
        let plugin = sc.plugin();
        for r in shipped.by_seed.values() {
            for label in r.counters.notes.keys() {
                notes_seen += 1;
                let declared = plugin.notes().contains(&label.as_str())
                    || plugin.buggify_points().contains(&label.as_str());
                if !declared {
                    undeclared.insert(format!("{} ({}): {label}", sc.service_name(), shipped.name));
                }
            }
        }
    }
    assert!(
        notes_seen > 0,
        "no shipped scenario made any note: the check saw nothing"
    );
    assert!(
        undeclared.is_empty(),
        "notes made but not declared in the service's NOTES: {undeclared:#?}"
    );
}

/// `faultlab scenarios --coverage` end to end: one calm scenario leaves most options at their
/// defaults and most notes unreached, which is "not covered" (exit 3), never a pass; a seed
/// range with no seed is bad input (exit 2).
#[test]
fn the_coverage_audit_of_one_calm_scenario_is_not_covered() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_faultlab"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap_or_else(|e| panic!("faultlab does not start: {e}"))
    };
    let calm = "fault-scenarios/idgen-calm.toml";
    let out = run(&["scenarios", "--coverage", "--seeds", "0..1", calm]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("verdict: not covered"), "{text}");
    assert!(text.contains("idgen (1 scenarios)"), "{text}");
    assert!(text.contains("NOT REACHED"), "{text}");
    let empty = run(&["scenarios", "--coverage", "--seeds", "3..3", calm]);
    assert_eq!(empty.status.code(), Some(2));
}
