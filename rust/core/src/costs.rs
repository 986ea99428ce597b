//! The cost model: where simulated time comes from.
//!
//! A [`CostModel`] holds one value per term of what the kernel spends on a system call, a page
//! fault or a page migration: a fixed cost per call, the per-CPU cost of draining the LRU
//! pagevecs, a software cost per folio for each generation, the reverse-map walk per mapping,
//! the copy bandwidth, TLB flushing (local flush, shootdown IPI, per target CPU), fault costs and
//! two block devices (swap, files) with a per-request latency and a bandwidth. The values come
//! in hardware-era profiles ([`PROFILES`]); docs/costs.md gives the source of every number and
//! says which are derived or assumed, and tests/calibration checks the published ones.
//!
//! The engines charge the terms in their own loops (per page or per batch) into
//! [`crate::machine::Machine::acct`]; a report is the difference of that account across a call.

use crate::error::{Error, Result};
use crate::semantics::Semantics;
use serde::{Deserialize, Serialize};

/// Simulated time charged by a call, split by term, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeReport {
    /// Clock at the end minus clock at the start.
    pub total_ns: u64,
    /// Fixed cost of the system call: entry and exit, page-walk and migrate_pages() setup.
    pub syscall_ns: u64,
    /// lru_add_drain_all() / migrate_prep() / lru_cache_disable(): drain_per_cpu_ns per CPU.
    pub drain_ns: u64,
    /// Software work per folio (isolate, unmap, migration or swap-cache entry, allocate, remap).
    pub folio_ns: u64,
    /// Reverse-map walks: rmap_ns per mapping visited.
    pub rmap_ns: u64,
    /// Page copies: page size at the copy bandwidth, times SLIT distance / 10.
    pub copy_ns: u64,
    /// TLB flushes: local flushes and remote shootdowns.
    pub tlb_ns: u64,
    /// Block I/O: swap and file reads and writes on their devices.
    pub io_ns: u64,
    /// Waiting for page locks and writeback held by others to end.
    pub wait_ns: u64,
    /// Page-fault handling (minor and major), without the I/O of major faults.
    pub fault_ns: u64,
}

impl TimeReport {
    /// The names of the terms, in field order (without `total_ns`).
    pub const TERMS: [&'static str; 9] =
        ["syscall", "drain", "folio", "rmap", "copy", "tlb", "io", "wait", "fault"];

    /// The terms' values in [`TimeReport::TERMS`] order.
    pub fn terms(&self) -> [u64; 9] {
        [
            self.syscall_ns,
            self.drain_ns,
            self.folio_ns,
            self.rmap_ns,
            self.copy_ns,
            self.tlb_ns,
            self.io_ns,
            self.wait_ns,
            self.fault_ns,
        ]
    }

    /// What was charged between `before` and `self` (both cumulative accounts), with the
    /// clock's own difference as the total.
    #[must_use]
    pub fn since(&self, before: &TimeReport, total_ns: u64) -> TimeReport {
        TimeReport {
            total_ns,
            syscall_ns: self.syscall_ns - before.syscall_ns,
            drain_ns: self.drain_ns - before.drain_ns,
            folio_ns: self.folio_ns - before.folio_ns,
            rmap_ns: self.rmap_ns - before.rmap_ns,
            copy_ns: self.copy_ns - before.copy_ns,
            tlb_ns: self.tlb_ns - before.tlb_ns,
            io_ns: self.io_ns - before.io_ns,
            wait_ns: self.wait_ns - before.wait_ns,
            fault_ns: self.fault_ns - before.fault_ns,
        }
    }

    /// "12.345 ms simulated (copy 40%, tlb 30%, ...)": the total and the terms that took at
    /// least 1% of it, largest first.
    pub fn summary(&self) -> String {
        let mut s = format!("{} simulated", duration_text(self.total_ns));
        if self.total_ns == 0 {
            return s;
        }
        let mut parts: Vec<(u64, &str)> = Self::TERMS
            .iter()
            .zip(self.terms())
            .filter(|&(_, v)| v * 100 >= self.total_ns)
            .map(|(&n, v)| (v, n))
            .collect();
        parts.sort_by_key(|&(v, _)| std::cmp::Reverse(v));
        if !parts.is_empty() {
            let p: Vec<String> = parts
                .iter()
                .map(|&(v, n)| format!("{n} {:.0}%", v as f64 * 100.0 / self.total_ns as f64))
                .collect();
            s = format!("{s} ({})", p.join(", "));
        }
        s
    }
}

/// A duration in the unit that reads best: "850 ns", "12.3 us", "4.567 ms", "87.24 s".
pub fn duration_text(ns: u64) -> String {
    let x = ns as f64;
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} us", x / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.3} ms", x / 1e6)
    } else {
        format!("{:.2} s", x / 1e9)
    }
}

/// A block device as the cost model sees it: a request that does not continue the previous
/// one (a seek) pays `latency_ns`, and every page pays its transfer at `mb_s` (10^6 bytes/s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    pub name: &'static str,
    pub latency_ns: u64,
    pub mb_s: u64,
    pub description: &'static str,
}

/// The block devices a profile may name (docs/costs.md, "Devices", gives their sources).
pub const DEVICES: [Device; 4] = [
    Device {
        name: "sata-2005",
        latency_ns: 5_830_000,
        mb_s: 45,
        description: "a 7200 rpm SATA/SCSI disk of 2005-2007: 5.83 ms per scattered request, \
                      45 MB/s streaming (from the 2007 'speeding up swapoff' figures: 5 MB/s \
                      for scattered 8-page clusters, 40+ MB/s sequential)",
    },
    Device {
        name: "scsi-2005",
        latency_ns: 5_830_000,
        mb_s: 45,
        description: "the SCSI disk of a 2005 server: taken to be the sata-2005 figures (no \
                      separate published swap figure)",
    },
    Device {
        name: "nvme-2020",
        latency_ns: 80_000,
        mb_s: 2_000,
        description: "a data-center NVMe SSD of 2020: 80 us per scattered 4 KiB read, 2 GB/s \
                      (ASSUMED: typical datasheet class, not calibrated)",
    },
    Device {
        name: "zram",
        latency_ns: 0,
        mb_s: 1_000,
        description: "zram (lzo-rle compression in RAM): no seek, 1 GB/s per page compressed \
                      or decompressed (ASSUMED: not calibrated)",
    },
];

/// The device named `name`.
pub fn device(name: &str) -> Result<Device> {
    DEVICES.iter().copied().find(|d| d.name == name).ok_or_else(|| {
        let names: Vec<&str> = DEVICES.iter().map(|d| d.name).collect();
        Error::value(format!("unknown device {name:?}; expected one of {}", names.join(", ")))
    })
}

/// The cost model of a machine: every term, in nanoseconds unless its name says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostModel {
    /// The profile these values started from.
    #[serde(with = "crate::machine::snapshot::static_str")]
    pub profile: crate::machine::snapshot::StaticStr,
    /// Fixed cost per system call: entry and exit, page-walk setup, migrate_pages() setup.
    pub syscall_ns: u64,
    /// lru_add_drain_all() / migrate_prep(): per CPU of the machine, per drain.
    pub drain_per_cpu_ns: u64,
    /// Software cost per page evicted by V5 (add_to_swap, try_to_unmap, remove_mapping, free).
    pub folio_v5_ns: u64,
    /// Software cost per page moved by 2.6.16 direct migration (through the swap cache).
    pub folio_2616_ns: u64,
    /// Software cost per folio moved with migration entries (2.6.18's move_pages and 6.x).
    pub folio_modern_ns: u64,
    /// Reverse-map walk, per mapping of a page visited.
    pub rmap_ns: u64,
    /// Single-threaded copy bandwidth between local memory, MB/s (10^6 bytes/s); a copy
    /// between nodes takes SLIT distance / 10 times as long.
    pub copy_mb_s: u64,
    /// A TLB flush on the calling CPU.
    pub tlb_local_ns: u64,
    /// A TLB shootdown: sending the IPI and waiting for the answers.
    pub tlb_ipi_ns: u64,
    /// A TLB shootdown: each CPU it reaches.
    pub tlb_per_cpu_ns: u64,
    /// A minor fault (no I/O): entry, page-table update, allocation and clearing if any.
    pub minor_fault_ns: u64,
    /// A major fault's software part (swap cache, readahead bookkeeping); its I/O is separate.
    pub major_fault_ns: u64,
    /// The swap device.
    #[serde(with = "crate::machine::snapshot::static_str")]
    pub swap_device: crate::machine::snapshot::StaticStr,
    pub swap_latency_ns: u64,
    pub swap_mb_s: u64,
    /// The device holding the files.
    #[serde(with = "crate::machine::snapshot::static_str")]
    pub file_device: crate::machine::snapshot::StaticStr,
    pub file_latency_ns: u64,
    pub file_mb_s: u64,
}

/// The numeric terms of a [`CostModel`], in field order.
pub const TERMS: [&str; 16] = [
    "syscall_ns",
    "drain_per_cpu_ns",
    "folio_v5_ns",
    "folio_2616_ns",
    "folio_modern_ns",
    "rmap_ns",
    "copy_mb_s",
    "tlb_local_ns",
    "tlb_ipi_ns",
    "tlb_per_cpu_ns",
    "minor_fault_ns",
    "major_fault_ns",
    "swap_latency_ns",
    "swap_mb_s",
    "file_latency_ns",
    "file_mb_s",
];

/// The terms set with a device name ([`CostModel::with_device`]).
pub const DEVICE_TERMS: [&str; 2] = ["swap_device", "file_device"];

/// A hardware-era profile: its model, what machine it stands for, and where its figures come
/// from (the full account per term is docs/costs.md).
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    pub name: &'static str,
    pub model: CostModel,
    pub description: &'static str,
    pub sources: &'static str,
}

/// A model with its swap and file devices' terms.
const fn with_devices(mut m: CostModel, swap: Device, file: Device) -> CostModel {
    m.swap_device = swap.name;
    m.swap_latency_ns = swap.latency_ns;
    m.swap_mb_s = swap.mb_s;
    m.file_device = file.name;
    m.file_latency_ns = file.latency_ns;
    m.file_mb_s = file.mb_s;
    m
}

const BASE: CostModel = CostModel {
    profile: "",
    syscall_ns: 0,
    drain_per_cpu_ns: 0,
    folio_v5_ns: 0,
    folio_2616_ns: 0,
    folio_modern_ns: 0,
    rmap_ns: 0,
    copy_mb_s: 1,
    tlb_local_ns: 0,
    tlb_ipi_ns: 0,
    tlb_per_cpu_ns: 0,
    minor_fault_ns: 0,
    major_fault_ns: 0,
    swap_device: "",
    swap_latency_ns: 0,
    swap_mb_s: 1,
    file_device: "",
    file_latency_ns: 0,
    file_mb_s: 1,
};

// The profiles' devices, from DEVICES.
const DISK_2005: Device = DEVICES[0];
const SCSI_2005: Device = DEVICES[1];
const NVME: Device = DEVICES[2];

/// barcelona-2008's terms (Brice Goglin's 2009 figures), the base of the 2005 profiles.
const BARCELONA_2008: CostModel = CostModel {
    profile: "barcelona-2008",
    syscall_ns: 5_000,
    drain_per_cpu_ns: 4_500,
    folio_v5_ns: 3_390,
    folio_2616_ns: 3_390,
    folio_modern_ns: 2_710,
    rmap_ns: 150,
    copy_mb_s: 3_490,
    tlb_local_ns: 250,
    tlb_ipi_ns: 3_000,
    tlb_per_cpu_ns: 470,
    minor_fault_ns: 2_600,
    major_fault_ns: 5_200,
    ..BASE
};

/// opteron-2005: barcelona-2008's software terms; K8's DDR-400 copies at 0.6x Barcelona's
/// DDR2-667, and its faults are slower (docs/costs.md).
const OPTERON_2005: CostModel = CostModel {
    profile: "opteron-2005",
    copy_mb_s: 2_090,
    minor_fault_ns: 3_300,
    major_fault_ns: 6_600,
    ..BARCELONA_2008
};

/// haswell-2015's terms (Zi Yan's 2017 and 2019 figures, Huang Ying's 6.3 series).
const HASWELL_2015: CostModel = CostModel {
    profile: "haswell-2015",
    syscall_ns: 8_500,
    drain_per_cpu_ns: 1_550,
    folio_v5_ns: 1_950,
    folio_2616_ns: 1_950,
    folio_modern_ns: 1_560,
    rmap_ns: 100,
    copy_mb_s: 3_480,
    tlb_local_ns: 150,
    tlb_ipi_ns: 2_000,
    tlb_per_cpu_ns: 315,
    minor_fault_ns: 1_900,
    major_fault_ns: 3_800,
    ..BASE
};

/// The built-in profiles. The numbers are derived in docs/costs.md; the calibration tests in
/// tests/calibration check them against the published measurements.
pub const PROFILES: [Profile; 5] = [
    Profile {
        name: "altix-2005",
        model: with_devices(
            CostModel { profile: "altix-2005", ..OPTERON_2005 },
            SCSI_2005,
            SCSI_2005,
        ),
        description: "SGI Altix 3700 (2005): Itanium 2, 16 KiB pages, NUMAlink; 2.6.14-2.6.16 era",
        sources: "no published per-page migration figure for the Altix: the opteron-2005 \
                  software and copy terms are used (EXTRAPOLATED, see docs/costs.md); 16 KiB \
                  pages copy 4x longer and NUMAlink distances (up to 45) scale it further",
    },
    Profile {
        name: "opteron-2005",
        model: with_devices(OPTERON_2005, DISK_2005, DISK_2005),
        description: "four-socket dual-core Opteron 8xx (2005, K8, DDR-400), HyperTransport; \
                      2.6.14-2.6.16 era",
        sources: "DERIVED from barcelona-2008 (Brice Goglin's 2009 figures): K8's DDR-400 copies \
                  at 0.6x Barcelona's DDR2-667; 2.6.16's swap-cache path costs 1.25x the \
                  migration-entry path; drain 4.5 us per CPU as measured on Barcelona; disk \
                  from the 2007 'speeding up swapoff' thread",
    },
    Profile {
        name: "barcelona-2008",
        model: with_devices(BARCELONA_2008, DISK_2005, DISK_2005),
        description: "four-socket quad-core AMD Barcelona (16 cores, 1.9 GHz, 2008); 2.6.29",
        sources: "Brice Goglin, 'mm: move_pages: call migrate_prep() once per move_pages()' \
                  (2009-04-15): migrate_prep() 72 us on 16 cores, move_pages 600 -> 750 MB/s; \
                  copy share of the per-page time taken from Zi Yan's 2019 Haswell split (43%)",
    },
    Profile {
        name: "haswell-2015",
        model: with_devices(HASWELL_2015, NVME, NVME),
        description: "two-socket Xeon E5-2640/2650 v3 (Haswell-EP, 2x8 cores, 32 threads, \
                      2015); Linux 4.11-5.x",
        sources: "Zi Yan, 'mm: page migration enhancement for thp' v4 cover letter (2017-03-13): \
                  move_pages of 1 page 62.47 us, 512 pages 1987.38 us; Zi Yan, 'Accelerate \
                  page migration and use memcg for PMEM management' RFC (2019-04-03): 0.312 / \
                  0.854 GB/s in the kernel, copy 1.385 / 1.983 GB/s; Huang Ying, \
                  'migrate_pages: batch flushing TLB' (6.3): +291.7% pages/s, TLB 83%",
    },
    Profile {
        name: "zen3-2021",
        model: with_devices(
            CostModel {
                profile: "zen3-2021",
                syscall_ns: 3_000,
                drain_per_cpu_ns: 284,
                folio_v5_ns: 825,
                folio_2616_ns: 825,
                folio_modern_ns: 660,
                rmap_ns: 50,
                copy_mb_s: 34_100,
                minor_fault_ns: 800,
                major_fault_ns: 1_600,
                // No Zen 3 figure: the TLB terms are haswell-2015's.
                ..HASWELL_2015
            },
            NVME,
            NVME,
        ),
        description: "two-socket AMD EPYC 7003 (Zen 3, 2x64 cores, 2021), SLIT 10/32; Linux 6.x",
        sources: "Shivank Garg, 'Accelerate page migration with batch copying and hardware \
                  offload' RFC v3 (2025-09-23): move_pages of 1 GiB of 4 KiB pages at 3.73 GB/s \
                  on 6.16-rc6, copy ~35% of the time for 512-page batches and under 1% for \
                  single pages; TLB terms taken from haswell-2015 (no Zen 3 figure)",
    },
];

impl CostModel {
    /// The profile named `name`.
    pub fn profile(name: &str) -> Result<CostModel> {
        PROFILES.iter().find(|p| p.name == name).map(|p| p.model).ok_or_else(|| {
            let names: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
            Error::value(format!(
                "unknown cost profile {name:?}; expected one of {}",
                names.join(", ")
            ))
        })
    }

    /// The profile a machine gets when none is given: zen3-2021 for modern machines,
    /// altix-2005 for ia64 2.6 machines, opteron-2005 for other 2.6 (V5, 2.6.16) machines.
    pub fn default_for(semantics: Semantics, arch: &str) -> CostModel {
        let name = match (semantics, arch) {
            (Semantics::Modern, _) => "zen3-2021",
            (_, "ia64") => "altix-2005",
            _ => "opteron-2005",
        };
        CostModel::profile(name).expect("a built-in profile")
    }

    /// The model a user described: the profile it started from, every numeric term by name
    /// (those not given keep the profile's value), and the names of its devices (labels: their
    /// figures are the terms). Refuses an unknown profile, term or device, and a bandwidth of 0.
    pub fn from_terms(
        profile: &str,
        terms: &[(String, u64)],
        swap_device: &str,
        file_device: &str,
    ) -> Result<CostModel> {
        let mut m = CostModel::profile(profile)?;
        for (name, value) in terms {
            m = m.with_term(name, *value)?;
        }
        m.swap_device = device(swap_device)?.name;
        m.file_device = device(file_device)?.name;
        Ok(m)
    }

    /// The numeric terms' values in [`TERMS`] order.
    pub fn term_values(&self) -> [u64; 16] {
        [
            self.syscall_ns,
            self.drain_per_cpu_ns,
            self.folio_v5_ns,
            self.folio_2616_ns,
            self.folio_modern_ns,
            self.rmap_ns,
            self.copy_mb_s,
            self.tlb_local_ns,
            self.tlb_ipi_ns,
            self.tlb_per_cpu_ns,
            self.minor_fault_ns,
            self.major_fault_ns,
            self.swap_latency_ns,
            self.swap_mb_s,
            self.file_latency_ns,
            self.file_mb_s,
        ]
    }

    /// A copy with one numeric term changed (`swap_device` and `file_device` are set with
    /// [`CostModel::with_device`]).
    pub fn with_term(mut self, name: &str, value: u64) -> Result<CostModel> {
        let slot = match name {
            "syscall_ns" => &mut self.syscall_ns,
            "drain_per_cpu_ns" => &mut self.drain_per_cpu_ns,
            "folio_v5_ns" => &mut self.folio_v5_ns,
            "folio_2616_ns" => &mut self.folio_2616_ns,
            "folio_modern_ns" => &mut self.folio_modern_ns,
            "rmap_ns" => &mut self.rmap_ns,
            "copy_mb_s" => &mut self.copy_mb_s,
            "tlb_local_ns" => &mut self.tlb_local_ns,
            "tlb_ipi_ns" => &mut self.tlb_ipi_ns,
            "tlb_per_cpu_ns" => &mut self.tlb_per_cpu_ns,
            "minor_fault_ns" => &mut self.minor_fault_ns,
            "major_fault_ns" => &mut self.major_fault_ns,
            "swap_latency_ns" => &mut self.swap_latency_ns,
            "swap_mb_s" => &mut self.swap_mb_s,
            "file_latency_ns" => &mut self.file_latency_ns,
            "file_mb_s" => &mut self.file_mb_s,
            _ => {
                return Err(Error::value(format!(
                    "unknown cost term {name:?}; the terms are {}",
                    TERMS.join(", ")
                )))
            }
        };
        if name.ends_with("_mb_s") && value == 0 {
            return Err(Error::value(format!("{name} must be at least 1 MB/s")));
        }
        *slot = value;
        Ok(self)
    }

    /// A copy whose swap device (`which` = "swap") or file device ("file") is the device
    /// named `name`, with its latency and bandwidth.
    pub fn with_device(mut self, which: &str, name: &str) -> Result<CostModel> {
        let d = device(name)?;
        match which {
            "swap" => {
                (self.swap_device, self.swap_latency_ns, self.swap_mb_s) =
                    (d.name, d.latency_ns, d.mb_s);
            }
            "file" => {
                (self.file_device, self.file_latency_ns, self.file_mb_s) =
                    (d.name, d.latency_ns, d.mb_s);
            }
            _ => return Err(Error::value(format!("no {which:?} device: 'swap' or 'file'"))),
        }
        Ok(self)
    }

    /// The software cost per folio of a generation's engine: `migration_entries` for the
    /// engine of 2.6.18 and 6.x (also 2.6.16's move_pages extension).
    #[inline]
    pub fn folio_ns(&self, semantics: Semantics, migration_entries: bool) -> u64 {
        if migration_entries {
            self.folio_modern_ns
        } else if semantics == Semantics::V5 {
            self.folio_v5_ns
        } else {
            self.folio_2616_ns
        }
    }

    /// The copy of one page of `page_size` bytes between nodes at SLIT distance `distance`.
    #[inline]
    pub fn copy_page_ns(&self, page_size: u64, distance: u32) -> u64 {
        transfer_ns(page_size, self.copy_mb_s) * u64::from(distance) / 10
    }

    /// One TLB flush of an mm that ran on `cpus` CPUs, `local` telling whether the caller's
    /// CPU is one of them: a local flush, plus a shootdown of the others.
    #[inline]
    pub fn tlb_flush_ns(&self, cpus: usize, local: bool) -> u64 {
        let others = (cpus - usize::from(local && cpus > 0)) as u64;
        let mut ns = if local || others == 0 { self.tlb_local_ns } else { 0 };
        if others > 0 {
            ns += self.tlb_ipi_ns + others * self.tlb_per_cpu_ns;
        }
        ns
    }
}

impl Default for CostModel {
    /// opteron-2005, the era of the V5 patch and 2.6.16.
    fn default() -> Self {
        CostModel::profile("opteron-2005").expect("a built-in profile")
    }
}

/// Bytes at MB/s (10^6 bytes per second), in ns.
#[inline]
pub fn transfer_ns(bytes: u64, mb_s: u64) -> u64 {
    bytes * 1_000 / mb_s.max(1)
}

/// A parsed modern kernel version ("6.1", "6.12"): what the version-dependent behaviour of the
/// modern engine reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Kernel {
    pub major: u32,
    pub minor: u32,
}

impl Kernel {
    /// The latest behaviour modelled: what a modern machine without `kernel` follows.
    pub const LATEST: Kernel = Kernel { major: 6, minor: 12 };

    /// "6.N" for N up to 20: the 6.x versions numasim models.
    pub fn parse(s: &str) -> Result<Kernel> {
        let bad = || {
            Error::value(format!(
                "kernel {s:?}: numasim models Linux 6.0 to 6.20, written \"6.N\" (e.g. \"6.1\", \
                 \"6.12\")"
            ))
        };
        let (a, b) = s.split_once('.').ok_or_else(bad)?;
        let major: u32 = a.parse().map_err(|_| bad())?;
        let minor: u32 = b.parse().map_err(|_| bad())?;
        if major != 6 || minor > 20 || b.len() > 1 && b.starts_with('0') {
            return Err(bad());
        }
        Ok(Kernel { major, minor })
    }

    /// "migrate_pages: batch flushing TLB" (Huang Ying, 6.3): one flush per batch of up to
    /// NR_MAX_BATCHED_MIGRATION (512) folios instead of one per page.
    pub fn batches_tlb_flush(self) -> bool {
        self >= Kernel { major: 6, minor: 3 }
    }

    /// 6.7 migrate_to_node(): `err += nr_failed`, the folios queue_pages_range() could not
    /// isolate count in the return value.
    pub fn counts_unisolated(self) -> bool {
        self >= Kernel { major: 6, minor: 7 }
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// NR_MAX_BATCHED_MIGRATION (mm/migrate.c, 6.3+): HPAGE_PMD_NR, 512 folios of 4 KiB.
pub const NR_MAX_BATCHED_MIGRATION: u32 = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_and_default() {
        for p in PROFILES {
            assert_eq!(CostModel::profile(p.model.profile).unwrap(), p.model);
            assert!(device(p.model.swap_device).is_ok());
            assert!(device(p.model.file_device).is_ok());
        }
        assert!(CostModel::profile("pdp-11").is_err());
        assert_eq!(CostModel::default_for(Semantics::Modern, "x86_64").profile, "zen3-2021");
        assert_eq!(CostModel::default_for(Semantics::V5, "ia64").profile, "altix-2005");
        assert_eq!(CostModel::default_for(Semantics::Linux2616, "i386").profile, "opteron-2005");
    }

    #[test]
    fn terms_override_one_by_one() {
        let m = CostModel::default();
        for t in TERMS {
            let n = m.with_term(t, 7).unwrap();
            assert_ne!(n, m, "{t}");
        }
        assert!(m.with_term("copy_mb_s", 0).is_err());
        assert!(m.with_term("nope", 1).is_err());
        let z = m.with_device("swap", "zram").unwrap();
        assert_eq!((z.swap_device, z.swap_latency_ns), ("zram", 0));
        assert_eq!(z.file_device, m.file_device);
        assert!(m.with_device("swap", "floppy").is_err());
        let terms: Vec<(String, u64)> =
            TERMS.iter().zip(z.term_values()).map(|(t, v)| ((*t).to_string(), v)).collect();
        assert_eq!(CostModel::from_terms(z.profile, &terms, "zram", z.file_device).unwrap(), z);
        assert!(CostModel::from_terms("opteron-2005", &[], "floppy", "zram").is_err());
        assert!(
            CostModel::from_terms("opteron-2005", &[("tlb".into(), 1)], "zram", "zram").is_err()
        );
    }

    #[test]
    fn tlb_local_and_shootdown() {
        let m = CostModel::profile("haswell-2015").unwrap();
        assert_eq!(m.tlb_flush_ns(1, true), 150);
        assert_eq!(m.tlb_flush_ns(0, false), 150);
        assert_eq!(m.tlb_flush_ns(1, false), 2_000 + 315);
        assert_eq!(m.tlb_flush_ns(32, true), 150 + 2_000 + 31 * 315);
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(Kernel::parse("6.1").unwrap(), Kernel { major: 6, minor: 1 });
        assert!(Kernel::parse("6.12").unwrap().batches_tlb_flush());
        assert!(!Kernel::parse("6.2").unwrap().batches_tlb_flush());
        assert!(Kernel::parse("6.3").unwrap().batches_tlb_flush());
        assert!(!Kernel::parse("6.6").unwrap().counts_unisolated());
        assert!(Kernel::parse("6.7").unwrap().counts_unisolated());
        for bad in ["5.15", "6", "6.x", "6.01", "6.21", "7.0", ""] {
            assert!(Kernel::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn summary_reads() {
        let t = TimeReport {
            total_ns: 2_000_000,
            copy_ns: 1_500_000,
            tlb_ns: 500_000,
            ..TimeReport::default()
        };
        assert_eq!(t.summary(), "2.000 ms simulated (copy 75%, tlb 25%)");
        assert_eq!(duration_text(87_240_000_000), "87.24 s");
    }
}
