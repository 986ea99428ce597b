"""Transparent huge pages (modern semantics): the machine's mode, faults, splitting, migration
and the kernel texts that show them (docs/hugepages.md). check() after every call that changes
the machine."""

from __future__ import annotations

import errno

import numpy as np
import pytest

import numasim
from numasim import MADV_HUGEPAGE

HP = 2 << 20
PS = 4096
BASE = 0x4000_0000


def thp_machine(mode="always", pages=8192, nodes=2):
    return numasim.Machine(
        semantics="modern", nodes=nodes, node_memory=pages * PS, swap="64MiB", thp=mode
    )


def area(t, hps):
    return t.mmap(hps * HP, flags="private|anonymous|fixed", addr=BASE)


@pytest.mark.parametrize("sem", ["v5", "2.6.16"])
def test_old_generations_refuse_the_thp_option_naming_the_generation(sem):
    with pytest.raises(ValueError, match=sem):
        numasim.Machine(semantics=sem, nodes=2, thp="always")
    assert numasim.Machine(semantics=sem, nodes=2).thp == "never"


def test_the_mode_is_checked_and_defaults_to_madvise():
    assert numasim.Machine(semantics="modern", nodes=2).thp == "madvise"
    with pytest.raises(ValueError, match="always"):
        numasim.Machine(semantics="modern", nodes=2, thp="sometimes")
    with pytest.raises(TypeError):
        numasim.Machine(semantics="modern", nodes=2, thp=True)
    with pytest.raises(ValueError, match="ia64"):
        numasim.Machine(semantics="modern", arch="ia64", nodes=2, thp="always")


def test_a_write_fault_maps_a_thp_and_the_texts_show_it():
    m = thp_machine()
    t = m.spawn(cpu=0)
    a = area(t, 2)
    t.touch(a, HP, write=True)
    m.check()
    assert t.page_nodes(a, HP).tolist() == [0] * 512
    vm = m.vmstat_counters()
    assert (vm["thp_fault_alloc"], vm["thp_fault_fallback"]) == (1, 0)
    assert "thp_fault_alloc 1\n" in m.vmstat()
    assert "Node 0 AnonHugePages:      2048 kB\n" in m.meminfo(0)
    line = next(x for x in t.numa_maps().splitlines() if x.startswith(f"{a:x}"))
    assert " anon=512 " in line and " N0=512 " in line
    # Each base page of the THP reads its own stamp, written in address order.
    c = t.read(a, HP)
    assert np.all(np.diff(c) == 1)


def test_madvise_mode_follows_madv_hugepage():
    m = thp_machine("madvise")
    t = m.spawn(cpu=0)
    a = area(t, 2)
    t.touch(a, HP, write=True)
    assert m.vmstat_counters()["thp_fault_alloc"] == 0
    t.madvise(a + HP, HP, MADV_HUGEPAGE)
    t.touch(a + HP, HP, write=True)
    m.check()
    assert m.vmstat_counters()["thp_fault_alloc"] == 1


def test_migrate_pages_moves_thps_whole_and_counts_them():
    m = thp_machine()
    t = m.spawn(cpu=0)
    a = area(t, 4)
    t.touch(a, 4 * HP, write=True)
    t.touch(a + 3 * PS, PS, write=True)
    before = t.read(a, 4 * HP)
    assert numasim.migrate_pages(t, 0, 3, [0], [1]) == 0
    m.check()
    r = m.last_report
    assert (r.thp_moved, r.moved_folios, r.moved, r.thp_split) == (4, 4, 2048, 0)
    vm = m.vmstat_counters()
    assert (vm["thp_migration_success"], vm["pgmigrate_success"]) == (4, 2048)
    assert (t.read(a, 4 * HP) == before).all()
    assert (t.page_nodes(a, 4 * HP) == 1).all()


def test_move_pages_of_one_base_page_moves_its_thp():
    m = thp_machine()
    t = m.spawn(cpu=0)
    a = area(t, 1)
    t.touch(a, HP, write=True)
    rc, st = numasim.move_pages(t, 0, [a + 77 * PS], [1])
    m.check()
    assert (rc, st.tolist()) == (0, [1])
    assert (t.page_nodes(a, HP) == 1).all()
    rc, st = numasim.move_pages(t, 0, [a, a + PS, a + 2 * PS], [0, 0, 0])
    m.check()
    assert (rc, st.tolist()) == (0, [0, -errno.EBUSY, 0])


def test_partial_munmap_splits_and_fork_cow_keeps_the_child_content():
    m = thp_machine()
    t = m.spawn(cpu=0)
    a = area(t, 2)
    t.touch(a, 2 * HP, write=True)
    before = t.read(a, 2 * HP)
    c = t.fork()
    m.check()
    t.touch(a + 5 * PS, PS, write=True)
    m.check()
    assert (c.read(a, 2 * HP) == before).all()
    t.munmap(a + HP + PS, PS)
    m.check()
    vm = m.vmstat_counters()
    assert vm["thp_split_page"] == 2
    assert vm["thp_split_pmd"] >= 2
    c.exit()
    t.exit()
    m.check()


def test_thps_mapped_before_madv_nohugepage_keep_faulting_at_the_pmd_level():
    """MADV_NOHUGEPAGE splits nothing; a later store, read, touch_pages or get_mempolicy
    lookup on the THPs already mapped is handled at the PMD level (this used to abort the
    machine with "a PTE under a huge PMD")."""
    m = thp_machine()
    t = m.spawn(cpu=0)
    a = area(t, 2)
    t.touch(a, 2 * HP, write=True)
    before = t.read(a, 2 * HP)
    t.madvise(a, 2 * HP, numasim.MADV_NOHUGEPAGE)
    node, _ = numasim.get_mempolicy(
        t, 65, a + HP + 3 * PS, numasim.MPOL_F_NODE | numasim.MPOL_F_ADDR
    )
    assert node == 0
    assert t.touch(a, HP, write=True).faults == 0
    t.touch_pages(np.array([a + HP + 7 * PS], dtype=np.uint64), write=True)
    after = t.read(a, 2 * HP)
    assert (after[:512] != before[:512]).all()
    assert (np.delete(after[512:], 7) == np.delete(before[512:], 7)).all()
    assert after[512 + 7] != before[512 + 7]
    assert m.vmstat_counters()["thp_split_page"] == 0
    m.check()
