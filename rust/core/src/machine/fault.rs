//! Page faults (handle_mm_fault of 2.6.16: do_anonymous_page, do_no_page, do_wp_page,
//! do_swap_page, hugetlb_fault) and what a task reads.

use super::policy::Placed;
use super::{Machine, MmId, Pid, PAGEVEC_SIZE};
use crate::costs::TimeReport;
use crate::error::{errno, Error, Result};
use crate::machine::mm::{VmFlags, Vma};
use crate::machine::to_usize;
use crate::pagetable::pte;
use crate::phys::{mapping, pg};
use crate::swap::SwpEntry;

/// Marks a PTE of a hugetlb area (the simulator maps huge pages with one PTE per base page).
pub const PTE_HUGE: u64 = 1 << 5;

/// Read-only views look for a Ctrl-C once every 2^20 bytes of address (256 pages of 4 KiB).
const PEEK_CHECK_MASK: u64 = (1 << 20) - 1;

/// An empty Vec with room for `n` per-page results of a view over `length` bytes: the check of a
/// size the user chose (a host allocation failure would abort the process), failing with a
/// ValueError that names `what`'s length and the memory it would take.
pub(crate) fn page_results<T>(n: u64, what: &str, length: u64) -> Result<Vec<T>> {
    let mut v = Vec::new();
    if usize::try_from(n).is_ok_and(|k| v.try_reserve_exact(k).is_ok()) {
        return Ok(v);
    }
    Err(Error::value(format!(
        "{what}: length {length:#x} covers {n} pages, whose results ({}) cannot be allocated; \
         ask for a smaller range",
        crate::swap::bytes_text(n.saturating_mul(std::mem::size_of::<T>() as u64))
    )))
}

/// The digest term of one anonymous page: a 64-bit mix of its linear index and content
/// (splitmix64's finaliser). Zero content contributes nothing, so a zero-filled page and an
/// untouched one agree.
#[inline]
pub fn digest_term(index: u64, stamp: u32) -> u64 {
    if stamp == 0 {
        return 0;
    }
    let mut z = index.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(stamp).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How an access uses a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Fault for write without storing (get_user_pages(write=1), mlock's make_pages_present).
    WriteFault,
    /// A store: the page's content changes.
    Store,
}

impl Access {
    pub(crate) fn write(self) -> bool {
        self != Access::Read
    }
}

/// What a burst of accesses (`touch`, `touch_pages`) cost: its faults and the simulated time,
/// split by term (fault handling, the I/O of major faults, reclaim's writes if memory ran short).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultReport {
    /// Pages accessed.
    pub pages: u64,
    /// Page faults taken (pgfault), of which `major` read from swap or a file (pgmajfault).
    pub faults: u64,
    pub major: u64,
    /// Pages read from swap (pswpin), readahead included.
    pub swapped_in: u64,
    pub time: TimeReport,
}

impl FaultReport {
    /// One line: the counts and the simulated time by term.
    pub fn summary(&self) -> String {
        format!(
            "pages={}; faults={}; major={}; swapped_in={}; {}",
            self.pages,
            self.faults,
            self.major,
            self.swapped_in,
            self.time.summary()
        )
    }
}

/// Where a fault burst started: the clock, the account and the counters.
struct BurstStart {
    t0: u64,
    acct: TimeReport,
    vm: super::VmStat,
}

/// The state of a run of faults in one VMA by one task: its CPU and the VMA's placement,
/// computed on first need (again for every page when interleaving), so that a run of swap-ins
/// or first touches looks up the policy, the cpuset and the zonelist once, not per page.
pub(crate) struct FaultRun {
    pid: Pid,
    cpu: u32,
    place: Option<Placed>,
}

impl FaultRun {
    pub(crate) fn new(pid: Pid, cpu: u32) -> Self {
        FaultRun { pid, cpu, place: None }
    }
}

impl Machine {
    fn burst_start(&self) -> BurstStart {
        BurstStart { t0: self.now_ns, acct: self.acct, vm: self.vmstat }
    }

    /// Charges the burst's faults (minor_fault_ns each, major_fault_ns for each major one; their
    /// I/O was charged as it happened) and reports it.
    fn burst_end(&mut self, b: &BurstStart, pages: u64) -> FaultReport {
        let faults = self.vmstat.pgfault - b.vm.pgfault;
        let major = self.vmstat.pgmajfault - b.vm.pgmajfault;
        let ns = (faults - major) * self.costs.minor_fault_ns + major * self.costs.major_fault_ns;
        self.acct.fault_ns += ns;
        self.advance(ns);
        FaultReport {
            pages,
            faults,
            major,
            swapped_in: self.vmstat.pswpin - b.vm.pswpin,
            time: self.acct.since(&b.acct, self.now_ns - b.t0),
        }
    }

    /// Checks that a task may access every page of [start, end) (find_vma + access_error):
    /// SIGSEGV for an unmapped or protected page, SIGBUS past the end of a file.
    pub(crate) fn check_access(&self, mm: MmId, start: u64, end: u64, write: bool) -> Result<()> {
        let mut cur = start;
        for v in self.vmas_in(mm, start, end) {
            if v.start > cur {
                break;
            }
            Self::check_vma_access(&v, cur.max(v.start), write)?;
            if let Some(f) = v.file {
                let last = end.min(v.end) - 1;
                let idx = v.file_index(last, self.arch.page_shift);
                if idx >= self.file(f).pages && !v.has(VmFlags::IO) {
                    let eof = v.start.saturating_add(
                        (self.file(f).pages - v.pgoff.min(self.file(f).pages))
                            << self.arch.page_shift,
                    );
                    return Err(Error::segv(
                        eof.max(cur),
                        format!("SIGBUS: access beyond the end of {}", self.file(f).path),
                    ));
                }
            }
            cur = v.end;
            if cur >= end {
                return Ok(());
            }
        }
        Err(Error::segv(cur, "no mapping at this address"))
    }

    fn check_vma_access(v: &Vma, addr: u64, write: bool) -> Result<()> {
        if write && !v.has(VmFlags::WRITE) {
            return Err(Error::segv(
                addr,
                format!("write to a mapping without PROT_WRITE ({:#x}-{:#x})", v.start, v.end),
            ));
        }
        if !write && v.flags & (VmFlags::READ | VmFlags::WRITE | VmFlags::EXEC) == 0 {
            return Err(Error::segv(
                addr,
                format!("access to a PROT_NONE mapping ({:#x}-{:#x})", v.start, v.end),
            ));
        }
        Ok(())
    }

    /// `task.touch(addr, length, write)`: the task reads (or writes) every page of the byte range.
    /// The whole range is checked first: a bad address raises SIGSEGV at the first page a real
    /// access would fault on and changes nothing. If memory runs out part way (where Linux would
    /// invoke the OOM killer) the pages before stay faulted in and ENOMEM is returned; a Ctrl-C
    /// ([`crate::interrupt`]) stops it the same way, between two pages.
    pub fn touch(&mut self, pid: Pid, addr: u64, length: u64, write: bool) -> Result<FaultReport> {
        let b = self.burst_start();
        let r = self.touch_inner(pid, addr, length, write);
        let pages = match r {
            Ok(n) => n,
            Err(_) => 0,
        };
        let rep = self.burst_end(&b, pages);
        r.map(|_| rep)
    }

    fn touch_inner(&mut self, pid: Pid, addr: u64, length: u64, write: bool) -> Result<u64> {
        let mm = self.task_mm(pid)?;
        let (start, end) = self.byte_range_pages(addr, length, "touch")?;
        self.check_access(mm, start, end, write)?;
        // VMAs lie in user space, so a range they cover does; the page table relies on it.
        if !self.arch.range_is_user(start, end - start) {
            return Err(Error::segv(start, "address outside user space"));
        }
        let access = if write { Access::Store } else { Access::Read };
        self.fault_range(pid, mm, start, end, access)?;
        Ok((end - start) >> self.arch.page_shift)
    }

    /// The pages covering the bytes [addr, addr+length): (first page, end of the last page). A
    /// range running past the top of the address space is cut at its last page: no VMA reaches
    /// that far, so the access walk faults before, at the first unmapped page, as a real access
    /// walking up from `addr` would.
    fn byte_range_pages(&self, addr: u64, length: u64, what: &str) -> Result<(u64, u64)> {
        if length == 0 {
            return Err(Error::value(format!("{what}: length is 0")));
        }
        let ps = self.arch.page_size();
        let start = addr / ps * ps;
        let end = addr
            .checked_add(length)
            .and_then(|e| e.checked_next_multiple_of(ps))
            .unwrap_or(u64::MAX / ps * ps);
        if end <= start {
            // Only the top page of the 64-bit space gets here, and it is never a user page.
            return Err(Error::segv(start, "address outside user space"));
        }
        Ok((start, end))
    }

    /// The first address of [start, end) no VMA of `mm` maps (find_vma walk), if any.
    pub(crate) fn first_unmapped(&self, mm: MmId, start: u64, end: u64) -> Option<u64> {
        let vmas = &self.mm(mm).vmas;
        let first = vmas.range(..=start).next_back().map_or(start, |(&s, _)| s);
        let mut cur = start;
        for v in vmas.range(first..end).map(|(_, v)| v).filter(|v| v.end > start) {
            if v.start > cur {
                return Some(cur);
            }
            cur = v.end;
            if cur >= end {
                return None;
            }
        }
        Some(cur)
    }

    /// Faults [start, end) in without storing (make_pages_present).
    pub(crate) fn populate(&mut self, pid: Pid, start: u64, end: u64, write: bool) -> Result<()> {
        let mm = self.task_mm(pid)?;
        let access = if write { Access::WriteFault } else { Access::Read };
        // Only the mapped, accessible parts: mlock of a PROT_NONE area faults nothing.
        for v in self.vmas_in(mm, start, end) {
            if v.has(VmFlags::IO) || Self::check_vma_access(&v, v.start, write).is_err() {
                continue;
            }
            let (s, mut e) = (start.max(v.start), end.min(v.end));
            if let Some(f) = v.file {
                // Files hold at most 2^41 pages, so the shift stays far below 64 bits.
                let limit = v.start.saturating_add(
                    self.file(f).pages.saturating_sub(v.pgoff) << self.arch.page_shift,
                );
                e = e.min(limit.max(s));
            }
            if s < e {
                self.fault_range(pid, mm, s, e, access)?;
            }
        }
        Ok(())
    }

    /// Faults every page of a validated range, VMA by VMA.
    fn fault_range(
        &mut self,
        pid: Pid,
        mm: MmId,
        start: u64,
        end: u64,
        access: Access,
    ) -> Result<()> {
        for v in self.vmas_in(mm, start, end) {
            let (s, e) = (start.max(v.start), end.min(v.end));
            // An area that may map THPs now, or any area while the mm has huge PMDs: one made
            // when the area was eligible stays after MADV_NOHUGEPAGE (which splits nothing),
            // and __handle_mm_fault() handles a huge PMD at the PMD level whatever the area's
            // eligibility (thp_fault_block() makes no new one there).
            if self.thp_vma_allowed(&v) || self.mm(mm).pt.nr_huge() != 0 {
                self.fault_thp_run(pid, mm, &v, s, e, access)?;
                continue;
            }
            self.fault_base_run(pid, mm, &v, s, e, access)?;
        }
        Ok(())
    }

    /// The faults of [s, e) inside one VMA, base pages only.
    fn fault_base_run(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        s: u64,
        e: u64,
        access: Access,
    ) -> Result<()> {
        if !v.has(VmFlags::HUGETLB) && v.is_anon() && access == Access::Store {
            return self.store_anon_run(pid, mm, v, s, e);
        }
        let ps = self.arch.page_size();
        let mut run = FaultRun::new(pid, self.task(pid)?.cpu);
        let mut a = s;
        while a < e {
            // Between two faults the machine is consistent: a Ctrl-C may stop here.
            crate::interrupt::check()?;
            self.fault_in(pid, mm, v, a, access, &mut run)?;
            a += ps;
        }
        Ok(())
    }

    /// The faults of [s, e) inside a THP-eligible VMA, one PMD block at a time
    /// (__handle_mm_fault(): create_huge_pmd() or the huge PMD's own handling first, the PTE
    /// level for what it leaves).
    fn fault_thp_run(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        s: u64,
        e: u64,
        access: Access,
    ) -> Result<()> {
        let n = self.thp_nr();
        let (ls, le) = (self.arch.lvpn(s), self.arch.lvpn(e - 1) + 1);
        let mut plan = None;
        let mut lv = ls;
        while lv < le {
            crate::interrupt::check()?;
            let lv0 = lv / n * n;
            let stop = (lv0 + n).min(le);
            if !self.thp_fault_block(pid, mm, v, [lv0, lv, stop], access, &mut plan)? {
                let (a, b) = (self.arch.vaddr_of(lv), self.arch.vaddr_of(stop - 1));
                self.fault_base_run(pid, mm, v, a, b + self.arch.page_size(), access)?;
            }
            lv = stop;
        }
        Ok(())
    }

    /// `task.touch_pages(addresses, write)`: one access per address, in order; all addresses
    /// are checked before any page is touched.
    pub fn touch_pages(&mut self, pid: Pid, addrs: &[u64], write: bool) -> Result<FaultReport> {
        let b = self.burst_start();
        let r = self.touch_pages_inner(pid, addrs, write);
        let rep = self.burst_end(&b, if r.is_ok() { addrs.len() as u64 } else { 0 });
        r.map(|()| rep)
    }

    fn touch_pages_inner(&mut self, pid: Pid, addrs: &[u64], write: bool) -> Result<()> {
        let mm = self.task_mm(pid)?;
        let ps = self.arch.page_size();
        let cpu = self.task(pid)?.cpu;
        let mut vmas: Vec<Vma> = Vec::new();
        let mut idx: Vec<usize> = Vec::new();
        idx.try_reserve_exact(addrs.len()).map_err(|_| {
            Error::value(format!(
                "touch_pages: no memory to check {} addresses; pass them in smaller batches",
                addrs.len()
            ))
        })?;
        // Check every address first (find_vma + access_error per page): nothing changes if one
        // of them would fault.
        for &a in addrs {
            let page = a / ps * ps;
            let k = if let Some(k) = vmas.iter().position(|v| page >= v.start && page < v.end) {
                k
            } else {
                if !self.arch.range_is_user(page, ps) {
                    return Err(Error::segv(a, "address outside user space"));
                }
                let v = self
                    .vma_at(mm, page)
                    .cloned()
                    .ok_or_else(|| Error::segv(a, "no mapping at this address"))?;
                Self::check_vma_access(&v, a, write)?;
                vmas.push(v);
                vmas.len() - 1
            };
            if vmas[k].file.is_some() {
                self.check_access(mm, page, page + ps, write)?;
            }
            idx.push(k);
        }
        let access = if write { Access::Store } else { Access::Read };
        // First stores to anonymous memory take the fast path with one placement per VMA
        // (per page for interleaving); everything else goes through fault_one.
        let mut runs: Vec<FaultRun> = vmas.iter().map(|_| FaultRun::new(pid, cpu)).collect();
        for (&a, &k) in addrs.iter().zip(&idx) {
            crate::interrupt::check()?;
            let page = a / ps * ps;
            let v = &vmas[k];
            let lv = self.arch.lvpn(page);
            if self.thp_vma_allowed(v) || self.mm(mm).pt.nr_huge() != 0 {
                // As in fault_range().
                let v = v.clone();
                self.fault_thp_run(pid, mm, &v, page, page + ps, access)?;
                continue;
            }
            if access == Access::Store
                && v.is_anon()
                && !v.has(VmFlags::HUGETLB)
                && self.mm(mm).pt.get(lv) == 0
            {
                let pfn = self.alloc_in_run(v, page, &mut runs[k])?;
                let stamp = self.new_stamp();
                self.map_new_anon(cpu, mm, lv, pfn, stamp);
                self.vmstat.pgfault += 1;
                continue;
            }
            self.fault_in(pid, mm, v, page, access, &mut runs[k])?;
        }
        Ok(())
    }

    /// Allocates a page for `addr` of `vma` by the memory policy (alloc_page_vma), or for the
    /// page cache by the task policy (page_cache_alloc -> alloc_pages_current) when `vma` is None.
    pub(crate) fn alloc_user_page(
        &mut self,
        pid: Pid,
        vma: Option<&Vma>,
        addr: u64,
    ) -> Result<u64> {
        let place = self.placement(pid, vma, addr)?;
        self.alloc_placed(&place).ok_or_else(|| {
            Error::os(
                errno::ENOMEM,
                format!("no free page for address {addr:#x} on nodes {:?}", place.candidates()),
            )
        })
    }

    /// A store to a run of pages of an anonymous private VMA: the hot path of first touch.
    fn store_anon_run(&mut self, pid: Pid, mm: MmId, v: &Vma, s: u64, e: u64) -> Result<()> {
        let (ls, le) = (self.arch.lvpn(s), self.arch.lvpn(e - 1) + 1);
        let cpu = self.task(pid)?.cpu;
        let mut run = FaultRun::new(pid, cpu);
        let mut lv = ls;
        while lv < le {
            // Between two runs (at most one leaf table) the machine is consistent.
            crate::interrupt::check()?;
            // Take the next run of empty PTEs in this leaf and fill it without re-walking.
            let p = self.mm(mm).pt.get(lv);
            if p != 0 {
                let addr = self.arch.vaddr_of(lv);
                self.fault_in(pid, mm, v, addr, Access::Store, &mut run)?;
                lv += 1;
                continue;
            }
            let n = self.mm(mm).pt.leaf_len();
            let stop = ((lv / n + 1) * n).min(le);
            // The leaf table, looked up once for the run (made with the first page, as
            // __handle_mm_fault() allocates the table before do_anonymous_page()). A leaf that
            // did not exist has only empty PTEs, so only an existing one is checked per page.
            let mut leaf = self.mm(mm).pt.find_leaf(lv);
            let existed = leaf.is_some();
            let mut k = lv;
            while k < stop {
                let i = to_usize(k & (n - 1));
                if existed && self.mm(mm).pt.leaves[leaf.unwrap_or_default()][i] != 0 {
                    break;
                }
                let r = self.alloc_in_run(v, self.arch.vaddr_of(k), &mut run);
                let pfn = match r {
                    Ok(pfn) => pfn,
                    Err(e) => {
                        // The faults of the run so far and this one (fault_in() counts a
                        // fault before its allocation, as __handle_mm_fault() does).
                        self.vmstat.pgfault += k - lv + 1;
                        return Err(e);
                    }
                };
                let stamp = self.new_stamp();
                self.new_anon_frame(cpu, mm, k, pfn, stamp);
                let pt = &mut self.mm_mut(mm).pt;
                let l = *leaf.get_or_insert_with(|| pt.make_leaf(k));
                pt.leaves[l][i] = pte::mk(pfn, pte::WRITE | pte::DIRTY | pte::YOUNG);
                k += 1;
            }
            self.vmstat.pgfault += k - lv;
            lv = k;
        }
        Ok(())
    }

    /// lru_cache_add: the page waits in the CPU's pagevec; a full pagevec drains to the LRU.
    #[inline]
    pub(crate) fn lru_cache_add(&mut self, cpu: u32, pfn: u64) {
        *self.phys.flags_mut(pfn) |= pg::PAGEVEC;
        let pv = &mut self.pagevecs[cpu as usize];
        pv.push(pfn);
        if pv.len() >= PAGEVEC_SIZE {
            self.drain_cpu(cpu as usize);
        }
    }

    /// __pagevec_lru_add: moves one CPU's pagevec onto the LRU.
    pub fn drain_cpu(&mut self, cpu: usize) {
        let mut pv = std::mem::take(&mut self.pagevecs[cpu]);
        for &pfn in &pv {
            let f = self.phys.flags_mut(pfn);
            *f = (*f & !pg::PAGEVEC) | pg::LRU;
        }
        // Keep the buffer: a pagevec fills and drains every PAGEVEC_SIZE pages.
        pv.clear();
        self.pagevecs[cpu] = pv;
    }

    /// lru_add_drain_all(): every CPU's pagevec.
    pub fn lru_add_drain_all(&mut self) {
        for c in 0..self.pagevecs.len() {
            self.drain_cpu(c);
        }
    }

    /// Takes a page out of whatever pagevec holds it (it is being freed).
    pub(crate) fn pagevec_forget(&mut self, pfn: u64) {
        for pv in &mut self.pagevecs {
            if let Some(i) = pv.iter().position(|&p| p == pfn) {
                pv.swap_remove(i);
                break;
            }
        }
        *self.phys.flags_mut(pfn) &= !pg::PAGEVEC;
    }

    /// A new anonymous page mapped writable at `lv` of `mm` with the given content
    /// (do_anonymous_page() of a write fault, or the new page of do_wp_page()).
    fn map_new_anon(&mut self, cpu: u32, mm: MmId, lv: u64, pfn: u64, stamp: u32) {
        self.new_anon_frame(cpu, mm, lv, pfn, stamp);
        self.mm_mut(mm).pt.set(lv, pte::mk(pfn, pte::WRITE | pte::DIRTY | pte::YOUNG));
    }

    /// The frame side of [`Machine::map_new_anon`] (page_add_new_anon_rmap(),
    /// lru_cache_add()) and the mm's counters; the caller writes the PTE. One section lookup
    /// for all of the frame's metadata: this is the first-touch hot path.
    #[inline]
    fn new_anon_frame(&mut self, cpu: u32, mm: MmId, lv: u64, pfn: u64, stamp: u32) {
        let m = self.mm_mut(mm);
        m.rss_anon += 1;
        m.anon_digest = m.anon_digest.wrapping_add(digest_term(lv, stamp));
        let family = m.family;
        let sec = self.phys.sec_mut(pfn);
        let o = (pfn & (crate::phys::SECTION_PAGES - 1)) as usize;
        sec.mapping[o] = mapping::pack(mapping::KIND_ANON, family, lv);
        sec.stamp[o] = stamp;
        sec.mapcount[o] = 1;
        sec.flags[o] |= pg::ANON | pg::ACTIVE;
        self.lru_cache_add(cpu, pfn);
    }

    /// One page fault (or access to a present page) at page address `addr`.
    pub(crate) fn fault_one(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        addr: u64,
        access: Access,
    ) -> Result<()> {
        let mut run = FaultRun::new(pid, self.task(pid)?.cpu);
        self.fault_in(pid, mm, v, addr, access, &mut run)
    }

    /// The allocation of a page at `addr` of `v` for a run of faults (alloc_page_vma), with
    /// the run's placement: the policy, cpuset and zonelist are looked up once per run (again
    /// for every page when interleaving). First touch, touch_pages and swap-in share it.
    // Forced inline: the per-page allocation of first touch and swap-in (issue 11: ~80
    // instructions per page of call overhead when LLVM outlined it); the error is built out of
    // line.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn alloc_in_run(&mut self, v: &Vma, addr: u64, run: &mut FaultRun) -> Result<u64> {
        if run.place.as_ref().is_none_or(Placed::per_page) {
            run.place = Some(self.placement(run.pid, Some(v), addr)?);
        }
        let place = run.place.as_ref().expect("placement just computed");
        match self.alloc_placed(place) {
            Some(pfn) => Ok(pfn),
            None => Err(fault_oom(addr, place)),
        }
    }

    /// fault_one within a run of faults in `v`.
    fn fault_in(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        addr: u64,
        access: Access,
        run: &mut FaultRun,
    ) -> Result<()> {
        let lv = self.arch.lvpn(addr);
        if self.mm(mm).pt.nr_huge() != 0 {
            // __handle_mm_fault(): a huge PMD is handled at the PMD level; a PMD split for a
            // copy on write leaves PTEs for the PTE level below.
            let n = self.thp_nr();
            let lv0 = lv / n * n;
            if self.mm(mm).pt.pmd(lv0) != 0
                && self.thp_fault_block(pid, mm, v, [lv0, lv, lv + 1], access, &mut None)?
            {
                return Ok(());
            }
        }
        let p = self.mm(mm).pt.get(lv);
        let cpu = run.cpu;
        if v.has(VmFlags::HUGETLB) {
            return self.hugetlb_fault(pid, mm, v, addr, access);
        }
        if pte::is_present(p) {
            return self.access_present(pid, mm, v, lv, p, access);
        }
        if pte::is_swap(p) {
            let p = self.do_swap_page(mm, v, addr, p, access, run)?;
            if access.write() && p & pte::WRITE == 0 {
                // do_swap_page() calls do_wp_page() within the same fault: one pgfault
                // (__handle_mm_fault counts it once), which do_wp_page counts again.
                self.vmstat.pgfault -= 1;
            }
            return self.access_present(pid, mm, v, lv, p, access);
        }
        // pte_none.
        self.vmstat.pgfault += 1;
        match v.file {
            None => {
                if !access.write() {
                    // do_anonymous_page, read: map the zero page read-only.
                    let zero = self.zero_pfn;
                    self.mm_mut(mm).pt.set(lv, pte::mk(zero, pte::YOUNG));
                    return Ok(());
                }
                let pfn = self.alloc_in_run(v, addr, run)?;
                let stamp = if access == Access::Store { self.new_stamp() } else { 0 };
                self.map_new_anon(cpu, mm, lv, pfn, stamp);
                Ok(())
            }
            Some(f) => {
                let idx = v.file_index(addr, self.arch.page_shift);
                let page = self.find_or_read_file_page(pid, v, f, idx, addr)?;
                if access.write() && !v.has(VmFlags::SHARED) {
                    // do_no_page with write access on a private mapping: copy at once.
                    let content = self.phys.stamp(page);
                    let pfn = self.alloc_user_page(pid, Some(v), addr)?;
                    let stamp = if access == Access::Store { self.new_stamp() } else { content };
                    self.map_new_anon(cpu, mm, lv, pfn, stamp);
                    self.vmstat.cow_faults += 1;
                    return Ok(());
                }
                *self.phys.mapcount_mut(page) += 1;
                // vm_page_prot of a shared writable mapping is writable (2.6.16 has no dirty
                // tracking for shared mappings yet).
                let mut bits = pte::YOUNG;
                if v.has(VmFlags::SHARED) && v.has(VmFlags::WRITE) {
                    bits |= pte::WRITE;
                }
                if access.write() {
                    bits |= pte::DIRTY;
                }
                let m = self.mm_mut(mm);
                m.pt.set(lv, pte::mk(page, bits));
                m.rss_file += 1;
                if access.write() {
                    self.set_page_dirty(page);
                }
                if access == Access::Store {
                    self.store_file_page(f, idx, page);
                }
                Ok(())
            }
        }
    }

    /// New content for a page-cache page (a store through a shared mapping).
    fn store_file_page(&mut self, f: super::FileId, idx: u64, page: u64) {
        let old = self.phys.stamp(page);
        let s = self.new_stamp();
        self.phys.set_stamp(page, s);
        self.set_page_dirty(page);
        let fm = self.file_mut(f);
        fm.digest = fm.digest.wrapping_sub(digest_term(idx, old)).wrapping_add(digest_term(idx, s));
    }

    /// find_get_page, or allocate and read the page in (page_cache_read / shmem_getpage).
    pub(crate) fn find_or_read_file_page(
        &mut self,
        pid: Pid,
        v: &Vma,
        f: super::FileId,
        idx: u64,
        addr: u64,
    ) -> Result<u64> {
        let c = self.file(f).cache.get(idx);
        if c != 0 {
            return Ok(c - 1);
        }
        if self.file(f).swapped.get(idx) != 0 {
            return self.shmem_swapin(pid, v, f, idx, addr);
        }
        let shmem = self.file(f).shmem;
        // shmem pages follow the area's shared policy; page-cache pages the task policy.
        let pfn = if shmem {
            self.alloc_user_page(pid, Some(v), addr)?
        } else {
            self.alloc_user_page(pid, None, addr)?
        };
        let content = self.file(f).store.get(idx);
        self.phys.set_mapping(pfn, mapping::pack(mapping::KIND_FILE, f, idx));
        self.phys.set_stamp(pfn, content);
        *self.phys.flags_mut(pfn) |= pg::PAGECACHE;
        self.file_mut(f).cache.set(idx, pfn + 1);
        let cpu = self.task(pid)?.cpu;
        self.lru_cache_add(cpu, pfn);
        if !shmem || content != 0 {
            self.vmstat.pgmajfault += 1;
            self.vmstat.pgpgin += 1;
            let ns = self.file_io_ns(f, idx, shmem);
            self.advance(ns);
        }
        Ok(pfn)
    }

    /// shmem_getpage() for a page reclaim moved to a swap slot (2.6.18 shmem_swapin() and
    /// move_from_swap_cache() for 2.6.14 and 2.6.16; 6.x shmem_swapin_folio()): the page is
    /// taken from the swap cache (a minor fault) or read with the cluster of slots around it
    /// (valid_swaphandles(), each page by the object's policy at `idx`: the pseudo-vma), then
    /// goes back to the page cache, dirty, and both references on the slot go: it is free.
    fn shmem_swapin(
        &mut self,
        pid: Pid,
        v: &Vma,
        f: super::FileId,
        idx: u64,
        addr: u64,
    ) -> Result<u64> {
        let e = SwpEntry(self.file(f).swapped.get(idx));
        let pfn = if let Some(pfn) = self.swap.lookup(e) {
            pfn
        } else {
            let cpu = self.task(pid)?.cpu;
            let (first, n) = self.swap.readahead_cluster(e, self.page_cluster);
            for i in 0..n {
                let ent = SwpEntry::new(e.swp_type(), first + i);
                if self.swap.lookup(ent).is_none() {
                    let Ok(pfn) = self.alloc_user_page(pid, Some(v), addr) else { break };
                    self.read_swap_page(cpu, ent, pfn);
                }
            }
            self.drain_cpu(cpu as usize);
            let pfn = if let Some(pfn) = self.swap.lookup(e) {
                pfn
            } else {
                let pfn = self.alloc_user_page(pid, Some(v), addr)?;
                self.read_swap_page(cpu, e, pfn);
                pfn
            };
            self.vmstat.pgmajfault += 1;
            pfn
        };
        // move_from_swap_cache(): out of the swap cache (with the cache's slot reference) and
        // into the page cache, dirty; then swap_free() drops the swap vector's reference.
        self.swap.cache_remove(pfn);
        self.swap.put(e);
        self.swap.put(e);
        {
            let fm = self.file_mut(f);
            fm.swapped.set(idx, 0);
            fm.cache.set(idx, pfn + 1);
        }
        self.phys.set_mapping(pfn, mapping::pack(mapping::KIND_FILE, f, idx));
        let fl = self.phys.flags_mut(pfn);
        *fl = (*fl & !(pg::SWAPCACHE | pg::ANON)) | pg::PAGECACHE;
        self.set_page_dirty(pfn);
        Ok(pfn)
    }

    /// Access to a present PTE: marks it young; a write may need do_wp_page; a store changes the
    /// content.
    fn access_present(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        lv: u64,
        p: u64,
        access: Access,
    ) -> Result<()> {
        // The bits an access sets are written only when missing: re-touching resident pages
        // and the swap-in path (which maps the page young) skip a second page-table walk.
        if p & pte::SPECIAL != 0 || !access.write() {
            if p & pte::YOUNG == 0 {
                *self.mm_mut(mm).pt.get_mut(lv).unwrap() |= pte::YOUNG;
            }
            return Ok(());
        }
        let pfn = pte::pfn(p);
        if p & pte::WRITE != 0 {
            if p & (pte::YOUNG | pte::DIRTY) != pte::YOUNG | pte::DIRTY {
                *self.mm_mut(mm).pt.get_mut(lv).unwrap() |= pte::YOUNG | pte::DIRTY;
            }
            if access == Access::Store {
                self.store_mapped(mm, lv, pfn);
            }
            return Ok(());
        }
        self.do_wp_page(pid, mm, v, lv, pfn, access)
    }

    /// A store to a page this mm maps writable.
    fn store_mapped(&mut self, mm: MmId, lv: u64, pfn: u64) {
        let f = self.phys.flags(pfn);
        if f & pg::ANON != 0 {
            let old = self.phys.stamp(pfn);
            let s = self.new_stamp();
            self.phys.set_stamp(pfn, s);
            let m = self.mm_mut(mm);
            m.anon_digest =
                m.anon_digest.wrapping_sub(digest_term(lv, old)).wrapping_add(digest_term(lv, s));
            // The copy in swap (if any) is stale now: the page must be written again.
            self.set_page_dirty(pfn);
        } else if f & pg::PAGECACHE != 0 {
            let m = self.phys.mapping(pfn);
            self.store_file_page(mapping::id(m), mapping::index(m), pfn);
        }
    }

    /// do_wp_page (2.6.16): write fault on a present, write-protected PTE.
    fn do_wp_page(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        lv: u64,
        old: u64,
        access: Access,
    ) -> Result<()> {
        self.vmstat.pgfault += 1;
        let cpu = self.task(pid)?.cpu;
        let addr = self.arch.vaddr_of(lv);
        let flags = self.phys.flags(old);
        if old != self.zero_pfn && flags & pg::ANON != 0 && self.can_share_swap_page(old) {
            // Reuse: this mm is the only user.
            *self.mm_mut(mm).pt.get_mut(lv).unwrap() |= pte::WRITE | pte::DIRTY | pte::YOUNG;
            if access == Access::Store {
                self.store_mapped(mm, lv, old);
            }
            return Ok(());
        }
        if old != self.zero_pfn && flags & pg::PAGECACHE != 0 && v.has(VmFlags::SHARED) {
            *self.mm_mut(mm).pt.get_mut(lv).unwrap() |= pte::WRITE | pte::DIRTY | pte::YOUNG;
            self.set_page_dirty(old);
            if access == Access::Store {
                self.store_mapped(mm, lv, old);
            }
            return Ok(());
        }
        // Copy on write. do_wp_page holds a reference to the old page across the allocation:
        // direct reclaim must leave it (and this PTE) alone.
        self.phys.reclaim_hold = old;
        let new = self.alloc_user_page(pid, Some(v), addr);
        self.phys.reclaim_hold = 0;
        let new = new?;
        let content = if old == self.zero_pfn { 0 } else { self.phys.stamp(old) };
        let stamp = if access == Access::Store { self.new_stamp() } else { content };
        // Unmap the old page from this mm first.
        let old_term = if flags & pg::ANON != 0 { digest_term(lv, content) } else { 0 };
        let zero = self.zero_pfn;
        {
            let m = self.mm_mut(mm);
            m.anon_digest = m.anon_digest.wrapping_sub(old_term);
            if flags & pg::ANON != 0 {
                m.rss_anon -= 1;
            } else if old != zero {
                m.rss_file -= 1;
            }
        }
        if old != self.zero_pfn {
            self.page_remove_rmap(old);
        }
        self.map_new_anon(cpu, mm, lv, new, stamp);
        self.vmstat.cow_faults += 1;
        Ok(())
    }

    /// can_share_swap_page (2.6.16): the page is mapped once and, if in the swap cache, no swap
    /// PTE elsewhere names its slot.
    pub(crate) fn can_share_swap_page(&self, pfn: u64) -> bool {
        let mut count = u32::from(self.phys.mapcount(pfn));
        if count <= 1 && self.phys.flags(pfn) & pg::SWAPCACHE != 0 {
            if let Some(e) = self.swap.entry_of(pfn) {
                // page_swapcount: slot references other than the swap cache's own.
                count += u32::from(self.swap.count(e)) - 1;
            }
        }
        count == 1
    }

    /// page_remove_rmap + the release that may follow when the last mapping goes away.
    pub(crate) fn page_remove_rmap(&mut self, pfn: u64) {
        let mc = self.phys.mapcount_mut(pfn);
        debug_assert!(*mc > 0, "unmapping an unmapped page {pfn:#x}");
        *mc -= 1;
        if *mc == 0 {
            self.release_unmapped(pfn);
        }
    }

    /// A page that no PTE maps any more: an anonymous one leaves the swap cache when nothing else
    /// needs it (free_page_and_swap_cache) and is freed unless something still holds it; a
    /// page-cache page stays cached.
    pub(crate) fn release_unmapped(&mut self, pfn: u64) {
        let f = self.phys.flags(pfn);
        if f & pg::ISOLATED != 0 || f & pg::PAGECACHE != 0 {
            return;
        }
        if f & pg::SWAPCACHE != 0 {
            if let Some(e) = self.swap.entry_of(pfn) {
                if self.swap.count(e) > 1 {
                    // Other swap PTEs still name the slot: the page stays in the swap cache.
                    self.phys.set_mapping(pfn, 0);
                    return;
                }
                self.swap.cache_remove(pfn);
                self.swap.put(e);
                *self.phys.flags_mut(pfn) &= !pg::SWAPCACHE;
            }
        }
        self.phys.set_mapping(pfn, 0);
        self.free_if_orphan(pfn);
    }

    /// Frees a frame nothing maps, caches or holds any more: the last put_page(). A pin, I/O in
    /// flight (writeback, a lock held by someone) or isolation keeps it until that goes; a
    /// pagevec's reference goes with it (the drain would drop it).
    pub(crate) fn free_if_orphan(&mut self, pfn: u64) {
        let f = self.phys.flags(pfn);
        if f & pg::HUGE != 0 {
            // A hugetlb page is freed whole, to its pool (free_huge_folio()).
            self.hugetlb_put(pfn);
            return;
        }
        let held = pg::PAGECACHE | pg::SWAPCACHE | pg::ISOLATED | pg::WRITEBACK | pg::LOCKED;
        if f & pg::ALLOC == 0
            || f & held != 0
            || pfn == self.zero_pfn
            || self.phys.mapcount(pfn) != 0
            || self.pins.contains_key(&pfn)
        {
            return;
        }
        if f & pg::PAGEVEC != 0 {
            self.pagevec_forget(pfn);
        }
        self.phys.set_mapping(pfn, 0);
        self.phys.free(pfn);
    }

    /// Drops a page-cache page (truncate / freeing a shmem file).
    pub(crate) fn drop_from_page_cache(&mut self, pfn: u64) {
        let m = self.phys.mapping(pfn);
        let f = mapping::id(m);
        let idx = mapping::index(m);
        if let Some(Some(fm)) = self.files.get_mut(f as usize) {
            fm.cache.set(idx, 0);
        }
        *self.phys.flags_mut(pfn) &= !pg::PAGECACHE;
        if self.phys.mapcount(pfn) == 0 {
            self.phys.set_mapping(pfn, 0);
        }
        self.free_if_orphan(pfn);
    }

    /// do_swap_page (2.6.16): bring a swapped page back, with readahead, and map it.
    fn do_swap_page(
        &mut self,
        mm: MmId,
        v: &Vma,
        addr: u64,
        p: u64,
        access: Access,
        run: &mut FaultRun,
    ) -> Result<u64> {
        let e = SwpEntry::from_pte(p);
        let lv = self.arch.lvpn(addr);
        self.vmstat.pgfault += 1;
        let page = if let Some(pfn) = self.swap.lookup(e) {
            pfn
        } else {
            // do_swap_page(): swapin_readahead() for the cluster, then
            // read_swap_cache_async() for the faulting entry itself, which the cluster may
            // not include (it stops at the first free slot).
            self.swapin_readahead(mm, v, e, addr, run);
            let pfn = if let Some(pfn) = self.swap.lookup(e) {
                pfn
            } else {
                let pfn = self.alloc_in_run(v, addr, run)?;
                self.read_swap_page(run.cpu, e, pfn);
                pfn
            };
            self.vmstat.pgmajfault += 1;
            pfn
        };
        // Map it: page_add_anon_rmap, swap_free.
        let family = self.mm(mm).family;
        if self.phys.mapcount(page) == 0 {
            self.phys.set_mapping(page, mapping::pack(mapping::KIND_ANON, family, lv));
        }
        *self.phys.mapcount_mut(page) += 1;
        *self.phys.flags_mut(page) |= pg::ANON;
        self.swap.put(e);
        // 2.6.16: `if (write_access && can_share_swap_page(page))` the PTE is made dirty and
        // writable at once (maybe_mkwrite: the VMA is writable, access_error() saw to that);
        // otherwise the write goes on to do_wp_page() and copies. (6.x asks the same of
        // PageAnonExclusive, which a page only this mm maps and no other slot user names is.)
        let mut bits = pte::YOUNG;
        if access.write() && self.can_share_swap_page(page) {
            bits |= pte::DIRTY | pte::WRITE;
        }
        let new = pte::mk(page, bits);
        let m = self.mm_mut(mm);
        // The leaf exists: it holds the swap PTE.
        *m.pt.get_mut(lv).expect("the swap PTE's leaf") = new;
        m.rss_anon += 1;
        m.swap_ents -= 1;
        if self.swap.vm_swap_full() {
            self.remove_exclusive_swap_page(page);
        }
        Ok(new)
    }

    /// remove_exclusive_swap_page: frees the swap slot of a page mapped once whose slot nobody
    /// else names; the page becomes dirty (its only copy is in memory).
    pub(crate) fn remove_exclusive_swap_page(&mut self, pfn: u64) {
        // page_count(page) != 2 (the PTE and the cache): a pin keeps the slot too.
        if self.phys.flags(pfn) & (pg::SWAPCACHE | pg::WRITEBACK) != pg::SWAPCACHE
            || self.phys.mapcount(pfn) > 1
            || self.pins.contains_key(&pfn)
        {
            return;
        }
        if let Some(e) = self.swap.entry_of(pfn) {
            if self.swap.count(e) == 1 {
                self.swap.cache_remove(pfn);
                self.swap.put(e);
                *self.phys.flags_mut(pfn) = (self.phys.flags(pfn) & !pg::SWAPCACHE) | pg::DIRTY;
            }
        }
    }

    /// swapin_readahead + read_swap_cache_async (2.6.16): reads the aligned cluster of
    /// 2^page_cluster slots around `e` that are in use, allocating each page by the policy of
    /// the VMA at addr, addr + PAGE_SIZE, ... (the NUMA-aware walk of the 2.6.16 loop; it starts
    /// at the faulting address whatever the slot, as the kernel's does). Within the faulting
    /// VMA `v` the run's placement serves; past it, the VMA found there (or none).
    fn swapin_readahead(&mut self, mm: MmId, v: &Vma, e: SwpEntry, addr: u64, run: &mut FaultRun) {
        let (first, n) = self.swap.readahead_cluster(e, self.page_cluster);
        let ps = self.arch.page_size();
        let cpu = run.cpu;
        let mut a = addr;
        for i in 0..n {
            let ent = SwpEntry::new(e.swp_type(), first + i);
            if self.swap.lookup(ent).is_none() {
                let pfn = if a >= v.start && a < v.end {
                    self.alloc_in_run(v, a, run)
                } else {
                    let other = self.vma_at(mm, a).cloned();
                    self.alloc_user_page(run.pid, other.as_ref(), a)
                };
                let Ok(pfn) = pfn else { break };
                self.read_swap_page(cpu, ent, pfn);
            }
            a = a.wrapping_add(ps);
        }
        // lru_add_drain(): push the new pages onto the LRU now.
        self.drain_cpu(cpu as usize);
    }

    /// read_swap_cache_async() for a free frame: the slot's content enters the swap cache.
    pub(crate) fn read_swap_page(&mut self, cpu: u32, e: SwpEntry, pfn: u64) {
        self.phys.set_stamp(pfn, self.swap.stamp(e));
        *self.phys.flags_mut(pfn) |= pg::SWAPCACHE | pg::ANON;
        self.swap.cache_insert(e, pfn);
        self.swap.dup(e);
        self.lru_cache_add(cpu, pfn);
        self.vmstat.pswpin += 1;
        self.vmstat.pgpgin += 1;
        let ns = self.swap_io_ns(e);
        self.advance(ns);
    }

    /// hugetlb_fault: the whole huge page is allocated and mapped at once.
    fn hugetlb_fault(
        &mut self,
        pid: Pid,
        mm: MmId,
        v: &Vma,
        addr: u64,
        access: Access,
    ) -> Result<()> {
        let h = self.arch.huge_page_size();
        let n = h >> self.arch.page_shift;
        let base = addr / h * h;
        let lv0 = self.arch.lvpn(base);
        let lv = self.arch.lvpn(addr);
        if self.mm(mm).pt.get(lv0) == 0 {
            self.vmstat.pgfault += 1;
            let place = self.placement(pid, Some(v), base)?;
            // alloc_hugetlb_folio(): the pool, else a surplus page; neither: hugetlb_no_page()
            // returns VM_FAULT_SIGBUS (-ENOSPC).
            let head = self.hugetlb_alloc_fault(&place.candidates()).ok_or_else(|| {
                Error::bus(
                    addr,
                    format!(
                        "no hugetlb page for {base:#x}: the pool of the policy's nodes is \
                         empty and no surplus page can be allocated (nr_overcommit_hugepages \
                         {}, surplus {})",
                        self.hugetlb.overcommit.map_or("unlimited".into(), |o| o.to_string()),
                        self.hugetlb.surplus()
                    ),
                )
            })?;
            let family = self.mm(mm).family;
            let w = if v.has(VmFlags::WRITE) { pte::WRITE } else { 0 };
            for i in 0..n {
                self.phys.set_mapping(head + i, mapping::pack(mapping::KIND_ANON, family, lv0 + i));
                *self.phys.mapcount_mut(head + i) = 1;
                self.mm_mut(mm).pt.set(lv0 + i, pte::mk(head + i, PTE_HUGE | pte::YOUNG | w));
            }
            self.mm_mut(mm).rss_file += n;
        }
        if access == Access::Store {
            let pfn = pte::pfn(self.mm(mm).pt.get(lv));
            let s = self.new_stamp();
            self.phys.set_stamp(pfn, s);
            *self.mm_mut(mm).pt.get_mut(lv).unwrap() |= pte::DIRTY;
        }
        Ok(())
    }

    /// What the task would read at each page of [addr, addr+length): content stamps, without
    /// faulting anything in (0 for never-written memory).
    /// Reading unmapped memory is SIGSEGV at its first unmapped page, found before anything is
    /// allocated; a result too large for the host is a ValueError naming the length.
    pub fn peek(&self, pid: Pid, addr: u64, length: u64) -> Result<Vec<u32>> {
        let mm = self.task_mm(pid)?;
        let (start, end) = self.byte_range_pages(addr, length, "peek")?;
        if let Some(a) = self.first_unmapped(mm, start, end) {
            return Err(Error::segv(a, "no mapping at this address"));
        }
        let ps = self.arch.page_size();
        let mut out = page_results((end - start) / ps, "peek", length)?;
        let mut a = start;
        while a < end {
            let v = self.vma_at(mm, a).expect("the range is mapped: checked above");
            let stop = end.min(v.end);
            while a < stop {
                if a == start || a & PEEK_CHECK_MASK == 0 {
                    crate::interrupt::check()?;
                }
                out.push(self.read_content(mm, v, a));
                a += ps;
            }
        }
        Ok(out)
    }

    /// The content of one virtual page of `mm` (see `peek`).
    pub(crate) fn read_content(&self, mm: MmId, v: &Vma, addr: u64) -> u32 {
        let lv = self.arch.lvpn(addr);
        if self.phys.nr_folios != 0 {
            let pmd = self.mm(mm).pt.pmd(lv);
            if pmd != 0 {
                let head = pte::pfn(pmd);
                return if head == self.huge_zero {
                    0
                } else {
                    self.thp_read(head, lv % self.thp_nr())
                };
            }
        }
        let p = self.mm(mm).pt.get(lv);
        if pte::is_present(p) {
            if p & pte::SPECIAL != 0 || pte::pfn(p) == self.zero_pfn {
                return 0;
            }
            return self.phys.stamp(pte::pfn(p));
        }
        if pte::is_swap(p) {
            let e = SwpEntry::from_pte(p);
            return match self.swap.lookup(e) {
                Some(pfn) => self.phys.stamp(pfn),
                None => self.swap.stamp(e),
            };
        }
        match v.file {
            None => 0,
            Some(f) => {
                let fm = self.file(f);
                let idx = v.file_index(addr, self.arch.page_shift);
                if idx >= fm.pages {
                    0
                } else {
                    match (fm.cache.get(idx), fm.swapped.get(idx)) {
                        (0, 0) => fm.store.get(idx),
                        // A shmem page in a swap slot, or still in the swap cache.
                        (0, e) => match self.swap.lookup(SwpEntry(e)) {
                            Some(pfn) => self.phys.stamp(pfn),
                            None => self.swap.stamp(SwpEntry(e)),
                        },
                        (c, _) => self.phys.stamp(c - 1),
                    }
                }
            }
        }
    }
}

/// The error of a fault that found no free page on the placement's nodes.
#[cold]
fn fault_oom(addr: u64, place: &Placed) -> Error {
    Error::os(
        errno::ENOMEM,
        format!("out of memory faulting {addr:#x}: no free page on nodes {:?}", place.order),
    )
}
