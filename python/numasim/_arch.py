"""Architecture profiles: the built-in table and lookup by name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from numasim._core import ArchProfile, builtin_arches

#: Built-in profiles by name: i386, i386-pae, x86_64, ia64 (16 KiB pages),
#: ia64-4k, ia64-8k, ia64-64k.
ARCHES: Mapping[str, ArchProfile] = MappingProxyType({a.name: a for a in builtin_arches()})

#: The architecture a Machine gets when none is named.
DEFAULT_ARCH = "x86_64"


def arch(name: str | ArchProfile = DEFAULT_ARCH) -> ArchProfile:
    """Return the built-in profile called ``name`` (a profile passes through unchanged).

    >>> arch("ia64").page_size
    16384
    >>> arch("x86_64").with_nodes_shift(10).max_numnodes   # a MAXSMP kernel
    1024
    """
    if isinstance(name, ArchProfile):
        return name
    try:
        return ARCHES[name]
    except KeyError:
        raise ValueError(f"unknown arch {name!r}; expected one of {', '.join(ARCHES)}") from None
