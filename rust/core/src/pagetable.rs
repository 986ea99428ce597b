//! A radix page table with the arch's levels (pgd .. pte), indexed by linear virtual page number.
//!
//! Directories hold child indices; leaves are dense arrays of u64 PTEs ([`pte`]). Tables are made on
//! first use (as __pte_alloc/__pmd_alloc do) and freed when munmap empties them (free_pgtables).
//!
//! A PMD entry (an entry of the last directory level) may instead be a huge PMD mapping a
//! transparent huge page (pmd_trans_huge): it holds [`HUGE_PMD`] plus a slot in a side table of
//! u64 PMD values (same encoding as a PTE: the head pfn and the flag bits), and no leaf table
//! exists under it. So a PMD-mapped THP costs one u32 entry and one u64 value, never 512 PTEs.
//! The PTE walkers (`for_each*`, `next_piece`, `get`) skip huge PMDs as if nothing were mapped
//! there; the `pmd*` methods read and write them.

use crate::host::{bounded_u32, to_usize};
use serde::{Deserialize, Serialize};

/// PTE encoding. Present: bit 0 set, pfn in bits 12..63, flag bits below. Swap entry: bit 0 clear
/// and bit 1 set, swap type in bits 2..6, offset in bits 12..63. None: 0.
pub mod pte {
    pub const PRESENT: u64 = 1 << 0;
    /// _PAGE_RW: writable (cleared on COW-shared pages after fork).
    pub const WRITE: u64 = 1 << 1;
    /// _PAGE_DIRTY.
    pub const DIRTY: u64 = 1 << 2;
    /// _PAGE_ACCESSED (the "young" bit).
    pub const YOUNG: u64 = 1 << 3;
    /// A special mapping (VM_IO / VM_PFNMAP): vm_normal_page() returns NULL, no struct page.
    pub const SPECIAL: u64 = 1 << 4;
    /// Not present but a swap (or migration) entry.
    pub const SWAP: u64 = 1 << 1;
    pub const PFN_SHIFT: u32 = 12;
    /// Swap type reserved for migration entries (SWP_MIGRATION, 2.6.18+).
    pub const SWP_MIGRATION_TYPE: u32 = 31;

    #[inline]
    pub fn is_present(p: u64) -> bool {
        p & PRESENT != 0
    }
    #[inline]
    pub fn is_swap(p: u64) -> bool {
        p & (PRESENT | SWAP) == SWAP
    }
    #[inline]
    pub fn pfn(p: u64) -> u64 {
        p >> PFN_SHIFT
    }
    #[inline]
    pub fn mk(pfn: u64, flags: u64) -> u64 {
        (pfn << PFN_SHIFT) | PRESENT | flags
    }
    #[inline]
    pub fn mk_swap(swp_type: u32, offset: u64) -> u64 {
        (offset << PFN_SHIFT) | (u64::from(swp_type) << 2) | SWAP
    }
    #[inline]
    pub fn swp_type(p: u64) -> u32 {
        ((p >> 2) & 31) as u32
    }
    #[inline]
    pub fn swp_offset(p: u64) -> u64 {
        p >> PFN_SHIFT
    }
    #[inline]
    pub fn is_migration(p: u64) -> bool {
        is_swap(p) && swp_type(p) == SWP_MIGRATION_TYPE
    }
}

const NONE: u32 = 0;

/// A last-level directory entry that is a huge PMD: the low bits index `PageTable::huge`.
pub const HUGE_PMD: u32 = 1 << 31;

#[derive(Clone, Serialize, Deserialize)]
pub struct PageTable {
    /// Index width of each level, top first.
    bits: Vec<u32>,
    /// Shift of each level's index within an lvpn (the leaf's is 0).
    shifts: Vec<u32>,
    /// Directories; `dirs[0]` is the pgd. Entry = child index + 1, or 0.
    #[serde(with = "crate::machine::snapshot::raw_vec")]
    dirs: Vec<Box<[u32]>>,
    #[serde(with = "crate::machine::snapshot::raw_vec")]
    pub(crate) leaves: Vec<Box<[u64]>>,
    /// Freed directories by level (levels may differ in width).
    free_dirs: Vec<Vec<u32>>,
    free_leaves: Vec<u32>,
    /// Values of the huge PMDs (pmd_t of a PMD-mapped THP), indexed by their entry's low bits.
    huge: Vec<u64>,
    free_huge: Vec<u32>,
}

impl PageTable {
    /// `bits`: index widths, top level first (ArchProfile::pt_index_bits). At least two levels.
    pub fn new(bits: &[u32]) -> PageTable {
        assert!(bits.len() >= 2, "a page table has at least two levels");
        let mut shifts = vec![0; bits.len()];
        for i in (0..bits.len() - 1).rev() {
            shifts[i] = shifts[i + 1] + bits[i + 1];
        }
        PageTable {
            bits: bits.to_vec(),
            shifts,
            dirs: vec![vec![NONE; 1 << bits[0]].into_boxed_slice()],
            leaves: Vec::new(),
            free_dirs: vec![Vec::new(); bits.len()],
            free_leaves: Vec::new(),
            huge: Vec::new(),
            free_huge: Vec::new(),
        }
    }

    /// PTEs per leaf table (PTRS_PER_PTE).
    #[inline]
    pub fn leaf_len(&self) -> u64 {
        1 << self.bits[self.bits.len() - 1]
    }

    #[inline]
    fn idx(&self, level: usize, lvpn: u64) -> usize {
        to_usize((lvpn >> self.shifts[level]) & ((1 << self.bits[level]) - 1))
    }

    /// Index of the leaf covering `lvpn`, if its tables exist.
    #[inline]
    pub(crate) fn find_leaf(&self, lvpn: u64) -> Option<usize> {
        let last_dir = self.bits.len() - 2;
        let mut d = 0usize;
        for level in 0..=last_dir {
            let c = self.dirs[d][self.idx(level, lvpn)];
            if c == NONE {
                return None;
            }
            if level == last_dir {
                // A huge PMD has no leaf table under it.
                return (c & HUGE_PMD == 0).then(|| c as usize - 1);
            }
            d = c as usize - 1;
        }
        None
    }

    /// Index of the leaf covering `lvpn`, creating the tables on the way.
    pub(crate) fn make_leaf(&mut self, lvpn: u64) -> usize {
        let last_dir = self.bits.len() - 2;
        let mut d = 0usize;
        for level in 0..=last_dir {
            let i = self.idx(level, lvpn);
            let c = self.dirs[d][i];
            if c != NONE {
                if level == last_dir {
                    // Writing a PTE under a huge PMD: the caller must split it first
                    // (split_huge_pmd).
                    assert!(c & HUGE_PMD == 0, "a PTE under a huge PMD at lvpn {lvpn:#x}");
                    return c as usize - 1;
                }
                d = c as usize - 1;
                continue;
            }
            let child = if level == last_dir {
                let n = to_usize(self.leaf_len());
                if let Some(k) = self.free_leaves.pop() {
                    k as usize
                } else {
                    self.leaves.push(vec![0u64; n].into_boxed_slice());
                    self.leaves.len() - 1
                }
            } else {
                let n = 1usize << self.bits[level + 1];
                if let Some(k) = self.free_dirs[level + 1].pop() {
                    k as usize
                } else {
                    self.dirs.push(vec![NONE; n].into_boxed_slice());
                    self.dirs.len() - 1
                }
            };
            // A directory entry holds child + 1 in a u32. Checked here, where a table is made:
            // 2^32 tables would take terabytes of host memory first.
            self.dirs[d][i] = u32::try_from(child + 1)
                .ok()
                .filter(|&c| c & HUGE_PMD == 0)
                .expect("fewer than 2^31 - 1 page tables");
            if level == last_dir {
                return child;
            }
            d = child;
        }
        unreachable!()
    }

    /// The PTE for `lvpn` (0 if none).
    #[inline]
    pub fn get(&self, lvpn: u64) -> u64 {
        match self.find_leaf(lvpn) {
            Some(l) => self.leaves[l][to_usize(lvpn & (self.leaf_len() - 1))],
            None => 0,
        }
    }

    /// Sets the PTE for `lvpn`, creating tables as needed.
    #[inline]
    pub fn set(&mut self, lvpn: u64, v: u64) {
        let l = self.make_leaf(lvpn);
        let m = self.leaf_len() - 1;
        self.leaves[l][to_usize(lvpn & m)] = v;
    }

    /// Mutable PTE for `lvpn` if its leaf exists.
    #[inline]
    pub fn get_mut(&mut self, lvpn: u64) -> Option<&mut u64> {
        let l = self.find_leaf(lvpn)?;
        let m = self.leaf_len() - 1;
        Some(&mut self.leaves[l][to_usize(lvpn & m)])
    }

    /// Calls `f(first_lvpn, ptes)` for each existing leaf piece covering [start, end), in order.
    pub fn for_each(&self, start: u64, end: u64, mut f: impl FnMut(u64, &[u64])) {
        let n = self.leaf_len();
        let mut v = start;
        while v < end {
            let leaf_end = ((v / n) + 1) * n;
            let stop = leaf_end.min(end);
            match self.find_leaf(v) {
                Some(l) => {
                    let a = to_usize(v & (n - 1));
                    f(v, &self.leaves[l][a..a + to_usize(stop - v)]);
                    v = stop;
                }
                None => v = self.next_present_leaf(v, end).unwrap_or(end),
            }
        }
    }

    /// Like [`PageTable::for_each`] but mutable; leaves that do not exist are skipped.
    pub fn for_each_mut(&mut self, start: u64, end: u64, mut f: impl FnMut(u64, &mut [u64])) {
        let n = self.leaf_len();
        let mut v = start;
        while v < end {
            let leaf_end = ((v / n) + 1) * n;
            let stop = leaf_end.min(end);
            match self.find_leaf(v) {
                Some(l) => {
                    let a = to_usize(v & (n - 1));
                    f(v, &mut self.leaves[l][a..a + to_usize(stop - v)]);
                    v = stop;
                }
                None => v = self.next_present_leaf(v, end).unwrap_or(end),
            }
        }
    }

    /// Like [`PageTable::for_each_mut`] but creates missing leaves (the fault path).
    pub fn for_each_make(&mut self, start: u64, end: u64, mut f: impl FnMut(u64, &mut [u64])) {
        let n = self.leaf_len();
        let mut v = start;
        while v < end {
            let stop = (((v / n) + 1) * n).min(end);
            let l = self.make_leaf(v);
            let a = to_usize(v & (n - 1));
            f(v, &mut self.leaves[l][a..a + to_usize(stop - v)]);
            v = stop;
        }
    }

    /// The next existing leaf piece at or after `v` within [v, end): (first, stop) lvpns.
    pub fn next_piece(&self, v: u64, end: u64) -> Option<(u64, u64)> {
        let n = self.leaf_len();
        let first = if self.find_leaf(v).is_some() { v } else { self.next_present_leaf(v, end)? };
        if first >= end {
            return None;
        }
        Some((first, (((first / n) + 1) * n).min(end)))
    }

    /// The PTEs [first, stop) of one existing leaf (a piece from `next_piece`).
    pub fn piece_mut(&mut self, first: u64, stop: u64) -> &mut [u64] {
        let n = self.leaf_len();
        let l = self.find_leaf(first).expect("piece of an existing leaf");
        let a = to_usize(first & (n - 1));
        &mut self.leaves[l][a..a + to_usize(stop - first)]
    }

    /// The first lvpn >= `v` (and < `end`) whose leaf exists, skipping empty subtrees whole.
    fn next_present_leaf(&self, v: u64, end: u64) -> Option<u64> {
        let mut v = v;
        'outer: while v < end {
            let mut d = 0usize;
            let last_dir = self.bits.len() - 2;
            for level in 0..=last_dir {
                let c = self.dirs[d][self.idx(level, v)];
                if c == NONE || (level == last_dir && c & HUGE_PMD != 0) {
                    // Skip to the start of the next entry at this level (a huge PMD has no
                    // leaf table).
                    let span = 1u64 << self.shifts[level];
                    v = (v / span + 1) * span;
                    continue 'outer;
                }
                if level == last_dir {
                    return Some(v);
                }
                d = c as usize - 1;
            }
        }
        None
    }

    /// Frees leaf tables (and directories) in [start, end) that hold no PTE any more.
    pub fn free_empty(&mut self, start: u64, end: u64) {
        let n = self.leaf_len();
        let mut v = start & !(n - 1);
        while v < end {
            if let Some(l) = self.find_leaf(v) {
                if self.leaves[l].iter().all(|&p| p == 0) {
                    self.unlink_leaf(v, l);
                }
                v += n;
            } else {
                v = self.next_present_leaf(v, end).unwrap_or(end);
            }
        }
    }

    fn unlink_leaf(&mut self, lvpn: u64, leaf: usize) {
        // leaf was read from a u32 directory entry (minus one): it fits.
        self.free_leaves.push(bounded_u32(leaf));
        self.unlink_pmd_entry(lvpn);
    }

    /// Clears the last-level directory entry covering `lvpn` and frees the directories that
    /// became empty, bottom-up; never the pgd.
    fn unlink_pmd_entry(&mut self, lvpn: u64) {
        let last_dir = self.bits.len() - 2;
        let mut path = Vec::with_capacity(last_dir + 1);
        let mut d = 0usize;
        for level in 0..=last_dir {
            let i = self.idx(level, lvpn);
            path.push((d, i));
            if level < last_dir {
                d = self.dirs[d][i] as usize - 1;
            }
        }
        let (pd, pi) = path[last_dir];
        self.dirs[pd][pi] = NONE;
        // dd was read from a u32 directory entry (minus one): it fits.
        // Free directories that became empty, bottom-up; never the pgd.
        for level in (1..=last_dir).rev() {
            let (dd, _) = path[level];
            if self.dirs[dd].iter().any(|&c| c != NONE) {
                break;
            }
            let (pd, pi) = path[level - 1];
            self.dirs[pd][pi] = NONE;
            self.free_dirs[level].push(bounded_u32(dd));
        }
    }

    /// Bytes of page-table memory in use (tables reachable from the pgd).
    pub fn bytes(&self) -> u64 {
        let leaves = (self.leaves.len() - self.free_leaves.len()) as u64 * self.leaf_len() * 8;
        let all: u64 = self.dirs.iter().map(|d| d.len() as u64 * 4).sum();
        let freed: u64 =
            self.free_dirs.iter().flatten().map(|&k| self.dirs[k as usize].len() as u64 * 4).sum();
        leaves + all - freed + (self.huge.len() - self.free_huge.len()) as u64 * 8
    }

    /// Number of leaf tables in use.
    pub fn nr_leaves(&self) -> usize {
        self.leaves.len() - self.free_leaves.len()
    }

    /// A copy for fork (copy_page_range); the caller then rewrites what fork changes.
    #[must_use]
    pub fn clone_tables(&self) -> PageTable {
        PageTable {
            bits: self.bits.clone(),
            shifts: self.shifts.clone(),
            dirs: self.dirs.clone(),
            leaves: self.leaves.clone(),
            free_dirs: self.free_dirs.clone(),
            free_leaves: self.free_leaves.clone(),
            huge: self.huge.clone(),
            free_huge: self.free_huge.clone(),
        }
    }

    // ----- huge PMDs (transparent huge pages) -------------------------------------------

    /// The last-level directory entry covering `lvpn`: (directory, index), if the directories
    /// down to it exist.
    #[inline]
    fn pmd_slot(&self, lvpn: u64) -> Option<(usize, usize)> {
        let last_dir = self.bits.len() - 2;
        let mut d = 0usize;
        for level in 0..last_dir {
            let c = self.dirs[d][self.idx(level, lvpn)];
            if c == NONE {
                return None;
            }
            d = c as usize - 1;
        }
        Some((d, self.idx(last_dir, lvpn)))
    }

    /// The huge PMD covering `lvpn` (pmd_trans_huge), or 0 if the PMD is none or a table.
    #[inline]
    pub fn pmd(&self, lvpn: u64) -> u64 {
        match self.pmd_slot(lvpn) {
            Some((d, i)) if self.dirs[d][i] & HUGE_PMD != 0 => {
                self.huge[(self.dirs[d][i] & !HUGE_PMD) as usize]
            }
            _ => 0,
        }
    }

    /// True if the PMD covering `lvpn` is none: no leaf table and no huge PMD (pmd_none).
    #[inline]
    pub fn pmd_none(&self, lvpn: u64) -> bool {
        self.pmd_slot(lvpn).is_none_or(|(d, i)| self.dirs[d][i] == NONE)
    }

    /// The huge PMD covering `lvpn`, mutable.
    #[inline]
    pub fn pmd_mut(&mut self, lvpn: u64) -> Option<&mut u64> {
        let (d, i) = self.pmd_slot(lvpn)?;
        let c = self.dirs[d][i];
        (c & HUGE_PMD != 0).then(|| &mut self.huge[(c & !HUGE_PMD) as usize])
    }

    /// Installs a huge PMD covering `lvpn` (set_pmd_at); the PMD must be none or huge already.
    pub fn set_pmd(&mut self, lvpn: u64, v: u64) {
        debug_assert!(v != 0, "a huge PMD is never 0: use clear_pmd");
        let last_dir = self.bits.len() - 2;
        let mut d = 0usize;
        for level in 0..last_dir {
            let i = self.idx(level, lvpn);
            let c = self.dirs[d][i];
            if c != NONE {
                d = c as usize - 1;
                continue;
            }
            let n = 1usize << self.bits[level + 1];
            let child = if let Some(k) = self.free_dirs[level + 1].pop() {
                k as usize
            } else {
                self.dirs.push(vec![NONE; n].into_boxed_slice());
                self.dirs.len() - 1
            };
            self.dirs[d][i] = u32::try_from(child + 1).expect("fewer than 2^31 - 1 page tables");
            d = child;
        }
        let i = self.idx(last_dir, lvpn);
        let c = self.dirs[d][i];
        if c & HUGE_PMD != 0 {
            self.huge[(c & !HUGE_PMD) as usize] = v;
            return;
        }
        assert!(c == NONE, "a huge PMD over a page table at lvpn {lvpn:#x}");
        let slot = if let Some(k) = self.free_huge.pop() {
            self.huge[k as usize] = v;
            k
        } else {
            self.huge.push(v);
            u32::try_from(self.huge.len() - 1)
                .ok()
                .filter(|&k| k & HUGE_PMD == 0)
                .expect("fewer than 2^31 huge PMDs")
        };
        self.dirs[d][i] = HUGE_PMD | slot;
    }

    /// Removes the huge PMD covering `lvpn` (pmdp_huge_get_and_clear), freeing directories
    /// left empty; returns its value (0 if there was none).
    pub fn clear_pmd(&mut self, lvpn: u64) -> u64 {
        let Some((d, i)) = self.pmd_slot(lvpn) else { return 0 };
        let c = self.dirs[d][i];
        if c & HUGE_PMD == 0 {
            return 0;
        }
        let k = c & !HUGE_PMD;
        let v = std::mem::replace(&mut self.huge[k as usize], 0);
        self.free_huge.push(k);
        self.unlink_pmd_entry(lvpn);
        v
    }

    /// Calls `f(first_lvpn, pmd)` for each huge PMD whose range starts in [start, end) or
    /// contains `start`, in address order, skipping empty subtrees whole.
    pub fn for_each_pmd(&self, start: u64, end: u64, mut f: impl FnMut(u64, u64)) {
        self.pmds_until(start, end, |v, p| {
            f(v, p);
            true
        });
    }

    /// Like [`PageTable::for_each_pmd`], stopping when `f` returns false; returns the lvpn
    /// after the last PMD range visited (`end` if the walk ran to the end).
    pub fn pmds_until(&self, start: u64, end: u64, mut f: impl FnMut(u64, u64) -> bool) -> u64 {
        let last_dir = self.bits.len() - 2;
        let span = self.leaf_len();
        let mut v = start / span * span;
        'outer: while v < end {
            let mut d = 0usize;
            for level in 0..last_dir {
                let c = self.dirs[d][self.idx(level, v)];
                if c == NONE {
                    let s = 1u64 << self.shifts[level];
                    v = (v / s + 1) * s;
                    continue 'outer;
                }
                d = c as usize - 1;
            }
            // Scan this PMD table from v's entry on.
            let per = 1u64 << self.bits[last_dir];
            let table_span = per * span;
            let table_end = (v / table_span + 1) * table_span;
            let mut i = self.idx(last_dir, v);
            while v < end && v < table_end {
                let c = self.dirs[d][i];
                v += span;
                i += 1;
                if c & HUGE_PMD != 0 && !f(v - span, self.huge[(c & !HUGE_PMD) as usize]) {
                    return v;
                }
            }
        }
        end
    }

    /// Number of huge PMDs in use.
    pub fn nr_huge(&self) -> usize {
        self.huge.len() - self.free_huge.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_walk_free() {
        let mut t = PageTable::new(&[9, 9, 9, 9]);
        let a = 0x7_ffff_fffe_u64;
        t.set(a, pte::mk(42, pte::WRITE));
        t.set(5, pte::mk(7, 0));
        assert_eq!(pte::pfn(t.get(a)), 42);
        assert_eq!(t.get(6), 0);
        let mut seen = vec![];
        t.for_each(0, 1 << 36, |v, s| {
            for (i, &p) in s.iter().enumerate() {
                if p != 0 {
                    seen.push(v + i as u64);
                }
            }
        });
        assert_eq!(seen, vec![5, a]);
        assert_eq!(t.nr_leaves(), 2);
        *t.get_mut(a).unwrap() = 0;
        t.free_empty(0, 1 << 36);
        assert_eq!(t.nr_leaves(), 1);
        t.set(a, 1);
        assert_eq!(t.nr_leaves(), 2);
    }

    #[test]
    fn swap_entries() {
        let e = pte::mk_swap(3, 12345);
        assert!(pte::is_swap(e) && !pte::is_present(e));
        assert_eq!((pte::swp_type(e), pte::swp_offset(e)), (3, 12345));
        assert!(pte::is_migration(pte::mk_swap(pte::SWP_MIGRATION_TYPE, 1)));
        assert!(!pte::is_swap(pte::mk(1, pte::WRITE)));
    }

    #[test]
    fn huge_pmds_are_skipped_by_pte_walkers() {
        let mut t = PageTable::new(&[9, 9, 9, 9]);
        t.set(3, pte::mk(9, 0));
        t.set_pmd(512 * 5, pte::mk(4096, pte::WRITE));
        t.set_pmd(512 * 7 + 3, pte::mk(8192, 0));
        assert_eq!(pte::pfn(t.pmd(512 * 5 + 17)), 4096);
        assert_eq!(t.pmd(3), 0);
        assert!(!t.pmd_none(3) && !t.pmd_none(512 * 5) && t.pmd_none(512 * 6));
        assert_eq!(t.get(512 * 5 + 1), 0);
        let mut seen = vec![];
        t.for_each(0, 1 << 20, |v, s| seen.push((v, s.len())));
        assert_eq!(seen, vec![(0, 512)]);
        let mut pmds = vec![];
        t.for_each_pmd(512 * 5 + 100, 1 << 30, |v, p| pmds.push((v, pte::pfn(p))));
        assert_eq!(pmds, vec![(512 * 5, 4096), (512 * 7, 8192)]);
        assert_eq!(t.nr_huge(), 2);
        assert_eq!(pte::pfn(t.clear_pmd(512 * 5)), 4096);
        assert_eq!(t.clear_pmd(512 * 5), 0);
        assert_eq!(t.nr_huge(), 1);
        let c = t.clone_tables();
        assert_eq!(pte::pfn(c.pmd(512 * 7)), 8192);
        t.clear_pmd(512 * 7);
        *t.get_mut(3).unwrap() = 0;
        t.free_empty(0, 1 << 20);
        assert_eq!(t.bytes(), 512 * 4);
    }

    #[test]
    #[should_panic(expected = "a PTE under a huge PMD")]
    fn a_pte_under_a_huge_pmd_is_a_bug() {
        let mut t = PageTable::new(&[9, 9, 9, 9]);
        t.set_pmd(0, pte::mk(512, 0));
        t.set(1, pte::mk(1, 0));
    }

    #[test]
    fn two_level() {
        let mut t = PageTable::new(&[10, 10]);
        t.for_each_make(1000, 3000, |v, s| {
            for (i, p) in s.iter_mut().enumerate() {
                *p = pte::mk(v + i as u64, 0);
            }
        });
        assert_eq!(pte::pfn(t.get(2999)), 2999);
        assert_eq!(t.get(3000), 0);
        assert_eq!(t.nr_leaves(), 3);
    }
}
