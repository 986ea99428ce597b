"""Arguments as the kernel's C types take them: exactly the values that type can hold.

A C caller cannot pass a float, a string or a number wider than the parameter's type; numasim
refuses those instead of truncating, wrapping or converting them silently. Integers are taken
with ``operator.index`` (Python ints, numpy integers, int enums); ``bool`` is refused because
``True`` as an address or a node is always a mistake. Every error names the argument.

Arrays (the ``pages``/``nodes``/``status`` arrays of move_pages, addresses to touch) must have an
integer dtype; their range is checked with numpy reductions, never element by element in Python.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import numpy.typing as npt

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


def integer(value: Any, name: str) -> int:
    """``value`` as a Python int, or TypeError naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, not a bool ({value!r})")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, not {type(value).__name__} ({value!r})"
        ) from None


def unsigned(value: Any, name: str, bits: int) -> int:
    """An ``unsigned`` C value of ``bits`` bits (``unsigned long``: the arch's BITS_PER_LONG)."""
    v = integer(value, name)
    if not 0 <= v < 1 << bits:
        raise ValueError(
            f"{name} must be between 0 and 2**{bits}-1 (a {bits}-bit unsigned value), got {v}"
        )
    return v


def signed(value: Any, name: str, bits: int = 32) -> int:
    """A signed C value of ``bits`` bits (``int``: 32)."""
    v = integer(value, name)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if not lo <= v <= hi:
        raise ValueError(
            f"{name} must be between {lo} and {hi} (a {bits}-bit signed value), got {v}"
        )
    return v


def optional_unsigned(value: Any, name: str, bits: int) -> int | None:
    return None if value is None else unsigned(value, name, bits)


def _int_array(values: npt.ArrayLike, name: str) -> np.ndarray:
    a = values if isinstance(values, np.ndarray) else np.asarray(values)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if a.size == 0 and not isinstance(values, np.ndarray):
        return a.astype(np.int64)  # [] has no dtype of its own
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got an array of {a.dtype.name}")
    return a


def unsigned_array(values: npt.ArrayLike, name: str, bits: int) -> npt.NDArray[np.uint64]:
    """A 1-D contiguous uint64 array of ``bits``-bit unsigned values (addresses)."""
    a = _int_array(values, name)
    if a.size:
        if a.dtype.kind == "i" and int(a.min()) < 0:
            raise ValueError(
                f"{name} holds a negative value ({int(a.min())}); addresses are unsigned"
            )
        if bits < 64 and int(a.max()) >= 1 << bits:
            raise ValueError(f"{name} holds {int(a.max()):#x}, beyond a {bits}-bit unsigned long")
    return np.ascontiguousarray(a, dtype=np.uint64)


def int_array(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int32]:
    """A 1-D contiguous int32 array of C ``int`` values (node ids)."""
    a = _int_array(values, name)
    if a.size and (int(a.min()) < INT_MIN or int(a.max()) > INT_MAX):
        bad = int(a.min()) if int(a.min()) < INT_MIN else int(a.max())
        raise ValueError(f"{name} holds {bad}, which does not fit a C int")
    return np.ascontiguousarray(a, dtype=np.int32)


def node_ids(values: Any, name: str) -> list[int]:
    """Node ids given as an iterable of ints (not a str: a node string is not a list of nodes)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(
            f"{name} must be node ids (an iterable of ints or a NodeMask), not the string "
            f"{values!r}; numasim does not read node strings here"
        )
    try:
        items = list(values)
    except TypeError:
        raise TypeError(
            f"{name} must be an iterable of node ids or a NodeMask, not {type(values).__name__}"
        ) from None
    return [integer(n, f"{name} item") for n in items]


def same_machine(machine: Any, obj: Any, name: str) -> None:
    """Refuses a Task or File of another Machine: acting on it would touch the wrong machine."""
    if obj.machine is not machine:
        raise ValueError(f"{name} {obj!r} belongs to another Machine")
