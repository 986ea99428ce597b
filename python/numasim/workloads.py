"""Named, parameterised workloads for benchmark comparisons.

A workload sets up a machine and its processes reproducibly (same parameters, same machine,
page for page) and names the migration to measure: which task calls migrate_pages(2) on which
process, from which nodes to which. :func:`numasim.compare` and :func:`numasim.sweep` run it
under each kernel generation.

>>> from numasim import workloads
>>> workloads.names()[:3]
('private-anon', 'fork-cow', 'shared-file')
>>> w = workloads.build("private-anon", semantics="modern", size="1MiB", nodes=2)
>>> w.migrate().moved
256

Every workload takes the common parameters of :func:`build` and its own (listed by
:func:`describe`). ``thp-anon`` is the THP-backed one: its modern machine runs with
``thp="always"`` (docs/hugepages.md); V5 and 2.6.16 predate transparent huge pages, so the same
program gets base pages there, and the ``thp`` and ``thp_moved`` columns of a comparison say
which it got.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numasim
from numasim._units import parse_size
from numasim.constants import MPOL_INTERLEAVE
from numasim.costs import CostModel
from numasim.machine import Machine, Semantics, Task


@dataclass
class Prepared:
    """A machine set up by a workload, and the migration to measure on it."""

    #: The workload's name and the parameters it was built with (defaults filled in).
    workload: str
    params: dict[str, Any]
    machine: Machine
    #: The task whose pages move, and the task that calls migrate_pages(2).
    target: Task
    caller: Task
    from_nodes: list[int]
    to_nodes: list[int]
    #: The target's working set: (address, length) of each region it uses, touched again
    #: after the migration to measure what the next accesses cost (V5's refaults).
    regions: list[tuple[int, int]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """Pages of the working set."""
        return sum(length for _, length in self.regions) // self.machine.page_size

    def migrate(self) -> numasim.MigrateReport:
        """migrate_pages(caller, target, from_nodes, to_nodes); returns the machine's report."""
        m = self.machine
        maxnode = max(m.nodes) + 2
        numasim.migrate_pages(self.caller, self.target.pid, maxnode, self.from_nodes, self.to_nodes)
        assert m.last_report is not None
        return m.last_report

    def retouch(self) -> list[numasim.FaultReport]:
        """The target reads its whole working set again (the accesses after the migration):
        pages V5 swapped out fault back in from swap. Returns the cost model's FaultReport
        of each region (faults, swap-ins, simulated time by term)."""
        return [self.target.touch(addr, length, write=False) for addr, length in self.regions]


@dataclass(frozen=True)
class Workload:
    """A named workload: ``setup(machine, size, **params)`` returns a :class:`Prepared`."""

    name: str
    doc: str
    setup: Callable[..., Prepared] = field(repr=False)
    #: What the machine needs beyond the common parameters (e.g. a swap size).
    min_nodes: int = 2
    #: ``Machine`` keywords the workload sets on a modern machine (a keyword given in
    #: ``options`` wins).
    modern_options: Mapping[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """The workload's own parameters and their defaults."""
        sig = inspect.signature(self.setup)
        return {
            n: p.default
            for n, p in sig.parameters.items()
            if n not in ("m", "size") and p.default is not inspect.Parameter.empty
        }


_WORKLOADS: dict[str, Workload] = {}


def _workload(
    name: str, min_nodes: int = 2, modern_options: Mapping[str, Any] | None = None
) -> Callable[[Callable[..., Prepared]], Any]:
    def deco(fn: Callable[..., Prepared]) -> Callable[..., Prepared]:
        doc = inspect.getdoc(fn) or ""
        _WORKLOADS[name] = Workload(name, doc, fn, min_nodes, dict(modern_options or {}))
        return fn

    return deco


def _cpu_of(m: Machine, nid: int) -> int:
    return m.node_cpus(nid)[0]


def _anon(t: Task, size: int, write: bool = True) -> int:
    a = t.mmap(size)
    t.touch(a, size, write=write)
    return a


@_workload("private-anon")
def _private_anon(m: Machine, size: int) -> Prepared:
    """One process on node 0 writes ``size`` of private anonymous memory (its pages all on
    node 0), then migrates itself to node 1: the common case, every page exclusive, anonymous
    and on the LRU."""
    t = m.spawn(uid=1000, cpu=_cpu_of(m, 0), name="anon")
    a = _anon(t, size)
    return Prepared("private-anon", {}, m, t, t, [0], [1], [(a, size)])


@_workload("fork-cow")
def _fork_cow(m: Machine, size: int, shared: float = 0.5) -> Prepared:
    """A parent writes ``size`` of anonymous memory and forks; the child writes the last
    ``1 - shared`` of it (copy-on-write gives it its own pages), so a fraction ``shared`` of
    the parent's pages stays mapped by both. The parent migrates itself from node 0 to 1:
    shared pages need MPOL_MF_MOVE_ALL (a capable caller) in every generation, so without it
    they are skipped (reason ``shared``)."""
    if not 0.0 <= shared <= 1.0:
        raise ValueError(f"shared must be a fraction in [0, 1], not {shared!r}")
    t = m.spawn(uid=1000, cpu=_cpu_of(m, 0), name="parent")
    a = _anon(t, size)
    c = t.fork()
    ps = m.page_size
    keep = round(size // ps * shared) * ps
    if size - keep:
        c.touch(a + keep, size - keep, write=True)
    return Prepared("fork-cow", {"shared": shared}, m, t, t, [0], [1], [(a, size)])


@_workload("shared-file")
def _shared_file(m: Machine, size: int, procs: int = 3) -> Prepared:
    """A file of ``size`` mapped MAP_SHARED by ``procs`` processes on node 0, each reading it
    whole (page cache on node 0, every page mapped ``procs`` times); the first process
    migrates itself to node 1. File pages mapped by others are shared: moved only with
    MPOL_MF_MOVE_ALL."""
    if procs < 1:
        raise ValueError(f"procs must be at least 1, not {procs!r}")
    f = m.create_file("/data/shared", size)
    tasks = [m.spawn(uid=1000, cpu=_cpu_of(m, 0), name=f"reader{i}") for i in range(procs)]
    addr = 0
    for i, t in enumerate(tasks):
        a = t.mmap(size, flags="shared", file=f)
        t.touch(a, size, write=False)
        if i == 0:
            addr = a
    t = tasks[0]
    return Prepared("shared-file", {"procs": procs}, m, t, t, [0], [1], [(addr, size)])


@_workload("mlocked")
def _mlocked(m: Machine, size: int) -> Prepared:
    """A process writes ``size`` of anonymous memory and mlock()s it, then migrates to node 1.
    VM_LOCKED VMAs are not migratable in V5 and 2.6.16 (vma_migratable(); counted as a
    ``non_migratable_vma``), and are since 2.6.21."""
    t = m.spawn(uid=1000, cpu=_cpu_of(m, 0), name="locked")
    a = _anon(t, size)
    t.mlock(a, size)
    return Prepared("mlocked", {}, m, t, t, [0], [1], [(a, size)])


@_workload("multithreaded")
def _multithreaded(m: Machine, size: int, threads: int = 4) -> Prepared:
    """A process of ``threads`` threads, spread round-robin over the CPUs of every node, writes
    ``size`` of anonymous memory from its first thread (on node 0), then migrates it to node
    1. Every CPU the mm ran on must be sent a TLB shootdown for each unmapped page, so the
    TLB term grows with the thread count."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads!r}")
    cpus = [c for nid in m.nodes for c in m.node_cpus(nid)]
    t = m.spawn(uid=1000, cpu=cpus[0], name="threads")
    a = _anon(t, size)
    for i in range(1, threads):
        th = t.clone_thread()
        th.migrate_to_cpu(cpus[i % len(cpus)])
        th.touch(a, m.page_size, write=False)
    return Prepared("multithreaded", {"threads": threads}, m, t, t, [0], [1], [(a, size)])


@_workload("full-swap")
def _full_swap(m: Machine, size: int) -> Prepared:
    """A process writes ``size`` on node 0 while another one has filled the whole swap device
    (its pages swapped out), then the first migrates itself to node 1. V5, which migrates by
    swapping out, finds no swap slot (reason ``no_swap``); 2.6.16 needs a free slot only for
    its swap-cache step; modern needs none. Build the machine with a swap device (``swap``)
    no larger than the node memory."""
    ps = m.page_size
    swap_pages = sum(d.pages for d in m.swap_info())
    if swap_pages == 0:
        raise ValueError("full-swap needs a machine with a swap device (swap=...)")
    hog = m.spawn(uid=1001, cpu=_cpu_of(m, m.nodes[-1]), name="hog")
    h = _anon(hog, swap_pages * ps)
    m.swap_out(hog, h, swap_pages * ps)
    t = m.spawn(uid=1000, cpu=_cpu_of(m, 0), name="victim")
    a = _anon(t, size)
    return Prepared("full-swap", {}, m, t, t, [0], [1], [(a, size)])


@_workload("interleaved", min_nodes=4)
def _interleaved(m: Machine, size: int) -> Prepared:
    """A process with MPOL_INTERLEAVE over every node writes ``size`` (pages round-robin over
    the nodes), then moves the pages of the first half of the nodes to the second half
    (migrate_pages with old = the first half, new = the second; 2.6.16 and modern pair them
    node by node, V5 swaps them out)."""
    nodes = list(m.nodes)
    half = len(nodes) // 2
    t = m.spawn(uid=1000, cpu=_cpu_of(m, nodes[0]), name="interleave")
    t.set_mempolicy(MPOL_INTERLEAVE, nodes)
    a = _anon(t, size)
    return Prepared("interleaved", {}, m, t, t, nodes[:half], nodes[half : 2 * half], [(a, size)])


@_workload("thp-anon", modern_options={"thp": "always"})
def _thp_anon(m: Machine, size: int) -> Prepared:
    """One process on node 0 writes ``size`` of private anonymous memory aligned to the huge
    page size, then migrates itself to node 1. On a modern machine (``thp="always"``) every
    whole huge page of it is a transparent huge page, faulted in and migrated whole (one
    folio, one PMD, one TLB flush per mapping; docs/hugepages.md). V5 and 2.6.16 had no THP
    (it came with 2.6.38, its migration with 4.14): there the same program gets base pages,
    as those kernels gave it (the ``thp`` and ``thp_moved`` columns say so). ia64 has no THP:
    a modern ia64 machine refuses the workload."""
    t = m.spawn(uid=1000, cpu=_cpu_of(m, 0), name="thp")
    huge = m.arch.huge_page_size
    # mmap() does not align an anonymous mapping to the huge page size: map one huge page
    # more and use its first aligned ``size`` bytes (the rest is never touched).
    span = t.mmap(size + huge)
    a = -(-span // huge) * huge
    t.touch(a, size, write=True)
    return Prepared("thp-anon", {}, m, t, t, [0], [1], [(a, size)])


def names() -> tuple[str, ...]:
    """The names of the workloads, in the order of the module's documentation."""
    return tuple(_WORKLOADS)


def get(name: str) -> Workload:
    """The workload called ``name``; ValueError listing the names for another."""
    try:
        return _WORKLOADS[name]
    except KeyError:
        raise ValueError(
            f"unknown workload {name!r}; expected one of {', '.join(names())}"
        ) from None


def describe(name: str) -> str:
    """What the workload models, and its parameters with their defaults."""
    w = get(name)
    params = ", ".join(f"{k}={v!r}" for k, v in w.params().items()) or "none of its own"
    return f"{w.name}: {w.doc}\n  parameters: {params}"


def make_machine(
    machine: str | None = None,
    semantics: Semantics = "v5",
    nodes: int | None = None,
    node_memory: int | str | None = None,
    swap: int | str | None = None,
    costs: CostModel | str | None = None,
    **kwargs: Any,
) -> Machine:
    """The machine of a run: a preset (``Machine.presets()``) or, without one, ``nodes`` nodes
    of ``node_memory`` each (4 of 1 GiB by default). ``costs`` is a CostModel or a profile
    name (``CostModel.profiles()``); None keeps the machine's own (a preset's era profile, else
    the default of its semantics and arch). Other keywords go to ``Machine``."""
    over: dict[str, Any] = dict(kwargs, semantics=semantics)
    if costs is not None:
        over["costs"] = costs
    if nodes is not None:
        over["nodes"] = nodes
    if node_memory is not None:
        over["node_memory"] = node_memory
    if swap is not None:
        over["swap"] = swap
    if machine is not None:
        return Machine.preset(machine, **over)
    over.setdefault("nodes", 4)
    return Machine(**over)


def build(
    name: str,
    semantics: Semantics = "v5",
    size: int | str = "64MiB",
    machine: str | None = None,
    nodes: int | None = None,
    node_memory: int | str | None = None,
    swap: int | str | None = None,
    options: Mapping[str, Any] | None = None,
    costs: CostModel | str | None = None,
    **params: Any,
) -> Prepared:
    """Sets up workload ``name`` on a new machine (see :func:`make_machine`) with a working set
    of ``size`` bytes (rounded down to whole pages, at least one). ``params`` are the
    workload's own (see :func:`describe`); an unknown one is a TypeError naming it.
    ``options`` are further ``Machine`` keywords (``page_cluster``, ``min_free_kbytes``...);
    ``costs`` the cost model (see :func:`make_machine`)."""
    w = get(name)
    unknown = set(params) - set(w.params())
    if unknown:
        raise TypeError(
            f"workload {name!r} has no parameter {sorted(unknown)[0]!r}; "
            f"its parameters: {', '.join(w.params()) or 'none'}"
        )
    opts = dict(w.modern_options if semantics == "modern" else {}, **(options or {}))
    m = make_machine(machine, semantics, nodes, node_memory, swap, costs, **opts)
    if len(m.nodes) < w.min_nodes:
        raise ValueError(
            f"workload {name!r} needs at least {w.min_nodes} nodes, not {len(m.nodes)}"
        )
    nbytes = parse_size(size, "size")
    nbytes = max(nbytes // m.page_size, 1) * m.page_size
    p = w.setup(m, nbytes, **params)
    p.params = {**w.params(), **params}
    return p
