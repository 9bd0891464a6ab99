"""Why small problems run on one torch thread: ms per epoch (or step) at each thread count.

Times ``Trainer.fit`` on MLPs of growing width (digits data shape: 64 inputs, 10 classes,
batch 32) and ``optimlab.run_batch`` on Rosenbrock with growing numbers of runs, at
1..cores threads and with the automatic choice (``threads=None``: one thread up to
``optimlab.engine.SMALL_WORK`` multiply-adds per step, else torch's setting). Variants
are interleaved, the median of the repeats is printed. A shared machine makes every
number noisy: compare the columns of one run, not runs of different days.

    PYTHONPATH=. python benchmarks/threads.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
from torch import nn

from optimlab.engine import SMALL_WORK, pick_threads
from optimlab.runner import run_batch
from optimlab.training import Trainer


def fit_ms(width: int, threads: int | None, epochs: int = 2) -> float:
    torch.manual_seed(0)
    X, y = torch.randn(1024, 64), torch.randint(0, 10, (1024,))
    model = nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10))
    t0 = time.perf_counter()
    Trainer(model, loss="cross_entropy", optimizer="adam").fit((X, y), batch_size=32, epochs=epochs, seed=0,
                                                               verbose=0, threads=threads)
    return (time.perf_counter() - t0) / epochs * 1e3


def run_ms(runs: int, threads: int | None, steps: int = 10) -> float:
    t0 = time.perf_counter()
    run_batch("rosenbrock", "adam", np.tile([-1.5, 2.0], (runs, 1)), steps, hyper={"lr": np.full(runs, 0.01)},
              record_params=False, threads=threads)
    return (time.perf_counter() - t0) / steps * 1e3


def table(name: str, unit: str, sizes: list[int], work, timed, repeats: int) -> None:
    counts = list(range(1, (os.cpu_count() or 1) + 1))
    print(f"\n{name}: {unit}, median of {repeats}")
    head = " ".join(f"{f'{n} thr':>9}" for n in counts)
    print(f"{'size':>10} {'work/step':>11} {head} {'auto':>9}  auto picks")
    for size in sizes:
        times: dict = {n: [] for n in [*counts, None]}
        for _ in range(repeats):
            for n in times:
                times[n].append(timed(size, n))
        auto = pick_threads(None, work(size))
        print(f"{size:>10} {work(size):>11.3g} " + " ".join(f"{statistics.median(times[n]):>9.2f}" for n in counts)
              + f" {statistics.median(times[None]):>9.2f}  {auto or 'torch: ' + str(torch.get_num_threads())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, torch's setting {torch.get_num_threads()} threads, "
          f"SMALL_WORK = {SMALL_WORK:,}; load average {load:.1f}")
    widths = [32, 128, 512, 1024]
    params = {w: 64 * w + w + w * w + w + w * 10 + 10 for w in widths}
    table("Trainer.fit, MLP 64-w-w-10, batch 32", "ms per epoch", widths, lambda w: params[w] * 32, fit_ms,
          args.repeats)
    table("run_batch, Rosenbrock, Adam", "ms per step", [10_000, 100_000, 400_000], lambda r: 2 * r, run_ms,
          args.repeats)


if __name__ == "__main__":
    main()
