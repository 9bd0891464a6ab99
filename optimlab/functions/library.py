r"""The registry of test functions.

Each entry is a factory ``name(**params) -> TestFunction`` whose docstring gives the
formula, the minimizers, f* and a reference. Minimizers and f* below were computed
(closed forms where they exist, Newton's method in float64 otherwise) and are checked
numerically in ``tests/test_functions.py``; published tables contain misprints.

Main reference for the classic 2-D and d-D benchmarks: M. Jamil and X.-S. Yang, "A
literature survey of benchmark functions for global optimization problems", Int. J.
Mathematical Modelling and Numerical Optimisation 4(2), 150-194, 2013 (below: Jamil &
Yang 2013), and S. Surjanovic and D. Bingham, "Virtual Library of Simulation
Experiments" (SFU), for the usual domains.
"""

from __future__ import annotations

import difflib
import inspect
import math
from typing import Any, Callable

import numpy as np
import torch

from .._spec import name_key
from ._base import TestFunction

__all__ = ["get", "names", "register", "aliases"]

_FACTORIES: dict[str, Callable[..., TestFunction]] = {}
_ALIASES: dict[str, str] = {}  # normalized key -> canonical name




def register(name: str, *aliases: str) -> Callable[[Callable[..., TestFunction]], Callable[..., TestFunction]]:
    """Decorator: make the factory available as ``get(name)`` (and its aliases)."""

    def deco(factory: Callable[..., TestFunction]) -> Callable[..., TestFunction]:
        _FACTORIES[name] = factory
        for a in (name, *aliases):
            _ALIASES[name_key(a)] = name
        return factory

    return deco


def names() -> list[str]:
    """Canonical names of every registered function, sorted."""
    return sorted(_FACTORIES)


def aliases() -> dict[str, str]:
    """Every accepted (normalized) name and the canonical name it stands for."""
    return dict(sorted(_ALIASES.items()))


def get(name: str, **params: Any) -> TestFunction:
    """The test function ``name`` built with ``params``.

    Names are case-insensitive; ``-``, ``_`` and spaces are ignored
    (``"Six-Hump Camel" == "six_hump_camel"``). ``noise=sigma, seed=s`` give the
    noisy version (:meth:`TestFunction.with_noise`); the other parameters are the
    factory's (e.g. ``dim`` for the d-D functions, ``condition`` for
    ``"ill-conditioned"``); see :func:`names` and each factory's docstring.
    """
    if not isinstance(name, str):
        raise TypeError(f"function name must be a string, got {type(name).__name__}")
    canon = _ALIASES.get(name_key(name))
    if canon is None:
        close = difflib.get_close_matches(name_key(name), list(_ALIASES), n=4, cutoff=0.5)
        close_names = list(dict.fromkeys(_ALIASES[c] for c in close))
        hint = f" Did you mean {', '.join(repr(c) for c in close_names)}?" if close_names else ""
        raise ValueError(f"unknown function {name!r}.{hint} Available: {', '.join(names())}")
    noise = params.pop("noise", 0.0)
    seed = params.pop("seed", 0)
    factory = _FACTORIES[canon]
    sig = inspect.signature(factory)
    bad = [k for k in params if k not in sig.parameters]
    if bad:
        allowed = ", ".join(list(sig.parameters) + ["noise", "seed"])
        raise ValueError(f"{canon}: unknown parameter(s) {', '.join(map(repr, bad))}; allowed: {allowed}")
    bound = sig.bind(**params)
    bound.apply_defaults()
    f = factory(**bound.arguments)
    f.params = dict(bound.arguments)
    if noise:
        f = f.with_noise(noise, seed)
    return f


# ---------------------------------------------------------------------- helpers
MAX_DIM = 100_000
"""The largest ``dim`` a test function is built with: its domain, start and minimizer are
lists of ``dim`` rows, so ``dim=10**9`` would fill the memory before any check could run.
Raise it here for larger experiments."""


def _check_dim(name: str, dim: Any, minimum: int = 1) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < minimum:
        raise ValueError(f"{name}: dim must be an integer >= {minimum}, got {dim!r}")
    if dim > MAX_DIM:
        raise ValueError(f"{name}: dim must be at most {MAX_DIM:,} (optimlab.functions.library.MAX_DIM), "
                         f"got {dim:,}")
    return int(dim)


def _two(name: str, dim: Any) -> None:
    if dim != 2:
        raise ValueError(f"{name} is defined for dim=2 only, got dim={dim!r}")


def _positive(name: str, arg: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: {arg} must be a finite number > 0, got {value!r}")
    return float(value)


def _xy(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., 0], x[..., 1]


def _box(lo: float, hi: float, dim: int) -> list[list[float]]:
    return [[lo, hi]] * dim


# ---------------------------------------------------------------------- lectures
@register("lecture-quadratic", "quadratic", "5x2+y2")
def lecture_quadratic(dim: int = 2) -> TestFunction:
    r"""The lectures' convex quadratic :math:`f(x, y) = 5x^2 + y^2` (notebook 001).

    Minimizer :math:`(0, 0)`, :math:`f^* = 0`; condition number 5. The notebook starts
    every method at :math:`(5, 5)` and draws the window :math:`[-7, 7]^2`.
    """
    _two("lecture-quadratic", dim)
    return TestFunction(
        "lecture-quadratic", lambda x: 5 * x[..., 0] ** 2 + x[..., 1] ** 2, 2, _box(-7, 7, 2),
        minimizers=[[0, 0]], f_min=0.0, latex=r"5x^2 + y^2", starts=[[5, 5]],
        description="Convex quadratic of the lectures' notebook (condition number 5); start (5, 5).",
    )


# Computed with Newton's method in float64 from the minima of a 2401 x 3601 grid on
# [0, 12] x [-6, 12] (every grid local minimum refined; gradient < 1e-14 at each).
_NONCONVEX_MIN = [3.2622206131213503, 5.2496533765621995]
_NONCONVEX_FMIN = 0.9177156346963714
_NONCONVEX_LOCAL = [
    [2.3558495202629812, 4.753893768504008],   # f = 0.99986811687417
    [4.257976564124758, 5.407899680411682],    # f = 3.00730680549744, reached by GD from (5, -2)
    [1.1604402011256085, 4.708533952982166],   # f = 3.78834406760158, reached by Adam from (5, -2)
    [5.22648976606684, 5.517138278975402],     # f = 7.28359106475525
]


@register("lecture-nonconvex", "nonconvex")
def lecture_nonconvex(dim: int = 2) -> TestFunction:
    r"""The lectures' non-convex function (notebook 001)

    .. math:: f(x, y) = (x - 3)^2 + 8 (y - 5)^4 + \sqrt{x} + \sin(xy).

    Defined for :math:`x \ge 0` only: for :math:`x < 0` the value is NaN (as
    ``torch.sqrt`` gives), and at :math:`x = 0` the x-derivative is :math:`+\infty`.
    Domain (the notebook's window) :math:`x \in [0, 10]`, :math:`y \in [-5, 10]`.

    What is known (computed here, no closed form): the term :math:`\sin(xy)` makes
    several local minima along the valley :math:`y \approx 5`. The global minimum on
    :math:`x \ge 0` is :math:`f^* \approx 0.917715634696` at
    :math:`(3.262220613121, 5.249653376562)`; the other local minima are at about
    (2.35585, 4.75389) f = 0.999868, (4.25798, 5.40790) f = 3.007307,
    (1.16044, 4.70853) f = 3.788344 and (5.22649, 5.51714) f = 7.283591
    (``local_minimizers``). From the notebook's start :math:`(5, -2)`, gradient
    descent with lr 2e-4 converges to the local minimum (4.25798, 5.40790), and Adam
    with lr 0.1 to (1.16044, 4.70853); neither finds the global one.
    """
    _two("lecture-nonconvex", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return (a - 3) ** 2 + 8 * (b - 5) ** 4 + torch.sqrt(a) + torch.sin(a * b)

    return TestFunction(
        "lecture-nonconvex", f, 2, [[0, 10], [-5, 10]], minimizers=[_NONCONVEX_MIN], f_min=_NONCONVEX_FMIN,
        latex=r"(x - 3)^2 + 8(y - 5)^4 + \sqrt{x} + \sin(xy)", starts=[[5, -2]],
        local_minimizers=_NONCONVEX_LOCAL,
        description="Non-convex function of the lectures' notebook; NaN for x < 0; several local minima "
                    "along y = 5; start (5, -2).",
    )


@register("ill-conditioned", "illconditioned", "ill-conditioned-quadratic", "elliptic")
def ill_conditioned(condition: float = 10.0, dim: int = 2) -> TestFunction:
    r"""Ill-conditioned quadratic :math:`f(x) = \tfrac12 \sum_i \lambda_i x_i^2` with
    eigenvalues log-spaced from 1 to :math:`\kappa` = ``condition``:
    :math:`\lambda_i = \kappa^{(i-1)/(d-1)}`.

    For ``dim=2`` this is the lectures' (004) :math:`\tfrac12 (x^2 + \kappa y^2)`,
    with :math:`\kappa = 10` the narrow valley in which gradient descent zig-zags; the
    condition number of the Hessian is :math:`\kappa`. Minimizer 0, :math:`f^* = 0`.
    """
    dim = _check_dim("ill-conditioned", dim)
    kappa = _positive("ill-conditioned", "condition", condition)
    if kappa < 1:
        raise ValueError(f"ill-conditioned: condition must be >= 1, got {condition!r}")
    lam = [kappa ** (i / (dim - 1)) if dim > 1 else 1.0 for i in range(dim)]
    lam_t = torch.tensor(lam, dtype=torch.float64)

    def f(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (lam_t.to(x.dtype).to(x.device) * x ** 2).sum(-1)

    k = f"{kappa:g}"
    latex = (r"\tfrac12\left(x^2 + " + k + r"\,y^2\right)" if dim == 2
             else r"\tfrac12 \sum_{i=1}^{" + str(dim) + r"} " + k + r"^{(i-1)/" + str(max(dim - 1, 1)) + r"} x_i^2")
    return TestFunction(
        "ill-conditioned", f, dim, [[-10, 10]] + [[-4, 4]] * (dim - 1), minimizers=[[0] * dim], f_min=0.0,
        latex=latex, starts=[[-8] + [3] * (dim - 1)],
        description=f"Quadratic with Hessian eigenvalues log-spaced in [1, {k}] (condition number {k}).",
    )


# ---------------------------------------------------------------------- classics
@register("beale")
def beale(dim: int = 2) -> TestFunction:
    r"""Beale's function (E. M. L. Beale 1958, "On an iterative method for finding a
    local minimum of a function of more than one variable", Princeton TR 25;
    Jamil & Yang 2013, no. 10)

    .. math:: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2.

    Minimizer :math:`(3, 0.5)`, :math:`f^* = 0`; flat plateaus and steep walls: the
    scene of Ruder's optimizer animations. Domain :math:`[-4.5, 4.5]^2`.
    """
    _two("beale", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b ** 2) ** 2 + (2.625 - a + a * b ** 3) ** 2

    return TestFunction(
        "beale", f, 2, _box(-4.5, 4.5, 2), minimizers=[[3, 0.5]], f_min=0.0,
        latex=r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        starts=[[1, 1.5], [3, 4], [-2, -1]],
        description="Beale (1958): valley with flat plateau and steep walls; minimum (3, 0.5).",
    )


@register("rosenbrock", "banana")
def rosenbrock(dim: int = 2, a: float = 1.0, b: float = 100.0) -> TestFunction:
    r"""Rosenbrock's function (H. H. Rosenbrock 1960, "An automatic method for finding
    the greatest or least value of a function", The Computer Journal 3(3); the d-D
    chained form as in Jamil & Yang 2013, no. 105)

    .. math:: f(x) = \sum_{i=1}^{d-1} b\,(x_{i+1} - x_i^2)^2 + (a - x_i)^2.

    Minimizer :math:`(a, a^2)` for d = 2 and :math:`(1, \dots, 1)` for the default
    :math:`a = 1`; :math:`f^* = 0`. For 4 <= d <= 7 there is also a local minimum near
    :math:`(-1, 1, \dots, 1)`. The curved valley ("banana") is the classic test of
    slow progress along a valley floor. Plot domain :math:`[-2, 2] \times [-1, 3]`.
    """
    dim = _check_dim("rosenbrock", dim, 2)
    a = float(a)
    b = _positive("rosenbrock", "b", b)
    if dim > 2 and a != 1.0:
        raise ValueError(f"rosenbrock: a != 1 is supported for dim=2 only, got a={a!r}, dim={dim}")

    def f(x: torch.Tensor) -> torch.Tensor:
        u, v = x[..., :-1], x[..., 1:]
        return (b * (v - u ** 2) ** 2 + (a - u) ** 2).sum(-1)

    if dim == 2:
        mins, latex = [[a, a * a]], rf"{b:g}\,(y - x^2)^2 + ({a:g} - x)^2"
        dom, starts = [[-2, 2], [-1, 3]], [[-1.2, 1], [-1.5, 2.5]]
    else:
        mins = [[1.0] * dim]
        latex = r"\sum_{i=1}^{" + str(dim - 1) + r"} " + f"{b:g}" + r"\,(x_{i+1} - x_i^2)^2 + (1 - x_i)^2"
        dom, starts = [[-2, 2]] * dim, [[-1.2 if i % 2 == 0 else 1.0 for i in range(dim)]]
    return TestFunction(
        "rosenbrock", f, dim, dom, minimizers=mins, f_min=0.0, latex=latex, starts=starts,
        description="Rosenbrock (1960): curved narrow valley; minimum at (1, ..., 1).",
    )


@register("long-valley", "valley", "narrow-valley", "longvalley")
def long_valley(dim: int = 2, steepness: float = 10.0) -> TestFunction:
    r"""A long narrow valley with a sloping floor:

    .. math:: f(x, y) = \sqrt{1 + x^2} - 1 + s\,y^2, \quad s = \text{steepness} = 10.

    Across the valley it is a steep parabola (curvature :math:`2s`); along it the floor
    :math:`\sqrt{1 + x^2} - 1` descends with slope close to 1 far from the minimum
    (a tilted trough, as in the "long valley" scene of S. Ruder's 2016 overview of
    gradient descent optimizers / A. Radford's animations), and becomes quadratic near
    the minimizer :math:`(0, 0)`, :math:`f^* = 0`. Plain gradient descent with a step
    big enough to move along the floor oscillates across it; momentum and adaptive
    methods run down the floor. Domain :math:`[-10, 2] \times [-2, 2]`; start
    :math:`(-9, 1)`.
    """
    _two("long-valley", dim)
    s = _positive("long-valley", "steepness", steepness)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return torch.sqrt(1 + a ** 2) - 1 + s * b ** 2

    return TestFunction(
        "long-valley", f, 2, [[-10, 2], [-2, 2]], minimizers=[[0, 0]], f_min=0.0,
        latex=rf"\sqrt{{1 + x^2}} - 1 + {s:g}\,y^2", starts=[[-9, 1], [-9, 0.2]],
        description="Long narrow valley whose floor slopes down to the minimum (0, 0).",
    )


@register("saddle")
def saddle(dim: int = 2) -> TestFunction:
    r"""The saddle :math:`f(x, y) = x^2 - y^2`.

    The only stationary point :math:`(0, 0)` is a saddle (``saddle_points``); there is
    no minimizer (``minimizers`` is empty, shape (0, 2)) and :math:`f^* = -\infty`.
    Started on or near the line :math:`y = 0`, gradient descent approaches the saddle
    and escapes along y only as fast as the small offset grows (Ruder 2016's saddle
    scene). Domain :math:`[-2, 2]^2`.
    """
    _two("saddle", dim)
    return TestFunction(
        "saddle", lambda x: x[..., 0] ** 2 - x[..., 1] ** 2, 2, _box(-2, 2, 2), minimizers=None,
        f_min=-math.inf, latex=r"x^2 - y^2", starts=[[1.5, 1e-3], [1.5, 0.25]], saddle_points=[[0, 0]],
        description="Saddle x^2 - y^2: no minimum (f* = -inf); saddle point at (0, 0).",
    )


@register("monkey-saddle", "monkeysaddle")
def monkey_saddle(dim: int = 2) -> TestFunction:
    r"""The monkey saddle :math:`f(x, y) = x^3 - 3xy^2`.

    Its stationary point :math:`(0, 0)` is degenerate (gradient and Hessian vanish);
    three valleys go down from it. No minimizer (empty ``minimizers``),
    :math:`f^* = -\infty`. Domain :math:`[-2, 2]^2`.
    """
    _two("monkey-saddle", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return a ** 3 - 3 * a * b ** 2

    return TestFunction(
        "monkey-saddle", f, 2, _box(-2, 2, 2), f_min=-math.inf, latex=r"x^3 - 3xy^2",
        starts=[[1.5, 1e-3], [1.0, 0.5]], saddle_points=[[0, 0]],
        description="Monkey saddle x^3 - 3xy^2: degenerate saddle at (0, 0), no minimum (f* = -inf).",
    )


# Newton's method in float64 from the rounded published values; gradient < 2e-14.
_HIMMELBLAU_MIN = [
    [3.0, 2.0],
    [-2.805118086952745, 3.131312518250573],
    [-3.779310253377747, -3.283185991286169],
    [3.5844283403304917, -1.8481265269644034],
]


@register("himmelblau")
def himmelblau(dim: int = 2) -> TestFunction:
    r"""Himmelblau's function (D. M. Himmelblau 1972, "Applied Nonlinear Programming",
    McGraw-Hill)

    .. math:: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2.

    Four global minimizers with :math:`f^* = 0`: :math:`(3, 2)` and about
    :math:`(-2.805118, 3.131313)`, :math:`(-3.779310, -3.283186)`,
    :math:`(3.584428, -1.848127)`; a local maximum near :math:`(-0.270845, -0.923039)`.
    Domain :math:`[-5, 5]^2`.
    """
    _two("himmelblau", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return (a ** 2 + b - 11) ** 2 + (a + b ** 2 - 7) ** 2

    return TestFunction(
        "himmelblau", f, 2, _box(-5, 5, 2), minimizers=_HIMMELBLAU_MIN, f_min=0.0,
        latex=r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2", starts=[[0, 0], [-1, -1], [0.5, -4]],
        description="Himmelblau (1972): four global minima with f* = 0.",
    )


@register("booth")
def booth(dim: int = 2) -> TestFunction:
    r"""Booth's function (Jamil & Yang 2013, no. 23)
    :math:`f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2`, a convex quadratic.

    Minimizer :math:`(1, 3)`, :math:`f^* = 0`. Domain :math:`[-10, 10]^2`.
    """
    _two("booth", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return (a + 2 * b - 7) ** 2 + (2 * a + b - 5) ** 2

    return TestFunction(
        "booth", f, 2, _box(-10, 10, 2), minimizers=[[1, 3]], f_min=0.0,
        latex=r"(x + 2y - 7)^2 + (2x + y - 5)^2", starts=[[-8, -8], [8, -6]],
        description="Booth: convex quadratic, minimum (1, 3).",
    )


@register("matyas")
def matyas(dim: int = 2) -> TestFunction:
    r"""Matyas' function (Jamil & Yang 2013, no. 71)
    :math:`f(x, y) = 0.26 (x^2 + y^2) - 0.48 xy`, a convex quadratic with Hessian
    eigenvalues 0.04 and 1 (condition number 25) along the diagonals.

    Minimizer :math:`(0, 0)`, :math:`f^* = 0`. Domain :math:`[-10, 10]^2`.
    """
    _two("matyas", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return 0.26 * (a ** 2 + b ** 2) - 0.48 * a * b

    return TestFunction(
        "matyas", f, 2, _box(-10, 10, 2), minimizers=[[0, 0]], f_min=0.0,
        latex=r"0.26\,(x^2 + y^2) - 0.48\,xy", starts=[[8, 3], [-6, 9]],
        description="Matyas: rotated convex quadratic (condition number 25), minimum (0, 0).",
    )


@register("mccormick")
def mccormick(dim: int = 2) -> TestFunction:
    r"""McCormick's function (Jamil & Yang 2013, no. 72)

    .. math:: f(x, y) = \sin(x + y) + (x - y)^2 - 1.5x + 2.5y + 1

    on the box :math:`x \in [-1.5, 4]`, :math:`y \in [-3, 4]`. Stationarity gives
    :math:`x - y = 1` and :math:`\cos(x + y) = -1/2`, so the minimizer in the box is
    :math:`(1/2 - \pi/3, -1/2 - \pi/3) \approx (-0.547198, -1.547198)` (both
    coordinates negative; some tables print a wrong sign) with
    :math:`f^* = -\sqrt3/2 - \pi/3 \approx -1.913223`. On all of
    :math:`\mathbb R^2` the function is unbounded below (along :math:`x = y \to -\infty`),
    so f* is the minimum over the box.
    """
    _two("mccormick", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return torch.sin(a + b) + (a - b) ** 2 - 1.5 * a + 2.5 * b + 1

    return TestFunction(
        "mccormick", f, 2, [[-1.5, 4], [-3, 4]], minimizers=[[0.5 - math.pi / 3, -0.5 - math.pi / 3]],
        f_min=-math.sqrt(3) / 2 - math.pi / 3, latex=r"\sin(x + y) + (x - y)^2 - 1.5x + 2.5y + 1",
        starts=[[3, 3], [-1, 3]],
        description="McCormick: minimum over the box at (1/2 - pi/3, -1/2 - pi/3); unbounded below on R^2.",
    )


@register("three-hump-camel", "camel3", "threehumpcamel")
def three_hump_camel(dim: int = 2) -> TestFunction:
    r"""Three-hump camel function (Jamil & Yang 2013, no. 29)

    .. math:: f(x, y) = 2x^2 - 1.05x^4 + x^6/6 + xy + y^2.

    Global minimizer :math:`(0, 0)`, :math:`f^* = 0`, and two local minima.
    Domain :math:`[-2, 2]^2` (search domain usually :math:`[-5, 5]^2`).
    """
    _two("three-hump-camel", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return 2 * a ** 2 - 1.05 * a ** 4 + a ** 6 / 6 + a * b + b ** 2

    return TestFunction(
        "three-hump-camel", f, 2, _box(-2, 2, 2), minimizers=[[0, 0]], f_min=0.0,
        latex=r"2x^2 - 1.05x^4 + \tfrac{x^6}{6} + xy + y^2", starts=[[-1.8, 1.5], [1.5, 1.5]],
        description="Three-hump camel: global minimum (0, 0) and two local minima.",
    )


# Newton's method in float64; gradient < 1e-16.
_SIX_HUMP_MIN = [[0.08984201310031806, -0.7126564030207396], [-0.08984201310031806, 0.7126564030207396]]
_SIX_HUMP_FMIN = -1.0316284534898774


@register("six-hump-camel", "camel6", "sixhumpcamel")
def six_hump_camel(dim: int = 2) -> TestFunction:
    r"""Six-hump camel function (Jamil & Yang 2013, no. 30; Dixon & Szegő 1978)

    .. math:: f(x, y) = (4 - 2.1x^2 + x^4/3)\,x^2 + xy + (-4 + 4y^2)\,y^2.

    Two global minimizers :math:`\pm(0.0898420131, -0.7126564030)`,
    :math:`f^* \approx -1.0316284535`; four more local minima. Domain
    :math:`[-2, 2] \times [-1, 1]` (search domain usually :math:`[-3, 3] \times [-2, 2]`).
    """
    _two("six-hump-camel", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return (4 - 2.1 * a ** 2 + a ** 4 / 3) * a ** 2 + a * b + (-4 + 4 * b ** 2) * b ** 2

    return TestFunction(
        "six-hump-camel", f, 2, [[-2, 2], [-1, 1]], minimizers=_SIX_HUMP_MIN, f_min=_SIX_HUMP_FMIN,
        latex=r"\left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + (-4 + 4y^2)\,y^2",
        starts=[[-1.5, -0.8], [1.5, 0.8]],
        description="Six-hump camel: two global minima, four local ones.",
    )


@register("goldstein-price", "goldsteinprice")
def goldstein_price(dim: int = 2) -> TestFunction:
    r"""Goldstein–Price function (A. A. Goldstein and J. F. Price 1971, "On descent from
    local minima", Math. Comp. 25; Jamil & Yang 2013, no. 58)

    .. math::
        f(x, y) = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]
                  \left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right].

    Minimizer :math:`(0, -1)`, :math:`f^* = 3`; several local minima; values span
    six orders of magnitude on :math:`[-2, 2]^2`.
    """
    _two("goldstein-price", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        p = 1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a ** 2 - 14 * b + 6 * a * b + 3 * b ** 2)
        q = 30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a ** 2 + 48 * b - 36 * a * b + 27 * b ** 2)
        return p * q

    return TestFunction(
        "goldstein-price", f, 2, _box(-2, 2, 2), minimizers=[[0, -1]], f_min=3.0,
        latex=(r"\left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
               r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]"),
        starts=[[1.5, 1.5], [-1.5, 1]],
        description="Goldstein-Price: minimum 3 at (0, -1), several local minima.",
    )


@register("branin", "branin-hoo")
def branin(dim: int = 2) -> TestFunction:
    r"""Branin (Branin–Hoo) function (F. H. Branin 1972; Jamil & Yang 2013, no. 22;
    Dixon & Szegő 1978)

    .. math:: f(x, y) = a (y - b x^2 + c x - r)^2 + s (1 - t) \cos x + s

    with :math:`a = 1`, :math:`b = 5.1/(4\pi^2)`, :math:`c = 5/\pi`, :math:`r = 6`,
    :math:`s = 10`, :math:`t = 1/(8\pi)`. Three global minimizers
    :math:`(-\pi, 12.275)`, :math:`(\pi, 2.275)`, :math:`(3\pi, 2.475)` (where
    :math:`\cos x = -1` and the square vanishes) with
    :math:`f^* = s\,t = 5/(4\pi) \approx 0.397887`. Domain
    :math:`[-5, 10] \times [0, 15]`.
    """
    _two("branin", dim)
    b_, c_, r_, s_, t_ = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = _xy(x)
        return (b - b_ * a ** 2 + c_ * a - r_) ** 2 + s_ * (1 - t_) * torch.cos(a) + s_

    mins = [[xm, b_ * xm ** 2 - c_ * xm + r_] for xm in (-math.pi, math.pi, 3 * math.pi)]
    return TestFunction(
        "branin", f, 2, [[-5, 10], [0, 15]], minimizers=mins, f_min=5 / (4 * math.pi),
        latex=(r"\left(y - \tfrac{5.1}{4\pi^2}x^2 + \tfrac{5}{\pi}x - 6\right)^2"
               r" + 10\left(1 - \tfrac{1}{8\pi}\right)\cos x + 10"),
        starts=[[0, 14], [8, 12]],
        description="Branin: three global minima (-pi, 12.275), (pi, 2.275), (3pi, 2.475), f* = 5/(4pi).",
    )


# ---------------------------------------------------------------------- any dimension
@register("sphere")
def sphere(dim: int = 2) -> TestFunction:
    r"""The sphere :math:`f(x) = \sum_i x_i^2` (Jamil & Yang 2013, no. 137): the
    perfectly conditioned quadratic. Minimizer 0, :math:`f^* = 0`."""
    dim = _check_dim("sphere", dim)
    return TestFunction(
        "sphere", lambda x: (x ** 2).sum(-1), dim, _box(-5, 5, dim), minimizers=[[0] * dim], f_min=0.0,
        latex=r"\sum_{i=1}^{" + str(dim) + r"} x_i^2", starts=[[4] + [-3] * (dim - 1)],
        description="Sphere: sum of squares, condition number 1.",
    )


@register("rastrigin")
def rastrigin(dim: int = 2) -> TestFunction:
    r"""Rastrigin's function (L. A. Rastrigin 1974; Jamil & Yang 2013 list it among
    the multimodal benchmarks)

    .. math:: f(x) = 10 d + \sum_{i=1}^d \left(x_i^2 - 10 \cos(2\pi x_i)\right).

    Minimizer 0, :math:`f^* = 0`; a local minimum near every integer point.
    Domain :math:`[-5.12, 5.12]^d`.
    """
    dim = _check_dim("rastrigin", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        return 10 * dim + (x ** 2 - 10 * torch.cos(2 * math.pi * x)).sum(-1)

    return TestFunction(
        "rastrigin", f, dim, _box(-5.12, 5.12, dim), minimizers=[[0] * dim], f_min=0.0,
        latex=str(10 * dim) + r" + \sum_{i=1}^{" + str(dim) + r"} \left(x_i^2 - 10\cos(2\pi x_i)\right)",
        starts=[[2.8] + [-2.2] * (dim - 1)],
        description="Rastrigin: highly multimodal, local minima near the integer points; minimum 0.",
    )


def _safe_sqrt(s: torch.Tensor) -> torch.Tensor:
    """sqrt whose autograd gradient at 0 is 0 instead of NaN (0 is a subgradient
    of the functions that use it, e.g. Ackley at its minimizer)."""
    pos = s > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, s, torch.ones_like(s))), torch.zeros_like(s))


@register("ackley")
def ackley(dim: int = 2) -> TestFunction:
    r"""Ackley's function (D. H. Ackley 1987, "A connectionist machine for genetic
    hillclimbing"; Jamil & Yang 2013, no. 1)

    .. math::
        f(x) = -20 \exp\left(-0.2 \sqrt{\tfrac1d \textstyle\sum_i x_i^2}\right)
               - \exp\left(\tfrac1d \textstyle\sum_i \cos(2\pi x_i)\right) + 20 + e.

    Minimizer 0, :math:`f^* = 0`. The function is not differentiable at 0 (a
    cone tip); autograd returns the subgradient 0 there. Domain :math:`[-5, 5]^d`
    (search domain usually :math:`[-32.768, 32.768]^d`).
    """
    dim = _check_dim("ackley", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        r = _safe_sqrt((x ** 2).mean(-1))
        # grouped so that f(0) is exactly 0 in floating point
        return 20 * (1 - torch.exp(-0.2 * r)) + (math.e - torch.exp(torch.cos(2 * math.pi * x).mean(-1)))

    d = str(dim)
    return TestFunction(
        "ackley", f, dim, _box(-5, 5, dim), minimizers=[[0] * dim], f_min=0.0,
        latex=(r"-20\exp\left(-0.2\sqrt{\tfrac{1}{" + d + r"}\sum_{i=1}^{" + d + r"} x_i^2}\right)"
               r" - \exp\left(\tfrac{1}{" + d + r"}\sum_{i=1}^{" + d + r"}\cos(2\pi x_i)\right) + 20 + e"),
        starts=[[3.5] + [-2.5] * (dim - 1)],
        description="Ackley: nearly flat outer region with many local minima, a deep hole at 0.",
    )


def _styblinski_tang_root() -> float:
    """The smaller root of p'(t) = 4t^3 - 32t + 5 (the 1-D minimizer), by Newton."""
    t = -3.0
    for _ in range(50):
        t -= (4 * t ** 3 - 32 * t + 5) / (12 * t ** 2 - 32)
    return t


_ST_X = _styblinski_tang_root()
_ST_F1 = 0.5 * (_ST_X ** 4 - 16 * _ST_X ** 2 + 5 * _ST_X)


@register("styblinski-tang", "styblinskitang")
def styblinski_tang(dim: int = 2) -> TestFunction:
    r"""Styblinski–Tang function (M. A. Styblinski and T.-S. Tang 1990, "Experiments in
    nonconvex optimization", Neural Networks 3; Jamil & Yang 2013, no. 144)

    .. math:: f(x) = \tfrac12 \sum_{i=1}^d \left(x_i^4 - 16 x_i^2 + 5 x_i\right).

    Separable: each coordinate minimizes :math:`t^4 - 16t^2 + 5t`, whose global
    minimizer is the smaller root of :math:`4t^3 - 32t + 5`,
    :math:`t^* \approx -2.903534027771`. So the minimizer is :math:`(t^*, \dots, t^*)`
    and :math:`f^* \approx -39.166165703771\,d` (not -39.16599 d as often printed).
    :math:`2^d - 1` further local minima. Domain :math:`[-5, 5]^d`.
    """
    dim = _check_dim("styblinski-tang", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x ** 4 - 16 * x ** 2 + 5 * x).sum(-1)

    return TestFunction(
        "styblinski-tang", f, dim, _box(-5, 5, dim), minimizers=[[_ST_X] * dim], f_min=_ST_F1 * dim,
        latex=r"\tfrac12 \sum_{i=1}^{" + str(dim) + r"} \left(x_i^4 - 16x_i^2 + 5x_i\right)",
        starts=[[4.0] + [0.5] * (dim - 1)],
        description="Styblinski-Tang: separable, 2^d local minima; minimum -39.16617 d.",
    )
