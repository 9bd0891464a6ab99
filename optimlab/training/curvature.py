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

__all__ = ["TrainingHessian", "SAMPLED_LOSSES", "loss_terms", "sampler"]


def _categorical(out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Class indices drawn from softmax(out) (classes on dim 1, as cross_entropy reads them): what
    ``Categorical(logits=out).sample()`` draws (its multinomial call), from ``generator`` if given."""
    logits = out.movedim(1, -1) if out.dim() > 2 else out
    probs = torch.distributions.Categorical(logits=logits.detach()).probs
    flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, True, generator=generator)
    return flat.reshape(probs.shape[:-1])


def _bernoulli(out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return torch.bernoulli(torch.sigmoid(out.detach()), generator=generator)


def _gaussian(out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    noise = torch.randn(out.shape, generator=generator, dtype=out.dtype, device=out.device)
    return out.detach() + noise * math.sqrt(0.5)


def loss_terms(sample: Callable[..., torch.Tensor], out: torch.Tensor) -> int:
    """B of ``step(bs=B)``: the number of terms the batch loss averages (the authors pass the
    batch's tokens): the examples (and positions) for cross-entropy, every output otherwise."""
    per_class = out.shape[1] if sample is _categorical and out.dim() >= 2 else 1
    return out.numel() // per_class


SAMPLED_LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "cross_entropy": _categorical, "ce": _categorical, "categorical_crossentropy": _categorical,
    "sparse_categorical_crossentropy": _categorical, "nll": _categorical,
    "binary_crossentropy": _bernoulli, "bce": _bernoulli, "mse": _gaussian, "mean_squared_error": _gaussian,
}
"""Loss name → labels sampled from the model's prediction (the Gauss–Newton–Bartlett estimate)."""


def sampler(opt: torch.optim.Optimizer, refresh: HessianRefresh, loss_name: str) -> Callable[..., torch.Tensor] | None:
    """The label sampler of ``loss_name`` for a Gauss–Newton–Bartlett refresh (None for Hutchinson);
    a ValueError naming ``loss`` when the loss has none."""
    if refresh.estimator != "gnb":
        return None
    sample = SAMPLED_LOSSES.get(loss_name)
    if sample is None:
        raise ValueError(f"loss must be one of {', '.join(SAMPLED_LOSSES)} for {type(opt).__name__}"
                         f"(estimator='gnb'), which samples labels from the model's prediction for its Hessian "
                         f"estimate; got {loss_name!r} (estimator='hutchinson' takes any loss)")
    return sample


class TrainingHessian:
    """The curvature refreshes of a Trainer (:func:`TrainingHessian.of`)."""

    def __init__(self, opt: torch.optim.Optimizer, loss_name: str, loss_fn: Callable, refresh: HessianRefresh):
        self.opt, self.loss_fn, self.refresh = opt, loss_fn, refresh
        self.sample = sampler(opt, refresh, loss_name)

    @classmethod
    def of(cls, opt: torch.optim.Optimizer, loss_name: str, loss_fn: Callable) -> "TrainingHessian | None":
        """The refreshes for an optimizer with ``update_hessian`` (duck-typed), else None."""
        refresh = hessian_refresh(opt)
        return None if refresh is None else cls(opt, loss_name, loss_fn, refresh)

    def step_kwargs(self, out: torch.Tensor) -> dict[str, Any]:
        """``{"bs": B}`` for the Gauss–Newton–Bartlett estimate (B: the loss terms of this batch)."""
        return {} if self.sample is None else self.refresh.step_kwargs(loss_terms(self.sample, out))

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

