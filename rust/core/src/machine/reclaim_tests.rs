//! Reclaim (`swap_out`): pages with an extra reference, and the pages a pass keeps.

use super::*;
use crate::machine::mm::{mapf, prot};
use crate::mempolicy::MPOL_MF_MOVE;
use crate::nodemask::NodeMask;

const PS: u64 = 4096;

pub(crate) fn machine(sem: Semantics, nodes: u32, pages: u64, swap_pages: u64) -> Machine {
    crate::testutil::x86_machine(sem, &vec![pages; nodes as usize], swap_pages)
}

use crate::testutil::anon;

fn mask(nodes: &[i64]) -> NodeMask {
    NodeMask::from_nodes(nodes.iter().copied(), 64).unwrap()
}

/// The case checked on Linux 6.1 and 6.12 (issue 9, item 6): 32 pages paged out, 16 of them
/// with a get_user_pages (FOLL_GET) reference. All 32 are unmapped; the 16 pinned ones get a
/// slot and stay unwritten in the swap cache (pageout(): PAGE_KEEP), so migrate_pages finds
/// nothing present and returns 0. Touching them is a minor fault back to the same page.
#[test]
fn pinned_pages_are_unmapped_and_kept_in_the_swap_cache() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 2, 1024, 256);
        let p = m.spawn(0, 0, 0, "/", "gup").unwrap();
        let a = anon(&mut m, p, 32);
        m.touch(p, a, 32 * PS, true).unwrap();
        let content = m.peek(p, a, 32 * PS).unwrap();
        let half = a + 16 * PS;
        assert_eq!(m.set_page_state(p, half, 16 * PS, PageState::Pinned, true, None).unwrap(), 16);
        let pinned: Vec<u64> = (0..16).map(|i| m.frame_at(p, half + i * PS).unwrap()).collect();
        assert_eq!(m.swap_out(p, a, 32 * PS).unwrap(), 16, "{sem}: the unpinned half is freed");
        m.check().unwrap();
        assert_eq!(m.page_nodes(p, a, 32 * PS).unwrap(), vec![-errno::ENOENT; 32], "{sem}");
        assert_eq!(m.vmstat.pswpout, 16, "{sem}: no write for a pinned page");
        assert_eq!((m.swap.total_slots() - m.swap.free_slots(), m.swap.cache_pages()), (32, 16));
        for &pfn in &pinned {
            let f = m.phys.flags(pfn);
            assert_eq!(
                f & (pg::SWAPCACHE | pg::DIRTY | pg::LRU),
                pg::SWAPCACHE | pg::DIRTY | pg::LRU
            );
            assert_eq!((f & pg::ACTIVE, m.phys.mapcount(pfn)), (0, 0), "{sem}: inactive, unmapped");
        }
        assert_eq!(m.peek(p, a, 32 * PS).unwrap(), content);
        let r = m.do_migrate_pages(p, &mask(&[0]), &mask(&[1]), MPOL_MF_MOVE).unwrap();
        m.check().unwrap();
        assert_eq!((r.ret, r.scanned), (0, 0), "{sem}: nothing is present to migrate");
        // A second pass changes nothing while the pins hold.
        assert_eq!(m.swap_out(p, a, 32 * PS).unwrap(), 0);
        assert_eq!(m.vmstat.pswpout, 16);
        // The touch finds each page in the swap cache: minor faults, the same frames.
        let (maj, pswpin) = (m.vmstat.pgmajfault, m.vmstat.pswpin);
        m.touch(p, half, 16 * PS, false).unwrap();
        m.check().unwrap();
        assert_eq!((m.vmstat.pgmajfault, m.vmstat.pswpin), (maj, pswpin), "{sem}");
        let back: Vec<u64> = (0..16).map(|i| m.frame_at(p, half + i * PS).unwrap()).collect();
        assert_eq!(back, pinned);
        assert_eq!(m.peek(p, a, 32 * PS).unwrap(), content);
        // Unpinned, the next pass writes them and frees them.
        m.set_page_state(p, half, 16 * PS, PageState::Pinned, false, None).unwrap();
        assert_eq!(m.swap_out(p, half, 16 * PS).unwrap(), 16);
        m.check().unwrap();
        assert_eq!((m.vmstat.pswpout, m.swap.cache_pages()), (32, 0));
        assert_eq!(m.peek(p, a, 32 * PS).unwrap(), content);
        m.exit(p).unwrap();
        m.check().unwrap();
        assert_eq!(m.swap.free_slots(), m.swap.total_slots());
    }
}

/// A pinned page unmapped by reclaim and left there: once unpinned, a later pass reaches it
/// through the swap PTE that names its slot.
#[test]
fn a_pinned_page_left_unmapped_is_freed_by_a_later_pass() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "gup").unwrap();
        let a = anon(&mut m, p, 4);
        m.touch(p, a, 4 * PS, true).unwrap();
        let content = m.peek(p, a, 4 * PS).unwrap();
        m.set_page_state(p, a, PS, PageState::Pinned, true, None).unwrap();
        let pfn = m.frame_at(p, a).unwrap();
        assert_eq!(m.swap_out(p, a, 4 * PS).unwrap(), 3);
        m.pins.remove(&pfn); // the holder's put_page(): nothing else changes
        m.check().unwrap();
        assert_eq!(m.swap_out(p, a, 4 * PS).unwrap(), 1, "{sem}");
        m.check().unwrap();
        assert_eq!((m.vmstat.pswpout, m.swap.cache_pages()), (4, 0));
        assert_eq!(m.peek(p, a, 4 * PS).unwrap(), content);
    }
}

/// A pinned page-cache page is unmapped too, and kept dirty in the page cache: the file is
/// not written while the pin holds.
#[test]
fn a_pinned_file_page_is_unmapped_but_not_written() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let f = m.create_file("/data", 2 * PS).unwrap();
        let p = m.spawn(0, 0, 0, "/", "gup").unwrap();
        let rw = prot::READ | prot::WRITE;
        let a = m.mmap(p, None, 2 * PS, rw, mapf::SHARED, Some(f), 0).unwrap();
        m.touch(p, a, 2 * PS, true).unwrap();
        m.set_page_state(p, a, PS, PageState::Pinned, true, None).unwrap();
        let pfn = m.frame_at(p, a).unwrap();
        assert_eq!(m.swap_out(p, a, 2 * PS).unwrap(), 1);
        m.check().unwrap();
        assert_eq!(m.page_nodes(p, a, 2 * PS).unwrap(), vec![-errno::ENOENT; 2]);
        assert_eq!(m.file(f).cache.get(0), pfn + 1, "{sem}: still cached");
        assert_ne!(m.phys.flags(pfn) & pg::DIRTY, 0, "{sem}: not written");
        assert_eq!(m.vmstat.pgpgout, 1, "{sem}: only the unpinned page was written");
        m.touch(p, a, PS, false).unwrap();
        assert_eq!(m.frame_at(p, a).unwrap(), pfn);
        m.check().unwrap();
    }
}

/// 2.6 reclaim takes a swap slot before try_to_unmap() meets the VM_LOCKED mapping (the page
/// is then activated, its slot kept); the child, forked last, comes first on the 2.6 anon_vma
/// list, so its PTEs are unmapped before the walk stops at the parent's locked area. 6.x keeps
/// mlocked pages off the evictable LRU.
#[test]
fn a_page_mapped_in_a_locked_area_keeps_its_memory() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "lock").unwrap();
        let flags = mapf::PRIVATE | mapf::ANONYMOUS | mapf::LOCKED;
        let a = m.mmap(p, None, 2 * PS, prot::READ | prot::WRITE, flags, None, 0).unwrap();
        m.touch(p, a, 2 * PS, true).unwrap();
        let c = m.fork(p).unwrap(); // VM_LOCKED is not inherited: the pages are shared
        assert_eq!(m.swap_out(c, a, 2 * PS).unwrap(), 0);
        m.check().unwrap();
        let want = if sem == Semantics::Modern { 0 } else { 2 };
        assert_eq!(m.swap.cache_pages(), want, "{sem}");
        let child = if sem == Semantics::Modern { 0 } else { -errno::ENOENT };
        assert_eq!(m.page_nodes(c, a, 2 * PS).unwrap(), vec![child; 2], "{sem}");
        assert_eq!(m.page_nodes(p, a, 2 * PS).unwrap(), vec![0; 2], "{sem}");
        m.mlock(p, a, 2 * PS, false).unwrap();
        assert_eq!(m.swap_out(c, a, 2 * PS).unwrap(), 2);
        m.check().unwrap();
    }
}

/// A shared anonymous (shmem) mapping of `pages` pages, written, and its object.
fn shmem(m: &mut Machine, p: Pid, pages: u64) -> (u64, u32) {
    let rw = prot::READ | prot::WRITE;
    let a = m.mmap(p, None, pages * PS, rw, mapf::SHARED | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(p, a, pages * PS, true).unwrap();
    let mm = m.task_mm(p).unwrap();
    (a, m.vma_at(mm, a).unwrap().file.unwrap())
}

fn used_slots(m: &Machine) -> u64 {
    m.swap.total_slots() - m.swap.free_slots()
}

/// Issue 9, item 8: shmem_writepage() takes a swap slot. 2.6 needs two passes (move to the
/// swap cache without I/O, then the write); 6.x writes in the same pass. A fault reads the
/// slot back (pswpin, a major fault) and frees it.
#[test]
fn shmem_eviction_goes_through_swap_slots() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "shm").unwrap();
        let (a, f) = shmem(&mut m, p, 4);
        let content = m.peek(p, a, 4 * PS).unwrap();
        let used = m.phys.node_counts(0).unwrap();
        if sem == Semantics::Modern {
            assert_eq!(m.swap_out(p, a, 4 * PS).unwrap(), 4);
        } else {
            assert_eq!(m.swap_out(p, a, 4 * PS).unwrap(), 0, "{sem}: the first pass moves");
            m.check().unwrap();
            assert_eq!((used_slots(&m), m.swap.cache_pages(), m.vmstat.pswpout), (4, 4, 0));
            assert_eq!(m.phys.node_counts(0).unwrap(), used, "{sem}: still in memory");
            assert_eq!(m.page_nodes(p, a, 4 * PS).unwrap(), vec![-errno::ENOENT; 4]);
            assert_eq!(m.peek(p, a, 4 * PS).unwrap(), content);
            assert_eq!(m.swap_out(p, a, 4 * PS).unwrap(), 4, "{sem}: the second one writes");
        }
        m.check().unwrap();
        assert_eq!((used_slots(&m), m.swap.cache_pages(), m.vmstat.pswpout), (4, 0, 4), "{sem}");
        assert_eq!(m.file(f).cache.entries().count(), 0);
        assert_eq!(m.file(f).swapped.entries().count(), 4);
        assert_eq!(m.page_nodes(p, a, 4 * PS).unwrap(), vec![-errno::ENOENT; 4]);
        assert_eq!(m.peek(p, a, 4 * PS).unwrap(), content);
        // The fault on index 1 reads the cluster of slots 1..4 into the swap cache.
        m.touch(p, a + PS, PS, false).unwrap();
        m.check().unwrap();
        assert_eq!((m.vmstat.pswpin, m.vmstat.pgmajfault), (4, 1), "{sem}");
        assert_eq!((used_slots(&m), m.swap.cache_pages()), (3, 3));
        // The others come from the swap cache: minor faults.
        m.touch(p, a, 4 * PS, true).unwrap();
        m.check().unwrap();
        assert_eq!((m.vmstat.pswpin, m.vmstat.pgmajfault), (4, 1));
        assert_eq!((used_slots(&m), m.swap.cache_pages()), (0, 0));
        assert_eq!(m.file(f).cache.entries().count(), 4);
        m.exit(p).unwrap();
        m.check().unwrap();
        assert_eq!(m.phys.node_counts(0).unwrap().1, 1023, "{sem}: only the zero page stays");
    }
}

/// Without a free swap slot shmem pages stay in memory (issue 9, item 8). 2.6 unmaps them
/// first (try_to_unmap() comes before pageout()), then shmem_writepage() finds no slot and
/// redirties them (PAGE_ACTIVATE): they stay in the page cache, active; a touch maps them
/// again without I/O. 6.x reclaim does not even scan the anon LRU without free swap.
#[test]
fn shmem_without_free_swap_stays_in_memory() {
    for (swap, fill) in [(0, false), (2, true)] {
        for sem in Semantics::ALL {
            let mut m = machine(sem, 1, 1024, swap);
            let p = m.spawn(0, 0, 0, "/", "shm").unwrap();
            if fill {
                let b = anon(&mut m, p, 2);
                m.touch(p, b, 2 * PS, true).unwrap();
                assert_eq!(m.swap_out(p, b, 2 * PS).unwrap(), 2);
            }
            let (a, f) = shmem(&mut m, p, 4);
            m.lru_add_drain_all();
            let pfns: Vec<u64> = (0..4).map(|i| m.frame_at(p, a + i * PS).unwrap()).collect();
            assert_eq!(m.swap_out(p, a, 4 * PS).unwrap(), 0, "{sem}");
            m.check().unwrap();
            assert_eq!(m.vmstat.pswpout, if fill { 2 } else { 0 });
            assert_eq!(m.file(f).swapped.entries().count(), 0);
            let nodes = m.page_nodes(p, a, 4 * PS).unwrap();
            if sem == Semantics::Modern {
                assert_eq!(nodes, vec![0; 4], "{sem}: not scanned");
            } else {
                assert_eq!(nodes, vec![-errno::ENOENT; 4], "{sem}: unmapped, kept");
                for (i, &pfn) in (0u64..).zip(&pfns) {
                    assert_eq!(m.file(f).cache.get(i), pfn + 1);
                    let fl = m.phys.flags(pfn);
                    assert_eq!(fl & (pg::DIRTY | pg::ACTIVE), pg::DIRTY | pg::ACTIVE);
                }
            }
            let maj = m.vmstat.pgmajfault;
            m.touch(p, a, 4 * PS, false).unwrap();
            m.check().unwrap();
            assert_eq!(m.vmstat.pgmajfault, maj);
            let back: Vec<u64> = (0..4).map(|i| m.frame_at(p, a + i * PS).unwrap()).collect();
            assert_eq!(back, pfns);
        }
    }
}

/// SysV shm and a shared mapping seen by two processes: the content survives the slot, and
/// freeing the segment frees its slots.
#[test]
fn sysv_shm_slots_are_freed_with_the_segment() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "shm").unwrap();
        let seg = m.shmget(4 * PS).unwrap();
        let rw = prot::READ | prot::WRITE;
        let a = m.mmap(p, None, 4 * PS, rw, mapf::SHM, Some(seg), 0).unwrap();
        m.touch(p, a, 4 * PS, true).unwrap();
        let c = m.fork(p).unwrap();
        let content = m.peek(c, a, 4 * PS).unwrap();
        let passes = if sem == Semantics::Modern { 1 } else { 2 };
        for _ in 0..passes {
            m.swap_out(p, a, 4 * PS).unwrap();
            m.check().unwrap();
        }
        assert_eq!((used_slots(&m), m.vmstat.pswpout), (4, 4), "{sem}");
        assert_eq!(m.peek(c, a, 4 * PS).unwrap(), content);
        m.touch(c, a + 2 * PS, PS, true).unwrap(); // a store through the child
        m.check().unwrap();
        assert_ne!(m.peek(p, a + 2 * PS, PS).unwrap()[0], content[2]);
        m.exit(c).unwrap();
        m.exit(p).unwrap();
        m.check().unwrap();
        assert!(used_slots(&m) > 0, "{sem}: the segment lives until IPC_RMID");
        m.shm_rmid(seg).unwrap();
        m.check().unwrap();
        assert_eq!((used_slots(&m), m.swap.cache_pages()), (0, 0), "{sem}");
        assert_eq!(m.phys.node_counts(0).unwrap().1, 1023);
    }
}

/// A shmem page never written is clean: reclaim drops it at once (a hole reads zero).
#[test]
fn a_clean_shmem_page_is_dropped() {
    for sem in [Semantics::Linux2616, Semantics::Modern] {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "shm").unwrap();
        let a = m.mmap(p, None, PS, prot::READ, mapf::SHARED | mapf::ANONYMOUS, None, 0).unwrap();
        m.touch(p, a, PS, false).unwrap();
        assert_eq!(m.swap_out(p, a, PS).unwrap(), 1);
        m.check().unwrap();
        assert_eq!((used_slots(&m), m.vmstat.pswpout), (0, 0));
        assert_eq!(m.peek(p, a, PS).unwrap(), vec![0]);
    }
}

/// A machine whose shmem object `f` has its 4 pages in swap slots (6.x: one pass).
fn shmem_swapped() -> (Machine, u32, SwpEntry) {
    let mut m = machine(Semantics::Modern, 1, 1024, 64);
    let p = m.spawn(0, 0, 0, "/", "shm").unwrap();
    let (a, f) = shmem(&mut m, p, 4);
    assert_eq!(m.swap_out(p, a, 4 * PS).unwrap(), 4);
    m.check().unwrap();
    let e = SwpEntry(m.file(f).swapped.get(2));
    (m, f, e)
}

fn broken(m: &Machine) -> &'static str {
    match m.check().unwrap_err().kind {
        crate::error::ErrorKind::Invariant(a) => a,
        k => panic!("not an invariant error: {k:?}"),
    }
}

#[test]
fn corrupt_shmem_swap_vector_naming_a_free_slot() {
    let (mut m, _, e) = shmem_swapped();
    m.swap.put(e);
    assert_eq!(broken(&m), crate::machine::check::area::SWAP);
}

#[test]
fn corrupt_shmem_slot_count() {
    let (mut m, _, e) = shmem_swapped();
    m.swap.dup(e);
    assert_eq!(broken(&m), crate::machine::check::area::SWAP);
}

#[test]
fn corrupt_shmem_index_both_cached_and_swapped() {
    let (mut m, f, _) = shmem_swapped();
    let pfn = m.phys.alloc_on(0).unwrap();
    m.file_mut(f).cache.set(3, pfn + 1);
    assert_eq!(broken(&m), crate::machine::check::area::PAGE_CACHE);
}

#[test]
fn corrupt_content_of_a_shmem_slot() {
    let (mut m, _, e) = shmem_swapped();
    m.swap.write(e, m.swap.stamp(e) ^ 1);
    assert_eq!(broken(&m), crate::machine::check::area::CONTENT);
}
