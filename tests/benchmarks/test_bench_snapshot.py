"""Snapshot cost and size (issue 13): pickling a loaded machine, unpickling it (which runs
check() on the result) and Machine.copy(), in seconds per million pages, and the pickle's
bytes per resident page (a page frame in use: a frame the parent and its child both map counts
once) and per page of the working set (resident or swapped out). Each checks the round trip
before reporting."""

import pickle
import time

import pytest

import numasim


@pytest.fixture
def full_size(request) -> bool:
    """True with --benchmark-enable (the sizes the figures are stated for); disabled
    benchmarks (the default, as in CI) run once at a small size."""
    cfg = request.config
    return bool(cfg.getoption("benchmark_enable")) or not cfg.getoption("benchmark_disable")


def _loaded(npages: int) -> numasim.Machine:
    """A process with `npages` written pages, an eighth swapped out, a forked child that
    wrote a few of them (COW copies)."""
    m = numasim.Machine(nodes=4, node_memory="16GiB", swap="4GiB")
    t = m.spawn()
    a = t.mmap(npages * 4096)
    t.touch(a, npages * 4096, write=True)
    m.swap_out(t, a, npages // 8 * 4096)
    c = t.fork()
    c.touch(a + npages // 2 * 4096, min(1000, npages // 4) * 4096, write=True)
    return m


@pytest.mark.parametrize("what", ["dumps", "loads", "copy"])
@pytest.mark.benchmark(group="snapshot")
def test_snapshot_seconds_per_million_pages(benchmark, full_size, what):
    """Targets (4M pages, one core): dumps and loads <= 0.5 s per million resident pages,
    copy <= 0.1 s; the pickle <= 40 bytes per resident page."""
    npages = 1 << 22 if full_size else 1 << 12
    m = _loaded(npages)
    # Frames in use machine-wide: the parent's and the child's mappings of a shared frame are
    # one page to save, not two (summing each task's resident pages would count them twice).
    resident = sum(u.used for u in m.node_usage().values())
    blob = pickle.dumps(m)
    back = pickle.loads(blob)
    assert back.core.snapshot() == m.core.snapshot()
    fn = {
        "dumps": lambda: pickle.dumps(m),
        "loads": lambda: pickle.loads(blob),
        "copy": m.copy,
    }[what]
    t0 = time.perf_counter()
    benchmark.pedantic(fn, rounds=3 if full_size else 1, iterations=1)
    best = benchmark.stats.stats.min if benchmark.stats else time.perf_counter() - t0
    per_m = best / npages * 1e6
    benchmark.extra_info["pages"] = npages
    benchmark.extra_info["seconds_per_million_pages"] = per_m
    benchmark.extra_info["pickle_bytes_per_resident_page"] = len(blob) / resident
    benchmark.extra_info["pickle_bytes_per_working_set_page"] = len(blob) / npages
    if full_size:
        assert len(blob) / resident <= 40, f"{len(blob) / resident:.1f} bytes per page"
        assert per_m <= (0.1 if what == "copy" else 0.5), f"{what}: {per_m:.3f} s/M pages"
