//! Transparent huge pages (modern semantics only; THP came with Linux 2.6.38): the
//! `transparent_hugepage/enabled` mode, the anonymous PMD fault (do_huge_pmd_anonymous_page),
//! the huge zero page, the write-protect fault (do_huge_pmd_wp_page), splitting
//! (split_huge_pmd + split_huge_page, done together here), zap, fork and mprotect of huge PMDs,
//! and the compact content model of a THP. See docs/hugepages.md for the design.
//!
//! Representation: a PMD-mapped THP is one huge PMD in the page table (pagetable.rs,
//! `HUGE_PMD`) and one [`Folio`] record in physical memory (phys.rs): no PTEs, no per-frame
//! metadata. Its content is a base stamp S (base page i reads S + i, or 0 for all if S is 0)
//! plus an overlay of the base pages written since (`Machine::thp_overlay`).

use super::{Machine, MmId, Pid};
use crate::error::{Error, Result};
use crate::machine::fault::{digest_term, Access};
use crate::machine::mm::{VmFlags, Vma};
use crate::mempolicy::{MPOL_BIND, MPOL_INTERLEAVE};
use crate::pagetable::pte;
use crate::phys::{mapping, pg, Folio, WMARK_LOW};
use crate::semantics::Semantics;
use serde::{Deserialize, Serialize};

/// /sys/kernel/mm/transparent_hugepage/enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThpMode {
    Always,
    Madvise,
    Never,
}

impl ThpMode {
    pub fn parse(s: &str) -> Result<ThpMode> {
        match s {
            "always" => Ok(ThpMode::Always),
            "madvise" => Ok(ThpMode::Madvise),
            "never" => Ok(ThpMode::Never),
            _ => Err(Error::value(format!(
                "thp must be 'always', 'madvise' or 'never' (transparent_hugepage/enabled), not \
                 {s:?}"
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            ThpMode::Always => "always",
            ThpMode::Madvise => "madvise",
            ThpMode::Never => "never",
        }
    }
}

/// The digest term of a PMD-mapped THP whose base pages all read their base content (stamp S
/// and S + i): one mix of (first linear page, S) instead of HPAGE_PMD_NR, so a resident huge
/// page costs O(1) in every digest. Splitting replaces it by the base pages' terms.
#[inline]
pub fn thp_term(lv0: u64, stamp: u32) -> u64 {
    digest_term(lv0 ^ (1 << 63), stamp)
}

/// The content of base page `i` of a THP with base stamp `s` that was not written since.
#[inline]
pub fn sub_stamp(s: u32, i: u64) -> u32 {
    if s == 0 {
        0
    } else {
        // new_stamp_block() hands out blocks that never wrap.
        s + u32::try_from(i).expect("a base page index of a THP")
    }
}

/// Where a fault's THPs are allocated (see `Machine::thp_plan`).
#[derive(Clone, Debug)]
pub(crate) struct ThpPlan {
    nodes: Vec<u32>,
    per_block: bool,
}

impl Machine {
    /// Sets the THP mode. Only modern machines have THP, and only arches with
    /// HAVE_ARCH_TRANSPARENT_HUGEPAGE (x86; not ia64).
    pub fn set_thp(&mut self, mode: ThpMode) -> Result<()> {
        if self.semantics != Semantics::Modern {
            return Err(Error::value(format!(
                "transparent huge pages need the modern semantics (THP came with Linux 2.6.38): \
                 a {} machine has none, so it takes no thp option",
                self.semantics
            )));
        }
        if !self.arch.name.starts_with("i386") && self.arch.name != "x86_64" {
            return Err(Error::value(format!(
                "{} has no transparent huge pages (no HAVE_ARCH_TRANSPARENT_HUGEPAGE)",
                self.arch.name
            )));
        }
        self.thp = mode;
        Ok(())
    }

    /// Base pages of a THP (HPAGE_PMD_NR).
    #[inline]
    pub fn thp_nr(&self) -> u64 {
        self.phys.thp_nr()
    }

    /// __thp_vma_allowable_orders() for an anonymous fault: the mode, VM_HUGEPAGE /
    /// VM_NOHUGEPAGE, and a private anonymous area (shmem THP, shmem_enabled, is not modelled).
    #[inline]
    pub(crate) fn thp_vma_allowed(&self, v: &Vma) -> bool {
        let on = match self.thp {
            ThpMode::Never => false,
            ThpMode::Always => !v.has(VmFlags::NOHUGEPAGE),
            ThpMode::Madvise => v.has(VmFlags::HUGEPAGE) && !v.has(VmFlags::NOHUGEPAGE),
        };
        on && v.is_anon()
            && v.flags & (VmFlags::SHARED | VmFlags::HUGETLB | VmFlags::IO | VmFlags::PFNMAP) == 0
    }

    /// transhuge_vma_suitable(): the PMD-aligned block starting at `lv0` lies inside the VMA.
    #[inline]
    pub(crate) fn thp_block_suitable(&self, v: &Vma, lv0: u64) -> bool {
        let a = self.arch.vaddr_of(lv0);
        a >= v.start
            && a.checked_add(self.thp_nr() << self.arch.page_shift).is_some_and(|e| e <= v.end)
    }

    /// Fresh stamps for a whole THP written at once: S .. S + HPAGE_PMD_NR - 1, in address
    /// order (as a store to each base page in turn would get them). A block never wraps.
    pub(crate) fn new_stamp_block(&mut self, n: u64) -> u32 {
        let n32 = u32::try_from(n).expect("HPAGE_PMD_NR fits");
        if self.next_stamp > u32::MAX - (n32 - 1) {
            self.next_stamp = 1;
        }
        let s = self.next_stamp;
        self.next_stamp = self.next_stamp.wrapping_add(n32).max(1);
        s
    }

    /// What base page `i` of THP `head` reads.
    #[inline]
    pub fn thp_read(&self, head: u64, i: u64) -> u32 {
        let s = self.phys.folio(head).map_or(0, |f| f.stamp);
        if let Some(ov) = self.thp_overlay.get(&head) {
            if let Ok(k) = ov.binary_search_by_key(&i, |&(j, _)| u64::from(j)) {
                return ov[k].1;
            }
        }
        sub_stamp(s, i)
    }

    /// The digest share of THP `head` mapped at `lv0`: its base term plus, for each base page
    /// written since, the difference that page makes.
    pub fn thp_digest(&self, lv0: u64, head: u64) -> u64 {
        let s = self.phys.folio(head).map_or(0, |f| f.stamp);
        let mut d = thp_term(lv0, s);
        if let Some(ov) = self.thp_overlay.get(&head) {
            for &(j, st) in ov {
                let j = u64::from(j);
                d = d
                    .wrapping_add(digest_term(lv0 + j, st))
                    .wrapping_sub(digest_term(lv0 + j, sub_stamp(s, j)));
            }
        }
        d
    }

    /// The nodes to try for a THP at `lv0` of `v` by the memory policy (vma_alloc_folio()
    /// with a PMD order, 6.1-6.6; alloc_pages_mpol(), 6.7+), and whether they change block by
    /// block (interleave): for a policy that is not interleave and allows its preferred node,
    /// the preferred node only (__GFP_THISNODE: "the cost of remote accesses would likely
    /// offset THP benefits"); a VM_HUGEPAGE area (defrag "madvise" gives it
    /// __GFP_DIRECT_RECLAIM) then tries the policy's other nodes. Interleave and a bind mask
    /// without the preferred node allocate the standard way, along the policy's nodes. No
    /// compaction or reclaim is modelled.
    fn thp_plan(&mut self, pid: Pid, v: &Vma, lv0: u64) -> Result<ThpPlan> {
        let addr = self.arch.vaddr_of(lv0);
        let place = self.placement_thp(pid, Some(v), addr)?;
        let local = self.task_node(pid)?;
        let mode = self.effective_policy(pid, Some(v)).map(|p| p.mode);
        let standard = mode == Some(MPOL_INTERLEAVE)
            || (mode == Some(MPOL_BIND) && place.order.first() != Some(&local));
        let nodes: Vec<u32> = if standard || v.has(VmFlags::HUGEPAGE) {
            place.order.clone()
        } else {
            place.order.iter().take(1).copied().collect()
        };
        Ok(ThpPlan { nodes, per_block: place.per_page })
    }

    /// The huge zero page (mm_get_huge_zero_folio()), allocated on first use on the faulting
    /// task's node or the next along its zonelist; never freed (the kernel's shrinker frees it
    /// when unused: not modelled). None if no free huge block exists.
    fn huge_zero_page(&mut self, pid: Pid) -> Result<Option<u64>> {
        if self.huge_zero != 0 {
            return Ok(Some(self.huge_zero));
        }
        let local = self.task_node(pid)?;
        let order: Vec<u32> = self.topo.zonelist(local).to_vec();
        let Some(h) = order.into_iter().find_map(|n| self.phys.alloc_folio(n, WMARK_LOW)) else {
            self.vmstat.thp_zero_page_alloc_failed += 1;
            return Ok(None);
        };
        self.phys.folio_mut(h).flags |= pg::RESERVED;
        self.huge_zero = h;
        self.vmstat.thp_zero_page_alloc += 1;
        Ok(Some(h))
    }

    /// The fault of one PMD block (`lv0`) of an area for the base pages [ls, le) of it
    /// (`[lv0, ls, le]`) (__handle_mm_fault()'s PMD level): a new THP if the area is eligible
    /// and the PMD none, else the existing huge PMD. Ok(true): handled at the PMD level;
    /// Ok(false): the base-page path must handle these pages (no THP here, a fallback, or a
    /// PMD just split for a copy on write).
    pub(crate) fn thp_fault_block(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        [lv0, ls, le]: [u64; 3],
        access: Access,
        plan: &mut Option<ThpPlan>,
    ) -> Result<bool> {
        let n = self.thp_nr();
        let mut pmd = self.mm(mm).pt.pmd(lv0);
        if pmd == 0 {
            // create_huge_pmd() only for an eligible area (thp_vma_allowable_order()); the
            // callers also come here for areas that are not, for their existing huge PMDs.
            if !self.mm(mm).pt.pmd_none(lv0)
                || !self.thp_vma_allowed(v)
                || !self.thp_block_suitable(v, lv0)
            {
                return Ok(false);
            }
            // do_huge_pmd_anonymous_page()
            if access == Access::Read {
                // "!(vmf->flags & FAULT_FLAG_WRITE) && !mm_forbids_zeropage(vma->vm_mm) &&
                // transparent_hugepage_use_zero_page()" (use_zero_page defaults to 1)
                let Some(z) = self.huge_zero_page(pid)? else {
                    self.vmstat.thp_fault_fallback += 1;
                    return Ok(false);
                };
                self.vmstat.pgfault += 1;
                self.mm_mut(mm).pt.set_pmd(lv0, pte::mk(z, pte::YOUNG));
                return Ok(true);
            }
            if plan.as_ref().is_none_or(|p| p.per_block) {
                *plan = Some(self.thp_plan(pid, v, lv0)?);
            }
            let nodes = &plan.as_ref().expect("plan just made").nodes;
            let got = nodes.iter().find_map(|&nid| self.phys.alloc_folio(nid, WMARK_LOW));
            let Some(head) = got else {
                self.vmstat.thp_fault_fallback += 1;
                return Ok(false);
            };
            self.vmstat.thp_fault_alloc += 1;
            self.vmstat.pgfault += 1;
            let family = self.mm(mm).family;
            *self.phys.folio_mut(head) = Folio {
                flags: pg::ALLOC | pg::ANON | pg::LRU | pg::ACTIVE,
                mapcount: 1,
                stamp: 0,
                mapping: mapping::pack(mapping::KIND_ANON, family, lv0),
            };
            // "entry = maybe_pmd_mkwrite(pmd_mkdirty(entry), vma)"
            pmd = pte::mk(head, pte::WRITE | pte::DIRTY | pte::YOUNG);
            let m = self.mm_mut(mm);
            m.pt.set_pmd(lv0, pmd);
            m.rss_anon += n;
        } else if pte::pfn(pmd) == self.huge_zero {
            if !access.write() {
                return Ok(true);
            }
            // do_huge_pmd_wp_page(): "if (is_huge_zero_pmd(orig_pmd)) goto fallback;":
            // __split_huge_pmd() maps the 4 KiB zero page at each PTE; the base path COWs,
            // within the same fault (it counts the one pgfault).
            self.split_huge_zero_pmd(mm, lv0);
            return Ok(false);
        }
        let head = pte::pfn(pmd);
        if access.write() && pmd & pte::WRITE == 0 {
            // do_huge_pmd_wp_page(), 6.x: reuse an exclusive folio, else split and let the
            // PTE level copy the one base page (wp_page_copy()) within the same fault (it
            // counts the one pgfault).
            let f = *self.phys.folio(head).expect("a mapped THP");
            if f.mapcount == 1 && !self.pins.contains_key(&head) {
                self.vmstat.pgfault += 1;
                *self.mm_mut(mm).pt.pmd_mut(lv0).expect("huge PMD") |=
                    pte::WRITE | pte::DIRTY | pte::YOUNG;
            } else {
                self.split_folio(head);
                return Ok(false);
            }
        }
        if access == Access::Store {
            self.thp_store(mm, lv0, head, ls, le);
        } else {
            *self.mm_mut(mm).pt.pmd_mut(lv0).expect("huge PMD") |= pte::YOUNG;
        }
        Ok(true)
    }

    /// A store to base pages [ls, le) of THP `head` mapped writable at `lv0` of `mm`: the
    /// whole THP gets a fresh block of stamps, or each written base page one in the overlay.
    fn thp_store(&mut self, mm: MmId, lv0: u64, head: u64, ls: u64, le: u64) {
        let n = self.thp_nr();
        let old = self.thp_digest(lv0, head);
        if ls == lv0 && le == lv0 + n {
            let s = self.new_stamp_block(n);
            self.phys.folio_mut(head).stamp = s;
            self.thp_overlay.remove(&head);
        } else {
            let mut ov = self.thp_overlay.remove(&head).unwrap_or_default();
            for lv in ls..le {
                let s = self.new_stamp();
                let j = u16::try_from(lv - lv0).expect("a base page index of a THP");
                match ov.binary_search_by_key(&j, |&(k, _)| k) {
                    Ok(k) => ov[k].1 = s,
                    Err(k) => ov.insert(k, (j, s)),
                }
            }
            self.thp_overlay.insert(head, ov);
        }
        let new = self.thp_digest(lv0, head);
        self.phys.folio_mut(head).flags |= pg::DIRTY;
        let m = self.mm_mut(mm);
        m.anon_digest = m.anon_digest.wrapping_sub(old).wrapping_add(new);
        *m.pt.pmd_mut(lv0).expect("huge PMD") |= pte::DIRTY | pte::YOUNG;
    }

    /// __split_huge_zero_page_pmd(): the huge zero PMD becomes HPAGE_PMD_NR read-only PTEs of
    /// the 4 KiB zero page.
    fn split_huge_zero_pmd(&mut self, mm: MmId, lv0: u64) {
        let n = self.thp_nr();
        let zero = self.zero_pfn;
        let pt = &mut self.mm_mut(mm).pt;
        pt.clear_pmd(lv0);
        pt.for_each_make(lv0, lv0 + n, |_, ptes| ptes.fill(pte::mk(zero, pte::YOUNG)));
        self.vmstat.thp_split_pmd += 1;
    }

    /// Splits THP `head` into base pages (split_huge_page() -> __split_huge_page()): every
    /// PMD mapping it, in every mm of its family, becomes HPAGE_PMD_NR PTEs with the PMD's
    /// write, dirty and young bits (__split_huge_pmd_locked()); each base page keeps its
    /// content and the folio's flags; they join the LRU next to each other. The kernel splits
    /// only the PMD in most callers and the folio later (deferred split); here both go at
    /// once (docs/hugepages.md).
    pub(crate) fn split_folio(&mut self, head: u64) {
        let n = self.thp_nr();
        let f = *self.phys.folio(head).expect("splitting a live THP");
        let lv0 = mapping::index(f.mapping);
        let stamps: Vec<u32> = (0..n).map(|i| self.thp_read(head, i)).collect();
        let fam = mapping::id(f.mapping) as usize;
        let mms: Vec<MmId> = self.families.get(fam).map(|x| x.mms.clone()).unwrap_or_default();
        let mut mapped = 0u16;
        for mm in mms {
            let pmd = self.mm(mm).pt.pmd(lv0);
            if pmd == 0 || pte::pfn(pmd) != head {
                continue;
            }
            let before = self.thp_digest(lv0, head);
            let after = (0..n)
                .map(|i| digest_term(lv0 + i, stamps[to_usize_u64(i)]))
                .fold(0u64, u64::wrapping_add);
            let bits = pmd & (pte::WRITE | pte::DIRTY | pte::YOUNG);
            let m = self.mm_mut(mm);
            m.anon_digest = m.anon_digest.wrapping_sub(before).wrapping_add(after);
            m.pt.clear_pmd(lv0);
            m.pt.for_each_make(lv0, lv0 + n, |first, ptes| {
                for (k, p) in ptes.iter_mut().enumerate() {
                    *p = pte::mk(head + (first - lv0) + k as u64, bits);
                }
            });
            mapped += 1;
            self.vmstat.thp_split_pmd += 1;
        }
        debug_assert_eq!(mapped, f.mapcount, "every mapping of a THP is found by its family");
        self.thp_overlay.remove(&head);
        self.phys.split_folio_frames(head, &stamps);
        // lru_add_split_folio(): the pieces sit next to each other (an isolated THP's pieces
        // stay isolated and are logged for when they are put back).
        let nid = self.phys.pfn_to_nid(head);
        self.phys.node_mut(nid).expect("node").lru.log_run(head, n);
        self.vmstat.thp_split_page += 1;
    }

    /// Splits every THP mapped by a huge PMD of `mm` that overlaps [start, end): the page work
    /// of an operation that only knows base pages (swap-out, page states, madvise advice
    /// with page work) then sees base pages.
    pub(crate) fn thp_split_range(&mut self, mm: MmId, start: u64, end: u64) {
        if self.phys.nr_folios == 0 || start >= end {
            return;
        }
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        let mut heads = Vec::new();
        self.mm(mm).pt.for_each_pmd(ls, le, |lv0, p| heads.push((lv0, pte::pfn(p))));
        for (lv0, h) in heads {
            if h == self.huge_zero {
                self.split_huge_zero_pmd(mm, lv0);
            } else if self.phys.folio(h).is_some() {
                self.split_folio(h);
            }
        }
    }

    /// vma_adjust_trans_huge() / split_huge_pmd_address(): a VMA boundary at `addr` inside a
    /// huge PMD splits it.
    pub(crate) fn thp_split_at(&mut self, mm: MmId, addr: u64) {
        if self.phys.nr_folios == 0 {
            return;
        }
        let n = self.thp_nr();
        let lv = self.arch.lvpn(addr);
        if lv % n != 0 && self.mm(mm).pt.pmd(lv) != 0 {
            let a = self.arch.vaddr_of(lv / n * n);
            self.thp_split_range(mm, a, a + 1);
        }
    }

    /// zap_huge_pmd() for every huge PMD of `mm` inside [ls, le) (the caller has split those
    /// that stick out): the mapping goes, and the THP with its last one.
    pub(crate) fn zap_huge_range(&mut self, mm: MmId, ls: u64, le: u64) {
        if self.mm(mm).pt.nr_huge() == 0 {
            return;
        }
        let n = self.thp_nr();
        let mut pmds = Vec::new();
        self.mm(mm).pt.for_each_pmd(ls, le, |lv0, _| pmds.push(lv0));
        for lv0 in pmds {
            debug_assert!(lv0 >= ls && lv0 + n <= le, "a huge PMD sticks out of a zapped range");
            let p = self.mm_mut(mm).pt.clear_pmd(lv0);
            let head = pte::pfn(p);
            if head == self.huge_zero {
                continue;
            }
            let d = self.thp_digest(lv0, head);
            let m = self.mm_mut(mm);
            m.anon_digest = m.anon_digest.wrapping_sub(d);
            m.rss_anon -= n;
            let f = self.phys.folio_mut(head);
            f.mapcount -= 1;
            if f.mapcount == 0 && f.flags & pg::ISOLATED == 0 && !self.pins.contains_key(&head) {
                self.thp_overlay.remove(&head);
                self.phys.free_folio(head);
            }
        }
    }

    /// copy_huge_pmd() for fork: the child maps the same THP; a private writable one is
    /// write-protected in both (the huge zero page is shared as it is).
    pub(crate) fn copy_huge_pmds(&mut self, pmm: MmId, cmm: MmId, ls: u64, le: u64, cow: bool) {
        if self.mm(pmm).pt.nr_huge() == 0 {
            return;
        }
        let mut pmds = Vec::new();
        self.mm(pmm).pt.for_each_pmd(ls, le, |lv0, p| pmds.push((lv0, p)));
        let n = self.thp_nr();
        for (lv0, mut p) in pmds {
            let head = pte::pfn(p);
            if head != self.huge_zero {
                self.phys.folio_mut(head).mapcount += 1;
                self.mm_mut(cmm).rss_anon += n;
                if cow && p & pte::WRITE != 0 {
                    p &= !pte::WRITE;
                    *self.mm_mut(pmm).pt.pmd_mut(lv0).expect("huge PMD") = p;
                }
            }
            self.mm_mut(cmm).pt.set_pmd(lv0, p & !pte::YOUNG);
        }
    }

    /// change_huge_pmd() for mprotect: the write bit of each huge PMD in [ls, le).
    pub(crate) fn protect_huge_range(&mut self, mm: MmId, ls: u64, le: u64, write: bool) {
        if self.mm(mm).pt.nr_huge() == 0 {
            return;
        }
        let mut pmds = Vec::new();
        self.mm(mm).pt.for_each_pmd(ls, le, |lv0, _| pmds.push(lv0));
        let zero = self.huge_zero;
        for lv0 in pmds {
            let p = self.mm_mut(mm).pt.pmd_mut(lv0).expect("huge PMD");
            if pte::pfn(*p) == zero {
                continue;
            }
            if write {
                *p |= pte::WRITE;
            } else {
                *p &= !pte::WRITE;
            }
        }
    }
}

#[inline]
fn to_usize_u64(i: u64) -> usize {
    crate::host::to_usize(i)
}
