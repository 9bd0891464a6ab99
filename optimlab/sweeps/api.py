"""``sweep``: count the runs, pick the function or the training path, compute them chunk by chunk."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .. import problems
from ..engine import parse_seeds, pick_threads
from ..record import Trace
from ..runner import check_compile
from ..trace_list import join
from .functions import FunctionSweep
from .grids import MAX_RUNS, Runs, RunSlice, check_count, finite_number, grid_axes, grid_configs, split_hyper
from .result import RECORDS, SweepResult, curve_summary, kept
from .training import TrainSweep

__all__ = ["sweep", "CHUNK_MEMORY", "COMPILED_CHUNK", "chunk_runs"]

CHUNK_MEMORY = 2 * 1024 ** 3
"""Bytes a sweep lets one chunk of runs hold while it is computed (an estimate, see
:func:`chunk_runs`): a sweep larger than that is computed a chunk at a time."""


COMPILED_CHUNK = 2 ** 15
"""Coordinates (runs × d) a compiled function sweep computes per chunk when it chooses its
chunks itself (``chunk_size=None``): a program's K steps each sweep over every run's point,
state and records several times, and a chunk this size keeps them in the processor's cache.
Adam on 2-D Rosenbrock, 100,000 runs × 1,000 steps, ``record="final"``, one thread: 1.59-1.70 s
in one chunk, 1.33-1.42 s in chunks of 16,384 runs (each timing its own process, best of 3);
``record="all"`` 3.40 → 1.81 s. Measured for d = 2 only; the chunk shrinks as 1/d."""


def is_training_problem(problem: Any) -> bool:
    return all(hasattr(problem, a) for a in ("model", "loss", "train"))


def sweep(problem: Any, optimizer: Any, grid: Mapping[str, Sequence[Any]] | Sequence[Mapping] | None = None, *,
          seeds: int | Sequence[int] | None = None, steps: int = 100, start: Any = None, stop: Any = None,
          schedule: Any = None, start_spread: float = 0.1, batch_size: int | None = None,
          dtype: torch.dtype | None = None, bound: float = 1e12, record_params: bool | None = None,
          progress: Callable[[int, int], None] | None = None, max_runs: int = MAX_RUNS,
          chunk_size: int | None = None, record: str = "all", threads: Any = None,
          compile: Any = "auto") -> SweepResult:
    """Run every configuration of ``grid`` (× every seed) of ``optimizer`` on ``problem``
    as batched computations: one batch, or one per chunk of runs when they are many.

    Args:
        problem: a test function (object, name, formula, callable) or a training problem
            (``optimlab.problems.get(name)`` or a name ``"problem:NAME"``); see the module
            docstring for what a seed means on each.
        optimizer: name or spec (``"momentum:nesterov=true"``), ``(name, kwargs)`` or an
            Optimizer class; fixed options; the grid overrides them.
        grid: ``{argument: [values]}``; its product is the set of configurations (never
            expanded: a lazy :class:`~optimlab.sweeps.grids.Grid`). Or an explicit list
            of configurations ``[{"lr": 0.1, "momentum": 0.9}, ...]`` (e.g. from a random search).
        seeds: a count K (seeds 0..K−1) or a list of integer seeds; ``None``: unseeded.
        steps: updates per run (always a limit; ``stop`` rules may end runs earlier).
        start: start point (function problems); default the function's first suggested start.
        start_spread: σ of the seeded start perturbation on a noiseless function.
        batch_size: mini-batch size (training problems; default 32, or the whole set if smaller).
        record_params: keep every step's parameters (function problems). ``None``: only
            when R·(steps+1)·d ≤ 2·10⁷ numbers (R: all runs of the sweep) and ``record="all"``;
            otherwise start and end point only.
        progress: called as ``progress(step, steps)`` after every step.
        max_runs: more runs (configurations × seeds, counted before any is built) is a
            ValueError; default :data:`optimlab.sweeps.grids.MAX_RUNS`.
        chunk_size: runs computed together; ``None``: as many as fit in
            :data:`CHUNK_MEMORY` by the estimate of :func:`chunk_runs` (all of them for
            any ordinary sweep), and for a function sweep that runs compiled at most
            :data:`COMPILED_CHUNK` coordinates (16,384 runs of a 2-D function: the program
            then works in the processor's cache). Rows are independent: the result is the
            same for any chunk size (tested bit for bit in float64).
        record: what each run keeps (:data:`~optimlab.sweeps.result.RECORDS`): ``"all"``
            (every series), ``"values"`` (the per-step values, start and last point,
            a training run's epochs) or ``"final"`` (start and last point; the final and
            best values in :attr:`SweepResult.summary`). With ``"values"`` or ``"final"``
            the memory a sweep holds after each chunk shrinks to what is kept.
        threads: torch's intra-op threads during the sweep (1..cores); by default
            ``$OPTIMLAB_THREADS``, else one thread for a small batch (runs × parameters
            (× batch size when training) at most :data:`optimlab.engine.SMALL_WORK`),
            else torch's setting; the caller's count is restored afterwards.

        compile: ``"auto"`` (default), ``True`` or ``False``: run a function sweep as a
            compiled program (:func:`optimlab.runner.run_batch`, :mod:`optimlab.runner.compiled`);
            ``"auto"`` uses one already built and builds one for a chunk of runs long enough to pay for
            it. Training problems run eagerly (``True`` there is a ValueError).

    Returns a :class:`SweepResult`. An argument that does not apply to the problem's kind
    (``start``/``stop``/``schedule`` on a training problem, ``batch_size`` on a function)
    is a ``ValueError``, not silently ignored.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if record not in RECORDS:
        raise ValueError(f"record must be one of {', '.join(map(repr, RECORDS))}, got {record!r}")
    if record != "all" and record_params:
        raise ValueError(f"record_params=True keeps every point, record={record!r} keeps only the start and last "
                         f"point: use record='all'")
    start_spread = finite_number("start_spread", start_spread)
    pick_threads(threads)  # a bad count fails here, before anything is built
    compile = check_compile(compile)
    seed_list = parse_seeds(seeds)
    n_seeds = len(seed_list) if seed_list else 1
    configs = grid_configs(grid, max_runs)  # refused before anything is built; a Grid is never expanded
    check_count(len(configs) * n_seeds, max_runs, "runs",
                f"{len(configs):,} configurations × {n_seeds} seeds; pass max_runs= (--max-runs) to allow them")
    runs = Runs(configs, seed_list)
    axes = grid_axes(configs)
    numeric, structural = split_hyper(axes)
    t0 = time.perf_counter()
    engine = _engine(problem, optimizer, numeric, structural, seed_list, int(steps), start=start, stop=stop,
                     schedule=schedule, start_spread=start_spread, batch_size=batch_size, dtype=dtype, bound=bound,
                     threads=threads, compile=compile, record=record)
    if record_params is None:
        record_params = record == "all" and len(runs) * (steps + 1) * getattr(engine, "d", 0) <= 2e7
    size = chunk_runs(len(runs), engine.numbers_per_run(record_params), chunk_size)
    cache_runs = max(1, COMPILED_CHUNK // max(getattr(engine, "d", 1), 1))
    if chunk_size is None and size > cache_runs and isinstance(engine, FunctionSweep) and \
            engine.compiled_from_start(runs[:2]):
        size = cache_runs
    traces, summary = _compute(engine, runs, size, record, record_params, progress)
    return SweepResult(configs=runs, traces=traces, problem=engine.problem, optimizer=engine.optimizer_dict,
                       grid=axes, seeds=seed_list, f_min=engine.f_min, wall_time=time.perf_counter() - t0,
                       summary=summary)


def chunk_runs(n_runs: int, numbers_per_run: int, chunk_size: int | None = None) -> int:
    """Runs per chunk: ``chunk_size`` when given (an integer >= 1), else as many runs of
    ``numbers_per_run`` float64 numbers each as fit in :data:`CHUNK_MEMORY` (at least one)."""
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an integer >= 1 (runs computed together) or None, "
                             f"got {chunk_size!r}")
        return int(min(chunk_size, max(n_runs, 1)))
    return int(max(1, min(n_runs, CHUNK_MEMORY // (8 * max(numbers_per_run, 1)))))


def _engine(problem: Any, optimizer: Any, numeric: list[str], structural: list[str], seed_list: list | None,
            steps: int, *, start: Any, stop: Any, schedule: Any, start_spread: float, batch_size: int | None,
            dtype: torch.dtype | None, bound: float, threads: Any, compile: Any,
            record: str = "all") -> FunctionSweep | TrainSweep:
    """The sweep set up for the problem's kind, after checking the arguments fit that kind."""
    if isinstance(problem, str) and problem.startswith("problem:"):
        problem = problems.get(problem[len("problem:"):])
    training = is_training_problem(problem)
    not_here = ({"stop": stop, "schedule": schedule, "start": start, "compile": None if compile is not True else True}
                if training else {"batch_size": batch_size})
    for arg, v in not_here.items():
        if v is not None:
            kind, other = ("function", "training") if training else ("training", "function")
            raise ValueError(f"{arg} applies to {kind} problems only; {getattr(problem, 'name', problem)!r} "
                             f"is a {other} problem, got {arg}={v!r}")
    if training:
        return TrainSweep(problem, optimizer, numeric=numeric, structural=structural, steps=steps,
                          batch_size=batch_size, dtype=dtype or torch.float32, threads=threads)
    return FunctionSweep(problem, optimizer, numeric=numeric, structural=structural, seeded=seed_list is not None,
                         steps=steps, start=start, stop=stop, schedule=schedule, start_spread=start_spread,
                         dtype=dtype or torch.float64, bound=bound, threads=threads, compile=compile, record=record)


def _compute(engine: FunctionSweep | TrainSweep, runs: Runs, size: int, record: str, record_params: bool,
             progress: Callable[[int, int], None] | None) -> tuple[Sequence[Trace], dict | None]:
    """Every run's trace, ``size`` runs at a time; each chunk is cut down to what
    ``record`` keeps before the next one starts, so its buffers are freed."""
    R = len(runs)
    n_chunks = -(-R // size)
    parts: list[Sequence[Trace]] = []
    finals, bests = [], []
    for c, a in enumerate(range(0, R, size)):
        def tick(k: int, total: int, c: int = c) -> None:
            progress(c * total + k, n_chunks * total)

        chunk = engine.run(RunSlice(runs, a, min(a + size, R)), record_params, tick if progress is not None else None)
        if record == "final":
            s = curve_summary(chunk)
            finals.append(s["final"])
            bests.append(s["best"])
        parts.append(kept(chunk, record))
        del chunk
    summary = None
    if record == "final":
        summary = {"final": np.concatenate(finals) if finals else np.zeros(0),
                   "best": np.concatenate(bests) if bests else np.zeros(0)}
    return (join(parts) if parts else []), summary
