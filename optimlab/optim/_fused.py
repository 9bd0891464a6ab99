"""Which parameters may go to torch's fused kernels, and how they are handed over.

torch's fused optimizer kernels (``torch._fused_sgd_``, ``_fused_adam_``,
``_fused_adamw_``, ``_fused_adagrad_``) walk parameter, gradient and state tensors
element by element in memory order and trust their shapes. They are right only when
every one of those tensors has the parameter's shape, dtype, device and strides, on a
dense layout. torch 2.13's CPU fused SGD also leaves float16/bfloat16 parameters
unchanged when their size is a multiple of the SIMD width. So a parameter is handed to
a kernel only when all of that is known to hold (:func:`fusable`); any other parameter
takes the readable formula, which gives the numbers torch's default path gives.
"""

from __future__ import annotations

from operator import is_
from typing import Any

import torch
from torch import Tensor

__all__ = ["FUSED_DEVICES", "is_dense", "fusable", "fused_mask", "check_fused_device", "group_by_device_dtype",
           "SCALAR_STATE"]

FUSED_DEVICES = ("cpu", "cuda")
# state entries that are one number (or one per run), not one per parameter element
SCALAR_STATE = ("step", "mu_product", "eta", "mu")  # eta, mu: ASGD
# dtypes fused=None sends to a kernel; the kernels compute half precision in float32,
# unlike the readable formula and torch's default path, so on CPU only these
_AUTO_DTYPES = {"cpu": (torch.float32, torch.float64),
                "cuda": (torch.float16, torch.bfloat16, torch.float32, torch.float64)}


def is_dense(p: Tensor) -> bool:
    """Non-overlapping and dense in one of the layouts a kernel walks correctly."""
    if p.is_contiguous():
        return True
    if p.dim() == 4:
        return p.is_contiguous(memory_format=torch.channels_last)
    if p.dim() == 5:
        return p.is_contiguous(memory_format=torch.channels_last_3d)
    return False


def _key(t: Tensor) -> tuple | None:
    """What a kernel trusts about a tensor: shape, strides, dtype, device (None: not strided)."""
    return (t.shape, t.stride(), t.dtype, t.device) if t.layout == torch.strided else None


def _state_fits(state: dict[str, Any], key: tuple) -> bool:
    for name, value in state.items():
        if name in SCALAR_STATE:
            if not (isinstance(value, Tensor) and value.dim() == 0 and value.is_floating_point()):
                return False
        elif not (isinstance(value, Tensor) and _key(value) == key):
            return False
    return True


def _fits(p: Tensor, key: tuple, state: dict[str, Any], auto: bool, bad_cpu_dtypes: tuple) -> bool:
    """The parameter's and its state's part of :func:`fusable` (the gradient aside)."""
    dev = p.device.type
    if dev not in FUSED_DEVICES or not p.is_floating_point() or not is_dense(p):
        return False
    if (dev == "cpu" and p.dtype in bad_cpu_dtypes) or (auto and p.dtype not in _AUTO_DTYPES[dev]):
        return False
    return _state_fits(state, key)


def fusable(p: Tensor, state: dict[str, Any], auto: bool, bad_cpu_dtypes: tuple = (),
            checked: dict | None = None) -> bool:
    """True when a fused kernel is known to compute this parameter's update correctly.

    ``auto`` (``fused=None``) also restricts the dtypes to those whose fused numbers
    equal the readable formula's; ``bad_cpu_dtypes`` are dtypes the class's CPU
    kernel gets wrong. ``checked`` (one dict per optimizer, for one ``auto``) remembers
    per parameter the verdict on the parameter and its state tensors, so that a step
    checks again only what can have changed: the gradient, the parameter's layout, and
    state entries replaced by other tensors (a loaded state, a new buffer). The dict
    holds the state tensors it vouched for, so their ids cannot be taken by new ones.
    """
    key = _key(p)
    g = p.grad
    if key is None or not (isinstance(g, Tensor) and _key(g) == key):
        return False
    values = tuple(state.values())
    ids = tuple(map(id, values))
    seen = None if checked is None else checked.get(p)
    if seen is not None and seen[0] == key and seen[1] == ids:
        return seen[3]
    fits = _fits(p, key, state, auto, bad_cpu_dtypes)
    if checked is not None:
        checked[p] = (key, ids, values, fits)
    return fits


def fused_mask(params: list[Tensor], grads: list[Tensor], states: list[dict[str, Any]], auto: bool,
               bad_cpu_dtypes: tuple, checked: dict, fast: dict) -> list[bool]:
    """:func:`fusable` for each parameter, with a steady-state shortcut: a contiguous
    parameter found fusable before keeps its verdict, without the full check, while it
    is the same tensor (same storage pointer, still contiguous), its gradient is a
    contiguous dense tensor of its size (torch's ``grad`` setter already holds it to the
    parameter's shape, dtype and device) and its state holds the very tensors vouched for.
    ``checked`` and ``fast`` (one pair per optimizer and ``auto``) keep the verdicts."""
    mask = []
    for p, g, state in zip(params, grads, states):
        seen = fast.get(id(p))
        if (seen is not None and seen[0] is p and g.layout is _STRIDED and p.is_contiguous() and g.is_contiguous()
                and p.data_ptr() == seen[1] and g.numel() == seen[2] and len(state) == len(seen[3])
                and all(map(is_, state.values(), seen[3]))):
            mask.append(True)
            continue
        ok = fusable(p, state, auto, bad_cpu_dtypes, checked)
        if ok and p.is_contiguous() and g.is_contiguous():  # pins p and its state, so their ids stay theirs
            fast[id(p)] = (p, p.data_ptr(), p.numel(), tuple(state.values()))
        else:
            fast.pop(id(p), None)
        mask.append(ok)
    return mask


_STRIDED = torch.strided


def check_fused_device(params: list[Tensor]) -> None:
    """fused=True on parameters no fused kernel takes: torch's error, before anything changes."""
    for p in params:
        if p.device.type not in FUSED_DEVICES or not p.is_floating_point():
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of "
                               f"supported devices: {list(FUSED_DEVICES)} but {p.dtype} and {p.device.type}")


def group_by_device_dtype(*lists: list[Tensor]) -> list[tuple[list[Tensor], ...]]:
    """Split parallel lists of tensors by (device, dtype) of the first list, as fused kernels need."""
    first = lists[0]
    if len({(t.device, t.dtype) for t in first}) <= 1:  # the usual case: one bucket, no copying
        return [tuple(lists)]
    groups: dict[tuple, tuple[list[Tensor], ...]] = {}
    for items in zip(*lists):
        key = (items[0].device, items[0].dtype)
        bucket = groups.setdefault(key, tuple([] for _ in lists))
        for lst, t in zip(bucket, items):
            lst.append(t)
    return list(groups.values())


def kernel_lr(lr: Any, device: torch.device) -> Any:
    """A one-element tensor lr as the kernels take it: 0-dim, on CPU for CPU kernels."""
    if not isinstance(lr, Tensor):
        return lr
    lr = lr.detach().reshape(())
    return lr if device.type == "cpu" or lr.device == device else lr.to(device)
