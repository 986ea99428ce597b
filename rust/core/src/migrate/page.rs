//! Per-page steps shared by the engines: page lock and writeback waits, the reverse map, unmap,
//! pageout, remove_mapping, the move to a new frame, put-back, and batched freeing.
//!
//! Swap cache entries added by an engine (add_to_swap on an isolated page) are kept in the
//! page's list entry (`aux`), not in the machine's swap cache map, while the engine runs: a
//! migration of 128 M pages would otherwise build a hash map of 128 M entries. The page carries
//! PG_swapcache meanwhile (so its refcount is right); pages left over at the end are entered
//! into the swap cache for real (`Machine::mig_putback`). Only the engine looks at isolated
//! pages while it runs, so nothing else can observe the difference.

use super::report::Reason;
use super::Ctx;
use crate::host::{bounded_u16, to_usize};
use crate::machine::mm::VmFlags;
use crate::machine::rmap::Rmap;
use crate::machine::topology::REMOTE_DISTANCE;
use crate::machine::{Machine, MmId};
use crate::pagetable::pte;
use crate::phys::{mapping, pg, SECTION_PAGES};
use crate::swap::SwpEntry;

/// Low bits of a list entry's first word: the pfn (pfns have at most 52 bits); the top byte is
/// the last [`Reason`].
pub(crate) const PFN_MASK: u64 = (1 << 52) - 1;

/// A list entry's first word names a THP (its head pfn) rather than a base page.
pub(crate) const THP_ENTRY: u64 = 1 << 55;

/// A list entry's first word names a hugetlb page (its head pfn): modern only
/// (isolate_hugetlb()).
pub(crate) const HUGETLB_ENTRY: u64 = 1 << 54;

/// Frames freed per free_many() call.
const FREE_BATCH: usize = 4096;

/// What one attempt on one page did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Copied to a new frame.
    Moved,
    /// Evicted (swap_page()).
    Swapped,
    /// Written out in this pass and freed as the next pass would free it (see the V5 engine).
    SwappedNextPass,
    /// -EAGAIN: stays on the list for the next pass.
    Again(Reason),
    /// Permanent failure: off to the failed list.
    Fail(Reason),
    /// -ENOMEM on the destination: the whole call stops (2.6.18+ / modern).
    Abort,
}

/// The migration lists: isolated pages in list order. Entry = [pfn | reason << 56, aux] where
/// aux is an engine-held swap entry (0 = none).
#[derive(Default)]
pub(crate) struct PageList {
    pub v: Vec<[u64; 2]>,
    /// Entries before `head` are dead (moved off the list).
    pub head: usize,
}

impl PageList {
    #[inline]
    pub fn len(&self) -> usize {
        self.v.len() - self.head
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[inline]
    pub fn push(&mut self, pfn: u64) {
        self.v.push([pfn, 0]);
    }
    /// Drops the dead prefix once it is large (bounded memory while the walk streams in).
    pub fn compact(&mut self) {
        if self.head >= 4096 && self.head * 2 >= self.v.len() {
            self.v.drain(..self.head);
            self.head = 0;
        }
    }
    /// The live entries.
    pub fn live(&self) -> &[[u64; 2]] {
        &self.v[self.head..]
    }
}

#[inline]
pub(crate) fn entry(pfn: u64, r: Reason, aux: u64) -> [u64; 2] {
    [pfn | (r as u64) << 56, aux]
}

#[inline]
pub(crate) fn entry_reason(e: [u64; 2]) -> Option<Reason> {
    Reason::from_u8((e[0] >> 56) as u8)
}

/// How a mapping migrates a page (address_space_operations->migratepage of the generation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aops {
    /// migrate_page(): the swap cache (anonymous pages), modern shmem and files.
    MigratePage,
    /// buffer_migrate_page(): 2.6.16 ext2/ext3-like files (buffers move with the page).
    BufferMigrate,
    /// No migratepage method: 2.6.16 shmem (added only in 2.6.16.16): write out dirty pages,
    /// drop buffers, then migrate_page(); swap_page() from pass 5 when buffers stay busy.
    Fallback,
}

impl Machine {
    /// Extra references on a frame (pins), without hashing when there are none.
    #[inline]
    pub(crate) fn mig_pins(&self, pfn: u64) -> u32 {
        if self.pins.is_empty() {
            0
        } else {
            self.pins.get(&pfn).copied().unwrap_or(0)
        }
    }

    #[inline]
    pub(crate) fn mig_charge_wait(&mut self, _ctx: &mut Ctx, until: u64) {
        if until > self.now_ns {
            self.acct.wait_ns += until - self.now_ns;
            self.now_ns = until;
        }
    }

    /// The page lock: trylock_page (`wait` false) or lock_page (`wait` true). A lock held by
    /// someone else is released at its time (`locks`); waiting advances the clock to it. A lock
    /// held with no end would make lock_page() sleep forever: the simulator gives up (retry).
    #[inline]
    pub(crate) fn mig_lock(&mut self, ctx: &mut Ctx, pfn: u64, wait: bool) -> bool {
        if self.phys.flags(pfn) & pg::LOCKED == 0 {
            return true;
        }
        self.mig_lock_slow(ctx, pfn, wait)
    }

    #[cold]
    fn mig_lock_slow(&mut self, ctx: &mut Ctx, pfn: u64, wait: bool) -> bool {
        let until = self.locks.get(&pfn).copied().unwrap_or(u64::MAX);
        if until > self.now_ns && (!wait || until == u64::MAX) {
            return false;
        }
        self.mig_charge_wait(ctx, until);
        self.locks.remove(&pfn);
        *self.phys.flags_mut(pfn) &= !pg::LOCKED;
        true
    }

    /// PageWriteback: skip (`wait` false) or wait_on_page_writeback (`wait` true); same rules
    /// as [`Machine::mig_lock`].
    #[inline]
    pub(crate) fn mig_writeback(&mut self, ctx: &mut Ctx, pfn: u64, wait: bool) -> bool {
        if self.phys.flags(pfn) & pg::WRITEBACK == 0 {
            return true;
        }
        self.mig_writeback_slow(ctx, pfn, wait)
    }

    #[cold]
    fn mig_writeback_slow(&mut self, ctx: &mut Ctx, pfn: u64, wait: bool) -> bool {
        let until = self.writeback.get(&pfn).copied().unwrap_or(u64::MAX);
        if until > self.now_ns && (!wait || until == u64::MAX) {
            return false;
        }
        self.mig_charge_wait(ctx, until);
        self.writeback.remove(&pfn);
        *self.phys.flags_mut(pfn) &= !pg::WRITEBACK;
        true
    }

    /// The swap entry of a swap-cache page: held by the engine (`aux`) or in the swap cache.
    #[inline]
    pub(crate) fn mig_entry(&self, pfn: u64, aux: u64) -> Option<SwpEntry> {
        if aux != 0 {
            Some(SwpEntry(aux))
        } else if self.phys.flags(pfn) & pg::SWAPCACHE != 0 {
            self.swap.entry_of(pfn)
        } else {
            None
        }
    }

    /// add_to_swap() for an isolated page: a slot (count 1, the cache's reference), the page
    /// joins the swap cache dirty; the entry is returned for the list entry to hold.
    #[inline]
    pub(crate) fn mig_add_to_swap(&mut self, pfn: u64) -> Option<u64> {
        let e = self.swap.get_swap_page()?;
        *self.phys.flags_mut(pfn) |= pg::SWAPCACHE | pg::DIRTY;
        Some(e.0)
    }

    /// The PTEs mapping `pfn` (the reverse map), in the order try_to_unmap() visits them.
    ///
    /// - Anonymous pages: try_to_unmap_anon() walks anon_vma->head, to which 2.6.14 .. 2.6.17
    ///   add each VMA at the head (list_add() in anon_vma_prepare() and anon_vma_link(), the
    ///   one dup_mmap() calls for a child; list_add_tail() only from Hugh Dickins' "swapless
    ///   page migration: fix swapops.h:97 BUG", LKML 2006-05-24, against 2.6.17-rc4-mm3,
    ///   Msg-Id <Pine.LNX.4.64.0605241329010.9391@blonde.wat.veritas.com>): the mm forked
    ///   last comes first, the parent last. The family lists its mms parent first, so V5 and
    ///   2.6.16 visit it backwards. (Modern never stops part way: order is moot.)
    /// - File pages: try_to_unmap_file() walks the i_mmap prio tree for the page's index, whose
    ///   VMAs over one range stay in the order they were linked (dup_mmap()'s
    ///   vma_prio_tree_add() puts a child right after its parent): the order of the file's
    ///   mappers, mmap order. Over different ranges the prio tree's own order is not modelled.
    ///
    /// Fast path: an anonymous page mapped once by a family of one mm has its only PTE at its
    /// index in that mm, found without the general walk. Its `vm_flags` are then 0, which is
    /// right unless `flags` (the walk met a VM_LOCKED or VM_RESERVED VMA: see Ctx::rmap_flags):
    /// then the general walk runs and reads them.
    // Forced inline: once the engines' loops grew (THP and hugetlb entries) LLVM stopped inlining
    // this fast path, costing ~60 instructions per page of call overhead (callgrind, issue 11).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(crate) fn mig_rmap(&self, pfn: u64, flags: bool, out: &mut Vec<Rmap>) {
        out.clear();
        let (m, mc) = {
            let sec = self.phys.sec(pfn);
            let o = (pfn & (SECTION_PAGES - 1)) as usize;
            (sec.mapping[o], sec.mapcount[o])
        };
        let anon = mapping::kind(m) == mapping::KIND_ANON;
        if anon && mc == 1 && !flags {
            let fam = &self.families[mapping::id(m) as usize].mms;
            if fam.len() == 1 {
                out.push(Rmap { mm: fam[0], lvpn: mapping::index(m), vm_flags: 0 });
                return;
            }
        }
        self.mig_rmap_walk(pfn, anon, out);
    }

    /// The general reverse-map walk of [`Machine::mig_rmap`], kept out of line.
    #[inline(never)]
    fn mig_rmap_walk(&self, pfn: u64, anon: bool, out: &mut Vec<Rmap>) {
        self.rmap_each(pfn, |r| out.push(r));
        if anon && self.semantics != crate::Semantics::Modern {
            out.reverse();
        }
    }

    /// The PTE at `lv` of `mm`, which must exist. Leaf tables neither appear nor go while an
    /// engine runs (it only rewrites PTEs), so the last leaf found is cached: consecutive
    /// pages of one leaf cost no radix walk.
    #[inline]
    pub(crate) fn mig_pte(&mut self, ctx: &mut Ctx, mm: MmId, lv: u64) -> &mut u64 {
        let leaf = lv >> ctx.leaf_shift;
        if ctx.ptc_mm != mm || ctx.ptc_leaf != leaf {
            ctx.ptc_idx = self.mm(mm).pt.find_leaf(lv).expect("mapped PTE");
            ctx.ptc_mm = mm;
            ctx.ptc_leaf = leaf;
        }
        let i = to_usize(lv & ((1 << ctx.leaf_shift) - 1));
        &mut self.mm_mut(mm).pt.leaves[ctx.ptc_idx][i]
    }

    /// The TLB flush for a PTE of `mm` that was cleared or changed: a local flush if the mm ran
    /// on the caller's CPU, and a shootdown of the other CPUs it ran on (flush_tlb_page()). From
    /// Linux 6.3 the flushes of a batch of up to 512 folios are one (try_to_unmap_flush()).
    // Forced inline: called once per PTE rewritten; see mig_rmap.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(crate) fn mig_tlb(&mut self, ctx: &mut Ctx, mm: MmId) {
        if ctx.tlb_mm != mm {
            let ran = &self.mm(mm).cpus_ran;
            ctx.tlb_cost = self.costs.tlb_flush_ns(ran.len(), ran.contains(&ctx.cpu));
            ctx.tlb_mm = mm;
        }
        if ctx.tlb_batch {
            ctx.tlb_pending = ctx.tlb_pending.max(ctx.tlb_cost);
        } else {
            self.acct.tlb_ns += ctx.tlb_cost;
            self.now_ns += ctx.tlb_cost;
        }
    }

    /// 6.3+: the one flush a batch of folios owes (try_to_unmap_flush()), if any.
    pub(crate) fn mig_flush_tlb(&mut self, ctx: &mut Ctx) {
        let ns = std::mem::take(&mut ctx.tlb_pending);
        ctx.tlb_batch_n = 0;
        self.acct.tlb_ns += ns;
        self.now_ns += ns;
    }

    /// 6.3+ migrate_pages_batch(): one more folio of the batch; a full batch
    /// (NR_MAX_BATCHED_MIGRATION) is flushed.
    #[inline]
    pub(crate) fn mig_batch_step(&mut self, ctx: &mut Ctx) {
        if ctx.tlb_batch {
            ctx.tlb_batch_n += 1;
            if ctx.tlb_batch_n >= crate::costs::NR_MAX_BATCHED_MIGRATION {
                self.mig_flush_tlb(ctx);
            }
        }
    }

    /// try_to_unmap() of V5 (2.6.14) and 2.6.16: see [`Machine::mig_unmap_maps`]. `refs` is
    /// V5's try_to_unmap(page), without 2.6.16's ignore_refs.
    pub(crate) fn mig_unmap(
        &mut self,
        ctx: &mut Ctx,
        pfn: u64,
        entry: Option<SwpEntry>,
        refs: bool,
    ) -> Result<(), Reason> {
        let mut maps = std::mem::take(&mut ctx.maps);
        self.mig_rmap(pfn, ctx.rmap_flags, &mut maps);
        let res = self.mig_unmap_maps(ctx, pfn, entry, refs, &maps);
        ctx.maps = maps;
        res
    }

    /// try_to_unmap() over `maps` (in rmap order, [`Machine::mig_rmap`]) for V5 swap-out and
    /// 2.6.16 (migrate_page, swap_page). try_to_unmap_anon() / try_to_unmap_file() call
    /// try_to_unmap_one() on each mapping and stop at the first SWAP_FAIL: the mappings before
    /// it stay unmapped (research Q5). Each unmapped anonymous PTE becomes a swap entry naming
    /// `entry` (which must exist) and takes a reference on the slot; a file PTE goes; the PTE
    /// dirty bit moves to the page. try_to_unmap_one() fails, leaving the PTE:
    /// - `refs` (2.6.14's try_to_unmap(page), which V5 calls): on `(VM_LOCKED|VM_RESERVED)`,
    ///   or when `ptep_clear_flush_young()` finds the PTE young: its young bit is cleared, so
    ///   the next try gets one mapping further (a page mapped young by N mms needs N + 1).
    /// - otherwise (2.6.16 try_to_unmap(page, 1): `(vm_flags & VM_LOCKED) ||
    ///   (ptep_clear_flush_young() && !ignore_refs)`): on VM_LOCKED only. The young bit of a PTE
    ///   it passes is cleared too, but that PTE goes at once, so nothing can see it.
    #[inline]
    pub(crate) fn mig_unmap_maps(
        &mut self,
        ctx: &mut Ctx,
        pfn: u64,
        entry: Option<SwpEntry>,
        refs: bool,
        maps: &[Rmap],
    ) -> Result<(), Reason> {
        let anon = self.phys.flags(pfn) & pg::ANON != 0;
        let fails = if refs { VmFlags::LOCKED | VmFlags::RESERVED } else { VmFlags::LOCKED };
        // The reverse-map walk that found the mappings.
        let walk = ctx.rmap_ns * maps.len() as u64;
        self.acct.rmap_ns += walk;
        self.now_ns += walk;
        let mut dirty = false;
        let mut res = Ok(());
        let mut n = 0usize;
        for r in maps {
            if r.vm_flags & fails != 0 {
                res = Err(Reason::UnmapFailed);
                break;
            }
            let p = self.mig_pte(ctx, r.mm, r.lvpn);
            if refs && *p & pte::YOUNG != 0 {
                *p &= !pte::YOUNG;
                res = Err(Reason::UnmapFailed);
                break;
            }
            dirty |= *p & pte::DIRTY != 0;
            *p = if anon {
                entry.expect("anonymous page in the swap cache before unmapping").to_pte()
            } else {
                0
            };
            let m = self.mm_mut(r.mm);
            if anon {
                m.rss_anon -= 1;
                m.swap_ents += 1;
            } else {
                m.rss_file -= 1;
            }
            self.mig_tlb(ctx, r.mm);
            n += 1;
        }
        if anon && n > 0 {
            let e = entry.expect("swap entry");
            for _ in 0..n {
                self.swap.dup(e);
            }
        }
        // maps are the PTEs that the u16 mapcount counts.
        *self.phys.mapcount_mut(pfn) -= bounded_u16(n);
        if dirty {
            self.set_page_dirty(pfn);
        }
        res
    }

    /// pageout() of an isolated page (2.6.16 mm/vmscan.c): PAGE_KEEP unless only the cache and
    /// the isolation hold it (is_page_cache_freeable), else writepage: a swap-cache page goes
    /// to its slot, a file page to its file. The simulator's write-out completes at once (the
    /// clock advances by the write time), so the page is clean, unlocked and not under
    /// writeback when the next pass looks: the same outcome as the real asynchronous I/O.
    /// Returns Err(reason) for PAGE_KEEP; Ok(()) for PAGE_SUCCESS (the caller retries).
    pub(crate) fn mig_pageout(&mut self, _ctx: &mut Ctx, pfn: u64, aux: u64) -> Result<(), Reason> {
        if self.phys.mapcount(pfn) != 0 || self.mig_pins(pfn) != 0 {
            return Err(if self.phys.mapcount(pfn) != 0 {
                Reason::Dirty
            } else {
                Reason::BusyRefcount
            });
        }
        let f = self.phys.flags(pfn);
        if f & pg::SWAPCACHE != 0 {
            let e = self.mig_entry(pfn, aux).expect("swap cache entry");
            self.swap.write(e, self.phys.stamp(pfn));
            *self.phys.flags_mut(pfn) &= !pg::DIRTY;
            self.vmstat.pswpout += 1;
            self.vmstat.pgpgout += 1;
            self.now_ns += self.swap_io_ns(e);
        } else if f & pg::PAGECACHE != 0 {
            self.write_file_page(pfn);
        } else {
            return Err(Reason::BusyRefcount);
        }
        Ok(())
    }

    /// try_to_release_page(): buffers go unless busy (dirty, under I/O, or referenced: the
    /// simulator's pins stand for buffer_head users).
    pub(crate) fn mig_release_buffers(&mut self, pfn: u64) -> bool {
        let f = self.phys.flags(pfn);
        if f & pg::PRIVATE == 0 {
            return true;
        }
        if f & (pg::DIRTY | pg::WRITEBACK) != 0 || self.mig_pins(pfn) != 0 {
            return false;
        }
        *self.phys.flags_mut(pfn) &= !pg::PRIVATE;
        true
    }

    /// remove_mapping() and the free that follows in swap_page(): only the cache and the
    /// isolation may hold the page, and it must be clean. A swap-cache page leaves the swap
    /// cache (its slot keeps the swap PTEs' references), a file page the page cache.
    pub(crate) fn mig_remove_mapping(&mut self, ctx: &mut Ctx, pfn: u64, aux: &mut u64) -> bool {
        let f = self.phys.flags(pfn);
        if f & (pg::SWAPCACHE | pg::PAGECACHE) == 0
            || f & pg::DIRTY != 0
            || self.phys.mapcount(pfn) != 0
            || self.mig_pins(pfn) != 0
        {
            return false;
        }
        if f & pg::SWAPCACHE != 0 {
            let e = if *aux != 0 {
                SwpEntry(std::mem::take(aux))
            } else {
                self.swap.cache_remove(pfn).expect("swap cache entry")
            };
            self.swap.put(e);
        } else {
            let m = self.phys.mapping(pfn);
            let fm = self.file_mut(mapping::id(m));
            fm.cache[to_usize(mapping::index(m))] = 0;
        }
        self.mig_free(ctx, pfn);
        // The page is evicted: swap_page()'s software work for it.
        self.acct.folio_ns += ctx.folio_sc_ns;
        self.now_ns += ctx.folio_sc_ns;
        true
    }

    /// swap_page() (V5 mm/vmscan.c; 2.6.16 mm/migrate.c): unmap, write out if dirty, drop the
    /// buffers, remove from the cache, free. `refs` is V5's try_to_unmap() (no ignore_refs).
    /// `fuse`: the pass is not the last, so a page written out now is freed at once as the
    /// next pass would (nothing can touch it in between): see the V5 engine.
    pub(crate) fn mig_swap_page(
        &mut self,
        ctx: &mut Ctx,
        pfn: u64,
        aux: &mut u64,
        refs: bool,
        fuse: bool,
    ) -> Step {
        let f = self.phys.flags(pfn);
        if self.phys.mapcount(pfn) != 0 && f & (pg::SWAPCACHE | pg::PAGECACHE) != 0 {
            let e = self.mig_entry(pfn, *aux);
            if let Err(r) = self.mig_unmap(ctx, pfn, e, refs) {
                return Step::Again(r);
            }
        }
        let mut written = false;
        if self.phys.flags(pfn) & pg::DIRTY != 0 {
            if let Err(r) = self.mig_pageout(ctx, pfn, *aux) {
                return Step::Again(r);
            }
            // PAGE_SUCCESS: "goto retry".
            if !fuse {
                return Step::Again(Reason::Dirty);
            }
            written = true;
        }
        if !self.mig_release_buffers(pfn) {
            return Step::Again(Reason::Buffers);
        }
        if !self.mig_remove_mapping(ctx, pfn, aux) {
            return Step::Again(Reason::BusyRefcount);
        }
        if written {
            Step::SwappedNextPass
        } else {
            Step::Swapped
        }
    }

    /// Frees a frame the engine is done with (batched: free_many coalesces runs).
    #[inline]
    pub(crate) fn mig_free(&mut self, ctx: &mut Ctx, pfn: u64) {
        ctx.free.push(pfn);
        if ctx.free.len() >= FREE_BATCH {
            self.phys.free_many(&mut ctx.free);
            ctx.free.clear();
        }
    }

    pub(crate) fn mig_flush_free(&mut self, ctx: &mut Ctx) {
        if !ctx.free.is_empty() {
            self.phys.free_many(&mut ctx.free);
            ctx.free.clear();
        }
    }

    /// The mapping's migratepage method for this page, per generation.
    pub(crate) fn mig_aops(&self, pfn: u64) -> Aops {
        let m = self.phys.mapping(pfn);
        if mapping::kind(m) != mapping::KIND_FILE || self.semantics != crate::Semantics::Linux2616 {
            return Aops::MigratePage;
        }
        if self.file(mapping::id(m)).shmem {
            Aops::Fallback
        } else {
            Aops::BufferMigrate
        }
    }

    /// Moves an isolated page to the new frame `new` once every check has passed: the content
    /// stamp, mapping and flags go over, every PTE of the old frame is rewritten through the
    /// reverse map, the page or swap cache slot moves, and the old frame is freed.
    ///
    /// `modern`: migration entries (2.6.18+): each PTE keeps its write bit, is old and clean
    /// (its dirty bit moves to the page), and a swap-cache page stays in the swap cache.
    /// Otherwise 2.6.16 migrate_page(): anonymous PTEs are restored by remove_from_swap() as
    /// pte_mkold(mk_pte(newpage, vm_page_prot)) (read-only in a private mapping) together with
    /// any other swap PTE of the family naming the page's slot, and the page then leaves the
    /// swap cache (delete_from_swap_cache); file PTEs are gone (the next fault maps the new
    /// page-cache page).
    pub(crate) fn mig_move(
        &mut self,
        ctx: &mut Ctx,
        old: u64,
        new: u64,
        aux: &mut u64,
        maps: &[Rmap],
        modern: bool,
    ) {
        let (f, m, stamp) = {
            let sec = self.phys.sec(old);
            let o = (old & (SECTION_PAGES - 1)) as usize;
            (sec.flags[o], sec.mapping[o], sec.stamp[o])
        };
        let anon = f & pg::ANON != 0;
        let mut dirty = false;
        let mut mapped = 0u16;
        for r in maps {
            let p = self.mig_pte(ctx, r.mm, r.lvpn);
            dirty |= *p & pte::DIRTY != 0;
            if modern {
                *p = pte::mk(new, *p & pte::WRITE);
                mapped += 1;
            } else if anon {
                *p = pte::mk(new, 0);
                mapped += 1;
            } else {
                *p = 0;
                self.mm_mut(r.mm).rss_file -= 1;
            }
            self.mig_tlb(ctx, r.mm);
        }
        let keep = pg::ANON | pg::PAGECACHE | pg::ACTIVE | pg::REFERENCED | pg::DIRTY;
        let mut nf = pg::ALLOC | (f & keep) | if dirty { pg::DIRTY } else { 0 };
        if modern {
            nf |= f & (pg::PRIVATE | pg::SWAPCACHE);
        } else if f & pg::PAGECACHE != 0 && self.mig_aops(old) == Aops::BufferMigrate {
            nf |= f & pg::PRIVATE;
        }
        if f & pg::SWAPCACHE != 0 {
            if modern {
                // folio_migrate_mapping(): the swap cache slot now holds the new page.
                match *aux {
                    0 => self.swap.cache_replace(old, new),
                    a => {
                        *aux = 0;
                        self.swap.cache_insert(SwpEntry(a), new);
                    }
                }
            } else {
                // remove_from_swap(newpage): unuse every swap PTE of the family naming the
                // slot, then delete_from_swap_cache().
                let e = match *aux {
                    0 => self.swap.cache_remove(old).expect("swap cache entry"),
                    a => {
                        *aux = 0;
                        SwpEntry(a)
                    }
                };
                if self.swap.count(e) > 1 {
                    mapped += self.mig_unuse_swap(e, m, new);
                }
                self.swap.put(e);
            }
        }
        if f & pg::PAGECACHE != 0 {
            let fm = self.file_mut(mapping::id(m));
            fm.cache[to_usize(mapping::index(m))] = new + 1;
        }
        {
            let sec = self.phys.sec_mut(new);
            let o = (new & (SECTION_PAGES - 1)) as usize;
            sec.flags[o] = nf;
            sec.mapping[o] = m;
            sec.stamp[o] = stamp;
            sec.mapcount[o] = mapped;
        }
        {
            let sec = self.phys.sec_mut(old);
            let o = (old & (SECTION_PAGES - 1)) as usize;
            sec.flags[o] = pg::ALLOC;
            sec.mapcount[o] = 0;
        }
        // copy_highpage(): the local copy time scaled by the SLIT distance.
        let (a, b) = (self.phys.pfn_to_nid(old), self.phys.pfn_to_nid(new));
        let key = (a << 16) | b;
        if ctx.copy_key != key {
            let dist = self.topo.distance(a, b).unwrap_or(REMOTE_DISTANCE);
            ctx.copy_ns = self.costs.copy_page_ns(self.arch.page_size(), dist);
            ctx.copy_key = key;
        }
        // The folio's software work and the reverse-map walk that found its mappings.
        let folio = if modern { ctx.folio_mig_ns } else { ctx.folio_sc_ns };
        let walk = ctx.rmap_ns * maps.len() as u64;
        self.acct.copy_ns += ctx.copy_ns;
        self.acct.folio_ns += folio;
        self.acct.rmap_ns += walk;
        self.now_ns += ctx.copy_ns + folio + walk;
        self.mig_free(ctx, old);
    }

    /// unuse_vma() over the anon_vma family: swap PTEs naming `e` at the page's index become
    /// present PTEs of `new`. Returns how many.
    fn mig_unuse_swap(&mut self, e: SwpEntry, m: u64, new: u64) -> u16 {
        let lv = mapping::index(m);
        let want = e.to_pte();
        let mms = self.families[mapping::id(m) as usize].mms.clone();
        let mut n = 0;
        for mm in mms {
            let Some(p) = self.mm_mut(mm).pt.get_mut(lv) else { continue };
            if *p != want {
                continue;
            }
            *p = pte::mk(new, 0);
            let x = self.mm_mut(mm);
            x.rss_anon += 1;
            // Same content as the slot's view of it: the mm's digest does not change.
            x.swap_ents -= 1;
            self.swap.put(e);
            n += 1;
        }
        n
    }

    /// putback_lru_pages() for one page left on a list: it leaves isolation and goes back to
    /// the LRU: through the caller's per-CPU pagevec (lru_cache_add, V5 and 2.6.16), or
    /// straight onto the LRU (modern, which runs with lru_cache_disable()). An engine-held
    /// swap entry is entered into the swap cache for real.
    pub(crate) fn mig_putback(&mut self, ctx: &mut Ctx, e: [u64; 2]) {
        let pfn = e[0] & PFN_MASK;
        if e[0] & THP_ENTRY != 0 {
            // putback_movable_pages() of a THP: back on the LRU whole.
            let f = self.phys.folio_mut(pfn);
            f.flags = (f.flags & !pg::ISOLATED) | pg::LRU;
            ctx.rep.put_back += self.thp_nr();
            return;
        }
        if e[0] & HUGETLB_ENTRY != 0 {
            // folio_putback_hugetlb(): back to the active list of its hstate.
            *self.phys.flags_mut(pfn) &= !pg::ISOLATED;
            ctx.rep.put_back += self.hugetlb_nr();
            return;
        }
        if e[1] != 0 {
            self.swap.cache_insert(SwpEntry(e[1]), pfn);
        }
        let f = self.phys.flags_mut(pfn);
        *f &= !pg::ISOLATED;
        ctx.rep.put_back += 1;
        if ctx.lru_direct {
            *f |= pg::LRU;
        } else {
            self.lru_cache_add(ctx.cpu, pfn);
        }
    }

    /// A new page joins the LRU after a successful migration (move_to_lru / putback).
    #[inline]
    pub(crate) fn mig_new_on_lru(&mut self, ctx: &mut Ctx, pfn: u64) {
        if ctx.lru_direct {
            *self.phys.flags_mut(pfn) |= pg::LRU;
        } else {
            self.lru_cache_add(ctx.cpu, pfn);
        }
    }
}
