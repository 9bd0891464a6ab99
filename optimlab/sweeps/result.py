"""The result of a sweep: :class:`SweepResult` (R runs, their configurations and traces) and :class:`Best`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .._json import read_json_object, require_keys
from ..record import RECORDS, Trace, html_card, html_table, svg_curves, to_jsonable
from ..trace_list import curve_ends, objective_curve, records_kept, step_counts, stop_reasons
from .grids import finite_number

__all__ = ["BY", "RECORDS", "Best", "SweepResult", "curve_summary", "kept"]

BY = ("final", "best")  # what a sweep's configurations are ranked and drawn by


def _nan_inf(v: np.ndarray) -> np.ndarray:
    """NaN (no value) ranks like a diverged run: +inf."""
    return np.where(np.isnan(v), np.inf, v)


curve_summary = curve_ends
"""Per run: the ``"final"`` and ``"best"`` value of its curve (:func:`optimlab.trace_list.curve_ends`)."""


def _ends(t: Trace) -> dict:
    """The start and the last point of a run (a copy), when it recorded points."""
    if "params" not in t.series:
        return {}
    p = np.asarray(t.series["params"])
    return {"params": np.array(p[[0, -1]] if len(p) else p)}


def kept(traces: Sequence[Trace], record: str) -> Sequence[Trace]:
    """What a sweep keeps of each run (:data:`RECORDS`): ``"all"`` every series as
    computed; ``"values"`` only the per-step ``values`` (copied, so the chunk's buffers
    are freed), the start and last point, and a training run's ``epochs``; ``"final"``
    only the start and last point (the final and best values go to
    :attr:`SweepResult.summary`, computed before the curves are dropped)."""
    keeps = {"values": {"values", "params"}, "final": {"params"}}.get(record)
    if keeps is None or records_kept(traces) == record:
        return traces  # nothing to drop: the runs kept only this already (run_batch(record=...))
    if all(t.series.keys() <= keeps and not t.epochs for t in traces):
        return traces
    if record == "values":
        return [replace(t, series={"values": np.array(t.series.get("values", [])), **_ends(t)}) for t in traces]
    return [replace(t, series=_ends(t), epochs={}) for t in traces]



@dataclass
class Best:
    """The best configuration of a sweep: its hyperparameters, the median over seeds of
    its final value, the spread (min, max) over seeds, and the indices of its runs."""

    config: dict
    value: float
    spread: tuple[float, float]
    indices: list[int]
    traces: list[Trace] = field(repr=False, default_factory=list)

    @property
    def trace(self) -> Trace:
        """The run of the first seed."""
        return self.traces[0]


@dataclass
class SweepResult:
    """R runs of a sweep: ``configs[i]`` (hyperparameters, plus ``"seed"`` when seeded)
    and ``traces[i]`` belong together. ``configs`` is a sequence: a lazy
    :class:`~optimlab.sweeps.grids.Runs` from :func:`~optimlab.sweeps.sweep`, a list when loaded.

    ``final_values[i]`` is the last value of run i, ``+inf`` for a run that diverged
    (its trace keeps every finite step before, ``stop_reasons[i] == "diverged"``).
    ``best_values[i]`` is the lowest value run i reached. For a training problem the
    value is the validation loss at the end of each epoch (the training loss when the
    problem has no validation set).
    """

    configs: Sequence[dict]
    traces: Sequence[Trace]
    problem: dict = field(default_factory=dict)
    optimizer: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    seeds: list | None = None
    f_min: float = float("nan")
    wall_time: float = float("nan")
    summary: dict | None = None
    """With ``record="final"``: ``{"final": (R,), "best": (R,)}`` per-run curve values
    (:func:`curve_summary`), since the traces keep no curves."""

    def __post_init__(self) -> None:
        if len(self.configs) != len(self.traces):
            raise ValueError(f"configs ({len(self.configs)}) and traces ({len(self.traces)}) differ in length")

    def __len__(self) -> int:
        return len(self.traces)

    # -- per-run numbers ----------------------------------------------------------
    def _summary(self) -> dict[str, np.ndarray]:
        return self.summary if self.summary is not None else curve_summary(self.traces)

    @property
    def stop_reasons(self) -> list[str]:
        return stop_reasons(self.traces)

    @property
    def diverged(self) -> np.ndarray:
        return np.array(self.stop_reasons, dtype=object) == "diverged"

    @property
    def final_values(self) -> np.ndarray:
        out = np.array(self._summary()["final"], dtype=float)
        out[self.diverged] = np.inf
        return out

    @property
    def best_values(self) -> np.ndarray:
        return np.array(self._summary()["best"], dtype=float)

    def steps_to_target(self, target: float) -> np.ndarray:
        """Per run: the first step whose value is ``<= target`` (``inf`` if never).

        For a training problem: the first epoch (counted from 1)."""
        target = finite_number("target", target)
        if self.summary is not None:
            raise ValueError("steps_to_target needs every run's curve; this sweep kept only final values "
                             "(record='final'): sweep with record='values' or 'all'")
        out = np.full(len(self.traces), np.inf)
        for i, t in enumerate(self.traces):
            c = objective_curve(t)
            hit = np.flatnonzero(c <= target)
            if hit.size:
                out[i] = hit[0] + (1 if "objective" in t.epochs else 0)
        return out

    # -- aggregation ------------------------------------------------------------------
    def groups(self) -> dict[str, list[int]]:
        """The runs of each configuration: ``{configuration as JSON: [run indices over its seeds]}``."""
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(self.configs):
            key = json.dumps({k: v for k, v in c.items() if k != "seed"}, sort_keys=True, default=str)
            groups.setdefault(key, []).append(i)
        return groups

    def values(self, by: str = "final") -> np.ndarray:
        """Every run's ``final`` value (:attr:`final_values`) or ``best`` value
        (:attr:`best_values`, ``inf`` for a diverged run)."""
        if by not in BY:
            raise ValueError(f"by must be one of {', '.join(map(repr, BY))}, got {by!r}")
        return self.final_values if by == "final" else np.where(self.diverged, np.inf, self.best_values)

    def best(self, by: str = "final") -> Best:
        """The configuration with the lowest median (over seeds) ``final`` or ``best`` value.

        Diverged runs count as ``+inf``; ties go to the earlier configuration."""
        vals = self.values(by)
        best_key, best_med = None, np.inf
        for key, idx in self.groups().items():
            med = float(np.median(_nan_inf(vals[idx])))
            if best_key is None or med < best_med:
                best_key, best_med = key, med
        idx = self.groups()[best_key]
        cfg = {k: v for k, v in self.configs[idx[0]].items() if k != "seed"}
        v = vals[idx]
        return Best(config=cfg, value=best_med, spread=(float(np.min(v)), float(np.max(v))), indices=idx,
                    traces=[self.traces[i] for i in idx])

    def table(self, target: float | None = None) -> list[dict]:
        """One row per run: its configuration, ``final``, ``best``, ``steps`` (updates
        done), ``stop_reason`` and, with ``target``, ``steps_to_target``."""
        fin, bst = self.final_values, self.best_values
        stt = self.steps_to_target(target) if target is not None else None
        steps, reasons = step_counts(self.traces), self.stop_reasons
        rows = []
        for i, c in enumerate(self.configs):
            row = {**c, "final": float(fin[i]), "best": float(bst[i]), "steps": int(steps[i]),
                   "stop_reason": reasons[i]}
            if stt is not None:
                row["steps_to_target"] = float(stt[i])
            rows.append(row)
        return rows

    def values_grid(self, x: str, y: str | None = None, by: str = "final") -> tuple:
        """Median over seeds (and over any other swept argument's best value) of the
        ``final`` (or ``best``, see :meth:`values`) value on the grid of ``x`` (and ``y``):
        returns ``(xs, ys, Z)`` with ``Z`` of shape (len(ys), len(xs)) (``ys`` is None for
        one argument, ``Z`` then 1-D). Other swept arguments are minimized over. Diverged
        cells are ``inf``."""
        vals = self.values(by)
        for k in (x, y):
            if k is not None and k not in self.grid:
                raise ValueError(f"{k!r} is not a swept argument; swept: {', '.join(self.grid) or 'none'}")
        xs = list(self.grid[x])
        ys = list(self.grid[y]) if y is not None else None
        Z = np.full((len(ys) if ys is not None else 1, len(xs)), np.nan)
        cells: dict[tuple, list[float]] = {}
        for idx in self.groups().values():
            cfg = self.configs[idx[0]]
            med = float(np.median(_nan_inf(vals[idx])))
            cell = (xs.index(cfg[x]), ys.index(cfg[y]) if ys is not None else 0)
            cells.setdefault(cell, []).append(med)
        for (i, j), meds in cells.items():
            Z[j, i] = min(meds)
        return xs, ys, (Z if ys is not None else Z[0])

    # -- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"kind": "sweep", "configs": list(self.configs), "problem": self.problem,
             "optimizer": self.optimizer, "grid": self.grid, "seeds": self.seeds,
             "f_min": self.f_min, "wall_time": self.wall_time,
             "traces": [t.to_dict() for t in self.traces]}
        if self.summary is not None:
            d["summary"] = self.summary
        return to_jsonable(d)

    @classmethod
    def from_dict(cls, d: Mapping) -> "SweepResult":
        if not isinstance(d, Mapping) or d.get("kind") != "sweep":
            raise ValueError("not a sweep result (its 'kind' is not 'sweep')")
        require_keys(d, ("configs", "traces", "problem", "optimizer", "grid"), "the sweep result")
        grid = {k: [tuple(v) if isinstance(v, list) else v for v in vals] for k, vals in d["grid"].items()}
        configs = [{k: tuple(v) if isinstance(v, list) else v for k, v in c.items()} for c in d["configs"]]
        summary = d.get("summary")
        if summary is not None:
            summary = {k: np.array(summary[k], dtype=float) for k in ("final", "best")}
            if any(len(v) != len(configs) for v in summary.values()):
                raise ValueError(f"its summary does not have one final and best value per run ({len(configs)})")
        return cls(configs=configs, traces=[Trace.from_dict(t) for t in d["traces"]], problem=d["problem"],
                   optimizer=d["optimizer"], grid=grid, seeds=d.get("seeds"), f_min=float(d.get("f_min", "nan")),
                   wall_time=float(d.get("wall_time", "nan")), summary=summary)

    def save(self, path: str | Path) -> Path:
        """Write the whole result (every trace) as one JSON file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SweepResult":
        """The result :meth:`save` wrote; a ValueError naming the file when it is not one."""
        d = read_json_object(path, "sweep result (sweep.json from SweepResult.save)")
        try:
            return cls.from_dict(d)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"{str(path)!r} is not a valid sweep result: {' '.join(str(e).split())}") from None

    def _repr_html_(self, top: int = 5) -> str:
        """Jupyter's view: counts, the ``top`` configurations by median final value and
        the curve of the best one."""
        groups = self.groups()
        rows = [("runs", len(self)), ("configurations", len(groups)),
                ("seeds", "none" if not self.seeds else len(self.seeds)),
                ("diverged", int(self.diverged.sum())), ("wall time [s]", self.wall_time)]
        title = f"SweepResult: {self.optimizer.get('name', '?')} on {self.problem.get('name', '?')}"
        if not groups:
            return html_card(title, rows)
        vals = self.final_values
        ranked = sorted((float(np.median(_nan_inf(vals[idx]))), n, idx) for n, idx in enumerate(groups.values()))
        names = list(self.grid)
        best = [[*(self.configs[idx[0]].get(k) for k in names), med, len(idx)] for med, _, idx in ranked[:top]]
        extra = (f"<div>best {len(best)} of {len(groups)} configurations (median over seeds of the final value)"
                 f"</div>" + html_table(best, [*names, "median final", "runs"]))
        trace = self.traces[ranked[0][2][0]]
        per = "epoch" if "objective" in trace.epochs else "step"
        return html_card(title, rows, svg_curves({"best configuration": objective_curve(trace)}, per), extra)

    def __repr__(self) -> str:
        n_div = int(self.diverged.sum())
        return (f"SweepResult({len(self)} runs of {self.optimizer.get('name', '?')} on "
                f"{self.problem.get('name', '?')}, grid {list(self.grid)}, {n_div} diverged)")
