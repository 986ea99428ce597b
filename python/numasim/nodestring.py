"""Node and CPU strings as libnuma reads them: ``numa_parse_nodestring()`` and friends.

numactl, migratepages, memhog and every program built on libnuma turn a user's ``0-3,!2``-style
text into a node mask with ``__numa_parse_nodestring()`` (numactl's libnuma.c). This module is
numasim's own implementation of that grammar, quirks included (tests/test_nodestring.py
also compares it with the host's own libnuma.so.1, through ctypes, where one is installed):

- ``""`` is the empty set; ``all`` is every allowed node (the whole remaining text must be
  ``all``: ``all,1`` is refused, ``1,all`` is ``all``).
- Items are separated by ``,``; an item is ``N`` or ``N-M``. A range sets the *allowed* nodes
  from N to M and skips the others, but both ends must be allowed; a backwards range ``3-1``
  sets only its first node (libnuma sets N before it looks at the ``-``).
- Numbers are read by ``strtoul(s, &end, 0)``: leading white space, a sign, ``0x`` hex and
  ``0`` octal prefixes are accepted (``010`` is node 8, ``08`` is refused: octal stops at the
  8, which then is not a separator; ``-0`` is node 0; a negative number wraps around
  ``unsigned long``, so ``-18446744073709551615`` is node 1 on a 64-bit libnuma).
- A leading ``!`` inverts the result, but over the bits ``0 .. numa_num_configured_nodes()-1``
  only: a count of nodes used as an id bound, so on a machine with sparse node ids the
  inversion reaches ids that do not exist and misses high ones that do (``!0`` on nodes
  {0, 2, 5} is {1, 2}). Bits at or above the count keep their value.
- A leading ``+`` (after the ``!``) makes the numbers relative to the allowed set: ``+0`` is
  the first allowed node, ``+1-2`` the second to the third. Only the first item's ``+`` means
  that: ``1,+2`` reads ``+2`` as strtoul does, plainly 2.
- A node that is not allowed, a number beyond the mask, an empty item (``0,``, ``,0``,
  ``0,,1``), a missing range end (``0-``) or anything after a number but ``,`` or ``-``
  (``1 ``, ``0:1``) fails the whole string. libnuma's I/O affinity forms (``netdev:``, ``pci:``,
  ``block:``, ``file:``, ``ip:``) name devices of the host; a simulated machine has none, so
  they are refused too.

Which nodes are *allowed* is what makes a string mean something: libnuma uses the calling
process's ``Mems_allowed`` (numa_all_nodes_ptr) for ``numa_parse_nodestring()`` and the nodes
``0 .. highest node directory in /sys/devices/system/node`` (numa_possible_nodes_ptr, holes
included) for ``numa_parse_nodestring_all()``. Given a Machine, numasim takes the Mems_allowed
of a task in the top cpuset; given a Task, that task's. ``numa_num_configured_nodes()`` counts
the node directories in numactl 2.0.18 and later (every online node; "Support empty memory
nodes", 2024), the nodes with memory before: pass ``nodes_with_memory=`` to mirror an older
libnuma.

Numbers past the mask size are refused as in numactl's master since "Check for out of bounds in
parse_node/cpu_string" (4976dce); up to 2.0.19 libnuma truncated them to an ``unsigned int``
(4294967296 read as node 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from numasim import _args
from numasim._core import NodeMask

if TYPE_CHECKING:
    from numasim.machine import Machine, Task

__all__ = [
    "NodeSet",
    "numa_num_possible_nodes",
    "parse_cpustring",
    "parse_cpustring_all",
    "parse_nodestring",
    "parse_nodestring_all",
]

#: What numasim accepts wherever a set of nodes is wanted: a NodeMask, node ids, or a string
#: in libnuma's syntax.
NodeSet = NodeMask | Iterable[int] | str

_SPACE = " \t\n\v\f\r"  # isspace() in the C locale
_DIGITS = {8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: libnuma's resolve_affinity() handlers (affinity.c): device names of the host.
_AFFINITY = ("netdev:", "ip:", "file:", "block:", "pci:")


def _strtoul(s: str, i: int, bits: int) -> tuple[int, int]:
    """C ``strtoul(s + i, &end, 0)`` with a ``bits``-bit unsigned long: (value, end index);
    ``end == i`` when nothing was converted."""
    n = len(s)
    j = i
    while j < n and s[j] in _SPACE:
        j += 1
    neg = j < n and s[j] == "-"
    if j < n and s[j] in "+-":
        j += 1
    base = 10
    if j < n and s[j] == "0":
        if j + 2 < n and s[j + 1] in "xX" and s[j + 2] in _DIGITS[16]:
            base, j = 16, j + 2
        else:
            base = 8
    start = j
    while j < n and s[j] in _DIGITS[base]:
        j += 1
    if j == start:
        return 0, i
    top = (1 << bits) - 1
    value = int(s[start:j], base)
    if value > top:
        value = top  # ERANGE: ULONG_MAX, whatever the sign
    elif neg:
        value = -value & top
    return value, j


class _Ctx:
    """What __numa_parse_nodestring() reads besides the text."""

    def __init__(self, what: str, allowed: list[int], conf: int, nbits: int, bits: int) -> None:
        self.what = what  # "node" or "cpu"
        self.allowed = allowed  # ascending
        self.allowed_set = frozenset(allowed)
        self.conf = conf  # numa_num_configured_nodes() / _cpus()
        self.nbits = nbits
        self.bits = bits  # libnuma's unsigned long

    def get_nr(self, s: str, i: int, relative: bool) -> tuple[int, int]:
        """get_nr(): a number, or with ``relative`` the index of an allowed node."""
        nr, end = _strtoul(s, i, self.bits)
        if not relative or end == i:
            return nr, end
        # "Find the nth set bit": nr is a (signed) long; past the last allowed node the loop
        # runs off the mask's end, which the caller refuses as out of range.
        signed = nr - (1 << self.bits) if nr >> (self.bits - 1) else nr
        if 0 <= signed < len(self.allowed):
            return self.allowed[signed], end
        return (1 << self.bits) - 1, end

    def fail(self, text: str, part: str, why: str) -> ValueError:
        return ValueError(f"{self.what} string {text!r}: {why} ({part!r})")


def _parse(text: Any, ctx: _Ctx, affinity: bool) -> NodeMask:
    """__numa_parse_nodestring() / __numa_parse_cpustring() (numactl libnuma.c, master after
    2.0.19): the grammar of the module documentation."""
    if not isinstance(text, str):
        raise TypeError(f"a {ctx.what} string must be a str, not {type(text).__name__}")
    if "\0" in text:
        raise ValueError(f"{ctx.what} string {text!r} holds a NUL character")
    s, n, i = text, len(text), 0
    mask: set[int] = set()
    if not s:
        return NodeMask((), nbits=ctx.nbits)
    invert = s.startswith("!")
    i += invert
    relative = s.startswith("+", i)
    i += relative
    while True:
        if i < n and s[i] in _ALPHA:
            if s[i:] == "all":
                mask = set(ctx.allowed)
                i = n + 1
                break
            if affinity and s.startswith(_AFFINITY, i):
                raise ctx.fail(
                    text,
                    s[i:],
                    "libnuma's I/O affinity names a device of the host; a simulated machine "
                    "has none",
                )
        arg, end = ctx.get_nr(s, i, relative)
        if end == i:
            raise ctx.fail(text, s[i:], f"unparseable {ctx.what} description")
        if arg >= ctx.nbits or arg not in ctx.allowed_set:
            raise ctx.fail(text, s[i:end], f"{ctx.what} argument is out of range (not allowed)")
        mask.add(arg)
        i = end
        if s.startswith("-", i):
            i += 1
            arg2, end2 = ctx.get_nr(s, i, relative)
            if end2 == i:
                raise ctx.fail(text, s[i:], f"missing {ctx.what} argument")
            if arg2 >= ctx.nbits or arg2 not in ctx.allowed_set:
                raise ctx.fail(text, s[i:end2], f"{ctx.what} argument out of range (not allowed)")
            mask.update(k for k in ctx.allowed if arg <= k <= arg2)
            i = end2
        # while (*s++ == ','); then s[-1] must be the terminating NUL.
        c = s[i] if i < n else ""
        i += 1
        if c != ",":
            if c:
                raise ctx.fail(text, s[i - 1 :], "unexpected text after a number")
            break
    if invert:
        mask ^= set(range(ctx.conf))
    return NodeMask(sorted(mask), nbits=ctx.nbits)


def _mask_list(value: Any, name: str) -> list[int]:
    ids = list(value) if isinstance(value, NodeMask) else _args.node_ids(value, name)
    if any(i < 0 for i in ids):
        raise ValueError(f"{name} holds a negative id {min(ids)}")
    return sorted(set(ids))


def _node_ctx(
    context: Machine | Task | None,
    nodes_with_memory: Any,
    allowed: Any,
    possible: Any,
    all_nodes: bool,
) -> _Ctx:
    machine = getattr(context, "machine", context)
    if machine is not None:
        online = list(machine.online_nodes)
        nbits = machine.arch.max_numnodes
        bits = machine.arch.bits_per_long
        # numa_possible_nodes_ptr: 0 .. the highest node directory of sysfs (online nodes).
        if possible is None:
            possible = range(max(online) + 1)
        # numa_memnode_ptr, 2.0.18+: every node directory.
        if nodes_with_memory is None:
            nodes_with_memory = online
        # numa_all_nodes_ptr: Mems_allowed of the process (a task of the top cpuset).
        if allowed is None:
            if context is machine:
                allowed = machine.cpuset_info("/").mems
            else:
                allowed = context.mems_allowed  # type: ignore[union-attr]
    else:
        if allowed is None and not (all_nodes and possible is not None):
            raise TypeError(
                "parse a node string for a Machine or a Task (whose allowed nodes give it its "
                "meaning), or pass allowed= (and possible=, nodes_with_memory=) yourself"
            )
        given = (allowed, possible, nodes_with_memory)
        nbits = next((x.nbits for x in given if isinstance(x, NodeMask)), 1024)
        bits = 64
    allowed_l = [] if allowed is None else _mask_list(allowed, "allowed")
    if possible is None:
        possible = range(max(allowed_l, default=-1) + 1)
    possible_l = _mask_list(possible, "possible")
    if nodes_with_memory is None:
        conf_l = allowed_l if allowed is not None else possible_l
    else:
        conf_l = _mask_list(nodes_with_memory, "nodes_with_memory")
    return _Ctx("node", possible_l if all_nodes else allowed_l, len(conf_l), nbits, bits)


def numa_num_possible_nodes(machine: Machine) -> int:
    """libnuma's ``numa_num_possible_nodes()`` on ``machine``: nodemask_sz, the hex digits of
    the Mems_allowed line of /proc/self/status times 4 (set_nodemask_size()). The kernel
    prints MAX_NUMNODES bits there in 32-bit chunks, the first one as wide as its bits need,
    so this is MAX_NUMNODES rounded up to a hex digit. ``numa_migrate_pages()`` passes it + 1
    as maxnode: 65 on x86_64 (NODES_SHIFT 6), 1025 on ia64."""
    return (machine.arch.max_numnodes + 3) // 4 * 4


def parse_nodestring(
    text: str,
    machine_or_task: Machine | Task | None = None,
    *,
    nodes_with_memory: NodeMask | Iterable[int] | None = None,
    allowed: NodeMask | Iterable[int] | None = None,
    possible: NodeMask | Iterable[int] | None = None,
) -> NodeMask:
    """``numa_parse_nodestring(text)`` (libnuma) for a process of ``machine_or_task``: the
    nodes of a numactl-style node string, over the nodes that process may use.

    ``allowed`` overrides those nodes (libnuma's numa_all_nodes_ptr, the process's
    Mems_allowed), ``nodes_with_memory`` the set whose *size* bounds ``!`` (what
    numa_num_configured_nodes() counts), ``possible`` the nodes of
    :func:`parse_nodestring_all`. Without a machine, ``allowed`` is required. Invalid text
    raises ValueError naming the part libnuma refuses. See the module documentation for the
    grammar and its quirks.

    >>> import numasim
    >>> m = numasim.Machine(nodes=4, node_memory="64MiB")
    >>> list(parse_nodestring("0-1,3", m)), list(parse_nodestring("!1", m))
    ([0, 1, 3], [0, 2, 3])
    >>> list(parse_nodestring("+1", m, allowed=[1, 3]))    # the second allowed node
    [3]
    """
    ctx = _node_ctx(machine_or_task, nodes_with_memory, allowed, possible, all_nodes=False)
    return _parse(text, ctx, affinity=True)


def parse_nodestring_all(
    text: str,
    machine_or_task: Machine | Task | None = None,
    *,
    nodes_with_memory: NodeMask | Iterable[int] | None = None,
    possible: NodeMask | Iterable[int] | None = None,
) -> NodeMask:
    """``numa_parse_nodestring_all(text)``: as :func:`parse_nodestring`, over every node id up
    to the highest node of the machine (libnuma's numa_possible_nodes_ptr: holes included),
    whatever the process may use. numactl's ``--all`` option reads node strings this way."""
    ctx = _node_ctx(machine_or_task, nodes_with_memory, None, possible, all_nodes=True)
    return _parse(text, ctx, affinity=True)


def _cpu_ctx(context: Machine | Task, all_cpus: bool) -> _Ctx:
    machine = getattr(context, "machine", context)
    nr = machine.nr_cpus
    bits = machine.arch.bits_per_long
    cpus = machine.core.cpumask_bits()
    if all_cpus:
        allowed: list[int] = list(range(nr))
    else:
        path = "/" if context is machine else context.cpuset  # type: ignore[union-attr]
        allowed = list(machine.cpuset_info(path).cpus)
    return _Ctx("cpu", allowed, nr, cpus, bits)


def parse_cpustring(text: str, machine_or_task: Machine | Task) -> NodeMask:
    """``numa_parse_cpustring(text)``: the same grammar for CPU numbers, over the CPUs the
    process may run on (its cpuset's); ``!`` inverts over ``0 .. numa_num_configured_cpus()
    - 1`` (CPU ids up to the highest). The result is a CPU mask (a NodeMask of the machine's
    cpumask width)."""
    return _parse(text, _cpu_ctx(machine_or_task, all_cpus=False), affinity=False)


def parse_cpustring_all(text: str, machine_or_task: Machine | Task) -> NodeMask:
    """``numa_parse_cpustring_all(text)``: over every CPU id up to the highest."""
    return _parse(text, _cpu_ctx(machine_or_task, all_cpus=True), affinity=False)


def node_set(value: Any, name: str, context: Machine | Task, *, all_nodes: bool = False) -> Any:
    """A node-set argument as numasim takes it everywhere: a str is a libnuma node string for
    ``context`` (the calling task, or the machine's top cpuset) and becomes a NodeMask;
    anything else is returned as it is, for the caller's own checks (node ids, a NodeMask,
    or the system calls' user-memory forms)."""
    if isinstance(value, str):
        try:
            if all_nodes:
                return parse_nodestring_all(value, context)
            return parse_nodestring(value, context)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
    return value
