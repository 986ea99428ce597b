//! `NodeMask` bindings (filled in by the NodeMask work).

use pyo3::prelude::*;

pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
