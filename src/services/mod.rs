//! The services that run on nodes, and the one place they are registered.
//!
//! A service is one plug-in ([`ServiceSpec`]): its sans-IO server core, its sans-IO client core
//! (leader discovery, redirects, retries), its options table (`[<name>]` in a scenario), its
//! planted bugs, and its invariants and history-only checks. Adding a service touches its own
//! folder, one line in [`registry!`] below, its scenarios and its tests — nothing else.
//!
//! A service's core never imports the simulator, the nemesis or the checkers; only its plug-in
//! file wires the core to its invariants (which may use the checker).

pub mod idgen;
pub mod knobs;
pub mod kv;
pub mod lock;
pub mod raft;
pub mod replicated;
pub mod ring;

use crate::bugs::{Bug, BugSet, UnknownBug};
use crate::client::ClientLogic;
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Verdict};
use crate::node::service::Service;
use serde::de::DeserializeOwned;
use std::fmt::{self, Debug};

/// The shape of the cluster a service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Server nodes.
    pub nodes: u32,
    /// Concurrent clients.
    pub clients: u32,
}

/// An invalid service option: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// The field in the service's table.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl OptionError {
    /// An error on `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        OptionError {
            field,
            message: message.into(),
        }
    }
}

/// Everything faultlab needs to know about one service.
pub trait ServiceSpec: 'static {
    /// The name in scenario files (`service = "..."`), on the command line and in its options
    /// table (`[name]`).
    const NAME: &'static str;
    /// One line: what the service is.
    const ABOUT: &'static str;
    /// Its planted bugs (names start with `NAME-`).
    const BUGS: &'static [Bug];
    /// Its options table, strict (`deny_unknown_fields`), every field defaulted.
    type Options: DeserializeOwned + Default + Clone + Debug + PartialEq + Send + Sync + 'static;
    /// The sans-IO core that runs on every node.
    type Server: Service;
    /// The sans-IO client core, one per client.
    type Client: ClientLogic<Self::Server>;

    /// Checks the options for a cluster of this shape.
    fn validate(opts: &Self::Options, shape: &Shape) -> Result<(), OptionError>;
    /// The configuration every node's core starts with.
    fn server_config(opts: &Self::Options, shape: &Shape) -> <Self::Server as Service>::Config;
    /// The client core of one client (a design flaw switched on like a planted bug, such as
    /// the lock service's Redlock variant, changes what clients do too).
    fn client(opts: &Self::Options, shape: &Shape, client: ClientId, bugs: &BugSet)
    -> Self::Client;
    /// The service's own invariants over a simulated run (the common ones are added by the
    /// runner).
    fn invariants(opts: &Self::Options) -> Vec<Box<dyn Invariant>>;
    /// What a bare history supports (a run on real sockets has no event log).
    fn history_checks(opts: &Self::Options, history: &History) -> Vec<Verdict>;
    /// Its tunables with the ranges it promises to be correct in (`[randomize] knobs`).
    fn knobs() -> Vec<knobs::Knob<Self::Options>> {
        Vec::new()
    }
}

/// A registered service: a [`ServiceSpec`] with a place in [`ServiceKind`].
pub trait Registered: ServiceSpec {
    /// Its kind.
    const KIND: ServiceKind;
    /// Wraps its options for storage in a scenario.
    fn wrap(opts: Self::Options) -> ServiceOptions;
}

/// Something done with a service chosen at run time, by its type.
pub trait ServiceVisitor {
    /// What it produces.
    type Output;
    /// Does it for service `T`.
    fn visit<T: Registered>(self) -> Self::Output;
}

/// Something done with a service and its options, by type.
pub trait OptionsVisitor {
    /// What it produces.
    type Output;
    /// Does it for service `T` with its options.
    fn visit<T: Registered>(self, opts: &T::Options) -> Self::Output;
}

/// Declares the registered services: one line each, `Variant => plug-in type`.
macro_rules! registry {
    ($($variant:ident => $spec:ty),+ $(,)?) => {
        /// Every service faultlab can run.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ServiceKind {
            $(
                #[doc = concat!("`", stringify!($spec), "`")]
                $variant,
            )+
        }

        impl ServiceKind {
            /// Every registered service.
            pub const ALL: &'static [ServiceKind] = &[$(ServiceKind::$variant),+];

            /// Does `v` with this service's type.
            pub fn visit<V: ServiceVisitor>(self, v: V) -> V::Output {
                match self {
                    $(ServiceKind::$variant => v.visit::<$spec>(),)+
                }
            }
        }

        /// A service's validated options, tagged by service.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ServiceOptions {
            $(
                #[doc = concat!("Options of `", stringify!($spec), "`.")]
                $variant(<$spec as ServiceSpec>::Options),
            )+
        }

        impl ServiceOptions {
            /// Which service these options are for.
            pub fn kind(&self) -> ServiceKind {
                match self {
                    $(ServiceOptions::$variant(_) => ServiceKind::$variant,)+
                }
            }

            /// Does `v` with the service's type and these options.
            pub fn visit<V: OptionsVisitor>(&self, v: V) -> V::Output {
                match self {
                    $(ServiceOptions::$variant(o) => v.visit::<$spec>(o),)+
                }
            }
        }

        $(
            impl Registered for $spec {
                const KIND: ServiceKind = ServiceKind::$variant;
                fn wrap(opts: Self::Options) -> ServiceOptions {
                    ServiceOptions::$variant(opts)
                }
            }
        )+
    };
}

registry! {
    Idgen => idgen::IdgenService,
    Kv => kv::KvService,
    Lock => lock::LockService,
}

struct Meta;

impl ServiceVisitor for Meta {
    type Output = (&'static str, &'static str, &'static [Bug]);
    fn visit<T: Registered>(self) -> Self::Output {
        (T::NAME, T::ABOUT, T::BUGS)
    }
}

impl ServiceKind {
    /// The service's name.
    pub fn name(self) -> &'static str {
        self.visit(Meta).0
    }

    /// One line: what the service is.
    pub fn about(self) -> &'static str {
        self.visit(Meta).1
    }

    /// Its planted bugs.
    pub fn bugs(self) -> &'static [Bug] {
        self.visit(Meta).2
    }

    /// Looks a service up by name.
    pub fn from_name(name: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Every service name, comma-separated (for error messages).
    pub fn names() -> String {
        ServiceKind::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The service a planted bug belongs to, and the bug.
    pub fn find_bug(name: &str) -> Result<(ServiceKind, Bug), UnknownBug> {
        ServiceKind::ALL
            .iter()
            .flat_map(|&k| k.bugs().iter().map(move |&b| (k, b)))
            .find(|(_, b)| b.name == name)
            .ok_or_else(|| UnknownBug {
                given: name.to_string(),
                known: ServiceKind::all_bugs()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Every planted bug of every service.
    pub fn all_bugs() -> impl Iterator<Item = Bug> {
        ServiceKind::ALL
            .iter()
            .flat_map(|k| k.bugs().iter().copied())
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_and_bugs_are_unique_and_prefixed() {
        let names: BTreeSet<&str> = ServiceKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), ServiceKind::ALL.len());
        let mut bugs = BTreeSet::new();
        for &k in ServiceKind::ALL {
            assert_eq!(ServiceKind::from_name(k.name()), Some(k));
            for b in k.bugs() {
                assert!(b.name.starts_with(&format!("{}-", k.name())), "{b}");
                assert!(bugs.insert(b.name), "bug {b} declared twice");
                assert_eq!(ServiceKind::find_bug(b.name).map(|(s, _)| s), Ok(k));
            }
        }
        assert!(ServiceKind::find_bug("idgen-nope").is_err());
    }
}
