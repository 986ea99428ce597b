//! `Machine::check()`: every invariant of the "nothing lost" promise, verified from scratch.
//!
//! check() runs one function per area, in the order of [`area::ALL`]: the structures first (the
//! allocator, tasks, VMAs, page tables, the reverse map, the counts and caches), content last,
//! so that an error names the cause of a problem rather than its symptom: a page-cache slot
//! that lost its page is a "page_cache" error, not a content mismatch. Every failure is
//! `Error::invariant(area, detail)`; docs/invariants.md describes each area and the kernel
//! structure it mirrors.
//!
//! Content: each mm keeps a running digest of its anonymous content (sum of
//! `digest_term(index, stamp)` over its pages, updated on every store, copy and unmap) and each
//! file one of its content. check() recomputes both from the page tables, the page cache, the
//! frames, the swap cache and the swap slots (those of shmem objects too): a page lost or altered by a fault, COW, swap or migration shows up
//! as a mismatch.
//!
//! Cost: one walk of every page table (leaf by leaf, the VMA of each PTE known without a
//! lookup) and a few sequential passes over the frame metadata. What the walk counts per frame
//! and per swap slot goes into arrays laid out like the frame sections, so no PTE is hashed.
//! The long loops call [`crate::interrupt::check`] between leaf tables, sections and files, so
//! a check of a large machine stops on Ctrl-C (it changes nothing, so stopping is always safe).

use std::ops::Range;

use super::{Machine, Mm, MmId};
use crate::error::{Error, Result};
use crate::host::to_usize;
use crate::interrupt;
use crate::machine::fault::{digest_term, PTE_HUGE};
use crate::machine::mm::{VmFlags, Vma, DEVICE_PFN_BASE};
use crate::pagetable::{pte, PageTable};
use crate::phys::{mapping, pg, Section, SECTION_PAGES, SECTION_SHIFT};
use crate::swap::SwpEntry;

/// The areas check() verifies, in the order it verifies them. An `ErrorKind::Invariant` names
/// one of them; docs/invariants.md says what each covers.
pub mod area {
    /// The free-page allocator: free extents against frame flags, free counts
    /// (the buddy allocator's free_area lists and zone->free_pages).
    pub const FREE_LISTS: &str = "free_lists";
    /// Tasks against address spaces: each task's mm exists, mm_users counts its tasks.
    pub const TASKS: &str = "tasks";
    /// Each mm's VMAs (mm->mmap): ordered, page-aligned, disjoint, in user space.
    pub const VMAS: &str = "vmas";
    /// Every PTE: inside a VMA, naming an allocated frame, the zero page, a device pfn or a swap
    /// slot in use; the rss counters (MM_ANONPAGES, MM_FILEPAGES, MM_SWAPENTS) agree.
    pub const PAGE_TABLES: &str = "page_tables";
    /// The reverse map: anon_vma families, the i_mmap lists of files, and each mapped page's
    /// page->mapping + index leading back to every PTE that maps it.
    pub const RMAP: &str = "rmap";
    /// page->_mapcount of every frame against the PTEs that map it.
    pub const MAPCOUNT: &str = "mapcount";
    /// Each file's page cache (the address_space radix tree) against PG_pagecache frames.
    pub const PAGE_CACHE: &str = "page_cache";
    /// Swap slot counts (swap_map) against swap PTEs and the swap cache; swap cache against
    /// PG_swapcache frames.
    pub const SWAP: &str = "swap";
    /// The per-CPU LRU pagevecs (lru_add_pvecs) against PG_pagevec frames.
    pub const PAGEVECS: &str = "pagevecs";
    /// struct page on its own: free frames clean (free_pages_check), no allocated frame that
    /// nothing holds, the writeback, lock and pin tables against the frames.
    pub const FRAMES: &str = "frames";
    /// Transparent huge pages: each THP's entire mapcount against the huge PMDs mapping it,
    /// none leaked or left isolated, the overlay of written base pages well formed, the huge
    /// zero page read-only.
    pub const THP: &str = "thp";
    /// The hugetlb pool: per node, the free lists hold aligned, clean, unmapped hugetlb pages
    /// of that node, once each; nr_huge_pages_node counts the free and the mapped pages there;
    /// surplus_huge_pages_node is at most that; no hugetlb frame is unmapped outside a free
    /// list (leaked).
    pub const HUGETLB: &str = "hugetlb";
    /// What every task reads: per-mm anonymous digests and per-file digests.
    pub const CONTENT: &str = "content";

    /// Every area, in check() order.
    pub const ALL: [&str; 13] = [
        FREE_LISTS,
        TASKS,
        VMAS,
        PAGE_TABLES,
        RMAP,
        MAPCOUNT,
        PAGE_CACHE,
        SWAP,
        PAGEVECS,
        FRAMES,
        THP,
        HUGETLB,
        CONTENT,
    ];
}

fn bad<T>(area: &'static str, detail: String) -> Result<T> {
    Err(Error::invariant(area, detail))
}

const CHUNK_MASK: u64 = SECTION_PAGES - 1;

/// Counters indexed by pfn (or swap offset), one array per chunk of `SECTION_PAGES` made on
/// first use: the page-table walk counts without hashing, and memory is spent only where
/// something is mapped.
struct SparseCounts {
    chunks: Vec<Option<Box<[u32]>>>,
}

impl SparseCounts {
    fn new(len: u64) -> SparseCounts {
        let n = to_usize(len.div_ceil(SECTION_PAGES));
        SparseCounts { chunks: std::iter::repeat_with(|| None).take(n).collect() }
    }

    /// One more for `i`; the caller guarantees `i` < len.
    #[inline]
    fn add(&mut self, i: u64) {
        let c = self.chunks[to_usize(i >> SECTION_SHIFT)]
            .get_or_insert_with(|| vec![0; to_usize(SECTION_PAGES)].into_boxed_slice());
        let o = (i & CHUNK_MASK) as usize;
        c[o] = c[o].saturating_add(1);
    }

    /// The counts of chunk `k` (None: all zero).
    #[inline]
    fn chunk(&self, k: usize) -> Option<&[u32]> {
        self.chunks.get(k).and_then(|c| c.as_deref())
    }
}

/// What the page-table walk gathers for the areas checked after it.
struct Census {
    /// PTEs mapping each frame ("mapcount").
    maps: SparseCounts,
    /// Swap PTEs naming each slot, per swap device ("swap").
    swap_refs: Vec<SparseCounts>,
    /// The anonymous-content digest recomputed per mm, indexed by mm id ("content").
    digests: Vec<u64>,
    /// The first PTE whose page's reverse map does not lead back to it ("rmap"). The walk
    /// notes it and goes on, so that one pass serves every area.
    rmap_bad: Option<String>,
    /// Huge PMDs mapping each THP, indexed by head pfn >> HPAGE_PMD_ORDER ("thp").
    thp_maps: SparseCounts,
}

/// Calls `f(first_lvpn, ptes)` for each existing leaf piece of `pt` within [start, end),
/// checking for an interrupt between leaves.
fn each_leaf(
    pt: &PageTable,
    start: u64,
    end: u64,
    mut f: impl FnMut(u64, &[u64]) -> Result<()>,
) -> Result<()> {
    let n = pt.leaf_len();
    let mut v = start;
    while let Some((first, stop)) = pt.next_piece(v, end) {
        interrupt::check()?;
        let l = pt.find_leaf(first).expect("next_piece yields existing leaves");
        let a = to_usize(first & (n - 1));
        f(first, &pt.leaves[l][a..a + to_usize(stop - first)])?;
        v = stop;
    }
    Ok(())
}

impl Machine {
    /// Verifies every invariant, area by area in the order of [`area::ALL`]; the error names
    /// the area and the first thing found broken in it. Interruptible (see
    /// [`crate::interrupt`]).
    pub fn check(&self) -> Result<()> {
        self.phys.check()?;
        self.check_tasks()?;
        self.check_vmas()?;
        let census = self.check_page_tables()?;
        self.check_rmap(&census)?;
        self.check_mapcount(&census)?;
        self.check_page_cache()?;
        self.check_swap(&census)?;
        self.check_pagevecs()?;
        self.check_frames()?;
        self.check_thp(&census)?;
        self.check_hugetlb()?;
        self.check_content(&census)
    }

    /// "mm 3 (pids 120, 121)": an mm as a user knows it, for error details.
    fn who(&self, mm: MmId) -> String {
        let pids: Vec<String> =
            self.tasks.values().filter(|t| t.mm == Some(mm)).map(|t| t.pid.to_string()).collect();
        match pids.len() {
            0 => format!("mm {mm} (no task)"),
            1 => format!("mm {mm} (pid {})", pids[0]),
            _ => format!("mm {mm} (pids {})", pids.join(", ")),
        }
    }

    /// The metadata section and offset of `pfn`, if it is RAM whose section has metadata (a
    /// pfn read from a corrupted structure may be neither).
    #[inline]
    fn frame(&self, pfn: u64) -> Option<(&Section, usize)> {
        if !self.phys.pfn_valid(pfn) {
            return None;
        }
        self.phys.sec_opt(pfn).map(|s| (s, (pfn & CHUNK_MASK) as usize))
    }

    /// Flags of `pfn` if it is an allocated frame.
    #[inline]
    fn alloc_flags(&self, pfn: u64) -> Option<u16> {
        self.frame(pfn).map(|(s, o)| s.flags[o]).filter(|f| f & pg::ALLOC != 0)
    }

    /// Calls `f(section_base_pfn, section, offsets)` for the frames of every node, one section
    /// at a time (sections never allocated from hold only free frames and are skipped),
    /// checking for an interrupt between sections.
    fn each_section(
        &self,
        mut f: impl FnMut(u64, &Section, Range<usize>) -> Result<()>,
    ) -> Result<()> {
        for n in &self.phys.nodes {
            let mut p = n.start_pfn;
            while p < n.end_pfn() {
                let base = p & !CHUNK_MASK;
                let stop = (base + SECTION_PAGES).min(n.end_pfn());
                if let Some(sec) = self.phys.sec_opt(p) {
                    interrupt::check()?;
                    f(base, sec, to_usize(p - base)..to_usize(stop - base))?;
                }
                p = stop;
            }
        }
        Ok(())
    }

    // ----- hugetlb ----------------------------------------------------------------------------

    /// The hugetlb pool against the frames (see [`area::HUGETLB`]).
    fn check_hugetlb(&self) -> Result<()> {
        let nr = self.hugetlb_nr();
        let mut free_heads = rustc_hash::FxHashSet::default();
        // surplus_huge_pages <= nr_huge_pages over the machine; a node's surplus may exceed
        // its pages (set_max_huge_pages() frees pool pages without their surplus accounting).
        if self.hugetlb.surplus() > self.hugetlb.total() {
            return bad(
                area::HUGETLB,
                format!(
                    "{} surplus hugetlb pages but only {} in the pool",
                    self.hugetlb.surplus(),
                    self.hugetlb.total()
                ),
            );
        }
        for (nid, n) in self.hugetlb.nodes.iter().enumerate() {
            for &head in &n.free {
                if head % nr != 0 || self.phys.pfn_to_nid(head) as usize != nid {
                    return bad(
                        area::HUGETLB,
                        format!(
                            "node {nid}'s free list holds pfn {head:#x}, which is not the head of \
                             a huge page of that node"
                        ),
                    );
                }
                if !free_heads.insert(head) {
                    return bad(
                        area::HUGETLB,
                        format!("huge page {head:#x} is on the free lists twice"),
                    );
                }
                for p in head..head + nr {
                    let clean = self.frame(p).is_some_and(|(s, o)| {
                        s.flags[o] == pg::ALLOC | pg::HUGE
                            && s.mapcount[o] == 0
                            && s.mapping[o] == 0
                            && s.stamp[o] == 0
                    });
                    if !clean || self.pins.contains_key(&p) {
                        return bad(
                            area::HUGETLB,
                            format!(
                                "free huge page {head:#x} on node {nid}: frame {p:#x} is not a \
                                 clean, unmapped hugetlb frame"
                            ),
                        );
                    }
                }
            }
        }
        let mut in_use = vec![0u64; self.hugetlb.nodes.len()];
        self.each_section(|base, sec, offs| {
            for o in offs {
                let pfn = base + o as u64;
                let f = sec.flags[o];
                if f & pg::ALLOC == 0 || f & pg::HUGE == 0 {
                    continue;
                }
                let head = pfn / nr * nr;
                if free_heads.contains(&head) {
                    continue;
                }
                if sec.mapcount[o] == 0 {
                    return bad(
                        area::HUGETLB,
                        format!(
                            "hugetlb frame {pfn:#x} is neither mapped nor in a free huge page \
                             (leaked)"
                        ),
                    );
                }
                if pfn == head {
                    in_use[self.phys.pfn_to_nid(pfn) as usize] += 1;
                }
            }
            Ok(())
        })?;
        for (nid, n) in self.hugetlb.nodes.iter().enumerate() {
            let want = in_use[nid] + n.free.len() as u64;
            if n.total != want {
                return bad(
                    area::HUGETLB,
                    format!(
                        "node {nid}: nr_huge_pages_node is {} but the node has {} hugetlb pages \
                         in use and {} free",
                        n.total,
                        in_use[nid],
                        n.free.len()
                    ),
                );
            }
        }
        Ok(())
    }

    // ----- tasks ------------------------------------------------------------------------------

    /// Every task's mm exists; each mm's mm_users is the number of tasks using it, and an mm
    /// nobody uses has been torn down (mmput() -> exit_mmap()).
    fn check_tasks(&self) -> Result<()> {
        let mut users = vec![0u32; self.mms.len()];
        for (&pid, t) in &self.tasks {
            if t.pid != pid {
                return bad(area::TASKS, format!("task {pid} is filed as pid {}", t.pid));
            }
            if let Some(mm) = t.mm {
                match self.mms.get(mm as usize) {
                    Some(Some(_)) => users[mm as usize] += 1,
                    _ => {
                        return bad(
                            area::TASKS,
                            format!("pid {pid} uses mm {mm}, which does not exist"),
                        )
                    }
                }
            }
        }
        for (i, m) in self.mms.iter().enumerate() {
            let Some(m) = m else { continue };
            if m.id as usize != i {
                return bad(area::TASKS, format!("mm slot {i} holds mm {}", m.id));
            }
            if m.users != users[i] {
                return bad(
                    area::TASKS,
                    format!(
                        "{}: mm_users {} but {} tasks use it",
                        self.who(m.id),
                        m.users,
                        users[i]
                    ),
                );
            }
            if m.users == 0 {
                return bad(
                    area::TASKS,
                    format!("mm {i}: no task uses it, yet it was not torn down (exit_mmap)"),
                );
            }
        }
        Ok(())
    }

    // ----- vmas -------------------------------------------------------------------------------

    /// Each mm's VMAs are keyed by their start, non-empty, page-aligned, disjoint, inside user
    /// space, and name live files: what find_vma() and the page-table walk rely on.
    fn check_vmas(&self) -> Result<()> {
        let ps = self.arch.page_size();
        for m in self.mms.iter().flatten() {
            interrupt::check()?;
            // The gap index mmap searches (rb_subtree_gap / the maple tree's gaps) agrees with
            // the VMAs, or the next mmap could overlap one.
            if let Err(e) = m.vmas.check_index() {
                return bad(area::VMAS, format!("{}: gap index: {e}", self.who(m.id)));
            }
            let mut prev_end = 0;
            for (&key, v) in m.vmas.iter() {
                let what = || format!("{}: VMA {:#x}-{:#x}", self.who(m.id), v.start, v.end);
                if key != v.start {
                    return bad(area::VMAS, format!("{} is filed under {key:#x}", what()));
                }
                if v.start >= v.end || v.start % ps != 0 || v.end % ps != 0 {
                    return bad(area::VMAS, format!("{} is empty or not page-aligned", what()));
                }
                if v.start < prev_end {
                    return bad(
                        area::VMAS,
                        format!("{} overlaps the VMA before it (ending {prev_end:#x})", what()),
                    );
                }
                if !self.arch.range_is_user(v.start, v.end - v.start) {
                    return bad(area::VMAS, format!("{} is not inside user space", what()));
                }
                if let Some(f) = v.file {
                    if self.files.get(f as usize).is_none_or(Option::is_none) {
                        return bad(
                            area::VMAS,
                            format!("{} maps file {f}, which does not exist", what()),
                        );
                    }
                }
                prev_end = v.end;
            }
        }
        Ok(())
    }

    // ----- page tables ------------------------------------------------------------------------

    /// Walks every page table once. Each PTE lies in a VMA and is either present (an allocated
    /// frame, the read-only zero page in an anonymous area, a device pfn in a VM_PFNMAP area,
    /// huge exactly in VM_HUGETLB areas) or a swap entry naming a slot in use in a private area;
    /// the rss counters match what the tables hold. Returns what the later areas need.
    fn check_page_tables(&self) -> Result<Census> {
        let mut c = Census {
            maps: SparseCounts::new(self.phys.max_pfn()),
            swap_refs: self.swap.devices.iter().map(|d| SparseCounts::new(d.pages)).collect(),
            digests: vec![0; self.mms.len()],
            rmap_bad: None,
            thp_maps: SparseCounts::new(self.phys.max_pfn() >> self.phys.thp_order),
        };
        let lv_end = 1u64 << self.arch.lvpn_bits();
        for m in self.mms.iter().flatten() {
            let mut t = MmTally::default();
            let mut gap_start = 0;
            for v in m.vmas.values() {
                let (ls, le) = (self.arch.lvpn(v.start), self.arch.lvpn(v.end - 1) + 1);
                self.no_ptes_in_gap(m, gap_start, ls)?;
                each_leaf(&m.pt, ls, le, |first, ptes| {
                    for (i, &p) in ptes.iter().enumerate() {
                        if p != 0 {
                            self.census_pte(m, v, first + i as u64, p, &mut t, &mut c)?;
                        }
                    }
                    Ok(())
                })?;
                gap_start = le;
            }
            self.no_ptes_in_gap(m, gap_start, lv_end)?;
            self.census_huge_pmds(m, &mut t, &mut c)?;
            if (t.rss_anon, t.rss_file, t.swap_ents) != (m.rss_anon, m.rss_file, m.swap_ents) {
                return bad(
                    area::PAGE_TABLES,
                    format!(
                        "{}: counters anon/file/swap {}/{}/{} but the page table holds {}/{}/{}",
                        self.who(m.id),
                        m.rss_anon,
                        m.rss_file,
                        m.swap_ents,
                        t.rss_anon,
                        t.rss_file,
                        t.swap_ents
                    ),
                );
            }
            c.digests[m.id as usize] = t.digest;
        }
        Ok(c)
    }

    /// Every huge PMD of `m` (pmd_trans_huge): the whole block inside one private anonymous
    /// VMA, present, naming a live THP (or the huge zero page, read-only) whose mapping leads
    /// back to it (this mm's family, this block's first page); counted in the rss, the
    /// digest and the THP's mappings.
    fn census_huge_pmds(&self, m: &Mm, t: &mut MmTally, c: &mut Census) -> Result<()> {
        if m.pt.nr_huge() == 0 {
            return Ok(());
        }
        let n = self.thp_nr();
        let mut pmds = Vec::new();
        m.pt.for_each_pmd(0, 1u64 << self.arch.lvpn_bits(), |lv0, p| pmds.push((lv0, p)));
        for (lv0, p) in pmds {
            let addr = self.arch.vaddr_of(lv0);
            let fail = |what: String| -> Result<()> {
                bad(
                    area::PAGE_TABLES,
                    format!("{}: huge PMD {p:#x} at {addr:#x} {what}", self.who(m.id)),
                )
            };
            let v = m.vmas.range(..=addr).next_back().map(|(_, v)| v).filter(|v| addr < v.end);
            let Some(v) = v else { return fail("lies outside every VMA".into()) };
            if !self.thp_block_suitable(v, lv0)
                || !v.is_anon()
                || v.flags & (VmFlags::SHARED | VmFlags::HUGETLB | VmFlags::IO | VmFlags::PFNMAP)
                    != 0
            {
                return fail(format!(
                    "is not a whole block of a private anonymous area ({:#x}-{:#x})",
                    v.start, v.end
                ));
            }
            if !pte::is_present(p) {
                return fail("is not present (a migration entry outside a migration?)".into());
            }
            let head = pte::pfn(p);
            if head == self.huge_zero && head != 0 {
                if p & pte::WRITE != 0 {
                    return fail("maps the huge zero page writable".into());
                }
                continue;
            }
            let Some(f) = self.phys.folio(head) else {
                return fail(format!("points at pfn {head:#x}, which is not a live THP"));
            };
            if f.mapping != mapping::pack(mapping::KIND_ANON, m.family, lv0) {
                return bad(
                    area::RMAP,
                    format!(
                        "{}: THP {head:#x} mapped at {addr:#x} has mapping {:#x}, not family {} \
                         index {lv0:#x}",
                        self.who(m.id),
                        f.mapping,
                        m.family
                    ),
                );
            }
            t.rss_anon += n;
            t.digest = t.digest.wrapping_add(self.thp_digest(lv0, head));
            c.thp_maps.add(head >> self.phys.thp_order);
        }
        Ok(())
    }

    /// Every THP: its entire mapcount is the number of huge PMDs mapping it, it is mapped or
    /// held (not leaked), not isolated after a call, flagged anonymous; its overlay of written
    /// base pages is sorted and inside it; the THP count matches.
    fn check_thp(&self, c: &Census) -> Result<()> {
        let n = self.thp_nr();
        let mut live = 0u64;
        for node in &self.phys.nodes {
            interrupt::check()?;
            for (head, f) in self.phys.folios_of(node) {
                live += 1;
                if head == self.huge_zero {
                    if f.flags != pg::ALLOC | pg::RESERVED || f.mapcount != 0 {
                        return bad(
                            area::THP,
                            format!(
                                "the huge zero page {head:#x} has flags {:#x}, mapcount {}",
                                f.flags, f.mapcount
                            ),
                        );
                    }
                    continue;
                }
                let k = head >> self.phys.thp_order;
                let want = c
                    .thp_maps
                    .chunk(to_usize(k >> SECTION_SHIFT))
                    .map_or(0, |ch| ch[(k & CHUNK_MASK) as usize]);
                if u32::from(f.mapcount) != want {
                    return bad(
                        area::THP,
                        format!(
                            "THP {head:#x}: entire mapcount {} but {want} huge PMDs map it",
                            f.mapcount
                        ),
                    );
                }
                if f.flags & pg::ANON == 0 {
                    return bad(
                        area::THP,
                        format!("THP {head:#x} is not anonymous (flags {:#x})", f.flags),
                    );
                }
                if f.flags & pg::ISOLATED != 0 {
                    return bad(
                        area::THP,
                        format!("THP {head:#x} is still isolated from the LRU after the call"),
                    );
                }
                if want == 0 && !self.pins.contains_key(&head) {
                    return bad(
                        area::THP,
                        format!("THP {head:#x} is allocated but nothing maps or holds it (leaked)"),
                    );
                }
            }
        }
        if live != self.phys.nr_folios {
            return bad(
                area::THP,
                format!("{live} THPs live but the count says {}", self.phys.nr_folios),
            );
        }
        for (&head, ov) in &self.thp_overlay {
            if self.phys.folio(head).is_none() || head == self.huge_zero {
                return bad(
                    area::THP,
                    format!("written base pages are kept for {head:#x}, which is not a live THP"),
                );
            }
            if ov.windows(2).any(|w| w[0].0 >= w[1].0) || ov.iter().any(|&(j, _)| u64::from(j) >= n)
            {
                return bad(
                    area::THP,
                    format!(
                        "THP {head:#x}: its written base pages are not sorted or lie outside it"
                    ),
                );
            }
        }
        Ok(())
    }

    /// No PTE in [start, end) of `m`, a range no VMA covers (free_pgtables leaves none).
    fn no_ptes_in_gap(&self, m: &Mm, start: u64, end: u64) -> Result<()> {
        each_leaf(&m.pt, start, end, |first, ptes| match ptes.iter().position(|&p| p != 0) {
            Some(i) => bad(
                area::PAGE_TABLES,
                format!(
                    "{}: PTE {:#x} at {:#x} lies outside every VMA",
                    self.who(m.id),
                    ptes[i],
                    self.arch.vaddr_of(first + i as u64)
                ),
            ),
            None => Ok(()),
        })
    }

    /// One non-empty PTE of `m` at `lv`, inside VMA `v`: verified, then counted.
    #[inline]
    fn census_pte(
        &self,
        m: &Mm,
        v: &Vma,
        lv: u64,
        p: u64,
        t: &mut MmTally,
        c: &mut Census,
    ) -> Result<()> {
        let fail = |what: String| -> Result<()> {
            let addr = self.arch.vaddr_of(lv);
            bad(area::PAGE_TABLES, format!("{}: PTE {p:#x} at {addr:#x} {what}", self.who(m.id)))
        };
        if pte::is_swap(p) {
            let e = SwpEntry::from_pte(p);
            if pte::is_migration(p) {
                return fail("is a migration entry outside a migration".into());
            }
            if !self.swap.valid(e) {
                return fail(format!(
                    "names swap slot {}:{}, which is not in use",
                    e.swp_type(),
                    e.offset()
                ));
            }
            // Only anonymous pages of private areas are swapped; shared and file pages
            // are dropped from the page tables instead (try_to_unmap_one).
            if v.flags & (VmFlags::SHARED | VmFlags::HUGETLB | VmFlags::PFNMAP) != 0 {
                return fail("is a swap entry in a shared, hugetlb or PFN-mapped area".into());
            }
            c.swap_refs[e.swp_type() as usize].add(e.offset());
            t.swap_ents += 1;
            // Content comes from the swap cache page if there is one (do_swap_page reads it
            // there); a cached pfn that is not a frame is the "swap" area's to report.
            let content = match self.swap.lookup(e) {
                Some(pfn) => self.frame(pfn).map_or(0, |(s, o)| s.stamp[o]),
                None => self.swap.stamp(e),
            };
            t.digest = t.digest.wrapping_add(digest_term(lv, content));
            return Ok(());
        }
        if !pte::is_present(p) {
            return fail("is neither present nor a swap entry (malformed)".into());
        }
        let pfn = pte::pfn(p);
        let huge = p & PTE_HUGE != 0;
        if p & pte::SPECIAL != 0 {
            // vm_normal_page(): no struct page behind a VM_PFNMAP mapping.
            if !v.has(VmFlags::PFNMAP) || pfn < DEVICE_PFN_BASE {
                return fail("is special but not a device pfn in a VM_PFNMAP area".into());
            }
            return Ok(());
        }
        if pfn == self.zero_pfn {
            // do_anonymous_page maps ZERO_PAGE read-only, and only in anonymous areas.
            if p & pte::WRITE != 0 || huge || v.file.is_some() {
                return fail("maps the zero page writable, huge or in a file area".into());
            }
            return Ok(());
        }
        let Some((sec, off)) = self.frame(pfn) else {
            return fail(format!("points at pfn {pfn:#x}, which is not a frame of any node"));
        };
        let f = sec.flags[off];
        if f & pg::ALLOC == 0 {
            return fail(format!("points at pfn {pfn:#x}, which is free"));
        }
        if huge != v.has(VmFlags::HUGETLB) || huge != (f & pg::HUGE != 0) {
            return fail(format!(
                "and pfn {pfn:#x} disagree with the area on being huge (PTE {}, page {}, VMA {})",
                huge,
                f & pg::HUGE != 0,
                v.has(VmFlags::HUGETLB)
            ));
        }
        c.maps.add(pfn);
        // The reverse map must lead back here: page->mapping names this mm's anon_vma family
        // (or this area's file) and page->index this page (page_address_in_vma()).
        let mp = sec.mapping[off];
        let back = if huge || f & pg::ANON != 0 {
            if huge {
                // Hugetlb pages count as file pages, as hugetlbfs pages do.
                t.rss_file += 1;
            } else {
                t.rss_anon += 1;
                t.digest = t.digest.wrapping_add(digest_term(lv, sec.stamp[off]));
            }
            mapping::kind(mp) == mapping::KIND_ANON
                && mapping::id(mp) == m.family
                && mapping::index(mp) == lv
        } else {
            t.rss_file += 1;
            let idx = v.file_index(self.arch.vaddr_of(lv), self.arch.page_shift);
            mapping::kind(mp) == mapping::KIND_FILE
                && v.file == Some(mapping::id(mp))
                && mapping::index(mp) == idx
        };
        if !back && c.rmap_bad.is_none() {
            let kind = match mapping::kind(mp) {
                mapping::KIND_ANON => "anon_vma family",
                mapping::KIND_FILE => "file",
                _ => "nothing",
            };
            c.rmap_bad = Some(format!(
                "{}: page {pfn:#x} mapped at {:#x} records {kind} {} index {:#x}, which does not \
                 lead back to this PTE (family {}, VMA {:#x}-{:#x})",
                self.who(m.id),
                self.arch.vaddr_of(lv),
                mapping::id(mp),
                mapping::index(mp),
                m.family,
                v.start,
                v.end
            ));
        }
        Ok(())
    }

    // ----- rmap -------------------------------------------------------------------------------

    /// The reverse map finds every PTE exactly once (rmap_walk: try_to_unmap_anon and
    /// try_to_unmap_file). Each mm is listed once, in its own anon_vma family; each file's
    /// i_mmap list names every VMA mapping it, once, and nothing else; and each mapped page
    /// leads back to its PTEs (noted by the page-table walk).
    fn check_rmap(&self, c: &Census) -> Result<()> {
        let mut listed = vec![0u32; self.mms.len()];
        for (fid, fam) in self.families.iter().enumerate() {
            for &mm in &fam.mms {
                match self.mms.get(mm as usize) {
                    Some(Some(x)) if x.family as usize == fid => listed[mm as usize] += 1,
                    Some(Some(x)) => {
                        return bad(
                            area::RMAP,
                            format!(
                                "anon_vma family {fid} lists {}, whose family is {}",
                                self.who(mm),
                                x.family
                            ),
                        )
                    }
                    _ => {
                        return bad(
                            area::RMAP,
                            format!("anon_vma family {fid} lists mm {mm}, which does not exist"),
                        )
                    }
                }
            }
        }
        let mut file_vmas = vec![0usize; self.files.len()];
        for m in self.mms.iter().flatten() {
            if listed[m.id as usize] != 1 {
                return bad(
                    area::RMAP,
                    format!(
                        "{} is listed {} times in its anon_vma family {} (once expected)",
                        self.who(m.id),
                        listed[m.id as usize],
                        m.family
                    ),
                );
            }
            for v in m.vmas.values() {
                if let Some(f) = v.file {
                    file_vmas[f as usize] += 1;
                }
            }
        }
        for fm in self.files.iter().flatten() {
            interrupt::check()?;
            for &(mm, start) in &fm.mappers {
                let maps_it = match self.mms.get(mm as usize) {
                    Some(Some(x)) => x.vmas.get(&start).is_some_and(|v| v.file == Some(fm.id)),
                    _ => false,
                };
                if !maps_it {
                    return bad(
                        area::RMAP,
                        format!(
                            "file {}: i_mmap lists mm {mm} at {start:#x}, where no VMA maps it",
                            fm.path
                        ),
                    );
                }
            }
            let mut sorted = fm.mappers.clone();
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return bad(
                    area::RMAP,
                    format!("file {}: i_mmap lists mm {} at {:#x} twice", fm.path, w[0].0, w[0].1),
                );
            }
            // Every mapper is a distinct VMA of this file: equal counts make it one-to-one.
            if sorted.len() != file_vmas[fm.id as usize] {
                let missing = self.mms.iter().flatten().find_map(|m| {
                    m.vmas
                        .values()
                        .find(|v| {
                            v.file == Some(fm.id) && sorted.binary_search(&(m.id, v.start)).is_err()
                        })
                        .map(|v| (m.id, v.start))
                });
                let detail = match missing {
                    Some((mm, start)) => format!(
                        "file {}: {} maps it at {start:#x} but is not in its i_mmap list",
                        fm.path,
                        self.who(mm)
                    ),
                    None => format!(
                        "file {}: {} VMAs map it but i_mmap lists {}",
                        fm.path,
                        file_vmas[fm.id as usize],
                        sorted.len()
                    ),
                };
                return bad(area::RMAP, detail);
            }
        }
        match &c.rmap_bad {
            Some(d) => bad(area::RMAP, d.clone()),
            None => Ok(()),
        }
    }

    // ----- mapcount ---------------------------------------------------------------------------

    /// page_mapcount() of every allocated frame is the number of PTEs mapping it (the zero
    /// page is not counted, as ZERO_PAGE is not in the kernel either).
    fn check_mapcount(&self, c: &Census) -> Result<()> {
        self.each_section(|base, sec, offs| {
            let counts = c.maps.chunk(to_usize(base >> SECTION_SHIFT));
            for o in offs {
                if sec.flags[o] & pg::ALLOC == 0 {
                    continue;
                }
                let want = counts.map_or(0, |k| k[o]);
                let pfn = base + o as u64;
                if u32::from(sec.mapcount[o]) != want && pfn != self.zero_pfn {
                    return bad(
                        area::MAPCOUNT,
                        format!(
                            "pfn {pfn:#x}: mapcount {} but {want} PTEs map it",
                            sec.mapcount[o]
                        ),
                    );
                }
            }
            Ok(())
        })
    }

    // ----- page cache -------------------------------------------------------------------------

    /// Each file's page cache slot holds its page (allocated, PG_pagecache, page->mapping and
    /// index naming the slot: find_get_page), and each PG_pagecache frame sits in the slot its
    /// mapping names, so neither can lose the other; a shmem index is in the page cache or in
    /// the swap vector, not both, and other files have no swap vector.
    fn check_page_cache(&self) -> Result<()> {
        for fm in self.files.iter().flatten() {
            interrupt::check()?;
            // The cache, the swap vector and the store are sparse (FilePages): nothing may lie
            // beyond EOF.
            let beyond = fm
                .cache
                .entries()
                .map(|(i, _)| i)
                .chain(fm.swapped.entries().map(|(i, _)| i))
                .chain(fm.store.entries().map(|(i, _)| i));
            if let Some(idx) = beyond.filter(|&i| i >= fm.pages).max() {
                return bad(
                    area::PAGE_CACHE,
                    format!(
                        "file {}: {} pages but index {idx} of its cache, swap vector or store \
                         is set",
                        fm.path, fm.pages
                    ),
                );
            }
            // shmem_writepage() takes a page out of the page cache as its slot goes into the
            // swap vector, and swap-in does the reverse: never both at one index.
            if let Some((idx, _)) = fm.swapped.entries().find(|&(i, _)| fm.cache.get(i) != 0) {
                return bad(
                    area::PAGE_CACHE,
                    format!(
                        "file {}: index {idx} is both in the page cache and in a swap slot",
                        fm.path
                    ),
                );
            }
            if !fm.shmem && fm.swapped.entries().next().is_some() {
                return bad(
                    area::PAGE_CACHE,
                    format!("file {}: only shmem objects have pages in swap slots", fm.path),
                );
            }
            for (idx, &slot) in fm.cache.iter().enumerate() {
                if idx as u64 & CHUNK_MASK == CHUNK_MASK {
                    interrupt::check()?;
                }
                if slot == 0 {
                    continue;
                }
                let pfn = slot - 1;
                let want = mapping::pack(mapping::KIND_FILE, fm.id, idx as u64);
                let ok = match self.frame(pfn) {
                    Some((s, o)) => {
                        s.flags[o] & (pg::ALLOC | pg::PAGECACHE) == (pg::ALLOC | pg::PAGECACHE)
                            && s.mapping[o] == want
                    }
                    None => false,
                };
                if !ok {
                    return bad(
                        area::PAGE_CACHE,
                        format!(
                            "file {}: page cache slot {idx} holds pfn {pfn:#x}, which is not \
                             that page (not a PG_pagecache frame with this file and index)",
                            fm.path
                        ),
                    );
                }
            }
        }
        self.each_section(|base, sec, offs| {
            for o in offs {
                if sec.flags[o] & (pg::ALLOC | pg::PAGECACHE) != (pg::ALLOC | pg::PAGECACHE) {
                    continue;
                }
                let (pfn, mp) = (base + o as u64, sec.mapping[o]);
                let (f, idx) = (mapping::id(mp), mapping::index(mp));
                let slot = match self.files.get(f as usize) {
                    Some(Some(fm)) if mapping::kind(mp) == mapping::KIND_FILE && idx < fm.pages => {
                        Some(fm.cache.get(idx))
                    }
                    _ => None,
                };
                if slot != Some(pfn + 1) {
                    return bad(
                        area::PAGE_CACHE,
                        format!(
                            "pfn {pfn:#x} is PG_pagecache for file {f} index {idx}, but that \
                             slot holds {}",
                            match slot {
                                None => "nothing (no such file or index)".into(),
                                Some(0) => "no page".into(),
                                Some(s) => format!("pfn {:#x}", s - 1),
                            }
                        ),
                    );
                }
            }
            Ok(())
        })
    }

    // ----- swap -------------------------------------------------------------------------------

    /// The swap devices' own bookkeeping (see `Swap::check`), then each slot's count
    /// (swap_map) is the number of swap PTEs and shmem swap-vector entries naming it plus one
    /// while a page caches it (2.6.16 swap_duplicate / get_swap_page / shmem_swp_set), each
    /// swap cache page is an allocated PG_swapcache frame, and each PG_swapcache frame is in
    /// the swap cache.
    fn check_swap(&self, c: &Census) -> Result<()> {
        self.swap.check()?;
        let mut cached: Vec<SparseCounts> =
            self.swap.devices.iter().map(|d| SparseCounts::new(d.pages)).collect();
        for (e, pfn) in self.swap.cache_iter() {
            if self.alloc_flags(pfn).is_none_or(|f| f & pg::SWAPCACHE == 0) {
                return bad(
                    area::SWAP,
                    format!(
                        "swap cache entry {}:{} points at pfn {pfn:#x}, which is not an \
                         allocated PG_swapcache frame",
                        e.swp_type(),
                        e.offset()
                    ),
                );
            }
            cached[e.swp_type() as usize].add(e.offset());
        }
        // The shmem objects' swap vectors: one reference on each slot they name.
        let mut shmem: Vec<SparseCounts> =
            self.swap.devices.iter().map(|d| SparseCounts::new(d.pages)).collect();
        for fm in self.files.iter().flatten() {
            interrupt::check()?;
            for (idx, e) in fm.swapped.entries() {
                let e = SwpEntry(e);
                if !self.swap.valid(e) {
                    return bad(
                        area::SWAP,
                        format!(
                            "file {} index {idx} names swap slot {}:{}, which is not in use",
                            fm.path,
                            e.swp_type(),
                            e.offset()
                        ),
                    );
                }
                shmem[e.swp_type() as usize].add(e.offset());
            }
        }
        for (t, d) in self.swap.devices.iter().enumerate() {
            for k in 0..d.pages.div_ceil(SECTION_PAGES) {
                interrupt::check()?;
                let lo = k * SECTION_PAGES;
                let (refs, cached, shm) = (
                    c.swap_refs[t].chunk(to_usize(k)),
                    cached[t].chunk(to_usize(k)),
                    shmem[t].chunk(to_usize(k)),
                );
                let hi = (lo + SECTION_PAGES).min(d.pages);
                if refs.is_none() && cached.is_none() && shm.is_none() && !d.has_pieces_in(lo, hi) {
                    // No reference, no cache page and no slot ever used: nothing to compare
                    // (a device of billions of slots is mostly such ranges).
                    continue;
                }
                for off in lo..hi {
                    let i = to_usize(off - lo);
                    let (r, q, v) = (
                        refs.map_or(0, |x| x[i]),
                        cached.map_or(0, |x| x[i]),
                        shm.map_or(0, |x| x[i]),
                    );
                    let count = u32::from(d.count(off));
                    if count != r + q + v {
                        return bad(
                            area::SWAP,
                            format!(
                                "swap slot {t}:{off}: count {count} but {r} swap PTEs and {v} \
                                 shmem swap vector entries name it and {q} swap cache page \
                                 holds it"
                            ),
                        );
                    }
                }
            }
        }
        self.each_section(|base, sec, offs| {
            for o in offs {
                let f = sec.flags[o];
                if f & (pg::ALLOC | pg::SWAPCACHE) != (pg::ALLOC | pg::SWAPCACHE) {
                    continue;
                }
                let pfn = base + o as u64;
                // Swap::check made cache and page_private inverse: one lookup suffices.
                if self.swap.entry_of(pfn).is_none() {
                    return bad(
                        area::SWAP,
                        format!("pfn {pfn:#x} is PG_swapcache but not in the swap cache"),
                    );
                }
            }
            Ok(())
        })
    }

    // ----- pagevecs ---------------------------------------------------------------------------

    /// Each pagevec entry is an allocated PG_pagevec frame, held by one pagevec slot only, and
    /// each PG_pagevec frame is in a pagevec and not on the LRU yet: lru_cache_add() pages
    /// reach the LRU at the next drain, none is lost on the way.
    fn check_pagevecs(&self) -> Result<()> {
        let mut all = Vec::new();
        for (cpu, pv) in self.pagevecs.iter().enumerate() {
            for &p in pv {
                if self.alloc_flags(p).is_none_or(|f| f & pg::PAGEVEC == 0) {
                    return bad(
                        area::PAGEVECS,
                        format!(
                            "cpu {cpu}'s pagevec holds pfn {p:#x}, which is not an allocated \
                             PG_pagevec frame"
                        ),
                    );
                }
                all.push(p);
            }
        }
        all.sort_unstable();
        if let Some([pfn, _]) = all.windows(2).find(|w| w[0] == w[1]) {
            return bad(area::PAGEVECS, format!("pfn {pfn:#x} is in pagevecs twice"));
        }
        self.each_section(|base, sec, offs| {
            for o in offs {
                let f = sec.flags[o];
                if f & pg::PAGEVEC == 0 {
                    continue;
                }
                let pfn = base + o as u64;
                if f & pg::LRU != 0 {
                    return bad(
                        area::PAGEVECS,
                        format!("pfn {pfn:#x} is both on the LRU and in a pagevec"),
                    );
                }
                if all.binary_search(&pfn).is_err() {
                    return bad(
                        area::PAGEVECS,
                        format!(
                            "pfn {pfn:#x} is PG_pagevec but no CPU's pagevec holds it: it would \
                             never reach the LRU"
                        ),
                    );
                }
            }
            Ok(())
        })
    }

    // ----- frames -----------------------------------------------------------------------------

    /// struct page on its own: a free frame carries nothing over (free_pages_check: no flags,
    /// mapping, mapcount, and here no content, as a new page must read zero); an allocated
    /// frame is held by something (a PTE, a cache, isolation, I/O or a pin: else it leaked);
    /// no page stays isolated between calls (putback_lru_pages ends every migration); and the
    /// writeback, lock and pin tables agree with the frames.
    fn check_frames(&self) -> Result<()> {
        let holders = pg::PAGECACHE | pg::SWAPCACHE | pg::WRITEBACK | pg::LOCKED;
        let (mut writeback, mut locked) = (0usize, 0usize);
        self.each_section(|base, sec, offs| {
            for o in offs {
                let pfn = base + o as u64;
                let f = sec.flags[o];
                if f & pg::ALLOC == 0 {
                    if f != 0 || sec.mapcount[o] != 0 || sec.mapping[o] != 0 || sec.stamp[o] != 0 {
                        return bad(
                            area::FRAMES,
                            format!(
                                "free pfn {pfn:#x} is not clean (free_pages_check): flags \
                                 {f:#x}, mapcount {}, mapping {:#x}, content {:#x}",
                                sec.mapcount[o], sec.mapping[o], sec.stamp[o]
                            ),
                        );
                    }
                    continue;
                }
                writeback += usize::from(f & pg::WRITEBACK != 0);
                locked += usize::from(f & pg::LOCKED != 0);
                if pfn == self.zero_pfn {
                    continue;
                }
                if f & pg::ISOLATED != 0 {
                    return bad(
                        area::FRAMES,
                        format!("pfn {pfn:#x} is still isolated from the LRU after the call"),
                    );
                }
                // An unmapped hugetlb frame is a free pool page: the "hugetlb" area's.
                if sec.mapcount[o] == 0
                    && f & (holders | pg::HUGE) == 0
                    && !self.pins.contains_key(&pfn)
                {
                    return bad(
                        area::FRAMES,
                        format!(
                            "pfn {pfn:#x} is allocated but nothing maps, caches or holds it \
                             (leaked)"
                        ),
                    );
                }
            }
            Ok(())
        })?;
        let tables = [
            (
                "writeback",
                pg::WRITEBACK,
                self.writeback.keys().copied().collect::<Vec<u64>>(),
                writeback,
            ),
            ("lock", pg::LOCKED, self.locks.keys().copied().collect(), locked),
        ];
        for (name, flag, pfns, flagged) in tables {
            for &pfn in &pfns {
                if self.alloc_flags(pfn).is_none_or(|f| f & flag == 0) {
                    return bad(
                        area::FRAMES,
                        format!(
                            "the {name} table holds pfn {pfn:#x}, which is not an allocated frame \
                             with that flag"
                        ),
                    );
                }
            }
            if pfns.len() != flagged {
                return bad(
                    area::FRAMES,
                    format!(
                        "{flagged} frames are flagged for {name} but the {name} table holds {} \
                         (a flag nothing will ever clear)",
                        pfns.len()
                    ),
                );
            }
        }
        for (&pfn, &n) in &self.pins {
            if n == 0 || self.alloc_flags(pfn).is_none() {
                return bad(
                    area::FRAMES,
                    format!("pin table: pfn {pfn:#x} pinned {n} times, not an allocated frame"),
                );
            }
        }
        Ok(())
    }

    // ----- content ----------------------------------------------------------------------------

    /// What a task reads is what was written: each mm's anonymous digest recomputed by the
    /// page-table walk equals the running one, and each file's digest recomputed from its page
    /// cache, its swap slots (shmem) and its store equals its running one. A digest names no page: the detail names the
    /// tasks and the file.
    fn check_content(&self, c: &Census) -> Result<()> {
        for m in self.mms.iter().flatten() {
            let got = c.digests[m.id as usize];
            if got != m.anon_digest {
                return bad(
                    area::CONTENT,
                    format!(
                        "{}: anonymous content changed or was lost (digest {got:#018x}, \
                         expected {:#018x})",
                        self.who(m.id),
                        m.anon_digest
                    ),
                );
            }
        }
        for fm in self.files.iter().flatten() {
            // What a read of each index gives: the cached page, else the stored content. Both
            // are sparse; an index in neither reads 0, whose digest term is 0.
            let mut digest = 0u64;
            let mut indices: Vec<u64> = fm
                .cache
                .entries()
                .map(|(i, _)| i)
                .chain(fm.swapped.entries().map(|(i, _)| i))
                .chain(fm.store.entries().map(|(i, _)| i))
                .collect();
            indices.sort_unstable();
            indices.dedup();
            for (n, idx) in indices.into_iter().enumerate() {
                if n as u64 & CHUNK_MASK == CHUNK_MASK {
                    interrupt::check()?;
                }
                // A shmem page reclaim moved out reads from its swap-cache page or its slot.
                let content = match (fm.cache.get(idx), fm.swapped.get(idx)) {
                    (0, 0) => fm.store.get(idx),
                    (0, e) => match self.swap.lookup(SwpEntry(e)) {
                        Some(pfn) => self.frame(pfn).map_or(0, |(s, o)| s.stamp[o]),
                        None => self.swap.stamp(SwpEntry(e)),
                    },
                    (s, _) => self.phys.stamp(s - 1),
                };
                digest = digest.wrapping_add(digest_term(idx, content));
            }
            if digest != fm.digest {
                return bad(
                    area::CONTENT,
                    format!(
                        "file {}: content changed or was lost (digest {digest:#018x}, expected \
                         {:#018x})",
                        fm.path, fm.digest
                    ),
                );
            }
        }
        Ok(())
    }
}

/// Per-mm counts of the page-table walk.
#[derive(Default)]
struct MmTally {
    rss_anon: u64,
    rss_file: u64,
    swap_ents: u64,
    digest: u64,
}
