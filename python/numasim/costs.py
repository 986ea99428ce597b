"""The cost model: where a machine's simulated time comes from.

A :class:`CostModel` holds one value per term of what the kernel spends: a fixed cost per
system call, the per-CPU cost of ``lru_add_drain_all()``, the software work per folio of each
generation, the reverse-map walk per mapping, the copy bandwidth (scaled by SLIT distance), TLB
flushing (a local flush, a shootdown IPI, a term per CPU reached), minor and major faults, and
two block devices (swap and files) with a per-request latency and a bandwidth. Hardware-era
profiles give every term a sourced default; docs/costs.md gives the source of each number and
``python -m numasim.calibration`` prints the published figures next to the simulated ones.

>>> import numasim
>>> sorted(numasim.CostModel.profiles())
['altix-2005', 'barcelona-2008', 'haswell-2015', 'opteron-2005', 'zen3-2021']
>>> zen3 = numasim.CostModel.profile("zen3-2021")
>>> slow = zen3.with_(copy_mb_s=10_000, swap_device="zram")
>>> slow.copy_mb_s, slow.swap_device, slow.swap_latency_ns
(10000, 'zram', 0)
>>> m = numasim.Machine(nodes=2, semantics="2.6.16", costs=slow)
>>> m.costs == slow
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from numasim import _args
from numasim._core import (
    COST_TERMS,
    CostDevice,
    CostTerms,
    cost_default,
    cost_devices,
    cost_model,
    cost_profiles,
)

_DEVICE_FIELDS = ("swap_device", "file_device")


@dataclass(frozen=True)
class CostModel:
    """The terms of a machine's cost model, in nanoseconds unless the name says MB/s
    (10^6 bytes per second). ``base`` is the profile the model started from. Start from a
    profile (:meth:`profile`) and change terms with
    :meth:`with_` or ``dataclasses.replace``; the model is checked when it is made (unknown
    profile or device names, negative values and a bandwidth of 0 are refused).

    - ``syscall_ns``: fixed cost per system call (entry and exit, page-walk and setup);
    - ``drain_per_cpu_ns``: ``lru_add_drain_all()`` (migrate_prep, lru_cache_disable), per CPU;
    - ``folio_v5_ns``, ``folio_2616_ns``, ``folio_modern_ns``: software work per page (isolate,
      unmap, swap-cache or migration entry, allocate, remap) of V5's eviction, 2.6.16's
      swap-cache migration, and migration with migration entries (2.6.18+, 6.x);
    - ``rmap_ns``: the reverse-map walk, per mapping of a page;
    - ``copy_mb_s``: single-threaded copy bandwidth between local memory; a copy between
      nodes at SLIT distance d takes d/10 times as long;
    - ``tlb_local_ns``: a flush on the calling CPU; ``tlb_ipi_ns`` + ``tlb_per_cpu_ns`` per
      CPU reached: a shootdown of the other CPUs the mm ran on. One per page and mapping
      before Linux 6.3, one per batch of up to 512 folios from 6.3 on;
    - ``minor_fault_ns``, ``major_fault_ns``: fault handling (a major fault's I/O is separate);
    - ``swap_device``, ``swap_latency_ns``, ``swap_mb_s`` and the same for ``file_``: a request
      that does not continue the previous one pays the latency, every page its transfer.
    """

    base: str
    syscall_ns: int
    drain_per_cpu_ns: int
    folio_v5_ns: int
    folio_2616_ns: int
    folio_modern_ns: int
    rmap_ns: int
    copy_mb_s: int
    tlb_local_ns: int
    tlb_ipi_ns: int
    tlb_per_cpu_ns: int
    minor_fault_ns: int
    major_fault_ns: int
    swap_device: str
    swap_latency_ns: int
    swap_mb_s: int
    file_device: str
    file_latency_ns: int
    file_mb_s: int

    def __post_init__(self) -> None:
        for name in COST_TERMS:
            value = getattr(self, name)
            object.__setattr__(self, name, _args.unsigned(value, name, 64))
        for name in ("base", *_DEVICE_FIELDS):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str, not {getattr(self, name)!r}")
        # The core checks the names and the bandwidths (one source of truth for both).
        cost_model(self._spec())

    def _spec(self) -> tuple[str, list[tuple[str, int]], str, str]:
        """The form MachineCore takes."""
        terms = [(n, getattr(self, n)) for n in COST_TERMS]
        return (self.base, terms, self.swap_device, self.file_device)

    @classmethod
    def _of(cls, terms: CostTerms) -> CostModel:
        d = terms._asdict()
        return cls(base=d.pop("profile"), **d)

    @staticmethod
    def profiles() -> dict[str, str]:
        """The built-in profiles: name -> the machine it stands for and its sources."""
        return {p.name: f"{p.description}. Sources: {p.sources}" for p in cost_profiles()}

    @classmethod
    def profile(cls, name: str) -> CostModel:
        """The built-in profile ``name`` (see :meth:`profiles`)."""
        for p in cost_profiles():
            if p.name == name:
                return cls._of(p.model)
        names = ", ".join(p.name for p in cost_profiles())
        raise ValueError(f"unknown cost profile {name!r}; expected one of {names}")

    @classmethod
    def default(cls, semantics: str, arch: str) -> CostModel:
        """What a machine of this semantics and arch gets without ``costs``: zen3-2021 for
        modern machines, altix-2005 for 2.6 (v5, 2.6.16) ia64 machines, opteron-2005 for the
        other 2.6 machines."""
        return cls._of(cost_default(semantics, arch))

    @staticmethod
    def devices() -> dict[str, CostDevice]:
        """The block devices a model may name, with their latency and bandwidth."""
        return {d.name: d for d in cost_devices()}

    def with_(self, **changes: Any) -> CostModel:
        """A copy with the given terms changed. Naming a device (``swap_device="zram"``)
        also takes its latency and bandwidth, unless they are given too; everything else
        changes exactly as given (as with ``dataclasses.replace``)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(
                f"unknown cost term(s) {', '.join(sorted(unknown))}; the terms are "
                f"{', '.join(f.name for f in dataclasses.fields(self))}"
            )
        devices = self.devices()
        for field in _DEVICE_FIELDS:
            if field in changes:
                name = changes[field]
                if name not in devices:
                    raise ValueError(
                        f"unknown {field} {name!r}; expected one of {', '.join(devices)}"
                    )
                which = field.removesuffix("_device")
                changes.setdefault(f"{which}_latency_ns", devices[name].latency_ns)
                changes.setdefault(f"{which}_mb_s", devices[name].mb_s)
        return dataclasses.replace(self, **changes)

    def terms(self) -> dict[str, int | str]:
        """Every term by name (``base`` included)."""
        return dataclasses.asdict(self)


def profiles_table() -> str:
    """Every term's default in each profile, as the Markdown table of docs/costs.md."""
    models = [CostModel.profile(n) for n in CostModel.profiles()]
    rows = [
        "| term | " + " | ".join(m.base for m in models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for f in dataclasses.fields(CostModel):
        if f.name == "base":
            continue
        values = [getattr(m, f.name) for m in models]
        cells = [v if isinstance(v, str) else f"{v:,}".replace(",", " ") for v in values]
        rows.append(f"| `{f.name}` | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
