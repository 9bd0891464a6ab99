"""The base of the methods that treat all parameters as one vector x and evaluate the
function themselves through a closure: L-BFGS and the function lab's higher-order methods
(Newton, BFGS, nonlinear CG, Levenberg–Marquardt).

The closure protocol (the runner's closure speaks all of it; a user's plain
``closure()`` is enough for L-BFGS, BFGS and CG):

* ``closure()``: the loss, after ``loss.backward()`` (torch's convention);
* ``closure(create_graph=True)``: the loss, after ``loss.backward(create_graph=True)``,
  so that the gradients carry a graph and the Hessian can be taken from them (Newton);
* ``closure(residuals=True)``: the residual vector r with its graph (no backward), for a
  loss written as ``Σ rᵢ²`` (Levenberg–Marquardt).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ._base import Optimizer
from .hparams import Fixed

__all__ = ["FlatClosureOptimizer", "FLAT_FIXED", "check_counts"]


def check_counts(**counts: Any) -> None:
    """Each given count (iterations, trials, history length) is an integer >= 1 or None."""
    for name, v in counts.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")

FLAT_FIXED = {**{k: Fixed(None, "the method takes the gradient as the closure gives it")
                 for k in ("clipvalue", "clipnorm", "global_clipnorm")},
              "maximize": Fixed(False, "the method minimizes; negate the closure's loss instead"),
              "lr_decay": Fixed(0.0, "not offered by the method"),
              "decoupled_weight_decay": Fixed(False, "the method has no weight decay"),
              "differentiable": Fixed(False, "the method's line search reads numbers from the graph")}
"""The options of the base class that a one-vector closure method has no use for."""


class FlatClosureOptimizer(Optimizer):
    """All parameters as one vector; one param group; ``step(closure)`` required; no runs
    dimension (each run is done by itself: ``runs_layout = "alone"``)."""

    requires_closure = True
    runs_layout = "alone"  # how stacked runs are told apart (optimlab.runner.runs_layout)

    def __init__(self, params: Any, defaults: dict[str, Any], **options: Any) -> None:
        lr = defaults.get("lr")
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError(f"lr is a tensor of shape {tuple(lr.shape)}: {self._method} has no runs dimension "
                             "(its parameters are one vector; one line search would step every run) (torch: "
                             "Tensor lr must be 1-element)")
        super().__init__(params, defaults, **options)
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    _method = "the method"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if getattr(self, "_constructed", False):
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options (parameter groups): "
                             "all its parameters are one vector; build it on all of them")
        super().add_param_group(param_group)

    # -- the parameters as one vector ---------------------------------------------------
    @staticmethod
    def _call_closure(closure: Callable, keyword: str, needs: str) -> Any:
        """``closure(**{keyword: True})``; a closure that does not take ``keyword`` gets a
        TypeError saying what the method ``needs`` of it (other TypeErrors pass as they are)."""
        try:
            return closure(**{keyword: True})
        except TypeError as e:
            if keyword not in str(e):
                raise
            raise TypeError(needs) from None

    def _flat_grad(self) -> Tensor:
        views = []
        for p in self._params:
            if p.grad is None:
                v = p.new_zeros(p.numel())
            else:
                v = (p.grad.to_dense() if p.grad.is_sparse else p.grad).reshape(-1)
            views.append(torch.view_as_real(v).reshape(-1) if v.is_complex() else v)
        return torch.cat(views, 0)

    def _move(self, t: Any, d: Tensor) -> None:
        """x ← x + t·d."""
        offset = 0
        for p in self._params:
            q = torch.view_as_real(p) if p.is_complex() else p
            q.add_(d[offset:offset + q.numel()].view_as(q), alpha=t)
            offset += q.numel()

    def _evaluator(self, closure: Callable, d: Tensor) -> Callable:
        """t ↦ (f, ∇f, ∇f·d) at x + td, the parameters put back afterwards."""
        def evaluate(t: Any) -> tuple[float, Tensor, Any]:
            saved = [p.clone(memory_format=torch.contiguous_format) for p in self._params]
            self._move(t, d)
            f = float(closure())
            g = self._flat_grad()
            for p, s in zip(self._params, saved):
                p.copy_(s)
            return f, g, g.dot(d)
        return evaluate

    def _value_grad(self, closure: Callable) -> tuple[float, Tensor]:
        """(f, ∇f) at the current x."""
        return float(closure()), self._flat_grad()

    def _flat_x(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    def _reuse_or_evaluate(self, closure: Callable, state: dict[str, Any]) -> tuple[float, Tensor]:
        """(f, ∇f) at the current x: those the previous step ended with when x is still where
        that step left it (no second evaluation of the same point), else one closure call."""
        x = self._flat_x()
        if "x" in state and state["x"].shape == x.shape and torch.equal(state["x"], x):
            return state["f"], state["g"]
        return self._value_grad(closure)

    def _remember(self, state: dict[str, Any], f: float, g: Tensor) -> None:
        """Keep (x, f, ∇f) where this step ends, for :meth:`_reuse_or_evaluate`."""
        state.update(x=self._flat_x(), f=f, g=g)
