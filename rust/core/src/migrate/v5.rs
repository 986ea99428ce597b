//! Engine 1: the V5 swap-out migration (the seed): migrate_pages(pagelist, NULL) of
//! "Swap Migration V5", 2.6.14-rc5-mm1. Pages on nodes in old \ new are evicted; they come
//! back on the next fault wherever the policy, the CPU's node and the cpuset put them.

use super::collect::{Select, Walk};
use super::page::{entry, entry_reason, PageList, Step, PFN_MASK};
use super::report::{PairReport, Reason};
use super::Ctx;
use crate::host::count_i64;
use crate::machine::Machine;
use crate::nodemask::NodeMask;
use crate::phys::pg;

/// Passes are numbered 0..=10: "if (retry && pass++ < 10) goto redo".
pub(crate) const V5_LAST_PASS: u32 = 10;

impl Machine {
    /// do_migrate_pages(), V5: one walk over the whole address space collecting the pages on
    /// nodes in `from \ to`, swap them out, put the rest back; returns the number put back.
    pub(crate) fn v5_do_migrate_pages(
        &mut self,
        ctx: &mut Ctx,
        from: &NodeMask,
        to: &NodeMask,
    ) -> i64 {
        let nodes = from.andnot(to).expect("same capacity");
        let mut per_node: Vec<PairReport> = nodes
            .iter()
            .map(|s| PairReport { source: s, dest: None, ..Default::default() })
            .collect();
        if nodes.is_empty() {
            // Nothing can be selected: the walk would isolate nothing.
            ctx.rep.pairs = per_node;
            return 0;
        }
        // mirrors do_migrate_pages(), V5: check_range(mm, mm->mmap->vm_start, TASK_SIZE,
        // &nodes, flags | MPOL_MF_DISCONTIG_OK, &pagelist)
        let task_size = self.arch.task_size;
        let mut walk = Walk::new(self, ctx, 0, task_size, &nodes, Select::In, false);
        let mut list = PageList::default();
        walk.finish(self, ctx, &mut list);
        // migrate_page_add() uses list_add(): the list runs in reverse walk order.
        list.v.reverse();
        for e in list.live() {
            let nid = self.phys.pfn_to_nid(e[0] & PFN_MASK);
            if let Some(p) = per_node.iter_mut().find(|p| p.source == nid) {
                p.isolated += 1;
            }
        }
        let scanned = ctx.pair.scanned;
        let passes = self.v5_migrate_pages(ctx, &mut list, &mut per_node);
        let left = self.v5_putback(ctx, &mut list, &mut per_node);
        for p in &mut per_node {
            p.passes = passes;
        }
        if let Some(p) = per_node.first_mut() {
            p.scanned = scanned;
        }
        ctx.rep.pairs = per_node;
        left
    }

    /// putback_lru_pages(&pagelist): the count is the return value.
    pub(crate) fn v5_putback(
        &mut self,
        ctx: &mut Ctx,
        list: &mut PageList,
        per_node: &mut [PairReport],
    ) -> i64 {
        let left = list.len() as u64;
        for i in list.head..list.v.len() {
            let e = list.v[i];
            if let Some(r) = entry_reason(e) {
                ctx.rep.not_moved_by.add(r, 1);
            }
            let nid = self.phys.pfn_to_nid(e[0] & PFN_MASK);
            if let Some(p) = per_node.iter_mut().find(|p| p.source == nid) {
                p.not_moved += 1;
                p.result += 1;
            }
            self.mig_putback(ctx, e);
        }
        list.v.clear();
        list.head = 0;
        ctx.rep.not_moved += left;
        count_i64(left)
    }

    /// migrate_pages(pagelist, NULL), V5: up to 11 passes. Returns the passes used; the list
    /// keeps the pages not evicted (permanent failures first... in list order, as the kernel
    /// splices the failed list back).
    pub(crate) fn v5_migrate_pages(
        &mut self,
        ctx: &mut Ctx,
        list: &mut PageList,
        per_node: &mut [PairReport],
    ) -> u32 {
        // do_migrate_pages(), V5: "if (!list_empty(&pagelist))": no list, no pass.
        if list.is_empty() {
            return 0;
        }
        let mut failed: Vec<[u64; 2]> = Vec::new();
        let mut passes;
        let mut pass = 0;
        loop {
            let mut w = list.head;
            let mut fused = false;
            for i in list.head..list.v.len() {
                if crate::interrupt::pending() {
                    // Ctrl-C: keep the pages not reached after the retrying ones; the caller
                    // puts the whole list back.
                    let end = list.v.len();
                    list.v.copy_within(i..end, w);
                    w += end - i;
                    ctx.interrupted = true;
                    break;
                }
                let [w0, mut aux] = list.v[i];
                let pfn = w0 & PFN_MASK;
                let nid = self.phys.pfn_to_nid(pfn);
                match self.v5_one(ctx, pfn, &mut aux, pass) {
                    st @ (Step::Swapped | Step::SwappedNextPass | Step::Moved) => {
                        fused |= st == Step::SwappedNextPass;
                        ctx.rep.swapped_out += 1;
                        if let Some(p) = per_node.iter_mut().find(|p| p.source == nid) {
                            p.swapped_out += 1;
                        }
                    }
                    Step::Again(r) => {
                        list.v[w] = entry(pfn, r, aux);
                        w += 1;
                    }
                    Step::Fail(r) => {
                        failed.push(entry(pfn, r, aux));
                        ctx.rep.failed += 1;
                    }
                    Step::Abort => unreachable!("V5 allocates nothing"),
                }
            }
            list.v.truncate(w);
            passes = pass + 1;
            let retry = list.len();
            if ctx.interrupted {
                break;
            }
            if retry == 0 {
                if fused {
                    // The pages written out in this pass were freed by the next one.
                    passes = pass + 2;
                }
                break;
            }
            if pass == V5_LAST_PASS {
                break;
            }
            pass += 1;
        }
        ctx.rep.retried_out += list.len() as u64;
        ctx.rep.passes = ctx.rep.passes.max(passes);
        // "list_splice(&failed, from)": the failed pages go back to the head of the list.
        failed.extend_from_slice(list.live());
        list.v = failed;
        list.head = 0;
        self.mig_flush_free(ctx);
        passes
    }

    /// One page of one V5 pass (migrate_pages() body + swap_page()).
    fn v5_one(&mut self, ctx: &mut Ctx, pfn: u64, aux: &mut u64, pass: u32) -> Step {
        // Try-lock in passes 0-2, then lock_page().
        if !self.mig_lock(ctx, pfn, pass > 2) {
            return Step::Again(Reason::Locked);
        }
        // Writeback: skipped in pass 0, waited for afterwards.
        if !self.mig_writeback(ctx, pfn, pass > 0) {
            return Step::Again(Reason::Writeback);
        }
        let f = self.phys.flags(pfn);
        if f & pg::ANON != 0 && f & pg::SWAPCACHE == 0 {
            // add_to_swap(): no slot is a permanent failure.
            match self.mig_add_to_swap(pfn) {
                Some(e) => *aux = e,
                None => return Step::Fail(Reason::NoSwap),
            }
        }
        // swap_page(). A page written out in a pass that is not the last is freed now: the
        // next pass would find it unlocked (the simulator's I/O completes at once), clean, off
        // the writeback and unmapped, and free it; nothing runs in between that could change
        // that. This keeps the engine's swap-cache entries short-lived.
        self.mig_swap_page(ctx, pfn, aux, true, pass < V5_LAST_PASS)
    }
}
