"""The scene harness shared by the system-call tables (tests/test_syscall_*.py) and
tests/test_permissions.py, and the one definition of "a failed call changes nothing"
(:func:`snapshot`, also used by the machine-model tests).

A *scene* is a small machine of one kernel generation with named regions whose pages are
followed: where each page is (``placement``) and what it holds (``contents``). A *row* of a table
is one documented behaviour: a set-up (a function of the scene that builds the state and returns
the call), the outcome in each generation, and optionally the generations in which the library
is known to be wrong. :func:`run_row` runs a row the same way for every system call:

- through the Python API (``numasim.migrate_pages(caller, *args)``, ...): an OSError of the
  errno's exact subclass with a note naming the failed check, or the return value;
- an error that did nothing (``Err.after is None``) must leave :func:`snapshot` unchanged, and so
  must the same call through ``Task.syscall`` and ``Machine.syscall`` by the arch's number
  (``-errno``) on the same scene;
- an error after which the kernel has done part of the work (``Err.after``) leaves the stated
  placement and the contents; each C view runs on a fresh scene;
- a success returns the stated value (and status array), places every followed region as
  stated, never changes contents, and gives the same through ``Machine.syscall`` on a fresh
  scene.

What differs between the system calls is a :class:`Syscall` (its name, its Python function, how a
row's scene is built, whether it leaves a report); what differs between scenes is said where the
scene is built (mbind's scene, where the caller owns the pages, lives in test_syscall_mbind.py).

Imported as a plain module (``from syscall_scene import ...``), as the tests import conftest's
helpers: pytest's default ("prepend") import mode puts tests/ (no ``__init__.py``) on sys.path.
Each importer first calls ``pytest.register_assert_rewrite("syscall_scene")`` so that the
asserts below report their values as a test module's do.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pytest

import numasim

# --- the generations ---------------------------------------------------------------------------

V5, K16, RC6, MODERN = "v5", "2.6.16", "2.6.16-rc6", "modern"
#: generation -> (Machine semantics, migrate_cap). 2.6.16-rc6 is the 2.6.16 machine with the
#: capabilities before the 2006-03-14 patch (CAP_SYS_ADMIN; CAP_SYS_RESOURCE for mbind).
GENS = {
    V5: ("v5", "CAP_SYS_NICE"),
    K16: ("2.6.16", "CAP_SYS_NICE"),
    RC6: ("2.6.16", "CAP_SYS_ADMIN"),
    MODERN: ("modern", "CAP_SYS_NICE"),
}

#: page_nodes() of a page that is not present (V5 swapped it out; never touched): -ENOENT.
OUT = -errno.ENOENT


# --- "nothing changed" ---------------------------------------------------------------------------

#: A followed region: its task, its start address and its length in pages.
Region = tuple[numasim.Task, int, int]


def snapshot(m: numasim.Machine, regions: Mapping[Any, Region] | None = None) -> dict[str, Any]:
    """Everything a failed call must leave alone: node usage, vmstat counters, swap devices and
    the swap cache, the clock, the tasks; for each region the node and the content of each page,
    and the VMAs (with their policies) of each task that owns a region."""
    regions = regions or {}
    return {
        "placement": placement(m, regions),
        "contents": contents(m, regions),
        "vmas": {t.pid: t.vmas() for t, _, _ in regions.values()},
        "vmstat": m.vmstat_counters(),
        "usage": m.node_usage(),
        "swap": (m.swap_info(), m.swap_cache_pages),
        "now_ns": m.now_ns,
        "pids": [t.pid for t in m.tasks()],
    }


def placement(m: numasim.Machine, regions: Mapping[Any, Region]) -> dict[Any, list[int]]:
    """For each region, page_nodes() of its pages."""
    ps = m.page_size
    return {k: t.page_nodes(a, n * ps).tolist() for k, (t, a, n) in regions.items()}


def contents(m: numasim.Machine, regions: Mapping[Any, Region]) -> dict[Any, list[int]]:
    """For each region, the content stamp of each page (read without faulting)."""
    ps = m.page_size
    return {k: t.read(a, n * ps).tolist() for k, (t, a, n) in regions.items()}


# --- the scene -----------------------------------------------------------------------------------


class Scene:
    """A machine of one generation (by default 4 nodes 0-3 of 1024 pages each, 16 MiB of swap)
    with named, followed regions. It has no task of its own: set-ups spawn the callers and
    targets they need (mbind's scene, test_syscall_mbind.py, adds the caller that owns the
    pages)."""

    def __init__(
        self,
        gen: str,
        arch: str = "x86_64",
        swap: str | int = "16MiB",
        nodes: int = 4,
        node_pages: int = 1024,
    ) -> None:
        sem, cap = GENS[gen]
        ps = numasim.arch(arch).page_size
        self.m = numasim.Machine(
            arch=arch,
            semantics=sem,
            nodes=nodes,
            node_memory=node_pages * ps,
            swap=swap,
            migrate_cap=cap,
        )
        self.ps = ps
        #: maxnode a C caller passes to cover every node: MAX_NUMNODES + 1 (spec §1.4)
        self.maxnode = self.m.arch.max_numnodes + 1
        self.regions: dict[str, Region] = {}

    def task(self, uid: int = 1000, caps: tuple[str, ...] = (), cpuset: str = "/") -> numasim.Task:
        """A new process of ``uid`` (root has every capability) granted ``caps``."""
        t = self.m.spawn(uid=uid, cpuset=cpuset)
        for c in caps:
            t.grant(c)
        return t

    def cpuset(self, path: str, mems: list[int]) -> str:
        return self.m.cpuset(path, mems=mems)

    def fill(
        self, name: str, t: numasim.Task, nodes: list[int], flags: str = "private|anonymous"
    ) -> int:
        """Maps len(nodes) pages and writes page i while running on node nodes[i]; follows
        them as ``name``."""
        cpu0 = t.cpu
        a = t.mmap(len(nodes) * self.ps, flags=flags)
        for i, n in enumerate(nodes):
            t.migrate_to_cpu(self.m.node_cpus(n)[0])
            t.touch(a + i * self.ps, self.ps, write=True)
        t.migrate_to_cpu(cpu0)
        self.follow(name, t, a, len(nodes))
        return a

    def follow(self, name: str, t: numasim.Task, addr: int, npages: int) -> None:
        self.regions[name] = (t, addr, npages)

    def addr(self, name: str, i: int) -> int:
        """The address of page ``i`` of region ``name``."""
        _, a, _ = self.regions[name]
        return a + i * self.ps

    def placement(self) -> dict[str, list[int]]:
        return placement(self.m, self.regions)

    def contents(self) -> dict[str, list[int]]:
        return contents(self.m, self.regions)

    def policies(self) -> dict[str, list[str]]:
        """For each region, the policies of the VMAs it overlaps."""
        out = {}
        for k, (t, a, n) in self.regions.items():
            end = a + n * self.ps
            out[k] = [v.policy for v in t.vmas() if v.start < end and v.end > a]
        return out

    def snapshot(self) -> dict[str, Any]:
        """Everything a failed call must leave alone (:func:`snapshot` of the regions)."""
        return snapshot(self.m, self.regions)


#: The usual target's regions: A = 4 pages on node 0, B = 2 pages on node 2.
A4, B2 = [0, 0, 0, 0], [2, 2]


def target_ab(s: Scene, uid: int = 1000) -> numasim.Task:
    """The usual target (migrate_pages, move_pages): region A = 4 pages on node 0, region B =
    2 pages on node 2, each its own mapping."""
    t = s.task(uid=uid)
    s.fill("A", t, A4)
    s.fill("B", t, B2)
    return t


# --- expectations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Err:
    """The call fails with ``errno``; ``note`` is a fragment of the note naming the check.
    ``after``: the placement afterwards when the kernel has done work before failing (None:
    nothing may change). ``status``: move_pages' status array as the kernel left it (None: not
    checked)."""

    errno: int
    note: str = ""
    after: dict[str, list[int]] | None = None
    status: list[int] | None = None


@dataclass(frozen=True)
class Ret:
    """The call returns ``value`` (with move_pages: and ``status``); every followed region is
    then placed as ``placement`` says."""

    value: int
    placement: dict[str, list[int]] = field(default_factory=dict)
    status: list[int] | None = None

    @property
    def result(self) -> Any:
        return self.value if self.status is None else (self.value, self.status)


Outcome = Err | Ret


class Call(Protocol):
    """What a set-up returns: who calls, and the arguments after the caller."""

    @property
    def caller(self) -> numasim.Task: ...

    @property
    def args(self) -> tuple[Any, ...]: ...


@dataclass
class Row:
    """One line of a table: what the man page (or the spec) says, how to set it up, and the
    outcome in each generation (``rc6`` defaults to the 2.6.16 outcome). ``arch`` and ``swap``
    are the scene's. ``bugs``: generation -> reason, the library is known to get this row wrong
    (strict xfail)."""

    id: str
    doc: str
    setup: Callable[[Any], Call]
    v5: Outcome
    k16: Outcome
    modern: Outcome
    rc6: Outcome | None = None
    arch: str = "x86_64"
    swap: str | int = "16MiB"
    bugs: dict[str, str] = field(default_factory=dict)

    def expect(self, gen: str) -> Outcome:
        if gen == RC6:
            return self.k16 if self.rc6 is None else self.rc6
        return {V5: self.v5, K16: self.k16, MODERN: self.modern}[gen]


def same(x: Outcome) -> dict[str, Outcome]:
    """The same outcome in every generation."""
    return {"v5": x, "k16": x, "modern": x}


def params(rows: list[Row]) -> Iterator[Any]:
    """(row, generation) for every row and generation, with ids ``row-id[generation]``."""
    for row in rows:
        for gen in GENS:
            yield pytest.param(row, gen, id=f"{row.id}[{gen}]")


def assert_distinct_ids(rows: list[Row]) -> None:
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


# --- running a row -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Syscall:
    """What differs between the system calls' tables."""

    #: Task.syscall's name and the key of arch.syscalls (the number for Machine.syscall)
    name: str
    #: the Python API, called as fn(caller, *args)
    fn: Callable[..., Any]
    #: the scene of a row in a generation
    scene: Callable[[str, Any], Scene]
    #: the call leaves its MigrateReport in machine.last_report, whose .ret is the return value
    report: bool = False


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """The value returned, or the OSError raised (checked: the exact subclass of its errno and
    at least one note)."""
    try:
        return fn(*args)
    except OSError as e:
        assert e.errno is not None
        assert type(e) is type(OSError(e.errno, "")), (type(e), e.errno)
        assert e.__notes__, "the error names the failed check in a note"
        return e


def result(got: Any) -> Any:
    """A return value as a row states it: the int, or move_pages' (rc, status) with the status
    array (of C ints) as a list."""
    if isinstance(got, tuple):
        rc, status = got
        assert status.dtype == np.int32, status.dtype
        return rc, status.tolist()
    return got


def unchanged(s: Scene, before: dict[str, Any], calls: int) -> None:
    """Nothing in ``before`` changed but the clock, which moved by at most what entering the
    kernel costs ``calls`` times: a failed system call that got past the checks of the
    syscall layer still paid its entry and its lru_add_drain_all() (docs/costs.md)."""
    after = s.snapshot()
    moved = after.pop("now_ns") - before["now_ns"]
    assert after == {k: v for k, v in before.items() if k != "now_ns"}
    c = s.m.costs
    assert 0 <= moved <= calls * (c.syscall_ns + c.drain_per_cpu_ns * s.m.nr_cpus), moved


def run_row(kind: Syscall, row: Row, gen: str, request: pytest.FixtureRequest) -> None:
    """Runs ``row`` in generation ``gen`` (see the module's docstring)."""
    if gen in row.bugs:
        request.applymarker(pytest.mark.xfail(strict=True, reason=row.bugs[gen]))
    want = row.expect(gen)
    s = kind.scene(gen, row)
    call = row.setup(s)
    nr = s.m.arch.syscalls[kind.name]
    before = s.snapshot()
    got = outcome(kind.fn, call.caller, *call.args)
    s.m.check()
    if isinstance(want, Err):
        assert isinstance(got, OSError), f"{row.doc}: returned {got!r}"
        assert got.errno == want.errno, (row.doc, got, got.__notes__)
        assert any(want.note in n for n in got.__notes__), got.__notes__
        if want.status is not None:
            assert got.status.tolist() == want.status  # type: ignore[attr-defined]
        if want.after is None:
            # A failed call changes nothing, and the C views agree (and change nothing either).
            unchanged(s, before, calls=1)
            assert call.caller.syscall(kind.name, *call.args) == -want.errno
            assert s.m.syscall(call.caller, nr, *call.args) == -want.errno
            unchanged(s, before, calls=3)
            s.m.check()
            return
        # The kernel did part of the work before failing: what it did stays, nothing is lost.
        assert s.placement() == want.after
        assert s.contents() == before["contents"]
        # The C views, each on a fresh scene: -errno and the same work done.
        for view in ("Task.syscall", "Machine.syscall"):
            s2 = kind.scene(gen, row)
            c2 = row.setup(s2)
            if view == "Task.syscall":
                got2 = c2.caller.syscall(kind.name, *c2.args)
            else:
                got2 = s2.m.syscall(c2.caller, nr, *c2.args)
            assert got2 == -want.errno, view
            s2.m.check()
            assert s2.placement() == want.after, view
        return
    assert not isinstance(got, OSError), f"{row.doc}: raised {got!r} {got.__notes__}"
    assert result(got) == want.result, row.doc
    if kind.report:
        assert s.m.last_report.ret == want.value
    assert s.placement() == want.placement
    # moving (or evicting) never changes what the tasks read
    assert s.contents() == before["contents"]
    # The same row through Machine.syscall (by number) on a fresh scene: the same result.
    s2 = kind.scene(gen, row)
    c2 = row.setup(s2)
    got2 = s2.m.syscall(c2.caller, nr, *c2.args)
    s2.m.check()
    assert result(got2) == want.result
    assert s2.placement() == want.placement
