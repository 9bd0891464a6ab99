"""AdEMAMix: Adam with a second, slow momentum mixed into the numerator (Pagliardini et al. 2024)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from . import _lists as L
from ._base import Optimizer
from ._ops import scalar_dtype, step_value
from .adabelief import fixed_decay_lrs
from .hparams import Flag, Items, NumbersOnly, Range, SameKind, check_flag
from .registry import Tune, register_optimizer

__all__ = ["AdEMAMix", "alpha_schedule", "beta3_schedule"]


def alpha_schedule(alpha: Any, t: float, t_warmup: float | None) -> Any:
    """α_t = min(t·α/T, α): the linear warm-up of the slow momentum's weight (α with ``T = None``)."""
    if t_warmup is None:
        return alpha
    ramp = t * alpha / t_warmup
    return torch.minimum(ramp, alpha) if isinstance(alpha, Tensor) else min(ramp, alpha)


def beta3_schedule(beta1: Any, beta3: Any, t: float, t_warmup: float | None) -> Any:
    """β₃(t) = min(exp(ln β₁ ln β₃ / ((1 − t/T) ln β₃ + (t/T) ln β₁)), β₃): from β₁ at t = 0 to β₃
    at t = T, so that the slow momentum's half-life grows linearly (the paper's scheduler)."""
    if t_warmup is None:
        return beta3
    if isinstance(beta1, Tensor) or isinstance(beta3, Tensor):
        ref = beta1 if isinstance(beta1, Tensor) else beta3
        b1, b3 = (torch.as_tensor(b, dtype=ref.dtype, device=ref.device) for b in (beta1, beta3))
        log1, log3 = b1.log(), b3.log()
        return torch.minimum((log1 * log3 / ((1.0 - t / t_warmup) * log3 + (t / t_warmup) * log1)).exp(), b3)
    log1, log3 = math.log(beta1), math.log(beta3)
    return min(math.exp(log1 * log3 / ((1.0 - t / t_warmup) * log3 + (t / t_warmup) * log1)), beta3)


_BETA = Range(0.0, 1.0, hi_open=True)


@register_optimizer(tune={"alpha": Tune(2.0, 10.0)},
                    description="AdEMAMix (Pagliardini et al. 2024): Adam plus a slow momentum (beta3 0.9999) "
                                "that remembers old gradients, fewer tokens for the same loss")
class AdEMAMix(Optimizer):
    r"""AdEMAMix: Pagliardini, Ablin & Grangier, "The AdEMAMix Optimizer: Better, Faster,
    Older", ICLR 2025 (arXiv 2409.03137, Algorithm 1).

    .. math::
        m_1 = β_1 m_1 + (1-β_1) g,\quad m_2 = β_3(t)\, m_2 + (1-β_3(t))\, g,\quad
        ν = β_2 ν + (1-β_2) g^2,

        θ_t = θ_{t-1} - \mathrm{lr}\,\frac{m_1/(1-β_1^t) + α(t)\, m_2}{\sqrt{ν}/\sqrt{1-β_2^t} + ε}

    The slow momentum m₂ (β₃ = 0.9999, no bias correction) keeps gradients of thousands of
    steps ago; α(t) and β₃(t) warm up over ``t_alpha_beta3`` steps (:func:`alpha_schedule`,
    :func:`beta3_schedule`; ``None``: no warm-up). ``weight_decouple=True``: AdamW's
    ``θ(1 − lr·λ)`` (the paper's), ``False``: L2 in the gradient; ``fixed_decay``: ``θ(1 − λ)``.

    Checked step for step against ``pytorch-optimizer`` 4.1.0 ``AdEMAMix``: the authors
    (apple/ml-ademamix) publish their code but no package; its arithmetic is the paper's
    Algorithm 1, which the reference follows. Constructor and defaults are that class's:
    lr 1e−3, β (0.9, 0.999, 0.9999), α 5, ε 1e−8, ``weight_decouple=False``.
    ``weight_decouple`` sets the group key ``decoupled_weight_decay``. Element-wise, so
    hyperparameters of shape (R, 1, ...) are R independent runs.
    """

    hparams = {"betas": Items((_BETA, _BETA, _BETA)), "alpha": Range(0.0), "eps": Range(0.0),
               "t_alpha_beta3": Range(0.0, lo_open=True, optional=True), "fixed_decay": Flag()}
    hparam_rules = (SameKind("betas", torch="betas must be either all floats or all Tensors"),
                    NumbersOnly(("t_alpha_beta3",), "it is a number of steps"))

    def __init__(self, params: Any, lr: Any = 1e-3, betas: tuple[Any, Any, Any] = (0.9, 0.999, 0.9999),
                 weight_decay: Any = 0.0, weight_decouple: bool = False, fixed_decay: bool = False, alpha: Any = 5.0,
                 t_alpha_beta3: float | None = None, eps: Any = 1e-8, **options: Any) -> None:
        check_flag("weight_decouple", weight_decouple)
        defaults = dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, fixed_decay=fixed_decay, alpha=alpha,
                        t_alpha_beta3=t_alpha_beta3, eps=eps)
        super().__init__(params, defaults, decoupled_weight_decay=weight_decouple, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        for key in ("exp_avg", "exp_avg_sq", "exp_avg_slow"):
            state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        return super()._weight_decay(group, params, grads, fixed_decay_lrs(group, lrs))

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        beta1, beta2, beta3 = group["betas"]
        warmup = group["t_alpha_beta3"]
        ts = [step_value(state) for state in states]
        alpha_t = [alpha_schedule(group["alpha"], t, warmup) for t in ts]
        keep3 = [1 - beta3_schedule(beta1, beta3, t, warmup) for t in ts]
        m1s, nus, m2s = ([state[k] for state in states] for k in ("exp_avg", "exp_avg_sq", "exp_avg_slow"))
        L.lerp_(m1s, gs, 1 - beta1)
        L.addcmul_(L.mul_(nus, beta2), gs, gs, 1 - beta2)
        L.lerp_(m2s, gs, keep3)
        denom = L.sqrt_eps(nus, group["eps"], divisor=[(1 - beta2 ** t) ** 0.5 for t in ts])
        update = L.add_(L.div(m1s, [1 - beta1 ** t for t in ts]), m2s, alpha_t)
        L.addcdiv_(ps, update, denom, L.neg(lrs))
