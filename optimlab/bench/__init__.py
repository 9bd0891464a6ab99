"""Benchmarks of optimizers: a protocol in the manner of DeepOBS and AlgoPerf, suites of
problems, a resumable SQLite results store, Dolan–Moré performance profiles and an
HTML report rebuilt from the store.

>>> from optimlab import bench
>>> run = bench.run_bench("beale,rosenbrock", "sgd,adam", budget=4, seeds=2, store="bench.sqlite")
>>> run.computed, run.total     # 2 problems x 2 optimizers x (4 tuning configurations + 2 seeds)
(24, 24)
>>> bench.run_bench("beale,rosenbrock", "sgd,adam", budget=4, seeds=2, store="bench.sqlite").reused
24
>>> page, numbers = bench.build_report("bench.sqlite", "bench-report")
>>> page.name
'index.html'

The built-in suites (``bench.suite_names()``) are larger: ``"functions-2d"`` has 9 functions.
"""

from .profiles import cost_table, performance_profile, performance_ratios
from .protocol import BenchRun, aggregate, run_bench, split_specs, tune_configs
from .report import build_report
from .store import TrialStore, trial_id
from .suites import SUITES, get_suite, suite_names

__all__ = ["run_bench", "build_report", "BenchRun", "TrialStore", "trial_id", "performance_profile",
           "performance_ratios", "cost_table", "get_suite", "suite_names", "SUITES", "split_specs",
           "tune_configs", "aggregate"]
