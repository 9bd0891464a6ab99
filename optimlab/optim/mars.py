"""MARS: AdamW (or Lion) on a variance-reduced, norm-clipped gradient (Yuan et al. 2024)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import add_, addcmul_, is_nonzero, scalar_dtype, step_value
from ._runs import runs_dims
from .adabelief import fixed_decay_lrs
from .hparams import Choice, Fixed, Flag, Items, Range, SameKind
from .registry import Tune, register_optimizer

__all__ = ["MARS"]

MARS_TYPES = ("adamw", "lion")
SQ_EPS = 1e-15  # inside the square root of the second moment, as the reference


def _per_run_norm(x: Tensor, runs: int) -> Tensor:
    """‖x‖₂ of the whole tensor, or with runs one per run shaped (R, 1, ...)."""
    if not runs:
        return torch.linalg.vector_norm(x)
    if x.dim() == 1:
        return x.abs()
    return torch.linalg.vector_norm(x, dim=tuple(range(1, x.dim())), keepdim=True)


@register_optimizer(tune={"gamma": Tune(0.005, 0.1)},
                    description="MARS (Yuan et al. 2024): AdamW on a variance-reduced gradient "
                                "g + gamma*beta1/(1-beta1)*(g - previous g), clipped to norm 1 (LLM training)")
class MARS(Optimizer):
    r"""MARS: Yuan, Liu, Wu, Zhou, Gu, "MARS: Unleashing the Power of Variance Reduction for
    Training Large Models", 2024 (arXiv 2411.10438): the approximate variant (MARS-AdamW
    and MARS-Lion), which corrects with the previous step's gradient.

    .. math::
        c_t = g_t + γ\,\frac{β_1}{1-β_1}(g_t - g_{t-1}),\qquad
        c_t \leftarrow c_t / \max(1, \lVert c_t\rVert_2),\qquad m_t = β_1 m_{t-1} + (1-β_1) c_t,

        \text{adamw: } v_t = β_2 v_{t-1} + (1-β_2) c_t^2,\quad
        θ_t = θ_{t-1}(1-\mathrm{lr}\,λ) - \mathrm{lr}\,
              \frac{m_t\,\sqrt{1-β_2^t}}{(\sqrt{v_t + 10^{-15}} + ε)(1-β_1^t)};
        \quad\text{lion: } θ_t = θ_{t-1}(1-\mathrm{lr}\,λ) - \mathrm{lr}\,\operatorname{sign}(m_t)

    (g₀ = 0): one gradient per step, where exact MARS needs two. Parameters with fewer than two
    dimensions (biases, gains) take plain AdamW with ``lr_1d``, ``betas_1d`` and
    ``weight_decay_1d`` unless ``optimize_1d=True``; as in the reference, their lr is
    ``lr·(lr_1d/lr₀)`` with lr₀ the constructor's, so a scheduler moves both.

    Checked step for step against ``pytorch-optimizer`` 4.1.0 ``MARS`` (loop and foreach),
    a port of the authors' code (AGI-Arena/MARS publish no package): its constructor,
    defaults (lr 3e−3, β (0.95, 0.99), γ 0.025, ``lr_1d`` 3e−3, ``betas_1d`` (0.9, 0.95),
    ``weight_decay_1d`` 0.1, ε 1e−8) and arithmetic, including the 10⁻¹⁵ under the root.
    Not here: ``mars_type="shampoo"`` (a bfloat16 Newton–Schulz, not checkable to 1e−12),
    ``cautious=True`` (not in the paper) and L2 decay (``weight_decouple=False``: the
    reference adds it to the gradient only after the update, a quirk). ``fixed_decay``:
    ``θ(1 − λ)``. The norm clip is per run when hyperparameters have shape (R, 1, ...) or
    ``runs=True`` (each run's parameter is then ``p[r]``, its dimensions counted without
    the leading one).
    """

    runs_layout = "leading"  # how stacked runs are told apart (optimlab.runner.runs_layout)
    hparams = {"betas": Items((Range(0.0, 1.0, hi_open=True), Range(0.0, 1.0, hi_open=True))),
               "betas_1d": Items((Range(0.0, 1.0, hi_open=True), Range(0.0, 1.0, hi_open=True))),
               "lr_1d": Range(0.0), "lr_1d_factor": Range(0.0, optional=True), "gamma": Range(0.0), "eps": Range(0.0),
               "weight_decay_1d": Range(0.0), "mars_type": Choice(MARS_TYPES), "optimize_1d": Flag(),
               "fixed_decay": Flag(), "ams_bound": Flag(), "runs": Flag(),
               "cautious": Fixed(False, "the cautious mask is not part of MARS"),
               "decoupled_weight_decay": Fixed(True, "MARS's weight decay is decoupled; weight_decouple=False is "
                                                     "not supported")}
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),
                    SameKind("betas_1d", torch="betas_1d must be either both floats or both Tensors"))

    def __init__(self, params: Any, lr: Any = 3e-3, betas: tuple[Any, Any] = (0.95, 0.99), gamma: Any = 0.025,
                 mars_type: str = "adamw", optimize_1d: bool = False, lr_1d: Any = 3e-3,
                 betas_1d: tuple[Any, Any] = (0.9, 0.95), weight_decay: Any = 0.0, weight_decay_1d: Any = 1e-1,
                 weight_decouple: bool = True, fixed_decay: bool = False, ams_bound: bool = False,
                 cautious: bool = False, eps: Any = 1e-8, *, runs: bool = False, **options: Any) -> None:
        defaults = dict(lr=lr, lr_1d=lr_1d, lr_1d_factor=None, betas=tuple(betas), betas_1d=tuple(betas_1d),
                        gamma=gamma, mars_type=mars_type, optimize_1d=optimize_1d, weight_decay=weight_decay,
                        weight_decay_1d=weight_decay_1d, fixed_decay=fixed_decay, ams_bound=ams_bound,
                        cautious=cautious, eps=eps, runs=runs)
        super().__init__(params, defaults, decoupled_weight_decay=weight_decouple, **options)
        if not is_nonzero(self.defaults["lr"]) and not optimize_1d:
            raise ValueError("lr must be > 0 for MARS unless optimize_1d=True (the 1-D parameters' lr is "
                             "lr_1d/lr times the lr, the reference's rule), got 0")
        factor = self.defaults["lr_1d"] / self.defaults["lr"] if is_nonzero(self.defaults["lr"]) else 1.0
        for g in (self.defaults, *self.param_groups):  # one factor from the constructor's values, as the reference
            if g["lr_1d_factor"] is None:
                g["lr_1d_factor"] = factor

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        for key in ("exp_avg", "exp_avg_sq", "last_grad") + (("max_exp_avg_sq",) if group["ams_bound"] else ()):
            state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _is_mixed(self, p: Tensor, group: dict[str, Any]) -> bool:
        """MARS's own update (else the plain AdamW of 1-D parameters)."""
        return group["optimize_1d"] or p.dim() - runs_dims(group) >= 2

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        """θ(1 − lr·λ) for MARS's parameters, θ(1 − lr·(lr_1d/lr₀)·λ_1d) for the 1-D ones."""
        lrs = fixed_decay_lrs(group, lrs)
        factor = 1.0 if group["fixed_decay"] else group["lr_1d_factor"]
        one = {**group, "weight_decay": group["weight_decay_1d"]}
        for mixed, g, scale in ((True, group, 1.0), (False, one, factor)):
            chosen = [i for i, p in enumerate(params) if self._is_mixed(p, group) == mixed]
            if chosen:
                super()._weight_decay(g, [params[i] for i in chosen], [], [lrs[i] * scale for i in chosen])
        return grads

    @staticmethod
    def _adam_direction(state: dict[str, Any], x: Tensor, betas: tuple[Any, Any], t: float, eps: Any) -> Tensor:
        """v ← β₂v + (1−β₂)x², then m·√(1−β₂ᵗ) / ((√(v + 10⁻¹⁵) + ε)(1−β₁ᵗ)) (m already updated)."""
        beta1, beta2 = betas
        v = addcmul_(state["exp_avg_sq"].mul_(beta2), x, x, 1 - beta2)
        if "max_exp_avg_sq" in state:
            v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = v.add(SQ_EPS).sqrt_().add_(eps).div_((1 - beta2 ** t) ** 0.5).mul_(1 - beta1 ** t)
        return state["exp_avg"].div(denom)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        t, m = step_value(state), state["exp_avg"]
        if self._is_mixed(p, group):
            beta1 = group["betas"][0]
            c = add_((g - state["last_grad"]).mul_(group["gamma"] * (beta1 / (1 - beta1))), g)
            c.div_(_per_run_norm(c, runs_dims(group)).clamp(min=1.0))
            m.lerp_(c, 1 - beta1)
            update = m.sign() if group["mars_type"] == "lion" else self._adam_direction(state, c, group["betas"], t,
                                                                                        group["eps"])
        else:
            lr = lr * group["lr_1d_factor"]
            m.lerp_(g, 1 - group["betas_1d"][0])
            update = self._adam_direction(state, g, group["betas_1d"], t, group["eps"])
        add_(p, update, -lr)
        state["last_grad"].copy_(g)
