"""Compiled runs (optimlab.runner.compiled) give the eager runs' records: every optimizer of
the registry, batched runs with divergence, stopping rules and schedules; a real
AOTInductor build is loaded again from the disk cache by a fresh process.

Most tests run the traced program without compiling it (``BACKEND = "graph"``): that checks
everything the tracing does (the optimizer's own code on symbolic tensors, the freezing, the
inputs and outputs), at a fraction of a C++ build's cost; one test builds with AOTInductor."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

import optimlab
from optimlab.cli import main
from optimlab.engine import divergent
from optimlab.optim import registry
from optimlab.runner import NotCompilable, compiled, compiled_steps, loop, programs, run_batch
from optimlab.stopping import GradTol
from optimlab.sweeps import api as sweeps_api

START = [-1.5, 2.0]
# refused, each with the reason it gives (a change that makes one of them compile, or makes
# another one refuse, shows up here)
REFUSED = {
    "Python values in its state": ["bfgs", "cg", "conjugategradient", "lbfgs", "levenbergmarquardt", "lm",
                                   "newton", "nonlinearcg"],  # their iteration counts, line-search steps
    "could not be traced": ["adopt", "asgd", "prodigy", "soap"],  # branches on values of tensors
    "changes Python values": ["adamwschedulefree", "radamschedulefree", "sgdschedulefree"],
    "optimlab optimizer": ["lookahead"],  # a wrapper, not an optimlab Optimizer itself
    "refreshes its curvature": ["sophia"],  # update_hessian() every k steps, outside step()
}
ELSEWHERE = {"muon", "keras.muon", "sparseadam"}  # cannot run on a test function at all (eager says so too)
# Tracing costs about a second per optimizer, so the suite checks one method per code path of
# the tracing (stateless, a buffer made at the first step, the Adam family's tensor step, the
# float32 Πμ of NAdam, Keras' arithmetic, reductions over the parameter, each kind of refusal);
# OPTIMLAB_TEST_COMPILE_ALL=1 checks every registered name (docs/sweeps.md gives the last run).
CHECKED = ["sgd", "momentum", "adam", "nadam", "keras.adam", "lamb", "nag", "cg", "adopt", "sgdschedulefree",
           "lookahead"]
NAMES = ([n for n in registry.available() if n not in ELSEWHERE] if os.environ.get("OPTIMLAB_TEST_COMPILE_ALL")
         else CHECKED)


@pytest.fixture
def traced(monkeypatch, tmp_path):
    """Programs run as traced graphs, one step per call, cached nowhere but a temporary folder."""
    monkeypatch.setattr(compiled, "BACKEND", "graph")
    monkeypatch.setattr(programs, "CHUNK", 1)
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path))


def same_traces(eager, comp, rtol=1e-12):
    assert len(eager) == len(comp)
    for a, b in zip(eager, comp):
        assert (a.stop_reason, a.steps) == (b.stop_reason, b.steps)
        for k in ("params", "values", "grad_norms", "lrs", "evals_f", "evals_grad", "evals_hess"):
            assert (k in a.series) == (k in b.series), k
            if k in a.series:
                np.testing.assert_allclose(b.series[k], a.series[k], rtol=rtol, atol=0, err_msg=k)


def expected_refusal(name):
    return next((why for why, names in REFUSED.items() if name in names), None)


@pytest.mark.parametrize("name", NAMES)
def test_every_optimizer_compiles_to_the_eager_numbers_or_says_why(traced, name):
    args = ("rosenbrock", name, [START], 6)
    why = expected_refusal(name)
    if why is not None:
        with pytest.raises(NotCompilable, match=why):
            run_batch(*args, compile=True)
        return
    same_traces(run_batch(*args, compile=False), run_batch(*args, compile=True), 1e-12)


def test_batched_runs_with_divergence_rules_and_per_run_hyperparameters(traced, monkeypatch):
    monkeypatch.setattr(programs, "CHUNK", 3)  # rules and divergence fire inside a call
    built = {}  # one traced program for every compiled run below (the record modes share it)
    build = compiled.build_program
    monkeypatch.setattr(compiled, "build_program", lambda key, *a, **k: built.get(key) or built.setdefault(
        key, build(key, *a, **k)))
    hyper = {"lr": [1e-4, 2e-3, 0.05, 1e-3, 1e-7], "momentum": [0.9, 0.5, 0.9, 0.0, 0.9]}
    kw = dict(hyper=hyper, stop=GradTol(0.05), bound=1e6)
    eager = run_batch("rosenbrock", "momentum", START, 30, compile=False, **kw)
    searched = []  # the calls searched step by step: those where the quick test of the active runs failed
    monkeypatch.setattr(compiled_steps, "divergent", lambda *a, **k: searched.append(1) or divergent(*a, **k))
    comp = run_batch("rosenbrock", "momentum", START, 30, compile=True, **kw)
    same_traces(eager, comp)
    assert {t.stop_reason for t in comp} == {"max_steps", "diverged", "grad_tol"}, "every way of stopping is seen"
    # only the call where a run diverged is searched: a stopped run's non-finite point is not in the quick test
    assert len(searched) == 3 * sum(t.stop_reason == "diverged" for t in comp)
    # record="values"/"final" keep O(R x steps) / O(R) and agree with the full records (eager and compiled
    # record through the same record_block; one traced program is enough)
    fin_c = run_batch("rosenbrock", "momentum", START, 30, compile=True, record="final", record_params=False, **kw)
    for fin in (run_batch("rosenbrock", "momentum", START, 30, compile=False, record="final", record_params=False,
                          **kw), fin_c):
        vals = run_batch("rosenbrock", "momentum", START, 30, compile=False, record="values", record_params=False,
                         **kw)
        for full, v, f in zip(eager, vals, fin):
            ends = full.params[[0, -1]]
            assert (v.stop_reason, v.steps, f.stop_reason, f.steps) == (full.stop_reason, full.steps) * 2
            assert sorted(v.series) == ["params", "values"] and sorted(f.series) == ["params"]
            np.testing.assert_allclose(v.values, full.values, rtol=1e-12, atol=0)
            np.testing.assert_allclose(np.r_[v.params, f.params], np.r_[ends, ends], rtol=1e-12, atol=0)
            np.testing.assert_allclose([f.meta["final_value"], f.meta["best_value"]],
                                       [full.values[-1], full.values[np.isfinite(full.values)].min()], rtol=1e-12)
    # without a rule the calls that nothing stops are recorded whole (the program's own lowest value of each)
    nokw = dict(hyper=hyper, bound=1e6)
    full = run_batch("rosenbrock", "momentum", START, 30, compile=False, **nokw)
    fin = run_batch("rosenbrock", "momentum", START, 30, compile=True, record="final", record_params=False, **nokw)
    for a, f in zip(full, fin):
        assert (a.stop_reason, a.steps) == (f.stop_reason, f.steps)
        np.testing.assert_allclose([f.meta["final_value"], f.meta["best_value"]],
                                   [a.values[-1], a.values[np.isfinite(a.values)].min()], rtol=1e-12)
    with pytest.raises(ValueError, match="record='final' keeps only the start and last point: pass record_params"):
        run_batch("rosenbrock", "momentum", START, 3, record="final")
    with pytest.raises(ValueError, match="record must be one of 'all', 'values', 'final', got 'some'"):
        run_batch("rosenbrock", "momentum", START, 3, record="some", record_params=False)


def test_the_quick_divergence_test_reads_values_points_and_whether_gradient_norms_are_finite():
    f = torch.tensor([1.0, 2.0, 3.0, 0.5], dtype=torch.float64)
    x = torch.tensor([[0.5, -4.0], [1.0, 1.0], [0.0, 0.0], [0.1, 0.2]], dtype=torch.float64)
    gn = torch.tensor([1e300, float("inf"), float("nan"), float("nan")], dtype=torch.float64)
    top = programs._top(f, x, gn, torch.tensor([True, True, False, True]))
    # a huge finite norm is not held to the bound (the eager rule: only NaN/inf); a stopped run reads 0
    assert top[0] == 4.0 and top[1].isnan() and top[2] == 0.0 and top[3].isnan()


@pytest.mark.parametrize("spec, hyper", [("momentum:momentum=0.9", {"lr": [1e-4, 1e-3]}),
                                         ("rmsprop:lr=0.01,centered=true", None)])
@pytest.mark.parametrize("schedule", [(torch.optim.lr_scheduler.StepLR, {"step_size": 4, "gamma": 0.5}),
                                      (torch.optim.lr_scheduler.CosineAnnealingLR, {"T_max": 7, "eta_min": 1e-4})])
def test_schedules_on_tensor_and_number_learning_rates(traced, spec, hyper, schedule):
    starts = [START, [0.5, 0.5]] if hyper is None else START
    eager = run_batch("rosenbrock", spec, starts, 12, hyper=hyper, schedule=schedule, compile=False)
    if hyper is not None and schedule[1].get("eta_min"):  # per-run lrs and lrs of its own: each run's differ
        with pytest.raises(NotCompilable, match="not known to scale with the base lr"):
            run_batch("rosenbrock", spec, starts, 12, hyper=hyper, schedule=schedule, compile=True)
        return
    comp = run_batch("rosenbrock", spec, starts, 12, hyper=hyper, schedule=schedule, compile=True)
    same_traces(eager, comp)
    assert len(set(np.round(comp[0].series["lrs"], 12))) > 1, "the schedule changed the lr"


def test_auto_switches_when_the_run_has_shown_it_is_long(traced, monkeypatch):
    switch = compiled.switch_now
    assert switch(True, False, 1, 100, 0.01) and switch("auto", True, 1, 100, 0.01)  # asked for, or built already
    assert not switch("auto", False, 1, 100, 0.01)  # a short run never waits for a build
    assert switch("auto", False, 50, 100, 31.0) and not switch("auto", False, 90, 100, 31.0)  # 31 s / 3.4 s to go
    assert not switch(True, False, 2, 100, 0.01), "one chance: after the first step"
    # a switch in the middle of a run (here after step 5) carries the eager state on: the same records
    monkeypatch.setattr(loop, "switch_now", lambda choice, ready, k, steps, elapsed: k == 5)
    built = []
    monkeypatch.setattr(loop, "obtain", lambda *a: built.append(a[3].state) or compiled.obtain(*a))
    hyper = {"lr": [1e-3, 2e-2], "momentum": [0.9, 0.5]}
    same_traces(run_batch("rosenbrock", "nag", START, 12, hyper=hyper, compile=False),
                run_batch("rosenbrock", "nag", START, 12, hyper=hyper, compile="auto"))
    assert len(built) == 1, "the program took over once"


def test_auto_falls_back_for_refused_runs_and_bad_values_are_clear(traced):
    # a refused optimizer under "auto" simply runs eagerly, with the eager numbers
    same_traces(run_batch("beale", "newton", [START], 5, compile=False), run_batch("beale", "newton", [START], 5))
    with pytest.raises(ValueError, match="compile must be 'auto', True or False, got 'fast'"):
        run_batch("beale", "adam", [START], 5, compile="fast")
    with pytest.raises(NotCompilable, match="named test function or a formula"):
        run_batch(lambda x: (x ** 2).sum(-1), "adam", [START], 5, compile=True)
    with pytest.raises(ValueError, match="compile applies to function problems only"):
        optimlab.sweep("problem:moons-mlp", "sgd", {"lr": [0.1]}, steps=1, compile=True)


def test_step_hooks_and_the_profiler_keep_the_steps_eager(traced):
    seen = []
    handle = register_optimizer_step_post_hook(lambda opt, args, kwargs: seen.append(1))
    try:
        with pytest.raises(NotCompilable, match="step hooks are registered or the profiler is on"):
            run_batch("booth", "sgd", [START], 3, compile=True)
        run_batch("booth", "sgd", [START], 3, compile="auto")
    finally:
        handle.remove()
    assert len(seen) == 3, "every step seen by the hook"
    with torch.profiler.profile(), pytest.raises(NotCompilable, match="profiler"):
        run_batch("booth", "sgd", [START], 3, compile=True)


def test_a_sweep_and_the_command_line_take_compile(traced, tmp_path, monkeypatch):
    grid = {"lr": [1e-3, 1e-2, 1e-1]}
    eager = optimlab.sweep("booth", "adam", grid, steps=9, compile=False)
    comp = optimlab.sweep("booth", "adam", grid, steps=9, compile=True, chunk_size=2)
    same_traces(eager.traces, comp.traces)
    # a compiled sweep left to choose its chunks keeps each to COMPILED_CHUNK coordinates (the cache);
    # an eager one is one batch
    monkeypatch.setattr(sweeps_api, "COMPILED_CHUNK", 4)  # 2 runs of booth (d = 2) per chunk
    grid5 = {"lr": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]}
    for choice, totals in ((True, {3 * 9}), (False, {9})):
        seen: set = set()
        res = optimlab.sweep("booth", "adam", grid5, steps=9, compile=choice,
                             progress=lambda k, n, seen=seen: seen.add(n))
        assert seen == totals, (choice, seen)
        same_traces(optimlab.sweep("booth", "adam", grid5, steps=9, compile=False).traces, res.traces)
    for args, status in ((["run", "booth", "-O", "adam", "--compile", "on"], 0),
                         (["run", "booth", "-O", "adam", "--compile", "sometimes"], 2),
                         (["run", "booth", "-O", "newton", "--compile", "on"], 2)):  # refused, one line
        with pytest.raises(SystemExit) as e:
            main([*args, "--steps", "5", "--quiet", "--out", str(tmp_path / args[-1])])
        assert e.value.code == status, args


@pytest.mark.build  # 25-35 s with a cold compiler cache: `pytest -m build` (not in .ci/run's budget)
def test_an_aoti_build_is_exact_and_a_new_process_loads_it_without_dynamo(monkeypatch, tmp_path):
    if compiled.compiler_missing():
        pytest.skip(compiled.compiler_missing())
    monkeypatch.setattr(programs, "CHUNK", 1)  # the smallest program: the build is the test's cost
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path))
    # one build: compiling the headers to reuse them (torch's default) costs more than it saves (34 vs 28 s cold)
    from torch._inductor import config  # the compiler's settings: imported by this test only (a second)

    monkeypatch.setattr(config.aot_inductor, "precompile_headers", False)
    hyper = {"lr": [1e-3, 1e-2, 5e-2]}  # three runs: the program takes any number of them
    eager = run_batch("rosenbrock", "adam", START, 20, hyper=hyper, compile=False)
    comp = run_batch("rosenbrock", "adam", START, 20, hyper=hyper, compile=True)
    same_traces(eager, comp)
    assert len(list(tmp_path.glob("*.pt2"))) == 1
    child = (
        "import json, sys, optimlab\n"
        "from optimlab.runner import compiled, programs, run_batch\n"
        "programs.CHUNK = 1\n"
        f"t = run_batch('rosenbrock', 'adam', {START}, 20, hyper={hyper}, compile='auto')\n"
        "print(json.dumps({'dynamo': 'torch._dynamo' in sys.modules, 'loaded': len(compiled.loaded_keys()),"
        " 'params': [x.series['params'].tolist() for x in t]}))\n")
    env = {**os.environ, compiled.CACHE_ENV: str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    out = json.loads(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env,
                                    check=True).stdout.strip().splitlines()[-1])
    assert out["loaded"] == 1 and not out["dynamo"], "the program came from the disk, without torch._dynamo"
    for a, p in zip(comp, out["params"]):
        np.testing.assert_array_equal(np.asarray(p), a.series["params"])
