//! Machine-level scenarios; each step is followed by check().

use super::*;
use crate::error::ErrorKind;
use crate::machine::mm::{mapf, prot};

fn machine(sem: Semantics, nodes: u32, pages_per_node: u64, swap_pages: u64) -> Machine {
    let arch = ArchProfile::builtin("x86_64").unwrap();
    let ps = arch.page_size();
    let specs = (0..nodes)
        .map(|n| NodeSpec { nid: n, mem_bytes: pages_per_node * ps, cpus: vec![2 * n, 2 * n + 1] })
        .collect();
    Machine::new(Config {
        arch,
        semantics: sem,
        nodes: specs,
        distances: None,
        swap_bytes: swap_pages * ps,
        page_cluster: 3,
        costs: crate::costs::CostModel::default(),
        kernel: None,
    })
    .unwrap()
}

use crate::testutil::anon;

#[test]
fn first_touch_is_local_and_check_holds() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 4, 1024, 1024);
        let p = m.spawn(1000, 1000, 2, "/", "a").unwrap(); // cpu 2 is on node 1
        let a = anon(&mut m, p, 100);
        m.touch(p, a, 100 * 4096, true).unwrap();
        m.check().unwrap();
        let nodes = m.page_nodes(p, a, 100 * 4096).unwrap();
        assert!(nodes.iter().all(|&n| n == 1), "{sem}: {nodes:?}");
        let before = m.peek(p, a, 100 * 4096).unwrap();
        assert!(before.iter().all(|&s| s != 0));
        // Reads of untouched memory map the zero page and read zero.
        let b = anon(&mut m, p, 10);
        m.touch(p, b, 10 * 4096, false).unwrap();
        assert!(m.peek(p, b, 10 * 4096).unwrap().iter().all(|&s| s == 0));
        m.check().unwrap();
        m.exit(p).unwrap();
        m.check().unwrap();
        for n in 0..4 {
            let (total, free) = m.phys.node_counts(n).unwrap();
            assert_eq!(total - free, u64::from(n == 0), "node {n}: only the zero page stays");
        }
    }
}

#[test]
fn fork_cow_and_exit() {
    let mut m = machine(Semantics::Linux2616, 2, 4096, 1024);
    let p = m.spawn(1000, 1000, 0, "/", "parent").unwrap();
    let a = anon(&mut m, p, 64);
    m.touch(p, a, 64 * 4096, true).unwrap();
    let before = m.peek(p, a, 64 * 4096).unwrap();
    let c = m.fork(p).unwrap();
    m.check().unwrap();
    assert_eq!(m.peek(c, a, 64 * 4096).unwrap(), before);
    // The child writes one page: it gets its own copy; the parent's content stays.
    m.migrate_to_cpu(c, 2).unwrap();
    m.touch(c, a, 1, true).unwrap();
    m.check().unwrap();
    assert_eq!(m.peek(p, a, 64 * 4096).unwrap(), before);
    assert_ne!(m.peek(c, a, 4096).unwrap()[0], before[0]);
    assert_eq!(m.page_nodes(c, a, 4096).unwrap(), vec![1]);
    let pfn = m.frame_at(p, a + 4096).unwrap();
    assert_eq!(m.phys.mapcount(pfn), 2);
    assert_eq!(m.rmap_walk(pfn).len(), 2);
    m.exit(p).unwrap();
    m.check().unwrap();
    assert_eq!(m.phys.mapcount(pfn), 1);
    // Now the child is the only user: a write reuses the page.
    m.touch(c, a + 4096, 1, true).unwrap();
    assert_eq!(m.frame_at(c, a + 4096).unwrap(), pfn);
    m.exit(c).unwrap();
    m.check().unwrap();
}

#[test]
fn swap_out_and_back_with_readahead() {
    let mut m = machine(Semantics::V5, 2, 4096, 256);
    let p = m.spawn(0, 0, 0, "/", "s").unwrap();
    let a = anon(&mut m, p, 32);
    m.touch(p, a, 32 * 4096, true).unwrap();
    let content = m.peek(p, a, 32 * 4096).unwrap();
    assert_eq!(m.swap_out(p, a, 32 * 4096).unwrap(), 32);
    m.check().unwrap();
    assert_eq!(m.vmstat.pswpout, 32);
    assert!(m.page_nodes(p, a, 32 * 4096).unwrap().iter().all(|&n| n == -errno::ENOENT));
    assert_eq!(m.peek(p, a, 32 * 4096).unwrap(), content);
    // The task now runs on node 1: a fault brings the page and its readahead cluster there.
    m.migrate_to_cpu(p, 3).unwrap();
    m.touch(p, a + 5 * 4096, 1, false).unwrap();
    m.check().unwrap();
    // Slot 6 is in the aligned cluster 0..8; slot 0 is the header: 7 pages are read.
    assert_eq!(m.vmstat.pswpin, 7);
    assert_eq!(m.page_nodes(p, a + 5 * 4096, 1).unwrap(), vec![1]);
    m.touch(p, a, 32 * 4096, false).unwrap();
    m.check().unwrap();
    assert_eq!(m.peek(p, a, 32 * 4096).unwrap(), content);
    assert!(m.page_nodes(p, a, 32 * 4096).unwrap().iter().all(|&n| n == 1));
    m.exit(p).unwrap();
    m.check().unwrap();
    assert_eq!(m.swap.total_slots(), m.swap.free_slots());
}

#[test]
fn a_write_to_a_swapped_page_is_one_fault() {
    // 2.6.16 do_swap_page(): `if (write_access && can_share_swap_page(page))` maps the page
    // dirty and writable at once; a page a forked child still names in swap is mapped
    // read-only and the write goes on to do_wp_page() within the same fault. Either way
    // __handle_mm_fault counts one pgfault.
    let mut m = machine(Semantics::Linux2616, 1, 4096, 256);
    let p = m.spawn(0, 0, 0, "/", "s").unwrap();
    let a = anon(&mut m, p, 16);
    m.touch(p, a, 16 * 4096, true).unwrap();
    let c = m.fork(p).unwrap();
    // Pages 8..16 are the parent's own (the child wrote its copies first).
    m.touch(c, a + 8 * 4096, 8 * 4096, true).unwrap();
    assert_eq!(m.swap_out(p, a, 16 * 4096).unwrap(), 8 + 8);
    m.check().unwrap();
    let mm = m.task_mm(p).unwrap();
    let (faults, cows) = (m.vmstat.pgfault, m.vmstat.cow_faults);
    // An exclusive page: dirty and writable at swap-in, no copy.
    m.touch(p, a + 12 * 4096, 1, true).unwrap();
    assert_eq!((m.vmstat.pgfault - faults, m.vmstat.cow_faults - cows), (1, 0));
    let pte = m.mm(mm).pt.get(m.arch.lvpn(a + 12 * 4096));
    assert_eq!(pte & (pte::WRITE | pte::DIRTY | pte::YOUNG), pte::WRITE | pte::DIRTY | pte::YOUNG);
    // A page the child's PTE still names in swap: mapped read-only, then copied.
    assert!(m.frame_at(c, a + 2 * 4096).is_err(), "the child's page 2 is in swap too");
    let before = m.peek(c, a + 2 * 4096, 4096).unwrap();
    m.touch(p, a + 2 * 4096, 1, true).unwrap();
    assert_eq!((m.vmstat.pgfault - faults, m.vmstat.cow_faults - cows), (2, 1));
    m.check().unwrap();
    assert_eq!(m.peek(c, a + 2 * 4096, 4096).unwrap(), before);
    assert_ne!(m.peek(p, a + 2 * 4096, 4096).unwrap(), before);
}

#[test]
fn swap_full_keeps_pages() {
    let mut m = machine(Semantics::V5, 1, 4096, 4);
    let p = m.spawn(0, 0, 0, "/", "s").unwrap();
    let a = anon(&mut m, p, 10);
    m.touch(p, a, 10 * 4096, true).unwrap();
    assert_eq!(m.swap_out(p, a, 10 * 4096).unwrap(), 4);
    m.check().unwrap();
}

#[test]
fn shared_file_pages_and_munmap() {
    let mut m = machine(Semantics::Modern, 2, 4096, 0);
    let f = m.create_file("/data", 16 * 4096).unwrap();
    let p = m.spawn(1000, 1000, 0, "/", "w").unwrap();
    let q = m.spawn(1000, 1000, 2, "/", "r").unwrap();
    let rw = prot::READ | prot::WRITE;
    let a = m.mmap(p, None, 16 * 4096, rw, mapf::SHARED, Some(f), 0).unwrap();
    let b = m.mmap(q, None, 16 * 4096, prot::READ, mapf::SHARED, Some(f), 0).unwrap();
    m.touch(p, a, 16 * 4096, true).unwrap();
    m.touch(q, b, 16 * 4096, false).unwrap();
    m.check().unwrap();
    assert_eq!(m.peek(p, a, 16 * 4096).unwrap(), m.peek(q, b, 16 * 4096).unwrap());
    let pfn = m.frame_at(q, b).unwrap();
    assert_eq!(m.phys.mapcount(pfn), 2);
    assert_eq!(m.writeback(Some(f)).unwrap(), 16);
    m.munmap(p, a, 16 * 4096).unwrap();
    m.check().unwrap();
    // A private mapping's write copies the file page.
    let c = m.mmap(q, None, 4096, rw, mapf::PRIVATE, Some(f), 4096).unwrap();
    let old = m.peek(q, c, 1).unwrap()[0];
    m.touch(q, c, 1, true).unwrap();
    assert_ne!(m.peek(q, c, 1).unwrap()[0], old);
    assert_eq!(m.peek(q, b + 4096, 1).unwrap()[0], old);
    m.check().unwrap();
    m.exit(q).unwrap();
    m.exit(p).unwrap();
    m.check().unwrap();
}

#[test]
fn bad_access_changes_nothing() {
    let mut m = machine(Semantics::V5, 1, 1024, 0);
    let p = m.spawn(0, 0, 0, "/", "x").unwrap();
    let a = anon(&mut m, p, 4);
    m.mprotect(p, a + 2 * 4096, 4096, prot::NONE).unwrap();
    let e = m.touch(p, a, 4 * 4096, true).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Segv(a + 2 * 4096));
    assert_eq!(m.page_nodes(p, a, 4 * 4096).unwrap(), vec![-errno::ENOENT; 4]);
    assert!(m.touch(p, a + 64 * 4096, 1, false).is_err());
    assert_eq!(m.munmap(p, a + 1, 4096).unwrap_err().errno(), Some(errno::EINVAL));
    m.check().unwrap();
    assert_eq!(m.mm(m.task_mm(p).unwrap()).vmas.len(), 4); // stack + 3 pieces
}

#[test]
fn interleave_policy_spreads_pages() {
    use crate::mempolicy::{PolicyCall, PolicyCtx, MPOL_INTERLEAVE};
    let mut m = machine(Semantics::Linux2616, 4, 1024, 0);
    let p = m.spawn(0, 0, 0, "/", "il").unwrap();
    let mems = m.mems_allowed(p).unwrap();
    let nodes = NodeMask::from_nodes([1, 3], 64).unwrap();
    let ctx = PolicyCtx {
        semantics: m.semantics,
        call: PolicyCall::SetMempolicy,
        mems_allowed: &mems,
        online: &m.topo.online.clone(),
        with_memory: &m.topo.n_memory.clone(),
    };
    let pol = Mempolicy::new(&ctx, MPOL_INTERLEAVE, 0, &nodes).unwrap();
    m.task_mut(p).unwrap().policy = Some(pol);
    let a = anon(&mut m, p, 8);
    m.touch(p, a, 8 * 4096, true).unwrap();
    let got = m.page_nodes(p, a, 8 * 4096).unwrap();
    // VMA interleave: node = (pgoff + index) mod 2 -th node of {1, 3}.
    let base = a >> 12;
    let want: Vec<i32> = (0..8).map(|i| if (base + i) % 2 == 0 { 1 } else { 3 }).collect();
    assert!(want.contains(&1) && want.contains(&3));
    assert_eq!(got, want);
    m.check().unwrap();
}

#[test]
fn dirty_file_pages_are_written_back_after_30_seconds() {
    let mut m = machine(Semantics::Linux2616, 1, 1024, 0);
    let f = m.create_file("/log", 4 * 4096).unwrap();
    let p = m.spawn(0, 0, 0, "/", "w").unwrap();
    let a = m.mmap(p, None, 4 * 4096, prot::READ | prot::WRITE, mapf::SHARED, Some(f), 0).unwrap();
    m.touch(p, a, 4096, true).unwrap();
    let written = m.peek(p, a, 1).unwrap()[0];
    assert_eq!(m.file(f).store[0], 0);
    m.pass_time(29_000_000_000);
    assert_eq!(m.file(f).store[0], 0, "not yet 30 s old");
    m.pass_time(2_000_000_000);
    assert_eq!(m.file(f).store[0], written);
    assert_eq!(m.file(f).dirtied_when, None);
    m.check().unwrap();
}

/// The cost of check() on a million resident pages (`NUMASIM_BENCH_PAGES`), one mm and then
/// with a forked child sharing every page COW, plus a shared file mapping and some swap. No
/// timed assertion; run: `cargo test --release -p numasim-core bench_check -- --ignored
/// --nocapture`.
#[test]
#[ignore = "benchmark: cargo test --release -- --ignored --nocapture"]
fn bench_check() {
    let n: u64 =
        std::env::var("NUMASIM_BENCH_PAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(1 << 20);
    let mut m = machine(Semantics::Linux2616, 2, n / 2 + 65536, 65536);
    let p = m.spawn(0, 0, 0, "/", "bench").unwrap();
    let a = anon(&mut m, p, n);
    m.touch(p, a, n * 4096, true).unwrap();
    let f = m.create_file("/data", 16384 * 4096).unwrap();
    let rw = prot::READ | prot::WRITE;
    let b = m.mmap(p, None, 16384 * 4096, rw, mapf::SHARED, Some(f), 0).unwrap();
    m.touch(p, b, 16384 * 4096, true).unwrap();
    m.swap_out(p, a, 16384 * 4096).unwrap();
    let time = |m: &Machine| {
        (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                m.check().unwrap();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let one = time(&m);
    m.fork(p).unwrap();
    let forked = time(&m);
    eprintln!(
        "check(): {n} anon + 16384 file pages resident: {:.1} ms; after fork (2 mms, COW): {:.1} ms",
        one * 1e3,
        forked * 1e3
    );
}

/// check() holds on every architecture and semantics, for every kind of area, through fork,
/// COW, swap, migration, munmap and exit: its rules (user ranges, huge and special PTEs, swap
/// entries only in private areas, no page left isolated) are the machine's, not x86_64's.
#[test]
fn check_holds_on_every_arch_and_kind_of_area() {
    for arch in crate::arch::builtin_profiles() {
        for sem in Semantics::ALL {
            let (ps, h) = (arch.page_size(), arch.huge_page_size());
            let name = format!("{} {sem}", arch.name);
            let specs = (0..2)
                .map(|n| NodeSpec {
                    nid: n,
                    mem_bytes: h + 1024 * ps,
                    cpus: vec![2 * n, 2 * n + 1],
                })
                .collect();
            let cfg = Config {
                arch: arch.clone(),
                semantics: sem,
                nodes: specs,
                distances: None,
                swap_bytes: 256 * ps,
                page_cluster: 3,
                costs: crate::costs::CostModel::default(),
                kernel: None,
            };
            let mut m = Machine::new(cfg).unwrap();
            let ok = |m: &Machine, step: &str| {
                m.check().unwrap_or_else(|e| panic!("{name}, after {step}: {e}"));
            };
            let rw = prot::READ | prot::WRITE;
            let p = m.spawn(0, 0, 0, "/", "all").unwrap();
            let a = m.mmap(p, None, 16 * ps, rw, mapf::PRIVATE | mapf::ANONYMOUS, None, 0).unwrap();
            let hv = m.mmap(p, None, h, rw, mapf::PRIVATE | mapf::HUGETLB, None, 0).unwrap();
            m.mmap(p, None, 4 * ps, rw, mapf::SHARED | mapf::IO, None, 0).unwrap();
            let shm = m.mmap(p, None, 4 * ps, rw, mapf::SHARED | mapf::ANONYMOUS, None, 0).unwrap();
            let f = m.create_file("/f", 8 * ps).unwrap();
            let fs = m.mmap(p, None, 8 * ps, rw, mapf::SHARED, Some(f), 0).unwrap();
            let fp = m.mmap(p, None, 8 * ps, rw, mapf::PRIVATE, Some(f), 0).unwrap();
            m.touch(p, a, 12 * ps, true).unwrap();
            m.touch(p, a + 12 * ps, 4 * ps, false).unwrap();
            m.touch(p, hv, 1, true).unwrap();
            m.touch(p, shm, 4 * ps, true).unwrap();
            m.touch(p, fs, 8 * ps, true).unwrap();
            m.touch(p, fp, 8 * ps, false).unwrap();
            m.touch(p, fp, 2 * ps, true).unwrap();
            ok(&m, "touch");
            let c = m.fork(p).unwrap();
            m.touch(c, a, 4 * ps, true).unwrap();
            ok(&m, "fork and COW");
            m.swap_out(p, a, 16 * ps).unwrap();
            m.swap_out(p, fp, 8 * ps).unwrap();
            ok(&m, "swap-out");
            m.touch(p, a + 5 * ps, 1, false).unwrap();
            ok(&m, "swap-in");
            let nbits = m.arch.max_numnodes();
            let (from, to) = (
                NodeMask::from_nodes([0], nbits).unwrap(),
                NodeMask::from_nodes([1], nbits).unwrap(),
            );
            m.do_migrate_pages(p, &from, &to, crate::mempolicy::MPOL_MF_MOVE_ALL).unwrap();
            ok(&m, "migration");
            m.munmap(p, a + 4 * ps, 4 * ps).unwrap();
            ok(&m, "munmap");
            m.exit(c).unwrap();
            ok(&m, "the child's exit");
            m.exit(p).unwrap();
            ok(&m, "the parent's exit");
        }
    }
}

// ----- check() can fail: one corruption per test, each named by its area ----------------------

use super::check::area;
use crate::pagetable::pte;
use crate::swap::SwpEntry;

/// A small machine holding every kind of state check() looks at.
struct World {
    m: Machine,
    parent: Pid,
    child: Pid,
    /// 32 anonymous pages of the parent, shared COW with the child except pages 0..3, which the
    /// child wrote; pages 16..24 are swapped out (17 is back, mapped by the parent only).
    anon: u64,
    file: FileId,
    /// The file's 8 pages, mapped shared by both.
    shared: u64,
}

const PAGE: u64 = 4096;

impl World {
    fn new() -> World {
        let mut m = machine(Semantics::Linux2616, 2, 1024, 256);
        let parent = m.spawn(1000, 1000, 0, "/", "parent").unwrap();
        let anon = anon(&mut m, parent, 32);
        m.touch(parent, anon, 32 * PAGE, true).unwrap();
        let file = m.create_file("/data", 8 * PAGE).unwrap();
        let rw = prot::READ | prot::WRITE;
        let shared = m.mmap(parent, None, 8 * PAGE, rw, mapf::SHARED, Some(file), 0).unwrap();
        m.touch(parent, shared, 8 * PAGE, true).unwrap();
        let child = m.fork(parent).unwrap();
        m.touch(child, shared, 8 * PAGE, false).unwrap();
        // Both mms' PTEs of pages 16..24 now name swap slots 1..8.
        assert_eq!(m.swap_out(parent, anon + 16 * PAGE, 8 * PAGE).unwrap(), 8);
        // A read of page 17 brings in its readahead cluster (slots 1..7): page 17 is mapped by
        // the parent and still in the swap cache; the rest sit in the swap cache unmapped.
        m.touch(parent, anon + 17 * PAGE, 1, false).unwrap();
        // COW copies by the child, left in its CPU's pagevec.
        m.touch(child, anon, 3 * PAGE, true).unwrap();
        m.check().unwrap();
        let w = World { m, parent, child, anon, file, shared };
        assert_eq!(w.m.phys.mapcount(w.frame(parent, anon + 5 * PAGE)), 2);
        assert_eq!(w.m.swap.cache_pages(), 7);
        assert!(w.m.pagevecs.iter().any(|pv| !pv.is_empty()));
        w
    }

    fn frame(&self, pid: Pid, addr: u64) -> u64 {
        self.m.frame_at(pid, addr).unwrap()
    }

    fn mm_of(&self, pid: Pid) -> MmId {
        self.m.task_mm(pid).unwrap()
    }

    fn pte_mut(&mut self, pid: Pid, addr: u64) -> &mut u64 {
        let mm = self.mm_of(pid);
        let lv = self.m.arch.lvpn(addr);
        self.m.mm_mut(mm).pt.get_mut(lv).unwrap()
    }

    /// The swap entry the parent's PTE at `addr` names.
    fn swap_entry(&self, addr: u64) -> SwpEntry {
        let p = self.m.mm(self.mm_of(self.parent)).pt.get(self.m.arch.lvpn(addr));
        assert!(pte::is_swap(p));
        SwpEntry::from_pte(p)
    }

    /// A frame of node 0 that is free but has metadata (its section was allocated from).
    fn free_frame(&self) -> u64 {
        let n = self.m.phys.node(0).unwrap();
        (n.start_pfn..n.end_pfn()).rev().find(|&p| self.m.phys.flags(p) & pg::ALLOC == 0).unwrap()
    }

    /// The area check() reports broken; panics when the corruption goes unnoticed.
    fn broken(&self) -> &'static str {
        match self.m.check() {
            Err(Error { kind: ErrorKind::Invariant(area), detail }) => {
                assert!(!detail.is_empty());
                eprintln!("{area}: {detail}");
                area
            }
            other => panic!("check() did not notice the corruption: {other:?}"),
        }
    }
}

#[test]
fn check_passes_on_the_world_and_names_every_area_once() {
    let w = World::new();
    w.m.check().unwrap();
    let mut names = area::ALL.to_vec();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), area::ALL.len());
}

#[test]
fn corrupt_content_of_an_anonymous_frame() {
    let mut w = World::new();
    let pfn = w.frame(w.parent, w.anon + 5 * PAGE); // shared COW with the child
    let s = w.m.phys.stamp(pfn);
    w.m.phys.set_stamp(pfn, s + 1);
    assert_eq!(w.broken(), area::CONTENT);
}

#[test]
fn corrupt_content_of_a_file_page() {
    let mut w = World::new();
    let pfn = w.frame(w.parent, w.shared + 2 * PAGE);
    let s = w.m.phys.stamp(pfn);
    w.m.phys.set_stamp(pfn, s ^ 0x55);
    assert_eq!(w.broken(), area::CONTENT);
}

#[test]
fn corrupt_content_of_a_swap_cache_page() {
    let mut w = World::new();
    let e = w.swap_entry(w.anon + 18 * PAGE);
    let pfn = w.m.swap.lookup(e).unwrap();
    let s = w.m.phys.stamp(pfn);
    w.m.phys.set_stamp(pfn, s + 7);
    assert_eq!(w.broken(), area::CONTENT);
}

#[test]
fn corrupt_content_of_a_swap_slot() {
    let mut w = World::new();
    let e = w.swap_entry(w.anon + 23 * PAGE);
    assert_eq!(w.m.swap.lookup(e), None, "page 23 is only on the swap device");
    let s = w.m.swap.stamp(e);
    w.m.swap.write(e, s + 1);
    assert_eq!(w.broken(), area::CONTENT);
}

#[test]
fn corrupt_pte_frame_number_to_another_page() {
    let mut w = World::new();
    let other = w.frame(w.parent, w.anon + 6 * PAGE);
    let (a, p) = (w.anon + 5 * PAGE, w.parent);
    let pte = w.pte_mut(p, a);
    *pte = (*pte & ((1 << pte::PFN_SHIFT) - 1)) | (other << pte::PFN_SHIFT);
    assert_eq!(w.broken(), area::RMAP);
}

#[test]
fn corrupt_pte_frame_number_to_a_free_frame() {
    let mut w = World::new();
    let free = w.free_frame();
    let (a, p) = (w.anon + 5 * PAGE, w.parent);
    let pte = w.pte_mut(p, a);
    *pte = pte::mk(free, pte::YOUNG);
    assert_eq!(w.broken(), area::PAGE_TABLES);
}

#[test]
fn corrupt_pte_frame_number_beyond_memory() {
    let mut w = World::new();
    let (a, p) = (w.anon + 5 * PAGE, w.parent);
    *w.pte_mut(p, a) = pte::mk(1 << 39, pte::YOUNG);
    assert_eq!(w.broken(), area::PAGE_TABLES);
}

#[test]
fn corrupt_pte_outside_every_vma() {
    let mut w = World::new();
    let mm = w.mm_of(w.parent);
    let pfn = w.frame(w.parent, w.anon);
    let lv = w.m.arch.lvpn(0x1000_0000);
    w.m.mm_mut(mm).pt.set(lv, pte::mk(pfn, 0));
    assert_eq!(w.broken(), area::PAGE_TABLES);
}

#[test]
fn corrupt_mapcount() {
    let mut w = World::new();
    let pfn = w.frame(w.child, w.anon + 5 * PAGE);
    *w.m.phys.mapcount_mut(pfn) += 1;
    assert_eq!(w.broken(), area::MAPCOUNT);
    *w.m.phys.mapcount_mut(pfn) -= 2;
    assert_eq!(w.broken(), area::MAPCOUNT);
}

#[test]
fn corrupt_swap_slot_count() {
    let mut w = World::new();
    let e = w.swap_entry(w.anon + 20 * PAGE);
    w.m.swap.dup(e);
    assert_eq!(w.broken(), area::SWAP);
}

#[test]
fn corrupt_swap_cache_membership() {
    let mut w = World::new();
    let e = w.swap_entry(w.anon + 19 * PAGE);
    let pfn = w.m.swap.lookup(e).unwrap();
    *w.m.phys.flags_mut(pfn) &= !pg::SWAPCACHE;
    assert_eq!(w.broken(), area::SWAP);
}

#[test]
fn corrupt_rss_counter() {
    let mut w = World::new();
    let mm = w.mm_of(w.child);
    w.m.mm_mut(mm).rss_anon += 1;
    assert_eq!(w.broken(), area::PAGE_TABLES);
}

#[test]
fn corrupt_free_count() {
    let mut w = World::new();
    w.m.phys.corrupt_nr_free(1, -1);
    assert_eq!(w.broken(), area::FREE_LISTS);
}

#[test]
fn corrupt_free_extent_over_an_allocated_frame() {
    let mut w = World::new();
    let pfn = w.frame(w.parent, w.anon + 9 * PAGE);
    w.m.phys.corrupt_free_extent(w.m.phys.pfn_to_nid(pfn), pfn, 1);
    assert_eq!(w.broken(), area::FREE_LISTS);
}

#[test]
fn corrupt_anon_vma_family() {
    let mut w = World::new();
    let (cmm, family) = (w.mm_of(w.child), w.m.mm(w.mm_of(w.child)).family);
    w.m.families[family as usize].mms.retain(|&x| x != cmm);
    assert_eq!(w.broken(), area::RMAP);
}

#[test]
fn corrupt_file_mappers() {
    let mut w = World::new();
    let cmm = w.mm_of(w.child);
    let f = w.file;
    w.m.file_mut(f).mappers.retain(|&(mm, _)| mm != cmm);
    assert_eq!(w.broken(), area::RMAP);
}

#[test]
fn corrupt_file_mappers_with_a_stale_entry() {
    let mut w = World::new();
    let cmm = w.mm_of(w.child);
    let (f, s) = (w.file, w.shared);
    w.m.file_mut(f).mappers.push((cmm, s + PAGE));
    assert_eq!(w.broken(), area::RMAP);
}

#[test]
fn corrupt_page_cache_slot_of_a_clean_page() {
    let mut w = World::new();
    w.m.writeback(Some(w.file)).unwrap();
    w.m.check().unwrap();
    let f = w.file;
    w.m.file_mut(f).cache[3] = 0;
    assert_eq!(w.broken(), area::PAGE_CACHE);
}

#[test]
fn corrupt_page_cache_slot_to_another_frame() {
    let mut w = World::new();
    let other = w.frame(w.parent, w.shared + 4 * PAGE);
    let f = w.file;
    w.m.file_mut(f).cache[3] = other + 1;
    assert_eq!(w.broken(), area::PAGE_CACHE);
}

#[test]
fn corrupt_pagevec_losing_an_entry() {
    let mut w = World::new();
    let cpu = w.m.pagevecs.iter().position(|pv| !pv.is_empty()).unwrap();
    w.m.pagevecs[cpu].pop();
    assert_eq!(w.broken(), area::PAGEVECS);
}

#[test]
fn corrupt_pagevec_with_a_page_on_the_lru() {
    let mut w = World::new();
    let pfn = w.frame(w.parent, w.anon + 9 * PAGE);
    assert_ne!(w.m.phys.flags(pfn) & pg::LRU, 0);
    w.m.pagevecs[3].push(pfn);
    assert_eq!(w.broken(), area::PAGEVECS);
}

#[test]
fn corrupt_mm_users() {
    let mut w = World::new();
    let mm = w.mm_of(w.parent);
    w.m.mm_mut(mm).users += 1;
    assert_eq!(w.broken(), area::TASKS);
}

#[test]
fn corrupt_task_mm() {
    let mut w = World::new();
    let c = w.child;
    w.m.task_mut(c).unwrap().mm = Some(77);
    assert_eq!(w.broken(), area::TASKS);
}

#[test]
fn corrupt_vma_overlap() {
    let mut w = World::new();
    let mm = w.mm_of(w.parent);
    let a = w.anon;
    w.m.mm_mut(mm).vmas.values_mut().find(|v| v.start == a).unwrap().end += 64 * PAGE;
    assert_eq!(w.broken(), area::VMAS);
}

#[test]
fn corrupt_frame_leaked() {
    let mut w = World::new();
    w.m.phys.alloc_on(1).unwrap();
    assert_eq!(w.broken(), area::FRAMES);
}

#[test]
fn corrupt_free_frame_keeps_content() {
    let mut w = World::new();
    let free = w.free_frame();
    w.m.phys.set_stamp(free, 42);
    assert_eq!(w.broken(), area::FRAMES);
}

#[test]
fn corrupt_writeback_flag_without_io() {
    let mut w = World::new();
    let pfn = w.frame(w.parent, w.anon + 9 * PAGE);
    *w.m.phys.flags_mut(pfn) |= pg::WRITEBACK;
    assert_eq!(w.broken(), area::FRAMES);
}

#[test]
fn corrupt_page_left_isolated() {
    let mut w = World::new();
    let pfn = w.frame(w.parent, w.anon + 9 * PAGE);
    let f = w.m.phys.flags_mut(pfn);
    *f = (*f & !pg::LRU) | pg::ISOLATED;
    assert_eq!(w.broken(), area::FRAMES);
}

/// check() stops at a Ctrl-C request and changes nothing. A request is process-wide, so the
/// tests that raise one take `interrupt::test_guard()`.
#[test]
fn check_is_interruptible() {
    let _serial = crate::interrupt::test_guard();
    let w = World::new();
    {
        let _armed = crate::interrupt::arm();
        crate::interrupt::request();
        assert_eq!(w.m.check().unwrap_err().kind, ErrorKind::Interrupted);
    }
    w.m.check().unwrap();
}

/// numastat per generation (zone_statistics()): first touch is a local hit; interleave counts
/// interleave_hit on each node it lands on; a task whose cpuset excludes its own node misses
/// in 2.6 (zonelist->zones[0] is its node) and hits in 6.x (the preferred zone is the first
/// within the cpuset), other_node either way.
#[test]
fn numastat_follows_zone_statistics_per_generation() {
    use crate::mempolicy::MPOL_INTERLEAVE;
    for sem in Semantics::ALL {
        let mut m = machine(sem, 2, 1024, 0);
        let p = m.spawn(0, 0, 0, "/", "a").unwrap();
        let a = anon(&mut m, p, 10);
        m.touch(p, a, 10 * 4096, true).unwrap();
        let s = m.numastat();
        assert_eq!((s[0].numa_hit, s[0].local_node, s[0].numa_miss), (10, 10, 0), "{sem}");
        assert_eq!(s[1].numa_hit + s[1].numa_miss + s[1].other_node, 0, "{sem}");
        let both = NodeMask::from_nodes([0, 1], m.arch.max_numnodes()).unwrap();
        m.set_mempolicy(p, MPOL_INTERLEAVE, 0, &both).unwrap();
        let b = anon(&mut m, p, 10);
        m.touch(p, b, 10 * 4096, true).unwrap();
        let s = m.numastat();
        assert_eq!((s[0].interleave_hit, s[1].interleave_hit), (5, 5), "{sem}");
        assert_eq!((s[0].numa_hit, s[1].numa_hit), (15, 5), "{sem}");
        assert_eq!((s[0].local_node, s[1].other_node), (15, 5), "{sem}");

        let one = NodeMask::from_nodes([1], m.arch.max_numnodes()).unwrap();
        let cpus = NodeMask::from_nodes([0, 1], 32).unwrap();
        m.create_cpuset("/far", &one, &cpus, false).unwrap();
        let q = m.spawn(0, 0, 0, "/far", "b").unwrap();
        let c = anon(&mut m, q, 4);
        m.touch(q, c, 4 * 4096, true).unwrap();
        let s = m.numastat();
        if sem == Semantics::Modern {
            assert_eq!((s[1].numa_hit, s[1].numa_miss, s[0].numa_foreign), (9, 0, 0), "{sem}");
        } else {
            assert_eq!((s[1].numa_hit, s[1].numa_miss, s[0].numa_foreign), (5, 4, 4), "{sem}");
        }
        assert_eq!(s[1].other_node, 9, "{sem}");
        m.check().unwrap();
    }
}

/// CPU numbers with holes (offline CPUs) and CPU-less nodes, as real machines have them.
#[test]
fn sparse_cpu_numbers_are_accepted_and_holes_refused() {
    let arch = ArchProfile::builtin("x86_64").unwrap();
    let specs = vec![
        NodeSpec { nid: 0, mem_bytes: 1 << 24, cpus: vec![0, 1, 8, 9] },
        NodeSpec { nid: 2, mem_bytes: 1 << 24, cpus: vec![4, 12] },
        NodeSpec { nid: 5, mem_bytes: 1 << 24, cpus: vec![] },
    ];
    let mut m = Machine::new(Config {
        arch,
        semantics: Semantics::Modern,
        nodes: specs,
        distances: None,
        swap_bytes: 0,
        page_cluster: 3,
        costs: crate::costs::CostModel::default(),
        kernel: None,
    })
    .unwrap();
    assert_eq!(m.topo.nr_cpus(), 13);
    assert_eq!(m.topo.present_cpus().collect::<Vec<_>>(), vec![0, 1, 4, 8, 9, 12]);
    let p = m.spawn(0, 0, 12, "/", "a").unwrap();
    assert_eq!(m.task_node(p).unwrap(), 2);
    let e = m.spawn(0, 0, 5, "/", "b").unwrap_err();
    assert!(e.to_string().contains("cpu 5 does not exist"), "{e}");
    m.check().unwrap();
}

#[test]
fn a_store_run_counts_its_faults_and_stops_at_present_ptes() {
    // store_anon_run() fills the empty PTEs of a leaf without re-walking; a PTE already
    // present (here the zero page of an earlier read) goes through the fault path instead.
    let mut m = machine(Semantics::Modern, 1, 4096, 0);
    let p = m.spawn(0, 0, 0, "/", "s").unwrap();
    let a = anon(&mut m, p, 1024);
    m.touch(p, a + 5 * 4096, 4096, false).unwrap();
    let faults = m.vmstat.pgfault;
    m.touch(p, a + 4096, 700 * 4096, true).unwrap();
    // 700 faults: 699 new pages and the write to the zero page (do_wp_page()).
    assert_eq!(m.vmstat.pgfault - faults, 700);
    let mm = m.task_mm(p).unwrap();
    assert_eq!(m.mm(mm).rss_anon, 700);
    m.check().unwrap();
    let nodes = m.page_nodes(p, a + 4096, 700 * 4096).unwrap();
    assert!(nodes.iter().all(|&n| n == 0));
}

#[test]
fn a_store_run_that_runs_out_of_memory_counts_every_fault_it_took() {
    // __handle_mm_fault() counts the fault before do_anonymous_page() fails to allocate:
    // the pages mapped before the failure and the failing fault itself.
    let mut m = machine(Semantics::Modern, 1, 1024, 0);
    let p = m.spawn(0, 0, 0, "/", "s").unwrap();
    let a = anon(&mut m, p, 4096);
    let faults = m.vmstat.pgfault;
    let err = m.touch(p, a, 4096 * 4096, true).unwrap_err();
    assert_eq!(err.errno(), Some(crate::error::errno::ENOMEM), "{err}");
    let mm = m.task_mm(p).unwrap();
    let mapped = m.mm(mm).rss_anon;
    assert!(mapped > 0 && mapped < 1024, "{mapped} pages mapped before the failure");
    assert_eq!(m.vmstat.pgfault - faults, mapped + 1);
    m.check().unwrap();
}
