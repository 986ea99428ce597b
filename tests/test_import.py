"""Real machines and processes imported: Machine.from_sysfs, from_numactl_hardware,
import_process, on this machine and on the saved snapshots of tests/data."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import numasim

DATA = Path(__file__).parent / "data"


def test_a_two_socket_server_with_interleaved_thread_numbers():
    m = numasim.Machine.from_sysfs(DATA / "sysfs" / "two-socket")
    assert m.nodes == [0, 1]
    assert m.node_cpus(0) == [*range(0, 28), *range(56, 84)]
    assert m.node_cpus(1) == [*range(28, 56), *range(84, 112)]
    assert m.distance(0, 1) == 21
    # MemTotal, in pages
    assert m.node_usage()[1].total == (192 << 30) // 4096
    m.check()


def test_an_eight_node_amd_box():
    m = numasim.Machine.from_sysfs(DATA / "sysfs" / "amd-8node", semantics="2.6.16")
    assert m.nodes == list(range(8))
    assert [m.distance(0, n) for n in m.nodes] == [10, 12, 12, 12, 32, 32, 32, 32]
    assert m.semantics == "2.6.16"
    assert m.nr_cpus == 128


def test_a_cpu_less_cxl_node_and_a_memoryless_node():
    m = numasim.Machine.from_sysfs(DATA / "sysfs" / "cxl")
    st = m.node_states
    assert list(st.has_memory) == [0, 1, 2]
    assert list(st.has_cpu) == [0, 1, 3]
    assert m.node_cpus(2) == []
    assert m.zonelist(3)[0] == 1  # the memoryless node falls back to its nearest memory
    # a task on the memoryless node allocates remotely
    t = m.spawn(cpu=64)
    a = t.mmap("64KiB")
    t.touch(a, "64KiB", write=True)
    assert t.resident_by_node()[1] == 16
    m.check()


def test_a_snapshot_root_may_be_the_node_directory_itself():
    a = numasim.Machine.from_sysfs(DATA / "sysfs" / "cxl" / "sys" / "devices" / "system" / "node")
    assert a.nodes == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="no node directories"):
        numasim.Machine.from_sysfs(DATA / "proc")


@pytest.mark.skipif(not os.path.isdir("/sys/devices/system/node/node0"), reason="no NUMA sysfs")
def test_this_machine():
    m = numasim.Machine.from_sysfs()
    nodes = sorted(
        int(d[4:]) for d in os.listdir("/sys/devices/system/node") if re.fullmatch(r"node\d+", d)
    )
    assert m.nodes == nodes
    cpus = Path("/sys/devices/system/node/node0/cpulist").read_text().strip()
    assert numasim.NodeMask(m.node_cpus(0), nbits=4096).format_list() == cpus
    m.check()


def test_numactl_hardware_text():
    m = numasim.Machine.from_numactl_hardware(
        (DATA / "numactl-hardware" / "two-socket.txt").read_text(), semantics="v5"
    )
    assert m.nodes == [0, 1]
    assert m.node_cpus(1) == [*range(8, 16), *range(24, 32)]
    assert m.node_usage()[0].total == (64326 << 20) // 4096
    assert m.distance(1, 0) == 21
    cxl = numasim.Machine.from_numactl_hardware((DATA / "numactl-hardware" / "cxl.txt").read_text())
    assert cxl.node_cpus(2) == [] and cxl.distance(0, 2) == 14
    with pytest.raises(ValueError, match="line 2: not understood"):
        numasim.Machine.from_numactl_hardware("available: 1 nodes (0)\nbogus\n")
    with pytest.raises(ValueError, match="no 'node 0 size:' line"):
        numasim.Machine.from_numactl_hardware("node 0 cpus: 0\n")


def test_import_a_saved_database_server():
    m = numasim.Machine.from_sysfs(DATA / "sysfs" / "two-socket")
    t = m.import_process(DATA / "proc" / "db-server")
    assert (t.name, t.uid, t.euid) == ("postgres", 999, 999)
    # numa_maps's N<node>= counts, summed (vdso/vvar/vsyscall are not recreated)
    sums = {0: 0, 1: 0}
    for line in (DATA / "proc" / "db-server" / "numa_maps").read_text().splitlines():
        for node, n in re.findall(r"N(\d+)=(\d+)", line):
            sums[int(node)] += int(n)
    assert t.resident_by_node() == sums
    shm = next(v for v in t.vmas() if v.start == 0x7F1A40000000)
    assert shm.end == 0x7F1A48000000
    maps = t.numa_maps()
    assert "7f1a40000000 interleave:0-1 file=/dev/zero (deleted)" in maps
    # the question the importer is for: what would migratepages do to it?
    rep = m.migratepages(t.pid, "0", "1")
    assert rep.moved == sums[0]
    assert t.resident_by_node() == {0: 0, 1: sums[0] + sums[1]}
    m.check()


def test_two_imports_share_their_files():
    m = numasim.Machine.from_sysfs(DATA / "sysfs" / "two-socket")
    m.import_process(DATA / "proc" / "db-server")
    t = m.import_process(DATA / "proc" / "db-server")
    assert "mapmax=2" in t.numa_maps().splitlines()[0]
    m.check()


def test_a_process_with_narrower_mems_gets_a_cpuset(tmp_path):
    src = DATA / "proc" / "db-server"
    for f in ("maps", "numa_maps"):
        (tmp_path / f).write_text((src / f).read_text())
    (tmp_path / "status").write_text(
        (src / "status").read_text().replace("Mems_allowed_list:\t0-1", "Mems_allowed_list:\t4-5")
    )
    m = numasim.Machine.from_sysfs(DATA / "sysfs" / "amd-8node")
    t = m.import_process(tmp_path)
    assert list(t.mems_allowed) == [4, 5]
    assert t.cpuset.startswith("/imported-")


@pytest.mark.skipif(not os.path.exists("/proc/self/numa_maps"), reason="no numa_maps here")
def test_import_a_live_process_of_this_machine():
    m = numasim.Machine.from_sysfs()
    t = m.import_process(f"/proc/{os.getpid()}")
    assert t.uid == os.getuid()
    assert sum(t.resident_by_node().values()) > 0
    m.check()


def test_a_missing_proc_directory_is_an_oserror(tmp_path):
    m = numasim.Machine(nodes=2, node_memory="16MiB")
    with pytest.raises(FileNotFoundError):
        m.import_process(tmp_path / "nope")
