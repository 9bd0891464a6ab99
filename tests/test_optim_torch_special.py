"""torch 2.13's optimizer contract for sparse gradients, fused edges (meta parameters,
GradScaler) and ``differentiable=True`` (torch's TestDifferentiableOptimizer checks it with
gradcheck), on optimlab's twins (helpers in optim_suite.py)."""

from __future__ import annotations

import copy

import pytest
import torch
from optim_suite import (
    INFO,
    TWINS,
    classes,
    close,
    inputs,
    reference_kwargs,
    twin,
)
from torch.nn import Parameter

import optimlab.optim as oo


# --------------------------------------------------------------------- sparse
@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # raised inside torch's Adagrad
@pytest.mark.parametrize("cls", [c for c in TWINS if INFO[TWINS[c]].supports_sparse], ids=lambda c: c.__name__)
def test_rosenbrock_sparse_equals_dense_and_the_twin(cls):
    info = INFO[TWINS[cls]]
    updates, _ = info.metadata_for_sparse
    seen, configs = set(), []
    for _, kw in inputs(cls, torch.float64, skip=("differentiable", "fused")):
        kw = {k: v for k, v in kw.items() if k not in updates}
        key = tuple(sorted((k, repr(v)) for k, v in kw.items()))
        if kw and key not in seen:
            seen.add(key)
            configs.append({**kw, "lr": updates.get("lr", 1e-3)})
    for kw in configs:
        runs = []
        for c, k, sparse in ((cls, kw, True), (cls, kw, False), (twin(cls), reference_kwargs(kw), True)):
            p = Parameter(torch.tensor([1.5, 1.5], dtype=torch.float64))
            opt = c([p], **copy.deepcopy(k))
            for i in range(100):
                opt.zero_grad()
                p.grad = _coordinate_grad(p.detach(), sparse, i % 2)
                opt.step()
            runs.append(p.detach())
        close(runs[0], runs[1], what=f"{kw}")
        close(runs[0], runs[2], what=f"{kw}")


SPARSE_OPTIONS = [(oo.SGD, {"momentum": 0.9}), (oo.SGD, {"momentum": 0.9, "nesterov": True}),
                  (oo.SGD, {"momentum": 0.9, "dampening": 0.5, "maximize": True}),
                  (oo.Adagrad, {"lr_decay": 0.1, "initial_accumulator_value": 0.2, "maximize": True})]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
@pytest.mark.parametrize("cls, kw", SPARSE_OPTIONS, ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
def test_sparse_gradients_with_options_as_the_twin(cls, kw):
    runs = []
    for c in (cls, twin(cls)):
        p = Parameter(torch.ones(4, dtype=torch.float64))
        opt = c([p], lr=0.1, **kw)
        for i in range(5):
            p.grad = torch.sparse_coo_tensor([[i % 4, (i + 1) % 4, i % 4]], torch.tensor([1.0, -2.0, 0.5],
                                             dtype=torch.float64), (4,), check_invariants=True)
            opt.step()
        runs.append(p.detach())
    close(*runs, rtol=1e-12, atol=1e-12)


def _coordinate_grad(p, sparse, w):
    """One coordinate of Rosenbrock's gradient, as an uncoalesced sparse tensor (torch's torture test)."""
    x, y = p
    grad = torch.stack([-400 * x * (y - x ** 2) - 2 * (1 - x), 200 * (y - x ** 2)])
    if not sparse:
        return torch.stack([grad[0], torch.zeros(())]) if w else torch.stack([torch.zeros(()), grad[1]])
    i, v = (torch.tensor([[0, 0]]), torch.stack([grad[0] / 4, grad[0] * 3 / 4])) if w else \
        (torch.tensor([[1, 1]]), torch.stack([grad[1] * 3 / 4, grad[1] / 4]))
    return torch.sparse_coo_tensor(i, v, (2,), check_invariants=True)


# ---------------------------------------------------------------- fused edges
@pytest.mark.parametrize("cls", [c for c in TWINS if "fused" in INFO[TWINS[c]].supported_impls],
                         ids=lambda c: c.__name__)
def test_fused_on_meta_parameters_fails_with_torchs_message(cls):
    with torch.device("meta"):
        model = torch.nn.Linear(3, 2)
    opt = cls(model.parameters(), fused=True)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    with pytest.raises(RuntimeError, match="`fused=True` requires all the params to be floating point Tensors"):
        opt.step()


MIXED = [(c, f) for c in TWINS for f in (None, True) if f is None or "fused" in INFO[TWINS[c]].supported_impls]


@pytest.mark.parametrize("cls, fused", MIXED, ids=[f"{c.__name__}-fused={f}" for c, f in MIXED])
def test_mixed_dtypes_in_one_group_as_the_twin(cls, fused):
    """torch's test_mixed_device_dtype on one CPU: four dtypes in one group, one kernel call per dtype."""
    gen = torch.Generator().manual_seed(9)
    values = [torch.rand(2, 32, generator=gen, dtype=torch.float64).to(dt)
              for dt in (torch.float64, torch.float32, torch.float16, torch.bfloat16)]
    grads = [torch.rand(2, 32, generator=gen, dtype=torch.float64).to(v.dtype) for v in values]
    runs = [(cls, {"fused": fused}), (twin(cls), {"foreach": False})] + [(twin(cls), {"fused": True})] * bool(fused)
    results = []
    for c, kw in runs:
        params = [v.clone().requires_grad_() for v in values]
        opt = c(params, **kw)
        for _ in range(3):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            opt.step()
        results.append([p.detach() for p in params])
    half = (torch.float16, torch.bfloat16)
    for i, ours in enumerate(results[0]):
        # fused kernels compute half precision in float32: torch's fused run is the reference there,
        # except for SGD, whose CPU kernel skips half-precision tensors (we take the for-loop path)
        ref = results[2][i] if fused and ours.dtype in half and cls is not oo.SGD else results[1][i]
        tol = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2}.get(ref.dtype)
        close(ours, ref, what=f"{ref.dtype}", **({"rtol": tol, "atol": tol} if tol else {}))


@classes("meta")
def test_default_path_steps_meta_parameters_as_torch(cls):
    """Meta tensors (sizing a model, deferred init) step without values, as torch's default path."""
    with torch.device("meta"):
        model = torch.nn.Linear(3, 2)
    opt = cls(model.parameters())
    for _ in range(2):
        for p in model.parameters():
            p.grad = torch.ones_like(p)
        opt.step()
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize("cls", [c for c in TWINS if "fused" in INFO[TWINS[c]].supported_impls],
                         ids=lambda c: c.__name__)
def test_grad_scaler_unscales_and_skips_for_us(cls):
    """torch's fused classes read grad_scale/found_inf themselves (their test
    test_fused_does_not_step_if_foundinf); optimlab's do not claim to
    (_step_supports_amp_scaling is False), so GradScaler unscales the gradients and skips
    a step with inf gradients for them: the same parameters as the torch twin's fused path."""
    assert not getattr(cls([torch.zeros(1, requires_grad=True)], fused=True), "_step_supports_amp_scaling", False)
    results = []
    for c in (cls, twin(cls)):
        w = Parameter(torch.tensor([1.0, -2.0, 3.0]))
        opt = c([w], lr=0.1, fused=True)
        scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
        for value in (1.0, float("inf"), 2.0):
            opt.zero_grad()
            scaler.scale((w * value).sum()).backward()
            scaler.step(opt)
            scaler.update()
        results.append((w.detach().clone(), {k: v for k, v in opt.state[w].items()}))
    close(results[0][0], results[1][0])
    for k, v in results[1][1].items():
        close(results[0][1][k], v, check_dtype=False)


# ------------------------------------------------------------ differentiable
DIFF_STATE = {
    "SGD": ({"lr": 0.9, "momentum": 0.9}, ("momentum_buffer",)),
    "Adagrad": ({"lr": 0.9, "weight_decay": 0.1}, ("sum",)),
    "RMSprop": ({"lr": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.1},
                ("square_avg", "momentum_buffer", "grad_avg")),
    "Adadelta": ({"lr": 0.9, "weight_decay": 0.1}, ("square_avg", "acc_delta")),
    "Adam": ({"lr": 0.9, "amsgrad": True}, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
    "AdamW": ({"lr": 0.9, "amsgrad": True}, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
    "Adamax": ({"lr": 0.9, "weight_decay": 0.1}, ("exp_avg", "exp_inf")),
    "NAdam": ({"lr": 0.9, "weight_decay": 0.1}, ("exp_avg", "exp_avg_sq")),
    "RAdam": ({"lr": 0.9, "weight_decay": 0.1}, ("exp_avg", "exp_avg_sq")),
    "ASGD": ({"lr": 0.9, "lambd": 0.1, "t0": 5, "weight_decay": 0.1}, ("ax",)),
    "Rprop": ({"lr": 0.9, "etas": (0.4, 1.3)}, ("prev", "step_size")),
}
# state that holds numbers, not gradients (torch's differentiable test gives ASGD the same)
DIFF_FIXED = {"ASGD": {"eta": 0.9, "mu": 0.5}}


@classes("differentiable")
def test_differentiable_step_passes_gradcheck(cls):
    """Gradients flow through one update into the parameter, the gradient and the state
    (torch's TestDifferentiableOptimizer), and the update equals the non-differentiable one."""
    kw, keys = DIFF_STATE[TWINS[cls]]
    g = torch.Generator().manual_seed(7)
    p, grad = (torch.rand(10, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    # positive state away from 0 (second moments; RMSprop's centered E − ḡ² stays > 0)
    state = [(torch.rand(10, generator=g, dtype=torch.float64) * (0.5 if k == "grad_avg" else 1) +
              (0 if k == "grad_avg" else 1)).requires_grad_() for k in keys]
    extra = {"step": torch.tensor(10.0, dtype=torch.float64)}
    if cls is oo.NAdam:
        extra["mu_product"] = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    extra.update({k: torch.tensor(v, dtype=torch.float64) for k, v in DIFF_FIXED.get(TWINS[cls], {}).items()})

    def one_step(p, grad, *values):
        p = p.clone()
        p.grad = grad
        opt = cls([p], differentiable=True, **kw)
        opt.state[p].update({k: v.clone() for k, v in zip(keys, values)})
        opt.state[p].update({k: v.clone() for k, v in extra.items()})
        opt.step()
        return (p,) + tuple(opt.state[p][k] for k in keys)

    assert torch.autograd.gradcheck(one_step, (p, grad, *state))
    plain = p.detach().clone()
    plain.grad = grad.detach().clone()
    opt = cls([plain], **kw)
    opt.state[plain].update({k: v.detach().clone() for k, v in zip(keys, state)})
    opt.state[plain].update({k: v.detach().clone() for k, v in extra.items()})
    opt.step()
    close(one_step(p, grad, *state)[0].detach(), plain)


@classes("differentiable_lr")
def test_differentiable_first_step_and_tensor_lr_pass_gradcheck(cls):
    """From a fresh state (SGD's buffer starts as the gradient) and through a tensor lr."""
    kw = {k: v for k, v in DIFF_STATE[TWINS[cls]][0].items() if k != "lr"}

    def one_step(lr, p, grad):
        p = p.clone()
        p.grad = grad
        cls([p], lr=lr, differentiable=True, **kw).step()
        return p

    g = torch.Generator().manual_seed(8)
    args = (torch.tensor(0.1, dtype=torch.float64, requires_grad=True),
            *(torch.rand(6, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2)))
    assert torch.autograd.gradcheck(one_step, args)


@classes("differentiable_lr")
def test_differentiable_unrolled_steps_pass_gradcheck(cls):
    """Several steps in one graph (meta-learning: d θ₃ / d(θ₀, lr)) with gradients that
    depend on θ: a state tensor one step's backward keeps (Adam's m in m/(√v + ε)) must not
    be overwritten in place by the next step. torch clones it for its differentiable path."""
    kw = {k: v for k, v in DIFF_STATE[TWINS[cls]][0].items() if k != "lr"}
    c = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)

    def unrolled(lr, p0):
        p = p0.clone()
        opt = cls([p], lr=lr, differentiable=True, **kw)
        for _ in range(3):
            p.grad = c * p - 1  # the gradient of Σ cᵢθᵢ²/2 − θᵢ, recorded by autograd
            opt.step()
        return p

    args = (torch.tensor(0.05, dtype=torch.float64, requires_grad=True),
            torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True))
    assert torch.autograd.gradcheck(unrolled, args)
