"""Large sweeps and benchmarks stream: the grid is a lazy product (never a list of dicts),
runs are computed chunk by chunk with the same numbers as one batch, each run keeps
only what ``record=`` asks, and a benchmark makes and stores its trials a chunk at a time."""

import itertools
import math
import tracemalloc
import zlib

import numpy as np
import pytest
import torch
from test_hostile import assert_one_line_error, cli
from test_sweeps import _tiny_problem, valley

import optimlab
from optimlab.bench import TrialStore, run_bench
from optimlab.bench import protocol as bench_protocol
from optimlab.bench.protocol import TuneConfigs, tune_configs
from optimlab.cli.sweep import CLIError, parse_grid
from optimlab.optim import registry
from optimlab.sweeps import SweepResult, api, linspace, logspace
from optimlab.sweeps.grids import Grid, Runs, RunSlice, column, grid_axes, grid_configs, hyper_values, split_hyper


def _identical(a: SweepResult, b: SweepResult) -> None:
    """Bit for bit: every run's configuration, stop and every recorded array (but the
    wall-clock ``times``, which each batch measures from its own start)."""
    assert len(a) == len(b) and list(a.configs) == list(b.configs) and a.grid == b.grid
    for s, t in zip(a.traces, b.traces):
        assert (s.stop_reason, s.steps, s.label, s.config) == (t.stop_reason, t.steps, t.label, t.config)
        assert sorted(s.series) == sorted(t.series) and sorted(s.epochs) == sorted(t.epochs)
        for k in set(s.series) - {"times"}:
            assert np.array_equal(s.series[k], t.series[k]), k
        for k in s.epochs:
            assert np.array_equal(s.epochs[k], t.epochs[k]), k


# ------------------------------------------------------------------ the lazy grid
def test_grid_item_i_is_the_product_in_itertools_order():
    lists = [[0.1, 0.01], [0.0, 0.5, 0.9], [False, True], [1e-8, 1e-6, 1e-4, 1e-2]]
    keys = ["lr", "momentum", "nesterov", "eps"]
    ref = [dict(zip(keys, combo)) for combo in itertools.product(*lists)]
    g = grid_configs(dict(zip(keys, lists)))
    assert isinstance(g, Grid) and len(g) == 48
    assert [g[i] for i in range(48)] == ref == list(g)  # index decoding and iteration agree
    assert g[-1] == ref[-1] and g[-48] == ref[0] and g[5:40:7] == ref[5:40:7]
    for bad in (48, -49):
        with pytest.raises(IndexError, match="outside the grid of 48"):
            g[bad]
    runs = Runs(g, [3, 11, 5])  # seeds fastest
    ref_runs = [{**c, "seed": s} for c in ref for s in (3, 11, 5)]
    assert len(runs) == 144 and [runs[i] for i in range(144)] == ref_runs == list(runs) and runs == ref_runs
    assert runs[-2] == ref_runs[-2] and runs[10:20] == ref_runs[10:20]
    assert list(Runs(g, None)) == ref
    # slices are made in bulk (how a sweep takes its chunks): every forward slice is the items one by one
    for rs, want in ((runs, ref_runs), (Runs(g, None), ref), (g, ref)):
        assert all(rs[a:b] == want[a:b] for a in range(0, len(want) + 1, 5) for b in range(a, len(want) + 3, 7))
        assert rs[-7:] == want[-7:] and rs[3:-3] == want[3:-3] and rs[::-5] == want[::-5]
    # columns (what a batch reads of its runs) are the items' values, without making the items
    for rs, want in ((runs, ref_runs), (Runs(list(g), [3, 11, 5]), ref_runs), (g, ref)):
        for key in ("lr", "eps", "nesterov", "seed"):
            idx = np.array([0, 7, 5, len(want) - 1, 12])
            assert rs.column(key, idx) == [want[i].get(key) for i in idx], key
    part = RunSlice(runs, 10, 40)
    assert len(part) == 30 and list(part) == ref_runs[10:40] and part[3:9] == ref_runs[13:19]
    assert part[::-4] == ref_runs[10:40][::-4] and column(part, "seed") == [r["seed"] for r in ref_runs[10:40]]
    rows = [{"lr": 0.1, "beta1": 0.8}, {"lr": 0.2, "betas": (0.5, 0.6)}, {"lr": 0.3, "betas": (0.5, 0.6), "beta2": 0.7}]
    assert hyper_values(rows, ["lr", "beta1", "betas", "beta2"], {"betas": (0.9, 0.99)}) == {
        "lr": [0.1, 0.2, 0.3], "betas": [(0.8, 0.99), (0.5, 0.6), (0.5, 0.7)]}


def test_a_range_of_floats_is_checked_in_one_pass_with_the_same_errors_and_axes():
    for bad in ("nan", "inf"):
        with pytest.raises(ValueError, match=rf"grid\['lr'\] contains {bad}; values must be finite"):
            grid_configs({"lr": [0.1, float(bad)]})
    axes = grid_axes(grid_configs({"lr": [0.1, 0.2, 0.1, -0.0, 0.0], "eps": [1, 1.0, True, 1]}))
    assert axes == {"lr": [0.1, 0.2, -0.0], "eps": [1, 1.0, True]}  # one of each value (and type)
    assert split_hyper(axes) == (["lr"], ["eps"])  # a bool is not a number to sweep in the runs dimension


def test_a_grid_of_a_billion_configurations_is_counted_without_building_it():
    grid = {"lr": logspace(1e-4, 1, 1000), "momentum": linspace(0, 0.99, 1000), "dampening": linspace(0, 0.5, 1000)}
    tracemalloc.start()
    try:
        g = grid_configs(grid)
        runs = Runs(g, list(range(7)))
        n, last = len(runs), runs[-1]
        with pytest.raises(ValueError, match="1,000,000,000 configurations is more than the limit of 100,000"):
            optimlab.sweep("booth", "sgd", grid=grid, steps=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 7 * 10 ** 9 and last == {"lr": 1.0, "momentum": 0.99, "dampening": 0.5, "seed": 6}
    assert g[123_456_789] == {"lr": grid["lr"][123], "momentum": grid["momentum"][456],
                              "dampening": grid["dampening"][789]}
    assert peak < 3 * 2 ** 20, peak  # 10⁹ dicts would be ~10¹¹ bytes


def test_the_range_cap_follows_the_limit_on_runs(tmp_path):
    assert len(parse_grid(["lr=lin:0:1:150000"], max_runs=200_000)["lr"]) == 150_000
    with pytest.raises(CLIError, match=r"150,000 values are more than --max-runs 100,000 .*raise --max-runs"):
        parse_grid(["lr=lin:0:1:150000"])
    r = assert_one_line_error(cli("sweep", "booth", "--grid", "lr=log:1e-4:1:500", "--max-runs", "400",
                                  "--out", str(tmp_path / "s")), "500 values are more than --max-runs 400")
    assert "raise --max-runs to allow them" in r and not (tmp_path / "s").exists()
    assert len(logspace(1e-3, 1, 150_000, limit=150_000)) == 150_000
    with pytest.raises(ValueError, match="150,000 values in one range is more than the limit of 100,000; .*limit="):
        linspace(0, 1, 150_000)


# ------------------------------------------------------------------ chunks
def test_chunked_sweep_equals_one_batch_bit_for_bit():
    kw = dict(start=(2.0, 1.0), steps=30)
    grid = {"lr": logspace(1e-3, 0.1, 37)}  # crosses SGD's stability edge at 0.04: diverged runs too
    whole = optimlab.sweep(valley, "sgd:momentum=0.5", grid=grid, **kw)
    assert whole.diverged.any() and not whole.diverged.all()
    _identical(whole, optimlab.sweep(valley, "sgd:momentum=0.5", grid=grid, chunk_size=10, **kw))
    # chunks that cut through structural batches and seed groups
    grid = {"lr": [0.003, 0.01, 0.03], "nesterov": [False, True]}
    kw = dict(start=(2.0, 1.0), steps=12, seeds=[4, 9])
    _identical(optimlab.sweep(valley, "sgd:momentum=0.9", grid=grid, **kw),
               optimlab.sweep(valley, "sgd:momentum=0.9", grid=grid, chunk_size=5, **kw))
    noisy = optimlab.functions.get("rosenbrock", noise=0.3)  # seeds are noise streams
    kw = dict(grid={"lr": [1e-3, 3e-3]}, seeds=3, steps=20)
    _identical(optimlab.sweep(noisy, "adam", **kw), optimlab.sweep(noisy, "adam", chunk_size=4, **kw))


def test_chunked_training_sweep_equals_one_batch():
    p = _tiny_problem()
    kw = dict(grid={"lr": [0.01, 0.05, 0.2], "momentum": [0.0, 0.9]}, seeds=[0, 1], steps=7, batch_size=8,
              dtype=torch.float64)
    _identical(optimlab.sweep(p, "sgd", **kw), optimlab.sweep(p, "sgd", chunk_size=5, **kw))


def test_automatic_chunks_follow_the_memory_estimate(monkeypatch):
    steps, d = 20, 2
    per_run = (steps + 1) * (3 + d) + 8 * d  # FunctionSweep.numbers_per_run with every point recorded
    monkeypatch.setattr(api, "CHUNK_MEMORY", 8 * per_run * 10)  # ten runs per chunk
    assert api.chunk_runs(37, per_run) == 10 and api.chunk_runs(7, per_run) == 7
    monkeypatch.setattr(api, "CHUNK_MEMORY", 1)
    assert api.chunk_runs(37, per_run) == 1  # at least one run
    monkeypatch.setattr(api, "CHUNK_MEMORY", 8 * per_run * 10)
    seen = []
    grid = {"lr": linspace(0.001, 0.03, 37)}
    res = optimlab.sweep(valley, "adam", grid=grid, start=(1.0, 1.0), steps=steps,
                         progress=lambda k, total: seen.append((k, total)))
    assert {t for _, t in seen} == {4 * steps}  # 4 chunks of at most 10 runs
    assert [k for k, _ in seen] == list(range(1, 4 * steps + 1))
    monkeypatch.setattr(api, "CHUNK_MEMORY", 2 ** 40)
    _identical(res, optimlab.sweep(valley, "adam", grid=grid, start=(1.0, 1.0), steps=steps))


# ------------------------------------------------------------------ record=
def test_record_values_and_final_keep_the_rankings(tmp_path):
    kw = dict(grid={"lr": logspace(1e-3, 0.1, 6), "momentum": [0.0, 0.9]}, seeds=2, start=(2.0, 1.0), steps=20)
    full = optimlab.sweep(valley, "sgd", **kw)
    assert full.diverged.any()
    for record in ("values", "final"):
        r = optimlab.sweep(valley, "sgd", record=record, chunk_size=7, **kw)
        for arr in ("final_values", "best_values", "diverged"):
            assert np.array_equal(getattr(r, arr), getattr(full, arr)), (record, arr)
        assert r.best().config == full.best().config and r.table() == full.table()
        for t, f in zip(r.traces, full.traces):
            # what a trace holds on to is what it keeps: its chunk's (2, R, d) start-and-last points
            # and, for "values", the chunk's (steps + 1, R ≤ 7) values; no other per-step buffer
            base = t.params.base
            assert np.array_equal(t.params, f.params[[0, -1]]) and base.shape[0] == 2 and base.shape[1] <= 7
            if record == "values":
                assert sorted(t.series) == ["params", "values"] and np.array_equal(t.values, f.values)
                assert t.values.base.shape[0] == kw["steps"] + 1 and t.values.base.shape[1] <= 7
            else:
                assert sorted(t.series) == ["params"]
        back = SweepResult.load(r.save(tmp_path / f"{record}.json"))
        assert np.array_equal(back.final_values, full.final_values) and back.best().config == full.best().config
    assert np.array_equal(optimlab.sweep(valley, "sgd", record="values", **kw).steps_to_target(1e-3),
                          full.steps_to_target(1e-3))
    with pytest.raises(ValueError, match="record='final'.*record='values' or 'all'"):
        r.steps_to_target(1e-3)
    p = _tiny_problem()
    tkw = dict(grid={"lr": [0.01, 0.2]}, seeds=[0, 1], steps=6, batch_size=8, dtype=torch.float64)
    tfull, tfinal = optimlab.sweep(p, "adam", **tkw), optimlab.sweep(p, "adam", record="final", **tkw)
    assert np.array_equal(tfinal.final_values, tfull.final_values) and tfinal.traces[0].epochs == {}


@pytest.mark.parametrize("kw, match", [
    (dict(chunk_size=0), "chunk_size must be an integer >= 1"),
    (dict(chunk_size=2.5), "chunk_size must be an integer >= 1"),
    (dict(record="some"), "record must be one of 'all', 'values', 'final'"),
    (dict(record="final", record_params=True), "record_params=True keeps every point"),
])
def test_bad_chunk_and_record_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        optimlab.sweep(valley, "sgd", grid={"lr": [0.1]}, start=(1.0, 1.0), steps=1, **kw)


# ------------------------------------------------------------------ the benchmark
def test_lazy_tuning_configurations_are_the_draws_in_order():
    spec, seed, n = "momentum", 5, 40
    ranges = registry.tuning(spec)
    rng = np.random.default_rng([seed, zlib.crc32(spec.encode())])  # the documented draws, in order
    ref = []
    for _ in range(n):
        cfg = {"lr": float(10 ** rng.uniform(math.log10(1e-3), math.log10(0.5)))}
        cfg.update({k: float(rng.uniform(a, b)) for k, (a, b) in ranges.items()})
        ref.append(cfg)
    lazy = TuneConfigs(spec, n, "random", seed, (1e-3, 0.5))
    assert len(lazy) == n and [lazy[i] for i in (39, 0, 17, -1, -40)] == [ref[i] for i in (39, 0, 17, -1, -40)]
    assert lazy[3:30:4] == ref[3:30:4] and tune_configs(spec, n, "random", seed, (1e-3, 0.5)) == ref
    assert TuneConfigs("adam", 5)[:] == [{"lr": v} for v in logspace(1e-4, 1, 5)]
    with pytest.raises(IndexError, match="outside the budget of 40"):
        lazy[40]


def test_bench_in_chunks_stores_the_same_trials_and_best(tmp_path, monkeypatch):
    kw = dict(budget=7, seeds=4, steps=25, search="random", lr_range=(1e-3, 0.3))

    def rows(store):
        with TrialStore(store, readonly=True) as st:
            return {r["id"]: (r["trial"], r["trace"].values.tolist()) for r in st}

    run_bench("booth", "momentum", store=tmp_path / "whole.sqlite", **kw)
    monkeypatch.setattr(bench_protocol, "TRIAL_CHUNK", 3)
    run = run_bench("booth", "momentum", store=tmp_path / "chunks.sqlite", **kw)
    assert run.computed == 11 and rows(tmp_path / "chunks.sqlite") == rows(tmp_path / "whole.sqlite")


def test_cli_sweep_record_and_chunk_size(tmp_path):
    from optimlab.cli.sweep import RECORDS as CLI_RECORDS
    from optimlab.sweeps.result import RECORDS

    assert CLI_RECORDS == RECORDS
    args = ["sweep", "booth", "-O", "sgd", "--grid", "lr=log:1e-3:1e-1:4", "--steps", "20", "--quiet"]
    r_all = cli(*args, "--out", str(tmp_path / "all"))
    r_fin = cli(*args, "--record", "FINAL", "--chunk-size", "3", "--out", str(tmp_path / "fin"))
    assert r_all.exit_code == 0 and r_fin.exit_code == 0, r_fin.output
    kept_all = SweepResult.load(tmp_path / "all" / "sweep.json")
    kept_fin = SweepResult.load(tmp_path / "fin" / "sweep.json")
    assert np.array_equal(kept_fin.final_values, kept_all.final_values)  # chunks of 3 change nothing
    assert all("values" not in t.series for t in kept_fin.traces)
    assert_one_line_error(cli(*args, "--record", "final", "--target", "1e-3", "--out", str(tmp_path / "t")),
                          "--target needs every run's curve")
    assert_one_line_error(cli(*args, "--record", "some", "--out", str(tmp_path / "s")),
                          "--record must be one of all, values, final, got 'some'")
    assert not (tmp_path / "t").exists() and not (tmp_path / "s").exists()
