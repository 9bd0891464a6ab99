"""MARS: AdamW (or Lion) on a variance-reduced, norm-clipped gradient (Yuan et al. 2024)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from . import _lists as L
from ._base import Optimizer
from ._ops import is_nonzero, scalar_dtype, step_value
from ._runs import runs_dims
from .adabelief import fixed_decay_lrs
from .hparams import Choice, Fixed, Flag, Items, Range, SameKind
from .muon import newton_schulz
from .registry import Tune, register_optimizer

__all__ = ["MARS"]

MARS_TYPES = ("adamw", "lion", "shampoo")
SQ_EPS = 1e-15  # inside the square root of the second moment, as the reference


def _shampoo_direction(m: Tensor, beta1: Any, eps: Any, lead: int) -> Tensor:
    """MARS-Shampoo's step direction for a parameter of shape (a, b, ...) (after ``lead`` run
    dimensions): the Newton–Schulz orthogonalization (Muon's, in bfloat16, as the reference)
    of m/(1−β₁) seen as an a × (b·...) matrix, times √max(1, a/b), left in bfloat16 as there
    (the factor uses b, the second dimension, also for more than two)."""
    shape = m.shape
    rows, cols = shape[lead], shape[lead + 1]
    x = (m * (1.0 / (1.0 - beta1))).reshape(*shape[:lead], rows, -1)
    return newton_schulz(x, eps=eps).mul_(math.sqrt(max(1.0, rows / cols))).reshape(shape)


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
    Training Large Models", 2024 (arXiv 2411.10438): the approximate variant (MARS-AdamW,
    MARS-Lion and MARS-Shampoo), which corrects with the previous step's gradient.

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

    ``shampoo``: θ_t = θ_{t-1}(1-\mathrm{lr}\,λ) - \mathrm{lr}\,\sqrt{\max(1, a/b)}\;
    \mathrm{NS}_5(m_t/(1-β_1)) for a parameter of a × b (× ...) elements, NS the
    Newton–Schulz orthogonalization of :func:`optimlab.optim.muon.newton_schulz` (bfloat16,
    ε = ``eps``) of m as an a × (b·...) matrix (the update is the bfloat16 result, as in
    the reference); a 1-D parameter with ``optimize_1d`` takes the adamw rule.

    Checked step for step against ``pytorch-optimizer`` 4.1.0 ``MARS`` (loop and foreach),
    a port of the authors' code (AGI-Arena/MARS publish no package): its constructor,
    defaults (lr 3e−3, β (0.95, 0.99), γ 0.025, ``lr_1d`` 3e−3, ``betas_1d`` (0.9, 0.95),
    ``weight_decay_1d`` 0.1, ε 1e−8) and arithmetic, including the 10⁻¹⁵ under the root.
    ``mars_type="shampoo"`` matches it to 1e−12 too: the same bfloat16 operations give
    the same bfloat16 numbers. Not here: ``cautious=True`` (not in the paper) and L2 decay
    (``weight_decouple=False``: the reference adds it to the gradient only after the
    update, a quirk). ``fixed_decay``: ``θ(1 − λ)``. The norm clip is per run when
    hyperparameters have shape (R, 1, ...) or ``runs=True`` (each run's parameter is then
    ``p[r]``, its dimensions counted without the leading one); so is shampoo's
    orthogonalization (one batched Newton–Schulz, equal to the runs alone to bfloat16
    precision).
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

    @staticmethod
    def _is_mixed(p: Tensor, group: dict[str, Any], lead: int) -> bool:
        """MARS's own update (else the plain AdamW of 1-D parameters); ``lead``: runs_dims(group)."""
        return group["optimize_1d"] or p.dim() - lead >= 2

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        """θ(1 − lr·λ) for MARS's parameters, θ(1 − lr·(lr_1d/lr₀)·λ_1d) for the 1-D ones."""
        lrs = fixed_decay_lrs(group, lrs)
        factor = 1.0 if group["fixed_decay"] else group["lr_1d_factor"]
        one = {**group, "weight_decay": group["weight_decay_1d"]}
        lead = runs_dims(group)
        for mixed, g, scale in ((True, group, 1.0), (False, one, factor)):
            chosen = [i for i, p in enumerate(params) if self._is_mixed(p, group, lead) == mixed]
            if chosen:
                super()._weight_decay(g, [params[i] for i in chosen], [], [lrs[i] * scale for i in chosen])
        return grads

    @staticmethod
    def _adam_directions(states: list[dict[str, Any]], xs: list[Tensor], betas: tuple[Any, Any], ts: list[float],
                         eps: Any) -> list[Tensor]:
        """v ← β₂v + (1−β₂)x², then m·√(1−β₂ᵗ) / ((√(v + 10⁻¹⁵) + ε)(1−β₁ᵗ)) (m already updated)."""
        beta1, beta2 = betas
        vs = L.addcmul_(L.mul_([state["exp_avg_sq"] for state in states], beta2), xs, xs, 1 - beta2)
        if "max_exp_avg_sq" in states[0]:
            vs = L.maximum_([state["max_exp_avg_sq"] for state in states], vs)
        denom = L.add_scalar_(L.sqrt_(L.add_scalar(vs, SQ_EPS)), eps)
        denom = L.mul_(L.div_scalar_(denom, [(1 - beta2 ** t) ** 0.5 for t in ts]), [1 - beta1 ** t for t in ts])
        return L.quotient_into_([state["exp_avg"] for state in states], denom)

    def _adam_or_shampoo(self, ps: list[Tensor], states: list[dict[str, Any]], cs: list[Tensor],
                         group: dict[str, Any], ts: list[float], lead: int) -> list[Tensor]:
        """The adamw directions; with ``shampoo``, the orthogonalized one for each matrix."""
        matrix = [group["mars_type"] == "shampoo" and p.dim() - lead >= 2 for p in ps]
        out: list[Any] = [None] * len(ps)
        rest = [i for i, is_matrix in enumerate(matrix) if not is_matrix]
        if rest:
            adam = self._adam_directions([states[i] for i in rest], [cs[i] for i in rest], group["betas"],
                                         [ts[i] for i in rest], group["eps"])
            for i, d in zip(rest, adam):
                out[i] = d
        for i in (i for i, is_matrix in enumerate(matrix) if is_matrix):
            out[i] = _shampoo_direction(states[i]["exp_avg"], group["betas"][0], group["eps"], lead).to(ps[i].dtype)
        return out

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        lead = runs_dims(group)
        mixed = [self._is_mixed(p, group, lead) for p in ps]
        for kind in (True, False):
            idx = [i for i, m in enumerate(mixed) if m == kind]
            if idx:
                self._update_kind(kind, *([seq[i] for i in idx] for seq in (ps, gs, states, lrs)), group, lead)

    def _update_kind(self, mixed: bool, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]],
                     lrs: list[Any], group: dict[str, Any], lead: int) -> None:
        """MARS's own update (``mixed``) or the plain AdamW of 1-D parameters, over lists."""
        ts, ms = [step_value(state) for state in states], [state["exp_avg"] for state in states]
        lasts = [state["last_grad"] for state in states]
        if mixed:
            beta1 = group["betas"][0]
            cs = L.add_(L.mul_(L.add(gs, lasts, -1.0), group["gamma"] * (beta1 / (1 - beta1))), gs)
            if lead:
                norms = [_per_run_norm(c, lead).clamp(min=1.0) for c in cs]
            else:  # every tensor's norm in one multi-tensor call
                norms = list(torch.stack(torch._foreach_norm(cs)).clamp(min=1.0).unbind())
            L.div_(cs, norms)
            L.lerp_(ms, cs, 1 - beta1)
            updates = L.sign(ms) if group["mars_type"] == "lion" else self._adam_or_shampoo(
                ps, states, cs, group, ts, lead)
        else:
            lrs = [lr * group["lr_1d_factor"] for lr in lrs]
            L.lerp_(ms, gs, 1 - group["betas_1d"][0])
            updates = self._adam_directions(states, gs, group["betas_1d"], ts, group["eps"])
        L.add_(ps, updates, L.neg(lrs))
        torch._foreach_copy_(lasts, gs)
