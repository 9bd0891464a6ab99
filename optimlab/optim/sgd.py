"""Gradient descent with momentum: SGD (torch and velocity forms) and the lectures' NAG."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from . import _lists as L
from ._base import Optimizer
from ._fused import group_by_device_dtype, kernel_lr
from ._ops import add_, is_nonzero
from .hparams import Choice, Flag, Range, Requires
from .registry import Tune, alias, register_optimizer

__all__ = ["SGD", "NAG"]

MOMENTUM_FORMS = ("torch", "velocity")


@register_optimizer(
    aliases={
        "gd": alias("gradient descent (SGD without momentum)"),
        "momentum": alias("heavy-ball momentum, SGD with momentum 0.9 (lectures)", momentum=0.9),
        "heavyball": alias("heavy-ball momentum, SGD with momentum 0.9", momentum=0.9),
        "nesterov": alias("SGD with Nesterov momentum 0.9 (torch/Keras reformulation)", momentum=0.9,
                          nesterov=True),
    },
    tune={"momentum": Tune(0.01, 0.99, only_if_on=True)})
class SGD(Optimizer):
    r"""Stochastic gradient descent, with momentum and Nesterov momentum.

    Robbins & Monro, "A Stochastic Approximation Method", 1951 (SGD); Polyak, "Some
    methods of speeding up the convergence of iteration methods", 1964 (heavy ball);
    Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and
    momentum in deep learning", ICML 2013 (Nesterov in this form).

    With ``g`` the gradient (after weight decay), ``μ`` = ``momentum`` and
    ``τ`` = ``dampening``:

    ``momentum_form="torch"`` (default, identical to ``torch.optim.SGD``; lecture 004)

    .. math::
        b_1 = g_1,\quad b_t = μ b_{t-1} + (1-τ) g_t,\qquad
        θ_t = θ_{t-1} - \mathrm{lr}\,(g_t + μ b_t \text{ if nesterov else } b_t)

    ``momentum_form="velocity"`` (lr inside the velocity: lectures 000/001/002 and
    Keras with ``dampening=0``; the exponential-average form of lecture 003 with
    ``dampening=momentum``)

    .. math::
        v_0 = 0,\quad v_t = μ v_{t-1} - \mathrm{lr}\,(1-τ) g_t,\qquad
        θ_t = θ_{t-1} + v_t \;\;(\text{nesterov: } θ_{t-1} + μ v_t - \mathrm{lr}(1-τ) g_t)

    The two forms give the same iterates for a constant lr and ``dampening=0``;
    under a schedule they differ (the velocity keeps old learning rates).
    ``momentum=0`` is plain (mini-batch) gradient descent.

    Args:
        params: parameters or param groups, as in torch.
        lr: learning rate (>= 0), float or tensor broadcasting against each parameter.
        momentum: μ in [0, 1]... any value >= 0 is accepted as in torch.
        dampening: τ >= 0.
        weight_decay: L2 coefficient (or decoupled, see ``decoupled_weight_decay``).
        nesterov: Nesterov momentum; needs ``momentum > 0`` and (torch form) ``dampening = 0``.
        momentum_form: ``"torch"`` or ``"velocity"``.

    Common options (``maximize``, ``decoupled_weight_decay``, ``lr_decay``, clipping,
    ``nonfinite``, ``fused``) are described in :class:`optimlab.optim.Optimizer`.

    Example:
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        >>> opt.param_groups[0]["momentum"], opt.param_groups[0]["nesterov"]
        (0.9, True)
    """

    _has_fused = True
    _fused_incompatible = {"momentum_form": "torch", "lr_decay": 0.0, "decoupled_weight_decay": False}
    hparams = {"momentum": Range(0.0, torch="Invalid momentum value"), "dampening": Range(0.0),
               "nesterov": Flag(), "momentum_form": Choice(MOMENTUM_FORMS)}
    hparam_rules = (
        Requires("nesterov", "momentum", Range(0.0, lo_open=True), "momentum > 0",
                 torch="Nesterov momentum requires a momentum and zero dampening"),
        Requires("nesterov", "dampening", Range(0.0, 0.0), "dampening=0 in the torch form",
                 when=(("momentum_form", "torch"),), torch="Nesterov momentum requires a momentum and zero dampening"),
    )
    # torch 2.13's CPU fused SGD leaves these unchanged when numel is a multiple of the SIMD width
    _fused_bad_cpu_dtypes = (torch.float16, torch.bfloat16)
    _supports_sparse = True

    def __init__(self, params: Any, lr: Any = 1e-3, momentum: Any = 0.0, dampening: Any = 0.0,
                 weight_decay: Any = 0.0, nesterov: bool = False, *, momentum_form: str = "torch",
                 **options: Any) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, momentum_form=momentum_form)
        super().__init__(params, defaults, **options)

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return is_nonzero(group["lr_decay"])  # torch's SGD keeps no step count

    def _stateless(self, group: dict[str, Any]) -> bool:
        return not is_nonzero(group["momentum"]) and not is_nonzero(group["lr_decay"])

    def _in_cache_runs(self, group: dict[str, Any]) -> bool:
        return is_nonzero(group["momentum"])  # plain SGD is one pass: θ ← θ − lr·g

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        pass  # the momentum buffer is created at the first update with momentum

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        mu, tau = group["momentum"], group["dampening"]
        if not is_nonzero(mu):
            L.add_(ps, gs, L.neg(lrs))
            return
        keep = 1 - tau
        if isinstance(mu, Tensor):  # a run with momentum 0 is plain SGD, where dampening plays no part
            keep = torch.where(mu == 0, torch.ones((), dtype=mu.dtype), torch.as_tensor(keep, dtype=mu.dtype))
        if group["momentum_form"] == "torch":
            old = [i for i, s in enumerate(states) if "momentum_buffer" in s]
            for s, g in zip(states, gs):
                if "momentum_buffer" not in s:  # b₁ = g; tracked by autograd under differentiable=True
                    s["momentum_buffer"] = g.clone() if not isinstance(mu, Tensor) else g * torch.ones_like(mu)
            bufs = [s["momentum_buffer"] for s in states]
            if len(old) == len(bufs):  # the steady state: every buffer is old, no copies of the lists
                L.add_(L.mul_(bufs, mu), gs, keep)
            elif old:
                L.add_(L.mul_([bufs[i] for i in old], mu), [gs[i] for i in old], keep)
            step = L.add(gs, bufs, mu) if group["nesterov"] else bufs  # g + μb: torch's arithmetic
            L.add_(ps, step, L.neg(lrs))
        else:
            for s, p in zip(states, ps):
                if "momentum_buffer" not in s:
                    s["momentum_buffer"] = torch.zeros_like(p)
            bufs = [s["momentum_buffer"] for s in states]
            lr_keep = [-lr * keep for lr in lrs]
            L.add_(L.mul_(bufs, mu), gs, lr_keep)
            if group["nesterov"]:
                L.add_(L.add_(ps, bufs, mu), gs, lr_keep)
            else:
                L.add_(ps, bufs)

    def _fused_step(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                    states: list[dict[str, Any]]) -> None:
        momentum = group["momentum"]
        bufs = [s.get("momentum_buffer") for s in states]
        first = momentum != 0 and all(b is None for b in bufs)
        if first:
            bufs = [torch.empty_like(g) for g in grads]
        elif momentum != 0 and any(b is None for b in bufs):
            # a parameter joined late: start its buffer as the torch form does (b = g)
            bufs = [torch.clone(g).detach() if b is None else b for b, g in zip(bufs, grads)]
        for device_params, device_grads, device_bufs in group_by_device_dtype(params, grads, bufs):
            torch._fused_sgd_(device_params, device_grads, [] if momentum == 0 else device_bufs,
                              weight_decay=group["weight_decay"], momentum=momentum,
                              lr=kernel_lr(group["lr"], device_params[0].device),
                              dampening=group["dampening"], nesterov=group["nesterov"],
                              maximize=group["maximize"], is_first_step=first,
                              grad_scale=None, found_inf=None)
        if momentum != 0:
            for s, b in zip(states, bufs):
                if s.get("momentum_buffer") is not b:  # new buffers only
                    s["momentum_buffer"] = b


@register_optimizer(tune={"momentum": Tune(0.5, 0.99)})
class NAG(Optimizer):
    r"""Nesterov's accelerated gradient as the lectures write it (000, 003).

    Nesterov, "A method for solving the convex programming problem with convergence
    rate O(1/k²)", 1983. The gradient is taken at the look-ahead point:

    .. math::
        ν_t = γ ν_{t-1} + \mathrm{lr}\, ∇J(θ_{t-1} - γ ν_{t-1}),\qquad θ_t = θ_{t-1} - ν_t

    ``step(closure)`` needs the closure: it moves the parameters to the look-ahead
    point, evaluates the closure there (which must zero and recompute the
    gradients, as for LBFGS), and then applies the update. It returns the loss at
    the look-ahead point.

    With ``φ = θ − γν`` (the look-ahead point) these iterates are exactly those of
    ``SGD(nesterov=True, momentum=γ)`` for a constant lr: ``φ_t`` follows torch's
    Nesterov update with its buffer ``b = ν/lr``. The tests check it.

    ``weight_decay`` (L2) is part of the objective, so its gradient ``wd·(θ − γν)``
    is taken at the look-ahead point as well; with ``decoupled_weight_decay=True``
    θ is shrunk, ``θ ← θ(1 − lr·wd)``, before the update.

    Args:
        lr: learning rate η (>= 0). momentum: γ (>= 0, default 0.9 as recommended in 000).
    """

    requires_closure = True
    hparams = {"momentum": Range(0.0, torch="Invalid momentum value")}

    def __init__(self, params: Any, lr: Any = 1e-3, momentum: Any = 0.9, weight_decay: Any = 0.0,
                 **options: Any) -> None:
        if options.get("differentiable"):
            raise NotImplementedError("NAG: differentiable=True is not supported: the look-ahead moves the "
                                      "parameters outside autograd; SGD(nesterov=True) supports it")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay), **options)

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return is_nonzero(group["lr_decay"])

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["velocity"] = torch.zeros_like(p)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Evaluate the gradient at the look-ahead point θ − γν, then update θ."""
        if closure is None:
            raise RuntimeError("NAG.step needs a closure: the gradient is taken at the look-ahead point "
                               "θ − γν, so the model must be re-evaluated there. Use "
                               "SGD(nesterov=True) for the closure-free reformulation")
        saved = []
        for group in self.param_groups:
            for p in group["params"]:
                v = self.state[p].get("velocity")
                if v is not None:
                    saved.append((p, p.detach().clone()))
                    add_(p, v, -group["momentum"])
        try:
            with torch.enable_grad():
                loss = closure()
        finally:
            for p, theta in saved:  # back to θ exactly ((θ − γν) + γν may round): the update applies to θ
                p.copy_(theta)
        super().step()
        return loss

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        vs, mu = [s["velocity"] for s in states], group["momentum"]
        if is_nonzero(group["weight_decay"]) and not group["decoupled_weight_decay"]:
            # the base added wd·θ (fresh tensors); the gradient of J + wd/2·‖θ‖² is
            # taken at the look-ahead point too: wd·(θ − γν)
            L.add_(gs, vs, -group["weight_decay"] * mu)
        L.add_(L.mul_(vs, mu), gs, lrs)
        L.add_(ps, vs, -1.0)
