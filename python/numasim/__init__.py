"""numasim: simulate Linux NUMA memory and page migration without NUMA hardware.

The core (Rust, ``numasim._core``) holds the machine and every algorithm; this package holds the
syscall surface, scenarios, the CLI and reports.
"""

from __future__ import annotations

from numasim._arch import ARCHES, DEFAULT_ARCH, arch
from numasim._core import (
    FAULT,
    ArchProfile,
    InvariantError,
    NodeMask,
    SegmentationFault,
    __version__,
    node_remap,
)

__all__ = [
    "ARCHES",
    "DEFAULT_ARCH",
    "FAULT",
    "ArchProfile",
    "InvariantError",
    "NodeMask",
    "SegmentationFault",
    "__version__",
    "arch",
    "node_remap",
]
