"""The runs dimension for methods that look at a whole parameter, not element by element.

An element-wise method (SGD, Adam, ...) needs nothing to run R independent runs: a
hyperparameter of shape (R, 1, ...) broadcasts. A method that reduces over a parameter
must not mix runs:

- Adafactor's RMS and row/column factors, Muon's orthogonalization: when a param group
  says ``runs=True`` (the option of those classes; the runner and the sweeps set it) or
  holds a hyperparameter tensor with dimensions (the runs rule of
  :mod:`optimlab.optim.hparams`), the leading dimension of each of its parameters counts
  runs, and each ``p[r]`` is reduced on its own (:func:`runs_dims`, :func:`rms`). (A
  one-element tensor is one value, so one run needs ``runs=True``.)
- sums over all the parameters (Prodigy's D estimate, LARS/LAMB norms): with
  hyperparameters of shape ``(R, 1, ...)`` each of the R runs gets its own sum over the
  dimensions after the first (:func:`run_count`, :func:`per_run_sums`,
  :func:`per_run_dots`). Such a method holds its run-wide numbers (Prodigy's d) as Python
  numbers for one run, or as tensors of shape ``(R,)`` for R runs; :func:`column` shapes
  one for a parameter.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch
from torch import Tensor

__all__ = ["run_count", "flat", "column", "per_run_sums", "per_run_dots", "runs_dims", "rms", "at_least"]


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


def per_run_sums(xs: list[Tensor], runs: int | None) -> Tensor:
    """The sum of each of ``xs`` (in its dtype, as a reference summing one tensor does), stacked
    in float64 for accumulating over tensors: shape (N,), or (N, R) with one sum per run."""
    if runs is None:
        return torch.stack([x.sum() for x in xs]).to(torch.float64)
    return torch.stack([x.reshape(runs, -1).sum(1) for x in xs]).to(torch.float64)


def per_run_dots(xs: list[Tensor], ys: list[Tensor], runs: int | None) -> Tensor:
    """Σ x·y of each pair (``torch.dot`` for one run), as :func:`per_run_sums`."""
    if runs is None:
        return torch.stack([torch.dot(x.reshape(-1), y.reshape(-1)) for x, y in zip(xs, ys)]).to(torch.float64)
    return torch.stack([(x * y).reshape(runs, -1).sum(1) for x, y in zip(xs, ys)]).to(torch.float64)


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
