//! madvise(2) per generation: each advice's effect on memory, its errors, and check() after
//! every step.

use super::*;
use crate::machine::mm::{mapf, prot};
use crate::machine::reclaim::tests::machine;
use crate::machine::reclaim::PageState;
use crate::testutil::anon;

const PS: u64 = 4096;
const RW: u32 = prot::READ | prot::WRITE;

fn errno_of(r: Result<()>) -> Option<i32> {
    r.unwrap_err().errno()
}

fn vma_flags(m: &Machine, p: Pid, a: u64) -> u32 {
    let mm = m.task_mm(p).unwrap();
    m.vma_at(mm, a).unwrap().flags
}

fn vma_count(m: &Machine, p: Pid) -> usize {
    m.mm(m.task_mm(p).unwrap()).vmas.len()
}

#[test]
fn dontneed_drops_anonymous_memory_and_its_slots() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let a = anon(&mut m, p, 8);
        m.touch(p, a, 8 * PS, true).unwrap();
        let content = m.peek(p, a, 8 * PS).unwrap();
        assert_eq!(m.swap_out(p, a + 2 * PS, 2 * PS).unwrap(), 2);
        let free = m.phys.node_counts(0).unwrap().1;
        m.madvise(p, a + 2 * PS, 4 * PS, Advice::DontNeed).unwrap();
        m.check().unwrap();
        let mut want = content.clone();
        want[2..6].fill(0);
        assert_eq!(m.peek(p, a, 8 * PS).unwrap(), want, "{sem}");
        assert_eq!(m.phys.node_counts(0).unwrap().1, free + 2, "{sem}: two frames freed");
        assert_eq!(m.swap.free_slots(), m.swap.total_slots(), "{sem}: and two slots");
        m.touch(p, a, 8 * PS, false).unwrap();
        assert_eq!(m.peek(p, a, 8 * PS).unwrap(), want);
        m.check().unwrap();
    }
}

#[test]
fn dontneed_on_a_file_mapping_reads_the_file_again() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let f = m.create_file("/data", 4 * PS).unwrap();
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let s = m.mmap(p, None, 4 * PS, RW, mapf::SHARED, Some(f), 0).unwrap();
        m.touch(p, s, 4 * PS, true).unwrap();
        let file = m.peek(p, s, 4 * PS).unwrap();
        let q = m.mmap(p, None, 4 * PS, RW, mapf::PRIVATE, Some(f), 0).unwrap();
        m.touch(p, q, 2 * PS, true).unwrap(); // private copies of pages 0 and 1
        assert_ne!(m.peek(p, q, 4 * PS).unwrap(), file);
        m.madvise(p, q, 4 * PS, Advice::DontNeed).unwrap();
        m.check().unwrap();
        assert_eq!(m.peek(p, q, 4 * PS).unwrap(), file, "{sem}");
        // A shared mapping loses its PTEs, not its content (dirty bits move to the pages).
        m.madvise(p, s, 4 * PS, Advice::DontNeed).unwrap();
        m.check().unwrap();
        assert_eq!(m.page_nodes(p, s, 4 * PS).unwrap(), vec![-errno::ENOENT; 4]);
        assert_eq!(m.peek(p, s, 4 * PS).unwrap(), file);
        assert_eq!(m.writeback(Some(f)).unwrap(), 4);
        // Shared anonymous memory keeps its content too.
        let sh = m.mmap(p, None, 2 * PS, RW, mapf::SHARED | mapf::ANONYMOUS, None, 0).unwrap();
        m.touch(p, sh, 2 * PS, true).unwrap();
        let c = m.peek(p, sh, 2 * PS).unwrap();
        m.madvise(p, sh, 2 * PS, Advice::DontNeed).unwrap();
        m.check().unwrap();
        assert_eq!(m.peek(p, sh, 2 * PS).unwrap(), c);
    }
}

#[test]
fn dontneed_refuses_locked_hugetlb_and_pfnmap_areas_per_generation() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 4096, 64);
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let locked = mapf::PRIVATE | mapf::ANONYMOUS | mapf::LOCKED;
        let l = m.mmap(p, None, 2 * PS, RW, locked, None, 0).unwrap();
        assert_eq!(errno_of(m.madvise(p, l, 2 * PS, Advice::DontNeed)), Some(errno::EINVAL));
        let io = m.mmap(p, None, 2 * PS, RW, mapf::SHARED | mapf::IO, None, 0).unwrap();
        let h = m.arch.huge_page_size();
        let hp = mapf::PRIVATE | mapf::ANONYMOUS | mapf::HUGETLB;
        let hu = m.mmap(p, None, 2 * h, RW, hp, None, 0).unwrap();
        m.touch(p, hu, 2 * h, true).unwrap();
        if sem == Semantics::Modern {
            m.madvise(p, l, 2 * PS, Advice::DontNeedLocked).unwrap();
            assert_eq!(m.page_nodes(p, l, 2 * PS).unwrap(), vec![-errno::ENOENT; 2]);
            let e = m.madvise(p, io, 2 * PS, Advice::DontNeed);
            assert_eq!(errno_of(e), Some(errno::EINVAL));
            // hugetlb: an aligned start; the end is rounded down to whole huge pages.
            let e = m.madvise(p, hu + PS, PS, Advice::DontNeed);
            assert_eq!(errno_of(e), Some(errno::EINVAL));
            m.madvise(p, hu, h + PS, Advice::DontNeed).unwrap();
            m.check().unwrap();
            assert_eq!(m.page_nodes(p, hu, PS).unwrap(), vec![-errno::ENOENT]);
            assert_eq!(m.page_nodes(p, hu + h, PS).unwrap(), vec![0]);
        } else {
            let e = m.madvise(p, hu, 2 * h, Advice::DontNeed);
            assert_eq!(errno_of(e), Some(errno::EINVAL), "{sem}");
            let e = m.madvise(p, io, 2 * PS, Advice::DontNeed);
            if sem == Semantics::V5 {
                // 2.6.14 knows no VM_PFNMAP: the device PTEs are zapped, and the next access
                // finds no nopage method: do_anonymous_page() maps ordinary memory there.
                e.unwrap();
                assert_eq!(m.page_nodes(p, io, 2 * PS).unwrap(), vec![-errno::ENOENT; 2]);
                m.touch(p, io, PS, true).unwrap();
                m.check().unwrap();
                assert_eq!(m.page_nodes(p, io, PS).unwrap(), vec![0]);
            } else {
                assert_eq!(errno_of(e), Some(errno::EINVAL), "{sem}");
            }
        }
        m.check().unwrap();
    }
}

#[test]
fn the_walk_skips_holes_with_enomem_and_stops_at_an_error() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let a = anon(&mut m, p, 8);
        m.touch(p, a, 8 * PS, true).unwrap();
        m.munmap(p, a + 2 * PS, 2 * PS).unwrap();
        // A hole: the mapped parts are zapped, then ENOMEM.
        assert_eq!(errno_of(m.madvise(p, a, 8 * PS, Advice::DontNeed)), Some(errno::ENOMEM));
        m.check().unwrap();
        assert_eq!(m.peek(p, a, 2 * PS).unwrap(), vec![0; 2]);
        assert_eq!(m.peek(p, a + 4 * PS, 4 * PS).unwrap(), vec![0; 4]);
        // Nothing mapped: ENOMEM, even for an advice the generation does not know.
        let e = m.madvise(p, a + 2 * PS, 2 * PS, Advice::Invalid);
        assert_eq!(errno_of(e), Some(errno::ENOMEM));
        // Above every area (the stack ends at TASK_SIZE): find_vma() finds none.
        let top = m.arch.task_size;
        assert_eq!(errno_of(m.madvise(p, top, PS, Advice::Normal)), Some(errno::ENOMEM));
        // A mapped area: 2.6 finds the unknown advice there.
        assert_eq!(errno_of(m.madvise(p, a, 8 * PS, Advice::Invalid)), Some(errno::EINVAL));
        // An error in the second area returns at once; the first one is already zapped.
        m.touch(p, a + 4 * PS, 4 * PS, true).unwrap();
        m.mlock(p, a + 6 * PS, 2 * PS, true).unwrap();
        let before = m.peek(p, a + 6 * PS, 2 * PS).unwrap();
        let e = m.madvise(p, a + 4 * PS, 4 * PS, Advice::DontNeed);
        assert_eq!(errno_of(e), Some(errno::EINVAL));
        assert_eq!(m.peek(p, a + 4 * PS, 2 * PS).unwrap(), vec![0; 2]);
        assert_eq!(m.peek(p, a + 6 * PS, 2 * PS).unwrap(), before);
        m.check().unwrap();
        // The core guards its own preconditions.
        assert_eq!(m.madvise(p, a + 1, PS, Advice::Normal).unwrap_err().errno(), None);
        assert_eq!(m.madvise(p, a, 0, Advice::Normal).unwrap_err().errno(), None);
    }
}

#[test]
fn advice_a_generation_lacks_is_a_core_guard() {
    let mut m = machine(Semantics::V5, 1, 1024, 64);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 2);
    for adv in [Advice::Remove, Advice::DontFork, Advice::DoFork, Advice::Cold, Advice::PageOut] {
        assert_eq!(m.madvise(p, a, PS, adv).unwrap_err().errno(), None, "{adv:?}");
    }
    let mut m = machine(Semantics::Linux2616, 1, 1024, 64);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 2);
    for adv in [Advice::DontNeedLocked, Advice::HugePage, Advice::Cold, Advice::PageOut] {
        assert_eq!(m.madvise(p, a, PS, adv).unwrap_err().errno(), None, "{adv:?}");
    }
    assert_eq!(Advice::parse("pageout").unwrap(), Advice::PageOut);
    assert!(Advice::parse("free").is_err());
    assert!(Advice::NAMES.iter().all(|&(a, n)| a.name() == n));
}

#[test]
fn read_hints_split_and_merge_the_area() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let a = anon(&mut m, p, 8);
        let n = vma_count(&m, p);
        m.madvise(p, a + 2 * PS, 2 * PS, Advice::Sequential).unwrap();
        assert_eq!(vma_count(&m, p), n + 2);
        assert_ne!(vma_flags(&m, p, a + 2 * PS) & VmFlags::SEQ_READ, 0);
        m.madvise(p, a, 8 * PS, Advice::Random).unwrap();
        assert_eq!(vma_count(&m, p), n, "{sem}: equal flags merge again");
        let f = vma_flags(&m, p, a);
        assert_eq!(f & (VmFlags::SEQ_READ | VmFlags::RAND_READ), VmFlags::RAND_READ);
        m.madvise(p, a, 8 * PS, Advice::Normal).unwrap();
        assert_eq!(vma_flags(&m, p, a) & (VmFlags::SEQ_READ | VmFlags::RAND_READ), 0);
        m.check().unwrap();
        // A split refused at vm.max_map_count is EAGAIN, and nothing changes.
        m.max_map_count = u32::try_from(vma_count(&m, p)).unwrap();
        let e = m.madvise(p, a + PS, PS, Advice::Random);
        assert_eq!(errno_of(e), Some(errno::EAGAIN), "{sem}");
        assert_eq!(vma_flags(&m, p, a + PS) & VmFlags::RAND_READ, 0);
        m.check().unwrap();
    }
}

#[test]
fn dontfork_keeps_the_area_out_of_the_child() {
    for sem in [Semantics::Linux2616, Semantics::Modern] {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let a = anon(&mut m, p, 8);
        m.touch(p, a, 8 * PS, true).unwrap();
        assert_eq!(m.swap_out(p, a + 6 * PS, PS).unwrap(), 1);
        let content = m.peek(p, a, 8 * PS).unwrap();
        m.madvise(p, a + 4 * PS, 4 * PS, Advice::DontFork).unwrap();
        assert_ne!(vma_flags(&m, p, a + 4 * PS) & VmFlags::DONTCOPY, 0);
        let c = m.fork(p).unwrap();
        m.check().unwrap();
        assert_eq!(m.peek(c, a, 4 * PS).unwrap(), content[..4].to_vec(), "{sem}");
        assert!(m.vma_at(m.task_mm(c).unwrap(), a + 4 * PS).is_none(), "{sem}: not copied");
        // The swapped page's slot is named by the parent's PTE alone.
        let e = SwpEntry::from_pte(m.mm(m.task_mm(p).unwrap()).pt.get(m.arch.lvpn(a + 6 * PS)));
        assert_eq!(m.swap.count(e), 1);
        // The parent's pages were not shared with the child: a write reuses them.
        let pfn = m.frame_at(p, a + 5 * PS).unwrap();
        assert_eq!(m.phys.mapcount(pfn), 1);
        m.madvise(p, a, 8 * PS, Advice::DoFork).unwrap();
        assert_eq!(vma_flags(&m, p, a) & VmFlags::DONTCOPY, 0);
        let c2 = m.fork(p).unwrap();
        m.check().unwrap();
        assert_eq!(m.peek(c2, a, 8 * PS).unwrap(), content);
        // MADV_DOFORK on an I/O area is EINVAL; MADV_DONTFORK is fine.
        let io = m.mmap(p, None, PS, RW, mapf::SHARED | mapf::IO, None, 0).unwrap();
        assert_eq!(errno_of(m.madvise(p, io, PS, Advice::DoFork)), Some(errno::EINVAL));
        m.madvise(p, io, PS, Advice::DontFork).unwrap();
        m.exit(c).unwrap();
        m.exit(c2).unwrap();
        m.exit(p).unwrap();
        m.check().unwrap();
        assert_eq!(m.swap.free_slots(), m.swap.total_slots());
    }
}

#[test]
fn willneed_reads_files_ahead_and_anonymous_memory_is_ebadf_in_2_6() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 1024, 64);
        let f = m.create_file("/data", 8 * PS).unwrap();
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let s = m.mmap(p, None, 16 * PS, prot::READ, mapf::SHARED, Some(f), 0).unwrap();
        m.madvise(p, s + 2 * PS, 14 * PS, Advice::WillNeed).unwrap();
        m.check().unwrap();
        // Indices 2..8 (the file ends there), read into the page cache, not mapped.
        let cached: Vec<u64> = m.file(f).cache.entries().map(|(i, _)| i).collect();
        assert_eq!(cached, (2..8).collect::<Vec<_>>(), "{sem}");
        assert_eq!((m.vmstat.pgpgin, m.vmstat.pgmajfault), (6, 0));
        assert_eq!(m.page_nodes(p, s, 8 * PS).unwrap(), vec![-errno::ENOENT; 8]);
        let a = anon(&mut m, p, 2);
        let r = m.madvise(p, a, 2 * PS, Advice::WillNeed);
        if sem == Semantics::Modern {
            r.unwrap();
        } else {
            assert_eq!(errno_of(r), Some(errno::EBADF), "{sem}");
        }
    }
}

#[test]
fn willneed_readahead_limits() {
    // 6.x: at most max(bdi->io_pages, ra_pages) = 1.25 MiB (320 pages of 4 KiB).
    let mut m = machine(Semantics::Modern, 1, 1024, 0);
    let f = m.create_file("/big", 400 * PS).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let s = m.mmap(p, None, 400 * PS, prot::READ, mapf::SHARED, Some(f), 0).unwrap();
    m.madvise(p, s, 400 * PS, Advice::WillNeed).unwrap();
    assert_eq!(m.file(f).cache.entries().count(), 320);
    // 2.6: max_sane_readahead(), half the inactive and free pages of the caller's node.
    let mut m = machine(Semantics::Linux2616, 1, 64, 0);
    let f = m.create_file("/big", 100 * PS).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let s = m.mmap(p, None, 100 * PS, prot::READ, mapf::SHARED, Some(f), 0).unwrap();
    let mi = m.meminfo(0).unwrap();
    m.madvise(p, s, 100 * PS, Advice::WillNeed).unwrap();
    m.check().unwrap();
    let n = m.file(f).cache.entries().count() as u64;
    assert_eq!(n, u64::midpoint(mi.inactive, mi.free));
}

#[test]
fn willneed_in_6x_reads_swapped_pages_into_the_swap_cache() {
    let mut m = machine(Semantics::Modern, 1, 1024, 64);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 4);
    m.touch(p, a, 4 * PS, true).unwrap();
    let content = m.peek(p, a, 4 * PS).unwrap();
    assert_eq!(m.swap_out(p, a, 4 * PS).unwrap(), 4);
    m.madvise(p, a, 2 * PS, Advice::WillNeed).unwrap();
    m.check().unwrap();
    assert_eq!((m.vmstat.pswpin, m.swap.cache_pages()), (2, 2));
    assert_eq!(m.page_nodes(p, a, 4 * PS).unwrap(), vec![-errno::ENOENT; 4]);
    m.touch(p, a, 2 * PS, false).unwrap();
    assert_eq!((m.vmstat.pswpin, m.vmstat.pgmajfault), (2, 0), "minor faults");
    assert_eq!(m.peek(p, a, 4 * PS).unwrap(), content);
    // shmem: the object's slots, and (force_shm_swapin_readahead()'s inclusive end) the one
    // at the index just past the range.
    let sh = m.mmap(p, None, 4 * PS, RW, mapf::SHARED | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(p, sh, 4 * PS, true).unwrap();
    assert_eq!(m.swap_out(p, sh, 4 * PS).unwrap(), 4);
    let before = m.vmstat.pswpin;
    m.madvise(p, sh, PS, Advice::WillNeed).unwrap();
    m.check().unwrap();
    assert_eq!(m.vmstat.pswpin - before, 2);
    m.touch(p, sh, 2 * PS, false).unwrap();
    assert_eq!(m.vmstat.pgmajfault, 0);
    m.check().unwrap();
}

#[test]
fn willneed_on_shmem_in_2_6_does_nothing() {
    let mut m = machine(Semantics::Linux2616, 1, 1024, 64);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let sh = m.mmap(p, None, 4 * PS, RW, mapf::SHARED | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(p, sh, 4 * PS, true).unwrap();
    m.swap_out(p, sh, 4 * PS).unwrap();
    m.swap_out(p, sh, 4 * PS).unwrap();
    let before = (m.vmstat.pswpin, m.swap.cache_pages());
    m.madvise(p, sh, 4 * PS, Advice::WillNeed).unwrap(); // shmem_aops has no readpage
    assert_eq!((m.vmstat.pswpin, m.swap.cache_pages()), before);
}

#[test]
fn remove_punches_a_hole() {
    for sem in [Semantics::Linux2616, Semantics::Modern] {
        let mut m = machine(sem, 1, 1024, 64);
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let seg = m.shmget(8 * PS).unwrap();
        let a = m.mmap(p, None, 8 * PS, RW, mapf::SHM, Some(seg), 0).unwrap();
        m.touch(p, a, 8 * PS, true).unwrap();
        let q = m.fork(p).unwrap();
        let content = m.peek(q, a, 8 * PS).unwrap();
        // Two pages in swap slots first (6.x: one pass; 2.6: the second pass writes).
        m.swap_out(p, a + 6 * PS, 2 * PS).unwrap();
        m.swap_out(p, a + 6 * PS, 2 * PS).unwrap();
        assert_eq!(m.swap.total_slots() - m.swap.free_slots(), 2);
        m.madvise(p, a + 2 * PS, 6 * PS, Advice::Remove).unwrap();
        m.check().unwrap();
        let mut want = content.clone();
        want[2..].fill(0);
        assert_eq!(m.peek(q, a, 8 * PS).unwrap(), want, "{sem}: the other process sees it");
        assert_eq!(m.swap.free_slots(), m.swap.total_slots(), "{sem}: slots freed");
        assert_eq!(m.file(seg).cache.entries().count(), 2);
        // Errors: a private anonymous area has no file; a read-only shared one is EACCES.
        let b = anon(&mut m, p, 1);
        assert_eq!(errno_of(m.madvise(p, b, PS, Advice::Remove)), Some(errno::EINVAL));
        let r = m.mmap(p, None, PS, prot::READ, mapf::SHM, Some(seg), 0).unwrap();
        assert_eq!(errno_of(m.madvise(p, r, PS, Advice::Remove)), Some(errno::EACCES));
        m.mlock(p, a, PS, true).unwrap();
        assert_eq!(errno_of(m.madvise(p, a, PS, Advice::Remove)), Some(errno::EINVAL));
        m.check().unwrap();
    }
}

#[test]
fn remove_on_a_regular_file() {
    for sem in [Semantics::Linux2616, Semantics::Modern] {
        let mut m = machine(sem, 1, 1024, 64);
        let f = m.create_file("/data", 4 * PS).unwrap();
        let p = m.spawn(0, 0, 0, "/", "t").unwrap();
        let s = m.mmap(p, None, 4 * PS, RW, mapf::SHARED, Some(f), 0).unwrap();
        m.touch(p, s, 4 * PS, true).unwrap();
        m.writeback(Some(f)).unwrap();
        let q = m.mmap(p, None, 4 * PS, RW, mapf::PRIVATE, Some(f), 0).unwrap();
        m.touch(p, q, PS, true).unwrap(); // a private copy of page 0
        let copy = m.peek(p, q, PS).unwrap();
        let r = m.madvise(p, s, 4 * PS, Advice::Remove);
        if sem == Semantics::Linux2616 {
            // vmtruncate_range(): only tmpfs has truncate_range.
            assert_eq!(errno_of(r), Some(errno::ENOSYS));
            continue;
        }
        r.unwrap();
        m.check().unwrap();
        assert_eq!(m.peek(p, s, 4 * PS).unwrap(), vec![0; 4]);
        assert_eq!(m.file(f).store.entries().count(), 0);
        // Hole punching leaves private copies alone (truncate_pagecache_range()).
        assert_eq!(m.peek(p, q, 2 * PS).unwrap(), vec![copy[0], 0]);
    }
}

#[test]
fn cold_and_pageout_in_6x() {
    let mut m = machine(Semantics::Modern, 1, 1024, 64);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 8);
    m.touch(p, a, 8 * PS, true).unwrap();
    let content = m.peek(p, a, 8 * PS).unwrap();
    // Pages 6 and 7 are shared with a child: PAGEOUT leaves them ("page_mapcount(page) != 1").
    m.lru_add_drain_all();
    let c = m.fork(p).unwrap();
    m.touch(c, a, 6 * PS, true).unwrap(); // the child copies 0..6: those are the parent's own
    m.madvise(p, a, 2 * PS, Advice::Cold).unwrap();
    m.check().unwrap();
    for i in 0..2 {
        let pfn = m.frame_at(p, a + i * PS).unwrap();
        assert_eq!(m.phys.flags(pfn) & pg::ACTIVE, 0, "deactivated");
        assert_eq!(m.mm(m.task_mm(p).unwrap()).pt.get(m.arch.lvpn(a + i * PS)) & pte::YOUNG, 0);
    }
    m.madvise(p, a, 8 * PS, Advice::PageOut).unwrap();
    m.check().unwrap();
    let want: Vec<i32> = [vec![-errno::ENOENT; 6], vec![0; 2]].concat();
    assert_eq!(m.page_nodes(p, a, 8 * PS).unwrap(), want);
    assert_eq!(m.vmstat.pswpout, 6);
    assert_eq!(m.peek(p, a, 8 * PS).unwrap(), content);
    // can_madv_lru_vma(): not on VM_LOCKED areas.
    m.mlock(p, a, PS, true).unwrap();
    assert_eq!(errno_of(m.madvise(p, a, PS, Advice::PageOut)), Some(errno::EINVAL));
    assert_eq!(errno_of(m.madvise(p, a, PS, Advice::Cold)), Some(errno::EINVAL));
    m.check().unwrap();
}

#[test]
fn pageout_of_file_pages_and_shmem_in_6x() {
    let mut m = machine(Semantics::Modern, 1, 1024, 64);
    let f = m.create_file("/data", 4 * PS).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let s = m.mmap(p, None, 4 * PS, RW, mapf::SHARED, Some(f), 0).unwrap();
    m.touch(p, s, 2 * PS, true).unwrap();
    m.touch(p, s + 2 * PS, 2 * PS, false).unwrap();
    m.madvise(p, s, 4 * PS, Advice::PageOut).unwrap();
    m.check().unwrap();
    // Clean pages are dropped; dirty ones are unmapped but only kswapd would write them.
    assert_eq!(m.page_nodes(p, s, 4 * PS).unwrap(), vec![-errno::ENOENT; 4]);
    assert_eq!(m.file(f).cache.entries().map(|(i, _)| i).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(m.vmstat.pgpgout, 0);
    let pfn = m.file(f).cache.get(0) - 1;
    assert_eq!(m.phys.flags(pfn) & (pg::DIRTY | pg::ACTIVE), pg::DIRTY | pg::ACTIVE);
    // shmem goes to a slot at once, even a pinned page is unmapped (and kept).
    let sh = m.mmap(p, None, 2 * PS, RW, mapf::SHARED | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(p, sh, 2 * PS, true).unwrap();
    m.set_page_state(p, sh, PS, PageState::Pinned, true, None).unwrap();
    m.madvise(p, sh, 2 * PS, Advice::PageOut).unwrap();
    m.check().unwrap();
    assert_eq!(m.page_nodes(p, sh, 2 * PS).unwrap(), vec![-errno::ENOENT; 2]);
    assert_eq!((m.vmstat.pswpout, m.swap.total_slots() - m.swap.free_slots()), (1, 1));
    // Without swap a shmem page stays, reactivated, but MADV_PAGEOUT still unmaps it.
    let mut m = machine(Semantics::Modern, 1, 1024, 0);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let sh = m.mmap(p, None, 2 * PS, RW, mapf::SHARED | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(p, sh, 2 * PS, true).unwrap();
    let used = m.phys.node_counts(0).unwrap();
    m.madvise(p, sh, 2 * PS, Advice::PageOut).unwrap();
    m.check().unwrap();
    assert_eq!(m.phys.node_counts(0).unwrap(), used);
    assert_eq!(m.page_nodes(p, sh, 2 * PS).unwrap(), vec![-errno::ENOENT; 2]);
}

#[test]
fn the_32_16_case_through_madv_pageout() {
    let mut m = machine(Semantics::Modern, 2, 1024, 256);
    let p = m.spawn(0, 0, 0, "/", "gup").unwrap();
    let a = anon(&mut m, p, 32);
    m.touch(p, a, 32 * PS, true).unwrap();
    m.set_page_state(p, a + 16 * PS, 16 * PS, PageState::Pinned, true, None).unwrap();
    m.madvise(p, a, 32 * PS, Advice::PageOut).unwrap();
    m.check().unwrap();
    assert_eq!(m.page_nodes(p, a, 32 * PS).unwrap(), vec![-errno::ENOENT; 32]);
    assert_eq!((m.vmstat.pswpout, m.swap.cache_pages()), (16, 16));
    let r = m
        .do_migrate_pages(
            p,
            &crate::nodemask::NodeMask::from_nodes([0], 64).unwrap(),
            &crate::nodemask::NodeMask::from_nodes([1], 64).unwrap(),
            crate::mempolicy::MPOL_MF_MOVE,
        )
        .unwrap();
    assert_eq!(r.ret, 0);
}

#[test]
fn hugepage_advice_is_recorded_on_the_area() {
    let mut m = machine(Semantics::Modern, 1, 1024, 0);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 4);
    m.madvise(p, a, 4 * PS, Advice::HugePage).unwrap();
    assert_eq!(vma_flags(&m, p, a) & (VmFlags::HUGEPAGE | VmFlags::NOHUGEPAGE), VmFlags::HUGEPAGE);
    m.madvise(p, a, 4 * PS, Advice::NoHugePage).unwrap();
    let f = vma_flags(&m, p, a) & (VmFlags::HUGEPAGE | VmFlags::NOHUGEPAGE);
    assert_eq!(f, VmFlags::NOHUGEPAGE);
    m.check().unwrap();
}
