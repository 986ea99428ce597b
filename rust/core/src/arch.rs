//! Architecture profiles (include/asm-*): the handful of per-arch numbers the simulator needs.
//!
//! Plain data, one table. Every value cites where it comes from; "spec §7" is section 7 of
//! `shared/spec/kernel-semantics.md`, which in turn cites the 2.6.16/2.6.18 headers and Kconfig.

use crate::error::{Error, Result};
use crate::host::bounded_u32;
use crate::semantics::Semantics;
use serde::{Deserialize, Serialize};

/// Syscall numbers of the memory-policy family, and madvise, on one architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyscallNumbers {
    pub mbind: u32,
    pub get_mempolicy: u32,
    pub set_mempolicy: u32,
    pub migrate_pages: u32,
    pub move_pages: u32,
    pub madvise: u32,
}

impl SyscallNumbers {
    /// (name, number) pairs in a stable order, for display and lookup by name.
    pub fn entries(&self) -> [(&'static str, u32); 6] {
        [
            ("mbind", self.mbind),
            ("get_mempolicy", self.get_mempolicy),
            ("set_mempolicy", self.set_mempolicy),
            ("migrate_pages", self.migrate_pages),
            ("move_pages", self.move_pages),
            ("madvise", self.madvise),
        ]
    }

    /// The syscall's name for a number, if it is one of ours.
    pub fn name_of(&self, nr: u32) -> Option<&'static str> {
        self.entries().into_iter().find(|&(_, n)| n == nr).map(|(s, _)| s)
    }
}

/// One architecture's profile. Immutable; [`ArchProfile::with_nodes_shift`] derives a variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArchProfile {
    pub name: String,
    /// BITS_PER_LONG: the width of one word of a user nodemask (include/asm-*/types.h).
    pub bits_per_long: u32,
    /// PAGE_SHIFT (include/asm-*/page.h); page_size = 1 << page_shift.
    pub page_shift: u32,
    /// CONFIG_NODES_SHIFT; MAX_NUMNODES = 1 << nodes_shift (include/linux/numa.h).
    pub nodes_shift: u32,
    /// TASK_SIZE of a native task: the end of user address space (include/asm-*/processor.h).
    pub task_size: u64,
    /// The shift of each page-table level, top level first, ending with PAGE_SHIFT
    /// (PGDIR_SHIFT, [PUD_SHIFT,] [PMD_SHIFT,] PAGE_SHIFT).
    pub pt_level_shifts: Vec<u32>,
    /// HPAGE_SHIFT: huge page size = 1 << hpage_shift.
    pub hpage_shift: u32,
    /// Bits of virtual address the page table resolves: the whole user space on flat arches
    /// (i386 32, x86_64 48), the offset inside one region on ia64 (see `region_shift`).
    pub va_bits: u32,
    /// ia64 only: addresses carry the region number in bits 61..63 and the pgd index folds the
    /// region into its top 3 bits (pgd_offset(), include/asm-ia64/pgtable.h). 0 on flat arches.
    pub region_shift: u32,
    /// Bits of swap offset a swap PTE can hold: what survives
    /// swp_offset(pte_to_swp_entry(swp_entry_to_pte(swp_entry(0, ~0UL)))), the probe sys_swapon
    /// uses to size a swap device (the arch's __swp_entry layout, include/asm-*/pgtable*.h).
    pub swp_offset_bits: u32,
    pub syscalls: SyscallNumbers,
}

/// Largest NODES_SHIFT a profile may ask for. The kernel's Kconfig caps it at 10 on x86 and ia64;
/// the simulator allows a little beyond for "what if" machines while keeping masks small.
pub const MAX_NODES_SHIFT: u32 = 12;

impl ArchProfile {
    pub fn page_size(&self) -> u64 {
        1u64 << self.page_shift
    }
    pub fn max_numnodes(&self) -> u32 {
        1u32 << self.nodes_shift
    }
    /// Number of page-table levels (pgd .. pte).
    pub fn pt_levels(&self) -> u32 {
        bounded_u32(self.pt_level_shifts.len()) // a handful: 2 to 5 levels
    }
    pub fn huge_page_size(&self) -> u64 {
        1u64 << self.hpage_shift
    }
    /// Width in bits of each page-table level's index, top level first (the pgd's includes the 3
    /// region bits on ia64).
    pub fn pt_index_bits(&self) -> Vec<u32> {
        let sh = &self.pt_level_shifts;
        let mut out = vec![self.va_bits - sh[0] + if self.region_shift != 0 { 3 } else { 0 }];
        out.extend(sh.windows(2).map(|w| w[0] - w[1]));
        out
    }

    /// Bits of a linear virtual page number (see [`ArchProfile::lvpn`]).
    pub fn lvpn_bits(&self) -> u32 {
        self.pt_index_bits().iter().sum()
    }

    /// The user address ranges a page table of this arch can map, below TASK_SIZE:
    /// one range on flat arches, one per user region (0..4) on ia64.
    pub fn user_ranges(&self) -> Vec<(u64, u64)> {
        if self.region_shift == 0 {
            return vec![(0, self.task_size)];
        }
        let span = 1u64 << self.va_bits;
        (0..(self.task_size >> self.region_shift))
            .map(|r| (r << self.region_shift, (r << self.region_shift) + span))
            .collect()
    }

    /// True if every byte of [addr, addr+len) lies in one user range.
    pub fn range_is_user(&self, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        self.user_ranges().iter().any(|&(s, e)| addr >= s && end <= e)
    }

    /// The user range (see [`ArchProfile::user_ranges`]) that holds `addr`, if any.
    pub fn user_range_of(&self, addr: u64) -> Option<(u64, u64)> {
        self.user_ranges().into_iter().find(|&(s, e)| addr >= s && addr < e)
    }

    /// ULONG_MAX: the largest address or length a task of this arch can pass.
    pub fn ulong_max(&self) -> u64 {
        u64::MAX >> (64 - self.bits_per_long)
    }

    /// The end of [addr, addr+len) if the range lies below TASK_SIZE, which also means it fits an
    /// `unsigned long` of the arch (TASK_SIZE <= ULONG_MAX everywhere); None if it wraps around or
    /// reaches past TASK_SIZE. On ia64 the range may still cross the holes between regions.
    pub fn end_below_task_size(&self, addr: u64, len: u64) -> Option<u64> {
        addr.checked_add(len).filter(|&end| end <= self.task_size)
    }

    /// MAX_LFS_FILESIZE (include/linux/fs.h), the largest file the page cache can index: on
    /// 64-bit arches LLONG_MAX in every generation; on 32-bit ones
    /// ((u64)PAGE_CACHE_SIZE << (BITS_PER_LONG-1)) - 1 up to 2.6.x (page->index kept below 2^31
    /// pages) and (loff_t)ULONG_MAX << PAGE_SHIFT in modern kernels.
    pub fn max_lfs_filesize(&self, semantics: Semantics) -> u64 {
        if self.bits_per_long == 64 {
            i64::MAX as u64
        } else if semantics == Semantics::Modern {
            self.ulong_max() << self.page_shift
        } else {
            (self.page_size() << (self.bits_per_long - 1)) - 1
        }
    }

    /// The most pages (header included) one swap device can have: sys_swapon's probe
    /// swp_offset(pte_to_swp_entry(swp_entry_to_pte(swp_entry(0, ~0UL)))) + 1 (the arch's swap PTE
    /// layout, `swp_offset_bits`), and at most what the swap header's 32-bit last_page can name,
    /// capped to UINT_MAX since p->max is an unsigned int (mm/swapfile.c read_swap_header, 2.6.33
    /// and later; 2.6.16's probe was `- 1` and dropped the last page, not modelled here).
    pub fn max_swap_pages(&self) -> u64 {
        (1u64 << self.swp_offset_bits).min(u64::from(u32::MAX))
    }

    /// Linear virtual page number: the index the radix page table resolves. It is
    /// `vaddr >> PAGE_SHIFT` on flat arches; on ia64 the region number is folded in above the
    /// region offset, as pgd_index() does. The caller guarantees `vaddr` is a user address.
    #[inline]
    pub fn lvpn(&self, vaddr: u64) -> u64 {
        if self.region_shift == 0 {
            vaddr >> self.page_shift
        } else {
            let region = vaddr >> self.region_shift;
            let off = vaddr & ((1u64 << self.va_bits) - 1);
            (region << (self.va_bits - self.page_shift)) | (off >> self.page_shift)
        }
    }

    /// The inverse of [`ArchProfile::lvpn`].
    #[inline]
    pub fn vaddr_of(&self, lvpn: u64) -> u64 {
        if self.region_shift == 0 {
            lvpn << self.page_shift
        } else {
            let per = self.va_bits - self.page_shift;
            ((lvpn >> per) << self.region_shift) | ((lvpn & ((1u64 << per) - 1)) << self.page_shift)
        }
    }

    /// Bytes of one `unsigned long`.
    pub fn bytes_per_long(&self) -> u32 {
        self.bits_per_long / 8
    }

    /// The same architecture built with another CONFIG_NODES_SHIFT (e.g. x86_64 MAXSMP: 10).
    pub fn with_nodes_shift(&self, nodes_shift: u32) -> Result<ArchProfile> {
        if nodes_shift > MAX_NODES_SHIFT {
            return Err(Error::value(format!(
                "nodes_shift {nodes_shift} is too large for {}: at most {MAX_NODES_SHIFT} \
                 (MAX_NUMNODES {})",
                self.name,
                1u32 << MAX_NODES_SHIFT
            )));
        }
        // The name stays the arch's: a profile is identified by all its fields, not its name.
        let mut p = self.clone();
        p.nodes_shift = nodes_shift;
        Ok(p)
    }

    /// Looks a built-in profile up by name.
    pub fn builtin(name: &str) -> Result<ArchProfile> {
        builtin_profiles().into_iter().find(|p| p.name == name).ok_or_else(|| {
            let names: Vec<String> = builtin_profiles().into_iter().map(|p| p.name).collect();
            Error::value(format!("unknown arch {name:?}; expected one of {}", names.join(", ")))
        })
    }
}

/// i386 numbers: mbind/get/set_mempolicy 274/275/276 (include/asm-i386/unistd.h, 2.6.18);
/// migrate_pages 294 (V5-5, appended after inotify_rm_watch 293); move_pages 317 (2.6.18);
/// madvise 219 (__NR_madvise in 2.6.18, `219 i386 madvise` in 6.1's syscall_32.tbl).
const I386_SYSCALLS: SyscallNumbers = SyscallNumbers {
    mbind: 274,
    get_mempolicy: 275,
    set_mempolicy: 276,
    migrate_pages: 294,
    move_pages: 317,
    madvise: 219,
};

/// x86_64: mbind/set/get_mempolicy 237/238/239 (syscall_64.tbl, order set before get);
/// migrate_pages 256 (V5-5: after inotify_rm_watch 255); move_pages 279 (2.6.18); madvise 28
/// (__NR_madvise in 2.6.18's asm-x86_64/unistd.h, `28 common madvise` in 6.1's syscall_64.tbl).
const X86_64_SYSCALLS: SyscallNumbers = SyscallNumbers {
    mbind: 237,
    get_mempolicy: 239,
    set_mempolicy: 238,
    migrate_pages: 256,
    move_pages: 279,
    madvise: 28,
};

/// ia64: mbind/get/set_mempolicy 1259/1260/1261 (include/asm-ia64/unistd.h);
/// migrate_pages 1280 (V5-5: after inotify_rm_watch 1279); move_pages 1276 (2.6.18); madvise
/// 1209 (__NR_madvise in 2.6.18; 185 + 1024 in 6.1's arch/ia64/kernel/syscalls/syscall.tbl).
const IA64_SYSCALLS: SyscallNumbers = SyscallNumbers {
    mbind: 1259,
    get_mempolicy: 1260,
    set_mempolicy: 1261,
    migrate_pages: 1280,
    move_pages: 1276,
    madvise: 1209,
};

/// ia64 with a given PAGE_SHIFT: 3-level page tables (Kconfig "Page Table Levels" default 3), each
/// level one page of 8-byte entries, so PAGE_SHIFT-3 bits per level (include/asm-ia64/pgtable.h).
/// TASK_SIZE 0xa000000000000000 (per-task default, include/asm-ia64/processor.h); the top bits are
/// the region number, which the simulator folds into the pgd index as pgd_offset() does.
fn ia64(name: &str, page_shift: u32) -> ArchProfile {
    let w = page_shift - 3;
    ArchProfile {
        name: name.to_string(),
        bits_per_long: 64,
        page_shift,
        // NODES_SHIFT 10 (1024 nodes): the SGI SN2 maximum and the 2.6.18 Kconfig default
        // (spec §7; the 2.6.16 GENERIC default was 8, pass with_nodes_shift(8) for it).
        nodes_shift: 10,
        task_size: 0xa000_0000_0000_0000,
        pt_level_shifts: vec![page_shift + 2 * w, page_shift + w, page_shift],
        // HPAGE_SHIFT_DEFAULT 28: 256 MiB huge pages (arch/ia64/mm/hugetlbpage.c).
        hpage_shift: 28,
        // PTRS_PER_PGD = 1 << (PAGE_SHIFT-3), of which 3 index bits are the region: each region
        // maps 1 << (PGDIR_SHIFT + PAGE_SHIFT - 6) bytes (2^44 with 16 KiB pages).
        va_bits: page_shift + 2 * w + w - 3,
        region_shift: 61,
        // __swp_offset(entry) = ((entry).val << 1) >> 9: bits 8..62 (include/asm-ia64/pgtable.h).
        swp_offset_bits: 55,
        syscalls: IA64_SYSCALLS,
    }
}

/// The built-in profiles, in display order.
pub fn builtin_profiles() -> Vec<ArchProfile> {
    vec![
        ArchProfile {
            name: "i386".into(),
            bits_per_long: 32,
            page_shift: 12,
            // X86_NUMAQ numnodes.h NODES_SHIFT 4 (spec §7, GOTO-06).
            nodes_shift: 4,
            // PAGE_OFFSET default 0xC0000000 (3G/1G split).
            task_size: 0xC000_0000,
            // 2-level: PGDIR_SHIFT 22 (pgtable-2level-defs.h).
            pt_level_shifts: vec![22, 12],
            // 4 MiB huge pages without PAE (HPAGE_SHIFT 22).
            hpage_shift: 22,
            va_bits: 32,
            region_shift: 0,
            // __swp_entry(type, offset) = (type << 1) | (offset << 8) in the 32-bit pte_low
            // (include/asm-i386/pgtable-2level.h): 24 bits, 64 GiB of swap per device.
            swp_offset_bits: 24,
            syscalls: I386_SYSCALLS,
        },
        ArchProfile {
            name: "i386-pae".into(),
            bits_per_long: 32,
            page_shift: 12,
            nodes_shift: 4,
            task_size: 0xC000_0000,
            // 3-level PAE: PGDIR_SHIFT 30, PMD_SHIFT 21 (pgtable-3level-defs.h).
            pt_level_shifts: vec![30, 21, 12],
            // 2 MiB huge pages with PAE (HPAGE_SHIFT 21).
            hpage_shift: 21,
            va_bits: 32,
            region_shift: 0,
            // pte_high holds the whole swp_entry_t, type in bits 0..4 and offset << 5
            // (include/asm-i386/pgtable-3level.h): the 27 bits the generic 32-bit swp_entry_t
            // leaves next to MAX_SWAPFILES_SHIFT 5 (include/linux/swapops.h).
            swp_offset_bits: 27,
            syscalls: I386_SYSCALLS,
        },
        ArchProfile {
            name: "x86_64".into(),
            bits_per_long: 64,
            page_shift: 12,
            // NODES_SHIFT 6 (64 nodes), 2.6.18 Kconfig; 2.6.16 header UNCONFIRMED (spec §10.3).
            nodes_shift: 6,
            // TASK_SIZE64 = 0x800000000000 - 4096 (include/asm-x86_64/processor.h).
            task_size: 0x7fff_ffff_f000,
            // 4-level: PGDIR 39, PUD 30, PMD 21 (include/asm-x86_64/pgtable.h).
            pt_level_shifts: vec![39, 30, 21, 12],
            // HPAGE_SHIFT = PMD_SHIFT 21: 2 MiB.
            hpage_shift: 21,
            // 4-level paging resolves 48 bits; user space is the lower half.
            va_bits: 48,
            region_shift: 0,
            // __swp_entry(type, offset) = (type << 1) | (offset << 8) (include/asm-x86_64/
            // pgtable.h): 56 bits; modern kernels keep 50 (SWP_OFFSET_SHIFT 14, pgtable_64.h).
            // Both are far above the 32-bit swap header, which is what limits a device.
            swp_offset_bits: 56,
            syscalls: X86_64_SYSCALLS,
        },
        // ia64: default IA64_PAGE_SIZE_16KB (arch/ia64/Kconfig), plus the other Kconfig choices.
        ia64("ia64", 14),
        ia64("ia64-4k", 12),
        ia64("ia64-8k", 13),
        ia64("ia64-64k", 16),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_values() {
        let x = ArchProfile::builtin("x86_64").unwrap();
        assert_eq!((x.page_size(), x.max_numnodes(), x.pt_levels()), (4096, 64, 4));
        assert_eq!(x.syscalls.migrate_pages, 256);
        let i = ArchProfile::builtin("i386").unwrap();
        assert_eq!((i.bits_per_long, i.max_numnodes(), i.syscalls.move_pages), (32, 16, 317));
        let ia = ArchProfile::builtin("ia64").unwrap();
        assert_eq!((ia.page_size(), ia.max_numnodes()), (16384, 1024));
        assert_eq!(ia.pt_level_shifts, vec![36, 25, 14]);
        assert_eq!(ia.syscalls.name_of(1280), Some("migrate_pages"));
        assert_eq!((x.syscalls.madvise, i.syscalls.madvise), (28, 219));
        assert_eq!(ia.syscalls.name_of(1209), Some("madvise"));
    }

    #[test]
    fn linear_page_numbers() {
        let x = ArchProfile::builtin("x86_64").unwrap();
        assert_eq!(x.pt_index_bits(), vec![9, 9, 9, 9]);
        assert_eq!(x.lvpn(0x7fff_ffff_e000), 0x7_ffff_fffe);
        let i = ArchProfile::builtin("i386").unwrap();
        assert_eq!(i.pt_index_bits(), vec![10, 10]);
        let p = ArchProfile::builtin("i386-pae").unwrap();
        assert_eq!(p.pt_index_bits(), vec![2, 9, 9]);
        let ia = ArchProfile::builtin("ia64").unwrap();
        assert_eq!(ia.pt_index_bits(), vec![11, 11, 11]);
        assert_eq!(ia.user_ranges().len(), 5);
        assert_eq!(ia.user_ranges()[4], (0x8000_0000_0000_0000, 0x8000_1000_0000_0000));
        for &a in &[0x2000_0000_0000_4000u64, 0x8000_0fff_ffff_c000, 0x4000] {
            assert_eq!(ia.vaddr_of(ia.lvpn(a)), a);
            assert!(ia.lvpn(a) < 1 << ia.lvpn_bits());
        }
        assert!(!ia.range_is_user(0x2000_1000_0000_0000, 0x4000));
        for name in ["ia64-4k", "ia64-8k", "ia64-64k"] {
            let a = ArchProfile::builtin(name).unwrap();
            assert_eq!(a.pt_index_bits().iter().sum::<u32>(), a.lvpn_bits());
            assert_eq!(a.pt_index_bits()[0], a.page_shift - 3);
        }
    }

    #[test]
    fn custom_nodes_shift() {
        let x = ArchProfile::builtin("x86_64").unwrap().with_nodes_shift(10).unwrap();
        assert_eq!(x.max_numnodes(), 1024);
        assert_eq!(x.name, "x86_64");
        assert_ne!(x, ArchProfile::builtin("x86_64").unwrap());
        assert_eq!(x.with_nodes_shift(6).unwrap(), ArchProfile::builtin("x86_64").unwrap());
        assert!(x.with_nodes_shift(13).is_err());
        assert!(ArchProfile::builtin("sparc").unwrap_err().detail.contains("x86_64"));
    }
}
