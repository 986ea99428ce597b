//! Engine 2: 2.6.16 direct migration (Direct Migration V9 as in 2.6.16-rc6 mm/migrate.c):
//! migrate_to_node() -> migrate_pages_to() with batches of MIGRATE_CHUNK_SIZE + 1 = 257 new
//! pages -> migrate_pages(from, to, moved, failed) -> migrate_page(). Anonymous pages are put in
//! the swap cache first (no swap: nothing moves), PTEs become swap entries and are restored to
//! the new page by remove_from_swap().

use super::collect::{Select, Walk};
use super::page::{entry, entry_reason, Aops, PageList, Step, PFN_MASK};
use super::report::{PairReport, Reason};
use super::{Ctx, Target};
use crate::error::errno;
use crate::host::count_i64;
use crate::machine::mm::VmFlags;
use crate::machine::Machine;
use crate::nodemask::NodeMask;
use crate::phys::pg;

/// MIGRATE_CHUNK_SIZE (mm/migrate.c): a batch allocates up to this + 1 new pages.
pub const MIGRATE_CHUNK_SIZE: usize = 256;
/// "if (retry && pass++ < 10) goto redo": passes 0..=10.
const LAST_PASS: u32 = 10;

impl Machine {
    /// migrate_to_node(), 2.6.16: collect the pages on `source` over the whole address space
    /// (check_range's error ignored) and migrate them to `dest`.
    pub(crate) fn d16_migrate_to_node(&mut self, ctx: &mut Ctx, source: u32, dest: u32) -> i64 {
        ctx.begin_pair(source, Some(dest));
        // mirrors check_range(), 2.6.16-rc6: MOVE needs free swap (nr_swap_pages <= 0 ->
        // -ENODEV, which do_migrate_pages ignores), then lru_add_drain_all()
        if self.swap.free_slots() == 0 {
            ctx.rep.no_swap_at_collection = true;
            ctx.end_pair(0);
            return 0;
        }
        self.drain_all_charged();
        let nodes = NodeMask::from_nodes([i64::from(source)], self.arch.max_numnodes())
            .expect("source node within MAX_NUMNODES");
        let task_size = self.arch.task_size;
        let mut walk = Walk::new(self, ctx, 0, task_size, &nodes, Select::In, false);
        let r = self.d16_migrate_pages_to(ctx, &mut walk, &mut Target::Node(dest));
        ctx.end_pair(r);
        r
    }

    /// The node a 2.6.16 new page comes from, or None (ENOMEM).
    fn d16_alloc(&mut self, ctx: &mut Ctx, t: &mut Target) -> Option<u64> {
        match t {
            // alloc_pages_node(dest, GFP_HIGHUSER, 0). UNCONFIRMED §3.3.7, decided: 2.6.16
            // has no __GFP_THISNODE (it came with 2.6.18 for exactly this use), so a full
            // `dest` falls back along dest's zonelist, restricted to the allocating task's
            // cpuset (cpuset_zone_allowed() in __alloc_pages; cpuset_migrate_mm() sets it to
            // the new mems). The watermarks and direct reclaim: machine/vmscan.rs.
            Target::Node(d) => self.alloc_pages_node(*d, &ctx.alloc_mask, ctx.cpu),
            Target::Vma { .. } => self.target_alloc_vma(t),
            Target::PerPage => unreachable!("2.6.16 migrate_pages_to() has one destination"),
        }
    }

    /// migrate_pages_to(pagelist, vma, dest), 2.6.16: batches of at most 257 new pages, each
    /// followed by migrate_pages(); repeats only while the batch was used up and pages remain.
    /// Returns the pages left on the list, or -ENOMEM.
    pub(crate) fn d16_migrate_pages_to(
        &mut self,
        ctx: &mut Ctx,
        walk: &mut Walk,
        target: &mut Target,
    ) -> i64 {
        let mut list = PageList::default();
        let mut failed: Vec<[u64; 2]> = Vec::new();
        let mut to: Vec<u64> = Vec::with_capacity(MIGRATE_CHUNK_SIZE + 1);
        let mut keep: Vec<[u64; 2]> = Vec::new();
        let mut err = 0i64;
        loop {
            if crate::interrupt::pending() {
                // Ctrl-C between two batches: what the walk has not reached is untouched.
                ctx.interrupted = true;
                break;
            }
            let want = list.head + MIGRATE_CHUNK_SIZE + 1;
            walk.fill(self, ctx, &mut list, want);
            if list.is_empty() {
                break;
            }
            let nr = list.len().min(MIGRATE_CHUNK_SIZE + 1);
            if let Target::Node(d) = *target {
                // The batch from dest's zonelist within the cpuset, as d16_alloc() takes pages
                // one by one, but a node at a time.
                let zl = self.topo.zonelist(d).to_vec();
                let head = zl.first().copied().unwrap_or(d);
                let local = self.topo.cpu_to_node(ctx.cpu);
                for n in zl.into_iter().filter(|&n| ctx.alloc_mask.test(n)) {
                    if to.len() >= nr {
                        break;
                    }
                    let want = nr - to.len();
                    let had = to.len();
                    self.phys.alloc_many_on(n, want, &mut to);
                    self.zone_statistics_n(head, n, local, false, (to.len() - had) as u64);
                }
            }
            while to.len() < nr {
                if let Some(p) = self.d16_alloc(ctx, target) {
                    to.push(p);
                } else {
                    err = -i64::from(errno::ENOMEM);
                    break;
                }
            }
            if err < 0 {
                break;
            }
            // mirrors migrate_pages_to() and migrate_pages(), 2.6.16 (the rc6 text, with C.
            // Lameter's "page migration: Fix MPOL_INTERLEAVE behavior for migration via
            // mbind()", 2.6.16-rc5): migrate_page_add() queued the isolated pages with
            // list_add_tail() (scan order, `list`), and the new pages went onto `to` with
            // list_add_tail() in allocation order. migrate_pages() walks `list` from its head
            // and takes each new page with lru_to_page(to) = list_entry(to->prev): the tail,
            // the page allocated last. `to` holds allocation order and is popped from its end.
            let r = self.d16_migrate_pages(ctx, &mut list, walk, &mut to, &mut failed, &mut keep);
            list.compact();
            if r >= 0 && to.is_empty() && (!list.is_empty() || !walk.done) {
                continue;
            }
            break;
        }
        // "Return leftover allocated pages"
        for p in to.drain(..) {
            self.phys.free(p);
        }
        self.mig_flush_free(ctx);
        if err < 0 {
            ctx.rep.error = Some(errno::ENOMEM);
            walk.count_only = true;
            walk.finish(self, ctx, &mut list);
            for e in failed.iter().chain(list.live()).copied().collect::<Vec<_>>() {
                self.mig_putback(ctx, e);
            }
            return err;
        }
        if !walk.done && !ctx.interrupted {
            // Not reached (a batch is left unused only after the whole list was tried), but
            // every collected page counts, as on the kernel's list.
            walk.finish(self, ctx, &mut list);
        }
        ctx.rep.retried_out += list.len() as u64;
        let left = failed.len() + list.len();
        // list_splice(&failed, pagelist), then putback_lru_pages() in migrate_to_node().
        failed.extend_from_slice(list.live());
        for e in failed {
            if let Some(r) = entry_reason(e) {
                ctx.rep.not_moved_by.add(r, 1);
            }
            self.mig_putback(ctx, e);
        }
        ctx.rep.not_moved += left as u64;
        ctx.pair.not_moved += left as u64;
        count_i64(left as u64)
    }

    /// migrate_pages(from, to, moved, failed), 2.6.16: passes over the list until every new
    /// page is used ("if (to && list_empty(to)) break"), nothing is retrying, or 11 passes ran.
    /// Pages still retrying stay on the list in order; failures go to `failed`.
    fn d16_migrate_pages(
        &mut self,
        ctx: &mut Ctx,
        list: &mut PageList,
        walk: &mut Walk,
        to: &mut Vec<u64>,
        failed: &mut Vec<[u64; 2]>,
        keep: &mut Vec<[u64; 2]>,
    ) -> i64 {
        let mut nr_failed = 0i64;
        let mut pass = 0u32;
        loop {
            let mut retry = 0i64;
            keep.clear();
            let mut i = list.head;
            loop {
                if i == list.v.len() {
                    // The kernel's list was collected up front: walk on to the next page.
                    walk.fill(self, ctx, list, i + 1);
                    if i == list.v.len() {
                        break;
                    }
                }
                // A page whose count dropped to 1 ("freed from under us") cannot occur here:
                // nothing runs concurrently with the engine.
                if to.is_empty() {
                    break;
                }
                let [w0, mut aux] = list.v[i];
                let pfn = w0 & PFN_MASK;
                match self.d16_one(ctx, pfn, &mut aux, pass, to) {
                    Step::Moved => {
                        ctx.rep.moved += 1;
                        ctx.pair.moved += 1;
                    }
                    Step::Swapped | Step::SwappedNextPass => {
                        ctx.rep.swapped_out += 1;
                        ctx.pair.swapped_out += 1;
                    }
                    Step::Again(r) => {
                        retry += 1;
                        keep.push(entry(pfn, r, aux));
                    }
                    Step::Fail(r) => {
                        nr_failed += 1;
                        ctx.rep.failed += 1;
                        failed.push(entry(pfn, r, aux));
                    }
                    Step::Abort => unreachable!("2.6.16 allocates before migrate_pages()"),
                }
                i += 1;
            }
            // Retrying pages keep their order, just before the pages not reached.
            let start = i - keep.len();
            list.v[start..i].copy_from_slice(keep);
            list.head = start;
            ctx.pair.passes = ctx.pair.passes.max(pass + 1);
            ctx.rep.passes = ctx.rep.passes.max(pass + 1);
            if retry == 0 || pass == LAST_PASS {
                return nr_failed + retry;
            }
            pass += 1;
        }
    }

    /// One page of one 2.6.16 pass (the migrate_pages() loop body).
    fn d16_one(
        &mut self,
        ctx: &mut Ctx,
        pfn: u64,
        aux: &mut u64,
        pass: u32,
        to: &mut Vec<u64>,
    ) -> Step {
        let mut f = self.phys.flags(pfn);
        if f & (pg::LOCKED | pg::WRITEBACK) != 0 {
            // Try-lock in passes 0-2, lock_page() later; writeback skipped in pass 0, waited
            // for later.
            if !self.mig_lock(ctx, pfn, pass > 2) {
                return Step::Again(Reason::Locked);
            }
            if !self.mig_writeback(ctx, pfn, pass > 0) {
                return Step::Again(Reason::Writeback);
            }
            f = self.phys.flags(pfn);
        }
        if f & pg::ANON != 0 && f & pg::SWAPCACHE == 0 {
            // "Anonymous pages must have swap cache references": -ENOMEM, permanent.
            match self.mig_add_to_swap(pfn) {
                Some(e) => *aux = e,
                None => return Step::Fail(Reason::NoSwap),
            }
        }
        let new = *to.last().expect("checked by the caller");
        if f & pg::PAGECACHE != 0 && self.mig_aops(pfn) == Aops::Fallback {
            // No migratepage method: only clean pages migrate.
            if self.phys.flags(pfn) & pg::DIRTY != 0 {
                // pageout(): PAGE_KEEP while mapped (is_page_cache_freeable), else written
                // (PAGE_SUCCESS: "goto next", a retry).
                return Step::Again(match self.mig_pageout(ctx, pfn, *aux) {
                    Err(r) => r,
                    Ok(()) => Reason::Dirty,
                });
            }
            if !self.mig_release_buffers(pfn) {
                if pass > 4 {
                    // "Persistently unable to drop buffers": swap_page() as a last resort. It
                    // was left alone by the VM_LOCKED patch: "if (try_to_unmap(page, 1) !=
                    // SWAP_SUCCESS) goto unlock_retry": a locked mapping there is a retry.
                    return self.mig_swap_page(ctx, pfn, aux, false, false);
                }
                return Step::Again(Reason::Buffers);
            }
        }
        let st = self.d16_migrate_page(ctx, pfn, new, aux);
        if st == Step::Moved {
            // The new page leaves `to` only now (move_to_lru(newpage) does the list_del):
            // after a failure the same page is offered to the next old page.
            to.pop();
            self.mig_new_on_lru(ctx, new);
        }
        st
    }

    /// migrate_page() / buffer_migrate_page(), 2.6.16: Moved, Again (-EAGAIN) or Fail.
    fn d16_migrate_page(&mut self, ctx: &mut Ctx, pfn: u64, new: u64, aux: &mut u64) -> Step {
        // migrate_page_remove_references(): page_mapcount + 2 (3 with buffers) must equal
        // page_count, else -EAGAIN.
        if self.mig_pins(pfn) != 0 {
            return Step::Again(Reason::BusyRefcount);
        }
        // (A page without a mapping, truncated, would be -EAGAIN: every isolated page here is
        // in the swap cache or the page cache.)
        let mut maps = std::mem::take(&mut ctx.maps);
        self.mig_rmap(pfn, ctx.rmap_flags, &mut maps);
        // mirrors migrate_page_remove_references(), 2.6.16 final: "if (try_to_unmap(page, 1)
        // == SWAP_FAIL) /* A vma has VM_LOCKED set -> Permanent failure */ return -EPERM;"
        // (C. Lameter, "page migration: fail if page is in a vma flagged VM_LOCKED", linux-mm
        // 2006-02-24, listed in the v2.6.16 release mail among the changes since -rc6; rc6
        // itself ignored the SWAP_FAIL and retried). migrate_page() and buffer_migrate_page()
        // pass the -EPERM up and migrate_pages() moves the page to the failed list in this
        // pass. try_to_unmap() stopped at the locked mapping: the mappings before it in rmap
        // order stay unmapped (mig_unmap_maps). Otherwise every mapping goes, and the move
        // rewrites them all at once.
        let st = if maps.iter().any(|r| r.vm_flags & VmFlags::LOCKED != 0) {
            let e = self.mig_entry(pfn, *aux);
            let r = self.mig_unmap_maps(ctx, pfn, e, false, &maps);
            debug_assert_eq!(r, Err(Reason::UnmapFailed));
            Step::Fail(Reason::UnmapFailed)
        } else {
            self.mig_move(ctx, pfn, new, aux, &maps, false);
            Step::Moved
        };
        ctx.maps = maps;
        st
    }
}

impl Ctx {
    pub(crate) fn begin_pair(&mut self, source: u32, dest: Option<u32>) {
        self.pair = PairReport { source, dest, ..Default::default() };
    }

    pub(crate) fn end_pair(&mut self, result: i64) {
        let mut p = std::mem::take(&mut self.pair);
        p.result = result;
        self.rep.pairs.push(p);
    }
}
