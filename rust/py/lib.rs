//! `numasim._core`: thin PyO3 bindings over numasim-core.
//!
//! Rules for this crate: extract arguments, call the core through the door (door.rs), convert
//! results (records.rs) and errors (errors.rs). No simulation logic lives here.

use pyo3::prelude::*;

mod arch;
mod args;
mod door;
mod errors;
mod machine;
mod nodemask;
mod records;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SegmentationFault", py.get_type::<errors::SegmentationFault>())?;
    m.add("InvariantError", py.get_type::<errors::InvariantError>())?;
    m.add("SimulatorPanic", py.get_type::<errors::SimulatorPanic>())?;
    m.add("StaleSnapshot", py.get_type::<errors::StaleSnapshot>())?;
    arch::register(m)?;
    nodemask::register(m)?;
    machine::register(m)?;
    Ok(())
}
