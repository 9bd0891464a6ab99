"""The torch.optim.Optimizer contract: state_dict (own and the torch twin's), param
groups, add_param_group, zero_grad, step(closure), step hooks, and every common
learning-rate scheduler giving the same trajectory as with the torch twin."""

from __future__ import annotations

import io

import pytest
import torch
from torch.optim import lr_scheduler as S

import optimlab.optim as oo

STEPS = 30
TWINS = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam", "RAdam"]
# options that fill every state slot (momentum buffers, amsgrad, centered)
KW = {"SGD": dict(lr=0.05, momentum=0.9), "Adagrad": dict(lr=0.1, lr_decay=0.01),
      "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
      "Adadelta": dict(), "Adam": dict(lr=0.01, amsgrad=True), "AdamW": dict(lr=0.01), "Adamax": dict(lr=0.01),
      "NAdam": dict(lr=0.01), "RAdam": dict(lr=0.01), "NAG": dict(lr=0.05, momentum=0.9)}


pytestmark = pytest.mark.usefixtures("float64")  # conftest.float64: float64 scalar state, as torch keeps it


def grad_field(p, k):
    return 0.5 * p + torch.sin(3.0 * p + 0.7 * k) + 0.1 * torch.cos(k * p)


def params():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(4, 3, generator=g).requires_grad_(), torch.randn(5, generator=g).requires_grad_()]


def do_step(opt, ps, k):
    def closure():
        for p in ps:
            p.grad = grad_field(p.detach(), k)
        return sum(float(p.detach().sum()) for p in ps)
    if isinstance(opt, oo.NAG):
        return opt.step(closure)
    closure()
    return opt.step()


def close(a, b):
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)


def snapshot(ps):
    return [p.detach().clone() for p in ps]


def roundtrip(sd):
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


# ------------------------------------------------------------------- state_dict
@pytest.mark.parametrize("name", TWINS + ["NAG"])
@pytest.mark.parametrize("fused", [None, False])
def test_state_dict_round_trip_equals_an_uninterrupted_run(name, fused):
    cls = getattr(oo, name)
    kw = {**KW[name], "fused": fused}
    ps = params()
    opt = cls(ps, **kw)
    for k in range(STEPS):
        do_step(opt, ps, k)
    straight = snapshot(ps)

    ps = params()
    opt = cls(ps, **kw)
    for k in range(STEPS // 2):
        do_step(opt, ps, k)
    saved, saved_params = roundtrip(opt.state_dict()), snapshot(ps)
    ps2 = [p.clone().requires_grad_() for p in saved_params]
    opt2 = cls(ps2, **kw)
    opt2.load_state_dict(saved)
    for k in range(STEPS // 2, STEPS):
        do_step(opt2, ps2, k)
    close(snapshot(ps2), straight)


@pytest.mark.parametrize("name", TWINS)
def test_loading_the_torch_twins_state_continues_identically(name):
    theirs = getattr(torch.optim, name)
    ps = params()
    ref = theirs(ps, **KW[name])
    for k in range(STEPS):
        do_step(ref, ps, k)
    straight = snapshot(ps)

    ps = params()
    ref = theirs(ps, **KW[name])
    for k in range(STEPS // 2):
        do_step(ref, ps, k)
    ours = getattr(oo, name)(ps, **KW[name])
    ours.load_state_dict(roundtrip(ref.state_dict()))
    for k in range(STEPS // 2, STEPS):
        do_step(ours, ps, k)
    close(snapshot(ps), straight)


def test_state_dict_keeps_our_options():
    ps = params()
    opt = oo.Adam(ps, lr=0.01, eps_in_sqrt=True, nonfinite="skip")
    do_step(opt, ps, 0)
    opt2 = oo.Adam(params(), lr=0.5)
    opt2.load_state_dict(opt.state_dict())
    g = opt2.param_groups[0]
    assert (g["lr"], g["eps_in_sqrt"], g["nonfinite"]) == (0.01, True, "skip")


# ------------------------------------------------------------------ param groups
def test_add_param_group_is_used_and_validated():
    a, b = params()
    opt = oo.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [b], "lr": 0.01, "nesterov": True})
    ref = torch.optim.SGD([a2 := a.detach().clone().requires_grad_()], lr=0.1, momentum=0.9)
    ref.add_param_group({"params": [b2 := b.detach().clone().requires_grad_()], "lr": 0.01, "nesterov": True})
    for k in range(STEPS):
        do_step(opt, [a, b], k)
        do_step(ref, [a2, b2], k)
    close([a, b], [a2, b2])
    c = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"momentum must be >= 0, got -0\.5"):
        opt.add_param_group({"params": [c], "momentum": -0.5})
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        opt.add_param_group({"params": [c], "momentum": 0.0, "nesterov": True})
    assert len(opt.param_groups) == 2  # rejected groups leave nothing behind
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})


@pytest.mark.parametrize("name", TWINS)
def test_zero_grad(name):
    ps = params()
    opt = getattr(oo, name)(ps, **KW[name])
    do_step(opt, ps, 0)
    opt.zero_grad(set_to_none=False)
    assert all(torch.equal(p.grad, torch.zeros_like(p)) for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)
    before = snapshot(ps)
    opt.step()  # no gradient: no change, no error
    close(snapshot(ps), before)


@pytest.mark.parametrize("name", TWINS + ["NAG"])
def test_step_with_closure_returns_the_loss_and_hooks_run(name):
    ps = params()
    opt = getattr(oo, name)(ps, **KW[name])
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", snapshot(ps))))
    h2 = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", snapshot(ps))))

    def closure():
        opt.zero_grad()
        loss = sum((p ** 2).sum() for p in ps)
        loss.backward()
        return loss
    before = snapshot(ps)
    loss = opt.step(closure)
    expected = sum(float((p ** 2).sum()) for p in before)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-12)  # NAG: look-ahead = θ at the first step
    assert [c[0] for c in calls] == ["pre", "post"]
    close(calls[0][1], before)
    close(calls[1][1], snapshot(ps))
    assert not all(torch.equal(x, y) for x, y in zip(before, snapshot(ps)))
    h1.remove()
    h2.remove()
    opt.step(closure)
    assert len(calls) == 2


def test_named_parameters_and_param_groups_as_torch():
    model = torch.nn.Linear(3, 2)
    opt = oo.Adam(model.named_parameters(), lr=0.1)
    ref = torch.optim.Adam(model.named_parameters(), lr=0.1)
    assert opt.state_dict()["param_groups"][0]["param_names"] == ref.state_dict()["param_groups"][0]["param_names"]


# ------------------------------------------------------------------ schedulers
SCHEDULERS = {
    "StepLR": lambda o: S.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda o: S.MultiStepLR(o, milestones=[5, 12, 20], gamma=0.3),
    "ExponentialLR": lambda o: S.ExponentialLR(o, gamma=0.9),
    "LambdaLR": lambda o: S.LambdaLR(o, lambda e: 1 / (1 + 0.1 * e)),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=1e-4),
    "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=STEPS + 1,
                                        cycle_momentum="momentum" in o.defaults or "betas" in o.defaults),
    "CyclicLR": lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.05, step_size_up=5,
                                     cycle_momentum="momentum" in o.defaults or "betas" in o.defaults),
    "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2),
    "LinearLR": lambda o: S.LinearLR(o, start_factor=0.2, total_iters=10),
    "SequentialLR": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                 S.ExponentialLR(o, gamma=0.95)], milestones=[5]),
}


def scheduled_run(cls, kw, make_sched):
    ps = params()
    opt = cls(ps, **kw)
    sched = make_sched(opt)
    lrs = []
    for k in range(STEPS):
        do_step(opt, ps, k)
        if isinstance(sched, S.ReduceLROnPlateau):
            sched.step([3.0, 2.0, 2.5, 2.4, 2.6, 2.7][k % 6])  # plateaus after the second value
        else:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return snapshot(ps), lrs


@pytest.mark.parametrize("sched", sorted(SCHEDULERS))
@pytest.mark.parametrize("name", TWINS)
def test_schedulers_give_the_torch_twins_trajectory(name, sched):
    kw = dict(KW[name])
    if name == "RMSprop":
        kw["momentum"] = 0.9  # OneCycleLR/CyclicLR cycle the momentum
    if name == "SGD":
        kw["momentum"] = 0.9
    ours, ours_lrs = scheduled_run(getattr(oo, name), kw, SCHEDULERS[sched])
    ref, ref_lrs = scheduled_run(getattr(torch.optim, name), kw, SCHEDULERS[sched])
    assert ours_lrs == pytest.approx(ref_lrs, rel=1e-12)
    assert len(set(ref_lrs)) > 1  # the schedule did change the lr
    close(ours, ref)


def test_rmsprop_momentum_raised_by_a_scheduler_after_the_first_step_is_used():
    """Momentum 0 at the start (no buffer), then 0.9 (OneCycleLR/CyclicLR do this): the
    momentum takes effect, its buffer starting at 0 when it appears (as torch's SGD starts
    its buffer when momentum appears; torch's RMSprop fails on the missing buffer)."""
    ps, ref_ps = params(), params()
    opt = oo.RMSprop(ps, lr=0.01)
    ref = torch.optim.RMSprop(ref_ps, lr=0.01, momentum=1e-300)  # has a buffer; 1e-300·b vanishes in g/d
    for k in range(STEPS):
        if k == 5:
            for p in ref_ps:
                ref.state[p]["momentum_buffer"].zero_()
            ref.param_groups[0]["momentum"] = opt.param_groups[0]["momentum"] = 0.9
        do_step(opt, ps, k)
        do_step(ref, ref_ps, k)
    close(snapshot(ps), snapshot(ref_ps))
