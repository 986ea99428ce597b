"""hugetlb pages: the per-node pool (nr_hugepages, surplus, nr_overcommit_hugepages), faults
that take pool or surplus pages or raise SIGBUS, the node meminfo counts, and modern hugetlb
migration (docs/hugepages.md). check() after every call that changes the machine."""

from __future__ import annotations

import pytest

import numasim

HP = 2 << 20
PS = 4096


def machine(sem="modern", pages=8192, nodes=2, **kw):
    return numasim.Machine(semantics=sem, nodes=nodes, node_memory=pages * PS, swap=0, **kw)


def huge_lines(m, node):
    out = {}
    for line in m.meminfo(node).splitlines():
        words = line.split()
        if words[2].startswith("HugePages_"):
            out[words[2].rstrip(":")] = int(words[3])
    return out


@pytest.mark.parametrize("sem", ["v5", "2.6.16", "modern"])
def test_default_pool_is_empty_with_unlimited_overcommit_so_hugetlb_faults_work(sem):
    m = machine(sem)
    assert (m.nr_hugepages(), m.nr_overcommit_hugepages) == (0, None)
    t = m.spawn()
    a = t.mmap(2 * HP, flags="private|anonymous|hugetlb")
    t.touch(a, 2 * HP, write=True)
    m.check()
    # Both pages are surplus pages of node 0 (the task's node).
    assert m.nr_hugepages(node=0) == 2 and m.nr_hugepages() == 0
    want = {"HugePages_Total": 2, "HugePages_Free": 0}
    if sem == "modern":
        want["HugePages_Surp"] = 2
    assert huge_lines(m, 0) == want
    t.munmap(a, 2 * HP)
    assert m.nr_hugepages(node=0) == 0
    m.check()


def test_kernel_defaults_raise_sigbus_naming_the_pool():
    m = machine(nr_hugepages=0, nr_overcommit_hugepages=0)
    t = m.spawn()
    a = t.mmap(HP, flags="private|anonymous|hugetlb")
    with pytest.raises(numasim.BusError, match="nr_overcommit_hugepages 0") as e:
        t.touch(a, PS, write=True)
    assert e.value.address == a
    m.check()


def test_per_node_pool_from_the_constructor_and_faults_on_the_policys_node():
    m = machine(nr_hugepages={0: 1, 1: 2}, nr_overcommit_hugepages=0)
    assert (m.nr_hugepages(node=0), m.nr_hugepages(node=1), m.nr_hugepages()) == (1, 2, 3)
    assert huge_lines(m, 1) == {"HugePages_Total": 2, "HugePages_Free": 2, "HugePages_Surp": 0}
    t = m.spawn()
    a = t.mmap(2 * HP, flags="private|anonymous|hugetlb")
    t.mbind(a, 2 * HP, numasim.MPOL_BIND, [1])
    t.touch(a, 2 * HP, write=True)
    assert set(t.page_nodes(a, 2 * HP)) == {1}
    assert huge_lines(m, 1)["HugePages_Free"] == 0
    # Bound to node 1, whose pool is empty now: SIGBUS, though node 0 has a free page.
    b = t.mmap(HP, flags="private|anonymous|hugetlb")
    t.mbind(b, HP, numasim.MPOL_BIND, [1])
    with pytest.raises(numasim.BusError):
        t.touch(b, PS)
    m.check()
    t.munmap(a, 2 * HP)
    assert huge_lines(m, 1)["HugePages_Free"] == 2
    m.check()


def test_set_nr_hugepages_grows_and_shrinks_and_checks_the_node():
    m = machine()
    free = m.node_usage()[0].free
    m.set_nr_hugepages(4)
    assert m.nr_hugepages() == 4
    assert m.nr_hugepages(node=0) + m.nr_hugepages(node=1) == 4
    m.set_nr_hugepages(1, node=0)
    assert m.nr_hugepages(node=0) == 1
    m.set_nr_hugepages(0)
    assert m.node_usage()[0].free == free
    with pytest.raises(ValueError, match="node 7"):
        m.set_nr_hugepages(1, node=7)
    with pytest.raises(ValueError, match="nr_hugepages"):
        m.set_nr_hugepages(-1)
    m.nr_overcommit_hugepages = 3
    assert m.nr_overcommit_hugepages == 3
    m.nr_overcommit_hugepages = None
    m.check()


# ----- migration (modern x86_64): unmap_and_move_huge_page() -------------------------------


def hugetlb_area(m, t, pages):
    a = t.mmap(pages * HP, flags="private|anonymous|hugetlb")
    t.touch(a, pages * HP, write=True)
    return a


def test_migrate_pages_takes_a_free_pool_page_of_the_destination():
    m = machine(nr_hugepages={0: 2, 1: 2}, nr_overcommit_hugepages=0)
    t = m.spawn(cpu=0)
    a = hugetlb_area(m, t, 2)
    before = t.read(a, 2 * HP)
    assert numasim.migrate_pages(t, 0, 3, [0], [1]) == 0
    m.check()
    r = m.last_report
    assert (r.hugetlb_moved, r.moved_folios, r.moved, r.thp_moved) == (2, 2, 1024, 0)
    assert r.time.copy_ns > 0 and r.time.tlb_ns > 0
    assert m.vmstat_counters()["pgmigrate_success"] == 1024
    assert (t.read(a, 2 * HP) == before).all()
    assert (t.page_nodes(a, 2 * HP) == 1).all()
    # The destination's pool pages are in use, the source's are free again.
    assert huge_lines(m, 0) == {"HugePages_Total": 2, "HugePages_Free": 2, "HugePages_Surp": 0}
    assert huge_lines(m, 1) == {"HugePages_Total": 2, "HugePages_Free": 0, "HugePages_Surp": 0}


def test_migrate_pages_takes_a_temporary_page_when_the_destination_pool_is_empty():
    # The kernel text (alloc_hugetlb_folio_nodemask() -> alloc_migrate_hugetlb_folio()), not
    # the "only when the destination pool has a free page".
    m = machine(nr_hugepages={0: 1}, nr_overcommit_hugepages=0)
    t = m.spawn(cpu=0)
    a = hugetlb_area(m, t, 1)
    before = t.read(a, HP)
    assert numasim.migrate_pages(t, 0, 3, [0], [1]) == 0
    m.check()
    assert m.last_report.hugetlb_moved == 1
    assert (t.read(a, HP) == before).all()
    # move_hugetlb_state(): the persistent page is on node 1 now, node 0's went to the buddy.
    assert (m.nr_hugepages(node=0), m.nr_hugepages(node=1), m.nr_hugepages()) == (0, 1, 1)


def test_migrate_pages_leaves_the_page_when_neither_is_possible():
    m = machine(pages=2048)
    t = m.spawn(cpu=0)
    a = hugetlb_area(m, t, 1)
    hog = m.spawn(cpu=2)
    b = hog.mmap(1500 * PS)
    hog.touch(b, 1500 * PS, write=True)
    with pytest.raises(OSError) as e:
        numasim.migrate_pages(t, 0, 3, [0], [1])
    assert e.value.errno == 12  # ENOMEM: migrate_hugetlbs() stops the call
    m.check()
    assert (t.page_nodes(a, HP) == 0).all()
    assert m.last_report.hugetlb_moved == 0


def test_shared_hugetlb_pages_move_only_with_move_all():
    m = machine()
    t = m.spawn(cpu=0)
    a = hugetlb_area(m, t, 1)
    c = t.fork()
    assert numasim.migrate_pages(t, 0, 3, [0], [1]) == 0
    assert m.last_report.skipped.shared == 512
    assert (t.page_nodes(a, HP) == 0).all()
    m.check()
    # migrate_pages() by root: MPOL_MF_MOVE_ALL (CAP_SYS_NICE).
    root = m.spawn(uid=0, cpu=0)
    assert numasim.migrate_pages(root, t.pid, 3, [0], [1]) == 0
    m.check()
    assert m.last_report.hugetlb_moved == 1
    assert (t.page_nodes(a, HP) == 1).all() and (c.page_nodes(a, HP) == 1).all()


def test_move_pages_and_mbind_move_hugetlb_pages():
    m = machine()
    t = m.spawn(cpu=0)
    a = hugetlb_area(m, t, 2)
    rc, st = numasim.move_pages(t, 0, [a + 5 * PS], [1])
    m.check()
    assert (rc, st.tolist()) == (0, [1])
    assert (t.page_nodes(a, HP) == 1).all() and (t.page_nodes(a + HP, HP) == 0).all()
    numasim.mbind(t, a + HP, HP, numasim.MPOL_BIND, [1], 3, numasim.MPOL_MF_MOVE)
    m.check()
    assert (t.page_nodes(a, 2 * HP) == 1).all()


@pytest.mark.parametrize("sem", ["v5", "2.6.16"])
def test_old_generations_never_move_hugetlb_pages(sem):
    m = machine(sem)
    t = m.spawn(cpu=0)
    a = hugetlb_area(m, t, 1)
    numasim.migrate_pages(t, 0, 3, [0], [1])
    m.check()
    assert (m.last_report.moved, m.last_report.hugetlb_moved) == (0, 0)
    assert (t.page_nodes(a, HP) == 0).all()


@pytest.mark.parametrize("how", ["copy", "pickle"])
def test_a_snapshot_keeps_the_pool(how):
    import pickle

    m = machine(nr_hugepages={0: 2, 1: 1}, nr_overcommit_hugepages=1)
    t = m.spawn()
    a = t.mmap(HP, flags="private|anonymous|hugetlb")
    t.touch(a, HP, write=True)
    c = m.copy() if how == "copy" else pickle.loads(pickle.dumps(m))
    c.check()
    for node in (0, 1):
        assert huge_lines(c, node) == huge_lines(m, node)
    assert (c.nr_hugepages(), c.nr_overcommit_hugepages) == (3, 1)
    # The pools are independent afterwards: shrinking the copy's pool frees its two free
    # pages and leaves the one in use as a surplus page; the original keeps its pool.
    c.set_nr_hugepages(0)
    c.check()
    assert c.nr_hugepages() == 0
    assert huge_lines(c, 0) == {"HugePages_Total": 1, "HugePages_Free": 0, "HugePages_Surp": 1}
    assert huge_lines(c, 1) == {"HugePages_Total": 0, "HugePages_Free": 0, "HugePages_Surp": 0}
    assert m.nr_hugepages() == 3
    assert huge_lines(m, 0) == {"HugePages_Total": 2, "HugePages_Free": 1, "HugePages_Surp": 0}
    m.check()
