"""The examples in the docstrings run and print what they say."""

from __future__ import annotations

import doctest

import pytest

import numasim
import numasim._core
import numasim._units
import numasim.constants
import numasim.machine
import numasim.nodestring
import numasim.syscalls

MODULES = [
    numasim,
    numasim.machine,
    numasim.nodestring,
    numasim._units,
    numasim._core,
    numasim.constants,
    numasim.syscalls,
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
    from pathlib import Path

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
