"""The ``numasim`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numasim
from numasim._units import format_size


def _cmd_arches(args: argparse.Namespace) -> int:
    """Print the architecture profile table."""
    cols = [
        ("arch", lambda a: a.name),
        ("BITS_PER_LONG", lambda a: str(a.bits_per_long)),
        ("PAGE_SIZE", lambda a: format_size(a.page_size)),
        ("MAX_NUMNODES", lambda a: str(a.max_numnodes)),
        ("TASK_SIZE", lambda a: f"{a.task_size:#x}"),
        ("levels", lambda a: str(a.pt_levels)),
        ("shifts", lambda a: "/".join(map(str, a.pt_level_shifts))),
        ("HPAGE", lambda a: format_size(a.huge_page_size)),
        ("migrate_pages", lambda a: str(a.syscalls["migrate_pages"])),
        ("move_pages", lambda a: str(a.syscalls["move_pages"])),
        ("mbind", lambda a: str(a.syscalls["mbind"])),
    ]
    rows = [[name for name, _ in cols]]
    rows += [[f(a) for _, f in cols] for a in numasim.ARCHES.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """migrate_pages on the default machine under each semantics."""
    from numasim import demo

    sems = args.semantics or list(numasim.SEMANTICS)
    demo.main(semantics=sems, arch=args.arch, pages=args.pages, costs=args.costs)
    return 0


def _positive(text: str) -> int:
    n = int(text)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="numasim",
        description="Simulate Linux NUMA memory and page migration.",
    )
    p.add_argument("--version", action="version", version=f"numasim {numasim.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    a = sub.add_parser("arches", help="print the architecture profiles")
    a.set_defaults(func=_cmd_arches)
    d = sub.add_parser(
        "demo",
        help="migrate a process from nodes 0-1 to 1-2 under each kernel generation",
    )
    d.add_argument(
        "--semantics",
        action="append",
        choices=list(numasim.SEMANTICS),
        help="run only this generation (repeatable; default: all three)",
    )
    d.add_argument("--arch", default="x86_64", choices=list(numasim.ARCHES))
    d.add_argument("--pages", type=_positive, default=4096, help="pages of the process")
    d.add_argument(
        "--costs",
        choices=list(numasim.CostModel.profiles()),
        help="the cost profile of every machine (default: each generation's era)",
    )
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``numasim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # `numasim demo | head`: the reader left; stop quietly, as Unix tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
