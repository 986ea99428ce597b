"""A small, plain-Python model of numasim's page-migration rules, used as an oracle on small
sizes by tests/test_engines_oracle.py (issue 4). It never looks at numasim: given the facts of
every page the collection walk of the target mm would meet, the swap and free memory, the two
masks and the caller's flag, it says where each page ends, what the call returns and what the
MigrateReport counts.

Everything here is written from the spec (/work/shared/spec/kernel-semantics.md, "spec") and the
choices numasim documents for its UNCONFIRMED points (docs/semantics.md and the module docs of
rust/core/src/migrate/mod.rs), one rule per line, page by page and pass by pass. It is meant
to be read next to the spec, not to be fast.

Vocabulary:
- A *page* is one physical page met by the walk of the target mm (a present PTE with a struct
  page), in walk order: VMAs by address, pages by address. ``kind`` is "anon" (private
  anonymous, COW-shared after fork or not), "file" (page cache of a regular file), "shmem"
  (shared anonymous or SysV shm: numasim's shmem object) or "zero" (the shared zero page).
- A VMA is given by its numasim flag names ("locked", "io", "reserved", "pfnmap", "hugetlb",
  "denywrite", "shm", ...) and its pages.
- ``locked`` / ``writeback`` mean states that never end (``set_page_state`` without a
  duration); ``pinned`` an extra reference; ``pagevec`` a page not yet on the LRU (every
  semantics drains before or while isolating, so it changes nothing); ``young`` the PTE young
  bit on every mapping; ``dirty`` the page's (or a PTE's) dirty bit.
- A page's outcome is ``node`` (None: evicted, its frame freed; it comes back on the next
  fault wherever the faulting task's policy says) and ``mapped`` (the target mm's PTE is
  present: page_nodes shows the node, else -ENOENT), and ``child_mapped`` for the other mm's
  PTE of a shared page.
- A shared page has two mappings, which try_to_unmap() visits in rmap order (research Q5):
  an anonymous page the child's first (2.6.14-2.6.16 anon_vma_link() adds a VMA at the head
  of the anon_vma list), a file or shmem page the target's first (the file's VMAs in the
  order they were linked, the child's after its parent's). The walk stops at the first
  mapping that fails, keeping the ones before it unmapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENOMEM = 12
ENOENT = 2

SEMANTICS = ("v5", "2.6.16", "modern")

#: numasim.report.REASONS, in report order (kept here so the oracle stands alone).
REASONS = (
    "locked",
    "writeback",
    "no_swap",
    "unmap_failed",
    "busy_refcount",
    "dirty",
    "buffers",
    "shared",
    "not_lru",
    "non_migratable_vma",
    "no_memory",
    "reserved",
)

#: Passes of each engine: V5 and 2.6.16 "if (retry && pass++ < 10) goto redo" (passes 0..10,
#: spec §3.1.2, §3.3.1); modern NR_MAX_MIGRATE_PAGES_RETRY = 10 (spec §3.3.9-10).
V5_PASSES = 11
D16_PASSES = 11
MODERN_PASSES = 10
#: 2.6.16 migrate_pages_to(): batches of MIGRATE_CHUNK_SIZE + 1 new pages (spec §3.3.7).
D16_BATCH = 257

#: vma_migratable() per generation (spec §2.1.5; hugetlb is never walked, spec §2.1.4, except
#: by modern kernels on x86_64, which the scenarios leave out: docs/hugepages.md).
NOT_MIGRATABLE = {
    "v5": frozenset({"locked", "io", "reserved", "denywrite", "shm", "hugetlb"}),
    "2.6.16": frozenset({"locked", "io", "hugetlb", "pfnmap", "reserved"}),
    "modern": frozenset({"io", "pfnmap", "hugetlb"}),
}


def vma_migratable(semantics: str, flags: frozenset[str] | set[str]) -> bool:
    """check_range() walks a VMA iff it is not hugetlb and vma_migratable() accepts it."""
    return not (set(flags) & NOT_MIGRATABLE[semantics])


# ----- node pairs (spec §4.2, §4.3.1) ------------------------------------------------------------


def node_remap(s: int, old: list[int], new: list[int]) -> int:
    """bitmap_bitremap: the n-th lowest node of ``old`` goes to the (n mod |new|)-th lowest of
    ``new``; a node not in ``old``, or an empty ``new``, maps to itself (spec §4.2.3)."""
    old, new = sorted(set(old)), sorted(set(new))
    if s not in old or not new:
        return s
    return new[old.index(s) % len(new)]


def migration_pairs(old, new, semantics: str) -> list[tuple[int, int | None]]:
    """The (source, destination) pairs do_migrate_pages() runs, in order.

    V5: one list of the pages on old \\ new, evicted: ``(node, None)`` per node (spec §4.1).
    2.6.16: Paul Jackson's loop (spec §4.2.1): tmp = old; each round scans tmp upwards, skips
    nodes that map to themselves, remembers the candidate and stops at the first whose
    destination is no longer in tmp; the candidate leaves tmp and runs.
    modern: the same, and when |old| != |new| a source that is in ``new`` is skipped
    (Woodman, spec §4.3.1).
    """
    old, new = sorted(set(old)), sorted(set(new))
    if semantics == "v5":
        return [(s, None) for s in old if s not in new]
    woodman = semantics == "modern" and len(old) != len(new)
    tmp = list(old)
    out: list[tuple[int, int | None]] = []
    while tmp:
        pick = None
        for s in tmp:
            if woodman and s in new:
                continue
            d = node_remap(s, old, new)
            if d == s:
                continue
            pick = (s, d)
            if d not in tmp:
                break
        if pick is None:
            break
        tmp.remove(pick[0])
        out.append(pick)
    return out


# ----- the facts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page the walk of the target mm meets (see the module docs)."""

    node: int
    kind: str = "anon"
    #: page_mapcount > 1 (mapped by another mm too: fork).
    shared: bool = False
    #: V5 migrate_page_add() file rule: the file has a VM_SHARED mapping in some mm (any
    #: MAP_SHARED mapping, whatever its protection: i_mmap_writable, spec §11), or every
    #: mapping of it belongs to this mm (spec §2.3.1). Only looked at for non-anon pages.
    v5_file_ok: bool = True
    #: Another mm maps the page in a VM_LOCKED VMA (try_to_unmap fails, spec §3.1.4a, §3.3.5).
    other_locked: bool = False
    locked: bool = False
    writeback: bool = False
    pinned: bool = False
    pagevec: bool = False
    young: bool = False
    dirty: bool = False


@dataclass(frozen=True)
class Vma:
    flags: frozenset[str]
    pages: tuple[Page, ...] = ()


@dataclass(frozen=True)
class Env:
    """Machine facts the engines depend on."""

    #: Free swap slots.
    swap_free: int = 1 << 30
    #: Free pages per node.
    free: dict[int, int] = field(default_factory=dict)
    #: Zonelist per node (2.6.16 alloc_pages_node() fallback order).
    zonelists: dict[int, list[int]] = field(default_factory=dict)
    #: Nodes the allocating task may use (2.6.16 fallback: the caller's cpuset mems).
    alloc_mask: frozenset[int] = frozenset()


@dataclass
class PageResult:
    node: int | None
    mapped: bool
    #: The reason of the last failed attempt, or None.
    reason: str | None = None
    #: The other mm's PTE of a shared page is present (None: not shared).
    child_mapped: bool | None = None


@dataclass
class PairResult:
    source: int
    dest: int | None
    scanned: int = 0
    isolated: int = 0
    moved: int = 0
    swapped_out: int = 0
    not_moved: int = 0
    result: int = 0
    passes: int = 0

    def astuple(self) -> tuple:
        return (
            self.source,
            self.dest,
            self.scanned,
            self.isolated,
            self.moved,
            self.swapped_out,
            self.not_moved,
            self.result,
            self.passes,
        )


@dataclass
class Result:
    """What the call should do."""

    ret: int = 0
    pages: list[PageResult] = field(default_factory=list)
    scanned: int = 0
    selected: int = 0
    isolated: int = 0
    moved: int = 0
    swapped_out: int = 0
    put_back: int = 0
    failed: int = 0
    retried_out: int = 0
    not_moved: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    not_moved_by: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    pairs: list[PairResult] = field(default_factory=list)
    passes: int = 0
    error: int = 0
    no_swap_at_collection: bool = False
    swap_free: int = 0
    free: dict[int, int] = field(default_factory=dict)
    pswpout: int = 0
    pgmigrate_success: int = 0
    pgmigrate_fail: int = 0

    def report_fields(self) -> dict:
        """The fields to compare with numasim.MigrateReport."""
        return {
            "ret": self.ret,
            "scanned": self.scanned,
            "selected": self.selected,
            "isolated": self.isolated,
            "moved": self.moved,
            "swapped_out": self.swapped_out,
            "put_back": self.put_back,
            "failed": self.failed,
            "retried_out": self.retried_out,
            "not_moved": self.not_moved,
            "skipped": dict(self.skipped),
            "not_moved_by": dict(self.not_moved_by),
            "pairs": tuple(p.astuple() for p in self.pairs),
            "passes": self.passes,
            "error": self.error,
            "no_swap_at_collection": self.no_swap_at_collection,
        }


class _Map:
    """One PTE mapping the page: the target's, or the other mm's (shared pages)."""

    def __init__(self, target: bool, locked: bool, young: bool) -> None:
        self.target = target
        self.locked = locked
        self.young = young
        self.mapped = True


class _P:
    """A page's state while the model runs."""

    def __init__(self, p: Page) -> None:
        self.f = p
        self.node: int | None = p.node
        me = _Map(True, False, p.young)
        self.maps = [me]
        if p.shared:
            other = _Map(False, p.other_locked, p.young)
            # rmap order (module docs): the child first for anonymous pages.
            self.maps = [other, me] if p.kind == "anon" else [me, other]
        self.swapcache = False
        self.dirty = p.dirty
        self.reason: str | None = None

    @property
    def mapped(self) -> bool:
        """The target mm's PTE is present."""
        return next(m for m in self.maps if m.target).mapped

    @property
    def child_mapped(self) -> bool | None:
        other = [m for m in self.maps if not m.target]
        return other[0].mapped if other else None

    def page_mapped(self) -> bool:
        return any(m.mapped for m in self.maps)

    def unmap_all(self) -> None:
        for m in self.maps:
            m.mapped = False

    def restore_all(self) -> None:
        for m in self.maps:
            m.mapped = True

    def try_to_unmap(self, refs: bool) -> bool:
        """try_to_unmap(): each mapping still present, in rmap order; stops at the first that
        fails (VM_LOCKED; with ``refs``, 2.6.14's test without ignore_refs, also a young PTE,
        whose bit is cleared), keeping the earlier ones unmapped. True if all went."""
        for m in self.maps:
            if not m.mapped:
                continue
            if m.locked:
                return False
            if refs and m.young:
                m.young = False
                return False
            m.mapped = False
        return True


_AGAIN, _FAIL, _DONE, _DONE_WRITTEN = "again", "fail", "done", "done_written"


class _Model:
    def __init__(self, semantics: str, vmas, move_all: bool, env: Env) -> None:
        self.sem = semantics
        self.move_all = move_all
        self.vmas = [(frozenset(v.flags), [_P(p) for p in v.pages]) for v in vmas]
        self.res = Result()
        self.swap_free = env.swap_free
        self.free = dict(env.free)
        self.env = env
        # Frames freed during a pair come back when the engine flushes its batch (end of pair).
        self.pending: dict[int, int] = {}

    # -- helpers
    def _skip(self, why: str) -> None:
        self.res.skipped[why] += 1

    def _flush(self) -> None:
        for n, k in self.pending.items():
            self.free[n] = self.free.get(n, 0) + k
        self.pending = {}

    def _release_frame(self, node: int) -> None:
        self.pending[node] = self.pending.get(node, 0) + 1

    def walk(self, nodes: set[int], pr: PairResult | None) -> list[_P]:
        """check_range() + check_pte_range() + migrate_page_add() + isolate_lru_page()."""
        r = self.res
        out = []
        for flags, pages in self.vmas:
            if not vma_migratable(self.sem, flags):
                self._skip("non_migratable_vma")
                continue
            for p in pages:
                if not p.mapped:  # no present PTE any more (an earlier pair unmapped it)
                    continue
                r.scanned += 1
                if pr is not None:
                    pr.scanned += 1
                if p.node not in nodes:
                    continue
                r.selected += 1
                if p.f.kind == "zero":
                    # 2.6.16/modern skip PageReserved; V5 has no such filter but the zero page
                    # is not on the LRU (spec §2.2.2-3).
                    self._skip("not_lru" if self.sem == "v5" else "reserved")
                    continue
                if self.sem == "v5":
                    ok = self.move_all or p.f.kind == "anon" or p.f.v5_file_ok  # spec §2.3.1
                else:
                    ok = self.move_all or not p.f.shared  # spec §2.3.2
                if not ok:
                    self._skip("shared")
                    continue
                # pagevec pages: V5 drains and retries, the others drained first (spec §2.4).
                r.isolated += 1
                if pr is not None:
                    pr.isolated += 1
                out.append(p)
        return out

    def _leave(self, left: list[_P]) -> None:
        """putback_lru_pages() of the pages left on the list; their count is returned."""
        for p in left:
            if p.reason is not None:
                self.res.not_moved_by[p.reason] += 1
        self.res.put_back += len(left)
        self.res.not_moved += len(left)

    # -- V5 (spec §3.1, §4.1)
    def v5(self, old, new) -> int:
        r = self.res
        nodes = sorted(set(old) - set(new))
        pairs = {s: PairResult(s, None) for s in nodes}
        r.pairs = list(pairs.values())
        if not nodes:
            return 0
        lst = self.walk(set(nodes), None)
        if r.pairs:
            r.pairs[0].scanned = r.scanned
        for p in lst:
            pairs[p.node].isolated += 1
        if not lst:  # "if the list is non-empty run migrate_pages" (spec §4.1.1)
            return 0
        lst.reverse()  # migrate_page_add() uses list_add()
        failed: list[_P] = []
        passes = 0
        for pass_ in range(V5_PASSES):
            keep = []
            fused = False
            for p in lst:
                src = p.node
                st = self._v5_step(p, pass_)
                if st in (_DONE, _DONE_WRITTEN):
                    fused |= st == _DONE_WRITTEN
                    r.swapped_out += 1
                    pairs[src].swapped_out += 1
                elif st == _AGAIN:
                    keep.append(p)
                else:
                    failed.append(p)
                    r.failed += 1
            lst = keep
            passes = pass_ + 1
            if not lst:
                # A page written in this pass is freed by the next one (write-out completes
                # at once in numasim): that pass counts.
                if fused:
                    passes = pass_ + 2
                break
        r.retried_out += len(lst)
        r.passes = passes
        left = failed + lst
        for p in left:
            pairs[p.node].not_moved += 1
            pairs[p.node].result += 1
        for pr in r.pairs:
            pr.passes = passes
        self._leave(left)
        self._flush()
        return len(left)

    def _v5_step(self, p: _P, pass_: int) -> str:
        f = p.f
        # a. try-lock in passes 0-2, lock_page() later: a lock that never ends is never got.
        if f.locked:
            p.reason = "locked"
            return _AGAIN
        # b. writeback skipped in pass 0, waited for later: one that never ends never ends.
        if f.writeback:
            p.reason = "writeback"
            return _AGAIN
        # c. an anonymous page needs a swap slot: none is a permanent failure.
        if f.kind == "anon" and not p.swapcache:
            if self.swap_free == 0:
                p.reason = "no_swap"
                return _FAIL
            self.swap_free -= 1
            p.swapcache = True
            p.dirty = True  # add_to_swap() leaves the page dirty
        # d. swap_page(): unmap, mapping by mapping (stops at a VM_LOCKED mapping, or at a
        #    young PTE, whose bit is cleared for the next pass)
        if p.page_mapped() and not p.try_to_unmap(refs=True):
            p.reason = "unmap_failed"
            return _AGAIN
        written = False
        if p.dirty:
            # pageout(): only the cache and the isolation may hold the page
            if f.pinned:
                p.reason = "busy_refcount"
                return _AGAIN
            p.dirty = False
            if f.kind in ("anon", "shmem"):
                self.res.pswpout += 1
            if pass_ == V5_PASSES - 1:
                p.reason = "dirty"
                return _AGAIN
            written = True
        # remove_mapping(): refcount must be 2
        if f.pinned:
            p.reason = "busy_refcount"
            return _AGAIN
        self._release_frame(p.node)
        p.node = None  # evicted; an anon page's slot stays with its swap PTEs
        return _DONE_WRITTEN if written else _DONE

    # -- 2.6.16 (spec §2.1.8, §3.3, §4.2)
    def d16_pair(self, s: int, d: int, pr: PairResult) -> int:
        r = self.res
        if self.swap_free == 0:
            # check_range(): no free swap -> -ENODEV, ignored by do_migrate_pages.
            r.no_swap_at_collection = True
            return 0
        lst = self.walk({s}, pr)
        failed: list[_P] = []
        err = 0
        to: list[int] = []
        while lst:
            nr = min(len(lst), D16_BATCH)
            while len(to) < nr:
                n = self._d16_alloc(d)
                if n is None:
                    err = -ENOMEM
                    break
                to.append(n)
            if err:
                break
            ret = self._d16_migrate_pages(lst, to, failed, pr)
            if ret >= 0 and not to and lst:
                continue
            break
        for n in to:  # "Return leftover allocated pages"
            self._release_frame(n)
        self._flush()
        if err:
            r.error = ENOMEM
            r.put_back += len(failed) + len(lst)
            return err
        r.retried_out += len(lst)
        left = failed + lst
        pr.not_moved += len(left)
        self._leave(left)
        return len(left)

    def _d16_alloc(self, d: int) -> int | None:
        """alloc_pages_node(dest) without __GFP_THISNODE: dest's zonelist within the
        allocating task's cpuset (numasim's choice for spec §3.3.7)."""
        for n in self.env.zonelists[d]:
            if n in self.env.alloc_mask and self.free.get(n, 0) > 0:
                self.free[n] -= 1
                return n
        return None

    def _d16_migrate_pages(self, lst: list[_P], to: list[int], failed, pr: PairResult) -> int:
        r = self.res
        nr_failed = 0
        for pass_ in range(D16_PASSES):
            retry = 0
            keep = []
            i = 0
            while i < len(lst):
                if not to:  # "if (to && list_empty(to)) break"
                    break
                p = lst[i]
                src = p.node
                st = self._d16_step(p, pass_, to)
                if st == _DONE:
                    r.moved += 1
                    pr.moved += 1
                    self._release_frame(src)
                elif st == _AGAIN:
                    retry += 1
                    keep.append(p)
                else:
                    nr_failed += 1
                    r.failed += 1
                    failed.append(p)
                i += 1
            lst[:] = keep + lst[i:]
            pr.passes = max(pr.passes, pass_ + 1)
            r.passes = max(r.passes, pass_ + 1)
            if retry == 0 or pass_ == D16_PASSES - 1:
                return nr_failed + retry
        raise AssertionError("unreachable")

    def _d16_step(self, p: _P, pass_: int, to: list[int]) -> str:
        f = p.f
        if f.locked:
            p.reason = "locked"
            return _AGAIN
        if f.writeback:
            p.reason = "writeback"
            return _AGAIN
        # "Anonymous pages must have swap cache references": no slot is -ENOMEM, permanent.
        if f.kind == "anon" and not p.swapcache:
            if self.swap_free == 0:
                p.reason = "no_swap"
                return _FAIL
            self.swap_free -= 1
            p.swapcache = True
        if f.kind == "shmem":
            # 2.6.16 shmem has no migratepage: a dirty page must be written first, and
            # pageout() keeps a mapped page (PAGE_KEEP).
            if p.dirty:
                if p.page_mapped():
                    p.reason = "dirty"
                    return _AGAIN
                if f.pinned:
                    p.reason = "busy_refcount"
                    return _AGAIN
                p.dirty = False
                self.res.pswpout += 1
                p.reason = "dirty"
                return _AGAIN
        # migrate_page(): page_mapcount + 2 must equal page_count
        if f.pinned:
            p.reason = "busy_refcount"
            return _AGAIN
        # try_to_unmap(page, 1) stops at a VM_LOCKED mapping: -EPERM, a permanent failure in
        # 2.6.16 final ("page migration: fail if page is in a vma flagged VM_LOCKED")
        if not p.try_to_unmap(refs=False):
            p.reason = "unmap_failed"
            return _FAIL
        # lru_to_page(to): the tail of a list built with list_add_tail() in allocation order
        # ("Fix MPOL_INTERLEAVE behavior for migration via mbind()", 2.6.16-rc5), i.e. the
        # last new page allocated that is still unused.
        p.node = to.pop()
        if f.kind == "anon":
            # remove_from_swap(): the PTEs come back, the slot is released
            self.swap_free += 1
            p.swapcache = False
            p.restore_all()
        # (file pages lose their PTEs; the next fault maps the new page-cache page)
        return _DONE

    # -- modern (spec §3.3.9-10, §4.3)
    def modern_pair(self, s: int, d: int, pr: PairResult) -> int:
        r = self.res
        lst = self.walk({s}, pr)
        moved = 0
        # "if (!list_empty(&pagelist)) migrate_pages(...)" (migrate_to_node(), 6.x)
        for pass_ in range(MODERN_PASSES if lst else 0):
            keep = []
            for i, p in enumerate(lst):
                # unmap_and_move(): the new page first, __GFP_THISNODE; none aborts the call
                if self.free.get(d, 0) == 0:
                    p.reason = "no_memory"
                    r.failed += 1
                    r.not_moved_by["no_memory"] += 1
                    r.error = ENOMEM
                    r.put_back += len(keep) + (len(lst) - i)
                    r.passes = max(r.passes, pass_ + 1)
                    pr.passes = max(pr.passes, pass_ + 1)
                    r.pgmigrate_success += moved
                    r.pgmigrate_fail += 1
                    self._flush()
                    return -ENOMEM
                if p.f.locked:
                    p.reason = "locked"
                elif p.f.writeback:
                    p.reason = "writeback"
                elif p.f.pinned:
                    p.reason = "busy_refcount"
                else:
                    self.free[d] -= 1
                    self._release_frame(p.node)
                    p.node = d
                    moved += 1
                    r.moved += 1
                    pr.moved += 1
                    continue
                keep.append(p)
            lst = keep
            r.passes = max(r.passes, pass_ + 1)
            pr.passes = max(pr.passes, pass_ + 1)
            if not lst:
                break
        r.retried_out += len(lst)
        r.pgmigrate_success += moved
        r.pgmigrate_fail += len(lst)
        pr.not_moved += len(lst)
        self._leave(lst)
        self._flush()
        return len(lst)

    def run(self, old, new) -> Result:
        r = self.res
        if self.sem == "v5":
            r.ret = self.v5(old, new)
        else:
            busy = 0
            for s, d in migration_pairs(old, new, self.sem):
                pr = PairResult(s, d)
                if self.sem == "2.6.16":
                    x = self.d16_pair(s, d, pr)
                else:
                    x = self.modern_pair(s, d, pr)
                pr.result = x
                r.pairs.append(pr)
                if x < 0:
                    busy = x
                    break
                busy += x
            r.ret = busy
        r.pages = [
            PageResult(p.node, p.mapped, p.reason, p.child_mapped)
            for _, pages in self.vmas
            for p in pages
        ]
        r.swap_free = self.swap_free
        r.free = self.free
        return r


def migrate(semantics: str, vmas, old, new, move_all: bool, env: Env) -> Result:
    """do_migrate_pages(mm, old, new, MPOL_MF_MOVE or MPOL_MF_MOVE_ALL) on the given facts.

    ``vmas`` are the target mm's VMAs in address order (every VMA below TASK_SIZE, walked or
    not). ``Result.pages`` follows the pages of ``vmas`` in order. V5 ignores ``move_all``
    only in the sense that its syscall never passes it (spec §2.3.3); the model applies the
    flag it is given.
    """
    if semantics not in SEMANTICS:
        raise ValueError(semantics)
    return _Model(semantics, vmas, move_all, env).run(old, new)


def syscall_flag_move_all(semantics: str, caller_has_cap: bool) -> bool:
    """sys_migrate_pages() passes MPOL_MF_MOVE_ALL iff the caller has the generation's
    capability; V5 always passes MPOL_MF_MOVE (spec §2.3.3, §5)."""
    return semantics != "v5" and caller_has_cap


def after_fault(res: PageResult, fault_node: int) -> int:
    """The node a page is on once its task touches it again: its frame's node if it still has
    one (mapped, or in the swap or page cache), else where the fault allocates (spec §3.4)."""
    return fault_node if res.node is None else res.node


def page_nodes_value(res: PageResult, child: bool = False) -> int:
    """What move_pages-style page_nodes() reports for the page right after the call (in the
    other mm, for ``child``)."""
    mapped = res.child_mapped if child else res.mapped
    if mapped and res.node is not None:
        return res.node
    return -ENOENT
