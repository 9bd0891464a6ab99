"""Shared by the tests that check torch 2.13's own optimizer contract (``TestOptimRenewed``
in PyTorch's test/test_optim.py) on optimlab's twins, with the sample inputs of torch's
installed ``optim_db``: the table of twins and the helpers that run them.

A later optimizer with a torch twin joins every one of those tests by one line in ``TWINS``.
"""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from torch_optim_db import OptimizerErrorEnum, _get_optim_inputs_including_global_cliquey_kwargs, optim_db

import optimlab.optim as oo

# optimlab class -> the name of its twin's entry in torch's optim_db
TWINS = {oo.SGD: "SGD", oo.Adagrad: "Adagrad", oo.RMSprop: "RMSprop", oo.Adadelta: "Adadelta",
         oo.Adam: "Adam", oo.AdamW: "AdamW", oo.Adamax: "Adamax", oo.NAdam: "NAdam", oo.RAdam: "RAdam",
         oo.ASGD: "ASGD", oo.Rprop: "Rprop", oo.Adafactor: "Adafactor"}
INFO = {info.name: info for info in optim_db}
CLASSES = pytest.mark.parametrize("cls", list(TWINS), ids=lambda c: c.__name__)
# twins a generic check does not apply to, and why. Not in TWINS at all (their own tests are in
# test_optim_twins_more.py): LBFGS (needs a closure, one param group, keeps flat-vector state),
# Muon (2-D parameters only; the MLP and linear models here have biases), SparseAdam (sparse
# gradients only; these checks use dense ones).
EXCLUDED = {
    "complex": {c: "refuses complex parameters, as torch's" for c in TWINS if not INFO[TWINS[c]].supports_complex},
    "zero_grad_step": {oo.ASGD: "ASGD shrinks θ by λη even with a zero gradient (torch's optim_db skips it too)"},
    "tiny_lr": {oo.Rprop: "Rprop steps at least step_sizes[0] whatever the lr"},
    "meta": {oo.Adafactor: "its step reads RMS(θ) as a number (.item(), as torch's), which meta tensors lack"},
    # not checked yet: these twins accept differentiable=True but no gradcheck covers them
    "differentiable": {oo.Adafactor: "torch's Adafactor has no differentiable option"},
    # these gradchecks differentiate with respect to a tensor lr
    "differentiable_lr": {oo.Adafactor: "torch's Adafactor has no differentiable option",
                          oo.ASGD: "as in torch, η is kept as a number copied from lr: no gradient reaches lr",
                          oo.Rprop: "as in torch, lr only fills the first step sizes: no gradient reaches lr"},
}


def classes(feature: str):
    """CLASSES without the twins excluded from ``feature`` (see EXCLUDED)."""
    return pytest.mark.parametrize("cls", [c for c in TWINS if c not in EXCLUDED[feature]], ids=lambda c: c.__name__)


@functools.cache
def _inputs(cls, dtype: torch.dtype, skip: tuple) -> tuple:
    info = INFO[TWINS[cls]]
    return tuple((i.desc, i.kwargs) for i in
                 _get_optim_inputs_including_global_cliquey_kwargs("cpu", dtype, info, skip=skip))


def inputs(cls, dtype=torch.float32, skip=("differentiable",)) -> list[tuple[str, dict]]:
    """torch's sample configurations for the twin, with foreach/fused/differentiable variants (fresh copies)."""
    return [(d, copy.deepcopy(kw)) for d, kw in _inputs(cls, dtype, tuple(skip))]


def twin(cls):
    return getattr(torch.optim, TWINS[cls])


def reference_kwargs(kw: dict) -> dict:
    """The torch twin's for-loop path for the same configuration."""
    kw = {k: v for k, v in kw.items() if k not in ("fused", "foreach", "differentiable")}
    return {**kw, "foreach": False}


def close(a, b, what: str | None = None, **tol):
    """assert_close, the failure message starting with ``what``."""
    torch.testing.assert_close(a, b, msg=None if what is None else (lambda m: f"{what}: {m}"), **tol)


def same_state_dict(a, b, path="state_dict"):
    """Equal structure; tensors close, everything else equal."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            same_state_dict(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same_state_dict(x, y, f"{path}[{i}]")
    elif isinstance(a, torch.Tensor):
        close(a, b, what=f"{path}")
    else:
        assert a == b, path


def linear_run(cls, kw, weight, bias, x, steps=8, groups=None):
    opt = cls(groups(weight, bias) if groups else [weight, bias], **kw)

    def closure():
        opt.zero_grad()
        loss = (weight.mv(x) + bias).pow(2).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return weight.detach(), bias.detach()


def linear_params(contiguous: bool, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    if contiguous:
        w, b = torch.randn(10, 5, generator=g, dtype=dtype), torch.randn(10, generator=g, dtype=dtype)
    else:
        w = torch.randn(10, 5, 2, generator=g, dtype=dtype)[..., 0]
        b = torch.randn(10, 2, generator=g, dtype=dtype)[..., 0]
    return w, b, torch.randn(5, generator=g, dtype=dtype)


def fwd_bwd(opt, w, b, x):
    opt.zero_grad()
    loss = (w.mv(x) + b).pow(2).sum()
    loss.backward()
    return loss


def step_model(opt, model, x):
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()


def error_cases(classes: dict) -> list:
    """One ``pytest.param(cls, index)`` per error input of torch's optim_db entry for each
    ``{class: torch name}``."""
    return [pytest.param(cls, index, id=f"{cls.__name__}-{index}-{error.optimizer_error_input.desc}")
            for cls, name in classes.items()
            for index, error in enumerate(INFO[name].optim_error_inputs_func(device="cpu", dtype=torch.float32))]


def assert_error_as_torch(cls: type, name: str, index: int) -> None:
    """torch's error input ``index`` of optim_db entry ``name`` raises (or warns) on ``cls``
    with torch's type and a message matching torch's, at construction or at the first step."""
    error = INFO[name].optim_error_inputs_func(device="cpu", dtype=torch.float32)[index]
    given, kind = error.optimizer_error_input, error.error_type
    expect = pytest.warns if issubclass(kind, Warning) else pytest.raises
    if error.error_on == OptimizerErrorEnum.CONSTRUCTION_ERROR:
        with expect(kind, match=error.error_regex):
            cls(given.params, **given.kwargs)
    else:
        opt = cls(given.params, **given.kwargs)
        with expect(kind, match=error.error_regex):
            opt.step()
