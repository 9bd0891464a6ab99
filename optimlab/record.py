"""The one record type of optimlab: a :class:`Trace`.

Every run produces one, whether an optimizer walks a 2-D test function
(``optimlab.run``), trains a model (``Trainer.fit`` returns a ``History``, a
subclass), or is one configuration of a sweep or a benchmark trial. Plots and
reports read traces and never re-run anything.

A trace holds

* ``series``: per-step arrays, first axis the step. Conventions for the
  function lab: ``params`` (steps + 1, d) with the start first, ``values`` and
  ``grad_norms`` (steps + 1,), ``times`` (steps + 1,) seconds since the start,
  ``lrs`` (steps,) the learning rate used by each update.
* ``epochs``: per-epoch arrays (training), e.g. ``loss``, ``val_accuracy``.
* ``config``: plain JSON data that says what ran (optimizer name and
  hyperparameters, function or problem, start point, seed, ...).
* ``stop_reason`` and ``steps`` (number of updates done).

Traces save to a single ``.npz`` file (arrays plus a JSON header) and to JSON
(for the web), and load back exactly, as the subclass that saved them (``kind`` in
the header; :class:`History` lives here, so it comes back a History in any process).

Every result is made of traces, and that is what is saved: a sweep's
``SweepResult`` is its traces plus its grid (``sweep.json``); a benchmark's store
keeps each trial's trace; a ``TrainingComparison`` is its histories plus
``comparison.json``. Every page of :mod:`optimlab.report` is rebuilt from those files.
"""

from __future__ import annotations

import copy
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ._json import read_json_object, to_jsonable

__all__ = ["Trace", "History", "to_jsonable", "html_card", "html_table", "svg_curves", "EVAL_SERIES", "RECORDS",
           "evaluations"]

RECORDS = ("all", "values", "final")
"""What a run keeps of each step (``run_batch(record=...)``, ``sweep(record=...)``): every
series; only the values (and the start and last point); or nothing per step (the start and
last point, the final and the best value)."""

EVAL_SERIES = ("evals_f", "evals_grad", "evals_hess")
"""The trace series of a function-lab run of a closure method (L-BFGS, NAG, Newton, BFGS,
CG, Levenberg–Marquardt): how many values, gradients and Hessians its steps asked for
before each recorded point (the runner's own recording evaluation not counted). A method
without a closure takes one value and one gradient per step: its count is the step number."""


def evaluations(trace: "Trace", kind: str = "grad") -> np.ndarray:
    """The cumulative evaluations (``kind``: ``"f"``, ``"grad"`` or ``"hess"``) at each point of
    a function-lab trace: its ``evals_<kind>`` series (closure methods), else one value and
    one gradient per step (the step number; Hessians: none)."""
    if kind not in ("f", "grad", "hess"):
        raise ValueError(f"kind must be one of 'f', 'grad', 'hess', got {kind!r}")
    key = f"evals_{kind}"
    if key in trace.series:
        return np.asarray(trace.series[key])
    n = len(trace.series["values"])
    return np.zeros(n, dtype=np.int64) if kind == "hess" else np.arange(n)



@dataclass
class Trace:
    """Record of one run. See the module docstring for the conventions."""

    label: str = ""
    config: dict = field(default_factory=dict)
    series: dict = field(default_factory=dict)
    epochs: dict = field(default_factory=dict)
    stop_reason: str = ""
    steps: int = 0
    meta: dict = field(default_factory=dict)

    kind = "trace"

    # -- the function lab's names -------------------------------------------------
    def _get(self, key: str) -> np.ndarray:
        if key not in self.series:
            raise KeyError(f"this {self.kind} has no series {key!r}; it has {sorted(self.series)}")
        return self.series[key]

    @property
    def params(self) -> np.ndarray:
        return self._get("params")

    @property
    def values(self) -> np.ndarray:
        return self._get("values")

    @property
    def grad_norms(self) -> np.ndarray:
        return self._get("grad_norms")

    @property
    def lrs(self) -> np.ndarray:
        return self._get("lrs")

    @property
    def times(self) -> np.ndarray:
        return self._get("times")

    @property
    def final_value(self) -> float:
        v = self.values
        return float(v[-1]) if len(v) else float("nan")

    # -- persistence ------------------------------------------------------------------
    def _header(self) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "config": to_jsonable(self.config),
            "stop_reason": self.stop_reason,
            "steps": int(self.steps),
            "meta": to_jsonable(self.meta),
        }

    def save(self, path: str | Path) -> Path:
        """Save to ``path``: ``.json`` writes JSON, anything else a ``.npz`` archive."""
        path = Path(path)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict()))
            return path
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        arrays = {f"series/{k}": np.asarray(v) for k, v in self.series.items()}
        arrays.update({f"epochs/{k}": np.asarray(v) for k, v in self.epochs.items()})
        arrays["header"] = np.array(json.dumps(self._header()))
        np.savez_compressed(path, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Trace":
        """Load a trace saved by :meth:`save` (``.npz`` or ``.json``)."""
        path = Path(path)
        if path.suffix == ".json":
            return cls.from_dict(read_json_object(path, "trace (.json from Trace.to_dict)"))
        if not path.is_file():
            raise ValueError(f"trace file {str(path)!r} does not exist")
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:  # not NumPy data, or pickled data
            raise ValueError(f"{str(path)!r} is not an optimlab trace (.npz from Trace.save): {e}") from None
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError(f"{str(path)!r} is not an optimlab trace: it holds one NumPy array (.npy), not the "
                             f".npz archive Trace.save writes")
        size = sum(info.file_size for info in z.zip.infolist())  # what the arrays unpack to (zip reads no more)
        if size > MAX_TRACE_BYTES:
            z.close()
            raise ValueError(f"{str(path)!r} would unpack to {size:,} bytes, more than MAX_TRACE_BYTES = "
                             f"{MAX_TRACE_BYTES:,} (optimlab.record.MAX_TRACE_BYTES); not loaded")
        try:
            with z:
                header = json.loads(str(z["header"]))
                series = {k[len("series/"):]: z[k] for k in z.files if k.startswith("series/")}
                epochs = {k[len("epochs/"):]: z[k] for k in z.files if k.startswith("epochs/")}
        except (OSError, ValueError, KeyError, EOFError) as e:  # a damaged archive, pickled data, no header
            raise ValueError(f"{str(path)!r} is not an optimlab trace (.npz from Trace.save): {e}") from None
        if not isinstance(header, dict):
            raise ValueError(f"{str(path)!r} is not an optimlab trace: its header is not a JSON object")
        return cls._build(header, series, epochs)

    def to_dict(self) -> dict:
        """Plain JSON data (arrays become nested lists; NaN/inf become strings)."""
        d = self._header()
        d["series"] = {k: to_jsonable(np.asarray(v)) for k, v in self.series.items()}
        d["epochs"] = {k: to_jsonable(np.asarray(v)) for k, v in self.epochs.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Trace":
        if not isinstance(d, dict):
            raise ValueError(f"a trace is a dict (from Trace.to_dict), got a {type(d).__name__}")
        def arr(v):
            a = np.asarray(v, dtype=object)
            try:
                return np.asarray(a.tolist(), dtype=float) if a.dtype == object else np.asarray(v)
            except (TypeError, ValueError):
                return np.asarray(v)

        series = {k: arr(v) for k, v in d.get("series", {}).items()}
        epochs = {k: arr(v) for k, v in d.get("epochs", {}).items()}
        return cls._build(d, series, epochs)

    @classmethod
    def _build(cls, header: dict, series: dict, epochs: dict) -> "Trace":
        target = _KINDS.get(header.get("kind", "trace"), cls)
        if not issubclass(target, cls):
            target = cls
        return target(
            label=header.get("label", ""),
            config=header.get("config", {}),
            series=series,
            epochs=epochs,
            stop_reason=header.get("stop_reason", ""),
            steps=int(header.get("steps", 0)),
            meta=header.get("meta", {}),
        )

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        _KINDS[cls.kind] = cls

    # -- how it shows itself --------------------------------------------------------
    def __len__(self) -> int:
        """Entries of the per-step record: ``steps + 1`` points for the function lab (the
        start first), one per iteration for a :class:`History`."""
        key = "values" if "values" in self.series else next(iter(self.series), None)
        return 0 if key is None else len(self.series[key])

    def __bool__(self) -> bool:  # a trace of no steps is still a trace, not False
        return True

    def summary_rows(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs that describe the run: what ran, how it ended, its numbers."""
        c = self.config
        rows: list[tuple[str, Any]] = [("label", self.label), ("optimizer", _options_text(c))]
        where = c.get("function") or c.get("problem")
        if where:
            rows.append(("function" if "function" in c else "problem",
                         where.get("name", where) if isinstance(where, dict) else where))
        if "start" in c:
            rows.append(("start", ", ".join(format(float(v), ".4g") for v in c["start"])))
        rows += [("steps", self.steps), ("stop reason", self.stop_reason)]
        if "values" in self.series and len(self.values):
            v = np.asarray(self.values, dtype=float)
            rows += [("final f", v[-1]), ("best f", np.min(v[np.isfinite(v)]) if np.isfinite(v).any() else np.nan)]
        if "grad_norms" in self.series and len(self.grad_norms):
            rows.append(("final ‖∇f‖", float(self.grad_norms[-1])))
        return [(k, v) for k, v in rows if v not in (None, "")]

    def _repr_html_(self) -> str:
        """Jupyter's view: the :meth:`summary_rows` table and a small plot of the values."""
        curve = {"f": self.series["values"]} if "values" in self.series else {}
        return html_card(f"{type(self).__name__} {self.label}", self.summary_rows(), svg_curves(curve, "step"))

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in self.series.items())
        return (f"{type(self).__name__}(label={self.label!r}, steps={self.steps}, "
                f"stop_reason={self.stop_reason!r}, series=[{keys}])")


_KINDS: dict[str, type] = {"trace": Trace}

MAX_TRACE_BYTES = 2 ** 30
"""The most a trace file may unpack to (a 2 MB zip bomb unpacked to 2.5 GB in 31 s)."""


# ------------------------------------------------------------------ History (training)
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
        alias_series(self.series)

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
        c.series = {k: v for k, v in self.series.items()
                    if not (k in SERIES_ALIASES and SERIES_ALIASES[k] in self.series)}
        return c

    def to_dict(self) -> dict:
        return Trace.to_dict(self._stored())

    def save(self, path: str | Path) -> Path:
        return Trace.save(self._stored(), path)

    def summary_rows(self) -> list[tuple[str, Any]]:
        c = self.config
        rows: list[tuple[str, Any]] = [("label", self.label), ("optimizer", _options_text(c)),
                                       ("problem", c.get("problem")), ("epochs", self.n_epochs),
                                       ("iterations", self.steps), ("stop reason", self.stop_reason)]
        for k, a in self.epochs.items():
            if k not in ("lr", "time") and len(a):
                rows.append((f"final {k}", float(np.asarray(a)[-1])))
        return [(k, v) for k, v in rows if v not in (None, "")]

    def _repr_html_(self) -> str:
        curves = {k: self.epochs[k] for k in ("loss", "val_loss") if k in self.epochs}
        return html_card(f"History {self.label}", self.summary_rows(), svg_curves(curves, "epoch"))

    def best(self, monitor: str = "val_loss", mode: str = "auto") -> tuple[int, float]:
        """``(epoch index, value)`` of the best epoch for ``monitor`` (``mode`` min/max/auto)."""
        a = self._epoch_series(monitor)
        sign = -1.0 if monitor_mode(monitor, mode) == "max" else 1.0
        finite = np.where(np.isfinite(a), sign * a, np.inf)
        if not len(a) or not np.isfinite(finite).any():
            return -1, float("nan")
        i = int(np.argmin(finite))
        return i, float(a[i])

    def epochs_to(self, monitor: str, target: float, mode: str = "auto") -> int | None:
        """Number of epochs until ``monitor`` first reaches ``target`` (None if never)."""
        a = self._epoch_series(monitor)
        hit = a >= target if monitor_mode(monitor, mode) == "max" else a <= target
        idx = np.flatnonzero(hit & np.isfinite(a))
        return int(idx[0]) + 1 if len(idx) else None

    def _epoch_series(self, key: str) -> np.ndarray:
        if key not in self.epochs:
            raise KeyError(f"history has no per-epoch {key!r}; it has {sorted(self.epochs)}")
        return np.asarray(self.epochs[key], dtype=float)


SERIES_ALIASES = {"values": "loss", "lrs": "lr", "times": "time"}


def alias_series(series: dict) -> None:
    """Expose the per-iteration series under the function lab's names too (same arrays)."""
    for fl, tl in SERIES_ALIASES.items():
        if tl in series:
            series[fl] = series[tl]


def monitor_mode(monitor: str, mode: str) -> str:
    """``"min"`` or ``"max"``: ``mode`` itself, or for ``"auto"`` ``"max"`` on accuracies (acc, auc, r2)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(s in monitor for s in ("acc", "auc", "r2")) else "min"



# ------------------------------------------------------------------ Jupyter views
def _options_text(config: Mapping) -> str:
    name = config.get("optimizer", "")
    opts = config.get("options") or {}
    if not isinstance(opts, Mapping) or not opts:
        return str(name)
    return f"{name}(" + ", ".join(f"{k}={v}" for k, v in opts.items()) + ")"


def _cell(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return format(float(v), ".6g")
    return str(v)


def html_table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """A small HTML table; every cell is escaped text (numbers with 6 significant digits)."""
    head = "" if header is None else "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def html_card(title: str, rows: Sequence[tuple[str, Any]], svg: str = "", extra: str = "") -> str:
    """A record's view in Jupyter: a title, a name/value table, a plot (inline SVG) and ``extra`` HTML."""
    table = "<table>" + "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                                f"<td>{html.escape(_cell(v))}</td></tr>" for k, v in rows) + "</table>"
    return (f"<div class='optimlab-record'><b>{html.escape(title)}</b>"
            f"<div style='display:flex;gap:1em;align-items:flex-start'>{table}{svg}</div>{extra}</div>")


_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7")  # Okabe-Ito: told apart by colour-blind readers


def svg_curves(curves: Mapping[str, Sequence[float]], xlabel: str, width: int = 320, height: int = 140) -> str:
    """Curves as a small inline SVG (at most 300 points each): y on a log scale when every
    finite value is positive and they span more than two decades; ``""`` with fewer than
    two finite values. Names are escaped text."""
    data = {str(k): np.asarray(v, dtype=float).reshape(-1) for k, v in curves.items()}
    finite = np.concatenate([a[np.isfinite(a)] for a in data.values()]) if data else np.zeros(0)
    if finite.size < 2:
        return ""
    log = bool(finite.min() > 0 and finite.max() > 100 * finite.min())
    lo, hi = (np.log10(finite.min()), np.log10(finite.max())) if log else (finite.min(), finite.max())
    hi = hi if hi > lo else lo + 1.0
    n = max(len(a) for a in data.values())
    left, right, top, bottom = 52, width - 8, 8, height - 22
    parts = []
    for i, (name, a) in enumerate(data.items()):
        idx = np.unique(np.linspace(0, len(a) - 1, min(len(a), 300)).round().astype(int))
        idx = idx[np.isfinite(a[idx]) & ((a[idx] > 0) if log else True)]
        y = np.log10(a[idx]) if log else a[idx]
        xs = left + (right - left) * idx / max(n - 1, 1)
        ys = bottom - (bottom - top) * (y - lo) / (hi - lo)
        pts = " ".join(f"{x:.1f},{v:.1f}" for x, v in zip(xs, ys))
        colour = _COLOURS[i % len(_COLOURS)]
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{pts}'/>")
        parts.append(f"<text x='{right}' y='{top + 12 + 12 * i}' text-anchor='end' fill='{colour}'>"
                     f"{html.escape(name)}</text>")
    fmt = (lambda e: f"1e{e:.3g}") if log else (lambda v: f"{v:.3g}")
    labels = (f"<text x='{left - 4}' y='{top + 8}' text-anchor='end'>{html.escape(fmt(hi))}</text>"
              f"<text x='{left - 4}' y='{bottom}' text-anchor='end'>{html.escape(fmt(lo))}</text>"
              f"<text x='{(left + right) / 2:.0f}' y='{height - 6}' text-anchor='middle'>"
              f"{html.escape(xlabel)} (0–{n - 1})</text>")
    frame = f"<rect x='{left}' y='{top}' width='{right - left}' height='{bottom - top}' fill='none' stroke='#999'/>"
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-size='10' "
            f"font-family='sans-serif'>{frame}{''.join(parts)}{labels}</svg>")
