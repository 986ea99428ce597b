//! `_core.MachineCore`: the simulated machine behind `numasim.Machine`, addressed by pid.
//! Conversion only: every method extracts arguments, calls the core (outside the GIL when it
//! touches pages) and converts the result.

use std::sync::{Mutex, MutexGuard};

use numasim_core::machine::mm::{mapf, prot};
use numasim_core::machine::reclaim::PageState;
use numasim_core::machine::{Config, Costs, Machine, NodeSpec};
use numasim_core::mempolicy::PolicyCall;
use numasim_core::migrate::{migration_pairs, MigrateReport, Reason, Reasons};
use numasim_core::{Error, Semantics};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arch::PyArchProfile;
use crate::errors::IntoPyResult;
use crate::nodemask::PyNodeMask;

/// The machine core. Use `numasim.Machine`, which builds one and hands out Task objects.
#[pyclass(name = "MachineCore", module = "numasim._core", frozen)]
pub struct PyMachine {
    inner: Mutex<Machine>,
}

impl PyMachine {
    fn lock(&self) -> MutexGuard<'_, Machine> {
        // A panic cannot leave the machine half-changed in a way later calls would trust less
        // than the error they already saw, so a poisoned lock is taken over.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the machine with the GIL released.
    fn run<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Machine) -> Result<R, Error> + Send,
    ) -> PyResult<R> {
        py.detach(|| f(&mut self.lock())).py()
    }
}

/// (source, dest, scanned, isolated, moved, swapped_out, not_moved, result, passes).
type PairTuple = (u32, Option<u32>, u64, u64, u64, u64, u64, i64, u32);
/// (mems, cpus, memory_migrate, parent, children) of a cpuset.
type CpusetTuple = (PyNodeMask, PyNodeMask, bool, Option<String>, Vec<String>);

fn reasons_dict<'py>(py: Python<'py>, r: &Reasons) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for reason in Reason::ALL {
        d.set_item(reason.name(), r.get(reason))?;
    }
    Ok(d)
}

/// The core's MigrateReport, handed to Python as is: `ret` is read on every system call, the
/// rest only when someone looks (numasim.MigrateReport asks for `as_dict()` then).
#[pyclass(name = "MigrateReportCore", module = "numasim._core", frozen)]
pub struct PyReport {
    inner: MigrateReport,
}

#[pymethods]
impl PyReport {
    /// What the system call returns: the pages not moved, or -errno.
    #[getter]
    fn ret(&self) -> i64 {
        self.inner.ret
    }
    /// Every field as a dict.
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        report_dict(py, &self.inner)
    }
}

/// A MigrateReport as a dict (numasim.MigrateReport reads its fields from it).
fn report_dict<'py>(py: Python<'py>, r: &MigrateReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("semantics", r.semantics.name())?;
    for (k, v) in [
        ("scanned", r.scanned),
        ("selected", r.selected),
        ("isolated", r.isolated),
        ("moved", r.moved),
        ("swapped_out", r.swapped_out),
        ("put_back", r.put_back),
        ("failed", r.failed),
        ("retried_out", r.retried_out),
        ("not_moved", r.not_moved),
    ] {
        d.set_item(k, v)?;
    }
    d.set_item("skipped", reasons_dict(py, &r.skipped)?)?;
    d.set_item("not_moved_by", reasons_dict(py, &r.not_moved_by)?)?;
    let pairs: Vec<PairTuple> = r
        .pairs
        .iter()
        .map(|p| {
            (
                p.source,
                p.dest,
                p.scanned,
                p.isolated,
                p.moved,
                p.swapped_out,
                p.not_moved,
                p.result,
                p.passes,
            )
        })
        .collect();
    d.set_item("pairs", pairs)?;
    d.set_item("passes", r.passes)?;
    let t = &r.time;
    d.set_item("time", (t.total_ns, t.copy_ns, t.io_ns, t.tlb_ns, t.wait_ns))?;
    d.set_item("error", r.error.unwrap_or(0))?;
    d.set_item("ret", r.ret)?;
    d.set_item("no_swap_at_collection", r.no_swap_at_collection)?;
    Ok(d)
}

fn dict_from<'py>(py: Python<'py>, items: &[(&str, Py<PyAny>)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in items {
        d.set_item(*k, v)?;
    }
    Ok(d)
}

#[pymethods]
impl PyMachine {
    /// MachineCore(arch, semantics, nodes, distances, swap_bytes, page_cluster): nodes is a list
    /// of (nid, memory bytes, [cpus]).
    #[new]
    #[pyo3(signature = (arch, semantics, nodes, distances, swap_bytes, page_cluster))]
    fn new(
        py: Python<'_>,
        arch: PyArchProfile,
        semantics: &str,
        nodes: Vec<(u32, u64, Vec<u32>)>,
        distances: Option<Vec<Vec<u32>>>,
        swap_bytes: u64,
        page_cluster: u32,
    ) -> PyResult<Self> {
        let semantics = Semantics::parse(semantics).py()?;
        let nodes = nodes
            .into_iter()
            .map(|(nid, mem_bytes, cpus)| NodeSpec { nid, mem_bytes, cpus })
            .collect();
        let cfg = Config {
            arch: arch.inner,
            semantics,
            nodes,
            distances,
            swap_bytes,
            page_cluster,
            costs: Costs::default(),
        };
        let m = py.detach(|| Machine::new(cfg)).py()?;
        Ok(PyMachine { inner: Mutex::new(m) })
    }

    #[getter]
    fn arch(&self) -> PyArchProfile {
        PyArchProfile { inner: self.lock().arch.clone() }
    }
    #[getter]
    fn semantics(&self) -> &'static str {
        self.lock().semantics.name()
    }
    #[getter]
    fn now_ns(&self) -> u64 {
        self.lock().now_ns
    }
    #[getter]
    fn page_cluster(&self) -> u32 {
        self.lock().page_cluster
    }
    /// Lets `ns` of simulated time pass: I/O completes, files dirty for 30 s are written back.
    fn advance(&self, ns: u64) {
        self.lock().pass_time(ns);
    }

    // ----- topology -----

    /// [(nid, memory bytes, [cpus])] in node order.
    fn nodes(&self) -> Vec<(u32, u64, Vec<u32>)> {
        self.lock().topo.nodes.iter().map(|n| (n.nid, n.mem_bytes, n.cpus.clone())).collect()
    }
    /// Node states: {"possible", "online", "has_memory", "has_cpu"} -> NodeMask.
    fn node_states<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = self.lock();
        let d = PyDict::new(py);
        d.set_item("possible", PyNodeMask::from(m.topo.possible.clone()))?;
        d.set_item("online", PyNodeMask::from(m.topo.online.clone()))?;
        d.set_item("has_memory", PyNodeMask::from(m.topo.n_memory.clone()))?;
        d.set_item("has_cpu", PyNodeMask::from(m.topo.n_cpu.clone()))?;
        Ok(d)
    }
    /// SLIT distance between two nodes.
    fn distance(&self, a: u32, b: u32) -> PyResult<u32> {
        self.lock().topo.distance(a, b).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "no distance between nodes {a} and {b}: one of them does not exist"
            ))
        })
    }
    /// The fallback order of allocations preferring `nid` (its zonelist).
    fn zonelist(&self, nid: u32) -> Vec<u32> {
        self.lock().topo.zonelist(nid).to_vec()
    }
    fn nr_cpus(&self) -> u32 {
        self.lock().topo.nr_cpus()
    }
    fn cpu_to_node(&self, cpu: u32) -> PyResult<u32> {
        let m = self.lock();
        if cpu >= m.topo.nr_cpus() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "cpu {cpu} does not exist"
            )));
        }
        Ok(m.topo.cpu_to_node(cpu))
    }

    // ----- tasks -----

    fn spawn(&self, uid: u32, gid: u32, cpu: u32, cpuset: &str, comm: &str) -> PyResult<u32> {
        self.lock().spawn(uid, gid, cpu, cpuset, comm).py()
    }
    fn kernel_thread(&self, comm: &str, cpu: u32) -> PyResult<u32> {
        self.lock().kernel_thread(comm, cpu).py()
    }
    fn clone_thread(&self, pid: u32) -> PyResult<u32> {
        self.lock().clone_thread(pid).py()
    }
    fn fork(&self, py: Python<'_>, pid: u32) -> PyResult<u32> {
        self.run(py, |m| m.fork(pid))
    }
    fn exit(&self, py: Python<'_>, pid: u32) -> PyResult<()> {
        self.run(py, |m| m.exit(pid))
    }
    fn pids(&self) -> Vec<u32> {
        self.lock().tasks.keys().copied().collect()
    }
    /// One task's identity, credentials, CPU, cpuset and policy, as a dict.
    fn task_info<'py>(&self, py: Python<'py>, pid: u32) -> PyResult<Bound<'py, PyDict>> {
        let m = self.lock();
        let t = m.task(pid).py()?;
        let c = &t.cred;
        let node = m.topo.cpu_to_node(t.cpu);
        let policy = m.policy_text(t.policy.as_ref());
        let mems = m.mems_allowed(pid).py()?;
        dict_from(
            py,
            &[
                ("pid", t.pid.into_pyobject(py)?.into_any().unbind()),
                ("tgid", t.tgid.into_pyobject(py)?.into_any().unbind()),
                ("comm", t.comm.clone().into_pyobject(py)?.into_any().unbind()),
                ("has_mm", t.mm.is_some().into_pyobject(py)?.to_owned().into_any().unbind()),
                ("uid", (c.uid, c.euid, c.suid, c.fsuid).into_pyobject(py)?.into_any().unbind()),
                ("gid", (c.gid, c.egid, c.sgid, c.fsgid).into_pyobject(py)?.into_any().unbind()),
                ("cap_effective", c.cap_effective.names().into_pyobject(py)?.into_any().unbind()),
                ("cap_permitted", c.cap_permitted.names().into_pyobject(py)?.into_any().unbind()),
                (
                    "cap_effective_hex",
                    c.cap_effective.to_hex().into_pyobject(py)?.into_any().unbind(),
                ),
                ("dumpable", c.dumpable.into_pyobject(py)?.to_owned().into_any().unbind()),
                ("cpu", t.cpu.into_pyobject(py)?.into_any().unbind()),
                ("node", node.into_pyobject(py)?.into_any().unbind()),
                ("cpuset", t.cpuset.clone().into_pyobject(py)?.into_any().unbind()),
                ("policy", policy.into_pyobject(py)?.into_any().unbind()),
                ("mems_allowed", PyNodeMask::from(mems).into_pyobject(py)?.into_any().unbind()),
            ],
        )
    }
    /// capable(cap) for a task: is `cap` ("CAP_SYS_NICE") in its effective set?
    fn capable(&self, pid: u32, cap: &str) -> PyResult<bool> {
        let n = numasim_core::cred::cap_from_name(cap).py()?;
        Ok(self.lock().task(pid).py()?.cred.capable(n))
    }
    /// Does the task have an mm (false for kernel threads)? ESRCH if there is no such task.
    fn has_mm(&self, pid: u32) -> PyResult<bool> {
        Ok(self.lock().task(pid).py()?.mm.is_some())
    }
    /// The task's mems_allowed (cpuset_mems_allowed(task)).
    fn mems_allowed(&self, pid: u32) -> PyResult<PyNodeMask> {
        Ok(self.lock().mems_allowed(pid).py()?.into())
    }
    /// sanitize the mode argument of set_mempolicy/mbind for this generation: (mode, flags) or
    /// EINVAL (sanitize_mpol_flags() in 6.x; mode > MPOL_MAX in 2.6).
    fn sanitize_mode(&self, mode: i64) -> PyResult<(u16, u16)> {
        let sem = self.lock().semantics;
        numasim_core::mempolicy::sanitize_mode(sem, mode).py()
    }
    fn migrate_to_cpu(&self, pid: u32, cpu: u32) -> PyResult<()> {
        self.lock().migrate_to_cpu(pid, cpu).py()
    }
    /// A set*id call: op is "setuid", "setresuid", ...; ids use 0xffffffff for -1.
    fn set_ids(&self, pid: u32, op: &str, ids: Vec<u32>) -> PyResult<()> {
        self.lock().set_ids(pid, op, &ids).py()
    }
    fn set_capability(&self, pid: u32, cap: &str, on: bool) -> PyResult<()> {
        self.lock().set_capability(pid, cap, on).py()
    }
    /// sys_migrate_pages' uid rule, or the capability `cap` (e.g. "CAP_SYS_NICE").
    fn may_migrate(&self, caller: u32, target: u32, cap: &str) -> PyResult<bool> {
        self.lock().may_migrate(caller, target, cap).py()
    }
    /// ptrace_may_access(PTRACE_MODE_READ_REALCREDS); raises PermissionError naming why not.
    fn ptrace_may_access(&self, caller: u32, target: u32) -> PyResult<()> {
        self.lock().ptrace_may_access(caller, target).py()
    }
    fn set_dumpable(&self, pid: u32, on: bool) -> PyResult<()> {
        self.lock().task_mut(pid).py()?.cred.dumpable = on;
        Ok(())
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
        self.run(py, |m| m.mmap(pid, addr, length, p, f, file, offset))
    }
    fn munmap(&self, py: Python<'_>, pid: u32, addr: u64, length: u64) -> PyResult<()> {
        self.run(py, |m| m.munmap(pid, addr, length))
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
        self.run(py, |m| m.mprotect(pid, addr, length, p))
    }
    fn mlock(&self, py: Python<'_>, pid: u32, addr: u64, length: u64, lock: bool) -> PyResult<()> {
        self.run(py, |m| m.mlock(pid, addr, length, lock))
    }
    fn brk(&self, pid: u32, addr: u64) -> PyResult<u64> {
        self.lock().brk(pid, addr).py()
    }
    /// [(start, end, flag names, file path or None, pgoff, kind, policy text)] of a task's VMAs.
    #[allow(clippy::type_complexity)]
    fn vmas(
        &self,
        pid: u32,
    ) -> PyResult<Vec<(u64, u64, Vec<&'static str>, Option<String>, u64, &'static str, String)>>
    {
        let m = self.lock();
        let mm = m.task_mm(pid).py()?;
        Ok(m.mm(mm)
            .vmas
            .values()
            .map(|v| {
                let names = numasim_core::machine::VmFlags::NAMES
                    .iter()
                    .filter(|(b, _)| v.flags & b != 0)
                    .map(|(_, n)| *n)
                    .collect();
                let kind = match v.kind {
                    numasim_core::machine::mm::VmaKind::Heap => "heap",
                    numasim_core::machine::mm::VmaKind::Stack => "stack",
                    numasim_core::machine::mm::VmaKind::Plain => "",
                };
                (
                    v.start,
                    v.end,
                    names,
                    v.file.map(|f| m.file(f).path.clone()),
                    v.pgoff,
                    kind,
                    m.policy_text(v.policy.as_ref()),
                )
            })
            .collect())
    }
    /// (start_brk, brk, start_stack, mmap_base) of a task's mm.
    fn layout(&self, pid: u32) -> PyResult<(u64, u64, u64, u64)> {
        let m = self.lock();
        let mm = m.mm(m.task_mm(pid).py()?);
        Ok((mm.start_brk, mm.brk, mm.start_stack, mm.mmap_base))
    }
    /// (rss_anon, rss_file, swap_ents, page-table bytes) of a task's mm.
    fn mm_counters(&self, pid: u32) -> PyResult<(u64, u64, u64, u64)> {
        let m = self.lock();
        let mm = m.mm(m.task_mm(pid).py()?);
        Ok((mm.rss_anon, mm.rss_file, mm.swap_ents, mm.pt.bytes()))
    }

    // ----- faults and contents -----

    fn touch(&self, py: Python<'_>, pid: u32, addr: u64, length: u64, write: bool) -> PyResult<()> {
        self.run(py, |m| m.touch(pid, addr, length, write))
    }
    fn touch_pages(
        &self,
        py: Python<'_>,
        pid: u32,
        addrs: PyReadonlyArray1<'_, u64>,
        write: bool,
    ) -> PyResult<()> {
        let a = addrs.as_slice()?;
        py.detach(|| self.lock().touch_pages(pid, a, write)).py()
    }
    /// Content stamps of each page (what the task reads), without faulting.
    fn peek<'py>(
        &self,
        py: Python<'py>,
        pid: u32,
        addr: u64,
        length: u64,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        Ok(self.run(py, |m| m.peek(pid, addr, length))?.into_pyarray(py))
    }
    fn page_nodes<'py>(
        &self,
        py: Python<'py>,
        pid: u32,
        addr: u64,
        length: u64,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        Ok(self.run(py, |m| m.page_nodes(pid, addr, length))?.into_pyarray(py))
    }
    fn resident_by_node(&self, py: Python<'_>, pid: u32) -> PyResult<Vec<(u32, u64)>> {
        self.run(py, |m| m.resident_by_node(pid))
    }
    /// gather_stats() per VMA, as dicts.
    fn numa_maps_stats<'py>(&self, py: Python<'py>, pid: u32) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let entries = self.run(py, |m| m.numa_maps(pid))?;
        entries
            .into_iter()
            .map(|e| {
                let d = PyDict::new(py);
                d.set_item("start", e.start)?;
                d.set_item("end", e.end)?;
                d.set_item("file", e.file)?;
                d.set_item("heap", e.heap)?;
                d.set_item("stack", e.stack)?;
                d.set_item("huge", e.huge)?;
                d.set_item("policy", e.policy)?;
                d.set_item("pages", e.pages)?;
                d.set_item("anon", e.anon)?;
                d.set_item("dirty", e.dirty)?;
                d.set_item("mapped", e.mapped)?;
                d.set_item("mapmax", e.mapmax)?;
                d.set_item("swapcache", e.swapcache)?;
                d.set_item("active", e.active)?;
                d.set_item("writeback", e.writeback)?;
                d.set_item("locked", e.locked)?;
                d.set_item("nodes", e.nodes)?;
                d.set_item("kernelpagesize_kB", e.kernel_page_kb)?;
                Ok(d)
            })
            .collect()
    }

    // ----- memory, swap, files -----

    /// [(nid, total pages, free pages)] per node with its memory.
    fn node_usage(&self) -> Vec<(u32, u64, u64)> {
        self.lock().phys.nodes.iter().map(|n| (n.nid, n.pages, n.nr_free())).collect()
    }
    /// Per-node meminfo counters (pages), as a dict.
    fn meminfo<'py>(&self, py: Python<'py>, nid: u32) -> PyResult<Bound<'py, PyDict>> {
        let mi = self.run(py, |m| m.meminfo(nid))?;
        let d = PyDict::new(py);
        for (k, v) in [
            ("total", mi.total),
            ("free", mi.free),
            ("used", mi.used),
            ("active", mi.active),
            ("inactive", mi.inactive),
            ("file_pages", mi.file_pages),
            ("anon_pages", mi.anon_pages),
            ("mapped", mi.mapped),
            ("dirty", mi.dirty),
            ("writeback", mi.writeback),
            ("swapcache", mi.swapcache),
            ("mlocked", mi.mlocked),
            ("huge", mi.huge),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
    /// /proc/vmstat counters the simulator keeps.
    fn vmstat<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let v = self.lock().vmstat;
        let d = PyDict::new(py);
        for (k, x) in [
            ("pgpgin", v.pgpgin),
            ("pgpgout", v.pgpgout),
            ("pswpin", v.pswpin),
            ("pswpout", v.pswpout),
            ("pgfault", v.pgfault),
            ("pgmajfault", v.pgmajfault),
            ("cow_faults", v.cow_faults),
            ("pgmigrate_success", v.pgmigrate_success),
            ("pgmigrate_fail", v.pgmigrate_fail),
        ] {
            d.set_item(k, x)?;
        }
        Ok(d)
    }
    /// [(name, priority, size pages, used slots)] per swap device, plus the swap cache size.
    fn swap_info(&self) -> (Vec<(String, i32, u64, u64)>, usize) {
        let m = self.lock();
        (
            m.swap.devices.iter().map(|d| (d.name.clone(), d.prio, d.slots(), d.inuse)).collect(),
            m.swap.cache_pages(),
        )
    }
    fn swap_out(&self, py: Python<'_>, pid: u32, addr: u64, length: u64) -> PyResult<u64> {
        self.run(py, |m| m.swap_out(pid, addr, length))
    }
    #[pyo3(signature = (file=None))]
    fn writeback(&self, py: Python<'_>, file: Option<u32>) -> PyResult<u64> {
        self.run(py, |m| m.writeback(file))
    }
    fn create_file(&self, path: &str, size: u64) -> PyResult<u32> {
        self.lock().create_file(path, size).py()
    }
    /// (id, path, pages, cached pages, shmem) of a file.
    fn file_info(&self, file: u32) -> PyResult<(u32, String, u64, u64, bool)> {
        let m = self.lock();
        match m.files.get(file as usize).and_then(|f| f.as_ref()) {
            Some(f) => Ok((
                f.id,
                f.path.clone(),
                f.pages,
                f.cache.iter().filter(|&&c| c != 0).count() as u64,
                f.shmem,
            )),
            None => Err(pyo3::exceptions::PyValueError::new_err(format!("no file {file}"))),
        }
    }
    fn shmget(&self, size: u64) -> PyResult<u32> {
        self.lock().shmget(size).py()
    }
    fn shm_rmid(&self, file: u32) -> PyResult<()> {
        self.lock().shm_rmid(file).py()
    }
    /// Imposes (on=True) or lifts a transient page state on a range of a task.
    #[pyo3(signature = (pid, addr, length, state, on, duration_ns))]
    fn set_page_state(
        &self,
        pid: u32,
        addr: u64,
        length: u64,
        state: &str,
        on: bool,
        duration_ns: Option<u64>,
    ) -> PyResult<u64> {
        let s = PageState::parse(state).py()?;
        self.lock().set_page_state(pid, addr, length, s, on, duration_ns).py()
    }
    /// lru_add_drain_all().
    fn drain(&self) {
        self.lock().lru_add_drain_all();
    }
    /// Verifies every invariant; raises InvariantError naming the first broken one.
    fn check(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |m| m.check())
    }

    // ----- cpusets -----

    #[pyo3(signature = (path, mems, cpus, memory_migrate))]
    fn cpuset_create(
        &self,
        path: &str,
        mems: PyRef<'_, PyNodeMask>,
        cpus: PyRef<'_, PyNodeMask>,
        memory_migrate: bool,
    ) -> PyResult<()> {
        let mut m = self.lock();
        m.cpusets.create(path, &mems.inner, &cpus.inner, memory_migrate).py()
    }
    /// (mems, cpus, memory_migrate, parent, children) of a cpuset.
    fn cpuset_info(&self, path: &str) -> PyResult<CpusetTuple> {
        let m = self.lock();
        let c = m.cpusets.lookup(path).py()?;
        Ok((
            c.mems.clone().into(),
            c.cpus.clone().into(),
            c.memory_migrate,
            c.parent.clone(),
            c.children.clone(),
        ))
    }
    /// Writes a cpuset's mems (update_nodemask): policies rebound, pages moved with
    /// memory_migrate; one report per migrated address space.
    fn cpuset_set_mems(
        &self,
        py: Python<'_>,
        path: &str,
        mems: PyRef<'_, PyNodeMask>,
    ) -> PyResult<Vec<PyReport>> {
        let (p, m) = (path.to_string(), mems.inner.clone());
        let reports = self.run(py, |mach| mach.cpuset_update_mems(&p, &m))?;
        Ok(reports.into_iter().map(|inner| PyReport { inner }).collect())
    }
    fn cpuset_attach(&self, pid: u32, path: &str) -> PyResult<()> {
        self.lock().attach_cpuset(pid, path).py()
    }
    fn cpuset_remove(&self, path: &str) -> PyResult<()> {
        self.lock().remove_cpuset(path).py()
    }
    /// Capacity of CPU masks (NR_CPUS of this machine, a multiple of 32).
    fn cpumask_bits(&self) -> u32 {
        self.lock().topo.nr_cpus().next_multiple_of(32)
    }

    // ----- memory policy -----

    fn set_mempolicy(&self, pid: u32, mode: i64, nodes: PyRef<'_, PyNodeMask>) -> PyResult<()> {
        self.lock().set_mempolicy(pid, mode, &nodes.inner).py()
    }
    fn mbind_policy(
        &self,
        pid: u32,
        addr: u64,
        length: u64,
        mode: i64,
        nodes: PyRef<'_, PyNodeMask>,
    ) -> PyResult<()> {
        let mut m = self.lock();
        let pol = m.make_policy(pid, PolicyCall::Mbind, mode, &nodes.inner).py()?;
        m.mbind_policy(pid, addr, length, pol).py()
    }
    // ----- migration -----

    /// do_migrate_pages(mm of `pid`, from, to, flags) run by task `caller`; the report as a dict.
    fn do_migrate_pages<'py>(
        &self,
        py: Python<'py>,
        caller: u32,
        pid: u32,
        from_: PyRef<'_, PyNodeMask>,
        to: PyRef<'_, PyNodeMask>,
        flags: u32,
    ) -> PyResult<PyReport> {
        let (f, t) = (from_.inner.clone(), to.inner.clone());
        Ok(PyReport { inner: self.run(py, |m| m.do_migrate_pages_by(caller, pid, &f, &t, flags))? })
    }
    /// cpuset_migrate_mm(mm of `pid`, from, to): MPOL_MF_MOVE_ALL within the new mems.
    fn cpuset_migrate_mm<'py>(
        &self,
        py: Python<'py>,
        pid: u32,
        from_: PyRef<'_, PyNodeMask>,
        to: PyRef<'_, PyNodeMask>,
    ) -> PyResult<PyReport> {
        let (f, t) = (from_.inner.clone(), to.inner.clone());
        Ok(PyReport { inner: self.run(py, |m| m.cpuset_migrate_mm(pid, &f, &t))? })
    }
    /// move_pages(2) page work: (return value, status array).
    #[pyo3(signature = (pid, pages, nodes, flags, move_all))]
    fn move_pages<'py>(
        &self,
        py: Python<'py>,
        pid: u32,
        pages: PyReadonlyArray1<'_, u64>,
        nodes: Option<PyReadonlyArray1<'_, i32>>,
        flags: u32,
        move_all: bool,
    ) -> PyResult<(i64, Bound<'py, PyArray1<i32>>)> {
        let p = pages.as_slice()?;
        let n = match &nodes {
            Some(a) => Some(a.as_slice()?),
            None => None,
        };
        let (rc, status) =
            py.detach(|| self.lock().move_pages_core(pid, p, n, flags, move_all)).py()?;
        Ok((rc, status.into_pyarray(py)))
    }
    /// mbind(2) work after the syscall layer's checks: policy validation, install, moves.
    #[allow(clippy::too_many_arguments)]
    fn mbind<'py>(
        &self,
        py: Python<'py>,
        pid: u32,
        addr: u64,
        length: u64,
        mode: i64,
        nodes: PyRef<'_, PyNodeMask>,
        flags: u32,
    ) -> PyResult<PyReport> {
        let n = nodes.inner.clone();
        Ok(PyReport { inner: self.run(py, |m| m.mbind(pid, addr, length, mode, &n, flags))? })
    }

    fn get_mempolicy(
        &self,
        py: Python<'_>,
        pid: u32,
        flags: u64,
        addr: u64,
    ) -> PyResult<(i32, PyNodeMask)> {
        let (v, mask) = self.run(py, |m| m.get_mempolicy(pid, flags, addr))?;
        Ok((v, mask.into()))
    }
}

/// The (source, destination) node pairs do_migrate_pages() runs for old -> new under a
/// semantics, without touching memory; V5's destination is None (pages are evicted).
#[pyfunction]
pub fn migration_pairs_core(
    old: PyRef<'_, PyNodeMask>,
    new: PyRef<'_, PyNodeMask>,
    semantics: &str,
) -> PyResult<Vec<(u32, Option<u32>)>> {
    let sem = Semantics::parse(semantics).py()?;
    migration_pairs(&old.inner, &new.inner, sem).py()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMachine>()?;
    m.add_class::<PyReport>()?;
    m.add_function(wrap_pyfunction!(migration_pairs_core, m)?)?;
    m.add("STATUS_UNWRITTEN", numasim_core::migrate::move_pages::STATUS_UNWRITTEN)?;
    Ok(())
}
