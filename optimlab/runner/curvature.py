r"""Curvature refreshes in the function lab: what the Sophia authors' training loop does
(Liu et al., "Sophia: A Scalable Stochastic Second-order Optimizer for Language Model
Pre-training", ICLR 2024; the loop of their README and ``train_sophiag.py``), on a function.

Every k-th update (``iter_num % k == k - 1``) is followed by one backward pass of the
estimator's loss at the new point, ``update_hessian()`` and cleared gradients
(:class:`optimlab.engine.HessianRefresh` says k and the estimator). A function has no data,
so the two estimators read it so:

- ``"gnb"`` (Gauss–Newton–Bartlett, the paper's Algorithm 2) needs a likelihood, which a sum
  of squares :math:`f = \sum_i r_i^2` is: the Gaussian negative log-likelihood (up to a
  constant) of targets 0 at variance ½ per residual. Labels sampled from that model are
  :math:`y = r + ε/\sqrt2`, :math:`ε \sim N(0, I_m)`, and the gradient of the sampled loss
  :math:`\sum_i (r_i - y_i)^2` is :math:`\hat g = -\sqrt2 J^\top ε`, whose square has the
  expectation :math:`\operatorname{diag}(2J^\top J)`, the Gauss–Newton diagonal of f (the
  Bartlett identity). It is one sample of the whole function, so ``step(bs=1)``.
- ``"hutchinson"`` (Algorithm 1): the function's gradient with its graph; ``update_hessian``
  draws u and forms :math:`u \odot (\nabla^2 f\, u)`.

The draws come from a generator seeded 0 for each run of the loop, and are one run's draws
shared by all runs (ε has the m entries of one run; Sophia's ``runs=True`` does the same for
u), so a run is reproducible and a batched run equals the runs alone.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import torch

from ..engine import HessianRefresh, hessian_refresh

__all__ = ["FunctionHessian"]


class FunctionHessian:
    """The curvature refreshes of one function loop (:func:`FunctionHessian.of`)."""

    def __init__(self, fn: Any, opt: torch.optim.Optimizer, x: torch.Tensor, refresh: HessianRefresh):
        self.fn, self.opt, self.x, self.refresh = fn, opt, x, refresh
        self.residuals = getattr(fn, "residuals", None)
        if refresh.estimator == "gnb" and self.residuals is None:
            raise ValueError(f"{type(opt).__name__}(estimator='gnb') samples labels from a model for its Hessian "
                             f"estimate, so in the function lab it needs a function written as a sum of squares; "
                             f"{getattr(fn, 'name', 'this function')} has no residuals (rosenbrock, beale and booth "
                             f"have; for a formula give residuals: r1; r2; ...): use estimator='hutchinson'")
        self.generator = torch.Generator(device=x.device).manual_seed(0)
        self.step_kwargs = refresh.step_kwargs(1)
        self._pass_generator = "generator" in inspect.signature(opt.update_hessian).parameters

    @classmethod
    def of(cls, fn: Any, opt: torch.optim.Optimizer, x: torch.Tensor) -> "FunctionHessian | None":
        """The refreshes for an optimizer with ``update_hessian`` (duck-typed), else None."""
        refresh = hessian_refresh(opt)
        return None if refresh is None else cls(fn, opt, x, refresh)

    def after_step(self, steps_done: int, active: np.ndarray) -> None:
        """After the update that made ``steps_done`` steps: refresh when one is due. The runs
        that stopped get a zero estimate (their h no longer matters; no NaN reaches a check)."""
        if not self.refresh.due(steps_done):
            return
        x = self.x
        x.grad = None
        with torch.enable_grad():
            if self.refresh.estimator == "gnb":
                r = self.residuals(x)
                eps = torch.randn(r.shape[-1:], generator=self.generator, dtype=r.dtype, device=r.device)
                g = torch.autograd.grad((r * (-math.sqrt(2.0) * eps)).sum(), x)[0]
            else:  # autograd.grad: backward(create_graph=True) would tie x and x.grad in a cycle
                g = torch.autograd.grad(self.fn(x).sum(), x, create_graph=True)[0]
        if not active.all():
            g = g.masked_fill(torch.from_numpy(~active).to(g.device)[:, None], 0.0)
        x.grad = g
        self.opt.update_hessian(**({"generator": self.generator} if self._pass_generator else {}))
        x.grad = None
