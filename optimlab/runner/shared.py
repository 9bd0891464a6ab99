"""Several optimizers on one function, one evaluation per step for all of them:
:func:`compare` and the lockstep driver under it, :func:`run_together`.

Runs of different optimizers on the same function need the same thing at every step: the
function's values and gradient at their current points. :func:`run_together` steps their
loops in lockstep and evaluates the function once per step on all their points together
(one forward and one backward of the concatenated (ΣR_i, d) parameters,
:func:`optimlab.runner.loop.evaluate_at`), then hands each loop its rows: the values and
gradients are those each loop would have computed alone, row for row, so the traces are
those of :func:`optimlab.runner.run`, bit for bit on every function tried (the 2-D classics,
formulas with ``exp``, ``sin`` and ``log``, Rosenbrock in 7 dimensions, float64 and float32).
The one difference seen: a function that sums over its coordinates may add them in another
order when torch's reduction gets more rows (Styblinski–Tang in 5 dimensions: some values
differ by the rounding of that sum, a few ulps; the gradients and paths do not), tested to
1e-12 relative in float64. A loop whose runs have all stopped drops out of the shared
evaluation.

A loop that needs evaluations of its own runs alone, as it did before sharing (:func:`alone_reason`
says why): closure methods (L-BFGS, Newton, BFGS, CG, Levenberg–Marquardt, NAG with a
closure) evaluate inside their step; the schedule-free methods take their gradient at
another point (y) than the one recorded; Sophia refreshes its curvature with evaluations of
its own; a noisy function draws its gradient noise per evaluation (a shared evaluation would
draw other numbers); a callable of the user's own may not be a pure function of its points;
a run that goes compiled after its first step (``compile=True``, or ``"auto"`` with a program
already built) keeps the compiled path.

The clock: each loop's recorded time is its own bookkeeping and updates plus the whole time
of every shared evaluation it took part in (what it would have spent evaluating by itself,
up to the larger batch), so times stay comparable between loops that share and loops that
run alone; the clocks of the loops of one call are not a partition of the wall time.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

import torch

from .._spec import run_labels
from ..engine import pick_threads, torch_threads
from ..functions import TestFunction
from ..record import Trace
from .loop import BatchRun, evaluate_at, prepare_batch
from .resolve import one_start, resolve_function, resolve_optimizer, run_label, suggested_start

__all__ = ["compare", "run_together", "alone_reason", "goes_compiled"]


def alone_reason(batch: BatchRun) -> str | None:
    """Why this prepared run needs evaluations of its own (it then runs alone), or None: it
    can share the function's evaluations with other runs on the same function."""
    loop = batch.loop
    fn = loop.fn
    if not isinstance(fn, TestFunction):
        return "a callable of your own may not be a pure function of its points (it may count or draw)"
    if fn.noise > 0:
        return "a noisy function draws its gradient noise per evaluation"
    if loop.closure_step:
        return f"{type(loop.opt).__name__} evaluates the function inside its step (a closure method)"
    if loop.modes:
        return f"{type(loop.opt).__name__} takes its gradient at another point than the one recorded (train/eval)"
    if loop.curvature is not None:
        return f"{type(loop.opt).__name__} refreshes its curvature with evaluations of its own"
    if goes_compiled(batch):
        return "the run goes compiled after its first step"
    return None


def goes_compiled(batch: BatchRun) -> bool:
    """Whether this prepared run switches to a compiled program after its first step
    (``compile=True``, or ``"auto"`` with the program built already): it then runs alone."""
    plan = batch.loop.compiled
    return plan is not None and (plan[2] is True or plan[1])


def run_together(batches: Sequence[BatchRun]) -> None:
    """Step every prepared run to its end. Those that can share (:func:`alone_reason`) and
    are on the same function (the same object, dtype, device and dimension) go in lockstep
    with one evaluation per step for all of them (with the torch threads the first run's
    ``threads`` gives for all their points); the others, and a group of one, run alone, one
    after the other in the order given, before the groups."""
    groups: dict[tuple, list[BatchRun]] = {}
    for b in batches:
        if alone_reason(b) is None:
            x = b.loop.x
            groups.setdefault((id(b.loop.fn), x.dtype, x.device, x.shape[1]), []).append(b)
    together = {id(b) for g in groups.values() if len(g) > 1 for b in g}
    for b in batches:
        if id(b) not in together:
            b.run()
    for g in groups.values():
        if len(g) > 1:
            _lockstep(g)


def _clock(base: float, t_start: float) -> Callable[[], float]:
    return lambda: base + (time.perf_counter() - t_start)


def _lockstep(batches: Sequence[BatchRun]) -> None:
    """Step the loops of ``batches`` (one function) together, one evaluation per step."""
    loops = [b.loop for b in batches]
    clocks, ks = [0.0] * len(loops), [0] * len(loops)
    live = list(range(len(loops)))
    with torch_threads(pick_threads(batches[0].threads, sum(loop.x0.size for loop in loops))):
        while live:
            t = time.perf_counter()
            f = evaluate_at(loops[0].fn, [loops[i].x for i in live])
            spent = time.perf_counter() - t
            going = []
            for i, f_i in zip(live, f.split([len(loops[i].x0) for i in live])):
                clock = _clock(clocks[i] + spent, time.perf_counter())
                if not loops[i].take(ks[i], f_i, clock):
                    going.append(i)
                    ks[i] += 1
                clocks[i] = clock()
            live = going


def compare(function: Any, optimizers: Mapping[str, Any] | Sequence[Any], start: Any = None, steps: int = 100, *,
            stop: Any = None, schedule: Any = None, dtype: torch.dtype = torch.float64, bound: float = 1e12,
            progress: Callable[[str, int], None] | None = None, threads: Any = None,
            compile: Any = "auto", share: bool = True) -> dict[str, Trace]:
    """Run each optimizer from the same start (default: the function's suggested one);
    returns ``{label: Trace}``.

    ``optimizers``: ``{label: optimizer}``, or a list of optimizers (specs, pairs,
    classes), each labelled by its spec (a spec given twice runs twice: ``adam``,
    ``adam #2``). ``progress`` is called as ``progress(label, step)`` after every step.

    ``share=True`` (default): the optimizers that can share the function's evaluations
    step in lockstep with one evaluation per step for all of them (:func:`run_together`:
    who cannot and why, and what the recorded clock is); each trace is the one
    :func:`optimlab.run` gives (to the bit, but for the rounding of a sum over coordinates).
    ``share=False`` runs each optimizer by itself (:func:`optimlab.run` exactly, bit for
    bit, and each clock its own run's): the option exists for timing one optimizer against
    another on its own clock, and for ``run``'s numbers to the last bit.

    >>> list(compare("lecture-quadratic", ["sgd:lr=0.01", "adam:lr=0.1", "sgd:lr=0.01"], (5, 5), 10))
    ['sgd:lr=0.01', 'adam:lr=0.1', 'sgd:lr=0.01 #2']
    """
    if isinstance(optimizers, (str, bytes)) or not isinstance(optimizers, (Mapping, Sequence)) or not optimizers:
        raise ValueError(f"optimizers must be a non-empty mapping {{label: optimizer}} or list of optimizers, "
                         f"got {optimizers!r}")
    if share is not True and share is not False:
        raise ValueError(f"share must be True or False, got {share!r}")
    if not isinstance(optimizers, Mapping):
        named = [o if isinstance(o, str) else run_label(*resolve_optimizer(o)[1:]) for o in optimizers]
        optimizers = dict(zip(run_labels(named), optimizers))
    fn = resolve_function(function)
    starts = one_start(suggested_start(fn) if start is None else start)
    batches = {}
    for label, opt in optimizers.items():
        tick = None if progress is None else (lambda k, label=str(label): progress(label, k))
        batches[label] = prepare_batch(fn, opt, starts, steps, stop=stop, schedule=schedule, labels=[str(label)],
                                       dtype=dtype, bound=bound, progress=tick, threads=threads, compile=compile)[0]
    if share:
        run_together(list(batches.values()))
    else:
        for b in batches.values():
            b.run()
    return {label: b.traces()[0] for label, b in batches.items()}
