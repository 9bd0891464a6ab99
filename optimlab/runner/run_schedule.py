"""One learning-rate schedule over many runs' learning rates, as each run alone would have it.

A batch of runs with per-run learning rates (a tensor ``lr`` of shape (R, 1, ...): a sweep over
``lr``) and a schedule must give run r the learning rates the schedule gives an optimizer whose
lr is r's alone. For a schedule proportional to its base lr (StepLR, ExponentialLR, LinearLR,
cosine with ``eta_min=0``, a ``LambdaLR``: ``lr_t = lr_0 · f(t)``) that is ``lr_0[r] · f(t)``,
one scalar scheduler for any R. Others set learning rates of their own (absolute ``values`` of
:class:`~optimlab.schedules.PiecewiseConstant`, ``eta_min > 0``, OneCycleLR's ``max_lr``,
CyclicLR's bounds): the factor then depends on the base lr.

:class:`RunSchedule` steps two scalar probes on base lrs 1 and 3 and uses the factor while
``lr(3) = 3 · lr(1)`` (to 1e-12); at the first step where it is not, it builds one scheduler per
distinct base lr, replays it to that step and steps those from then on: exact for every
schedule, and one scheduler step per step (two, with the probe) while proportional. A schedule
that also cycles the momentum (OneCycleLR, CyclicLR with ``cycle_momentum=True``) is refused:
it sets the optimizer's own momentum, which the probes do not have.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from ..schedules import ExponentialDecay, InverseTimeDecay, PiecewiseConstant, Warmup
from .resolve import make_scheduler, schedule_parts

__all__ = ["RunSchedule", "known_proportional"]

L = torch.optim.lr_scheduler
# lr_t = lr_0 · f(t) by their formulas, whatever their arguments
_ALWAYS = (L.StepLR, L.MultiStepLR, L.ExponentialLR, L.ConstantLR, L.LinearLR, L.PolynomialLR, L.LambdaLR,
           L.MultiplicativeLR, InverseTimeDecay, ExponentialDecay, Warmup)


def known_proportional(schedule: Any) -> bool:
    """Whether a schedule given as ``(cls, kwargs)`` or a class is proportional to its base lr
    by its formula (every step, however long the run), so that one factor serves every run's lr:
    the classes of ``_ALWAYS``, cosine annealing (with restarts too) with ``eta_min=0`` and
    :class:`~optimlab.schedules.PiecewiseConstant` with ``relative=True``. A factory or any other
    class: False (not known; :class:`RunSchedule` still finds out step by step)."""
    parts = schedule_parts(schedule)
    if parts is None:
        return False
    cls, kwargs = parts
    if issubclass(cls, _ALWAYS):
        return True
    if issubclass(cls, (L.CosineAnnealingLR, L.CosineAnnealingWarmRestarts)):
        return float(kwargs.get("eta_min", 0.0)) == 0.0
    if issubclass(cls, PiecewiseConstant):
        return bool(kwargs.get("relative", False))
    return False


def _scalar(schedule: Any, lr: float) -> tuple[Any, torch.optim.Optimizer]:
    opt = torch.optim.SGD([torch.zeros(1)], lr=lr)
    return make_scheduler(schedule, opt), opt


def _advance(sched: Any, opt: torch.optim.Optimizer) -> None:
    opt.step()  # no parameter has a gradient: only keeps torch's call-order check quiet
    sched.step()


class RunSchedule:
    """``schedule`` (``(cls, kwargs)``, a class or a factory ``optimizer -> scheduler``) over the
    per-run learning rates ``base`` (a tensor): :meth:`lr` is this step's tensor of learning
    rates, :meth:`step` moves every run to the next step. A schedule :func:`known_proportional`
    by its formula has one probe and is never checked."""

    def __init__(self, schedule: Any, base: torch.Tensor):
        self.schedule, self.base, self.t = schedule, base.detach().clone(), 0
        # known by its formula: one probe, never checked (a long run's rounding of 3·lr(1) against
        # lr(3) would otherwise pass 1e-12 after ~10⁴ steps and switch for nothing)
        self.known = known_proportional(schedule)
        self.probes = [_scalar(schedule, 1.0)] + ([] if self.known else [_scalar(schedule, 3.0)])
        self.scheduler = self.probes[0][0]  # what the compiled choice looks at (its class)
        if getattr(self.scheduler, "cycle_momentum", False):
            raise ValueError(f"{type(self.scheduler).__name__} with cycle_momentum=True also sets the optimizer's "
                             f"momentum, which one schedule over per-run learning rates cannot do for each run: "
                             f"give cycle_momentum=False, or run each learning rate by itself")
        self.per_value: tuple[torch.Tensor, list] | None = None  # (inverse index, [(sched, opt)])
        self._check()

    @property
    def proportional(self) -> bool:
        """True while every step so far had ``lr(3) = 3 · lr(1)``."""
        return self.per_value is None

    def factor(self) -> float:
        """This step's factor (the probe's lr on base 1); only while :attr:`proportional`."""
        return self.probes[0][1].param_groups[0]["lr"]

    def lr(self) -> torch.Tensor:
        """This step's learning rate of every run, in the shape and dtype of ``base``."""
        if self.per_value is None:
            return self.base * self.factor()
        inverse, scheds = self.per_value
        values = torch.tensor([opt.param_groups[0]["lr"] for _, opt in scheds], dtype=self.base.dtype)
        return values[inverse].reshape(self.base.shape).to(self.base.device)

    def step(self) -> None:
        with warnings.catch_warnings():  # a scheduler past its total_steps warns; the runs alone would too
            warnings.simplefilter("ignore")
            for sched, opt in self.probes if self.per_value is None else self.per_value[1]:
                _advance(sched, opt)
        self.t += 1
        self._check()

    def _check(self) -> None:
        """At the first step where the probes are not proportional: one scheduler per distinct
        base lr, replayed to this step (as many steps as the probes took)."""
        if self.per_value is not None or self.known:
            return
        one, three = (opt.param_groups[0]["lr"] for _, opt in self.probes)
        if math.isclose(3.0 * one, three, rel_tol=1e-12, abs_tol=0.0):
            return
        values, inverse = torch.unique(self.base.reshape(-1).cpu(), return_inverse=True)
        scheds = [_scalar(self.schedule, float(v)) for v in values.tolist()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for sched, opt in scheds:
                for _ in range(self.t):
                    _advance(sched, opt)
        self.per_value = (inverse, scheds)
