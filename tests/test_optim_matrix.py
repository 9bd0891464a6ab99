"""Every optimizer and option × dtype × parameter layout, against the eager reference.

dtypes: float64, float32, float16, bfloat16, complex64. Layouts: contiguous,
transposed and sliced parameters (with contiguous gradients, so parameter and gradient
strides differ), channels-last (gradient in the same layout, which may go to a fused
kernel), and a batched parameter whose rows are runs with one lr each.

The reference is torch's for-loop path (``foreach=False``) on a contiguous copy for the
options torch has, and optimlab's readable formula (``fused=False``) on a contiguous
copy for optimlab's own options (that formula is checked against NumPy
transcriptions in test_optim_variants.py). Runs are compared with one run at a time.
Our run uses the default ``fused=None`` and, where the class has a kernel, ``fused=True``.
CPU only (no GPU on the build machine): the CUDA column of the matrix is not run.
"""

from __future__ import annotations

import pytest
import torch

import optimlab.optim as oo

# (class, options, torch has all of them: TWIN, or some are optimlab's own: OWN)
TWIN, OWN = True, False
CASES = [
    (oo.SGD, {}, TWIN), (oo.SGD, {"momentum": 0.9}, TWIN),
    (oo.SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, TWIN),
    (oo.SGD, {"momentum": 0.9, "dampening": 0.3, "maximize": True}, TWIN),
    (oo.SGD, {"momentum": 0.9, "momentum_form": "velocity"}, OWN),
    (oo.SGD, {"lr_decay": 0.1, "clipnorm": 0.5}, OWN),
    (oo.SGD, {"decoupled_weight_decay": True, "weight_decay": 0.1, "clipvalue": 0.5}, OWN),
    (oo.Adagrad, {}, TWIN),
    (oo.Adagrad, {"lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1}, TWIN),
    (oo.Adagrad, {"maximize": True}, TWIN), (oo.Adagrad, {"eps_in_sqrt": True}, OWN),
    (oo.RMSprop, {}, TWIN), (oo.RMSprop, {"centered": True, "momentum": 0.5, "weight_decay": 0.1}, TWIN),
    (oo.RMSprop, {"eps_in_sqrt": True, "momentum": 0.5, "momentum_form": "velocity"}, OWN),
    (oo.Adadelta, {"lr": 1.0}, TWIN), (oo.Adadelta, {"lr": 1.0, "weight_decay": 0.1, "maximize": True}, TWIN),
    (oo.Adam, {}, TWIN), (oo.Adam, {"amsgrad": True, "weight_decay": 0.1}, TWIN), (oo.Adam, {"maximize": True}, TWIN),
    (oo.Adam, {"eps_in_sqrt": True}, OWN), (oo.Adam, {"eps_hat": True}, OWN),
    (oo.Adam, {"bias_correction": False}, OWN),
    (oo.AdamW, {}, TWIN), (oo.AdamW, {"amsgrad": True}, TWIN),
    (oo.Adamax, {}, TWIN), (oo.Adamax, {"weight_decay": 0.1}, TWIN),
    (oo.Adamax, {"eps_inside_max": False, "bias_correction": False}, OWN),
    (oo.NAdam, {}, TWIN),
    (oo.NAdam, {"weight_decay": 0.1, "decoupled_weight_decay": True, "momentum_decay": 1.0}, TWIN),
    (oo.NAdam, {"eps_in_sqrt": True}, OWN),
    (oo.RAdam, {}, TWIN), (oo.RAdam, {"weight_decay": 0.1, "decoupled_weight_decay": True}, TWIN),
    (oo.RAdam, {"eps_in_sqrt": True}, OWN),
    (oo.ASGD, {}, TWIN), (oo.ASGD, {"lambd": 0.01, "t0": 1, "weight_decay": 0.1, "maximize": True}, TWIN),
    (oo.Rprop, {}, TWIN), (oo.Rprop, {"etas": (0.3, 1.5), "step_sizes": (1e-3, 1.0), "maximize": True}, TWIN),
    (oo.Adafactor, {}, TWIN), (oo.Adafactor, {"weight_decay": 0.1, "beta2_decay": -0.5, "d": 2.0}, TWIN),
]
NO_COMPLEX = (oo.Adafactor,)  # refuses complex parameters, as torch's
DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.complex64]
TOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.complex64: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}
LAYOUTS = ["contiguous", "transposed", "sliced", "channels_last"]
STEPS = 3


def _param(layout: str, values: torch.Tensor) -> torch.Tensor:
    """A leaf parameter holding ``values`` (shape (4, 16) or (2, 4, 2, 4)) in the given layout."""
    if layout == "transposed":
        p = values.t().contiguous().t()
    elif layout == "sliced":
        wide = torch.zeros(values.shape[0], 2 * values.shape[1], dtype=values.dtype)
        wide[:, ::2] = values
        p = wide[:, ::2]
    elif layout == "channels_last":
        p = values.contiguous(memory_format=torch.channels_last)
    else:
        p = values.clone()
    return p.requires_grad_()


def _run(cls, kw, p, grads):
    opt = cls([p], **kw)
    for g in grads:
        p.grad = g(p)
        opt.step()
    return p.detach()


def _reference(cls, kw, torch_has):
    if torch_has:
        return getattr(torch.optim, cls.__name__), {**kw, "foreach": False}
    return cls, {**kw, "fused": False}


def _data(dtype, shape):
    gen = torch.Generator().manual_seed(0)
    real = torch.float32 if dtype == torch.complex64 else dtype

    def draw():
        if dtype == torch.complex64:
            return torch.complex(torch.randn(shape, generator=gen), torch.randn(shape, generator=gen))
        return torch.randn(shape, generator=gen, dtype=torch.float64).to(real)

    return draw(), [draw() for _ in range(STEPS)]


def _close(ours, ref, dtype, what):
    tol = TOL[dtype]
    torch.testing.assert_close(ours, ref, rtol=tol, atol=tol, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("cls, kw, torch_has", CASES,
                         ids=[f"{c.__name__}-{'-'.join(map(str, k.items())) or 'default'}" for c, k, _ in CASES])
def test_every_dtype_and_layout_matches_the_reference(cls, kw, torch_has):
    kw = {"lr": 0.1, **kw}
    ref_cls, ref_kw = _reference(cls, kw, torch_has)
    fused_options = [{}] + ([{"fused": True}] if cls._has_fused and torch_has else [])
    for dtype in [d for d in DTYPES if not (d.is_complex and cls in NO_COMPLEX)]:
        for layout in LAYOUTS:
            # 64 elements: a multiple of every SIMD width, where torch's CPU fused SGD skips fp16/bf16
            shape = (2, 4, 2, 4) if layout == "channels_last" else (4, 16)
            values, grads = _data(dtype, shape)
            if layout == "channels_last":  # the gradient in the parameter's layout
                given = [lambda p, g=g: torch.empty_like(p).copy_(g) for g in grads]
            else:  # a contiguous gradient: strides differ from a transposed or sliced parameter
                given = [lambda p, g=g: g.clone() for g in grads]
            ref = _run(ref_cls, ref_kw, values.clone().requires_grad_(), [lambda p, g=g: g.clone() for g in grads])
            for extra in fused_options:
                if extra and dtype == torch.complex64:
                    continue  # fused=True refuses complex parameters, as torch does
                ours = _run(cls, {**kw, **extra}, _param(layout, values), given)
                _close(ours, ref, dtype, f"{dtype} {layout} {extra}")


RUN_CASES = [c for c in CASES if not any(k.startswith("clip") for k in c[1])]  # clipping norms mix runs


@pytest.mark.parametrize("cls, kw, torch_has", RUN_CASES,
                         ids=[f"{c.__name__}-{'-'.join(map(str, k.items())) or 'default'}" for c, k, _ in RUN_CASES])
def test_runs_equal_one_run_at_a_time_in_every_dtype(cls, kw, torch_has):
    """A (3, 4) parameter with lr of shape (3, 1): three runs, each as the reference alone."""
    lrs = [0.1, 0.03, 0.01] if cls is not oo.Adadelta else [1.0, 0.5, 0.2]
    kw = {k: v for k, v in kw.items() if k != "lr"}
    for dtype in [d for d in DTYPES if not (d.is_complex and cls in NO_COMPLEX)]:
        values, grads = _data(dtype, (3, 4))
        real = torch.float32 if dtype == torch.complex64 else dtype
        lr = torch.tensor(lrs, dtype=real).reshape(3, 1)
        ours = _run(cls, {**kw, "lr": lr}, values.clone().requires_grad_(), [lambda p, g=g: g.clone() for g in grads])
        ref_cls, ref_kw = _reference(cls, kw, torch_has)
        for r, lr_r in enumerate(lrs):
            one = _run(ref_cls, {**ref_kw, "lr": lr_r}, values[r].clone().requires_grad_(),
                       [lambda p, g=g, r=r: g[r].clone() for g in grads])
            _close(ours[r], one, dtype, f"{dtype} run {r}")
