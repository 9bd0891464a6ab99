"""Learning-rate schedules that ``torch.optim.lr_scheduler`` lacks, as torch ``LRScheduler``\\ s.

torch's own schedulers (``StepLR``, ``ExponentialLR`` = the lectures' ``η_t = γ^t η_0``,
``LambdaLR``, ``CosineAnnealingLR``, ``OneCycleLR``, ...) work with every optimlab
optimizer as they are. Added here, each with a closed form in the step count t
(the number of ``scheduler.step()`` calls so far):

* :class:`InverseTimeDecay` — Keras: ``lr_t = lr_0 / (1 + rate·t/decay_steps)``
  (``staircase``: ``⌊t/decay_steps⌋``); with ``decay_steps=1`` it is Keras 2's ``decay``;
* :class:`ExponentialDecay` — Keras: ``lr_t = lr_0 · rate^{t/decay_steps}``;
* :class:`PiecewiseConstant` — lecture 003's "α₁ for t ≤ A, α₂ after":
  ``values[i]`` while ``boundaries[i-1] < t ≤ boundaries[i]`` (Keras' convention);
  values are absolute learning rates (the same for every param group) unless
  ``relative=True`` (then multipliers of each group's initial lr);
* :class:`Warmup` — linear warm-up from ``start_factor·lr_0`` to ``lr_0`` over
  ``warmup_steps``, constant after (chain with ``torch.optim.lr_scheduler.SequentialLR``).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from torch.optim.lr_scheduler import LRScheduler

__all__ = ["InverseTimeDecay", "ExponentialDecay", "PiecewiseConstant", "Warmup"]


def _num(name: str, v: Any, lo: float, lo_open: bool = False) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(x) or x < lo or (lo_open and x == lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {v!r}")
    return x


class _ClosedForm(LRScheduler):
    def factor(self, t: int) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def get_lr(self) -> list[Any]:
        f = self.factor(self.last_epoch)
        return [base * f for base in self.base_lrs]

    def _get_closed_form_lr(self) -> list[Any]:
        return self.get_lr()


class InverseTimeDecay(_ClosedForm):
    """``lr_t = lr_0 / (1 + decay_rate·t/decay_steps)`` (Keras ``InverseTimeDecay``)."""

    def __init__(self, optimizer: Any, decay_rate: float, decay_steps: float = 1, staircase: bool = False,
                 last_epoch: int = -1) -> None:
        self.decay_rate = _num("decay_rate", decay_rate, 0.0)
        self.decay_steps = _num("decay_steps", decay_steps, 0.0, lo_open=True)
        self.staircase = bool(staircase)
        super().__init__(optimizer, last_epoch)

    def factor(self, t: int) -> float:
        p = t / self.decay_steps
        return 1.0 / (1.0 + self.decay_rate * (math.floor(p) if self.staircase else p))


class ExponentialDecay(_ClosedForm):
    """``lr_t = lr_0 · decay_rate^{t/decay_steps}`` (Keras ``ExponentialDecay``)."""

    def __init__(self, optimizer: Any, decay_rate: float, decay_steps: float = 1, staircase: bool = False,
                 last_epoch: int = -1) -> None:
        self.decay_rate = _num("decay_rate", decay_rate, 0.0, lo_open=True)
        self.decay_steps = _num("decay_steps", decay_steps, 0.0, lo_open=True)
        self.staircase = bool(staircase)
        super().__init__(optimizer, last_epoch)

    def factor(self, t: int) -> float:
        p = t / self.decay_steps
        return self.decay_rate ** (math.floor(p) if self.staircase else p)


class PiecewiseConstant(LRScheduler):
    """Piecewise-constant learning rate: ``values[i]`` for ``boundaries[i-1] < t ≤ boundaries[i]``."""

    def __init__(self, optimizer: Any, boundaries: Sequence[int], values: Sequence[float], relative: bool = False,
                 last_epoch: int = -1) -> None:
        b = list(boundaries)
        v = [_num(f"values[{i}]", x, 0.0) for i, x in enumerate(values)]
        if len(v) != len(b) + 1:
            raise ValueError(f"values must have len(boundaries) + 1 = {len(b) + 1} entries, got {len(v)}")
        if any(not isinstance(x, int) or x < 0 for x in b) or b != sorted(set(b)):
            raise ValueError(f"boundaries must be increasing non-negative integers, got {boundaries!r}")
        self.boundaries, self.values, self.relative = b, v, bool(relative)
        super().__init__(optimizer, last_epoch)

    def _value(self, t: int) -> float:
        for b, v in zip(self.boundaries, self.values):
            if t <= b:
                return v
        return self.values[-1]

    def get_lr(self) -> list[Any]:
        v = self._value(self.last_epoch)
        return [base * v if self.relative else v for base in self.base_lrs]

    _get_closed_form_lr = get_lr


class Warmup(_ClosedForm):
    """Linear warm-up: ``lr_t = lr_0·(s + (1 − s)·min(t, W)/W)`` with s = ``start_factor``, W = ``warmup_steps``."""

    def __init__(self, optimizer: Any, warmup_steps: int, start_factor: float = 0.0, last_epoch: int = -1) -> None:
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 1:
            raise ValueError(f"warmup_steps must be an integer >= 1, got {warmup_steps!r}")
        self.warmup_steps = warmup_steps
        self.start_factor = _num("start_factor", start_factor, 0.0)
        if self.start_factor > 1:
            raise ValueError(f"start_factor must be in [0, 1], got {start_factor!r}")
        super().__init__(optimizer, last_epoch)

    def factor(self, t: int) -> float:
        s = self.start_factor
        return s + (1.0 - s) * min(t, self.warmup_steps) / self.warmup_steps
