"""mbind(2) with the migration flags, table-driven, for the three kernel generations.

    long mbind(void *addr, unsigned long len, int mode, const unsigned long *nodemask,
               unsigned long maxnode, unsigned int flags);

MPOL_MF_STRICT: EIO if pages that do not follow the policy remain; MPOL_MF_MOVE: move this
mm's unshared pages that do not follow it; MPOL_MF_MOVE_ALL: all of them, with the capability
of the generation (CAP_SYS_RESOURCE in V5 and 2.6.16-rc6, CAP_SYS_NICE in 2.6.16 with the
2006-03-14 patch and in modern; spec §2.3.5, §5.2.2-3). V5 evicts the pages (they come back
by the new policy on the next fault); 2.6.16 and modern copy them (spec §0.2). The order of
the checks is sys_mbind()/do_mbind()'s: get_nodes(), then flags and mode, the capability,
the alignment (modern: sanitize_mpol_flags() before get_nodes()).

The rows run as tests/syscall_scene.py runs every system-call table (the Python API, then
Task.syscall and Machine.syscall by number; a failure that did no work changes nothing). The
scene is mbind's own: mbind acts on the calling task's memory, so the caller ``me`` owns the
pages.
"""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import numasim
from numasim import (
    FAULT,
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_F_NODE,
    MPOL_F_NUMA_BALANCING,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MF_STRICT,
    MPOL_PREFERRED,
)

pytest.register_assert_rewrite("syscall_scene")
import syscall_scene as sc  # noqa: E402
from syscall_scene import (  # noqa: E402
    A4,
    B2,
    GENS,
    OUT,
    Err,
    Ret,
    Scene,
    Syscall,
    assert_distinct_ids,
    params,
    run_row,
    same,
)

EPERM, EINVAL, EFAULT = errno.EPERM, errno.EINVAL, errno.EFAULT
EIO, ENODEV = errno.EIO, errno.ENODEV
STRICT, MOVE, MOVE_ALL = int(MPOL_MF_STRICT), int(MPOL_MF_MOVE), int(MPOL_MF_MOVE_ALL)
BIND, DEFAULT, PREFERRED = int(MPOL_BIND), int(MPOL_DEFAULT), int(MPOL_PREFERRED)


class MbindScene(Scene):
    """The shared scene (4 nodes, x86_64) plus its caller: ``me`` (uid 1000, on node 0, granted
    ``caps``) owns region A (4 pages written on node 0) and, in a separate mapping, B (2 pages
    written on node 2). A guard page between them keeps A and B two VMAs (a policy is per VMA),
    whatever the simulator's VMA merging does."""

    def __init__(self, gen: str, swap: str | int = "16MiB", caps: tuple[str, ...] = ()) -> None:
        super().__init__(gen, swap=swap)
        self.me = self.task(uid=1000, caps=caps)
        self.a = self.fill("A", self.me, A4)
        self.me.mmap(self.ps, prot="none")  # a guard: A and B stay two VMAs
        self.b = self.fill("B", self.me, B2)


def ok(**placement: list[int]) -> Ret:
    """mbind returns 0; the regions are then placed so."""
    return Ret(0, placement)


@dataclass(frozen=True)
class Call:
    caller: numasim.Task  # always the scene's ``me``: mbind has no pid
    addr: int
    length: int
    mode: int
    nodemask: Any
    maxnode: int
    flags: int

    @property
    def args(self) -> tuple[Any, ...]:
        return (self.addr, self.length, self.mode, self.nodemask, self.maxnode, self.flags)


@dataclass
class Row(sc.Row):
    """A row of the shared harness, and the capabilities of the scene's caller ``me``."""

    caps: tuple[str, ...] = ()


MBIND = Syscall(
    "mbind", numasim.mbind, lambda gen, row: MbindScene(gen, swap=row.swap, caps=row.caps)
)


def on_a(
    mode: int = BIND,
    nodes: Any = (1,),
    flags: int = MOVE,
    maxnode: int = 65,
    npages: int = 4,
    offset: int = 0,
) -> Callable[[MbindScene], Call]:
    """mbind on A (``npages`` pages from page ``offset``)."""

    def setup(s: MbindScene) -> Call:
        mask = list(nodes) if isinstance(nodes, tuple) else nodes
        return Call(s.me, s.a + offset, npages * s.ps, mode, mask, maxnode, flags)

    return setup


def cow_shared(s: MbindScene) -> Call:
    """``me`` forks: the child shares A copy-on-write (mapcount 2)."""
    child = s.me.fork()
    s.follow("A_child", child, s.a, 4)
    return Call(s.me, s.a, 4 * s.ps, BIND, [1], 65, MOVE)


def cow_shared_strict(s: MbindScene) -> Call:
    return dataclasses.replace(cow_shared(s), flags=MOVE | STRICT)


def cow_shared_move_all(s: MbindScene) -> Call:
    return dataclasses.replace(cow_shared(s), flags=MOVE_ALL)


def pinned_strict(s: MbindScene) -> Call:
    """A[0] holds an extra reference: it cannot be moved."""
    assert s.m.set_page_state(s.me, s.a, s.ps, "pinned") == 1
    return Call(s.me, s.a, 4 * s.ps, BIND, [1], 65, MOVE | STRICT)


def over_a_hole(s: MbindScene) -> Call:
    """A, the guard page unmapped (a hole) and B: the range is not contiguous."""
    s.me.munmap(s.a + 4 * s.ps, s.ps)
    return Call(s.me, s.a, 7 * s.ps, BIND, [1], 65, MOVE)


MOVED = ok(A=[1] * 4, B=B2)
EVICTED = ok(A=[OUT] * 4, B=B2)
UNCHANGED = ok(A=A4, B=B2)

ROWS: list[Row] = [
    # ---------------- ERRORS: get_nodes(), flags, mode ------------------------------------
    Row(
        "nodemask-unreadable",
        "EFAULT: part of nodemask is outside the accessible address space",
        on_a(nodes=FAULT),
        **same(Err(errno.EFAULT, "nodemask")),
    ),
    Row(
        "nodemask-names-node-64",
        "EINVAL: nodemask names a node above MAX_NUMNODES",
        on_a(nodes=np.array([2, 1], dtype=np.uint64), maxnode=66),
        **same(Err(EINVAL, "nodemask")),
    ),
    Row(
        "unknown-flag",
        "EINVAL: flags other than MPOL_MF_STRICT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL",
        on_a(flags=MOVE | 8),
        **same(Err(EINVAL, "flags")),
    ),
    Row(
        "mode-too-large",
        "EINVAL: mode is not a policy (MPOL_MAX is MPOL_INTERLEAVE = 3 before 2.6.26; 6.x also "
        "knows MPOL_LOCAL = 4 and MPOL_PREFERRED_MANY = 5)",
        on_a(mode=6),
        **same(Err(EINVAL, "MPOL_MAX")),
    ),
    Row(
        "bind-empty-mask",
        "EINVAL: MPOL_BIND with an empty nodemask",
        on_a(nodes=()),
        **same(Err(EINVAL, "at least one node")),
    ),
    Row(
        "start-not-page-aligned",
        "EINVAL: addr is not a multiple of the page size",
        on_a(offset=1),
        **same(Err(EINVAL, "aligned")),
    ),
    Row(
        "range-with-a-hole",
        "EFAULT: the range is not fully mapped (no policy installed, nothing moved)",
        over_a_hole,
        **same(Err(EFAULT, "hole")),
    ),
    # ---------------- MOVE_ALL and its capability (spec §2.3.5) -------------------------
    Row(
        "MOVE_ALL-unprivileged",
        "EPERM: MPOL_MF_MOVE_ALL without the capability",
        on_a(flags=MOVE_ALL),
        v5=Err(EPERM, "CAP_SYS_RESOURCE"),
        k16=Err(EPERM, "CAP_SYS_NICE"),
        rc6=Err(EPERM, "CAP_SYS_RESOURCE"),
        modern=Err(EPERM, "CAP_SYS_NICE"),
    ),
    Row(
        "MOVE_ALL-CAP_SYS_NICE",
        "MPOL_MF_MOVE_ALL with CAP_SYS_NICE: 2.6.16 (with the patch) and modern",
        on_a(flags=MOVE_ALL),
        v5=Err(EPERM, "CAP_SYS_RESOURCE"),
        k16=MOVED,
        rc6=Err(EPERM, "CAP_SYS_RESOURCE"),
        modern=MOVED,
        caps=("CAP_SYS_NICE",),
    ),
    Row(
        "MOVE_ALL-CAP_SYS_RESOURCE",
        "MPOL_MF_MOVE_ALL with CAP_SYS_RESOURCE: V5 and 2.6.16-rc6",
        on_a(flags=MOVE_ALL),
        v5=EVICTED,
        k16=Err(EPERM, "CAP_SYS_NICE"),
        rc6=MOVED,
        modern=Err(EPERM, "CAP_SYS_NICE"),
        caps=("CAP_SYS_RESOURCE",),
    ),
    Row(
        "MOVE_ALL-CAP_SYS_ADMIN",
        "CAP_SYS_ADMIN is not mbind's capability in any generation",
        on_a(flags=MOVE_ALL),
        v5=Err(EPERM, "CAP_SYS_RESOURCE"),
        k16=Err(EPERM, "CAP_SYS_NICE"),
        rc6=Err(EPERM, "CAP_SYS_RESOURCE"),
        modern=Err(EPERM, "CAP_SYS_NICE"),
        caps=("CAP_SYS_ADMIN",),
    ),
    # ---------------- CHECK ORDER ----------------------------------------------------------
    Row(
        "order-fault-and-bad-mode",
        "unreadable nodemask and a bad mode: 2.6 sys_mbind() runs get_nodes() first (EFAULT); "
        "6.x kernel_mbind() sanitizes the mode first (EINVAL)",
        on_a(mode=6, nodes=FAULT),
        v5=Err(EFAULT, "nodemask"),
        k16=Err(EFAULT, "nodemask"),
        modern=Err(EINVAL, "MPOL_MAX"),
    ),
    Row(
        "order-fault-and-numa-balancing-misuse",
        "unreadable nodemask and MPOL_F_NUMA_BALANCING on a non-BIND mode: 6.x "
        "sanitize_mpol_flags() rejects the flag before get_nodes() (EINVAL); in 2.6 the mode "
        "flag does not exist and get_nodes() fails first (EFAULT)",
        on_a(mode=PREFERRED | int(MPOL_F_NUMA_BALANCING), nodes=FAULT, flags=0),
        v5=Err(EFAULT, "nodemask"),
        k16=Err(EFAULT, "nodemask"),
        modern=Err(EINVAL, ""),
    ),
    Row(
        "order-bad-mode-before-MOVE_ALL",
        "a bad mode and MOVE_ALL without the capability: do_mbind() tests flags and mode "
        "together, before capable() -> EINVAL (2.6.14-mm1 and 2.6.18 do_mbind text)",
        on_a(mode=6, flags=MOVE_ALL),
        **same(Err(EINVAL, "")),
    ),
    Row(
        "order-bad-flags-before-MOVE_ALL",
        "an unknown flag and MOVE_ALL without the capability: EINVAL first",
        on_a(flags=MOVE_ALL | 8),
        **same(Err(EINVAL, "flags")),
    ),
    Row(
        "order-MOVE_ALL-before-alignment",
        "MOVE_ALL without the capability and an unaligned start: EPERM first",
        on_a(flags=MOVE_ALL, offset=1),
        v5=Err(EPERM, "CAP_SYS_RESOURCE"),
        k16=Err(EPERM, "CAP_SYS_NICE"),
        rc6=Err(EPERM, "CAP_SYS_RESOURCE"),
        modern=Err(EPERM, "CAP_SYS_NICE"),
    ),
    # ---------------- MPOL_MF_STRICT -------------------------------------------------------
    Row(
        "strict-misplaced",
        "EIO: MPOL_MF_STRICT alone and pages of the range are not on the policy's nodes; the "
        "policy is not installed",
        on_a(flags=STRICT),
        **same(Err(EIO, "MPOL_MF_STRICT")),
    ),
    Row(
        "strict-all-in-place",
        "MPOL_MF_STRICT with every page on a policy node: 0",
        on_a(nodes=(0, 1), flags=STRICT),
        **same(UNCHANGED),
    ),
    Row(
        "strict-move-unmovable-page",
        "EIO: MPOL_MF_STRICT|MPOL_MF_MOVE and a page could not be moved; the policy is in "
        "place and the other pages have moved (V5 unmapped the pinned page before giving up)",
        pinned_strict,
        v5=Err(EIO, "MPOL_MF_STRICT", after={"A": [OUT] * 4, "B": B2}),
        k16=Err(EIO, "MPOL_MF_STRICT", after={"A": [0, 1, 1, 1], "B": B2}),
        modern=Err(EIO, "MPOL_MF_STRICT", after={"A": [0, 1, 1, 1], "B": B2}),
    ),
    Row(
        "strict-default-policy",
        "MPOL_DEFAULT drops MPOL_MF_STRICT: no EIO",
        on_a(mode=DEFAULT, nodes=None, maxnode=0, flags=STRICT),
        **same(UNCHANGED),
    ),
    # ---------------- MPOL_MF_MOVE ---------------------------------------------------------
    Row(
        "move",
        "MPOL_MF_MOVE: pages of the range not on the policy's nodes move there (V5: evicted, "
        "they come back by the policy on the next fault); B, outside the range, stays",
        on_a(),
        v5=EVICTED,
        k16=MOVED,
        modern=MOVED,
    ),
    Row(
        "move-part-of-a-vma",
        "only the pages of the range: A[1] and A[2]",
        on_a(npages=2, offset=4096),
        v5=ok(A=[0, OUT, OUT, 0], B=B2),
        k16=ok(A=[0, 1, 1, 0], B=B2),
        modern=ok(A=[0, 1, 1, 0], B=B2),
    ),
    Row(
        "move-already-in-place",
        "pages already on a policy node are not moved",
        on_a(nodes=(0, 1)),
        **same(UNCHANGED),
    ),
    Row(
        "move-preferred",
        "MPOL_PREFERRED {3}: pages not on node 3 go there",
        on_a(mode=PREFERRED, nodes=(3,)),
        v5=EVICTED,
        k16=ok(A=[3] * 4, B=B2),
        modern=ok(A=[3] * 4, B=B2),
    ),
    Row(
        "move-default",
        "MPOL_DEFAULT with MPOL_MF_MOVE: the empty mask selects every page, which goes where "
        "the default policy allocates (the caller's node 0)",
        lambda s: Call(s.me, s.b, 2 * s.ps, DEFAULT, None, 0, MOVE),
        v5=ok(A=A4, B=[OUT, OUT]),
        k16=ok(A=A4, B=[0, 0]),
        modern=ok(A=A4, B=[0, 0]),
    ),
    Row(
        "move-shared",
        "MPOL_MF_MOVE moves only this mm's unshared pages: copy-on-write shared pages stay "
        "(2.6.16/modern, mapcount > 1); V5 isolates every anonymous page and evicts it from "
        "both processes (spec §2.3.1)",
        cow_shared,
        v5=ok(A=[OUT] * 4, B=B2, A_child=[OUT] * 4),
        k16=ok(A=A4, B=B2, A_child=A4),
        modern=ok(A=A4, B=B2, A_child=A4),
    ),
    Row(
        "move-shared-strict",
        "shared pages skipped by MPOL_MF_MOVE are not failures: no EIO with MPOL_MF_STRICT",
        cow_shared_strict,
        v5=ok(A=[OUT] * 4, B=B2, A_child=[OUT] * 4),
        k16=ok(A=A4, B=B2, A_child=A4),
        modern=ok(A=A4, B=B2, A_child=A4),
    ),
    Row(
        "move-all-shared",
        "MPOL_MF_MOVE_ALL (with the capability) moves shared pages too, for both processes",
        cow_shared_move_all,
        v5=ok(A=[OUT] * 4, B=B2, A_child=[OUT] * 4),
        k16=ok(A=[1] * 4, B=B2, A_child=[1] * 4),
        modern=ok(A=[1] * 4, B=B2, A_child=[1] * 4),
        caps=("CAP_SYS_NICE", "CAP_SYS_RESOURCE"),
    ),
    Row(
        "move-no-swap",
        "no swap: 2.6.16's check_range() fails with ENODEV before installing the policy (spec "
        "§2.1.8); V5 cannot evict (add_to_swap fails, not an error without STRICT); modern "
        "moves",
        on_a(),
        v5=UNCHANGED,
        k16=Err(ENODEV, ""),
        modern=MOVED,
        swap=0,
    ),
    Row(
        "empty-range",
        "len 0: nothing to do, 0",
        on_a(npages=0, flags=MOVE | STRICT),
        **same(UNCHANGED),
    ),
    Row(
        "empty-range-before-policy-check",
        "len 0 returns 0 before the policy is validated: do_mbind() tests end == start before "
        "mpol_check_policy() (2.6) / mpol_new() (6.x), so MPOL_BIND with an empty mask is not "
        "an error here",
        on_a(nodes=(), npages=0, flags=0),
        **same(UNCHANGED),
    ),
    Row(
        "len-page-align-wraps-to-0",
        "len within a page of 2**64: do_mbind()'s PAGE_ALIGN(len) wraps to 0 on the unsigned "
        "long, so end == start and the call returns 0 (do_mbind text of 2.6.14-mm1, 2.6.18 and "
        "6.x: len = (len + PAGE_SIZE - 1) & PAGE_MASK; end = start + len; end < start is "
        "EINVAL, end == start returns 0)",
        lambda s: Call(s.me, s.a, 2**64 - 1, BIND, [1], 65, MOVE),
        **same(UNCHANGED),
    ),
]


@pytest.mark.parametrize(("row", "gen"), list(params(ROWS)))
def test_mbind_table(row: Row, gen: str, request: pytest.FixtureRequest) -> None:
    run_row(MBIND, row, gen, request)


def test_every_row_has_a_distinct_id() -> None:
    assert_distinct_ids(ROWS)


# --- get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR): the node of the page at an address ------------


@pytest.mark.parametrize("gen", list(GENS))
def test_get_mempolicy_node_of_address_follows_mbind_move(gen: str) -> None:
    """get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR, addr) returns the node of the page at addr and
    the policy's nodes. Before: node 0, default policy. After mbind(BIND {1}, MOVE): node 1.
    V5 evicted the page; the lookup faults it in (get_user_pages) by the new policy: node 1."""
    s = MbindScene(gen)
    flags = int(MPOL_F_NODE | MPOL_F_ADDR)
    assert s.me.get_mempolicy(flags, s.a) == (0, s.m.nodemask())
    assert s.me.get_mempolicy(flags, s.b + s.ps) == (2, s.m.nodemask())
    assert numasim.mbind(s.me, s.a, 4 * s.ps, BIND, [1], 65, MOVE) == 0
    s.m.check()
    for i in range(4):
        assert s.me.get_mempolicy(flags, s.a + i * s.ps) == (1, s.m.nodemask([1]))
        s.m.check()
    assert s.placement() == {"A": [1] * 4, "B": B2}
    assert s.me.get_mempolicy(flags, s.b) == (2, s.m.nodemask())


@pytest.mark.parametrize("gen", list(GENS))
def test_failed_strict_check_leaves_policy_and_pages(gen: str) -> None:
    """mbind(MPOL_MF_STRICT) failing with EIO installs nothing: a later fault still follows the
    old (default) policy, and get_mempolicy reports the default policy for the range."""
    s = MbindScene(gen)
    with pytest.raises(OSError) as e:
        numasim.mbind(s.me, s.a, 4 * s.ps, BIND, [1], 65, STRICT)
    assert e.value.errno == EIO
    s.m.check()
    assert s.me.get_mempolicy(int(MPOL_F_ADDR), s.a) == (DEFAULT, s.m.nodemask())
    assert s.policies()["A"] == ["default"]


@pytest.mark.parametrize("gen", list(GENS))
def test_v5_evicted_pages_return_by_the_new_policy(gen: str) -> None:
    """After mbind(PREFERRED {3}, MOVE) every page of A is on node 3 once touched: V5 brings
    the evicted pages back by the policy on fault (spec §3.4), the others moved them."""
    s = MbindScene(gen)
    content = s.me.read(s.a, 4 * s.ps).tolist()
    assert numasim.mbind(s.me, s.a, 4 * s.ps, PREFERRED, [3], 65, MOVE) == 0
    s.m.check()
    s.me.touch(s.a, 4 * s.ps)
    s.m.check()
    assert s.placement()["A"] == [3] * 4
    assert s.me.read(s.a, 4 * s.ps).tolist() == content
