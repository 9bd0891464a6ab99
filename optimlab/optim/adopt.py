"""ADOPT: Adam normalised by the previous second moment, with clipping (Taniguchi et al. 2024)."""

from __future__ import annotations

from typing import Any, Callable

from torch import Tensor

from . import _lists as L
from ._base import Optimizer
from ._ops import init_moments, step_value
from .hparams import Items, Range, SameKind
from .registry import Tune, register_optimizer

__all__ = ["ADOPT"]


def _fourth_root(step: float) -> float:
    return step ** 0.25


@register_optimizer(tune={"beta1": Tune(0.5, 0.99)},
                    description="ADOPT (Taniguchi et al. 2024): Adam normalised by the previous second moment, "
                                "converges with any beta2, drop-in for Adam")
class ADOPT(Optimizer):
    r"""ADOPT: Taniguchi et al., "ADOPT: Modified Adam Can Converge with Any β₂ with the
    Optimal Rate", NeurIPS 2024 (ADOPT with the clipping of the updated arXiv version).

    .. math::
        v_1 = g_1^2 \;(\text{no step}),\qquad
        m_t = β_1 m_{t-1} + (1-β_1)\,\operatorname{clip}\!\Big(\frac{g_t}{\max(\sqrt{v_{t-1}}, ε)},\ c_t\Big),

        θ_t = θ_{t-1} - \mathrm{lr}\,m_t,\qquad v_t = β_2 v_{t-1} + (1-β_2) g_t^2

    The gradient is normalised by the second moment *before* it is updated with g_t, and
    the momentum is taken after the normalisation: the two changes that make the method
    converge for any β₂. ``clip(x, c)`` limits each element to [−c, c] with
    ``c_t = clip_lambda(t − 1)`` (the authors' default ``step ** 0.25``; ``None``: no
    clipping, the paper's first version). ``decouple=True``: ``θ ← θ(1 − lr·wd)`` from
    the second step on; ``False``: L2 in the gradient (also in v₁).

    Constructor, defaults and numbers are those of the authors' package ``torch-adopt``
    0.1.0 (``adopt.ADOPT``; checked step for step): lr 1e−3, β (0.9, 0.9999), ε 1e−6.
    ``decouple`` sets the group key ``decoupled_weight_decay``.
    """

    hparams = {"betas": Items((Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 0"),
                               Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 1"))),
               "eps": Range(0.0, torch="Invalid epsilon value")}
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),)

    def __init__(self, params: Any, lr: Any = 1e-3, betas: tuple[Any, Any] = (0.9, 0.9999), eps: Any = 1e-6,
                 clip_lambda: Callable[[float], float] | None = _fourth_root, weight_decay: Any = 0.0,
                 decouple: bool = False, **options: Any) -> None:
        if clip_lambda is not None and not callable(clip_lambda):
            raise ValueError(f"clip_lambda must be a function of the step count or None, got {clip_lambda!r}")
        self.clip_lambda = clip_lambda
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults, decoupled_weight_decay=decouple, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        init_moments(p, state)

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        """No decoupled decay at a parameter's first step (it only sets v)."""
        if group["decoupled_weight_decay"]:
            lrs = [0.0 if step_value(self.state[p]) == 1 else lr for p, lr in zip(params, lrs)]
        return super()._weight_decay(group, params, grads, lrs)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        beta1, beta2 = group["betas"]
        ts = [step_value(state) for state in states]
        first = [i for i, t in enumerate(ts) if t == 1]
        if first:  # the first step only gathers v
            L.addcmul_([states[i]["exp_avg_sq"] for i in first], [gs[i] for i in first], [gs[i] for i in first])
            rest = [i for i in range(len(ps)) if ts[i] != 1]
            ps, gs, states, lrs, ts = ([seq[i] for i in rest] for seq in (ps, gs, states, lrs, ts))
            if not ps:
                return
        ms, vs = [state["exp_avg"] for state in states], [state["exp_avg_sq"] for state in states]
        normed = L.quotient_into_(gs, L.at_least_(L.sqrt(vs), group["eps"]))
        if self.clip_lambda is not None:
            c = [self.clip_lambda(t - 1) for t in ts]
            L.clamp_(normed, L.neg(c), c)
        L.lerp_(ms, normed, 1 - beta1)
        L.add_(ps, ms, L.neg(lrs))
        L.addcmul_(L.mul_(vs, beta2), gs, gs, 1 - beta2)
