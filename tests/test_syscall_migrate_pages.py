"""migrate_pages(2), table-driven, for the three kernel generations.

    long migrate_pages(int pid, unsigned long maxnode,
                       const unsigned long *old_nodes, const unsigned long *new_nodes);

One row per error case and per documented behaviour, read like the man page (spec §6.1), with
the kernel's check order of each generation (spec §5): v5 = the Swap Migration V5 posting,
2.6.16 (``migrate_cap="CAP_SYS_NICE"``, the default, and ``"CAP_SYS_ADMIN"`` = 2.6.16-rc6),
modern = 6.x kernel_migrate_pages(). get_nodes() is spec §1, the page walk §2, do_migrate_pages
§4.

Every row runs three ways: ``numasim.migrate_pages`` (an OSError subclass with .errno and a
note naming the check), ``Task.syscall`` and ``Machine.syscall`` by the arch's number (-errno).
A row that fails must change nothing (placement, content, vmstat, node usage, swap, clock); a
row that succeeds must return the pages not moved and leave every page where the row says.

The scene, the rows and how a row runs are tests/syscall_scene.py's, shared with mbind(2) and
move_pages(2); this file holds the set-ups and the table.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import numasim
from numasim import FAULT

pytest.register_assert_rewrite("syscall_scene")
from syscall_scene import (  # noqa: E402
    A4,
    B2,
    GENS,
    K16,
    MODERN,
    OUT,
    V5,
    Err,
    Ret,
    Row,
    Scene,
    Syscall,
    assert_distinct_ids,
    params,
    run_row,
    same,
    target_ab,
)

EPERM, ESRCH, EINVAL, EFAULT, EACCES = (
    errno.EPERM,
    errno.ESRCH,
    errno.EINVAL,
    errno.EFAULT,
    errno.EACCES,
)
#: page_nodes() of a file page whose PTE 2.6.16's migrate_page() removed and did not restore
#: (only swap PTEs are turned back into PTEs, spec §3.3.4): the next access maps the new page.
UNMAPPED = -errno.ENOENT


def words(s: Scene, *ws: int) -> np.ndarray:
    """A user bitmap of unsigned longs of the scene's arch."""
    return np.array(ws, dtype=s.m.arch.word_dtype)


def nwords(n: int, *low: int) -> Callable[[Scene], np.ndarray]:
    """A bitmap of n words: ``low`` first, then zeros."""
    return lambda s: words(s, *low, *([0] * (n - len(low))))


def ret(value: int, **placement: list[int]) -> Ret:
    """Returns ``value`` (pages not moved); the regions are then placed so."""
    return Ret(value, placement)


@dataclass(frozen=True)
class Call:
    caller: numasim.Task
    pid: int
    maxnode: int
    old: Any
    new: Any

    @property
    def args(self) -> tuple[Any, ...]:
        return (self.pid, self.maxnode, self.old, self.new)


#: The scene of every row: a 4-node machine of the row's arch and swap, no task of its own.
MIGRATE_PAGES = Syscall(
    "migrate_pages",
    numasim.migrate_pages,
    lambda gen, row: Scene(gen, arch=row.arch, swap=row.swap),
    report=True,
)

# --- common set-ups (the usual target: syscall_scene.target_ab) ------------------------------


def other(
    caller_uid: int = 1000,
    caps: tuple[str, ...] = (),
    target_uid: int = 1000,
    old: Any = (0,),
    new: Any = (1,),
) -> Callable[[Scene], Call]:
    """A caller (uid, capabilities) acting on the usual target (target_uid)."""

    def setup(s: Scene) -> Call:
        t = target_ab(s, target_uid)
        c = s.task(uid=caller_uid, caps=caps)
        return Call(c, t.pid, s.maxnode, list(old), list(new))

    return setup


def kthread(caller_uid: int, lsm: int = 0, new: Any = (1,)) -> Callable[[Scene], Call]:
    def setup(s: Scene) -> Call:
        target_ab(s)
        k = s.m.kernel_thread()
        c = s.task(uid=caller_uid)
        if lsm:
            s.m.security_task_movememory = lambda caller, target: lsm
        return Call(c, k.pid, s.maxnode, [0], list(new))

    return setup


def in_cpuset(
    target_mems: list[int],
    new: list[int],
    caps: tuple[str, ...] = (),
    caller_mems: list[int] | None = None,
    caller_uid: int = 1000,
    lsm: int = 0,
) -> Callable[[Scene], Call]:
    """The usual target, moved (after its pages were placed) into a cpuset with
    ``target_mems``; the caller optionally in a cpuset with ``caller_mems``."""

    def setup(s: Scene) -> Call:
        t = target_ab(s)
        t.attach_cpuset(s.cpuset("/target", target_mems))
        cpuset = "/" if caller_mems is None else s.cpuset("/caller", caller_mems)
        c = s.task(uid=caller_uid, caps=caps, cpuset=cpuset)
        if lsm:
            s.m.security_task_movememory = lambda caller, target: lsm
        return Call(c, t.pid, s.maxnode, [0], new)

    return setup


def masks(maxnode: Any, old: Any, new: Any, pid: Any = "target") -> Callable[[Scene], Call]:
    """The usual target and a same-user caller; maxnode/old/new may be callables of the scene
    (for word arrays); pid "target", "self" (0 from the target itself) or a number."""

    def setup(s: Scene) -> Call:
        t = target_ab(s)
        c = s.task()

        def v(x: Any) -> Any:
            return x(s) if callable(x) else x

        if pid == "self":
            return Call(t, 0, v(maxnode), v(old), v(new))
        p = t.pid if pid == "target" else pid
        return Call(c, p, v(maxnode), v(old), v(new))

    return setup


def self_call(pid0: bool) -> Callable[[Scene], Call]:
    def setup(s: Scene) -> Call:
        t = target_ab(s)
        return Call(t, 0 if pid0 else t.pid, s.maxnode, [0], [1])

    return setup


def lsm_denies(errno_: int) -> Callable[[Scene], Call]:
    def setup(s: Scene) -> Call:
        t = target_ab(s)
        c = s.task()
        s.m.security_task_movememory = lambda caller, target: -errno_
        return Call(c, t.pid, s.maxnode, [0], [1])

    return setup


def cow_shared(caller_uid: int, caps: tuple[str, ...] = ()) -> Callable[[Scene], Call]:
    """A parent wrote 4 anonymous pages on node 0 and forked: the child's pages are the
    parent's (mapcount 2, copy-on-write). The call targets the child."""

    def setup(s: Scene) -> Call:
        p = s.task()
        a = s.fill("parent", p, A4)
        ch = p.fork()
        s.follow("child", ch, a, 4)
        c = s.task(uid=caller_uid, caps=caps)
        return Call(c, ch.pid, s.maxnode, [0], [1])

    return setup


def file_shared(caller_uid: int) -> Callable[[Scene], Call]:
    """Two processes map the same 4 file pages (page cache on node 0) private and read-only;
    the call targets the first."""

    def setup(s: Scene) -> Call:
        f = s.m.create_file("/data", 4 * s.ps)
        x, y = s.task(), s.task()
        ax = x.mmap(4 * s.ps, prot="r", flags="private", file=f)
        x.touch(ax, 4 * s.ps)
        ay = y.mmap(4 * s.ps, prot="r", flags="private", file=f)
        y.touch(ay, 4 * s.ps)
        s.follow("X", x, ax, 4)
        s.follow("Y", y, ay, 4)
        c = s.task(uid=caller_uid)
        return Call(c, x.pid, s.maxnode, [0], [1])

    return setup


def pinned(s: Scene) -> Call:
    """Pages 0-1 of A hold an extra reference (get_user_pages, I/O): they cannot move."""
    t = target_ab(s)
    _, a, _ = s.regions["A"]
    assert s.m.set_page_state(t, a, 2 * s.ps, "pinned") == 2
    return Call(s.task(), t.pid, s.maxnode, [0], [1])


def mlocked(s: Scene) -> Call:
    t = s.task()
    s.fill("L", t, A4, flags="private|anonymous|locked")
    return Call(s.task(), t.pid, s.maxnode, [0], [1])


def one_page_per_node(old: list[int], new: list[int]) -> Callable[[Scene], Call]:
    def setup(s: Scene) -> Call:
        t = s.task()
        s.fill("N", t, [0, 1, 2, 3])
        return Call(s.task(), t.pid, s.maxnode, old, new)

    return setup


# --- the table -----------------------------------------------------------------------------

MOVED_A = ret(0, A=[1, 1, 1, 1], B=B2)  # A went to node 1, B untouched
EVICTED_A = ret(0, A=[OUT] * 4, B=B2)  # V5: A swapped out, B untouched
UNCHANGED = ret(0, A=A4, B=B2)
N = 4096 * 8  # PAGE_SIZE * 8 bits on x86_64

ROWS: list[Row] = [
    # ---------------- ERRORS: get_nodes() (spec §1.1, §1.2; man page EFAULT/EINVAL) ----------
    Row(
        "old_nodes-unreadable",
        "EFAULT: old_nodes points outside the accessible address space",
        masks(lambda s: s.maxnode, FAULT, [1]),
        **same(Err(EFAULT, "old_nodes")),
    ),
    Row(
        "new_nodes-unreadable",
        "EFAULT: new_nodes points outside the accessible address space",
        masks(lambda s: s.maxnode, [0], FAULT),
        **same(Err(EFAULT, "new_nodes")),
    ),
    Row(
        "maxnode-over-a-page-of-bits",
        "EINVAL: maxnode exceeds a page worth of bits (maxnode-1 > PAGE_SIZE*8, spec §1.1.3)",
        masks(N + 2, nwords(513, 1), nwords(513, 2)),
        **same(Err(EINVAL, "old_nodes")),
    ),
    Row(
        "maxnode-0-with-a-mask",
        "EINVAL: maxnode 0 with a non-NULL mask wraps to ULONG_MAX (spec §1.1.3, §1.4.2)",
        masks(0, lambda s: words(s, 1), lambda s: words(s, 2)),
        **same(Err(EINVAL, "old_nodes")),
    ),
    Row(
        "old_nodes-names-node-64",
        "EINVAL: old_nodes names a node above the maximum supported node id (MAX_NUMNODES 64)",
        masks(66, lambda s: words(s, 1, 1), lambda s: words(s, 2, 0)),
        **same(Err(EINVAL, "old_nodes")),
    ),
    Row(
        "new_nodes-names-node-64",
        "EINVAL: new_nodes names a node above the maximum supported node id",
        masks(66, lambda s: words(s, 1, 0), lambda s: words(s, 2, 1)),
        **same(Err(EINVAL, "new_nodes")),
    ),
    # ---------------- ERRORS: the target -----------------------------------------------------
    Row(
        "no-such-process",
        "ESRCH: no process matching pid could be found",
        masks(lambda s: s.maxnode, [0], [1], pid=4_000_000),
        **same(Err(ESRCH, "no such process")),
    ),
    Row(
        "negative-pid",
        "ESRCH: a negative pid names no process",
        masks(lambda s: s.maxnode, [0], [1], pid=-1),
        **same(Err(ESRCH, "no such process")),
    ),
    Row(
        "kernel-thread-root-caller",
        "EINVAL: the target has no mm (a kernel thread), even for root (spec §5.1.4, §5.3.4)",
        kthread(caller_uid=0),
        **same(Err(EINVAL, "no mm")),
    ),
    Row(
        "kernel-thread-unprivileged-caller",
        "kernel thread, unprivileged caller: EINVAL in v5/2.6.16 (mm check before the permission "
        "check, spec §5.1.4), EPERM in modern (ptrace_may_access runs first, spec §5.3.4)",
        kthread(caller_uid=1000),
        v5=Err(EINVAL, "no mm"),
        k16=Err(EINVAL, "no mm"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    # ---------------- ERRORS/BEHAVIOUR: permission (spec §5; man page EPERM) -----------------
    Row(
        "other-user-unprivileged",
        "EPERM: another user's process, caller without capabilities",
        other(caller_uid=1000, target_uid=2000),
        v5=Err(EPERM, "may not move pages"),
        k16=Err(EPERM, "may not move pages"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "other-user-CAP_SYS_NICE",
        "another user's process, caller with CAP_SYS_NICE: allowed only where CAP_SYS_NICE is the "
        "migration capability (2.6.16 with the 2006-03-14 patch); modern needs ptrace access",
        other(caller_uid=1000, caps=("CAP_SYS_NICE",), target_uid=2000),
        v5=Err(EPERM, "CAP_SYS_ADMIN"),
        k16=MOVED_A,
        rc6=Err(EPERM, "CAP_SYS_ADMIN"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "other-user-CAP_SYS_ADMIN",
        "another user's process, caller with CAP_SYS_ADMIN: the V5 and 2.6.16-rc6 capability",
        other(caller_uid=1000, caps=("CAP_SYS_ADMIN",), target_uid=2000),
        v5=EVICTED_A,
        k16=Err(EPERM, "CAP_SYS_NICE"),
        rc6=MOVED_A,
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "other-user-CAP_SYS_PTRACE",
        "another user's process, caller with CAP_SYS_PTRACE: only modern (ptrace_may_access)",
        other(caller_uid=1000, caps=("CAP_SYS_PTRACE",), target_uid=2000),
        v5=Err(EPERM, "may not move pages"),
        k16=Err(EPERM, "may not move pages"),
        modern=MOVED_A,
    ),
    Row(
        "other-user-root",
        "root may move any process's pages",
        other(caller_uid=0, target_uid=2000),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
    ),
    Row(
        "same-user",
        "a caller whose uid equals the target's real uid needs no capability",
        other(caller_uid=1000, target_uid=1000),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
    ),
    # ---------------- cpusets (spec §5.1.6, §5.2.1, §5.3.4) ----------------------------------
    Row(
        "new-outside-target-cpuset",
        "EPERM: new_nodes not all in the target's cpuset mems and no capability (v5 only checks "
        "node_online_map, its placeholder for cpuset_mems_allowed)",
        in_cpuset([0, 1], [3]),
        v5=EVICTED_A,
        k16=Err(EPERM, "allowed nodes"),
        modern=Err(EPERM, "cpuset mems"),
    ),
    Row(
        "new-outside-target-cpuset-CAP_SYS_NICE",
        "the capability overrides the target's cpuset: pages go to node 3 (2.6.16 and modern); "
        "2.6.16-rc6 wants CAP_SYS_ADMIN",
        in_cpuset([0, 1], [3], caps=("CAP_SYS_NICE",)),
        v5=EVICTED_A,
        k16=ret(0, A=[3] * 4, B=B2),
        rc6=Err(EPERM, "allowed nodes"),
        modern=ret(0, A=[3] * 4, B=B2),
    ),
    Row(
        "new-names-an-offline-node",
        "EPERM: new_nodes names node 5, not online, and the caller lacks the capability",
        other(new=(5,)),
        v5=Err(EPERM, "allowed nodes"),
        k16=Err(EPERM, "allowed nodes"),
        modern=Err(EPERM, "cpuset mems"),
    ),
    Row(
        "new-outside-caller-cpuset",
        "modern: new_nodes is narrowed to the caller's cpuset mems; empty -> EINVAL. v5/2.6.16 "
        "do not look at the caller's cpuset (2.6.16 allocates within it: its alloc_pages_node() "
        "falls back to the caller's node 0, the simulator's documented choice, migrate/mod.rs)",
        in_cpuset([0, 1, 2, 3], [1], caller_mems=[0]),
        v5=EVICTED_A,
        k16=UNCHANGED,
        modern=Err(EINVAL, "caller's cpuset"),
    ),
    Row(
        "new-narrowed-to-caller-cpuset",
        "modern: new_nodes {1,2} narrowed to the caller's mems {0,1} gives {1}; all of A goes "
        "to node 1 (2.6.16 maps 0 -> 1 too)",
        in_cpuset([0, 1, 2, 3], [1, 2], caller_mems=[0, 1]),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
    ),
    # ---------------- LSM (spec §5.2.4, §5.3.4) ----------------------------------------------
    Row(
        "lsm-denies",
        "security_task_movememory() refusing: its error in modern; the hook is not in v5 or "
        "2.6.16's sys_migrate_pages",
        lsm_denies(EACCES),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=Err(EACCES, "security_task_movememory"),
    ),
    # ---------------- CHECK ORDER (spec §1.1.9, §5.1, §5.3.4) --------------------------------
    Row(
        "order-bad-old-and-bad-pid",
        "old_nodes is parsed before the pid is looked up: its EINVAL wins over ESRCH",
        masks(66, lambda s: words(s, 1, 1), lambda s: words(s, 2, 0), pid=4_000_000),
        **same(Err(EINVAL, "old_nodes")),
    ),
    Row(
        "order-bad-new-and-bad-pid",
        "new_nodes is parsed before the pid is looked up: its EINVAL wins over ESRCH",
        masks(66, lambda s: words(s, 1, 0), lambda s: words(s, 2, 1), pid=4_000_000),
        **same(Err(EINVAL, "new_nodes")),
    ),
    Row(
        "order-old-fault-before-new-einval",
        "old_nodes is read completely before new_nodes: old's EFAULT wins over new's EINVAL",
        masks(66, FAULT, lambda s: words(s, 2, 1)),
        **same(Err(EFAULT, "old_nodes")),
    ),
    Row(
        "order-old-einval-before-new-fault",
        "old's EINVAL wins over new's EFAULT",
        masks(66, lambda s: words(s, 1, 1), FAULT),
        **same(Err(EINVAL, "old_nodes")),
    ),
    Row(
        "order-kthread-and-offline-new",
        "kernel thread and new_nodes offline, unprivileged caller: v5/2.6.16 check the mm first "
        "(EINVAL); modern ptrace first (EPERM)",
        kthread(caller_uid=1000, new=(5,)),
        v5=Err(EINVAL, "no mm"),
        k16=Err(EINVAL, "no mm"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "order-kthread-root-and-lsm",
        "kernel thread, root caller, LSM refusing: modern asks the LSM before get_task_mm()",
        kthread(caller_uid=0, lsm=-EACCES),
        v5=Err(EINVAL, "no mm"),
        k16=Err(EINVAL, "no mm"),
        modern=Err(EACCES, "security_task_movememory"),
    ),
    Row(
        "order-other-user-and-outside-cpuset",
        "another user's process and new_nodes outside its cpuset: the uid rule / ptrace check "
        "comes before the cpuset check",
        in_cpuset([0, 1], [3], caller_uid=2000),
        v5=Err(EPERM, "may not move pages"),
        k16=Err(EPERM, "may not move pages"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    Row(
        "order-cpuset-eperm-before-narrowing",
        "new_nodes outside the target's cpuset and outside the caller's: EPERM (cpuset check) "
        "comes before modern's EINVAL (empty after narrowing)",
        in_cpuset([0, 1], [3], caller_mems=[0]),
        v5=EVICTED_A,
        k16=Err(EPERM, "allowed nodes"),
        modern=Err(EPERM, "cpuset mems"),
    ),
    Row(
        "order-narrowing-before-lsm",
        "modern: an empty narrowed new_nodes (EINVAL) comes before the LSM hook",
        in_cpuset([0, 1, 2, 3], [1], caller_mems=[0], lsm=-EACCES),
        v5=EVICTED_A,
        k16=UNCHANGED,
        modern=Err(EINVAL, "caller's cpuset"),
    ),
    Row(
        "order-ptrace-before-lsm",
        "modern: the ptrace check comes before the LSM hook",
        in_cpuset([0, 1, 2, 3], [1], caller_uid=2000, lsm=-EACCES),
        v5=Err(EPERM, "may not move pages"),
        k16=Err(EPERM, "may not move pages"),
        modern=Err(EPERM, "ptrace_may_access"),
    ),
    # ---------------- BEHAVIOUR (man page DESCRIPTION, spec §4, §6.1) -------------------------
    Row(
        "pid-0-is-the-caller",
        "pid 0 means the calling process",
        self_call(pid0=True),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
    ),
    Row(
        "own-pid",
        "the caller's own pid works like 0",
        self_call(pid0=False),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
    ),
    Row(
        "pages-outside-old-untouched",
        "pages on nodes not in old_nodes are not moved (B on node 2 stays); V5 swaps the pages "
        "of old \\ new out instead of moving them (spec §0.2, §4.1)",
        other(old=(0,), new=(1,)),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
    ),
    Row(
        "old-equals-new",
        "old_nodes == new_nodes: nothing to do, returns 0",
        other(old=(0, 2), new=(0, 2)),
        **same(UNCHANGED),
    ),
    Row(
        "old-and-new-overlap",
        "old {0,2} -> new {2,3}: 2.6.16/modern map the n-th node of old to the n-th of new "
        "(0->2, 2->3, 2->3 first); V5 only evicts old \\ new = {0} (spec §4.1.2, §4.2)",
        other(old=(0, 2), new=(2, 3)),
        v5=EVICTED_A,
        k16=ret(0, A=[2] * 4, B=[3, 3]),
        modern=ret(0, A=[2] * 4, B=[3, 3]),
    ),
    Row(
        "relative-topology-ping-pong",
        "old {0-3} -> new {1,2}: 2.6.16 runs 3->2, 2->1, 1->2, 0->1 (pages bounce, spec §4.2.4); "
        "modern skips sources in new when the weights differ (spec §4.3.1)",
        one_page_per_node([0, 1, 2, 3], [1, 2]),
        v5=ret(0, N=[OUT, 1, 2, OUT]),
        k16=ret(0, N=[1, 2, 2, 2]),
        modern=ret(0, N=[1, 1, 2, 2]),
    ),
    Row(
        "maxnode-off-by-one-2",
        "maxnode 2 reads bit 0 only (spec §1.4.2): new_nodes {1} reads as empty. V5 then evicts "
        "old \\ {} = {0}; 2.6.16 maps nothing; modern: empty new -> EINVAL",
        masks(2, lambda s: words(s, 0b01), lambda s: words(s, 0b10)),
        v5=EVICTED_A,
        k16=UNCHANGED,
        modern=Err(EINVAL, "caller's cpuset"),
    ),
    Row(
        "maxnode-off-by-one-3",
        "maxnode 3 reads bits 0 and 1: node 1 is seen",
        masks(3, lambda s: words(s, 0b01), lambda s: words(s, 0b10)),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
    ),
    Row(
        "maxnode-1-empty-masks",
        "maxnode 1 reads no bit at all: both masks empty (no memory access)",
        masks(1, FAULT, FAULT),
        v5=UNCHANGED,
        k16=UNCHANGED,
        modern=Err(EINVAL, "caller's cpuset"),
    ),
    Row(
        "null-masks",
        "NULL masks are empty for any maxnode",
        masks(lambda s: s.maxnode, None, None),
        v5=UNCHANGED,
        k16=UNCHANGED,
        modern=Err(EINVAL, "caller's cpuset"),
    ),
    Row(
        "maxnode-a-page-of-bits",
        "maxnode = PAGE_SIZE*8 + 1 is the largest accepted (spec §1.1.3)",
        masks(N + 1, nwords(512, 1), nwords(512, 2)),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
    ),
    Row(
        "stray-bit-past-maxnode",
        "maxnode 101, bit 110 set in new_nodes' second word: 2.6.16 masks it off (endmask), "
        "modern tests the whole top word (spec §1.2.3 example)",
        masks(101, lambda s: words(s, 1, 0), lambda s: words(s, 2, 1 << (110 - 64))),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=Err(EINVAL, "new_nodes"),
    ),
    Row(
        "i386-bits-16-31-of-word-0",
        "i386 (MAX_NUMNODES 16, 32-bit words): bit 20 in the only supported word is stored and "
        "ignored by 2.6.16, rejected by modern (spec §1.1.8, §1.2.3a)",
        masks(33, lambda s: words(s, 1 | 1 << 20), lambda s: words(s, 2)),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=Err(EINVAL, "old_nodes"),
        arch="i386",
    ),
    Row(
        "ia64-page-of-bits-accepted",
        "ia64 (16 KiB pages): maxnode 131073 is accepted",
        masks(131073, nwords(2048, 1), nwords(2048, 2)),
        v5=EVICTED_A,
        k16=MOVED_A,
        modern=MOVED_A,
        arch="ia64",
    ),
    Row(
        "ia64-page-of-bits-exceeded",
        "ia64 (16 KiB pages): maxnode 131074 -> EINVAL",
        masks(131074, nwords(2049, 1), nwords(2049, 2)),
        **same(Err(EINVAL, "old_nodes")),
        arch="ia64",
    ),
    Row(
        "ia64-node-1024",
        "ia64 (MAX_NUMNODES 1024): node 1024 in new_nodes -> EINVAL",
        masks(1026, nwords(17, 1), nwords(17, 2, *[0] * 15, 1)),
        **same(Err(EINVAL, "new_nodes")),
        arch="ia64",
    ),
    # ---------------- shared pages (spec §2.3, man page: "shared ... only with CAP_SYS_NICE") -
    Row(
        "shared-anon-unprivileged",
        "pages shared with another process are moved only with MOVE_ALL and are not counted "
        "(2.6.16/modern: mapcount > 1 skipped). V5 isolates every anonymous page, even "
        "copy-on-write shared ones, and evicts it from both (spec §2.3.1)",
        cow_shared(caller_uid=1000),
        v5=ret(0, parent=[OUT] * 4, child=[OUT] * 4),
        k16=ret(0, parent=A4, child=A4),
        modern=ret(0, parent=A4, child=A4),
    ),
    Row(
        "shared-anon-root",
        "with the capability (root) the shared pages move, for both processes",
        cow_shared(caller_uid=0),
        v5=ret(0, parent=[OUT] * 4, child=[OUT] * 4),
        k16=ret(0, parent=[1] * 4, child=[1] * 4),
        modern=ret(0, parent=[1] * 4, child=[1] * 4),
    ),
    Row(
        "shared-anon-same-user-CAP_SYS_NICE",
        "MOVE_ALL comes with the generation's capability: CAP_SYS_NICE in 2.6.16 and modern, "
        "CAP_SYS_ADMIN in 2.6.16-rc6 (then MOVE: shared pages stay, uncounted)",
        cow_shared(caller_uid=1000, caps=("CAP_SYS_NICE",)),
        v5=ret(0, parent=[OUT] * 4, child=[OUT] * 4),
        k16=ret(0, parent=[1] * 4, child=[1] * 4),
        rc6=ret(0, parent=A4, child=A4),
        modern=ret(0, parent=[1] * 4, child=[1] * 4),
    ),
    Row(
        "shared-file-root",
        "file pages mapped read-only by two processes: V5's syscall always passes MPOL_MF_MOVE and "
        "skips them (not writable-shared, mapped by another mm); 2.6.16/modern root has MOVE_ALL "
        "(2.6.16 leaves the file PTEs unmapped: the page cache holds the new pages)",
        file_shared(caller_uid=0),
        v5=ret(0, X=A4, Y=A4),
        k16=ret(0, X=[UNMAPPED] * 4, Y=[UNMAPPED] * 4),
        modern=ret(0, X=[1] * 4, Y=[1] * 4),
    ),
    Row(
        "shared-file-same-user",
        "file pages shared with another process, unprivileged caller: skipped, not counted",
        file_shared(caller_uid=1000),
        **same(ret(0, X=A4, Y=A4)),
    ),
    # ---------------- the return value: pages not moved (spec §3, §6.1.4) --------------------
    Row(
        "busy-pages-are-counted",
        "returns the number of pages that could not be moved: 2 pinned pages. V5 has unmapped "
        "them (swap PTEs) before failing to free them (spec §3.1.4)",
        pinned,
        v5=ret(2, A=[OUT] * 4, B=B2),
        k16=ret(2, A=[0, 0, 1, 1], B=B2),
        modern=ret(2, A=[0, 0, 1, 1], B=B2),
    ),
    Row(
        "mlocked-area",
        "an mlocked area is not walked in v5/2.6.16 (vma_migratable, not counted); modern migrates "
        "mlocked pages (since 2.6.21, spec §2.1.5)",
        mlocked,
        v5=ret(0, L=A4),
        k16=ret(0, L=A4),
        modern=ret(0, L=[1] * 4),
    ),
    Row(
        "no-swap",
        "no swap: V5 cannot add anonymous pages to swap (permanent failures, counted, spec "
        "§3.1.3c); 2.6.16's check_range() collects nothing (ENODEV ignored: returns 0, spec "
        "§2.1.8); modern needs no swap",
        other(),
        v5=ret(4, A=A4, B=B2),
        k16=UNCHANGED,
        modern=MOVED_A,
        swap=0,
    ),
]


@pytest.mark.parametrize(("row", "gen"), list(params(ROWS)))
def test_migrate_pages_table(row: Row, gen: str, request: pytest.FixtureRequest) -> None:
    run_row(MIGRATE_PAGES, row, gen, request)


def test_every_row_has_a_distinct_id() -> None:
    assert_distinct_ids(ROWS)


# --- the hook's arguments, the report, the syscall number -------------------------------------


@pytest.mark.parametrize("gen", list(GENS))
def test_lsm_hook_sees_caller_and_target(gen: str) -> None:
    """security_task_movememory(task) is asked about the target, with the caller current, once
    (modern only; not in the v5 or 2.6.16 sys_migrate_pages, spec §5.2.4)."""
    s = Scene(gen)
    t = target_ab(s)
    c = s.task()
    seen: list[tuple[int, int]] = []
    s.m.security_task_movememory = lambda caller, target: seen.append((caller.pid, target.pid)) or 0
    assert numasim.migrate_pages(c, t.pid, s.maxnode, [0], [1]) == 0
    s.m.check()
    assert seen == ([(c.pid, t.pid)] if gen == MODERN else [])


@pytest.mark.parametrize("gen", list(GENS))
def test_syscall_numbers_per_arch(gen: str) -> None:
    """Machine.syscall dispatches by the arch's __NR_migrate_pages (spec §7): i386 294,
    x86_64 256, ia64 1280; another arch's number is not migrate_pages."""
    for arch, nr in (("i386", 294), ("x86_64", 256), ("ia64", 1280)):
        s = Scene(gen, arch=arch)
        t = target_ab(s)
        assert s.m.arch.syscalls["migrate_pages"] == nr
        assert s.m.syscall(t, nr, 0, s.maxnode, [2], [3]) == 0
        # old {2} -> new {3}: B moves (v5: is evicted), A stays
        assert s.placement() == {"A": A4, "B": [OUT, OUT] if gen == V5 else [3, 3]}
        s.m.check()
    s = Scene(gen)
    t = target_ab(s)
    assert s.m.syscall(t, 294, 0, s.maxnode, [0], [1]) == -errno.ENOSYS  # not x86_64's number


@pytest.mark.parametrize("gen", list(GENS))
def test_v5_pages_come_back_on_fault(gen: str) -> None:
    """V5 evicts; the next access faults the page back in wherever the task's policy puts it
    (here: the local node 0 again), with its content (spec §3.4). Others moved it for good."""
    s = Scene(gen)
    t = target_ab(s)
    _, a, _ = s.regions["A"]
    content = t.read(a, 4 * s.ps).tolist()
    assert numasim.migrate_pages(t, 0, s.maxnode, [0], [1]) == 0
    s.m.check()
    t.touch(a, 4 * s.ps)
    s.m.check()
    assert t.page_nodes(a, 4 * s.ps).tolist() == ([0] * 4 if gen == V5 else [1] * 4)
    assert t.read(a, 4 * s.ps).tolist() == content


@pytest.mark.parametrize("gen", [K16, MODERN])
def test_migrated_file_pages_are_found_again_on_the_new_node(gen: str) -> None:
    """2.6.16 unmaps file pages to migrate them and does not map the new page back (spec
    §3.3.4): the next access is a minor fault on the page-cache page, now on node 1. Modern
    restores the PTEs (remove_migration_ptes)."""
    s = Scene(gen)
    call = file_shared(caller_uid=0)(s)
    assert numasim.migrate_pages(call.caller, *call.args) == 0
    s.m.check()
    after = [UNMAPPED] * 4 if gen == K16 else [1] * 4
    assert s.placement() == {"X": after, "Y": after}
    for t, a, n in s.regions.values():
        t.touch(a, n * s.ps)
    s.m.check()
    assert s.placement() == {"X": [1] * 4, "Y": [1] * 4}
