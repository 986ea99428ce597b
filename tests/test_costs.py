"""The cost model's surface: numasim.CostModel (profiles, overrides, checks), Machine(costs=,
kernel=), the time split by term in every MigrateReport and in the FaultReport of a burst of
accesses, and the behaviour that depends on the modern kernel version (6.3, 6.7)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import numasim
from numasim import CostModel

PROFILES = ("altix-2005", "opteron-2005", "barcelona-2008", "haswell-2015", "zen3-2021")


def test_profiles_are_listed_and_returned():
    assert tuple(CostModel.profiles()) == PROFILES
    for name, text in CostModel.profiles().items():
        assert "Sources:" in text
        m = CostModel.profile(name)
        assert m.base == name and m == CostModel.profile(name)
        assert repr(m).startswith(f"CostModel(base='{name}', syscall_ns=")
    with pytest.raises(ValueError, match="unknown cost profile 'pdp-11'; expected one of altix"):
        CostModel.profile("pdp-11")


def test_a_model_is_frozen_and_overridable_term_by_term():
    z = CostModel.profile("zen3-2021")
    with pytest.raises(dataclasses.FrozenInstanceError):
        z.copy_mb_s = 1  # type: ignore[misc]
    r = dataclasses.replace(z, copy_mb_s=1000)
    assert (r.copy_mb_s, r.base, r.tlb_ipi_ns) == (1000, "zen3-2021", z.tlb_ipi_ns)
    w = z.with_(swap_device="zram")
    dev = CostModel.devices()["zram"]
    assert (w.swap_device, w.swap_latency_ns, w.swap_mb_s) == ("zram", dev.latency_ns, dev.mb_s)
    assert w.with_(swap_device="sata-2005", swap_mb_s=7).swap_mb_s == 7
    assert w.file_device == z.file_device
    assert set(z.terms()) == {f.name for f in dataclasses.fields(z)}


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"copy_mb_s": 0}, ValueError, "copy_mb_s must be at least 1 MB/s"),
        ({"syscall_ns": -1}, ValueError, "syscall_ns"),
        ({"tlb_ipi_ns": 1.5}, TypeError, "tlb_ipi_ns"),
        ({"rmap_ns": True}, TypeError, "rmap_ns"),
        ({"swap_device": "floppy"}, ValueError, "unknown swap_device 'floppy'"),
        ({"tlb": 1}, TypeError, "unknown cost term"),
    ],
)
def test_bad_terms_are_refused_by_name(change, error, match):
    with pytest.raises(error, match=match):
        CostModel.profile("haswell-2015").with_(**change)


def test_replace_is_checked_too():
    with pytest.raises(ValueError, match='unknown device "floppy"'):
        dataclasses.replace(CostModel.profile("haswell-2015"), file_device="floppy")


def test_machines_default_to_their_era_and_take_any_profile():
    assert numasim.Machine(nodes=2).costs.base == "zen3-2021"  # modern, the default
    assert numasim.Machine(nodes=2, semantics="v5").costs.base == "opteron-2005"
    assert numasim.Machine(nodes=2, arch="ia64", semantics="v5").costs.base == "altix-2005"
    assert numasim.Machine(nodes=2, semantics="modern").costs.base == "zen3-2021"
    assert CostModel.default("modern", "ia64").base == "zen3-2021"
    for preset, base in [
        ("altix-ia64-64", "altix-2005"),
        ("opteron-4s", "opteron-2005"),
        ("numaq-i386-16", "opteron-2005"),
        ("modern-2s-cxl", "zen3-2021"),
    ]:
        assert numasim.Machine.preset(preset, swap=0).costs.base == base
    # The profile is independent of the semantics: 2.6.16 on 2021 hardware.
    m = numasim.Machine.preset("opteron-4s", semantics="2.6.16", costs="zen3-2021")
    assert m.costs == CostModel.profile("zen3-2021")
    slow = CostModel.profile("zen3-2021").with_(copy_mb_s=100)
    assert numasim.Machine(nodes=2, costs=slow).costs == slow
    with pytest.raises(TypeError, match=r"costs must be a numasim\.CostModel or a profile name"):
        numasim.Machine(nodes=2, costs=3)  # type: ignore[arg-type]


def test_kernel_versions():
    assert numasim.Machine(nodes=2, semantics="modern").kernel == "6.12"
    assert numasim.Machine(nodes=2, semantics="modern", kernel="6.1").kernel == "6.1"
    assert numasim.Machine(nodes=2).kernel == "6.12"  # modern, the default
    assert numasim.Machine(nodes=2, semantics="v5").kernel is None
    with pytest.raises(ValueError, match="names a modern"):
        numasim.Machine(nodes=2, semantics="2.6.16", kernel="6.1")
    for bad in ("5.15", "6", "6.x", "7.0", "6.21"):
        with pytest.raises(ValueError, match=r"numasim models Linux 6\.0 to 6\.20"):
            numasim.Machine(nodes=2, semantics="modern", kernel=bad)
    with pytest.raises(TypeError, match="kernel must be a version string"):
        numasim.Machine(nodes=2, semantics="modern", kernel=6.1)  # type: ignore[arg-type]


def _threaded(kernel: str, pages: int) -> tuple[numasim.Machine, numasim.MigrateReport]:
    m = numasim.Machine(nodes=2, node_memory="64MiB", semantics="modern", kernel=kernel)
    t = m.spawn(uid=0, cpu=0)
    a = t.mmap(pages * m.page_size)
    t.touch(a, pages * m.page_size, write=True)
    t.clone_thread().migrate_to_cpu(1)
    assert numasim.migrate_pages(t, 0, m.arch.max_numnodes + 1, [0], [1]) == 0
    assert m.last_report is not None
    return m, m.last_report


def test_tlb_flushes_per_page_before_6_3_per_512_folios_from_6_3():
    c = CostModel.profile("zen3-2021")
    flush = c.tlb_local_ns + c.tlb_ipi_ns + c.tlb_per_cpu_ns  # the caller's CPU and one more
    _, r = _threaded("6.2", 1000)
    assert r.time.tlb_ns == 1000 * flush
    _, r = _threaded("6.3", 1000)
    assert r.time.tlb_ns == 2 * flush  # 512 + 488 folios


def test_the_terms_add_up_and_say_simulated():
    m, r = _threaded("6.12", 64)
    t = r.time
    assert sum(v for _, v in t.terms()) == t.total_ns == r.time_ns
    assert [n for n, _ in t.terms()] == numasim._core.TIME_TERMS
    assert (t.copy_ns, t.tlb_ns, t.io_ns, t.wait_ns) == (r.copy_ns, r.tlb_ns, r.io_ns, r.wait_ns)
    assert t.syscall_ns == m.costs.syscall_ns
    assert t.drain_ns == m.costs.drain_per_cpu_ns * m.nr_cpus
    assert t.folio_ns == 64 * m.costs.folio_modern_ns
    assert "simulated" in r.summary() and "simulated" in repr(t)
    assert r.as_dict()["time"] == t._asdict()


def test_v5_full_cost_is_swap_out_now_and_swap_in_later():
    m = numasim.Machine(nodes=2, node_memory="64MiB", semantics="v5")
    t = m.spawn(uid=0, cpu=0)
    n = 256
    a = t.mmap(n * m.page_size)
    t.touch(a, n * m.page_size, write=True)
    assert numasim.migrate_pages(t, 0, m.arch.max_numnodes + 1, [0], [1]) == 0
    out = m.last_report
    assert out.swapped_out == n and out.time.io_ns > 0 and out.time.copy_ns == 0
    back = t.touch(a, n * m.page_size)
    assert (back.pages, back.faults, back.swapped_in) == (n, n, n)
    assert back.major == n // 8 or back.major == n // 8 + 1  # one per readahead cluster
    c = m.costs
    assert back.time.fault_ns == back.major * c.major_fault_ns + (n - back.major) * c.minor_fault_ns
    assert back.time.io_ns >= n * m.page_size * 1000 // c.swap_mb_s
    assert back.time_ns == sum(v for _, v in back.time.terms())
    assert "simulated" in repr(back) and back._asdict()["time"] == back.time._asdict()
    # touching again costs nothing more than the minor faults (none: all mapped)
    assert t.touch(a, n * m.page_size).time_ns == 0


def test_swap_device_scattered_reads_pay_a_seek_each():
    def swap_in(order: str, device: str) -> int:
        costs = CostModel.profile("opteron-2005").with_(swap_device=device)
        m = numasim.Machine(nodes=1, node_memory="64MiB", swap="16MiB", costs=costs)
        t = m.spawn()
        n = 512
        a = t.mmap(n * m.page_size)
        t.touch(a, n * m.page_size, write=True)
        m.swap_out(t, a, n * m.page_size)
        addrs = a + m.page_size * np.arange(n, dtype=np.uint64)
        if order == "scattered":
            addrs = np.random.default_rng(0).permutation(addrs)
        return t.touch_pages(addrs).time.io_ns

    seq, scat = swap_in("sequential", "sata-2005"), swap_in("scattered", "sata-2005")
    assert scat > 5 * seq
    assert swap_in("scattered", "zram") == swap_in("sequential", "zram")  # no seek in RAM
    assert swap_in("scattered", "nvme-2020") < scat / 20


def test_copy_time_scales_with_slit_distance():
    def copy_ns(distance: int) -> int:
        m = numasim.Machine(
            nodes=2,
            node_memory="64MiB",
            semantics="2.6.16",
            distances=[[10, distance], [distance, 10]],
        )
        t = m.spawn(uid=0)
        a = t.mmap(16 * m.page_size)
        t.touch(a, 16 * m.page_size, write=True)
        numasim.migrate_pages(t, 0, m.arch.max_numnodes + 1, [0], [1])
        return m.last_report.copy_ns

    assert copy_ns(40) == 2 * copy_ns(20)


def test_move_pages_keeps_its_report():
    m = numasim.Machine(nodes=2, node_memory="64MiB", semantics="modern")
    t = m.spawn(uid=0)
    a = t.mmap(4 * m.page_size)
    t.touch(a, 4 * m.page_size, write=True)
    addrs = a + m.page_size * np.arange(4, dtype=np.uint64)
    rc, _ = numasim.move_pages(t, 0, addrs, np.ones(4, dtype=np.int32))
    assert rc == 0 and m.last_report.moved == 4 and m.last_report.time.copy_ns > 0
