"""Machine topology: node specs (sparse ids, memoryless and CPU-less nodes), SLIT distances,
MAX_NUMNODES, presets, node states, zonelists (build_zonelists of each generation, checked
against an independent transcription) and allocation fallback along them."""

from __future__ import annotations

import errno
from collections import defaultdict

import pytest
from conftest import SEMANTICS, assert_all_free, small
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numasim
from numasim import Machine, NodeSpec

pytest.register_assert_rewrite("syscall_scene")
from syscall_scene import snapshot  # noqa: E402

# --- construction ------------------------------------------------------------------------------


def test_default_machine():
    m = Machine()
    assert (m.arch.name, m.semantics, m.page_size) == ("x86_64", "modern", 4096)
    assert m.nodes == [0, 1, 2, 3]
    assert {n: m.node_cpus(n) for n in m.nodes} == {0: [0, 1], 1: [2, 3], 2: [4, 5], 3: [6, 7]}
    assert m.nr_cpus == 8
    assert {n: (u.total, u.free, u.used) for n, u in m.node_usage().items()} == {
        0: (262144, 262143, 1),  # the zero page
        1: (262144, 262144, 0),
        2: (262144, 262144, 0),
        3: (262144, 262144, 0),
    }
    assert [[m.distance(a, b) for b in m.nodes] for a in m.nodes] == [
        [10, 20, 20, 20],
        [20, 10, 20, 20],
        [20, 20, 10, 20],
        [20, 20, 20, 10],
    ]
    (d,) = m.swap_info()
    assert (d.name, d.priority, d.pages, d.used) == ("/dev/swap0", -1, 1 << 20, 0)
    assert m.core.page_cluster == 3
    assert m.now_ns == 0
    assert repr(m) == (
        "Machine(arch='x86_64', semantics='modern', kernel='6.12', nodes=[0, 1, 2, 3], "
        "memory=4096 MiB, cpus=8, costs='zen3-2021')"
    )
    m.check()


@pytest.mark.parametrize("semantics", ["2.6.16", "modern"])
def test_sparse_memoryless_and_cpuless_nodes(semantics):
    # node 0: memory + 2 CPUs; node 2: 2 CPUs, no memory; node 5: memory, no CPUs
    m = Machine(
        semantics=semantics,
        nodes=[NodeSpec(0, "1MiB", 2), NodeSpec(2, 0, 2), NodeSpec(5, "1MiB", 0)],
        distances=[[10, 20, 30], [20, 10, 15], [30, 15, 10]],
    )
    m.check()
    assert m.nodes == [0, 2, 5]
    assert {n: m.node_cpus(n) for n in m.nodes} == {0: [0, 1], 2: [2, 3], 5: []}
    st_ = {k: list(v) for k, v in m.node_states._asdict().items()}
    assert st_ == {
        "possible": [0, 2, 5],
        "online": [0, 2, 5],
        "has_memory": [0, 5],
        "has_cpu": [0, 2],
    }
    assert {n: (u.total, u.free) for n, u in m.node_usage().items()} == {
        0: (256, 255),
        2: (0, 0),
        5: (256, 256),
    }
    assert (m.distance(0, 2), m.distance(2, 5), m.distance(5, 0)) == (20, 15, 30)
    # zonelists hold only nodes with memory, nearest first
    assert {n: m.zonelist(n) for n in m.nodes} == {0: [0, 5], 2: [5, 0], 5: [5, 0]}
    # a task on the memoryless node allocates from its nearest node with memory
    t = m.spawn(cpu=3)
    # mems_allowed: node_online_map in 2.6 (memoryless node 2 included), N_MEMORY in 6.x
    mems = [0, 5] if m.semantics == "modern" else [0, 2, 5]
    assert (t.cpu, t.node, list(t.mems_allowed)) == (3, 2, mems)
    a = t.mmap(4 * m.page_size)
    t.touch(a, 4 * m.page_size, write=True)
    m.check()
    assert t.page_nodes(a, 4 * m.page_size).tolist() == [5, 5, 5, 5]
    assert t.resident_by_node() == {0: 0, 2: 0, 5: 4}
    t.exit()
    assert_all_free(m)


def test_node_specs_as_dicts_and_explicit_cpus():
    m = Machine(
        nodes=[
            {"nid": 3, "memory": "64KiB", "cpus": [1]},
            {"id": 1, "memory": 65536, "cpus": [0, 2]},
        ],
        distances=[[10, 25], [25, 10]],
    )
    assert m.nodes == [1, 3]
    assert (m.node_cpus(1), m.node_cpus(3)) == ([0, 2], [1])
    assert [m.core.cpu_to_node(c) for c in range(3)] == [1, 3, 1]
    assert m.distance(1, 3) == m.distance(3, 1) == 25
    assert {n: u.total for n, u in m.node_usage().items()} == {1: 16, 3: 16}


def test_distances_follow_the_order_nodes_are_given_in():
    # the matrix is in the user's order (2 then 0); asymmetric SLITs are allowed
    m = Machine(
        nodes=[NodeSpec(2, "64KiB", [0]), NodeSpec(0, "64KiB", [1])],
        distances=[[10, 30], [31, 10]],
    )
    assert (m.distance(2, 0), m.distance(0, 2), m.distance(0, 0), m.distance(2, 2)) == (
        30,
        31,
        10,
        10,
    )


@pytest.mark.parametrize(
    ("arch", "n", "maxn"),
    [("i386", 17, 16), ("i386-pae", 17, 16), ("x86_64", 65, 64), ("ia64-64k", 1025, 1024)],
)
def test_more_nodes_than_max_numnodes_is_refused(arch, n, maxn):
    ps = numasim.arch(arch).page_size
    with pytest.raises(ValueError, match=rf"{n} nodes requested .* MAX_NUMNODES = {maxn}"):
        Machine(arch=arch, nodes=n, node_memory=ps)
    if maxn <= 64:
        Machine(arch=arch, nodes=maxn, node_memory=ps, cpus_per_node=1).check()
    m = Machine(arch=arch, nodes=[NodeSpec(0, ps, 1), NodeSpec(maxn - 1, ps, 1)])
    assert m.nodes == [0, maxn - 1] and m.node_states.online.nbits == maxn
    with pytest.raises(ValueError, match=rf"node {maxn} is out of range.*MAX_NUMNODES = {maxn}"):
        Machine(arch=arch, nodes=[NodeSpec(maxn, ps, 1)])


def test_a_bigger_nodes_shift_allows_more_nodes():
    a = numasim.arch("x86_64").with_nodes_shift(7)
    m = Machine(arch=a, nodes=65, node_memory="64KiB", cpus_per_node=1)
    assert m.nodes[-1] == 64 and m.arch.max_numnodes == 128
    assert m.node_states.online.nbits == 128


@pytest.mark.parametrize(
    ("kwargs", "exc", "msg"),
    [
        ({"semantics": "2.6.17"}, ValueError, "unknown semantics"),
        ({"arch": "sparc"}, ValueError, "unknown arch"),
        ({"nodes": 0}, ValueError, "at least 1"),
        ({"nodes": True}, TypeError, "nodes must be"),
        ({"nodes": [NodeSpec(0), NodeSpec(0)]}, ValueError, "listed twice"),
        ({"nodes": [NodeSpec(-1)]}, ValueError, "node id must be between 0 and"),
        ({"nodes": [{"nid": 0, "bogus": 1}]}, ValueError, "unknown node spec keys"),
        ({"nodes": [{"memory": "1MiB"}]}, ValueError, "needs an 'nid'"),
        (
            {"nodes": [NodeSpec(0, cpus=[0]), NodeSpec(1, cpus=[0])]},
            ValueError,
            "cpu 0 is listed on node 0 and node 1",
        ),
        ({"nodes": [NodeSpec(0, cpus=[1 << 16])]}, ValueError, "node 0 cpu must be between"),
        ({"nodes": [NodeSpec(0, cpus=[])]}, ValueError, "at least one CPU"),
        ({"nodes": [NodeSpec(0, cpus=-1)]}, ValueError, "CPU count must be between 0 and"),
        ({"nodes": [NodeSpec(0, memory=0), NodeSpec(1, memory=0)]}, ValueError, "no memory"),
        ({"nodes": [NodeSpec(0, cpus=0)]}, ValueError, "at least one CPU"),
        ({"nodes": 1, "node_memory": 4097}, ValueError, "not a multiple of the page size"),
        ({"nodes": 1, "node_memory": "1XB"}, ValueError, "is not a size"),
        ({"nodes": 2, "distances": [[10, 20]]}, ValueError, "2x2 matrix"),
        ({"nodes": 2, "distances": [[10, 5], [20, 10]]}, ValueError, "11..255"),
        ({"nodes": 2, "distances": [[11, 20], [20, 10]]}, ValueError, "10 on the diagonal"),
        ({"nodes": 2, "distances": [[10, 256], [20, 10]]}, ValueError, "11..255"),
        ({"page_cluster": 17}, ValueError, "at most 16"),
        ({"page_cluster": -1}, ValueError, "page_cluster must be between 0 and"),
        ({"swap": -1}, ValueError, "swap must be between 0 and 2\\*\\*64-1 bytes"),
    ],
)
def test_bad_machine_arguments(kwargs, exc, msg):
    args = {"node_memory": "1MiB", **kwargs}
    with pytest.raises(exc, match=msg):
        Machine(**args)


def test_node_queries_on_missing_nodes():
    m = small(nodes=2, pages=16)
    with pytest.raises(ValueError, match="node 7 does not exist"):
        m.node_cpus(7)
    with pytest.raises(ValueError, match="no distance between nodes 0 and 7"):
        m.distance(0, 7)
    with pytest.raises(ValueError, match="node 7 does not exist"):
        m.meminfo(7)
    with pytest.raises(ValueError, match="node 7 does not exist"):
        m.zonelist(7)


# --- presets -------------------------------------------------------------------------------------

PRESET_FIGURES = {
    # name: (arch, semantics, nodes, bytes per node, cpus per node, swap bytes)
    "altix-ia64-64": ("ia64", "modern", 64, 2 << 30, [2] * 64, 8 << 30),
    "opteron-4s": ("x86_64", "modern", 4, 4 << 30, [2] * 4, 4 << 30),
    "numaq-i386-16": ("i386-pae", "modern", 16, 2 << 30, [4] * 16, 2 << 30),
    "modern-2s-cxl": ("x86_64", "modern", 4, None, [16, 16, 0, 0], 16 << 30),
}


def test_preset_names():
    assert numasim.PRESETS == tuple(PRESET_FIGURES)
    assert tuple(Machine.presets()) == numasim.PRESETS


@pytest.mark.parametrize("name", list(PRESET_FIGURES))
def test_preset_matches_its_documented_figures(name):
    arch, semantics, n, per_node, cpus, swap = PRESET_FIGURES[name]
    doc = Machine.presets()[name]
    assert len(doc) > 80  # documented: where the figures come from
    m = Machine.preset(name)
    m.check()
    assert (m.arch.name, m.semantics, len(m.nodes)) == (arch, semantics, n)
    assert [len(m.node_cpus(x)) for x in m.nodes] == cpus
    assert m.swap_info()[0].pages == swap // m.page_size
    totals = [m.node_usage()[x].total * m.page_size for x in m.nodes]
    if per_node is not None:
        assert totals == [per_node] * n
    # every preset's SLIT is symmetric with 10 on the diagonal
    d = [[m.distance(a, b) for b in m.nodes] for a in m.nodes]
    assert all(d[i][i] == 10 for i in range(n))
    assert d == [list(r) for r in zip(*d, strict=True)]


def test_preset_altix_fat_tree_distances():
    m = Machine.preset("altix-ia64-64")
    assert "fat tree" in Machine.presets()["altix-ia64-64"]
    assert [m.distance(0, b) for b in (0, 1, 2, 3, 4, 8, 16, 32, 63)] == [
        10,
        20,
        25,
        25,
        30,
        35,
        40,
        45,
        45,
    ]
    assert m.distance(5, 4) == 20 and m.distance(62, 63) == 20


def test_preset_opteron_square():
    m = Machine.preset("opteron-4s")
    assert [[m.distance(a, b) for b in range(4)] for a in range(4)] == [
        [10, 20, 20, 30],
        [20, 10, 30, 20],
        [20, 30, 10, 20],
        [30, 20, 20, 10],
    ]
    assert "HyperTransport" in Machine.presets()["opteron-4s"]


def test_preset_numaq_has_no_slit():
    m = Machine.preset("numaq-i386-16")
    assert {m.distance(a, b) for a in range(16) for b in range(16) if a != b} == {20}
    assert m.arch.max_numnodes == 16 and m.arch.pt_levels == 3


def test_preset_modern_cxl():
    m = Machine.preset("modern-2s-cxl")
    totals = {x: m.node_usage()[x].total * m.page_size for x in m.nodes}
    assert totals == {0: 64 << 30, 1: 64 << 30, 2: 128 << 30, 3: 128 << 30}
    assert list(m.node_states.has_cpu) == [0, 1]
    assert list(m.node_states.has_memory) == [0, 1, 2, 3]
    assert (m.node_cpus(0), m.node_cpus(1)) == (list(range(16)), list(range(16, 32)))
    # the near CXL node comes right after the socket's own memory
    assert [m.zonelist(n) for n in range(4)] == [
        [0, 2, 1, 3],
        [1, 3, 0, 2],
        [2, 0, 3, 1],
        [3, 1, 2, 0],
    ]


def test_preset_overrides_and_unknown_name():
    m = Machine.preset("opteron-4s", semantics="modern", node_memory="16MiB", swap=0)
    assert (m.semantics, m.node_usage()[0].total, m.swap_info()) == ("modern", 4096, [])
    with pytest.raises(ValueError, match="unknown preset 'cray'; expected one of altix-ia64-64"):
        Machine.preset("cray")


# --- zonelists -----------------------------------------------------------------------------------


def ref_zonelists(sem, nodes, dist, max_numnodes):
    """build_all_zonelists()/find_next_best_node() of mm/page_alloc.c, transcribed independently:
    2.6.14 (v5: rotated scan, local node chosen inside the loop), 2.6.16 (online nodes in order,
    +1 below the local node) and 6.x (N_MEMORY nodes, node_load += 1, scale MAX_NUMNODES).
    ``nodes`` is [(nid, has_memory, has_cpus)]; returns {nid: [nodes with memory in order]}."""
    online = sorted(n for n, _, _ in nodes)
    mem = {n for n, hm, _ in nodes if hm}
    cpu = {n for n, _, hc in nodes if hc}
    nr = len(online)
    node_load = defaultdict(int)
    scale = max_numnodes if sem == "modern" else nr * max_numnodes

    def value(local, n, below):
        v = dist(local, n) + (below and n < local) + (n in cpu)
        return v * scale + node_load[n]

    def next_best(local, used):
        best, best_v = None, None
        if sem == "v5":
            for i in online:
                n = (local + i) % nr
                if n in used:
                    continue
                if local not in used:
                    best = local
                    break
                v = value(local, n, False)
                if best_v is None or v < best_v:
                    best, best_v = n, v
        else:
            if local not in used:
                used.add(local)
                return local
            for n in sorted(mem) if sem == "modern" else online:
                if n in used:
                    continue
                v = value(local, n, True)
                if best_v is None or v < best_v:
                    best, best_v = n, v
        if best is not None:
            used.add(best)
        return best

    out = {}
    for local in online:
        used, order, prev, load = set(), [], local, nr
        while (node := next_best(local, used)) is not None:
            if dist(local, node) != dist(local, prev):
                node_load[node] += 1 if sem == "modern" else load
            prev, load = node, load - 1
            if node in mem:
                order.append(node)
        out[local] = order
    return out


def zonelists_of(m):
    return {n: m.zonelist(n) for n in m.nodes}


def ref_of(m):
    usage = m.node_usage()
    nodes = [(n, usage[n].total > 0, bool(m.node_cpus(n))) for n in m.nodes]
    return ref_zonelists(m.semantics, nodes, m.distance, m.arch.max_numnodes)


def test_opteron_zonelists_by_hand():
    # 2.6.16 worked by hand: node_load makes equidistant nodes take turns (round-robin)
    got = {
        s: zonelists_of(Machine.preset("opteron-4s", semantics=s, node_memory="64KiB"))
        for s in SEMANTICS
    }
    assert (
        got["2.6.16"]
        == got["modern"]
        == {
            0: [0, 1, 2, 3],
            1: [1, 3, 0, 2],
            2: [2, 3, 0, 1],
            3: [3, 2, 1, 0],
        }
    )
    # 2.6.14 has no "penalize nodes under us": node 1 falls back to 0 before 3
    assert got["v5"] == {0: [0, 1, 2, 3], 1: [1, 0, 3, 2], 2: [2, 3, 0, 1], 3: [3, 2, 1, 0]}


@pytest.mark.parametrize("name", list(PRESET_FIGURES))
@pytest.mark.parametrize("semantics", SEMANTICS)
def test_preset_zonelists_match_reference(name, semantics):
    ps = numasim.arch(PRESET_FIGURES[name][0]).page_size
    m = Machine.preset(name, semantics=semantics, node_memory=ps)
    if name == "modern-2s-cxl":
        m = Machine.preset(name, semantics=semantics)
    assert zonelists_of(m) == ref_of(m)


@st.composite
def topologies(draw):
    sem = draw(st.sampled_from(SEMANTICS))
    n = draw(st.integers(1, 6))
    if sem == "v5":
        # 2.6.14 crashed on online maps with holes: only contiguous ids are meaningful
        ids = list(range(n))
    else:
        ids = sorted(draw(st.sets(st.integers(0, 11), min_size=n, max_size=n)))
    mem = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    cpus = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    mem[draw(st.integers(0, n - 1))] = True
    if not any(cpus):
        cpus[draw(st.integers(0, n - 1))] = 1
    dist = [[10 if i == j else draw(st.integers(11, 40)) for j in range(n)] for i in range(n)]
    if draw(st.booleans()):
        dist = [[min(dist[i][j], dist[j][i]) for j in range(n)] for i in range(n)]
    specs = [NodeSpec(nid, 4096 if mm else 0, c) for nid, mm, c in zip(ids, mem, cpus, strict=True)]
    return sem, specs, dist


@settings(
    max_examples=3 * settings().max_examples // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(topologies())
def test_zonelists_match_reference(topo):
    sem, specs, dist = topo
    m = Machine(semantics=sem, nodes=specs, distances=dist)
    assert zonelists_of(m) == ref_of(m)
    for n in m.nodes:
        zl = m.zonelist(n)
        assert set(zl) == set(m.node_states.has_memory)
        if sem != "v5" and m.node_usage()[n].total:
            assert zl[0] == n


# --- allocation along the zonelist ------------------------------------------------------------


def chain(semantics="2.6.16"):
    """Three nodes of 8 pages; from node 0, node 2 is nearer than node 1. The kernel's least
    min_free_kbytes (128 kB) is more than such a toy machine holds: these tests are about the
    zonelist, so they keep no reserve (the watermarks: test_memory_pressure.py)."""
    return Machine(
        semantics=semantics,
        nodes=[NodeSpec(0, 8 * 4096, 1), NodeSpec(1, 8 * 4096, 1), NodeSpec(2, 8 * 4096, 1)],
        distances=[[10, 40, 20], [40, 10, 30], [20, 30, 10]],
        swap=0,
        min_free_kbytes=0,
    )


def test_allocation_falls_back_to_the_nearest_node_then_enomem(sem):
    m = chain(sem)
    ps = m.page_size
    assert m.zonelist(0) == [0, 2, 1]
    t = m.spawn(cpu=0)
    a = t.mmap(32 * ps)
    t.touch(a, 20 * ps, write=True)
    m.check()
    # node 0 has 7 free pages (the zero page lives there), then node 2, then node 1
    assert t.page_nodes(a, 20 * ps).tolist() == [0] * 7 + [2] * 8 + [1] * 5
    assert {n: u.free for n, u in m.node_usage().items()} == {0: 0, 1: 3, 2: 0}
    # everything full: ENOMEM; the pages faulted before it stay
    with pytest.raises(OSError) as e:
        t.touch(a + 20 * ps, 4 * ps, write=True)
    assert e.value.errno == errno.ENOMEM
    m.check()
    assert t.page_nodes(a + 20 * ps, 4 * ps).tolist() == [1, 1, 1, -errno.ENOENT]
    assert {n: u.free for n, u in m.node_usage().items()} == {0: 0, 1: 0, 2: 0}
    # a read fault needs no memory: it maps the zero page
    before = snapshot(m)
    t.touch(a + 30 * ps, ps)
    assert m.node_usage() == before["usage"]
    t.exit()
    assert_all_free(m)


def test_freeing_memory_makes_the_preferred_node_usable_again():
    m = chain()
    ps = m.page_size
    t = m.spawn(cpu=0)
    a = t.mmap(10 * ps)
    t.touch(a, 10 * ps, write=True)
    assert t.page_nodes(a, 10 * ps).tolist() == [0] * 7 + [2] * 3
    t.munmap(a, 2 * ps)
    m.check()
    b = t.mmap(3 * ps)
    t.touch(b, 3 * ps, write=True)
    assert t.page_nodes(b, 3 * ps).tolist() == [0, 0, 2]


def test_cpuset_mems_are_a_hard_wall(sem):
    m = chain(sem)
    ps = m.page_size
    m.cpuset("/a", mems=[0, 1], cpus=[0])
    t = m.spawn(cpu=0, cpuset="/a")
    assert list(t.mems_allowed) == [0, 1]
    a = t.mmap(20 * ps)
    t.touch(a, 15 * ps, write=True)
    # node 2 is nearer but outside the cpuset
    assert t.page_nodes(a, 15 * ps).tolist() == [0] * 7 + [1] * 8
    with pytest.raises(OSError) as e:
        t.touch(a + 15 * ps, ps, write=True)
    assert e.value.errno == errno.ENOMEM
    assert m.node_usage()[2].free == 8
    m.check()


def test_memoryless_local_node_uses_its_zonelist():
    # 4-page nodes: no reserve, as in chain().
    m = Machine(
        semantics="2.6.16",
        nodes=[NodeSpec(0, 4 * 4096, 1), NodeSpec(1, 0, 1), NodeSpec(2, 4 * 4096, 1)],
        distances=[[10, 30, 40], [30, 10, 20], [40, 20, 10]],
        min_free_kbytes=0,
    )
    t = m.spawn(cpu=1)
    assert t.node == 1 and m.zonelist(1) == [2, 0]
    a = t.mmap(6 * 4096)
    t.touch(a, 6 * 4096, write=True)
    assert t.page_nodes(a, 6 * 4096).tolist() == [2, 2, 2, 2, 0, 0]
    m.check()


def test_sparse_cpu_numbers(sem):
    # CPUs 2-3 and 6-7 offline (holes), node 4 a CPU-less memory node.
    m = Machine(
        semantics=sem,
        nodes=[
            NodeSpec(0, "16MiB", [0, 1, 8, 9]),
            NodeSpec(1, "16MiB", [4, 5, 12]),
            NodeSpec(4, "16MiB", []),
        ],
    )
    assert m.nr_cpus == 13  # nr_cpu_ids: the highest number + 1
    assert list(m.cpuset_info("/").cpus) == [0, 1, 4, 5, 8, 9, 12]
    t = m.spawn(cpu=12)
    assert t.node == 1
    with pytest.raises(
        ValueError, match="cpu 2 does not exist: the machine has cpus 0-1,4-5,8-9,12"
    ):
        m.spawn(cpu=2)
    with pytest.raises(ValueError):
        t.migrate_to_cpu(7)
    m.check()
