r"""The registry of test functions.

Each entry is a factory ``name(**params) -> TestFunction`` whose docstring gives the
formula, the minimizers, f* and a reference. Minimizers and f* below were computed
(closed forms where they exist, Newton's method in float64 otherwise) and are checked
numerically in ``tests/test_functions.py``; published tables contain misprints.

The classic 2-D benchmarks are in :mod:`optimlab.functions.classics`. Main reference
for the classic 2-D and d-D benchmarks: M. Jamil and X.-S. Yang, "A
literature survey of benchmark functions for global optimization problems", Int. J.
Mathematical Modelling and Numerical Optimisation 4(2), 150-194, 2013 (below: Jamil &
Yang 2013), and S. Surjanovic and D. Bingham, "Virtual Library of Simulation
Experiments" (SFU), for the usual domains.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import torch

from .._spec import name_key, unknown_name
from ._base import TestFunction, box, check_dim, check_positive, check_two_d, xy

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
        raise ValueError(unknown_name("function", name, _ALIASES, names(), n=4))
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


# ---------------------------------------------------------------------- lectures
@register("lecture-quadratic", "quadratic", "5x2+y2")
def lecture_quadratic(dim: int = 2) -> TestFunction:
    r"""The lectures' convex quadratic :math:`f(x, y) = 5x^2 + y^2` (notebook 001).

    Minimizer :math:`(0, 0)`, :math:`f^* = 0`; condition number 5. The notebook starts
    every method at :math:`(5, 5)` and draws the window :math:`[-7, 7]^2`.
    """
    check_two_d("lecture-quadratic", dim)
    return TestFunction(
        "lecture-quadratic", lambda x: 5 * x[..., 0] ** 2 + x[..., 1] ** 2, 2, box(-7, 7, 2),
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
    check_two_d("lecture-nonconvex", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        a, b = xy(x)
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
    dim = check_dim("ill-conditioned", dim)
    kappa = check_positive("ill-conditioned", "condition", condition)
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


# ---------------------------------------------------------------------- any dimension
@register("sphere")
def sphere(dim: int = 2) -> TestFunction:
    r"""The sphere :math:`f(x) = \sum_i x_i^2` (Jamil & Yang 2013, no. 137): the
    perfectly conditioned quadratic. Minimizer 0, :math:`f^* = 0`."""
    dim = check_dim("sphere", dim)
    return TestFunction(
        "sphere", lambda x: (x ** 2).sum(-1), dim, box(-5, 5, dim), minimizers=[[0] * dim], f_min=0.0,
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
    dim = check_dim("rastrigin", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        return 10 * dim + (x ** 2 - 10 * torch.cos(2 * math.pi * x)).sum(-1)

    return TestFunction(
        "rastrigin", f, dim, box(-5.12, 5.12, dim), minimizers=[[0] * dim], f_min=0.0,
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
    dim = check_dim("ackley", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        r = _safe_sqrt((x ** 2).mean(-1))
        # grouped so that f(0) is exactly 0 in floating point
        return 20 * (1 - torch.exp(-0.2 * r)) + (math.e - torch.exp(torch.cos(2 * math.pi * x).mean(-1)))

    d = str(dim)
    return TestFunction(
        "ackley", f, dim, box(-5, 5, dim), minimizers=[[0] * dim], f_min=0.0,
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
    dim = check_dim("styblinski-tang", dim)

    def f(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x ** 4 - 16 * x ** 2 + 5 * x).sum(-1)

    return TestFunction(
        "styblinski-tang", f, dim, box(-5, 5, dim), minimizers=[[_ST_X] * dim], f_min=_ST_F1 * dim,
        latex=r"\tfrac12 \sum_{i=1}^{" + str(dim) + r"} \left(x_i^4 - 16x_i^2 + 5x_i\right)",
        starts=[[4.0] + [0.5] * (dim - 1)],
        description="Styblinski-Tang: separable, 2^d local minima; minimum -39.16617 d.",
    )
