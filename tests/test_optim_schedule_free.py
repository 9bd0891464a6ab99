"""Schedule-Free SGD / AdamW / RAdam against the authors' package ``schedulefree`` (1.4.1), step
for step in float64, with ``train()`` before and ``eval()`` after every step (so both the
training point y and the evaluation point x are compared)."""

from __future__ import annotations

import pytest
import schedulefree
import torch
from modern_suite import assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")

CASES = [
    ("SGDScheduleFree", {}),
    ("SGDScheduleFree", dict(lr=0.1, momentum=0.8, weight_decay=0.05, warmup_steps=5, r=0.5, weight_lr_power=1.0)),
    ("AdamWScheduleFree", {}),
    ("AdamWScheduleFree", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1, warmup_steps=10, r=1.0)),
    ("RAdamScheduleFree", {}),  # silent first steps: only v moves while rho_t <= 4
    ("RAdamScheduleFree", dict(lr=0.05, silent_sgd_phase=False)),  # SGD steps first
    ("RAdamScheduleFree", dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.1, r=0.5, weight_lr_power=0.0)),
]


def train(opt):
    opt.train()


def evaluate(opt):
    opt.eval()


@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_schedule_free_equals_the_authors_package(name, kw, foreach):
    p0 = start()
    ours = trajectory(lambda ps: getattr(oo, name)(ps, **kw), p0, before=train, after=evaluate)
    ref = trajectory(lambda ps: getattr(schedulefree, name)(ps, foreach=foreach, **kw), p0, before=train,
                     after=evaluate)
    assert_same(ours, ref)
    assert ours[-1][0].sub(p0[0]).abs().max() > 1e-3


@pytest.mark.parametrize("name", ["SGDScheduleFree", "AdamWScheduleFree", "RAdamScheduleFree"])
def test_schedule_free_group_keys_and_modes_follow_the_package(name):
    def run(cls):
        ps = [p.clone().requires_grad_() for p in start()]
        opt = cls([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.01}], lr=0.02)
        with pytest.raises(Exception, match="not in train mode"):
            opt.step()
        for k in range(8):
            opt.train()
            opt.train()  # a second call changes nothing
            for p in ps:
                p.grad = torch.cos(p.detach() * k)
            opt.step()
        opt.eval()
        opt.eval()
        return opt, [p.detach().clone() for p in ps]
    ours, x = run(getattr(oo, name))
    ref, x_ref = run(getattr(schedulefree, name))
    assert_same([x], [x_ref])
    for g, h in zip(ours.param_groups, ref.param_groups):
        assert g["k"] == h["k"] == 8 and g["train_mode"] is h["train_mode"] is False
        for key in ("weight_sum", "lr_max", "scheduled_lr"):
            assert g[key] == pytest.approx(h[key], rel=1e-12, abs=0), key


def test_step_in_eval_mode_is_refused_before_anything_changes():
    p = torch.ones(2, requires_grad=True)
    opt = oo.AdamWScheduleFree([p])
    p.grad = torch.ones(2)
    with pytest.raises(RuntimeError, match=r"^Optimizer was not in train mode when step is called\. Please insert "
                                           r"\.train\(\) and \.eval\(\) calls"):
        opt.step()
    assert p.detach().eq(1).all() and not opt.state and opt.param_groups[0]["k"] == 0


@pytest.mark.parametrize("name,per_run,fixed", [
    ("SGDScheduleFree", dict(lr=[0.1, 0.01, 0.5], momentum=[0.9, 0.5, 0.1], weight_decay=[0.0, 0.1, 0.3],
                             r=[0.0, 0.5, 1.0]), dict(warmup_steps=4)),
    ("AdamWScheduleFree", dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.1], [0.999, 0.9, 0.5]),
                               eps=[1e-8, 1e-3, 0.1], weight_lr_power=[2.0, 1.0, 0.0]), dict(weight_decay=0.1)),
    # β₂ 0.999 / 0.9 / 0.5: the rectification starts at different steps in each run
    ("RAdamScheduleFree", dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.1], [0.999, 0.9, 0.5])), {}),
    ("RAdamScheduleFree", dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.1], [0.999, 0.9, 0.5])),
     dict(silent_sgd_phase=False)),
])
def test_schedule_free_batched_runs_equal_the_runs_alone(name, per_run, fixed):
    runs_equal_alone(getattr(oo, name), per_run, fixed, before=train)


@pytest.mark.parametrize("name", ["SGDScheduleFree", "AdamWScheduleFree", "RAdamScheduleFree"])
def test_schedule_free_state_dict_round_trip(name):
    state_dict_round_trip(lambda ps: getattr(oo, name)(ps, lr=0.02, weight_decay=0.01), before=train)


def test_schedule_free_bad_hyperparameters_name_the_argument():
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^momentum must be in \(0, 1\), got 1\.0 \(torch: Momentum must be between "
                                         r"0 and 1 exclusive: 1\.0\)$"):
        oo.SGDScheduleFree(w, momentum=1.0)
    with pytest.raises(ValueError, match=r"^betas\[0\] must be in \(0, 1\), got 0\.0"):
        oo.AdamWScheduleFree(w, betas=(0.0, 0.999))
    with pytest.raises(ValueError, match=r"^lr_decay must be 0.0 here \(a schedule-free method replaces"):
        oo.RAdamScheduleFree(w, lr_decay=0.1)
    with pytest.raises(ValueError, match=r"^decoupled_weight_decay must be False here"):
        oo.AdamWScheduleFree(w, decoupled_weight_decay=True)
    with pytest.raises(ValueError, match=r"^warmup_steps must be >= 0, got -1$"):
        oo.SGDScheduleFree(w, warmup_steps=-1)
    with pytest.raises(ValueError, match=r"^silent_sgd_phase must be True or False"):
        oo.RAdamScheduleFree(w, silent_sgd_phase="yes")


@pytest.mark.parametrize("dtype", [torch.complex128, torch.float32])
def test_schedule_free_complex_and_float32_runs_equal_their_real_float64_twins(dtype):
    """A complex parameter is its (real, imaginary) pairs; float32 parameters with float64
    per-run hyperparameters work (the step-wide numbers take the parameter's dtype)."""
    lr = torch.tensor([[0.01], [0.05], [0.1]], dtype=torch.float64)
    beta1 = torch.tensor([[0.9], [0.5], [0.8]], dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    z0 = torch.randn(3, 4, dtype=dtype, generator=g)
    real0 = torch.view_as_real(z0).clone() if dtype.is_complex else z0.clone().double()

    def run(x0, lr, beta1):
        x = x0.clone().requires_grad_()
        opt = oo.AdamWScheduleFree([x], lr=lr, betas=(beta1, 0.999), weight_decay=0.1)
        for k in range(30):
            opt.train()
            r = torch.view_as_real(x.detach()) if x.is_complex() else x.detach()
            g = torch.sin(r * (k + 1))  # the same field on the real pairs
            x.grad = torch.view_as_complex(g) if x.is_complex() else g
            opt.step()
            opt.eval()
        return torch.view_as_real(x.detach()) if x.is_complex() else x.detach().double()

    tol = 1e-12 if dtype.is_complex else 1e-5
    twin = run(real0, lr.reshape(3, 1, 1) if dtype.is_complex else lr, beta1.reshape(3, 1, 1) if dtype.is_complex
               else beta1)
    torch.testing.assert_close(run(z0, lr, beta1), twin, rtol=tol, atol=tol)
