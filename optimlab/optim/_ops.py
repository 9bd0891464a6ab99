"""The per-tensor arithmetic every update rule is written with.

Each helper takes a hyperparameter that is a Python number fast (torch's ``alpha=`` and
``value=`` arguments) and a tensor hyperparameter (the runs dimension) by broadcasting,
so a formula is written once and works for both; while autograd records a step
(``differentiable=True``) the helpers keep copies of the operands that later steps
change in place. :mod:`optimlab.optim._lists` applies the same helpers over lists.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["kept", "add_", "add", "maximum_", "addcmul_", "addcdiv_", "addcmul", "sqrt", "sqrt_eps", "step_value",
           "is_tensor_hparam", "is_nonzero", "scalar_dtype", "init_moments"]


def kept(x: Tensor) -> Tensor:
    """``x`` itself, or while autograd records the step (``differentiable=True``) a copy:
    the update's backward keeps its operands, and an operand that is state (Adam's m)
    is changed in place by the next step, which would break a graph over several steps
    (torch clones it on its differentiable path too)."""
    return x.clone() if torch.is_grad_enabled() else x


def add_(t: Tensor, x: Tensor, alpha: Any = 1.0) -> Tensor:
    """t += alpha * x"""
    if isinstance(alpha, Tensor):
        return t.add_(kept(x) * alpha)
    return t.add_(x, alpha=alpha)


def add(t: Tensor, x: Tensor, alpha: Any = 1.0) -> Tensor:
    """t + alpha * x as a new tensor"""
    if isinstance(alpha, Tensor):
        return t + kept(x) * alpha
    return t.add(x, alpha=alpha)


def maximum_(t: Tensor, other: Tensor) -> Tensor:
    """t ← max(t, other) in place; recorded by autograd when it tracks either (differentiable=True)."""
    if torch.is_grad_enabled() and (t.requires_grad or other.requires_grad):
        return t.copy_(torch.maximum(t.clone(), kept(other)))  # maximum's backward keeps its inputs
    return torch.maximum(t, other, out=t)


def addcmul_(t: Tensor, a: Tensor, b: Tensor, value: Any = 1.0) -> Tensor:
    """t += value * a * b"""
    a, b = kept(a), kept(b)
    if isinstance(value, Tensor):
        return t.addcmul_(a * value, b)
    return t.addcmul_(a, b, value=value)


def addcdiv_(t: Tensor, a: Tensor, b: Tensor, value: Any = 1.0) -> Tensor:
    """t += value * a / b"""
    a, b = kept(a), kept(b)
    if isinstance(value, Tensor):
        return t.addcdiv_(a * value, b)
    return t.addcdiv_(a, b, value=value)


def addcmul(t: Tensor, a: Tensor, b: Tensor, value: Any = 1.0) -> Tensor:
    """t + value * a * b as a new tensor"""
    a, b = kept(a), kept(b)
    if isinstance(value, Tensor):
        return t.addcmul(a * value, b)
    return t.addcmul(a, b, value=value)


def sqrt(x: Any) -> Any:
    """Square root of a Python number or a tensor."""
    return x.sqrt() if isinstance(x, Tensor) else math.sqrt(x)


def sqrt_eps(v: Tensor, eps: Any, fresh: bool = False, divisor: Any = None) -> Tensor:
    """√v + ε, or √v / divisor + ε, as a new tensor. ``fresh``: v is a temporary the root may
    overwrite. While autograd records the step (``differentiable=True``), the root is not
    changed in place: its backward needs the root itself."""
    root = v.sqrt() if torch.is_grad_enabled() or not fresh else v.sqrt_()
    if divisor is not None:
        return (root / divisor).add_(eps)
    return root + eps if torch.is_grad_enabled() else root.add_(eps)


def step_value(state: dict[str, Any]) -> Any:
    """This parameter's step count t as a Python float; inside ``torch.compile`` the
    step tensor itself, as torch does, so that a compiled step neither breaks the
    graph nor recompiles at every new value of t."""
    t = state["step"]
    if not torch.compiler.is_compiling():
        return t.item()
    # float64 like the Python float of eager mode (a float32 step costs ~1e-7 in β^t)
    return t if t.dtype == torch.float64 or t.device.type == "mps" else t.to(torch.float64)


def is_tensor_hparam(v: Any) -> bool:
    return isinstance(v, Tensor)


def is_nonzero(v: Any) -> bool:
    if isinstance(v, Tensor):
        return True
    return v != 0


def scalar_dtype() -> torch.dtype:
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def init_moments(p: Tensor, state: dict) -> None:
    """An Adam-style state: a 0-d float ``step`` (torch's convention) and zero first and
    second moments ``exp_avg``, ``exp_avg_sq`` shaped like ``p``."""
    state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
