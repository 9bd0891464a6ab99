"""Comparisons of optimizers on one training problem over seeds: :func:`compare_training`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import problems as P
from ..engine import parse_seeds
from ..record import History, monitor_mode
from .tools import copy_state
from .trainer import Trainer

__all__ = ["compare_training", "TrainingComparison"]


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
        self.mode = monitor_mode(monitor, "auto")
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
        from ..viz.training import training_figures

        return training_figures({label: self.mean_history(label) for label in self.histories}, folder,
                                monitor=self.monitor, seeds=len(self.seeds))

    def write_html(self, path: str | Path, title: str | None = None) -> Path:
        """The page: settings, the table and the curves (through :func:`optimlab.report.write_html`)."""
        from ..report import Figure, Heading, Table, Text, write_html

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
    seed_list = parse_seeds(seeds)
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
        init_state = copy_state(init)
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
