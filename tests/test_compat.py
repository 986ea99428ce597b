"""32-bit programs on a 64-bit kernel (issue 9, "compat"): a task spawned with abi="i386" on an
x86_64 machine passes 32-bit words, pointers and maxnode, and each generation's kernel reads
them its own way (research notes Q11; docs/semantics.md "32-bit tasks"):

- 2.6.16: x86_64's ia32 table points migrate_pages, mbind and set_mempolicy at the native
  entries, so get_nodes() reads 64-bit words, two 32-bit words each: an odd-length array is
  read past its end;
- 6.x: get_bitmap() reads them with compat_get_bitmap(), ceil((maxnode-1)/32) 32-bit words;
- V5: the patch wired no ia32 entry for migrate_pages: ENOSYS.
"""

from __future__ import annotations

import errno

import numpy as np
import pytest

import numasim

PS = 4096


def scene(sem: str):
    m = numasim.Machine(semantics=sem, nodes=4, node_memory="16MiB", swap="16MiB")
    target = m.spawn(uid=0, cpu=0)
    a = target.mmap(8 * PS)
    target.touch(a, 8 * PS, write=True)
    caller = m.spawn(uid=0, cpu=0, abi="i386")
    return m, caller, target, a


def outcome(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        return -e.errno


def test_only_an_x86_64_kernel_runs_32_bit_programs():
    m = numasim.Machine(semantics="modern", nodes=2, node_memory="16MiB")
    t = m.spawn(abi="i386")
    assert (t.abi, t.info().abi, m.spawn().abi) == ("i386", "i386", "native")
    assert t.fork().abi == "i386"
    for arch in ("i386", "ia64"):
        other = numasim.Machine(arch=arch, semantics="modern", nodes=2, node_memory="16MiB")
        with pytest.raises(ValueError, match="x86_64 kernel"):
            other.spawn(abi="i386")


def test_v5_has_no_migrate_pages_for_32_bit_programs():
    _, caller, target, _ = scene("v5")
    assert caller.syscall("migrate_pages", target.pid, 33, [0], [1]) == -errno.ENOSYS


@pytest.mark.parametrize("sem", ["2.6.16", "modern"])
@pytest.mark.parametrize("maxnode", [31, 32, 33, 63, 64, 65])
def test_word_boundaries(sem, maxnode):
    """The 32-bit words a careful C program declares, ceil((maxnode-1)/32) of them: 6.x reads
    exactly those; 2.6.16 reads whole 64-bit words, so an odd count is read past its end
    (EFAULT here, where numasim's user memory ends at the array)."""
    m, caller, target, a = scene(sem)
    n32 = -(-(maxnode - 1) // 32)
    old = np.zeros(n32, np.uint32)
    new = np.zeros(n32, np.uint32)
    old[0], new[0] = 0b1, 0b10  # node 0 -> node 1
    got = outcome(numasim.migrate_pages, caller, target.pid, maxnode, old, new)
    if sem == "2.6.16" and n32 % 2 == 1:
        assert got == -errno.EFAULT
        assert target.page_nodes(a, 8 * PS).tolist() == [0] * 8
    else:
        assert got == 0
        assert target.page_nodes(a, 8 * PS).tolist() == [1] * 8
    m.check()


@pytest.mark.parametrize("sem", ["2.6.16", "modern"])
def test_node_lists_become_the_words_the_kernel_reads(sem):
    m, caller, target, a = scene(sem)
    assert numasim.migrate_pages(caller, target.pid, 33, [0], [2]) == 0
    assert target.page_nodes(a, 8 * PS).tolist() == [2] * 8
    m.check()


@pytest.mark.parametrize("sem", ["2.6.16", "modern"])
def test_32_bit_arguments(sem):
    _, caller, target, _ = scene(sem)
    with pytest.raises(ValueError, match="maxnode must be between 0 and 2\\*\\*32-1"):
        numasim.migrate_pages(caller, target.pid, 2**32 + 33, [0], [1])
    with pytest.raises(TypeError, match="uint32"):
        numasim.migrate_pages(caller, target.pid, 65, np.array([1], np.uint64), [1])
    with pytest.raises(ValueError, match="beyond a 32-bit unsigned long"):
        numasim.move_pages(caller, target.pid, [2**32], None)


def test_machine_syscall_uses_the_i386_table_for_32_bit_callers():
    m, caller, target, a = scene("modern")
    # 294 is migrate_pages in the i386 table; 256, x86_64's number, is not one of ours there.
    assert m.syscall(caller, 294, target.pid, 33, [0], [3]) == 0
    assert target.page_nodes(a, PS).tolist() == [3]
    assert m.syscall(caller, 256, target.pid, 33, [3], [0]) == -errno.ENOSYS


@pytest.mark.parametrize("sem", numasim.SEMANTICS)
def test_a_32_bit_program_lives_below_4_gib(sem):
    """TASK_SIZE of a 32-bit program on x86_64 is IA32_PAGE_OFFSET (0xffffe000) and its mmap
    area is laid out top-down, as i386's (ia32_pick_mmap_layout(), 6.x mmap_compat_base)."""
    m = numasim.Machine(semantics=sem, nodes=2, node_memory="64MiB")
    t = m.spawn(abi="i386")
    lay = t.layout()
    assert lay.start_stack == 0xFFFFE000 and lay.mmap_base == 0xFFFFE000 - (128 << 20)
    a = t.mmap(16 * PS)
    b = t.mmap(16 * PS)
    assert b < a < lay.mmap_base  # top-down
    with pytest.raises(OSError) as e:
        t.mmap(PS, flags="private|anonymous|fixed", addr=0xFFFFE000)
    assert e.value.errno == errno.ENOMEM
    assert t.brk(lay.start_brk + 4 * PS) == lay.start_brk + 4 * PS
    child = t.fork()
    assert child.layout() == t.layout()
    t.touch(a, 16 * PS, write=True)
    if sem != "v5":
        # Its own pages, addressed with 32-bit pointers.
        rc, status = numasim.move_pages(t, 0, a + PS * np.arange(4), [1] * 4)
        assert (rc, status.tolist()) == (0, [1] * 4)
    m.check()
