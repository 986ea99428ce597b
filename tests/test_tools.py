"""numactl --hardware, numastat and migratepages on the command line (numasim.cli), and the
per-node numastat counters behind them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import numasim
from numasim import NodeSpec, _tools
from numasim.cli import main

DATA = Path(__file__).parent / "data"


def two_nodes(sem="modern"):
    return numasim.Machine(semantics=sem, nodes=2, node_memory="64MiB", cpus_per_node=1)


# ----- the counters -----------------------------------------------------------------------


def test_numastat_counters_per_generation(sem):
    m = two_nodes(sem)
    t = m.spawn(uid=0, cpu=0)
    a = t.mmap("40KiB")
    t.touch(a, "40KiB", write=True)
    t.set_mempolicy(numasim.MPOL_INTERLEAVE, "0-1")
    b = t.mmap("40KiB")
    t.touch(b, "40KiB", write=True)
    m.cpuset("/far", mems="1", cpus="0-1")
    u = m.spawn(uid=0, cpu=0, cpuset="/far")
    c = u.mmap("16KiB")
    u.touch(c, "16KiB", write=True)
    s = m.numastat_counters()
    assert (s[0].numa_hit, s[0].local_node, s[0].interleave_hit) == (15, 15, 5)
    assert (s[1].interleave_hit, s[1].other_node) == (5, 9)
    # A task whose cpuset leaves out its own node: 2.6 compares with zonelist->zones[0] (its
    # node: a miss), 6.x with the first node of the cpuset (a hit).
    if sem == "modern":
        assert (s[1].numa_hit, s[1].numa_miss, s[0].numa_foreign) == (9, 0, 0)
    else:
        assert (s[1].numa_hit, s[1].numa_miss, s[0].numa_foreign) == (5, 4, 4)
    assert m.node_numastat(1) == (
        f"numa_hit {s[1].numa_hit}\nnuma_miss {s[1].numa_miss}\nnuma_foreign 0\n"
        f"interleave_hit 5\nlocal_node 0\nother_node 9\n"
    )
    with pytest.raises(ValueError, match="node 7 does not exist"):
        m.node_numastat(7)


def test_migration_targets_count_where_they_are_allocated():
    m = two_nodes("modern")
    t = m.spawn(uid=0, cpu=0)
    a = t.mmap("40KiB")
    t.touch(a, "40KiB", write=True)
    m.migratepages(t.pid, "0", "1")
    s = m.numastat_counters()
    # __GFP_THISNODE targets on node 1, wanted there, by a CPU of node 0.
    assert (s[1].numa_hit, s[1].other_node, s[1].numa_miss) == (10, 10, 0)


# ----- numactl --hardware -------------------------------------------------------------------


def test_hardware_prints_numactls_format(capsys):
    assert main(["hardware", "--machine", str(DATA / "sysfs" / "cxl")]) == 0
    # tests/data/golden/cxl-hardware.txt: numactl's layout, trailing blanks included
    golden = (DATA / "golden" / "cxl-hardware.txt").read_text()
    assert capsys.readouterr().out == golden
    assert golden.splitlines()[-5] == "node     0    1    2    3 "
    assert golden.splitlines()[1].startswith("node 0 cpus: 0 1 2 ")


@pytest.mark.parametrize(
    ("nids", "line"),
    [
        ([0, 1, 2], "available: 3 nodes (0-2)"),
        ([0, 1, 3], "available: 3 nodes (0-1,3)"),
        ([0, 2, 3], "available: 3 nodes (0,2-3)"),
        ([0, 2, 5], "available: 3 nodes (0,2,5)"),
        ([1, 2, 3, 7, 8], "available: 5 nodes (1-3,7-8)"),
    ],
)
def test_available_line_ranges(nids, line):
    m = numasim.Machine(nodes=[NodeSpec(n, "4MiB", [i]) for i, n in enumerate(nids)])
    assert m.hardware().splitlines()[0] == line


def test_hardware_text_reads_back():
    m = numasim.Machine.from_sysfs(DATA / "sysfs" / "amd-8node")
    again = numasim.Machine.from_numactl_hardware(m.hardware())
    assert again.nodes == m.nodes
    assert [again.node_cpus(n) for n in again.nodes] == [m.node_cpus(n) for n in m.nodes]
    assert [[again.distance(a, b) for b in m.nodes] for a in m.nodes] == [
        [m.distance(a, b) for b in m.nodes] for a in m.nodes
    ]


# ----- numastat ---------------------------------------------------------------------------


def counted_machine():
    m = two_nodes("modern")
    t = m.spawn(uid=0, cpu=0, name="app")
    a = t.mmap("1MiB")
    t.set_mempolicy(numasim.MPOL_INTERLEAVE, "0-1")
    t.touch(a, "1MiB", write=True)
    return m, t


def test_bare_numastat_is_the_perl_scripts_format():
    m, _ = counted_machine()
    assert _tools.numastat(m, None, width=10**7) == (
        "                           node0           node1\n"
        "numa_hit                     128             128\n"
        "numa_miss                      0               0\n"
        "numa_foreign                   0               0\n"
        "interleave_hit               128             128\n"
        "local_node                   128               0\n"
        "other_node                     0             128\n"
    )


def test_numastat_n_is_in_megabytes_with_a_total():
    m, _ = counted_machine()
    opts = _tools.NumastatOptions(numastat=True)
    assert _tools.numastat(m, opts, width=10**7) == (
        "\nPer-node numastat info (in MBs):\n"
        "                          Node 0          Node 1           Total\n"
        "                 --------------- --------------- ---------------\n"
        "Numa_Hit                    0.50            0.50            1.00\n"
        "Numa_Miss                   0.00            0.00            0.00\n"
        "Numa_Foreign                0.00            0.00            0.00\n"
        "Interleave_Hit              0.50            0.50            1.00\n"
        "Local_Node                  0.50            0.00            0.50\n"
        "Other_Node                  0.00            0.50            0.50\n"
    )
    # -z leaves out the rows and columns of zeros.
    z = _tools.numastat(m, _tools.NumastatOptions(numastat=True, skip_zero=True), width=10**7)
    assert "Numa_Miss" not in z and "Numa_Hit" in z


def test_numastat_p_sums_numa_maps_per_node():
    m, t = counted_machine()
    out = _tools.numastat(m, _tools.NumastatOptions(pids=[t.pid]), width=10**7)
    assert out == (
        f"\nPer-node process memory usage (in MBs) for PID {t.pid} (app)\n"
        "                           Node 0          Node 1           Total\n"
        "                  --------------- --------------- ---------------\n"
        "Huge                         0.00            0.00            0.00\n"
        "Heap                         0.00            0.00            0.00\n"
        "Stack                        0.00            0.00            0.00\n"
        "Private                      0.50            0.50            1.00\n"
        "----------------  --------------- --------------- ---------------\n"
        "Total                        0.50            0.50            1.00\n"
    )
    u = m.spawn(uid=0, cpu=0, name="other")
    out = _tools.numastat(m, _tools.NumastatOptions(pids=[u.pid, t.pid]), width=10**7)
    assert out.splitlines()[1:4] == [
        "Per-node process memory usage (in MBs)",
        "PID                        Node 0          Node 1           Total",
        "----------------  --------------- --------------- ---------------",
    ]
    assert out.splitlines()[4].startswith(f"{t.pid} (app)")


def test_numastat_m_and_line_folding():
    m, _ = counted_machine()
    out = _tools.numastat(m, _tools.NumastatOptions(meminfo=True), width=40)
    lines = out.splitlines()
    assert lines[1] == "Per-node system memory usage (in MBs):"
    # 16 + 16 columns fit in 40: the table is printed in three sections.
    assert lines[2] == "                          Node 0"
    assert lines.count("                          Node 1") == 1
    assert lines.count("                           Total") == 1
    assert lines[4].startswith("MemTotal") and lines[4].endswith("64.00")


def test_numastat_cli(capsys, monkeypatch):
    monkeypatch.setenv("NUMASTAT_WIDTH", "200")
    assert main(["numastat", "--machine", "opteron-4s"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["node0", "node1", "node2", "node3"]
    assert main(["numastat", "--machine", "opteron-4s", "-n", "-m"]) == 0
    out = capsys.readouterr().out
    assert "Per-node system memory usage" in out and "Per-node numastat info" in out


# ----- migratepages -----------------------------------------------------------------------


def scenario_file(tmp_path):
    p = tmp_path / "m.toml"
    p.write_text(
        '[machine]\nnodes = 2\nnode_memory = "64MiB"\n'
        '[[task]]\nname = "app"\nuid = 1000\n'
        '  [[task.mapping]]\n  size = "1MiB"\n  touch = "write"\n'
    )
    return str(p)


def test_migratepages_cli_moves_and_reports(tmp_path, capsys):
    spec = scenario_file(tmp_path)
    assert main(["migratepages", "--machine", spec, "1", "0", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "migratepages 1 0 1 (modern):"
    assert "moved=256" in out and "node 0 -> node 1: 256 moved" in out
    assert (
        main(["migratepages", "--machine", spec, "--semantics", "v5", "--json", "1", "0", "1"]) == 0
    )
    rep = json.loads(capsys.readouterr().out)["report"]
    assert (rep["semantics"], rep["swapped_out"], rep["moved"]) == ("v5", 256, 0)


def test_migratepages_cli_exit_codes(tmp_path, capsys):
    spec = scenario_file(tmp_path)
    # usage: exit 1 and migratepages' usage text
    assert main(["migratepages", "--machine", spec, "x1", "0", "1"]) == 1
    assert capsys.readouterr().err.startswith("usage: migratepages pid from-nodes to-nodes")
    with pytest.raises(SystemExit) as e:
        main(["migratepages", "--machine", spec, "1", "0"])
    assert e.value.code == 1
    capsys.readouterr()
    # an invalid node string: libnuma's warning, then "<...> is invalid" on stdout
    assert main(["migratepages", "--machine", spec, "1", "0", "5"]) == 1
    r = capsys.readouterr()
    assert r.out == "<5> is invalid\n" and r.err.startswith("libnuma: Warning:")
    # the system call fails: perror("migrate_pages")
    assert main(["migratepages", "--machine", spec, "77", "0", "1"]) == 1
    assert capsys.readouterr().err == "migrate_pages: No such process\n"
    # pids as strtoul(..., 0) reads them
    assert main(["migratepages", "--machine", spec, "0x1", "all", "1"]) == 0


def test_python_dash_m_numasim():
    r = subprocess.run(
        [sys.executable, "-m", "numasim", "hardware", "--machine", "opteron-4s"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert r.stdout.startswith("available: 4 nodes (0-3)\n")


@pytest.mark.skipif(not os.path.exists("/proc/self/numa_maps"), reason="no numa_maps here")
def test_migratepages_of_a_live_process_of_this_machine(capsys):
    # Without --machine: this machine's topology, and the process imported from /proc.
    assert main(["migratepages", str(os.getpid()), "all", "0"]) == 0
    assert capsys.readouterr().out.startswith(f"migratepages {os.getpid()} all 0 (modern):")


def test_demo_options(capsys):
    assert (
        main(
            [
                "demo",
                "--machine",
                "opteron-4s",
                "--size",
                "1MiB",
                "--from",
                "0",
                "--to",
                "3",
                "--semantics",
                "modern",
                "--json",
            ]
        )
        == 0
    )
    (line,) = capsys.readouterr().out.splitlines()
    d = json.loads(line)
    assert (d["semantics"], d["before"], d["after"], d["moved"]) == (
        "modern",
        [256, 0, 0, 0],
        [0, 0, 0, 256],
        256,
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/numa_maps"), reason="no numa_maps here")
def test_numastat_p_of_a_live_process_shows_its_real_pid(capsys):
    assert main(["numastat", "-p", str(os.getpid())]) == 0
    out = capsys.readouterr().out
    assert f"Per-node process memory usage (in MBs) for PID {os.getpid()} (" in out
