//! Integer arguments taken the way the kernel's C types take them: a value that does not fit
//! is a ValueError naming the argument and its range (PyO3's own conversion raises an
//! OverflowError that names neither), a bool or a non-integer is a TypeError.

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

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
