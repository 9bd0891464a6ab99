"""AdaBelief: Adam with the variance of the gradient around its mean (Zhuang et al. 2020)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import add_, addcdiv_, addcmul_, scalar_dtype, sqrt, step_value
from .hparams import Flag, Items, Range, SameKind, check_flag
from .registry import Tune, register_optimizer

__all__ = ["AdaBelief", "fixed_decay_lrs"]


def rectification(t: float, beta1: Any, beta2: Any, degenerated_to_sgd: bool) -> tuple[Any, Any]:
    """AdaBelief's RAdam-style rectification at step t: ``(ok, step_size)``, ``ok`` where
    ``ρ_t ≥ 5`` (then the step is ``step_size·m/(√s + ε)``), else the plain momentum step
    ``step_size·m`` with ``step_size = 1/(1 − β₁ᵗ)`` (``degenerated_to_sgd``) or 0 (no step).
    Numbers or, for per-run betas, tensors."""
    beta2_t = beta2 ** t
    rho_max = 2 / (1 - beta2) - 1
    rho = rho_max - 2 * t * beta2_t / (1 - beta2_t)
    fallback = 1.0 / (1 - beta1 ** t) if degenerated_to_sgd else 0.0
    if isinstance(rho, Tensor):
        ok = rho >= 5
        rho = torch.where(ok, rho, torch.full_like(rho, 5.0))
    else:
        ok = rho >= 5
        if not ok:
            return False, fallback
    rect = sqrt((1 - beta2_t) * (rho - 4) / (rho_max - 4) * (rho - 2) / rho * rho_max / (rho_max - 2)) / (
        1 - beta1 ** t)
    if isinstance(ok, Tensor):
        rect = torch.where(ok, rect, torch.as_tensor(fallback, dtype=rect.dtype))
    return ok, rect


def fixed_decay_lrs(group: dict[str, Any], lrs: list[Any]) -> list[Any]:
    """``fixed_decay`` (pytorch-optimizer's and adabelief-pytorch's option): the decoupled decay
    without the learning rate, θ ← θ(1 − wd); the learning rates the decay is scaled by."""
    return [1.0] * len(lrs) if group["fixed_decay"] and group["decoupled_weight_decay"] else lrs


@register_optimizer(tune={"beta1": Tune(0.5, 0.99)},
                    description="AdaBelief (Zhuang et al. 2020): Adam scaled by the gradient's spread around its "
                                "average, large steps where the gradient is predictable")
class AdaBelief(Optimizer):
    r"""AdaBelief: Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the Belief in
    Observed Gradients", NeurIPS 2020 (Algorithm 2).

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1) g_t,\qquad
        s_t = β_2 s_{t-1} + (1-β_2)(g_t - m_t)^2 + ε,\qquad
        θ_t = θ_{t-1} - \frac{\mathrm{lr}}{1-β_1^t}\,\frac{m_t}{\sqrt{s_t/(1-β_2^t)} + ε}

    Adam's v is replaced by s, the spread of g around its prediction m: the step is large
    where the gradient is as expected ("belief"), small where it surprises. ε enters s at
    every step, as in the paper's algorithm box.

    Constructor, defaults and numbers are those of the authors' ``adabelief-pytorch``
    0.2.1 (checked step for step): lr 1e−3, β (0.9, 0.999), **ε 1e−16**, and on by default

    * ``weight_decouple=True``: decoupled decay ``θ(1 − lr·wd)`` (AdamW's); ``False``:
      L2 in the gradient; ``fixed_decay=True`` (with ``weight_decouple``): ``θ(1 − wd)``;
    * ``rectify=True``: RAdam's rectification (Liu et al. 2020) with the package's
      threshold ``ρ_t ≥ 5``: then ``θ ← θ − lr·r_t·√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√s + ε)``; below it
      the momentum step ``θ ← θ − lr·m/(1−β₁ᵗ)`` (``degenerated_to_sgd=True``) or none;
    * ``amsgrad=True`` keeps ``max(s_1..s_t)`` (used by the unrectified step only, as there).

    ``rectify=False`` is the paper's Algorithm 2; ``eps=1e-8, weight_decouple=False,
    rectify=False`` the package's 0.0.5 defaults. ``print_change_log`` is accepted and
    prints nothing (the package prints its changed defaults and each option at
    construction). ``weight_decouple`` sets the group key ``decoupled_weight_decay``.
    """

    hparams = {"betas": Items((Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 0"),
                               Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 1"))),
               "eps": Range(0.0, torch="Invalid epsilon value"),
               "amsgrad": Flag(), "fixed_decay": Flag(), "rectify": Flag(), "degenerated_to_sgd": Flag()}
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),)

    def __init__(self, params: Any, lr: Any = 1e-3, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-16,
                 weight_decay: Any = 0.0, amsgrad: bool = False, weight_decouple: bool = True,
                 fixed_decay: bool = False, rectify: bool = True, degenerated_to_sgd: bool = True,
                 print_change_log: bool = True, **options: Any) -> None:
        check_flag("print_change_log", print_change_log)
        check_flag("weight_decouple", weight_decouple)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        fixed_decay=fixed_decay, rectify=rectify, degenerated_to_sgd=degenerated_to_sgd)
        super().__init__(params, defaults, decoupled_weight_decay=weight_decouple, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_var"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["amsgrad"]:
            state["max_exp_avg_var"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        return super()._weight_decay(group, params, grads, fixed_decay_lrs(group, lrs))

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        t = step_value(state)
        m, s = state["exp_avg"], state["exp_avg_var"]
        add_(m.mul_(beta1), g, 1 - beta1)
        r = g - m
        addcmul_(s.mul_(beta2), r, r, 1 - beta2)
        s.add_(eps)
        if group["amsgrad"]:
            torch.max(state["max_exp_avg_var"], s, out=state["max_exp_avg_var"])
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        if not group["rectify"]:
            v = state["max_exp_avg_var"] if group["amsgrad"] else s
            addcdiv_(p, m, (v.sqrt() / sqrt(bc2)).add_(eps), -lr / bc1)
            return
        ok, step_size = rectification(t, beta1, beta2, group["degenerated_to_sgd"])
        if isinstance(ok, Tensor):  # per-run decision
            p.sub_(torch.where(ok, m / s.sqrt().add_(eps), m) * (step_size * lr))
        elif ok:
            addcdiv_(p, m, s.sqrt().add_(eps), -step_size * lr)
        elif group["degenerated_to_sgd"]:
            add_(p, m, -step_size * lr)
