"""Step time of every optimlab optimizer next to torch.optim, as paired ratios in one run.

For each case (total float32 parameters on CPU, in 10 equal tensors or in 200 tensors
shaped like a small GPT, half of them vectors of at most 224 elements) and each
optimizer, one ``step()`` is timed for:

* ``optimlab``: the defaults (``fused=None``: torch's fused kernel where the arithmetic
  is identical, the readable formula otherwise; non-finite-gradient check on);
* ``no check``: the same with ``nonfinite="ignore"``, to show what the check costs;
* ``readable``: ``fused=False`` (the readable formula, check on);
* ``readable no check``: ``fused=False, nonfinite="ignore"``, to show what the rule costs
  without the check's read of the gradients (its column: ÷ torch's default path);
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

Modern methods and Muon (issue 10, ``--group modern``): each next to the implementation it is
checked against, in the same run and the same round-robin: ``optimlab`` (defaults, check on),
``no check`` (``nonfinite="ignore"``), ``reference`` (the authors' package or pytorch-optimizer,
its defaults; ``torch.optim.Muon`` for Muon) and ``reference foreach`` where the reference has a
``foreach`` switch. Muon gets only the matrices of each case (it takes nothing else). Target: no
method slower than its reference. Not timed: SparseAdam (sparse gradients only), LBFGS and the
higher-order methods (their cost is closure evaluations), Keras' classes (their reference is Keras).

Run: ``PYTHONPATH=. python benchmarks/step_time.py [--cases 1M/10 10M/10 1M/200 10M/200]
[--reps 15] [--threads 1] [--only Adam SGD] [--group twins|modern|all]``. Always exits 0 (it
reports, it does not judge).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import time
import warnings
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
# not timed here (see MODERN for Muon): LBFGS (a closure and a
# line search: its cost is evaluations, not the update), SparseAdam (sparse gradients only)
IMPLS = ("optimlab", "no check", "readable", "readable no check", "torch", "foreach", "fused")


def _references() -> dict[str, tuple]:
    """label -> (optimlab factory, reference factory, whether the reference has ``foreach``)."""
    import adabelief_pytorch  # lazy: test-only reference packages, needed only by --group modern
    import adopt
    import lion_pytorch
    import prodigyopt
    import pytorch_optimizer as po
    import schedulefree
    import sophia_opt

    def pair(ours, ref, foreach=False, **kw):
        return (lambda ps, **x: ours(ps, **kw, **x)), (lambda ps, **x: ref(ps, **kw, **x)), foreach

    return {
        "Muon": pair(oo.Muon, torch.optim.Muon, lr=0.02),
        "Lion": pair(oo.Lion, lion_pytorch.Lion, lr=1e-4),
        "AdaBelief": pair(oo.AdaBelief, lambda ps, **k: adabelief_pytorch.AdaBelief(ps, print_change_log=False, **k),
                          lr=1e-3),
        "SGDScheduleFree": pair(oo.SGDScheduleFree, schedulefree.SGDScheduleFree, lr=0.1),
        "AdamWScheduleFree": pair(oo.AdamWScheduleFree, schedulefree.AdamWScheduleFree, foreach=True, lr=1e-3),
        "RAdamScheduleFree": pair(oo.RAdamScheduleFree, schedulefree.RAdamScheduleFree, foreach=True, lr=1e-3),
        "Prodigy": pair(oo.Prodigy, prodigyopt.Prodigy, lr=1.0),
        "ADOPT": pair(oo.ADOPT, adopt.ADOPT, foreach=True, lr=1e-3),
        "LAMB": pair(oo.LAMB, po.Lamb, foreach=True, lr=1e-3),
        "LARS": pair(oo.LARS, po.LARS, foreach=True, lr=1e-3),
        "Lookahead(AdamW)": ((lambda ps, **x: oo.Lookahead(torch.optim.AdamW(ps, foreach=True))),  # no check of its own
                             (lambda ps, **x: po.Lookahead(torch.optim.AdamW(ps, foreach=True), **x)), False),
        "Sophia-G": pair(oo.Sophia, sophia_opt.SophiaG, lr=1e-4),
        "AdEMAMix": pair(oo.AdEMAMix, po.AdEMAMix, foreach=True, lr=1e-3),
        "MARS": pair(oo.MARS, po.MARS, foreach=True, lr=3e-3),
        "SOAP": pair(oo.SOAP, po.SOAP, lr=3e-3),
    }


def parse_case(case: str) -> tuple[int, int]:
    """``"1M/10"`` → (total float32 parameters, tensors): (1_000_000, 10)."""
    size, tensors = case.split("/")
    return int(float(size.rstrip("M")) * 1e6), int(tensors)


def shapes(total: int, tensors: int) -> list[tuple[int, ...]]:
    """``tensors`` equal vectors, or (200) a small GPT's mix: half biases and norm weights of
    32–224 elements, half matrices sharing the rest."""
    if tensors != 200:
        return [(total // tensors,)] * tensors
    small = [32 * (1 + i % 7) for i in range(100)]
    per = (total - sum(small)) // 100
    rows = max(1, round(per ** 0.5))
    return [(n,) for n in small] + [(rows, per // rows)] * 100


def make_params(total: int, tensors: int, matrices: bool = False) -> list[torch.Tensor]:
    """Parameters with gradients; ``matrices``: only the case's matrices (10 equal tensors:
    each made a near-square matrix)."""
    g = torch.Generator().manual_seed(0)
    sh = shapes(total, tensors)
    if matrices:
        sh = [s for s in sh if len(s) == 2] or [(round(s[0] ** 0.5), s[0] // round(s[0] ** 0.5)) for s in sh]
    ps = [torch.randn(s, generator=g).requires_grad_() for s in sh]
    for p in ps:
        p.grad = torch.randn(p.shape, generator=g) * 1e-2
    return ps


def build(cls_name: str, kw: dict, total: int, tensors: int) -> dict[str, torch.optim.Optimizer]:
    ours, theirs = getattr(oo, cls_name), getattr(torch.optim, cls_name)
    impls = {
        "optimlab": ours(make_params(total, tensors), **kw),
        "no check": ours(make_params(total, tensors), nonfinite="ignore", **kw),
        "readable": ours(make_params(total, tensors), fused=False, **kw),
        "readable no check": ours(make_params(total, tensors), fused=False, nonfinite="ignore", **kw),
        "torch": theirs(make_params(total, tensors), **kw),
        "foreach": theirs(make_params(total, tensors), foreach=True, **kw),
    }
    if cls_name in TORCH_FUSED:
        impls["fused"] = theirs(make_params(total, tensors), fused=True, **kw)
    return impls


def build_modern(label: str, refs: dict[str, tuple], total: int, tensors: int) -> dict[str, torch.optim.Optimizer]:
    ours, ref, has_foreach = refs[label]
    mats = label == "Muon"
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # the references' chatter
        warnings.simplefilter("ignore")
        impls = {"optimlab": ours(make_params(total, tensors, mats)),
                 "no check": ours(make_params(total, tensors, mats), nonfinite="ignore"),
                 "reference": ref(make_params(total, tensors, mats))}
        if has_foreach:
            impls["reference foreach"] = ref(make_params(total, tensors, mats), foreach=True)
    for opt in impls.values():
        if hasattr(opt, "train"):  # schedule-free: step in train mode
            opt.train()
    return impls


def modern_row(label: str, case: str, times: dict[str, list[float]]) -> bool:
    r_ref, r_nc = paired(times, "optimlab", "reference"), paired(times, "no check", "reference")
    r_fe = paired(times, "optimlab", "reference foreach")
    ok = r_ref[0] <= 1.0 and (r_fe is None or r_fe[0] <= 1.0)
    ref = min(times["reference"]) * 1e3
    print(f"| {label} | {case} | {min(times['optimlab']) * 1e3:.3f} | {ref:.3f} | {fmt_ratio(r_ref)} | "
          f"{fmt_ratio(r_nc)} | {fmt_ratio(r_fe)} | {'met' if ok else 'MISSED'} |", flush=True)
    return ok


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
          "| readable ÷ foreach | readable ÷ torch default | readable no check ÷ torch default | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")


def row(label: str, case: str, times: dict[str, list[float]]) -> bool:
    ours = times["optimlab"]
    r_fu, r_nc = paired(times, "optimlab", "fused"), paired(times, "no check", "fused")
    r_fe, r_td = paired(times, "readable", "foreach"), paired(times, "readable", "torch")
    r_rn = paired(times, "readable no check", "torch")
    ok = r_fe[0] <= 1.0 and r_td[0] <= 1.0
    if label in FUSED_TARGETS:
        ok = ok and r_fu is not None and r_fu[0] <= FUSED_TARGET
    spread = (statistics.median(ours) - min(ours)) / min(ours) * 100
    fused = f"{min(times['fused']) * 1e3:.3f}" if "fused" in times else ""
    print(f"| {label} | {case} | {min(ours) * 1e3:.3f} | {spread:.0f}% | {fused} | {fmt_ratio(r_fu)} | "
          f"{fmt_ratio(r_nc)} | {fmt_ratio(r_fe)} | {fmt_ratio(r_td)} | {fmt_ratio(r_rn)} | "
          f"{'met' if ok else 'MISSED'} |", flush=True)
    return ok


def run_modern(args: argparse.Namespace, clock) -> list[str]:
    warnings.simplefilter("ignore", UserWarning)  # adopt's deprecation warnings at every step
    refs, missed = _references(), []
    print("\n| optimizer | case | optimlab ms | reference ms | optimlab ÷ reference | no check ÷ reference "
          "| optimlab ÷ reference foreach | target |")
    print("|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        total, tensors = parse_case(case)
        for label in refs:
            if args.only and label not in args.only:
                continue
            impls = build_modern(label, refs, total, tensors)
            times = time_blocks(impls, args.reps, args.block_ms, clock)
            del impls
            if not modern_row(label, case, times):
                missed.append(f"{label} {case}")
    return missed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", default=["1M/10", "10M/10", "1M/200", "10M/200"],
                    help="SIZE/TENSORS, e.g. 1M/10 (SIZE in M of float32 parameters)")
    ap.add_argument("--reps", type=int, default=15, help="timed blocks of steps per implementation")
    ap.add_argument("--block-ms", type=float, default=20.0, help="length of one timed block of steps")
    ap.add_argument("--only", nargs="*", default=None, help="optimizer labels to run (default: all)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steady on a shared machine)")
    ap.add_argument("--group", choices=("twins", "modern", "all"), default="all",
                    help="twins: the torch.optim twins; modern: issue 10's methods against their references")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    clock, clock_name = ((time.thread_time, "CPU time of the timing thread (time.thread_time)") if args.threads == 1
                         else (time.process_time, "CPU time of the process (time.process_time)"))
    header(args, clock_name)
    missed = []
    for case in args.cases if args.group != "modern" else []:
        total, tensors = parse_case(case)
        for label, cls_name, kw in CASES:
            if args.only and label not in args.only:
                continue
            impls = build(cls_name, kw, total, tensors)
            times = time_blocks(impls, args.reps, args.block_ms, clock)
            del impls
            if not row(label, case, times):
                missed.append(f"{label} {case}")
    if args.group != "twins":
        missed += run_modern(args, clock)
    print(f"\ntargets: optimlab ÷ fused <= {FUSED_TARGET} for {', '.join(sorted(FUSED_TARGETS))}; "
          "readable ÷ foreach <= 1 and readable ÷ torch default <= 1 for all; "
          "optimlab ÷ reference (and ÷ reference foreach) <= 1 for the modern methods")
    print("missed: " + (", ".join(missed) if missed else "none"))
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
