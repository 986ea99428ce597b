"""Address spaces and physical memory: layout per arch, page tables, VMAs (mmap, munmap,
mprotect, mlock, special mappings, brk), faults (zero page, COW, page cache, swap-in with
readahead), files and writeback, swap devices, transient page states and the clock. Every
bad input must raise and change nothing."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from conftest import assert_all_free, small, used_pages

import numasim
from numasim import MPOL_INTERLEAVE, SegmentationFault

pytest.register_assert_rewrite("syscall_scene")
from syscall_scene import snapshot  # noqa: E402

# A cost model for the tests of the clock's mechanics: faults cost nothing and every page of
# swap I/O takes exactly 1 us (no seek, 4096 MB/s), whatever the order of the slots.
CLOCK = numasim.CostModel.profile("opteron-2005").with_(
    minor_fault_ns=0, major_fault_ns=0, swap_latency_ns=0, swap_mb_s=4096
)

ENOENT, EFAULT = -errno.ENOENT, -errno.EFAULT


def meminfo_kb(m, field, node=0):
    """One value of /sys/devices/system/node/nodeN/meminfo, in kB."""
    for line in m.meminfo(node).splitlines():
        words = line.split()
        if words[2] == field + ":":
            assert words[0:2] == ["Node", str(node)] and words[4] == "kB"
            return int(words[3])
    raise KeyError(field)


def vmas(t):
    """(start, pages, flags, kind) of every VMA but the stack."""
    ps = t.machine.page_size
    return [
        (v.start, (v.end - v.start) // ps, "|".join(v.flags), v.kind)
        for v in t.vmas()
        if v.kind != "stack"
    ]


# --- layout ----------------------------------------------------------------------------------

# arch: (stack top, start_brk, mmap_base)
LAYOUT = {
    "x86_64": (0x7FFFFFFFF000, 0x600000, 0x2AAAAAAAB000),
    "i386": (0xC0000000, 0x804C000, 0xB8000000),
    "i386-pae": (0xC0000000, 0x804C000, 0xB8000000),
}


@pytest.mark.parametrize("arch", list(LAYOUT))
def test_layout_below_task_size(arch):
    m = small(arch=arch, pages=64)
    t = m.spawn()
    top, start_brk, base = LAYOUT[arch]
    assert m.arch.task_size == top  # the stack sits right below TASK_SIZE
    lay = t.layout()
    assert (lay.start_brk, lay.brk, lay.start_stack, lay.mmap_base) == (
        start_brk,
        start_brk,
        top,
        base,
    )
    (stack,) = t.vmas()
    assert (stack.start, stack.end, stack.kind) == (top - (128 << 10), top, "stack")
    assert stack.flags == ["read", "write", "growsdown"]
    t.touch(top - 1, 1, write=True)
    assert t.page_nodes(top - 4096, 4096).tolist() == [0]
    m.check()


def test_i386_mmap_is_top_down_below_mmap_base():
    m = small(arch="i386", pages=64)
    t = m.spawn()
    ps = m.page_size
    a = t.mmap(4 * ps)
    b = t.mmap(4 * ps)
    assert (a, b) == (0xB8000000 - 4 * ps, 0xB8000000 - 8 * ps)


def test_x86_64_mmap_starts_at_task_unmapped_base():
    m = small(pages=64)
    t = m.spawn()
    ps = m.page_size
    a = t.mmap(4 * ps)
    b = t.mmap(4 * ps)
    assert (a, b) == (0x2AAAAAAAB000, 0x2AAAAAAAB000 + 4 * ps)


@pytest.mark.parametrize("arch", ["ia64", "ia64-4k", "ia64-64k"])
def test_ia64_regions(arch):
    m = small(arch=arch, pages=64)
    ps = m.page_size
    t = m.spawn()
    lay = t.layout()
    start_brk, brk, base = lay.start_brk, lay.brk, lay.mmap_base
    assert (start_brk, brk, base) == (0x6000000000000000 + ps, 0x6000000000000000 + ps, 1 << 61)
    a = t.mmap(4 * ps)
    assert (a, t.mmap(ps)) == (0x2000000000000000, 0x2000000000000000 + 4 * ps)  # region 1
    (stack,) = [v for v in t.vmas() if v.kind == "stack"]
    assert stack.start >> 61 == 3 and stack.end - stack.start == 128 << 10
    # hugetlb areas live in region 4
    h = t.mmap(m.arch.huge_page_size, flags="private|anonymous|hugetlb")
    assert h == 0x8000000000000000
    m.check()


@pytest.mark.parametrize("arch", ["ia64", "ia64-64k"])
def test_ia64_stack_top(arch):
    m = small(arch=arch, pages=64)
    ps = m.page_size
    t = m.spawn()
    rgn_map_limit = (1 << (4 * m.arch.page_shift - 12)) - ps
    assert t.layout().start_stack == 0x6000000000000000 + rgn_map_limit


# --- page tables --------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["i386", "i386-pae", "x86_64", "ia64", "ia64-64k"])
def test_page_tables_per_arch(arch):
    m = small(arch=arch, nodes=2, pages=64)
    ps = m.page_size
    leaf_span = 1 << m.arch.pt_level_shifts[-2]  # what one leaf table maps
    t = m.spawn(cpu=2)
    empty = t.counters().pagetable_bytes
    a = t.mmap(2 * leaf_span + 2 * ps)
    addrs = np.array([a, a + leaf_span - ps, a + leaf_span, a + 2 * leaf_span + ps], np.uint64)
    t.touch_pages(addrs, write=True)
    m.check()
    grown = t.counters()
    assert grown.rss_anon == 4 and grown.pagetable_bytes > empty
    for i, x in enumerate(addrs.tolist()):
        assert t.page_nodes(x, ps).tolist() == [1]
        assert t.read(x, ps).tolist() == [i + 1]
    assert t.read(a + ps, ps).tolist() == [0]
    assert t.resident_by_node() == {0: 0, 1: 4}
    t.munmap(a, 2 * leaf_span + 2 * ps)
    m.check()
    after = t.counters()
    assert (after.rss_anon, after.rss_file, after.swap_ents, after.pagetable_bytes) == (
        0,
        0,
        0,
        empty,
    )
    assert m.node_usage()[1].used == 0


# --- VMAs ----------------------------------------------------------------------------------------


def test_mmap_flags_and_vmas():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    f = m.create_file("/bin/app", 3 * ps)
    a = t.mmap(2 * ps)
    r = t.mmap(ps, prot="r")
    n = t.mmap(ps, prot="none")
    s = t.mmap(ps, flags="shared|anonymous")
    x = t.mmap(3 * ps, prot="rx", flags="private|denywrite", file=f)
    got = {v.start: (v.flags, v.file, v.pgoff) for v in t.vmas()}
    assert got[a] == (["read", "write"], None, a // ps)
    assert got[r] == (["read"], None, r // ps)
    assert got[n] == ([], None, n // ps)
    assert got[s] == (["read", "write", "shared"], "/dev/zero", 0)
    assert got[x] == (["read", "exec", "denywrite"], "/bin/app", 0)
    assert all(v % ps == 0 for v in (a, r, n, s, x))
    m.check()


def test_mprotect_splits_and_merges_and_prot_none_faults():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(8 * ps)
    t.touch(a, 8 * ps, write=True)
    content = t.read(a, 8 * ps).tolist()
    t.mprotect(a + 2 * ps, 2 * ps, "none")
    m.check()
    assert vmas(t) == [
        (a, 2, "read|write", ""),
        (a + 2 * ps, 2, "", ""),
        (a + 4 * ps, 4, "read|write", ""),
    ]
    before = snapshot(m, {"a": (t, a, 8)})
    for write in (False, True):
        with pytest.raises(SegmentationFault, match=r"PROT_NONE|PROT_WRITE") as e:
            t.touch(a, 8 * ps, write=write)
        assert e.value.address == a + 2 * ps
    with pytest.raises(SegmentationFault) as e:
        t.touch_pages([a, a + 3 * ps], write=False)
    assert e.value.address == a + 3 * ps
    assert snapshot(m, {"a": (t, a, 8)}) == before
    # the pages stay where they are and keep their content
    assert t.page_nodes(a, 8 * ps).tolist() == [0] * 8
    assert t.read(a, 8 * ps).tolist() == content
    t.mprotect(a + 2 * ps, 2 * ps, "rw")
    assert vmas(t) == [(a, 8, "read|write", "")]
    t.mprotect(a, 8 * ps, "r")
    with pytest.raises(SegmentationFault, match="PROT_WRITE") as e:
        t.touch(a + 5 * ps, ps, write=True)
    assert e.value.address == a + 5 * ps
    t.touch(a, 8 * ps)  # reading is fine
    t.mprotect(a, 8 * ps, "rw")
    t.touch(a + 5 * ps, ps, write=True)  # reuses the page: no copy
    assert t.page_nodes(a, 8 * ps).tolist() == [0] * 8
    assert t.read(a + 5 * ps, ps)[0] not in content
    assert m.vmstat_counters()["cow_faults"] == 0
    m.check()


def test_munmap_splits_and_mmap_fills_the_hole():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(8 * ps)
    t.touch(a, 8 * ps, write=True)
    content = t.read(a, 8 * ps).tolist()
    t.munmap(a + 3 * ps, 2 * ps)
    m.check()
    assert vmas(t) == [(a, 3, "read|write", ""), (a + 5 * ps, 3, "read|write", "")]
    assert t.page_nodes(a, 8 * ps).tolist() == [0, 0, 0, EFAULT, EFAULT, 0, 0, 0]
    assert m.node_usage()[0].used == 1 + 6
    with pytest.raises(SegmentationFault) as e:
        t.read(a, 8 * ps)
    assert e.value.address == a + 3 * ps
    b = t.mmap(2 * ps, addr=a + 3 * ps)
    assert b == a + 3 * ps
    assert vmas(t) == [(a, 8, "read|write", "")]  # vma_merge
    assert t.read(a, 8 * ps).tolist() == [*content[:3], 0, 0, *content[5:]]
    # MAP_FIXED replaces what was there
    c = t.mmap(2 * ps, addr=a, flags="private|anonymous|fixed")
    assert c == a
    assert t.read(a, 3 * ps).tolist() == [0, 0, content[2]]
    assert m.node_usage()[0].used == 1 + 4
    m.check()


def test_mlock_munlock_and_map_locked():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(8 * ps)
    t.mlock(a + ps, 2 * ps)
    m.check()
    assert vmas(t) == [
        (a, 1, "read|write", ""),
        (a + ps, 2, "read|write|locked", ""),
        (a + 3 * ps, 5, "read|write", ""),
    ]
    # mlock faults the pages in (for write, without storing anything)
    assert t.page_nodes(a, 4 * ps).tolist() == [ENOENT, 0, 0, ENOENT]
    assert t.read(a, 4 * ps).tolist() == [0, 0, 0, 0]
    t.munlock(a + ps, 2 * ps)
    assert vmas(t) == [(a, 8, "read|write", "")]
    b = t.mmap(2 * ps, flags="private|anonymous|locked")
    assert (b, 2, "read|write|locked", "") in vmas(t)
    assert t.page_nodes(b, 2 * ps).tolist() == [0, 0]
    # mlock rounds an unaligned start down (sys_mlock)
    t.mlock(a + 5 * ps + 10, 1)
    assert (a + 5 * ps, 1, "read|write|locked", "") in vmas(t)
    m.check()


def test_populate_faults_pages_in():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn(cpu=2)
    a = t.mmap(3 * ps, flags="private|anonymous|populate")
    assert t.page_nodes(a, 3 * ps).tolist() == [1, 1, 1]
    r = t.mmap(2 * ps, prot="r", flags="private|anonymous|populate")
    # a read-only populate maps the zero page
    assert t.page_nodes(r, 2 * ps).tolist() == [ENOENT, ENOENT]
    assert m.node_usage()[1].used == 3
    m.check()


def test_brk_does_not_grow_a_heap_made_read_only(sem):
    """do_brk() merges the new range into the heap only if vma_merge() can (same vm_flags,
    default policy): a heap mprotect()ed read-only keeps its protection and the break grows
    in a new, writable area (found by the state-machine test)."""
    m = small(semantics=sem, pages=64)
    ps = m.page_size
    t = m.spawn()
    start = t.layout().start_brk
    assert t.brk(start + 1) == start + 1
    t.mprotect(start, ps, "r")
    assert t.brk(start + ps + 2) == start + ps + 2
    t.touch(start + ps, 1, write=True)  # the new page is writable
    with pytest.raises(numasim.SegmentationFault):
        t.touch(start, 1, write=True)  # the old one is still read-only
    heap = [(v.start, v.end, v.flags) for v in t.vmas() if v.kind == "heap"]
    assert heap == [(start, start + ps, ["read"]), (start + ps, start + 2 * ps, ["read", "write"])]


def test_brk_grows_and_shrinks_the_heap():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    start = t.layout().start_brk
    assert t.brk(0) == start  # below start_brk: the break does not move
    assert t.brk(start + 3 * ps + 5) == start + 3 * ps + 5
    assert vmas(t) == [(start, 4, "read|write", "heap")]
    t.touch(start, 3 * ps + 5, write=True)
    assert t.page_nodes(start, 4 * ps).tolist() == [0] * 4
    assert m.node_usage()[0].used == 1 + 4
    assert t.brk(start + ps) == start + ps
    assert vmas(t) == [(start, 1, "read|write", "heap")]
    assert m.node_usage()[0].used == 1 + 1
    # growing again gives zero-filled memory
    t.brk(start + 2 * ps)
    assert t.read(start, 2 * ps)[1] == 0
    # the break cannot grow into another mapping
    t.mmap(ps, addr=start + 8 * ps, flags="private|anonymous|fixed")
    assert t.brk(start + 10 * ps) == start + 2 * ps
    assert t.layout().brk == start + 2 * ps
    m.check()


def test_special_mappings():
    m = small(semantics="v5", pages=64)
    ps = m.page_size
    t = m.spawn()
    io = t.mmap(2 * ps, flags="shared|io")
    (v,) = [x for x in t.vmas() if x.start == io]
    assert v.flags == ["read", "write", "shared", "io", "reserved", "pfnmap"]
    t.touch(io, 2 * ps, write=True)
    assert t.page_nodes(io, 2 * ps).tolist() == [ENOENT, ENOENT]  # no struct page
    assert t.read(io, 2 * ps).tolist() == [0, 0]
    assert m.node_usage()[0].used == 1
    with pytest.raises(OSError) as e:
        t.mmap(ps, flags="private|denywrite")
    assert e.value.errno == errno.EBADF
    seg = m.shmget(2 * ps)
    s1 = t.mmap(2 * ps, flags="shm", file=seg)
    (v,) = [x for x in t.vmas() if x.start == s1]
    assert (v.flags, v.file) == (["read", "write", "shared", "shm"], "/SYSV")
    t.touch(s1, 2 * ps, write=True)
    u = m.spawn(cpu=2)
    s2 = u.mmap(2 * ps, flags="shm", file=seg)
    assert u.read(s2, 2 * ps).tolist() == t.read(s1, 2 * ps).tolist() == [1, 2]
    u.touch(s2, 2 * ps)
    assert u.page_nodes(s2, 2 * ps).tolist() == [0, 0]  # the same pages
    m.check()
    t.exit()
    u.exit()
    assert_all_free(m, cached=2)  # the segment outlives its attaches
    assert seg.cached_pages == 2
    m.shm_rmid(seg)
    assert_all_free(m)
    with pytest.raises(OSError) as e:
        m.shm_rmid(seg)
    assert e.value.errno == errno.EINVAL


def test_hugetlb_mappings():
    m = small(semantics="modern", pages=2048)
    ps, hs = m.page_size, m.arch.huge_page_size
    n = hs // ps
    t = m.spawn(cpu=2)
    h = t.mmap(2 * hs, flags="private|anonymous|hugetlb")
    assert h % hs == 0
    (v,) = [x for x in t.vmas() if x.start == h]
    assert v.flags == ["read", "write", "hugetlb"]
    t.touch(h + 5 * ps, ps, write=True)
    m.check()
    # the whole huge page is allocated at once, on the local node
    assert t.page_nodes(h, 2 * hs).tolist() == [1] * n + [ENOENT] * n
    assert m.node_usage()[1].used == n
    assert t.read(h + 5 * ps, ps).tolist() == [1]
    assert m.swap_out(t, h, 2 * hs) == 0  # never swapped
    for bad in (lambda: t.munmap(h, ps), lambda: t.mprotect(h, ps, "r")):
        with pytest.raises(OSError) as e:
            bad()
        assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        t.mmap(ps, flags="private|anonymous|hugetlb")
    assert e.value.errno == errno.EINVAL
    t.munmap(h, hs)
    assert m.node_usage()[1].used == 0
    t.exit()
    assert_all_free(m)


# --- faults ------------------------------------------------------------------------------------


def test_read_fault_maps_the_zero_page(sem):
    m = small(semantics=sem, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=2)
    a = t.mmap(4 * ps)
    assert t.page_nodes(a, 4 * ps).tolist() == [ENOENT] * 4
    t.touch(a, 4 * ps)
    m.check()
    zero = EFAULT if sem == "modern" else ENOENT
    assert t.page_nodes(a, 4 * ps).tolist() == [zero] * 4
    assert t.read(a, 4 * ps).tolist() == [0] * 4
    assert used_pages(m) == 1  # nothing allocated
    assert t.counters().rss_anon == 0 and t.resident_by_node() == {0: 0, 1: 0}
    t.touch(a + ps, ps, write=True)  # COW from the zero page: a page on the local node
    assert t.page_nodes(a, 4 * ps).tolist() == [zero, 1, zero, zero]
    assert t.read(a, 4 * ps).tolist() == [0, 1, 0, 0]
    assert m.vmstat_counters()["cow_faults"] == 1
    m.check()


def test_views_are_numpy_arrays():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn(cpu=2)
    a = t.mmap(3 * ps)
    t.touch(a + ps, ps, write=True)
    nodes, content = t.page_nodes(a, 3 * ps), t.read(a, 3 * ps)
    assert (nodes.dtype, nodes.shape, content.dtype, content.shape) == (
        np.dtype(np.int32),
        (3,),
        np.dtype(np.uint32),
        (3,),
    )
    assert nodes.tolist() == [ENOENT, 1, ENOENT] and content.tolist() == [0, 1, 0]
    # byte ranges cover every page they touch
    assert t.page_nodes(a + ps - 1, 2).tolist() == [ENOENT, 1]
    assert t.read(a + ps - 1, 2).tolist() == [0, 1]
    assert t.page_nodes(a + 3 * ps, ps).tolist() == [EFAULT]  # nothing mapped there


def test_first_touch_is_local_and_follows_the_cpu():
    m = small(nodes=4, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=5)
    assert (t.cpu, t.node) == (5, 2)
    a = t.mmap(4 * ps)
    t.touch(a, 2 * ps, write=True)
    t.migrate_to_cpu(7)
    assert (t.cpu, t.node) == (7, 3)
    t.touch(a, 4 * ps, write=True)  # present pages stay; new ones go to the new node
    assert t.page_nodes(a, 4 * ps).tolist() == [2, 2, 3, 3]
    with pytest.raises(ValueError, match="cpu 8 does not exist"):
        t.migrate_to_cpu(8)
    assert t.cpu == 7
    m.check()


def test_touch_pages_in_order_and_all_or_nothing():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(4 * ps)
    t.touch_pages(np.array([a + 3 * ps, a + 10, a + 3 * ps + 7], np.uint64), write=True)
    # one store per address, in order: the page at a+3ps is written twice
    assert t.read(a, 4 * ps).tolist() == [2, 0, 0, 3]
    before = snapshot(m, {"a": (t, a, 4)})
    with pytest.raises(SegmentationFault) as e:
        t.touch_pages([a + ps, a + 8 * ps], write=True)
    assert e.value.address == a + 8 * ps
    with pytest.raises(ValueError, match="one-dimensional"):
        t.touch_pages(np.zeros((2, 2), np.uint64))
    assert snapshot(m, {"a": (t, a, 4)}) == before
    m.check()


# --- bad inputs change nothing ----------------------------------------------------------------

TASK_SIZE = 0x7FFFFFFFF000


def bad_calls(m, t, a, f):
    ps = m.page_size
    hole = a + 16 * ps
    return [
        (lambda: t.munmap(a + 1, ps), errno.EINVAL),
        (lambda: t.munmap(a, 0), errno.EINVAL),
        (lambda: t.mprotect(a + 1, ps, "r"), errno.EINVAL),
        (lambda: t.mprotect(a, ps, "rwq"), ValueError),
        (lambda: t.mprotect(hole, ps, "r"), errno.ENOMEM),
        (lambda: t.mprotect(a, 8 * ps, "r"), errno.ENOMEM),  # runs into the hole
        (lambda: t.mprotect(TASK_SIZE, ps, "r"), errno.ENOMEM),
        (lambda: t.mlock(hole, ps), errno.ENOMEM),
        (lambda: t.mlock(TASK_SIZE, ps), errno.ENOMEM),
        (lambda: t.munlock(hole, ps), errno.ENOMEM),
        (lambda: t.mmap(0), errno.EINVAL),
        (lambda: t.mmap(ps, flags="private|anonymous|bogus"), ValueError),
        (lambda: t.mmap(ps, prot="rwz"), ValueError),
        (lambda: t.mmap(ps, flags="anonymous"), errno.EINVAL),
        (lambda: t.mmap(ps, flags="shared|private|anonymous"), errno.EINVAL),
        (lambda: t.mmap(ps, flags="private"), errno.EBADF),
        (lambda: t.mmap(ps, flags="private", file=f, offset=1), errno.EINVAL),
        (lambda: t.mmap(ps, flags="private|denywrite"), errno.EBADF),
        (lambda: t.mmap(ps, addr=TASK_SIZE, flags="private|anonymous|fixed"), errno.ENOMEM),
        (lambda: t.mmap(ps, addr=a + 1, flags="private|anonymous|fixed"), errno.EINVAL),
        (lambda: t.mmap(1 << 63), errno.ENOMEM),
        (lambda: t.touch(a, 0), ValueError),
        (lambda: t.touch(hole, ps), SegmentationFault),
        (lambda: t.touch(TASK_SIZE, ps), SegmentationFault),
        (lambda: t.touch(a, 8 * ps, write=True), SegmentationFault),
        (lambda: t.read(a, 0), ValueError),
        (lambda: t.read(hole, ps), SegmentationFault),
        (lambda: m.swap_out(t, a + 1, ps), errno.EINVAL),
        (lambda: m.swap_out(t, a, 0), errno.EINVAL),
        (lambda: m.swap_out(t, TASK_SIZE, ps), errno.ENOMEM),
        (lambda: m.set_page_state(t, a, ps, "bogus"), ValueError),
        (lambda: m.set_page_state(t, a + 1, ps, "locked"), errno.EINVAL),
        (lambda: m.set_page_state(t, a, 0, "locked"), errno.EINVAL),
        (lambda: m.set_page_state(t, a, 4 * ps, "locked"), errno.ENOENT),  # page 3 not present
        (lambda: t.mbind(a + 1, ps, numasim.MPOL_BIND, [0]), errno.EINVAL),
        # Bit 64 read with maxnode 66: get_nodes() rejects a set bit beyond MAX_NUMNODES.
        (lambda: t.mbind(a, ps, numasim.MPOL_BIND, [64]), errno.EINVAL),
        (lambda: t.mbind(a, ps, numasim.MPOL_BIND, [5]), errno.EINVAL),
        (lambda: t.mbind(hole, ps, numasim.MPOL_BIND, [0]), errno.EFAULT),
        (lambda: t.set_mempolicy(9, [0]), errno.EINVAL),
        (lambda: t.set_mempolicy(numasim.MPOL_BIND, []), errno.EINVAL),
        (lambda: t.migrate_to_cpu(99), ValueError),
        (lambda: t.attach_cpuset("/nope"), errno.ENOENT),
        (lambda: t.touch_pages([a, hole]), SegmentationFault),
        (lambda: m.create_file("/f", ps), errno.EEXIST),
        (lambda: m.create_file("relative", ps), ValueError),
        (lambda: m.create_file("/empty", 0), ValueError),
        (lambda: m.spawn(cpu=99), ValueError),
        (lambda: m.spawn(cpuset="/nope"), errno.ENOENT),
        (lambda: m.writeback(numasim.File(m, 99, "/x")), errno.EBADF),
    ]


def test_zero_length_mprotect_and_mlock_are_no_ops(sem):
    """sys_mprotect and do_mlock return 0 when end == start (mm/mprotect.c, mm/mlock.c)."""
    m = small(semantics=sem, pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(2 * ps)
    before = t.vmas()
    t.mprotect(a, 0, "r")
    t.mlock(a, 0)
    t.munlock(a, 0)
    assert t.vmas() == before
    with pytest.raises(OSError) as e:
        t.mprotect(a + 1, 0, "r")  # the alignment check comes first
    assert e.value.errno == errno.EINVAL


def test_bad_inputs_raise_and_change_nothing(sem):
    m = small(semantics=sem, pages=64)
    ps = m.page_size
    t = m.spawn()
    f = m.create_file("/f", 2 * ps)
    a = t.mmap(6 * ps)
    t.munmap(a + 4 * ps, ps)  # a hole at page 4
    t.touch(a, 3 * ps, write=True)
    calls = bad_calls(m, t, a, f)
    before = snapshot(m, {"a": (t, a, 4), "past the hole": (t, a + 5 * ps, 1)})
    for i, (call, want) in enumerate(calls):
        if isinstance(want, int):
            with pytest.raises(OSError) as e:
                call()
            assert e.value.errno == want, (i, e.value)
            assert e.value.__notes__, i  # the core's detail
        else:
            with pytest.raises(want):
                call()
        assert snapshot(m, {"a": (t, a, 4), "past the hole": (t, a + 5 * ps, 1)}) == before, i
        m.check()


def test_munmap_beyond_task_size_is_einval():
    m = small(pages=64)
    t = m.spawn()
    for addr in (TASK_SIZE, TASK_SIZE - 4096):
        with pytest.raises(OSError) as e:
            t.munmap(addr, 2 * 4096)
        assert e.value.errno == errno.EINVAL


# --- files -------------------------------------------------------------------------------------


def test_page_cache_is_shared_by_every_mapper(sem):
    m = small(semantics=sem, nodes=2, pages=64)
    ps = m.page_size
    f = m.create_file("/data", 3 * ps + 1)
    assert (f.pages, f.cached_pages, f.path) == (4, 0, "/data")
    t = m.spawn(cpu=0)
    u = m.spawn(cpu=2)
    s = t.mmap(4 * ps, flags="shared", file=f)
    p = u.mmap(4 * ps, flags="private", file=f)
    q = u.mmap(4 * ps, flags="shared", file=f)
    t.touch(s, 4 * ps)
    assert f.cached_pages == 4
    assert t.read(s, 4 * ps).tolist() == [0] * 4
    u.touch(q, 4 * ps)  # found in the page cache: the pages t read in, on node 0
    assert u.page_nodes(q, 4 * ps).tolist() == [0] * 4
    t.touch(s + ps, ps, write=True)
    assert t.read(s, 4 * ps).tolist() == u.read(q, 4 * ps).tolist() == [0, 1, 0, 0]
    # a private mapping sees the file until it writes: then it has its own copy
    assert u.read(p, 4 * ps).tolist() == [0, 1, 0, 0]
    u.touch(p + ps, ps, write=True)
    assert u.read(p, 4 * ps).tolist() == [0, 2, 0, 0]
    assert u.page_nodes(p, 4 * ps).tolist() == [ENOENT, 1, ENOENT, ENOENT]
    assert t.read(s, 4 * ps).tolist() == [0, 1, 0, 0]
    assert m.vmstat_counters()["cow_faults"] == 1
    m.check()
    t.exit()
    u.exit()
    assert_all_free(m, cached=4)  # files keep their page cache
    w = m.spawn(cpu=2)
    r = w.mmap(4 * ps, prot="r", flags="shared", file=f)
    assert w.read(r, 4 * ps).tolist() == [0, 1, 0, 0]


def test_shared_writes_dirty_pages_and_writeback_cleans_them():
    m = small(pages=64)
    ps = m.page_size
    f = m.create_file("/data", 4 * ps)
    g = m.create_file("/other", ps)
    t = m.spawn()
    s = t.mmap(4 * ps, flags="shared", file=f)
    o = t.mmap(ps, flags="shared", file=g)
    t.touch(s, 2 * ps, write=True)
    t.touch(o, ps, write=True)
    t.touch(s + 2 * ps, 2 * ps)

    def dirty_kb():
        return meminfo_kb(m, "Dirty")

    assert dirty_kb() == 3 * 4
    v0 = m.vmstat_counters()["pgpgout"]
    assert m.writeback(g) == 1
    assert dirty_kb() == 2 * 4
    assert m.writeback() == 2
    kb = ps // 1024  # /proc/vmstat counts pgpgout in kilobytes
    assert (dirty_kb(), m.writeback(), m.vmstat_counters()["pgpgout"] - v0) == (0, 0, 3 * kb)
    t.touch(s + 3 * ps, ps, write=True)  # the PTE is still writable: dirty again
    assert m.writeback(f) == 1
    assert t.read(s, 4 * ps).tolist() == [1, 2, 0, 4]
    m.check()


def test_access_beyond_the_end_of_a_file_is_sigbus():
    m = small(pages=64)
    ps = m.page_size
    f = m.create_file("/short", 2 * ps)
    t = m.spawn()
    s = t.mmap(4 * ps, flags="shared", file=f)
    before = snapshot(m, {"s": (t, s, 2)})
    with pytest.raises(SegmentationFault, match="SIGBUS") as e:
        t.touch(s, 4 * ps)
    assert e.value.address == s + 2 * ps
    assert snapshot(m, {"s": (t, s, 2)}) == before
    assert f.cached_pages == 0


def test_swapped_out_file_pages_are_written_and_reread():
    m = small(pages=64)
    ps = m.page_size
    f = m.create_file("/data", 4 * ps)
    t = m.spawn()
    s = t.mmap(4 * ps, flags="shared", file=f)
    t.touch(s, 4 * ps)
    t.touch(s + ps, ps, write=True)
    v0 = m.vmstat_counters()
    assert m.swap_out(t, s, 4 * ps) == 4
    assert (f.cached_pages, m.swap_info()[0].used) == (0, 0)
    v1 = m.vmstat_counters()
    kb = ps // 1024  # /proc/vmstat counts pgpgin/pgpgout in kilobytes
    assert (v1["pgpgout"] - v0["pgpgout"], v1["pswpout"] - v0["pswpout"]) == (kb, 0)
    assert t.page_nodes(s, 4 * ps).tolist() == [ENOENT] * 4
    assert t.read(s, 4 * ps).tolist() == [0, 1, 0, 0]
    t.touch(s + ps, ps)
    v2 = m.vmstat_counters()
    assert (v2["pgmajfault"] - v1["pgmajfault"], v2["pgpgin"] - v1["pgpgin"]) == (1, kb)
    assert t.read(s, 4 * ps).tolist() == [0, 1, 0, 0]
    m.check()


def test_writeback_leaves_shared_memory_alone():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    s = t.mmap(4 * ps, flags="shared|anonymous")
    t.touch(s, 4 * ps, write=True)
    assert m.writeback() == 0
    assert m.vmstat_counters()["pswpout"] == 0


# --- swap ----------------------------------------------------------------------------------------


def swapped(m, n, cpu=0):
    """A task with n written pages, all swapped out (slots 1..n of a fresh device)."""
    ps = m.page_size
    t = m.spawn(cpu=cpu)
    a = t.mmap(n * ps)
    t.touch(a, n * ps, write=True)
    content = t.read(a, n * ps).tolist()
    assert m.swap_out(t, a, n * ps) == n
    return t, a, content


def test_swap_out_and_back(sem):
    m = small(semantics=sem, pages=64, costs=CLOCK)
    ps = m.page_size
    t, a, content = swapped(m, 12)
    m.check()
    assert m.swap_info()[0].used == 12
    assert t.page_nodes(a, 12 * ps).tolist() == [ENOENT] * 12
    assert t.read(a, 12 * ps).tolist() == content
    assert t.counters().swap_ents == 12 and t.counters().rss_anon == 0
    assert m.node_usage()[0].used == 1
    assert (m.vmstat_counters()["pswpout"], m.now_ns) == (12, 12 * 1_000)
    # fault on slot 1: the aligned cluster 0..7 without the header slot 0 is read
    t.touch(a, ps)
    m.check()
    v = m.vmstat_counters()
    assert (v["pswpin"], v["pgmajfault"], m.swap_cache_pages) == (7, 1, 7)
    assert t.page_nodes(a, 2 * ps).tolist() == [0, ENOENT]  # only the faulting page is mapped
    assert m.node_usage()[0].used == 1 + 7
    assert m.now_ns == 12 * 1_000 + 7 * 1_000
    # slots 8..15: 8..12 are in use
    t.touch(a + 9 * ps, ps)
    assert m.vmstat_counters()["pswpin"] == 12
    t.touch(a, 12 * ps)  # the rest comes from the swap cache
    assert m.vmstat_counters()["pswpin"] == 12
    assert t.page_nodes(a, 12 * ps).tolist() == [0] * 12
    assert t.read(a, 12 * ps).tolist() == content
    m.check()
    t.exit()
    assert_all_free(m)


@pytest.mark.parametrize(
    ("page_cluster", "fault_page", "reads"),
    [(0, 0, 1), (0, 5, 1), (1, 0, 1), (1, 2, 2), (2, 0, 3), (2, 5, 4), (3, 9, 5), (4, 3, 12)],
)
def test_readahead_window(page_cluster, fault_page, reads):
    m = small(pages=64, page_cluster=page_cluster)
    ps = m.page_size
    t, a, content = swapped(m, 12)  # page i is in slot i + 1
    t.touch(a + fault_page * ps, ps)
    assert m.vmstat_counters()["pswpin"] == reads
    assert m.swap_cache_pages == reads
    assert t.read(a, 12 * ps).tolist() == content
    m.check()


def test_readahead_allocates_by_policy_at_increasing_addresses():
    # swapin_readahead(): the page of slot first+i is allocated at addr + i*PAGE_SIZE, addr
    # being the faulting address, with the policy of the VMA found there (task policy past it)
    m = small(nodes=2, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=0)
    a = t.mmap(8 * ps)
    t.mbind(a, 8 * ps, MPOL_INTERLEAVE, [0, 1])
    t.touch(a, 8 * ps, write=True)
    pgoff = a // ps
    own = [[0, 1][(pgoff + i) % 2] for i in range(8)]
    assert t.page_nodes(a, 8 * ps).tolist() == own
    content = t.read(a, 8 * ps).tolist()
    assert m.swap_out(t, a, 8 * ps) == 8
    t.touch(a + 3 * ps, ps)  # slot 4: cluster 1..7, allocated at a+3ps, a+4ps, ...
    t.touch(a, 8 * ps)
    want = [[0, 1][(pgoff + 3 + i) % 2] for i in range(5)] + [0, 0] + [own[7]]
    assert t.page_nodes(a, 8 * ps).tolist() == want
    assert t.read(a, 8 * ps).tolist() == content
    m.check()


def test_swap_in_behind_a_hole_in_the_readahead_window():
    m = small(pages=64)
    ps = m.page_size
    t, a, content = swapped(m, 8)
    t.munmap(a + ps, ps)  # frees slot 2
    t.touch(a + 4 * ps, ps)  # slot 5: valid_swaphandles stops at slot 2
    assert t.page_nodes(a + 4 * ps, ps).tolist() == [0]
    assert t.read(a + 4 * ps, ps).tolist() == [content[4]]
    m.check()


def test_swap_full_keeps_the_remaining_pages():
    m = small(pages=64, swap=3 * 4096)
    ps = m.page_size
    assert m.swap_info()[0].pages == 3
    t = m.spawn()
    a = t.mmap(8 * ps)
    t.touch(a, 8 * ps, write=True)
    content = t.read(a, 8 * ps).tolist()
    assert m.swap_out(t, a, 8 * ps) == 3
    assert t.page_nodes(a, 8 * ps).tolist() == [ENOENT] * 3 + [0] * 5
    assert m.swap_info()[0].used == 3
    assert m.swap_out(t, a, 8 * ps) == 0
    assert t.read(a, 8 * ps).tolist() == content
    m.check()


def test_no_swap_device_keeps_anonymous_pages():
    m = small(pages=64, swap=0)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(4 * ps)
    t.touch(a, 4 * ps, write=True)
    assert m.swap_info() == []
    assert m.swap_out(t, a, 4 * ps) == 0
    assert t.page_nodes(a, 4 * ps).tolist() == [0] * 4
    m.check()


def test_vm_swap_full_frees_the_slot_of_a_page_faulted_back():
    # do_swap_page(): with more than half of swap in use, remove_exclusive_swap_page()
    m = small(pages=64, swap=4 * 4096)
    ps = m.page_size
    t, a, content = swapped(m, 4)
    t.touch(a, ps)
    assert (m.swap_info()[0].used, m.swap_cache_pages) == (3, 3)
    assert t.read(a, 4 * ps).tolist() == content
    m.check()


def test_locked_pages_are_not_swapped_even_through_another_mapping():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(2 * ps, flags="private|anonymous|locked")
    t.touch(a, 2 * ps, write=True)
    assert m.swap_out(t, a, 2 * ps) == 0
    c = t.fork()  # VM_LOCKED is not inherited
    assert "locked" not in next(v for v in c.vmas() if v.start == a).flags
    assert m.swap_out(c, a, 2 * ps) == 0  # try_to_unmap meets the parent's VM_LOCKED
    t.munlock(a, 2 * ps)
    assert m.swap_out(c, a, 2 * ps) == 2
    assert t.page_nodes(a, 2 * ps).tolist() == c.page_nodes(a, 2 * ps).tolist() == [ENOENT] * 2
    assert m.swap_info()[0].used == 2
    m.check()
    c.exit()
    t.exit()
    assert_all_free(m)


class TestSharedMemorySwap:
    """shmem pages (MAP_SHARED|MAP_ANONYMOUS, SysV shm) go to swap through shmem_writepage(),
    which needs a swap slot (get_swap_page) and redirties the page when there is none. 2.6
    moves the page to the swap cache in one reclaim pass (no I/O) and writes it in the next;
    6.x writes it in the same pass (mm/shmem.c; issue 9, item 8)."""

    @pytest.mark.parametrize("flags", ["shared|anonymous", "shm"])
    def test_shmem_swap_uses_swap_slots(self, sem, flags):
        m = small(semantics=sem, pages=64)
        ps = m.page_size
        t = m.spawn()
        s = t.mmap(4 * ps, flags=flags)
        t.touch(s, 4 * ps, write=True)
        content = t.read(s, 4 * ps).tolist()
        used = used_pages(m)
        if sem != "modern":
            assert m.swap_out(t, s, 4 * ps) == 0  # into the swap cache, unmapped, no I/O
            assert (m.swap_info()[0].used, m.swap_cache_pages) == (4, 4)
            assert m.vmstat_counters()["pswpout"] == 0
            assert used_pages(m) == used
            assert t.page_nodes(s, 4 * ps).tolist() == [ENOENT] * 4
        assert m.swap_out(t, s, 4 * ps) == 4
        assert (m.swap_info()[0].used, m.swap_cache_pages) == (4, 0)
        assert m.vmstat_counters()["pswpout"] == 4
        assert used_pages(m) == used - 4
        assert t.read(s, 4 * ps).tolist() == content
        t.touch(s, ps)
        v = m.vmstat_counters()
        assert (v["pswpin"], v["pgmajfault"]) == (4, 1)  # the cluster of slots 1..4
        assert m.swap_info()[0].used == 3
        assert t.read(s, 4 * ps).tolist() == content

    def test_shmem_stays_without_swap(self, sem):
        m = small(semantics=sem, pages=64, swap=0)
        ps = m.page_size
        t = m.spawn()
        s = t.mmap(4 * ps, flags="shared|anonymous")
        t.touch(s, 4 * ps, write=True)
        used = used_pages(m)
        assert m.swap_out(t, s, 4 * ps) == 0
        assert used_pages(m) == used
        assert m.vmstat_counters()["pswpout"] == 0
        # 6.x reclaim does not scan the anon LRU without free swap; 2.6 unmaps the pages
        # (try_to_unmap() comes before pageout()), then shmem_writepage() finds no slot and
        # reactivates them: still in the page cache, mapped again by a minor fault.
        want = [0] * 4 if sem == "modern" else [ENOENT] * 4
        assert t.page_nodes(s, 4 * ps).tolist() == want
        t.touch(s, 4 * ps)
        assert t.page_nodes(s, 4 * ps).tolist() == [0] * 4
        assert m.vmstat_counters()["pgmajfault"] == 0

    def test_shmem_content_survives_swap_out(self):
        m = small(pages=64)
        ps = m.page_size
        t = m.spawn()
        s = t.mmap(4 * ps, flags="shared|anonymous")
        t.touch(s, 4 * ps, write=True)
        c = t.fork()
        m.swap_out(t, s, 4 * ps)
        assert c.read(s, 4 * ps).tolist() == t.read(s, 4 * ps).tolist() == [1, 2, 3, 4]
        c.touch(s, ps, write=True)
        assert t.read(s, ps).tolist() == [5]
        m.check()


# --- transient page states and the clock -----------------------------------------------------


def test_clock_and_timed_page_states():
    m = small(pages=64, costs=CLOCK)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(8 * ps)
    t.touch(a, 8 * ps, write=True)
    assert m.now_ns == 0
    m.advance(5)
    assert m.now_ns == 5
    assert m.set_page_state(t, a, 2 * ps, "locked", duration_ns=1000) == 2
    assert m.set_page_state(t, a + 2 * ps, 2 * ps, "writeback", duration_ns=5000) == 2
    assert m.set_page_state(t, a + 4 * ps, ps, "pinned") == 1
    m.check()
    assert meminfo_kb(m, "Writeback") == 8
    # locked or under writeback: reclaim leaves them; pinned (an extra reference): unmapped
    # into the swap cache, not written (pageout(): PAGE_KEEP) and kept
    assert m.swap_out(t, a, 8 * ps) == 3
    assert t.page_nodes(a, 8 * ps).tolist() == [0] * 4 + [ENOENT] * 4
    assert m.now_ns == 5 + 3 * 1_000  # 1 us per swap write
    assert (m.swap_info()[0].used, m.swap_cache_pages) == (4, 1)
    m.advance(5000)
    assert m.swap_out(t, a, 8 * ps) == 4
    assert t.page_nodes(a, 8 * ps).tolist() == [ENOENT] * 8
    assert meminfo_kb(m, "Writeback") == 0
    assert m.vmstat_counters()["pswpout"] == 7
    # the pinned page stays in the swap cache, unmapped: set_page_state finds no page there
    with pytest.raises(FileNotFoundError):
        m.set_page_state(t, a + 4 * ps, ps, "pinned", on=False)
    t.touch(a + 4 * ps, ps)  # a minor fault maps the same page again
    assert m.vmstat_counters()["pgmajfault"] == 0
    assert m.set_page_state(t, a + 4 * ps, ps, "pinned", on=False) == 1
    assert m.swap_out(t, a, 8 * ps) == 1
    assert m.vmstat_counters()["pswpout"] == 8
    m.check()


def test_reclaim_of_pinned_pages_32_16(sem):
    """Issue 9, item 6, checked on Linux 6.1 and 6.12: 32 pages paged out, 16 of them with a
    get_user_pages (FOLL_GET) reference. The kernel unmaps all 32 (the pinned ones go to the
    swap cache unwritten: pageout() returns PAGE_KEEP) and migrate_pages then returns 0; the
    same shrink_list text holds in 2.6.14 and 2.6.16."""
    m = small(semantics=sem, pages=256)
    ps = m.page_size
    t = m.spawn(cpu=0)
    a = t.mmap(32 * ps)
    t.touch(a, 32 * ps, write=True)
    content = t.read(a, 32 * ps).tolist()
    assert m.set_page_state(t, a + 16 * ps, 16 * ps, "pinned") == 16
    assert m.swap_out(t, a, 32 * ps) == 16
    assert t.page_nodes(a, 32 * ps).tolist() == [ENOENT] * 32
    assert (m.swap_info()[0].used, m.swap_cache_pages) == (32, 16)
    assert m.vmstat_counters()["pswpout"] == 16
    assert t.syscall("migrate_pages", 0, m.arch.max_numnodes + 1, [0], [1]) == 0
    assert m.last_report.scanned == 0
    t.touch(a + 16 * ps, 16 * ps)  # minor faults: the pages are in the swap cache
    v = m.vmstat_counters()
    assert (v["pgmajfault"], v["pswpin"]) == (0, 0)
    assert t.page_nodes(a + 16 * ps, 16 * ps).tolist() == [0] * 16
    assert t.read(a, 32 * ps).tolist() == content


def test_timed_states_end_when_the_simulator_spends_the_time():
    m = small(pages=64, costs=CLOCK)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(4 * ps)
    t.touch(a, 4 * ps, write=True)
    m.set_page_state(t, a, ps, "locked", duration_ns=1000)
    m.set_page_state(t, a + ps, ps, "writeback", duration_ns=1000)
    assert m.swap_out(t, a, 4 * ps) == 2
    assert m.now_ns == 2 * 1_000
    assert meminfo_kb(m, "Writeback") == 0
    assert m.swap_out(t, a, 4 * ps) == 2


def test_page_freed_under_writeback_is_freed_when_the_io_ends():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(ps)
    t.touch(a, ps, write=True)  # the new page waits in the CPU's pagevec
    m.set_page_state(t, a, ps, "writeback", duration_ns=10)
    t.exit()
    assert used_pages(m) == 2  # still under I/O
    m.advance(10)
    m.drain()
    assert_all_free(m)


def test_page_freed_under_writeback_on_the_lru():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(ps)
    t.touch(a, ps, write=True)
    m.drain()
    m.set_page_state(t, a, ps, "writeback", duration_ns=10)
    t.exit()
    assert used_pages(m) == 2
    m.advance(10)
    assert_all_free(m)


def test_untimed_lock_holds_until_lifted():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(2 * ps)
    t.touch(a, 2 * ps, write=True)
    m.set_page_state(t, a, 2 * ps, "locked")
    m.advance(10**12)
    assert m.swap_out(t, a, 2 * ps) == 0
    m.set_page_state(t, a, ps, "locked", on=False)
    assert m.swap_out(t, a, 2 * ps) == 1
    m.check()


def test_pagevec_and_lru():
    m = small(pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(20 * ps)
    t.touch(a, 20 * ps, write=True)

    def active_kb():
        return meminfo_kb(m, "Active")

    assert active_kb() == 14 * 4  # PAGEVEC_SIZE pages reached the LRU, 6 wait in the pagevec
    m.drain()
    assert active_kb() == 20 * 4
    assert m.set_page_state(t, a, 2 * ps, "pagevec") == 2
    assert active_kb() == 18 * 4
    m.set_page_state(t, a, ps, "pagevec", on=False)  # lru_add_drain_all
    assert active_kb() == 20 * 4
    m.check()


def test_young_and_dirty_states():
    m = small(pages=64)
    ps = m.page_size
    f = m.create_file("/d", 2 * ps)
    t = m.spawn()
    s = t.mmap(2 * ps, flags="shared", file=f)
    t.touch(s, 2 * ps)
    assert m.set_page_state(t, s, 2 * ps, "dirty") == 2
    assert meminfo_kb(m, "Dirty") == 8
    pgpgout = m.vmstat_counters()["pgpgout"]
    m.set_page_state(t, s, ps, "dirty", on=False)  # a page-cache page is written back
    assert m.vmstat_counters()["pgpgout"] == pgpgout + ps // 1024  # kilobytes
    assert meminfo_kb(m, "Dirty") == 4
    assert m.set_page_state(t, s, 2 * ps, "young") == 2
    assert m.swap_out(t, s, 2 * ps) == 2  # reclaim here ignores references
    assert t.read(s, 2 * ps).tolist() == [0, 0]
    m.check()


def test_cleaning_a_swap_cache_page_writes_its_slot_so_reclaim_keeps_its_content():
    """A page swapped in by a write stays in the swap cache with content its slot does not
    hold; a migration moves its PTE's dirty bit to the page. Clearing "dirty" then writes the
    slot (swap_writepage()) before the page counts as clean, so a later swap-out may drop the
    page and a fault reads the new content back (it used to read the old one)."""
    m = small(semantics="modern", pages=256, swap="1MiB")
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(8 * ps)
    t.touch(a, 8 * ps, write=True)
    assert m.swap_out(t, a, 8 * ps) == 8
    t.touch(a, 8 * ps, write=True)
    written = t.read(a, 8 * ps).copy()
    numasim.move_pages(t, 0, [a + i * ps for i in range(8)], [1] * 8)
    pswpout = m.vmstat_counters()["pswpout"]
    m.set_page_state(t, a, 8 * ps, "dirty", on=False)
    cleaned = m.vmstat_counters()["pswpout"] - pswpout
    m.swap_out(t, a, 8 * ps)
    m.check()
    assert t.read(a, 8 * ps).tolist() == written.tolist()
    assert cleaned == 8, "every page was in the swap cache and got written"


@pytest.mark.parametrize("locked", ["parent", "child"])
def test_reclaim_unmaps_until_the_first_locked_mapping(sem, locked):
    """try_to_unmap() walks the anonymous page's mappings in anon_vma order and stops at the
    first VM_LOCKED one, keeping the earlier ones unmapped (try_to_unmap_anon(), 2.6.14-2.6.18;
    rmap_walk() in 6.x). In 2.6.14-2.6.17 the list holds the mm forked last first: with the
    parent locked the child loses its PTE, with the child locked nobody does. 6.x keeps an
    mlocked page on the unevictable list: reclaim does not reach it at all."""
    m = small(semantics=sem, pages=64, swap="1MiB")
    ps = m.page_size
    p = m.spawn()
    a = p.mmap(ps)
    p.touch(a, ps, write=True)
    c = p.fork()
    holder = p if locked == "parent" else c
    holder.mprotect(a, ps, "r")  # no COW break when mlock faults the page in
    holder.mlock(a, ps)
    content = c.read(a, ps).tolist()
    other = c if locked == "parent" else p
    assert m.swap_out(other, a, ps) == 0  # the page stays: a mapping is locked
    unmapped = sem != "modern" and locked == "parent"
    assert other.page_nodes(a, ps).tolist() == ([-errno.ENOENT] if unmapped else [0])
    assert holder.page_nodes(a, ps).tolist() == [0]
    assert c.read(a, ps).tolist() == p.read(a, ps).tolist() == content
    other.touch(a, ps)  # a minor fault back to the same page
    assert other.page_nodes(a, ps).tolist() == [0]
