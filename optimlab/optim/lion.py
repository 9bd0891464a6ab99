"""Lion: the sign of an interpolated momentum (Chen et al. 2023)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import add_, is_nonzero
from .hparams import Items, Range, Requires, SameKind, check_flag
from .registry import Tune, register_optimizer

__all__ = ["Lion"]


@register_optimizer(tune={"beta1": Tune(0.8, 0.99)},
                    description="Lion (Chen et al. 2023): the sign of an interpolated momentum, one state tensor "
                                "(half of AdamW's memory), lr 3-10x smaller than AdamW's")
class Lion(Optimizer):
    r"""Lion (EvoLved Sign Momentum): Chen et al., "Symbolic Discovery of Optimization
    Algorithms", NeurIPS 2023 (Algorithm 2).

    .. math::
        c_t = β_1 m_{t-1} + (1-β_1) g_t,\qquad
        θ_t = θ_{t-1}(1 - \mathrm{lr}\,λ) - \mathrm{lr}\,\operatorname{sign}(c_t),\qquad
        m_t = β_2 m_{t-1} + (1-β_2) g_t

    Every coordinate moves by exactly ±lr (0 where ``c_t = 0``), so the learning rate
    should be 3–10× smaller than AdamW's and the weight decay λ as many times larger.

    Constructor, defaults and numbers are those of ``lion_pytorch.Lion`` 0.2.5 (lr 1e−4,
    β (0.9, 0.99)), the authors' reference being the paper's program; the tests check
    them step for step. As there, weight decay is always the decoupled
    ``θ(1 − lr·λ)`` above, and ``decoupled_weight_decay=True`` means lion_pytorch's
    "fully decoupled" decay: λ is divided by the constructor's lr, so the shrinking is
    ``θ(1 − (lr_t/lr_0)·λ)`` whatever the lr's size (a group key of the same name keeps
    that meaning; the constructor's lr is kept as ``init_lr``). ``use_triton`` is
    accepted and runs the same formula without Triton.
    """

    hparams = {"betas": Items((Range(0.0, 1.0), Range(0.0, 1.0))), "init_lr": Range(0.0)}
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),
                    Requires("decoupled_weight_decay", "init_lr", Range(0.0, lo_open=True),
                             "lr > 0 in the constructor (the weight decay is divided by it)"))

    def __init__(self, params: Any, lr: Any = 1e-4, betas: tuple[Any, Any] = (0.9, 0.99), weight_decay: Any = 0.0,
                 use_triton: bool = False, decoupled_weight_decay: bool = False, **options: Any) -> None:
        check_flag("use_triton", use_triton)
        defaults = dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, init_lr=lr)
        super().__init__(params, defaults, decoupled_weight_decay=decoupled_weight_decay, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return is_nonzero(group["lr_decay"])  # Lion keeps no step count (lion_pytorch's state is exp_avg alone)

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        """Always decoupled: θ ← θ(1 − lr·λ), or θ(1 − lr·λ/lr_0) with ``decoupled_weight_decay``."""
        wd = group["weight_decay"]
        if group["decoupled_weight_decay"]:
            wd = wd / group["init_lr"]
        return super()._weight_decay({**group, "weight_decay": wd, "decoupled_weight_decay": True}, params, grads,
                                     lrs)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        beta1, beta2 = group["betas"]
        m = state["exp_avg"]
        c = add_(m * beta1, g, 1 - beta1)
        add_(p, c.sign_(), -lr)
        add_(m.mul_(beta2), g, 1 - beta2)
