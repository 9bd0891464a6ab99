"""The :class:`TestFunction` object: a formula with its metadata, values for any batch
of points, gradients by autograd, and an optional seeded gradient noise."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._json import to_jsonable

__all__ = ["TestFunction", "GradNoise", "NoiseStreams"]


class NoiseStreams:
    """Gradient-noise streams for the R runs (rows) of a batch: row j draws from
    ``torch.Generator().manual_seed(seeds[j])`` one ``(1, ...)`` sample per evaluation,
    exactly what the function with noise seed ``seeds[j]`` draws when it runs alone.
    Rows with the same seed share one stream (each sees the draws it would see alone)."""

    def __init__(self, seeds: Sequence[int]):
        self.seeds = [int(s) for s in seeds]
        uniq = sorted(set(self.seeds))
        self._gens = [torch.Generator().manual_seed(s) for s in uniq]
        self._rows = torch.tensor([uniq.index(s) for s in self.seeds], dtype=torch.long)

    def draw(self, shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
        """One standard normal sample per row, shape ``shape`` (rows first), on the CPU."""
        one = (1,) + tuple(shape[1:])
        return torch.cat([torch.randn(one, generator=g, dtype=dtype) for g in self._gens])[self._rows]

    def reset(self) -> None:
        """Restart every stream from its seed."""
        for g, s in zip(self._gens, sorted(set(self.seeds))):
            g.manual_seed(s)


class GradNoise(torch.autograd.Function):
    r"""Identity in the forward pass; the backward pass adds :math:`\sigma\,\xi`,
    :math:`\xi \sim \mathcal N(0, I)`, to the incoming gradient: drawn from ``generator``
    (a ``torch.Generator``: one sample of the gradient's shape), or from a
    :class:`NoiseStreams` (one stream per row, for R runs with their own seeds).

    Applied to the *input* of a test function, every autograd gradient of the function
    becomes :math:`\nabla f(x) + \sigma\xi` while the values stay exact: the model of a
    stochastic gradient used in SGD analyses (unbiased, variance :math:`\sigma^2` per
    coordinate). The one implementation of gradient noise in optimlab.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, sigma: float, generator: torch.Generator | NoiseStreams) -> torch.Tensor:
        ctx.sigma = sigma
        ctx.generator = generator
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        src = ctx.generator
        if isinstance(src, NoiseStreams):
            noise = src.draw(grad.shape, grad.dtype)
        else:
            noise = torch.randn(grad.shape, generator=src, dtype=grad.dtype, device="cpu")
        return grad + ctx.sigma * noise.to(grad.device), None, None


def _array(value: Any, dim: int, what: str, rows: int | None = None) -> np.ndarray:
    a = np.asarray(value if value is not None else np.zeros((0, dim)), dtype=np.float64)
    if a.size == 0:
        a = a.reshape(0, dim)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    if a.ndim != 2 or a.shape[1] != (2 if rows is not None else dim) or (rows is not None and a.shape[0] != rows):
        want = f"({rows}, 2)" if rows is not None else f"(k, {dim})"
        raise ValueError(f"{what} must have shape {want}, got {a.shape}")
    a.setflags(write=False)
    return a


class TestFunction:
    r"""A test function :math:`f:\mathbb R^d \to \mathbb R` with its metadata.

    Call it on points of shape ``(..., d)``:

    * a ``torch.Tensor`` gives a tensor of shape ``(...)``, same floating dtype and
      device, differentiable (integer tensors are converted to the default dtype);
    * a NumPy array, list or tuple gives a NumPy array (float64, or float32 for a
      float32 array), computed without building a graph.

    Attributes: ``name``, ``dim``, ``domain`` (``(d, 2)`` rows ``[lo, hi]``: plot
    bounds), ``minimizers`` (``(k, d)`` global minimizers, empty when none exists),
    ``f_min`` (``-inf`` when unbounded below, ``nan`` when unknown), ``latex``,
    ``starts`` (``(s, d)`` suggested start points), ``description``, ``params`` (the
    arguments that built it), ``local_minimizers`` and ``saddle_points`` (``(k, d)``,
    other known stationary points, possibly empty), ``noise`` and ``seed``, and
    ``residuals``: for a function written as a sum of squares :math:`f = \sum_i r_i^2`,
    the map from points ``(..., d)`` to the residuals ``(..., m)`` (what
    Levenberg–Marquardt needs; exact values, no gradient noise), else ``None``.

    >>> import optimlab.functions as F
    >>> f = F.get("booth")
    >>> float(f([1.0, 3.0]))
    0.0
    >>> f.grad([0.0, 0.0]).tolist()
    [-34.0, -38.0]
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        name: str,
        fn: Callable[[torch.Tensor], torch.Tensor],
        dim: int,
        domain: Any,
        *,
        minimizers: Any = None,
        f_min: float = math.nan,
        latex: str = "",
        starts: Any = None,
        description: str = "",
        params: dict[str, Any] | None = None,
        local_minimizers: Any = None,
        saddle_points: Any = None,
        noise: float = 0.0,
        seed: int | None = None,
        residuals: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self.name = str(name)
        self._fn = fn
        self.dim = int(dim)
        self.domain = _array(domain, self.dim, "domain", rows=self.dim)
        if not np.isfinite(self.domain).all() or np.any(self.domain[:, 0] >= self.domain[:, 1]):
            raise ValueError(f"domain rows must be [lo, hi] with finite lo < hi, got {self.domain.tolist()}")
        self.minimizers = _array(minimizers, self.dim, "minimizers")
        self.f_min = float(f_min)
        self.latex = latex
        self.starts = _array(starts, self.dim, "starts")
        self.description = description
        self.params = dict(params or {})
        self.local_minimizers = _array(local_minimizers, self.dim, "local_minimizers")
        self.saddle_points = _array(saddle_points, self.dim, "saddle_points")
        if isinstance(noise, bool) or not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
        self.noise = float(noise)
        self.seed = seed
        if residuals is not None and not callable(residuals):
            raise TypeError(f"residuals must be a callable on points (..., d) or None, got {residuals!r}")
        self.residuals = residuals
        self._generator: torch.Generator | NoiseStreams | None = None
        if self.noise > 0:
            if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                raise ValueError(f"seed must be an integer when noise > 0, got {seed!r}")
            self._generator = torch.Generator().manual_seed(int(seed))

    # ------------------------------------------------------------------ values
    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"{self.name}: points must have shape (..., {self.dim}), got {tuple(x.shape)}")
        if self._generator is not None and x.requires_grad:
            x = GradNoise.apply(x, self.noise, self._generator)
        out = self._fn(x)
        if out.shape != x.shape[:-1]:
            out = torch.broadcast_to(out, x.shape[:-1])
        return out

    @staticmethod
    def _as_tensor(x: Any) -> tuple[torch.Tensor, bool]:
        """(tensor, came_as_tensor)."""
        if isinstance(x, torch.Tensor):
            if not (x.is_floating_point() or x.is_complex()):
                x = x.to(torch.get_default_dtype())
            return x, True
        a = np.asarray(x)
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise TypeError(f"points must be a tensor, array or list of numbers, got {type(x).__name__}")
        a = a.astype(np.float32 if a.dtype == np.float32 else np.float64)
        return torch.from_numpy(np.ascontiguousarray(a)), False

    def __call__(self, x: Any) -> Any:
        t, is_tensor = self._as_tensor(x)
        if is_tensor:
            return self._evaluate(t)
        with torch.no_grad():
            return self._evaluate(t).numpy()

    def value_and_grad(self, x: Any) -> tuple[Any, Any]:
        """``(f(x), ∇f(x))`` by autograd, for a batch ``(..., d)``; the gradient has the
        shape of ``x``. Tensors in, detached tensors out; arrays in, arrays out. A noisy
        function returns its noisy gradient (one draw per call)."""
        t, is_tensor = self._as_tensor(x)
        with torch.enable_grad():
            p = t.detach().clone().requires_grad_(True)
            v = self._evaluate(p)
            (g,) = torch.autograd.grad(v.sum(), p)
        if is_tensor:
            return v.detach(), g
        return v.detach().numpy(), g.numpy()

    def grad(self, x: Any) -> Any:
        """``∇f(x)`` by autograd (see :meth:`value_and_grad`)."""
        return self.value_and_grad(x)[1]

    # ------------------------------------------------------------------ noise
    def with_noise(self, sigma: float, seed: int = 0) -> "TestFunction":
        r"""The same function whose autograd gradients carry additive Gaussian noise
        :math:`\sigma\,\mathcal N(0, I)` (values unchanged), drawn from a
        ``torch.Generator`` seeded with ``seed`` and owned by the returned object:
        two objects with one seed give the same gradients; :meth:`reset` restarts
        the stream. ``sigma = 0`` gives a noiseless copy."""
        return self._copy(noise=sigma, seed=seed)

    def with_run_noise(self, seeds: Sequence[int]) -> "TestFunction":
        """This noisy function for R runs evaluated together, run j with the noise stream of
        seed ``seeds[j]``: its gradients are those of ``with_noise(noise, seeds[j])`` run
        alone (:class:`NoiseStreams`). Its ``seed`` and ``to_dict`` stay this function's."""
        if not self.noise:
            raise ValueError(f"with_run_noise needs a noisy function; {self.name!r} has noise=0")
        f = self._copy()
        f._generator = NoiseStreams(seeds)
        return f

    def reset(self) -> None:
        """Restart the gradient-noise stream(s) from the seed(s) (no-op without noise)."""
        if isinstance(self._generator, NoiseStreams):
            self._generator.reset()
        elif self._generator is not None:
            self._generator.manual_seed(int(self.seed))

    def _copy(self, **changes: Any) -> "TestFunction":
        kw = dict(
            minimizers=self.minimizers, f_min=self.f_min, latex=self.latex, starts=self.starts,
            description=self.description, params=self.params, local_minimizers=self.local_minimizers,
            saddle_points=self.saddle_points, noise=self.noise, seed=self.seed, residuals=self.residuals,
        )
        kw.update(changes)
        if not kw["noise"]:
            kw["seed"] = None
        return TestFunction(self.name, self._fn, self.dim, self.domain, **kw)

    # ------------------------------------------------------------------ records
    def to_dict(self) -> dict[str, Any]:
        """JSON data: name, params (with ``noise``/``seed`` when noisy), latex, dim,
        domain, minimizers, f_min (``"inf"``/``"-inf"``/``"nan"`` as strings)."""
        params = dict(self.params)
        if self.noise:
            params.update(noise=self.noise, seed=self.seed)
        return to_jsonable({
            "name": self.name, "params": params, "latex": self.latex, "dim": self.dim,
            "domain": self.domain, "minimizers": self.minimizers, "f_min": self.f_min,
        })

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items() if k != "dim")
        noise = f", noise={self.noise}, seed={self.seed}" if self.noise else ""
        return f"TestFunction({self.name!r}, dim={self.dim}{extra}{noise})"


# ---------------------------------------------------------------------- helpers of the factories
# (shared by library.py and classics.py: public names of this private module)
MAX_DIM = 100_000
"""The largest ``dim`` a test function is built with: its domain, start and minimizer are
lists of ``dim`` rows, so ``dim=10**9`` would fill the memory before any check could run.
Raise it here (``optimlab.functions._base.MAX_DIM``) for larger experiments."""


def check_dim(name: str, dim: Any, minimum: int = 1) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < minimum:
        raise ValueError(f"{name}: dim must be an integer >= {minimum}, got {dim!r}")
    if dim > MAX_DIM:
        raise ValueError(f"{name}: dim must be at most {MAX_DIM:,} (optimlab.functions._base.MAX_DIM), "
                         f"got {dim:,}")
    return int(dim)


def check_two_d(name: str, dim: Any) -> None:
    if dim != 2:
        raise ValueError(f"{name} is defined for dim=2 only, got dim={dim!r}")


def check_positive(name: str, arg: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: {arg} must be a finite number > 0, got {value!r}")
    return float(value)


def xy(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., 0], x[..., 1]


def box(lo: float, hi: float, dim: int) -> list[list[float]]:
    return [[lo, hi]] * dim
