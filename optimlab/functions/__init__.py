r"""Test functions for optimizers and a safe parser for user formulas.

>>> import optimlab.functions as F
>>> f = F.get("rosenbrock", dim=10)
>>> f.dim, f.f_min
(10, 0.0)
>>> g = F.parse("(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)")
>>> g.dim
2

See ``docs/functions.md`` for the table of functions and the formula grammar.
"""

from __future__ import annotations

from . import classics  # noqa: F401  (registers the classic 2-D functions)
from ._base import GradNoise, NoiseStreams, TestFunction
from .library import aliases, get, names, register
from .parser import FormulaError, from_dict, parse, resolve
from .residuals import parse_residuals

__all__ = ["TestFunction", "GradNoise", "NoiseStreams", "get", "names", "aliases", "register", "parse", "resolve",
           "from_dict", "FormulaError", "parse_residuals"]
