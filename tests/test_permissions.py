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
  the caller has CAP_SYS_PTRACE; a non-dumpable target needs CAP_SYS_PTRACE as well; and the
  capability module's cap_ptrace_access_check() (spec §11) wants the target's permitted
  capabilities to be a subset of the caller's, or CAP_SYS_PTRACE.

And: no caller without CAP_SYS_NICE, CAP_SYS_ADMIN and CAP_SYS_PTRACE whose uids all differ
from the target's can move the target's pages, by any call; a failed call changes nothing. Every
failure is the one errno the kernel gives for those credentials and arguments: get_nodes() of
old_nodes then new_nodes (EINVAL/EFAULT, spec §1, read here from the words as the kernel reads
them), the task (ESRCH), then v5/2.6.16: no mm (EINVAL), the uid rule (EPERM), the cpuset
(EPERM); modern: ptrace_may_access (EPERM), the cpuset (EPERM), the caller's mems (EINVAL), no mm
(EINVAL) (spec §5).
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
import oracle  # noqa: E402
from syscall_scene import GENS, K16, MODERN, OUT, V5, Scene, outcome  # noqa: E402

EPERM, EINVAL, ENOSYS, ESRCH = errno.EPERM, errno.EINVAL, errno.ENOSYS, errno.ESRCH
EFAULT, ENOMEM = errno.EFAULT, errno.ENOMEM
MOVE, MOVE_ALL = int(MPOL_MF_MOVE), int(MPOL_MF_MOVE_ALL)
#: The nodes of the permission tests' machine (scene() below), all online, all with memory.
ONLINE = frozenset({0, 1})


RELEVANT = ("CAP_SYS_NICE", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_RESOURCE")
PRIVILEGED = {"CAP_SYS_NICE", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}

SETTINGS = settings(
    max_examples=3 * settings().max_examples,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


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
    assert {x if x in RELEVANT else OTHERS for x in i.cap_permitted} == permitted(c)
    assert i.dumpable == c.dumpable


#: In permitted(): every capability but the RELEVANT ones (root's, kept while a uid is 0).
OTHERS = "the other capabilities"


def permitted(c: Creds) -> set[str]:
    """The permitted set apply() leaves: root's, unless setresuid() gave up uid 0 in all three
    ids (cap_emulate_setxuid() then clears it), with exactly ``c.caps`` of the RELEVANT ones."""
    return set(c.caps) | ({OTHERS} if 0 in c.uids else set())


#: A kernel thread's credentials: root's ids and every capability.
KTHREAD = Creds((0, 0, 0), (0, 0, 0), frozenset(RELEVANT), True)


# --- the rules, written out ---------------------------------------------------------------------


def uid_rule(c: Creds, t: Creds) -> bool:
    """sys_migrate_pages (V5, 2.6.16) / sys_move_pages (2.6.18): "like for signals"."""
    return c.euid in (t.suid, t.uid) or c.uid in (t.suid, t.uid)


def ptrace_rule(c: Creds, t: Creds, target_has_mm: bool = True, commoncap: bool = True) -> bool:
    """__ptrace_may_access(PTRACE_MODE_READ_REALCREDS), 6.x, init user namespace, a target in
    another thread group: the ids or CAP_SYS_PTRACE; the dumpable test (skipped without an mm);
    then security_ptrace_access_check(), where the capability module is always present (spec
    §11): cap_ptrace_access_check() refuses unless the target's permitted capabilities are a
    subset of the caller's (READ_REALCREDS: permitted, not effective) or the caller has
    CAP_SYS_PTRACE. ``commoncap=False``: the rule without that last check."""
    ptrace = "CAP_SYS_PTRACE" in c.caps
    ids = (
        c.uid == t.uids[0] == t.uids[1] == t.uids[2]
        and c.gids[0] == t.gids[0] == t.gids[1] == t.gids[2]
    )
    if not (ids or ptrace):
        return False
    if target_has_mm and not (t.dumpable or ptrace):
        return False
    return not commoncap or ptrace or permitted(t) <= permitted(c)


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


def user_nodes(gen: str, mask: Any, maxnode: int) -> list[int] | int:
    """get_nodes() on x86_64 (spec §1.1, which v5 follows, §9.1; modern §1.2): the nodes read
    from ``mask`` (None = NULL, numasim.FAULT, or a list of unsigned longs; reading past its
    end faults), or the errno. BITS_PER_LONG = MAX_NUMNODES = 64: word 0 holds every node, a
    later word must be zero."""
    full = 2**64 - 1
    m = (maxnode - 1) & full  # --maxnode, an unsigned long
    if mask is None or m == 0:
        return []  # §1.1.2: no memory access at all
    if m > 4096 * 8:
        return EINVAL  # §1.1.3: more than a page worth of bits
    nlongs = -(-m // 64)
    endmask = full if m % 64 == 0 else (1 << m % 64) - 1

    def word(k: int) -> int:
        if mask is numasim.FAULT or k >= len(mask):
            raise LookupError
        return int(mask[k])

    try:
        if gen == MODERN:
            # §1.2.2-3: the words above MAX_NUMNODES from the top down, each tested whole
            for k in range(nlongs - 1, 0, -1):
                if word(k):
                    return EINVAL
        else:
            # §1.1.6: from the bottom up, the last one under the end mask; then word 0 alone,
            # with no end mask (§1.1.6c)
            for k in range(1, nlongs):
                if word(k) & (endmask if k == nlongs - 1 else full):
                    return EINVAL
        w0 = word(0) & (endmask if nlongs == 1 else full)  # §1.1.7
    except LookupError:
        return EFAULT
    return [n for n in range(64) if w0 >> n & 1]


def migrate_pages_errno(
    gen: str,
    c: Creds,
    t: Creds,
    who: str,
    caller_mems: frozenset[int],
    old: Any,
    new: Any,
    maxnode: int,
) -> int | None:
    """The errno sys_migrate_pages gives, check by check in the generation's order (spec §5),
    or None if every check passes. ``who``: "target" (the other task, credentials ``t``),
    "self" (pid 0), "kthread" (a kernel thread: root, no mm, the top cpuset) or "nobody"."""
    masks = []
    for mask in (old, new):  # old is read completely before new (§1.1.9)
        got = user_nodes(gen, mask, maxnode)
        if isinstance(got, int):
            return got
        masks.append(frozenset(got))
    new_nodes = masks[1]
    if who == "nobody":
        return ESRCH
    tc, has_mm, mems = {
        "target": (t, True, ONLINE),
        "self": (c, True, caller_mems),
        "kthread": (KTHREAD, False, ONLINE),
    }[who]
    if gen != MODERN:
        cap = "CAP_SYS_NICE" if gen == K16 else "CAP_SYS_ADMIN"
        capable = cap in c.caps
        if not has_mm:
            return EINVAL  # §5.1.4: before the permission checks
        if not (uid_rule(c, tc) or capable):
            return EPERM  # §5.1.5
        allowed = ONLINE if gen == V5 else mems  # §5.1.6 (V5: node_online_map), §5.2.1
        if not capable and not new_nodes <= allowed:
            return EPERM
        return None
    # §5.3.4: pid 0 is current, in its own thread group: ptrace_may_access() allows it
    if who != "self" and not ptrace_rule(c, tc, target_has_mm=has_mm):
        return EPERM
    if "CAP_SYS_NICE" not in c.caps and not new_nodes <= mems:
        return EPERM
    if not new_nodes & caller_mems:
        return EINVAL  # new narrowed to the caller's cpuset mems: nothing left
    if not has_mm:
        return EINVAL  # after the LSM hook (none here)
    return None


def pages_after(
    gen: str, who: str, caller_mems: frozenset[int], old: list[int], new: list[int]
) -> tuple[list[int], bool]:
    """Where the target's two private pages (both on node 0) are after a call that passed the
    checks, and whether do_migrate_pages() stopped with ENOMEM. V5 evicts the pages of old \\
    new. 2.6.16 and modern run the node pairs of tests/oracle.py; modern with new narrowed to
    the caller's mems and __GFP_THISNODE; 2.6.16's alloc_pages_node(dest) falls back along
    dest's zonelist within the caller's cpuset (spec §3.3.7, settled in §11): on two nodes, the
    other node when dest is not in the caller's mems; an offline dest has no zonelist: ENOMEM
    (only a capable caller gets past the cpuset check with one). Pid 0 moves the caller's own
    memory: it has none."""
    if who != "target":
        return [0, 0], False
    if gen == V5:
        return ([OUT, OUT] if 0 in old and 0 not in new else [0, 0]), False
    sem = "modern" if gen == MODERN else "2.6.16"
    if gen == MODERN:
        new = [n for n in new if n in caller_mems]
    node = 0
    for src, dst in oracle.migration_pairs(old, new, sem):
        if src != node:
            continue
        if dst not in ONLINE:
            return [node, node], True
        if dst not in caller_mems:  # 2.6.16 only: modern's new is within the caller's mems
            (dst,) = caller_mems
        node = dst
    return [node, node], False


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
    """A kernel thread (root credentials and every capability, no mm): v5/2.6.16 check the mm
    before the permission (EINVAL for everyone); modern checks ptrace access first: EPERM unless
    the caller has CAP_SYS_PTRACE (its real ids all 0 are not enough: the capability module
    wants the kernel thread's full permitted set; the dumpable test is skipped without an mm)."""
    m = scene(gen).m
    k = m.kernel_thread()
    caller = m.spawn(uid=0)
    apply(caller, c)
    reach = ptrace_rule(c, KTHREAD, target_has_mm=False)
    got = caller.syscall("migrate_pages", k.pid, 3, [0], [1])
    assert got == (-EINVAL if gen != MODERN or reach else -EPERM)
    got = caller.syscall("move_pages", k.pid, [0x10000], [1], flags)
    if gen == V5:
        assert got == -ENOSYS
    elif flags & MOVE_ALL and "CAP_SYS_NICE" not in c.caps:
        assert got == -EPERM
    else:
        assert got == (-EINVAL if gen != MODERN or reach else -EPERM)


@pytest.mark.parametrize("name", ["migrate_pages", "move_pages"])
def test_modern_ptrace_wants_the_targets_permitted_capabilities(name: str) -> None:
    """Same uids and gids, dumpable, no CAP_SYS_PTRACE, but the target holds CAP_SYS_NICE,
    which the caller lacks: the target's permitted set is not a subset of the caller's, so
    cap_ptrace_access_check() refuses: EPERM, nothing changes (spec §11, §5.3.4-5)."""
    ids = ((1000, 1000, 1000), (100, 100, 100))
    c = Creds(*ids, frozenset(), True)
    t = Creds(*ids, frozenset({"CAP_SYS_NICE"}), True)
    assert ptrace_rule(c, t, commoncap=False) and not ptrace_rule(c, t)
    s, caller, target, a = pair(MODERN, c, t)
    before = s.snapshot()
    if name == "migrate_pages":
        got = caller.syscall(name, target.pid, 3, [0], [1])
    else:
        got = caller.syscall(name, target.pid, [a, a + s.ps], [1, 1], MOVE)
    s.m.check()
    assert got == -EPERM
    assert s.snapshot() == before


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
    counters and the clock do not change. The error: V5 has no move_pages (ENOSYS); otherwise
    what get_nodes() finds in the masks, else EPERM (move_pages: MOVE_ALL without CAP_SYS_NICE
    is checked first, then the uid rule or ptrace_may_access, all EPERM)."""
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
    if name == "move_pages":
        want = ENOSYS if gen == V5 else EPERM
    else:
        maxnode, old, new = args
        want = migrate_pages_errno(gen, c, t, "target", ONLINE, [old], [new], maxnode)
        assert want is not None
    assert got == -want
    assert s.snapshot() == before


@st.composite
def any_migrate_call(draw: st.DrawFn) -> tuple[Creds, Creds, str, int, int, Any, Any]:
    c = draw(creds())
    t = draw(creds())
    who = draw(st.sampled_from(["target", "self", "kthread", "nobody"]))
    maxnode = draw(st.sampled_from([0, 1, 2, 3, 65, 66, 101, 32769, 32770]))
    cpuset = draw(st.sampled_from([None, (0,), (1,)]))

    def mask() -> Any:
        kind = draw(st.sampled_from(["words", "nodes", "none", "fault"]))
        if kind == "none":
            return None
        if kind == "fault":
            return numasim.FAULT
        if kind == "nodes":  # a few low nodes (2 and 3 are offline), then zero words
            nodes = draw(st.sets(st.integers(0, 3)))
            return [sum(1 << n for n in nodes)] + [0] * draw(st.integers(0, 2))
        n = draw(st.integers(1, 3))
        return draw(st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n))

    return c, t, who, maxnode, cpuset, mask(), mask()


@pytest.mark.parametrize("gen", list(GENS))
@SETTINGS
@given(x=any_migrate_call())
def test_a_failed_migrate_pages_changes_nothing(gen: str, x: Any) -> None:
    """Random callers, targets, masks and cpusets: a call fails with exactly the errno of the
    first check that refuses it (migrate_pages_errno) and then changes nothing (placement,
    contents, VMAs, vmstat, node usage, swap, the clock, the tasks); a call that passes every
    check returns 0 with the pages where V5's eviction or the node pairs put them, or, in
    2.6.16 only, stops with ENOMEM at an offline destination, keeping what it moved."""
    c, t, who, maxnode, cpuset, old, new = x
    caller_mems = ONLINE if cpuset is None else frozenset(cpuset)
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

    want = migrate_pages_errno(gen, c, t, who, caller_mems, old, new, maxnode)
    before = s.snapshot()
    got = outcome(numasim.migrate_pages, caller, pid, maxnode, user(old), user(new))
    m.check()
    if want is not None:
        assert isinstance(got, OSError) and got.errno == want, (want, got)
        assert s.snapshot() == before
        return
    old_nodes, new_nodes = user_nodes(gen, old, maxnode), user_nodes(gen, new, maxnode)
    placement, enomem = pages_after(gen, who, caller_mems, old_nodes, new_nodes)
    if enomem:
        # Not a check: do_migrate_pages() itself stopped (2.6.16, a capable caller sending
        # pages to an offline node). Pages moved so far stay moved, as in the kernel.
        assert isinstance(got, OSError) and got.errno == ENOMEM, got
    else:
        assert got == 0
    assert s.placement() == {"target": placement}
    assert s.contents() == before["contents"]
