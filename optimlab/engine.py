r"""The rules of optimlab's one batched loop, shared by every loop of the lab.

The function runner (:func:`optimlab.runner.run_batch`), the training sweep
(:func:`optimlab.sweep` on a training problem) and :meth:`optimlab.Trainer.fit` all
step R runs (R = 1 for the Trainer) and all follow the same rules, written once here:

* **Seeds.** :func:`parse_seeds` reads a count or a list of seeds;
  :func:`run_generators` gives each run the ``torch.Generator().manual_seed(s)`` of its
  seed, runs with the same seed sharing one (so each sees what it would see alone).
* **Epoch batches.** :class:`EpochBatches`: run j visits the N examples of epoch e in
  the order of the e-th ``torch.randperm(N, generator=g_j)``, in batches of B
  examples, the last one smaller when B does not divide N (lecture 002:
  :math:`\lceil N/B \rceil` iterations per epoch).
* **Epoch loss.** :class:`EpochMean`: the loss of an epoch is the mean over its
  examples, :math:`\sum_b n_b \ell_b / \sum_b n_b` with :math:`\ell_b` the mean loss of
  batch b and :math:`n_b` its size (what Keras logs).
* **Divergence.** :func:`divergent`: a run whose value (or gradient norm, or a
  coordinate) is NaN or ±inf, or beyond ``±bound``, stops as ``"diverged"``; its record
  keeps every finite step before (:class:`RunState` tracks the last recorded step).
* **Frozen runs.** :class:`Freezer`: a run that stopped takes no further part in the
  optimizer's steps: its gradient is zeroed before a step (no NaN reaches the shared
  update) and its parameters are put back after it (momentum would still move them).
* **Threads.** :func:`pick_threads` and :func:`torch_threads`: a small problem runs on
  one intra-op thread (torch's pool costs more than it gains there, and oversubscribes a
  busy machine), unless ``threads=`` or ``$OPTIMLAB_THREADS`` says otherwise; the
  caller's setting comes back after the run.
* **Train and eval points.** :func:`optimizer_mode`: an optimizer with ``train()`` and
  ``eval()`` methods (the schedule-free methods of Defazio et al. 2024, whatever their
  class) takes gradients at one point and is evaluated at another; every loop calls
  ``train()`` before its updates and ``eval()`` before it measures or saves.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import math
import os
from typing import Any, Iterator, Sequence

import numpy as np
import torch

__all__ = ["parse_seeds", "run_generators", "EpochBatches", "EpochMean", "divergent", "none_diverged", "grads_finite",
           "RunState", "Freezer", "chunks", "no_gc", "RECORD_CHUNK", "grown", "THREADS_ENV", "SMALL_WORK",
           "pick_threads", "torch_threads", "has_modes", "optimizer_mode", "HessianRefresh", "hessian_refresh",
           "HESS_INTERVAL"]

RECORD_CHUNK = 4096
"""Rows a loop's step records start with; they double as steps are taken (:func:`grown`), so
a step limit of 10**12 reserves nothing up front."""


# ------------------------------------------------------------------------- seeds
def grown(a: np.ndarray, need: int, cap: int) -> np.ndarray:
    """``a`` copied into a buffer of at least ``need`` rows: twice as many, at most ``cap``."""
    out = np.empty((min(cap, max(need, 2 * len(a))), *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] = a
    return out


def parse_seeds(seeds: Any) -> list[int] | None:
    """``None``, a count k (seeds ``0..k-1``) or a non-empty list of integers → a list (or None)."""
    if seeds is None:
        return None
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a count >= 1 or a list of integers, got {seeds!r}")
        return list(range(int(seeds)))
    try:
        out = [int(s) for s in seeds if not isinstance(s, bool) and float(s) == int(s)]
        if len(out) != len(list(seeds)) or not out:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"seeds must be a count >= 1 or a non-empty list of integers, got {seeds!r}") from None
    return out


def run_generators(seeds: Sequence[int]) -> tuple[list[torch.Generator], torch.Tensor]:
    """One ``torch.Generator().manual_seed(s)`` per distinct seed (in increasing order)
    and, for each run, the index of its seed's generator: runs with equal seeds draw
    the same numbers, as each would alone."""
    uniq = sorted(set(int(s) for s in seeds))
    gens = [torch.Generator().manual_seed(s) for s in uniq]
    return gens, torch.tensor([uniq.index(int(s)) for s in seeds], dtype=torch.long)


# ------------------------------------------------------------------ epoch batches
class EpochBatches:
    """The mini-batches of every epoch: index tensors into the N training examples.

    Args:
        n: number of training examples N.
        batch_size: B, ``1 <= B <= N`` (per process under ``shard``).
        generators: ``None`` (no shuffling: the examples in order), one
            ``torch.Generator`` (one run: each batch is a 1-D index tensor), or a list
            of generators with ``rows`` (run j uses ``generators[rows[j]]``: each batch
            is an (R, b) index tensor).
        shard: ``(rank, world)``: each process keeps every ``world``-th example of the
            epoch's order from ``rank`` on (as ``DistributedSampler``).
        device: where the index tensors go (the data's device).

    :meth:`epoch` draws the epoch's permutations (one ``randperm`` per generator, at
    the start of the epoch) and returns its batches; ``per_epoch`` is their number,
    ``ceil(n_local / B)`` with ``n_local`` the examples of this process.
    """

    def __init__(self, n: int, batch_size: int, generators: torch.Generator | Sequence[torch.Generator] | None = None,
                 rows: torch.Tensor | None = None, *, shard: tuple[int, int] = (0, 1),
                 device: torch.device | str | None = None):
        rank, world = shard
        self.n, self.batch_size, self.rank, self.world = int(n), int(batch_size), int(rank), int(world)
        self.n_local = len(range(self.rank, self.n, self.world))
        if not 1 <= self.batch_size <= self.n_local:
            raise ValueError(f"batch_size must be in [1, {self.n_local}], got {batch_size!r}")
        self.per_epoch = math.ceil(self.n_local / self.batch_size)
        self.generators, self.rows, self.device = generators, rows, device

    def _order(self) -> torch.Tensor | None:
        g = self.generators
        if g is None:
            return torch.arange(self.n) if self.world > 1 else None
        if isinstance(g, torch.Generator):
            order = torch.randperm(self.n, generator=g)
        else:
            order = torch.stack([torch.randperm(self.n, generator=gi) for gi in g])
            if self.rows is not None:
                order = order[self.rows]
        return order.to(self.device) if self.device is not None else order

    def epoch(self) -> list[Any]:
        """The batches of the next epoch: index tensors, or ``slice`` s without shuffling."""
        order = self._order()
        if order is None:
            return chunks(self.n, self.batch_size)
        if self.world > 1:
            order = order[..., self.rank::self.world]
        return [order[..., s] for s in chunks(self.n_local, self.batch_size)]


def chunks(n: int, size: int) -> list[slice]:
    """Consecutive slices of ``size`` items covering ``0..n`` (the last one shorter when
    ``size`` does not divide ``n``): the batches of an epoch in order, or of an evaluation."""
    return [slice(s, s + size) for s in range(0, n, size)]


class EpochMean:
    r"""The epoch loss :math:`\sum_b n_b \ell_b / \sum_b n_b` over the batches added so far.

    ``runs=None``: one run, ``add`` takes a float and :meth:`mean` returns a float.
    ``runs=R``: ``add`` takes R batch means; runs not ``active`` add nothing.
    """

    def __init__(self, runs: int | None = None):
        self.runs = runs
        self.reset()

    def reset(self) -> None:
        self.total: Any = 0.0 if self.runs is None else np.zeros(self.runs)
        self.n = 0  # examples seen this epoch

    def add(self, losses: Any, n: int, active: np.ndarray | None = None) -> None:
        if active is not None:
            losses = np.where(active, losses, 0.0)
        self.total += losses * n
        self.n += n

    def mean(self) -> Any:
        return self.total / self.n


# --------------------------------------------------------------------- divergence
_FLOAT_MAX = float(np.finfo(np.float64).max)


def none_diverged(values: np.ndarray, *, grad_norms: np.ndarray | None = None, points: np.ndarray | None = None,
                  bound: float | None = None, magnitudes: bool = False) -> bool:
    """True when :func:`divergent` would find no run: a few reductions, on arrays of any shape
    (a block of steps at once, (K, R) values and (K, R, d) points). ``magnitudes=True``: the
    values are absolute values (NaN or >= 0), so their largest is all there is to test."""
    limit = _FLOAT_MAX if bound is None else min(float(bound), _FLOAT_MAX)  # NaN and ±inf fail it
    ok = bool(values.max() <= limit and (magnitudes or values.min() >= -limit))
    ok = ok and (points is None or bool(points.max() <= limit and points.min() >= -limit))
    return ok and (grad_norms is None or bool(grad_norms.max() <= _FLOAT_MAX))


def divergent(values: Any, *, grad_norms: np.ndarray | None = None, points: np.ndarray | None = None,
              bound: float | None = None) -> np.ndarray | None:
    """The runs that diverged: ``None`` when none did, else a boolean mask over runs.

    A run diverged when its value or gradient norm is NaN or ±inf, a coordinate of its
    point (``points``: (R, d)) is not finite, or, with ``bound``, ``|value|`` or any
    ``|coordinate|`` exceeds it. The common case (nothing wrong) costs a few reductions;
    one run's loss as a Python float (the Trainer, every iteration) costs one comparison.
    """
    if isinstance(values, float) and grad_norms is None and points is None:
        ok = math.isfinite(values) if bound is None else abs(values) <= bound  # NaN fails the bound too
        return None if ok else np.array([True])
    v = np.asarray(values, dtype=float).reshape(-1)
    if none_diverged(v, grad_norms=grad_norms, points=points, bound=bound):
        return None
    bad = ~np.isfinite(v)
    if grad_norms is not None:
        bad |= ~np.isfinite(grad_norms)
    if bound is not None:
        bad |= np.abs(v) > bound
    if points is not None:
        bad |= ~np.isfinite(points).all(axis=1)
        if bound is not None:
            bad |= (np.abs(points) > bound).any(axis=1)
    return bad


def grads_finite(opt: torch.optim.Optimizer) -> bool:
    """True when every gradient the optimizer holds is finite (the gradient half of :func:`divergent`,
    for a loop that never forms the gradient norms)."""
    return all(bool(torch.isfinite(p.grad).all()) for g in opt.param_groups for p in g["params"]
               if p.grad is not None)


def has_modes(opt: Any) -> bool:
    """True when ``opt`` has callable ``train()`` and ``eval()`` methods (duck-typed: a
    schedule-free optimizer of optimlab, of the ``schedulefree`` package, or any other)."""
    return callable(getattr(opt, "train", None)) and callable(getattr(opt, "eval", None))


def optimizer_mode(opt: Any, mode: str) -> None:
    """``opt.train()`` (``mode="train"``: parameters at the point where gradients are taken)
    or ``opt.eval()`` (``mode="eval"``: at the point to evaluate and save), when the
    optimizer has both methods (:func:`has_modes`); nothing otherwise."""
    if has_modes(opt):
        opt.train() if mode == "train" else opt.eval()


HESS_INTERVAL = 10
"""k of an optimizer that does not say its own (``hess_interval``): the authors' training loop's
``hess_interval`` and the paper's k (Liu et al. 2023, section 3)."""


class HessianRefresh:
    """The curvature protocol of an optimizer with ``update_hessian()`` (:func:`hessian_refresh`).

    ``interval``: the optimizer's ``hess_interval`` (default :data:`HESS_INTERVAL`);
    ``estimator``: its ``hessian_estimator``, ``"gnb"`` (Gauss–Newton–Bartlett: the gradient
    of the loss on labels sampled from the model, the only one of the authors' ``SophiaG``) or
    ``"hutchinson"`` (the loss' gradient with its graph, ``backward(create_graph=True)``);
    ``takes_bs``: whether ``step`` takes the batch size ``bs`` (the authors' ``step(bs=...)``).
    """

    def __init__(self, opt: Any):
        self.interval = int(getattr(opt, "hess_interval", HESS_INTERVAL))
        self.estimator = str(getattr(opt, "hessian_estimator", "gnb"))
        if self.interval < 1 or self.estimator not in ("gnb", "hutchinson"):
            raise ValueError(f"{type(opt).__name__}: hess_interval must be an integer >= 1 and hessian_estimator "
                             f"'gnb' or 'hutchinson', got {self.interval!r} and {self.estimator!r}")
        try:
            self.takes_bs = "bs" in inspect.signature(opt.step).parameters
        except (TypeError, ValueError):
            self.takes_bs = False

    def due(self, steps_done: int) -> bool:
        """Whether a refresh follows the update that made ``steps_done`` steps (the authors' loop:
        ``iter_num % k == k - 1`` with ``iter_num`` counting updates from 0)."""
        return steps_done % self.interval == 0

    def step_kwargs(self, bs: Any) -> dict[str, Any]:
        """``{"bs": bs}`` for an optimizer whose ``step`` takes it, else nothing."""
        return {"bs": bs} if self.takes_bs else {}


def hessian_refresh(opt: Any) -> HessianRefresh | None:
    """The optimizer's :class:`HessianRefresh` when it has a callable ``update_hessian`` (duck-typed),
    else None."""
    return HessianRefresh(opt) if callable(getattr(opt, "update_hessian", None)) else None


class RunState:
    """Which of R runs go on, why each stopped, and the last step each recorded.

    ``active`` (bool, R), ``reason`` (``""`` while running), ``last`` (int, R): the
    last recorded step; a run's record is its steps ``0..last`` (the finite prefix of
    a run that diverged). ``all_active`` lets the hot path skip masks.
    """

    def __init__(self, runs: int):
        self.active = np.ones(runs, dtype=bool)
        self.reason = np.full(runs, "", dtype=object)
        self.last = np.zeros(runs, dtype=int)
        self.all_active = True

    def stop(self, mask: np.ndarray | None, why: Any) -> np.ndarray | None:
        """Stop the active runs in ``mask`` with reason ``why`` (a string, or R strings);
        returns the runs newly stopped (None if none)."""
        if mask is None:
            return None
        newly = self.active & mask
        if not newly.any():
            return None
        self.reason[newly] = why[newly] if isinstance(why, np.ndarray) else why
        self.active &= ~newly
        self.all_active = False
        return newly

    def record(self, step: int) -> None:
        """The active runs recorded ``step``."""
        if self.all_active:
            self.last[:] = step
        else:
            self.last[self.active] = step

    def finish(self, why: str) -> None:
        """Every run still going stops with ``why`` (e.g. ``"max_steps"``)."""
        self.reason[self.reason == ""] = why
        self.active[:] = False
        self.all_active = False


# ---------------------------------------------------------------------- freezing
class Freezer:
    """Keep stopped runs where they are through optimizer steps.

    ``params``: tensors whose first dimension is the runs. Use as::

        freezer.hold(active)      # before the step: zero the stopped runs' gradients, save them
        optimizer.step()          # a closure calls freezer.zero_grads() after its backward
        freezer.release()         # after: put the stopped runs' parameters back

    With every run active both calls do nothing.
    """

    def __init__(self, params: Sequence[torch.Tensor]):
        self.params = list(params)
        self._saved: list[torch.Tensor] | None = None
        self._inactive: torch.Tensor | None = None

    def hold(self, active: np.ndarray) -> None:
        if active.all():
            self._inactive = None
            return
        self._inactive = torch.from_numpy(~active)
        with torch.no_grad():
            if self._saved is None:
                self._saved = [torch.empty_like(p) for p in self.params]
            for s, p in zip(self._saved, self.params):
                s.copy_(p)
        self.zero_grads()

    def zero_grads(self) -> None:
        """Zero the stopped runs' gradients (a stopped run must not feed NaN into the step)."""
        if self._inactive is None:
            return
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p.grad[self._inactive] = 0.0

    def release(self) -> None:
        if self._inactive is None or self._saved is None:
            return
        with torch.no_grad():
            for s, p in zip(self._saved, self.params):
                p[self._inactive] = s[self._inactive]


# -------------------------------------------------------------------------- misc
@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small objects that stay
    alive (the traces of a big batch): each collection it would start meanwhile walks
    every object of the process, several times for 10,000 traces. Nothing is a cycle to
    collect there; the previous state comes back afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ------------------------------------------------------------------------ threads
THREADS_ENV = "OPTIMLAB_THREADS"
"""The environment variable that sets the intra-op thread count of every run (``auto`` or 1..cores)."""

SMALL_WORK = 2 ** 22
"""A run whose work per step (parameters × examples per batch × runs) is at most this many
multiply-adds is *small*: it gets one torch thread. Measured on the 2-core development
machine with an MLP and batch 32 (docs/training.md, "Threads"): up to ~10⁶ one thread was
10-100× faster than two; at ~3.6·10⁷ two threads were ~1.6× faster."""


def _thread_count(value: Any, what: str) -> int | None:
    cores = os.cpu_count() or 1
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return None
    try:
        if isinstance(value, bool) or (not isinstance(value, str) and int(value) != value):
            raise ValueError
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= cores:  # torch crashes on a huge count; more threads than cores only slow down
        raise ValueError(f"{what} must be an integer from 1 to {cores} (the cores of this machine) or "
                         f"'auto', got {value!r}")
    return n


def pick_threads(threads: Any = None, work: float = 0.0) -> int | None:
    """The intra-op thread count for a run: ``threads`` when given (1..cores); else
    ``$OPTIMLAB_THREADS`` when set; else 1 when ``work`` (multiply-adds per step, see
    :data:`SMALL_WORK`) is small, and ``None`` (leave torch's setting alone) otherwise.
    ``"auto"`` (or None) means the automatic choice."""
    n = _thread_count(threads, "threads")
    if n is None:
        n = _thread_count(os.environ.get(THREADS_ENV), THREADS_ENV)
    if n is None and work <= SMALL_WORK:
        n = 1
    return n


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` (nothing for ``None``) and put the
    caller's count back afterwards, also on an error or Ctrl-C."""
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
