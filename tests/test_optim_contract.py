"""Regression tests for torch.optim contract defects (issue 8): half-precision SGD,
state loading (shapes, plain-number steps, Adam → AdamW), empty state entries, and
what may reach a fused kernel."""

from __future__ import annotations

import copy

import pytest
import torch

import optimlab.optim as oo


def _steps(opt, p, grads):
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return p.detach()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_default_sgd_moves_half_precision_parameters(dtype, momentum):
    """64 elements: torch 2.13's CPU fused SGD would leave them unchanged."""
    gen = torch.Generator().manual_seed(0)
    p0 = torch.randn(64, generator=gen).to(dtype)
    grads = [torch.randn(64, generator=gen).to(dtype) for _ in range(2)]
    ours = _steps(oo.SGD([p := p0.clone().requires_grad_()], lr=0.1, momentum=momentum), p, grads)
    ref = _steps(torch.optim.SGD([q := p0.clone().requires_grad_()], lr=0.1, momentum=momentum, foreach=False),
                 q, grads)
    torch.testing.assert_close(ours, ref)
    assert not torch.equal(ours, p0)


def test_sgd_without_momentum_keeps_no_state():
    p = torch.ones(3, requires_grad=True)
    opt = oo.SGD([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    assert opt.state_dict()["state"] == {} == torch.optim.SGD([p], lr=0.1).state_dict()["state"]


def test_adamw_loading_an_adam_state_keeps_decoupled_decay():
    """As torch's AdamW: the loaded group's decoupled_weight_decay=False is overridden."""
    gen = torch.Generator().manual_seed(1)
    p0, grads = torch.randn(5, generator=gen, dtype=torch.float64), [torch.randn(5, generator=gen,
                                                                                 dtype=torch.float64) for _ in range(4)]
    runs = []
    for adam, adamw in ((oo.Adam, oo.AdamW), (torch.optim.Adam, torch.optim.AdamW)):
        p = p0.clone().requires_grad_()
        first = adam([p], lr=0.1, weight_decay=0.5)
        _steps(first, p, grads[:2])
        second = adamw([p], lr=0.1, weight_decay=0.5)
        second.load_state_dict(first.state_dict())
        assert second.param_groups[0]["decoupled_weight_decay"] is True
        runs.append(_steps(second, p, grads[2:]))
    torch.testing.assert_close(runs[0], runs[1], rtol=1e-12, atol=1e-12)


def _trained(cls, shape, **kw):
    p = torch.zeros(shape, requires_grad=True)
    opt = cls([p], **kw)
    p.grad = torch.ones(shape)
    opt.step()
    return opt


@pytest.mark.parametrize("cls, kw", [(oo.Adam, {}), (oo.Adam, {"fused": True}), (oo.SGD, {"momentum": 0.9}),
                                     (oo.Adagrad, {}), (oo.NAdam, {}), (oo.RMSprop, {"centered": True})],
                         ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
@pytest.mark.parametrize("saved, target", [((3,), (10_000_000,)), ((4,), (5,)), ((2, 3), (3, 2))])
def test_a_state_of_another_shape_is_refused_and_nothing_loads(cls, kw, saved, target):
    state = _trained(cls, saved, **kw).state_dict()
    p = torch.zeros(target, requires_grad=True)
    opt = cls([p], **kw)
    with pytest.raises(RuntimeError, match=rf"state\[0\]\[.*\] \(parameter 0 of shape \({target[0]},.*the size of the "
                                           rf"state tensor \({saved[0]},.*must match the size of the parameter"):
        opt.load_state_dict(state)
    assert len(opt.state) == 0
    p.grad = torch.ones(target)
    opt.step()  # the optimizer is as it was: a fresh state, no out-of-bounds access
    assert opt.state[p][next(k for k in opt.state[p] if k != "step")].shape == target


def test_a_state_of_the_wrong_kind_is_refused():
    sd = _trained(oo.Adam, (4,)).state_dict()
    bad = copy.deepcopy(sd)
    bad["state"][0]["exp_avg"] = torch.zeros(4, dtype=torch.complex64)
    with pytest.raises(RuntimeError, match=r"state\[0\]\['exp_avg'\].*complex64, which does not fit a torch.float32"):
        oo.Adam([torch.zeros(4, requires_grad=True)]).load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["state"][0]["exp_avg_sq"] = [0.0] * 4
    with pytest.raises(RuntimeError, match=r"state\[0\]\['exp_avg_sq'\].*must be a tensor, got list"):
        oo.Adam([torch.zeros(4, requires_grad=True)]).load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["state"][0]["step"] = torch.ones(3)
    with pytest.raises(RuntimeError, match=r"state\[0\]\['step'\].*broadcast against the parameter"):
        oo.Adam([torch.zeros(4, requires_grad=True)]).load_state_dict(bad)


def test_a_state_saved_in_float64_is_cast_as_torch_casts_it():
    sd = _trained(oo.Adam, (4,)).state_dict()
    for k in ("exp_avg", "exp_avg_sq"):
        sd["state"][0][k] = sd["state"][0][k].double()
    opt = oo.Adam([p := torch.zeros(4, requires_grad=True)])
    opt.load_state_dict(sd)
    assert opt.state[p]["exp_avg"].dtype == torch.float32


def test_a_plain_number_step_becomes_a_tensor():
    opt = _trained(oo.NAdam, (3,))
    sd = opt.state_dict()
    sd["state"][0]["step"] = 1
    sd["state"][0]["mu_product"] = float(sd["state"][0]["mu_product"])
    fresh = oo.NAdam([p := torch.zeros(3, requires_grad=True)])
    fresh.load_state_dict(sd)
    assert torch.is_tensor(fresh.state[p]["step"]) and torch.is_tensor(fresh.state[p]["mu_product"])
    p.grad = torch.ones(3)
    fresh.step()
    assert fresh.state[p]["step"].item() == 2.0


def test_a_state_tensor_with_other_strides_never_reaches_the_kernel(monkeypatch):
    """exp_avg replaced by a same-shape tensor of other strides: the readable path, torch's numbers."""
    gen = torch.Generator().manual_seed(2)
    p0 = torch.randn(4, 3, generator=gen)
    grads = [torch.randn(4, 3, generator=gen) for _ in range(3)]
    opt = oo.Adam([p := p0.clone().requires_grad_()], lr=0.1)
    ref = torch.optim.Adam([q := p0.clone().requires_grad_()], lr=0.1, foreach=False)
    _steps(opt, p, grads[:1])
    _steps(ref, q, grads[:1])
    opt.state[p]["exp_avg"] = opt.state[p]["exp_avg"].t().contiguous().t()
    calls = []
    monkeypatch.setattr(torch, "_fused_adam_", lambda *a, **k: calls.append(1))
    torch.testing.assert_close(_steps(opt, p, grads[1:]), _steps(ref, q, grads[1:]))
    assert not calls


def test_nag_refuses_differentiable_with_the_alternative():
    with pytest.raises(NotImplementedError, match=r"NAG: differentiable=True.*SGD\(nesterov=True\)"):
        oo.NAG([torch.zeros(2, requires_grad=True)], differentiable=True)


def test_a_refused_fused_group_changes_no_other_group():
    a, b = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    opt = oo.Adam([{"params": [a]}, {"params": [b], "fused": True, "eps_in_sqrt": True}])
    a.grad, b.grad = torch.ones(3), torch.ones(3)
    with pytest.raises(ValueError, match="fused=True is not possible here: eps_in_sqrt=True"):
        opt.step()
    assert torch.equal(a.detach(), torch.ones(3)) and len(opt.state) == 0
