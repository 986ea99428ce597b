"""The kernel's bitmap text formats: %*pb / %*pbl printing (spec §8.3) and the 6.x parsers
bitmap_parselist() and bitmap_parse() (lib/bitmap-str.c), with their exact errnos."""

from __future__ import annotations

import errno
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numasim import NodeMask

NBITS = [1, 8, 32, 64, 65, 1024]


def nodes(m: NodeMask) -> list[int]:
    return list(m)


# --- pure-Python references -------------------------------------------------------------------


def ref_format_list(s: set[int]) -> str:
    out, run = [], []
    for n in sorted(s):
        if run and n == run[-1] + 1:
            run.append(n)
        else:
            if run:
                out.append(run)
            run = [n]
    if run:
        out.append(run)
    return ",".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in out)


def ref_format_hex(s: set[int], nbits: int) -> str:
    value = sum(1 << n for n in s)
    chunks = []
    for i in range((nbits + 31) // 32):
        width = min(32, nbits - 32 * i)
        chunks.append(f"{(value >> (32 * i)) & ((1 << width) - 1):0{(width + 3) // 4}x}")
    return ",".join(reversed(chunks))


def ref_region(start: int, end: int, used: int, group: int) -> set[int]:
    """bitmap_set_region(): `used` bits at the start of every `group` bits in start..end."""
    return {b for g in range(start, end + 1, group) for b in range(g, min(g + used, end + 1))}


# --- printing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes_", "nbits", "text"),
    [
        # spec §8.3.1 examples
        ([0, 1, 2, 3], 64, "00000000,0000000f"),
        ([0, 1, 2, 3], 16, "000f"),
        ([0, 1, 2, 3], 8, "0f"),
        ([], 1, "0"),
        ([0], 1, "1"),
        ([35], 36, "8,00000000"),
        (range(65), 65, "1,ffffffff,ffffffff"),
        ([63], 64, "80000000,00000000"),
        ([], 32, "00000000"),
        ([4, 31], 32, "80000010"),
        ([1023], 1024, "80000000" + ",00000000" * 31),
    ],
)
def test_format_hex_golden(nodes_, nbits, text):
    m = NodeMask(nodes_, nbits=nbits)
    assert m.format_hex() == text
    assert NodeMask.parse_hex(text, nbits) == m


@pytest.mark.parametrize(
    ("nodes_", "text"),
    [
        ([0, 1, 2, 3, 5], "0-3,5"),  # spec §8.3.2
        ([], ""),
        ([7], "7"),
        ([1, 2], "1-2"),
        ([0, 2, 4], "0,2,4"),
        ([0, 1, 63, 64, 1023], "0-1,63-64,1023"),
        (range(1024), "0-1023"),
    ],
)
def test_format_list_golden(nodes_, text):
    m = NodeMask(nodes_, nbits=1024)
    assert m.format_list() == text
    assert NodeMask.parse_list(text, 1024) == m


# --- bitmap_parselist(): accepted inputs ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nbits", "expected"),
    [
        # kernel-doc: "Example: 0-1023:2/256 ==> 0,1,256,257,512,513,768,769"
        ("0-1023:2/256", 1024, [0, 1, 256, 257, 512, 513, 768, 769]),
        # struct region comment: "Region 9-38:4/10"
        ("9-38:4/10", 64, [*range(9, 13), *range(19, 23), *range(29, 33)]),
        ("0-3,5", 8, [0, 1, 2, 3, 5]),
        ("5,0-3", 8, [0, 1, 2, 3, 5]),
        ("3-3", 8, [3]),
        ("", 8, []),
        (",", 8, []),
        (" \t,, ", 8, []),
        ("\n", 8, []),
        ("1,,3", 8, [1, 3]),
        (",1", 8, [1]),
        (" 1 , 3 ", 8, [1, 3]),
        ("1 3", 8, [1, 3]),  # whitespace separates regions too
        ("0-3\n", 8, [0, 1, 2, 3]),
        ("0-3\n5", 8, [0, 1, 2, 3]),  # a newline right after a region ends the string
        ("0-3 \n5", 8, [0, 1, 2, 3, 5]),  # ...but after whitespace it is skipped as a separator
        ("\n5", 8, [5]),
        ("2\x005", 8, [2]),  # NUL ends the string
        ("N", 8, [7]),  # N is the last bit (nbits - 1)
        ("N", 1, [0]),
        ("3-N", 6, [3, 4, 5]),
        ("N-N", 64, [63]),
        ("0-N:1/N", 4, [0, 3]),
        ("all", 4, [0, 1, 2, 3]),
        ("ALL", 4, [0, 1, 2, 3]),
        ("All:1/2", 6, [0, 2, 4]),
        ("all,all", 2, [0, 1]),
        ("0-9:0/4", 16, []),  # zero bits used per group
        ("all:1/9999", 8, [0]),  # a group larger than the range
        ("0-9:4/4", 16, list(range(10))),
        ("0-9:3/4", 16, [0, 1, 2, 4, 5, 6, 8, 9]),
        ("007", 8, [7]),
        ("1-5:1/4294967295", 8, [0, 1]),  # unsigned start += group_len wraps (derived)
        ("0-9:2/5N", 16, [0, 1, 5, 6, 15]),  # nothing is checked after a group size (derived)
        (b"1-2", 8, [1, 2]),
    ],
)
def test_parse_list_accepts(text, nbits, expected):
    assert nodes(NodeMask.parse_list(text, nbits)) == expected


# --- bitmap_parselist(): errors, in the kernel's order ----------------------------------------


@pytest.mark.parametrize(
    ("text", "nbits", "err", "token"),
    [
        ("x", 8, errno.EINVAL, "'x'"),  # not a number
        ("1x", 8, errno.EINVAL, "'x'"),
        ("0-3x", 8, errno.EINVAL, "'x'"),
        ("-1", 8, errno.EINVAL, "'-'"),  # no sign
        ("+1", 8, errno.EINVAL, "'+'"),
        ("1-", 8, errno.EINVAL, "end"),
        ("1--2", 8, errno.EINVAL, "'-'"),
        ("1 -2", 8, errno.EINVAL, "'-'"),  # whitespace ends the region "1"; "-2" is not a number
        ("1- 2", 8, errno.EINVAL, "' '"),
        ("0x1", 8, errno.EINVAL, "'x'"),
        ("n", 8, errno.EINVAL, "'n'"),  # only capital N
        ("al", 8, errno.EINVAL, "'a'"),
        ("allx", 8, errno.EINVAL, "'x'"),
        ("all-3", 8, errno.EINVAL, "'-'"),
        ("0-3:", 8, errno.EINVAL, "end"),
        ("0-3:1", 8, errno.EINVAL, "'/'"),
        ("0-3:1/", 8, errno.EINVAL, "end"),
        ("1:1/2", 8, errno.EINVAL, "':'"),  # a single number takes no group
        ("3-1", 8, errno.EINVAL, "above its end"),  # start > end
        ("9-8", 8, errno.EINVAL, "above its end"),  # EINVAL is checked before ERANGE
        ("0-7:0/0", 8, errno.EINVAL, "group size 0"),
        ("0-7:3/2", 8, errno.EINVAL, "exceeds"),
        ("4294967295", 8, errno.EINVAL, "group size 0"),  # end + 1 wraps to 0 (derived)
        ("8", 8, errno.ERANGE, "bit 8"),
        ("0-8", 8, errno.ERANGE, "bit 8"),
        ("1,1024", 1024, errno.ERANGE, "bit 1024"),
        ("all:9/8", 8, errno.EINVAL, "exceeds"),
        ("4294967296", 8, errno.EOVERFLOW, "4294967296"),
        ("0-99999999999999999999999", 8, errno.EOVERFLOW, "99999999999999999999999"),
        ("0-7:4294967296/1", 8, errno.EOVERFLOW, "4294967296"),
        ("0-1,x", 8, errno.EINVAL, "'x'"),  # earlier regions do not save a later bad one
        ("9,x", 8, errno.ERANGE, "bit 9"),  # the first bad region decides
    ],
)
def test_parse_list_errors(text, nbits, err, token):
    with pytest.raises(OSError) as e:
        NodeMask.parse_list(text, nbits)
    assert e.value.errno == err
    assert e.value.strerror == os.strerror(err)
    note = " ".join(getattr(e.value, "__notes__", []))
    assert token in note, note


def test_parse_errors_are_plain_oserror_with_note():
    with pytest.raises(OSError) as e:
        NodeMask.parse_list("0-3x", 8)
    assert type(e.value) is OSError
    assert "bitmap_parselist" in e.value.__notes__[0] and '"0-3x"' in e.value.__notes__[0]


def test_parse_argument_types():
    with pytest.raises(TypeError):
        NodeMask.parse_list(123, 8)
    with pytest.raises(ValueError):
        NodeMask.parse_list("1", 0)
    with pytest.raises(TypeError):
        NodeMask.parse_hex(None, 8)


# --- bitmap_parse(): accepted inputs and errors -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "nbits", "expected"),
    [
        ("00000000,0000000f", 64, [0, 1, 2, 3]),
        ("f", 64, [0, 1, 2, 3]),
        ("F", 8, [0, 1, 2, 3]),
        ("0f", 8, [0, 1, 2, 3]),
        ("000f", 16, [0, 1, 2, 3]),
        ("ff", 8, list(range(8))),
        # kernel-doc: 'Grouping such as "1,,5", ",44", "," or "" is allowed.'
        ("1,,5", 64, [0, 2, 32]),
        (",44", 64, [2, 6]),
        (",", 64, []),
        ("", 64, []),
        # "Leading, embedded and trailing whitespace accepted."
        ("  3  ", 64, [0, 1]),
        ("1 2", 64, [1, 32]),  # whitespace separates chunks like a comma
        ("1\t,\n2", 64, [0]),  # the newline ends the string: only "1\t," is read
        ("3\x00ff", 64, [0, 1]),
        ("1,00000000", 33, [32]),
        ("80000000,00000000", 64, [63]),
        ("x0000000f", 32, [0, 1, 2, 3]),  # a non-hex byte right after 8 digits is skipped (derived)
        (b"0f", 8, [0, 1, 2, 3]),
    ],
)
def test_parse_hex_accepts(text, nbits, expected):
    assert nodes(NodeMask.parse_hex(text, nbits)) == expected


@pytest.mark.parametrize(
    ("text", "nbits", "err"),
    [
        ("g", 64, errno.EINVAL),
        ("0x1", 64, errno.EINVAL),
        ("1-2", 64, errno.EINVAL),
        ("100000000", 64, errno.EOVERFLOW),  # 9 digits in one chunk
        ("1,0,0", 64, errno.EOVERFLOW),  # more chunks than 64 bits hold
        ("1,00000000", 32, errno.EOVERFLOW),
        ("1ff", 8, errno.EOVERFLOW),  # bit 8 of an 8-bit mask
        ("1ffff", 16, errno.EOVERFLOW),
        ("2,00000000", 33, errno.EOVERFLOW),
        ("2", 1, errno.EOVERFLOW),
        ("g,100000000", 64, errno.EOVERFLOW),  # read from the end: the long chunk comes first
        ("100000000,g", 64, errno.EINVAL),
    ],
)
def test_parse_hex_errors(text, nbits, err):
    with pytest.raises(OSError) as e:
        NodeMask.parse_hex(text, nbits)
    assert e.value.errno == err
    assert "bitmap_parse" in e.value.__notes__[0]


# --- property tests ---------------------------------------------------------------------------


@st.composite
def masks(draw):
    nbits = draw(st.sampled_from(NBITS))
    s = draw(
        st.frozensets(st.integers(0, nbits - 1), max_size=min(nbits, 60))
        | st.builds(
            lambda a, b: frozenset(range(min(a, b), max(a, b))),
            st.integers(0, nbits),
            st.integers(0, nbits),
        )
    )
    return nbits, s


@given(masks())
def test_format_matches_reference_and_round_trips(case):
    nbits, s = case
    m = NodeMask(s, nbits=nbits)
    assert m.format_list() == ref_format_list(s)
    assert m.format_hex() == ref_format_hex(s, nbits)
    assert NodeMask.parse_list(m.format_list(), nbits) == m
    assert NodeMask.parse_hex(m.format_hex(), nbits) == m
    # the kernel prints nbits worth of chunks: 8 digits each, the top one shorter
    assert (
        len(m.format_hex())
        == (nbits // 32) * 9 + ((nbits % 32 + 3) // 4 + 1 if nbits % 32 else 0) - 1
    )


@given(masks(), st.sampled_from([" ", "\t", " , ", ",\t,"]))
def test_parse_list_separators(case, sep):
    nbits, s = case
    text = sep + ref_format_list(s).replace(",", sep) + sep
    assert set(NodeMask.parse_list(text, nbits)) == s


@st.composite
def regions(draw):
    nbits = draw(st.sampled_from(NBITS))
    a = draw(st.integers(0, nbits - 1))
    b = draw(st.integers(a, nbits - 1))
    group = draw(st.integers(1, nbits + 2))
    used = draw(st.integers(0, group))
    return nbits, a, b, used, group


@given(st.lists(regions(), min_size=1, max_size=4))
def test_parse_list_regions_match_reference(rs):
    nbits = rs[0][0]
    rs = [r for r in rs if r[0] == nbits]
    text = ",".join(f"{a}-{b}:{used}/{group}" for _, a, b, used, group in rs)
    expected = set().union(*(ref_region(a, b, used, group) for _, a, b, used, group in rs))
    assert set(NodeMask.parse_list(text, nbits)) == expected


@given(st.sampled_from(NBITS), st.integers(0, 2000), st.integers(0, 2000))
def test_parse_list_range_errors(nbits, a, b):
    text = f"{a}-{b}"
    if a > b:
        expect = errno.EINVAL
    elif b >= nbits:
        expect = errno.ERANGE
    else:
        assert set(NodeMask.parse_list(text, nbits)) == set(range(a, b + 1))
        return
    with pytest.raises(OSError) as e:
        NodeMask.parse_list(text, nbits)
    assert e.value.errno == expect
