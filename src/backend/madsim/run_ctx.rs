//! The bridge between a madsim node and the run it belongs to.
//!
//! madsim starts (and restarts) a node's software through an `init` closure that must be
//! `Send + Sync`, because its API also serves multi-threaded code; our world is `Rc` by design
//! (one run is one thread). So the closure carries only an index, and the software factories
//! — and the wire, which sockets find from inside a task — live in a slot of the thread that
//! owns the runtime. The driver fills the slot when it builds a run and empties it when it is
//! dropped; a second run on the same thread while one is installed is refused, so nothing
//! leaks from one run into the next.

use super::wire::Wire;
use crate::backend::DriverError;
use crate::time::SimTime;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// A node's (or the clients') software, ready to be polled.
pub type Software = Pin<Box<dyn Future<Output = ()>>>;

/// Makes a fresh instance of one host's software (at boot and at every restart).
pub type Launcher = Box<dyn Fn() -> Software>;

/// What the tasks of one run share with its driver.
pub struct RunCtx {
    /// The datagram wire between hosts.
    pub wire: RefCell<Wire>,
    /// One software factory per madsim host, by launch index.
    launchers: RefCell<Vec<Launcher>>,
    /// Harness failures inside hosts (a socket that could not bind), reported by the driver.
    errors: RefCell<Vec<String>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<RunCtx>>> = const { RefCell::new(None) };
}

impl RunCtx {
    /// A context with no launchers yet.
    pub fn new(wire: Wire) -> Self {
        RunCtx {
            wire: RefCell::new(wire),
            launchers: RefCell::new(Vec::new()),
            errors: RefCell::new(Vec::new()),
        }
    }

    /// Registers a launcher; returns its index for the node's `init` closure.
    pub fn add_launcher(&self, launcher: Launcher) -> usize {
        let mut l = self.launchers.borrow_mut();
        l.push(launcher);
        l.len() - 1
    }

    /// Records a harness failure seen inside a host.
    pub fn report(&self, error: String) {
        self.errors.borrow_mut().push(error);
    }

    /// The first harness failure, if any.
    pub fn first_error(&self, at: SimTime) -> Result<(), DriverError> {
        match self.errors.borrow().first() {
            Some(message) => Err(DriverError::Sim {
                at,
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// Keeps a run's context installed on this thread; uninstalls it when dropped.
pub struct Installed(());

impl Drop for Installed {
    fn drop(&mut self) {
        // `try_with`: the thread may be exiting.
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

/// Installs `ctx` as this thread's run.
pub fn install(ctx: Rc<RunCtx>) -> Result<Installed, DriverError> {
    CURRENT.with(|c| {
        let mut slot = c.borrow_mut();
        if slot.is_some() {
            return Err(DriverError::Sim {
                at: SimTime::ZERO,
                message: "a madsim run is already installed on this thread".into(),
            });
        }
        *slot = Some(ctx);
        Ok(Installed(()))
    })
}

/// Runs `f` with this thread's run. Only tasks of an installed run call it, so a missing run
/// is a harness bug.
pub fn with<T>(f: impl FnOnce(&RunCtx) -> T) -> T {
    let ctx = CURRENT.with(|c| c.borrow().clone());
    let ctx = ctx.expect("madsim host code ran outside an installed run");
    f(&ctx)
}

/// The software of launcher `index`, fresh (called by madsim's `init` at boot and restart).
pub fn launch(index: usize) -> Software {
    with(|ctx| {
        let launchers = ctx.launchers.borrow();
        let launcher = launchers
            .get(index)
            .expect("a madsim node was built with a launcher index its run does not have");
        launcher()
    })
}

/// Like [`with`], but does nothing when no run is installed (a socket dropped after its run).
pub fn try_with(f: impl FnOnce(&RunCtx)) {
    let ctx = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten();
    if let Some(ctx) = ctx {
        f(&ctx);
    }
}
