"""Snapshots: Machine.copy() and pickling (rust/core/src/machine/snapshot.rs).

The property: after any sequence of operations, a copy and an unpickled machine behave exactly
as the original under any later sequence: the same results and errors call by call, the same
page contents and placement, and in the end the same machine (equal snapshots, byte for
byte)."""

from __future__ import annotations

import copy
import pickle
import threading

import pytest
from conftest import SEMANTICS
from hypothesis import given, settings
from hypothesis import strategies as st

import numasim
from numasim import MPOL_INTERLEAVE, MPOL_MF_MOVE_ALL

PAGES = 24


def build(sem: str) -> tuple[numasim.Machine, list[tuple[int, int, int]]]:
    """A small machine with anonymous, forked, shared-file, shmem and mlocked memory, two
    threads on different CPUs, swapped-out pages, a cpuset and a task policy."""
    m = numasim.Machine(semantics=sem, nodes=3, node_memory="1MiB", swap="1MiB")
    ps = m.page_size
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(PAGES * ps)
    p.touch(a, PAGES * ps, write=True)
    f = m.create_file("/data", PAGES * ps)
    b = p.mmap(PAGES * ps, flags="shared", file=f)
    p.touch(b, 8 * ps, write=True)
    lk = p.mmap(4 * ps)
    p.touch(lk, 4 * ps, write=True)
    p.mlock(lk, 4 * ps)
    c = p.fork()
    c.migrate_to_cpu(2)
    c.set_mempolicy(MPOL_INTERLEAVE, [0, 1, 2])
    th = p.clone_thread()
    th.migrate_to_cpu(4)
    th.touch(a + 4 * ps, 4 * ps, write=True)
    m.swap_out(p, a + 16 * ps, 4 * ps)
    m.cpuset("/jobs", mems=[1, 2], cpus=[2, 3, 4, 5], memory_migrate=sem != "v5")
    m.advance(1_000_000)
    return m, [(p.pid, a, PAGES), (p.pid, b, PAGES), (p.pid, lk, 4), (c.pid, a, PAGES)]


OPS = st.lists(
    st.tuples(
        st.sampled_from(["touch", "read", "swap_out", "migrate", "fork", "advance", "mbind"]),
        st.integers(0, 3),
        st.integers(0, PAGES - 1),
        st.integers(1, PAGES),
        st.integers(0, 2),
        st.integers(0, 2),
    ),
    max_size=12,
)


def run(m: numasim.Machine, regions, ops) -> list[object]:
    """Applies ops; returns what each returned or raised, then what every region reads and
    where its pages are."""
    ps = m.page_size
    out: list[object] = []
    for op, r, off, n, x, y in ops:
        pid, a, pages = regions[r]
        off = min(off, pages - 1)
        n = min(n, pages - off)
        t = m.task(pid)
        try:
            if op == "touch":
                res = t.touch(a + off * ps, n * ps, write=bool(x % 2))
            elif op == "read":
                res = t.read(a + off * ps, n * ps).tolist()
            elif op == "swap_out":
                res = m.swap_out(t, a + off * ps, n * ps)
            elif op == "migrate":
                caller = m.task(regions[0][0])
                res = numasim.migrate_pages(caller, pid, 4, [x], [y])
            elif op == "fork":
                res = t.fork().pid
            elif op == "advance":
                res = m.advance(x * 10_000_000 + n)
            else:
                res = t.mbind(a + off * ps, n * ps, MPOL_INTERLEAVE, [x, y], MPOL_MF_MOVE_ALL)
        except OSError as e:
            res = ("error", e.errno)
        out.append(res)
    m.check()
    for pid, a, pages in regions:
        t = m.task(pid)
        out.append((t.read(a, pages * ps).tolist(), t.page_nodes(a, pages * ps).tolist()))
    # numastat_counters: the per-node zone_statistics counters (issue 12) are saved too.
    out.append(
        (m.now_ns, m.vmstat_counters(), m.numastat_counters(), m.node_usage(), m.swap_info())
    )
    return out


@pytest.mark.parametrize("sem", SEMANTICS)
@settings(max_examples=max(5, settings().max_examples // 2))
@given(before=OPS, after=OPS)
def test_a_copy_and_an_unpickled_machine_behave_as_the_original(sem, before, after):
    m, regions = build(sem)
    run(m, regions, before)
    c = m.copy()
    u = pickle.loads(pickle.dumps(m))
    c.check()
    u.check()
    assert c.core.snapshot() == m.core.snapshot() == u.core.snapshot()
    want = run(m, regions, after)
    assert run(c, regions, after) == want
    assert run(u, regions, after) == want
    assert c.core.snapshot() == m.core.snapshot() == u.core.snapshot()


def test_a_copy_is_independent(sem):
    m, regions = build(sem)
    c = m.copy()
    before = c.core.snapshot()
    pid, a, pages = regions[0]
    m.task(pid).touch(a, pages * m.page_size, write=True)
    m.advance(5)
    assert c.core.snapshot() == before
    assert c.now_ns != m.now_ns
    assert c.task(pid).read(a, m.page_size)[0] != m.task(pid).read(a, m.page_size)[0]


def hook(caller, target):
    """An LSM hook that allows everything (module level: pickle stores it by name)."""
    return 0


def test_copy_module_and_python_side_state():
    m = numasim.Machine(semantics="2.6.16", migrate_cap="CAP_SYS_ADMIN")
    m.security_task_movememory = hook
    for other in (m.copy(), copy.deepcopy(m), copy.copy(m), pickle.loads(pickle.dumps(m))):
        assert other is not m and other.core is not m.core
        assert other.migrate_cap == "CAP_SYS_ADMIN"
        assert other.security_task_movememory is hook
        assert other.semantics == "2.6.16" and other.arch.name == m.arch.name
        assert other.online_nodes == m.online_nodes
        assert other.last_report is None
    # A task of the copy belongs to the copy.
    t = m.spawn()
    c = m.copy()
    assert c.task(t.pid).machine is c


def test_a_bad_blob_is_a_value_error_naming_the_problem():
    m, _ = build("modern")
    blob = m.core.snapshot()
    cases = {
        b"": "truncated",
        b"\x80\x04 not a snapshot at all": "not a numasim snapshot",
        blob[: len(blob) // 2]: "truncated",
        blob[:20]: "truncated",
        blob + b"\0": "unexpected bytes",
        blob[:8] + b"\x07\0\0\0" + blob[12:]: "format version 7",
        blob[:-1] + bytes([blob[-1] ^ 1]): "corrupt",
    }
    for bad, words in cases.items():
        with pytest.raises(ValueError, match=words):
            numasim._core.MachineCore.from_snapshot(bad)
    with pytest.raises(TypeError):
        numasim._core.MachineCore.from_snapshot("text")  # type: ignore[arg-type]


def test_a_snapshot_releases_the_gil():
    """The door's rule holds for snapshots too: other Python threads run meanwhile."""
    m = numasim.Machine(nodes=2, node_memory="256MiB")
    t = m.spawn()
    a = t.mmap(128 << 20)
    t.touch(a, 128 << 20, write=True)
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    th = threading.Thread(target=count)
    th.start()
    try:
        for _ in range(3):
            numasim._core.MachineCore.from_snapshot(m.core.snapshot())
    finally:
        stop.set()
        th.join()
    assert ticks > 1000


def test_a_poisoned_machine_cannot_be_copied_or_pickled():
    m = numasim.Machine(nodes=1)
    with pytest.raises(numasim.SimulatorPanic):
        m.core._simulate_panic()
    with pytest.raises(numasim.SimulatorPanic, match="_simulate_panic"):
        m.copy()
    with pytest.raises(numasim.SimulatorPanic):
        pickle.dumps(m)


def test_a_pickled_migration_resumes_identically():
    """The use a sweep makes of it: a loaded machine shipped to a worker gives the same
    migration there."""
    for sem in SEMANTICS:
        m, regions = build(sem)
        u = pickle.loads(pickle.dumps(m))
        caller = m.task(regions[0][0])
        a = numasim.migrate_pages(caller, caller.pid, 4, [0], [1])
        b = numasim.migrate_pages(u.task(caller.pid), caller.pid, 4, [0], [1])
        assert a == b
        assert m.last_report == u.last_report
        assert m.last_report is not None and m.last_report.scanned > 0
