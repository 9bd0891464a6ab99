"""The lab's loops with an optimizer that has ``update_hessian()`` (Sophia): ``optimlab.run``,
a function sweep and :meth:`Trainer.fit` equal hand-written loops that do what the Sophia
authors' training loop does (``step(bs=B)``; every k-th step a backward pass of the
estimator's loss, ``update_hessian()``, gradients cleared), on the authors' ``SophiaG``
(``sophia-opt``) or a NumPy transcription of Algorithms 1 and 3, float64, 32 steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sophia_opt import SophiaG
from sweep_rows import row_model

import optimlab
import optimlab.optim as oo
from optimlab import functions
from optimlab.runner.compiled import NotCompilable
from optimlab.training import Trainer

pytestmark = pytest.mark.usefixtures("float64")

STEPS, K = 32, 3  # 32 updates, a refresh after every 3rd: 10 refreshes
KW = dict(lr=0.01, rho=0.05, weight_decay=0.1)
SPEC = "sophia:lr=0.01,rho=0.05,weight_decay=0.1,hess_interval=3"
START = (-1.2, 1.0)


def _function_lab_by_hand(make, steps=STEPS, k=K):
    """Rosenbrock points of the authors' loop on a sum of squares: step(bs=1), and after every
    k-th step the gradient of the residuals' sampled-target loss (ε ~ N(0, I), generator seeded 0)."""
    fn = functions.get("rosenbrock")
    x = torch.tensor([START], dtype=torch.float64, requires_grad=True)
    opt, gen, points = make([x]), torch.Generator().manual_seed(0), [x.detach().clone()]
    for it in range(steps):
        x.grad = None
        fn(x).sum().backward()
        opt.step(bs=1)
        if it % k == k - 1:
            x.grad = None
            r = fn.residuals(x)
            y = (r + torch.randn(r.shape[-1], generator=gen, dtype=r.dtype) / math.sqrt(2.0)).detach()
            ((r - y) ** 2).sum().backward()
            opt.update_hessian()
        points.append(x.detach().clone())
    return torch.cat(points).numpy()


def test_run_refreshes_sophia_g_as_the_authors_loop():
    ref = _function_lab_by_hand(lambda ps: SophiaG(ps, **KW))
    tr = optimlab.run("rosenbrock", SPEC, start=START, steps=STEPS)
    np.testing.assert_allclose(tr.series["params"], ref, rtol=0, atol=1e-12)
    no_refresh = optimlab.run("rosenbrock", SPEC.replace("=3", "=1000"), start=START, steps=STEPS)
    assert np.abs(no_refresh.series["params"][-1] - ref[-1]).max() > 1e-3  # the refreshes change the run


def test_the_authors_sophia_g_is_refreshed_too():
    """Duck-typed: their class, without hess_interval, gets the authors' k = 10."""
    ref = _function_lab_by_hand(lambda ps: SophiaG(ps, **KW), k=10)
    tr = optimlab.run("rosenbrock", lambda ps: SophiaG(ps, **KW), start=START, steps=STEPS)
    np.testing.assert_allclose(tr.series["params"], ref, rtol=0, atol=1e-12)


def _rosenbrock_hessian(t: np.ndarray) -> np.ndarray:
    x, y = t
    return np.array([[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]])


def _transcribed_sophia_h(lr, rho, wd, beta1=0.965, beta2=0.99, eps=1e-15):
    """Algorithms 1 and 3 on Rosenbrock: h refreshed after every K-th step with u ⊙ (∇²f u), u from a
    generator seeded 0 (one draw of d numbers per refresh)."""
    gen = torch.Generator().manual_seed(0)
    theta, m, h, out = np.array(START), np.zeros(2), np.zeros(2), [np.array(START)]
    for it in range(STEPS):
        x, y = theta
        g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        theta = theta * (1 - lr * wd)
        m = beta1 * m + (1 - beta1) * g
        theta = theta - lr * np.sign(m) * np.minimum(1.0, np.abs(m) / (rho * np.maximum(h, 0.0) + eps))
        if it % K == K - 1:
            u = torch.randn(2, generator=gen, dtype=torch.float64).numpy()
            h = beta2 * h + (1 - beta2) * u * (_rosenbrock_hessian(theta) @ u)
        out.append(theta.copy())
    return np.stack(out)


def test_run_refreshes_sophia_h_as_algorithm_1():
    ref = _transcribed_sophia_h(0.01, 0.5, 0.1)
    tr = optimlab.run("rosenbrock", "sophia:lr=0.01,rho=0.5,estimator=hutchinson,hess_interval=3",
                      start=START, steps=STEPS)
    np.testing.assert_allclose(tr.series["params"], ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("estimator", ["gnb", "hutchinson"])
def test_a_function_sweep_of_sophia_equals_the_runs_alone(estimator):
    spec = f"sophia:rho=0.05,estimator={estimator},hess_interval=3"
    res = optimlab.sweep("rosenbrock", spec, {"lr": [0.02, 0.01]}, steps=STEPS, start=START)
    for lr, t in zip([0.02, 0.01], res.traces):
        alone = optimlab.run("rosenbrock", f"{spec},lr={lr}", start=START, steps=STEPS)
        np.testing.assert_allclose(t.series["params"], alone.series["params"], rtol=0, atol=1e-12)


def test_a_compiled_run_is_refused_so_the_refreshes_happen():
    with pytest.raises(NotCompilable, match=r"^Sophia refreshes its curvature every k steps \(update_hessian"):
        optimlab.run("rosenbrock", SPEC, start=START, steps=3, compile=True)
    auto = optimlab.run("rosenbrock", SPEC, start=START, steps=STEPS, compile="auto")
    np.testing.assert_allclose(auto.series["params"], _function_lab_by_hand(lambda ps: SophiaG(ps, **KW)),
                               rtol=0, atol=1e-12)


def test_gauss_newton_bartlett_needs_residuals_in_the_function_lab():
    with pytest.raises(ValueError, match=r"^Sophia\(estimator='gnb'\) samples labels from a model .* rastrigin has "
                                         r"no residuals .*: use estimator='hutchinson'$"):
        optimlab.run("rastrigin", "sophia", steps=3)
    with pytest.raises(ValueError, match=r"^hess_interval must be an integer >= 1, got 0$"):
        oo.Sophia([torch.zeros(2, requires_grad=True)], hess_interval=0)


# ------------------------------------------------------------------------- the Trainer
def _data(loss: str):
    g = torch.Generator().manual_seed(1)
    X = torch.randn(STEPS * 3, 4, generator=g, dtype=torch.float64)
    if loss == "cross_entropy":
        return X, torch.randint(0, 3, (len(X),), generator=g)
    if loss == "binary_crossentropy":
        return X, torch.randint(0, 2, (len(X), 3), generator=g).double()
    return X, torch.randn(len(X), 3, generator=g, dtype=torch.float64)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()


SAMPLE = {  # the labels the authors' loop samples from the model (their README: Categorical(logits))
    "cross_entropy": lambda out: torch.distributions.Categorical(logits=out).sample(),
    "binary_crossentropy": lambda out: torch.bernoulli(torch.sigmoid(out)),
    "mse": lambda out: out + torch.randn_like(out) * math.sqrt(0.5),
}
LOSS = {"cross_entropy": torch.nn.functional.cross_entropy, "mse": torch.nn.functional.mse_loss,
        "binary_crossentropy": torch.nn.functional.binary_cross_entropy_with_logits}


def _authors_loop(loss: str, make, k: int):
    """The loop of the authors' README, batches of 3 in order: the model's parameters after it."""
    X, Y = _data(loss)
    model = _model()
    opt, lf = make(model.parameters()), LOSS[loss]
    torch.manual_seed(5)
    for it, s in enumerate(range(0, len(X), 3)):
        xb, yb = X[s:s + 3], Y[s:s + 3]
        out = model(xb)
        lf(out, yb).backward()
        opt.step(bs=len(xb) if loss == "cross_entropy" else out.numel())
        opt.zero_grad(set_to_none=True)
        if it % k == k - 1:
            out = model(xb)
            lf(out, SAMPLE[loss](out.detach())).backward()
            opt.update_hessian()
            opt.zero_grad(set_to_none=True)
            model.zero_grad()
    return [p.detach().clone() for p in model.parameters()]


def _fit(loss: str, optimizer) -> list[torch.Tensor]:
    model = _model()
    t = Trainer(model, loss=loss, optimizer=optimizer)
    torch.manual_seed(5)
    h = t.fit(_data(loss), batch_size=3, epochs=1, shuffle=False, seed=0, verbose=0)
    assert h.steps == STEPS
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_crossentropy", "mse"])
def test_trainer_refreshes_sophia_g_as_the_authors_loop(loss):
    ref = _authors_loop(loss, lambda ps: SophiaG(ps, **KW), K)
    for p, q in zip(_fit(loss, SPEC), ref):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-12)
    without = _authors_loop(loss, lambda ps: SophiaG(ps, **KW), 1000)
    assert max(float((p - q).abs().max()) for p, q in zip(ref, without)) > 1e-4


def test_trainer_refreshes_the_authors_class_with_their_k():
    ref = _authors_loop("cross_entropy", lambda ps: SophiaG(ps, **KW), 10)
    for p, q in zip(_fit("cross_entropy", lambda ps: SophiaG(ps, **KW)), ref):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")
def test_trainer_refreshes_sophia_h_with_the_batch_hessian():
    """Sophia-H (checked against Algorithm 1 in test_optim_sophia) by hand: the batch loss with its
    graph after every K-th step, u from torch's generator, step's own B = 1."""
    X, Y = _data("mse")
    model = _model()
    opt = oo.Sophia(model.parameters(), **KW, estimator="hutchinson")
    torch.manual_seed(5)
    for it, s in enumerate(range(0, len(X), 3)):
        torch.nn.functional.mse_loss(model(X[s:s + 3]), Y[s:s + 3]).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if it % K == K - 1:
            torch.nn.functional.mse_loss(model(X[s:s + 3]), Y[s:s + 3]).backward(create_graph=True)
            opt.update_hessian()
            opt.zero_grad(set_to_none=True)
    ours = _fit("mse", SPEC + ",estimator=hutchinson")
    for p, q in zip(ours, model.parameters()):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=0, atol=1e-12)
    assert int((opt.state[next(model.parameters())]["hessian"] != 0).sum()) > 10


def test_trainer_refuses_a_loss_without_sampled_labels():
    with pytest.raises(ValueError, match=r"^loss must be one of cross_entropy, .* for Sophia\(estimator='gnb'\), "
                                         r"which samples labels .*; got 'huber' \(estimator='hutchinson' takes any"):
        Trainer(_model(), loss="huber", optimizer="sophia")
    Trainer(_model(), loss="huber", optimizer="sophia:estimator=hutchinson")


# ------------------------------------------------------------------------- the training sweep
def _sweep_row_by_hand(problem, lr, seed, steps, bs):
    """A training-sweep row (tests/test_sweeps.py's loop) with the authors' SophiaG and their refresh:
    step(bs=B), and after every K-th step labels drawn from the model (Categorical's multinomial
    draw, from a second generator seeded with the row's seed), their loss backward, update_hessian()."""
    model = row_model(problem, seed)
    opt = SophiaG(model.parameters(), **{**KW, "lr": lr})
    X, Y = problem.train.tensors
    nb = -(-len(X) // bs)
    gen, labels_gen = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    losses = []
    for k in range(steps):
        b = k % nb
        if b == 0:
            perm = torch.randperm(len(X), generator=gen)
        idx = perm[b * bs:(b + 1) * bs]
        opt.zero_grad()
        loss = problem.loss(model(X[idx]), Y[idx])
        loss.backward()
        opt.step(bs=len(idx))
        losses.append(loss.item())
        if k % K == K - 1:
            opt.zero_grad()
            out = model(X[idx])
            probs = torch.distributions.Categorical(logits=out.detach()).probs
            problem.loss(out, torch.multinomial(probs, 1, True, generator=labels_gen)[:, 0]).backward()
            opt.update_hessian()
            opt.zero_grad()
    return np.array(losses)


def test_a_training_sweep_refreshes_each_row_as_its_run_alone():
    from test_sweeps import _tiny_problem

    prob = _tiny_problem()
    res = optimlab.sweep(prob, SPEC.replace("lr=0.01,", ""), grid={"lr": [0.01, 0.05]}, seeds=[3], steps=STEPS,
                         batch_size=8, dtype=torch.float64)
    for cfg, t in zip(res.configs, res.traces):
        np.testing.assert_allclose(t.values, _sweep_row_by_hand(prob, cfg["lr"], 3, STEPS, 8), rtol=0, atol=1e-12)
