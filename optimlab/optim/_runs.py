"""The runs dimension for methods whose update uses sums over a tensor or over all the
parameters (Prodigy's D estimate): with hyperparameters of shape ``(R, 1, ...)`` each of the
R runs gets its own sum, over the dimensions after the first.

Such a method holds its run-wide numbers (Prodigy's d) as Python numbers for one run, or as
tensors of shape ``(R,)`` for R runs; :func:`column` shapes one for a parameter.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch
from torch import Tensor

__all__ = ["run_count", "flat", "column", "per_run_sum", "per_run_dot"]


def _tensors(value: Any) -> Iterable[Tensor]:
    for v in value if isinstance(value, tuple) else (value,):
        if isinstance(v, Tensor) and v.numel() > 1:
            yield v


def run_count(owner: str, groups: Iterable[Mapping[str, Any]], names: Iterable[str]) -> int | None:
    """R when some hyperparameter among ``names`` is a tensor of several elements (it must then
    have shape ``(R, 1, ...)``, the same R in every group), else ``None`` (one run)."""
    names = tuple(names)
    runs = None
    for group in groups:
        for name in names:
            for v in _tensors(group.get(name)):
                if any(n != 1 for n in v.shape[1:]):
                    raise ValueError(f"{name} is a tensor of shape {tuple(v.shape)}: {owner} sums over each run, so "
                                     f"a tensor hyperparameter must hold one value per run, shape (R, 1, ...)")
                if runs is not None and v.shape[0] != runs:
                    raise ValueError(f"{name} is a tensor of shape {tuple(v.shape)} but another hyperparameter has "
                                     f"{runs} runs: {owner} needs the same number of runs in every group")
                runs = v.shape[0]
    return runs


def flat(v: Any) -> Any:
    """A per-run tensor as shape (R,); a number or a one-element tensor as it is."""
    return v.reshape(-1) if isinstance(v, Tensor) and v.numel() > 1 else v


def column(v: Any, p: Tensor) -> Any:
    """A per-run value of shape (R,) shaped (R, 1, ...) to broadcast against ``p``; others as they are."""
    if isinstance(v, Tensor) and v.dim() == 1 and v.numel() > 1:
        return v.reshape(-1, *([1] * (p.dim() - 1)))
    return v


def per_run_sum(x: Tensor, runs: int | None) -> Tensor:
    """The sum of ``x`` (in x's dtype, as a reference summing one tensor does), returned in
    float64 for accumulating over tensors: one 0-d tensor, or one per run (shape (R,))."""
    if runs is None:
        return x.sum().to(torch.float64)
    return x.reshape(runs, -1).sum(1).to(torch.float64)


def per_run_dot(a: Tensor, b: Tensor, runs: int | None) -> Tensor:
    """Σ a·b (``torch.dot`` for one run), as :func:`per_run_sum`."""
    if runs is None:
        return torch.dot(a.reshape(-1), b.reshape(-1)).to(torch.float64)
    return (a * b).reshape(runs, -1).sum(1).to(torch.float64)
