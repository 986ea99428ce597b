"""numasim.plot draws what the numpy views say."""

import matplotlib

matplotlib.use("Agg")

import numpy as np

import numasim
from numasim import plot


def test_placement_raster_colours_each_page_by_node(tmp_path):
    m = numasim.Machine(semantics="2.6.16", nodes=3, node_memory="16MiB")
    root, t = m.spawn(uid=0), m.spawn(cpu=0)
    ps = m.page_size
    a = t.mmap(600 * ps)
    t.touch(a, 300 * ps, write=True)  # 300 on node 0, 300 not present
    numasim.migrate_pages(root, t.pid, 65, [0], [2])
    ax = plot.placement(t, a, 600 * ps, width=100)
    img = ax.get_images()[0].get_array()
    assert img.shape == (6, 100)
    # Colour indices: 0 unmapped, 1 not present, 2 + position of the node (node 2 -> 4).
    assert (np.asarray(img[:3]) == 4).all() and (np.asarray(img[3:]) == 1).all()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["node 0", "node 1", "node 2", "not present", "unmapped"]
    ax.figure.savefig(tmp_path / "placement.png")
    assert (tmp_path / "placement.png").stat().st_size > 0


def test_node_usage_bars():
    m = numasim.Machine(nodes=2, node_memory="8MiB")
    t = m.spawn(cpu=2)  # node 1
    a = t.mmap(100 * m.page_size)
    t.touch(a, 100 * m.page_size, write=True)
    ax = plot.node_usage(m)
    used = [p.get_height() for p in ax.containers[0]]
    free = [p.get_height() for p in ax.containers[1]]
    usage = m.node_usage()
    assert used == [usage[0].used, usage[1].used] and used[1] == 100
    assert free == [usage[0].free, usage[1].free]


def _png_ok(path, min_bytes=10_000):
    """The file is a PNG of some size whose pixels are not all one colour."""
    import matplotlib.image

    assert path.stat().st_size > min_bytes
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 0.05, "the picture is blank"


def test_compare_bars_split_by_cost_term(tmp_path):
    t = numasim.compare("private-anon", size="1MiB", nodes=2)
    ax = plot.compare(t)
    labels = [x.get_text() for x in ax.get_legend().get_texts()]
    # Every term but wait, which is zero in every row (no writeback to wait on here).
    terms = ["syscall", "drain", "folio", "rmap", "copy", "tlb", "io"]
    assert t.column("time_wait_ns") == [0, 0, 0] and t.column("time_fault_ns") == [0, 0, 0]
    # The refaults V5 pays later: the re-touch's FaultReport terms (swap-in I/O, major faults).
    assert labels == [*terms, "io (refault, later)", "fault (refault, later)"]
    # The stacked segments of each bar add up to the call's time plus the refaults.
    heights = np.array([[p.get_height() for p in c] for c in ax.containers]).sum(axis=0)
    want = [(r["time_ns"] + r["refault_ns"]) / 1e6 for r in t]
    assert np.allclose(heights, want) and heights[0] > heights[1] > 0
    totals = [a.get_text() for a in ax.texts]
    assert totals == [f"{w:.4g} ms" for w in want]
    # Labelled by generation, and by cost profile as it varies (each machine's era default).
    assert [x.get_text() for x in ax.get_xticklabels()] == [
        "v5\nopteron-2005",
        "2.6.16\nopteron-2005",
        "modern\nzen3-2021",
    ]
    ax.figure.savefig(tmp_path / "bars.png")
    _png_ok(tmp_path / "bars.png")


def test_compare_bars_of_a_table_without_the_refault_split():
    t = numasim.compare("private-anon", ["v5"], size="256KiB", nodes=2, costs="zen3-2021")
    keep = [c for c in t.columns if not (c.startswith("refault_") and c != "refault_ns")]
    ax = plot.compare(numasim.Table([{c: r[c] for c in keep} for r in t], keep))
    assert [x.get_text() for x in ax.get_legend().get_texts()][-1] == "refault (later)"
    heights = np.array([[p.get_height() for p in c] for c in ax.containers]).sum(axis=0)
    assert np.allclose(heights, [(t[0]["time_ns"] + t[0]["refault_ns"]) / 1e6])
    assert [x.get_text() for x in ax.get_xticklabels()] == ["v5"]


def test_compare_bars_without_refaults_leave_them_out():
    t = numasim.compare("private-anon", ["2.6.16", "modern"], size="256KiB", nodes=2)
    ax = plot.compare(t)
    labels = [x.get_text() for x in ax.get_legend().get_texts()]
    assert labels and not any("refault" in x for x in labels)


def test_compare_lines_over_a_swept_parameter(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    grid = {"semantics": ["v5", "modern"], "size": ["256KiB", "1MiB"], "nodes": 2}
    t = numasim.sweep("private-anon", grid, ThreadPoolExecutor(1))
    ax = plot.compare(t, x="size_bytes", refault=False)
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["v5", "modern"]
    assert list(lines[0].get_xdata()) == [256 * 1024, 1024 * 1024]
    modern = [r["time_ns"] / 1e6 for r in t if r["semantics"] == "modern"]
    assert list(lines[1].get_ydata()) == modern
    ax.figure.savefig(tmp_path / "lines.png")
    _png_ok(tmp_path / "lines.png")
    import pytest

    # With a second swept key (the cost profile), a line per generation and profile.
    grid = {"semantics": ["v5", "modern"], "costs": ["opteron-2005", "zen3-2021"]}
    grid |= {"size": ["256KiB", "1MiB"], "nodes": 2}
    t = numasim.sweep("private-anon", grid, ThreadPoolExecutor(1))
    ax = plot.compare(t, x="size_bytes")
    assert [ln.get_label() for ln in ax.get_lines()] == [
        "v5, opteron-2005",
        "v5, zen3-2021",
        "modern, opteron-2005",
        "modern, zen3-2021",
    ]
    v5_zen3 = [(r["time_ns"] + r["refault_ns"]) / 1e6 for r in t][2:4]
    assert list(ax.get_lines()[1].get_ydata()) == v5_zen3
    with pytest.raises(KeyError, match="no column 'nope'"):
        plot.compare(t, x="nope")
    with pytest.raises(ValueError, match="no rows"):
        plot.compare(numasim.Table([]))
