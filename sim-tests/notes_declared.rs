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
