"""Comparisons of optimizers on one training problem over seeds: :func:`compare_training`."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import problems as P
from .._json import read_json_object, require_keys
from .._spec import run_labels, unique_slugs
from ..engine import parse_seeds
from ..record import History, monitor_mode, to_jsonable
from ..runner.resolve import schedule_parts
from .tools import copy_state
from .trainer import Trainer

__all__ = ["compare_training", "TrainingComparison"]

MANIFEST = "comparison.json"


def _mean_std(xs: Sequence[float]) -> tuple[float, float]:
    a = np.asarray([x for x in xs if x is not None and np.isfinite(x)], dtype=float)
    if not len(a):
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


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

    After Ctrl-C (:attr:`interrupted`), ``histories[label]`` holds the finished runs only
    (seeds ``seeds[:len(histories[label])]``) and ``unfinished[label]`` maps each other
    seed to ``"interrupted"`` (the run that was training) or ``"not started"``; the
    summary's means cover the finished runs alone.
    """

    def __init__(self, problem: str, histories: dict[str, list[History]], seeds: list[int], monitor: str,
                 target: float | None, settings: dict, unfinished: Mapping[str, Mapping[int, str]] | None = None):
        self.problem, self.histories, self.seeds, self.monitor = problem, histories, seeds, monitor
        self.settings = settings
        self.unfinished = {str(k): {int(s): str(v) for s, v in d.items()} for k, d in (unfinished or {}).items() if d}
        self.mode = monitor_mode(monitor, "auto")
        if target is None:
            bests = [_mean_std([h.best(monitor)[1] for h in hs])[0] for hs in histories.values()]
            bests = [b for b in bests if np.isfinite(b)]
            target = (min(bests) if self.mode == "max" else max(bests)) if bests else None
        self.target = target

    @property
    def interrupted(self) -> bool:
        """True when some runs did not finish (Ctrl-C): see :attr:`unfinished`."""
        return bool(self.unfinished)

    @property
    def n_finished(self) -> int:
        return sum(len(hs) for hs in self.histories.values())

    def differs_from(self, problem: str, labels: Sequence[str], seeds: Sequence[int], epochs: int,
                     batch_size: int, model: str | None = None, loss: Any = None, schedule: Any = None,
                     schedule_per: str | None = None) -> str:
        """``""`` when this comparison has these settings (so it can resume a call with them),
        else the first difference as text (``"the saved comparison has epochs=3, this one epochs=5"``).
        ``model`` (the model's class name) and ``loss`` are compared when given; ``schedule`` (as
        :func:`schedule_text` writes it) and ``schedule_per`` when given and saved (comparisons saved
        before they were recorded resume as before)."""
        ours = {"problem": problem, "labels": list(labels), "seeds": list(seeds), "epochs": epochs,
                "batch_size": batch_size, "model": model, "loss": loss, "schedule": schedule,
                "schedule_per": schedule_per}
        theirs = {"problem": self.problem, "labels": list(self.histories), "seeds": list(self.seeds),
                  **{k: self.settings.get(k) for k in ("epochs", "batch_size", "model", "loss", "schedule",
                                                      "schedule_per")}}
        for k, v in ours.items():
            if k in ("schedule", "schedule_per") and (k not in self.settings or v == _UNKNOWN):
                continue
            if v is not None and theirs[k] != v:
                return f"the saved comparison has {k}={theirs[k]!r}, this one {k}={v!r}"
        return ""

    def summary(self) -> list[dict]:
        """One dict per optimizer: means and standard deviations over its finished seeds;
        ``unfinished``: ``{seed: "interrupted" | "not started"}`` of the others."""
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
                "unfinished": dict(self.unfinished.get(label, {})),
            })
        return rows

    def mean_history(self, label: str) -> History:
        """A History whose series are the means over seeds (shorter runs padded with NaN)."""
        hs = self.histories[label]
        if not hs:
            raise ValueError(f"{label!r} has no finished run (the comparison was interrupted): no mean to take")
        epochs = {k: _padded_mean([np.asarray(h.epochs[k], dtype=float) for h in hs if k in h.epochs])
                  for k in hs[0].epochs}
        series = {"loss": _padded_mean([np.asarray(h.series["loss"], dtype=float) for h in hs])}
        return History(label=label, config=dict(hs[0].config), epochs=epochs, series=series,
                       meta={"iterations_per_epoch": hs[0].iterations_per_epoch, "seeds": list(self.seeds)})

    # -- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Everything but the histories, as JSON data (the histories are saved as files)."""
        return to_jsonable({"kind": "training-comparison", "problem": self.problem, "seeds": self.seeds,
                            "monitor": self.monitor, "target": self.target, "settings": self.settings,
                            "labels": list(self.histories),
                            "unfinished": {k: {str(s): v for s, v in d.items()} for k, d in self.unfinished.items()}})

    def save(self, folder: str | Path) -> list[Path]:
        """Save every History as ``folder/<label>-seed<seed>.npz`` (the label as a file name:
        lower case, ``_`` for other characters, made distinct) and the comparison's own data
        (problem, seeds, monitor, target, settings, which file is which run, which runs did
        not finish) as ``folder/comparison.json``; :meth:`load` reads them back. Returns the
        History files."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out, files = [], {}
        for (label, hs), stem in zip(self.histories.items(), unique_slugs(list(self.histories))):
            files[label] = []
            for seed, h in zip(self.seeds, hs):
                out.append(h.save(folder / f"{stem}-seed{seed}.npz"))
                files[label].append(out[-1].name)
        (folder / MANIFEST).write_text(json.dumps({**self.to_dict(), "files": files}))
        return out

    @classmethod
    def load(cls, folder: str | Path) -> "TrainingComparison":
        """The comparison saved by :meth:`save` in ``folder``, with the same table and curves."""
        folder = Path(folder)
        manifest = folder / MANIFEST
        if not manifest.is_file():
            raise ValueError(f"{str(folder)!r} holds no {MANIFEST} (saved by TrainingComparison.save); a folder "
                             f"saved by an older optimlab has only the histories: read them with Trace.load")
        d = read_json_object(manifest, "training comparison")
        if d.get("kind") != "training-comparison":
            raise ValueError(f"{str(manifest)!r} is not a training comparison (its 'kind' is {d.get('kind')!r})")
        require_keys(d, ("problem", "labels", "files", "seeds", "monitor", "target", "settings"), repr(str(manifest)))
        histories = {label: [History.load(folder / name) for name in d["files"][label]] for label in d["labels"]}
        target = d["target"]
        return cls(d["problem"], histories, list(d["seeds"]), d["monitor"],
                   None if target is None else float(target), d["settings"], d.get("unfinished") or {})


def compare_training(problem: Any, optimizers: Mapping[str, Any] | Sequence[Any], *, epochs: int = 10,
                     seeds: Sequence[int] | int = (0,), batch_size: int = 32, target: float | None = None,
                     monitor: str | None = None, callbacks: Callable[[], list] | None = None,
                     schedule: Any = None, schedule_per: str = "epoch", verbose: int = 0,
                     on_run: Callable | None = None,
                     resume: TrainingComparison | None = None, threads: Any = None,
                     **problem_options: Any) -> TrainingComparison:
    """Train one problem with several optimizers over several seeds; same start for all.

    Args:
        problem: a problem name (``"digits-mlp"``; rebuilt for each seed: split and
            initial weights follow the seed) or a :class:`optimlab.problems.Problem`
            (its split is kept; each seed draws new initial weights when it can).
        optimizers: ``{label: optimizer}`` (any form :class:`Trainer` takes) or a list
            of optimizers labelled by their specs (a spec given twice runs twice:
            ``adam``, ``adam #2``).
        seeds: a list of seeds, or an int k for seeds ``0..k-1``. Each seed fixes the
            initial weights and the shuffling; every optimizer starts from the same
            weights for the same seed.
        monitor: the per-epoch quantity that ranks runs; by default the problem's
            (``val_accuracy`` or ``val_loss``), or its training counterpart
            (``accuracy``, ``loss``) when the problem has no validation split
            (``problems.get(..., val=0)``), in which case no validation pass is run.
        target: level of ``monitor`` for the "epochs to target" column.
        callbacks: a factory returning fresh callbacks for each run (e.g. early stopping).
        schedule, schedule_per: each run's learning-rate schedule and when it steps (``"epoch"``
            or ``"step"``), as :class:`Trainer` takes them.
        on_run: called as ``on_run(label, seed, history)`` after each run (progress), also
            for each run taken from ``resume``.
        resume: an interrupted comparison of the same problem, labels, seeds, epochs and
            batch size (e.g. ``TrainingComparison.load(folder)``): its finished runs are
            kept, the others trained (each run depends only on its seed, so the result
            is the one an uninterrupted call gives).
        threads: torch's intra-op threads of each fit (see :meth:`Trainer.fit`).

    Ctrl-C (KeyboardInterrupt) stops the whole comparison, not only the run in progress:
    the result keeps the finished runs and marks the others (:attr:`TrainingComparison.unfinished`).

    Example:
        >>> from optimlab import report
        >>> cmp = compare_training("digits-mlp", {"SGD": "sgd:lr=0.1", "Adam": "adam"}, epochs=5, seeds=2)
        >>> report.training_page(cmp, "digits").index.name   # index.html, curves, histories/
        'index.html'
    """
    seed_list = parse_seeds(seeds)
    if seed_list is None:
        raise ValueError("seeds must be a count >= 1 or a non-empty list of integers, got None")
    seeds = seed_list
    if not isinstance(optimizers, Mapping):
        optimizers = dict(zip(run_labels([str(o) for o in optimizers]), optimizers))
    if not optimizers:
        raise ValueError("optimizers is empty: give at least one, e.g. {'Adam': 'adam'}")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float))
                               or not math.isfinite(target)):
        raise ValueError(f"target must be a finite number (a level of the monitored metric) or None, got {target!r}")
    base = P.get(problem, seed=seeds[0], **problem_options) if isinstance(problem, str) else problem
    if not isinstance(base, P.Problem):
        raise TypeError(f"problem must be a name ({', '.join(P.names())}) or a Problem, got {type(problem).__name__}")
    has_val = len(base.val) > 0
    if monitor is None:  # without validation data, rank runs by the training quantity
        monitor = base.monitor if has_val else base.monitor.removeprefix("val_")
    elif monitor.startswith("val_") and not has_val:
        raise ValueError(f"monitor {monitor!r} needs validation data, but problem {base.name!r} has none; "
                         f"use {monitor.removeprefix('val_')!r} or a problem with a validation split")
    done = _resumable(resume, base, [str(k) for k in optimizers], seeds, epochs, batch_size, schedule, schedule_per)
    run_options = {"schedule": schedule, "schedule_per": schedule_per, "callbacks": callbacks,
                   "fit": {"epochs": epochs, "batch_size": batch_size, "verbose": verbose, "threads": threads}}
    histories, unfinished, ipe = _train_all(problem, base, {str(k): v for k, v in optimizers.items()}, seeds, done,
                                            run_options, on_run, problem_options)
    split = base.info.get("split", {})
    settings = {"epochs": epochs, "batch_size": batch_size, "schedule": schedule_text(schedule),
                "schedule_per": schedule_per,
                "iterations_per_epoch": ipe or _iterations_per_epoch(base, batch_size),
                "task": base.task, "loss": base.loss, "model": type(base.model).__name__,
                "source": base.info.get("source", ""),
                "split": f"{split.get('train', len(base.train))}/{split.get('val', len(base.val))}/"
                         f"{split.get('test', len(base.test))}"}
    return TrainingComparison(base.name, histories, seeds, monitor, target, settings, unfinished)


def _train_all(problem: Any, base: P.Problem, optimizers: dict[str, Any], seeds: list[int],
               done: dict[str, list[History]], run_options: dict, on_run: Callable | None,
               problem_options: dict) -> tuple[dict[str, list[History]], dict[str, dict[int, str]], int | None]:
    """Every (seed, optimizer) run, seeds outermost, reusing the runs in ``done``; on Ctrl-C
    it stops and returns ``(histories, unfinished, iterations per epoch)``."""
    histories: dict[str, list[History]] = {label: [] for label in optimizers}
    ipe, current = None, None
    try:
        for i, seed in enumerate(seeds):
            if all(len(done.get(label, ())) > i for label in optimizers):  # nothing to train for this seed
                for label in optimizers:
                    histories[label].append(done[label][i])
                    if on_run is not None:
                        on_run(label, seed, done[label][i])
                continue
            prob = P.get(problem, seed=seed, **problem_options) if isinstance(problem, str) else base
            init = (prob.model if isinstance(problem, str) else
                    (prob.new_model(seed) if prob.model_fn is not None else prob.model))
            init_state = copy_state(init)
            for label, opt in optimizers.items():
                if len(done.get(label, ())) > i:
                    h = done[label][i]
                else:
                    current = (seed, label)
                    h = _one_run(prob, init, init_state, opt, label, seed, run_options)
                    if h.stop_reason == "interrupted":  # fit caught Ctrl-C: the whole comparison stops
                        raise KeyboardInterrupt
                    current = None
                ipe = h.iterations_per_epoch
                histories[label].append(h)
                if on_run is not None:
                    on_run(label, seed, h)
    except KeyboardInterrupt:
        pass
    unfinished: dict[str, dict[int, str]] = {}
    for label, hs in histories.items():
        for seed in seeds[len(hs):]:
            unfinished.setdefault(label, {})[seed] = "interrupted" if (seed, label) == current else "not started"
    return histories, unfinished, ipe


def _iterations_per_epoch(problem: P.Problem, batch_size: int) -> int:
    """Iterations per epoch of ``problem``'s training set in batches of ``batch_size``."""
    return -(-len(problem.train) // max(int(batch_size), 1))


def _one_run(prob: P.Problem, init: Any, init_state: dict, opt: Any, label: str, seed: int,
             run_options: dict) -> History:
    """One optimizer on one seed, from the seed's initial weights."""
    model = copy.deepcopy(init)
    model.load_state_dict(init_state)
    trainer = Trainer(model, loss=prob.loss, optimizer=opt, metrics=list(prob.metrics),
                      schedule=run_options["schedule"], schedule_per=run_options["schedule_per"])
    callbacks = run_options["callbacks"]
    h = trainer.fit(prob.train, validation_data=prob.val if len(prob.val) else None, seed=seed,
                    callbacks=callbacks() if callbacks else (), label=label, **run_options["fit"])
    h.config["problem"] = prob.name
    h.meta["seed"] = seed
    return h


_UNKNOWN = "a factory"  # what schedule_text says of a schedule it cannot describe (never compared)


def schedule_text(schedule: Any) -> str:
    """A schedule as comparable text: ``"none"``, ``"StepLR {'gamma': 0.5, 'step_size': 3}"`` for
    ``(cls, kwargs)`` or a class, ``"a factory"`` for a function (not compared on resume)."""
    if schedule is None:
        return "none"
    parts = schedule_parts(schedule)
    if parts is None:
        return _UNKNOWN
    return f"{parts[0].__name__} {dict(sorted(parts[1].items()))!r}"


def _resumable(resume: TrainingComparison | None, problem: P.Problem, labels: list[str], seeds: list[int],
               epochs: int, batch_size: int, schedule: Any, schedule_per: str) -> dict[str, list[History]]:
    """The finished runs of ``resume``, after checking that it is this comparison."""
    if resume is None:
        return {}
    if not isinstance(resume, TrainingComparison):
        raise TypeError(f"resume must be a TrainingComparison (TrainingComparison.load(folder)), got "
                        f"{type(resume).__name__}")
    diff = resume.differs_from(problem.name, labels, seeds, epochs, batch_size, type(problem.model).__name__,
                               problem.loss if isinstance(problem.loss, str) else None, schedule_text(schedule),
                               schedule_per)
    if diff:
        raise ValueError(f"resume: {diff}; resume with the same settings")
    return {label: list(hs) for label, hs in resume.histories.items()}
