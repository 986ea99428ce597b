//! `ArchProfile`: a frozen view of the core's profile table.

use numasim_core::arch::{builtin_profiles, ArchProfile};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::IntoPyResult;

/// An architecture profile (include/asm-*): page size, BITS_PER_LONG, MAX_NUMNODES, TASK_SIZE,
/// page-table shifts, huge page size and the memory-policy syscall numbers. Frozen and hashable.
///
/// >>> numasim.arch("x86_64").max_numnodes
/// 64
#[pyclass(name = "ArchProfile", module = "numasim", frozen, eq, hash, from_py_object)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyArchProfile {
    pub inner: ArchProfile,
}

#[pymethods]
impl PyArchProfile {
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    #[getter]
    fn bits_per_long(&self) -> u32 {
        self.inner.bits_per_long
    }
    #[getter]
    fn page_size(&self) -> u64 {
        self.inner.page_size()
    }
    #[getter]
    fn page_shift(&self) -> u32 {
        self.inner.page_shift
    }
    #[getter]
    fn max_numnodes(&self) -> u32 {
        self.inner.max_numnodes()
    }
    #[getter]
    fn nodes_shift(&self) -> u32 {
        self.inner.nodes_shift
    }
    #[getter]
    fn task_size(&self) -> u64 {
        self.inner.task_size
    }
    #[getter]
    fn pt_levels(&self) -> u32 {
        self.inner.pt_levels()
    }
    #[getter]
    fn pt_level_shifts(&self) -> Vec<u32> {
        self.inner.pt_level_shifts.clone()
    }
    #[getter]
    fn huge_page_size(&self) -> u64 {
        self.inner.huge_page_size()
    }
    /// numpy dtype of one user-space `unsigned long`: uint32 or uint64.
    #[getter]
    fn word_dtype<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArrayDescr> {
        if self.inner.bits_per_long == 32 {
            numpy::dtype::<u32>(py)
        } else {
            numpy::dtype::<u64>(py)
        }
    }
    /// Syscall numbers of the memory-policy family: {"migrate_pages": 256, ...}.
    #[getter]
    fn syscalls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, nr) in self.inner.syscalls.entries() {
            d.set_item(name, nr)?;
        }
        Ok(d)
    }
    /// The same architecture built with another CONFIG_NODES_SHIFT (MAX_NUMNODES = 1 << shift).
    fn with_nodes_shift(&self, nodes_shift: &Bound<'_, PyAny>) -> PyResult<Self> {
        let shift = crate::errors::u32_arg(nodes_shift, "nodes_shift")?;
        Ok(PyArchProfile { inner: self.inner.with_nodes_shift(shift).py()? })
    }
    fn __repr__(&self) -> String {
        let a = &self.inner;
        format!(
            "ArchProfile(name={:?}, bits_per_long={}, page_size={}, max_numnodes={}, \
             task_size={:#x}, pt_levels={}, huge_page_size={})",
            a.name,
            a.bits_per_long,
            a.page_size(),
            a.max_numnodes(),
            a.task_size,
            a.pt_levels(),
            a.huge_page_size()
        )
    }
}

/// Names and profiles of the built-in architectures, in display order.
#[pyfunction]
pub fn builtin_arches() -> Vec<PyArchProfile> {
    builtin_profiles().into_iter().map(|inner| PyArchProfile { inner }).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyArchProfile>()?;
    m.add_function(wrap_pyfunction!(builtin_arches, m)?)?;
    Ok(())
}
