//! mbind(2) with MPOL_MF_MOVE / MPOL_MF_MOVE_ALL / MPOL_MF_STRICT: the page work of do_mbind().
//! Pages of the range that are not on the policy's nodes are collected (check_range with
//! MPOL_MF_INVERT) before the policy is installed, then moved where the new policy puts them:
//! 2.6.16 migrate_pages_to(pagelist, vma, -1) with alloc_page_vma() at a fake address growing
//! from the range's first VMA; modern migrate_pages(new_page) allocating by the policy at each
//! page's own address; V5 evicts them (they come back by the new policy on fault).

use super::collect::{Select, Walk};
use super::page::PageList;
use super::{Ctx, MigrateReport, Target};
use crate::error::{errno, Error, Result};
use crate::machine::{Machine, Pid};
use crate::mempolicy::{Mempolicy, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT};
use crate::nodemask::NodeMask;
use crate::semantics::Semantics;

impl Machine {
    /// do_mbind() with move flags: installs `pol` on [start, start+len) (as
    /// [`Machine::mbind_policy`]) and moves the pages that do not follow it. `nodes` is the
    /// user's node mask (get_nodes()): pages on nodes outside it are "misplaced" (an empty mask,
    /// as for MPOL_DEFAULT, selects every page). `flags`: MPOL_MF_STRICT | MPOL_MF_MOVE |
    /// MPOL_MF_MOVE_ALL (permissions checked by the caller).
    ///
    /// `ret` is what mbind() returns: 0, or -EIO when MPOL_MF_STRICT is set and misplaced pages
    /// stay (2.6.16: pages that failed to move; modern: also pages that could not be isolated);
    /// 2.6.16 without free swap fails with ENODEV before installing anything (check_range()).
    pub fn mbind_migrate(
        &mut self,
        pid: Pid,
        start: u64,
        len: u64,
        pol: Option<&Mempolicy>,
        nodes: &NodeMask,
        flags: u32,
    ) -> Result<MigrateReport> {
        // The syscall layer rejects unknown flags (EINVAL) before it gets here.
        if flags & !(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) != 0 {
            return Err(Error::value(format!(
                "mbind_migrate: flags {flags:#x} have bits other than MPOL_MF_STRICT, \
                 MPOL_MF_MOVE and MPOL_MF_MOVE_ALL"
            )));
        }
        let mm = self.task_mm(pid)?;
        let sem = self.semantics;
        let end = self.mbind_end(start, len)?;
        // "if (mode == MPOL_DEFAULT) flags &= ~MPOL_MF_STRICT"
        let strict = flags & MPOL_MF_STRICT != 0 && pol.is_some();
        let moving = flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) != 0;
        let cpu = self.task(pid)?.cpu;
        let mems = self.mems_allowed(pid)?;
        let mut ctx = Ctx::new(self, mm, cpu, flags & MPOL_MF_MOVE_ALL != 0, mems);
        if end == start {
            return Ok(ctx.rep);
        }
        if moving && sem == Semantics::Linux2616 && self.swap.free_slots() == 0 {
            // check_range(): "Must have swap device for migration".
            return Err(Error::os(
                errno::ENODEV,
                "mbind: page migration needs free swap in 2.6.16",
            ));
        }
        if moving {
            // check_range()'s lru_add_drain_all() / 6.x lru_cache_disable()
            self.charge_syscall();
            self.drain_all_charged();
        }
        // The walk is set up (VMAs, selection) before the policy goes in, as check_range()
        // runs before mbind_range().
        let first_vma = self.vmas_in(mm, start, end).first().map(|v| v.start.max(start));
        let mut walk = Walk::new(self, &mut ctx, start, end, nodes, Select::NotIn, strict);
        if !moving {
            // STRICT alone: check_range() stops at the first misplaced page with -EIO and the
            // policy is not installed (V5 has no zero-page filter: it counts too).
            if strict {
                walk.count_only = true;
                walk.finish(self, &mut ctx, &mut PageList::default());
                // Interrupted while counting: nothing installed yet.
                ctx.check_interrupted()?;
                let reserved = if sem == Semantics::V5 { 0 } else { ctx.rep.skipped.reserved };
                if ctx.rep.selected > reserved {
                    ctx.rep.error = Some(errno::EIO);
                    ctx.rep.ret = -i64::from(errno::EIO);
                    return Ok(ctx.rep);
                }
                ctx.rep = MigrateReport::new(sem);
            }
            self.mbind_policy(pid, start, len, pol)?;
            return Ok(ctx.rep);
        }
        // mbind_range(): holes are EFAULT for a non-default policy.
        self.mbind_policy(pid, start, len, pol)?;
        let Some(vma_start) = first_vma else { return Ok(ctx.rep) };
        let mut list = PageList::default();
        let (nr_failed, unmovable) = match sem {
            Semantics::V5 => {
                walk.finish(self, &mut ctx, &mut list);
                // list_add(): reverse walk order.
                list.v.reverse();
                let mut per_node = Vec::new();
                self.v5_migrate_pages(&mut ctx, &mut list, &mut per_node);
                (self.v5_putback(&mut ctx, &mut list, &mut per_node), false)
            }
            Semantics::Linux2616 => {
                let mut t = Target::Vma { pid, mm, vma_start, next_addr: vma_start };
                (self.d16_migrate_pages_to(&mut ctx, &mut walk, &mut t), false)
            }
            Semantics::Modern => {
                let mut t = Target::Vma { pid, mm, vma_start, next_addr: vma_start };
                let out = self.modern_migrate_pages(&mut ctx, &mut walk, &mut list, &mut t, None);
                for e in &out.left {
                    self.mig_putback(&mut ctx, *e);
                }
                // queue_pages_range() returns 1 when a page could not be isolated (STRICT).
                let unmovable = strict
                    && (ctx.rep.skipped.not_lru > 0 || ctx.rep.skipped.non_migratable_vma > 0);
                (out.ret, unmovable)
            }
        };
        self.mig_flush_free(&mut ctx);
        self.complete_writeback();
        if strict && (nr_failed != 0 || unmovable) {
            ctx.rep.error = Some(errno::EIO);
            ctx.rep.ret = -i64::from(errno::EIO);
        }
        self.settle();
        self.finish_time(&mut ctx);
        ctx.finish()
    }
}

impl Machine {
    /// sys_mbind's work after the syscall layer's checks (flags, sanitize_mode, capability,
    /// alignment, wrap, empty range): the policy is built as mpol_new() does (EINVAL), then
    /// installed and, with move flags, the misplaced pages moved (see
    /// [`Machine::mbind_migrate`]). `mode` and `mode_flags` are what sanitize_mode() returned.
    #[allow(clippy::too_many_arguments)]
    pub fn mbind(
        &mut self,
        pid: Pid,
        start: u64,
        len: u64,
        mode: u16,
        mode_flags: u16,
        nodes: &NodeMask,
        flags: u32,
    ) -> Result<MigrateReport> {
        let pol =
            self.make_policy(pid, crate::mempolicy::PolicyCall::Mbind, mode, mode_flags, nodes)?;
        self.mbind_migrate(pid, start, len, pol.as_ref(), nodes, flags)
    }
}
