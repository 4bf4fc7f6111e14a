//! A service's validated options, with the service they belong to, behind one type the harness
//! can store in a scenario, clone, compare and print without knowing the service.

use super::{DynService, ServiceSpec};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// The options value, type-erased but still comparable and printable.
trait OptionsValue: Any + fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn OptionsValue) -> bool;
}

impl<T: Any + fmt::Debug + PartialEq + Send + Sync> OptionsValue for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same(&self, other: &dyn OptionsValue) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// A service's validated options, tagged with the service (as a scenario holds them).
#[derive(Clone)]
pub struct ServiceOptions {
    service: Arc<dyn DynService>,
    value: Arc<dyn OptionsValue>,
}

impl ServiceOptions {
    /// `opts` of service `S`, run by `service` (the plug-in registered for `S`).
    pub(crate) fn new<S: ServiceSpec>(service: Arc<dyn DynService>, opts: S::Options) -> Self {
        debug_assert_eq!(
            service.name(),
            S::NAME,
            "options wrapped for another service"
        );
        ServiceOptions {
            service,
            value: Arc::new(opts),
        }
    }

    /// The service these options are for.
    pub fn service(&self) -> &Arc<dyn DynService> {
        &self.service
    }

    /// The service's name.
    pub fn name(&self) -> &'static str {
        self.service.name()
    }

    /// The options as `S`'s type; `None` when they belong to another service.
    pub fn get<S: ServiceSpec>(&self) -> Option<&S::Options> {
        self.value.as_any().downcast_ref::<S::Options>()
    }
}

impl fmt::Debug for ServiceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(self.name()).field(&self.value).finish()
    }
}

impl PartialEq for ServiceOptions {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && self.value.same(other.value.as_ref())
    }
}
