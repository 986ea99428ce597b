//! Address spaces: VMAs and the system calls that shape them (mmap, munmap, mprotect, mlock,
//! brk), mirroring mm/mmap.c, mm/mprotect.c and mm/mlock.c of 2.6.16.

use super::{FileId, Machine, Mm, MmId, Pid};
use crate::error::{errno, Error, Result};
use crate::mempolicy::Mempolicy;
use crate::pagetable::{pte, PageTable};
use crate::semantics::Semantics;
use crate::usermask::CallerAbi;
use serde::{Deserialize, Serialize};

/// vm_flags (include/linux/mm.h; the values of 2.6.14-2.6.16 where the flag existed then).
pub struct VmFlags;
impl VmFlags {
    pub const READ: u32 = 0x1;
    pub const WRITE: u32 = 0x2;
    pub const EXEC: u32 = 0x4;
    pub const SHARED: u32 = 0x8;
    pub const GROWSDOWN: u32 = 0x100;
    pub const SHM: u32 = 0x400;
    pub const DENYWRITE: u32 = 0x800;
    pub const LOCKED: u32 = 0x2000;
    pub const IO: u32 = 0x4000;
    /// MADV_SEQUENTIAL: "App will access data sequentially". Recorded only: the simulator has
    /// no file readahead on faults for it to steer.
    pub const SEQ_READ: u32 = 0x8000;
    /// MADV_RANDOM: "App will not benefit from clustered reads". Recorded only, as SEQ_READ.
    pub const RAND_READ: u32 = 0x0001_0000;
    /// MADV_DONTFORK: "Do not copy this vma on fork" (dup_mmap() skips it).
    pub const DONTCOPY: u32 = 0x0002_0000;
    pub const RESERVED: u32 = 0x80000;
    pub const HUGETLB: u32 = 0x0040_0000;
    /// VM_PFNMAP appeared in 2.6.15; its bit here is the simulator's own.
    pub const PFNMAP: u32 = 0x0400_0000;
    /// MADV_HUGEPAGE (6.x, include/linux/mm.h): khugepaged and the THP fault path may use huge
    /// pages here. Recorded only: transparent huge pages are not modelled.
    pub const HUGEPAGE: u32 = 0x2000_0000;
    /// MADV_NOHUGEPAGE (6.x): never transparent huge pages here. Recorded only.
    pub const NOHUGEPAGE: u32 = 0x4000_0000;

    pub const NAMES: [(u32, &'static str); 17] = [
        (Self::READ, "read"),
        (Self::WRITE, "write"),
        (Self::EXEC, "exec"),
        (Self::SHARED, "shared"),
        (Self::GROWSDOWN, "growsdown"),
        (Self::SHM, "shm"),
        (Self::DENYWRITE, "denywrite"),
        (Self::LOCKED, "locked"),
        (Self::IO, "io"),
        (Self::SEQ_READ, "seq_read"),
        (Self::RAND_READ, "rand_read"),
        (Self::DONTCOPY, "dontcopy"),
        (Self::RESERVED, "reserved"),
        (Self::HUGETLB, "hugetlb"),
        (Self::PFNMAP, "pfnmap"),
        (Self::HUGEPAGE, "hugepage"),
        (Self::NOHUGEPAGE, "nohugepage"),
    ];
}

/// PROT_* bits (asm-generic/mman.h).
pub mod prot {
    pub const NONE: u32 = 0;
    pub const READ: u32 = 1;
    pub const WRITE: u32 = 2;
    pub const EXEC: u32 = 4;

    /// "rw", "r", "rwx", "none", "" -> PROT_* bits.
    pub fn parse(s: &str) -> crate::error::Result<u32> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") || s == "---" {
            return Ok(NONE);
        }
        let mut p = 0;
        for c in s.chars() {
            p |= match c {
                'r' => READ,
                'w' => WRITE,
                'x' => EXEC,
                '-' => 0,
                _ => {
                    return Err(crate::error::Error::value(format!(
                    "unknown protection {c:?} in {s:?}: expected letters from \"rwx\" or \"none\""
                )))
                }
            };
        }
        Ok(p)
    }
}

/// mmap flags: MAP_* plus the simulator's special mappings.
pub mod mapf {
    pub const SHARED: u32 = 1 << 0;
    pub const PRIVATE: u32 = 1 << 1;
    pub const ANONYMOUS: u32 = 1 << 2;
    pub const FIXED: u32 = 1 << 3;
    pub const LOCKED: u32 = 1 << 4;
    pub const POPULATE: u32 = 1 << 5;
    /// An I/O mapping (remap_pfn_range by a driver): VM_IO | VM_PFNMAP | VM_RESERVED.
    pub const IO: u32 = 1 << 6;
    /// MAP_HUGETLB / hugetlbfs: VM_HUGETLB, pages of the arch's huge page size.
    pub const HUGETLB: u32 = 1 << 7;
    /// An executable image mapped deny-write (MAP_DENYWRITE, VM_DENYWRITE).
    pub const DENYWRITE: u32 = 1 << 8;
    /// A SysV shared memory attach (shmat): VM_SHM, shared.
    pub const SHM: u32 = 1 << 9;

    const NAMES: [(&str, u32); 11] = [
        ("shared", SHARED),
        ("private", PRIVATE),
        ("anonymous", ANONYMOUS),
        ("anon", ANONYMOUS),
        ("fixed", FIXED),
        ("locked", LOCKED),
        ("populate", POPULATE),
        ("io", IO),
        ("hugetlb", HUGETLB),
        ("denywrite", DENYWRITE),
        ("shm", SHM),
    ];

    /// "private|anonymous" -> bits; unknown words are an error naming them.
    pub fn parse(s: &str) -> crate::error::Result<u32> {
        let mut f = 0;
        for w in s.split(['|', ',', ' ']).filter(|w| !w.is_empty()) {
            let w = w.trim().to_ascii_lowercase();
            let w = w.strip_prefix("map_").unwrap_or(&w);
            match NAMES.iter().find(|(n, _)| *n == w) {
                Some(&(_, b)) => f |= b,
                None => {
                    return Err(crate::error::Error::value(format!(
                        "unknown mmap flag {w:?}; expected some of: shared, private, anonymous, \
                         fixed, locked, populate, io, hugetlb, denywrite, shm"
                    )))
                }
            }
        }
        Ok(f)
    }
}

/// What kind of area a VMA is, for /proc/PID/numa_maps and maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VmaKind {
    Plain,
    Heap,
    Stack,
}

/// A vm_area_struct.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub flags: u32,
    pub file: Option<FileId>,
    /// vm_pgoff: offset in the file, in pages.
    pub pgoff: u64,
    /// The VMA's memory policy (mbind); None falls back to the task policy.
    pub policy: Option<Mempolicy>,
    pub kind: VmaKind,
}

impl Vma {
    pub fn is_anon(&self) -> bool {
        self.file.is_none()
    }
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
    pub fn pages(&self, page_shift: u32) -> u64 {
        (self.end - self.start) >> page_shift
    }
    /// The file page index of `addr` (linear_page_index()).
    pub fn file_index(&self, addr: u64, page_shift: u32) -> u64 {
        self.pgoff + ((addr - self.start) >> page_shift)
    }
}

/// IA32_PAGE_OFFSET: TASK_SIZE of a 32-bit program on x86_64 (include/asm-x86_64/ia32.h,
/// 2.6.16; without the ADDR_LIMIT_3GB personality, which is not modelled).
pub const IA32_PAGE_OFFSET: u64 = 0xffff_e000;

/// Initial stack size set up at exec (roughly setup_arg_pages' argument area plus headroom).
pub const STACK_INIT: u64 = 128 * 1024;

/// Base of fake device pfns for I/O mappings (no struct page behind them).
pub const DEVICE_PFN_BASE: u64 = 1 << 40;

/// DEFAULT_MAX_MAP_COUNT, the boot value of sysctl vm.max_map_count: 65536 in 2.6
/// (include/linux/sched.h, 2.6.16), USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN = 65530 in later kernels
/// (include/linux/mm.h), which keep the section count of an ELF core dump below 65535.
pub fn default_max_map_count(sem: Semantics) -> u32 {
    match sem {
        Semantics::Modern => 65530,
        Semantics::V5 | Semantics::Linux2616 => 65536,
    }
}

/// The arch's `unsigned long`: BITS_PER_LONG wide and wrapping, as the kernel's own arithmetic
/// on syscall arguments is. A u64 argument wider than it is one no caller of that arch could pass.
#[derive(Clone, Copy)]
struct ULong {
    max: u64,
    page: u64,
}

impl ULong {
    fn fits(self, x: u64) -> bool {
        x <= self.max
    }
    /// a + b in unsigned long (both operands fit).
    fn add(self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b) & self.max
    }
    /// PAGE_ALIGN(x): up to a page boundary, wrapping to 0 within a page of ULONG_MAX.
    fn page_align(self, x: u64) -> u64 {
        self.add(x, self.page - 1) & !(self.page - 1)
    }
}

/// The arguments of one mmap(2) call, for the steps of [`Machine::mmap`].
#[derive(Clone, Copy)]
struct MmapCall {
    pid: Pid,
    addr: Option<u64>,
    length: u64,
    prot_bits: u32,
    flags: u32,
    file: Option<FileId>,
    offset: u64,
}

/// calc_vm_prot_bits() | calc_vm_flag_bits() (include/linux/mman.h), with the VM_ flags
/// do_mmap_pgoff() adds for a shared mapping and the simulator's own mapping kinds.
fn calc_vm_flags(prot_bits: u32, flags: u32, shared: bool) -> u32 {
    let mut vflags = 0;
    if prot_bits & prot::READ != 0 {
        vflags |= VmFlags::READ;
    }
    if prot_bits & prot::WRITE != 0 {
        vflags |= VmFlags::WRITE;
    }
    if prot_bits & prot::EXEC != 0 {
        vflags |= VmFlags::EXEC;
    }
    if shared {
        vflags |= VmFlags::SHARED;
    }
    if flags & mapf::LOCKED != 0 {
        vflags |= VmFlags::LOCKED;
    }
    if flags & mapf::IO != 0 {
        vflags |= VmFlags::IO | VmFlags::PFNMAP | VmFlags::RESERVED;
    }
    if flags & mapf::HUGETLB != 0 {
        vflags |= VmFlags::HUGETLB;
    }
    if flags & mapf::DENYWRITE != 0 {
        vflags |= VmFlags::DENYWRITE;
    }
    if flags & mapf::SHM != 0 {
        vflags |= VmFlags::SHM;
    }
    vflags
}

impl Machine {
    pub(crate) fn new_mm(&mut self, abi: CallerAbi) -> Result<MmId> {
        let slot = if let Some(i) = self.mms.iter().position(Option::is_none) {
            i
        } else {
            self.mms.push(None);
            self.mms.len() - 1
        };
        // Live mms are far fewer than pids (below pid_max, a u32); refused rather than wrapped.
        let id = MmId::try_from(slot)
            .map_err(|_| Error::os(errno::ENOMEM, "too many address spaces for the simulator"))?;
        let family = self.new_family(id)?;
        let (task_size, top_down) = self.task_size_of(abi);
        let (start_brk, mmap_base, stack_top) = self.layout(task_size, top_down);
        self.mms[id as usize] = Some(Mm {
            id,
            users: 1,
            vmas: super::vma_tree::VmaTree::default(),
            pt: PageTable::new(&self.arch.pt_index_bits()),
            family,
            anon_digest: 0,
            rss_anon: 0,
            rss_file: 0,
            swap_ents: 0,
            start_brk,
            brk: start_brk,
            start_stack: stack_top,
            mmap_base,
            task_size,
            top_down,
            cpus_ran: Vec::new(),
        });
        Ok(id)
    }

    /// TASK_SIZE and the mmap direction of a program of `abi`: the arch's, or for a 32-bit
    /// program on x86_64 IA32_PAGE_OFFSET = 0xffffe000 (2.6.16 include/asm-x86_64/
    /// processor.h; 6.x task_size_32bit()) with the top-down layout of
    /// ia32_pick_mmap_layout() (2.6.16) / mmap_compat_base (6.x), as i386 has.
    fn task_size_of(&self, abi: CallerAbi) -> (u64, bool) {
        match abi {
            CallerAbi::Compat32 => (IA32_PAGE_OFFSET, true),
            CallerAbi::Native => (self.arch.task_size, self.arch.bits_per_long == 32),
        }
    }

    pub(crate) fn new_family(&mut self, mm: MmId) -> Result<u32> {
        let slot = if let Some(i) = self.families.iter().position(|f| f.mms.is_empty()) {
            i
        } else {
            self.families.push(super::Family::default());
            self.families.len() - 1
        };
        let Some(fid) = u32::try_from(slot).ok().filter(|&f| f <= crate::phys::mapping::MAX_ID)
        else {
            return Err(Error::os(errno::ENOMEM, "too many address spaces for the simulator"));
        };
        self.families[slot].mms.push(mm);
        Ok(fid)
    }

    /// (start_brk, mmap_base, stack top) as Linux 2.6.16 lays a process out on each arch:
    /// x86_64 legacy bottom-up mmap from TASK_UNMAPPED_BASE = TASK_SIZE/3; i386 (and a 32-bit
    /// program on x86_64) top-down from TASK_SIZE - 128 MiB (mmap_base() with the minimum gap);
    /// ia64 mmap in region 1, data and heap at the bottom of region 3, the stack at its top
    /// (STACK_TOP), hugetlb in region 4.
    fn layout(&self, task_size: u64, top_down: bool) -> (u64, u64, u64) {
        let a = &self.arch;
        let ps = a.page_size();
        if a.region_shift != 0 {
            let r3 = 3u64 << a.region_shift;
            // STACK_TOP = region 3 + RGN_MAP_LIMIT, which is the region's mapped span less a
            // guard page (asm-ia64/ustack.h, page.h).
            return (r3 + ps, 1u64 << a.region_shift, r3 + (1u64 << a.va_bits) - ps);
        }
        if top_down {
            (0x0804_c000, task_size - (128 << 20), task_size)
        } else {
            let base = (task_size / 3).div_ceil(ps) * ps;
            (0x0060_0000, base, task_size)
        }
    }

    pub(crate) fn setup_stack(&mut self, mm: MmId) {
        let top = self.mm(mm).start_stack;
        let size = STACK_INIT.div_ceil(self.arch.page_size()) * self.arch.page_size();
        let vma = Vma {
            start: top - size,
            end: top,
            flags: VmFlags::READ | VmFlags::WRITE | VmFlags::GROWSDOWN,
            file: None,
            pgoff: (top - size) >> self.arch.page_shift,
            policy: None,
            kind: VmaKind::Stack,
        };
        self.mm_mut(mm).vmas.insert(vma);
    }

    /// The VMA containing `addr` (find_vma + vm_start check).
    pub fn vma_at(&self, mm: MmId, addr: u64) -> Option<&Vma> {
        let m = self.mm(mm);
        m.vmas.range(..=addr).next_back().map(|(_, v)| v).filter(|v| addr < v.end)
    }

    /// VMAs overlapping [start, end), in order.
    pub fn vmas_in(&self, mm: MmId, start: u64, end: u64) -> Vec<Vma> {
        let m = self.mm(mm);
        let first = m.vmas.range(..=start).next_back().map_or(start, |(&s, _)| s);
        m.vmas.range(first..end).map(|(_, v)| v).filter(|v| v.end > start).cloned().collect()
    }

    pub(crate) fn check_range(&self, addr: u64, len: u64, what: &str) -> Result<(u64, u64)> {
        let ps = self.arch.page_size();
        if addr % ps != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!("{what}: address {addr:#x} is not a multiple of the page size {ps}"),
            ));
        }
        if len == 0 {
            return Err(Error::os(errno::EINVAL, format!("{what}: length is 0")));
        }
        let len = len
            .checked_next_multiple_of(ps)
            .ok_or_else(|| Error::os(errno::EINVAL, format!("{what}: length {len} overflows")))?;
        if !self.arch.range_is_user(addr, len) {
            return Err(Error::os(
                errno::ENOMEM,
                format!(
                    "{what}: [{addr:#x}, +{len:#x}) is not inside user space (TASK_SIZE {:#x})",
                    self.arch.task_size
                ),
            ));
        }
        Ok((addr, addr + len))
    }

    /// The arch's unsigned long arithmetic.
    fn ulong(&self) -> ULong {
        let max = if self.arch.bits_per_long == 32 { u64::from(u32::MAX) } else { u64::MAX };
        ULong { max, page: self.arch.page_size() }
    }

    /// ia64's mapping limits (2.6 do_mmap2(), 6.x ia64_mmap_check(), arch/ia64/kernel/sys_ia64.c):
    /// "Don't permit mappings into unmapped space, the virtual page table of a region, or across
    /// a region boundary": EINVAL if len > RGN_MAP_LIMIT or REGION_OFFSET(addr) >
    /// RGN_MAP_LIMIT - len, with RGN_MAP_LIMIT the region's mapped span less a page.
    fn ia64_mmap_check(&self, addr: u64, len: u64) -> Result<()> {
        let a = &self.arch;
        if a.region_shift == 0 {
            return Ok(());
        }
        let rgn_map_limit = (1u64 << a.va_bits) - a.page_size();
        let roff = addr & ((1u64 << a.region_shift) - 1);
        if len > rgn_map_limit || roff > rgn_map_limit - len {
            return Err(Error::os(
                errno::EINVAL,
                format!(
                    "mmap: [{addr:#x}, +{len:#x}) leaves the mapped part of its region \
                     (RGN_MAP_LIMIT {rgn_map_limit:#x})"
                ),
            ));
        }
        Ok(())
    }

    /// Errors with ENOMEM unless every page of [start, end) is covered by a VMA.
    fn require_mapped(&self, mm: MmId, start: u64, end: u64, what: &str) -> Result<()> {
        let mut cur = start;
        for v in self.vmas_in(mm, start, end) {
            if v.start > cur {
                break;
            }
            cur = v.end;
            if cur >= end {
                return Ok(());
            }
        }
        Err(Error::os(errno::ENOMEM, format!("{what}: address {cur:#x} is not mapped")))
    }

    fn map_count_error(&self, mm: MmId, what: &str) -> Error {
        Error::os(
            errno::ENOMEM,
            format!(
                "{what}: the address space has {} VMAs, the most vm.max_map_count = {} allows",
                self.mm(mm).vmas.map_count(),
                self.max_map_count
            ),
        )
    }

    /// The map-count check of unmapping [start, end), before anything changes. 6.x
    /// (do_vmi_align_munmap()) refuses only to punch a hole into one VMA at the limit: "end <
    /// vma->vm_end && mm->map_count >= sysctl_max_map_count" (a split at each end of a wider
    /// range may take map_count one over for the moment). 2.6.16 (do_munmap()) calls split_vma()
    /// at each end, and each fails once map_count >= sysctl_max_map_count; when the second one
    /// fails the kernel keeps the first split (two VMAs of equal flags where there was one), the
    /// simulator refuses up front instead.
    fn munmap_limit(&self, mm: MmId, start: u64, end: u64, what: &str) -> Result<()> {
        let m = self.mm(mm);
        let max = u64::from(self.max_map_count);
        let count = m.vmas.map_count() as u64;
        let cut_at = |a: u64| {
            m.vmas.range(..a).next_back().map(|(_, v)| v).filter(|v| v.start < a && a < v.end)
        };
        let head = cut_at(start);
        let tail_cut = cut_at(end).is_some();
        let refused = match self.semantics {
            Semantics::Modern => head.is_some_and(|v| end < v.end) && count >= max,
            Semantics::V5 | Semantics::Linux2616 => {
                let after_head = count + u64::from(head.is_some());
                (head.is_some() && count >= max) || (tail_cut && after_head >= max)
            }
        };
        if refused {
            return Err(self.map_count_error(mm, what));
        }
        if let Some(v) = head {
            self.hugetlb_split_check(v, start, what)?;
        }
        if let Some(v) = cut_at(end) {
            self.hugetlb_split_check(v, end, what)?;
        }
        Ok(())
    }

    /// __split_vma()'s check for hugetlb areas, in every generation (2.6.16 split_vma(): "if
    /// (is_vm_hugetlb_page(vma) && (addr & ~HPAGE_MASK)) return -EINVAL"; 6.x
    /// hugetlb_vm_op_split(), the vm_ops->may_split of hugetlb areas): a hugetlb area is cut
    /// only at a huge page boundary. The callers ask before anything changes (the kernel asks
    /// at each split, after the map-count check of that split).
    pub(crate) fn hugetlb_split_check(&self, v: &Vma, at: u64, what: &str) -> Result<()> {
        let hs = self.hugetlb_nr() << self.arch.page_shift;
        if v.has(VmFlags::HUGETLB) && v.start < at && at < v.end && at % hs != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!(
                    "{what}: {at:#x} would cut the hugetlb area [{:#x}, {:#x}) inside a huge \
                     page ({} KiB pages)",
                    v.start,
                    v.end,
                    hs >> 10
                ),
            ));
        }
        Ok(())
    }

    /// The map-count check of mprotect, mlock and madvise over [start, end), before anything
    /// changes. mprotect_fixup() / mlock_fixup() / madvise_behavior() (2.6.16 and 6.x, where
    /// the last is madvise_update_vma()) leave a VMA whose flags would not change alone, try
    /// vma_merge() next (the piece joins the neighbour across the VMA's boundary: no new VMA),
    /// and only then split_vma() at each end of the range that cuts a VMA, each split failing
    /// with ENOMEM once map_count >= sysctl_max_map_count. The kernel keeps the changes it made
    /// before a failing split; the simulator refuses up front.
    pub(crate) fn fixup_limit(
        &self,
        mm: MmId,
        start: u64,
        end: u64,
        what: &str,
        new_flags: impl Fn(u32) -> u32,
    ) -> Result<()> {
        let shift = self.arch.page_shift;
        let m = self.mm(mm);
        let max = u64::from(self.max_map_count);
        let mut count = m.vmas.map_count() as u64;
        let vmas = self.vmas_in(mm, start, end);
        let (Some(first), Some(last)) = (vmas.first(), vmas.last()) else { return Ok(()) };
        let split = |count: &mut u64, v: &Vma, at: u64| {
            if *count >= max {
                return Err(self.map_count_error(mm, what));
            }
            self.hugetlb_split_check(v, at, what)?;
            *count += 1;
            Ok(())
        };
        if start > first.start && new_flags(first.flags) != first.flags {
            let piece = Vma {
                start,
                end: end.min(first.end),
                flags: new_flags(first.flags),
                pgoff: first.pgoff + ((start - first.start) >> shift),
                ..first.clone()
            };
            // vma_merge() case 4: the tail of `first` joins the next VMA.
            let next = m.vmas.get(&first.end);
            if !(piece.end == first.end && next.is_some_and(|n| compatible(&piece, n, shift))) {
                split(&mut count, first, start)?;
            }
        }
        if end < last.end && new_flags(last.flags) != last.flags {
            if start > last.start {
                // One VMA cut at both ends: split_vma() twice, no merge possible.
                split(&mut count, last, end)?;
            } else {
                let piece = Vma { end, flags: new_flags(last.flags), ..last.clone() };
                // vma_merge() case 5: the head of `last` joins the previous VMA, whose flags have
                // changed already if it lies in the range.
                let prev = m.vmas.range(..last.start).next_back().map(|(_, v)| {
                    let mut p = v.clone();
                    if p.end > start {
                        p.flags = new_flags(p.flags);
                    }
                    p
                });
                if !prev.is_some_and(|p| compatible(&p, &piece, shift)) {
                    split(&mut count, last, end)?;
                }
            }
        }
        Ok(())
    }

    /// get_unmapped_area for a length, honouring a hint.
    fn unmapped_area(
        &self,
        mm: MmId,
        hint: Option<u64>,
        len: u64,
        align: u64,
        huge: bool,
    ) -> Result<u64> {
        let m = self.mm(mm);
        let ts = m.task_size;
        // arch_get_unmapped_area(): "if (addr)": a hint of 0 is no hint. A hint that does not fit
        // (or rounds past the end of the address space) is not used; the kernel's PAGE_ALIGN
        // would wrap such a hint to 0, which is no hint either.
        // ia64: a hint in the other kind of region (region 4 is hugetlb's) is not used either
        // (arch_get_unmapped_area(): "if (REGION_NUMBER(addr) == RGN_HPAGE) addr = 0;").
        let usable = |h: u64| {
            h != 0
                && self.ulong().fits(h)
                && (self.arch.region_shift == 0 || (h >> self.arch.region_shift == 4) == huge)
        };
        if let Some(h) = hint.filter(|&h| usable(h)) {
            if let Some(h) = h.checked_next_multiple_of(align) {
                let below = h.checked_add(len).is_some_and(|e| e <= ts);
                if below && self.arch.range_is_user(h, len) && m.vmas.is_free(h, len) {
                    return Ok(h);
                }
            }
        }
        // The range to search: ia64 keeps hugetlb in region 4 and the rest in the mmap region.
        let (lo, hi) = if self.arch.region_shift != 0 {
            let r = if huge { 4u64 } else { m.mmap_base >> self.arch.region_shift };
            let base = r << self.arch.region_shift;
            (base.max(if huge { base } else { m.mmap_base }), base + (1u64 << self.arch.va_bits))
        } else {
            (self.arch.page_size(), ts)
        };
        // arch_get_unmapped_area(): first fit bottom-up from mm->mmap_base (TASK_UNMAPPED_BASE),
        // unmapped_area() over the gap index. The top-down allocator's bottom-up searches (its
        // fallback, and hugetlb) start from TASK_UNMAPPED_BASE = TASK_SIZE / 3.
        let base =
            if m.top_down { (ts / 3).next_multiple_of(self.arch.page_size()) } else { m.mmap_base };
        let bottom_up = || m.vmas.first_fit(base.max(lo), len, hi, align);
        let found = if m.top_down && !huge {
            // arch_get_unmapped_area_topdown(): the highest gap below mmap_base
            // (unmapped_area_topdown() over the gap index), falling back to bottom-up as the
            // kernel does.
            m.vmas.last_fit(lo, len, m.mmap_base.min(hi), align).or_else(bottom_up)
        } else {
            bottom_up()
        };
        let Some(addr) = found else {
            return Err(Error::os(
                errno::ENOMEM,
                format!("mmap: no free range of {len:#x} bytes left in the address space"),
            ));
        };
        // The index answers in O(log n); the tree confirms in O(log n) that the range is free.
        if !m.vmas.is_free(addr, len) || !self.arch.range_is_user(addr, len) {
            return Err(Error::invariant(
                crate::machine::check::area::VMAS,
                format!("the gap index offered [{addr:#x}, +{len:#x}), which is not free"),
            ));
        }
        Ok(addr)
    }

    /// mmap(2): returns the address of the new mapping.
    ///
    /// The checks run in the kernel's order: the offset (sys_mmap), the file (fget), ia64's
    /// do_mmap2() in 2.6, the length, offset overflow and map count (do_mmap_pgoff() in 2.6,
    /// do_mmap() in 6.x), the address (get_unmapped_area()), then the mapping type. Lengths and
    /// addresses are the arch's unsigned long: one that does not fit, or a length that rounds past
    /// ULONG_MAX or exceeds TASK_SIZE, fails as the kernel fails such a length (ENOMEM; EINVAL
    /// from ia64's region checks).
    #[allow(clippy::too_many_arguments)]
    pub fn mmap(
        &mut self,
        pid: Pid,
        addr: Option<u64>,
        length: u64,
        prot_bits: u32,
        flags: u32,
        file: Option<FileId>,
        offset: u64,
    ) -> Result<u64> {
        let mm = self.task_mm(pid)?;
        let c = MmapCall { pid, addr, length, prot_bits, flags, file, offset };
        let pgoff = self.mmap_check_args(&c)?;
        let Some(len) = self.mmap_check_len(mm, &c, pgoff)? else {
            // ia64 do_mmap2(), 2.6: "A zero mmap always succeeds in Linux, independent of
            // whether or not the remaining arguments are valid." It returns the address asked
            // for and maps nothing.
            return Ok(addr.unwrap_or(0));
        };
        let start = self.mmap_get_unmapped_area(mm, &c, len)?;
        let end = start + len;
        let (shared, file) = self.mmap_prepare_region(mm, &c, start, end)?;
        // Everything is validated: from here on the call succeeds.
        self.mmap_region(mm, &c, start, end, shared, file, pgoff)?;
        Ok(start)
    }

    /// The checks of sys_mmap() / sys_mmap2() and fget(), before any length check: the prot
    /// bits, the offset, the file. Returns the offset in pages.
    fn mmap_check_args(&self, c: &MmapCall) -> Result<u64> {
        let MmapCall { prot_bits, flags, file, offset, .. } = *c;
        let ps = self.arch.page_size();
        let ul = self.ulong();
        if prot_bits & !(prot::READ | prot::WRITE | prot::EXEC) != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!("mmap: unknown prot bits {prot_bits:#x}"),
            ));
        }
        let anon = flags & mapf::ANONYMOUS != 0;
        if anon && file.is_some() {
            return Err(Error::value("mmap: an anonymous mapping takes no file"));
        }
        // sys_mmap(): "if (off & ~PAGE_MASK) return -EINVAL"; a page offset wider than an
        // unsigned long cannot reach mmap2 (glibc's mmap64 answers EINVAL).
        if offset % ps != 0 || !ul.fits(offset >> self.arch.page_shift) {
            return Err(Error::os(
                errno::EINVAL,
                format!("mmap: offset {offset:#x} is not page aligned or too large"),
            ));
        }
        let pgoff = offset >> self.arch.page_shift;
        // fget(): the file comes first.
        let needs_file = flags & mapf::DENYWRITE != 0;
        if needs_file && file.is_none() {
            return Err(Error::os(
                errno::EBADF,
                "mmap: a deny-write (executable) mapping needs a file",
            ));
        }
        if !anon && file.is_none() && flags & (mapf::IO | mapf::HUGETLB | mapf::SHM) == 0 {
            return Err(Error::os(
                errno::EBADF,
                "mmap: a file mapping needs a file (or pass anonymous)",
            ));
        }
        if let Some(f) = file {
            if self.files.get(f as usize).is_none_or(Option::is_none) {
                return Err(Error::os(errno::EBADF, format!("mmap: no open file {f}")));
            }
        }
        Ok(pgoff)
    }

    /// The length checks: ia64's do_mmap2() (2.6), then do_mmap_pgoff() (2.6) / do_mmap()
    /// (6.x) up to get_unmapped_area(): length, offset overflow, map count. Returns the page
    /// aligned length, or None for ia64 2.6's zero-length mmap, which succeeds doing nothing.
    fn mmap_check_len(&self, mm: MmId, c: &MmapCall, pgoff: u64) -> Result<Option<u64>> {
        let MmapCall { addr, length, offset, .. } = *c;
        let ts = self.mm(mm).task_size;
        let ul = self.ulong();
        // PAGE_ALIGN(len), or 0 for a length no unsigned long holds (it wraps the same way).
        let len = if ul.fits(length) { ul.page_align(length) } else { 0 };
        let ia64 = self.arch.region_shift != 0;
        if ia64 && self.semantics != Semantics::Modern {
            // do_mmap2(), arch/ia64/kernel/sys_ia64.c, 2.6.
            if length == 0 {
                return Ok(None);
            }
            if len == 0 || len > ts {
                return Err(Error::os(
                    errno::EINVAL,
                    format!("mmap: length {length:#x} is larger than TASK_SIZE {ts:#x}"),
                ));
            }
            self.ia64_mmap_check(addr.unwrap_or(0), len)?;
        }
        if length == 0 {
            return Err(Error::os(errno::EINVAL, "mmap: length is 0"));
        }
        // do_mmap_pgoff() (2.6): "len = PAGE_ALIGN(len); if (!len || len > TASK_SIZE) return
        // -ENOMEM"; do_mmap() (6.x) tests !len here and len > TASK_SIZE in get_unmapped_area().
        if len == 0 || (self.semantics != Semantics::Modern && len > ts) {
            return Err(Error::os(
                errno::ENOMEM,
                format!("mmap: length {length:#x} is larger than the address space"),
            ));
        }
        // "offset overflow?"
        if ul.add(pgoff, len >> self.arch.page_shift) < pgoff {
            return Err(Error::os(
                errno::EOVERFLOW,
                format!("mmap: offset {offset:#x} + length {len:#x} overflows"),
            ));
        }
        // "Too many mappings?" (map_count may already be max_map_count: the test is >).
        if self.mm(mm).vmas.map_count() as u64 > u64::from(self.max_map_count) {
            return Err(self.map_count_error(mm, "mmap"));
        }
        Ok(Some(len))
    }

    /// get_unmapped_area(): the start of the new mapping, `addr` itself for MAP_FIXED (after
    /// its checks), else a free area found from the hint.
    fn mmap_get_unmapped_area(&self, mm: MmId, c: &MmapCall, len: u64) -> Result<u64> {
        let MmapCall { addr, length, flags, .. } = *c;
        let ps = self.arch.page_size();
        let ts = self.mm(mm).task_size;
        let huge = flags & mapf::HUGETLB != 0;
        let fixed = flags & mapf::FIXED != 0;
        let align = if huge { self.arch.huge_page_size() } else { ps };
        let ia64 = self.arch.region_shift != 0;
        // 6.x ia64 runs arch_mmap_check() first, then "if (len > TASK_SIZE) return -ENOMEM".
        if ia64 && self.semantics == Semantics::Modern {
            self.ia64_mmap_check(addr.unwrap_or(0), len)?;
        }
        if len > ts {
            return Err(Error::os(
                errno::ENOMEM,
                format!("mmap: length {length:#x} is larger than TASK_SIZE {ts:#x}"),
            ));
        }
        if huge && (length % align != 0 || addr.is_some_and(|a| a % align != 0)) {
            return Err(Error::os(
                errno::EINVAL,
                format!("mmap: hugetlb mappings need lengths and addresses aligned to {align:#x}"),
            ));
        }
        if !fixed {
            return self.unmapped_area(mm, addr, len, align, huge);
        }
        let a = addr.ok_or_else(|| Error::value("mmap: a fixed mapping needs addr"))?;
        // "if (addr > TASK_SIZE - len) return -ENOMEM; if (addr & ~PAGE_MASK) return -EINVAL;"
        if a > ts - len || !self.arch.range_is_user(a, len) {
            return Err(Error::os(
                errno::ENOMEM,
                format!("mmap: [{a:#x}, +{len:#x}) is not inside user space (TASK_SIZE {ts:#x})"),
            ));
        }
        if a % ps != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!("mmap: address {a:#x} is not a multiple of the page size {ps}"),
            ));
        }
        // ia64: region 4 holds hugetlb pages only (is_hugepage_only_range()), and hugetlb
        // pages live nowhere else (prepare_hugepage_range()).
        if ia64 {
            let r4 = |x: u64| x >> self.arch.region_shift == 4;
            if huge != r4(a) || huge != r4(a + len - 1) {
                return Err(Error::os(
                    errno::EINVAL,
                    format!("mmap: [{a:#x}, +{len:#x}): region 4 is for hugetlb pages only"),
                ));
            }
        }
        Ok(a)
    }

    /// do_mmap_pgoff()'s switch on the mapping type (after get_unmapped_area()), then the
    /// fallible start of mmap_region(): a fixed mapping's unmap limit, and the shmem file of
    /// shared anonymous memory and new SysV segments (shmem_zero_setup()). Returns whether the
    /// mapping is shared and its file.
    fn mmap_prepare_region(
        &mut self,
        mm: MmId,
        c: &MmapCall,
        start: u64,
        end: u64,
    ) -> Result<(bool, Option<FileId>)> {
        let MmapCall { flags, file, .. } = *c;
        let shared = flags & (mapf::SHARED | mapf::SHM) != 0;
        let private = flags & mapf::PRIVATE != 0;
        if shared == private {
            return Err(Error::os(
                errno::EINVAL,
                "mmap: flags need exactly one of shared and private",
            ));
        }
        if let Some(f) = file {
            if flags & mapf::SHM != 0 && !self.file(f).shmem {
                return Err(Error::os(
                    errno::EINVAL,
                    format!("shmat: file {f} is not a shm segment"),
                ));
            }
        }
        // mmap_region(): a fixed mapping first unmaps what is there, which can fail on the map
        // count.
        if flags & mapf::FIXED != 0 {
            self.munmap_limit(mm, start, end, "mmap")?;
        }
        // Shared anonymous memory and new SysV segments are shmem files (shmem_zero_setup).
        let file = match file {
            Some(f) => Some(f),
            None if shared && flags & mapf::IO == 0 => {
                let name = if flags & mapf::SHM != 0 { "/SYSV" } else { "/dev/zero" };
                Some(self.new_file(name, end - start, true)?)
            }
            None => None,
        };
        Ok((shared, file))
    }

    /// mmap_region() past its last check: unmap what a fixed mapping replaces, insert the VMA
    /// (remap_pfn_range() for an I/O mapping), merge, and make_pages_present() for
    /// MAP_LOCKED / MAP_POPULATE. Fails only if populating fails other than by ENOMEM.
    #[allow(clippy::too_many_arguments)]
    fn mmap_region(
        &mut self,
        mm: MmId,
        c: &MmapCall,
        start: u64,
        end: u64,
        shared: bool,
        file: Option<FileId>,
        pgoff: u64,
    ) -> Result<()> {
        let MmapCall { pid, prot_bits, flags, .. } = *c;
        if flags & mapf::FIXED != 0 {
            self.do_munmap(mm, start, end);
        }
        let vma = Vma {
            start,
            end,
            flags: calc_vm_flags(prot_bits, flags, shared),
            file,
            // do_mmap_pgoff: an anonymous private area's pgoff is its address in pages (what
            // VMA interleaving and vma_merge use).
            pgoff: if file.is_none() { start >> self.arch.page_shift } else { pgoff },
            policy: None,
            kind: VmaKind::Plain,
        };
        if let Some(f) = file {
            let fm = self.file_mut(f);
            fm.mappers.push((mm, start));
            fm.refs += 1;
        }
        self.mm_mut(mm).vmas.insert(vma);
        if flags & mapf::IO != 0 {
            // remap_pfn_range populates the whole range with special PTEs at mmap time.
            let base = DEVICE_PFN_BASE;
            let wr = if prot_bits & prot::WRITE != 0 { pte::WRITE } else { 0 };
            let (s, e) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
            self.mm_mut(mm).pt.for_each_make(s, e, |v, ptes| {
                for (i, p) in ptes.iter_mut().enumerate() {
                    *p = pte::mk(base + (v - s) + i as u64, pte::SPECIAL | wr);
                }
            });
        }
        self.try_merge(mm, start);
        if flags & (mapf::LOCKED | mapf::POPULATE) != 0 && flags & mapf::IO == 0 {
            // make_pages_present: fault every page in, for write if the mapping is writable.
            let write = prot_bits & prot::WRITE != 0;
            if let Err(e) = self.populate(pid, start, end, write) {
                // Out of memory while populating: Linux keeps the mapping; so do we.
                if e.errno() != Some(errno::ENOMEM) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Merges the VMA at `addr` with compatible neighbours (vma_merge, simplified to the cases
    /// Linux merges most often: anonymous private areas with equal flags and policy, and file
    /// areas of the same file with contiguous offsets).
    pub(crate) fn try_merge(&mut self, mm: MmId, addr: u64) {
        let ps = self.arch.page_shift;
        let m = self.mm_mut(mm);
        let Some((&s, _)) = m.vmas.range(..=addr).next_back() else { return };
        let mut s = s;
        // Merge with the previous one.
        if let Some((&ps_, prev)) = m.vmas.range(..s).next_back() {
            let cur = &m.vmas[&s];
            if compatible(prev, cur, ps) {
                let cur = m.vmas.remove(s).expect("vma");
                m.vmas.set_end(ps_, cur.end);
                s = ps_;
                if let Some(f) = cur.file {
                    self.drop_mapper(f, mm, cur.start);
                }
            }
        }
        let m = self.mm_mut(mm);
        let cur_end = m.vmas[&s].end;
        if let Some(next) = m.vmas.get(&cur_end) {
            if compatible(&m.vmas[&s], next, ps) {
                let next = m.vmas.remove(cur_end).expect("vma");
                m.vmas.set_end(s, next.end);
                if let Some(f) = next.file {
                    self.drop_mapper(f, mm, next.start);
                }
            }
        }
    }

    /// Forgets one (mm, start) mapper of a file, and the reference it held.
    pub(crate) fn drop_mapper(&mut self, f: FileId, mm: MmId, start: u64) {
        let fm = self.file_mut(f);
        if let Some(i) = fm.mappers.iter().position(|&(a, b)| a == mm && b == start) {
            fm.mappers.swap_remove(i);
            fm.refs -= 1;
        }
    }

    /// Splits the VMA containing `addr` so that one starts exactly at `addr` (__split_vma(): no
    /// map-count check here, the callers make it).
    pub(crate) fn split_at(&mut self, mm: MmId, addr: u64) {
        // vma_adjust_trans_huge(): a boundary inside a huge PMD splits it first.
        if self.vma_at(mm, addr).is_some_and(|v| v.start != addr) {
            self.thp_split_at(mm, addr);
        }
        let ps = self.arch.page_shift;
        let m = self.mm_mut(mm);
        let Some((&s, v)) = m.vmas.range(..addr).next_back() else { return };
        if v.end <= addr || s == addr {
            return;
        }
        let mut tail = v.clone();
        m.vmas.set_end(s, addr);
        tail.pgoff += (addr - s) >> ps;
        tail.start = addr;
        let file = tail.file;
        m.vmas.insert(tail);
        if let Some(f) = file {
            let fm = self.file_mut(f);
            fm.mappers.push((mm, addr));
            fm.refs += 1;
        }
    }

    /// munmap(2).
    pub fn munmap(&mut self, pid: Pid, addr: u64, len: u64) -> Result<()> {
        let mm = self.task_mm(pid)?;
        let ps = self.arch.page_size();
        let ts = self.mm(mm).task_size;
        // do_munmap() (2.6.16) / do_vmi_munmap() (6.x): "if ((start & ~PAGE_MASK) || start >
        // TASK_SIZE || len > TASK_SIZE-start) return -EINVAL; ... if (len == 0) return -EINVAL".
        // TASK_SIZE is below ULONG_MAX, so this also refuses values no unsigned long holds.
        if addr % ps != 0 || addr > ts || len > ts - addr {
            return Err(Error::os(
                errno::EINVAL,
                format!(
                    "munmap: [{addr:#x}, +{len:#x}) is misaligned or not inside user space \
                     (TASK_SIZE {ts:#x})"
                ),
            ));
        }
        let len = len.next_multiple_of(ps);
        if len == 0 {
            return Err(Error::os(errno::EINVAL, "munmap: length is 0"));
        }
        let (start, end) = (addr, addr + len);
        for v in self.vmas_in(mm, start, end) {
            if v.has(VmFlags::HUGETLB) {
                let h = self.arch.huge_page_size();
                if start.max(v.start) % h != 0 || end.min(v.end) % h != 0 {
                    return Err(Error::os(
                        errno::EINVAL,
                        format!(
                            "munmap: hugetlb area {:#x} can only be unmapped in {h:#x} units",
                            v.start
                        ),
                    ));
                }
            }
        }
        self.munmap_limit(mm, start, end, "munmap")?;
        self.do_munmap(mm, start, end);
        Ok(())
    }

    /// do_munmap: splits, zaps the pages, drops the VMAs and frees emptied page tables. The
    /// caller has made the map-count check ([`Machine::munmap_limit`]).
    pub(crate) fn do_munmap(&mut self, mm: MmId, start: u64, end: u64) {
        self.split_at(mm, start);
        self.split_at(mm, end);
        let victims: Vec<Vma> = self.vmas_in(mm, start, end);
        for v in &victims {
            self.zap_range(mm, v.start, v.end);
            self.mm_mut(mm).vmas.remove(v.start);
            if let Some(f) = v.file {
                self.drop_mapper(f, mm, v.start);
                self.maybe_free_shmem(f);
            }
        }
        // free_pgtables() over the part of [start, end) a page table can map (on ia64 the range
        // may reach into a region's unimplemented addresses, which hold no tables).
        for (s, e) in self.arch.user_ranges() {
            let (s, e) = (s.max(start), e.min(end));
            if s < e {
                let (ls, le) = (self.arch.lvpn(s), self.arch.lvpn(e - 1) + 1);
                self.mm_mut(mm).pt.free_empty(ls, le);
            }
        }
    }

    /// mprotect(2).
    pub fn mprotect(&mut self, pid: Pid, addr: u64, len: u64, prot_bits: u32) -> Result<()> {
        let mm = self.task_mm(pid)?;
        let ps = self.arch.page_size();
        let ul = self.ulong();
        // sys_mprotect() (2.6.16) / do_mprotect_pkey() (6.x), in their order: "if (start &
        // ~PAGE_MASK) return -EINVAL; if (!len) return 0; len = PAGE_ALIGN(len); end = start +
        // len; if (end <= start) return -ENOMEM;", then the prot bits, then the VMAs.
        if addr % ps != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!("mprotect: address {addr:#x} is not a multiple of the page size {ps}"),
            ));
        }
        if len == 0 {
            return Ok(());
        }
        let start = addr;
        let end = if ul.fits(addr) && ul.fits(len) { ul.add(start, ul.page_align(len)) } else { 0 };
        if end <= start {
            return Err(Error::os(
                errno::ENOMEM,
                format!("mprotect: [{addr:#x}, +{len:#x}) wraps around the address space"),
            ));
        }
        if prot_bits & !(prot::READ | prot::WRITE | prot::EXEC) != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!("mprotect: unknown prot bits {prot_bits:#x}"),
            ));
        }
        self.require_mapped(mm, start, end, "mprotect")?;
        for v in self.vmas_in(mm, start, end) {
            if v.has(VmFlags::HUGETLB)
                && (start.max(v.start) % self.arch.huge_page_size() != 0
                    || end.min(v.end) % self.arch.huge_page_size() != 0)
            {
                return Err(Error::os(errno::EINVAL, "mprotect: partial hugetlb page"));
            }
        }
        let with_prot = |f: u32| {
            let mut f = f & !(VmFlags::READ | VmFlags::WRITE | VmFlags::EXEC);
            if prot_bits & prot::READ != 0 {
                f |= VmFlags::READ;
            }
            if prot_bits & prot::WRITE != 0 {
                f |= VmFlags::WRITE;
            }
            if prot_bits & prot::EXEC != 0 {
                f |= VmFlags::EXEC;
            }
            f
        };
        self.fixup_limit(mm, start, end, "mprotect", with_prot)?;
        self.split_at(mm, start);
        self.split_at(mm, end);
        let mut starts = Vec::new();
        for v in self.vmas_in(mm, start, end) {
            let f = with_prot(v.flags);
            // change_protection(): private mappings are never writable in the PTE (PAGE_COPY:
            // the next write faults and reuses or copies); shared writable ones are.
            let shared_w = f & VmFlags::SHARED != 0 && f & VmFlags::WRITE != 0;
            let (ls, le) = (self.arch.lvpn(v.start), self.arch.lvpn(v.end - 1) + 1);
            self.protect_huge_range(mm, ls, le, shared_w);
            let m = self.mm_mut(mm);
            m.vmas.get_mut(&v.start).expect("vma").flags = f;
            m.pt.for_each_mut(ls, le, |_, ptes| {
                for p in ptes.iter_mut().filter(|p| pte::is_present(**p)) {
                    if shared_w && *p & pte::SPECIAL == 0 {
                        *p |= pte::WRITE;
                    } else if !shared_w && *p & pte::SPECIAL == 0 {
                        *p &= !pte::WRITE;
                    }
                }
            });
            starts.push(v.start);
        }
        for s in starts.into_iter().rev() {
            self.try_merge(mm, s);
        }
        Ok(())
    }

    /// mlock(2) (`lock`) and munlock(2): sets or clears VM_LOCKED; mlock faults the range in.
    pub fn mlock(&mut self, pid: Pid, addr: u64, len: u64, lock: bool) -> Result<()> {
        let mm = self.task_mm(pid)?;
        let ps = self.arch.page_size();
        let ul = self.ulong();
        let what = if lock { "mlock" } else { "munlock" };
        // A length no unsigned long holds would wrap; an address none holds is not mapped.
        if !ul.fits(len) {
            return Err(Error::os(
                errno::EINVAL,
                format!("{what}: length {len:#x} wraps around the address space"),
            ));
        }
        if !ul.fits(addr) {
            return Err(Error::os(
                errno::ENOMEM,
                format!("{what}: address {addr:#x} is not mapped"),
            ));
        }
        // sys_mlock() / sys_munlock(): "len = PAGE_ALIGN(len + (start & ~PAGE_MASK)); start &=
        // PAGE_MASK;" then do_mlock() (apply_vma_lock_flags() in 6.x): "end = start + len; if
        // (end < start) return -EINVAL; if (end == start) return 0;", then no VMA: -ENOMEM.
        let start = addr / ps * ps;
        let end = ul.add(start, ul.page_align(ul.add(len, addr - start)));
        if end < start {
            return Err(Error::os(
                errno::EINVAL,
                format!("{what}: [{addr:#x}, +{len:#x}) wraps around the address space"),
            ));
        }
        if end == start {
            return Ok(());
        }
        self.require_mapped(mm, start, end, what)?;
        // 6.x mlock_fixup(): "if (newflags == oldflags || (oldflags & VM_SPECIAL) ||
        // is_vm_hugetlb_page(vma) || ...) goto out; /* don't set VM_LOCKED ... and don't
        // count */": a hugetlb area keeps its flags (and is not split). 2.6.16 has no such
        // test: the area is split (at huge page boundaries only) and locked.
        let skip_hugetlb = self.semantics == Semantics::Modern;
        let with_lock = |f: u32| {
            if skip_hugetlb && f & VmFlags::HUGETLB != 0 {
                f
            } else if lock {
                f | VmFlags::LOCKED
            } else {
                f & !VmFlags::LOCKED
            }
        };
        self.fixup_limit(mm, start, end, what, with_lock)?;
        // split_vma() only where an area's flags change.
        for at in [start, end] {
            if self.vma_at(mm, at).is_some_and(|v| with_lock(v.flags) != v.flags) {
                self.split_at(mm, at);
            }
        }
        let vmas = self.vmas_in(mm, start, end);
        for v in &vmas {
            if let Some(mut g) = self.mm_mut(mm).vmas.get_mut(&v.start) {
                g.flags = with_lock(g.flags);
            }
        }
        if lock {
            // make_pages_present() for the VMAs that can be faulted (not VM_IO).
            for v in vmas
                .iter()
                .filter(|v| !v.has(VmFlags::IO) && v.flags & (VmFlags::READ | VmFlags::WRITE) != 0)
            {
                let write = v.has(VmFlags::WRITE);
                self.populate(pid, v.start, v.end, write)?;
            }
        }
        for v in vmas.iter().rev() {
            self.try_merge(mm, v.start);
        }
        Ok(())
    }

    /// brk(2): moves the program break; returns the new break (the old one on failure, as the
    /// system call does).
    pub fn brk(&mut self, pid: Pid, new_brk: u64) -> Result<u64> {
        let mm = self.task_mm(pid)?;
        let ps = self.arch.page_size();
        let ul = self.ulong();
        let (start_brk, old) = {
            let m = self.mm(mm);
            (m.start_brk, m.brk)
        };
        // sys_brk() (2.6.16 and 6.x): "if (brk < min_brk) goto out;" (a break no unsigned long
        // holds cannot be asked for; it fails the same way).
        if !ul.fits(new_brk) || new_brk < start_brk {
            return Ok(old);
        }
        let old_end = ul.page_align(old);
        let new_end = ul.page_align(new_brk);
        if new_brk <= old && new_end < old_end {
            // "Always allow shrinking brk": do_munmap(mm, newbrk, oldbrk-newbrk).
            if self.munmap_limit(mm, new_end, old_end, "brk").is_err() {
                return Ok(old);
            }
            self.do_munmap(mm, new_end, old_end);
        } else if new_end > old_end {
            // do_brk(): "if ((addr + len) > TASK_SIZE || (addr + len) < addr) return -EINVAL"
            // (a new_end that wrapped to 0 lands here too: it is not above old_end); "Check
            // against existing mmap mappings": find_vma_intersection(mm, oldbrk, newbrk +
            // PAGE_SIZE), so a guard page stays free above the heap.
            if !self.arch.range_is_user(old_end, new_end - old_end)
                || new_end > self.mm(mm).task_size
                || !self.mm(mm).vmas.is_free(old_end, new_end - old_end + ps)
            {
                return Ok(old);
            }
            // do_brk(): "if (mm->map_count > sysctl_max_map_count) return -ENOMEM;"
            if self.mm(mm).vmas.map_count() as u64 > u64::from(self.max_map_count) {
                return Ok(old);
            }
            // do_brk: vma_merge() with the area below when it can take the new range as it is
            // (is_mergeable_vma: the same vm_flags, no file; mpol_equal: the default policy,
            // both 2.6.16 and 6.x), else a new area. A heap mprotect()ed read-only or mbind()ed
            // keeps its own flags and policy; the break grows beside it.
            let shift = self.arch.page_shift;
            let flags = VmFlags::READ | VmFlags::WRITE;
            let m = self.mm_mut(mm);
            let prev = m.vmas.range(..old_end).next_back().map(|(&s, v)| {
                let mergeable = v.kind == VmaKind::Heap
                    && v.flags == flags
                    && v.file.is_none()
                    && v.policy.is_none();
                (s, v.end, mergeable)
            });
            match prev {
                Some((s, e, true)) if e == old_end => m.vmas.set_end(s, new_end),
                _ => m.vmas.insert(Vma {
                    start: old_end,
                    end: new_end,
                    flags,
                    file: None,
                    pgoff: old_end >> shift,
                    policy: None,
                    kind: VmaKind::Heap,
                }),
            }
        } else if new_end < old_end {
            // Unreachable: a smaller aligned break comes from a smaller break.
            return Ok(old);
        }
        self.mm_mut(mm).brk = new_brk;
        Ok(new_brk)
    }

    /// A new SysV shared memory segment (shmget(IPC_PRIVATE, size)): a shmem file.
    /// The segment lives until `shm_rmid` even when nobody has it attached.
    pub fn shmget(&mut self, size: u64) -> Result<FileId> {
        let f = self.new_file("/SYSV", size, true)?;
        self.file_mut(f).refs = 1;
        Ok(f)
    }

    /// shmctl(IPC_RMID): the segment goes away once its last attach is gone.
    pub fn shm_rmid(&mut self, f: FileId) -> Result<()> {
        match self.files.get(f as usize).and_then(|x| x.as_ref()) {
            Some(fm) if fm.shmem => {}
            _ => return Err(Error::os(errno::EINVAL, format!("shmctl: no shm segment {f}"))),
        }
        let fm = self.file_mut(f);
        fm.refs = fm.refs.saturating_sub(1);
        self.maybe_free_shmem(f);
        Ok(())
    }

    /// Frees a shmem file nobody maps or holds any more, with its page-cache pages and its
    /// swap slots.
    pub(crate) fn maybe_free_shmem(&mut self, f: FileId) {
        let fm = self.file(f);
        if !fm.shmem || fm.refs > 0 || !fm.mappers.is_empty() {
            return;
        }
        let cached: Vec<u64> = fm.cache.iter().filter(|&&c| c != 0).map(|&c| c - 1).collect();
        let swapped: Vec<u64> = fm.swapped.entries().map(|(_, e)| e).collect();
        for pfn in cached {
            self.drop_from_page_cache(pfn);
        }
        // shmem_truncate(): free_swap_and_cache() for each slot the swap vector names.
        for e in swapped {
            self.free_swap_and_cache(crate::swap::SwpEntry(e));
        }
        self.files[f as usize] = None;
    }
}

/// vma_merge()'s test for two neighbours. Hugetlb areas never merge: their flags hold a
/// VM_SPECIAL bit (2.6.16 hugetlbfs_file_mmap() sets VM_RESERVED, 6.x VM_DONTEXPAND), and
/// "if (vm_flags & VM_SPECIAL) return NULL".
fn compatible(a: &Vma, b: &Vma, page_shift: u32) -> bool {
    a.end == b.start
        && a.flags & VmFlags::HUGETLB == 0
        && a.flags == b.flags
        && a.kind == b.kind
        && a.kind != VmaKind::Stack
        && a.file == b.file
        && a.policy == b.policy
        && a.pgoff + ((a.end - a.start) >> page_shift) == b.pgoff
}

#[cfg(test)]
#[path = "mm_tests.rs"]
mod tests;
