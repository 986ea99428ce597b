"""Architecture profiles: the table of spec §7 and the custom-profile path."""

import numpy as np
import pytest

import numasim

# name: (bits_per_long, page_size, max_numnodes, task_size, pt_levels, huge_page_size,
#        migrate_pages, move_pages, mbind, set_mempolicy, get_mempolicy, madvise)
IA64_CALLS = (1280, 1276, 1259, 1261, 1260, 1209)
EXPECTED = {
    "i386": (32, 4096, 16, 0xC0000000, 2, 4 << 20, 294, 317, 274, 276, 275, 219),
    "i386-pae": (32, 4096, 16, 0xC0000000, 3, 2 << 20, 294, 317, 274, 276, 275, 219),
    "x86_64": (64, 4096, 64, 0x7FFFFFFFF000, 4, 2 << 20, 256, 279, 237, 238, 239, 28),
    "ia64": (64, 16384, 1024, 0xA000000000000000, 3, 256 << 20, *IA64_CALLS),
    "ia64-4k": (64, 4096, 1024, 0xA000000000000000, 3, 256 << 20, *IA64_CALLS),
    "ia64-8k": (64, 8192, 1024, 0xA000000000000000, 3, 256 << 20, *IA64_CALLS),
    "ia64-64k": (64, 65536, 1024, 0xA000000000000000, 3, 256 << 20, *IA64_CALLS),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_table(name):
    a = numasim.arch(name)
    bits, page, nodes, task, levels, huge, mig, mov, mb, setp, getp, madv = EXPECTED[name]
    assert a.name == name
    assert (a.bits_per_long, a.page_size, a.max_numnodes) == (bits, page, nodes)
    assert (a.task_size, a.pt_levels, a.huge_page_size) == (task, levels, huge)
    assert a.page_size == 1 << a.page_shift
    assert a.max_numnodes == 1 << a.nodes_shift
    assert len(a.pt_level_shifts) == a.pt_levels
    assert a.pt_level_shifts[-1] == a.page_shift
    assert a.syscalls == {
        "mbind": mb,
        "get_mempolicy": getp,
        "set_mempolicy": setp,
        "migrate_pages": mig,
        "move_pages": mov,
        "madvise": madv,
    }
    assert a.word_dtype == (np.uint32 if bits == 32 else np.uint64)


def test_page_table_shapes():
    assert numasim.arch("x86_64").pt_level_shifts == [39, 30, 21, 12]
    assert numasim.arch("i386").pt_level_shifts == [22, 12]
    assert numasim.arch("i386-pae").pt_level_shifts == [30, 21, 12]
    assert numasim.arch("ia64").pt_level_shifts == [36, 25, 14]


def test_arches_mapping_is_read_only_and_complete():
    assert list(numasim.ARCHES) == [
        "i386",
        "i386-pae",
        "x86_64",
        "ia64",
        "ia64-4k",
        "ia64-8k",
        "ia64-64k",
    ]
    with pytest.raises(TypeError):
        numasim.ARCHES["x"] = numasim.arch()  # type: ignore[index]
    assert numasim.arch() is numasim.ARCHES["x86_64"]
    assert numasim.arch(numasim.ARCHES["ia64"]) is numasim.ARCHES["ia64"]


def test_unknown_arch_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown arch 'sparc'.*x86_64"):
        numasim.arch("sparc")


def test_custom_nodes_shift_maxsmp():
    big = numasim.arch("x86_64").with_nodes_shift(10)
    assert big.max_numnodes == 1024
    assert big.page_size == 4096
    assert big != numasim.arch("x86_64")
    assert big == numasim.arch("x86_64").with_nodes_shift(10)
    assert hash(big) == hash(numasim.arch("x86_64").with_nodes_shift(10))
    assert numasim.arch("x86_64").with_nodes_shift(6) == numasim.arch("x86_64")
    with pytest.raises(ValueError, match="nodes_shift 13"):
        numasim.arch("x86_64").with_nodes_shift(13)


def test_profiles_are_frozen():
    a = numasim.arch("x86_64")
    with pytest.raises(AttributeError):
        a.page_size = 8192  # type: ignore[misc]
    assert "x86_64" in repr(a)
