//! The crawler's promises, judged at the web hosts from the `crawler/request` records they
//! make of every request they receive, in true simulated time:
//!
//! - `politeness` (always): no host receives two requests closer than the crawl delay its
//!   robots.txt asks for;
//! - `no-duplicate-fetch` (always): a normalised URL a host has served (any status but 503)
//!   is requested again only as the forced retry the bound allows: when the last request the
//!   serving request's fencing token made to that host before this one was for the same URL —
//!   its crawler never learned (or never recorded) the answer: a lost response, a 503, a
//!   crash, a lost lease. So the duplicates are at most one per timed-out or failed fetch and
//!   one per lost lease;
//! - `completeness` (eventually): every page reachable from the seeds acknowledged before the
//!   cutoff — the middle of the liveness phase, or [`settle_ms`] before the end if earlier
//!   (robots-disallowed pages aside) — has been served by the end of the run (unknown when no
//!   seed was acknowledged that early);
//! - `robots-respected` (always): no request for a path robots.txt disallows.
//!
//! A request the network delivered twice (one crawler, one request number) is one request.
//! Each verdict blames the host records that break it, or the seed's history line.

use super::options::CrawlerOptions;
use super::web::Web;
use crate::history::{History, OpType};
use crate::invariants::{
    Evidence, Invariant, Outcome, RunRecords, Tag, Verdict, observations_indexed,
};
use crate::time::SimTime;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every crawler invariant.
pub fn all(opts: &CrawlerOptions) -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(Politeness { opts: opts.clone() }),
        Box::new(NoDuplicateFetch),
        Box::new(Completeness {
            opts: opts.clone(),
            settle_ms: settle_ms(opts),
        }),
        Box::new(RobotsRespected { opts: opts.clone() }),
    ]
}

/// What a bare history supports: nothing of the hosts' side is in it, so no verdict.
pub fn history_checks(_opts: &CrawlerOptions, _history: &History) -> Vec<Verdict> {
    Vec::new()
}

/// One request a host received.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its index in the event log.
    pub record: usize,
    /// When it arrived.
    pub at: SimTime,
    /// The host.
    pub host: u64,
    /// The URL, normalised.
    pub url: String,
    /// Its path.
    pub path: String,
    /// The crawler (node number).
    pub crawler: u64,
    /// Its fencing token.
    pub token: u64,
    /// The crawler's request number.
    pub fetch: u64,
    /// What the host answered.
    pub status: u64,
}

/// Every request the hosts received, in arrival order, each once.
pub fn requests(r: &RunRecords<'_>) -> Vec<Request> {
    let mut once = BTreeSet::new();
    let num = |v: &Value, f: &str| v.get(f).and_then(Value::as_u64).unwrap_or(0);
    let text = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    observations_indexed(r.events, "crawler/request")
        .filter(|(_, _, _, v)| once.insert((num(v, "crawler"), num(v, "fetch"))))
        .map(|(record, at, _, v)| Request {
            record,
            at,
            host: num(v, "host"),
            url: text(v, "url"),
            path: text(v, "path"),
            crawler: num(v, "crawler"),
            token: num(v, "token"),
            fetch: num(v, "fetch"),
            status: num(v, "status"),
        })
        .collect()
}

fn blaming(key: &str, events: Vec<usize>, lines: Vec<u32>) -> Evidence {
    Evidence {
        blamed_events: events,
        blamed_lines: lines,
        key: serde_json::to_string(key).ok(),
        ..Evidence::default()
    }
}

/// `politeness`.
pub struct Politeness {
    /// The options (each host's crawl delay).
    pub opts: CrawlerOptions,
}

impl Invariant for Politeness {
    fn name(&self) -> &'static str {
        "politeness"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the two requests too close together.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let mut last: BTreeMap<u64, Request> = BTreeMap::new();
        for q in requests(r) {
            let delay_ms = self.opts.delay_ms(u32::try_from(q.host).unwrap_or(0));
            if let Some(p) = last.get(&q.host) {
                let gap_ns = q.at.ns.saturating_sub(p.at.ns);
                if gap_ns < delay_ms.saturating_mul(1_000_000) {
                    let m = format!(
                        "host h{} received {} from n{} (token {}) at {} and {} from n{} (token {}) \
                         at {}: {:.1} ms apart, its crawl delay is {delay_ms} ms",
                        q.host,
                        p.url,
                        p.crawler,
                        p.token,
                        p.at,
                        q.url,
                        q.crawler,
                        q.token,
                        q.at,
                        gap_ns as f64 / 1e6
                    );
                    let key = format!("h{}", q.host);
                    return (
                        Outcome::Fail(m),
                        blaming(&key, vec![p.record, q.record], Vec::new()),
                    );
                }
            }
            last.insert(q.host, q);
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `no-duplicate-fetch`.
pub struct NoDuplicateFetch;

impl Invariant for NoDuplicateFetch {
    fn name(&self) -> &'static str {
        "no-duplicate-fetch"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the earlier request that was served, the token's later request that shows its
    /// crawler moved on, and the duplicate.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        // Per host: URL → the request that last served it; token → its latest request.
        let mut served: BTreeMap<(u64, String), Request> = BTreeMap::new();
        let mut latest: BTreeMap<(u64, u64), Request> = BTreeMap::new();
        for q in requests(r) {
            if let Some(p) = served.get(&(q.host, q.url.clone()))
                && let Some(moved) = latest.get(&(q.host, p.token)).filter(|l| l.url != q.url)
            {
                let m = format!(
                    "{} was served at {} (n{}, token {}) and requested again at {} (n{}, token {}), \
                     though token {} had gone on to request {} at {}: not a forced retry",
                    q.url,
                    p.at,
                    p.crawler,
                    p.token,
                    q.at,
                    q.crawler,
                    q.token,
                    p.token,
                    moved.url,
                    moved.at
                );
                let blamed = vec![p.record, moved.record, q.record];
                return (Outcome::Fail(m), blaming(&q.url, blamed, Vec::new()));
            }
            latest.insert((q.host, q.token), q.clone());
            if q.status != 503 {
                served.insert((q.host, q.url.clone()), q);
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// Seeds acknowledged `ok`: (normalised URL, 1-based history line, when).
fn ok_seeds(history: &History) -> Vec<(String, u32, u64)> {
    let mut open: BTreeMap<String, (String, u32)> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, e) in history.events.iter().enumerate() {
        if e.f != "seed" {
            continue;
        }
        let process = format!("{:?}", e.process);
        match e.kind {
            OpType::Invoke => {
                let url = e.key.as_ref().and_then(Value::as_str).unwrap_or("");
                let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
                open.insert(process, (url.to_string(), line));
            }
            OpType::Ok => {
                if let Some((url, line)) = open.remove(&process) {
                    out.push((url, line, e.time.unwrap_or(0)));
                }
            }
            OpType::Fail | OpType::Info => {
                open.remove(&process);
            }
        }
    }
    out
}

/// How long crawling the whole web takes once everything is healed, at most: a lost lease runs
/// out and the host's next owner claims it and waits, then every page, redirect and robots.txt
/// of a host, one crawl delay (stretched) and two round trips to the crawl state apart.
pub fn settle_ms(opts: &CrawlerOptions) -> u64 {
    let handover = opts.stretched_ms(opts.lease_ms) + opts.claim_ms + opts.handover_wait_ms();
    let requests = 2 * u64::from(opts.pages_per_host) + 1;
    handover + requests * (opts.stretched_ms(opts.crawl_delay_ms) + 2 * opts.attempt_timeout_ms / 5)
}

/// `completeness`.
pub struct Completeness {
    /// The options (the web's graph).
    pub opts: CrawlerOptions,
    /// See [`settle_ms`]: only seeds acknowledged this long before the end are judged.
    pub settle_ms: u64,
}

impl Invariant for Completeness {
    fn name(&self) -> &'static str {
        "completeness"
    }
    fn tag(&self) -> Tag {
        Tag::Eventually
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the seed the missing page is reachable from (its history line).
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        if r.liveness_ms == 0 {
            let why = "no liveness phase to judge the crawl's end in".into();
            return (Outcome::Unknown(why), Evidence::default());
        }
        if r.events_overflowed {
            let why = "the event log overflowed: the hosts' records are incomplete".into();
            return (Outcome::Unknown(why), Evidence::default());
        }
        let liveness_ns = r.liveness_ms.saturating_mul(1_000_000);
        let end_ns = r.heal_at.ns.saturating_add(liveness_ns);
        let cutoff_ns = r
            .heal_at
            .ns
            .saturating_add(liveness_ns / 2)
            .min(end_ns.saturating_sub(self.settle_ms.saturating_mul(1_000_000)));
        let seeds = ok_seeds(r.history);
        if !seeds.is_empty() && seeds.iter().all(|(_, _, ok_ns)| *ok_ns > cutoff_ns) {
            let why = format!(
                "no seed was acknowledged at least {} ms before the end (the crawl's settle \
                 time): too short a run to judge",
                self.settle_ms
            );
            return (Outcome::Unknown(why), Evidence::default());
        }
        let web = Web::new(&self.opts);
        let done: BTreeSet<String> = requests(r)
            .into_iter()
            .filter(|q| q.status != 503)
            .map(|q| q.url)
            .collect();
        for (seed, line, ok_ns) in seeds {
            if ok_ns > cutoff_ns {
                continue;
            }
            if let Some(missing) = web
                .reachable(std::slice::from_ref(&seed))
                .into_iter()
                .find(|u| !done.contains(u))
            {
                let m = format!(
                    "{missing} is reachable from the seed {seed} (ok at {}) but no host served it \
                     by the end of the run",
                    SimTime { ns: ok_ns }
                );
                return (Outcome::Fail(m), blaming(&missing, Vec::new(), vec![line]));
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `robots-respected`.
pub struct RobotsRespected {
    /// The options (each host's robots.txt).
    pub opts: CrawlerOptions,
}

impl Invariant for RobotsRespected {
    fn name(&self) -> &'static str {
        "robots-respected"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the request for a disallowed path.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let web = Web::new(&self.opts);
        for q in requests(r) {
            let host = u32::try_from(q.host).unwrap_or(0);
            if !web.robots(host).allows(&q.path) {
                let m = format!(
                    "host h{} received {} from n{} (token {}) at {}: its robots.txt disallows it",
                    q.host, q.url, q.crawler, q.token, q.at
                );
                return (
                    Outcome::Fail(m),
                    blaming(&q.url, vec![q.record], Vec::new()),
                );
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}
