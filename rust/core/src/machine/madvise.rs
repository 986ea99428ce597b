//! madvise(2) (mm/madvise.c): the VMA walk and what each advice does to memory.
//!
//! The syscall layer (python/numasim/syscalls.py) reads the arguments in each generation's
//! order (6.x: the advice first; then alignment, a length that rounds to 0, end < start, an
//! empty range) and names the advice ([`Advice`]); 2.6 finds an advice it does not know only
//! when it reaches a VMA, so that one arrives here as [`Advice::Invalid`]. The core walks the
//! VMAs as sys_madvise() (2.6.16) / madvise_walk_vmas() (6.x) do: a hole is skipped and makes
//! the call return ENOMEM at the end, an error of one VMA returns at once, and the VMAs before
//! it keep what was done to them.
//!
//! Sources: 2.6.18 mm/madvise.c for 2.6.16 (research notes, issue 9 Q10), 2.6.14 for V5 (no
//! MADV_REMOVE, DONTFORK, DOFORK; DONTNEED refuses only VM_LOCKED and hugetlb areas), 6.1.20
//! mm/madvise.c for 6.x (6.12 reads the same for what is modelled here).

use super::reclaim::Scan;
use super::{FileId, Machine, MmId, Pid, Vma};
use crate::error::{errno, Error, Result};
use crate::machine::fault::digest_term;
use crate::machine::mm::VmFlags;
use crate::pagetable::pte;
use crate::phys::{mapping, pg};
use crate::semantics::Semantics;
use crate::swap::SwpEntry;

/// The advice madvise(2) applies, by the kernel's names (MADV_*). Numbers are the syscall
/// layer's business: they differ between generations (MADV_REMOVE was 5 before 2.6.16-rc4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Random,
    Sequential,
    WillNeed,
    DontNeed,
    /// 2.6.16 and 6.x.
    Remove,
    /// 2.6.16 and 6.x.
    DontFork,
    /// 2.6.16 and 6.x.
    DoFork,
    /// 6.x (5.18+).
    DontNeedLocked,
    /// 6.x (5.4+).
    Cold,
    /// 6.x (5.4+).
    PageOut,
    /// 6.x with CONFIG_TRANSPARENT_HUGEPAGE.
    HugePage,
    /// 6.x with CONFIG_TRANSPARENT_HUGEPAGE.
    NoHugePage,
    /// A value the generation does not know: 2.6's madvise_vma() "default: error = -EINVAL",
    /// met at the first VMA of the range.
    Invalid,
}

impl Advice {
    const NAMES: [(Advice, &'static str); 14] = [
        (Advice::Normal, "normal"),
        (Advice::Random, "random"),
        (Advice::Sequential, "sequential"),
        (Advice::WillNeed, "willneed"),
        (Advice::DontNeed, "dontneed"),
        (Advice::Remove, "remove"),
        (Advice::DontFork, "dontfork"),
        (Advice::DoFork, "dofork"),
        (Advice::DontNeedLocked, "dontneed_locked"),
        (Advice::Cold, "cold"),
        (Advice::PageOut, "pageout"),
        (Advice::HugePage, "hugepage"),
        (Advice::NoHugePage, "nohugepage"),
        (Advice::Invalid, "invalid"),
    ];

    /// The advice named `s` ("dontneed", "pageout", ... or "invalid").
    pub fn parse(s: &str) -> Result<Advice> {
        Self::NAMES.iter().find(|(_, n)| *n == s).map(|&(a, _)| a).ok_or_else(|| {
            let names: Vec<&str> = Self::NAMES.iter().map(|(_, n)| *n).collect();
            Error::value(format!("unknown advice {s:?}; expected one of {}", names.join(", ")))
        })
    }

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(a, _)| *a == self).map_or("invalid", |(_, n)| n)
    }

    /// Whether a generation's madvise knows the advice (REMOVE and DONTFORK/DOFORK came with
    /// 2.6.16, the others with 5.x). Invalid is known everywhere: it is the answer to a value
    /// none of these is.
    pub fn exists_in(self, sem: Semantics) -> bool {
        match self {
            Advice::Normal
            | Advice::Random
            | Advice::Sequential
            | Advice::WillNeed
            | Advice::DontNeed
            | Advice::Invalid => true,
            Advice::Remove | Advice::DontFork | Advice::DoFork => sem != Semantics::V5,
            Advice::DontNeedLocked
            | Advice::Cold
            | Advice::PageOut
            | Advice::HugePage
            | Advice::NoHugePage => sem == Semantics::Modern,
        }
    }

    /// The VMA flags madvise_behavior() (2.6.16) / madvise_vma_behavior() and
    /// hugepage_madvise() (6.x) give an area with flags `f`, for the advice that only sets flags.
    fn vm_flags(self, f: u32) -> Option<u32> {
        Some(match self {
            Advice::Normal => f & !(VmFlags::RAND_READ | VmFlags::SEQ_READ),
            Advice::Sequential => (f & !VmFlags::RAND_READ) | VmFlags::SEQ_READ,
            Advice::Random => (f & !VmFlags::SEQ_READ) | VmFlags::RAND_READ,
            Advice::DontFork => f | VmFlags::DONTCOPY,
            Advice::DoFork => f & !VmFlags::DONTCOPY,
            Advice::HugePage => (f & !VmFlags::NOHUGEPAGE) | VmFlags::HUGEPAGE,
            Advice::NoHugePage => (f & !VmFlags::HUGEPAGE) | VmFlags::NOHUGEPAGE,
            _ => return None,
        })
    }
}

/// BLK_DEF_MAX_SECTORS (6.1 include/linux/blkdev.h): a disk's default max_sectors, from which
/// blk_queue_max_hw_sectors() sets bdi->io_pages.
const BLK_DEF_MAX_SECTORS: u64 = 2560;
/// VM_READAHEAD_PAGES: the default readahead window, 128 KiB (bdi->ra_pages).
const VM_READAHEAD_BYTES: u64 = 128 << 10;

impl Machine {
    /// madvise(2) on [start, start + len) of the task's mm, for a range the syscall layer
    /// checked: page aligned, not empty, not wrapping. Walks the VMAs (sys_madvise() 2.6.16,
    /// madvise_walk_vmas() 6.x); ENOMEM when part of the range (or all of it) is not mapped,
    /// after the mapped parts were handled.
    pub fn madvise(&mut self, pid: Pid, start: u64, len: u64, advice: Advice) -> Result<()> {
        let mm = self.task_mm(pid)?;
        let ps = self.arch.page_size();
        let end = start.checked_add(len).filter(|_| start % ps == 0 && len % ps == 0 && len > 0);
        let Some(end) = end else {
            return Err(Error::value(format!(
                "madvise: [{start:#x}, +{len:#x}) is not a page-aligned, non-empty range (the \
                 syscall layer checks that first)"
            )));
        };
        if !advice.exists_in(self.semantics) {
            return Err(Error::value(format!(
                "madvise: MADV_{} does not exist in {} (the syscall layer maps unknown values to \
                 \"invalid\")",
                advice.name().to_ascii_uppercase(),
                self.semantics
            )));
        }
        let mut cur = start;
        let mut unmapped = false;
        loop {
            // find_vma(): the first area ending above cur.
            let Some(v) = self.find_vma(mm, cur) else {
                return Err(Error::os(
                    errno::ENOMEM,
                    format!("madvise: no mapping at or above {cur:#x}"),
                ));
            };
            if cur < v.start {
                unmapped = true;
                cur = v.start;
                if cur >= end {
                    break;
                }
            }
            let tmp = v.end.min(end);
            // Between two areas the machine is consistent: a Ctrl-C may stop here.
            crate::interrupt::check()?;
            self.madvise_vma(pid, mm, &v, cur, tmp, advice)?;
            cur = tmp;
            if cur >= end {
                break;
            }
        }
        if unmapped {
            return Err(Error::os(
                errno::ENOMEM,
                format!("madvise: part of [{start:#x}, {end:#x}) is not mapped"),
            ));
        }
        Ok(())
    }

    /// The area that contains `addr` or, failing that, the first one above it (find_vma()).
    fn find_vma(&self, mm: MmId, addr: u64) -> Option<Vma> {
        let vmas = &self.mm(mm).vmas;
        vmas.range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end)
            .or_else(|| vmas.range(addr..).next().map(|(_, v)| v))
            .cloned()
    }

    /// madvise_vma() (2.6.16) / madvise_vma_behavior() (6.x): one area's part [start, end).
    fn madvise_vma(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        start: u64,
        end: u64,
        advice: Advice,
    ) -> Result<()> {
        if matches!(advice, Advice::WillNeed | Advice::Remove | Advice::Cold | Advice::PageOut) {
            // Their page work knows base pages only: the THPs of the range are split first
            // (6.x keeps a whole THP for cold/pageout of a whole PMD; not modelled).
            self.thp_split_range(mm, start, end);
        }
        match advice {
            Advice::WillNeed => self.madvise_willneed(pid, mm, v, start, end),
            Advice::DontNeed | Advice::DontNeedLocked => {
                self.madvise_dontneed(mm, v, start, end, advice)
            }
            Advice::Remove => self.madvise_remove(v, start, end),
            Advice::Cold | Advice::PageOut => {
                self.madvise_cold_or_pageout(pid, mm, v, start, end, advice == Advice::PageOut)
            }
            Advice::Invalid => Err(Error::os(
                errno::EINVAL,
                format!("madvise: {} does not know this advice", self.semantics),
            )),
            _ => {
                // madvise_vma(): "case MADV_DOFORK: if (vma->vm_flags & VM_IO) -EINVAL" (2.6.18
                // and 6.x).
                if advice == Advice::DoFork && v.has(VmFlags::IO) {
                    return Err(Error::os(
                        errno::EINVAL,
                        format!("madvise: MADV_DOFORK on an I/O area ({:#x})", v.start),
                    ));
                }
                self.madvise_update_vma(mm, start, end, advice)
            }
        }
    }

    /// madvise_behavior() (2.6.16) / madvise_update_vma() (6.x): the new flags on [start, end)
    /// of one area, splitting it and merging the pieces as mprotect does. A split refused at
    /// vm.max_map_count is ENOMEM, which madvise reports as EAGAIN.
    fn madvise_update_vma(&mut self, mm: MmId, start: u64, end: u64, advice: Advice) -> Result<()> {
        let new = |f: u32| advice.vm_flags(f).unwrap_or(f);
        let v = self.vma_at(mm, start).expect("the walk hands over a mapped range").clone();
        if new(v.flags) == v.flags {
            return Ok(());
        }
        self.fixup_limit(mm, start, end, "madvise", new).map_err(|e| {
            if e.errno() == Some(errno::ENOMEM) {
                Error::os(errno::EAGAIN, e.detail)
            } else {
                e
            }
        })?;
        self.split_at(mm, start);
        self.split_at(mm, end);
        if let Some(mut g) = self.mm_mut(mm).vmas.get_mut(&start) {
            g.flags = new(g.flags);
        }
        self.try_merge(mm, start);
        Ok(())
    }

    /// MADV_WILLNEED: schedule the reads (here they complete at once; nothing is mapped).
    /// 2.6: a file is read ahead (force_page_cache_readahead(), at most max_sane_readahead()
    /// pages: half the inactive and free pages of the caller's node), an anonymous area is
    /// EBADF, tmpfs has no readpage (nothing happens). 6.x: an anonymous area reads its
    /// swapped pages into the swap cache (swapin_walk_pmd_entry()), a shmem one the slots of
    /// its object (force_shm_swapin_readahead()), a file is read ahead through vfs_fadvise()
    /// (POSIX_FADV_WILLNEED: at most max(bdi->io_pages, ra_pages) pages). Hugetlb areas read
    /// nothing in either (hugetlbfs has no readpage; the swap-in walk skips them).
    fn madvise_willneed(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        start: u64,
        end: u64,
    ) -> Result<()> {
        let modern = self.semantics == Semantics::Modern;
        if v.has(VmFlags::HUGETLB) {
            return Ok(());
        }
        let shift = self.arch.page_shift;
        match v.file {
            None if !modern => Err(Error::os(
                errno::EBADF,
                format!("madvise: MADV_WILLNEED on an area that maps no file ({:#x})", v.start),
            )),
            None => {
                // walk_page_range() skips VM_PFNMAP areas.
                if !v.has(VmFlags::PFNMAP) {
                    self.swapin_walk(pid, mm, v, start, end)?;
                }
                Ok(())
            }
            Some(f) if self.file(f).shmem => {
                if modern {
                    // linear_page_index(vma, end + PAGE_SIZE - 1) is the index of the page at
                    // `end`, and xas_for_each() includes it: one page past the range.
                    let (i0, i1) = (v.file_index(start, shift), v.file_index(end, shift) + 1);
                    self.shm_swapin(pid, f, i0, i1)?;
                }
                Ok(())
            }
            Some(f) => {
                let (i0, i1) = (v.file_index(start, shift), v.file_index(end, shift));
                let cap = if modern {
                    let ps = self.arch.page_size();
                    ((BLK_DEF_MAX_SECTORS << 9) / ps).max(VM_READAHEAD_BYTES / ps)
                } else {
                    let mi = self.meminfo(self.task_node(pid)?)?;
                    u64::midpoint(mi.inactive, mi.free)
                };
                self.readahead(pid, f, i0, (i1 - i0).min(cap))
            }
        }
    }

    /// 6.x swapin_walk_pmd_entry(): each swap PTE's slot read into the swap cache
    /// (read_swap_cache_async(), the page by the area's policy at its address), unmapped; then
    /// lru_add_drain(). A page that cannot be allocated is skipped.
    fn swapin_walk(&mut self, pid: Pid, mm: MmId, v: &Vma, start: u64, end: u64) -> Result<()> {
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        let mut swapped = Vec::new();
        self.mm(mm).pt.for_each(ls, le, |first, ptes| {
            for (lv, &p) in (first..).zip(ptes) {
                if pte::is_swap(p) && !pte::is_migration(p) {
                    swapped.push((lv, SwpEntry::from_pte(p)));
                }
            }
        });
        let cpu = self.task(pid)?.cpu;
        for (lv, e) in swapped {
            crate::interrupt::check()?;
            if self.swap.lookup(e).is_some() {
                continue;
            }
            if let Ok(pfn) = self.alloc_user_page(pid, Some(v), self.arch.vaddr_of(lv)) {
                self.read_swap_page(cpu, e, pfn);
            }
        }
        self.drain_cpu(cpu as usize);
        Ok(())
    }

    /// 6.x force_shm_swapin_readahead(): the slots a shmem object names at [i0, i1) read into
    /// the swap cache (read_swap_cache_async() with no vma: the task's policy); then
    /// lru_add_drain().
    fn shm_swapin(&mut self, pid: Pid, f: FileId, i0: u64, i1: u64) -> Result<()> {
        let entries: Vec<u64> = self.file(f).swapped.entries_in(i0, i1).map(|(_, e)| e).collect();
        let cpu = self.task(pid)?.cpu;
        for e in entries.into_iter().map(SwpEntry) {
            crate::interrupt::check()?;
            if self.swap.lookup(e).is_some() {
                continue;
            }
            if let Ok(pfn) = self.alloc_user_page(pid, None, 0) {
                self.read_swap_page(cpu, e, pfn);
            }
        }
        self.drain_cpu(cpu as usize);
        Ok(())
    }

    /// __do_page_cache_readahead() (2.6) / page_cache_ra_unbounded() (6.x): up to `n` pages of
    /// file `f` from index `i0` that are not cached yet are allocated (page_cache_alloc_cold():
    /// the task's policy) and read into the page cache, stopping at the end of the file or at
    /// the first page that cannot be allocated. Reads, not faults: pgpgin, no pgmajfault.
    fn readahead(&mut self, pid: Pid, f: FileId, i0: u64, n: u64) -> Result<()> {
        let cpu = self.task(pid)?.cpu;
        let pages = self.file(f).pages;
        for idx in i0..i0.saturating_add(n).min(pages) {
            crate::interrupt::check()?;
            if self.file(f).cache.get(idx) != 0 {
                continue;
            }
            let Ok(pfn) = self.alloc_user_page(pid, None, idx << self.arch.page_shift) else {
                break;
            };
            let content = self.file(f).store.get(idx);
            self.phys.set_mapping(pfn, mapping::pack(mapping::KIND_FILE, f, idx));
            self.phys.set_stamp(pfn, content);
            *self.phys.flags_mut(pfn) |= pg::PAGECACHE;
            self.file_mut(f).cache.set(idx, pfn + 1);
            // add_to_page_cache_lru().
            self.lru_cache_add(cpu, pfn);
            self.vmstat.pgpgin += 1;
            let ns = self.file_io_ns(f, idx, false);
            self.advance(ns);
        }
        Ok(())
    }

    /// MADV_DONTNEED (and 6.x MADV_DONTNEED_LOCKED): zap_page_range() over [start, end): the
    /// pages are unmapped and what only they held is freed, so anonymous memory reads zero
    /// afterwards and a file mapping reads the file again; shared memory keeps its content.
    /// EINVAL on VM_LOCKED, VM_HUGETLB and VM_PFNMAP areas (2.6.16, 2.6.18's mask); 2.6.14
    /// refuses only VM_LOCKED and hugetlb areas. 6.x (madvise_dontneed_free_valid_vma()):
    /// VM_PFNMAP, and VM_LOCKED unless MADV_DONTNEED_LOCKED; a hugetlb area needs a huge-page
    /// aligned start and its end is rounded down to whole huge pages.
    fn madvise_dontneed(
        &mut self,
        mm: MmId,
        v: &Vma,
        start: u64,
        end: u64,
        advice: Advice,
    ) -> Result<()> {
        let mut end = end;
        let refused = match self.semantics {
            Semantics::V5 => v.flags & (VmFlags::LOCKED | VmFlags::HUGETLB) != 0,
            Semantics::Linux2616 => {
                v.flags & (VmFlags::LOCKED | VmFlags::HUGETLB | VmFlags::PFNMAP) != 0
            }
            Semantics::Modern if v.has(VmFlags::HUGETLB) => {
                let h = self.arch.huge_page_size();
                end = end / h * h;
                start % h != 0
            }
            Semantics::Modern => {
                let locked = advice != Advice::DontNeedLocked && v.has(VmFlags::LOCKED);
                locked || v.has(VmFlags::PFNMAP)
            }
        };
        if refused {
            return Err(Error::os(
                errno::EINVAL,
                format!(
                    "madvise: MADV_{} refuses the area at {:#x} (locked, hugetlb or PFN-mapped)",
                    advice.name().to_ascii_uppercase(),
                    v.start
                ),
            ));
        }
        if start < end {
            self.zap_range(mm, start, end);
        }
        Ok(())
    }

    /// MADV_REMOVE: punch a hole in the file behind [start, end). 2.6.16 (2.6.18's text):
    /// EINVAL on VM_LOCKED or VM_HUGETLB areas and on areas without a file, EACCES unless the
    /// area is VM_SHARED and VM_WRITE, then vmtruncate_range(): ENOSYS but for tmpfs (shmem),
    /// which unmaps the range from every mapping of the file, private copies included
    /// (unmap_mapping_range(..., even_cows = 1)), and drops the pages and slots. 6.x: EINVAL on
    /// VM_LOCKED areas and areas without a file, the same EACCES, then
    /// vfs_fallocate(PUNCH_HOLE), which tmpfs and the simulated disk filesystem both do
    /// (ext4's and xfs's punch hole), leaving private copies alone (truncate_pagecache_range()).
    fn madvise_remove(&mut self, v: &Vma, start: u64, end: u64) -> Result<()> {
        let modern = self.semantics == Semantics::Modern;
        let forbidden = if modern { VmFlags::LOCKED } else { VmFlags::LOCKED | VmFlags::HUGETLB };
        let Some(f) = v.file.filter(|_| v.flags & forbidden == 0) else {
            return Err(Error::os(
                errno::EINVAL,
                format!(
                    "madvise: MADV_REMOVE on a locked, hugetlb or file-less area ({:#x})",
                    v.start
                ),
            ));
        };
        if v.flags & (VmFlags::SHARED | VmFlags::WRITE) != VmFlags::SHARED | VmFlags::WRITE {
            return Err(Error::os(
                errno::EACCES,
                format!("madvise: MADV_REMOVE needs a shared writable mapping ({:#x})", v.start),
            ));
        }
        if !modern && !self.file(f).shmem {
            return Err(Error::os(
                errno::ENOSYS,
                format!("madvise: {} cannot punch holes (only tmpfs can)", self.file(f).path),
            ));
        }
        if v.has(VmFlags::HUGETLB) {
            return Err(Error::value("madvise: MADV_REMOVE of a hugetlb area is not modelled"));
        }
        let shift = self.arch.page_shift;
        self.punch_hole(f, v.file_index(start, shift), v.file_index(end, shift), !modern);
        Ok(())
    }

    /// Punches the hole [i0, i1) in file `f`: every mapping of those pages goes (with
    /// `even_cows`, every present PTE of those mappings, private copies included; swap
    /// entries stay either way: zap_pte_range() keeps them when it has zap_details), then the
    /// page cache, the shmem slots and the stored content of the range; the hole reads zero.
    fn punch_hole(&mut self, f: FileId, i0: u64, i1: u64, even_cows: bool) {
        let shift = self.arch.page_shift;
        // unmap_mapping_range() over every VMA of the file.
        for (mm, vstart) in self.file(f).mappers.clone() {
            let Some(v) = self.mm(mm).vmas.get(&vstart).cloned() else { continue };
            let (lo, hi) = (i0.max(v.pgoff), i1.min(v.pgoff + v.pages(shift)));
            if lo >= hi {
                continue;
            }
            let lv0 = self.arch.lvpn(v.start + ((lo - v.pgoff) << shift));
            let mut present = Vec::new();
            self.mm(mm).pt.for_each(lv0, lv0 + (hi - lo), |first, ptes| {
                for (lv, &p) in (first..).zip(ptes) {
                    if pte::is_present(p) && p & pte::SPECIAL == 0 && pte::pfn(p) != self.zero_pfn {
                        present.push((lv, p));
                    }
                }
            });
            for (lv, p) in present {
                let m = self.phys.mapping(pte::pfn(p));
                let ours = self.phys.flags(pte::pfn(p)) & pg::PAGECACHE != 0
                    && mapping::kind(m) == mapping::KIND_FILE
                    && mapping::id(m) == f;
                if even_cows || ours {
                    self.mm_mut(mm).pt.set(lv, 0);
                    self.zap_one(mm, lv, p);
                }
            }
        }
        // What the range read goes from the file's digest: it reads zero now.
        let fm = self.file(f);
        let mut gone: Vec<(u64, u32)> = Vec::new();
        let mut cached = Vec::new();
        let mut slots = Vec::new();
        for (idx, c) in fm.cache.entries_in(i0, i1) {
            cached.push(c - 1);
            gone.push((idx, self.phys.stamp(c - 1)));
        }
        for (idx, e) in fm.swapped.entries_in(i0, i1) {
            let e = SwpEntry(e);
            slots.push((idx, e));
            let stamp =
                self.swap.lookup(e).map_or_else(|| self.swap.stamp(e), |p| self.phys.stamp(p));
            gone.push((idx, stamp));
        }
        let stored: Vec<(u64, u32)> = fm.store.entries_in(i0, i1).collect();
        for &(idx, s) in &stored {
            if fm.cache.get(idx) == 0 && fm.swapped.get(idx) == 0 {
                gone.push((idx, s));
            }
        }
        let fm = self.file_mut(f);
        for &(idx, s) in &gone {
            fm.digest = fm.digest.wrapping_sub(digest_term(idx, s));
        }
        for &(idx, _) in &stored {
            fm.store.set(idx, 0);
        }
        // truncate_inode_pages_range(): the pages leave the page cache, their dirt cancelled.
        for pfn in cached {
            *self.phys.flags_mut(pfn) &= !pg::DIRTY;
            self.drop_from_page_cache(pfn);
        }
        // shmem_truncate_range(): free_swap_and_cache() for each slot.
        for (idx, e) in slots {
            self.file_mut(f).swapped.set(idx, 0);
            self.free_swap_and_cache(e);
        }
    }

    /// 6.x MADV_COLD and MADV_PAGEOUT (madvise_cold_or_pageout_pte_range()): EINVAL on
    /// VM_LOCKED, VM_PFNMAP and VM_HUGETLB areas (can_madv_lru_vma()). After lru_add_drain()
    /// (this CPU's pagevec only), each present page on the LRU that only this PTE maps has the
    /// PTE's young bit and PG_referenced cleared; COLD deactivates it, PAGEOUT isolates it and
    /// reclaims it at once (reclaim_pages(): shrink_folio_list() without kswapd's writes of
    /// dirty file pages). can_do_pageout() holds: the simulator has no file permissions.
    fn madvise_cold_or_pageout(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        start: u64,
        end: u64,
        pageout: bool,
    ) -> Result<()> {
        if v.flags & (VmFlags::LOCKED | VmFlags::PFNMAP | VmFlags::HUGETLB) != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!(
                    "madvise: MADV_{} refuses a locked, PFN-mapped or hugetlb area ({:#x})",
                    if pageout { "PAGEOUT" } else { "COLD" },
                    v.start
                ),
            ));
        }
        let cpu = self.task(pid)?.cpu;
        self.drain_cpu(cpu as usize);
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        let mut pages = Vec::new();
        self.mm(mm).pt.for_each(ls, le, |first, ptes| {
            for (lv, &p) in (first..).zip(ptes) {
                // vm_normal_page(): not the zero page, not a device pfn.
                if pte::is_present(p) && p & pte::SPECIAL == 0 && pte::pfn(p) != self.zero_pfn {
                    pages.push((lv, pte::pfn(p)));
                }
            }
        });
        let mut list = Vec::new();
        for (lv, pfn) in pages {
            // "Do not interfere with other mappings of this page and non-LRU page."
            if self.phys.flags(pfn) & pg::LRU == 0 || self.phys.mapcount(pfn) != 1 {
                continue;
            }
            if let Some(p) = self.mm_mut(mm).pt.get_mut(lv) {
                *p &= !pte::YOUNG;
            }
            let f = self.phys.flags_mut(pfn);
            *f &= !pg::REFERENCED;
            if pageout {
                list.push(pfn);
            } else {
                // deactivate_page().
                *f &= !pg::ACTIVE;
            }
        }
        for pfn in list {
            crate::interrupt::check()?;
            self.evict(pfn, Scan::PageOut);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "madvise_tests.rs"]
mod tests;
