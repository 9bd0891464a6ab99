"""Benchmarks: performance profiles by hand, the trial store, a benchmark killed with
SIGKILL and resumed, the report rebuilt from the store, and the command line."""

import csv
import json
import math
import os
import sqlite3
import time

import bench_kill
import numpy as np
import pytest
from cli_helpers import forked_cli

from optimlab.bench import TrialStore, performance_profile, performance_ratios, trial_id
from optimlab.bench.protocol import split_specs, trial_result, tune_configs
from optimlab.cli.sweep import CLIError, parse_grid
from optimlab.sweeps import logspace

INF = math.inf


# ---------------------------------------------------------------- performance profiles
def test_performance_profile_of_a_hand_made_table():
    costs = {"p1": {"A": 10, "B": 20, "C": INF},
             "p2": {"A": 30, "B": 15, "C": 15},
             "p3": {"A": INF, "B": INF, "C": INF},
             "p4": {"A": 5, "B": 50, "C": 10}}
    # ratios by hand: p1 (1, 2, ∞), p2 (2, 1, 1), p3 (∞, ∞, ∞), p4 (1, 10, 2)
    r = performance_ratios([[10, 20, INF], [30, 15, 15], [INF, INF, INF], [5, 50, 10]])
    np.testing.assert_array_equal(r, [[1, 2, INF], [2, 1, 1], [INF, INF, INF], [1, 10, 2]])
    taus, rho, names = performance_profile(costs, taus=[1, 2, 10, 100])
    assert names == ["A", "B", "C"]
    np.testing.assert_array_equal(rho, [[2 / 4, 3 / 4, 3 / 4, 3 / 4],   # A: p1, p4 | + p2
                                        [1 / 4, 2 / 4, 3 / 4, 3 / 4],   # B: p2 | + p1 | + p4
                                        [1 / 4, 2 / 4, 2 / 4, 2 / 4]])  # C: p2 | + p4
    taus, rho, _ = performance_profile(costs)  # default taus: every distinct finite ratio
    assert taus.tolist() == [1, 2, 10]


def test_performance_profile_rejects_bad_costs():
    with pytest.raises(ValueError, match="costs must be > 0"):
        performance_ratios([[0, 1]])
    with pytest.raises(ValueError, match="non-empty"):
        performance_profile({})


# ---------------------------------------------------------------- store and specs
def test_store_keys_trials_by_their_content(tmp_path):
    a = {"phase": "tune", "hyper": {"lr": 0.1}, "seed": None}
    b = {"seed": None, "hyper": {"lr": 0.1}, "phase": "tune"}
    assert trial_id(a) == trial_id(b) and trial_id(a) != trial_id({**a, "seed": 1})
    with TrialStore(tmp_path / "s.sqlite") as st:
        tid = st.put(a, {"final": 1.5})
        st.put(b, {"final": 99.0})  # the same trial again: the first result stays
        assert len(st) == 1 and st.get(tid)["result"] == {"final": 1.5} and st.has(tid)
    with TrialStore(tmp_path / "s.sqlite") as st:  # reopened
        assert st.ids() == {tid}
    (tmp_path / "bad.sqlite").write_text("not a database" * 100)
    with pytest.raises(ValueError, match="not an optimlab results store"):
        TrialStore(tmp_path / "bad.sqlite")


def test_split_specs_and_tune_configs():
    assert split_specs("adam,momentum:lr=0.01,momentum=0.7,sgd:lr=0.1,nesterov=true") == \
        ["adam", "momentum:lr=0.01,momentum=0.7", "sgd:lr=0.1,nesterov=true"]
    assert split_specs("adam:betas=(0.9,0.99),sgd") == ["adam:betas=(0.9,0.99)", "sgd"]
    with pytest.raises(ValueError, match=r"cannot read value '\(0.9,0.99'"):  # an unclosed bracket is not dropped
        split_specs("sgd,adam:betas=(0.9,0.99")
    from optimlab.bench.suites import get_suite

    # problem lists split the same way: the bracketed value reaches the option check whole
    with pytest.raises(ValueError, match=r"option 'noise' of problem 'booth:noise=\(1,2\)' must be a number, "
                                         r"got '\(1,2\)'"):
        get_suite("booth:noise=(1,2),rosenbrock")
    assert [p["name"] for p in get_suite("booth:noise=0.1,steps=9,rosenbrock")] == ["booth", "rosenbrock"]
    with pytest.raises(ValueError, match="unknown optimizer"):
        split_specs("adam,nosuch")
    assert tune_configs("adam", 5) == [{"lr": v} for v in logspace(1e-4, 1, 5)]
    r1 = tune_configs("momentum", 50, "random", search_seed=3)
    assert r1 == tune_configs("momentum", 50, "random", search_seed=3) != tune_configs("momentum", 50, "random", 4)
    lrs = np.array([c["lr"] for c in r1])
    mus = np.array([c["momentum"] for c in r1])
    assert (lrs >= 1e-4).all() and (lrs <= 1).all() and (mus >= 0).all() and (mus <= 0.99).all()
    assert set(tune_configs("adam", 3, "random")[0]) == {"lr", "beta1"}
    assert set(tune_configs("gd", 3, "random")[0]) == {"lr"}
    with pytest.raises(ValueError, match="budget must be"):
        tune_configs("adam", 0)
    with pytest.raises(ValueError, match="search must be one of"):
        tune_configs("adam", 3, "bayes")


def test_grid_syntax():
    g = parse_grid(["lr=log:1e-4:1:5", "momentum=0,0.5,0.9", "nesterov=true,false", "beta1=lin:0.5:0.9:3"])
    assert g["lr"] == logspace(1e-4, 1, 5) and g["momentum"] == [0.0, 0.5, 0.9]
    assert g["nesterov"] == [True, False]
    np.testing.assert_allclose(g["beta1"], [0.5, 0.7, 0.9])
    for bad, match in [("lr", "write NAME="), ("lr=log:1e-4:1", "needs LO:HI:N"), ("lr=log:0:1:5", "lo > 0"),
                       ("lr=log:1e-4:1:x", "N must be an integer"), ("lr=0.1,,0.2", "empty value"),
                       ("lr=abc", "not a number")]:
        with pytest.raises(CLIError, match=match):
            parse_grid([bad])
    with pytest.raises(CLIError, match="swept twice"):
        parse_grid(["lr=0.1", "lr=0.2"])


# ---------------------------------------------------------------- interrupted benchmark
def _count(path):
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow  # a worker process killed mid-run and a rerun (about 7-15 s)
def test_killed_benchmark_resumes_without_rerunning_finished_trials(tmp_path, kill_bench_reference):
    pytest.importorskip("optimlab.functions")
    from optimlab.report import build_report

    store = tmp_path / "b.sqlite"
    total = bench_kill.TOTAL
    proc = forked_cli(tmp_path / "bench.log", "bench", *bench_kill.cli_args(), "--store", str(store), "--out",
                      str(tmp_path / "out0"))
    deadline = time.time() + 40
    while time.time() < deadline and proc.is_alive() and _count(store) < 8:
        time.sleep(0.01)
    proc.kill()
    proc.join()
    before = {}
    with TrialStore(store) as st:
        for row in st:
            before[row["id"]] = (row["finished"], row["pid"], trial_result(row)["final"])
    assert 0 < len(before) < total, f"kill missed the run: {len(before)} of {total} stored"
    run = bench_kill.run(store)
    assert run.total == total and run.computed == total - len(before) and run.reused == len(before)
    with TrialStore(store) as st:
        rows = list(st)
    assert len(rows) == total == len({r["id"] for r in rows})
    for r in rows:
        if r["id"] in before:  # untouched: same write time and writer
            assert (r["finished"], r["pid"]) == before[r["id"]][:2]
        else:
            assert r["pid"] == os.getpid()
    # the same command once more computes nothing
    again = bench_kill.run(store)
    assert again.computed == 0 and again.reused == total
    # an uninterrupted benchmark gets the same numbers
    with TrialStore(kill_bench_reference, readonly=True) as st:
        ref = {r["id"]: trial_result(r)["final"] for r in st}
    assert ref == {r["id"]: trial_result(r)["final"] for r in rows}
    # the report comes from the store alone; its numbers are the stored trials'
    page, agg = build_report(store, tmp_path / "out")
    assert page.exists() and "performance profile" in page.read_text().lower()
    with open(tmp_path / "out" / "trials.csv") as fh:
        assert len(list(csv.DictReader(fh))) == total
    assert len(json.loads((tmp_path / "out" / "trials.json").read_text())) == total
    reruns = [r for r in rows if r["trial"]["phase"] == "rerun" and r["trial"]["optimizer"] == "adam"
              and r["trial"]["problem"]["name"] == "booth"]
    cell = agg["cells"]["booth"]["adam"]
    assert cell["runs"] == 2 and cell["median"] == np.median([trial_result(r)["final"] for r in reruns])
    tune = [r for r in rows if r["trial"]["phase"] == "tune" and r["trial"]["optimizer"] == "adam"
            and r["trial"]["problem"]["name"] == "booth"]
    grid = logspace(1e-4, 1, bench_kill.ARGS["budget"])
    best = min(tune, key=lambda r: (trial_result(r)["final"], grid.index(r["trial"]["hyper"]["lr"])))
    assert cell["best_hyper"] == best["trial"]["hyper"]
    # steps to the target, by hand from the stored curves
    hits = [np.flatnonzero(np.asarray(r["trace"].values) <= 1e-6) for r in reruns]  # booth: f* = 0
    steps = [h[0] if h.size else INF for h in hits]
    assert cell["median_steps"] == np.median(steps) and cell["cost"] == np.median(np.add(steps, 1))


# ---------------------------------------------------------------- command line
def _cli(*args):
    from typer.testing import CliRunner

    from optimlab.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_errors_are_one_line(tmp_path):
    for args, match in [(["bench", "--suite", "functions-2d", "--optimizers", "adam,nosuch"], "unknown optimizer"),
                        (["bench", "--suite", "functions-2d", "--optimizers", "adam", "--budget", "0"], "budget"),
                        (["bench", "--suite", "nosuch-suite", "--optimizers", "adam"], "unknown function"),
                        (["bench", "--optimizers", "adam"], "give --suite"),
                        (["bench", "--report-only", "--store", str(tmp_path / "none.sqlite")], "does not exist"),
                        (["sweep", "x**2 + 3*y**2", "--grid", "lr=log:1:1e-4"], "needs LO:HI:N"),
                        (["sweep", "x**2 + 3*y**2", "--grid", "lr=0.1", "--optimizer", "adam:eps=-1", "--start", "1,1"],
                         "eps must be"),
                        (["sweep", "x**2 + 3*y**2", "--grid", "lr=0.1"], "start is required")]:
        p = _cli(*args)
        assert p.exit_code == 2, (args, p.output)
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "error:" in lines[0] and match in lines[0], (args, p.stderr)
        assert p.exception is None or isinstance(p.exception, SystemExit)


def test_cli_sweep_writes_results(tmp_path):
    pytest.importorskip("optimlab.functions")
    p = _cli("sweep", "ill-conditioned", "--optimizer", "sgd", "--grid", "lr=log:1e-3:1:8", "--grid",
             "momentum=0,0.9", "--steps", "50", "--out", str(tmp_path / "o"))
    assert p.exit_code == 0, p.output
    res = json.loads((tmp_path / "o" / "sweep.json").read_text())
    assert len(res["configs"]) == 16
    for name in ("index.html", "table.csv", "heatmap.png", "sensitivity.png", "best_path.png"):
        assert (tmp_path / "o" / name).stat().st_size > 0


def test_training_problems_in_a_benchmark(tmp_path):
    lab = pytest.importorskip("optimlab.problems")
    from optimlab.bench import run_bench
    from optimlab.report import build_report

    name = "iris-softmax" if "iris-softmax" in lab.names() else lab.names()[0]
    run = run_bench(f"problem:{name}:steps=12,batch_size=16", "sgd,adam", budget=2, seeds=2,
                    store=tmp_path / "t.sqlite")
    assert run.computed == run.total == 2 * (2 + 2)
    page, agg = build_report(tmp_path / "t.sqlite", tmp_path / "out")
    # the derived target: 1.05 × the best optimizer's median final validation loss
    meds = [agg["cells"][name][s]["median"] for s in ("sgd", "adam")]
    assert agg["targets"][name] == pytest.approx(1.05 * min(meds))
    assert page.exists()


def test_a_suite_given_as_dicts_gets_the_steps_override_and_the_checks(tmp_path):
    pytest.importorskip("optimlab.functions")
    from optimlab.bench import run_bench
    suite = [{"kind": "function", "name": "booth", "params": {}, "noise": 0.0, "start": [1.0, -2.0], "steps": 500,
              "target": 1e-6}]
    run = run_bench(suite, "sgd", budget=2, seeds=1, steps=7, lr_range=(1e-3, 0.05), store=tmp_path / "d.sqlite")
    assert [p["steps"] for p in run.description["problems"]] == [7] and suite[0]["steps"] == 500
    with TrialStore(tmp_path / "d.sqlite") as st:
        rows = [st.get(i) for i in st.ids()]
    assert len(rows) == 3 and all(r["trial"]["problem"]["steps"] == 7 for r in rows)
    # a tuning trial (unseeded start) = 7 steps of plain GD from the start, by hand
    tuned = [r for r in rows if r["trial"]["phase"] == "tune"]
    assert len(tuned) == 2
    for r in tuned:
        x, lr = np.array([1.0, -2.0]), r["trial"]["hyper"]["lr"]
        for _ in range(7):  # booth: f = (x + 2y − 7)² + (2x + y − 5)², f* = 0
            a, b = x[0] + 2 * x[1] - 7, 2 * x[0] + x[1] - 5
            x = x - lr * np.array([2 * a + 4 * b, 4 * a + 2 * b])
        a, b = x[0] + 2 * x[1] - 7, 2 * x[0] + x[1] - 5
        assert trial_result(r)["final"] == pytest.approx(a * a + b * b, rel=1e-9, abs=1e-12)
    from optimlab.bench.suites import finish_suite, parse_problem

    assert finish_suite([{"kind": "function", "name": "booth"}]) == [parse_problem("booth")]  # the same defaults
    for bad, match in [([{"kind": "function", "name": "nosuch"}], "nosuch"),
                       ([{"kind": "function", "name": "booth", "steps": 0}], "steps must be"),
                       ([{"name": "booth"}], "needs a 'name' and a 'kind'")]:
        with pytest.raises(ValueError, match=match):
            run_bench(bad, "sgd", budget=2, seeds=1, store=tmp_path / "e.sqlite")
