"""Scenario files (numasim run): the shipped examples, the report and JSON lines, and
the errors a bad file gets (file, line, key)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numasim import scenario
from numasim.cli import main

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))


def test_there_are_at_least_five_commented_examples():
    assert len(EXAMPLES) >= 5
    for p in EXAMPLES:
        assert p.read_text().startswith("#"), p


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_runs_and_its_expectations_hold(path):
    sc = scenario.load(path)
    for sem in sc.generations():
        run = sc.run(sem)
        assert run.ok, "\n".join(scenario.report_lines(run))
        assert any(s.action == "expect" and not s.data.get("skipped") for s in run.steps)


def test_a_failed_expectation_fails_the_run(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text(
        '[machine]\nnodes = 2\nnode_memory = "16MiB"\n'
        '[[task]]\nname = "a"\n  [[task.mapping]]\n  name = "m"\n  size = "64KiB"\n'
        '  touch = "write"\n'
        '[[step]]\nexpect = { task = "a", nodes = { 1 = 16 } }\n'
    )
    assert main(["run", str(p)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] step 1: expect: node 1: 0 pages (expected 16)" in out


def test_json_lines(capsys):
    path = str(next(p for p in EXAMPLES if p.stem == "overlapping-node-sets"))
    assert main(["run", path, "--json", "--semantics", "2.6.16"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[-1] == {"file": path, "semantics": "2.6.16", "ok": True}
    first = lines[0]
    assert first["action"] == "migratepages" and first["report"]["moved"] == 3072
    assert [p["source"] for p in first["report"]["pairs"]] == [2, 1, 0]


def test_all_generations(capsys):
    path = str(next(p for p in EXAMPLES if p.stem == "unprivileged-caller"))
    assert main(["run", path, "--semantics", "all"]) == 0
    out = capsys.readouterr().out
    assert out.count("== ") == 3


BAD = [
    ("[machine]\nnodes = 2\nbogus = 1\n", 3, "key 'bogus': unknown key"),
    ('[machine]\nnodes = 2\n[[task]]\nname = "a"\ncolour = "red"\n', 5, "key 'colour'"),
    ("[machine]\nnodes = 2\n[[step]]\nfly = 1\n", 4, "key 'fly'"),
    ('[machine]\nnodes = 2\n[[step]]\ntouch = { task = "nobody" }\n', 4, "no task named"),
    ("[machine]\nnodes = [\n", 2, "not valid TOML"),
    ('semantics = "2.6.99"\n', 1, "key 'semantics'"),
    ('[machine]\nnodes = 2\n[[cpuset]]\npath = "/x"\nmems = "0-9"\n', 5, "key 'mems'"),
    ('[machine]\nnodes = 2\n[[step]]\nadvance = "5 fortnights"\n', 4, "not a duration"),
    ("hello = 1\n", 1, "unknown key 'hello'"),
]


@pytest.mark.parametrize(("text", "line", "msg"), BAD)
def test_a_bad_file_names_file_line_and_key(tmp_path, text, line, msg):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(scenario.ScenarioError, match=msg) as e:
        scenario.load(p).run("modern")
    assert str(e.value).startswith(f"{p}:{line}:"), str(e.value)


def test_a_bad_file_exits_2_from_the_cli(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text("[[step]]\nfly = 1\n")
    assert main(["run", str(p)]) == 2
    assert f"{p}:2:" in capsys.readouterr().err


def test_steps_fork_attach_advance_and_errno(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text(
        '[machine]\nnodes = 2\nnode_memory = "16MiB"\n'
        '[[cpuset]]\npath = "/b"\nmems = "1"\nmemory_migrate = true\n'
        '[[task]]\nname = "a"\nuid = 0\n  [[task.mapping]]\n  name = "m"\n  size = "64KiB"\n'
        '  touch = "write"\n'
        '[[step]]\nfork = { task = "a", child = "c" }\n'
        '[[step]]\nadvance = "30s"\n'
        '[[step]]\nattach = { task = "c", cpuset = "/b" }\n'
        '[[step]]\nexpect = { task = "c", nodes = { 1 = 16 } }\n'
        '[[step]]\nmigrate_pages = { caller = "a", task = "a", old = "0", new = "1", maxnode = 0,'
        ' errno = "EINVAL" }\n'
        '[[step]]\nmigrate_pages = { caller = "a", task = "a", old = "0", new = "1" }\n'
    )
    assert main(["run", str(p)]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] step 4: expect: node 1: 16 pages" in out
    assert "[ok  ] step 5: migrate_pages failed: EINVAL" in out
    assert "[ok  ] step 6: migrate_pages(pid=1, maxnode=65) = 0" in out


class _Tty:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_is_drawn_on_a_terminal_only_after_a_while():
    from numasim.cli import Progress

    tty = _Tty()
    p = Progress(4, stream=tty, delay=0.0)
    p.update(2, "x")
    p.close()
    assert "[" + "#" * 15 + "-" * 15 + "] 2/4 x" in tty.text
    quick = _Tty()
    p = Progress(4, stream=quick, delay=3600)
    p.update(4)
    p.close()
    assert quick.text == ""


def test_no_progress_when_piped(capsys):
    path = str(next(p for p in EXAMPLES if p.stem == "v5-full-swap"))
    assert main(["run", path]) == 0
    assert capsys.readouterr().err == ""
