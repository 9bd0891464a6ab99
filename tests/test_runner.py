"""The runner: exact paths against closed forms and NumPy transcriptions, batching, stops."""

import math

import numpy as np
import pytest
import torch

import optimlab
from optimlab.runner import run_batch
from optimlab.stopping import FTol, GradTol, MaxSteps, RelFTol, TimeLimit


def quad(x):  # the notebook's 5x² + y²
    return 5 * x[..., 0] ** 2 + x[..., 1] ** 2


quad.dim = 2  # a plain callable may declare its dimension (and f_min) as attributes


def test_notebook_sgd_path_is_the_closed_form():
    t = optimlab.run(quad, "sgd:lr=0.01", start=(5, 5), steps=100)
    k = np.arange(101)
    np.testing.assert_allclose(t.params[:, 0], 5 * 0.9 ** k, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t.params[:, 1], 5 * 0.98 ** k, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t.values, 5 * (5 * 0.9 ** k) ** 2 + (5 * 0.98 ** k) ** 2, rtol=1e-12)
    np.testing.assert_allclose(t.grad_norms, np.hypot(50 * 0.9 ** k, 10 * 0.98 ** k), rtol=1e-12)
    assert t.steps == 100 and t.stop_reason == "max_steps"
    assert t.lrs.shape == (100,) and np.all(t.lrs == 0.01)
    assert t.times.shape == (101,) and np.all(np.diff(t.times) >= 0)
    assert t.config["optimizer"] == "sgd" and t.config["options"] == {"lr": 0.01}
    assert t.config["start"] == [5.0, 5.0]


def test_lecture_momentum_and_adagrad_match_numpy_transcriptions():
    # lecture 000: ν_t = γν_{t−1} + η∇J(θ_{t−1}); θ_t = θ_{t−1} − ν_t
    def grad(p):
        return np.array([10 * p[0], 2 * p[1]])

    th, nu, path = np.array([5.0, 5.0]), np.zeros(2), []
    for _ in range(60):
        nu = 0.7 * nu + 0.01 * grad(th)
        th = th - nu
        path.append(th)
    t = optimlab.run(quad, ("momentum", {"lr": 0.01, "momentum": 0.7, "momentum_form": "velocity"}), (5, 5), 60)
    np.testing.assert_allclose(t.params[1:], np.array(path), rtol=0, atol=1e-12)
    # the notebook's Adagrad: G += g²; θ −= η g / √(G + ε)
    th, G, path = np.array([5.0, 5.0]), np.zeros(2), []
    for _ in range(60):
        g = grad(th)
        G = G + g * g
        th = th - 0.1 * g / np.sqrt(G + 1e-6)
        path.append(th)
    t = optimlab.run(quad, ("adagrad", {"lr": 0.1, "eps": 1e-6, "eps_in_sqrt": True}), (5, 5), 60)
    np.testing.assert_allclose(t.params[1:], np.array(path), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name,hyper", [
    ("adam", {"lr": [0.003, 0.05, 0.3, 2.0]}),
    ("sgd", {"lr": [1e-3, 1e-2, 0.05, 0.08], "momentum": [0.0, 0.5, 0.9, 0.99]}),
    ("rmsprop", {"lr": [1e-3, 1e-2, 0.1, 1.0], "alpha": [0.9, 0.99, 0.5, 0.0]}),
    ("adam", {"betas": [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99), (0.95, 0.5)]}),
    ("nadam", {"lr": [1e-3, 1e-2, 0.1, 1.0]}),
])
def test_a_batch_equals_the_runs_one_by_one(name, hyper):
    f = lambda x: (1 - x[..., 0]) ** 2 + 10 * (x[..., 1] - x[..., 0] ** 2) ** 2  # noqa: E731
    batch = run_batch(f, name, (-1.2, 1.0), 80, hyper=hyper)
    for i, tb in enumerate(batch):
        kw = {k: (tuple(v[i]) if k == "betas" else v[i]) for k, v in hyper.items()}
        alone = optimlab.run(f, (name, kw), (-1.2, 1.0), 80)
        assert tb.stop_reason == alone.stop_reason and tb.steps == alone.steps
        np.testing.assert_allclose(tb.params, alone.params, rtol=0, atol=1e-12)
        np.testing.assert_allclose(tb.values, alone.values, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(tb.lrs, alone.lrs)


def test_a_diverging_run_keeps_its_finite_prefix_and_spares_the_others():
    # SGD on 5x² with lr 0.5 multiplies x by (1 − 5) = −4 each step: f grows 16×.
    batch = run_batch(quad, "sgd", (5.0, 5.0), 100, hyper={"lr": [0.01, 0.5]}, bound=1e12)
    ok, bad = batch
    assert ok.stop_reason == "max_steps" and ok.steps == 100
    assert bad.stop_reason == "diverged"
    x_k = 5.0 * (-4.0) ** np.arange(40)
    y_k = 5.0 * 0.0 ** np.arange(40)
    f_k = 5 * x_k ** 2 + y_k ** 2
    first_bad = int(np.argmax((np.abs(f_k) > 1e12) | (np.abs(x_k) > 1e12)))
    assert bad.steps == first_bad - 1
    np.testing.assert_allclose(bad.params[:, 0], x_k[:first_bad])
    assert np.isfinite(bad.values).all() and len(bad.values) == first_bad
    alone = optimlab.run(quad, "sgd:lr=0.01", (5, 5), 100)
    np.testing.assert_allclose(ok.params, alone.params, atol=1e-12, rtol=0)


def test_nan_values_stop_as_diverged():
    f = lambda x: torch.sqrt(x[..., 0]) + x[..., 1] ** 2  # noqa: E731  NaN for x < 0
    t = optimlab.run(f, "sgd:lr=1.0", (0.3, 1.0), 50)
    # x_{k+1} = x_k − 1/(2√x_k): 0.3 → −0.6129 (NaN there)
    assert t.stop_reason == "diverged" and t.steps == 0
    np.testing.assert_allclose(t.params, [[0.3, 1.0]])


def _halving(x0=4.0):
    # gradient descent on x² with lr 0.25: x_t = x0 / 2^t, f_t = x0²/4^t, |f'| = 2x0/2^t
    return lambda x: (x ** 2).sum(-1), (x0,)


@pytest.mark.parametrize("rule,expected_reason,first", [
    (FTol(1e-6, f_min=0.0), "f_tol", math.ceil(math.log(1e-6 / 16) / math.log(0.25))),
    (RelFTol(1e-4), "rel_f_tol", math.ceil(math.log(1e-4) / math.log(0.25))),
    (GradTol(1e-3), "grad_tol", math.ceil(math.log(1e-3) / math.log(0.5))),
    (MaxSteps(7), "max_steps", 7),
])
def test_each_stopping_rule_fires_where_it_should(rule, expected_reason, first):
    f, start = _halving()
    t = optimlab.run(f, "sgd:lr=0.25", start, 200, stop=rule)
    assert t.stop_reason == expected_reason
    assert t.steps == first
    np.testing.assert_allclose(t.params[:, 0], 4.0 / 2.0 ** np.arange(first + 1))


def test_combined_rules_report_the_first_that_fires():
    f, start = _halving()
    t = optimlab.run(f, "sgd:lr=0.25", start, 200, stop=GradTol(1e-3) | MaxSteps(5))
    assert (t.stop_reason, t.steps) == ("max_steps", 5)
    t = optimlab.run(f, "sgd:lr=0.25", start, 200, stop=[GradTol(0.5), RelFTol(0.25)])
    assert (t.stop_reason, t.steps) == ("grad_tol", 1)  # both fire at step 1; the first listed wins


def test_time_limit_stops():
    f, start = _halving()
    t = optimlab.run(f, "sgd:lr=0.0", start, 10**6, stop=TimeLimit(0.05))
    assert t.stop_reason == "time_limit" and 0 < t.steps < 10**6
    assert t.times[-1] >= 0.05 and t.times[-2] < 0.05


def test_ftol_needs_a_known_optimum():
    with pytest.raises(ValueError, match="f_min"):
        optimlab.run(lambda x: (x ** 2).sum(-1), "sgd", (1.0,), 5, stop=FTol(1e-3))


def test_schedules_drive_the_recorded_lr():
    f, start = _halving()
    sched = (torch.optim.lr_scheduler.StepLR, {"step_size": 3, "gamma": 0.1})
    t = optimlab.run(f, "sgd:lr=0.25", start, 8, schedule=sched)
    np.testing.assert_allclose(t.lrs, [0.25] * 3 + [0.025] * 3 + [0.0025] * 2)
    x = 4.0
    for lr in t.lrs:
        x -= lr * 2 * x
    assert t.params[-1, 0] == pytest.approx(x, abs=1e-14)
    batch = run_batch(f, "sgd", start, 8, hyper={"lr": [0.25, 0.1]}, schedule=sched)
    np.testing.assert_allclose(batch[0].params, t.params, atol=1e-15)
    np.testing.assert_allclose(batch[1].lrs, [0.1] * 3 + [0.01] * 3 + [0.001] * 2)


@pytest.mark.parametrize("bad,match", [
    (dict(steps=-1), "steps"),
    (dict(start=(1.0, 2.0, 3.0)), "coordinates|shape"),
    (dict(start=(float("nan"), 1.0)), "NaN"),
    (dict(optimizer="adamm"), "did you mean|Did you mean"),
    (dict(optimizer="adam:lr=-1"), "lr"),
])
def test_bad_input_is_named(bad, match):
    args = dict(function=quad, optimizer="adam", start=(1.0, 1.0), steps=5)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        optimlab.run(**args)


def test_an_optimizer_instance_is_refused_with_a_hint():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="instance"):
        optimlab.run(quad, torch.optim.SGD([w], lr=0.1), (1.0, 1.0), 3)


def test_optimizer_forms_agree():
    forms = ["adam:lr=0.1", ("adam", {"lr": 0.1}), (optimlab.optim.Adam, {"lr": 0.1}),
             lambda p: optimlab.optim.Adam(p, lr=0.1)]
    paths = [optimlab.run(quad, f, (5, 5), 30).params for f in forms]
    for p in paths[1:]:
        np.testing.assert_array_equal(p, paths[0])
    traces = optimlab.compare(quad, {"a": "sgd:lr=0.01", "b": "adam:lr=0.1"}, (5, 5), 20)
    assert list(traces) == ["a", "b"] and traces["a"].label == "a"
    np.testing.assert_array_equal(traces["b"].params, paths[0][:21])


def test_the_lectures_nag_runs_with_its_look_ahead_gradient():
    # lecture 000: ν_t = γν_{t−1} + η∇J(θ_{t−1} − γν_{t−1}); θ_t = θ_{t−1} − ν_t
    def grad(p):
        return np.array([10 * p[0], 2 * p[1]])

    th, nu, path = np.array([5.0, 5.0]), np.zeros(2), []
    for _ in range(50):
        nu = 0.9 * nu + 0.01 * grad(th - 0.9 * nu)
        th = th - nu
        path.append(th)
    t = optimlab.run(quad, "nag:lr=0.01,momentum=0.9", (5, 5), 50)
    np.testing.assert_allclose(t.params[1:], np.array(path), rtol=0, atol=1e-12)
    batch = run_batch(quad, "nag", (5.0, 5.0), 50, hyper={"lr": [0.01, 0.3]})
    np.testing.assert_allclose(batch[0].params, t.params, rtol=0, atol=1e-12)
    assert batch[1].stop_reason == "diverged"


def test_step_hooks_and_the_profiler_still_see_every_step():
    """The runner steps through opt.step, so torch's step hooks and the profiler see every step."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    calls = []
    handle = register_optimizer_step_post_hook(lambda opt, args, kwargs: calls.append(type(opt).__name__))
    try:
        optimlab.run("booth", "adam:lr=0.1", start=(0.0, 0.0), steps=7)
    finally:
        handle.remove()
    assert calls == ["Adam"] * 7
    with torch.profiler.profile() as prof:
        optimlab.run("booth", "sgd:lr=0.01", start=(0.0, 0.0), steps=3)
    assert sum(e.count for e in prof.key_averages() if e.key == "Optimizer.step#SGD.step") == 3


def test_an_optimizer_whose_step_takes_no_closure_still_runs():
    class Halve(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.5})

        @torch.no_grad()
        def step(self):  # no closure argument at all
            for group in self.param_groups:
                for p in group["params"]:
                    p.mul_(group["lr"])

    t = optimlab.run("booth", Halve, start=(4.0, -8.0), steps=3)
    np.testing.assert_array_equal(t.params[-1], [0.5, -1.0])


def test_run_and_compare_start_from_the_functions_suggested_start():
    start = optimlab.functions.get("beale").starts[0]
    given = optimlab.run("beale", "adam:lr=0.05", start=tuple(start), steps=5)
    np.testing.assert_array_equal(optimlab.run("beale", "adam:lr=0.05", steps=5).params, given.params)
    np.testing.assert_array_equal(optimlab.compare("beale", {"a": "adam:lr=0.05"}, steps=5)["a"].params, given.params)
    with pytest.raises(ValueError, match=r"^start is needed: x\*\*2 \+ y\*\*2 suggests no start point"):
        optimlab.run("x**2 + y**2", "sgd", steps=3)


def test_a_batchs_labels_are_each_runs_own_label():
    traces = run_batch("booth", "momentum:nesterov=true", [1.0, 1.0], 2, hyper={"lr": [0.1, 0.01]})
    assert [t.label for t in traces] == ["momentum(nesterov=True, lr=0.1)", "momentum(nesterov=True, lr=0.01)"]
