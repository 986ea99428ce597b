//! The node pairs of do_migrate_pages(): Paul Jackson's isomorphic loop (2.6.16) and Larry
//! Woodman's 2012 rule (modern). A pure function of the two masks.

use crate::error::{Error, Result};
use crate::nodemask::NodeMask;
use crate::semantics::Semantics;

/// The ordered (source, destination) pairs do_migrate_pages() runs for `from` -> `to`, without
/// touching memory. V5 has no pairs: it evicts the pages of every node in `from \ to` in one
/// pass, which is returned as `(node, None)` for each such node, ascending.
///
/// The 2.6.16 and modern loops stop at the first pair whose migrate_to_node() fails; this list
/// is what runs when none fails.
pub fn migration_pairs(
    from: &NodeMask,
    to: &NodeMask,
    sem: Semantics,
) -> Result<Vec<(u32, Option<u32>)>> {
    if from.nbits() != to.nbits() {
        return Err(Error::value(format!(
            "from and to must have the same capacity, got {} and {} bits",
            from.nbits(),
            to.nbits()
        )));
    }
    if sem == Semantics::V5 {
        // mirrors do_migrate_pages(), V5: nodes = complement(old & ~new), one list
        return Ok(from.andnot(to)?.iter().map(|s| (s, None)).collect());
    }
    let woodman = sem == Semantics::Modern && from.weight() != to.weight();
    let mut tmp = from.clone();
    let mut out = Vec::new();
    // mirrors do_migrate_pages(), 2.6.16 (the isomorphic loop) / 6.x (with Woodman's rule)
    while !tmp.is_empty() {
        let mut pick: Option<(u32, u32)> = None;
        for s in &tmp {
            // Woodman, 2012: with unequal weights, never move out of a node that is in `to`.
            if woodman && to.test(s) {
                continue;
            }
            let d = NodeMask::bitremap(s, from, to)?;
            if s == d {
                continue;
            }
            pick = Some((s, d));
            // Prefer a destination that is not itself still waiting to be emptied.
            if !tmp.test(d) {
                break;
            }
        }
        let Some((s, d)) = pick else { break };
        tmp.clear(s);
        out.push((s, Some(d)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(nodes: &[i64]) -> NodeMask {
        NodeMask::from_nodes(nodes.iter().copied(), 64).unwrap()
    }
    fn pairs(from: &[i64], to: &[i64], sem: Semantics) -> Vec<(u32, u32)> {
        migration_pairs(&m(from), &m(to), sem)
            .unwrap()
            .into_iter()
            .map(|(s, d)| (s, d.unwrap()))
            .collect()
    }

    /// Every example of spec §4.2.4 (2.6.16).
    #[test]
    fn linux2616_examples() {
        let s = Semantics::Linux2616;
        assert_eq!(pairs(&[0, 1], &[1, 0], s), vec![]);
        assert_eq!(pairs(&[0, 1], &[1, 2], s), vec![(1, 2), (0, 1)]);
        assert_eq!(pairs(&[0, 1, 2, 3], &[0, 1], s), vec![(3, 1), (2, 0)]);
        assert_eq!(pairs(&[0, 1, 2], &[], s), vec![]);
        // {0..7} -> {3,4}: the 2012 "ping-pong" trace: 3 and 4 swap their memory.
        let got = pairs(&[0, 1, 2, 3, 4, 5, 6, 7], &[3, 4], s);
        let mut srcs: Vec<u32> = got.iter().map(|p| p.0).collect();
        srcs.sort_unstable();
        assert_eq!(srcs, vec![0, 1, 2, 3, 4, 5, 6, 7]);
        for &(src, d) in &got {
            assert_eq!(d, if src % 2 == 0 { 3 } else { 4 }, "{src}");
        }
        assert!(got.contains(&(3, 4)) && got.contains(&(4, 3)));
        // The exact order the loop produces: scan picks the last candidate whose
        // destination is still in tmp, or the first whose destination is not.
        assert_eq!(got, vec![(7, 4), (6, 3), (5, 4), (4, 3), (1, 4), (3, 4), (0, 3), (2, 3)]);
    }

    /// Every example of spec §4.3.1 (modern, Woodman's rule).
    #[test]
    fn modern_examples() {
        let s = Semantics::Modern;
        // [2,3,4] -> [3,4,5]: equal weights, everything moves (relative layout kept).
        let got = pairs(&[2, 3, 4], &[3, 4, 5], s);
        assert_eq!(got, vec![(4, 5), (3, 4), (2, 3)]);
        // [0-7] -> [3,4,5]: only 0,1,2,6,7 move.
        let got = pairs(&[0, 1, 2, 3, 4, 5, 6, 7], &[3, 4, 5], s);
        let mut srcs: Vec<u32> = got.iter().map(|p| p.0).collect();
        srcs.sort_unstable();
        assert_eq!(srcs, vec![0, 1, 2, 6, 7]);
        for &(src, d) in &got {
            assert_eq!(d, [3, 4, 5][(src % 3) as usize]);
        }
        // {0..7} -> {3,4}: no more ping-pong between 3 and 4.
        let got = pairs(&[0, 1, 2, 3, 4, 5, 6, 7], &[3, 4], s);
        assert!(got.iter().all(|&(src, _)| src != 3 && src != 4), "{got:?}");
        assert_eq!(got.len(), 6);
        // Same weights behave as 2.6.16.
        assert_eq!(pairs(&[0, 1], &[1, 2], s), vec![(1, 2), (0, 1)]);
        assert_eq!(pairs(&[0, 1], &[1, 0], s), vec![]);
        assert_eq!(pairs(&[0, 1, 2, 3], &[0, 1], s), vec![(3, 1), (2, 0)]);
        assert_eq!(pairs(&[1], &[], s), vec![]);
    }

    #[test]
    fn v5_is_old_minus_new() {
        let got = migration_pairs(&m(&[0, 1, 2, 5]), &m(&[1, 3]), Semantics::V5).unwrap();
        assert_eq!(got, vec![(0, None), (2, None), (5, None)]);
        assert!(migration_pairs(&m(&[0]), &NodeMask::empty(8).unwrap(), Semantics::V5).is_err());
    }
}
