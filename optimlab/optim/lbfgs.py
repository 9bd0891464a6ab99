"""L-BFGS: the limited-memory quasi-Newton method, with an optional strong-Wolfe line search."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import torch
from torch import Tensor

from ._flat import FLAT_FIXED, FlatClosureOptimizer, check_counts
from .hparams import Choice, Range, check_values
from .registry import register_optimizer

__all__ = ["LBFGS"]

LINE_SEARCHES = (None, "strong_wolfe")


def _cubic_min(x1: float, f1: float, g1: Any, x2: float, f2: float, g2: Any, bounds: tuple | None = None) -> Any:
    """The minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds``
    (default: the interval between x1 and x2); its midpoint when the cubic has no minimum
    (Nocedal & Wright, eq. 3.59)."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if not disc >= 0:  # no real minimum (or NaN): the midpoint
        return (lo + hi) / 2.0
    d2 = disc.sqrt()
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


class _Point:
    """One trial step t of the line search: value, gradient and directional derivative."""

    def __init__(self, t: Any, f: float, g: Tensor, gtd: Any):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _bracket(evaluate: Callable, start: _Point, t: Any, c1: float, c2: float,
             max_ls: int) -> tuple[list, bool, int, int]:
    """Phase 1 of Nocedal & Wright's Algorithm 3.5: grow t until an interval holds a point
    satisfying the strong Wolfe conditions. Returns (bracket, done, evaluations, iterations)."""
    f, gtd = start.f, start.gtd
    new = _Point(t, *evaluate(t))
    evals, it, prev = 1, 0, _Point(0, f, start.g, gtd)
    while it < max_ls:
        if new.f > f + c1 * new.t * gtd or (it > 1 and new.f >= prev.f):
            return [prev, _copy(new)], False, evals, it
        if abs(new.gtd) <= -c2 * gtd:
            return [new], True, evals, it
        if new.gtd >= 0:
            return [prev, _copy(new)], False, evals, it
        t_next = _cubic_min(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                            bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev = _copy(new)
        new = _Point(t_next, *evaluate(t_next))
        evals += 1
        it += 1
    return [_Point(0, f, start.g, None), new], False, evals, it


def _copy(p: _Point) -> _Point:
    return _Point(p.t, p.f, p.g.clone(memory_format=torch.contiguous_format), p.gtd)


def _zoom(evaluate: Callable, start: _Point, br: list, d_norm: Any, c1: float, c2: float,
          tolerance_change: float, evals: int, it: int, max_ls: int) -> tuple[_Point, int]:
    """Phase 2 (Algorithm 3.6): shrink the bracket by safeguarded cubic interpolation."""
    f, gtd = start.f, start.gtd
    low, high = (0, 1) if br[0].f <= br[-1].f else (1, 0)
    insufficient = False
    while it < max_ls:
        if abs(br[1].t - br[0].t) * d_norm < tolerance_change:
            break
        t = _cubic_min(br[0].t, br[0].f, br[0].gtd, br[1].t, br[1].f, br[1].gtd)
        top, bottom = max(br[0].t, br[1].t), min(br[0].t, br[1].t)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:  # too close to an end: move inside, unless just done
            if insufficient or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        new = _Point(t, *evaluate(t))
        evals += 1
        it += 1
        if new.f > f + c1 * t * gtd or new.f >= br[low].f:
            br[high] = _copy(new)
            low, high = (0, 1) if br[0].f <= br[1].f else (1, 0)
            continue
        if abs(new.gtd) <= -c2 * gtd:
            br[low] = _copy(new)
            return br[low], evals
        if new.gtd * (br[high].t - br[low].t) >= 0:
            br[high] = br[low]
        br[low] = _copy(new)
    return br[low], evals


def strong_wolfe(evaluate: Callable, t: Any, d: Tensor, f: float, g: Tensor, gtd: Any, c1: float = 1e-4,
                 c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25) -> tuple[float, Tensor, Any, int]:
    """A step t along d satisfying the strong Wolfe conditions
    ``f(x + td) ≤ f + c₁t∇fᵀd`` and ``|∇f(x + td)ᵀd| ≤ c₂|∇fᵀd|``
    (Nocedal & Wright, Algorithms 3.5 and 3.6, with minFunc's safeguards as torch uses
    them). ``evaluate(t)`` returns (value, gradient, gradient·d) at x + td.
    Returns (value, gradient, t, evaluations)."""
    start = _Point(0, f, g.clone(memory_format=torch.contiguous_format), gtd)
    br, done, evals, it = _bracket(evaluate, start, t, c1, c2, max_ls)
    if done:
        best = br[0]
    else:
        best, evals = _zoom(evaluate, start, br, d.abs().max(), c1, c2, tolerance_change, evals, it, max_ls)
    return best.f, best.g, best.t, evals


@register_optimizer()
class LBFGS(FlatClosureOptimizer):
    r"""L-BFGS: quasi-Newton steps from recent curvature pairs, for smooth deterministic problems.

    Nocedal, "Updating Quasi-Newton Matrices with Limited Storage", Math. Comp. 35,
    1980; Nocedal & Wright, "Numerical Optimization", 2nd ed. 2006, Algorithm 7.4
    (the two-loop recursion) and, with ``line_search_fn="strong_wolfe"``,
    Algorithms 3.5/3.6; in torch's form (after minFunc). One ``step(closure)`` runs up
    to ``max_iter`` iterations on all parameters as one vector x:

    .. math::
        s_k = x_{k+1} - x_k,\quad y_k = ∇f_{k+1} - ∇f_k,\quad ρ_k = 1/(y_kᵀs_k)
        \;(\text{kept only if } y_kᵀs_k > 10^{-10}),\qquad H_0 = \frac{y_kᵀs_k}{y_kᵀy_k} I,

        d_k = -H_k ∇f_k \text{ (two-loop recursion)},\qquad x_{k+1} = x_k + t_k d_k

    with ``t = lr`` (the very first iteration: ``min(1, 1/‖∇f‖₁)·lr``), or t from the
    strong-Wolfe search started there (at most ``max_eval`` evaluations in all). It
    stops when ``max|∇f| ≤ tolerance_grad``, the step or the change of f is below
    ``tolerance_change``, or ∇fᵀd > −tolerance_change. Defaults are torch's: lr 1,
    max_iter 20, max_eval ``max_iter·5//4``, tolerance_grad 1e−7, tolerance_change
    1e−9, history_size 100, no line search. The state is torch's (same keys), so
    ``state_dict`` moves between the two.

    Requires a closure (the runner and the trainer pass one); one param group only;
    no runs dimension: the parameters are one vector, and a line search over R runs
    would take one step for all of them, so a tensor ``lr`` must have one element.
    ``nonfinite`` is applied to the gradient at the start of the step.
    """

    _method = "L-BFGS"
    hparams = {"max_iter": Range(1.0), "max_eval": Range(1.0, optional=True), "tolerance_grad": Range(0.0),
               "tolerance_change": Range(0.0), "history_size": Range(1.0), "line_search_fn": Choice(LINE_SEARCHES),
               **FLAT_FIXED}

    def __init__(self, params: Any, lr: Any = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None, **options: Any) -> None:
        check_counts(max_iter=max_iter, history_size=history_size, max_eval=max_eval)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults, **options)

    # -- the step -------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Up to ``max_iter`` L-BFGS iterations; ``closure`` (required) returns the loss
        after ``backward()``. Returns the loss at the start."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the loss and calls backward()")
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        first = closure()
        state["func_evals"] += 1
        g = self._flat_grad()
        if not self._finite_ok(g, group):
            return first
        if g.abs().max() <= group["tolerance_grad"]:
            return first
        self._iterate(closure, group, state, float(first), g)
        return first

    def _finite_ok(self, g: Tensor, group: dict[str, Any]) -> bool:
        if group["nonfinite"] == "ignore" or bool(torch.isfinite(g).all()):
            return True
        msg = "LBFGS: non-finite gradient (NaN or inf) at the start of the step"
        if group["nonfinite"] == "raise":
            raise FloatingPointError(msg + "; no parameter or state was changed. Pass nonfinite='skip' to skip "
                                     "such steps or 'ignore' for torch's behaviour")
        warnings.warn(msg + "; the step was skipped (nonfinite='skip')", RuntimeWarning, stacklevel=3)
        return False

    def _iterate(self, closure: Callable, group: dict[str, Any], state: dict[str, Any], loss: float,
                 g: Tensor) -> None:
        lr = group["lr"]  # a one-element tensor stays one, as in torch (t is then a tensor)
        tol_change, evals = group["tolerance_change"], 1
        d, t, prev_g, prev_loss = state.get("d"), state.get("t"), state.get("prev_flat_grad"), state.get("prev_loss")
        for n in range(1, group["max_iter"] + 1):
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = g.neg()
                state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1)
            else:
                d = self._direction(state, g, prev_g, d, t, group["history_size"])
            prev_g = g.clone(memory_format=torch.contiguous_format) if prev_g is None else prev_g.copy_(g)
            prev_loss = loss
            t = min(1.0, 1.0 / g.abs().sum()) * lr if state["n_iter"] == 1 else lr
            gtd = g.dot(d)
            if gtd > -tol_change:
                break
            used = 0
            if group["line_search_fn"] == "strong_wolfe":
                loss, g, t, used = strong_wolfe(self._evaluator(closure, d), t, d, loss, g, gtd,
                                                max_ls=group["max_eval"] - evals)
                self._move(t, d)
            else:
                self._move(t, d)
                if n != group["max_iter"]:
                    loss, g, used = float(closure()), self._flat_grad(), 1
            evals += used
            state["func_evals"] += used
            if n == group["max_iter"] or evals >= group["max_eval"] or g.abs().max() <= group["tolerance_grad"]:
                break
            if d.mul(t).abs().max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        state.update(d=d, t=t, prev_flat_grad=prev_g, prev_loss=prev_loss)

    @staticmethod
    def _direction(state: dict[str, Any], g: Tensor, prev_g: Tensor, d: Tensor, t: Any, size: int) -> Tensor:
        """Store the newest curvature pair (if yᵀs > 1e−10), then d = −H∇f by the two-loop recursion."""
        y, s = g.sub(prev_g), d.mul(t)
        ys = y.dot(s)
        dirs, stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        if ys > 1e-10:
            if len(dirs) == size:
                dirs.pop(0)
                stps.pop(0)
                ro.pop(0)
            dirs.append(y)
            stps.append(s)
            ro.append(1.0 / ys)
            state["H_diag"] = ys / y.dot(y)
        al = state.setdefault("al", [None] * size)
        q = g.neg()
        for i in range(len(dirs) - 1, -1, -1):
            al[i] = stps[i].dot(q) * ro[i]
            q.add_(dirs[i], alpha=-al[i])
        r = torch.mul(q, state["H_diag"])
        for i in range(len(dirs)):
            r.add_(stps[i], alpha=al[i] - dirs[i].dot(r) * ro[i])
        return r

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's ``load_state_dict`` (L-BFGS's state is one flat vector per entry, kept on the
        first parameter); the saved options are checked like given ones first."""
        table, rules = self.hparam_table()
        for i, g in enumerate(state_dict.get("param_groups") or ()):
            try:
                check_values(table, {k: v for k, v in g.items() if k in table}, rules)
            except (ValueError, TypeError) as e:
                raise type(e)(f"LBFGS.load_state_dict: param_groups[{i}]: {e}; nothing was loaded") from None
        self._torch_load_state_dict(state_dict)
        self._params = self.param_groups[0]["params"]
