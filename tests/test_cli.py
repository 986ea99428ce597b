"""The numasim console script."""

import subprocess
import sys

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
