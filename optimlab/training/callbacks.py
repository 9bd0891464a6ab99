"""Training callbacks: the hooks of :meth:`optimlab.training.Trainer.fit` (Keras semantics)."""

from __future__ import annotations

import math
import string
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from ..record import monitor_mode
from ..stopping import GradTol, StopInfo, as_rule
from .tools import copy_state, process_rank

if TYPE_CHECKING:  # type hints only: the trainer imports this module
    from .trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint", "StopWhen", "LambdaCallback"]


class Callback:
    """Base class of training callbacks; override the hooks you need.

    Hooks get the :class:`Trainer` (its ``model``, ``optimizer``, ``history``); a
    callback ends training with ``trainer.request_stop(reason)``. A callback that keeps
    state across epochs implements ``state_dict``/``load_state_dict`` so that
    checkpoints resume it exactly.
    """

    order = 0  # callbacks run in increasing order (checkpoints last, after every other update)

    def on_train_begin(self, trainer: "Trainer") -> None: ...
    def on_epoch_begin(self, trainer: "Trainer", epoch: int) -> None: ...
    def on_batch_end(self, trainer: "Trainer", step: int, loss: float) -> None: ...
    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict) -> None: ...
    def on_train_end(self, trainer: "Trainer") -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def _improved(current: float, best: float, mode: str, min_delta: float) -> bool:
    if mode == "min":
        return current < best - min_delta
    return current > best + min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (lecture 000: stop
    when the validation quality starts to worsen). Keras semantics.

    Improvement: ``current < best − min_delta`` (mode ``min``) or ``current > best +
    min_delta`` (``max``); ``mode="auto"`` picks ``max`` for accuracies. With
    ``restore_best_weights`` the model gets the weights of the best epoch back when
    training ends (``history.meta["best_epoch"]`` says which, 0-based).
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = False, baseline: float | None = None, start_from_epoch: int = 0):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an integer >= 0, got {patience!r}")
        if not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.mode = monitor_mode(monitor, mode)
        self.restore_best_weights, self.baseline = restore_best_weights, baseline
        self.start_from_epoch = start_from_epoch
        self.reset()

    def reset(self) -> None:
        self.wait, self.best_epoch, self.best_weights = 0, -1, None
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_train_begin(self, trainer: "Trainer") -> None:
        if trainer.epoch == 0:
            self.reset()

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict) -> None:
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitor {self.monitor!r} is not logged; available: {sorted(logs)} "
                             f"(val_* needs validation_data or validation_split)")
        current = float(logs[self.monitor])
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = copy_state(trainer.model)
        self.wait += 1
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = copy_state(trainer.model)
            if self.baseline is None or _improved(current, self.baseline, self.mode, 0.0):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            trainer.request_stop("early_stopping")

    def on_train_end(self, trainer: "Trainer") -> None:
        if self.best_epoch >= 0:
            trainer.history.meta["best_epoch"] = self.best_epoch
            trainer.history.meta["best_" + self.monitor] = self.best
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            trainer.history.meta["restored_epoch"] = self.best_epoch

    def state_dict(self) -> dict:
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
        self.best_weights = state["best_weights"]


class ReduceLROnPlateau(Callback):
    """Multiply every learning rate by ``factor`` when ``monitor`` stalls for ``patience``
    epochs (Keras semantics: ``min_delta``, ``cooldown``, ``min_lr``)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, mode: str = "auto",
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0):
        if not (isinstance(factor, (int, float)) and 0 < factor < 1):
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an integer >= 0, got {patience!r}")
        self.monitor, self.factor, self.patience = monitor, float(factor), patience
        self.mode, self.min_delta, self.cooldown, self.min_lr = monitor_mode(monitor, mode), min_delta, cooldown, min_lr
        self.reset()

    def reset(self) -> None:
        self.wait, self.cooldown_counter = 0, 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_train_begin(self, trainer: "Trainer") -> None:
        if trainer.epoch == 0:  # a fresh fit starts afresh; a resumed one keeps the checkpoint's state
            self.reset()

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict) -> None:
        if self.monitor not in logs:
            raise ValueError(f"ReduceLROnPlateau monitor {self.monitor!r} is not logged; available: {sorted(logs)}")
        current = float(logs[self.monitor])
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                for g in trainer.optimizer.param_groups:
                    lr = g["lr"]
                    new = lr * self.factor
                    g["lr"] = torch.clamp(new, min=self.min_lr) if isinstance(new, torch.Tensor) \
                        else max(new, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0

    def state_dict(self) -> dict:
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter, "best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.wait, self.cooldown_counter, self.best = state["wait"], state["cooldown_counter"], state["best"]


class ModelCheckpoint(Callback):
    """Save a full checkpoint (:meth:`Trainer.save_checkpoint`) at the end of epochs.

    ``path`` may contain ``{epoch}`` (1-based number of completed epochs), e.g.
    ``"ckpt/epoch-{epoch}.pt"``. ``every``: save every n-th epoch. ``save_best_only``:
    only when ``monitor`` improved. The file resumes exactly:
    ``trainer.fit(..., resume_from=path)``. Runs after every other callback, so the
    saved state includes their updates. Under ``torch.distributed`` only rank 0 writes.
    """

    order = 100

    def __init__(self, path: str | Path, every: int = 1, save_best_only: bool = False, monitor: str = "val_loss",
                 mode: str = "auto"):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        self.path, self.every, self.save_best_only = checked_path_pattern(path), every, save_best_only
        self.monitor, self.mode = monitor, monitor_mode(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved: list[str] = []

    def on_train_begin(self, trainer: "Trainer") -> None:
        if trainer.epoch == 0:  # a fresh fit: its first epoch is its best so far; a resumed fit keeps best
            self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict) -> None:
        if (epoch + 1) % self.every:
            return
        if self.save_best_only:
            if self.monitor not in logs:
                raise ValueError(f"ModelCheckpoint monitor {self.monitor!r} is not logged; available: {sorted(logs)}")
            if not _improved(float(logs[self.monitor]), self.best, self.mode, 0.0):
                return
            self.best = float(logs[self.monitor])
        if process_rank() == 0:
            path = self.path.format(epoch=epoch + 1)
            trainer.save_checkpoint(path)
            self.saved.append(path)

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]


def checked_path_pattern(path: str | Path) -> str:
    """``path`` as a pattern whose only field is ``{epoch}`` (with an integer format such as
    ``{epoch:03d}``), checked when the callback is made, not after the first epoch. The path is
    the user's text: no other field, index, attribute (``{epoch.__class__}``) or conversion."""
    text = str(path)
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError as e:
        raise ValueError(f"path {text!r}: {e}; write {{epoch}} for the epoch and {{{{ }}}} for a literal brace") \
            from None
    for name, spec, conv in fields:
        if name != "epoch" or conv is not None or "{" in (spec or ""):
            raise ValueError(f"path {text!r}: the only field allowed is {{epoch}} (optionally with an integer "
                             f"format such as {{epoch:03d}}), got {{{name}{'!' + conv if conv else ''}"
                             f"{':' + spec if spec else ''}}}; write {{{{ }}}} for a literal brace")
        try:
            format(1, spec or "")
        except ValueError as e:
            raise ValueError(f"path {text!r}: {{epoch:{spec}}} is not an integer format ({e})") from None
    return text


class StopWhen(Callback):
    """Apply the function lab's stopping rules (:mod:`optimlab.stopping`) to training.

    ``rule``: a rule (``MaxSteps``, ``TimeLimit``, ``FTol``, ``RelFTol``, ``GradTol``), a
    list of them or ``r1 | r2``, or a plain predicate ``value -> bool``. Each check
    builds a :class:`optimlab.stopping.StopInfo` for one run:

    * ``per="epoch"`` (default): after each epoch, ``values = logs[monitor]`` (e.g.
      ``"loss"``, ``"val_loss"``), ``step`` = epochs done, ``value0`` = the first epoch's
      value. ``MaxSteps(n)`` then means n epochs; ``RelFTol(ε)`` stops once the epoch
      loss is ≤ ε times the first epoch's.
    * ``per="step"``: after each iteration, ``values`` = the batch loss, ``step`` =
      iterations done, ``grad_norms`` = the norm of the batch gradient (all parameters
      together), ``value0``/``grad_norm0`` those of the first iteration. ``GradTol``
      needs this mode.

    ``elapsed`` is wall time since ``fit`` started; ``f_min`` (for ``FTol``) comes from
    the argument. The stop reason is the rule's ``reason`` (``"rel_f_tol"``, ...) or
    ``reason`` if given.
    """

    def __init__(self, rule: Any, monitor: str = "loss", per: str = "epoch", f_min: float | None = None,
                 reason: str | None = None):
        if per not in ("epoch", "step"):
            raise ValueError(f"per must be 'epoch' or 'step', got {per!r}")
        if callable(rule) and not hasattr(rule, "reason") and not isinstance(rule, (list, tuple)):
            predicate = rule

            class _Predicate:
                def __call__(self, info: StopInfo) -> np.ndarray:
                    return np.asarray([bool(predicate(float(info.values[0])))])

            _Predicate.reason = reason or "stop_rule"
            rule = _Predicate()
        self.rule = as_rule(rule)
        if per == "epoch" and any(isinstance(r, GradTol) for r in self.rule.rules()):
            raise ValueError("GradTol needs gradient norms: use StopWhen(..., per='step') (batch gradients)")
        self.monitor, self.per, self.reason = monitor, per, reason
        self.f_min = float("nan") if f_min is None else float(f_min)
        self._needs_grad = any(isinstance(r, GradTol) for r in self.rule.rules())
        self._first: tuple[float, float] | None = None
        self._start = 0.0

    def on_train_begin(self, trainer: "Trainer") -> None:
        self._start = time.perf_counter() - (float(trainer.history.series["time"][-1])
                                             if trainer.history is not None and len(trainer.history.series["time"])
                                             else 0.0)
        if trainer.epoch == 0:
            self._first = None

    def _check(self, trainer: "Trainer", step: int, value: float, grad_norm: float) -> None:
        if self._first is None:
            self._first = (value, grad_norm)
        info = StopInfo(step=step, elapsed=time.perf_counter() - self._start, values=np.array([value]),
                        grad_norms=np.array([grad_norm]), value0=np.array([self._first[0]]),
                        grad_norm0=np.array([self._first[1]]), f_min=self.f_min)
        which = self.rule.which(info)[0]
        if which:
            trainer.request_stop(self.reason or which)

    def on_batch_end(self, trainer: "Trainer", step: int, loss: float) -> None:
        if self.per == "step":
            g = float("nan")
            if self._needs_grad:
                grads = [q.grad.detach().reshape(-1) for q in trainer.model.parameters() if q.grad is not None]
                g = float(torch.linalg.vector_norm(torch.cat(grads))) if grads else 0.0
            self._check(trainer, step, loss, g)

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict) -> None:
        if self.per == "epoch":
            if self.monitor not in logs:
                raise ValueError(f"StopWhen monitor {self.monitor!r} is not logged; available: {sorted(logs)}")
            self._check(trainer, epoch + 1, float(logs[self.monitor]), float("nan"))

    def state_dict(self) -> dict:
        return {"first": None if self._first is None else list(self._first)}

    def load_state_dict(self, state: dict) -> None:
        self._first = None if state["first"] is None else tuple(state["first"])


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: ...)``."""

    def __init__(self, **hooks: Callable):
        allowed = {"on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end"}
        bad = set(hooks) - allowed
        if bad:
            raise ValueError(f"unknown hook(s) {sorted(bad)}; allowed: {sorted(allowed)}")
        for k, fn in hooks.items():
            setattr(self, k, fn)
