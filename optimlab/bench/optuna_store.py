"""A benchmark's trials in an Optuna study storage (SQLite, PostgreSQL, any SQL database
SQLAlchemy reaches), so that many workers on many machines can share one benchmark.

Optuna (Akiba et al., "Optuna: A Next-generation Hyperparameter Optimization
Framework", KDD 2019) keeps the studies; optimlab keeps the protocol
(:mod:`optimlab.bench.protocol`), the batched computation and the pages.

Layout of a storage (one benchmark per storage, as in a :class:`~optimlab.bench.TrialStore`):

* the study ``optimlab-bench`` holds the benchmark's description (user attribute
  ``bench``, the dict of :func:`optimlab.bench.protocol.describe`) and nothing else;
* one study per (suite, problem, optimizer), named ``SUITE/PROBLEM/SPEC``
  (e.g. ``functions-2d/booth/adam``), direction *minimize*, holding ``budget`` tuning
  trials and ``seeds`` reruns. Every trial carries the user attributes ``phase``
  (``tune``/``rerun``), ``slot`` (its place in the protocol: configuration i, seed s),
  ``problem``, ``optimizer`` and ``seed``, its hyperparameters are its Optuna params; a
  taken one ``worker`` (the host and pid computing it); a finished one also ``stored``:
  ``{"trial_id", "trial", "trace"}`` with the plain-data trial of the protocol (its
  hash is the id a ``TrialStore`` uses) and its :class:`~optimlab.record.Trace` as
  JSON (values per step, evaluations, times). Its value is the final objective (∞:
  diverged).

The work is laid out once, when the benchmark is prepared (:func:`prepare`): every trial
of the protocol is created as a WAITING trial (grid and random search: with its
configuration fixed, the same configurations :func:`~optimlab.bench.protocol.tune_configs`
gives for the seed; tpe, qmc and cmaes: empty, the study's sampler picks them when a
worker takes them). Workers take WAITING trials atomically (:mod:`optimlab.bench.workers`),
so no trial is computed twice and none is lost.

Optuna is optional (``pip install "optimlab[optuna]"``); this module imports it on use.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any, Iterable

from ..optim import registry
from ..record import Trace, to_jsonable
from .protocol import describe, make_trial, trial_result, tune_configs
from .store import TrialStore, canonical_json, trial_id
from .suites import problem_key

__all__ = ["OPTUNA_HINT", "SEARCHES", "SAMPLED", "META_STUDY", "require_optuna", "storage_url", "open_storage",
           "describe_search", "study_name", "search_space", "study_space", "slots", "prepare",
           "read_description", "read_rows", "import_store", "complete_trials"]

OPTUNA_HINT = 'pip install "optimlab[optuna]"'
SEARCHES = ("grid", "random", "tpe", "qmc", "cmaes")
SAMPLED = ("tpe", "qmc", "cmaes")
"""Searches whose configurations an Optuna sampler picks while the benchmark runs."""
META_STUDY = "optimlab-bench"


def require_optuna(what: str = "--storage") -> Any:
    """The ``optuna`` module, or a one-line ValueError saying how to install it."""
    try:
        import optuna  # lazy: an optional dependency
    except ModuleNotFoundError:
        raise ValueError(f"{what} needs Optuna, which is not installed: {OPTUNA_HINT}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def storage_url(storage: str | Path) -> str:
    """A SQLAlchemy URL (``sqlite:///bench.db``, ``postgresql://user@host/db``) as it is, a
    file path as the URL of a SQLite file."""
    text = str(storage)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def open_storage(url: str, heartbeat: int | None = None, create: bool = True) -> Any:
    """Optuna's ``RDBStorage`` on ``url``. With ``heartbeat`` (seconds) a running trial whose
    worker stops beating for 2 × ``heartbeat`` is failed by the next worker that looks and
    retried (``RetryFailedTrialCallback``). ``create=False`` refuses a SQLite file that does
    not exist (a report creates nothing)."""
    optuna = require_optuna()
    if url.startswith("sqlite:///") and not create:
        path = Path(url[len("sqlite:///"):])
        if not path.is_file():
            raise ValueError(f"storage {url!r}: {str(path)!r} does not exist")
    kwargs: dict[str, Any] = {}
    if heartbeat is not None and (isinstance(heartbeat, bool) or not isinstance(heartbeat, int) or heartbeat < 1):
        raise ValueError(f"heartbeat must be an integer number of seconds >= 1, got {heartbeat!r}")
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna since 2.9: said once, in the docs
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if heartbeat is not None:
            kwargs = {"heartbeat_interval": heartbeat, "grace_period": 2 * heartbeat}
            retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)  # Optuna >= 4.9
            if retry is not None:
                kwargs["heartbeat_stale_trial_callback"] = retry(max_retry=None)
            else:
                kwargs["failed_trial_callback"] = optuna.storages.RetryFailedTrialCallback(max_retry=None)
        try:
            storage = optuna.storages.RDBStorage(url, engine_kwargs=engine, **kwargs)
        except Exception as e:  # SQLAlchemy's errors (bad URL, no server, no driver) in one line
            raise ValueError(f"storage {url!r} cannot be opened: {' '.join(str(e).split())[:300]}") from None
    if url.startswith("sqlite"):
        _sqlite_like_the_store(storage.engine)
    return storage


def _sqlite_like_the_store(engine: Any) -> None:
    """A SQLite storage as the :class:`TrialStore` keeps its file: write-ahead log, no sync
    per commit (a power cut may lose the last trials, never damage the file)."""
    import sqlalchemy  # lazy: comes with Optuna

    def pragmas(conn: Any, _record: Any) -> None:
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    sqlalchemy.event.listen(engine, "connect", pragmas)
    engine.dispose()  # the connections opened so far are closed; new ones get the pragmas


def describe_search(suite: Any, optimizers: Any, budget: int, seeds: int, search: str, search_seed: int,
                    lr_range: tuple[float, float], steps: int | None, max_trials: int) -> dict:
    """:func:`~optimlab.bench.protocol.describe` with Optuna's searches allowed too."""
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {', '.join(SEARCHES)}, got {search!r}")
    # the protocol checks budget, seeds, lr_range and the suite; a sampled search is checked as random
    desc = describe(suite, optimizers, budget, seeds, "random" if search in SAMPLED else search, search_seed,
                    lr_range, steps, max_trials)
    desc["search"] = search
    return desc


def study_name(desc: dict, problem: dict, spec: str) -> str:
    return f"{desc['suite']}/{problem_key(problem)}/{spec}"


def search_space(desc: dict, spec: str, values: Iterable[dict] = ()) -> dict:
    """Optuna distributions of the tuned hyperparameters: lr log-uniform over ``lr_range``
    and, unless the search is the lr grid, the ranges the optimizer registers
    (:func:`optimlab.optim.registry.tuning`); widened to hold the given ``values``."""
    optuna = require_optuna()
    lo, hi = (float(v) for v in desc["lr_range"])
    ranges = {"lr": (lo, hi)}
    if desc["search"] != "grid":
        ranges.update(registry.tuning(spec))
    values = list(values)
    out = {}
    for k, (a, b) in ranges.items():
        seen = [float(v[k]) for v in values if k in v]
        a, b = min([a, *seen]), max([b, *seen])
        out[k] = optuna.distributions.FloatDistribution(a, b, log=(k == "lr"))
    return out


def slots(desc: dict, problem: dict, spec: str) -> list[tuple[str, int, dict | None, int | None]]:
    """The protocol's trials of one study as (phase, slot, fixed hyper or None, seed)."""
    seed0 = None if problem["kind"] == "function" else 0
    if desc["search"] in SAMPLED:
        tune: list = [None] * int(desc["budget"])
    else:
        tune = list(tune_configs(spec, int(desc["budget"]), desc["search"], int(desc["search_seed"]),
                                 tuple(desc["lr_range"])))
    return ([("tune", i, cfg, seed0) for i, cfg in enumerate(tune)]
            + [("rerun", s - 1, None, s) for s in range(1, int(desc["seeds"]) + 1)])


def study_space(desc: dict, problem: dict, spec: str, slots_: list | None = None) -> dict:
    """:func:`search_space` of one study, widened to hold its fixed configurations."""
    slots_ = slots(desc, problem, spec) if slots_ is None else slots_
    return search_space(desc, spec, [cfg for _, _, cfg, _ in slots_ if cfg])


def prepare(storage: Any, desc: dict, rows: Iterable[dict] = (), wait: float = 120.0) -> None:
    """Lay out the benchmark ``desc`` in ``storage`` once: the first caller creates the
    studies and their WAITING trials, any later one checks that the storage holds the
    same benchmark (a ValueError if not) and waits until the layout is finished.

    ``rows`` (rows of a :class:`TrialStore`) are stored as finished trials instead of
    waiting ones where they are trials of the layout: an old store imported, nothing
    computed again."""
    optuna = require_optuna()
    try:
        meta = optuna.create_study(storage=storage, study_name=META_STUDY)
    except optuna.exceptions.DuplicatedStudyError:
        meta = None
    if meta is None:
        stored = read_description(storage, wait)
        if canonical_json(stored) != canonical_json(desc):
            diff = [k for k in sorted(set(stored) | set(desc)) if canonical_json(stored.get(k)) !=
                    canonical_json(desc.get(k))]
            raise ValueError(f"storage already holds another benchmark (it differs in {', '.join(diff[:4])}); "
                             f"a storage keeps one: give another --storage, or the same arguments to join it")
        return
    meta.set_user_attr("bench", to_jsonable(desc))
    by_id = {r["id"]: r for r in rows}
    for problem in desc["problems"]:
        for spec in desc["optimizers"]:
            _lay_out(optuna, storage, desc, problem, spec, by_id)
    meta.set_user_attr("ready", True)


def _lay_out(optuna: Any, storage: Any, desc: dict, problem: dict, spec: str, by_id: dict) -> None:
    study = optuna.create_study(storage=storage, study_name=study_name(desc, problem, spec), direction="minimize")
    study.set_user_attr("problem", problem)
    study.set_user_attr("optimizer", spec)
    slots_ = slots(desc, problem, spec)
    space = study_space(desc, problem, spec, slots_)
    old_reruns = {r["trial"]["seed"]: r for r in by_id.values() if r["trial"]["phase"] == "rerun"
                  and r["trial"]["problem"] == problem and r["trial"]["optimizer"] == spec}
    for phase, slot, cfg, seed in slots_:
        attrs = {"phase": phase, "slot": slot, "problem": problem_key(problem), "optimizer": spec, "seed": seed}
        old = old_reruns.get(seed) if phase == "rerun" else \
            by_id.get(trial_id(make_trial(problem, spec, phase, cfg, seed))) if cfg is not None else None
        if old is None:
            study.enqueue_trial(cfg or {}, user_attrs=attrs)
            continue
        hyper = old["trial"]["hyper"]
        data = {"trace": to_jsonable(old["trace"].to_dict())} if old["trace"] is not None else \
            {"result": to_jsonable(old["result"])}
        stored = {"trial_id": old["id"], "trial": old["trial"], **data}
        value = float(trial_result(old)["final"])
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE, value=math.inf if math.isnan(value) else value,
            params=hyper if phase == "tune" else {},
            distributions={k: space[k] for k in hyper} if phase == "tune" else {},
            user_attrs={**attrs, "stored": stored, "worker": f"imported (pid {old['pid']})"}))


def read_description(storage: Any, wait: float = 0.0) -> dict:
    """The benchmark's description stored in ``storage``; waits up to ``wait`` seconds for a
    layout another process is writing."""
    optuna = require_optuna()
    try:
        meta = optuna.load_study(storage=storage, study_name=META_STUDY)
    except KeyError:
        raise ValueError("storage holds no optimlab benchmark (no study 'optimlab-bench'); start one with "
                         "optimlab bench --storage URL --suite ... --optimizers ...") from None
    deadline = time.monotonic() + wait
    while True:
        attrs = meta.user_attrs
        if attrs.get("ready"):
            return attrs["bench"]
        if time.monotonic() >= deadline:
            raise ValueError("the storage's benchmark is not laid out yet (or the process preparing it was "
                             "killed: then delete the storage and start again)")
        time.sleep(0.2)


def complete_trials(study: Any) -> list[Any]:
    """The finished trials of a study that hold a protocol trial (computed or imported)."""
    optuna = require_optuna()
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [t for t in done if "stored" in t.user_attrs]


def _row(t: Any) -> dict:
    a = t.user_attrs["stored"]
    trace = Trace.from_dict(a["trace"]) if "trace" in a else None
    finished = t.datetime_complete.timestamp() if t.datetime_complete else math.nan
    return {"id": a["trial_id"], "trial": a["trial"], "trace": trace, "result": a.get("result"),
            "finished": finished, "pid": t.user_attrs.get("worker", a.get("worker"))}


def read_rows(storage: Any) -> tuple[dict, list[dict]]:
    """The description and every finished trial of the benchmark in ``storage`` as
    :class:`TrialStore` rows, so :func:`optimlab.bench.aggregate` and the page read them
    as they read a store."""
    optuna = require_optuna()
    desc = read_description(storage)
    rows = []
    for problem in desc["problems"]:
        for spec in desc["optimizers"]:
            study = optuna.load_study(storage=storage, study_name=study_name(desc, problem, spec))
            rows += [_row(t) for t in complete_trials(study)]
    return desc, sorted(rows, key=lambda r: (r["finished"], r["id"]))


def import_store(store: str | Path, storage: Any) -> int:
    """Copy a benchmark from an optimlab SQLite store (today's format, or older ones with
    summaries instead of traces) into an empty Optuna ``storage`` (else a ValueError) without computing
    anything; the trials the store lacks are laid out to be computed. Returns how many
    trials were imported."""
    with TrialStore(store, readonly=True) as st:
        desc, rows = st.get_meta("bench"), list(st)
    if desc is None:
        raise ValueError(f"store {str(store)!r} holds no benchmark description; nothing to import")
    optuna = require_optuna()
    if META_STUDY in optuna.get_all_study_names(storage):
        raise ValueError("storage already holds a benchmark; import into an empty storage (a new file or database)")
    prepare(storage, desc, rows)
    _, now = read_rows(storage)
    return len(now)
