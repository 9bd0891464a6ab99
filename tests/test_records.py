"""One record: every result is made of Traces, is saved, and every page is rebuilt from
the saved files alone, in a fresh process, equal to the page written from the live objects."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import optimlab
from optimlab import bench, report
from optimlab.bench.protocol import trial_result, trial_summary
from optimlab.record import History, Trace
from optimlab.training import TrainingComparison

ROOT = Path(__file__).resolve().parents[1]


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (this checkout first on the path); its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stderr
    return out.stdout


# ---------------------------------------------------------------- JSON data
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "b.sqlite"
    bench.run_bench("booth", "sgd,adam", budget=3, seeds=2, steps=25, store=path)
    return path


@pytest.fixture(scope="module")
def store_page(store):
    return report.bench_page(store, store.parent / "page")


def test_a_trial_stores_its_whole_trace(store):
    with bench.TrialStore(store) as st:
        rows = list(st)
    assert len(rows) == 2 * (3 + 2)
    for r in rows:
        t = r["trace"]
        assert isinstance(t, Trace) and r["result"] is None
        n = t.steps + 1  # a diverged run stops early, its finite steps kept
        assert (t.steps == 25) == (t.stop_reason != "diverged")
        assert t.values.shape == (n,) and t.params.shape == (n, 2) and t.times.shape == (n,)
        res = trial_result(r)  # the numbers come from the trace: f − f*, f* of the function
        f_min = optimlab.functions.get(r["trial"]["problem"]["name"]).f_min
        assert res["curve"] == (t.values - f_min).tolist()
        assert res["final"] == (np.inf if t.stop_reason == "diverged" else t.values[-1] - f_min)
        assert ("params" in res) == (r["trial"]["phase"] == "rerun")


def test_aggregate_and_summaries_are_json_data(store_page):
    agg = json.loads(json.dumps(store_page.data))
    assert agg["cells"]["booth"]["adam"]["runs"] == 2
    assert agg["tuning"]["booth"]["sgd"][0][0] == {"lr": 1e-4}
    res = optimlab.sweep("booth", "sgd", grid={"lr": [0.01, 0.02]}, seeds=2, steps=5)
    assert json.loads(json.dumps(res.table()))[0]["final"] == res.table()[0]["final"]
    h = History(label="a", series={"loss": np.array([1.0])}, epochs={"loss": np.array([1.0]),
                                                                      "val_loss": np.array([0.5]),
                                                                      "time": np.array([0.1])})
    cmp = TrainingComparison("p", {"a": [h]}, [0], "val_loss", None, {})
    assert json.loads(json.dumps(cmp.summary()))[0]["final"] == [0.5, 0.0]


def test_an_old_store_of_summary_dicts_still_reports_the_same_numbers(store, store_page, tmp_path):
    old = tmp_path / "old.sqlite"
    with bench.TrialStore(store) as st:
        rows = list(st)
        desc = st.get_meta("bench")
    with bench.TrialStore(old) as st:  # what optimlab wrote before trials kept their trace
        st.set_meta("bench", desc)
        for r in rows:
            st.put(r["trial"], trial_summary(r["trace"], r["trial"]["problem"],
                                             keep_params=r["trial"]["phase"] == "rerun"))
    with sqlite3.connect(old) as db:
        assert "trace" not in db.execute("SELECT result FROM trials").fetchone()[0]
    old_page = report.bench_page(old, tmp_path / "b")  # the new store's page: the fixture store_page
    assert old_page.table.rows == store_page.table.rows
    def trials(page):  # every column but the write time
        lines = (page.index.parent / "trials.csv").read_text().splitlines()
        return sorted(line.rsplit(",", 1)[0] for line in lines)

    assert trials(store_page) == trials(old_page)
    with sqlite3.connect(old) as db:
        db.execute("UPDATE trials SET result = '{\"curve\": []}' WHERE rowid = 1")
    with pytest.raises(ValueError, match="neither a trace nor a result summary"):
        report.bench_page(old, tmp_path / "c")


# ---------------------------------------------------------------- comparisons load back
def test_a_training_comparison_loads_back(tmp_path):
    cmp = optimlab.compare_training("moons-logreg", {"SGD": "sgd:lr=0.5", "sgd": "sgd:lr=0.1"}, epochs=3, seeds=2,
                                    batch_size=200)
    files = cmp.save(tmp_path / "h")
    assert len({f.name for f in files}) == 4  # "SGD" and "sgd" share a slug but not a file
    back = TrainingComparison.load(tmp_path / "h")
    assert (back.problem, back.seeds, back.monitor, back.target) == (cmp.problem, cmp.seeds, cmp.monitor, cmp.target)
    assert report.training_table(back).rows == report.training_table(cmp).rows
    for label in cmp.histories:
        for a, b in zip(cmp.histories[label], back.histories[label]):
            assert isinstance(b, History)
            np.testing.assert_array_equal(a.series["loss"], b.series["loss"])
            assert a.epochs.keys() == b.epochs.keys()
    (tmp_path / "old").mkdir()
    with pytest.raises(ValueError, match="holds no comparison.json"):
        TrainingComparison.load(tmp_path / "old")


# ---------------------------------------------------------------- every page from disk alone
@pytest.mark.slow  # a fresh Python process
def test_every_page_is_rebuilt_from_its_files_in_a_fresh_process(store, store_page, tmp_path):
    traces = optimlab.compare("booth", {"SGD": "sgd:lr=0.02", "Adam": "adam:lr=0.3"}, (1.0, -2.0), 30)
    run = report.run_page("booth", traces, tmp_path / "run")
    res = optimlab.sweep("booth", "momentum", grid={"lr": [0.005, 0.02], "momentum": [0.5, 0.9]}, steps=20,
                         start=[1.0, -2.0])
    sweep = report.sweep_page(res, tmp_path / "sweep", top=3)
    cmp = optimlab.compare_training("moons-logreg", {"SGD": "sgd:lr=0.5"}, epochs=2, seeds=2, batch_size=200)
    training = report.training_page(cmp, tmp_path / "train")
    run_files = [p.name for p in run.files if p.suffix == ".npz"]
    _fresh(f"""
        from pathlib import Path
        from optimlab import report
        from optimlab.record import Trace
        from optimlab.sweeps import SweepResult
        from optimlab.training import TrainingComparison

        src, out = Path({str(tmp_path)!r}), Path({str(tmp_path / "again")!r})
        traces = {{t.label: t for t in (Trace.load(src / "run" / n) for n in {run_files!r})}}
        report.run_page("booth", traces, out / "run")
        report.sweep_page(SweepResult.load(src / "sweep" / "sweep.json"), out / "sweep", top=3)
        report.training_page(TrainingComparison.load(src / "train" / "histories"), out / "train")
        report.bench_page({str(store)!r}, out / "page")
        """)
    for page in (run, sweep, training, store_page):
        folder = page.index.parent.name
        again = tmp_path / "again" / folder / "index.html"
        assert again.read_text() == page.index.read_text(), folder
    assert (tmp_path / "again" / "sweep" / "table.csv").read_text() == (tmp_path / "sweep" / "table.csv").read_text()
