"""MigrateReport: everything one migration call did, behind the one number the kernel returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class MigrateReport:
    """What a migrate_pages / mbind / cpuset migration did.

    ``ret`` is what the system call returned (the pages not moved, or -errno); ``not_moved``
    = ``failed`` + ``retried_out``. ``skipped`` counts pages the collection walk passed over
    without counting them as failures (shared without MOVE_ALL, not on the LRU, reserved) and
    VMAs it did not walk (``non_migratable_vma``); ``not_moved_by`` gives the reason of each
    page's last failed attempt. Times are simulated nanoseconds.
    """

    semantics: str
    scanned: int
    selected: int
    isolated: int
    moved: int
    swapped_out: int
    put_back: int
    failed: int
    retried_out: int
    not_moved: int
    skipped: dict[str, int]
    not_moved_by: dict[str, int]
    pairs: tuple[PairReport, ...]
    passes: int
    time_ns: int
    copy_ns: int
    io_ns: int
    tlb_ns: int
    wait_ns: int
    #: errno that stopped the call (ENOMEM), 0 if none.
    error: int
    ret: int
    #: 2.6.16: check_range() found no free swap, so nothing was collected for some pair.
    no_swap_at_collection: bool
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_core(cls, d: dict[str, Any]) -> MigrateReport:
        total, copy, io, tlb, wait = d["time"]
        return cls(
            semantics=d["semantics"],
            scanned=d["scanned"],
            selected=d["selected"],
            isolated=d["isolated"],
            moved=d["moved"],
            swapped_out=d["swapped_out"],
            put_back=d["put_back"],
            failed=d["failed"],
            retried_out=d["retried_out"],
            not_moved=d["not_moved"],
            skipped=dict(d["skipped"]),
            not_moved_by=dict(d["not_moved_by"]),
            pairs=tuple(PairReport(*p) for p in d["pairs"]),
            passes=d["passes"],
            time_ns=total,
            copy_ns=copy,
            io_ns=io,
            tlb_ns=tlb,
            wait_ns=wait,
            error=d["error"],
            ret=d["ret"],
            no_swap_at_collection=d["no_swap_at_collection"],
        )

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
