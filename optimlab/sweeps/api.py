"""``sweep``: expand the grid, pick the function or the training path, time it."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .. import problems
from ..engine import parse_seeds, pick_threads
from .functions import function_sweep
from .grids import MAX_RUNS, check_count, expand_grid, finite_number
from .result import SweepResult
from .training import train_sweep

__all__ = ["sweep"]


def is_training_problem(problem: Any) -> bool:
    return all(hasattr(problem, a) for a in ("model", "loss", "train"))


def sweep(problem: Any, optimizer: Any, grid: Mapping[str, Sequence[Any]] | Sequence[Mapping] | None = None, *,
          seeds: int | Sequence[int] | None = None, steps: int = 100, start: Any = None, stop: Any = None,
          schedule: Any = None, start_spread: float = 0.1, batch_size: int | None = None,
          dtype: torch.dtype | None = None, bound: float = 1e12, record_params: bool | None = None,
          progress: Callable[[int, int], None] | None = None, max_runs: int = MAX_RUNS,
          threads: Any = None) -> SweepResult:
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
        max_runs: more runs (configurations × seeds, counted before any is built) is a
            ValueError; default :data:`optimlab.sweeps.grids.MAX_RUNS`.
        threads: torch's intra-op threads during the sweep (1..cores); by default
            ``$OPTIMLAB_THREADS``, else one thread for a small batch (runs × parameters
            (× batch size when training) at most :data:`optimlab.engine.SMALL_WORK`),
            else torch's setting; the caller's count is restored afterwards.

    Returns a :class:`SweepResult`. An argument that does not apply to the problem's kind
    (``start``/``stop``/``schedule`` on a training problem, ``batch_size`` on a function)
    is a ``ValueError``, not silently ignored.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    start_spread = finite_number("start_spread", start_spread)
    pick_threads(threads)  # a bad count fails here, before anything is built
    seed_list = parse_seeds(seeds)
    n_seeds = len(seed_list) if seed_list else 1
    configs = expand_grid(grid, max_runs)  # refused before the product is built
    check_count(len(configs) * n_seeds, max_runs, "runs",
                f"{len(configs):,} configurations × {n_seeds} seeds; pass max_runs= (--max-runs) to allow them")
    seen: dict[str, dict] = {}
    for c in configs:  # the values of each argument, in order of first appearance
        for k, v in c.items():
            seen.setdefault(k, {}).setdefault((type(v).__name__, v), v)
    grid_plain = {k: list(vals.values()) for k, vals in seen.items()}
    if isinstance(problem, str) and problem.startswith("problem:"):
        problem = problems.get(problem[len("problem:"):])
    training = is_training_problem(problem)
    not_here = {"stop": stop, "schedule": schedule, "start": start} if training else {"batch_size": batch_size}
    for arg, v in not_here.items():
        if v is not None:
            kind, other = ("function", "training") if training else ("training", "function")
            raise ValueError(f"{arg} applies to {kind} problems only; {getattr(problem, 'name', problem)!r} "
                             f"is a {other} problem, got {arg}={v!r}")
    t0 = time.perf_counter()
    if training:
        res = train_sweep(problem, optimizer, configs, seed_list, steps, batch_size=batch_size,
                          dtype=dtype or torch.float32, progress=progress, threads=threads)
    else:
        res = function_sweep(problem, optimizer, configs, seed_list, steps, start=start, stop=stop,
                              schedule=schedule, start_spread=start_spread, dtype=dtype or torch.float64,
                              bound=bound, record_params=record_params, progress=progress, threads=threads)
    res.grid, res.seeds, res.wall_time = grid_plain, seed_list, time.perf_counter() - t0
    return res
