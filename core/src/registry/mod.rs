//! The registry file: model, JSON codec and the pure operations on it.

mod codec;
mod members;
mod model;
mod naming;
mod operations;
mod parse;
mod port_set;
mod reserved;
mod scan;
pub(crate) mod splice;

pub use model::{Allocation, HealthStatus, Metadata, PortRange, REGISTRY_VERSION, Registry, SCHEMA_VERSION};
pub use naming::WorktreeFolder;
pub use operations::{AllocateRequest, GitIdentity, NextPort};
pub use port_set::PortSet;
pub use reserved::CANONICAL_PORTS;
