"""torch 2.13's optimizer contract on state dicts (``TestOptimRenewed``: deterministic state
dicts, ``weights_only`` round trips, older formats, plain-number steps, named parameters),
on optimlab's twins with torch's ``optim_db`` sample inputs (helpers in optim_suite.py)."""

from __future__ import annotations

import copy
import functools
import io

import pytest
import torch
from optim_suite import (
    CLASSES,
    close,
    fwd_bwd,
    inputs,
    same_state_dict,
    step_model,
)
from torch.nn import Parameter


# ----------------------------------------------------------------- state dicts
@CLASSES
def test_state_dict_is_deterministic_and_resumes_exactly(cls):
    for desc, kw in inputs(cls):
        torch.manual_seed(5)
        w, b, x = Parameter(torch.randn(2, 3)), Parameter(torch.randn(2)), torch.randn(3)
        opt = cls([w, b], **copy.deepcopy(kw))
        for _ in range(4):
            opt.step(functools.partial(fwd_bwd, opt, w, b, x))
        wc, bc = Parameter(w.detach().clone()), Parameter(b.detach().clone())
        opt_c = cls([wc, bc], **copy.deepcopy(kw))
        opt_c.load_state_dict(copy.deepcopy(opt.state_dict()))
        for _ in range(4):
            opt.step(functools.partial(fwd_bwd, opt, w, b, x))
            opt_c.step(functools.partial(fwd_bwd, opt_c, wc, bc, x))
            close((w, b), (wc, bc), what=desc)
        same_state_dict(opt.state_dict(), opt_c.state_dict())
        opt_c.param_groups.extend(opt_c.param_groups)
        same_state_dict(opt.state_dict()["param_groups"][-1], opt_c.state_dict()["param_groups"][-1])


@CLASSES
def test_weights_only_round_trip_and_older_state_dicts(cls):
    new_flags = ("maximize", "foreach", "fused", "differentiable", "capturable")
    for desc, kw in inputs(cls):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Conv2d(4, 2, 1, stride=2), torch.nn.BatchNorm2d(2))
        x = torch.rand(1, 4, 16, 16)
        opt = cls(model.parameters(), **copy.deepcopy(kw))
        for _ in range(3):
            step_model(opt, model, x)
        buf = io.BytesIO()
        torch.save(opt.state_dict(), buf)
        buf.seek(0)
        loaded = torch.load(buf, weights_only=True)
        clone = copy.deepcopy(model)
        opt_c = cls(clone.parameters(), **copy.deepcopy(kw))
        opt_c.load_state_dict(loaded)
        for _ in range(2):
            step_model(opt, model, x)
            step_model(opt_c, clone, x)
            close(list(model.parameters()), list(clone.parameters()), what=desc)
        old = copy.deepcopy(opt.state_dict())
        for group in old["param_groups"]:
            for flag in new_flags:
                group.pop(flag, None)
        opt.load_state_dict(old)
        step_model(opt, model, x)


@CLASSES
def test_plain_number_step_loads(cls):
    params = [Parameter(torch.randn(2, 3)) for _ in range(2)]
    for p in params:
        p.grad = torch.rand_like(p)
    for desc, kw in inputs(cls):
        opt = cls(params, **kw)
        for _ in range(3):
            opt.step()
        sd = copy.deepcopy(opt.state_dict())
        for s in sd["state"].values():
            if torch.is_tensor(s.get("step")):
                s["step"] = s["step"].item()
        opt.load_state_dict(sd)
        opt.step()
        for s in opt.state.values():
            assert "step" not in s or torch.is_tensor(s["step"]), desc


@CLASSES
@pytest.mark.parametrize("named", [(False, True), (True, False), (True, True)])
def test_named_parameters_state_dicts(cls, named):
    torch.manual_seed(6)
    models = [torch.nn.Linear(3, 2) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cls(m.named_parameters() if n else m.parameters()) for m, n in zip(models, named)]
    x = torch.randn(4, 3)
    for _ in range(2):
        step_model(opts[0], models[0], x)
    opts[1].load_state_dict(copy.deepcopy(opts[0].state_dict()))
    models[1].load_state_dict(models[0].state_dict())
    step_model(opts[0], models[0], x)
    step_model(opts[1], models[1], x)
    close(list(models[0].parameters()), list(models[1].parameters()))


