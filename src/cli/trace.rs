//! tracing output for the binary: `RUST_LOG` filters it (default `warn` on stderr); replay can
//! send it to a file. Lines are stamped with true simulated time when emitted inside a run.
//!
//! `RUST_LOG` takes levels and `target=level` directives (tracing-subscriber's `Targets`), not
//! `EnvFilter`'s span and field filters: those pulled a regex engine into every cold build for
//! a feature no faultlab trace needs.

use std::fs::File;
use std::path::Path;
use std::sync::Mutex;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Stamps events with simulated time (`-` outside a simulated host).
struct SimTimer;

impl FormatTime for SimTimer {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        // Inside a simulated host the simulator knows the time; outside (the nemesis, the
        // runner) the runner's last reading does.
        let now = turmoil::sim_elapsed()
            .map(crate::time::SimTime::from_duration)
            .or_else(crate::time::trace_now);
        match now {
            Some(t) => write!(w, "t={:>10.6}s", t.ns as f64 / 1e9),
            None => write!(w, "t={:>11}", "-"),
        }
    }
}

/// Installs the global subscriber. With `file`, output goes there (default level `info`).
pub fn init(file: Option<&Path>) -> anyhow::Result<()> {
    let default = if file.is_some() { "info" } else { "warn" };
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| default.to_string());
    let filter: Targets = directives.parse().map_err(|e| {
        anyhow::anyhow!(
            "RUST_LOG={directives:?}: {e} (levels and target=level directives, comma-separated)"
        )
    })?;
    let builder = tracing_subscriber::fmt()
        .with_timer(SimTimer)
        .with_target(false);
    let installed = match file {
        Some(path) => {
            let f = File::create(path).map_err(|e| {
                anyhow::anyhow!("{}: cannot create trace file: {e}", path.display())
            })?;
            builder
                .with_ansi(false)
                .with_writer(Mutex::new(f))
                .finish()
                .with(filter)
                .try_init()
        }
        None => {
            use std::io::IsTerminal;
            // Colours only for a person at a terminal: a log file or a pipe gets plain text.
            builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .finish()
                .with(filter)
                .try_init()
        }
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install tracing: {e}"))
}
