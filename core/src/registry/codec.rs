//! JSON (de)serialisation of the registry model. Hand-written so that known members go straight
//! into typed fields while unknown ones, and the order of all of them, are kept (see
//! [`super::members`]).

use super::members::Members;
use super::model::{Allocation, Metadata, PortRange, Registry};
use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt;

/// Declares an object's known members once: an enum of them, their JSON names (`NAMES`, in
/// canonical order) and the variants in the same order (`ALL`). Reading and writing match on
/// the enum, so the compiler checks that both handle every member.
macro_rules! fields {
    ($name:ident { $($variant:ident = $key:literal),+ $(,)? }) => {
        #[derive(Clone, Copy)]
        enum $name { $($variant),+ }
        impl $name {
            const NAMES: &'static [&'static str] = &[$($key),+];
            const ALL: &'static [$name] = &[$($name::$variant),+];
        }
    };
}

fields!(RegistryField { Ranges = "ranges", Allocations = "allocations", Metadata = "metadata" });
fields!(RangeField { Start = "start", End = "end", Description = "description" });
fields!(AllocationField {
    Port = "port",
    Worktree = "worktree",
    Service = "service",
    AllocatedAt = "allocated_at",
    AllocatedBy = "allocated_by",
    Description = "description",
    ProcessId = "process_id",
    HealthStatus = "health_status",
    WorktreePath = "worktree_path",
    Repository = "repository",
    GitWorktree = "git_worktree",
});
fields!(MetadataField {
    Version = "version",
    LastUpdated = "last_updated",
    TotalAllocations = "total_allocations",
    SchemaVersion = "schema_version",
});

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

/// The `ranges` object. A service named twice is refused: a plain map would keep one of the two
/// silently and the next write would drop the other.
struct Ranges(IndexMap<String, PortRange>);

impl<'de> Deserialize<'de> for Ranges {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ranges;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of port ranges by service name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ranges, A::Error> {
                let mut ranges = IndexMap::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(name) = map.next_key::<String>()? {
                    if ranges.contains_key(&name) {
                        return Err(de::Error::custom(format_args!("the service `{name}` has two ranges")));
                    }
                    let range: PortRange = map.next_value()?;
                    ranges.insert(name, range);
                }
                Ok(Ranges(ranges))
            }
        }
        d.deserialize_map(V)
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
    let members = Members::read(&mut map, RegistryField::NAMES, |i, map| {
        match RegistryField::ALL[i] {
            RegistryField::Ranges => ranges = Some(map.next_value::<Ranges>()?.0),
            RegistryField::Allocations => allocations = Some(map.next_value()?),
            RegistryField::Metadata => metadata = Some(map.next_value()?),
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
    let members = Members::read(&mut map, RangeField::NAMES, |i, map| {
        match RangeField::ALL[i] {
            RangeField::Start => start = Some(map.next_value::<PortNumber>()?.0),
            RangeField::End => end = Some(map.next_value::<PortNumber>()?.0),
            RangeField::Description => description = Some(map.next_value()?),
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
    let (mut repository, mut git_worktree) = (None, None);
    let members = Members::read(&mut map, AllocationField::NAMES, |i, map| {
        match AllocationField::ALL[i] {
            AllocationField::Port => port = Some(map.next_value::<PortNumber>()?.0),
            AllocationField::Worktree => worktree = Some(map.next_value()?),
            AllocationField::Service => service = Some(map.next_value()?),
            AllocationField::AllocatedAt => allocated_at = Some(map.next_value()?),
            AllocationField::AllocatedBy => allocated_by = Some(map.next_value()?),
            AllocationField::Description => description = Some(map.next_value()?),
            AllocationField::ProcessId => process_id = map.next_value()?,
            AllocationField::HealthStatus => health_status = Some(map.next_value()?),
            AllocationField::WorktreePath => worktree_path = map.next_value()?,
            AllocationField::Repository => repository = map.next_value()?,
            AllocationField::GitWorktree => git_worktree = map.next_value()?,
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
        repository,
        git_worktree,
        members,
    })
});

object_visitor!(Metadata, "a metadata object", |map| {
    let mut m = Metadata::empty();
    m.members = Members::read(&mut map, MetadataField::NAMES, |i, map| {
        match MetadataField::ALL[i] {
            MetadataField::Version => m.version = map.next_value()?,
            MetadataField::LastUpdated => m.last_updated = map.next_value()?,
            MetadataField::TotalAllocations => m.total_allocations = map.next_value()?,
            MetadataField::SchemaVersion => m.schema_version = map.next_value()?,
        }
        Ok(())
    })?;
    Ok(m)
});

impl Serialize for Registry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.members.write(&mut map, RegistryField::NAMES.len(), |i, map| {
            let name = RegistryField::NAMES[i];
            match RegistryField::ALL[i] {
                RegistryField::Ranges => map.serialize_entry(name, &self.ranges),
                RegistryField::Allocations => map.serialize_entry(name, &self.allocations),
                RegistryField::Metadata => map.serialize_entry(name, &self.metadata),
            }
        })?;
        map.end()
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.members.write(&mut map, RangeField::NAMES.len(), |i, map| {
            let name = RangeField::NAMES[i];
            match RangeField::ALL[i] {
                RangeField::Start => map.serialize_entry(name, &self.start),
                RangeField::End => map.serialize_entry(name, &self.end),
                RangeField::Description => map.serialize_entry(name, &self.description),
            }
        })?;
        map.end()
    }
}

impl Serialize for Allocation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.members.write(&mut map, AllocationField::NAMES.len(), |i, map| {
            let name = AllocationField::NAMES[i];
            match AllocationField::ALL[i] {
                AllocationField::Port => map.serialize_entry(name, &self.port),
                AllocationField::Worktree => map.serialize_entry(name, &self.worktree),
                AllocationField::Service => map.serialize_entry(name, &self.service),
                AllocationField::AllocatedAt => map.serialize_entry(name, &self.allocated_at),
                AllocationField::AllocatedBy => map.serialize_entry(name, &self.allocated_by),
                AllocationField::Description => map.serialize_entry(name, &self.description),
                AllocationField::ProcessId => map.serialize_entry(name, &self.process_id),
                AllocationField::HealthStatus => map.serialize_entry(name, &self.health_status),
                AllocationField::WorktreePath => optional(map, name, &self.worktree_path),
                AllocationField::Repository => optional(map, name, &self.repository),
                AllocationField::GitWorktree => optional(map, name, &self.git_worktree),
            }
        })?;
        map.end()
    }
}

/// Writes an optional member only when it has a value (the reference files have none of ours).
fn optional<M: SerializeMap>(map: &mut M, name: &str, value: &Option<String>) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(name, v),
        None => Ok(()),
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        self.members.write(&mut map, MetadataField::NAMES.len(), |i, map| {
            let name = MetadataField::NAMES[i];
            match MetadataField::ALL[i] {
                MetadataField::Version => map.serialize_entry(name, &self.version),
                MetadataField::LastUpdated => map.serialize_entry(name, &self.last_updated),
                MetadataField::TotalAllocations => map.serialize_entry(name, &self.total_allocations),
                MetadataField::SchemaVersion => map.serialize_entry(name, &self.schema_version),
            }
        })?;
        map.end()
    }
}
