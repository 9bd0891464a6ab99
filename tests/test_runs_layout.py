"""Methods that are not element-wise in the batched lab: Adafactor and Muon reduce over a whole
parameter (the runs are declared with ``runs=True``), L-BFGS steps all parameters as one vector
(each run is done alone). In function sweeps and training sweeps every row equals the run alone."""

import numpy as np
import pytest
import torch
from test_sweeps import _same, _tiny_problem, _train_alone

import optimlab
from optimlab.runner import run_batch, runs_layout, runs_options

STARTS = [[-1.5, 2.0], [1.0, -1.0], [0.5, 0.5]]


def test_the_layouts_of_the_registered_classes():
    assert [runs_layout(n) for n in ("adam", "asgd", "adafactor", "muon", "lbfgs:history_size=3")] == \
        ["elementwise", "elementwise", "leading", "leading", "alone"]
    assert runs_options("adafactor") == {"runs": True} and runs_options("sgd") == {}


@pytest.mark.parametrize("spec", ["lbfgs:history_size=4,max_iter=4", "lbfgs:line_search_fn=strong_wolfe,max_iter=4",
                                  "adafactor:lr=0.1"])
def test_run_batch_equals_each_start_alone(spec):
    batched = run_batch("rosenbrock", spec, STARTS, steps=5)
    for start, t in zip(STARTS, batched):
        _same(t, run_batch("rosenbrock", spec, [start], steps=5)[0])


def test_function_sweep_of_lbfgs_equals_runs_alone():
    res = optimlab.sweep("rosenbrock", "lbfgs:max_iter=4", grid={"lr": [0.5, 1.0]}, start=(-1.5, 2.0), steps=4)
    for cfg, t in zip(res.configs, res.traces):
        _same(t, run_batch("rosenbrock", ("lbfgs", {"lr": cfg["lr"], "max_iter": 4}), [[-1.5, 2.0]], steps=4)[0])


def test_muon_refuses_the_points_of_the_function_lab():
    with pytest.raises(ValueError, match=r"\(2,\) per run .*fallback='adamw'"):
        run_batch("rosenbrock", "muon", STARTS, steps=2)


@pytest.mark.parametrize("spec, kw", [("adafactor", {}), ("muon", {"fallback": "adamw", "ns_dtype": "float64"}),
                                      ("muon", {"fallback": "adamw"})])
def test_training_sweep_rows_equal_training_alone(spec, kw):
    """Seeds only (no swept value) and lr swept: each stacked run is reduced on its own."""
    prob = _tiny_problem()
    for grid, seeds in (({"lr": [0.01]}, [0, 3]), ({"lr": [0.01, 0.05]}, None)):
        res = optimlab.sweep(prob, (spec, kw), grid=grid, seeds=seeds, steps=6, batch_size=8, dtype=torch.float64)
        for cfg, t in zip(res.configs, res.traces):
            losses, _ = _train_alone(prob, spec, {**kw, "lr": cfg["lr"]}, cfg.get("seed") or 0, 6, 8)
            np.testing.assert_allclose(t.values, losses, rtol=1e-10, atol=1e-12)


def test_lbfgs_cannot_be_swept_on_a_training_problem():
    with pytest.raises(ValueError, match="lbfgs cannot be swept on a training problem"):
        optimlab.sweep(_tiny_problem(), "lbfgs", grid={"lr": [0.1]}, steps=2)
