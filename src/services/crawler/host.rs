//! A web host of the simulated web: it serves the generated pages (robots.txt, pages,
//! redirects, private pages, 404s), fails a share of requests with 503 if told to, answers
//! after a drawn serving time, and records every request it receives as a `crawler/request`
//! observation — the records politeness, duplicate fetches and robots are judged on, in true
//! simulated time. It keeps nothing on disk: a restarted host serves the same web.

use super::msg::CrawlMsg;
use super::options::CrawlerOptions;
use super::web::{self, Served, Web};
use crate::ids::NodeId;
use crate::node::service::{Ctx, Service, TimerId};
use rand::Rng;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Answers waiting for their serving time: `TimerId(ANSWER_TIMER_BASE + n)`.
pub const ANSWER_TIMER_BASE: u64 = 1_000;
/// Bound on answers waiting: beyond it a host answers at once.
const WAITING_MAX: usize = 256;

/// A web host.
#[derive(Debug)]
pub struct WebHost {
    host: u32,
    hosts: u32,
    web: Web,
    fail_ppm: u32,
    url_bytes_max: usize,
    serve_ms_max: u64,
    waiting: BTreeMap<u64, (NodeId, CrawlMsg)>,
    next: u64,
}

impl WebHost {
    /// Host number `host`.
    pub fn new(opts: &CrawlerOptions, host: u32) -> WebHost {
        WebHost {
            host,
            hosts: opts.hosts,
            web: Web::new(opts),
            fail_ppm: opts.host_fail_ppm,
            url_bytes_max: opts.url_bytes_max,
            serve_ms_max: opts.serve_ms_max,
            waiting: BTreeMap::new(),
            next: 0,
        }
    }

    /// True when a request for `url` is within the bounds (longer ones are dropped unseen).
    pub fn takes(&self, url: &str) -> bool {
        url.len() <= self.url_bytes_max
    }

    /// What the host answers to `url` (spelled any way), before any failure.
    pub fn answer(&self, url: &str) -> Served {
        let not_found = Served {
            status: 404,
            links: Vec::new(),
            location: None,
            robots: None,
        };
        match (web::host_of(url, self.hosts), web::path_of(url, self.hosts)) {
            (Some(h), Some(path)) if h == self.host => self.web.serve(h, &path),
            _ => not_found,
        }
    }

    /// A request from crawler `from`.
    pub fn on_fetch<S: Service<Msg = CrawlMsg>>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        from: NodeId,
        url: &str,
        token: u64,
        fetch: u64,
    ) {
        let failing = self.fail_ppm > 0 && ctx.rng().random_range(0..1_000_000) < self.fail_ppm;
        let mut served = self.answer(url);
        if failing {
            served = Served {
                status: 503,
                links: Vec::new(),
                location: None,
                robots: None,
            };
        }
        let normal = web::normalise(url, self.hosts).unwrap_or_else(|| url.to_string());
        let path = web::path_of(url, self.hosts).unwrap_or_default();
        ctx.observe(
            "crawler/request",
            json!({
                "host": self.host,
                "url": normal,
                "raw": url,
                "path": path,
                "crawler": from.0,
                "token": token,
                "fetch": fetch,
                "status": served.status,
            }),
        );
        let answer = CrawlMsg::Page { fetch, served };
        let serve_ms = ctx.rng().random_range(0..=self.serve_ms_max);
        if serve_ms == 0 || self.waiting.len() >= WAITING_MAX {
            ctx.send(from, answer);
            return;
        }
        self.next += 1;
        self.waiting.insert(self.next, (from, answer));
        ctx.set_timer(
            TimerId(ANSWER_TIMER_BASE + self.next),
            Duration::from_millis(serve_ms),
        );
    }

    /// An answer's serving time is over.
    pub fn on_timer<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>, timer: TimerId) {
        let Some(n) = timer.0.checked_sub(ANSWER_TIMER_BASE) else {
            return;
        };
        if let Some((to, answer)) = self.waiting.remove(&n) {
            ctx.send(to, answer);
        }
    }
}
