//! Swap-out and writeback: what page reclaim (mm/vmscan.c shrink_list) and pdflush would do to
//! a chosen range, plus the transient page states that make migration retry or fail.

use super::{Machine, Pid};
use crate::error::{errno, Error, Result};
use crate::machine::mm::VmFlags;
use crate::pagetable::pte;
use crate::phys::{mapping, pg};
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
    /// try_to_unmap: replaces every PTE of the page. Anonymous pages (which must be in the swap
    /// cache) get swap entries naming their slot; file pages lose their PTEs (the dirty bit
    /// moves to the page). `ignore_young` is try_to_unmap's migration flag.
    pub(crate) fn try_to_unmap(
        &mut self,
        pfn: u64,
        ignore_young: bool,
    ) -> std::result::Result<(), UnmapFail> {
        let maps = self.rmap_walk(pfn);
        if maps.iter().any(|r| r.vm_flags & VmFlags::LOCKED != 0) {
            return Err(UnmapFail::Locked);
        }
        if !ignore_young {
            let mut young = false;
            for r in &maps {
                let p = self.mm_mut(r.mm).pt.get_mut(r.lvpn).unwrap();
                if *p & pte::YOUNG != 0 {
                    *p &= !pte::YOUNG;
                    young = true;
                }
            }
            if young {
                return Err(UnmapFail::Young);
            }
        }
        let anon = self.phys.flags(pfn) & pg::ANON != 0;
        let entry = if anon { self.swap.entry_of(pfn) } else { None };
        for r in maps {
            let p = self.mm(r.mm).pt.get(r.lvpn);
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
    /// under pressure (references ignored): anonymous pages go to swap, page-cache pages are
    /// written back if dirty and dropped. Pages that are locked, under writeback, pinned, not
    /// on the LRU, or mapped in a VM_LOCKED area stay. Returns how many pages were evicted.
    /// With no free swap slot left, anonymous pages stay in memory (add_to_swap fails).
    /// The range is taken in windows of SWAP_OUT_WINDOW pages, so the pages collected at once
    /// stay few and a Ctrl-C ([`crate::interrupt`]) stops it between two pages, those before
    /// evicted.
    pub fn swap_out(&mut self, pid: Pid, addr: u64, length: u64) -> Result<u64> {
        let mm = self.task_mm(pid)?;
        // check_range: page aligned, checked arithmetic, inside one user range (ENOMEM).
        let (start, end) = self.check_range(addr, length, "swap_out")?;
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        self.lru_add_drain_all();
        let mut evicted = 0;
        let mut pfns = Vec::new();
        for v in self.vmas_in(mm, start, end) {
            if v.flags & (VmFlags::LOCKED | VmFlags::IO | VmFlags::HUGETLB) != 0 {
                continue;
            }
            let (mut a, b) =
                (ls.max(self.arch.lvpn(v.start)), le.min(self.arch.lvpn(v.end - 1) + 1));
            while a < b {
                let w = b.min(a + SWAP_OUT_WINDOW);
                pfns.clear();
                self.mm(mm).pt.for_each(a, w, |_, ptes| {
                    pfns.extend(
                        ptes.iter()
                            .filter(|&&p| pte::is_present(p) && p & pte::SPECIAL == 0)
                            .map(|&p| pte::pfn(p)),
                    );
                });
                for &pfn in &pfns {
                    crate::interrupt::check()?;
                    if pfn == self.zero_pfn || self.phys.flags(pfn) & pg::ALLOC == 0 {
                        continue;
                    }
                    if self.evict(pfn) {
                        evicted += 1;
                    }
                }
                a = w;
            }
        }
        Ok(evicted)
    }

    /// shrink_list for one page, synchronously: unmap, write out, free. Also the eviction
    /// step of direct reclaim (vmscan.rs), hence pub(crate).
    pub(crate) fn evict(&mut self, pfn: u64) -> bool {
        let f = self.phys.flags(pfn);
        if f & (pg::LOCKED | pg::WRITEBACK | pg::ISOLATED) != 0
            || f & pg::LRU == 0
            || self.pins.contains_key(&pfn)
        {
            return false;
        }
        if self.mapped_in_locked_vma(pfn) {
            return false;
        }
        if f & pg::ANON != 0 {
            if f & pg::SWAPCACHE == 0 && self.add_to_swap(pfn).is_none() {
                return false;
            }
            if self.try_to_unmap(pfn, true).is_err() {
                return false;
            }
            let e = self.swap.entry_of(pfn).unwrap();
            if self.phys.flags(pfn) & pg::DIRTY != 0 {
                self.swap.write(e, self.phys.stamp(pfn));
                self.vmstat.pswpout += 1;
                self.vmstat.pgpgout += 1;
                self.advance(self.costs.swap_write_ns);
            }
            self.swap.cache_remove(pfn);
            self.swap.put(e);
            *self.phys.flags_mut(pfn) &= !(pg::SWAPCACHE | pg::DIRTY | pg::LRU | pg::ACTIVE);
            self.phys.free(pfn);
            true
        } else if f & pg::PAGECACHE != 0 {
            if self.try_to_unmap(pfn, true).is_err() {
                return false;
            }
            if self.phys.flags(pfn) & pg::DIRTY != 0 {
                self.write_file_page(pfn);
            }
            *self.phys.flags_mut(pfn) &= !(pg::LRU | pg::ACTIVE);
            self.drop_from_page_cache(pfn);
            true
        } else {
            false
        }
    }

    /// writepage of a page-cache page: its content reaches the file (or, for shmem, its backing
    /// store, counted as swap traffic).
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
            self.advance(self.costs.swap_write_ns);
        } else {
            self.advance(self.costs.file_write_ns);
        }
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
                    if self.phys.flags(pfn) & pg::PAGECACHE != 0 {
                        self.write_file_page(pfn);
                    } else {
                        *self.phys.flags_mut(pfn) &= !pg::DIRTY;
                    }
                }
            }
        }
        Ok(pfns.len() as u64)
    }
}
