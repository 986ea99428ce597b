//! `Machine::check()`: every invariant of the "nothing lost" promise, verified from scratch.
//!
//! Content: each mm keeps a running digest of its anonymous content (sum of
//! `digest_term(index, stamp)` over its pages, updated on every store, copy and unmap) and each
//! file one of its content. check() recomputes both from the page tables, the frames, the swap
//! cache and the swap slots: a page lost or altered by a fault, COW, swap or migration shows up
//! as a mismatch.

use rustc_hash::FxHashMap;

use super::Machine;
use crate::error::{Error, Result};
use crate::machine::fault::{digest_term, PTE_HUGE};
use crate::machine::mm::{VmFlags, DEVICE_PFN_BASE};
use crate::pagetable::pte;
use crate::phys::{mapping, pg, Section};
use crate::swap::SwpEntry;

fn bad(msg: String) -> Result<()> {
    Err(Error::invariant("check", msg))
}

impl Machine {
    /// What is wrong with one frame, if anything: its mapcount against the PTEs counted,
    /// LRU/pagevec exclusion, swap-cache membership, and that an allocated frame is held.
    fn frame_problem(
        &self,
        p: u64,
        sec: &Section,
        off: usize,
        mapcount: &FxHashMap<u64, u32>,
    ) -> Option<String> {
        let f = sec.flags[off];
        if f & pg::ALLOC == 0 {
            return (sec.mapcount[off] != 0 || sec.mapping[off] != 0)
                .then(|| format!("free pfn {p:#x} still has a mapping or mapcount"));
        }
        if p == self.zero_pfn {
            return None;
        }
        let want = mapcount.get(&p).copied().unwrap_or(0);
        if sec.mapcount[off] as u32 != want {
            return Some(format!(
                "pfn {p:#x}: mapcount {} but {want} PTEs map it",
                sec.mapcount[off]
            ));
        }
        if f & pg::LRU != 0 && f & pg::PAGEVEC != 0 {
            return Some(format!("pfn {p:#x}: both on the LRU and in a pagevec"));
        }
        if f & pg::SWAPCACHE != 0 {
            match self.swap.entry_of(p) {
                Some(e) if self.swap.lookup(e) == Some(p) => {}
                _ => return Some(format!("pfn {p:#x}: PG_swapcache without a swap cache entry")),
            }
        }
        let holders = pg::PAGECACHE | pg::SWAPCACHE | pg::ISOLATED | pg::WRITEBACK | pg::LOCKED;
        let held = want > 0 || f & holders != 0 || self.pins.contains_key(&p);
        (!held).then(|| {
            format!("pfn {p:#x} is allocated but nothing maps, caches or holds it (leaked)")
        })
    }

    /// Verifies every invariant; the error names the first one broken.
    pub fn check(&self) -> Result<()> {
        self.phys.check()?;
        let mut mapcount: FxHashMap<u64, u32> = FxHashMap::default();
        let mut swapref: FxHashMap<SwpEntry, u32> = FxHashMap::default();
        for (&pid, t) in &self.tasks {
            if let Some(mm) = t.mm {
                if self.mms.get(mm as usize).is_none_or(|m| m.is_none()) {
                    return bad(format!("pid {pid} uses mm {mm}, which does not exist"));
                }
            }
        }
        for m in self.mms.iter().flatten() {
            let users = self.tasks.values().filter(|t| t.mm == Some(m.id)).count() as u32;
            if users != m.users {
                return bad(format!("mm {}: mm_users {} but {users} tasks use it", m.id, m.users));
            }
            if !self.families[m.family as usize].mms.contains(&m.id) {
                return bad(format!("mm {} is not in its anon_vma family {}", m.id, m.family));
            }
            let mut prev_end = 0;
            let (mut rss_anon, mut rss_file, mut swap_ents, mut digest) = (0u64, 0u64, 0u64, 0u64);
            for v in m.vmas.values() {
                let ps = self.arch.page_size();
                if v.start >= v.end || v.start % ps != 0 || v.end % ps != 0 || v.start < prev_end {
                    return bad(format!(
                        "mm {}: VMA {:#x}-{:#x} is empty, unaligned or overlaps",
                        m.id, v.start, v.end
                    ));
                }
                if let Some(f) = v.file {
                    match self.files.get(f as usize).and_then(|x| x.as_ref()) {
                        Some(fm) if fm.mappers.contains(&(m.id, v.start)) => {}
                        _ => {
                            return bad(format!(
                                "mm {}: VMA {:#x} maps file {f} but is not among its mappers",
                                m.id, v.start
                            ))
                        }
                    }
                }
                prev_end = v.end;
            }
            // Every PTE lies in a VMA and points at something real.
            let mut err = None;
            let lv_end = 1u64 << self.arch.lvpn_bits();
            m.pt.for_each(0, lv_end, |first, ptes| {
                if err.is_some() {
                    return;
                }
                for (i, &p) in ptes.iter().enumerate() {
                    if p == 0 {
                        continue;
                    }
                    let lv = first + i as u64;
                    let addr = self.arch.vaddr_of(lv);
                    let Some(v) = self.vma_at(m.id, addr) else {
                        err = Some(format!("mm {}: PTE at {addr:#x} lies outside every VMA", m.id));
                        return;
                    };
                    if pte::is_present(p) {
                        let pfn = pte::pfn(p);
                        if p & pte::SPECIAL != 0 {
                            if !v.has(VmFlags::PFNMAP) || pfn < DEVICE_PFN_BASE {
                                err = Some(format!("mm {}: special PTE at {addr:#x} outside a PFN map", m.id));
                                return;
                            }
                            continue;
                        }
                        if pfn == self.zero_pfn {
                            if p & pte::WRITE != 0 || v.file.is_some() {
                                err = Some(format!("mm {}: zero page mapped writable or in a file area at {addr:#x}", m.id));
                                return;
                            }
                            continue;
                        }
                        if !self.phys.pfn_valid(pfn) || self.phys.flags(pfn) & pg::ALLOC == 0 {
                            err = Some(format!("mm {}: PTE at {addr:#x} points at pfn {pfn:#x}, which is not an allocated frame", m.id));
                            return;
                        }
                        *mapcount.entry(pfn).or_insert(0) += 1;
                        let f = self.phys.flags(pfn);
                        let mp = self.phys.mapping(pfn);
                        if p & PTE_HUGE != 0 {
                            rss_file += 1;
                        } else if f & pg::ANON != 0 {
                            rss_anon += 1;
                            digest = digest.wrapping_add(digest_term(lv, self.phys.stamp(pfn)));
                            if mapping::kind(mp) != mapping::KIND_ANON || mapping::index(mp) != lv || !self.families[mapping::id(mp) as usize].mms.contains(&m.id) {
                                err = Some(format!("mm {}: anonymous page {pfn:#x} at {addr:#x} has a reverse map that does not lead back here", m.id));
                                return;
                            }
                        } else {
                            rss_file += 1;
                            let ok = f & pg::PAGECACHE != 0
                                && v.file == Some(mapping::id(mp))
                                && v.file_index(addr, self.arch.page_shift) == mapping::index(mp);
                            if !ok {
                                err = Some(format!("mm {}: file page {pfn:#x} at {addr:#x} is not the page cache page of this offset", m.id));
                                return;
                            }
                        }
                    } else if pte::is_swap(p) {
                        let e = SwpEntry::new(pte::swp_type(p) as u32, pte::swp_offset(p));
                        if pte::is_migration(p) || !self.swap.valid(e) {
                            err = Some(format!("mm {}: swap PTE at {addr:#x} names slot {}:{} which is not in use", m.id, e.swp_type(), e.offset()));
                            return;
                        }
                        *swapref.entry(e).or_insert(0) += 1;
                        swap_ents += 1;
                        let content = match self.swap.lookup(e) {
                            Some(pfn) => self.phys.stamp(pfn),
                            None => self.swap.stamp(e),
                        };
                        digest = digest.wrapping_add(digest_term(lv, content));
                    } else {
                        err = Some(format!("mm {}: malformed PTE {p:#x} at {addr:#x}", m.id));
                        return;
                    }
                }
            });
            if let Some(e) = err {
                return bad(e);
            }
            if (rss_anon, rss_file, swap_ents) != (m.rss_anon, m.rss_file, m.swap_ents) {
                return bad(format!(
                    "mm {}: counters anon/file/swap {}/{}/{} but the page table holds {rss_anon}/{rss_file}/{swap_ents}",
                    m.id, m.rss_anon, m.rss_file, m.swap_ents
                ));
            }
            if digest != m.anon_digest {
                return bad(format!(
                    "mm {}: anonymous content changed or was lost (digest mismatch)",
                    m.id
                ));
            }
        }
        // Files: page cache <-> frames, content digest.
        for fm in self.files.iter().flatten() {
            let mut digest = 0u64;
            for (idx, &c) in fm.cache.iter().enumerate() {
                let content = if c != 0 {
                    let pfn = c - 1;
                    let mp = self.phys.mapping(pfn);
                    if self.phys.flags(pfn) & (pg::ALLOC | pg::PAGECACHE)
                        != (pg::ALLOC | pg::PAGECACHE)
                        || mapping::kind(mp) != mapping::KIND_FILE
                        || mapping::id(mp) != fm.id
                        || mapping::index(mp) != idx as u64
                    {
                        return bad(format!("file {}: page cache slot {idx} holds pfn {pfn:#x}, which is not that page", fm.path));
                    }
                    self.phys.stamp(pfn)
                } else {
                    fm.store[idx]
                };
                digest = digest.wrapping_add(digest_term(idx as u64, content));
            }
            if digest != fm.digest {
                return bad(format!(
                    "file {}: content changed or was lost (digest mismatch)",
                    fm.path
                ));
            }
        }
        // Frames: mapcount, cache membership, no orphans.
        for n in &self.phys.nodes {
            let mut err = None;
            self.phys.for_each_frame(n, |p, sec, off| {
                if err.is_none() {
                    err = self.frame_problem(p, sec, off, &mapcount);
                }
            });
            if let Some(e) = err {
                return bad(e);
            }
        }
        // Pagevecs hold allocated frames flagged PG_pagevec.
        for (cpu, pv) in self.pagevecs.iter().enumerate() {
            for &p in pv {
                if self.phys.flags(p) & (pg::ALLOC | pg::PAGEVEC) != (pg::ALLOC | pg::PAGEVEC) {
                    return bad(format!(
                        "cpu {cpu} pagevec holds pfn {p:#x}, which is not a pagevec page"
                    ));
                }
            }
        }
        // Swap: each slot's count = swap PTEs naming it + 1 if a page caches it.
        for (e, pfn) in self.swap.cache_iter() {
            if self.phys.flags(pfn) & pg::SWAPCACHE == 0 || self.swap.entry_of(pfn) != Some(e) {
                return bad(format!(
                    "swap cache entry {}:{} points at pfn {pfn:#x}, which does not cache it",
                    e.swp_type(),
                    e.offset()
                ));
            }
        }
        let mut nslots = 0usize;
        for (e, c) in self.swap.used_slots() {
            nslots += 1;
            let want = swapref.get(&e).copied().unwrap_or(0) + self.swap.lookup(e).is_some() as u32;
            if c as u32 != want {
                return bad(format!(
                    "swap slot {}:{}: count {c} but {want} references",
                    e.swp_type(),
                    e.offset()
                ));
            }
        }
        let used: u64 = self.swap.devices.iter().map(|d| d.inuse).sum();
        if used != nslots as u64 {
            return bad(format!("swap: {used} slots counted in use but {nslots} have a count"));
        }
        Ok(())
    }
}
