"""Node lists given for convenience (issue 9, item 7): numasim builds the words a C caller would
pass with the given maxnode, and the kernel's get_nodes() decides. A node the kernel does not
read with that maxnode is left out with a NodeListWarning, never an error the kernel lacks."""

from __future__ import annotations

import errno
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numasim
from numasim import NodeListWarning

PS = 4096


def scene(sem: str):
    m = numasim.Machine(semantics=sem, nodes=4, node_memory="16MiB", swap="16MiB")
    t = m.spawn(uid=0, cpu=0)
    a = t.mmap(8 * PS)
    t.touch(a, 8 * PS, write=True)
    return m, t, a


def c_words(nodes: list[int], maxnode: int, arch) -> np.ndarray:
    """What a C program declares and fills: ceil((maxnode-1)/BITS_PER_LONG) unsigned longs."""
    bits = arch.bits_per_long
    n = max(maxnode - 1, 0)
    w = np.zeros(-(-n // bits), dtype=arch.word_dtype)
    for x in nodes:
        if x < n:
            w[x // bits] |= arch.word_dtype.type(1 << (x % bits))
    return w


def outcome(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        return -e.errno


@pytest.mark.parametrize("sem", numasim.SEMANTICS)
@pytest.mark.parametrize("maxnode", [0, 2**64 - 1, 32770])
def test_maxnode_the_kernel_refuses_is_einval(sem, maxnode):
    # get_nodes(): --maxnode wraps for 0 (non-NULL pointer), and more than a page of bits.
    _, t, _ = scene(sem)
    with pytest.raises(OSError) as e:
        numasim.migrate_pages(t, 0, maxnode, [0], [0])
    assert e.value.errno == errno.EINVAL


@pytest.mark.parametrize("sem", numasim.SEMANTICS)
def test_a_node_maxnode_does_not_read_is_left_out_with_a_warning(sem):
    m, t, a = scene(sem)
    _, t2, _ = scene(sem)
    with pytest.warns(NodeListWarning, match=r"new_nodes: node\(s\) \[1\] lie beyond bit 0"):
        got = outcome(lambda: numasim.migrate_pages(t, 0, 2, [0], [1]))
    # Exactly what a C caller gets for the same call: bit 1 is not read, new is empty.
    want = outcome(
        lambda: numasim.migrate_pages(t2, 0, 2, np.array([1], np.uint64), c_words([], 2, m.arch))
    )
    assert got == want
    assert got == (-errno.EINVAL if sem == "modern" else 0)  # modern: nothing left of new
    assert t.page_nodes(a, 8 * PS).tolist() == t2.page_nodes(t2.vmas()[0].start, 8 * PS).tolist()
    m.check()


def test_negative_node_ids_are_refused():
    _, t, _ = scene("modern")
    with pytest.raises(ValueError, match="negative node id -1"):
        numasim.migrate_pages(t, 0, 65, [0], [-1])


@settings(deadline=None)
@given(
    sem=st.sampled_from(numasim.SEMANTICS),
    arch=st.sampled_from(["x86_64", "i386", "ia64"]),
    maxnode=st.sampled_from([1, 2, 17, 31, 32, 33, 63, 64, 65, 66, 129, 1025, 1026]),
    old=st.lists(st.integers(0, 1100), max_size=4),
    new=st.lists(st.integers(0, 1100), max_size=4),
)
def test_node_lists_are_the_words_a_c_caller_passes(sem, arch, maxnode, old, new):
    """Convenience lists give the kernel's answer for the words a C program would pass."""
    results = []
    for convenient in (True, False):
        m = numasim.Machine(arch=arch, semantics=sem, nodes=2, node_memory="4MiB", swap="4MiB")
        t = m.spawn(uid=0)
        a = t.mmap(4 * m.page_size)
        t.touch(a, 4 * m.page_size, write=True)
        if convenient:
            args = (old, new)
        else:
            args = (c_words(old, maxnode, m.arch), c_words(new, maxnode, m.arch))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NodeListWarning)
            r = outcome(numasim.migrate_pages, t, 0, maxnode, *args)
        m.check()
        results.append((r, t.page_nodes(a, 4 * m.page_size).tolist()))
    assert results[0] == results[1]
