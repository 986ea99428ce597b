//! Memory pressure: watermarks in allocation, direct reclaim in LRU order, per generation.
//! check() after every step.

use super::*;
use crate::machine::lru::{ACTIVE_ANON, INACTIVE, INACTIVE_FILE};
use crate::machine::mm::{mapf, prot};
use crate::mempolicy::{MPOL_BIND, MPOL_MF_MOVE};
use crate::phys::{WMARK_HIGH, WMARK_LOW, WMARK_MIN};
use crate::testutil::Rng;

const PS: u64 = 4096;
/// 64 MiB nodes: big enough for the kernel's formula to give marks well above 0.
const NODE: u64 = 16_384;

fn machine(sem: Semantics, nodes: u32, swap_pages: u64) -> Machine {
    crate::testutil::x86_machine(sem, &vec![NODE; nodes as usize], swap_pages)
}

fn ok(m: &mut Machine) {
    m.check().unwrap();
}

fn free(m: &Machine, nid: u32) -> u64 {
    m.phys.node(nid).unwrap().nr_free()
}

fn mark(m: &Machine, nid: u32, w: usize) -> u64 {
    m.phys.node(nid).unwrap().wmark[w]
}

fn scanned(m: &Machine, nid: u32) -> u64 {
    m.phys.node(nid).unwrap().lru.pgscan
}

use crate::testutil::anon;

fn nodes_of(m: &Machine, p: Pid, a: u64, pages: u64) -> Vec<i32> {
    m.page_nodes(p, a, pages * PS).unwrap()
}

/// A task bound to `nid` that fills it with anonymous pages until `left` pages are free.
fn hog(m: &mut Machine, nid: u32, left: u64) -> Pid {
    let h = m.spawn(2000, 2000, 2 * nid, "/", "hog").unwrap();
    let nodes = NodeMask::from_nodes([i64::from(nid)], m.arch.max_numnodes()).unwrap();
    m.set_mempolicy(h, MPOL_BIND, 0, &nodes).unwrap();
    let k = free(m, nid) - left;
    let a = anon(m, h, k);
    m.touch(h, a, k * PS, true).unwrap();
    ok(m);
    h
}

/// A file of `pages` pages read by a task on `nid` through a shared mapping that is then
/// unmapped: clean page-cache pages on `nid`'s inactive list.
fn cached_file(m: &mut Machine, path: &str, nid: u32, pages: u64) -> FileId {
    let f = m.create_file(path, pages * PS).unwrap();
    let r = m.spawn(3000, 3000, 2 * nid, "/", "reader").unwrap();
    let a = m.mmap(r, None, pages * PS, prot::READ, mapf::SHARED, Some(f), 0).unwrap();
    m.touch(r, a, pages * PS, false).unwrap();
    m.munmap(r, a, pages * PS).unwrap();
    m.exit(r).unwrap();
    ok(m);
    f
}

fn cached(m: &Machine, f: FileId) -> u64 {
    m.file(f).cache.iter().filter(|&&c| c != 0).count() as u64
}

fn mask(nodes: &[i64]) -> NodeMask {
    NodeMask::from_nodes(nodes.iter().copied(), 64).unwrap()
}

#[test]
fn faults_fall_back_at_the_low_mark_then_take_the_min_reserve_then_fail() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 2, 0);
        let p = m.spawn(1000, 1000, 0, "/", "t").unwrap();
        let (f0, f1) = (free(&m, 0), free(&m, 1));
        let (low0, low1) = (mark(&m, 0, WMARK_LOW), mark(&m, 1, WMARK_LOW));
        let (min0, min1) = (mark(&m, 0, WMARK_MIN), mark(&m, 1, WMARK_MIN));
        assert!(min0 > 0 && low0 > min0, "{sem}");
        let n = (f0 - min0) + (f1 - min1);
        let a = anon(&mut m, p, n + 1);
        m.touch(p, a, n * PS, true).unwrap();
        ok(&mut m);
        // Node 0 down to its low mark, node 1 down to its low mark, then the reserves
        // between low and min, in zonelist order; nothing reclaimed on the way.
        let mut want = vec![0; to_usize(f0 - low0)];
        want.extend(vec![1; to_usize(f1 - low1)]);
        want.extend(vec![0; to_usize(low0 - min0)]);
        want.extend(vec![1; to_usize(low1 - min1)]);
        assert_eq!(nodes_of(&m, p, a, n), want, "{sem}");
        assert_eq!((free(&m, 0), free(&m, 1)), (min0, min1), "{sem}");
        // Below min everywhere: no swap, nothing to reclaim: the OOM killer's ENOMEM.
        let e = m.touch(p, a + n * PS, PS, true).unwrap_err();
        assert_eq!(e.errno(), Some(errno::ENOMEM), "{sem}");
        ok(&mut m);
        // meminfo's MemFree still counts the reserve below min (NR_FREE_PAGES).
        assert_eq!(m.meminfo(0).unwrap().free, min0, "{sem}");
    }
}

#[test]
fn a_fault_reclaims_only_when_every_allowed_node_is_below_min() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 2, 0);
        let f = cached_file(&mut m, "/cache", 0, 2000);
        let p = m.spawn(1000, 1000, 0, "/", "t").unwrap();
        // Fill node 0 to its low mark: the next fault goes to node 1, no reclaim.
        let k = free(&m, 0) - mark(&m, 0, WMARK_LOW);
        let a = anon(&mut m, p, k + 1);
        m.touch(p, a, (k + 1) * PS, true).unwrap();
        ok(&mut m);
        assert_eq!(nodes_of(&m, p, a + k * PS, 1), [1], "{sem}");
        assert_eq!(scanned(&m, 0), 0, "{sem}");
        assert_eq!(cached(&m, f), 2000, "{sem}");
        // Bound to node 0 and below min there: reclaim takes the page cache.
        m.set_mempolicy(p, MPOL_BIND, 0, &mask(&[0])).unwrap();
        let k = free(&m, 0) - mark(&m, 0, WMARK_MIN) + 10;
        let b = anon(&mut m, p, k);
        m.touch(p, b, k * PS, true).unwrap();
        ok(&mut m);
        assert!(nodes_of(&m, p, b, k).iter().all(|&x| x == 0), "{sem}");
        assert!(scanned(&m, 0) > 0 && cached(&m, f) < 2000, "{sem}");
        assert!(free(&m, 0) > mark(&m, 0, WMARK_MIN), "{sem}");
    }
}

#[test]
fn modern_target_stops_at_the_min_mark_when_nothing_can_be_reclaimed() {
    let mut m = machine(Semantics::Modern, 3, 0);
    let p = m.spawn(1000, 1000, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 500);
    m.touch(p, a, 500 * PS, true).unwrap();
    let min1 = mark(&m, 1, WMARK_MIN);
    hog(&mut m, 1, min1 + 100);
    let r = m.do_migrate_pages(p, &mask(&[0]), &mask(&[1]), MPOL_MF_MOVE).unwrap();
    ok(&mut m);
    // __GFP_THISNODE: no fallback; reclaim of node 1 finds only anonymous pages and no
    // swap; the call ends with -ENOMEM after 100 pages, 100 + min free pages before.
    assert_eq!(r.ret, -i64::from(errno::ENOMEM));
    assert_eq!(r.moved, 100);
    assert_eq!(free(&m, 1), min1);
    let n = nodes_of(&m, p, a, 500);
    assert_eq!(n.iter().filter(|&&x| x == 1).count(), 100);
    assert_eq!(n.iter().filter(|&&x| x == 2).count(), 0);
}

#[test]
fn modern_target_reclaims_the_destinations_page_cache() {
    let mut m = machine(Semantics::Modern, 2, 0);
    let p = m.spawn(1000, 1000, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 500);
    m.touch(p, a, 500 * PS, true).unwrap();
    let content = m.peek(p, a, 500 * PS).unwrap();
    let f = cached_file(&mut m, "/data", 1, 3000);
    let min1 = mark(&m, 1, WMARK_MIN);
    hog(&mut m, 1, min1 + 100);
    let r = m.do_migrate_pages(p, &mask(&[0]), &mask(&[1]), MPOL_MF_MOVE).unwrap();
    ok(&mut m);
    assert_eq!((r.ret, r.moved), (0, 500));
    assert!(nodes_of(&m, p, a, 500).iter().all(|&x| x == 1));
    assert_eq!(m.peek(p, a, 500 * PS).unwrap(), content);
    // The 400 pages the call needed came out of the page cache, in batches of at least
    // SWAP_CLUSTER_MAX: the last batch leaves a few more free.
    let dropped = 3000 - cached(&m, f);
    assert!((400..400 + 4 * vmscan::SWAP_CLUSTER_MAX).contains(&dropped), "{dropped}");
    assert_eq!(m.phys.node(1).unwrap().lru.pgsteal, dropped);
    assert!(free(&m, 1) > min1);
    // The file reads back what it held (zeros: never written).
    assert_eq!(m.vmstat.pswpout, 0);
}

#[test]
fn linux2616_target_falls_back_at_the_low_mark_instead_of_reclaiming() {
    let mut m = machine(Semantics::Linux2616, 3, 1024);
    let p = m.spawn(1000, 1000, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 500);
    m.touch(p, a, 500 * PS, true).unwrap();
    let f = cached_file(&mut m, "/data", 1, 3000);
    let (min1, low1) = (mark(&m, 1, WMARK_MIN), mark(&m, 1, WMARK_LOW));
    hog(&mut m, 1, min1 + 100);
    assert_eq!(m.topo.zonelist(1)[..2], [1, 2]);
    let r = m.do_migrate_pages(p, &mask(&[0]), &mask(&[1]), MPOL_MF_MOVE).unwrap();
    ok(&mut m);
    assert_eq!((r.ret, r.moved), (0, 500));
    let n = nodes_of(&m, p, a, 500);
    let on1 = min1 + 100 - low1;
    assert_eq!(n.iter().filter(|&&x| x == 1).count() as u64, on1);
    assert_eq!(n.iter().filter(|&&x| x == 2).count() as u64, 500 - on1);
    assert_eq!(free(&m, 1), low1);
    assert_eq!((scanned(&m, 1), cached(&m, f)), (0, 3000));
}

/// The frames of a file's cached pages, in index order.
fn frames(m: &Machine, f: FileId) -> Vec<u64> {
    m.file(f).cache.iter().filter(|&&c| c != 0).map(|&c| c - 1).collect()
}

#[test]
fn reclaim_takes_the_oldest_inactive_pages_first() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 2, 0);
        let old = cached_file(&mut m, "/old", 1, 300);
        let new = cached_file(&mut m, "/new", 1, 300);
        let inactive = if sem == Semantics::Modern { INACTIVE_FILE } else { INACTIVE };
        // The reader's last pages wait in its CPU's pagevec until a drain.
        m.lru_add_drain_all();
        let lists = m.lru_lists(1);
        let mut want = frames(&m, old);
        want.extend(frames(&m, new));
        assert_eq!(lists[inactive], want, "{sem}: allocation order, tail first");
        // Reclaim on node 1 until 100 pages are freed: all from the older file.
        let mut got = 0;
        while got < 100 {
            let r = m.try_to_free_pages(&[1], None);
            assert!(r > 0, "{sem}");
            got += r;
            ok(&mut m);
        }
        assert_eq!(cached(&m, old), 300 - got, "{sem}");
        assert_eq!(cached(&m, new), 300, "{sem}");
        // The oldest went first: the file's lowest indexes (read first).
        let left = frames(&m, old);
        assert_eq!(m.lru_lists(1)[inactive][..left.len()], left[..], "{sem}");
    }
}

#[test]
fn lru_order_survives_frees_and_reuse_of_frames() {
    let mut m = machine(Semantics::Modern, 1, 0);
    let p = m.spawn(1000, 1000, 0, "/", "t").unwrap();
    let a = anon(&mut m, p, 64);
    m.touch(p, a, 64 * PS, true).unwrap();
    m.lru_add_drain_all();
    let first: Vec<u64> = (0..64).map(|i| m.frame_at(p, a + i * PS).unwrap()).collect();
    // The lists are sorted once (as a reclaim would), then the last half of the frames is
    // freed (it rejoins the allocator's run cache) and handed out again to a later area.
    assert_eq!(m.lru_lists(0)[ACTIVE_ANON], first);
    m.munmap(p, a + 32 * PS, 32 * PS).unwrap();
    let b = anon(&mut m, p, 32);
    m.touch(p, b, 32 * PS, true).unwrap();
    m.lru_add_drain_all();
    ok(&mut m);
    let second: Vec<u64> = (0..32).map(|i| m.frame_at(p, b + i * PS).unwrap()).collect();
    assert_eq!(second, first[32..], "the freed frames come back");
    let mut want = first[..32].to_vec();
    want.extend(&second);
    assert_eq!(m.lru_lists(0)[ACTIVE_ANON], want, "each frame once, at its newest place");
}

#[test]
fn reclaim_swaps_anonymous_pages_out_and_keeps_their_content() {
    for sem in Semantics::ALL {
        let mut m = machine(sem, 1, 4 * NODE);
        let p = m.spawn(1000, 1000, 0, "/", "t").unwrap();
        let n = free(&m, 0) - mark(&m, 0, WMARK_HIGH);
        let a = anon(&mut m, p, n);
        m.touch(p, a, n * PS, true).unwrap();
        m.set_page_state(p, a, n * PS, crate::machine::reclaim::PageState::Young, false, None)
            .unwrap();
        let content = m.peek(p, a, n * PS).unwrap();
        // 2000 more pages than there is room for: reclaim has to swap the first ones out.
        let b = anon(&mut m, p, 2000);
        m.touch(p, b, 2000 * PS, true).unwrap();
        ok(&mut m);
        assert!(m.vmstat.pswpout >= 1800, "{sem}: {}", m.vmstat.pswpout);
        assert_eq!(m.peek(p, a, n * PS).unwrap(), content, "{sem}");
        // The pages swapped out are the oldest: the start of the first area.
        let nodes = nodes_of(&m, p, a, n);
        let gone = nodes.iter().take_while(|&&x| x < 0).count() as u64;
        assert!(gone >= 1800, "{sem}: {gone}");
        // Reading them back brings them in again, content intact.
        m.touch(p, a, 100 * PS, false).unwrap();
        ok(&mut m);
        assert_eq!(m.peek(p, a, n * PS).unwrap(), content, "{sem}");
    }
}

#[test]
fn min_free_kbytes_zero_keeps_no_reserve_in_2_6() {
    let mut m = machine(Semantics::Linux2616, 1, 0);
    m.set_min_free_kbytes(Some(0)).unwrap();
    assert_eq!(m.watermarks(0), Some([0, 0, 0]));
    let p = m.spawn(1000, 1000, 0, "/", "t").unwrap();
    let n = free(&m, 0);
    let a = anon(&mut m, p, n);
    m.touch(p, a, n * PS, true).unwrap();
    assert_eq!(free(&m, 0), 0);
    ok(&mut m);
    // Back to the boot formula.
    m.set_min_free_kbytes(None).unwrap();
    assert_eq!(m.min_free_kbytes(), 1024);
    assert!(m.set_min_free_kbytes(Some(1 << 31)).is_err());
}

#[test]
fn random_work_under_pressure_keeps_every_invariant() {
    for sem in Semantics::ALL {
        let mut rng = Rng(0x5eed + sem as u64);
        let arch = ArchProfile::builtin("x86_64").unwrap();
        let specs = (0..2u32)
            .map(|n| NodeSpec { nid: n, mem_bytes: 2048 * PS, cpus: vec![2 * n, 2 * n + 1] })
            .collect();
        let mut m = Machine::new(Config {
            arch,
            semantics: sem,
            nodes: specs,
            distances: None,
            swap_bytes: 1024 * PS,
            page_cluster: 3,
            costs: crate::costs::CostModel::default(),
            kernel: None,
        })
        .unwrap();
        let f = m.create_file("/f", 1500 * PS).unwrap();
        let mut tasks = vec![m.spawn(1000, 1000, 0, "/", "t").unwrap()];
        let mut areas: Vec<(Pid, u64, u64)> = Vec::new();
        for step in 0..150 {
            let t = tasks[to_usize(rng.below(tasks.len() as u64))];
            let r = match rng.below(8) {
                0 | 1 => {
                    let n = 1 + rng.below(400);
                    let a = anon(&mut m, t, n);
                    areas.push((t, a, n));
                    m.touch(t, a, n * PS, true).map(drop)
                }
                2 if areas.len() < 24 => {
                    let n = 1 + rng.below(400);
                    let off = rng.below(1500 - n);
                    let a = m
                        .mmap(
                            t,
                            None,
                            n * PS,
                            prot::READ | prot::WRITE,
                            mapf::SHARED,
                            Some(f),
                            off * PS,
                        )
                        .unwrap();
                    areas.push((t, a, n));
                    m.touch(t, a, n * PS, rng.below(2) == 0).map(drop)
                }
                3 if !areas.is_empty() => {
                    let i = to_usize(rng.below(areas.len() as u64));
                    let (t, a, n) = areas.swap_remove(i);
                    m.munmap(t, a, n * PS)
                }
                4 if tasks.len() < 4 => m.fork(t).map(|c| tasks.push(c)),
                5 if !areas.is_empty() => {
                    // Writes to whatever is there (COW after fork, swap-ins).
                    let (t, a, n) = areas[to_usize(rng.below(areas.len() as u64))];
                    if tasks.contains(&t) {
                        m.touch(t, a, n * PS, true).map(drop)
                    } else {
                        Ok(())
                    }
                }
                6 => {
                    let (from, to) = if rng.below(2) == 0 { (0, 1) } else { (1, 0) };
                    m.do_migrate_pages(t, &mask(&[from]), &mask(&[to]), MPOL_MF_MOVE).map(|_| ())
                }
                _ => m.migrate_to_cpu(t, u32::try_from(rng.below(4)).unwrap()),
            };
            if let Err(e) = r {
                assert_eq!(e.errno(), Some(errno::ENOMEM), "{sem} step {step}: {e}");
            }
            m.check().unwrap_or_else(|e| panic!("{sem} step {step}: {e}"));
        }
        assert!(scanned(&m, 0) + scanned(&m, 1) > 0, "{sem}: the machine was under pressure");
    }
}
