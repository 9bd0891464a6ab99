"""Arithmetic on lists of tensors, so that an update rule is written once for all parameters.

An update rule written with these functions runs on the lists of a parameter group's
parameters, gradients and state tensors. Each function takes torch's multi-tensor
path (``torch._foreach_*``: one call for the whole list, no Python per tensor) when it
can and otherwise applies the per-tensor helper of :mod:`optimlab.optim._ops` to each
tensor, with the same arithmetic, so both give the same numbers:

* a hyperparameter that is a Python number, or a list with one Python number per
  tensor (a per-parameter learning rate), goes to the foreach call;
* a tensor hyperparameter (the runs dimension, broadcast against each tensor), a list
  holding tensors, or a step recorded by autograd (``differentiable=True``) goes tensor
  by tensor.

``x`` below is such a hyperparameter: a number, a tensor, or a list with one per tensor.
"""

from __future__ import annotations

import math
from itertools import repeat
from typing import Any

import torch
from torch import Tensor

from . import _ops as one

__all__ = ["each", "fast", "neg", "mul_", "add_", "add", "addcmul_", "addcdiv_", "lerp_", "addcmul", "add_scalar_",
           "add_scalar", "sqrt_", "sqrt", "sqrt_eps", "div_", "div_scalar_", "div", "mul_by_", "absolute", "maximum_",
           "cache_sized", "CHUNK_ELEMENTS", "mul", "sign", "clamp_min", "clamp_",
           "at_least_", "quotient_into_"]


def each(x: Any, n: int) -> list[Any]:
    """One value per tensor."""
    return list(x) if isinstance(x, (list, tuple)) else [x] * n


def _has_tensor(x: list | tuple) -> bool:
    """True when the list holds a tensor (a C-level loop: this runs for every operation of a step)."""
    return any(map(isinstance, x, repeat(Tensor)))


def fast(*xs: Any) -> bool:
    """True when torch's foreach call takes these hyperparameters and nothing records autograd."""
    if torch.is_grad_enabled():
        return False
    for x in xs:
        if isinstance(x, Tensor) or (isinstance(x, (list, tuple)) and _has_tensor(x)):
            return False
    return True


def _one(x: Any) -> Any:
    """A list of equal Python numbers as one number (foreach's ``alpha=`` takes only one)."""
    if isinstance(x, (list, tuple)) and x and not _has_tensor(x) and x.count(x[0]) == len(x):
        return x[0]
    return x


def neg(x: Any) -> Any:
    return [-v for v in x] if isinstance(x, (list, tuple)) else -x


_HALF = frozenset((torch.float16, torch.bfloat16))
_SAME_AS_A_NUMBER = (torch.float32, torch.float64)


def _no_half(ts: list[Tensor]) -> bool:
    return _HALF.isdisjoint([t.dtype for t in ts])


def _number(ts: list[Tensor], x: Any) -> Any:
    """The number ``x`` (or one per tensor) as the operand of a foreach multiplication, division
    or addition of ``ts``: on the CPU, where all of ``ts`` are float32 or all float64, one 0-d
    tensor of their dtype. torch 2.13's CPU foreach by a Python number wraps it into a tensor
    again for every tensor of the list (~2 µs each, more than the arithmetic of a small
    tensor); by a 0-d tensor of the list's dtype it does not (an addition needs ``alpha=1`` to
    take that overload, as torch's own Adam adds 1 to its CPU step counts), and the numbers are
    the same bit for bit: both round x to that dtype (tests/test_optim_overhead.py)."""
    x = _one(x)
    if isinstance(x, (list, tuple)) or len(ts) < 2 or not ts[0].is_cpu:
        return x
    dtype = ts[0].dtype
    if dtype not in _SAME_AS_A_NUMBER or any(t.dtype != dtype or not t.is_cpu for t in ts):
        return x
    return _scalar(x, dtype)


def _scalar(x: Any, dtype: torch.dtype) -> Tensor:
    """``torch.tensor(x, dtype=dtype)`` (CPU), made once per value: making one costs more (~2–7 µs)
    than it saves on a list of two or three tensors, and a rule run on cache-sized runs of a list
    passes the same numbers for every run (Prodigy at 1M/10: 20 per step, 4 values). Never
    written to: only an operand. The key tells 0.0 from −0.0; a NaN is never found, made anew."""
    if torch.compiler.is_compiling():  # a traced program takes it as a constant; no global state
        return torch.tensor(x, dtype=dtype)
    key = (x, math.copysign(1.0, x), dtype)
    t = _SCALARS.get(key)
    if t is None:
        if len(_SCALARS) >= 256:  # per-step values (lr·d, ...) would pile up: start over
            _SCALARS.clear()
        t = _SCALARS[key] = torch.tensor(x, dtype=dtype)
    return t


_SCALARS: dict[tuple, Tensor] = {}


def mul_(ts: list[Tensor], x: Any) -> list[Tensor]:
    """t ← x·t (float16 and bfloat16 tensor by tensor: torch 2.13's ``_foreach_mul_`` by a number
    rounds them otherwise than ``Tensor.mul_``, one unit in the last place at times)"""
    if fast(x) and _no_half(ts):
        torch._foreach_mul_(ts, _number(ts, x))
    else:
        for t, v in zip(ts, each(x, len(ts))):
            t.mul_(v)
    return ts


def add_(ts: list[Tensor], others: list[Tensor], x: Any = 1.0) -> list[Tensor]:
    """t ← t + x·other"""
    x = _one(x)
    if fast(x) and not isinstance(x, (list, tuple)):
        torch._foreach_add_(ts, others, alpha=x)
    elif fast(x):
        torch._foreach_add_(ts, torch._foreach_mul(others, x))
    else:
        for t, o, v in zip(ts, others, each(x, len(ts))):
            one.add_(t, o, v)
    return ts


def add(ts: list[Tensor], others: list[Tensor], x: Any = 1.0) -> list[Tensor]:
    """t + x·other as new tensors"""
    x = _one(x)
    if fast(x) and not isinstance(x, (list, tuple)):
        return torch._foreach_add(ts, others, alpha=x)
    if fast(x):
        return torch._foreach_add(ts, torch._foreach_mul(others, x))
    return [one.add(t, o, v) for t, o, v in zip(ts, others, each(x, len(ts)))]


def maximum_(ts: list[Tensor], others: list[Tensor]) -> list[Tensor]:
    """t ← max(t, other)"""
    if fast():
        torch._foreach_maximum_(ts, others)
    else:
        for t, o in zip(ts, others):
            one.maximum_(t, o)
    return ts


def mul(ts: list[Tensor], x: Any) -> list[Tensor]:
    """x·t as new tensors"""
    if fast(x) and _no_half(ts):
        return torch._foreach_mul(ts, _number(ts, x))
    return [t * v for t, v in zip(ts, each(x, len(ts)))]


def sign(ts: list[Tensor]) -> list[Tensor]:
    """sign(t) as new tensors"""
    return torch._foreach_sign(ts) if fast() else [t.sign() for t in ts]


def clamp_min(ts: list[Tensor], lo: float) -> list[Tensor]:
    """max(t, lo) as new tensors (``lo`` a Python number)"""
    return torch._foreach_clamp_min(ts, lo) if fast() else [t.clamp(min=lo) for t in ts]


def clamp_(ts: list[Tensor], lo: Any, hi: Any) -> list[Tensor]:
    """t ← min(max(t, lo), hi) (Python numbers, or one pair per tensor): one pass per tensor (torch
    has no foreach clamp to both)"""
    for t, a, b in zip(ts, each(lo, len(ts)), each(hi, len(ts))):
        t.clamp_(a, b)
    return ts


def at_least_(ts: list[Tensor], x: Any) -> list[Tensor]:
    """t ← max(t, x)"""
    if fast(x) and not isinstance(_one(x), (list, tuple)):
        torch._foreach_clamp_min_(ts, _one(x))
    else:
        for t, v in zip(ts, each(x, len(ts))):
            torch.maximum(t, v, out=t) if isinstance(v, Tensor) else t.clamp_(min=v)
    return ts


def quotient_into_(ts: list[Tensor], others: list[Tensor]) -> list[Tensor]:
    """other ← t / other (others of the shape of t): the quotient without allocating a tensor for
    it, which on the CPU costs as much as the division itself for large tensors (fresh pages)."""
    if not fast():
        return [t / o for t, o in zip(ts, others)]
    for t, o in zip(ts, others):
        torch.div(t, o, out=o)
    return others


def absolute(ts: list[Tensor]) -> list[Tensor]:
    """|t| as new tensors"""
    return torch._foreach_abs(ts) if fast() else [t.abs() for t in ts]


def addcmul_(ts: list[Tensor], a: list[Tensor], b: list[Tensor], x: Any = 1.0) -> list[Tensor]:
    """t ← t + x·a·b"""
    if fast(x):
        torch._foreach_addcmul_(ts, a, b, _one(x))
    else:
        for t, u, w, v in zip(ts, a, b, each(x, len(ts))):
            one.addcmul_(t, u, w, v)
    return ts


def addcdiv_(ts: list[Tensor], a: list[Tensor], b: list[Tensor], x: Any = 1.0) -> list[Tensor]:
    """t ← t + x·a/b"""
    if fast(x):
        torch._foreach_addcdiv_(ts, a, b, _one(x))
    else:
        for t, u, w, v in zip(ts, a, b, each(x, len(ts))):
            one.addcdiv_(t, u, w, v)
    return ts


def lerp_(ts: list[Tensor], others: list[Tensor], x: Any) -> list[Tensor]:
    """t ← t + x·(other − t)"""
    x = _one(x)
    if fast(x) and not isinstance(x, (list, tuple)):
        torch._foreach_lerp_(ts, others, x)
    else:
        for t, o, v in zip(ts, others, each(x, len(ts))):
            t.lerp_(o, v)
    return ts


def addcmul(ts: list[Tensor], a: list[Tensor], b: list[Tensor], x: Any = 1.0) -> list[Tensor]:
    """t + x·a·b as new tensors"""
    if fast(x):
        return torch._foreach_addcmul(ts, a, b, _one(x))
    return [one.addcmul(t, u, w, v) for t, u, w, v in zip(ts, a, b, each(x, len(ts)))]


def add_scalar_(ts: list[Tensor], x: Any) -> list[Tensor]:
    """t ← t + x"""
    if fast(x):
        c = _number(ts, x)
        torch._foreach_add_(ts, c, alpha=1.0) if isinstance(c, Tensor) else torch._foreach_add_(ts, c)
    else:
        for t, v in zip(ts, each(x, len(ts))):
            t.add_(v)
    return ts


def sqrt_(ts: list[Tensor]) -> list[Tensor]:
    if fast():
        torch._foreach_sqrt_(ts)
    else:
        for t in ts:
            t.sqrt_()
    return ts


def sqrt(ts: list[Tensor]) -> list[Tensor]:
    """√t as new tensors"""
    return torch._foreach_sqrt(ts) if fast() else [t.sqrt() for t in ts]


def sqrt_eps(vs: list[Tensor], eps: Any, fresh: bool = False, divisor: Any = None) -> list[Tensor]:
    """√v + ε, or √v / divisor + ε, as new tensors (``fresh``: the vs are temporaries the root
    may overwrite). While autograd records the step, the root is not changed in place: its
    backward needs it."""
    if not fast(eps, divisor):
        return [one.sqrt_eps(v, e, fresh, d) for v, e, d in zip(vs, each(eps, len(vs)), each(divisor, len(vs)))]
    roots = sqrt_(vs) if fresh else torch._foreach_sqrt(vs)
    if divisor is not None:
        div_scalar_(roots, divisor)
    return add_scalar_(roots, eps)


def add_scalar(ts: list[Tensor], x: Any) -> list[Tensor]:
    """t + x as new tensors"""
    if fast(x):
        c = _number(ts, x)
        return torch._foreach_add(ts, c, alpha=1.0) if isinstance(c, Tensor) else torch._foreach_add(ts, c)
    return [t.add(v) for t, v in zip(ts, each(x, len(ts)))]


def div_(ts: list[Tensor], others: list[Tensor]) -> list[Tensor]:
    """t ← t / other"""
    if fast():
        torch._foreach_div_(ts, others)
    else:
        for t, o in zip(ts, others):
            t.div_(o)
    return ts


def div_scalar_(ts: list[Tensor], x: Any) -> list[Tensor]:
    """t ← t / x"""
    if fast(x):
        torch._foreach_div_(ts, _number(ts, x))
    else:
        for t, v in zip(ts, each(x, len(ts))):
            t.div_(v)
    return ts


def div(ts: list[Tensor], x: Any) -> list[Tensor]:
    """t / x as new tensors"""
    if fast(x):
        return torch._foreach_div(ts, _number(ts, x))
    return [t / v for t, v in zip(ts, each(x, len(ts)))]


def mul_by_(ts: list[Tensor], others: list[Tensor]) -> list[Tensor]:
    """t ← t · other"""
    if fast():
        torch._foreach_mul_(ts, others)
    else:
        for t, o in zip(ts, others):
            t.mul_(o)
    return ts


CHUNK_ELEMENTS = 1 << 18  # 1 MB of float32: measured best of 2^15, 2^17, 2^18, 2^19, 2^21 (docs/optimizers.md)


def cache_sized(indices: list[int], params: list[Tensor], limit: int = CHUNK_ELEMENTS) -> list[list[int]]:
    """``indices`` in runs of consecutive parameters of at most ``limit`` elements
    together (a larger parameter alone), on CPU: an update rule over lists applies each
    operation to the whole list before the next, so on CPU a list whose tensors do not
    fit in cache together would stream every operation through memory, where one tensor
    at a time keeps its working set in cache. On other devices: one run."""
    if not indices or params[indices[0]].device.type != "cpu":
        return [list(indices)] if indices else []
    indices = list(indices)
    if len(indices) == 1:  # one run, and no comparison of its size (a traced program's runs are symbolic)
        return [indices]
    sizes = list(map(Tensor.numel, map(params.__getitem__, indices)))
    if sum(sizes) <= limit:
        return [indices]
    chunks, start, size = [], 0, 0
    for k, n in enumerate(sizes):
        if k > start and size + n > limit:
            chunks.append(indices[start:k])
            start, size = k, 0
        size += n
    chunks.append(indices[start:])
    return chunks
