//! The built-in services. Each is one plug-in ([`crate::plugin::ServiceSpec`]) registered the
//! way any other crate registers its own ([`crate::plugin::Registry::with`]): adding one touches
//! its own folder, one line in [`Registry::builtin`] below, its scenarios and its tests.
//!
//! A service's core never imports the simulator, the nemesis or the checkers; only its plug-in
//! file wires the core to its invariants (which may use the checker).

pub mod cache;
pub mod crawler;
pub mod idgen;
pub mod jobs;
pub mod kv;
pub mod lock;
pub mod mapreduce;
pub mod raft;
pub mod replicated;
pub mod ring;

use crate::plugin::Registry;

impl Registry {
    /// The services faultlab ships: the ID generator, the KV store, the lock service, the
    /// cache tier, the job queue, the web crawler and MapReduce.
    pub fn builtin() -> Self {
        Registry::new()
            .with::<idgen::IdgenService>()
            .with::<kv::KvService>()
            .with::<lock::LockService>()
            .with::<cache::CacheService>()
            .with::<jobs::JobsService>()
            .with::<crawler::CrawlerService>()
            .with::<mapreduce::MapReduceService>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_and_bugs_are_unique_and_prefixed() {
        let registry = Registry::builtin();
        let names: BTreeSet<&str> = registry.services().map(|s| s.name()).collect();
        assert_eq!(
            names,
            BTreeSet::from([
                "cache",
                "crawler",
                "idgen",
                "jobs",
                "kv",
                "lock",
                "mapreduce"
            ])
        );
        let mut bugs = BTreeSet::new();
        for s in registry.services() {
            assert_eq!(registry.get(s.name()).map(|g| g.name()), Some(s.name()));
            assert!(!s.bugs().is_empty(), "{} has no planted bug", s.name());
            for b in s.bugs() {
                assert!(bugs.insert(b.name), "bug {b} declared twice");
                let owner = registry.find_bug(b.name).map(|(o, _)| o.name());
                assert_eq!(owner, Ok(s.name()));
            }
        }
        assert!(registry.find_bug("idgen-nope").is_err());
        assert!(registry.get("nope").is_none());
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn a_service_registered_twice_is_refused() {
        let _ = Registry::builtin().with::<kv::KvService>();
    }
}
