//! Every Python exception the binding raises is built here, after the machine lock is released
//! and with the GIL held (see door.rs).

use numasim_core::{Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyException, PyKeyboardInterrupt, PyOSError, PyOverflowError, PyRuntimeError, PyTypeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyBool;

create_exception!(
    numasim,
    SegmentationFault,
    PyException,
    "A simulated SIGSEGV: a task touched unmapped or protected memory. `.address` is the address."
);
create_exception!(
    numasim,
    BusError,
    PyException,
    "A simulated SIGBUS: a hugetlb fault found no free pool page on the policy's nodes and no \
     surplus page was allowed (nr_overcommit_hugepages). `.address` is the faulting address."
);
create_exception!(
    numasim,
    InvariantError,
    PyException,
    "A broken simulator invariant found by Machine.check(). `.area` names the invariant's area \
     (see numasim.INVARIANT_AREAS); the message says what is wrong."
);
create_exception!(
    numasim,
    SimulatorPanic,
    PyRuntimeError,
    "The simulator's core hit an internal error (a bug: please report it with the message). The \
     machine is poisoned: every later call on it raises this error too, naming the operation \
     that failed, instead of running on a half-updated state."
);
create_exception!(
    numasim,
    StaleSnapshot,
    PyRuntimeError,
    "Internal: the machine changed between a system call's checks and its work (another \
     thread); the syscall layer runs the checks again."
);

/// What can come out of the door besides a value.
pub enum Failure {
    /// The core returned an error.
    Core(Error),
    /// The core panicked while running `op`: the machine is now poisoned.
    Panic { op: &'static str, message: String },
    /// `op` was refused because an earlier operation panicked (`what`).
    Poisoned { op: &'static str, what: String },
}

pub fn failure_to_pyerr(py: Python<'_>, f: Failure) -> PyErr {
    match f {
        Failure::Core(e) => core_to_pyerr(py, e),
        Failure::Panic { op, message } => SimulatorPanic::new_err(format!(
            "the simulator failed inside {op}: {message}; this machine can no longer be used"
        )),
        Failure::Poisoned { op, what } => SimulatorPanic::new_err(format!(
            "{op}: this machine is unusable since the simulator failed inside {what}"
        )),
    }
}

/// `OSError(errno, os.strerror(errno))` (Python picks PermissionError, ProcessLookupError, ...
/// by errno) with the core's detail added as a note; PyO3's io::Error path would drop `.errno`.
pub fn core_to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    match e.kind {
        ErrorKind::Os(errno) => {
            let strerror = py
                .import("os")
                .and_then(|os| os.call_method1("strerror", (errno,)))
                .and_then(|s| s.extract::<String>())
                .unwrap_or_else(|_| numasim_core::errno::name(errno).to_string());
            let err = PyOSError::new_err((errno, strerror));
            let _ = err.value(py).call_method1("add_note", (e.detail,));
            err
        }
        ErrorKind::Value => PyValueError::new_err(e.detail),
        ErrorKind::Type => PyTypeError::new_err(e.detail),
        ErrorKind::Invariant(area) => {
            let err = InvariantError::new_err(format!("{area}: {}", e.detail));
            let _ = err.value(py).setattr("area", area);
            err
        }
        ErrorKind::Segv(addr) => {
            let err = SegmentationFault::new_err(format!("SIGSEGV at {addr:#x}: {}", e.detail));
            let _ = err.value(py).setattr("address", addr);
            err
        }
        ErrorKind::Bus(addr) => {
            let err = BusError::new_err(format!("SIGBUS at {addr:#x}: {}", e.detail));
            let _ = err.value(py).setattr("address", addr);
            err
        }
        ErrorKind::Stale => StaleSnapshot::new_err(e.detail),
        // The core stopped at a safe point because SIGINT arrived. Python's own handler was
        // chained and has set its flag: running the pending handlers raises KeyboardInterrupt
        // (or whatever the program's handler raises). A handler that raises nothing still
        // leaves the operation stopped, so the caller gets a KeyboardInterrupt anyway.
        ErrorKind::Interrupted => match py.check_signals() {
            Err(err) => err,
            Ok(()) => PyKeyboardInterrupt::new_err(e.detail),
        },
    }
}

/// `.py(py)?` on a core result outside the door (pure functions that take no lock).
pub trait IntoPyResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| Python::attach(|py| core_to_pyerr(py, e)))
    }
}

// ----- arguments the binding reads itself (before any lock is taken) ---------------------------

/// A TypeError naming what an argument must be.
pub fn type_error(detail: String) -> PyErr {
    PyTypeError::new_err(detail)
}

/// A KeyError for a name that is not a key (a reason name, say).
pub fn key_error(name: &str) -> PyErr {
    pyo3::exceptions::PyKeyError::new_err(name.to_string())
}

// Integer arguments taken the way the kernel's C types take them: a value that does not fit is
// a ValueError naming the argument and its range (PyO3's own conversion raises an
// OverflowError that names neither), a bool or a non-integer is a TypeError.

fn int_arg<'py, T>(obj: &Bound<'py, PyAny>, name: &str, range: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
{
    if obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{name} must be an integer, not a bool")));
    }
    match obj.extract::<T>() {
        Ok(v) => Ok(v),
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
            Err(PyValueError::new_err(format!("{name} must be {range}, got {}", obj.repr()?)))
        }
        Err(e) => Err(e),
    }
}

/// An unsigned 32-bit value (a bit number, a count, a shift).
pub fn u32_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<u32> {
    int_arg(obj, name, "between 0 and 2**32-1")
}

/// An `unsigned long` of a 64-bit kernel (maxnode): 0 ..= 2**64-1.
pub fn u64_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    int_arg(obj, name, "between 0 and 2**64-1 (an unsigned long)")
}

/// A signed 64-bit value (a capacity or bit number that may be negative, checked after).
pub fn i64_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    int_arg(obj, name, "between -2**63 and 2**63-1")
}
