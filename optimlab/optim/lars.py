"""LARS: SGD with a layer-wise trust ratio (You, Gitman & Ginsburg 2017)."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from . import _lists as L
from . import _runs
from ._base import Optimizer
from ._ops import is_nonzero
from .hparams import Flag, Range
from .registry import Tune, register_optimizer

__all__ = ["LARS", "tensor_norms", "tensor_norm"]


def tensor_norm(x: Tensor, n: int | None) -> Tensor:
    """‖x‖ of a whole tensor (one run), or of each run's slice (shape (R,), runs dimension)."""
    if n is None:
        return torch.linalg.vector_norm(x)
    return torch.linalg.vector_norm(x.reshape(n, -1), dim=1)


def tensor_norms(xs: list[Tensor], n: int | None) -> Tensor:
    """:func:`tensor_norm` of each of ``xs``, stacked: shape (N,), or (N, R) with runs (one
    multi-tensor call for one run, the same numbers)."""
    if n is None and not torch.is_grad_enabled():
        return torch.stack(torch._foreach_norm(xs))
    return torch.stack([tensor_norm(x, n) for x in xs])


@register_optimizer(tune={"momentum": Tune(0.8, 0.99)},
                    description="LARS (You et al. 2017): SGD with momentum whose step per layer is scaled to the "
                                "layer's norm, for very large batches")
class LARS(Optimizer):
    r"""LARS: You, Gitman & Ginsburg, "Large Batch Training of Convolutional Networks",
    arXiv:1708.03888, 2017 (Algorithm 1), in the torch (lr outside the momentum) form.

    For every parameter with more than one dimension (a layer's weight), with η the
    ``trust_coefficient`` and λ the weight decay:

    .. math::
        r = \frac{η\,‖θ‖}{‖g‖ + λ‖θ‖}\;(1 \text{ if } ‖θ‖ = 0 \text{ or the denominator is } 0),\qquad
        u = r\,(g + λθ)

    Vectors (biases, normalisation scales) take u = g: no trust ratio and no weight
    decay, the usual exclusion. Then ``b ← μb + (1−τ)u`` (b₀ = 0), ``θ ← θ − lr·b``
    (Nesterov: ``θ ← θ − lr·(u + μb)``); ``momentum=0``: ``θ ← θ − lr·u``.

    The authors published no package: constructor, defaults and numbers are those of
    ``pytorch_optimizer.LARS`` (pytorch-optimizer 4.1.0; checked step for step): lr 1e−3,
    momentum 0.9, dampening 0, ``trust_coefficient`` 1e−3. With hyperparameters of shape
    (R, 1, ...), or ``runs=True`` (what the runner and the sweeps pass), the norms are taken
    per run, and a parameter counts as a layer's weight when each run's slice has more than
    one dimension: a lone point of the function lab, shape (1, d), is a vector, as each run
    of a sweep is.
    """

    runs_layout = "leading"  # how stacked runs are told apart (optimlab.runner.runs_layout)
    hparams = {"momentum": Range(0.0, 1.0, hi_open=True), "dampening": Range(0.0, 1.0, hi_open=True),
               "trust_coefficient": Range(0.0), "nesterov": Flag(), "runs": Flag()}
    _RUN_NAMES = ("lr", "weight_decay", "momentum", "dampening", "trust_coefficient")

    def __init__(self, params: Any, lr: Any = 1e-3, weight_decay: Any = 0.0, momentum: Any = 0.9,
                 dampening: Any = 0.0, trust_coefficient: Any = 1e-3, nesterov: bool = False,
                 foreach: bool | None = None, maximize: bool = False, *, runs: bool = False,
                 **options: Any) -> None:
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, dampening=dampening,
                        trust_coefficient=trust_coefficient, nesterov=nesterov, runs=runs)
        super().__init__(params, defaults, foreach=foreach, maximize=maximize, **options)
        _runs.run_count("LARS", self.param_groups, self._RUN_NAMES)

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return is_nonzero(group["lr_decay"])

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if is_nonzero(group["momentum"]):
            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        if group["decoupled_weight_decay"]:  # θ(1 − lr·λ) on every parameter, then no λ in u
            return super()._weight_decay(group, params, grads, lrs)
        return grads  # λθ enters u inside the trust ratio (_update)

    _updates_lists = True
    # no temporary: u is never made (add_u below), so a call's lists may be large (lists.cache_sized)
    _chunk_elements = 1 << 20

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        add_u = self._direction(ps, gs, group)
        momentum = group["momentum"]
        if not is_nonzero(momentum):
            add_u(ps, L.neg(lrs))
            return
        for p, state in zip(ps, states):
            if "momentum_buffer" not in state:  # momentum raised after the first step (a scheduler)
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        bs = [state["momentum_buffer"] for state in states]
        add_u(L.mul_(bs, momentum), 1 - group["dampening"])
        if group["nesterov"]:  # θ − lr·(u + μb)
            add_u(ps, L.neg(lrs))
            L.add_(ps, bs, [-lr * momentum for lr in lrs])
        elif isinstance(momentum, Tensor):  # runs with momentum 0 take u itself, as alone: θ − lr·(kb + (1−k)u)
            keep = (momentum != 0).to(ps[0].dtype)
            add_u(ps, [-lr * (1 - keep) for lr in lrs])
            L.add_(ps, bs, [-lr * keep for lr in lrs])
        else:
            L.add_(ps, bs, L.neg(lrs))

    def _direction(self, ps: list[Tensor], gs: list[Tensor], group: dict[str, Any]) -> Callable[[list[Tensor], Any],
                                                                                              None]:
        """``add_u(ts, x)``: ts ← ts + x·u, with u = g for vectors and r·(g + λθ) for layers, the
        ratios r of every layer at once; u is never made (written as g·r and θ·rλ into ts), so the
        step makes no temporary of the parameters' size. ``x``: a number or one per parameter."""
        n = _runs.run_count("LARS", [group], self._RUN_NAMES)
        if n is None and group["runs"]:  # runs=True: the leading dimension counts runs, even one
            n = ps[0].shape[0]
        layers = [i for i, p in enumerate(ps) if p.dim() - (n is not None) > 1]  # matrices: the trust ratio
        vectors = [i for i, p in enumerate(ps) if p.dim() - (n is not None) <= 1]
        wd = 0.0 if group["decoupled_weight_decay"] else group["weight_decay"]
        lp, lg = [ps[i] for i in layers], [gs[i] for i in layers]
        if layers:
            w_norm, g_norm = tensor_norms(lp, n), tensor_norms(lg, n)  # every layer's at once: (N,) or (N, R)
            denom = g_norm + _runs.flat(wd) * w_norm
            one = torch.ones_like(w_norm)
            ratio = torch.where(w_norm > 0, torch.where(denom > 0, _runs.flat(group["trust_coefficient"]) * w_norm
                                                        / denom, one), one)
            rs = [_runs.column(r, p) for r, p in zip(ratio.unbind(), lp)]
            rs_wd = [_runs.column(r, p) for r, p in zip((ratio * _runs.flat(wd)).unbind(), lp)] if is_nonzero(wd) \
                else None

        def add_u(ts: list[Tensor], x: Any) -> None:
            xs = L.each(x, len(ts))
            if vectors:
                L.add_([ts[i] for i in vectors], [gs[i] for i in vectors], [xs[i] for i in vectors])
            if layers:
                lt, lx = [ts[i] for i in layers], [xs[i] for i in layers]
                if rs_wd is not None:  # first: ts may be the parameters themselves
                    L.addcmul_(lt, lp, rs_wd, lx)
                L.addcmul_(lt, lg, rs, lx)
        return add_u
