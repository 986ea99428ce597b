//! move_pages(2): the core of sys_move_pages once the syscall layer has checked flags,
//! permissions and the pid. 2.6.18 text (do_move_pages / do_pages_stat) for the 2.6.16
//! machine, as an extension (move_pages came with 2.6.18); modern do_pages_move /
//! add_page_for_migration / do_pages_stat_array (TL-MIG) for the modern machine. V5 has no
//! move_pages (ENOSYS).

use super::collect::{vma_migratable, Walk};
use super::page::{PageList, PFN_MASK};
use super::{Ctx, MigrateReport, Target};
use crate::error::{errno, Error, Result};
use crate::host::count_i64;
use crate::machine::mm::{VmFlags, Vma};
use crate::machine::{Machine, MmId, Pid};
use crate::nodemask::node_int;
use crate::pagetable::pte;
use crate::phys::pg;
use crate::semantics::Semantics;

/// A status entry the kernel did not write (the call failed before copying the statuses back,
/// or the entry was never reached): the user's array keeps what it held.
pub const STATUS_UNWRITTEN: i32 = i32::MIN;

/// What follow_page() finds at an address.
enum Follow {
    Page(u64),
    /// The zero page (PageReserved in 2.6.18; special for vm_normal_page in 6.x).
    Zero,
    /// A special PTE (VM_PFNMAP): no struct page.
    Special,
    /// No page table or pte_none.
    None,
    /// A non-present PTE (swap entry).
    NotPresent,
}

impl Machine {
    fn mp_follow(&self, mm: MmId, addr: u64) -> Follow {
        let lv = self.arch.lvpn(addr);
        if self.phys.nr_folios != 0 {
            // follow_trans_huge_pmd(): the base page of a PMD-mapped THP; FOLL_DUMP refuses
            // the huge zero page.
            let pmd = self.mm(mm).pt.pmd(lv);
            if pmd != 0 {
                return if pte::pfn(pmd) == self.huge_zero {
                    Follow::Zero
                } else {
                    Follow::Page(pte::pfn(pmd) + lv % self.thp_nr())
                };
            }
        }
        let p = self.mm(mm).pt.get(lv);
        if p == 0 {
            Follow::None
        } else if !pte::is_present(p) {
            Follow::NotPresent
        } else if p & pte::SPECIAL != 0 {
            Follow::Special
        } else if pte::pfn(p) == self.zero_pfn {
            Follow::Zero
        } else {
            Follow::Page(pte::pfn(p))
        }
    }

    /// find_vma() (2.6.18): the first VMA ending above `addr`, which may start above it.
    fn mp_find_vma(&self, mm: MmId, addr: u64) -> Option<&Vma> {
        if !self.arch.range_is_user(addr, 1) {
            return None;
        }
        let m = self.mm(mm);
        m.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.end > addr)
            .or_else(|| m.vmas.range(addr + 1..).next().map(|(_, v)| v))
    }

    /// vma_lookup() (6.x): the VMA containing `addr`.
    fn mp_vma_lookup(&self, mm: MmId, addr: u64) -> Option<&Vma> {
        if !self.arch.range_is_user(addr, 1) {
            return None;
        }
        self.vma_at(mm, addr)
    }

    /// do_pages_stat() (2.6.18) / do_pages_stat_array() (6.x): the node of each page.
    fn mp_stat(&self, mm: MmId, addr: u64) -> i32 {
        let ps = self.arch.page_size();
        let addr = addr / ps * ps;
        if self.semantics == Semantics::Modern {
            let Some(v) = self.mp_vma_lookup(mm, addr) else { return -errno::EFAULT };
            match self.mp_follow(mm, addr) {
                Follow::Page(pfn) => node_int(self.phys.pfn_to_nid(pfn)),
                // FOLL_DUMP: special (zero) pages are -EFAULT, and so is a hole in an
                // anonymous area (no_page_table()).
                Follow::Zero | Follow::Special => -errno::EFAULT,
                Follow::None if v.file.is_none() => -errno::EFAULT,
                Follow::None | Follow::NotPresent => -errno::ENOENT,
            }
        } else {
            if self.mp_find_vma(mm, addr).is_none() {
                return -errno::EFAULT;
            }
            match self.mp_follow(mm, addr) {
                Follow::Page(pfn) => node_int(self.phys.pfn_to_nid(pfn)),
                // follow_page() NULL, or PageReserved (the zero page).
                _ => -errno::ENOENT,
            }
        }
    }

    /// move_pages(2) after the syscall layer's checks (ENOSYS, flags, shapes, permissions).
    /// `pages`: the addresses; `nodes`: the target node of each page (as long as `pages`), or
    /// None to only report where each page is; `move_all`: pages
    /// mapped by several processes may move (MPOL_MF_MOVE_ALL, allowed). Returns what the
    /// system call returns (the pages not migrated, or -errno: ENODEV / EACCES for a bad entry,
    /// ENOENT when 2.6.18 isolated nothing, ENOMEM) and the status array
    /// ([`STATUS_UNWRITTEN`] where the kernel writes nothing).
    pub fn move_pages_core(
        &mut self,
        pid: Pid,
        pages: &[u64],
        nodes: Option<&[i32]>,
        move_all: bool,
    ) -> Result<(i64, Vec<i32>)> {
        self.move_pages_reported(pid, pages, nodes, move_all).map(|(rc, st, _)| (rc, st))
    }

    /// [`Machine::move_pages_core`] with the call's report (counts and simulated time by term).
    pub fn move_pages_reported(
        &mut self,
        pid: Pid,
        pages: &[u64],
        nodes: Option<&[i32]>,
        move_all: bool,
    ) -> Result<(i64, Vec<i32>, MigrateReport)> {
        // The syscall layer answers ENOSYS for V5 and checks the shapes; these guard the core.
        if self.semantics == Semantics::V5 {
            return Err(Error::value("move_pages_core: the V5 machine has no move_pages(2)"));
        }
        if nodes.is_some_and(|n| n.len() != pages.len()) {
            return Err(Error::value("move_pages_core: nodes and pages differ in length"));
        }
        let mm = self.task_mm(pid)?;
        let Some(nodes) = nodes else {
            // do_pages_stat(): the system call's fixed cost only.
            let (t0, acct0) = (self.now_ns, self.acct);
            self.charge_syscall();
            let mut st = Vec::new();
            st.try_reserve_exact(pages.len()).map_err(|_| {
                Error::os(
                    errno::ENOMEM,
                    format!("move_pages: no memory for {} statuses", pages.len()),
                )
            })?;
            for &a in pages {
                crate::interrupt::check()?;
                st.push(self.mp_stat(mm, a));
            }
            let mut rep = MigrateReport::new(self.semantics);
            rep.time = self.acct.since(&acct0, self.now_ns - t0);
            return Ok((0, st, rep));
        };
        if nodes.len() != pages.len() {
            return Err(Error::value(format!(
                "move_pages: {} pages but {} nodes",
                pages.len(),
                nodes.len()
            )));
        }
        let task_nodes = self.mems_allowed(pid)?;
        let cpu = self.task(pid)?.cpu;
        let mut ctx = Ctx::new(self, mm, cpu, move_all, task_nodes.clone());
        self.charge_syscall();
        let out = if self.semantics == Semantics::Modern {
            self.mp_modern(&mut ctx, pages, nodes, &task_nodes)
        } else {
            self.mp_2618(&mut ctx, pages, nodes, &task_nodes)
        };
        self.mig_flush_free(&mut ctx);
        self.complete_writeback();
        ctx.check_interrupted()?;
        ctx.rep.ret = out.0;
        if out.0 < 0 {
            ctx.rep.error = i32::try_from(-out.0).ok();
        }
        self.finish_time(&mut ctx);
        Ok((out.0, out.1, ctx.rep))
    }

    fn mp_node_ok(&self, node: i32, task_nodes: &crate::nodemask::NodeMask) -> i32 {
        let Ok(nid) = u32::try_from(node) else { return -errno::ENODEV };
        let online = nid < self.arch.max_numnodes()
            && if self.semantics == Semantics::Modern {
                self.topo.n_memory.test(nid)
            } else {
                self.topo.online.test(nid)
            };
        if !online {
            -errno::ENODEV
        } else if !task_nodes.test(nid) {
            -errno::EACCES
        } else {
            0
        }
    }

    /// 2.6.18 sys_move_pages() + do_move_pages().
    fn mp_2618(
        &mut self,
        ctx: &mut Ctx,
        pages: &[u64],
        nodes: &[i32],
        task_nodes: &crate::nodemask::NodeMask,
    ) -> (i64, Vec<i32>) {
        let n = pages.len();
        let unwritten = vec![STATUS_UNWRITTEN; n];
        // Every entry is checked before any work: node_online(), then the target's cpuset.
        for &node in nodes {
            let e = self.mp_node_ok(node, task_nodes);
            if e != 0 {
                return (i64::from(e), unwritten);
            }
        }
        // migrate_prep(): lru_add_drain_all()
        self.drain_all_charged();
        let ps = self.arch.page_size();
        let mm = ctx.mm;
        let mut st = vec![0i32; n];
        let mut list = PageList::default();
        let mut index: Vec<(u64, usize)> = Vec::new();
        for i in 0..n {
            let addr = pages[i] / ps * ps;
            let node = nodes[i];
            st[i] = if self.mp_find_vma(mm, addr).is_none() {
                -errno::EFAULT
            } else {
                match self.mp_follow(mm, addr) {
                    Follow::Page(pfn) => {
                        let nid = node_int(self.phys.pfn_to_nid(pfn));
                        let f = self.phys.flags(pfn);
                        if nid == node {
                            nid
                        } else if self.phys.mapcount(pfn) > 1 && !ctx.move_all {
                            -errno::EACCES
                        } else if f & pg::LRU == 0 {
                            -errno::EBUSY
                        } else {
                            *self.phys.flags_mut(pfn) = (f & !pg::LRU) | pg::ISOLATED;
                            // mp_node_ok() accepted every node above: it is not negative.
                            let target = u32::try_from(node).expect("a checked node");
                            list.v.push([pfn, u64::from(target)]);
                            index.push((pfn, i));
                            ctx.rep.isolated += 1;
                            0
                        }
                    }
                    _ => -errno::ENOENT,
                }
            };
        }
        if list.is_empty() {
            return (-i64::from(errno::ENOENT), unwritten);
        }
        index.sort_unstable();
        let find =
            |pfn: u64| index[index.binary_search_by_key(&pfn, |x| x.0).expect("isolated page")].1;
        let mut walk = Walk::empty(self, ctx);
        let mut moved = Vec::new();
        let out = self.modern_migrate_pages(
            ctx,
            &mut walk,
            &mut list,
            &mut Target::PerPage,
            Some(&mut moved),
        );
        for e in &out.left {
            // aux held the target node, not a swap entry.
            self.mig_putback(ctx, [e[0], 0]);
        }
        if out.ret < 0 {
            return (out.ret, unwritten);
        }
        for &(old, new) in &moved {
            st[find(old)] = node_int(self.phys.pfn_to_nid(new));
        }
        for e in &out.left {
            // The rc of the last unmap_and_move(): -EAGAIN for a page still retrying.
            st[find(e[0] & PFN_MASK)] = -errno::EAGAIN;
        }
        (out.ret, st)
    }

    /// 6.x do_pages_move(): pages are queued in runs of the same node, each run migrated when
    /// the node changes, a page cannot be queued, or at the end.
    fn mp_modern(
        &mut self,
        ctx: &mut Ctx,
        pages: &[u64],
        nodes: &[i32],
        task_nodes: &crate::nodemask::NodeMask,
    ) -> (i64, Vec<i32>) {
        let n = pages.len();
        let mut st = vec![STATUS_UNWRITTEN; n];
        // lru_cache_disable()
        self.drain_all_charged();
        let mut list = PageList::default();
        let mut current: Option<i32> = None;
        let mut start = 0usize;
        let mut i = 0usize;
        let mut err: i64 = 0;
        while i < n {
            if ctx.interrupted || crate::interrupt::pending() {
                // Ctrl-C: the run queued so far is flushed (the engine stops at once and puts
                // it back) and the call ends with Interrupted.
                ctx.interrupted = true;
                break;
            }
            let node = nodes[i];
            let e = self.mp_node_ok(node, task_nodes);
            if e != 0 {
                err = i64::from(e);
                break; // out_flush
            }
            match current {
                None => {
                    current = Some(node);
                    start = i;
                }
                Some(c) if c != node => {
                    let r = self.mp_flush(ctx, &mut list, c, &mut st, start, i, n);
                    if r != 0 {
                        return (r, st);
                    }
                    start = i;
                    current = Some(node);
                }
                _ => {}
            }
            let r = self.mp_add_page(ctx, &mut list, pages[i], node);
            if r > 0 {
                i += 1;
                continue;
            }
            st[i] = if r == 0 { node } else { r };
            let cur = current.expect("set above");
            let r = self.mp_flush(ctx, &mut list, cur, &mut st, start, i, n);
            if r != 0 {
                // "We have accounted for page i".
                return (if r > 0 { r - 1 } else { r }, st);
            }
            current = None;
            i += 1;
        }
        // out_flush: do not overwrite an existing error.
        let r = match current {
            Some(c) => self.mp_flush(ctx, &mut list, c, &mut st, start, i, n),
            None => 0,
        };
        if err >= 0 {
            err = r;
        }
        (err, st)
    }

    /// add_page_for_migration() (6.x): 1 when queued, 0 when already on `node`, else -errno.
    fn mp_add_page(&mut self, ctx: &mut Ctx, list: &mut PageList, addr: u64, node: i32) -> i32 {
        let ps = self.arch.page_size();
        let addr = addr / ps * ps;
        let mm = ctx.mm;
        let (anon, ok) = match self.mp_vma_lookup(mm, addr) {
            // 6.x vma_migratable(): a hugetlb VMA whose page size migrates; an unfaulted
            // address is -ENOENT (no_page_table(): hugetlb_vm_ops has a fault method).
            Some(v) if v.has(VmFlags::HUGETLB) => (false, super::collect::hugetlb_migratable(self)),
            Some(v) => (v.file.is_none(), vma_migratable(self.semantics, v.flags)),
            None => return -errno::EFAULT,
        };
        if !ok {
            return -errno::EFAULT;
        }
        let pfn = match self.mp_follow(mm, addr) {
            Follow::Page(pfn) => pfn,
            Follow::Zero | Follow::Special => return -errno::EFAULT,
            Follow::None if anon => return -errno::EFAULT,
            Follow::None | Follow::NotPresent => return -errno::ENOENT,
        };
        if node_int(self.phys.pfn_to_nid(pfn)) == node {
            return 0;
        }
        if let Some(head) = self.phys.folio_head(pfn) {
            // add_page_for_migration() on a base page of a THP: page_mapcount() is the
            // entire mapcount here; the head is isolated and queued whole. Another base page of
            // a THP queued in this run finds it isolated: -EBUSY.
            let f = *self.phys.folio(head).expect("a live THP");
            if f.mapcount > 1 && !ctx.move_all {
                return -errno::EACCES;
            }
            if f.flags & pg::LRU == 0 {
                return -errno::EBUSY;
            }
            self.phys.folio_mut(head).flags = (f.flags & !pg::LRU) | pg::ISOLATED;
            list.push(head | super::page::THP_ENTRY);
            ctx.rep.isolated += self.thp_nr();
            return 1;
        }
        if self.phys.flags(pfn) & pg::HUGE != 0 {
            // add_page_for_migration() on a hugetlb page: folio_likely_mapped_shared() is
            // its mapcount; isolate_hugetlb() of the whole page, or -EBUSY if it is isolated
            // already (another address of it in this run).
            let nr = self.hugetlb_nr();
            let head = pfn / nr * nr;
            if self.phys.mapcount(head) > 1 && !ctx.move_all {
                return -errno::EACCES;
            }
            let f = self.phys.flags(head);
            if f & pg::ISOLATED != 0 {
                return -errno::EBUSY;
            }
            *self.phys.flags_mut(head) = f | pg::ISOLATED;
            list.push(head | super::page::HUGETLB_ENTRY);
            ctx.rep.isolated += nr;
            return 1;
        }
        if self.phys.mapcount(pfn) > 1 && !ctx.move_all {
            return -errno::EACCES;
        }
        let f = self.phys.flags(pfn);
        if f & pg::LRU == 0 {
            return -errno::EBUSY;
        }
        *self.phys.flags_mut(pfn) = (f & !pg::LRU) | pg::ISOLATED;
        list.push(pfn);
        ctx.rep.isolated += 1;
        1
    }

    /// move_pages_and_store_status() (6.x): migrate the queued run [start, i) to `node`; on
    /// success every page of the run gets `node`; on failure the count of pages not migrated,
    /// plus the pages not attempted after i, is returned and no status is stored.
    #[allow(clippy::too_many_arguments)]
    fn mp_flush(
        &mut self,
        ctx: &mut Ctx,
        list: &mut PageList,
        node: i32,
        st: &mut [i32],
        start: usize,
        i: usize,
        n: usize,
    ) -> i64 {
        if list.is_empty() {
            return 0;
        }
        // do_pages_move() checked the node (mp_node_ok()) before queuing the run.
        let nid = u32::try_from(node).expect("a checked node");
        let mut walk = Walk::empty(self, ctx);
        let out = self.modern_migrate_pages(ctx, &mut walk, list, &mut Target::Node(nid), None);
        for e in &out.left {
            self.mig_putback(ctx, *e);
        }
        list.v.clear();
        list.head = 0;
        if out.ret != 0 {
            return if out.ret > 0 { out.ret + count_i64((n - i) as u64) } else { out.ret };
        }
        for s in &mut st[start..i] {
            // Entries of the run whose status was already stored are not in [start, i):
            // the run is flushed right after such an entry.
            *s = node;
        }
        0
    }
}
