"""Sizes like "1GiB", "512M" or 4096 to bytes."""

from __future__ import annotations

import re

from numasim._args import integer

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
    "t": 1 << 40,
    "tb": 1 << 40,
    "tib": 1 << 40,
}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def parse_size(value: int | str, what: str = "size") -> int:
    """Bytes from an int or a string such as "1GiB", "512MiB", "4K" (binary units).

    >>> parse_size("1GiB")
    1073741824
    """
    if not isinstance(value, str):
        try:
            n = integer(value, what)
        except TypeError:
            raise TypeError(
                f"{what} must be an int or a size string like '1GiB', not {value!r}"
            ) from None
    else:
        m = _SIZE.match(value)
        unit = m.group(2).lower() if m else None
        if not m or unit not in _UNITS:
            raise ValueError(f"{what} {value!r} is not a size: expected e.g. 4096, '64KiB', '1GiB'")
        n = int(m.group(1)) * _UNITS[unit]
    if not 0 <= n < 1 << 64:
        raise ValueError(f"{what} must be between 0 and 2**64-1 bytes, got {value!r}")
    return n


def format_size(n: int) -> str:
    """The largest binary unit that divides n exactly: 1073741824 -> '1 GiB'."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"
