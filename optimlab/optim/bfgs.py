"""BFGS: the quasi-Newton method with a dense inverse-Hessian approximation and a strong-Wolfe line search."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ._flat import FLAT_FIXED, FlatClosureOptimizer, check_counts
from .hparams import Range
from .lbfgs import strong_wolfe
from .registry import register_optimizer

__all__ = ["BFGS"]


@register_optimizer(tune={"c2": (0.5, 0.95)})
class BFGS(FlatClosureOptimizer):
    r"""BFGS: quasi-Newton steps from a dense inverse-Hessian estimate, strong-Wolfe line search ("1.5 order").

    Broyden, Fletcher, Goldfarb, Shanno (1970); Nocedal & Wright, "Numerical
    Optimization", 2nd ed. 2006, Algorithm 6.1 with the update (6.17)

    .. math::
        p_k = -H_k∇f_k,\quad x_{k+1} = x_k + α_k p_k,\quad s_k = α_k p_k,\;
        y_k = ∇f_{k+1} - ∇f_k,\; ρ_k = 1/(y_kᵀs_k),

        H_{k+1} = (I - ρ_k s_k y_kᵀ) H_k (I - ρ_k y_k s_kᵀ) + ρ_k s_k s_kᵀ

    with :math:`H_0 = I`, rescaled before the first update to
    :math:`(y_0ᵀs_0 / y_0ᵀy_0) I` (eq. 6.20); an update is skipped when
    :math:`y_kᵀs_k ≤ 10^{-10}`, and H is reset to I when :math:`p_k` is no descent
    direction. α satisfies the strong Wolfe conditions (c1, c2; Algorithms 3.5/3.6, the
    search of :mod:`optimlab.optim.lbfgs`), tried first at α = ``lr`` (on the first
    iteration, and after a reset, at ``lr·min(1, 1/‖∇f‖₁)``, as torch's L-BFGS does: H is not
    yet scaled). One
    ``step(closure)`` is one iteration; the f and ∇f where a step ends are reused by
    the next one. A step where ``max|∇f| ≤ tolerance_grad`` (1e−10) changes nothing.
    """

    _method = "BFGS"
    hparams = {"c1": Range(0.0, 1.0, lo_open=True, hi_open=True), "c2": Range(0.0, 1.0, lo_open=True, hi_open=True),
               "max_ls": Range(1.0), "tolerance_grad": Range(0.0), "tolerance_change": Range(0.0), **FLAT_FIXED}

    def __init__(self, params: Any, lr: Any = 1.0, c1: float = 1e-4, c2: float = 0.9, max_ls: int = 25,
                 tolerance_grad: float = 1e-10, tolerance_change: float = 1e-12, **options: Any) -> None:
        if not c1 < c2:
            raise ValueError(f"c1 must be below c2 (strong Wolfe conditions), got c1={c1!r}, c2={c2!r}")
        check_counts(max_ls=max_ls)
        defaults = dict(lr=lr, c1=c1, c2=c2, max_ls=max_ls, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change)
        super().__init__(params, defaults, **options)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """One BFGS iteration; ``closure`` (required) returns the loss after ``backward()``.
        Returns the loss at the start."""
        if closure is None:
            raise RuntimeError("BFGS.step needs a closure that re-evaluates the loss and calls backward()")
        closure = torch.enable_grad()(closure)
        group, state = self.param_groups[0], self.state[self._params[0]]
        f, g = self._reuse_or_evaluate(closure, state)
        if float(g.abs().max()) <= group["tolerance_grad"]:
            return torch.tensor(f)
        n = g.numel()
        if "H" not in state:
            state.update(H=torch.eye(n, dtype=g.dtype, device=g.device), n_iter=0)
        H = state["H"]
        d = -(H @ g)
        gtd = g.dot(d)
        if not gtd < 0:  # H lost positive definiteness (round-off): restart from the identity
            H = torch.eye(n, dtype=g.dtype, device=g.device)
            state["n_iter"] = 0
            d, gtd = -g, -g.dot(g)
            if not gtd < 0:  # converged to round-off
                return torch.tensor(f)
        t0 = group["lr"] * min(1.0, 1.0 / float(g.abs().sum())) if state["n_iter"] == 0 else group["lr"]
        f_new, g_new, t, _ = strong_wolfe(self._evaluator(closure, d), t0, d, f, g, gtd, c1=group["c1"],
                                          c2=group["c2"], tolerance_change=group["tolerance_change"],
                                          max_ls=int(group["max_ls"]))
        t = float(t)
        self._move(t, d)
        state["H"] = self._update(H, d.mul(t), g_new - g, state["n_iter"] == 0)
        state["n_iter"] += 1
        self._remember(state, f_new, g_new)
        return torch.tensor(f)

    @staticmethod
    def _update(H: Tensor, s: Tensor, y: Tensor, first: bool) -> Tensor:
        """The BFGS update (6.17) of the inverse Hessian, H₀ scaled by (6.20) on the first one."""
        ys = float(y.dot(s))
        if ys <= 1e-10:
            return H
        if first:
            H = H * (ys / float(y.dot(y)))
        rho = 1.0 / ys
        eye = torch.eye(H.shape[0], dtype=H.dtype, device=H.device)
        left = eye - rho * torch.outer(s, y)
        return left @ H @ left.T + rho * torch.outer(s, s)
