"""The memory-policy and migration system calls, check by check in each generation's order.

Every function here is the body of a system call: it reads its arguments as the kernel does
(``get_nodes``), finds the target task, applies the permission model of the machine's
semantics, and hands the page work to the core. Errors are raised as ``OSError(errno, ...)``
(PermissionError for EPERM, ProcessLookupError for ESRCH, ...) with a note naming the check
that failed; ``Task.syscall`` and ``Machine.syscall`` return ``-errno`` instead, as a C caller
sees it. A call that fails a check changes nothing.

Sources: spec §1 (get_nodes), §5 (sys_migrate_pages permission model and order), §6.2
(move_pages), §2.3.5 (mbind MOVE_ALL). The 2.6.16 capability is a machine option, see
:data:`MIGRATE_CAP_2616`.
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from numasim._core import FAULT, NodeMask, UserFault, migration_pairs_core
from numasim.constants import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT
from numasim.machine import Task
from numasim.report import MigrateReport

if TYPE_CHECKING:
    from numasim.machine import Machine

#: The capability 2.6.16 checks in sys_migrate_pages and for MPOL_MF_MOVE_ALL (spec §5.2,
#: UNCONFIRMED). The 2.6.16-rc6 text used CAP_SYS_ADMIN (CAP_SYS_RESOURCE for mbind); the
#: "Use CAP_SYS_NICE for controlling migration permissions" patch of 2006-03-14, which the man
#: pages document, switched all three to CAP_SYS_NICE days before the release. numasim's
#: default is that patch (CAP_SYS_NICE); ``Machine(..., migrate_cap="CAP_SYS_ADMIN")``
#: selects the rc6 rules instead.
MIGRATE_CAP_2616 = "CAP_SYS_NICE"


def _fail(err: int, note: str) -> OSError:
    e = OSError(err, os.strerror(err))
    e.add_note(note)
    return e


def _user_words(m: Machine, mask: Any, maxnode: int, what: str) -> Any:
    """User memory for a mask argument: None (NULL), FAULT, a word array as given, or the
    words a C program would pass for a NodeMask / iterable of node ids."""
    if mask is None or isinstance(mask, (UserFault, np.ndarray)):
        return mask
    if not isinstance(mask, NodeMask):
        try:
            nodes = [int(n) for n in mask]
        except TypeError:
            raise TypeError(
                f"{what} must be None, numasim.FAULT, a numpy word array, a NodeMask or an "
                f"iterable of node ids, not {type(mask).__name__}"
            ) from None
        mask = NodeMask(nodes, nbits=max([m.arch.max_numnodes, *(n + 1 for n in nodes)]))
    return mask.to_user(maxnode, m.arch)


def get_nodes(m: Machine, mask: Any, maxnode: int, what: str) -> NodeMask:
    """get_nodes() of the machine's generation (spec §1): OSError EINVAL/EFAULT."""
    words = _user_words(m, mask, maxnode, what)
    try:
        return NodeMask.from_user(words, maxnode, m.arch, m.semantics)
    except OSError as e:
        e.add_note(f"while reading {what} (maxnode {maxnode})")
        raise


def _find_task(caller: Task, pid: int) -> tuple[Task, bool]:
    """pid 0 is the caller; otherwise find_task_by_pid (ESRCH). Returns (task, has an mm)."""
    m = caller.machine
    if pid < 0:
        raise _fail(_errno.ESRCH, f"pid {pid}: no such process")
    target = caller if pid == 0 else Task(m, pid)
    try:
        return target, m.core.has_mm(target.pid)
    except ProcessLookupError as e:
        raise _fail(_errno.ESRCH, f"pid {pid}: no such process") from e


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


def _ptrace_check(m: Machine, caller: Task, target: Task) -> None:
    """ptrace_may_access(PTRACE_MODE_READ_REALCREDS) (kernel/ptrace.c, 6.x): EPERM naming why."""
    try:
        m.core.ptrace_may_access(caller.pid, target.pid)
    except PermissionError as e:
        e.add_note(f"pid {caller.pid} may not access pid {target.pid}")
        raise


def _lsm(m: Machine, caller: Task, target: Task) -> None:
    """security_task_movememory(task) (2.6.18+): the machine's hook, 0 or -errno."""
    hook = m.security_task_movememory
    if hook is None:
        return
    rc = int(hook(caller, target))
    if rc:
        raise _fail(-rc, f"security_task_movememory denied pid {target.pid} (hook returned {rc})")


def _no_mm(target: Task) -> OSError:
    return _fail(_errno.EINVAL, f"pid {target.pid} has no mm (a kernel thread)")


def migrate_pages(caller: Task, pid: int, maxnode: int, old_nodes: Any, new_nodes: Any) -> int:
    """sys_migrate_pages(pid, maxnode, old_nodes, new_nodes): moves the pages of ``pid`` that
    lie on ``old_nodes`` towards ``new_nodes``; returns the number of pages not moved.

    The masks are user memory as NodeMask.from_user reads it (None, a word array,
    numasim.FAULT) or, for convenience, a NodeMask or node ids (turned into the words a C
    caller would pass for this maxnode). The machine's report of the call is kept in
    ``machine.last_report``.
    """
    m = caller.machine
    core = m.core
    sem = m.semantics
    # 1-2. get_nodes(old) then get_nodes(new): old's errors win (spec §1.1.9).
    old = get_nodes(m, old_nodes, maxnode, "old_nodes")
    new = get_nodes(m, new_nodes, maxnode, "new_nodes")
    # 3. Find the task (pid 0: current); ESRCH.
    target, has_mm = _find_task(caller, pid)
    if sem in ("v5", "2.6.16"):
        cap = _cap(m, "migrate")
        # 4. get_task_mm() == NULL (kernel thread, exiting): EINVAL, before the permission check.
        if not has_mm:
            raise _no_mm(target)
        # 5. The uid rule ("permissions check like for signals"), or the capability.
        if not core.may_migrate(caller.pid, target.pid, cap):
            ci, ti = caller.info(), target.info()
            raise _fail(
                _errno.EPERM,
                f"uid {ci['uid'][0]}/euid {ci['uid'][1]} may not move pages of pid {target.pid} "
                f"(uid {ti['uid'][0]}, suid {ti['uid'][2]}) without {cap}",
            )
        # 6. new must lie in cpuset_mems_allowed(task): V5's placeholder is node_online_map;
        #    2.6.16 has the real cpuset function.
        capable = core.capable(caller.pid, cap)
        allowed = m.online_nodes if sem == "v5" else core.mems_allowed(target.pid)
        if not capable and not new <= allowed:
            raise _fail(
                _errno.EPERM,
                f"new_nodes {new.format_list()} are not all in pid {target.pid}'s allowed nodes "
                f"{allowed.format_list()} and the caller lacks {cap}",
            )
        # 7. do_migrate_pages: V5 always MPOL_MF_MOVE; 2.6.16 MOVE_ALL for the capable.
        flags = MPOL_MF_MOVE_ALL if (sem == "2.6.16" and capable) else MPOL_MF_MOVE
        return _do_migrate(m, caller, target, old, new, int(flags))
    # modern: kernel_migrate_pages().
    _ptrace_check(m, caller, target)
    nice = core.capable(caller.pid, "CAP_SYS_NICE")
    if not nice:
        task_nodes = core.mems_allowed(target.pid)
        if not new <= task_nodes:
            raise _fail(
                _errno.EPERM,
                f"new_nodes {new.format_list()} are not all in pid {target.pid}'s cpuset mems "
                f"{task_nodes.format_list()} and the caller lacks CAP_SYS_NICE",
            )
    # new is narrowed to the caller's cpuset mems; nothing left is EINVAL.
    caller_mems = core.mems_allowed(caller.pid)
    new = new & caller_mems
    if not new:
        raise _fail(
            _errno.EINVAL,
            f"no node of new_nodes is in the caller's cpuset mems {caller_mems.format_list()}",
        )
    _lsm(m, caller, target)
    if not has_mm:
        raise _no_mm(target)
    flags = MPOL_MF_MOVE_ALL if nice else MPOL_MF_MOVE
    return _do_migrate(m, caller, target, old, new, int(flags))


def _do_migrate(
    m: Machine, caller: Task, target: Task, old: NodeMask, new: NodeMask, flags: int
) -> int:
    report = MigrateReport(m.core.do_migrate_pages(caller.pid, target.pid, old, new, flags))
    m.last_report = report
    ret = report.ret
    if ret < 0:
        raise _fail(-ret, "do_migrate_pages stopped part way (pages moved so far stay moved)")
    return ret


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
    numasim.STATUS_UNWRITTEN). ``nodes=None`` only queries where pages are."""
    m = caller.machine
    core = m.core
    sem = m.semantics
    if sem == "v5":
        raise _fail(_errno.ENOSYS, "move_pages(2) arrived in 2.6.18; the V5 kernel has none")
    addrs = np.ascontiguousarray(pages, dtype=np.uint64)
    if addrs.ndim != 1:
        raise ValueError(f"pages must be one-dimensional, got shape {addrs.shape}")
    tnodes = None
    if nodes is not None:
        tnodes = np.ascontiguousarray(nodes, dtype=np.int32)
        if tnodes.shape != addrs.shape:
            raise ValueError(f"nodes has shape {tnodes.shape}, pages {addrs.shape}")
    # Flags: only MOVE and MOVE_ALL; MOVE_ALL needs CAP_SYS_NICE.
    if flags & ~int(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
        raise _fail(_errno.EINVAL, f"flags {flags:#x} has bits other than MPOL_MF_MOVE(_ALL)")
    if flags & MPOL_MF_MOVE_ALL and not core.capable(caller.pid, "CAP_SYS_NICE"):
        raise _fail(_errno.EPERM, "MPOL_MF_MOVE_ALL needs CAP_SYS_NICE")
    target, has_mm = _find_task(caller, pid)
    if sem == "2.6.16":
        # 2.6.18 sys_move_pages: the mm first, then the uid rule, then the LSM hook.
        if not has_mm:
            raise _no_mm(target)
        if not core.may_migrate(caller.pid, target.pid, "CAP_SYS_NICE"):
            raise _fail(_errno.EPERM, f"no right to move pages of pid {target.pid}")
        _lsm(m, caller, target)
    else:
        # find_mm_struct(): pid 0 is current->mm with no check; another task needs the
        # ptrace check and the LSM hook, then an mm.
        if pid != 0:
            _ptrace_check(m, caller, target)
            _lsm(m, caller, target)
        if not has_mm:
            raise _no_mm(target)
    move_all = bool(flags & MPOL_MF_MOVE_ALL)
    rc, status = core.move_pages(target.pid, addrs, tnodes, int(flags), move_all)
    if rc < 0:
        err = _fail(-rc, "move_pages stopped; `status` on this error holds what was written")
        err.status = status  # type: ignore[attr-defined]
        raise err
    return rc, status


def migration_pairs(
    old: NodeMask | Iterable[int], new: NodeMask | Iterable[int], semantics: str, nbits: int = 1024
) -> list[tuple[int, int | None]]:
    """The ordered (source, destination) pairs do_migrate_pages() would run for old -> new,
    without touching memory (V5: (node, None) for each node of old \\\\ new, which it evicts).

    >>> migration_pairs([0, 1, 2, 3], [0, 1], "2.6.16")
    [(3, 1), (2, 0)]
    >>> migration_pairs(range(8), [3, 4, 5], "modern")   # Woodman: 3, 4, 5 stay put
    [(7, 4), (6, 3), (2, 5), (1, 4), (0, 3)]
    """
    a = old if isinstance(old, NodeMask) else NodeMask(old, nbits=nbits)
    b = new if isinstance(new, NodeMask) else NodeMask(new, nbits=nbits)
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
    core = m.core
    modern = m.semantics == "modern"
    if modern:
        # kernel_mbind(): sanitize_mpol_flags() before get_nodes().
        core.sanitize_mode(mode)
    # sys_mbind() reads the nodemask before do_mbind() looks at anything else.
    nodes = get_nodes(m, nodemask, maxnode, "nodemask")
    valid = int(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)
    if flags & ~valid:
        raise _fail(_errno.EINVAL, f"flags {flags:#x} has unknown bits")
    if not modern:
        # do_mbind() 2.6: "flags & ~(STRICT|MOVE|MOVE_ALL) || mode > MPOL_MAX": EINVAL.
        core.sanitize_mode(mode)
    cap = _cap(m, "mbind_move_all")
    if flags & MPOL_MF_MOVE_ALL and not core.capable(caller.pid, cap):
        raise _fail(_errno.EPERM, f"MPOL_MF_MOVE_ALL needs {cap}")
    ps = m.page_size
    if addr % ps:
        raise _fail(_errno.EINVAL, f"start {addr:#x} is not page aligned")
    end = addr + -(-length // ps) * ps
    if end >= 1 << m.arch.bits_per_long:
        raise _fail(_errno.EINVAL, f"start {addr:#x} + len {length:#x} wraps around")
    if end == addr:
        return 0  # do_mbind(): an empty range succeeds before the policy is looked at
    report = MigrateReport(core.mbind(caller.pid, addr, length, int(mode), nodes, int(flags)))
    m.last_report = report
    if report.ret < 0:
        raise _fail(-report.ret, "mbind: pages off the policy remain (MPOL_MF_STRICT)")
    return 0


def set_mempolicy(caller: Task, mode: int, nodemask: Any, maxnode: int) -> int:
    """sys_set_mempolicy(mode, nmask, maxnode) for the calling task. Returns 0."""
    m = caller.machine
    if m.semantics == "modern":
        m.core.sanitize_mode(mode)  # kernel_set_mempolicy(): before get_nodes()
    nodes = get_nodes(m, nodemask, maxnode, "nodemask")
    m.core.set_mempolicy(caller.pid, int(mode), nodes)
    return 0


def get_mempolicy(
    caller: Task, maxnode: int, addr: int = 0, flags: int = 0
) -> tuple[int, NodeMask]:
    """sys_get_mempolicy(policy, nmask, maxnode, addr, flags) for the calling task, with a
    nodemask wanted: (the policy value, or the node with MPOL_F_NODE; the nodemask). maxnode
    below MAX_NUMNODES (2.6) or nr_node_ids (6.x) is EINVAL."""
    m = caller.machine
    minimum = m.arch.max_numnodes if m.semantics != "modern" else max(m.nodes) + 1
    if maxnode < minimum:
        raise _fail(_errno.EINVAL, f"maxnode {maxnode} is below {minimum}")
    return m.core.get_mempolicy(caller.pid, int(flags), addr)


SYSCALLS = {
    "migrate_pages": migrate_pages,
    "move_pages": move_pages,
    "mbind": mbind,
    "set_mempolicy": set_mempolicy,
    "get_mempolicy": get_mempolicy,
}


def raw(fn: Any, *args: Any) -> Any:
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
    "get_mempolicy",
    "get_nodes",
    "mbind",
    "migrate_pages",
    "migration_pairs",
    "move_pages",
    "raw",
    "set_mempolicy",
]
