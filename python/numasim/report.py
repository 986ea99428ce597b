"""MigrateReport: everything one migration call did, behind the one number the kernel returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from numasim._core import MigrateReportCore

#: Reasons a page is skipped or not moved, in report order.
REASONS = (
    "locked",
    "writeback",
    "no_swap",
    "unmap_failed",
    "busy_refcount",
    "dirty",
    "buffers",
    "shared",
    "not_lru",
    "non_migratable_vma",
    "no_memory",
    "reserved",
)


@dataclass(frozen=True)
class PairReport:
    """One (source, destination) node pair of do_migrate_pages(); V5's destination is None."""

    source: int
    dest: int | None
    scanned: int
    isolated: int
    moved: int
    swapped_out: int
    not_moved: int
    #: migrate_to_node()'s result: the count not moved, or a negative errno.
    result: int
    passes: int


class _Field:
    """A report field read from the core's dict the first time any field is asked for."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: MigrateReport | None, owner: type) -> Any:
        if obj is None:
            return self
        return obj._fields()[self.name]


class MigrateReport:
    """What a migrate_pages / mbind / cpuset migration did.

    ``ret`` is what the system call returned (the pages not moved, or -errno); ``not_moved``
    = ``failed`` + ``retried_out``. ``skipped`` counts pages the collection walk passed over
    without counting them as failures (shared without MOVE_ALL, not on the LRU, reserved) and
    VMAs it did not walk (``non_migratable_vma``); ``not_moved_by`` gives the reason of each
    page's last failed attempt (see REASONS). Times are simulated nanoseconds. The fields are
    read from the core when first used, so a system call pays only for ``ret``.
    """

    __slots__ = ("_core", "_d")

    semantics: str = _Field()  # type: ignore[assignment]
    scanned: int = _Field()  # type: ignore[assignment]
    selected: int = _Field()  # type: ignore[assignment]
    isolated: int = _Field()  # type: ignore[assignment]
    moved: int = _Field()  # type: ignore[assignment]
    swapped_out: int = _Field()  # type: ignore[assignment]
    put_back: int = _Field()  # type: ignore[assignment]
    failed: int = _Field()  # type: ignore[assignment]
    retried_out: int = _Field()  # type: ignore[assignment]
    not_moved: int = _Field()  # type: ignore[assignment]
    skipped: dict[str, int] = _Field()  # type: ignore[assignment]
    not_moved_by: dict[str, int] = _Field()  # type: ignore[assignment]
    pairs: tuple[PairReport, ...] = _Field()  # type: ignore[assignment]
    passes: int = _Field()  # type: ignore[assignment]
    time_ns: int = _Field()  # type: ignore[assignment]
    copy_ns: int = _Field()  # type: ignore[assignment]
    io_ns: int = _Field()  # type: ignore[assignment]
    tlb_ns: int = _Field()  # type: ignore[assignment]
    wait_ns: int = _Field()  # type: ignore[assignment]
    #: errno that stopped the call (ENOMEM), 0 if none.
    error: int = _Field()  # type: ignore[assignment]
    #: 2.6.16: check_range() found no free swap, so nothing was collected for some pair.
    no_swap_at_collection: bool = _Field()  # type: ignore[assignment]

    def __init__(self, core: MigrateReportCore) -> None:
        self._core = core
        self._d: dict[str, Any] | None = None

    @property
    def ret(self) -> int:
        """What the system call returned: the pages not moved, or -errno."""
        return self._core.ret

    def _fields(self) -> dict[str, Any]:
        if self._d is None:
            d = self._core.as_dict()
            total, copy, io, tlb, wait = d.pop("time")
            d.update(time_ns=total, copy_ns=copy, io_ns=io, tlb_ns=tlb, wait_ns=wait)
            d["pairs"] = tuple(PairReport(*p) for p in d["pairs"])
            self._d = d
        return self._d

    def as_dict(self) -> dict[str, Any]:
        """Every field, as a dict."""
        return dict(self._fields())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MigrateReport) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MigrateReport({self.summary()})"

    def summary(self) -> str:
        """One line: the counts and the non-zero reasons."""
        parts = [
            f"ret={self.ret}",
            f"scanned={self.scanned}",
            f"isolated={self.isolated}",
            f"moved={self.moved}",
            f"swapped_out={self.swapped_out}",
            f"not_moved={self.not_moved}",
            f"passes={self.passes}",
        ]
        skipped = {k: v for k, v in self.skipped.items() if v}
        failed = {k: v for k, v in self.not_moved_by.items() if v}
        if skipped:
            parts.append("skipped: " + ", ".join(f"{k}={v}" for k, v in skipped.items()))
        if failed:
            parts.append("not moved: " + ", ".join(f"{k}={v}" for k, v in failed.items()))
        if self.pairs and self.pairs[0].dest is not None:
            parts.append("pairs: " + " ".join(f"{p.source}->{p.dest}" for p in self.pairs))
        parts.append(f"time {self.time_ns / 1e6:.3f} ms")
        return "; ".join(parts)
