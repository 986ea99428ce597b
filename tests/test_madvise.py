"""madvise(2) per generation: the checks and their order (python/numasim/syscalls.py), the VMA
walk's ENOMEM, and what each advice does to memory (docs/semantics.md, "madvise"). check()
runs after every call that may change the machine (conftest)."""

from __future__ import annotations

import errno

import pytest
from conftest import SEMANTICS, small, used_pages

import numasim
from numasim import (
    MADV_COLD,
    MADV_DOFORK,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_DONTNEED_LOCKED,
    MADV_HUGEPAGE,
    MADV_NOHUGEPAGE,
    MADV_NORMAL,
    MADV_PAGEOUT,
    MADV_RANDOM,
    MADV_REMOVE,
    MADV_SEQUENTIAL,
    MADV_WILLNEED,
    Madv,
    SegmentationFault,
)

ENOENT = -errno.ENOENT
EINVAL, ENOMEM, EBADF, EACCES, ENOSYS, EAGAIN = (
    -errno.EINVAL,
    -errno.ENOMEM,
    -errno.EBADF,
    -errno.EACCES,
    -errno.ENOSYS,
    -errno.EAGAIN,
)


def setup(sem, arch="x86_64", **kw):
    m = small(semantics=sem, arch=arch, **kw)
    t = m.spawn()
    a = t.mmap(8 * m.page_size)
    t.touch(a, 8 * m.page_size, write=True)
    return m, t, a


def madv(t, addr, length, advice):
    """madvise as a C caller sees it: 0 or -errno; every invariant holds after it."""
    try:
        return t.syscall("madvise", addr, length, advice)
    finally:
        t.machine.check()


# --- the checks ---------------------------------------------------------------------------


def test_numbers_per_generation():
    assert numasim.madvise_known("v5", "x86_64") == frozenset(Madv(v) for v in range(5))
    assert numasim.madvise_known("2.6.16", "ia64") == numasim.madvise_known("v5", "ia64") | {
        MADV_REMOVE,
        MADV_DONTFORK,
        MADV_DOFORK,
    }
    modern = numasim.madvise_known("modern", "x86_64")
    assert {MADV_COLD, MADV_PAGEOUT, MADV_DONTNEED_LOCKED, MADV_HUGEPAGE} <= modern
    assert (int(MADV_COLD), int(MADV_PAGEOUT), int(MADV_DONTNEED_LOCKED)) == (20, 21, 24)
    assert (int(MADV_REMOVE), int(MADV_DONTFORK), int(MADV_DOFORK)) == (9, 10, 11)
    # no transparent huge pages on ia64, no memory-failure advice off x86_64
    assert MADV_HUGEPAGE not in numasim.madvise_known("modern", "ia64")
    assert Madv.MADV_HWPOISON not in numasim.madvise_known("modern", "i386")


@pytest.mark.parametrize("sem", SEMANTICS)
def test_argument_checks_in_order(sem):
    m, t, a = setup(sem)
    ps = m.page_size
    bad = 99  # no generation knows it
    modern = sem == "modern"
    # 6.x checks the advice first; 2.6 only when it reaches a VMA
    assert madv(t, a + 1, ps, bad) == EINVAL
    assert madv(t, a, 0, bad) == (EINVAL if modern else 0)
    unmapped = a + 64 * ps
    assert madv(t, unmapped, ps, bad) == (EINVAL if modern else ENOMEM)
    assert madv(t, a, ps, bad) == EINVAL
    # alignment, a len PAGE_ALIGN wraps to 0, an end that wraps, an empty range
    assert madv(t, a + 1, ps, MADV_NORMAL) == EINVAL
    assert madv(t, a, 2**64 - 1, MADV_NORMAL) == EINVAL
    assert madv(t, a, 2**64 - 2 * ps, MADV_NORMAL) == EINVAL
    assert madv(t, a, 0, MADV_DONTNEED) == 0
    assert madv(t, 2**64 - ps, 0, MADV_DONTNEED) == 0
    # a len not a multiple of the page size covers the partial page
    assert madv(t, a, 1, MADV_DONTNEED) == 0
    assert t.read(a, 2 * ps).tolist()[0] == 0
    # arguments a C caller cannot pass
    with pytest.raises(ValueError, match="behavior"):
        t.madvise(a, ps, 2**31)
    with pytest.raises(ValueError, match="start"):
        t.madvise(-1, ps, MADV_NORMAL)


def test_a_32_bit_size_t_wraps_at_4_gib():
    m, t, a = setup("2.6.16", arch="i386")
    ps = m.page_size
    assert madv(t, a, 2**32 - 1, MADV_NORMAL) == EINVAL
    assert madv(t, a, 2**32 - 2 * ps, MADV_NORMAL) == EINVAL  # start + len wraps
    with pytest.raises(ValueError, match="len_in"):
        t.madvise(a, 2**32, MADV_NORMAL)


@pytest.mark.parametrize(
    ("sem", "advice", "mapped", "unmapped"),
    [
        ("v5", MADV_REMOVE, EINVAL, ENOMEM),
        ("v5", MADV_DONTFORK, EINVAL, ENOMEM),
        ("2.6.16", MADV_COLD, EINVAL, ENOMEM),
        ("2.6.16", MADV_PAGEOUT, EINVAL, ENOMEM),
        ("2.6.16", MADV_HUGEPAGE, EINVAL, ENOMEM),
        ("2.6.16", Madv.MADV_FREE, EINVAL, ENOMEM),
        ("modern", 5, EINVAL, EINVAL),
        ("modern", 26, EINVAL, EINVAL),
    ],
)
def test_advice_a_generation_lacks(sem, advice, mapped, unmapped):
    m, t, a = setup(sem)
    assert madv(t, a, m.page_size, advice) == mapped
    assert madv(t, a + 64 * m.page_size, m.page_size, advice) == unmapped


def test_advice_valid_but_not_modelled():
    m, t, a = setup("modern")
    for advice in (Madv.MADV_FREE, Madv.MADV_POPULATE_READ, Madv.MADV_MERGEABLE):
        with pytest.raises(ValueError, match="not modelled"):
            t.madvise(a, m.page_size, advice)
        assert madv(t, a + 1, m.page_size, advice) == EINVAL  # the checks come first


@pytest.mark.parametrize("arch", ["x86_64", "i386", "ia64"])
def test_by_number(arch):
    m, t, a = setup("2.6.16", arch=arch)
    nr = m.arch.syscalls["madvise"]
    assert nr == {"x86_64": 28, "i386": 219, "ia64": 1209}[arch]
    assert m.syscall(t, nr, a, m.page_size, MADV_DONTNEED) == 0
    assert t.page_nodes(a, m.page_size).tolist() == [ENOENT]
    assert m.syscall(t, nr, a + 1, m.page_size, MADV_DONTNEED) == EINVAL


@pytest.mark.parametrize("sem", SEMANTICS)
def test_holes_are_enomem_after_the_mapped_parts(sem):
    m, t, a = setup(sem)
    ps = m.page_size
    t.munmap(a + 2 * ps, 2 * ps)
    assert madv(t, a, 8 * ps, MADV_DONTNEED) == ENOMEM
    assert t.read(a, 2 * ps).tolist() == [0, 0]
    assert t.read(a + 4 * ps, 4 * ps).tolist() == [0] * 4
    with pytest.raises(OSError) as e:
        numasim.madvise(t, a + 2 * ps, 2 * ps, MADV_DONTNEED)
    assert e.value.errno == errno.ENOMEM


# --- what each advice does ----------------------------------------------------------------


@pytest.mark.parametrize("sem", SEMANTICS)
def test_dontneed(sem):
    m, t, a = setup(sem)
    ps = m.page_size
    content = t.read(a, 8 * ps).tolist()
    used = used_pages(m)
    t.madvise(a + 2 * ps, 4 * ps, MADV_DONTNEED)
    assert t.read(a, 8 * ps).tolist() == content[:2] + [0] * 4 + content[6:]
    assert used_pages(m) == used - 4
    # a private file mapping reads the file again
    f = m.create_file("/data", 2 * ps)
    s = t.mmap(2 * ps, flags="shared", file=f)
    t.touch(s, 2 * ps, write=True)
    file = t.read(s, 2 * ps).tolist()
    p = t.mmap(2 * ps, flags="private", file=f)
    t.touch(p, 2 * ps, write=True)
    t.madvise(p, 2 * ps, MADV_DONTNEED)
    assert t.read(p, 2 * ps).tolist() == file
    # VM_LOCKED: EINVAL in every generation
    t.mlock(a, ps)
    assert madv(t, a, ps, MADV_DONTNEED) == EINVAL
    if sem == "modern":
        assert madv(t, a, ps, MADV_DONTNEED_LOCKED) == 0
        assert t.read(a, ps).tolist() == [0]


@pytest.mark.parametrize("sem", ["2.6.16", "modern"])
def test_dontfork(sem):
    m, t, a = setup(sem)
    ps = m.page_size
    content = t.read(a, 8 * ps).tolist()
    t.madvise(a + 4 * ps, 4 * ps, MADV_DONTFORK)
    assert "dontcopy" in next(v for v in t.vmas() if v.start == a + 4 * ps).flags
    c = t.fork()
    assert c.read(a, 4 * ps).tolist() == content[:4]
    with pytest.raises(SegmentationFault):
        c.read(a + 4 * ps, ps)
    t.madvise(a, 8 * ps, MADV_DOFORK)
    assert next(v for v in t.vmas() if v.start == a).end == a + 8 * ps  # merged back
    assert t.fork().read(a, 8 * ps).tolist() == content
    io = t.mmap(ps, flags="shared|io")
    assert madv(t, io, ps, MADV_DOFORK) == EINVAL


@pytest.mark.parametrize("sem", SEMANTICS)
def test_read_hints(sem):
    m, t, a = setup(sem)
    ps = m.page_size

    def flags(addr):
        return next(v for v in t.vmas() if v.start <= addr < v.end).flags

    t.madvise(a, 2 * ps, MADV_SEQUENTIAL)
    t.madvise(a + 2 * ps, 2 * ps, MADV_RANDOM)
    assert ("seq_read" in flags(a), "rand_read" in flags(a + 2 * ps)) == (True, True)
    t.madvise(a, 8 * ps, MADV_NORMAL)
    assert not {"seq_read", "rand_read"} & set(flags(a))
    if sem == "modern":
        t.madvise(a, ps, MADV_HUGEPAGE)
        assert "hugepage" in flags(a)
        t.madvise(a, ps, MADV_NOHUGEPAGE)
        assert ("hugepage" in flags(a), "nohugepage" in flags(a)) == (False, True)
    else:
        assert madv(t, a, ps, MADV_HUGEPAGE) == EINVAL


@pytest.mark.parametrize("sem", SEMANTICS)
def test_willneed(sem):
    m = small(semantics=sem, pages=256)
    ps = m.page_size
    t = m.spawn()
    f = m.create_file("/data", 4 * ps)
    s = t.mmap(4 * ps, prot="r", flags="shared", file=f)
    t.madvise(s, 4 * ps, MADV_WILLNEED)
    assert f.cached_pages == 4
    v = m.vmstat_counters()
    assert (v["pgmajfault"], v["pgpgin"]) == (0, 4 * ps // 1024)
    a = t.mmap(4 * ps)
    t.touch(a, 4 * ps, write=True)
    assert m.swap_out(t, a, 4 * ps) == 4
    if sem != "modern":
        assert madv(t, a, 4 * ps, MADV_WILLNEED) == EBADF
        return
    t.madvise(a, 4 * ps, MADV_WILLNEED)  # into the swap cache, not mapped
    assert (m.vmstat_counters()["pswpin"], m.swap_cache_pages) == (4, 4)
    assert t.page_nodes(a, 4 * ps).tolist() == [ENOENT] * 4
    t.touch(a, 4 * ps)
    assert m.vmstat_counters()["pgmajfault"] == 0


@pytest.mark.parametrize("sem", ["2.6.16", "modern"])
def test_remove(sem):
    m = small(semantics=sem, pages=256)
    ps = m.page_size
    t = m.spawn()
    s = t.mmap(4 * ps, flags="shared|anonymous")
    t.touch(s, 4 * ps, write=True)
    c = t.fork()
    t.madvise(s + ps, 2 * ps, MADV_REMOVE)
    assert c.read(s, 4 * ps).tolist() == [1, 0, 0, 4]
    assert madv(t, t.mmap(ps), ps, MADV_REMOVE) == EINVAL  # no file
    f = m.create_file("/data", ps)
    r = t.mmap(ps, prot="r", flags="shared", file=f)
    assert madv(t, r, ps, MADV_REMOVE) == EACCES
    w = t.mmap(ps, flags="shared", file=f)
    t.touch(w, ps, write=True)
    assert madv(t, w, ps, MADV_REMOVE) == (ENOSYS if sem == "2.6.16" else 0)
    assert t.read(w, ps).tolist() == ([5] if sem == "2.6.16" else [0])


def test_cold_and_pageout():
    m = small(semantics="modern", pages=256)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(8 * ps)
    t.touch(a, 8 * ps, write=True)
    m.drain()

    def active_kb():
        line = next(x for x in m.meminfo(0).splitlines() if x.split()[2] == "Active:")
        return int(line.split()[3])

    before = active_kb()
    t.madvise(a, 4 * ps, MADV_COLD)
    assert active_kb() == before - 4 * ps // 1024
    content = t.read(a, 8 * ps).tolist()
    t.madvise(a, 8 * ps, MADV_PAGEOUT)
    assert t.page_nodes(a, 8 * ps).tolist() == [ENOENT] * 8
    assert m.vmstat_counters()["pswpout"] == 8
    assert t.read(a, 8 * ps).tolist() == content
    t.mlock(a, ps)
    assert madv(t, a, ps, MADV_PAGEOUT) == EINVAL
    assert madv(t, a, ps, MADV_COLD) == EINVAL


def test_pageout_of_32_pages_16_pinned():
    """Issue 9, item 6, as run on Linux 6.1 and 6.12: MADV_PAGEOUT of 32 pages of which 16
    have a get_user_pages (FOLL_GET) reference: all 32 are not present afterwards and
    migrate_pages returns 0."""
    m = small(semantics="modern", pages=256)
    ps = m.page_size
    t = m.spawn(cpu=0)
    a = t.mmap(32 * ps)
    t.touch(a, 32 * ps, write=True)
    assert m.set_page_state(t, a + 16 * ps, 16 * ps, "pinned") == 16
    t.madvise(a, 32 * ps, MADV_PAGEOUT)
    assert t.page_nodes(a, 32 * ps).tolist() == [ENOENT] * 32
    assert (m.vmstat_counters()["pswpout"], m.swap_cache_pages) == (16, 16)
    assert t.syscall("migrate_pages", 0, m.arch.max_numnodes + 1, [0], [1]) == 0


def test_hugepage_advice_on_ia64_is_einval():
    m, t, a = setup("modern", arch="ia64")
    assert madv(t, a, m.page_size, MADV_HUGEPAGE) == EINVAL
    assert madv(t, a + 1, m.page_size, MADV_NOHUGEPAGE) == EINVAL
    assert madv(t, a, m.page_size, MADV_COLD) == 0
