//! The simulated machine: topology, physical memory, swap, files, address spaces and tasks.
//!
//! All state lives here and every per-page loop runs here. The submodules split the work the way
//! mm/ does: `mm` (VMAs, mmap/munmap/mprotect/mlock, brk), `fault` (handle_mm_fault and the
//! allocation policy), `fork` (dup_mmap, exit_mmap), `reclaim` (swap-out and writeback),
//! `madvise` (madvise(2)), `check` (the invariants), `view` (what /proc and /sys would show).

use serde::{Deserialize, Serialize};
pub mod check;
pub mod creds;
pub mod fault;
pub mod fork;
pub mod hugetlb;
pub mod info;
pub mod lru;
pub mod madvise;
pub mod mm;
pub mod policy;
pub mod reclaim;
pub mod rmap;
pub mod snapshot;
pub mod thp;
pub mod topology;
pub mod view;
pub mod vma_tree;
pub mod vmscan;
pub mod watermark;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::arch::ArchProfile;
use crate::costs::{CostModel, Kernel, TimeReport};
use crate::cpuset::Cpusets;
use crate::cred::Cred;
use crate::error::{errno, Error, Result};
use crate::host::to_usize;
use crate::mempolicy::{InterleaveCursor, Mempolicy};
use crate::nodemask::NodeMask;
use crate::pagetable::PageTable;
use crate::phys::{pg, PhysMem};
use crate::semantics::Semantics;
use crate::swap::Swap;
use crate::usermask::CallerAbi;

pub use mm::{VmFlags, Vma};
pub use topology::{NodeSpec, Topology};

pub type Pid = u32;
pub type MmId = u32;
pub type FileId = u32;

/// PAGEVEC_SIZE in 2.6.16 (include/linux/pagevec.h): pages wait in a per-CPU pagevec before
/// they reach the LRU.
pub const PAGEVEC_SIZE: usize = 14;

/// pid_max default (PID_MAX_DEFAULT 0x8000) and the low pids skipped after a wrap
/// (RESERVED_PIDS 300), kernel/pid.c alloc_pidmap.
pub const PID_MAX_DEFAULT: u32 = 0x8000;
pub const RESERVED_PIDS: u32 = 300;

/// The path of SysV shm segments' files (the kernel names them "SYSV%08x", ipc/shm.c newseg).
pub const SYSV_SHM_PATH: &str = "/SYSV";

/// SHMMIN and SHMMNI (include/linux/shm.h, every generation).
pub const SHMMIN: u64 = 1;
pub const SHMMNI: u64 = 4096;

/// SHMMAX (bytes) and SHMALL (pages), the defaults of kernel.shmmax and kernel.shmall
/// (include/linux/shm.h): 2.6 SHMMAX 0x2000000 (32 MiB) and SHMALL SHMMAX / PAGE_SIZE *
/// (SHMMNI / 16); since 3.16 both ULONG_MAX - (1 << 24), "as large as possible".
pub fn shm_limits(arch: &ArchProfile, semantics: Semantics) -> (u64, u64) {
    if semantics == Semantics::Modern {
        let v = arch.ulong_max() - (1 << 24);
        (v, v)
    } else {
        let shmmax = 0x200_0000;
        (shmmax, shmmax / arch.page_size() * (SHMMNI / 16))
    }
}

/// SHMEM_MAX_BYTES of 2.6 tmpfs (mm/shmem.c): what its swap-vector index can reach,
/// (SHMEM_NR_DIRECT + ENTRIES_PER_PAGEPAGE / 2 * (ENTRIES_PER_PAGE + 1)) << PAGE_SHIFT with
/// SHMEM_NR_DIRECT 16 and ENTRIES_PER_PAGE = PAGE_SIZE / sizeof(unsigned long).
pub fn shmem_max_bytes(arch: &ArchProfile) -> u64 {
    let e = arch.page_size() / u64::from(arch.bytes_per_long());
    (16 + e * e / 2 * (e + 1)) << arch.page_shift
}

/// dirty_expire_centisecs default 3000: pdflush writes back data dirty for 30 s.
pub const DIRTY_EXPIRE_NS: u64 = 30_000_000_000;

/// Machine construction parameters; the Python layer fills them from its keyword arguments.
#[derive(Clone, Debug)]
pub struct Config {
    pub arch: ArchProfile,
    pub semantics: Semantics,
    pub nodes: Vec<NodeSpec>,
    /// SLIT distances indexed like `nodes` (None: 10 local, 20 remote).
    pub distances: Option<Vec<Vec<u32>>>,
    pub swap_bytes: u64,
    /// log2 of the swap readahead cluster (page_cluster; 3 on machines with >= 16 MB).
    pub page_cluster: u32,
    /// The cost model (see crate::costs and docs/costs.md).
    pub costs: CostModel,
    /// The modern kernel version (None: the latest behaviour; only for modern machines).
    pub kernel: Option<Kernel>,
}

/// /proc/vmstat counters the simulator keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmStat {
    pub pgfault: u64,
    pub pgmajfault: u64,
    pub pswpin: u64,
    pub pswpout: u64,
    pub pgpgin: u64,
    pub pgpgout: u64,
    pub pgmigrate_success: u64,
    pub pgmigrate_fail: u64,
    pub cow_faults: u64,
    /// THP counters of 6.x /proc/vmstat (mm/vmstat.c vmstat_text, CONFIG_TRANSPARENT_HUGEPAGE).
    pub thp_fault_alloc: u64,
    pub thp_fault_fallback: u64,
    pub thp_split_page: u64,
    pub thp_split_pmd: u64,
    pub thp_zero_page_alloc: u64,
    pub thp_zero_page_alloc_failed: u64,
    pub thp_swpout_fallback: u64,
    pub thp_migration_success: u64,
    pub thp_migration_fail: u64,
    pub thp_migration_split: u64,
}

/// One node's NUMA allocation counters, as /sys/devices/system/node/nodeN/numastat shows
/// them (node_read_numastat(): the node's zones summed). Counted per page allocated, by
/// [`Machine::zone_statistics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumaStat {
    pub numa_hit: u64,
    pub numa_miss: u64,
    pub numa_foreign: u64,
    pub interleave_hit: u64,
    pub local_node: u64,
    pub other_node: u64,
}

/// A task (task_struct): a process or thread, or a kernel thread (no mm).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task {
    pub pid: Pid,
    pub tgid: Pid,
    pub comm: String,
    pub mm: Option<MmId>,
    pub cred: Cred,
    pub cpu: u32,
    /// Path of the task's cpuset ("/" is the root cpuset).
    pub cpuset: String,
    /// Task memory policy (current->mempolicy); None is the default policy.
    pub policy: Option<Mempolicy>,
    /// Task interleave position (current->il_next; il_prev in 6.x).
    pub il_next: InterleaveCursor,
    /// Simulated PF_EXITING: an exiting task has let go of its mm.
    pub exiting: bool,
    /// Native, or a 32-bit program on a 64-bit kernel (TIF_IA32 on x86_64): its system calls
    /// read 32-bit words and pointers (see usermask::CallerAbi).
    pub abi: CallerAbi,
}

/// An mm_struct.
#[derive(Clone, Serialize, Deserialize)]
pub struct Mm {
    pub id: MmId,
    /// Tasks using this mm (mm_users).
    pub users: u32,
    pub vmas: vma_tree::VmaTree,
    pub pt: PageTable,
    /// The anon_vma family new anonymous pages of this mm join (see `Family`).
    pub family: u32,
    /// Running digest of anonymous content (see check.rs).
    pub anon_digest: u64,
    pub rss_anon: u64,
    pub rss_file: u64,
    pub swap_ents: u64,
    pub start_brk: u64,
    pub brk: u64,
    pub start_stack: u64,
    /// Where the next bottom-up mmap search starts (mm->mmap_base / free_area_cache).
    pub mmap_base: u64,
    /// TASK_SIZE for the tasks of this mm: the arch's, or IA32_PAGE_OFFSET (0xffffe000) for a
    /// 32-bit program on x86_64 (TASK_SIZE tests TIF_IA32, include/asm-x86_64/processor.h).
    pub task_size: u64,
    /// arch_get_unmapped_area_topdown() (i386, and 32-bit programs on x86_64) or the
    /// bottom-up search.
    pub top_down: bool,
    /// CPUs this mm has run on (for TLB shootdown costs).
    pub cpus_ran: Vec<u32>,
}

/// An anon_vma "family": every mm that may map an anonymous page created by one of them. Fork
/// adds the child to its parent's family, so an rmap walk visits all of them (as the kernel's
/// anon_vma chain does) and finds the PTEs at the page's linear index.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Family {
    pub mms: Vec<MmId>,
}

/// Slots per piece of a [`FilePages`]: RADIX_TREE_MAP_SIZE, the fan-out of the page-cache radix
/// tree (1 << RADIX_TREE_MAP_SHIFT 6, lib/radix-tree.c).
pub const FILE_CHUNK_SHIFT: u32 = 6;
const FILE_CHUNK: usize = 1 << FILE_CHUNK_SHIFT;

/// One value per page index of a file, stored sparsely: pieces of [`FILE_CHUNK`] slots made on
/// the first write to one of them, as the page cache's radix tree grows nodes and a sparse file
/// allocates blocks. A huge file costs nothing until its pages are touched.
///
/// It reads like the dense `Vec` it replaces: `v[i]` is 0 for a slot never written, `v[i] = x`
/// writes one; `iter()` visits the slots of the pieces in use in index order, and
/// `iter().enumerate()` pairs each with its page index (the slots it skips all hold 0).
#[derive(Clone, Debug, Default)]
pub struct FilePages<T> {
    chunks: BTreeMap<u64, Box<[T; FILE_CHUNK]>>,
    zero: T,
}

impl<T: Copy + Default + PartialEq> FilePages<T> {
    /// The value at `idx` (0 if never written).
    #[inline]
    pub fn get(&self, idx: u64) -> T {
        match self.chunks.get(&(idx >> FILE_CHUNK_SHIFT)) {
            Some(c) => c[to_usize(idx) & (FILE_CHUNK - 1)],
            None => T::default(),
        }
    }

    /// Writes the value at `idx`; writing 0 where nothing was written allocates nothing.
    #[inline]
    pub fn set(&mut self, idx: u64, v: T) {
        if v == T::default() && !self.chunks.contains_key(&(idx >> FILE_CHUNK_SHIFT)) {
            return;
        }
        *self.slot_mut(idx) = v;
    }

    #[inline]
    fn slot_mut(&mut self, idx: u64) -> &mut T {
        let c = self
            .chunks
            .entry(idx >> FILE_CHUNK_SHIFT)
            .or_insert_with(|| Box::new([T::default(); FILE_CHUNK]));
        &mut c[to_usize(idx) & (FILE_CHUNK - 1)]
    }

    /// (index, value) of every slot holding a non-zero value, in index order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, T)> + '_ {
        self.iter().enumerate().filter(|(_, v)| **v != T::default()).map(|(i, v)| (i as u64, *v))
    }

    /// (index, value) of every slot of [lo, hi) holding a non-zero value, in index order:
    /// only the pieces overlapping the range are read.
    pub fn entries_in(&self, lo: u64, hi: u64) -> impl Iterator<Item = (u64, T)> + '_ {
        let (a, b) = if lo < hi {
            (lo >> FILE_CHUNK_SHIFT, ((hi - 1) >> FILE_CHUNK_SHIFT) + 1)
        } else {
            (0, 0)
        };
        self.chunks.range(a..b).flat_map(move |(&k, c)| {
            c.iter()
                .enumerate()
                .map(move |(i, &v)| ((k << FILE_CHUNK_SHIFT) + i as u64, v))
                .filter(move |&(i, v)| i >= lo && i < hi && v != T::default())
        })
    }

    /// The slots of the pieces in use, in index order (see the type's documentation).
    pub fn iter(&self) -> FilePagesIter<'_, T> {
        FilePagesIter { chunks: self.chunks.iter(), cur: None }
    }
}

impl<T: Copy + Default + PartialEq> std::ops::Index<usize> for FilePages<T> {
    type Output = T;
    #[inline]
    fn index(&self, idx: usize) -> &T {
        match self.chunks.get(&(idx as u64 >> FILE_CHUNK_SHIFT)) {
            Some(c) => &c[idx & (FILE_CHUNK - 1)],
            None => &self.zero,
        }
    }
}

impl<T: Copy + Default + PartialEq> std::ops::IndexMut<usize> for FilePages<T> {
    #[inline]
    fn index_mut(&mut self, idx: usize) -> &mut T {
        self.slot_mut(idx as u64)
    }
}

impl<'a, T: Copy + Default + PartialEq> IntoIterator for &'a FilePages<T> {
    type Item = &'a T;
    type IntoIter = FilePagesIter<'a, T>;
    fn into_iter(self) -> FilePagesIter<'a, T> {
        self.iter()
    }
}

/// Iterator over the slots of a [`FilePages`]' pieces in use.
pub struct FilePagesIter<'a, T> {
    chunks: std::collections::btree_map::Iter<'a, u64, Box<[T; FILE_CHUNK]>>,
    cur: Option<(u64, std::slice::Iter<'a, T>)>,
}

impl<'a, T> FilePagesIter<'a, T> {
    /// Each slot with its page index: unlike `Iterator::enumerate`, which would count only the
    /// slots visited, this numbers them as the dense array would.
    pub fn enumerate(self) -> impl Iterator<Item = (usize, &'a T)> {
        self.chunks.flat_map(|(&k, c)| {
            c.iter().enumerate().map(move |(i, v)| (to_usize(k << FILE_CHUNK_SHIFT) + i, v))
        })
    }
}

impl<'a, T> Iterator for FilePagesIter<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        loop {
            if let Some((_, it)) = &mut self.cur {
                if let Some(v) = it.next() {
                    return Some(v);
                }
            }
            let (&k, c) = self.chunks.next()?;
            self.cur = Some((k, c.iter()));
        }
    }
}

/// A file (inode + address_space): on-disk content, the page cache, and who maps it.
#[derive(Clone, Serialize, Deserialize)]
pub struct File {
    pub id: FileId,
    pub path: String,
    pub pages: u64,
    /// Content on disk, per page index (sparse: 0 where never written).
    pub store: FilePages<u32>,
    /// Page cache: pfn + 1 per index, 0 if not cached. A page is written to `store` only while
    /// it is cached, so the pieces in use here cover every index whose content is not 0.
    pub cache: FilePages<u64>,
    /// shmem only: the swap entry (`SwpEntry.0`, never 0 since slot 0 is a swap header) that
    /// holds each page reclaim moved out of the page cache (the swap vector of
    /// shmem_inode_info; the xarray's swap entries in 6.x). Each holds one reference on its
    /// slot. An index is in the page cache or here, never both.
    pub swapped: FilePages<u64>,
    /// (mm, vma start) of every VMA that maps the file (the i_mmap tree).
    pub mappers: Vec<(MmId, u64)>,
    /// Shared-memory object (tmpfs/shmem: MAP_SHARED|MAP_ANONYMOUS, SysV shm): no path on disk.
    pub shmem: bool,
    /// Running digest of the file's content (see check.rs).
    pub digest: u64,
    /// SysV shm attach count or open references keeping an unlinked shmem file alive.
    pub refs: u32,
    /// inode->dirtied_when: when the first of its now-dirty pages was dirtied (None: clean).
    pub dirtied_when: Option<u64>,
}

/// The machine.
#[derive(Clone, Serialize, Deserialize)]
pub struct Machine {
    pub arch: ArchProfile,
    pub semantics: Semantics,
    pub topo: Topology,
    pub phys: PhysMem,
    pub swap: Swap,
    pub page_cluster: u32,
    pub costs: CostModel,
    /// The modern kernel version whose behaviour the engines follow ([`Kernel::LATEST`] for a
    /// modern machine without one; unused by the 2.6 generations).
    pub kernel: Kernel,
    /// Simulated time charged so far, by term (a report is its difference across a call).
    pub acct: TimeReport,
    /// The swap slot (entry value) just after the last swap I/O, and the (file, index) after
    /// the last file I/O: a request that continues there is sequential (no seek).
    pub swap_next: u64,
    pub file_next: (u32, u64),
    pub tasks: BTreeMap<Pid, Task>,
    pub mms: Vec<Option<Mm>>,
    pub families: Vec<Family>,
    pub files: Vec<Option<File>>,
    pub files_by_path: BTreeMap<String, FileId>,
    pub cpusets: Cpusets,
    pub vmstat: VmStat,
    /// Per-node numastat counters, indexed by node id (holes stay zero).
    pub numastat: Vec<NumaStat>,
    /// The simulated clock.
    pub now_ns: u64,
    /// Changes whenever something a system call's checks read changes (tasks, credentials,
    /// cpusets): see [`info::SyscallAccess`].
    pub epoch: u64,
    last_pid: Pid,
    pub pid_max: Pid,
    /// sysctl vm.max_map_count: the most VMAs one address space may have (mm/mmap.c).
    pub max_map_count: u32,
    /// Next content stamp handed to a write (never 0: 0 is the content of a zero-filled page).
    next_stamp: u32,
    /// Per-CPU LRU pagevecs (lru_add_pvecs): pfns not yet on the LRU.
    pub pagevecs: Vec<Vec<u64>>,
    /// Extra references (get_user_pages pins, vmsplice): pfn -> count.
    #[serde(with = "snapshot::sorted_map")]
    pub pins: FxHashMap<u64, u32>,
    /// Pages under writeback: pfn -> simulated time the I/O completes.
    #[serde(with = "snapshot::sorted_map")]
    pub writeback: FxHashMap<u64, u64>,
    /// Pages locked by someone else (I/O in flight): pfn -> time the lock is released.
    #[serde(with = "snapshot::sorted_map")]
    pub locks: FxHashMap<u64, u64>,
    /// The earliest time in `writeback` and `locks` (u64::MAX: none pending).
    pub next_deadline: u64,
    /// The shared zero page (ZERO_PAGE): PG_reserved, mapped read-only by read faults.
    pub zero_pfn: u64,
    /// transparent_hugepage/enabled (modern machines; `Never` elsewhere).
    pub thp: thp::ThpMode,
    /// Head pfn of the huge zero page once allocated (0: none yet).
    pub huge_zero: u64,
    /// THP content written since its last whole-THP store: head pfn -> (base page index,
    /// stamp), sorted by index (see thp.rs).
    pub thp_overlay: FxHashMap<u64, Vec<(u16, u32)>>,
    /// The hugetlb pool (see hugetlb.rs).
    pub hugetlb: hugetlb::Pool,
}

impl Machine {
    pub fn new(cfg: Config) -> Result<Machine> {
        let kernel = match (cfg.semantics, cfg.kernel) {
            (Semantics::Modern, k) => k.unwrap_or(Kernel::LATEST),
            (_, None) => Kernel::LATEST,
            (sem, Some(k)) => {
                return Err(Error::value(format!(
                    "kernel {k}: a kernel version is for modern machines; this one is {sem}"
                )))
            }
        };
        let topo = Topology::new(&cfg.arch, cfg.semantics, &cfg.nodes, cfg.distances.as_deref())?;
        let ps = cfg.arch.page_size();
        let node_pages: Vec<(u32, u64)> =
            cfg.nodes.iter().map(|n| (n.nid, n.mem_bytes / ps)).collect();
        let mut phys = PhysMem::new(&node_pages)?;
        // HPAGE_PMD_ORDER: a huge PMD maps one leaf table's worth of base pages.
        phys.thp_order = *cfg.arch.pt_index_bits().last().expect("page-table levels");
        // init_per_zone_pages_min() / init_per_zone_wmark_min() at boot.
        watermark::setup(&mut phys, cfg.semantics, cfg.arch.page_shift, None);
        if cfg.page_cluster > 16 {
            return Err(Error::value(format!(
                "page_cluster {} is too large (readahead of 2**page_cluster pages; at most 16)",
                cfg.page_cluster
            )));
        }
        // The zero page lives on the first node with memory (ZERO_PAGE is one static page).
        let first_mem = topo.n_memory.first().ok_or_else(|| {
            Error::value("the machine has no memory: at least one node needs node memory")
        })?;
        let zero_pfn = phys.alloc_on(first_mem).expect("first memory node has a free frame");
        *phys.flags_mut(zero_pfn) |= pg::RESERVED;
        let mut swap = Swap::default();
        if cfg.swap_bytes > 0 {
            // +1: the header page is not a usable slot.
            let pages = cfg.swap_bytes / ps + 1;
            // The kernel would truncate a larger area to what it can address ("Truncating
            // oversized swap area"); a simulator asked for more says so instead.
            let max = cfg.arch.max_swap_pages();
            if pages > max {
                return Err(Error::value(format!(
                    "swap {}: one swap device of {} holds at most {} pages ({}): the swap \
                     header's last_page is 32 bits and the arch's swap PTE keeps {} bits of \
                     offset",
                    crate::swap::bytes_text(cfg.swap_bytes),
                    cfg.arch.name,
                    max,
                    crate::swap::bytes_text((max - 1).saturating_mul(ps)),
                    cfg.arch.swp_offset_bits
                )));
            }
            swap.add_device("/dev/swap0", pages, -1)?;
        }
        let ncpu = topo.nr_cpus() as usize;
        let numastat_len = topo.nodes.last().map_or(0, |n| n.nid as usize + 1);
        let cpus =
            NodeMask::full(topo.nr_cpus().next_multiple_of(32))?.and(&NodeMask::from_nodes(
                topo.present_cpus().map(i64::from),
                topo.nr_cpus().next_multiple_of(32),
            )?)?;
        // The top cpuset holds node_online_map in 2.6 (cpuset_init_smp) and N_MEMORY in 6.x.
        let top_mems = topo.cpuset_nodes(cfg.semantics).clone();
        let cpusets = Cpusets::new(cfg.semantics, top_mems, cpus)?;
        // Debian's default (TRANSPARENT_HUGEPAGE_MADVISE) on modern machines.
        let thp_default = if cfg.semantics == Semantics::Modern && cfg.arch.name != "ia64" {
            thp::ThpMode::Madvise
        } else {
            thp::ThpMode::Never
        };
        Ok(Machine {
            cpusets,
            arch: cfg.arch,
            semantics: cfg.semantics,
            topo,
            phys,
            swap,
            page_cluster: cfg.page_cluster,
            costs: cfg.costs,
            kernel,
            acct: TimeReport::default(),
            swap_next: u64::MAX,
            file_next: (u32::MAX, 0),
            tasks: BTreeMap::new(),
            mms: Vec::new(),
            families: Vec::new(),
            files: Vec::new(),
            files_by_path: BTreeMap::new(),
            vmstat: VmStat::default(),
            numastat: vec![NumaStat::default(); numastat_len],
            hugetlb: hugetlb::Pool::new(numastat_len),
            now_ns: 0,
            epoch: 0,
            last_pid: 0,
            pid_max: PID_MAX_DEFAULT,
            max_map_count: mm::default_max_map_count(cfg.semantics),
            next_stamp: 1,
            pagevecs: vec![Vec::new(); ncpu.max(1)],
            pins: FxHashMap::default(),
            writeback: FxHashMap::default(),
            locks: FxHashMap::default(),
            next_deadline: u64::MAX,
            zero_pfn,
            thp: thp_default,
            huge_zero: 0,
            thp_overlay: FxHashMap::default(),
        })
    }

    /// A fresh content stamp for one page write.
    #[inline]
    pub fn new_stamp(&mut self) -> u32 {
        let s = self.next_stamp;
        self.next_stamp = self.next_stamp.wrapping_add(1).max(1);
        s
    }

    // ----- tasks --------------------------------------------------------------------------

    /// alloc_pidmap (kernel/pid.c): the next free pid after the last one handed out, wrapping
    /// at pid_max to RESERVED_PIDS, so pids are not reused soon.
    fn alloc_pid(&mut self) -> Result<Pid> {
        let mut pid = self.last_pid + 1;
        for _ in 0..self.pid_max {
            if pid >= self.pid_max {
                pid = RESERVED_PIDS;
            }
            if !self.tasks.contains_key(&pid) {
                self.last_pid = pid;
                return Ok(pid);
            }
            pid += 1;
        }
        Err(Error::os(errno::EAGAIN, format!("no free pid below pid_max {}", self.pid_max)))
    }

    /// Adds a task to the task list (attach_pid); a system call's checks may see it now.
    pub(crate) fn insert_task(&mut self, t: Task) {
        self.tasks.insert(t.pid, t);
        self.bump_epoch();
    }

    /// Takes a task off the task list (release_task).
    pub(crate) fn remove_task(&mut self, pid: Pid) -> Option<Task> {
        self.bump_epoch();
        self.tasks.remove(&pid)
    }

    pub fn task(&self, pid: Pid) -> Result<&Task> {
        self.tasks
            .get(&pid)
            .ok_or_else(|| Error::os(errno::ESRCH, format!("no process with pid {pid}")))
    }

    pub fn task_mut(&mut self, pid: Pid) -> Result<&mut Task> {
        self.tasks
            .get_mut(&pid)
            .ok_or_else(|| Error::os(errno::ESRCH, format!("no process with pid {pid}")))
    }

    pub fn mm(&self, id: MmId) -> &Mm {
        self.mms[id as usize].as_ref().expect("live mm")
    }
    pub fn mm_mut(&mut self, id: MmId) -> &mut Mm {
        self.mms[id as usize].as_mut().expect("live mm")
    }

    /// The mm of a task, or EINVAL for a kernel thread (get_task_mm() == NULL).
    pub fn task_mm(&self, pid: Pid) -> Result<MmId> {
        self.task(pid)?.mm.ok_or_else(|| {
            Error::os(errno::EINVAL, format!("pid {pid} is a kernel thread: it has no mm"))
        })
    }

    pub(crate) fn check_cpu(&self, cpu: u32) -> Result<()> {
        if !self.topo.cpu_present(cpu) {
            let cpus: Vec<i64> = self.topo.present_cpus().map(i64::from).collect();
            let list = NodeMask::from_nodes(cpus, self.topo.nr_cpus().next_multiple_of(32))
                .map_or_else(|_| String::new(), |m| crate::bitmap_text::format_list(&m));
            return Err(Error::value(format!(
                "cpu {cpu} does not exist: the machine has cpus {list}"
            )));
        }
        Ok(())
    }

    /// A new process with an empty address space (plus its stack), like fork+exec of a small
    /// static binary. Root (uid 0) gets every capability.
    pub fn spawn(&mut self, uid: u32, gid: u32, cpu: u32, cpuset: &str, comm: &str) -> Result<Pid> {
        self.spawn_abi(uid, gid, cpu, cpuset, comm, CallerAbi::Native)
    }

    /// [`Machine::spawn`] of a program of the given ABI: `Compat32` is a 32-bit (IA-32) program
    /// on an x86_64 kernel (exec of an ELF32 binary sets TIF_IA32); other arches refuse it.
    pub fn spawn_abi(
        &mut self,
        uid: u32,
        gid: u32,
        cpu: u32,
        cpuset: &str,
        comm: &str,
        abi: CallerAbi,
    ) -> Result<Pid> {
        if abi == CallerAbi::Compat32 && self.arch.name != "x86_64" {
            return Err(Error::value(format!(
                "a 32-bit (i386) program runs on an x86_64 kernel here (IA-32 emulation); this \
                 machine is {}",
                self.arch.name
            )));
        }
        self.check_cpu(cpu)?;
        self.cpusets.attach_check(cpuset)?;
        let pid = self.alloc_pid()?;
        let mm = self.new_mm(abi)?;
        let task = Task {
            pid,
            tgid: pid,
            comm: if comm.is_empty() { format!("task{pid}") } else { comm.to_string() },
            mm: Some(mm),
            cred: Cred::new_in(self.semantics, uid, gid),
            cpu,
            cpuset: cpuset.to_string(),
            policy: None,
            il_next: InterleaveCursor::default(),
            exiting: false,
            abi,
        };
        self.insert_task(task);
        self.mm_mut(mm).cpus_ran.push(cpu);
        self.setup_stack(mm);
        Ok(pid)
    }

    /// A kernel thread: no mm, root credentials.
    pub fn kernel_thread(&mut self, comm: &str, cpu: u32) -> Result<Pid> {
        self.check_cpu(cpu)?;
        let pid = self.alloc_pid()?;
        self.insert_task(Task {
            pid,
            tgid: pid,
            comm: comm.to_string(),
            mm: None,
            cred: Cred::new_in(self.semantics, 0, 0),
            cpu,
            cpuset: "/".into(),
            policy: None,
            il_next: InterleaveCursor::default(),
            exiting: false,
            abi: CallerAbi::Native,
        });
        Ok(pid)
    }

    /// clone(CLONE_VM|CLONE_THREAD): a thread sharing the mm, credentials and policy.
    pub fn clone_thread(&mut self, pid: Pid) -> Result<Pid> {
        let parent = self.task(pid)?.clone();
        let mm = parent.mm.ok_or_else(|| {
            Error::os(errno::EINVAL, format!("pid {pid} is a kernel thread: it has no mm to share"))
        })?;
        let tid = self.alloc_pid()?;
        self.mm_mut(mm).users += 1;
        let t = Task { pid: tid, tgid: parent.tgid, exiting: false, ..parent };
        self.insert_task(t);
        Ok(tid)
    }

    /// Moves a task to another CPU (sched_setaffinity + migration): its local node changes.
    pub fn migrate_to_cpu(&mut self, pid: Pid, cpu: u32) -> Result<()> {
        self.check_cpu(cpu)?;
        let t = self.task_mut(pid)?;
        t.cpu = cpu;
        if let Some(mm) = t.mm {
            let ran = &mut self.mm_mut(mm).cpus_ran;
            if !ran.contains(&cpu) {
                ran.push(cpu);
            }
        }
        Ok(())
    }

    /// The node of the CPU a task runs on (numa_node_id()).
    pub fn task_node(&self, pid: Pid) -> Result<u32> {
        Ok(self.topo.cpu_to_node(self.task(pid)?.cpu))
    }

    /// The task's mems_allowed: its cpuset's mems restricted to the online nodes (2.6) or the
    /// nodes with memory (6.x), as guarantee_online_mems() walks up to an ancestor with some.
    pub fn mems_allowed(&self, pid: Pid) -> Result<NodeMask> {
        let t = self.task(pid)?;
        self.cpusets.effective_mems(&t.cpuset, self.topo.cpuset_nodes(self.semantics))
    }

    /// Number of tasks attached to a cpuset (for rmdir's EBUSY).
    pub fn cpuset_tasks(&self, path: &str) -> usize {
        self.tasks.values().filter(|t| t.cpuset == path).count()
    }

    /// rmdir of a cpuset: EBUSY while tasks are attached or it has children.
    pub fn remove_cpuset(&mut self, path: &str) -> Result<()> {
        let ntasks = self.cpuset_tasks(path);
        self.cpusets.remove(path, ntasks)?;
        self.bump_epoch();
        Ok(())
    }

    /// mkdir of a cpuset and the writes of its mems, cpus and memory_migrate files.
    pub fn create_cpuset(
        &mut self,
        path: &str,
        mems: &NodeMask,
        cpus: &NodeMask,
        memory_migrate: bool,
    ) -> Result<()> {
        self.cpusets.create(path, mems, cpus, memory_migrate)?;
        self.bump_epoch();
        Ok(())
    }

    /// exit(): releases the task; the last user of an mm tears the address space down.
    pub fn exit(&mut self, pid: Pid) -> Result<()> {
        let t = self
            .remove_task(pid)
            .ok_or_else(|| Error::os(errno::ESRCH, format!("no process with pid {pid}")))?;
        if let Some(mm) = t.mm {
            let m = self.mm_mut(mm);
            m.users -= 1;
            if m.users == 0 {
                self.exit_mmap(mm);
            }
        }
        Ok(())
    }

    // ----- files --------------------------------------------------------------------------

    /// Creates a file of `size` bytes (rounded up to pages) whose content is zero: a sparse file,
    /// so even a huge one costs nothing until its pages are touched. EFBIG beyond
    /// MAX_LFS_FILESIZE (see `check_file_size`).
    pub fn create_file(&mut self, path: &str, size: u64) -> Result<FileId> {
        if path.is_empty() || !path.starts_with('/') {
            return Err(Error::value(format!("file path must be absolute, got {path:?}")));
        }
        if self.files_by_path.contains_key(path) {
            return Err(Error::os(errno::EEXIST, format!("file {path} already exists")));
        }
        let id = self.new_file(path, size, false)?;
        self.files_by_path.insert(path.to_string(), id);
        Ok(id)
    }

    /// A new file object of `size` bytes: a regular file, or a shmem object (`shmem`) for a
    /// SysV segment ([`SYSV_SHM_PATH`], whose creation is ipc/shm.c newseg) or a shared
    /// anonymous mapping (shmem_zero_setup). Its content is stored sparsely, so the size costs
    /// nothing until pages are touched; the sizes the kernel refuses fail with its errno.
    pub(crate) fn new_file(&mut self, path: &str, size: u64, shmem: bool) -> Result<FileId> {
        if size == 0 {
            return Err(Error::value(format!("file {path}: size must be at least one byte")));
        }
        let sysv = shmem && path == SYSV_SHM_PATH;
        if sysv {
            self.shm_newseg_check(size)?;
        }
        self.check_file_size(path, size, shmem)?;
        if sysv {
            // ipc_addid() finds no free id once SHMMNI segments exist: newseg returns -ENOSPC.
            let segs = self.files.iter().flatten().filter(|f| f.shmem && f.path == path).count();
            if segs as u64 >= SHMMNI {
                return Err(Error::os(
                    errno::ENOSPC,
                    format!("shmget: already {segs} segments, SHMMNI is {SHMMNI}"),
                ));
            }
        }
        let pages = size.div_ceil(self.arch.page_size());
        let slot = if let Some(i) = self.files.iter().position(Option::is_none) {
            i
        } else {
            self.files.push(None);
            self.files.len() - 1
        };
        // A slot that does not fit a FileId is past MAX_ID too.
        let id = FileId::try_from(slot).unwrap_or(FileId::MAX);
        if id > crate::phys::mapping::MAX_ID {
            self.files.pop();
            return Err(Error::os(
                errno::ENOMEM,
                "too many files for the simulator's page mapping ids",
            ));
        }
        self.files[id as usize] = Some(File {
            id,
            path: path.to_string(),
            pages,
            store: FilePages::default(),
            cache: FilePages::default(),
            swapped: FilePages::default(),
            mappers: Vec::new(),
            shmem,
            digest: 0,
            refs: 0,
            dirtied_when: None,
        });
        Ok(id)
    }

    /// The largest size a file may have: MAX_LFS_FILESIZE for regular files (the simulated
    /// filesystem's s_maxbytes) and for modern shmem (__shmem_file_setup), SHMEM_MAX_BYTES for
    /// 2.6 shmem, all capped by what the simulator's page mapping can index (2^41 pages).
    /// Beyond it: EFBIG for a regular file (vmtruncate() in 2.6.16, inode_newsize_ok() in 6.x),
    /// EINVAL for shmem (shmem_file_setup()).
    fn check_file_size(&self, path: &str, size: u64, shmem: bool) -> Result<()> {
        let ps = self.arch.page_size();
        let (kernel, what) = if shmem && self.semantics != Semantics::Modern {
            (shmem_max_bytes(&self.arch), "SHMEM_MAX_BYTES")
        } else {
            (self.arch.max_lfs_filesize(self.semantics), "MAX_LFS_FILESIZE")
        };
        let index = (crate::phys::mapping::MAX_INDEX + 1).saturating_mul(ps);
        let (limit, what) = if size > kernel {
            (kernel, format!("{what} of {} {}", self.arch.name, self.semantics))
        } else if size > index {
            (index, format!("what the simulator's page index holds (2**41 pages of {ps} bytes)"))
        } else {
            return Ok(());
        };
        let detail = format!(
            "{path}: size {size} is larger than {what}: {limit} ({})",
            crate::swap::bytes_text(limit)
        );
        Err(Error::os(if shmem { errno::EINVAL } else { errno::EFBIG }, detail))
    }

    /// ipc/shm.c newseg(): the size and total checks of a new SysV segment, with the default
    /// limits of include/linux/shm.h (see [`shm_limits`]).
    fn shm_newseg_check(&self, size: u64) -> Result<()> {
        let (shmmax, shmall) = shm_limits(&self.arch, self.semantics);
        if size < SHMMIN || size > shmmax {
            return Err(Error::os(
                errno::EINVAL,
                format!("shmget: size {size} is outside SHMMIN {SHMMIN} .. SHMMAX {shmmax}"),
            ));
        }
        let ps = self.arch.page_size();
        // numpages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT; 6.x: ENOSPC if that wrapped.
        let numpages = size.checked_next_multiple_of(ps).map(|b| b / ps).ok_or_else(|| {
            Error::os(errno::ENOSPC, format!("shmget: size {size} overflows a page count"))
        })?;
        let shm_tot: u64 = self
            .files
            .iter()
            .flatten()
            .filter(|f| f.shmem && f.path == SYSV_SHM_PATH)
            .map(|f| f.pages)
            .sum();
        // 2.6: shm_tot + numpages >= shm_ctlall; 6.x: the sum overflows or exceeds shm_ctlall.
        let over = match shm_tot.checked_add(numpages) {
            None => true,
            Some(t) if self.semantics == Semantics::Modern => t > shmall,
            Some(t) => t >= shmall,
        };
        if over {
            return Err(Error::os(
                errno::ENOSPC,
                format!(
                    "shmget: {numpages} more pages of shared memory would pass SHMALL {shmall} \
                     pages ({shm_tot} in use)"
                ),
            ));
        }
        Ok(())
    }

    pub fn file(&self, id: FileId) -> &File {
        self.files[id as usize].as_ref().expect("live file")
    }
    pub fn file_mut(&mut self, id: FileId) -> &mut File {
        self.files[id as usize].as_mut().expect("live file")
    }
    pub fn file_by_path(&self, path: &str) -> Result<FileId> {
        self.files_by_path
            .get(path)
            .copied()
            .ok_or_else(|| Error::os(errno::ENOENT, format!("no file {path}")))
    }

    /// Charges simulated time; timed I/O and locks that end by then complete.
    #[inline]
    pub fn advance(&mut self, ns: u64) {
        self.now_ns += ns;
        self.settle();
    }

    /// The modern kernel version this machine follows; None for the 2.6 generations.
    pub fn kernel_version(&self) -> Option<Kernel> {
        (self.semantics == Semantics::Modern).then_some(self.kernel)
    }

    /// lru_add_drain_all() as migrate_prep() / lru_cache_disable() run it, charged: the
    /// drain's cost per CPU of the machine (schedule_on_each_cpu() in 2.6, the per-CPU work of
    /// 6.x).
    pub(crate) fn drain_all_charged(&mut self) {
        self.lru_add_drain_all();
        let ns = self.costs.drain_per_cpu_ns * u64::from(self.topo.nr_cpus().max(1));
        self.acct.drain_ns += ns;
        self.now_ns += ns;
    }

    /// The fixed cost of one system call (entry, exit, page-walk and migrate_pages() setup).
    pub(crate) fn charge_syscall(&mut self) {
        let ns = self.costs.syscall_ns;
        self.acct.syscall_ns += ns;
        self.now_ns += ns;
    }

    /// One page of swap I/O at slot `e` on the swap device: a seek unless the request
    /// continues the previous one (the slot right after it, or a few slots on within a
    /// readahead cluster), then the page's transfer. Charged as I/O; returns the time for the
    /// caller to advance the clock by.
    pub(crate) fn swap_io_ns(&mut self, e: crate::swap::SwpEntry) -> u64 {
        let seq = e.0 >= self.swap_next && e.0 - self.swap_next < 8;
        self.swap_next = e.0 + 1;
        let c = &self.costs;
        let ns = if seq { 0 } else { c.swap_latency_ns }
            + crate::costs::transfer_ns(self.arch.page_size(), c.swap_mb_s);
        self.acct.io_ns += ns;
        ns
    }

    /// One page of file I/O at (`file`, `idx`): on the file device, or on the swap device for
    /// a shmem object (its backing store is swap). Sequential as for [`Machine::swap_io_ns`].
    pub(crate) fn file_io_ns(&mut self, file: FileId, idx: u64, shmem: bool) -> u64 {
        let (f, next) = self.file_next;
        let seq = f == file && idx >= next && idx - next < 8;
        self.file_next = (file, idx + 1);
        let c = &self.costs;
        let (lat, bw) =
            if shmem { (c.swap_latency_ns, c.swap_mb_s) } else { (c.file_latency_ns, c.file_mb_s) };
        let ns = if seq { 0 } else { lat } + crate::costs::transfer_ns(self.arch.page_size(), bw);
        self.acct.io_ns += ns;
        ns
    }

    /// Advances the clock, completing any writeback I/O that finishes by then.
    pub fn advance_to(&mut self, t: u64) {
        if t > self.now_ns {
            self.now_ns = t;
        }
        self.complete_writeback();
    }

    /// Lets time pass as a user would see it: I/O completes and, like pdflush's periodic
    /// writeback (wb_kupdate, dirty_expire_centisecs = 3000), files dirtied more than 30 s ago
    /// are written back.
    pub fn pass_time(&mut self, ns: u64) {
        let t = self.now_ns.saturating_add(ns);
        self.advance_to(t);
        let expired: Vec<FileId> = self
            .files
            .iter()
            .flatten()
            .filter(|f| f.dirtied_when.is_some_and(|d| d.saturating_add(DIRTY_EXPIRE_NS) <= t))
            .map(|f| f.id)
            .collect();
        for f in expired {
            // Only pages dirty in struct page: 2.6.16 has no dirty tracking of shared
            // mappings, so a store only the PTE knows of waits for msync, unmap or reclaim.
            let cached: Vec<u64> =
                self.file(f).cache.iter().filter(|&&c| c != 0).map(|&c| c - 1).collect();
            for pfn in cached {
                if self.phys.flags(pfn) & (pg::DIRTY | pg::WRITEBACK) == pg::DIRTY {
                    self.write_file_page(pfn);
                }
            }
            self.file_mut(f).dirtied_when = None;
        }
        self.now_ns = self.now_ns.max(t);
    }

    /// set_page_dirty(): a page-cache page also marks its file dirty (__mark_inode_dirty).
    #[inline]
    pub fn set_page_dirty(&mut self, pfn: u64) {
        let f = self.phys.flags_mut(pfn);
        *f |= pg::DIRTY;
        if *f & pg::PAGECACHE != 0 {
            let id = crate::phys::mapping::id(self.phys.mapping(pfn));
            let now = self.now_ns;
            // shmem is BDI_CAP_NO_ACCT_DIRTY / NO_WRITEBACK: its inode is never queued.
            if let Some(Some(file)) =
                self.files.get_mut(id as usize).filter(|f| f.as_ref().is_some_and(|f| !f.shmem))
            {
                file.dirtied_when.get_or_insert(now);
            }
        }
    }

    /// refcount of a frame (page_count), derived from what holds it: one per mapping, one for the
    /// page or swap cache, one while isolated, one while in a pagevec, plus pins.
    pub fn page_count(&self, pfn: u64) -> u32 {
        let f = self.phys.flags(pfn);
        if f & pg::ALLOC == 0 {
            return 0;
        }
        let mut c = u32::from(self.phys.mapcount(pfn));
        c += u32::from((f & (pg::PAGECACHE | pg::SWAPCACHE)) != 0);
        c += u32::from((f & pg::ISOLATED) != 0);
        c += u32::from((f & pg::PAGEVEC) != 0);
        c += self.pins.get(&pfn).copied().unwrap_or(0);
        c
    }
}
#[cfg(test)]
mod hugetlb_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bounds;
#[cfg(test)]
mod thp_tests;
#[cfg(test)]
mod vmscan_tests;
