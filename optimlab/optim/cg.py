"""Nonlinear conjugate gradient: Fletcher–Reeves and Polak–Ribière+, with restarts."""

from __future__ import annotations

from typing import Any, Callable

import torch

from ._flat import FLAT_FIXED, FlatClosureOptimizer, check_counts
from .hparams import Choice, Range
from .lbfgs import strong_wolfe
from .registry import register_optimizer

__all__ = ["CG"]

BETAS = ("pr+", "fr")


@register_optimizer("conjugate-gradient", "nonlinear-cg", tune={"c2": (0.05, 0.45)})
class CG(FlatClosureOptimizer):
    r"""Nonlinear conjugate gradient (Fletcher–Reeves or Polak–Ribière+) with restarts ("1.5 order").

    Fletcher & Reeves, "Function minimization by conjugate gradients", Comput. J. 7,
    1964; Polak & Ribière 1969; Nocedal & Wright, "Numerical Optimization", 2nd ed. 2006,
    Algorithm 5.4 and eqs. (5.41a), (5.45):

    .. math::
        x_{k+1} = x_k + α_k p_k,\quad p_{k+1} = -∇f_{k+1} + β_{k+1} p_k,\quad p_0 = -∇f_0,

        β^{FR}_{k+1} = \frac{∇f_{k+1}ᵀ∇f_{k+1}}{∇f_kᵀ∇f_k},\qquad
        β^{PR+}_{k+1} = \max\Big(0, \frac{∇f_{k+1}ᵀ(∇f_{k+1} - ∇f_k)}{∇f_kᵀ∇f_k}\Big)

    (``beta="pr+"``, default, or ``"fr"``). α satisfies the strong Wolfe conditions with
    c1 = 1e−4, c2 = 0.1 (the book's choice for CG; the search of
    :mod:`optimlab.optim.lbfgs`), tried first at ``lr·min(1, 1/‖∇f₀‖₁)`` and then at
    :math:`α_{k-1}∇f_{k-1}ᵀp_{k-1}/∇f_kᵀp_k` (eq. 3.60; the first guess again when
    that is not a positive number). It restarts (β = 0) every
    ``restart`` iterations (default: the dimension n) and whenever :math:`p_k` is no
    descent direction. One ``step(closure)`` is one iteration; the f and ∇f where a step
    ends are reused by the next one. A step where ``max|∇f| ≤ tolerance_grad`` (1e−10), or where
    :math:`∇fᵀp ≥ 0` even after a restart, changes nothing.
    """

    _method = "conjugate gradient"
    hparams = {"beta": Choice(BETAS), "restart": Range(1.0, optional=True),
               "c1": Range(0.0, 1.0, lo_open=True, hi_open=True), "c2": Range(0.0, 1.0, lo_open=True, hi_open=True),
               "max_ls": Range(1.0), "tolerance_grad": Range(0.0), "tolerance_change": Range(0.0), **FLAT_FIXED}

    def __init__(self, params: Any, lr: Any = 1.0, beta: str = "pr+", restart: int | None = None, c1: float = 1e-4,
                 c2: float = 0.1, max_ls: int = 25, tolerance_grad: float = 1e-10, tolerance_change: float = 1e-12,
                 **options: Any) -> None:
        if not c1 < c2:
            raise ValueError(f"c1 must be below c2 (strong Wolfe conditions), got c1={c1!r}, c2={c2!r}")
        check_counts(max_ls=max_ls, restart=restart)
        defaults = dict(lr=lr, beta=beta, restart=restart, c1=c1, c2=c2, max_ls=max_ls,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change)
        super().__init__(params, defaults, **options)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """One CG iteration; ``closure`` (required) returns the loss after ``backward()``.
        Returns the loss at the start."""
        if closure is None:
            raise RuntimeError("CG.step needs a closure that re-evaluates the loss and calls backward()")
        closure = torch.enable_grad()(closure)
        group, state = self.param_groups[0], self.state[self._params[0]]
        f, g = self._reuse_or_evaluate(closure, state)
        if float(g.abs().max()) <= group["tolerance_grad"]:
            return torch.tensor(f)
        restart_every = group["restart"] or g.numel()
        k = state.get("since_restart", 0)
        if "d" in state and k % restart_every != 0:
            prev_g, d = state["prev_g"], state["d"]
            gg = float(prev_g.dot(prev_g))
            if group["beta"] == "fr":
                beta = float(g.dot(g)) / gg
            else:
                beta = max(0.0, float(g.dot(g - prev_g)) / gg)
            d = -g + beta * d
        else:
            d, k = -g, 0
        gtd = g.dot(d)
        if not gtd < 0:  # no descent direction: restart with steepest descent
            d, gtd, k = -g, -g.dot(g), 0
        if not gtd < 0:  # converged to round-off
            return torch.tensor(f)
        t0 = state["t"] * state["gtd"] / float(gtd) if "d" in state else 0.0
        if not 0 < t0 < float("inf"):  # the first step, or the last search ended at t = 0
            t0 = group["lr"] * min(1.0, 1.0 / float(g.abs().sum()))
        f_new, g_new, t, _ = strong_wolfe(self._evaluator(closure, d), t0, d, f, g, gtd, c1=group["c1"],
                                          c2=group["c2"], tolerance_change=group["tolerance_change"],
                                          max_ls=int(group["max_ls"]))
        t = float(t)
        self._move(t, d)
        state.update(prev_g=g, d=d, t=t, gtd=float(gtd), since_restart=k + 1)
        self._remember(state, f_new, g_new)
        return torch.tensor(f)
