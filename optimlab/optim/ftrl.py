"""FTRL-Proximal: follow the regularized leader with per-coordinate rates (McMahan et al. 2013)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import is_nonzero
from .hparams import Range
from .registry import Tune, register_optimizer

__all__ = ["Ftrl"]


@register_optimizer(tune={"l1": Tune(0.0, 0.01)},
                    description="FTRL-Proximal (McMahan et al. 2013): per-coordinate rates and an L1 term that "
                                "sets coordinates exactly to 0 (sparse models, click-through prediction)")
class Ftrl(Optimizer):
    r"""FTRL-Proximal: McMahan, Holt, Sculley, Young, Ebner, Grady, Nie, Phillips, Davydov,
    Golovin, Chikkerur, Liu, Wattenberg, Hrafnkelsson, Boulos & Kubica, "Ad Click Prediction:
    a View from the Trenches", KDD 2013 (Algorithm 1), in the generalised form of
    TensorFlow and Keras 3 (``learning_rate_power``, ``l2_shrinkage``, ``beta``).

    Per coordinate, with n the accumulated squared gradients (starting at
    ``initial_accumulator_value``), z the "linear" state (starting at 0), p =
    ``lr_power``, λ₁ = ``l1``, λ₂ = ``l2`` + β/(2·lr) and s = ``l2_shrinkage``:

    .. math::
        n_t = n_{t-1} + g_t^2,\qquad
        z_t = z_{t-1} + g_t + 2sθ_{t-1} - \frac{n_t^{-p} - n_{t-1}^{-p}}{\mathrm{lr}}\,θ_{t-1}

        θ_t = \frac{\operatorname{clip}(z_t, -λ_1, λ_1) - z_t}{n_t^{-p}/\mathrm{lr} + 2λ_2}

    so θ_t = 0 wherever |z_t| ≤ λ₁. With p = −½, s = 0, β = 0 this is the paper's
    Algorithm 1 (its α = lr, its β = ``beta``). Defaults are Keras 3's: lr 1e−3, p −½,
    n₀ 0.1, λ₁ = λ₂ = s = β = 0; the test checks the numbers step for step against
    ``keras.optimizers.Ftrl`` (tests/test_keras_more.py). The state is ``accumulator``
    and ``linear``. Weight decay (decoupled or not) is optimlab's, applied before the
    update. Hyperparameter tensors broadcast (the runs dimension).
    """

    hparams = {"lr": Range(0.0, lo_open=True), "lr_power": Range(None, 0.0),
               "initial_accumulator_value": Range(0.0), "l1": Range(0.0), "l2": Range(0.0),
               "l2_shrinkage": Range(0.0), "beta": Range(0.0)}

    def __init__(self, params: Any, lr: Any = 1e-3, lr_power: Any = -0.5, initial_accumulator_value: Any = 0.1,
                 l1: Any = 0.0, l2: Any = 0.0, l2_shrinkage: Any = 0.0, beta: Any = 0.0, weight_decay: Any = 0.0,
                 **options: Any) -> None:
        defaults = dict(lr=lr, lr_power=lr_power, initial_accumulator_value=initial_accumulator_value, l1=l1,
                        l2=l2, l2_shrinkage=l2_shrinkage, beta=beta, weight_decay=weight_decay)
        super().__init__(params, defaults, **options)

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return is_nonzero(group["lr_decay"])  # FTRL's state is the accumulator and the linear term

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if p.is_complex():
            raise RuntimeError("Ftrl does not support complex parameters")
        n0 = group["initial_accumulator_value"]
        state["accumulator"] = torch.zeros_like(p, memory_format=torch.preserve_format).add_(
            torch.as_tensor(n0, dtype=p.dtype, device=p.device))
        state["linear"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        n, z = state["accumulator"], state["linear"]
        power = -group["lr_power"]
        l2 = group["l2"] + group["beta"] / (2.0 * lr)
        shrunk = g + 2 * group["l2_shrinkage"] * p if is_nonzero(group["l2_shrinkage"]) else g
        n_new = n + g * g
        new_root = n_new.pow(power)
        z.add_(shrunk - (new_root - n.pow(power)) / lr * p)
        l1 = group["l1"]
        clipped = torch.clamp(z, -l1, l1) if isinstance(l1, Tensor) else z.clamp(-l1, l1)
        p.copy_((clipped - z) / (new_root / lr + 2 * l2))
        n.copy_(n_new)
