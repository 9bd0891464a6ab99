"""compare's shared evaluations (optimlab.runner.shared): optimizers on one function step in
lockstep with one evaluation per step for all of them, and every trace is the one the
optimizer gives alone (share=False, i.e. optimlab.run), to the bit on these polynomials:
classic and modern methods, stopping rules, a diverging run, a schedule, runs that stop at
different steps (and leave the shared evaluation), and the methods that must run alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import optimlab
from optimlab.functions import TestFunction
from optimlab.runner import compare, compiled, loop, run_batch
from optimlab.runner.loop import prepare_batch
from optimlab.runner.shared import alone_reason, run_together
from optimlab.stopping import GradTol

START = (-1.5, 2.0)
SERIES = ("params", "values", "grad_norms", "lrs")


def same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for label in a:
        ta, tb = a[label], b[label]
        assert (ta.label, ta.steps, ta.stop_reason, ta.config) == (tb.label, tb.steps, tb.stop_reason, tb.config)
        for s in SERIES:
            np.testing.assert_array_equal(getattr(ta, s), getattr(tb, s), err_msg=f"{label}: {s}")
        assert len(ta.times) == len(tb.times) and np.all(np.diff(ta.times) >= 0)


def counting(rows: list) -> TestFunction:
    """Beale, recording the number of points of each evaluation with a gradient."""
    beale = optimlab.functions.get("beale")

    def f(x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad:
            rows.append(x.shape[0])
        return beale(x)

    return TestFunction("counted-beale", f, 2, beale.domain, f_min=0.0)


MIX = {"sgd": "sgd:lr=0.002", "momentum": "momentum:lr=0.002", "nag": "nesterov:lr=0.002", "adam": "adam:lr=0.05",
       "rmsprop": "rmsprop:lr=0.01", "lion": "lion:lr=0.01", "keras": "keras.adam:learning_rate=0.05",
       "diverges": "sgd:lr=1.0", "adagrad": "adagrad:lr=0.5", "adabelief": "adabelief:lr=0.05",
       "ademamix": "ademamix:lr=0.05", "mars": "mars:lr=0.01", "adopt": "adopt:lr=0.05"}


def test_one_evaluation_per_step_and_the_traces_of_each_optimizer_alone():
    rows: list = []
    fn = counting(rows)
    stop = [GradTol(1e-2)]
    shared = compare(fn, MIX, START, 40, stop=stop, compile=False)
    n_shared = list(rows)
    rows.clear()
    alone = compare(fn, MIX, START, 40, stop=stop, compile=False, share=False)
    same(shared, alone)
    steps = {k: t.steps for k, t in shared.items()}
    reasons = {k: t.stop_reason for k, t in shared.items()}
    assert reasons["diverges"] == "diverged" and steps["diverges"] < 5
    assert "grad_tol" in reasons.values() and len(set(steps.values())) > 2, "runs stop at different steps"
    # each loop evaluates steps + 1 points (and the one that diverged, where it did: not recorded);
    # shared: one evaluation per step with the points of the loops still going
    n = [t.steps + 1 + (t.stop_reason == "diverged") for t in shared.values()]
    assert n_shared == [sum(n_i > k for n_i in n) for k in range(max(n))]
    assert rows == [1] * sum(n), "alone: one evaluation per loop and step"
    # an independent reference: torch.optim.Adam's own loop on Beale
    x = torch.tensor([START], dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([x], lr=0.05)
    for k in range(steps["adam"] + 1):
        adam.zero_grad()
        v = optimlab.functions.get("beale")(x)
        v.sum().backward()
        np.testing.assert_allclose(shared["adam"].values[k], v.item(), rtol=1e-13)
        adam.step()


def test_a_schedule_progress_and_the_runs_that_need_evaluations_of_their_own():
    rows: list = []
    fn = counting(rows)
    mix = {"sgd": "sgd:lr=0.002", "adam": "adam:lr=0.05", "lbfgs": "lbfgs:lr=0.5,max_iter=2",
           "schedule-free": "sgdschedulefree:lr=0.01", "sophia": "sophia:lr=0.01,estimator=hutchinson",
           "momentum": "momentum:lr=0.002"}
    sched = (torch.optim.lr_scheduler.StepLR, {"step_size": 4, "gamma": 0.5})
    ticks: dict = {False: [], True: []}
    out = {share: compare(fn, mix, START, 12, schedule=sched, compile=False, share=share,
                          progress=lambda label, k, share=share: ticks[share].append((label, k)))
           for share in (True, False)}
    same(out[True], out[False])
    assert out[True]["sgd"].lrs[[0, 4, 8]].tolist() == [0.002, 0.001, 0.0005]
    assert sorted(ticks[True]) == sorted(ticks[False]) and len(ticks[True]) == 6 * 12
    reasons = {label: alone_reason(prepare_batch(fn, spec, [START], 3)[0]) for label, spec in mix.items()}
    assert reasons["sgd"] is None and reasons["adam"] is None
    assert "closure" in reasons["lbfgs"] and "train/eval" in reasons["schedule-free"]
    assert "curvature" in reasons["sophia"]
    noisy = optimlab.functions.resolve("beale:noise=0.1,seed=3")
    assert "noisy" in alone_reason(prepare_batch(noisy, "sgd", [START], 3)[0])
    assert "callable of your own" in alone_reason(prepare_batch(lambda x: (x ** 2).sum(-1), "sgd", [START], 3)[0])
    with pytest.raises(ValueError, match="share must be True or False, got 'yes'"):
        compare(fn, mix, START, 3, share="yes")


def test_batched_runs_of_several_optimizers_share_and_a_shared_run_asks_for_its_program(monkeypatch, tmp_path):
    # run_together takes any prepared runs on one function: (R, d) batches with per-run hyperparameters
    batches = [prepare_batch("rosenbrock", "adam", START, 15, hyper={"lr": [0.01, 0.1, 3.0]}, compile=False)[0],
               prepare_batch("rosenbrock", "momentum", [START, (0.0, 0.0)], 15, hyper={"lr": [1e-3, 2e-3]},
                             compile=False)[0]]
    run_together(batches)
    alone = [run_batch("rosenbrock", "adam", START, 15, hyper={"lr": [0.01, 0.1, 3.0]}, compile=False),
             run_batch("rosenbrock", "momentum", [START, (0.0, 0.0)], 15, hyper={"lr": [1e-3, 2e-3]},
                                compile=False)]
    for b, want in zip(batches, alone):
        same({t.label: t for t in b.traces()}, {t.label: t for t in want})
    # compile="auto" with no program built: the runs share, and each still asks for its program
    # when switch_now says so (here after step 4; the takeover itself is loop.take's, tested in
    # test_compiled_runs); a program that cannot be had leaves the run sharing, same records
    monkeypatch.setattr(compiled, "BACKEND", "graph")  # no C++ compiler needed to have a plan
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path))
    assert "compiled" in alone_reason(prepare_batch("beale", "adam", [START], 3, compile=True)[0])
    monkeypatch.setattr(loop, "switch_now", lambda choice, ready, k, steps, elapsed: k == 4)
    asked = []
    monkeypatch.setattr(loop, "obtain", lambda key, choice, fn, opt, hyper_t: asked.append(type(opt).__name__))
    mix = {"sgd": "sgd:lr=0.002", "adam": "adam:lr=0.05", "torch": (torch.optim.SGD, {"lr": 0.002, "momentum": 0.9})}
    rows: list = []
    got = compare(counting(rows), mix, START, 8, compile="auto")
    assert asked == ["SGD", "Adam"], "torch's SGD has no program (eager), the optimlab ones ask once"
    assert rows == [3] * 9
    same(got, compare(counting([]), mix, START, 8, compile=False, share=False))


def test_a_sum_over_coordinates_may_round_its_values_differently_but_no_more():
    specs = ["sgd:lr=0.001", "nesterov:lr=0.001", "rmsprop:lr=0.01", "adam:lr=0.05"]
    fn = optimlab.functions.resolve("styblinski-tang:dim=5")
    shared, alone = (compare(fn, specs, steps=30, compile=False, share=s) for s in (True, False))
    for label in specs:
        np.testing.assert_allclose(shared[label].values, alone[label].values, rtol=1e-12, atol=0)
        np.testing.assert_allclose(shared[label].params, alone[label].params, rtol=1e-12, atol=0)
