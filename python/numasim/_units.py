"""Sizes like "1GiB", "512M" or 4096 to bytes."""

from __future__ import annotations

import re
from fractions import Fraction

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
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: int | str, what: str = "size") -> int:
    """Bytes from an int or a string such as "1GiB", "1.5GiB", "512MiB", "4K" (binary
    units: K, M, G and T are powers of 1024 however written). A fraction must come to a
    whole number of bytes.

    >>> parse_size("1GiB"), parse_size("1.5GiB")
    (1073741824, 1610612736)
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
        n = _whole(Fraction(m.group(1)) * _UNITS[unit], value, what, "bytes")
    return _u64(n, value, what, "bytes")


def _whole(exact: Fraction, value: str, what: str, units: str) -> int:
    """A quantity written with a unit, which must come to a whole number of `units`."""
    if exact.denominator != 1:
        raise ValueError(f"{what} {value!r} is not a whole number of {units}")
    return int(exact)


def _u64(n: int, value: int | str, what: str, unit: str) -> int:
    if not 0 <= n < 1 << 64:
        raise ValueError(f"{what} must be between 0 and 2**64-1 {unit}, got {value!r}")
    return n


def format_size(n: int) -> str:
    """The largest binary unit that divides n exactly: 1073741824 -> '1 GiB'."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|min|h)\s*$")
_NS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "min": 60 * 10**9, "h": 3600 * 10**9}


def parse_duration(value: int | str, what: str = "duration") -> int:
    """Nanoseconds from an int (ns) or a string such as "30s", "5ms", "1.5us".

    >>> parse_duration("30s")
    30000000000
    """
    if not isinstance(value, str):
        n = integer(value, what)
    else:
        m = _DURATION.match(value)
        if not m:
            raise ValueError(f"{what} {value!r} is not a duration: expected e.g. 100, '5ms', '30s'")
        n = _whole(Fraction(m.group(1)) * _NS[m.group(2)], value, what, "nanoseconds")
    return _u64(n, value, what, "ns")
