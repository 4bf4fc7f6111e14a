//! [`DynService`]: a [`ServiceSpec`] behind an object-safe trait, so a registry can hold
//! services of any type and the harness can work with one chosen by name at run time.

use super::knobs::{self, KnobValue};
use super::{OptionError, ServiceOptions, ServiceSpec, Shape};
use crate::backend::real::{self, LoadConfig, ServeConfig};
use crate::bugs::{Bug, BugSet};
use crate::history::History;
use crate::invariants::{Invariant, Verdict};
use crate::rng::DetRng;
use crate::runner::{self, RunError};
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;

pub use crate::runner::SimRun;

/// Why a service's options table was refused.
#[derive(Debug)]
pub enum OptionsRejected {
    /// It does not deserialize (unknown field, wrong type): serde's error and where.
    Table(serde_path_to_error::Error<toml::de::Error>),
    /// It deserialized, but the service's validation refused it.
    Invalid(OptionError),
}

/// A registered service, as the harness sees it: every [`ServiceSpec`] is one (through
/// [`super::Registry::with`]); nothing else needs to implement it.
pub trait DynService: Send + Sync + 'static {
    /// [`ServiceSpec::NAME`].
    fn name(&self) -> &'static str;
    /// [`ServiceSpec::ABOUT`].
    fn about(&self) -> &'static str;
    /// [`ServiceSpec::BUGS`].
    fn bugs(&self) -> &'static [Bug];
    /// The names of its knobs, in the order they are drawn.
    fn knob_names(&self) -> Vec<&'static str>;
    /// [`ServiceSpec::BENCH_SCENARIO`].
    fn bench_scenario(&self) -> Option<&'static str>;
    /// [`ServiceSpec::BUGGIFY_POINTS`].
    fn buggify_points(&self) -> &'static [&'static str];
    /// [`ServiceSpec::NOTES`].
    fn notes(&self) -> &'static [&'static str];
    /// Every key of its options table (`table.key` inside a nested one), in declaration order.
    fn option_keys(&self) -> Vec<String>;
    /// Every option at its default.
    fn default_options(&self) -> ServiceOptions;
    /// Reads the service's table of a scenario (absent: every option at its default) and
    /// validates it for a cluster of `shape`.
    fn parse_options(
        &self,
        table: Option<toml::de::ValueDeserializer<'_>>,
        shape: &Shape,
    ) -> Result<ServiceOptions, OptionsRejected>;
    /// Validates options (of this service) for a cluster of `shape`.
    fn validate(&self, opts: &ServiceOptions, shape: &Shape) -> Result<(), OptionError>;
    /// Draws every knob for one run from `rng` (see [`knobs::draw`]).
    fn draw_knobs(
        &self,
        opts: &ServiceOptions,
        shape: Shape,
        rng: &mut DetRng,
    ) -> (ServiceOptions, Vec<KnobValue>);
    /// [`ServiceSpec::invariants`].
    fn invariants(&self, opts: &ServiceOptions) -> Vec<Box<dyn Invariant>>;
    /// [`ServiceSpec::history_checks`].
    fn history_checks(&self, opts: &ServiceOptions, history: &History) -> Vec<Verdict>;
    /// Runs the simulation of one seed (the runner calls this).
    fn simulate(&self, opts: &ServiceOptions, run: SimRun<'_>) -> Result<(), RunError>;
    /// Runs one node on a real socket and disk until the process is killed.
    fn serve(&self, opts: &ServiceOptions, cfg: ServeConfig) -> io::Result<()>;
    /// Drives a real cluster with clients; returns what they saw and the history checks.
    fn load(
        &self,
        opts: &ServiceOptions,
        cfg: LoadConfig,
        bugs: &BugSet,
    ) -> io::Result<(History, Vec<Verdict>)>;
}

/// The plug-in of `S`: a zero-sized [`DynService`].
pub(crate) struct Plugin<S>(PhantomData<fn() -> S>);

impl<S: ServiceSpec> Plugin<S> {
    pub(crate) fn erased() -> Arc<dyn DynService> {
        Arc::new(Plugin::<S>(PhantomData))
    }

    fn wrap(opts: S::Options) -> ServiceOptions {
        ServiceOptions::new::<S>(Self::erased(), opts)
    }

    /// The options as `S`'s; options of another service are a harness bug.
    fn typed(opts: &ServiceOptions) -> &S::Options {
        match opts.get::<S>() {
            Some(o) => o,
            None => panic!(
                "options of service {} handed to service {}",
                opts.name(),
                S::NAME
            ),
        }
    }
}

impl<S: ServiceSpec> DynService for Plugin<S> {
    fn name(&self) -> &'static str {
        S::NAME
    }

    fn about(&self) -> &'static str {
        S::ABOUT
    }

    fn bugs(&self) -> &'static [Bug] {
        S::BUGS
    }

    fn knob_names(&self) -> Vec<&'static str> {
        S::knobs().iter().map(|k| k.name).collect()
    }

    fn bench_scenario(&self) -> Option<&'static str> {
        S::BENCH_SCENARIO
    }

    fn buggify_points(&self) -> &'static [&'static str] {
        S::BUGGIFY_POINTS
    }

    fn notes(&self) -> &'static [&'static str] {
        S::NOTES
    }

    fn option_keys(&self) -> Vec<String> {
        crate::audit::option_keys::<S::Options>()
    }

    fn default_options(&self) -> ServiceOptions {
        Self::wrap(S::Options::default())
    }

    fn parse_options(
        &self,
        table: Option<toml::de::ValueDeserializer<'_>>,
        shape: &Shape,
    ) -> Result<ServiceOptions, OptionsRejected> {
        let opts = match table {
            None => S::Options::default(),
            Some(de) => serde_path_to_error::deserialize::<_, S::Options>(de)
                .map_err(OptionsRejected::Table)?,
        };
        S::validate(&opts, shape).map_err(OptionsRejected::Invalid)?;
        Ok(Self::wrap(opts))
    }

    fn validate(&self, opts: &ServiceOptions, shape: &Shape) -> Result<(), OptionError> {
        S::validate(Self::typed(opts), shape)
    }

    fn draw_knobs(
        &self,
        opts: &ServiceOptions,
        shape: Shape,
        rng: &mut DetRng,
    ) -> (ServiceOptions, Vec<KnobValue>) {
        let validate = knobs::validator(shape, S::validate);
        let (drawn, values) = knobs::draw(Self::typed(opts), &S::knobs(), rng, validate);
        (Self::wrap(drawn), values)
    }

    fn invariants(&self, opts: &ServiceOptions) -> Vec<Box<dyn Invariant>> {
        S::invariants(Self::typed(opts))
    }

    fn history_checks(&self, opts: &ServiceOptions, history: &History) -> Vec<Verdict> {
        S::history_checks(Self::typed(opts), history)
    }

    fn simulate(&self, opts: &ServiceOptions, run: SimRun<'_>) -> Result<(), RunError> {
        runner::simulate::<S>(Self::typed(opts), run)
    }

    fn serve(&self, opts: &ServiceOptions, cfg: ServeConfig) -> io::Result<()> {
        real::serve_service::<S>(Self::typed(opts), cfg)
    }

    fn load(
        &self,
        opts: &ServiceOptions,
        cfg: LoadConfig,
        bugs: &BugSet,
    ) -> io::Result<(History, Vec<Verdict>)> {
        real::load_service::<S>(Self::typed(opts), cfg, bugs)
    }
}
