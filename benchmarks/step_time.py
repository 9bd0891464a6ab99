"""Step time of every optimlab optimizer next to torch.optim, measured in the same run.

For each size (default 1M and 10M float32 parameters in 10 tensors, on CPU) and each
optimizer, one ``step()`` is timed for:

* optimlab with its defaults (``fused=None``: torch's fused kernel where the
  arithmetic is identical, the readable formula otherwise; non-finite-gradient
  check on);
* optimlab with ``nonfinite="ignore"`` (the same without the check, to show its cost);
* ``torch.optim`` with ``foreach=True``;
* ``torch.optim`` with ``fused=True`` where torch has a fused kernel (SGD, Adagrad,
  Adam, AdamW).

The implementations are timed round-robin in blocks of consecutive steps (~40 ms
each, repeated), so a change in machine load hits all of them alike; the table
shows the median time per step in milliseconds and the ratios. Targets: no optimlab
optimizer slower than torch's foreach path; Adam, AdamW, SGD and Adagrad within 1.3× of
torch's fused kernels.

Run: ``PYTHONPATH=. python benchmarks/step_time.py [--sizes 1e6 1e7] [--reps 11] [--threads N]``.
Always exits 0 (it reports, it does not judge).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import datetime, timezone

import torch

import optimlab.optim as oo

TENSORS = 10
FOREACH_TARGET, FUSED_TARGET = 1.0, 1.3

# name, optimlab constructor, torch class (None: compare with SGD nesterov), shared kwargs
CASES = [
    ("SGD", "SGD", dict(lr=0.01)),
    ("SGD momentum", "SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD nesterov", "SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("Adagrad", "Adagrad", dict(lr=0.01)),
    ("RMSprop", "RMSprop", dict(lr=0.01)),
    ("RMSprop centered+momentum", "RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adadelta", "Adadelta", dict()),
    ("Adam", "Adam", dict(lr=1e-3)),
    ("Adam amsgrad", "Adam", dict(lr=1e-3, amsgrad=True)),
    ("AdamW", "AdamW", dict(lr=1e-3)),
    ("Adamax", "Adamax", dict(lr=1e-3)),
    ("NAdam", "NAdam", dict(lr=1e-3)),
    ("RAdam", "RAdam", dict(lr=1e-3)),
]
FUSED_TARGETS = {"SGD", "SGD momentum", "SGD nesterov", "Adagrad", "Adam", "Adam amsgrad", "AdamW"}
TORCH_FUSED = {"SGD", "Adagrad", "Adam", "AdamW"}


def make_params(total: int, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    per = total // TENSORS
    ps = [torch.randn(per, generator=g).requires_grad_() for _ in range(TENSORS)]
    for p in ps:
        p.grad = torch.randn(per, generator=g) * 1e-2
    return ps


def build(label: str, cls_name: str, kw: dict, total: int) -> dict[str, torch.optim.Optimizer]:
    impls = {
        "optimlab": getattr(oo, cls_name)(make_params(total, 0), **kw),
        "optimlab, no check": getattr(oo, cls_name)(make_params(total, 0), nonfinite="ignore", **kw),
        "torch foreach": getattr(torch.optim, cls_name)(make_params(total, 0), foreach=True, **kw),
    }
    if cls_name in TORCH_FUSED:
        impls["torch fused"] = getattr(torch.optim, cls_name)(make_params(total, 0), fused=True, **kw)
    return impls


def time_round_robin(impls: dict[str, torch.optim.Optimizer], reps: int, block_ms: float,
                     warmup: int = 3) -> dict[str, float]:
    """Median milliseconds per step. Each sample is a block of consecutive steps lasting
    about ``block_ms``, and the implementations take turns block by block, so that
    the scheduler's pauses on a shared machine fall on all of them alike."""
    for opt in impls.values():
        for _ in range(warmup):
            opt.step()
    t0 = time.perf_counter()
    for opt in impls.values():
        opt.step()
    per_step = (time.perf_counter() - t0) / len(impls) * 1e3
    block = max(1, round(block_ms / max(per_step, 1e-3)))
    times: dict[str, list[float]] = {k: [] for k in impls}
    for _ in range(reps):
        for name, opt in impls.items():
            t0 = time.perf_counter()
            for _ in range(block):
                opt.step()
            times[name].append((time.perf_counter() - t0) / block)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def fmt_size(n: int) -> str:
    return f"{n / 1e6:g}M"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7], help="total parameters per run")
    ap.add_argument("--reps", type=int, default=11, help="timed blocks of steps per implementation (median)")
    ap.add_argument("--block-ms", type=float, default=40.0, help="length of one timed block of steps")
    ap.add_argument("--only", nargs="*", default=None, help="optimizer labels to run (default: all)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"# optimizer step time, float32 on CPU, {TENSORS} tensors\n")
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; "
          f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
          f"{torch.get_num_threads()} torch threads; load average before the run "
          f"{os.getloadavg()[0]:.1f}; median over {args.reps} blocks of ~{args.block_ms:g} ms of steps, "
          f"timed round-robin\n")
    print("| optimizer | params | optimlab ms | optimlab without check ms | torch foreach ms | torch fused ms "
          "| optimlab / foreach | optimlab / fused | check cost | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    missed = []
    for size in args.sizes:
        total = int(size)
        for label, cls_name, kw in CASES:
            if args.only and label not in args.only:
                continue
            impls = build(label, cls_name, kw, total)
            ms = time_round_robin(impls, args.reps, args.block_ms)
            del impls
            ours, fe, fu = ms["optimlab"], ms["torch foreach"], ms.get("torch fused")
            r_fe = ours / fe
            r_fu = ours / fu if fu else None
            ok = r_fe <= FOREACH_TARGET and (label not in FUSED_TARGETS or (r_fu is not None and r_fu <= FUSED_TARGET))
            if not ok:
                missed.append(f"{label} {fmt_size(total)}")
            check = (ours - ms["optimlab, no check"]) / ours * 100
            print(f"| {label} | {fmt_size(total)} | {ours:.2f} | {ms['optimlab, no check']:.2f} | {fe:.2f} | "
                  f"{'' if fu is None else f'{fu:.2f}'} | {r_fe:.2f} | {'' if r_fu is None else f'{r_fu:.2f}'} | "
                  f"{check:+.0f}% | {'met' if ok else 'MISSED'} |", flush=True)
    print(f"\ntargets: optimlab / foreach <= {FOREACH_TARGET}; optimlab / fused <= {FUSED_TARGET} for "
          f"{', '.join(sorted(FUSED_TARGETS))}")
    print("missed: " + (", ".join(missed) if missed else "none"))
    print(f"load average after the run: {os.getloadavg()[0]:.1f} (on a shared machine, compare runs with a low one)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
