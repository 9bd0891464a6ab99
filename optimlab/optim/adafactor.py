"""Adafactor: Adam-like steps with a factored second moment (memory O(m + n) per m×n matrix)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import scalar_dtype, step_value
from ._runs import at_least, rms, runs_dims
from .hparams import Choice, Fixed, Flag, Items, Range
from .registry import Tune, register_optimizer

__all__ = ["Adafactor"]

EPS1_ON = ("variance", "squared_gradient")  # torch's clamps; the paper's (and Keras') G² + ε₁


@register_optimizer(tune={"beta2_decay": Tune(-1.0, -0.5)})
class Adafactor(Optimizer):
    r"""Adafactor: Adam-like steps with a factored second moment, when Adam's memory is too much.

    Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost",
    ICML 2018 (Algorithms 4 and 5, without first moment), as torch 2.13 writes it:
    ``lr`` caps the relative step and scales the decoupled weight decay, and ε₁ is
    applied to the variance estimate, not to the squared gradient. For step t with
    ``G = g_t``, τ = ``beta2_decay``, (ε₁, ε₂) = ``eps``:

    .. math::
        1-\hat β_{2,t} = t^{τ},\qquad ρ_t = \min(\mathrm{lr}, 1/\sqrt t),\qquad
        α_t = \max(ε_2, \mathrm{RMS}(θ_{t-1}))\,ρ_t,\qquad θ ← θ(1 - \mathrm{lr}\,λ)

    for a matrix (the last two dimensions; leading ones are a batch of matrices)
    ``R_t = \hat β R_{t-1} + (1-\hat β)\,\mathrm{mean}_{cols}(G^2)``,
    ``C_t = \hat β C_{t-1} + (1-\hat β)\,\mathrm{mean}_{rows}(G^2)``,
    ``\hat V_t = R_t C_t / \max(\mathrm{mean}(R_t), ε_1)``; for a vector
    ``\hat V_t = \hat β \hat V_{t-1} + (1-\hat β) G^2``; then

    .. math::
        U_t = G / \max(\sqrt{\hat V_t}, ε_1),\qquad
        θ_t = θ - α_t\, U_t / \max(1, \mathrm{RMS}(U_t)/d)

    ε₁ = ``None`` is the machine epsilon of the parameter's dtype. Two options give the
    arithmetic of the paper's Algorithms 4 and 5 as Keras 3 writes it
    (:class:`optimlab.keras.Adafactor`): ``eps1_on="squared_gradient"`` adds ε₁ to G²
    before the moments (``G² + ε₁``, no clamps: ``\hat V_t = R_t C_t/\mathrm{mean}(R_t)``,
    ``U_t = G/\sqrt{\hat V_t}``) instead of torch's ``"variance"``; ``decay_first=True``
    shrinks θ(1 − lr·λ) before α_t reads RMS(θ). Defaults are
    torch's: lr 0.01, τ −0.8, eps (None, 1e−3), d 1, λ 0. Real dense parameters only.
    Runs: with ``runs=True`` (optimlab's option; the runner and the sweeps set it) or a
    hyperparameter tensor of shape (R, 1, ...), the leading dimension counts runs, and
    the RMS, the factoring and the clipping are per run (:mod:`optimlab.optim._runs`),
    so a batched run equals the runs alone.
    """

    runs_layout = "leading"  # how stacked runs are told apart (optimlab.runner.runs_layout)
    hparams = {"lr": Range(0.0, torch="Learning rate should be >= 0 but is"),
               "beta2_decay": Range(None, 0.0, torch="beta2_decay should be <= 0 but is"),
               "eps": Items((Range(0.0, optional=True, torch="epsilon1 should be >= 0 but is"),
                             Range(0.0, torch="epsilon2 should be >= 0 but is"))),
               "d": Range(1.0, torch="Clipping threshold d should be >= 1 but is"),
               "weight_decay": Range(0.0, torch="weight_decay should be >= 0 but is"),
               "decoupled_weight_decay": Fixed(False, "Adafactor's weight decay is always decoupled, as torch's"),
               "runs": Flag(), "eps1_on": Choice(EPS1_ON), "decay_first": Flag()}

    def __init__(self, params: Any, lr: Any = 1e-2, beta2_decay: Any = -0.8, eps: tuple = (None, 1e-3),
                 d: Any = 1.0, weight_decay: Any = 0.0, *, foreach: bool | None = None, maximize: bool = False,
                 runs: bool = False, eps1_on: str = "variance", decay_first: bool = False, **options: Any) -> None:
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, runs=runs,
                        eps1_on=eps1_on, decay_first=decay_first)
        super().__init__(params, defaults, foreach=foreach, maximize=maximize, **options)

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        return grads  # applied in _update, after α_t has read RMS(θ_{t-1}) (torch's order)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if p.is_complex():
            raise RuntimeError("Adafactor does not support complex parameters")
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        if p.dim() - runs_dims(group) > 1:
            state["row_var"] = p.new_zeros(p.shape[:-1] + (1,))
            state["col_var"] = p.new_zeros(p.shape[:-2] + (1, p.shape[-1]))
        else:
            state["variance"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        runs = runs_dims(group)
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = torch.finfo(p.dtype).eps
        t = step_value(state)
        decay = t ** group["beta2_decay"]  # 1 − β̂₂,t
        rho = torch.clamp(lr, max=1 / t ** 0.5) if isinstance(lr, Tensor) and lr.dim() > 0 else min(lr, 1 / t ** 0.5)
        decays = group["weight_decay"] is not None and (isinstance(group["weight_decay"], Tensor)
                                                         or group["weight_decay"] != 0)
        if decays and group.get("decay_first", False):
            p.mul_(1 - lr * group["weight_decay"])
        alpha = at_least(rms(p, runs), eps2) * rho
        if decays and not group.get("decay_first", False):
            p.mul_(1 - lr * group["weight_decay"])
        if group.get("eps1_on", "variance") == "squared_gradient":
            self._paper_step(p, g, state, group, eps1, decay, alpha, runs)
            return
        if "row_var" in state:
            row, col = state["row_var"], state["col_var"]
            row.lerp_(_mean_square(g, -1), decay)
            col.lerp_(_mean_square(g, -2), decay)
            v = (row @ col).div_(row.mean(dim=-2, keepdim=True).clamp_(min=eps1) if not isinstance(eps1, Tensor)
                                 else at_least(row.mean(dim=-2, keepdim=True), eps1))
        else:
            state["variance"].lerp_(g * g, decay)
            v = state["variance"].clone()
        u = (at_least(v, eps1 * eps1) if isinstance(eps1, Tensor) else v.clamp_(min=eps1 * eps1)).rsqrt_().mul_(g)
        scale = at_least(rms(u, runs) / group["d"], 1.0)
        if isinstance(alpha, Tensor) or isinstance(scale, Tensor):
            p.sub_(u * (alpha / scale))
        else:
            p.add_(u, alpha=-alpha / scale)

    def _paper_step(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], eps1: Any,
                    decay: Any, alpha: Any, runs: int) -> None:
        """``eps1_on="squared_gradient"``: the moments of G² + ε₁, no clamps (Keras 3's arithmetic)."""
        g2 = g * g + eps1
        if "row_var" in state:
            row, col = state["row_var"], state["col_var"]
            row.lerp_(g2.mean(dim=-1, keepdim=True), decay)
            col.lerp_(g2.mean(dim=-2, keepdim=True), decay)
            v = (row / row.mean(dim=-2, keepdim=True)) * col
        else:
            v = state["variance"].lerp_(g2, decay)
        u = g / v.sqrt()
        scale = at_least(rms(u, runs) / group["d"], 1.0)
        p.sub_(u.mul_(alpha / scale))


def _mean_square(g: Tensor, dim: int) -> Tensor:
    """mean(g², dim) kept as a dimension, without the g² intermediate (torch's arithmetic)."""
    return torch.linalg.vector_norm(g, dim=dim, keepdim=True).square_().div_(g.size(dim))
