"""The README's session and the demo it opens with stay true."""

import doctest
import pathlib
import re

import numasim
from numasim import demo

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_session_runs():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "the README has a python session"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for i, block in enumerate(blocks):
        test = parser.get_doctest(block, {"numasim": numasim}, f"README[{i}]", "README.md", 0)
        runner.run(test)
    assert runner.failures == 0


def test_readme_first_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    cmds = [ln.split("#")[0].strip() for ln in lines[3:5]]
    assert cmds == ["pip install . && numasim demo", "pip install '.[test]' && pytest"]


def test_demo_shows_each_generation(capsys):
    results = demo.main(pages=256)
    out = capsys.readouterr().out
    assert [r["rc"] for r in results] == [0, 0, 0]
    v5, r2616, modern = results
    # V5 evicts pages on old \ new = {0}; node 1 is in new and keeps its pages. They come back
    # on the node of the task's CPU (node 0) when it touches them again.
    assert v5["before"] == [128, 128, 0, 0]
    assert v5["after"] == [0, 128, 0, 0]
    assert v5["again"] == [128, 128, 0, 0]
    # 2.6.16 and modern keep the relative layout: 0 -> 1, 1 -> 2.
    for r in (r2616, modern):
        assert r["after"] == [0, 128, 128, 0]
        assert r["again"] == [0, 128, 128, 0]
    assert all(r["intact"] for r in results)
    assert out.count("Machine.check() passed") == 3
    assert "pairs: 1->2 0->1" in out
    # Every simulated time says so; V5's cost includes the swap-in of the re-touch.
    for line in out.splitlines():
        if " ms " in line or " us " in line or " ns " in line:
            assert "simulated" in line, line
    assert v5["retouch_ns"] > 0 and r2616["retouch_ns"] == modern["retouch_ns"] == 0
    assert out.count("cost (opteron-2005)") == 2 and out.count("cost (zen3-2021)") == 1


def test_demo_on_one_hardware_profile(capsys):
    results = demo.main(pages=256, costs="haswell-2015")
    out = capsys.readouterr().out
    assert out.count("cost (haswell-2015)") == 3
    assert all(r["time_ns"] > 0 for r in results)
