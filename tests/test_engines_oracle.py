"""Differential tests of the migration engines (issue 4): for random small machines and random
page placements, numasim.migrate_pages() must do what tests/oracle.py, a plain model of the
rules written from the spec, says: the final node of every page, the return value, the
MigrateReport, free memory, swap use and the vmstat counters; read() must show the same
contents before and after, and machine.check() must pass. V5 pages evicted by the call must
come back on the node the faulting task's CPU or policy names.

Also numasim.migration_pairs() against the oracle's pair loop, with the spec's examples as
golden rows (spec §4.2.4, §4.3.1).

The oracle allocates down to a node's last page and reclaims nothing. Its machines therefore
run with min_free_kbytes=0 (no reserve below the watermarks; 6.x still keeps its low mark 0.1%
of a node above min, which only the faults after the call can meet), and an example in which
direct reclaim ran (a node ran out where the kernel reclaims) is not compared: memory pressure
is tested against the kernel's rules in test_memory_pressure.py.
"""

from __future__ import annotations

import doctest
import errno
import itertools
from dataclasses import dataclass, field

import numpy as np
import oracle
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

import numasim
import numasim.syscalls
from numasim import MPOL_BIND, MPOL_DEFAULT, MPOL_INTERLEAVE

ENOENT = -errno.ENOENT


# ===== node pairs ================================================================================

#: Spec §4.2.4 (2.6.16) and §4.3.1 (modern), with the order the loop of §4.2.1 produces,
#: worked out by hand from the loop's words.
GOLDEN_PAIRS = [
    ("2.6.16", [0, 1], [1, 0], []),
    ("2.6.16", [0, 1], [1, 2], [(1, 2), (0, 1)]),
    ("2.6.16", [0, 1, 2, 3], [0, 1], [(3, 1), (2, 0)]),
    ("2.6.16", [0, 1, 2], [], []),
    # The 2012 ping-pong trace: 3 and 4 exchange their memory.
    (
        "2.6.16",
        range(8),
        [3, 4],
        [(7, 4), (6, 3), (5, 4), (4, 3), (1, 4), (3, 4), (0, 3), (2, 3)],
    ),
    # Woodman: equal weights move everything, keeping the relative layout.
    ("modern", [2, 3, 4], [3, 4, 5], [(4, 5), (3, 4), (2, 3)]),
    # Woodman: [0-7] -> [3,4,5] moves only 0, 1, 2, 6, 7.
    ("modern", range(8), [3, 4, 5], [(7, 4), (6, 3), (2, 5), (1, 4), (0, 3)]),
    # No more ping-pong: 3 and 4 stay.
    ("modern", range(8), [3, 4], [(7, 4), (6, 3), (5, 4), (2, 3), (1, 4), (0, 3)]),
    ("modern", [0, 1], [1, 2], [(1, 2), (0, 1)]),
    ("modern", [0, 1], [1, 0], []),
    ("modern", [0, 1, 2, 3], [0, 1], [(3, 1), (2, 0)]),
    ("modern", [1], [], []),
    # V5: one list, the nodes of old \ new (spec §4.1).
    ("v5", [0, 1, 2, 5], [1, 3], [(0, None), (2, None), (5, None)]),
    ("v5", [0, 1], [0, 1], []),
    ("v5", [0, 1, 2], [], [(0, None), (1, None), (2, None)]),
]


@pytest.mark.parametrize(("sem", "old", "new", "want"), GOLDEN_PAIRS)
def test_migration_pairs_golden(sem, old, new, want):
    assert oracle.migration_pairs(old, new, sem) == want
    assert numasim.migration_pairs(list(old), list(new), sem) == want


@pytest.mark.parametrize("sem", numasim.SEMANTICS)
def test_migration_pairs_every_mask_of_five_nodes(sem):
    masks = [[n for n in range(5) if b >> n & 1] for b in range(32)]
    for old, new in itertools.product(masks, masks):
        got = numasim.migration_pairs(old, new, sem)
        assert got == oracle.migration_pairs(old, new, sem), (sem, old, new)


@settings(max_examples=3 * settings().max_examples, deadline=None)
@given(
    sem=st.sampled_from(numasim.SEMANTICS),
    old=st.sets(st.integers(0, 63), max_size=12),
    new=st.sets(st.integers(0, 63), max_size=12),
)
def test_migration_pairs_random_masks(sem, old, new):
    """Sparse masks over 64 nodes (x86_64's MAX_NUMNODES), as NodeMask and as lists."""
    want = oracle.migration_pairs(old, new, sem)
    assert numasim.migration_pairs(sorted(old), sorted(new), sem) == want
    a = numasim.NodeMask(old, nbits=64)
    b = numasim.NodeMask(new, nbits=64)
    assert numasim.migration_pairs(a, b, sem) == want
    # Every source is in old and runs once; every destination is its node_remap.
    assert len({s for s, _ in want}) == len(want)
    for s, d in want:
        assert s in old
        if sem != "v5":
            assert d == numasim.node_remap(s, a, b) == oracle.node_remap(s, old, new)


def test_syscalls_docstring_examples_hold():
    tests = doctest.DocTestFinder().find(numasim.syscalls, extraglobs={"numasim": numasim})
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for t in tests:
        runner.run(t, out=out.append)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, "".join(out)


# ===== the differential test =====================================================================

#: Mapping kinds: mmap prot and flags, the oracle's page kind, what the parent and the child
#: may do to a page (write needs a writable mapping; io and hugetlb are not touched per page).
KINDS = {
    "anon": ("rw", "private|anonymous", "anon", ("write", "write", "read", "none")),
    "anon_locked": ("rw", "private|anonymous|locked", "anon", ()),
    "file": ("rw", "shared", "file", ("write", "read", "none")),
    "file_ro": ("r", "private", "file", ("read", "none")),
    "denywrite": ("r", "private|denywrite", "file", ("read", "none")),
    "shmem": ("rw", "shared|anonymous", "shmem", ("write", "read", "none")),
    "shm": ("rw", "shm", "shmem", ("write", "read", "none")),
    "io": ("rw", "shared|io", None, ()),
    "hugetlb": ("rw", "private|anonymous|hugetlb", None, ()),
}
#: Drawn uniformly from this list: mostly plain anonymous memory.
KIND_WEIGHTS = [*["anon"] * 6, *["file", "shmem"] * 2, *(k for k in KINDS if k not in ("anon",))]
NODE_PAGES = 2048


@dataclass
class Mapping:
    kind: str
    addr: int
    npages: int


@dataclass
class Scenario:
    m: numasim.Machine
    sem: str
    p: numasim.Task
    c: numasim.Task | None
    maps: list[Mapping]
    #: Parent's pages the walk meets, by address: oracle.Page.
    facts: dict[int, oracle.Page] = field(default_factory=dict)
    #: Child addresses whose page is the parent's page at the same address.
    shared: set[int] = field(default_factory=set)
    desc: list[str] = field(default_factory=list)


def _pages(m, mp):
    ps = m.page_size
    return [mp.addr + i * ps for i in range(mp.npages)]


def _build(data, sem: str) -> Scenario:
    """A random machine, mappings placed with set_mempolicy + touch, maybe a fork with COW
    breaks and a child's mlock, maybe memory hogs, random page states."""
    draw = data.draw
    arch = draw(st.sampled_from(["x86_64"] * 4 + ["ia64", "i386"]), label="arch")
    nn = draw(st.integers(2, 6), label="nodes")
    cpn = draw(st.integers(1, 2), label="cpus_per_node")
    if sem == "modern":
        swap = draw(st.sampled_from([0, 64]), label="swap")
    else:
        swap = draw(st.sampled_from([0, 4096, 4096, None]), label="swap")
        if swap is None:
            swap = draw(st.integers(1, 8), label="small swap")
    ps = numasim.arch(arch).page_size
    ids = list(range(nn))
    # Sparse node ids (V5's zonelists degenerate on such maps: 2.6.14 crashed on them, so the
    # oracle does not model its fallback there).
    if sem != "v5" and draw(st.integers(0, 3), label="sparse ids") == 0:
        ids = [0, *sorted(draw(st.sets(st.integers(1, 15), min_size=nn - 1, max_size=nn - 1)))]
    m = numasim.Machine(
        arch=arch,
        semantics=sem,
        nodes=[numasim.NodeSpec(n, NODE_PAGES * ps, cpn) for n in ids],
        swap=swap * ps,
        min_free_kbytes=0,
    )
    nodes = m.nodes
    assert nodes == ids
    # The zero page is the only page in use, on node 0.
    assert {n: u.used for n, u in m.node_usage().items()} == {n: int(n == 0) for n in nodes}
    sc = Scenario(m, sem, None, None, [])  # type: ignore[arg-type]
    sc.desc.append(f"{arch} {sem} nodes={ids} cpus/node={cpn} swap={swap}")
    p = m.spawn(uid=1000, cpu=draw(st.integers(0, nn * cpn - 1), label="cpu"))
    sc.p = p
    node_sets = st.lists(st.sampled_from(nodes), min_size=1, max_size=nn, unique=True)
    p_touch: dict[int, str] = {}
    kind_of: dict[int, str] = {}
    written: set[int] = set()
    for _ in range(draw(st.integers(1, 4), label="mappings")):
        kind = draw(st.sampled_from(KIND_WEIGHTS), label="kind")
        prot, flags, _, modes = KINDS[kind]
        mode = draw(st.sampled_from([MPOL_BIND, MPOL_INTERLEAVE, MPOL_DEFAULT]), label="mode")
        pol_nodes = draw(node_sets, label="policy nodes") if mode != MPOL_DEFAULT else []
        p.migrate_to_cpu(draw(st.integers(0, nn * cpn - 1), label="cpu"))
        p.set_mempolicy(mode, pol_nodes)
        if kind == "hugetlb":
            if sem == "modern" and arch == "x86_64":
                # Modern x86_64 migrates hugetlb pages (hugepage_migration_supported()); the
                # oracle models base pages only: tests/test_hugetlb.py and hugetlb_tests.rs
                # cover hugetlb migration.
                continue
            n = m.arch.huge_page_size // ps
            a = p.mmap(n * ps, prot=prot, flags=flags)
            if arch == "x86_64" and draw(st.booleans(), label="touch huge"):
                p.touch(a, 1, write=True)
            sc.desc.append(f"hugetlb at {a:#x}")
            continue
        npages = draw(st.integers(1, 6), label="pages")
        f = None
        if kind in ("file", "file_ro", "denywrite"):
            f = m.create_file(f"/f{len(sc.maps)}", npages * ps)
        a = p.mmap(npages * ps, prot=prot, flags=flags, file=f)
        mp = Mapping(kind, a, npages)
        sc.maps.append(mp)
        for x in _pages(m, mp):
            kind_of[x] = kind
            if kind == "anon_locked":
                p_touch[x] = "write"  # mlock populates a writable mapping by write faults
                written.add(x)
                continue
            t = draw(st.sampled_from(modes), label="touch") if modes else "none"
            if t != "none":
                p.touch(x, 1, write=t == "write")
                p_touch[x] = t
                if t == "write":
                    written.add(x)
        sc.desc.append(
            f"{kind} at {a:#x} x{npages} mode={int(mode)} {pol_nodes} "
            f"nodes={p.page_nodes(a, npages * ps).tolist()}"
        )
    # fork: the child may read or write each page; then the parent may write (COW breaks).
    c = None
    cow_broken: set[int] = set()
    child_maps: set[int] = set()
    if draw(st.booleans(), label="fork"):
        c = p.fork()
        sc.c = c
        c.migrate_to_cpu(draw(st.integers(0, nn * cpn - 1), label="child cpu"))
        for mp in sc.maps:
            _, _, _, modes = KINDS[mp.kind]
            for x in _pages(m, mp):
                # fork copies the PTEs of anonymous private mappings only (copy_page_range)
                if mp.kind in ("anon", "anon_locked") and x in p_touch:
                    child_maps.add(x)
                cmodes = ("none", *modes) if modes else ()
                t = draw(st.sampled_from(cmodes), label="child touch") if modes else "none"
                if t == "none":
                    continue
                c.touch(x, 1, write=t == "write")
                if t == "write":
                    written.add(x)
                    if mp.kind == "anon":
                        cow_broken.add(x)
                        continue
                child_maps.add(x)
        for mp in sc.maps:
            if mp.kind not in ("anon", "anon_locked"):
                continue
            for x in _pages(m, mp):
                if x in child_maps and draw(st.integers(0, 3), label="parent cow") == 0:
                    p.touch(x, 1, write=True)
                    p_touch[x] = "write"
                    written.add(x)
                    cow_broken.add(x)
        anon = [mp for mp in sc.maps if mp.kind == "anon"]
        if anon and draw(st.booleans(), label="child mlock"):
            mp = draw(st.sampled_from(anon), label="mlock map")
            i = draw(st.integers(0, mp.npages - 1), label="mlock start")
            n = draw(st.integers(1, mp.npages - i), label="mlock len")
            c.mprotect(mp.addr + i * ps, n * ps, "r")
            c.mlock(mp.addr + i * ps, n * ps)
            sc.desc.append(f"child mlock {mp.addr + i * ps:#x} x{n}")
    # The parent's pages as the walk will meet them.
    pn = {}
    for mp in sc.maps:
        for x, v in zip(_pages(m, mp), p.page_nodes(mp.addr, mp.npages * ps).tolist(), strict=True):
            pn[x] = v
    child_locked: set[int] = set()
    if c is not None:
        for v in c.vmas():
            if "locked" in v.flags:
                child_locked.update(range(v.start, v.end, ps))
    real = []
    for x, kind in kind_of.items():
        okind = KINDS[kind][2]
        if x not in p_touch:
            continue
        if okind == "anon" and pn[x] < 0:
            sc.facts[x] = oracle.Page(node=0, kind="zero")
            continue
        assert pn[x] >= 0, (hex(x), kind, pn[x])
        shared = c is not None and x in child_maps and x not in cow_broken
        if shared:
            sc.shared.add(x)
        file_ok = True
        if kind in ("file_ro", "denywrite") and c is not None:
            # the child's VMA maps the file too, privately: no VM_SHARED VMA anywhere
            file_ok = False
        sc.facts[x] = oracle.Page(
            node=pn[x],
            kind=okind,
            shared=shared,
            v5_file_ok=file_ok,
            other_locked=shared and x in child_locked,
            dirty=x in written,
        )
        real.append(x)
    # Memory pressure (2.6.16 and modern allocate during the call): hogs leave few free pages.
    if sem != "v5" and draw(st.integers(0, 3), label="hogs") == 0:
        hog = m.spawn(uid=2000, cpu=0)
        for n in nodes:
            leave = draw(st.sampled_from([None, 0, 1, 2, 3, 5]), label=f"free on {n}")
            if leave is None:
                continue
            k = m.node_usage()[n].free - leave
            if k > 0:
                hog.set_mempolicy(MPOL_BIND, [n])
                a = hog.mmap(k * ps)
                hog.touch(a, k * ps, write=True)
            sc.desc.append(f"node {n}: {m.node_usage()[n].free} free")
    # Transient states, then the young bits (on every mapping of the page).
    for x in real:
        st_ = draw(
            st.fixed_dictionaries(
                {
                    "locked": st.integers(0, 11),
                    "writeback": st.integers(0, 11),
                    "pinned": st.integers(0, 9),
                    "pagevec": st.integers(0, 9),
                    "young": st.booleans(),
                }
            ),
            label="state",
        )
        on = {k for k in ("locked", "writeback", "pinned", "pagevec") if st_[k] == 0}
        for s in ("pagevec", "locked", "writeback", "pinned"):
            if s in on:
                m.set_page_state(p, x, 1, s)
        m.set_page_state(p, x, 1, "young", on=st_["young"])
        f = sc.facts[x]
        sc.facts[x] = oracle.Page(
            node=f.node,
            kind=f.kind,
            shared=f.shared,
            v5_file_ok=f.v5_file_ok,
            other_locked=f.other_locked,
            dirty=f.dirty,
            young=st_["young"],
            **{s: s in on for s in ("locked", "writeback", "pinned", "pagevec")},
        )
    return sc


def _oracle_vmas(sc: Scenario) -> list[oracle.Vma]:
    """The parent's VMAs in address order with the pages each holds."""
    out = []
    for v in sorted(sc.p.vmas(), key=lambda v: v.start):
        pages = tuple(sc.facts[a] for a in sorted(sc.facts) if v.start <= a < v.end)
        out.append(oracle.Vma(frozenset(v.flags), pages))
    return out


def _snapshot(sc: Scenario):
    ps = sc.m.page_size
    out = {}
    for who, t in (("p", sc.p), ("c", sc.c)):
        if t is None:
            continue
        for mp in sc.maps:
            if mp.kind == "io":
                continue
            n = mp.npages * ps
            out[who, mp.addr] = (t.page_nodes(mp.addr, n).tolist(), t.read(mp.addr, n).tolist())
    return out


def _report_fields(rep) -> dict:
    return {
        "ret": rep.ret,
        "scanned": rep.scanned,
        "selected": rep.selected,
        "isolated": rep.isolated,
        "moved": rep.moved,
        "swapped_out": rep.swapped_out,
        "put_back": rep.put_back,
        "failed": rep.failed,
        "retried_out": rep.retried_out,
        "not_moved": rep.not_moved,
        "skipped": dict(rep.skipped),
        "not_moved_by": dict(rep.not_moved_by),
        "pairs": tuple(
            (
                p.source,
                p.dest,
                p.scanned,
                p.isolated,
                p.moved,
                p.swapped_out,
                p.not_moved,
                p.result,
                p.passes,
            )
            for p in rep.pairs
        ),
        "passes": rep.passes,
        "error": rep.error,
        "no_swap_at_collection": rep.no_swap_at_collection,
    }


def _events(rep) -> None:
    """What the example exercised (pytest --hypothesis-show-statistics)."""
    if currently_in_test_context() is False:
        return
    event("error" if rep.ret < 0 else "ret > 0" if rep.ret > 0 else "ret 0")
    for what in ("moved", "swapped_out", "isolated"):
        if getattr(rep, what):
            event(what)
    for k, v in rep.not_moved_by.items():
        if v:
            event(f"not moved: {k}")
    for k, v in rep.skipped.items():
        if v:
            event(f"skipped: {k}")
    if rep.no_swap_at_collection:
        event("no swap at collection")


def _swap_free(m) -> int:
    return sum(d.pages - d.used for d in m.swap_info())


def _reclaimed(m) -> int:
    """Pages direct reclaim has looked at on the machine so far (it may unmap or move a page
    between LRU lists without freeing it)."""
    return sum(z.scanned for z in m.watermarks().values())


def _differential(data, sem: str) -> None:
    sc = _build(data, sem)
    draw = data.draw
    nodes = sc.m.nodes

    # Biased so that old \\ new usually holds pages; empty masks still occur.
    def bits(p_true):
        b = st.sampled_from([True] * p_true + [False] * (3 - p_true))
        return st.lists(b, min_size=len(nodes), max_size=len(nodes))

    old = {n for n, b in zip(nodes, draw(bits(2), label="old"), strict=True) if b}
    new = {n for n, b in zip(nodes, draw(bits(1), label="new"), strict=True) if b}
    who = draw(st.sampled_from(["self", "peer", "root"]), label="caller")
    fault_node = draw(st.sampled_from(nodes), label="fault node")
    how = draw(st.sampled_from(["cpu", "bind"]), label="fault policy")
    _run_and_compare(sc, old, new, who, fault_node, how)


def _run_and_compare(sc: Scenario, old, new, who: str, fault_node: int, how: str) -> None:
    """migrate_pages() from the given caller; everything compared with the oracle; then every
    page is touched again from ``fault_node`` (its CPU, or MPOL_BIND to it)."""
    m, p, c, ps, sem = sc.m, sc.p, sc.c, sc.m.page_size, sc.sem
    nodes = m.nodes
    if who == "self":
        caller, pid = p, 0
    else:
        caller = m.spawn(uid=0 if who == "root" else 1000, cpu=0)
        pid = p.pid
    move_all = oracle.syscall_flag_move_all(sem, who == "root")
    env = oracle.Env(
        swap_free=_swap_free(m),
        free={n: u.free for n, u in m.node_usage().items()},
        zonelists={n: m.zonelist(n) for n in nodes},
        alloc_mask=frozenset(caller.mems_allowed),
    )
    vmas = _oracle_vmas(sc)
    ctx = "\n".join([*sc.desc, f"old={sorted(old)} new={sorted(new)} caller={who}"])
    before = _snapshot(sc)
    vm0 = m.vmstat_counters()
    m.last_report = None
    maxnode = m.arch.max_numnodes + 1
    mask = m.nodemask

    if sem == "modern" and not new:
        # kernel_migrate_pages(): new ∩ the caller's cpuset mems is empty: EINVAL, no change.
        with pytest.raises(OSError) as ei:
            numasim.migrate_pages(caller, pid, maxnode, mask(old), mask(new))
        assert ei.value.errno == errno.EINVAL, ctx
        assert m.last_report is None
        assert _snapshot(sc) == before, ctx
        m.check()
        return

    want = oracle.migrate(sem, vmas, old, new, move_all, env)
    reclaimed = _reclaimed(m)
    try:
        ret = numasim.migrate_pages(caller, pid, maxnode, mask(old), mask(new))
    except OSError as e:
        ret = -e.errno
    m.check()
    if _reclaimed(m) != reclaimed:
        # A node ran out and direct reclaim ran: beyond the oracle (see the top).
        event("direct reclaim: not compared")
        return
    assert ret == want.ret, ctx
    rep = m.last_report
    _events(rep)
    got = _report_fields(rep)
    exp = want.report_fields()
    assert got == exp, ctx

    # Placement, contents, memory, swap, counters.
    addrs = sorted(sc.facts)
    res = dict(zip(addrs, want.pages, strict=True))
    after = _snapshot(sc)
    for (w, a), (nodes_before, content_before) in before.items():
        nodes_after, content_after = after[w, a]
        assert content_after == content_before, (ctx, w, hex(a))
        exp_nodes = list(nodes_before)
        for i in range(len(exp_nodes)):
            x = a + i * ps
            if x in res and sc.facts[x].kind != "zero" and (w == "p" or x in sc.shared):
                exp_nodes[i] = oracle.page_nodes_value(res[x], child=w == "c")
        assert nodes_after == exp_nodes, (ctx, w, hex(a))
    assert {n: u.free for n, u in m.node_usage().items()} == want.free, ctx
    assert _swap_free(m) == want.swap_free, ctx
    vm1 = m.vmstat_counters()
    if sem != "modern":
        assert vm1["pswpout"] - vm0["pswpout"] == want.pswpout, ctx
    else:
        assert vm1["pgmigrate_success"] - vm0["pgmigrate_success"] == want.pgmigrate_success
        assert vm1["pgmigrate_fail"] - vm0["pgmigrate_fail"] == want.pgmigrate_fail

    # Every page comes back on touch: a frame still there (mapped, swap or page cache) is
    # found; an evicted page (V5) is allocated by the faulting task's policy or CPU.
    for t in (p, c):
        if t is None:
            continue
        if how == "cpu":
            t.set_mempolicy(MPOL_DEFAULT)
            t.migrate_to_cpu(m.node_cpus(fault_node)[0])
        else:
            t.set_mempolicy(MPOL_BIND, [fault_node])
    for w, t in (("p", p), ("c", c)):
        if t is None:
            continue
        for mp in sc.maps:
            if mp.kind == "io":
                continue
            nb = np.asarray(before[w, mp.addr][0])
            present = np.flatnonzero(nb >= 0)
            if not len(present):
                continue
            reclaimed = _reclaimed(m)
            t.touch_pages(mp.addr + present.astype(np.uint64) * ps)
            if _reclaimed(m) != reclaimed:
                event("direct reclaim on touch: not compared")
                return
            got_nodes = t.page_nodes(mp.addr, mp.npages * ps)[present].tolist()
            want_nodes = []
            for i in present.tolist():
                x = mp.addr + i * ps
                if x in res and (w == "p" or x in sc.shared):
                    want_nodes.append(oracle.after_fault(res[x], fault_node))
                else:
                    want_nodes.append(int(nb[i]))
            assert got_nodes == want_nodes, (ctx, w, hex(mp.addr))
    m.check()
    for (w, a), (_, content_before) in before.items():
        t = p if w == "p" else c
        mp = next(mp for mp in sc.maps if mp.addr == a)
        assert t.read(a, mp.npages * ps).tolist() == content_before, (ctx, w, hex(a))


SETTINGS = settings(
    max_examples=10 * settings().max_examples,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(data=st.data())
def test_v5_matches_oracle(data):
    _differential(data, "v5")


@SETTINGS
@given(data=st.data())
def test_2616_matches_oracle(data):
    _differential(data, "2.6.16")


@SETTINGS
@given(data=st.data())
def test_modern_matches_oracle(data):
    _differential(data, "modern")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("sem", numasim.SEMANTICS)
def test_long_lists_match_oracle(sem, seed):
    """Lists longer than a 2.6.16 batch (257 new pages), with pages that retry, swap that runs
    out, and a destination that fills up part way (2.6.16 falls back along the zonelist and
    takes the batch's pages last-allocated-first; modern stops with -ENOMEM)."""
    rng = np.random.default_rng(seed)
    n, ps = 700, 4096
    swap = 0 if sem == "modern" else int(rng.choice([64, 4096]))
    m = numasim.Machine(
        semantics=sem, nodes=3, node_memory=NODE_PAGES * ps, swap=swap * ps, min_free_kbytes=0
    )
    p = m.spawn(cpu=0)
    a = p.mmap(n * ps)
    p.touch(a, n * ps, write=True)
    sc = Scenario(m, sem, p, None, [Mapping("anon", a, n)])
    sc.desc.append(f"long list, {sem}, seed {seed}, swap {swap}")
    odds = {"locked": 0.01, "writeback": 0.01, "pinned": 0.02, "pagevec": 0.05}
    for i in range(n):
        x = a + i * ps
        on = {s for s, q in odds.items() if rng.random() < q}
        for s in ("pagevec", "locked", "writeback", "pinned"):
            if s in on:
                m.set_page_state(p, x, 1, s)
        young = bool(rng.random() < 0.5)
        m.set_page_state(p, x, 1, "young", on=young)
        sc.facts[x] = oracle.Page(node=0, young=young, dirty=True, **{s: s in on for s in odds})
    if sem != "v5":
        leave = int(rng.integers(150, 600))
        hog = m.spawn(uid=2000, cpu=0)
        hog.set_mempolicy(MPOL_BIND, [1])
        k = m.node_usage()[1].free - leave
        b = hog.mmap(k * ps)
        hog.touch(b, k * ps, write=True)
        sc.desc.append(f"{leave} pages free on node 1")
    _run_and_compare(sc, {0}, {1}, "self", 2, "cpu")
    rep = m.last_report
    assert rep.isolated == n
    if sem == "2.6.16" and swap == 4096:
        # More than one batch ran, and some pages landed on the fallback node.
        assert rep.moved > 257
        assert m.node_usage()[1].free == 0


# ===== report details the differential test once found wrong =====


@pytest.mark.parametrize("sem", ["v5", "modern"])
def test_empty_list_reports_no_pass(sem):
    m = numasim.Machine(semantics=sem, nodes=2, node_memory="8MiB", swap="1MiB")
    t = m.spawn(cpu=0)
    a = t.mmap(4 * 4096)
    t.touch(a, 4 * 4096, write=True)
    assert numasim.migrate_pages(t, 0, 65, [1], [0]) == 0
    rep = m.last_report
    assert (rep.scanned, rep.selected, rep.isolated) == (4, 0, 0)
    assert rep.passes == 0
    assert [p.passes for p in rep.pairs] == [0]


def test_2616_empty_list_reports_no_pass():
    m = numasim.Machine(semantics="2.6.16", nodes=2, node_memory="8MiB", swap="1MiB")
    t = m.spawn(cpu=0)
    a = t.mmap(4 * 4096)
    t.touch(a, 4 * 4096, write=True)
    assert numasim.migrate_pages(t, 0, 65, [1], [0]) == 0
    rep = m.last_report
    assert (rep.scanned, rep.isolated, rep.passes) == (4, 0, 0)
    assert [p.passes for p in rep.pairs] == [0]


def test_modern_enomem_counts_the_pass_it_stopped_in():
    # No swap: direct reclaim of the destination cannot evict its anonymous page.
    m = numasim.Machine(semantics="modern", nodes=[{"nid": 0}, {"nid": 1, "memory": 4096}], swap=0)
    t = m.spawn(cpu=0)
    a = t.mmap(3 * 4096)
    t.touch(a, 3 * 4096, write=True)
    assert m.node_usage()[1].free == 1
    with pytest.raises(OSError) as ei:
        numasim.migrate_pages(t, 0, 65, [0], [1])
    assert ei.value.errno == errno.ENOMEM
    rep = m.last_report
    assert (rep.moved, rep.error, rep.ret) == (1, errno.ENOMEM, -errno.ENOMEM)
    assert t.page_nodes(a, 3 * 4096).tolist() == [1, 0, 0]
    assert rep.passes == 1
    assert [p.passes for p in rep.pairs] == [1]


def test_v5_sparse_node_ids_local_allocation():
    m = numasim.Machine(semantics="v5", nodes=[numasim.NodeSpec(n, "8MiB", 2) for n in (0, 3, 4)])
    assert m.zonelist(4)[:1] == [4]
    t = m.spawn(cpu=4)
    assert t.node == 4
    a = t.mmap(4096)
    t.touch(a, 4096, write=True)
    assert t.page_nodes(a, 4096).tolist() == [4]


def test_oracle_sanity_examples():
    """The oracle itself on hand-worked cases (so a wrong oracle cannot hide a wrong engine)."""
    env = oracle.Env(swap_free=2, free={0: 10, 1: 10}, zonelists={0: [0, 1], 1: [1, 0]})
    anon = oracle.Page(node=0)
    vma = oracle.Vma(frozenset({"read", "write"}), (anon, anon, anon))
    # V5: list_add() order: the last page gets the first slot; two slots for three pages.
    r = oracle.migrate("v5", [vma], [0], [1], False, env)
    assert (r.ret, r.swapped_out, r.failed, r.passes) == (1, 2, 1, 2)
    assert [x.node for x in r.pages] == [0, None, None]
    assert r.not_moved_by["no_swap"] == 1
    # V5, a page shared with a child, young in both: the walk clears one young bit per pass
    # (child first), unmaps the child in pass 1, the parent in pass 2 (written), frees in 3.
    shared = oracle.Page(node=0, shared=True, young=True)
    r = oracle.migrate("v5", [oracle.Vma(frozenset(), (shared,))], [0], [1], False, env)
    assert (r.ret, r.swapped_out, r.passes) == (0, 1, 4)
    # The child's mapping locked: nothing unmapped (it comes first), retried every pass.
    locked = oracle.Page(node=0, shared=True, other_locked=True)
    r = oracle.migrate("v5", [oracle.Vma(frozenset(), (locked,))], [0], [1], False, env)
    assert (r.ret, r.retried_out, r.passes) == (1, 1, 11)
    assert (r.pages[0].mapped, r.pages[0].child_mapped) == (True, True)
    # A shared file page whose other mapping is locked: the target's PTE goes first.
    f = oracle.Page(node=0, kind="file", shared=True, other_locked=True)
    r = oracle.migrate("v5", [oracle.Vma(frozenset(), (f,))], [0], [1], False, env)
    assert (r.pages[0].mapped, r.pages[0].child_mapped) == (False, True)
    # 2.6.16: one slot is enough, it is given back after each move.
    env1 = oracle.Env(
        swap_free=1, free={0: 10, 1: 10}, zonelists={1: [1, 0]}, alloc_mask=frozenset({0, 1})
    )
    r = oracle.migrate("2.6.16", [vma], [0], [1], False, env1)
    assert (r.ret, r.moved, r.swap_free) == (0, 3, 1)
    assert [x.node for x in r.pages] == [1, 1, 1]
    # 2.6.16, MOVE_ALL, the child's mapping locked: -EPERM, failed in the first pass.
    r = oracle.migrate("2.6.16", [oracle.Vma(frozenset(), (locked,))], [0], [1], True, env1)
    assert (r.ret, r.failed, r.retried_out, r.passes) == (1, 1, 0, 1)
    assert r.not_moved_by["unmap_failed"] == 1
    # modern, one free page on the destination: the second page aborts the call.
    env2 = oracle.Env(free={0: 10, 1: 1})
    r = oracle.migrate("modern", [vma], [0], [1], False, env2)
    assert (r.ret, r.moved, r.error, r.put_back) == (-oracle.ENOMEM, 1, oracle.ENOMEM, 2)
    assert [x.node for x in r.pages] == [1, 0, 0]
    assert [x.mapped for x in r.pages] == [True] * 3
