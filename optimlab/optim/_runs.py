"""The runs dimension for methods that look at a whole parameter, not element by element.

An element-wise method (SGD, Adam, ...) needs nothing to run R independent runs: a
hyperparameter of shape (R, 1, ...) broadcasts. A method that reduces over a parameter
(Adafactor's RMS and row/column factors, Muon's orthogonalization) must not mix runs:
when a param group says ``runs=True`` (the option of those classes; the runner and the
sweeps set it) or holds a hyperparameter tensor with dimensions (the runs rule of
:mod:`optimlab.optim.hparams`), the leading dimension of each of its parameters counts
runs, and each ``p[r]`` is reduced on its own. (A one-element tensor is one value, so
one run needs ``runs=True``.)
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor

__all__ = ["runs_dims", "rms", "at_least"]


def _shaped(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return any(_shaped(x) for x in v)
    return isinstance(v, Tensor) and v.dim() > 0


def runs_dims(group: Mapping[str, Any]) -> int:
    """1 when the group's leading dimension counts runs (``runs=True``, or a hyperparameter tensor
    with dimensions), else 0."""
    return int(group.get("runs") is True or any(_shaped(v) for k, v in group.items() if k != "params"))


def rms(x: Tensor, runs: int) -> Any:
    """Root mean square of ``x`` (a Python float, as torch's ``.item()``), or with runs
    one per run, shaped (R, 1, ...) in ``x``'s dtype."""
    if not runs:
        return x.norm(2).item() / (x.numel() ** 0.5)
    if x.dim() == 1:  # one number per run
        return x.abs()
    return torch.linalg.vector_norm(x, dim=tuple(range(1, x.dim())), keepdim=True) / (x[0].numel() ** 0.5)


def at_least(x: Any, lo: Any) -> Any:
    """max(x, lo) for numbers or tensors (the result a tensor when either is one)."""
    if not isinstance(x, Tensor) and not isinstance(lo, Tensor):
        return max(x, lo)
    ref = x if isinstance(x, Tensor) else lo
    return torch.maximum(torch.as_tensor(x, dtype=ref.dtype), torch.as_tensor(lo, dtype=ref.dtype))
