//! numasim-core: the simulated NUMA machine and Linux's page-migration engines.
//!
//! This crate knows nothing of Python (the compiler guards that: it does not depend on pyo3).
//! The binding crate at the repository root converts arguments and errors and nothing else.

pub mod arch;
pub mod bitmap_text;
pub mod costs;
pub mod cpuset;
pub mod cred;
pub mod error;
pub mod host;
pub mod interrupt;
pub mod machine;
pub mod mempolicy;
pub mod migrate;
pub mod nodemask;
pub mod pagetable;
pub mod phys;
pub mod semantics;
pub mod swap;
pub mod usermask;

#[cfg(test)]
mod testutil;

pub use arch::{builtin_profiles, ArchProfile, SyscallNumbers};
pub use error::{errno, Error, ErrorKind, Result};
pub use nodemask::NodeMask;
pub use semantics::Semantics;
