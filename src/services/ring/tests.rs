//! Ring properties: minimal movement on membership change, and a stated load-spread bound.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn keys(n: usize, salt: u64) -> Vec<String> {
    (0..n).map(|i| format!("key-{salt}-{i}")).collect()
}

fn assignment(ring: &Ring, keys: &[String]) -> Vec<GroupId> {
    keys.iter()
        .map(|k| ring.group_of(k).unwrap_or(GroupId::MAX))
        .collect()
}

/// max / mean of keys per group.
fn spread(ring: &Ring, keys: &[String]) -> f64 {
    let mut counts: BTreeMap<GroupId, u64> = ring.groups().map(|g| (g, 0)).collect();
    for k in keys {
        if let Some(g) = ring.group_of(k) {
            *counts.entry(g).or_default() += 1;
        }
    }
    let max = counts.values().copied().max().unwrap_or(0) as f64;
    let mean = keys.len() as f64 / counts.len() as f64;
    max / mean
}

#[test]
fn hash_is_pinned() {
    // Routing contract: if this changes, every deployed key moves.
    assert_eq!(ring_hash(b""), 0xf52a_15e9_a9b5_e89b);
    let ring = Ring::new(&[1, 2, 3], 64).expect("valid ring");
    let got: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .map(|k| ring.group_of(k))
        .collect();
    assert_eq!(got, vec![Some(3), Some(3), Some(3), Some(2)]);
}

#[test]
fn errors_are_values() {
    assert_eq!(Ring::new(&[1], 0), Err(RingError::BadVnodes(0)));
    assert_eq!(Ring::new(&[1, 1], 8), Err(RingError::DuplicateGroup(1)));
    let mut ring = Ring::new(&[], 8).expect("empty ring is valid");
    assert_eq!(ring.group_of("k"), None);
    assert_eq!(ring.remove_group(4), Err(RingError::UnknownGroup(4)));
    assert_eq!(ring.add_group(4), Ok(()));
    assert_eq!(ring.group_of("k"), Some(4));
}

/// Measured over 20,000 keys for 10 groups (group ids `10s..10s+10` and key salt `s` for s in 0..20): max/mean was
/// 1.15–1.52 at 32 vnodes, 1.07–1.22 at 128 and 1.03–1.15 at 512. The bounds below leave a
/// margin over the worst observed value.
const SPREAD_BOUNDS: [(u32, f64); 3] = [(32, 1.75), (128, 1.35), (512, 1.25)];

#[test]
fn load_spread_stays_within_the_stated_bound() {
    for (vnodes, bound) in SPREAD_BOUNDS {
        for salt in 0..5u32 {
            let groups: Vec<GroupId> = (salt * 10..salt * 10 + 10).collect();
            let ring = Ring::new(&groups, vnodes).expect("valid ring");
            let s = spread(&ring, &keys(20_000, u64::from(salt)));
            assert!(s <= bound, "vnodes {vnodes}: max/mean {s:.3} > {bound}");
        }
    }
}

#[test]
fn adding_a_group_moves_about_one_nth_of_keys() {
    let sample = keys(20_000, 99);
    for n in [3u32, 5, 10] {
        let mut ring = Ring::new(&(0..n).collect::<Vec<_>>(), 128).expect("valid ring");
        let before = assignment(&ring, &sample);
        ring.add_group(n).expect("new group");
        let after = assignment(&ring, &sample);
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        let fraction = moved as f64 / sample.len() as f64;
        let ideal = 1.0 / f64::from(n + 1);
        assert!(
            fraction > ideal * 0.6 && fraction < ideal * 1.5,
            "{n}+1 groups: moved {fraction:.3}, ideal {ideal:.3}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn membership_changes_move_only_the_changed_groups_keys(
        groups in proptest::collection::btree_set(0u32..50, 1..8),
        newcomer in 50u32..60,
        vnodes in 1u32..64,
        salt in any::<u64>(),
    ) {
        let groups: Vec<GroupId> = groups.into_iter().collect();
        let sample = keys(500, salt);
        let mut ring = Ring::new(&groups, vnodes).expect("valid ring");
        let before = assignment(&ring, &sample);

        ring.add_group(newcomer).expect("new group");
        let added = assignment(&ring, &sample);
        for (b, a) in before.iter().zip(&added) {
            prop_assert!(a == b || *a == newcomer, "a key moved {b} -> {a}, not to {newcomer}");
        }

        ring.remove_group(newcomer).expect("known group");
        prop_assert_eq!(&assignment(&ring, &sample), &before);

        let leaving = groups[0];
        if groups.len() > 1 {
            ring.remove_group(leaving).expect("known group");
            let removed = assignment(&ring, &sample);
            for (b, a) in before.iter().zip(&removed) {
                prop_assert!(a == b || *b == leaving, "a key moved {b} -> {a} though {leaving} left");
                prop_assert!(*a != leaving);
            }
        }
    }
}

#[test]
#[ignore = "measurement"]
fn measure_spread() {
    for vnodes in [32, 128, 512] {
        let v: Vec<f64> = (0..20u32)
            .map(|s| {
                let groups: Vec<GroupId> = (s * 10..s * 10 + 10).collect();
                let ring = Ring::new(&groups, vnodes).expect("valid ring");
                spread(&ring, &keys(20_000, u64::from(s)))
            })
            .collect();
        let lo = v.iter().copied().fold(f64::MAX, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        println!("vnodes {vnodes}: {lo:.3}..{hi:.3}");
    }
    println!("{:#x}", ring_hash(b""));
}
