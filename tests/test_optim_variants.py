"""The lectures' variants that torch.optim lacks, against NumPy transcriptions of
the formulas written here, step by step over 30 steps in float64 to 1e-12.

Each ``np_*`` function below is the formula as the lecture (000–004) or paper
writes it, on NumPy arrays, independent of optimlab's code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimlab.optim as oo

STEPS = 30


pytestmark = pytest.mark.usefixtures("float64")  # conftest.float64: float64 scalar state, as torch keeps it


def grad_np(theta: np.ndarray, k: int) -> np.ndarray:
    return 0.5 * theta + np.sin(3.0 * theta + 0.7 * k) + 0.1 * np.cos(k * theta)


def theta0() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(3, 4))


def run_ours(cls, kw, steps=STEPS, lr_at=None):
    """Our iterates on the gradient field; ``lr_at(k)`` sets the lr before step k (a schedule)."""
    p = torch.tensor(theta0(), requires_grad=True)
    opt = cls([p], **kw)
    out = []
    for k in range(steps):
        if lr_at is not None:
            opt.param_groups[0]["lr"] = lr_at(k)
        p.grad = torch.from_numpy(grad_np(p.detach().numpy(), k))
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def run_np(update, steps=STEPS):
    """``update(theta, g, state, t)`` returns the new theta; t = 1, 2, ..."""
    theta, state, out = theta0(), {}, []
    for k in range(steps):
        theta = update(theta, grad_np(theta, k), state, k + 1)
        out.append(theta.copy())
    return np.array(out)


def close(a, b, tol=1e-12):
    assert a.shape == b.shape and a.shape[0] >= STEPS
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ------------------------------------------------------------------------- Adagrad
def np_adagrad(lr, eps, eps_in_sqrt, lr_decay=0.0, init=0.0, wd=0.0):
    def update(th, g, s, t):
        g = g + wd * th
        s["G"] = s.get("G", np.full_like(th, init)) + g * g
        lr_t = lr / (1 + (t - 1) * lr_decay)
        root = np.sqrt(s["G"] + eps) if eps_in_sqrt else np.sqrt(s["G"]) + eps
        return th - lr_t * g / root
    return update


def np_adagrad_002(lr):
    """Lecture 002: σᵗ = √(Σ_{i≤t} (gⁱ)² / (t+1)), ηᵗ = η/√(t+1), θ ← θ − ηᵗ/σᵗ·g (t from 0)."""
    def update(th, g, s, t):
        s["sq"] = s.get("sq", 0.0) + g * g
        sigma = np.sqrt(s["sq"] / t)
        return th - lr / math.sqrt(t) / sigma * g
    return update


@pytest.mark.parametrize("kw", [dict(lr=0.1, eps=1e-8), dict(lr=0.1, eps=0.1, lr_decay=0.05),
                                dict(lr=0.2, eps=1e-3, initial_accumulator_value=0.2, weight_decay=0.1)])
def test_adagrad_eps_in_sqrt(kw):
    ref = run_np(np_adagrad(kw["lr"], kw["eps"], True, kw.get("lr_decay", 0.0),
                            kw.get("initial_accumulator_value", 0.0), kw.get("weight_decay", 0.0)))
    close(run_ours(oo.Adagrad, {**kw, "eps_in_sqrt": True}), ref)


def test_adagrad_the_lectures_forms():
    # 000/001: ε inside the root, with 000's defaults η = 0.01, ε = 1e−8
    close(run_ours(oo.Adagrad, dict(lr=0.01, eps=1e-8, eps_in_sqrt=True)), run_np(np_adagrad(0.01, 1e-8, True)))
    # 004: ε outside the root (torch's default form)
    close(run_ours(oo.Adagrad, dict(lr=0.1, eps=1e-3)), run_np(np_adagrad(0.1, 1e-3, False)))
    # 003: no ε; 002: RMS over t+1 steps with η/√(t+1) — the same update
    ref003 = run_np(np_adagrad(0.1, 0.0, False))
    close(run_ours(oo.Adagrad, dict(lr=0.1, eps=0.0)), ref003)
    close(run_np(np_adagrad_002(0.1)), ref003)


# ------------------------------------------------------------------------- RMSprop
def np_rmsprop(lr, alpha, eps, eps_in_sqrt=False, centered=False, momentum=0.0, velocity=False, wd=0.0):
    def update(th, g, s, t):
        g = g + wd * th
        s["E"] = alpha * s.get("E", 0.0) + (1 - alpha) * g * g
        var = s["E"]
        if centered:
            s["gbar"] = alpha * s.get("gbar", 0.0) + (1 - alpha) * g
            var = var - s["gbar"] ** 2
        d = np.sqrt(var + eps) if eps_in_sqrt else np.sqrt(var) + eps
        if momentum == 0:
            return th - lr * g / d
        if velocity:  # b = μb + lr·g/d, θ −= b
            s["b"] = momentum * s.get("b", 0.0) + lr * g / d
            return th - s["b"]
        s["b"] = momentum * s.get("b", 0.0) + g / d
        return th - lr * s["b"]
    return update


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.8])
def test_rmsprop_eps_in_sqrt(centered, momentum):
    kw = dict(lr=0.01, alpha=0.9, eps=1e-3, centered=centered, momentum=momentum, weight_decay=0.05)
    ref = run_np(np_rmsprop(0.01, 0.9, 1e-3, True, centered, momentum, wd=0.05))
    close(run_ours(oo.RMSprop, {**kw, "eps_in_sqrt": True}), ref)


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_velocity_form(centered):
    ref = run_np(np_rmsprop(0.01, 0.9, 1e-6, False, centered, 0.9, velocity=True))
    ours = run_ours(oo.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, centered=centered, momentum=0.9,
                                     momentum_form="velocity"))
    close(ours, ref)
    # the same as torch's form at a constant lr ...
    close(ours, run_ours(oo.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, centered=centered, momentum=0.9)), 1e-10)
    # ... but not under a schedule: the velocity keeps the old learning rates
    sched = lambda k: 0.01 if k < 10 else 0.001  # noqa: E731
    vel = run_ours(oo.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.9, centered=centered, momentum_form="velocity"),
                   lr_at=sched)
    tor = run_ours(oo.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.9, centered=centered), lr_at=sched)
    assert np.abs(vel - tor).max() > 1e-4


def test_rmsprop_lecture_000_001_settings():
    """Δθ = η g/√(E[g²] + ε), γ = 0.9, η = 0.001 (000, 001)."""
    close(run_ours(oo.RMSprop, dict(lr=0.001, alpha=0.9, eps=1e-8, eps_in_sqrt=True)),
          run_np(np_rmsprop(0.001, 0.9, 1e-8, True)))


# ---------------------------------------------------------------------- Adam family
def np_adam(lr, b1, b2, eps, form="default", bias_correction=True, amsgrad=False, wd=0.0, decoupled=False):
    def update(th, g, s, t):
        if decoupled:
            th = th * (1 - lr * wd)
        else:
            g = g + wd * th
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        v = s["v"]
        if amsgrad:
            s["vmax"] = v = np.maximum(s.get("vmax", 0.0), v)
        bc1, bc2 = (1 - b1 ** t, 1 - b2 ** t) if bias_correction else (1.0, 1.0)
        m_hat, v_hat = s["m"] / bc1, v / bc2
        if form == "eps_in_sqrt":
            return th - lr * m_hat / np.sqrt(v_hat + eps)
        if form == "eps_hat":  # Kingma & Ba, end of section 2
            return th - lr * math.sqrt(bc2) / bc1 * s["m"] / (np.sqrt(v) + eps)
        return th - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


ADAM_VARIANTS = [
    (dict(eps_in_sqrt=True), dict(form="eps_in_sqrt")),
    (dict(bias_correction=False), dict(bias_correction=False)),
    (dict(eps_hat=True), dict(form="eps_hat")),
    (dict(eps_in_sqrt=True, bias_correction=False), dict(form="eps_in_sqrt", bias_correction=False)),
    (dict(eps_hat=True, amsgrad=True), dict(form="eps_hat", amsgrad=True)),
    (dict(eps_in_sqrt=True, amsgrad=True, weight_decay=0.1), dict(form="eps_in_sqrt", amsgrad=True, wd=0.1)),
]


@pytest.mark.parametrize("ours_kw,ref_kw", ADAM_VARIANTS)
@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_adam_and_adamw_variants(cls, ours_kw, ref_kw):
    decoupled = cls == "AdamW"
    wd = ours_kw.get("weight_decay", 0.05 if decoupled else 0.0)
    ref = run_np(np_adam(0.02, 0.8, 0.95, 1e-3, **{**ref_kw, "wd": wd, "decoupled": decoupled}))
    ours = run_ours(getattr(oo, cls), dict(lr=0.02, betas=(0.8, 0.95), eps=1e-3, **{**ours_kw, "weight_decay": wd}))
    close(ours, ref)


def test_adam_lecture_defaults():
    """β₁ 0.9, β₂ 0.999, ε 1e−8, η 0.001 (000–004) are the defaults; 003 puts ε in the root."""
    close(run_ours(oo.Adam, {}), run_np(np_adam(1e-3, 0.9, 0.999, 1e-8)))
    close(run_ours(oo.Adam, dict(eps_in_sqrt=True)), run_np(np_adam(1e-3, 0.9, 0.999, 1e-8, "eps_in_sqrt")))


def test_adam_without_bias_correction_takes_tiny_first_steps():
    """Lecture 004's point: m starts at 0, so without correction the first step is ≈ (1 − β₁)/√(1 − β₂) smaller."""
    with_bc = run_ours(oo.Adam, dict(lr=0.01), steps=1)[0] - theta0()
    without = run_ours(oo.Adam, dict(lr=0.01, bias_correction=False), steps=1)[0] - theta0()
    ratio = np.abs(without).max() / np.abs(with_bc).max()
    assert ratio == pytest.approx((1 - 0.9) / math.sqrt(1 - 0.999), rel=1e-3)


def np_adamax(lr, b1, b2, eps, eps_inside_max=True, bias_correction=True):
    def update(th, g, s, t):
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        if eps_inside_max:
            s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g) + eps)
            denom = s["u"]
        else:  # Keras: u = max(β₂u, |g|), divide by u + ε
            s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g))
            denom = s["u"] + eps
        bc1 = 1 - b1 ** t if bias_correction else 1.0
        return th - lr / bc1 * s["m"] / denom
    return update


@pytest.mark.parametrize("inside", [True, False])
@pytest.mark.parametrize("bc", [True, False])
def test_adamax_variants(inside, bc):
    ref = run_np(np_adamax(0.02, 0.8, 0.95, 1e-2, inside, bc))
    close(run_ours(oo.Adamax, dict(lr=0.02, betas=(0.8, 0.95), eps=1e-2, eps_inside_max=inside, bias_correction=bc)),
          ref)


def np_nadam(lr, b1, b2, eps, psi, eps_in_sqrt=False, bias_correction=True):
    def update(th, g, s, t):
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        s["prod"] = s.get("prod", 1.0) * mu
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        if bias_correction:
            v_hat, cg, cm = s["v"] / (1 - b2 ** t), 1 - s["prod"], 1 - s["prod"] * mu_next
        else:
            v_hat, cg, cm = s["v"], 1.0, 1.0
        d = np.sqrt(v_hat + eps) if eps_in_sqrt else np.sqrt(v_hat) + eps
        return th - lr * ((1 - mu) * g / cg + mu_next * s["m"] / cm) / d
    return update


@pytest.mark.parametrize("eps_in_sqrt", [True, False])
@pytest.mark.parametrize("bc", [True, False])
def test_nadam_variants(eps_in_sqrt, bc):
    ref = run_np(np_nadam(0.02, 0.8, 0.95, 1e-3, 0.05, eps_in_sqrt, bc))
    ours = run_ours(oo.NAdam, dict(lr=0.02, betas=(0.8, 0.95), eps=1e-3, momentum_decay=0.05, eps_in_sqrt=eps_in_sqrt,
                                   bias_correction=bc))
    close(ours, ref)


def np_radam_eps_in_sqrt(lr, b1, b2, eps):
    def update(th, g, s, t):
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        m_hat = s["m"] / (1 - b1 ** t)
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho <= 5:
            return th - lr * m_hat
        r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return th - lr * m_hat * r / np.sqrt(s["v"] / (1 - b2 ** t) + eps)
    return update


def test_radam_eps_in_sqrt():
    ref = run_np(np_radam_eps_in_sqrt(0.02, 0.8, 0.9, 1e-3))  # ρ_t crosses 5 within the 30 steps
    close(run_ours(oo.RAdam, dict(lr=0.02, betas=(0.8, 0.9), eps=1e-3, eps_in_sqrt=True)), ref)


def test_adadelta_default_is_the_papers_adadelta():
    """Zeiler 2012 / lecture 000: Δθ = −RMS[Δθ]_{t−1}/RMS[g]_t · g, no learning rate (lr = 1.0)."""
    rho, eps = 0.9, 1e-6

    def update(th, g, s, t):
        s["Eg"] = rho * s.get("Eg", 0.0) + (1 - rho) * g * g
        delta = -np.sqrt(s.get("Ed", 0.0) + eps) / np.sqrt(s["Eg"] + eps) * g
        s["Ed"] = rho * s.get("Ed", 0.0) + (1 - rho) * delta * delta
        return th + delta
    close(run_ours(oo.Adadelta, {}), run_np(update))


# ---------------------------------------------------------------------- SGD forms
def np_sgd_velocity(lr_at, mu, tau=0.0, nesterov=False, wd=0.0):
    """v ← μv − lr(1−τ)g, θ ← θ + v (nesterov: θ ← θ + μv − lr(1−τ)g); v₀ = 0."""
    def update(th, g, s, t):
        lr = lr_at(t - 1)
        g = g + wd * th
        s["v"] = mu * s.get("v", 0.0) - lr * (1 - tau) * g
        if nesterov:
            return th + mu * s["v"] - lr * (1 - tau) * g
        return th + s["v"]
    return update


def np_sgd_torch(lr_at, rho):
    """Lecture 004: v_{t+1} = ρv_t + ∇f(x_t); x_{t+1} = x_t − αv_{t+1}."""
    def update(th, g, s, t):
        s["v"] = rho * s["v"] + g if "v" in s else g
        return th - lr_at(t - 1) * s["v"]
    return update


def constant(lr):
    return lambda k: lr


def step_schedule(k):
    return 0.05 if k < 10 else (0.01 if k < 20 else 0.002)


@pytest.mark.parametrize("kw", [dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                dict(momentum=0.8, dampening=0.3),
                                dict(momentum=0.7, dampening=0.2, nesterov=True, weight_decay=0.1)])
@pytest.mark.parametrize("sched", [None, step_schedule])
def test_sgd_velocity_form(kw, sched):
    lr_at = sched or constant(0.05)
    ref = run_np(np_sgd_velocity(lr_at, kw["momentum"], kw.get("dampening", 0.0), kw.get("nesterov", False),
                                 kw.get("weight_decay", 0.0)))
    close(run_ours(oo.SGD, dict(lr=0.05, momentum_form="velocity", **kw), lr_at=sched), ref)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_velocity_equals_torch_form_at_constant_lr_and_differs_under_a_schedule(nesterov):
    kw = dict(lr=0.05, momentum=0.9, nesterov=nesterov)
    close(run_ours(oo.SGD, {**kw, "momentum_form": "velocity"}), run_ours(torch.optim.SGD, kw), 1e-10)
    vel = run_ours(oo.SGD, {**kw, "momentum_form": "velocity"}, lr_at=step_schedule)
    tor = run_ours(torch.optim.SGD, kw, lr_at=step_schedule)
    assert np.abs(vel - tor).max() > 1e-3


def test_sgd_the_lectures_momentum_forms():
    # 000: ν_t = γν_{t−1} + η∇J; θ_t = θ_{t−1} − ν_t (under a schedule too)
    def form000(th, g, s, t):
        s["nu"] = 0.9 * s.get("nu", 0.0) + step_schedule(t - 1) * g
        return th - s["nu"]
    close(run_ours(oo.SGD, dict(lr=0.05, momentum=0.9, momentum_form="velocity"), lr_at=step_schedule),
          run_np(form000))

    # 003: Δθ_t = βΔθ_{t−1} − (1−β)α∇E; β = 0 is plain GD
    def form003(beta):
        def update(th, g, s, t):
            s["d"] = beta * s.get("d", 0.0) - (1 - beta) * 0.05 * g
            return th + s["d"]
        return update
    close(run_ours(oo.SGD, dict(lr=0.05, momentum=0.8, dampening=0.8, momentum_form="velocity")), run_np(form003(0.8)))
    close(run_ours(oo.SGD, dict(lr=0.05)), run_np(form003(0.0)))
    # 004: lr outside (torch's form), under a schedule
    close(run_ours(oo.SGD, dict(lr=0.05, momentum=0.99), lr_at=step_schedule),
          run_np(np_sgd_torch(step_schedule, 0.99)))


# ------------------------------------------------------------------------------ NAG
def f_and_grad(theta: torch.Tensor, k: int):
    """An objective whose gradient is grad_np (up to the k-dependent field, evaluated anywhere)."""
    return torch.from_numpy(grad_np(theta.detach().numpy(), k))


def run_nag(kw, steps=STEPS):
    p = torch.tensor(theta0(), requires_grad=True)
    opt = oo.NAG([p], **kw)
    out, losses = [], []
    for k in range(steps):
        def closure(k=k):
            p.grad = f_and_grad(p, k)
            return float(p.detach().sum())  # a "loss" that identifies the point it was evaluated at
        losses.append(opt.step(closure))
        out.append(p.detach().numpy().copy())
    return np.array(out), losses, opt, p


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_nag_is_the_lectures_formula(wd):
    """000/003: ν_t = γν_{t−1} + η∇J(θ_{t−1} − γν_{t−1}); θ_t = θ_{t−1} − ν_t (L2 decay is part of J)."""
    lr, gamma = 0.05, 0.9

    def update(th, g_unused, s, t):
        nu = s.get("nu", 0.0)
        look = th - gamma * nu
        s["nu"] = gamma * nu + lr * (grad_np(look, t - 1) + wd * look)
        return th - s["nu"]
    ours, _, _, _ = run_nag(dict(lr=lr, momentum=gamma, weight_decay=wd))
    close(ours, run_np(update))


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_nag_relates_to_torch_nesterov_by_the_change_of_variables(wd):
    """φ = θ − γν follows SGD(nesterov=True) exactly, with its buffer b = ν/lr."""
    lr, gamma = 0.05, 0.9
    _, _, nag, theta = run_nag(dict(lr=lr, momentum=gamma, weight_decay=wd), steps=0)
    phi = torch.tensor(theta0(), requires_grad=True)
    sgd = torch.optim.SGD([phi], lr=lr, momentum=gamma, nesterov=True, weight_decay=wd)
    for k in range(STEPS):
        def closure(k=k):
            theta.grad = f_and_grad(theta, k)
            return float(theta.detach().sum())
        loss = nag.step(closure)
        # the closure ran at the look-ahead point, which is torch's parameter before its step
        assert loss == pytest.approx(float(phi.detach().sum()), abs=1e-11)
        phi.grad = f_and_grad(phi, k)
        sgd.step()
        nu = nag.state[theta]["velocity"]
        torch.testing.assert_close(theta.detach() - gamma * nu, phi.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(nu / lr, sgd.state[phi]["momentum_buffer"], rtol=1e-12, atol=1e-12)


def test_nag_needs_a_closure():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="closure"):
        oo.NAG([p], lr=0.1).step()


# ------------------------------------------------------------------ hypothesis


@settings(max_examples=25, deadline=None, derandomize=True)
@given(lr=st.floats(1e-4, 0.1), b1=st.floats(0.0, 0.99), b2=st.floats(0.0, 0.999),
       eps=st.sampled_from([0.0, 1e-8, 1e-3, 0.5]), form=st.sampled_from(["default", "eps_in_sqrt", "eps_hat"]),
       bc=st.booleans(), amsgrad=st.booleans(), wd=st.sampled_from([0.0, 0.1]), decoupled=st.booleans())
def test_random_adam_variants_against_the_formula(lr, b1, b2, eps, form, bc, amsgrad, wd, decoupled):
    ours_kw = dict(lr=lr, betas=(b1, b2), eps=eps, bias_correction=bc, amsgrad=amsgrad, weight_decay=wd,
                   decoupled_weight_decay=decoupled, eps_in_sqrt=form == "eps_in_sqrt", eps_hat=form == "eps_hat",
                   nonfinite="ignore")
    ref = run_np(np_adam(lr, b1, b2, eps, form, bc, amsgrad, wd, decoupled))
    close(run_ours(oo.Adam, ours_kw), ref)
