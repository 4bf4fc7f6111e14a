//! The crawler's planted bugs: the classic crawler mistakes, each one switch in the crawler
//! ([`super::owner`]); the crawl state and the web hosts are the same with every bug.

use crate::bugs::{Bug, BugSet};
use crate::services::replicated::HostBugs;

/// Politeness per crawler node, ownership by the ring over the crawlers a node hears from.
pub const POLITENESS_PER_NODE: Bug = Bug::new(
    "crawler-politeness-per-node",
    "a crawler crawls the hosts the ring gives it over the crawlers it hears from, timing the crawl delay per node: cut off from each other, two crawlers hit one host",
);
/// The seen-set lives in each crawler's memory, not in the crawl state.
pub const SEEN_SET_IN_MEMORY: Bug = Bug::new(
    "crawler-seen-set-in-memory",
    "the seen-set is kept in each crawler's memory: a restarted crawler (or a host's next owner) fetches again what was fetched",
);
/// URLs are deduplicated as spelled.
pub const NO_NORMALISATION: Bug = Bug::new(
    "crawler-no-normalisation",
    "URLs are deduplicated as spelled (case, default port, trailing slash, fragment): one page is fetched under each spelling",
);
/// An owner takes its host's whole frontier into memory.
pub const FRONTIER_LOST_ON_CRASH: Bug = Bug::new(
    "crawler-frontier-lost-on-crash",
    "an owner takes its host's frontier off the crawl state into memory: a crash loses the URLs it had not fetched",
);
/// The crawl delay is judged on the wall clock.
pub const DELAY_WALL_CLOCK: Bug = Bug::new(
    "crawler-delay-wall-clock",
    "an owner times the crawl delay on its wall clock: a clock stepped forward ends the wait early",
);
/// A fetch that timed out is retried at once.
pub const RETRY_AT_ONCE: Bug = Bug::new(
    "crawler-retry-at-once",
    "a fetch that timed out is retried at once, without waiting out the crawl delay: the slow first request and the retry land together",
);

/// Every planted bug of the crawler.
pub const ALL: &[Bug] = &[
    POLITENESS_PER_NODE,
    SEEN_SET_IN_MEMORY,
    NO_NORMALISATION,
    FRONTIER_LOST_ON_CRASH,
    DELAY_WALL_CLOCK,
    RETRY_AT_ONCE,
];

/// The replicated host's bugs: none (every crawler bug is in the crawler).
pub fn host_bugs(_bugs: &BugSet) -> HostBugs {
    HostBugs::default()
}
