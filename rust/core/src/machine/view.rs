//! What /proc and /sys would show: page placement, per-node usage, numa_maps statistics.

use super::{Machine, Pid};
use crate::error::{errno, Error, Result};
use crate::host::to_usize;
use crate::machine::fault::{page_results, PTE_HUGE};
use crate::machine::mm::{VmFlags, VmaKind};
use crate::nodemask::node_int;
use crate::pagetable::pte;
use crate::phys::{mapping, pg};
use crate::semantics::Semantics;

/// Pages of one VMA `page_nodes` reads between two looks for a Ctrl-C.
const PAGE_NODES_WINDOW: u64 = 1 << 16;

/// Pads `out` with `v` up to `len` entries.
#[inline]
fn fill_upto(out: &mut Vec<i32>, len: u64, v: i32) {
    if (out.len() as u64) < len {
        out.resize(to_usize(len), v);
    }
}

/// gather_stats() of one VMA (fs/proc/task_mmu.c / mm/mempolicy.c show_numa_map).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NumaMapsEntry {
    pub start: u64,
    pub end: u64,
    pub file: Option<String>,
    pub heap: bool,
    pub stack: bool,
    pub huge: bool,
    /// Policy text of the VMA (or task) policy, per semantics.
    pub policy: String,
    pub pages: u64,
    pub anon: u64,
    pub dirty: u64,
    /// Pages with mapcount > 0.
    pub mapped: u64,
    pub mapmax: u64,
    pub swapcache: u64,
    pub active: u64,
    pub writeback: u64,
    pub locked: u64,
    /// (node, pages) for nodes with a non-zero count, ascending.
    pub nodes: Vec<(u32, u64)>,
    /// Page size of the VMA in KiB (kernelpagesize_kB).
    pub kernel_page_kb: u64,
}

/// One node's memory as /sys/devices/system/node/nodeN/meminfo shows it, in pages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeMeminfo {
    pub nid: u32,
    pub total: u64,
    pub free: u64,
    pub used: u64,
    pub active: u64,
    pub inactive: u64,
    pub file_pages: u64,
    pub anon_pages: u64,
    pub mapped: u64,
    pub dirty: u64,
    pub writeback: u64,
    pub swapcache: u64,
    pub mlocked: u64,
    pub huge: u64,
    /// NR_ANON_THPS in base pages ("AnonHugePages:" of node meminfo, shown in kB).
    pub anon_huge: u64,
    /// The hugetlb pool on the node, in huge pages (HugePages_Total/Free/Surp).
    pub huge_pages_total: u64,
    pub huge_pages_free: u64,
    pub huge_pages_surp: u64,
}

impl Machine {
    /// The node of each page of [addr, addr+length), as move_pages(2) reports with nodes NULL:
    /// the node id, -ENOENT for a page not present (never touched or swapped out), -EFAULT for
    /// an address with no mapping. The zero page and PFN-mapped I/O pages have no node: -ENOENT
    /// up to 2.6.18 (follow_page() gives NULL), -EFAULT in modern kernels (FOLL_DUMP).
    ///
    /// The range must lie below TASK_SIZE (EFAULT otherwise: no per-page answer can be given for
    /// addresses a task cannot have); a length of 0 covers no page. A result too large for the
    /// host is a ValueError naming the length.
    pub fn page_nodes(&self, pid: Pid, addr: u64, length: u64) -> Result<Vec<i32>> {
        let mm = self.task_mm(pid)?;
        if length == 0 {
            return Ok(Vec::new());
        }
        let end = self.arch.end_below_task_size(addr, length).ok_or_else(|| {
            Error::os(
                errno::EFAULT,
                format!(
                    "page_nodes: [{addr:#x}, +{length:#x}) reaches past the end of the task's \
                     address space (TASK_SIZE {:#x} on {})",
                    self.arch.task_size, self.arch.name
                ),
            )
        })?;
        let ps = self.arch.page_size();
        // TASK_SIZE is page aligned, so the last page ends below it too.
        let (start, end) = (addr / ps * ps, end.next_multiple_of(ps));
        let nopage =
            if self.semantics == Semantics::Modern { -errno::EFAULT } else { -errno::ENOENT };
        let mut out = page_results::<i32>((end - start) / ps, "page_nodes", length)?;
        let ranges = self.arch.user_ranges();
        let m = self.mm(mm);
        let mut a = start;
        while a < end {
            crate::interrupt::check()?;
            // Between the user ranges of ia64's regions nothing can be mapped.
            let Some(&(_, rend)) = ranges.iter().find(|&&(s, e)| a >= s && a < e) else {
                let next = ranges.iter().map(|&(s, _)| s).filter(|&s| s > a).min();
                let upto = next.unwrap_or(end).min(end);
                fill_upto(&mut out, (upto - start) / ps, -errno::EFAULT);
                a = upto;
                continue;
            };
            let stop = end.min(rend);
            let Some(v) = self.vma_at(mm, a) else {
                // No mapping up to the next VMA.
                let next = m.vmas.range(a..stop).next().map_or(stop, |(&s, _)| s);
                fill_upto(&mut out, (next - start) / ps, -errno::EFAULT);
                a = next;
                continue;
            };
            // At most PAGE_NODES_WINDOW pages at a time, so a Ctrl-C is seen in a huge VMA.
            let take = ((v.end.min(stop) - a) / ps).min(PAGE_NODES_WINDOW);
            let (ls, le) = (self.arch.lvpn(a), self.arch.lvpn(a) + take);
            let base = out.len() as u64;
            let mut huge: Vec<(u64, u64)> = Vec::new();
            m.pt.for_each_pmd(ls, le, |lv0, p| huge.push((lv0, p)));
            m.pt.for_each(ls, le, |first, ptes| {
                fill_upto(&mut out, base + (first - ls), -errno::ENOENT);
                out.extend(ptes.iter().map(|&p| {
                    if !pte::is_present(p) {
                        -errno::ENOENT
                    } else if p & pte::SPECIAL != 0 || pte::pfn(p) == self.zero_pfn {
                        nopage
                    } else {
                        node_int(self.phys.pfn_to_nid(pte::pfn(p)))
                    }
                }));
            });
            fill_upto(&mut out, base + take, -errno::ENOENT);
            // Base pages of PMD-mapped THPs: their THP's node (the huge zero page has none).
            for (lv0, p) in huge {
                let v = if pte::pfn(p) == self.huge_zero {
                    nopage
                } else {
                    node_int(self.phys.pfn_to_nid(pte::pfn(p)))
                };
                let (s, e) = (lv0.max(ls), (lv0 + self.thp_nr()).min(le));
                out[to_usize(base + s - ls)..to_usize(base + e - ls)].fill(v);
            }
            a += take * ps;
        }
        debug_assert_eq!(out.len() as u64, (end - start) / ps);
        Ok(out)
    }

    /// Pages of the task's address space present on each node, indexed by node id (only nodes
    /// that exist appear; the zero page and I/O pages are not counted).
    pub fn resident_by_node(&self, pid: Pid) -> Result<Vec<(u32, u64)>> {
        let mm = self.task_mm(pid)?;
        let mut counts = vec![0u64; self.topo.max_numnodes() as usize];
        let lv_end = 1u64 << self.arch.lvpn_bits();
        self.mm(mm).pt.for_each_pmd(0, lv_end, |_, p| {
            if pte::pfn(p) != self.huge_zero {
                counts[self.phys.pfn_to_nid(pte::pfn(p)) as usize] += self.thp_nr();
            }
        });
        self.mm(mm).pt.for_each(0, lv_end, |_, ptes| {
            for &p in ptes {
                if pte::is_present(p) && p & pte::SPECIAL == 0 && pte::pfn(p) != self.zero_pfn {
                    counts[self.phys.pfn_to_nid(pte::pfn(p)) as usize] += 1;
                }
            }
        });
        Ok(self.topo.nodes.iter().map(|n| (n.nid, counts[n.nid as usize])).collect())
    }

    /// numa_maps statistics for every VMA of a task (only present pages with a struct page,
    /// the zero page excluded, as gather_stats()).
    pub fn numa_maps(&self, pid: Pid) -> Result<Vec<NumaMapsEntry>> {
        let mm = self.task_mm(pid)?;
        let task = self.task(pid)?;
        let mut out = Vec::new();
        for v in self.mm(mm).vmas.values() {
            let mut e = NumaMapsEntry {
                start: v.start,
                end: v.end,
                file: v.file.map(|f| self.file(f).path.clone()),
                heap: v.kind == VmaKind::Heap,
                stack: v.kind == VmaKind::Stack,
                huge: v.has(VmFlags::HUGETLB),
                policy: self.policy_text(v.policy.as_ref().or(task.policy.as_ref())),
                kernel_page_kb: if v.has(VmFlags::HUGETLB) {
                    self.arch.huge_page_size()
                } else {
                    self.arch.page_size()
                } >> 10,
                ..Default::default()
            };
            let mut per_node = vec![0u64; self.topo.max_numnodes() as usize];
            let (ls, le) = (self.arch.lvpn(v.start), self.arch.lvpn(v.end - 1) + 1);
            let step = if e.huge { self.arch.huge_page_size() >> self.arch.page_shift } else { 1 };
            let pt = &self.mm(mm).pt;
            pt.for_each(ls, le, |first, ptes| {
                for (i, &p) in ptes.iter().enumerate() {
                    if !pte::is_present(p) || p & pte::SPECIAL != 0 || pte::pfn(p) == self.zero_pfn
                    {
                        continue;
                    }
                    // A huge page counts once, at its first base page.
                    if p & PTE_HUGE != 0 && (first + i as u64) % step != 0 {
                        continue;
                    }
                    let pfn = pte::pfn(p);
                    let f = self.phys.flags(pfn);
                    e.pages += 1;
                    if f & pg::ANON != 0 {
                        e.anon += 1;
                    }
                    // gather_hugetlb_stats(): the one huge PTE's dirty bit, which here is any
                    // of the base PTEs of the huge page.
                    let dirty = if p & PTE_HUGE != 0 {
                        let lv = first + i as u64;
                        (lv..lv + step).any(|k| pt.get(k) & pte::DIRTY != 0)
                    } else {
                        p & pte::DIRTY != 0 || f & pg::DIRTY != 0
                    };
                    if dirty {
                        e.dirty += 1;
                    }
                    let mc = u64::from(self.phys.mapcount(pfn));
                    if mc > 0 {
                        e.mapped += 1;
                    }
                    e.mapmax = e.mapmax.max(mc);
                    if f & pg::SWAPCACHE != 0 {
                        e.swapcache += 1;
                    }
                    if f & pg::ACTIVE != 0 {
                        e.active += 1;
                    }
                    if f & pg::WRITEBACK != 0 {
                        e.writeback += 1;
                    }
                    if f & pg::LOCKED != 0 {
                        e.locked += 1;
                    }
                    per_node[self.phys.pfn_to_nid(pfn) as usize] += 1;
                }
            });
            // PMD-mapped THPs (gather_pte_stats()'s pmd_trans_huge branch: gather_stats(page,
            // md, pmd_dirty(*pmd), HPAGE_PMD_NR)): every count in base pages; the huge zero
            // page is not counted (can_gather_numa_stats_pmd()).
            let n = self.thp_nr();
            pt.for_each_pmd(ls, le, |_, p| {
                let head = pte::pfn(p);
                let Some(f) = self.phys.folio(head).filter(|_| head != self.huge_zero) else {
                    return;
                };
                e.pages += n;
                e.anon += n;
                if p & pte::DIRTY != 0 || f.flags & pg::DIRTY != 0 {
                    e.dirty += n;
                }
                e.mapped += n;
                e.mapmax = e.mapmax.max(u64::from(f.mapcount));
                if f.flags & pg::ACTIVE != 0 {
                    e.active += n;
                }
                per_node[self.phys.pfn_to_nid(head) as usize] += n;
            });
            // per_node has max_numnodes (a u32) entries: the zip numbers every one.
            e.nodes =
                (0u32..).zip(&per_node).filter(|&(_, &c)| c > 0).map(|(n, &c)| (n, c)).collect();
            out.push(e);
        }
        Ok(out)
    }

    /// Pages of `nid` mapped in some VM_LOCKED area: NR_MLOCK. Only kernels with the
    /// unevictable LRU (2.6.28 and later: the modern semantics) keep the count; earlier ones
    /// have no such line, and 0 is returned. Derived from the page tables rather than kept in a
    /// page flag, so it cannot drift.
    pub fn mlocked_pages(&self, nid: u32) -> u64 {
        if self.semantics != Semantics::Modern {
            return 0;
        }
        let mut pfns = Vec::new();
        for m in self.mms.iter().flatten() {
            for v in m.vmas.values().filter(|v| v.has(VmFlags::LOCKED) && !v.has(VmFlags::IO)) {
                let (ls, le) = (self.arch.lvpn(v.start), self.arch.lvpn(v.end - 1) + 1);
                // mlock_folio() of a PMD-mapped THP: all its base pages (not the huge zero page).
                m.pt.for_each_pmd(ls, le, |_, p| {
                    let head = pte::pfn(p);
                    if head != self.huge_zero && self.phys.pfn_to_nid(head) == nid {
                        pfns.extend(head..head + self.thp_nr());
                    }
                });
                m.pt.for_each(ls, le, |_, ptes| {
                    pfns.extend(
                        ptes.iter()
                            .filter(|&&p| {
                                pte::is_present(p)
                                    && p & pte::SPECIAL == 0
                                    && pte::pfn(p) != self.zero_pfn
                            })
                            .map(|&p| pte::pfn(p))
                            .filter(|&pfn| self.phys.pfn_to_nid(pfn) == nid),
                    );
                });
            }
        }
        pfns.sort_unstable();
        pfns.dedup();
        pfns.len() as u64
    }

    /// /proc/zoneinfo of every node with memory (numasim's one zone per node): free pages,
    /// watermarks, LRU list lengths (counted from the page flags, anon and file apart as
    /// 6.x's lists are) and the zone's reclaim state.
    pub fn zoneinfo(&self) -> Vec<crate::machine::watermark::ZoneInfo> {
        use crate::phys::{WMARK_HIGH, WMARK_LOW, WMARK_MIN};
        let mut out = Vec::new();
        for n in self.phys.nodes.iter().filter(|n| n.pages > 0) {
            let mut z = crate::machine::watermark::ZoneInfo {
                nid: n.nid,
                start_pfn: n.start_pfn,
                present: n.pages,
                free: n.nr_free(),
                min: n.wmark[WMARK_MIN],
                low: n.wmark[WMARK_LOW],
                high: n.wmark[WMARK_HIGH],
                scanned: n.lru.pgscan,
                reclaimed: n.lru.pgsteal,
                nr_scan_active: n.lru.nr_scan_active,
                nr_scan_inactive: n.lru.nr_scan_inactive,
                prev_priority: n.lru.prev_priority,
                ..Default::default()
            };
            self.phys.for_each_frame(n, |pfn, sec, off| {
                let f = sec.flags[off];
                if f & (pg::ALLOC | pg::LRU) != pg::ALLOC | pg::LRU {
                    return;
                }
                let c = match (self.is_file_lru(f, pfn), f & pg::ACTIVE != 0) {
                    (false, false) => &mut z.inactive_anon,
                    (false, true) => &mut z.active_anon,
                    (true, false) => &mut z.inactive_file,
                    (true, true) => &mut z.active_file,
                };
                *c += 1;
            });
            out.push(z);
        }
        out
    }

    /// Per-node meminfo, in pages.
    pub fn meminfo(&self, nid: u32) -> Result<NodeMeminfo> {
        let n = self.phys.node(nid).ok_or_else(|| {
            crate::error::Error::value(format!("node {nid} does not exist on this machine"))
        })?;
        let mut mi = NodeMeminfo {
            nid,
            total: n.pages,
            free: n.nr_free(),
            used: n.pages - n.nr_free(),
            huge_pages_total: self.hugetlb_counts(nid).total,
            huge_pages_free: self.hugetlb_counts(nid).free,
            huge_pages_surp: self.hugetlb_counts(nid).surplus,
            ..Default::default()
        };
        self.phys.for_each_frame(n, |_, sec, off| {
            let f = sec.flags[off];
            if f & pg::ALLOC != 0 {
                if f & pg::LRU != 0 {
                    if f & pg::ACTIVE != 0 {
                        mi.active += 1;
                    } else {
                        mi.inactive += 1;
                    }
                }
                if f & pg::PAGECACHE != 0 {
                    mi.file_pages += 1;
                }
                if f & pg::SWAPCACHE != 0 {
                    mi.swapcache += 1;
                    mi.file_pages += 1;
                }
                if f & pg::ANON != 0 && sec.mapcount[off] > 0 {
                    mi.anon_pages += 1;
                }
                if f & (pg::PAGECACHE) != 0 && sec.mapcount[off] > 0 {
                    mi.mapped += 1;
                }
                // NR_FILE_DIRTY: page-cache pages of files that account dirty pages (not
                // anonymous pages, not the swap cache, not shmem).
                if f & (pg::DIRTY | pg::PAGECACHE) == (pg::DIRTY | pg::PAGECACHE)
                    && !self.files[mapping::id(sec.mapping[off]) as usize]
                        .as_ref()
                        .is_some_and(|x| x.shmem)
                {
                    mi.dirty += 1;
                }
                if f & pg::WRITEBACK != 0 {
                    mi.writeback += 1;
                }
                if f & pg::HUGE != 0 {
                    mi.huge += 1;
                }
            }
        });
        // PMD-mapped anonymous THPs: AnonPages and AnonHugePages (NR_ANON_THPS) count them,
        // and the LRU lines their base pages; the huge zero page is neither.
        let hn = self.thp_nr();
        for (head, f) in self.phys.folios_of(n) {
            if head == self.huge_zero {
                continue;
            }
            if f.mapcount > 0 {
                mi.anon_pages += hn;
                mi.anon_huge += hn;
            }
            if f.flags & pg::LRU != 0 {
                if f.flags & pg::ACTIVE != 0 {
                    mi.active += hn;
                } else {
                    mi.inactive += hn;
                }
            }
        }
        mi.mlocked = self.mlocked_pages(nid);
        Ok(mi)
    }
}
