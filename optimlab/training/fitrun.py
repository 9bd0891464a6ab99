"""What one ``Trainer.fit`` works on (:class:`FitRun`), and the checks of ``fit``'s arguments."""

from __future__ import annotations

import time
from typing import Any, Iterable

import numpy as np
import torch

from ..engine import EpochBatches
from ..record import SERIES_ALIASES
from ..runner import needs_closure
from .callbacks import Callback


def check_fit_arguments(batch_size: Any, epochs: Any, verbose: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an integer, got {batch_size!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")


def sorted_callbacks(callbacks: Iterable[Any]) -> list[Callback]:
    """The callbacks in the order they run (``order``, then as given), all checked."""
    callbacks = sorted(list(callbacks), key=lambda c: getattr(c, "order", 0))
    for c in callbacks:
        if not isinstance(c, Callback):
            raise TypeError(f"callbacks must be Callback objects, got {type(c).__name__}")
    return callbacks


class FitRun:
    """What one ``fit`` works on: the data, the epoch batches, the callbacks, the growing records, the clock."""

    def __init__(self, trainer: Any, X: torch.Tensor, Y: torch.Tensor, val: tuple | None,
                 batches: EpochBatches, world: int, callbacks: list[Callback]):
        self.X, self.Y, self.val, self.batches, self.world, self.callbacks = X, Y, val, batches, world, callbacks
        self.history = hist = trainer.history
        assert hist is not None
        self.series = {k: v for k, v in hist.series.items() if k not in SERIES_ALIASES}
        self.epochs = hist.epochs
        self.batch_callbacks = [c for c in callbacks
                                if "on_batch_end" in vars(c) or type(c).on_batch_end is not Callback.on_batch_end]
        self.plateau = isinstance(trainer.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        self.closure_step = needs_closure(trainer.optimizer)
        self._t_offset = float(self.series["time"][-1]) if self.series["time"] else 0.0
        self._t0 = 0.0

    def start_clock(self) -> None:
        """Times continue from the history's last one (a resumed fit)."""
        self._t0 = time.perf_counter() - self._t_offset

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0
