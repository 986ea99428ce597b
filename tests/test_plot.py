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
