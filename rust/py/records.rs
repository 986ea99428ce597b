//! Typed, frozen records that carry the core's read-only views to Python: one class per core
//! record, a field per core field, built by a plain conversion (no logic).

use numasim_core::costs;
use numasim_core::machine::fault;
use numasim_core::machine::info;
use numasim_core::machine::view;
use numasim_core::machine::watermark;
use numasim_core::machine::VmStat as CoreVmStat;
use numasim_core::migrate::{self, Reason};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::nodemask::PyNodeMask;

/// `Name(field=repr, ...)` from the fields' Python values.
fn record_repr(obj: &Bound<'_, PyAny>, name: &str, fields: &[&str]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for f in fields {
        parts.push(format!("{f}={}", obj.getattr(*f)?.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

/// `{field: value}` from the fields' Python values.
fn record_dict<'py>(obj: &Bound<'py, PyAny>, fields: &[&str]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(obj.py());
    for f in fields {
        d.set_item(*f, obj.getattr(*f)?)?;
    }
    Ok(d)
}

/// A core field's value as the record's field type: the identity, or a wrapper's `From`.
trait Conv<T> {
    fn conv(self) -> T;
}

impl<T> Conv<T> for T {
    fn conv(self) -> T {
        self
    }
}

impl Conv<PyNodeMask> for numasim_core::NodeMask {
    fn conv(self) -> PyNodeMask {
        self.into()
    }
}

/// A frozen record class mirroring a core record field by field.
macro_rules! record {
    (
        $(#[$doc:meta])*
        $py:ident = $name:literal from $core:ty {
            $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$doc])*
        #[pyclass(name = $name, module = "numasim", frozen, eq)]
        #[derive(Clone, PartialEq)]
        pub struct $py {
            $( $(#[$fdoc])* #[pyo3(get)] pub $field: $ty, )*
        }

        impl From<$core> for $py {
            fn from(c: $core) -> Self {
                Self { $( $field: Conv::conv(c.$field), )* }
            }
        }

        #[pymethods]
        impl $py {
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                record_repr(slf.as_any(), $name, &[$(stringify!($field)),*])
            }
            /// The fields as a dict (for tables and JSON).
            fn _asdict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
                record_dict(slf.as_any(), &[$(stringify!($field)),*])
            }
            /// The field names, in order.
            #[classattr]
            fn _fields() -> Vec<&'static str> {
                vec![$(stringify!($field)),*]
            }
        }
    };
}

record! {
    /// One task: identity, credentials, CPU, cpuset, policy (``Task.info()``).
    TaskInfo = "TaskInfo" from info::TaskInfo {
        pid: u32, tgid: u32, comm: String,
        /// False for a kernel thread.
        has_mm: bool,
        uid: u32, euid: u32, suid: u32, fsuid: u32,
        gid: u32, egid: u32, sgid: u32, fsgid: u32,
        /// Names of the effective capabilities.
        cap_effective: Vec<&'static str>,
        cap_permitted: Vec<&'static str>,
        cap_effective_hex: String,
        dumpable: bool, cpu: u32,
        /// The node of the task's CPU (numa_node_id()).
        node: u32,
        cpuset: String,
        /// The task policy as numa_maps prints it.
        policy: String,
        mems_allowed: PyNodeMask,
        /// "native", or "i386" for a 32-bit program on an x86_64 kernel.
        abi: &'static str,
    }
}

record! {
    /// One VMA (``Task.vmas()``): its range, vm_flags names, file, page offset, kind
    /// ("heap", "stack" or "") and policy text.
    Vma = "Vma" from info::VmaInfo {
        start: u64, end: u64, flags: Vec<&'static str>, file: Option<String>, pgoff: u64,
        kind: &'static str, policy: String,
    }
}

record! {
    /// A file or shmem object's page counts (``File.info()``).
    FileInfo = "FileInfo" from info::FileInfo {
        id: u32, path: String, pages: u64, cached_pages: u64, shmem: bool,
    }
}

record! {
    /// The rss counters and page-table memory of an address space (``Task.counters()``).
    MmCounters = "MmCounters" from info::MmCounters {
        rss_anon: u64, rss_file: u64, swap_ents: u64, pagetable_bytes: u64,
    }
}

record! {
    /// Where an address space's heap, stack and mmap area start (``Task.layout()``).
    MmLayout = "MmLayout" from info::MmLayout {
        start_brk: u64, brk: u64, start_stack: u64, mmap_base: u64,
    }
}

record! {
    /// A configured node: its memory in bytes and its CPUs.
    NodeInfo = "NodeInfo" from info::NodeInfo {
        nid: u32, memory_bytes: u64, cpus: Vec<u32>,
    }
}

record! {
    /// The kernel's node states: possible, online, has_memory (N_MEMORY), has_cpu (N_CPU).
    NodeStates = "NodeStates" from info::NodeStates {
        possible: PyNodeMask, online: PyNodeMask, has_memory: PyNodeMask, has_cpu: PyNodeMask,
    }
}

record! {
    /// Pages of one node: total, free and used.
    NodeUsage = "NodeUsage" from info::NodeUsage {
        nid: u32, total: u64, free: u64, used: u64,
    }
}

record! {
    /// One node's NUMA allocation counters, in pages, as
    /// /sys/devices/system/node/nodeN/numastat shows them (``Machine.numastat_counters()``).
    NodeNumaStat = "NodeNumaStat" from info::NodeNumaStat {
        nid: u32, numa_hit: u64, numa_miss: u64, numa_foreign: u64, interleave_hit: u64,
        local_node: u64, other_node: u64,
    }
}

record! {
    /// One swap device (sizes in pages), as /proc/swaps lists it.
    SwapDevice = "SwapDevice" from info::SwapDeviceInfo {
        name: String, priority: i32, pages: u64, used: u64,
    }
}

record! {
    /// A cpuset: its mems, cpus, memory_migrate flag and place in the hierarchy.
    CpusetInfo = "CpusetInfo" from info::CpusetInfo {
        path: String, mems: PyNodeMask, cpus: PyNodeMask, memory_migrate: bool,
        parent: Option<String>, children: Vec<String>,
    }
}

record! {
    /// One node's memory counters in pages (what nodeN/meminfo prints in kB).
    NodeMeminfo = "NodeMeminfo" from view::NodeMeminfo {
        nid: u32, total: u64, free: u64, used: u64, active: u64, inactive: u64,
        file_pages: u64, anon_pages: u64, mapped: u64, dirty: u64, writeback: u64,
        swapcache: u64, mlocked: u64, huge: u64,
        /// Base pages of PMD-mapped anonymous THPs (AnonHugePages, NR_ANON_THPS).
        anon_huge: u64,
        /// The node's hugetlb pool in huge pages: HugePages_Total, HugePages_Free,
        /// HugePages_Surp.
        huge_pages_total: u64, huge_pages_free: u64, huge_pages_surp: u64,
    }
}

record! {
    /// One node's zone as /proc/zoneinfo shows it, in pages: free pages, the min, low and high
    /// watermarks, the LRU list lengths and direct reclaim's counts (``Machine.watermarks()``).
    ZoneInfo = "ZoneInfo" from watermark::ZoneInfo {
        nid: u32, start_pfn: u64, present: u64, free: u64, min: u64, low: u64, high: u64,
        active_anon: u64, inactive_anon: u64, active_file: u64, inactive_file: u64,
        /// Pages direct reclaim scanned and freed on the node.
        scanned: u64, reclaimed: u64,
        /// 2.6's zone reclaim state.
        nr_scan_active: u64, nr_scan_inactive: u64, prev_priority: u32,
    }
}

record! {
    /// gather_stats() of one VMA: what numa_maps prints for it.
    NumaMapsEntry = "NumaMapsEntry" from view::NumaMapsEntry {
        start: u64, end: u64, file: Option<String>, heap: bool, stack: bool, huge: bool,
        policy: String, pages: u64, anon: u64, dirty: u64, mapped: u64, mapmax: u64,
        swapcache: u64, active: u64, writeback: u64, locked: u64,
        /// (node, pages) for each node with pages, ascending.
        nodes: Vec<(u32, u64)>,
        kernel_page_kb: u64,
    }
}

record! {
    /// The /proc/vmstat counters the simulator keeps, in pages (``Machine.vmstat_counters()``
    /// gives /proc/vmstat's units).
    VmStat = "VmStat" from CoreVmStat {
        pgpgin: u64, pgpgout: u64, pswpin: u64, pswpout: u64, pgfault: u64, pgmajfault: u64,
        pgmigrate_success: u64, pgmigrate_fail: u64, cow_faults: u64,
        /// Transparent huge pages (modern): faults, splits, the huge zero page, migration.
        thp_fault_alloc: u64, thp_fault_fallback: u64, thp_split_page: u64, thp_split_pmd: u64,
        thp_zero_page_alloc: u64, thp_zero_page_alloc_failed: u64, thp_swpout_fallback: u64,
        thp_migration_success: u64, thp_migration_fail: u64, thp_migration_split: u64,
    }
}

record! {
    /// The target side of a SyscallAccess snapshot.
    TargetAccess = "TargetAccess" from info::TargetAccess {
        pid: u32, uid: u32, suid: u32, has_mm: bool, mems_allowed: PyNodeMask,
        /// The sys_migrate_pages uid rule between caller and target, without capabilities.
        uid_rule: bool,
        /// Why ptrace_may_access(READ_REALCREDS) refuses, or None.
        ptrace_denied: Option<String>,
    }
}

record! {
    /// What a system call's permission checks read, in one consistent snapshot; ``epoch``
    /// goes with the work so the core refuses it if the machine changed since.
    SyscallAccess = "SyscallAccess" from info::SyscallAccess {
        epoch: u64, caller: u32, caller_uid: u32, caller_euid: u32,
        caller_caps: Vec<&'static str>, caller_mems_allowed: PyNodeMask,
        caller_abi: &'static str,
        target: Option<TargetAccess>,
    }
}

impl Conv<Option<TargetAccess>> for Option<info::TargetAccess> {
    fn conv(self) -> Option<TargetAccess> {
        self.map(TargetAccess::from)
    }
}

record! {
    /// One (source, destination) node pair of do_migrate_pages(); V5's destination is None.
    PairReport = "PairReport" from migrate::PairReport {
        source: u32, dest: Option<u32>, scanned: u64, isolated: u64, moved: u64,
        swapped_out: u64, not_moved: u64,
        /// migrate_to_node()'s result: the count not moved, or a negative errno.
        result: i64,
        passes: u32,
    }
}

/// A count per reason (see ``numasim.REASONS``): attributes, and read-only mapping access
/// (``r["shared"]``, ``r.items()``) in REASONS order.
#[pyclass(name = "Reasons", module = "numasim", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyReasons {
    inner: migrate::Reasons,
}

fn reason_named(name: &str) -> Option<Reason> {
    Reason::ALL.into_iter().find(|r| r.name() == name)
}

#[pymethods]
impl PyReasons {
    #[getter]
    fn locked(&self) -> u64 {
        self.inner.locked
    }
    #[getter]
    fn writeback(&self) -> u64 {
        self.inner.writeback
    }
    #[getter]
    fn no_swap(&self) -> u64 {
        self.inner.no_swap
    }
    #[getter]
    fn unmap_failed(&self) -> u64 {
        self.inner.unmap_failed
    }
    #[getter]
    fn busy_refcount(&self) -> u64 {
        self.inner.busy_refcount
    }
    #[getter]
    fn dirty(&self) -> u64 {
        self.inner.dirty
    }
    #[getter]
    fn buffers(&self) -> u64 {
        self.inner.buffers
    }
    #[getter]
    fn shared(&self) -> u64 {
        self.inner.shared
    }
    #[getter]
    fn not_lru(&self) -> u64 {
        self.inner.not_lru
    }
    #[getter]
    fn non_migratable_vma(&self) -> u64 {
        self.inner.non_migratable_vma
    }
    #[getter]
    fn no_memory(&self) -> u64 {
        self.inner.no_memory
    }
    #[getter]
    fn reserved(&self) -> u64 {
        self.inner.reserved
    }
    fn __getitem__(&self, name: &str) -> PyResult<u64> {
        reason_named(name).map(|r| self.inner.get(r)).ok_or_else(|| crate::errors::key_error(name))
    }
    fn __contains__(&self, name: &str) -> bool {
        reason_named(name).is_some()
    }
    fn __len__(&self) -> usize {
        Reason::ALL.len()
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
        PyTuple::new(py, Reason::ALL.map(Reason::name))?.try_iter()
    }
    fn keys(&self) -> Vec<&'static str> {
        Reason::ALL.map(Reason::name).to_vec()
    }
    fn values(&self) -> Vec<u64> {
        Reason::ALL.map(|r| self.inner.get(r)).to_vec()
    }
    fn items(&self) -> Vec<(&'static str, u64)> {
        Reason::ALL.map(|r| (r.name(), self.inner.get(r))).to_vec()
    }
    /// The sum over every reason.
    fn total(&self) -> u64 {
        self.inner.total()
    }
    fn __repr__(&self) -> String {
        let nz: Vec<String> = self
            .inner
            .items()
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(r, n)| format!("{}={n}", r.name()))
            .collect();
        format!("Reasons({})", nz.join(", "))
    }
}

record! {
    /// A cost model as the core holds it (``numasim.CostModel`` is the user's view of it):
    /// the profile it started from, every term, and the names of its devices.
    CostTerms = "CostTerms" from costs::CostModel {
        profile: &'static str,
        syscall_ns: u64, drain_per_cpu_ns: u64,
        folio_v5_ns: u64, folio_2616_ns: u64, folio_modern_ns: u64,
        rmap_ns: u64, copy_mb_s: u64,
        tlb_local_ns: u64, tlb_ipi_ns: u64, tlb_per_cpu_ns: u64,
        minor_fault_ns: u64, major_fault_ns: u64,
        swap_device: &'static str, swap_latency_ns: u64, swap_mb_s: u64,
        file_device: &'static str, file_latency_ns: u64, file_mb_s: u64,
    }
}

impl Conv<CostTerms> for costs::CostModel {
    fn conv(self) -> CostTerms {
        self.into()
    }
}

record! {
    /// A hardware-era cost profile: its name, its terms, the machine it stands for and the
    /// sources of its figures (docs/costs.md has the account term by term).
    CostProfile = "CostProfile" from costs::Profile {
        name: &'static str, model: CostTerms, description: &'static str, sources: &'static str,
    }
}

record! {
    /// A block device of the cost model: per-request latency (a request that does not
    /// continue the previous one) and bandwidth in MB/s (10^6 bytes/s).
    CostDevice = "CostDevice" from costs::Device {
        name: &'static str, latency_ns: u64, mb_s: u64, description: &'static str,
    }
}

/// Simulated time of a call or a burst of faults, in nanoseconds, split by term:
/// ``syscall`` (entry, setup), ``drain`` (lru_add_drain_all on every CPU), ``folio`` (the
/// software work per page or folio), ``rmap`` (reverse-map walks), ``copy`` (page copies),
/// ``tlb`` (flushes and shootdowns), ``io`` (swap and file I/O), ``wait`` (for locks and
/// writeback held by others) and ``fault`` (fault handling). The terms add up to ``total_ns``.
#[pyclass(name = "TimeReport", module = "numasim", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyTimeReport {
    pub inner: costs::TimeReport,
}

const TIME_FIELDS: [&str; 10] = [
    "total_ns",
    "syscall_ns",
    "drain_ns",
    "folio_ns",
    "rmap_ns",
    "copy_ns",
    "tlb_ns",
    "io_ns",
    "wait_ns",
    "fault_ns",
];

#[pymethods]
impl PyTimeReport {
    #[getter]
    fn total_ns(&self) -> u64 {
        self.inner.total_ns
    }
    #[getter]
    fn syscall_ns(&self) -> u64 {
        self.inner.syscall_ns
    }
    #[getter]
    fn drain_ns(&self) -> u64 {
        self.inner.drain_ns
    }
    #[getter]
    fn folio_ns(&self) -> u64 {
        self.inner.folio_ns
    }
    #[getter]
    fn rmap_ns(&self) -> u64 {
        self.inner.rmap_ns
    }
    #[getter]
    fn copy_ns(&self) -> u64 {
        self.inner.copy_ns
    }
    #[getter]
    fn tlb_ns(&self) -> u64 {
        self.inner.tlb_ns
    }
    #[getter]
    fn io_ns(&self) -> u64 {
        self.inner.io_ns
    }
    #[getter]
    fn wait_ns(&self) -> u64 {
        self.inner.wait_ns
    }
    #[getter]
    fn fault_ns(&self) -> u64 {
        self.inner.fault_ns
    }
    /// The terms by name ("syscall", "drain", ...), in order, without the total.
    fn terms(&self) -> Vec<(&'static str, u64)> {
        costs::TimeReport::TERMS.into_iter().zip(self.inner.terms()).collect()
    }
    /// "12.345 ms simulated (copy 40%, tlb 30%)": the total and the terms of at least 1%.
    fn summary(&self) -> String {
        self.inner.summary()
    }
    /// The fields as a dict (for tables and JSON).
    fn _asdict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        record_dict(slf.as_any(), &TIME_FIELDS)
    }
    /// The field names, in order.
    #[classattr]
    fn _fields() -> Vec<&'static str> {
        TIME_FIELDS.to_vec()
    }
    fn __repr__(&self) -> String {
        format!("TimeReport({})", self.inner.summary())
    }
}

/// What a burst of accesses (``Task.touch``, ``Task.touch_pages``) did and cost: the pages
/// accessed, the faults taken (``major``: read from swap or a file), the pages read from swap
/// (readahead included) and the simulated time by term (``time``).
#[pyclass(name = "FaultReport", module = "numasim", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyFaultReport {
    pub inner: fault::FaultReport,
}

const FAULT_FIELDS: [&str; 6] = ["pages", "faults", "major", "swapped_in", "time_ns", "time"];

#[pymethods]
impl PyFaultReport {
    #[getter]
    fn pages(&self) -> u64 {
        self.inner.pages
    }
    #[getter]
    fn faults(&self) -> u64 {
        self.inner.faults
    }
    #[getter]
    fn major(&self) -> u64 {
        self.inner.major
    }
    #[getter]
    fn swapped_in(&self) -> u64 {
        self.inner.swapped_in
    }
    /// Simulated time of the burst, in ns.
    #[getter]
    fn time_ns(&self) -> u64 {
        self.inner.time.total_ns
    }
    /// The simulated time by term.
    #[getter]
    fn time(&self) -> PyTimeReport {
        PyTimeReport { inner: self.inner.time }
    }
    /// One line: the counts and the simulated time by term.
    fn summary(&self) -> String {
        self.inner.summary()
    }
    /// The fields as a dict (``time`` as a dict too).
    fn _asdict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let d = record_dict(slf.as_any(), &FAULT_FIELDS)?;
        let t = Bound::new(slf.py(), slf.get().time())?;
        d.set_item("time", PyTimeReport::_asdict(&t)?)?;
        Ok(d)
    }
    /// The field names, in order.
    #[classattr]
    fn _fields() -> Vec<&'static str> {
        FAULT_FIELDS.to_vec()
    }
    fn __repr__(&self) -> String {
        format!("FaultReport({})", self.inner.summary())
    }
}

/// What one migrate_pages / mbind / move_pages / cpuset migration did, behind the one number the
/// kernel returns.
///
/// ``ret`` is what the system call returned (the pages not moved, or -errno); ``not_moved`` =
/// ``failed`` + ``retried_out``. ``skipped`` counts pages the collection walk passed over without
/// counting them as failures (shared without MOVE_ALL, not on the LRU, reserved) and VMAs it did
/// not walk (``non_migratable_vma``); ``not_moved_by`` gives the reason of each page's last
/// failed attempt. Times are simulated nanoseconds.
#[pyclass(name = "MigrateReport", module = "numasim", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyMigrateReport {
    pub inner: migrate::MigrateReport,
}

const REPORT_FIELDS: [&str; 26] = [
    "semantics",
    "ret",
    "scanned",
    "selected",
    "isolated",
    "moved",
    "moved_folios",
    "thp_moved",
    "thp_split",
    "hugetlb_moved",
    "swapped_out",
    "put_back",
    "failed",
    "retried_out",
    "not_moved",
    "skipped",
    "not_moved_by",
    "pairs",
    "passes",
    "time_ns",
    "copy_ns",
    "io_ns",
    "tlb_ns",
    "wait_ns",
    "time",
    "error",
];

#[pymethods]
impl PyMigrateReport {
    #[getter]
    fn semantics(&self) -> &'static str {
        self.inner.semantics.name()
    }
    /// What the system call returned: the pages not moved, or -errno.
    #[getter]
    fn ret(&self) -> i64 {
        self.inner.ret
    }
    #[getter]
    fn scanned(&self) -> u64 {
        self.inner.scanned
    }
    #[getter]
    fn selected(&self) -> u64 {
        self.inner.selected
    }
    #[getter]
    fn isolated(&self) -> u64 {
        self.inner.isolated
    }
    #[getter]
    fn moved(&self) -> u64 {
        self.inner.moved
    }
    /// Folios moved: base pages and THPs, one each.
    #[getter]
    fn moved_folios(&self) -> u64 {
        self.inner.moved_folios
    }
    /// THPs moved whole (thp_migration_success).
    #[getter]
    fn thp_moved(&self) -> u64 {
        self.inner.thp_moved
    }
    /// THPs split for lack of a free huge page on the destination (thp_migration_split).
    #[getter]
    fn thp_split(&self) -> u64 {
        self.inner.thp_split
    }
    /// Hugetlb pages moved (modern); `moved` counts their base pages.
    #[getter]
    fn hugetlb_moved(&self) -> u64 {
        self.inner.hugetlb_moved
    }
    #[getter]
    fn swapped_out(&self) -> u64 {
        self.inner.swapped_out
    }
    #[getter]
    fn put_back(&self) -> u64 {
        self.inner.put_back
    }
    #[getter]
    fn failed(&self) -> u64 {
        self.inner.failed
    }
    #[getter]
    fn retried_out(&self) -> u64 {
        self.inner.retried_out
    }
    #[getter]
    fn not_moved(&self) -> u64 {
        self.inner.not_moved
    }
    #[getter]
    fn skipped(&self) -> PyReasons {
        PyReasons { inner: self.inner.skipped }
    }
    #[getter]
    fn not_moved_by(&self) -> PyReasons {
        PyReasons { inner: self.inner.not_moved_by }
    }
    #[getter]
    fn pairs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.pairs.iter().cloned().map(PairReport::from))
    }
    #[getter]
    fn passes(&self) -> u32 {
        self.inner.passes
    }
    /// Simulated time of the whole call, in ns.
    #[getter]
    fn time_ns(&self) -> u64 {
        self.inner.time.total_ns
    }
    #[getter]
    fn copy_ns(&self) -> u64 {
        self.inner.time.copy_ns
    }
    #[getter]
    fn io_ns(&self) -> u64 {
        self.inner.time.io_ns
    }
    #[getter]
    fn tlb_ns(&self) -> u64 {
        self.inner.time.tlb_ns
    }
    #[getter]
    fn wait_ns(&self) -> u64 {
        self.inner.time.wait_ns
    }
    /// The simulated time by term (``time_ns``, ``copy_ns``, ... are shortcuts into it).
    #[getter]
    fn time(&self) -> PyTimeReport {
        PyTimeReport { inner: self.inner.time }
    }
    /// The errno that stopped the call (ENOMEM), 0 if none.
    #[getter]
    fn error(&self) -> i32 {
        self.inner.error.unwrap_or(0)
    }
    /// 2.6.16: check_range() found no free swap, so nothing was collected for some pair.
    #[getter]
    fn no_swap_at_collection(&self) -> bool {
        self.inner.no_swap_at_collection
    }
    /// One line: the counts and the non-zero reasons.
    fn summary(&self) -> String {
        self.inner.summary()
    }
    /// Every field as a dict (reasons as dicts, pairs as a list of dicts).
    fn as_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let d = record_dict(slf.as_any(), &REPORT_FIELDS)?;
        let r = slf.get();
        d.set_item(
            "skipped",
            PyDict::from_sequence(
                &PyReasons { inner: r.inner.skipped }.items().into_pyobject(py)?,
            )?,
        )?;
        d.set_item(
            "not_moved_by",
            PyDict::from_sequence(
                &PyReasons { inner: r.inner.not_moved_by }.items().into_pyobject(py)?,
            )?,
        )?;
        let pairs = r
            .inner
            .pairs
            .iter()
            .cloned()
            .map(|p| Bound::new(py, PairReport::from(p)).and_then(|b| PairReport::_asdict(&b)))
            .collect::<PyResult<Vec<_>>>()?;
        d.set_item("pairs", pairs)?;
        let t = Bound::new(py, r.time())?;
        d.set_item("time", PyTimeReport::_asdict(&t)?)?;
        d.set_item("no_swap_at_collection", r.inner.no_swap_at_collection)?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!("MigrateReport({})", self.inner.summary())
    }
}
