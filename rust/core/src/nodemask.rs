//! `NodeMask` (nodemask_t): a fixed-capacity bitmap of node ids with the kernel's semantics.
//!
//! Capacity (`nbits`) is fixed at construction, like MAX_NUMNODES for a kernel build. Masks of up to
//! 1024 bits live inline (no heap allocation per operation); larger ones spill to the heap.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::host::bounded_u32;

/// Words kept inline: 16 x 64 = 1024 bits, the largest MAX_NUMNODES of a stock kernel.
const INLINE_WORDS: usize = 16;

#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeMask {
    nbits: u32,
    /// Little-endian bit order: bit n is `words[n / 64] >> (n % 64)`. Bits >= nbits are always 0.
    words: SmallVec<[u64; INLINE_WORDS]>,
}

/// A node number as the C `int` the kernel reports it in (a move_pages(2) status, the node of
/// get_mempolicy(2) with MPOL_F_NODE). Lossless: node numbers, and the capacity returned for
/// "no node", are at most [`NodeMask::MAX_BITS`] (2^20). Checked in debug builds.
#[inline]
#[allow(clippy::cast_possible_wrap, reason = "at most NodeMask::MAX_BITS, asserted above")]
pub fn node_int(nid: u32) -> i32 {
    debug_assert!(nid <= NodeMask::MAX_BITS, "node {nid}");
    nid as i32
}

/// The first node of word `i` of a mask. A mask has at most `MAX_BITS / 64` words.
#[inline]
fn word_base(i: usize) -> u32 {
    bounded_u32(i) * 64
}

impl NodeMask {
    /// The largest capacity the simulator accepts (a page worth of bits on ia64 with 64 KiB pages,
    /// the most get_nodes() can ever read, rounded up to a power of two).
    pub const MAX_BITS: u32 = 1 << 20;

    fn nwords(nbits: u32) -> usize {
        nbits.div_ceil(64) as usize
    }

    fn check_nbits(nbits: u32) -> Result<()> {
        if nbits == 0 || nbits > Self::MAX_BITS {
            return Err(Error::value(format!(
                "nbits must be between 1 and {}, got {nbits}",
                Self::MAX_BITS
            )));
        }
        Ok(())
    }

    /// The empty mask of capacity `nbits` (nodes_clear).
    pub fn empty(nbits: u32) -> Result<NodeMask> {
        Self::check_nbits(nbits)?;
        Ok(NodeMask { nbits, words: SmallVec::from_elem(0, Self::nwords(nbits)) })
    }

    /// Every node 0..nbits (nodes_setall).
    pub fn full(nbits: u32) -> Result<NodeMask> {
        let mut m = Self::empty(nbits)?;
        m.words.iter_mut().for_each(|w| *w = !0);
        m.trim();
        Ok(m)
    }

    /// A mask with the given nodes set; a node outside 0..nbits is an error naming it.
    pub fn from_nodes<I: IntoIterator<Item = i64>>(nodes: I, nbits: u32) -> Result<NodeMask> {
        let mut m = Self::empty(nbits)?;
        for n in nodes {
            let Some(nid) = u32::try_from(n).ok().filter(|&nid| nid < nbits) else {
                return Err(Error::value(format!(
                    "node {n} is out of range for a mask of {nbits} bits (valid: 0..{})",
                    nbits - 1
                )));
            };
            m.set(nid);
        }
        Ok(m)
    }

    /// Builds a mask from little-endian 64-bit words; bits at or above `nbits` are dropped.
    pub fn from_words(words: &[u64], nbits: u32) -> Result<NodeMask> {
        let mut m = Self::empty(nbits)?;
        let n = m.words.len().min(words.len());
        m.words[..n].copy_from_slice(&words[..n]);
        m.trim();
        Ok(m)
    }

    /// Clears the bits at or above nbits in the last word (the kernel's BITMAP_LAST_WORD_MASK).
    fn trim(&mut self) {
        let r = self.nbits % 64;
        if r != 0 {
            if let Some(last) = self.words.last_mut() {
                *last &= (1u64 << r) - 1;
            }
        }
    }

    pub fn nbits(&self) -> u32 {
        self.nbits
    }

    /// The backing words, little-endian bit order, `ceil(nbits / 64)` of them.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// node_isset; false for any node outside the capacity.
    #[inline]
    pub fn test(&self, n: u32) -> bool {
        n < self.nbits && (self.words[(n / 64) as usize] >> (n % 64)) & 1 == 1
    }

    /// node_set. Panics if `n >= nbits` (callers validate user input first).
    #[inline]
    pub fn set(&mut self, n: u32) {
        assert!(n < self.nbits, "node {n} outside mask of {} bits", self.nbits);
        self.words[(n / 64) as usize] |= 1 << (n % 64);
    }

    /// node_clear; a node outside the capacity is already clear.
    #[inline]
    pub fn clear(&mut self, n: u32) {
        if n < self.nbits {
            self.words[(n / 64) as usize] &= !(1 << (n % 64));
        }
    }

    /// nodes_weight.
    pub fn weight(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// nodes_empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// first_node: the lowest set node, or None (the kernel returns MAX_NUMNODES).
    pub fn first(&self) -> Option<u32> {
        self.next_from(0)
    }

    /// next_node(n): the lowest set node strictly above `n`, or None.
    pub fn next(&self, n: u32) -> Option<u32> {
        n.checked_add(1).and_then(|s| self.next_from(s))
    }

    /// find_next_bit(start): the lowest set node at or above `start`.
    pub fn next_from(&self, start: u32) -> Option<u32> {
        if start >= self.nbits {
            return None;
        }
        let mut i = (start / 64) as usize;
        let mut w = self.words[i] & (!0u64 << (start % 64));
        loop {
            if w != 0 {
                return Some(word_base(i) + w.trailing_zeros());
            }
            i += 1;
            if i >= self.words.len() {
                return None;
            }
            w = self.words[i];
        }
    }

    /// last_node / find_last_bit: the highest set node, or None.
    pub fn last(&self) -> Option<u32> {
        self.words
            .iter()
            .enumerate()
            .rev()
            .find(|(_, &w)| w != 0)
            .map(|(i, w)| word_base(i) + 63 - w.leading_zeros())
    }

    /// Set nodes in ascending order (for_each_node_mask).
    pub fn iter(&self) -> Iter<'_> {
        Iter { mask: self, next: 0 }
    }

    fn same_capacity(&self, other: &NodeMask, op: &str) -> Result<()> {
        if self.nbits != other.nbits {
            return Err(Error::value(format!(
                "{op}: masks have different capacities ({} and {} bits)",
                self.nbits, other.nbits
            )));
        }
        Ok(())
    }

    fn zip_with(
        &self,
        other: &NodeMask,
        op: &str,
        f: impl Fn(u64, u64) -> u64,
    ) -> Result<NodeMask> {
        self.same_capacity(other, op)?;
        let mut out = self.clone();
        for (a, &b) in out.words.iter_mut().zip(other.words.iter()) {
            *a = f(*a, b);
        }
        out.trim();
        Ok(out)
    }

    /// nodes_and.
    pub fn and(&self, other: &NodeMask) -> Result<NodeMask> {
        self.zip_with(other, "&", |a, b| a & b)
    }
    /// nodes_or.
    pub fn or(&self, other: &NodeMask) -> Result<NodeMask> {
        self.zip_with(other, "|", |a, b| a | b)
    }
    /// nodes_xor.
    pub fn xor(&self, other: &NodeMask) -> Result<NodeMask> {
        self.zip_with(other, "^", |a, b| a ^ b)
    }
    /// nodes_andnot: nodes in self but not in other.
    pub fn andnot(&self, other: &NodeMask) -> Result<NodeMask> {
        self.zip_with(other, "-", |a, b| a & !b)
    }
    /// nodes_complement, within nbits.
    #[must_use]
    pub fn complement(&self) -> NodeMask {
        let mut out = self.clone();
        out.words.iter_mut().for_each(|w| *w = !*w);
        out.trim();
        out
    }
    /// nodes_subset: every node of self is in other. Capacities must match.
    pub fn is_subset(&self, other: &NodeMask) -> Result<bool> {
        self.same_capacity(other, "subset")?;
        Ok(self.words.iter().zip(other.words.iter()).all(|(a, b)| a & !b == 0))
    }
    /// nodes_intersects. Capacities must match.
    pub fn intersects(&self, other: &NodeMask) -> Result<bool> {
        self.same_capacity(other, "intersects")?;
        Ok(self.words.iter().zip(other.words.iter()).any(|(a, b)| a & b != 0))
    }
}

/// The kernel's bit-level helpers and the remap family (lib/bitmap.c), on top of the set algebra.
impl NodeMask {
    /// Validates a capacity given as a signed integer (from Python), e.g. `NodeMask.empty(-1)`.
    pub fn nbits_from_i64(nbits: i64) -> Result<u32> {
        let n = u32::try_from(nbits).map_err(|_| {
            Error::value(format!("nbits must be between 1 and {}, got {nbits}", Self::MAX_BITS))
        })?;
        Self::check_nbits(n)?;
        Ok(n)
    }

    /// The error for a node outside `0..nbits`; `node` is its text (it may not fit an i64).
    pub fn out_of_range(node: &str, nbits: u32) -> Error {
        Error::value(format!(
            "node {node} is out of range for a mask of {nbits} bits (valid: 0..{})",
            nbits - 1
        ))
    }

    /// Builds a mask from little-endian 32-bit words (a 32-bit `unsigned long` user array);
    /// bits at or above `nbits` are dropped.
    pub fn from_words32(words: &[u32], nbits: u32) -> Result<NodeMask> {
        let mut m = Self::empty(nbits)?;
        for (i, &w) in words.iter().enumerate().take(m.words.len() * 2) {
            m.words[i / 2] |= u64::from(w) << (32 * (i % 2));
        }
        m.trim();
        Ok(m)
    }

    /// The 32-bit chunk starting at bit `32 * i` (bits above nbits read as 0).
    #[inline]
    #[expect(clippy::cast_possible_truncation, reason = "keeps the low half of the shifted word")]
    pub fn word32(&self, i: usize) -> u32 {
        self.words.get(i / 2).map_or(0, |w| (w >> (32 * (i % 2))) as u32)
    }

    /// bitmap_set(map, start, len): sets `len` bits from `start`. Panics past nbits.
    pub fn set_range(&mut self, start: u32, len: u32) {
        if len == 0 {
            return;
        }
        let end = start + len; // exclusive
        assert!(end <= self.nbits, "bits {start}..{end} outside mask of {} bits", self.nbits);
        let (first, last) = ((start / 64) as usize, ((end - 1) / 64) as usize);
        let head = !0u64 << (start % 64);
        let tail = !0u64 >> (63 - (end - 1) % 64);
        if first == last {
            self.words[first] |= head & tail;
        } else {
            self.words[first] |= head;
            self.words[first + 1..last].iter_mut().for_each(|w| *w = !0);
            self.words[last] |= tail;
        }
    }

    /// find_next_zero_bit(start): the lowest clear node at or above `start`, or None.
    pub fn next_zero_from(&self, start: u32) -> Option<u32> {
        if start >= self.nbits {
            return None;
        }
        let mut i = (start / 64) as usize;
        let mut w = !self.words[i] & (!0u64 << (start % 64));
        loop {
            if w != 0 {
                let n = word_base(i) + w.trailing_zeros();
                return (n < self.nbits).then_some(n);
            }
            i += 1;
            if i >= self.words.len() {
                return None;
            }
            w = !self.words[i];
        }
    }

    /// next_node() for a possibly negative argument: the lowest set node strictly above `n`
    /// (`n = -1` gives first_node, as `next_node(-1, mask)` does in the kernel).
    pub fn next_above(&self, n: i64) -> Option<u32> {
        let start = n.saturating_add(1).max(0);
        u32::try_from(start).ok().and_then(|s| self.next_from(s))
    }

    /// bitmap_weight(buf, pos): how many set nodes lie below `pos`.
    pub fn weight_below(&self, pos: u32) -> u32 {
        let pos = pos.min(self.nbits);
        let full = (pos / 64) as usize;
        let mut w: u32 = self.words[..full].iter().map(|w| w.count_ones()).sum();
        if pos % 64 != 0 {
            w += (self.words[full] & ((1u64 << (pos % 64)) - 1)).count_ones();
        }
        w
    }

    /// bitmap_pos_to_ord(): which set node (0-based) `pos` is, or None if it is clear or
    /// out of range.
    pub fn pos_to_ord(&self, pos: u32) -> Option<u32> {
        self.test(pos).then(|| self.weight_below(pos))
    }

    /// find_nth_bit() / bitmap_ord_to_pos(): the position of the `n`-th (0-based) set node.
    pub fn nth(&self, mut n: u32) -> Option<u32> {
        for (i, &w) in self.words.iter().enumerate() {
            let c = w.count_ones();
            if n < c {
                let mut w = w;
                for _ in 0..n {
                    w &= w - 1; // drop the lowest set bit
                }
                return Some(word_base(i) + w.trailing_zeros());
            }
            n -= c;
        }
        None
    }

    /// The kernel's remap of one node through the map (old -> new) that bitmap_remap and
    /// bitmap_bitremap share: the n-th set node of `old` goes to the (n mod w)-th set node of
    /// `new` (w = weight of new); nodes not in `old`, or any node when `new` is empty, stay put.
    #[inline]
    fn remap_one(oldbit: u32, old: &NodeMask, new: &NodeMask, w: u32) -> u32 {
        match old.pos_to_ord(oldbit) {
            Some(n) if w != 0 => new.nth(n % w).expect("n % w < weight(new)"),
            _ => oldbit,
        }
    }

    /// nodes_remap() / bitmap_remap(), lib/bitmap.c (same text in 2.6.18 and 6.x): applies the
    /// map defined by `old` and `new` to every node of `self`. All three capacities must match.
    ///
    /// Example (kernel-doc): old = 4-7, new = 12-15, self = {1, 5, 7} -> {1, 13, 15}.
    pub fn remap(&self, old: &NodeMask, new: &NodeMask) -> Result<NodeMask> {
        self.same_capacity(old, "remap (old)")?;
        self.same_capacity(new, "remap (new)")?;
        let mut out =
            NodeMask { nbits: self.nbits, words: SmallVec::from_elem(0, self.words.len()) };
        let w = new.weight();
        for oldbit in self {
            out.set(Self::remap_one(oldbit, old, new, w));
        }
        Ok(out)
    }

    /// node_remap() / bitmap_bitremap(), lib/bitmap.c: where the map (old -> new) sends one node.
    /// A node outside the capacity maps to itself, as bitmap_pos_to_ord() treats it as unset.
    ///
    /// Example (kernel-doc): old = 4-7, new = 12-15: 5 -> 13.
    pub fn bitremap(oldbit: u32, old: &NodeMask, new: &NodeMask) -> Result<u32> {
        old.same_capacity(new, "node_remap")?;
        Ok(Self::remap_one(oldbit, old, new, new.weight()))
    }

    /// nodes_onto() / bitmap_onto(), lib/bitmap.c: sets the n-th node of `relmap` iff bit m of
    /// `self` is set, where that node is the m-th set node of `relmap`. Bits of `self` at or above
    /// weight(relmap) map nowhere. Capacities must match.
    ///
    /// Example [1] (kernel-doc): relmap = 30-39, self = {1,3,5,7,9,11} -> {31,33,35,37,39}.
    pub fn onto(&self, relmap: &NodeMask) -> Result<NodeMask> {
        self.same_capacity(relmap, "onto")?;
        let mut out =
            NodeMask { nbits: self.nbits, words: SmallVec::from_elem(0, self.words.len()) };
        // m counts the set nodes of relmap: fewer than its capacity, a u32.
        for (m, n) in (0u32..).zip(relmap.iter()) {
            if self.test(m) {
                out.set(n);
            }
        }
        Ok(out)
    }

    /// nodes_fold() / bitmap_fold(), lib/bitmap.c: sets bit (m mod sz) for every set bit m.
    /// The result keeps this mask's capacity (the kernel's dst has the same nbits); `sz` must be
    /// at least 1 (the kernel would divide by zero).
    ///
    /// Example [2] (kernel-doc): sz = 10, self = {0, 9, 18, 27} -> {0, 7, 8, 9}.
    pub fn fold(&self, sz: u32) -> Result<NodeMask> {
        if sz == 0 {
            return Err(Error::value("fold: sz must be at least 1 (bitmap_fold divides by it)"));
        }
        let mut out =
            NodeMask { nbits: self.nbits, words: SmallVec::from_elem(0, self.words.len()) };
        for m in self {
            out.set(m % sz);
        }
        Ok(out)
    }

    /// A 64-bit hash of capacity and contents (stable within a build; equal masks hash equal).
    pub fn hash64(&self) -> u64 {
        // FxHash-style mixing: cheap at 16 words, and Python's hash() needs no more.
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = u64::from(self.nbits).wrapping_mul(K);
        for &w in &self.words {
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        h
    }
}

/// Iterator over set nodes, ascending.
pub struct Iter<'a> {
    mask: &'a NodeMask,
    next: u32,
}

impl Iterator for Iter<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let n = self.mask.next_from(self.next)?;
        self.next = n + 1;
        Some(n)
    }
}

impl<'a> IntoIterator for &'a NodeMask {
    type Item = u32;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::fmt::Debug for NodeMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeMask({:?}, nbits={})", self.iter().collect::<Vec<_>>(), self.nbits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        let m = NodeMask::from_nodes([0, 3, 64, 1023], 1024).unwrap();
        assert_eq!(m.weight(), 4);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![0, 3, 64, 1023]);
        assert_eq!((m.first(), m.last(), m.next(3)), (Some(0), Some(1023), Some(64)));
        assert_eq!(m.next(1023), None);
        assert!(NodeMask::from_nodes([1024], 1024).unwrap_err().detail.contains("node 1024"));
        assert!(NodeMask::from_nodes([-1], 8).is_err());
        let f = NodeMask::full(65).unwrap();
        assert_eq!((f.weight(), f.last()), (65, Some(64)));
        assert_eq!(f.complement().weight(), 0);
        assert!(m.and(&f).is_err());
    }

    #[test]
    fn algebra() {
        let a = NodeMask::from_nodes([0, 1, 2], 8).unwrap();
        let b = NodeMask::from_nodes([2, 3], 8).unwrap();
        assert_eq!(a.and(&b).unwrap().iter().collect::<Vec<_>>(), vec![2]);
        assert_eq!(a.andnot(&b).unwrap().iter().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(a.xor(&b).unwrap().weight(), 3);
        assert!(a.and(&b).unwrap().is_subset(&a).unwrap());
        assert_eq!(a.complement().weight(), 5);
    }

    fn m(nodes: &[i64], nbits: u32) -> NodeMask {
        NodeMask::from_nodes(nodes.iter().copied(), nbits).unwrap()
    }
    fn v(m: &NodeMask) -> Vec<u32> {
        m.iter().collect()
    }

    #[test]
    fn remap_kernel_doc_examples() {
        // bitmap_remap(): old 4-7, new 12-15, src {1,5,7} -> {1,13,15}
        let old = m(&[4, 5, 6, 7], 64);
        let new = m(&[12, 13, 14, 15], 64);
        assert_eq!(v(&m(&[1, 5, 7], 64).remap(&old, &new).unwrap()), vec![1, 13, 15]);
        // bitmap_bitremap(): 5 -> 13; unset bits of old map to themselves
        assert_eq!(NodeMask::bitremap(5, &old, &new).unwrap(), 13);
        assert_eq!(NodeMask::bitremap(3, &old, &new).unwrap(), 3);
        assert_eq!(NodeMask::bitremap(200, &old, &new).unwrap(), 200);
        // weight(new) < weight(old): n-th of old -> (n mod w)-th of new
        let new2 = m(&[20, 30], 64);
        assert_eq!(v(&m(&[4, 5, 6, 7], 64).remap(&old, &new2).unwrap()), vec![20, 30]);
        // an empty old or new is the identity
        let e = NodeMask::empty(64).unwrap();
        assert_eq!(v(&m(&[4, 9], 64).remap(&old, &e).unwrap()), vec![4, 9]);
        assert_eq!(v(&m(&[4, 9], 64).remap(&e, &new).unwrap()), vec![4, 9]);
        assert!(m(&[1], 64).remap(&m(&[1], 8), &new).is_err());
    }

    #[test]
    fn onto_and_fold_kernel_doc_examples() {
        // Example [1]: relmap 30-39, orig {1,3,5,7,9,11} -> {31,33,35,37,39}
        let relmap = m(&(30..40).collect::<Vec<_>>(), 64);
        let orig = m(&[1, 3, 5, 7, 9, 11], 64);
        assert_eq!(v(&orig.onto(&relmap).unwrap()), vec![31, 33, 35, 37, 39]);
        // Example [2]: relmap = 40 + first ten Fibonacci terms, fold by 10 then onto
        let rel = [40, 41, 42, 43, 45, 48, 53, 61, 74, 95];
        let table: [(&[i64], &[u32], &[u32]); 11] = [
            (&[0], &[0], &[40]),
            (&[1], &[1], &[41]),
            (&[9], &[9], &[95]),
            (&[10], &[0], &[40]),
            (&[1, 3, 5, 7], &[1, 3, 5, 7], &[41, 43, 48, 61]),
            (&[0, 1, 2, 3, 4], &[0, 1, 2, 3, 4], &[40, 41, 42, 43, 45]),
            (&[0, 9, 18, 27], &[0, 7, 8, 9], &[40, 61, 74, 95]),
            (&[0, 10, 20, 30], &[0], &[40]),
            (&[0, 11, 22, 33], &[0, 1, 2, 3], &[40, 41, 42, 43]),
            (&[0, 12, 24, 36], &[0, 2, 4, 6], &[40, 42, 45, 53]),
            (&[78, 102, 211], &[1, 2, 8], &[41, 42, 74]),
        ];
        let relmap = m(&rel, 256);
        for (orig, tmp, dst) in table {
            let o = m(orig, 256);
            let t = o.fold(relmap.weight()).unwrap();
            assert_eq!(v(&t), tmp.to_vec(), "fold of {orig:?}");
            assert_eq!(v(&t.onto(&relmap).unwrap()), dst.to_vec(), "onto of {orig:?}");
        }
        assert!(m(&[1], 8).fold(0).is_err());
        assert_eq!(m(&[3], 8).fold(100).unwrap(), m(&[3], 8));
    }

    #[test]
    fn helpers() {
        let x = m(&[0, 3, 64, 1023], 1024);
        assert_eq!((x.nth(0), x.nth(2), x.nth(3), x.nth(4)), (Some(0), Some(64), Some(1023), None));
        assert_eq!((x.pos_to_ord(64), x.pos_to_ord(63)), (Some(2), None));
        assert_eq!((x.next_zero_from(0), x.next_zero_from(3)), (Some(1), Some(4)));
        assert_eq!(NodeMask::full(65).unwrap().next_zero_from(0), None);
        assert_eq!(
            (x.next_above(-1), x.next_above(-5), x.next_above(1023)),
            (Some(0), Some(0), None)
        );
        let mut r = NodeMask::empty(200).unwrap();
        r.set_range(60, 80);
        assert_eq!(v(&r), (60..140).collect::<Vec<_>>());
        assert_eq!(NodeMask::from_words32(&[1, 2, 4], 96).unwrap(), m(&[0, 33, 66], 96));
        assert_eq!((x.word32(0), x.word32(2), x.word32(31)), (9, 1, 1 << 31));
        assert_eq!(NodeMask::nbits_from_i64(-1).unwrap_err().kind, crate::ErrorKind::Value);
        assert_ne!(m(&[1], 8).hash64(), m(&[1], 16).hash64());
    }
}
