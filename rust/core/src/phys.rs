//! Physical memory: frames (struct page) per node, and the free-page allocator.
//!
//! Frames are numbered by pfn. Each node owns a contiguous pfn range starting on a section
//! boundary (as SPARSEMEM lays nodes out), so `pfn_to_nid` is one table lookup. Frame metadata is
//! kept as a struct of arrays per section of [`SECTION_PAGES`] frames, allocated the first time a
//! frame of that section is handed out: a 1 TiB machine with little in use costs little memory.
//! Free memory is a set of extents per node (a BTreeMap of start -> length) plus a small run cache
//! that makes sequential allocation O(1).
//!
//! Each node is one zone (numasim has no DMA, DMA32 or HIGHMEM zones) with the zone's
//! watermarks (min, low, high: see machine/watermark.rs) and its LRU lists, kept in
//! allocation order (machine/lru.rs).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::{errno, Error, Result};
use crate::host::to_usize;
use crate::machine::lru::{Intervals, NodeLru};

/// log2 of the frames per metadata section (128 MiB with 4 KiB pages, SECTION_SIZE_BITS 27 on
/// x86_64 SPARSEMEM).
pub const SECTION_SHIFT: u32 = 15;
pub const SECTION_PAGES: u64 = 1 << SECTION_SHIFT;

/// Watermark indices (enum zone_watermarks: WMARK_MIN, WMARK_LOW, WMARK_HIGH).
pub const WMARK_MIN: usize = 0;
pub const WMARK_LOW: usize = 1;
pub const WMARK_HIGH: usize = 2;

/// struct page flags (include/linux/page-flags.h names), one bit each in a u16.
pub mod pg {
    pub const LOCKED: u16 = 1 << 0;
    pub const REFERENCED: u16 = 1 << 1;
    pub const DIRTY: u16 = 1 << 2;
    pub const LRU: u16 = 1 << 3;
    pub const ACTIVE: u16 = 1 << 4;
    pub const WRITEBACK: u16 = 1 << 5;
    /// PageAnon: page->mapping points at an anon_vma.
    pub const ANON: u16 = 1 << 6;
    pub const SWAPCACHE: u16 = 1 << 7;
    pub const RESERVED: u16 = 1 << 8;
    /// Reserved for PG_mlocked; never set: the Mlocked count is derived from VM_LOCKED areas
    /// (Machine::mlocked_pages), so no flag can drift from them.
    pub const MLOCKED: u16 = 1 << 9;
    /// Allocated (refcount > 0 in the kernel); clear on a free frame.
    pub const ALLOC: u16 = 1 << 10;
    /// Sitting in a per-CPU LRU pagevec, not yet on the LRU (lru_cache_add before the drain).
    pub const PAGEVEC: u16 = 1 << 11;
    /// Part of a hugetlb page.
    pub const HUGE: u16 = 1 << 12;
    /// Taken off the LRU by isolate_lru_page(); holds an extra reference.
    pub const ISOLATED: u16 = 1 << 13;
    /// Has buffer heads (PagePrivate on a file page).
    pub const PRIVATE: u16 = 1 << 14;
    /// In the page cache of a file (page->mapping is an address_space).
    pub const PAGECACHE: u16 = 1 << 15;

    /// Names for numa_maps-style and debugging output, in bit order.
    pub const NAMES: [&str; 16] = [
        "locked",
        "referenced",
        "dirty",
        "lru",
        "active",
        "writeback",
        "anon",
        "swapcache",
        "reserved",
        "mlocked",
        "alloc",
        "pagevec",
        "huge",
        "isolated",
        "private",
        "pagecache",
    ];
}

/// page->mapping + page->index, packed: 2 bits of kind, 21 bits of owner id, 41 bits of index.
/// Anonymous: owner = anon_vma (the fork family), index = linear page number (lvpn).
/// File: owner = file id, index = page offset in the file.
pub mod mapping {
    pub const NONE: u64 = 0;
    pub const KIND_ANON: u64 = 1;
    pub const KIND_FILE: u64 = 2;
    pub const ID_BITS: u32 = 21;
    pub const INDEX_BITS: u32 = 41;
    pub const MAX_ID: u32 = (1 << ID_BITS) - 1;
    pub const MAX_INDEX: u64 = (1 << INDEX_BITS) - 1;

    #[inline]
    pub fn pack(kind: u64, id: u32, index: u64) -> u64 {
        debug_assert!(id <= MAX_ID && index <= MAX_INDEX);
        (kind << 62) | (u64::from(id) << INDEX_BITS) | index
    }
    #[inline]
    pub fn kind(m: u64) -> u64 {
        m >> 62
    }
    #[inline]
    pub fn id(m: u64) -> u32 {
        ((m >> INDEX_BITS) & u64::from(MAX_ID)) as u32
    }
    #[inline]
    pub fn index(m: u64) -> u64 {
        m & MAX_INDEX
    }
}

/// Metadata of SECTION_PAGES frames, struct of arrays: 16 bytes a frame.
#[derive(Clone, Serialize, Deserialize)]
pub struct Section {
    #[serde(with = "crate::machine::snapshot::raw")]
    pub mapping: Box<[u64]>,
    #[serde(with = "crate::machine::snapshot::raw")]
    pub stamp: Box<[u32]>,
    #[serde(with = "crate::machine::snapshot::raw")]
    pub flags: Box<[u16]>,
    #[serde(with = "crate::machine::snapshot::raw")]
    pub mapcount: Box<[u16]>,
}

impl Section {
    fn new() -> Section {
        let n = to_usize(SECTION_PAGES);
        Section {
            mapping: vec![0; n].into_boxed_slice(),
            stamp: vec![0; n].into_boxed_slice(),
            flags: vec![0; n].into_boxed_slice(),
            mapcount: vec![0; n].into_boxed_slice(),
        }
    }
}

/// A transparent huge page (a PMD-sized anonymous folio), kept compactly: one record per folio
/// and no per-frame metadata for its base pages, so a resident huge page costs the same whatever
/// the number of base pages it covers. Its frames are allocated (not on the free extents) while
/// the record lives. `flags` uses the `pg` bits of its head page (PG_anon, PG_lru, PG_dirty,
/// PG_isolated, ...); `mapcount` is the number of PMDs that map it (the folio's
/// `_entire_mapcount`; a THP here is never PTE-mapped: split_huge_pmd splits the folio too);
/// `mapping` is the anon_vma family and the linear page number of its first base page;
/// `stamp` is the content of its first base page, base page i reading `stamp + i` unless it was
/// written since (the machine's overlay of written base pages).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folio {
    pub flags: u16,
    pub mapcount: u16,
    pub stamp: u32,
    pub mapping: u64,
}

/// One node's physical memory and its free extents.
#[derive(Clone, Serialize, Deserialize)]
pub struct NodeMem {
    pub nid: u32,
    pub start_pfn: u64,
    /// present_pages: how many frames the node has (spanned == present: no holes are modelled).
    pub pages: u64,
    free: BTreeMap<u64, u64>,
    /// Run cache: frames [run_start, run_end) are free and handed out in order.
    run_start: u64,
    run_end: u64,
    nr_free: u64,
    /// zone->_watermark[] (pages_min, pages_low, pages_high in 2.6), indexed by WMARK_*.
    pub wmark: [u64; 3],
    /// Frames ever freed on the node: when it moves, LRU entries may have gone stale.
    free_gen: u64,
    /// The LRU lists and the zone's reclaim state.
    pub lru: NodeLru,
}

impl NodeMem {
    pub fn end_pfn(&self) -> u64 {
        self.start_pfn + self.pages
    }
    pub fn nr_free(&self) -> u64 {
        self.nr_free
    }
    /// Frames freed on the node so far (see `free_gen`).
    pub fn free_gen(&self) -> u64 {
        self.free_gen
    }
    /// Free extents as (start, length), ascending, the run cache included.
    pub fn free_extents(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self.free.iter().map(|(&s, &l)| (s, l)).collect();
        if self.run_end > self.run_start {
            v.push((self.run_start, self.run_end - self.run_start));
            v.sort_unstable();
        }
        v
    }

    /// Takes one free frame, lowest-addressed extent first, and logs it for the LRU order.
    #[inline]
    fn take(&mut self) -> Option<u64> {
        if self.run_start == self.run_end && !self.refill() {
            return None;
        }
        let pfn = self.run_start;
        self.run_start += 1;
        self.nr_free -= 1;
        if pfn == self.lru.open_end {
            self.lru.open_end += 1;
        } else {
            self.log_new_run(pfn);
        }
        Some(pfn)
    }

    /// A frame that does not extend the open run of the LRU log starts a new one; a log grown
    /// long is compacted first.
    #[cold]
    #[inline(never)]
    fn log_new_run(&mut self, pfn: u64) {
        if self.lru.wants_compaction() {
            let free = self.free_intervals();
            self.lru.compact_log(&free);
        }
        self.lru.log_new_run(pfn);
    }

    /// The free frames (extents and run cache) as intervals.
    pub(crate) fn free_intervals(&self) -> Intervals {
        let mut iv = Intervals::default();
        for (s, l) in self.free_extents() {
            iv.insert(s, s + l);
        }
        iv
    }

    /// Gets the LRU lists ready for a scan: stale entries are cut out if frames were freed
    /// since the last scan, and the pages allocated since (the log) are handed back, oldest
    /// first, for the caller to sort into the lists by their flags.
    pub(crate) fn lru_prepare(&mut self) -> Vec<(u64, u64)> {
        if self.free_gen != self.lru.synced_gen {
            let free = self.free_intervals();
            let held = self.lru.compact_log(&free);
            self.lru.clean_lists(&free, &held);
            self.lru.synced_gen = self.free_gen;
        }
        self.lru.take_log()
    }

    /// The scan is over: the frames it freed left no stale entry (it took them off the lists).
    pub(crate) fn lru_synced(&mut self) {
        self.lru.synced_gen = self.free_gen;
    }

    /// Moves the lowest free extent into the run cache.
    fn refill(&mut self) -> bool {
        match self.free.pop_first() {
            Some((s, l)) => {
                self.run_start = s;
                self.run_end = s + l;
                true
            }
            None => false,
        }
    }

    /// Returns [start, start+len) to the free extents, merging with neighbours. A range that
    /// touches the run cache joins it, which keeps free/alloc cycles of one area cheap.
    fn give(&mut self, start: u64, len: u64) {
        debug_assert!(len > 0);
        self.nr_free += len;
        self.free_gen += len;
        let (mut s, mut e) = (start, start + len);
        let into_run = self.run_end > self.run_start && (self.run_end == s || self.run_start == e);
        if into_run {
            s = s.min(self.run_start);
            e = e.max(self.run_end);
        }
        if let Some((&ps, &pl)) = self.free.range(..s).next_back() {
            if ps + pl == s {
                self.free.remove(&ps);
                s = ps;
            }
        }
        if let Some(nl) = self.free.remove(&e) {
            e += nl;
        }
        if into_run {
            self.run_start = s;
            self.run_end = e;
        } else {
            self.free.insert(s, e - s);
        }
    }

    /// Carves an aligned run of `n` frames (a hugetlb page) out of the free extents.
    fn take_contig(&mut self, n: u64) -> Option<u64> {
        // Flush the run cache back so one search covers everything.
        if self.run_end > self.run_start {
            let (s, l) = (self.run_start, self.run_end - self.run_start);
            self.run_start = 0;
            self.run_end = 0;
            self.nr_free -= l;
            self.give(s, l);
        }
        let found = self.free.iter().find_map(|(&s, &l)| {
            let a = s.div_ceil(n) * n;
            (a + n <= s + l).then_some((s, l, a))
        });
        let (s, l, a) = found?;
        self.free.remove(&s);
        if a > s {
            self.free.insert(s, a - s);
        }
        if a + n < s + l {
            self.free.insert(a + n, s + l - a - n);
        }
        self.nr_free -= n;
        Some(a)
    }

    /// Takes an aligned free block of `n` frames (a free block of the buddy allocator's order
    /// log2(n)): from the run cache when it starts on such a block, else the lowest-addressed
    /// fitting extent, whose rest then becomes the run cache (so a run of huge allocations
    /// costs O(1) each). Nothing is logged for the LRU: a THP is on no simulated LRU list.
    fn take_huge(&mut self, n: u64) -> Option<u64> {
        if self.run_start % n == 0 && self.run_start + n <= self.run_end {
            let a = self.run_start;
            self.run_start += n;
            self.nr_free -= n;
            return Some(a);
        }
        let a = self.take_contig(n)?;
        // The rest of the extent after the block becomes the run cache.
        if let Some((&s, &l)) = self.free.range(a + n..).next() {
            if s == a + n {
                self.free.remove(&s);
                self.run_start = s;
                self.run_end = s + l;
            }
        }
        Some(a)
    }

    /// True if an aligned free block of `n` frames exists (the buddy's free_area[order] or a
    /// higher one is not empty).
    fn has_free_block(&self, n: u64) -> bool {
        let fits = |s: u64, l: u64| s.div_ceil(n) * n + n <= s + l;
        (self.run_end > self.run_start && fits(self.run_start, self.run_end - self.run_start))
            || self.free.iter().any(|(&s, &l)| fits(s, l))
    }
}

/// All physical memory of a machine.
#[derive(Clone, Serialize, Deserialize)]
pub struct PhysMem {
    pub nodes: Vec<NodeMem>,
    /// Node index (into `nodes`) of each section, u16::MAX for a hole.
    section_node: Vec<u16>,
    sections: Vec<Option<Box<Section>>>,
    /// nid -> index into `nodes` (node ids may be sparse).
    nid_index: Vec<u16>,
    /// vm.min_free_kbytes, from which every zone's watermarks are set (watermark.rs).
    pub min_free_kbytes: u64,
    /// A frame the current caller holds a reference to across an allocation (do_wp_page's
    /// old page): direct reclaim leaves it alone. 0 (never RAM) for none.
    pub reclaim_hold: u64,
    /// log2 of the base pages of a THP (HPAGE_PMD_ORDER = PMD_SHIFT - PAGE_SHIFT).
    pub thp_order: u32,
    /// THP records per section ([`Folio`]), made when a THP is first allocated there.
    folios: Vec<Option<Box<[Folio]>>>,
    /// Live THPs.
    pub nr_folios: u64,
}

pub const NO_NODE: u16 = u16::MAX;

impl PhysMem {
    /// Lays out `node_pages` (nid, frames) in ascending nid order, each node starting on a
    /// section boundary. Pfn 0 is left unused (the kernel never hands it out on x86).
    pub fn new(node_pages: &[(u32, u64)]) -> Result<PhysMem> {
        let mut nodes = Vec::new();
        let mut next = SECTION_PAGES; // leave section 0 as a hole: pfn 0 is never valid RAM here
        let max_nid = node_pages.iter().map(|&(n, _)| n).max().unwrap_or(0);
        let mut nid_index = vec![NO_NODE; max_nid as usize + 1];
        let mut sorted = node_pages.to_vec();
        sorted.sort_unstable();
        for (i, &(nid, pages)) in sorted.iter().enumerate() {
            if nid_index[nid as usize] != NO_NODE {
                return Err(Error::value(format!("node {nid} is listed twice")));
            }
            // A node's place among the nodes is a u16, NO_NODE excluded (MAX_NUMNODES is far below).
            let Some(i) = u16::try_from(i).ok().filter(|&i| i != NO_NODE) else {
                return Err(Error::value(format!("more than {NO_NODE} nodes")));
            };
            nid_index[nid as usize] = i;
            let mut free = BTreeMap::new();
            if pages > 0 {
                free.insert(next, pages);
            }
            nodes.push(NodeMem {
                nid,
                start_pfn: next,
                pages,
                free,
                run_start: 0,
                run_end: 0,
                nr_free: pages,
                wmark: [0; 3],
                free_gen: 0,
                lru: NodeLru::default(),
            });
            next += pages.div_ceil(SECTION_PAGES) * SECTION_PAGES;
            if next >> 52 != 0 {
                return Err(Error::value("physical memory too large: pfns exceed 52 bits"));
            }
        }
        let nsect = to_usize(next >> SECTION_SHIFT);
        let mut section_node = vec![NO_NODE; nsect];
        // Fewer than NO_NODE nodes (checked above): the zip numbers every one.
        for (i, n) in (0u16..).zip(&nodes) {
            let first = to_usize(n.start_pfn >> SECTION_SHIFT);
            let last = to_usize((n.start_pfn + n.pages).div_ceil(SECTION_PAGES));
            section_node[first..last].iter_mut().for_each(|s| *s = i);
        }
        let mut sections = Vec::with_capacity(nsect);
        sections.resize_with(nsect, || None);
        let mut folios = Vec::with_capacity(nsect);
        folios.resize_with(nsect, || None);
        Ok(PhysMem {
            nodes,
            section_node,
            sections,
            nid_index,
            min_free_kbytes: 0,
            reclaim_hold: 0,
            thp_order: 9,
            folios,
            nr_folios: 0,
        })
    }

    // ----- transparent huge pages ---------------------------------------------------------

    /// Base pages of a THP (HPAGE_PMD_NR).
    #[inline]
    pub fn thp_nr(&self) -> u64 {
        1 << self.thp_order
    }

    #[inline]
    fn folio_slot(&self, pfn: u64) -> (usize, usize) {
        (to_usize(pfn >> SECTION_SHIFT), to_usize((pfn & (SECTION_PAGES - 1)) >> self.thp_order))
    }

    /// The THP whose head is `head`, if one lives there.
    #[inline]
    pub fn folio(&self, head: u64) -> Option<&Folio> {
        if head & (self.thp_nr() - 1) != 0 {
            return None;
        }
        let (s, i) = self.folio_slot(head);
        self.folios.get(s)?.as_deref().map(|f| &f[i]).filter(|f| f.flags & pg::ALLOC != 0)
    }

    /// The THP with head `head`, mutable; panics if there is none.
    #[inline]
    pub fn folio_mut(&mut self, head: u64) -> &mut Folio {
        let (s, i) = self.folio_slot(head);
        let f = &mut self.folios[s].as_deref_mut().expect("THP records of the section")[i];
        debug_assert!(f.flags & pg::ALLOC != 0, "no THP at {head:#x}");
        f
    }

    /// The head of the THP covering `pfn`, if `pfn` is part of one (compound_head).
    #[inline]
    pub fn folio_head(&self, pfn: u64) -> Option<u64> {
        let head = pfn & !(self.thp_nr() - 1);
        self.folio(head).map(|_| head)
    }

    /// Every live THP (head, record) of a node, in pfn order.
    pub fn folios_of(&self, node: &NodeMem) -> Vec<(u64, Folio)> {
        let mut out = Vec::new();
        let per = SECTION_PAGES >> self.thp_order;
        let (a, b) = (
            to_usize(node.start_pfn >> SECTION_SHIFT),
            to_usize(node.end_pfn().div_ceil(SECTION_PAGES)),
        );
        for s in a..b.min(self.folios.len()) {
            if let Some(t) = self.folios[s].as_deref() {
                for (i, f) in t.iter().enumerate() {
                    if f.flags & pg::ALLOC != 0 {
                        out.push(((s as u64) << SECTION_SHIFT | (i as u64) << self.thp_order, *f));
                    }
                }
                debug_assert_eq!(t.len() as u64, per);
            }
        }
        out
    }

    /// Allocates a THP on exactly `nid` if, after it, the node's free pages stay above
    /// watermark `mark` and a free aligned block of HPAGE_PMD_NR frames exists
    /// (__zone_watermark_ok() for order HPAGE_PMD_ORDER: "free_pages -= (1 << order) - 1"
    /// must stay above the mark, then a free_area of that order or higher must hold a block).
    /// No compaction or reclaim is tried. The record starts with only PG_alloc set.
    pub fn alloc_folio(&mut self, nid: u32, mark: usize) -> Option<u64> {
        let n = self.thp_nr();
        let node = self.node_mut(nid)?;
        if node.nr_free.saturating_sub(n - 1) <= node.wmark[mark] {
            return None;
        }
        let head = node.take_huge(n)?;
        let (s, i) = self.folio_slot(head);
        let per = to_usize(SECTION_PAGES >> self.thp_order);
        let t =
            self.folios[s].get_or_insert_with(|| vec![Folio::default(); per].into_boxed_slice());
        debug_assert_eq!(t[i].flags, 0, "allocating a THP over a live one");
        t[i] = Folio { flags: pg::ALLOC, ..Folio::default() };
        self.nr_folios += 1;
        Some(head)
    }

    /// True if node `nid` has a free aligned block for a THP (ignoring watermarks).
    pub fn has_free_folio_block(&self, nid: u32) -> bool {
        self.node(nid).is_some_and(|n| n.has_free_block(self.thp_nr()))
    }

    /// Frees a THP: its record is cleared and its frames go back to the free extents.
    pub fn free_folio(&mut self, head: u64) {
        let n = self.thp_nr();
        *self.folio_mut(head) = Folio::default();
        self.nr_folios -= 1;
        let i = self.section_node[to_usize(head >> SECTION_SHIFT)] as usize;
        self.nodes[i].give(head, n);
    }

    /// Turns a THP into HPAGE_PMD_NR base frames (the frame side of __split_huge_page()):
    /// each frame gets the folio's flags, mapcount and `mapping` with the index of its base
    /// page, and the content `stamps[i]`; the record goes. The frames stay allocated.
    pub fn split_folio_frames(&mut self, head: u64, stamps: &[u32]) {
        let n = self.thp_nr();
        debug_assert_eq!(stamps.len() as u64, n);
        let f = *self.folio(head).expect("splitting a live THP");
        *self.folio_mut(head) = Folio::default();
        self.nr_folios -= 1;
        self.ensure_section(head);
        let kind = mapping::kind(f.mapping);
        let (id, index) = (mapping::id(f.mapping), mapping::index(f.mapping));
        let off = to_usize(head & (SECTION_PAGES - 1));
        let sec = self.sec_mut(head);
        for (k, &st) in stamps.iter().enumerate() {
            debug_assert_eq!(sec.flags[off + k], 0, "a THP's frame has frame metadata");
            sec.flags[off + k] = f.flags;
            sec.mapcount[off + k] = f.mapcount;
            sec.stamp[off + k] = st;
            sec.mapping[off + k] = if f.mapping == mapping::NONE {
                0
            } else {
                mapping::pack(kind, id, index + k as u64)
            };
        }
    }

    /// The node memory of `nid`, if the node exists.
    pub fn node(&self, nid: u32) -> Option<&NodeMem> {
        match self.nid_index.get(nid as usize) {
            Some(&i) if i != NO_NODE => Some(&self.nodes[i as usize]),
            _ => None,
        }
    }

    pub(crate) fn node_mut(&mut self, nid: u32) -> Option<&mut NodeMem> {
        match self.nid_index.get(nid as usize) {
            Some(&i) if i != NO_NODE => Some(&mut self.nodes[i as usize]),
            _ => None,
        }
    }

    /// pfn_to_nid: the node owning a RAM pfn.
    #[inline]
    pub fn pfn_to_nid(&self, pfn: u64) -> u32 {
        let i = self.section_node[to_usize(pfn >> SECTION_SHIFT)];
        self.nodes[i as usize].nid
    }

    /// True if `pfn` is a frame of some node (pfn_valid for RAM).
    pub fn pfn_valid(&self, pfn: u64) -> bool {
        match self.section_node.get(to_usize(pfn >> SECTION_SHIFT)) {
            Some(&i) if i != NO_NODE => {
                let n = &self.nodes[i as usize];
                pfn >= n.start_pfn && pfn < n.end_pfn()
            }
            _ => false,
        }
    }

    /// One past the highest pfn of RAM (max_pfn).
    pub fn max_pfn(&self) -> u64 {
        self.nodes.iter().map(NodeMem::end_pfn).max().unwrap_or(0)
    }

    /// Metadata of the section holding `pfn`; panics if it was never allocated from.
    #[inline]
    pub fn sec(&self, pfn: u64) -> &Section {
        self.sections[to_usize(pfn >> SECTION_SHIFT)].as_deref().expect("frame metadata")
    }
    #[inline]
    pub fn sec_mut(&mut self, pfn: u64) -> &mut Section {
        self.sections[to_usize(pfn >> SECTION_SHIFT)].as_deref_mut().expect("frame metadata")
    }
    /// Metadata of the section holding `pfn`, if any frame of it was ever allocated.
    #[inline]
    pub fn sec_opt(&self, pfn: u64) -> Option<&Section> {
        self.sections.get(to_usize(pfn >> SECTION_SHIFT)).and_then(|s| s.as_deref())
    }

    #[inline]
    pub fn flags(&self, pfn: u64) -> u16 {
        self.sec(pfn).flags[(pfn & (SECTION_PAGES - 1)) as usize]
    }
    #[inline]
    pub fn flags_mut(&mut self, pfn: u64) -> &mut u16 {
        &mut self.sec_mut(pfn).flags[(pfn & (SECTION_PAGES - 1)) as usize]
    }
    #[inline]
    pub fn mapping(&self, pfn: u64) -> u64 {
        self.sec(pfn).mapping[(pfn & (SECTION_PAGES - 1)) as usize]
    }
    #[inline]
    pub fn set_mapping(&mut self, pfn: u64, m: u64) {
        self.sec_mut(pfn).mapping[(pfn & (SECTION_PAGES - 1)) as usize] = m;
    }
    #[inline]
    pub fn stamp(&self, pfn: u64) -> u32 {
        self.sec(pfn).stamp[(pfn & (SECTION_PAGES - 1)) as usize]
    }
    #[inline]
    pub fn set_stamp(&mut self, pfn: u64, s: u32) {
        self.sec_mut(pfn).stamp[(pfn & (SECTION_PAGES - 1)) as usize] = s;
    }
    #[inline]
    pub fn mapcount(&self, pfn: u64) -> u16 {
        self.sec(pfn).mapcount[(pfn & (SECTION_PAGES - 1)) as usize]
    }
    #[inline]
    pub fn mapcount_mut(&mut self, pfn: u64) -> &mut u16 {
        &mut self.sec_mut(pfn).mapcount[(pfn & (SECTION_PAGES - 1)) as usize]
    }

    /// Makes the frame metadata of `pfn`'s section exist (sections are made on first use, so
    /// free memory costs nothing). Inline: every allocation asks; making one is rare.
    #[inline]
    fn ensure_section(&mut self, pfn: u64) {
        let i = to_usize(pfn >> SECTION_SHIFT);
        if self.sections[i].is_none() {
            self.new_section(i);
        }
    }

    #[cold]
    #[inline(never)]
    fn new_section(&mut self, i: usize) {
        self.sections[i] = Some(Box::new(Section::new()));
    }

    /// Allocates one frame on exactly `nid` (no fallback), down to the node's last frame: no
    /// watermark (the zero page at boot, tests). The frame comes back with only PG_alloc set,
    /// mapcount 0, no mapping and stamp 0; the caller fills it in.
    #[inline]
    pub fn alloc_on(&mut self, nid: u32) -> Option<u64> {
        let pfn = self.node_mut(nid)?.take()?;
        Some(self.init_frame(pfn))
    }

    /// Allocates one frame on `nid` if the node's free pages stay above watermark `mark`
    /// (WMARK_*): zone_watermark_ok() for an order-0 page, `free <= mark` fails (2.6.16 and
    /// 6.x alike; lowmem_reserve is 0 with one zone per node).
    #[inline]
    pub fn alloc_wmark(&mut self, nid: u32, mark: usize) -> Option<u64> {
        let n = self.node_mut(nid)?;
        if n.nr_free <= n.wmark[mark] {
            return None;
        }
        let pfn = n.take()?;
        Some(self.init_frame(pfn))
    }

    #[inline]
    fn init_frame(&mut self, pfn: u64) -> u64 {
        self.ensure_section(pfn);
        let off = (pfn & (SECTION_PAGES - 1)) as usize;
        let s = self.sec_mut(pfn);
        debug_assert_eq!(s.flags[off], 0, "allocating a frame that is in use");
        s.flags[off] = pg::ALLOC;
        pfn
    }

    /// Allocates up to `k` frames on exactly `nid` while its free pages stay above the low
    /// watermark (a batch of user allocations' fast path, get_page_from_freelist() with
    /// ALLOC_WMARK_LOW), appending them to `out`; returns how many.
    pub fn alloc_many_on(&mut self, nid: u32, k: usize, out: &mut Vec<u64>) -> usize {
        let mut got = 0;
        while got < k {
            let Some(pfn) = self
                .node_mut(nid)
                .filter(|n| n.nr_free > n.wmark[WMARK_LOW])
                .and_then(NodeMem::take)
            else {
                break;
            };
            self.ensure_section(pfn);
            let off = (pfn & (SECTION_PAGES - 1)) as usize;
            let s = self.sec_mut(pfn);
            debug_assert_eq!(s.flags[off], 0, "allocating a frame that is in use");
            s.flags[off] = pg::ALLOC;
            out.push(pfn);
            got += 1;
        }
        got
    }

    /// Allocates `n` physically contiguous, `n`-aligned frames on `nid` (a hugetlb page).
    pub fn alloc_contig_on(&mut self, nid: u32, n: u64) -> Option<u64> {
        let start = self.node_mut(nid)?.take_contig(n)?;
        for p in (start..start + n).step_by(to_usize(SECTION_PAGES)) {
            self.ensure_section(p);
        }
        self.ensure_section(start + n - 1);
        for p in start..start + n {
            *self.flags_mut(p) = pg::ALLOC | pg::HUGE;
        }
        Some(start)
    }

    /// Frees one frame: clears its metadata and returns it to its node's free extents.
    pub fn free(&mut self, pfn: u64) {
        let off = (pfn & (SECTION_PAGES - 1)) as usize;
        let s = self.sec_mut(pfn);
        debug_assert!(s.flags[off] & pg::ALLOC != 0, "double free of pfn {pfn:#x}");
        s.flags[off] = 0;
        s.mapping[off] = 0;
        s.stamp[off] = 0;
        s.mapcount[off] = 0;
        let i = self.section_node[to_usize(pfn >> SECTION_SHIFT)] as usize;
        self.nodes[i].give(pfn, 1);
    }

    /// Frees many frames at once, coalescing runs first (munmap, exit, migration).
    pub fn free_many(&mut self, pfns: &mut [u64]) {
        pfns.sort_unstable();
        let mut i = 0;
        while i < pfns.len() {
            let start = pfns[i];
            let mut j = i + 1;
            while j < pfns.len() && pfns[j] == pfns[j - 1] + 1 {
                j += 1;
            }
            for &p in &pfns[i..j] {
                let off = (p & (SECTION_PAGES - 1)) as usize;
                let s = self.sec_mut(p);
                debug_assert!(s.flags[off] & pg::ALLOC != 0, "double free of pfn {p:#x}");
                s.flags[off] = 0;
                s.mapping[off] = 0;
                s.stamp[off] = 0;
                s.mapcount[off] = 0;
            }
            // A run never crosses nodes: nodes are separated by section-aligned gaps or end
            // exactly where the next begins, so split at node boundaries.
            let mut s = start;
            let end = pfns[j - 1] + 1;
            while s < end {
                let ni = self.section_node[to_usize(s >> SECTION_SHIFT)] as usize;
                let e = end.min(self.nodes[ni].end_pfn());
                self.nodes[ni].give(s, e - s);
                s = e;
            }
            i = j;
        }
    }

    /// Calls `f(pfn, section, offset)` for every frame of `node` whose section has metadata
    /// (sections never allocated from hold only free frames and are skipped whole).
    pub fn for_each_frame(&self, node: &NodeMem, mut f: impl FnMut(u64, &Section, usize)) {
        let mut p = node.start_pfn;
        while p < node.end_pfn() {
            let Some(sec) = self.sec_opt(p) else {
                p = (p / SECTION_PAGES + 1) * SECTION_PAGES;
                continue;
            };
            let stop = ((p / SECTION_PAGES + 1) * SECTION_PAGES).min(node.end_pfn());
            for q in p..stop {
                f(q, sec, (q % SECTION_PAGES) as usize);
            }
            p = stop;
        }
    }

    /// Total and free frames of a node.
    pub fn node_counts(&self, nid: u32) -> Option<(u64, u64)> {
        self.node(nid).map(|n| (n.pages, n.nr_free))
    }

    /// The "free_lists" area of `Machine::check()`: the allocator against the frame flags, as
    /// the buddy allocator's free_area lists and zone->free_pages would be checked. Per node,
    /// the free extents (the run cache included) are non-empty, ascending, disjoint and inside
    /// the node; every frame inside them is free and every other frame is allocated; nr_free is
    /// their total. Interruptible between sections.
    pub fn check(&self) -> Result<()> {
        use crate::machine::check::area::FREE_LISTS;
        for n in &self.nodes {
            let mut sum = 0;
            let mut prev_end = n.start_pfn;
            for (s, l) in n.free_extents() {
                if l == 0 || s < prev_end || s + l > n.end_pfn() {
                    return Err(Error::invariant(
                        FREE_LISTS,
                        format!(
                            "node {}: free extent {s:#x}+{l} is empty, overlaps another or leaves \
                             the node [{:#x}, {:#x})",
                            n.nid,
                            n.start_pfn,
                            n.end_pfn()
                        ),
                    ));
                }
                // Frames between extents are in use, frames inside are free.
                if let Some(p) = self.first_not(prev_end, s, true)? {
                    return Err(Error::invariant(
                        FREE_LISTS,
                        format!(
                            "node {}: pfn {p:#x} is neither on the free list nor allocated (lost)",
                            n.nid
                        ),
                    ));
                }
                if let Some(p) = self.first_not(s, s + l, false)? {
                    return Err(Error::invariant(
                        FREE_LISTS,
                        format!(
                            "node {}: pfn {p:#x} is allocated but also on the free list (free \
                             extent {s:#x}+{l})",
                            n.nid
                        ),
                    ));
                }
                sum += l;
                prev_end = s + l;
            }
            if let Some(p) = self.first_not(prev_end, n.end_pfn(), true)? {
                return Err(Error::invariant(
                    FREE_LISTS,
                    format!(
                        "node {}: pfn {p:#x} is neither on the free list nor allocated (lost)",
                        n.nid
                    ),
                ));
            }
            if sum != n.nr_free {
                return Err(Error::invariant(
                    FREE_LISTS,
                    format!(
                        "node {}: free count (nr_free) {} but the free extents hold {sum} frames",
                        n.nid, n.nr_free
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The first frame of [start, end) whose PG_alloc is not `alloc`, a section at a time
    /// (a section without metadata was never allocated from: all its frames are free).
    fn first_not(&self, start: u64, end: u64, alloc: bool) -> Result<Option<u64>> {
        let mut p = start;
        while p < end {
            let base = p & !(SECTION_PAGES - 1);
            let stop = (base + SECTION_PAGES).min(end);
            let has_folios =
                self.folios.get(to_usize(p >> SECTION_SHIFT)).is_some_and(Option::is_some);
            if has_folios {
                // Frames of a THP are allocated without frame metadata: a THP block at a time,
                // frame by frame elsewhere.
                crate::interrupt::check()?;
                let sec = self.sec_opt(p);
                let n = self.thp_nr();
                let mut q = p;
                while q < stop {
                    let block_end = ((q / n + 1) * n).min(stop);
                    if self.folio_head(q).is_some() {
                        if !alloc {
                            return Ok(Some(q));
                        }
                    } else if sec.is_none() {
                        // No frame metadata and no THP: every frame of the block is free.
                        if alloc {
                            return Ok(Some(q));
                        }
                    } else {
                        for r in q..block_end {
                            let used =
                                sec.is_some_and(|s| s.flags[to_usize(r - base)] & pg::ALLOC != 0);
                            if used != alloc {
                                return Ok(Some(r));
                            }
                        }
                    }
                    q = block_end;
                }
                p = stop;
                continue;
            }
            match self.sec_opt(p) {
                None if alloc => return Ok(Some(p)),
                None => {}
                Some(sec) => {
                    crate::interrupt::check()?;
                    let (a, b) = (to_usize(p - base), to_usize(stop - base));
                    let hit = sec.flags[a..b].iter().position(|&f| (f & pg::ALLOC != 0) != alloc);
                    if let Some(i) = hit {
                        return Ok(Some(p + i as u64));
                    }
                }
            }
            p = stop;
        }
        Ok(None)
    }
}

/// Corruptions for the tests that prove `check()` can fail; nothing else may touch the allocator
/// behind its back.
#[cfg(test)]
impl PhysMem {
    /// Makes node `nid`'s free count (nr_free) disagree with its free extents by `delta`.
    pub(crate) fn corrupt_nr_free(&mut self, nid: u32, delta: i64) {
        let n = self.node_mut(nid).expect("node");
        n.nr_free = n.nr_free.wrapping_add_signed(delta);
    }

    /// Puts [start, start+len) on node `nid`'s free extents as is (no merging, no count, frame
    /// flags untouched), as a double free or a lost allocation would.
    pub(crate) fn corrupt_free_extent(&mut self, nid: u32, start: u64, len: u64) {
        self.node_mut(nid).expect("node").free.insert(start, len);
    }
}

/// ENOMEM with a detail naming the nodes that were tried.
pub fn enomem(what: &str) -> Error {
    Error::os(errno::ENOMEM, format!("out of memory: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_alloc() {
        let mut m = PhysMem::new(&[(0, 100), (2, 40000), (5, 0)]).unwrap();
        assert_eq!(m.node(0).unwrap().start_pfn, SECTION_PAGES);
        assert_eq!(m.node(2).unwrap().start_pfn, 2 * SECTION_PAGES);
        assert!(m.node(1).is_none());
        let a = m.alloc_on(0).unwrap();
        assert_eq!(m.pfn_to_nid(a), 0);
        let b = m.alloc_on(2).unwrap();
        assert_eq!(m.pfn_to_nid(b), 2);
        assert!(m.alloc_on(5).is_none());
        assert_eq!(m.node_counts(0), Some((100, 99)));
        m.check().unwrap();
        m.free(a);
        m.free(b);
        m.check().unwrap();
        assert_eq!(m.node_counts(0), Some((100, 100)));
    }

    #[test]
    fn exhaust_and_free_many() {
        let mut m = PhysMem::new(&[(0, 1000)]).unwrap();
        let mut got: Vec<u64> = (0..1000).map(|_| m.alloc_on(0).unwrap()).collect();
        assert!(m.alloc_on(0).is_none());
        m.check().unwrap();
        let mut odd: Vec<u64> = got.iter().copied().filter(|p| p % 2 == 1).collect();
        got.retain(|p| p % 2 == 0);
        m.free_many(&mut odd);
        m.check().unwrap();
        assert_eq!(m.node(0).unwrap().nr_free(), 500);
        m.free_many(&mut got);
        m.check().unwrap();
        assert_eq!(m.node(0).unwrap().free_extents().len(), 1);
    }

    #[test]
    fn contiguous() {
        let mut m = PhysMem::new(&[(0, 4096)]).unwrap();
        let x = m.alloc_on(0).unwrap();
        let h = m.alloc_contig_on(0, 512).unwrap();
        assert_eq!(h % 512, 0);
        assert!(h != x);
        m.check().unwrap();
        for p in h..h + 512 {
            m.free(p);
        }
        m.free(x);
        m.check().unwrap();
    }

    #[test]
    fn folios_are_compact_and_checked() {
        let mut m = PhysMem::new(&[(0, 4096)]).unwrap();
        let x = m.alloc_on(0).unwrap();
        let h = m.alloc_folio(0, WMARK_MIN).unwrap();
        assert_eq!(h % 512, 0);
        assert!(m.sec_opt(h).is_some(), "the base frame made the section's metadata");
        let h2 = m.alloc_folio(0, WMARK_MIN).unwrap();
        assert_eq!(h2, h + 512, "the next block comes from the run cache");
        assert_eq!(m.folio_head(h2 + 7), Some(h2));
        assert_eq!(m.folio_head(x), None);
        assert_eq!(m.node(0).unwrap().nr_free(), 4096 - 1 - 1024);
        m.check().unwrap();
        m.free_folio(h);
        m.check().unwrap();
        m.folio_mut(h2).mapping = mapping::pack(mapping::KIND_ANON, 3, 1024);
        m.folio_mut(h2).mapcount = 1;
        let stamps: Vec<u32> = (0..512).map(|i| 100 + i).collect();
        m.split_folio_frames(h2, &stamps);
        assert_eq!(m.folio_head(h2), None);
        assert_eq!(m.stamp(h2 + 5), 105);
        assert_eq!(mapping::index(m.mapping(h2 + 5)), 1029);
        m.check().unwrap();
        // Fill the node: no aligned block is left for a THP.
        while m.alloc_on(0).is_some() {}
        assert!(m.alloc_folio(0, WMARK_MIN).is_none());
        assert!(!m.has_free_folio_block(0));
    }

    #[test]
    fn a_folio_in_a_section_without_frame_metadata_counts_as_allocated() {
        let mut m = PhysMem::new(&[(0, 4096)]).unwrap();
        let h = m.alloc_folio(0, WMARK_MIN).unwrap();
        assert!(m.sec_opt(h).is_none());
        m.check().unwrap();
        m.corrupt_free_extent(0, h, 1);
        assert!(m.check().is_err());
    }

    #[test]
    fn mapping_packing() {
        let v = mapping::pack(mapping::KIND_ANON, 12345, 0x1_2345_6789);
        assert_eq!(mapping::kind(v), mapping::KIND_ANON);
        assert_eq!(mapping::id(v), 12345);
        assert_eq!(mapping::index(v), 0x1_2345_6789);
    }
}
