//! Extreme arguments (issue 8: nothing aborts, deadlocks or freezes the interpreter): every
//! entry point of the fault, view, reclaim, file and swap code is driven with 0, 1, 2^31, 2^32,
//! 2^63, 2^64-1, misaligned values and ranges that wrap, on x86_64, i386 and ia64. Each call
//! either succeeds or fails with a clean error of the expected kind; a failed call leaves the
//! machine exactly as it was and `check()` passes after every call.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::*;
use crate::error::ErrorKind;
use crate::machine::fault::page_results;
use crate::machine::mm::{mapf, prot};
use crate::machine::reclaim::PageState;

const ARCHES: [&str; 3] = ["x86_64", "i386", "ia64"];

fn machine_on(arch: &str, sem: Semantics, swap_bytes: u64) -> Result<Machine> {
    let arch = ArchProfile::builtin(arch).unwrap();
    let ps = arch.page_size();
    let nodes = (0..2).map(|n| NodeSpec { nid: n, mem_bytes: 256 * ps, cpus: vec![n] }).collect();
    Machine::new(Config {
        arch,
        semantics: sem,
        nodes,
        distances: None,
        swap_bytes,
        page_cluster: 3,
        costs: crate::costs::CostModel::default(),
        kernel: None,
    })
}

/// A machine with one task that has: 16 anonymous pages (some written, one swapped out, some
/// never touched) and 8 pages of a shared file mapping (some cached and dirty). Returns the
/// machine, the task and the start of the anonymous area.
fn populated(arch: &str, sem: Semantics) -> (Machine, Pid, u64) {
    let mut m = machine_on(arch, sem, 1 << 24).unwrap();
    let ps = m.arch.page_size();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let rw = prot::READ | prot::WRITE;
    let a = m.mmap(p, None, 16 * ps, rw, mapf::PRIVATE | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(p, a, 8 * ps, true).unwrap();
    m.touch(p, a + 8 * ps, 4 * ps, false).unwrap();
    m.swap_out(p, a + 2 * ps, ps).unwrap();
    let f = m.create_file("/data", 8 * ps).unwrap();
    let b = m.mmap(p, None, 8 * ps, rw, mapf::SHARED, Some(f), 0).unwrap();
    m.touch(p, b, 2 * ps, true).unwrap();
    m.touch(p, b + 2 * ps, 2 * ps, false).unwrap();
    m.check().unwrap();
    (m, p, a)
}

/// Everything a failed call must leave as it was, hashed.
fn fingerprint(m: &Machine) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    format!("{:?}", m.vmstat).hash(&mut h);
    m.now_ns.hash(&mut h);
    for n in &m.phys.nodes {
        n.nr_free().hash(&mut h);
        m.phys.for_each_frame(n, |p, sec, off| {
            (p, sec.flags[off], sec.mapcount[off], sec.mapping[off], sec.stamp[off]).hash(&mut h);
        });
    }
    for d in &m.swap.devices {
        d.inuse.hash(&mut h);
    }
    m.swap.used_slots().for_each(|(e, c)| (e, c).hash(&mut h));
    for f in m.files.iter().flatten() {
        (f.id, &f.path, f.pages, f.dirtied_when).hash(&mut h);
        f.cache.entries().for_each(|e| e.hash(&mut h));
        f.store.entries().for_each(|e| e.hash(&mut h));
    }
    for (&pid, t) in &m.tasks {
        let Some(mm) = t.mm else { continue };
        let mmr = m.mm(mm);
        (pid, mmr.rss_anon, mmr.rss_file, mmr.swap_ents, mmr.anon_digest).hash(&mut h);
        for v in mmr.vmas.values() {
            format!("{v:?}").hash(&mut h);
            let (ls, le) = (m.arch.lvpn(v.start), m.arch.lvpn(v.end - 1) + 1);
            mmr.pt.for_each(ls, le, |first, ptes| (first, ptes).hash(&mut h));
        }
    }
    let mut pins: Vec<_> = m.pins.iter().collect();
    pins.sort();
    let mut locks: Vec<_> = m.locks.iter().collect();
    locks.sort();
    (pins, locks, m.writeback.len(), &m.pagevecs).hash(&mut h);
    h.finish()
}

fn extremes(m: &Machine, a: u64) -> (Vec<u64>, Vec<u64>) {
    let ps = m.arch.page_size();
    let ts = m.arch.task_size;
    let common = [
        0,
        1,
        ps - 1,
        ps,
        1 << 31,
        (1 << 31) + 1,
        (1 << 32) - 1,
        1 << 32,
        1 << 63,
        (1 << 63) + 1,
        u64::MAX - ps + 1,
        u64::MAX - 1,
        u64::MAX,
    ];
    let mut addrs = common.to_vec();
    addrs.extend([a, a + 1, a + 15 * ps, a + 16 * ps - 1, ts - ps, ts, ts + 1]);
    // Lengths: the extreme values, the mapping's, and ones that wrap from `a` or reach TASK_SIZE.
    let mut lens = common.to_vec();
    lens.extend([16 * ps, 16 * ps + 1, u64::MAX - a + 1, u64::MAX - a, ts - a, ts - a + ps]);
    (addrs, lens)
}

/// Runs `op`, turning a panic into a test failure that names the call.
fn guarded<T>(what: &str, op: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(op)) {
        Ok(v) => v,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(ToString::to_string))
                .unwrap_or_default();
            panic!("{what} panicked: {msg}")
        }
    }
}

/// One call: Ok (then check() passes), or an error `allowed` accepts that changed nothing (so
/// check() passes as it did before).
fn call<T>(
    m: &mut Machine,
    what: &str,
    allowed: impl Fn(&ErrorKind) -> bool,
    op: impl FnOnce(&mut Machine) -> Result<T>,
) -> Result<T> {
    let before = fingerprint(m);
    let r = guarded(what, || op(m));
    match &r {
        Ok(_) => m.check().unwrap_or_else(|e| panic!("{what}: check() after success: {e}")),
        Err(e) => {
            assert!(allowed(&e.kind), "{what}: unexpected error {e:?}");
            assert!(!e.detail.is_empty(), "{what}: an error names its problem");
            assert_eq!(fingerprint(m), before, "{what} failed with {e} but changed the machine");
        }
    }
    r
}

fn os(errnos: &'static [i32]) -> impl Fn(&ErrorKind) -> bool {
    move |k| matches!(k, ErrorKind::Os(e) if errnos.contains(e))
}

/// The views take `&self`: they cannot change the machine, so only their outcome is checked.
fn view<T>(
    what: &str,
    allowed: impl Fn(&ErrorKind) -> bool,
    op: impl FnOnce() -> Result<T>,
) -> Option<T> {
    match guarded(what, op) {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(allowed(&e.kind), "{what}: unexpected error {e:?}");
            assert!(!e.detail.is_empty(), "{what}: an error names its problem");
            None
        }
    }
}

#[test]
fn read_only_views_take_any_range() {
    for arch in ARCHES {
        for sem in [Semantics::Linux2616, Semantics::Modern] {
            let (m, p, a) = populated(arch, sem);
            let ps = m.arch.page_size();
            let (addrs, lens) = extremes(&m, a);
            for &addr in &addrs {
                let what = format!("{arch} {sem} frame_at({addr:#x})");
                view(&what, os(&[errno::ENOENT, errno::EFAULT]), || m.frame_at(p, addr));
                for &len in &lens {
                    // A valid range of more than 2^22 pages would have its result allocated for
                    // real (64 GiB for all of x86_64's user space): only ranges far beyond what
                    // a host can hold (2^45 pages and more) are asked for.
                    let pages = (u128::from(addr) + u128::from(len)).div_ceil(u128::from(ps))
                        - u128::from(addr / ps);
                    let valid = addr.checked_add(len).is_some_and(|e| e <= m.arch.task_size);
                    if valid && pages > 1 << 22 && pages < 1 << 45 {
                        continue;
                    }
                    let what = format!("{arch} {sem} page_nodes({addr:#x}, {len:#x})");
                    let efault_or_value = |k: &ErrorKind| {
                        matches!(k, ErrorKind::Os(errno::EFAULT) | ErrorKind::Value)
                    };
                    if let Some(v) = view(&what, efault_or_value, || m.page_nodes(p, addr, len)) {
                        let want = if len == 0 { 0 } else { u64::try_from(pages).unwrap() };
                        assert_eq!(v.len() as u64, want, "{what}");
                        assert!(len == 0 || valid, "{what}");
                    }
                    let what = format!("{arch} {sem} peek({addr:#x}, {len:#x})");
                    let segv_or_value =
                        |k: &ErrorKind| matches!(k, ErrorKind::Segv(_) | ErrorKind::Value);
                    if let Some(v) = view(&what, segv_or_value, || m.peek(p, addr, len)) {
                        assert_eq!(v.len() as u128, pages, "{what}");
                    }
                }
            }
            m.check().unwrap();
        }
    }
}

#[test]
fn touch_swap_out_and_page_states_take_any_range() {
    for arch in ARCHES {
        let sem = Semantics::Modern;
        let (mut m, p, a) = populated(arch, sem);
        let (addrs, lens) = extremes(&m, a);
        for &addr in &addrs {
            let what = format!("{arch} touch_pages([{a:#x}, {addr:#x}])");
            call(
                &mut m,
                &what,
                |k| matches!(k, ErrorKind::Segv(_)),
                |m| m.touch_pages(p, &[a, addr], true),
            )
            .ok();
            for (k, &len) in lens.iter().enumerate() {
                let write = k % 2 == 1;
                let what = format!("{arch} touch({addr:#x}, {len:#x}, {write})");
                call(
                    &mut m,
                    &what,
                    |k| matches!(k, ErrorKind::Segv(_) | ErrorKind::Value),
                    |m| m.touch(p, addr, len, write),
                )
                .ok();
                let what = format!("{arch} set_page_state({addr:#x}, {len:#x})");
                call(&mut m, &what, os(&[errno::EINVAL, errno::ENOMEM, errno::ENOENT]), |m| {
                    m.set_page_state(p, addr, len, PageState::Young, true, None)
                })
                .ok();
                let what = format!("{arch} swap_out({addr:#x}, {len:#x})");
                call(&mut m, &what, os(&[errno::EINVAL, errno::ENOMEM]), |m| {
                    m.swap_out(p, addr, len)
                })
                .ok();
            }
        }
        for f in [0, 1, 2, 1 << 31, u32::MAX] {
            let what = format!("{arch} writeback({f})");
            call(&mut m, &what, os(&[errno::EBADF]), |m| m.writeback(Some(f))).ok();
        }
    }
}

/// The calls issue 8 names, with the exact outcome each now has.
#[test]
fn former_aborts_fail_cleanly() {
    let (mut m, p, a) = populated("x86_64", Semantics::Modern);
    let ps = 4096;
    let ts = m.arch.task_size;
    let before = fingerprint(&m);
    let e = m.page_nodes(p, a, 1 << 62).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Os(errno::EFAULT), "{e}");
    assert!(e.detail.contains("TASK_SIZE"), "{e}");
    assert_eq!(
        m.page_nodes(p, u64::MAX - ps + 1, ps).unwrap_err().kind,
        ErrorKind::Os(errno::EFAULT)
    );
    // A read runs into the first unmapped page after the 16 mapped ones.
    let mm = m.task_mm(p).unwrap();
    let first_hole = m.first_unmapped(mm, a, u64::MAX).unwrap();
    assert!(first_hole >= a + 16 * ps);
    assert!(m.vma_at(mm, first_hole).is_none() && m.vma_at(mm, first_hole - ps).is_some());
    assert_eq!(m.peek(p, a, 1 << 62).unwrap_err().kind, ErrorKind::Segv(first_hole));
    assert_eq!(m.peek(p, 0x1000, 1 << 45).unwrap_err().kind, ErrorKind::Segv(0x1000));
    assert_eq!(m.peek(p, a, u64::MAX).unwrap_err().kind, ErrorKind::Segv(first_hole));
    assert_eq!(m.touch(p, a, u64::MAX, true).unwrap_err().kind, ErrorKind::Segv(first_hole));
    let top = u64::MAX - ps + 1;
    assert_eq!(m.touch(p, top, 2 * ps, false).unwrap_err().kind, ErrorKind::Segv(top));
    assert_eq!(m.touch(p, ts, ps, false).unwrap_err().kind, ErrorKind::Segv(ts));
    assert_eq!(m.touch_pages(p, &[a, u64::MAX], false).unwrap_err().kind, ErrorKind::Segv(!0));
    assert_eq!(m.frame_at(p, 1 << 63).unwrap_err().kind, ErrorKind::Os(errno::EFAULT));
    let e = m.create_file("/f", 1 << 63).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Os(crate::error::errno::EFBIG), "{e}");
    assert!(e.detail.contains("MAX_LFS_FILESIZE"), "{e}");
    let e = m.shmget(1 << 63).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Os(errno::EINVAL), "{e}");
    assert_eq!(m.shmget(0).unwrap_err().kind, ErrorKind::Value);
    assert_eq!(fingerprint(&m), before);
    m.check().unwrap();
    // A page_nodes view of a range within TASK_SIZE but far too large for the host.
    let e = page_results::<i32>(1 << 62, "page_nodes", u64::MAX).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Value);
    assert!(e.detail.contains("page_nodes: length"), "{e}");
}

#[test]
fn page_nodes_reports_holes_and_region_gaps() {
    let mut m = machine_on("x86_64", Semantics::Linux2616, 1 << 24).unwrap();
    let ps = 4096;
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let a = 0x1000_0000;
    let fixed = mapf::PRIVATE | mapf::ANONYMOUS | mapf::FIXED;
    m.mmap(p, Some(a), 16 * ps, prot::READ | prot::WRITE, fixed, None, 0).unwrap();
    m.touch(p, a, 8 * ps, true).unwrap();
    m.touch(p, a + 8 * ps, 4 * ps, false).unwrap();
    m.swap_out(p, a + 2 * ps, ps).unwrap();
    let nodes = m.page_nodes(p, a - 2 * ps, 20 * ps).unwrap();
    assert_eq!(&nodes[..2], &[-errno::EFAULT; 2]);
    assert_eq!(nodes[2 + 2], -errno::ENOENT, "swapped out");
    assert_eq!(&nodes[2 + 8..2 + 12], &[-errno::ENOENT; 4], "the zero page, 2.6.16");
    assert_eq!(&nodes[2 + 12..2 + 16], &[-errno::ENOENT; 4], "never touched");
    assert_eq!(&nodes[2 + 16..], &[-errno::EFAULT; 2]);
    assert_eq!(m.page_nodes(p, a + 1, 0).unwrap(), Vec::<i32>::new());
    assert_eq!(m.page_nodes(p, a + ps - 1, 2).unwrap().len(), 2, "two pages touched");
    // ia64: a range crossing from one region's user range into the hole after it.
    let (m, p, _) = populated("ia64", Semantics::Modern);
    let ps = m.arch.page_size();
    let (_, r1end) = m.arch.user_ranges()[1];
    let v = m.page_nodes(p, r1end - ps, 3 * ps).unwrap();
    assert_eq!(v, vec![-errno::EFAULT; 3]);
    let (r2, _) = m.arch.user_ranges()[2];
    let v = m.page_nodes(p, r2 - 2 * ps, 4 * ps).unwrap();
    assert_eq!(v, vec![-errno::EFAULT; 4]);
}

#[test]
fn huge_sparse_files_cost_nothing_until_touched() {
    for arch in ARCHES {
        for sem in Semantics::ALL {
            let mut m = machine_on(arch, sem, 1 << 24).unwrap();
            let ps = m.arch.page_size();
            let lfs = m.arch.max_lfs_filesize(sem);
            let index_max = (crate::phys::mapping::MAX_INDEX + 1) * ps;
            let biggest = lfs.min(index_max);
            let f = m.create_file("/db", biggest).unwrap();
            assert_eq!(m.file(f).pages, biggest.div_ceil(ps));
            let e = m.create_file("/db2", biggest + 1).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Os(crate::error::errno::EFBIG), "{arch} {sem}: {e}");
            for size in [1u64 << 31, 1 << 32, 1 << 40, 1 << 63, u64::MAX] {
                let r = m.create_file(&format!("/s{size}"), size);
                if size <= biggest {
                    r.unwrap();
                } else {
                    assert_eq!(r.unwrap_err().kind, ErrorKind::Os(crate::error::errno::EFBIG));
                }
            }
            // Map and write the file's last pages (mmap2's page offset reaches them on i386).
            let p = m.spawn(0, 0, 0, "/", "db").unwrap();
            let last = m.file(f).pages - 4;
            let rw = prot::READ | prot::WRITE;
            let b = m.mmap(p, None, 4 * ps, rw, mapf::SHARED, Some(f), last * ps).unwrap();
            m.touch(p, b, 4 * ps, true).unwrap();
            let content = m.peek(p, b, 4 * ps).unwrap();
            assert!(content.iter().all(|&c| c != 0));
            assert_eq!(m.writeback(Some(f)).unwrap(), 4);
            assert_eq!(m.file(f).store.get(last + 3), content[3]);
            assert_eq!(m.file(f).store.entries().count(), 4);
            m.swap_out(p, b, 4 * ps).unwrap();
            assert_eq!(m.peek(p, b, 4 * ps).unwrap(), content);
            m.check().unwrap();
        }
    }
}

#[test]
fn shmget_has_the_kernel_limits() {
    // 2.6: SHMMAX 32 MiB, SHMALL 2^21 pages (with 4 KiB pages): 256 segments of 32 MiB fit
    // only if the total stays below SHMALL (newseg: shm_tot + numpages >= shm_ctlall).
    let mut m = machine_on("x86_64", Semantics::Linux2616, 0).unwrap();
    assert_eq!(m.shmget(0x200_0001).unwrap_err().kind, ErrorKind::Os(errno::EINVAL));
    for _ in 0..255 {
        m.shmget(0x200_0000).unwrap();
    }
    let e = m.shmget(0x200_0000).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Os(errno::ENOSPC), "{e}");
    assert!(e.detail.contains("SHMALL"), "{e}");
    m.shmget(0x1fff_f000).unwrap_err();
    m.check().unwrap();
    // Modern: SHMMAX ULONG_MAX - 2^24, segments as big as tmpfs allows, stored sparsely.
    for arch in ARCHES {
        let mut m = machine_on(arch, Semantics::Modern, 0).unwrap();
        let shmmax = m.arch.ulong_max() - (1 << 24);
        let e = m.shmget(shmmax + 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Os(errno::EINVAL), "{arch}: {e}");
        let big = if m.arch.bits_per_long == 32 { 1 << 31 } else { 1 << 40 };
        let f = m.shmget(big).unwrap();
        assert_eq!(m.file(f).pages, big / m.arch.page_size());
        let e = m.shmget(u64::MAX).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Os(errno::EINVAL), "{arch}: {e}");
        m.check().unwrap();
    }
    // SHMMNI: 4096 segments; ipc_addid() has no id for one more.
    let mut m = machine_on("i386", Semantics::Modern, 0).unwrap();
    for _ in 0..SHMMNI {
        m.shmget(1).unwrap();
    }
    assert_eq!(m.shmget(1).unwrap_err().kind, ErrorKind::Os(errno::ENOSPC));
    // 2.6 tmpfs: a shared anonymous mapping beyond SHMEM_MAX_BYTES is EINVAL (shmem_file_setup).
    let mut m = machine_on("x86_64", Semantics::Linux2616, 0).unwrap();
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let max = shmem_max_bytes(&m.arch);
    assert_eq!(max, (16 + (1 << 17) * 513) << 12);
    let flags = mapf::SHARED | mapf::ANONYMOUS;
    let e = m.mmap(p, None, max + 4096, prot::READ, flags, None, 0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Os(errno::EINVAL), "{e}");
    m.mmap(p, None, max, prot::READ, flags, None, 0).unwrap();
    m.check().unwrap();
}

#[test]
fn swap_devices_are_sized_lazily_up_to_the_kernel_limit() {
    let tib = 1u64 << 40;
    // 64 TiB is 2^34 pages of 4 KiB: more than the swap header's 32-bit last_page names.
    for arch in ["x86_64", "ia64"] {
        let e = machine_on(arch, Semantics::Modern, 64 * tib).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Value);
        assert!(e.detail.contains("swap 64 TiB") && e.detail.contains("at most"), "{e}");
    }
    // i386: the 2-level swap PTE keeps 24 bits of offset, 64 GiB of 4 KiB pages (header included).
    let gib = 1u64 << 30;
    let e = machine_on("i386", Semantics::V5, 64 * gib).err().unwrap();
    assert!(e.detail.contains("2**24") || e.detail.contains("16777216"), "{e}");
    machine_on("i386", Semantics::V5, 64 * gib - 4096).unwrap();
    for bytes in [1u64, 4095, u64::MAX, 1 << 63] {
        // Less than a page: no swap slot at all (swapon needs 2 pages); absurd sizes: refused.
        let r = machine_on("x86_64", Semantics::Modern, bytes);
        match r {
            Ok(m) => assert_eq!(m.swap.total_slots(), bytes / 4096),
            Err(e) => assert!(matches!(e.kind, ErrorKind::Value | ErrorKind::Os(_)), "{e}"),
        }
    }
    // The largest device builds at once and swaps; only the pieces used take memory.
    let ps = 4096;
    let max = ArchProfile::builtin("x86_64").unwrap().max_swap_pages();
    let mut m = machine_on("x86_64", Semantics::Modern, (max - 1) * ps).unwrap();
    assert_eq!(m.swap.total_slots(), max - 1);
    let p = m.spawn(0, 0, 0, "/", "t").unwrap();
    let rw = prot::READ | prot::WRITE;
    let a = m.mmap(p, None, 64 * ps, rw, mapf::PRIVATE | mapf::ANONYMOUS, None, 0).unwrap();
    m.touch(p, a, 64 * ps, true).unwrap();
    let content = m.peek(p, a, 64 * ps).unwrap();
    assert_eq!(m.swap_out(p, a, 64 * ps).unwrap(), 64);
    m.check().unwrap();
    m.touch(p, a, 64 * ps, false).unwrap();
    assert_eq!(m.peek(p, a, 64 * ps).unwrap(), content);
    m.check().unwrap();
}

#[test]
fn file_pages_read_like_a_dense_vec() {
    let mut v = FilePages::<u64>::default();
    assert_eq!((v[5], v.get(1 << 40)), (0, 0));
    v.set(1 << 40, 7);
    v.set(3, 0); // writing 0 where nothing is allocates nothing
    v[70] = 9;
    v[70] += 1;
    assert_eq!((v[1usize << 40], v.get(70), v.iter().count()), (7, 10, 128));
    assert_eq!(v.entries().collect::<Vec<_>>(), vec![(70, 10), (1 << 40, 7)]);
    let nz: Vec<(usize, u64)> =
        v.iter().enumerate().filter(|(_, &c)| c != 0).map(|(i, &c)| (i, c)).collect();
    assert_eq!(nz, vec![(70, 10), (1usize << 40, 7)]);
    assert_eq!(v.iter().filter(|&&c| c != 0).count(), 2);
    v.set(70, 0);
    assert_eq!(v.entries().count(), 1);
}

#[test]
fn arch_limits() {
    for a in crate::arch::builtin_profiles() {
        assert_eq!(a.task_size % a.page_size(), 0, "{}", a.name);
        assert!(a.task_size <= a.ulong_max(), "{}", a.name);
        assert!(u32::try_from(a.max_swap_pages()).is_ok());
        assert_eq!(a.end_below_task_size(a.task_size - 1, 1), Some(a.task_size));
        assert_eq!(a.end_below_task_size(a.task_size, 1), None);
        assert_eq!(a.end_below_task_size(u64::MAX, 2), None);
        assert_eq!(a.user_range_of(a.task_size), None);
        assert_eq!(a.user_range_of(0), Some(a.user_ranges()[0]));
    }
    let i = ArchProfile::builtin("i386").unwrap();
    assert_eq!(i.ulong_max(), u64::from(u32::MAX));
    assert_eq!(i.max_lfs_filesize(Semantics::Linux2616), (1 << 43) - 1);
    assert_eq!(i.max_lfs_filesize(Semantics::Modern), (1 << 44) - 4096);
    assert_eq!(i.max_swap_pages(), 1 << 24);
    let x = ArchProfile::builtin("x86_64").unwrap();
    assert_eq!(x.max_lfs_filesize(Semantics::V5), i64::MAX as u64);
    assert_eq!(x.max_swap_pages(), u64::from(u32::MAX));
    assert_eq!(crate::swap::bytes_text(64 << 40), "64 TiB");
    assert_eq!(crate::swap::bytes_text(4095), "4095 bytes");
    assert_eq!(crate::swap::bytes_text((u64::from(u32::MAX) - 1) << 12), "about 16.0 TiB");
    assert_eq!(shm_limits(&i, Semantics::Linux2616), (32 << 20, 1 << 21));
}

/// Ctrl-C stops each long loop at a page boundary with the machine consistent. A request is
/// process-wide, so the tests that raise one take `interrupt::test_guard()`.
#[test]
fn long_loops_stop_on_interrupt() {
    let _serial = crate::interrupt::test_guard();
    let (mut m, p, a) = populated("x86_64", Semantics::Modern);
    let ps = 4096;
    let rw = prot::READ | prot::WRITE;
    let b = m.mmap(p, None, 64 * ps, rw, mapf::PRIVATE | mapf::ANONYMOUS, None, 0).unwrap();
    let before = fingerprint(&m);
    let interrupted = |r: Result<()>| assert_eq!(r.unwrap_err().kind, ErrorKind::Interrupted);
    {
        let _armed = crate::interrupt::arm();
        crate::interrupt::request();
        interrupted(m.touch(p, b, 64 * ps, true).map(drop));
        interrupted(m.touch(p, b, 64 * ps, false).map(drop));
        interrupted(m.touch_pages(p, &[b, b + ps], true).map(drop));
        interrupted(m.peek(p, b, 64 * ps).map(drop));
        interrupted(m.page_nodes(p, b, 64 * ps).map(drop));
        interrupted(m.set_page_state(p, a, ps, PageState::Young, true, None).map(drop));
    }
    assert_eq!(fingerprint(&m), before, "stopped before the first page");
    m.check().unwrap();
    for op in 0..2 {
        {
            let _armed = crate::interrupt::arm();
            crate::interrupt::request();
            // check() itself stops on a request too.
            interrupted(m.check());
            interrupted(if op == 0 {
                m.swap_out(p, a, 16 * ps).map(drop)
            } else {
                m.writeback(None).map(drop)
            });
        }
        m.check().unwrap();
    }
}
