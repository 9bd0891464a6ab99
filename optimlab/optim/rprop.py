"""Resilient backpropagation: Rprop, the sign-based method with one step size per coordinate."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import addcmul_, scalar_dtype
from .hparams import Fixed, Items, Range, describe_value
from .registry import register_optimizer

__all__ = ["Rprop"]


class _EtasOrdered:
    """torch's rule 0 < η⁻ < 1 < η⁺ (every element, for tensors), with torch's sentence."""

    def check(self, values: dict[str, Any]) -> None:
        if "etas" not in values:
            return
        lo, hi = values["etas"]
        ok = torch.all(torch.as_tensor(lo) > 0) and torch.all(torch.as_tensor(lo) < 1) and torch.all(
            torch.as_tensor(hi) > 1)
        if not ok:
            shown = ", ".join(describe_value(v) for v in (lo, hi))
            raise ValueError(f"etas must satisfy 0 < etas[0] < 1 < etas[1], got ({shown}) "
                             f"(torch: Invalid eta values: {_torch_text(lo)}, {_torch_text(hi)})")


def _per_run(v: Any) -> bool:
    return isinstance(v, Tensor) and v.dim() > 0


def _torch_text(v: Any) -> str:
    return str(v.item()) if isinstance(v, Tensor) and v.numel() == 1 else str(v)


@register_optimizer()
class Rprop(Optimizer):
    r"""Rprop: sign-based steps with per-coordinate step sizes (full-batch training).

    Riedmiller & Braun, "A Direct Adaptive Method for Faster Backpropagation Learning:
    The RPROP Algorithm", ICNN 1993; in torch's form (the variant without weight
    backtracking that Igel & Hüsken, 2000, call Rprop−, with the gradient forgotten
    after a sign change).

    With ``s_{t-1} = g_t · g_{t-1}`` (``g_0 = 0``), ``η⁻, η⁺ = etas`` and
    ``[Δ_min, Δ_max] = step_sizes``:

    .. math::
        Δ_t = \mathrm{clip}\big(Δ_{t-1} · (η^+ \text{ if } s>0,\; η^- \text{ if } s<0,\; 1 \text{ if } s=0),
              Δ_{\min}, Δ_{\max}\big),\qquad
        \tilde g_t = 0 \text{ where } s<0 \text{ else } g_t,\qquad
        θ_t = θ_{t-1} - \mathrm{sign}(\tilde g_t)\, Δ_t

    and ``g_t`` is replaced by ``\tilde g_t`` as the remembered gradient. ``Δ_0 = lr``:
    the learning rate only sets the first step sizes (so ``lr_decay`` has no use here
    and is refused). Defaults are torch's: lr 0.01, etas (0.5, 1.2), step sizes
    (1e−6, 50). Meant for full-batch gradients; the signs of mini-batch gradients
    flip by noise. Any value may be a tensor of shape (R, 1, ...) (runs).
    """

    hparams = {"etas": Items((Range(), Range())),
               "step_sizes": Items((Range(0.0), Range(0.0))),
               "lr_decay": Fixed(0.0, "Rprop's lr only sets the first step sizes")}

    hparam_rules = (_EtasOrdered(),)

    def __init__(self, params: Any, lr: Any = 1e-2, etas: tuple = (0.5, 1.2), step_sizes: tuple = (1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, **options: Any) -> None:
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes)
        super().__init__(params, defaults, capturable=capturable, foreach=foreach, maximize=maximize,
                         differentiable=differentiable, **options)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["prev"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        lr = group["lr"]
        if p.is_complex():  # both parts of a complex coordinate start at lr, as in torch
            lr = torch.complex(lr, lr) if isinstance(lr, Tensor) else complex(lr, lr)
        if isinstance(lr, Tensor) and lr.dim() > 0:  # one start per run
            state["step_size"] = torch.zeros_like(p, memory_format=torch.preserve_format).add_(lr)
        else:
            state["step_size"] = torch.full_like(p, lr.item() if isinstance(lr, Tensor) else lr,
                                                 memory_format=torch.preserve_format)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        eta_minus, eta_plus = group["etas"]
        lo, hi = group["step_sizes"]
        prev, size = state["prev"], state["step_size"]
        recording = torch.is_grad_enabled()
        s = (g * (prev.clone() if recording else prev)).sign()
        held, flipped = s > 0, s < 0
        # η⁺ where the sign held, η⁻ where it flipped, 1 where either gradient is 0 (NaN stays NaN)
        if recording or _per_run(eta_minus) or _per_run(eta_plus):
            factor = torch.where(held, eta_plus, torch.where(flipped, eta_minus, torch.where(s == 0, 1.0, s)))
        else:  # in place on the sign tensor (the zero mask read before the other fills)
            factor = s.masked_fill_(s == 0, 1.0).masked_fill_(held, eta_plus).masked_fill_(flipped, eta_minus)
        size.mul_(factor)
        if isinstance(lo, Tensor) or isinstance(hi, Tensor):
            size.copy_(torch.minimum(torch.maximum(size, torch.as_tensor(lo, dtype=size.dtype)),
                                     torch.as_tensor(hi, dtype=size.dtype)))
        else:
            size.clamp_(lo, hi)
        kept = g.masked_fill(flipped, 0.0)
        addcmul_(p, kept.sign(), size, -1)  # a copy of Δ while autograd records (the next step changes it)
        prev.copy_(kept)
