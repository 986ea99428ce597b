"""NodeMask operations at 1024 bits (ia64 MAX_NUMNODES), timed from Python.

Run with ``pytest tests/benchmarks/test_bench_nodemask.py --benchmark-enable``. Each benchmark
checks its result first, then times a loop of LOOP calls; ``extra_info["ns_per_op"]`` is the mean
time of one call including the Python loop overhead (``extra_info["loop_ns"]``, an empty loop of the
same length, is reported for comparison). Target: under 300 ns for ``&`` and ``in``.
"""

from __future__ import annotations

import time

from numasim import NodeMask

NBITS = 1024
LOOP = 1000
A = NodeMask(range(0, NBITS, 3), nbits=NBITS)
B = NodeMask(range(0, NBITS, 5), nbits=NBITS)
LIST_TEXT = "0-99,128-255:4/8,300,302,304,500-1023"


def _empty_loop_ns() -> float:
    r = range(LOOP)
    best = float("inf")
    for _ in range(200):
        t = time.perf_counter_ns()
        for _ in r:
            pass
        best = min(best, (time.perf_counter_ns() - t) / LOOP)
    return best


def _run(benchmark, loop):
    benchmark.group = "nodemask-1024"
    benchmark(loop)
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["ns_per_op"] = round(benchmark.stats.stats.mean * 1e9 / LOOP, 1)
        benchmark.extra_info["loop_ns"] = round(_empty_loop_ns(), 1)
        benchmark.extra_info["nbits"] = NBITS


def test_bench_and(benchmark):
    assert set(A & B) == set(range(0, NBITS, 15))
    r = range(LOOP)

    def loop():
        a, b = A, B
        for _ in r:
            a & b

    _run(benchmark, loop)


def test_bench_or(benchmark):
    assert set(A | B) == set(range(0, NBITS, 3)) | set(range(0, NBITS, 5))
    r = range(LOOP)

    def loop():
        a, b = A, B
        for _ in r:
            a | b

    _run(benchmark, loop)


def test_bench_contains(benchmark):
    assert 999 in A and 1000 not in A
    r = range(LOOP)

    def loop():
        a = A
        for _ in r:
            999 in a  # noqa: B015

    _run(benchmark, loop)


def test_bench_len(benchmark):
    assert len(A) == 342
    r = range(LOOP)

    def loop():
        a = A
        for _ in r:
            len(a)

    _run(benchmark, loop)


def test_bench_format_list(benchmark):
    m = NodeMask.parse_list(LIST_TEXT, NBITS)
    groups = ",".join(f"{g}-{g + 3}" for g in range(128, 256, 8))
    assert m.format_list() == f"0-99,{groups},300,302,304,500-1023"
    r = range(LOOP)

    def loop():
        for _ in r:
            m.format_list()

    _run(benchmark, loop)


def test_bench_parse_list(benchmark):
    expected = set(range(100)) | {b for g in range(128, 256, 8) for b in range(g, g + 4)}
    expected |= {300, 302, 304} | set(range(500, 1024))
    assert set(NodeMask.parse_list(LIST_TEXT, NBITS)) == expected
    r = range(LOOP)
    parse = NodeMask.parse_list

    def loop():
        for _ in r:
            parse(LIST_TEXT, NBITS)

    _run(benchmark, loop)
