"""The state machine of test_machine_stateful.py on a modern machine with transparent huge
pages (thp="always"): areas of whole 2 MiB blocks, so faults map THPs (or fall back), and
partial munmap/mprotect/mlock/madvise, fork + COW, swap-out, migrate_pages and move_pages
split or move them; MADV_(NO)HUGEPAGE changes which areas make new THPs. The same model of
what every page reads (one stamp per store, in address order: a store to a whole THP hands
out its 512 stamps in order) and m.check() after every step."""

from __future__ import annotations

import errno

from conftest import assert_all_free
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize
from test_machine_stateful import FILE_PAGES, SETTINGS, Cell, MachineModel, Mm, Page

import numasim

HP_PAGES = 512
BASE = 0x4000_0000


class ThpModel(MachineModel):
    ops = (
        "touch",
        "touch",
        "touch",
        "fault_in",
        "touch_pages",
        "mmap_thp",
        "munmap",
        "mprotect",
        "mlock",
        "fork",
        "exit",
        "swap_out",
        "thp_migrate",
        "thp_migrate",
        "thp_move_pages",
        "thp_madvise",
    )

    def enabled(self, op):
        if op in ("thp_move_pages", "thp_madvise"):
            return self.has_pages()
        return super().enabled(op)

    @initialize(nodes=st.integers(2, 3), data=st.data())
    def setup(self, nodes, data):
        ps = 4096
        self.m = numasim.Machine(
            arch="x86_64",
            semantics="modern",
            nodes=nodes,
            node_memory=16384 * ps,
            cpus_per_node=1,
            swap=4096 * ps,
            page_cluster=0,
            thp="always",
        )
        self.ps = ps
        self.files = [self.m.create_file(f"/f{i}", n * ps) for i, n in enumerate(FILE_PAGES)]
        self.file_cells = [[Cell() for _ in range(n)] for n in FILE_PAGES]
        self.mms: dict[int, Mm] = {}
        self.tasks: dict[int, tuple[numasim.Task, int]] = {}
        self.next_mm = 0
        self.stamp = 0
        self.next_area = 0
        self.vmstat = self.m.vmstat_counters()
        self.spawn_task(0)
        self.do_mmap_thp(data)
        self.do_touch(data)

    def do_mmap_thp(self, data):
        t, mm = self.task(data)
        if mm.areas >= 3:
            return
        n = data.draw(st.integers(1, 2), label="THPs") * HP_PAGES
        # A fresh 2 MiB aligned address in every mm (areas never overlap).
        addr = BASE + self.next_area * (4 << 20)
        self.next_area += 1
        a = t.mmap(n * self.ps, flags="private|anonymous|fixed", addr=addr)
        for i in range(n):
            mm.pages[a + i * self.ps] = Page(Cell(), "rw", False, False)
        mm.areas += 1

    def do_thp_migrate(self, data):
        t, _ = self.task(data)
        src = data.draw(st.sampled_from(self.m.nodes), label="from")
        dst = data.draw(st.sampled_from(self.m.nodes), label="to")
        ret = numasim.migrate_pages(t, 0, 65, [src], [dst])
        assert ret >= 0
        r = self.m.last_report
        event(f"migrate: {'thp moved' if r.thp_moved else 'no thp moved'}")
        if r.thp_split:
            event("migrate: thp split")

    def do_thp_move_pages(self, data):
        t, mm = self.task_with_pages(data)
        addrs = data.draw(st.lists(st.sampled_from(sorted(mm.pages)), min_size=1, max_size=4))
        nodes = data.draw(
            st.lists(st.sampled_from(self.m.nodes), min_size=len(addrs), max_size=len(addrs))
        )
        rc, st_ = numasim.move_pages(t, 0, addrs, nodes)
        assert rc >= 0
        valid = set(self.m.nodes) | {-errno.ENOENT, -errno.EFAULT, -errno.EBUSY, -errno.EACCES}
        assert set(st_.tolist()) <= valid | {-errno.EAGAIN, -errno.ENOMEM}

    def do_thp_madvise(self, data):
        """MADV_HUGEPAGE / MADV_NOHUGEPAGE over part of an area: the VMA splits (and a huge
        PMD across the split with it); THPs already mapped stay, and later faults on them are
        handled at the PMD level. No page changes content."""
        t, mm = self.task_with_pages(data)
        if data.draw(st.booleans(), label="whole run"):
            # Whole areas (whole THPs): no split, so huge PMDs stay in areas that now refuse
            # new THPs.
            a, k = data.draw(st.sampled_from(mm.runs(self.ps)), label="run")
        else:
            a, k = self.page_range(data, mm)
        advice = data.draw(
            st.sampled_from([numasim.MADV_HUGEPAGE, numasim.MADV_NOHUGEPAGE]), label="advice"
        )
        t.madvise(a, k * self.ps, advice)
        event(f"madvise: {'hugepage' if advice == numasim.MADV_HUGEPAGE else 'nohugepage'}")

    def teardown(self):
        if self.m is None:
            return
        for t, _ in list(self.tasks.values()):
            t.exit()
        self.m.advance(10**12)
        assert self.m.tasks() == []
        # The huge zero page stays once allocated (its shrinker is not modelled).
        zero = HP_PAGES * self.m.vmstat_counters()["thp_zero_page_alloc"]
        assert_all_free(self.m, cached=zero + sum(f.cached_pages for f in self.files))


TestThpModel = ThpModel.TestCase
TestThpModel.settings = SETTINGS
