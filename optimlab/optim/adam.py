"""The Adam family: Adam (with AMSGrad), AdamW, Adamax, NAdam, RAdam."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._fused import group_by_device_dtype, kernel_lr
from ._ops import add_, addcdiv_, addcmul_, kept, scalar_dtype, sqrt, sqrt_eps, step_value
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

    def _moments(self, p: Tensor, state: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)


def _max_into(dst: Tensor, other: Tensor) -> None:
    """dst ← max(dst, other) in place; recorded by autograd when it tracks either (differentiable=True)."""
    if torch.is_grad_enabled() and (dst.requires_grad or other.requires_grad):
        dst.copy_(torch.maximum(dst.clone(), kept(other)))  # maximum's backward keeps its inputs
    else:
        torch.maximum(dst, other, out=dst)


def _second_moment(v: Tensor, g: Tensor, beta2: Any) -> None:
    """v ← β₂v + (1 − β₂)g² in place."""
    addcmul_(v.mul_(beta2), g, g, 1 - beta2)


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
        self._moments(p, state)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        t = step_value(state)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)
        _second_moment(v, g, beta2)
        if group["amsgrad"]:
            _max_into(state["max_exp_avg_sq"], v)
            v = state["max_exp_avg_sq"]
        bc1, bc2 = (1 - beta1 ** t, 1 - beta2 ** t) if group["bias_correction"] else (1.0, 1.0)
        if group["eps_hat"]:
            denom = sqrt_eps(v, eps)
            step_size = lr * sqrt(bc2) / bc1
        elif group["eps_in_sqrt"]:
            denom = (v / bc2).add_(eps).sqrt_()
            step_size = lr / bc1
        else:
            denom = (v.sqrt() / sqrt(bc2)).add_(eps)
            step_size = lr / bc1
        addcdiv_(p, m, denom, -step_size)

    def _fused_step(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor]) -> None:
        beta1, beta2 = group["betas"]
        st = [self.state[p] for p in params]
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

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        t = step_value(state)
        m, u = state["exp_avg"], state["exp_inf"]
        m.lerp_(g, 1 - beta1)
        if group["eps_inside_max"]:
            _max_into(u.mul_(beta2), g.abs().add_(eps))
            denom = u
        else:
            _max_into(u.mul_(beta2), g.abs())
            denom = u.add(eps)
        bc1 = 1 - beta1 ** t if group["bias_correction"] else 1.0
        addcdiv_(p, m, denom, -lr / bc1)


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
        self._moments(p, state)
        state["mu_product"] = torch.tensor(1.0, dtype=scalar_dtype())

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        beta1, beta2 = group["betas"]
        eps, psi = group["eps"], group["momentum_decay"]
        t = step_value(state)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        if isinstance(mu, Tensor) and state["mu_product"].shape != mu.shape:
            state["mu_product"] = state["mu_product"] * torch.ones_like(mu)
        state["mu_product"] *= mu
        # in mu's precision, as eager mode's Python float is (a float32 Πμ in 1 − Πμ costs ~1e-8)
        mp = state["mu_product"]
        if isinstance(mu, Tensor):
            prod = mp.to(mu.dtype)
        else:  # a tracked Πμ (differentiable=True) stays a tensor
            prod = mp if mp.requires_grad else mp.item()
        prod_next = prod * mu_next
        m.lerp_(g, 1 - beta1)
        _second_moment(v, g, beta2)
        if group["bias_correction"]:
            bc2, c_g, c_m = 1 - beta2 ** t, 1.0 - prod, 1.0 - prod_next
        else:
            bc2, c_g, c_m = 1.0, 1.0, 1.0
        denom = (v / bc2).add_(eps).sqrt_() if group["eps_in_sqrt"] else sqrt_eps(v / bc2, eps, fresh=True)
        addcdiv_(p, g, denom, -lr * (1.0 - mu) / c_g)
        addcdiv_(p, m, denom, -lr * mu_next / c_m)


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
        self._moments(p, state)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        t = step_value(state)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)
        _second_moment(v, g, beta2)
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2 ** t) / bc2
        if isinstance(rho_t, Tensor):  # per-run decision, no data-dependent branch
            ok = rho_t > 5.0
            rho_safe = torch.where(ok, rho_t, torch.full_like(rho_t, 6.0))
            rect = ((rho_safe - 4) * (rho_safe - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_safe)).sqrt()
            update = torch.where(ok, rect * self._adaptive(v, bc2, eps, group), torch.ones_like(v))
            p.sub_(m / bc1 * lr * update)
        elif rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            # lr·m̂·r·√(1−β₂ᵗ)/(√v + ε), as _adaptive writes it, with one temporary
            if group["eps_in_sqrt"]:
                addcdiv_(p, m, (v / bc2).add_(eps).sqrt_(), -lr * rect / bc1)
            else:
                addcdiv_(p, m, sqrt_eps(v, eps), -lr * rect * sqrt(bc2) / bc1)
        else:
            add_(p, m, -lr / bc1)

    @staticmethod
    def _adaptive(v: Tensor, bc2: Any, eps: Any, group: dict[str, Any]) -> Tensor:
        if group["eps_in_sqrt"]:
            return (v / bc2).add_(eps).rsqrt_()
        return sqrt(bc2) / sqrt_eps(v, eps)
