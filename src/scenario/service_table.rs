//! The service's own table (`[idgen]`, `[kv]`, ...): deserialized into the service's options
//! type and validated by its plug-in, with errors naming the line and `<service>.<field>`.

use super::checker::{Checker, key, serde_path, toml_error};
use super::error::ScenarioError;
use super::file::ScenarioFile;
use super::spans::Segment;
use crate::plugin::{DynService, OptionsRejected, ServiceOptions, Shape};
use serde::de::IntoDeserializer;
use toml::Spanned;
use toml::de::DeValue;

/// Reads the table of `service` (absent = every option at its default).
pub(super) fn parse_service_table<'i>(
    c: &Checker<'_>,
    service: &dyn DynService,
    table: Option<Spanned<DeValue<'i>>>,
    raw: &ScenarioFile,
) -> Result<ServiceOptions, ScenarioError> {
    let shape = Shape {
        nodes: raw.nodes,
        clients: raw.clients,
    };
    let name = service.name();
    service
        .parse_options(table.map(IntoDeserializer::into_deserializer), &shape)
        .map_err(|rejected| match rejected {
            OptionsRejected::Table(e) => {
                let mut path = vec![key(name)];
                path.extend(serde_path(e.path()));
                toml_error(e.inner(), c.text, c.source, &path)
            }
            OptionsRejected::Invalid(e) => {
                c.fail(&[key(name), Segment::Key(e.field.into())], e.message)
            }
        })
}
