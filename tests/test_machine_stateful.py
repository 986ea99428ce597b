"""Random sequences of address-space operations against an independent model of what every
live task must read at every page.

The model knows each store's stamp in advance: the machine hands out stamps 1, 2, 3, ... one
per store, in order, so a write of k pages must make them read s+1 .. s+k (a page stored twice
in one call keeps the later stamp). Nothing but a store may change what a page reads: not a
fault, COW, swap-out or swap-in, writeback, mlock, mprotect or a page state. Shared mappings
(shared anonymous memory, shared file mappings, pages of a private file mapping not yet
written) are cells shared by reference; fork copies private cells.

After every step: m.check(), every live task's pages read as the model says, page_nodes only
names real nodes, counters never go back. At the end every task exits and every frame (but
the zero page and the files' page cache) and every swap slot must be free."""

from __future__ import annotations

import errno

import pytest
from conftest import SEMANTICS, assert_all_free, used_pages
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import numasim
from numasim import MPOL_DEFAULT, MPOL_INTERLEAVE, MPOL_PREFERRED, SegmentationFault

MAX_MMS = 4
MAX_TASKS = 6
MAX_AREAS = 4
MAX_AREA_PAGES = 8
HEAP_PAGES = 8
NODE_PAGES = 192
FILE_PAGES = (4, 6)


KINDS = ["anon", "anon", "shanon", "shfile", "pvfile"]
STATES = ("locked", "pagevec", "young", "dirty")
# operations with repeats as weights: stores, swap-out and fork are what the model is about
OPS = tuple(
    ["touch"] * 6
    + ["touch_pages", "touch_pages"]
    + ["fault_in"] * 3
    + ["swap_out"] * 4
    + ["mmap"] * 3
    + ["fork", "fork"]
    + ["munmap", "mprotect", "mlock", "brk", "exit", "spawn", "clone_thread"]
    + ["page_state", "pinned_swap_out", "writeback", "advance", "drain", "migrate"]
    + ["set_mempolicy"]
)
NEEDS_PAGES = {
    "touch",
    "fault_in",
    "touch_pages",
    "swap_out",
    "munmap",
    "mprotect",
    "mlock",
    "page_state",
    "pinned_swap_out",
}


class Cell:
    """What a page reads; shared by reference between the mappings that see the same page."""

    __slots__ = ("v",)

    def __init__(self, v=0):
        self.v = v


class Page:
    __slots__ = ("cell", "file_cell", "locked", "prot", "shared")

    def __init__(self, cell, prot, shared, file_cell):
        self.cell = cell
        self.prot = prot
        self.shared = shared  # a store updates the shared cell
        self.file_cell = file_cell  # private page still reading the file: a store copies
        self.locked = False

    def fork_copy(self):
        if self.shared or self.file_cell:
            p = Page(self.cell, self.prot, self.shared, self.file_cell)
        else:
            p = Page(Cell(self.cell.v), self.prot, False, False)
        return p


class Mm:
    def __init__(self, heap_start):
        self.pages: dict[int, Page] = {}
        self.areas = 0
        self.heap_start = heap_start
        self.brk = heap_start

    def runs(self, ps):
        """Maximal runs of consecutive mapped pages: [(start, npages)]."""
        out = []
        for a in sorted(self.pages):
            if out and out[-1][0] + out[-1][1] * ps == a:
                out[-1][1] += 1
            else:
                out.append([a, 1])
        return [tuple(r) for r in out]


class MachineModel(RuleBasedStateMachine):
    """The green model: no swap readahead (page_cluster 0) and no writeback page state; the
    two variants at the end add them, each held back by a bug."""

    page_clusters = (0,)
    ops = OPS
    states = STATES

    def __init__(self):
        super().__init__()
        self.m = None

    # ----- setup -------------------------------------------------------------------------

    @initialize(
        semantics=st.sampled_from(SEMANTICS),
        arch=st.sampled_from(["x86_64", "i386", "ia64"]),
        nodes=st.integers(2, 4),
        swap=st.sampled_from([0, 12, 4096]),
        data=st.data(),
    )
    def setup(self, semantics, arch, nodes, swap, data):
        ps = numasim.arch(arch).page_size
        pc = data.draw(st.sampled_from(self.page_clusters), label="page_cluster")
        self.m = numasim.Machine(
            arch=arch,
            semantics=semantics,
            nodes=nodes,
            node_memory=NODE_PAGES * ps,
            cpus_per_node=1,
            swap=swap * ps,
            page_cluster=pc,
        )
        self.ps = ps
        self.files = [self.m.create_file(f"/f{i}", n * ps) for i, n in enumerate(FILE_PAGES)]
        self.file_cells = [[Cell() for _ in range(n)] for n in FILE_PAGES]
        self.mms: dict[int, Mm] = {}
        self.tasks: dict[int, tuple[numasim.Task, int]] = {}  # pid -> (task, mm key)
        self.next_mm = 0
        self.stamp = 0  # stamps handed out so far
        self.vmstat = self.m.vmstat_counters()
        self.spawn_task(0)
        self.do_mmap(data)
        self.do_touch(data)

    def spawn_task(self, cpu):
        t = self.m.spawn(cpu=cpu)
        self.mms[self.next_mm] = Mm(t.layout().start_brk)
        self.tasks[t.pid] = (t, self.next_mm)
        self.next_mm += 1

    # ----- choosing things ---------------------------------------------------------------

    def task(self, data):
        pid = data.draw(st.sampled_from(sorted(self.tasks)), label="pid")
        t, key = self.tasks[pid]
        return t, self.mms[key]

    def page_range(self, data, mm):
        """A run of consecutive mapped pages: (addr, npages)."""
        start, n = data.draw(st.sampled_from(mm.runs(self.ps)), label="run")
        i = data.draw(st.integers(0, n - 1), label="first")
        k = data.draw(st.integers(1, n - i), label="pages")
        return start + i * self.ps, k

    def has_pages(self):
        return any(mm.pages for mm in self.mms.values())

    def task_with_pages(self, data):
        pids = sorted(p for p, (_, k) in self.tasks.items() if self.mms[k].pages)
        pid = data.draw(st.sampled_from(pids), label="pid")
        t, key = self.tasks[pid]
        return t, self.mms[key]

    # ----- lifecycle ---------------------------------------------------------------------

    def do_spawn(self, data):
        cpu = data.draw(st.integers(0, self.m.nr_cpus - 1), label="cpu")
        self.spawn_task(cpu)

    def do_fork(self, data):
        t, mm = self.task(data)
        c = t.fork()
        child = Mm(mm.heap_start)
        child.brk, child.areas = mm.brk, mm.areas
        child.pages = {a: p.fork_copy() for a, p in mm.pages.items()}
        for p in child.pages.values():
            p.locked = False  # dup_mmap drops VM_LOCKED
        self.mms[self.next_mm] = child
        self.tasks[c.pid] = (c, self.next_mm)
        self.next_mm += 1

    def do_clone_thread(self, data):
        pid = data.draw(st.sampled_from(sorted(self.tasks)), label="pid")
        t, key = self.tasks[pid]
        th = t.clone_thread()
        self.tasks[th.pid] = (th, key)

    def do_exit(self, data):
        pid = data.draw(st.sampled_from(sorted(self.tasks)), label="pid")
        t, key = self.tasks.pop(pid)
        t.exit()
        if all(k != key for _, k in self.tasks.values()):
            del self.mms[key]

    def do_migrate(self, data):
        t, _ = self.task(data)
        t.migrate_to_cpu(data.draw(st.integers(0, self.m.nr_cpus - 1), label="cpu"))

    def do_set_mempolicy(self, data):
        t, _ = self.task(data)
        mode = data.draw(st.sampled_from([MPOL_DEFAULT, MPOL_PREFERRED, MPOL_INTERLEAVE]))
        nodes = (
            []
            if mode == MPOL_DEFAULT
            else data.draw(st.sets(st.sampled_from(self.m.nodes), min_size=1))
        )
        t.set_mempolicy(mode, sorted(nodes))

    # ----- address space -----------------------------------------------------------------

    def do_mmap(self, data):
        t, mm = self.task(data)
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        prot = data.draw(st.sampled_from(["rw", "rw", "r"]), label="prot")
        if mm.areas >= MAX_AREAS:
            return
        ps = self.ps
        if kind in ("shfile", "pvfile"):
            f = data.draw(st.integers(0, len(self.files) - 1), label="file")
            off = data.draw(st.integers(0, FILE_PAGES[f] - 1), label="offset")
            n = data.draw(st.integers(1, FILE_PAGES[f] - off), label="pages")
            flags = "shared" if kind == "shfile" else "private"
            a = t.mmap(n * ps, prot=prot, flags=flags, file=self.files[f], offset=off * ps)
            for i in range(n):
                cell = self.file_cells[f][off + i]
                mm.pages[a + i * ps] = Page(cell, prot, kind == "shfile", kind == "pvfile")
        else:
            n = data.draw(st.integers(1, MAX_AREA_PAGES), label="pages")
            flags = "shared|anonymous" if kind == "shanon" else "private|anonymous"
            a = t.mmap(n * ps, prot=prot, flags=flags)
            for i in range(n):
                mm.pages[a + i * ps] = Page(Cell(), prot, kind == "shanon", False)
        assert a % ps == 0
        mm.areas += 1

    def do_munmap(self, data):
        t, mm = self.task_with_pages(data)
        a, k = self.page_range(data, mm)
        t.munmap(a, k * self.ps)
        for i in range(k):
            del mm.pages[a + i * self.ps]

    def do_mprotect(self, data):
        t, mm = self.task_with_pages(data)
        prot = data.draw(st.sampled_from(["r", "rw", "rw", "none"]), label="prot")
        a, k = self.page_range(data, mm)
        t.mprotect(a, k * self.ps, prot)
        for i in range(k):
            mm.pages[a + i * self.ps].prot = prot

    def do_mlock(self, data):
        t, mm = self.task_with_pages(data)
        lock = data.draw(st.booleans(), label="lock")
        a, k = self.page_range(data, mm)
        if lock:
            t.mlock(a, k * self.ps)
        else:
            t.munlock(a, k * self.ps)
        for i in range(k):
            p = mm.pages[a + i * self.ps]
            p.locked = lock
            if lock and p.file_cell and p.prot == "rw":
                # make_pages_present(write): a private file page is copied at once
                p.cell, p.file_cell = Cell(p.cell.v), False

    def do_brk(self, data):
        t, mm = self.task(data)
        ps = self.ps
        new = mm.heap_start + data.draw(st.integers(0, HEAP_PAGES * ps), label="brk offset")
        old_end = -(-mm.brk // ps) * ps
        new_end = -(-new // ps) * ps
        assert t.brk(new) == new
        for a in range(new_end, old_end, ps):
            mm.pages.pop(a, None)
        for a in range(old_end, new_end, ps):
            mm.pages[a] = Page(Cell(), "rw", False, False)
        mm.brk = new

    # ----- faults ------------------------------------------------------------------------

    def store(self, mm, addrs):
        """The model's side of one store per address, in order."""
        for a in addrs:
            self.stamp += 1
            p = mm.pages[a]
            if p.file_cell:
                p.cell, p.file_cell = Cell(), False
            p.cell.v = self.stamp

    def do_touch(self, data):
        t, mm = self.task_with_pages(data)
        write = data.draw(st.sampled_from([True, True, False]), label="write")
        a, k = self.page_range(data, mm)
        ps = self.ps
        addrs = [a + i * ps for i in range(k)]
        bad = [
            x for x in addrs if mm.pages[x].prot != "rw" and (write or mm.pages[x].prot == "none")
        ]
        if bad:
            with pytest.raises(SegmentationFault) as e:
                t.touch(a, k * ps, write=write)
            assert e.value.address == bad[0]
            event("touch: SIGSEGV")
            return
        swapped_in = self.m.vmstat_counters()["pswpin"]
        t.touch(a, k * ps, write=write)
        if self.m.vmstat_counters()["pswpin"] > swapped_in:
            event("touch: swap-in")
        if write:
            self.store(mm, addrs)

    def do_fault_in(self, data):
        """A touch of one page that is not present (never touched, or swapped out)."""
        t, mm = self.task_with_pages(data)
        ps = self.ps
        absent = []
        for start, n in mm.runs(ps):
            nodes = t.page_nodes(start, n * ps).tolist()
            absent += [start + i * ps for i, x in enumerate(nodes) if x == -errno.ENOENT]
        absent = [a for a in absent if mm.pages[a].prot != "none"]
        if not absent:
            return
        a = data.draw(st.sampled_from(absent), label="absent page")
        write = mm.pages[a].prot == "rw" and data.draw(st.booleans(), label="write")
        swapped_in = self.m.vmstat_counters()["pswpin"]
        t.touch(a, ps, write=write)
        if self.m.vmstat_counters()["pswpin"] > swapped_in:
            event("fault_in: swap-in")
        if write:
            self.store(mm, [a])

    def do_touch_pages(self, data):
        t, mm = self.task_with_pages(data)
        writable = sorted(a for a, p in mm.pages.items() if p.prot == "rw")
        if not writable:
            return
        addrs = data.draw(st.lists(st.sampled_from(writable), min_size=1, max_size=6))
        offsets = data.draw(
            st.lists(st.integers(0, self.ps - 1), min_size=len(addrs), max_size=len(addrs))
        )
        t.touch_pages([a + o for a, o in zip(addrs, offsets, strict=True)], write=True)
        self.store(mm, addrs)

    def do_swap_out(self, data):
        t, mm = self.task_with_pages(data)
        a, k = self.page_range(data, mm)
        before = int((t.page_nodes(a, k * self.ps) >= 0).sum())
        used = used_pages(self.m)
        n = self.m.swap_out(t, a, k * self.ps)
        after = int((t.page_nodes(a, k * self.ps) >= 0).sum())
        # What swap_out counts left memory; a page may also lose its PTEs and stay (one with
        # an extra reference, or a 2.6 shmem page without a free slot or on its way to one).
        assert 0 <= n == used - used_pages(self.m)
        assert after <= before
        event(f"swap_out: {'some' if n else 'no'} pages evicted")
        if all(mm.pages[a + i * self.ps].locked for i in range(k)):
            assert n == 0

    # ----- page states, writeback, time ------------------------------------------------

    def present_run(self, data, t, mm):
        """A run of present pages of the task (page_nodes >= 0), or None."""
        runs = []
        for start, n in mm.runs(self.ps):
            nodes = t.page_nodes(start, n * self.ps).tolist()
            for i, x in enumerate(nodes):
                if x >= 0:
                    a = start + i * self.ps
                    if runs and runs[-1][0] + runs[-1][1] * self.ps == a:
                        runs[-1][1] += 1
                    else:
                        runs.append([a, 1])
        if not runs:
            return None
        start, n = data.draw(st.sampled_from(runs), label="present run")
        k = data.draw(st.integers(1, n), label="pages")
        return start, k

    def do_page_state(self, data):
        t, mm = self.task_with_pages(data)
        state = data.draw(st.sampled_from(self.states), label="state")
        on = data.draw(st.booleans(), label="on")
        duration = data.draw(st.integers(1, 10**6), label="duration")
        r = self.present_run(data, t, mm)
        if r is None:
            return
        a, k = r
        timed = state in ("locked", "writeback") and on
        got = self.m.set_page_state(
            t, a, k * self.ps, state, on=on, duration_ns=duration if timed else None
        )
        assert got == k

    def do_pinned_swap_out(self, data):
        """Reclaim of pages with an extra reference (a get_user_pages pin): none leaves
        memory, though they may lose their PTEs (pageout() keeps them unwritten in the swap or
        page cache); a read maps each back with a minor fault. Readable runs only: unpinning
        needs the pages present again."""
        t, mm = self.task_with_pages(data)
        r = self.present_run(data, t, mm)
        if r is None:
            return
        a, k = r
        n = k * self.ps
        if any(mm.pages[a + i * self.ps].prot == "none" for i in range(k)):
            return
        assert self.m.set_page_state(t, a, n, "pinned") == k
        used, v = used_pages(self.m), self.m.vmstat_counters()
        assert self.m.swap_out(t, a, n) == 0
        assert used_pages(self.m) == used
        t.touch(a, n)
        w = self.m.vmstat_counters()
        assert (w["pgmajfault"], w["pswpin"]) == (v["pgmajfault"], v["pswpin"])
        assert self.m.set_page_state(t, a, n, "pinned", on=False) == k

    def do_writeback(self, data):
        which = data.draw(st.sampled_from([None, 0, 1]), label="file")
        self.m.writeback(None if which is None else self.files[which])
        # a second pass at once finds nothing left to write
        assert self.m.writeback(None if which is None else self.files[which]) == 0

    def do_advance(self, data):
        ns = data.draw(st.sampled_from([1, 1000, 10**6]), label="ns")
        before = self.m.now_ns
        self.m.advance(ns)
        assert self.m.now_ns == before + ns

    def do_drain(self, data):
        self.m.drain()

    # ----- one weighted rule -------------------------------------------------------------

    def enabled(self, op):
        if op in ("spawn",):
            return len(self.mms) < MAX_MMS and len(self.tasks) < MAX_TASKS
        if op == "fork":
            return len(self.mms) < MAX_MMS and len(self.tasks) < MAX_TASKS
        if op == "clone_thread":
            return len(self.tasks) < MAX_TASKS
        if op == "exit":
            return len(self.tasks) > 1
        if op in NEEDS_PAGES:
            return self.has_pages()
        return True

    @rule(data=st.data())
    def step(self, data):
        ops = [op for op in self.ops if self.enabled(op)]
        op = data.draw(st.sampled_from(ops), label="op")
        getattr(self, "do_" + op)(data)

    # ----- invariants ----------------------------------------------------------------------

    @invariant()
    def consistent(self):
        if self.m is None:
            return
        m, ps = self.m, self.ps
        m.check()
        valid = set(m.nodes) | {-errno.ENOENT, -errno.EFAULT}
        for key, mm in self.mms.items():
            t = next(t for t, k in self.tasks.values() if k == key)
            for start, n in mm.runs(ps):
                want = [mm.pages[start + i * ps].cell.v for i in range(n)]
                assert t.read(start, n * ps).tolist() == want, (t.pid, hex(start))
                assert set(t.page_nodes(start, n * ps).tolist()) <= valid
        v = m.vmstat_counters()
        assert all(v[k] >= self.vmstat[k] for k in v)
        self.vmstat = v
        for n, u in m.node_usage().items():
            assert 0 <= u.free <= u.total
            used_kb = int(m.meminfo(n).split("MemUsed:")[1].split()[0])
            assert used_kb == u.used * ps // 1024
        for d in m.swap_info():
            assert 0 <= d.used <= d.pages

    def teardown(self):
        if self.m is None:
            return
        for t, _ in list(self.tasks.values()):
            t.exit()
        self.m.advance(10**12)  # outstanding I/O completes, timed locks end
        assert self.m.tasks() == []
        assert_all_free(self.m, cached=sum(f.cached_pages for f in self.files))
        # the files kept what was written to them
        u = self.m.spawn()
        for f, cells in zip(self.files, self.file_cells, strict=True):
            a = u.mmap(len(cells) * self.ps, prot="r", flags="shared", file=f)
            assert u.read(a, len(cells) * self.ps).tolist() == [c.v for c in cells]
        u.exit()


SETTINGS = settings(
    max_examples=settings().max_examples // 2,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TestMachineModel = MachineModel.TestCase
TestMachineModel.settings = SETTINGS


class ReadaheadModel(MachineModel):
    """With swap readahead (page_cluster 1..3): freed slots cut readahead windows."""

    page_clusters = (1, 2, 3)
    # more of what frees slots inside a readahead window, and of faults on swapped pages
    ops = ("touch", "touch", "fault_in", "fault_in", "swap_out", "swap_out", "munmap", "mmap")


class WritebackModel(MachineModel):
    """With the writeback page state: pages freed while their I/O is in flight."""

    states = ("writeback",)
    ops = ("touch", "touch", "page_state", "page_state", "munmap", "exit", "fork", "advance")


# deterministic, and no shrinking: an expected failure need not be minimised
XFAIL_SETTINGS = settings(
    SETTINGS,
    max_examples=2 * settings().max_examples,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
)

TestReadaheadModel = ReadaheadModel.TestCase
TestReadaheadModel.settings = XFAIL_SETTINGS

TestWritebackModel = WritebackModel.TestCase
TestWritebackModel.settings = XFAIL_SETTINGS
