"""Plain tables of flat records: what :func:`numasim.compare` and :func:`numasim.sweep` return.

A :class:`Table` is a list of rows (dicts with the same keys, each value an int, float, str,
bool or None) and the column order. It exports to CSV and JSON without any dependency, and to
pandas or polars when they are installed. Two tables are equal when their columns and rows are.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

Value = int | float | str | bool | None

#: Columns measured on the host (wall-clock time), the only ones that differ between two
#: runs of the same simulation: :meth:`Table.simulated` drops them.
HOST_COLUMNS = ("wall_s", "setup_wall_s")


class Table:
    """Rows of flat records, columns in a fixed order.

    >>> t = Table([{"semantics": "v5", "moved": 0}, {"semantics": "modern", "moved": 8}])
    >>> t.column("moved")
    [0, 8]
    >>> print(t.to_csv(), end="")
    semantics,moved
    v5,0
    modern,8
    """

    def __init__(self, rows: Iterable[dict[str, Value]], columns: Sequence[str] | None = None):
        self.rows: list[dict[str, Value]] = [dict(r) for r in rows]
        if columns is None:
            cols: dict[str, None] = {}
            for r in self.rows:
                cols.update(dict.fromkeys(r))
            columns = list(cols)
        self.columns: tuple[str, ...] = tuple(columns)
        for i, r in enumerate(self.rows):
            extra = set(r) - set(self.columns)
            if extra:
                raise ValueError(f"row {i} has columns {sorted(extra)} the table does not list")
            for c in self.columns:
                v = r.setdefault(c, None)
                if not isinstance(v, (int, float, str, bool, type(None))):
                    raise TypeError(
                        f"row {i}, column {c!r}: {type(v).__name__} is not a flat value "
                        "(int, float, str, bool or None)"
                    )

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Value]]:
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, Value]:
        return self.rows[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return self.columns == other.columns and self.rows == other.rows

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Table({len(self.rows)} rows x {len(self.columns)} columns)"

    def column(self, name: str) -> list[Value]:
        """The values of one column, in row order."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; the columns are {', '.join(self.columns)}")
        return [r[name] for r in self.rows]

    def select(self, columns: Sequence[str]) -> Table:
        """A table of these columns only."""
        for c in columns:
            self.column(c)
        return Table(({c: r[c] for c in columns} for r in self.rows), columns)

    def drop(self, columns: Sequence[str]) -> Table:
        """A table without these columns (those it does not have are ignored)."""
        return self.select([c for c in self.columns if c not in columns])

    def simulated(self) -> Table:
        """The table without the host's wall-clock columns: what a deterministic simulation
        gives identically on every run, executor and worker count."""
        return self.drop(HOST_COLUMNS)

    def __add__(self, other: Table) -> Table:
        cols = list(self.columns) + [c for c in other.columns if c not in self.columns]
        return Table(self.rows + other.rows, cols)

    # ----- export -----

    def to_csv(self, path: str | None = None) -> str:
        """CSV with a header row (None is an empty field); written to ``path`` when given.
        Returns the text."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in self.rows:
            w.writerow(["" if r[c] is None else r[c] for c in self.columns])
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        return text

    def to_json(self, path: str | None = None) -> str:
        """JSON: ``{"columns": [...], "rows": [{...}, ...]}`` (non-finite floats as null);
        written to ``path`` when given. Returns the text. :meth:`from_json` reads it back."""

        def finite(v: Value) -> Value:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        rows = [{c: finite(v) for c, v in r.items()} for r in self.rows]
        text = json.dumps({"columns": list(self.columns), "rows": rows}, indent=1)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, text: str) -> Table:
        """The table :meth:`to_json` wrote (the text, not a path)."""
        d = json.loads(text)
        return cls(d["rows"], d["columns"])

    def to_pandas(self) -> Any:
        """A pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("Table.to_pandas() needs pandas: pip install pandas") from e
        return pd.DataFrame.from_records(self.rows, columns=list(self.columns))

    def to_polars(self) -> Any:
        """A polars DataFrame (needs polars)."""
        try:
            import polars as pl
        except ImportError as e:
            raise ImportError("Table.to_polars() needs polars: pip install polars") from e
        return pl.DataFrame(self.rows, schema=list(self.columns), orient="row")

    def format(self, columns: Sequence[str] | None = None, transpose: bool | None = None) -> str:
        """The table as aligned text. With few rows (``transpose`` None and at most 6 rows)
        each row becomes a column: the side-by-side view of a comparison."""
        cols = list(columns or self.columns)
        cells = [[_cell(r[c]) for c in cols] for r in self.rows]
        if transpose is None:
            transpose = 0 < len(self.rows) <= 6
        grid = (
            [[c, *(row[i] for row in cells)] for i, c in enumerate(cols)]
            if transpose
            else [
                cols,
                *cells,
            ]
        )
        widths = [max(len(r[i]) for r in grid) for i in range(len(grid[0]))]
        lines = []
        for r in grid:
            lines.append(
                "  ".join(
                    v.ljust(w) if j == 0 or not _numeric(v) else v.rjust(w)
                    for j, (v, w) in enumerate(zip(r, widths, strict=True))
                ).rstrip()
            )
        return "\n".join(lines)


def _cell(v: Value) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True
