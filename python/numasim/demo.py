"""``numasim demo``: migrate_pages on the default machine under each kernel generation.

A process with memory interleaved over nodes 0-1 is migrated to nodes 1-2 by a root caller.
For each semantics the demo prints the call and its result, where the process's pages are
before, right after, and after the process touches its memory again (V5 swaps pages out; they
come back wherever the policy and the CPU put them), the report's counts by reason, and the
simulated time of the call and of the re-touch, by term (the machine's cost model: see
docs/costs.md). With ``costs``, every generation runs on the same hardware profile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

from numasim import syscalls
from numasim.constants import MPOL_DEFAULT, MPOL_INTERLEAVE
from numasim.machine import SEMANTICS, Machine
from numasim.nodestring import parse_nodestring

_TITLES = {
    "v5": "Swap Migration V5 (2.6.14-rc5-mm1): pages on old \\ new are swapped out",
    "2.6.16": "Linux 2.6.16: direct migration, node_remap pairs",
    "modern": "Linux 6.x: migration entries, Woodman's pair rule",
}


def _placement(nodes: np.ndarray, node_ids: Sequence[int]) -> list[int]:
    return [int((nodes == n).sum()) for n in node_ids]


def run_one(
    semantics: str,
    arch: str,
    pages: int,
    out: TextIO,
    old: Sequence[int] | str,
    new: Sequence[int] | str,
    costs: str | None = None,
    machine: Callable[[str], Machine] | None = None,
) -> dict[str, Any]:
    """Runs the scenario on one machine; returns the figures it printed. ``machine`` builds
    the machine for a generation (default: the arch's default machine, with ``costs``);
    ``old``/``new`` are node ids or libnuma node strings."""
    if machine is None:
        m = Machine(arch=arch, semantics=semantics, costs=costs)  # type: ignore[arg-type]
    else:
        m = machine(semantics)
    ps = m.page_size
    cpu0 = next(iter(m.cpuset_info("/").cpus))
    root = m.spawn(uid=0, cpu=cpu0, name="numactl")
    app = m.spawn(uid=1000, cpu=cpu0, name="app")
    old = list(parse_nodestring(old, root)) if isinstance(old, str) else list(old)
    new = list(parse_nodestring(new, root)) if isinstance(new, str) else list(new)
    length = pages * ps
    addr = app.mmap(length)
    app.set_mempolicy(MPOL_INTERLEAVE, old)
    app.touch(addr, length, write=True)
    app.set_mempolicy(MPOL_DEFAULT)
    content = app.read(addr, length)
    ids = m.nodes
    before = _placement(app.page_nodes(addr, length), ids)
    maxnode = m.arch.max_numnodes + 1
    rc = syscalls.migrate_pages(root, app.pid, maxnode, old, new)
    after = _placement(app.page_nodes(addr, length), ids)
    not_present = pages - sum(after)
    m.check()
    retouch = app.touch(addr, length, write=False)
    again = _placement(app.page_nodes(addr, length), ids)
    m.check()
    intact = bool((app.read(addr, length) == content).all())
    rep = m.last_report
    assert rep is not None

    fmt = lambda xs: "".join(f"{x:>8}" for x in xs)  # noqa: E731
    out.write(f"\n== {semantics}: {_TITLES[semantics]} ==\n")
    out.write(f"machine: {m!r}\n")
    out.write(
        f"migrate_pages(pid={app.pid}, maxnode={maxnode}, old_nodes={{{_lst(old)}}}, "
        f"new_nodes={{{_lst(new)}}}) = {rc}\n"
    )
    out.write(f"{'node':<10}{fmt(ids)}\n")
    out.write(f"{'before':<10}{fmt(before)}\n")
    extra = f"   ({not_present} not present: swapped out)" if not_present else ""
    out.write(f"{'after':<10}{fmt(after)}{extra}\n")
    out.write(f"{'re-touch':<10}{fmt(again)}   (the task runs on cpu {cpu0}, node {app.node})\n")
    out.write(f"report: {rep.summary()}\n")
    out.write(f"re-touch: {retouch.summary()}\n")
    total = rep.time_ns + retouch.time_ns
    out.write(
        f"cost ({m.costs.base}): migrate_pages {rep.time.summary()}; re-touch "
        f"{retouch.time.summary()}; together {total / 1e6:.3f} ms simulated\n"
    )
    out.write(
        f"content of every page intact: {'yes' if intact else 'NO'}; Machine.check() passed\n"
    )
    return {
        "semantics": semantics,
        "rc": rc,
        "nodes": ids,
        "before": before,
        "after": after,
        "again": again,
        "intact": intact,
        "moved": rep.moved,
        "swapped_out": rep.swapped_out,
        "time_ns": rep.time_ns,
        "retouch_ns": retouch.time_ns,
    }


def _lst(nodes: Sequence[int]) -> str:
    return ",".join(str(n) for n in nodes)


def main(
    semantics: Sequence[str] = SEMANTICS,
    arch: str = "x86_64",
    pages: int = 4096,
    out: TextIO | None = None,
    old: Sequence[int] | str = (0, 1),
    new: Sequence[int] | str = (1, 2),
    machine: Callable[[str], Machine] | None = None,
    costs: str | None = None,
) -> list[dict[str, Any]]:
    import sys

    stream = out or sys.stdout
    o = old if isinstance(old, str) else _lst(old)
    n = new if isinstance(new, str) else _lst(new)
    stream.write(
        f"numasim demo: a process with memory on nodes {o} is migrated to nodes {n} with "
        "migrate_pages(2)\n"
    )
    return [run_one(s, arch, pages, stream, old, new, costs, machine) for s in semantics]
