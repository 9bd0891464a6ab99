"""The non-finite gradient check: one pass over the gradients, one host read per device.

:func:`all_finite` answers "is every element of every gradient finite?" before a step
changes anything. Per device it reduces all the gradients on the device itself and reads
one number back to the host, so on CUDA the check costs one synchronisation per step
instead of one per parameter. Two device-side reductions feed that number, chosen by
tensor size (the table in ``docs/optimizers.md`` measures them):

* tensors below :data:`BATCH_MAX` elements go to torch's multi-tensor check
  ``torch._amp_foreach_non_finite_check_and_unscale_`` (the one ``GradScaler`` uses), here
  with a scale of exactly 1, which leaves every value as it was: one call for the whole
  list, where a per-tensor reduction would pay a few microseconds of dispatch per tensor;
* larger tensors, and any the batched check cannot take (overlapping layouts, devices
  without it), are summed one by one: a NaN or ±inf makes the sum non-finite, and at
  this size the sum reads faster than the batched check.

Per device the sums are added up, or, beside smaller tensors, join the batched check as
one more small tensor: one number per device, read once. A finite gradient whose sum
overflows makes the answer ``False``: the caller then checks exactly, tensor by tensor
(``Optimizer._grads_ok``), and finds nothing. Gradients all on the CPU (the usual case there) are not grouped by device.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._fused import is_dense

__all__ = ["all_finite", "BATCH_MAX"]

BATCH_MAX = 1 << 16
_BATCH_DEVICES = ("cpu", "cuda")
_HALF = (torch.float16, torch.bfloat16)


def _values(g: Tensor) -> Tensor | None:
    """The real, dense numbers of a gradient (None for a meta tensor, which holds none)."""
    if g.is_sparse:
        g = g._values()
    if g.is_meta:
        return None
    if g.is_complex():
        g = torch.view_as_real(g)
    return g.detach() if g.requires_grad else g


def _batchable(g: Tensor) -> bool:
    # the batched check writes its (unchanged) values back, so it needs one memory
    # location per element: a dense layout
    return g.numel() < BATCH_MAX and g.device.type in _BATCH_DEVICES and is_dense(g)


def _ones(device: torch.device) -> Tensor:
    """The unscale factor 1 of the batched check, made once per device."""
    one = _ONES.get(device)
    if one is None:
        one = _ONES[device] = torch.ones((), dtype=torch.float32, device=device)
    return one


_ONES: dict[torch.device, Tensor] = {}


def _device_flag(batch: list[Tensor], large: list[Tensor], device: torch.device) -> Tensor:
    """A 0-dim float32 tensor on ``device``, finite when no value of ``batch`` and ``large`` is
    NaN or ±inf (and no sum of ``large`` overflows), else NaN or ±inf. The sums of ``large``
    are added up, or, beside ``batch``, join it as one more tensor of the batched call."""
    if large:
        sums = torch.stack([_sum32(g) for g in large])
        if not batch:
            return sums.sum()
        batch = [*batch, sums]
    found = torch.zeros((), dtype=torch.float32, device=device)  # becomes 1 at a NaN or ±inf
    torch._amp_foreach_non_finite_check_and_unscale_(batch, found, _ones(device))
    return found.neg_().log1p_()  # 0 stays 0, 1 becomes log(1 - 1) = -inf


def _sum32(g: Tensor) -> Tensor:
    if g.dtype in _HALF:
        return g.sum(dtype=torch.float32)
    s = g.sum()
    return s if s.dtype == torch.float32 else s.to(torch.float32)


def _split(tensors: list[Tensor], cpu_only: bool = False) -> tuple[list[Tensor], list[Tensor]] | None:
    """(batched, summed) by size; with ``cpu_only``, None as soon as a tensor is not on the CPU
    (one walk over the list both checks the device and splits)."""
    batch: list[Tensor] = []
    large: list[Tensor] = []
    for g in tensors:
        if cpu_only and not g.is_cpu:
            return None
        (batch if g.numel() < BATCH_MAX else large).append(g)
    return batch, large


def _flags_dense(grads: list[Tensor]) -> list[Tensor]:
    """One flag per device for the usual gradients: dense, real, on a device the batched check
    knows. Anything else makes the batched check raise, and :func:`_flags_any` takes over.
    All on the CPU (the usual case) needs no grouping."""
    split = _split(grads, cpu_only=True)
    if split is not None:
        return [_device_flag(*split, grads[0].device)]
    per_device: dict[torch.device, list[Tensor]] = {}
    for (device, _), ((tensors,), _) in torch._C._group_tensors_by_device_and_dtype([grads], False).items():
        if device.type not in _BATCH_DEVICES:
            raise NotImplementedError(device)  # meta (no values), or no batched check there
        per_device.setdefault(device, []).extend(tensors)
    return [_device_flag(*_split(tensors), device) for device, tensors in per_device.items()]


def _flags_any(grads: list[Tensor]) -> list[Tensor]:
    """One flag per device for any gradients: sparse, complex, meta, overlapping, any device."""
    per_device: dict[torch.device, tuple[list[Tensor], list[Tensor]]] = {}
    for g in grads:
        v = _values(g)
        if v is None or v.numel() == 0:
            continue
        batch, large = per_device.setdefault(v.device, ([], []))
        (batch if _batchable(v) else large).append(v)
    return [_device_flag(batch, large, device) for device, (batch, large) in per_device.items()]


def all_finite(grads: list[Tensor]) -> bool:
    """True when every gradient in ``grads`` is finite everywhere (False may also mean a sum
    overflowed); one host read per device, none when ``grads`` holds no values."""
    if not grads:
        return True
    try:
        flags = _flags_dense(grads)
    except (RuntimeError, NotImplementedError):  # raised before any flag is read; the values are unchanged
        flags = _flags_any(grads)
    return all(math.isfinite(flag.item()) for flag in flags)  # every device's reduction is queued before the first read
