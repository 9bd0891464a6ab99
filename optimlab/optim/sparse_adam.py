"""SparseAdam: Adam on the coordinates a sparse gradient holds (``nn.Embedding(sparse=True)``)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import is_tensor_hparam
from .hparams import Fixed, Items, NumbersOnly, Range
from .registry import Tune, register_optimizer

__all__ = ["SparseAdam"]


@register_optimizer(tune={"beta1": Tune(0.8, 0.95)})
class SparseAdam(Optimizer):
    r"""SparseAdam: Adam on the rows a sparse gradient holds (nn.Embedding(sparse=True)).

    Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, restricted
    as torch's ``SparseAdam`` restricts it (the "lazy Adam" of embedding training):
    for the set S of coordinates a (coalesced) sparse gradient holds,

    .. math::
        m_S ← β_1 m_S + (1-β_1) g_S,\qquad v_S ← β_2 v_S + (1-β_2) g_S^2,\qquad
        θ_S ← θ_S - \mathrm{lr}\,\frac{\sqrt{1-β_2^t}}{1-β_1^t}\,\frac{m_S}{\sqrt{v_S} + ε}

    and nothing changes outside S; ``t`` counts the steps with a gradient (empty
    gradients skip the update but count, as in torch). Gradients must be sparse and
    parameters dense and real. Defaults are torch's: lr 1e−3, betas (0.9, 0.999),
    ε 1e−8. ``state["step"]`` is a plain integer, as torch keeps it. A per-run tensor
    ``lr`` of shape (R, 1, ...) (runs) scales the step of each run's rows; betas and ε
    are one value for all runs.
    """

    hparams = {"lr": Range(0.0, lo_open=True, torch="Invalid learning rate"),
               "eps": Range(0.0, lo_open=True, torch="Invalid epsilon value"),
               "betas": Items((Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 0"),
                               Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 1"))),
               **{k: Fixed(None, "SparseAdam clips no sparse gradients")
                  for k in ("clipvalue", "clipnorm", "global_clipnorm")},
               "lr_decay": Fixed(0.0, "not offered by SparseAdam")}
    hparam_rules = (NumbersOnly(("betas", "eps"), "SparseAdam takes one value per run only for lr",
                                one_element=True),)
    _supports_sparse = True

    def __init__(self, params: Any, lr: Any = 1e-3, betas: tuple = (0.9, 0.999), eps: Any = 1e-8,
                 maximize: bool = False, **options: Any) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps)
        super().__init__(params, defaults, maximize=maximize, **options)
        where = [(gi, pi, p) for gi, group in enumerate(self.param_groups) for pi, p in enumerate(group["params"])]
        sparse = [[gi, pi] for gi, pi, p in where if p.is_sparse]
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors")
        cplx = [[gi, pi] for gi, pi, p in where if p.is_complex()]
        if cplx:
            raise ValueError(f"Complex params at indices {cplx}: SparseAdam does not support complex parameters")

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for pstate in self.state.values():  # torch keeps the count as a plain integer
            if isinstance(pstate.get("step"), Tensor):
                pstate["step"] = int(pstate["step"].item())

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return False  # a plain integer, counted in _update as torch counts it

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not p.grad.is_sparse:
            raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        if not g.is_sparse:
            raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
        state["step"] = t = state["step"] + 1
        g = g.coalesce()  # the update is not linear in g: one value per coordinate
        index, values = g._indices(), g._values()
        if values.numel() == 0:
            return
        (b1, b2), eps = group["betas"], group["eps"]
        m, v = state["exp_avg"], state["exp_avg_sq"]

        def on_s(x: Tensor) -> Tensor:
            return torch.sparse_coo_tensor(index, x, g.shape, is_coalesced=True, check_invariants=False)

        m_old, v_old = m.sparse_mask(g)._values(), v.sparse_mask(g)._values()
        dm = (values - m_old) * (1 - b1)  # m_S + dm = β1 m_S + (1-β1) g_S
        dv = (values * values - v_old) * (1 - b2)
        m.add_(on_s(dm))
        v.add_(on_s(dv))
        rate = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        step = (dm + m_old) / ((dv + v_old).sqrt() + eps)
        if is_tensor_hparam(rate) and rate.dim() > 0:  # per run: the rate of each stored row
            rate = rate.expand(p.shape)[tuple(index)]
        p.add_(on_s(-rate * step))
