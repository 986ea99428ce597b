//! Memory pressure: the page allocator's slow path (__alloc_pages, 2.6.16;
//! __alloc_pages_slowpath, 6.x) and direct reclaim (mm/vmscan.c try_to_free_pages), per
//! generation. kswapd is not modelled: nothing reclaims in the background, so a node reaches
//! its min mark and stays there until a direct reclaim frees pages.
//!
//! Order of an allocation of a user page (GFP_HIGHUSER in 2.6, GFP_HIGHUSER_MOVABLE in 6.x)
//! over its zonelist (the nodes its policy and cpuset allow, in order):
//! 1. every node at the low mark (get_page_from_freelist(ALLOC_WMARK_LOW)): a full node is
//!    passed over for the next one before anything is reclaimed (zone_reclaim_mode /
//!    node_reclaim_mode is taken to be 0, see docs/semantics.md);
//! 2. (wake kswapd: not modelled) every node at the min mark;
//! 3. direct reclaim over the zonelist, then the min mark again, as long as reclaim makes
//!    progress (2.6: >= SWAP_CLUSTER_MAX pages a round, "goto rebalance"; 6.x:
//!    should_reclaim_retry(), at most MAX_RECLAIM_RETRIES rounds without progress);
//! 4. otherwise the OOM killer, which numasim reports as ENOMEM.
//!
//! A modern migration target (GFP_HIGHUSER_MOVABLE | __GFP_THISNODE) has a zonelist of its
//! node alone (ZONELIST_NOFALLBACK): low, min, reclaim of that node only, and no OOM kill.
//!
//! Reclaim takes pages from the tail of the inactive list(s) in LRU order (machine/lru.rs)
//! and evicts them with reclaim.rs's primitives: anonymous pages go to swap, page-cache pages
//! to their file. 2.6 has one inactive and one active list per zone, file and anonymous pages
//! mixed; mapped pages leave the active list only when `reclaim_mapped` (swap_tendency >=
//! 100). 6.x splits anon and file LRUs, scans anon only with free swap, and balances the two
//! by swappiness (60) in get_scan_count().
//!
//! Eviction is synchronous: a page written out is freed in the same pass (the kernel frees it
//! on a later pass, once the write completes and end_page_writeback() rotates it to the tail).

use super::Machine;
use crate::machine::lru::{
    ACTIVE, ACTIVE_ANON, ACTIVE_FILE, INACTIVE, INACTIVE_ANON, INACTIVE_FILE,
};
use crate::machine::mm::VmFlags;
use crate::machine::watermark::int_sqrt;
use crate::nodemask::NodeMask;
use crate::pagetable::pte;
use crate::phys::{mapping, pg, WMARK_HIGH, WMARK_LOW, WMARK_MIN};
use crate::semantics::Semantics;

/// SWAP_CLUSTER_MAX (include/linux/swap.h): the reclaim batch, and direct reclaim's target.
pub const SWAP_CLUSTER_MAX: u64 = 32;
/// DEF_PRIORITY (mm/vmscan.c): a scan at priority p looks at list_size >> p pages.
pub const DEF_PRIORITY: u32 = 12;
/// vm_swappiness's default (mm/vmscan.c, every generation).
pub const VM_SWAPPINESS: u64 = 60;
/// MAX_RECLAIM_RETRIES (6.x mm/internal.h): rounds without progress before OOM.
pub const MAX_RECLAIM_RETRIES: u32 = 16;

/// What shrink_page_list() / shrink_folio_list() did with one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Evicted and freed.
    Freed,
    /// activate_locked: back on the active list.
    Activate,
    /// keep / keep_locked: back at the head of its inactive list.
    Keep,
}

/// Where a logged frame belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// On this LRU list.
    List(usize),
    /// Allocated but not on the LRU now (a pagevec, isolated, just allocated): back to the log.
    Limbo,
    /// Free, or never on the LRU (the zero page, hugetlb pages): forgotten.
    Gone,
}

/// struct scan_control, the fields numasim uses.
struct ScanControl {
    priority: u32,
    nr_reclaimed: u64,
    /// 2.6: read_page_state(nr_mapped) and total_memory, for swap_tendency.
    nr_mapped: u64,
    total_memory: u64,
    /// 6.x prepare_scan_count(): may_deactivate (anon, file), force_deactivate,
    /// skipped_deactivate.
    may_deactivate: [bool; 2],
    force_deactivate: bool,
    skipped_deactivate: bool,
    /// Pages freed per node, by position in the node list (for the free generation check).
    freed: Vec<u64>,
}

/// get_scan_count()'s balance between the anon and file LRUs (6.x).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScanBalance {
    Equal,
    Fract,
    Anon,
    File,
}

/// inactive_is_low() (6.x): inactive * inactive_ratio < active, with the ratio
/// int_sqrt(10 * GiB of the two lists) (1 under a GiB).
fn inactive_is_low(inactive: u64, active: u64, page_shift: u32) -> bool {
    let gb = (inactive + active) >> (30 - page_shift);
    let ratio = if gb > 0 { int_sqrt(10 * gb) } else { 1 };
    inactive.saturating_mul(ratio) < active
}

impl Machine {
    // ----- the allocator ----------------------------------------------------------------

    /// One get_page_from_freelist() pass over `order` at watermark `mark`.
    fn alloc_pass(&mut self, order: &[u32], mark: usize) -> Option<u64> {
        order.iter().find_map(|&n| self.phys.alloc_wmark(n, mark))
    }

    /// The slow path of a user page allocation over the zonelist `order`, once the pass at
    /// the low mark has failed: the min mark, then direct reclaim over the zonelist (see the
    /// module documentation). None is the OOM killer's case (ENOMEM). `cpu` is the
    /// allocating CPU, whose pagevec reclaim drains first (lru_add_drain()).
    #[cold]
    #[inline(never)]
    pub(crate) fn alloc_slowpath(&mut self, order: &[u32], cpu: Option<u32>) -> Option<u64> {
        if let Some(p) = self.alloc_pass(order, WMARK_MIN) {
            return Some(p);
        }
        if self.semantics == Semantics::Modern {
            self.slowpath_6x(order, order, cpu)
        } else {
            self.slowpath_26(order, order, cpu, false)
        }
    }

    /// 2.6.16 alloc_pages_node(dest, GFP_HIGHUSER, 0) for a migration target: dest's zonelist
    /// within the allocating task's cpuset `mems` (no __GFP_THISNODE before 2.6.18), low mark
    /// first, then the slow path over the same nodes.
    pub(crate) fn alloc_pages_node(&mut self, dest: u32, mems: &NodeMask, cpu: u32) -> Option<u64> {
        let order: Vec<u32> =
            self.topo.zonelist(dest).iter().copied().filter(|&n| mems.test(n)).collect();
        let pfn = self
            .alloc_pass(&order, WMARK_LOW)
            .or_else(|| self.alloc_slowpath(&order, Some(cpu)))?;
        let head = self.topo.zonelist(dest).first().copied().unwrap_or(dest);
        self.zone_statistics(head, pfn, self.topo.cpu_to_node(cpu), false);
        Some(pfn)
    }

    /// A migration target on exactly `nid` (__GFP_THISNODE). Modern (6.x
    /// alloc_migration_target(): GFP_HIGHUSER_MOVABLE | __GFP_THISNODE, ZONELIST_NOFALLBACK):
    /// low, min, then direct reclaim of `nid` alone, retried as should_reclaim_retry() allows;
    /// never the OOM killer. 2.6.18 move_pages() on a 2.6.16 machine (new_page_node():
    /// GFP_HIGHUSER | GFP_THISNODE, which includes __GFP_NORETRY): low and min on `nid`, one
    /// try_to_free_pages() over nid's whole zonelist (2.6.18 filters only the allocation to
    /// the node, not the reclaim; the caller's cpuset is not applied here, UNCONFIRMED),
    /// one more try at the min mark, and no retry.
    /// `cpu` is the CPU of the task that migrates (its node is numa_node_id() for the
    /// numastat counters).
    #[inline]
    pub(crate) fn alloc_thisnode(&mut self, nid: u32, cpu: u32) -> Option<u64> {
        // __GFP_THISNODE: the page is nid's, whichever path found it.
        let pfn =
            self.phys.alloc_wmark(nid, WMARK_LOW).or_else(|| self.alloc_thisnode_slow(nid))?;
        self.zone_statistics_n(nid, nid, self.topo.cpu_to_node(cpu), false, 1);
        Some(pfn)
    }

    #[cold]
    #[inline(never)]
    fn alloc_thisnode_slow(&mut self, nid: u32) -> Option<u64> {
        if let Some(p) = self.phys.alloc_wmark(nid, WMARK_MIN) {
            return Some(p);
        }
        if self.semantics == Semantics::Modern {
            self.slowpath_6x(&[nid], &[nid], None)
        } else {
            let zl = self.topo.zonelist(nid).to_vec();
            self.slowpath_26(&[nid], &zl, None, true)
        }
    }

    /// __alloc_pages() from "rebalance:" on (2.6.16; text read in 2.6.18): try_to_free_pages()
    /// counts as progress only when it freed SWAP_CLUSTER_MAX pages; with progress the min
    /// mark is tried again and, for order 0 without __GFP_NORETRY, reclaim repeats; without,
    /// one pass at the high mark, then out_of_memory().
    fn slowpath_26(
        &mut self,
        alloc: &[u32],
        reclaim: &[u32],
        cpu: Option<u32>,
        noretry: bool,
    ) -> Option<u64> {
        loop {
            let progress = self.try_to_free_pages(reclaim, cpu) >= SWAP_CLUSTER_MAX;
            if progress {
                if let Some(p) = self.alloc_pass(alloc, WMARK_MIN) {
                    return Some(p);
                }
                if noretry {
                    return None;
                }
            } else {
                if noretry {
                    return None;
                }
                // "keep very high watermark here, this is only to catch a parallel oom
                // killing", then out_of_memory(): ENOMEM in numasim.
                return self.alloc_pass(alloc, WMARK_HIGH);
            }
        }
    }

    /// __alloc_pages_slowpath() from the first direct reclaim on (6.x): reclaim, the min mark
    /// again if it made progress, and should_reclaim_retry() decides whether to go round
    /// again. Then __alloc_pages_may_oom(), whose pass at the high mark cannot succeed where
    /// the min mark just failed; the OOM kill (or, with __GFP_THISNODE, the plain failure)
    /// is ENOMEM in numasim.
    fn slowpath_6x(&mut self, alloc: &[u32], reclaim: &[u32], cpu: Option<u32>) -> Option<u64> {
        let mut no_progress_loops = 0;
        loop {
            let progress = self.try_to_free_pages(reclaim, cpu);
            if progress > 0 {
                if let Some(p) = self.alloc_pass(alloc, WMARK_MIN) {
                    return Some(p);
                }
            }
            if !self.should_reclaim_retry(alloc, progress > 0, &mut no_progress_loops) {
                return None;
            }
        }
    }

    /// should_reclaim_retry() (6.x): give up after MAX_RECLAIM_RETRIES rounds in a row
    /// without progress, or when no node of the zonelist would pass its min mark even with
    /// every reclaimable page freed (zone_reclaimable_pages(): the file LRUs, and the anon
    /// LRUs while swap has free slots).
    fn should_reclaim_retry(&self, alloc: &[u32], progress: bool, loops: &mut u32) -> bool {
        if progress {
            *loops = 0;
        } else {
            *loops += 1;
        }
        if *loops > MAX_RECLAIM_RETRIES {
            return false;
        }
        let anon_ok = self.swap.free_slots() > 0;
        alloc.iter().any(|&nid| {
            self.phys.node(nid).is_some_and(|n| {
                let l = &n.lru.lists;
                let mut reclaimable = l[INACTIVE_FILE].pages() + l[ACTIVE_FILE].pages();
                if anon_ok {
                    reclaimable += l[INACTIVE_ANON].pages() + l[ACTIVE_ANON].pages();
                }
                reclaimable + n.nr_free() > n.wmark[WMARK_MIN]
            })
        })
    }

    // ----- try_to_free_pages --------------------------------------------------------------

    /// try_to_free_pages() over `nodes` (the allowed nodes of the zonelist, in order): the
    /// priority loop from DEF_PRIORITY down to 0, stopping once SWAP_CLUSTER_MAX pages are
    /// freed. Returns the pages freed.
    pub fn try_to_free_pages(&mut self, nodes: &[u32], cpu: Option<u32>) -> u64 {
        // shrink_inactive_list()/shrink_active_list() start with lru_add_drain(): this CPU's
        // pagevec reaches the LRU. Nothing is added to the LRU while reclaim runs, so once at
        // the start is the same.
        if let Some(c) = cpu.filter(|&c| (c as usize) < self.pagevecs.len()) {
            self.drain_cpu(c as usize);
        }
        let nodes: Vec<u32> = nodes
            .iter()
            .copied()
            .filter(|&n| self.phys.node(n).is_some_and(|x| x.pages > 0))
            .collect();
        for &n in &nodes {
            self.lru_refresh(n);
        }
        let mut sc = ScanControl {
            priority: DEF_PRIORITY,
            nr_reclaimed: 0,
            nr_mapped: 0,
            total_memory: 0,
            may_deactivate: [false; 2],
            force_deactivate: false,
            skipped_deactivate: false,
            freed: vec![0; nodes.len()],
        };
        if self.semantics == Semantics::Modern {
            self.do_try_to_free_pages_6x(&nodes, &mut sc);
        } else {
            self.try_to_free_pages_26(&nodes, &mut sc);
        }
        // The frames this call freed were taken off the lists first: they leave no stale
        // entry. Any other frame freed meanwhile (I/O that completed as time passed) does.
        for (i, &n) in nodes.iter().enumerate() {
            let node = self.phys.node_mut(n).expect("node");
            if node.free_gen() == node.lru.synced_gen + sc.freed[i] {
                node.lru_synced();
            }
        }
        sc.nr_reclaimed
    }

    /// try_to_free_pages() of 2.6.16 (shrink_caches / shrink_zone / shrink_cache /
    /// refill_inactive_zone; the text read is 2.6.18's shrink_zones / shrink_zone /
    /// shrink_inactive_list / shrink_active_list, the same loops).
    fn try_to_free_pages_26(&mut self, nodes: &[u32], sc: &mut ScanControl) {
        // mapped_ratio = nr_mapped * 100 / total_memory. numasim counts mapped PTEs (the
        // mms' rss), so a page mapped by several processes counts once per mapping
        // (UNCONFIRMED approximation of read_page_state(nr_mapped)); total_memory is
        // nr_free_pagecache_pages() at boot, the pages above the high marks.
        let mapped: u64 = self.mms.iter().flatten().map(|m| m.rss_anon + m.rss_file).sum();
        let total: u64 =
            self.phys.nodes.iter().map(|n| n.pages.saturating_sub(n.wmark[WMARK_HIGH])).sum();
        sc.total_memory = total.max(1);
        sc.nr_mapped = mapped.min(sc.total_memory);
        let mut priority = DEF_PRIORITY;
        loop {
            sc.priority = priority;
            for (i, &n) in nodes.iter().enumerate() {
                // shrink_caches(): zone->temp_priority = priority, prev_priority follows it
                // down (note_zone_scanning_priority() in 2.6.18). all_unreclaimable is set
                // by kswapd only, which is not modelled.
                let lru = &mut self.phys.node_mut(n).expect("node").lru;
                lru.prev_priority = lru.prev_priority.min(priority);
                self.shrink_zone_26(n, i, sc);
            }
            if sc.nr_reclaimed >= SWAP_CLUSTER_MAX || priority == 0 {
                break;
            }
            priority -= 1;
        }
        // "out:": every zone remembers the priority this call reached.
        for &n in nodes {
            self.phys.node_mut(n).expect("node").lru.prev_priority = priority;
        }
    }

    /// shrink_zone() (2.6): scan credit (nr_active >> priority) + 1 and (nr_inactive >>
    /// priority) + 1 accumulates in the zone until it reaches SWAP_CLUSTER_MAX, then both
    /// lists are worked in SWAP_CLUSTER_MAX batches, alternately.
    fn shrink_zone_26(&mut self, nid: u32, idx: usize, sc: &mut ScanControl) {
        let p = sc.priority;
        let lru = &mut self.phys.node_mut(nid).expect("node").lru;
        lru.nr_scan_active += (lru.lists[ACTIVE].pages() >> p) + 1;
        let mut nr_active = lru.nr_scan_active;
        if nr_active >= SWAP_CLUSTER_MAX {
            lru.nr_scan_active = 0;
        } else {
            nr_active = 0;
        }
        lru.nr_scan_inactive += (lru.lists[INACTIVE].pages() >> p) + 1;
        let mut nr_inactive = lru.nr_scan_inactive;
        if nr_inactive >= SWAP_CLUSTER_MAX {
            lru.nr_scan_inactive = 0;
        } else {
            nr_inactive = 0;
        }
        while nr_active > 0 || nr_inactive > 0 {
            if nr_active > 0 {
                let k = nr_active.min(SWAP_CLUSTER_MAX);
                nr_active -= k;
                self.shrink_active_26(nid, k, sc);
            }
            if nr_inactive > 0 {
                let k = nr_inactive.min(SWAP_CLUSTER_MAX);
                nr_inactive -= k;
                let freed = self.shrink_inactive(nid, INACTIVE, SWAP_CLUSTER_MAX, k);
                sc.nr_reclaimed += freed;
                sc.freed[idx] += freed;
            }
        }
    }

    /// refill_inactive_zone() (2.6.16; shrink_active_list() in 2.6.18): `nr` pages from the
    /// tail of the active list. An unmapped page goes to the inactive list. A mapped one
    /// stays active unless `reclaim_mapped`, and even then if it is anonymous with no swap
    /// configured, or referenced (its young bits are cleared as they are read):
    /// swap_tendency = mapped_ratio / 2 + distress + vm_swappiness >= 100, with
    /// distress = 100 >> zone->prev_priority.
    fn shrink_active_26(&mut self, nid: u32, nr: u64, sc: &ScanControl) {
        let prev = self.phys.node(nid).expect("node").lru.prev_priority;
        let distress = 100u64 >> prev.min(63);
        let mapped_ratio = sc.nr_mapped * 100 / sc.total_memory;
        let reclaim_mapped = mapped_ratio / 2 + distress + VM_SWAPPINESS >= 100;
        let no_swap = self.swap.total_slots() == 0;
        let mut batch = Vec::new();
        self.lru_isolate(nid, ACTIVE, nr, &mut batch);
        for pfn in batch {
            let f = self.phys.flags(pfn);
            let keep = pfn == self.phys.reclaim_hold
                || (self.phys.mapcount(pfn) > 0
                    && (!reclaim_mapped
                        || (no_swap && f & pg::ANON != 0)
                        || self.page_referenced_26(pfn, false) > 0));
            if keep {
                self.lru_putback(nid, ACTIVE, pfn);
            } else {
                *self.phys.flags_mut(pfn) &= !pg::ACTIVE;
                self.lru_putback(nid, INACTIVE, pfn);
            }
        }
    }

    /// page_referenced() (2.6.16): PG_referenced (cleared) plus each young PTE (cleared). A
    /// mapped file page someone else holds locked counts as referenced when the caller does
    /// not hold the lock itself (`is_locked` false).
    fn page_referenced_26(&mut self, pfn: u64, is_locked: bool) -> u32 {
        let f = self.phys.flags(pfn);
        let mut r = 0;
        if f & pg::REFERENCED != 0 {
            *self.phys.flags_mut(pfn) &= !pg::REFERENCED;
            r += 1;
        }
        if self.phys.mapcount(pfn) > 0 {
            if f & pg::ANON == 0 && !is_locked && f & pg::LOCKED != 0 {
                r += 1;
            } else {
                r += self.clear_young(pfn).0;
            }
        }
        r
    }

    /// The young PTEs of a page, each cleared as it is counted (ptep_clear_flush_young()),
    /// with the OR of the vm_flags of the areas they lie in.
    fn clear_young(&mut self, pfn: u64) -> (u32, u32) {
        let mut n = 0;
        let mut vm_flags = 0;
        for r in self.rmap_walk(pfn) {
            if let Some(p) = self.mm_mut(r.mm).pt.get_mut(r.lvpn) {
                if *p & pte::YOUNG != 0 {
                    *p &= !pte::YOUNG;
                    n += 1;
                    vm_flags |= r.vm_flags;
                }
            }
        }
        (n, vm_flags)
    }

    /// page_mapping_inuse() (2.6): mapped, in the swap cache, or a page of a file someone
    /// maps.
    fn page_mapping_inuse(&self, pfn: u64) -> bool {
        let f = self.phys.flags(pfn);
        if self.phys.mapcount(pfn) > 0 || f & pg::SWAPCACHE != 0 {
            return true;
        }
        f & pg::PAGECACHE != 0
            && self
                .files
                .get(mapping::id(self.phys.mapping(pfn)) as usize)
                .and_then(Option::as_ref)
                .is_some_and(|file| !file.mappers.is_empty())
    }

    /// shrink_page_list() for one page (2.6.16; 2.6.18 text): locked or under writeback:
    /// keep; referenced and in use: activate; anonymous without a free swap slot
    /// (add_to_swap() fails): activate; mapped in a VM_LOCKED area (try_to_unmap() SWAP_FAIL):
    /// activate; dirty and referenced: keep; else unmap, write and free it (reclaim.rs).
    fn shrink_page_26(&mut self, pfn: u64) -> Verdict {
        if pfn == self.phys.reclaim_hold {
            return Verdict::Keep;
        }
        let f = self.phys.flags(pfn);
        if f & (pg::LOCKED | pg::WRITEBACK) != 0 {
            return Verdict::Keep;
        }
        let referenced = self.page_referenced_26(pfn, true);
        if referenced > 0 && self.page_mapping_inuse(pfn) {
            return Verdict::Activate;
        }
        if f & (pg::ANON | pg::SWAPCACHE) == pg::ANON && self.swap.free_slots() == 0 {
            return Verdict::Activate;
        }
        if self.phys.mapcount(pfn) > 0 && self.mapped_in_locked_vma(pfn) {
            return Verdict::Activate;
        }
        if referenced > 0 && self.phys.flags(pfn) & pg::DIRTY != 0 {
            return Verdict::Keep;
        }
        self.reclaim_evict(pfn)
    }

    /// Hands a page to reclaim.rs's eviction (shrink_list's unmap, pageout, remove_mapping);
    /// it counts as freed only if its frame is free afterwards.
    fn reclaim_evict(&mut self, pfn: u64) -> Verdict {
        if self.evict(pfn, super::reclaim::Scan::Pressure) && self.phys.flags(pfn) & pg::ALLOC == 0
        {
            Verdict::Freed
        } else {
            Verdict::Keep
        }
    }

    /// do_try_to_free_pages() (6.x): shrink_zones() (each node once) at each priority until
    /// SWAP_CLUSTER_MAX pages are freed; nothing freed because deactivation was skipped:
    /// once more with force_deactivate.
    fn do_try_to_free_pages_6x(&mut self, nodes: &[u32], sc: &mut ScanControl) {
        loop {
            let mut priority = DEF_PRIORITY;
            loop {
                sc.priority = priority;
                for (i, &n) in nodes.iter().enumerate() {
                    self.shrink_node_6x(n, i, sc);
                }
                if sc.nr_reclaimed >= SWAP_CLUSTER_MAX || priority == 0 {
                    break;
                }
                priority -= 1;
            }
            if sc.nr_reclaimed > 0 || !sc.skipped_deactivate || sc.force_deactivate {
                return;
            }
            sc.force_deactivate = true;
            sc.skipped_deactivate = false;
        }
    }

    /// shrink_node() (6.x, classic LRU; MGLRU is not modelled): prepare_scan_count(),
    /// get_scan_count() and shrink_lruvec() for one node.
    fn shrink_node_6x(&mut self, nid: u32, idx: usize, sc: &mut ScanControl) {
        let ps = self.arch.page_shift;
        let p = sc.priority;
        let (sizes, free, high) = {
            let n = self.phys.node(nid).expect("node");
            let l = &n.lru.lists;
            (
                [l[0].pages(), l[1].pages(), l[2].pages(), l[3].pages()],
                n.nr_free(),
                n.wmark[WMARK_HIGH],
            )
        };
        // prepare_scan_count(): deactivate a type whose inactive list is low (refaults are
        // not modelled); cache_trim_mode when inactive file pages suffice; file_is_tiny.
        sc.may_deactivate = if sc.force_deactivate {
            [true, true]
        } else {
            [
                inactive_is_low(sizes[INACTIVE_ANON], sizes[ACTIVE_ANON], ps),
                inactive_is_low(sizes[INACTIVE_FILE], sizes[ACTIVE_FILE], ps),
            ]
        };
        let cache_trim_mode = sizes[INACTIVE_FILE] >> p != 0 && !sc.may_deactivate[1];
        let file_is_tiny = sizes[INACTIVE_FILE] + sizes[ACTIVE_FILE] + free <= high
            && !sc.may_deactivate[0]
            && sizes[INACTIVE_ANON] >> p != 0;
        let mut nr = self.get_scan_count(sizes, p, cache_trim_mode, file_is_tiny);
        let targets = nr;
        // Direct reclaim at DEF_PRIORITY does not stop at nr_to_reclaim
        // (proportional_reclaim): "it is best to do a batch of work at once".
        let proportional_reclaim = p == DEF_PRIORITY;
        let mut reclaimed = 0;
        while nr[INACTIVE_ANON] > 0 || nr[ACTIVE_FILE] > 0 || nr[INACTIVE_FILE] > 0 {
            // for_each_evictable_lru(): inactive anon, active anon, inactive file, active file.
            for (lru, left) in nr.iter_mut().enumerate() {
                if *left > 0 {
                    let k = (*left).min(SWAP_CLUSTER_MAX);
                    *left -= k;
                    reclaimed += self.shrink_list_6x(nid, lru, k, sc);
                }
            }
            if reclaimed < SWAP_CLUSTER_MAX || proportional_reclaim {
                continue;
            }
            // Enough: stop scanning the smaller type, and scan the larger only as far as the
            // smaller got through its target.
            let nr_file = nr[INACTIVE_FILE] + nr[ACTIVE_FILE];
            let nr_anon = nr[INACTIVE_ANON] + nr[ACTIVE_ANON];
            if nr_file == 0 || nr_anon == 0 {
                break;
            }
            let (small, percentage) = if nr_file > nr_anon {
                let target = targets[INACTIVE_ANON] + targets[ACTIVE_ANON] + 1;
                (INACTIVE_ANON, nr_anon * 100 / target)
            } else {
                let target = targets[INACTIVE_FILE] + targets[ACTIVE_FILE] + 1;
                (INACTIVE_FILE, nr_file * 100 / target)
            };
            nr[small] = 0;
            nr[small + 1] = 0;
            let big = if small == INACTIVE_FILE { INACTIVE_ANON } else { INACTIVE_FILE };
            for lru in [big, big + 1] {
                let scanned = targets[lru] - nr[lru];
                nr[lru] = targets[lru] * (100 - percentage) / 100;
                nr[lru] -= nr[lru].min(scanned);
            }
        }
        sc.nr_reclaimed += reclaimed;
        sc.freed[idx] += reclaimed;
        // "Even if we did not try to evict anon pages at all, we want to rebalance the anon
        // lru active/inactive ratio" (can_age_anon_pages(): swap is configured).
        if self.swap.total_slots() > 0 {
            let l = &self.phys.node(nid).expect("node").lru.lists;
            if inactive_is_low(l[INACTIVE_ANON].pages(), l[ACTIVE_ANON].pages(), ps) {
                self.shrink_active_6x(nid, ACTIVE_ANON, SWAP_CLUSTER_MAX);
            }
        }
    }

    /// get_scan_count() (6.x): how many pages of each list to scan at this priority. No
    /// free swap: file only; priority 0: all lists alike; file_is_tiny: anon only;
    /// cache_trim_mode: file only; otherwise by swappiness, anon:file = 60:140 (the
    /// refault costs that tilt it are not modelled).
    fn get_scan_count(
        &self,
        sizes: [u64; 4],
        priority: u32,
        cache_trim_mode: bool,
        file_is_tiny: bool,
    ) -> [u64; 4] {
        let balance = if self.swap.free_slots() == 0 {
            ScanBalance::File
        } else if priority == 0 {
            ScanBalance::Equal
        } else if file_is_tiny {
            ScanBalance::Anon
        } else if cache_trim_mode {
            ScanBalance::File
        } else {
            ScanBalance::Fract
        };
        // anon_cost = file_cost = 0: ap = swappiness, fp = 200 - swappiness.
        let fraction = [VM_SWAPPINESS, 200 - VM_SWAPPINESS];
        let mut nr = [0; 4];
        for (lru, n) in nr.iter_mut().enumerate() {
            let file = usize::from(lru >= INACTIVE_FILE);
            let scan = sizes[lru] >> priority;
            *n = match balance {
                ScanBalance::Equal => scan,
                ScanBalance::Fract => scan * fraction[file] / 200,
                ScanBalance::File => scan * u64::from(file == 1),
                ScanBalance::Anon => scan * u64::from(file == 0),
            };
        }
        nr
    }

    /// shrink_list() (6.x): an active list is aged only if its type may be deactivated.
    fn shrink_list_6x(&mut self, nid: u32, lru: usize, nr: u64, sc: &mut ScanControl) -> u64 {
        if lru == ACTIVE_ANON || lru == ACTIVE_FILE {
            if sc.may_deactivate[usize::from(lru == ACTIVE_FILE)] {
                self.shrink_active_6x(nid, lru, nr);
            } else {
                sc.skipped_deactivate = true;
            }
            return 0;
        }
        self.shrink_inactive(nid, lru, nr, nr)
    }

    /// shrink_active_list() (6.x): `nr` pages from the tail of an active list go to the
    /// inactive list of their type, referenced or not, except referenced file pages of
    /// executable mappings, which go round the active list once more. Pages of VM_LOCKED
    /// areas would be on the unevictable list; numasim leaves them where they are.
    fn shrink_active_6x(&mut self, nid: u32, lru: usize, nr: u64) {
        let mut batch = Vec::new();
        self.lru_isolate(nid, lru, nr, &mut batch);
        for pfn in batch {
            if pfn == self.phys.reclaim_hold
                || (self.phys.mapcount(pfn) > 0 && self.mapped_in_locked_vma(pfn))
            {
                self.lru_putback(nid, lru, pfn);
                continue;
            }
            let (young, vm_flags) = self.clear_young(pfn);
            if young > 0 && vm_flags & VmFlags::EXEC != 0 && lru == ACTIVE_FILE {
                self.lru_putback(nid, lru, pfn);
                continue;
            }
            *self.phys.flags_mut(pfn) &= !pg::ACTIVE;
            self.lru_putback(nid, lru - 1, pfn);
        }
    }

    /// shrink_folio_list() for one page (6.1): locked: keep; in a VM_LOCKED area or under
    /// writeback: activate; folio_check_references(): young PTEs set PG_referenced and keep
    /// the page for another trip, or activate it if it was referenced before, is mapped
    /// young more than once, or is an executable file page; anonymous without a free swap
    /// slot: activate; a dirty file page is unmapped and activated (direct reclaim leaves
    /// writeback to the flushers); else evicted (reclaim.rs).
    fn shrink_folio_6x(&mut self, pfn: u64) -> Verdict {
        if pfn == self.phys.reclaim_hold {
            return Verdict::Keep;
        }
        let f = self.phys.flags(pfn);
        if f & pg::LOCKED != 0 {
            return Verdict::Keep;
        }
        let mapped = self.phys.mapcount(pfn) > 0;
        if (mapped && self.mapped_in_locked_vma(pfn)) || f & pg::WRITEBACK != 0 {
            return Verdict::Activate;
        }
        let file = self.is_file_lru(f, pfn);
        let (young, vm_flags) = self.clear_young(pfn);
        let referenced_folio = f & pg::REFERENCED != 0;
        *self.phys.flags_mut(pfn) &= !pg::REFERENCED;
        if young > 0 {
            *self.phys.flags_mut(pfn) |= pg::REFERENCED;
            if referenced_folio || young > 1 || (vm_flags & VmFlags::EXEC != 0 && file) {
                return Verdict::Activate;
            }
            return Verdict::Keep;
        }
        if f & (pg::ANON | pg::SWAPCACHE) == pg::ANON && self.swap.free_slots() == 0 {
            return Verdict::Activate;
        }
        if file {
            if mapped && self.try_to_unmap(pfn, true).is_err() {
                return Verdict::Activate;
            }
            if self.phys.flags(pfn) & pg::DIRTY != 0 {
                return Verdict::Activate;
            }
        }
        self.reclaim_evict(pfn)
    }

    /// shrink_inactive_list() / 2.6 shrink_cache(): batches of up to `batch` pages from the
    /// tail of inactive list `lru` until `max_scan` pages were taken; each page is evicted,
    /// activated or kept (back at the head). Returns the pages freed.
    fn shrink_inactive(&mut self, nid: u32, lru: usize, batch_size: u64, max_scan: u64) -> u64 {
        let modern = self.semantics == Semantics::Modern;
        let mut scanned = 0;
        let mut freed = 0;
        let mut batch = Vec::new();
        loop {
            batch.clear();
            self.lru_isolate(nid, lru, batch_size, &mut batch);
            if batch.is_empty() {
                break;
            }
            scanned += batch.len() as u64;
            for &pfn in &batch {
                let v = if modern { self.shrink_folio_6x(pfn) } else { self.shrink_page_26(pfn) };
                match v {
                    Verdict::Freed => freed += 1,
                    Verdict::Activate => {
                        *self.phys.flags_mut(pfn) |= pg::ACTIVE;
                        self.lru_putback(nid, lru + 1, pfn);
                    }
                    Verdict::Keep => self.lru_putback(nid, lru, pfn),
                }
            }
            if scanned >= max_scan {
                break;
            }
        }
        let l = &mut self.phys.node_mut(nid).expect("node").lru;
        l.pgscan += scanned;
        l.pgsteal += freed;
        freed
    }

    // ----- the lists ----------------------------------------------------------------------

    /// page_is_file_lru() (6.x): a page-cache page of a file that is not shmem (shmem and
    /// anonymous pages are swap-backed and live on the anon LRUs).
    pub(crate) fn is_file_lru(&self, f: u16, pfn: u64) -> bool {
        f & pg::PAGECACHE != 0
            && !self
                .files
                .get(mapping::id(self.phys.mapping(pfn)) as usize)
                .and_then(Option::as_ref)
                .is_some_and(|file| file.shmem)
    }

    /// Which list a frame belongs on now, by its flags.
    fn lru_class(&self, pfn: u64) -> Class {
        let f = self.phys.flags(pfn);
        if f & pg::ALLOC == 0 || f & (pg::HUGE | pg::RESERVED) != 0 {
            return Class::Gone;
        }
        if f & pg::LRU == 0 || f & (pg::ISOLATED | pg::PAGEVEC) != 0 {
            return Class::Limbo;
        }
        let active = usize::from(f & pg::ACTIVE != 0);
        if self.semantics != Semantics::Modern {
            return Class::List(INACTIVE + active);
        }
        let base = if self.is_file_lru(f, pfn) { INACTIVE_FILE } else { INACTIVE_ANON };
        Class::List(base + active)
    }

    /// Sorts the frames allocated since the last scan into the node's lists (their place:
    /// behind everything already listed, in allocation order), after cleaning the lists of
    /// stale entries if frames were freed meanwhile.
    fn lru_refresh(&mut self, nid: u32) {
        let runs = self.phys.node_mut(nid).expect("node").lru_prepare();
        for (s, l) in runs {
            for pfn in s..s + l {
                match self.lru_class(pfn) {
                    Class::List(i) => self.lru_putback(nid, i, pfn),
                    Class::Limbo => self.phys.node_mut(nid).expect("node").lru.relog(pfn),
                    Class::Gone => {}
                }
            }
        }
    }

    /// isolate_lru_pages(): up to `want` pages from the tail of list `lru` into `batch`. An
    /// entry whose page is no longer on that list is dealt with as it comes: a page on
    /// another list moves there, a page off the LRU goes back to the log, a free frame is
    /// dropped.
    fn lru_isolate(&mut self, nid: u32, lru: usize, want: u64, batch: &mut Vec<u64>) {
        let start = batch.len() as u64;
        while (batch.len() as u64) - start < want {
            let Some(pfn) = self.phys.node_mut(nid).expect("node").lru.lists[lru].pop() else {
                break;
            };
            match self.lru_class(pfn) {
                Class::List(i) if i == lru => batch.push(pfn),
                Class::List(i) => self.lru_putback(nid, i, pfn),
                Class::Limbo => self.phys.node_mut(nid).expect("node").lru.relog(pfn),
                Class::Gone => {}
            }
        }
    }

    /// Puts a page at the head of list `lru` (add_page_to_*_list: list_add).
    fn lru_putback(&mut self, nid: u32, lru: usize, pfn: u64) {
        self.phys.node_mut(nid).expect("node").lru.lists[lru].push(pfn);
    }

    /// The node's LRU lists in reclaim order (tail first), after sorting in the pages
    /// allocated since the last scan: 2.6 uses lists 0 (inactive) and 1 (active); 6.x
    /// inactive anon, active anon, inactive file, active file. For tests and reports.
    pub fn lru_lists(&mut self, nid: u32) -> [Vec<u64>; 4] {
        if self.phys.node(nid).is_none() {
            return Default::default();
        }
        self.lru_refresh(nid);
        let mut out: [Vec<u64>; 4] = Default::default();
        for (i, o) in out.iter_mut().enumerate() {
            let l = &self.phys.node(nid).expect("node").lru.lists[i];
            o.extend(l.iter().filter(|&p| self.lru_class(p) == Class::List(i)));
        }
        out
    }
}
