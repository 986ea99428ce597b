"""Real machines and processes into numasim: the topology of /sys/devices/system/node (live
or a saved copy), the text of ``numactl --hardware``, and a process's address space from
/proc/PID/{maps,numa_maps,status}.

What is read, and from where:

- sysfs: ``nodeN/meminfo`` (``Node N MemTotal: <kB> kB``), ``nodeN/cpulist`` (the node's CPUs,
  sparse numbers kept), ``nodeN/distance`` (the SLIT row, over the online nodes in id
  order). A node directory with MemTotal 0 is a memoryless node; an empty cpulist a CPU-less
  one (a CXL memory expander).
- ``numactl --hardware``: the ``node N cpus:``, ``node N size: <MB> MB`` and the distance
  table lines.
- /proc/PID: ``status`` (Name, Uid, Gid, Cpus_allowed_list, Mems_allowed_list), ``maps`` (every
  VMA: range, permissions, offset, path) and ``numa_maps`` (per VMA the policy and the pages
  on each node, ``N<node>=<pages>``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numasim.machine import File, Machine, NodeSpec, Task


def _list(text: str) -> list[int]:
    """A kernel list ("0-3,8,10-11"; empty for none)."""
    out: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def _node_dir(root: str | os.PathLike[str]) -> Path:
    """The node directory of a sysfs tree: ``root/sys/devices/system/node``, or a copy whose
    root is ``devices/system/node``, ``system/node`` or the node directory itself."""
    base = Path(root)
    for sub in ("sys/devices/system/node", "devices/system/node", "system/node", "node", "."):
        d = base / sub
        if d.is_dir() and any(p.name.startswith("node") for p in d.iterdir()):
            if any(re.fullmatch(r"node\d+", p.name) for p in d.iterdir()):
                return d
    raise ValueError(
        f"{root}: no node directories (nodeN/) under {base}/sys/devices/system/node or a copy of it"
    )


@dataclass
class Topology:
    """A machine's nodes (NodeSpecs in id order) and SLIT, as read."""

    nodes: list[NodeSpec]
    distances: list[list[int]] | None


def read_sysfs(root: str | os.PathLike[str] = "/") -> Topology:
    """The topology of a sysfs tree (see the module documentation)."""
    from numasim.machine import NodeSpec

    d = _node_dir(root)
    nids = sorted(int(p.name[4:]) for p in d.iterdir() if re.fullmatch(r"node\d+", p.name))
    nodes = []
    rows: list[list[int]] = []
    for nid in nids:
        nd = d / f"node{nid}"
        mem = 0
        meminfo = nd / "meminfo"
        if meminfo.exists():
            m = re.search(r"MemTotal:\s*(\d+)\s*kB", meminfo.read_text())
            if m is None:
                raise ValueError(f"{meminfo}: no MemTotal line")
            mem = int(m.group(1)) * 1024
        cpus = _list((nd / "cpulist").read_text()) if (nd / "cpulist").exists() else []
        nodes.append(NodeSpec(nid, mem, cpus))
        dist = nd / "distance"
        if dist.exists():
            rows.append([int(x) for x in dist.read_text().split()])
    distances = rows if len(rows) == len(nids) and all(len(r) == len(nids) for r in rows) else None
    return Topology(nodes, distances)


def read_numactl_hardware(text: str) -> Topology:
    """The topology in ``numactl --hardware`` output."""
    from numasim.machine import NodeSpec

    cpus: dict[int, list[int]] = {}
    size: dict[int, int] = {}
    rows: dict[int, list[int]] = {}
    header: list[int] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if m := re.match(r"node (\d+) cpus:(.*)$", line):
            cpus[int(m.group(1))] = [int(c) for c in m.group(2).split()]
        elif m := re.match(r"node (\d+) size: (\d+) MB$", line):
            size[int(m.group(1))] = int(m.group(2)) << 20
        elif re.match(r"node\s+(\d+\s*)+$", line) and line.startswith("node  "):
            header = [int(x) for x in line.split()[1:]]
        elif header is not None and (m := re.match(r"\s*(\d+):((\s+\d+)+)\s*$", line)):
            rows[int(m.group(1))] = [int(x) for x in m.group(2).split()]
        elif line.startswith(("available:", "node ", "No distance")) or not line.strip():
            continue
        else:
            raise ValueError(f"numactl --hardware text, line {lineno}: not understood: {line!r}")
    if not cpus:
        raise ValueError("numactl --hardware text: no 'node N cpus:' line")
    nids = sorted(cpus)
    missing = [n for n in nids if n not in size]
    if missing:
        raise ValueError(f"numactl --hardware text: no 'node {missing[0]} size:' line")
    nodes = [NodeSpec(n, size[n], cpus[n]) for n in nids]
    distances = None
    if header is not None:
        if header != nids or sorted(rows) != nids:
            raise ValueError("numactl --hardware text: the distance table does not list the nodes")
        distances = [rows[n] for n in nids]
    return Topology(nodes, distances)


# ----- processes --------------------------------------------------------------------------


@dataclass
class _Vma:
    start: int
    end: int
    perms: str
    offset: int
    path: str
    policy: str = "default"
    pages: dict[int, int] | None = None
    huge: bool = False


def _status(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


_SKIP = ("[vdso]", "[vvar]", "[vsyscall]", "[vvar_vclock]", "[uprobes]")


def _maps(text: str) -> list[_Vma]:
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split(None, 5)
        if len(parts) < 5:
            raise ValueError(f"maps line {lineno}: not a maps line: {line!r}")
        a, _, b = parts[0].partition("-")
        path = parts[5].strip() if len(parts) > 5 else ""
        out.append(_Vma(int(a, 16), int(b, 16), parts[1], int(parts[2], 16), path))
    return out


def _numa_maps(text: str, vmas: list[_Vma]) -> None:
    by_start = {v.start: v for v in vmas}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        v = by_start.get(int(fields[0], 16))
        if v is None:
            continue
        v.policy = fields[1]
        v.pages = {}
        for f in fields[2:]:
            if m := re.fullmatch(r"N(\d+)=(\d+)", f):
                v.pages[int(m.group(1))] = int(m.group(2))
            elif f == "huge":
                v.huge = True


def _prot(perms: str) -> str:
    p = "".join(c for c in perms[:3] if c != "-")
    return p or "none"


#: numa_maps' policy names (mpol_to_str) and the MPOL_* they stand for.
_POLICIES = {"default": 0, "prefer": 1, "preferred": 1, "bind": 2, "interleave": 3, "local": 4}


def import_process(m: Machine, proc_dir: str | os.PathLike[str]) -> Task:
    """A new task of ``m`` made like the process of ``proc_dir`` (see
    :meth:`numasim.Machine.import_process`)."""
    from numasim.constants import MPOL_BIND, MPOL_DEFAULT

    d = Path(proc_dir)
    try:
        status = _status((d / "status").read_text())
        vmas = _maps((d / "maps").read_text())
        numa = (d / "numa_maps").read_text() if (d / "numa_maps").exists() else ""
    except OSError as e:
        raise OSError(e.errno, f"{proc_dir}: {e.strerror}") from None
    _numa_maps(numa, vmas)
    uids = [int(x) for x in status.get("Uid", "0 0 0 0").split()]
    gids = [int(x) for x in status.get("Gid", "0 0 0 0").split()]
    name = status.get("Name", d.name)[:15]
    online = set(m.nodes)
    mems = [n for n in _list(status.get("Mems_allowed_list", "")) if n in online]
    present = list(m.cpuset_info("/").cpus)
    cpus = [c for c in _list(status.get("Cpus_allowed_list", "")) if c in set(present)]
    cpuset = "/"
    top_mems = set(m.cpuset_info("/").mems)
    if mems and set(mems) != top_mems and set(mems) <= top_mems:
        cpuset = f"/imported-{d.name}"
        m.cpuset(cpuset, mems=mems, cpus=cpus or present)
    cpu = (cpus or present)[0]
    # Spawned in the top cpuset and attached to its own at the end, so that pages may sit on
    # nodes its Mems_allowed leaves out (placed before a cpuset change, as happens).
    t = m.spawn(uid=0, gid=gids[0], cpu=cpu, cpuset="/", name=name)
    ps = m.page_size
    task_size = m.arch.task_size
    vmas = [
        v
        for v in vmas
        if not (v.path in _SKIP or v.huge or v.end > task_size or v.start % ps or v.end % ps)
    ]
    # One simulated file per path, as large as its furthest mapping needs.
    sizes: dict[str, int] = {}
    for v in vmas:
        if v.path and not v.path.startswith("["):
            sizes[v.path] = max(sizes.get(v.path, 0), v.offset + v.end - v.start)
    # A file already imported (libc, by an earlier process) is shared, as on the real machine.
    known: dict[str, File] = m.__dict__.setdefault("_imported_files", {})
    files = {}
    for p, n in sizes.items():
        f = known.get(p)
        if f is None or f.pages * ps < n:
            f = m.create_file(p if f is None else f"{p}#{n}", n)
            known.setdefault(p, f)
        files[p] = f
    for v in vmas:
        length = v.end - v.start
        shared = v.perms[3:4] == "s"
        kind = "shared" if shared else "private"
        file = None
        if v.path and not v.path.startswith("["):
            file = files[v.path]
            flags = f"{kind}|fixed"
        else:
            flags = f"{kind}|anonymous|fixed"
        addr = t.mmap(length, prot="rw", flags=flags, file=file, offset=v.offset, addr=v.start)
        # Pages where numa_maps counts them: the first pages of the VMA, node by node, under
        # a task policy bound to that node (the VMA keeps no policy of the import's).
        at = addr
        for nid, count in sorted((v.pages or {}).items()):
            count = min(count, (v.end - at) // ps)
            if nid not in online or count <= 0:
                continue
            t.set_mempolicy(MPOL_BIND, [nid])
            t.touch(at, count * ps, write=file is None)
            at += count * ps
        t.set_mempolicy(MPOL_DEFAULT)
        mode, _, nodes = v.policy.partition(":")
        base = mode.split("=")[0]
        if base in _POLICIES and base not in ("default",) and nodes:
            ids = [n for n in _list(nodes.split("=")[0]) if n in online]
            if ids:
                t.mbind(addr, length, _POLICIES[base], ids)
        if _prot(v.perms) != "rw":
            t.mprotect(addr, length, _prot(v.perms))
    if cpuset != "/":
        t.attach_cpuset(cpuset)
    if uids != [0, 0, 0, 0]:
        t.setresgid(gids[0], gids[1], gids[2])
        t.setresuid(uids[0], uids[1], uids[2])
    return t
