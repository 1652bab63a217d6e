//! Order-preserving JSON objects. Each registry object remembers where every member stood and
//! keeps the members it does not know, so a read–modify–write loses nothing a user or another
//! tool wrote and does not reorder their keys. Known members are parsed straight into typed
//! fields (no intermediate `Value`), which keeps a 50,000-allocation registry fast to load.

use serde::de::{self, DeserializeSeed, MapAccess};
use serde::ser::SerializeMap;
use serde_json::Value;
use std::fmt;

/// The members of one JSON object in file order: known ones by index into the owner's field
/// list, unknown ones with their name and value. Empty when the object is in canonical order
/// with no unknown members — the usual case, which then costs no memory: a 50,000-allocation
/// registry would otherwise spend tens of megabytes recording the obvious.
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
    Known(u8),
    Unknown(Box<(String, Value)>),
}

impl Members {
    /// The members we do not know, in file order.
    pub(crate) fn unknown(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Unknown(kv) => Some((kv.0.as_str(), &kv.1)),
            Slot::Known(_) => None,
        })
    }

    /// The members of a new object: its `known` fields in canonical order, then `extra` ones
    /// (a range's `health_path`, say).
    pub(crate) fn with_extra(known: u8, extra: impl IntoIterator<Item = (String, Value)>) -> Members {
        let extra: Vec<Slot> = extra.into_iter().map(|kv| Slot::Unknown(Box::new(kv))).collect();
        if extra.is_empty() {
            return Members::default();
        }
        Members { slots: (0..known).map(Slot::Known).chain(extra).collect() }
    }

    /// The unknown member `name`, added (as `null`) after every other member when absent
    /// (`known` is the owner's field count, for an object in canonical order).
    pub(crate) fn unknown_entry(&mut self, known: u8, name: &str) -> &mut Value {
        let found = self.slots.iter().position(|s| matches!(s, Slot::Unknown(kv) if kv.0 == name));
        if found.is_none() {
            if self.slots.is_empty() {
                self.slots = (0..known).map(Slot::Known).collect();
            }
            self.slots.push(Slot::Unknown(Box::new((name.to_owned(), Value::Null))));
        }
        let at = found.unwrap_or(self.slots.len() - 1);
        let Slot::Unknown(kv) = &mut self.slots[at] else { unreachable!() };
        &mut kv.1
    }

    /// Reads an object's members: `read_known(i, map)` parses the value of known field `i`.
    pub(crate) fn read<'de, A: MapAccess<'de>>(
        map: &mut A,
        fields: &'static [&'static str],
        mut read_known: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
    ) -> Result<Members, A::Error> {
        debug_assert!(fields.len() <= 64);
        let mut slots = Vec::new();
        let mut seen = 0u64;
        let mut canonical = true;
        while let Some(key) = map.next_key_seed(KeySeed(fields))? {
            match key {
                Key::Known(i) => {
                    let bit = 1u64 << i;
                    if seen & bit != 0 {
                        return Err(de::Error::duplicate_field(fields[i]));
                    }
                    read_known(i, map)?;
                    // A known key after a later one breaks canonical order: from here on,
                    // record every member.
                    if canonical && seen >= bit {
                        slots = known_slots(seen);
                        canonical = false;
                    }
                    seen |= bit;
                    if !canonical {
                        slots.push(Slot::Known(i as u8));
                    }
                }
                Key::Unknown(name) => {
                    // Written back, a key named twice would be collapsed by most readers.
                    if slots.iter().any(|s| matches!(s, Slot::Unknown(kv) if kv.0 == name)) {
                        return Err(de::Error::custom(format_args!("duplicate key `{name}`")));
                    }
                    let value: Value = map.next_value()?;
                    if canonical {
                        slots = known_slots(seen);
                        canonical = false;
                    }
                    slots.push(Slot::Unknown(Box::new((name, value))));
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
                    write_known(usize::from(*i), map)?;
                    written |= 1 << i;
                }
                Slot::Unknown(kv) => map.serialize_entry(&kv.0, &kv.1)?,
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

/// The slots of the known members seen so far, which were in canonical (ascending) order.
fn known_slots(seen: u64) -> Vec<Slot> {
    (0..64u8).filter(|i| seen & (1 << i) != 0).map(Slot::Known).collect()
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
