//! The hugetlb pool (mm/hugetlb.c): set_max_huge_pages(), alloc_hugetlb_folio() at fault
//! (dequeue_hugetlb_folio_vma(), alloc_surplus_hugetlb_folio()), free_huge_folio(), and the
//! "hugetlb" area of check().

use super::*;
use crate::machine::mm::{mapf, prot};
use crate::machine::reclaim::tests::machine;
use crate::machine::reclaim::PageState;
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

// ----- migration (modern): unmap_and_move_huge_page() ---------------------------------------

fn mask(nodes: &[i64]) -> crate::nodemask::NodeMask {
    crate::nodemask::NodeMask::from_nodes(nodes.iter().copied(), 64).unwrap()
}

/// A task on node 0 with `n` hugetlb pages written on node 0 (surplus pages by default).
fn hugetlb_task(m: &mut Machine, n: u64) -> (Pid, u64) {
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let h = m.arch.huge_page_size();
    let a = m.mmap(p, None, n * h, RW, HP, None, 0).unwrap();
    m.touch(p, a, n * h, true).unwrap();
    (p, a)
}

fn migrate(m: &mut Machine, p: Pid, flags: u32) -> crate::migrate::MigrateReport {
    let r = m.do_migrate_pages(p, &mask(&[0]), &mask(&[1]), flags).unwrap();
    m.check().unwrap();
    r
}

const MOVE: u32 = crate::mempolicy::MPOL_MF_MOVE;
const MOVE_ALL: u32 = crate::mempolicy::MPOL_MF_MOVE_ALL;

#[test]
fn alloc_hugetlb_folio_nodemask_takes_a_free_pool_page_of_the_destination() {
    let mut m = machine(Semantics::Modern, 2, 8192, 0);
    m.set_nr_overcommit_hugepages(Some(0));
    m.set_nr_hugepages(2, Some(0)).unwrap();
    m.set_nr_hugepages(2, Some(1)).unwrap();
    let (p, a) = hugetlb_task(&mut m, 2);
    let h = m.arch.huge_page_size();
    let content = m.peek(p, a, 2 * h).unwrap();
    let (t0, vm0) = (m.acct, m.vmstat.pgmigrate_success);
    let r = migrate(&mut m, p, MOVE);
    assert_eq!((r.ret, r.moved, r.moved_folios, r.hugetlb_moved), (0, 1024, 2, 2));
    assert_eq!(m.page_nodes(p, a, 2 * h).unwrap(), vec![1; 1024]);
    assert_eq!(m.peek(p, a, 2 * h).unwrap(), content);
    // Node 1's two free pages are in use now; node 0's two went back to its free list.
    assert_eq!((counts(&m, 0), counts(&m, 1)), ((2, 2, 0), (2, 0, 0)));
    assert_eq!(m.vmstat.pgmigrate_success - vm0, 1024);
    // The cost model's terms: two copies of 512 pages, two folios' work, TLB flushes.
    let d = m.acct;
    let one_copy = m.costs.copy_page_ns(4096, 20) * 512;
    assert_eq!(d.copy_ns - t0.copy_ns, 2 * one_copy);
    assert!(d.folio_ns > t0.folio_ns && d.tlb_ns > t0.tlb_ns);
}

#[test]
fn alloc_migrate_hugetlb_folio_takes_a_temporary_page_when_the_pool_has_none() {
    let mut m = machine(Semantics::Modern, 2, 8192, 0);
    // Default: empty pool, the task's pages are surplus pages of node 0.
    let (p, a) = hugetlb_task(&mut m, 1);
    let h = m.arch.huge_page_size();
    let content = m.peek(p, a, h).unwrap();
    assert_eq!(counts(&m, 0), (1, 0, 1));
    let r = migrate(&mut m, p, MOVE);
    assert_eq!((r.ret, r.hugetlb_moved), (0, 1));
    assert_eq!(m.peek(p, a, h).unwrap(), content);
    // move_hugetlb_state(): the new page is persistent, the surplus moved with it, the old
    // (now temporary) page went back to the buddy allocator.
    assert_eq!((counts(&m, 0), counts(&m, 1)), ((0, 0, 0), (1, 0, 1)));
    // Persistent pool pages on node 0, none free on node 1: still a temporary page.
    let mut m = machine(Semantics::Modern, 2, 8192, 0);
    m.set_nr_hugepages(1, Some(0)).unwrap();
    let (p, _) = hugetlb_task(&mut m, 1);
    migrate(&mut m, p, MOVE);
    assert_eq!((counts(&m, 0), counts(&m, 1)), ((0, 0, 0), (1, 0, 0)));
    assert_eq!(m.nr_hugepages(None).unwrap(), 1);
}

#[test]
fn no_pool_page_and_no_memory_on_the_destination_leaves_the_page_with_enomem() {
    let mut m = machine(Semantics::Modern, 2, 2048, 0);
    let (p, a) = hugetlb_task(&mut m, 1);
    // Fill node 1 with base pages so no huge page fits.
    let q = m.spawn(0, 0, 2, "/", "filler").unwrap();
    let b = m.mmap(q, None, 1500 * 4096, RW, mapf::PRIVATE | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(q, b, 1500 * 4096, true).unwrap();
    assert!(m.phys.node_counts(1).unwrap().1 < 512 + m.phys.node(1).unwrap().wmark[0]);
    let r = migrate(&mut m, p, MOVE);
    assert_eq!(r.ret, -i64::from(crate::error::errno::ENOMEM));
    assert_eq!(r.hugetlb_moved, 0);
    assert_eq!(m.page_nodes(p, a, 4096).unwrap(), vec![0]);
    assert_eq!(counts(&m, 0), (1, 0, 1));
}

#[test]
fn queue_folios_hugetlb_skips_shared_pages_unless_move_all() {
    let mut m = machine(Semantics::Modern, 2, 8192, 0);
    let (p, a) = hugetlb_task(&mut m, 1);
    let c = m.fork(p).unwrap();
    let r = migrate(&mut m, p, MOVE);
    assert_eq!((r.ret, r.hugetlb_moved, r.skipped.shared), (0, 0, 512));
    let r = migrate(&mut m, p, MOVE_ALL);
    assert_eq!(r.hugetlb_moved, 1);
    assert_eq!(m.page_nodes(c, a, 4096).unwrap(), vec![1]);
    assert_eq!(m.page_nodes(p, a, 4096).unwrap(), vec![1]);
}

#[test]
fn v5_and_2616_never_move_hugetlb_pages() {
    for sem in [Semantics::V5, Semantics::Linux2616] {
        let mut m = machine(sem, 2, 8192, 64);
        let (p, a) = hugetlb_task(&mut m, 1);
        let r = migrate(&mut m, p, MOVE);
        assert_eq!((r.hugetlb_moved, r.skipped.non_migratable_vma), (0, 1), "{sem}");
        assert_eq!(m.page_nodes(p, a, 4096).unwrap(), vec![0]);
    }
}

#[test]
fn move_pages_moves_a_hugetlb_page_whole_and_busy_for_a_second_address() {
    let mut m = machine(Semantics::Modern, 2, 8192, 0);
    let (p, a) = hugetlb_task(&mut m, 1);
    let h = m.arch.huge_page_size();
    let content = m.peek(p, a, h).unwrap();
    let (rc, st) = m.move_pages_core(p, &[a + 4096, a + 8192], Some(&[1, 1]), false).unwrap();
    // add_page_for_migration(): the second address finds the page isolated: -EBUSY, which
    // flushes the run (the first address) at once.
    assert_eq!((rc, st), (0, vec![1, -crate::error::errno::EBUSY]));
    assert_eq!(m.page_nodes(p, a, h).unwrap(), vec![1; 512]);
    assert_eq!(m.peek(p, a, h).unwrap(), content);
    m.check().unwrap();
}

#[test]
fn a_hugetlb_area_is_cut_only_at_a_huge_page_boundary_and_never_merges() {
    // split_vma() / hugetlb_vm_op_split(): EINVAL for a cut inside a huge page, with nothing
    // changed; a cut at a boundary splits. Hugetlb areas carry a VM_SPECIAL bit: no merge.
    for sem in [Semantics::Linux2616, Semantics::Modern] {
        let mut m = machine(sem, 1, 8192, 0);
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let h = m.arch.huge_page_size();
        let a = m.mmap(p, None, 2 * h, RW, HP, None, 0).unwrap();
        m.touch(p, a, 2 * h, true).unwrap();
        let mm = m.task_mm(p).unwrap();
        let vmas = m.mm(mm).vmas.map_count();
        let content = m.peek(p, a, 2 * h).unwrap();
        let inside = a + 4096;
        let mut refused = vec![
            m.munmap(p, inside, 4096).unwrap_err(),
            m.mprotect(p, inside, 4096, prot::READ).unwrap_err(),
            m.madvise(p, inside, 8192, crate::machine::madvise::Advice::DontFork).unwrap_err(),
            m.mbind_policy(p, inside, 4096, None).unwrap_err(),
        ];
        if sem == Semantics::Modern {
            // 6.x mlock_fixup() leaves hugetlb areas alone: no VM_LOCKED, no split.
            m.mlock(p, a, h + 4096, true).unwrap();
            assert!(m.mm(mm).vmas.iter().all(|(_, v)| !v.has(VmFlags::LOCKED)));
        } else {
            refused.push(m.mlock(p, a, h + 4096, true).unwrap_err());
        }
        for e in &refused {
            assert_eq!(e.errno(), Some(crate::error::errno::EINVAL), "{e}");
            assert!(e.detail.contains("hugetlb"), "{e}");
        }
        assert_eq!(m.mm(mm).vmas.map_count(), vmas);
        assert_eq!(m.peek(p, a, 2 * h).unwrap(), content);
        m.check().unwrap();
        // At the boundary between the two huge pages: two areas, which stay two.
        m.mprotect(p, a + h, h, prot::READ).unwrap();
        m.mprotect(p, a + h, h, RW).unwrap();
        assert_eq!(m.mm(mm).vmas.map_count(), vmas + 1);
        m.munmap(p, a + h, h).unwrap();
        assert_eq!(m.peek(p, a, h).unwrap(), content[..content.len() / 2]);
        m.check().unwrap();
    }
}

#[test]
fn page_states_are_refused_on_hugetlb_areas_with_nothing_changed() {
    let mut m = machine(Semantics::Modern, 1, 8192, 0);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let h = m.arch.huge_page_size();
    let a = m.mmap(p, None, h, RW, HP, None, 0).unwrap();
    m.touch(p, a, h, true).unwrap();
    for state in [PageState::Locked, PageState::Writeback, PageState::Pinned, PageState::Pagevec] {
        let e = m.set_page_state(p, a + 4096, 4096, state, true, None).unwrap_err();
        assert!(e.detail.contains("hugetlb area"), "{e}");
    }
    assert!(m.locks.is_empty() && m.pins.is_empty() && m.writeback.is_empty());
    // The page is freed whole at munmap, as before.
    m.munmap(p, a, h).unwrap();
    m.check().unwrap();
}

#[test]
fn shrinking_the_pool_can_leave_a_node_with_more_surplus_than_pages_as_the_kernel_does() {
    // Found by tests/test_api_fuzz.py (seed 14493). Worked through set_max_huge_pages():
    // a surplus page in use on node 0; node 1 shrunk to 0 keeps one free page (min_count is
    // the global in-use count, 1) and marks it surplus (adjust_pool_surplus()); the global
    // shrink to 1 then removes free pages with remove_pool_hugetlb_folio(acct_surplus = 0),
    // node 1's first: node 1 is left with no page and a surplus of one.
    let mut m = machine(Semantics::Modern, 3, 8192, 0);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let h = m.arch.huge_page_size();
    let a = m.mmap(p, None, h, RW, HP, None, 0).unwrap();
    m.touch(p, a, 4096, false).unwrap();
    assert_eq!(counts(&m, 0), (1, 0, 1));
    m.set_nr_hugepages(3, Some(1)).unwrap();
    assert_eq!(counts(&m, 1), (3, 3, 0));
    m.set_nr_hugepages(0, Some(1)).unwrap();
    assert_eq!(counts(&m, 1), (1, 1, 1));
    m.set_nr_hugepages(4, Some(2)).unwrap();
    m.set_nr_hugepages(1, None).unwrap();
    assert_eq!([counts(&m, 0), counts(&m, 1), counts(&m, 2)], [(1, 0, 1), (0, 0, 1), (2, 2, 0)]);
    assert_eq!(m.nr_hugepages(None).unwrap(), 1);
    m.check().unwrap();
    // The per-node write wraps as the kernel's unsigned arithmetic does: node 1's persistent
    // count is 0 - 1, so count = 1 + 1 - (0 - 1) = 3; node 1's surplus is taken back
    // (adjust_pool_surplus(-1)), then one fresh page makes persistent_huge_pages() 3.
    m.set_nr_hugepages(1, Some(1)).unwrap();
    assert_eq!(counts(&m, 1), (1, 1, 0));
    m.check().unwrap();
    // The page in use goes back to the buddy allocator (node 0 has a surplus).
    m.munmap(p, a, h).unwrap();
    m.check().unwrap();
    assert_eq!(counts(&m, 0), (0, 0, 0));
}
