"""A minimizer found on a grid, for functions that know none (a user's formula).

A picture must not run an optimizer (the layers), so the search is a plain grid: the
lowest finite value on an ``n``-point grid per coordinate over a box, then twice more
on a grid over the four cells around the best point (each round shrinks the box by
``(n − 1) / 4``). A best point on the edge of the first box is no minimizer (the
function goes on falling outside it) and gives None.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["grid_minimizer", "search_box"]


def search_box(start: np.ndarray, extent: np.ndarray | None = None, radius: float = 5.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """The box searched around ``start``: ``start ± R`` with ``R`` the largest of ``radius``,
    1.5 × the start's largest coordinate and the paths' reach from the start (``extent``)."""
    start = np.asarray(start, dtype=float)
    r = max(radius, 1.5 * float(np.max(np.abs(start)))) if start.size else radius
    if extent is not None and np.isfinite(extent).all():
        r = max(r, float(np.max(extent)) * 1.2)
    return start - r, start + r


def grid_minimizer(values: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, n: int = 101,
                   rounds: int = 3) -> tuple[np.ndarray, float] | None:
    """``(point, value)`` of the lowest value of ``values`` (points ``(..., d)`` → ``(...)``) on
    refined grids over the box ``[lo, hi]`` (d = 1 or 2); None when undefined everywhere or
    when the lowest point of the first grid lies on the box's edge."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    d = lo.size
    best, value = None, np.inf
    for r in range(rounds):
        axes = [np.linspace(lo[k], hi[k], n) for k in range(d)]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
        z = np.asarray(values(pts), dtype=float).reshape(-1)
        z = np.where(np.isfinite(z), z, np.inf)
        k = int(np.argmin(z))
        if not np.isfinite(z[k]):
            return None if best is None else (best, value)
        cell = (hi - lo) / (n - 1)
        if r == 0 and (np.isclose(pts[k], lo, atol=0.5 * cell) | np.isclose(pts[k], hi, atol=0.5 * cell)).any():
            return None
        if z[k] <= value:
            best, value = pts[k].copy(), float(z[k])
        lo, hi = best - 2 * cell, best + 2 * cell
    return best, value
