"""The kernel's own text formats: /proc/PID/numa_maps, /proc/PID/status, /proc/vmstat,
/proc/zoneinfo and /sys/devices/system/node/nodeN/meminfo, per kernel generation. Input is what
the core counted; no page is looked at here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from numasim._core import (
    NodeMask,
    NodeMeminfo,
    NodeNumaStat,
    NumaMapsEntry,
    TaskInfo,
    VmStat,
    ZoneInfo,
)


def numa_maps(entries: Sequence[NumaMapsEntry], semantics: str, online: NodeMask) -> str:
    """numa_maps text.

    v5 and 2.6.16 use the format from before the March-2006 "numa_maps update" (spec §8.1.1;
    that 2.6.16 final still had it is UNCONFIRMED, the simulator assumes it): only areas with
    pages, ``<start> <policy> pages=N mapped=N maxref=N[ anon=N][ N<node>=N...]``.
    modern uses show_numa_map() of 6.x (spec §8.1.2-3): every area, ``file=``/``heap``/
    ``stack``, ``huge``, then anon, dirty, mapped, mapmax, swapcache, active, writeback, the
    node counts and ``kernelpagesize_kB``.
    """
    lines = []
    for e in entries:
        start = f"{e.start:08x}"
        if semantics != "modern":
            # The old show_numa_map() walked non-hugetlb areas only.
            if e.pages == 0 or e.huge:
                continue
            s = f"{start} {e.policy} pages={e.pages} mapped={e.mapped}"
            s += f" maxref={e.mapmax}"
            if e.anon:
                s += f" anon={e.anon}"
            s += "".join(f" N{n}={c}" for n, c in e.nodes if n in online)
            lines.append(s)
            continue
        s = f"{start} {e.policy}"
        if e.file is not None:
            s += f" file={e.file}"
        elif e.heap:
            s += " heap"
        elif e.stack:
            s += " stack"
        if e.huge:
            s += " huge"
        if e.pages:
            pages = e.pages
            if e.anon:
                s += f" anon={e.anon}"
            if e.dirty:
                s += f" dirty={e.dirty}"
            if pages != e.anon and pages != e.dirty:
                s += f" mapped={pages}"
            if e.mapmax > 1:
                s += f" mapmax={e.mapmax}"
            if e.swapcache:
                s += f" swapcache={e.swapcache}"
            if e.active < pages and not e.huge:
                s += f" active={e.active}"
            if e.writeback:
                s += f" writeback={e.writeback}"
            s += "".join(f" N{n}={c}" for n, c in e.nodes)
            s += f" kernelpagesize_kB={e.kernel_page_kb}"
        lines.append(s)
    return "".join(line + "\n" for line in lines)


def status(info: TaskInfo, cpus: NodeMask, semantics: str) -> str:
    """/proc/PID/status lines: Name, State, Tgid, Pid, Uid, Gid, then Cpus_allowed and
    Mems_allowed as cpuset_task_status_allowed() prints them (hex masks over NR_CPUS and
    MAX_NUMNODES bits; modern kernels add the _list forms)."""
    uid = "\t".join(str(x) for x in (info.uid, info.euid, info.suid, info.fsuid))
    gid = "\t".join(str(x) for x in (info.gid, info.egid, info.sgid, info.fsgid))
    mems: NodeMask = info.mems_allowed
    # 2.6 prints the 32-bit kernel_cap_t with %08x; 6.x 64 bits with %016llx.
    cap = info.cap_effective_hex
    cap = cap if semantics == "modern" else cap[-8:]
    out = [
        f"Name:\t{info.comm}",
        "State:\tR (running)",
        f"Tgid:\t{info.tgid}",
        f"Pid:\t{info.pid}",
        f"Uid:\t{uid}",
        f"Gid:\t{gid}",
        f"CapEff:\t{cap}",
        f"Cpus_allowed:\t{cpus.format_hex()}",
    ]
    if semantics == "modern":
        out.append(f"Cpus_allowed_list:\t{cpus.format_list()}")
    out.append(f"Mems_allowed:\t{mems.format_hex()}")
    if semantics == "modern":
        out.append(f"Mems_allowed_list:\t{mems.format_list()}")
    return "".join(line + "\n" for line in out)


def vmstat_counters(pages: VmStat, page_size: int) -> dict[str, int]:
    """Every counter the simulator keeps, in /proc/vmstat's units: pgpgin and pgpgout are
    kilobytes (vmstat_start() turns sectors into kbytes), the others are counts."""
    kb = page_size // 1024
    return {n: v * kb if n in ("pgpgin", "pgpgout") else v for n, v in pages._asdict().items()}


def vmstat(counters: Mapping[str, int], semantics: str) -> str:
    """/proc/vmstat lines (``name value``) of the generation: 2.6 has no migration counters
    (spec §8.2)."""
    names = ["pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault"]
    if semantics == "modern":
        # mm/vmstat.c vmstat_text order (CONFIG_MIGRATION, CONFIG_TRANSPARENT_HUGEPAGE); of
        # the THP lines, those the simulator keeps (no khugepaged, no file THP).
        names += ["pgmigrate_success", "pgmigrate_fail"]
        names += ["thp_migration_success", "thp_migration_fail", "thp_migration_split"]
        names += ["thp_fault_alloc", "thp_fault_fallback", "thp_split_page", "thp_split_pmd"]
        names += ["thp_zero_page_alloc", "thp_zero_page_alloc_failed", "thp_swpout_fallback"]
    return "".join(f"{n} {counters[n]}\n" for n in names)


def node_meminfo(node: int, mi: NodeMeminfo, page_size: int, semantics: str) -> str:
    """/sys/devices/system/node/nodeN/meminfo (drivers/base/node.c node_read_meminfo):
    ``Node N Name:  <value> kB`` lines; the label column is 14 wide in 2.6
    ("Node %d MemTotal:     %8lu kB") and 16 wide in 6.x."""
    kb = page_size // 1024
    rows = [
        ("MemTotal", mi.total),
        ("MemFree", mi.free),
        ("MemUsed", mi.used),
        ("Active", mi.active),
        ("Inactive", mi.inactive),
        ("Dirty", mi.dirty),
        ("Writeback", mi.writeback),
        ("FilePages", mi.file_pages),
        ("Mapped", mi.mapped),
    ]
    if semantics == "modern":
        rows += [("AnonPages", mi.anon_pages), ("Mlocked", mi.mlocked)]
        rows += [("AnonHugePages", mi.anon_huge)]
    width = 16 if semantics == "modern" else 14
    out = [f"Node {node} {name + ':':<{width}}{v * kb:>8} kB" for name, v in rows]
    # hugetlb_report_node_meminfo(): "Node %d HugePages_Total: %5u" and "HugePages_Free:  %5u"
    # (2.6.16), with "HugePages_Surp:  %5u" since 2.6.24; counts of huge pages, not kB.
    huge = [("HugePages_Total:", mi.huge_pages_total), ("HugePages_Free:", mi.huge_pages_free)]
    if semantics == "modern":
        huge.append(("HugePages_Surp:", mi.huge_pages_surp))
    out += [f"Node {node} {name:<17}{v:>5}" for name, v in huge]
    return "".join(line + "\n" for line in out)


def node_numastat(st: NodeNumaStat) -> str:
    """/sys/devices/system/node/nodeN/numastat (drivers/base/node.c node_read_numastat(), the
    same six lines from 2.6.14 to 6.x): pages allocated on the node that were wanted there
    (numa_hit) or elsewhere (numa_miss), pages wanted here that went elsewhere (numa_foreign),
    interleaved pages that landed on their node (interleave_hit), and pages allocated here
    by a CPU of this node (local_node) or of another (other_node)."""
    return (
        f"numa_hit {st.numa_hit}\n"
        f"numa_miss {st.numa_miss}\n"
        f"numa_foreign {st.numa_foreign}\n"
        f"interleave_hit {st.interleave_hit}\n"
        f"local_node {st.local_node}\n"
        f"other_node {st.other_node}\n"
    )


def zoneinfo(zones: Sequence[ZoneInfo], semantics: str) -> str:
    """/proc/zoneinfo for numasim's one zone per node ("Normal"), in the generation's layout
    (2.6.16 zoneinfo_show(), 6.x zoneinfo_show_print()), with the lines numasim has values
    for: no per-CPU pagesets and, of the zone counters, the free pages and LRU lists only.
    ``protection`` (lowmem_reserve) is 0 against every zone type, as no lower zone exists;
    ``scanned`` (zone->pages_scanned, reset whenever pages are freed) is 0."""
    out = []
    for z in zones:
        active = z.active_anon + z.active_file
        inactive = z.inactive_anon + z.inactive_file
        lines = [f"Node {z.nid}, zone {'Normal':>8}"]
        if semantics == "modern":
            lists = [
                ("inactive_anon", z.inactive_anon),
                ("active_anon", z.active_anon),
                ("inactive_file", z.inactive_file),
                ("active_file", z.active_file),
            ]
            lines.append("  per-node stats")
            lines += [f"      {'nr_' + n:<12} {v}" for n, v in lists]
            lines += [
                f"  pages free     {z.free}",
                "        boost    0",
                f"        min      {z.min}",
                f"        low      {z.low}",
                f"        high     {z.high}",
                f"        spanned  {z.present}",
                f"        present  {z.present}",
                f"        managed  {z.present}",
                "        cma      0",
                "        protection: (0, 0, 0, 0)",
                f"      {'nr_free_pages':<12} {z.free}",
            ]
            lines += [f"      {'nr_zone_' + n:<12} {v}" for n, v in lists]
            lines += ["  node_unreclaimable:  0", f"  start_pfn:           {z.start_pfn}"]
        else:
            lines += [
                f"  pages free     {z.free}",
                f"        min      {z.min}",
                f"        low      {z.low}",
                f"        high     {z.high}",
                f"        active   {active}",
                f"        inactive {inactive}",
                f"        scanned  0 (a: {z.nr_scan_active} i: {z.nr_scan_inactive})",
                f"        spanned  {z.present}",
                f"        present  {z.present}",
                "        protection: (0, 0, 0, 0)",
                "  all_unreclaimable: 0",
                f"  prev_priority:     {z.prev_priority}",
                f"  temp_priority:     {z.prev_priority}",
                f"  start_pfn:         {z.start_pfn}",
            ]
        out += lines
    return "".join(line + "\n" for line in out)
