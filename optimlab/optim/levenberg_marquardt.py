"""Levenberg–Marquardt for losses written as sums of squares, f(x) = Σᵢ rᵢ(x)²."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ._flat import FLAT_FIXED, FlatClosureOptimizer, check_counts
from .hparams import Range
from .registry import register_optimizer

__all__ = ["LevenbergMarquardt"]

LAMBDA_MAX = 1e30
"""λ grows no further (the step is then zero to round-off)."""


@register_optimizer("levenberg-marquardt", "lm", tune={"lambda0": (1e-4, 0.1)})
class LevenbergMarquardt(FlatClosureOptimizer):
    r"""Levenberg–Marquardt for sums of squares f = Σ rᵢ²: Gauss–Newton steps damped by λ ("1.5 order").

    Levenberg 1944; Marquardt, "An algorithm for least-squares estimation of nonlinear
    parameters", SIAM J. Appl. Math. 11, 1963; Moré, "The Levenberg–Marquardt algorithm:
    implementation and theory", LNM 630, 1978 (the scaling D); Nocedal & Wright,
    "Numerical Optimization", 2nd ed. 2006, §10.3 (eq. 10.34). With the residuals r and
    their Jacobian J at x_k (by autograd), each trial solves

    .. math::
        (JᵀJ + λ D) p = -Jᵀr,\qquad D = \mathrm{diag}(d_j),\; d_j = \max(d_j^{\text{before}}, (JᵀJ)_{jj}, 10^{-12})

    and takes :math:`x_{k+1} = x_k + \text{lr}\,p` when the actual decrease of f is more
    than 1e−4 times the decrease the model :math:`‖r + Jp‖²` predicts; then
    λ ← λ·``decrease``; otherwise λ ← λ·``increase`` and it tries again (at most
    ``max_tries`` trials per step; none accepted: x stays). λ starts at ``lambda0``
    (Marquardt's 1e−3 and factors of 10; at most 1e30). One ``step(closure)`` is one
    accepted step; a step where ``max|Jᵀr| ≤ tolerance_grad`` (1e−12), or where the first
    trial's predicted decrease is at most ``tolerance_change·f`` (1e−15: round-off), changes
    nothing.

    The residuals come through the closure: the method calls ``closure(residuals=True)``,
    which must return the residual vector r (any shape, with its graph; no backward), as
    the runner's closure does for functions with ``residuals`` (Rosenbrock, Beale, Booth,
    :func:`optimlab.functions.parse_residuals`). The Jacobian is taken from every residual
    evaluation (one backward pass per residual); the f and J where a step ends are reused.
    """

    _method = "Levenberg–Marquardt"
    hparams = {"lambda0": Range(0.0, lo_open=True), "increase": Range(1.0, lo_open=True),
               "decrease": Range(0.0, 1.0, lo_open=True, hi_open=True), "max_tries": Range(1.0),
               "tolerance_grad": Range(0.0), "tolerance_change": Range(0.0), **FLAT_FIXED}

    def __init__(self, params: Any, lr: Any = 1.0, lambda0: float = 1e-3, increase: float = 10.0,
                 decrease: float = 0.1, max_tries: int = 30, tolerance_grad: float = 1e-12,
                 tolerance_change: float = 1e-15, **options: Any) -> None:
        check_counts(max_tries=max_tries)
        defaults = dict(lr=lr, lambda0=lambda0, increase=increase, decrease=decrease, max_tries=max_tries,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change)
        super().__init__(params, defaults, **options)

    def _residuals(self, closure: Callable) -> tuple[Tensor, Tensor]:
        """(r, J) at the current x from one ``closure(residuals=True)``."""
        with torch.enable_grad():
            r = self._call_closure(closure, "residuals", "LevenbergMarquardt.step needs a closure that accepts "
                                   "residuals=True and then returns the residual vector r of the loss sum(r**2)")
            if not isinstance(r, Tensor):
                raise TypeError(f"closure(residuals=True) must return a tensor of residuals, got {type(r).__name__}")
            r = r.reshape(-1)
            rows = []
            for i in range(r.numel()):
                parts = (torch.autograd.grad(r[i], self._params, retain_graph=True, allow_unused=True)
                         if r.requires_grad else [None] * len(self._params))
                rows.append(torch.cat([(torch.zeros_like(p) if d is None else d).reshape(-1)
                                       for p, d in zip(self._params, parts)]))
        return r.detach(), torch.stack(rows).detach()

    @torch.no_grad()
    def step(self, closure: Callable[..., Any] | None = None) -> Any:  # type: ignore[override]
        """One accepted Levenberg–Marquardt step (or ``max_tries`` rejected trials);
        ``closure`` (required) must accept ``residuals=True``. Returns the loss at the start."""
        if closure is None:
            raise RuntimeError("LevenbergMarquardt.step needs a closure that accepts residuals=True")
        group, state = self.param_groups[0], self.state[self._params[0]]
        x = self._flat_x()
        if "x" in state and state["x"].shape == x.shape and torch.equal(state["x"], x):
            r, J = state["r"], state["J"]
        else:
            r, J = self._residuals(closure)
        f = float(r.dot(r))
        A, b = J.T @ J, J.T @ r
        if float(b.abs().max()) <= group["tolerance_grad"]:  # ∇f = 2Jᵀr is zero: nothing to gain
            state.update(x=x, r=r, J=J)
            return torch.tensor(f)
        scale = torch.maximum(state.get("D", torch.zeros_like(b)), A.diagonal().clamp_min(1e-12))
        lam = state.get("lambda", float(group["lambda0"]))
        for trial in range(int(group["max_tries"])):
            p = torch.linalg.solve(A + lam * torch.diag(scale), -b) * group["lr"]
            predicted = f - float((r + J @ p).square().sum())
            if trial == 0 and not predicted > group["tolerance_change"] * f:  # converged to round-off
                break
            self._move(1.0, p)
            r_new, J_new = self._residuals(closure)
            actual = f - float(r_new.dot(r_new))
            if predicted > 0 and actual > 1e-4 * predicted:
                lam *= group["decrease"]
                r, J = r_new, J_new
                break
            self._move(-1.0, p)
            lam = min(lam * group["increase"], LAMBDA_MAX)
        state.update(x=self._flat_x(), r=r, J=J, D=scale, **{"lambda": lam})
        return torch.tensor(f)
