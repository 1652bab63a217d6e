//! The platform-neutral engine of atlas-ports: the registry model, validation, the operations
//! and the reports every front end prints. It never touches the OS: the filesystem, the port
//! probe, the clock and the identity come in through the traits of [`host`], so the same code
//! runs natively (the `atlas-ports-native` crate implements them) and in WebAssembly (the
//! `atlas-ports-wasm` crate uses [`memory`]).
#![forbid(unsafe_code)]

pub mod checkout;
pub mod conflicts;
pub mod dashboard;
pub mod env_export;
pub mod error;
pub mod health;
pub mod host;
pub mod memory;
pub mod names;
pub mod ports;
pub mod printable;
pub mod project;
pub mod proxy;
pub mod prune;
pub mod ranges;
pub mod registry;
pub mod report;
pub mod servers;
pub mod status;
pub mod store;
pub mod time;
pub mod validate;

pub use conflicts::ConflictReport;
pub use error::{Error, Result};
pub use health::{Listener, Observation, Ownership, ProbeKind, ProbeTarget};
pub use host::{Clock, FileSystem, Fingerprint, HealthProbe, Host, Identity, LockGuard, Probe, WorktreeFacts};
pub use ports::{Availability, Ensured, Ports};
pub use printable::printable;
pub use registry::{
    AllocateRequest, Allocation, GitIdentity, HealthStatus, Metadata, NextPort, PortRange, Registry, WorktreeFolder,
};
pub use status::{AllocationState, HealthSummary, StatusReport, WorktreeStatus};
pub use store::{Change, RegistryStore, Snapshot};
pub use time::Timestamp;
