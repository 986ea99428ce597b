//! The page-migration engines and do_migrate_pages() of each generation.
//!
//! - [`collect`]: check_range / check_pte_range / migrate_page_add / isolate_lru_page.
//! - [`v5`]: engine 1, the V5 swap-out migrate_pages(pagelist, NULL) of 2.6.14-rc5-mm1.
//! - [`direct`]: engine 2, 2.6.16 direct migration through the swap cache (257-page batches).
//! - [`modern`]: engine 3, migration entries, __GFP_THISNODE, 10 passes (also 2.6.18's
//!   move_pages engine).
//! - [`pairs`]: the (source, destination) node pairs of do_migrate_pages().
//! - [`move_pages`] and [`mbind`]: move_pages(2) and mbind(MPOL_MF_MOVE*) page work.
//!
//! Entry points on [`Machine`]: `do_migrate_pages`, `do_migrate_pages_by`,
//! `cpuset_migrate_mm`, `move_pages_core`, `mbind_migrate`. Each returns a [`MigrateReport`]
//! (or move_pages' status array); the syscall layer returns the kernel's int from it.
//!
//! Decisions where the sources leave a gap (spec §10 and below), each tested:
//! - 2.6.16 alloc_pages_node(dest) is not __GFP_THISNODE (that flag came with 2.6.18): a full
//!   destination falls back along its zonelist, within the allocating task's cpuset (the
//!   caller's; the new mems for cpuset_migrate_mm()). ENOMEM only when all of those are full.
//! - 2.6.16 vma_migratable(): the 2.6.16-mm1 list (VM_LOCKED, VM_IO, VM_HUGETLB, VM_PFNMAP,
//!   VM_RESERVED). A VM_LOCKED mapping met by try_to_unmap() in migrate_page() (a page
//!   shared with someone's mlocked area under MOVE_ALL, or mbind(STRICT|MOVE) on an mlocked
//!   area) fails the page for good (-EPERM, the failed list, in that pass): the "page
//!   migration: fail if page is in a vma flagged VM_LOCKED" patch is in 2.6.16 final (the
//!   release mail's list since -rc6; it was not a 2.6.17 change). swap_page(), the pass > 4
//!   fallback for buffers that cannot be dropped, still retries such a page.
//! - try_to_unmap() of V5 and 2.6.16 is not all-or-nothing (research Q5): it visits the
//!   mappings in rmap order (anonymous: the mm forked last first, 2.6.14-2.6.17's anon_vma
//!   list_add(); file: the order the VMAs were mapped) and stops at the first that fails,
//!   leaving the ones before it unmapped (swap PTEs into the swap cache for anonymous pages).
//! - 2.6.16 mappings: the swap cache and regular files have a migratepage method (migrate_page,
//!   buffer_migrate_page as ext2/ext3/xfs); shmem has none (it got migrate_page in 2.6.16.16),
//!   so a dirty mapped shmem page is never written (pageout() keeps mapped pages) and never
//!   moves; buffers that cannot be released send the page to swap_page() from pass 5.
//! - remove_from_swap() (Direct Migration V9 text): every swap PTE of the family naming the
//!   slot is restored as pte_mkold(mk_pte(new, vm_page_prot)), then delete_from_swap_cache().
//! - V5 migrate_page_add() uses list_add(): the engine walks the list in reverse scan order.
//!   2.6.16 (rc5's interleave fix) uses list_add_tail() for both lists and takes the new
//!   pages from the tail: scan order meets last-allocated-first (see d16_migrate_pages_to).
//! - V5 try_to_unmap() (no migration flag in 2.6.14): a young PTE fails the unmap and is
//!   cleared, so freshly touched pages take three passes (young, unmap+write, free), and a
//!   page mapped young by N mms N + 2 passes: V5's 11 passes swap out at most N = 9.
//! - Write-out completes at once (the clock advances by the device time, crate::costs): the next
//!   pass finds the page clean, as it would after waiting for the real I/O. An engine that
//!   waits for a lock or writeback advances the clock to its end; one that never ends (no
//!   duration given) would make lock_page() sleep forever: the page is given up as retrying.
//! - Modern: VM_LOCKED is migratable (since 2.6.21); hugetlb pages move whole on x86_64
//!   (queue_folios_hugetlb(), unmap_and_move_huge_page(): docs/hugepages.md), other arches do
//!   not walk hugetlb VMAs. PTEs keep their write bit and come
//!   back old and clean, the dirty bit on the page (remove_migration_ptes() before 6.1).
//! - The CPU whose pagevec receives put-back and new pages (2.6.16, V5) is the caller's.
//! - Time (crate::costs, docs/costs.md): each call pays syscall_ns and its drains; each page
//!   moved or evicted its generation's folio cost, rmap_ns per mapping, and (moved) its copy
//!   at copy_mb_s times SLIT distance / 10; each PTE unmapped or rewritten a TLB flush (a local
//!   flush, plus a shootdown of the other CPUs the mm ran on), once per batch of 512 folios
//!   from Linux 6.3; write-out its device time; waits for locks and writeback their remaining
//!   time.

pub mod collect;
pub mod direct;
pub mod mbind;
pub mod modern;
pub mod move_pages;
pub mod page;
pub mod pairs;
pub mod report;
pub mod v5;

#[cfg(test)]
mod tests;

pub use collect::vma_migratable;
pub use pairs::migration_pairs;
pub use report::{MigrateReport, PairReport, Reason, Reasons, TimeReport};

use crate::error::{Error, Result};
use crate::machine::rmap::Rmap;
use crate::machine::{Machine, MmId, Pid};
use crate::mempolicy::{MPOL_MF_MOVE, MPOL_MF_MOVE_ALL};
use crate::nodemask::NodeMask;
use crate::semantics::Semantics;

/// State of one migration call, handed to every step.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent facts about one call (flags, not states of a machine)"
)]
pub(crate) struct Ctx {
    pub mm: MmId,
    /// The CPU whose pagevec receives pages put back and new pages (the caller's).
    pub cpu: u32,
    pub move_all: bool,
    /// New and put-back pages go straight onto the LRU (modern: lru_cache_disable()).
    pub lru_direct: bool,
    /// 2.6.16 alloc_pages_node() fallback: nodes the allocating task may use.
    pub alloc_mask: NodeMask,
    pub rep: MigrateReport,
    pub pair: PairReport,
    pub free: Vec<u64>,
    pub maps: Vec<Rmap>,
    /// A walked VMA is VM_LOCKED or VM_RESERVED (mbind with MPOL_MF_STRICT walks the VMAs
    /// vma_migratable() rejects): the reverse map must report every mapping's vm_flags, so its
    /// fast path (which reports none) is off. See [`Machine::mig_rmap`].
    pub rmap_flags: bool,
    /// Copy cost cache: (source nid << 16 | dest nid) -> ns.
    pub copy_key: u32,
    pub copy_ns: u64,
    /// Software cost per folio: moved with migration entries, and moved or evicted through
    /// the swap cache (V5, 2.6.16), and the reverse-map walk per mapping.
    pub folio_mig_ns: u64,
    pub folio_sc_ns: u64,
    pub rmap_ns: u64,
    /// TLB flush cost cache: the mm it was computed for (MmId::MAX: none) and the cost.
    pub tlb_mm: MmId,
    pub tlb_cost: u64,
    /// 6.3+: TLB flushes are batched ("migrate_pages: batch flushing TLB"): the flush owed
    /// for the folios unmapped since the last one, and how many.
    pub tlb_batch: bool,
    pub tlb_pending: u64,
    pub tlb_batch_n: u32,
    /// The clock and the account when the call began (the report is the difference).
    pub t0: u64,
    pub acct0: crate::costs::TimeReport,
    /// Leaf-table cache for PTE updates: log2(PTRS_PER_PTE), and the last (mm, leaf) found.
    pub leaf_shift: u32,
    pub ptc_mm: MmId,
    pub ptc_leaf: u64,
    pub ptc_idx: usize,
    /// The user asked to stop (Ctrl-C, see crate::interrupt): the engine stopped at a page or
    /// batch boundary and put back what it had isolated; the call returns `Interrupted`.
    pub interrupted: bool,
}

impl Ctx {
    pub(crate) fn new(
        m: &Machine,
        mm: MmId,
        cpu: u32,
        move_all: bool,
        alloc_mask: NodeMask,
    ) -> Ctx {
        Ctx {
            mm,
            cpu,
            move_all,
            lru_direct: m.semantics == Semantics::Modern,
            alloc_mask,
            rep: MigrateReport::new(m.semantics),
            pair: PairReport::default(),
            free: Vec::with_capacity(4096),
            maps: Vec::with_capacity(4),
            copy_key: u32::MAX,
            copy_ns: 0,
            folio_mig_ns: m.costs.folio_ns(m.semantics, true),
            folio_sc_ns: m.costs.folio_ns(m.semantics, false),
            rmap_ns: m.costs.rmap_ns,
            tlb_mm: MmId::MAX,
            tlb_cost: 0,
            tlb_batch: m.semantics == Semantics::Modern && m.kernel.batches_tlb_flush(),
            tlb_pending: 0,
            tlb_batch_n: 0,
            t0: m.now_ns,
            acct0: m.acct,
            leaf_shift: m.mm(mm).pt.leaf_len().trailing_zeros(),
            ptc_mm: MmId::MAX,
            ptc_leaf: 0,
            ptc_idx: 0,
            interrupted: false,
            rmap_flags: false,
        }
    }
}

/// Where new pages come from.
pub(crate) enum Target {
    /// alloc_pages_node(dest): 2.6.16 falls back along dest's zonelist within the allocating
    /// task's cpuset; 2.6.18+ and modern use __GFP_THISNODE.
    Node(u32),
    /// mbind(): alloc_page_vma() under the VMA's (new) policy, for task `pid` of mm `mm`.
    /// 2.6.16: the first VMA of the range and a fake address growing a page per allocation
    /// (`next_addr`: offset + vma->vm_start, offset from 0, across batches); modern: the VMA
    /// and address of each page (new_page()).
    Vma { pid: Pid, mm: MmId, vma_start: u64, next_addr: u64 },
    /// move_pages() of 2.6.18 (new_page_node()): each list entry carries its node (aux),
    /// __GFP_THISNODE.
    PerPage,
}

impl Machine {
    /// The core's guard on node masks handed to an engine: both of the arch's MAX_NUMNODES
    /// bits (what get_nodes() produces), so no node beyond the machine's nodemask_t reaches a
    /// per-node table.
    fn check_masks(&self, from: &NodeMask, to: &NodeMask) -> Result<()> {
        let want = self.arch.max_numnodes();
        for (name, m) in [("from", from), ("to", to)] {
            if m.nbits() != want {
                return Err(Error::value(format!(
                    "{name} must be a nodemask of this machine's MAX_NUMNODES ({want} bits), \
                     got {} bits",
                    m.nbits()
                )));
            }
        }
        Ok(())
    }
}

impl Machine {
    /// do_migrate_pages(mm of `pid`, from, to, flags) of the machine's generation, run by the
    /// task itself (its CPU's pagevec, its cpuset for 2.6.16's allocation fallback). `flags`:
    /// MPOL_MF_MOVE or MPOL_MF_MOVE_ALL (the syscall layer decides from the caller's
    /// capabilities). See [`Machine::do_migrate_pages_by`].
    pub fn do_migrate_pages(
        &mut self,
        pid: Pid,
        from: &NodeMask,
        to: &NodeMask,
        flags: u32,
    ) -> Result<MigrateReport> {
        self.do_migrate_pages_by(pid, pid, from, to, flags)
    }

    /// do_migrate_pages() called by task `caller` on the mm of `pid`: the migrate_pages(2)
    /// work once the syscall layer has done its checks. `ret` in the report is what the system
    /// call returns: the pages not moved (summed over node pairs), or -ENOMEM.
    pub fn do_migrate_pages_by(
        &mut self,
        caller: Pid,
        pid: Pid,
        from: &NodeMask,
        to: &NodeMask,
        flags: u32,
    ) -> Result<MigrateReport> {
        let alloc_mask = self.mems_allowed(caller)?;
        let cpu = self.task(caller)?.cpu;
        self.do_migrate_inner(cpu, pid, from, to, flags, alloc_mask)
    }

    /// Writing a cpuset's `mems` (update_nodemask(), kernel/cpuset.c, 2.6.16/2.6.18): the
    /// change is validated (Cpusets::update_mems: EACCES, EBUSY, ENOSPC...), every task attached
    /// to the cpuset has its task and VMA policies rebound (mpol_rebind_task, mpol_rebind_mm),
    /// and with memory_migrate each of their address spaces moves from the old mems to the new
    /// (cpuset_migrate_mm(), MPOL_MF_MOVE_ALL), once per mm. Returns one report per migration.
    pub fn cpuset_update_mems(
        &mut self,
        path: &str,
        mems: &NodeMask,
    ) -> Result<Vec<MigrateReport>> {
        let ntasks = self.cpuset_tasks(path);
        let Some(change) = self.cpusets.update_mems(path, mems, ntasks)? else {
            return Ok(Vec::new());
        };
        self.bump_epoch();
        let sem = self.semantics;
        let nodes = self.topo.cpuset_nodes(sem).clone();
        let with_memory = self.topo.n_memory.clone();
        let (old, new) = (change.old.and(&nodes)?, change.new.and(&nodes)?);
        let pids: Vec<Pid> =
            self.tasks.values().filter(|t| t.cpuset == path).map(|t| t.pid).collect();
        let mut movers: Vec<(Pid, MmId)> = Vec::new();
        for &pid in &pids {
            if let Some(p) = self.task_mut(pid)?.policy.as_mut() {
                p.rebind(sem, &new, &with_memory)?;
            }
            let Some(mm) = self.task(pid)?.mm else { continue };
            if movers.iter().any(|&(_, m)| m == mm) {
                continue;
            }
            movers.push((pid, mm));
            for v in self.mm_mut(mm).vmas.values_mut() {
                if let Some(p) = v.policy.as_mut() {
                    p.rebind(sem, &new, &with_memory)?;
                }
            }
        }
        let mut reports = Vec::new();
        if self.memory_migrate_applies(change.memory_migrate, &old, &new) {
            for (pid, _) in movers {
                reports.push(self.cpuset_migrate_mm(pid, &old, &new)?);
            }
        }
        Ok(reports)
    }

    /// Attaches a task to a cpuset (echo pid > tasks: attach_task() in 2.6.16,
    /// cpuset_attach() in 6.x). If the new cpuset has memory_migrate set and the task has an
    /// mm, its pages move from the old cpuset's mems to the new one's with MPOL_MF_MOVE_ALL
    /// (cpuset_migrate_mm()); the report of that move is returned.
    pub fn attach_cpuset(&mut self, pid: Pid, path: &str) -> Result<Option<MigrateReport>> {
        self.task(pid)?;
        self.cpusets.attach_check(path)?;
        let old = self.mems_allowed(pid)?;
        self.task_mut(pid)?.cpuset = path.to_string();
        self.bump_epoch();
        let new = self.mems_allowed(pid)?;
        let flag = self.cpusets.lookup(path)?.memory_migrate;
        if self.task(pid)?.mm.is_none() || !self.memory_migrate_applies(flag, &old, &new) {
            return Ok(None);
        }
        Ok(Some(self.cpuset_migrate_mm(pid, &old, &new)?))
    }

    /// Whether a cpuset change moves pages: the cpuset has memory_migrate (2.6.16 and later;
    /// the V5 patch predates the flag) and the mems really changed.
    fn memory_migrate_applies(&self, memory_migrate: bool, old: &NodeMask, new: &NodeMask) -> bool {
        memory_migrate && self.semantics != Semantics::V5 && old != new
    }

    /// cpuset_migrate_mm() (kernel/cpuset.c, 2.6.16 and modern): moving a task into a cpuset
    /// with memory_migrate set (or changing such a cpuset's mems) migrates its pages from the
    /// old mems to the new with MPOL_MF_MOVE_ALL; current->mems_allowed is the new mems while
    /// it runs. V5 has no memory_migrate (cpusets got it with 2.6.16): an error.
    pub fn cpuset_migrate_mm(
        &mut self,
        pid: Pid,
        from: &NodeMask,
        to: &NodeMask,
    ) -> Result<MigrateReport> {
        if self.semantics == Semantics::V5 {
            return Err(Error::value(
                "cpuset memory_migrate does not exist in the V5 patch (2.6.14-rc5-mm1)",
            ));
        }
        self.check_masks(from, to)?;
        let cpu = self.task(pid)?.cpu;
        let mut mask = NodeMask::empty(self.arch.max_numnodes())?;
        let nbits = mask.nbits();
        for n in to.iter().filter(|&n| n < nbits) {
            mask.set(n);
        }
        self.do_migrate_inner(cpu, pid, from, to, MPOL_MF_MOVE_ALL, mask)
    }

    fn do_migrate_inner(
        &mut self,
        cpu: u32,
        pid: Pid,
        from: &NodeMask,
        to: &NodeMask,
        flags: u32,
        alloc_mask: NodeMask,
    ) -> Result<MigrateReport> {
        self.check_masks(from, to)?;
        if flags & !(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) != 0 || flags == 0 {
            return Err(Error::value(format!(
                "do_migrate_pages flags must be MPOL_MF_MOVE ({MPOL_MF_MOVE}) or \
                 MPOL_MF_MOVE_ALL ({MPOL_MF_MOVE_ALL}), got {flags:#x}"
            )));
        }
        let mm = self.task_mm(pid)?;
        let move_all = flags & MPOL_MF_MOVE_ALL != 0;
        let mut ctx = Ctx::new(self, mm, cpu, move_all, alloc_mask);
        self.charge_syscall();
        let ret = match self.semantics {
            Semantics::V5 => self.v5_do_migrate_pages(&mut ctx, from, to),
            sem => {
                if sem == Semantics::Modern {
                    // lru_cache_disable(): drain every pagevec, new pages go straight to the LRU.
                    self.drain_all_charged();
                }
                let mut busy = 0i64;
                let mut err = 0i64;
                // mirrors do_migrate_pages(), 2.6.16 / 6.x: the pairs in order, stopping on a
                // negative result
                for (s, d) in migration_pairs(from, to, sem)? {
                    if ctx.interrupted || crate::interrupt::pending() {
                        ctx.interrupted = true;
                        break;
                    }
                    let d = d.expect("2.6.16 and modern pairs have a destination");
                    let r = if sem == Semantics::Modern {
                        self.modern_migrate_to_node(&mut ctx, s, d)
                    } else {
                        self.d16_migrate_to_node(&mut ctx, s, d)
                    };
                    if r > 0 {
                        busy += r;
                    }
                    if r < 0 {
                        err = r;
                        break;
                    }
                }
                if err < 0 {
                    err
                } else {
                    busy
                }
            }
        };
        self.mig_flush_free(&mut ctx);
        // Other I/O that finished while the call ran.
        self.complete_writeback();
        ctx.rep.ret = ret;
        self.settle();
        self.finish_time(&mut ctx);
        ctx.finish()
    }

    /// 2.6.16 mbind: migrate_pages_to()'s `alloc_page_vma(GFP_HIGHUSER, vma, offset +
    /// vma->vm_start); offset += PAGE_SIZE;` (rc6 text; IL-FIX, 2.6.16-rc5) with the range's
    /// first VMA (the same VMA for every page, even when the fake address runs past its end):
    /// for MPOL_INTERLEAVE the k-th page allocated in the call gets the node of VMA offset k.
    pub(crate) fn target_alloc_vma(&mut self, t: &mut Target) -> Option<u64> {
        let Target::Vma { pid, mm, vma_start, next_addr } = t else { return None };
        let (pid, mm, addr) = (*pid, *mm, *next_addr);
        *next_addr = addr.wrapping_add(self.arch.page_size());
        let vma = self.vma_at(mm, *vma_start).cloned();
        let place = self.placement(pid, vma.as_ref(), addr).ok()?;
        self.alloc_placed(&place)
    }

    /// Modern mbind new_page(): alloc by the policy of the VMA mapping the page, at its
    /// address (vma_alloc_folio()).
    pub(crate) fn target_alloc_page(&mut self, t: &mut Target, pfn: u64) -> Option<u64> {
        let Target::Vma { pid, mm, .. } = t else { return None };
        let (pid, mm) = (*pid, *mm);
        let mut addr = None;
        self.rmap_each(pfn, |r| {
            if r.mm == mm && addr.is_none() {
                addr = Some(r.lvpn);
            }
        });
        let addr = addr.map(|lv| self.arch.vaddr_of(lv));
        let vma = addr.and_then(|a| self.vma_at(mm, a).cloned());
        let place = self.placement(pid, vma.as_ref(), addr.unwrap_or(0)).ok()?;
        self.alloc_placed(&place)
    }
}

impl Machine {
    /// The call's simulated time: what was charged since it began, by term.
    pub(crate) fn finish_time(&mut self, ctx: &mut Ctx) {
        self.mig_flush_tlb(ctx);
        ctx.rep.time = self.acct.since(&ctx.acct0, self.now_ns - ctx.t0);
    }
}

impl Ctx {
    /// `Interrupted` if an engine stopped for a Ctrl-C: pages moved so far stay moved and
    /// everything isolated was put back, as after an early return of the kernel's
    /// migrate_pages().
    pub(crate) fn check_interrupted(&self) -> Result<()> {
        if self.interrupted {
            return Err(Error::interrupted(format!(
                "migration interrupted after moving {} pages",
                self.rep.moved + self.rep.swapped_out
            )));
        }
        Ok(())
    }

    /// The call's report, unless it was interrupted.
    pub(crate) fn finish(self) -> Result<MigrateReport> {
        self.check_interrupted()?;
        Ok(self.rep)
    }
}
