//! The canonical binary encoding behind fingerprints (the event log's digest): any `Serialize`
//! value streamed straight into a hasher — no text, no allocation.
//!
//! Every value starts with a one-byte type tag; integers are fixed-width little-endian; strings,
//! byte strings, sequences and maps carry their length (a map or sequence of unknown length —
//! serde's `flatten` — is closed by an end tag instead); structs and enum variants are written
//! by index, not by name. So the encoding is injective for a fixed schema and for
//! self-describing values (`serde_json::Value`) alike, and it changes only when a type's
//! definition does. The JSON files people read (`events.jsonl`, `history.jsonl`) are rendered
//! separately and are not what is hashed.

use crate::rng::Fnv64;
use serde::ser::{self, Serialize};
use std::fmt;

/// Feeds `value`'s canonical encoding into `hasher`.
pub fn hash_into<T: Serialize + ?Sized>(hasher: &mut Fnv64, value: &T) {
    // Only a `Serialize` impl that fails on purpose can fail here; ours never do, and a
    // fingerprint of what was encoded up to the failure is still a function of the value.
    let _ = value.serialize(&mut Canon(hasher));
}

/// Type tags: distinct first bytes keep self-describing values unambiguous.
mod tag {
    pub const FALSE: u8 = 0;
    pub const TRUE: u8 = 1;
    pub const INT: u8 = 2;
    pub const UINT: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const CHAR: u8 = 5;
    pub const STR: u8 = 6;
    pub const BYTES: u8 = 7;
    pub const NONE: u8 = 8;
    pub const SOME: u8 = 9;
    pub const UNIT: u8 = 10;
    pub const VARIANT: u8 = 11;
    pub const NEWTYPE: u8 = 12;
    pub const SEQ: u8 = 13;
    pub const MAP: u8 = 14;
    pub const STRUCT: u8 = 15;
    pub const OPEN: u8 = 16;
    pub const END: u8 = 17;
}

/// The hasher as a serde serializer.
struct Canon<'a>(&'a mut Fnv64);

/// Never produced: the encoding cannot fail by itself.
#[derive(Debug)]
struct NoError;

impl fmt::Display for NoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("canonical encoding failed")
    }
}

impl std::error::Error for NoError {}

impl ser::Error for NoError {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        NoError
    }
}

type Res = Result<(), NoError>;

impl Canon<'_> {
    fn tag(&mut self, t: u8) {
        self.0.write(&[t]);
    }

    fn len(&mut self, n: usize) {
        self.0.write(&(n as u64).to_le_bytes());
    }

    fn open(&mut self, t: u8, len: Option<usize>) {
        match len {
            Some(n) => {
                self.tag(t);
                self.len(n);
            }
            None => self.tag(tag::OPEN),
        }
    }
}

impl<'a, 'b> ser::Serializer for &'a mut Canon<'b> {
    type Ok = ();
    type Error = NoError;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Compound<'a, 'b>;
    type SerializeTupleVariant = Compound<'a, 'b>;
    type SerializeMap = Compound<'a, 'b>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Compound<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Res {
        self.tag(if v { tag::TRUE } else { tag::FALSE });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Res {
        self.tag(tag::INT);
        self.0.write(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Res {
        self.tag(tag::INT);
        self.0.write(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Res {
        self.tag(tag::UINT);
        self.0.write(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Res {
        self.tag(tag::UINT);
        self.0.write(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Res {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Res {
        self.tag(tag::FLOAT);
        self.0.write(&v.to_bits().to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Res {
        self.tag(tag::CHAR);
        self.0.write(&u32::from(v).to_le_bytes());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Res {
        self.tag(tag::STR);
        self.len(v.len());
        self.0.write(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Res {
        self.tag(tag::BYTES);
        self.len(v.len());
        self.0.write(v);
        Ok(())
    }
    fn serialize_none(self) -> Res {
        self.tag(tag::NONE);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res {
        self.tag(tag::SOME);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        self.tag(tag::UNIT);
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Res {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, index: u32, _v: &'static str) -> Res {
        self.tag(tag::VARIANT);
        self.0.write(&index.to_le_bytes());
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _n: &'static str, v: &T) -> Res {
        self.tag(tag::NEWTYPE);
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Res {
        self.serialize_unit_variant("", index, "")?;
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, 'b>, NoError> {
        self.open(tag::SEQ, len);
        Ok(Compound {
            c: self,
            open: len.is_none(),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'b>, NoError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b>, NoError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b>, NoError> {
        self.serialize_unit_variant("", index, "")?;
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, 'b>, NoError> {
        self.open(tag::MAP, len);
        Ok(Compound {
            c: self,
            open: len.is_none(),
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b>, NoError> {
        self.open(tag::STRUCT, Some(len));
        Ok(Compound {
            c: self,
            open: false,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b>, NoError> {
        self.serialize_unit_variant("", index, "")?;
        self.serialize_struct("", len)
    }
}

/// A sequence, map or struct being written.
struct Compound<'a, 'b> {
    c: &'a mut Canon<'b>,
    /// Opened without a length: closed by an end tag.
    open: bool,
}

impl Compound<'_, '_> {
    fn end(self) -> Res {
        if self.open {
            self.c.tag(tag::END);
        }
        Ok(())
    }
}

macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = NoError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
                value.serialize(&mut *self.c)
            }
            fn end(self) -> Res {
                Compound::end(self)
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = NoError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res {
        key.serialize(&mut *self.c)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        value.serialize(&mut *self.c)
    }
    fn end(self) -> Res {
        Compound::end(self)
    }
}

macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = NoError;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, _k: &'static str, v: &T) -> Res {
                // Fields go by position; a skipped field still counts, so later ones keep it.
                v.serialize(&mut *self.c)
            }
            fn skip_field(&mut self, _key: &'static str) -> Res {
                self.c.tag(tag::NONE);
                Ok(())
            }
            fn end(self) -> Res {
                Compound::end(self)
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn h<T: Serialize + ?Sized>(v: &T) -> u64 {
        let mut f = Fnv64::new();
        hash_into(&mut f, v);
        f.finish()
    }

    #[test]
    fn distinct_values_hash_apart() {
        // Shapes that a tagless encoding would confuse.
        let values = [
            json!(null),
            json!(0),
            json!(-0.0),
            json!(""),
            json!([]),
            json!({}),
            json!([""]),
            json!(["", ""]),
            json!(["a", "b"]),
            json!(["ab"]),
            json!({"a": "b"}),
            json!({"ab": ""}),
            json!(1),
            json!(-1),
            json!(true),
            json!("1"),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for v in &values {
            assert!(seen.insert(h(v)), "{v} hashed like an earlier value");
        }
        assert_eq!(h(&json!({"x": [1, 2]})), h(&json!({"x": [1, 2]})));
        assert_ne!(h(&Some(3u8)), h(&3u8));
        assert_ne!(h(&(1u8, 2u8)), h(&(2u8, 1u8)));
    }
}
