r"""Curvature refreshes in :meth:`Trainer.fit`: what the Sophia authors' training loop does
(Liu et al., "Sophia: A Scalable Stochastic Second-order Optimizer for Language Model
Pre-training", ICLR 2024; the loop of their README and ``train_sophiag.py``).

Every update is ``step(bs=B)`` with B the number of terms the batch loss averages (the
authors pass the batch's tokens), and every k-th update (``iter_num % k == k - 1``) is
followed, on the same batch at the new parameters, by one backward pass of the estimator's
loss, ``update_hessian()`` and cleared gradients (:class:`optimlab.engine.HessianRefresh`
says k and the estimator):

- ``"gnb"`` (Gauss–Newton–Bartlett, Algorithm 2): the loss on labels sampled from the model's
  own prediction, as the authors' loop: ``Categorical(logits=out)`` for ``cross_entropy`` and
  ``nll``, ``Bernoulli(logits=out)`` for ``binary_crossentropy``, and for ``mse`` the Gaussian
  whose negative log-likelihood the squared error is, ``y = out + N(0, ½)`` (so the expected
  square of a term's gradient is the squared error's second derivative, 2). Other losses have
  no such model: the Trainer refuses them.
- ``"hutchinson"`` (Algorithm 1): the batch loss' gradient with its graph (``create_graph``);
  ``update_hessian`` draws u. ``step`` keeps its own B (1 for optimlab's Sophia-H).

The draws use torch's global generator, as the authors' loop, which checkpoints save and restore.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from ..engine import HessianRefresh, hessian_refresh

__all__ = ["TrainingHessian", "SAMPLED_LOSSES"]


def _categorical(out: torch.Tensor) -> torch.Tensor:
    logits = out.movedim(1, -1) if out.dim() > 2 else out  # classes on dim 1, as cross_entropy reads them
    return torch.distributions.Categorical(logits=logits.detach()).sample()


def _bernoulli(out: torch.Tensor) -> torch.Tensor:
    return torch.bernoulli(torch.sigmoid(out.detach()))


def _gaussian(out: torch.Tensor) -> torch.Tensor:
    return out.detach() + torch.randn_like(out) * math.sqrt(0.5)


SAMPLED_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "cross_entropy": _categorical, "ce": _categorical, "categorical_crossentropy": _categorical,
    "sparse_categorical_crossentropy": _categorical, "nll": _categorical,
    "binary_crossentropy": _bernoulli, "bce": _bernoulli, "mse": _gaussian, "mean_squared_error": _gaussian,
}
"""Loss name → labels sampled from the model's prediction (the Gauss–Newton–Bartlett estimate)."""


class TrainingHessian:
    """The curvature refreshes of a Trainer (:func:`TrainingHessian.of`)."""

    def __init__(self, opt: torch.optim.Optimizer, loss_name: str, loss_fn: Callable, refresh: HessianRefresh):
        self.opt, self.loss_fn, self.refresh = opt, loss_fn, refresh
        self.sample = SAMPLED_LOSSES.get(loss_name) if refresh.estimator == "gnb" else None
        if refresh.estimator == "gnb" and self.sample is None:
            raise ValueError(f"loss must be one of {', '.join(SAMPLED_LOSSES)} for {type(opt).__name__}"
                             f"(estimator='gnb'), which samples labels from the model's prediction for its Hessian "
                             f"estimate; got {loss_name!r} (estimator='hutchinson' takes any loss)")

    @classmethod
    def of(cls, opt: torch.optim.Optimizer, loss_name: str, loss_fn: Callable) -> "TrainingHessian | None":
        """The refreshes for an optimizer with ``update_hessian`` (duck-typed), else None."""
        refresh = hessian_refresh(opt)
        return None if refresh is None else cls(opt, loss_name, loss_fn, refresh)

    def step_kwargs(self, out: torch.Tensor) -> dict[str, Any]:
        """``{"bs": B}`` for the Gauss–Newton–Bartlett estimate (B: the loss terms of this batch)."""
        if self.sample is None:
            return {}
        per_class = out.shape[1] if self.sample is _categorical and out.dim() >= 2 else 1
        return self.refresh.step_kwargs(out.numel() // per_class)

    def after_update(self, steps_done: int, model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """After the update that made ``steps_done`` steps, on its batch: refresh when one is due."""
        if not self.refresh.due(steps_done):
            return
        self.opt.zero_grad(set_to_none=True)
        params = [p for p in model.parameters() if p.requires_grad]
        with torch.enable_grad():
            out = model(xb)
            if self.sample is not None:
                self.loss_fn(out, self.sample(out)).backward()
            else:  # autograd.grad: backward(create_graph=True) would tie each p and p.grad in a cycle
                grads = torch.autograd.grad(self.loss_fn(out, yb), params, create_graph=True,
                                            allow_unused=True)
                for p, g in zip(params, grads):
                    p.grad = g
        self.opt.update_hessian()
        self.opt.zero_grad(set_to_none=True)
        model.zero_grad(set_to_none=True)

