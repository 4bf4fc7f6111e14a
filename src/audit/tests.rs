use super::*;
use crate::plugin::Registry;

fn scenario(text: &str) -> (Scenario, String) {
    let registry = Registry::builtin();
    let sc = match registry.parse_scenario(text, "test.toml", Some("t")) {
        Ok(sc) => sc,
        Err(e) => panic!("test scenario does not parse: {e}"),
    };
    (sc, text.to_string())
}

const KV: &str = r#"
service = "kv"
nodes = 4
clients = 3
duration_ms = 1000

[kv]
keys = 5
sessions_max = 6
compact_after_entries = 4
"#;

#[test]
fn a_key_at_its_default_is_set_but_not_away_from_it() {
    let (sc, text) = scenario(KV);
    let set = match options_set(&sc, &text) {
        Ok(set) => set,
        Err(e) => panic!("{e}"),
    };
    let away: BTreeMap<&str, bool> = set
        .iter()
        .map(|o| (o.key.as_str(), o.away_from_default))
        .collect();
    assert_eq!(
        away,
        BTreeMap::from([
            ("compact_after_entries", true),
            ("keys", false),
            ("sessions_max", true)
        ])
    );
}

#[test]
fn a_nested_table_and_its_keys_are_options_and_knobs_count_as_set() {
    let (sc, text) = scenario(
        r#"
service = "idgen"
nodes = 5
clients = 2
duration_ms = 1000

[randomize]
knobs = true

[idgen.leases]
servers = 3
lease_ms = 600
"#,
    );
    let set = match options_set(&sc, &text) {
        Ok(set) => set,
        Err(e) => panic!("{e}"),
    };
    let get = |k: &str| set.iter().find(|o| o.key == k).cloned();
    assert!(get("leases").is_some_and(|o| o.away_from_default));
    assert!(get("leases.lease_ms").is_some_and(|o| o.away_from_default));
    // Three servers is the default; the table's presence is what changes the options.
    assert!(get("leases.servers").is_some_and(|o| !o.away_from_default));
    assert!(get("reserve_ms").is_some_and(|o| o.value == DRAWN_BY_KNOBS && o.away_from_default));
}

#[test]
fn every_builtin_service_lists_its_options_including_nested_tables() {
    let registry = Registry::builtin();
    let keys = |name: &str| match registry.get(name) {
        Some(s) => s.option_keys(),
        None => panic!("no service {name}"),
    };
    let kv = keys("kv");
    for k in [
        "sessions_max",
        "compact_after_entries",
        "lease_reads",
        "groups",
    ] {
        assert!(kv.iter().any(|x| x == k), "kv lacks {k}: {kv:?}");
    }
    let idgen = keys("idgen");
    assert!(idgen.iter().any(|x| x == "leases.lease_ms"), "{idgen:?}");
    for s in registry.services() {
        assert!(!s.option_keys().is_empty(), "{} lists no option", s.name());
    }
}

fn evidence(name: &str, notes: &[&[(&str, u64)]], options: Vec<OptionSet>) -> ScenarioEvidence {
    ScenarioEvidence {
        name: name.to_string(),
        service: "kv",
        options,
        notes_per_seed: notes
            .iter()
            .map(|seed| seed.iter().map(|&(l, n)| (l.to_string(), n)).collect())
            .collect(),
        abstract_states: BTreeSet::new(),
    }
}

#[test]
fn gaps_are_options_never_moved_notes_never_made_and_notes_never_declared() {
    const DECLARED: &[&str] = &["a/rare", "a/never"];
    let keys = vec!["x".to_string(), "y".to_string()];
    let ev = vec![
        evidence(
            "s1",
            &[&[("a/rare", 2)], &[("a/rare", 1), ("a/odd", 1)], &[]],
            vec![OptionSet {
                key: "x".into(),
                value: "3".into(),
                away_from_default: true,
            }],
        ),
        evidence(
            "s2",
            &[&[("buggify/drop-reply", 4)]],
            vec![OptionSet {
                key: "y".into(),
                value: "1".into(),
                away_from_default: false,
            }],
        ),
    ];
    let s = service_audit("kv", &keys, DECLARED, &["buggify/drop-reply"], &ev);
    assert_eq!(s.notes[0].1.seeds, 2, "two seeds made a/rare");
    assert_eq!(s.notes[1].1, NoteReach::default());
    assert_eq!(s.undeclared.keys().collect::<Vec<_>>(), ["a/odd"]);
    let audit = Audit {
        seeds: SeedRange { start: 0, end: 3 },
        runs: 4,
        services: vec![s],
    };
    assert_eq!(
        audit.gaps(),
        [
            Gap::OptionAtDefault {
                service: "kv",
                key: "y".into()
            },
            Gap::NoteUnreached {
                service: "kv",
                label: "a/never"
            },
            Gap::NoteUndeclared {
                service: "kv",
                label: "a/odd".into()
            },
        ]
    );
    assert_eq!(audit.overall(), Overall::Unknown, "a gap is never a pass");
}

#[test]
fn no_gap_is_a_pass() {
    const DECLARED: &[&str] = &["a/rare"];
    let ev = vec![evidence(
        "s1",
        &[&[("a/rare", 1)]],
        vec![OptionSet {
            key: "x".into(),
            value: "3".into(),
            away_from_default: true,
        }],
    )];
    let audit = Audit {
        seeds: SeedRange { start: 0, end: 1 },
        runs: 1,
        services: vec![service_audit("kv", &["x".into()], DECLARED, &[], &ev)],
    };
    assert_eq!(audit.overall(), Overall::Pass);
}

#[test]
fn states_only_one_scenario_reaches_are_counted_for_it() {
    let mut a = evidence("a", &[], Vec::new());
    a.abstract_states = BTreeSet::from([1, 2, 3]);
    let mut b = evidence("b", &[], Vec::new());
    b.abstract_states = BTreeSet::from([2, 3]);
    let s = service_audit("kv", &[], &[], &[], &[a, b]);
    assert_eq!(s.abstract_states, 3);
    assert_eq!(s.unique_states, BTreeMap::from([("a".to_string(), 1)]));
}
