r"""Dolan–Moré performance profiles.

E. D. Dolan and J. J. Moré, "Benchmarking optimization software with performance
profiles", Mathematical Programming 91(2), 201–213, 2002.

For problems p ∈ P and solvers s ∈ S with costs :math:`t_{p,s} > 0` (here: gradient
evaluations until the target is reached; ``inf`` when it is not reached), the
performance ratio is

.. math::
    r_{p,s} = \frac{t_{p,s}}{\min_{s'} t_{p,s'}}  \quad(\infty \text{ if } t_{p,s} = \infty),

and the profile of solver s is the fraction of problems it solves within a factor τ
of the best solver:

.. math::
    ρ_s(τ) = \frac{1}{|P|}\,\bigl|\{p \in P : r_{p,s} \le τ\}\bigr|.

ρ_s(1) is the fraction of problems on which s is (one of) the fastest; ρ_s(τ) for
large τ is the fraction it solves at all. A problem no solver solves counts as
unsolved for every solver.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["performance_ratios", "performance_profile", "cost_table"]


def cost_table(costs: Mapping[str, Mapping[str, float]]) -> tuple[list[str], list[str], np.ndarray]:
    """``{problem: {solver: cost}}`` → ``(problems, solvers, T)`` with T of shape (P, S);
    a solver missing on a problem costs ``inf``."""
    if not isinstance(costs, Mapping) or not costs:
        raise ValueError("costs must be a non-empty mapping {problem: {solver: cost}}")
    problems = list(costs)
    solvers: list[str] = []
    for p in problems:
        if not isinstance(costs[p], Mapping):
            raise ValueError(f"costs[{p!r}] must be a mapping {{solver: cost}}, got {costs[p]!r}")
        for s in costs[p]:
            if s not in solvers:
                solvers.append(s)
    T = np.full((len(problems), len(solvers)), np.inf)
    for i, p in enumerate(problems):
        for j, s in enumerate(solvers):
            if s in costs[p]:
                T[i, j] = float(costs[p][s])
    return problems, solvers, T


def performance_ratios(T: Any) -> np.ndarray:
    """Ratios r (P, S) of a cost array T (P, S); costs must be > 0 or ``inf`` (NaN counts as ``inf``)."""
    T = np.array(T, dtype=float)
    if T.ndim != 2 or T.size == 0:
        raise ValueError(f"costs must be a non-empty (problems, solvers) array, got shape {T.shape}")
    T[np.isnan(T)] = np.inf
    if (T <= 0).any():
        raise ValueError(f"costs must be > 0 (or inf for unsolved); got {T[T <= 0][0]!r}")
    best = T.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        r = T / best
    r[~np.isfinite(T) | ~np.isfinite(best)] = np.inf
    return r


def performance_profile(costs: Any, taus: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The profile ρ_s(τ) of every solver.

    ``costs``: a (P, S) array, or ``{problem: {solver: cost}}``. ``taus``: where to
    evaluate (default: every distinct finite ratio and 1, sorted, so the step function
    is exact). Returns ``(taus, rho, solvers)`` with ``rho`` of shape (S, len(taus));
    ``solvers`` is ``["0", "1", ...]`` for an array.

    >>> taus, rho, names = performance_profile({"p1": {"a": 10, "b": 20}, "p2": {"a": float("inf"), "b": 5}})
    >>> taus.tolist(), rho.tolist()
    ([1.0, 2.0], [[0.5, 0.5], [0.5, 1.0]])
    """
    if isinstance(costs, Mapping):
        _, solvers, T = cost_table(costs)
    else:
        T = np.asarray(costs, dtype=float)
        solvers = [str(j) for j in range(T.shape[1])] if T.ndim == 2 else []
    r = performance_ratios(T)
    if taus is None:
        finite = r[np.isfinite(r)]
        taus_arr = np.unique(np.concatenate([[1.0], finite]))
    else:
        taus_arr = np.asarray(taus, dtype=float)
        if taus_arr.ndim != 1 or (taus_arr < 1).any():
            raise ValueError("taus must be a 1-D list of numbers >= 1")
    P = r.shape[0]
    rho = np.array([[np.count_nonzero(r[:, s] <= tau) / P for tau in taus_arr] for s in range(r.shape[1])])
    return taus_arr, rho, solvers
