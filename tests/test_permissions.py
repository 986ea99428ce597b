"""The permission model of migrate_pages(2) and move_pages(2), as properties (hypothesis).

For random credential pairs (real/effective/saved uids and gids set from root with setresgid()
and setresuid(), random grants of the capabilities that matter, a random dumpable flag) the
decision of each generation equals the rule written out here:

- v5, 2.6.16 sys_migrate_pages (spec §5.1 step 5, §5.2): allowed iff the caller's euid or real
  uid equals the target's saved or real uid, or the caller has the migration capability
  (CAP_SYS_ADMIN in v5 and 2.6.16-rc6, CAP_SYS_NICE in 2.6.16 with the 2006-03-14 patch).
- 2.6.16 move_pages (the 2.6.18 text): the same uid rule with CAP_SYS_NICE.
- modern (spec §5.3.4-5): ptrace_may_access(PTRACE_MODE_READ_REALCREDS): the caller's real uid
  equals the target's uid, euid and suid and the caller's real gid its gid, egid and sgid, or
  the caller has CAP_SYS_PTRACE; and a non-dumpable target needs CAP_SYS_PTRACE as well.

And: no caller without CAP_SYS_NICE, CAP_SYS_ADMIN and CAP_SYS_PTRACE whose uids all differ
from the target's can move the target's pages, by any call; a failed call changes nothing.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numasim
from numasim import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL

pytest.register_assert_rewrite("syscall_scene")
from syscall_scene import GENS, K16, MODERN, OUT, RC6, V5, Scene  # noqa: E402

EPERM, EINVAL, ENOSYS, ESRCH = errno.EPERM, errno.EINVAL, errno.ENOSYS, errno.ESRCH
MOVE, MOVE_ALL = int(MPOL_MF_MOVE), int(MPOL_MF_MOVE_ALL)
RELEVANT = ("CAP_SYS_NICE", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_RESOURCE")
PRIVILEGED = {"CAP_SYS_NICE", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Creds:
    uids: tuple[int, int, int]  # real, effective, saved
    gids: tuple[int, int, int]
    caps: frozenset[str]
    dumpable: bool

    @property
    def uid(self) -> int:
        return self.uids[0]

    @property
    def euid(self) -> int:
        return self.uids[1]

    @property
    def suid(self) -> int:
        return self.uids[2]


UID_POOL = st.sampled_from([0, 1000, 1001, 2000])
GID_POOL = st.sampled_from([0, 100, 101])


def creds(uids: st.SearchStrategy[int] = UID_POOL, caps: tuple[str, ...] = RELEVANT):
    return st.builds(
        Creds,
        st.tuples(uids, uids, uids),
        st.tuples(GID_POOL, GID_POOL, GID_POOL),
        st.frozensets(st.sampled_from(caps)),
        st.booleans(),
    )


def apply(t: numasim.Task, c: Creds) -> None:
    """From root: the gids, the uids, exactly the chosen relevant capabilities, dumpable."""
    t.setresgid(*c.gids)
    t.setresuid(*c.uids)
    for cap in RELEVANT:
        t.revoke(cap)
    for cap in c.caps:
        t.grant(cap)
    t.dumpable = c.dumpable
    i = t.info()
    assert (i.uid, i.euid, i.suid) == c.uids and (i.gid, i.egid, i.sgid) == c.gids
    assert {x for x in i.cap_effective if x in RELEVANT} == set(c.caps)
    assert i.dumpable == c.dumpable


# --- the rules, written out ---------------------------------------------------------------------


def uid_rule(c: Creds, t: Creds) -> bool:
    """sys_migrate_pages (V5, 2.6.16) / sys_move_pages (2.6.18): "like for signals"."""
    return c.euid in (t.suid, t.uid) or c.uid in (t.suid, t.uid)


def ptrace_rule(c: Creds, t: Creds, target_has_mm: bool = True) -> bool:
    """__ptrace_may_access(PTRACE_MODE_READ_REALCREDS), 6.x, no LSM, init user namespace."""
    ptrace = "CAP_SYS_PTRACE" in c.caps
    ids = (
        c.uid == t.uids[0] == t.uids[1] == t.uids[2]
        and c.gids[0] == t.gids[0] == t.gids[1] == t.gids[2]
    )
    if not (ids or ptrace):
        return False
    return not target_has_mm or t.dumpable or ptrace


def migrate_pages_allowed(gen: str, c: Creds, t: Creds) -> bool:
    if gen == MODERN:
        return ptrace_rule(c, t)
    cap = "CAP_SYS_NICE" if gen == K16 else "CAP_SYS_ADMIN"
    return uid_rule(c, t) or cap in c.caps


def move_pages_errno(gen: str, c: Creds, t: Creds, flags: int) -> int:
    """0 if allowed, else the errno."""
    if gen == V5:
        return ENOSYS
    if flags & MOVE_ALL and "CAP_SYS_NICE" not in c.caps:
        return EPERM
    if gen == MODERN:
        return 0 if ptrace_rule(c, t) else EPERM
    return 0 if uid_rule(c, t) or "CAP_SYS_NICE" in c.caps else EPERM


# --- the world -------------------------------------------------------------------------------


def scene(gen: str) -> Scene:
    """The shared scene on a smaller machine: 2 nodes of 256 pages (1 MiB), 1 MiB of swap."""
    return Scene(gen, nodes=2, node_pages=256, swap="1MiB")


def pair(gen: str, c: Creds, t: Creds) -> tuple[Scene, numasim.Task, numasim.Task, int]:
    """A target with 2 private pages on node 0 (the region "target") and a caller, each with its
    credentials."""
    s = scene(gen)
    target = s.task(uid=0)
    a = target.mmap(2 * s.ps)
    target.touch(a, 2 * s.ps, write=True)
    s.follow("target", target, a, 2)
    caller = s.task(uid=0)
    apply(target, t)
    apply(caller, c)
    return s, caller, target, a


def moved_nodes(gen: str) -> list[int]:
    return [OUT, OUT] if gen == V5 else [1, 1]


# --- properties --------------------------------------------------------------------------------


@pytest.mark.parametrize("gen", list(GENS))
@SETTINGS
@given(c=creds(), t=creds())
def test_migrate_pages_decision_is_the_rule(gen: str, c: Creds, t: Creds) -> None:
    s, caller, target, _ = pair(gen, c, t)
    before = s.snapshot()
    got = caller.syscall("migrate_pages", target.pid, 3, [0], [1])
    s.m.check()
    if migrate_pages_allowed(gen, c, t):
        assert got == 0
        assert s.placement() == {"target": moved_nodes(gen)}
        assert s.contents() == before["contents"]
    else:
        assert got == -EPERM
        assert s.snapshot() == before


@pytest.mark.parametrize("gen", list(GENS))
@SETTINGS
@given(c=creds(), t=creds(), flags=st.sampled_from([MOVE, MOVE_ALL]))
def test_move_pages_decision_is_the_rule(gen: str, c: Creds, t: Creds, flags: int) -> None:
    s, caller, target, a = pair(gen, c, t)
    before = s.snapshot()
    pages = [a, a + s.ps]
    got = caller.syscall("move_pages", target.pid, pages, [1, 1], flags)
    s.m.check()
    want = move_pages_errno(gen, c, t, flags)
    if want:
        assert got == -want
        assert s.snapshot() == before
    else:
        rc, status = got
        assert (rc, status.tolist()) == (0, [1, 1])
        assert s.placement() == {"target": [1, 1]}


@pytest.mark.parametrize("gen", list(GENS))
@SETTINGS
@given(c=creds())
def test_self_is_always_allowed(gen: str, c: Creds) -> None:
    """pid 0 (and ptrace's same-thread-group rule) never needs a right to oneself, whatever the
    credentials or the dumpable flag."""
    m = scene(gen).m
    me = m.spawn(uid=0)
    a = me.mmap(2 * m.page_size)
    me.touch(a, 2 * m.page_size, write=True)
    apply(me, c)
    assert me.syscall("migrate_pages", 0, 3, [0], [1]) == 0
    m.check()
    assert me.page_nodes(a, 2 * m.page_size).tolist() == moved_nodes(gen)
    if gen != V5:
        me.touch(a, 2 * m.page_size)  # V5: bring the pages back first
        rc, status = me.syscall("move_pages", me.pid, [a], [0], MOVE)
        m.check()
        assert (rc, status.tolist()) == (0, [0])


@pytest.mark.parametrize("gen", list(GENS))
@SETTINGS
@given(c=creds(), flags=st.sampled_from([MOVE, MOVE_ALL]))
def test_kernel_thread_target(gen: str, c: Creds, flags: int) -> None:
    """A kernel thread (root credentials, no mm): v5/2.6.16 check the mm before the permission
    (EINVAL for everyone); modern checks ptrace access first (EPERM unless the caller's real
    ids are all 0 or it has CAP_SYS_PTRACE; the dumpable test is skipped without an mm)."""
    m = scene(gen).m
    k = m.kernel_thread()
    caller = m.spawn(uid=0)
    apply(caller, c)
    root = Creds((0, 0, 0), (0, 0, 0), frozenset(), True)
    reach = ptrace_rule(c, root, target_has_mm=False)
    got = caller.syscall("migrate_pages", k.pid, 3, [0], [1])
    assert got == (-EINVAL if gen != MODERN or reach else -EPERM)
    got = caller.syscall("move_pages", k.pid, [0x10000], [1], flags)
    if gen == V5:
        assert got == -ENOSYS
    elif flags & MOVE_ALL and "CAP_SYS_NICE" not in c.caps:
        assert got == -EPERM
    else:
        assert got == (-EINVAL if gen != MODERN or reach else -EPERM)


def _disjoint_pair(draw: st.DrawFn) -> tuple[Creds, Creds]:
    t = draw(creds(uids=st.integers(0, 5000)))
    others = st.integers(0, 5000).filter(lambda u: u not in t.uids)
    unprivileged = tuple(x for x in RELEVANT if x not in PRIVILEGED)
    c = draw(creds(uids=others, caps=unprivileged))
    return c, t


@st.composite
def attack(draw: st.DrawFn) -> tuple[Creds, Creds, str, tuple[Any, ...]]:
    c, t = _disjoint_pair(draw)
    name = draw(st.sampled_from(["migrate_pages", "move_pages"]))
    if name == "migrate_pages":
        maxnode = draw(st.sampled_from([2, 3, 65, 66, 129]))
        old = draw(st.integers(0, 2**64 - 1))
        new = draw(st.integers(0, 2**64 - 1))
        args: tuple[Any, ...] = (maxnode, old, new)
    else:
        nodes = draw(st.lists(st.integers(-1, 3), min_size=2, max_size=2))
        flags = draw(st.sampled_from([MOVE, MOVE_ALL, 0]))
        query = draw(st.booleans())
        args = (None if query else nodes, flags)
    return c, t, name, args


@pytest.mark.parametrize("gen", list(GENS))
@SETTINGS
@given(x=attack())
def test_no_unprivileged_caller_moves_another_users_pages(gen: str, x: Any) -> None:
    """Caller: no CAP_SYS_NICE/ADMIN/PTRACE, none of its uids among the target's. Whatever it
    asks, by number through Machine.syscall, it gets an error and the target's pages, the
    counters and the clock do not change."""
    c, t, name, args = x
    s, caller, target, a = pair(gen, c, t)
    m = s.m
    before = s.snapshot()
    nr = m.arch.syscalls[name]
    if name == "migrate_pages":
        maxnode, old, new = args
        w = np.array([old, new], dtype=np.uint64)
        got = m.syscall(caller, nr, target.pid, maxnode, w[:1].copy(), w[1:].copy())
    else:
        nodes, flags = args
        got = m.syscall(caller, nr, target.pid, [a, a + m.page_size], nodes, flags)
    m.check()
    assert isinstance(got, int) and got < 0, got
    assert got in (-EPERM, -ENOSYS, -EINVAL, -errno.EFAULT)
    assert s.snapshot() == before


@st.composite
def any_migrate_call(draw: st.DrawFn) -> tuple[Creds, Creds, str, int, int, Any, Any]:
    c = draw(creds())
    t = draw(creds())
    who = draw(st.sampled_from(["target", "self", "kthread", "nobody"]))
    maxnode = draw(st.sampled_from([0, 1, 2, 3, 65, 66, 101, 32769, 32770]))
    cpuset = draw(st.sampled_from([None, (0,), (1,)]))

    def mask() -> Any:
        kind = draw(st.sampled_from(["words", "none", "fault"]))
        if kind == "none":
            return None
        if kind == "fault":
            return numasim.FAULT
        n = draw(st.integers(1, 3))
        return draw(st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n))

    return c, t, who, maxnode, cpuset, mask(), mask()


@pytest.mark.parametrize("gen", list(GENS))
@SETTINGS
@given(x=any_migrate_call())
def test_a_failed_migrate_pages_changes_nothing(gen: str, x: Any) -> None:
    """Random callers, targets, masks and cpusets: whenever migrate_pages fails, placement,
    contents, vmstat, node usage, swap and the clock are as before; when it succeeds, the
    return value is the report's and every invariant holds."""
    c, t, who, maxnode, cpuset, old, new = x
    s, caller, target, _ = pair(gen, c, t)
    m = s.m
    if cpuset is not None:
        m.cpuset("/c", mems=list(cpuset))
        caller.attach_cpuset("/c")
    pid = {
        "target": target.pid,
        "self": 0,
        "kthread": m.kernel_thread().pid,
        "nobody": 4_000_000,
    }[who]

    def user(mask: Any) -> Any:
        return mask if mask is None or mask is numasim.FAULT else np.array(mask, dtype=np.uint64)

    before = s.snapshot()
    try:
        got = numasim.migrate_pages(caller, pid, maxnode, user(old), user(new))
    except OSError as e:
        assert e.__notes__
        m.check()
        if e.errno == errno.ENOMEM:
            # Not a check: do_migrate_pages() itself stopped (2.6.16, a capable caller sending
            # pages to an offline node). Pages moved so far stay moved, as in the kernel.
            assert gen in (K16, RC6), e
            assert s.contents() == before["contents"]
            return
        assert e.errno in (EPERM, EINVAL, errno.EFAULT, ESRCH), e
        assert s.snapshot() == before
        return
    m.check()
    assert got == m.last_report.ret >= 0
    assert s.contents() == before["contents"]
