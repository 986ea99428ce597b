"""numasim: simulate Linux NUMA memory and page migration without NUMA hardware.

The core (Rust, ``numasim._core``) holds the machine and every algorithm; this package holds the
syscall surface, scenarios, the CLI and reports.

>>> import numasim
>>> m = numasim.Machine(nodes=2, node_memory="64MiB")
>>> t = m.spawn()
>>> a = t.mmap(4 * m.page_size)
>>> t.touch(a, 4 * m.page_size, write=True)
>>> t.resident_by_node()
{0: 4, 1: 0}
"""

from __future__ import annotations

from numasim._arch import ARCHES, DEFAULT_ARCH, arch
from numasim._core import (
    FAULT,
    STATUS_UNWRITTEN,
    ArchProfile,
    InvariantError,
    NodeMask,
    SegmentationFault,
    __version__,
    node_remap,
)
from numasim._units import parse_size
from numasim.constants import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_F_MEMS_ALLOWED,
    MPOL_F_NODE,
    MPOL_F_NUMA_BALANCING,
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
    MPOL_INTERLEAVE,
    MPOL_LOCAL,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MF_STRICT,
    MPOL_PREFERRED,
    MPOL_PREFERRED_MANY,
    Mpol,
    MpolF,
    MpolMF,
    MpolModeFlag,
)
from numasim.machine import PRESETS, SEMANTICS, File, Machine, NodeSpec, NodeUsage, Task
from numasim.report import MigrateReport, PairReport
from numasim.syscalls import mbind, migrate_pages, migration_pairs, move_pages

__all__ = [
    "ARCHES",
    "DEFAULT_ARCH",
    "FAULT",
    "MPOL_BIND",
    "MPOL_DEFAULT",
    "MPOL_F_ADDR",
    "MPOL_F_MEMS_ALLOWED",
    "MPOL_F_NODE",
    "MPOL_F_NUMA_BALANCING",
    "MPOL_F_RELATIVE_NODES",
    "MPOL_F_STATIC_NODES",
    "MPOL_INTERLEAVE",
    "MPOL_LOCAL",
    "MPOL_MF_MOVE",
    "MPOL_MF_MOVE_ALL",
    "MPOL_MF_STRICT",
    "MPOL_PREFERRED",
    "MPOL_PREFERRED_MANY",
    "PRESETS",
    "SEMANTICS",
    "STATUS_UNWRITTEN",
    "ArchProfile",
    "File",
    "InvariantError",
    "Machine",
    "MigrateReport",
    "Mpol",
    "MpolF",
    "MpolMF",
    "MpolModeFlag",
    "NodeMask",
    "NodeSpec",
    "NodeUsage",
    "PairReport",
    "SegmentationFault",
    "Task",
    "__version__",
    "arch",
    "mbind",
    "migrate_pages",
    "migration_pairs",
    "move_pages",
    "node_remap",
    "parse_size",
]
