//! Address-space system calls at the edges: the gap index keeps the layout the linear walk
//! chose, extreme addresses and lengths fail with the kernel's errno and change nothing, and
//! vm.max_map_count is enforced where the kernel enforces it.

use super::*;
use crate::arch::ArchProfile;
use crate::host::to_usize;
use crate::machine::{Config, NodeSpec};
use crate::testutil::Rng;

const ARCHES: [&str; 4] = ["i386", "i386-pae", "x86_64", "ia64"];

fn machine(arch: &str, sem: Semantics) -> Machine {
    let arch = ArchProfile::builtin(arch).unwrap();
    let ps = arch.page_size();
    let nodes = (0..2).map(|n| NodeSpec { nid: n, mem_bytes: 256 * ps, cpus: vec![n] }).collect();
    Machine::new(Config {
        arch,
        semantics: sem,
        nodes,
        distances: None,
        swap_bytes: 0,
        page_cluster: 3,
        costs: crate::costs::CostModel::default(),
        kernel: None,
    })
    .unwrap()
}

const RW: u32 = prot::READ | prot::WRITE;
const ANON: u32 = mapf::PRIVATE | mapf::ANONYMOUS;

/// The VMAs of a task as (start, end, flags), for "nothing changed" comparisons.
fn layout(m: &Machine, pid: Pid) -> Vec<(u64, u64, u32)> {
    m.mm(m.task_mm(pid).unwrap()).vmas.values().map(|v| (v.start, v.end, v.flags)).collect()
}

fn consistent(m: &Machine, pid: Pid) {
    m.check().unwrap();
    m.mm(m.task_mm(pid).unwrap()).vmas.check_index().unwrap();
}

/// get_unmapped_area as the simulator did it before the gap index: a walk over the VMAs one at a
/// time. The oracle for "the index keeps the exact addresses".
fn walk_unmapped_area(
    m: &Machine,
    mm: MmId,
    hint: Option<u64>,
    len: u64,
    align: u64,
    huge: bool,
) -> Option<u64> {
    let mm_ = m.mm(mm);
    let vmas = &mm_.vmas;
    let free = |s: u64| {
        m.arch.range_is_user(s, len)
            && vmas.range(..s + len).next_back().is_none_or(|(_, v)| v.end <= s)
    };
    // Two rules the walk did not have: a hint of 0 is no hint, and on ia64 a hint in the wrong
    // kind of region (region 4 is hugetlb's) is not used.
    let usable =
        |h: u64| h != 0 && (m.arch.region_shift == 0 || (h >> m.arch.region_shift == 4) == huge);
    if let Some(h) = hint.filter(|&h| usable(h)) {
        let h = h.next_multiple_of(align);
        if free(h) {
            return Some(h);
        }
    }
    let (lo, hi) = if m.arch.region_shift != 0 {
        let r = if huge { 4u64 } else { mm_.mmap_base >> m.arch.region_shift };
        let base = r << m.arch.region_shift;
        (base.max(if huge { base } else { mm_.mmap_base }), base + (1u64 << m.arch.va_bits))
    } else {
        (m.arch.page_size(), m.arch.task_size)
    };
    let top_down = m.arch.bits_per_long == 32;
    if top_down && !huge {
        let mut top = mm_.mmap_base.min(hi);
        for (_, v) in vmas.range(..top).rev() {
            if v.end <= top {
                let cand = (top - len.min(top)) / align * align;
                if top >= len && cand >= v.end && cand >= lo {
                    return Some(cand);
                }
            }
            top = top.min(v.start);
        }
        if top >= len + lo {
            let cand = (top - len) / align * align;
            if cand >= lo {
                return Some(cand);
            }
        }
    }
    let base = if top_down {
        (m.arch.task_size / 3).next_multiple_of(m.arch.page_size())
    } else {
        mm_.mmap_base
    };
    let mut cand = base.max(lo).next_multiple_of(align);
    loop {
        if cand.checked_add(len).is_none_or(|e| e > hi) {
            return None;
        }
        match vmas.range(..cand + len).next_back() {
            Some((_, v)) if v.end > cand => cand = v.end.next_multiple_of(align),
            _ => return Some(cand),
        }
    }
}

#[test]
fn gap_index_keeps_the_layout_of_the_walk() {
    for arch in ARCHES {
        let mut m = machine(arch, Semantics::Linux2616);
        let ps = m.arch.page_size();
        let hs = m.arch.huge_page_size();
        let p = m.spawn(0, 0, 0, "/", "layout").unwrap();
        let mm = m.task_mm(p).unwrap();
        let mut rng = Rng(0x5eed_0000 + arch.len() as u64);
        let mut mapped: Vec<(u64, u64)> = Vec::new();
        let mut failed = 0;
        // What one search covers: the address space, or one ia64 region.
        let span = if m.arch.region_shift != 0 { 1u64 << m.arch.va_bits } else { m.arch.task_size };
        for step in 0..1500 {
            match rng.below(10) {
                0..=5 => {
                    // Lengths from a page to a third of the address space, so that the top-down
                    // search runs out and falls back, and the bottom-up one fails.
                    let len = match rng.below(20) {
                        0 => span / (2 + rng.below(3)),
                        1..=3 => (1 + rng.below(4096)) * ps,
                        _ => (1 + rng.below(16)) * ps,
                    };
                    let huge = rng.below(12) == 0;
                    let (len, align, flags) = if huge {
                        (hs * (1 + rng.below(2)), hs, ANON | mapf::HUGETLB)
                    } else {
                        (len.next_multiple_of(ps), ps, ANON)
                    };
                    // (Random hints only on flat arches: on ia64 most fail its region check.)
                    let hint = match rng.below(6) {
                        0 => mapped.first().map(|&(s, _)| s + ps * rng.below(8)),
                        1 if m.arch.region_shift == 0 => {
                            Some(rng.below(m.arch.task_size / ps) * ps)
                        }
                        _ => None,
                    }
                    .filter(|_| !huge);
                    let want = walk_unmapped_area(&m, mm, hint, len, align, huge);
                    // Alternate protections so that neighbours do not merge away.
                    let pr = if step % 2 == 0 { RW } else { prot::READ };
                    let got = m.mmap(p, hint, len, pr, flags, None, 0);
                    match (want, got) {
                        (Some(w), Ok(g)) => {
                            assert_eq!(g, w, "{arch} step {step}: len {len:#x} hint {hint:x?}");
                            mapped.push((g, len));
                        }
                        (None, Err(e)) => {
                            assert_eq!(e.errno(), Some(errno::ENOMEM), "{e}");
                            failed += 1;
                        }
                        (w, g) => panic!("{arch} step {step}: walk {w:x?}, index {g:?}"),
                    }
                }
                6..=8 if !mapped.is_empty() => {
                    let (s, l) = mapped.swap_remove(to_usize(rng.below(mapped.len() as u64)));
                    // Unmap all or part of it, leaving holes of every size.
                    let off = rng.below(l / ps) * ps;
                    let len = ps * (1 + rng.below((l - off) / ps));
                    let r = m.munmap(p, s + off, len);
                    if let Err(e) = r {
                        assert_eq!(e.errno(), Some(errno::EINVAL)); // part of a huge page
                    }
                }
                _ if !mapped.is_empty() => {
                    // Split and re-merge: mprotect part of a mapping and back.
                    let (s, l) = mapped[to_usize(rng.below(mapped.len() as u64))];
                    let off = rng.below(l / ps) * ps;
                    let len = ps * (1 + rng.below((l - off) / ps));
                    let pr = [prot::READ, RW, prot::NONE][to_usize(rng.below(3))];
                    let r = m.mprotect(p, s + off, len, pr);
                    if let Err(e) = r {
                        // Part of a huge page, or a range unmapped meanwhile.
                        assert!(matches!(e.errno(), Some(errno::EINVAL | errno::ENOMEM)), "{e}");
                    }
                }
                _ => {}
            }
            if step % 100 == 0 {
                consistent(&m, p);
            }
        }
        consistent(&m, p);
        // The run covered a crowded address space and searches that found nothing.
        let vmas = m.mm(mm).vmas.map_count();
        assert!(vmas > 200 && failed > 0, "{arch}: {vmas} VMAs, {failed} ENOMEM");
        m.exit(p).unwrap();
        m.check().unwrap();
    }
}

#[test]
fn a_stale_gap_index_is_an_invariant_error_not_an_overlap() {
    let mut m = machine("x86_64", Semantics::Modern);
    let ps = 4096;
    let p = m.spawn(0, 0, 0, "/", "stale").unwrap();
    let a = m.mmap(p, None, 4 * ps, RW, ANON, None, 0).unwrap();
    let b = m.mmap(p, None, 4 * ps, prot::READ, ANON, None, 0).unwrap();
    assert_eq!(b, a + 4 * ps);
    m.munmap(p, a + 2 * ps, 2 * ps).unwrap();
    // Grow `a` over the hole behind the index's back.
    let mm = m.task_mm(p).unwrap();
    m.mm_mut(mm).vmas.values_mut().next().unwrap().end = b;
    let e = m.mmap(p, None, 2 * ps, RW, ANON, None, 0).unwrap_err();
    assert_eq!(
        e.kind,
        crate::error::ErrorKind::Invariant(crate::machine::check::area::VMAS),
        "{e}"
    );
    assert!(m.mm(mm).vmas.check_index().is_err());
}

#[test]
fn hint_zero_is_no_hint() {
    let mut m = machine("x86_64", Semantics::Modern);
    let p = m.spawn(0, 0, 0, "/", "h").unwrap();
    let a = m.mmap(p, Some(0), 4096, RW, ANON, None, 0).unwrap();
    assert_eq!(a, m.mm(m.task_mm(p).unwrap()).mmap_base);
}

/// The errno of a result, or 0 for success.
fn errno_of<T>(r: Result<T>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.errno().unwrap_or_else(|| panic!("not an errno: {e}")),
    }
}

const TWO64_1: u64 = u64::MAX;
const TWO64_PAGE: u64 = u64::MAX - 4095;

#[test]
fn extreme_mmap_lengths() {
    for arch in ARCHES {
        for sem in Semantics::ALL {
            let mut m = machine(arch, sem);
            let ps = m.arch.page_size();
            let p = m.spawn(0, 0, 0, "/", "x").unwrap();
            let w32 = m.arch.bits_per_long == 32;
            let ia64 = m.arch.region_shift != 0;
            let old_ia64 = ia64 && sem != Semantics::Modern;
            let cases: [(u64, i32); 9] = [
                // ia64 2.6: "A zero mmap always succeeds" (and maps nothing).
                (0, if old_ia64 { 0 } else { errno::EINVAL }),
                (1, 0),
                (1 << 31, 0),
                (1 << 32, if w32 { errno::ENOMEM } else { 0 }),
                // 2^32 - 1 rounds to 2^32: PAGE_ALIGN wraps on a 32-bit unsigned long.
                ((1 << 32) - 1, if w32 { errno::ENOMEM } else { 0 }),
                // Beyond ia64's region limit: EINVAL from its region check.
                (1 << 63, if ia64 { errno::EINVAL } else { errno::ENOMEM }),
                // Wraps on PAGE_ALIGN: ENOMEM, but 2.6 ia64's do_mmap2() says EINVAL.
                (TWO64_1, if old_ia64 { errno::EINVAL } else { errno::ENOMEM }),
                // PAGE_ALIGN wraps with ia64's 16 KiB pages.
                (TWO64_PAGE, if old_ia64 { errno::EINVAL } else { errno::ENOMEM }),
                (m.arch.task_size + 1, if ia64 { errno::EINVAL } else { errno::ENOMEM }),
            ];
            for (len, want) in cases {
                let before = layout(&m, p);
                let r = m.mmap(p, None, len, RW, ANON, None, 0);
                assert_eq!(errno_of(r.clone()), want, "{arch} {sem}: mmap({len:#x}) = {r:?}");
                if want == 0 && len != 0 {
                    let a = r.unwrap();
                    let v = m.vma_at(m.task_mm(p).unwrap(), a).unwrap().clone();
                    assert!(v.end - a >= len.next_multiple_of(ps), "{arch} {sem} {len:#x}");
                    m.munmap(p, a, len).unwrap();
                }
                assert_eq!(layout(&m, p), before, "{arch} {sem}: mmap({len:#x}) left a trace");
                consistent(&m, p);
            }
            m.exit(p).unwrap();
            m.check().unwrap();
        }
    }
}

#[test]
fn extreme_fixed_addresses() {
    for arch in ARCHES {
        for sem in Semantics::ALL {
            let mut m = machine(arch, sem);
            let ps = m.arch.page_size();
            let ts = m.arch.task_size;
            let p = m.spawn(0, 0, 0, "/", "x").unwrap();
            let ia64 = m.arch.region_shift != 0;
            let old_ia64 = ia64 && sem != Semantics::Modern;
            let fixed = ANON | mapf::FIXED;
            let mut cases: Vec<(u64, u64, i32)> = vec![
                (ts, ps, errno::ENOMEM),
                (1 << 32, ps, if m.arch.bits_per_long == 32 { errno::ENOMEM } else { 0 }),
                (TWO64_PAGE, ps, if ia64 { errno::EINVAL } else { errno::ENOMEM }),
                // The range wraps past 2^64.
                (TWO64_PAGE, 2 * ps, if ia64 { errno::EINVAL } else { errno::ENOMEM }),
                (ps + 1, ps, errno::EINVAL),
                (1 << 31, TWO64_PAGE, if old_ia64 { errno::EINVAL } else { errno::ENOMEM }),
            ];
            if ia64 {
                let r1 = 1u64 << 61;
                let limit = (1u64 << m.arch.va_bits) - ps;
                cases.extend([
                    // Past RGN_MAP_LIMIT of region 1, and across into region 2.
                    (r1 + limit, ps, errno::EINVAL),
                    (r1 + limit - ps, 2 * ps, errno::EINVAL),
                    (r1 + limit - ps, ps, 0),
                    // Region 4 is for hugetlb pages only.
                    (4 << 61, ps, errno::EINVAL),
                ]);
            }
            for (addr, len, want) in cases {
                let before = layout(&m, p);
                let r = m.mmap(p, Some(addr), len, RW, fixed, None, 0);
                assert_eq!(errno_of(r.clone()), want, "{arch} {sem}: mmap({addr:#x}, {len:#x})");
                if want == 0 {
                    assert_eq!(r.unwrap(), addr);
                    m.munmap(p, addr, len).unwrap();
                }
                assert_eq!(layout(&m, p), before, "{arch} {sem}: mmap({addr:#x}, {len:#x})");
                consistent(&m, p);
            }
            // A hint that cannot be used is ignored, not an error.
            for hint in [TWO64_PAGE, TWO64_1, ts, 1 << 63] {
                let r = m.mmap(p, Some(hint), ps, RW, ANON, None, 0);
                if ia64 && (hint & ((1 << 61) - 1)) > (1 << m.arch.va_bits) - 2 * ps {
                    // ia64 checks the hint's region offset before anything else.
                    assert_eq!(errno_of(r), errno::EINVAL, "{arch} {sem}: hint {hint:#x}");
                } else {
                    let a = r.unwrap();
                    assert!(m.arch.range_is_user(a, ps), "{arch} {sem}: hint {hint:#x} -> {a:#x}");
                    m.munmap(p, a, ps).unwrap();
                }
                consistent(&m, p);
            }
            m.exit(p).unwrap();
            m.check().unwrap();
        }
    }
}

#[test]
fn extreme_munmap_mprotect_mlock_brk() {
    for arch in ARCHES {
        for sem in Semantics::ALL {
            let mut m = machine(arch, sem);
            let ps = m.arch.page_size();
            let ts = m.arch.task_size;
            let w32 = m.arch.bits_per_long == 32;
            let p = m.spawn(0, 0, 0, "/", "x").unwrap();
            let a = m.mmap(p, None, 4 * ps, RW, ANON, None, 0).unwrap();
            let (ok, inval, nomem) = (0, errno::EINVAL, errno::ENOMEM);
            // The highest page-aligned address of a u64 (not a user address on any arch).
            let top = 0u64.wrapping_sub(ps);
            let before = layout(&m, p);
            let munmaps: [(u64, u64, i32); 12] = [
                (a, 0, inval),
                (0, ps, ok),
                (1, ps, inval),
                (a + 1, ps, inval),
                (0, TWO64_1, inval),
                (TWO64_PAGE, ps, inval),
                (1 << 32, ps, if w32 { inval } else { ok }),
                (1 << 63, ps, if ts > 1 << 63 { ok } else { inval }),
                (ts, ps, inval),
                (ts - ps, 2 * ps, inval),
                (ps, TWO64_PAGE, inval),
                // Nothing mapped there: success without change.
                (a + 16 * ps, ps, ok),
            ];
            for (addr, len, want) in munmaps {
                let r = m.munmap(p, addr, len);
                assert_eq!(errno_of(r), want, "{arch} {sem}: munmap({addr:#x}, {len:#x})");
                assert_eq!(layout(&m, p), before, "{arch} {sem}: munmap({addr:#x}, {len:#x})");
                consistent(&m, p);
            }
            // RW is what `a` has: a call that succeeds changes nothing.
            let mprotects: [(u64, u64, i32); 12] = [
                (a + 1, ps, inval),
                (a, 1, ok),
                (0, ps, nomem),
                (1, ps, inval),
                (a, 0, ok),
                (a + 1, 0, inval),
                // PAGE_ALIGN(len) wraps to 0 (64-bit) or len is wider than a word: end <= start.
                (a, TWO64_1, nomem),
                (top, 2 * ps, nomem),
                (1 << 31, ps, nomem),
                (1 << 32, ps, nomem),
                (1 << 63, ps, nomem),
                (a, 1 << 32, nomem),
            ];
            for (addr, len, want) in mprotects {
                let r = m.mprotect(p, addr, len, RW);
                assert_eq!(errno_of(r), want, "{arch} {sem}: mprotect({addr:#x}, {len:#x})");
                assert_eq!(layout(&m, p), before, "{arch} {sem}: mprotect({addr:#x}, {len:#x})");
                consistent(&m, p);
            }
            let mlocks: [(u64, u64, i32); 10] = [
                (0, 1, nomem),
                (1, ps, nomem),
                // len + offset rounds to 0 (PAGE_ALIGN wraps): end == start, nothing to do.
                (a, TWO64_1, if w32 { inval } else { ok }),
                (a, (1 << 32) - 1, if w32 { ok } else { nomem }),
                // end < start.
                (top, 2 * ps, if w32 { nomem } else { inval }),
                (a, 1 << 63, if w32 { inval } else { nomem }),
                (1 << 31, ps, nomem),
                (1 << 63, ps, nomem),
                (a, 0, ok),
                (a + 16 * ps, ps, nomem),
            ];
            for lock in [true, false] {
                for (addr, len, want) in mlocks {
                    let r = m.mlock(p, addr, len, lock);
                    assert_eq!(errno_of(r), want, "{arch} {sem}: mlock({addr:#x}, {len:#x})");
                    assert_eq!(layout(&m, p), before, "{arch} {sem}: mlock({addr:#x}, {len:#x})");
                    consistent(&m, p);
                }
            }
            // A misaligned start locks the page it is in (sys_mlock rounds down).
            m.mlock(p, a + 1, 0, true).unwrap();
            assert!(m.vma_at(m.task_mm(p).unwrap(), a).unwrap().has(VmFlags::LOCKED));
            m.mlock(p, a + 1, 0, false).unwrap();
            assert_eq!(layout(&m, p), before);
            // brk: a break that cannot be had leaves the old one.
            let old = m.mm(m.task_mm(p).unwrap()).brk;
            for b in [TWO64_1, TWO64_PAGE, 1 << 63, 1 << 32, ts, ts - ps, 0] {
                let got = m.brk(p, b).unwrap();
                let grown = !w32 && b == 1 << 32 && m.arch.region_shift == 0;
                if grown {
                    // x86_64: the heap may grow up to 4 GiB (nothing is in the way).
                    assert_eq!(got, b);
                    assert_eq!(m.brk(p, old).unwrap(), old);
                } else {
                    assert_eq!(got, old, "{arch} {sem}: brk({b:#x})");
                }
                assert_eq!(layout(&m, p), before, "{arch} {sem}: brk({b:#x})");
                consistent(&m, p);
            }
            m.exit(p).unwrap();
            m.check().unwrap();
        }
    }
}

#[test]
fn i386_huge_length_is_enomem_and_exit_works() {
    // The report of issue 8: mmap(2**64 - 4096) on i386 made an inverted VMA.
    for arch in ["i386", "i386-pae"] {
        let mut m = machine(arch, Semantics::V5);
        let p = m.spawn(0, 0, 0, "/", "x").unwrap();
        let e = m.mmap(p, None, TWO64_PAGE, RW, ANON, None, 0).unwrap_err();
        assert_eq!(e.errno(), Some(errno::ENOMEM));
        consistent(&m, p);
        m.exit(p).unwrap();
        m.check().unwrap();
    }
}

#[test]
fn munmap_of_everything_and_of_unimplemented_ia64_addresses() {
    for arch in ARCHES {
        let mut m = machine(arch, Semantics::Modern);
        let ps = m.arch.page_size();
        let p = m.spawn(0, 0, 0, "/", "x").unwrap();
        let a = m.mmap(p, None, 8 * ps, RW, ANON, None, 0).unwrap();
        m.touch(p, a, 8 * ps, true).unwrap();
        if m.arch.region_shift != 0 {
            // Inside TASK_SIZE but past region 1's mapped span: nothing there, success.
            let r1_end = (1u64 << 61) + (1u64 << m.arch.va_bits);
            m.munmap(p, r1_end - ps, 4 * ps).unwrap();
            m.munmap(p, r1_end, 1 << 40).unwrap();
            consistent(&m, p);
        }
        // The whole address space, stack included.
        m.munmap(p, 0, m.arch.task_size).unwrap();
        assert!(m.mm(m.task_mm(p).unwrap()).vmas.is_empty());
        consistent(&m, p);
        m.exit(p).unwrap();
        m.check().unwrap();
    }
}

#[test]
fn max_map_count_defaults() {
    assert_eq!(machine("x86_64", Semantics::V5).max_map_count, 65536);
    assert_eq!(machine("x86_64", Semantics::Linux2616).max_map_count, 65536);
    assert_eq!(machine("x86_64", Semantics::Modern).max_map_count, 65530);
}

/// A machine with max_map_count = `max` and a task with `max` VMAs: the stack and `max - 1`
/// mappings of 4 pages that do not merge (alternating protections). Returns the task and the
/// mapping addresses.
fn at_limit(arch: &str, sem: Semantics, max: u32) -> (Machine, Pid, Vec<u64>) {
    let mut m = machine(arch, sem);
    m.max_map_count = max;
    let ps = m.arch.page_size();
    let p = m.spawn(0, 0, 0, "/", "lim").unwrap();
    let mut addrs = Vec::new();
    for i in 0..max - 1 {
        let pr = if i % 2 == 0 { RW } else { prot::READ };
        addrs.push(m.mmap(p, None, 4 * ps, pr, ANON, None, 0).unwrap());
    }
    assert_eq!(m.mm(m.task_mm(p).unwrap()).vmas.map_count(), max as usize);
    (m, p, addrs)
}

#[test]
fn mmap_stops_one_past_max_map_count() {
    for sem in Semantics::ALL {
        let (mut m, p, _) = at_limit("x86_64", sem, 16);
        // do_mmap(): "if (mm->map_count > sysctl_max_map_count)": one more still fits.
        let last = m.mmap(p, None, 4096, prot::EXEC, ANON, None, 0).unwrap();
        assert_eq!(m.mm(m.task_mm(p).unwrap()).vmas.map_count(), 17);
        let before = layout(&m, p);
        let e = m.mmap(p, None, 4096, prot::READ, ANON, None, 0).unwrap_err();
        assert_eq!(e.errno(), Some(errno::ENOMEM), "{sem}");
        // brk's do_brk() has the same test.
        let old = m.mm(m.task_mm(p).unwrap()).brk;
        assert_eq!(m.brk(p, old + 4096).unwrap(), old);
        assert_eq!(layout(&m, p), before);
        consistent(&m, p);
        // Unmapping makes room again.
        m.munmap(p, last, 4096).unwrap();
        m.mmap(p, None, 4096, prot::READ, ANON, None, 0).unwrap();
        m.exit(p).unwrap();
        m.check().unwrap();
    }
}

#[test]
fn splits_past_max_map_count_fail_with_enomem() {
    let ps = 4096;
    for sem in Semantics::ALL {
        // max VMAs: a hole in the middle of one needs two splits, and the first already fails.
        let (mut m, p, addrs) = at_limit("x86_64", sem, 16);
        let a = addrs[3];
        let before = layout(&m, p);
        for what in ["munmap", "mprotect", "mlock", "mmap fixed"] {
            let r = match what {
                "munmap" => m.munmap(p, a + ps, ps),
                "mprotect" => m.mprotect(p, a + ps, ps, prot::NONE),
                "mlock" => m.mlock(p, a + ps, ps, true),
                _ => {
                    m.mmap(p, Some(a + ps), ps, prot::NONE, ANON | mapf::FIXED, None, 0).map(|_| ())
                }
            };
            assert_eq!(errno_of(r), errno::ENOMEM, "{sem}: {what}");
            assert_eq!(layout(&m, p), before, "{sem}: {what}");
            consistent(&m, p);
        }
        // Unmapping the end of a VMA: 6.x lets the split through (the count does not grow),
        // 2.6.16's split_vma() does not. Whole VMAs need no split at all.
        let r = m.munmap(p, a + 3 * ps, ps);
        assert_eq!(errno_of(r), if sem == Semantics::Modern { 0 } else { errno::ENOMEM });
        m.munmap(p, addrs[5], 4 * ps).unwrap();
        consistent(&m, p);
        m.exit(p).unwrap();
        m.check().unwrap();

        // One below the limit: the first split fits, the second (same VMA) does not.
        let (mut m, p, addrs) = at_limit("x86_64", sem, 16);
        m.munmap(p, addrs[0], 4 * ps).unwrap();
        let a = addrs[3];
        let before = layout(&m, p);
        assert_eq!(errno_of(m.mprotect(p, a + ps, ps, prot::NONE)), errno::ENOMEM, "{sem}");
        assert_eq!(errno_of(m.mlock(p, a + ps, ps, true)), errno::ENOMEM, "{sem}");
        assert_eq!(layout(&m, p), before);
        // ... but a hole punched by munmap is: the second split may take map_count one over
        // the limit in 6.x (__split_vma() unchecked); 2.6.16's split_vma() refuses it.
        let r = m.munmap(p, a + ps, ps);
        if sem == Semantics::Modern {
            r.unwrap();
            assert_eq!(m.mm(m.task_mm(p).unwrap()).vmas.map_count(), 16);
        } else {
            assert_eq!(errno_of(r), errno::ENOMEM, "{sem}");
            assert_eq!(layout(&m, p), before);
        }
        consistent(&m, p);
        m.exit(p).unwrap();
        m.check().unwrap();
    }
}

#[test]
fn merges_need_no_room_under_max_map_count() {
    let ps = 4096;
    for sem in Semantics::ALL {
        let (mut m, p, addrs) = at_limit("x86_64", sem, 16);
        // addrs[2] (rw) sits right after addrs[1] (r): making its first page read-only merges
        // that page into addrs[1] (vma_merge() case 5): no new VMA, no ENOMEM.
        let (a1, a2) = (addrs[1], addrs[2]);
        assert_eq!(a2, a1 + 4 * ps);
        m.mprotect(p, a2, ps, prot::READ).unwrap();
        let mm = m.task_mm(p).unwrap();
        assert_eq!((m.vma_at(mm, a1).unwrap().end, m.mm(mm).vmas.map_count()), (a2 + ps, 16));
        // Likewise the last page of addrs[3] (r) into addrs[4] (rw): case 4.
        m.mprotect(p, addrs[3] + 3 * ps, ps, RW).unwrap();
        assert_eq!(m.vma_at(mm, addrs[4]).map(|v| v.start), Some(addrs[3] + 3 * ps));
        assert_eq!(m.mm(mm).vmas.map_count(), 16);
        // Flags that do not change split nothing either.
        m.mprotect(p, addrs[6] + ps, ps, RW).unwrap();
        m.mlock(p, addrs[6] + ps, ps, false).unwrap();
        // A 6.x munmap that cuts the tail of one VMA and the head of the next may go over.
        let r = m.munmap(p, addrs[7] + 3 * ps, 2 * ps);
        if sem == Semantics::Modern {
            r.unwrap();
        } else {
            assert_eq!(errno_of(r), errno::ENOMEM, "{sem}");
        }
        consistent(&m, p);
        m.exit(p).unwrap();
        m.check().unwrap();
    }
}
