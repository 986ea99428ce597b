//! `NodeMask` (nodemask_t): a fixed-capacity bitmap of node ids with the kernel's semantics.
//!
//! Capacity (`nbits`) is fixed at construction, like MAX_NUMNODES for a kernel build. Masks of up to
//! 1024 bits live inline (no heap allocation per operation); larger ones spill to the heap.

use smallvec::SmallVec;

use crate::error::{Error, Result};

/// Words kept inline: 16 x 64 = 1024 bits, the largest MAX_NUMNODES of a stock kernel.
const INLINE_WORDS: usize = 16;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NodeMask {
    nbits: u32,
    /// Little-endian bit order: bit n is `words[n / 64] >> (n % 64)`. Bits >= nbits are always 0.
    words: SmallVec<[u64; INLINE_WORDS]>,
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
            if n < 0 || n >= nbits as i64 {
                return Err(Error::value(format!(
                    "node {n} is out of range for a mask of {nbits} bits (valid: 0..{})",
                    nbits - 1
                )));
            }
            m.set(n as u32);
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
                return Some(i as u32 * 64 + w.trailing_zeros());
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
            .map(|(i, w)| i as u32 * 64 + 63 - w.leading_zeros())
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

    fn zip_with(&self, other: &NodeMask, op: &str, f: impl Fn(u64, u64) -> u64) -> Result<NodeMask> {
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
}
