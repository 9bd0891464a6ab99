r"""Hyperparameter sweeps: every configuration of a grid, on several seeds, as ONE batch.

``sweep(problem, optimizer, grid, seeds, steps)`` expands the grid (the Cartesian
product of its value lists) times the seeds into R runs and computes them together
on the *runs dimension*: the parameters are one (R, d) tensor and each swept
hyperparameter one (R, 1) tensor that broadcasts in the optimizer
(:func:`optimlab.runner.run_batch`). Run i of the sweep is the same computation as
that configuration run alone with :func:`optimlab.run` (tested to 1e-12).

>>> import optimlab
>>> res = optimlab.sweep("rosenbrock", "adam", grid={"lr": optimlab.logspace(1e-3, 1, 20)},
...                      start=(-1.5, 2.0), steps=500)
>>> best = res.best()
>>> best.config["lr"], best.value            # doctest: +SKIP

Problems
--------
* A **test function** (an ``optimlab.functions`` object, a registered name, a formula,
  or a callable on tensors (..., d)). What a *seed* means there:

  - on a function with gradient noise (``get(name, noise=σ)`` / ``.with_noise``), seed
    ``s`` is the noise stream: run i with seed s equals ``optimlab.run(f.with_noise(σ,
    seed=s), ...)`` exactly; the start point is the given one;
  - on a noiseless function, seed ``s`` moves the start point to
    ``start + start_spread · ξ``, ``ξ ~ N(0, I)`` drawn from ``torch.Generator().manual_seed(s)``
    (the start each run used is in ``trace.config["start"]``);
  - ``seeds=None`` (default): one run per configuration from the given start (on a
    noisy function, with the function's own noise seed).

* A **training problem** (``optimlab.problems.get(name)``, or any object with
  ``.model``, ``.loss`` and ``.train`` — a dataset of ``(x, y)`` pairs — and
  optionally ``.val``): R copies of the model are stacked
  (:func:`torch.func.stack_module_state`) and trained together through
  :func:`torch.func.functional_call` + :func:`torch.func.vmap`; the optimizer acts on
  the stacked (R, ...) parameters with hyperparameters of shape (R, 1, ...). Seed s
  draws the model copy's initial weights (``problem.new_model(s)``, else
  ``torch.manual_seed(s)`` + every module's ``reset_parameters()``) and shuffles its
  mini-batches (``torch.Generator().manual_seed(s)``); ``steps`` counts mini-batch
  updates.

Grids
-----
``grid`` maps an optimizer argument to its list of values, e.g. ``{"lr":
logspace(1e-4, 1, 50), "momentum": [0, 0.5, 0.9, 0.99]}``. Numeric values go on the runs
dimension; ``"beta1"``/``"beta2"`` set one entry of Adam's ``betas``; values that are
not numbers (``nesterov=[False, True]``, ``amsgrad``) split the sweep into one batched
computation per such combination.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from .record import Trace, to_jsonable

__all__ = ["sweep", "logspace", "linspace", "SweepResult", "Best", "expand_grid"]

BY = ("final", "best")  # what a sweep's configurations are ranked and drawn by


# --------------------------------------------------------------------------- grids
def logspace(lo: float, hi: float, n: int) -> list[float]:
    """``n`` values from ``lo`` to ``hi`` (both included) evenly spaced on a log scale.

    >>> logspace(1e-3, 1, 4)
    [0.001, 0.01, 0.1, 1.0]
    """
    lo_f, hi_f = _number("lo", lo), _number("hi", hi)
    if lo_f <= 0 or hi_f <= 0:
        raise ValueError(f"logspace needs lo > 0 and hi > 0, got lo={lo!r}, hi={hi!r}")
    n = _count("n", n)
    if n == 1:
        return [lo_f]
    vals = np.logspace(math.log10(lo_f), math.log10(hi_f), n)
    vals[0], vals[-1] = lo_f, hi_f
    # 10**k for integer k comes out exact, anything else as numpy computes it
    return [float(v) for v in vals]


def linspace(lo: float, hi: float, n: int) -> list[float]:
    """``n`` values from ``lo`` to ``hi`` (both included), evenly spaced."""
    lo_f, hi_f = _number("lo", lo), _number("hi", hi)
    n = _count("n", n)
    return [lo_f] if n == 1 else [float(v) for v in np.linspace(lo_f, hi_f, n)]


def _number(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def _count(name: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    return int(n)


def expand_grid(grid: Mapping[str, Sequence[Any]] | None) -> list[dict[str, Any]]:
    """The Cartesian product of a grid as a list of dicts (first key varies slowest)."""
    if grid is None:
        return [{}]
    if isinstance(grid, (list, tuple)) and grid and all(isinstance(c, Mapping) for c in grid):
        keys = list(grid[0])
        out = []
        for i, c in enumerate(grid):
            if list(c) != keys:
                raise ValueError(f"grid[{i}] has arguments {list(c)}; every configuration needs {keys}")
            out.append({k: _plain(v, k) for k, v in c.items()})
        return out
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a mapping {{argument: [values]}} or a list of configurations "
                        f"(dicts), got {type(grid).__name__}")
    keys, lists = [], []
    for k, vals in grid.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise ValueError(f"grid keys must be optimizer argument names, got {k!r}")
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Iterable):
            raise ValueError(f"grid[{k!r}] must be a list of values, got {vals!r}")
        vals = list(vals)
        if not vals:
            raise ValueError(f"grid[{k!r}] is empty: give at least one value")
        keys.append(k)
        lists.append([_plain(v, k) for v in vals])
    return [dict(zip(keys, combo)) for combo in itertools.product(*lists)]


def _plain(v: Any, key: str) -> Any:
    if isinstance(v, torch.Tensor):
        v = v.item() if v.numel() == 1 else v.tolist()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (list, tuple)):
        return tuple(_plain(x, key) for x in v)
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"grid[{key!r}] contains {v!r}; values must be finite")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise ValueError(f"grid[{key!r}] holds {v!r}; values must be numbers, booleans, strings or tuples")


def _nan_inf(v: np.ndarray) -> np.ndarray:
    """NaN (no value) ranks like a diverged run: +inf."""
    return np.where(np.isnan(v), np.inf, v)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _seed_list(seeds: Any) -> list[int] | None:
    if seeds is None:
        return None
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a count >= 1 or a list of integers, got {seeds!r}")
        return list(range(int(seeds)))
    try:
        out = [int(s) for s in seeds if not isinstance(s, bool) and float(s) == int(s)]
        if len(out) != len(list(seeds)) or not out:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"seeds must be a count >= 1 or a non-empty list of integers, got {seeds!r}") from None
    return out


# -------------------------------------------------------------------------- result
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
    and ``traces[i]`` belong together.

    ``final_values[i]`` is the last value of run i, ``+inf`` for a run that diverged
    (its trace keeps every finite step before, ``stop_reasons[i] == "diverged"``).
    ``best_values[i]`` is the lowest value run i reached. For a training problem the
    value is the validation loss at the end of each epoch (the training loss when the
    problem has no validation set).
    """

    configs: list[dict]
    traces: list[Trace]
    problem: dict = field(default_factory=dict)
    optimizer: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    seeds: list | None = None
    f_min: float = float("nan")
    wall_time: float = float("nan")

    def __post_init__(self) -> None:
        if len(self.configs) != len(self.traces):
            raise ValueError(f"configs ({len(self.configs)}) and traces ({len(self.traces)}) differ in length")

    def __len__(self) -> int:
        return len(self.traces)

    # -- per-run numbers ----------------------------------------------------------
    @staticmethod
    def _curve(t: Trace) -> np.ndarray:
        """The objective a sweep ranks by: the per-epoch ``objective`` of a training run,
        else the per-step ``values``."""
        if "objective" in t.epochs:
            return np.asarray(t.epochs["objective"], dtype=float)
        return np.asarray(t.series.get("values", []), dtype=float)

    @property
    def stop_reasons(self) -> list[str]:
        return [t.stop_reason for t in self.traces]

    @property
    def diverged(self) -> np.ndarray:
        return np.array([t.stop_reason == "diverged" for t in self.traces], dtype=bool)

    @property
    def final_values(self) -> np.ndarray:
        out = np.array([c[-1] if len(c) else np.nan for c in map(self._curve, self.traces)], dtype=float)
        out[self.diverged] = np.inf
        return out

    @property
    def best_values(self) -> np.ndarray:
        out = []
        for c in map(self._curve, self.traces):
            c = c[np.isfinite(c)]
            out.append(float(c.min()) if c.size else np.nan)
        return np.array(out, dtype=float)

    def steps_to_target(self, target: float) -> np.ndarray:
        """Per run: the first step whose value is ``<= target`` (``inf`` if never).

        For a training problem: the first epoch (counted from 1)."""
        target = _number("target", target)
        out = np.full(len(self.traces), np.inf)
        for i, t in enumerate(self.traces):
            c = self._curve(t)
            hit = np.flatnonzero(c <= target)
            if hit.size:
                out[i] = hit[0] + (1 if "objective" in t.epochs else 0)
        return out

    # -- aggregation ------------------------------------------------------------------
    def _groups(self) -> dict[str, list[int]]:
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
        for key, idx in self._groups().items():
            med = float(np.median(_nan_inf(vals[idx])))
            if best_key is None or med < best_med:
                best_key, best_med = key, med
        idx = self._groups()[best_key]
        cfg = {k: v for k, v in self.configs[idx[0]].items() if k != "seed"}
        v = vals[idx]
        return Best(config=cfg, value=best_med, spread=(float(np.min(v)), float(np.max(v))), indices=idx,
                    traces=[self.traces[i] for i in idx])

    def table(self, target: float | None = None) -> list[dict]:
        """One row per run: its configuration, ``final``, ``best``, ``steps`` (updates
        done), ``stop_reason`` and, with ``target``, ``steps_to_target``."""
        fin, bst = self.final_values, self.best_values
        stt = self.steps_to_target(target) if target is not None else None
        rows = []
        for i, (c, t) in enumerate(zip(self.configs, self.traces)):
            row = {**c, "final": float(fin[i]), "best": float(bst[i]), "steps": int(t.steps),
                   "stop_reason": t.stop_reason}
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
        for key, idx in self._groups().items():
            cfg = self.configs[idx[0]]
            med = float(np.median(_nan_inf(vals[idx])))
            cell = (xs.index(cfg[x]), ys.index(cfg[y]) if ys is not None else 0)
            cells.setdefault(cell, []).append(med)
        for (i, j), meds in cells.items():
            Z[j, i] = min(meds)
        return xs, ys, (Z if ys is not None else Z[0])

    # -- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return to_jsonable({"kind": "sweep", "configs": self.configs, "problem": self.problem,
                            "optimizer": self.optimizer, "grid": self.grid, "seeds": self.seeds,
                            "f_min": self.f_min, "wall_time": self.wall_time,
                            "traces": [t.to_dict() for t in self.traces]})

    @classmethod
    def from_dict(cls, d: Mapping) -> "SweepResult":
        if d.get("kind") != "sweep":
            raise ValueError("not a sweep result (its 'kind' is not 'sweep')")
        grid = {k: [tuple(v) if isinstance(v, list) else v for v in vals] for k, vals in d["grid"].items()}
        configs = [{k: tuple(v) if isinstance(v, list) else v for k, v in c.items()} for c in d["configs"]]
        return cls(configs=configs, traces=[Trace.from_dict(t) for t in d["traces"]], problem=d["problem"],
                   optimizer=d["optimizer"], grid=grid, seeds=d.get("seeds"), f_min=float(d.get("f_min", "nan")),
                   wall_time=float(d.get("wall_time", "nan")))

    def save(self, path: str | Path) -> Path:
        """Write the whole result (every trace) as one JSON file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SweepResult":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __repr__(self) -> str:
        n_div = int(self.diverged.sum())
        return (f"SweepResult({len(self)} runs of {self.optimizer.get('name', '?')} on "
                f"{self.problem.get('name', '?')}, grid {list(self.grid)}, {n_div} diverged)")


# --------------------------------------------------------------------------- sweep
def _is_training_problem(problem: Any) -> bool:
    return all(hasattr(problem, a) for a in ("model", "loss", "train"))


def sweep(problem: Any, optimizer: Any, grid: Mapping[str, Sequence[Any]] | Sequence[Mapping] | None = None, *,
          seeds: int | Sequence[int] | None = None, steps: int = 100, start: Any = None, stop: Any = None,
          schedule: Any = None, start_spread: float = 0.1, batch_size: int | None = None,
          dtype: torch.dtype | None = None, bound: float = 1e12, record_params: bool | None = None,
          progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run every configuration of ``grid`` (× every seed) of ``optimizer`` on ``problem``
    as one batched computation.

    Args:
        problem: a test function (object, name, formula, callable) or a training problem
            (``optimlab.problems.get(name)`` or a name ``"problem:NAME"``); see the module
            docstring for what a seed means on each.
        optimizer: name or spec (``"momentum:nesterov=true"``), ``(name, kwargs)`` or an
            Optimizer class; fixed options; the grid overrides them.
        grid: ``{argument: [values]}``; its product is the set of configurations. Or
            an explicit list of configurations ``[{"lr": 0.1, "momentum": 0.9}, ...]``
            (e.g. from a random search).
        seeds: a count K (seeds 0..K−1) or a list of integer seeds; ``None``: unseeded.
        steps: updates per run (always a limit; ``stop`` rules may end runs earlier).
        start: start point (function problems); default the function's first suggested start.
        start_spread: σ of the seeded start perturbation on a noiseless function.
        batch_size: mini-batch size (training problems; default 32, or the whole set if smaller).
        record_params: keep every step's parameters (function problems). ``None``: only
            when R·(steps+1)·d ≤ 2·10⁷ numbers; otherwise start and end point only.
        progress: called as ``progress(step, steps)`` after every step.

    Returns a :class:`SweepResult`. An argument that does not apply to the problem's kind
    (``start``/``stop``/``schedule`` on a training problem, ``batch_size`` on a function)
    is a ``ValueError``, not silently ignored.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    start_spread = _number("start_spread", start_spread)
    seed_list = _seed_list(seeds)
    configs = expand_grid(grid)
    seen: dict[str, dict] = {}
    for c in configs:  # the values of each argument, in order of first appearance
        for k, v in c.items():
            seen.setdefault(k, {}).setdefault((type(v).__name__, v), v)
    grid_plain = {k: list(vals.values()) for k, vals in seen.items()}
    if isinstance(problem, str) and problem.startswith("problem:"):
        from . import problems as _problems  # the training lab, only when asked for

        problem = _problems.get(problem[len("problem:"):])
    training = _is_training_problem(problem)
    not_here = {"stop": stop, "schedule": schedule, "start": start} if training else {"batch_size": batch_size}
    for arg, v in not_here.items():
        if v is not None:
            kind, other = ("function", "training") if training else ("training", "function")
            raise ValueError(f"{arg} applies to {kind} problems only; {getattr(problem, 'name', problem)!r} "
                             f"is a {other} problem, got {arg}={v!r}")
    t0 = time.perf_counter()
    if training:
        res = _train_sweep(problem, optimizer, configs, seed_list, steps, batch_size=batch_size,
                          dtype=dtype or torch.float32, progress=progress)
    else:
        res = _function_sweep(problem, optimizer, configs, seed_list, steps, start=start, stop=stop,
                              schedule=schedule, start_spread=start_spread, dtype=dtype or torch.float64,
                              bound=bound, record_params=record_params, progress=progress)
    res.grid, res.seeds, res.wall_time = grid_plain, seed_list, time.perf_counter() - t0
    return res


def _with_options(optimizer: Any, extra: Mapping[str, Any]) -> Any:
    """The same optimizer (name, class or factory) with ``extra`` fixed options added."""
    from .optim import registry

    if not extra:
        return optimizer
    if isinstance(optimizer, str):
        name, kwargs = registry.parse_spec(optimizer)
        return name, {**kwargs, **extra}
    if isinstance(optimizer, tuple) and len(optimizer) == 2 and isinstance(optimizer[1], Mapping):
        return optimizer[0], {**optimizer[1], **extra}
    if isinstance(optimizer, type):
        return optimizer, dict(extra)
    raise TypeError(f"a factory optimizer cannot take swept options ({', '.join(extra)}); pass a name, "
                    f"(name, kwargs) or an Optimizer class")


def _split_hyper(cfgs: list[dict], options: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Split swept arguments into numeric per-run values (runs dimension) and
    structural ones (a separate batch per distinct value)."""
    keys = list(cfgs[0]) if cfgs else []
    numeric, structural = [], []
    for k in keys:
        vals = [c[k] for c in cfgs]
        if k in ("beta1", "beta2") or all(_is_num(v) for v in vals) or \
                (k == "betas" and all(isinstance(v, tuple) and len(v) == 2 and all(map(_is_num, v)) for v in vals)):
            numeric.append(k)
        else:
            structural.append(k)
    return numeric, structural


def _hyper_values(rows: list[dict], numeric: list[str], options: Mapping[str, Any]) -> dict[str, list]:
    hyper: dict[str, list] = {}
    betas_needed = any(k in numeric for k in ("beta1", "beta2", "betas"))
    for k in numeric:
        if k in ("beta1", "beta2", "betas"):
            continue
        hyper[k] = [float(r[k]) for r in rows]
    if betas_needed:
        default = options.get("betas", (0.9, 0.999))
        pairs = []
        for r in rows:
            b1, b2 = r.get("betas", default)
            pairs.append((float(r.get("beta1", b1)), float(r.get("beta2", b2))))
        hyper["betas"] = pairs
    return hyper


def _function_sweep(problem: Any, optimizer: Any, configs: list[dict], seed_list: list[int] | None, steps: int, *,
                    start: Any, stop: Any, schedule: Any, start_spread: float, dtype: torch.dtype, bound: float,
                    record_params: bool | None, progress: Callable | None) -> SweepResult:
    from .runner import _no_gc, resolve_function, resolve_optimizer, run_batch

    fn = resolve_function(problem)
    _, opt_name, options = resolve_optimizer(optimizer)
    if start is None:
        starts = getattr(fn, "starts", None)
        if starts is None or len(starts) == 0:
            raise ValueError(f"start is required: {getattr(fn, 'name', 'the function')} suggests no start point")
        start = starts[0]
    x0 = np.asarray(start, dtype=float)
    if x0.ndim != 1 or not np.isfinite(x0).all():
        raise ValueError(f"start must be d finite numbers, got {start!r}")
    d = x0.size
    noise = float(getattr(fn, "noise", 0.0) or 0.0)
    rows: list[dict] = []  # configs × seeds, seed fastest
    for c in configs:
        for s in (seed_list if seed_list is not None else [None]):
            rows.append({**c, **({"seed": s} if s is not None else {})})
    R = len(rows)
    numeric, structural = _split_hyper(configs, options)
    if record_params is None:
        record_params = R * (steps + 1) * d <= 2e7
    # each distinct combination of structural values is one batched computation
    batches: dict[str, list[int]] = {}
    if not structural:
        batches[""] = list(range(R))
    for i, r in enumerate(rows if structural else ()):
        batches.setdefault(json.dumps([r.get(k) for k in structural], default=str), []).append(i)
    traces: list[Trace | None] = [None] * R
    noisy_dicts: dict[int, dict] = {}
    n_batches = len(batches)
    for b, idx in enumerate(batches.values()):
        sub = [rows[i] for i in idx]
        batch_opt = _with_options(optimizer, {k: sub[0][k] for k in structural})
        hyper = _hyper_values(sub, numeric, options)
        starts = np.repeat(x0[None, :], len(sub), axis=0)
        batch_fn = fn
        seeds_here = [r.get("seed") for r in sub]
        if noise > 0:
            batch_fn = _RowNoise(fn, [s if s is not None else int(fn.seed) for s in seeds_here], steps, d, dtype)
        elif seed_list is not None:
            for j, s in enumerate(seeds_here):
                g = torch.Generator().manual_seed(int(s))
                starts[j] = x0 + start_spread * torch.randn(d, generator=g, dtype=torch.float64).numpy()
        def cb(k: int, b: int = b) -> None:
            progress(b * steps + k, n_batches * steps)

        out = run_batch(batch_fn, batch_opt, starts, steps, hyper=hyper, stop=stop, schedule=schedule,
                        dtype=dtype, bound=bound, record_params=record_params,
                        progress=cb if progress is not None else None)
        with _no_gc():  # R small dicts that stay alive
            for j, (i, t) in enumerate(zip(idx, out)):
                if noise > 0:  # the function as it ran alone: with this run's noise seed
                    s = seeds_here[j] if seeds_here[j] is not None else int(fn.seed)
                    if s not in noisy_dicts:
                        noisy_dicts[s] = to_jsonable(fn.with_noise(noise, s).to_dict())
                    t.config["function"] = noisy_dicts[s]
                t.config["seed"] = rows[i].get("seed")
                t.config["sweep"] = {k: list(v) if isinstance(v, tuple) else v for k, v in rows[i].items()}
                traces[i] = t
    fdict = to_jsonable(fn.to_dict()) if hasattr(fn, "to_dict") else {"name": str(problem)}
    return SweepResult(configs=rows, traces=traces, problem={"type": "function", **fdict},
                       optimizer={"name": opt_name, "options": to_jsonable(options)},
                       f_min=float(getattr(fn, "f_min", float("nan"))))


class _RowNoise:
    r"""A noisy test function evaluated for R runs whose gradient noise streams differ.

    Run j adds ``σ·ξ_{s_j,k}`` to its gradient at evaluation k, where ``ξ_{s,k}`` is the
    k-th draw of ``torch.randn((1, d))`` from ``torch.Generator().manual_seed(s)``:
    exactly the draws the same function with noise seed ``s`` makes when run alone."""

    def __init__(self, fn: Any, seeds: list[int], steps: int, d: int, dtype: torch.dtype):
        self.fn = fn.with_noise(0.0)
        self.name, self.dim, self.f_min = fn.name, fn.dim, fn.f_min
        self.sigma = float(fn.noise)
        self._src = fn
        uniq = sorted(set(seeds))
        tables = []
        for s in uniq:
            g = torch.Generator().manual_seed(int(s))
            tables.append(torch.cat([torch.randn((1, d), generator=g, dtype=dtype) for _ in range(steps + 1)]))
        self.table = torch.stack(tables)  # (S, steps + 1, d)
        self.rows = torch.tensor([uniq.index(s) for s in seeds])
        self.k = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        noise = self.table[self.rows, min(self.k, self.table.shape[1] - 1)].to(x.dtype)
        self.k += 1
        return self.fn(_AddGradNoise.apply(x, self.sigma * noise))

    def to_dict(self) -> dict:
        return self._src.to_dict()


class _AddGradNoise(torch.autograd.Function):
    """Identity forward; backward adds a fixed tensor to the gradient."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(noise)
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (noise,) = ctx.saved_tensors
        return grad + noise, None


# ------------------------------------------------------------------ training problems
def _dataset_tensors(data: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = getattr(data, "tensors", None)
    if tensors is not None and len(tensors) == 2:
        return tensors[0], tensors[1]
    try:
        pairs = [data[i] for i in range(len(data))]
    except TypeError:
        raise TypeError(f"{what} must be a dataset of (x, y) pairs, got {type(data).__name__}") from None
    if not pairs:
        raise ValueError(f"{what} is empty")
    return torch.stack([torch.as_tensor(p[0]) for p in pairs]), torch.stack([torch.as_tensor(p[1]) for p in pairs])


def _loss_fn(loss: Any) -> Callable:
    """A loss callable: the problem's own, or a name of the training lab (``"cross_entropy"``, ...)."""
    from .training import _resolve_loss

    try:
        return _resolve_loss(loss)[1]  # (name, callable, kind)
    except (TypeError, ValueError) as e:
        raise type(e)(f"problem.loss: {e}") from None


def _init_model(problem: Any, seed: int, dtype: torch.dtype) -> torch.nn.Module:
    """The problem's model with its initial weights drawn from ``seed``: the training
    lab's ``problem.new_model(seed)`` when it can build one (a problem made from a model
    instance has ``model_fn = None`` and cannot), otherwise a copy of ``problem.model``
    whose submodules' ``reset_parameters()`` are called in module order after
    ``torch.manual_seed(seed)`` (the global RNG is left alone)."""
    import copy

    if callable(getattr(problem, "new_model", None)) and getattr(problem, "model_fn", True) is not None:
        return problem.new_model(int(seed)).to(dtype)
    model = copy.deepcopy(problem.model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return model.to(dtype)


def _train_sweep(problem: Any, optimizer: Any, configs: list[dict], seed_list: list[int] | None, steps: int, *,
                 batch_size: int | None, dtype: torch.dtype, progress: Callable | None) -> SweepResult:
    r"""Train R stacked model copies at once with :mod:`torch.func`.

    Row j (configuration c_j, seed s_j) is exactly this loop run alone: model
    ``_init_model(problem, s_j)``; optimizer ``create(model.parameters(), name,
    **options, **c_j)``; epoch e visits the training set in the order
    ``torch.randperm(N, generator=g_j)`` (``g_j = Generator().manual_seed(s_j)``, one
    permutation per epoch), batches of ``batch_size`` (the last one smaller); at each
    epoch's end (and after the last step) the objective is evaluated and the epoch's
    training ``loss`` recorded as ``Σ_b n_b·loss_b / Σ_b n_b`` over its batches (the
    mean over examples, as :class:`~optimlab.training.Trainer` logs it).
    """
    from torch.func import functional_call, stack_module_state, vmap

    from .runner import resolve_optimizer

    factory, opt_name, options = resolve_optimizer(optimizer)
    X, Y = _dataset_tensors(problem.train, "problem.train")
    val = getattr(problem, "val", None)
    Xv, Yv = _dataset_tensors(val, "problem.val") if val is not None and len(val) else (None, None)
    X = X.to(dtype) if X.is_floating_point() else X
    if Xv is not None and Xv.is_floating_point():
        Xv = Xv.to(dtype)
    N = X.shape[0]
    B = int(batch_size) if batch_size is not None else min(32, N)
    if B < 1 or B > N:
        raise ValueError(f"batch_size must be in [1, {N}] (the training set size), got {batch_size!r}")
    nb = -(-N // B)
    rows: list[dict] = []
    for c in configs:
        for s in (seed_list if seed_list is not None else [None]):
            rows.append({**c, **({"seed": s} if s is not None else {})})
    R = len(rows)
    row_seeds = [r.get("seed", 0) if r.get("seed") is not None else 0 for r in rows]
    numeric, structural = _split_hyper(configs, options)
    if structural:
        raise ValueError(f"a training sweep puts every swept argument on the runs dimension; "
                         f"{', '.join(structural)} hold non-numbers: sweep them one value at a time")
    hyper = _hyper_values(rows, numeric, options)
    models = {s: _init_model(problem, s, dtype) for s in sorted(set(row_seeds))}
    base = models[row_seeds[0]]
    params, buffers = stack_module_state([models[s] for s in row_seeds])
    params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    loss_fn = _loss_fn(problem.loss)

    def one(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_call(base, (p, b), (x,)), y)

    batched = vmap(one, in_dims=(0, 0, 0, 0))
    on_all = vmap(one, in_dims=(0, 0, None, None))
    groups = []
    for name_p, p in params.items():
        shape = (R,) + (1,) * (p.ndim - 1)
        g = {"params": [p]}
        for k, vals in hyper.items():
            if k == "betas":
                arr = torch.tensor(vals, dtype=p.dtype)
                g[k] = (arr[:, 0].reshape(shape), arr[:, 1].reshape(shape))
            else:
                g[k] = torch.tensor(vals, dtype=p.dtype).reshape(shape)
        groups.append(g)
    opt = factory(groups)  # per-group (R, 1, ...) hyperparameters override the fixed options

    uniq = sorted(set(row_seeds))
    gens = {s: torch.Generator().manual_seed(int(s)) for s in uniq}
    row_of = torch.tensor([uniq.index(s) for s in row_seeds])
    losses = np.full((steps, R), np.nan)
    obj: list[np.ndarray] = []
    tr_loss: list[np.ndarray] = []
    active = np.ones(R, dtype=bool)
    last_step = np.zeros(R, dtype=int)
    reason = np.full(R, "", dtype=object)
    perms = None

    def evaluate() -> np.ndarray:
        with torch.no_grad():
            xe, ye = (Xv, Yv) if Xv is not None else (X, Y)
            v = on_all({k: p.detach() for k, p in params.items()}, buffers, xe, ye)
        return v.cpu().numpy().astype(float)

    epoch_sum, epoch_n = np.zeros(R), 0  # Σ (batch size × batch mean loss), examples seen this epoch
    for k in range(steps):
        e, b = divmod(k, nb)
        if b == 0:
            perms = torch.stack([torch.randperm(N, generator=gens[s]) for s in uniq])
        idx = perms[row_of, b * B:(b + 1) * B]  # (R, batch)
        for p in params.values():
            p.grad = None
        f = batched(params, buffers, X[idx], Y[idx])
        f.sum().backward()
        fv = f.detach().cpu().numpy().astype(float)
        bad = active & ~np.isfinite(fv)
        reason[bad] = "diverged"
        active &= ~bad
        losses[k, active] = fv[active]
        epoch_sum += np.where(active, fv, 0.0) * idx.shape[1]  # weighted by examples, as the Trainer
        epoch_n += idx.shape[1]
        with torch.no_grad():
            inactive = torch.from_numpy(~active)
            frozen = {n: p.detach().clone() for n, p in params.items()} if inactive.any() else None
            for p in params.values():
                p.grad[inactive] = 0.0
        if active.any():
            opt.step()
        with torch.no_grad():
            if frozen is not None:
                for n, p in params.items():
                    p[inactive] = frozen[n][inactive]
        last_step[active] = k + 1
        if b == nb - 1 or k == steps - 1:
            ev = evaluate()
            ev[~active] = np.nan
            obj.append(ev)
            tr_loss.append(np.where(active, epoch_sum / epoch_n, np.nan))
            epoch_sum, epoch_n = np.zeros(R), 0
            div = active & ~np.isfinite(ev)
            reason[div] = "diverged"
            active &= ~div
        if progress is not None:
            progress(k + 1, steps)
        if not active.any():
            break
    reason[reason == ""] = "max_steps"
    O = np.array(obj) if obj else np.zeros((0, R))
    TL = np.array(tr_loss) if tr_loss else np.zeros((0, R))
    pname = getattr(problem, "name", type(problem).__name__)
    traces = []
    for j, r in enumerate(rows):
        n_ep = int(np.sum(np.isfinite(O[:, j]))) if O.size else 0
        epochs = {"objective": O[:n_ep, j].copy(), "loss": TL[:n_ep, j].copy()}
        if Xv is not None:
            epochs["val_loss"] = O[:n_ep, j].copy()
        cfg = {"optimizer": opt_name, "options": to_jsonable({**options, **{k: v for k, v in r.items() if k != "seed"}}),
               "problem": {"name": pname}, "seed": r.get("seed"), "batch_size": B, "steps_per_epoch": nb, "steps_limit": int(steps),
               "sweep": to_jsonable(r)}
        label = f"{opt_name}(" + ", ".join(f"{k}={v}" for k, v in r.items()) + ")"
        traces.append(Trace(label=label, config=cfg, series={"values": losses[:last_step[j], j].copy()},
                            epochs=epochs, stop_reason=str(reason[j]), steps=int(last_step[j])))
    return SweepResult(configs=rows, traces=traces, problem={"type": "training", "name": pname},
                       optimizer={"name": opt_name, "options": to_jsonable(options)})
