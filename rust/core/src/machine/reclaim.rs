//! Swap-out and writeback: what page reclaim (mm/vmscan.c shrink_list) and pdflush would do to
//! a chosen range, plus the transient page states that make migration retry or fail.

use rustc_hash::FxHashSet;

use super::{Machine, MmId, Pid, Vma};
use crate::error::{errno, Error, Result};
use crate::machine::mm::VmFlags;
use crate::pagetable::pte;
use crate::phys::{mapping, pg};
use crate::semantics::Semantics;
use crate::swap::SwpEntry;

/// Pages of page table `swap_out` reads at a time before evicting what it found.
const SWAP_OUT_WINDOW: u64 = 1 << 16;

/// Why a page could not be unmapped or evicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmapFail {
    /// A mapping VMA is VM_LOCKED (SWAP_FAIL).
    Locked,
    /// A PTE was young (referenced): the bit is cleared, a later try may succeed (SWAP_AGAIN).
    Young,
}

/// Which reclaim runs: kswapd-style reclaim under memory pressure, or the reclaim_pages() of
/// MADV_PAGEOUT (6.x), run by the calling task on the pages it isolated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// shrink_list (2.6) / shrink_folio_list from shrink_lruvec (6.x): `swap_out`.
    Pressure,
    /// reclaim_pages() (6.x): MADV_PAGEOUT.
    PageOut,
}

/// pageout()'s answers that reclaim distinguishes here.
enum Pageout {
    /// PAGE_KEEP (or PAGE_SUCCESS with the page still dirty): the page stays on the list.
    Keep,
    /// PAGE_ACTIVATE: back to the active list.
    Activate,
    /// PAGE_SUCCESS with the write done: the page is clean and may be freed.
    Success,
}

/// Transient page states a user can impose, as real life does (I/O in flight, pins...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageState {
    /// PG_locked held by someone else (I/O in flight); released after a time or by hand.
    Locked,
    /// PG_writeback: write-out in progress, completes after a time.
    Writeback,
    /// An extra reference (get_user_pages, vmsplice) that stays until unpinned.
    Pinned,
    /// Not yet on the LRU: back in a per-CPU pagevec until the next drain.
    Pagevec,
    /// PTE young bits set on every mapping (recently referenced).
    Young,
    /// Page dirty (content not yet written back).
    Dirty,
}

impl PageState {
    pub fn parse(s: &str) -> Result<PageState> {
        Ok(match s {
            "locked" => PageState::Locked,
            "writeback" => PageState::Writeback,
            "pinned" => PageState::Pinned,
            "pagevec" => PageState::Pagevec,
            "young" => PageState::Young,
            "dirty" => PageState::Dirty,
            _ => {
                return Err(Error::value(format!(
                    "unknown page state {s:?}; expected locked, writeback, pinned, pagevec, young or dirty"
                )))
            }
        })
    }
}

impl Machine {
    /// try_to_unmap: replaces the PTEs of the page, one mapping at a time in rmap order.
    /// Anonymous pages (which must be in the swap cache) get swap entries naming their slot;
    /// file pages lose their PTEs (the dirty bit moves to the page). `ignore_young` is
    /// try_to_unmap's migration flag.
    ///
    /// Like try_to_unmap_anon()/try_to_unmap_file() (2.6.14-2.6.18) and rmap_walk() with
    /// try_to_unmap_one() returning false (6.x), the walk stops at the first mapping that
    /// refuses (VM_LOCKED; a young PTE without `ignore_young`, which is made old) and the
    /// mappings before it stay unmapped.
    pub(crate) fn try_to_unmap(
        &mut self,
        pfn: u64,
        ignore_young: bool,
    ) -> std::result::Result<(), UnmapFail> {
        let mut maps = self.rmap_walk(pfn);
        let anon = self.phys.flags(pfn) & pg::ANON != 0;
        if anon && self.semantics != Semantics::Modern {
            // 2.6.14 .. 2.6.17 anon_vma lists put the mm forked last first (see mig_rmap()).
            maps.reverse();
        }
        let entry = if anon { self.swap.entry_of(pfn) } else { None };
        for r in maps {
            if r.vm_flags & VmFlags::LOCKED != 0 {
                return Err(UnmapFail::Locked);
            }
            let p = self.mm(r.mm).pt.get(r.lvpn);
            if !ignore_young && p & pte::YOUNG != 0 {
                *self.mm_mut(r.mm).pt.get_mut(r.lvpn).unwrap() &= !pte::YOUNG;
                return Err(UnmapFail::Young);
            }
            if p & pte::DIRTY != 0 {
                self.set_page_dirty(pfn);
            }
            let m = self.mm_mut(r.mm);
            if anon {
                let e = entry.expect("anonymous page in the swap cache before unmapping");
                m.pt.set(r.lvpn, e.to_pte());
                m.rss_anon -= 1;
                m.swap_ents += 1;
                self.swap.dup(e);
            } else {
                m.pt.set(r.lvpn, 0);
                m.rss_file -= 1;
            }
            *self.phys.mapcount_mut(pfn) -= 1;
        }
        Ok(())
    }

    /// add_to_swap: a slot for an anonymous page, the page joins the swap cache, dirty.
    pub(crate) fn add_to_swap(&mut self, pfn: u64) -> Option<SwpEntry> {
        let e = self.swap.get_swap_page()?;
        self.swap.cache_insert(e, pfn);
        *self.phys.flags_mut(pfn) |= pg::SWAPCACHE | pg::DIRTY;
        Some(e)
    }

    /// `m.swap_out(pid, addr, length)`: evicts the task's pages in the range as reclaim would
    /// under pressure (references ignored), one pass of shrink_list (2.6) / shrink_folio_list
    /// (6.x) over them: anonymous pages go to swap, page-cache pages are written back if dirty
    /// and dropped. Returns how many pages left memory.
    ///
    /// The pages are those the range maps and the swap-cache pages its swap PTEs name (a page a
    /// pass unmapped but had to keep is found again there). What stays, per the kernel's text
    /// (see [`Machine::evict`]): pages locked, under writeback or not on the LRU; pages mapped
    /// in a VM_LOCKED area (2.6: after taking a swap slot); anonymous pages without a free
    /// slot; and pages with an extra reference (a get_user_pages pin): those are unmapped, a
    /// dirty one is left unwritten in the swap or page cache (pageout() returns PAGE_KEEP), and
    /// the next touch is a minor fault back to the same page.
    ///
    /// The range is taken in windows of SWAP_OUT_WINDOW pages, so the pages collected at once
    /// stay few and a Ctrl-C ([`crate::interrupt`]) stops it between two pages, those before
    /// evicted.
    pub fn swap_out(&mut self, pid: Pid, addr: u64, length: u64) -> Result<u64> {
        let mm = self.task_mm(pid)?;
        // check_range: page aligned, checked arithmetic, inside one user range (ENOMEM).
        let (start, end) = self.check_range(addr, length, "swap_out")?;
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        // shrink_folio_list() swaps a THP whole only with a swap device of clusters
        // (SWP_SOLIDSTATE) that has a free one; the simulated device is a disk: the THP is
        // split first (thp_swpout_fallback).
        let before = self.vmstat.thp_split_page;
        self.thp_split_range(mm, start, end);
        self.vmstat.thp_swpout_fallback += self.vmstat.thp_split_page - before;
        self.lru_add_drain_all();
        let mut evicted = 0;
        let mut pfns = Vec::new();
        // Pages kept by this call: a page two windows name is looked at once.
        let mut kept = FxHashSet::default();
        for v in self.vmas_in(mm, start, end) {
            // No LRU pages there: device pfns, and hugetlb pages, which are never reclaimed.
            if v.flags & (VmFlags::IO | VmFlags::HUGETLB) != 0 {
                continue;
            }
            let (mut a, b) =
                (ls.max(self.arch.lvpn(v.start)), le.min(self.arch.lvpn(v.end - 1) + 1));
            while a < b {
                let w = b.min(a + SWAP_OUT_WINDOW);
                pfns.clear();
                self.reclaim_candidates(mm, &v, a, w, &mut pfns);
                for &pfn in &pfns {
                    crate::interrupt::check()?;
                    if pfn == self.zero_pfn
                        || self.phys.flags(pfn) & pg::ALLOC == 0
                        || kept.contains(&pfn)
                    {
                        continue;
                    }
                    if self.evict(pfn, Scan::Pressure) {
                        evicted += 1;
                    } else {
                        kept.insert(pfn);
                    }
                }
                a = w;
            }
        }
        Ok(evicted)
    }

    /// The pages behind [a, w) (linear page numbers) of VMA `v` of `mm` that reclaim can
    /// reach, in address order: those the PTEs map and the swap-cache pages the swap PTEs
    /// name; for a shmem object, its pages at those indices, in the page cache or (moved
    /// there by an earlier pass) in the swap cache, mapped or not, as the LRU holds them.
    fn reclaim_candidates(&self, mm: MmId, v: &Vma, a: u64, w: u64, out: &mut Vec<u64>) {
        if let Some(f) = v.file.filter(|&f| self.file(f).shmem) {
            let shift = self.arch.page_shift;
            let (i0, i1) = (
                v.file_index(self.arch.vaddr_of(a), shift),
                v.file_index(self.arch.vaddr_of(w - 1), shift) + 1,
            );
            let fm = self.file(f);
            let mut pages: Vec<(u64, u64)> =
                fm.cache.entries_in(i0, i1).map(|(i, c)| (i, c - 1)).collect();
            pages.extend(
                fm.swapped
                    .entries_in(i0, i1)
                    .filter_map(|(i, e)| self.swap.lookup(SwpEntry(e)).map(|pfn| (i, pfn))),
            );
            // An index is cached or swapped, never both: sorting by index keeps address order.
            pages.sort_unstable();
            out.extend(pages.into_iter().map(|(_, pfn)| pfn));
            return;
        }
        self.mm(mm).pt.for_each(a, w, |_, ptes| {
            for &p in ptes {
                if pte::is_present(p) {
                    if p & pte::SPECIAL == 0 {
                        out.push(pte::pfn(p));
                    }
                } else if pte::is_swap(p) && !pte::is_migration(p) {
                    if let Some(pfn) = self.swap.lookup(SwpEntry::from_pte(p)) {
                        out.push(pfn);
                    }
                }
            }
        });
    }

    /// shrink_list (2.6.14 / 2.6.16) / shrink_folio_list (6.x) for one page, with references
    /// ignored and I/O that completes at once (the "synchronous write" case, which frees the
    /// page in the same pass). Returns whether the page left memory.
    ///
    /// An extra reference (a get_user_pages pin, FOLL_GET) stops nothing before the write:
    /// the page gets its swap slot and is unmapped, then pageout() finds it not freeable
    /// (is_page_cache_freeable(): page_count != cache + isolation) and returns PAGE_KEEP, or
    /// __remove_mapping() refuses a clean one: it stays, unmapped, in the swap or page cache,
    /// on the inactive list. 6.x's folio_maybe_dma_pinned() sees only FOLL_PIN pins, which the
    /// simulator does not model.
    pub(crate) fn evict(&mut self, pfn: u64, scan: Scan) -> bool {
        let f = self.phys.flags(pfn);
        if f & pg::LRU == 0 || f & pg::ISOLATED != 0 {
            return false;
        }
        if self.semantics == Semantics::Modern {
            // Mlocked pages live on the unevictable list (2.6.28+): reclaim never sees them.
            if self.mapped_in_locked_vma(pfn) {
                return false;
            }
            // get_scan_count(): without a free swap slot the anon LRU (anonymous, swap cache
            // and shmem pages: the swap-backed ones) is not scanned at all
            // (can_reclaim_anon_pages()); MADV_PAGEOUT's reclaim_pages() takes its list as
            // it is.
            let swap_backed = f & (pg::ANON | pg::SWAPCACHE) != 0 || self.is_shmem_page(pfn);
            if scan == Scan::Pressure && swap_backed && self.swap.free_slots() == 0 {
                return false;
            }
        } else if f & pg::ANON != 0 && self.phys.mapcount(pfn) != 0 && self.swap.total_slots() == 0
        {
            // shrink_active_list() (2.6): with no swap at all a mapped anonymous page stays
            // on the active list ("total_swap_pages == 0 && PageAnon(page)").
            return false;
        }
        // shrink_list() takes pages off the inactive list: this one was deactivated.
        *self.phys.flags_mut(pfn) &= !pg::ACTIVE;
        if f & (pg::LOCKED | pg::WRITEBACK) != 0 {
            // TestSetPageLocked() failed / PageWriteback: keep.
            return false;
        }
        if f & pg::ANON != 0 && f & pg::SWAPCACHE == 0 && self.add_to_swap(pfn).is_none() {
            // add_to_swap() found no slot: activate_locked.
            return self.activate(pfn);
        }
        // try_to_unmap(): SWAP_FAIL on a VM_LOCKED mapping (2.6, after the slot was taken
        // above: shrink_list calls add_to_swap() first) is activate_locked.
        if self.phys.mapcount(pfn) != 0 && self.try_to_unmap(pfn, true).is_err() {
            return self.activate(pfn);
        }
        if self.phys.flags(pfn) & pg::DIRTY != 0 {
            // shrink_folio_list() (6.x): "Only kswapd can writeback filesystem folios": the
            // reclaim MADV_PAGEOUT runs in the caller leaves a dirty file page in the page
            // cache, unmapped, and activates it (PG_reclaim for the flusher is not modelled).
            if scan == Scan::PageOut && f & pg::PAGECACHE != 0 && !self.is_shmem_page(pfn) {
                return self.activate(pfn);
            }
            match self.pageout(pfn) {
                Pageout::Keep => return false,
                Pageout::Activate => return self.activate(pfn),
                Pageout::Success => {}
            }
        }
        // __remove_mapping(): only the cache and the isolation may hold the page
        // (page_count == 2); a pin keeps it (cannot_free / keep_locked).
        if self.pins.contains_key(&pfn) {
            return false;
        }
        let f = self.phys.flags(pfn);
        if f & pg::SWAPCACHE != 0 {
            let e = self.swap.cache_remove(pfn).expect("a swap cache page names its slot");
            self.swap.put(e);
            self.phys.free(pfn);
            true
        } else if f & pg::PAGECACHE != 0 {
            *self.phys.flags_mut(pfn) &= !pg::LRU;
            self.drop_from_page_cache(pfn);
            true
        } else {
            false
        }
    }

    /// activate_locked: back to the active list, kept.
    fn activate(&mut self, pfn: u64) -> bool {
        *self.phys.flags_mut(pfn) |= pg::ACTIVE;
        false
    }

    /// pageout() of an unmapped dirty page, with the write completing at once.
    fn pageout(&mut self, pfn: u64) -> Pageout {
        // is_page_cache_freeable(): PAGE_KEEP unless only the cache and the isolation hold it.
        if self.pins.contains_key(&pfn) {
            return Pageout::Keep;
        }
        let f = self.phys.flags(pfn);
        if f & pg::SWAPCACHE != 0 {
            self.swap_writepage(pfn);
        } else if self.is_shmem_page(pfn) {
            return self.shmem_writepage(pfn);
        } else if f & pg::PAGECACHE != 0 {
            self.write_file_page(pfn);
        } else {
            return Pageout::Keep;
        }
        Pageout::Success
    }

    /// swap_writepage(): a swap-cache page's content reaches its slot.
    fn swap_writepage(&mut self, pfn: u64) {
        let e = self.swap.entry_of(pfn).expect("a swap cache page names its slot");
        self.swap.write(e, self.phys.stamp(pfn));
        *self.phys.flags_mut(pfn) &= !pg::DIRTY;
        self.vmstat.pswpout += 1;
        self.vmstat.pgpgout += 1;
        let ns = self.swap_io_ns(e);
        self.advance(ns);
    }

    /// shmem_writepage() (mm/shmem.c; 2.6.18's text for 2.6.14 and 2.6.16, 6.1's for 6.x):
    /// the page leaves the object's page cache for the swap cache under a new slot, which the
    /// object's swap vector names (a second reference on the slot). Without a free slot (6.x
    /// also: "if (!total_swap_pages)") the page is redirtied and AOP_WRITEPAGE_ACTIVATE makes
    /// pageout() answer PAGE_ACTIVATE: it stays in the page cache, on the active list.
    ///
    /// 2.6 (move_to_swap_cache()) does no I/O and leaves the page dirty, so shrink_list keeps
    /// it ("if (PageWriteback(page) || PageDirty(page)) goto keep"): the next pass finds a
    /// dirty swap-cache page, writes it (pswpout then) and frees it. 6.x calls
    /// swap_writepage() at once: written and freed in the same pass.
    fn shmem_writepage(&mut self, pfn: u64) -> Pageout {
        let m = self.phys.mapping(pfn);
        let (f, idx) = (mapping::id(m), mapping::index(m));
        let Some(e) = self.swap.get_swap_page() else {
            self.set_page_dirty(pfn);
            return Pageout::Activate;
        };
        {
            let fm = self.file_mut(f);
            fm.cache.set(idx, 0);
            fm.swapped.set(idx, e.0);
            // The slot holds the content now: a copy an engine's pageout left in the backing
            // store is stale.
            fm.store.set(idx, 0);
        }
        self.swap.cache_insert(e, pfn);
        // shmem_swp_set(): the swap vector's reference.
        self.swap.dup(e);
        self.phys.set_mapping(pfn, 0);
        let fl = self.phys.flags_mut(pfn);
        *fl = (*fl & !pg::PAGECACHE) | pg::SWAPCACHE | pg::DIRTY;
        if self.semantics == Semantics::Modern {
            self.swap_writepage(pfn);
            Pageout::Success
        } else {
            Pageout::Keep
        }
    }

    /// A page of a shmem object's page cache (tmpfs: shared anonymous memory, SysV shm).
    pub(crate) fn is_shmem_page(&self, pfn: u64) -> bool {
        self.phys.flags(pfn) & pg::PAGECACHE != 0
            && self
                .files
                .get(mapping::id(self.phys.mapping(pfn)) as usize)
                .is_some_and(|f| f.as_ref().is_some_and(|f| f.shmem))
    }

    /// writepage of a page-cache page: its content reaches the file. Reclaim sends shmem pages
    /// to swap slots instead (`shmem_writepage`); the migration engines' pageout of a shmem
    /// page still lands here, in the object's backing store, counted as swap traffic.
    pub(crate) fn write_file_page(&mut self, pfn: u64) {
        let m = self.phys.mapping(pfn);
        let (f, idx) = (mapping::id(m), mapping::index(m));
        let stamp = self.phys.stamp(pfn);
        let shmem = {
            let fm = self.file_mut(f);
            fm.store.set(idx, stamp);
            fm.shmem
        };
        *self.phys.flags_mut(pfn) &= !pg::DIRTY;
        if shmem {
            self.vmstat.pswpout += 1;
        }
        let ns = self.file_io_ns(f, idx, shmem);
        self.advance(ns);
        self.vmstat.pgpgout += 1;
    }

    /// `m.writeback()`: writes every dirty page-cache page of a file (or of all files) and
    /// moves PTE dirty bits to the pages first (sync). Shared memory is not written back.
    pub fn writeback(&mut self, file: Option<super::FileId>) -> Result<u64> {
        let ids: Vec<u32> = match file {
            Some(f) => {
                if self.files.get(f as usize).is_none_or(Option::is_none) {
                    return Err(Error::os(errno::EBADF, format!("no file {f}")));
                }
                vec![f]
            }
            None => {
                // File ids are u32 (at most mapping::MAX_ID): the zip numbers every slot.
                (0u32..).zip(&self.files).filter(|(_, f)| f.is_some()).map(|(i, _)| i).collect()
            }
        };
        let mut n = 0;
        // tmpfs (shmem) is BDI_CAP_NO_WRITEBACK: sync and pdflush leave it alone.
        let ids: Vec<u32> = ids.into_iter().filter(|&f| !self.file(f).shmem).collect();
        for f in ids {
            let cached: Vec<u64> =
                self.file(f).cache.iter().filter(|&&c| c != 0).map(|&c| c - 1).collect();
            for pfn in cached {
                // Between two pages the machine is consistent: a Ctrl-C may stop here (the
                // file stays dirty-dated, its remaining pages are written next time).
                crate::interrupt::check()?;
                // msync/page_mkclean: PTE dirty bits move to the page.
                let maps = self.rmap_walk(pfn);
                for r in maps {
                    let p = self.mm_mut(r.mm).pt.get_mut(r.lvpn).unwrap();
                    if *p & pte::DIRTY != 0 {
                        *p &= !pte::DIRTY;
                        self.set_page_dirty(pfn);
                    }
                }
                if self.phys.flags(pfn) & (pg::DIRTY | pg::WRITEBACK) == pg::DIRTY {
                    self.write_file_page(pfn);
                    n += 1;
                }
            }
            self.file_mut(f).dirtied_when = None;
        }
        Ok(n)
    }

    /// Completes the writeback I/O and timed page locks that are due by now.
    pub(crate) fn complete_writeback(&mut self) {
        let now = self.now_ns;
        let done: Vec<u64> =
            self.writeback.iter().filter(|(_, &t)| t <= now).map(|(&p, _)| p).collect();
        for pfn in done {
            self.writeback.remove(&pfn);
            *self.phys.flags_mut(pfn) &= !pg::WRITEBACK;
            // A page freed while under I/O waits for the I/O (end_page_writeback's put).
            self.free_if_orphan(pfn);
        }
        let unlock: Vec<u64> =
            self.locks.iter().filter(|(_, &t)| t <= now).map(|(&p, _)| p).collect();
        for pfn in unlock {
            self.locks.remove(&pfn);
            *self.phys.flags_mut(pfn) &= !pg::LOCKED;
            self.free_if_orphan(pfn);
        }
        self.next_deadline =
            self.writeback.values().chain(self.locks.values()).copied().min().unwrap_or(u64::MAX);
    }

    /// Completes timed I/O and locks whose time has come (cheap when none is due).
    #[inline]
    pub fn settle(&mut self) {
        if self.now_ns >= self.next_deadline {
            self.complete_writeback();
        }
    }

    /// The frame mapped at `addr` of a task, or an error naming why there is none (EFAULT for
    /// an address outside user space, which the page table cannot even index).
    pub fn frame_at(&self, pid: Pid, addr: u64) -> Result<u64> {
        let mm = self.task_mm(pid)?;
        let page = addr / self.arch.page_size() * self.arch.page_size();
        if !self.arch.range_is_user(page, self.arch.page_size()) {
            return Err(Error::os(
                errno::EFAULT,
                format!("{addr:#x} is not a user address (TASK_SIZE {:#x})", self.arch.task_size),
            ));
        }
        let lv = self.arch.lvpn(page);
        let pmd = self.mm(mm).pt.pmd(lv);
        if pmd != 0 && pte::pfn(pmd) != self.huge_zero {
            // The base page of a PMD-mapped THP (follow_trans_huge_pmd()).
            return Ok(pte::pfn(pmd) + lv % self.thp_nr());
        }
        let p = self.mm(mm).pt.get(lv);
        if !pte::is_present(p) || p & pte::SPECIAL != 0 || pte::pfn(p) == self.zero_pfn {
            return Err(Error::os(errno::ENOENT, format!("no page is present at {addr:#x}")));
        }
        Ok(pte::pfn(p))
    }

    /// Imposes (`on`) or lifts a transient state on the pages of [addr, addr+length) of a task.
    /// `duration_ns` bounds locked and writeback states (None: until lifted by hand).
    pub fn set_page_state(
        &mut self,
        pid: Pid,
        addr: u64,
        length: u64,
        state: PageState,
        on: bool,
        duration_ns: Option<u64>,
    ) -> Result<u64> {
        let (start, end) = self.check_range(addr, length, "set_page_state")?;
        let mm = self.task_mm(pid)?;
        // The states' bookkeeping (the lock, writeback and pin tables, pagevecs, the LRU) is
        // per base frame; a hugetlb page is freed whole, to its pool, by paths that do not
        // consult it. Refused before anything changes.
        if let Some(v) = self.vmas_in(mm, start, end).iter().find(|v| v.has(VmFlags::HUGETLB)) {
            return Err(Error::value(format!(
                "set_page_state: [{:#x}, {:#x}) is a hugetlb area; page states are modelled \
                 for base pages and transparent huge pages only",
                v.start, v.end
            )));
        }
        // Page states are set on base pages: a THP of the range is split first.
        self.thp_split_range(mm, start, end);
        let ps = self.arch.page_size();
        let mut pfns = Vec::new();
        let mut a = start;
        while a < end {
            // Nothing has changed yet: stopping here leaves the machine as it was.
            crate::interrupt::check()?;
            pfns.push(self.frame_at(pid, a)?);
            a += ps;
        }
        let until = duration_ns.map_or(u64::MAX, |d| self.now_ns.saturating_add(d));
        for &pfn in &pfns {
            match (state, on) {
                (PageState::Locked, true) => {
                    *self.phys.flags_mut(pfn) |= pg::LOCKED;
                    self.locks.insert(pfn, until);
                    self.next_deadline = self.next_deadline.min(until);
                }
                (PageState::Locked, false) => {
                    *self.phys.flags_mut(pfn) &= !pg::LOCKED;
                    self.locks.remove(&pfn);
                    self.free_if_orphan(pfn);
                }
                (PageState::Writeback, true) => {
                    *self.phys.flags_mut(pfn) |= pg::WRITEBACK;
                    self.writeback.insert(pfn, until);
                    self.next_deadline = self.next_deadline.min(until);
                }
                (PageState::Writeback, false) => {
                    *self.phys.flags_mut(pfn) &= !pg::WRITEBACK;
                    self.writeback.remove(&pfn);
                    self.free_if_orphan(pfn);
                }
                (PageState::Pinned, true) => *self.pins.entry(pfn).or_insert(0) += 1,
                (PageState::Pinned, false) => {
                    if let Some(c) = self.pins.get_mut(&pfn) {
                        *c -= 1;
                        if *c == 0 {
                            self.pins.remove(&pfn);
                            self.free_if_orphan(pfn);
                        }
                    }
                }
                (PageState::Pagevec, true) => {
                    let f = self.phys.flags(pfn);
                    if f & pg::LRU != 0 {
                        *self.phys.flags_mut(pfn) &= !pg::LRU;
                        let cpu = self.task(pid)?.cpu as usize;
                        *self.phys.flags_mut(pfn) |= pg::PAGEVEC;
                        self.pagevecs[cpu].push(pfn);
                    }
                }
                (PageState::Pagevec, false) => self.lru_add_drain_all(),
                (PageState::Young, on) => {
                    for r in self.rmap_walk(pfn) {
                        let p = self.mm_mut(r.mm).pt.get_mut(r.lvpn).unwrap();
                        if on {
                            *p |= pte::YOUNG;
                        } else {
                            *p &= !pte::YOUNG;
                        }
                    }
                }
                (PageState::Dirty, true) => self.set_page_dirty(pfn),
                (PageState::Dirty, false) => {
                    // A page is clean once its backing store holds its content: a page-cache
                    // page is written to its file, a swap-cache page to its slot
                    // (swap_writepage()); only an anonymous page with no slot has nothing to
                    // write. Clearing PG_dirty alone on a swap-cache page whose content differs
                    // from its slot would let reclaim drop the new content.
                    let f = self.phys.flags(pfn);
                    if f & pg::PAGECACHE != 0 {
                        self.write_file_page(pfn);
                    } else if f & pg::SWAPCACHE != 0 {
                        self.swap_writepage(pfn);
                    } else {
                        *self.phys.flags_mut(pfn) &= !pg::DIRTY;
                    }
                }
            }
        }
        Ok(pfns.len() as u64)
    }
}

#[cfg(test)]
#[path = "reclaim_tests.rs"]
pub(crate) mod tests;
