//! `numasim._core`: thin PyO3 bindings over numasim-core.
//!
//! Rules for this crate: extract arguments, call the core (inside `py.detach` when it may take a
//! while), convert results and errors. No simulation logic lives here.

use pyo3::prelude::*;

mod arch;
mod errors;
mod machine;
mod nodemask;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SegmentationFault", py.get_type::<errors::SegmentationFault>())?;
    m.add("InvariantError", py.get_type::<errors::InvariantError>())?;
    arch::register(m)?;
    nodemask::register(m)?;
    machine::register(m)?;
    Ok(())
}
