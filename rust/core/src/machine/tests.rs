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
        costs: Costs::default(),
    })
    .unwrap()
}

fn anon(m: &mut Machine, pid: Pid, pages: u64) -> u64 {
    m.mmap(
        pid,
        None,
        pages * 4096,
        prot::READ | prot::WRITE,
        mapf::PRIVATE | mapf::ANONYMOUS,
        None,
        0,
    )
    .unwrap()
}

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
    let base = (a >> 12) as i32;
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
#[ignore]
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
