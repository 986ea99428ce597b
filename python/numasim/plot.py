"""Pictures of placement (where a task's pages live, how full each node is) and of
comparisons (simulated time by kernel generation and cost term).

Needs the ``plot`` extra (matplotlib). Every function draws on an Axes (a new figure when none
is given) and returns it; the data comes from the numpy views (``Task.page_nodes``,
``Machine.node_usage``), so nothing here looks at pages one by one in Python.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numasim.machine import Machine, Task
    from numasim.table import Table


def _axes(ax: Any, figsize: tuple[float, float] = (8, 2.5)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def placement(task: Task, addr: int, length: int, ax: Any = None, width: int = 256) -> Any:
    """The node of each page of [addr, addr+length) as a raster, ``width`` pages a row: one
    colour per node, white for pages not present (-ENOENT), grey for unmapped ones (-EFAULT).

    >>> ax = placement(t, a, 1024 * 4096)          # doctest: +SKIP
    """
    from matplotlib.colors import ListedColormap

    nodes = task.page_nodes(addr, length)
    m = task.machine
    ids = m.nodes
    # Colour index: 0 unmapped, 1 not present, 2 + position of the node in the machine's list.
    lut = np.full(max(ids) + 1, 0, dtype=np.int32)
    lut[ids] = np.arange(2, 2 + len(ids))
    idx = np.where(nodes >= 0, lut[np.clip(nodes, 0, None)], np.where(nodes == -errno.EFAULT, 0, 1))
    rows = -(-len(idx) // width)
    grid = np.full(rows * width, -1, dtype=np.int32)
    grid[: len(idx)] = idx
    base = [(0.6, 0.6, 0.6), (1.0, 1.0, 1.0)]
    palette = [tuple(c) for c in _tab(len(ids))]
    # Cells past the last page (-1) are transparent.
    cmap = ListedColormap(base + palette).with_extremes(under=(1, 1, 1, 0))
    ax = _axes(ax)
    ax.imshow(
        grid.reshape(rows, width),
        cmap=cmap,
        vmin=0,
        vmax=len(ids) + 1,
        interpolation="nearest",
        aspect="auto",
    )
    ax.set_xlabel(f"page ({width} a row)")
    ax.set_ylabel("row")
    ax.set_title(f"pid {task.pid}: pages of {addr:#x} (+{length:#x}) by node")
    from matplotlib.patches import Patch

    handles = [Patch(color=palette[i], label=f"node {n}") for i, n in enumerate(ids)]
    handles += [Patch(color=base[1], label="not present"), Patch(color=base[0], label="unmapped")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def node_usage(machine: Machine, ax: Any = None) -> Any:
    """Used and free pages of every node, as stacked bars."""
    usage = machine.node_usage()
    ids = list(usage)
    used = np.array([usage[n].used for n in ids])
    free = np.array([usage[n].free for n in ids])
    ax = _axes(ax)
    x = np.arange(len(ids))
    ax.bar(x, used, label="used")
    ax.bar(x, free, bottom=used, label="free", color="lightgrey")
    ax.set_xticks(x, [str(n) for n in ids])
    ax.set_xlabel("node")
    ax.set_ylabel("pages")
    ax.set_title(f"{machine.arch.name}, {machine.semantics}: memory per node")
    ax.legend()
    return ax


def _tab(n: int) -> list[tuple[float, float, float, float]]:
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if n > 10 else "tab10"]
    return [cmap(i % cmap.N) for i in range(n)]


def _time_terms(table: Table) -> list[str]:
    """The table's cost-term columns (``time_<term>_ns``) that are not zero in every row, in
    column order."""
    return [
        c
        for c in table.columns
        if c.startswith("time_")
        and c.endswith("_ns")
        and c != "time_ns"
        and any(float(r[c] or 0) for r in table)
    ]


def _is_refault_term(column: str) -> bool:
    return column.startswith("refault_") and column.endswith("_ns") and column != "refault_ns"


def _refault_terms(table: Table) -> list[str]:
    """The refault cost-term columns (``refault_<term>_ns``) that are not zero in every row."""
    return [
        c for c in table.columns if _is_refault_term(c) and any(float(r[c] or 0) for r in table)
    ]


def compare(
    table: Table,
    x: str | None = None,
    ax: Any = None,
    refault: bool = True,
    title: str | None = None,
) -> Any:
    """A comparison table (``numasim.compare`` / ``numasim.sweep``) as a picture.

    Without ``x``: one bar per row (labelled by generation, and machine, size and cost profile
    when they vary), its simulated time stacked by cost term, plus, hatched on top, the
    refaults paid afterwards (V5's swap-ins: the FaultReport's terms, usually io and fault)
    when ``refault``. With ``x`` (a swept column, e.g. ``"size_bytes"`` or
    ``"param_shared"``): one line per generation (and per machine, cost profile and size when
    they vary within a generation) of the simulated time (plus refaults) over ``x``. Times are in
    milliseconds; each bar is labelled with its total, and terms that are zero in every row
    are left out of the legend.

    >>> ax = compare(numasim.compare("fork-cow", size="16MiB"))       # doctest: +SKIP
    >>> ax.figure.savefig("fork-cow.png")                               # doctest: +SKIP
    """
    rows = list(table)
    if not rows:
        raise ValueError("the table has no rows to plot")
    ax = _axes(ax, (9, 4))
    terms = _time_terms(table)
    if x is None:
        varying = [
            c
            for c in ("workload", "machine", "costs", "size_bytes")
            if c in table.columns and len({r[c] for r in rows}) > 1
        ]
        labels = [
            "\n".join([str(r["semantics"]), *(_label(c, r[c]) for c in varying)]) for r in rows
        ]
        pos = np.arange(len(rows))
        bottom = np.zeros(len(rows))
        segments = [(t, t[len("time_") : -len("_ns")], None) for t in terms]
        if refault:
            if any(_is_refault_term(c) for c in table.columns):
                segments += [
                    (c, f"{c[len('refault_') : -len('_ns')]} (refault, later)", "//")
                    for c in _refault_terms(table)
                ]
            elif any(float(r["refault_ns"] or 0) for r in rows):
                # A table without the split (written before it existed): one segment.
                segments.append(("refault_ns", "refault (later)", "//"))
        colours = _tab(len(segments))
        for (col, name, hatch), colour in zip(segments, colours, strict=True):
            v = np.array([float(r[col] or 0) for r in rows]) / 1e6
            ax.bar(pos, v, bottom=bottom, label=name, color=colour, hatch=hatch)
            bottom += v
        for x_, total in zip(pos, bottom, strict=True):
            ax.annotate(
                f"{total:.4g} ms",
                (x_, total),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="small",
            )
        ax.set_xticks(pos, labels)
        ax.set_ylabel("simulated time (ms)")
        ax.set_ylim(0, bottom.max() * 1.12 or 1)
        ax.legend(title="cost term", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        table.column(x)
        # A line per generation, and per machine, cost profile and size when they vary within
        # a generation (each generation's default profile is not a second key).
        by = ["semantics"] + [
            c
            for c in ("workload", "machine", "costs", "size_bytes")
            if c != x
            and c in table.columns
            and len({(r["semantics"], r[c]) for r in rows}) > len({r["semantics"] for r in rows})
        ]
        for key in dict.fromkeys(tuple(r[c] for c in by) for r in rows):
            pts = sorted(
                (float(r[x]), (float(r["time_ns"]) + (float(r["refault_ns"]) if refault else 0)))
                for r in rows
                if tuple(r[c] for c in by) == key and r[x] is not None
            )
            xs = [p[0] for p in pts]
            ys = [p[1] / 1e6 for p in pts]
            label = ", ".join(_label(c, v) for c, v in zip(by, key, strict=True))
            ax.plot(xs, ys, marker="o", label=label)
        ax.set_xlabel(x)
        ax.set_ylabel("simulated time (ms)" + (", refaults included" if refault else ""))
        ax.legend(title=", ".join(by))
    work = sorted({str(r["workload"]) for r in rows})
    ax.set_title(title or f"{', '.join(work)}: simulated time by kernel generation")
    return ax


def _label(col: str, v: Any) -> str:
    if col == "size_bytes":
        from numasim._units import format_size

        return format_size(int(v))
    return str(v)
