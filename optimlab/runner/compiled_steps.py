"""A function loop's steps done by its compiled program (:mod:`optimlab.runner.compiled`
decides whether and when, :mod:`optimlab.runner.programs` makes the program): every
``program.chunk`` steps are one call, and the loop records them, stops runs and steps its
schedule exactly as its eager steps do (:class:`optimlab.runner.loop` 's ``take``)."""

from __future__ import annotations

import time
import warnings
from typing import Any, Iterator, Mapping

import torch

from ..engine import divergent, none_diverged
from .programs import Program, hyper_layout

__all__ = ["run_compiled", "lr_factors"]


def run_compiled(loop: Any, program: Program, hyper_t: Mapping[str, Any], k: int, t_prev: float) -> None:
    """Take the function loop ``loop`` (which has made ``k`` steps in ``t_prev`` seconds) to
    its end with ``program``: the same records, stops and learning rates as its eager steps,
    step by step (its rules, bound and ``progress``); the clock of a step is interpolated
    within its call."""
    R, x = len(loop.x0), loop.x.detach().clone()
    dtype = x.dtype
    rule, f_min, progress = loop.rule, loop.f_min, loop.progress
    lr = hyper_t.get("lr")
    base = lr if isinstance(lr, torch.Tensor) else torch.ones((R, 1), dtype=dtype)
    factors = lr_factors(loop, 1.0 if isinstance(lr, torch.Tensor) else loop.group["lr"])
    flat_h = hyper_layout(dict(hyper_t))[1]
    state = [loop.opt.state[loop.x][n] for n in program.state_names]
    active = torch.from_numpy(loop.state.active.copy())
    t0 = time.perf_counter() - t_prev
    done = False
    f_t = None
    while not done:
        f_k = [next(factors) for _ in range(program.chunk)]
        if f_t is None or loop.runs_schedule is not None or loop.sched is not None:  # constant without a schedule
            f_t = torch.tensor(f_k, dtype=dtype)
        x, state, V, G, P, tops, low = program(x, active, base, f_t, flat_h, state)
        t_now = time.perf_counter() - t0
        V, G, P, tops = V.numpy(), G.numpy(), P.numpy(), tops.numpy()
        n = program.chunk
        times = [t_prev + (t_now - t_prev) * (i + 1) / n for i in range(n)]
        # the eager loop's divergence rule on each step's records (a run that diverged took the
        # call's remaining steps; what it recorded after is never read); the usual call passes the
        # quick test of the active runs' largest |value| and |coordinate| (NaN for a gradient norm
        # that is not finite)
        fine = none_diverged(tops, bound=loop.bound, magnitudes=True)
        bad = [None if fine else divergent(V[i], grad_norms=G[i], points=P[i], bound=loop.bound) for i in range(n)]
        # no rule, nothing diverged, not the last step: no run stops in this call, record it whole
        whole = k > 0 and k + n <= loop.steps and not rule.rules() and all(b is None for b in bad)
        if whole:
            loop.record_block(k, V, G, P, times, low=low.numpy())
        for i in range(n):
            if not whole and loop.observe(k, V[i], G[i], P[i], times[i], bad[i], rule, f_min):
                done = True
                break
            loop.record_lr(k, loop.group["lr"] if loop.runs_schedule is None and loop.sched is None
                           else base * f_k[i] if loop.runs_schedule is not None else f_k[i])
            if loop.closure_step:  # the closure's evaluations of this step, as step() counts them
                loop.counts += (program.calls, program.calls, 0)
                loop.evals.append(loop.counts.copy())
            k += 1
            if progress is not None:
                progress(k)
        t_prev = t_now
        if not loop.state.all_active:  # while every run goes on, the mask stays the one tensor
            active = torch.from_numpy(loop.state.active.copy())
    with torch.no_grad():
        loop.x.copy_(x)


def lr_factors(loop: Any, lr: float) -> Iterator[float]:
    """The learning-rate factor of each step for a compiled run, stepping the loop's schedule
    as its eager ``step`` does: the :class:`~optimlab.runner.run_schedule.RunSchedule`'s factor (tensor
    learning rates), the scheduled lr itself
    (a number learning rate: the base is then 1), or ``lr`` throughout (no schedule)."""
    while True:
        if loop.runs_schedule is not None:  # proportional to the base lr: the compiled choice refuses the others
            yield loop.runs_schedule.factor()
            loop.runs_schedule.step()
        elif loop.sched is not None:
            yield loop.group["lr"]
            with warnings.catch_warnings():  # the loop's optimizer is stepped by the program, not here
                warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
                loop.sched.step()
        else:
            yield lr
