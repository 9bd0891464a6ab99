"""The training lab: numbers checked against independent NumPy transcriptions and torch."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from torch import nn

import optimlab
import optimlab.problems as P
from optimlab.record import Trace
from optimlab.training import (
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
    StopWhen,
    Trainer,
)


def _linreg(seed=0, **kw):
    return P.get("linreg-synthetic", seed=seed, dtype=torch.float64, **kw)


def _np_params(model):
    return model.weight.detach().numpy().ravel().copy(), float(model.bias.detach())


# ------------------------------------------------------------------ iterations per epoch
@pytest.mark.parametrize("n,batch", [(50, 16), (50, 50), (50, 1), (391 * 2, 128), (97, 10)])
def test_iterations_per_epoch_is_ceil_n_over_b(n, batch):
    X = torch.randn(n, 3, dtype=torch.float64)
    y = torch.randn(n, dtype=torch.float64)
    t = Trainer(nn.Linear(3, 1).double(), loss="mse", optimizer="sgd:lr=0.01")
    seen = []
    h = t.fit((X, y), batch_size=batch, epochs=2, seed=0, verbose=0,
              callbacks=[LambdaCallback(on_batch_end=lambda tr, step, loss: seen.append(step))])
    ipe = -(-n // batch)  # ceil by integer arithmetic
    assert h.iterations_per_epoch == ipe
    assert h.steps == 2 * ipe == len(h.values) == len(seen)
    assert list(h.series["epoch"]) == [0] * ipe + [1] * ipe


def test_lecture_example_50000_examples_batch_128_gives_391():
    # the formula the Trainer uses, on the lecture's numbers, without training 50000 examples:
    # a 0-parameter-cost model on 50000 rows, one epoch, counts its iterations.
    X = torch.zeros(50000, 1)
    y = torch.zeros(50000)
    model = nn.Linear(1, 1)
    h = Trainer(model, loss="mse", optimizer="sgd:lr=0.0").fit((X, y), batch_size=128, epochs=1, verbose=0,
                                                                 shuffle=False)
    assert h.iterations_per_epoch == 391 == h.steps


# ------------------------------------------------------------------ exactness against NumPy
def _np_mse_grad(X, y, w, b):
    r = X @ w + b - y
    return np.mean(r ** 2), 2 * X.T @ r / len(y), 2 * r.mean()


def test_full_batch_sgd_equals_numpy_gradient_descent():
    p = _linreg(seed=3, d=4, condition=10.0)
    X, Y = (t.numpy() for t in p.train.tensors)
    y = Y.ravel()
    w, b = _np_params(p.model)
    lr, steps = 0.05, 25
    ref_losses = []
    for _ in range(steps):
        f, gw, gb = _np_mse_grad(X, y, w, b)
        ref_losses.append(f)
        w, b = w - lr * gw, b - lr * gb
    h = Trainer.for_problem(p, ("sgd", {"lr": lr})).fit(p.train, batch_size=len(X), epochs=steps, seed=0, verbose=0)
    assert h.iterations_per_epoch == 1 and h.steps == steps
    np.testing.assert_allclose(h.values, ref_losses, rtol=1e-12, atol=0)
    np.testing.assert_allclose(p.model.weight.detach().numpy().ravel(), w, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(float(p.model.bias.detach()), b, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(h.lrs, lr)


def test_full_batch_gd_converges_to_the_known_optimum():
    p = _linreg(seed=1, d=3, condition=5.0, noise=0.3)
    # lr = 1 / L with L = 2·condition the largest Hessian eigenvalue of the mean squared error
    h = Trainer.for_problem(p, ("gd", {"lr": 1 / (2 * 5.0)})).fit(p.train, batch_size=len(p.train), epochs=300,
                                                     shuffle=False, verbose=0)
    w_star = np.array(p.info["optimum"])
    got = np.r_[p.model.weight.detach().numpy().ravel(), p.model.bias.detach().numpy()]
    np.testing.assert_allclose(got, w_star, atol=1e-9)
    assert h.values[-1] == pytest.approx(p.info["f_star"], rel=1e-9)
    # L-BFGS gets a closure (it evaluates the loss itself): 4 full-batch steps of 20 inner iterations
    q = _linreg(seed=1, d=3, condition=5.0, noise=0.3)
    lbfgs = (torch.optim.LBFGS, {"max_iter": 20, "tolerance_grad": 1e-14, "tolerance_change": 0.0})
    Trainer.for_problem(q, lbfgs).fit(q.train, batch_size=len(q.train), epochs=4, verbose=0)
    got = np.r_[q.model.weight.detach().numpy().ravel(), q.model.bias.detach().numpy()]
    np.testing.assert_allclose(got, w_star, atol=1e-7)


def test_lectures_nag_takes_the_gradient_at_the_look_ahead_point():
    # lecture 000: ν_t = γν_{t−1} + η∇J(θ_{t−1} − γν_{t−1}); θ_t = θ_{t−1} − ν_t, full batch
    p = _linreg(seed=6, d=3, condition=20.0)
    X, Y = (t.numpy() for t in p.train.tensors)
    y = Y.ravel()
    w, b = _np_params(p.model)
    vw, vb = np.zeros_like(w), 0.0
    lr, gamma, steps = 0.02, 0.9, 30
    losses = []
    for _ in range(steps):
        losses.append(_np_mse_grad(X, y, w, b)[0])
        _, gw, gb = _np_mse_grad(X, y, w - gamma * vw, b - gamma * vb)
        vw, vb = gamma * vw + lr * gw, gamma * vb + lr * gb
        w, b = w - vw, b - vb
    h = Trainer.for_problem(p, ("nag", {"lr": lr, "momentum": gamma})).fit(p.train, batch_size=len(X), epochs=steps,
                                                               verbose=0)
    np.testing.assert_allclose(h.values, losses, rtol=1e-12)
    np.testing.assert_allclose(p.model.weight.detach().numpy().ravel(), w, rtol=1e-11)
    np.testing.assert_allclose(float(p.model.bias.detach()), b, rtol=1e-11)


def test_minibatch_sgd_in_order_equals_numpy_loop_with_partial_last_batch():
    p = _linreg(seed=2, d=3, condition=4.0)
    X, Y = (t.numpy() for t in p.train.tensors)
    y = Y.ravel()
    w, b = _np_params(p.model)
    lr, B, epochs = 0.02, 7, 3  # 300 rows: 42 full batches and one of 6
    losses = []
    for _ in range(epochs):
        for s in range(0, len(y), B):
            f, gw, gb = _np_mse_grad(X[s:s + B], y[s:s + B], w, b)
            losses.append(f)
            w, b = w - lr * gw, b - lr * gb
    h = Trainer.for_problem(p, f"sgd:lr={lr}").fit(p.train, batch_size=B, epochs=epochs, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.values, losses, rtol=1e-12)
    np.testing.assert_allclose(p.model.weight.detach().numpy().ravel(), w, rtol=1e-11)
    # the epoch loss is the example-weighted mean of its batch losses (Keras' number)
    sizes = np.array([min(B, len(y) - s) for s in range(0, len(y), B)])
    first = np.asarray(losses[:len(sizes)])
    assert h.epochs["loss"][0] == pytest.approx(float((first * sizes).sum() / sizes.sum()), rel=1e-12)


def test_shuffled_epoch_visits_every_example_once_in_the_generators_order():
    # record which rows each batch holds through a model that remembers its inputs
    n, B = 23, 5
    X = torch.arange(n, dtype=torch.float64).reshape(n, 1)
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1).double()

        def forward(self, x):
            if self.training:
                seen.append(x.ravel().long().tolist())
            return self.lin(x)

    Trainer(Spy(), loss="mse", optimizer="sgd:lr=0.0").fit((X, X.ravel()), batch_size=B, epochs=2, seed=7,
                                                           verbose=0)
    g = torch.Generator().manual_seed(7)
    for e in range(2):
        perm = torch.randperm(n, generator=g).tolist()
        assert sum(seen[e * 5:(e + 1) * 5], []) == perm
    assert [len(s) for s in seen[:5]] == [5, 5, 5, 5, 3]


def test_any_dataset_numpy_arrays_and_tensors_train_identically():
    rng = np.random.default_rng(0)
    Xn, yn = rng.normal(size=(24, 3)), rng.integers(0, 3, 24)

    class Pairs(torch.utils.data.Dataset):  # not a TensorDataset: items are stacked once
        def __len__(self):
            return 24

        def __getitem__(self, i):
            return torch.from_numpy(Xn[i]), int(yn[i])

    finals = []
    forms = [(Pairs(), None), ((Xn, yn), None), (Xn, yn), ((torch.from_numpy(Xn), torch.from_numpy(yn)), None)]
    for data, y in forms:
        torch.manual_seed(0)
        m = nn.Linear(3, 3).double()
        Trainer(m, loss="cross_entropy", optimizer="sgd:lr=0.1", metrics=["accuracy"]).fit(
            data, y, batch_size=5, epochs=2, seed=1, verbose=0)
        finals.append(torch.cat([q.detach().ravel() for q in m.parameters()]))
    for f in finals[1:]:
        assert torch.equal(f, finals[0])


def test_accuracy_metric_and_evaluate_against_hand_count():
    torch.manual_seed(0)
    X = torch.randn(40, 5)
    y = torch.randint(0, 3, (40,))
    model = nn.Linear(5, 3)
    t = Trainer(model, loss="cross_entropy", optimizer="sgd:lr=0.0", metrics=["accuracy"])
    res = t.evaluate((X, y), batch_size=7)
    with torch.no_grad():
        out = model(X)
    assert res["accuracy"] == pytest.approx(float((out.argmax(1) == y).float().mean()), abs=1e-12)
    assert res["loss"] == pytest.approx(float(nn.functional.cross_entropy(out, y)), rel=1e-6)
    np.testing.assert_array_equal(t.predict(X).numpy(), out.numpy())


# ------------------------------------------------------------------ the lecture's target
def test_digits_mlp_with_adam_reaches_095_validation_accuracy_within_30_epochs():
    p = P.get("digits-mlp", seed=0)
    h = Trainer.for_problem(p, "adam").fit(p.train, batch_size=32, epochs=30, validation_data=p.val, seed=0, verbose=0)
    assert h.stop_reason == "epochs_done" and h.n_epochs == 30
    assert max(h.history["val_accuracy"]) >= 0.95
    # the logged validation accuracy is what an independent count on the final model gives
    X, y = p.val.tensors
    with torch.no_grad():
        acc = float((p.model(X).argmax(1) == y).double().mean())
    assert h.history["val_accuracy"][-1] == pytest.approx(acc, abs=1e-12)


# ------------------------------------------------------------------ callbacks
def _overfitting_setup(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(40, 10, generator=g, dtype=torch.float64)
    y = X[:, 0] + 0.8 * torch.randn(40, generator=g, dtype=torch.float64)
    Xv = torch.randn(200, 10, generator=g, dtype=torch.float64)
    yv = Xv[:, 0] + 0.8 * torch.randn(200, generator=g, dtype=torch.float64)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 128), nn.Tanh(), nn.Linear(128, 1)).double()
    return model, (X, y), (Xv, yv)


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    model, train, val = _overfitting_setup()
    snaps = []
    snap = LambdaCallback(on_epoch_end=lambda tr, e, logs: snaps.append(
        {k: v.clone() for k, v in tr.model.state_dict().items()}))
    es = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    h = Trainer(model, loss="mse", optimizer="adam:lr=0.01").fit(
        train, batch_size=8, epochs=200, validation_data=val, seed=0, verbose=0, callbacks=[snap, es])
    assert h.stop_reason == "early_stopping"
    vl = np.asarray(h.history["val_loss"])
    best = int(np.argmin(vl))
    assert h.meta["best_epoch"] == best == h.meta["restored_epoch"]
    assert h.n_epochs == best + 1 + 3  # three epochs without improvement, then stop
    assert vl[best + 1:].min() >= vl[best]
    for k, v in model.state_dict().items():
        assert torch.equal(v, snaps[best][k])
    # and the restored model really has the best validation loss
    Xv, yv = val
    with torch.no_grad():
        assert float(((model(Xv).ravel() - yv) ** 2).mean()) == pytest.approx(vl[best], rel=1e-12)


def test_early_stopping_min_delta_and_mode_follow_keras():
    class T:  # the part of the Trainer a callback uses
        def __init__(self):
            self.reason = None

        def request_stop(self, r):
            self.reason = r

    es = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.01)
    assert es.mode == "max"
    t = T()
    # improvements must exceed best + 0.01: 0.5 → 0.505 is none; 0.52 is one
    for e, v in enumerate([0.5, 0.505, 0.52, 0.525, 0.529]):
        es.on_epoch_end(t, e, {"val_accuracy": v})
        if e < 4:
            assert t.reason is None, e
    assert es.best == 0.52 and es.best_epoch == 2 and t.reason == "early_stopping"


def test_reduce_lr_on_plateau_matches_a_hand_schedule():
    model = nn.Linear(1, 1)
    t = Trainer(model, optimizer="sgd:lr=1.0")
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_delta=0.0, cooldown=1, min_lr=0.2)
    losses = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    lrs = []
    for e, v in enumerate(losses):
        cb.on_epoch_end(t, e, {"val_loss": v})
        lrs.append(t.optimizer.param_groups[0]["lr"])
    # hand trace (Keras' rules: a cooldown epoch resets wait, then counts it if the counter ran out):
    # e1 wait 1; e2 wait 2 → lr .5, cooldown 1; e3 cooldown ends, wait 1; e4 wait 2 → .25; e5 wait 1;
    # e6 improves (0.5); e7 wait 1; e8 wait 2 → max(.125, min_lr .2) = .2; e9, e10 stay at min_lr
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2]


def test_schedule_per_epoch_and_per_step_record_the_lr_of_each_update():
    X, y = torch.randn(20, 2), torch.randn(20)
    sched = (torch.optim.lr_scheduler.StepLR, {"step_size": 1, "gamma": 0.5})
    h = Trainer(nn.Linear(2, 1), optimizer="sgd:lr=0.1", schedule=sched).fit((X, y), batch_size=10, epochs=3,
                                                                             verbose=0)
    np.testing.assert_allclose(h.lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    np.testing.assert_allclose(h.epochs["lr"], [0.1, 0.05, 0.025])
    h = Trainer(nn.Linear(2, 1), optimizer="sgd:lr=0.1", schedule=sched, schedule_per="step").fit(
        (X, y), batch_size=10, epochs=2, verbose=0)
    np.testing.assert_allclose(h.lrs, 0.1 * 0.5 ** np.arange(4))


def test_full_batch_sgd_equals_the_function_labs_gradient_descent():
    p = _linreg(seed=5, d=3, condition=30.0)
    X, Y = p.train.tensors
    y = Y.ravel()
    d = X.shape[1]
    start = torch.cat([p.model.weight.detach().ravel(), p.model.bias.detach()]).tolist()

    def mse(theta):  # the training loss as a function of θ = (w, b), for any batch of points (..., d + 1)
        return ((theta[..., :d] @ X.T + theta[..., d:] - y) ** 2).mean(-1)

    trace = optimlab.run(mse, "gd:lr=0.03", start, steps=40, dtype=torch.float64)
    h = Trainer.for_problem(p, "gd:lr=0.03").fit(p.train, batch_size=len(X), epochs=40, seed=0, verbose=0)
    assert trace.steps == h.steps == 40
    np.testing.assert_allclose(h.values, trace.values[:-1], rtol=1e-12)
    got = np.r_[p.model.weight.detach().numpy().ravel(), p.model.bias.detach().numpy()]
    np.testing.assert_allclose(got, trace.params[-1], rtol=1e-11, atol=1e-14)


def test_stop_when_runs_the_function_labs_rules_per_epoch_and_per_step():
    from optimlab.stopping import GradTol, MaxSteps, RelFTol

    p = _linreg(seed=0, d=3, condition=3.0, noise=0.0)
    h = Trainer.for_problem(p, "gd:lr=0.1").fit(p.train, batch_size=len(p.train), epochs=500, verbose=0,
                                   callbacks=[StopWhen(RelFTol(1e-3))])
    loss = np.asarray(h.history["loss"])
    k = int(np.argmax(loss <= 1e-3 * loss[0]))  # first epoch whose loss is below ε·(first epoch's)
    assert h.stop_reason == "rel_f_tol" and h.n_epochs == k + 1 and k > 0
    h = Trainer.for_problem(p, "gd:lr=0.1").fit(p.train, batch_size=100, epochs=50, verbose=0,
                                   callbacks=[StopWhen(MaxSteps(7), per="step")])
    assert h.stop_reason == "max_steps" and h.steps == 7 and h.n_epochs == 2  # epoch 3 cut short: not logged
    p = _linreg(seed=0, d=3, condition=3.0, noise=0.0)
    norms = []
    grad_spy = LambdaCallback(on_batch_end=lambda tr, s, loss: norms.append(float(torch.linalg.vector_norm(
        torch.cat([q.grad.ravel() for q in tr.model.parameters()])))))
    h = Trainer.for_problem(p, "gd:lr=0.1").fit(p.train, batch_size=len(p.train), epochs=500, verbose=0,
                                   callbacks=[grad_spy, StopWhen(GradTol(1e-2), per="step")])
    k = int(np.argmax(np.asarray(norms) <= 1e-2 * norms[0]))
    assert h.stop_reason == "grad_tol" and h.steps == k + 1
    with pytest.raises(ValueError, match="per='step'"):
        StopWhen(GradTol(1e-3))


def test_optimlab_schedule_per_step_piecewise_constant():
    from optimlab.schedules import PiecewiseConstant

    X, y = torch.randn(20, 2), torch.randn(20)
    sched = (PiecewiseConstant, {"boundaries": [2, 4], "values": [0.3, 0.2, 0.1]})
    h = Trainer(nn.Linear(2, 1), optimizer="sgd:lr=0.3", schedule=sched, schedule_per="step").fit(
        (X, y), batch_size=5, epochs=2, verbose=0)
    # value i for boundaries[i-1] < t <= boundaries[i], t = updates done before this one
    np.testing.assert_allclose(h.lrs, [0.3, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0.1])


def test_validation_split_holds_out_the_last_fraction_before_shuffling():
    X = torch.arange(20, dtype=torch.float64).reshape(20, 1)
    y = X.ravel() * 2
    model = nn.Linear(1, 1).double()
    t = Trainer(model, optimizer="sgd:lr=0.0")
    h = t.fit((X, y), batch_size=4, epochs=1, validation_split=0.25, verbose=0)
    assert h.config["n_train"] == 15 and h.config["n_val"] == 5 and h.iterations_per_epoch == 4
    assert h.history["val_loss"][0] == pytest.approx(t.evaluate((X[15:], y[15:]))["loss"], rel=1e-15)


def test_model_checkpoint_save_best_only(tmp_path):
    model, train, val = _overfitting_setup()
    ck = ModelCheckpoint(tmp_path / "best-{epoch}.pt", save_best_only=True, monitor="val_loss")
    h = Trainer(model, loss="mse", optimizer="adam:lr=0.01").fit(train, batch_size=8, epochs=15,
                                                                 validation_data=val, seed=0, verbose=0,
                                                                 callbacks=[ck])
    vl = h.history["val_loss"]
    improved = [e + 1 for e in range(len(vl)) if vl[e] < min(vl[:e], default=np.inf)]
    assert [int(p.split("-")[-1][:-3]) for p in ck.saved] == improved
    t = Trainer(_overfitting_setup()[0], loss="mse", optimizer="adam:lr=0.01").load_checkpoint(ck.saved[-1])
    assert t.epoch == improved[-1] and t.history.n_epochs == improved[-1]


def test_stop_when_adapts_a_plain_rule_per_epoch():
    X, y = torch.randn(30, 2), torch.randn(30)
    h = Trainer(nn.Linear(2, 1), optimizer="sgd:lr=0.0").fit(
        (X, y), batch_size=10, epochs=10, verbose=0,
        callbacks=[StopWhen(lambda v: True, monitor="loss", reason="custom")])
    assert h.stop_reason == "custom" and h.n_epochs == 1


# ------------------------------------------------------------------ checkpoints
def _dropout_problem():
    p = P.get("wine-mlp", seed=1, dtype=torch.float64)
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3)).double()
    return p, model


def _trainer(model):
    return Trainer(model, loss="cross_entropy", optimizer="adam:lr=0.01", metrics=["accuracy"],
                   schedule=(torch.optim.lr_scheduler.StepLR, {"step_size": 2, "gamma": 0.7}))


def test_resume_from_a_checkpoint_equals_the_uninterrupted_run_bit_for_bit(tmp_path):
    p, model = _dropout_problem()
    ck = ModelCheckpoint(tmp_path / "ck-{epoch}.pt")
    es = EarlyStopping(monitor="val_loss", patience=50)
    full = _trainer(model).fit(p.train, batch_size=16, epochs=6, validation_data=p.val, seed=3, verbose=0,
                               callbacks=[es, ck])
    assert sorted(x.name for x in tmp_path.iterdir()) == [f"ck-{i}.pt" for i in range(1, 7)]

    torch.manual_seed(999)  # a fresh process would have another global RNG state (dropout masks)
    _, other = _dropout_problem()
    with torch.no_grad():
        for q in other.parameters():
            q.add_(1.0)  # and other weights: the checkpoint must overwrite everything
    es2 = EarlyStopping(monitor="val_loss", patience=50)
    resumed = _trainer(other).fit(p.train, batch_size=16, epochs=6, validation_data=p.val, verbose=0,
                                  callbacks=[es2, ModelCheckpoint(tmp_path / "r-{epoch}.pt")],
                                  resume_from=tmp_path / "ck-3.pt")
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k
    for key in ("loss", "lr", "epoch"):
        np.testing.assert_array_equal(resumed.series[key], full.series[key])
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        np.testing.assert_array_equal(resumed.epochs[key], full.epochs[key])
    assert resumed.steps == full.steps and resumed.stop_reason == full.stop_reason == "epochs_done"
    assert (es2.best, es2.best_epoch, es2.wait) == (es.best, es.best_epoch, es.wait)


def test_resume_refuses_other_settings(tmp_path):
    p, model = _dropout_problem()
    t = _trainer(model)
    t.fit(p.train, batch_size=16, epochs=1, verbose=0, seed=0)
    t.save_checkpoint(tmp_path / "c.pt")
    with pytest.raises(ValueError, match="batch_size"):
        _trainer(model).fit(p.train, batch_size=8, epochs=3, verbose=0, resume_from=tmp_path / "c.pt")
    with pytest.raises(ValueError, match="epochs"):
        _trainer(model).fit(p.train, batch_size=16, epochs=1, verbose=0, resume_from=tmp_path / "c.pt")
    with pytest.raises(ValueError, match="does not exist"):
        _trainer(model).fit(p.train, batch_size=16, epochs=3, verbose=0, resume_from=tmp_path / "nope.pt")


# ------------------------------------------------------------------ divergence
@pytest.mark.parametrize("opt", ["sgd:lr=10.0", (torch.optim.SGD, {"lr": 10.0})])
def test_a_diverging_run_stops_with_reason_diverged_and_keeps_its_history(opt):
    p = _linreg(seed=0, d=5, condition=100.0)
    h = Trainer.for_problem(p, opt).fit(p.train, batch_size=50, epochs=100, validation_data=p.val, verbose=0, seed=0)
    assert h.stop_reason == "diverged"
    assert 0 < h.steps < 100 * h.iterations_per_epoch
    assert len(h.values) == h.steps and np.isfinite(h.values).all()
    assert h.values[-1] > 1e6 * h.values[0]  # it really blew up before stopping
    assert h.n_epochs == h.steps // h.iterations_per_epoch
    assert "diverged_at" in h.meta


def test_ctrl_c_returns_the_history_so_far():
    X, y = torch.randn(20, 2), torch.randn(20)

    def interrupt(trainer, step, loss):
        if step == 7:  # in the second epoch (5 iterations each)
            raise KeyboardInterrupt

    h = Trainer(nn.Linear(2, 1), optimizer="sgd:lr=0.1").fit(
        (X, y), batch_size=4, epochs=10, verbose=0, callbacks=[LambdaCallback(on_batch_end=interrupt)])
    assert h.stop_reason == "interrupted" and h.steps == 7 and len(h.values) == 7 and h.n_epochs == 1


# ------------------------------------------------------------------ bad input
@pytest.fixture
def small():
    torch.manual_seed(0)
    return torch.randn(10, 3), torch.randint(0, 2, (10,))


def test_bad_inputs_raise_clear_errors_naming_the_argument(small):
    X, y = small
    t = Trainer(nn.Linear(3, 2), loss="cross_entropy", metrics=["accuracy"])
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, N\] with N = 10.*got 11"):
        t.fit((X, y), batch_size=11, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        t.fit((X, y), batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="10 rows but targets have 9"):
        t.fit((X, y[:9]), verbose=0)
    Xn = X.clone()
    Xn[4, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf.*row 4"):
        t.fit((Xn, y), verbose=0)
    with pytest.raises(ValueError, match="empty"):
        t.fit((X[:0], y[:0]), verbose=0)
    with pytest.raises(ValueError, match="empty"):
        t.fit(torch.utils.data.TensorDataset(X[:0], y[:0]), verbose=0)
    with pytest.raises(ValueError, match=r"model cannot take inputs of shape \(4,\)"):
        t.fit((torch.randn(10, 4), y), verbose=0)
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 2\).*found 5"):
        t.fit((X, torch.full((10,), 5)), verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        t.fit((X, y), validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        t.fit((X, y), epochs=0, verbose=0)
    with pytest.raises(ValueError, match="unknown loss 'hinge'.*mse"):
        Trainer(nn.Linear(3, 2), loss="hinge")
    with pytest.raises(ValueError, match="unknown metric 'f1'.*accuracy"):
        Trainer(nn.Linear(3, 2), loss="cross_entropy", metrics=["f1"])
    with pytest.raises(ValueError, match="accuracy.*classification"):
        Trainer(nn.Linear(3, 1), loss="mse", metrics=["accuracy"])
    with pytest.raises(ValueError, match="unknown optimizer"):
        Trainer(nn.Linear(3, 1), optimizer="adamm")
    with pytest.raises(ValueError, match=r"targets of shape \(10, 3\).*\(1,\)"):
        Trainer(nn.Linear(3, 1), loss="mse").fit((X, torch.randn(10, 3)), verbose=0)


def test_verbose_0_is_silent_and_1_shows_progress(capsys, small):
    X, y = small
    Trainer(nn.Linear(3, 2), loss="cross_entropy").fit((X, y), batch_size=5, epochs=2, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    Trainer(nn.Linear(3, 2), loss="cross_entropy").fit((X, y), batch_size=5, epochs=2, verbose=2)
    assert "epoch 2" in capsys.readouterr().err
    h = Trainer(nn.Linear(3, 2), loss="cross_entropy").fit((X, y), batch_size=5, epochs=2, verbose=1)
    assert "epoch" in capsys.readouterr().err and h.n_epochs == 2


# ------------------------------------------------------------------ the record
def test_history_is_a_trace_with_keras_dict_and_round_trips(tmp_path):
    p = P.get("iris-softmax", seed=0)
    h = Trainer.for_problem(p, "adam:lr=0.05").fit(p.train, batch_size=16, epochs=4, validation_data=p.val, seed=1,
                                                   verbose=0)
    assert isinstance(h, Trace) and isinstance(h, optimlab.History) and h.kind == "history"
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert all(len(v) == 4 for v in h.history.values()) and h.epoch == [0, 1, 2, 3]
    assert h.values is h.series["loss"] and len(h.times) == h.steps == 4 * h.iterations_per_epoch
    assert np.all(np.diff(h.times) >= 0) and np.all(h.epoch_times > 0)
    for path in (tmp_path / "h.npz", tmp_path / "h.json"):
        h.save(path)
        g = Trace.load(path)
        assert type(g) is History and g.iterations_per_epoch == h.iterations_per_epoch
        np.testing.assert_array_equal(g.values, h.values)
        assert g.history == h.history and g.config["optimizer"] == "adam"
    from optimlab.viz import plot_curves

    plot_curves({"a": h}, "val_accuracy", per="epoch")
    plot_curves([h], per="step")
    from optimlab.viz.training import plot_history

    fig = plot_history(h)
    assert [ax.get_title() for ax in fig.axes] == ["adam: loss", "adam: accuracy"]
    for ax, key in zip(fig.axes, ["loss", "accuracy"]):
        train, val = ax.get_lines()
        assert train.get_label() == "training" and val.get_label() == "validation"
        np.testing.assert_array_equal(val.get_ydata(), h.epochs["val_" + key])
    i, v = h.best("val_loss")
    assert v == min(h.history["val_loss"]) and i == int(np.argmin(h.history["val_loss"]))
    assert h.epochs_to("val_accuracy", 0.0) == 1 and h.epochs_to("val_accuracy", 2.0) is None


def test_optimizer_forms_are_equivalent():
    X, y = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
    finals = []
    for form in ["momentum:lr=0.1,momentum=0.5", ("sgd", {"lr": 0.1, "momentum": 0.5}),
                 (optimlab.optim.SGD, {"lr": 0.1, "momentum": 0.5}),
                 lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5)]:
        torch.manual_seed(0)
        m = nn.Linear(2, 1).double()
        Trainer(m, optimizer=form).fit((X, y), batch_size=4, epochs=2, seed=0, verbose=0)
        finals.append(torch.cat([q.detach().ravel() for q in m.parameters()]))
    for f in finals[1:]:
        torch.testing.assert_close(f, finals[0], rtol=1e-14, atol=1e-15)
    torch.manual_seed(0)
    m = nn.Linear(2, 1).double()
    with pytest.raises(ValueError, match="other parameters"):
        Trainer(m, optimizer=torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1))


# ------------------------------------------------------------------ regressions found in review
@pytest.mark.parametrize("loss,metric", [("cross_entropy", "mae"), ("cross_entropy", "mse"),
                                         ("binary_crossentropy", "mae"), ("nll", "mean_squared_error")])
def test_regression_metric_with_a_classification_loss_is_refused_at_construction(loss, metric):
    # before: accepted, then a RuntimeError about tensor sizes at the end of epoch 1
    with pytest.raises(ValueError, match=rf"metric '{metric}' needs a regression loss.*'{loss}'.*accuracy"):
        Trainer(nn.Linear(3, 3), loss=loss, metrics=[metric])
    with pytest.raises(ValueError, match=r"'acc'.*classification loss.*'mse'.*mae"):
        Trainer(nn.Linear(3, 1), loss="mse", metrics=["acc"])
    Trainer(nn.Linear(3, 3), loss=loss, metrics=["accuracy", lambda out, y: out.mean()])  # callables fit any loss


def _fit_overfitting(callbacks, epochs=10, **kw):
    model, train, val = _overfitting_setup()
    return Trainer(model, loss="mse", optimizer="adam:lr=0.01").fit(
        train, batch_size=8, epochs=epochs, validation_data=val, seed=0, verbose=0, callbacks=callbacks, **kw)


def test_plateau_and_checkpoint_start_afresh_in_a_new_fit(tmp_path):
    # before: best/wait/cooldown of the first fit carried into the second, which then cut the lr
    # at once and saved no "best" checkpoint (nothing beat the first fit's best)
    plateau = ReduceLROnPlateau(patience=1, factor=0.5, min_delta=0.0, cooldown=1)
    ck = ModelCheckpoint(tmp_path / "a-{epoch}.pt", save_best_only=True)
    _fit_overfitting([plateau, ck])
    n = len(ck.saved)
    again = _fit_overfitting([plateau, ck])
    new_plateau = ReduceLROnPlateau(patience=1, factor=0.5, min_delta=0.0, cooldown=1)
    new_ck = ModelCheckpoint(tmp_path / "b-{epoch}.pt", save_best_only=True)
    fresh = _fit_overfitting([new_plateau, new_ck])
    assert again.history["lr"] == fresh.history["lr"]
    assert [p.split("-")[-1] for p in ck.saved[n:]] == [p.split("-")[-1] for p in new_ck.saved]
    assert (plateau.best, plateau.wait, plateau.cooldown_counter, ck.best) == \
        (new_plateau.best, new_plateau.wait, new_plateau.cooldown_counter, new_ck.best)


def test_plateau_and_checkpoint_keep_their_state_when_resumed(tmp_path):
    plateau = ReduceLROnPlateau(patience=2, factor=0.5, min_delta=0.0)
    best = ModelCheckpoint(tmp_path / "best.pt", save_best_only=True)
    full = _fit_overfitting([plateau, best, ModelCheckpoint(tmp_path / "ck-{epoch}.pt")])
    plateau2 = ReduceLROnPlateau(patience=2, factor=0.5, min_delta=0.0)
    best2 = ModelCheckpoint(tmp_path / "best2.pt", save_best_only=True)
    resumed = _fit_overfitting([plateau2, best2, ModelCheckpoint(tmp_path / "r-{epoch}.pt")],
                               resume_from=tmp_path / "ck-6.pt")
    np.testing.assert_array_equal(resumed.epochs["lr"], full.epochs["lr"])
    assert (plateau2.best, plateau2.wait, plateau2.cooldown_counter, best2.best) == \
        (plateau.best, plateau.wait, plateau.cooldown_counter, best.best)


def test_a_file_that_is_not_a_checkpoint_gives_a_clear_error(tmp_path):
    # before: KeyError: 101 from torch.load on a text file, KeyError 'fit_config' on a foreign dict
    t = Trainer(nn.Linear(3, 1))
    X, y = torch.randn(10, 3), torch.randn(10)
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "empty.pt").write_bytes(b"")
    torch.save([1, 2], tmp_path / "list.pt")
    torch.save({"format": "optimlab-checkpoint-1", "epoch": 1}, tmp_path / "partial.pt")
    for name, why in [("notes.txt", "torch.load failed"), ("empty.pt", "torch.load failed"),
                      ("list.pt", "it holds a list"), ("partial.pt", "it lacks step, model")]:
        path = tmp_path / name
        message = re.escape(f"'{path}' is not an optimlab checkpoint: {why}")
        with pytest.raises(ValueError, match=message):
            t.load_checkpoint(path)
        with pytest.raises(ValueError, match=message):
            t.fit((X, y), batch_size=5, epochs=2, verbose=0, resume_from=path)
    with pytest.raises(ValueError, match="path: checkpoint .* does not exist"):
        t.load_checkpoint(tmp_path / "nope.pt")
    assert t.epoch == 0 and t.history is None  # nothing was changed


@pytest.mark.parametrize("fused", [False, True])
def test_a_crafted_checkpoint_is_refused_before_anything_loads_for_any_optimizer(tmp_path, fused):
    """Issue 8 item 10 through the Trainer: a checkpoint that passes weights_only=True but
    holds optimizer state of the wrong size is refused with the entry named, whatever the
    optimizer (here torch's own Adam, whose fused kernel trusts the sizes and would write
    out of bounds), and neither the model nor the optimizer changes."""
    X, y = torch.randn(16, 4, generator=torch.Generator().manual_seed(0)), torch.randn(16, 1)

    def trainer() -> Trainer:
        model = nn.Linear(4, 1)
        return Trainer(model, loss="mse", optimizer=torch.optim.Adam(model.parameters(), lr=0.01, fused=fused))

    t = trainer()
    t.fit((X, y), batch_size=8, epochs=1, verbose=0)
    t.save_checkpoint(tmp_path / "c.pt")
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    state["optimizer"]["state"][0]["exp_avg"] = torch.zeros(1)  # weight (1, 4): state for 1 element
    del state["checksum"]  # crafted, not damaged: a file without a checksum, as checkpoints before them
    torch.save(state, tmp_path / "c.pt")
    t2 = trainer()
    before = [p.detach().clone() for p in t2.model.parameters()]
    for resume in (lambda: t2.fit((X, y), batch_size=8, epochs=2, verbose=0, resume_from=tmp_path / "c.pt"),
                   lambda: t2.load_checkpoint(tmp_path / "c.pt")):
        with pytest.raises(RuntimeError, match=re.escape("Adam.load_state_dict: state[0]['exp_avg'] (parameter 0 "
                                                         "of shape (1, 4)): the size of the state tensor (1,) must "
                                                         "match the size of the parameter (1, 4)")):
            resume()
        assert all(torch.equal(a, b) for a, b in zip(t2.model.parameters(), before))
        assert not t2.optimizer.state and t2.epoch == 0


def test_save_checkpoint_saves_the_callbacks_it_is_given(tmp_path):
    # before: the callbacks argument was ignored and the fit's callbacks (here none) were saved
    model, train, val = _overfitting_setup()
    t = Trainer(model, loss="mse", optimizer="adam:lr=0.01")
    t.fit(train, batch_size=8, epochs=2, validation_data=val, seed=0, verbose=0)
    es = EarlyStopping(patience=5)
    es.best, es.best_epoch, es.wait = 0.75, 1, 3
    plateau = ReduceLROnPlateau(patience=4)
    plateau.best, plateau.wait, plateau.cooldown_counter = 0.5, 2, 1
    t.save_checkpoint(tmp_path / "c.pt", callbacks=[es, plateau])
    es2, plateau2 = EarlyStopping(patience=5), ReduceLROnPlateau(patience=4)
    Trainer(_overfitting_setup()[0], loss="mse", optimizer="adam:lr=0.01").fit(
        train, batch_size=8, epochs=3, validation_data=val, verbose=0, callbacks=[es2, plateau2],
        resume_from=tmp_path / "c.pt")
    # epoch 3 (index 2) ran after the restore: 3 + 1 epochs without improvement below 0.75
    assert (es2.best_epoch, es2.wait) == (1, 4) and es2.best == 0.75
    # Keras' rule: the cooldown epoch ends the cooldown and resets wait, then counts the epoch (no improvement)
    assert (plateau2.best, plateau2.wait, plateau2.cooldown_counter) == (0.5, 1, 0)
    # without the argument the fit's callbacks are saved
    t.fit(train, batch_size=8, epochs=1, validation_data=val, seed=0, verbose=0, callbacks=[es])
    t.save_checkpoint(tmp_path / "d.pt")
    saved = torch.load(tmp_path / "d.pt", weights_only=True)["callbacks"]
    assert len(saved) == 1 and saved[0]["best"] == es.best
    with pytest.raises(TypeError, match="callbacks must be Callback objects"):
        t.save_checkpoint(tmp_path / "e.pt", callbacks=[print])


def test_history_files_hold_each_series_once_and_old_files_with_aliases_still_load(tmp_path):
    # before: values/lrs/times were written beside loss/lr/time, doubling the per-iteration data
    X, y = torch.randn(12, 2, dtype=torch.float64), torch.randn(12, dtype=torch.float64)
    h = Trainer(nn.Linear(2, 1).double(), optimizer="sgd:lr=0.1").fit((X, y), batch_size=4, epochs=2, seed=0,
                                                                      verbose=0)
    assert h.values is h.series["loss"]  # the alias is there in memory
    with np.load(h.save(tmp_path / "h.npz")) as z:
        assert sorted(f for f in z.files if f.startswith("series/")) == \
            ["series/epoch", "series/loss", "series/lr", "series/time"]
    assert sorted(json.loads(h.save(tmp_path / "h.json").read_text())["series"]) == ["epoch", "loss", "lr", "time"]
    assert sorted(h.to_dict()["series"]) == ["epoch", "loss", "lr", "time"]
    assert "values" in h.series  # saving did not strip the history itself
    Trace.save(h, tmp_path / "old.npz")  # the old layout: Trace's save writes every series, aliases too
    with np.load(tmp_path / "old.npz") as z:
        assert "series/values" in z.files
    for path in (tmp_path / "h.npz", tmp_path / "h.json", tmp_path / "old.npz"):
        g = History.load(path)
        assert type(g) is History and sorted(g.series) == sorted(h.series)
        for k in ("loss", "values", "lr", "lrs", "time", "times", "epoch"):
            np.testing.assert_array_equal(g.series[k], h.series[k])
        assert g.values is g.series["loss"] and g.lrs is g.series["lr"] and g.times is g.series["time"]
    # a history with only the function lab's name keeps it
    only = History(label="x", series={"values": np.array([3.0, 2.0])})
    np.testing.assert_array_equal(History.load(only.save(tmp_path / "only.npz")).values, [3.0, 2.0])
