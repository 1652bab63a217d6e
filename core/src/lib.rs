//! The platform-neutral engine of atlas-ports: the registry model (SPEC §3), validation, the
//! operations (SPEC §4) and the seed's report texts. It never touches the OS: the filesystem,
//! the port probe, the clock and the identity come in through the traits of [`host`], so the
//! same code runs natively (see the `atlas-ports-cli` crate's native layer) and in WebAssembly.

pub mod conflicts;
pub mod env_export;
pub mod error;
pub mod health;
pub mod host;
pub mod memory;
pub mod ports;
pub mod prune;
pub mod registry;
pub mod report;
pub mod status;
pub mod store;
pub mod time;
pub mod validate;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use conflicts::ConflictReport;
pub use error::{Error, Result};
pub use health::{HealthProbe, Listener, Observation, Ownership, ProbeKind, ProbeTarget};
pub use host::{Clock, FileSystem, Identity, LockGuard, Probe};
pub use ports::{AllocateRequest, Availability, Ensured, Host, Ports};
pub use prune::WorktreeFacts;
pub use registry::{Allocation, HealthStatus, Metadata, NextPort, PortRange, Registry};
pub use status::{AllocationState, HealthSummary, StatusReport, WorktreeStatus};
pub use store::RegistryStore;
pub use time::Timestamp;
