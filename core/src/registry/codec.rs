//! JSON (de)serialisation of the registry model. Hand-written so that known members go straight
//! into typed fields while unknown ones, and the order of all of them, are kept (see
//! [`super::members`]).

use super::members::Members;
use super::model::{Allocation, Metadata, PortRange, Registry};
use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt;

const REGISTRY_FIELDS: &[&str] = &["ranges", "allocations", "metadata"];
const RANGE_FIELDS: &[&str] = &["start", "end", "description"];
const ALLOCATION_FIELDS: &[&str] = &[
    "port",
    "worktree",
    "service",
    "allocated_at",
    "allocated_by",
    "description",
    "process_id",
    "health_status",
    "worktree_path",
];
const METADATA_FIELDS: &[&str] = &["version", "last_updated", "total_allocations", "schema_version"];

/// A port number as stored: an integer from 1 to 65535, with a message that says so.
struct PortNumber(u16);

impl<'de> Deserialize<'de> for PortNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PortNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number from 1 to 65535")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortNumber, E> {
                match u16::try_from(v) {
                    Ok(p) if p != 0 => Ok(PortNumber(p)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortNumber, E> {
                match u64::try_from(v) {
                    Ok(u) => self.visit_u64(u),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
        }
        d.deserialize_u64(V)
    }
}

/// Implements `Deserialize` for a struct by reading its members with [`Members::read`].
macro_rules! object_visitor {
    ($ty:ty, $expecting:literal, |$map:ident| $build:block) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    #[allow(unused_mut)]
                    fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<$ty, A::Error> {
                        $build
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

object_visitor!(Registry, "a port registry object with \"ranges\" and \"allocations\"", |map| {
    let mut ranges: Option<IndexMap<String, PortRange>> = None;
    let mut allocations: Option<Vec<Allocation>> = None;
    let mut metadata: Option<Metadata> = None;
    let members = Members::read(&mut map, REGISTRY_FIELDS, |i, map| {
        match i {
            0 => ranges = Some(map.next_value()?),
            1 => allocations = Some(map.next_value()?),
            _ => metadata = Some(map.next_value()?),
        }
        Ok(())
    })?;
    Ok(Registry {
        ranges: ranges.ok_or_else(|| de::Error::missing_field("ranges"))?,
        allocations: allocations.ok_or_else(|| de::Error::missing_field("allocations"))?,
        metadata: metadata.unwrap_or_else(Metadata::empty),
        members,
    })
});

object_visitor!(PortRange, "a port range object {\"start\": …, \"end\": …}", |map| {
    let (mut start, mut end, mut description) = (None, None, None);
    let members = Members::read(&mut map, RANGE_FIELDS, |i, map| {
        match i {
            0 => start = Some(map.next_value::<PortNumber>()?.0),
            1 => end = Some(map.next_value::<PortNumber>()?.0),
            _ => description = Some(map.next_value()?),
        }
        Ok(())
    })?;
    Ok(PortRange {
        start: start.ok_or_else(|| de::Error::missing_field("start"))?,
        end: end.ok_or_else(|| de::Error::missing_field("end"))?,
        description: description.unwrap_or_default(),
        members,
    })
});

object_visitor!(Allocation, "an allocation object", |map| {
    let (mut port, mut worktree, mut service) = (None, None, None);
    let (mut allocated_at, mut allocated_by, mut description) = (None, None, None);
    let (mut process_id, mut health_status, mut worktree_path) = (None, None, None);
    let members = Members::read(&mut map, ALLOCATION_FIELDS, |i, map| {
        match i {
            0 => port = Some(map.next_value::<PortNumber>()?.0),
            1 => worktree = Some(map.next_value()?),
            2 => service = Some(map.next_value()?),
            3 => allocated_at = Some(map.next_value()?),
            4 => allocated_by = Some(map.next_value()?),
            5 => description = Some(map.next_value()?),
            6 => process_id = map.next_value()?,
            7 => health_status = Some(map.next_value()?),
            _ => worktree_path = map.next_value()?,
        }
        Ok(())
    })?;
    Ok(Allocation {
        port: port.ok_or_else(|| de::Error::missing_field("port"))?,
        worktree: worktree.ok_or_else(|| de::Error::missing_field("worktree"))?,
        service: service.ok_or_else(|| de::Error::missing_field("service"))?,
        allocated_at: allocated_at.unwrap_or_default(),
        allocated_by: allocated_by.unwrap_or_default(),
        description: description.unwrap_or_default(),
        process_id,
        health_status: health_status.unwrap_or_default(),
        worktree_path,
        members,
    })
});

object_visitor!(Metadata, "a metadata object", |map| {
    let mut m = Metadata::empty();
    m.members = Members::read(&mut map, METADATA_FIELDS, |i, map| {
        match i {
            0 => m.version = map.next_value()?,
            1 => m.last_updated = map.next_value()?,
            2 => m.total_allocations = map.next_value()?,
            _ => m.schema_version = map.next_value()?,
        }
        Ok(())
    })?;
    Ok(m)
});

impl Serialize for Registry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.members.write(&mut map, REGISTRY_FIELDS.len(), |i, map| match i {
            0 => map.serialize_entry("ranges", &self.ranges),
            1 => map.serialize_entry("allocations", &self.allocations),
            _ => map.serialize_entry("metadata", &self.metadata),
        })?;
        map.end()
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.members.write(&mut map, RANGE_FIELDS.len(), |i, map| match i {
            0 => map.serialize_entry("start", &self.start),
            1 => map.serialize_entry("end", &self.end),
            _ => map.serialize_entry("description", &self.description),
        })?;
        map.end()
    }
}

impl Serialize for Allocation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.members.write(&mut map, ALLOCATION_FIELDS.len(), |i, map| match i {
            0 => map.serialize_entry("port", &self.port),
            1 => map.serialize_entry("worktree", &self.worktree),
            2 => map.serialize_entry("service", &self.service),
            3 => map.serialize_entry("allocated_at", &self.allocated_at),
            4 => map.serialize_entry("allocated_by", &self.allocated_by),
            5 => map.serialize_entry("description", &self.description),
            6 => map.serialize_entry("process_id", &self.process_id),
            7 => map.serialize_entry("health_status", &self.health_status),
            _ => match &self.worktree_path {
                Some(p) => map.serialize_entry("worktree_path", p),
                None => Ok(()),
            },
        })?;
        map.end()
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.members.write(&mut map, METADATA_FIELDS.len(), |i, map| match i {
            0 => map.serialize_entry("version", &self.version),
            1 => map.serialize_entry("last_updated", &self.last_updated),
            2 => map.serialize_entry("total_allocations", &self.total_allocations),
            _ => map.serialize_entry("schema_version", &self.schema_version),
        })?;
        map.end()
    }
}
