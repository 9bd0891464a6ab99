"""Benchmarks of optimizers: a protocol in the manner of DeepOBS and AlgoPerf, suites of
problems, a resumable SQLite results store and Dolan–Moré performance profiles. The
HTML report, rebuilt from the store alone, is :func:`optimlab.report.bench_page`
(``report.bench_page("bench.sqlite", "bench-report")`` after the lines below).

>>> from optimlab import bench
>>> run = bench.run_bench("beale,rosenbrock", "sgd,adam", budget=3, seeds=2, steps=100, store="bench.sqlite")
>>> run.computed, run.total     # 2 problems x 2 optimizers x (3 tuning configurations + 2 seeds)
(20, 20)
>>> bench.run_bench("beale,rosenbrock", "sgd,adam", budget=3, seeds=2, steps=100, store="bench.sqlite").reused
20

On an Optuna storage (SQLite or PostgreSQL; ``pip install "optimlab[optuna]"``) many
workers share one benchmark: :func:`optuna_bench`, :func:`run_worker`,
:func:`import_store` (:mod:`optimlab.bench.optuna_store`, :mod:`optimlab.bench.workers`).

The built-in suites (``bench.suite_names()``) are larger: ``"functions-2d"`` has 9 functions.
"""

from .optuna_store import import_store
from .profiles import cost_table, performance_profile, performance_ratios
from .protocol import BenchRun, aggregate, run_bench, split_specs, tune_configs
from .store import TrialStore, trial_id
from .suites import SUITES, get_suite, suite_names
from .workers import optuna_bench, run_worker

__all__ = ["run_bench", "BenchRun", "TrialStore", "trial_id", "performance_profile",
           "performance_ratios", "cost_table", "get_suite", "suite_names", "SUITES", "split_specs",
           "tune_configs", "aggregate", "optuna_bench", "run_worker", "import_store"]

