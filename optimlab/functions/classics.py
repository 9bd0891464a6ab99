r"""The classic 2-D benchmarks of the registry (:mod:`optimlab.functions.library`):
Rosenbrock, Beale, the valleys and saddles, Himmelblau, Booth, Matyas, McCormick, the
camels, Goldstein-Price and Branin.

Minimizers and f* were computed (closed forms where they exist, Newton's method in
float64 otherwise) and are checked numerically in ``tests/test_functions.py``. Main
reference: M. Jamil and X.-S. Yang, "A literature survey of benchmark functions for
global optimization problems", Int. J. Mathematical Modelling and Numerical
Optimisation 4(2), 150-194, 2013 (below: Jamil & Yang 2013), and S. Surjanovic and
D. Bingham, "Virtual Library of Simulation Experiments" (SFU), for the usual domains.
"""

from __future__ import annotations

import math

import torch

from ._base import TestFunction, box, check_dim, check_positive, check_two_d, xy
from .library import register

__all__: list[str] = []  # the factories are reached through the registry: get("beale")


@register("beale")
def beale(dim: int = 2) -> TestFunction:
    r"""Beale's function (E. M. L. Beale 1958, "On an iterative method for finding a
    local minimum of a function of more than one variable", Princeton TR 25;
    Jamil & Yang 2013, no. 10)

    .. math:: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2.

    Minimizer :math:`(3, 0.5)`, :math:`f^* = 0`; flat plateaus and steep walls: the
    scene of Ruder's optimizer animations. Domain :math:`[-4.5, 4.5]^2`.
    """
    check_two_d("beale", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b ** 2) ** 2 + (2.625 - a + a * b ** 3) ** 2

    def residuals(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return torch.stack([1.5 - a + a * b, 2.25 - a + a * b ** 2, 2.625 - a + a * b ** 3], -1)

    return TestFunction(
        "beale", f, 2, box(-4.5, 4.5, 2), minimizers=[[3, 0.5]], f_min=0.0, residuals=residuals,
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
    dim = check_dim("rosenbrock", dim, 2)
    a = float(a)
    b = check_positive("rosenbrock", "b", b)
    if dim > 2 and a != 1.0:
        raise ValueError(f"rosenbrock: a != 1 is supported for dim=2 only, got a={a!r}, dim={dim}")

    def f(x: torch.Tensor) -> torch.Tensor:
        u, v = x[..., :-1], x[..., 1:]
        return (b * (v - u ** 2) ** 2 + (a - u) ** 2).sum(-1)

    def f2(x: torch.Tensor) -> torch.Tensor:
        # d = 2: the same operations without the slices and the sum of one term (the values and
        # gradients are bit for bit f's); a compiled program of it runs in half the time
        u, v = x[..., 0], x[..., 1]
        return b * (v - u ** 2) ** 2 + (a - u) ** 2

    def residuals(x: torch.Tensor) -> torch.Tensor:  # (√b (x_{i+1} - x_i²), a - x_i) for each i
        u, v = x[..., :-1], x[..., 1:]
        return torch.cat([b ** 0.5 * (v - u ** 2), a - u], -1)

    if dim == 2:
        mins, latex = [[a, a * a]], rf"{b:g}\,(y - x^2)^2 + ({a:g} - x)^2"
        dom, starts = [[-2, 2], [-1, 3]], [[-1.2, 1], [-1.5, 2.5]]
    else:
        mins = [[1.0] * dim]
        latex = r"\sum_{i=1}^{" + str(dim - 1) + r"} " + f"{b:g}" + r"\,(x_{i+1} - x_i^2)^2 + (1 - x_i)^2"
        dom, starts = [[-2, 2]] * dim, [[-1.2 if i % 2 == 0 else 1.0 for i in range(dim)]]
    return TestFunction(
        "rosenbrock", f2 if dim == 2 else f, dim, dom, minimizers=mins, f_min=0.0, latex=latex, starts=starts,
        residuals=residuals,
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
    check_two_d("long-valley", dim)
    s = check_positive("long-valley", "steepness", steepness)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
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
    check_two_d("saddle", dim)
    return TestFunction(
        "saddle", lambda x: x[..., 0] ** 2 - x[..., 1] ** 2, 2, box(-2, 2, 2), minimizers=None,
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
    check_two_d("monkey-saddle", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return a ** 3 - 3 * a * b ** 2

    return TestFunction(
        "monkey-saddle", f, 2, box(-2, 2, 2), f_min=-math.inf, latex=r"x^3 - 3xy^2",
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
    check_two_d("himmelblau", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return (a ** 2 + b - 11) ** 2 + (a + b ** 2 - 7) ** 2

    return TestFunction(
        "himmelblau", f, 2, box(-5, 5, 2), minimizers=_HIMMELBLAU_MIN, f_min=0.0,
        latex=r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2", starts=[[0, 0], [-1, -1], [0.5, -4]],
        description="Himmelblau (1972): four global minima with f* = 0.",
    )


@register("booth")
def booth(dim: int = 2) -> TestFunction:
    r"""Booth's function (Jamil & Yang 2013, no. 23)
    :math:`f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2`, a convex quadratic.

    Minimizer :math:`(1, 3)`, :math:`f^* = 0`. Domain :math:`[-10, 10]^2`.
    """
    check_two_d("booth", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return (a + 2 * b - 7) ** 2 + (2 * a + b - 5) ** 2

    def residuals(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return torch.stack([a + 2 * b - 7, 2 * a + b - 5], -1)

    return TestFunction(
        "booth", f, 2, box(-10, 10, 2), minimizers=[[1, 3]], f_min=0.0,
        latex=r"(x + 2y - 7)^2 + (2x + y - 5)^2", starts=[[-8, -8], [8, -6]], residuals=residuals,
        description="Booth: convex quadratic, minimum (1, 3).",
    )


@register("matyas")
def matyas(dim: int = 2) -> TestFunction:
    r"""Matyas' function (Jamil & Yang 2013, no. 71)
    :math:`f(x, y) = 0.26 (x^2 + y^2) - 0.48 xy`, a convex quadratic with Hessian
    eigenvalues 0.04 and 1 (condition number 25) along the diagonals.

    Minimizer :math:`(0, 0)`, :math:`f^* = 0`. Domain :math:`[-10, 10]^2`.
    """
    check_two_d("matyas", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return 0.26 * (a ** 2 + b ** 2) - 0.48 * a * b

    return TestFunction(
        "matyas", f, 2, box(-10, 10, 2), minimizers=[[0, 0]], f_min=0.0,
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
    check_two_d("mccormick", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
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
    check_two_d("three-hump-camel", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return 2 * a ** 2 - 1.05 * a ** 4 + a ** 6 / 6 + a * b + b ** 2

    return TestFunction(
        "three-hump-camel", f, 2, box(-2, 2, 2), minimizers=[[0, 0]], f_min=0.0,
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
    check_two_d("six-hump-camel", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
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
    check_two_d("goldstein-price", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        p = 1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a ** 2 - 14 * b + 6 * a * b + 3 * b ** 2)
        q = 30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a ** 2 + 48 * b - 36 * a * b + 27 * b ** 2)
        return p * q

    return TestFunction(
        "goldstein-price", f, 2, box(-2, 2, 2), minimizers=[[0, -1]], f_min=3.0,
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
    check_two_d("branin", dim)
    b_, c_, r_, s_, t_ = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
        return (b - b_ * a ** 2 + c_ * a - r_) ** 2 + s_ * (1 - t_) * torch.cos(a) + s_

    mins = [[xm, b_ * xm ** 2 - c_ * xm + r_] for xm in (-math.pi, math.pi, 3 * math.pi)]
    return TestFunction(
        "branin", f, 2, [[-5, 10], [0, 15]], minimizers=mins, f_min=5 / (4 * math.pi),
        latex=(r"\left(y - \tfrac{5.1}{4\pi^2}x^2 + \tfrac{5}{\pi}x - 6\right)^2"
               r" + 10\left(1 - \tfrac{1}{8\pi}\right)\cos x + 10"),
        starts=[[0, 14], [8, 12]],
        description="Branin: three global minima (-pi, 12.275), (pi, 2.275), (3pi, 2.475), f* = 5/(4pi).",
    )
