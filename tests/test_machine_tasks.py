"""Tasks: spawn, kernel threads, threads, fork (copy-on-write), exit, pids, credentials and
capabilities, CPUs and local nodes, cpusets."""

from __future__ import annotations

import errno

import pytest
from conftest import SEMANTICS, assert_all_free, small, used_pages

import numasim
from numasim import MPOL_PREFERRED, Machine, NodeSpec

pytest.register_assert_rewrite("syscall_scene")
from syscall_scene import snapshot  # noqa: E402

ENOENT = -errno.ENOENT

# --- pids and lookup ---------------------------------------------------------------------------


def test_pids_increase_and_are_not_reused_soon():
    m = small(pages=16)
    a, b, c = m.spawn(), m.spawn(), m.spawn()
    assert [a.pid, b.pid, c.pid] == [1, 2, 3]
    b.exit()
    d = m.spawn()
    assert d.pid == 4  # alloc_pidmap goes on after last_pid
    assert [t.pid for t in m.tasks()] == [1, 3, 4]
    assert a.clone_thread().pid == 5
    assert a.fork().pid == 6
    assert m.kernel_thread().pid == 7
    with pytest.raises(ProcessLookupError) as e:
        m.task(2)
    assert e.value.errno == errno.ESRCH
    with pytest.raises(ProcessLookupError):
        b.exit()
    with pytest.raises(ProcessLookupError):
        m.task(99)
    assert m.task(3) == c and hash(m.task(3)) == hash(c)
    assert m.task(3) != m.task(4)
    m.check()


def test_pids_wrap_to_reserved_pids():
    # pid_max 32768: after 32767 the search wraps to RESERVED_PIDS (300), skipping used pids
    m = small(nodes=1, pages=16, cpus_per_node=1)
    keep = m.spawn()
    # the churn goes through the core directly: no per-call check of 32767 tasks
    for _ in range(299):
        m.core.spawn(1000, 1000, 0, "/", "")  # pids 2..300 stay in use
    while (pid := m.core.spawn(1000, 1000, 0, "/", "")) < 32767:
        m.core.exit(pid)
    assert pid == 32767
    m.check()
    t = m.spawn()
    assert t.pid == 301  # 300 is taken
    assert keep.pid == 1
    assert len(m.tasks()) == 302


def test_repr_of_an_exited_task():
    m = small(pages=16)
    t = m.spawn()
    t.exit()
    assert "pid=1" in repr(t)


def test_spawn_defaults_and_info():
    m = small(nodes=2, pages=16)
    t = m.spawn(uid=1000, cpu=3, name="worker")
    i = t.info()
    assert (i.pid, i.tgid, i.comm, i.has_mm) == (1, 1, "worker", True)
    assert (i.uid, i.euid, i.suid, i.fsuid) == (1000,) * 4
    assert (i.gid, i.egid, i.sgid, i.fsgid) == (1000,) * 4
    assert (i.cpu, i.node, i.cpuset, i.policy) == (3, 1, "/", "default")
    assert list(i.mems_allowed) == [0, 1] and i.mems_allowed.nbits == 64
    assert (t.name, t.tgid, t.uid, t.euid, t.suid, t.gid, t.cpu, t.node) == (
        "worker",
        1,
        1000,
        1000,
        1000,
        1000,
        3,
        1,
    )
    assert t.capabilities == frozenset() and t.dumpable
    assert repr(t) == "Task(pid=1, comm='worker', uid=1000, cpu=3)"
    u = m.spawn(uid=5, gid=7)
    assert (u.name, u.uid, u.gid) == ("task2", 5, 7)
    assert u.get_mempolicy() == (0, m.nodemask())
    with pytest.raises(ValueError, match="cpu 4 does not exist"):
        m.spawn(cpu=4)
    assert [x.pid for x in m.tasks()] == [1, 2]


def test_kernel_thread_has_no_mm():
    m = small(pages=16)
    k = m.kernel_thread("kswapd0", cpu=1)
    assert (k.name, k.has_mm, k.uid, k.cpu) == ("kswapd0", False, 0, 1)
    assert k.capable("CAP_SYS_ADMIN") and k.capable("sys_nice")
    before = snapshot(m)
    for call in (
        lambda: k.mmap(4096),
        lambda: k.touch(4096, 1),
        lambda: k.read(4096, 1),
        lambda: k.page_nodes(4096, 4096),
        lambda: k.numa_maps(),
        lambda: k.fork(),
        lambda: k.clone_thread(),
        lambda: k.brk(0),
        lambda: m.swap_out(k, 4096, 4096),
    ):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.EINVAL
    assert snapshot(m) == before
    assert "Name:\tkswapd0\n" in k.status()
    k.exit()
    assert m.tasks() == []
    assert_all_free(m)


def test_threads_share_the_mm_and_keep_their_own_policy():
    m = small(nodes=2, pages=64)
    ps = m.page_size
    t = m.spawn(cpu=0)
    t.set_mempolicy(MPOL_PREFERRED, [1])
    th = t.clone_thread()
    assert (th.tgid, th.has_mm, th.uid) == (t.pid, True, 1000)
    a = th.mmap(2 * ps)
    th.touch(a, 2 * ps, write=True)
    assert t.vmas() == th.vmas()
    assert t.read(a, 2 * ps).tolist() == [1, 2]
    assert t.page_nodes(a, 2 * ps).tolist() == [1, 1]  # the inherited policy
    t.set_mempolicy(numasim.MPOL_DEFAULT)
    assert th.get_mempolicy() == (MPOL_PREFERRED, m.nodemask([1]))
    t.exit()  # the thread keeps the mm alive
    assert th.read(a, 2 * ps).tolist() == [1, 2]
    assert used_pages(m) == 1 + 2
    m.check()
    th.exit()
    assert_all_free(m)


# --- fork ----------------------------------------------------------------------------------------


def test_fork_shares_anonymous_pages_until_written(sem):
    m = small(semantics=sem, nodes=2, pages=64)
    ps = m.page_size
    p = m.spawn(cpu=0)
    a = p.mmap(4 * ps)
    p.touch(a, 4 * ps, write=True)
    content = p.read(a, 4 * ps).tolist()
    c = p.fork()
    m.check()
    assert (c.tgid, c.name, c.uid, c.cpu) == (c.pid, p.name, 1000, 0)
    assert c.vmas() == p.vmas()
    assert c.read(a, 4 * ps).tolist() == content
    assert c.page_nodes(a, 4 * ps).tolist() == [0] * 4
    assert used_pages(m) == 1 + 4  # nothing copied
    assert maxref(p, a) == maxref(c, a) == 2
    c.migrate_to_cpu(2)
    c.touch(a, ps, write=True)  # COW: the child gets its own page, on its node
    m.check()
    assert c.read(a, 4 * ps).tolist()[1:] == content[1:]
    assert c.read(a, ps)[0] not in content
    assert p.read(a, 4 * ps).tolist() == content
    assert c.page_nodes(a, 4 * ps).tolist() == [1, 0, 0, 0]
    assert used_pages(m) == 1 + 5
    assert m.vmstat_counters()["cow_faults"] == 1
    p.touch(a, ps, write=True)  # mapped once now: reused, no copy
    assert (used_pages(m), m.vmstat_counters()["cow_faults"]) == (1 + 5, 1)
    p.touch(a + ps, ps, write=True)  # still shared: copied
    assert (used_pages(m), m.vmstat_counters()["cow_faults"]) == (1 + 6, 2)
    assert c.read(a + ps, ps).tolist() == [content[1]]
    m.check()
    p.exit()
    assert maxref(c, a) == 1
    c.exit()
    assert_all_free(m)


def maxref(t, a):
    """mapcount of the most shared page of the area at ``a`` (numa_maps maxref / mapmax)."""
    line = next(x for x in t.numa_maps().splitlines() if int(x.split()[0], 16) == a)
    words = dict(w.split("=", 1) for w in line.split()[2:] if "=" in w)
    return int(words.get("maxref", words.get("mapmax", 1)))


def test_fork_keeps_shared_mappings_shared(sem):
    m = small(semantics=sem, nodes=2, pages=64)
    ps = m.page_size
    f = m.create_file("/data", 2 * ps)
    p = m.spawn()
    s = p.mmap(2 * ps, flags="shared|anonymous")
    fs = p.mmap(2 * ps, flags="shared", file=f)
    p.touch(s, 2 * ps, write=True)
    p.touch(fs, ps, write=True)
    c = p.fork()
    c.touch(s, ps, write=True)
    c.touch(fs + ps, ps, write=True)
    p.touch(s + ps, ps, write=True)
    assert p.read(s, 2 * ps).tolist() == c.read(s, 2 * ps).tolist() == [4, 6]
    assert p.read(fs, 2 * ps).tolist() == c.read(fs, 2 * ps).tolist() == [3, 5]
    assert m.vmstat_counters()["cow_faults"] == 0
    assert used_pages(m) == 1 + 4
    m.check()
    p.exit()
    c.exit()
    assert_all_free(m, cached=2)


def test_fork_of_zero_page_and_read_only_mappings():
    m = small(nodes=2, pages=64)
    ps = m.page_size
    p = m.spawn()
    a = p.mmap(2 * ps)
    p.touch(a, 2 * ps)  # zero page
    r = p.mmap(ps, prot="r")
    c = p.fork()
    c.touch(a, ps, write=True)
    assert (p.read(a, 2 * ps).tolist(), c.read(a, 2 * ps).tolist()) == ([0, 0], [1, 0])
    assert c.page_nodes(a, 2 * ps).tolist() == [0, ENOENT]
    with pytest.raises(numasim.SegmentationFault):
        c.touch(r, ps, write=True)
    m.check()


def test_fork_copies_swap_entries():
    m = small(pages=64)
    ps = m.page_size
    p = m.spawn()
    a = p.mmap(4 * ps)
    p.touch(a, 4 * ps, write=True)
    content = p.read(a, 4 * ps).tolist()
    assert m.swap_out(p, a, 4 * ps) == 4
    c = p.fork()
    m.check()
    assert c.counters().swap_ents == 4 and m.swap_info()[0].used == 4
    assert c.read(a, 4 * ps).tolist() == content
    c.touch(a, ps, write=True)  # swap in, then COW: the parent keeps the swapped copy
    assert p.read(a, 4 * ps).tolist() == content
    assert p.page_nodes(a, ps).tolist() == [ENOENT]
    m.check()
    c.exit()
    assert p.read(a, 4 * ps).tolist() == content
    p.exit()
    assert_all_free(m)


def test_exit_releases_every_frame_and_slot():
    m = small(nodes=2, pages=256)
    ps = m.page_size
    f = m.create_file("/lib.so", 3 * ps)
    t = m.spawn(cpu=2)
    a = t.mmap(16 * ps)
    t.touch(a, 16 * ps, write=True)
    t.mmap(3 * ps, flags="private", file=f)
    x = t.mmap(3 * ps, prot="rx", flags="private|denywrite", file=f)
    t.touch(x, 3 * ps)
    start = t.layout().start_brk
    t.brk(start + 2 * ps)
    t.touch(start, 2 * ps, write=True)
    s = t.mmap(2 * ps, flags="shared|anonymous")
    t.touch(s, 2 * ps, write=True)
    m.swap_out(t, a, 8 * ps)
    t.touch(a, ps)  # readahead leaves swap-cache pages behind
    c = t.fork()
    c.touch(a + 8 * ps, 2 * ps, write=True)
    m.set_page_state(t, a + 10 * ps, ps, "writeback", duration_ns=10)
    m.check()
    assert m.swap_cache_pages > 0 and m.swap_info()[0].used > 0
    t.exit()
    c.exit()
    m.advance(10)
    assert_all_free(m, cached=3)
    assert f.cached_pages == 3


# --- credentials ---------------------------------------------------------------------------------

ALL = "all"


@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize(
    ("uid", "calls", "ids", "eff", "prm"),
    [
        # root dropping and regaining its effective uid (saved uid 0)
        (0, [("seteuid", 1000)], (0, 1000, 0, 1000), 0, ALL),
        (0, [("seteuid", 1000), ("seteuid", 0)], (0, 0, 0, 0), ALL, ALL),
        (0, [("setresuid", -1, 1000, -1)], (0, 1000, 0, 1000), 0, ALL),
        (0, [("setresuid", 1000, 1000, 0), ("setresuid", -1, 0, -1)], (1000, 0, 0, 0), ALL, ALL),
        # leaving uid 0 everywhere drops every capability
        (0, [("setuid", 1000)], (1000,) * 4, 0, 0),
        (0, [("setreuid", 1000, 1000)], (1000,) * 4, 0, 0),
        (0, [("setresuid", 1000, 1000, 1000)], (1000,) * 4, 0, 0),
        (0, [("setreuid", -1, 1000)], (0, 1000, 1000, 1000), 0, ALL),
        # an unprivileged task may only shuffle its own ids
        (1000, [("setuid", 1000)], (1000,) * 4, 0, 0),
        (1000, [("setresuid", -1, -1, -1)], (1000,) * 4, 0, 0),
        (1000, [("setuid", 2000)], errno.EPERM, None, None),
        (1000, [("seteuid", 2000)], errno.EPERM, None, None),
        (1000, [("setreuid", 2000, -1)], errno.EPERM, None, None),
        (1000, [("setresuid", -1, -1, 0)], errno.EPERM, None, None),
        (0, [("setuid", 1000), ("setuid", 0)], errno.EPERM, None, None),
        (0, [("setuid", 1000), ("seteuid", 0)], errno.EPERM, None, None),
        (0, [("seteuid", -1)], errno.EINVAL, None, None),
    ],
)
def test_set_uid_rules(semantics, uid, calls, ids, eff, prm):
    m = small(semantics=semantics, pages=16)
    t = m.spawn(uid=uid)
    full = t.info().cap_effective if uid == 0 else None
    try:
        for op, *args in calls:
            getattr(t, op)(*args)
    except OSError as e:
        assert e.errno == ids
        return
    assert not isinstance(ids, int), "expected an error"
    i = t.info()
    assert (i.uid, i.euid, i.suid, i.fsuid) == ids
    assert i.cap_effective == ([] if eff == 0 else full)
    assert i.cap_permitted == ([] if prm == 0 else full)
    assert t.status().splitlines()[4] == "Uid:\t" + "\t".join(map(str, ids))


def test_root_has_every_capability_and_grant_revoke():
    m = small(semantics="modern", pages=16)
    r = m.spawn(uid=0)
    assert len(r.capabilities) == 41  # 0..CAP_CHECKPOINT_RESTORE
    assert all(r.capable(c) for c in ("CAP_SYS_NICE", "sys_admin", "CAP_SETUID", "CAP_BPF"))
    assert r.info().cap_effective_hex == "000001ffffffffff"
    u = m.spawn(uid=1000)
    assert not u.capable("CAP_SYS_NICE")
    u.grant("CAP_SYS_NICE")
    assert u.capable("CAP_SYS_NICE") and u.capabilities == {"CAP_SYS_NICE"}
    assert u.info().cap_effective_hex == f"{1 << 23:016x}"
    u.revoke("sys_nice")
    assert u.capabilities == frozenset()
    with pytest.raises(ValueError, match="unknown capability"):
        u.grant("CAP_FLY")
    # a CAP_SETUID holder may take any uid; its capabilities stay (no uid was 0)
    u.grant("CAP_SETUID")
    u.setuid(2000)
    i = u.info()
    assert (i.uid, i.euid, i.suid, i.fsuid) == (2000,) * 4 and u.capable("CAP_SETUID")


def test_setgid_rules():
    m = small(pages=16)
    u = m.spawn(uid=1000, gid=100)
    with pytest.raises(PermissionError):
        u.setgid(200)
    u.setgid(100)
    r = m.spawn(uid=0)
    r.setresgid(5, 6, 7)
    gids = lambda: (r.info().gid, r.info().egid, r.info().sgid, r.info().fsgid)  # noqa: E731
    assert gids() == (5, 6, 7, 6)
    r.setgid(9)
    assert gids() == (9, 9, 9, 9)
    assert r.status().splitlines()[5] == "Gid:\t9\t9\t9\t9"


def test_credential_changes_clear_dumpable():
    m = small(pages=16)
    r = m.spawn(uid=0)
    assert r.dumpable
    r.seteuid(1000)
    assert not r.dumpable
    r.dumpable = True
    assert r.dumpable


# --- cpusets ---------------------------------------------------------------------------------


def test_cpuset_remove(sem):
    """rmdir of a cpuset (cpuset_rmdir): EBUSY while a task is attached or a child exists;
    afterwards the path is gone and may be made again."""
    m = small(semantics=sem, nodes=2, pages=64)
    m.cpuset("/a", mems=[0], cpus=[0])
    m.cpuset("/a/b", mems=[0], cpus=[0])
    t = m.spawn(cpuset="/a")
    with pytest.raises(OSError) as e:
        m.cpuset_remove("/a")
    assert e.value.errno == errno.EBUSY
    m.cpuset_remove("/a/b")
    assert m.cpuset_info("/a").children == []
    with pytest.raises(OSError) as e:
        m.cpuset_remove("/a")  # the task is still there
    assert e.value.errno == errno.EBUSY
    t.attach_cpuset("/")
    m.cpuset_remove("/a")
    with pytest.raises(OSError) as e:
        m.cpuset_info("/a")
    assert e.value.errno == errno.ENOENT
    with pytest.raises(OSError) as e:
        m.cpuset_remove("/")  # the top cpuset is the mount point: vfs_rmdir() says EBUSY
    assert e.value.errno == errno.EBUSY
    m.cpuset("/a", mems=[1], cpus=[1])
    assert list(m.cpuset_info("/a").mems) == [1]


def test_cpusets(sem):
    m = small(semantics=sem, nodes=4, pages=64)
    ps = m.page_size
    assert m.cpuset("/a", mems=[0, 1], cpus=[0, 1, 2, 3]) == "/a"
    info = m.cpuset_info("/a")
    assert (info.path, info.mems, info.cpus, info.memory_migrate, info.parent, info.children) == (
        "/a",
        m.nodemask([0, 1]),
        numasim.NodeMask([0, 1, 2, 3], nbits=32),
        False,
        "/",
        [],
    )
    # a child must stay within its parent (validate_change: EACCES)
    for kw in ({"mems": [2], "cpus": [0]}, {"mems": [1], "cpus": [5]}):
        with pytest.raises(PermissionError) as e:
            m.cpuset("/a/b", **kw)
        assert e.value.errno == errno.EACCES
        with pytest.raises(FileNotFoundError):
            m.cpuset_info("/a/b")
    with pytest.raises(FileNotFoundError):
        m.cpuset("/x/y", mems=[0], cpus=[0])
    with pytest.raises(FileExistsError):
        m.cpuset("/a", mems=[0], cpus=[0])
    with pytest.raises(ValueError, match="must start with '/'"):
        m.cpuset("a/b")
    m.cpuset("/a/b", mems=[1], cpus=[0])
    m.cpuset("/a/c")  # inherits the parent's masks
    assert (m.cpuset_info("/a/c").mems, m.cpuset_info("/a").children) == (
        m.nodemask([0, 1]),
        ["/a/b", "/a/c"],
    )
    t = m.spawn(cpu=0)
    t.attach_cpuset("/a/b")
    assert (t.cpuset, list(t.mems_allowed)) == ("/a/b", [1])
    a = t.mmap(2 * ps)
    t.touch(a, 2 * ps, write=True)  # the local node 0 is not allowed
    assert t.page_nodes(a, 2 * ps).tolist() == [1, 1]
    assert "Mems_allowed:\t00000000,00000002\n" in t.status()
    u = m.spawn(cpu=6, cpuset="/a")
    assert (u.node, list(u.mems_allowed)) == (3, [0, 1])
    b = u.mmap(ps)
    u.touch(b, ps, write=True)
    assert u.page_nodes(b, ps).tolist() == [0]
    m.check()


def test_empty_cpuset_cannot_take_tasks():
    m = small(nodes=2, pages=16)
    m.cpuset("/e", mems=[], cpus=[0])
    t = m.spawn()
    for call in (lambda: t.attach_cpuset("/e"), lambda: m.spawn(cpuset="/e")):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.ENOSPC
    assert t.cpuset == "/" and len(m.tasks()) == 1


@pytest.mark.parametrize(
    ("semantics", "mems", "result"),
    [
        ("v5", [0, 5], [0]),  # 2.6: trimmed to the online nodes
        ("2.6.16", [0, 5], [0]),
        ("2.6.16", [5], []),  # nothing online: the fresh cpuset's empty mask, a no-op
        ("modern", [0, 5], errno.EINVAL),  # 6.x: outside the top cpuset
    ],
)
def test_cpuset_mems_outside_the_machine(semantics, mems, result):
    m = small(semantics=semantics, nodes=4, pages=16)
    if isinstance(result, int):
        with pytest.raises(OSError) as e:
            m.cpuset("/x", mems=mems, cpus=[0])
        assert e.value.errno == result
    else:
        m.cpuset("/x", mems=mems, cpus=[0])
        assert list(m.cpuset_info("/x").mems) == result


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_memory_migrate_flag_appeared_in_2_6_16(semantics):
    m = small(semantics=semantics, nodes=2, pages=16)
    if semantics == "v5":
        with pytest.raises(FileNotFoundError):
            m.cpuset("/m", mems=[0], cpus=[0], memory_migrate=True)
    else:
        m.cpuset("/m", mems=[0], cpus=[0], memory_migrate=True)
        assert m.cpuset_info("/m").memory_migrate


@pytest.mark.parametrize(
    ("semantics", "mems"),
    [
        ("v5", [0, 1]),
        ("2.6.16", [0, 1]),
        ("modern", [0]),
    ],
)
def test_top_cpuset_mems_with_a_memoryless_node(semantics, mems):
    # 16 pages in all, less than the kernel's least min_free_kbytes (128 kB): no reserve.
    m = Machine(
        semantics=semantics,
        nodes=[NodeSpec(0, "64KiB", 1), NodeSpec(1, 0, 1)],
        min_free_kbytes=0,
    )
    assert list(m.cpuset_info("/").mems) == mems
    t = m.spawn(cpu=1)
    assert list(t.mems_allowed) == mems
    a = t.mmap(4096)
    t.touch(a, 4096, write=True)
    assert t.page_nodes(a, 4096).tolist() == [0]
