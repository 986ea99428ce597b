"""NodeMask (nodemask_t): construction, frozenset behaviour, set algebra, and the remap family
(bitmap_remap, bitmap_bitremap, bitmap_onto, bitmap_fold) against the kernel-doc examples of
lib/bitmap.c and a small pure-Python reference."""

from __future__ import annotations

import operator
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import numasim
from numasim import NodeMask, node_remap

NBITS = [1, 8, 32, 64, 65, 1024]


def M(text: str, nbits: int = 64) -> NodeMask:
    return NodeMask.parse_list(text, nbits)


# --- strategies -------------------------------------------------------------------------------


def node_sets(nbits: int) -> st.SearchStrategy[frozenset[int]]:
    return st.frozensets(st.integers(0, nbits - 1), max_size=min(nbits, 40)) | st.just(
        frozenset(range(nbits))
    )


@st.composite
def mask_sets(draw, count: int = 1):
    """(nbits, [frozenset, ...]): `count` node sets sharing one capacity."""
    nbits = draw(st.sampled_from(NBITS))
    return nbits, [draw(node_sets(nbits)) for _ in range(count)]


# --- a small, obviously correct reference for the remap family --------------------------------


def ref_bitremap(n: int, old: frozenset[int], new: frozenset[int]) -> int:
    """The k-th set bit of old maps to the (k mod w)-th set bit of new; others are fixed."""
    if n not in old or not new:
        return n
    k = sorted(old).index(n)
    return sorted(new)[k % len(new)]


def ref_remap(src, old, new) -> set[int]:
    return {ref_bitremap(n, old, new) for n in src}


def ref_onto(orig, relmap) -> set[int]:
    return {n for m, n in enumerate(sorted(relmap)) if m in orig}


def ref_fold(orig, sz: int) -> set[int]:
    return {m % sz for m in orig}


# --- construction -----------------------------------------------------------------------------


def test_construction_and_capacity():
    m = NodeMask([3, 0, 3, 1], nbits=16)
    assert list(m) == [0, 1, 3]
    assert m.nbits == 16
    assert NodeMask(nbits=8) == NodeMask.empty(8) == NodeMask((), nbits=8)
    assert list(NodeMask.full(65)) == list(range(65))
    assert NodeMask(range(1024), nbits=1024) == NodeMask.full(1024)
    assert NodeMask(iter([2, 1]), nbits=4) == NodeMask([1, 2], nbits=4)


def test_nbits_is_required_and_checked():
    with pytest.raises(TypeError):
        NodeMask([1])  # no arch is silently assumed
    for bad in (0, -1, 2**20 + 1):
        with pytest.raises(ValueError, match="nbits"):
            NodeMask(nbits=bad)
        with pytest.raises(ValueError, match="nbits"):
            NodeMask.empty(bad)


@pytest.mark.parametrize("node", [64, 65, 1000, -1, 2**70, -(2**70)])
def test_out_of_range_node_names_node_and_capacity(node):
    with pytest.raises(ValueError) as e:
        NodeMask([1, node], nbits=64)
    assert str(node) in str(e.value) and "64" in str(e.value)


@pytest.mark.parametrize("item", [1.0, "1", None, [1]])
def test_non_int_node_is_type_error(item):
    with pytest.raises(TypeError):
        NodeMask([0, item], nbits=8)


def test_frozen():
    m = NodeMask([1], nbits=8)
    with pytest.raises(AttributeError):
        m.nbits = 16  # type: ignore[misc]
    with pytest.raises(AttributeError):
        m.extra = 1  # type: ignore[attr-defined]


# --- frozenset behaviour ----------------------------------------------------------------------


def test_contains():
    m = NodeMask([0, 5, 63], nbits=64)
    assert 5 in m and 63 in m and 0 in m
    assert 4 not in m
    assert True not in NodeMask([0], nbits=8) and True in NodeMask([1], nbits=8)
    for other in (-1, 64, 2**80, -(2**80), "5", 5.0, None, (5,)):
        assert other not in m


def test_len_bool_iter_first_next_last():
    m = NodeMask([7, 2, 40], nbits=64)
    assert len(m) == 3 and bool(m)
    assert not NodeMask.empty(64) and len(NodeMask.empty(64)) == 0
    assert list(m) == [2, 7, 40] and tuple(reversed(list(m))) == (40, 7, 2)
    assert (m.first(), m.last()) == (2, 40)
    assert (m.next(-1), m.next(2), m.next(7), m.next(40), m.next(10**6)) == (2, 7, 40, None, None)
    e = NodeMask.empty(8)
    assert (e.first(), e.last(), e.next(-1)) == (None, None, None)


def test_equality_and_hash():
    a, b = NodeMask([1, 2], nbits=64), NodeMask([2, 1], nbits=64)
    assert a == b and hash(a) == hash(b) and not (a != b)
    assert NodeMask([1, 2], nbits=64) != NodeMask([1, 2], nbits=128)
    assert a != frozenset({1, 2}) and a != [1, 2] and a != 3
    assert a.__eq__(frozenset({1, 2})) is NotImplemented
    assert {a, b, NodeMask([1, 2], nbits=65)} == {a, NodeMask([1, 2], nbits=65)}
    assert len({NodeMask([n], nbits=1024) for n in range(1024)}) == 1024


def test_operators():
    a, b = M("0-3"), M("2-5")
    assert a & b == M("2-3")
    assert a | b == M("0-5")
    assert a ^ b == M("0-1,4-5")
    assert a - b == M("0-1")
    assert ~a == M("4-63")
    assert ~NodeMask.empty(65) == NodeMask.full(65)
    assert M("2-3") <= a and M("2-3") < a and a <= a and not a < a
    assert a >= M("1") and a > M("1") and a >= a and not a > a
    assert not (a <= b) and not (a >= b)
    assert a.isdisjoint(M("4-9")) and not a.isdisjoint(b)
    assert M("1").issubset(a) and a.issuperset(M("1"))


@pytest.mark.parametrize(
    "op",
    [
        operator.and_,
        operator.or_,
        operator.xor,
        operator.sub,
        operator.le,
        operator.lt,
        operator.ge,
        operator.gt,
    ],
)
def test_different_capacities_are_value_errors(op):
    with pytest.raises(ValueError, match=r"64.*8|8.*64"):
        op(NodeMask([1], nbits=64), NodeMask([1], nbits=8))


@pytest.mark.parametrize(
    "op", [operator.and_, operator.or_, operator.xor, operator.sub, operator.lt, operator.ge]
)
def test_other_types_are_type_errors(op):
    with pytest.raises(TypeError):
        op(NodeMask([1], nbits=8), frozenset({1}))


def test_isdisjoint_capacity_mismatch():
    with pytest.raises(ValueError):
        NodeMask([1], nbits=64).isdisjoint(NodeMask([2], nbits=8))


@pytest.mark.parametrize(
    "m",
    [
        NodeMask(nbits=1),
        NodeMask([0], nbits=1),
        NodeMask([0, 1, 2], nbits=64),
        NodeMask.full(1024),
        NodeMask(range(0, 1024, 3), nbits=1024),
    ],
)
def test_repr_evaluates_and_pickle_round_trips(m):
    assert eval(repr(m), {"NodeMask": NodeMask}) == m
    assert pickle.loads(pickle.dumps(m)) == m
    assert repr(NodeMask([0, 1, 2], nbits=64)) == "NodeMask([0, 1, 2], nbits=64)"


def test_fault_singleton():
    assert repr(numasim.FAULT) == "numasim.FAULT"
    assert pickle.loads(pickle.dumps(numasim.FAULT)) is numasim.FAULT
    with pytest.raises(TypeError):
        type(numasim.FAULT)()


# --- property tests: set algebra against frozenset --------------------------------------------


@given(mask_sets(2))
def test_algebra_matches_frozenset(case):
    nbits, (s, t) = case
    a, b = NodeMask(s, nbits=nbits), NodeMask(t, nbits=nbits)
    full = frozenset(range(nbits))
    assert list(a) == sorted(s) and len(a) == len(s) and bool(a) == bool(s)
    assert set(a & b) == s & t
    assert set(a | b) == s | t
    assert set(a ^ b) == s ^ t
    assert set(a - b) == s - t
    assert set(~a) == full - s
    assert (a <= b, a < b, a >= b, a > b) == (s <= t, s < t, s >= t, s > t)
    assert a.isdisjoint(b) == s.isdisjoint(t)
    assert (a == b) == (s == t)
    assert a.first() == (min(s) if s else None)
    assert a.last() == (max(s) if s else None)
    for n in (-1, 0, nbits // 2, nbits - 1):
        assert a.next(n) == min((x for x in s if x > n), default=None)
    for n in range(-1, min(nbits, 70) + 1):
        assert (n in a) == (n in s)


@given(mask_sets(1))
def test_hash_and_repr_consistent(case):
    nbits, (s,) = case
    a = NodeMask(s, nbits=nbits)
    assert hash(a) == hash(NodeMask(sorted(s, reverse=True), nbits=nbits))
    assert eval(repr(a), {"NodeMask": NodeMask}) == a


# --- kernel-doc examples (lib/bitmap.c) -------------------------------------------------------


def test_bitmap_remap_kernel_doc_example():
    # "@old has bits 4 through 7 set, and @new has bits 12 through 15 set ... if say @src comes
    # into this routine with bits 1, 5 and 7 set, then @dst should leave with bits 1, 13 and 15"
    assert NodeMask([1, 5, 7], nbits=64).remap(M("4-7"), M("12-15")) == NodeMask(
        [1, 13, 15], nbits=64
    )


def test_bitmap_bitremap_kernel_doc_example():
    # "So if say @oldbit is 5, then this routine returns 13."
    assert node_remap(5, M("4-7"), M("12-15")) == 13
    # "The positions of unset bits in @old are mapped to themselves"
    assert [node_remap(n, M("4-7"), M("12-15")) for n in (0, 3, 8, 63)] == [0, 3, 8, 63]


def test_remap_doc_rules():
    # "map the position of the n-th set bit in @old to ... the m-th set bit in @new, m == n % w"
    assert [node_remap(n, M("4-7"), M("20,30")) for n in range(4, 8)] == [20, 30, 20, 30]
    # "If either of the @old and @new bitmaps are empty ... this routine copies @src to @dst"
    e = NodeMask.empty(64)
    assert M("4,9").remap(e, M("12-15")) == M("4,9") == M("4,9").remap(M("4-7"), e)
    assert node_remap(5, M("4-7"), e) == 5


def test_bitmap_onto_kernel_doc_example_1():
    # "@relmap has bits 30-39 set, and @orig has bits 1, 3, 5, 7, 9 and 11 set. Then ... @dst will
    # have bits 31, 33, 35, 37 and 39 set."
    assert M("1,3,5,7,9,11").onto(M("30-39")) == M("31,33,35,37,39")


# Example [2] for bitmap_fold() + bitmap_onto(): relmap = 40 plus the first ten Fibonacci terms;
# columns: orig, tmp = fold(orig, weight(relmap)), dst = onto(tmp, relmap).
FOLD_ONTO_TABLE = [
    ("0", "0", "40"),
    ("1", "1", "41"),
    ("9", "9", "95"),
    ("10", "0", "40"),
    ("1,3,5,7", "1,3,5,7", "41,43,48,61"),
    ("0-4", "0-4", "40-43,45"),
    ("0,9,18,27", "0,7-9", "40,61,74,95"),
    ("0,10,20,30", "0", "40"),
    ("0,11,22,33", "0-3", "40-43"),
    ("0,12,24,36", "0,2,4,6", "40,42,45,53"),
    ("78,102,211", "1-2,8", "41-42,74"),
]
FIB_RELMAP = "40,41,42,43,45,48,53,61,74,95"


@pytest.mark.parametrize(("orig", "tmp", "dst"), FOLD_ONTO_TABLE)
def test_bitmap_fold_onto_kernel_doc_example_2(orig, tmp, dst):
    relmap = M(FIB_RELMAP, 256)
    folded = M(orig, 256).fold(len(relmap))
    assert folded == M(tmp, 256)
    assert folded.onto(relmap) == M(dst, 256)


def test_fold_onto_footnote_rows_are_empty_without_fold():
    # [#f1]: "if we hadn't first done bitmap_fold() into tmp, then the @dst result would have
    # been empty" (rows "10" and "78 102 211").
    relmap = M(FIB_RELMAP, 256)
    assert not M("10", 256).onto(relmap)
    assert not M("78,102,211", 256).onto(relmap)


def test_onto_doc_rules():
    # "If either of @orig or @relmap is empty (no set bits), then @dst will be returned empty."
    assert not NodeMask.empty(64).onto(M("1-5")) and not M("1-5").onto(NodeMask.empty(64))
    # "the only set bits in @orig are in positions m where m >= W ... @dst ... empty"
    assert not M("3-9").onto(M("20-22"))


def test_fold_keeps_capacity_and_rejects_zero():
    assert M("70,3", 128).fold(64).nbits == 128
    assert M("70,3", 128).fold(64) == M("3,6", 128)
    assert M("5", 8).fold(1000) == M("5", 8)
    with pytest.raises(ValueError):
        M("5").fold(0)
    with pytest.raises(ValueError):
        M("5").fold(-1)


def test_remap_family_capacity_mismatch():
    with pytest.raises(ValueError):
        M("1").remap(M("1", 8), M("2"))
    with pytest.raises(ValueError):
        M("1").onto(M("1", 8))
    with pytest.raises(ValueError):
        node_remap(1, M("1", 8), M("2"))
    with pytest.raises(ValueError):
        node_remap(-1, M("1"), M("2"))


# --- property tests: remap / onto / fold laws against the reference ---------------------------


@given(mask_sets(3))
def test_remap_matches_reference(case):
    nbits, (src, old, new) = case
    s, o, n = (NodeMask(x, nbits=nbits) for x in (src, old, new))
    r = s.remap(o, n)
    assert set(r) == ref_remap(src, old, new)
    # remap applies node_remap to every node
    assert set(r) == {node_remap(x, o, n) for x in src}
    assert len(r) <= len(s)
    # remapping through the identity map, or with old == new, changes nothing
    assert s.remap(o, o) == s


@given(mask_sets(2), st.integers(0, 1100))
def test_node_remap_matches_reference(case, bit):
    nbits, (old, new) = case
    assert node_remap(bit, NodeMask(old, nbits=nbits), NodeMask(new, nbits=nbits)) == ref_bitremap(
        bit, old, new
    )


@given(mask_sets(2))
def test_onto_matches_reference(case):
    nbits, (orig, relmap) = case
    o, r = NodeMask(orig, nbits=nbits), NodeMask(relmap, nbits=nbits)
    dst = o.onto(r)
    assert set(dst) == ref_onto(orig, relmap)
    assert dst <= r
    # folding by weight(relmap) first makes every bit land (the point of Example [2])
    if orig and relmap:
        assert o.fold(len(r)).onto(r)


@given(mask_sets(1), st.integers(1, 1100))
def test_fold_matches_reference(case, sz):
    nbits, (orig,) = case
    o = NodeMask(orig, nbits=nbits)
    f = o.fold(sz)
    assert set(f) == ref_fold(orig, sz) and f.nbits == nbits
    assert all(x < sz for x in f)
    if sz >= nbits:
        assert f == o
