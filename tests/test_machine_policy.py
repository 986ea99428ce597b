"""Memory policies: set_mempolicy, mbind (no move flags), get_mempolicy, where pages go under
each mode and generation, and the EINVAL validation of every generation (nothing changes on
an error)."""

from __future__ import annotations

import errno

import pytest
from conftest import SEMANTICS, small

import numasim
from numasim import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_F_MEMS_ALLOWED,
    MPOL_F_NODE,
    MPOL_F_NUMA_BALANCING,
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
    MPOL_INTERLEAVE,
    MPOL_LOCAL,
    MPOL_PREFERRED,
    MPOL_PREFERRED_MANY,
    Machine,
    NodeSpec,
)


def chain(semantics):
    """Nodes 0, 1, 2 of 8 pages with one CPU each; from node 0, node 2 (20) is nearer than
    node 1 (40). The kernel's least min_free_kbytes (128 kB) is more than such a toy machine
    holds: these tests are about the policy's node order, so they keep no reserve (the
    watermarks are tested in test_memory_pressure.py)."""
    return Machine(
        semantics=semantics,
        nodes=[NodeSpec(n, 8 * 4096, 1) for n in range(3)],
        distances=[[10, 40, 20], [40, 10, 30], [20, 30, 10]],
        swap=0,
        min_free_kbytes=0,
    )


def mask(m, nodes=()):
    return m.nodemask(nodes)


def policy_state(t):
    return t.get_mempolicy(), t.info().policy, t.vmas()


# --- where pages go -------------------------------------------------------------------------


def test_default_policy(sem):
    m = small(semantics=sem, nodes=4, pages=64)
    t = m.spawn(cpu=4)
    assert t.get_mempolicy() == (MPOL_DEFAULT, mask(m))
    a = t.mmap(4 * 4096)
    t.touch(a, 4 * 4096, write=True)
    assert t.page_nodes(a, 4 * 4096).tolist() == [2] * 4


def test_preferred_falls_back_along_the_preferred_zonelist(sem):
    m = chain(sem)
    ps = m.page_size
    t = m.spawn(cpu=0)
    t.set_mempolicy(MPOL_PREFERRED, [1])
    assert t.get_mempolicy() == (MPOL_PREFERRED, mask(m, [1]))
    assert t.info().policy == ("prefer:1" if sem == "modern" else "prefer=1")
    a = t.mmap(12 * ps)
    t.touch(a, 12 * ps, write=True)
    assert m.zonelist(1) == [1, 2, 0]
    assert t.page_nodes(a, 12 * ps).tolist() == [1] * 8 + [2] * 4
    m.check()


def test_preferred_without_nodes_is_local_allocation(sem):
    m = chain(sem)
    t = m.spawn(cpu=1)
    t.set_mempolicy(MPOL_PREFERRED, [])
    if sem == "modern":  # mpol_new(): PREFERRED with an empty mask becomes MPOL_LOCAL
        assert t.get_mempolicy() == (MPOL_LOCAL, mask(m))
        assert t.info().policy == "local"
    else:  # get_zonemask(): "or use current node instead of online map?"
        assert t.get_mempolicy() == (MPOL_PREFERRED, mask(m, [0, 1, 2]))
        assert t.info().policy == "prefer"
    a = t.mmap(2 * 4096)
    t.touch(a, 2 * 4096, write=True)
    assert t.page_nodes(a, 2 * 4096).tolist() == [1, 1]


@pytest.mark.parametrize(
    ("semantics", "order"),
    # 2.6 bind_zonelist(): the nodes in id order; 6.x: the local zonelist, restricted
    [("v5", [1] * 8 + [2] * 8), ("2.6.16", [1] * 8 + [2] * 8), ("modern", [2] * 8 + [1] * 8)],
)
def test_bind_order_and_no_escape(semantics, order):
    m = chain(semantics)
    ps = m.page_size
    t = m.spawn(cpu=0)
    t.set_mempolicy(MPOL_BIND, [1, 2])
    assert t.get_mempolicy() == (MPOL_BIND, mask(m, [1, 2]))
    a = t.mmap(17 * ps)
    t.touch(a, 16 * ps, write=True)
    assert t.page_nodes(a, 16 * ps).tolist() == order
    with pytest.raises(OSError) as e:
        t.touch(a + 16 * ps, ps, write=True)
    assert e.value.errno == errno.ENOMEM
    assert m.node_usage()[0].free == 7  # never used
    m.check()


def test_task_interleave_uses_the_vma_offset_for_faults(sem):
    m = small(semantics=sem, nodes=4, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=0)
    t.set_mempolicy(MPOL_INTERLEAVE, [1, 2, 3])
    a = t.mmap(6 * ps)
    t.touch(a, 6 * ps, write=True)
    # interleave_nid(): vm_pgoff + page index, and an anonymous area's pgoff is its address;
    # offset_il_node() takes the offset as an unsigned int before the modulo.
    pgoff = a // ps
    want = [[1, 2, 3][((pgoff + i) & 0xFFFFFFFF) % 3] for i in range(6)]
    assert t.page_nodes(a, 6 * ps).tolist() == want
    m.check()


def test_task_interleave_round_robin_for_page_cache(sem):
    m = small(semantics=sem, nodes=4, pages=64)
    ps = m.page_size
    f = m.create_file("/data", 5 * ps)
    t = m.spawn(cpu=0)
    t.set_mempolicy(MPOL_INTERLEAVE, [1, 3])
    assert t.get_mempolicy(MPOL_F_NODE) == (1, mask(m, [1, 3]))  # the next node
    s = t.mmap(5 * ps, flags="shared", file=f)
    t.touch(s, 5 * ps)  # page_cache_alloc(): alloc_pages_current, il_next
    assert t.page_nodes(s, 5 * ps).tolist() == [1, 3, 1, 3, 1]
    assert t.get_mempolicy(MPOL_F_NODE) == (3, mask(m, [1, 3]))
    m.check()


def test_mbind_sets_the_policy_of_part_of_an_area(sem):
    m = small(semantics=sem, nodes=4, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=0)
    t.set_mempolicy(MPOL_PREFERRED, [3])
    a = t.mmap(8 * ps)
    t.mbind(a + 2 * ps, 3 * ps, MPOL_BIND, [2])
    m.check()
    pol = {"v5": "bind=2", "2.6.16": "bind=2", "modern": "bind:2"}[sem]
    task_pol = "prefer:3" if sem == "modern" else "prefer=3"
    got = [(v.start, v.end, v.policy) for v in t.vmas() if v.kind != "stack"]
    assert got == [
        (a, a + 2 * ps, "default"),
        (a + 2 * ps, a + 5 * ps, pol),
        (a + 5 * ps, a + 8 * ps, "default"),
    ]
    # numa_maps shows the policy in force: the VMA's, else the task's (get_vma_policy)
    assert [line.split()[1] for line in t.numa_maps().splitlines()][:3] == (
        [task_pol, pol, task_pol] if sem == "modern" else []
    )
    t.touch(a, 8 * ps, write=True)
    assert t.page_nodes(a, 8 * ps).tolist() == [3, 3, 2, 2, 2, 3, 3, 3]
    # MPOL_F_ADDR reports the VMA policy; an area without one reports MPOL_DEFAULT
    assert t.get_mempolicy(MPOL_F_ADDR, a + 3 * ps) == (MPOL_BIND, mask(m, [2]))
    assert t.get_mempolicy(MPOL_F_ADDR, a) == (MPOL_DEFAULT, mask(m))
    assert t.get_mempolicy() == (MPOL_PREFERRED, mask(m, [3]))
    # MPOL_F_NODE|MPOL_F_ADDR: the node of the page
    assert [t.get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR, a + i * ps)[0] for i in range(8)] == [
        3,
        3,
        2,
        2,
        2,
        3,
        3,
        3,
    ]
    # back to the default policy: the pieces merge again
    t.mbind(a + 2 * ps, 3 * ps, MPOL_DEFAULT)
    assert [(v.start, v.end) for v in t.vmas() if v.kind != "stack"] == [(a, a + 8 * ps)]
    m.check()


def test_mbind_vma_interleave(sem):
    m = small(semantics=sem, nodes=4, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=0)
    a = t.mmap(8 * ps)
    t.mbind(a, 8 * ps, MPOL_INTERLEAVE, [1, 3])
    t.touch(a, 8 * ps, write=True)
    pgoff = a // ps
    want = [[1, 3][(pgoff + i) % 2] for i in range(8)]
    assert t.page_nodes(a, 8 * ps).tolist() == want
    assert [t.get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR, a + i * ps)[0] for i in range(8)] == want
    m.check()


def test_get_mempolicy_node_of_an_untouched_or_swapped_page(sem):
    m = small(semantics=sem, nodes=2, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=2)
    a = t.mmap(4 * ps)
    # lookup_node(): get_user_pages(write=0) faults in the zero page
    assert t.get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR, a)[0] == 0
    zero = -errno.EFAULT if sem == "modern" else -errno.ENOENT
    assert t.page_nodes(a, ps).tolist() == [zero]
    t.touch(a + ps, ps, write=True)
    assert m.swap_out(t, a + ps, ps) == 1
    assert t.get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR, a + ps)[0] == 1  # swapped back in
    assert t.page_nodes(a + ps, ps).tolist() == [1]
    m.check()


@pytest.mark.parametrize(
    ("semantics", "prot", "flags", "want"),
    [
        ("v5", "none", "private|anonymous", 0),
        ("2.6.16", "none", "private|anonymous", 0),
        ("modern", "none", "private|anonymous", errno.EFAULT),
        ("v5", "rw", "shared|io", errno.EFAULT),
        ("2.6.16", "rw", "shared|io", errno.EFAULT),
        ("modern", "rw", "shared|io", errno.EFAULT),
    ],
)
def test_get_mempolicy_node_of_unreadable_or_io_memory(semantics, prot, flags, want):
    m = small(semantics=semantics, nodes=2, pages=16)
    t = m.spawn(cpu=2)
    a = t.mmap(4096, prot=prot, flags=flags)
    if want == errno.EFAULT:
        with pytest.raises(OSError) as e:
            t.get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR, a)
        assert e.value.errno == errno.EFAULT
    else:
        assert t.get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR, a)[0] == want


def test_file_pages_follow_the_task_policy_shmem_the_area_policy(sem):
    m = small(semantics=sem, nodes=2, pages=64)
    ps = m.page_size
    f = m.create_file("/data", 2 * ps)
    t = m.spawn(cpu=0)
    s = t.mmap(2 * ps, flags="shared", file=f)
    p = t.mmap(2 * ps, flags="private", file=f)
    z = t.mmap(2 * ps, flags="shared|anonymous")
    for x in (s, p, z):
        t.mbind(x, 2 * ps, MPOL_BIND, [1])
    t.touch(s, 2 * ps)  # page cache: page_cache_alloc() ignores the VMA policy
    t.touch(p + ps, ps, write=True)  # the private copy follows it
    t.touch(z, 2 * ps, write=True)  # shmem follows the shared policy
    assert t.page_nodes(s, 2 * ps).tolist() == [0, 0]
    assert t.page_nodes(p, 2 * ps).tolist() == [-errno.ENOENT, 1]
    assert t.page_nodes(z, 2 * ps).tolist() == [1, 1]
    m.check()


# --- get_mempolicy flags ---------------------------------------------------------------------


def test_get_mempolicy_flags(sem):
    m = small(semantics=sem, nodes=4, pages=64)
    m.cpuset("/c", mems=[1, 2], cpus=[0, 1])
    t = m.spawn(cpu=0, cpuset="/c")
    a = t.mmap(4096)
    if sem == "modern":
        assert t.get_mempolicy(MPOL_F_MEMS_ALLOWED) == (0, mask(m, [1, 2]))
        bad = [MPOL_F_MEMS_ALLOWED | MPOL_F_NODE, MPOL_F_MEMS_ALLOWED | MPOL_F_ADDR]
    else:  # the flag is unknown before 2.6.24
        bad = [MPOL_F_MEMS_ALLOWED]
    bad += [8, 1 << 40]
    for flags in bad:
        with pytest.raises(OSError) as e:
            t.get_mempolicy(flags, a if flags & MPOL_F_ADDR else 0)
        assert e.value.errno == errno.EINVAL, flags
    with pytest.raises(OSError) as e:
        t.get_mempolicy(0, a)  # an address without MPOL_F_ADDR
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        t.get_mempolicy(MPOL_F_ADDR, a + 64 * 4096)  # no VMA there
    assert e.value.errno == errno.EFAULT
    with pytest.raises(OSError) as e:
        t.get_mempolicy(MPOL_F_NODE)  # needs an interleave task policy
    assert e.value.errno == errno.EINVAL
    assert t.page_nodes(a, 4096).tolist() == [-errno.ENOENT]  # nothing was faulted


# --- validation ------------------------------------------------------------------------------

S, R, NB = int(MPOL_F_STATIC_NODES), int(MPOL_F_RELATIVE_NODES), int(MPOL_F_NUMA_BALANCING)

# (mode, nodes) -> result per generation: an errno, or the (mode, nodes) get_mempolicy reports
VALIDATION = [
    ((9, [0]), errno.EINVAL, errno.EINVAL),
    ((-1, []), errno.EINVAL, errno.EINVAL),
    ((MPOL_DEFAULT, [1]), errno.EINVAL, errno.EINVAL),
    ((MPOL_BIND, []), errno.EINVAL, errno.EINVAL),
    ((MPOL_INTERLEAVE, []), errno.EINVAL, errno.EINVAL),
    ((MPOL_BIND, [0, 5]), errno.EINVAL, (MPOL_BIND, [0])),  # 5 does not exist
    ((MPOL_BIND, [5]), errno.EINVAL, errno.EINVAL),
    ((MPOL_LOCAL, []), errno.EINVAL, (MPOL_LOCAL, [])),
    ((MPOL_LOCAL, [1]), errno.EINVAL, errno.EINVAL),
    ((MPOL_PREFERRED_MANY, [1, 2]), errno.EINVAL, (MPOL_PREFERRED_MANY, [1, 2])),
    ((MPOL_PREFERRED_MANY, []), errno.EINVAL, errno.EINVAL),
    ((MPOL_PREFERRED, [2, 3]), (MPOL_PREFERRED, [2]), (MPOL_PREFERRED, [2])),
    ((MPOL_BIND | S, [1]), errno.EINVAL, (MPOL_BIND | S, [1])),
    ((MPOL_INTERLEAVE | R, [0, 1]), errno.EINVAL, (MPOL_INTERLEAVE | R, [0, 1])),
    ((MPOL_BIND | S | R, [1]), errno.EINVAL, errno.EINVAL),
    ((MPOL_PREFERRED | S, []), errno.EINVAL, errno.EINVAL),
    ((MPOL_INTERLEAVE | NB, [1]), errno.EINVAL, errno.EINVAL),
    ((MPOL_BIND | NB, [1]), errno.EINVAL, (MPOL_BIND | NB, [1])),
]


# 2.6.14's set_mempolicy drops nodes outside the task's mems_allowed before checking them
V5_SET_MEMPOLICY = {(MPOL_BIND, (0, 5)): (MPOL_BIND, [0])}


@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize("syscall", ["set_mempolicy", "mbind"])
@pytest.mark.parametrize(("call", "old", "new"), VALIDATION)
def test_policy_validation(semantics, syscall, call, old, new):
    m = small(semantics=semantics, nodes=4, pages=16)
    t = m.spawn()
    a = t.mmap(4096)
    t.set_mempolicy(MPOL_PREFERRED, [3])
    t.mbind(a, 4096, MPOL_PREFERRED, [3])
    mode, nodes = call
    want = new if semantics == "modern" else old
    if semantics == "v5" and syscall == "set_mempolicy":
        want = V5_SET_MEMPOLICY.get((mode, tuple(nodes)), want)
    before = policy_state(t)
    if syscall == "set_mempolicy":
        do, query = (lambda: t.set_mempolicy(mode, nodes)), (lambda: t.get_mempolicy())
    else:
        do, query = (lambda: t.mbind(a, 4096, mode, nodes)), (lambda: t.get_mempolicy(2, a))
    if isinstance(want, int):
        with pytest.raises(OSError) as e:
            do()
        assert e.value.errno == want
        assert e.value.__notes__
        assert policy_state(t) == before
    else:
        do()
        wmode, wnodes = want
        assert query() == (wmode, mask(m, wnodes))
    m.check()


def test_node_ids_beyond_max_numnodes_are_refused(sem):
    """Task.set_mempolicy passes the maxnode a C caller would to name node 64: get_nodes()
    reads the word that holds bit 64 and rejects the set bit (EINVAL; x86_64's MAX_NUMNODES is
    64 and every bit beyond it lies in a later word, spec §1.1.8), and nothing changes."""
    m = small(semantics=sem, nodes=2, pages=16)
    t = m.spawn()
    with pytest.raises(OSError) as e:
        t.set_mempolicy(MPOL_BIND, [64])
    assert e.value.errno == errno.EINVAL
    assert "bit 64" in " ".join(e.value.__notes__)
    assert t.get_mempolicy() == (MPOL_DEFAULT, mask(m))


@pytest.mark.parametrize(
    ("semantics", "result"),
    [
        ("v5", [1]),  # contextualize_policy(), 2.6.14: nodes outside the cpuset are dropped
        ("2.6.16", errno.EINVAL),  # 2.6.16: cpuset_nodes_subset_current_mems_allowed()
        ("modern", [1]),  # mpol_set_nodemask(): intersected with mems_allowed
    ],
)
def test_set_mempolicy_against_the_cpuset(semantics, result):
    m = small(semantics=semantics, nodes=4, pages=16)
    m.cpuset("/c", mems=[1, 2], cpus=[0])
    t = m.spawn(cpuset="/c")
    if isinstance(result, int):
        with pytest.raises(OSError) as e:
            t.set_mempolicy(MPOL_BIND, [0, 1])
        assert e.value.errno == result
        assert t.get_mempolicy() == (MPOL_DEFAULT, mask(m))
    else:
        t.set_mempolicy(MPOL_BIND, [0, 1])
        assert t.get_mempolicy() == (MPOL_BIND, mask(m, result))
    # mbind is checked against the online nodes only in 2.6
    a = t.mmap(4096)
    if semantics == "modern":
        with pytest.raises(OSError):
            t.mbind(a, 4096, MPOL_BIND, [0])
    else:
        t.mbind(a, 4096, MPOL_BIND, [0])
        assert t.get_mempolicy(MPOL_F_ADDR, a) == (MPOL_BIND, mask(m, [0]))


def test_mbind_errors_change_nothing(sem):
    m = small(semantics=sem, nodes=2, pages=16)
    ps = m.page_size
    t = m.spawn()
    a = t.mmap(4 * ps)
    t.munmap(a + ps, ps)
    for call, err in (
        (lambda: t.mbind(a + 1, ps, MPOL_BIND, [1]), errno.EINVAL),
        (lambda: t.mbind(a, 3 * ps, MPOL_BIND, [1]), errno.EFAULT),  # a hole
        (lambda: t.mbind(a + 8 * ps, ps, MPOL_BIND, [1]), errno.EFAULT),  # nothing mapped
    ):
        before = policy_state(t)
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == err
        assert policy_state(t) == before
    t.mbind(a, 3 * ps, MPOL_DEFAULT)  # MPOL_MF_DISCONTIG_OK for the default policy
    m.check()


def test_mode_constants():
    assert [int(x) for x in numasim.Mpol] == [0, 1, 2, 3, 4, 5]
    assert (int(MPOL_F_NODE), int(MPOL_F_ADDR), int(MPOL_F_MEMS_ALLOWED)) == (1, 2, 4)
    assert (S, R, NB) == (1 << 15, 1 << 14, 1 << 13)
    assert [int(x) for x in numasim.MpolMF] == [1, 2, 4]
