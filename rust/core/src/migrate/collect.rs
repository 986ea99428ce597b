//! Page collection: check_range() over the VMAs, check_pte_range() over the leaf page tables,
//! migrate_page_add() (the shared-page rule) and isolate_lru_page(), per semantics.
//!
//! The walk is resumable: the 2.6.16 and modern engines pull pages from it as their batches
//! need them, so the isolated list never holds more than a batch plus the pages still retrying
//! (memory stays bounded at 128 M pages). Processing a page never changes what the walk finds
//! later: a page is mapped once per mm unless it is a file page mapped twice, and such a page
//! is either still isolated (skipped, as the kernel skips it), or unmapped (2.6.16), or now on
//! the destination node (modern) when the walk reaches its second mapping.

use super::page::PageList;
use super::report::Reason;
use super::Ctx;
use crate::host::to_usize;
use crate::machine::mm::VmFlags;
use crate::machine::{Machine, MmId};
use crate::nodemask::NodeMask;
use crate::pagetable::pte;
use crate::phys::{mapping, pg, SECTION_SHIFT};
use crate::semantics::Semantics;

/// hugepage_migration_supported() for the default hstate (modern): x86_64 selects
/// ARCH_ENABLE_HUGEPAGE_MIGRATION (2 MiB and 1 GiB pages); i386 does not, and ia64 never had
/// it. V5 and 2.6.16 never move hugetlb pages.
pub fn hugetlb_migratable(m: &Machine) -> bool {
    m.semantics == Semantics::Modern && m.arch.name == "x86_64"
}

/// vma_migratable() of each generation, for VMAs that are not hugetlb (see
/// [`hugetlb_migratable`] for those).
pub fn vma_migratable(sem: Semantics, vm_flags: u32) -> bool {
    let bad = match sem {
        // mirrors vma_migratable(), V5 posting (2.6.14-rc5-mm1)
        Semantics::V5 => {
            VmFlags::LOCKED | VmFlags::IO | VmFlags::RESERVED | VmFlags::DENYWRITE | VmFlags::SHM
        }
        // mirrors vma_migratable(), 2.6.16-mm1 .. 2.6.20 (the closest text to 2.6.16 final)
        Semantics::Linux2616 => {
            VmFlags::LOCKED | VmFlags::IO | VmFlags::HUGETLB | VmFlags::PFNMAP | VmFlags::RESERVED
        }
        // mirrors vma_migratable(), 6.x: VM_IO | VM_PFNMAP; hugetlb VMAs are decided by
        // hugetlb_migratable() (hugepage_migration_supported()) before this is asked.
        Semantics::Modern => VmFlags::IO | VmFlags::PFNMAP | VmFlags::HUGETLB,
    };
    vm_flags & (bad | VmFlags::HUGETLB) == 0
}

#[derive(Clone, Copy, Debug)]
struct WalkVma {
    ls: u64,
    le: u64,
    /// V5 migrate_page_add(): file pages of this VMA's file may move (the file has a VM_SHARED
    /// mapping in some mm, or every mapping of it belongs to this mm).
    file_ok: bool,
    /// A hugetlb VMA (walked by queue_folios_hugetlb(), modern only).
    hugetlb: bool,
}

/// How pages are selected by node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Select {
    /// Pages on a node of the mask (2.6.16 {source}, modern {source}, V5 old \ new).
    In,
    /// MPOL_MF_INVERT: pages on a node outside the mask (mbind).
    NotIn,
}

/// A resumable check_range() walk of one mm.
pub(crate) struct Walk {
    mm: MmId,
    vmas: Vec<WalkVma>,
    vi: usize,
    cur: u64,
    /// Per memory section: its frames are on a selected node.
    sel: Vec<bool>,
    pub done: bool,
    buf: Vec<u64>,
    sem: Semantics,
    move_all: bool,
    /// After an abort: count what would be isolated and put back, touch nothing.
    pub count_only: bool,
}

impl Walk {
    /// check_range(mm, start, end, nodes, flags | MPOL_MF_DISCONTIG_OK): the VMAs overlapping
    /// [start, end) that are walked; the others (hugetlb, or rejected by vma_migratable() when
    /// MPOL_MF_STRICT is not set) are counted as skipped.
    pub(crate) fn new(
        m: &Machine,
        ctx: &mut Ctx,
        start: u64,
        end: u64,
        nodes: &NodeMask,
        select: Select,
        strict: bool,
    ) -> Walk {
        let mm = ctx.mm;
        let sem = m.semantics;
        let mut vmas = Vec::new();
        for v in m.mm(mm).vmas.range(..end).map(|(_, v)| v).filter(|v| v.end > start) {
            // mirrors check_range(): walk if !hugetlb && (STRICT || (MOVE && vma_migratable));
            // 6.x queue_pages_test_walk() walks hugetlb VMAs too, whose vma_migratable() asks
            // hugepage_migration_supported().
            let hugetlb = v.has(VmFlags::HUGETLB);
            let walk = if hugetlb {
                hugetlb_migratable(m)
                    && (strict || vma_migratable(sem, v.flags & !VmFlags::HUGETLB))
            } else {
                strict || vma_migratable(sem, v.flags)
            };
            if !walk {
                ctx.rep.skipped.add(Reason::NonMigratableVma, 1);
                continue;
            }
            if v.flags & (VmFlags::LOCKED | VmFlags::RESERVED) != 0 {
                // Walked only under MPOL_MF_STRICT: try_to_unmap() must see these flags.
                ctx.rmap_flags = true;
            }
            let file_ok = match v.file {
                Some(f) if sem == Semantics::V5 => {
                    // mirrors migrate_page_add(), V5 (2.6.14-rc5-mm1): a file page moves if
                    // mapping_writably_mapped(page->mapping) || single_mm_mapping(mm, mapping).
                    // mapping_writably_mapped() is i_mmap_writable != 0, which
                    // __vma_link_file() (and fork's dup_mmap()) count for every VM_SHARED VMA
                    // of the file in any mm, whatever its protection now: a PROT_READ
                    // MAP_SHARED mapping counts. do_mmap_pgoff() gives VM_SHARED only when the
                    // file was opened for writing; numasim has no open modes (every file is
                    // opened read-write), so every MAP_SHARED mapping is VM_SHARED.
                    let fm = m.file(f);
                    let writably_mapped = fm.mappers.iter().any(|&(xm, s)| {
                        m.mm(xm).vmas.get(&s).is_some_and(|x| x.has(VmFlags::SHARED))
                    });
                    // single_mm_mapping(): every VMA of the file (the whole i_mmap tree, not
                    // only this range) belongs to this mm.
                    writably_mapped || fm.mappers.iter().all(|&(xm, _)| xm == mm)
                }
                _ => true,
            };
            let s = start.max(v.start);
            let e = end.min(v.end);
            vmas.push(WalkVma { ls: m.arch.lvpn(s), le: m.arch.lvpn(e - 1) + 1, file_ok, hugetlb });
        }
        let mut nsect = 0usize;
        for n in &m.phys.nodes {
            nsect = nsect.max(to_usize(n.end_pfn().div_ceil(1 << SECTION_SHIFT)));
        }
        let mut sel = vec![false; nsect];
        for n in &m.phys.nodes {
            let on = n.nid < nodes.nbits() && nodes.test(n.nid);
            if on == (select == Select::In) && n.pages > 0 {
                let a = to_usize(n.start_pfn >> SECTION_SHIFT);
                let b = to_usize(n.end_pfn().div_ceil(1 << SECTION_SHIFT));
                sel[a..b].iter_mut().for_each(|x| *x = true);
            }
        }
        let first = vmas.first().map_or(0, |v| v.ls);
        Walk {
            mm,
            done: vmas.is_empty(),
            vmas,
            vi: 0,
            cur: first,
            sel,
            buf: Vec::with_capacity(1024),
            sem,
            move_all: ctx.move_all,
            count_only: false,
        }
    }

    /// A walk that finds nothing (the list is built by the caller: move_pages()).
    pub(crate) fn empty(m: &Machine, ctx: &Ctx) -> Walk {
        Walk {
            mm: ctx.mm,
            vmas: Vec::new(),
            vi: 0,
            cur: 0,
            sel: Vec::new(),
            done: true,
            buf: Vec::new(),
            sem: m.semantics,
            move_all: ctx.move_all,
            count_only: false,
        }
    }

    /// Walks on until the list holds at least `min_total` entries (counting its dead prefix:
    /// `list.v.len()`) or the walk is done.
    pub(crate) fn fill(
        &mut self,
        m: &mut Machine,
        ctx: &mut Ctx,
        list: &mut PageList,
        min_total: usize,
    ) {
        while !self.done && list.v.len() < min_total {
            self.step_or_stop(m, ctx, list);
        }
    }

    /// Finishes the walk (count-only after an abort, or collecting the rest).
    pub(crate) fn finish(&mut self, m: &mut Machine, ctx: &mut Ctx, list: &mut PageList) {
        while !self.done {
            self.step_or_stop(m, ctx, list);
        }
    }

    /// One step, or the end of the walk on Ctrl-C: what is collected so far stays on the list
    /// for the engine to put back, the rest of the range is not touched.
    fn step_or_stop(&mut self, m: &mut Machine, ctx: &mut Ctx, list: &mut PageList) {
        if crate::interrupt::pending() {
            ctx.interrupted = true;
            self.done = true;
            return;
        }
        self.step(m, ctx, list);
    }

    /// One leaf-table piece.
    fn step(&mut self, m: &mut Machine, ctx: &mut Ctx, list: &mut PageList) {
        let Some(&v) = self.vmas.get(self.vi) else {
            self.done = true;
            return;
        };
        if self.cur < v.ls {
            self.cur = v.ls;
        }
        if v.hugetlb {
            self.hugetlb_step(m, ctx, list, v);
            return;
        }
        if m.mm(self.mm).pt.nr_huge() != 0 && self.cur < v.le && self.huge_step(m, ctx, list, v.le)
        {
            return;
        }
        let Some((first, stop)) = self.next_piece(m, v.le) else { return };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let sel = std::mem::take(&mut self.sel);
        // mirrors check_pte_range(): walk the leaf table directly. The cheap filter (present,
        // with a struct page, on a selected node) runs on the table in place and keeps only
        // the candidates; the per-page rules then run on those with the machine at hand.
        let mut scanned = 0u64;
        m.mm(self.mm).pt.for_each(first, stop, |_, s| {
            for &p in s {
                if p & (pte::PRESENT | pte::SPECIAL) != pte::PRESENT {
                    continue;
                }
                scanned += 1;
                let pfn = pte::pfn(p);
                if sel.get(to_usize(pfn >> SECTION_SHIFT)).copied().unwrap_or(false) {
                    buf.push(pfn);
                }
            }
        });
        for &pfn in &buf {
            self.candidate(m, ctx, list, pfn, v.file_ok);
        }
        ctx.rep.scanned += scanned;
        ctx.pair.scanned += scanned;
        self.buf = buf;
        self.sel = sel;
    }

    /// queue_folios_pmd() (6.x mm/mempolicy.c) for the huge PMDs before the next leaf table
    /// (at most THP_STEP of them, so the list stays bounded): a THP on a selected node is
    /// isolated whole, as one list entry; the huge zero page is skipped. Returns true if it
    /// handled some (the step is over).
    fn huge_step(&mut self, m: &mut Machine, ctx: &mut Ctx, list: &mut PageList, le: u64) -> bool {
        const THP_STEP: u64 = 64;
        let n = m.thp_nr();
        let pt = &m.mm(self.mm).pt;
        // The next leaf table is looked for within a window of THP_STEP PMDs only: a search
        // to the end of a VMA of huge PMDs at every step would be quadratic.
        let lim = le.min((self.cur / n + THP_STEP) * n);
        let upto = pt.next_piece(self.cur, lim).map_or(lim, |(first, _)| first);
        if upto <= self.cur {
            return false;
        }
        let mut pmds = Vec::new();
        let stop = pt.pmds_until(self.cur, upto, |_, p| {
            pmds.push(pte::pfn(p));
            (pmds.len() as u64) < THP_STEP
        });
        self.cur = stop.max(self.cur + 1).min(upto);
        for head in pmds {
            if head == m.huge_zero {
                ctx.rep.scanned += n;
                ctx.pair.scanned += n;
                continue;
            }
            let f = *m.phys.folio(head).expect("a huge PMD maps a live THP");
            // migrate_folio_add(): "if ((flags & MPOL_MF_MOVE_ALL) ||
            // !folio_likely_mapped_shared(folio))": a THP mapped by more than one PMD is shared;
            // folio_isolate_lru() takes it off the LRU.
            let lru = f.flags & pg::LRU != 0;
            if self.take_whole(ctx, head, n, u64::from(f.mapcount), lru) {
                m.phys.folio_mut(head).flags = (f.flags & !pg::LRU) | pg::ISOLATED;
                list.push(head | super::page::THP_ENTRY);
            }
        }
        true
    }

    /// The bookkeeping both kinds of huge page share on the walk (queue_folios_pmd(),
    /// queue_folios_hugetlb()), for one page of `n` base pages at `head`: scanned; selected if
    /// on a selected node; skipped as shared when mapped more than once without
    /// MPOL_MF_MOVE_ALL; not isolated (`not_lru`) unless `isolatable`; else isolated. True if
    /// the caller isolates it now (not when only counting).
    fn take_whole(
        &self,
        ctx: &mut Ctx,
        head: u64,
        n: u64,
        mapcount: u64,
        isolatable: bool,
    ) -> bool {
        ctx.rep.scanned += n;
        ctx.pair.scanned += n;
        if !self.sel.get(to_usize(head >> SECTION_SHIFT)).copied().unwrap_or(false) {
            return false;
        }
        ctx.rep.selected += n;
        if !self.move_all && mapcount > 1 {
            ctx.rep.skipped.add(Reason::Shared, n);
            return false;
        }
        if !isolatable {
            ctx.rep.skipped.add(Reason::NotLru, n);
            return false;
        }
        ctx.rep.isolated += n;
        ctx.pair.isolated += n;
        if self.count_only {
            ctx.rep.put_back += n;
            return false;
        }
        true
    }

    /// The next run of PTEs of one leaf table in [cur, le), the walk moving past it; None when
    /// the VMA has no more (the walk moves to the next VMA, or ends).
    fn next_piece(&mut self, m: &Machine, le: u64) -> Option<(u64, u64)> {
        let piece = if self.cur < le { m.mm(self.mm).pt.next_piece(self.cur, le) } else { None };
        let Some((first, stop)) = piece else {
            self.vi += 1;
            if self.vi >= self.vmas.len() {
                self.done = true;
            }
            return None;
        };
        self.cur = stop;
        Some((first, stop))
    }

    /// queue_folios_hugetlb() (6.x mm/mempolicy.c) for the hugetlb pages of the next leaf
    /// table: a page on a selected node is isolated whole (isolate_hugetlb()) as one list
    /// entry, unless it is shared ("(flags & MPOL_MF_MOVE_ALL) ||
    /// (!folio_likely_mapped_shared(folio) && !hugetlb_pmd_shared(pte))": mapped by more than
    /// one mm; no PMD sharing is modelled) and MPOL_MF_MOVE_ALL is not set (skipped, not a
    /// failure). A page already isolated counts as not isolated (qp->nr_failed++).
    fn hugetlb_step(&mut self, m: &mut Machine, ctx: &mut Ctx, list: &mut PageList, v: WalkVma) {
        let Some((first, stop)) = self.next_piece(m, v.le) else { return };
        let nr = m.hugetlb_nr();
        let mut heads = Vec::new();
        m.mm(self.mm).pt.for_each(first, stop, |lv, s| {
            for (i, &p) in s.iter().enumerate() {
                // One huge PTE per hugetlb page: the simulator's first base PTE stands for it.
                if (lv + i as u64) % nr == 0 && pte::is_present(p) {
                    heads.push(pte::pfn(p));
                }
            }
        });
        for head in heads {
            let f = m.phys.flags(head);
            let mapcount = u64::from(m.phys.mapcount(head));
            if self.take_whole(ctx, head, nr, mapcount, f & pg::ISOLATED == 0) {
                *m.phys.flags_mut(head) = f | pg::ISOLATED;
                list.push(head | super::page::HUGETLB_ENTRY);
            }
        }
    }

    /// check_pte_range() for a page on a selected node, then migrate_page_add() and
    /// isolate_lru_page().
    #[inline]
    fn candidate(
        &mut self,
        m: &mut Machine,
        ctx: &mut Ctx,
        list: &mut PageList,
        pfn: u64,
        file_ok: bool,
    ) {
        ctx.rep.selected += 1;
        let f = m.phys.flags(pfn);
        let v5 = self.sem == Semantics::V5;
        if pfn == m.zero_pfn || f & pg::RESERVED != 0 {
            // 2.6.16/modern skip PageReserved (the zero page); V5 has no such filter, but the
            // zero page is never on the LRU: isolate_lru_page() fails (and WARNs).
            ctx.rep.skipped.add(if v5 { Reason::NotLru } else { Reason::Reserved }, 1);
            return;
        }
        // mirrors migrate_page_add(): the shared-page rule
        let ok = self.move_all
            || if v5 {
                f & pg::ANON != 0 || m.phys.mapping(pfn) == mapping::NONE || file_ok
            } else {
                m.phys.mapcount(pfn) == 1
            };
        if !ok {
            ctx.rep.skipped.add(Reason::Shared, 1);
            return;
        }
        // mirrors isolate_lru_page()
        let mut f = f;
        if f & pg::LRU == 0 {
            if v5 && !self.count_only {
                // V5: "Maybe this page is still waiting for a cpu to drain it": drain every
                // CPU and retry if it is on the LRU now.
                m.drain_all_charged();
                f = m.phys.flags(pfn);
            }
            if f & pg::LRU == 0 {
                ctx.rep.skipped.add(Reason::NotLru, 1);
                return;
            }
        }
        ctx.rep.isolated += 1;
        ctx.pair.isolated += 1;
        if self.count_only {
            // Isolated and put straight back by the kernel after the abort.
            ctx.rep.put_back += 1;
            return;
        }
        *m.phys.flags_mut(pfn) = (f & !pg::LRU) | pg::ISOLATED;
        list.push(pfn);
    }
}
