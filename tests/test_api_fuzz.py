"""Random sequences of public calls on small machines (THP and hugetlb areas, file mappings,
forks and threads, swap, migrations, madvise, mbind, policies, page states, snapshots, the
text reports): whatever the arguments, a call either works or raises the error the kernel
would give (OSError with an errno, ValueError, SegmentationFault, BusError), never a
SimulatorPanic, and m.check() passes after every call. Unlike the hypothesis state machines
this predicts no results; it covers the mixes they do not draw (it found a hugetlb area cut
inside a huge page, a page state on a hugetlb frame, a cleaned swap-cache page whose new
content reclaim dropped, and a pool invariant stricter than the kernel).

A failure names its seed and prints the shortest sequence of calls that still fails, ready to
paste. More seeds run under HYPOTHESIS_PROFILE=ci (as .ci/run sets)."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

import numasim

HP = 2 << 20
PS = 4096
ADVICE = [
    "COLD",
    "DONTNEED",
    "DONTNEED_LOCKED",
    "HUGEPAGE",
    "NOHUGEPAGE",
    "PAGEOUT",
    "WILLNEED",
    "DONTFORK",
    "DOFORK",
    "REMOVE",
    "NORMAL",
    "SEQUENTIAL",
]
MODES = ["BIND", "DEFAULT", "INTERLEAVE", "PREFERRED", "LOCAL", "PREFERRED_MANY"]
MBIND_FLAGS = [
    "0",
    "numasim.MPOL_MF_MOVE",
    "numasim.MPOL_MF_MOVE | numasim.MPOL_MF_STRICT",
    "numasim.MPOL_MF_MOVE_ALL",
]
STATES = ["young", "dirty", "locked", "pagevec", "writeback", "pinned"]
OPS = [
    *("mmap", "touch", "touch", "touch", "touch_pages", "madvise", "madvise", "mbind"),
    *("migrate", "move_pages", "mprotect", "mlock", "munmap", "fork", "exit", "swap_out"),
    *("state", "state", "get_mempolicy", "read", "nr_hugepages", "advance", "drain"),
    *("file", "texts", "set_mempolicy", "thread", "copy"),
]
# What a call may raise: the kernel's answers. Anything else (SimulatorPanic above all) fails.
EXPECTED = (OSError, ValueError, numasim.BusError, numasim.SegmentationFault)

SEEDS = 1500 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 150
CHUNKS = 10


def generate(seed: int, steps: int = 60) -> tuple[str, list[str]]:
    """The machine and `steps` calls, as source lines over A (areas) and T (tasks by pid)."""
    r = random.Random(seed)
    sem = r.choice(["modern", "modern", "modern", "2.6.16", "v5"])
    # i386 too (4 KiB pages, 4 MiB huge pages without PAE: a 2 MiB hugetlb mmap is EINVAL).
    arch = r.choice(["x86_64", "x86_64", "x86_64", "i386"])
    nodes = r.choice([2, 3])
    thp = r.choice(["always", "madvise", "never"]) if sem == "modern" else None
    pages = r.choice([3000, 8192] if arch == "i386" else [3000, 8192, 20000])
    machine = (
        f"m = numasim.Machine(arch={arch!r}, semantics={sem!r}, nodes={nodes}, "
        f"node_memory={pages * PS}, swap={r.choice([0, 2048]) * PS}, "
        f"nr_hugepages={r.choice([0, 2])}" + (f", thp={thp!r})" if thp else ")")
    )
    lines: list[str] = []
    pids = [1]
    next_pid = 2
    areas: list[tuple[int, int, int]] = []  # (pid, index in A, length)
    for _ in range(steps):
        op = r.choice(OPS)
        if op == "mmap" or not areas:
            p = r.choice(pids)
            huge = r.random() < 0.15
            n = HP if huge else r.choice([512, 1024, 700, 1536]) * PS
            flags = "private|anonymous" + ("|hugetlb" if huge else "")
            lines.append(f"A[{len(areas)}] = T[{p}].mmap({n}, flags={flags!r})")
            areas.append((p, len(areas), n))
            continue
        if op == "file":
            # A file mapped shared or private (page cache, writeback, COW of file pages).
            p = r.choice(pids)
            n = r.choice([16, 64, 600]) * PS
            lines.append(f"F = m.create_file('/f{len(areas)}', {n})")
            flags = r.choice(["shared", "private"])
            lines.append(f"A[{len(areas)}] = T[{p}].mmap({n}, flags={flags!r}, file=F)")
            areas.append((p, len(areas), n))
            continue
        owner, k, n = r.choice(areas)
        off, ln = 0, n
        if r.random() >= 0.4:
            i = r.randrange(n // PS)
            j = r.randrange(1, n // PS - i + 1)
            if r.random() < 0.5:  # whole huge pages
                i = i // 512 * 512
                j = min(n // PS - i, 512 * r.randint(1, 2))
            off, ln = i * PS, j * PS
        a = f"A[{k}] + {off}"
        p = owner if owner in pids and r.random() < 0.8 else r.choice(pids)
        if op == "touch":
            lines.append(f"T[{p}].touch({a}, {ln}, write={r.random() < 0.6})")
        elif op == "touch_pages":
            offs = [r.randrange(ln // PS) * PS for _ in range(5)]
            lines.append(
                f"T[{p}].touch_pages(np.array([{a} + o for o in {offs}], dtype=np.uint64), "
                f"write={r.random() < 0.5})"
            )
        elif op == "madvise":
            lines.append(f"T[{p}].madvise({a}, {ln}, numasim.MADV_{r.choice(ADVICE)})")
        elif op == "mbind":
            mode = r.choice(MODES)
            ns = [] if mode in ("DEFAULT", "LOCAL") else r.sample(range(nodes), r.randint(1, nodes))
            lines.append(
                f"T[{p}].mbind({a}, {ln}, numasim.MPOL_{mode}, {ns}, {r.choice(MBIND_FLAGS)})"
            )
        elif op == "migrate":
            src, dst = r.randrange(nodes), r.randrange(nodes)
            lines.append(f"numasim.migrate_pages(T[{p}], 0, 65, [{src}], [{dst}])")
        elif op == "move_pages":
            offs = [r.randrange(ln // PS) * PS for _ in range(4)]
            to = [r.randrange(nodes) for _ in offs]
            lines.append(f"numasim.move_pages(T[{p}], 0, [{a} + o for o in {offs}], {to})")
        elif op == "mprotect":
            lines.append(f"T[{p}].mprotect({a}, {ln}, {r.choice(['r', 'rw', 'none'])!r})")
        elif op == "mlock":
            lines.append(f"T[{p}].{r.choice(['mlock', 'munlock'])}({a}, {ln})")
        elif op == "munmap":
            lines.append(f"T[{p}].munmap({a}, {ln})")
        elif op == "fork" and len(pids) < 4:
            lines.append(f"T[{next_pid}] = T[{p}].fork()")
            areas.extend([(next_pid, kk, nn) for (pp, kk, nn) in list(areas) if pp == p])
            pids.append(next_pid)
            next_pid += 1
        elif op == "exit" and len(pids) > 1:
            lines.append(f"T.pop({p}).exit()")
            pids.remove(p)
            areas[:] = [x for x in areas if x[0] != p]
        elif op == "swap_out":
            lines.append(f"m.swap_out(T[{p}], {a}, {ln})")
        elif op == "state":
            lines.append(
                f"m.set_page_state(T[{p}], {a}, {ln}, {r.choice(STATES)!r}, on={r.random() < 0.5})"
            )
        elif op == "get_mempolicy":
            at = r.randrange(ln // PS) * PS
            lines.append(
                f"numasim.get_mempolicy(T[{p}], 65, {a} + {at}, "
                "numasim.MPOL_F_NODE | numasim.MPOL_F_ADDR)"
            )
        elif op == "read":
            lines.append(f"T[{p}].read({a}, {ln}); T[{p}].page_nodes({a}, {ln})")
        elif op == "nr_hugepages":
            node = r.choice([None, *range(nodes)])
            lines.append(f"m.set_nr_hugepages({r.randint(0, 4)}, {node})")
        elif op == "advance":
            lines.append(f"m.advance({r.choice([1000, 10**9, 10**12])})")
        elif op == "drain":
            lines.append("m.drain()")
        elif op == "texts":
            lines.append(
                f"T[{p}].numa_maps(); T[{p}].status(); m.vmstat(); "
                f"[m.meminfo(n) for n in m.nodes]; m.numastat_counters()"
            )
        elif op == "set_mempolicy":
            mode = r.choice(MODES)
            ns = [] if mode in ("DEFAULT", "LOCAL") else r.sample(range(nodes), r.randint(1, nodes))
            lines.append(f"T[{p}].set_mempolicy(numasim.MPOL_{mode}, {ns})")
        elif op == "thread" and len(pids) < 4:
            lines.append(f"T[{next_pid}] = T[{p}].clone_thread()")
            areas.extend([(next_pid, kk, nn) for (pp, kk, nn) in list(areas) if pp == p])
            pids.append(next_pid)
            next_pid += 1
        elif op == "copy":
            # A snapshot replaces the machine: its tasks are looked up again by pid.
            lines.append("m = m.copy(); T = {p: m.task(p) for p in T}")
    lines.append("for t in list(T.values()): t.exit()")
    lines.append("T.clear()")
    return machine, lines


def execute(machine: str, lines: list[str]) -> tuple[int, str] | None:
    """Runs the calls; (index, what went wrong) for the first failure, else None. A line
    naming a task that is gone (possible only in a shortened sequence) is skipped."""
    env: dict = {"numasim": numasim, "np": np, "A": {}, "T": {}}
    exec(machine, env)
    env["T"][1] = env["m"].spawn(cpu=0)
    for i, line in enumerate(lines):
        try:
            exec(line, env)
        except EXPECTED:
            pass
        except KeyError:
            pass
        except Exception as e:  # every other exception is the finding
            return i, f"{type(e).__name__}: {e}"
        try:
            env["m"].check()
        except Exception as e:
            return i, f"check() after the call: {type(e).__name__}: {e}"
    return None


def shorten(machine: str, lines: list[str], failure: tuple[int, str]) -> list[str]:
    """The calls up to the failure, less every chunk whose removal keeps the same failure."""
    key = failure[1].split(":")[0:2]
    cur = lines[: failure[0] + 1]
    chunk = max(1, len(cur) // 2)
    while True:
        i, changed = 0, False
        while i < len(cur):
            trial = cur[:i] + cur[i + chunk :]
            got = execute(machine, trial)
            if got and got[1].split(":")[0:2] == key:
                cur, changed = trial[: got[0] + 1], True
            else:
                i += chunk
        if chunk == 1 and not changed:
            return cur
        chunk = max(1, chunk // 2)


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_calls_never_panic_and_keep_the_invariants(chunk):
    per = SEEDS // CHUNKS
    for seed in range(chunk * per, (chunk + 1) * per):
        machine, lines = generate(seed)
        failure = execute(machine, lines)
        if failure:
            short = shorten(machine, lines, failure)
            script = "\n".join([machine, "T[1] = m.spawn(cpu=0)", *short])
            pytest.fail(f"seed {seed}: {failure[1]}\n{script}\n# -> {execute(machine, short)}")


def test_the_generator_reaches_what_it_is_for():
    """The mixes that found bugs do occur: hugetlb areas, THP machines, page states, forks."""
    text = "\n".join(line for seed in range(60) for line in generate(seed)[1])
    machines = [generate(seed)[0] for seed in range(60)]
    assert "|hugetlb" in text and "set_page_state" in text and ".fork()" in text
    assert "create_file" in text and "m.copy()" in text and "clone_thread" in text
    assert any("thp='always'" in m for m in machines)
    assert any("'v5'" in m for m in machines) and any("'2.6.16'" in m for m in machines)
    assert any("'i386'" in m for m in machines)
