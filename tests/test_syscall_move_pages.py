"""move_pages(2), table-driven, for the three kernel generations.

    long move_pages(int pid, unsigned long count, void **pages, const int *nodes,
                    int *status, int flags);

move_pages arrived in 2.6.18: the V5 kernel has none (ENOSYS), the 2.6.16 machine runs the
2.6.18 text as an extension, modern runs 6.x kernel_move_pages() (spec §6.2, docs/semantics.md).
One row per error case and per documented behaviour (man page MAN-MV, spec §6.2.2-5).

Every row runs as ``numasim.move_pages`` (the return value and status array, or an OSError with
the statuses written in ``.status``), ``Task.syscall`` and ``Machine.syscall`` by number
(-errno). A failed call changes nothing, except where the kernel itself has already moved pages
(modern do_pages_move() flushes the pages queued before a bad entry: ``after`` below).
The scene, the rows and how a row runs are tests/syscall_scene.py's, shared with
migrate_pages(2) and mbind(2).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import numasim
from numasim import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT, STATUS_UNWRITTEN

pytest.register_assert_rewrite("syscall_scene")
import syscall_scene as sc  # noqa: E402
from syscall_scene import (  # noqa: E402
    A4,
    B2,
    GENS,
    K16,
    MODERN,
    OUT,
    V5,
    Err,
    Outcome,
    Ret,
    Scene,
    Syscall,
    assert_distinct_ids,
    params,
    run_row,
    target_ab,
)

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


def ret(value: int, status: list[int], **placement: list[int]) -> Ret:
    """Returns ``value`` with ``status``; the regions are then placed so."""
    return Ret(value, placement, status)


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


def Row(*args: Any, v5: Outcome = NOSYS, **kw: Any) -> sc.Row:
    """A row of the shared harness. V5 has no move_pages (ENOSYS) unless the row says otherwise;
    the 2.6.16 machine runs the 2.6.18 text whatever migrate_cap says, so no row has an rc6
    column (2.6.16-rc6 expects the 2.6.16 outcome)."""
    return sc.Row(*args, v5=v5, **kw)


def both(x: Outcome) -> dict[str, Outcome]:
    """The same outcome in 2.6.16 and modern."""
    return {"k16": x, "modern": x}


#: The scene of every row: the shared 4-node x86_64 machine with 16 MiB of swap.
MOVE_PAGES = Syscall("move_pages", numasim.move_pages, lambda gen, row: Scene(gen))


# --- set-ups (the usual target: syscall_scene.target_ab) ---------------------------------------


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
    s.follow("Z", t, z, 4)
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
        s.follow("S_child", ch, a, 2)
        pa = ch.mmap(s.ps)
        ch.touch(pa, s.ps, write=True)
        s.follow("P", ch, pa, 1)
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

ROWS: list[sc.Row] = [
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
        modern=Err(ENODEV, "", status=[1, UNW], after={"A": [1, 0, 0, 0], "B": B2}),
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


@pytest.mark.parametrize(("row", "gen"), list(params(ROWS)))
def test_move_pages_table(row: sc.Row, gen: str, request: pytest.FixtureRequest) -> None:
    run_row(MOVE_PAGES, row, gen, request)


def test_every_row_has_a_distinct_id() -> None:
    assert_distinct_ids(ROWS)


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
