"""torch 2.13's own optimizer contract (``TestOptimRenewed`` in PyTorch's test/test_optim.py):
errors, iterates, complex parameters, no-op steps, hooks and lr, checked on optimlab's twins
with the sample inputs of torch's installed ``optim_db`` (helpers in optim_suite.py).

The checks are ours, written after what those tests verify; where torch's test only
asks "did the loss go down", ours compares every iterate with the torch twin run on
the same data (``foreach=False``, torch's reference for-loop), which is stronger.

CPU only: the CUDA tests of that file (multi-GPU, ``capturable``, fused-CPU-vs-CUDA, peak
memory, large tensors, ``set_default_dtype`` with foreach, CUDA state_dict moves) are not
run here. State dicts: test_optim_torch_state.py; sparse, fused edges, differentiable:
test_optim_torch_special.py.
"""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from optim_suite import (
    CLASSES,
    EXCLUDED,
    INFO,
    TWINS,
    assert_error_as_torch,
    classes,
    close,
    error_cases,
    fwd_bwd,
    inputs,
    linear_params,
    linear_run,
    reference_kwargs,
    twin,
)
from torch.nn import Parameter

import optimlab.optim as oo


# ------------------------------------------------------------------ test_errors
@pytest.mark.parametrize("cls, index", error_cases(TWINS))
def test_errors_as_torch(cls, index):
    """Each of torch's error inputs raises (or warns) with torch's type and a message matching torch's."""
    assert_error_as_torch(cls, TWINS[cls], index)


@CLASSES
@pytest.mark.parametrize("contiguous", [True, False])
def test_forloop_goes_the_twins_way(cls, contiguous):
    for desc, kw in inputs(cls, torch.float64):
        w, b, x = linear_params(contiguous)
        ours = linear_run(cls, kw, Parameter(w.clone()), Parameter(b.clone()), x)
        ref = linear_run(twin(cls), reference_kwargs(kw), Parameter(w.clone()), Parameter(b.clone()), x)
        close(ours, ref, what=desc)


def _two_groups(weight_kw, bias_kw):
    return lambda weight, bias: [{"params": [weight], **weight_kw}, {"params": [bias], **bias_kw}]


@CLASSES
def test_param_groups_weight_decay_and_lr(cls):
    """Per-group weight decay and lr as the twin (torch's two param-group tests)."""
    for desc, kw in inputs(cls, torch.float64):
        kw.setdefault("lr", 1e-3)
        kw["lr"] = kw["lr"] or 1e-3
        bias_kw = {**copy.deepcopy(kw), "weight_decay": 0.0}
        w, b, x = linear_params(True)

        ours = linear_run(cls, {}, Parameter(w.clone()), Parameter(b.clone()), x, groups=_two_groups(kw, bias_kw))
        # torch fills every Adagrad accumulator with the constructor's initial_accumulator_value,
        # optimlab with the group's (docs/optimizers.md): give torch the group's value
        outer = {k: kw[k] for k in ("initial_accumulator_value",) if k in kw}
        ref = linear_run(twin(cls), {"foreach": False, **outer}, Parameter(w.clone()), Parameter(b.clone()), x,
                         groups=_two_groups(reference_kwargs(kw), reference_kwargs(bias_kw)))
        close(ours, ref, what=desc)
        if cls in EXCLUDED["tiny_lr"]:
            continue
        irrelevant = Parameter(torch.randn(2, dtype=torch.float64))
        before = irrelevant.detach().clone()
        opt = cls([dict(params=[irrelevant])], lr=1e-28)
        irrelevant.grad = torch.rand_like(irrelevant)
        opt.step()
        close(irrelevant.detach(), before)


def _model(dtype):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    return model.to(dtype)


def _derived_run(cls, kw, dtype=torch.float64, iterations=7):
    """torch's fused/foreach-vs-forloop protocol: a small MLP, a 0-dim last parameter,
    no gradients at iteration 3 (a no-op step)."""
    model = _model(dtype)
    x = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], dtype=dtype).reshape(3, 2)
    empty = torch.tensor(0.5, dtype=dtype, requires_grad=True)
    params = list(model.parameters()) + [empty]
    opt = cls(params, **kw)
    for i in range(iterations):
        opt.zero_grad()
        empty.grad = torch.rand_like(empty, dtype=dtype) if i == 0 else empty.grad
        if i != 3:
            model(x).sum().backward()
        opt.step()
    return params, opt


@CLASSES
def test_every_impl_matches_the_twins_forloop(cls):
    """foreach=True/False, fused=True/False/None against torch's for-loop: params and state."""
    for desc, kw in inputs(cls, torch.float64):
        for variant in ({}, {"fused": None}) if "fused" not in kw else ({},):
            ours_kw = {**copy.deepcopy(kw), **variant}
            torch.manual_seed(2)
            ours, opt = _derived_run(cls, ours_kw)
            torch.manual_seed(2)
            ref, ref_opt = _derived_run(twin(cls), reference_kwargs(kw))
            for p, q in zip(ours, ref):
                close(p, q, what=f"{desc} {variant}")
                for k, v in ref_opt.state[q].items():
                    close(opt.state[p][k], v, check_dtype=False, what=f"{desc} state {k}")
                assert set(opt.state[p]) == set(ref_opt.state[q]), desc


# -------------------------------------------------------------------- complex
@classes("complex")
def test_complex_is_its_real_view(cls):
    for desc, kw in inputs(cls, torch.complex64):
        torch.manual_seed(3)
        cplx = [torch.randn(10, 5, dtype=torch.complex64, requires_grad=True),
                torch.randn(10, dtype=torch.complex64, requires_grad=True),
                torch.randn(10, 5, dtype=torch.float32, requires_grad=True)]  # mixed with a real one
        real = [(torch.view_as_real(p) if p.is_complex() else p).detach().clone().requires_grad_() for p in cplx]
        if kw.get("fused"):  # torch refuses complex parameters on its fused path, and so do we
            with pytest.raises(RuntimeError, match="`fused=True` requires all the params to be floating point"):
                opt = cls(cplx, **kw)
                for p in cplx:
                    p.grad = torch.zeros_like(p)
                opt.step()
            continue
        opt_c, opt_r = cls(cplx, **kw), cls(real, **copy.deepcopy(kw))
        for _ in range(3):
            for pc, pr in zip(cplx, real):
                pr.grad = torch.randn_like(pr)
                pc.grad = torch.view_as_complex(pr.grad) if pc.is_complex() else pr.grad.clone()
            opt_c.step()
            opt_r.step()
            for pc, pr in zip(cplx, real):
                close(torch.view_as_real(pc.detach()) if pc.is_complex() else pc.detach(), pr.detach(),
                      what=desc)


def _rosenbrock(t):
    """A mild Rosenbrock (b = 1) that stays finite for every sample configuration."""
    x, y = t
    return (1 - x) ** 2 + (y - x ** 2) ** 2


@classes("complex")
def test_complex_2d_equals_real_and_imaginary_parts(cls):
    for desc, kw in inputs(cls, torch.complex64, skip=("differentiable", "fused")):
        torch.manual_seed(4)
        a = torch.randn(2, dtype=torch.complex64, requires_grad=True)
        re, im = a.real.detach().clone().requires_grad_(), a.imag.detach().clone().requires_grad_()
        opt1, opt2 = cls([a], **kw), cls([re, im], **copy.deepcopy(kw))
        for _ in range(10):
            opt1.zero_grad()
            opt2.zero_grad()
            _rosenbrock(a).abs().backward()
            _rosenbrock(torch.complex(re, im)).abs().backward()
            opt1.step()
            opt2.step()
            close(a.real.detach(), re.detach(), what=desc)
            close(a.imag.detach(), im.detach(), what=desc)


# ---------------------------------------------------------------- no-op steps
@classes("zero_grad_step")
def test_no_grad_and_zero_grad_steps_change_nothing(cls):
    for desc, kw in inputs(cls, skip=()):
        params = [torch.randn(2, 3) for _ in range(2)]  # no requires_grad, no grad
        before = [p.clone() for p in params]
        cls(params, **copy.deepcopy(kw)).step(lambda: torch.tensor([1.0]))
        close(params, before)
        if kw.get("weight_decay", 0) != 0:
            continue
        if cls is oo.AdamW:
            kw["lr"] = torch.tensor(1e-4) if isinstance(kw.get("lr"), torch.Tensor) else 1e-4
        param = torch.randn(5, 1, requires_grad=True)
        p = param.clone() if kw.get("differentiable") else param
        old = p.detach().clone()
        opt = cls([p], **kw)
        p.grad = torch.zeros_like(p)
        opt.step()
        close(p.detach(), old, what=desc)


@CLASSES
def test_repr_deepcopy_and_non_empty_state(cls):
    for desc, kw in inputs(cls, skip=("differentiable",)):
        model = torch.nn.Linear(5, 5)
        opt = cls(model.parameters(), **kw)
        repr(opt)
        model(torch.rand(2, 5)).sum().backward()
        for _ in range(3):
            opt.step()
        assert all(len(s) > 0 for s in opt.state.values()), desc  # no empty entries, as torch
        public = {k for k in opt.__dict__ if not k.startswith("_")}
        assert public == {k for k in copy.deepcopy(opt).__dict__ if not k.startswith("_")}


# ------------------------------------------------------------------ hooks, lr
@CLASSES
def test_step_and_state_dict_hooks_run(cls):
    p = Parameter(torch.randn(3))
    p.grad = torch.ones(3)
    opt = cls([p])
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.register_state_dict_post_hook(lambda o, sd: calls.append("sd"))
    opt.register_load_state_dict_pre_hook(lambda o, sd: calls.append("load"))
    opt.step()
    opt.load_state_dict(opt.state_dict())
    assert calls == ["pre", "post", "sd", "load"]


@CLASSES
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_tensor_lr_equals_the_float(cls, shape):
    for desc, kw in inputs(cls, torch.float64, skip=("differentiable",)):
        if isinstance(kw.get("lr"), torch.Tensor):
            continue
        lr = kw.pop("lr", 1e-3)
        w, b, x = linear_params(True)
        as_float = linear_run(cls, {**kw, "lr": lr}, Parameter(w.clone()), Parameter(b.clone()), x, steps=5)
        as_tensor = linear_run(cls, {**kw, "lr": torch.tensor(lr, dtype=torch.float64).reshape(shape)},
                                Parameter(w.clone()), Parameter(b.clone()), x, steps=5)
        close(as_float, as_tensor, what=desc)


@CLASSES
def test_lr_schedulers_as_the_twin(cls):
    info = INFO[TWINS[cls]]
    for make_scheduler in info.scheduler_inputs:
        results = []
        for c, extra in ((cls, {}), (twin(cls), {"foreach": False})):
            w, b, x = linear_params(True)
            weight, bias = Parameter(w), Parameter(b)
            opt = c([weight, bias], lr=0.1 if cls is not oo.Adadelta else 1.0, **extra)
            scheds = [s(opt) for s in make_scheduler]
            for _ in range(10):
                opt.step(functools.partial(fwd_bwd, opt, weight, bias, x))
                for s in scheds:
                    if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
                        s.step(fwd_bwd(opt, weight, bias, x).item())
                    else:
                        s.step()
            results.append((weight.detach(), bias.detach()))
        close(*results)


