//! A panic in a service (or its client core) is a finding, not a harness crash: it is caught
//! inside the host's task, recorded in the world, and the run stops there and fails `no-panic`.
//!
//! Catching here rather than relying on tokio's `unhandled_panic` (a `--cfg tokio_unstable`
//! feature turmoil uses) means a crate that depends on faultlab needs no special build flags
//! for the same behaviour, and both simulators behave alike.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::world::WorldState;

/// `fut`, which records a panic in `world` (as `who: message`) and ends instead of unwinding
/// into the simulator.
pub(super) fn guarded<F: Future<Output = ()>>(
    world: Rc<RefCell<WorldState>>,
    who: String,
    fut: F,
) -> impl Future<Output = ()> {
    Guarded {
        world,
        who,
        fut: Some(Box::pin(fut)),
    }
}

struct Guarded<F> {
    world: Rc<RefCell<WorldState>>,
    who: String,
    fut: Option<Pin<Box<F>>>,
}

impl<F: Future<Output = ()>> Future for Guarded<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(fut) = self.fut.as_mut() else {
            return Poll::Ready(());
        };
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                // The future is dropped here, never polled again.
                self.fut = None;
                let message = format!("{}: {}", self.who, panic_text(payload.as_ref()));
                self.world.borrow_mut().record_panic(message);
                Poll::Ready(())
            }
        }
    }
}

/// A panic payload as text.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
