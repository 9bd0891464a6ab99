"""The benchmark that tests/test_bench.py (built-in store) and tests/test_bench_optuna.py (Optuna
storage) kill with SIGKILL mid-run and resume, and its uninterrupted run that both compare with
(the session fixture ``kill_bench_reference`` of tests/conftest.py: computed once per test process)."""

from __future__ import annotations

from pathlib import Path

from optimlab.bench import run_bench

SUITE = "booth,rosenbrock"
ARGS = dict(optimizers="momentum,adam", budget=4, seeds=2, steps=200)
TOTAL = 2 * 2 * (ARGS["budget"] + ARGS["seeds"])  # 2 problems × 2 optimizers × (tuning + reruns)


def cli_args() -> list[str]:
    """The benchmark's ``optimlab bench`` options (without a store)."""
    return ["--suite", SUITE, "--optimizers", ARGS["optimizers"], "--budget", str(ARGS["budget"]),
            "--seeds", str(ARGS["seeds"]), "--steps", str(ARGS["steps"])]


def run(store: Path):
    """The benchmark in one process, on the built-in store ``store`` (resumes what it holds)."""
    return run_bench(SUITE, ARGS["optimizers"], budget=ARGS["budget"], seeds=ARGS["seeds"], steps=ARGS["steps"],
                     store=store)
