"""Stopping rules (lecture 000): when an iterative method should stop.

* :class:`MaxSteps` — an iteration limit;
* :class:`TimeLimit` — a wall-clock limit;
* :class:`FTol` — ``f(θ_t) − f* ≤ ε`` (needs the known optimum f*);
* :class:`RelFTol` — ``f(θ_t) ≤ ε·f(θ_0)``;
* :class:`GradTol` — ``‖∇f(θ_t)‖ ≤ ε·‖∇f(θ_0)‖``.

Rules combine with ``|`` (or by passing a list): the first that fires stops the run
and its ``reason`` is recorded in the trace. Every rule works on a batch of runs at
once: it receives the current values of all runs and answers with one boolean per
run. The runners also stop a run whose value or parameters become NaN/±inf or leave
a bound, with reason ``"diverged"`` (not a rule: always on).

A rule is any object with a ``reason`` string and ``__call__(info) -> bool array``,
where ``info`` is a :class:`StopInfo`; write your own the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

__all__ = ["StopInfo", "Rule", "MaxSteps", "TimeLimit", "FTol", "RelFTol", "GradTol", "AnyOf", "as_rule"]


@dataclass
class StopInfo:
    """What a rule sees at step ``step`` (0 = the start), one entry per run."""

    step: int
    elapsed: float
    values: np.ndarray
    grad_norms: np.ndarray
    value0: np.ndarray
    grad_norm0: np.ndarray
    f_min: float = float("nan")


class Rule:
    """Base class: combine rules with ``|``."""

    reason = "stopped"

    def __call__(self, info: StopInfo) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def __or__(self, other: "Rule") -> "AnyOf":
        return AnyOf([self, other])

    def rules(self) -> list["Rule"]:
        return [self]


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return v


class MaxSteps(Rule):
    """Stop after ``n`` updates."""

    reason = "max_steps"

    def __init__(self, n: int):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"MaxSteps: n must be an integer >= 0, got {n!r}")
        self.n = int(n)

    def __call__(self, info: StopInfo) -> np.ndarray:
        return np.full(info.values.shape, info.step >= self.n)

    def __repr__(self) -> str:
        return f"MaxSteps({self.n})"


class TimeLimit(Rule):
    """Stop once ``seconds`` of wall time have passed since the start."""

    reason = "time_limit"

    def __init__(self, seconds: float):
        self.seconds = _positive("TimeLimit: seconds", seconds)

    def __call__(self, info: StopInfo) -> np.ndarray:
        return np.full(info.values.shape, info.elapsed >= self.seconds)

    def __repr__(self) -> str:
        return f"TimeLimit({self.seconds:g})"


class FTol(Rule):
    """Stop when ``f − f* ≤ eps``. ``f_min`` defaults to the function's known f*."""

    reason = "f_tol"

    def __init__(self, eps: float, f_min: float | None = None):
        self.eps = _positive("FTol: eps", eps, allow_zero=True)
        self.f_min = None if f_min is None else float(f_min)

    def __call__(self, info: StopInfo) -> np.ndarray:
        f_min = self.f_min if self.f_min is not None else info.f_min
        if f_min is None or not np.isfinite(f_min):
            raise ValueError("FTol needs the optimum f*: the function has no known finite f_min; "
                             "pass FTol(eps, f_min=...)")
        return info.values - f_min <= self.eps

    def __repr__(self) -> str:
        return f"FTol({self.eps:g})"


class RelFTol(Rule):
    """Stop when ``f(θ_t) ≤ eps·f(θ_0)`` (meaningful for f ≥ 0, e.g. a loss)."""

    reason = "rel_f_tol"

    def __init__(self, eps: float):
        self.eps = _positive("RelFTol: eps", eps, allow_zero=True)

    def __call__(self, info: StopInfo) -> np.ndarray:
        return info.values <= self.eps * info.value0

    def __repr__(self) -> str:
        return f"RelFTol({self.eps:g})"


class GradTol(Rule):
    """Stop when ``‖∇f(θ_t)‖ ≤ eps·‖∇f(θ_0)‖``."""

    reason = "grad_tol"

    def __init__(self, eps: float):
        self.eps = _positive("GradTol: eps", eps, allow_zero=True)

    def __call__(self, info: StopInfo) -> np.ndarray:
        return info.grad_norms <= self.eps * info.grad_norm0

    def __repr__(self) -> str:
        return f"GradTol({self.eps:g})"


class AnyOf(Rule):
    """Several rules: stops when any fires; :meth:`which` tells which one (the first listed)."""

    def __init__(self, rules: Iterable[Rule]):
        flat: list[Rule] = []
        for r in rules:
            if not callable(r) or not hasattr(r, "reason"):
                raise TypeError(f"a stopping rule needs a 'reason' and must be callable, got {r!r}")
            flat.extend(r.rules() if isinstance(r, Rule) else [r])
        self._rules = flat

    def rules(self) -> list[Rule]:
        return list(self._rules)

    def which(self, info: StopInfo) -> np.ndarray:
        """Per run: the reason of the first rule that fires, or ``""``."""
        out = np.full(info.values.shape, "", dtype=object)
        for r in self._rules:
            fired = np.asarray(r(info), dtype=bool) & (out == "")
            out[fired] = r.reason
        return out

    def __call__(self, info: StopInfo) -> np.ndarray:
        return self.which(info) != ""

    def __repr__(self) -> str:
        return " | ".join(map(repr, self._rules))


def as_rule(stop: Rule | Sequence[Rule] | None) -> AnyOf:
    """None, one rule, or a list of rules → an :class:`AnyOf`."""
    if stop is None:
        return AnyOf([])
    if isinstance(stop, (list, tuple)):
        return AnyOf(stop)
    return AnyOf([stop])
