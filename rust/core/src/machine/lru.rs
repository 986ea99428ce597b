//! The LRU lists of a node, in order, without per-page memory.
//!
//! The kernel keeps each page on a doubly linked list (struct zone's active_list and
//! inactive_list in 2.6, lruvec->lists[NR_LRU_LISTS] in 6.x): two pointers in every struct
//! page. numasim's frames have no room for that (16 bytes a frame, see phys.rs), so the order
//! is kept as *runs* of consecutive pfns, one u64 a run:
//!
//! * the **allocation log**: the node's allocator appends every frame it hands out, in order
//!   (extending the open run while pfns are consecutive, which they are when the run cache
//!   hands out a free extent: one comparison on the hot path). A page joins the LRU right
//!   after it is allocated (lru_cache_add), so allocation order is LRU insertion order.
//! * the **lists**: reclaim sorts the log into the lists by each page's flags when it starts
//!   on a node ([`crate::machine::vmscan`]), and moves pages between them as shrink_list,
//!   refill_inactive_zone / shrink_active_list do: a page put back goes to the list head,
//!   which is the back of a [`RunQueue`]; the tail, where reclaim takes pages, is its front.
//!
//! Entries are checked when they are taken (a freed frame is dropped, a page off the LRU goes
//! back to the log). A frame freed and allocated again leaves a stale entry behind; the node
//! counts pages freed ([`crate::phys::NodeMem`]'s free generation) and the lists are cleaned
//! of them (the free extents and the newer log entries are cut out) before the next scan.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// List indices: lruvec->lists[] order of 6.x (LRU_INACTIVE_ANON, LRU_ACTIVE_ANON,
/// LRU_INACTIVE_FILE, LRU_ACTIVE_FILE). 2.6 has one inactive and one active list per zone,
/// file and anonymous pages mixed: it uses the first two.
pub const INACTIVE_ANON: usize = 0;
pub const ACTIVE_ANON: usize = 1;
pub const INACTIVE_FILE: usize = 2;
pub const ACTIVE_FILE: usize = 3;
/// 2.6's lists.
pub const INACTIVE: usize = INACTIVE_ANON;
pub const ACTIVE: usize = ACTIVE_ANON;
pub const NR_LISTS: usize = 4;

/// A run packs its first pfn (pfns stay below 2^52, see PhysMem::new) and its length - 1.
const LEN_SHIFT: u32 = 52;
const PFN_MASK: u64 = (1 << LEN_SHIFT) - 1;
/// The longest run one u64 holds.
pub const MAX_RUN: u64 = 1 << (64 - LEN_SHIFT);

/// The log is compacted (stale entries cut out) once it holds this many runs, and then again
/// whenever it has doubled: amortised O(1) a run, memory at most twice what is live.
const COMPACT_MIN: usize = 1 << 16;

#[inline]
fn pack(start: u64, len: u64) -> u64 {
    debug_assert!((1..=MAX_RUN).contains(&len) && start <= PFN_MASK);
    start | ((len - 1) << LEN_SHIFT)
}

#[inline]
fn unpack(r: u64) -> (u64, u64) {
    (r & PFN_MASK, (r >> LEN_SHIFT) + 1)
}

/// Appends [start, start+len) to `runs`, extending the last run when it ends at `start`.
fn push_run(runs: &mut impl RunVec, mut start: u64, mut len: u64) {
    if len == 0 {
        return;
    }
    if let Some(last) = runs.last_mut() {
        let (s, l) = unpack(*last);
        if s + l == start && l < MAX_RUN {
            let add = (MAX_RUN - l).min(len);
            *last = pack(s, l + add);
            start += add;
            len -= add;
        }
    }
    while len > 0 {
        let k = len.min(MAX_RUN);
        runs.push(pack(start, k));
        start += k;
        len -= k;
    }
}

/// What push_run needs of a Vec or a VecDeque.
trait RunVec {
    fn last_mut(&mut self) -> Option<&mut u64>;
    fn push(&mut self, r: u64);
}
impl RunVec for Vec<u64> {
    fn last_mut(&mut self) -> Option<&mut u64> {
        <[u64]>::last_mut(self)
    }
    fn push(&mut self, r: u64) {
        Vec::push(self, r);
    }
}
impl RunVec for VecDeque<u64> {
    fn last_mut(&mut self) -> Option<&mut u64> {
        self.back_mut()
    }
    fn push(&mut self, r: u64) {
        self.push_back(r);
    }
}

/// One LRU list: pfns in order, the tail (oldest, where reclaim takes pages) at the front.
#[derive(Default, Debug, Clone, Serialize, Deserialize)]
pub struct RunQueue {
    runs: VecDeque<u64>,
    pages: u64,
}

impl RunQueue {
    /// Entries on the list (zone->nr_active / nr_inactive; stale entries count until they
    /// are met or cleaned).
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Adds a page at the head of the list (list_add).
    pub fn push(&mut self, pfn: u64) {
        push_run(&mut self.runs, pfn, 1);
        self.pages += 1;
    }

    fn push_run(&mut self, start: u64, len: u64) {
        push_run(&mut self.runs, start, len);
        self.pages += len;
    }

    /// Takes the page at the tail (lru_to_page).
    pub fn pop(&mut self) -> Option<u64> {
        let first = self.runs.front_mut()?;
        let (s, l) = unpack(*first);
        if l == 1 {
            self.runs.pop_front();
        } else {
            *first = pack(s + 1, l - 1);
        }
        self.pages -= 1;
        Some(s)
    }

    /// The pages in order, tail first (for tests and reports).
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.runs.iter().flat_map(|&r| {
            let (s, l) = unpack(r);
            s..s + l
        })
    }

    /// Cuts the pfns of `gone` out of the list, keeping the order of what is left.
    fn subtract(&mut self, gone: &Intervals) {
        let old = std::mem::take(&mut self.runs);
        self.pages = 0;
        let mut pieces = Vec::new();
        for r in old {
            let (s, l) = unpack(r);
            pieces.clear();
            gone.minus(s, s + l, &mut pieces);
            for &(a, b) in &pieces {
                self.push_run(a, b - a);
            }
        }
    }
}

/// Disjoint half-open pfn intervals, start -> end.
#[derive(Default)]
pub(crate) struct Intervals(BTreeMap<u64, u64>);

impl Intervals {
    /// Adds [s, e), merging with what it touches.
    pub(crate) fn insert(&mut self, mut s: u64, mut e: u64) {
        if s >= e {
            return;
        }
        if let Some((&ps, &pe)) = self.0.range(..=s).next_back() {
            if pe >= s {
                s = ps;
                e = e.max(pe);
                self.0.remove(&ps);
            }
        }
        while let Some((&ns, &ne)) = self.0.range(s..=e).next() {
            e = e.max(ne);
            self.0.remove(&ns);
        }
        self.0.insert(s, e);
    }

    /// Appends the parts of [s, e) outside every interval to `out`, ascending.
    pub(crate) fn minus(&self, s: u64, e: u64, out: &mut Vec<(u64, u64)>) {
        let mut cur = s;
        let first = self.0.range(..=s).next_back().map_or(s, |(&k, _)| k);
        for (&is, &ie) in self.0.range(first..e) {
            if ie <= cur {
                continue;
            }
            if is > cur {
                out.push((cur, is.min(e)));
            }
            cur = cur.max(ie);
            if cur >= e {
                return;
            }
        }
        if cur < e {
            out.push((cur, e));
        }
    }
}

/// A node's LRU state: the allocation log, the lists, and the per-zone reclaim state the
/// kernel keeps in struct zone (2.6) or the lruvec / pgdat (6.x).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeLru {
    /// Runs allocated since the lists were last sorted, oldest first (closed runs only).
    log: Vec<u64>,
    /// The open run [open_start, open_end) the allocator is extending.
    open_start: u64,
    pub(crate) open_end: u64,
    compact_at: usize,
    pub lists: [RunQueue; NR_LISTS],
    /// The node's free generation when the lists were last known to hold no stale entry.
    pub synced_gen: u64,
    /// zone->nr_scan_active / nr_scan_inactive (2.6 shrink_zone): scan credit carried over
    /// between calls until it reaches SWAP_CLUSTER_MAX.
    pub nr_scan_active: u64,
    pub nr_scan_inactive: u64,
    /// zone->prev_priority (2.6): the priority the last direct reclaim reached; it sets the
    /// `distress` that decides whether mapped pages are deactivated.
    pub prev_priority: u32,
    /// Pages direct reclaim scanned and freed on this node (pgscan_direct, pgsteal).
    pub pgscan: u64,
    pub pgsteal: u64,
}

impl Default for NodeLru {
    fn default() -> Self {
        NodeLru {
            log: Vec::new(),
            open_start: 0,
            open_end: 0,
            compact_at: COMPACT_MIN,
            lists: Default::default(),
            synced_gen: 0,
            nr_scan_active: 0,
            nr_scan_inactive: 0,
            prev_priority: crate::machine::vmscan::DEF_PRIORITY,
            pgscan: 0,
            pgsteal: 0,
        }
    }
}

impl NodeLru {
    /// The allocator handed out `pfn`: it joins the log. The caller has already found that
    /// `pfn` does not extend the open run (`pfn != open_end`), which is the hot path.
    #[cold]
    #[inline(never)]
    pub(crate) fn log_new_run(&mut self, pfn: u64) {
        self.close_open();
        self.open_start = pfn;
        self.open_end = pfn + 1;
    }

    /// True when the log should be compacted before it grows further.
    pub(crate) fn wants_compaction(&self) -> bool {
        self.log.len() >= self.compact_at
    }

    fn close_open(&mut self) {
        if self.open_end > self.open_start {
            push_run(&mut self.log, self.open_start, self.open_end - self.open_start);
        }
        self.open_start = 0;
        self.open_end = 0;
    }

    /// Logs a run of pages that joined the LRU together (the base pages of a split THP,
    /// lru_add_split_folio()).
    pub(crate) fn log_run(&mut self, pfn: u64, len: u64) {
        self.close_open();
        push_run(&mut self.log, pfn, len);
    }

    /// Puts a page back at the end of the log (it was met off the LRU: in a pagevec,
    /// isolated, or just allocated; it is sorted into a list once it is on the LRU).
    pub fn relog(&mut self, pfn: u64) {
        self.close_open();
        push_run(&mut self.log, pfn, 1);
    }

    /// Cuts stale entries out of the log: a pfn logged again later keeps only its newest
    /// entry, and a pfn that is free now is dropped. Returns the pfns the log still holds.
    pub(crate) fn compact_log(&mut self, free: &Intervals) -> Intervals {
        self.close_open();
        let mut claimed = Intervals::default();
        let mut kept_rev: Vec<(u64, u64)> = Vec::new();
        let mut pieces = Vec::new();
        let mut live = Vec::new();
        for &r in self.log.iter().rev() {
            let (s, l) = unpack(r);
            pieces.clear();
            claimed.minus(s, s + l, &mut pieces);
            claimed.insert(s, s + l);
            for &(a, b) in pieces.iter().rev() {
                live.clear();
                free.minus(a, b, &mut live);
                kept_rev.extend(live.iter().rev());
            }
        }
        self.log.clear();
        let mut held = Intervals::default();
        for &(a, b) in kept_rev.iter().rev() {
            push_run(&mut self.log, a, b - a);
            held.insert(a, b);
        }
        self.compact_at = COMPACT_MIN.max(2 * self.log.len());
        held
    }

    /// Cleans the lists of entries whose frames were freed since they were listed: those
    /// free now and those allocated again (which the log holds, newer).
    pub(crate) fn clean_lists(&mut self, free: &Intervals, relogged: &Intervals) {
        for q in &mut self.lists {
            q.subtract(free);
            q.subtract(relogged);
        }
    }

    /// Takes the whole log, oldest first, as (start, len) runs; the log is left empty.
    pub(crate) fn take_log(&mut self) -> Vec<(u64, u64)> {
        self.close_open();
        let v = self.log.iter().map(|&r| unpack(r)).collect();
        self.log.clear();
        v
    }

    /// Runs in the log (open run included), for tests.
    pub fn log_runs(&self) -> usize {
        self.log.len() + usize::from(self.open_end > self.open_start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_order_and_runs() {
        let mut q = RunQueue::default();
        for p in [10, 11, 12, 20, 13] {
            q.push(p);
        }
        assert_eq!(q.runs.len(), 3);
        assert_eq!(q.pages(), 5);
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![10, 11, 12, 20, 13]);
        assert_eq!(q.pop(), Some(10));
        assert_eq!(q.pop(), Some(11));
        assert_eq!(q.pages(), 3);
        let mut gone = Intervals::default();
        gone.insert(20, 21);
        q.subtract(&gone);
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![12, 13]);
        assert_eq!(q.runs.len(), 1, "12 and 13 meet again once 20 is cut out");
    }

    #[test]
    fn long_runs_split_at_max_run() {
        let mut q = RunQueue::default();
        q.push_run(1, 3 * MAX_RUN + 5);
        assert_eq!(q.runs.len(), 4);
        assert_eq!(q.pages(), 3 * MAX_RUN + 5);
        assert_eq!(q.iter().last(), Some(3 * MAX_RUN + 5));
    }

    #[test]
    fn intervals_merge_and_subtract() {
        let mut iv = Intervals::default();
        iv.insert(10, 20);
        iv.insert(30, 40);
        iv.insert(20, 25);
        iv.insert(5, 12);
        assert_eq!(iv.0.iter().map(|(&a, &b)| (a, b)).collect::<Vec<_>>(), [(5, 25), (30, 40)]);
        let mut out = Vec::new();
        iv.minus(0, 50, &mut out);
        assert_eq!(out, [(0, 5), (25, 30), (40, 50)]);
        out.clear();
        iv.minus(7, 9, &mut out);
        assert!(out.is_empty());
        out.clear();
        iv.minus(24, 31, &mut out);
        assert_eq!(out, [(25, 30)]);
    }

    #[test]
    fn compaction_keeps_the_newest_entry_of_each_live_pfn() {
        let mut lru = NodeLru::default();
        // 1..=5 allocated, then 3 freed and allocated again, then 7 allocated and freed.
        for p in 1..=5 {
            if p == lru.open_end {
                lru.open_end += 1;
            } else {
                lru.log_new_run(p);
            }
        }
        lru.log_new_run(3);
        lru.log_new_run(7);
        let mut free = Intervals::default();
        free.insert(7, 8);
        let held = lru.compact_log(&free);
        let order: Vec<u64> = lru.take_log().into_iter().flat_map(|(s, l)| s..s + l).collect();
        assert_eq!(order, [1, 2, 4, 5, 3]);
        let mut out = Vec::new();
        held.minus(0, 10, &mut out);
        assert_eq!(out, [(0, 1), (6, 10)], "the log holds 1..=5 and nothing else");
    }
}
