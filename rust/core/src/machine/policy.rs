//! Where a new page goes: the effective memory policy (get_vma_policy: the VMA's, else the
//! task's, else default), the policy's decision (mempolicy::Mempolicy::target), the cpuset's
//! mems_allowed, and the zonelist walk of __alloc_pages.

use super::{Machine, Pid};
use crate::error::Result;
use crate::machine::mm::{VmFlags, Vma};
use crate::mempolicy::{AllocCtx, Mempolicy, VmaOffset, MPOL_INTERLEAVE};
use crate::phys::WMARK_LOW;
use crate::semantics::Semantics;

/// Nodes to try for one allocation, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub order: Vec<u32>,
    /// The node changes page by page (interleaving): ask again for every page.
    pub per_page: bool,
    /// The allocating task's CPU: direct reclaim drains its pagevec first.
    pub cpu: u32,
    /// The node zone_statistics() compares the page's node with (numa_hit or numa_miss):
    /// 2.6's zonelist->zones[0] (the first node of the zonelist, cpuset or not), 6.x's
    /// preferred_zoneref (the first node of the zonelist within the nodemask and the cpuset).
    pub preferred: u32,
}

impl Placed {
    pub fn candidates(&self) -> Vec<u32> {
        self.order.clone()
    }
    pub fn per_page(&self) -> bool {
        self.per_page
    }
}

impl Machine {
    /// The policy in force at `vma` for task `pid` (get_vma_policy()); None = default.
    pub fn effective_policy<'a>(&'a self, pid: Pid, vma: Option<&'a Vma>) -> Option<&'a Mempolicy> {
        let vp = vma.and_then(|v| v.policy.as_ref()).filter(|p| !p.is_default());
        vp.or_else(|| self.tasks.get(&pid).and_then(|t| t.policy.as_ref()))
            .filter(|p| !p.is_default())
    }

    /// alloc_page_vma (with a VMA) or alloc_pages_current (without): the nodes to try.
    pub(crate) fn placement(&mut self, pid: Pid, vma: Option<&Vma>, addr: u64) -> Result<Placed> {
        self.placement_shift(pid, vma, addr, None)
    }

    /// [`Machine::placement`] of a THP: interleaving counts in huge pages (6.x
    /// interleave_index: "ilx += (addr - vma->vm_start) >> (PAGE_SHIFT + order)").
    pub(crate) fn placement_thp(
        &mut self,
        pid: Pid,
        vma: Option<&Vma>,
        addr: u64,
    ) -> Result<Placed> {
        let shift = self.arch.page_shift + self.phys.thp_order;
        self.placement_shift(pid, vma, addr, Some(shift))
    }

    fn placement_shift(
        &mut self,
        pid: Pid,
        vma: Option<&Vma>,
        addr: u64,
        thp_shift: Option<u32>,
    ) -> Result<Placed> {
        let mems = self.mems_allowed(pid)?;
        let t = self.task(pid)?;
        let cpu = t.cpu;
        let local = self.topo.cpu_to_node(cpu);
        let pol = self.effective_policy(pid, vma).cloned();
        let Some(pol) = pol else {
            let order = self.order_from(local, &mems);
            let head = self.topo.zonelist(local).first().copied();
            let preferred = self.stat_preferred(head, &order, local);
            return Ok(Placed { order, per_page: false, cpu, preferred });
        };
        let vo = vma.map(|v| {
            let huge = v.has(VmFlags::HUGETLB);
            VmaOffset {
                vm_pgoff: v.pgoff,
                vm_start: v.start,
                addr,
                shift: if huge {
                    self.arch.hpage_shift
                } else {
                    thp_shift.unwrap_or(self.arch.page_shift)
                },
                page_shift: self.arch.page_shift,
            }
        });
        let ctx = AllocCtx { local_node: local, mems_allowed: &mems, vma: vo };
        let sem = self.semantics;
        let mut il = self.task(pid)?.il_next;
        let p = pol.target(sem, &ctx, &mut il)?;
        self.task_mut(pid)?.il_next = il;
        let order = p.node_order(&self.topo.zonelists, &mems);
        let head = match &p.bind_order {
            Some(b) => b.first().copied(),
            None => self.topo.zonelist(p.preferred).first().copied(),
        };
        let preferred = self.stat_preferred(head, &order, p.preferred);
        Ok(Placed { order, per_page: pol.mode == MPOL_INTERLEAVE, cpu, preferred })
    }

    /// The node numa_hit is counted against (see [`Placed::preferred`]): `head` is the first
    /// node of the zonelist the allocation walks before the cpuset filters it (2.6), `order`
    /// the nodes it may use (6.x takes their first).
    fn stat_preferred(&self, head: Option<u32>, order: &[u32], fallback: u32) -> u32 {
        let first = if self.semantics == Semantics::Modern { order.first() } else { head.as_ref() };
        first.copied().unwrap_or(fallback)
    }

    /// zone_statistics() (mm/page_alloc.c; 2.6.14-2.6.16 per allocation of the per-CPU
    /// pageset, 6.x __count_numa_events() per page): the page's node counts numa_hit if it
    /// is the preferred node, else numa_miss, and the preferred node numa_foreign; it counts
    /// local_node if it is the allocating CPU's node (numa_node_id()), else other_node. An
    /// interleaved allocation that landed on its interleave node also counts interleave_hit
    /// there (alloc_page_interleave()). numasim allocates order-0 pages, so the two counting
    /// units agree.
    #[inline]
    pub(crate) fn zone_statistics(&mut self, preferred: u32, pfn: u64, local: u32, il: bool) {
        let nid = self.phys.pfn_to_nid(pfn);
        self.zone_statistics_n(preferred, nid, local, il, 1);
    }

    /// zone_statistics() for `k` pages taken from node `nid` (the allocator knows the node:
    /// no lookup per page, and a batch counts at once).
    #[inline]
    pub(crate) fn zone_statistics_n(
        &mut self,
        preferred: u32,
        nid: u32,
        local: u32,
        il: bool,
        k: u64,
    ) {
        let s = &mut self.numastat;
        let (n, p) = (nid as usize, preferred as usize);
        if nid == preferred {
            s[n].numa_hit += k;
            if il {
                s[n].interleave_hit += k;
            }
        } else {
            s[n].numa_miss += k;
            if let Some(f) = s.get_mut(p) {
                f.numa_foreign += k;
            }
        }
        if nid == local {
            s[n].local_node += k;
        } else {
            s[n].other_node += k;
        }
    }

    /// The default policy's nodes: the local node's zonelist within mems_allowed.
    fn order_from(&self, nid: u32, mems: &crate::nodemask::NodeMask) -> Vec<u32> {
        self.topo.zonelist(nid).iter().copied().filter(|&n| mems.test(n)).collect()
    }

    /// Takes a page along the order (the zonelist within policy and cpuset): the first node
    /// above its low watermark (get_page_from_freelist() with ALLOC_WMARK_LOW: a node falls
    /// back to the next before anything is reclaimed), else the slow path: the min mark,
    /// direct reclaim over the same nodes, and None where the OOM killer would run
    /// (vmscan.rs).
    #[inline]
    pub(crate) fn alloc_placed(&mut self, p: &Placed) -> Option<u64> {
        let fast = p.order.iter().find_map(|&n| Some((n, self.phys.alloc_wmark(n, WMARK_LOW)?)));
        let (nid, pfn) = match fast {
            Some(got) => got,
            None => self.alloc_placed_slow(p)?,
        };
        let local = self.topo.cpu_to_node(p.cpu);
        self.zone_statistics_n(p.preferred, nid, local, p.per_page, 1);
        Some(pfn)
    }

    #[cold]
    #[inline(never)]
    fn alloc_placed_slow(&mut self, p: &Placed) -> Option<(u32, u64)> {
        let pfn = self.alloc_slowpath(&p.order, Some(p.cpu))?;
        Some((self.phys.pfn_to_nid(pfn), pfn))
    }

    /// The numa_maps policy text of a policy (mpol_to_str of the machine's generation).
    pub fn policy_text(&self, pol: Option<&Mempolicy>) -> String {
        match pol {
            Some(p) => p.mpol_to_str(self.semantics),
            None => Mempolicy::default_policy(self.arch.max_numnodes())
                .map_or_else(|_| "default".into(), |p| p.mpol_to_str(self.semantics)),
        }
    }
}

use crate::error::{errno, Error};
use crate::mempolicy::{decode_get_mempolicy, GetMempolicyQuery, PolicyCall, PolicyCtx};
use crate::nodemask::{node_int, NodeMask};

impl Machine {
    fn policy_ctx_masks(&self, pid: Pid) -> Result<(NodeMask, NodeMask, NodeMask)> {
        Ok((self.mems_allowed(pid)?, self.topo.online.clone(), self.topo.n_memory.clone()))
    }

    /// Builds a policy the way set_mempolicy()/mbind() do once the mode is sanitized
    /// (mpol_new() of the machine's generation: EINVAL for a node set the mode refuses).
    /// `mode`/`flags` come from [`sanitize_mode`], which the syscall layer calls at its point in
    /// the kernel's order; `nodes` has MAX_NUMNODES bits (what get_nodes() produced).
    pub fn make_policy(
        &self,
        pid: Pid,
        call: PolicyCall,
        mode: u16,
        flags: u16,
        nodes: &NodeMask,
    ) -> Result<Option<Mempolicy>> {
        let (mems, online, withmem) = self.policy_ctx_masks(pid)?;
        let ctx = PolicyCtx {
            semantics: self.semantics,
            call,
            mems_allowed: &mems,
            online: &online,
            with_memory: &withmem,
        };
        let p = Mempolicy::new(&ctx, mode, flags, nodes)?;
        Ok(if p.is_default() { None } else { Some(p) })
    }

    /// set_mempolicy(2) for task `pid` (do_set_mempolicy) once the syscall layer has read the
    /// nodemask and sanitized the mode: mpol_new(), then the task policy and its interleave
    /// cursor.
    pub fn set_mempolicy(
        &mut self,
        pid: Pid,
        mode: u16,
        flags: u16,
        nodes: &NodeMask,
    ) -> Result<()> {
        let pol = self.make_policy(pid, PolicyCall::SetMempolicy, mode, flags, nodes)?;
        let sem = self.semantics;
        let t = self.task_mut(pid)?;
        if let Some(p) = &pol {
            t.il_next.on_set_mempolicy(sem, p);
        }
        // Per task (current->mempolicy): threads of the process keep their own.
        t.policy = pol;
        Ok(())
    }

    /// mbind(2) without move flags: installs the policy on the VMAs of [start, start+len)
    /// (mbind_range), splitting them at the edges. Unmapped holes are EFAULT unless the new
    /// policy is the default one (MPOL_MF_DISCONTIG_OK), as check_range() does.
    pub fn mbind_policy(
        &mut self,
        pid: Pid,
        start: u64,
        len: u64,
        pol: Option<&Mempolicy>,
    ) -> Result<()> {
        let mm = self.task_mm(pid)?;
        let end = self.mbind_end(start, len)?;
        if end == start {
            return Ok(());
        }
        let vmas = self.vmas_in(mm, start, end);
        if vmas.is_empty() {
            return Err(Error::os(
                errno::EFAULT,
                format!("mbind: no mapping in [{start:#x}, {end:#x})"),
            ));
        }
        if pol.is_some() {
            // check_range() without MPOL_MF_DISCONTIG_OK: a hole before, between or after.
            let mut cur = start;
            for v in &vmas {
                if v.start > cur {
                    return Err(Error::os(errno::EFAULT, format!("mbind: hole at {cur:#x}")));
                }
                cur = v.end;
            }
            if cur < end {
                return Err(Error::os(errno::EFAULT, format!("mbind: hole at {cur:#x}")));
            }
        }
        // mbind_range()'s split_vma() calls: a hugetlb area is cut only at a huge page.
        self.hugetlb_split_check(&vmas[0], start, "mbind")?;
        self.hugetlb_split_check(&vmas[vmas.len() - 1], end, "mbind")?;
        self.split_at(mm, start.max(vmas[0].start));
        self.split_at(mm, end.min(vmas[vmas.len() - 1].end));
        let touched: Vec<u64> = self.vmas_in(mm, start, end).iter().map(|v| v.start).collect();
        for &s in &touched {
            self.mm_mut(mm).vmas.get_mut(&s).expect("vma").policy = pol.cloned();
        }
        for &s in touched.iter().rev() {
            self.try_merge(mm, s);
        }
        Ok(())
    }

    /// The end of an mbind range. do_mbind()'s range checks (alignment, wrap at the arch's
    /// word size: EINVAL) belong to the syscall layer; this guard only keeps the core's own
    /// arithmetic sound when it is called directly.
    pub(crate) fn mbind_end(&self, start: u64, len: u64) -> Result<u64> {
        let ps = self.arch.page_size();
        len.checked_next_multiple_of(ps)
            .and_then(|l| start.checked_add(l))
            .filter(|_| start % ps == 0)
            .ok_or_else(|| {
                Error::value(format!(
                    "mbind range: start {start:#x} must be page aligned and start + len \
                     ({len:#x}) must not wrap"
                ))
            })
    }

    /// get_mempolicy(2) (do_get_mempolicy): returns (policy value, nodemask). With MPOL_F_NODE
    /// and MPOL_F_ADDR the page at `addr` is faulted in (read) and its node reported.
    pub fn get_mempolicy(&mut self, pid: Pid, flags: u64, addr: u64) -> Result<(i32, NodeMask)> {
        let nbits = self.arch.max_numnodes();
        let q = decode_get_mempolicy(self.semantics, flags, addr)?;
        let sem = self.semantics;
        let online = self.topo.online.clone();
        let vma_policy = |m: &Machine, a: u64| -> Result<Option<Mempolicy>> {
            let mm = m.task_mm(pid)?;
            let v = m.vma_at(mm, a).ok_or_else(|| {
                Error::os(errno::EFAULT, format!("get_mempolicy: no mapping at {a:#x}"))
            })?;
            Ok(v.policy.clone())
        };
        match q {
            GetMempolicyQuery::MemsAllowed => Ok((0, self.mems_allowed(pid)?)),
            GetMempolicyQuery::Policy { addr } => {
                let pol = match addr {
                    Some(a) => vma_policy(self, a)?,
                    None => self.task(pid)?.policy.clone(),
                };
                match pol {
                    Some(p) => Ok((p.get_mode_value(sem), p.get_nodemask(sem, &online)?)),
                    None => Ok((0, NodeMask::empty(nbits)?)),
                }
            }
            GetMempolicyQuery::Node { addr: Some(a) } => {
                let pol = vma_policy(self, a)?;
                // lookup_node(): get_user_pages(addr, 1, write=0), then page_to_nid. GUP fails
                // with EFAULT on VM_IO/VM_PFNMAP areas in every generation, and on areas without
                // VM_READ in 6.x (check_vma_flags); 2.6 only asks for VM_MAYREAD, which every
                // mmap has, so it faults a PROT_NONE page in like any read.
                let mm = self.task_mm(pid)?;
                let ps = self.arch.page_size();
                let page = a / ps * ps;
                let v = self.vma_at(mm, page).cloned().expect("vma_policy found it");
                let beyond_eof = v.file.is_some_and(|f| {
                    v.file_index(page, self.arch.page_shift) >= self.file(f).pages
                });
                let unreadable = beyond_eof
                    || (sem == crate::semantics::Semantics::Modern
                        && !v.has(crate::machine::mm::VmFlags::READ));
                if v.flags & (crate::machine::mm::VmFlags::IO | crate::machine::mm::VmFlags::PFNMAP)
                    != 0
                    || unreadable
                {
                    return Err(Error::os(
                        errno::EFAULT,
                        format!("get_mempolicy: get_user_pages() cannot read the page at {a:#x}"),
                    ));
                }
                self.fault_one(pid, mm, &v, page, crate::machine::fault::Access::Read)?;
                let node = match self.frame_at(pid, a) {
                    Ok(pfn) => node_int(self.phys.pfn_to_nid(pfn)),
                    Err(_) => node_int(self.phys.pfn_to_nid(self.zero_pfn)),
                };
                let mask = match pol {
                    Some(p) => p.get_nodemask(sem, &online)?,
                    None => NodeMask::empty(nbits)?,
                };
                Ok((node, mask))
            }
            GetMempolicyQuery::Node { addr: None } => {
                let t = self.task(pid)?;
                match &t.policy {
                    Some(p) => Ok((node_int(p.get_interleave_node(sem, &t.il_next)?), p.get_nodemask(sem, &online)?)),
                    None => Err(Error::os(
                        errno::EINVAL,
                        "get_mempolicy(MPOL_F_NODE) without MPOL_F_ADDR needs an interleave task policy; the task has the default policy",
                    )),
                }
            }
        }
    }
}
