"""Shared helpers for the machine-model tests (tests/test_machine_*.py)."""

from __future__ import annotations

import functools
import os

import pytest
from hypothesis import HealthCheck, settings

import numasim

# --- Hypothesis profiles ------------------------------------------------------------------------
# HYPOTHESIS_PROFILE picks one (as does `pytest --hypothesis-profile=NAME`); without it, "ci" where
# the CI variable is set and "default" elsewhere. "ci", which .ci/run uses, runs the full counts
# and prints the blob that replays a failure (`@reproduce_failure`); "default", for everyday
# runs, a fifth of them. A test that wants more or fewer examples than a plain @given asks for a
# multiple of the profile's count (`max_examples=10 * settings().max_examples`), never a fixed
# number, so that the profile decides. No deadlines: on two shared cores a timing is noise, and
# these tests check results, not speed.
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("default", max_examples=20, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)
# --- end of the Hypothesis profiles -------------------------------------------------------------

SEMANTICS = numasim.SEMANTICS
OLD = ("v5", "2.6.16")


@pytest.fixture(params=SEMANTICS)
def sem(request):
    """Each kernel generation in turn."""
    return request.param


# Calls that may change a machine; after each, successful or not, every invariant must hold.
MUTATORS = {
    numasim.Machine: "spawn kernel_thread swap_out create_file shmget shm_rmid writeback drain "
    "set_page_state advance cpuset",
    numasim.Task: "setuid seteuid setreuid setresuid setgid setresgid grant revoke fork "
    "clone_thread exit mmap munmap mprotect mlock munlock brk touch touch_pages set_mempolicy "
    "mbind get_mempolicy migrate_to_cpu attach_cpuset madvise",
}


@pytest.fixture(autouse=True)
def check_after_every_step(request, monkeypatch):
    """In the scenario tests, m.check() runs after every state-changing call."""
    if request.module.__name__ not in (
        "test_machine_topology",
        "test_machine_memory",
        "test_machine_tasks",
        "test_machine_policy",
        "test_machine_reports",
        "test_madvise",
        "test_memory_pressure",
    ):
        return
    for cls, names in MUTATORS.items():
        for name in names.split():
            orig = getattr(cls, name)

            @functools.wraps(orig)
            def checked(self, *args, _orig=orig, **kwargs):
                m = self if isinstance(self, numasim.Machine) else self.machine
                try:
                    return _orig(self, *args, **kwargs)
                finally:
                    m.check()

            monkeypatch.setattr(cls, name, checked)


def small(semantics="v5", arch="x86_64", nodes=2, pages=1024, **kw):
    """A small machine: ``nodes`` nodes of ``pages`` pages each."""
    ps = numasim.arch(arch).page_size
    return numasim.Machine(
        arch=arch, semantics=semantics, nodes=nodes, node_memory=pages * ps, **kw
    )


def used_pages(m):
    return sum(u.used for u in m.node_usage().values())


def assert_all_free(m, cached=0):
    """After every task has exited: only the zero page (on the first node with memory) and
    ``cached`` page-cache pages are in use, and no swap slot or swap-cache page is."""
    m.check()
    first = m.node_states.has_memory.first()
    usage = m.node_usage()
    assert usage[first].used >= 1
    assert used_pages(m) == 1 + cached
    assert all(d.used == 0 for d in m.swap_info())
    assert m.swap_cache_pages == 0
