"""The numasim console script."""

import subprocess
import sys

import pytest

import numasim
from numasim.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert capsys.readouterr().out.strip() == f"numasim {numasim.__version__}"


def test_arches_table(capsys):
    assert main(["arches"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["arch", "BITS_PER_LONG", "PAGE_SIZE", "MAX_NUMNODES"]
    rows = {line.split()[0]: line for line in out[1:]}
    assert set(rows) == set(numasim.ARCHES)
    assert "0x7ffffffff000" in rows["x86_64"]
    assert " 1280 " in rows["ia64"] and "16 KiB" in rows["ia64"]


def test_console_script_runs():
    r = subprocess.run(
        [sys.executable, "-m", "numasim.cli", "arches"], capture_output=True, text=True, check=True
    )
    assert "i386-pae" in r.stdout


def test_compare_command_prints_the_table_and_writes_files(tmp_path, capsys):
    csv_path, json_path, png = tmp_path / "t.csv", tmp_path / "t.json", tmp_path / "t.png"
    argv = ["compare", "--workload", "fork-cow", "--size", "1MiB", "--nodes", "2"]
    argv += ["--param", "shared=1.0", "--csv", str(csv_path), "--json", str(json_path)]
    assert main([*argv, "--plot", str(png)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "fork-cow on 2 nodes: 256 pages of 4096 bytes"
    assert out[1].split() == ["semantics", "v5", "2.6.16", "modern"]
    assert [ln.split() for ln in out if ln.startswith("moved")] == [["moved", "0", "0", "0"]]
    t = numasim.Table.from_json(json_path.read_text())
    assert t.column("param_shared") == [1.0] * 3 and t.column("skipped_shared")[1:] == [256, 256]
    assert csv_path.read_text().splitlines()[0].startswith("workload,semantics,machine")
    assert png.stat().st_size > 10_000


def test_compare_command_errors(capsys):
    assert main(["compare", "--param", "colour=red", "--size", "64KiB", "--nodes", "2"]) == 2
    assert "has no parameter 'colour'" in capsys.readouterr().err


def test_compare_command_costs_and_its_terms(capsys):
    argv = ["compare", "--workload", "private-anon", "--size", "1MiB", "--nodes", "2"]
    assert main(argv) == 0
    default = capsys.readouterr().out.splitlines()
    assert default[2].split() == ["costs", "opteron-2005", "opteron-2005", "zen3-2021"]
    assert main([*argv, "--costs", "haswell-2015"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[2].split() == ["costs", *["haswell-2015"] * 3]
    # Each simulated time is followed by its non-zero terms, which add up to it.
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[1:] if ln and ln[0].isalpha()}
    for total, prefix in (("time_ns", "time_"), ("refault_ns", "refault_")):
        terms = [k for k in rows if k.startswith(prefix) and k != total and k.endswith("_ns")]
        assert terms, prefix
        for i in range(3):
            assert sum(int(rows[k][i]) for k in terms) == int(rows[total][i])
    assert "refault_io_ns" in rows and "time_copy_ns" in rows and "time_wait_ns" not in rows
    with pytest.raises(SystemExit):
        main([*argv, "--costs", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_sweep_command_runs_a_toml_grid(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        'workload = "private-anon"\nworkers = 1\n[grid]\nsemantics = ["v5", "modern"]\n'
        'size = ["64KiB", "128KiB"]\nnodes = 2\n'
    )
    assert main(["sweep", str(grid), "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["semantics", "size_bytes", "costs", "ret"]
    assert [ln.split()[:2] for ln in out[1:]] == [
        ["v5", "65536"],
        ["v5", "131072"],
        ["modern", "65536"],
        ["modern", "131072"],
    ]
    t = numasim.Table.from_json((tmp_path / "s.json").read_text())
    assert t.column("moved") == [0, 0, 16, 32]
    bad = tmp_path / "bad.toml"
    bad.write_text('workload = "private-anon"\ncolour = 1\n[grid]\n')
    assert main(["sweep", str(bad)]) == 2
    assert "unknown keys ['colour']" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2
