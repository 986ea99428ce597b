"""Check the release artefacts the way PyPI and its users will meet them.

    python .ci/check_dist.py --max-glibc 2.17 dist/numasim-*.tar.gz dist/numasim-*.whl

The wheel: its platform tags are manylinux ones (PyPI refuses ``linux_*``), none older than
``--max-glibc`` promises, and ``auditwheel show`` agrees that the symbols the wheel uses allow
the tag it claims; every ELF file in it is stripped (no ``.symtab``, no ``.debug_*``).
The sdist: every repository path the README names in backticks (``docs/semantics.md``, ...)
is in it, since a reader of the PyPI page finds those files there and nowhere else.

Needs auditwheel (which brings pyelftools and packaging): the dev extra.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from elftools.elf.elffile import ELFFile
from packaging.utils import parse_sdist_filename, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]

# PEP 600 tags, and the legacy aliases PyPI still accepts (PEP 513, 571, 599).
LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
MANYLINUX = re.compile(r"(?:manylinux_(\d+)_(\d+)|(manylinux1|manylinux2010|manylinux2014))_\w+")


def glibc_of(platform: str) -> tuple[int, int] | None:
    """The glibc version a manylinux platform tag stands for; None for any other tag."""
    m = MANYLINUX.fullmatch(platform)
    if not m:
        return None
    if m[3]:
        return LEGACY[m[3]]
    return int(m[1]), int(m[2])


def check_wheel(path: Path, max_glibc: tuple[int, int]) -> list[str]:
    problems = []
    tags = parse_wheel_filename(path.name)[3]
    platforms = sorted({t.platform for t in tags})
    print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, platform tags {platforms}")

    claimed = {}
    for p in platforms:
        g = glibc_of(p)
        if g is None:
            problems.append(f"platform tag {p} is not manylinux: PyPI refuses it")
        else:
            claimed[p] = g
    if claimed and max(claimed.values()) > max_glibc:
        problems.append(
            f"the wheel needs glibc {'.'.join(map(str, max(claimed.values())))}, "
            f"newer than the {'.'.join(map(str, max_glibc))} promised"
        )

    # auditwheel reads the symbol versions the extension links against and names the most
    # compatible policy they allow. The wheel may claim no older glibc than that.
    shown = subprocess.run(
        ["auditwheel", "show", str(path)], capture_output=True, text=True, check=False
    )
    print(shown.stdout.strip() or shown.stderr.strip())
    m = re.search(
        r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"([^"]+)"', shown.stdout
    )
    if shown.returncode != 0 or not m:
        problems.append(f"auditwheel show failed or was not understood (exit {shown.returncode})")
    else:
        allowed = glibc_of(m[1])
        if allowed is None:
            problems.append(f"auditwheel: the wheel is consistent with {m[1]} only")
        else:
            for p, g in claimed.items():
                if g < allowed:
                    problems.append(f"the wheel claims {p} but its symbols need {m[1]}")

    with zipfile.ZipFile(path) as zf:
        elves = [n for n in zf.namelist() if zf.read(n)[:4] == b"\x7fELF"]
        if not elves:
            problems.append("no extension module in the wheel")
        for name in elves:
            data = zf.read(name)
            sections = [s.name for s in ELFFile(io.BytesIO(data)).iter_sections()]
            unstripped = [s for s in sections if s == ".symtab" or s.startswith(".debug")]
            print(f"  {name}: {len(data) / 1e6:.2f} MB, {'not ' if unstripped else ''}stripped")
            if unstripped:
                problems.append(f"{name} is not stripped: it has {', '.join(unstripped)}")
    return problems


def readme_paths() -> list[str]:
    """The repository paths the README names in backticks (files or folders that exist)."""
    text = (ROOT / "README.md").read_text()
    names = {m.rstrip("/") for m in re.findall(r"`([^`\s]+)`", text) if "/" in m and "://" not in m}
    return sorted(n for n in names if (ROOT / n).exists())


def check_sdist(path: Path) -> list[str]:
    name, version = parse_sdist_filename(path.name)
    with tarfile.open(path) as tf:
        members = tf.getnames()
    print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, {len(members)} files")
    top = f"{name}-{version}/"
    problems = []
    for p in readme_paths():
        if not any(m == top + p or m.startswith(top + p + "/") for m in members):
            problems.append(f"the README names {p}, which the sdist lacks")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-glibc", default="2.17", help="the newest glibc the wheel may need")
    ap.add_argument("files", nargs="+", type=Path, help="wheels (.whl) and sdists (.tar.gz)")
    args = ap.parse_args()
    major, minor = (int(x) for x in args.max_glibc.split("."))

    problems = []
    for f in args.files:
        if f.suffix == ".whl":
            problems += check_wheel(f, (major, minor))
        elif f.name.endswith(".tar.gz"):
            problems += check_sdist(f)
        else:
            problems.append(f"{f}: neither a wheel nor an sdist")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
