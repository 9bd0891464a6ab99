"""Workers that compute a benchmark laid out in an Optuna storage
(:mod:`optimlab.bench.optuna_store`), on one machine or many.

A worker repeats: look at the studies in order; fail the trials whose worker stopped
beating (``optuna.storages.fail_stale_trials``; the retry callback puts a WAITING copy
back); take up to ``batch`` WAITING trials of one study and one phase (each taken
atomically: WAITING → RUNNING succeeds for one worker only), let Optuna fix their
parameters (``trial.suggest_float``: the fixed grid or random configuration, or the
study's sampler for tpe/qmc/cmaes), compute them as one batched run
(:func:`optimlab.sweep`, through the protocol's own
:func:`~optimlab.bench.protocol.execute_trials`) while a thread beats for them, and tell
each result. Reruns are taken only when all the study's tuning trials are finished;
their configuration is the best tuning one (:func:`~optimlab.bench.protocol.best_hyper`,
ties: the first configuration). A worker stops when every study is finished.

Tuning trials of one study with different configurations and reruns with different
seeds form one batch, as in the one-process protocol; a batched run equals the runs
alone, so a benchmark computed by any number of workers has the numbers of the
one-process run.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from ..record import to_jsonable
from .optuna_store import (
    complete_trials,
    describe_search,
    open_storage,
    prepare,
    read_description,
    require_optuna,
    storage_url,
    study_name,
    study_space,
)
from .protocol import MAX_TRIALS, BenchRun, best_hyper, execute_trials, make_trial, trial_summary
from .store import trial_id

__all__ = ["run_worker", "WorkerRun", "optuna_bench", "count_finished"]


@dataclass
class WorkerRun:
    """What one worker did: trials computed and told, trials it lost (failed as stale
    while it computed them: another worker retries them), batches, seconds."""

    computed: int = 0
    lost: int = 0
    batches: int = 0
    wall_time: float = 0.0


class _Heartbeat:
    """A thread recording a heartbeat for the trials being computed, every half interval."""

    def __init__(self, storage: Any, trial_ids: list[int]):
        self.storage, self.ids = storage, trial_ids
        self.period = max(0.5, float(storage.heartbeat_interval or 10) / 2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.period):
            for tid in self.ids:
                try:
                    self.storage.record_heartbeat(tid)
                except Exception:  # a finished trial or a busy database: the next beat tries again
                    pass

    def __enter__(self) -> "_Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join()


def _retrying(fn: Callable[[], Any], tries: int = 8) -> Any:
    """``fn()`` again after a short wait when the database is busy (SQLite's lock)."""
    optuna = require_optuna()
    for k in range(tries):
        try:
            return fn()
        except optuna.exceptions.StorageInternalError:
            if k == tries - 1:
                raise
            time.sleep(0.05 * 2 ** k)


class _Teller:
    """The store the protocol's ``execute_trials`` writes to: each finished trial is told
    to its Optuna trial with the trace as a user attribute. A trial failed as stale in the
    meantime (its worker was taken for dead) is not told: its retry computes it again."""

    def __init__(self, storage: Any, by_id: dict[str, list[tuple[int, Any]]]):
        self.storage, self.by_id = storage, by_id
        self.told = self.lost = 0

    def has(self, tid: str) -> bool:
        return False

    def put(self, trial: dict, trace: Any) -> str:
        optuna = require_optuna()
        tid = trial_id(trial)
        storage_id, ot = self.by_id[tid].pop(0)
        final = float(trial_summary(trace, trial["problem"])["final"])
        value = math.inf if math.isnan(final) else final
        stored = {"trial_id": tid, "trial": trial, "trace": to_jsonable(trace.to_dict())}
        try:
            _retrying(lambda: ot.set_user_attr("stored", stored))  # one write: the trial and its trace
            # skip_if_finished: a retried tell whose first attempt did commit, or a trial failed as stale
            _retrying(lambda: ot.study.tell(ot, value, skip_if_finished=True))
        except optuna.exceptions.UpdateFinishedTrialError:
            pass
        state = _retrying(lambda: self.storage.get_trial(storage_id).state)
        if state == optuna.trial.TrialState.COMPLETE:
            self.told += 1
        else:
            self.lost += 1
        return tid


ORPHAN_AGE = 60.0
"""Seconds after which a FAILED trial with no retry is taken to have lost its retry (the
worker that failed it adds the retry within milliseconds, if it lives)."""


def _slot(t: Any) -> tuple[str, int]:
    """Which trial of the protocol an Optuna trial is: (phase, slot); retries share it."""
    return t.user_attrs.get("phase"), t.user_attrs.get("slot")


class _Cell:
    """One study of the benchmark as a worker sees it."""

    def __init__(self, optuna: Any, storage: Any, desc: dict, problem: dict, spec: str, sampler_seed: int):
        self.problem, self.spec, self.desc = problem, spec, desc
        self.name = study_name(desc, problem, spec)
        self.study = optuna.load_study(study_name=self.name, storage=storage, sampler=_sampler(optuna, desc,
                                                                                                sampler_seed))
        self.study_id = storage.get_study_id_from_name(self.name)
        self.space = study_space(desc, problem, spec)

    def todo(self) -> tuple[str | None, list[Any]]:
        """The phase to work on (None: the study is finished) and its WAITING trials."""
        optuna = require_optuna()
        with warnings.catch_warnings():  # "experimental" since Optuna 2.9; documented in docs/sweeps.md
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            _retrying(lambda: optuna.storages.fail_stale_trials(self.study))
        trials = self.study.get_trials(deepcopy=False)
        if self._repair(trials):
            trials = self.study.get_trials(deepcopy=False)
        state = optuna.trial.TrialState
        done = {_slot(t) for t in trials if t.state == state.COMPLETE and "stored" in t.user_attrs}
        n_tune = sum(phase == "tune" for phase, _ in done)  # slots, not trials: a slot done twice counts once
        n_rerun = len(done) - n_tune
        if n_tune >= int(self.desc["budget"]) and n_rerun >= int(self.desc["seeds"]):
            return None, []
        phase = "tune" if n_tune < int(self.desc["budget"]) else "rerun"
        return phase, [t for t in trials if t.state == state.WAITING and t.user_attrs.get("phase") == phase
                       and _slot(t) not in done]

    def _repair(self, trials: list[Any]) -> bool:
        """Put back, as a WAITING copy, each slot whose trials all FAILED more than
        :data:`ORPHAN_AGE` seconds ago: a worker that fails a stale trial adds its retry in a
        second write, and one killed between the two would leave the slot with no trial to
        compute (the benchmark would never finish). True when a copy was added."""
        optuna = require_optuna()
        state = optuna.trial.TrialState
        live = {_slot(t) for t in trials if t.state in (state.COMPLETE, state.WAITING, state.RUNNING)}
        now, orphans = time.time(), {}
        for t in trials:
            if (t.state == state.FAIL and _slot(t) not in live and t.datetime_complete is not None
                    and now - t.datetime_complete.timestamp() > ORPHAN_AGE):
                orphans[_slot(t)] = t
        for t in orphans.values():
            attrs = {k: t.user_attrs[k] for k in ("phase", "slot", "problem", "optimizer", "seed")}
            _retrying(lambda t=t, a=attrs: self.study.enqueue_trial(t.system_attrs.get("fixed_params", {}),
                                                                     user_attrs=a))
        return bool(orphans)

    def best(self) -> dict:
        """The best tuning configuration by the protocol's rule, from the finished tuning trials."""
        tune = sorted((t for t in complete_trials(self.study) if t.user_attrs["phase"] == "tune"),
                      key=lambda t: t.user_attrs["slot"])
        rows = {t.user_attrs["stored"]["trial_id"]: t for t in tune}
        hyper, _ = best_hyper(_TuneRows(rows), [t.user_attrs["stored"]["trial"] for t in tune])
        return hyper


class _TuneRows:
    """Finished tuning trials looked up by id, as ``best_hyper`` reads a store."""

    def __init__(self, by_id: dict[str, Any]):
        self.by_id = by_id

    def get(self, tid: str) -> dict | None:
        t = self.by_id.get(tid)
        if t is None:
            return None
        return {"id": tid, "trial": t.user_attrs["stored"]["trial"], "trace": None,
                "result": {"final": t.value if t.value is not None else math.inf}}


def _sampler(optuna: Any, desc: dict, seed: int) -> Any:
    search = desc["search"]
    if search == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if search == "qmc":
        with warnings.catch_warnings():  # "experimental" in Optuna since 3.0
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(seed=int(desc["search_seed"]))  # one sequence for all workers
    if search == "cmaes":
        try:
            return optuna.samplers.CmaEsSampler(seed=seed)
        except ImportError:
            raise ValueError('search cmaes needs the cmaes package: pip install "optimlab[optuna]"') from None
    return optuna.samplers.RandomSampler(seed=seed)  # grid and random: every configuration is fixed


def _take(storage: Any, cell: _Cell, waiting: list[Any], batch: int, worker: str) -> list[Any]:
    """Take up to ``batch`` of the WAITING trials (each for this worker only); each taken
    trial gets a first heartbeat and the user attribute ``worker`` (host and pid)."""
    optuna = require_optuna()
    taken = []
    for ft in sorted(waiting, key=lambda t: t.number):
        tid = storage.get_trial_id_from_study_id_trial_number(cell.study_id, ft.number)
        # beat first: a worker killed between the two writes leaves a WAITING trial (taken by
        # another), never a RUNNING one without a heartbeat (which Optuna would never fail)
        _retrying(lambda t=tid: storage.record_heartbeat(t))
        if _retrying(lambda t=tid: storage.set_trial_state_values(t, optuna.trial.TrialState.RUNNING)):
            _retrying(lambda t=tid: storage.set_trial_user_attr(t, "worker", worker))
            taken.append(tid)
            if len(taken) == batch:
                break
    return taken


def _compute(storage: Any, cell: _Cell, phase: str, taken: list[int]) -> _Teller:
    optuna = require_optuna()
    best = cell.best() if phase == "rerun" else None
    by_id: dict[str, list[tuple[int, Any]]] = {}
    trials = []
    with _Heartbeat(storage, taken):
        for tid in taken:
            try:
                ot = optuna.trial.Trial(cell.study, tid)
                if phase == "tune":
                    hyper = {k: ot.suggest_float(k, d.low, d.high, log=d.log) for k, d in cell.space.items()}
                else:
                    hyper = best
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # failed as stale already: its retry is another worker's
            t = make_trial(cell.problem, cell.spec, phase, hyper, ot.user_attrs["seed"])
            by_id.setdefault(trial_id(t), []).append((tid, ot))
            trials.append(t)
        teller = _Teller(storage, by_id)
        execute_trials(teller, trials)
    return teller


def run_worker(storage: Any, *, batch: int = 16, heartbeat: int = 10, seed_offset: int | None = None,
               progress: Callable[[int], None] | None = None, poll: float = 0.2) -> WorkerRun:
    """Compute trials of the benchmark in ``storage`` (a URL or an ``RDBStorage``) until
    every study is finished; other workers may run at the same time, anywhere.

    ``batch``: trials taken and computed together; ``heartbeat``: seconds between beats
    (a worker silent for twice that long is taken for dead and its trials are retried);
    ``seed_offset``: for tpe and cmaes, the sampler's seed is ``search_seed`` + this
    (None: 0 in one process; give each worker its own so they sample differently).
    """
    optuna = require_optuna()
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1 (trials computed together), got {batch!r}")
    if isinstance(storage, str):
        storage = open_storage(storage_url(storage), heartbeat)
    t0 = time.perf_counter()
    desc = read_description(storage, wait=120.0)
    seed = int(desc["search_seed"]) + int(seed_offset or 0)
    pending = [_Cell(optuna, storage, desc, p, s, seed) for p in desc["problems"] for s in desc["optimizers"]]
    run, worker = WorkerRun(), f"{socket.gethostname()} pid {os.getpid()}"
    while pending:
        took = False
        for cell in list(pending):
            phase, waiting = cell.todo()
            if phase is None:
                pending.remove(cell)
                continue
            taken = _take(storage, cell, waiting, batch, worker) if waiting else []
            if taken:
                teller = _compute(storage, cell, phase, taken)
                run.computed += teller.told
                run.lost += teller.lost
                run.batches += 1
                if progress is not None:
                    progress(teller.told)
                took = True
                break  # back to the first unfinished study: reruns open as soon as tuning ends
        if pending and not took:
            time.sleep(poll)  # what is left is being computed by others (or waits to be retried)
    run.wall_time = time.perf_counter() - t0
    return run


def count_finished(storage: Any) -> int:
    """Finished protocol trials in the benchmark of ``storage``."""
    optuna = require_optuna()
    desc = read_description(storage)
    return sum(len(complete_trials(optuna.load_study(study_name=study_name(desc, p, s), storage=storage)))
               for p in desc["problems"] for s in desc["optimizers"])


def _worker_process(url: str, batch: int, heartbeat: int, seed_offset: int) -> None:
    run_worker(url, batch=batch, heartbeat=heartbeat, seed_offset=seed_offset)


def optuna_bench(suite: Any, optimizers: Any, *, storage: Any, budget: int = 20, seeds: int = 3,
                 search: str = "grid", search_seed: int = 0, lr_range: tuple[float, float] = (1e-4, 1.0),
                 steps: int | None = None, batch: int = 16, workers: int = 1, heartbeat: int = 10,
                 progress: Callable[[int, int, str], None] | None = None, max_trials: int = MAX_TRIALS) -> BenchRun:
    """:func:`~optimlab.bench.run_bench` on an Optuna storage (``sqlite:///bench.db``,
    ``postgresql://user@host/db``, or a file path): lay the benchmark out (or join the
    same one), compute it with ``workers`` processes on this machine (1: in this
    process), each taking ``batch`` trials at a time. Resumes like ``run_bench``;
    ``search`` may also be ``"tpe"``, ``"qmc"`` or ``"cmaes"`` (Optuna's samplers)."""
    t0 = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1 (processes on this machine), got {workers!r}")
    desc = describe_search(suite, optimizers, budget, seeds, search, search_seed, lr_range, steps, max_trials)
    url = storage_url(storage)
    st = open_storage(url, heartbeat)
    prepare(st, desc)
    before = count_finished(st)
    total = len(desc["problems"]) * len(desc["optimizers"]) * (budget + seeds)
    if progress is not None:
        progress(before, total, "stored")
    if workers == 1:
        done = [before]

        def tick(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], total, "computing")

        run_worker(st, batch=batch, heartbeat=heartbeat, progress=tick)
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_worker_process, args=(url, batch, heartbeat, i + 1)) for i in range(workers)]
        for p in procs:
            p.start()
        while any(p.is_alive() for p in procs):
            time.sleep(0.5)
            if progress is not None:
                progress(count_finished(st), total, f"{workers} workers")
        for p in procs:
            p.join()
        bad = [p.exitcode for p in procs if p.exitcode != 0]
        if bad and count_finished(st) < total:
            raise RuntimeError(f"{len(bad)} of {workers} worker processes failed (exit codes {bad}); the finished "
                               f"trials are stored: run again to resume")
    after = count_finished(st)
    return BenchRun(store=url, computed=after - before, reused=before, total=total,
                    wall_time=time.perf_counter() - t0, description=desc)

