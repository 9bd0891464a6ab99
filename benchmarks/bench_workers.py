"""Trials per second of one benchmark: the built-in store in one process versus the
Optuna storage (SQLite) with 1, 2 and 4 worker processes, same suite, same trials.

Suite: ``functions-2d`` (9 functions) × sgd, momentum, adam, random search, budget 12,
2 seeds, 300 steps: 9 × 3 × 14 = 378 trials. Each configuration starts from an empty
file in a temporary folder; the time is the wall time of ``run_bench`` /
``optuna_bench`` (laying out the studies, the workers' start-up, the computation and
every database write), after this process has imported torch and run one trial. The
numbers are checked equal to the one-process run's (the same trial ids and final
objectives). Timings depend on what else runs on the machine: run it on a quiet one.

Run:  PYTHONPATH=. python benchmarks/bench_workers.py [--budget 12] [--steps 300] [--batch 16]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from optimlab.bench import TrialStore, optuna_bench, run_bench
from optimlab.bench.optuna_store import open_storage, read_rows
from optimlab.bench.protocol import trial_result

P = argparse.ArgumentParser(description=__doc__.split("\n")[0])
P.add_argument("--suite", default="functions-2d")
P.add_argument("--optimizers", default="sgd,momentum,adam")
P.add_argument("--budget", type=int, default=12)
P.add_argument("--seeds", type=int, default=2)
P.add_argument("--steps", type=int, default=300)
P.add_argument("--batch", type=int, default=16)
P.add_argument("--workers", default="1,2,4")


def main() -> None:
    a = P.parse_args()
    args = dict(budget=a.budget, seeds=a.seeds, steps=a.steps, search="random")
    with tempfile.TemporaryDirectory() as tmp:
        run_bench("booth", "sgd", budget=1, seeds=1, steps=5, store=Path(tmp) / "warm.sqlite")  # imports, first use
        t0 = time.perf_counter()
        ref = run_bench(a.suite, a.optimizers, store=Path(tmp) / "ref.sqlite", **args)
        base = time.perf_counter() - t0
        with TrialStore(Path(tmp) / "ref.sqlite", readonly=True) as st:
            want = {r["id"]: trial_result(r)["final"] for r in st}
        print(f"{ref.total} trials ({a.suite} × {a.optimizers}, budget {a.budget}, {a.seeds} seeds, {a.steps} steps); "
              f"{os.cpu_count()} CPUs")
        print(f"{'run':<34}{'wall s':>9}{'trials/s':>10}{'vs one process':>16}")
        print(f"{'built-in store, one process':<34}{base:9.2f}{ref.total / base:10.1f}{1.0:15.2f}x")
        for n in (int(w) for w in a.workers.split(",")):
            url = f"sqlite:///{Path(tmp) / f'w{n}.db'}"
            t0 = time.perf_counter()
            run = optuna_bench(a.suite, a.optimizers, storage=url, batch=a.batch, workers=n, **args)
            wall = time.perf_counter() - t0
            got = {r["id"]: trial_result(r)["final"] for r in read_rows(open_storage(url))[1]}
            same = "same numbers" if got == want else "DIFFERENT NUMBERS"
            print(f"{f'Optuna SQLite, {n} worker' + ('s' if n > 1 else ''):<34}{wall:9.2f}{run.total / wall:10.1f}"
                  f"{base / wall:15.2f}x  {same}")


if __name__ == "__main__":
    main()
