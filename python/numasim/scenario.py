"""Scenario files: a machine, its cpusets and tasks, and steps, in TOML (``numasim run``).

See docs/scenarios.md for the format. In short::

    [machine]                      # preset = "opteron-4s" | sysfs = "DIR" | nodes = ...
    nodes = 4
    node_memory = "1GiB"

    [[cpuset]]
    path = "/job"
    mems = "0-1"                   # libnuma node strings
    cpus = "0-3"
    memory_migrate = true

    [[task]]
    name = "app"
    uid = 1000
    cpu = 0
    cpuset = "/job"
    policy = "interleave:0-1"      # numa_maps' policy text
    [[task.mapping]]
    name = "buf"
    size = "64MiB"
    touch = "write"                # or "read", or leave it out

    [[step]]
    cpuset_mems = { path = "/job", mems = "2-3" }
    [[step]]
    expect = { task = "app", nodes = { 2 = "50%", 3 = "50%" } }

Every step is one table with exactly one action key: ``migratepages``, ``migrate_pages``,
``mbind``, ``set_mempolicy``, ``touch``, ``fork``, ``exit``, ``attach``, ``cpuset_mems``,
``advance``, ``swap_out`` or ``expect`` (see docs/scenarios.md for their fields). A mistake
names the file, the line and the key.
"""

from __future__ import annotations

import errno as _errno
import inspect
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numasim import constants
from numasim.machine import PRESETS, SEMANTICS, Machine, Semantics, Task


class ScenarioError(ValueError):
    """A scenario file that cannot be run: names the file, the line and the key."""


def _line_of(text: str, table: str, index: int, key: str | None) -> int:
    """The line of the ``index``-th ``[[table]]`` (or ``[table]``) header of ``text``, or of
    ``key`` inside it when found (TOML parsers keep no positions)."""
    lines = text.splitlines()
    pat = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$")
    index = max(index, 0)
    seen = -1
    start = 0
    for i, line in enumerate(lines):
        if pat.match(line):
            seen += 1
            if seen == index:
                start = i
                break
    else:
        return 1
    if key is not None:
        kpat = re.compile(rf"^\s*{re.escape(key)}\s*=|[{{,]\s*{re.escape(key)}\s*=")
        for i in range(start + 1, len(lines)):
            if re.match(r"^\s*\[", lines[i]) and not lines[i].strip().startswith(f"[{table}."):
                break
            if kpat.search(lines[i]):
                return i + 1
    return start + 1


@dataclass
class _Where:
    path: str
    text: str

    def fail(self, table: str, index: int, key: str | None, why: str) -> ScenarioError:
        line = _line_of(self.text, table, index, key)
        what = f"[{table}]" if index < 0 else f"[[{table}]] #{index + 1}"
        k = f", key {key!r}" if key else ""
        return ScenarioError(f"{self.path}:{line}: {what}{k}: {why}")


@dataclass
class StepResult:
    """One step's outcome: what ran, its result, and whether an expectation held."""

    index: int
    action: str
    text: str
    ok: bool = True
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """A scenario run under one generation."""

    semantics: Semantics
    machine: Machine
    steps: list[StepResult]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


_STEP_KEYS = (
    "migratepages",
    "migrate_pages",
    "mbind",
    "set_mempolicy",
    "touch",
    "fork",
    "exit",
    "attach",
    "cpuset_mems",
    "advance",
    "swap_out",
    "expect",
)
_MODES = {
    "default": constants.MPOL_DEFAULT,
    "preferred": constants.MPOL_PREFERRED,
    "prefer": constants.MPOL_PREFERRED,
    "bind": constants.MPOL_BIND,
    "interleave": constants.MPOL_INTERLEAVE,
}
_FLAGS = {
    "move": constants.MPOL_MF_MOVE,
    "move_all": constants.MPOL_MF_MOVE_ALL,
    "strict": constants.MPOL_MF_STRICT,
}


class Scenario:
    """A parsed scenario file."""

    def __init__(self, path: str | os.PathLike[str], text: str | None = None) -> None:
        self.path = str(path)
        self.text = Path(path).read_text() if text is None else text
        self.where = _Where(self.path, self.text)
        try:
            self.doc = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as e:
            m = re.search(r"line (\d+)", str(e))
            line = m.group(1) if m else str(max(1, len(self.text.splitlines())))
            raise ScenarioError(f"{self.path}:{line}: not valid TOML: {e}") from None
        unknown = set(self.doc) - {
            "title",
            "description",
            "semantics",
            "machine",
            "cpuset",
            "task",
            "step",
        }
        if unknown:
            key = sorted(unknown)[0]
            raise ScenarioError(f"{self.path}:{_key_line(self.text, key)}: unknown key {key!r}")
        self.title = str(self.doc.get("title", Path(self.path).stem))
        sem = self.doc.get("semantics", "modern")
        gens = sem if isinstance(sem, list) else [sem]
        if not gens or any(
            g not in SEMANTICS and not (g == "all" and len(gens) == 1) for g in gens
        ):
            raise ScenarioError(
                f"{self.path}:{_key_line(self.text, 'semantics')}: key 'semantics': {sem!r} is "
                f"not one of {', '.join(SEMANTICS)}, a list of them, or 'all'"
            )
        #: The generations the file runs under by default.
        self.semantics: list[Semantics] = list(SEMANTICS) if gens == ["all"] else gens

    # ----- building ---------------------------------------------------------------------

    def _machine(self, semantics: Semantics) -> Machine:
        spec = dict(self.doc.get("machine", {}))
        w = self.where
        allowed = {"preset", "sysfs", "numactl_hardware"} | set(
            inspect.signature(Machine.__init__).parameters
        ) - {"self", "semantics"}
        for k in spec:
            if k not in allowed:
                raise w.fail(
                    "machine", -1, k, f"unknown key; expected one of {', '.join(sorted(allowed))}"
                )
        base = Path(self.path).parent
        try:
            if "preset" in spec:
                name = spec.pop("preset")
                if name not in PRESETS:
                    raise w.fail("machine", -1, "preset", f"unknown preset {name!r}")
                return Machine.preset(name, semantics=semantics, **spec)
            if "sysfs" in spec:
                root = base / spec.pop("sysfs")
                return Machine.from_sysfs(root, semantics=semantics, **spec)
            if "numactl_hardware" in spec:
                text = (base / spec.pop("numactl_hardware")).read_text()
                return Machine.from_numactl_hardware(text, semantics=semantics, **spec)
            nodes = spec.get("nodes", 4)
            if isinstance(nodes, list):
                spec["nodes"] = [dict(n) for n in nodes]
            return Machine(semantics=semantics, **spec)
        except ScenarioError:
            raise
        except (TypeError, ValueError, OSError) as e:
            key = _guess_key(str(e), spec)
            raise w.fail("machine", -1, key, str(e)) from None

    def build(
        self, semantics: Semantics
    ) -> tuple[Machine, dict[str, Task], dict[str, tuple[int, int]]]:
        """The machine after the cpusets, tasks and mappings of the file."""
        m = self._machine(semantics)
        w = self.where
        for i, cs in enumerate(self.doc.get("cpuset", [])):
            self._check_keys("cpuset", i, cs, {"path", "mems", "cpus", "memory_migrate"})
            try:
                m.cpuset(
                    cs["path"],
                    mems=cs.get("mems"),
                    cpus=cs.get("cpus"),
                    memory_migrate=bool(cs.get("memory_migrate", False)),
                )
            except KeyError as e:
                raise w.fail("cpuset", i, str(e.args[0]), "missing") from None
            except (TypeError, ValueError, OSError) as e:
                raise w.fail("cpuset", i, _guess_key(str(e), cs), str(e)) from None
        tasks: dict[str, Task] = {}
        maps: dict[str, tuple[int, int]] = {}
        for i, ts in enumerate(self.doc.get("task", [])):
            keys = {"name", "uid", "cpu", "cpuset", "policy", "mapping", "capabilities"}
            self._check_keys("task", i, ts, keys)
            name = ts.get("name", f"task{i}")
            try:
                t = m.spawn(
                    uid=ts.get("uid", 1000),
                    cpu=ts.get("cpu", 0),
                    cpuset=ts.get("cpuset", "/"),
                    name=name,
                )
                for cap in ts.get("capabilities", []):
                    t.grant(cap)
            except (TypeError, ValueError, OSError) as e:
                raise w.fail("task", i, _guess_key(str(e), ts), str(e)) from None
            tasks[name] = t
            if "policy" in ts:
                try:
                    mode, nodes = _policy(ts["policy"])
                    t.set_mempolicy(mode, nodes)
                except (TypeError, ValueError, OSError) as e:
                    raise w.fail("task", i, "policy", str(e)) from None
            for j, mp in enumerate(ts.get("mapping", [])):
                self._check_keys(
                    "task.mapping", j, mp, {"name", "size", "touch", "policy", "flags"}
                )
                try:
                    addr = t.mmap(mp["size"], flags=mp.get("flags", "private|anonymous"))
                    size = m._length(mp["size"])
                    maps[mp.get("name", f"{name}.{j}")] = (addr, size)
                    if "policy" in mp:
                        mode, nodes = _policy(mp["policy"])
                        t.mbind(addr, size, mode, nodes)
                    touch = mp.get("touch")
                    if touch is not None:
                        if touch not in ("read", "write"):
                            raise ValueError(f"touch must be 'read' or 'write', not {touch!r}")
                        t.touch(addr, size, write=touch == "write")
                except KeyError as e:
                    raise w.fail("task.mapping", j, str(e.args[0]), "missing") from None
                except (TypeError, ValueError, OSError) as e:
                    raise w.fail("task.mapping", j, _guess_key(str(e), mp), str(e)) from None
        return m, tasks, maps

    def _check_keys(self, table: str, i: int, d: Any, allowed: set[str]) -> None:
        if not isinstance(d, dict):
            raise self.where.fail(table, i, None, "must be a table")
        for k in d:
            if k not in allowed:
                raise self.where.fail(
                    table, i, k, f"unknown key; expected one of {', '.join(sorted(allowed))}"
                )

    # ----- running ----------------------------------------------------------------------

    def generations(self, override: str | None = None) -> list[Semantics]:
        """The generations to run: ``override`` ("all" or one), else the file's."""
        if override is None:
            return self.semantics
        return list(SEMANTICS) if override == "all" else [override]  # type: ignore[list-item]

    def run(self, semantics: Semantics, progress: Callable[[int], None] | None = None) -> Run:
        """Builds the machine and runs every step; ``progress(k)`` is called after step k."""
        m, tasks, maps = self.build(semantics)
        results = []
        for i, step in enumerate(self.doc.get("step", [])):
            results.append(self._step(m, tasks, maps, i, step))
            if progress is not None:
                progress(i + 1)
        m.check()
        return Run(semantics, m, results)

    def _step(
        self,
        m: Machine,
        tasks: dict[str, Task],
        maps: dict[str, tuple[int, int]],
        i: int,
        step: Any,
    ) -> StepResult:
        w = self.where
        if not isinstance(step, dict):
            raise w.fail("step", i, None, "must be a table")
        actions = [k for k in step if k in _STEP_KEYS]
        extra = [k for k in step if k not in _STEP_KEYS and k not in ("note", "only")]
        if extra:
            raise w.fail(
                "step", i, extra[0], f"unknown key; a step is one of {', '.join(_STEP_KEYS)}"
            )
        if len(actions) != 1:
            raise w.fail(
                "step", i, None, f"a step needs exactly one action of {', '.join(_STEP_KEYS)}"
            )
        action = actions[0]
        arg = step[action]

        def task(name: Any, key: str = action) -> Task:
            if name not in tasks:
                raise w.fail("step", i, key, f"no task named {name!r}; tasks are {sorted(tasks)}")
            return tasks[name]

        def mapping(name: Any) -> tuple[int, int]:
            if name not in maps:
                raise w.fail(
                    "step", i, action, f"no mapping named {name!r}; mappings are {sorted(maps)}"
                )
            return maps[name]

        def need(d: Any, key: str) -> Any:
            if not isinstance(d, dict) or key not in d:
                raise w.fail("step", i, action, f"needs {key!r}")
            return d[key]

        res = StepResult(i, action, "")
        only = step.get("only")
        if only is not None:
            gens = [only] if isinstance(only, str) else only
            bad = [g for g in gens if g not in SEMANTICS]
            if bad:
                raise w.fail("step", i, "only", f"{bad[0]!r} is not one of {', '.join(SEMANTICS)}")
            if m.semantics not in gens:
                res.text = f"{action}: not under {m.semantics} (only {', '.join(gens)})"
                res.data = {"skipped": True}
                return res
        if "note" in step:
            res.data["note"] = str(step["note"])
        try:
            if action == "migratepages":
                target = task(need(arg, "task"))
                caller = tasks[arg["caller"]] if "caller" in arg else None
                if "caller" in arg:
                    task(arg["caller"])
                rep = m.migratepages(target.pid, need(arg, "from"), need(arg, "to"), caller=caller)
                res.text = f"migratepages {target.pid} {arg['from']} {arg['to']}: {rep.summary()}"
                res.data = {"report": _report(rep)}
            elif action == "migrate_pages":
                from numasim import syscalls

                caller = task(need(arg, "caller"))
                target = task(need(arg, "task"))
                maxnode = arg.get("maxnode", m.arch.max_numnodes + 1)
                rc = syscalls.migrate_pages(
                    caller, target.pid, maxnode, need(arg, "old"), need(arg, "new")
                )
                rep = m.last_report
                res.text = f"migrate_pages(pid={target.pid}, maxnode={maxnode}) = {rc}" + (
                    f": {rep.summary()}" if rep is not None else ""
                )
                res.data = {"rc": rc, "report": _report(rep)}
            elif action == "mbind":
                t = task(need(arg, "task"))
                addr, size = mapping(need(arg, "mapping"))
                mode, nodes = _policy(need(arg, "policy"))
                flags = 0
                for f in arg.get("flags", []):
                    if f not in _FLAGS:
                        raise ValueError(f"unknown mbind flag {f!r}; expected {', '.join(_FLAGS)}")
                    flags |= _FLAGS[f]
                m.last_report = None
                t.mbind(addr, size, mode, nodes, flags)
                rep = m.last_report
                res.text = (
                    f"mbind({arg['mapping']}, {arg['policy']}, {arg.get('flags', [])}) = 0"
                    + (f": {rep.summary()}" if rep is not None else "")
                )
                res.data = {"rc": 0, "report": _report(rep)}
            elif action == "set_mempolicy":
                t = task(need(arg, "task"))
                mode, nodes = _policy(need(arg, "policy"))
                t.set_mempolicy(mode, nodes)
                res.text = f"set_mempolicy({arg['policy']}) for {arg['task']}"
            elif action == "touch":
                t = task(need(arg, "task"))
                addr, size = mapping(need(arg, "mapping"))
                t.touch(addr, size, write=arg.get("write", False))
                res.text = f"{arg['task']} touches {arg['mapping']}"
            elif action == "fork":
                parent = task(need(arg, "task"))
                child = parent.fork()
                tasks[need(arg, "child")] = child
                res.text = f"{arg['task']} forks {arg['child']} (pid {child.pid})"
            elif action == "exit":
                task(arg).exit()
                res.text = f"{arg} exits"
            elif action == "attach":
                t = task(need(arg, "task"))
                rep = t.attach_cpuset(need(arg, "cpuset"))
                res.text = f"{arg['task']} attached to {arg['cpuset']}" + (
                    f": {rep.summary()}" if rep is not None else ""
                )
                res.data = {"report": _report(rep)}
            elif action == "cpuset_mems":
                reps = m.cpuset_set_mems(need(arg, "path"), need(arg, "mems"))
                res.text = f"{arg['path']}/mems = {arg['mems']}" + "".join(
                    f"; moved a task: {r.summary()}" for r in reps
                )
                res.data = {"reports": [_report(r) for r in reps]}
            elif action == "advance":
                from numasim._units import parse_duration

                ns = parse_duration(arg)
                m.advance(ns)
                res.text = f"{arg} pass"
            elif action == "swap_out":
                t = task(need(arg, "task"))
                addr, size = mapping(need(arg, "mapping"))
                n = m.swap_out(t, addr, size)
                res.text = f"reclaim swaps out {n} pages of {arg['mapping']}"
            elif action == "expect":
                self._expect(m, tasks, maps, i, arg, res)
        except OSError as e:
            name = _errno.errorcode.get(e.errno or 0, str(e.errno))
            want = step.get(action, {}).get("errno") if isinstance(step.get(action), dict) else None
            res.text = f"{action} failed: {name} ({os.strerror(e.errno or 0)})"
            res.data = {"errno": name}
            res.ok = want == name
            if want is None:
                res.text += ' (not expected: add errno = "' + name + '" to the step to expect it)'
        except ScenarioError:
            raise
        except (TypeError, ValueError) as e:
            raise w.fail("step", i, action, str(e)) from None
        else:
            want = arg.get("errno") if isinstance(arg, dict) else None
            if want is not None:
                res.ok = False
                res.text += f" (expected {want})"
        return res

    def _expect(
        self,
        m: Machine,
        tasks: dict[str, Task],
        maps: dict[str, tuple[int, int]],
        i: int,
        arg: Any,
        res: StepResult,
    ) -> None:
        w = self.where
        if not isinstance(arg, dict):
            raise w.fail("step", i, "expect", "must be a table")
        checks: list[str] = []
        ok = True
        if "task" in arg:
            if arg["task"] not in tasks:
                raise w.fail("step", i, "expect", f"no task named {arg['task']!r}")
            t = tasks[arg["task"]]
            if "mapping" in arg:
                addr, size = maps[arg["mapping"]]
                nodes = t.page_nodes(addr, size)
                got = {n: int((nodes == n).sum()) for n in m.nodes}
                total = len(nodes)
            else:
                got = t.resident_by_node()
                total = sum(got.values())
            for k, v in arg.get("nodes", {}).items():
                n = int(k)
                want = _count(v, total)
                have = got.get(n, 0)
                good = have == want
                ok &= good
                checks.append(f"node {n}: {have} pages{'' if good else f' (expected {want})'}")
            res.data["nodes"] = got
        if "report" in arg:
            rep = m.last_report
            for k, v in arg["report"].items():
                have = getattr(rep, k) if rep is not None else None
                if k in ("ret",):
                    have = rep.ret if rep is not None else None
                good = have == v
                ok &= good
                checks.append(f"last report {k} = {have}{'' if good else f' (expected {v})'}")
        res.ok = ok
        res.text = "expect: " + ("; ".join(checks) or "nothing")


def _count(v: Any, total: int) -> int:
    if isinstance(v, str) and v.endswith("%"):
        return round(total * float(v[:-1]) / 100)
    return int(v)


def _policy(text: str) -> tuple[int, Any]:
    """A policy as numa_maps writes it: "default", "bind:0-1", "interleave:2-3",
    "preferred:1"."""
    mode, _, nodes = str(text).partition(":")
    if mode not in _MODES:
        raise ValueError(f"policy {text!r}: expected default, bind:N, interleave:N or preferred:N")
    return _MODES[mode], (nodes if nodes else ())


def _report(rep: Any) -> Any:
    """A report (or any record) as plain JSON values."""
    if rep is None or isinstance(rep, (int, float, str, bool)):
        return rep
    if hasattr(rep, "as_dict"):  # MigrateReport
        return _report(rep.as_dict())
    if hasattr(rep, "items") and hasattr(rep, "keys"):  # Reasons
        return {str(k): _report(v) for k, v in rep.items()}
    if hasattr(rep, "_asdict"):
        return {k: _report(v) for k, v in rep._asdict().items()}
    if isinstance(rep, (list, tuple)):
        return [_report(x) for x in rep]
    if isinstance(rep, dict):
        return {str(k): _report(v) for k, v in rep.items()}
    return str(rep)


def _key_line(text: str, key: str) -> int:
    for i, line in enumerate(text.splitlines()):
        if re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return i + 1
    return 1


def _guess_key(msg: str, table: dict[str, Any]) -> str | None:
    """The key of ``table`` an error message is about (the first whose name it mentions)."""
    for k in table:
        if re.search(rf"\b{re.escape(k)}\b", msg):
            return k
    aliases = {"memory": "node_memory", "cpu": "cpu", "mems": "mems"}
    for word, k in aliases.items():
        if word in msg and k in table:
            return k
    return None


def load(path: str | os.PathLike[str]) -> Scenario:
    """Reads a scenario file (ScenarioError for a bad one)."""
    try:
        return Scenario(path)
    except OSError as e:
        raise ScenarioError(f"{path}: {e.strerror}") from None


def report_lines(run: Run) -> Iterator[str]:
    """The readable report of one run."""
    yield f"== {run.semantics} =="
    for s in run.steps:
        mark = "ok  " if s.ok else "FAIL"
        yield f"  [{mark}] step {s.index + 1}: {s.text}"


def json_lines(path: str, run: Run) -> Iterator[str]:
    """One JSON object per step, then one for the run."""
    for s in run.steps:
        yield json.dumps(
            {
                "file": path,
                "semantics": run.semantics,
                "step": s.index + 1,
                "action": s.action,
                "ok": s.ok,
                "text": s.text,
                **s.data,
            },
            sort_keys=True,
        )
    yield json.dumps({"file": path, "semantics": run.semantics, "ok": run.ok}, sort_keys=True)
