//! The hugetlb pool (mm/hugetlb.c, one hstate: the arch's default huge page size).
//!
//! Per node, as the kernel keeps them in struct hstate: `nr_huge_pages_node` (pool pages on
//! the node, free or in use, surplus included), `surplus_huge_pages_node`, and the free list
//! `hugepage_freelists[nid]` (free_huge_pages_node is its length). Globally
//! `nr_overcommit_huge_pages`. The kernel does not mark which page is surplus: a per-node
//! count decides, when a page is freed, whether it goes back to the buddy allocator
//! (`free_huge_folio()`).
//!
//! A pool page is an aligned run of `huge_page_size >> PAGE_SHIFT` frames taken from the free
//! extents (`alloc_contig_on`), flagged `PG_huge`; while free it has no mapping, mapcount or
//! content. Mapped, it is mapped with one PTE per base page (see fault.rs `hugetlb_fault`).
//!
//! numasim's default is an empty pool with unlimited overcommit, so that a MAP_HUGETLB fault
//! always finds a surplus page while the node has the memory (the behaviour before the pool
//! existed); the kernel's defaults (0 and 0) are `nr_overcommit_hugepages=0`. Reservations
//! (hugetlb_reserve_pages() at mmap, HugePages_Rsvd) are not modelled: every hugetlb
//! mapping behaves as MAP_NORESERVE, so a missing page is a SIGBUS at fault, not an ENOMEM
//! at mmap.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::phys::{pg, WMARK_MIN};

/// One node's share of the pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolNode {
    /// nr_huge_pages_node: pool pages on the node, free or in use, surplus included.
    pub total: u64,
    /// surplus_huge_pages_node.
    pub surplus: u64,
    /// hugepage_freelists[nid]: head pfns of the free pool pages (dequeued from the end, as
    /// the kernel takes the list's first entry after enqueueing at the head).
    pub free: Vec<u64>,
}

/// The pool of one hstate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Pool {
    /// Indexed by node id (nodes without memory stay empty).
    pub nodes: Vec<PoolNode>,
    /// nr_overcommit_hugepages; None: unlimited (numasim's default, see the module text).
    pub overcommit: Option<u64>,
    /// next_nid_to_alloc / next_nid_to_free: the round-robin cursors of
    /// for_each_node_mask_to_alloc() / for_each_node_mask_to_free().
    next_alloc: usize,
    next_free: usize,
}

/// Per-node counts as node meminfo shows them (hugetlb_report_node_meminfo()).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolCounts {
    pub total: u64,
    pub free: u64,
    pub surplus: u64,
}

impl Pool {
    pub fn new(nr_nodes: usize) -> Pool {
        Pool { nodes: vec![PoolNode::default(); nr_nodes], ..Pool::default() }
    }
    pub fn total(&self) -> u64 {
        self.nodes.iter().map(|n| n.total).sum()
    }
    pub fn surplus(&self) -> u64 {
        self.nodes.iter().map(|n| n.surplus).sum()
    }
    pub fn free(&self) -> u64 {
        self.nodes.iter().map(|n| n.free.len() as u64).sum()
    }
    /// persistent_huge_pages(): nr_huge_pages - surplus_huge_pages.
    pub fn persistent(&self) -> u64 {
        self.total() - self.surplus()
    }
    fn surplus_allowed(&self) -> bool {
        self.overcommit.is_none_or(|o| self.surplus() < o)
    }
    /// The next node of `allowed` from `cursor`, round robin (hstate_next_node_to_alloc/free).
    fn next(cursor: &mut usize, allowed: &[u32], pick: impl Fn(u32) -> bool) -> Option<u32> {
        for k in 0..allowed.len() {
            let nid = allowed[(*cursor + k) % allowed.len()];
            if pick(nid) {
                *cursor = (*cursor + k + 1) % allowed.len();
                return Some(nid);
            }
        }
        None
    }
}

impl Machine {
    /// Base pages per hugetlb page (pages_per_huge_page()).
    pub fn hugetlb_nr(&self) -> u64 {
        self.arch.huge_page_size() >> self.arch.page_shift
    }

    /// The pool's counts on node `nid` (HugePages_Total/Free/Surp of nodeN/meminfo).
    pub fn hugetlb_counts(&self, nid: u32) -> PoolCounts {
        self.hugetlb.nodes.get(nid as usize).map_or_else(PoolCounts::default, |n| PoolCounts {
            total: n.total,
            free: n.free.len() as u64,
            surplus: n.surplus,
        })
    }

    /// /proc/sys/vm/nr_hugepages (node None: persistent_huge_pages()) or
    /// nodeN/hugepages/hugepages-<size>kB/nr_hugepages (nr_huge_pages_node[nid], surplus
    /// included, as nr_hugepages_show_common() prints it).
    pub fn nr_hugepages(&self, node: Option<u32>) -> Result<u64> {
        match node {
            None => Ok(self.hugetlb.persistent()),
            Some(nid) => {
                self.hugetlb_node_check(nid)?;
                Ok(self.hugetlb.nodes[nid as usize].total)
            }
        }
    }

    fn hugetlb_node_check(&self, nid: u32) -> Result<()> {
        if self.phys.node(nid).is_some_and(|n| n.pages > 0) {
            Ok(())
        } else {
            Err(Error::value(format!(
                "nr_hugepages: node {nid} is not a node with memory (the memory nodes are {:?})",
                self.topo.n_memory.iter().collect::<Vec<u32>>()
            )))
        }
    }

    /// /proc/sys/vm/nr_overcommit_hugepages (None: unlimited, numasim's default).
    pub fn set_nr_overcommit_hugepages(&mut self, n: Option<u64>) {
        self.hugetlb.overcommit = n;
    }

    /// Writing nr_hugepages: __nr_hugepages_store_common() then set_max_huge_pages(). For a
    /// node, the count is made global ("count += persistent_huge_pages(h) -
    /// (nr_huge_pages_node[nid] - surplus_huge_pages_node[nid])") and allocations and frees
    /// are restricted to that node. Growing turns surplus pages into persistent ones first,
    /// then allocates fresh pages (__GFP_THISNODE, round robin over the nodes) until the count
    /// or a failure; shrinking frees free pages (round robin) down to the pages in use, and
    /// pages in use beyond the count become surplus (adjust_pool_surplus()). As in the
    /// kernel, a request the memory cannot meet leaves the pool smaller than asked: read
    /// nr_hugepages back.
    pub fn set_nr_hugepages(&mut self, count: u64, node: Option<u32>) -> Result<()> {
        let allowed: Vec<u32> = match node {
            Some(nid) => {
                self.hugetlb_node_check(nid)?;
                vec![nid]
            }
            None => self.topo.n_memory.iter().collect(),
        };
        let count = match node {
            Some(nid) => {
                // __nr_hugepages_store_common(), in unsigned long arithmetic: "count +=
                // persistent_huge_pages(h) - (h->nr_huge_pages_node[nid] -
                // h->surplus_huge_pages_node[nid]); if (count < old_count) count = ULONG_MAX".
                // A node's surplus can exceed its pages (see below), and the kernel's
                // subtraction then wraps; so does this one.
                let n = &self.hugetlb.nodes[nid as usize];
                let node_persistent = n.total.wrapping_sub(n.surplus);
                let c = count.wrapping_add(self.hugetlb.persistent().wrapping_sub(node_persistent));
                if c < count {
                    u64::MAX
                } else {
                    c
                }
            }
            None => count,
        };
        let nr = self.hugetlb_nr();
        // "while (h->surplus_huge_pages && count > persistent_huge_pages(h))"
        while self.hugetlb.surplus() > 0 && count > self.hugetlb.persistent() {
            let pool = &mut self.hugetlb;
            let nodes = &pool.nodes;
            let Some(nid) =
                Pool::next(&mut pool.next_alloc, &allowed, |n| nodes[n as usize].surplus > 0)
            else {
                break;
            };
            pool.nodes[nid as usize].surplus -= 1;
        }
        // "while (count > persistent_huge_pages(h))": alloc_pool_huge_folio().
        while count > self.hugetlb.persistent() {
            crate::interrupt::check()?;
            let mut got = None;
            for _ in 0..allowed.len() {
                let nid = allowed[self.hugetlb.next_alloc % allowed.len()];
                self.hugetlb.next_alloc = (self.hugetlb.next_alloc + 1) % allowed.len();
                if let Some(head) = self.hugetlb_alloc_fresh(nid) {
                    got = Some((nid, head));
                    break;
                }
            }
            let Some((nid, head)) = got else { break };
            let n = &mut self.hugetlb.nodes[nid as usize];
            n.total += 1;
            n.free.push(head);
        }
        // min_count: the pages in use cannot be freed.
        let in_use = self.hugetlb.total() - self.hugetlb.free();
        let min_count = count.max(in_use);
        // remove_pool_hugetlb_folio(h, nodes_allowed, acct_surplus = 0): a free page of any
        // allowed node goes, its node's surplus count untouched, so a node may be left with
        // more surplus than pages (surplus_huge_pages_node[] > nr_huge_pages_node[]), as in
        // the kernel; the global counts stay ordered (persistent_huge_pages() >= min_count).
        while min_count < self.hugetlb.persistent() {
            let pool = &mut self.hugetlb;
            let nodes = &pool.nodes;
            let Some(nid) =
                Pool::next(&mut pool.next_free, &allowed, |n| !nodes[n as usize].free.is_empty())
            else {
                break;
            };
            let n = &mut pool.nodes[nid as usize];
            let head = n.free.pop().expect("a free page: checked");
            n.total -= 1;
            self.hugetlb_free_to_buddy(head, nr);
        }
        // "while (count < persistent_huge_pages(h)) adjust_pool_surplus(h, nodes, 1)"
        while count < self.hugetlb.persistent() {
            let pool = &mut self.hugetlb;
            let nodes = &pool.nodes;
            let Some(nid) = Pool::next(&mut pool.next_free, &allowed, |n| {
                nodes[n as usize].surplus < nodes[n as usize].total
            }) else {
                break;
            };
            pool.nodes[nid as usize].surplus += 1;
        }
        Ok(())
    }

    /// alloc_fresh_hugetlb_folio() on `nid` only (__GFP_THISNODE, __GFP_RETRY_MAYFAIL: down to
    /// the min watermark; no compaction is modelled, so a fragmented node has none).
    pub(crate) fn hugetlb_alloc_fresh(&mut self, nid: u32) -> Option<u64> {
        let nr = self.hugetlb_nr();
        let node = self.phys.node(nid)?;
        if node.nr_free() < nr + node.wmark[WMARK_MIN] {
            return None;
        }
        self.phys.alloc_contig_on(nid, nr)
    }

    fn hugetlb_free_to_buddy(&mut self, head: u64, nr: u64) {
        let mut frames: Vec<u64> = (head..head + nr).collect();
        self.phys.free_many(&mut frames);
    }

    /// alloc_hugetlb_folio() for a fault, without reservations: dequeue_hugetlb_folio_vma()
    /// along the policy's nodes (huge_node() and the zonelist: `nodes`), else a surplus page
    /// (alloc_buddy_hugetlb_folio_with_mpol() -> alloc_surplus_hugetlb_folio(): while
    /// surplus_huge_pages < nr_overcommit_huge_pages, along the same nodes). None: the fault
    /// is VM_FAULT_SIGBUS (-ENOSPC).
    pub(crate) fn hugetlb_alloc_fault(&mut self, nodes: &[u32]) -> Option<u64> {
        for &nid in nodes {
            if let Some(head) = self.hugetlb.nodes.get_mut(nid as usize).and_then(|n| n.free.pop())
            {
                return Some(head);
            }
        }
        if !self.hugetlb.surplus_allowed() {
            return None;
        }
        for &nid in nodes {
            if let Some(head) = self.hugetlb_alloc_fresh(nid) {
                let n = &mut self.hugetlb.nodes[nid as usize];
                n.total += 1;
                n.surplus += 1;
                return Some(head);
            }
        }
        None
    }

    /// free_huge_folio(): a page nothing maps any more goes back to its node's free list, or
    /// to the buddy allocator while the node has surplus pages ("if
    /// (h->surplus_huge_pages_node[nid])"). Its frames read zero again (the next fault clears
    /// the page: clear_huge_page()).
    pub(crate) fn free_huge_folio(&mut self, head: u64) {
        let nr = self.hugetlb_nr();
        let nid = self.phys.pfn_to_nid(head);
        let n = &mut self.hugetlb.nodes[nid as usize];
        debug_assert!(!n.free.contains(&head), "freeing the free huge page {head:#x} again");
        if n.surplus > 0 {
            n.surplus -= 1;
            n.total -= 1;
            self.hugetlb_free_to_buddy(head, nr);
            return;
        }
        for p in head..head + nr {
            self.phys.set_mapping(p, 0);
            self.phys.set_stamp(p, 0);
            *self.phys.flags_mut(p) = pg::ALLOC | pg::HUGE;
        }
        self.hugetlb.nodes[nid as usize].free.push(head);
    }

    /// The last reference to a frame of a hugetlb page went (free_if_orphan()): when no frame
    /// of the page is mapped, pinned or isolated any more, the page is freed whole. Only the
    /// page's last frame is looked at until it is unmapped, so an unmap in address order
    /// costs O(1) per frame and one scan per page.
    pub(crate) fn hugetlb_put(&mut self, pfn: u64) {
        let nr = self.hugetlb_nr();
        let head = pfn / nr * nr;
        if self.phys.mapcount(head + nr - 1) != 0 {
            return;
        }
        for p in head..head + nr {
            if self.phys.mapcount(p) != 0
                || self.phys.flags(p) & pg::ISOLATED != 0
                || self.pins.contains_key(&p)
            {
                return;
            }
        }
        self.free_huge_folio(head);
    }

    /// alloc_hugetlb_folio_nodemask() for a migration target (6.x): a free pool page of the
    /// nodes, in order ("if (available_huge_pages(h))" then
    /// dequeue_hugetlb_folio_nodemask()); else a fresh page from the buddy allocator on the
    /// same nodes (alloc_migrate_hugetlb_folio(): __GFP_THISNODE when the caller gave one
    /// node), which is temporary: "We do not account these pages as surplus because they are
    /// only temporary", counted in nr_huge_pages_node while it lives. Returns the head and
    /// whether it is temporary; None: -ENOMEM.
    pub(crate) fn alloc_hugetlb_folio_nodemask(&mut self, nodes: &[u32]) -> Option<(u64, bool)> {
        for &nid in nodes {
            if let Some(head) = self.hugetlb.nodes.get_mut(nid as usize).and_then(|n| n.free.pop())
            {
                return Some((head, false));
            }
        }
        for &nid in nodes {
            if let Some(head) = self.hugetlb_alloc_fresh(nid) {
                self.hugetlb.nodes[nid as usize].total += 1;
                return Some((head, true));
            }
        }
        None
    }

    /// After a hugetlb page moved from `old` to `new` (its frames no longer mapped):
    /// move_hugetlb_state() then the last folio_put() of the old page. A temporary new page
    /// becomes persistent and the old one temporary ("There is no need to transfer the
    /// per-node surplus state when we do not cross the node", else one surplus page moves
    /// from the old node to the new one), and a temporary page is freed to the buddy
    /// allocator (update_and_free_hugetlb_folio()); otherwise the old page is freed as any
    /// (free_huge_folio(): the pool, or the buddy allocator if its node has surplus pages).
    pub(crate) fn hugetlb_migrated(&mut self, old: u64, new: u64, temporary: bool) {
        let nr = self.hugetlb_nr();
        for p in old..old + nr {
            *self.phys.mapcount_mut(p) = 0;
        }
        if !temporary {
            self.free_huge_folio(old);
            return;
        }
        let (a, b) = (self.phys.pfn_to_nid(old) as usize, self.phys.pfn_to_nid(new) as usize);
        if a != b && self.hugetlb.nodes[a].surplus > 0 {
            self.hugetlb.nodes[a].surplus -= 1;
            self.hugetlb.nodes[b].surplus += 1;
        }
        self.hugetlb.nodes[a].total -= 1;
        self.hugetlb_free_to_buddy(old, nr);
    }
}
