"""The output of numactl's tools for a simulated machine: ``numactl --hardware`` and
``numastat``, in their exact formats.

- :func:`hardware` is numactl.c's hardware() (numactl 2.0.x, master): the "available:" line
  with its own range printing, per node the CPUs, size and free memory (numa_node_size64():
  MemTotal and MemFree of nodeN/meminfo, printed ``>> 20`` as MB), and print_distances().
- :func:`numastat` is numastat.c (the C rewrite of 2012, master): its table engine
  (init_table(), display_table() with its column flags, 16-character columns, line folding
  at the screen width), the compatibility mode of a bare ``numastat`` (the old perl script's
  raw counters), ``-n`` (the same counters in MB), ``-m`` (nodeN/meminfo in MB) and ``-p``
  (a process's numa_maps summed per node in MB, Huge/Heap/Stack/Private).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numasim.machine import Machine

KILOBYTE = 1024
MEGABYTE = 1024 * 1024

# ----- numactl --hardware -------------------------------------------------------------------


def hardware(m: Machine) -> str:
    """``numactl --hardware`` for the machine (numactl.c hardware(), print_node_cpus() without
    --cpu-compress, fmt_mem(), print_distances())."""
    nodes = m.nodes
    maxnode = max(nodes)
    present = set(nodes)
    out = [f"available: {len(nodes)} nodes ("]
    prev, skip = -1, False
    # The loop of hardware(), kept as it is: a range's end is printed at the next gap or at
    # the highest node.
    for i in range(maxnode + 1):
        if i not in present:
            continue
        if prev == -1:
            out.append(str(i))
            prev = i
            continue
        if i > prev + 1:
            if skip:
                out.append(str(prev))
                skip = False
            out.append(f",{i}")
            prev = i
            continue
        if i == prev + 1:
            if not skip:
                out.append("-")
                skip = True
            prev = i
        if i == maxnode and skip:
            out.append(str(prev))
    out.append(")\n")
    kb = m.page_size // 1024
    for i in nodes:
        mi = m.core.meminfo(i)
        cpus = "".join(f" {c}" for c in sorted(m.node_cpus(i)))
        out.append(f"node {i} cpus:{cpus}\n")
        out.append(f"node {i} size: {(mi.total * kb * 1024) >> 20} MB\n")
        out.append(f"node {i} free: {(mi.free * kb * 1024) >> 20} MB\n")
    out.append("node distances:\n")
    out.append("node  " + "".join(f"{i:4d} " for i in nodes) + "\n")
    for i in nodes:
        out.append(f"{i:4d}: " + "".join(f"{m.distance(i, k):4d} " for k in nodes) + "\n")
    return "".join(out)


# ----- numastat ---------------------------------------------------------------------------

_LEFT, _RIGHT, _CENTER = 1, 2, 0
_GUTTER = 1  # USUAL_GUTTER_WIDTH

#: Cell kinds of numastat.c's vtab: a string, a double, or a repeated character (a rule).
Cell = tuple[str, object] | None


@dataclass
class _Table:
    """numastat.c's vtab_t: cells, per-column width, decimals, justification."""

    header_rows: int
    header_cols: int
    data_rows: int
    data_cols: int
    cells: list[list[Cell]] = field(init=False)
    width: list[int] = field(init=False)
    places: list[int] = field(init=False)
    justify: list[int] = field(init=False)
    always_rows: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        rows, cols = self.rows, self.cols
        self.cells = [[None] * cols for _ in range(rows)]
        self.width = [0] * cols
        self.places = [0] * cols
        self.justify = [_CENTER] * cols

    @property
    def rows(self) -> int:
        return self.header_rows + self.data_rows

    @property
    def cols(self) -> int:
        return self.header_cols + self.data_cols

    def string(self, r: int, c: int, s: str) -> None:
        self.cells[r][c] = ("s", s)

    def rule(self, r: int, c: int, ch: str) -> None:
        self.cells[r][c] = ("r", ch)

    def set_double(self, r: int, c: int, d: float) -> None:
        self.cells[r][c] = ("d", d)

    def add_double(self, r: int, c: int, d: float) -> None:
        cell = self.cells[r][c]
        # double_addto() adds to the cell's double whatever it held before (0 for a new one).
        base = float(cell[1]) if cell is not None and cell[0] == "d" else 0.0  # type: ignore[arg-type]
        self.cells[r][c] = ("d", base + d)

    def zero(self) -> None:
        """zero_table_data(CELL_TYPE_DOUBLE)."""
        for r in range(self.header_rows, self.rows):
            for c in range(self.header_cols, self.cols):
                self.cells[r][c] = ("d", 0.0)

    def fmt(self, cell: Cell, max_width: int, places: int) -> str:
        """fmt_cell_data(): the text, cut at the column width."""
        if cell is None:
            s = ""
        elif cell[0] == "s":
            s = str(cell[1])
        elif cell[0] == "d":
            s = f"{float(cell[1]):.{places}f}"  # type: ignore[arg-type]
        else:
            s = str(cell[1]) * max(max_width - _GUTTER, 0)
        return s[:max_width]

    def auto_width(self, c: int, lo: int, hi: int) -> None:
        """auto_set_col_width(): the widest cell plus the gutter, within [lo + 1, hi]."""
        w = lo
        for r in range(self.rows):
            cell = self.cells[r][c]
            if cell is not None and cell[0] == "r":
                continue
            w = max(w, len(self.fmt(cell, hi, self.places[c])))
        self.width[c] = min(w + _GUTTER, hi)

    def cell_text(self, r: int, c: int) -> str:
        """display_justified_cell()."""
        w = self.width[c]
        p = self.fmt(self.cells[r][c], w, self.places[c])
        if self.justify[c] == _LEFT:
            return p.ljust(w)[:w]
        if self.justify[c] == _RIGHT:
            return p.rjust(w)[-w:] if w else ""
        start = (w - len(p) + 1) // 2
        return (" " * start + p).ljust(w)[:w]

    def display(self, screen_width: int, show_zero: bool) -> str:
        """display_table(table, screen_width, 0, 0, show_zero, show_zero)."""
        seen_r: set[int] = set()
        seen_c: set[int] = set()
        nz_r: set[int] = set()
        nz_c: set[int] = set()
        for r in range(self.header_rows, self.rows):
            for c in range(self.header_cols, self.cols):
                cell = self.cells[r][c]
                if cell is None or cell[0] == "r":
                    continue
                seen_r.add(r)
                seen_c.add(c)
                if cell[0] == "s" or float(cell[1]) != 0.0:  # type: ignore[arg-type]
                    nz_r.add(r)
                    nz_c.add(c)
        if not seen_r:
            return "Table has no data.\n"
        if not nz_r and not show_zero:
            return "Table has no non-zero data.\n"

        def show_col(c: int) -> bool:
            return c in seen_c and (show_zero or c in nz_c)

        out: list[str] = []
        col = -1
        data_col = self.header_cols
        while data_col < self.cols:
            if not show_col(data_col):
                data_col += 1
                continue
            if col > 0:
                out.append("\n")
            for r in range(self.rows):
                if r >= self.header_rows and r not in self.always_rows:
                    if r not in seen_r or (not show_zero and r not in nz_r):
                        continue
                line = [self.cell_text(r, c) for c in range(self.header_cols)]
                width = sum(self.width[: self.header_cols])
                col = data_col
                while True:
                    if show_col(col):
                        line.append(self.cell_text(r, col))
                        width += self.width[col]
                    col += 1
                    if col >= self.cols or width + self.width[col] > screen_width:
                        break
                out.append("".join(line) + "\n")
            data_col = col
        return "".join(out)


def _capitalise(token: str) -> str:
    """numastat's label for a counter: the first letter and each after '_' upper-cased."""
    parts = token.split("_")
    return "_".join(p[:1].upper() + p[1:] for p in parts)


def _tokens(line: str, delimiters: str) -> list[str]:
    """strtok(): runs of delimiters separate tokens; empty tokens do not exist."""
    out, cur = [], []
    for ch in line:
        if ch in delimiters:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


@dataclass
class NumastatOptions:
    """numastat's options: ``-p`` pids, ``-m``, ``-n``, ``-c``, ``-z``, ``-v``."""

    pids: Sequence[int] = ()
    meminfo: bool = False
    numastat: bool = False
    compress: bool = False
    skip_zero: bool = False
    verbose: bool = False
    #: The pid to print for a simulated pid (a process imported from /proc/PID shows PID).
    shown_pids: dict[int, int] = field(default_factory=dict)


def screen_width(stream: object = None) -> int:
    """get_screen_width(): $NUMASTAT_WIDTH, else the terminal's width, else (not a terminal)
    10,000,000; never less than 32."""
    width = 80
    env = os.environ.get("NUMASTAT_WIDTH")
    stream = stream if stream is not None else sys.stdout
    if env is not None:
        try:
            width = int(env)
        except ValueError:
            width = 0
        if not 1 <= width <= 10_000_000:
            width = 80
    elif hasattr(stream, "isatty") and stream.isatty():
        width = os.get_terminal_size(stream.fileno()).columns  # type: ignore[attr-defined]
    else:
        width = 10_000_000
    return max(width, 32)


def _system_file(
    m: Machine, file: str, compat: bool, opts: NumastatOptions, width: int, hpage: int
) -> str:
    """show_info_from_system_file(): one of nodeN/numastat or nodeN/meminfo, for every node."""
    nodes = m.nodes
    texts = [m.node_numastat(n) if file == "numastat" else m.meminfo(n) for n in nodes]
    tok_offset = 0 if file == "numastat" else 2
    rows = len(texts[0].splitlines())
    header_rows = 2 - int(compat)
    t = _Table(header_rows, 1, rows, len(nodes) + 1)
    total = 1 + len(nodes)
    t.width[0] = 16
    t.justify[0] = _LEFT
    ps = m.page_size
    headers = [f"node{n}" if compat else f"Node {n}" for n in nodes] + ["Total"]
    index: dict[str, int] = {}
    for ix in range(len(nodes) + (1 - int(compat))):
        col = 1 + ix
        t.string(0, col, headers[ix])
        if not compat:
            t.rule(1, col, "-")
            t.places[col] = 0 if opts.compress else 2
        t.width[col] = 16
        t.justify[col] = _RIGHT
        if ix == len(nodes):
            break
        row = 0
        for line in texts[ix].splitlines():
            tok = _tokens(line, " \t\r\n:")
            if not tok:
                continue
            name = tok[tok_offset]
            if ix == 0:
                index.setdefault(name, row)
                label = name if compat or file == "meminfo" else _capitalise(name)
                t.string(header_rows + row, 0, label)
            value = float(int(tok[1 + tok_offset]))
            if not compat:
                if len(tok) < 4:
                    mult = float(ps)
                elif tok[2].startswith("HugePages"):
                    mult = float(hpage)
                elif tok[4].startswith("kB"):
                    mult = float(KILOBYTE)
                else:
                    mult = 1.0
                value = value * mult / MEGABYTE
            r = header_rows + index[name]
            t.set_double(r, col, value)
            t.add_double(r, total, value)
            row += 1
    if opts.compress:
        for c in range(t.cols):
            t.auto_width(c, 4, 16)
    return t.display(width, not opts.skip_zero)


#: process_meminfo[] of numastat.c: a numa_maps line's category by its first matching token.
_CATEGORIES = (("huge", "Huge"), ("heap", "Heap"), ("stack", "Stack"), ("N", "Private"))
_PRIVATE = 3


def _process(m: Machine, opts: NumastatOptions, width: int, hpage: int) -> str:
    """show_process_info()."""
    nodes = m.nodes
    pids = sorted(set(opts.pids))
    sub = opts.verbose or len(pids) == 1
    data_rows = len(_CATEGORIES) if sub else len(pids)
    t = _Table(2, 1, data_rows + 2, len(nodes) + 1)
    total_col = 1 + len(nodes)
    total_row = 2 + data_rows + 1
    out: list[str] = []
    t.string(total_row, 0, "Total")
    if sub:
        for i, (_, label) in enumerate(_CATEGORIES):
            t.string(2 + i, 0, label)
    else:
        t.string(0, 0, "PID")
        t.rule(1, 0, "-")
        out.append("\nPer-node process memory usage (in MBs)\n")
    t.width[0] = 16
    t.justify[0] = _LEFT
    for ix, head in enumerate([*(f"Node {n}" for n in nodes), "Total"]):
        col = 1 + ix
        t.string(0, col, head)
        t.rule(1, col, "-")
        t.width[col] = 16
        t.places[col] = 0 if opts.compress else 2
        t.justify[col] = _RIGHT
    t.zero()
    col_of = {n: 1 + i for i, n in enumerate(nodes)}
    ps = m.page_size
    for pix, pid in enumerate(pids):
        task = m.task(pid)
        comm = task.name
        shown = opts.shown_pids.get(pid, pid)
        if sub:
            out.append(f"\nPer-node process memory usage (in MBs) for PID {shown} ({comm})\n")
            if pix > 0:
                t.zero()
        else:
            t.string(2 + pix, 0, f"{shown} ({comm})"[:63])
        for line in task.numa_maps().splitlines():
            category = _PRIVATE
            vm_pagesz = 0.0
            k = line.find("kernelpagesize_kB=")
            if k >= 0:
                digits = ""
                for ch in line[k + 18 :]:
                    if not ch.isdigit():
                        break
                    digits += ch
                vm_pagesz = float(int(digits or "0")) * KILOBYTE
            for tok in _tokens(line, " \t\r\n"):
                if category == _PRIVATE:
                    for i, (prefix, _) in enumerate(_CATEGORIES[:_PRIVATE]):
                        if tok.startswith(prefix):
                            category = i
                            break
                if tok[0] == "N":
                    nid_text, _, count = tok[1:].partition("=")
                    value = float(int(count))
                    if not vm_pagesz:
                        vm_pagesz = float(hpage if category == 0 else ps)
                    value = value * vm_pagesz / MEGABYTE
                    r = 2 + (category if sub else pix)
                    c = col_of[int(nid_text)]
                    t.add_double(r, c, value)
                    t.add_double(r, total_col, value)
                    t.add_double(total_row, c, value)
                    t.add_double(total_row, total_col, value)
        if sub or pix + 1 == len(pids):
            if opts.compress:
                for c in range(t.cols):
                    t.auto_width(c, 4, 16)
            else:
                t.auto_width(0, 16, 24)
            t.always_rows.add(total_row - 1)
            for c in range(t.cols):
                t.rule(total_row - 1, c, "-")
            out.append(t.display(width, not opts.skip_zero))
    return "".join(out)


def numastat(m: Machine, opts: NumastatOptions | None = None, width: int | None = None) -> str:
    """numastat's output for the machine. ``opts=None`` is a bare ``numastat`` (the
    compatibility mode: nodeN/numastat's raw page counts, ``node0`` headers); otherwise
    numastat.c's main(): the processes of ``-p``, then ``-m``, then ``-n`` (or the counters
    in MB when neither a process nor ``-m`` was asked for). ``width`` is the screen width
    (see :func:`screen_width`)."""
    width = screen_width() if width is None else max(width, 32)
    hpage = m.arch.huge_page_size
    if opts is None:
        return _system_file(m, "numastat", True, NumastatOptions(), width, hpage)
    out = []
    if opts.pids:
        out.append(_process(m, opts, width, hpage))
    if opts.meminfo:
        out.append("\nPer-node system memory usage (in MBs):\n")
        out.append(_system_file(m, "meminfo", False, opts, width, hpage))
    if opts.numastat or (not opts.pids and not opts.meminfo):
        out.append("\nPer-node numastat info (in MBs):\n")
        out.append(_system_file(m, "numastat", False, opts, width, hpage))
    return "".join(out)
