"""move_pages(2), table-driven, for the three kernel generations.

    long move_pages(int pid, unsigned long count, void **pages, const int *nodes,
                    int *status, int flags);

move_pages arrived in 2.6.18: the V5 kernel has none (ENOSYS), the 2.6.16 machine runs the
2.6.18 text as an extension, modern runs 6.x kernel_move_pages() (spec §6.2, docs/semantics.md).
One row per error case and per documented behaviour (man page MAN-MV, spec §6.2.2-5).

Every row runs as ``numasim.move_pages`` (the return value and status array, or an OSError with
the statuses written in ``.status``), ``Task.syscall`` and ``Machine.syscall`` by number
(-errno). A failed call changes nothing, except where the kernel itself has already moved pages
(modern do_pages_move() flushes the pages queued before a bad entry, ``moved`` below).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import numasim
from numasim import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT, STATUS_UNWRITTEN

EPERM, ESRCH, EINVAL, EFAULT, EACCES, ENOENT, ENODEV, ENOSYS, EBUSY, EAGAIN = (
    errno.EPERM,
    errno.ESRCH,
    errno.EINVAL,
    errno.EFAULT,
    errno.EACCES,
    errno.ENOENT,
    errno.ENODEV,
    errno.ENOSYS,
    errno.EBUSY,
    errno.EAGAIN,
)
MOVE, MOVE_ALL = int(MPOL_MF_MOVE), int(MPOL_MF_MOVE_ALL)
UNW = STATUS_UNWRITTEN  # a status entry the kernel did not write
OUT = -ENOENT  # page_nodes() of a swapped-out page

V5, K16, RC6, MODERN = "v5", "2.6.16", "2.6.16-rc6", "modern"
GENS = {
    V5: ("v5", "CAP_SYS_NICE"),
    K16: ("2.6.16", "CAP_SYS_NICE"),
    RC6: ("2.6.16", "CAP_SYS_ADMIN"),
    MODERN: ("modern", "CAP_SYS_NICE"),
}


class Scene:
    """A 4-node x86_64 machine (1024 pages per node) of one generation, with named regions."""

    def __init__(self, gen: str) -> None:
        sem, cap = GENS[gen]
        self.m = numasim.Machine(
            semantics=sem, nodes=4, node_memory="4MiB", swap="16MiB", migrate_cap=cap
        )
        self.ps = self.m.page_size
        self.regions: dict[str, tuple[numasim.Task, int, int]] = {}

    def task(self, uid: int = 1000, caps: tuple[str, ...] = (), cpuset: str = "/") -> numasim.Task:
        t = self.m.spawn(uid=uid, cpuset=cpuset)
        for c in caps:
            t.grant(c)
        return t

    def fill(self, name: str, t: numasim.Task, nodes: list[int]) -> int:
        cpu0 = t.cpu
        a = t.mmap(len(nodes) * self.ps)
        for i, n in enumerate(nodes):
            t.migrate_to_cpu(self.m.node_cpus(n)[0])
            t.touch(a + i * self.ps, self.ps, write=True)
        t.migrate_to_cpu(cpu0)
        self.regions[name] = (t, a, len(nodes))
        return a

    def addr(self, name: str, i: int) -> int:
        _, a, _ = self.regions[name]
        return a + i * self.ps

    def placement(self) -> dict[str, list[int]]:
        return {k: t.page_nodes(a, n * self.ps).tolist() for k, (t, a, n) in self.regions.items()}

    def snapshot(self) -> dict[str, Any]:
        return {
            "placement": self.placement(),
            "contents": {
                k: t.read(a, n * self.ps).tolist() for k, (t, a, n) in self.regions.items()
            },
            "vmstat": self.m.vmstat_counters(),
            "usage": self.m.node_usage(),
            "swap": (self.m.swap_info(), self.m.swap_cache_pages),
            "now_ns": self.m.now_ns,
        }


@dataclass(frozen=True)
class Err:
    """The call fails with errno; ``note`` names the check. ``status``: what the kernel wrote
    before failing (None: not checked, the call failed before any status handling).
    ``moved``: the placement after the failure when the kernel has already moved pages
    (None: nothing may change)."""

    errno: int
    note: str = ""
    status: list[int] | None = None
    moved: dict[str, list[int]] | None = None


@dataclass(frozen=True)
class Ret:
    """The call returns ``value`` with ``status``; the regions are then placed so."""

    value: int
    status: list[int]
    placement: dict[str, list[int]] = field(default_factory=dict)


def ret(value: int, status: list[int], **placement: list[int]) -> Ret:
    return Ret(value, status, placement)


@dataclass(frozen=True)
class Call:
    caller: numasim.Task
    pid: int
    pages: list[int]
    nodes: list[int] | None
    flags: int = MOVE

    @property
    def args(self) -> tuple[Any, ...]:
        return (self.pid, self.pages, self.nodes, self.flags)


NOSYS = Err(ENOSYS, "2.6.18")


@dataclass
class Row:
    id: str
    doc: str
    setup: Callable[[Scene], Call]
    k16: Err | Ret
    modern: Err | Ret
    v5: Err | Ret = NOSYS
    bugs: dict[str, str] = field(default_factory=dict)

    def expect(self, gen: str) -> Err | Ret:
        # move_pages of the 2.6.16 machine is the 2.6.18 text whatever migrate_cap says.
        return {V5: self.v5, K16: self.k16, RC6: self.k16, MODERN: self.modern}[gen]


def both(x: Err | Ret) -> dict[str, Err | Ret]:
    return {"k16": x, "modern": x}


# --- set-ups ---------------------------------------------------------------------------------

A4, B2 = [0, 0, 0, 0], [2, 2]


def target_ab(s: Scene, uid: int = 1000) -> numasim.Task:
    """Region A: 4 pages on node 0; region B: 2 pages on node 2."""
    t = s.task(uid=uid)
    s.fill("A", t, A4)
    s.fill("B", t, B2)
    return t


def call(
    pages: list[tuple[str, int]] | None = None,
    nodes: tuple[int, ...] | list[int] | None = (1,),
    flags: int = MOVE,
    caller_uid: int = 1000,
    caps: tuple[str, ...] = (),
    target_uid: int = 1000,
    pid: Any = "target",
    lsm: int = 0,
) -> Callable[[Scene], Call]:
    """The usual target and a caller; ``pages`` as (region, index) pairs (default A[0])."""

    def setup(s: Scene) -> Call:
        t = target_ab(s, target_uid)
        c = s.task(uid=caller_uid, caps=caps)
        if lsm:
            s.m.security_task_movememory = lambda caller, target: lsm
        addrs = [s.addr(r, i) for r, i in (pages or [("A", 0)])]
        ns = None if nodes is None else list(nodes)
        if pid == "self":
            return Call(t, 0, addrs, ns, flags)
        if pid == "own":
            return Call(t, t.pid, addrs, ns, flags)
        return Call(c, t.pid if pid == "target" else pid, addrs, ns, flags)

    return setup


def kthread(caller_uid: int, lsm: int = 0) -> Callable[[Scene], Call]:
    def setup(s: Scene) -> Call:
        target_ab(s)
        k = s.m.kernel_thread()
        c = s.task(uid=caller_uid)
        if lsm:
            s.m.security_task_movememory = lambda caller, target: lsm
        return Call(c, k.pid, [s.addr("A", 0)], [1])

    return setup


def target_in_cpuset(nodes: list[int]) -> Callable[[Scene], Call]:
    """The target's pages are placed, then it moves into a cpuset with mems {0,1}."""

    def setup(s: Scene) -> Call:
        t = target_ab(s)
        t.attach_cpuset(s.m.cpuset("/t", mems=[0, 1]))
        c = s.task(uid=0)
        return Call(c, t.pid, [s.addr("A", i) for i in range(len(nodes))], nodes)

    return setup


def odd_pages(s: Scene) -> Call:
    """Region A as usual, and Z: page 0 read once (the zero page), page 1 never touched,
    page 2 written then swapped out, page 3 written (node 0). Plus a hole below a mapping and
    an address above TASK_SIZE."""
    t = target_ab(s)
    z = t.mmap(4 * s.ps)
    t.touch(z, s.ps)
    t.touch(z + 2 * s.ps, 2 * s.ps, write=True)
    assert s.m.swap_out(t, z + 2 * s.ps, s.ps) == 1
    s.regions["Z"] = (t, z, 4)
    h = t.mmap(2 * s.ps)
    t.munmap(h, s.ps)  # h is a hole, h + PAGE_SIZE the start of a mapping
    pages = [z, z + s.ps, z + 2 * s.ps, z + 3 * s.ps, h, s.m.arch.task_size + s.ps]
    return Call(s.task(), t.pid, pages, None)


def odd_pages_moved(s: Scene) -> Call:
    c = odd_pages(s)
    return Call(c.caller, c.pid, [s.addr("A", 0), *c.pages], [1] * (len(c.pages) + 1))


def cow_shared(caller_uid: int, with_private: bool) -> Callable[[Scene], Call]:
    """A parent wrote S (2 pages, node 0) and forked; the child wrote P (1 page) after the
    fork. The call moves the child's S[0] (and P[0]) to node 1."""

    def setup(s: Scene) -> Call:
        p = s.task()
        a = s.fill("S", p, [0, 0])
        ch = p.fork()
        s.regions["S_child"] = (ch, a, 2)
        pa = ch.mmap(s.ps)
        ch.touch(pa, s.ps, write=True)
        s.regions["P"] = (ch, pa, 1)
        c = s.task(uid=caller_uid)
        pages = [a, pa] if with_private else [a]
        flags = MOVE_ALL if caller_uid == 0 else MOVE
        return Call(c, ch.pid, pages, [1] * len(pages), flags)

    return setup


def busy(s: Scene) -> Call:
    """A[0] is pinned (an extra reference): it cannot be migrated."""
    t = target_ab(s)
    assert s.m.set_page_state(t, s.addr("A", 0), s.ps, "pinned") == 1
    return Call(s.task(), t.pid, [s.addr("A", i) for i in range(3)], [1, 1, 2])


# --- the table ---------------------------------------------------------------------------------

MOVED = ret(0, [1], A=[1, 0, 0, 0], B=B2)

ROWS: list[Row] = [
    # ---------------- ERRORS: flags and capability (checked before the pid) -----------------
    Row(
        "v5-has-no-move_pages",
        "ENOSYS in V5: move_pages(2) first appeared in Linux 2.6.18",
        call(),
        v5=NOSYS,
        k16=MOVED,
        modern=MOVED,
    ),
    Row(
        "bad-flags",
        "EINVAL: flags other than MPOL_MF_MOVE and MPOL_MF_MOVE_ALL (MPOL_MF_STRICT here)",
        call(flags=MOVE | int(MPOL_MF_STRICT)),
        **both(Err(EINVAL, "flags")),
    ),
    Row(
        "unknown-flag-bit",
        "EINVAL: an unknown flag bit",
        call(flags=1 << 5),
        **both(Err(EINVAL, "flags")),
    ),
    Row(
        "MOVE_ALL-without-CAP_SYS_NICE",
        "EPERM: MPOL_MF_MOVE_ALL without CAP_SYS_NICE, even on one's own pages",
        call(flags=MOVE_ALL, pid="self"),
        **both(Err(EPERM, "MPOL_MF_MOVE_ALL")),
    ),
    Row(
        "order-bad-flags-before-MOVE_ALL",
        "bad flags with MOVE_ALL and no capability: the flags check comes first",
        call(flags=MOVE_ALL | 1 << 5),
        **both(Err(EINVAL, "flags")),
    ),
    Row(
        "order-MOVE_ALL-before-pid",
        "MOVE_ALL without CAP_SYS_NICE and no such pid: EPERM (checked before the lookup)",
        call(flags=MOVE_ALL, pid=4_000_000),
        **both(Err(EPERM, "MPOL_MF_MOVE_ALL")),
    ),
    # ---------------- ERRORS: the target ----------------------------------------------------
    Row(
        "no-such-process",
        "ESRCH: process does not exist",
        call(pid=4_000_000),
        **both(Err(ESRCH, "no such process")),
    ),
    Row(
        "kernel-thread-root-caller",
        "EINVAL: the target is a kernel thread",
        kthread(caller_uid=0),
        **both(Err(EINVAL, "no mm")),
    ),
    Row(
        "kernel-thread-unprivileged-caller",
        "kernel thread, unprivileged caller: 2.6.18 looks at the mm first (EINVAL); modern "
        "asks ptrace_may_access() first (EPERM)",
        kthread(caller_uid=1000),
        k16=Err(EINVAL, "no mm"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "other-user-unprivileged",
        "EPERM: the caller has no right to move another user's process",
        call(target_uid=2000),
        k16=Err(EPERM, "no right"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "other-user-query-unprivileged",
        "EPERM: even the nodes=NULL query needs the right to the target",
        call(target_uid=2000, nodes=None),
        k16=Err(EPERM, "no right"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "other-user-CAP_SYS_NICE",
        "another user's process with CAP_SYS_NICE: the 2.6.18 uid rule accepts it; since 4.13 "
        "move_pages uses ptrace_may_access (spec §5.3.5)",
        call(target_uid=2000, caps=("CAP_SYS_NICE",)),
        k16=MOVED,
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "other-user-CAP_SYS_PTRACE",
        "another user's process with CAP_SYS_PTRACE: only modern accepts it",
        call(target_uid=2000, caps=("CAP_SYS_PTRACE",)),
        k16=Err(EPERM, "no right"),
        modern=MOVED,
    ),
    Row(
        "other-user-root",
        "root may move any process's pages",
        call(caller_uid=0, target_uid=2000),
        **both(MOVED),
    ),
    # ---------------- ERRORS: the nodes array ----------------------------------------------
    Row(
        "node-not-online",
        "ENODEV: a target node (5) is not online",
        call(nodes=[5]),
        **both(Err(ENODEV, "", status=[UNW])),
    ),
    Row(
        "node-negative",
        "ENODEV: a negative node",
        call(nodes=[-1]),
        **both(Err(ENODEV, "", status=[UNW])),
    ),
    Row(
        "node-MAX_NUMNODES",
        "ENODEV: node 64 = MAX_NUMNODES",
        call(nodes=[64]),
        **both(Err(ENODEV, "", status=[UNW])),
    ),
    Row(
        "node-outside-target-cpuset",
        "EACCES: a target node is not allowed by the target's cpuset (root caller)",
        target_in_cpuset([2]),
        **both(Err(EACCES, "", status=[UNW])),
    ),
    Row(
        "order-ENODEV-entry-first",
        "the first bad entry decides: node 5 (ENODEV) before node 2 outside the cpuset",
        target_in_cpuset([5, 2]),
        **both(Err(ENODEV, "", status=[UNW, UNW])),
    ),
    Row(
        "order-EACCES-entry-first",
        "the first bad entry decides: node 2 outside the cpuset (EACCES) before node 5",
        target_in_cpuset([2, 5]),
        **both(Err(EACCES, "", status=[UNW, UNW])),
    ),
    Row(
        "bad-node-after-a-good-one",
        "a bad node in entry 1: 2.6.18 checks every entry before moving anything; modern "
        "do_pages_move() flushes the pages queued so far (entry 0 moves, status[0] = 1)",
        call(pages=[("A", 0), ("A", 1)], nodes=[1, 5]),
        k16=Err(ENODEV, "", status=[UNW, UNW]),
        modern=Err(ENODEV, "", status=[1, UNW], moved={"A": [1, 0, 0, 0], "B": B2}),
    ),
    # ---------------- LSM (security_task_movememory) ---------------------------------------
    Row(
        "lsm-denies",
        "security_task_movememory() refusing the target: its error",
        call(lsm=-EACCES),
        **both(Err(EACCES, "security_task_movememory")),
    ),
    Row(
        "lsm-denies-own-pid",
        "the caller's own pid (not 0) goes through the checks too",
        call(lsm=-EACCES, pid="own"),
        **both(Err(EACCES, "security_task_movememory")),
    ),
    Row(
        "lsm-and-pid-0",
        "pid 0: 2.6.18 takes current and still calls the hook; modern find_mm_struct() returns "
        "current->mm at once, without ptrace or LSM checks (mm/migrate.c, 5.11+)",
        call(lsm=-EACCES, pid="self"),
        k16=Err(EACCES, "security_task_movememory"),
        modern=MOVED,
    ),
    Row(
        "order-kthread-root-and-lsm",
        "kernel thread, root caller, LSM refusing: 2.6.18 checks the mm first; modern asks the "
        "LSM before get_task_mm()",
        kthread(caller_uid=0, lsm=-EACCES),
        k16=Err(EINVAL, "no mm"),
        modern=Err(EACCES, "security_task_movememory"),
    ),
    Row(
        "order-other-user-and-lsm",
        "another user's process and an LSM refusing: the permission check comes first",
        call(target_uid=2000, lsm=-EACCES),
        k16=Err(EPERM, "no right"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    # ---------------- BEHAVIOUR: query (nodes == NULL) -------------------------------------
    Row(
        "query",
        "nodes NULL: no move, status gets the node of each page",
        call(pages=[("A", 0), ("A", 3), ("B", 1)], nodes=None),
        **both(ret(0, [0, 0, 2], A=A4, B=B2)),
    ),
    Row(
        "query-odd-pages",
        "status of the zero page, a never-touched page, a swapped-out page, a hole below a "
        "mapping, an address above TASK_SIZE: 2.6.18 follow_page() NULL / PageReserved give "
        "-ENOENT and find_vma() finds the next VMA for the hole; modern FOLL_DUMP gives -EFAULT "
        "for the zero page and untouched anonymous memory, vma_lookup() -EFAULT for the hole",
        odd_pages,
        k16=ret(0, [-ENOENT, -ENOENT, -ENOENT, 0, -ENOENT, -EFAULT], A=A4, B=B2, Z=[OUT] * 3 + [0]),
        modern=ret(
            0,
            [-EFAULT, -EFAULT, -ENOENT, 0, -EFAULT, -EFAULT],
            A=A4,
            B=B2,
            Z=[-EFAULT, -ENOENT, OUT, 0],
        ),
    ),
    # ---------------- BEHAVIOUR: moving -----------------------------------------------------
    Row(
        "move",
        "each page goes to its node; status is the node; returns 0",
        call(pages=[("A", 0), ("A", 1), ("B", 0)], nodes=[1, 3, 0]),
        **both(ret(0, [1, 3, 0], A=[1, 3, 0, 0], B=[0, 2])),
    ),
    Row(
        "pid-0",
        "pid 0 moves the caller's own pages",
        call(pid="self"),
        **both(MOVED),
    ),
    Row(
        "already-there-alone",
        "a page already on its node: status = node. 2.6.18 isolated nothing, so the call returns "
        "-ENOENT without writing status (spec §6.2.4); modern returns 0",
        call(nodes=[0]),
        k16=Err(ENOENT, "", status=[UNW]),
        modern=ret(0, [0], A=A4, B=B2),
    ),
    Row(
        "already-there-and-one-to-move",
        "a page already on its node next to one that moves: status = node for both",
        call(pages=[("A", 0), ("A", 1)], nodes=[0, 1]),
        **both(ret(0, [0, 1], A=[0, 1, 0, 0], B=B2)),
    ),
    Row(
        "unmovable-entries-in-the-list",
        "pages that cannot be found are reported in status and do not stop the others",
        odd_pages_moved,
        k16=ret(
            0,
            [1, -ENOENT, -ENOENT, -ENOENT, 1, -ENOENT, -EFAULT],
            A=[1, 0, 0, 0],
            B=B2,
            Z=[OUT, OUT, OUT, 1],
        ),
        modern=ret(
            0,
            [1, -EFAULT, -EFAULT, -ENOENT, 1, -EFAULT, -EFAULT],
            A=[1, 0, 0, 0],
            B=B2,
            Z=[-EFAULT, -ENOENT, OUT, 1],
        ),
    ),
    Row(
        "shared-without-MOVE_ALL",
        "-EACCES: the page is mapped by several processes and MOVE_ALL was not given; the "
        "private page next to it moves",
        cow_shared(caller_uid=1000, with_private=True),
        **both(ret(0, [-EACCES, 1], S=[0, 0], S_child=[0, 0], P=[1])),
    ),
    Row(
        "shared-only-without-MOVE_ALL",
        "only a shared page: -EACCES; 2.6.18 isolated nothing and returns -ENOENT without "
        "writing status",
        cow_shared(caller_uid=1000, with_private=False),
        k16=Err(ENOENT, "", status=[UNW]),
        modern=ret(0, [-EACCES], S=[0, 0], S_child=[0, 0], P=[0]),
    ),
    Row(
        "shared-with-MOVE_ALL",
        "MOVE_ALL (root): the shared page moves, for both processes",
        cow_shared(caller_uid=0, with_private=True),
        **both(ret(0, [1, 1], S=[1, 0], S_child=[1, 0], P=[1])),
    ),
    Row(
        "same-page-twice-same-node",
        "-EBUSY: the second entry finds the page already isolated (off the LRU) by the first",
        call(pages=[("A", 1), ("A", 1)], nodes=[3, 3]),
        **both(ret(0, [3, -EBUSY], A=[0, 3, 0, 0], B=B2)),
    ),
    Row(
        "same-page-twice-two-nodes",
        "the same page to node 1 then node 2: 2.6.18 isolates everything first (the second "
        "entry is -EBUSY, the page ends on 1); modern migrates each run of one node when the "
        "node changes, so the page goes to 1, then to 2",
        call(pages=[("A", 0), ("A", 0)], nodes=[1, 2]),
        k16=ret(0, [1, -EBUSY], A=[1, 0, 0, 0], B=B2),
        modern=ret(0, [1, 2], A=[2, 0, 0, 0], B=B2),
    ),
    Row(
        "busy-page",
        "a page that cannot be migrated: 2.6.18 returns the count not migrated, its status the "
        "last attempt's -EAGAIN; modern (4.17+) returns the pages not migrated plus those not "
        "attempted (A[2] -> 2 never runs) and stores no status for the failed run",
        busy,
        k16=ret(1, [-EAGAIN, 1, 2], A=[0, 1, 2, 0], B=B2),
        modern=ret(2, [UNW, UNW, UNW], A=[0, 1, 0, 0], B=B2),
    ),
]


def _params():
    for row in ROWS:
        for gen in GENS:
            yield pytest.param(row, gen, id=f"{row.id}[{gen}]")


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except OSError as e:
        assert e.errno is not None
        assert type(e) is type(OSError(e.errno, "")), (type(e), e.errno)
        assert e.__notes__, "the error names the failed check in a note"
        return e


@pytest.mark.parametrize(("row", "gen"), list(_params()))
def test_move_pages_table(row: Row, gen: str, request: pytest.FixtureRequest) -> None:
    if gen in row.bugs:
        request.applymarker(pytest.mark.xfail(strict=True, reason=row.bugs[gen]))
    want = row.expect(gen)
    s = Scene(gen)
    c = row.setup(s)
    nr = s.m.arch.syscalls["move_pages"]
    before = s.snapshot()
    got = outcome(numasim.move_pages, c.caller, *c.args)
    s.m.check()
    if isinstance(want, Err):
        assert isinstance(got, OSError), f"{row.doc}: returned {got!r}"
        assert got.errno == want.errno, (row.doc, got, got.__notes__)
        assert any(want.note in n for n in got.__notes__), got.__notes__
        if want.status is not None:
            assert got.status.tolist() == want.status  # type: ignore[attr-defined]
        if want.moved is None:
            assert s.snapshot() == before
        else:
            assert s.placement() == want.moved
            assert s.snapshot()["contents"] == before["contents"]
        # The C views: -errno (on a fresh scene, as the kernel may have moved pages).
        s2 = Scene(gen)
        c2 = row.setup(s2)
        assert c2.caller.syscall("move_pages", *c2.args) == -want.errno
        s3 = Scene(gen)
        c3 = row.setup(s3)
        assert s3.m.syscall(c3.caller, nr, *c3.args) == -want.errno
        assert s3.placement() == (before["placement"] if want.moved is None else want.moved)
        return
    assert not isinstance(got, OSError), f"{row.doc}: raised {got!r} {got.__notes__}"
    rc, status = got
    assert (rc, status.tolist()) == (want.value, want.status)
    assert status.dtype == np.int32
    assert s.placement() == want.placement
    assert s.snapshot()["contents"] == before["contents"]
    s2 = Scene(gen)
    c2 = row.setup(s2)
    rc2, st2 = s2.m.syscall(c2.caller, nr, *c2.args)
    s2.m.check()
    assert (rc2, st2.tolist(), s2.placement()) == (want.value, want.status, want.placement)


def test_every_row_has_a_distinct_id() -> None:
    assert len({r.id for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("gen", [K16, MODERN])
def test_query_then_move_then_query(gen: str) -> None:
    """The status of a move equals what a following query reports, page by page."""
    s = Scene(gen)
    t = target_ab(s)
    pages = [s.addr("A", i) for i in range(4)] + [s.addr("B", 0)]
    rc, st = numasim.move_pages(t, 0, pages, [3, 2, 1, 0, 3])
    s.m.check()
    assert (rc, st.tolist()) == (0, [3, 2, 1, 0, 3])
    rc, q = numasim.move_pages(t, 0, pages, None)
    assert (rc, q.tolist()) == (0, [3, 2, 1, 0, 3])
    assert s.placement() == {"A": [3, 2, 1, 0], "B": [3, 2]}


@pytest.mark.parametrize("gen", [K16, MODERN])
def test_lsm_hook_sees_caller_and_target(gen: str) -> None:
    s = Scene(gen)
    t = target_ab(s)
    c = s.task()
    seen: list[tuple[int, int]] = []
    s.m.security_task_movememory = lambda caller, target: seen.append((caller.pid, target.pid)) or 0
    rc, st = numasim.move_pages(c, t.pid, [s.addr("A", 0)], [1])
    s.m.check()
    assert (rc, st.tolist(), seen) == (0, [1], [(c.pid, t.pid)])


@pytest.mark.parametrize("gen", list(GENS))
def test_syscall_numbers_per_arch(gen: str) -> None:
    """__NR_move_pages: i386 317, x86_64 279, ia64 1276 (spec §7)."""
    for arch, nr in (("i386", 317), ("x86_64", 279), ("ia64", 1276)):
        m = numasim.Machine(arch=arch, semantics=GENS[gen][0], nodes=2, node_memory="8MiB")
        t = m.spawn()
        a = t.mmap(m.page_size)
        t.touch(a, m.page_size, write=True)
        assert m.arch.syscalls["move_pages"] == nr
        got = m.syscall(t, nr, 0, [a], [1], MOVE)
        m.check()
        if gen == V5:
            assert got == -ENOSYS
            assert t.page_nodes(a, m.page_size).tolist() == [0]
        else:
            assert (got[0], got[1].tolist()) == (0, [1])
            assert t.page_nodes(a, m.page_size).tolist() == [1]
