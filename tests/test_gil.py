"""Long core calls release the GIL: another Python thread keeps running meanwhile."""

import threading

import numasim


def test_touch_releases_the_gil():
    m = numasim.Machine(nodes=2, node_memory="8GiB", swap=0)
    t = m.spawn()
    npages = 1 << 21
    a = t.mmap(npages * 4096)
    started = threading.Event()
    done = threading.Event()

    def work():
        started.set()
        t.touch(a, npages * 4096, write=True)
        done.set()

    th = threading.Thread(target=work)
    th.start()
    started.wait()
    spins = 0
    while not done.is_set():
        spins += 1
    th.join()
    # With the GIL held for the whole call this thread could not have looped while it ran.
    assert spins > 1000
    assert sum(t.resident_by_node().values()) == npages
