"""The memory-policy and migration system calls, check by check in each generation's order.

This module is the one owner of the system calls' checks: argument validation, the permission
model of each generation, their errno and their order. The core does the page work and guards
only its own invariants. Each function here reads its arguments as the kernel does
(``get_nodes``), reads one consistent snapshot of the caller and the target
(``MachineCore.syscall_access``), applies the checks, and hands the work to the core together
with the snapshot's epoch: if another thread changed credentials, cpusets or tasks in between,
the core refuses the work and the checks run again, so checks and work are one atomic step.

Errors are raised as ``OSError(errno, ...)`` (PermissionError for EPERM, ProcessLookupError for
ESRCH, ...) with a note naming the check that failed; ``Task.syscall`` and ``Machine.syscall``
return ``-errno`` instead, as a C caller sees it. A call that fails a check changes nothing.

Sources: spec §1 (get_nodes), §5 (sys_migrate_pages permission model and order), §6.2
(move_pages), §2.3.5 (mbind MOVE_ALL). The 2.6.16 capability is a machine option, see
:data:`MIGRATE_CAP_2616`.
"""

from __future__ import annotations

import errno as _errno
import os
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from numasim import _args
from numasim._core import (
    FAULT,
    MigrateReport,
    NodeMask,
    StaleSnapshot,
    SyscallAccess,
    TargetAccess,
    UserFault,
    migration_pairs_core,
    sanitize_mode,
)
from numasim.constants import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT, Madv, madvise_known
from numasim.nodestring import node_set, parse_nodestring

if TYPE_CHECKING:
    from numasim.machine import Machine, Task

#: The capability 2.6.16 checks in sys_migrate_pages and for MPOL_MF_MOVE_ALL (spec §5.2,
#: settled in §11): the "Use CAP_SYS_NICE for controlling migration permissions" patch of
#: 2006-03-14 is in 2.6.16 final. ``Machine(..., migrate_cap="CAP_SYS_ADMIN")`` selects the
#: 2.6.16-rc6 rules (CAP_SYS_ADMIN, and CAP_SYS_RESOURCE for mbind) instead.
MIGRATE_CAP_2616 = "CAP_SYS_NICE"

T = TypeVar("T")


def _fail(err: int, note: str) -> OSError:
    e = OSError(err, os.strerror(err))
    e.add_note(note)
    return e


class NodeListWarning(UserWarning):
    """A node given in a list (or NodeMask) lies where the kernel does not read with this
    maxnode: a C caller's bit there would simply be ignored, and so is the node."""


def _user_words(m: Machine, mask: Any, maxnode: int, what: str, abi: str = "native") -> Any:
    """User memory for a mask argument: None (NULL), FAULT or a word array as given; for
    convenience a NodeMask or node ids become the words a C program would pass with this
    maxnode: ceil((maxnode-1) / BITS_PER_LONG) words, the listed bits set. The kernel's checks
    then decide (get_nodes(): EINVAL for maxnode 0 or more than a page of bits, the rules on
    bits beyond MAX_NUMNODES); a node beyond bit maxnode-2 is not read, as a C caller's bit
    there would not be, and a NodeListWarning says so. A 32-bit caller on a 64-bit kernel
    (abi "i386") passes 32-bit words: as many as the generation's kernel reads (2.6.16 and V5
    read whole 64-bit words, two of them each; 6.x's compat_get_bitmap() 32-bit words)."""
    if mask is None or isinstance(mask, (UserFault, np.ndarray)):
        return mask
    nodes = list(mask) if isinstance(mask, NodeMask) else _args.node_ids(mask, what)
    if any(n < 0 for n in nodes):
        raise ValueError(f"{what} holds a negative node id {min(nodes)}: a bitmap has none")
    compat = abi == "i386"
    dtype = np.dtype(np.uint32) if compat else m.arch.word_dtype
    bits = 32 if compat else m.arch.bits_per_long
    if maxnode == 0 or maxnode - 1 > m.page_size * 8:
        # get_nodes() refuses these before reading a word (EINVAL): the content is irrelevant.
        return np.zeros(0, dtype=dtype)
    readable = maxnode - 1  # bits 0 .. maxnode-2 (the kernel's off-by-one)
    unread = sorted({n for n in nodes if n >= readable})
    if unread:
        warnings.warn(
            NodeListWarning(
                f"{what}: node(s) {unread} lie beyond bit {readable - 1}, the last bit the kernel "
                f"reads with maxnode {maxnode}; they are not part of the call (pass maxnode >= "
                f"{max(unread) + 2} to include them)"
            ),
            stacklevel=4,
        )
    nwords = -(-readable // bits)
    if compat and m.semantics != "modern":
        nwords = 2 * -(-readable // 64)  # the native reader loads 64-bit words
    words = np.zeros(nwords, dtype=dtype)
    for n in nodes:
        if n < readable:
            words[n // bits] |= dtype.type(1 << (n % bits))
    return words


def get_nodes(m: Machine, mask: Any, maxnode: int, what: str, abi: str = "native") -> NodeMask:
    """get_nodes() of the machine's generation (spec §1) for a caller of ``abi``: OSError
    EINVAL/EFAULT."""
    words = _user_words(m, mask, maxnode, what, abi)
    try:
        return NodeMask.from_user(words, maxnode, m.arch, m.semantics, abi)
    except OSError as e:
        e.add_note(f"while reading {what} (maxnode {maxnode})")
        raise


def _long_bits(m: Machine, abi: str) -> int:
    """The width of the caller's ``unsigned long``: 32 for a 32-bit program, else the arch's."""
    return 32 if abi == "i386" else m.arch.bits_per_long


def _maxnode(m: Machine, maxnode: Any, abi: str = "native") -> int:
    """maxnode is an ``unsigned long`` of the caller."""
    return _args.unsigned(maxnode, "maxnode", _long_bits(m, abi))


def _pid(pid: Any) -> int:
    """pid is a ``pid_t`` (a C int)."""
    return _args.signed(pid, "pid")


def _retrying(m: Machine, caller: Task, pid: int, attempt: Callable[[SyscallAccess], T]) -> T:
    """Runs ``attempt`` on a fresh snapshot until the core accepts its epoch. A negative pid
    finds no task (find_task_by_vpid): ESRCH."""
    while True:
        access = m.core.syscall_access(caller.pid, max(pid, 0))
        try:
            return attempt(access)
        except StaleSnapshot:
            continue


def _target(access: SyscallAccess, pid: int) -> TargetAccess:
    """find_task_by_pid(): ESRCH if there is no such task (pid 0 is the caller)."""
    if pid < 0 or access.target is None:
        raise _fail(_errno.ESRCH, f"pid {pid}: no such process")
    return access.target


def _cap(m: Machine, which: str) -> str:
    """The capability a check uses in this machine's generation."""
    sem = m.semantics
    rc6 = m.migrate_cap == "CAP_SYS_ADMIN"
    old = sem == "v5" or (sem == "2.6.16" and rc6)
    if which == "migrate":  # sys_migrate_pages: the uid override and the cpuset override
        return "CAP_SYS_ADMIN" if old else "CAP_SYS_NICE"
    if which == "mbind_move_all":
        return "CAP_SYS_RESOURCE" if old else "CAP_SYS_NICE"
    raise ValueError(which)


def _ptrace_check(access: SyscallAccess, target: TargetAccess) -> None:
    """ptrace_may_access(PTRACE_MODE_READ_REALCREDS) (kernel/ptrace.c, 6.x): EPERM naming why."""
    if target.ptrace_denied is not None:
        raise _fail(
            _errno.EPERM,
            f"pid {access.caller} may not access pid {target.pid}: {target.ptrace_denied}",
        )


def _lsm(m: Machine, caller: Task, pid: int) -> None:
    """security_task_movememory(task) (2.6.18+): the machine's hook returns 0 or -errno."""
    hook = m.security_task_movememory
    if hook is None:
        return
    from numasim.machine import Task

    rc = hook(caller, Task(m, pid))
    if isinstance(rc, bool) or not isinstance(rc, int) or rc > 0:
        raise ValueError(f"security_task_movememory must return 0 or a negative errno, got {rc!r}")
    if rc:
        raise _fail(-rc, f"security_task_movememory denied pid {pid} (hook returned {rc})")


def _no_mm(pid: int) -> OSError:
    return _fail(_errno.EINVAL, f"pid {pid} has no mm (a kernel thread)")


def migrate_pages(caller: Task, pid: int, maxnode: int, old_nodes: Any, new_nodes: Any) -> int:
    """sys_migrate_pages(pid, maxnode, old_nodes, new_nodes): moves the pages of ``pid`` that
    lie on ``old_nodes`` towards ``new_nodes``; returns the number of pages not moved.

    The masks are user memory as NodeMask.from_user reads it (None, a word array,
    numasim.FAULT) or, for convenience, a NodeMask or node ids (turned into the words a C
    caller would pass for this maxnode). The machine's report of the call is kept in
    ``machine.last_report``.
    """
    m = caller.machine
    pid = _pid(pid)
    abi = caller.abi
    maxnode = _maxnode(m, maxnode, abi)
    sem = m.semantics
    if abi == "i386" and sem == "v5":
        # The V5 patch wired migrate_pages into the i386 and x86_64 tables only, not into
        # x86_64's ia32 table (arch/x86_64/ia32/ia32entry.S is not among V5-5's files): a
        # 32-bit program gets ENOSYS. 2.6.16 points entry 294 at the native sys_migrate_pages.
        raise _fail(_errno.ENOSYS, "the V5 patch has no migrate_pages for 32-bit programs")
    # A node string is libnuma's, parsed in the caller's process before the call is made.
    old_nodes = node_set(old_nodes, "old_nodes", caller)
    new_nodes = node_set(new_nodes, "new_nodes", caller)
    # 1-2. get_nodes(old) then get_nodes(new): old's errors win (spec §1.1.9).
    old = get_nodes(m, old_nodes, maxnode, "old_nodes", abi)
    new = get_nodes(m, new_nodes, maxnode, "new_nodes", abi)

    def attempt(access: SyscallAccess) -> int:
        # 3. Find the task (pid 0: current); ESRCH.
        target = _target(access, pid)
        caps = access.caller_caps
        nodes = new
        if sem in ("v5", "2.6.16"):
            cap = _cap(m, "migrate")
            capable = cap in caps
            # 4. get_task_mm() == NULL (kernel thread, exiting): EINVAL, before permissions.
            if not target.has_mm:
                raise _no_mm(target.pid)
            # 5. The uid rule ("permissions check like for signals"), or the capability.
            if not (target.uid_rule or capable):
                raise _fail(
                    _errno.EPERM,
                    f"uid {access.caller_uid}/euid {access.caller_euid} may not move pages of "
                    f"pid {target.pid} (uid {target.uid}, suid {target.suid}) without {cap}",
                )
            # 6. new must lie in cpuset_mems_allowed(task): V5's placeholder is
            #    node_online_map; 2.6.16 has the real cpuset function.
            allowed = m.online_nodes if sem == "v5" else target.mems_allowed
            if not capable and not nodes <= allowed:
                raise _fail(
                    _errno.EPERM,
                    f"new_nodes {nodes.format_list()} are not all in pid {target.pid}'s allowed "
                    f"nodes {allowed.format_list()} and the caller lacks {cap}",
                )
            # 7. do_migrate_pages: V5 always MPOL_MF_MOVE; 2.6.16 MOVE_ALL for the capable.
            flags = MPOL_MF_MOVE_ALL if (sem == "2.6.16" and capable) else MPOL_MF_MOVE
        else:
            # modern: kernel_migrate_pages().
            _ptrace_check(access, target)
            nice = "CAP_SYS_NICE" in caps
            if not nice and not nodes <= target.mems_allowed:
                raise _fail(
                    _errno.EPERM,
                    f"new_nodes {nodes.format_list()} are not all in pid {target.pid}'s cpuset "
                    f"mems {target.mems_allowed.format_list()} and the caller lacks CAP_SYS_NICE",
                )
            # new is narrowed to the caller's cpuset mems; nothing left is EINVAL.
            nodes = nodes & access.caller_mems_allowed
            if not nodes:
                raise _fail(
                    _errno.EINVAL,
                    f"no node of new_nodes is in the caller's cpuset mems "
                    f"{access.caller_mems_allowed.format_list()}",
                )
            _lsm(m, caller, target.pid)
            if not target.has_mm:
                raise _no_mm(target.pid)
            flags = MPOL_MF_MOVE_ALL if nice else MPOL_MF_MOVE
        report = m.core.do_migrate_pages(
            caller.pid, target.pid, old, nodes, int(flags), access.epoch
        )
        m.last_report = report
        if report.ret < 0:
            raise _fail(-report.ret, "do_migrate_pages stopped part way (pages moved stay moved)")
        return report.ret

    return _retrying(m, caller, pid, attempt)


def move_pages(
    caller: Task,
    pid: int,
    pages: npt.ArrayLike,
    nodes: npt.ArrayLike | None,
    flags: int = int(MPOL_MF_MOVE),
) -> tuple[int, npt.NDArray[np.int32]]:
    """sys_move_pages(pid, count, pages, nodes, status, flags) (2.6.18 text in the 2.6.16
    machine, as an extension; modern natively; absent from V5: ENOSYS). Returns (the kernel's
    return value, the status array; entries the kernel would not write hold
    numasim.STATUS_UNWRITTEN). ``nodes=None`` only queries where pages are. ``pages`` is a
    1-D integer array of addresses, ``nodes`` of C ints."""
    m = caller.machine
    sem = m.semantics
    if sem == "v5":
        raise _fail(_errno.ENOSYS, "move_pages(2) arrived in 2.6.18; the V5 kernel has none")
    pid = _pid(pid)
    flags = _args.signed(flags, "flags")
    # A 32-bit program passes an array of 32-bit pointers (compat_sys_move_pages in 2.6.18,
    # get_compat_pages_array() in 6.x).
    addrs = _args.unsigned_array(pages, "pages", _long_bits(m, caller.abi))
    tnodes = None
    if nodes is not None:
        tnodes = _args.int_array(nodes, "nodes")
        if tnodes.shape != addrs.shape:
            raise ValueError(f"nodes has shape {tnodes.shape}, pages {addrs.shape}")
    # Flags: only MOVE and MOVE_ALL (EINVAL); MOVE_ALL needs CAP_SYS_NICE (EPERM). Both come
    # before the task is looked up.
    if flags & ~int(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
        raise _fail(_errno.EINVAL, f"flags {flags:#x} has bits other than MPOL_MF_MOVE(_ALL)")
    move_all = bool(flags & MPOL_MF_MOVE_ALL)

    def attempt(access: SyscallAccess) -> tuple[int, npt.NDArray[np.int32]]:
        if move_all and "CAP_SYS_NICE" not in access.caller_caps:
            raise _fail(_errno.EPERM, "MPOL_MF_MOVE_ALL needs CAP_SYS_NICE")
        target = _target(access, pid)
        if sem == "2.6.16":
            # 2.6.18 sys_move_pages: the mm first, then the uid rule, then the LSM hook.
            if not target.has_mm:
                raise _no_mm(target.pid)
            if not (target.uid_rule or "CAP_SYS_NICE" in access.caller_caps):
                raise _fail(_errno.EPERM, f"no right to move pages of pid {target.pid}")
            _lsm(m, caller, target.pid)
        else:
            # find_mm_struct(): pid 0 is current->mm with no check; another task needs the
            # ptrace check and the LSM hook, then an mm.
            if pid != 0:
                _ptrace_check(access, target)
                _lsm(m, caller, target.pid)
            if not target.has_mm:
                raise _no_mm(target.pid)
        rc, status, report = m.core.move_pages(target.pid, addrs, tnodes, move_all, access.epoch)
        m.last_report = report
        if rc < 0:
            err = _fail(-rc, "move_pages stopped; `status` on this error holds what was written")
            err.status = status  # type: ignore[attr-defined]
            raise err
        return rc, status

    return _retrying(m, caller, pid, attempt)


def migration_pairs(
    old: NodeMask | Iterable[int] | str,
    new: NodeMask | Iterable[int] | str,
    semantics: str,
    nbits: int = 1024,
) -> list[tuple[int, int | None]]:
    """The ordered (source, destination) pairs do_migrate_pages() would run for old -> new,
    without touching memory (V5: (node, None) for each node of old \\\\ new, which it evicts).
    Node strings are read as libnuma reads them with every one of the ``nbits`` nodes allowed
    (there is no machine here to say which exist).

    >>> migration_pairs([0, 1, 2, 3], [0, 1], "2.6.16")
    [(3, 1), (2, 0)]
    >>> migration_pairs(range(8), [3, 4, 5], "modern")   # Woodman: 3, 4, 5 stay put
    [(7, 4), (6, 3), (2, 5), (1, 4), (0, 3)]
    """
    every = NodeMask(range(nbits), nbits=nbits)
    if isinstance(old, str):
        old = parse_nodestring(old, allowed=every)
    if isinstance(new, str):
        new = parse_nodestring(new, allowed=every)
    a = old if isinstance(old, NodeMask) else NodeMask(_args.node_ids(old, "old"), nbits=nbits)
    b = new if isinstance(new, NodeMask) else NodeMask(_args.node_ids(new, "new"), nbits=nbits)
    return migration_pairs_core(a, b, semantics)


def mbind(
    caller: Task,
    addr: int,
    length: int,
    mode: int,
    nodemask: Any,
    maxnode: int,
    flags: int = 0,
) -> int:
    """sys_mbind(start, len, mode, nmask, maxnode, flags) for the calling task, with the move
    flags: MPOL_MF_STRICT (EIO if pages that do not follow the policy remain), MPOL_MF_MOVE
    (move this mm's unshared pages), MPOL_MF_MOVE_ALL (all pages; needs the generation's
    capability). Returns 0."""
    m = caller.machine
    abi = caller.abi
    nodemask = node_set(nodemask, "nodemask", caller)
    # The kernel computes in its own unsigned long; a 32-bit program's arguments are 32-bit
    # values, zero-extended (x86_64's ia32 table points at the native sys_mbind).
    bits = m.arch.bits_per_long
    addr = _args.unsigned(addr, "start", _long_bits(m, abi))
    length = _args.unsigned(length, "len", _long_bits(m, abi))
    maxnode = _maxnode(m, maxnode, abi)
    flags = _args.unsigned(flags, "flags", 32)
    modern = m.semantics == "modern"
    # mode: `unsigned long` in 2.6's sys_mbind, an `unsigned short` mode plus flags cast to
    # int by 6.x's kernel_mbind(); a Python value that fits neither is a usage error.
    mode = _args.signed(mode, "mode", 64) if not modern else _args.signed(mode, "mode")
    if modern:
        # kernel_mbind(): sanitize_mpol_flags() before get_nodes().
        smode = sanitize_mode(m.semantics, mode)
    # sys_mbind() reads the nodemask before do_mbind() looks at anything else.
    nodes = get_nodes(m, nodemask, maxnode, "nodemask", abi)
    valid = int(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)
    if flags & ~valid:
        raise _fail(_errno.EINVAL, f"flags {flags:#x} has unknown bits")
    if not modern:
        # do_mbind() 2.6: "flags & ~(STRICT|MOVE|MOVE_ALL) || mode > MPOL_MAX": EINVAL.
        smode = sanitize_mode(m.semantics, mode)
    cap = _cap(m, "mbind_move_all")
    ps = m.page_size

    def attempt(access: SyscallAccess) -> int:
        if flags & MPOL_MF_MOVE_ALL and cap not in access.caller_caps:
            raise _fail(_errno.EPERM, f"MPOL_MF_MOVE_ALL needs {cap}")
        if addr % ps:
            raise _fail(_errno.EINVAL, f"start {addr:#x} is not page aligned")
        # do_mbind(): len = (len + PAGE_SIZE - 1) & PAGE_MASK; end = start + len, in unsigned
        # longs: a len within a page of ULONG_MAX rounds to 0 (an empty range), and an end
        # past ULONG_MAX wraps below start (EINVAL).
        word = (1 << bits) - 1
        plen = (length + ps - 1) & word & ~(ps - 1)
        end = addr + plen
        if end > word:
            raise _fail(_errno.EINVAL, f"start {addr:#x} + len {length:#x} wraps around")
        if end == addr:
            return 0  # do_mbind(): an empty range succeeds before the policy is looked at
        report = m.core.mbind(
            caller.pid, addr, plen, smode[0], smode[1], nodes, flags, access.epoch
        )
        m.last_report = report
        if report.ret < 0:
            raise _fail(-report.ret, "mbind: pages off the policy remain (MPOL_MF_STRICT)")
        return 0

    return _retrying(m, caller, 0, attempt)


def set_mempolicy(caller: Task, mode: int, nodemask: Any, maxnode: int) -> int:
    """sys_set_mempolicy(mode, nmask, maxnode) for the calling task. Returns 0."""
    m = caller.machine
    abi = caller.abi
    nodemask = node_set(nodemask, "nodemask", caller)
    maxnode = _maxnode(m, maxnode, abi)
    mode = _args.signed(mode, "mode")
    if m.semantics == "modern":
        smode = sanitize_mode(m.semantics, mode)  # kernel_set_mempolicy(): before get_nodes()
    nodes = get_nodes(m, nodemask, maxnode, "nodemask", abi)
    if m.semantics != "modern":
        smode = sanitize_mode(m.semantics, mode)
    m.core.set_mempolicy(caller.pid, smode[0], smode[1], nodes)
    return 0


def get_mempolicy(
    caller: Task, maxnode: int, addr: int = 0, flags: int = 0
) -> tuple[int, NodeMask]:
    """sys_get_mempolicy(policy, nmask, maxnode, addr, flags) for the calling task, with a
    nodemask wanted: (the policy value, or the node with MPOL_F_NODE; the nodemask). maxnode
    below MAX_NUMNODES (2.6) or nr_node_ids (6.x) is EINVAL."""
    m = caller.machine
    abi = caller.abi
    maxnode = _maxnode(m, maxnode, abi)
    addr = _args.unsigned(addr, "addr", _long_bits(m, abi))
    flags = _args.unsigned(flags, "flags", _long_bits(m, abi))
    minimum = m.arch.max_numnodes if m.semantics != "modern" else max(m.nodes) + 1
    if maxnode < minimum:
        raise _fail(_errno.EINVAL, f"maxnode {maxnode} is below {minimum}")
    return m.core.get_mempolicy(caller.pid, flags, addr)


#: The advice whose page work numasim models, by the core's name for it; the others a
#: generation knows are refused with ValueError (not modelled) once the checks have passed.
_MADV_WORK: dict[Madv, str] = {
    Madv.MADV_NORMAL: "normal",
    Madv.MADV_RANDOM: "random",
    Madv.MADV_SEQUENTIAL: "sequential",
    Madv.MADV_WILLNEED: "willneed",
    Madv.MADV_DONTNEED: "dontneed",
    Madv.MADV_REMOVE: "remove",
    Madv.MADV_DONTFORK: "dontfork",
    Madv.MADV_DOFORK: "dofork",
    Madv.MADV_DONTNEED_LOCKED: "dontneed_locked",
    Madv.MADV_COLD: "cold",
    Madv.MADV_PAGEOUT: "pageout",
    Madv.MADV_HUGEPAGE: "hugepage",
    Madv.MADV_NOHUGEPAGE: "nohugepage",
}


def madvise(caller: Task, addr: int, length: int, advice: int) -> int:
    """sys_madvise(start, len_in, behavior) for the calling task (mm/madvise.c). Returns 0.

    The checks, in each generation's order: 6.x first refuses an advice it does not know
    (madvise_behavior_valid(): EINVAL); then a start not page aligned (EINVAL), a len that
    PAGE_ALIGN wraps to 0 (EINVAL), an end that wraps (EINVAL), and an empty range succeeds
    (0, in 2.6 even for an advice it does not know). 2.6.14 (V5) and 2.6.16 look at the advice
    only per VMA: an unknown one is EINVAL at the first mapped area, ENOMEM if nothing in the
    range is mapped. The core then walks the areas (ENOMEM for holes, after the mapped parts)
    and does each advice's page work; docs/semantics.md ("madvise") lists what each does per
    generation. An advice 6.x knows but numasim does not model (MADV_FREE, MADV_POPULATE_*,
    MADV_MERGEABLE, ...) raises ValueError after the checks.

    >>> m = numasim.Machine(semantics="2.6.16", nodes=1, node_memory="16MiB")
    >>> t = m.spawn()
    >>> a = t.mmap(2 * m.page_size)
    >>> t.touch(a, 2 * m.page_size, write=True)
    FaultReport(pages=2; faults=2; major=0; swapped_in=0; ... simulated (fault 100%))
    >>> madvise(t, a, m.page_size, numasim.MADV_DONTNEED)
    0
    >>> t.read(a, 2 * m.page_size).tolist()   # the zapped page reads zero
    [0, 2]
    >>> t.syscall("madvise", a, m.page_size, numasim.MADV_COLD)   # 6.x advice: per VMA
    -22
    """
    m = caller.machine
    # The kernel computes in its own size_t; a 32-bit program's arguments are 32-bit values.
    bits = m.arch.bits_per_long
    start = _args.unsigned(addr, "start", _long_bits(m, caller.abi))
    len_in = _args.unsigned(length, "len_in", _long_bits(m, caller.abi))  # size_t
    behavior = _args.signed(advice, "behavior")  # int
    known = madvise_known(m.semantics, m.arch.name)
    if m.semantics == "modern" and behavior not in known:
        raise _fail(_errno.EINVAL, f"behavior {behavior} is not an advice 6.x knows")
    ps = m.page_size
    if start % ps:
        raise _fail(_errno.EINVAL, f"start {start:#x} is not page aligned")
    # len = PAGE_ALIGN(len_in) in a size_t: a len_in within a page of the top wraps to 0.
    word = (1 << bits) - 1
    plen = (len_in + ps - 1) & word & ~(ps - 1)
    if len_in and not plen:
        raise _fail(_errno.EINVAL, f"len {len_in:#x} rounds up past the top of a size_t")
    if start + plen > word:
        raise _fail(_errno.EINVAL, f"start {start:#x} + len {len_in:#x} wraps around")
    if not plen:
        return 0
    name = _MADV_WORK.get(Madv(behavior)) if behavior in known else "invalid"
    if name is None:
        raise ValueError(f"{Madv(behavior).name} is valid in {m.semantics} but not modelled")
    m.core.madvise(caller.pid, start, plen, name)
    return 0


SYSCALLS: dict[str, Callable[..., Any]] = {
    "migrate_pages": migrate_pages,
    "move_pages": move_pages,
    "mbind": mbind,
    "set_mempolicy": set_mempolicy,
    "get_mempolicy": get_mempolicy,
    "madvise": madvise,
}


def raw(fn: Callable[..., Any], *args: Any) -> Any:
    """Runs a system call as a C caller sees it: the result, or -errno."""
    try:
        return fn(*args)
    except OSError as e:
        if e.errno is None:
            raise
        return -e.errno


__all__ = [
    "FAULT",
    "MIGRATE_CAP_2616",
    "SYSCALLS",
    "MigrateReport",
    "NodeListWarning",
    "get_mempolicy",
    "get_nodes",
    "madvise",
    "mbind",
    "migrate_pages",
    "migration_pairs",
    "move_pages",
    "raw",
    "set_mempolicy",
]
