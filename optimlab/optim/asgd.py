"""Averaged stochastic gradient descent: ASGD, SGD with a decaying step and an iterate average."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import add_, scalar_dtype, step_value
from .hparams import Range
from .registry import Tune, register_optimizer

__all__ = ["ASGD"]


@register_optimizer(tune={"lambd": Tune(0.0, 1e-3), "alpha": Tune(0.5, 1.0)})
class ASGD(Optimizer):
    r"""ASGD: SGD with a decaying step and a running average of the iterates (use the average).

    Polyak & Juditsky, "Acceleration of Stochastic Approximation by Averaging", SIAM J.
    Control Optim. 30(4), 1992; in torch's form (after Bottou's and Xu's averaged SGD,
    with a step-size schedule and an L2-like shrink ``λ``). For t = 1, 2, ...:

    .. math::
        θ_t = θ_{t-1}(1 - λη_t) - η_t g_t,\qquad
        \bar θ_t = \bar θ_{t-1} + μ_t(θ_t - \bar θ_{t-1}) \;(\bar θ_t = θ_t \text{ when } μ_t = 1),

        η_{t+1} = \frac{\mathrm{lr}}{(1 + λ\,\mathrm{lr}\,t)^{α}},\qquad
        μ_{t+1} = \frac{1}{\max(1, t - t_0)}

    with ``η_1 = lr`` and ``μ_1 = 1``: averaging starts after ``t0`` steps. The average
    ``\bar θ`` is kept in ``state["ax"]`` and does not feed back into θ (use it for
    evaluation). η and μ are kept as torch keeps them (``state["eta"]``, ``state["mu"]``,
    in the default scalar dtype: float32 unless the default dtype is float64), so the
    iterates equal torch's to the last bit. Defaults are torch's: lr 0.01, λ 1e−4,
    α 0.75, t0 1e6 (averaging never starts in short runs). ``lr``, ``lambd``, ``alpha``,
    ``t0`` and ``weight_decay`` may be tensors of shape (R, 1, ...) (runs).
    """

    hparams = {"lambd": Range(0.0), "alpha": Range(0.0), "t0": Range(0.0)}

    def __init__(self, params: Any, lr: Any = 1e-2, lambd: Any = 1e-4, alpha: Any = 0.75, t0: Any = 1e6,
                 weight_decay: Any = 0.0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False, **options: Any) -> None:
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay)
        super().__init__(params, defaults, foreach=foreach, maximize=maximize, differentiable=differentiable,
                         capturable=capturable, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["eta"] = torch.as_tensor(group["lr"], dtype=scalar_dtype()).clone().detach()
        state["mu"] = torch.ones((), dtype=scalar_dtype())
        state["ax"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
        eta, mu, ax = _value(state["eta"], p), _value(state["mu"], p), state["ax"]
        p.mul_(1 - lambd * eta)
        add_(p, g, -eta)
        if isinstance(mu, Tensor):  # one μ per run (a tensor t0)
            ax.copy_(torch.where(mu == 1, p, ax + (p - ax) * mu))
        elif mu != 1:
            ax.add_(p.sub(ax).mul_(mu))
        else:
            ax.copy_(p)
        t = step_value(state)
        _store(state, "eta", lr / ((1 + lambd * lr * t) ** alpha))
        _store(state, "mu", 1 / (t - t0).clamp(min=1) if isinstance(t0, Tensor) else 1 / max(1, t - t0))


def _value(v: Tensor, p: Tensor) -> Any:
    """A kept number as the update uses it: a Python float (torch's ``.item()``), or per run
    a tensor in the parameter's dtype."""
    if v.dim() == 0:
        return v.item()
    v = v.reshape(v.shape + (1,) * (p.dim() - v.dim()))  # (R, 1) on the (R, n, 2) view of a complex parameter
    return v.to(p.dtype if p.is_floating_point() else v.dtype)


def _store(state: dict[str, Any], key: str, new: Any) -> None:
    """Write a new η or μ into the kept tensor (torch's ``copy_``, in the scalar dtype);
    a per-run value of another shape replaces it."""
    new = torch.as_tensor(new)
    if new.numel() == state[key].numel():
        state[key].copy_(new.reshape(state[key].shape))
    else:
        state[key] = new.to(scalar_dtype()).detach().clone()
