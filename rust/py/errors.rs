//! Core errors to Python exceptions. The one place where that mapping lives.

use numasim_core::{Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    numasim,
    SegmentationFault,
    PyException,
    "A simulated SIGSEGV: a task touched unmapped or protected memory. `.address` is the address."
);
create_exception!(
    numasim,
    InvariantError,
    PyException,
    "A broken simulator invariant found by Machine.check(); the message names it."
);

/// `OSError(errno, os.strerror(errno))` (Python picks PermissionError, ProcessLookupError, ... by
/// errno) with the core's detail added as a note; PyO3's io::Error path would drop `.errno`.
pub fn to_pyerr(e: Error) -> PyErr {
    Python::attach(|py| {
        let err = match e.kind {
            ErrorKind::Os(errno) => {
                let strerror = py
                    .import("os")
                    .and_then(|os| os.call_method1("strerror", (errno,)))
                    .and_then(|s| s.extract::<String>())
                    .unwrap_or_else(|_| numasim_core::errno::name(errno).to_string());
                PyOSError::new_err((errno, strerror))
            }
            ErrorKind::Value => return PyValueError::new_err(e.detail),
            ErrorKind::Type => return PyTypeError::new_err(e.detail),
            ErrorKind::Invariant(area) => {
                let err = InvariantError::new_err(format!("{area}: {}", e.detail));
                let _ = err.value(py).setattr("area", area);
                return err;
            }
            ErrorKind::Interrupted => {
                return pyo3::exceptions::PyKeyboardInterrupt::new_err(e.detail);
            }
            ErrorKind::Segv(addr) => {
                let err = SegmentationFault::new_err(format!("SIGSEGV at {addr:#x}: {}", e.detail));
                let _ = err.value(py).setattr("address", addr);
                return err;
            }
        };
        let _ = err.value(py).call_method1("add_note", (e.detail,));
        err
    })
}

/// `.py()?` on a core result: the conversion the orphan rule keeps us from writing as `From`.
pub trait IntoPyResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_pyerr)
    }
}
