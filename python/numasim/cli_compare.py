"""The ``numasim compare`` and ``numasim sweep`` commands (registered by numasim.cli).

``numasim compare`` runs one workload under each kernel generation and prints the side-by-side
table; ``numasim sweep GRID.toml`` runs a grid written as TOML::

    workload = "fork-cow"          # one of numasim.workloads.names()
    workers = 2                    # optional: processes of the local pool (default: one a core)

    [grid]                         # every combination of these values is run
    semantics = ["v5", "2.6.16", "modern"]
    size = ["16MiB", "64MiB"]
    shared = [0.0, 0.5, 1.0]       # a parameter of the workload
    nodes = 2                      # a single value is a list of one
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numasim
from numasim import workloads
from numasim.table import Table

#: The columns ``numasim compare`` prints (all of them go to --csv / --json).
SHOWN = (
    "semantics",
    "costs",
    "ret",
    "scanned",
    "moved",
    "swapped_out",
    "not_moved",
    "skipped",
    "time_ns",
    "refault_ns",
    "swapped_in",
    "pages_per_sim_s",
    "wall_s",
)


def _value(text: str) -> Any:
    """A --param value: an int, a float, or the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _param(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, _value(value)


def _split(table: Table, total: str, prefix: str) -> list[str]:
    """The ``<prefix><term>_ns`` columns not zero in every row."""
    return [
        c
        for c in table.columns
        if c.startswith(prefix)
        and c.endswith("_ns")
        and c != total
        and any(int(r[c] or 0) for r in table)
    ]


def _shown(table: Table, terms: bool = False) -> Table:
    """The printed view: the main columns, skipped pages summed over the reasons; with
    ``terms``, each simulated time followed by its cost terms that are not zero everywhere."""
    columns = list(SHOWN)
    if terms:
        for total, prefix in (("time_ns", "time_"), ("refault_ns", "refault_")):
            i = columns.index(total) + 1
            columns[i:i] = _split(table, total, prefix)
    rows = []
    for r in table:
        skipped = sum(
            int(v or 0)
            for k, v in r.items()
            if k.startswith("skipped_") and k != "skipped_non_migratable_vma"
        )
        rows.append({**{c: r[c] for c in columns if c in r}, "skipped": skipped})
    return Table(rows, [c for c in columns if c in rows[0]] if rows else columns)


def _write(table: Table, args: argparse.Namespace) -> None:
    if args.csv:
        table.to_csv(args.csv)
    if args.json:
        table.to_json(args.json)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from numasim import plot

        ax = plot.compare(table, x=getattr(args, "x", None))
        ax.figure.tight_layout()
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")


def cmd_compare(args: argparse.Namespace) -> int:
    """Run one workload under each generation and print the table."""
    params = dict(args.param or [])
    try:
        table = numasim.compare(
            args.workload,
            tuple(args.semantics or numasim.SEMANTICS),
            size=args.size,
            machine=args.machine,
            nodes=args.nodes,
            swap=args.swap,
            costs=args.costs,
            **params,
        )
    except (ValueError, TypeError) as e:
        print(f"numasim compare: {e}", file=sys.stderr)
        return 2
    first = table[0]
    print(
        f"{first['workload']} on {first['machine']}: {first['pages']} pages of "
        f"{first['page_size']} bytes"
    )
    print(_shown(table, terms=True).format())
    _write(table, args)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the grid of a TOML file and print the table."""
    try:
        with open(args.grid, "rb") as f:
            spec = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        print(f"numasim sweep: {args.grid}: {e}", file=sys.stderr)
        return 2
    unknown = set(spec) - {"workload", "grid", "workers"}
    if unknown or "workload" not in spec or not isinstance(spec.get("grid"), dict):
        print(
            f"numasim sweep: {args.grid}: expected a 'workload' name, a [grid] table and "
            f"optionally 'workers'" + (f"; unknown keys {sorted(unknown)}" if unknown else ""),
            file=sys.stderr,
        )
        return 2
    workers = args.workers or spec.get("workers")
    try:
        if workers:
            with ProcessPoolExecutor(int(workers)) as ex:
                table = numasim.sweep(spec["workload"], spec["grid"], ex)
        else:
            table = numasim.sweep(spec["workload"], spec["grid"])
    except (ValueError, TypeError) as e:
        print(f"numasim sweep: {e}", file=sys.stderr)
        return 2
    # The swept keys' columns first, then the main ones.
    named = {"size": "size_bytes"}
    cols = []
    for k, v in spec["grid"].items():
        if k != "semantics" and isinstance(v, list) and len(v) > 1:
            for c in (named.get(k, k), f"param_{k}", f"option_{k}"):
                if c in table.columns:
                    cols.append(c)
    rows = [{**s, **{c: r[c] for c in cols}} for r, s in zip(table, _shown(table), strict=True)]
    order = ["semantics", *cols, *(c for c in SHOWN if c not in ("semantics", *cols))]
    print(Table(rows, order).format(transpose=False))
    _write(table, args)
    return 0


def _outputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", metavar="FILE", help="write every column of the table as CSV")
    p.add_argument("--json", metavar="FILE", help="write the table as JSON")
    p.add_argument("--plot", metavar="FILE", help="draw it (PNG, SVG, PDF...; needs matplotlib)")


def add_commands(sub: Any) -> None:
    """Adds ``compare`` and ``sweep`` to the ``numasim`` command's subparsers."""
    c = sub.add_parser(
        "compare",
        help="run a workload under each kernel generation and print them side by side",
        description="Run a workload (numasim.workloads) under each kernel generation: "
        + "; ".join(workloads.names()),
    )
    c.add_argument("--workload", default="private-anon", choices=list(workloads.names()))
    c.add_argument("--size", default="64MiB", help="working set (default 64MiB)")
    c.add_argument("--machine", choices=list(numasim.PRESETS), help="a machine preset")
    c.add_argument("--nodes", type=int, help="node count (without --machine; default 4)")
    c.add_argument("--swap", help="swap size (default: the machine's)")
    c.add_argument(
        "--costs",
        choices=sorted(numasim.CostModel.profiles()),
        help="run every generation on this cost profile (default: each machine's own, "
        "see docs/costs.md)",
    )
    c.add_argument(
        "--semantics",
        action="append",
        choices=list(numasim.SEMANTICS),
        help="run only this generation (repeatable; default: all three)",
    )
    c.add_argument(
        "--param",
        action="append",
        type=_param,
        metavar="NAME=VALUE",
        help="a parameter of the workload, e.g. shared=0.25 (repeatable)",
    )
    _outputs(c)
    c.set_defaults(func=cmd_compare)
    s = sub.add_parser("sweep", help="run a grid of parameters from a TOML file")
    s.add_argument("grid", metavar="GRID.toml", help="the grid (see docs/comparisons.md)")
    s.add_argument("--workers", type=int, help="processes of the local pool")
    s.add_argument("--x", help="with --plot: the swept column to draw lines over")
    _outputs(s)
    s.set_defaults(func=cmd_sweep)
