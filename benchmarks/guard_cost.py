"""Where the non-finite guard's time goes (issue 16, item 1), as paired ratios in one run.

For SGD with momentum, Adam, AdamW and Adagrad (float32 on CPU, the cases of
``step_time.py``) one ``step()`` is timed, round-robin block by block, for:

* ``fused``: ``torch.optim`` with ``fused=True``;
* ``no check``: optimlab with ``nonfinite="ignore"`` (torch's fused kernel, no check);
* ``optimlab``: the defaults (the check on);
* ``no-op check``: the defaults with the check replaced by one that answers "finite" at
  once: if this equals ``no check``, the whole difference is the check's reduction
  (``optimlab.optim._guard.all_finite``) and nothing else in the step path;
* ``fused + check``: torch's fused step after ``all_finite`` of its gradients: the
  floor of any guard that reads the gradients in a pass of its own before the kernel;
* ``check alone``: ``all_finite`` again and again on the same gradients (they stay in cache);
* ``check in step``: how long ``all_finite`` takes inside the default step (a timing wrapper).

``bytes`` is what the check reads (4 B per element) over what the fused update moves
(reads and writes of parameter, gradient and state, 4 B each): the check's share of
the memory traffic, which bounds its cost from below on a memory-bound update.

Run: ``PYTHONPATH=. python benchmarks/guard_cost.py [--cases 1M/10 10M/10 1M/200 10M/200]
[--reps 11] [--only Adam]``. CPU time of the timing thread, one torch thread. On a shared
machine treat differences under ~0.1 in a ratio as noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import datetime, timezone

import torch
from step_time import fmt_ratio, make_params, paired, parse_case, time_blocks

import optimlab.optim as oo
import optimlab.optim._base as base
from optimlab.optim._guard import all_finite

# label, class name, kwargs, 4-byte words the fused update reads + writes per element
CASES = [("SGD momentum", "SGD", dict(lr=0.01, momentum=0.9), 3 + 2),
         ("Adam", "Adam", dict(lr=1e-3), 4 + 3),
         ("AdamW", "AdamW", dict(lr=1e-3), 4 + 3),
         ("Adagrad", "Adagrad", dict(lr=0.01), 3 + 2)]


class _Call:
    """Something with a ``step()`` for :func:`step_time.time_blocks`."""

    def __init__(self, fn):
        self.step = fn


def _grads(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p.grad for p in opt.param_groups[0]["params"]]


def _with_check(opt: torch.optim.Optimizer, check) -> _Call:
    """``opt.step()`` with the step path's ``all_finite`` replaced by ``check``."""
    def step():
        base.all_finite = check
        try:
            opt.step()
        finally:
            base.all_finite = all_finite
    return _Call(step)


def build(cls_name: str, kw: dict, total: int, tensors: int, spent: list[int]) -> dict:
    ours, theirs = getattr(oo, cls_name), getattr(torch.optim, cls_name)
    fused2 = theirs(make_params(total, tensors), fused=True, **kw)
    hot = [p.grad for p in make_params(total, tensors)]

    def timed(grads):
        t0 = time.thread_time_ns()
        ok = all_finite(grads)
        spent.append(time.thread_time_ns() - t0)
        return ok

    return {"fused": theirs(make_params(total, tensors), fused=True, **kw),
            "no check": ours(make_params(total, tensors), nonfinite="ignore", **kw),
            "optimlab": ours(make_params(total, tensors), **kw),
            "no-op check": _with_check(ours(make_params(total, tensors), **kw), lambda grads: True),
            "fused + check": _Call(lambda: (all_finite(_grads(fused2)), fused2.step())),
            "check alone": _Call(lambda: all_finite(hot)),
            "check in step": _with_check(ours(make_params(total, tensors), **kw), timed)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", default=["1M/10", "10M/10", "1M/200", "10M/200"])
    ap.add_argument("--reps", type=int, default=11, help="timed blocks of steps per implementation")
    ap.add_argument("--block-ms", type=float, default=20.0)
    ap.add_argument("--only", nargs="*", default=None, help="optimizer labels to run (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print("# the non-finite guard's cost, float32 on CPU, paired ratios\n")
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}; "
          f"{os.cpu_count()} CPU cores, 1 torch thread; load average "
          f"{os.getloadavg()[0]:.1f}; CPU time of the timing thread; {args.reps} blocks of ~{args.block_ms:g} ms "
          "per implementation, round-robin; ms: fastest block; ratios: median of paired block ratios (25th–75th)\n")
    print("| optimizer | case | fused ms | check alone ms | check in step ms | optimlab ÷ fused | no check ÷ fused "
          "| no-op check ÷ no check | fused + check ÷ fused | bytes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        total, tensors = parse_case(case)
        for label, cls_name, kw, words in CASES:
            if args.only and label not in args.only:
                continue
            spent: list[int] = []
            times = time_blocks(build(cls_name, kw, total, tensors, spent), args.reps, args.block_ms,
                                time.thread_time)
            print(f"| {label} | {case} | {min(times['fused']) * 1e3:.3f} | {min(times['check alone']) * 1e3:.3f} | "
                  f"{statistics.median(spent) / 1e6:.3f} | {fmt_ratio(paired(times, 'optimlab', 'fused'))} | "
                  f"{fmt_ratio(paired(times, 'no check', 'fused'))} | "
                  f"{fmt_ratio(paired(times, 'no-op check', 'no check'))} | "
                  f"{fmt_ratio(paired(times, 'fused + check', 'fused'))} | {1 / words:.0%} |", flush=True)
    print(f"\nload average after the run: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
