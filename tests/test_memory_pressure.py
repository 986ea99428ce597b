"""Memory pressure (issue 9): zone watermarks from vm.min_free_kbytes, allocation that honours
them per generation (faults fall back at the low mark before anything is reclaimed; 6.x
migration targets reclaim their own node; 2.6.16 targets fall back), direct reclaim in LRU
order, and the readouts (Machine.watermarks(), zoneinfo, MemFree). m.check() runs after every
step (conftest.py)."""

from __future__ import annotations

import errno

import pytest

import numasim
from numasim import MPOL_BIND, Machine

PS = 4096
MAXNODE = 65


def machine(sem, nodes=2, memory="64MiB", swap=0, **kw) -> Machine:
    return Machine(semantics=sem, nodes=nodes, node_memory=memory, swap=swap, **kw)


def marks(m, nid):
    z = m.watermarks()[nid]
    return z.min, z.low, z.high


def hog(m, nid, left):
    """A task bound to ``nid`` that fills it with anonymous pages until ``left`` are free."""
    h = m.spawn(uid=2000, cpu=m.node_cpus(nid)[0])
    h.set_mempolicy(MPOL_BIND, [nid])
    k = m.watermarks()[nid].free - left
    a = h.mmap(k * PS)
    h.touch(a, k * PS, write=True)
    return h


def cached_file(m, path, nid, pages, write=False):
    """A file of ``pages`` pages read (or written and written back) by a task on ``nid``
    through a mapping that is then unmapped: clean page-cache pages on ``nid``."""
    f = m.create_file(path, pages * PS)
    r = m.spawn(uid=3000, cpu=m.node_cpus(nid)[0])
    a = r.mmap(pages * PS, flags="shared", file=f)
    r.touch(a, pages * PS, write=write)
    content = r.read(a, pages * PS)
    r.munmap(a, pages * PS)
    m.writeback(f)
    r.exit()
    return f, content


def migrate(t, old, new):
    """migrate_pages(2) on ``t`` by itself: the return value, or -errno."""
    try:
        return numasim.migrate_pages(t, 0, MAXNODE, old, new)
    except OSError as e:
        return -e.errno


# ===== the watermarks =====================================================================


@pytest.mark.parametrize(
    ("sem", "wm"),
    [
        # 2.6.16 setup_per_zone_pages_min(): low = min + min/4, high = min + min/2.
        ("v5", (1024, 1280, 1536)),
        ("2.6.16", (1024, 1280, 1536)),
        # 6.x __setup_per_zone_wmarks(): + max(min/4, 0.1% of 262144 pages = 262) twice.
        ("modern", (1024, 1286, 1548)),
    ],
)
def test_one_gib_node(sem, wm):
    # int_sqrt(1 GiB in kB * 16) = 4096 kB = 1024 pages, all of it the one zone's.
    m = machine(sem, nodes=1, memory="1GiB")
    assert m.min_free_kbytes == 4096
    assert marks(m, 0) == wm


@pytest.mark.parametrize("sem", numasim.SEMANTICS)
def test_four_64_gib_nodes_share_min_by_size(sem):
    # 256 GiB: int_sqrt(2^28 * 16) = 65536 kB, exactly 2.6's cap; a quarter per node.
    m = machine(sem, nodes=4, memory="64GiB")
    assert m.min_free_kbytes == 65536
    step = 1024 if sem != "modern" else 16777  # min/4, or 0.1% of 2^24 pages
    half = 2048 if sem != "modern" else 2 * 16777
    for n in range(4):
        assert marks(m, n) == (4096, 4096 + step, 4096 + half)


@pytest.mark.parametrize(
    ("sem", "memory", "kb"),
    [
        ("2.6.16", "64KiB", 128),  # int_sqrt(64 * 16) = 32: raised to 128
        ("modern", "64KiB", 128),
        ("2.6.16", "256GiB", 65536),  # 1 TiB: 131072 capped at 64 MiB in 2.6
        ("v5", "256GiB", 65536),
        ("modern", "256GiB", 131072),  # 6.x caps at 256 MiB
    ],
)
def test_min_free_kbytes_clamps(sem, memory, kb):
    m = machine(sem, nodes=4 if memory == "256GiB" else 1, memory=memory)
    assert m.min_free_kbytes == kb


def test_min_free_kbytes_is_an_option_and_a_sysctl(sem):
    m = machine(sem, nodes=2, memory="64MiB", min_free_kbytes=8192)
    # 8192 kB = 2048 pages, split between two equal nodes.
    assert m.min_free_kbytes == 8192
    assert marks(m, 0)[0] == 1024
    m.min_free_kbytes = 0
    assert marks(m, 1)[0] == 0
    assert marks(m, 1) == ((0, 0, 0) if sem != "modern" else (0, 16, 32))
    for bad in (-1, 1 << 31, True, 1.5, "8192"):
        with pytest.raises((ValueError, TypeError)):
            machine(sem, min_free_kbytes=bad)
        with pytest.raises((ValueError, TypeError)):
            m.min_free_kbytes = bad
    assert m.min_free_kbytes == 0


def test_zoneinfo_text(sem):
    m = machine(sem, nodes=2, memory="64MiB")
    text = m.zoneinfo()
    lo, low, hi = marks(m, 1)
    z = m.watermarks()[1]
    assert f"  pages free     {z.free}\n" in text
    if sem == "modern":
        assert "Node 1, zone   Normal\n  per-node stats\n      nr_inactive_anon 0\n" in text
        assert f"        boost    0\n        min      {lo}\n        low      {low}\n" in text
        assert f"        managed  {z.present}\n" in text
        assert "      nr_free_pages 16384\n" in text
    else:
        assert "Node 1, zone   Normal\n  pages free" in text
        assert f"        min      {lo}\n        low      {low}\n        high     {hi}\n" in text
        assert "        scanned  0 (a: 0 i: 0)\n" in text
        assert "  prev_priority:     12\n" in text
    assert text.count("protection: (0, 0, 0, 0)") == 2


# ===== allocation =========================================================================


def test_faults_fall_back_at_the_low_mark_before_any_reclaim(sem):
    m = machine(sem, nodes=2, memory="64MiB", swap="64MiB")
    f, _ = cached_file(m, "/cache", 0, 1000)
    t = m.spawn(cpu=0)
    w0 = m.watermarks()[0]
    k = w0.free - w0.low
    a = t.mmap((k + 10) * PS)
    t.touch(a, (k + 10) * PS, write=True)
    # Node 0 down to its low mark, then node 1: the page cache on node 0 stays.
    assert t.page_nodes(a, (k + 10) * PS).tolist() == [0] * k + [1] * 10
    assert m.watermarks()[0].free == w0.low
    assert m.watermarks()[0].scanned == 0
    assert f.cached_pages == 1000


def test_memfree_counts_the_reserve_below_min(sem):
    m = machine(sem, nodes=1, memory="64MiB")
    t = m.spawn(cpu=0)
    lo, _, _ = marks(m, 0)
    n = m.watermarks()[0].free - lo
    a = t.mmap((n + 1) * PS)
    t.touch(a, n * PS, write=True)
    # NR_FREE_PAGES: the reserve is free memory, only allocations may not take it.
    rows = {line.split()[2]: int(line.split()[3]) for line in m.meminfo(0).splitlines()}
    assert rows["MemFree:"] == lo * PS // 1024
    with pytest.raises(OSError) as e:
        t.touch(a + n * PS, PS, write=True)
    assert e.value.errno == errno.ENOMEM
    assert m.node_usage()[0].free == lo


# ===== migration targets ==================================================================


def _proc(m, pages=500):
    t = m.spawn(cpu=0)
    a = t.mmap(pages * PS)
    t.touch(a, pages * PS, write=True)
    return t, a


def test_modern_target_stops_at_the_min_mark():
    """__GFP_THISNODE: no fallback; direct reclaim of the destination finds only anonymous
    pages and no swap, so the call ends with -ENOMEM before the free pages run out."""
    m = machine("modern", nodes=3)
    t, a = _proc(m)
    lo, _, _ = marks(m, 1)
    hog(m, 1, lo + 100)
    assert m.watermarks()[1].free == lo + 100
    assert migrate(t, [0], [1]) == -errno.ENOMEM
    rep = m.last_report
    # 100 pages moved out of the lo + 100 free: the rest is the reserve.
    assert (rep.moved, rep.error) == (100, errno.ENOMEM)
    nodes = t.page_nodes(a, 500 * PS).tolist()
    assert (nodes.count(1), nodes.count(0), nodes.count(2)) == (100, 400, 0)
    assert m.watermarks()[1].free == lo
    assert m.vmstat_counters()["pgmigrate_success"] == 100


def test_modern_target_completes_by_reclaiming_the_destination():
    m = machine("modern", nodes=2)
    t, a = _proc(m)
    content = t.read(a, 500 * PS)
    f, fcontent = cached_file(m, "/data", 1, 3000, write=True)
    lo, _, _ = marks(m, 1)
    hog(m, 1, lo + 100)
    assert migrate(t, [0], [1]) == 0
    rep = m.last_report
    assert (rep.moved, rep.ret, rep.error) == (500, 0, 0)
    assert (t.page_nodes(a, 500 * PS) == 1).all()
    assert (t.read(a, 500 * PS) == content).all()
    z = m.watermarks()[1]
    # The 400 pages past the free ones came out of the destination's page cache (written
    # back already: clean, dropped at once), at least SWAP_CLUSTER_MAX at a time.
    dropped = 3000 - f.cached_pages
    assert 400 <= dropped < 400 + 4 * 32
    assert z.reclaimed == dropped and z.scanned >= dropped
    assert z.free > lo
    r = m.spawn(cpu=0)
    b = r.mmap(3000 * PS, flags="shared", file=f)
    assert (r.read(b, 3000 * PS) == fcontent).all()


def test_2616_target_falls_back_at_the_low_mark_instead():
    """alloc_pages_node(dest) without __GFP_THISNODE (spec §3.3.7): the destination down to
    its low mark, then the next node of its zonelist, and no reclaim while one has room."""
    m = machine("2.6.16", nodes=3, swap="64MiB")
    t, a = _proc(m)
    f, _ = cached_file(m, "/data", 1, 3000)
    lo, low, _ = marks(m, 1)
    hog(m, 1, lo + 100)
    assert m.zonelist(1)[:2] == [1, 2]
    assert migrate(t, [0], [1]) == 0
    nodes = t.page_nodes(a, 500 * PS).tolist()
    on1 = lo + 100 - low
    assert (nodes.count(1), nodes.count(2)) == (on1, 500 - on1)
    assert m.watermarks()[1].free == low
    assert (m.watermarks()[1].scanned, f.cached_pages) == (0, 3000)


def test_v5_never_allocates_on_the_destination():
    m = machine("v5", nodes=2, swap="64MiB")
    t, _ = _proc(m)
    lo, _, _ = marks(m, 1)
    hog(m, 1, lo)
    assert migrate(t, [0], [1]) == 0
    assert m.last_report.swapped_out == 500
    assert all(z.scanned == 0 for z in m.watermarks().values())


# ===== direct reclaim =====================================================================


def test_reclaim_takes_the_oldest_inactive_pages_first(sem):
    m = machine(sem, nodes=1, memory="64MiB")
    old, _ = cached_file(m, "/old", 0, 2000)
    new, _ = cached_file(m, "/new", 0, 2000)
    t = m.spawn(cpu=0)
    n = m.watermarks()[0].free - marks(m, 0)[0] + 300
    a = t.mmap(n * PS)
    t.touch(a, n * PS, write=True)
    assert (t.page_nodes(a, n * PS) == 0).all()
    # About 300 pages came out of the older file, none out of the newer one, none swapped.
    assert 300 <= 2000 - old.cached_pages < 300 + 4 * 32
    assert new.cached_pages == 2000
    assert m.vmstat_counters()["pswpout"] == 0


def test_reclaim_swaps_anonymous_pages_out_oldest_first(sem):
    m = machine(sem, nodes=1, memory="64MiB", swap="256MiB")
    t = m.spawn(cpu=0)
    n = m.watermarks()[0].free - marks(m, 0)[2]
    a = t.mmap(n * PS)
    t.touch(a, n * PS, write=True)
    m.set_page_state(t, a, n * PS, "young", on=False)
    content = t.read(a, n * PS)
    b = t.mmap(2000 * PS)
    t.touch(b, 2000 * PS, write=True)
    # Room for the 2000 new pages came from swapping out the first ones of the first area.
    out = m.vmstat_counters()["pswpout"]
    assert 1800 <= out < 2000 + 4 * 32
    nodes = t.page_nodes(a, n * PS).tolist()
    assert nodes[:1800] == [-errno.ENOENT] * 1800
    assert nodes[-1000:] == [0] * 1000
    assert (t.read(a, n * PS) == content).all()
    t.touch(a, 100 * PS)
    assert (t.read(a, n * PS) == content).all()


def test_2616_mapped_pages_stay_active_while_page_cache_remains():
    """refill_inactive_zone(): with little memory mapped, reclaim_mapped stays off and the
    page cache goes first; anonymous pages are not swapped."""
    m = machine("2.6.16", nodes=1, memory="64MiB", swap="64MiB")
    f, _ = cached_file(m, "/data", 0, 6000)
    t = m.spawn(cpu=0)
    n = m.watermarks()[0].free - marks(m, 0)[0] + 1000
    a = t.mmap(n * PS)
    t.touch(a, n * PS, write=True)
    assert m.vmstat_counters()["pswpout"] == 0
    assert 1000 <= 6000 - f.cached_pages < 1000 + 4 * 32


def test_no_free_swap_and_no_page_cache_is_enomem(sem):
    m = machine(sem, nodes=1, memory="64MiB", swap=0)
    t = m.spawn(cpu=0)
    lo, _, _ = marks(m, 0)
    n = m.watermarks()[0].free - lo
    a = t.mmap((n + 1) * PS)
    t.touch(a, n * PS, write=True)
    with pytest.raises(OSError) as e:
        t.touch(a + n * PS, PS, write=True)
    assert e.value.errno == errno.ENOMEM
    assert m.node_usage()[0].free == lo
