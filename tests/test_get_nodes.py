"""get_nodes(): user (nmask, maxnode) pairs -> nodemask_t, per spec §1.1 (2.6.16; "v5" follows it,
spec §9.1) and §1.2 (modern), for i386 (32-bit words, MAX_NUMNODES 16), x86_64 (64) and ia64 (1024),
plus NodeMask.to_user(), its inverse."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numasim
from numasim import FAULT, NodeMask

EINVAL, EFAULT = errno.EINVAL, errno.EFAULT
OLD = ("2.6.16", "v5")
NEW = ("modern",)
ALL = OLD + NEW

I386, X86_64, IA64 = numasim.arch("i386"), numasim.arch("x86_64"), numasim.arch("ia64")


def words(arch, *ws):
    return np.array(ws, dtype=arch.word_dtype)


def get(arch, buf, maxnode, semantics):
    """The nodes read, or the errno of the OSError."""
    try:
        m = NodeMask.from_user(buf, maxnode, arch, semantics)
    except OSError as e:
        assert type(e) is OSError and e.__notes__
        return e.errno
    assert m.nbits == arch.max_numnodes
    return list(m)


# --- a transcription of both kernel texts, for the property test -----------------------------


class _Fault(Exception):
    pass


def ref_get_nodes(buf, maxnode, arch, semantics):
    """mm/mempolicy.c get_nodes(): 2.6.18 text (== 2.6.16) and 6.x text, line by line."""
    bpl, page, MAX = arch.bits_per_long, arch.page_size, arch.max_numnodes
    ulong = (1 << bpl) - 1

    def low(bits):
        return (1 << bits) - 1

    def get_user(k):
        if buf is FAULT or k >= len(buf):
            raise _Fault
        return int(buf[k])

    maxnode = ((maxnode & ulong) - 1) & ulong  # --maxnode on an unsigned long
    if maxnode == 0 or buf is None:
        return []
    if maxnode > page * 8:
        return EINVAL
    try:
        if semantics in OLD:
            nlongs = -(-maxnode // bpl)
            endmask = ulong if maxnode % bpl == 0 else low(maxnode % bpl)
            supported = -(-MAX // bpl)
            if nlongs > supported:
                for k in range(supported, nlongs):
                    t = get_user(k)
                    if k == nlongs - 1:
                        t &= endmask
                    if t:
                        return EINVAL
                nlongs, endmask = supported, ulong
            got = [get_user(k) for k in range(nlongs)]  # one copy_from_user
            got[-1] &= endmask
        else:
            while maxnode > MAX:
                bits = min(maxnode, bpl)
                t = get_user((maxnode - 1) // bpl)
                if bits % bpl:
                    t &= low(bits % bpl)
                if maxnode - bits >= MAX:
                    maxnode -= bits
                else:
                    maxnode = MAX
                    t &= ~low(MAX % bpl)
                if t:
                    return EINVAL
            got = [get_user(k) for k in range(-(-maxnode // bpl))]
            if maxnode % bpl:
                got[-1] &= low(maxnode % bpl)
    except _Fault:
        return EFAULT
    value = sum(w << (bpl * k) for k, w in enumerate(got))
    return [n for n in range(MAX) if value >> n & 1]


# --- golden table: every rule of spec §1.1 / §1.2 ---------------------------------------------

# (rule, arch, buf words (None = NULL, FAULT), maxnode, {semantics: expected})
GOLDEN = [
    # §1.1.1 / §1.4: only bits 0 .. maxnode-2 are read
    ("1.1.1 off-by-one", I386, [0b1011], 3, {ALL: [0, 1]}),
    ("1.1.1 off-by-one", I386, [0b1011], 4, {ALL: [0, 1]}),
    ("1.1.1 off-by-one", I386, [0b1011], 5, {ALL: [0, 1, 3]}),
    ("1.1.1 off-by-one", X86_64, [1 << 63], 64, {ALL: []}),
    ("1.1.1 off-by-one", X86_64, [1 << 63], 65, {ALL: [63]}),
    ("1.1.1 off-by-one", IA64, [0] * 15 + [1 << 63], 1024, {ALL: []}),
    ("1.1.1 off-by-one", IA64, [0] * 15 + [1 << 63], 1025, {ALL: [1023]}),
    # §1.1.2: NULL or maxnode 1 -> empty, no access at all
    ("1.1.2 NULL", X86_64, None, 0, {ALL: []}),
    ("1.1.2 NULL", X86_64, None, 2**64 - 1, {ALL: []}),
    ("1.1.2 NULL", I386, None, 5, {ALL: []}),
    ("1.1.2 maxnode 1", X86_64, FAULT, 1, {ALL: []}),
    ("1.1.2 maxnode 1", X86_64, [0xFF], 1, {ALL: []}),
    ("1.1.2 maxnode 1", IA64, [], 1, {ALL: []}),
    # §1.1.3: maxnode-1 > PAGE_SIZE*8 -> EINVAL; maxnode 0 with a pointer wraps -> EINVAL
    ("1.1.3 maxnode 0", X86_64, [1], 0, {ALL: EINVAL}),
    ("1.1.3 maxnode 0", I386, FAULT, 0, {ALL: EINVAL}),
    ("1.1.3 page limit", X86_64, FAULT, 32769, {ALL: EFAULT}),
    ("1.1.3 page limit", X86_64, FAULT, 32770, {ALL: EINVAL}),
    ("1.1.3 page limit", I386, FAULT, 32769, {ALL: EFAULT}),
    ("1.1.3 page limit", I386, FAULT, 32770, {ALL: EINVAL}),
    ("1.1.3 page limit", IA64, FAULT, 131073, {ALL: EFAULT}),
    ("1.1.3 page limit", IA64, FAULT, 131074, {ALL: EINVAL}),
    ("1.1.3 page limit", numasim.arch("ia64-64k"), FAULT, 524289, {ALL: EFAULT}),
    ("1.1.3 page limit", numasim.arch("ia64-64k"), FAULT, 524290, {ALL: EINVAL}),
    ("1.1.3 ULONG_MAX", X86_64, [1], 2**64 - 1, {ALL: EINVAL}),
    # unsigned long is 32 bits on i386: a C caller's maxnode is taken modulo 2**32
    ("i386 unsigned long", I386, [0b1011], 2**32 + 3, {ALL: [0, 1]}),
    ("i386 unsigned long", I386, FAULT, 2**32 + 1, {ALL: []}),
    ("i386 unsigned long", I386, [0b1011], 2**32, {ALL: EINVAL}),
    ("i386 unsigned long", I386, [0b1011], 2**64 - 1, {ALL: EINVAL}),
    # §1.1.5/§1.1.7: endmask on the last copied word
    ("1.1.5 endmask", I386, [0xFFFFFFFF], 9, {ALL: list(range(8))}),
    ("1.1.5 endmask", X86_64, [2**64 - 1], 33, {ALL: list(range(32))}),
    # §1.1.7: the copy faults -> EFAULT
    ("1.1.7 copy fault", I386, [], 2, {ALL: EFAULT}),
    ("1.1.7 copy fault", X86_64, FAULT, 2, {ALL: EFAULT}),
    ("1.1.7 copy fault", IA64, [0] * 15, 1025, {ALL: EFAULT}),
    ("1.1.7 copy fault", IA64, [0] * 3, 200, {ALL: EFAULT}),
    # §1.1.6: words beyond BITS_TO_LONGS(MAX_NUMNODES) must be zero (last under endmask)
    ("1.1.6 high word set", X86_64, [1, 1], 66, {ALL: EINVAL}),
    ("1.1.6 high word zero", X86_64, [1, 0], 66, {ALL: [0]}),
    ("1.1.6 high word fault", X86_64, [1], 66, {ALL: EFAULT}),
    ("1.1.6 high word set", I386, [1, 0, 4], 97, {ALL: EINVAL}),
    ("1.1.6 high word set", IA64, [1] + [0] * 15 + [1], 1026, {ALL: EINVAL}),
    ("1.1.6 high word unread", IA64, [1] + [0] * 15 + [1], 1025, {ALL: [0]}),
    ("1.1.6 high word, bit 83 < 84", I386, [1, 0, 1 << 19], 85, {ALL: EINVAL}),
    # §1.1.6(b) vs §1.2.3(b): bits past maxnode-1 in the top word: ignored by 2.6.16, not by 6.x
    ("1.2.3b stray top bits", I386, [1, 0, 1 << 20], 85, {OLD: [0], NEW: EINVAL}),
    ("1.2.3 example", X86_64, [1, 1 << (110 - 64)], 101, {OLD: [0], NEW: EINVAL}),
    ("1.2.3 example, bit 99", X86_64, [1, 1 << (99 - 64)], 101, {ALL: EINVAL}),
    # check order: 2.6.16 reads high words from the lowest; 6.x from the top one down
    ("order", I386, [1, 5], 97, {OLD: EINVAL, NEW: EFAULT}),
    ("order", X86_64, [0, 1], 193, {OLD: EINVAL, NEW: EFAULT}),
    ("order", X86_64, [1, 0], 193, {ALL: EFAULT}),
    ("order", X86_64, [1, 0, 0], 193, {ALL: [0]}),
    # §1.1.8 vs §1.2.3(a): bits >= MAX_NUMNODES inside the last supported word (i386: 16..31)
    ("1.1.8 inside last word", I386, [1 | 1 << 16 | 1 << 31], 33, {OLD: [0], NEW: EINVAL}),
    ("1.1.8 inside last word", I386, [1 | 1 << 16], 18, {OLD: [0], NEW: EINVAL}),
    ("1.1.8 inside last word", I386, [1 | 1 << 16], 17, {ALL: [0]}),
    # 6.x, derived from its text: when MAX_NUMNODES % BITS_PER_LONG != 0 and the top word is not
    # the word holding MAX_NUMNODES, the low MAX_NUMNODES % BITS_PER_LONG bits of the *top* word
    # are masked instead, so bits 16..47 go unchecked on i386 with maxnode 41.
    ("6.x mask quirk", I386, [1 | 1 << 20, 1 << 1], 41, {OLD: EINVAL, NEW: [0]}),
    ("6.x mask quirk", I386, [1, 1 << 17], 51, {OLD: EINVAL, NEW: EINVAL}),
]


def _cases():
    for rule, arch, buf, maxnode, expect in GOLDEN:
        for sems, value in expect.items():
            for sem in sems:
                yield pytest.param(
                    rule, arch, buf, maxnode, sem, value, id=f"{rule}-{arch.name}-{maxnode}-{sem}"
                )


@pytest.mark.parametrize(
    ("rule", "arch", "buf", "maxnode", "semantics", "expected"), list(_cases())
)
def test_get_nodes_golden(rule, arch, buf, maxnode, semantics, expected):
    b = buf if buf is None or buf is FAULT else words(arch, *buf)
    assert get(arch, b, maxnode, semantics) == expected, rule
    # the transcription agrees with every golden row
    assert ref_get_nodes(b, maxnode, arch, semantics) == expected, rule


def test_default_semantics_is_2616():
    b = words(X86_64, 1, 1 << 46)
    assert NodeMask.from_user(b, 101, X86_64) == NodeMask([0], nbits=64)


def test_error_details():
    with pytest.raises(OSError) as e:
        NodeMask.from_user(words(X86_64, 1), 0, X86_64)
    assert e.value.errno == EINVAL and "ULONG_MAX" in e.value.__notes__[0]
    with pytest.raises(OSError) as e:
        NodeMask.from_user(FAULT, 5, X86_64)
    assert e.value.errno == EFAULT and "FAULT" in e.value.__notes__[0]
    with pytest.raises(OSError) as e:
        NodeMask.from_user(words(X86_64, 1, 1 << 35), 101, X86_64, "modern")
    assert "bit 99" in e.value.__notes__[0]


def test_result_capacity_is_max_numnodes():
    for arch in (I386, X86_64, IA64, X86_64.with_nodes_shift(10)):
        assert NodeMask.from_user(None, 0, arch).nbits == arch.max_numnodes


# --- argument checking (simulator errors, not kernel errors) ----------------------------------


@pytest.mark.parametrize("maxnode", [-1, -(2**70), 2**64, 2**100])
def test_maxnode_out_of_unsigned_long_is_value_error(maxnode):
    with pytest.raises(ValueError, match="unsigned long"):
        NodeMask.from_user(None, maxnode, X86_64)


@pytest.mark.parametrize("maxnode", ["3", 3.0, None])
def test_maxnode_not_int_is_type_error(maxnode):
    with pytest.raises(TypeError):
        NodeMask.from_user(None, maxnode, X86_64)


@pytest.mark.parametrize(
    ("arch", "buf"),
    [
        (I386, np.array([1], np.uint64)),  # i386 words are 32-bit
        (X86_64, np.array([1], np.uint32)),
        (X86_64, np.array([1], np.int64)),
        (X86_64, np.array([[1]], np.uint64)),  # 2-D
        (X86_64, [1, 2]),  # a list is not user memory
        (X86_64, 1),
    ],
)
def test_bad_buffer_is_type_error(arch, buf):
    with pytest.raises(TypeError):
        NodeMask.from_user(buf, 3, arch)


def test_non_contiguous_buffer_is_copied():
    a = np.array([0b1011, 999, 0, 999], np.uint64)[::2]
    assert not a.flags.c_contiguous
    assert list(NodeMask.from_user(a, 65, X86_64)) == [0, 1, 3]
    ro = np.array([0b1011], np.uint64)
    ro.flags.writeable = False
    assert list(NodeMask.from_user(ro, 5, X86_64)) == [0, 1, 3]


def test_bad_semantics_and_arch():
    with pytest.raises(ValueError, match="semantics"):
        NodeMask.from_user(None, 3, X86_64, "2.6.18")
    with pytest.raises(TypeError):
        NodeMask.from_user(None, 3, "x86_64")


# --- to_user ----------------------------------------------------------------------------------


def test_to_user_words():
    x = NodeMask([5], nbits=64).to_user(7, X86_64)
    assert x.dtype == np.uint64 and list(x) == [32]
    assert len(NodeMask.empty(64).to_user(0, X86_64)) == 0
    assert len(NodeMask.empty(64).to_user(1, X86_64)) == 0
    assert len(NodeMask.empty(64).to_user(65, X86_64)) == 1
    assert len(NodeMask.empty(64).to_user(66, X86_64)) == 2
    i = NodeMask([0, 15], nbits=16).to_user(17, I386)
    assert i.dtype == np.uint32 and list(i) == [0x8001]
    assert len(NodeMask.empty(16).to_user(33, I386)) == 1
    assert len(NodeMask.empty(16).to_user(34, I386)) == 2
    full = NodeMask.full(1024).to_user(1025, IA64)
    assert full.dtype == np.uint64 and len(full) == 16 and all(w == 2**64 - 1 for w in full)


def test_to_user_off_by_one_is_explained():
    with pytest.raises(ValueError, match=r"node 5 is not read .* maxnode 6.*maxnode >= 7"):
        NodeMask([5], nbits=64).to_user(6, X86_64)
    with pytest.raises(ValueError, match="maxnode >= 2"):
        NodeMask([0], nbits=64).to_user(0, X86_64)


def test_to_user_limits():
    with pytest.raises(ValueError, match="MAX_NUMNODES"):
        NodeMask([20], nbits=64).to_user(100, I386)
    with pytest.raises(ValueError, match="PAGE_SIZE"):
        NodeMask([1], nbits=64).to_user(32770, X86_64)
    with pytest.raises(ValueError):
        NodeMask([1], nbits=64).to_user(-1, X86_64)
    assert len(NodeMask([1], nbits=64).to_user(32769, X86_64)) == 512


# --- property tests ---------------------------------------------------------------------------

ARCHES = [I386, X86_64, IA64, X86_64.with_nodes_shift(3), I386.with_nodes_shift(6)]


@st.composite
def user_calls(draw):
    arch = draw(st.sampled_from(ARCHES))
    bpl, MAX = arch.bits_per_long, arch.max_numnodes
    kind = draw(st.sampled_from(["array", "array", "array", "null", "fault"]))
    if kind == "null":
        buf = None
    elif kind == "fault":
        buf = FAULT
    else:
        word = st.one_of(
            st.just(0),
            st.integers(0, bpl - 1).map(lambda b: 1 << b),
            st.integers(0, (1 << bpl) - 1),
        )
        n = draw(st.integers(0, -(-MAX // bpl) + 4))
        buf = np.array(draw(st.lists(word, min_size=n, max_size=n)), dtype=arch.word_dtype)
    maxnode = draw(
        st.one_of(
            st.integers(0, MAX + 3 * bpl),
            st.integers(0, arch.page_size * 8 + 3),
            st.sampled_from([0, 1, 2, MAX, MAX + 1, MAX + 2, 2**32, 2**32 + 5, 2**64 - 1]),
        )
    )
    return arch, buf, maxnode, draw(st.sampled_from(ALL))


@settings(max_examples=4 * settings().max_examples)
@given(user_calls())
def test_get_nodes_matches_kernel_transcription(call):
    arch, buf, maxnode, semantics = call
    assert get(arch, buf, maxnode, semantics) == ref_get_nodes(buf, maxnode, arch, semantics)


@given(st.sampled_from([I386, X86_64, IA64]), st.data())
def test_to_user_from_user_round_trip(arch, data):
    MAX = arch.max_numnodes
    nodes = data.draw(st.frozensets(st.integers(0, MAX - 1), max_size=20))
    m = NodeMask(nodes, nbits=MAX)
    low = (max(nodes) + 2) if nodes else 0
    maxnode = data.draw(st.integers(low, max(low, MAX + 1)))
    buf = m.to_user(maxnode, arch)
    assert buf.dtype == arch.word_dtype
    assert len(buf) == -(-max(maxnode - 1, 0) // arch.bits_per_long)
    for semantics in ALL:
        if maxnode == 0:
            assert get(arch, buf, maxnode, semantics) == EINVAL  # a non-NULL pointer with 0
        else:
            assert NodeMask.from_user(buf, maxnode, arch, semantics) == m
