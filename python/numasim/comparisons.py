"""Side-by-side comparisons of the kernel generations, and sweeps over parameters.

:func:`compare` runs one workload (see :mod:`numasim.workloads`) under each generation and
returns a :class:`~numasim.table.Table` of one flat record per run; :func:`sweep` runs the
product of a grid of parameters on any ``concurrent.futures.Executor`` (a local process pool by
default, a Dask cluster through ``client.get_executor()``) and returns one table, identical
whatever the executor and the number of workers: the simulation is deterministic, and only the
host's wall-clock columns (:data:`~numasim.table.HOST_COLUMNS`) vary from run to run.

The columns of a record (see docs/comparisons.md):

- the run: ``workload``, ``semantics``, ``machine`` (preset name, or ``N nodes``),
  ``costs`` (the cost profile the machine's model is, or was made from: "zen3-2021", or
  "zen3-2021 (modified)" for a CostModel with changed terms), ``thp`` (the machine's
  transparent_hugepage/enabled: "never" on V5 and 2.6.16), ``nodes``, ``page_size``,
  ``size_bytes``, ``pages`` (of the working set), the workload's parameters
  (``param_<name>``) and the further machine options swept (``option_<name>``);
- the call: ``ret`` (what migrate_pages(2) returned), ``scanned``, ``selected``,
  ``isolated``, ``moved``, ``swapped_out``, ``not_moved``, ``put_back``, ``failed``,
  ``passes``, ``thp_moved`` and ``thp_split`` (transparent huge pages migrated whole, and
  split to migrate their base pages; ``moved`` counts base pages); ``skipped_<reason>`` and
  ``not_moved_<reason>`` for every reason of ``numasim.REASONS``;
- simulated time: ``time_ns`` (the call), ``time_<term>_ns`` split by cost term (syscall,
  drain, folio, rmap, copy, tlb, io, wait, fault; they add up to ``time_ns``);
  ``refault_ns``, ``refault_<term>_ns``, ``swapped_in`` and ``refault_major_faults``: what
  reading the whole working set again costs afterwards, from the cost model's FaultReport of
  those accesses (V5's swapped-out pages fault back in from swap: ``refault_io_ns`` and
  ``refault_fault_ns``; the other generations pay nothing there, their pages being present);
  ``pages_per_sim_s``: pages that left the source nodes (moved + swapped out) per simulated
  second of the call, and ``pages_per_sim_s_with_refault`` counting the refaults' time too;
- host: ``wall_s`` (the migration call) and ``setup_wall_s`` (building the workload).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, TextIO

import numasim
from numasim import workloads
from numasim.costs import CostModel
from numasim.machine import SEMANTICS, Semantics
from numasim.table import Table, Value

#: Grid keys that are arguments of the run itself; any other key is a workload parameter (if
#: the workload has it) or a further ``Machine`` keyword.
RUN_KEYS = ("semantics", "size", "machine", "nodes", "node_memory", "swap", "costs")


def _time_split(time: numasim.TimeReport) -> dict[str, int]:
    """Simulated time by cost term (ns): the cost model's split (syscall, drain, folio, rmap,
    copy, tlb, io, wait, fault; docs/costs.md), which adds up to the total."""
    return {term: int(ns) for term, ns in time.terms()}


def _costs_name(model: CostModel) -> str:
    """The ``costs`` column: the profile's name, marked when terms were changed from it."""
    if model == CostModel.profile(model.base):
        return model.base
    return f"{model.base} (modified)"


def _check_costs(costs: Any) -> None:
    """Refuses a bad ``costs`` before any run starts (and before it travels to a worker)."""
    if isinstance(costs, str):
        CostModel.profile(costs)
    elif costs is not None and not isinstance(costs, CostModel):
        raise TypeError(f"costs must be a numasim.CostModel, a profile name or None, not {costs!r}")


def _rate(pages: int, ns: int) -> float:
    return pages / (ns / 1e9) if ns > 0 else math.inf if pages else 0.0


def run_one(spec: Mapping[str, Any]) -> dict[str, Value]:
    """One run: builds the workload, migrates, reads the working set again; returns the
    record. ``spec`` holds plain values only (``workload``, ``semantics``, ``size``,
    ``machine``, ``nodes``, ``node_memory``, ``swap``, ``params``, ``options``), so that it
    travels to worker processes and cluster nodes as is."""
    t0 = time.perf_counter()
    p = workloads.build(
        spec["workload"],
        semantics=spec["semantics"],
        size=spec["size"],
        machine=spec.get("machine"),
        nodes=spec.get("nodes"),
        node_memory=spec.get("node_memory"),
        swap=spec.get("swap"),
        costs=spec.get("costs"),
        options=spec.get("options") or {},
        **(spec.get("params") or {}),
    )
    m = p.machine
    t1 = time.perf_counter()
    r = p.migrate()
    t2 = time.perf_counter()
    faults = p.retouch()

    machine = spec.get("machine") or f"{len(m.nodes)} nodes"
    row: dict[str, Value] = {
        "workload": p.workload,
        "semantics": r.semantics,
        "machine": machine,
        "costs": _costs_name(m.costs),
        "thp": m.thp,
        "nodes": len(m.nodes),
        "page_size": m.page_size,
        "size_bytes": p.pages * m.page_size,
        "pages": p.pages,
    }
    for k, v in sorted(p.params.items()):
        row[f"param_{k}"] = v
    for k, v in sorted((spec.get("options") or {}).items()):
        row[f"option_{k}"] = v
    d = r.as_dict()
    for k in ("ret", "scanned", "selected", "isolated", "moved", "swapped_out", "not_moved"):
        row[k] = int(d[k])
    for k in ("put_back", "failed", "passes", "thp_moved", "thp_split"):
        row[k] = int(d[k])
    for reason in numasim.REASONS:
        row[f"skipped_{reason}"] = int(r.skipped[reason])
    for reason in numasim.REASONS:
        row[f"not_moved_{reason}"] = int(r.not_moved_by[reason])
    row["time_ns"] = int(d["time_ns"])
    for term, ns in _time_split(r.time).items():
        row[f"time_{term}_ns"] = ns
    # What the accesses after the call cost: the sum of the FaultReports of the re-touch.
    refault_ns = sum(f.time_ns for f in faults)
    row["refault_ns"] = refault_ns
    split: dict[str, int] = {}
    for f in faults:
        for term, ns in _time_split(f.time).items():
            split[term] = split.get(term, 0) + ns
    for term, ns in split.items():
        row[f"refault_{term}_ns"] = ns
    row["swapped_in"] = sum(f.swapped_in for f in faults)
    row["refault_major_faults"] = sum(f.major for f in faults)
    left = int(d["moved"]) + int(d["swapped_out"])
    row["pages_per_sim_s"] = _rate(left, int(d["time_ns"]))
    row["pages_per_sim_s_with_refault"] = _rate(left, int(d["time_ns"]) + refault_ns)
    row["wall_s"] = t2 - t1
    row["setup_wall_s"] = t1 - t0
    return row


def _specs(workload: str, grid: Mapping[str, Any]) -> list[dict[str, Any]]:
    w = workloads.get(workload)
    own = set(w.params())
    keys = list(grid)
    values = []
    for k in keys:
        v = grid[k]
        if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
            v = [v]
        v = list(v)
        if not v:
            raise ValueError(f"grid key {k!r} has no values")
        values.append(v)
    out = []
    for combo in itertools.product(*values):
        spec: dict[str, Any] = {"workload": workload, "semantics": "v5", "size": "64MiB"}
        params: dict[str, Any] = {}
        options: dict[str, Any] = {}
        for k, v in zip(keys, combo, strict=True):
            if k in RUN_KEYS:
                spec[k] = v
            elif k in own:
                params[k] = v
            else:
                options[k] = v
        _check_costs(spec.get("costs"))
        if spec["semantics"] not in SEMANTICS:
            raise ValueError(
                f"unknown semantics {spec['semantics']!r}; expected one of {SEMANTICS}"
            )
        spec["params"] = params
        spec["options"] = options
        out.append(spec)
    return out


class _Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int, label: str, stream: TextIO | None, enabled: bool | None):
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.done = 0
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled and total > 0

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            width = 30
            fill = width * self.done // self.total
            self.stream.write(
                f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total}"
            )
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def _default_executor(n: int) -> Executor:
    # forkserver, as Python 3.14 defaults to on Linux: fork() from a process with threads (a
    # Machine's callers, pytest's timeout thread) may deadlock its child.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
    return ProcessPoolExecutor(max_workers=max(1, min(n, os.cpu_count() or 1)), mp_context=ctx)


def _run_all(
    specs: Sequence[Mapping[str, Any]],
    executor: Executor | None,
    progress: bool | None,
    label: str,
    serial: bool,
) -> Table:
    bar = _Progress(len(specs), label, None, progress)
    rows: list[dict[str, Value]] = []
    if serial:
        for s in specs:
            rows.append(run_one(s))
            bar.step()
        return Table(rows)
    own = executor is None
    ex = _default_executor(len(specs)) if executor is None else executor
    try:
        futures: list[Future[dict[str, Value]]] = [ex.submit(run_one, s) for s in specs]
        # Rows in the grid's order, whatever order the workers finish in.
        for f in futures:
            rows.append(f.result())
            bar.step()
    finally:
        if own:
            ex.shutdown()
    return Table(rows)


def compare(
    workload: str = "private-anon",
    semantics: Sequence[Semantics] = SEMANTICS,
    *,
    size: int | str = "64MiB",
    machine: str | None = None,
    nodes: int | None = None,
    node_memory: int | str | None = None,
    swap: int | str | None = None,
    costs: CostModel | str | None = None,
    options: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    **params: Any,
) -> Table:
    """Runs ``workload`` once per generation in ``semantics`` on the same machine and returns
    the table, one record per generation (columns: see the module docs).

    The runs happen in this process unless an ``executor`` is given. ``machine`` is a preset
    name (``Machine.presets()``), else ``nodes`` x ``node_memory``. ``costs`` is the cost
    model every generation runs on: a :class:`~numasim.CostModel`, a profile name
    (``CostModel.profiles()``), or None for each machine's own (a preset's era profile, else
    the default of the generation and arch: zen3-2021 for modern, opteron-2005 or altix-2005
    for v5 and 2.6.16). ``options`` are further ``Machine`` keywords; ``params`` the
    workload's own.

    >>> t = compare("private-anon", size="1MiB", nodes=2)
    >>> t.column("moved")
    [0, 256, 256]
    >>> t.column("swapped_out")
    [256, 0, 0]
    >>> t.column("costs")
    ['opteron-2005', 'opteron-2005', 'zen3-2021']
    >>> t = compare("private-anon", size="1MiB", nodes=2, costs="haswell-2015")
    >>> t.column("costs")
    ['haswell-2015', 'haswell-2015', 'haswell-2015']
    """
    workloads.get(workload)
    grid: dict[str, Any] = {"semantics": list(semantics), "size": [size]}
    for k, v in (("machine", machine), ("nodes", nodes), ("node_memory", node_memory)):
        if v is not None:
            grid[k] = [v]
    if swap is not None:
        grid["swap"] = [swap]
    if costs is not None:
        grid["costs"] = [costs]
    specs = _specs(workload, grid)
    for s in specs:
        s["params"] = dict(params)
        s["options"] = dict(options or {})
    return _run_all(specs, executor, progress, f"compare {workload}", serial=executor is None)


def sweep(
    workload: str,
    grid: Mapping[str, Any],
    executor: Executor | None = None,
    *,
    progress: bool | None = None,
) -> Table:
    """Runs ``workload`` for every combination of the ``grid``'s values and returns one table
    in the grid's order (the last key varies fastest).

    ``grid`` maps a key to a list of values (a single value is a list of one): ``semantics``,
    ``size``, ``machine`` (a preset), ``nodes``, ``node_memory``, ``swap``, ``costs`` (profile
    names or CostModels, see :func:`compare`), the workload's
    parameters (``shared``, ``procs``, ``threads``...) and any other ``Machine`` keyword
    (``page_cluster``, ``min_free_kbytes``, ``arch``...).

    ``executor`` is any ``concurrent.futures.Executor``: None for a local process pool with a
    worker per core; ``client.get_executor()`` of a ``dask.distributed.Client`` runs the runs
    on the cluster. A progress bar is drawn on stderr when it is a terminal (``progress``
    forces it on or off). In a script, call it under ``if __name__ == "__main__":`` as any
    process pool needs.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> t = sweep("fork-cow", {"semantics": ["2.6.16"], "shared": [0.0, 1.0], "size": "1MiB",
    ...                        "nodes": 2}, ThreadPoolExecutor(2))
    >>> t.column("skipped_shared")
    [0, 256]
    """
    specs = _specs(workload, grid)
    return _run_all(specs, executor, progress, f"sweep {workload}", serial=False)
