//! Order-preserving JSON objects. Each registry object remembers where every member stood and
//! keeps the members it does not know, so a read–modify–write loses nothing a user or another
//! tool wrote and does not reorder their keys. Known members are parsed straight into typed
//! fields (no intermediate `Value`), which keeps a 50,000-allocation registry fast to load.

use serde::de::{self, DeserializeSeed, MapAccess};
use serde::ser::SerializeMap;
use serde_json::Value;
use std::fmt;

/// The members of one JSON object in file order: known ones by index into the owner's field
/// list, unknown ones with their name and value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Members {
    slots: Vec<Slot>,
}

/// Two objects are equal when their data is: where a known key stood is layout, not data.
impl PartialEq for Members {
    fn eq(&self, other: &Self) -> bool {
        self.unknown().eq(other.unknown())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Slot {
    Known(usize),
    Unknown(String, Value),
}

impl Members {
    /// The members we do not know, in file order.
    pub(crate) fn unknown(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Unknown(k, v) => Some((k.as_str(), v)),
            Slot::Known(_) => None,
        })
    }

    /// Reads an object's members: `read_known(i, map)` parses the value of known field `i`.
    pub(crate) fn read<'de, A: MapAccess<'de>>(
        map: &mut A,
        fields: &'static [&'static str],
        mut read_known: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
    ) -> Result<Members, A::Error> {
        let mut slots = Vec::with_capacity(fields.len());
        let mut seen = 0u64;
        while let Some(key) = map.next_key_seed(KeySeed(fields))? {
            match key {
                Key::Known(i) => {
                    if seen & (1 << i) != 0 {
                        return Err(de::Error::duplicate_field(fields[i]));
                    }
                    seen |= 1 << i;
                    read_known(i, map)?;
                    slots.push(Slot::Known(i));
                }
                Key::Unknown(name) => {
                    let value: Value = map.next_value()?;
                    slots.push(Slot::Unknown(name, value));
                }
            }
        }
        Ok(Members { slots })
    }

    /// Writes the object: members in their original order, then known fields that were not in
    /// the original (in the owner's canonical order). `write_known(i, map)` may write nothing
    /// for an absent optional field.
    pub(crate) fn write<M: SerializeMap>(
        &self,
        map: &mut M,
        field_count: usize,
        mut write_known: impl FnMut(usize, &mut M) -> Result<(), M::Error>,
    ) -> Result<(), M::Error> {
        let mut written = 0u64;
        for slot in &self.slots {
            match slot {
                Slot::Known(i) => {
                    write_known(*i, map)?;
                    written |= 1 << i;
                }
                Slot::Unknown(k, v) => map.serialize_entry(k, v)?,
            }
        }
        for i in 0..field_count {
            if written & (1 << i) == 0 {
                write_known(i, map)?;
            }
        }
        Ok(())
    }
}

enum Key {
    Known(usize),
    Unknown(String),
}

/// Matches a key against the field list without allocating for known keys.
struct KeySeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl de::Visitor<'_> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match self.0.iter().position(|f| *f == v) {
            Some(i) => Key::Known(i),
            None => Key::Unknown(v.to_owned()),
        })
    }
}
