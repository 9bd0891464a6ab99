"""Benchmarks of optimizers: a protocol in the manner of DeepOBS and AlgoPerf, suites of
problems, a resumable SQLite results store, Dolan–Moré performance profiles and an
HTML report rebuilt from the store.

>>> from optimlab import bench
>>> run = bench.run_bench("functions-2d", "sgd,momentum,adam", budget=20, seeds=3, store="bench.sqlite")
>>> page, numbers = bench.build_report("bench.sqlite", "bench-report")     # doctest: +SKIP
"""

from .profiles import cost_table, performance_profile, performance_ratios
from .protocol import BenchRun, aggregate, run_bench, split_specs, tune_configs
from .report import build_report
from .store import TrialStore, trial_id
from .suites import SUITES, get_suite, suite_names

__all__ = ["run_bench", "build_report", "BenchRun", "TrialStore", "trial_id", "performance_profile",
           "performance_ratios", "cost_table", "get_suite", "suite_names", "SUITES", "split_specs",
           "tune_configs", "aggregate"]
