"""The :class:`Trainer`: ``compile`` (the constructor), ``fit``, ``evaluate``, ``predict``, checkpoints."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from ..engine import (
    EpochBatches,
    EpochMean,
    chunks,
    divergent,
    grads_finite,
    optimizer_mode,
    pick_threads,
    torch_threads,
)
from ..optim import check_loaded_state
from ..problems import Problem
from ..problems.data import as_tensor, dataset_tensors
from ..record import SERIES_ALIASES, History, alias_series, to_jsonable
from ..runner import make_scheduler
from .callbacks import Callback
from .checkpoint import check_optimizer_kind, read_checkpoint, write_checkpoint
from .curvature import TrainingHessian
from .fitrun import FitRun, check_fit_arguments, sorted_callbacks
from .losses import check_targets, make_optimizer, resolve_loss, resolve_metrics
from .progress import Progress
from .tools import ddp_world, first_bad_row, unwrap

__all__ = ["Trainer"]


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
        >>> X, y = torch.randn(200, 4), torch.randint(0, 3, (200,))
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        >>> t = Trainer(model, loss="cross_entropy", optimizer="sgd:lr=0.1,momentum=0.9",
        ...             metrics=["accuracy"], schedule=(torch.optim.lr_scheduler.StepLR, {"step_size": 10}))
        >>> history = t.fit((X, y), batch_size=32, epochs=30, validation_split=0.2, seed=0, verbose=0)
        >>> len(history.history["val_accuracy"]), history.stop_reason
        (30, 'epochs_done')
    """

    def __init__(self, model: nn.Module, loss: Any = "mse", optimizer: Any = "adam", metrics: Any = None,
                 schedule: Any = None, schedule_per: str = "epoch"):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if schedule_per not in ("epoch", "step"):
            raise ValueError(f"schedule_per must be 'epoch' or 'step', got {schedule_per!r}")
        self.model = model
        self.loss_name, self.loss_fn, self.loss_kind = resolve_loss(loss)
        self.metrics = resolve_metrics(metrics, self.loss_kind, self.loss_name)
        self.optimizer, self.optimizer_config = make_optimizer(model.parameters(), optimizer)
        self.scheduler = make_scheduler(schedule, self.optimizer)
        self._curvature = TrainingHessian.of(self.optimizer, self.loss_name, self.loss_fn)  # Sophia's update_hessian
        self.schedule_per = schedule_per
        self.history: History | None = None
        self.epoch = 0  # completed epochs
        self.step = 0  # completed iterations
        self._generator = torch.Generator()
        self._stop_reason: str | None = None
        self._fit_config: dict = {}

    @classmethod
    def for_problem(cls, problem: Problem, optimizer: Any = "adam", model: nn.Module | None = None,
                    **kw: Any) -> "Trainer":
        """A Trainer for a :class:`~optimlab.problems.Problem`: its model (or ``model``), its
        loss and its metrics; ``kw`` go to the constructor (``schedule=``, ``schedule_per=``).

        >>> from optimlab import problems
        >>> p = problems.get("iris-softmax")
        >>> t = Trainer.for_problem(p, "sgd:lr=0.1")
        >>> t.loss_name, [m[0] for m in t.metrics]
        ('cross_entropy', ['accuracy'])
        """
        return cls(problem.model if model is None else model, loss=problem.loss, optimizer=optimizer,
                   metrics=list(problem.metrics), **kw)

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
        X, Y = dataset_tensors(data, y, name)
        dt, dev = self._dtype, self._device  # data moves to the model's device once, not per batch
        X = X.to(device=dev, dtype=dt) if X.is_floating_point() else X.to(dev)
        Y = Y.to(device=dev, dtype=dt) if Y.is_floating_point() else Y.to(dev)
        for what, t in (("inputs", X), ("targets", Y)):
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name}: {what} contain NaN or inf (first in row {first_bad_row(t)}); "
                                 f"clean or impute the data first")
        return X, Y

    def _fit_targets(self, X: torch.Tensor, Y: torch.Tensor, name: str) -> torch.Tensor:
        return check_targets(self.model, self.loss_name, self.loss_fn, self.loss_kind, X, Y, name, self._dtype)

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
            resume_from: str | Path | None = None, label: str | None = None, threads: Any = None) -> History:
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

        ``threads``: torch's intra-op threads during the fit (1..cores); by default
        ``$OPTIMLAB_THREADS``, else one thread for a small model (parameters × batch size
        at most :data:`optimlab.engine.SMALL_WORK`), else torch's setting. The caller's
        count is restored when ``fit`` returns.

        An optimizer with ``train()`` and ``eval()`` methods (the schedule-free methods,
        duck-typed) is put in train mode before each epoch's updates and in eval mode
        before the epoch's logs (validation, callbacks, checkpoints) and when ``fit``
        returns, as the ``schedulefree`` package advises. An optimizer with ``update_hessian()``
        (Sophia) is stepped and refreshed as its authors' loop does (:mod:`optimlab.training.curvature`).
        """
        check_fit_arguments(batch_size, epochs, verbose)
        n_threads = pick_threads(threads, sum(p.numel() for p in self.model.parameters()) * int(batch_size))
        X, Y, val = self._fit_data(data, y, validation_data, validation_split)
        rank, world = ddp_world(self.model)
        n_local = len(range(rank, len(X), world))
        if not 1 <= batch_size <= n_local:
            where = f" per process ({world} processes)" if world > 1 else ""
            raise ValueError(f"batch_size must be in [1, N] with N = {n_local} training examples{where}; "
                             f"got {batch_size}")
        batches = EpochBatches(len(X), int(batch_size), self._generator if shuffle else None, shard=(rank, world),
                               device=X.device)
        callbacks = sorted_callbacks(callbacks)
        config = {**self.optimizer_config, "loss": self.loss_name, "metrics": [m for m, _, _ in self.metrics],
                  "batch_size": int(batch_size), "shuffle": bool(shuffle), "n_train": len(X),
                  "n_val": 0 if val is None else len(val[0]), "world_size": world}
        hist = self._open_history(config, epochs, seed, label, resume_from, callbacks, batches.per_epoch)
        for c in callbacks:
            c.on_train_begin(self)
        run = FitRun(self, X, Y, val, batches, world, callbacks)
        progress = Progress(verbose, epochs, self.epoch)
        run.start_clock()
        try:
            with torch_threads(n_threads):
                for epoch in range(self.epoch, epochs):
                    if not self._epoch(run, epoch, progress):
                        break
        except KeyboardInterrupt:
            self.request_stop("interrupted")  # Ctrl-C: keep what was computed, return the history
        finally:
            optimizer_mode(self.optimizer, "eval")  # the model ends at the evaluation point
            progress.close()
            self._finish(hist)
        hist.stop_reason = self._stop_reason or "epochs_done"
        for c in callbacks:
            c.on_train_end(self)
        return hist

    def _fit_data(self, data: Any, y: Any, validation_data: Any, validation_split: float) -> tuple:
        """``(X, Y, val)``: the training tensors and the validation pair (or None)."""
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
        return X, Y, val

    def _open_history(self, config: dict, epochs: int, seed: int | None, label: str | None,
                      resume_from: str | Path | None, callbacks: list[Callback], ipe: int) -> History:
        """A new History (seeding the shuffling generator), or the checkpoint's to continue;
        its series become growing lists that callbacks may read during the fit."""
        if resume_from is not None:
            state = read_checkpoint(resume_from)
            old = state["fit_config"]
            for k in ("batch_size", "shuffle", "n_train", "n_val"):
                if old.get(k) != config[k]:
                    raise ValueError(f"resume_from: the checkpoint was trained with {k}={old.get(k)!r}, this fit "
                                     f"has {k}={config[k]!r}; resume with the same settings")
            if state["epoch"] >= epochs:
                raise ValueError(f"epochs={epochs} but the checkpoint has already done {state['epoch']} epochs; "
                                 f"pass a larger epochs to continue")
            self._apply_checkpoint(state, callbacks, stacklevel=4)
            config["seed"] = old["seed"]
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
        hist.series = {k: list(np.asarray(v).tolist()) for k, v in hist.series.items() if k not in SERIES_ALIASES}
        alias_series(hist.series)  # callbacks may read history.values etc. during fit: the same growing lists
        hist.epochs = {k: list(np.asarray(v).tolist()) for k, v in hist.epochs.items()}
        self._stop_reason = None
        self._callbacks = callbacks
        return hist

    def _epoch(self, run: FitRun, epoch: int, progress: Progress) -> bool:
        """One epoch: its batches, then (unless cut short) its logs and callbacks; False to end the fit."""
        for c in run.callbacks:
            c.on_epoch_begin(self, epoch)
        self.model.train()
        optimizer_mode(self.optimizer, "train")  # schedule-free methods: gradients at y
        mean, outs, targets = self._train_batches(run, epoch)
        if self._stop_reason is not None and mean.n < run.batches.n_local:
            return False  # an epoch cut short (divergence, a per-iteration rule) is not logged as an epoch
        logs = self._epoch_logs(run, mean, outs, targets)
        for k, v in logs.items():
            run.epochs.setdefault(k, []).append(v)
        self.epoch = epoch + 1
        run.history.steps = self.step
        for c in run.callbacks:
            c.on_epoch_end(self, epoch, logs)
        progress.epoch(epoch, logs)
        return self._stop_reason is None

    def _train_batches(self, run: FitRun, epoch: int) -> tuple[EpochMean, list, list]:
        """The updates of one epoch; returns its loss accumulator and, for metrics, the outputs and targets."""
        mean = EpochMean()
        outs: list[torch.Tensor] = []  # metrics are computed once per epoch from these
        targets: list[torch.Tensor] = []
        series = run.series
        for b, idx in enumerate(run.batches.epoch()):
            xb, yb = run.X[idx], run.Y[idx]
            done = self._update(run, epoch, b, xb, yb)
            if done is None:
                break
            lr, lv, out = done
            if self.scheduler is not None and self.schedule_per == "step" and not run.plateau:
                self.scheduler.step()
            self.step += 1
            series["loss"].append(lv)
            series["lr"].append(lr)
            series["time"].append(run.elapsed())
            series["epoch"].append(epoch)
            mean.add(lv, len(xb))
            if self.metrics:
                outs.append(out.detach())
                targets.append(yb)
            for c in run.batch_callbacks:
                c.on_batch_end(self, self.step, lv)
            if self._stop_reason is not None:
                break
        return mean, outs, targets

    def _update(self, run: FitRun, epoch: int, b: int, xb: torch.Tensor,
                yb: torch.Tensor) -> tuple[float, float, torch.Tensor] | None:
        """One update on batch ``b``: ``(lr, loss before the update, outputs)``, None if it diverged."""
        opt = self.optimizer
        lr = self._lr()
        opt.zero_grad(set_to_none=True)
        with torch.set_grad_enabled(not run.closure_step):
            out = self.model(xb)
            loss = self.loss_fn(out, yb)
        lv = loss.item()
        if run.world == 1 and divergent(lv) is not None:
            self._diverged(epoch, b, lv, "loss")
            return None
        try:
            if run.closure_step:
                opt.step(self._closure(xb, yb))
            else:
                loss.backward()
                # under DDP every process must take part in backward's all-reduce; the
                # averaged gradients are the same everywhere, so all decide alike
                if run.world > 1 and not grads_finite(opt):
                    self._diverged(epoch, b, lv, "gradient (all processes)")
                    return None
                if self._curvature is None:
                    opt.step()
                else:  # the Sophia authors' loop: step(bs=B), every k-th step a refresh of h
                    opt.step(**self._curvature.step_kwargs(out))
                    self._curvature.after_update(self.step + 1, self.model, xb, yb)
        except FloatingPointError as e:
            self._diverged(epoch, b, lv, f"gradient: {e}")
            return None
        return lr, lv, out

    def _epoch_logs(self, run: FitRun, mean: EpochMean, outs: list, targets: list) -> dict:
        """The epoch's logs (loss, metrics, validation, lr, time); steps an epoch-wise schedule."""
        optimizer_mode(self.optimizer, "eval")  # validation, callbacks and checkpoints see x
        logs = {"loss": mean.mean()}
        if self.metrics:
            logs.update(self._metric_values(torch.cat(outs), torch.cat(targets)))
        if run.val is not None:
            for k, v in self._evaluate(*run.val, batch_size=max(run.batches.batch_size, 1024)).items():
                logs["val_" + k] = v
        logs["lr"] = self._lr()
        if self.scheduler is not None and self.schedule_per == "epoch":
            if run.plateau:
                self.scheduler.step(logs.get("val_loss", logs["loss"]))
            else:
                self.scheduler.step()
        elif run.plateau:
            self.scheduler.step(logs.get("val_loss", logs["loss"]))
        logs["time"] = run.elapsed()
        return logs

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
                       for k, v in hist.series.items() if k not in SERIES_ALIASES}
        alias_series(hist.series)
        hist.epochs = {k: np.asarray(v, dtype=np.float64) for k, v in hist.epochs.items()}
        hist.steps = self.step

    # ---------------------------------------------------------------- evaluate / predict
    def _evaluate(self, X: torch.Tensor, Y: torch.Tensor, batch_size: int) -> dict[str, float]:
        model = self.model
        was = model.training
        model.eval()
        mean = EpochMean()  # the loss over all examples: batch means weighted by batch size
        outs = []
        try:
            with torch.no_grad():
                for s in chunks(len(X), batch_size):
                    xb, yb = X[s], Y[s]
                    out = unwrap(model)(xb)
                    mean.add(self.loss_fn(out, yb).item(), len(xb))
                    outs.append(out)
        finally:
            model.train(was)
        return {"loss": mean.mean(), **self._metric_values(torch.cat(outs), Y)}

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
        X = x.tensors[0] if isinstance(x, TensorDataset) else as_tensor(x, "x")
        if len(X) == 0:
            raise ValueError("x is empty: it has no examples")
        X = X.to(device=self._device, dtype=self._dtype) if X.is_floating_point() else X.to(self._device)
        model = unwrap(self.model)
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                return torch.cat([model(X[s]) for s in chunks(len(X), batch_size)])
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
        return write_checkpoint(self._state(callbacks), path)

    def _state(self, callbacks: Sequence[Callback]) -> dict:
        """Everything a checkpoint holds, as it is now (the history as JSON text)."""
        hist = self.history
        hd = None
        if hist is not None:
            snap = History(label=hist.label, config=hist.config, stop_reason=hist.stop_reason, steps=self.step,
                           meta=dict(hist.meta),
                           series={k: np.asarray(v) for k, v in hist.series.items() if k not in SERIES_ALIASES},
                           epochs={k: np.asarray(v, dtype=np.float64) for k, v in hist.epochs.items()})
            hd = json.dumps(snap.to_dict())
        return {
            "epoch": self.epoch, "step": self.step,
            "model": unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "shuffle_rng": self._generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": hd,
            "fit_config": json.dumps(to_jsonable(self._fit_config)),
            "callbacks": [c.state_dict() for c in callbacks],
        }

    def _apply_checkpoint(self, state: dict, callbacks: Sequence[Callback] = (), stacklevel: int = 3,
                          argument: str = "resume_from") -> None:
        """Load ``state`` whole or not at all: on any failure (a model with other layers, an
        optimizer of another kind) everything is put back as it was and ValueError says why."""
        # the optimizer state is checked against its parameters before anything loads, for any
        # optimizer: torch's fused kernels trust the sizes of a crafted checkpoint's state
        check_loaded_state(type(self.optimizer).__name__, state["optimizer"], self.optimizer.param_groups)
        before = copy.deepcopy(self._state(callbacks))
        try:
            self._load_state(state, callbacks, stacklevel + 1)
        except Exception as e:
            self._load_state(before, callbacks, stacklevel + 1)
            text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
            raise ValueError(f"{argument}: the checkpoint does not fit this trainer ({type(e).__name__}: "
                             f"{' '.join(text.split())[:300]}); nothing was loaded") from None

    def _load_state(self, state: dict, callbacks: Sequence[Callback], stacklevel: int) -> None:
        check_optimizer_kind(self.optimizer.state_dict(), state["optimizer"])
        unwrap(self.model).load_state_dict(state["model"])
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
            warnings.warn(f"the checkpoint holds the state of {len(saved)} callbacks but {len(stateful)} were "
                          f"given; their state is not restored, so the resumed run may differ", RuntimeWarning,
                          stacklevel=stacklevel)

    def load_checkpoint(self, path: str | Path) -> "Trainer":
        """Restore model, optimizer, schedule, RNG states, epoch and history from ``path``."""
        self._apply_checkpoint(read_checkpoint(path, "path"), argument="path")
        return self
