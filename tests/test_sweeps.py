"""Sweeps: every configuration of a batched sweep equals the same run done alone;
seeds, result tables, persistence, pictures and bad input."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sweep_rows import row_model

import optimlab
from optimlab.sweeps import SweepResult, expand_grid, linspace, logspace


def valley(x):  # ill-conditioned quadratic ½(x² + 50y²): SGD diverges for lr > 2/50
    return 0.5 * (x[..., 0] ** 2 + 50 * x[..., 1] ** 2)


valley.dim = 2
valley.f_min = 0.0


def _same(a, b, tol=1e-12):
    assert a.stop_reason == b.stop_reason and a.steps == b.steps
    np.testing.assert_allclose(a.params, b.params, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.values, b.values, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.grad_norms, b.grad_norms, rtol=tol, atol=tol)


def test_every_configuration_equals_the_run_alone_including_diverged_ones():
    grid = {"lr": logspace(1e-3, 0.1, 7), "momentum": [0.0, 0.5, 0.9, 0.99]}
    res = optimlab.sweep(valley, "sgd", grid=grid, start=(2.0, 1.0), steps=120)
    assert len(res) == 28 and [c for c in res.configs] == expand_grid(grid)
    assert res.diverged.any() and not res.diverged.all()  # the grid crosses the stability edge
    for cfg, t in zip(res.configs, res.traces):
        alone = optimlab.run(valley, ("sgd", cfg), start=(2.0, 1.0), steps=120)
        _same(t, alone)
        if t.stop_reason == "diverged":
            assert res.final_values[res.traces.index(t)] == math.inf


def test_adam_betas_and_structural_options_match_runs_alone():
    res = optimlab.sweep(valley, ("adam", {"eps": 1e-6}), grid={"lr": [0.01, 0.1], "beta2": [0.9, 0.999],
                                                                  "amsgrad": [False, True]},
                         start=(1.0, -1.0), steps=60)
    assert len(res) == 8
    for cfg, t in zip(res.configs, res.traces):
        alone = optimlab.run(valley, ("adam", {"eps": 1e-6, "lr": cfg["lr"], "betas": (0.9, cfg["beta2"]),
                                               "amsgrad": cfg["amsgrad"]}), start=(1.0, -1.0), steps=60)
        _same(t, alone)
    res = optimlab.sweep(valley, "sgd:momentum=0.9", grid={"lr": [0.01, 0.03], "nesterov": [False, True]},
                         start=(1.0, 1.0), steps=40)
    for cfg, t in zip(res.configs, res.traces):
        _same(t, optimlab.run(valley, ("sgd", {"momentum": 0.9, **cfg}), start=(1.0, 1.0), steps=40))


def test_seeds_perturb_the_start_as_documented():
    res = optimlab.sweep(valley, "sgd", grid={"lr": [0.01, 0.02]}, seeds=[3, 11], start=(2.0, 1.0), steps=30,
                         start_spread=0.25)
    assert [c["seed"] for c in res.configs] == [3, 11, 3, 11]
    for cfg, t in zip(res.configs, res.traces):
        g = torch.Generator().manual_seed(cfg["seed"])
        expect = np.array([2.0, 1.0]) + 0.25 * torch.randn(2, generator=g, dtype=torch.float64).numpy()
        np.testing.assert_array_equal(t.params[0], expect)
        _same(t, optimlab.run(valley, ("sgd", {"lr": cfg["lr"]}), start=expect, steps=30))


def test_noisy_function_seeds_are_noise_streams():
    F = pytest.importorskip("optimlab.functions")
    f = F.get("rosenbrock").with_noise(0.5, seed=0)
    res = optimlab.sweep(f, "adam", grid={"lr": [0.01, 0.05]}, seeds=[2, 5], start=(-1.5, 2.0), steps=50)
    for cfg, t in zip(res.configs, res.traces):
        alone = optimlab.run(F.get("rosenbrock").with_noise(0.5, seed=cfg["seed"]), ("adam", {"lr": cfg["lr"]}),
                             start=(-1.5, 2.0), steps=50)
        _same(t, alone)
        np.testing.assert_array_equal(t.params[0], [-1.5, 2.0])
    # two seeds really give different paths
    assert np.abs(res.traces[0].params[-1] - res.traces[1].params[-1]).max() > 1e-3


def test_noisy_sweep_of_a_closure_method_equals_each_run_alone():
    """NAG evaluates the function twice per step (the runner's and its look-ahead's), so
    each run draws two noise samples per step; rows with one seed draw alike."""
    F = pytest.importorskip("optimlab.functions")
    f = F.get("rosenbrock").with_noise(0.5, seed=3)
    res = optimlab.sweep(f, "nag:momentum=0.9", grid={"lr": [1e-4, 1e-3]}, seeds=[0, 1, 1], start=(-1.0, 1.0),
                         steps=25)
    for cfg, t in zip(res.configs, res.traces):
        alone = optimlab.run(f.with_noise(0.5, cfg["seed"]), ("nag", {"momentum": 0.9, "lr": cfg["lr"]}),
                             start=(-1.0, 1.0), steps=25)
        _same(t, alone)


def test_result_numbers_table_best_and_json_roundtrip(tmp_path):
    res = optimlab.sweep(valley, "sgd", grid={"lr": [0.001, 0.01, 0.03, 0.05], "momentum": [0.0, 0.9]},
                         seeds=2, start=(2.0, 1.0), steps=80)
    vals = [np.asarray(t.values) for t in res.traces]
    fin = np.array([v[-1] if t.stop_reason != "diverged" else np.inf for v, t in zip(vals, res.traces)])
    np.testing.assert_array_equal(res.final_values, fin)
    np.testing.assert_array_equal(res.best_values, [np.min(v) for v in vals])
    stt = res.steps_to_target(1e-6)
    for v, s in zip(vals, stt):
        hits = np.flatnonzero(v <= 1e-6)
        assert s == (hits[0] if hits.size else np.inf)
    # best: lowest median over the two seeds, by hand
    meds = {}
    for c, f in zip(res.configs, fin):
        meds.setdefault((c["lr"], c["momentum"]), []).append(f)
    key = min(meds, key=lambda k: np.median(meds[k]))
    best = res.best()
    assert (best.config["lr"], best.config["momentum"]) == key
    assert best.value == np.median(meds[key]) and len(best.indices) == 2
    rows = res.table(target=1e-6)
    assert rows[3]["lr"] == res.configs[3]["lr"] and rows[3]["final"] == fin[3]
    assert rows[3]["steps_to_target"] == stt[3] and rows[3]["stop_reason"] == res.traces[3].stop_reason
    back = SweepResult.load(res.save(tmp_path / "s.json"))
    assert back.configs == res.configs and back.stop_reasons == res.stop_reasons
    np.testing.assert_array_equal(back.final_values, res.final_values)
    np.testing.assert_array_equal(back.traces[5].params, res.traces[5].params)
    xs, ys, Z = res.values_grid("lr", "momentum")
    assert Z.shape == (2, 4) and Z[1, 2] == np.median(meds[(0.03, 0.9)])
    # by="best": the median over seeds of each run's lowest value (inf when diverged), by hand
    bests = np.array([np.inf if t.stop_reason == "diverged" else np.min(v) for v, t in zip(vals, res.traces)])
    _, _, Zb = res.values_grid("lr", "momentum", by="best")
    for i, lr in enumerate(xs):
        for j, mu in enumerate(ys):
            rows_ij = [n for n, c in enumerate(res.configs) if c["lr"] == lr and c["momentum"] == mu]
            assert Zb[j, i] == np.median(bests[rows_ij])
    assert not np.array_equal(Z, Zb)
    for call in (lambda: res.values_grid("lr", by="bogus"), lambda: res.best(by="bogus"),
                 lambda: res.values(by="last")):
        with pytest.raises(ValueError, match="by must be one of 'final', 'best'"):
            call()


def test_logspace_and_linspace():
    v = logspace(1e-4, 1, 5)
    assert v == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    w = logspace(2e-3, 0.7, 13)
    np.testing.assert_allclose(w, 10 ** np.linspace(math.log10(2e-3), math.log10(0.7), 13), rtol=1e-14)
    assert w[0] == 2e-3 and w[-1] == 0.7 and logspace(0.5, 4, 1) == [0.5]
    assert linspace(0, 1, 3) == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("call, match", [
    (lambda: logspace(0, 1, 5), "lo > 0"),
    (lambda: logspace(1e-3, 1, 0), "n must be an integer >= 1"),
    (lambda: optimlab.sweep(valley, "sgd", grid={"lr": []}, start=(1, 1)), r"grid\['lr'\] is empty"),
    (lambda: optimlab.sweep(valley, "sgd", grid={"lr": [float("nan")]}, start=(1, 1)), "must be finite"),
    (lambda: optimlab.sweep(valley, "sgd", grid={"lr": 0.1}, start=(1, 1)), "list of values"),
    (lambda: optimlab.sweep(valley, "sgd", grid=[0.1], start=(1, 1)), "grid must be a mapping"),
    (lambda: optimlab.sweep(valley, "sgd", grid={"lr": [0.1]}, start=(1, 1), steps=-1), "steps must be"),
    (lambda: optimlab.sweep(valley, "sgd", grid={"lr": [0.1]}, start=(1, 1), seeds=0), "seeds must be"),
    (lambda: optimlab.sweep(valley, "nosuch", grid={"lr": [0.1]}, start=(1, 1)), "unknown optimizer"),
    (lambda: optimlab.sweep(valley, "sgd", grid={"lr": [0.1, -1.0]}, start=(1, 1)), "lr must be >= 0"),
    (lambda: optimlab.sweep(valley, "sgd", grid={"lr": [0.1]}), "start is required"),
    (lambda: optimlab.sweep(valley, "sgd", grid={"lr": [0.1]}, start=(1, 1), batch_size=8),
     "batch_size applies to training problems only"),
    (lambda: optimlab.sweep(_tiny_problem(), "sgd", grid={"lr": [0.1]}, stop="f_tol=1e-3"),
     "stop applies to function problems only"),
    (lambda: optimlab.sweep(_tiny_problem(), "sgd", grid={"lr": [0.1]}, schedule="step:step_size=2"),
     "schedule applies to function problems only"),
    (lambda: optimlab.sweep(_tiny_problem(), "sgd", grid={"lr": [0.1]}, start=(1, 1)),
     "start applies to function problems only"),
])
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# ---------------------------------------------------------------- training problems
def _tiny_problem():
    g = torch.Generator().manual_seed(7)
    X = torch.randn(37, 3, generator=g, dtype=torch.float64)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    Xv = torch.randn(11, 3, generator=g, dtype=torch.float64)
    yv = (Xv[:, 0] + 0.5 * Xv[:, 1] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    return SimpleNamespace(name="tiny", model=model, loss=torch.nn.functional.cross_entropy,
                           train=torch.utils.data.TensorDataset(X, y), val=torch.utils.data.TensorDataset(Xv, yv))


def _train_alone(problem, name, cfg, seed, steps, B):
    """The documented loop, written out: init after manual_seed(seed), one permutation per epoch."""

    model = row_model(problem, seed)
    opt = optimlab.optim.create(model.parameters(), name, **cfg)
    X, Y = problem.train.tensors
    N = len(X)
    nb = -(-N // B)
    gen = torch.Generator().manual_seed(seed)
    losses, evals = [], []
    for k in range(steps):
        e, b = divmod(k, nb)
        if b == 0:
            perm = torch.randperm(N, generator=gen)
        idx = perm[b * B:(b + 1) * B]
        opt.zero_grad()
        loss = problem.loss(model(X[idx]), Y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if b == nb - 1 or k == steps - 1:
            with torch.no_grad():
                evals.append(problem.loss(model(problem.val.tensors[0]), problem.val.tensors[1]).item())
    return np.array(losses), np.array(evals)


def test_training_sweep_rows_equal_training_alone():
    prob = _tiny_problem()
    res = optimlab.sweep(prob, "adam", grid={"lr": [0.01, 0.1], "beta1": [0.8, 0.9]}, seeds=[0, 4], steps=9,
                         batch_size=8, dtype=torch.float64)
    assert len(res) == 8
    for cfg, t in zip(res.configs, res.traces):
        kw = {"lr": cfg["lr"], "betas": (cfg["beta1"], 0.999)}
        losses, evals = _train_alone(prob, "adam", kw, cfg["seed"], 9, 8)
        np.testing.assert_allclose(t.values, losses, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(t.epochs["objective"], evals, rtol=1e-10, atol=1e-12)
    assert len(res.traces[0].epochs["objective"]) == 2  # 37 examples / 8 = 5 batches: epoch end at 5, last at 9
    last = _train_alone(prob, "adam", {"lr": 0.01, "betas": (0.8, 0.999)}, 0, 9, 8)[1][-1]
    assert res.final_values[0] == pytest.approx(last, rel=1e-10)


def test_training_sweep_with_the_training_lab():
    problems = pytest.importorskip("optimlab.problems")
    name = problems.names()[0]
    res = optimlab.sweep(f"problem:{name}", "sgd", grid={"lr": [0.01, 0.1]}, seeds=2, steps=5)
    assert len(res) == 4 and np.isfinite(res.final_values).all()


# ---------------------------------------------------------------- pictures
def test_pictures_show_the_sweep(tmp_path):
    from optimlab.viz.sweeps import plot_best_path, plot_heatmap, plot_sensitivity

    res = optimlab.sweep(valley, "sgd", grid={"lr": logspace(1e-3, 0.1, 6), "momentum": [0.0, 0.9]},
                         start=(2.0, 1.0), steps=15)
    fig = plot_heatmap(res, "lr", "momentum")
    shown = np.ma.filled(fig.axes[0].images[0].get_array(), np.nan)
    fin = res.final_values.reshape(6, 2).T  # rows: momentum; columns: lr
    ok = np.isfinite(fin)
    vmin = fig.axes[0].images[0].norm.vmin
    np.testing.assert_allclose(shown[ok], np.maximum(fin[ok], vmin))
    assert np.isnan(shown[~ok]).all() and (~ok).any()  # diverged cells are blank (hatched)
    fig2 = plot_sensitivity({"sgd": res}, "lr")
    line = fig2.axes[0].lines[0]
    best_per_lr = np.min(res.final_values.reshape(6, 2), axis=1)
    finite = np.isfinite(best_per_lr)
    np.testing.assert_allclose(np.asarray(line.get_ydata())[finite], best_per_lr[finite])
    fig3 = plot_best_path(res)
    assert fig3.axes
    import matplotlib.pyplot as plt

    plt.close("all")


def test_stop_rules_and_schedules_apply_per_run_as_alone():
    from optimlab.stopping import FTol

    sched = (torch.optim.lr_scheduler.StepLR, {"step_size": 20, "gamma": 0.8})
    res = optimlab.sweep(valley, "sgd:momentum=0.5", grid={"lr": [0.002, 0.01, 0.03]}, start=(2.0, 1.0), steps=80,
                         stop=FTol(1e-2), schedule=sched)
    assert "f_tol" in res.stop_reasons and "max_steps" in res.stop_reasons
    for cfg, t in zip(res.configs, res.traces):
        alone = optimlab.run(valley, ("sgd", {"momentum": 0.5, **cfg}), start=(2.0, 1.0), steps=80, stop=FTol(1e-2),
                             schedule=sched)
        _same(t, alone)
        np.testing.assert_allclose(t.lrs, alone.lrs, rtol=1e-15)


def test_training_sweep_on_a_problem_built_around_a_model_instance():
    """from_arrays(model=<instance>) has no model_fn: the sweep reinitializes a copy per seed."""
    from optimlab import problems

    g = torch.Generator().manual_seed(3)
    X = torch.randn(37, 3, generator=g, dtype=torch.float64)
    p = problems.from_arrays(X, 2 * X[:, 0] - X[:, 2], model=torch.nn.Linear(3, 1), val=0.0, test=0.0)
    assert p.model_fn is None
    res = optimlab.sweep(p, "sgd", grid={"lr": [0.05, 0.1]}, seeds=[0, 3], steps=4, batch_size=37,
                         dtype=torch.float64)
    Xt, yt = (t.to(torch.float64) for t in p.train.tensors)
    for cfg, t in zip(res.configs, res.traces):
        lin = torch.nn.Linear(3, 1)
        torch.manual_seed(cfg["seed"])
        lin.reset_parameters()
        lin = lin.double()
        ref = []
        for _ in range(4):  # one batch = the whole set: the order does not matter
            loss = ((lin(Xt) - yt) ** 2).mean()
            ref.append(loss.item())
            gw, gb = torch.autograd.grad(loss, [lin.weight, lin.bias])
            with torch.no_grad():
                lin.weight -= cfg["lr"] * gw
                lin.bias -= cfg["lr"] * gb
        np.testing.assert_allclose(t.values, ref, rtol=1e-12)


def test_training_sweep_epoch_loss_weights_batches_by_size_as_the_trainer():
    """37 examples in batches of 8: the last batch has 5, so the epoch loss is Σ nᵦ·lossᵦ / 37."""

    prob = _tiny_problem()
    res = optimlab.sweep(prob, "sgd", grid={"lr": [0.05, 0.2]}, seeds=[1, 2], steps=10, batch_size=8,
                         dtype=torch.float64)
    X, y = prob.train.tensors
    for cfg, t in zip(res.configs, res.traces):
        trainer = optimlab.Trainer(row_model(prob, cfg["seed"]), loss=prob.loss, optimizer=("sgd", {"lr": cfg["lr"]}))
        hist = trainer.fit(X, y, batch_size=8, epochs=2, seed=cfg["seed"], verbose=0)
        np.testing.assert_allclose(t.values, hist.series["loss"], rtol=1e-10)  # the same batches
        np.testing.assert_allclose(t.epochs["loss"], hist.epochs["loss"], rtol=1e-10, atol=0)
