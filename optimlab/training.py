r"""The training lab: mini-batch training with a Keras-style ``compile``/``fit``.

Vocabulary (lecture 002): the *batch size* B is the number of examples per update;
one *iteration* is one update on one batch; one *epoch* is one pass over the N
training examples, :math:`\lceil N / B \rceil` iterations (50000 examples, B = 128 →
391). B = N is full-batch gradient descent, B = 1 is pure SGD. The loss of a batch is
the *mean* over its examples (lecture 003), so the update is

.. math::  θ_{t+1} = \mathrm{step}\Big(θ_t,\ \frac{1}{|B_t|}\sum_{i∈B_t} ∇ J_i(θ_t)\Big).

>>> import optimlab, optimlab.problems as P
>>> p = P.get("digits-mlp", seed=0)
>>> trainer = optimlab.Trainer(p.model, loss=p.loss, optimizer="adam:lr=0.001", metrics=["accuracy"])
>>> h = trainer.fit(p.train, batch_size=32, epochs=20, validation_data=p.val, seed=0, verbose=0)
>>> h.history["val_accuracy"][-1], h.iterations_per_epoch, h.stop_reason

A :class:`History` is an :class:`optimlab.record.Trace`: the per-iteration training
loss is ``history.values`` (``series["loss"]``), so the function lab's plots and
reports draw it unchanged; per-epoch quantities are in ``history.epochs`` and, as
Keras' dict of lists, in ``history.history``.
"""

from __future__ import annotations

import copy
import io
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from .record import Trace, to_jsonable
from .runner import make_scheduler, needs_closure, resolve_optimizer
from .stopping import GradTol, StopInfo, as_rule

__all__ = ["Trainer", "History", "Callback", "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint",
           "StopWhen", "LambdaCallback", "compare_training", "TrainingComparison", "make_optimizer",
           "LOSSES", "METRICS"]


# ============================================================================ History
class History(Trace):
    """The record of one ``fit``: a :class:`~optimlab.record.Trace` with training conventions.

    ``series`` (one entry per iteration): ``loss`` (mean loss of the batch, evaluated
    before the update; also under the function lab's name ``values``), ``lr`` (the
    learning rate of the update, also ``lrs``), ``time`` (seconds since the start of
    ``fit`` after the update, also ``times``), ``epoch`` (0-based epoch of the iteration).
    Files (``save``, ``to_dict``) hold each series once, under the training name;
    ``load`` rebuilds the aliases.

    ``epochs`` (one entry per completed epoch): ``loss`` and each metric on the
    training batches of the epoch (example-weighted mean, as Keras reports it),
    ``val_loss`` and ``val_<metric>`` on the validation data at the end of the epoch,
    ``lr`` at the end of the epoch, ``time`` seconds since the start at the end of
    the epoch.

    ``stop_reason``: ``"epochs_done"``, ``"early_stopping"``, ``"diverged"`` (the loss
    or a gradient became NaN/inf; the history keeps every finite step before it),
    ``"interrupted"`` (Ctrl-C during ``fit``: the history is returned) or the reason
    of a stopping rule (``"time_limit"``, ...). ``steps``: iterations done.
    """

    kind = "history"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _alias(self.series)

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras' ``History.history``: per-epoch lists, e.g. ``["val_accuracy"]``."""
        return {k: [float(v) for v in np.asarray(a)] for k, a in self.epochs.items()}

    @property
    def epoch(self) -> list[int]:
        """Indices of the completed epochs (Keras' ``History.epoch``)."""
        return list(range(self.n_epochs))

    @property
    def n_epochs(self) -> int:
        return len(self.epochs.get("loss", ()))

    @property
    def iterations_per_epoch(self) -> int:
        return int(self.meta.get("iterations_per_epoch", 0))

    @property
    def epoch_times(self) -> np.ndarray:
        """Seconds each epoch took (training plus its validation pass)."""
        t = np.asarray(self.epochs.get("time", []), dtype=float)
        return np.diff(np.concatenate([[0.0], t]))

    def _stored(self) -> "History":
        """A shallow copy without the alias series (``values``, ``lrs``, ``times``): the
        files hold each per-iteration series once, and loading rebuilds the aliases."""
        c = copy.copy(self)
        c.series = {k: v for k, v in self.series.items() if not (k in _ALIASES and _ALIASES[k] in self.series)}
        return c

    def to_dict(self) -> dict:
        return Trace.to_dict(self._stored())

    def save(self, path: str | Path) -> Path:
        return Trace.save(self._stored(), path)

    def best(self, monitor: str = "val_loss", mode: str = "auto") -> tuple[int, float]:
        """``(epoch index, value)`` of the best epoch for ``monitor`` (``mode`` min/max/auto)."""
        a = self._epoch_series(monitor)
        sign = -1.0 if _mode(monitor, mode) == "max" else 1.0
        finite = np.where(np.isfinite(a), sign * a, np.inf)
        if not len(a) or not np.isfinite(finite).any():
            return -1, float("nan")
        i = int(np.argmin(finite))
        return i, float(a[i])

    def epochs_to(self, monitor: str, target: float, mode: str = "auto") -> int | None:
        """Number of epochs until ``monitor`` first reaches ``target`` (None if never)."""
        a = self._epoch_series(monitor)
        hit = a >= target if _mode(monitor, mode) == "max" else a <= target
        idx = np.flatnonzero(hit & np.isfinite(a))
        return int(idx[0]) + 1 if len(idx) else None

    def _epoch_series(self, key: str) -> np.ndarray:
        if key not in self.epochs:
            raise KeyError(f"history has no per-epoch {key!r}; it has {sorted(self.epochs)}")
        return np.asarray(self.epochs[key], dtype=float)


_ALIASES = {"values": "loss", "lrs": "lr", "times": "time"}


def _alias(series: dict) -> None:
    """Expose the per-iteration series under the function lab's names too (same arrays)."""
    for fl, tl in _ALIASES.items():
        if tl in series:
            series[fl] = series[tl]


def _mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(s in monitor for s in ("acc", "auc", "r2")) else "min"


# ====================================================================== losses, metrics
LOSSES: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "mse": (nn.MSELoss, "regression"), "mean_squared_error": (nn.MSELoss, "regression"),
    "mae": (nn.L1Loss, "regression"), "mean_absolute_error": (nn.L1Loss, "regression"),
    "l1": (nn.L1Loss, "regression"), "huber": (nn.HuberLoss, "regression"),
    "cross_entropy": (nn.CrossEntropyLoss, "multiclass"), "ce": (nn.CrossEntropyLoss, "multiclass"),
    "categorical_crossentropy": (nn.CrossEntropyLoss, "multiclass"),
    "sparse_categorical_crossentropy": (nn.CrossEntropyLoss, "multiclass"),
    "nll": (nn.NLLLoss, "multiclass"),
    "binary_crossentropy": (nn.BCEWithLogitsLoss, "binary"), "bce": (nn.BCEWithLogitsLoss, "binary"),
}
"""Loss names: the model outputs logits for the classification losses (they apply
softmax / sigmoid inside, the numerically stable form). Keras names work too."""


def _accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Number of correct predictions: argmax of ≥ 2 logits, or logit > 0 for one logit."""
    if out.dim() >= 2 and out.shape[1] > 1:
        pred = out.argmax(1)
        target = y if y.dim() == 1 else y.argmax(1)
        return (pred == target).sum()
    return ((out.reshape(-1) > 0) == (y.reshape(-1) > 0.5)).sum()


def _sq_err(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((out - y) ** 2).reshape(len(out), -1).mean(1).sum()


def _abs_err(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (out - y).abs().reshape(len(out), -1).mean(1).sum()


METRICS: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], str]] = {
    "accuracy": (_accuracy, "classification"), "acc": (_accuracy, "classification"),
    "mse": (_sq_err, "regression"), "mean_squared_error": (_sq_err, "regression"),
    "mae": (_abs_err, "regression"), "mean_absolute_error": (_abs_err, "regression"),
}
"""Metric name → (sum over the examples given, kind). Training metrics are computed once
per epoch on all the batch outputs of the epoch (the example-weighted mean of the batch
values); validation metrics on the whole validation set."""


def _resolve_loss(loss: Any) -> tuple[str, Callable, str | None]:
    if isinstance(loss, str):
        key = loss.strip().lower().replace("-", "_")
        if key not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)} or a callable "
                             f"loss(output, target) -> scalar")
        cls, kind = LOSSES[key]
        return key, cls(), kind
    if callable(loss):
        return getattr(loss, "__name__", type(loss).__name__), loss, None
    raise TypeError(f"loss must be a name ({', '.join(LOSSES)}) or a callable, got {type(loss).__name__}")


def _resolve_metrics(metrics: Any, loss_kind: str | None, loss_name: str = "") -> list[tuple[str, Callable, bool]]:
    """[(name, fn, fn_is_sum)]. User callables return the batch mean.

    A named metric must fit the loss: accuracy needs a classification loss, the
    regression metrics (mse, mae) need a regression loss (a classifier's logits and
    class indices have different shapes). A callable loss accepts every metric."""
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    out = []
    for m in metrics:
        if isinstance(m, str):
            key = m.strip().lower()
            if key not in METRICS:
                raise ValueError(f"unknown metric {m!r} in metrics; use one of {', '.join(METRICS)} "
                                 f"or a callable metric(output, target) -> batch mean")
            fn, kind = METRICS[key]
            wanted = "classification" if loss_kind in ("multiclass", "binary") else loss_kind
            if wanted is not None and kind != wanted:
                allowed = [k for k, (_, kd) in METRICS.items() if kd == wanted]
                raise ValueError(f"metric {m!r} needs a {kind} loss, but the loss {loss_name!r} is a {wanted} "
                                 f"loss; with it use one of {', '.join(allowed)} or a callable metric")
            name = "accuracy" if key == "acc" else key
            out.append((name, fn, True))
        elif callable(m):
            out.append((getattr(m, "__name__", type(m).__name__), m, False))
        else:
            raise TypeError(f"metrics must hold names or callables, got {m!r}")
    names = [n for n, _, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"metrics has duplicate names: {names}")
    return out


# ============================================================================ optimizer
def make_optimizer(params: Sequence[torch.Tensor], optimizer: Any) -> tuple[torch.optim.Optimizer, dict]:
    """Build an optimizer from any accepted form; returns ``(optimizer, config)``.

    Forms: those of the function lab (:func:`optimlab.runner.resolve_optimizer`: a name
    or spec string such as ``"momentum:lr=0.01,momentum=0.7"``, a ``(name_or_class,
    kwargs)`` pair, an optimizer class, a factory ``params -> optimizer``) and, as in
    Keras' ``compile``, an optimizer instance already built on these parameters.
    """
    params = list(params)
    if isinstance(optimizer, torch.optim.Optimizer):
        own = {id(p) for g in optimizer.param_groups for p in g["params"]}
        if not {id(p) for p in params} <= own:
            raise ValueError("optimizer instance was built on other parameters than the model's; "
                             "build it on model.parameters() or pass a name/spec")
        opts = {k: v for k, v in optimizer.defaults.items() if isinstance(v, (int, float, bool, tuple, str))}
        return optimizer, {"optimizer": type(optimizer).__name__, "options": opts}
    factory, name, options = resolve_optimizer(optimizer)
    return factory(params), {"optimizer": name, "options": dict(options)}


# ============================================================================ callbacks
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
        self.mode = _mode(monitor, mode)
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
            self.best_weights = _copy_state(trainer.model)
        self.wait += 1
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = _copy_state(trainer.model)
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
        self.mode, self.min_delta, self.cooldown, self.min_lr = _mode(monitor, mode), min_delta, cooldown, min_lr
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
        self.path, self.every, self.save_best_only = str(path), every, save_best_only
        self.monitor, self.mode = monitor, _mode(monitor, mode)
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
        if _rank() == 0:
            path = self.path.format(epoch=epoch + 1)
            trainer.save_checkpoint(path)
            self.saved.append(path)

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]


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


def _grads_finite(opt: torch.optim.Optimizer) -> bool:
    return all(bool(torch.isfinite(p.grad).all()) for g in opt.param_groups for p in g["params"]
               if p.grad is not None)


def _copy_state(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ============================================================================ helpers
def _rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _world(model: nn.Module) -> tuple[int, int]:
    """(rank, world size) when the model is wrapped in DistributedDataParallel, else (0, 1)."""
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        import torch.distributed as dist

        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _inner(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model) if type(model).__name__ == "DistributedDataParallel" else model


def _as_tensor(a: Any, name: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach()
    try:
        arr = np.asarray(a)
    except Exception as e:  # pragma: no cover - numpy accepts almost anything
        raise TypeError(f"{name} must be an array or tensor, got {type(a).__name__}: {e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    return torch.from_numpy(np.ascontiguousarray(arr))


def _first_bad_row(t: torch.Tensor) -> int:
    bad = ~torch.isfinite(t.reshape(len(t), -1)).all(1)
    return int(bad.nonzero()[0, 0])


# ============================================================================ Trainer
class Trainer:
    """Train a ``torch.nn.Module`` with mini-batches, Keras-style (``compile`` = constructor).

    Args:
        model: any ``torch.nn.Module`` (also wrapped in ``DistributedDataParallel``).
        loss: a name from :data:`LOSSES` (``"mse"``, ``"cross_entropy"``,
            ``"binary_crossentropy"``, Keras names too) or a callable
            ``loss(output, target) -> scalar`` that averages over the batch.
        optimizer: ``"adam"``, a spec ``"momentum:lr=0.01,momentum=0.7"``, a
            ``(name, kwargs)`` pair, an optimizer class or instance, or a factory
            ``params -> optimizer`` (see :func:`make_optimizer`).
        metrics: names from :data:`METRICS` (``"accuracy"``, ``"mae"``, ``"mse"``) or
            callables ``metric(output, target) -> batch mean``.
        schedule: ``(SchedulerClass, kwargs)`` or a factory ``optimizer -> scheduler``;
            stepped after every epoch (``schedule_per="epoch"``, torch's convention) or
            after every iteration (``"step"``). torch's ``ReduceLROnPlateau`` gets the
            validation loss (or the training loss without validation data).

    Example:
        >>> t = Trainer(model, loss="cross_entropy", optimizer="sgd:lr=0.1,momentum=0.9",
        ...             metrics=["accuracy"], schedule=(torch.optim.lr_scheduler.StepLR, {"step_size": 10}))
        >>> history = t.fit((X, y), batch_size=32, epochs=30, validation_split=0.2, seed=0)
    """

    def __init__(self, model: nn.Module, loss: Any = "mse", optimizer: Any = "adam", metrics: Any = None,
                 schedule: Any = None, schedule_per: str = "epoch"):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if schedule_per not in ("epoch", "step"):
            raise ValueError(f"schedule_per must be 'epoch' or 'step', got {schedule_per!r}")
        self.model = model
        self.loss_name, self.loss_fn, self.loss_kind = _resolve_loss(loss)
        self.metrics = _resolve_metrics(metrics, self.loss_kind, self.loss_name)
        self.optimizer, self.optimizer_config = make_optimizer(model.parameters(), optimizer)
        self.scheduler = make_scheduler(schedule, self.optimizer)
        self.schedule_per = schedule_per
        self.history: History | None = None
        self.epoch = 0  # completed epochs
        self.step = 0  # completed iterations
        self._generator = torch.Generator()
        self._stop_reason: str | None = None
        self._fit_config: dict = {}

    # ---------------------------------------------------------------- data handling
    @property
    def _dtype(self) -> torch.dtype:
        for p in self.model.parameters():
            if p.is_floating_point():
                return p.dtype
        return torch.get_default_dtype()

    @property
    def _device(self) -> torch.device:
        for p in self.model.parameters():
            return p.device
        return torch.device("cpu")

    def _tensors(self, data: Any, y: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        if y is not None:
            X, Y = _as_tensor(data, name), _as_tensor(y, "y")
        elif isinstance(data, TensorDataset):
            if len(data.tensors) != 2:
                raise ValueError(f"{name} must hold (inputs, targets); this TensorDataset has "
                                 f"{len(data.tensors)} tensors")
            X, Y = data.tensors
        elif isinstance(data, (tuple, list)) and len(data) == 2:
            X, Y = _as_tensor(data[0], f"{name}[0]"), _as_tensor(data[1], f"{name}[1]")
        elif isinstance(data, Dataset):
            n = len(data)  # type: ignore[arg-type]
            if n == 0:
                raise ValueError(f"{name} is empty: the dataset has no examples")
            items = [data[i] for i in range(n)]
            X = torch.stack([torch.as_tensor(a) for a, _ in items])
            Y = torch.stack([torch.as_tensor(b) for _, b in items])
        elif type(data).__name__ == "Problem":
            raise TypeError(f"{name} is a Problem; pass its datasets: fit(problem.train, validation_data=problem.val)")
        else:
            raise TypeError(f"{name} must be a Dataset, an (X, y) pair, or X with y=...; got {type(data).__name__}")
        if len(X) == 0:
            raise ValueError(f"{name} is empty: it has no examples")
        if len(X) != len(Y):
            raise ValueError(f"{name}: inputs have {len(X)} rows but targets have {len(Y)}; they must match")
        dt, dev = self._dtype, self._device  # data moves to the model's device once, not per batch
        X = X.to(device=dev, dtype=dt) if X.is_floating_point() else X.to(dev)
        Y = Y.to(device=dev, dtype=dt) if Y.is_floating_point() else Y.to(dev)
        for what, t in (("inputs", X), ("targets", Y)):
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name}: {what} contain NaN or inf (first in row {_first_bad_row(t)}); "
                                 f"clean or impute the data first")
        return X, Y

    def _fit_targets(self, X: torch.Tensor, Y: torch.Tensor, name: str) -> torch.Tensor:
        """Check the model and loss accept (X, Y); reshape (N,) targets to (N, 1) where that is meant."""
        model = _inner(self.model)
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(X[:2])
        except RuntimeError as e:
            raise ValueError(f"{name}: the model cannot take inputs of shape {tuple(X.shape[1:])} "
                             f"(per example): {str(e).splitlines()[0]}") from None
        finally:
            model.train(was)
        kind = self.loss_kind
        if kind == "multiclass":
            if out.dim() != 2:
                raise ValueError(f"loss {self.loss_name!r} needs model outputs of shape (N, classes), got "
                                 f"{tuple(out.shape)} for 2 examples")
            C = out.shape[1]
            if Y.dim() == 1:
                if Y.is_floating_point():
                    if not bool((Y == Y.round()).all()):
                        raise ValueError(f"{name}: targets for {self.loss_name!r} must be class indices; got "
                                         f"non-integer values")
                    Y = Y.long()
                lo, hi = int(Y.min()), int(Y.max())
                if lo < 0 or hi >= C:
                    raise ValueError(f"{name}: class indices must be in [0, {C}) for a model with {C} outputs; "
                                     f"found {lo if lo < 0 else hi}")
            elif tuple(Y.shape[1:]) != (C,):
                raise ValueError(f"{name}: targets of shape {tuple(Y.shape)} do not match model outputs "
                                 f"(N, {C}); give class indices (N,) or probabilities (N, {C})")
        elif kind in ("binary", "regression"):
            if Y.dim() == 1 and out.dim() == 2 and out.shape[1] == 1:
                Y = Y.reshape(-1, 1)
            if not Y.is_floating_point():
                Y = Y.to(self._dtype)
            if tuple(Y.shape[1:]) != tuple(out.shape[1:]):
                raise ValueError(f"{name}: targets of shape {tuple(Y.shape)} (per example {tuple(Y.shape[1:])}) "
                                 f"do not match model outputs per example {tuple(out.shape[1:])} for loss "
                                 f"{self.loss_name!r}")
            if kind == "binary" and (bool((Y < 0).any()) or bool((Y > 1).any())):
                raise ValueError(f"{name}: targets for {self.loss_name!r} must lie in [0, 1]")
        else:
            try:
                v = self.loss_fn(out, Y[:2])
            except Exception as e:
                raise ValueError(f"{name}: the loss cannot compare model outputs {tuple(out.shape)} with targets "
                                 f"{tuple(Y[:2].shape)}: {e}") from None
            if not isinstance(v, torch.Tensor) or v.numel() != 1:
                raise ValueError("loss must return a scalar tensor (the mean over the batch)")
        return Y

    # ---------------------------------------------------------------- stopping
    def request_stop(self, reason: str) -> None:
        """End training after the current iteration/epoch with ``stop_reason = reason``."""
        if self._stop_reason is None:
            self._stop_reason = str(reason)

    def _lr(self) -> float:
        lr = self.optimizer.param_groups[0]["lr"]
        return float(lr.mean()) if isinstance(lr, torch.Tensor) else float(lr)

    # ---------------------------------------------------------------- fit
    def fit(self, data: Any, y: Any = None, *, batch_size: int = 32, epochs: int = 1,
            validation_data: Any = None, validation_split: float = 0.0, shuffle: bool = True,
            seed: int | None = None, callbacks: Iterable[Callback] = (), verbose: int = 1,
            resume_from: str | Path | None = None, label: str | None = None) -> History:
        """Train for ``epochs`` epochs of ``ceil(N / batch_size)`` iterations; return the :class:`History`.

        ``data``: a ``Dataset`` of ``(x, y)`` pairs (a ``TensorDataset`` is used without
        copying), an ``(X, y)`` pair of arrays/tensors, or ``X`` with ``y=...``.
        ``validation_data``: the same forms; or ``validation_split`` ∈ (0, 1): the
        *last* fraction of ``data`` (before shuffling, as Keras) is held out.
        ``shuffle``: a new random order each epoch from a generator seeded by ``seed``
        (None: drawn from torch's global RNG). ``verbose``: 0 silent, 1 a progress bar,
        2 one line per epoch. ``resume_from``: a checkpoint written by
        :meth:`save_checkpoint` / :class:`ModelCheckpoint`; training continues from
        its epoch up to ``epochs`` in total, exactly as if never interrupted.

        Under ``DistributedDataParallel`` each process takes every ``world``-th example
        of the epoch's order (as ``DistributedSampler``); ``batch_size`` is per process
        and logged numbers are the process's own.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an integer, got {batch_size!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        X, Y = self._tensors(data, y, "data")
        if validation_data is not None and validation_split:
            raise ValueError("give validation_data or validation_split, not both")
        if validation_split:
            if not (isinstance(validation_split, (int, float)) and 0 < validation_split < 1):
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}")
            cut = int(len(X) * (1 - validation_split))
            if cut < 1 or cut == len(X):
                raise ValueError(f"validation_split={validation_split} leaves {cut} of {len(X)} examples to train on")
            (X, Xv), (Y, Yv) = (X[:cut], X[cut:]), (Y[:cut], Y[cut:])
            val: tuple | None = (Xv, Yv)
        elif validation_data is not None:
            val = self._tensors(validation_data, None, "validation_data")
        else:
            val = None
        Y = self._fit_targets(X, Y, "data")
        if val is not None:
            val = (val[0], self._fit_targets(val[0], val[1], "validation_data"))
        rank, world = _world(self.model)
        n_local = len(range(rank, len(X), world))
        if not 1 <= batch_size <= n_local:
            where = f" per process ({world} processes)" if world > 1 else ""
            raise ValueError(f"batch_size must be in [1, N] with N = {n_local} training examples{where}; "
                             f"got {batch_size}")
        ipe = math.ceil(n_local / batch_size)
        callbacks = sorted(list(callbacks), key=lambda c: getattr(c, "order", 0))
        for c in callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"callbacks must be Callback objects, got {type(c).__name__}")

        config = {**self.optimizer_config, "loss": self.loss_name, "metrics": [m for m, _, _ in self.metrics],
                  "batch_size": int(batch_size), "shuffle": bool(shuffle), "n_train": len(X),
                  "n_val": 0 if val is None else len(val[0]), "world_size": world}
        if resume_from is not None:
            state = self._read_checkpoint(resume_from)
            old = state["fit_config"]
            for k in ("batch_size", "shuffle", "n_train", "n_val"):
                if old.get(k) != config[k]:
                    raise ValueError(f"resume_from: the checkpoint was trained with {k}={old.get(k)!r}, this fit "
                                     f"has {k}={config[k]!r}; resume with the same settings")
            if state["epoch"] >= epochs:
                raise ValueError(f"epochs={epochs} but the checkpoint has already done {state['epoch']} epochs; "
                                 f"pass a larger epochs to continue")
            self._apply_checkpoint(state, callbacks)
            seed = old["seed"]
            config["seed"] = seed
            hist = self.history
            assert hist is not None
        else:
            if seed is None:
                seed = int(torch.randint(0, 2**62, (1,)).item())
            self._generator.manual_seed(int(seed))
            config["seed"] = int(seed)
            self.epoch, self.step = 0, 0
            hist = History(label=label or self.optimizer_config["optimizer"], config=config,
                           meta={"iterations_per_epoch": ipe})
            for k in ("loss", "lr", "time", "epoch"):
                hist.series[k] = []
            self.history = hist
        config["epochs"] = int(epochs)
        hist.config.update(config)
        self._fit_config = config
        series = {k: list(np.asarray(v).tolist()) for k, v in hist.series.items() if k not in _ALIASES}
        hist.series = series
        _alias(series)  # callbacks may read history.values etc. during fit: the same growing lists
        series = {k: v for k, v in series.items() if k not in _ALIASES}
        ep = {k: list(np.asarray(v).tolist()) for k, v in hist.epochs.items()}
        hist.epochs = ep
        self._stop_reason = None
        t_offset = float(series["time"][-1]) if series["time"] else 0.0

        self._callbacks = callbacks
        for c in callbacks:
            c.on_train_begin(self)
        batch_cbs = [c for c in callbacks
                     if "on_batch_end" in vars(c) or type(c).on_batch_end is not Callback.on_batch_end]
        model, opt, loss_fn = self.model, self.optimizer, self.loss_fn
        metrics = self.metrics
        plateau = isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        closure_step = needs_closure(opt)
        progress = _Progress(verbose, epochs, self.epoch)
        t0 = time.perf_counter() - t_offset
        try:
            for epoch in range(self.epoch, epochs):
                for c in callbacks:
                    c.on_epoch_begin(self, epoch)
                model.train()
                order = torch.randperm(len(X), generator=self._generator).to(X.device) if shuffle else None
                if world > 1:
                    order = (order if order is not None else torch.arange(len(X)))[rank::world]
                loss_sum, n_seen = 0.0, 0
                outs: list[torch.Tensor] = []  # metrics are computed once per epoch from these
                targets: list[torch.Tensor] = []
                for b in range(ipe):
                    if order is None:
                        xb, yb = X[b * batch_size:(b + 1) * batch_size], Y[b * batch_size:(b + 1) * batch_size]
                    else:
                        idx = order[b * batch_size:(b + 1) * batch_size]
                        xb, yb = X[idx], Y[idx]
                    lr = self._lr()
                    opt.zero_grad(set_to_none=True)
                    with torch.set_grad_enabled(not closure_step):
                        out = model(xb)
                        loss = loss_fn(out, yb)
                    lv = loss.item()
                    if world == 1 and not math.isfinite(lv):
                        self._diverged(epoch, b, lv, "loss")
                        break
                    try:
                        if closure_step:
                            opt.step(self._closure(xb, yb))
                        else:
                            loss.backward()
                            # under DDP every process must take part in backward's all-reduce; the
                            # averaged gradients are the same everywhere, so all decide alike
                            if world > 1 and not _grads_finite(opt):
                                self._diverged(epoch, b, lv, "gradient (all processes)")
                                break
                            opt.step()
                    except FloatingPointError as e:
                        self._diverged(epoch, b, lv, f"gradient: {e}")
                        break
                    if self.scheduler is not None and self.schedule_per == "step" and not plateau:
                        self.scheduler.step()
                    self.step += 1
                    series["loss"].append(lv)
                    series["lr"].append(lr)
                    series["time"].append(time.perf_counter() - t0)
                    series["epoch"].append(epoch)
                    n = len(xb)
                    loss_sum += lv * n
                    n_seen += n
                    if metrics:
                        outs.append(out.detach())
                        targets.append(yb)
                    for c in batch_cbs:
                        c.on_batch_end(self, self.step, lv)
                    if self._stop_reason is not None:
                        break
                if self._stop_reason is not None and n_seen < n_local:
                    break  # an epoch cut short (divergence, a per-iteration rule) is not logged as an epoch
                logs = {"loss": loss_sum / n_seen}
                if metrics:
                    logs.update(self._metric_values(torch.cat(outs), torch.cat(targets)))
                if val is not None:
                    for k, v in self._evaluate(*val, batch_size=max(batch_size, 1024)).items():
                        logs["val_" + k] = v
                logs["lr"] = self._lr()
                if self.scheduler is not None and self.schedule_per == "epoch":
                    if plateau:
                        self.scheduler.step(logs.get("val_loss", logs["loss"]))
                    else:
                        self.scheduler.step()
                elif plateau:
                    self.scheduler.step(logs.get("val_loss", logs["loss"]))
                logs["time"] = time.perf_counter() - t0
                for k, v in logs.items():
                    ep.setdefault(k, []).append(v)
                self.epoch = epoch + 1
                hist.steps = self.step
                for c in callbacks:
                    c.on_epoch_end(self, epoch, logs)
                progress.epoch(epoch, logs)
                if self._stop_reason is not None:
                    break
        except KeyboardInterrupt:
            self.request_stop("interrupted")  # Ctrl-C: keep what was computed, return the history
        finally:
            progress.close()
            self._finish(hist)
        hist.stop_reason = self._stop_reason or "epochs_done"
        for c in callbacks:
            c.on_train_end(self)
        return hist

    def _closure(self, xb: torch.Tensor, yb: torch.Tensor) -> Callable[[], torch.Tensor]:
        """Re-evaluate the batch loss and its gradient wherever the optimizer has put the
        parameters (NAG's look-ahead point θ − γν, L-BFGS's line search)."""
        def closure() -> torch.Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            with torch.enable_grad():
                loss = self.loss_fn(self.model(xb), yb)
                loss.backward()
            return loss

        return closure

    def _diverged(self, epoch: int, it: int, loss: float, what: str) -> None:
        assert self.history is not None
        self.history.meta["diverged_at"] = {"epoch": epoch, "iteration": it, "loss": loss, "cause": what}
        self.request_stop("diverged")

    def _finish(self, hist: History) -> None:
        hist.series = {k: np.asarray(v, dtype=np.int64 if k == "epoch" else np.float64)
                       for k, v in hist.series.items() if k not in _ALIASES}
        _alias(hist.series)
        hist.epochs = {k: np.asarray(v, dtype=np.float64) for k, v in hist.epochs.items()}
        hist.steps = self.step

    # ---------------------------------------------------------------- evaluate / predict
    def _evaluate(self, X: torch.Tensor, Y: torch.Tensor, batch_size: int) -> dict[str, float]:
        model = self.model
        was = model.training
        model.eval()
        n = len(X)
        loss_sum = 0.0
        outs = []
        try:
            with torch.no_grad():
                for s in range(0, n, batch_size):
                    xb, yb = X[s:s + batch_size], Y[s:s + batch_size]
                    out = _inner(model)(xb)
                    loss_sum += self.loss_fn(out, yb).item() * len(xb)
                    outs.append(out)
        finally:
            model.train(was)
        return {"loss": loss_sum / n, **self._metric_values(torch.cat(outs), Y)}

    def _metric_values(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Every metric over all examples at once: the example-weighted mean of batch values."""
        n = len(out)
        with torch.no_grad():
            return {name: float(fn(out, y)) / n if is_sum else float(fn(out, y)) for name, fn, is_sum in self.metrics}

    def evaluate(self, data: Any, y: Any = None, batch_size: int = 1024) -> dict[str, float]:
        """Loss and metrics on ``data`` (same forms as :meth:`fit`), model in eval mode."""
        X, Y = self._tensors(data, y, "data")
        Y = self._fit_targets(X, Y, "data")
        return self._evaluate(X, Y, batch_size)

    def predict(self, x: Any, batch_size: int = 1024) -> torch.Tensor:
        """Model outputs (logits for classifiers) for inputs ``x``, in eval mode, without gradients."""
        X = x.tensors[0] if isinstance(x, TensorDataset) else _as_tensor(x, "x")
        if len(X) == 0:
            raise ValueError("x is empty: it has no examples")
        X = X.to(device=self._device, dtype=self._dtype) if X.is_floating_point() else X.to(self._device)
        model = _inner(self.model)
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                return torch.cat([model(X[s:s + batch_size]) for s in range(0, len(X), batch_size)])
        finally:
            model.train(was)

    # ---------------------------------------------------------------- checkpoints
    def save_checkpoint(self, path: str | Path, callbacks: Sequence[Callback] | None = None) -> Path:
        """Write everything needed to resume exactly: model, optimizer, schedule, RNG
        states (the shuffling generator and torch's global RNG, for dropout), the
        history so far, the epoch, and the state of stateful callbacks: those given
        in ``callbacks``, else those of the last ``fit``. Resume with the same
        callbacks: ``fit(..., callbacks=..., resume_from=path)``."""
        if callbacks is None:
            callbacks = getattr(self, "_callbacks", ())
        else:
            callbacks = list(callbacks)
            for c in callbacks:
                if not isinstance(c, Callback):
                    raise TypeError(f"callbacks must be Callback objects, got {type(c).__name__}")
            callbacks = sorted(callbacks, key=lambda c: getattr(c, "order", 0))  # fit's order, as resume reads it
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        hist = self.history
        hd = None
        if hist is not None:
            snap = History(label=hist.label, config=hist.config, stop_reason=hist.stop_reason, steps=self.step,
                           meta=dict(hist.meta),
                           series={k: np.asarray(v) for k, v in hist.series.items() if k not in _ALIASES},
                           epochs={k: np.asarray(v, dtype=np.float64) for k, v in hist.epochs.items()})
            hd = json.dumps(snap.to_dict())
        state = {
            "format": "optimlab-checkpoint-1",
            "epoch": self.epoch, "step": self.step,
            "model": _inner(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "shuffle_rng": self._generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": hd,
            "fit_config": json.dumps(to_jsonable(self._fit_config)),
            "callbacks": [c.state_dict() for c in callbacks],
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)  # never leave a half-written checkpoint
        return path

    _CHECKPOINT_KEYS = ("epoch", "step", "model", "optimizer", "scheduler", "shuffle_rng", "torch_rng", "history",
                        "fit_config")

    def _read_checkpoint(self, path: str | Path, argument: str = "resume_from") -> dict:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{argument}: checkpoint {str(path)!r} does not exist")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # any file torch cannot read (text, a truncated or foreign pickle, ...)
            raise ValueError(f"{str(path)!r} is not an optimlab checkpoint: torch.load failed "
                             f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
        if not isinstance(state, dict) or state.get("format") != "optimlab-checkpoint-1":
            held = "a dict without format 'optimlab-checkpoint-1'" if isinstance(state, dict) else \
                f"a {type(state).__name__}"
            raise ValueError(f"{str(path)!r} is not an optimlab checkpoint: it holds {held} (checkpoints are "
                             f"written by Trainer.save_checkpoint or ModelCheckpoint)")
        missing = [k for k in self._CHECKPOINT_KEYS if k not in state]
        if missing:
            raise ValueError(f"{str(path)!r} is not an optimlab checkpoint: it lacks {', '.join(missing)}")
        try:
            state["fit_config"] = json.loads(state["fit_config"])
            if not isinstance(state["fit_config"], dict):
                raise ValueError("not a JSON object")
        except (TypeError, ValueError) as e:
            raise ValueError(f"{str(path)!r} is not an optimlab checkpoint: its fit_config is not valid ({e})") \
                from None
        return state

    def _apply_checkpoint(self, state: dict, callbacks: Sequence[Callback] = ()) -> None:
        _inner(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self._generator.set_state(state["shuffle_rng"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.history = History.from_dict(json.loads(state["history"])) if state["history"] else None
        saved = state.get("callbacks", [])
        stateful = list(callbacks)
        if saved and len(saved) == len(stateful):
            for c, s in zip(stateful, saved):
                c.load_state_dict(s)
        elif any(saved) and stateful:
            import warnings

            warnings.warn(f"the checkpoint holds the state of {len(saved)} callbacks but {len(stateful)} were "
                          f"given; their state is not restored, so the resumed run may differ", RuntimeWarning,
                          stacklevel=3)

    def load_checkpoint(self, path: str | Path) -> "Trainer":
        """Restore model, optimizer, schedule, RNG states, epoch and history from ``path``."""
        self._apply_checkpoint(self._read_checkpoint(path, "path"))
        return self


# ============================================================================ progress
class _Progress:
    """Rich progress bar over epochs (verbose=1), one line per epoch (2), nothing (0)."""

    def __init__(self, verbose: int, epochs: int, start: int):
        self.verbose = verbose
        self._bar = None
        if verbose == 0:
            return
        from rich.console import Console

        self.console = Console(stderr=True)
        if verbose == 1:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("epoch"), MofNCompleteColumn(), BarColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=self.console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task("", total=epochs, completed=start)

    @staticmethod
    def _fmt(logs: dict) -> str:
        return "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "time")

    def epoch(self, epoch: int, logs: dict) -> None:
        if self.verbose == 1 and self._bar is not None:
            self._bar.update(self._task, advance=1, description=self._fmt(logs))
        elif self.verbose == 2:
            self.console.print(f"epoch {epoch + 1}: {self._fmt(logs)}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


# ============================================================================ comparisons
def _mean_std(xs: Sequence[float]) -> tuple[float, float]:
    a = np.asarray([x for x in xs if x is not None and np.isfinite(x)], dtype=float)
    if not len(a):
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def _pm(mean: float, std: float, n: int, fmt: str = "{:.4g}") -> str:
    if not np.isfinite(mean):
        return "—"
    return fmt.format(mean) + (f" ± {std:.2g}" if n > 1 else "")


def _padded_mean(arrays: Sequence[np.ndarray]) -> np.ndarray:
    n = max((len(a) for a in arrays), default=0)
    out = np.full((len(arrays), n), np.nan)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = a
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(out, axis=0) if len(arrays) else out[:0]


class TrainingComparison:
    """Result of :func:`compare_training`: every :class:`History` (``histories[label][i]``
    is seed ``seeds[i]``), the summary table and the pictures.

    ``monitor`` is the validation quantity that ranks runs (``val_accuracy`` for
    classifiers, ``val_loss`` otherwise; ``accuracy``/``loss`` on the training data
    when the problem has no validation split); ``target`` the level for "epochs to target"
    (given, or by default the lowest of the optimizers' mean best values: the level
    every optimizer reached on average).
    """

    def __init__(self, problem: str, histories: dict[str, list[History]], seeds: list[int], monitor: str,
                 target: float | None, settings: dict):
        self.problem, self.histories, self.seeds, self.monitor = problem, histories, seeds, monitor
        self.settings = settings
        self.mode = _mode(monitor, "auto")
        if target is None:
            bests = [_mean_std([h.best(monitor)[1] for h in hs])[0] for hs in histories.values()]
            bests = [b for b in bests if np.isfinite(b)]
            target = (min(bests) if self.mode == "max" else max(bests)) if bests else None
        self.target = target

    def summary(self) -> list[dict]:
        """One dict per optimizer: means and standard deviations over seeds."""
        rows = []
        for label, hs in self.histories.items():
            final = [float(h.epochs[self.monitor][-1]) if h.n_epochs else float("nan") for h in hs]
            best = [h.best(self.monitor) for h in hs]
            reach = [h.epochs_to(self.monitor, self.target) if self.target is not None else None for h in hs]
            tpe = [float(np.mean(h.epoch_times)) if h.n_epochs else float("nan") for h in hs]
            loss = [float(h.epochs["loss"][-1]) if h.n_epochs else float("nan") for h in hs]
            rows.append({
                "label": label, "runs": len(hs),
                "final": _mean_std(final), "best": _mean_std([b[1] for b in best]),
                "best_epoch": _mean_std([b[0] + 1 for b in best if b[0] >= 0]),
                "epochs_to_target": _mean_std([r for r in reach if r is not None]),
                "reached": sum(r is not None for r in reach),
                "time_per_epoch": _mean_std(tpe), "final_loss": _mean_std(loss),
                "stop_reasons": sorted({h.stop_reason for h in hs}),
            })
        return rows

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Columns and formatted rows (mean ± sample std over seeds)."""
        m = self.monitor
        tgt = "—" if self.target is None else f"{self.target:.4g}"
        reach = f"epochs to {m} {'≥' if self.mode == 'max' else '≤'} {tgt}"
        cols = ["optimizer", f"final {m}", f"best {m}", "best epoch", reach, "time/epoch (ms)", "final train loss",
                "stop"]
        rows = []
        for r in self.summary():
            n = r["runs"]
            reach = _pm(*r["epochs_to_target"], r["reached"], "{:.3g}")
            if r["reached"] < n:
                reach = f"{reach} ({r['reached']}/{n} runs)"
            tpe = r["time_per_epoch"]
            rows.append([r["label"], _pm(*r["final"], n), _pm(*r["best"], n), _pm(*r["best_epoch"], n, "{:.3g}"),
                         reach, _pm(tpe[0] * 1e3, tpe[1] * 1e3, n, "{:.3g}"), _pm(*r["final_loss"], n),
                         ", ".join(r["stop_reasons"])])
        return cols, rows

    def mean_history(self, label: str) -> History:
        """A History whose series are the means over seeds (shorter runs padded with NaN)."""
        hs = self.histories[label]
        epochs = {k: _padded_mean([np.asarray(h.epochs[k], dtype=float) for h in hs if k in h.epochs])
                  for k in hs[0].epochs}
        series = {"loss": _padded_mean([np.asarray(h.series["loss"], dtype=float) for h in hs])}
        return History(label=label, config=dict(hs[0].config), epochs=epochs, series=series,
                       meta={"iterations_per_epoch": hs[0].iterations_per_epoch, "seeds": list(self.seeds)})

    def figures(self, folder: str | Path) -> list[tuple[Path, str]]:
        """Draw the curves into ``folder``; returns ``[(path, caption)]``."""
        from .viz.training import training_figures

        return training_figures({label: self.mean_history(label) for label in self.histories}, folder,
                                monitor=self.monitor, seeds=len(self.seeds))

    def write_html(self, path: str | Path, title: str | None = None) -> Path:
        """The page: settings, the table and the curves (through :func:`optimlab.report.write_html`)."""
        from .report import Figure, Heading, Table, Text, write_html

        path = Path(path)
        figs = self.figures(path.parent / (path.stem + "_figures"))
        s = self.settings
        cols, rows = self.table()
        blocks: list[Any] = [
            Text(f"Problem {self.problem} ({s.get('task')}, data: {s.get('source')}, train/validation/test "
                 f"examples {s.get('split')}, model {s.get('model')}, loss {s.get('loss')}). "
                 f"{s.get('epochs')} epochs, batch size {s.get('batch_size')} "
                 f"({s.get('iterations_per_epoch')} iterations per epoch), seeds {self.seeds}. "
                 f"Numbers are mean ± sample standard deviation over seeds; curves are means over seeds."),
            Heading("Summary"), Table(cols, rows), Heading("Curves"),
            *[Figure(p, caption) for p, caption in figs],
        ]
        return write_html(path, title or f"Training comparison: {self.problem}", blocks)

    def save(self, folder: str | Path) -> list[Path]:
        """Save every History as ``folder/<label>-seed<seed>.npz``."""
        import re

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for label, hs in self.histories.items():
            safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", label)
            for seed, h in zip(self.seeds, hs):
                out.append(h.save(folder / f"{safe}-seed{seed}.npz"))
        return out


def compare_training(problem: Any, optimizers: Mapping[str, Any] | Sequence[Any], *, epochs: int = 10,
                     seeds: Sequence[int] | int = (0,), batch_size: int = 32, target: float | None = None,
                     monitor: str | None = None, callbacks: Callable[[], list] | None = None,
                     schedule: Any = None, verbose: int = 0, on_run: Callable | None = None,
                     **problem_options: Any) -> TrainingComparison:
    """Train one problem with several optimizers over several seeds; same start for all.

    Args:
        problem: a problem name (``"digits-mlp"``; rebuilt for each seed: split and
            initial weights follow the seed) or a :class:`optimlab.problems.Problem`
            (its split is kept; each seed draws new initial weights when it can).
        optimizers: ``{label: optimizer}`` (any form :class:`Trainer` takes) or a list
            of spec strings (labelled by themselves).
        seeds: a list of seeds, or an int k for seeds ``0..k-1``. Each seed fixes the
            initial weights and the shuffling; every optimizer starts from the same
            weights for the same seed.
        monitor: the per-epoch quantity that ranks runs; by default the problem's
            (``val_accuracy`` or ``val_loss``), or its training counterpart
            (``accuracy``, ``loss``) when the problem has no validation split
            (``problems.get(..., val=0)``), in which case no validation pass is run.
        target: level of ``monitor`` for the "epochs to target" column.
        callbacks: a factory returning fresh callbacks for each run (e.g. early stopping).
        on_run: called as ``on_run(label, seed, history)`` after each run (progress).

    Example:
        >>> cmp = compare_training("digits-mlp", {"SGD": "sgd:lr=0.1", "Adam": "adam"}, epochs=20, seeds=3)
        >>> cmp.write_html("digits.html")
    """
    from . import problems as P
    from .sweeps import _seed_list  # one reading of seeds for sweeps and comparisons (lazy: sweeps is heavy)

    seed_list = _seed_list(seeds)
    if seed_list is None:
        raise ValueError("seeds must be a count >= 1 or a non-empty list of integers, got None")
    seeds = seed_list
    if not isinstance(optimizers, Mapping):
        optimizers = {str(o): o for o in optimizers}
    if not optimizers:
        raise ValueError("optimizers is empty: give at least one, e.g. {'Adam': 'adam'}")
    base = P.get(problem, seed=seeds[0], **problem_options) if isinstance(problem, str) else problem
    if not isinstance(base, P.Problem):
        raise TypeError(f"problem must be a name ({', '.join(P.names())}) or a Problem, got {type(problem).__name__}")
    has_val = len(base.val) > 0
    if monitor is None:  # without validation data, rank runs by the training quantity
        monitor = base.monitor if has_val else base.monitor.removeprefix("val_")
    elif monitor.startswith("val_") and not has_val:
        raise ValueError(f"monitor {monitor!r} needs validation data, but problem {base.name!r} has none; "
                         f"use {monitor.removeprefix('val_')!r} or a problem with a validation split")
    histories: dict[str, list[History]] = {str(k): [] for k in optimizers}
    ipe = None
    for seed in seeds:
        prob = P.get(problem, seed=seed, **problem_options) if isinstance(problem, str) else base
        init = (prob.model if isinstance(problem, str) else
                (prob.new_model(seed) if prob.model_fn is not None else prob.model))
        init_state = _copy_state(init)
        for label, opt in optimizers.items():
            model = copy.deepcopy(init)
            model.load_state_dict(init_state)
            trainer = Trainer(model, loss=prob.loss, optimizer=opt, metrics=list(prob.metrics), schedule=schedule)
            h = trainer.fit(prob.train, batch_size=batch_size, epochs=epochs,
                            validation_data=prob.val if len(prob.val) else None,
                            seed=seed, verbose=verbose, callbacks=callbacks() if callbacks else (),
                            label=str(label))
            h.config["problem"] = prob.name
            h.meta["seed"] = seed
            ipe = h.iterations_per_epoch
            histories[str(label)].append(h)
            if on_run is not None:
                on_run(str(label), seed, h)
    split = base.info.get("split", {})
    settings = {"epochs": epochs, "batch_size": batch_size, "iterations_per_epoch": ipe, "task": base.task,
                "loss": base.loss, "model": type(base.model).__name__, "source": base.info.get("source", ""),
                "split": f"{split.get('train', len(base.train))}/{split.get('val', len(base.val))}/"
                         f"{split.get('test', len(base.test))}"}
    return TrainingComparison(base.name, histories, seeds, monitor, target, settings)
