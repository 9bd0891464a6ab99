r"""The benchmark protocol (in the manner of DeepOBS and AlgoPerf).

For every optimizer × problem of a suite:

1. **Tune** on a budget of N configurations, each run once: ``search="grid"`` tries N
   learning rates log-spaced over ``lr_range`` (DeepOBS: Schneider, Balles & Hennig,
   "DeepOBS: A Deep Learning Optimizer Benchmark Suite", ICLR 2019); ``search="random"``
   draws N configurations (lr log-uniform over ``lr_range``, and uniformly the ranges the
   optimizer declares where it is registered, :func:`optimlab.optim.tuning`: e.g.
   SGD-momentum's μ ∈ U[0, 0.99], the Adam family's β₁ ∈ U[0.5, 0.99], RMSprop's
   α ∈ U[0.9, 0.999]) from a generator seeded with ``search_seed`` (Bergstra &
   Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 2012). The best
   configuration has the lowest final objective (diverged = ∞; ties: the first).
2. **Rerun** the best configuration on ``seeds`` new seeds (1..K; tuning used the
   unseeded start or seed 0), and report the median and spread (min, max) of the
   final objective, and the steps and time to the target.
3. **Profile**: the cost of an optimizer on a problem is the median over the reruns
   of the gradient evaluations until the target is reached (∞ when the median run does
   not reach it); the Dolan–Moré performance profile across the suite compares them
   (:mod:`optimlab.bench.profiles`; Dahl et al., "Benchmarking Neural Network Training
   Algorithms", 2023, for AlgoPerf's time-to-result scoring of the same kind).

The objective is ``f − f*`` on a test function, the validation loss on a training
problem. A training problem without a target gets one from the results: 1.05 × the
lowest median final validation loss among the optimizers.

Every trial is a plain-data dict (problem, optimizer spec, hyperparameters, seed,
phase) stored under its hash in a :class:`~optimlab.bench.store.TrialStore` the moment
its batch finishes; trials of one phase are computed together with :func:`optimlab.sweep`
(a batched run equals the runs alone), so a resumed benchmark recomputes only the
missing trials and gets the same numbers.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import problems as lab
from ..functions import get
from ..optim import registry
from ..record import to_jsonable
from ..sweeps import logspace, sweep
from ..sweeps.grids import check_count
from .store import TrialStore, trial_id
from .suites import finish_suite, get_suite, problem_key, split_items

__all__ = ["run_bench", "BenchRun", "tune_configs", "TuneConfigs", "TRIAL_CHUNK", "split_specs", "PROTOCOL_VERSION",
           "trial_summary", "trial_result", "aggregate"]

PROTOCOL_VERSION = 1
SEARCHES = ("grid", "random")


def split_specs(text: str | Sequence[str]) -> list[str]:
    """``"adam,momentum:lr=0.01,momentum=0.7,sgd"`` → ``["adam", "momentum:lr=0.01,momentum=0.7", "sgd"]``
    (split by :func:`~optimlab.bench.suites.split_items`), each spec checked."""
    if isinstance(text, str):
        parts = split_items(text)
    else:
        parts = [str(p).strip() for p in text]
    if not parts:
        raise ValueError("optimizers is empty: give at least one optimizer spec, e.g. adam,momentum")
    for p in parts:
        registry.parse_spec(p)  # raises a ValueError naming the bad spec
    if len(set(parts)) != len(parts):
        raise ValueError(f"an optimizer is listed twice in {parts}")
    return parts


def tune_configs(spec: str, budget: int, search: str = "grid", search_seed: int = 0,
                 lr_range: tuple[float, float] = (1e-4, 1.0)) -> list[dict]:
    """The N configurations the tuning phase tries for optimizer ``spec``, as a list
    (:class:`TuneConfigs` is the same sequence, lazily)."""
    return list(TuneConfigs(spec, budget, search, search_seed, lr_range))


class TuneConfigs(SequenceABC):
    """The N configurations the tuning phase tries for optimizer ``spec``, computed one
    at a time from their index (a benchmark never holds the list): ``"grid"``, N learning
    rates log-spaced over ``lr_range``; ``"random"``, configuration i from the generator
    seeded with ``(search_seed, crc32(spec))`` advanced past the ``i × k`` draws of the
    configurations before it (k: one for lr, one per declared range; each uniform
    draw is one 64-bit output of PCG64), the same numbers as drawing them in order."""

    def __init__(self, spec: str, budget: int, search: str = "grid", search_seed: int = 0,
                 lr_range: tuple[float, float] = (1e-4, 1.0)):
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ValueError(f"budget must be an integer >= 1 (configurations tried per optimizer and problem), "
                             f"got {budget!r}")
        if search not in SEARCHES:
            raise ValueError(f"search must be one of {', '.join(SEARCHES)}, got {search!r}")
        lo, hi = (float(v) for v in lr_range)
        if not (0 < lo < hi):
            raise ValueError(f"lr_range must be (lo, hi) with 0 < lo < hi, got {lr_range!r}")
        self.budget, self.search, self.log_lr = budget, search, (math.log10(lo), math.log10(hi))
        self.lrs = logspace(lo, hi, budget, limit=max(budget, 1)) if search == "grid" else None
        self.seed = [int(search_seed), zlib.crc32(spec.encode())]
        self.ranges = registry.tuning(spec) if search == "random" else {}  # declared where it is registered

    def __len__(self) -> int:
        return self.budget

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.budget))]
        if isinstance(i, bool) or not isinstance(i, int) or not -self.budget <= i < self.budget:
            raise IndexError(f"configuration {i!r} is outside the budget of {self.budget}")
        i %= self.budget
        if self.lrs is not None:
            return {"lr": self.lrs[i]}
        rng = np.random.default_rng(self.seed)
        rng.bit_generator.advance(i * (1 + len(self.ranges)))
        cfg = {"lr": float(10 ** rng.uniform(*self.log_lr))}
        for key, (a, b) in self.ranges.items():
            cfg[key] = float(rng.uniform(a, b))
        return cfg


# ------------------------------------------------------------------ computing trials
def _trial(problem: dict, spec: str, phase: str, hyper: dict, seed: int | None) -> dict:
    return to_jsonable({"protocol": PROTOCOL_VERSION, "phase": phase, "problem": problem, "optimizer": spec,
                        "hyper": hyper, "seed": seed})


def _sweep_problem(problem: dict) -> Any:
    if problem["kind"] == "function":
        fn = get(problem["name"], **problem["params"])
        return fn.with_noise(problem["noise"], 0) if problem["noise"] else fn
    return lab.get(problem["name"], seed=0)


def trial_summary(trace: Any, problem: dict, f_min: float | None = None, keep_params: bool = False) -> dict:
    """The numbers of a trial, read from its stored trace: the objective curve with its
    step numbers and times, final and best objective, stop reason (and the path on a 2-D
    function). ``f_min`` defaults to the one recorded in ``trace.meta`` (then the function's
    config)."""
    if problem["kind"] == "function":
        if f_min is None:
            f_min = trace.meta.get("f_min", (trace.config.get("function") or {}).get("f_min", 0.0))
        curve = np.asarray(trace.values, dtype=float) - float(f_min)
        steps_at = np.arange(len(curve))
        times = np.asarray(trace.times, dtype=float)
    else:
        curve = np.asarray(trace.epochs.get("objective", []), dtype=float)
        spe = int(trace.config.get("steps_per_epoch", 0)) or 1
        steps_at = np.minimum((np.arange(len(curve)) + 1) * spe, trace.steps)
        times = np.full(len(curve), np.nan)
    diverged = trace.stop_reason == "diverged"
    finite = curve[np.isfinite(curve)]
    res = {"final": float("inf") if diverged or not len(curve) else float(curve[-1]),
           "best": float(finite.min()) if finite.size else float("inf"),
           "stop_reason": trace.stop_reason, "steps": int(trace.steps),
           "curve": curve.tolist(), "curve_steps": steps_at.tolist(), "curve_times": times.tolist(),
           "start": trace.config.get("start")}
    if keep_params and "params" in trace.series and np.shape(trace.params)[1:] == (2,):
        res["params"] = np.asarray(trace.params).tolist()
    return res


def trial_result(row: dict) -> dict:
    """The numbers of a stored trial (a :class:`TrialStore` row): :func:`trial_summary` of
    its trace, or, in a store written by an older optimlab, the summary stored instead."""
    if row.get("trace") is not None:
        return trial_summary(row["trace"], row["trial"]["problem"], keep_params=row["trial"]["phase"] == "rerun")
    res = row.get("result")
    if not isinstance(res, dict) or "final" not in res:
        raise ValueError(f"trial {row.get('id')!r} holds neither a trace nor a result summary; is the store from "
                         f"an optimlab benchmark?")
    return res


def _execute(store: TrialStore, trials: list[dict], on_done: Callable[[int], None] | None = None) -> int:
    """Compute the trials not yet in the store (one batched sweep per group) and store
    each one; returns how many were computed."""
    missing = [t for t in trials if not store.has(trial_id(t))]
    if not missing:
        return 0
    problem, spec = missing[0]["problem"], missing[0]["optimizer"]
    # one sweep per seed (tuning) or one sweep over the seeds (a rerun of one configuration)
    groups: list[tuple[list[dict], list[int | None]]] = []
    hypers = [t["hyper"] for t in missing]
    if all(h == hypers[0] for h in hypers):
        groups.append(([hypers[0]], [t["seed"] for t in missing]))
    else:
        by_seed: dict[Any, list[dict]] = {}
        for t in missing:
            by_seed.setdefault(t["seed"], []).append(t["hyper"])
        groups.extend((hs, [s]) for s, hs in by_seed.items())
    prob_obj = _sweep_problem(problem)
    done = 0
    for hs, seeds in groups:
        kw: dict[str, Any] = {"steps": int(problem["steps"])}
        if problem["kind"] == "function":
            if problem.get("start") is not None:
                kw["start"] = problem["start"]
            f_min = float(prob_obj.f_min)
        else:
            kw["batch_size"] = int(problem.get("batch_size", 32))
            f_min = 0.0
        seed_arg = None if seeds == [None] else [s for s in seeds]
        if seed_arg is not None and any(s is None for s in seed_arg):
            raise ValueError("internal: a group mixes seeded and unseeded trials")
        res = sweep(prob_obj, spec, grid=hs, seeds=seed_arg, **kw)
        for cfg, trace in zip(res.configs, res.traces):
            hyper = {k: v for k, v in cfg.items() if k != "seed"}
            t = _trial(problem, spec, missing[0]["phase"], hyper, cfg.get("seed"))
            trace.meta["f_min"] = f_min  # the objective is f − f*: the trace says which f*
            store.put(t, trace)
            done += 1
            if on_done is not None:
                on_done(1)
    return done


@dataclass
class BenchRun:
    """What :func:`run_bench` did: trials computed now, found already stored, in total."""

    store: str
    computed: int = 0
    reused: int = 0
    total: int = 0
    wall_time: float = 0.0
    description: dict = field(default_factory=dict)


TRIAL_CHUNK = 2_000
"""Tuning trials made, computed as one sweep and stored together: a benchmark holds at
most this many trials (and their traces) at a time, and an interruption loses at most
the chunk in flight."""

MAX_TRIALS = 100_000
"""The most trials a benchmark runs unless told otherwise (``run_bench(max_trials=...)``, the
CLI's ``--max-trials``); counted as problems × optimizers × (budget + seeds) before any is made."""


def describe(suite: Any, optimizers: Any, budget: int, seeds: int, search: str, search_seed: int,
             lr_range: tuple[float, float], steps: int | None, max_trials: int = MAX_TRIALS) -> dict:
    problems = get_suite(suite, steps) if isinstance(suite, str) else finish_suite(suite, steps)
    specs = split_specs(optimizers)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1 (reruns of the best configuration), got {seeds!r}")
    if isinstance(budget, int) and not isinstance(budget, bool) and budget >= 1:
        check_count(len(problems) * len(specs) * (budget + seeds), max_trials, "trials",
                    f"{len(problems)} problems × {len(specs)} optimizers × ({budget} budget + {seeds} seeds); "
                    f"pass max_trials= (--max-trials) to allow them")
    TuneConfigs(specs[0], budget, search, search_seed, lr_range)  # validates budget, search and lr_range
    return to_jsonable({"protocol": PROTOCOL_VERSION, "suite": suite if isinstance(suite, str) else "custom",
                        "problems": problems, "optimizers": specs, "budget": budget, "seeds": seeds,
                        "search": search, "search_seed": search_seed, "lr_range": list(lr_range)})


def run_bench(suite: Any, optimizers: Any, *, budget: int = 20, seeds: int = 3, store: str | Path = "bench.sqlite",
              search: str = "grid", search_seed: int = 0, lr_range: tuple[float, float] = (1e-4, 1.0),
              steps: int | None = None, progress: Callable[[int, int, str], None] | None = None,
              max_trials: int = MAX_TRIALS) -> BenchRun:
    """Run (or resume) a benchmark; every finished trial goes to the SQLite ``store``.

    Args:
        suite: a built-in suite name, a comma-separated list of problems, or a list of
            problem dicts (see :mod:`optimlab.bench.suites`).
        optimizers: specs, as a list or one comma-separated string.
        budget: configurations tried per optimizer × problem when tuning.
        seeds: reruns of the best configuration.
        search: ``"grid"`` (log grid of lr) or ``"random"`` (see the module docstring).
        steps: override every problem's step count.
        progress: called as ``progress(trials_done, trials_total, what)``.
        max_trials: more trials is a ValueError before any runs (:data:`MAX_TRIALS`).

    Calling it again with the same arguments and store computes nothing that is stored.
    """
    t0 = time.perf_counter()
    desc = describe(suite, optimizers, budget, seeds, search, search_seed, lr_range, steps, max_trials)
    with TrialStore(store) as st:
        st.claim_meta("bench", desc)  # a store holds one benchmark: another is refused before any trial runs
        total = len(desc["problems"]) * len(desc["optimizers"]) * (budget + seeds)
        run = BenchRun(store=str(store), total=total, description=desc)
        count = [0]

        def tick(n: int, what: str = "") -> None:
            count[0] += n
            if progress is not None:
                progress(count[0], total, what)

        for problem in desc["problems"]:
            for spec in desc["optimizers"]:
                configs = TuneConfigs(spec, budget, search, search_seed, lr_range)
                _tune_and_rerun(st, problem, spec, configs, seeds, run, tick)
    run.wall_time = time.perf_counter() - t0
    return run


def _tune_and_rerun(st: TrialStore, problem: dict, spec: str, configs: TuneConfigs, seeds: int, run: BenchRun,
                    tick: Callable[..., None]) -> None:
    """One optimizer on one problem: its tuning trials, then the reruns of the best, each
    made, computed and stored :data:`TRIAL_CHUNK` trials at a time."""
    what = f"{spec} on {problem_key(problem)}"

    def execute(trials: list[dict], phase: str) -> None:
        n = _execute(st, trials, lambda k: tick(k, f"{what} ({phase})"))
        run.computed += n
        run.reused += len(trials) - n
        tick(len(trials) - n, what)

    best: dict | None = None
    best_v = math.inf
    for a in range(0, len(configs), TRIAL_CHUNK):
        tune = [_trial(problem, spec, "tune", cfg, None if problem["kind"] == "function" else 0)
                for cfg in configs[a:a + TRIAL_CHUNK]]
        execute(tune, "tuning")
        hyper, v = _best_hyper(st, tune)
        if best is None or v < best_v:  # ties: the first
            best, best_v = hyper, v
    for a in range(1, seeds + 1, TRIAL_CHUNK):
        execute([_trial(problem, spec, "rerun", best, s) for s in range(a, min(a + TRIAL_CHUNK, seeds + 1))],
                "reruns")


def _best_hyper(store: TrialStore, tune: list[dict]) -> tuple[dict, float]:
    """The tuning trial with the lowest stored final objective (diverged, missing or NaN:
    ∞; ties: the first), with that value."""
    best, best_v = tune[0]["hyper"], math.inf
    for t in tune:
        row = store.get(trial_id(t))
        v = float(trial_result(row)["final"]) if row else math.inf
        v = math.inf if math.isnan(v) else v
        if v < best_v:
            best, best_v = t["hyper"], v
    return best, best_v


# ------------------------------------------------------------------ aggregation
def _first_hit(curve: Sequence[float], steps_at: Sequence[int], times: Sequence[float], target: float
               ) -> tuple[float, float]:
    c = np.asarray(curve, dtype=float)
    hit = np.flatnonzero(c <= target)
    if not hit.size:
        return math.inf, math.inf
    k = int(hit[0])
    t = float(times[k]) if k < len(times) and times[k] is not None else math.nan
    return float(steps_at[k]), t


def aggregate(rows: list[dict], desc: dict) -> dict:
    """From stored trials (``TrialStore`` rows) to the benchmark's numbers, as JSON data.

    Returns ``{"problems": [keys], "problem_dicts": [...], "optimizers": [specs],
    "targets": {problem: ε}, "cells": {problem: {spec: {...}}}, "tuning": {problem:
    {spec: [[hyper, final], ...]}}}``; a cell holds ``best_hyper``, ``median``, ``min``,
    ``max`` (final objective over the reruns), ``solved`` (reruns reaching the target),
    ``runs``, ``cost`` (median gradient evaluations to the target; ∞ if not reached),
    ``median_steps``, ``median_time`` and ``reruns``: ``[{"id", "trial", "result"}]`` with
    each rerun's numbers (:func:`trial_result`).
    """
    problems = desc["problems"]
    specs = desc["optimizers"]
    keys = [problem_key(p) for p in problems]
    by_cell: dict[tuple[str, str], dict[str, list]] = {}
    for r in rows:
        t = r["trial"]
        if t.get("protocol") != PROTOCOL_VERSION or t["optimizer"] not in specs or t["problem"] not in problems:
            continue
        key = (problem_key(t["problem"]), t["optimizer"])
        entry = {"id": r["id"], "trial": t, "result": trial_result(r)}
        by_cell.setdefault(key, {"tune": [], "rerun": []})[t["phase"]].append(entry)
    targets = {k: _target(p, [by_cell.get((k, s), {}).get("rerun", []) for s in specs])
               for p, k in zip(problems, keys)}
    cells: dict[str, dict[str, dict]] = {k: {} for k in keys}
    tuning: dict[str, dict[str, list]] = {k: {} for k in keys}
    for k in keys:
        for s in specs:
            cell = by_cell.get((k, s), {"tune": [], "rerun": []})
            tuning[k][s] = sorted(([r["trial"]["hyper"], float(r["result"]["final"])] for r in cell["tune"]),
                                  key=lambda hv: hv[0].get("lr", 0.0))
            cells[k][s] = _cell(sorted(cell["rerun"], key=lambda r: r["trial"]["seed"]), targets[k])
    return {"problems": keys, "problem_dicts": problems, "optimizers": specs, "targets": targets, "cells": cells,
            "tuning": tuning}


def _target(problem: dict, reruns_by_spec: list[list[dict]]) -> float:
    """The problem's target, or within 5 % of the best optimizer's median final objective."""
    if problem.get("target") is not None:
        return float(problem["target"])
    meds = [float(np.median([r["result"]["final"] for r in reruns])) for reruns in reruns_by_spec if reruns]
    finite = [m for m in meds if math.isfinite(m)]
    return 1.05 * min(finite) if finite else -math.inf


def _cell(reruns: list[dict], target: float) -> dict:
    finals = np.array([float(r["result"]["final"]) for r in reruns])
    hits = [_first_hit(r["result"]["curve"], r["result"]["curve_steps"], r["result"]["curve_times"], target)
            for r in reruns]
    steps_hit = np.array([h[0] for h in hits]) if hits else np.array([])
    times_hit = np.array([h[1] for h in hits]) if hits else np.array([])
    return {
        "best_hyper": reruns[0]["trial"]["hyper"] if reruns else None,
        "runs": len(reruns),
        "median": float(np.median(finals)) if finals.size else math.nan,
        "min": float(finals.min()) if finals.size else math.nan,
        "max": float(finals.max()) if finals.size else math.nan,
        "solved": int(np.isfinite(steps_hit).sum()),
        "median_steps": float(np.median(steps_hit)) if steps_hit.size else math.inf,
        "median_time": float(np.median(times_hit)) if times_hit.size else math.inf,
        "cost": float(np.median(steps_hit + 1)) if steps_hit.size else math.inf,
        "reruns": reruns,
    }


# The same rules under public names, for the Optuna workers (optimlab.bench.workers): one
# implementation of a trial's description, of a batch's computation and of the best pick.
make_trial = _trial
execute_trials = _execute
best_hyper = _best_hyper
