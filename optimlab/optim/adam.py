"""The Adam family: Adam (with AMSGrad), AdamW, Adamax, NAdam, RAdam."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import _lists as L
from ._base import Optimizer
from ._fused import group_by_device_dtype, kernel_lr
from ._ops import init_moments, scalar_dtype, sqrt, sqrt_eps, step_value
from .hparams import AtMostOne, Flag, Items, NoTensorWithForeach, Range, SameKind
from .registry import Tune, alias, register_optimizer

__all__ = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]


class _AdamBase(Optimizer):
    """Shared construction and validation of the Adam family (not a formula)."""

    hparams = {
        "betas": Items((Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 0"),
                        Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 1"))),
        "eps": Range(0.0, torch="Invalid epsilon value"),
        "eps_in_sqrt": Flag(), "bias_correction": Flag(),
    }
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),)


def _moments_step(states: list[dict[str, Any]], gs: list[Tensor], beta1: Any, beta2: Any) -> tuple[list, list]:
    """m ← β₁m + (1 − β₁)g and v ← β₂v + (1 − β₂)g², in place; returns (the m's, the v's)."""
    ms, vs = [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]
    L.lerp_(ms, gs, 1 - beta1)
    L.addcmul_(L.mul_(vs, beta2), gs, gs, 1 - beta2)
    return ms, vs


@register_optimizer(aliases={"amsgrad": alias("Adam with AMSGrad (Reddi et al. 2018)", amsgrad=True)},
                    tune={"beta1": Tune(0.5, 0.99)})
class Adam(_AdamBase):
    r"""Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015;
    AMSGrad: Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1) g_t,\quad v_t = β_2 v_{t-1} + (1-β_2) g_t^2,\quad
        \hat m_t = \frac{m_t}{1-β_1^t},\quad \hat v_t = \frac{v_t}{1-β_2^t},\quad
        θ_t = θ_{t-1} - \mathrm{lr}\,\frac{\hat m_t}{\sqrt{\hat v_t} + ε}

    ``amsgrad=True`` uses ``max(v_1..v_t)`` in place of ``v_t``.
    ``decoupled_weight_decay=True`` is AdamW.

    Variants:
      * ``eps_in_sqrt=True``: ``√(v̂_t + ε)`` (lecture 003);
      * ``eps_hat=True``: ``θ_t = θ_{t-1} − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m_t/(√v_t + ε)``, the
        "ε-hat" form at the end of the paper's section 2 and Keras' and TensorFlow's
        arithmetic;
      * ``bias_correction=False``: ``m̂ = m, v̂ = v`` (to see why it exists: the
        first steps are then tiny because m starts at 0; lecture 004).

    Defaults are torch's (lr 1e−3, β (0.9, 0.999), ε 1e−8). With
    ``fused=None`` the default form runs torch's fused kernel.
    """

    _has_fused = True
    _fused_incompatible = {"eps_in_sqrt": False, "eps_hat": False, "bias_correction": True, "lr_decay": 0.0}
    hparams = {"amsgrad": Flag(), "eps_hat": Flag()}
    hparam_rules = (AtMostOne(("eps_in_sqrt", "eps_hat"),
                              "eps_in_sqrt=True and eps_hat=True exclude each other: choose one place for eps"),
                    NoTensorWithForeach(("lr", "betas")))

    def __init__(self, params: Any, lr: Any = 1e-3, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-8,
                 weight_decay: Any = 0.0, amsgrad: bool = False, *, eps_in_sqrt: bool = False,
                 eps_hat: bool = False, bias_correction: bool = True, **options: Any) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        eps_in_sqrt=eps_in_sqrt, eps_hat=eps_hat, bias_correction=bias_correction)
        super().__init__(params, defaults, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        init_moments(p, state)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        ms, vs = _moments_step(states, gs, beta1, beta2)
        if group["amsgrad"]:
            vs = L.maximum_([s["max_exp_avg_sq"] for s in states], vs)
        if group["bias_correction"]:
            ts = [step_value(s) for s in states]
            bc1, bc2 = [1 - beta1 ** t for t in ts], [1 - beta2 ** t for t in ts]
        else:
            bc1 = bc2 = [1.0] * len(ps)
        if group["eps_hat"]:
            denom = L.sqrt_eps(vs, eps)
            step_size = [-lr * sqrt(c2) / c1 for lr, c1, c2 in zip(lrs, bc1, bc2)]
        else:
            if group["eps_in_sqrt"]:
                denom = L.sqrt_(L.add_scalar_(L.div(vs, bc2), eps))
            else:
                denom = L.sqrt_eps(vs, eps, divisor=[sqrt(c2) for c2 in bc2])
            step_size = [-lr / c1 for lr, c1 in zip(lrs, bc1)]
        L.addcdiv_(ps, ms, denom, step_size)

    def _fused_step(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                    states: list[dict[str, Any]]) -> None:
        beta1, beta2 = group["betas"]
        st = states
        kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
        lists = [params, grads, [s["exp_avg"] for s in st], [s["exp_avg_sq"] for s in st],
                 [s["max_exp_avg_sq"] for s in st] if group["amsgrad"] else [s["exp_avg"] for s in st],
                 [s["step"] for s in st]]
        for dp, dg, dm, dv, dmax, dt in group_by_device_dtype(*lists):
            torch._foreach_add_(dt, 1)
            kernel(dp, dg, dm, dv, dmax if group["amsgrad"] else [], dt, lr=kernel_lr(group["lr"], dp[0].device),
                   beta1=beta1,
                   beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                   amsgrad=group["amsgrad"], maximize=group["maximize"], grad_scale=None, found_inf=None)


@register_optimizer(tune={"beta1": Tune(0.5, 0.99)})
class AdamW(Adam):
    r"""AdamW: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.

    Adam with ``θ ← θ(1 − lr·wd)`` before the Adam step instead of L2 in the
    gradient; defaults are torch's (weight_decay 0.01). Every option of
    :class:`Adam` applies.
    """

    def __init__(self, params: Any, lr: Any = 1e-3, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-8,
                 weight_decay: Any = 1e-2, amsgrad: bool = False, **options: Any) -> None:
        options.setdefault("decoupled_weight_decay", True)
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **options)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # an Adam state (decoupled_weight_decay=False) loaded into AdamW keeps AdamW's decay, as in torch
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


@register_optimizer(tune={"beta1": Tune(0.5, 0.99)})
class Adamax(_AdamBase):
    r"""Adamax, the ∞-norm variant of Adam (Kingma & Ba 2015, section 7.1).

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1) g_t,\quad u_t = \max(β_2 u_{t-1}, |g_t| + ε),\quad
        θ_t = θ_{t-1} - \frac{\mathrm{lr}}{1-β_1^t}\,\frac{m_t}{u_t}

    ``eps_inside_max=False`` gives Keras' form ``u_t = max(β₂u_{t−1}, |g_t|)``,
    ``θ_t = θ_{t−1} − lr/(1−β₁ᵗ)·m_t/(u_t + ε)``. ``bias_correction=False`` drops 1 − β₁ᵗ.
    Defaults are torch's (lr 2e−3).
    """

    hparams = {"eps_inside_max": Flag()}

    def __init__(self, params: Any, lr: Any = 2e-3, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-8,
                 weight_decay: Any = 0.0, foreach: bool | None = None, *, eps_inside_max: bool = True,
                 bias_correction: bool = True, **options: Any) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        eps_inside_max=eps_inside_max, bias_correction=bias_correction)
        super().__init__(params, defaults, foreach=foreach, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_inf"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        ms, us = [s["exp_avg"] for s in states], [s["exp_inf"] for s in states]
        L.lerp_(ms, gs, 1 - beta1)
        if group["eps_inside_max"]:
            denom = L.maximum_(L.mul_(us, beta2), L.add_scalar_(L.absolute(gs), eps))
        else:
            denom = L.add_scalar(L.maximum_(L.mul_(us, beta2), L.absolute(gs)), eps)
        bc1 = [1 - beta1 ** step_value(s) for s in states] if group["bias_correction"] else [1.0] * len(ps)
        L.addcdiv_(ps, ms, denom, [-lr / c for lr, c in zip(lrs, bc1)])


@register_optimizer(tune={"beta1": Tune(0.5, 0.99)})
class NAdam(_AdamBase):
    r"""NAdam: Dozat, "Incorporating Nesterov Momentum into Adam", ICLR workshop 2016.

    With the momentum schedule ``μ_t = β₁(1 − ½·0.96^{tψ})`` (ψ = ``momentum_decay``):

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1) g_t,\quad v_t = β_2 v_{t-1} + (1-β_2) g_t^2,\quad
        d_t = \sqrt{v_t/(1-β_2^t)} + ε

        θ_t = θ_{t-1} - \mathrm{lr}\left(\frac{(1-μ_t)\,g_t}{1-\prod_{i\le t}μ_i}
              + \frac{μ_{t+1}\, m_t}{1-\prod_{i\le t+1}μ_i}\right) / d_t

    Keras' Nadam is ``momentum_decay=1.0`` (its schedule uses 0.96ᵗ). Options
    ``eps_in_sqrt`` and ``bias_correction`` as in :class:`Adam` (without bias
    correction both denominators 1 − Πμ and 1 − β₂ᵗ become 1).
    Defaults are torch's (lr 2e−3, ψ 0.004).
    """

    def __init__(self, params: Any, lr: Any = 2e-3, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-8,
                 weight_decay: Any = 0.0, momentum_decay: Any = 4e-3, decoupled_weight_decay: bool = False, *,
                 eps_in_sqrt: bool = False, bias_correction: bool = True, **options: Any) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, eps_in_sqrt=eps_in_sqrt, bias_correction=bias_correction)
        super().__init__(params, defaults, decoupled_weight_decay=decoupled_weight_decay, **options)

    hparams = {"momentum_decay": Range(0.0, torch="Invalid momentum_decay value")}

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        init_moments(p, state)
        state["mu_product"] = torch.tensor(1.0, dtype=scalar_dtype())

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        mus, mus_next, bc2, c_g, c_m = zip(*(self._schedule(s, group) for s in states))
        ms, vs = _moments_step(states, gs, beta1, beta2)
        scaled = L.div(vs, list(bc2))
        denom = L.sqrt_(L.add_scalar_(scaled, eps)) if group["eps_in_sqrt"] else L.sqrt_eps(scaled, eps, fresh=True)
        L.addcdiv_(ps, gs, denom, [-lr * (1.0 - mu) / c for lr, mu, c in zip(lrs, mus, c_g)])
        L.addcdiv_(ps, ms, denom, [-lr * mu / c for lr, mu, c in zip(lrs, mus_next, c_m)])

    @staticmethod
    def _schedule(state: dict[str, Any], group: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any]:
        """One parameter's μ_t, μ_{t+1}, 1 − β₂ᵗ, 1 − Πμ up to t and up to t + 1 (updates Πμ)."""
        beta1, beta2 = group["betas"]
        psi = group["momentum_decay"]
        t = step_value(state)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        if isinstance(mu, Tensor) and state["mu_product"].shape != mu.shape:
            state["mu_product"] = state["mu_product"] * torch.ones_like(mu)
        # in Πμ's precision, as eager mode's Python float μ is (a float32 Πμ times a float64 μ rounds otherwise)
        state["mu_product"] *= mu.to(state["mu_product"].dtype) if isinstance(mu, Tensor) else mu
        # in mu's precision, as eager mode's Python float is (a float32 Πμ in 1 − Πμ costs ~1e-8)
        mp = state["mu_product"]
        if isinstance(mu, Tensor):
            prod = mp.to(mu.dtype)
        else:  # a tracked Πμ (differentiable=True) stays a tensor
            prod = mp if mp.requires_grad else mp.item()
        if not group["bias_correction"]:
            return mu, mu_next, 1.0, 1.0, 1.0
        return mu, mu_next, 1 - beta2 ** t, 1.0 - prod, 1.0 - prod * mu_next


@register_optimizer(tune={"beta1": Tune(0.5, 0.99)})
class RAdam(_AdamBase):
    r"""RAdam: Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020.

    .. math::
        ρ_∞ = \frac{2}{1-β_2} - 1,\quad ρ_t = ρ_∞ - \frac{2tβ_2^t}{1-β_2^t},\quad
        r_t = \sqrt{\frac{(ρ_t-4)(ρ_t-2)ρ_∞}{(ρ_∞-4)(ρ_∞-2)ρ_t}}

    ``θ_t = θ_{t-1} − lr·m̂_t·r_t·√(1−β₂ᵗ)/(√v_t + ε)`` when ``ρ_t > 5``, else the
    un-adapted momentum step ``θ_t = θ_{t-1} − lr·m̂_t``. ``eps_in_sqrt=True`` uses
    ``1/√(v̂_t + ε)`` for the adaptive factor. Defaults are torch's.
    """

    def __init__(self, params: Any, lr: Any = 1e-3, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-8,
                 weight_decay: Any = 0.0, decoupled_weight_decay: bool = False, *, eps_in_sqrt: bool = False,
                 **options: Any) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, eps_in_sqrt=eps_in_sqrt)
        super().__init__(params, defaults, decoupled_weight_decay=decoupled_weight_decay, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        init_moments(p, state)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        ms, vs = _moments_step(states, gs, beta1, beta2)
        rho_inf = 2 / (1 - beta2) - 1
        rectified, plain = [], []  # (index, step size, 1 − β₂ᵗ) of the parameters taking each step
        for i, (p, state, lr) in enumerate(zip(ps, states, lrs)):
            t = step_value(state)
            bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
            rho_t = rho_inf - 2 * t * (beta2 ** t) / bc2
            if isinstance(rho_t, Tensor):  # per-run decision, no data-dependent branch
                ok = rho_t > 5.0
                rho_safe = torch.where(ok, rho_t, torch.full_like(rho_t, 6.0))
                rect = ((rho_safe - 4) * (rho_safe - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_safe)).sqrt()
                update = torch.where(ok, rect * self._adaptive(vs[i], bc2, eps, group), torch.ones_like(vs[i]))
                p.sub_(ms[i] / bc1 * lr * update)
            elif rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                # lr·m̂·r·√(1−β₂ᵗ)/(√v + ε), as _adaptive writes it, with one temporary
                size = -lr * rect / bc1 if group["eps_in_sqrt"] else -lr * rect * sqrt(bc2) / bc1
                rectified.append((i, size, bc2))
            else:
                plain.append((i, -lr / bc1))
        if rectified:
            idx, sizes, bc2s = zip(*rectified)
            sub = [vs[i] for i in idx]
            denom = (L.sqrt_(L.add_scalar_(L.div(sub, list(bc2s)), eps)) if group["eps_in_sqrt"]
                     else L.sqrt_eps(sub, eps))
            L.addcdiv_([ps[i] for i in idx], [ms[i] for i in idx], denom, list(sizes))
        if plain:
            idx, sizes = zip(*plain)
            L.add_([ps[i] for i in idx], [ms[i] for i in idx], list(sizes))

    @staticmethod
    def _adaptive(v: Tensor, bc2: Any, eps: Any, group: dict[str, Any]) -> Tensor:
        if group["eps_in_sqrt"]:
            return (v / bc2).add_(eps).rsqrt_()
        return sqrt(bc2) / sqrt_eps(v, eps)
