"""MigrateReport: everything one migration call did, behind the one number the kernel returns.

The records are the core's own (``numasim._core``): frozen, typed, built without a dict in
between. ``REASONS`` is the core's list of reasons, in report order.
"""

from __future__ import annotations

from numasim._core import REASONS, MigrateReport, PairReport, Reasons

__all__ = ["REASONS", "MigrateReport", "PairReport", "Reasons"]
