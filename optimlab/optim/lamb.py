"""LAMB: Adam with a layer-wise trust ratio (You et al. 2020)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import _lists as L
from . import _runs as runs
from ._base import Optimizer
from ._ops import init_moments, is_nonzero, step_value
from .hparams import Flag, Items, Range, SameKind
from .lars import tensor_norms
from .registry import Tune, register_optimizer

__all__ = ["LAMB"]


@register_optimizer(tune={"beta1": Tune(0.5, 0.99)},
                    description="LAMB (You et al. 2020): Adam whose step per layer is scaled to the layer's norm, "
                                "for very large batches (BERT in 76 minutes)")
class LAMB(Optimizer):
    r"""LAMB: You, Li, Reddi, Hseu, Kumar, Bhojanapalli, Song, Demmel, Keutzer & Hsieh,
    "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes", ICLR 2020
    (Algorithm 2).

    For each parameter tensor (a layer), with λ the weight decay:

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1) g_t,\quad v_t = β_2 v_{t-1} + (1-β_2) g_t^2,\quad
        r_t = \frac{m_t/(1-β_1^t)}{\sqrt{v_t/(1-β_2^t)} + ε},\quad u_t = r_t + λθ_{t-1}

        θ_t = θ_{t-1} - \mathrm{lr}\,\frac{φ(‖θ_{t-1}‖)}{‖u_t‖}\,u_t,\qquad φ(z) = \min(z, \mathrm{clamp\_value})

    The trust ratio is 1 where ‖θ‖ or ‖u‖ is 0. ``clamp_value=None``: φ(z) = z;
    ``debias=False``: no bias correction (m, v in place of m̂, v̂); ``adam=True``: the
    trust ratio is 1 (Adam with λ inside the step, for comparison). The weight decay is
    part of u, as in the paper (``decoupled_weight_decay=True`` instead shrinks
    θ(1 − lr·λ) first and leaves it out of u).

    The authors published no package: checked step for step against a NumPy
    transcription of the paper's Algorithm 2 (tests/test_optim_lamb.py). Argument names
    follow the usual PyTorch ports (``clamp_value``, ``adam``, ``debias``); defaults are
    the paper's: lr 1e−3, β (0.9, 0.999), ε 1e−6, λ 0, φ clamped at 10 (the ports'
    bound), bias correction on. With hyperparameters of shape (R, 1, ...) the norms
    are taken per run.
    """

    hparams = {"betas": Items((Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 0"),
                               Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 1"))),
               "eps": Range(0.0, torch="Invalid epsilon value"), "clamp_value": Range(0.0, lo_open=True, optional=True),
               "adam": Flag(), "debias": Flag()}
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),)
    _RUN_NAMES = ("lr", "betas", "eps", "weight_decay", "clamp_value")

    def __init__(self, params: Any, lr: Any = 1e-3, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-6,
                 weight_decay: Any = 0.0, clamp_value: Any = 10.0, adam: bool = False, debias: bool = True,
                 **options: Any) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, clamp_value=clamp_value,
                        adam=adam, debias=debias)
        super().__init__(params, defaults, **options)
        runs.run_count("LAMB", self.param_groups, self._RUN_NAMES)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        init_moments(p, state)

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        if group["decoupled_weight_decay"]:
            return super()._weight_decay(group, params, grads, lrs)
        return grads  # λθ is part of u (_update), not of the moments

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        beta1, beta2 = group["betas"]
        ms, vs = [state["exp_avg"] for state in states], [state["exp_avg_sq"] for state in states]
        L.add_(L.mul_(ms, beta1), gs, 1 - beta1)
        L.addcmul_(L.mul_(vs, beta2), gs, gs, 1 - beta2)
        if group["debias"]:  # r = m̂/(√v̂ + ε) = m/(√(v·bc₁²/bc₂) + bc₁ε): no pass of its own for 1/bc₁
            ts = [step_value(state) for state in states]
            bc1, bc2 = [1 - beta1 ** t for t in ts], [1 - beta2 ** t for t in ts]
            dens = L.add_scalar_(L.sqrt_(L.mul(vs, [b1 * b1 / b2 for b1, b2 in zip(bc1, bc2)])),
                                 [group["eps"] * b1 for b1 in bc1])
        else:
            dens = L.add_scalar_(L.sqrt(vs), group["eps"])
        us = L.quotient_into_(ms, dens)  # written into the one new tensor (the denominator)
        if not group["decoupled_weight_decay"] and is_nonzero(group["weight_decay"]):
            L.add_(us, ps, group["weight_decay"])
        if group["adam"]:
            L.add_(ps, us, L.neg(lrs))
            return
        n = runs.run_count("LAMB", [group], self._RUN_NAMES)
        norms = tensor_norms([*ps, *us], n)  # every layer's ‖θ‖ and ‖u‖ at once: (2N,) or (2N, R)
        w_norm, u_norm = norms[:len(ps)], norms[len(ps):]
        clamp = group["clamp_value"]
        if clamp is None:
            phi = w_norm
        elif isinstance(clamp, Tensor):
            phi = torch.minimum(w_norm, runs.flat(clamp).to(w_norm.dtype))
        else:
            phi = w_norm.clamp(max=clamp)
        ok = (w_norm > 0) & (u_norm > 0)
        ratios = torch.where(ok, phi / torch.where(ok, u_norm, 1.0), 1.0).unbind()
        L.addcmul_(ps, us, [runs.column(ratio, p) for ratio, p in zip(ratios, ps)] if n is not None else list(ratios),
                   L.neg(lrs))  # θ − lr·ratio·u in one pass
