"""The runs dimension: a parameter of shape (R, d) with hyperparameters of shape (R, 1)
is R independent runs, identical (1e-12) to R separate runs with scalar hyperparameters."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimlab.optim as oo

STEPS = 30
R, D = 3, 5


pytestmark = pytest.mark.usefixtures("float64")  # conftest.float64: float64 scalar state, as torch keeps it


def grad_field(p: torch.Tensor, k: int) -> torch.Tensor:
    return 0.5 * p + torch.sin(3.0 * p + 0.7 * k) + 0.1 * torch.cos(k * p)


def start() -> torch.Tensor:
    return torch.randn(R, D, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def run(cls, kw, p0, steps=STEPS):
    p = p0.clone().requires_grad_()
    opt = cls([p], **kw)
    out = []
    for k in range(steps):
        if cls is oo.NAG:
            def closure(k=k):
                p.grad = grad_field(p.detach(), k)
                return 0.0
            opt.step(closure)
        else:
            p.grad = grad_field(p.detach(), k)
            opt.step()
        out.append(p.detach().clone())
    return torch.stack(out)


def column(values):
    return torch.tensor(values, dtype=torch.float64).reshape(R, 1)


def check_runs(cls, per_run: dict, fixed: dict):
    """per_run: name -> R values (betas: a pair of R-lists)."""
    batched_kw = dict(fixed)
    for name, vals in per_run.items():
        batched_kw[name] = tuple(column(v) for v in vals) if name == "betas" else column(vals)
    batched = run(cls, batched_kw, start())
    for r in range(R):
        kw = dict(fixed)
        for name, vals in per_run.items():
            kw[name] = tuple(v[r] for v in vals) if name == "betas" else vals[r]
        single = run(cls, kw, start()[r])
        torch.testing.assert_close(batched[:, r], single, rtol=1e-12, atol=1e-12,
                                   msg=lambda m, r=r, kw=kw: f"run {r} ({kw}): {m}")


BETAS = ([0.9, 0.5, 0.0], [0.999, 0.9, 0.8])
CASES = [
    ("SGD", dict(lr=[0.1, 0.01, 0.0], weight_decay=[0.0, 0.1, 0.3]), {}),
    ("SGD", dict(lr=[0.1, 0.01, 0.05], momentum=[0.9, 0.5, 0.0], dampening=[0.0, 0.3, 0.9]), {}),
    ("SGD", dict(lr=[0.1, 0.01, 0.05], momentum=[0.9, 0.5, 0.2]), dict(nesterov=True)),
    ("SGD", dict(lr=[0.1, 0.01, 0.05], momentum=[0.9, 0.5, 0.2], dampening=[0.0, 0.5, 0.2]),
     dict(nesterov=True, momentum_form="velocity")),
    ("SGD", dict(lr=[0.1, 0.01, 0.05], lr_decay=[0.0, 0.1, 1.0], momentum=[0.9, 0.5, 0.2]), {}),
    ("NAG", dict(lr=[0.1, 0.01, 0.05], momentum=[0.9, 0.5, 0.0], weight_decay=[0.0, 0.1, 0.3]), {}),
    ("Adagrad", dict(lr=[0.1, 0.01, 0.5], lr_decay=[0.0, 0.1, 0.5], eps=[1e-10, 1e-3, 0.1],
                     weight_decay=[0.0, 0.1, 0.3]), {}),
    ("Adagrad", dict(lr=[0.1, 0.01, 0.5], eps=[1e-10, 1e-3, 0.1], initial_accumulator_value=[0.0, 0.1, 2.0]),
     dict(eps_in_sqrt=True)),
    ("RMSprop", dict(lr=[0.01, 0.001, 0.02], alpha=[0.99, 0.9, 0.5], eps=[1e-8, 1e-3, 0.1],
                     weight_decay=[0.0, 0.1, 0.3], momentum=[0.0, 0.5, 0.9]), dict(centered=True)),
    ("RMSprop", dict(lr=[0.01, 0.001, 0.02], momentum=[0.1, 0.5, 0.9]),
     dict(momentum_form="velocity", eps_in_sqrt=True)),
    ("Adadelta", dict(lr=[1.0, 0.5, 0.1], rho=[0.9, 0.5, 0.99], eps=[1e-6, 1e-3, 0.1], weight_decay=[0.0, 0.1, 0.3]),
     {}),
    ("Adam", dict(lr=[0.01, 0.001, 0.1], betas=BETAS, eps=[1e-8, 1e-3, 0.1], weight_decay=[0.0, 0.1, 0.3]), {}),
    ("Adam", dict(lr=[0.01, 0.001, 0.1], betas=BETAS), dict(amsgrad=True, eps_hat=True)),
    ("Adam", dict(lr=[0.01, 0.001, 0.1], betas=BETAS, eps=[1e-8, 1e-3, 0.1]),
     dict(eps_in_sqrt=True, bias_correction=False)),
    ("AdamW", dict(lr=[0.01, 0.001, 0.1], betas=BETAS, weight_decay=[0.0, 0.1, 0.3]), dict(amsgrad=True)),
    ("Adamax", dict(lr=[0.01, 0.001, 0.1], betas=BETAS, eps=[1e-8, 1e-3, 0.1], weight_decay=[0.0, 0.1, 0.3]), {}),
    ("Adamax", dict(lr=[0.01, 0.001, 0.1], betas=BETAS), dict(eps_inside_max=False)),
    ("NAdam", dict(lr=[0.01, 0.001, 0.1], betas=BETAS, eps=[1e-8, 1e-3, 0.1], weight_decay=[0.0, 0.1, 0.3],
                   momentum_decay=[4e-3, 0.1, 0.0]), {}),
    ("NAdam", dict(lr=[0.01, 0.001, 0.1], betas=BETAS), dict(eps_in_sqrt=True, decoupled_weight_decay=True,
                                                            weight_decay=0.1)),
    # β₂ 0.999 / 0.9 / 0.8: the rectification starts at different steps in each run
    ("RAdam", dict(lr=[0.01, 0.001, 0.1], betas=BETAS, eps=[1e-8, 1e-3, 0.1], weight_decay=[0.0, 0.1, 0.3]), {}),
    ("RAdam", dict(lr=[0.01, 0.001, 0.1], betas=BETAS), dict(eps_in_sqrt=True)),
]


@pytest.mark.parametrize("name,per_run,fixed", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_batched_hyperparameters_equal_separate_runs(name, per_run, fixed):
    check_runs(getattr(oo, name), per_run, fixed)


def test_a_scalar_tensor_hyperparameter_is_one_run():
    """A 0-d tensor lr (torch allows it) gives the same numbers as the float."""
    p0 = start()
    torch.testing.assert_close(run(oo.Adam, dict(lr=torch.tensor(0.01)), p0), run(oo.Adam, dict(lr=0.01), p0),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(lrs=st.lists(st.floats(1e-4, 0.2), min_size=R, max_size=R),
       b1=st.lists(st.floats(0.0, 0.99), min_size=R, max_size=R),
       b2=st.lists(st.floats(0.0, 0.999), min_size=R, max_size=R),
       amsgrad=st.booleans())
def test_random_batched_adam_runs(lrs, b1, b2, amsgrad):
    check_runs(oo.Adam, dict(lr=lrs, betas=(b1, b2)), dict(amsgrad=amsgrad))
