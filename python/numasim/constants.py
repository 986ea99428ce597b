"""Memory-policy constants with the kernel's values (include/uapi/linux/mempolicy.h)."""

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
