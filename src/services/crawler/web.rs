//! The simulated web: URLs, their normalisation, the generated link graph and what a host
//! serves. Everything here is a pure function of the options, so the invariants can compute
//! what a complete crawl fetches from the same options the nodes ran with.
//!
//! A URL is `http://hK.example[:80]/path[#fragment]`, host names case-insensitive. The graph
//! spells its links several ways (`HTTP://H1.Example:80/p3/#top` is `http://h1.example/p3`),
//! links to redirects (`/oldK` answers 301 to `/pK`) and to pages robots.txt disallows
//! (`/private/K`). Host `hK` is reachable as long as its name resolves (case-insensitively, as
//! DNS does): which host a URL is on never depends on normalising it; which page, does.

use super::options::CrawlerOptions;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// What robots.txt says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Robots {
    /// Path prefixes no crawler may fetch.
    pub disallow: Vec<String>,
    /// The least time between two requests to the host.
    pub delay_ms: u64,
}

impl Robots {
    /// True when `path` may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        !self.disallow.iter().any(|d| path.starts_with(d.as_str()))
    }
}

/// What a host answers to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Served {
    /// The HTTP status (200, 301, 404, 503).
    pub status: u16,
    /// The page's links, spelled as the page spells them.
    pub links: Vec<String>,
    /// Where a 301 points.
    pub location: Option<String>,
    /// robots.txt's rules, when that is what was fetched.
    pub robots: Option<Robots>,
}

/// A URL taken apart: its host's number and its path (fragment dropped, trailing slash kept).
fn split(raw: &str, hosts: u32) -> Option<(u32, &str)> {
    let (scheme, rest) = raw.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let rest = rest.split('#').next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let name = match authority.split_once(':') {
        Some((name, "80")) => name,
        Some(_) => return None,
        None => authority,
    };
    let lower = name.to_ascii_lowercase();
    let number = lower.strip_prefix('h')?.strip_suffix(".example")?;
    if number.is_empty() || (number.len() > 1 && number.starts_with('0')) {
        return None;
    }
    let host: u32 = number.parse().ok()?;
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    (host < hosts && path_ok).then_some((host, path))
}

/// The host a URL is on (name resolution is case-insensitive), if it is on this web.
pub fn host_of(raw: &str, hosts: u32) -> Option<u32> {
    split(raw, hosts).map(|(h, _)| h)
}

/// The URL's path as the host resolves it (no fragment, no trailing slash but the root's).
pub fn path_of(raw: &str, hosts: u32) -> Option<String> {
    let (_, path) = split(raw, hosts)?;
    let trimmed = path.trim_end_matches('/');
    Some(if trimmed.is_empty() { "/" } else { trimmed }.to_string())
}

/// The canonical spelling: lower-case scheme and host, no default port, no fragment, no
/// trailing slash. Two spellings of one page normalise alike; `None` for a URL off this web.
pub fn normalise(raw: &str, hosts: u32) -> Option<String> {
    let host = host_of(raw, hosts)?;
    Some(format!("http://h{host}.example{}", path_of(raw, hosts)?))
}

/// SplitMix64 over the graph seed and a few coordinates: the graph's only randomness.
fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut z = seed ^ 0x9e37_79b9_7f4a_7c15;
    for p in parts {
        z = z.wrapping_add(*p).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
    }
    z
}

/// `path` on host `host`, spelled the `variant`-th way.
pub fn spell(host: u32, path: &str, variant: u64) -> String {
    match variant % 6 {
        0 => format!("http://h{host}.example{path}"),
        1 => format!("HTTP://H{host}.Example{path}"),
        2 => format!("http://h{host}.example:80{path}"),
        3 => format!("http://h{host}.example{path}/"),
        4 => format!("http://h{host}.example{path}#top"),
        _ => format!("http://H{host}.EXAMPLE:80{path}/#x"),
    }
}

/// The generated web of a run.
#[derive(Debug, Clone)]
pub struct Web {
    hosts: u32,
    pages: u32,
    seed: u64,
    delays_ms: Vec<u64>,
}

/// What robots.txt disallows on every host.
pub const PRIVATE: &str = "/private";

impl Web {
    /// The web these options describe.
    pub fn new(opts: &CrawlerOptions) -> Web {
        Web {
            hosts: opts.hosts,
            pages: opts.pages_per_host.max(1),
            seed: opts.graph_seed,
            delays_ms: (0..opts.hosts).map(|h| opts.delay_ms(h)).collect(),
        }
    }

    /// Host `host`'s robots.txt.
    pub fn robots(&self, host: u32) -> Robots {
        Robots {
            disallow: vec![PRIVATE.to_string()],
            delay_ms: self.delays_ms.get(host as usize).copied().unwrap_or(1),
        }
    }

    /// The links of page `/p{page}` on `host`.
    pub fn links(&self, host: u32, page: u32) -> Vec<String> {
        let (h, k, n) = (u64::from(host), u64::from(page), u64::from(self.pages));
        let r = |i: u64| mix(self.seed, &[h, k, i]);
        let other =
            |i: u64| (h + 1 + r(i) % u64::from(self.hosts.max(2) - 1)) % u64::from(self.hosts);
        let mut links = vec![spell(host, &format!("/p{}", (k + 1) % n), r(0))];
        let cross = u32::try_from(other(1)).unwrap_or(0);
        links.push(spell(cross, &format!("/p{}", r(2) % n), r(3)));
        if r(4) % 2 == 0 {
            let to = u32::try_from(other(5)).unwrap_or(0);
            links.push(spell(to, &format!("/old{}", r(6) % n), r(7)));
        }
        if r(8) % 3 == 0 {
            links.push(spell(host, &format!("{PRIVATE}/{}", r(9) % n), r(10)));
        }
        if r(11) % 2 == 0 {
            links.push(spell(host, &format!("/p{}", r(12) % n), r(13)));
        }
        links
    }

    /// What host `host` answers to a request for `path` (already resolved by [`path_of`]).
    pub fn serve(&self, host: u32, path: &str) -> Served {
        let page = |links| Served {
            status: 200,
            links,
            location: None,
            robots: None,
        };
        let number = |prefix: &str| {
            path.strip_prefix(prefix)
                .and_then(|k| k.parse::<u32>().ok())
                .filter(|k| *k < self.pages)
        };
        if path == "/robots.txt" {
            return Served {
                robots: Some(self.robots(host)),
                ..page(Vec::new())
            };
        }
        if let Some(k) = number("/p") {
            return page(self.links(host, k));
        }
        if let Some(k) = number("/old") {
            let to = spell(
                host,
                &format!("/p{k}"),
                mix(self.seed, &[u64::from(host), u64::from(k), 99]),
            );
            return Served {
                status: 301,
                location: Some(to),
                ..page(Vec::new())
            };
        }
        if number(&format!("{PRIVATE}/")).is_some() {
            return page(Vec::new());
        }
        Served {
            status: 404,
            ..page(Vec::new())
        }
    }

    /// Every URL (normalised) a complete, polite crawl from `seeds` fetches: what the seeds
    /// reach through links and redirects, less what robots.txt disallows. robots.txt itself is
    /// not counted.
    pub fn reachable(&self, seeds: &[String]) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<String> = seeds
            .iter()
            .filter_map(|s| normalise(s, self.hosts))
            .collect();
        while let Some(url) = queue.pop_front() {
            let Some(host) = host_of(&url, self.hosts) else {
                continue;
            };
            let Some(path) = path_of(&url, self.hosts) else {
                continue;
            };
            if !self.robots(host).allows(&path) || !seen.insert(url.clone()) {
                continue;
            }
            let served = self.serve(host, &path);
            for next in served.links.iter().chain(served.location.iter()) {
                if let Some(n) = normalise(next, self.hosts) {
                    queue.push_back(n);
                }
            }
        }
        seen
    }
}
