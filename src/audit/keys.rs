//! The keys of a service's options table, read from its `Deserialize` impl alone.
//!
//! Options types only promise `DeserializeOwned + Default + PartialEq + Debug` (no `Serialize`,
//! no reflection), and a service in another crate must be auditable too. serde's derive hands
//! the struct's field names to `Deserializer::deserialize_struct`; a deserializer that records
//! them (and, to see inside a nested table, answers with a one-key map whose value is another
//! recorder) lists every key without a value ever being built.

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

/// Nested tables deeper than this are listed as one key: no built-in service nests more than
/// one level (`[idgen.leases]`, `[cache.store]`), and the bound keeps a recursive type finite.
const DEPTH_MAX: usize = 4;

/// Every key of `T`'s table, nested ones as `table.key`, in declaration order; a key whose
/// value is a table is listed as well (`leases`), before its own keys: whether the table is
/// there at all can be an option.
pub fn option_keys<T: DeserializeOwned>() -> Vec<String> {
    let mut out = Vec::new();
    collect::<T>(&mut Vec::new(), &mut out);
    out
}

fn collect<T: DeserializeOwned>(path: &mut Vec<&'static str>, out: &mut Vec<String>) {
    let Some(fields) = fields_at::<T>(path) else {
        return;
    };
    for f in fields {
        path.push(f);
        out.push(path.join("."));
        if path.len() < DEPTH_MAX {
            collect::<T>(path, out);
        }
        path.pop();
    }
}

/// The field names of the struct at `path` inside `T`, or `None` when it is not a struct.
fn fields_at<T: DeserializeOwned>(path: &[&'static str]) -> Option<&'static [&'static str]> {
    let sink = RefCell::new(None);
    // The probe always ends in an error (it never produces a value); only the sink matters.
    let _ = T::deserialize(Probe { path, sink: &sink });
    sink.into_inner()
}

#[derive(Debug)]
struct ProbeEnd(String);

impl fmt::Display for ProbeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeEnd {}

impl de::Error for ProbeEnd {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        ProbeEnd(msg.to_string())
    }
}

/// Walks `path` (one-key maps), then records the struct's fields it finds there.
struct Probe<'a> {
    path: &'a [&'static str],
    sink: &'a RefCell<Option<&'static [&'static str]>>,
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = ProbeEnd;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeEnd> {
        Err(ProbeEnd("a leaf".into()))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeEnd> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeEnd> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeEnd> {
        match self.path.split_first() {
            None => {
                *self.sink.borrow_mut() = Some(fields);
                Err(ProbeEnd("recorded".into()))
            }
            Some((key, rest)) => visitor.visit_map(OneKey {
                key: Some(key),
                rest,
                sink: self.sink,
            }),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// A map with one key, whose value is a probe one level further down.
struct OneKey<'a> {
    key: Option<&'static str>,
    rest: &'a [&'static str],
    sink: &'a RefCell<Option<&'static [&'static str]>>,
}

impl<'de> MapAccess<'de> for OneKey<'_> {
    type Error = ProbeEnd;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeEnd> {
        match self.key.take() {
            None => Ok(None),
            Some(k) => seed
                .deserialize(de::value::BorrowedStrDeserializer::<ProbeEnd>::new(k))
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ProbeEnd> {
        seed.deserialize(Probe {
            path: self.rest,
            sink: self.sink,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Inner {
        servers: u32,
        lease_ms: u64,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Outer {
        keys: u32,
        leases: Option<Inner>,
        store: Inner,
        name: String,
        weights: Vec<u32>,
    }

    #[test]
    fn lists_top_level_and_nested_keys_in_declaration_order() {
        assert_eq!(
            option_keys::<Outer>(),
            [
                "keys",
                "leases",
                "leases.servers",
                "leases.lease_ms",
                "store",
                "store.servers",
                "store.lease_ms",
                "name",
                "weights"
            ]
        );
    }

    #[test]
    fn a_type_that_is_not_a_table_has_no_keys() {
        assert!(option_keys::<u64>().is_empty());
    }
}
