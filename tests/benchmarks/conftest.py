"""Benchmarks run once at a small size when benchmarking is disabled (the default, so CI
exercises them quickly) and at full size with ``--benchmark-enable``."""

import pytest


@pytest.fixture
def full_size(request) -> bool:
    """True when benchmarks are enabled: use the sizes the targets are stated for."""
    cfg = request.config
    return bool(cfg.getoption("benchmark_enable")) or not cfg.getoption("benchmark_disable")
