//! The hugetlb pool (mm/hugetlb.c): set_max_huge_pages(), alloc_hugetlb_folio() at fault
//! (dequeue_hugetlb_folio_vma(), alloc_surplus_hugetlb_folio()), free_huge_folio(), and the
//! "hugetlb" area of check().

use super::*;
use crate::machine::mm::{mapf, prot};
use crate::machine::reclaim::tests::machine;
use crate::ErrorKind;

const RW: u32 = prot::READ | prot::WRITE;
const HP: u32 = mapf::PRIVATE | mapf::ANONYMOUS | mapf::HUGETLB;

fn counts(m: &Machine, nid: u32) -> (u64, u64, u64) {
    let c = m.hugetlb_counts(nid);
    (c.total, c.free, c.surplus)
}

#[test]
fn set_max_huge_pages_grows_per_node_and_round_robin_and_shrinks_free_pages() {
    let mut m = machine(Semantics::Modern, 2, 8192, 0);
    let free0 = m.phys.node_counts(0).unwrap().1;
    // __nr_hugepages_store_common() for node 1: only node 1 allocates.
    m.set_nr_hugepages(3, Some(1)).unwrap();
    assert_eq!((counts(&m, 0), counts(&m, 1)), ((0, 0, 0), (3, 3, 0)));
    // The global sysctl: round robin over the memory nodes (for_each_node_mask_to_alloc).
    m.set_nr_hugepages(7, None).unwrap();
    assert_eq!(m.nr_hugepages(None).unwrap(), 7);
    assert_eq!(counts(&m, 0).0 + counts(&m, 1).0, 7);
    assert!(counts(&m, 0).0 >= 2, "node 0 got pages too: {:?}", counts(&m, 0));
    assert_eq!(m.phys.node_counts(0).unwrap().1, free0 - counts(&m, 0).0 * 512);
    m.check().unwrap();
    // Shrinking frees free pool pages back to the buddy allocator.
    m.set_nr_hugepages(0, None).unwrap();
    assert_eq!((counts(&m, 0), counts(&m, 1)), ((0, 0, 0), (0, 0, 0)));
    assert_eq!(m.phys.node_counts(0).unwrap().1, free0);
    m.check().unwrap();
    // More than memory allows: the pool stops where allocation fails (no error, as the
    // kernel's write succeeds with fewer pages).
    m.set_nr_hugepages(1000, Some(0)).unwrap();
    let got = m.nr_hugepages(Some(0)).unwrap();
    assert!(got > 0 && got < 16, "{got}");
    m.check().unwrap();
    assert!(m.set_nr_hugepages(1, Some(5)).unwrap_err().detail.contains("node 5"));
}

#[test]
fn fault_dequeues_from_the_pool_on_the_policys_node_and_frees_back_to_it() {
    let mut m = machine(Semantics::Modern, 2, 8192, 0);
    m.set_nr_overcommit_hugepages(Some(0));
    m.set_nr_hugepages(2, Some(1)).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let h = m.arch.huge_page_size();
    let a = m.mmap(p, None, h, RW, HP, None, 0).unwrap();
    // The task runs on node 0, whose pool is empty: dequeue_hugetlb_folio_nodemask() walks
    // the zonelist to node 1.
    m.touch(p, a, h, true).unwrap();
    assert_eq!(m.page_nodes(p, a, 4096).unwrap(), vec![1]);
    assert_eq!(counts(&m, 1), (2, 1, 0));
    m.check().unwrap();
    let content = m.peek(p, a, h).unwrap();
    assert!(content.iter().all(|&s| s != 0));
    // free_huge_folio(): back to node 1's free list, clean.
    m.munmap(p, a, h).unwrap();
    assert_eq!(counts(&m, 1), (2, 2, 0));
    m.check().unwrap();
    // A new mapping reads zeros from the reused pool page.
    let b = m.mmap(p, None, h, RW, HP, None, 0).unwrap();
    m.touch(p, b, h, false).unwrap();
    assert!(m.peek(p, b, h).unwrap().iter().all(|&s| s == 0));
    m.check().unwrap();
}

#[test]
fn no_pool_page_and_no_surplus_is_sigbus() {
    let mut m = machine(Semantics::Modern, 1, 8192, 0);
    m.set_nr_overcommit_hugepages(Some(0));
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let h = m.arch.huge_page_size();
    let a = m.mmap(p, None, h, RW, HP, None, 0).unwrap();
    let e = m.touch(p, a, 1, true).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Bus(a));
    assert!(e.detail.contains("nr_overcommit_hugepages 0"), "{}", e.detail);
    assert_eq!(m.page_nodes(p, a, 4096).unwrap(), vec![-crate::error::errno::ENOENT]);
    m.check().unwrap();
}

#[test]
fn surplus_pages_come_from_the_buddy_allocator_and_go_back_to_it() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 8192, 0);
        m.set_nr_overcommit_hugepages(Some(1));
        let free0 = m.phys.node_counts(0).unwrap().1;
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let h = m.arch.huge_page_size();
        let a = m.mmap(p, None, 2 * h, RW, HP, None, 0).unwrap();
        // alloc_surplus_hugetlb_folio(): one surplus page allowed, the second fault fails.
        m.touch(p, a, 1, true).unwrap();
        assert_eq!(counts(&m, 0), (1, 0, 1), "{sem}");
        assert_eq!(m.touch(p, a + h, 1, true).unwrap_err().kind, ErrorKind::Bus(a + h));
        m.check().unwrap();
        // Unmapped, the surplus page leaves the pool.
        m.munmap(p, a, 2 * h).unwrap();
        assert_eq!(counts(&m, 0), (0, 0, 0), "{sem}");
        assert_eq!(m.phys.node_counts(0).unwrap().1, free0, "{sem}");
        m.check().unwrap();
    }
}

#[test]
fn shrinking_below_the_pages_in_use_makes_them_surplus_and_growing_takes_them_back() {
    let mut m = machine(Semantics::Modern, 1, 8192, 0);
    m.set_nr_overcommit_hugepages(Some(0));
    m.set_nr_hugepages(2, None).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let h = m.arch.huge_page_size();
    let a = m.mmap(p, None, 2 * h, RW, HP, None, 0).unwrap();
    m.touch(p, a, 2 * h, true).unwrap();
    // set_max_huge_pages(0): min_count = pages in use; adjust_pool_surplus(h, nodes, 1).
    m.set_nr_hugepages(0, None).unwrap();
    assert_eq!(counts(&m, 0), (2, 0, 2));
    assert_eq!(m.nr_hugepages(None).unwrap(), 0);
    // Growing to 1 turns one surplus page persistent again (adjust_pool_surplus(-1)).
    m.set_nr_hugepages(1, None).unwrap();
    assert_eq!(counts(&m, 0), (2, 0, 1));
    m.check().unwrap();
    // Unmapping: one page leaves as surplus, the other stays in the pool, free.
    m.munmap(p, a, 2 * h).unwrap();
    assert_eq!(counts(&m, 0), (1, 1, 0));
    m.check().unwrap();
}

#[test]
fn fork_shares_a_hugetlb_page_until_both_unmap_it() {
    let mut m = machine(Semantics::Modern, 1, 8192, 0);
    m.set_nr_hugepages(1, None).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let h = m.arch.huge_page_size();
    let a = m.mmap(p, None, h, RW, mapf::SHARED | mapf::ANONYMOUS | mapf::HUGETLB, None, 0);
    let a = a.unwrap();
    m.touch(p, a, h, true).unwrap();
    let c = m.fork(p).unwrap();
    m.exit(p).unwrap();
    assert_eq!(counts(&m, 0), (1, 0, 0));
    m.check().unwrap();
    m.exit(c).unwrap();
    assert_eq!(counts(&m, 0), (1, 1, 0));
    m.check().unwrap();
}

#[test]
fn check_finds_a_corrupted_pool() {
    let mut m = machine(Semantics::Modern, 1, 8192, 0);
    m.set_nr_hugepages(2, None).unwrap();
    m.check().unwrap();
    m.hugetlb.nodes[0].total += 1;
    assert_eq!(m.check().unwrap_err().kind, ErrorKind::Invariant("hugetlb"));
    m.hugetlb.nodes[0].total -= 1;
    let head = m.hugetlb.nodes[0].free[0];
    m.hugetlb.nodes[0].free.push(head);
    let e = m.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invariant("hugetlb"));
    assert!(e.detail.contains("twice"), "{}", e.detail);
    m.hugetlb.nodes[0].free.pop();
    // A free pool page that is not on the free list is a leak.
    m.hugetlb.nodes[0].free.pop();
    let e = m.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invariant("hugetlb"));
    assert!(e.detail.contains("leaked"), "{}", e.detail);
}
