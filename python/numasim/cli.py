"""The ``numasim`` command line (also ``python -m numasim``); docs/cli.md is its reference.

- ``numasim migratepages [--machine SPEC] [--semantics S] [--proc DIR] PID FROM TO``:
  migratepages(8) on a simulated machine.
- ``numasim hardware [--machine SPEC]``: ``numactl --hardware``.
- ``numasim numastat [--machine SPEC] [-p PID] [-m] [-n] [-c] [-z] [-v]``: numastat(8).
- ``numasim run SCENARIO.toml [--json] [--semantics S|all]``: a scenario file.
- ``numasim demo [--machine SPEC] [--size SIZE] [--from NODES] [--to NODES] [--json]``.
- ``numasim arches``: the architecture profiles.

SPEC is a preset name, a scenario file (its machine, cpusets, tasks and mappings; its steps
are not run), a directory holding a copy of /sys/devices/system/node, or a file of
``numactl --hardware`` output. Without ``--machine``, the machine numasim runs on (its
/sys), and a PID that is not a simulated task is imported from /proc/PID.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

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
    from numasim._units import parse_size

    sems = args.semantics or list(numasim.SEMANTICS)
    pages = args.pages
    build = None
    if args.machine is not None:
        build = lambda sem: machine_from_spec(args.machine, sem)[0]  # noqa: E731
    if args.size is not None:
        try:
            size = parse_size(args.size, "--size")
        except (TypeError, ValueError) as e:
            _die(f"numasim demo: {e}", 2)
        ps = numasim.arch(args.arch).page_size
        if args.machine is not None:
            ps = build(sems[0]).page_size  # type: ignore[misc]
        pages = max(1, size // ps)
    results = demo.main(
        semantics=sems,
        arch=args.arch,
        pages=pages,
        old=args.from_nodes,
        new=args.to_nodes,
        machine=build,
        costs=args.costs,
        out=None if not args.json else _NullOut(),
    )
    if args.json:
        for r in results:
            print(json.dumps(r, sort_keys=True))
    return 0


class Progress:
    """A progress bar on stderr for long runs: drawn only on a terminal, and only once the
    run has taken more than ``delay`` seconds; nothing at all when stderr is piped."""

    def __init__(self, total: int, stream: Any = None, delay: float = 1.0) -> None:
        import time

        self.total = max(total, 1)
        self.stream = sys.stderr if stream is None else stream
        self.on = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.delay = delay
        self.drawn = False

    def update(self, done: int, label: str = "") -> None:
        import time

        if not self.on or time.monotonic() - self.start < self.delay:
            return
        width = 30
        fill = width * min(done, self.total) // self.total
        bar = "#" * fill + "-" * (width - fill)
        self.stream.write(f"\r[{bar}] {done}/{self.total} {label}"[:79].ljust(79))
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()


class _NullOut:
    def write(self, s: str) -> int:
        return len(s)


def _die(msg: str, code: int = 1) -> NoReturn:
    print(msg, file=sys.stderr)
    raise SystemExit(code)


def machine_from_spec(
    spec: str | None, semantics: str | None
) -> tuple[numasim.Machine, dict[str, numasim.Task]]:
    """The machine a --machine SPEC names (see the module documentation), with the tasks of
    a scenario file by name."""
    from numasim import scenario

    sem: Any = semantics or "modern"
    if spec is None:
        return numasim.Machine.from_sysfs("/", semantics=sem), {}
    if spec in numasim.PRESETS:
        return numasim.Machine.preset(spec, semantics=sem), {}
    path = Path(spec)
    if path.suffix == ".toml":
        sc = scenario.load(path)
        if semantics is None:
            sem = sc.semantics[-1]
        m, tasks, _ = sc.build(sem)
        return m, tasks
    if path.is_dir():
        return numasim.Machine.from_sysfs(path, semantics=sem), {}
    if path.is_file():
        return numasim.Machine.from_numactl_hardware(path.read_text(), semantics=sem), {}
    raise ValueError(
        f"--machine {spec!r}: not a preset ({', '.join(numasim.PRESETS)}), a scenario .toml, "
        f"a sysfs directory or a numactl --hardware file"
    )


def _target(m: numasim.Machine, pid: int, proc: str | None, spec: str | None) -> int:
    """The simulated pid for PID: the task itself, or the process imported from --proc (or,
    on the machine numasim runs on, from /proc/PID)."""
    if proc is None and spec is None and os.path.isdir(f"/proc/{pid}"):
        proc = f"/proc/{pid}"
    if proc is not None:
        return m.import_process(proc).pid
    return pid


def _strtoul(text: str) -> int | None:
    """migratepages' ``pid = strtoul(argv[0], &end, 0); if (*end || end == argv[0])``."""
    from numasim.nodestring import _strtoul as c_strtoul

    value, end = c_strtoul(text, 0, 64)
    if end == 0 or end != len(text):
        return None
    return value & 0xFFFFFFFF


_MIGRATEPAGES_USAGE = (
    "usage: migratepages pid from-nodes to-nodes\n"
    "\n"
    "nodes is a comma delimited list of node numbers or A-B ranges or all.\n"
)


def _cmd_migratepages(args: argparse.Namespace) -> int:
    """migratepages(8): exit 1 with its usage text, "<x> is invalid", or perror()."""
    pid = _strtoul(args.pid)
    if pid is None:
        sys.stderr.write(_MIGRATEPAGES_USAGE)
        return 1
    try:
        m, _ = machine_from_spec(args.machine, args.semantics)
        target = _target(m, pid, args.proc, args.machine)
    except (ValueError, OSError) as e:
        _die(f"numasim migratepages: {e}")
    root = m.spawn(uid=0, cpu=next(iter(m.cpuset_info("/").cpus)), name="migratepages")
    masks = []
    for text in (args.from_nodes, args.to_nodes):
        try:
            masks.append(numasim.parse_nodestring(text, root))
        except ValueError as e:
            # numa_warn() on stderr, then migratepages' own line on stdout.
            print(f"libnuma: Warning: {e}", file=sys.stderr)
            print(f"<{text}> is invalid")
            return 1
    try:
        rep = m.migratepages(target, masks[0], masks[1], caller=root)
    except OSError as e:
        print(f"migrate_pages: {os.strerror(e.errno or 0)}", file=sys.stderr)
        return 1
    if args.json:
        from numasim.scenario import _report

        print(json.dumps({"pid": pid, "report": _report(rep)}, sort_keys=True))
    else:
        sys.stdout.write(
            describe_report(
                rep, f"migratepages {args.pid} {args.from_nodes} {args.to_nodes} ({m.semantics})"
            )
        )
    return 0


def describe_report(rep: numasim.MigrateReport, title: str) -> str:
    """A migration report for people: the report's own summary (counts and simulated time),
    then each node pair, then why pages were skipped or not moved."""
    out = [f"{title}:\n", f"  {rep.summary()}\n"]
    for p in rep.pairs:
        dest = "swap" if p.dest is None else f"node {p.dest}"
        out.append(
            f"  node {p.source} -> {dest}: {p.moved} moved, {p.swapped_out} swapped out, "
            f"{p.not_moved} not moved\n"
        )
    for label, reasons in (("skipped", rep.skipped), ("not moved", rep.not_moved_by)):
        items = [(k, reasons[k]) for k in numasim.REASONS if reasons[k]]
        if items:
            out.append(f"  {label}: " + ", ".join(f"{v} {k}" for k, v in items) + "\n")
    return "".join(out)


def _cmd_hardware(args: argparse.Namespace) -> int:
    try:
        m, _ = machine_from_spec(args.machine, args.semantics)
    except (ValueError, OSError) as e:
        _die(f"numasim hardware: {e}")
    sys.stdout.write(m.hardware())
    return 0


def _cmd_numastat(args: argparse.Namespace) -> int:
    from numasim import _tools

    try:
        m, _ = machine_from_spec(args.machine, args.semantics)
        pids = [_target(m, p, None, args.machine) for p in args.pid]
        shown = {sim: real for sim, real in zip(pids, args.pid, strict=True)}
    except (ValueError, OSError) as e:
        _die(f"numasim numastat: {e}")
    # numastat's compatibility mode is a bare "numastat" (argc == 1): no option of its own.
    compat = not (
        args.pid or args.meminfo or args.numastat or args.compress or args.zero or args.verbose
    )
    if compat:
        sys.stdout.write(_tools.numastat(m, None))
        return 0
    opts = _tools.NumastatOptions(
        pids=pids,
        meminfo=args.meminfo,
        numastat=args.numastat,
        compress=args.compress,
        skip_zero=args.zero,
        verbose=args.verbose,
        shown_pids=shown,
    )
    sys.stdout.write(_tools.numastat(m, opts))
    return 0


def _tick(bar: Progress, base: int, label: str, done: int) -> None:
    bar.update(base + done, label)


def _cmd_run(args: argparse.Namespace) -> int:
    from numasim import scenario

    failed = False
    for path in args.scenario:
        try:
            sc = scenario.load(path)
            gens = sc.generations(args.semantics)
            bar = Progress(len(gens) * max(1, len(sc.doc.get("step", []))))
            for g, sem in enumerate(gens):
                n = max(1, len(sc.doc.get("step", [])))

                label = f"{path} ({sem})"
                run = sc.run(sem, progress=partial(_tick, bar, g * n, label))
                bar.close()
                lines = scenario.json_lines(path, run) if args.json else scenario.report_lines(run)
                if not args.json and sem == sc.generations(args.semantics)[0]:
                    print(f"# {sc.title} ({path})")
                for line in lines:
                    print(line)
                failed |= not run.ok
        except scenario.ScenarioError as e:
            print(f"numasim run: {e}", file=sys.stderr)
            return 2
    return 1 if failed else 0


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
    d.add_argument("--machine", help="the machine (see `numasim --help`): preset, file, dir")
    d.add_argument("--size", help="the process's memory, e.g. 64MiB (instead of --pages)")
    d.add_argument("--from", dest="from_nodes", default="0-1", help="node string (0-1)")
    d.add_argument("--to", dest="to_nodes", default="1-2", help="node string (1-2)")
    d.add_argument("--json", action="store_true", help="one JSON object per generation")
    d.add_argument(
        "--costs",
        choices=list(numasim.CostModel.profiles()),
        help="the cost profile of every machine (default: each generation's era)",
    )
    d.set_defaults(func=_cmd_demo)

    sems = [*numasim.SEMANTICS]
    mp = sub.add_parser(
        "migratepages",
        help="migratepages(8): move a process's pages from some nodes to others",
        description="migratepages PID FROM TO on a simulated machine: exit status 0 when the "
        "call succeeded, 1 for bad arguments or a failed migrate_pages(2).",
    )
    mp.add_argument("--machine", help="preset, scenario .toml, sysfs copy or numactl file")
    mp.add_argument("--semantics", choices=sems, help="kernel generation (default modern)")
    mp.add_argument("--proc", help="import the process from this /proc/PID directory")
    mp.add_argument("--json", action="store_true", help="print the report as JSON")
    mp.add_argument("pid")
    mp.add_argument("from_nodes", metavar="from-nodes")
    mp.add_argument("to_nodes", metavar="to-nodes")
    mp.set_defaults(func=_cmd_migratepages)

    def _usage_exit_one(message: str) -> NoReturn:
        sys.stderr.write(_MIGRATEPAGES_USAGE)
        raise SystemExit(1)

    mp.error = _usage_exit_one  # type: ignore[method-assign]

    hw = sub.add_parser("hardware", help="numactl --hardware for the machine")
    hw.add_argument("--machine", help="preset, scenario .toml, sysfs copy or numactl file")
    hw.add_argument("--semantics", choices=sems)
    hw.set_defaults(func=_cmd_hardware)

    ns = sub.add_parser("numastat", help="numastat(8): per-node memory statistics")
    ns.add_argument("--machine", help="preset, scenario .toml, sysfs copy or numactl file")
    ns.add_argument("--semantics", choices=sems)
    ns.add_argument("-p", dest="pid", action="append", type=int, default=[], help="PID")
    ns.add_argument("-m", dest="meminfo", action="store_true", help="meminfo-like usage")
    ns.add_argument("-n", dest="numastat", action="store_true", help="numastat info in MB")
    ns.add_argument("-c", dest="compress", action="store_true", help="minimise widths")
    ns.add_argument("-z", dest="zero", action="store_true", help="skip zero rows/columns")
    ns.add_argument("-v", dest="verbose", action="store_true", help="more verbose")
    ns.set_defaults(func=_cmd_numastat)

    r = sub.add_parser("run", help="run scenario files")
    r.add_argument("scenario", nargs="+", help="SCENARIO.toml")
    r.add_argument("--json", action="store_true", help="JSON lines instead of a report")
    r.add_argument("--semantics", choices=[*sems, "all"], help="override the file's")
    r.set_defaults(func=_cmd_run)
    # compare and sweep live in their own module (cli_compare.py).
    from numasim import cli_compare

    cli_compare.add_commands(sub)
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
