"""The kernel's text formats per generation (spec §8): /proc/PID/numa_maps, /proc/PID/status,
/proc/vmstat, /sys/devices/system/node/nodeN/meminfo; and the numeric views (node_usage,
resident_by_node, counters)."""

from __future__ import annotations

import pytest
from conftest import OLD, SEMANTICS, small

import numasim
from numasim import MPOL_BIND, MPOL_INTERLEAVE, MPOL_PREFERRED, Machine


def scenario(semantics):
    """A task on node 1 with anonymous, zero-page, file, interleaved, I/O and heap areas."""
    m = small(semantics=semantics, nodes=2, pages=256)
    ps = m.page_size
    f = m.create_file("/data", 3 * ps)
    t = m.spawn(cpu=2)
    areas = {
        "anon": t.mmap(4 * ps),
        "zero": t.mmap(2 * ps, prot="r"),
        "file": t.mmap(3 * ps, prot="r", flags="shared", file=f),
        "ilv": t.mmap(4 * ps),
        "io": t.mmap(ps, flags="shared|io"),
    }
    t.mbind(areas["ilv"], 4 * ps, MPOL_INTERLEAVE, [0, 1])
    t.touch(areas["anon"], 4 * ps, write=True)
    t.touch(areas["zero"], 2 * ps)
    t.touch(areas["file"], 3 * ps)
    t.touch(areas["ilv"], 4 * ps, write=True)
    t.touch(areas["io"], ps)
    heap = t.layout().start_brk
    t.brk(heap + ps)
    t.touch(heap, ps, write=True)
    areas["heap"] = heap
    areas["stack"] = t.layout().start_stack - (128 << 10)
    m.check()
    return m, t, areas


def lines_by_start(text):
    return {int(line.split()[0], 16): line for line in text.splitlines()}


# --- numa_maps -------------------------------------------------------------------------------


@pytest.mark.parametrize("semantics", OLD)
def test_numa_maps_old_format(semantics):
    # spec §8.1.1: only areas with pages; pages= mapped= maxref= [anon=] N<node>=
    m, t, a = scenario(semantics)
    text = t.numa_maps()
    assert text.endswith("\n")
    assert lines_by_start(text) == {
        a["anon"]: f"{a['anon']:08x} default pages=4 mapped=4 maxref=1 anon=4 N1=4",
        a["file"]: f"{a['file']:08x} default pages=3 mapped=3 maxref=1 N1=3",
        a["ilv"]: f"{a['ilv']:08x} interleave=0-1 pages=4 mapped=4 maxref=1 anon=4 N0=2 N1=2",
        a["heap"]: f"{a['heap']:08x} default pages=1 mapped=1 maxref=1 anon=1 N1=1",
    }
    assert [int(x.split()[0], 16) for x in text.splitlines()] == sorted(lines_by_start(text))
    c = t.fork()
    assert lines_by_start(t.numa_maps())[a["anon"]] == (
        f"{a['anon']:08x} default pages=4 mapped=4 maxref=2 anon=4 N1=4"
    )
    # the child maps the shared file area only once it touches it
    assert a["file"] not in lines_by_start(c.numa_maps())
    c.touch(a["file"], m.page_size)
    assert lines_by_start(c.numa_maps())[a["file"]] == (
        f"{a['file']:08x} default pages=1 mapped=1 maxref=2 N1=1"
    )
    t.set_mempolicy(MPOL_PREFERRED, [0])
    assert lines_by_start(t.numa_maps())[a["heap"]].split()[1] == "prefer=0"


def test_numa_maps_modern_format():
    # spec §8.1.2-3: every area; file=/heap/stack; anon dirty mapped mapmax swapcache active
    # writeback N<n> kernelpagesize_kB
    m, t, a = scenario("modern")
    ps = m.page_size
    text = t.numa_maps()
    assert lines_by_start(text) == {
        a["anon"]: f"{a['anon']:08x} default anon=4 dirty=4 N1=4 kernelpagesize_kB=4",
        a["zero"]: f"{a['zero']:08x} default",
        a["file"]: f"{a['file']:08x} default file=/data mapped=3 active=0 N1=3 kernelpagesize_kB=4",
        a["ilv"]: f"{a['ilv']:08x} interleave:0-1 anon=4 dirty=4 N0=2 N1=2 kernelpagesize_kB=4",
        a["io"]: f"{a['io']:08x} default",
        a["heap"]: f"{a['heap']:08x} default heap anon=1 dirty=1 N1=1 kernelpagesize_kB=4",
        a["stack"]: f"{a['stack']:08x} default stack",
    }
    c = t.fork()
    c.touch(a["file"], ps)
    m.set_page_state(t, a["anon"], ps, "writeback", duration_ns=10)
    got = lines_by_start(t.numa_maps())
    assert got[a["anon"]] == (
        f"{a['anon']:08x} default anon=4 dirty=4 mapmax=2 writeback=1 N1=4 kernelpagesize_kB=4"
    )
    assert got[a["file"]] == (
        f"{a['file']:08x} default file=/data mapped=3 mapmax=2 active=0 N1=3 kernelpagesize_kB=4"
    )
    # swapped out: no pages; faulted back by a read: in the swap cache, clean
    m.advance(10)
    assert m.swap_out(t, a["heap"], ps) == 1
    assert lines_by_start(t.numa_maps())[a["heap"]] == f"{a['heap']:08x} default heap"
    t.touch(a["heap"], ps)
    assert lines_by_start(t.numa_maps())[a["heap"]] == (
        f"{a['heap']:08x} default heap anon=1 swapcache=1 active=0 N1=1 kernelpagesize_kB=4"
    )
    t.set_mempolicy(MPOL_BIND, [1])
    assert lines_by_start(t.numa_maps())[a["zero"]] == f"{a['zero']:08x} bind:1"
    m.check()


def test_numa_maps_private_file_area_and_page_size():
    m = small(semantics="modern", arch="ia64", nodes=2, pages=64)
    ps = m.page_size
    f = m.create_file("/lib/libc.so", 4 * ps)
    t = m.spawn(cpu=2)
    p = t.mmap(4 * ps, flags="private", file=f)
    t.touch(p, 4 * ps)
    t.touch(p + ps, ps, write=True)
    assert lines_by_start(t.numa_maps())[p] == (
        f"{p:08x} default file=/lib/libc.so anon=1 dirty=1 mapped=4 active=1 N1=4 "
        "kernelpagesize_kB=16"
    )


@pytest.mark.parametrize("semantics", OLD)
def test_numa_maps_old_format_skips_hugetlb(semantics):
    m = small(semantics=semantics, pages=1024)
    t = m.spawn()
    h = t.mmap(m.arch.huge_page_size, flags="private|anonymous|hugetlb")
    t.touch(h, m.page_size, write=True)
    assert t.numa_maps() == ""


def test_numa_maps_modern_huge_pages_dirty():
    m = small(semantics="modern", pages=2048)
    t = m.spawn()
    hs = m.arch.huge_page_size
    h = t.mmap(2 * hs, flags="private|anonymous|hugetlb")
    t.touch(h, m.page_size, write=True)
    t.touch(h + hs + 5 * m.page_size, m.page_size, write=True)
    line = lines_by_start(t.numa_maps())[h]
    assert line.endswith(" huge dirty=2 N0=2 kernelpagesize_kB=2048")


def test_numa_maps_modern_huge_pages():
    m = small(semantics="modern", pages=2048)
    t = m.spawn()
    hs = m.arch.huge_page_size
    h = t.mmap(2 * hs, prot="r", flags="private|anonymous|hugetlb")
    assert lines_by_start(t.numa_maps())[h] == f"{h:08x} default huge"
    t.touch(h, 2 * hs)
    assert lines_by_start(t.numa_maps())[h] == (
        f"{h:08x} default huge mapped=2 N0=2 kernelpagesize_kB=2048"
    )


# --- status ------------------------------------------------------------------------------------


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_status(semantics):
    m = small(semantics=semantics, nodes=2, pages=16)
    t = m.spawn(uid=1000, gid=100, cpu=2, name="app")
    t.setresuid(1000, 1000, 1000)
    want = [
        "Name:\tapp",
        "State:\tR (running)",
        "Tgid:\t1",
        "Pid:\t1",
        "Uid:\t1000\t1000\t1000\t1000",
        "Gid:\t100\t100\t100\t100",
        # 2.6: the 32-bit kernel_cap_t (%08x); 6.x: 64 bits
        "CapEff:\t0000000000000000" if semantics == "modern" else "CapEff:\t00000000",
        "Cpus_allowed:\t0000000f",
    ]
    if semantics == "modern":
        want.append("Cpus_allowed_list:\t0-3")
    want.append("Mems_allowed:\t00000000,00000003")
    if semantics == "modern":
        want.append("Mems_allowed_list:\t0-1")
    assert t.status() == "".join(x + "\n" for x in want)
    r = m.spawn(uid=0)
    # root's effective set: CAP_INIT_EFF_SET (all but CAP_SETPCAP) in 2.6, every cap in 6.x
    want_cap = "000001ffffffffff" if semantics == "modern" else "fffffeff"
    assert r.status().splitlines()[6] == f"CapEff:\t{want_cap}"
    r.setresuid(0, 1000, 0)
    assert r.status().splitlines()[4] == "Uid:\t0\t1000\t0\t1000"
    th = t.clone_thread()
    assert th.status().splitlines()[2:4] == ["Tgid:\t1", "Pid:\t3"]


@pytest.mark.parametrize(
    ("arch", "nodes", "mems", "width"),
    [
        ("i386", [0, 1], "0003", 16),  # MAX_NUMNODES 16: one 4-digit chunk
        ("i386-pae", [1], "0002", 16),
        ("x86_64", [0, 1], "00000000,00000003", 64),
        ("ia64", [0, 1], ",".join(["00000000"] * 31 + ["00000003"]), 1024),
    ],
)
def test_status_mems_allowed_spans_max_numnodes(arch, nodes, mems, width):
    m = small(arch=arch, semantics="modern", nodes=2, pages=16)
    if nodes != [0, 1]:
        m.cpuset("/c", mems=nodes, cpus=[0])
    t = m.spawn(cpuset="/c" if nodes != [0, 1] else "/")
    lines = t.status().splitlines()
    assert f"Mems_allowed:\t{mems}" in lines
    assert f"Mems_allowed_list:\t{numasim.NodeMask(nodes, nbits=width).format_list()}" in lines
    assert t.mems_allowed.nbits == width


# --- vmstat ------------------------------------------------------------------------------------


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_vmstat_lines(semantics):
    m = small(semantics=semantics, pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(4 * ps)
    t.touch(a, 4 * ps, write=True)
    m.swap_out(t, a, 4 * ps)
    t.touch(a, ps)
    names = [x.split()[0] for x in m.vmstat().splitlines()]
    want = ["pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault"]
    if semantics == "modern":
        want += ["pgmigrate_success", "pgmigrate_fail"]  # spec §8.2.2
        want += ["thp_migration_success", "thp_migration_fail", "thp_migration_split"]
        want += ["thp_fault_alloc", "thp_fault_fallback", "thp_split_page", "thp_split_pmd"]
        want += ["thp_zero_page_alloc", "thp_zero_page_alloc_failed", "thp_swpout_fallback"]
    assert names == want
    v = dict(x.split() for x in m.vmstat().splitlines())
    assert (v["pswpin"], v["pswpout"], v["pgfault"], v["pgmajfault"]) == ("4", "4", "5", "1")
    c = m.vmstat_counters()
    assert (c["pswpin"], c["pswpout"], c["pgfault"], c["pgmajfault"]) == (4, 4, 5, 1)


@pytest.mark.parametrize("arch", ["x86_64", "ia64"])
def test_vmstat_pgpgin_pgpgout_are_kilobytes(arch):
    m = small(arch=arch, pages=64)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(4 * ps)
    t.touch(a, 4 * ps, write=True)
    m.swap_out(t, a, 4 * ps)
    t.touch(a, ps)
    v = dict(x.split() for x in m.vmstat().splitlines())
    kb = ps // 1024
    assert (v["pgpgout"], v["pgpgin"]) == (str(4 * kb), str(4 * kb))


# --- meminfo and usage ----------------------------------------------------------------------


def parse_meminfo(text, node, huge=False):
    """The kB lines of nodeN/meminfo (``huge``: the HugePages_* counts instead)."""
    out = {}
    for line in text.splitlines():
        words = line.split()
        assert words[:2] == ["Node", str(node)], line
        if words[2].startswith("HugePages_"):
            assert len(words) == 4, line
            if huge:
                out[words[2].rstrip(":")] = int(words[3])
            continue
        assert words[-1] == "kB", line
        if not huge:
            out[words[2].rstrip(":")] = int(words[3])
    return out


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_meminfo_values(semantics):
    m = small(semantics=semantics, nodes=2, pages=64)
    ps = m.page_size
    f = m.create_file("/data", 3 * ps)
    t = m.spawn(cpu=2)
    a = t.mmap(4 * ps, flags="private|anonymous|locked")
    t.touch(a, 4 * ps, write=True)
    s = t.mmap(3 * ps, flags="shared", file=f)
    t.touch(s, 3 * ps)
    t.touch(s, ps, write=True)
    m.drain()
    mi = parse_meminfo(m.meminfo(1), 1)
    rows = ["MemTotal", "MemFree", "MemUsed", "Active", "Inactive", "Dirty", "Writeback"]
    rows += ["FilePages", "Mapped"]
    if semantics == "modern":
        rows += ["AnonPages", "Mlocked", "AnonHugePages"]
    assert list(mi) == rows
    u = m.node_usage()[1]
    assert (mi["MemTotal"], mi["MemFree"], mi["MemUsed"]) == (256, u.free * 4, u.used * 4)
    # the 7 used pages are the 4 anonymous and 3 file pages the task maps there
    assert (u.total, u.used, t.resident_by_node()[1]) == (64, 7, 7)
    assert (mi["Active"], mi["Inactive"], mi["FilePages"], mi["Mapped"]) == (16, 12, 12, 12)
    if semantics == "modern":
        assert mi["AnonPages"] == 16
    assert parse_meminfo(m.meminfo(0), 0)["MemUsed"] == 4  # the zero page


def test_meminfo_dirty_counts_file_pages_only(sem):
    m = small(semantics=sem, nodes=2, pages=64)
    ps = m.page_size
    f = m.create_file("/data", 2 * ps)
    t = m.spawn()
    a = t.mmap(4 * ps)
    t.touch(a, 4 * ps, write=True)
    t.touch(a, 4 * ps, write=True)
    s = t.mmap(2 * ps, flags="shared", file=f)
    t.touch(s, ps, write=True)
    assert parse_meminfo(m.meminfo(0), 0)["Dirty"] == 4


@pytest.mark.parametrize(
    "semantics",
    [
        pytest.param(
            s,
        )
        for s in OLD
    ]
    + ["modern"],
)
def test_meminfo_column_layout(semantics):
    m = small(semantics=semantics, nodes=2, pages=64)
    width = 16 if semantics == "modern" else 14
    lines = m.meminfo(1).splitlines()
    # hugetlb_report_node_meminfo() ends the file: "Node %d HugePages_Total: %5u" and
    # "HugePages_Free:  %5u", and "HugePages_Surp:  %5u" since 2.6.24.
    huge = ["Total", "Free"] + (["Surp"] if semantics == "modern" else [])
    tail = [f"Node 1 {'HugePages_' + h + ':':<17}{0:>5}" for h in huge]
    assert lines[-len(huge) :] == tail
    for line in lines[: -len(huge)]:
        label, value = line.split()[2], line.split()[3]
        assert line == f"Node 1 {label:<{width}}{value:>8} kB"


def test_node_usage_and_resident_views(sem):
    m = small(semantics=sem, nodes=3, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=4)
    a = t.mmap(6 * ps)
    t.mbind(a, 6 * ps, MPOL_BIND, [0])
    t.touch(a, 6 * ps, write=True)
    b = t.mmap(2 * ps)
    t.touch(b, 2 * ps, write=True)
    c = t.mmap(ps)
    t.touch(c, ps)  # the zero page is not resident memory of the task
    assert t.resident_by_node() == {0: 6, 1: 0, 2: 2}
    counters = t.counters()
    assert (counters.rss_anon, counters.rss_file, counters.swap_ents) == (8, 0, 0)
    # Page tables: the one leaf table (PTRS_PER_PTE 8-byte PTEs) that holds these PTEs, and
    # one directory per upper level on its path (the simulator's directories hold 4-byte
    # table indices). The stack was never touched: no table of its own.
    shift = m.arch.pt_level_shifts[-2]
    touched = [a + i * ps for i in range(6)] + [b, b + ps, c]
    assert len({x >> shift for x in touched}) == 1
    ptrs = 1 << (shift - m.arch.page_shift)
    dirs = m.arch.pt_levels - 1
    assert counters.pagetable_bytes == ptrs * 8 + dirs * ptrs * 4
    usage = m.node_usage()
    assert {n: (u.nid, u.total, u.free, u.used) for n, u in usage.items()} == {
        0: (0, 64, 57, 7),
        1: (1, 64, 64, 0),
        2: (2, 64, 62, 2),
    }
    # What is used is what the task maps, plus the zero page on the first node.
    resident = t.resident_by_node()
    assert all(u.used == resident[n] + (n == 0) for n, u in usage.items())
    assert isinstance(usage[0], numasim.NodeUsage)


def test_invariant_error_is_exported():
    assert issubclass(numasim.InvariantError, Exception)
    assert issubclass(numasim.SegmentationFault, Exception)
    m = Machine(nodes=1, node_memory="64KiB", cpus_per_node=1)
    assert m.check() is None


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_meminfo_mlocked_counts_pages_of_locked_areas(semantics):
    """NR_MLOCK (6.x, with the unevictable LRU): pages mapped in a VM_LOCKED area, each once;
    2.6 kernels have no Mlocked line."""
    m = small(semantics=semantics, nodes=2, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=0)
    a = t.mmap(6 * ps)
    t.touch(a, 6 * ps, write=True)
    t.mlock(a, 4 * ps)
    child = t.fork()  # the child's areas are not locked (dup_mmap clears VM_LOCKED)
    t.mlock(a, ps)  # locking again counts nothing twice
    # mlock populates a writable private area with write faults (to break COW): the child's
    # page 0 becomes its own copy, a fifth locked page.
    child.mlock(a, ps)
    mi = parse_meminfo(m.meminfo(0), 0)
    if semantics == "modern":
        assert mi["Mlocked"] == 5 * (ps // 1024)
    else:
        assert "Mlocked" not in mi
    t.munlock(a, 4 * ps)
    if semantics == "modern":
        assert parse_meminfo(m.meminfo(0), 0)["Mlocked"] == ps // 1024  # the child's one page
