"""The examples in the docstrings run and print what they say."""

from __future__ import annotations

import doctest
import re
import shlex
from pathlib import Path

import pytest

import numasim
import numasim._core
import numasim._units
import numasim.comparisons
import numasim.constants
import numasim.machine
import numasim.nodestring
import numasim.syscalls
import numasim.table
import numasim.workloads

MODULES = [
    numasim,
    numasim.machine,
    numasim.nodestring,
    numasim._units,
    numasim._core,
    numasim.constants,
    numasim.syscalls,
    numasim.workloads,
    numasim.comparisons,
    numasim.table,
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_doctests(module):
    tests = doctest.DocTestFinder().find(module, extraglobs={"numasim": numasim})
    out = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for t in tests:
        runner.run(t, out=out.append)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0, "".join(out)


def test_costs_page_examples_and_tables_are_current():
    """docs/costs.md: its examples run, and its two tables are what the code says."""
    from numasim import calibration
    from numasim.costs import profiles_table

    page = Path(__file__).resolve().parent.parent / "docs" / "costs.md"
    result = doctest.testfile(
        str(page), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted > 0 and result.failed == 0
    text = page.read_text()
    assert profiles_table() in text
    assert calibration.table(calibration.figures()) in text


# ----- docs/comparisons.md -------------------------------------------------------------------


def _console(text: str) -> list[tuple[str, list[str]]]:
    """Each ``$ numasim ...`` line of the page's console blocks and the output shown under it."""
    runs: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                runs.append((line[2:], []))
            else:
                runs[-1][1].append(line)
    return runs


def _without_host_columns(lines: list[str]) -> list[list[str]]:
    """The table's words, without the host's wall-clock time (a row of the side-by-side
    table, the last column of a sweep's): every other number is the simulation's."""
    words = [ln.split() for ln in lines if ln.strip()]
    if words and words[0][-1] == "wall_s":
        return [w[:-1] for w in words]
    return [w for w in words if w[0] != "wall_s"]


def test_comparisons_page_tables_are_the_commands_output(tmp_path, monkeypatch, capsys):
    """docs/comparisons.md: every `numasim` command it shows prints the table shown under it
    (but for the wall-clock column), the pictures' commands run, and the Python examples run."""
    from numasim.cli import main

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "comparisons.md").read_text()
    grid = re.search(r"```toml\n(.*?)```", text, re.S)
    assert grid is not None
    (tmp_path / "grid.toml").write_text(grid.group(1))
    monkeypatch.chdir(tmp_path)  # the files the commands write go here, not into the repo
    runs = _console(text)
    assert len(runs) == 6
    pictures = set()
    for command, shown in runs:
        argv = shlex.split(command)
        quiet = argv[-2:] == [">", "/dev/null"]
        argv = argv[:-2] if quiet else argv
        assert argv[0] == "numasim"
        argv = argv[1:]
        if "--plot" in argv:
            i = argv.index("--plot") + 1
            pictures.add(argv[i])
            argv[i] = str(tmp_path / Path(argv[i]).name)
        assert main(argv) == 0, command
        out = capsys.readouterr().out.splitlines()
        if quiet:
            assert not any(ln.strip() for ln in shown), command
        else:
            assert _without_host_columns(out) == _without_host_columns(shown), command
    # Every picture on the page is drawn by one of its commands, and is in docs/.
    shown_pictures = set(re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", text))
    assert {f"docs/{p}" for p in shown_pictures} <= pictures
    for p in shown_pictures:
        assert (root / "docs" / p).stat().st_size > 10_000
        assert (tmp_path / p).stat().st_size > 10_000
    # The Python examples (not the Dask one: it needs a scheduler; test_comparisons.py runs a
    # sweep on a LocalCluster).
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    examples = [b for b in blocks if "Client(" not in b and not b.startswith(">>>")]
    assert len(examples) == 2
    namespace: dict = {}
    for code in examples:
        exec(compile(code, "docs/comparisons.md", "exec"), namespace)
    assert (tmp_path / "fork-cow.csv").exists() and (tmp_path / "shared.png").exists()
    t = namespace["t"]
    assert t.column("costs") == (["opteron-2005"] * 3 + ["zen3-2021"] * 3) * 3
    assert namespace["t2"].column("costs") == ["zen3-2021 (modified)"] * 3
    # The ">>>" examples print what they say.
    result = doctest.testfile(
        str(root / "docs" / "comparisons.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS,
        verbose=False,
    )
    assert result.attempted > 0 and result.failed == 0
