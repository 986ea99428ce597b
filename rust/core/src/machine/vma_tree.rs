//! The VMAs of one address space and the index of the free gaps between them, so that
//! get_unmapped_area() costs O(log n) in the number of VMAs instead of a walk over all of them.
//!
//! Linux 3.8 to 6.0 augments the VMA rbtree with `rb_subtree_gap`: every vma knows the gap below
//! it (`vm_start - vm_prev->vm_end`, vma_compute_gap()) and the largest such gap in its subtree
//! (vma_compute_subtree_gap()), and unmapped_area() / unmapped_area_topdown() in mm/mmap.c descend
//! only into subtrees whose largest gap can hold the request. Linux 6.1+ keeps the same facts in
//! the maple tree (mas_empty_area() / mas_empty_area_rev()). [`VmaTree`] does the same with a
//! `BTreeMap` (start -> [`Vma`], for ordered lookups; read it through `Deref`) and a treap over the
//! same starts augmented with the gap below each VMA and the largest gap of each subtree.
//!
//! Every change of a VMA's bounds goes through [`VmaTree::insert`], [`VmaTree::remove`] or
//! [`VmaTree::set_end`], which keep the two in step (vma_gap_update() / vma_gap_callbacks in the
//! kernel). [`VmaTree::get_mut`] hands out a guard that refuses bound changes.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use super::mm::Vma;

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Node {
    /// vm_start of the VMA this node stands for (the treap key).
    start: u64,
    /// The free gap below the VMA: vm_start - vm_prev->vm_end, or vm_start for the lowest VMA
    /// (vma_compute_gap(); the gap above the highest VMA is `VmaTree::highest_end()`'s business,
    /// as mm->highest_vm_end is the kernel's).
    gap: u64,
    /// The largest `gap` in this node's subtree (rb_subtree_gap).
    max_gap: u64,
    /// Treap priority: a hash of `start`, so the shape depends only on the set of VMAs.
    prio: u64,
    left: u32,
    right: u32,
}

/// A treap keyed by VMA start, augmented with the largest gap of each subtree.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct GapIndex {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
}

impl Default for GapIndex {
    fn default() -> Self {
        GapIndex { nodes: Vec::new(), free: Vec::new(), root: NIL }
    }
}

/// splitmix64: a well-mixed priority from a VMA start.
fn prio_of(start: u64) -> u64 {
    let mut z = start.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One step of a gap search: stop with an address, go on to the next gap, or give up because no
/// later gap (in the search direction) can do better.
enum Walk {
    Found(u64),
    Next,
    Stop,
}

/// A bottom-up request (unmapped_area()): the lowest `align`-aligned address `p >= low` with
/// `[p, p + len)` free and `p + len <= high`.
struct Up {
    low: u64,
    len: u64,
    high: u64,
    align: u64,
    /// low + len, saturated: a gap that ends below it cannot hold the request.
    low_end: u64,
}

impl Up {
    /// The request in the free gap [gs, ge).
    fn fit(&self, gs: u64, ge: u64) -> Walk {
        let Some(p) = gs.max(self.low).checked_next_multiple_of(self.align) else {
            return Walk::Stop;
        };
        match p.checked_add(self.len) {
            // Later gaps start higher, so their first candidate ends higher still.
            None => Walk::Stop,
            Some(e) if e > self.high => Walk::Stop,
            Some(e) if e <= ge => Walk::Found(p),
            Some(_) => Walk::Next,
        }
    }
}

/// A top-down request (unmapped_area_topdown()): the highest `align`-aligned address `p >= low`
/// with `[p, p + len)` free and `p + len <= top`.
struct Down {
    low: u64,
    len: u64,
    top: u64,
    align: u64,
}

impl Down {
    fn fit(&self, gs: u64, ge: u64) -> Walk {
        let e = ge.min(self.top);
        if e < self.len {
            return Walk::Stop;
        }
        let p = (e - self.len) / self.align * self.align;
        if p < self.low {
            // Lower gaps end lower, so their best candidate is lower still.
            return Walk::Stop;
        }
        if p >= gs {
            Walk::Found(p)
        } else {
            Walk::Next
        }
    }
}

impl GapIndex {
    fn alloc(&mut self, start: u64, gap: u64) -> u32 {
        let n = Node { start, gap, max_gap: gap, prio: prio_of(start), left: NIL, right: NIL };
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = n;
            i
        } else {
            self.nodes.push(n);
            // One node per VMA gap: max_map_count keeps them far below NIL.
            u32::try_from(self.nodes.len() - 1)
                .ok()
                .filter(|&i| i != NIL)
                .expect("fewer gaps than NIL")
        }
    }

    fn max_gap(&self, t: u32) -> u64 {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].max_gap
        }
    }

    /// vma_compute_subtree_gap(): the largest gap of `t`'s subtree from its children's.
    fn pull(&mut self, t: u32) {
        let n = self.nodes[t as usize];
        let m = n.gap.max(self.max_gap(n.left)).max(self.max_gap(n.right));
        self.nodes[t as usize].max_gap = m;
    }

    /// Splits `t` into the nodes with start < key and those with start >= key.
    fn split(&mut self, t: u32, key: u64) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let n = self.nodes[t as usize];
        if n.start < key {
            let (l, r) = self.split(n.right, key);
            self.nodes[t as usize].right = l;
            self.pull(t);
            (t, r)
        } else {
            let (l, r) = self.split(n.left, key);
            self.nodes[t as usize].left = r;
            self.pull(t);
            (l, t)
        }
    }

    /// Joins two treaps, every start of `a` below every start of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            let r = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = r;
            self.pull(a);
            a
        } else {
            let l = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = l;
            self.pull(b);
            b
        }
    }

    fn insert(&mut self, start: u64, gap: u64) {
        let (l, r) = self.split(self.root, start);
        let n = self.alloc(start, gap);
        let l = self.merge(l, n);
        self.root = self.merge(l, r);
    }

    fn remove(&mut self, start: u64) {
        let (l, r) = self.split(self.root, start);
        let (m, r) = self.split(r, start + 1);
        debug_assert!(m != NIL, "gap index has no VMA at {start:#x}");
        if m != NIL {
            self.free.push(m);
        }
        self.root = self.merge(l, r);
    }

    /// Sets the gap below the VMA at `start` and fixes the maxima above it (vma_gap_update()).
    fn set_gap(&mut self, start: u64, gap: u64) {
        self.root = self.set_gap_in(self.root, start, gap);
    }

    fn set_gap_in(&mut self, t: u32, start: u64, gap: u64) -> u32 {
        if t == NIL {
            debug_assert!(false, "gap index has no VMA at {start:#x}");
            return t;
        }
        let n = self.nodes[t as usize];
        match start.cmp(&n.start) {
            Ordering::Less => {
                let l = self.set_gap_in(n.left, start, gap);
                self.nodes[t as usize].left = l;
            }
            Ordering::Greater => {
                let r = self.set_gap_in(n.right, start, gap);
                self.nodes[t as usize].right = r;
            }
            Ordering::Equal => self.nodes[t as usize].gap = gap,
        }
        self.pull(t);
        t
    }

    /// unmapped_area(): gaps in address order, the first that holds the request.
    fn first_fit(&self, t: u32, q: &Up) -> Walk {
        if t == NIL || self.nodes[t as usize].max_gap < q.len {
            return Walk::Next;
        }
        let n = self.nodes[t as usize];
        // Gaps to the left end at or below n.start: useless unless n.start >= low + len (the
        // kernel's "gap_end >= low_limit" before visiting a left subtree).
        if n.start >= q.low_end {
            match self.first_fit(n.left, q) {
                Walk::Next => {}
                w => return w,
            }
        }
        if n.gap >= q.len {
            match q.fit(n.start - n.gap, n.start) {
                Walk::Next => {}
                w => return w,
            }
        }
        self.first_fit(n.right, q)
    }

    /// unmapped_area_topdown(): gaps from the highest down, the first that holds the request.
    fn last_fit(&self, t: u32, q: &Down) -> Walk {
        if t == NIL || self.nodes[t as usize].max_gap < q.len {
            return Walk::Next;
        }
        let n = self.nodes[t as usize];
        // Gaps to the right start above n.start: useless once n.start reaches the top.
        if n.start < q.top {
            match self.last_fit(n.right, q) {
                Walk::Next => {}
                w => return w,
            }
        }
        if n.gap >= q.len {
            match q.fit(n.start - n.gap, n.start) {
                Walk::Next => {}
                w => return w,
            }
        }
        self.last_fit(n.left, q)
    }

    fn depth(&self, t: u32) -> usize {
        if t == NIL {
            0
        } else {
            let n = self.nodes[t as usize];
            1 + self.depth(n.left).max(self.depth(n.right))
        }
    }
}

/// mm->mm_rb + mm->mmap (or mm->mm_mt): the VMAs of an address space by start address, with
/// the gap index get_unmapped_area() searches. Reads go through `Deref` to the `BTreeMap`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VmaTree {
    map: BTreeMap<u64, Vma>,
    gaps: GapIndex,
}

impl Deref for VmaTree {
    type Target = BTreeMap<u64, Vma>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

/// A VMA borrowed for changes other than its bounds (flags, policy); changing `start` or `end`
/// through it would leave the gap index stale, so dropping it checks they did not change.
pub struct VmaMut<'a> {
    vma: &'a mut Vma,
    bounds: (u64, u64),
}

impl Deref for VmaMut<'_> {
    type Target = Vma;
    fn deref(&self) -> &Vma {
        self.vma
    }
}

impl DerefMut for VmaMut<'_> {
    fn deref_mut(&mut self) -> &mut Vma {
        self.vma
    }
}

impl Drop for VmaMut<'_> {
    fn drop(&mut self) {
        debug_assert_eq!(
            (self.vma.start, self.vma.end),
            self.bounds,
            "a VMA's bounds change only through VmaTree::insert/remove/set_end"
        );
    }
}

impl VmaTree {
    /// The end of the VMA below `addr` (0 if there is none): where the gap below `addr` starts.
    fn prev_end(&self, addr: u64) -> u64 {
        self.map.range(..addr).next_back().map_or(0, |(_, v)| v.end)
    }

    /// The start of the first VMA at or above `addr`.
    fn next_start(&self, addr: u64) -> Option<u64> {
        self.map.range(addr..).next().map(|(&s, _)| s)
    }

    /// mm->highest_vm_end: where the gap above every VMA starts (0 without VMAs).
    pub fn highest_end(&self) -> u64 {
        self.map.last_key_value().map_or(0, |(_, v)| v.end)
    }

    /// mm->map_count.
    pub fn map_count(&self) -> usize {
        self.map.len()
    }

    /// vma_link() + vma_gap_update() of the next VMA. The caller guarantees the VMA overlaps
    /// none already present (debug builds check).
    pub fn insert(&mut self, vma: Vma) {
        let (start, end) = (vma.start, vma.end);
        debug_assert!(start < end, "empty VMA {start:#x}-{end:#x}");
        debug_assert!(
            self.prev_end(start.saturating_add(1)) <= start
                && self.next_start(start).is_none_or(|s| s >= end),
            "VMA {start:#x}-{end:#x} overlaps another"
        );
        let gap = start - self.prev_end(start);
        let next = self.next_start(start);
        self.map.insert(start, vma);
        self.gaps.insert(start, gap);
        if let Some(n) = next {
            self.gaps.set_gap(n, n - end);
        }
    }

    /// Unlinks the VMA starting at `start` (vma_rb_erase() + the next VMA's gap update).
    pub fn remove(&mut self, start: u64) -> Option<Vma> {
        let vma = self.map.remove(&start)?;
        self.gaps.remove(start);
        if let Some(n) = self.next_start(start) {
            let gap = n - self.prev_end(start);
            self.gaps.set_gap(n, gap);
        }
        Some(vma)
    }

    /// Moves the end of the VMA at `start` (vma_adjust() growing or shrinking it in place).
    pub fn set_end(&mut self, start: u64, end: u64) {
        let Some(v) = self.map.get_mut(&start) else {
            debug_assert!(false, "no VMA at {start:#x}");
            return;
        };
        debug_assert!(start < end, "empty VMA {start:#x}-{end:#x}");
        v.end = end;
        if let Some(n) = self.next_start(start.saturating_add(1)) {
            debug_assert!(n >= end, "VMA {start:#x} grown over the next one");
            self.gaps.set_gap(n, n - end);
        }
    }

    /// The VMA at `start`, for changes other than its bounds.
    pub fn get_mut(&mut self, start: &u64) -> Option<VmaMut<'_>> {
        self.map.get_mut(start).map(|vma| {
            let bounds = (vma.start, vma.end);
            VmaMut { vma, bounds }
        })
    }

    /// Every VMA, for changes other than their bounds (policy rebinding and the like). Nothing
    /// can check this from here: [`VmaTree::check_index`] finds a bound changed through it.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Vma> {
        self.map.values_mut()
    }

    /// True if no VMA overlaps [addr, addr + len) (find_vma() + the vm_start test).
    pub fn is_free(&self, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else { return false };
        self.map.range(..end).next_back().is_none_or(|(_, v)| v.end <= addr)
    }

    /// unmapped_area() (mm/mmap.c, 3.8-6.0; mas_empty_area() in 6.1+), exact first fit: the lowest
    /// `align`-aligned address `p >= low` with [p, p + len) free and p + len <= high.
    pub fn first_fit(&self, low: u64, len: u64, high: u64, align: u64) -> Option<u64> {
        debug_assert!(len > 0 && align > 0);
        let q = Up { low, len, high, align, low_end: low.saturating_add(len) };
        match self.gaps.first_fit(self.gaps.root, &q) {
            Walk::Found(p) => return Some(p),
            Walk::Stop => return None,
            Walk::Next => {}
        }
        // The gap above the highest VMA ("check_highest" in unmapped_area()).
        match q.fit(self.highest_end(), u64::MAX) {
            Walk::Found(p) => Some(p),
            _ => None,
        }
    }

    /// unmapped_area_topdown() (mm/mmap.c, 3.8-6.0; mas_empty_area_rev() in 6.1+), exact: the
    /// highest `align`-aligned address `p >= low` with [p, p + len) free and p + len <= top.
    pub fn last_fit(&self, low: u64, len: u64, top: u64, align: u64) -> Option<u64> {
        debug_assert!(len > 0 && align > 0);
        let q = Down { low, len, top, align };
        // The gap above the highest VMA comes first from the top.
        match q.fit(self.highest_end(), u64::MAX) {
            Walk::Found(p) => return Some(p),
            Walk::Stop => return None,
            Walk::Next => {}
        }
        match self.gaps.last_fit(self.gaps.root, &q) {
            Walk::Found(p) => Some(p),
            _ => None,
        }
    }

    /// validate_mm()'s gap checks: the index holds exactly the VMAs of the map, each with the
    /// gap below it, and every subtree maximum is right. O(n); for tests and `check()`.
    pub fn check_index(&self) -> Result<(), String> {
        let mut inorder = Vec::with_capacity(self.map.len());
        let mut stack = Vec::new();
        let mut t = self.gaps.root;
        while t != NIL || !stack.is_empty() {
            while t != NIL {
                stack.push(t);
                t = self.gaps.nodes[t as usize].left;
            }
            let n = stack.pop().expect("non-empty");
            inorder.push(n);
            t = self.gaps.nodes[n as usize].right;
        }
        if inorder.len() != self.map.len() {
            return Err(format!(
                "gap index holds {} VMAs, the tree {}",
                inorder.len(),
                self.map.len()
            ));
        }
        let mut prev_end = 0;
        for (&i, (&s, v)) in inorder.iter().zip(&self.map) {
            let n = self.gaps.nodes[i as usize];
            if n.start != s || v.start != s {
                return Err(format!("gap index has {:#x} where the tree has {s:#x}", n.start));
            }
            if v.end <= v.start || v.start < prev_end {
                return Err(format!("VMA {:#x}-{:#x} is empty or overlaps", v.start, v.end));
            }
            if n.gap != s - prev_end {
                return Err(format!("gap below {s:#x} is {:#x}, not {:#x}", n.gap, s - prev_end));
            }
            let want = n.gap.max(self.gaps.max_gap(n.left)).max(self.gaps.max_gap(n.right));
            if n.max_gap != want {
                return Err(format!("largest gap under {s:#x} is {:#x}, not {want:#x}", n.max_gap));
            }
            prev_end = v.end;
        }
        Ok(())
    }

    /// Height of the index (for tests of its balance).
    pub fn index_depth(&self) -> usize {
        self.gaps.depth(self.gaps.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::to_usize;
    use crate::machine::mm::VmaKind;
    use crate::testutil::Rng;

    fn vma(start: u64, end: u64) -> Vma {
        Vma { start, end, flags: 0, file: None, pgoff: 0, policy: None, kind: VmaKind::Plain }
    }

    /// The walk the simulator did before the index (one VMA at a time), as the oracle.
    fn first_fit_walk(t: &VmaTree, low: u64, len: u64, high: u64, align: u64) -> Option<u64> {
        let mut cand = low.checked_next_multiple_of(align)?;
        loop {
            let e = cand.checked_add(len)?;
            if e > high {
                return None;
            }
            match t.range(..e).next_back() {
                Some((_, v)) if v.end > cand => cand = v.end.checked_next_multiple_of(align)?,
                _ => return Some(cand),
            }
        }
    }

    fn last_fit_walk(t: &VmaTree, low: u64, len: u64, top: u64, align: u64) -> Option<u64> {
        let mut best = None;
        let mut gap_end = u64::MAX;
        let mut gaps = Vec::new();
        for v in t.values().rev() {
            gaps.push((v.end, gap_end));
            gap_end = v.start;
        }
        gaps.push((0, gap_end));
        for (gs, ge) in gaps {
            let e = ge.min(top);
            if e < len {
                continue;
            }
            let p = (e - len) / align * align;
            if p >= gs && p >= low {
                best = best.max(Some(p));
            }
        }
        best
    }

    #[test]
    fn index_follows_inserts_removes_and_resizes() {
        let mut t = VmaTree::default();
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let ps = 4096;
        for round in 0..4000 {
            let op = rng.below(10);
            if op < 5 || t.is_empty() {
                let start = rng.below(1 << 20) * ps;
                let len = (1 + rng.below(16)) * ps;
                if t.is_free(start, len) {
                    t.insert(vma(start, start + len));
                }
            } else if op < 8 {
                let k = to_usize(rng.below(t.len() as u64));
                let s = *t.keys().nth(k).unwrap();
                assert_eq!(t.remove(s).unwrap().start, s);
            } else {
                let k = to_usize(rng.below(t.len() as u64));
                let (s, e) = t.iter().nth(k).map(|(&s, v)| (s, v.end)).unwrap();
                let limit = t.range(s + 1..).next().map_or(e + 16 * ps, |(&n, _)| n);
                let new_end = s + ps + rng.below((limit - s) / ps) * ps;
                t.set_end(s, new_end.min(limit));
            }
            if round % 97 == 0 {
                t.check_index().unwrap();
            }
        }
        t.check_index().unwrap();
        // A hash-priority treap stays shallow.
        assert!(t.index_depth() < 64, "depth {}", t.index_depth());
    }

    #[test]
    fn searches_agree_with_the_walk() {
        let ps = 4096;
        for seed in 1..40u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let mut t = VmaTree::default();
            let span = 4096 * ps;
            for _ in 0..rng.below(300) {
                let start = rng.below(span / ps) * ps;
                let len = (1 + rng.below(8)) * ps;
                if t.is_free(start, len) {
                    t.insert(vma(start, start + len));
                }
            }
            for _ in 0..300 {
                let len = (1 + rng.below(24)) * ps;
                let align = [ps, ps, 2 * ps, 16 * ps][to_usize(rng.below(4))];
                let low = rng.below(span / ps + 8) * ps + rng.below(2);
                let high = rng.below(span / ps + 64) * ps;
                assert_eq!(
                    t.first_fit(low, len, high, align),
                    first_fit_walk(&t, low, len, high, align),
                    "seed {seed} first fit low {low:#x} len {len:#x} high {high:#x} align {align}"
                );
                let top = rng.below(span / ps + 64) * ps;
                assert_eq!(
                    t.last_fit(low, len, top, align),
                    last_fit_walk(&t, low, len, top, align),
                    "seed {seed} last fit low {low:#x} len {len:#x} top {top:#x} align {align}"
                );
            }
        }
    }

    #[test]
    fn extreme_requests_neither_overflow_nor_panic() {
        let mut t = VmaTree::default();
        t.insert(vma(0, 4096));
        t.insert(vma(u64::MAX - 8191, u64::MAX - 4095));
        assert_eq!(t.first_fit(0, u64::MAX, u64::MAX, 4096), None);
        assert_eq!(t.first_fit(u64::MAX, 1, u64::MAX, 4096), None);
        assert_eq!(t.first_fit(1, 4096, u64::MAX, 4096), Some(4096));
        assert_eq!(t.first_fit(u64::MAX - 4095, 4096, u64::MAX, 4096), None);
        assert_eq!(t.last_fit(0, u64::MAX, u64::MAX, 4096), None);
        assert_eq!(t.last_fit(0, 4096, u64::MAX, 4096), Some(u64::MAX - 8191 - 4096));
        assert_eq!(t.last_fit(0, 4096, 8192, 1 << 40), None);
        assert!(!t.is_free(u64::MAX, 2));
        t.check_index().unwrap();
    }

    #[test]
    fn get_mut_changes_fields_but_not_bounds() {
        let mut t = VmaTree::default();
        t.insert(vma(4096, 8192));
        t.get_mut(&4096).unwrap().flags = 7;
        assert_eq!(t[&4096].flags, 7);
        t.check_index().unwrap();
    }

    #[test]
    fn check_index_finds_a_bound_changed_behind_its_back() {
        let mut t = VmaTree::default();
        t.insert(vma(4096, 8192));
        t.insert(vma(16384, 20480));
        t.check_index().unwrap();
        // values_mut() cannot stop this; check_index() sees the gap below 16384 is stale.
        t.values_mut().next().unwrap().end = 12288;
        assert!(t.check_index().unwrap_err().contains("gap below 0x4000"));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "bounds change only through")]
    fn get_mut_refuses_bound_changes() {
        let mut t = VmaTree::default();
        t.insert(vma(4096, 8192));
        t.get_mut(&4096).unwrap().end = 12288;
    }
}
