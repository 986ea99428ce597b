//! Zone watermarks: vm.min_free_kbytes and each zone's min, low and high marks.
//!
//! numasim has one zone per node (no ZONE_DMA, ZONE_DMA32, ZONE_HIGHMEM or ZONE_MOVABLE), and
//! every node's memory counts as lowmem, on i386 too. So lowmem_reserve is 0 everywhere: a
//! zone's reserve against allocations that could use a higher zone of the same node
//! (setup_per_zone_lowmem_reserve()) needs a higher zone, and numasim has none. On a real
//! x86_64 node 0 the DMA and DMA32 zones keep such a reserve on top of their min mark.
//!
//! - 2.6 (2.6.16 `init_per_zone_pages_min()` / `setup_per_zone_pages_min()`, text read in
//!   2.6.18 mm/page_alloc.c; V5's 2.6.14-rc5-mm1 is taken to be the same, UNCONFIRMED):
//!   `min_free_kbytes = int_sqrt(lowmem_kbytes * 16)` clamped to [128, 65536];
//!   per zone `tmp = pages_min * present / lowmem_pages`, `pages_min = tmp`,
//!   `pages_low = pages_min + tmp / 4`, `pages_high = pages_min + tmp / 2`.
//! - 6.x (6.1 and 6.12 `calculate_min_free_kbytes()` / `__setup_per_zone_wmarks()`):
//!   the same square root clamped to [128, 262144]; `WMARK_MIN = tmp`, then
//!   `tmp = max(tmp / 4, managed * watermark_scale_factor / 10000)` with
//!   watermark_scale_factor 10, `WMARK_LOW = min + tmp`, `WMARK_HIGH = low + tmp`;
//!   watermark_boost stays 0 (no fragmentation events are modelled).
//!
//! `lowmem_kbytes` is nr_free_buffer_pages() at boot: the managed pages of every zone in the
//! boot node's GFP_USER zonelist, all nodes here, less their high marks, which are still 0
//! when init_per_zone_wmark_min() runs. numasim's managed pages are a node's pages (the kernel
//! also subtracts its own image and the memmap).

use super::Machine;
use crate::error::{Error, Result};
use crate::phys::{PhysMem, WMARK_HIGH, WMARK_LOW, WMARK_MIN};
use crate::semantics::Semantics;

/// int_sqrt() (lib/int_sqrt.c): the integer square root, rounded down.
pub fn int_sqrt(x: u64) -> u64 {
    if x < 2 {
        return x;
    }
    // Newton's method from an overestimate; converges in a few steps for u64.
    let mut r = 1u64 << (x.ilog2() / 2 + 1);
    loop {
        let next = u64::midpoint(r, x / r);
        if next >= r {
            return r;
        }
        r = next;
    }
}

/// The largest value vm.min_free_kbytes takes (an int sysctl, proc_dointvec_minmax with
/// extra1 = 0: 0 ..= INT_MAX).
pub const MIN_FREE_KBYTES_MAX: u64 = i32::MAX as u64;

/// The boot value of vm.min_free_kbytes for `lowmem_kbytes` of lowmem: int_sqrt(lowmem * 16),
/// clamped to [128, 65536] in 2.6 and [128, 262144] in 6.x.
pub fn default_min_free_kbytes(sem: Semantics, lowmem_kbytes: u64) -> u64 {
    let new = int_sqrt(lowmem_kbytes.saturating_mul(16));
    let max = if sem == Semantics::Modern { 262_144 } else { 65_536 };
    new.clamp(128, max)
}

/// mult_frac(x, n, d) (include/linux/math.h): x * n / d without overflowing x * n.
fn mult_frac(x: u64, n: u64, d: u64) -> u64 {
    (x / d) * n + ((x % d) * n) / d
}

/// watermark_scale_factor's default (6.x, mm/page_alloc.c): 10, i.e. 0.1% of the zone.
pub const WATERMARK_SCALE_FACTOR: u64 = 10;

/// [min, low, high] of a lowmem zone of `managed` pages, out of `lowmem_pages` in all, when
/// min_free_kbytes comes to `pages_min` pages.
pub fn zone_watermarks(
    sem: Semantics,
    pages_min: u64,
    managed: u64,
    lowmem_pages: u64,
) -> [u64; 3] {
    if lowmem_pages == 0 {
        return [0; 3];
    }
    // tmp = (u64)pages_min * managed; do_div(tmp, lowmem_pages): the quotient of a u128 by
    // a larger-or-equal u64 divisor fits a u64 again (managed <= lowmem_pages).
    let tmp = u64::try_from(u128::from(pages_min) * u128::from(managed) / u128::from(lowmem_pages))
        .unwrap_or(u64::MAX);
    if sem == Semantics::Modern {
        let step = (tmp >> 2).max(mult_frac(managed, WATERMARK_SCALE_FACTOR, 10_000));
        [tmp, tmp + step, tmp + 2 * step]
    } else {
        [tmp, tmp + (tmp >> 2), tmp + (tmp >> 1)]
    }
}

/// Sets every node's watermarks from `min_free_kbytes` (None: the boot default of the
/// generation), as init_per_zone_wmark_min() at boot and the vm.min_free_kbytes sysctl
/// handler (setup_per_zone_pages_min() / setup_per_zone_wmarks()) do.
pub fn setup(phys: &mut PhysMem, sem: Semantics, page_shift: u32, min_free_kbytes: Option<u64>) {
    let lowmem_pages: u64 = phys.nodes.iter().map(|n| n.pages).sum();
    let kb_per_page = 1u64 << (page_shift - 10);
    let kb = min_free_kbytes
        .unwrap_or_else(|| default_min_free_kbytes(sem, lowmem_pages.saturating_mul(kb_per_page)));
    phys.min_free_kbytes = kb;
    // pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
    let pages_min = kb >> (page_shift - 10);
    for n in &mut phys.nodes {
        n.wmark = zone_watermarks(sem, pages_min, n.pages, lowmem_pages);
    }
}

/// One node's zone as /proc/zoneinfo shows it, in pages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneInfo {
    pub nid: u32,
    pub start_pfn: u64,
    /// spanned == present == managed: numasim models no holes and no boot reservations.
    pub present: u64,
    pub free: u64,
    pub min: u64,
    pub low: u64,
    pub high: u64,
    /// LRU list lengths by page flags (6.x splits anon and file; 2.6 reads the sums).
    pub active_anon: u64,
    pub inactive_anon: u64,
    pub active_file: u64,
    pub inactive_file: u64,
    /// Pages direct reclaim scanned and freed on the node (pgscan_direct, pgsteal_direct).
    pub scanned: u64,
    pub reclaimed: u64,
    /// 2.6 zone reclaim state: nr_scan_active, nr_scan_inactive, prev_priority.
    pub nr_scan_active: u64,
    pub nr_scan_inactive: u64,
    pub prev_priority: u32,
}

impl Machine {
    /// vm.min_free_kbytes.
    pub fn min_free_kbytes(&self) -> u64 {
        self.phys.min_free_kbytes
    }

    /// Writes vm.min_free_kbytes (None: back to the boot formula): every node's watermarks
    /// follow (min_free_kbytes_sysctl_handler). The sysctl is an int with a minimum of 0.
    pub fn set_min_free_kbytes(&mut self, kb: Option<u64>) -> Result<()> {
        if kb.is_some_and(|k| k > MIN_FREE_KBYTES_MAX) {
            return Err(Error::value(format!(
                "min_free_kbytes {} is out of range: vm.min_free_kbytes is an int sysctl, \
                 0 ..= {MIN_FREE_KBYTES_MAX}",
                kb.unwrap_or_default()
            )));
        }
        setup(&mut self.phys, self.semantics, self.arch.page_shift, kb);
        Ok(())
    }

    /// [min, low, high] of node `nid`'s zone.
    pub fn watermarks(&self, nid: u32) -> Option<[u64; 3]> {
        self.phys.node(nid).map(|n| [n.wmark[WMARK_MIN], n.wmark[WMARK_LOW], n.wmark[WMARK_HIGH]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_sqrt_rounds_down() {
        for x in [0u64, 1, 2, 3, 4, 15, 16, 17, 1 << 40, (1 << 40) - 1, u64::MAX] {
            let r = int_sqrt(x);
            assert!(u128::from(r) * u128::from(r) <= u128::from(x), "{x}");
            assert!(u128::from(r + 1) * u128::from(r + 1) > u128::from(x), "{x}");
        }
    }

    /// The table in 6.1's comment above calculate_min_free_kbytes(): 16MB -> 512k, 1024MB ->
    /// 4096k, 16384MB -> 16384k (2.6.16's formula is the same up to its 64 MiB cap). The
    /// comment says 11584k for 8192MB; int_sqrt(8388608 * 16) is 11585.
    #[test]
    fn min_free_kbytes_matches_the_kernel_table() {
        for sem in Semantics::ALL {
            for (mb, kb) in [
                (16, 512),
                (32, 724),
                (64, 1024),
                (128, 1448),
                (256, 2048),
                (512, 2896),
                (1024, 4096),
                (2048, 5792),
                (4096, 8192),
                (8192, 11585),
                (16384, 16384),
            ] {
                assert_eq!(default_min_free_kbytes(sem, mb * 1024), kb, "{sem} {mb} MB");
            }
        }
    }

    #[test]
    fn min_free_kbytes_clamps_per_generation() {
        for sem in Semantics::ALL {
            // 512 KiB of lowmem: int_sqrt(8192) = 90, raised to 128.
            assert_eq!(default_min_free_kbytes(sem, 512), 128);
        }
        // 64 GiB: int_sqrt(2^26 * 16) = 32768 in both; 1 TiB: 131072, over 2.6's cap.
        let tib = 1u64 << 30;
        assert_eq!(default_min_free_kbytes(Semantics::Linux2616, 64 << 20), 32_768);
        assert_eq!(default_min_free_kbytes(Semantics::Modern, 64 << 20), 32_768);
        assert_eq!(default_min_free_kbytes(Semantics::Linux2616, tib), 65_536);
        assert_eq!(default_min_free_kbytes(Semantics::V5, tib), 65_536);
        assert_eq!(default_min_free_kbytes(Semantics::Modern, tib), 131_072);
        assert_eq!(default_min_free_kbytes(Semantics::Modern, 16 * tib), 262_144);
    }

    #[test]
    fn one_gib_node() {
        // 1 GiB, one node, 4 KiB pages: min_free_kbytes 4096 -> pages_min 1024.
        let pages = 1 << 18;
        let kb = default_min_free_kbytes(Semantics::Linux2616, pages * 4);
        assert_eq!(kb, 4096);
        assert_eq!(zone_watermarks(Semantics::Linux2616, kb / 4, pages, pages), [1024, 1280, 1536]);
        // 6.x: tmp/4 = 256 beats 0.1% of the zone (262); low = 1024 + 262, high = + 262.
        assert_eq!(zone_watermarks(Semantics::Modern, kb / 4, pages, pages), [1024, 1286, 1548]);
    }

    #[test]
    fn sixty_four_gib_node_among_four() {
        // 4 x 64 GiB: lowmem 256 GiB -> int_sqrt(2^28 * 16) = 65536 kB, 2.6's cap exactly.
        let node = 1u64 << 24;
        let all = 4 * node;
        for sem in Semantics::ALL {
            assert_eq!(default_min_free_kbytes(sem, all * 4), 65_536);
        }
        let pages_min = 65_536 / 4;
        // Each zone gets a quarter: 4096 pages.
        assert_eq!(zone_watermarks(Semantics::Linux2616, pages_min, node, all), [4096, 5120, 6144]);
        // 6.x: 0.1% of 2^24 pages (16777) is far above 4096/4.
        let step = mult_frac(node, 10, 10_000);
        assert_eq!(step, 16_777);
        assert_eq!(
            zone_watermarks(Semantics::Modern, pages_min, node, all),
            [4096, 4096 + step, 4096 + 2 * step]
        );
    }

    #[test]
    fn a_small_machine_splits_min_by_zone_size() {
        // 2 nodes of 1024 and 3072 pages (16 MiB): 512 kB = 128 pages, split 32 / 96.
        let kb = default_min_free_kbytes(Semantics::Linux2616, 4096 * 4);
        assert_eq!(kb, 512);
        assert_eq!(zone_watermarks(Semantics::Linux2616, 128, 1024, 4096), [32, 40, 48]);
        assert_eq!(zone_watermarks(Semantics::Linux2616, 128, 3072, 4096), [96, 120, 144]);
        assert_eq!(zone_watermarks(Semantics::Linux2616, 0, 3072, 4096), [0, 0, 0]);
        // 6.x keeps 0.1% between the marks even with min_free_kbytes 0.
        assert_eq!(zone_watermarks(Semantics::Modern, 0, 30_720, 30_720), [0, 30, 60]);
    }
}
