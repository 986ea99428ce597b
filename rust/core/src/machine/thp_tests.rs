//! Transparent huge pages: faults, the huge zero page, splitting, fork, mprotect, munmap and
//! the content model, each named after the kernel function it mirrors; check() after every step.

use super::thp::ThpMode;
use super::*;
use crate::error::errno;
use crate::machine::madvise::Advice;
use crate::machine::mm::{mapf, prot};

const PS: u64 = 4096;
const HP: u64 = 2 << 20;
const RW: u32 = prot::READ | prot::WRITE;
const BASE: u64 = 0x4000_0000;

/// A modern x86_64 machine (nodes of `pages` 4 KiB pages) with THP `mode`, and a task on CPU 0.
pub(crate) fn thp_machine(nodes: &[u64], mode: ThpMode) -> (Machine, Pid) {
    let mut m = crate::testutil::x86_machine(Semantics::Modern, nodes, 0);
    m.set_thp(mode).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    (m, p)
}

/// A private anonymous area of `hps` huge pages at BASE (2 MiB aligned).
pub(crate) fn thp_area(m: &mut Machine, p: Pid, hps: u64) -> u64 {
    m.mmap(p, Some(BASE), hps * HP, RW, mapf::PRIVATE | mapf::ANONYMOUS | mapf::FIXED, None, 0)
        .unwrap()
}

fn huge_pmds(m: &Machine, p: Pid) -> usize {
    m.mm(m.task_mm(p).unwrap()).pt.nr_huge()
}

#[test]
fn do_huge_pmd_anonymous_page_maps_a_whole_thp_on_a_write_fault() {
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 2);
    let free = m.phys.node_counts(0).unwrap().1;
    m.touch(p, a, PS, true).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, p), 1);
    assert_eq!(m.phys.node_counts(0).unwrap().1, free - 512, "one 2 MiB block on node 0");
    assert_eq!(m.vmstat.thp_fault_alloc, 1);
    assert_eq!(m.mm(m.task_mm(p).unwrap()).rss_anon, 512);
    // The written base page has a fresh stamp, the others read zero.
    let c = m.peek(p, a, 4 * PS).unwrap();
    assert!(c[0] != 0 && c[1..] == [0, 0, 0]);
    // A store to the whole THP: stamps s .. s+511 in address order.
    m.touch(p, a, HP, true).unwrap();
    m.check().unwrap();
    let c = m.peek(p, a, HP).unwrap();
    assert!(c.windows(2).all(|w| w[1] == w[0] + 1));
    assert!(!m.thp_overlay.contains_key(&m.frame_at(p, a).unwrap()));
}

#[test]
fn the_madvise_mode_needs_madv_hugepage_and_never_is_never() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Madvise);
    let a = thp_area(&mut m, p, 2);
    m.touch(p, a, PS, true).unwrap();
    assert_eq!(huge_pmds(&m, p), 0);
    m.madvise(p, a + HP, HP, Advice::HugePage).unwrap();
    m.touch(p, a + HP, PS, true).unwrap();
    assert_eq!(huge_pmds(&m, p), 1);
    m.check().unwrap();
    let (mut m, p) = thp_machine(&[8192], ThpMode::Never);
    let a = thp_area(&mut m, p, 1);
    m.madvise(p, a, HP, Advice::HugePage).unwrap();
    m.touch(p, a, HP, true).unwrap();
    assert_eq!(huge_pmds(&m, p), 0);
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.madvise(p, a, HP, Advice::NoHugePage).unwrap();
    m.touch(p, a, HP, true).unwrap();
    assert_eq!(huge_pmds(&m, p), 0);
    m.check().unwrap();
}

#[test]
fn transhuge_vma_suitable_needs_a_whole_aligned_block() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = m
        .mmap(p, Some(BASE + PS), HP, RW, mapf::PRIVATE | mapf::ANONYMOUS | mapf::FIXED, None, 0)
        .unwrap();
    m.touch(p, a, HP, true).unwrap();
    assert_eq!(huge_pmds(&m, p), 0, "no 2 MiB block lies inside the area");
    m.check().unwrap();
}

#[test]
fn a_node_without_a_free_huge_block_falls_back_to_base_pages() {
    // Node 0 has 700 frames: after the zero page and a few base pages no aligned 512 block.
    let (mut m, p) = thp_machine(&[600, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, p), 0);
    assert_eq!(m.vmstat.thp_fault_fallback, 1);
    assert_eq!(m.vmstat.thp_fault_alloc, 0);
    let nodes = m.page_nodes(p, a, HP).unwrap();
    assert!(nodes.contains(&0), "base pages fill node 0 first, then fall back");
}

#[test]
fn a_read_fault_maps_the_huge_zero_page_and_a_write_splits_it() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, false).unwrap();
    m.check().unwrap();
    assert_eq!(m.vmstat.thp_zero_page_alloc, 1);
    assert_eq!(huge_pmds(&m, p), 1);
    assert_eq!(m.mm(m.task_mm(p).unwrap()).rss_anon, 0);
    assert_eq!(m.peek(p, a, HP).unwrap(), vec![0; 512]);
    // do_huge_pmd_wp_page(): is_huge_zero_pmd -> fallback: split, then a 4 KiB COW, all in
    // one fault.
    let faults = m.vmstat.pgfault;
    m.touch(p, a + 3 * PS, PS, true).unwrap();
    m.check().unwrap();
    assert_eq!(m.vmstat.pgfault - faults, 1);
    assert_eq!(huge_pmds(&m, p), 0);
    assert_eq!(m.vmstat.thp_split_pmd, 1);
    assert_eq!(m.mm(m.task_mm(p).unwrap()).rss_anon, 1);
}

#[test]
fn a_partial_munmap_or_mprotect_splits_and_keeps_every_base_page() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 2);
    m.touch(p, a, 2 * HP, true).unwrap();
    m.touch(p, a + 5 * PS, PS, true).unwrap();
    let before = m.peek(p, a, 2 * HP).unwrap();
    // change_huge_pmd() for the whole second THP, a split for the first.
    m.mprotect(p, a + HP - 16 * PS, HP + 16 * PS, prot::READ).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, p), 1);
    assert_eq!(m.vmstat.thp_split_page, 1);
    assert_eq!(m.peek(p, a, 2 * HP).unwrap(), before);
    let free = m.phys.node_counts(0).unwrap().1;
    m.munmap(p, a + HP, HP).unwrap();
    m.check().unwrap();
    assert_eq!(m.phys.node_counts(0).unwrap().1, free + 512, "zap_huge_pmd freed the THP");
    m.munmap(p, a + PS, 3 * PS).unwrap();
    m.check().unwrap();
    let mut want = before[..512].to_vec();
    want.drain(1..4);
    let after: Vec<u32> =
        [m.peek(p, a, PS).unwrap(), m.peek(p, a + 4 * PS, HP - 4 * PS).unwrap()].concat();
    assert_eq!(after, want);
}

#[test]
fn cow_after_fork_splits_the_pmd_and_copies_one_base_page() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let before = m.peek(p, a, HP).unwrap();
    let c = m.fork(p).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, c), 1, "copy_huge_pmd() shares the THP");
    let head = m.frame_at(p, a).unwrap();
    assert_eq!(m.phys.folio(head).unwrap().mapcount, 2);
    let faults = m.vmstat.pgfault;
    m.touch(p, a + 7 * PS, PS, true).unwrap();
    m.check().unwrap();
    assert_eq!(m.vmstat.pgfault - faults, 1, "the split and the copy are one fault");
    assert_eq!(m.peek(c, a, HP).unwrap(), before, "the child reads what was there");
    let mine = m.peek(p, a, HP).unwrap();
    assert_ne!(mine[7], before[7]);
    assert_eq!(mine[..7], before[..7]);
    assert_eq!(m.vmstat.cow_faults, 1);
    m.exit(c).unwrap();
    m.check().unwrap();
}

#[test]
fn an_exclusive_thp_is_reused_on_a_write_fault_after_the_child_exits() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let c = m.fork(p).unwrap();
    m.exit(c).unwrap();
    m.touch(p, a, HP, true).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, p), 1);
    assert_eq!(m.vmstat.thp_split_page, 0);
}

#[test]
fn swap_out_splits_a_thp_first() {
    let mut m = crate::testutil::x86_machine(Semantics::Modern, &[8192], 2048);
    m.set_thp(ThpMode::Always).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let before = m.peek(p, a, HP).unwrap();
    m.swap_out(p, a, 8 * PS).unwrap();
    m.check().unwrap();
    assert_eq!(m.vmstat.thp_swpout_fallback, 1);
    assert_eq!(m.peek(p, a, HP).unwrap(), before);
    m.exit(p).unwrap();
    m.check().unwrap();
}

#[test]
fn thp_options_need_the_modern_semantics() {
    for sem in [Semantics::V5, Semantics::Linux2616] {
        let mut m = crate::testutil::x86_machine(sem, &[1024], 0);
        let e = m.set_thp(ThpMode::Always).unwrap_err();
        assert!(e.to_string().contains(&sem.to_string()), "{e}");
    }
}

#[test]
fn check_finds_a_thp_whose_mapcount_is_wrong() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let head = m.frame_at(p, a).unwrap();
    m.phys.folio_mut(head).mapcount = 2;
    assert_eq!(m.check().unwrap_err().kind, crate::error::ErrorKind::Invariant(check::area::THP));
}

#[test]
fn check_finds_a_lost_write_to_a_base_page_of_a_thp() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    m.touch(p, a + PS, PS, true).unwrap();
    let head = m.frame_at(p, a).unwrap();
    m.thp_overlay.remove(&head);
    assert_eq!(
        m.check().unwrap_err().kind,
        crate::error::ErrorKind::Invariant(check::area::CONTENT)
    );
}

// ----- migration ------------------------------------------------------------------------------

fn nodes_mask(n: &[i64]) -> crate::nodemask::NodeMask {
    crate::nodemask::NodeMask::from_nodes(n.iter().copied(), 64).unwrap()
}

const MOVE: u32 = crate::mempolicy::MPOL_MF_MOVE;
const MOVE_ALL: u32 = crate::mempolicy::MPOL_MF_MOVE_ALL;

#[test]
fn migrate_pages_moves_a_thp_whole_with_one_pmd() {
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 2);
    m.touch(p, a, 2 * HP, true).unwrap();
    m.touch(p, a + 9 * PS, PS, true).unwrap();
    let before = m.peek(p, a, 2 * HP).unwrap();
    let r = m.do_migrate_pages(p, &nodes_mask(&[0]), &nodes_mask(&[1]), MOVE).unwrap();
    m.check().unwrap();
    assert_eq!(r.ret, 0);
    assert_eq!((r.thp_moved, r.moved_folios, r.moved, r.isolated), (2, 2, 1024, 1024));
    assert_eq!(m.vmstat.thp_migration_success, 2);
    assert_eq!(m.vmstat.pgmigrate_success, 1024);
    assert_eq!(huge_pmds(&m, p), 2, "still PMD-mapped");
    assert_eq!(m.page_nodes(p, a, 2 * HP).unwrap(), vec![1; 1024]);
    assert_eq!(m.peek(p, a, 2 * HP).unwrap(), before, "every base page's content moved");
    // The cost model's terms: 2 MiB copied per THP at the remote distance, one folio's
    // software work and one reverse-map visit per THP, one TLB flush per THP (each fills a
    // batch of NR_MAX_BATCHED_MIGRATION pages).
    assert_eq!(r.time.copy_ns, 2 * 512 * m.costs.copy_page_ns(PS, 20));
    assert_eq!(r.time.folio_ns, 2 * m.costs.folio_ns(Semantics::Modern, true));
    assert_eq!(r.time.rmap_ns, 2 * m.costs.rmap_ns);
    assert_eq!(r.time.tlb_ns, 2 * m.costs.tlb_flush_ns(1, true));
}

#[test]
fn a_destination_without_a_free_huge_page_splits_and_migrates_base_pages() {
    // migrate_pages_batch(): -ENOMEM for a large folio -> try_split_folio(), nr_thp_failed,
    // nr_thp_split; the pieces migrate after the list; all of them moved -> return 0.
    let (mut m, p) = thp_machine(&[8192, 1000], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    // A base page at the start of node 1 leaves no aligned 512-frame block there.
    let q = m.spawn(0, 0, 2, "/", "q").unwrap();
    let b = m.mmap(q, None, PS, RW, mapf::PRIVATE | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(q, b, PS, true).unwrap();
    assert!(!m.phys.has_free_folio_block(1));
    let before = m.peek(p, a, HP).unwrap();
    let r = m.do_migrate_pages(p, &nodes_mask(&[0]), &nodes_mask(&[1]), MOVE).unwrap();
    m.check().unwrap();
    assert_eq!((r.thp_moved, r.thp_split), (0, 1));
    assert_eq!(m.vmstat.thp_migration_split, 1);
    assert_eq!(m.vmstat.thp_migration_fail, 1);
    assert_eq!(m.vmstat.thp_split_page, 1);
    assert_eq!(r.moved, 512);
    assert_eq!(r.ret, 0, "list_empty(from): every piece moved");
    assert_eq!(m.peek(p, a, HP).unwrap(), before);
    assert_eq!(m.page_nodes(p, a, HP).unwrap(), vec![1; 512]);
    assert_eq!(huge_pmds(&m, p), 0);
}

#[test]
fn pieces_of_a_split_thp_that_find_no_room_count_one_failure() {
    // Node 1 holds ~300 free frames: the THP splits, some pieces move, the rest stay.
    let (mut m, p) = thp_machine(&[8192, 300], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let before = m.peek(p, a, HP).unwrap();
    let r = m.do_migrate_pages(p, &nodes_mask(&[0]), &nodes_mask(&[1]), MOVE).unwrap();
    m.check().unwrap();
    assert_eq!(r.ret, 1, "the split THP is the one folio not migrated");
    assert!(r.moved > 0 && r.moved < 512, "{r:?}");
    assert_eq!(m.peek(p, a, HP).unwrap(), before);
}

#[test]
fn a_thp_shared_after_fork_is_skipped_without_move_all() {
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let c = m.fork(p).unwrap();
    let r = m.do_migrate_pages(p, &nodes_mask(&[0]), &nodes_mask(&[1]), MOVE).unwrap();
    assert_eq!((r.moved, r.skipped.shared), (0, 512));
    let r = m.do_migrate_pages(p, &nodes_mask(&[0]), &nodes_mask(&[1]), MOVE_ALL).unwrap();
    m.check().unwrap();
    assert_eq!(r.thp_moved, 1);
    assert_eq!(m.page_nodes(c, a, PS).unwrap(), vec![1], "both PMDs moved");
    m.exit(c).unwrap();
    m.check().unwrap();
}

#[test]
fn move_pages_on_a_base_page_moves_the_whole_thp() {
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let (ret, st) = m.move_pages_core(p, &[a + 100 * PS], Some(&[1]), false).unwrap();
    m.check().unwrap();
    assert_eq!((ret, st), (0, vec![1]));
    assert_eq!(m.page_nodes(p, a, HP).unwrap(), vec![1; 512]);
    // Two base pages of one THP in one run: the second finds the THP isolated (-EBUSY),
    // the run is flushed, and the third finds it on the target already.
    let (ret, st) =
        m.move_pages_core(p, &[a, a + PS, a + 2 * PS], Some(&[0, 0, 0]), false).unwrap();
    m.check().unwrap();
    assert_eq!((ret, st), (0, vec![0, -errno::EBUSY, 0]));
    let (_, st) = m.move_pages_core(p, &[a + 5 * PS], None, false).unwrap();
    assert_eq!(st, vec![0]);
}

#[test]
fn mbind_move_migrates_thps_by_the_new_policy() {
    use crate::mempolicy::{PolicyCall, MPOL_BIND};
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 2);
    m.touch(p, a, 2 * HP, true).unwrap();
    let before = m.peek(p, a, 2 * HP).unwrap();
    let pol = m.make_policy(p, PolicyCall::Mbind, MPOL_BIND, 0, &nodes_mask(&[1])).unwrap();
    // Half of the first THP and the whole second one: the first is split at the boundary.
    let r = m.mbind_migrate(p, a + HP / 2, HP + HP / 2, pol.as_ref(), &nodes_mask(&[1]), MOVE);
    let r = r.unwrap();
    m.check().unwrap();
    assert_eq!(r.thp_moved, 1);
    assert_eq!(m.peek(p, a, 2 * HP).unwrap(), before);
    let nodes = m.page_nodes(p, a, 2 * HP).unwrap();
    assert_eq!(nodes[..256], vec![0; 256]);
    assert_eq!(nodes[256..], vec![1; 768]);
}

#[test]
fn numa_maps_and_meminfo_count_thps_in_base_pages() {
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 2);
    let resident = m.resident_by_node(p).unwrap()[0].1;
    m.touch(p, a, HP, true).unwrap();
    let e = m.numa_maps(p).unwrap().into_iter().find(|e| e.start == a).unwrap();
    assert_eq!((e.pages, e.anon, e.nodes.clone()), (512, 512, vec![(0, 512)]));
    let mi = m.meminfo(0).unwrap();
    assert_eq!(mi.anon_huge, 512);
    assert!(mi.anon_pages >= 512);
    assert_eq!(m.resident_by_node(p).unwrap()[0].1, resident + 512);
}

#[test]
fn mlock_of_whole_thps_keeps_them_and_counts_them_mlocked() {
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 2);
    m.mlock(p, a, 2 * HP, true).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, p), 2, "make_pages_present() with write access maps THPs");
    assert_eq!(m.mlocked_pages(0), 1024);
    assert_eq!(m.vmstat.thp_split_page, 0);
    m.mlock(p, a + PS, PS, false).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, p), 1, "munlock of part of a THP splits it at the VMA boundary");
}

#[test]
fn madv_dontneed_zaps_whole_thps_and_splits_partial_ones() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 2);
    m.touch(p, a, 2 * HP, true).unwrap();
    let free = m.phys.node_counts(0).unwrap().1;
    m.madvise(p, a + HP, HP, Advice::DontNeed).unwrap();
    m.check().unwrap();
    assert_eq!(m.phys.node_counts(0).unwrap().1, free + 512);
    let before = m.peek(p, a, HP).unwrap();
    m.madvise(p, a, 2 * PS, Advice::DontNeed).unwrap();
    m.check().unwrap();
    let mut want = before;
    want[..2].fill(0);
    assert_eq!(m.peek(p, a, HP).unwrap(), want);
    assert_eq!(m.vmstat.thp_split_page, 1);
}

#[test]
fn interleave_places_thps_by_huge_page_index() {
    use crate::mempolicy::{PolicyCall, MPOL_INTERLEAVE};
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 4);
    let pol = m.make_policy(p, PolicyCall::Mbind, MPOL_INTERLEAVE, 0, &nodes_mask(&[0, 1]));
    let pol = pol.unwrap();
    m.mbind_migrate(p, a, 4 * HP, pol.as_ref(), &nodes_mask(&[0, 1]), 0).unwrap();
    m.touch(p, a, 4 * HP, true).unwrap();
    m.check().unwrap();
    let nodes = m.page_nodes(p, a, 4 * HP).unwrap();
    let per_thp: Vec<i32> = nodes.chunks(512).map(|c| c[0]).collect();
    assert!(nodes.chunks(512).all(|c| c.iter().all(|&x| x == c[0])));
    assert_eq!(per_thp, vec![0, 1, 0, 1]);
}

#[test]
fn the_default_policy_takes_a_thp_from_the_local_node_only() {
    // Node 0 has no free huge block: the THP is not taken from node 1 (no VM_HUGEPAGE, defrag
    // "madvise"): base pages instead, from node 0 while it has some.
    let (mut m, p) = thp_machine(&[600, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, PS, true).unwrap();
    assert_eq!(huge_pmds(&m, p), 0);
    assert_eq!(m.page_nodes(p, a, PS).unwrap(), vec![0]);
    // In a VM_HUGEPAGE area the policy's other nodes are tried.
    let b = m
        .mmap(
            p,
            Some(BASE + 4 * HP),
            HP,
            RW,
            mapf::PRIVATE | mapf::ANONYMOUS | mapf::FIXED,
            None,
            0,
        )
        .unwrap();
    m.madvise(p, b, HP, Advice::HugePage).unwrap();
    m.touch(p, b, PS, true).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, p), 1);
    assert_eq!(m.page_nodes(p, b, PS).unwrap(), vec![1]);
}

#[test]
fn the_huge_zero_page_has_no_node_for_move_pages_and_page_nodes() {
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, false).unwrap();
    assert_eq!(m.page_nodes(p, a, 2 * PS).unwrap(), vec![-errno::EFAULT; 2]);
    let (_, st) = m.move_pages_core(p, &[a], Some(&[1]), false).unwrap();
    assert_eq!(st, vec![-errno::EFAULT]);
    let r = m.do_migrate_pages(p, &nodes_mask(&[0]), &nodes_mask(&[1]), MOVE).unwrap();
    assert_eq!((r.isolated, r.moved), (0, 0), "queue_folios_pmd() skips the huge zero page");
    m.check().unwrap();
}

#[test]
fn move_pages_of_a_shared_thp_needs_move_all() {
    let (mut m, p) = thp_machine(&[8192, 8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let c = m.fork(p).unwrap();
    let (_, st) = m.move_pages_core(p, &[a], Some(&[1]), false).unwrap();
    assert_eq!(st, vec![-errno::EACCES]);
    let (_, st) = m.move_pages_core(p, &[a], Some(&[1]), true).unwrap();
    assert_eq!(st, vec![1]);
    m.check().unwrap();
    assert_eq!(m.page_nodes(c, a, PS).unwrap(), vec![1]);
}

#[test]
fn check_finds_a_huge_pmd_naming_no_thp() {
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 1);
    m.touch(p, a, HP, true).unwrap();
    let head = m.frame_at(p, a).unwrap();
    let mm = m.task_mm(p).unwrap();
    let lv = m.arch.lvpn(a);
    *m.mm_mut(mm).pt.pmd_mut(lv).unwrap() = crate::pagetable::pte::mk(head + 512, 0);
    assert_eq!(
        m.check().unwrap_err().kind,
        crate::error::ErrorKind::Invariant(check::area::PAGE_TABLES)
    );
}

#[test]
fn huge_pmds_stay_and_fault_at_the_pmd_level_after_madv_nohugepage() {
    // MADV_NOHUGEPAGE splits nothing: hugepage_madvise() only sets VM_NOHUGEPAGE. Faults on
    // the THPs already mapped are still handled at the PMD level (__handle_mm_fault() looks at
    // pmd_trans_huge() whatever the area's eligibility); no new THP is made there.
    let (mut m, p) = thp_machine(&[8192], ThpMode::Always);
    let a = thp_area(&mut m, p, 3);
    m.touch(p, a, HP, true).unwrap(); // a THP
    m.touch(p, a + HP, HP, false).unwrap(); // the huge zero page
    m.madvise(p, a, 3 * HP, Advice::NoHugePage).unwrap();
    assert_eq!(huge_pmds(&m, p), 2);
    let (faults, allocs) = (m.vmstat.pgfault, m.vmstat.thp_fault_alloc);
    // A store to the mapped THP: no fault, new content; a read: none either.
    let before = m.peek(p, a, HP).unwrap();
    m.touch(p, a, HP, true).unwrap();
    m.touch(p, a, HP, false).unwrap();
    assert_eq!(m.vmstat.pgfault - faults, 0);
    assert!(m.peek(p, a, HP).unwrap().iter().zip(&before).all(|(x, y)| x != y));
    // A store to the huge zero page: split, then one 4 KiB COW per base page.
    m.touch(p, a + HP, HP, true).unwrap();
    assert_eq!(m.vmstat.pgfault - faults, 512);
    // The third block was never touched: base pages now.
    m.touch(p, a + 2 * HP, HP, true).unwrap();
    assert_eq!(m.vmstat.pgfault - faults, 1024);
    assert_eq!(m.vmstat.thp_fault_alloc, allocs);
    assert_eq!(huge_pmds(&m, p), 1);
    m.check().unwrap();
    // The single-page path too (touch_pages; get_mempolicy()'s lookup is tested in Python).
    m.touch_pages(p, &[a + 5 * PS, a + 9 * PS], true).unwrap();
    m.check().unwrap();
    assert_eq!(huge_pmds(&m, p), 1);
}
