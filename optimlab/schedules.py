"""Learning-rate schedules that ``torch.optim.lr_scheduler`` lacks, as torch ``LRScheduler``\\ s.

torch's own schedulers (``StepLR``, ``ExponentialLR`` = the lectures' ``η_t = γ^t η_0``,
``LambdaLR``, ``CosineAnnealingLR``, ``OneCycleLR``, ...) work with every optimlab
optimizer as they are. Added here, each with a closed form in the step count t
(the number of ``scheduler.step()`` calls so far):

* :class:`InverseTimeDecay` — Keras: ``lr_t = lr_0 / (1 + rate·t/decay_steps)``
  (``staircase``: ``⌊t/decay_steps⌋``); with ``decay_steps=1`` it is Keras 2's ``decay``;
* :class:`ExponentialDecay` — Keras: ``lr_t = lr_0 · rate^{t/decay_steps}``;
* :class:`PiecewiseConstant` — lecture 003's "α₁ for t ≤ A, α₂ after":
  ``values[i]`` while ``boundaries[i-1] < t ≤ boundaries[i]`` (Keras' convention);
  values are absolute learning rates (the same for every param group) unless
  ``relative=True`` (then multipliers of each group's initial lr);
* :class:`Warmup` — linear warm-up from ``start_factor·lr_0`` to ``lr_0`` over
  ``warmup_steps``, constant after (chain with ``torch.optim.lr_scheduler.SequentialLR``).

Schedules by name (the command line's ``--schedule``, the playground):
:func:`parse_schedule` reads ``NAME[:KEY=VALUE,...]`` (the spec syntax of
:mod:`optimlab._spec`) into ``(SchedulerClass, kwargs)``, the form every ``schedule=``
argument takes. The names are those of :data:`SCHEDULES`: torch's scheduler classes and
the ones above (case, ``_`` and ``-`` ignored), and short aliases (``step``, ``cosine``, ...).
"""

from __future__ import annotations

import inspect
import math
import warnings
from typing import Any, Sequence

import torch
from torch.optim import lr_scheduler as torch_schedulers
from torch.optim.lr_scheduler import LRScheduler

from . import optim
from ._spec import name_key, parse_options, split_spec, unknown_name, unknown_option

__all__ = ["InverseTimeDecay", "ExponentialDecay", "PiecewiseConstant", "Warmup", "SCHEDULES", "REFUSED",
           "schedule_class", "schedule_names", "check_schedule", "parse_schedule"]


def _num(name: str, v: Any, lo: float, lo_open: bool = False) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(x) or x < lo or (lo_open and x == lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {v!r}")
    return x


class _ClosedForm(LRScheduler):
    def factor(self, t: int) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def get_lr(self) -> list[Any]:
        f = self.factor(self.last_epoch)
        return [base * f for base in self.base_lrs]

    def _get_closed_form_lr(self) -> list[Any]:
        return self.get_lr()


class InverseTimeDecay(_ClosedForm):
    """``lr_t = lr_0 / (1 + decay_rate·t/decay_steps)`` (Keras ``InverseTimeDecay``)."""

    def __init__(self, optimizer: Any, decay_rate: float, decay_steps: float = 1, staircase: bool = False,
                 last_epoch: int = -1) -> None:
        self.decay_rate = _num("decay_rate", decay_rate, 0.0)
        self.decay_steps = _num("decay_steps", decay_steps, 0.0, lo_open=True)
        self.staircase = bool(staircase)
        super().__init__(optimizer, last_epoch)

    def factor(self, t: int) -> float:
        p = t / self.decay_steps
        return 1.0 / (1.0 + self.decay_rate * (math.floor(p) if self.staircase else p))


class ExponentialDecay(_ClosedForm):
    """``lr_t = lr_0 · decay_rate^{t/decay_steps}`` (Keras ``ExponentialDecay``)."""

    def __init__(self, optimizer: Any, decay_rate: float, decay_steps: float = 1, staircase: bool = False,
                 last_epoch: int = -1) -> None:
        self.decay_rate = _num("decay_rate", decay_rate, 0.0, lo_open=True)
        self.decay_steps = _num("decay_steps", decay_steps, 0.0, lo_open=True)
        self.staircase = bool(staircase)
        super().__init__(optimizer, last_epoch)

    def factor(self, t: int) -> float:
        p = t / self.decay_steps
        return self.decay_rate ** (math.floor(p) if self.staircase else p)


class PiecewiseConstant(LRScheduler):
    """Piecewise-constant learning rate: ``values[i]`` for ``boundaries[i-1] < t ≤ boundaries[i]``."""

    def __init__(self, optimizer: Any, boundaries: Sequence[int], values: Sequence[float], relative: bool = False,
                 last_epoch: int = -1) -> None:
        b = list(boundaries)
        v = [_num(f"values[{i}]", x, 0.0) for i, x in enumerate(values)]
        if len(v) != len(b) + 1:
            raise ValueError(f"values must have len(boundaries) + 1 = {len(b) + 1} entries, got {len(v)}")
        if any(not isinstance(x, int) or x < 0 for x in b) or b != sorted(set(b)):
            raise ValueError(f"boundaries must be increasing non-negative integers, got {boundaries!r}")
        self.boundaries, self.values, self.relative = b, v, bool(relative)
        super().__init__(optimizer, last_epoch)

    def _value(self, t: int) -> float:
        for b, v in zip(self.boundaries, self.values):
            if t <= b:
                return v
        return self.values[-1]

    def get_lr(self) -> list[Any]:
        v = self._value(self.last_epoch)
        return [base * v if self.relative else v for base in self.base_lrs]

    _get_closed_form_lr = get_lr


class Warmup(_ClosedForm):
    """Linear warm-up: ``lr_t = lr_0·(s + (1 − s)·min(t, W)/W)`` with s = ``start_factor``, W = ``warmup_steps``."""

    def __init__(self, optimizer: Any, warmup_steps: int, start_factor: float = 0.0, last_epoch: int = -1) -> None:
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 1:
            raise ValueError(f"warmup_steps must be an integer >= 1, got {warmup_steps!r}")
        self.warmup_steps = warmup_steps
        self.start_factor = _num("start_factor", start_factor, 0.0)
        if self.start_factor > 1:
            raise ValueError(f"start_factor must be in [0, 1], got {start_factor!r}")
        super().__init__(optimizer, last_epoch)

    def factor(self, t: int) -> float:
        s = self.start_factor
        return s + (1.0 - s) * min(t, self.warmup_steps) / self.warmup_steps


# ------------------------------------------------------------------ schedules by name
# row name -> (class, short aliases, one line for `optimlab list schedules`); every row also answers
# to its class name (name_key: case, "_" and "-" ignored). One table: the command line and the
# playground both read it. t counts scheduler steps (epochs in training by default, updates in the lab).
SCHEDULES: dict[str, tuple[type, tuple[str, ...], str]] = {
    "StepLR": (torch_schedulers.StepLR, ("step",), "lr·gamma^⌊t/step_size⌋ (step decay)"),
    "MultiStepLR": (torch_schedulers.MultiStepLR, ("multistep",), "times gamma at each of the milestones"),
    "ConstantLR": (torch_schedulers.ConstantLR, ("constant",), "lr·factor until total_iters, lr after"),
    "LinearLR": (torch_schedulers.LinearLR, ("linear",),
                 "factor going linearly from start_factor to end_factor over total_iters"),
    "ExponentialLR": (torch_schedulers.ExponentialLR, ("exponential",), "lr·gamma^t (the lectures' η_t = γ^t η_0)"),
    "PolynomialLR": (torch_schedulers.PolynomialLR, ("polynomial",), "lr·(1 − t/total_iters)^power, 0 after"),
    "CosineAnnealingLR": (torch_schedulers.CosineAnnealingLR, ("cosine",),
                          "half a cosine from lr down to eta_min over T_max (Loshchilov & Hutter, SGDR, 2017)"),
    "CosineAnnealingWarmRestarts": (torch_schedulers.CosineAnnealingWarmRestarts, ("cosine_restarts",),
                                    "cosine to eta_min, restarted after T_0, T_0·T_mult, ... (SGDR, 2017)"),
    "CyclicLR": (torch_schedulers.CyclicLR, ("cyclic",),
                 "cycles between base_lr and max_lr (Smith, cyclical learning rates, 2017)"),
    "OneCycleLR": (torch_schedulers.OneCycleLR, ("onecycle",),
                   "up to max_lr and down over total_steps (Smith & Topin, 1cycle, 2019); sets the lr itself"),
    "ReduceLROnPlateau": (torch_schedulers.ReduceLROnPlateau, ("plateau",),
                          "times factor when the loss stops improving for patience steps (training only)"),
    "LambdaLR": (torch_schedulers.LambdaLR, ("lambda",), "lr·lr_lambda(t)"),
    "MultiplicativeLR": (torch_schedulers.MultiplicativeLR, ("multiplicative",),
                         "times lr_lambda(t) at each step"),
    "SequentialLR": (torch_schedulers.SequentialLR, ("sequential",),
                     "schedulers one after another at milestones"),
    "ChainedScheduler": (torch_schedulers.ChainedScheduler, ("chained",),
                         "the factors of several schedulers multiplied"),
    "InverseTimeDecay": (InverseTimeDecay, ("inverse_time",), "lr/(1 + decay_rate·t/decay_steps) (Keras)"),
    "ExponentialDecay": (ExponentialDecay, (), "lr·decay_rate^(t/decay_steps) (Keras)"),
    "PiecewiseConstant": (PiecewiseConstant, ("piecewise",),
                          "values[i] while boundaries[i-1] < t ≤ boundaries[i] (Keras)"),
    "Warmup": (Warmup, (), "linear from start_factor·lr to lr over warmup_steps, lr after"),
}

# schedules a NAME:KEY=VALUE spec cannot build, and why (Python's schedule= takes them all)
REFUSED = {
    "LambdaLR": "it needs a function lr_lambda, which a spec cannot give",
    "MultiplicativeLR": "it needs a function lr_lambda, which a spec cannot give",
    "SequentialLR": "it needs scheduler objects, which a spec cannot give",
    "ChainedScheduler": "it needs scheduler objects, which a spec cannot give",
}
PLATEAU_REFUSAL = ("the function lab steps a schedule without a loss and ReduceLROnPlateau needs one: use it "
                   "in training (optimlab train, Trainer)")

_SKIP = ("self", "optimizer", "verbose")  # verbose: deprecated by torch
_TABLE_NAME: dict[str, str] = {}  # name_key of every name and alias -> its row of SCHEDULES
_WRITTEN: dict[str, str] = {}  # name_key -> the name as the table writes it (did-you-mean hints)
for _row, (_, _aliases, _) in SCHEDULES.items():
    for _name in (_row, *_aliases):
        _TABLE_NAME[name_key(_name)], _WRITTEN[name_key(_name)] = _row, _name


def schedule_class(name: str) -> tuple[str, type]:
    """``(row name, class)`` of a schedule name or alias, or a ValueError with did-you-mean."""
    row = _TABLE_NAME.get(name_key(name))
    if row is None:
        raise ValueError(unknown_name("schedule", name, _WRITTEN, schedule_names()))
    return row, SCHEDULES[row][0]


def schedule_names() -> list[str]:
    """Every accepted name: each row's aliases, then its class name."""
    return [n for row, (_, aliases, _) in SCHEDULES.items() for n in (*aliases, row)]


def _parameters(cls: type) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(cls.__init__).parameters.values()
            if p.name not in _SKIP and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check_schedule(name: str, cls: type, kwargs: dict[str, Any]) -> None:
    """The keys against the scheduler's signature, then the values by the scheduler itself (built on
    a throw-away optimizer): a ValueError naming the key and the accepted ones, or the scheduler's own."""
    params = _parameters(cls)
    accepted = [p.name for p in params]
    for key in kwargs:
        if key not in accepted:
            raise ValueError(unknown_option(name, key, accepted))
    missing = [p.name for p in params if p.default is p.empty and p.name not in kwargs]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)}; accepted: {', '.join(accepted)}")
    opt = optim.SGD([torch.zeros(1)], lr=1.0)  # optimlab's: torch's first SGD costs seconds (its compiler stack)
    try:  # built and stepped once: some values fail only at the first step (step_size=0)
        sched = cls(opt, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.step()
            sched.step(*([1.0] if isinstance(sched, torch_schedulers.ReduceLROnPlateau) else []))
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as e:
        raise ValueError(f"{name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def parse_schedule(text: str, *, functions: bool = False) -> tuple[type, dict[str, Any]]:
    """``"steplr:step_size=100,gamma=0.5"`` → ``(torch.optim.lr_scheduler.StepLR, {"step_size": 100,
    "gamma": 0.5})``, checked (:func:`check_schedule`). ``functions=True``: for the function lab,
    which refuses ``ReduceLROnPlateau`` (it steps without a loss). Schedules that need functions or
    other schedulers (:data:`REFUSED`) are refused with the reason.

    >>> parse_schedule("exponential:gamma=0.99")
    (<class 'torch.optim.lr_scheduler.ExponentialLR'>, {'gamma': 0.99})
    """
    name, _, rest = split_spec(str(text))
    if not name:
        raise ValueError(f"empty schedule spec {text!r}: write NAME[:KEY=VALUE,...], e.g. steplr:step_size=100")
    shown, cls = schedule_class(name)
    if shown in REFUSED:
        raise ValueError(f"{shown} cannot be given as a spec: {REFUSED[shown]}; pass schedule=({shown}, ...) "
                         f"in Python")
    if functions and shown == "ReduceLROnPlateau":
        raise ValueError(PLATEAU_REFUSAL)
    kwargs = parse_options(rest, str(text), "schedule")
    check_schedule(name, cls, kwargs)
    return cls, kwargs
