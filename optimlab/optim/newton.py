"""Newton's method with the exact Hessian (autograd), optional damping and a backtracking line search."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ._flat import FLAT_FIXED, FlatClosureOptimizer, check_counts
from .hparams import Choice, Range
from .registry import register_optimizer

__all__ = ["Newton", "hessian_from_graph", "positive_definite_solve"]

LINE_SEARCHES = (None, "backtracking")


def hessian_from_graph(g: Tensor, params: list[Tensor]) -> Tensor:
    """The (n, n) Hessian from the flat gradient ``g`` that still carries its graph
    (``backward(create_graph=True)``): row i is ∇(gᵢ), one backward pass per row."""
    rows = []
    for i in range(g.numel()):
        parts = torch.autograd.grad(g[i], params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(p) if d is None else d).reshape(-1)
                               for p, d in zip(params, parts)]))
    return torch.stack(rows).detach()


def positive_definite_solve(H: Tensor, b: Tensor, damping: float, beta: float = 1e-3) -> tuple[Tensor, float]:
    """Solve (H + τI) p = b with the smallest τ ≥ ``damping`` of the sequence of Nocedal &
    Wright's Algorithm 3.3 (Cholesky with added multiple of the identity: τ₀ = damping,
    else max(β, −min Hᵢᵢ + β), then doubled) for which H + τI is positive definite.
    Returns (p, τ)."""
    eye = torch.eye(H.shape[0], dtype=H.dtype, device=H.device)
    tau = float(damping)
    for _ in range(100):
        L, info = torch.linalg.cholesky_ex(H + tau * eye)
        if int(info) == 0:
            return torch.cholesky_solve(b.unsqueeze(1), L).squeeze(1), tau
        low = float(H.diagonal().min())
        tau = max(2 * tau, beta, -low + beta) if tau > 0 else max(beta, -low + beta)
    raise FloatingPointError("Newton: no multiple of the identity made the Hessian positive definite "
                             "(non-finite Hessian?)")


@register_optimizer(tune={"damping": (0.0, 1.0)})
class Newton(FlatClosureOptimizer):
    r"""Newton's method: the exact Hessian by autograd, with damping and backtracking (second order).

    Nocedal & Wright, "Numerical Optimization", 2nd ed. 2006: the Newton direction
    (eq. 3.3) :math:`p_k = -(∇²f_k + τI)^{-1} ∇f_k`, where τ is ``damping`` or, if
    :math:`∇²f_k + \text{damping}\,I` is not positive definite, the first larger τ of
    Algorithm 3.3 (Cholesky with added multiple of the identity, β = 1e−3) that makes it so;
    then with ``line_search_fn="backtracking"`` (default) Algorithm 3.1: α = ``lr``, halved
    (``shrink``) until :math:`f(x + αp) ≤ f(x) + c_1 α ∇f_kᵀp_k` (at most ``max_ls``
    times), and :math:`x_{k+1} = x_k + αp_k`; with ``None`` the full step ``lr·p``.
    One ``step(closure)`` is one iteration. On a strictly convex quadratic with
    damping 0, one step from any point reaches the minimizer exactly.

    The Hessian is taken through the closure: the method calls
    ``closure(create_graph=True)``, which must run ``loss.backward(create_graph=True)``
    (optimlab's runner and trainer do), and differentiates the gradient, one backward
    pass per coordinate: for the function lab's small problems (d up to a few hundred).
    A closure without the ``create_graph`` argument is refused with a clear error.
    A step where ``max|∇f| ≤ tolerance_grad`` (1e−12) changes nothing.
    """

    _method = "Newton's method"
    hparams = {"damping": Range(0.0), "line_search_fn": Choice(LINE_SEARCHES),
               "c1": Range(0.0, 1.0, lo_open=True, hi_open=True), "shrink": Range(0.0, 1.0, lo_open=True, hi_open=True),
               "max_ls": Range(1.0), "tolerance_grad": Range(0.0), **FLAT_FIXED}

    def __init__(self, params: Any, lr: Any = 1.0, damping: float = 0.0, line_search_fn: str | None = "backtracking",
                 c1: float = 1e-4, shrink: float = 0.5, max_ls: int = 30, tolerance_grad: float = 1e-12,
                 **options: Any) -> None:
        check_counts(max_ls=max_ls)
        defaults = dict(lr=lr, damping=damping, line_search_fn=line_search_fn, c1=c1, shrink=shrink,
                        max_ls=max_ls, tolerance_grad=tolerance_grad)
        super().__init__(params, defaults, **options)

    def _derivatives(self, closure: Callable) -> tuple[Any, Tensor, Tensor]:
        """(loss, ∇f, ∇²f) at the current x, from one ``closure(create_graph=True)``."""
        with torch.enable_grad():
            loss = self._call_closure(closure, "create_graph", "Newton.step needs a closure that accepts "
                                      "create_graph=True and then calls loss.backward(create_graph=True) (the "
                                      "Hessian is taken from the gradient's graph)")
            g = self._flat_grad()
            if not g.requires_grad:
                raise RuntimeError("Newton: the gradient has no graph; the closure must call "
                                   "loss.backward(create_graph=True) when given create_graph=True")
            H = hessian_from_graph(g, self._params)
        for p in self._params:
            if p.grad is not None:
                p.grad = p.grad.detach()
        return loss, g.detach(), H

    @torch.no_grad()
    def step(self, closure: Callable[..., Any] | None = None) -> Any:  # type: ignore[override]
        """One Newton iteration; ``closure`` (required) must accept ``create_graph=True``.
        Returns the loss at the start."""
        if closure is None:
            raise RuntimeError("Newton.step needs a closure that re-evaluates the loss and calls backward()")
        group = self.param_groups[0]
        loss, g, H = self._derivatives(closure)
        state = self.state[self._params[0]]
        state["n_iter"] = state.get("n_iter", 0) + 1
        if float(g.abs().max()) <= group["tolerance_grad"]:
            return loss
        p, state["tau"] = positive_definite_solve(H, -g, group["damping"])
        t = group["lr"]
        if group["line_search_fn"] == "backtracking":
            t = self._backtrack(torch.enable_grad()(closure), float(loss), g.dot(p), p, group)
        self._move(t, p)
        return loss

    def _backtrack(self, closure: Callable, f: float, gtp: Tensor, p: Tensor, group: dict[str, Any]) -> Any:
        """Algorithm 3.1: the first α = lr·shrinkʲ (j ≤ max_ls) with sufficient decrease."""
        evaluate = self._evaluator(closure, p)
        t = group["lr"]
        for _ in range(int(group["max_ls"])):
            if evaluate(t)[0] <= f + group["c1"] * t * float(gtp):
                return t
            t = t * group["shrink"]
        return t
