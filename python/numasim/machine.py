"""The simulated machine and its tasks: the user-facing side of ``numasim._core.MachineCore``."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from numasim import _args, _reports
from numasim._arch import DEFAULT_ARCH
from numasim._arch import arch as _arch
from numasim._core import (
    ArchProfile,
    CpusetInfo,
    FileInfo,
    MachineCore,
    MmCounters,
    MmLayout,
    NodeMask,
    NodeNumaStat,
    NodeStates,
    NodeUsage,
    SwapDevice,
    TaskInfo,
    Vma,
    ZoneInfo,
)
from numasim._units import parse_size
from numasim.costs import CostModel
from numasim.nodestring import node_set, parse_cpustring

if TYPE_CHECKING:
    from numasim._core import FaultReport, MigrateReport

Semantics = Literal["v5", "2.6.16", "modern"]
SEMANTICS: tuple[Semantics, ...] = ("v5", "2.6.16", "modern")
#: A transient page state for ``Machine.set_page_state``.
PageState = Literal["locked", "writeback", "pinned", "pagevec", "young", "dirty"]
#: A task's ABI: native, or a 32-bit (i386) program on an x86_64 kernel.
Abi = Literal["native", "i386"]
#: The 2.6.16 capability model (see ``Machine``).
MigrateCap = Literal["CAP_SYS_NICE", "CAP_SYS_ADMIN"]
#: security_task_movememory(caller, target): 0 to allow, or -errno to refuse.
MoveMemoryHook = Callable[["Task", "Task"], int]


@dataclass(frozen=True)
class NodeSpec:
    """One node of a machine: its id, memory and CPUs (global CPU numbers).

    ``memory=0`` makes a memoryless node (CPUs only); ``cpus=()`` a CPU-less memory node.
    """

    nid: int
    memory: int | str = "1GiB"
    cpus: Sequence[int] | int = 2


@dataclass(frozen=True)
class File:
    """A file on the simulated machine (use ``Machine.create_file``)."""

    machine: Machine = field(repr=False, compare=False)
    id: int
    path: str

    def info(self) -> FileInfo:
        """Its size and page-cache occupancy, in pages."""
        return self.machine.core.file_info(self.id)

    @property
    def pages(self) -> int:
        return self.info().pages

    @property
    def cached_pages(self) -> int:
        return self.info().cached_pages


_PRESETS: dict[str, dict[str, Any]] = {}


def _preset(name: str, doc: str, **kwargs: Any) -> None:
    _PRESETS[name] = {"doc": doc, **kwargs}


def _fat_tree(n: int) -> list[list[int]]:
    # 10 local; +5 per fat-tree level separating two nodes (bit length of i XOR j).
    return [[10 if i == j else 15 + 5 * (i ^ j).bit_length() for j in range(n)] for i in range(n)]


_preset(
    "altix-ia64-64",
    "SGI Altix 3700-class: 64 ia64 nodes (16 KiB pages, NODES_SHIFT 10), two Itanium 2 CPUs "
    "and 2 GiB per node (C-bricks held 2 CPUs each), NUMAlink fat tree approximated as "
    "10 local, +5 per tree level (i XOR j bit length): 20 for a brick pair, up to 45.",
    arch="ia64",
    nodes=64,
    node_memory="2GiB",
    cpus_per_node=2,
    distances=_fat_tree(64),
    swap="8GiB",
    costs="altix-2005",
)
_preset(
    "opteron-4s",
    "Four-socket dual-core Opteron 8xx (2005), x86_64: 4 nodes of 2 CPUs and 4 GiB on a "
    "HyperTransport square (0-1, 1-3, 3-2, 2-0): SLIT 10 local, 20 one hop, 30 two hops "
    "(the ACPI convention of relative latency x 10; BIOSes of the time reported 10/20/20/30).",
    arch="x86_64",
    nodes=4,
    node_memory="4GiB",
    cpus_per_node=2,
    distances=[[10, 20, 20, 30], [20, 10, 30, 20], [20, 30, 10, 20], [30, 20, 20, 10]],
    swap="4GiB",
    costs="opteron-2005",
)
_preset(
    "numaq-i386-16",
    "IBM NUMA-Q: 16 quads on i386 with PAE (CONFIG_X86_NUMAQ, NODES_SHIFT 4), 4 CPUs and "
    "2 GiB per quad, no SLIT (REMOTE_DISTANCE 20 between quads).",
    arch="i386-pae",
    nodes=16,
    node_memory="2GiB",
    cpus_per_node=4,
    swap="2GiB",
    costs="opteron-2005",
)
_preset(
    "modern-2s-cxl",
    "Two-socket x86_64 server with two CXL memory expanders: nodes 0-1 are sockets with 16 "
    "CPUs and 64 GiB each, nodes 2-3 CPU-less CXL memory of 128 GiB (2 behind socket 0, 3 "
    "behind socket 1). SLIT as such systems report it: 10 local, 21 socket to socket, 14 to "
    "the near CXL node, 24 to the far one, 24 between the CXL nodes.",
    arch="x86_64",
    semantics="modern",
    nodes=[
        NodeSpec(0, "64GiB", range(0, 16)),
        NodeSpec(1, "64GiB", range(16, 32)),
        NodeSpec(2, "128GiB", ()),
        NodeSpec(3, "128GiB", ()),
    ],
    distances=[[10, 21, 14, 24], [21, 10, 24, 14], [14, 24, 10, 24], [24, 14, 24, 10]],
    swap="16GiB",
    costs="zen3-2021",
)

#: Names of the built-in machine presets.
PRESETS: tuple[str, ...] = tuple(_PRESETS)


def _normalise_nodes(
    nodes: int | Sequence[NodeSpec | Mapping[str, Any]],
    node_memory: int | str,
    cpus_per_node: int,
    max_numnodes: int,
) -> list[tuple[int, int, list[int]]]:
    if isinstance(nodes, bool) or not isinstance(nodes, (int, Sequence)):
        raise TypeError(f"nodes must be a count or a list of node specs, not {nodes!r}")
    if isinstance(nodes, Sequence) and len(nodes) > max_numnodes:
        raise ValueError(
            f"{len(nodes)} nodes requested but this arch's kernel has MAX_NUMNODES = {max_numnodes}"
        )
    if isinstance(nodes, int):
        if nodes < 1:
            raise ValueError(f"nodes must be at least 1, got {nodes}")
        if nodes > max_numnodes:
            # Refused before anything is built: a count far beyond the kernel's nodemask_t
            # would otherwise make a list of that many node specs first.
            raise ValueError(
                f"{nodes} nodes requested but this arch's kernel has MAX_NUMNODES = "
                f"{max_numnodes} (use arch(...).with_nodes_shift(n) for a bigger kernel)"
            )
        specs: list[NodeSpec] = [NodeSpec(i, node_memory, cpus_per_node) for i in range(nodes)]
    else:
        specs = []
        for s in nodes:
            if isinstance(s, NodeSpec):
                specs.append(s)
            elif isinstance(s, Mapping):
                unknown = set(s) - {"nid", "id", "memory", "cpus"}
                if unknown:
                    raise ValueError(f"unknown node spec keys {sorted(unknown)}")
                nid = s.get("nid", s.get("id"))
                if nid is None:
                    raise ValueError(f"node spec {dict(s)!r} needs an 'nid'")
                specs.append(
                    NodeSpec(nid, s.get("memory", node_memory), s.get("cpus", cpus_per_node))
                )
            else:
                raise TypeError(f"a node spec must be a NodeSpec or a dict, not {s!r}")
    out = []
    next_cpu = 0
    for s in specs:
        nid = _args.unsigned(s.nid, "node id", 32)
        if isinstance(s.cpus, (int, np.integer)) and not isinstance(s.cpus, bool):
            count = _args.unsigned(s.cpus, f"node {nid} CPU count", 16)
            cpus = list(range(next_cpu, next_cpu + count))
        else:
            cpus = [_args.unsigned(c, f"node {nid} cpu", 16) for c in s.cpus]
        next_cpu = max([next_cpu, *(c + 1 for c in cpus)])
        out.append((nid, parse_size(s.memory, f"node {nid} memory"), cpus))
    return out


class Machine:
    """A simulated NUMA machine.

    >>> m = Machine(nodes=4, node_memory="256MiB")      # x86_64, modern Linux
    >>> t = m.spawn(uid=1000, cpu=2)                    # runs on node 1
    >>> a = t.mmap(16 * 4096)
    >>> t.touch(a, 16 * 4096, write=True)
    FaultReport(pages=16; faults=16; major=0; swapped_in=0; ... simulated (fault 100%))
    >>> t.page_nodes(a, 16 * 4096).tolist() == [1] * 16
    True
    >>> m.check()

    ``nodes`` is a count (node ids 0..n-1, each with ``node_memory`` and ``cpus_per_node``
    CPUs; at most the arch's MAX_NUMNODES) or a list of :class:`NodeSpec` (or dicts with
    ``nid``, ``memory``, ``cpus``), which allows sparse ids, memoryless and CPU-less nodes.
    ``distances`` is the SLIT matrix in the order of ``nodes`` (default 10 local, 20 remote).
    ``semantics`` is the kernel generation, fixed for the machine's life: "modern" (Linux
    6.x, the default: what a machine of today runs), "2.6.16" (the first release with page
    migration) or "v5" (the 2005 "Swap Migration V5" patch, whose migrate_pages swaps pages
    out): ``Machine(semantics="v5")`` is the seed's machine. ``swap`` is the size of the one
    swap device (0 for none); ``page_cluster`` the log2 of the swap readahead window.
    ``migrate_cap`` picks the 2.6.16 capability model
    (spec §5.2, UNCONFIRMED): CAP_SYS_NICE for migrate_pages and MPOL_MF_MOVE_ALL (the patch of
    2006-03-14 the man pages document, the default), or CAP_SYS_ADMIN (CAP_SYS_RESOURCE for
    mbind) as in 2.6.16-rc6.

    ``thp`` is /sys/kernel/mm/transparent_hugepage/enabled of a modern machine: "always",
    "madvise" (the default, as Debian's kernels) or "never". Anonymous faults in a 2 MiB
    aligned block of an eligible area then map a transparent huge page; migration moves it
    whole (docs/hugepages.md). V5 and 2.6.16 have no THP and refuse the option.

    ``nr_hugepages`` fills the hugetlb pool at boot: a count for the whole machine
    (/proc/sys/vm/nr_hugepages, spread round robin over the memory nodes) or a dict
    ``{node: count}`` (nodeN/hugepages/hugepages-<size>kB/nr_hugepages); see
    :meth:`set_nr_hugepages`. ``nr_overcommit_hugepages`` is the most surplus huge pages a
    fault may take from the buddy allocator when the pool has none; the default (None) is
    unlimited, so MAP_HUGETLB works with an empty pool as it did before the pool existed. The
    kernel's defaults are ``nr_hugepages=0, nr_overcommit_hugepages=0``: a hugetlb fault then
    raises numasim.BusError (SIGBUS). docs/hugepages.md.

    ``min_free_kbytes`` is vm.min_free_kbytes, from which every node's min, low and high
    watermarks are set (see :meth:`watermarks` and docs/semantics.md, "Memory pressure"). The
    default (None) is the kernel's boot value, int_sqrt(lowmem_kbytes * 16) clamped to
    [128, 65536] in 2.6 and [128, 262144] in 6.x; 0 keeps no reserve (in 6.x the low and high
    marks still sit 0.1% of the node apart). Allocations stay above the watermarks: a fault
    falls back to the next node of its zonelist at the low mark, then takes pages down to
    the min mark, then reclaims, and fails with ENOMEM where the kernel would start the OOM
    killer.

    ``costs`` is the cost model of the simulated time (a :class:`numasim.CostModel` or the
    name of a profile, see ``CostModel.profiles()``); by default zen3-2021 for a modern
    machine, altix-2005 for a 2.6 ia64 machine and opteron-2005 for other 2.6 machines. The
    profile is independent of the semantics: 2.6.16 on zen3-2021 hardware is a fair question.
    ``kernel`` ("6.1", "6.12": Linux 6.0 to 6.20) says which modern kernel a modern machine
    runs, for the behaviour that changed within 6.x: TLB flushes batched per 512 folios from
    6.3, and pages that could not be isolated counted in migrate_pages()'s result from 6.7;
    without it, the latest behaviour. See docs/costs.md.

    A Machine may be shared by threads: every call releases the GIL while the core works and
    takes the machine's lock only then (see docs/architecture.md), and a long call ends with
    KeyboardInterrupt at a consistent point when Ctrl-C is pressed.
    """

    def __init__(
        self,
        arch: str | ArchProfile = DEFAULT_ARCH,
        semantics: Semantics = "modern",
        nodes: int | Sequence[NodeSpec | Mapping[str, Any]] = 4,
        node_memory: int | str = "1GiB",
        cpus_per_node: int = 2,
        distances: Sequence[Sequence[int]] | None = None,
        swap: int | str = "4GiB",
        page_cluster: int = 3,
        migrate_cap: MigrateCap = "CAP_SYS_NICE",
        min_free_kbytes: int | None = None,
        thp: str | None = None,
        nr_hugepages: int | Mapping[int, int] | None = None,
        nr_overcommit_hugepages: int | None = None,
        costs: CostModel | str | None = None,
        kernel: str | None = None,
    ) -> None:
        if migrate_cap not in ("CAP_SYS_NICE", "CAP_SYS_ADMIN"):
            raise ValueError(
                f"migrate_cap must be 'CAP_SYS_NICE' (2.6.16 with the 2006-03-14 patch) or "
                f"'CAP_SYS_ADMIN' (2.6.16-rc6), not {migrate_cap!r}"
            )
        if semantics not in SEMANTICS:
            raise ValueError(
                f"unknown semantics {semantics!r}; expected one of 'modern' (Linux 6.x, the "
                f"default), '2.6.16' or 'v5' (the 2005 swap-out patch)"
            )
        profile = _arch(arch)
        specs = _normalise_nodes(nodes, node_memory, cpus_per_node, profile.max_numnodes)
        dist = None
        if distances is not None:
            dist = [[_args.unsigned(x, "distance", 32) for x in row] for row in distances]
        page_cluster = _args.unsigned(page_cluster, "page_cluster", 32)
        if min_free_kbytes is not None:
            min_free_kbytes = _args.unsigned(min_free_kbytes, "min_free_kbytes", 31)
        if isinstance(costs, str):
            costs = CostModel.profile(costs)
        elif costs is not None and not isinstance(costs, CostModel):
            raise TypeError(f"costs must be a numasim.CostModel or a profile name, not {costs!r}")
        if kernel is not None:
            if not isinstance(kernel, str):
                raise TypeError(f"kernel must be a version string like '6.1', not {kernel!r}")
            if semantics != "modern":
                raise ValueError(
                    f"kernel={kernel!r} names a modern (6.x) kernel; this machine's semantics "
                    f"is {semantics!r}"
                )
        self.core = MachineCore(
            profile,
            semantics,
            specs,
            dist,
            parse_size(swap, "swap"),
            page_cluster,
            None if costs is None else costs._spec(),
            kernel,
        )
        if min_free_kbytes is not None:
            self.core.set_min_free_kbytes(min_free_kbytes)
        if thp is not None:
            if not isinstance(thp, str):
                raise TypeError(f"thp must be 'always', 'madvise' or 'never', not {thp!r}")
            self.core.set_thp(thp)
        if nr_overcommit_hugepages is not None:
            self.core.set_nr_overcommit_hugepages(
                _args.unsigned(nr_overcommit_hugepages, "nr_overcommit_hugepages", 64)
            )
        if isinstance(nr_hugepages, Mapping):
            for node, count in nr_hugepages.items():
                self.set_nr_hugepages(count, node=node)
        elif nr_hugepages is not None:
            self.set_nr_hugepages(nr_hugepages)
        # Fixed for the machine's life: kept here so hot paths need not ask the core.
        self._arch = self.core.arch
        self._semantics: Semantics = semantics
        self._costs = CostModel._of(self.core.costs)
        self._kernel: str | None = self.core.kernel
        self._online: NodeMask = self.core.node_states().online
        self._bits: int = self._arch.bits_per_long
        #: The 2.6.16 capability model (see the class docs).
        self.migrate_cap: MigrateCap = migrate_cap
        #: The report of the last migration call on this machine (None before any).
        self.last_report: MigrateReport | None = None
        #: LSM hook of 2.6.18+: ``hook(caller, target)`` returns 0 to allow or ``-errno`` to
        #: refuse (None: allow all).
        self.security_task_movememory: MoveMemoryHook | None = None

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Machine:
        """A machine modelled on a real system: see ``Machine.presets()`` for the list and the
        sources of their figures. Keyword arguments override the preset's. Each preset has its
        era's cost profile (altix-ia64-64: altix-2005; opteron-4s and numaq-i386-16:
        opteron-2005; modern-2s-cxl: zen3-2021); ``costs=`` picks another."""
        try:
            p = dict(_PRESETS[name])
        except KeyError:
            raise ValueError(
                f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}"
            ) from None
        p.pop("doc")
        p.update(overrides)
        return cls(**p)

    @classmethod
    def from_sysfs(
        cls, root: str | os.PathLike[str] = "/", semantics: Semantics = "modern", **kwargs: Any
    ) -> Machine:
        """The topology of a real machine: its nodes (memory from ``nodeN/meminfo``, CPUs from
        ``nodeN/cpulist``, memoryless and CPU-less nodes included) and SLIT
        (``nodeN/distance``), read from ``root``/sys/devices/system/node, ``/`` being the
        machine numasim runs on. ``root`` may also be a saved copy of that directory (or of
        /sys, or of devices/system). Keyword arguments (``arch``, ``swap``, ...) go to
        :class:`Machine`.

        >>> m = Machine.from_sysfs()                        # doctest: +SKIP
        """
        from numasim import _import

        topo = _import.read_sysfs(root)
        return cls(semantics=semantics, nodes=topo.nodes, distances=topo.distances, **kwargs)

    @classmethod
    def from_numactl_hardware(
        cls, text: str, semantics: Semantics = "modern", **kwargs: Any
    ) -> Machine:
        """The machine ``numactl --hardware`` printed ``text`` on: its nodes' CPUs and sizes
        (MB) and the distance table. Keyword arguments go to :class:`Machine`."""
        from numasim import _import

        topo = _import.read_numactl_hardware(text)
        return cls(semantics=semantics, nodes=topo.nodes, distances=topo.distances, **kwargs)

    @staticmethod
    def presets() -> dict[str, str]:
        """Preset names with a description of where their figures come from."""
        return {k: v["doc"] for k, v in _PRESETS.items()}

    # ----- arguments ----------------------------------------------------------------------

    def _ulong(self, value: Any, name: str) -> int:
        """An ``unsigned long`` of this arch (an address or a length)."""
        return _args.unsigned(value, name, self._bits)

    def _length(self, value: Any, name: str = "length") -> int:
        """A length: an ``unsigned long`` of this arch, or a size string ("64GiB")."""
        if isinstance(value, str):
            value = parse_size(value, name)
        return _args.unsigned(value, name, self._bits)

    def _own(self, obj: Task | File, name: str) -> None:
        _args.same_machine(self, obj, name)

    # ----- machine-wide facts -------------------------------------------------------------

    @property
    def arch(self) -> ArchProfile:
        return self._arch

    @property
    def semantics(self) -> Semantics:
        return self._semantics

    @property
    def page_size(self) -> int:
        return self._arch.page_size

    @property
    def costs(self) -> CostModel:
        """The cost model of the simulated time (fixed for the machine's life)."""
        return self._costs

    @property
    def kernel(self) -> str | None:
        """The modern kernel version the engines follow ("6.12"); None for the 2.6
        generations."""
        return self._kernel

    @property
    def online_nodes(self) -> NodeMask:
        """node_online_map."""
        return self._online

    @property
    def nodes(self) -> list[int]:
        """Node ids, ascending."""
        return [n.nid for n in self.core.nodes()]

    def node_cpus(self, nid: int) -> list[int]:
        """The CPUs of a node."""
        for n in self.core.nodes():
            if n.nid == nid:
                return n.cpus
        raise ValueError(f"node {nid} does not exist; nodes are {self.nodes}")

    @property
    def node_states(self) -> NodeStates:
        """Kernel node states: possible, online, has_memory (N_MEMORY), has_cpu (N_CPU)."""
        return self.core.node_states()

    def distance(self, a: int, b: int) -> int:
        """SLIT distance between two nodes."""
        return self.core.distance(_args.unsigned(a, "a", 32), _args.unsigned(b, "b", 32))

    def zonelist(self, nid: int) -> list[int]:
        """Nodes an allocation preferring ``nid`` falls back to, in order (its zonelist)."""
        return self.core.zonelist(_args.unsigned(nid, "nid", 32))

    @property
    def nr_cpus(self) -> int:
        return self.core.nr_cpus()

    @property
    def now_ns(self) -> int:
        """The simulated clock, in nanoseconds."""
        return self.core.now_ns

    def advance(self, ns: int) -> None:
        """Lets simulated time pass: writeback I/O and timed page locks complete, and files
        dirty for more than 30 s are written back (pdflush's periodic writeback)."""
        self.core.advance(_args.unsigned(ns, "ns", 64))

    def nodemask(self, nodes: Iterable[int] | str = ()) -> NodeMask:
        """A NodeMask of this machine's MAX_NUMNODES bits, from node ids or a libnuma node
        string (``"0-3,!2"`` style, read for a task of the top cpuset: see
        :func:`numasim.parse_nodestring`)."""
        return self._mask(nodes, "nodes")

    def _mask(self, nodes: Iterable[int] | NodeMask | str, name: str) -> NodeMask:
        got = node_set(nodes, name, self)
        if isinstance(got, NodeMask):
            return got
        return NodeMask(_args.node_ids(got, name), nbits=self.arch.max_numnodes)

    # ----- tasks ------------------------------------------------------------------------------

    def spawn(
        self,
        uid: int = 1000,
        gid: int | None = None,
        cpu: int = 0,
        cpuset: str = "/",
        name: str | None = None,
        abi: Abi = "native",
    ) -> Task:
        """A new process with its own address space (a stack, no other mapping), running on
        ``cpu``, in ``cpuset``. Root (uid 0) has every capability. ``gid`` defaults to uid.
        ``abi="i386"`` makes it a 32-bit program on an x86_64 kernel: its system calls pass
        32-bit words, pointers and maxnode, read as the generation's kernel reads them (see
        docs/semantics.md, "32-bit tasks")."""
        uid = _args.unsigned(uid, "uid", 32)
        gid = uid if gid is None else _args.unsigned(gid, "gid", 32)
        cpu = _args.unsigned(cpu, "cpu", 32)
        pid = self.core.spawn(uid, gid, cpu, cpuset, name or "", abi)
        return Task(self, pid)

    def kernel_thread(self, name: str = "kthread", cpu: int = 0) -> Task:
        """A kernel thread: no mm, root credentials."""
        return Task(self, self.core.kernel_thread(name, _args.unsigned(cpu, "cpu", 32)))

    def task(self, pid: int) -> Task:
        """The task with this pid; ProcessLookupError if there is none."""
        pid = _args.unsigned(pid, "pid", 32)
        self.core.task_info(pid)
        return Task(self, pid)

    def tasks(self) -> list[Task]:
        return [Task(self, p) for p in self.core.pids()]

    # ----- memory, files, swap ----------------------------------------------------------------

    def node_usage(self) -> dict[int, NodeUsage]:
        """Pages per node with memory: total, free, used."""
        return {u.nid: u for u in self.core.node_usage()}

    def meminfo(self, node: int) -> str:
        """/sys/devices/system/node/nodeN/meminfo in the kernel's format."""
        mi = self.core.meminfo(_args.unsigned(node, "node", 32))
        return _reports.node_meminfo(node, mi, self.page_size, self.semantics)

    def numastat_counters(self) -> dict[int, NodeNumaStat]:
        """Every node's NUMA allocation counters, in pages (see :meth:`node_numastat`)."""
        return {s.nid: s for s in self.core.numastat()}

    def node_numastat(self, node: int) -> str:
        """/sys/devices/system/node/nodeN/numastat: numa_hit, numa_miss, numa_foreign,
        interleave_hit, local_node and other_node, counted as the generation's
        zone_statistics() counts them (docs/semantics.md, "numastat")."""
        node = _args.unsigned(node, "node", 32)
        for s in self.core.numastat():
            if s.nid == node:
                return _reports.node_numastat(s)
        raise ValueError(f"node {node} does not exist; nodes are {self.nodes}")

    def hardware(self) -> str:
        """What ``numactl --hardware`` prints on this machine."""
        from numasim import _tools

        return _tools.hardware(self)

    @property
    def thp(self) -> str:
        """transparent_hugepage/enabled: "always", "madvise" or "never" ("never" on V5 and
        2.6.16 machines, which have no THP)."""
        return self.core.thp()

    def nr_hugepages(self, node: int | None = None) -> int:
        """The hugetlb pool's size: /proc/sys/vm/nr_hugepages (persistent pages, surplus
        excluded) or, for a node, nodeN/hugepages/hugepages-<size>kB/nr_hugepages (its pool
        pages, surplus included, as the kernel prints it)."""
        return self.core.nr_hugepages(None if node is None else _args.unsigned(node, "node", 32))

    def set_nr_hugepages(self, count: int, node: int | None = None) -> None:
        """Writes nr_hugepages, for the machine (pages allocated round robin over the memory
        nodes) or for one node (set_max_huge_pages()): growing turns surplus pages into
        persistent ones, then allocates huge pages from the buddy allocator until the count or
        until memory runs out (read the count back: the kernel does not fail the write);
        shrinking frees free pool pages and makes pages in use beyond the count surplus (freed
        to the buddy allocator when unmapped). A node without memory is a ValueError."""
        count = _args.unsigned(count, "nr_hugepages", 64)
        nid = None if node is None else _args.unsigned(node, "node", 32)
        self.core.set_nr_hugepages(count, nid)

    @property
    def nr_overcommit_hugepages(self) -> int | None:
        """/proc/sys/vm/nr_overcommit_hugepages: the most surplus huge pages (None: unlimited,
        numasim's default). Set it to an int, or None."""
        return self.core.nr_overcommit_hugepages()

    @nr_overcommit_hugepages.setter
    def nr_overcommit_hugepages(self, count: int | None) -> None:
        self.core.set_nr_overcommit_hugepages(
            None if count is None else _args.unsigned(count, "nr_overcommit_hugepages", 64)
        )

    @property
    def min_free_kbytes(self) -> int:
        """vm.min_free_kbytes. Setting it (an int sysctl: 0 to 2**31-1) sets every node's
        watermarks again, as a write to /proc/sys/vm/min_free_kbytes does."""
        return self.core.min_free_kbytes()

    @min_free_kbytes.setter
    def min_free_kbytes(self, kb: int) -> None:
        self.core.set_min_free_kbytes(_args.unsigned(kb, "min_free_kbytes", 31))

    def watermarks(self) -> dict[int, ZoneInfo]:
        """Each node's zone (numasim has one per node), in pages: free pages, the ``min``,
        ``low`` and ``high`` watermarks, the LRU list lengths, and the pages direct reclaim
        ``scanned`` and ``reclaimed`` there. Free pages include the reserve below ``min``,
        as MemFree does."""
        return {z.nid: z for z in self.core.zoneinfo()}

    def zoneinfo(self) -> str:
        """/proc/zoneinfo in the generation's format, for the zone numasim models per node
        (see :meth:`watermarks`)."""
        return _reports.zoneinfo(self.core.zoneinfo(), self.semantics)

    def vmstat(self) -> str:
        """/proc/vmstat lines the simulator keeps (pgmigrate_* only in the modern semantics)."""
        return _reports.vmstat(self.vmstat_counters(), self.semantics)

    def vmstat_counters(self) -> dict[str, int]:
        """The /proc/vmstat counters by name, in the kernel's units (pgpgin/pgpgout in kB)."""
        return _reports.vmstat_counters(self.core.vmstat(), self.page_size)

    def swap_info(self) -> list[SwapDevice]:
        """Swap devices: name, priority, size and used pages (like /proc/swaps)."""
        return self.core.swap_devices()

    @property
    def swap_cache_pages(self) -> int:
        return self.core.swap_cache_pages()

    def swap_out(self, task: Task, addr: int, length: int | str) -> int:
        """Evicts the task's pages in the range as reclaim would (see the core docs); returns
        how many pages were evicted."""
        self._own(task, "task")
        return self.core.swap_out(task.pid, self._ulong(addr, "addr"), self._length(length))

    def create_file(self, path: str, size: int | str) -> File:
        """A file of ``size`` bytes whose content is zero."""
        fid = self.core.create_file(path, parse_size(size, "file size"))
        return File(self, fid, path)

    def shmget(self, size: int | str) -> File:
        """A SysV shared memory segment; attach it with
        ``task.mmap(size, flags="shm", file=segment)``."""
        fid = self.core.shmget(parse_size(size, "segment size"))
        return File(self, fid, "/SYSV")

    def shm_rmid(self, segment: File) -> None:
        """shmctl(IPC_RMID): the segment goes when its last attach does."""
        self._own(segment, "segment")
        self.core.shm_rmid(segment.id)

    def writeback(self, file: File | None = None) -> int:
        """Writes dirty page-cache pages (of one file or all); returns how many."""
        if file is not None:
            self._own(file, "file")
        return self.core.writeback(None if file is None else file.id)

    def drain(self) -> None:
        """lru_add_drain_all(): every per-CPU pagevec onto the LRU."""
        self.core.drain()

    def set_page_state(
        self,
        task: Task,
        addr: int,
        length: int | str,
        state: PageState,
        on: bool = True,
        duration_ns: int | None = None,
    ) -> int:
        """Imposes a transient state on the present pages of a range, as real life does:
        ``"locked"`` (I/O in flight), ``"writeback"``, ``"pinned"`` (an extra reference),
        ``"pagevec"`` (not yet on the LRU), ``"young"``, ``"dirty"``. Locked and writeback
        states end after ``duration_ns`` of simulated time if given. Clearing ``"dirty"``
        writes the page to its backing store first (its file, or its swap slot for a page in
        the swap cache), so that no content is lost. Hugetlb areas are refused. Returns the page
        count."""
        self._own(task, "task")
        return self.core.set_page_state(
            task.pid,
            self._ulong(addr, "addr"),
            self._length(length),
            state,
            bool(on),
            _args.optional_unsigned(duration_ns, "duration_ns", 64),
        )

    def syscall(self, caller: Task, nr: int, *args: Any) -> Any:
        """Calls a memory-policy system call by this arch's number, as a C caller would:
        returns the kernel's value, -errno on failure (ENOSYS for an unknown number)."""
        from numasim import syscalls

        self._own(caller, "caller")
        # A 32-bit program calls through the i386 table (arch/x86/entry/syscalls/syscall_32.tbl).
        table = _arch("i386") if caller.abi == "i386" else self.arch
        names = {v: k for k, v in table.syscalls.items()}
        name = names.get(_args.integer(nr, "nr"))
        if name not in syscalls.SYSCALLS:
            return -errno.ENOSYS
        return syscalls.raw(syscalls.SYSCALLS[name], caller, *args)

    def migratepages(
        self,
        pid: int,
        from_nodes: Iterable[int] | NodeMask | str,
        to_nodes: Iterable[int] | NodeMask | str,
        caller: Task | None = None,
    ) -> MigrateReport:
        """What ``migratepages PID FROM TO`` does: libnuma's numa_migrate_pages(), that is
        migrate_pages(2) with maxnode = numa_num_possible_nodes() + 1 (65 on x86_64, 1025 on
        ia64). Node strings are read by numa_parse_nodestring() for the caller. ``caller``
        is the task running migratepages; None runs it as root, like ``sudo migratepages``:
        a root process of the top cpuset on the first CPU, which exits afterwards.

        Returns the report of the call (also ``last_report``); a failed call raises the
        OSError migrate_pages(2) fails with (``migratepages`` prints it with perror()).

        >>> m = Machine(nodes=2, node_memory="64MiB")
        >>> app = m.spawn(uid=1000)
        >>> a = app.mmap("1MiB")
        >>> _ = app.touch(a, "1MiB", write=True)
        >>> m.migratepages(app.pid, "0", "1").moved
        256
        """
        from numasim import syscalls
        from numasim.nodestring import numa_num_possible_nodes

        pid = _args.unsigned(pid, "pid", 32)
        own = caller is None
        if caller is None:
            first_cpu = next(iter(self.cpuset_info("/").cpus))
            caller = self.spawn(uid=0, cpu=first_cpu, name="migratepages")
        else:
            self._own(caller, "caller")
        try:
            old = node_set(from_nodes, "from-nodes", caller)
            new = node_set(to_nodes, "to-nodes", caller)
            maxnode = numa_num_possible_nodes(self) + 1
            self.last_report = None
            syscalls.migrate_pages(caller, pid, maxnode, old, new)
            report = self.last_report
            assert report is not None, "migrate_pages() keeps its report"
            return report
        finally:
            if own:
                caller.exit()

    def import_process(self, proc_dir: str | os.PathLike[str]) -> Task:
        """A new task recreating a real process from ``proc_dir`` (``/proc/PID`` or a saved
        copy of its ``maps``, ``numa_maps`` and ``status``): its credentials (Uid/Gid lines),
        a cpuset of its Mems_allowed if that is narrower than the machine's, a CPU of its
        Cpus_allowed, every VMA at its address with its protection (anonymous, or a file of
        the same path), each VMA's memory policy, and as many pages on each node as
        numa_maps counts (the first pages of the VMA, in node order). Not recreated: the
        vdso/vvar/vsyscall mappings, hugetlb VMAs, and which page of a VMA is where (numa_maps
        only counts them). So ``m.migratepages(t.pid, "0", "1")`` answers "what would
        migratepages do to this process?"."""
        from numasim import _import

        return _import.import_process(self, proc_dir)

    def check(self) -> None:
        """Verifies every invariant (content digests, frames, reverse map, swap counts);
        raises numasim.InvariantError naming the first broken one (its ``area`` says which
        invariant, see numasim.INVARIANT_AREAS)."""
        self.core.check()

    # ----- cpusets ------------------------------------------------------------------------------

    def cpuset(
        self,
        path: str,
        mems: Iterable[int] | NodeMask | str | None = None,
        cpus: Iterable[int] | str | None = None,
        memory_migrate: bool = False,
    ) -> str:
        """Creates a cpuset (mkdir + writing mems, cpus, memory_migrate). ``mems`` and
        ``cpus`` default to the parent's; either may be a string (``"2-3"``, read as libnuma
        reads node and CPU strings for a task of the top cpuset). Returns the path."""
        parent = self.core.cpuset_info(path.rsplit("/", 1)[0] or "/")
        m = parent.mems if mems is None else self._mask(mems, "mems")
        if cpus is None:
            c = parent.cpus
        elif isinstance(cpus, str):
            try:
                c = parse_cpustring(cpus, self)
            except ValueError as e:
                raise ValueError(f"cpus: {e}") from None
        else:
            c = NodeMask(_args.node_ids(cpus, "cpus"), nbits=self.core.cpumask_bits())
        self.core.cpuset_create(path, m, c, bool(memory_migrate))
        return path

    def cpuset_set_mems(
        self, path: str, mems: Iterable[int] | NodeMask | str
    ) -> list[MigrateReport]:
        """Writes a cpuset's ``mems`` (update_nodemask()): the policies of its tasks are
        rebound to the new nodes and, if the cpuset has memory_migrate (2.6.16, modern), each
        of their address spaces moves from the old mems to the new with MPOL_MF_MOVE_ALL.
        Returns the MigrateReport of each move (the last is also ``last_report``)."""
        reports = self.core.cpuset_set_mems(path, self._mask(mems, "mems"))
        if reports:
            self.last_report = reports[-1]
        return reports

    def cpuset_info(self, path: str) -> CpusetInfo:
        """A cpuset's mems, cpus, memory_migrate flag, parent and children."""
        return self.core.cpuset_info(path)

    def cpuset_remove(self, path: str) -> None:
        """rmdir of a cpuset: EBUSY while tasks are attached or it has children."""
        self.core.cpuset_remove(path)

    # ----- snapshots -----

    def copy(self) -> Machine:
        """A deep, independent copy: tasks, address spaces, page contents, swap, files,
        cpusets, policies, the clock and every counter. What is done to one afterwards does
        not touch the other, and both behave identically under the same operations.

        >>> m = Machine(nodes=2, node_memory="64MiB")
        >>> t = m.spawn()
        >>> a = t.mmap(4 * m.page_size)
        >>> _ = t.touch(a, 4 * m.page_size, write=True)
        >>> c = m.copy()
        >>> c.task(t.pid).resident_by_node() == t.resident_by_node()
        True
        """
        return self._with_core(self.core.copy())

    def __copy__(self) -> Machine:
        # A Machine is one simulated machine, not a view of one: copy.copy() gives an
        # independent machine as copy() does (two handles on one core would be an alias).
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> Machine:
        return self.copy()

    def _with_core(self, core: MachineCore) -> Machine:
        other = object.__new__(Machine)
        other.__setstate__({**self.__getstate__(), "core": core})
        return other

    def __getstate__(self) -> dict[str, Any]:
        # Pickling goes through MachineCore.__reduce__ (a versioned, checksummed snapshot of
        # the whole core); the Python side adds what it keeps itself. The last report is not
        # machine state and is not kept.
        return {
            "core": self.core,
            "migrate_cap": self.migrate_cap,
            "security_task_movememory": self.security_task_movememory,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.core = state["core"]
        self._arch = self.core.arch
        self._semantics = self.core.semantics  # type: ignore[assignment]
        self._costs = CostModel._of(self.core.costs)
        self._kernel = self.core.kernel
        self._online = self.core.node_states().online
        self._bits = self._arch.bits_per_long
        self.migrate_cap = state["migrate_cap"]
        self.last_report = None
        self.security_task_movememory = state["security_task_movememory"]

    def __repr__(self) -> str:
        mem = sum(u.total for u in self.core.node_usage()) * self.page_size
        kernel = f", kernel={self.kernel!r}" if self.kernel else ""
        return (
            f"Machine(arch={self.arch.name!r}, semantics={self.semantics!r}{kernel}, "
            f"nodes={self.nodes}, memory={mem >> 20} MiB, cpus={self.nr_cpus}, "
            f"costs={self.costs.base!r})"
        )


class Task:
    """A task (process or thread) on a Machine, addressed by pid."""

    __slots__ = ("machine", "pid")

    def __init__(self, machine: Machine, pid: int) -> None:
        self.machine = machine
        self.pid = pid

    def __repr__(self) -> str:
        try:
            i = self.info()
        except ProcessLookupError:
            return f"Task(pid={self.pid}, exited)"
        return f"Task(pid={self.pid}, comm={i.comm!r}, uid={i.uid}, cpu={i.cpu})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.machine is self.machine and other.pid == self.pid

    def __hash__(self) -> int:
        return hash((id(self.machine), self.pid))

    @property
    def _c(self) -> MachineCore:
        return self.machine.core

    def info(self) -> TaskInfo:
        """Identity, credentials, CPU, node, cpuset, policy and mems_allowed."""
        return self._c.task_info(self.pid)

    @property
    def tgid(self) -> int:
        return self.info().tgid

    @property
    def name(self) -> str:
        return self.info().comm

    @property
    def uid(self) -> int:
        return self.info().uid

    @property
    def euid(self) -> int:
        return self.info().euid

    @property
    def suid(self) -> int:
        return self.info().suid

    @property
    def gid(self) -> int:
        return self.info().gid

    @property
    def capabilities(self) -> frozenset[str]:
        """Names of the effective capabilities."""
        return frozenset(self.info().cap_effective)

    def capable(self, cap: str) -> bool:
        """capable(): is ``cap`` (e.g. "CAP_SYS_NICE" or "sys_nice") in the effective set?"""
        return self._c.capable(self.pid, cap)

    @property
    def dumpable(self) -> bool:
        return self.info().dumpable

    @dumpable.setter
    def dumpable(self, on: bool) -> None:
        self._c.set_dumpable(self.pid, bool(on))

    @property
    def cpu(self) -> int:
        return self.info().cpu

    @property
    def node(self) -> int:
        """The node of the CPU the task runs on (numa_node_id())."""
        return self.info().node

    @property
    def abi(self) -> Abi:
        """ "native", or "i386" for a 32-bit program on an x86_64 kernel."""
        return self._c.task_abi(self.pid)  # type: ignore[return-value]

    @property
    def has_mm(self) -> bool:
        """False for a kernel thread."""
        return self.info().has_mm

    @property
    def mems_allowed(self) -> NodeMask:
        """The nodes the task may allocate from (its cpuset's, cpuset_mems_allowed())."""
        return self._c.mems_allowed(self.pid)

    @property
    def cpuset(self) -> str:
        return self.info().cpuset

    def migrate_to_cpu(self, cpu: int) -> None:
        """Moves the task to another CPU; its local node follows."""
        self._c.migrate_to_cpu(self.pid, _args.unsigned(cpu, "cpu", 32))

    def attach_cpuset(self, path: str) -> MigrateReport | None:
        """Moves the task into a cpuset (echo pid > tasks). If the new cpuset has
        memory_migrate set (2.6.16 and modern), its pages move from the old cpuset's mems to
        the new one's with MPOL_MF_MOVE_ALL, as attach_task() -> cpuset_migrate_mm() does;
        that report is returned and kept in ``machine.last_report``."""
        report = self._c.cpuset_attach(self.pid, path)
        if report is not None:
            self.machine.last_report = report
        return report

    # credentials: ids are uid_t (32 bits); -1 means "unchanged" where the call allows it
    def _ids(self, op: str, *ids: int) -> None:
        self._c.set_ids(self.pid, op, [_id(i, op) for i in ids])

    def setuid(self, uid: int) -> None:
        self._ids("setuid", uid)

    def seteuid(self, euid: int) -> None:
        self._ids("seteuid", euid)

    def setreuid(self, ruid: int, euid: int) -> None:
        self._ids("setreuid", ruid, euid)

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        """setresuid(2); pass -1 to leave an id unchanged."""
        self._ids("setresuid", ruid, euid, suid)

    def setgid(self, gid: int) -> None:
        self._ids("setgid", gid)

    def setresgid(self, rgid: int, egid: int, sgid: int) -> None:
        self._ids("setresgid", rgid, egid, sgid)

    def grant(self, cap: str) -> None:
        """Adds a capability (scenario helper; no syscall does exactly this)."""
        self._c.set_capability(self.pid, cap, True)

    def revoke(self, cap: str) -> None:
        """Removes a capability from every set."""
        self._c.set_capability(self.pid, cap, False)

    def syscall(self, name: str, *args: Any) -> Any:
        """Calls a memory-policy system call by name from this task, as a C caller would:
        ``t.syscall("migrate_pages", pid, maxnode, old, new)`` returns the kernel's value or
        -errno."""
        from numasim import syscalls

        if name not in syscalls.SYSCALLS:
            raise ValueError(
                f"unknown system call {name!r}; expected one of {list(syscalls.SYSCALLS)}"
            )
        return syscalls.raw(syscalls.SYSCALLS[name], self, *args)

    # lifecycle
    def fork(self) -> Task:
        """fork(): the child's address space is a copy-on-write copy of this one."""
        return Task(self.machine, self._c.fork(self.pid))

    def clone_thread(self) -> Task:
        """A thread sharing this task's mm."""
        return Task(self.machine, self._c.clone_thread(self.pid))

    def exit(self) -> None:
        """exit(): the last user of the mm releases every page and swap slot."""
        self._c.exit(self.pid)

    # address space
    def _ulong(self, value: Any, name: str) -> int:
        return _args.unsigned(value, name, self.machine._bits)

    def _length(self, value: Any, name: str = "length") -> int:
        return self.machine._length(value, name)

    def mmap(
        self,
        length: int | str,
        prot: str = "rw",
        flags: str = "private|anonymous",
        file: File | None = None,
        offset: int = 0,
        addr: int | None = None,
    ) -> int:
        """mmap(2); returns the address. ``length`` is bytes or a size ("64GiB"). ``flags``:
        private, shared, anonymous, fixed, locked, populate, and the special mappings io
        (VM_IO|VM_PFNMAP), hugetlb, denywrite (an
        executable image; needs a file), shm (SysV shm; ``file`` a segment from shmget, or a
        new one). A file mapping without "anonymous" needs ``file``."""
        fl = flags
        if file is not None:
            self.machine._own(file, "file")
            if "anonymous" in fl:
                fl = "|".join(w for w in fl.split("|") if w not in ("anonymous", "anon"))
        return self._c.mmap(
            self.pid,
            self._length(length),
            prot,
            fl,
            None if file is None else file.id,
            self._ulong(offset, "offset"),
            None if addr is None else self._ulong(addr, "addr"),
        )

    def munmap(self, addr: int, length: int | str) -> None:
        self._c.munmap(self.pid, self._ulong(addr, "addr"), self._length(length))

    def mprotect(self, addr: int, length: int | str, prot: str) -> None:
        """mprotect(2): prot is "r", "rw", "rwx", "none"..."""
        self._c.mprotect(self.pid, self._ulong(addr, "addr"), self._length(length), prot)

    def mlock(self, addr: int, length: int | str) -> None:
        """mlock(2): VM_LOCKED, pages faulted in."""
        self._c.mlock(self.pid, self._ulong(addr, "addr"), self._length(length), True)

    def munlock(self, addr: int, length: int | str) -> None:
        self._c.mlock(self.pid, self._ulong(addr, "addr"), self._length(length), False)

    def madvise(self, addr: int, length: int | str, advice: int) -> None:
        """madvise(2) on this task's range (``numasim.syscalls.madvise``): advice is
        numasim.MADV_* (numasim.Madv), with the values and checks of the machine's kernel.
        DONTNEED drops the pages (anonymous memory reads zero, a file mapping the file again),
        WILLNEED reads ahead, DONTFORK keeps the area out of fork's child, REMOVE punches a hole
        in shared memory, and in 6.x COLD deactivates and PAGEOUT reclaims the pages mapped
        only here; see docs/semantics.md for each generation."""
        from numasim import syscalls

        if isinstance(length, str):
            length = parse_size(length, "length")
        syscalls.madvise(self, addr, length, advice)

    def brk(self, addr: int) -> int:
        """brk(2): returns the new break (the old one if it could not move)."""
        return self._c.brk(self.pid, self._ulong(addr, "addr"))

    def vmas(self) -> list[Vma]:
        """The task's VMAs: start, end, flags, file, pgoff, kind (heap/stack), policy."""
        return self._c.vmas(self.pid)

    def layout(self) -> MmLayout:
        """Where the heap (start_brk, brk), the stack and the mmap area start."""
        return self._c.layout(self.pid)

    # faults and contents
    def touch(self, addr: int, length: int | str, write: bool = False) -> FaultReport:
        """Reads (or writes) every page of the byte range, faulting pages in as the kernel
        would. A bad address raises numasim.SegmentationFault and changes nothing. Returns
        what the burst did and cost: its faults, the pages read from swap and the simulated
        time by term (after a V5 migration, the swap-in half of its cost)."""
        return self._c.touch(self.pid, self._ulong(addr, "addr"), self._length(length), bool(write))

    def touch_pages(self, addresses: npt.ArrayLike, write: bool = False) -> FaultReport:
        """One access per address (a 1-D integer array of addresses), in order; returns the
        burst's FaultReport as :meth:`touch` does."""
        a = _args.unsigned_array(addresses, "addresses", self.machine._bits)
        return self._c.touch_pages(self.pid, a, bool(write))

    def read(self, addr: int, length: int | str) -> npt.NDArray[np.uint32]:
        """The content stamp of each page (what the task would read), without faulting:
        0 for never-written memory. Compare before and after migration to prove nothing was
        lost."""
        return self._c.peek(self.pid, self._ulong(addr, "addr"), self._length(length))

    def page_nodes(self, addr: int, length: int | str) -> npt.NDArray[np.int32]:
        """Per page: the node id, -ENOENT (not present: never touched, or swapped out) or
        -EFAULT (no mapping); the zero page and I/O pages have no node (-ENOENT up to 2.6.18,
        -EFAULT in modern). A fast view in the spirit of move_pages(2) status; for the exact
        per-generation status use ``numasim.move_pages(task, 0, addrs, None)``."""
        return self._c.page_nodes(self.pid, self._ulong(addr, "addr"), self._length(length))

    def resident_by_node(self) -> dict[int, int]:
        """Present pages of the address space per node."""
        return dict(self._c.resident_by_node(self.pid))

    def counters(self) -> MmCounters:
        """rss_anon, rss_file, swap_ents and page-table bytes of the mm."""
        return self._c.mm_counters(self.pid)

    # reports
    def numa_maps(self) -> str:
        """/proc/PID/numa_maps in the format of the machine's kernel generation."""
        return _reports.numa_maps(
            self._c.numa_maps_stats(self.pid), self.machine.semantics, self.machine.online_nodes
        )

    def status(self) -> str:
        """The /proc/PID/status lines the simulator models (Name, Pid, Uid, Gid,
        Cpus_allowed, Mems_allowed, ...)."""
        info = self.info()
        cpus = self._c.cpuset_info(info.cpuset).cpus
        return _reports.status(info, cpus, self.machine.semantics)

    # memory policy: the system calls, for this task, with every node readable
    def set_mempolicy(self, mode: int, nodes: Iterable[int] | NodeMask | str = ()) -> None:
        """set_mempolicy(2) for this task (``numasim.syscalls.set_mempolicy`` with maxnode
        reading every node): mode is numasim.MPOL_* (| mode flags in modern). ``nodes`` may
        be a libnuma node string, read for this task (``"+0-1"``: its first two allowed
        nodes)."""
        from numasim import syscalls

        nodes = node_set(nodes, "nodes", self)
        if not isinstance(nodes, NodeMask):
            nodes = _args.node_ids(nodes, "nodes")
        syscalls.set_mempolicy(self, mode, nodes, self._maxnode(nodes))

    def mbind(
        self,
        addr: int,
        length: int | str,
        mode: int,
        nodes: Iterable[int] | NodeMask | str = (),
        flags: int = 0,
    ) -> None:
        """mbind(2) on this task's range (``numasim.syscalls.mbind`` with maxnode reading every
        node); ``flags`` are numasim.MPOL_MF_*; ``nodes`` may be a libnuma node string."""
        from numasim import syscalls

        nodes = node_set(nodes, "nodes", self)
        if not isinstance(nodes, NodeMask):
            nodes = _args.node_ids(nodes, "nodes")
        if isinstance(length, str):
            length = parse_size(length, "length")
        syscalls.mbind(self, addr, length, mode, nodes, self._maxnode(nodes), flags)

    def get_mempolicy(self, flags: int = 0, addr: int = 0) -> tuple[int, NodeMask]:
        """get_mempolicy(2): (mode or node, nodemask); flags numasim.MPOL_F_*."""
        from numasim import syscalls

        return syscalls.get_mempolicy(self, self._maxnode(), addr, flags)

    def _maxnode(self, nodes: list[int] | NodeMask = ()) -> int:
        """The maxnode a C caller passes to cover every node it names: MAX_NUMNODES + 1 reads
        bits 0..MAX_NUMNODES-1 (get_nodes' off-by-one); a node beyond that is read too, and the
        kernel's get_nodes() decides about it (EINVAL for a set bit it does not support)."""
        return max([self.machine.arch.max_numnodes, *(n + 1 for n in nodes)]) + 1


def _id(value: Any, what: str) -> int:
    """A uid_t/gid_t argument: 0..2**32-1, with -1 meaning "unchanged" (0xffffffff)."""
    v = _args.integer(value, f"{what} id")
    if v == -1:
        return 0xFFFFFFFF
    return _args.unsigned(v, f"{what} id", 32)
