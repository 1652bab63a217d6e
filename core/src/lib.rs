//! The platform-neutral engine of atlas-ports: the registry model (SPEC §3), validation, the
//! operations (SPEC §4) and the seed's report texts. It never touches the OS: the filesystem,
//! the port probe, the clock and the identity come in through the traits of [`host`], so the
//! same code runs natively (see the `atlas-ports-cli` crate's native layer) and in WebAssembly.

pub mod env_export;
pub mod error;
pub mod host;
pub mod memory;
pub mod ports;
pub mod prune;
pub mod registry;
pub mod report;
pub mod store;
pub mod time;
pub mod validate;

pub use error::{Error, Result};
pub use host::{Clock, FileSystem, Identity, LockGuard, Probe};
pub use ports::{AllocateRequest, Availability, Ensured, Host, Ports};
pub use prune::WorktreeFacts;
pub use registry::{Allocation, HealthStatus, Metadata, NextPort, PortRange, Registry};
pub use store::RegistryStore;
pub use time::Timestamp;
