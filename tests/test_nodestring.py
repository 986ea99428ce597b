"""libnuma's node strings: numasim.parse_nodestring / parse_nodestring_all and their use
everywhere a node set is taken.

The grammar is __numa_parse_nodestring() of numactl's libnuma.c (master, after 4976dce).
Cases are written the way libnuma's test/node-parse.c prints them ("result: 1 3 5 6 7 " or
"Failed to convert `x'"); where the host has a libnuma.so.1, random strings are also parsed
by it through ctypes and the two must agree.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import numasim
from numasim import NodeMask, NodeSpec, parse_nodestring, parse_nodestring_all


def node_parse(text: str, ctx, **kw) -> str:
    """What test/node-parse.c prints for one argument."""
    try:
        mask = parse_nodestring(text, ctx, **kw)
    except ValueError:
        return f"Failed to convert `{text}'"
    return "result: " + "".join(f"{n} " for n in mask)


@pytest.fixture(scope="module")
def m32():
    return numasim.Machine(semantics="modern", nodes=32, node_memory="16MiB", cpus_per_node=1)


@pytest.fixture(scope="module")
def sparse():
    # Node ids 0, 2 and 5 (holes at 1, 3, 4), node 5 CPU-less.
    return numasim.Machine(
        semantics="modern",
        nodes=[
            NodeSpec(0, "16MiB", [0, 1]),
            NodeSpec(2, "16MiB", [2, 3]),
            NodeSpec(5, "16MiB", []),
        ],
    )


# The examples of libnuma.c's own comment on __numa_parse_nodestring() ("an ascii string such
# as 25 or 12-15 or 1,3,5-7 or +6-10") and numactl.8's ("all", "!", "+"), as node-parse
# prints them on a 32-node machine whose process may use every node.
NODE_PARSE_32 = [
    ("25", "result: 25 "),
    ("12-15", "result: 12 13 14 15 "),
    ("1,3,5-7", "result: 1 3 5 6 7 "),
    ("+6-10", "result: 6 7 8 9 10 "),
    ("all", "result: " + "".join(f"{n} " for n in range(32))),
    ("!0-29", "result: 30 31 "),
    ("!all", "result: "),
    ("", "result: "),
    ("1,all", "result: " + "".join(f"{n} " for n in range(32))),
    ("all,1", "Failed to convert `all,1'"),
    ("32", "Failed to convert `32'"),
    ("0-32", "Failed to convert `0-32'"),
    ("3-1", "result: 3 "),  # the first node is set before the range is looked at
    ("0x1f", "result: 31 "),
    ("010", "result: 8 "),  # strtoul base 0: octal
    ("08", "Failed to convert `08'"),  # octal stops at 8, which is no separator
    ("-0", "result: 0 "),
    ("-1", "Failed to convert `-1'"),  # ULONG_MAX
    (" 2", "result: 2 "),  # strtoul skips leading white space
    ("2 ", "Failed to convert `2 '"),
    ("0,", "Failed to convert `0,'"),
    (",0", "Failed to convert `,0'"),
    ("0,,1", "Failed to convert `0,,1'"),
    ("0-", "Failed to convert `0-'"),
    ("0:1", "Failed to convert `0:1'"),
    ("!", "Failed to convert `!'"),
    ("+", "Failed to convert `+'"),
    ("1,+2", "result: 1 2 "),  # a later '+' is strtoul's sign
    ("netdev:eth0", "Failed to convert `netdev:eth0'"),
    ("zero", "Failed to convert `zero'"),
    ("18446744073709551616", "Failed to convert `18446744073709551616'"),  # ERANGE
]


@pytest.mark.parametrize(("text", "printed"), NODE_PARSE_32)
def test_node_parse_cases(m32, text, printed):
    assert node_parse(text, m32) == printed


def test_relative_nodes_count_within_the_allowed_set(m32):
    # +N is the N-th allowed node; past the last one the string fails.
    assert node_parse("+0,+2", m32, allowed=[4, 9, 17]) == "result: 4 17 "
    assert node_parse("+0-1", m32, allowed=[4, 9, 17]) == "result: 4 9 "
    assert node_parse("+3", m32, allowed=[4, 9, 17]) == "Failed to convert `+3'"
    assert node_parse("!+0", m32, allowed=[4, 9, 17]) == "result: " + "".join(
        f"{n} " for n in range(32) if n != 4
    )


def test_a_range_skips_nodes_not_allowed_but_its_ends_must_be(m32):
    assert node_parse("2-6", m32, allowed=[2, 4, 6]) == "result: 2 4 6 "
    assert node_parse("2-5", m32, allowed=[2, 4, 6]) == "Failed to convert `2-5'"
    assert node_parse("3", m32, allowed=[2, 4, 6]) == "Failed to convert `3'"


def test_sparse_node_ids(sparse):
    assert list(parse_nodestring("all", sparse)) == [0, 2, 5]
    assert list(parse_nodestring("0-5", sparse)) == [0, 2, 5]
    # "!" inverts over 0 .. numa_num_configured_nodes()-1, a count used as an id bound.
    assert list(parse_nodestring("!0", sparse)) == [1, 2]
    with pytest.raises(ValueError, match="out of range"):
        parse_nodestring("1", sparse)
    # numa_parse_nodestring_all: every id up to the highest node, holes included.
    assert list(parse_nodestring_all("1,3-4", sparse)) == [1, 3, 4]
    assert list(parse_nodestring_all("all", sparse)) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="out of range"):
        parse_nodestring_all("6", sparse)


def test_a_task_reads_strings_over_its_own_cpuset(m32):
    m = numasim.Machine(semantics="modern", nodes=8, node_memory="16MiB", cpus_per_node=1)
    m.cpuset("/job", mems="4-7", cpus=[4])
    t = m.spawn(cpu=4, cpuset="/job")
    assert list(parse_nodestring("all", t)) == [4, 5, 6, 7]
    assert list(parse_nodestring("+1-2", t)) == [5, 6]
    with pytest.raises(ValueError, match="out of range"):
        parse_nodestring("0", t)
    assert list(parse_nodestring_all("0", t)) == [0]


def test_errors_name_the_part_refused(m32):
    with pytest.raises(ValueError, match=r"'0,x1'.*unparseable.*'x1'"):
        parse_nodestring("0,x1", m32)
    with pytest.raises(ValueError, match=r"'33'"):
        parse_nodestring("1-33", m32)
    with pytest.raises(TypeError):
        parse_nodestring(3, m32)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="allowed="):
        parse_nodestring("0")


def test_without_a_machine_the_allowed_nodes_are_given():
    assert list(parse_nodestring("all", allowed=[1, 3])) == [1, 3]
    assert list(parse_nodestring("!1", allowed=[0, 1, 2])) == [0, 2]
    every = NodeMask(range(64), nbits=64)
    assert parse_nodestring("63", allowed=every).nbits == 64
    with pytest.raises(ValueError):
        parse_nodestring("64", allowed=every)


def test_numa_num_possible_nodes_gives_numactls_maxnode():
    assert numasim.numa_num_possible_nodes(numasim.Machine(semantics="modern")) + 1 == 65
    ia64 = numasim.Machine(semantics="modern", arch="ia64", nodes=2, node_memory="64MiB")
    assert numasim.numa_num_possible_nodes(ia64) + 1 == 1025


# ----- properties -------------------------------------------------------------------------


node_sets = st.sets(st.integers(0, 31), max_size=32)


@given(node_sets)
def test_the_kernel_list_format_reads_back(nodes):
    m = numasim.Machine(semantics="modern", nodes=1, node_memory="16MiB")
    every = NodeMask(range(32), nbits=32)
    text = NodeMask(sorted(nodes), nbits=32).format_list()
    assert set(parse_nodestring(text, allowed=every)) == nodes
    del m


@given(node_sets, st.sets(st.integers(0, 31), min_size=1, max_size=32))
def test_invert_and_relative_follow_their_definitions(nodes, allowed):
    allowed_l = sorted(allowed)
    every = NodeMask(range(32), nbits=32)
    text = ",".join(str(n) for n in sorted(nodes))
    if text:
        # "!" complements over 0 .. conf-1 and leaves the bits above as they are.
        got = set(parse_nodestring("!" + text, allowed=every, nodes_with_memory=range(20)))
        assert got == (set(range(20)) - nodes) | {n for n in nodes if n >= 20}
    idx = sorted({i for i in nodes if i < len(allowed_l)})
    if idx:
        rel = "+" + ",".join(str(i) for i in idx)
        assert set(parse_nodestring(rel, allowed=allowed_l)) == {allowed_l[i] for i in idx}
    # A string naming a node outside the allowed set fails as a whole.
    outside = sorted(set(range(32)) - allowed)
    if outside:
        with pytest.raises(ValueError):
            parse_nodestring(f"{outside[0]}", allowed=allowed_l)


# ----- the host's libnuma as an oracle ----------------------------------------------------


class _Bitmask(ctypes.Structure):
    _fields_ = [("size", ctypes.c_ulong), ("maskp", ctypes.POINTER(ctypes.c_ulong))]


def _host_libnuma():
    name = ctypes.util.find_library("numa")
    if name is None or not os.path.isdir("/sys/devices/system/node"):
        return None
    lib = ctypes.CDLL(name)
    if lib.numa_available() < 0:
        return None
    lib.numa_parse_nodestring.restype = ctypes.POINTER(_Bitmask)
    lib.numa_parse_nodestring.argtypes = [ctypes.c_char_p]
    lib.numa_bitmask_free.argtypes = [ctypes.POINTER(_Bitmask)]
    return lib


def _host_context():
    with open("/proc/self/status") as f:
        status = f.read()
    mems = re.search(r"^Mems_allowed:\t(.*)$", status, re.M).group(1)
    nbits = sum(c in "0123456789abcdefABCDEF" for c in mems) * 4
    allowed = numasim.NodeMask.parse_list(
        re.search(r"^Mems_allowed_list:\t(.*)$", status, re.M).group(1), nbits
    )
    nodes = sorted(
        int(d[4:])
        for d in os.listdir("/sys/devices/system/node")
        if d.startswith("node") and d[4:].isdigit()
    )
    return allowed, nodes


LIBNUMA = _host_libnuma()
pieces = st.sampled_from(
    ["0", "1", "2", "00", "0x0", "010", "-0", "-1", "+", "!", ",", "-", " ", "all", "x", "9"]
)


@pytest.mark.skipif(LIBNUMA is None, reason="no libnuma.so.1 on this host")
@given(st.lists(pieces, max_size=6).map("".join))
def test_parses_as_the_hosts_libnuma_does(text):
    allowed, nodes = _host_context()
    ptr = LIBNUMA.numa_parse_nodestring(text.encode())
    if not ptr:
        want = None
    else:
        bm = ptr.contents
        words = (bm.size + 63) // 64
        want = [i for i in range(bm.size) if bm.maskp[i // 64] >> (i % 64) & 1 and i < 64 * words]
        LIBNUMA.numa_bitmask_free(ptr)
    try:
        got = list(parse_nodestring(text, allowed=allowed, nodes_with_memory=nodes))
    except ValueError:
        got = None
    assert got == want, text


# ----- node strings wherever a node set is taken --------------------------------------------


def test_strings_are_taken_by_syscalls_tasks_and_cpusets():
    m = numasim.Machine(semantics="modern", nodes=4, node_memory="64MiB")
    root, app = m.spawn(uid=0), m.spawn(uid=0, cpu=0)
    a = app.mmap(8 * m.page_size)
    app.set_mempolicy(numasim.MPOL_INTERLEAVE, "0-1")
    app.touch(a, 8 * m.page_size, write=True)
    assert app.resident_by_node() == {0: 4, 1: 4, 2: 0, 3: 0}
    assert numasim.migrate_pages(root, app.pid, 65, "0-1", "2-3") == 0
    assert app.resident_by_node() == {0: 0, 1: 0, 2: 4, 3: 4}
    app.mbind(a, 8 * m.page_size, numasim.MPOL_BIND, "!0-2", numasim.MPOL_MF_MOVE)
    assert app.resident_by_node() == {0: 0, 1: 0, 2: 0, 3: 8}
    numasim.mbind(app, a, 8 * m.page_size, numasim.MPOL_BIND, "1", 65, numasim.MPOL_MF_MOVE)
    assert app.resident_by_node()[1] == 8
    m.cpuset("/half", mems="2-3", cpus="4-5")
    assert list(m.cpuset_info("/half").mems) == [2, 3]
    assert list(m.cpuset_info("/half").cpus) == [4, 5]
    m.cpuset_set_mems("/half", "3")
    assert list(m.cpuset_info("/half").mems) == [3]
    assert numasim.migration_pairs("0-1", "2-3", "2.6.16") == [(0, 2), (1, 3)]
    m.check()


def test_a_bad_string_changes_nothing():
    m = numasim.Machine(semantics="modern", nodes=4, node_memory="64MiB")
    root, app = m.spawn(uid=0), m.spawn(uid=0, cpu=0)
    a = app.mmap(4 * m.page_size)
    app.touch(a, 4 * m.page_size, write=True)
    with pytest.raises(ValueError, match=r"new_nodes: node string '4'"):
        numasim.migrate_pages(root, app.pid, 65, "0", "4")
    with pytest.raises(ValueError, match=r"nodes: node string '0-'"):
        app.set_mempolicy(numasim.MPOL_BIND, "0-")
    with pytest.raises(ValueError, match="mems"):
        m.cpuset("/x", mems="0,,1")
    assert app.resident_by_node()[0] == 4
    assert m.last_report is None
    m.check()


def test_sizes_are_taken_wherever_a_length_is():
    m = numasim.Machine(semantics="modern", nodes=2, node_memory="1.5GiB", swap="0.5GiB")
    assert m.node_usage()[0].total * m.page_size == 3 << 29
    assert m.swap_info()[0].pages * m.page_size == 1 << 29
    t = m.spawn(uid=0)
    a = t.mmap("1MiB")
    t.touch(a, "64KiB", write=True)
    assert t.resident_by_node()[0] == 16
    assert (t.page_nodes(a, "64KiB") == 0).all()
    t.mbind(a, "1MiB", numasim.MPOL_BIND, "1", numasim.MPOL_MF_MOVE)
    assert t.resident_by_node()[1] == 16
    with pytest.raises(ValueError, match=r"length '1\.5B' is not a whole number"):
        t.touch(a, "1.5B")
    t.munmap(a, "1MiB")
    assert t.resident_by_node()[1] == 0
    m.check()
