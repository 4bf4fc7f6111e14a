//! The service's own table (`[idgen]`, `[kv]`, ...): deserialized into the service's options
//! type and validated by its plug-in, with errors naming the line and `<service>.<field>`.

use super::error::ScenarioError;
use super::file::ScenarioFile;
use super::spans::Segment;
use super::validate::{Checker, key, serde_path, toml_error};
use crate::services::{Registered, ServiceKind, ServiceOptions, ServiceVisitor, Shape};
use serde::de::IntoDeserializer;
use toml::Spanned;
use toml::de::DeValue;

/// Reads the table of service `kind` (absent = every option at its default).
pub(super) fn parse_service_table<'i>(
    c: &Checker<'_>,
    kind: ServiceKind,
    table: Option<Spanned<DeValue<'i>>>,
    raw: &ScenarioFile,
) -> Result<ServiceOptions, ScenarioError> {
    kind.visit(ParseOptions {
        c,
        table,
        shape: Shape {
            nodes: raw.nodes,
            clients: raw.clients,
        },
    })
}

struct ParseOptions<'c, 'a, 'i> {
    c: &'c Checker<'a>,
    table: Option<Spanned<DeValue<'i>>>,
    shape: Shape,
}

impl ServiceVisitor for ParseOptions<'_, '_, '_> {
    type Output = Result<ServiceOptions, ScenarioError>;

    fn visit<T: Registered>(self) -> Self::Output {
        let opts: T::Options = match self.table {
            None => T::Options::default(),
            Some(value) => {
                let de = value.into_deserializer();
                serde_path_to_error::deserialize(de).map_err(|e| {
                    let mut path = vec![key(T::NAME)];
                    path.extend(serde_path(e.path()));
                    toml_error(e.inner(), self.c.text, self.c.source, &path)
                })?
            }
        };
        T::validate(&opts, &self.shape).map_err(|e| {
            self.c
                .fail(&[key(T::NAME), Segment::Key(e.field.into())], e.message)
        })?;
        Ok(T::wrap(opts))
    }
}
