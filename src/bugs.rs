//! Planted bugs: classic mistakes each service can be switched into, to prove the harness
//! catches them. Off by default; chosen by name (`--bug NAME` or `bugs = [..]` in a scenario).
//!
//! A service declares its bugs as constants in its own folder and lists them in its plug-in
//! (`ServiceSpec::BUGS`); its core asks `ctx.bug(MY_BUG)`. Names are looked up through the
//! service registry (`services::find_bug`), so this module knows no service.

use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};

/// One planted bug. Identity is its name (`<service>-<what>`), unique across services.
#[derive(Debug, Clone, Copy)]
pub struct Bug {
    /// Kebab-case name, e.g. `idgen-clock-rollback`.
    pub name: &'static str,
    /// One line: what the mistake is.
    pub about: &'static str,
}

impl Bug {
    /// A bug with its name and description.
    pub const fn new(name: &'static str, about: &'static str) -> Self {
        Bug { name, about }
    }
}

impl PartialEq for Bug {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Bug {}

impl PartialOrd for Bug {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bug {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name.cmp(other.name)
    }
}

impl Hash for Bug {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl Serialize for Bug {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

/// The bugs switched on for a run.
pub type BugSet = BTreeSet<Bug>;

/// A bug name that no service declares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown planted bug {given:?}; known bugs: {known}")]
pub struct UnknownBug {
    /// What was asked for.
    pub given: String,
    /// Every known bug name, comma-separated.
    pub known: String,
}
