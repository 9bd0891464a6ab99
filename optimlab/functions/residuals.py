r"""User functions written as sums of squares: :func:`parse_residuals`.

A list of residual formulas :math:`r_1, \dots, r_m` (the safe parser's grammar, never
``eval``) becomes the :class:`TestFunction` :math:`f = \sum_i r_i^2` whose ``residuals``
attribute gives the vector :math:`(r_1, \dots, r_m)`: what Levenberg–Marquardt needs.
On the command line: ``"residuals: 1 - x; 10*(y - x**2)"`` (formulas separated by ``;``).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from ._base import TestFunction
from .parser import FormulaError, parse

__all__ = ["parse_residuals", "RESIDUALS_PREFIX"]

RESIDUALS_PREFIX = "residuals"
"""The name before the colon of a command-line spec of residual formulas."""


def parse_residuals(texts: Sequence[str], name: str | None = None, *, domain: Any = None, minimizers: Any = None,
                    f_min: float = math.nan, starts: Any = None) -> TestFunction:
    """The function :math:`\\sum_i r_i(x)^2` of the residual formulas ``texts`` (one string
    each, or one string with ``;`` between them), with ``.residuals`` and ``.variables``
    (all the formulas' variables, in the parser's order). Other arguments: as :func:`parse`.

    >>> f = parse_residuals(["1 - x", "10*(y - x**2)"])
    >>> f.variables, float(f([0.0, 1.0]))
    (['x', 'y'], 101.0)
    >>> f.residuals(torch.tensor([0.0, 1.0])).tolist()
    [1.0, 10.0]
    """
    if isinstance(texts, str):
        texts = texts.split(";")
    if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
        raise TypeError(f"residuals must be a list of formula strings, got {texts!r}")
    texts = [t.strip() for t in texts]
    if not texts or any(not t for t in texts):
        raise ValueError(f"residuals must be one or more non-empty formulas, got {list(texts)!r}")
    joined = " + ".join(f"({t})**2" for t in texts)
    try:
        whole = parse(joined, name=name if name is not None else "; ".join(texts), domain=domain,
                      minimizers=minimizers, f_min=f_min, starts=starts,
                      description=f"sum of squares of {len(texts)} user residual(s)")
    except FormulaError:
        for t in texts:  # the error's caret points into the formula the user typed
            parse(t)
        raise
    parts = [parse(t) for t in texts]
    where = [[whole.variables.index(v) for v in p.variables] for p in parts]

    def residuals(x: torch.Tensor) -> torch.Tensor:
        return torch.stack([p(x[..., idx]) for p, idx in zip(parts, where)], -1)

    f = whole._copy(residuals=residuals, params={"residuals": list(texts)})
    f.variables = whole.variables  # type: ignore[attr-defined]
    return f
