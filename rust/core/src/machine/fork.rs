//! fork (dup_mmap / copy_page_range), unmapping (zap_pte_range) and exit (exit_mmap).

use super::{Machine, MmId, Pid, Task};
use crate::error::{errno, Error, Result};
use crate::machine::fault::{digest_term, PTE_HUGE};
use crate::machine::mm::VmFlags;
use crate::pagetable::pte;
use crate::phys::pg;
use crate::swap::SwpEntry;

impl Machine {
    /// zap_pte_range over [start, end) of `mm`: every PTE is cleared and what it held released.
    pub(crate) fn zap_range(&mut self, mm: MmId, start: u64, end: u64) {
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        // zap_pmd_range(): a huge PMD the range covers only in part is split first
        // (__split_huge_pmd()), one it covers whole goes at once (zap_huge_pmd()).
        self.thp_split_at(mm, start);
        self.thp_split_at(mm, end);
        self.zap_huge_range(mm, ls, le);
        let mut buf: Vec<u64> = Vec::new();
        let mut v = ls;
        while let Some((first, stop)) = self.mm(mm).pt.next_piece(v, le) {
            buf.clear();
            {
                let piece = self.mm_mut(mm).pt.piece_mut(first, stop);
                buf.extend_from_slice(piece);
                piece.fill(0);
            }
            for (i, &p) in buf.iter().enumerate() {
                if p != 0 {
                    self.zap_one(mm, first + i as u64, p);
                }
            }
            v = stop;
        }
    }

    pub(crate) fn zap_one(&mut self, mm: MmId, lv: u64, p: u64) {
        if pte::is_present(p) {
            let pfn = pte::pfn(p);
            if p & pte::SPECIAL != 0 || pfn == self.zero_pfn {
                return;
            }
            let f = self.phys.flags(pfn);
            let m = self.mm_mut(mm);
            if p & PTE_HUGE != 0 {
                m.rss_file -= 1;
            } else if f & pg::ANON != 0 {
                m.rss_anon -= 1;
            } else {
                m.rss_file -= 1;
            }
            if f & pg::ANON != 0 && p & PTE_HUGE == 0 {
                let t = digest_term(lv, self.phys.stamp(pfn));
                let m = self.mm_mut(mm);
                m.anon_digest = m.anon_digest.wrapping_sub(t);
            }
            if f & pg::PAGECACHE != 0 && p & pte::DIRTY != 0 {
                self.set_page_dirty(pfn);
            }
            self.page_remove_rmap(pfn);
        } else if pte::is_swap(p) {
            let e = SwpEntry::from_pte(p);
            let content = match self.swap.lookup(e) {
                Some(pfn) => self.phys.stamp(pfn),
                None => self.swap.stamp(e),
            };
            let m = self.mm_mut(mm);
            m.anon_digest = m.anon_digest.wrapping_sub(digest_term(lv, content));
            m.swap_ents -= 1;
            self.free_swap_and_cache(e);
        }
    }

    /// free_swap_and_cache: drops a PTE's reference to a slot; a swap-cache page nobody maps
    /// whose slot is otherwise unused goes too.
    pub(crate) fn free_swap_and_cache(&mut self, e: SwpEntry) {
        self.swap.put(e);
        if self.swap.count(e) == 1 {
            if let Some(pfn) = self.swap.lookup(e) {
                let f = self.phys.flags(pfn);
                if self.phys.mapcount(pfn) == 0
                    && f & (pg::ISOLATED | pg::WRITEBACK | pg::LOCKED) == 0
                {
                    self.swap.cache_remove(pfn);
                    self.swap.put(e);
                    *self.phys.flags_mut(pfn) &= !pg::SWAPCACHE;
                    self.release_unmapped(pfn);
                }
            }
        }
    }

    /// fork(): a new process whose address space is a copy-on-write copy of the caller's.
    pub fn fork(&mut self, pid: Pid) -> Result<Pid> {
        let parent = self.task(pid)?.clone();
        let pmm = parent
            .mm
            .ok_or_else(|| Error::os(errno::EINVAL, format!("pid {pid} is a kernel thread")))?;
        let cpid = self.alloc_pid()?;
        let cmm = self.new_mm(self.task(pid)?.abi)?;
        // The child joins the parent's anon_vma family and starts from its layout.
        let old_family = self.mm(cmm).family;
        self.families[old_family as usize].mms.retain(|&m| m != cmm);
        let family = self.mm(pmm).family;
        self.families[family as usize].mms.push(cmm);
        {
            let (start_brk, brk, start_stack, mmap_base, digest) = {
                let p = self.mm(pmm);
                (p.start_brk, p.brk, p.start_stack, p.mmap_base, p.anon_digest)
            };
            let c = self.mm_mut(cmm);
            c.family = family;
            c.start_brk = start_brk;
            c.brk = brk;
            c.start_stack = start_stack;
            c.mmap_base = mmap_base;
            c.anon_digest = digest;
            c.cpus_ran.push(parent.cpu);
        }
        if let Err(e) = self.dup_mmap(pmm, cmm) {
            self.exit_mmap(cmm);
            return Err(e);
        }
        let child = Task { pid: cpid, tgid: cpid, mm: Some(cmm), exiting: false, ..parent };
        self.insert_task(child);
        Ok(cpid)
    }

    /// dup_mmap + copy_page_range (2.6.16).
    fn dup_mmap(&mut self, pmm: MmId, cmm: MmId) -> Result<()> {
        let vmas: Vec<_> = self.mm(pmm).vmas.values().cloned().collect();
        for v in vmas {
            // dup_mmap(): "if (mpnt->vm_flags & VM_DONTCOPY) ... continue;" (MADV_DONTFORK,
            // 2.6.16 and 6.x): the child has no such area, nor its anonymous content.
            if v.has(VmFlags::DONTCOPY) {
                let d = self.anon_digest_of(pmm, v.start, v.end);
                let c = self.mm_mut(cmm);
                c.anon_digest = c.anon_digest.wrapping_sub(d);
                continue;
            }
            let mut cv = v.clone();
            // dup_mmap: VM_LOCKED is not inherited.
            cv.flags &= !VmFlags::LOCKED;
            if let Some(f) = v.file {
                let fm = self.file_mut(f);
                fm.mappers.push((cmm, v.start));
                fm.refs += 1;
            }
            self.mm_mut(cmm).vmas.insert(cv);
            // copy_page_range skips areas a fault can fill again: shared and file mappings
            // without anonymous pages.
            let special = v.flags & (VmFlags::HUGETLB | VmFlags::PFNMAP) != 0;
            if !special
                && v.file.is_some()
                && (v.has(VmFlags::SHARED) || !self.has_anon_pages(pmm, v.start, v.end))
            {
                continue;
            }
            let cow = !v.has(VmFlags::SHARED) && v.has(VmFlags::WRITE) && !v.has(VmFlags::HUGETLB);
            let (ls, le) = (self.arch.lvpn(v.start), self.arch.lvpn(v.end - 1) + 1);
            self.copy_huge_pmds(pmm, cmm, ls, le, cow);
            let mut cur = ls;
            let mut buf = Vec::new();
            while let Some((first, stop)) = self.mm(pmm).pt.next_piece(cur, le) {
                buf.clear();
                buf.extend_from_slice(self.mm_mut(pmm).pt.piece_mut(first, stop));
                for (i, p) in buf.iter_mut().enumerate() {
                    let lv = first + i as u64;
                    if *p == 0 {
                        continue;
                    }
                    if pte::is_present(*p) {
                        let pfn = pte::pfn(*p);
                        if *p & pte::SPECIAL == 0 && pfn != self.zero_pfn {
                            let mc = self.phys.mapcount_mut(pfn);
                            if *mc == u16::MAX {
                                return Err(Error::os(errno::EAGAIN, format!("fork: page {pfn:#x} already has the most mappings the simulator counts")));
                            }
                            *mc += 1;
                            let anon = self.phys.flags(pfn) & pg::ANON != 0 && *p & PTE_HUGE == 0;
                            let c = self.mm_mut(cmm);
                            if anon {
                                c.rss_anon += 1;
                            } else {
                                c.rss_file += 1;
                            }
                        }
                        if cow && *p & pte::WRITE != 0 {
                            *p &= !pte::WRITE;
                            *self.mm_mut(pmm).pt.get_mut(lv).unwrap() &= !pte::WRITE;
                        }
                        let child_pte = (*p & !pte::YOUNG)
                            & if v.has(VmFlags::SHARED) { !pte::DIRTY } else { !0 };
                        self.mm_mut(cmm).pt.set(lv, child_pte);
                    } else if pte::is_swap(*p) {
                        let e = SwpEntry::from_pte(*p);
                        self.swap.dup(e);
                        let c = self.mm_mut(cmm);
                        c.swap_ents += 1;
                        c.pt.set(lv, *p);
                    }
                }
                cur = stop;
            }
        }
        Ok(())
    }

    /// The share of [start, end) in the anonymous-content digest of `mm`: its anonymous pages
    /// (not hugetlb ones, which no digest counts) and its swapped pages.
    fn anon_digest_of(&self, mm: MmId, start: u64, end: u64) -> u64 {
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        let mut d = 0u64;
        self.mm(mm).pt.for_each_pmd(ls, le, |lv0, p| {
            if pte::pfn(p) != self.huge_zero {
                d = d.wrapping_add(self.thp_digest(lv0, pte::pfn(p)));
            }
        });
        self.mm(mm).pt.for_each(ls, le, |first, ptes| {
            for (lv, &p) in (first..).zip(ptes) {
                let content = if pte::is_swap(p) {
                    let e = SwpEntry::from_pte(p);
                    self.swap
                        .lookup(e)
                        .map_or_else(|| self.swap.stamp(e), |pfn| self.phys.stamp(pfn))
                } else if pte::is_present(p)
                    && p & (pte::SPECIAL | PTE_HUGE) == 0
                    && pte::pfn(p) != self.zero_pfn
                    && self.phys.flags(pte::pfn(p)) & pg::ANON != 0
                {
                    self.phys.stamp(pte::pfn(p))
                } else {
                    0
                };
                d = d.wrapping_add(digest_term(lv, content));
            }
        });
        d
    }

    fn has_anon_pages(&self, mm: MmId, start: u64, end: u64) -> bool {
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        let mut found = false;
        self.mm(mm).pt.for_each(ls, le, |_, ptes| {
            found = found
                || ptes.iter().any(|&p| {
                    (pte::is_present(p)
                        && p & pte::SPECIAL == 0
                        && pte::pfn(p) != self.zero_pfn
                        && self.phys.flags(pte::pfn(p)) & pg::ANON != 0)
                        || pte::is_swap(p)
                });
        });
        found
    }

    /// exit_mmap: tears down an address space nobody uses any more.
    pub(crate) fn exit_mmap(&mut self, mm: MmId) {
        let vmas: Vec<(u64, u64)> = self.mm(mm).vmas.values().map(|v| (v.start, v.end)).collect();
        for (s, e) in vmas {
            self.do_munmap(mm, s, e);
        }
        self.drop_mm(mm);
    }

    /// Frees an mm slot (its VMAs must be gone).
    pub(crate) fn drop_mm(&mut self, mm: MmId) {
        let family = self.mm(mm).family;
        self.families[family as usize].mms.retain(|&m| m != mm);
        self.mms[mm as usize] = None;
    }
}
