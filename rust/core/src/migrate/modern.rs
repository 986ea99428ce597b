//! Engine 3: modern migration (Linux 6.x mm/migrate.c, and the 2.6.18 text it grew from):
//! migration entries (no swap needed), at most NR_MAX_MIGRATE_PAGES_RETRY = 10 passes,
//! unmap_and_move() with force from pass 3, the destination allocated first with
//! __GFP_THISNODE (none: -ENOMEM aborts the call), pinned pages retried until the last pass and
//! then counted as failures, pgmigrate_success / pgmigrate_fail. THPs (modern_thp) and
//! hugetlb pages (modern_hugetlb) are list entries of their own, moved whole.
//!
//! A migration entry only exists while a page is unmapped for the copy; the engine runs with
//! nothing else touching the mm, so it rewrites each PTE from the old frame to the new one (or
//! back, on failure) as remove_migration_ptes() would, without materialising the entries.

use super::collect::{Select, Walk};
use super::page::{entry, entry_reason, PageList, Step, HUGETLB_ENTRY, PFN_MASK, THP_ENTRY};
use super::report::Reason;
use super::{Ctx, Target};
use crate::error::errno;
use crate::host::count_i64;
use crate::machine::Machine;
use crate::nodemask::NodeMask;
use crate::pagetable::pte;
use crate::phys::{pg, Folio, WMARK_LOW};

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
    /// Base pages migrated (stats->nr_succeeded) and failed (stats->nr_failed_pages): a THP
    /// counts HPAGE_PMD_NR in them and one in `succeeded`/`nr_failed`.
    pages_ok: u64,
    pages_failed: u64,
    /// THPs to try again in the next pass (thp_retry), and the THP counters.
    thp_retry: u64,
    /// Hugetlb pages to try again in the next pass (counted nr_pages failed if they end so).
    hugetlb_retry: u64,
    thp_succeeded: u64,
    thp_failed: u64,
    thp_split: u64,
    /// Base pages of THPs split for lack of a destination THP (split_folios), migrated
    /// after the list with one asynchronous attempt each.
    split: Vec<[u64; 2]>,
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
        let mut tally = Tally {
            failed: Vec::new(),
            nr_failed: 0,
            succeeded: 0,
            retry: 0,
            moved_to,
            pages_ok: 0,
            pages_failed: 0,
            thp_retry: 0,
            hugetlb_retry: 0,
            thp_succeeded: 0,
            thp_failed: 0,
            thp_split: 0,
            split: Vec::new(),
        };
        let mut pass = 0u32;
        // "for (pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && retry; pass++)"
        let aborted = loop {
            tally.retry = 0;
            tally.thp_retry = 0;
            tally.hugetlb_retry = 0;
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
        self.modern_outcome(ctx, walk, list, target, tally, aborted)
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
            if w0 & HUGETLB_ENTRY != 0 {
                match self.modern_hugetlb_entry(ctx, pfn, aux, target, tally) {
                    Ok(None) => {}
                    Ok(Some(r)) => {
                        list.v[w] = entry(pfn | HUGETLB_ENTRY, r, aux);
                        w += 1;
                    }
                    Err(()) => {
                        list.v.drain(w..=i);
                        ctx.pair.passes = ctx.pair.passes.max(pass + 1);
                        ctx.rep.passes = ctx.rep.passes.max(pass + 1);
                        self.mig_flush_tlb(ctx);
                        return PassEnd::Aborted;
                    }
                }
                i += 1;
                continue;
            }
            if w0 & THP_ENTRY != 0 {
                if let Some(r) = self.modern_thp(ctx, pfn, aux, pass, target, tally) {
                    tally.retry += 1;
                    tally.thp_retry += 1;
                    list.v[w] = entry(pfn | THP_ENTRY, r, aux);
                    w += 1;
                }
                i += 1;
                continue;
            }
            match self.modern_one(ctx, pfn, aux, pass, target) {
                Ok(new) => {
                    tally.succeeded += 1;
                    tally.pages_ok += 1;
                    ctx.rep.moved += 1;
                    ctx.rep.moved_folios += 1;
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
                    tally.pages_failed += 1;
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
                    tally.pages_failed += 1;
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
        target: &mut Target,
        tally: Tally<'_>,
        aborted: bool,
    ) -> Outcome {
        let mut tally = tally;
        // migrate_pages(): "if (!list_empty(&split_folios))": the base pages of split THPs,
        // one asynchronous try each; their failures are not counted in the return value (the
        // split THP already counts one).
        let split = std::mem::take(&mut tally.split);
        let mut split_left = Vec::new();
        if !aborted && !ctx.interrupted {
            self.modern_split_pass(ctx, split, target, &mut tally, &mut split_left);
        } else {
            split_left = split;
        }
        let Tally { failed, mut nr_failed, retry, .. } = tally;
        self.mig_flush_free(ctx);
        // /proc/vmstat has pgmigrate_* only in modern kernels (2.6.18 has none).
        let counters = self.semantics == crate::Semantics::Modern;
        let n = self.thp_nr();
        if counters {
            self.vmstat.pgmigrate_success += tally.pages_ok;
            self.vmstat.thp_migration_success += tally.thp_succeeded;
            self.vmstat.thp_migration_split += tally.thp_split;
        }
        let mut left = failed;
        left.extend_from_slice(list.live());
        let all_moved = left.is_empty() && split_left.is_empty();
        left.extend_from_slice(&split_left);
        list.v.clear();
        list.head = 0;
        if aborted {
            if counters {
                self.vmstat.pgmigrate_fail += tally.pages_failed;
                self.vmstat.thp_migration_fail += tally.thp_failed;
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
            // A THP still retrying counts HPAGE_PMD_NR failed pages, a hugetlb page its
            // pages_per_huge_page().
            let hn = self.hugetlb_nr();
            let retry_pages = retry - tally.thp_retry - tally.hugetlb_retry
                + tally.thp_retry * n
                + tally.hugetlb_retry * hn;
            self.vmstat.pgmigrate_fail += tally.pages_failed + retry_pages;
            self.vmstat.thp_migration_fail += tally.thp_failed + tally.thp_retry;
        }
        for e in &left {
            if let Some(r) = entry_reason(*e) {
                ctx.rep.not_moved_by.add(r, 1);
            }
        }
        // "Return 0 in case all split folios of fail-to-migrate large folios are migrated
        // successfully" (list_empty(from)).
        if all_moved {
            nr_failed = 0;
        }
        ctx.rep.not_moved += nr_failed;
        ctx.pair.not_moved += nr_failed;
        Outcome { ret: count_i64(nr_failed), left }
    }

    /// unmap_and_move(), modern (2.6.18 shape): the new page first, then the lock and
    /// writeback (waited for only with `force`, pass > 2), try_to_migrate(), and
    /// move_to_new_folio() which needs the exact expected refcount. Returns the new frame.
    // Forced inline into the pass loop (the 4 KiB per-page path); the THP and hugetlb paths are
    // kept out of line instead. Measured with callgrind: ~40 instructions per page (issue 11).
    #[allow(clippy::inline_always)]
    #[inline(always)]
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

    /// One THP of the list (migrate_folio_unmap() + migrate_folio_move() of a PMD-mappable
    /// folio, thp_migration_supported()): a destination THP first (alloc_migration_target()
    /// with the folio's order, __GFP_THISNODE); none: -ENOMEM, and the THP is split
    /// (try_split_folio()) into base pages that are migrated after the list; counted as one
    /// failure (nr_thp_failed, nr_thp_split). A pin: -EAGAIN (returned as Some(reason)).
    /// On success every PMD mapping it moves to the new THP at once: one copy of
    /// HPAGE_PMD_NR pages and one TLB flush per mapping.
    #[inline(never)]
    fn modern_thp(
        &mut self,
        ctx: &mut Ctx,
        head: u64,
        aux: u64,
        pass: u32,
        target: &mut Target,
        tally: &mut Tally<'_>,
    ) -> Option<Reason> {
        let n = self.thp_nr();
        let _ = pass;
        if self.pins.contains_key(&head) {
            return Some(Reason::BusyRefcount);
        }
        let Some(new) = self.modern_alloc_thp(target, head, aux) else {
            // -ENOMEM for a large folio: split, and retry the pieces later.
            tally.nr_failed += 1;
            tally.thp_failed += 1;
            tally.thp_split += 1;
            ctx.rep.thp_split += 1;
            self.split_folio(head);
            for k in 0..n {
                tally.split.push([head + k, aux]);
            }
            return None;
        };
        let f: Folio = *self.phys.folio(head).expect("an isolated THP");
        let lv0 = crate::phys::mapping::index(f.mapping);
        let fam = crate::phys::mapping::id(f.mapping) as usize;
        let mms = self.families[fam].mms.clone();
        let mut dirty = false;
        let mut mapped = 0u16;
        for mm in mms {
            let Some(p) = self.mm_mut(mm).pt.pmd_mut(lv0) else { continue };
            if pte::pfn(*p) != head {
                continue;
            }
            // set_pmd_migration_entry() then remove_migration_pmd(): the new THP, the write
            // bit kept, old and clean, the dirty bit on the folio (as for base pages).
            dirty |= *p & pte::DIRTY != 0;
            *p = pte::mk(new, *p & pte::WRITE);
            mapped += 1;
            self.mig_tlb(ctx, mm);
        }
        let keep = pg::ANON | pg::ACTIVE | pg::REFERENCED | pg::DIRTY;
        // A THP goes straight back on the LRU (no pagevec holds folios here).
        let lru = pg::LRU;
        *self.phys.folio_mut(new) = Folio {
            flags: pg::ALLOC | (f.flags & keep) | lru | if dirty { pg::DIRTY } else { 0 },
            mapcount: mapped,
            stamp: f.stamp,
            mapping: f.mapping,
        };
        if let Some(ov) = self.thp_overlay.remove(&head) {
            self.thp_overlay.insert(new, ov);
        }
        self.phys.free_folio(head);
        // The cost model's terms for one folio: folio_copy() of HPAGE_PMD_NR pages at the
        // pair's distance, the software work of one folio, one reverse-map visit per mapping;
        // the TLB flushes were charged per PMD above (batched in 6.3+: a THP fills a batch of
        // NR_MAX_BATCHED_MIGRATION pages, flushed once after it).
        let (a, b) = (self.phys.pfn_to_nid(head), self.phys.pfn_to_nid(new));
        let dist = self.topo.distance(a, b).unwrap_or(crate::machine::topology::REMOTE_DISTANCE);
        let copy = self.costs.copy_page_ns(self.arch.page_size(), dist) * n;
        let walk = ctx.rmap_ns * u64::from(mapped);
        self.acct.copy_ns += copy;
        self.acct.folio_ns += ctx.folio_mig_ns;
        self.acct.rmap_ns += walk;
        self.now_ns += copy + ctx.folio_mig_ns + walk;
        self.mig_flush_tlb(ctx);
        tally.succeeded += 1;
        tally.pages_ok += n;
        tally.thp_succeeded += 1;
        ctx.rep.moved += n;
        ctx.pair.moved += n;
        ctx.rep.moved_folios += 1;
        ctx.rep.thp_moved += 1;
        if let Some(v) = tally.moved_to.as_deref_mut() {
            v.push((head, new));
        }
        None
    }

    /// A hugetlb entry of a pass, counted as migrate_hugetlbs() counts it: moved (None), to
    /// retry (Some(reason)), or -ENOMEM (Err: "When memory is low, don't bother to try to
    /// migrate other folios, just exit"; the caller ends the pass).
    #[inline(never)]
    fn modern_hugetlb_entry(
        &mut self,
        ctx: &mut Ctx,
        pfn: u64,
        aux: u64,
        target: &mut Target,
        tally: &mut Tally<'_>,
    ) -> Result<Option<Reason>, ()> {
        let nr = self.hugetlb_nr();
        match self.modern_hugetlb(ctx, pfn, aux, target) {
            Ok(new) => {
                tally.succeeded += 1;
                tally.pages_ok += nr;
                ctx.rep.moved += nr;
                ctx.rep.moved_folios += 1;
                ctx.rep.hugetlb_moved += 1;
                ctx.pair.moved += nr;
                if let Some(v) = tally.moved_to.as_deref_mut() {
                    v.push((pfn, new));
                }
                Ok(None)
            }
            Err(Step::Again(r)) => {
                tally.retry += 1;
                tally.hugetlb_retry += 1;
                Ok(Some(r))
            }
            Err(_) => {
                tally.nr_failed += 1;
                tally.pages_failed += nr;
                ctx.rep.failed += 1;
                ctx.rep.not_moved_by.add(Reason::NoMemory, 1);
                tally.failed.push(entry(pfn | HUGETLB_ENTRY, Reason::NoMemory, aux));
                Err(())
            }
        }
    }

    /// One hugetlb page of the list: unmap_and_move_huge_page() (6.x mm/migrate.c, from
    /// migrate_hugetlbs()). The destination first (alloc_migration_target() ->
    /// alloc_hugetlb_folio_nodemask(): a free pool page of the node, else a temporary page
    /// from the buddy allocator); none: -ENOMEM (Step::Abort). A pin: -EAGAIN. Then
    /// try_to_migrate() replaces every mapping's PTEs with migration entries, the page is
    /// copied (folio_copy() of pages_per_huge_page() pages), remove_migration_ptes() maps the
    /// new page with the same bits (x86_64 migration entries keep young and dirty), and
    /// move_hugetlb_state() settles the pool (see Machine::hugetlb_migrated). Cost: the copy
    /// at the pair's distance, one folio's software work, one reverse-map visit and one TLB
    /// flush per mapping.
    fn modern_hugetlb(
        &mut self,
        ctx: &mut Ctx,
        head: u64,
        aux: u64,
        target: &mut Target,
    ) -> Result<u64, Step> {
        let nr = self.hugetlb_nr();
        if (head..head + nr).any(|p| self.pins.contains_key(&p)) {
            return Err(Step::Again(Reason::BusyRefcount));
        }
        let nodes: Vec<u32> = match target {
            // __GFP_THISNODE: the target node only.
            Target::Node(d) => vec![*d],
            Target::PerPage => vec![u32::try_from(aux).expect("a node number")],
            // alloc_migration_target_by_mpol(): policy_nodemask() of the VMA's new policy, with
            // fallback (htlb_allow_alloc_fallback(MR_MEMPOLICY_MBIND)).
            Target::Vma { pid, mm, .. } => {
                let (pid, mm) = (*pid, *mm);
                let lv0 = crate::phys::mapping::index(self.phys.mapping(head));
                let addr = self.arch.vaddr_of(lv0);
                let vma = self.vma_at(mm, addr).cloned();
                self.placement(pid, vma.as_ref(), addr).map(|p| p.candidates()).unwrap_or_default()
            }
        };
        let Some((new, temporary)) = self.alloc_hugetlb_folio_nodemask(&nodes) else {
            return Err(Step::Abort);
        };
        let mut maps = std::mem::take(&mut ctx.maps);
        self.mig_rmap(head, false, &mut maps);
        let flag_bits = (1u64 << pte::PFN_SHIFT) - 1;
        for r in &maps {
            for i in 0..nr {
                let p = self.mig_pte(ctx, r.mm, r.lvpn + i);
                *p = pte::mk(new + i, *p & flag_bits);
            }
            self.mig_tlb(ctx, r.mm);
        }
        let mapped = maps.len() as u64;
        ctx.maps = maps;
        for i in 0..nr {
            let (o, n) = (head + i, new + i);
            self.phys.set_stamp(n, self.phys.stamp(o));
            self.phys.set_mapping(n, self.phys.mapping(o));
            *self.phys.mapcount_mut(n) = self.phys.mapcount(o);
            *self.phys.flags_mut(n) = self.phys.flags(o) & !pg::ISOLATED;
        }
        self.hugetlb_migrated(head, new, temporary);
        let (a, b) = (self.phys.pfn_to_nid(head), self.phys.pfn_to_nid(new));
        let dist = self.topo.distance(a, b).unwrap_or(crate::machine::topology::REMOTE_DISTANCE);
        let copy = self.costs.copy_page_ns(self.arch.page_size(), dist) * nr;
        let walk = ctx.rmap_ns * mapped;
        self.acct.copy_ns += copy;
        self.acct.folio_ns += ctx.folio_mig_ns;
        self.acct.rmap_ns += walk;
        self.now_ns += copy + ctx.folio_mig_ns + walk;
        self.mig_flush_tlb(ctx);
        Ok(new)
    }

    /// The base pages of split THPs: migrate_pages_batch(&split_folios, ..., MIGRATE_ASYNC,
    /// ..., 1): one try each, no waiting; what fails (or all that is left after an -ENOMEM)
    /// goes back, uncounted in the return value.
    fn modern_split_pass(
        &mut self,
        ctx: &mut Ctx,
        split: Vec<[u64; 2]>,
        target: &mut Target,
        tally: &mut Tally<'_>,
        left: &mut Vec<[u64; 2]>,
    ) {
        let mut it = split.into_iter();
        for [pfn, aux] in it.by_ref() {
            match self.modern_one(ctx, pfn, aux, 0, target) {
                Ok(new) => {
                    tally.pages_ok += 1;
                    ctx.rep.moved += 1;
                    ctx.pair.moved += 1;
                    ctx.rep.moved_folios += 1;
                    if let Some(v) = tally.moved_to.as_deref_mut() {
                        v.push((pfn, new));
                    }
                }
                Err(Step::Again(r) | Step::Fail(r)) => {
                    tally.pages_failed += 1;
                    left.push(entry(pfn, r, aux));
                }
                Err(_) => {
                    tally.pages_failed += 1;
                    left.push(entry(pfn, Reason::NoMemory, aux));
                    break;
                }
            }
            self.mig_batch_step(ctx);
        }
        self.mig_flush_tlb(ctx);
        left.extend(it.map(|[pfn, aux]| entry(pfn, Reason::NoMemory, aux)));
    }

    /// alloc_migration_target() for a THP (GFP_TRANSHUGE, the folio's order): on the target
    /// node only (__GFP_THISNODE); mbind's by the VMA policy at the THP's address. No
    /// compaction or reclaim is modelled: a node without a free aligned block has none.
    fn modern_alloc_thp(&mut self, target: &mut Target, head: u64, aux: u64) -> Option<u64> {
        match target {
            Target::Node(d) => self.phys.alloc_folio(*d, WMARK_LOW),
            Target::PerPage => {
                self.phys.alloc_folio(u32::try_from(aux).expect("a node number"), WMARK_LOW)
            }
            Target::Vma { pid, mm, .. } => {
                let (pid, mm) = (*pid, *mm);
                let lv0 = crate::phys::mapping::index(self.phys.folio(head)?.mapping);
                let addr = self.arch.vaddr_of(lv0);
                let vma = self.vma_at(mm, addr).cloned();
                let place = self.placement_thp(pid, vma.as_ref(), addr).ok()?;
                place.order.iter().find_map(|&nid| self.phys.alloc_folio(nid, WMARK_LOW))
            }
        }
    }

    /// alloc_migration_target() / new_page_node(): __GFP_THISNODE, no fallback.
    // Forced inline: the per-page allocation of the pass loop; see modern_one.
    #[allow(clippy::inline_always)]
    #[inline(always)]
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
