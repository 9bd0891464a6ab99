"""The runs themselves: :func:`run` and :func:`run_batch` step optimizers on a function,
many runs as one batched computation, and record each as a Trace (:func:`prepare_batch`
builds a run without stepping it, for :mod:`optimlab.runner.shared`)."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..engine import RECORD_CHUNK, Freezer, RunState, divergent, grown, has_modes, no_gc, pick_threads, torch_threads
from ..optim import Optimizer as _OptimlabOptimizer
from ..record import RECORDS, Trace, to_jsonable
from ..stopping import AnyOf, StopInfo, as_rule
from .compiled import check_compile, choose, obtain, switch_now
from .compiled_steps import run_compiled
from .curvature import FunctionHessian
from .resolve import (
    make_scheduler,
    needs_closure,
    new_params,
    one_start,
    resolve_function,
    resolve_optimizer,
    runs_layout,
    runs_options,
    start_points,
    suggested_start,
    takes_tensor_hyper,
)
from .run_schedule import RunSchedule
from .traces import BatchTraces

__all__ = ["run", "run_batch", "prepare_batch", "BatchRun", "evaluate_at"]


def _f_min(fn: Any) -> float:
    try:
        return float(getattr(fn, "f_min", float("nan")))
    except (TypeError, ValueError):
        return float("nan")


# ------------------------------------------------------------------------ running
def _same_lr(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] is b[0] and a[1] == b[1]
    return a == b


def run_batch(function: Any, optimizer: Any, starts: Any, steps: int = 100, *,
              hyper: Mapping[str, Sequence] | None = None, stop: Any = None, schedule: Any = None,
              labels: Sequence[str] | None = None, dtype: torch.dtype = torch.float64, bound: float = 1e12,
              record_params: bool = True, progress: Callable[[int], None] | None = None,
              threads: Any = None, compile: Any = "auto", record: str = "all") -> list[Trace]:
    """R runs of one optimizer as one batched computation; returns R traces.

    ``starts``: (R, d) start points (or one point, repeated for every run when
    ``hyper`` says how many runs there are). ``hyper``: ``{name: R values}`` for
    hyperparameters that differ between runs (``"betas"``: R pairs); they become
    (R, 1) tensors that broadcast in the optimizer. A run stops on its own (rules,
    divergence) while the others go on; its trace ends there (the rules of
    :mod:`optimlab.engine`).

    ``record_params=False`` keeps only the start and the last point in
    ``trace.params`` (for very large sweeps). ``record``: what is kept of each step, and
    so what the memory grows with: ``"all"`` (default) every series; ``"values"`` only the
    values (``series`` holds ``"values"`` and the start and last point); ``"final"``
    nothing per step, O(R) memory whatever the steps: ``series["params"]`` holds the start
    and last point, ``meta["final_value"]`` and ``meta["best_value"]`` the last recorded
    value and the lowest finite one (both need ``record_params=False``). ``progress`` is called with the step
    number after every step. ``threads``: torch's intra-op threads during the run
    (1..cores); by default ``$OPTIMLAB_THREADS``, else one thread when the runs hold at
    most :data:`optimlab.engine.SMALL_WORK` numbers (R·d), else torch's setting; the
    caller's count is restored afterwards.

    ``compile``: ``"auto"`` (default), ``True`` or ``False``: whether the steps run as a
    compiled program (:mod:`optimlab.runner.compiled`): the same records within rounding
    (1e-12 relative in float64, tested), many times faster once built. ``"auto"`` uses a
    program already built (in this process or in the disk cache) and builds one only for a
    run that has shown it is long (:data:`~optimlab.runner.compiled.SWITCH_AFTER`: it then
    switches in the middle); ``True`` builds it whatever it costs, and says why when
    the run cannot be compiled; ``False`` always steps eagerly.

    Methods that reduce over a whole parameter (Adafactor, Muon) get the runs declared
    (:func:`runs_options`); L-BFGS, whose parameters are one vector, does each run by
    itself, one after the other (:func:`runs_layout`). Either way each trace is the run alone.
    """
    batches = prepare_batch(function, optimizer, starts, steps, hyper=hyper, stop=stop, schedule=schedule,
                            labels=labels, dtype=dtype, bound=bound, record_params=record_params, progress=progress,
                            threads=threads, compile=compile, record=record)
    for b in batches:
        b.run()
    with no_gc():  # R traces that stay alive: no collector passes over the heap meanwhile
        return [t for b in batches for t in b.traces()]


class BatchRun:
    """One :func:`run_batch` made ready and not yet stepped (:func:`prepare_batch`): its loop
    (``loop``: the parameter, the optimizer, the records, the stopping rules and the compiled
    plan), the caller's ``threads`` and what its traces say. :meth:`run` steps it by itself;
    :func:`optimlab.runner.shared.run_together` steps several of them in lockstep."""

    def __init__(self, loop: "_FunctionLoop", threads: Any, n_threads: Any, config: tuple):
        self.loop, self.threads, self.n_threads, self.config = loop, threads, n_threads, config

    def run(self) -> None:
        """Step every run until it stops, by itself (the loop evaluates the function on its own)."""
        with torch_threads(self.n_threads):
            self.loop.run()

    @property
    def compiled_from_start(self) -> bool:
        """Whether the steps run as a compiled program from the second step on (``compile=True``,
        or ``"auto"`` with the program already built)."""
        plan = self.loop.compiled
        return plan is not None and (plan[2] is True or plan[1])

    def traces(self) -> BatchTraces:
        """One Trace per run, each made when first read (:class:`~optimlab.runner.traces.BatchTraces`),
        once :meth:`run` (or a driver) has stepped the loop to its end."""
        return BatchTraces(self.loop, *self.config)


def prepare_batch(function: Any, optimizer: Any, starts: Any, steps: int = 100, *,
                  hyper: Mapping[str, Sequence] | None = None, stop: Any = None, schedule: Any = None,
                  labels: Sequence[str] | None = None, dtype: torch.dtype = torch.float64, bound: float = 1e12,
                  record_params: bool = True, progress: Callable[[int], None] | None = None,
                  threads: Any = None, compile: Any = "auto", record: str = "all") -> list[BatchRun]:
    """:func:`run_batch`'s arguments checked and its loop built, nothing stepped yet: one
    :class:`BatchRun`, or one per run for an optimizer whose runs go alone (L-BFGS)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    compile = check_compile(compile)
    if record not in RECORDS:
        raise ValueError(f"record must be one of {', '.join(map(repr, RECORDS))}, got {record!r}")
    if record != "all" and record_params:
        raise ValueError(f"record={record!r} keeps only the start and last point: pass record_params=False")
    fn = resolve_function(function)
    factory, name, options = resolve_optimizer(optimizer)
    hyper = dict(hyper or {})
    x0 = start_points(starts, hyper, fn)
    n_threads = pick_threads(threads, x0.size)
    if labels is not None and len(labels) != len(x0):
        raise ValueError(f"labels must have {len(x0)} entries, got {len(labels)}")
    if len(x0) > 1 and runs_layout(optimizer) == "alone":
        return [b for r in range(len(x0)) for b in prepare_batch(
            function, optimizer, x0[r:r + 1], steps, hyper={k: list(v)[r:r + 1] for k, v in hyper.items()},
            stop=stop, schedule=schedule, labels=None if labels is None else labels[r:r + 1], dtype=dtype,
            bound=bound, record_params=record_params, progress=progress, threads=threads, compile=compile,
            record=record)]
    rule: AnyOf = as_rule(stop)
    params, hyper_t = new_params(x0, hyper, dtype)
    if not takes_tensor_hyper(optimizer):  # one run here ("alone"): its values as plain numbers
        hyper_t = {k: tuple(map(float, list(v)[0])) if k == "betas" else float(list(v)[0]) for k, v in hyper.items()}
    loop = _FunctionLoop(fn, factory(params, **hyper_t, **runs_options(optimizer)), x0, int(steps), record_params,
                         record)
    loop.own_check_off(optimizer, options)
    loop.set_schedule(schedule)
    with torch_threads(n_threads):
        plan = choose(compile, fn, loop.opt, hyper_t, tensor_hyper=takes_tensor_hyper(optimizer),
                      schedule=loop.sched if loop.runs_schedule is None else loop.runs_schedule)
    loop.plan(rule, bound, _f_min(fn), progress, None if plan is None else (*plan, compile, hyper_t))
    base_config = {"optimizer": name, "options": to_jsonable(options), "function": to_jsonable(fn.to_dict()),
                   "dtype": str(dtype).replace("torch.", ""), "steps_limit": int(steps)}
    if stop is not None:
        base_config["stop"] = repr(rule)
    if schedule is not None:
        base_config["schedule"] = repr(schedule)
    return [BatchRun(loop, threads, n_threads, (base_config, name, options, hyper, labels))]


def evaluate_at(fn: Any, xs: Sequence[torch.Tensor]) -> torch.Tensor:
    """The values of ``fn`` at the rows of the parameters ``xs`` ((R_i, d) each, concatenated
    when there are several), each ``x.grad`` left holding its own rows' gradient: one forward
    and one backward for all (the concatenation's backward hands each parameter its slice)."""
    for x in xs:
        if x.grad is not None:
            x.grad = None
    points = xs[0] if len(xs) == 1 else torch.cat(list(xs))
    f = fn(points)
    if f.shape != (len(points),):
        raise ValueError(f"the function must map (R, d) points to (R,) values; got shape {tuple(f.shape)}")
    # f.sum().backward(), not f.backward(ones): a given gradient makes torch import its
    # symbolic-shape machinery (sympy) at the first call, 0.3-0.5 s of every new process
    f.sum().backward()
    return f


class _FunctionLoop:
    """One :func:`run_batch`: the (R, d) parameter, its optimizer, and the step-major records.

    Rows of the records are written whole (no masks): row k of run i is read only if
    run i was still recording at step k (``k <= state.last[i]``), so what lands in the
    rows of stopped runs is never seen and the buffers need no NaN fill."""

    def __init__(self, fn: Any, opt: torch.optim.Optimizer, x0: np.ndarray, steps: int, record_params: bool,
                 record: str = "all"):
        R, d = x0.shape
        self.fn, self.opt, self.x0, self.steps, self.record_params = fn, opt, x0, steps, record_params
        self.record_mode = record
        if not opt.param_groups or not opt.param_groups[0]["params"]:
            raise ValueError(f"{type(opt).__name__} keeps no parameter of its own here (Muon hands a point, a vector "
                             "per run, to its fallback optimizer): run the fallback optimizer itself")
        self.x = opt.param_groups[0]["params"][0]
        self.group = opt.param_groups[0]
        self.closure_step = needs_closure(opt)
        self.modes = has_modes(opt)  # train()/eval(): gradients at y, records at x (schedule-free)
        self.curvature = FunctionHessian.of(fn, opt, self.x)  # update_hessian() every k steps (Sophia)
        self.step_kwargs = {} if self.curvature is None else self.curvature.step_kwargs
        # the records grow in chunks as steps are taken: steps=10**9 reserves nothing up front
        n_rec = min(steps + 1, RECORD_CHUNK)
        # without record_params the start and last point, (2, R, d) laid out as (2, d, R): the
        # compiled program's points come runs-innermost, and are then copied without a transpose
        self.P = np.empty((n_rec, R, d)) if record_params else np.full((2, d, R), np.nan).transpose(0, 2, 1)
        # record="values" keeps no gradient norms, "final" no per-step values either: the last
        # and lowest finite value of each run instead (the clock is one row for all runs)
        self.V = np.empty((n_rec, R)) if record != "final" else None
        self.G = np.empty((n_rec, R)) if record == "all" else None
        self.T = np.zeros(n_rec)
        self.last_v = np.full(R, np.nan) if record == "final" else None
        self.best_v = np.full(R, np.inf) if record == "final" else None
        self._low: np.ndarray | None = None  # record="final": the lowest value of each block, (R,)
        self.LR: np.ndarray | None = None  # (steps, R) once the lr changes between steps
        self.lr_const: tuple | None = None  # until then (key, row)
        self.state = RunState(R)
        self.freezer = Freezer([self.x])
        self.sched = self.runs_schedule = None
        # closure methods: evaluations (values, gradients, Hessians) made before each step
        self.value0 = self.grad0 = None  # step 0's values and gradient norms (the stopping rules' reference)
        self.counts = np.zeros(3, dtype=np.int64)
        self.evals: list[np.ndarray] = [self.counts.copy()]

    def own_check_off(self, optimizer: Any, options: Mapping) -> None:
        """Before every step the loop checks each active run's gradient (a non-finite one
        stops that run as "diverged") and zeroes the gradient of stopped runs, so an
        optimlab optimizer's own check of the whole gradient (nonfinite="raise") can never
        fire here: skip it unless the user chose a policy. Not for closure methods: their
        step evaluates new gradients the loop has not seen. The numbers are the same."""
        user_factory = callable(optimizer) and not isinstance(optimizer, (str, tuple, type))
        if isinstance(self.opt, _OptimlabOptimizer) and not self.closure_step and not user_factory \
                and "nonfinite" not in options:
            for g in self.opt.param_groups:
                g["nonfinite"] = "ignore"

    def set_schedule(self, schedule: Any) -> None:
        """A schedule on tensor learning rates (one per run) is a :class:`RunSchedule`: each
        run's learning rates are those the schedule gives that run's lr alone."""
        if schedule is not None and isinstance(self.group["lr"], torch.Tensor):
            self.runs_schedule = RunSchedule(schedule, self.group["lr"])
        else:
            self.sched = make_scheduler(schedule, self.opt)

    def gradient(self) -> torch.Tensor:
        """The values at the current parameters, their gradient left in ``x.grad``."""
        return evaluate_at(self.fn, [self.x])

    def readings(self, f: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values (``f``, just evaluated), gradient norms (of ``x.grad``) and points of every run."""
        x = self.x
        with torch.no_grad():
            # views of this step's tensors (float64 on the CPU: no copy); consumed before the update
            fv = np.asarray(f.detach().cpu().numpy(), dtype=float)
            gn = np.asarray(torch.linalg.vector_norm(x.grad, dim=1).cpu().numpy(), dtype=float)
            xv = np.asarray(x.detach().cpu().numpy(), dtype=float)
        return fv, gn, xv

    def record(self, k: int, fv: np.ndarray, gn: np.ndarray, xv: np.ndarray, elapsed: float) -> None:
        """Step k's values, gradient norms, points and clock, for the runs still recording."""
        self.record_block(k, fv[None], gn[None], xv[None], [elapsed])

    def record_block(self, k: int, V: np.ndarray, G: np.ndarray, P: np.ndarray, T: list[float],
                     low: np.ndarray | None = None) -> None:
        """Steps k .. k + n − 1 at once (n = len(V)), none of which stops a run. Without
        ``record_params`` only the start (row 0) and the last point (row 1) are kept. ``low``:
        each run's lowest value of these steps when already known (a compiled call's)."""
        st, end = self.state, k + len(V)
        if end > len(self.T):
            self.T = grown(self.T, end, self.steps + 1)
            if self.V is not None:
                self.V = grown(self.V, end, self.steps + 1)
            if self.G is not None:
                self.G = grown(self.G, end, self.steps + 1)
            if self.record_params:
                self.P = grown(self.P, end, self.steps + 1)
        self.T[k:end] = T
        if self.V is not None:
            self.V[k:end] = V
        if self.G is not None:
            self.G[k:end] = G
        if self.best_v is not None:
            self._final_values(V, low)
        if self.record_params:
            self.P[k:end] = P
        elif st.all_active:
            self.P[0 if end == 1 else 1] = P[-1]
        else:
            self.P[0 if end == 1 else 1][st.active] = P[-1][st.active]
        st.record(end - 1)

    def _final_values(self, V: np.ndarray, low: np.ndarray | None = None) -> None:
        """record="final": the last value and the lowest one (``low``, else found here) of the runs
        recording these rows (those still active, whose values are finite: a non-finite one stops
        its run unrecorded)."""
        if low is None:
            if self._low is None or len(self._low) != V.shape[1]:
                self._low = np.empty(V.shape[1])
            low = np.minimum.reduce(V, axis=0, out=self._low)  # kept: a fresh (R,) array per call costs page faults
        if self.state.all_active:
            self.last_v[:] = V[-1]
            np.minimum(self.best_v, low, out=self.best_v)
        else:
            a = self.state.active
            self.last_v[a] = V[-1][a]
            self.best_v[a] = np.minimum(self.best_v[a], low[a])

    def observe(self, k: int, fv: np.ndarray, gn: np.ndarray, xv: np.ndarray, elapsed: float,
                bad: np.ndarray | None, rule: AnyOf, f_min: float) -> bool:
        """Step k's values, gradient norms and points: stop the runs that diverged (``bad``) or
        that a rule stops, record the others; True when no run goes on."""
        st = self.state
        if k == 0:
            if bad is not None and bad.any():
                raise ValueError(f"the function is not finite at the start point(s) {self.x0[bad].tolist()}: "
                                 f"values {fv[bad].tolist()}")
            self.value0, self.grad0 = fv.copy(), gn.copy()
        st.stop(bad, "diverged")
        self.record(k, fv, gn, xv, elapsed)
        if rule.rules():
            fired = rule.which(StopInfo(step=k, elapsed=elapsed, values=fv, grad_norms=gn, value0=self.value0,
                                        grad_norm0=self.grad0, f_min=f_min))
            st.stop(fired != "", fired)
        if k == self.steps:
            st.finish("max_steps")
        return not st.active.any()

    def plan(self, rule: AnyOf, bound: float, f_min: float, progress: Callable[[int], None] | None,
             compiled: tuple | None) -> None:
        """How the loop runs: its stopping rules, divergence bound, the function's minimum (for
        the rules), ``progress`` and ``compiled``: ``(key, ready, choice, hyper tensors)`` of a
        program (:mod:`optimlab.runner.compiled`) it may switch to, or None."""
        self.rule, self.bound, self.f_min, self.progress, self.compiled = rule, bound, f_min, progress, compiled

    def run(self) -> None:
        """Step until every run stopped, each step's values and gradient evaluated here."""
        t0 = time.perf_counter()
        k = 0
        while not self.take(k, self.gradient(), lambda: time.perf_counter() - t0):
            k += 1

    def take(self, k: int, f: torch.Tensor, clock: Callable[[], float]) -> bool:
        """Step k from the values ``f`` just evaluated at the parameters (their gradient in
        ``x.grad``): record them, stop the runs that are done, update the others; ``clock()``
        is the run's time so far. True when no run goes on (the rest may have been done here by
        a compiled program: once :func:`~optimlab.runner.compiled.switch_now` says so, at the
        earliest after the first step, which creates the optimizer's state, the program takes
        the rest, :func:`~optimlab.runner.compiled_steps.run_compiled`; when it cannot be had,
        ``choice="auto"``, the steps go on)."""
        fv, gn, xv = self.readings(f)
        if self.observe(k, fv, gn, xv, clock(), divergent(fv, grad_norms=gn, points=xv, bound=self.bound),
                        self.rule, self.f_min):
            return True
        self.step(k)
        k += 1
        if self.progress is not None:
            self.progress(k)
        if self.compiled is not None and switch_now(self.compiled[2], self.compiled[1], k, self.steps, clock()):
            key, _, choice, hyper_t = self.compiled
            self.compiled = None  # one try
            program = obtain(key, choice, self.fn, self.opt, hyper_t)
            if program is not None:
                run_compiled(self, program, hyper_t, k, clock())
                return True
        return False

    def step(self, k: int) -> None:
        """Update the active runs (step k); stopped runs stay where they are.

        An optimizer with ``train()``/``eval()`` (:func:`optimlab.engine.has_modes`) is put
        in train mode, its gradient taken there (at y), stepped, and put back in eval mode:
        what the loop records is the evaluation point x (Defazio et al. 2024 evaluate x).
        An optimizer with ``update_hessian()`` (Sophia) refreshes its curvature after every
        k-th step as its authors' loop does (:mod:`optimlab.runner.curvature`)."""
        if self.modes:
            self.opt.train()
            if not self.closure_step:
                self.gradient()
        self.freezer.hold(self.state.active)
        with torch.no_grad():
            if self.runs_schedule is not None:
                self.group["lr"] = self.runs_schedule.lr()
            self.record_lr(k)
        if self.closure_step:
            self.opt.step(self.closure)
            self.evals.append(self.counts.copy())
        else:
            self.opt.step(**self.step_kwargs)
        self.freezer.release()
        if self.curvature is not None:
            self.curvature.after_step(k + 1, self.state.active)
        if self.modes:
            self.opt.eval()
        if self.sched is not None:
            self.sched.step()
        elif self.runs_schedule is not None:
            self.runs_schedule.step()

    def closure(self, create_graph: bool = False, residuals: bool = False) -> torch.Tensor:
        """The closure a closure method's ``step`` calls (the protocol of
        :mod:`optimlab.optim._flat`): the loss after ``backward()`` (``create_graph=True``:
        after ``backward(create_graph=True)``, for a Hessian), or with ``residuals=True``
        the function's residual vector with its graph (no backward). Every call is
        counted: one value and one gradient (a residual call: the residuals and their
        Jacobian), and a Hessian when ``create_graph`` is set (the trace series
        :data:`optimlab.record.EVAL_SERIES`)."""
        x = self.x
        x.grad = None
        if residuals:
            form = getattr(self.fn, "residuals", None)
            if form is None:
                raise ValueError(f"{type(self.opt).__name__} needs a function written as a sum of squares; "
                                 f"{getattr(self.fn, 'name', 'this function')} has no residuals (rosenbrock, "
                                 f"beale and booth have; for a formula give residuals: r1; r2; ...)")
            self.counts += (1, 1, 0)
            with torch.enable_grad():
                return form(x)
        self.counts += (1, 1, 1 if create_graph else 0)
        with torch.enable_grad():
            total = self.fn(x).sum()
            if create_graph:  # autograd.grad: backward(create_graph=True) would tie x and x.grad in a cycle
                x.grad = torch.autograd.grad(total, x, create_graph=True)[0]
            else:
                total.backward()
        self.freezer.zero_grads()
        return total

    def record_lr(self, k: int, lr_now: Any = None) -> None:
        """The lr of step k (default: the group's), stored once while it stays the same object
        (and, for a tensor, unmodified)."""
        if self.record_mode != "all":  # only record="all" keeps the learning rates
            return
        lr_now = self.group["lr"] if lr_now is None else lr_now
        lr_key = (lr_now, lr_now._version) if isinstance(lr_now, torch.Tensor) else float(lr_now)
        if self.LR is None and (self.lr_const is None or not _same_lr(lr_key, self.lr_const[0])):
            row = lr_now.reshape(-1).cpu().numpy().copy() if isinstance(lr_now, torch.Tensor) else float(lr_now)
            if self.lr_const is None:
                self.lr_const = (lr_key, np.broadcast_to(np.asarray(row, dtype=float), (len(self.x0),)))
            else:  # it changed: from now on one row per step
                self.LR = np.empty((min(self.steps, max(k + 1, RECORD_CHUNK)), len(self.x0)))
                self.LR[:k] = self.lr_const[1]
        if self.LR is not None:
            if k >= len(self.LR):
                self.LR = grown(self.LR, k + 1, self.steps)
            self.LR[k] = lr_now.reshape(-1).cpu().numpy() if isinstance(lr_now, torch.Tensor) else float(lr_now)


def run(function: Any, optimizer: Any, start: Any = None, steps: int = 100, *, stop: Any = None, schedule: Any = None,
        label: str | None = None, dtype: torch.dtype = torch.float64, bound: float = 1e12,
        progress: Callable[[int], None] | None = None, threads: Any = None, compile: Any = "auto") -> Trace:
    """Run one optimizer on a function from ``start``; returns a :class:`Trace`.

    Args:
        function: a TestFunction, a registered name (``"beale"``), a formula
            (``"x**2 + 3*y**2"``) or a callable mapping tensors (..., d) to (...).
        optimizer: a name or spec (``"adam"``, ``"momentum:lr=0.01,momentum=0.7"``), a
            ``(name_or_class, kwargs)`` pair, an Optimizer class or a factory ``params -> optimizer``.
        start: d numbers; default: the function's suggested start (:func:`suggested_start`).
        steps: the most updates to make (always a limit).
        stop: a rule of :mod:`optimlab.stopping` or a list of them.
        schedule: ``(SchedulerClass, kwargs)``, a scheduler class or a factory ``optimizer -> scheduler``.
        bound: a run whose |value| or any |coordinate| exceeds it stops as ``"diverged"``.
        progress: called with the step number after every step.
        threads: torch's intra-op threads during the run (see :func:`run_batch`).
        compile: ``"auto"``, ``True`` or ``False``: run as a compiled program (see :func:`run_batch`).

    An optimizer with ``train()`` and ``eval()`` methods (the schedule-free methods) takes
    each gradient in train mode (at y) and is back in eval mode after each step: the
    values, gradient norms and points recorded are those of the evaluation point x.
    """
    if start is None:
        function = resolve_function(function)
        start = suggested_start(function)
    return run_batch(function, optimizer, one_start(start), steps, stop=stop, schedule=schedule,
                     labels=None if label is None else [label], dtype=dtype, bound=bound, progress=progress,
                     threads=threads, compile=compile)[0]
