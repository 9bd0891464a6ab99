"""Step time of every optimlab optimizer next to torch.optim, as paired ratios in one run.

For each case (total float32 parameters on CPU, in 10 equal tensors or in 200 tensors
shaped like a small GPT, half of them vectors of at most 224 elements) and each
optimizer, one ``step()`` is timed for:

* ``optimlab``: the defaults (``fused=None``: torch's fused kernel where the arithmetic
  is identical, the readable formula otherwise; non-finite-gradient check on);
* ``no check``: the same with ``nonfinite="ignore"``, to show what the check costs;
* ``readable``: ``fused=False`` (the readable formula, check on);
* ``torch``: ``torch.optim`` with its defaults (on CPU the per-tensor loop);
* ``foreach``: ``torch.optim`` with ``foreach=True``;
* ``fused``: ``torch.optim`` with ``fused=True`` where torch has a kernel (SGD, Adagrad,
  Adam, AdamW).

Made for a shared machine: one torch thread by default; CPU time of the timing thread
(``time.thread_time``; ``time.process_time`` with more threads), so time the scheduler
gives to other programs is not counted; the implementations take turns block by block
(each block ~``--block-ms`` of consecutive steps), and each ratio is the median of the
ratios of blocks timed next to each other, with their spread (25th–75th percentile).
Times are the minimum over the blocks. Targets (issue 16): ``optimlab`` within 1.15×
torch fused for SGD, Adam, AdamW, Adagrad; ``readable`` at most 1.0× torch foreach and
at most torch's default path.

Run: ``PYTHONPATH=. python benchmarks/step_time.py [--cases 1M/10 10M/10 1M/200 10M/200]
[--reps 15] [--threads 1] [--only Adam SGD]``. Always exits 0 (it reports, it does not judge).
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

FUSED_TARGET = 1.15
FUSED_TARGETS = {"SGD", "SGD momentum", "SGD nesterov", "Adagrad", "Adam", "Adam amsgrad", "AdamW"}
TORCH_FUSED = {"SGD", "Adagrad", "Adam", "AdamW"}

# label, class name (the same in optimlab and torch.optim), shared kwargs
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
    ("ASGD", "ASGD", dict(lr=1e-2)),
    ("Rprop", "Rprop", dict(lr=1e-2)),
    ("Adafactor", "Adafactor", dict(lr=1e-2)),
]
# not timed here: Muon (2-D parameters only, and no torch foreach), LBFGS (a closure and a
# line search: its cost is evaluations, not the update), SparseAdam (sparse gradients only)
IMPLS = ("optimlab", "no check", "readable", "torch", "foreach", "fused")


def shapes(total: int, tensors: int) -> list[tuple[int, ...]]:
    """``tensors`` equal vectors, or (200) a small GPT's mix: half biases and norm weights of
    32–224 elements, half matrices sharing the rest."""
    if tensors != 200:
        return [(total // tensors,)] * tensors
    small = [32 * (1 + i % 7) for i in range(100)]
    per = (total - sum(small)) // 100
    rows = max(1, round(per ** 0.5))
    return [(n,) for n in small] + [(rows, per // rows)] * 100


def make_params(total: int, tensors: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ps = [torch.randn(s, generator=g).requires_grad_() for s in shapes(total, tensors)]
    for p in ps:
        p.grad = torch.randn(p.shape, generator=g) * 1e-2
    return ps


def build(cls_name: str, kw: dict, total: int, tensors: int) -> dict[str, torch.optim.Optimizer]:
    ours, theirs = getattr(oo, cls_name), getattr(torch.optim, cls_name)
    impls = {
        "optimlab": ours(make_params(total, tensors), **kw),
        "no check": ours(make_params(total, tensors), nonfinite="ignore", **kw),
        "readable": ours(make_params(total, tensors), fused=False, **kw),
        "torch": theirs(make_params(total, tensors), **kw),
        "foreach": theirs(make_params(total, tensors), foreach=True, **kw),
    }
    if cls_name in TORCH_FUSED:
        impls["fused"] = theirs(make_params(total, tensors), fused=True, **kw)
    return impls


def time_blocks(impls: dict[str, torch.optim.Optimizer], reps: int, block_ms: float,
                clock, warmup: int = 3) -> dict[str, list[float]]:
    """Seconds per step of each block; the implementations take turns block by block."""
    for opt in impls.values():
        for _ in range(warmup):
            opt.step()
    t0 = clock()
    for opt in impls.values():
        opt.step()
    per_step = (clock() - t0) / len(impls) * 1e3
    block = max(1, round(block_ms / max(per_step, 1e-3)))
    times: dict[str, list[float]] = {k: [] for k in impls}
    for _ in range(reps):
        for name, opt in impls.items():
            t0 = clock()
            for _ in range(block):
                opt.step()
            times[name].append((clock() - t0) / block)
    return times


def paired(times: dict[str, list[float]], a: str, b: str) -> tuple[float, float, float] | None:
    """Median and 25th/75th percentiles of the ratios a/b of blocks timed next to each other."""
    if a not in times or b not in times:
        return None
    r = sorted(x / y for x, y in zip(times[a], times[b]))
    q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0]] * 3
    return q[1], q[0], q[2]


def fmt_ratio(r: tuple[float, float, float] | None) -> str:
    return "" if r is None else f"{r[0]:.2f} ({r[1]:.2f}–{r[2]:.2f})"


def header(args: argparse.Namespace, clock_name: str) -> None:
    print("# optimizer step time, float32 on CPU, paired ratios\n")
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; "
          f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
          f"{torch.get_num_threads()} torch thread(s); load average before the run {os.getloadavg()[0]:.1f}; "
          f"{clock_name}; {args.reps} blocks of ~{args.block_ms:g} ms of steps per implementation, round-robin. "
          f"ms: the fastest block's time per step; spread: (median − min)/min of the blocks; ratios: "
          f"median of paired block ratios (25th–75th percentile)\n")
    print("| optimizer | case | optimlab ms | spread | fused ms | optimlab ÷ fused | no check ÷ fused "
          "| readable ÷ foreach | readable ÷ torch default | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")


def row(label: str, case: str, times: dict[str, list[float]]) -> bool:
    ours = times["optimlab"]
    r_fu, r_nc = paired(times, "optimlab", "fused"), paired(times, "no check", "fused")
    r_fe, r_td = paired(times, "readable", "foreach"), paired(times, "readable", "torch")
    ok = r_fe[0] <= 1.0 and r_td[0] <= 1.0
    if label in FUSED_TARGETS:
        ok = ok and r_fu is not None and r_fu[0] <= FUSED_TARGET
    spread = (statistics.median(ours) - min(ours)) / min(ours) * 100
    fused = f"{min(times['fused']) * 1e3:.3f}" if "fused" in times else ""
    print(f"| {label} | {case} | {min(ours) * 1e3:.3f} | {spread:.0f}% | {fused} | {fmt_ratio(r_fu)} | "
          f"{fmt_ratio(r_nc)} | {fmt_ratio(r_fe)} | {fmt_ratio(r_td)} | {'met' if ok else 'MISSED'} |", flush=True)
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", default=["1M/10", "10M/10", "1M/200", "10M/200"],
                    help="SIZE/TENSORS, e.g. 1M/10 (SIZE in M of float32 parameters)")
    ap.add_argument("--reps", type=int, default=15, help="timed blocks of steps per implementation")
    ap.add_argument("--block-ms", type=float, default=20.0, help="length of one timed block of steps")
    ap.add_argument("--only", nargs="*", default=None, help="optimizer labels to run (default: all)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steady on a shared machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    clock, clock_name = ((time.thread_time, "CPU time of the timing thread (time.thread_time)") if args.threads == 1
                         else (time.process_time, "CPU time of the process (time.process_time)"))
    header(args, clock_name)
    missed = []
    for case in args.cases:
        size, tensors = case.split("/")
        total = int(float(size.rstrip("M")) * 1e6)
        for label, cls_name, kw in CASES:
            if args.only and label not in args.only:
                continue
            impls = build(cls_name, kw, total, int(tensors))
            times = time_blocks(impls, args.reps, args.block_ms, clock)
            del impls
            if not row(label, case, times):
                missed.append(f"{label} {case}")
    print(f"\ntargets: optimlab ÷ fused <= {FUSED_TARGET} for {', '.join(sorted(FUSED_TARGETS))}; "
          "readable ÷ foreach <= 1 and readable ÷ torch default <= 1 for all")
    print("missed: " + (", ".join(missed) if missed else "none"))
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
