//! `_core.MachineCore`: the simulated machine behind `numasim.Machine`, addressed by pid.
//! Conversion only: every method extracts its arguments, goes through the door (door.rs: GIL
//! released, lock, panics caught, Ctrl-C honoured) with one core call, and converts the result.

use numasim_core::costs::{self, CostModel, Kernel};
use numasim_core::machine::info::abi_from_name;
use numasim_core::machine::madvise::Advice;
use numasim_core::machine::mm::{mapf, prot};
use numasim_core::machine::reclaim::PageState;
use numasim_core::machine::thp::ThpMode;
use numasim_core::machine::{Config, Machine, NodeSpec};
use numasim_core::mempolicy::sanitize_mode as core_sanitize_mode;
use numasim_core::migrate::{migration_pairs, Reason};
use numasim_core::{ArchProfile, NodeMask, Semantics};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arch::PyArchProfile;
use crate::door::{self, Door};
use crate::errors::IntoPyResult;
use crate::nodemask::PyNodeMask;
use crate::records::{
    CostDevice, CostProfile, CostTerms, CpusetInfo, FileInfo, MmCounters, MmLayout, NodeInfo,
    NodeMeminfo, NodeNumaStat, NodeStates, NodeUsage, NumaMapsEntry, PairReport, PyFaultReport,
    PyMigrateReport, PyReasons, PyTimeReport, SwapDevice, SyscallAccess, TargetAccess, TaskInfo,
    VmStat, Vma, ZoneInfo,
};

/// The machine core. Use `numasim.Machine`, which builds one and hands out Task objects.
#[pyclass(name = "MachineCore", module = "numasim._core", frozen)]
pub struct PyMachine {
    door: Door<Machine>,
    /// Fixed for the machine's life, so reading them takes no lock.
    arch: ArchProfile,
    semantics: Semantics,
    page_cluster: u32,
    costs: CostModel,
    kernel: Option<Kernel>,
}

/// A cost model as Python passes it: (profile, [(term, value)], swap device, file device).
type CostSpec = (String, Vec<(String, u64)>, String, String);

fn cost_model_of(spec: &CostSpec) -> PyResult<CostModel> {
    CostModel::from_terms(&spec.0, &spec.1, &spec.2, &spec.3).py()
}

impl PyMachine {
    /// Another machine with this one's fixed values (a copy of it).
    fn with_machine(&self, m: Machine) -> Self {
        PyMachine {
            door: Door::new(m),
            arch: self.arch.clone(),
            semantics: self.semantics,
            page_cluster: self.page_cluster,
            costs: self.costs,
            kernel: self.kernel,
        }
    }
}

fn report(r: numasim_core::migrate::MigrateReport) -> PyMigrateReport {
    PyMigrateReport { inner: r }
}

fn mask(m: &Bound<'_, PyNodeMask>) -> NodeMask {
    m.get().inner.clone()
}

#[pymethods]
impl PyMachine {
    /// MachineCore(arch, semantics, nodes, distances, swap_bytes, page_cluster, costs, kernel):
    /// nodes is a list of (nid, memory bytes, [cpus]); costs (profile, [(term, value)], swap
    /// device, file device), None for the default of the semantics and arch; kernel "6.N" for
    /// a modern machine, None for the latest behaviour.
    #[new]
    #[pyo3(signature = (arch, semantics, nodes, distances, swap_bytes, page_cluster, costs=None, kernel=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        arch: PyArchProfile,
        semantics: &str,
        nodes: Vec<(u32, u64, Vec<u32>)>,
        distances: Option<Vec<Vec<u32>>>,
        swap_bytes: u64,
        page_cluster: u32,
        costs: Option<CostSpec>,
        kernel: Option<&str>,
    ) -> PyResult<Self> {
        let semantics = Semantics::parse(semantics).py()?;
        let costs = match &costs {
            Some(spec) => cost_model_of(spec)?,
            None => CostModel::default_for(semantics, &arch.inner.name),
        };
        let kernel = kernel.map(Kernel::parse).transpose().py()?;
        let nodes = nodes
            .into_iter()
            .map(|(nid, mem_bytes, cpus)| NodeSpec { nid, mem_bytes, cpus })
            .collect();
        let cfg = Config {
            arch: arch.inner.clone(),
            semantics,
            nodes,
            distances,
            swap_bytes,
            page_cluster,
            costs,
            kernel,
        };
        let m = door::run(py, "Machine()", move || Machine::new(cfg))?;
        let kernel = m.kernel_version();
        Ok(PyMachine {
            door: Door::new(m),
            arch: arch.inner,
            semantics,
            page_cluster,
            costs,
            kernel,
        })
    }

    #[getter]
    fn arch(&self) -> PyArchProfile {
        PyArchProfile { inner: self.arch.clone() }
    }
    #[getter]
    fn semantics(&self) -> &'static str {
        self.semantics.name()
    }
    #[getter]
    fn page_cluster(&self) -> u32 {
        self.page_cluster
    }
    /// The cost model (fixed for the machine's life).
    #[getter]
    fn costs(&self) -> CostTerms {
        self.costs.into()
    }
    /// The modern kernel version the engines follow ("6.12"); None for the 2.6 generations.
    #[getter]
    fn kernel(&self) -> Option<String> {
        self.kernel.map(|k| k.to_string())
    }
    #[getter]
    fn now_ns(&self, py: Python<'_>) -> PyResult<u64> {
        self.door.enter(py, "now_ns", |m| Ok(m.now_ns))
    }
    /// Lets `ns` of simulated time pass: I/O completes, files dirty for 30 s are written back.
    fn advance(&self, py: Python<'_>, ns: u64) -> PyResult<()> {
        self.door.enter(py, "advance", |m| {
            m.pass_time(ns);
            Ok(())
        })
    }

    // ----- topology -----

    fn nodes(&self, py: Python<'_>) -> PyResult<Vec<NodeInfo>> {
        let n = self.door.enter(py, "nodes", |m| Ok(m.node_infos()))?;
        Ok(n.into_iter().map(NodeInfo::from).collect())
    }
    fn node_states(&self, py: Python<'_>) -> PyResult<NodeStates> {
        Ok(self.door.enter(py, "node_states", |m| Ok(m.node_states()))?.into())
    }
    fn distance(&self, py: Python<'_>, a: u32, b: u32) -> PyResult<u32> {
        self.door.enter(py, "distance", |m| m.node_distance(a, b))
    }
    fn zonelist(&self, py: Python<'_>, nid: u32) -> PyResult<Vec<u32>> {
        self.door.enter(py, "zonelist", |m| m.zonelist_of(nid))
    }
    fn nr_cpus(&self, py: Python<'_>) -> PyResult<u32> {
        self.door.enter(py, "nr_cpus", |m| Ok(m.topo.nr_cpus()))
    }
    fn cpu_to_node(&self, py: Python<'_>, cpu: u32) -> PyResult<u32> {
        self.door.enter(py, "cpu_to_node", |m| m.cpu_node(cpu))
    }
    fn cpumask_bits(&self, py: Python<'_>) -> PyResult<u32> {
        self.door.enter(py, "cpumask_bits", |m| Ok(m.cpumask_bits()))
    }

    // ----- tasks -----

    #[pyo3(signature = (uid, gid, cpu, cpuset, comm, abi = "native"))]
    #[allow(clippy::too_many_arguments)]
    fn spawn(
        &self,
        py: Python<'_>,
        uid: u32,
        gid: u32,
        cpu: u32,
        cpuset: &str,
        comm: &str,
        abi: &str,
    ) -> PyResult<u32> {
        let abi = abi_from_name(abi).py()?;
        self.door.enter(py, "spawn", |m| m.spawn_abi(uid, gid, cpu, cpuset, comm, abi))
    }
    fn kernel_thread(&self, py: Python<'_>, comm: &str, cpu: u32) -> PyResult<u32> {
        self.door.enter(py, "kernel_thread", |m| m.kernel_thread(comm, cpu))
    }
    fn clone_thread(&self, py: Python<'_>, pid: u32) -> PyResult<u32> {
        self.door.enter(py, "clone_thread", |m| m.clone_thread(pid))
    }
    fn fork(&self, py: Python<'_>, pid: u32) -> PyResult<u32> {
        self.door.enter(py, "fork", |m| m.fork(pid))
    }
    fn exit(&self, py: Python<'_>, pid: u32) -> PyResult<()> {
        self.door.enter(py, "exit", |m| m.exit(pid))
    }
    fn pids(&self, py: Python<'_>) -> PyResult<Vec<u32>> {
        self.door.enter(py, "pids", |m| Ok(m.pids()))
    }
    /// One task's identity, credentials, CPU, cpuset and policy; ProcessLookupError if none.
    fn task_info(&self, py: Python<'_>, pid: u32) -> PyResult<TaskInfo> {
        Ok(self.door.enter(py, "task_info", |m| m.task_info(pid))?.into())
    }
    /// "native", or "i386" for a 32-bit program on an x86_64 kernel.
    fn task_abi(&self, py: Python<'_>, pid: u32) -> PyResult<&'static str> {
        self.door.enter(py, "task_abi", |m| m.task_abi(pid))
    }
    /// The snapshot a system call's checks read (caller, target; pid 0 is the caller).
    fn syscall_access(&self, py: Python<'_>, caller: u32, target: u32) -> PyResult<SyscallAccess> {
        Ok(self.door.enter(py, "syscall_access", |m| m.syscall_access(caller, target))?.into())
    }
    /// capable(cap): is `cap` ("CAP_SYS_NICE") in the task's effective set?
    fn capable(&self, py: Python<'_>, pid: u32, cap: &str) -> PyResult<bool> {
        self.door.enter(py, "capable", |m| m.capable(pid, cap))
    }
    /// The task's mems_allowed (cpuset_mems_allowed(task)).
    fn mems_allowed(&self, py: Python<'_>, pid: u32) -> PyResult<PyNodeMask> {
        Ok(self.door.enter(py, "mems_allowed", |m| m.mems_allowed(pid))?.into())
    }
    fn migrate_to_cpu(&self, py: Python<'_>, pid: u32, cpu: u32) -> PyResult<()> {
        self.door.enter(py, "migrate_to_cpu", |m| m.migrate_to_cpu(pid, cpu))
    }
    /// A set*id call: op is "setuid", "setresuid", ...; ids use 0xffffffff for -1.
    fn set_ids(&self, py: Python<'_>, pid: u32, op: &str, ids: Vec<u32>) -> PyResult<()> {
        self.door.enter(py, "set_ids", |m| m.set_ids(pid, op, &ids))
    }
    fn set_capability(&self, py: Python<'_>, pid: u32, cap: &str, on: bool) -> PyResult<()> {
        self.door.enter(py, "set_capability", |m| m.set_capability(pid, cap, on))
    }
    fn set_dumpable(&self, py: Python<'_>, pid: u32, on: bool) -> PyResult<()> {
        self.door.enter(py, "set_dumpable", |m| m.set_dumpable(pid, on))
    }

    // ----- address spaces -----

    #[pyo3(signature = (pid, length, prot, flags, file, offset, addr))]
    #[allow(clippy::too_many_arguments)]
    fn mmap(
        &self,
        py: Python<'_>,
        pid: u32,
        length: u64,
        prot: &str,
        flags: &str,
        file: Option<u32>,
        offset: u64,
        addr: Option<u64>,
    ) -> PyResult<u64> {
        let p = prot::parse(prot).py()?;
        let f = mapf::parse(flags).py()?;
        self.door.enter(py, "mmap", |m| m.mmap(pid, addr, length, p, f, file, offset))
    }
    fn munmap(&self, py: Python<'_>, pid: u32, addr: u64, length: u64) -> PyResult<()> {
        self.door.enter(py, "munmap", |m| m.munmap(pid, addr, length))
    }
    fn mprotect(
        &self,
        py: Python<'_>,
        pid: u32,
        addr: u64,
        length: u64,
        prot: &str,
    ) -> PyResult<()> {
        let p = prot::parse(prot).py()?;
        self.door.enter(py, "mprotect", |m| m.mprotect(pid, addr, length, p))
    }
    fn mlock(&self, py: Python<'_>, pid: u32, addr: u64, length: u64, lock: bool) -> PyResult<()> {
        self.door.enter(py, "mlock", |m| m.mlock(pid, addr, length, lock))
    }
    /// madvise(2)'s work on a range numasim.syscalls.madvise checked; `advice` by name
    /// ("dontneed", "pageout", ..., "invalid").
    fn madvise(
        &self,
        py: Python<'_>,
        pid: u32,
        start: u64,
        length: u64,
        advice: &str,
    ) -> PyResult<()> {
        let a = Advice::parse(advice).py()?;
        self.door.enter(py, "madvise", |m| m.madvise(pid, start, length, a))
    }
    fn brk(&self, py: Python<'_>, pid: u32, addr: u64) -> PyResult<u64> {
        self.door.enter(py, "brk", |m| m.brk(pid, addr))
    }
    fn vmas(&self, py: Python<'_>, pid: u32) -> PyResult<Vec<Vma>> {
        let v = self.door.enter(py, "vmas", |m| m.vma_infos(pid))?;
        Ok(v.into_iter().map(Vma::from).collect())
    }
    fn layout(&self, py: Python<'_>, pid: u32) -> PyResult<MmLayout> {
        Ok(self.door.enter(py, "layout", |m| m.mm_layout(pid))?.into())
    }
    fn mm_counters(&self, py: Python<'_>, pid: u32) -> PyResult<MmCounters> {
        Ok(self.door.enter(py, "mm_counters", |m| m.mm_counters(pid))?.into())
    }

    // ----- faults and contents -----

    fn touch(
        &self,
        py: Python<'_>,
        pid: u32,
        addr: u64,
        length: u64,
        write: bool,
    ) -> PyResult<PyFaultReport> {
        let r = self.door.enter(py, "touch", |m| m.touch(pid, addr, length, write))?;
        Ok(PyFaultReport { inner: r })
    }
    fn touch_pages(
        &self,
        py: Python<'_>,
        pid: u32,
        addrs: PyReadonlyArray1<'_, u64>,
        write: bool,
    ) -> PyResult<PyFaultReport> {
        let a = addrs.as_slice()?;
        let r = self.door.enter(py, "touch_pages", |m| m.touch_pages(pid, a, write))?;
        Ok(PyFaultReport { inner: r })
    }
    /// Content stamps of each page (what the task reads), without faulting.
    fn peek<'py>(
        &self,
        py: Python<'py>,
        pid: u32,
        addr: u64,
        length: u64,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        Ok(self.door.enter(py, "peek", |m| m.peek(pid, addr, length))?.into_pyarray(py))
    }
    fn page_nodes<'py>(
        &self,
        py: Python<'py>,
        pid: u32,
        addr: u64,
        length: u64,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        Ok(self.door.enter(py, "page_nodes", |m| m.page_nodes(pid, addr, length))?.into_pyarray(py))
    }
    fn resident_by_node(&self, py: Python<'_>, pid: u32) -> PyResult<Vec<(u32, u64)>> {
        self.door.enter(py, "resident_by_node", |m| m.resident_by_node(pid))
    }
    /// gather_stats() per VMA.
    fn numa_maps_stats(&self, py: Python<'_>, pid: u32) -> PyResult<Vec<NumaMapsEntry>> {
        let e = self.door.enter(py, "numa_maps", |m| m.numa_maps(pid))?;
        Ok(e.into_iter().map(NumaMapsEntry::from).collect())
    }

    // ----- memory, swap, files -----

    fn numastat(&self, py: Python<'_>) -> PyResult<Vec<NodeNumaStat>> {
        let u = self.door.enter(py, "numastat", |m| Ok(m.numastat()))?;
        Ok(u.into_iter().map(NodeNumaStat::from).collect())
    }
    fn node_usage(&self, py: Python<'_>) -> PyResult<Vec<NodeUsage>> {
        let u = self.door.enter(py, "node_usage", |m| Ok(m.node_usage()))?;
        Ok(u.into_iter().map(NodeUsage::from).collect())
    }
    fn meminfo(&self, py: Python<'_>, nid: u32) -> PyResult<NodeMeminfo> {
        Ok(self.door.enter(py, "meminfo", |m| m.meminfo(nid))?.into())
    }
    fn zoneinfo(&self, py: Python<'_>) -> PyResult<Vec<ZoneInfo>> {
        let z = self.door.enter(py, "zoneinfo", |m| Ok(m.zoneinfo()))?;
        Ok(z.into_iter().map(ZoneInfo::from).collect())
    }
    fn min_free_kbytes(&self, py: Python<'_>) -> PyResult<u64> {
        self.door.enter(py, "min_free_kbytes", |m| Ok(m.min_free_kbytes()))
    }
    /// transparent_hugepage/enabled: "always", "madvise" or "never".
    fn thp(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.door.enter(py, "thp", |m| Ok(m.thp.name()))
    }
    fn set_thp(&self, py: Python<'_>, mode: String) -> PyResult<()> {
        self.door.enter(py, "set_thp", |m| m.set_thp(ThpMode::parse(&mode)?))
    }
    #[pyo3(signature = (node=None))]
    fn nr_hugepages(&self, py: Python<'_>, node: Option<u32>) -> PyResult<u64> {
        self.door.enter(py, "nr_hugepages", |m| m.nr_hugepages(node))
    }
    #[pyo3(signature = (count, node=None))]
    fn set_nr_hugepages(&self, py: Python<'_>, count: u64, node: Option<u32>) -> PyResult<()> {
        self.door.enter(py, "set_nr_hugepages", |m| m.set_nr_hugepages(count, node))
    }
    fn nr_overcommit_hugepages(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        self.door.enter(py, "nr_overcommit_hugepages", |m| Ok(m.hugetlb.overcommit))
    }
    #[pyo3(signature = (count))]
    fn set_nr_overcommit_hugepages(&self, py: Python<'_>, count: Option<u64>) -> PyResult<()> {
        self.door.enter(py, "set_nr_overcommit_hugepages", |m| {
            m.set_nr_overcommit_hugepages(count);
            Ok(())
        })
    }
    #[pyo3(signature = (kb))]
    fn set_min_free_kbytes(&self, py: Python<'_>, kb: Option<u64>) -> PyResult<()> {
        self.door.enter(py, "set_min_free_kbytes", |m| m.set_min_free_kbytes(kb))
    }
    fn vmstat(&self, py: Python<'_>) -> PyResult<VmStat> {
        Ok(self.door.enter(py, "vmstat", |m| Ok(m.vmstat))?.into())
    }
    fn swap_devices(&self, py: Python<'_>) -> PyResult<Vec<SwapDevice>> {
        let d = self.door.enter(py, "swap_devices", |m| Ok(m.swap_devices()))?;
        Ok(d.into_iter().map(SwapDevice::from).collect())
    }
    fn swap_cache_pages(&self, py: Python<'_>) -> PyResult<usize> {
        self.door.enter(py, "swap_cache_pages", |m| Ok(m.swap.cache_pages()))
    }
    fn swap_out(&self, py: Python<'_>, pid: u32, addr: u64, length: u64) -> PyResult<u64> {
        self.door.enter(py, "swap_out", |m| m.swap_out(pid, addr, length))
    }
    #[pyo3(signature = (file=None))]
    fn writeback(&self, py: Python<'_>, file: Option<u32>) -> PyResult<u64> {
        self.door.enter(py, "writeback", |m| m.writeback(file))
    }
    fn create_file(&self, py: Python<'_>, path: &str, size: u64) -> PyResult<u32> {
        self.door.enter(py, "create_file", |m| m.create_file(path, size))
    }
    fn file_info(&self, py: Python<'_>, file: u32) -> PyResult<FileInfo> {
        Ok(self.door.enter(py, "file_info", |m| m.file_info(file))?.into())
    }
    fn shmget(&self, py: Python<'_>, size: u64) -> PyResult<u32> {
        self.door.enter(py, "shmget", |m| m.shmget(size))
    }
    fn shm_rmid(&self, py: Python<'_>, file: u32) -> PyResult<()> {
        self.door.enter(py, "shm_rmid", |m| m.shm_rmid(file))
    }
    /// Imposes (on=True) or lifts a transient page state on a range of a task.
    #[pyo3(signature = (pid, addr, length, state, on, duration_ns))]
    #[allow(clippy::too_many_arguments)]
    fn set_page_state(
        &self,
        py: Python<'_>,
        pid: u32,
        addr: u64,
        length: u64,
        state: &str,
        on: bool,
        duration_ns: Option<u64>,
    ) -> PyResult<u64> {
        let s = PageState::parse(state).py()?;
        self.door.enter(py, "set_page_state", |m| {
            m.set_page_state(pid, addr, length, s, on, duration_ns)
        })
    }
    /// lru_add_drain_all().
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        self.door.enter(py, "drain", |m| {
            m.lru_add_drain_all();
            Ok(())
        })
    }
    /// Verifies every invariant; raises InvariantError naming the first broken one.
    fn check(&self, py: Python<'_>) -> PyResult<()> {
        self.door.enter(py, "check", |m| m.check())
    }
    /// Test hook, not API: panics inside the door as a core bug would, so that tests can show
    /// the machine is poisoned afterwards.
    fn _simulate_panic(&self, py: Python<'_>) -> PyResult<()> {
        self.door.enter(py, "_simulate_panic", |_| -> Result<(), numasim_core::Error> {
            panic!("a simulated bug in the core")
        })
    }

    // ----- snapshots (rust/core/src/machine/snapshot.rs) -----

    /// A deep, independent copy of the machine.
    fn copy(&self, py: Python<'_>) -> PyResult<Self> {
        let m = self.door.enter(py, "copy", |m| Ok(m.clone()))?;
        Ok(self.with_machine(m))
    }
    /// The machine as bytes (a versioned, checksummed snapshot); the bytes object is built
    /// after the machine's lock is dropped.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let blob = self.door.enter(py, "snapshot", |m| m.snapshot())?;
        Ok(PyBytes::new(py, &blob))
    }
    /// A machine rebuilt from `snapshot()`'s bytes; ValueError naming what is wrong with a
    /// blob that is not one (truncated, corrupt, another version).
    #[staticmethod]
    fn from_snapshot(py: Python<'_>, blob: &[u8]) -> PyResult<Self> {
        let m = door::run(py, "from_snapshot", move || Machine::from_snapshot(blob))?;
        let (arch, semantics, page_cluster) = (m.arch.clone(), m.semantics, m.page_cluster);
        let (costs, kernel) = (m.costs, m.kernel_version());
        Ok(PyMachine { door: Door::new(m), arch, semantics, page_cluster, costs, kernel })
    }
    /// Pickling: the snapshot, rebuilt by `MachineCore.from_snapshot`.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        let blob = slf.get().snapshot(py)?;
        Ok((slf.getattr("from_snapshot")?, (blob,)))
    }

    // ----- cpusets -----

    #[pyo3(signature = (path, mems, cpus, memory_migrate))]
    fn cpuset_create(
        &self,
        py: Python<'_>,
        path: &str,
        mems: &Bound<'_, PyNodeMask>,
        cpus: &Bound<'_, PyNodeMask>,
        memory_migrate: bool,
    ) -> PyResult<()> {
        let (mems, cpus) = (mask(mems), mask(cpus));
        self.door
            .enter(py, "cpuset_create", |m| m.create_cpuset(path, &mems, &cpus, memory_migrate))
    }
    fn cpuset_info(&self, py: Python<'_>, path: &str) -> PyResult<CpusetInfo> {
        Ok(self.door.enter(py, "cpuset_info", |m| m.cpuset_info(path))?.into())
    }
    /// Writes a cpuset's mems (update_nodemask): policies rebound, pages moved with
    /// memory_migrate; one report per migrated address space.
    fn cpuset_set_mems(
        &self,
        py: Python<'_>,
        path: &str,
        mems: &Bound<'_, PyNodeMask>,
    ) -> PyResult<Vec<PyMigrateReport>> {
        let mems = mask(mems);
        let r = self.door.enter(py, "cpuset_set_mems", |m| m.cpuset_update_mems(path, &mems))?;
        Ok(r.into_iter().map(report).collect())
    }
    /// Attaches a task (attach_task); the report of the memory_migrate move, if one ran.
    fn cpuset_attach(
        &self,
        py: Python<'_>,
        pid: u32,
        path: &str,
    ) -> PyResult<Option<PyMigrateReport>> {
        Ok(self.door.enter(py, "cpuset_attach", |m| m.attach_cpuset(pid, path))?.map(report))
    }
    fn cpuset_remove(&self, py: Python<'_>, path: &str) -> PyResult<()> {
        self.door.enter(py, "cpuset_remove", |m| m.remove_cpuset(path))
    }

    // ----- memory policy and migration: the work of system calls checked by syscalls.py -----

    /// set_mempolicy(2) work: `mode` and `mode_flags` as sanitize_mode() returned them.
    fn set_mempolicy(
        &self,
        py: Python<'_>,
        pid: u32,
        mode: u16,
        mode_flags: u16,
        nodes: &Bound<'_, PyNodeMask>,
    ) -> PyResult<()> {
        let nodes = mask(nodes);
        self.door.enter(py, "set_mempolicy", |m| m.set_mempolicy(pid, mode, mode_flags, &nodes))
    }
    fn get_mempolicy(
        &self,
        py: Python<'_>,
        pid: u32,
        flags: u64,
        addr: u64,
    ) -> PyResult<(i32, PyNodeMask)> {
        let (v, mask) =
            self.door.enter(py, "get_mempolicy", |m| m.get_mempolicy(pid, flags, addr))?;
        Ok((v, mask.into()))
    }
    /// do_migrate_pages(mm of `pid`, old, new, flags) run by `caller`, if the machine is still
    /// at `epoch` (the snapshot the checks read).
    #[allow(clippy::too_many_arguments)]
    fn do_migrate_pages(
        &self,
        py: Python<'_>,
        caller: u32,
        pid: u32,
        old: &Bound<'_, PyNodeMask>,
        new: &Bound<'_, PyNodeMask>,
        flags: u32,
        epoch: u64,
    ) -> PyResult<PyMigrateReport> {
        let (old, new) = (mask(old), mask(new));
        let r = self.door.enter(py, "migrate_pages", |m| {
            m.checked(epoch, |m| m.do_migrate_pages_by(caller, pid, &old, &new, flags))
        })?;
        Ok(report(r))
    }
    /// move_pages(2) page work at `epoch`: (return value, status array, report).
    #[pyo3(signature = (pid, pages, nodes, move_all, epoch))]
    #[allow(clippy::type_complexity)]
    fn move_pages<'py>(
        &self,
        py: Python<'py>,
        pid: u32,
        pages: PyReadonlyArray1<'_, u64>,
        nodes: Option<PyReadonlyArray1<'_, i32>>,
        move_all: bool,
        epoch: u64,
    ) -> PyResult<(i64, Bound<'py, PyArray1<i32>>, PyMigrateReport)> {
        let p = pages.as_slice()?;
        let n = match &nodes {
            Some(a) => Some(a.as_slice()?),
            None => None,
        };
        let (rc, status, r) = self.door.enter(py, "move_pages", |m| {
            m.checked(epoch, |m| m.move_pages_reported(pid, p, n, move_all))
        })?;
        Ok((rc, status.into_pyarray(py), report(r)))
    }
    /// mbind(2) work at `epoch`, after the syscall layer's checks: policy, install, moves.
    #[allow(clippy::too_many_arguments)]
    fn mbind(
        &self,
        py: Python<'_>,
        pid: u32,
        addr: u64,
        length: u64,
        mode: u16,
        mode_flags: u16,
        nodes: &Bound<'_, PyNodeMask>,
        flags: u32,
        epoch: u64,
    ) -> PyResult<PyMigrateReport> {
        let nodes = mask(nodes);
        let r = self.door.enter(py, "mbind", |m| {
            m.checked(epoch, |m| m.mbind(pid, addr, length, mode, mode_flags, &nodes, flags))
        })?;
        Ok(report(r))
    }
}

/// sanitize_mode of a generation (sanitize_mpol_flags() in 6.x; `mode > MPOL_MAX` in 2.6):
/// (mode, mode flags), or OSError EINVAL.
#[pyfunction]
pub fn sanitize_mode(semantics: &str, mode: i64) -> PyResult<(u16, u16)> {
    let sem = Semantics::parse(semantics).py()?;
    core_sanitize_mode(sem, mode).py()
}

/// The (source, dest) node pairs do_migrate_pages() runs for old -> new under a semantics,
/// without touching memory; V5's destination is None (pages are evicted).
#[pyfunction]
pub fn migration_pairs_core(
    old: &Bound<'_, PyNodeMask>,
    new: &Bound<'_, PyNodeMask>,
    semantics: &str,
) -> PyResult<Vec<(u32, Option<u32>)>> {
    let sem = Semantics::parse(semantics).py()?;
    migration_pairs(&old.get().inner, &new.get().inner, sem).py()
}

/// The built-in cost profiles, in era order.
#[pyfunction]
pub fn cost_profiles() -> Vec<CostProfile> {
    costs::PROFILES.into_iter().map(CostProfile::from).collect()
}

/// The block devices a cost model may name.
#[pyfunction]
pub fn cost_devices() -> Vec<CostDevice> {
    costs::DEVICES.into_iter().map(CostDevice::from).collect()
}

/// The cost model described by (profile, [(term, value)], swap device, file device), checked:
/// ValueError for an unknown profile, term or device, or a bandwidth of 0.
#[pyfunction]
pub fn cost_model(spec: CostSpec) -> PyResult<CostTerms> {
    Ok(cost_model_of(&spec)?.into())
}

/// The cost model a machine of this semantics and arch gets when none is given.
#[pyfunction]
pub fn cost_default(semantics: &str, arch: &str) -> PyResult<CostTerms> {
    Ok(CostModel::default_for(Semantics::parse(semantics).py()?, arch).into())
}

/// A modern kernel version, checked and normalised ("6.1"); ValueError if numasim does not
/// model it.
#[pyfunction]
pub fn kernel_version(version: &str) -> PyResult<String> {
    Ok(Kernel::parse(version).py()?.to_string())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMachine>()?;
    m.add_class::<PyTimeReport>()?;
    m.add_class::<PyFaultReport>()?;
    m.add_class::<PyMigrateReport>()?;
    m.add_class::<PyReasons>()?;
    m.add_class::<PairReport>()?;
    for c in [
        m.py().get_type::<TaskInfo>(),
        m.py().get_type::<Vma>(),
        m.py().get_type::<FileInfo>(),
        m.py().get_type::<MmCounters>(),
        m.py().get_type::<MmLayout>(),
        m.py().get_type::<NodeInfo>(),
        m.py().get_type::<NodeStates>(),
        m.py().get_type::<NodeUsage>(),
        m.py().get_type::<NodeNumaStat>(),
        m.py().get_type::<SwapDevice>(),
        m.py().get_type::<CpusetInfo>(),
        m.py().get_type::<NodeMeminfo>(),
        m.py().get_type::<ZoneInfo>(),
        m.py().get_type::<NumaMapsEntry>(),
        m.py().get_type::<VmStat>(),
        m.py().get_type::<TargetAccess>(),
        m.py().get_type::<SyscallAccess>(),
        m.py().get_type::<CostTerms>(),
        m.py().get_type::<CostProfile>(),
        m.py().get_type::<CostDevice>(),
    ] {
        m.add(c.name()?, c)?;
    }
    m.add_function(wrap_pyfunction!(migration_pairs_core, m)?)?;
    m.add_function(wrap_pyfunction!(sanitize_mode, m)?)?;
    m.add_function(wrap_pyfunction!(cost_profiles, m)?)?;
    m.add_function(wrap_pyfunction!(cost_devices, m)?)?;
    m.add_function(wrap_pyfunction!(cost_model, m)?)?;
    m.add_function(wrap_pyfunction!(cost_default, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_version, m)?)?;
    m.add("COST_TERMS", costs::TERMS.to_vec())?;
    m.add("TIME_TERMS", costs::TimeReport::TERMS.to_vec())?;
    m.add("STATUS_UNWRITTEN", numasim_core::migrate::move_pages::STATUS_UNWRITTEN)?;
    m.add("REASONS", Reason::ALL.map(Reason::name).to_vec())?;
    m.add("INVARIANT_AREAS", numasim_core::machine::check::area::ALL.to_vec())?;
    Ok(())
}
