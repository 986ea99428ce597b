//! One error type for the whole core.
//!
//! A simulated system call fails the way the kernel does: with an errno. Everything else that can go
//! wrong (a bad argument to the simulator itself, a simulated SIGSEGV, a broken invariant) has its own
//! kind so the binding layer can map it to the right Python exception without any logic of its own.

use std::fmt;

/// Linux errno values (asm-generic/errno-base.h, errno.h); identical on i386, x86_64 and ia64.
pub mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const ESRCH: i32 = 3;
    pub const EIO: i32 = 5;
    pub const E2BIG: i32 = 7;
    pub const EBADF: i32 = 9;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EFAULT: i32 = 14;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    /// A file larger than the filesystem allows.
    pub const EFBIG: i32 = 27;
    pub const ENOSPC: i32 = 28;
    pub const ERANGE: i32 = 34;
    pub const ENOSYS: i32 = 38;
    pub const EOVERFLOW: i32 = 75;

    /// The kernel's symbolic name of an errno, for messages ("EINVAL").
    pub fn name(e: i32) -> &'static str {
        match e {
            EPERM => "EPERM",
            ENOENT => "ENOENT",
            ESRCH => "ESRCH",
            EIO => "EIO",
            E2BIG => "E2BIG",
            EBADF => "EBADF",
            EAGAIN => "EAGAIN",
            ENOMEM => "ENOMEM",
            EACCES => "EACCES",
            EFAULT => "EFAULT",
            EBUSY => "EBUSY",
            EEXIST => "EEXIST",
            ENODEV => "ENODEV",
            EINVAL => "EINVAL",
            EFBIG => "EFBIG",
            ENOSPC => "ENOSPC",
            ERANGE => "ERANGE",
            ENOSYS => "ENOSYS",
            EOVERFLOW => "EOVERFLOW",
            _ => "E?",
        }
    }
}

/// What kind of failure an [`Error`] is; decides the Python exception type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A simulated kernel error: `OSError(errno, strerror)` in Python.
    Os(i32),
    /// A bad value given to the simulator itself (not a syscall argument): `ValueError`.
    Value,
    /// A wrong type or shape given to the simulator (dtype, dimensions): `TypeError`.
    Type,
    /// A simulated access to unmapped or protected memory (SIGSEGV), with the faulting address.
    Segv(u64),
    /// A simulated SIGBUS at the faulting address (a hugetlb fault with no pool page and no
    /// surplus page allowed: VM_FAULT_SIGBUS): `numasim.BusError` with `.address`.
    Bus(u64),
    /// A broken internal invariant found by `Machine::check()`, with the area it belongs to
    /// ("content", "frames", "rmap", "swap", ...): `numasim.InvariantError` with `.area`.
    Invariant(&'static str),
    /// A long operation stopped at a safe point because the user asked (Ctrl-C, see
    /// [`crate::interrupt`]): `KeyboardInterrupt` in Python. The machine is consistent.
    Interrupted,
    /// A checked request whose snapshot of the machine is out of date (another thread changed
    /// credentials, cpusets or tasks between the checks and the work): the syscall layer runs
    /// its checks again. See `Machine::syscall_access`.
    Stale,
}

/// A core error: its kind plus a human detail that names the problem (which node, which argument,
/// what was expected).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub detail: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A simulated syscall error with its errno.
    pub fn os(errno: i32, detail: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Os(errno), detail: detail.into() }
    }
    pub fn value(detail: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Value, detail: detail.into() }
    }
    pub fn type_(detail: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Type, detail: detail.into() }
    }
    pub fn segv(addr: u64, detail: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Segv(addr), detail: detail.into() }
    }
    pub fn bus(addr: u64, detail: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Bus(addr), detail: detail.into() }
    }
    /// A broken invariant of `area` (one of the areas `Machine::check()` verifies).
    pub fn invariant(area: &'static str, detail: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Invariant(area), detail: detail.into() }
    }
    pub fn stale(detail: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Stale, detail: detail.into() }
    }
    pub fn interrupted(detail: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Interrupted, detail: detail.into() }
    }
    /// The errno if this is a simulated kernel error.
    pub fn errno(&self) -> Option<i32> {
        match self.kind {
            ErrorKind::Os(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Os(e) => write!(f, "{}: {}", errno::name(e), self.detail),
            ErrorKind::Segv(a) => write!(f, "SIGSEGV at {a:#x}: {}", self.detail),
            ErrorKind::Bus(a) => write!(f, "SIGBUS at {a:#x}: {}", self.detail),
            ErrorKind::Invariant(area) => write!(f, "{area}: {}", self.detail),
            _ => f.write_str(&self.detail),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::errno::*;

    /// Every errno the core raises has its kernel name (a constant added without one would
    /// print as "E?"), and the values are the asm-generic ones.
    #[test]
    fn errno_names() {
        let all = [
            (EPERM, 1, "EPERM"),
            (ENOENT, 2, "ENOENT"),
            (ESRCH, 3, "ESRCH"),
            (EIO, 5, "EIO"),
            (E2BIG, 7, "E2BIG"),
            (EBADF, 9, "EBADF"),
            (EAGAIN, 11, "EAGAIN"),
            (ENOMEM, 12, "ENOMEM"),
            (EACCES, 13, "EACCES"),
            (EFAULT, 14, "EFAULT"),
            (EBUSY, 16, "EBUSY"),
            (EEXIST, 17, "EEXIST"),
            (ENODEV, 19, "ENODEV"),
            (EINVAL, 22, "EINVAL"),
            (EFBIG, 27, "EFBIG"),
            (ENOSPC, 28, "ENOSPC"),
            (ERANGE, 34, "ERANGE"),
            (ENOSYS, 38, "ENOSYS"),
            (EOVERFLOW, 75, "EOVERFLOW"),
        ];
        for (e, value, text) in all {
            assert_eq!((e, name(e)), (value, text));
        }
        assert_eq!(name(0), "E?");
    }
}
