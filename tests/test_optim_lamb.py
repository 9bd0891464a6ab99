"""LAMB against a NumPy transcription of the paper's Algorithm 2 (You et al., ICLR 2020; the
authors published no package), step for step in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from modern_suite import STEPS, assert_same, grad_field, runs_equal_alone, start, state_dict_round_trip, trajectory

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")


def lamb_by_hand(x0: list[np.ndarray], lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, clamp_value=10.0,
                 adam=False, debias=True) -> list[list[np.ndarray]]:
    """Algorithm 2, one layer per parameter: m, v; r = m̂/(√v̂ + ε); u = r + λx;
    x ← x − η·φ(‖x‖)/‖u‖·u, φ(z) = min(z, clamp_value), ratio 1 at a zero norm."""
    b1, b2 = betas
    xs = [x.copy() for x in x0]
    ms = [np.zeros_like(x) for x in xs]
    vs = [np.zeros_like(x) for x in xs]
    out = []
    for k in range(STEPS):
        t = k + 1
        for i, x in enumerate(xs):
            g = grad_field(torch.from_numpy(x), k).numpy()
            ms[i] = b1 * ms[i] + (1 - b1) * g
            vs[i] = b2 * vs[i] + (1 - b2) * g * g
            m_hat = ms[i] / (1 - b1 ** t) if debias else ms[i]
            v_hat = vs[i] / (1 - b2 ** t) if debias else vs[i]
            u = m_hat / (np.sqrt(v_hat) + eps) + weight_decay * x
            w_norm, u_norm = np.linalg.norm(x), np.linalg.norm(u)
            phi = w_norm if clamp_value is None else min(w_norm, clamp_value)
            ratio = 1.0 if adam or w_norm == 0 or u_norm == 0 else phi / u_norm
            xs[i] = x - lr * ratio * u
        out.append([torch.from_numpy(x.copy()) for x in xs])
    return out


OPTIONS = [
    {},
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1),
    dict(lr=0.05, weight_decay=0.01, clamp_value=None, debias=False),
    dict(lr=0.05, weight_decay=0.01, clamp_value=0.5),  # the clamp is active: ‖x‖ > 0.5
    dict(lr=0.05, weight_decay=0.01, adam=True),
]


@pytest.mark.parametrize("kw", OPTIONS, ids=range(len(OPTIONS)))
def test_lamb_equals_the_papers_algorithm(kw):
    p0 = start()
    ours = trajectory(lambda ps: oo.LAMB(ps, **kw), p0)
    assert_same(ours, lamb_by_hand([p.numpy() for p in p0], **kw))
    assert ours[-1][0].sub(p0[0]).abs().max() > 1e-3


def test_lamb_decoupled_weight_decay_shrinks_first_and_leaves_u_alone():
    """decoupled: θ(1 − lr·λ), then the λ = 0 step from the shrunk θ (the same gradients)."""
    p0 = start()
    ours = trajectory(lambda ps: oo.LAMB(ps, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), p0, steps=1)
    ps = [(p * (1 - 0.05 * 0.1)).requires_grad_() for p in p0]
    opt = oo.LAMB(ps, lr=0.05)
    for p, q in zip(ps, p0):
        p.grad = grad_field(q, 0)  # the gradient at θ, before the shrinking
    opt.step()
    assert_same(ours, [[p.detach() for p in ps]])


def test_lamb_batched_runs_equal_the_runs_alone():
    """Per-run norms: parameters (R, 2, 3) are R layers of shape (2, 3)."""
    runs_equal_alone(oo.LAMB, dict(lr=[0.05, 0.01, 0.1], betas=([0.9, 0.5, 0.0], [0.999, 0.9, 0.5]),
                                   eps=[1e-6, 1e-3, 0.1], weight_decay=[0.0, 0.1, 0.3], clamp_value=[10.0, 0.5, 1.0]),
                     {}, shape=(3, 2, 3))
    runs_equal_alone(oo.LAMB, dict(lr=[0.05, 0.01, 0.1], weight_decay=[0.0, 0.1, 0.3]), dict(debias=False))


def test_lamb_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.LAMB(ps, lr=0.05, weight_decay=0.1))


def test_lamb_bad_hyperparameters_name_the_argument():
    w = [torch.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^clamp_value must be > 0, got 0\.0$"):
        oo.LAMB(w, clamp_value=0.0)
    with pytest.raises(ValueError, match=r"^betas\[0\] must be in \[0, 1\), got 1\.0 \(torch: Invalid beta parameter"):
        oo.LAMB(w, betas=(1.0, 0.999))
    with pytest.raises(ValueError, match=r"^adam must be True or False"):
        oo.LAMB(w, adam="no")
