//! `numasim._core`: thin PyO3 bindings over numasim-core.
//!
//! Rules for this crate: extract arguments, call the core through the door (door.rs), convert
//! results (records.rs) and errors (errors.rs). No simulation logic lives here.

// PyO3 dictates two things clippy's pedantic group would change: arguments are extracted as
// owned values (a Vec, a numpy array view) even when only borrowed, and a Python method takes
// self even when it does not use it (__len__ of a fixed table, __repr__ of a singleton).
#![allow(
    clippy::needless_pass_by_value,
    clippy::unused_self,
    reason = "signatures of #[pymethods] are PyO3's, not ours"
)]

use pyo3::prelude::*;

mod arch;
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
    m.add("BusError", py.get_type::<errors::BusError>())?;
    m.add("InvariantError", py.get_type::<errors::InvariantError>())?;
    m.add("SimulatorPanic", py.get_type::<errors::SimulatorPanic>())?;
    m.add("StaleSnapshot", py.get_type::<errors::StaleSnapshot>())?;
    arch::register(m)?;
    nodemask::register(m)?;
    machine::register(m)?;
    Ok(())
}
