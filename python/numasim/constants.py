"""Memory-policy constants with the kernel's values (include/uapi/linux/mempolicy.h), and the
madvise(2) advice (include/uapi/asm-generic/mman-common.h) with the set each generation
knows."""

from __future__ import annotations

import enum


class Mpol(enum.IntEnum):
    """Policy modes. MPOL_LOCAL and MPOL_PREFERRED_MANY exist only in the modern semantics."""

    MPOL_DEFAULT = 0
    MPOL_PREFERRED = 1
    MPOL_BIND = 2
    MPOL_INTERLEAVE = 3
    MPOL_LOCAL = 4
    MPOL_PREFERRED_MANY = 5


class MpolModeFlag(enum.IntFlag):
    """Mode flags or-ed into the mode (2.6.26 and later: the modern semantics)."""

    MPOL_F_NUMA_BALANCING = 1 << 13
    MPOL_F_RELATIVE_NODES = 1 << 14
    MPOL_F_STATIC_NODES = 1 << 15


class MpolF(enum.IntFlag):
    """get_mempolicy(2) flags (MPOL_F_MEMS_ALLOWED from 2.6.24: the modern semantics)."""

    MPOL_F_NODE = 1 << 0
    MPOL_F_ADDR = 1 << 1
    MPOL_F_MEMS_ALLOWED = 1 << 2


class MpolMF(enum.IntFlag):
    """mbind(2) / move_pages(2) / migrate flags."""

    MPOL_MF_STRICT = 1 << 0
    MPOL_MF_MOVE = 1 << 1
    MPOL_MF_MOVE_ALL = 1 << 2


MPOL_DEFAULT = Mpol.MPOL_DEFAULT
MPOL_PREFERRED = Mpol.MPOL_PREFERRED
MPOL_BIND = Mpol.MPOL_BIND
MPOL_INTERLEAVE = Mpol.MPOL_INTERLEAVE
MPOL_LOCAL = Mpol.MPOL_LOCAL
MPOL_PREFERRED_MANY = Mpol.MPOL_PREFERRED_MANY
MPOL_F_NUMA_BALANCING = MpolModeFlag.MPOL_F_NUMA_BALANCING
MPOL_F_RELATIVE_NODES = MpolModeFlag.MPOL_F_RELATIVE_NODES
MPOL_F_STATIC_NODES = MpolModeFlag.MPOL_F_STATIC_NODES
MPOL_F_NODE = MpolF.MPOL_F_NODE
MPOL_F_ADDR = MpolF.MPOL_F_ADDR
MPOL_F_MEMS_ALLOWED = MpolF.MPOL_F_MEMS_ALLOWED
MPOL_MF_STRICT = MpolMF.MPOL_MF_STRICT
MPOL_MF_MOVE = MpolMF.MPOL_MF_MOVE
MPOL_MF_MOVE_ALL = MpolMF.MPOL_MF_MOVE_ALL


class Madv(enum.IntEnum):
    """madvise(2) advice, with the values of 2.6.18's asm-generic/mman.h and 6.x's
    mman-common.h (2.6.16 final has REMOVE 9, DONTFORK 10, DOFORK 11; MADV_REMOVE was 5 on
    x86 before 2.6.16-rc4). Which of them a machine's kernel knows: :func:`madvise_known`."""

    MADV_NORMAL = 0
    MADV_RANDOM = 1
    MADV_SEQUENTIAL = 2
    MADV_WILLNEED = 3
    MADV_DONTNEED = 4
    MADV_FREE = 8
    MADV_REMOVE = 9
    MADV_DONTFORK = 10
    MADV_DOFORK = 11
    MADV_MERGEABLE = 12
    MADV_UNMERGEABLE = 13
    MADV_HUGEPAGE = 14
    MADV_NOHUGEPAGE = 15
    MADV_DONTDUMP = 16
    MADV_DODUMP = 17
    MADV_WIPEONFORK = 18
    MADV_KEEPONFORK = 19
    MADV_COLD = 20
    MADV_PAGEOUT = 21
    MADV_POPULATE_READ = 22
    MADV_POPULATE_WRITE = 23
    MADV_DONTNEED_LOCKED = 24
    MADV_COLLAPSE = 25
    MADV_HWPOISON = 100
    MADV_SOFT_OFFLINE = 101


MADV_NORMAL = Madv.MADV_NORMAL
MADV_RANDOM = Madv.MADV_RANDOM
MADV_SEQUENTIAL = Madv.MADV_SEQUENTIAL
MADV_WILLNEED = Madv.MADV_WILLNEED
MADV_DONTNEED = Madv.MADV_DONTNEED
MADV_REMOVE = Madv.MADV_REMOVE
MADV_DONTFORK = Madv.MADV_DONTFORK
MADV_DOFORK = Madv.MADV_DOFORK
MADV_HUGEPAGE = Madv.MADV_HUGEPAGE
MADV_NOHUGEPAGE = Madv.MADV_NOHUGEPAGE
MADV_COLD = Madv.MADV_COLD
MADV_PAGEOUT = Madv.MADV_PAGEOUT
MADV_DONTNEED_LOCKED = Madv.MADV_DONTNEED_LOCKED

#: 2.6.14's madvise_vma(): the read hints, WILLNEED and DONTNEED (the V5 kernel).
MADV_2614: frozenset[Madv] = frozenset(Madv(v) for v in range(5))
#: 2.6.16 adds MADV_REMOVE (2.6.16-rc1) and MADV_DONTFORK/MADV_DOFORK (2.6.16-rc4).
MADV_2616: frozenset[Madv] = MADV_2614 | {Madv.MADV_REMOVE, Madv.MADV_DONTFORK, Madv.MADV_DOFORK}
#: The transparent-huge-page advice of 6.x, valid with CONFIG_TRANSPARENT_HUGEPAGE: the x86
#: arches (HAVE_ARCH_TRANSPARENT_HUGEPAGE), not ia64.
MADV_6X_THP: frozenset[Madv] = frozenset(
    {Madv.MADV_HUGEPAGE, Madv.MADV_NOHUGEPAGE, Madv.MADV_COLLAPSE}
)
#: MADV_HWPOISON and MADV_SOFT_OFFLINE need CONFIG_MEMORY_FAILURE, which distributions set on
#: x86_64 (32-bit NUMA x86 uses SPARSEMEM, which X86_SUPPORTS_MEMORY_FAILURE excludes; ia64
#: does not support it).
MADV_6X_MEMORY_FAILURE: frozenset[Madv] = frozenset({Madv.MADV_HWPOISON, Madv.MADV_SOFT_OFFLINE})
#: 6.1's and 6.12's madvise_behavior_valid(), with CONFIG_KSM.
MADV_6X: frozenset[Madv] = frozenset(Madv) - MADV_6X_THP - MADV_6X_MEMORY_FAILURE


def madvise_known(semantics: str, arch: str) -> frozenset[Madv]:
    """The advice the madvise(2) of a machine's kernel knows (mm/madvise.c of each
    generation).

    >>> sorted(int(a) for a in madvise_known("2.6.16", "x86_64"))
    [0, 1, 2, 3, 4, 9, 10, 11]
    >>> Madv.MADV_HUGEPAGE in madvise_known("modern", "ia64")
    False
    """
    if semantics == "v5":
        return MADV_2614
    if semantics == "2.6.16":
        return MADV_2616
    known = MADV_6X
    if not arch.startswith("ia64"):
        known |= MADV_6X_THP
    if arch == "x86_64":
        known |= MADV_6X_MEMORY_FAILURE
    return known
