//! The job's deterministic computation: a word count over a corpus generated from the job's
//! name, so the expected output of every partition is known to the invariants without running
//! anything but this file's sequential version.
//!
//! A job's input is `maps` splits of `words_per_split` words drawn (skewed: low words are
//! common) from a fixed vocabulary by hashing the job name, the split and the position. A word
//! belongs to reduce partition `fnv(word) % reduces` — the same on every worker, which is the
//! point (the planted bug `mr-random-partition-hash` salts it per process).

use super::options::MrOptions;
use crate::rng::Fnv64;
use std::collections::BTreeMap;

/// The words a corpus is made of.
const VOCABULARY: [&str; 32] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "one", "two", "three", "four",
    "five", "six",
];

/// One partition's output: word → count, in word order.
pub type Counts = BTreeMap<String, u64>;

fn hash(parts: &[&[u8]]) -> u64 {
    let mut h = Fnv64::new();
    for p in parts {
        h.write(p);
        h.write(&[0xff]);
    }
    h.finish()
}

/// The words of split `map` of job `job`.
pub fn split(opts: &MrOptions, job: &str, map: u32) -> Vec<&'static str> {
    let vocabulary = (opts.vocabulary as usize).clamp(1, VOCABULARY.len());
    (0..opts.words_per_split)
        .map(|i| {
            let h = hash(&[job.as_bytes(), &map.to_le_bytes(), &i.to_le_bytes()]);
            // Two draws, the smaller kept: a skewed (roughly triangular) distribution.
            let a = (h % vocabulary as u64) as usize;
            let b = ((h >> 32) % vocabulary as u64) as usize;
            VOCABULARY[a.min(b)]
        })
        .collect()
}

/// The reduce partition of `word` (`salt` 0: the stable one every worker agrees on).
pub fn partition(word: &str, reduces: u32, salt: u64) -> u32 {
    let h = hash(&[word.as_bytes(), &salt.to_le_bytes()]);
    (h % u64::from(reduces.max(1))) as u32
}

/// What map `map` of `job` emits for each partition: partition → counts.
pub fn map_output(opts: &MrOptions, job: &str, map: u32, salt: u64) -> BTreeMap<u32, Counts> {
    let mut out: BTreeMap<u32, Counts> = (0..opts.reduces).map(|r| (r, Counts::new())).collect();
    for w in split(opts, job, map) {
        let r = partition(w, opts.reduces, salt);
        *out.entry(r).or_default().entry(w.to_string()).or_insert(0) += 1;
    }
    out
}

/// The sequential computation: partition `part` of `job`'s output.
pub fn expected(opts: &MrOptions, job: &str, part: u32) -> Counts {
    let mut out = Counts::new();
    for m in 0..opts.maps {
        for w in split(opts, job, m) {
            if partition(w, opts.reduces, 0) == part {
                *out.entry(w.to_string()).or_insert(0) += 1;
            }
        }
    }
    out
}

/// True when `word` is one a corpus can hold (a peer's records are checked against it).
pub fn is_word(word: &str) -> bool {
    VOCABULARY.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_add_up_to_the_corpus_and_are_disjoint() {
        let opts = MrOptions::default();
        let total: u64 = (0..opts.reduces)
            .map(|p| expected(&opts, "c0-1", p).values().sum::<u64>())
            .sum();
        assert_eq!(total, u64::from(opts.maps * opts.words_per_split));
        let a = expected(&opts, "c0-1", 0);
        let b = expected(&opts, "c0-1", 1);
        assert!(a.keys().all(|w| !b.contains_key(w)));
        assert_ne!(expected(&opts, "c0-2", 0), a, "jobs differ");
        // The stable partition is the same everywhere; a salted one moves some words.
        let moved = VOCABULARY
            .iter()
            .filter(|w| partition(w, 2, 0) != partition(w, 2, 7))
            .count();
        assert!(moved > 0);
    }
}
