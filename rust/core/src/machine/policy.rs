//! Where a new page goes: the effective memory policy (get_vma_policy: the VMA's, else the
//! task's, else default), the policy's decision (mempolicy::Mempolicy::target), the cpuset's
//! mems_allowed, and the zonelist walk of __alloc_pages.

use super::{Machine, Pid};
use crate::error::Result;
use crate::machine::mm::{VmFlags, Vma};
use crate::mempolicy::{AllocCtx, Mempolicy, VmaOffset, MPOL_INTERLEAVE};

/// Nodes to try for one allocation, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub order: Vec<u32>,
    /// The node changes page by page (interleaving): ask again for every page.
    pub per_page: bool,
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
        let mems = self.mems_allowed(pid)?;
        let t = self.task(pid)?;
        let local = self.topo.cpu_to_node(t.cpu);
        let pol = self.effective_policy(pid, vma).cloned();
        let Some(pol) = pol else {
            return Ok(Placed { order: self.order_from(local, &mems), per_page: false });
        };
        let vo = vma.map(|v| {
            let huge = v.has(VmFlags::HUGETLB);
            VmaOffset {
                vm_pgoff: v.pgoff,
                vm_start: v.start,
                addr,
                shift: if huge { self.arch.hpage_shift } else { self.arch.page_shift },
                page_shift: self.arch.page_shift,
            }
        });
        let ctx = AllocCtx { local_node: local, mems_allowed: &mems, vma: vo };
        let sem = self.semantics;
        let mut il = self.task(pid)?.il_next;
        let p = pol.target(sem, &ctx, &mut il)?;
        self.task_mut(pid)?.il_next = il;
        Ok(Placed {
            order: p.node_order(&self.topo.zonelists, &mems),
            per_page: pol.mode == MPOL_INTERLEAVE,
        })
    }

    /// The default policy's nodes: the local node's zonelist within mems_allowed.
    fn order_from(&self, nid: u32, mems: &crate::nodemask::NodeMask) -> Vec<u32> {
        self.topo.zonelist(nid).iter().copied().filter(|&n| mems.test(n)).collect()
    }

    /// Takes a page from the first node of the order that has one (no watermarks, no reclaim:
    /// a node is used down to its last page, then the next is tried).
    #[inline]
    pub(crate) fn alloc_placed(&mut self, p: &Placed) -> Option<u64> {
        p.order.iter().find_map(|&n| self.phys.alloc_on(n))
    }

    /// The numa_maps policy text of a policy (mpol_to_str of the machine's generation).
    pub fn policy_text(&self, pol: Option<&Mempolicy>) -> String {
        match pol {
            Some(p) => p.mpol_to_str(self.semantics),
            None => Mempolicy::default_policy(self.arch.max_numnodes())
                .map(|p| p.mpol_to_str(self.semantics))
                .unwrap_or_else(|_| "default".into()),
        }
    }
}
