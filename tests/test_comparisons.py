"""Workloads, tables, compare() and sweep() (issue 13).

The sweep runs the same small grid in this process, on a local process pool and on a real
dask.distributed LocalCluster, and the three tables must be equal (but for the host's
wall-clock columns). The Dask part needs the ``dask`` extra, the DataFrame conversions the
``pandas`` and ``polars`` ones; CI installs them and sets NUMASIM_REQUIRE_EXTRAS=1 so that a
missing install fails instead of skipping."""

from __future__ import annotations

import importlib
import io
import json
import os
import pickle
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from conftest import SEMANTICS

import numasim
from numasim import Table, workloads
from numasim.table import HOST_COLUMNS


class InlineExecutor(Executor):
    """Runs each call at submit time, in this thread."""

    def submit(self, fn, /, *args, **kwargs):
        f: Future = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as e:
            f.set_exception(e)
        return f


# ----- workloads -----------------------------------------------------------------------------


def test_the_named_workloads():
    assert workloads.names() == (
        "private-anon",
        "fork-cow",
        "shared-file",
        "mlocked",
        "multithreaded",
        "full-swap",
        "interleaved",
        "thp-anon",
    )
    for name in workloads.names():
        text = workloads.describe(name)
        assert text.startswith(name + ": ") and "parameters:" in text
    assert workloads.get("fork-cow").params() == {"shared": 0.5}
    assert workloads.get("multithreaded").params() == {"threads": 4}


@pytest.mark.parametrize("name", workloads.names())
def test_every_workload_builds_migrates_and_keeps_every_page(name, sem):
    w = workloads.build(name, semantics=sem, size="256KiB", swap="128KiB")
    m = w.machine
    assert w.pages == 64
    before = w.target.read(*w.regions[0])
    r = w.migrate()
    m.check()
    w.retouch()
    m.check()
    assert (w.target.read(*w.regions[0]) == before).all()
    assert r.semantics == sem
    # The same parameters build the same machine, byte for byte.
    again = workloads.build(name, semantics=sem, size="256KiB", swap="128KiB")
    again.migrate()
    again.retouch()
    assert again.machine.core.snapshot() == m.core.snapshot()


def test_workloads_model_what_they_say():
    t = numasim.compare("mlocked", size="256KiB", nodes=2)
    assert t.column("skipped_non_migratable_vma") == [1, 1, 0]
    assert t.column("moved") == [0, 0, 64]
    t = numasim.compare("full-swap", size="256KiB", nodes=2, swap="128KiB")
    assert t.column("not_moved_no_swap")[0] == 64
    assert t.column("moved")[2] == 64
    t = numasim.compare("shared-file", size="256KiB", nodes=2, procs=2)
    assert t.column("skipped_shared")[1:] == [64, 64]
    one = numasim.compare("multithreaded", ["modern"], size="256KiB", nodes=4, threads=1)
    four = numasim.compare("multithreaded", ["modern"], size="256KiB", nodes=4, threads=4)
    assert four[0]["time_tlb_ns"] > one[0]["time_tlb_ns"]
    t = numasim.compare("interleaved", size="256KiB", nodes=4)
    assert t.column("moved") == [0, 32, 32]
    assert t.column("swapped_out")[0] == 32


def test_thp_anon_migrates_transparent_huge_pages_whole_in_modern_only():
    t = numasim.compare("thp-anon", size="8MiB", nodes=2)
    assert t.column("thp") == ["never", "never", "always"]
    # 8 MiB aligned: four 2 MiB THPs in modern, 2048 base pages in V5 and 2.6.16.
    assert t.column("moved") == [0, 2048, 2048] and t.column("swapped_out") == [2048, 0, 0]
    assert t.column("thp_moved") == [0, 0, 4] and t.column("thp_split") == [0, 0, 0]
    v5, k16, modern = t.rows
    zen3 = numasim.CostModel.profile("zen3-2021")
    # One folio's work and one TLB flush per THP instead of per base page.
    assert modern["time_folio_ns"] == 4 * zen3.folio_modern_ns
    base = numasim.compare("private-anon", ["modern"], size="8MiB", nodes=2)[0]
    assert base["thp"] == "madvise" and base["thp_moved"] == 0
    assert base["time_folio_ns"] == 2048 * zen3.folio_modern_ns
    assert modern["time_copy_ns"] == base["time_copy_ns"]  # the same bytes copied
    assert modern["time_ns"] < base["time_ns"] < k16["time_ns"]
    assert modern["refault_ns"] == 0 and v5["refault_ns"] > 0
    # thp="never" given in options wins over the workload's "always".
    never = numasim.compare("thp-anon", ["modern"], size="8MiB", nodes=2, options={"thp": "never"})
    assert never.column("thp") == ["never"] and never.column("thp_moved") == [0]
    # Nothing is lost, and a machine holding THPs pickles and copies exactly.
    w = workloads.build("thp-anon", semantics="modern", size="8MiB", nodes=2)
    before = w.target.read(*w.regions[0])
    assert w.machine.vmstat_counters()["thp_fault_alloc"] == 4
    r = w.migrate()
    assert r.thp_moved == 4
    w.machine.check()
    assert (w.target.read(*w.regions[0]) == before).all()
    assert set(w.target.page_nodes(*w.regions[0]).tolist()) == {1}
    back = pickle.loads(pickle.dumps(w.machine))
    assert back.thp == "always" and back.core.snapshot() == w.machine.core.snapshot()
    assert w.machine.copy().core.snapshot() == w.machine.core.snapshot()
    with pytest.raises(ValueError, match="ia64 has no transparent huge pages"):
        numasim.compare("thp-anon", ["modern"], machine="altix-ia64-64", size="1MiB")


def test_workload_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown workload 'nope'; expected one of private"):
        workloads.build("nope")
    with pytest.raises(TypeError, match="has no parameter 'threads'"):
        workloads.build("fork-cow", threads=2)
    with pytest.raises(ValueError, match="shared must be a fraction"):
        workloads.build("fork-cow", size="64KiB", nodes=2, shared=2)
    with pytest.raises(ValueError, match="needs at least 4 nodes"):
        workloads.build("interleaved", nodes=2)
    with pytest.raises(ValueError, match="needs a machine with a swap device"):
        workloads.build("full-swap", size="64KiB", nodes=2, swap=0)


# ----- tables --------------------------------------------------------------------------------


def test_table_exports(tmp_path):
    t = Table([{"a": 1, "b": "x", "c": 0.5, "d": None}, {"a": 2, "b": "y", "c": float("inf")}])
    assert t.columns == ("a", "b", "c", "d")
    assert t.to_csv() == "a,b,c,d\n1,x,0.5,\n2,y,inf,\n"
    t.to_csv(str(tmp_path / "t.csv"))
    assert (tmp_path / "t.csv").read_text() == t.to_csv()
    back = Table.from_json(t.to_json(str(tmp_path / "t.json")))
    assert back.rows[0] == t.rows[0] and back.rows[1]["c"] is None
    assert json.loads((tmp_path / "t.json").read_text())["columns"] == ["a", "b", "c", "d"]
    assert t.select(["b"]).rows == [{"b": "x"}, {"b": "y"}]
    assert t.drop(["a", "zz"]).columns == ("b", "c", "d")
    assert t.format().splitlines() == ["a    1    2", "b  x    y", "c  0.5  inf", "d  -    -"]
    assert t.format(transpose=False).splitlines()[0] == "a  b  c    d"
    with pytest.raises(TypeError, match="column 'a': list is not a flat value"):
        Table([{"a": [1]}])
    with pytest.raises(KeyError, match="no column 'q'"):
        t.column("q")


def test_table_to_pandas_and_polars():
    t = numasim.compare("private-anon", size="64KiB", nodes=2)
    pd = _extra("pandas")
    df = t.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(t.columns)
    assert df["moved"].tolist() == t.column("moved")
    assert str(df["moved"].dtype) == "int64"
    pl = _extra("polars")
    p = t.to_polars()
    assert isinstance(p, pl.DataFrame) and p.columns == list(t.columns)
    assert p["semantics"].to_list() == list(SEMANTICS)


# ----- compare and sweep ---------------------------------------------------------------------


def test_compare_gives_one_flat_record_per_generation():
    t = numasim.compare("private-anon", size="1MiB", nodes=2)
    assert t.column("semantics") == list(SEMANTICS)
    assert t.column("moved") == [0, 256, 256]
    assert t.column("swapped_out") == [256, 0, 0]
    v5, k16, modern = t.rows
    # V5 evicts: it pays swap writes during the call and swap reads at the next accesses.
    assert v5["time_io_ns"] > 0 and v5["swapped_in"] == 256 and v5["refault_ns"] > 0
    assert k16["refault_ns"] == modern["refault_ns"] == 0
    assert k16["time_copy_ns"] > 0
    for r in t:
        terms = sum(v for k, v in r.items() if k.startswith("time_") and k != "time_ns")
        assert terms == r["time_ns"]
        assert r["wall_s"] >= 0 and r["setup_wall_s"] > 0
        assert r["pages_per_sim_s"] >= r["pages_per_sim_s_with_refault"]
    assert all(isinstance(v, (int, float, str, bool)) for r in t for v in r.values())


def test_compare_on_a_preset_machine():
    t = numasim.compare("private-anon", ["2.6.16"], machine="opteron-4s", size="64KiB")
    assert t[0]["machine"] == "opteron-4s" and t[0]["nodes"] == 4 and t[0]["moved"] == 16


def _split(row, prefix, total):
    """The row's ``<prefix><term>_ns`` columns as {term: ns}."""
    return {
        k[len(prefix) : -len("_ns")]: v
        for k, v in row.items()
        if k.startswith(prefix) and k.endswith("_ns") and k != total
    }


def _check_against_a_direct_run(row, costs):
    """The row's time and refault columns are what the machine's cost model reports for the
    same workload built and run by hand: the MigrateReport's split for the call, the sum of
    the re-touch's FaultReports for the refaults (which is all the clock moved)."""
    p = workloads.build(
        row["workload"], semantics=row["semantics"], size="1MiB", nodes=2, costs=costs
    )
    r = p.migrate()
    assert row["time_ns"] == r.time_ns
    assert _split(row, "time_", "time_ns") == dict(r.time.terms())
    clock = p.machine.now_ns
    faults = p.retouch()
    assert row["refault_ns"] == sum(f.time_ns for f in faults) == p.machine.now_ns - clock
    assert row["swapped_in"] == sum(f.swapped_in for f in faults)
    assert row["refault_major_faults"] == sum(f.major for f in faults)
    for term, ns in _split(row, "refault_", "refault_ns").items():
        assert ns == sum(dict(f.time.terms())[term] for f in faults)


def test_compare_takes_the_cost_model_by_name_or_model():
    zen3 = numasim.CostModel.profile("zen3-2021")
    slow = zen3.with_(copy_mb_s=zen3.copy_mb_s // 4, swap_device="sata-2005")
    tables = {
        None: numasim.compare("private-anon", size="1MiB", nodes=2),
        "opteron-2005": numasim.compare("private-anon", size="1MiB", nodes=2, costs="opteron-2005"),
        "zen3-2021": numasim.compare("private-anon", size="1MiB", nodes=2, costs="zen3-2021"),
        slow: numasim.compare("private-anon", size="1MiB", nodes=2, costs=slow),
    }
    # None: each machine's era default (2.6 generations on x86: opteron-2005; modern: zen3).
    assert tables[None].column("costs") == ["opteron-2005", "opteron-2005", "zen3-2021"]
    assert tables["zen3-2021"].column("costs") == ["zen3-2021"] * 3
    assert tables[slow].column("costs") == ["zen3-2021 (modified)"] * 3
    for costs, t in tables.items():
        assert t.column("moved") == [0, 256, 256]  # the profile changes the time only
        for row in t:
            assert sum(_split(row, "time_", "time_ns").values()) == row["time_ns"]
            assert sum(_split(row, "refault_", "refault_ns").values()) == row["refault_ns"]
            _check_against_a_direct_run(row, costs)
    old, new, mod = tables["opteron-2005"], tables["zen3-2021"], tables[slow]
    # The per-term columns change with the profile: 2005's copy and swap are far slower.
    for sem in (1, 2):
        assert old[sem]["time_copy_ns"] > new[sem]["time_copy_ns"] > 0
        assert mod[sem]["time_copy_ns"] > 3 * new[sem]["time_copy_ns"]
        assert old[sem]["time_folio_ns"] != new[sem]["time_folio_ns"]
    assert old[0]["time_io_ns"] > new[0]["time_io_ns"] > 0
    assert old[0]["refault_io_ns"] > new[0]["refault_io_ns"] > 0
    assert mod[0]["refault_io_ns"] == old[0]["refault_io_ns"]  # the same disk, sata-2005
    # V5 pays its refaults later (swap-in I/O and major faults); the others nothing.
    for t in tables.values():
        v5, k16, modern = t.rows
        assert v5["refault_io_ns"] > 0 and v5["refault_fault_ns"] > 0 and v5["swapped_in"] == 256
        assert k16["refault_ns"] == modern["refault_ns"] == 0
    # A preset keeps its own era profile unless costs= says otherwise.
    altix = numasim.compare("private-anon", ["modern"], machine="altix-ia64-64", size="64KiB")
    assert altix.column("costs") == ["altix-2005"]
    altix = numasim.compare(
        "private-anon", ["modern"], machine="altix-ia64-64", size="64KiB", costs="zen3-2021"
    )
    assert altix.column("costs") == ["zen3-2021"]
    with pytest.raises(ValueError, match="unknown cost profile 'nope'"):
        numasim.compare("private-anon", size="64KiB", nodes=2, costs="nope")
    with pytest.raises(TypeError, match=r"costs must be a numasim\.CostModel"):
        numasim.compare("private-anon", size="64KiB", nodes=2, costs=3)


def test_sweep_over_cost_profiles():
    slow = numasim.CostModel.profile("haswell-2015").with_(copy_mb_s=500)
    grid = {
        "semantics": ["v5", "2.6.16"],
        "costs": ["opteron-2005", "zen3-2021", slow],
        "size": "1MiB",
        "nodes": 2,
    }
    inline = numasim.sweep("private-anon", grid, InlineExecutor())
    assert inline.column("costs") == ["opteron-2005", "zen3-2021", "haswell-2015 (modified)"] * 2
    # A CostModel travels to worker processes like the profile names.
    with ProcessPoolExecutor(2) as ex:
        assert numasim.sweep("private-anon", grid, ex).simulated() == inline.simulated()
    for row in inline:
        assert sum(_split(row, "time_", "time_ns").values()) == row["time_ns"]
        assert sum(_split(row, "refault_", "refault_ns").values()) == row["refault_ns"]
    v5 = inline.rows[:3]
    k16 = inline.rows[3:]
    # 2005's SATA disk against zen3's NVMe (haswell-2015 has the same swap device as zen3).
    assert v5[0]["time_io_ns"] > v5[1]["time_io_ns"] > 0
    assert v5[0]["refault_io_ns"] > v5[1]["refault_io_ns"] > 0
    assert len({r["time_copy_ns"] for r in k16}) == 3
    assert k16[2]["time_copy_ns"] > k16[0]["time_copy_ns"] > k16[1]["time_copy_ns"]
    with pytest.raises(ValueError, match="unknown cost profile 'nope'"):
        numasim.sweep("private-anon", {"costs": ["nope"]}, InlineExecutor())


GRID = {
    "semantics": ["v5", "modern"],
    "shared": [0.0, 0.5],
    "size": ["64KiB", "128KiB"],
    "nodes": 2,
    "page_cluster": [3],
}


def _expected_order(t: Table) -> None:
    assert len(t) == 8
    assert t.column("semantics") == ["v5"] * 4 + ["modern"] * 4
    assert t.column("param_shared") == [0.0, 0.0, 0.5, 0.5] * 2
    assert t.column("pages") == [16, 32] * 4
    assert t.column("option_page_cluster") == [3] * 8


def test_sweep_is_the_same_in_process_and_on_a_process_pool():
    inline = numasim.sweep("fork-cow", GRID, InlineExecutor())
    _expected_order(inline)
    with ProcessPoolExecutor(2) as ex:
        pool = numasim.sweep("fork-cow", GRID, ex)
    default = numasim.sweep("fork-cow", GRID)
    threads = numasim.sweep("fork-cow", GRID, ThreadPoolExecutor(3))
    assert pool.simulated() == inline.simulated()
    assert default.simulated() == inline.simulated()
    assert threads.simulated() == inline.simulated()
    assert set(HOST_COLUMNS) <= set(inline.columns)
    assert pool != inline  # the wall-clock columns are the host's


def _extra(module: str):
    """The module of an optional extra: skipped without it, except in CI."""
    if os.environ.get("NUMASIM_REQUIRE_EXTRAS"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


def test_sweep_on_a_dask_local_cluster():
    distributed = _extra("distributed")
    inline = numasim.sweep("fork-cow", GRID, InlineExecutor())
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = numasim.sweep("fork-cow", GRID, client.get_executor())
    assert on_dask.simulated() == inline.simulated()


def test_sweep_errors_and_progress(capsys):
    with pytest.raises(ValueError, match="grid key 'size' has no values"):
        numasim.sweep("private-anon", {"size": []}, InlineExecutor())
    with pytest.raises(ValueError, match="unknown semantics 'v6'"):
        numasim.sweep("private-anon", {"semantics": ["v6"]}, InlineExecutor())
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        numasim.sweep("private-anon", {"colour": ["red"], "size": "64KiB"}, InlineExecutor())
    grid = {"semantics": ["v5", "modern"], "size": "64KiB", "nodes": 2}
    numasim.sweep("private-anon", grid, InlineExecutor())
    assert capsys.readouterr().err == ""  # not a terminal: no bar
    numasim.sweep("private-anon", grid, InlineExecutor(), progress=True)
    err = capsys.readouterr().err
    assert "sweep private-anon [" in err and err.endswith("2/2\n")


def test_the_progress_bar_draws_on_a_terminal_only():
    from numasim.comparisons import _Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    s = Tty()
    bar = _Progress(4, "x", s, None)
    for _ in range(4):
        bar.step()
    assert s.getvalue().endswith("x [" + "#" * 30 + "] 4/4\n")
    p = io.StringIO()
    bar = _Progress(4, "x", p, None)
    bar.step()
    assert p.getvalue() == ""
