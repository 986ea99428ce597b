//! What every migration call reports: [`MigrateReport`].
//!
//! The kernel returns one number (the pages not moved) or a negative errno; the report keeps
//! everything behind that number: what the collection walk saw and skipped, what each engine did
//! with each page, per node pair, how many passes it took and how much simulated time it charged.

pub use crate::costs::TimeReport;
use crate::semantics::Semantics;

/// Why a page was skipped by the collection walk or left behind by an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reason {
    /// PG_locked held by someone else (try-lock failed, or a lock that is never released).
    Locked = 1,
    /// PG_writeback: skipped in the first pass, or I/O that never completes.
    Writeback,
    /// add_to_swap() found no free swap slot (V5, 2.6.16): a permanent failure.
    NoSwap,
    /// try_to_unmap() failed: a VM_LOCKED mapping, or a young PTE (V5, cleared for next time).
    UnmapFailed,
    /// More references than the engine expects (pins: get_user_pages, vmsplice...).
    BusyRefcount,
    /// The page was dirty: written out and retried, or not writable (PAGE_KEEP).
    Dirty,
    /// Buffer heads that could not be released (try_to_release_page() failed).
    Buffers,
    /// Mapped by other processes and the call had no MPOL_MF_MOVE_ALL (not a failure).
    Shared,
    /// Not on the LRU when the walk found it (isolated elsewhere, in a pagevec): silently skipped.
    NotLru,
    /// In a VMA the semantics' vma_migratable() rejects (or hugetlb): counted per VMA.
    NonMigratableVma,
    /// No free page on the destination (ENOMEM: the pair, and the call, stop).
    NoMemory,
    /// The zero page or a PG_reserved page (2.6.16 and modern skip them).
    Reserved,
}

impl Reason {
    pub const ALL: [Reason; 12] = [
        Reason::Locked,
        Reason::Writeback,
        Reason::NoSwap,
        Reason::UnmapFailed,
        Reason::BusyRefcount,
        Reason::Dirty,
        Reason::Buffers,
        Reason::Shared,
        Reason::NotLru,
        Reason::NonMigratableVma,
        Reason::NoMemory,
        Reason::Reserved,
    ];

    /// Short name for reports ("locked", "no_swap", ...).
    pub fn name(self) -> &'static str {
        match self {
            Reason::Locked => "locked",
            Reason::Writeback => "writeback",
            Reason::NoSwap => "no_swap",
            Reason::UnmapFailed => "unmap_failed",
            Reason::BusyRefcount => "busy_refcount",
            Reason::Dirty => "dirty",
            Reason::Buffers => "buffers",
            Reason::Shared => "shared",
            Reason::NotLru => "not_lru",
            Reason::NonMigratableVma => "non_migratable_vma",
            Reason::NoMemory => "no_memory",
            Reason::Reserved => "reserved",
        }
    }

    pub(crate) fn from_u8(v: u8) -> Option<Reason> {
        Reason::ALL.get((v as usize).wrapping_sub(1)).copied()
    }
}

/// A count per [`Reason`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reasons {
    pub locked: u64,
    pub writeback: u64,
    pub no_swap: u64,
    pub unmap_failed: u64,
    pub busy_refcount: u64,
    pub dirty: u64,
    pub buffers: u64,
    pub shared: u64,
    pub not_lru: u64,
    pub non_migratable_vma: u64,
    pub no_memory: u64,
    pub reserved: u64,
}

impl Reasons {
    fn slot(&mut self, r: Reason) -> &mut u64 {
        match r {
            Reason::Locked => &mut self.locked,
            Reason::Writeback => &mut self.writeback,
            Reason::NoSwap => &mut self.no_swap,
            Reason::UnmapFailed => &mut self.unmap_failed,
            Reason::BusyRefcount => &mut self.busy_refcount,
            Reason::Dirty => &mut self.dirty,
            Reason::Buffers => &mut self.buffers,
            Reason::Shared => &mut self.shared,
            Reason::NotLru => &mut self.not_lru,
            Reason::NonMigratableVma => &mut self.non_migratable_vma,
            Reason::NoMemory => &mut self.no_memory,
            Reason::Reserved => &mut self.reserved,
        }
    }
    /// The count for one reason.
    pub fn get(&self, r: Reason) -> u64 {
        let mut c = *self;
        *c.slot(r)
    }
    #[inline]
    pub fn add(&mut self, r: Reason, n: u64) {
        *self.slot(r) += n;
    }
    /// Every reason with its count, in [`Reason::ALL`] order.
    pub fn items(&self) -> Vec<(Reason, u64)> {
        Reason::ALL.iter().map(|&r| (r, self.get(r))).collect()
    }
    pub fn total(&self) -> u64 {
        Reason::ALL.iter().map(|&r| self.get(r)).sum()
    }
}

/// One (source, destination) node pair of the do_migrate_pages() loop (V5: one entry, no
/// destination).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairReport {
    pub source: u32,
    /// None for V5, which evicts and lets the next fault place the page.
    pub dest: Option<u32>,
    /// Present PTEs with a struct page the walk looked at.
    pub scanned: u64,
    pub isolated: u64,
    pub moved: u64,
    pub swapped_out: u64,
    /// Pages left on the list (the kernel's count for this pair).
    pub not_moved: u64,
    /// What migrate_to_node() returned: the count, or a negative errno (-ENOMEM).
    pub result: i64,
    /// Passes the engine ran for this pair (the largest over its batches).
    pub passes: u32,
}

/// Everything one migration call did. The syscall layer returns `ret` (the kernel's int) and
/// keeps the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrateReport {
    pub semantics: Semantics,
    /// Present PTEs with a struct page in the VMAs walked (every pair's walk counted).
    pub scanned: u64,
    /// Of those, pages on a source node.
    pub selected: u64,
    /// Pages taken off the LRU onto a migration list.
    pub isolated: u64,
    /// Pages copied to a destination frame (direct migration), in base pages (a THP moved
    /// whole counts HPAGE_PMD_NR).
    pub moved: u64,
    /// Folios moved: base pages and THPs, one each (the kernel's unit of migration).
    pub moved_folios: u64,
    /// THPs moved whole (thp_migration_success).
    pub thp_moved: u64,
    /// THPs split because the destination had no free huge page (thp_migration_split): one
    /// failure each in `not_moved` and the return value, whatever became of their pieces.
    pub thp_split: u64,
    /// Hugetlb pages moved (modern: unmap_and_move_huge_page()); `moved` counts their base
    /// pages, `moved_folios` one each.
    pub hugetlb_moved: u64,
    /// Pages evicted instead (V5; 2.6.16's swap_page() fallback): they come back on fault.
    pub swapped_out: u64,
    /// Isolated pages returned to the LRU unmoved.
    pub put_back: u64,
    /// Permanent failures (no swap slot...).
    pub failed: u64,
    /// Pages still retrying when the passes ran out.
    pub retried_out: u64,
    /// The kernel's count of pages not moved (failed + retried_out), summed over pairs.
    pub not_moved: u64,
    /// Pages skipped by the walk, by reason (shared, not on the LRU, reserved), and VMAs skipped
    /// as non-migratable (`non_migratable_vma` counts VMAs, not pages). None of these counts
    /// in `not_moved`, exactly as in the kernel.
    pub skipped: Reasons,
    /// Pages not moved, by the reason of their last attempt.
    pub not_moved_by: Reasons,
    pub pairs: Vec<PairReport>,
    /// Largest number of passes any migrate_pages() call ran.
    pub passes: u32,
    pub time: TimeReport,
    /// The errno that stopped the call (ENOMEM), if any.
    pub error: Option<i32>,
    /// What the system call returns: `not_moved`, or `-error`.
    pub ret: i64,
    /// 2.6.16 check_range() found no free swap (nr_swap_pages <= 0: -ENODEV, ignored by
    /// do_migrate_pages): nothing was collected for at least one pair.
    pub no_swap_at_collection: bool,
}

impl MigrateReport {
    pub fn new(semantics: Semantics) -> MigrateReport {
        MigrateReport {
            semantics,
            scanned: 0,
            selected: 0,
            isolated: 0,
            moved: 0,
            moved_folios: 0,
            thp_moved: 0,
            hugetlb_moved: 0,
            thp_split: 0,
            swapped_out: 0,
            put_back: 0,
            failed: 0,
            retried_out: 0,
            not_moved: 0,
            skipped: Reasons::default(),
            not_moved_by: Reasons::default(),
            pairs: Vec::new(),
            passes: 0,
            time: TimeReport::default(),
            error: None,
            ret: 0,
            no_swap_at_collection: false,
        }
    }

    /// Pages skipped by the walk (VMAs not included).
    pub fn skipped_pages(&self) -> u64 {
        self.skipped.total() - self.skipped.non_migratable_vma
    }

    /// One line: the counts, the non-zero reasons, the node pairs and the simulated time by
    /// term ("time 12.345 ms simulated (copy 40%, tlb 30%)").
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!("ret={}", self.ret),
            format!("scanned={}", self.scanned),
            format!("isolated={}", self.isolated),
            format!("moved={}", self.moved),
            format!("swapped_out={}", self.swapped_out),
            format!("not_moved={}", self.not_moved),
            format!("passes={}", self.passes),
        ];
        let nonzero = |r: &Reasons| {
            r.items()
                .into_iter()
                .filter(|&(_, n)| n > 0)
                .map(|(k, n)| format!("{}={n}", k.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (skipped, failed) = (nonzero(&self.skipped), nonzero(&self.not_moved_by));
        if !skipped.is_empty() {
            parts.push(format!("skipped: {skipped}"));
        }
        if !failed.is_empty() {
            parts.push(format!("not moved: {failed}"));
        }
        let pairs: Vec<String> = self
            .pairs
            .iter()
            .filter_map(|p| p.dest.map(|d| format!("{}->{d}", p.source)))
            .collect();
        if !pairs.is_empty() {
            parts.push(format!("pairs: {}", pairs.join(" ")));
        }
        parts.push(format!("time {}", self.time.summary()));
        parts.join("; ")
    }
}
