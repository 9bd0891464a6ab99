"""Sophia-G against the authors' code (``sophia-opt`` 0.2.2, the packaging of Liuhong99/Sophia),
and Sophia-H against a NumPy transcription of the paper's Algorithms 1 and 3 with the exact
Hessian; step for step in float64."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
import torch
from modern_suite import STEPS, assert_same, grad_field, runs_equal_alone, start, state_dict_round_trip, trajectory
from sophia_opt import SophiaG

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")

K = 3  # refresh h every K steps (the paper's k = 10; smaller so that 32 steps see 11 refreshes)


def hessian_field(p: torch.Tensor, t: int) -> torch.Tensor:
    """The Gauss–Newton–Bartlett gradient ĝ (of sampled labels): another field than the step's."""
    return 0.3 * torch.cos(2.0 * p - 0.4 * t) + 0.02 * p


def refresh(opt) -> None:
    """Every K steps (from the first): put ĝ in the gradients and call update_hessian()."""
    ps = [p for g in opt.param_groups for p in g["params"]]
    st = opt.state[ps[0]]
    t = int(st["step"]) if st else 0
    if t % K == 0:
        for p in ps:
            p.grad = hessian_field(p.detach(), t)
        opt.update_hessian()


def with_bs(opt, bs):
    opt.step = functools.partial(opt.step, bs=bs)
    return opt


OPTIONS = [
    ({}, None),
    (dict(lr=0.01, rho=0.05, weight_decay=0.0), 1024),
    (dict(lr=0.02, betas=(0.9, 0.95), rho=0.1, weight_decay=0.2), 64),
    (dict(lr=3e-3, betas=(0.5, 0.0), rho=0.0), 8),  # ρ = 0: the sign step; β₂ = 0: h is the last ĥ
]


@pytest.mark.parametrize("kw,bs", OPTIONS, ids=range(len(OPTIONS)))
def test_sophia_g_equals_the_authors_code(kw, bs):
    p0 = start()
    def make(cls):
        return lambda ps: cls(ps, **kw) if bs is None else with_bs(cls(ps, **kw), bs)
    ours = trajectory(make(oo.Sophia), p0, before=refresh)
    ref = trajectory(make(SophiaG), p0, before=refresh)
    assert_same(ours, ref)
    assert ours[-1][0].sub(p0[0]).abs().max() > kw.get("lr", 1e-4)


def test_sophia_g_clipping_is_active_and_inactive_in_these_tests():
    """With option 1 many coordinate steps are clipped to ±lr and many are not (ratio < 1)."""
    kw, bs = OPTIONS[1]
    ps = [p.clone().requires_grad_() for p in start()]
    opt = with_bs(oo.Sophia(ps, **kw), bs)
    below = above = 0
    for k in range(STEPS):
        refresh(opt)
        for p in ps:
            p.grad = grad_field(p.detach(), k)
        opt.step()
        st = opt.state[ps[0]]
        ratio = st["exp_avg"].abs() / (kw["rho"] * bs * st["hessian"] + 1e-15)
        below, above = below + int((ratio < 1).sum()), above + int((ratio > 1).sum())
    assert below > 50 and above > 50


def _transcribed_sophia_h(a: np.ndarray, theta: np.ndarray, us: list[np.ndarray], lr, beta1, beta2, rho, wd, eps):
    """Algorithms 1 and 3 on L(θ) = ½θᵀAθ + Σ sin θ (∇L = Aθ + cos θ, ∇²L = A − diag(sin θ))."""
    m, h, out = np.zeros_like(theta), np.zeros_like(theta), []
    for t in range(STEPS):
        if t % K == 0:
            u = us[t // K]
            hess = a - np.diag(np.sin(theta))
            h = beta2 * h + (1 - beta2) * u * (hess @ u)
        g = a @ theta + np.cos(theta)
        theta = theta * (1 - lr * wd)
        m = beta1 * m + (1 - beta1) * g
        theta = theta - lr * np.sign(m) * np.minimum(1.0, np.abs(m) / (rho * np.maximum(h, 0.0) + eps))
        out.append(theta.copy())
    return out


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")
@pytest.mark.parametrize("kw", [dict(lr=0.05, rho=0.5, weight_decay=0.0), dict(lr=0.02, betas=(0.9, 0.8), rho=2.0)])
def test_sophia_h_equals_the_papers_algorithm(kw):
    g = torch.Generator().manual_seed(3)
    a = torch.randn(5, 5, generator=g)
    a = a @ a.T / 5 + torch.eye(5) * 0.1
    theta0 = torch.randn(5, generator=g)
    theta = theta0.clone().requires_grad_()
    opt = oo.Sophia([theta], estimator="hutchinson", **kw)
    draws, ours, negative = torch.Generator().manual_seed(7), [], 0
    for t in range(STEPS):
        if t % K == 0:
            loss = 0.5 * theta @ a @ theta + theta.sin().sum()
            loss.backward(create_graph=True)
            opt.update_hessian(generator=draws)
        with torch.no_grad():
            theta.grad = a @ theta + theta.cos()
        opt.step()
        ours.append(theta.detach().clone())
        negative += int((opt.state[theta]["hessian"] < 0).sum())
    assert negative > 0  # the max(h, 0) of negative curvature estimates is exercised
    twin = torch.Generator().manual_seed(7)
    us = [torch.randn(5, generator=twin).numpy() for _ in range(0, STEPS, K)]
    beta1, beta2 = kw.get("betas", (0.965, 0.99))
    ref = _transcribed_sophia_h(a.numpy(), theta0.numpy(), us, kw["lr"],
                                beta1, beta2, kw["rho"], kw.get("weight_decay", 0.1), 1e-15)
    np.testing.assert_allclose(np.stack([o.numpy() for o in ours]), np.stack(ref), rtol=1e-12, atol=1e-12)
    assert ours[-1].sub(theta0).abs().max() > 0.1


def test_sophia_batched_runs_equal_the_runs_alone():
    runs_equal_alone(oo.Sophia, dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.0], [0.99, 0.9, 0.0]),
                                     rho=[0.04, 0.1, 0.0], weight_decay=[0.0, 0.1, 0.3]), {}, before=refresh)


def test_sophia_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.Sophia(ps, lr=0.01, rho=0.05), before=refresh)


def test_a_checkpoint_of_the_authors_sophia_g_resumes_in_optimlab():
    """12 steps of SophiaG, its state_dict loaded into oo.Sophia, both go on: the same iterates."""
    def go(opt, ps, ks):
        out = []
        for k in ks:
            refresh(opt)
            for p in ps:
                p.grad = grad_field(p.detach(), k)
            opt.step(bs=64)
            out.append([p.detach().clone() for p in ps])
        return out
    ps = [p.clone().requires_grad_() for p in start()]
    ref = SophiaG(ps, lr=0.01, rho=0.05)
    go(ref, ps, range(12))
    qs = [p.detach().clone().requires_grad_() for p in ps]
    ours = oo.Sophia(qs, lr=0.01, rho=0.05)
    ours.load_state_dict(copy.deepcopy(ref.state_dict()))
    assert_same(go(ours, qs, range(12, STEPS)), go(ref, ps, range(12, STEPS)))


def test_sophia_bad_values_name_the_argument():
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^estimator must be one of 'gnb', 'hutchinson'; got 'H'$"):
        oo.Sophia(w, estimator="H")
    with pytest.raises(ValueError, match=r"^rho must be >= 0, got -1\.0 \(torch: Invalid rho parameter"):
        oo.Sophia(w, rho=-1.0)
    with pytest.raises(ValueError, match=r"^betas\[0\] must be in \[0, 1\), got 1\.0"):
        oo.Sophia(w, betas=(1.0, 0.99))
    opt = oo.Sophia(w, estimator="hutchinson")
    w[0].grad = torch.ones(2)
    with pytest.raises(RuntimeError, match=r"needs gradients that autograd can differentiate again: call "
                                           r"loss\.backward\(create_graph=True\) first$"):
        opt.update_hessian()
    with pytest.raises(ValueError, match=r"^bs must be > 0, got 0"):
        opt.step(bs=0)
    assert not opt.state
    z = torch.zeros(2, dtype=torch.complex128, requires_grad=True)
    z.grad = torch.ones_like(z)
    for call in (lambda o: o.step(), lambda o: o.update_hessian()):
        with pytest.raises(RuntimeError, match=r"^Sophia does not support complex parameters$"):
            call(oo.Sophia([z]))


def test_a_non_finite_estimate_follows_the_nonfinite_policy():
    w = torch.ones(2, requires_grad=True)
    opt = oo.Sophia([w])
    w.grad = torch.tensor([1.0, float("nan")])
    with pytest.raises(FloatingPointError, match=r"^Sophia\.update_hessian: non-finite Hessian estimate \(NaN or "
                                                 r"inf\) for a parameter of shape \(2,\); h was not changed"):
        opt.update_hessian()
    assert not opt.state
    opt = oo.Sophia([w], nonfinite="skip")
    with pytest.warns(RuntimeWarning, match=r"the refresh was skipped"):
        opt.update_hessian()
    assert not opt.state
    opt = oo.Sophia([w], nonfinite="ignore")
    opt.update_hessian()  # torch's behaviour: the NaN goes in
    assert opt.state[w]["hessian"].isnan().tolist() == [False, True]
