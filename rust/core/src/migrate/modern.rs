//! Engine 3: modern migration (Linux 6.x mm/migrate.c, and the 2.6.18 text it grew from):
//! migration entries (no swap needed), at most NR_MAX_MIGRATE_PAGES_RETRY = 10 passes,
//! unmap_and_move() with force from pass 3, the destination allocated first with
//! __GFP_THISNODE (none: -ENOMEM aborts the call), pinned pages retried until the last pass and
//! then counted as failures, pgmigrate_success / pgmigrate_fail. No THP in the machine.
//!
//! A migration entry only exists while a page is unmapped for the copy; the engine runs with
//! nothing else touching the mm, so it rewrites each PTE from the old frame to the new one (or
//! back, on failure) as remove_migration_ptes() would, without materialising the entries.

use super::collect::{Select, Walk};
use super::page::{entry, entry_reason, PageList, Step, PFN_MASK};
use super::report::Reason;
use super::{Ctx, Target};
use crate::error::errno;
use crate::host::count_i64;
use crate::machine::Machine;
use crate::nodemask::NodeMask;
use crate::pagetable::pte;
use crate::phys::pg;

/// NR_MAX_MIGRATE_PAGES_RETRY (include/linux/migrate.h; 2.6.18: "for pass < 10").
pub const NR_MAX_MIGRATE_PAGES_RETRY: u32 = 10;

/// What one migrate_pages() call counts across its passes.
struct Tally<'a> {
    /// Pages that failed for good, with their reason, in the order they failed.
    failed: Vec<[u64; 2]>,
    nr_failed: u64,
    succeeded: u64,
    /// Pages to try again in the next pass (counted afresh each pass).
    retry: u64,
    moved_to: Option<&'a mut Vec<(u64, u64)>>,
}

/// How one pass ended.
enum PassEnd {
    /// Every page was tried; `seen` of them.
    Complete { seen: u64 },
    /// Ctrl-C, before the page it would have tried next.
    Interrupted,
    /// -ENOMEM for a new page: the call gives up.
    Aborted,
}

/// How migrate_pages() ended.
pub(crate) struct Outcome {
    /// nr_failed + retry, or -ENOMEM.
    pub ret: i64,
    /// Pages that did not move (put back), with their last reason, in list order; pages moved
    /// are gone. For move_pages(): the status of every page attempted.
    pub left: Vec<[u64; 2]>,
}

impl Machine {
    /// migrate_to_node(), modern: queue_pages_range(first VMA .. mm->task_size, {source},
    /// MPOL_MF_DISCONTIG_OK) then migrate_pages(alloc_migration_target, nid = dest,
    /// __GFP_THISNODE, MIGRATE_SYNC).
    pub(crate) fn modern_migrate_to_node(&mut self, ctx: &mut Ctx, source: u32, dest: u32) -> i64 {
        ctx.begin_pair(source, Some(dest));
        let nodes = NodeMask::from_nodes([i64::from(source)], self.arch.max_numnodes())
            .expect("source node within MAX_NUMNODES");
        let task_size = self.arch.task_size;
        let not_lru = ctx.rep.skipped.not_lru;
        let mut walk = Walk::new(self, ctx, 0, task_size, &nodes, Select::In, false);
        let mut list = PageList::default();
        let out =
            self.modern_migrate_pages(ctx, &mut walk, &mut list, &mut Target::Node(dest), None);
        for e in &out.left {
            self.mig_putback(ctx, *e);
        }
        let mut ret = out.ret;
        // mirrors migrate_to_node(), 6.7+: "nr_failed = queue_pages_range(...)" counts the
        // folios that could not be isolated, and "if (err >= 0) err += nr_failed". Earlier 6.x
        // ignores queue_pages_range()'s result.
        if self.kernel.counts_unisolated() && ret >= 0 {
            ret += count_i64(ctx.rep.skipped.not_lru - not_lru);
        }
        ctx.end_pair(ret);
        ret
    }

    /// migrate_pages(), modern. The walk streams pages in during pass 0. `moved_to`: gets
    /// (old frame, new frame) of every page that moved (move_pages() fills its status array).
    pub(crate) fn modern_migrate_pages(
        &mut self,
        ctx: &mut Ctx,
        walk: &mut Walk,
        list: &mut PageList,
        target: &mut Target,
        moved_to: Option<&mut Vec<(u64, u64)>>,
    ) -> Outcome {
        let mut tally =
            Tally { failed: Vec::new(), nr_failed: 0, succeeded: 0, retry: 0, moved_to };
        let mut pass = 0u32;
        // "for (pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && retry; pass++)"
        let aborted = loop {
            tally.retry = 0;
            let seen = match self.modern_pass(ctx, walk, list, target, pass, &mut tally) {
                PassEnd::Complete { seen } => seen,
                PassEnd::Interrupted => break false,
                PassEnd::Aborted => break true,
            };
            if pass == 0 && seen == 0 {
                // migrate_to_node(): "if (!list_empty(&pagelist))": nothing isolated, no pass.
                break false;
            }
            ctx.pair.passes = ctx.pair.passes.max(pass + 1);
            ctx.rep.passes = ctx.rep.passes.max(pass + 1);
            if tally.retry == 0 || pass + 1 == NR_MAX_MIGRATE_PAGES_RETRY {
                break false;
            }
            pass += 1;
        };
        self.modern_outcome(ctx, walk, list, tally, aborted)
    }

    /// One pass of migrate_pages() over the list ("list_for_each_entry_safe(page, page2,
    /// from, lru)", unmap_and_move() on each page): pages that moved or failed leave the list,
    /// pages to retry stay in order. During pass 0 the walk adds pages as the list runs out.
    fn modern_pass(
        &mut self,
        ctx: &mut Ctx,
        walk: &mut Walk,
        list: &mut PageList,
        target: &mut Target,
        pass: u32,
        tally: &mut Tally<'_>,
    ) -> PassEnd {
        let mut w = list.head;
        let mut i = list.head;
        let mut seen = 0u64;
        loop {
            if crate::interrupt::pending() {
                // Ctrl-C: stop before this page. Pages handled in this pass leave the list;
                // the rest (retrying or not reached yet) are put back by the caller.
                list.v.drain(w..i);
                ctx.interrupted = true;
                self.mig_flush_tlb(ctx);
                return PassEnd::Interrupted;
            }
            if i == list.v.len() {
                walk.fill(self, ctx, list, i + 1);
                if i == list.v.len() {
                    break;
                }
            }
            let [w0, aux] = list.v[i];
            let pfn = w0 & PFN_MASK;
            seen += 1;
            match self.modern_one(ctx, pfn, aux, pass, target) {
                Ok(new) => {
                    tally.succeeded += 1;
                    ctx.rep.moved += 1;
                    ctx.pair.moved += 1;
                    if let Some(v) = tally.moved_to.as_deref_mut() {
                        v.push((pfn, new));
                    }
                }
                Err(Step::Again(r)) => {
                    tally.retry += 1;
                    list.v[w] = entry(pfn, r, aux);
                    w += 1;
                }
                Err(Step::Abort) => {
                    // -ENOMEM: "when memory is low, don't bother to try to migrate other
                    // pages, just exit". This page counts as failed; the rest go back.
                    tally.nr_failed += 1;
                    ctx.rep.failed += 1;
                    ctx.rep.not_moved_by.add(Reason::NoMemory, 1);
                    tally.failed.push(entry(pfn, Reason::NoMemory, aux));
                    list.v.drain(w..=i);
                    // The pass that stopped still counts.
                    ctx.pair.passes = ctx.pair.passes.max(pass + 1);
                    ctx.rep.passes = ctx.rep.passes.max(pass + 1);
                    self.mig_flush_tlb(ctx);
                    return PassEnd::Aborted;
                }
                Err(Step::Fail(r)) => {
                    tally.nr_failed += 1;
                    ctx.rep.failed += 1;
                    tally.failed.push(entry(pfn, r, aux));
                }
                Err(s) => unreachable!("modern engine step {s:?}"),
            }
            self.mig_batch_step(ctx);
            i += 1;
            if i - w >= 4096 {
                // Bounded memory while the walk streams pages in.
                list.v.drain(w..i);
                i = w;
            }
        }
        list.v.truncate(w);
        self.mig_flush_tlb(ctx);
        PassEnd::Complete { seen }
    }

    /// The end of migrate_pages(): the pgmigrate_* counters, "rc = nr_failed + retry" (or
    /// -ENOMEM after an abort, the rest of the range collected and put back too), and the
    /// pages that did not move, with their reasons, for the caller to put back.
    fn modern_outcome(
        &mut self,
        ctx: &mut Ctx,
        walk: &mut Walk,
        list: &mut PageList,
        tally: Tally<'_>,
        aborted: bool,
    ) -> Outcome {
        let Tally { failed, mut nr_failed, succeeded, retry, .. } = tally;
        self.mig_flush_free(ctx);
        // /proc/vmstat has pgmigrate_* only in modern kernels (2.6.18 has none).
        let counters = self.semantics == crate::Semantics::Modern;
        if counters {
            self.vmstat.pgmigrate_success += succeeded;
        }
        let mut left = failed;
        left.extend_from_slice(list.live());
        list.v.clear();
        list.head = 0;
        if aborted {
            if counters {
                self.vmstat.pgmigrate_fail += nr_failed;
            }
            ctx.rep.error = Some(errno::ENOMEM);
            // The kernel collected the rest of the range too, and puts it all back.
            walk.count_only = true;
            walk.finish(self, ctx, list);
            return Outcome { ret: -i64::from(errno::ENOMEM), left };
        }
        nr_failed += retry;
        ctx.rep.retried_out += retry;
        if counters {
            self.vmstat.pgmigrate_fail += nr_failed;
        }
        for e in &left {
            if let Some(r) = entry_reason(*e) {
                ctx.rep.not_moved_by.add(r, 1);
            }
        }
        ctx.rep.not_moved += left.len() as u64;
        ctx.pair.not_moved += left.len() as u64;
        Outcome { ret: count_i64(nr_failed), left }
    }

    /// unmap_and_move(), modern (2.6.18 shape): the new page first, then the lock and
    /// writeback (waited for only with `force`, pass > 2), try_to_migrate(), and
    /// move_to_new_folio() which needs the exact expected refcount. Returns the new frame.
    fn modern_one(
        &mut self,
        ctx: &mut Ctx,
        pfn: u64,
        aux: u64,
        pass: u32,
        target: &mut Target,
    ) -> Result<u64, Step> {
        let force = pass > 2;
        let Some(new) = self.modern_alloc(target, pfn, aux, ctx.cpu) else {
            return Err(Step::Abort);
        };
        if self.phys.flags(pfn) & (pg::LOCKED | pg::WRITEBACK) != 0 {
            if !self.mig_lock(ctx, pfn, force) {
                self.phys.free(new);
                return Err(Step::Again(Reason::Locked));
            }
            if !self.mig_writeback(ctx, pfn, force) {
                self.phys.free(new);
                return Err(Step::Again(Reason::Writeback));
            }
        }
        let mut maps = std::mem::take(&mut ctx.maps);
        // try_to_unmap(page, migration) of 2.6.18+ ignores VM_LOCKED and young PTEs: the
        // mappings' flags do not matter.
        self.mig_rmap(pfn, false, &mut maps);
        if self.mig_pins(pfn) != 0 {
            // folio_migrate_mapping(): refcount != expected -> -EAGAIN; remove_migration_ptes(
            // page, page) puts the old page back: old PTEs, their dirty bit on the page.
            let mut dirty = false;
            for r in &maps {
                let p = self.mig_pte(ctx, r.mm, r.lvpn);
                dirty |= *p & pte::DIRTY != 0;
                *p &= !(pte::YOUNG | pte::DIRTY);
                self.mig_tlb(ctx, r.mm);
            }
            if dirty {
                self.set_page_dirty(pfn);
            }
            ctx.maps = maps;
            self.phys.free(new);
            return Err(Step::Again(Reason::BusyRefcount));
        }
        self.mig_move(ctx, pfn, new, &mut 0, &maps, true);
        ctx.maps = maps;
        self.mig_new_on_lru(ctx, new);
        Ok(new)
    }

    /// alloc_migration_target() / new_page_node(): __GFP_THISNODE, no fallback.
    fn modern_alloc(&mut self, target: &mut Target, pfn: u64, aux: u64, cpu: u32) -> Option<u64> {
        match target {
            // The watermarks and direct reclaim of __GFP_THISNODE: machine/vmscan.rs.
            Target::Node(d) => self.alloc_thisnode(*d, cpu),
            // aux holds the page's target node (mp_2618() stored it from a u32).
            Target::PerPage => self.alloc_thisnode(u32::try_from(aux).expect("a node number"), cpu),
            Target::Vma { .. } => self.target_alloc_page(target, pfn),
        }
    }
}
