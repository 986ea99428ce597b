//! Address spaces: VMAs and the system calls that shape them (mmap, munmap, mprotect, mlock,
//! brk), mirroring mm/mmap.c, mm/mprotect.c and mm/mlock.c of 2.6.16.

use super::{FileId, Machine, Mm, MmId, Pid};
use crate::error::{errno, Error, Result};
use crate::mempolicy::Mempolicy;
use crate::pagetable::{pte, PageTable};

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
    pub const RESERVED: u32 = 0x80000;
    pub const HUGETLB: u32 = 0x400000;
    /// VM_PFNMAP appeared in 2.6.15; its bit here is the simulator's own.
    pub const PFNMAP: u32 = 0x4000000;

    pub const NAMES: [(u32, &'static str); 12] = [
        (Self::READ, "read"),
        (Self::WRITE, "write"),
        (Self::EXEC, "exec"),
        (Self::SHARED, "shared"),
        (Self::GROWSDOWN, "growsdown"),
        (Self::SHM, "shm"),
        (Self::DENYWRITE, "denywrite"),
        (Self::LOCKED, "locked"),
        (Self::IO, "io"),
        (Self::RESERVED, "reserved"),
        (Self::HUGETLB, "hugetlb"),
        (Self::PFNMAP, "pfnmap"),
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind {
    Plain,
    Heap,
    Stack,
}

/// A vm_area_struct.
#[derive(Clone, Debug)]
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

/// Initial stack size set up at exec (roughly setup_arg_pages' argument area plus headroom).
pub const STACK_INIT: u64 = 128 * 1024;

/// Base of fake device pfns for I/O mappings (no struct page behind them).
pub const DEVICE_PFN_BASE: u64 = 1 << 40;

impl Machine {
    pub(crate) fn new_mm(&mut self) -> Result<MmId> {
        let id = match self.mms.iter().position(|m| m.is_none()) {
            Some(i) => i as MmId,
            None => {
                self.mms.push(None);
                (self.mms.len() - 1) as MmId
            }
        };
        let family = self.new_family(id)?;
        let (start_brk, mmap_base, stack_top) = self.layout();
        self.mms[id as usize] = Some(Mm {
            id,
            users: 1,
            vmas: Default::default(),
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
            cpus_ran: Vec::new(),
        });
        Ok(id)
    }

    pub(crate) fn new_family(&mut self, mm: MmId) -> Result<u32> {
        let fid = match self.families.iter().position(|f| f.mms.is_empty()) {
            Some(i) => i,
            None => {
                self.families.push(Default::default());
                self.families.len() - 1
            }
        };
        if fid as u32 > crate::phys::mapping::MAX_ID {
            return Err(Error::os(errno::ENOMEM, "too many address spaces for the simulator"));
        }
        self.families[fid].mms.push(mm);
        Ok(fid as u32)
    }

    /// (start_brk, mmap_base, stack top) as Linux 2.6.16 lays a process out on each arch:
    /// x86_64 legacy bottom-up mmap from TASK_UNMAPPED_BASE = TASK_SIZE/3; i386 top-down from
    /// TASK_SIZE - 128 MiB (mmap_base() with the minimum gap); ia64 mmap in region 1, data and
    /// heap at the bottom of region 3, the stack at its top (STACK_TOP), hugetlb in region 4.
    fn layout(&self) -> (u64, u64, u64) {
        let a = &self.arch;
        let ps = a.page_size();
        if a.region_shift != 0 {
            let r3 = 3u64 << a.region_shift;
            // STACK_TOP = region 3 + RGN_MAP_LIMIT, which is the region's mapped span less a
            // guard page (asm-ia64/ustack.h, page.h).
            return (r3 + ps, 1u64 << a.region_shift, r3 + (1u64 << a.va_bits) - ps);
        }
        if a.bits_per_long == 32 {
            (0x0804_c000, a.task_size - (128 << 20), a.task_size)
        } else {
            let base = (a.task_size / 3).div_ceil(ps) * ps;
            (0x0060_0000, base, a.task_size)
        }
    }

    fn top_down(&self) -> bool {
        self.arch.bits_per_long == 32
    }

    pub(crate) fn setup_stack(&mut self, mm: MmId) -> Result<()> {
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
        self.mm_mut(mm).vmas.insert(vma.start, vma);
        Ok(())
    }

    /// The VMA containing `addr` (find_vma + vm_start check).
    pub fn vma_at(&self, mm: MmId, addr: u64) -> Option<&Vma> {
        let m = self.mm(mm);
        m.vmas.range(..=addr).next_back().map(|(_, v)| v).filter(|v| addr < v.end)
    }

    /// VMAs overlapping [start, end), in order.
    pub fn vmas_in(&self, mm: MmId, start: u64, end: u64) -> Vec<Vma> {
        let m = self.mm(mm);
        let first = m.vmas.range(..=start).next_back().map(|(&s, _)| s).unwrap_or(start);
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
        let free = |s: u64| -> bool {
            self.arch.range_is_user(s, len)
                && m.vmas.range(..s + len).next_back().is_none_or(|(_, v)| v.end <= s)
        };
        if let Some(h) = hint {
            let h = h.next_multiple_of(align);
            if free(h) {
                return Ok(h);
            }
        }
        // The range to search: ia64 keeps hugetlb in region 4 and the rest in the mmap region.
        let (lo, hi) = if self.arch.region_shift != 0 {
            let r = if huge { 4u64 } else { m.mmap_base >> self.arch.region_shift };
            let base = r << self.arch.region_shift;
            (base.max(if huge { base } else { m.mmap_base }), base + (1u64 << self.arch.va_bits))
        } else {
            (self.arch.page_size(), self.arch.task_size)
        };
        if self.top_down() && !huge {
            // arch_get_unmapped_area_topdown: highest gap below mmap_base.
            let mut top = m.mmap_base.min(hi);
            for (_, v) in m.vmas.range(..top).rev() {
                if v.end <= top {
                    let cand = (top - len.min(top)) / align * align;
                    if top >= len && cand >= v.end && cand >= lo {
                        return Ok(cand);
                    }
                }
                top = top.min(v.start);
            }
            if top >= len + lo {
                let cand = (top - len) / align * align;
                if cand >= lo {
                    return Ok(cand);
                }
            }
            // Fall back to bottom-up from TASK_UNMAPPED_BASE, as the kernel does.
        }
        // arch_get_unmapped_area(): bottom-up from mm->mmap_base (TASK_UNMAPPED_BASE); the
        // top-down allocator falls back to the same search from TASK_SIZE / 3.
        let base = if self.top_down() {
            (self.arch.task_size / 3).next_multiple_of(self.arch.page_size())
        } else {
            m.mmap_base
        };
        let mut cand = base.max(lo).next_multiple_of(align);
        loop {
            if cand.checked_add(len).is_none_or(|e| e > hi) {
                return Err(Error::os(
                    errno::ENOMEM,
                    format!("mmap: no free range of {len:#x} bytes left in the address space"),
                ));
            }
            match m.vmas.range(..cand + len).next_back() {
                Some((_, v)) if v.end > cand => cand = v.end.next_multiple_of(align),
                _ => return Ok(cand),
            }
        }
    }

    /// mmap(2): returns the address of the new mapping.
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
        let ps = self.arch.page_size();
        let huge = flags & mapf::HUGETLB != 0;
        let align = if huge { self.arch.huge_page_size() } else { ps };
        if length == 0 {
            return Err(Error::os(errno::EINVAL, "mmap: length is 0"));
        }
        if prot_bits & !(prot::READ | prot::WRITE | prot::EXEC) != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!("mmap: unknown prot bits {prot_bits:#x}"),
            ));
        }
        let shared = flags & (mapf::SHARED | mapf::SHM) != 0;
        let private = flags & mapf::PRIVATE != 0;
        if shared == private {
            return Err(Error::os(
                errno::EINVAL,
                "mmap: flags need exactly one of shared and private",
            ));
        }
        if offset % ps != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!("mmap: offset {offset} is not page aligned"),
            ));
        }
        let anon = flags & mapf::ANONYMOUS != 0;
        if anon && file.is_some() {
            return Err(Error::value("mmap: an anonymous mapping takes no file"));
        }
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
            if self.files.get(f as usize).is_none_or(|x| x.is_none()) {
                return Err(Error::os(errno::EBADF, format!("mmap: no open file {f}")));
            }
            if flags & mapf::SHM != 0 && !self.file(f).shmem {
                return Err(Error::os(
                    errno::EINVAL,
                    format!("shmat: file {f} is not a shm segment"),
                ));
            }
        }
        if huge && (length % align != 0 || addr.is_some_and(|a| a % align != 0)) {
            return Err(Error::os(
                errno::EINVAL,
                format!("mmap: hugetlb mappings need lengths and addresses aligned to {align:#x}"),
            ));
        }
        let len = length
            .checked_next_multiple_of(ps)
            .ok_or_else(|| Error::os(errno::ENOMEM, format!("mmap: length {length} overflows")))?;
        let start = if flags & mapf::FIXED != 0 {
            let a = addr.ok_or_else(|| Error::value("mmap: a fixed mapping needs addr"))?;
            let (s, _) = self.check_range(a, len, "mmap")?;
            s
        } else {
            self.unmapped_area(mm, addr, len, align, huge)?
        };
        let end = start + len;

        // Everything is validated: from here on the call succeeds.
        if flags & mapf::FIXED != 0 {
            self.do_munmap(mm, start, end);
        }
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
        if huge {
            vflags |= VmFlags::HUGETLB;
        }
        if flags & mapf::DENYWRITE != 0 {
            vflags |= VmFlags::DENYWRITE;
        }
        if flags & mapf::SHM != 0 {
            vflags |= VmFlags::SHM;
        }
        // Shared anonymous memory and new SysV segments are shmem files (shmem_zero_setup).
        let file = match file {
            Some(f) => Some(f),
            None if shared && flags & mapf::IO == 0 => {
                let name = if flags & mapf::SHM != 0 { "/SYSV" } else { "/dev/zero" };
                Some(self.new_file(name, len, true)?)
            }
            None => None,
        };
        let vma = Vma {
            start,
            end,
            flags: vflags,
            file,
            // do_mmap_pgoff: an anonymous private area's pgoff is its address in pages (what
            // VMA interleaving and vma_merge use).
            pgoff: if file.is_none() { start >> self.arch.page_shift } else { offset / ps },
            policy: None,
            kind: VmaKind::Plain,
        };
        if let Some(f) = file {
            let fm = self.file_mut(f);
            fm.mappers.push((mm, start));
            fm.refs += 1;
        }
        self.mm_mut(mm).vmas.insert(start, vma);
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
        Ok(start)
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
                let cur = m.vmas.remove(&s).unwrap();
                let prev = m.vmas.get_mut(&ps_).unwrap();
                prev.end = cur.end;
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
                let next = m.vmas.remove(&cur_end).unwrap();
                m.vmas.get_mut(&s).unwrap().end = next.end;
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

    /// Splits the VMA containing `addr` so that one starts exactly at `addr` (split_vma).
    pub(crate) fn split_at(&mut self, mm: MmId, addr: u64) {
        let ps = self.arch.page_shift;
        let m = self.mm_mut(mm);
        let Some((&s, v)) = m.vmas.range(..addr).next_back() else { return };
        if v.end <= addr || s == addr {
            return;
        }
        let mut tail = v.clone();
        m.vmas.get_mut(&s).unwrap().end = addr;
        tail.pgoff += (addr - s) >> ps;
        tail.start = addr;
        let file = tail.file;
        m.vmas.insert(addr, tail);
        if let Some(f) = file {
            let fm = self.file_mut(f);
            fm.mappers.push((mm, addr));
            fm.refs += 1;
        }
    }

    /// munmap(2).
    pub fn munmap(&mut self, pid: Pid, addr: u64, len: u64) -> Result<()> {
        let mm = self.task_mm(pid)?;
        // do_munmap(): a range outside user space is EINVAL (not mmap's ENOMEM).
        let (start, end) = self.check_range(addr, len, "munmap").map_err(|e| {
            if e.errno() == Some(errno::ENOMEM) {
                Error::os(errno::EINVAL, e.detail)
            } else {
                e
            }
        })?;
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
        self.do_munmap(mm, start, end);
        Ok(())
    }

    /// do_munmap: splits, zaps the pages, drops the VMAs and frees emptied page tables.
    pub(crate) fn do_munmap(&mut self, mm: MmId, start: u64, end: u64) {
        self.split_at(mm, start);
        self.split_at(mm, end);
        let victims: Vec<Vma> = self.vmas_in(mm, start, end);
        for v in &victims {
            self.zap_range(mm, v.start, v.end);
            self.mm_mut(mm).vmas.remove(&v.start);
            if let Some(f) = v.file {
                self.drop_mapper(f, mm, v.start);
                self.maybe_free_shmem(f);
            }
        }
        let (ls, le) = (self.arch.lvpn(start), self.arch.lvpn(end - 1) + 1);
        self.mm_mut(mm).pt.free_empty(ls, le);
    }

    /// mprotect(2).
    pub fn mprotect(&mut self, pid: Pid, addr: u64, len: u64, prot_bits: u32) -> Result<()> {
        let mm = self.task_mm(pid)?;
        if prot_bits & !(prot::READ | prot::WRITE | prot::EXEC) != 0 {
            return Err(Error::os(
                errno::EINVAL,
                format!("mprotect: unknown prot bits {prot_bits:#x}"),
            ));
        }
        if len == 0 && addr % self.arch.page_size() == 0 {
            // sys_mprotect: end == start returns 0.
            return Ok(());
        }
        let (start, end) = self.check_range(addr, len, "mprotect")?;
        self.require_mapped(mm, start, end, "mprotect")?;
        for v in self.vmas_in(mm, start, end) {
            if v.has(VmFlags::HUGETLB)
                && (start.max(v.start) % self.arch.huge_page_size() != 0
                    || end.min(v.end) % self.arch.huge_page_size() != 0)
            {
                return Err(Error::os(errno::EINVAL, "mprotect: partial hugetlb page"));
            }
        }
        self.split_at(mm, start);
        self.split_at(mm, end);
        let mut starts = Vec::new();
        for v in self.vmas_in(mm, start, end) {
            let mut f = v.flags & !(VmFlags::READ | VmFlags::WRITE | VmFlags::EXEC);
            if prot_bits & prot::READ != 0 {
                f |= VmFlags::READ;
            }
            if prot_bits & prot::WRITE != 0 {
                f |= VmFlags::WRITE;
            }
            if prot_bits & prot::EXEC != 0 {
                f |= VmFlags::EXEC;
            }
            // change_protection(): private mappings are never writable in the PTE (PAGE_COPY:
            // the next write faults and reuses or copies); shared writable ones are.
            let shared_w = f & VmFlags::SHARED != 0 && f & VmFlags::WRITE != 0;
            let (ls, le) = (self.arch.lvpn(v.start), self.arch.lvpn(v.end - 1) + 1);
            let m = self.mm_mut(mm);
            m.vmas.get_mut(&v.start).unwrap().flags = f;
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
        // mlock rounds the start down and the end up (sys_mlock).
        let a = addr / ps * ps;
        let len = len + (addr - a);
        let what = if lock { "mlock" } else { "munlock" };
        if len == 0 {
            // do_mlock(): end == start returns 0.
            return Ok(());
        }
        let (start, end) = self.check_range(a, len, what)?;
        self.require_mapped(mm, start, end, what)?;
        self.split_at(mm, start);
        self.split_at(mm, end);
        let vmas = self.vmas_in(mm, start, end);
        for v in &vmas {
            let m = self.mm_mut(mm);
            let f = &mut m.vmas.get_mut(&v.start).unwrap().flags;
            if lock {
                *f |= VmFlags::LOCKED;
            } else {
                *f &= !VmFlags::LOCKED;
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
        let (start_brk, old) = {
            let m = self.mm(mm);
            (m.start_brk, m.brk)
        };
        if new_brk < start_brk {
            return Ok(old);
        }
        let old_end = old.next_multiple_of(ps);
        let new_end = new_brk.next_multiple_of(ps);
        if new_end < old_end {
            self.do_munmap(mm, new_end, old_end);
        } else if new_end > old_end {
            if !self.arch.range_is_user(old_end, new_end - old_end)
                || !self.vmas_in(mm, old_end, new_end).is_empty()
            {
                return Ok(old);
            }
            // do_brk: extend the heap VMA or make one.
            let shift = self.arch.page_shift;
            let m = self.mm_mut(mm);
            let prev = m.vmas.range(..old_end).next_back().map(|(&s, v)| (s, v.end, v.kind));
            match prev {
                Some((s, e, VmaKind::Heap)) if e == old_end => {
                    m.vmas.get_mut(&s).unwrap().end = new_end
                }
                _ => {
                    m.vmas.insert(
                        old_end,
                        Vma {
                            start: old_end,
                            end: new_end,
                            flags: VmFlags::READ | VmFlags::WRITE,
                            file: None,
                            pgoff: old_end >> shift,
                            policy: None,
                            kind: VmaKind::Heap,
                        },
                    );
                }
            }
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

    /// Frees a shmem file nobody maps or holds any more, with its page-cache pages.
    pub(crate) fn maybe_free_shmem(&mut self, f: FileId) {
        let fm = self.file(f);
        if !fm.shmem || fm.refs > 0 || !fm.mappers.is_empty() {
            return;
        }
        let cached: Vec<u64> = fm.cache.iter().filter(|&&c| c != 0).map(|&c| c - 1).collect();
        for pfn in cached {
            self.drop_from_page_cache(pfn);
        }
        self.files[f as usize] = None;
    }
}

fn compatible(a: &Vma, b: &Vma, page_shift: u32) -> bool {
    a.end == b.start
        && a.flags == b.flags
        && a.kind == b.kind
        && a.kind != VmaKind::Stack
        && a.file == b.file
        && a.policy == b.policy
        && a.pgoff + ((a.end - a.start) >> page_shift) == b.pgoff
}
