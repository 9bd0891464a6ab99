"""What the path pictures share: the function to draw, its grid, the window, styles, labels.

A "function" here is anything callable on a batch of points: an
:mod:`optimlab.functions` ``TestFunction`` (whose ``domain``, ``minimizers``,
``f_min`` and ``name`` are used when present), a registered name or a formula
string (resolved through :mod:`optimlab.functions`), or a plain callable mapping a
tensor of shape ``(..., 2)`` to ``(...)``. Nothing here runs an optimizer.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._spec import format_value, split_spec
from ..functions import resolve
from ..record import Trace
from ._window import grid_minimizer, search_box

__all__ = ["plain_text", "resolve_function", "evaluate_grid", "plot_window", "legend_label", "format_options",
           "function_title", "known_minimizers", "known_saddles", "known_f_min", "unbounded_below", "f_star_text",
           "user_formula", "found_minimizer", "call_function", "known_points"]


def resolve_function(function: Any) -> Any:
    """A callable test function from a function object, a name (``"rosenbrock:dim=2"``) or a
    formula string (through :func:`optimlab.functions.resolve`, which explains unknown names)."""
    if isinstance(function, str):
        return resolve(function)
    if not callable(function):
        raise TypeError(f"function must be a test function, a name, a formula or a callable on "
                        f"points of shape (..., 2); got {type(function).__name__}")
    return function


def call_function(function: Any, points: np.ndarray) -> np.ndarray:
    """Values of ``function`` at ``points`` (..., d) as a float array; NaN where undefined."""
    import torch

    with np.errstate(all="ignore"):
        try:
            with torch.no_grad():
                out = function(torch.as_tensor(points, dtype=torch.float64))
        except (TypeError, AttributeError, RuntimeError):
            out = function(points)  # a NumPy-only callable
        if isinstance(out, torch.Tensor):
            out = out.detach().cpu().numpy()
        out = np.asarray(out, dtype=float)
    if out.shape != points.shape[:-1]:
        raise ValueError(f"function returned shape {out.shape} for points of shape {points.shape}; "
                         f"it must map (..., d) to (...)")
    return out


def evaluate_grid(function: Any, window: Sequence[Sequence[float]], n: int = 300
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X, Y, Z`` on an ``n × n`` grid over ``window = ((x0, x1), (y0, y1))``.

    Points where the function is undefined (``√x`` for ``x < 0``) or infinite are NaN.
    """
    (x0, x1), (y0, y1) = window
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys)
    Z = call_function(function, np.stack([X, Y], axis=-1))
    Z = np.where(np.isfinite(Z), Z, np.nan)
    return X, Y, Z


def function_dim(function: Any) -> int | None:
    d = getattr(function, "dim", None)
    return int(d) if isinstance(d, (int, np.integer)) else None


def known_points(function: Any, attr: str = "minimizers") -> np.ndarray:
    """The function's known ``minimizers`` (or ``saddle_points``, ...) as a (k, d) array, d ≤ 2
    coordinates kept (empty when it has none)."""
    m = getattr(function, attr, None)
    if m is None:
        return np.zeros((0, 2))
    try:
        m = np.asarray(m.detach().cpu().numpy() if hasattr(m, "detach") else m, dtype=float)
    except (TypeError, ValueError):
        return np.zeros((0, 2))
    if m.size == 0:
        return np.zeros((0, 2))
    m = m.reshape(-1, m.shape[-1])
    return m[:, :2]


def known_minimizers(function: Any) -> np.ndarray:
    """The function's known minimizers as a (k, 2) array (empty when it has none)."""
    m = known_points(function)
    return m if m.shape[1] == 2 else np.zeros((0, 2))


def known_saddles(function: Any) -> np.ndarray:
    """The function's known saddle points (``saddle_points``) as a (k, 2) array."""
    m = known_points(function, "saddle_points")
    return m if m.shape[1] == 2 else np.zeros((0, 2))


def user_formula(function: Any) -> bool:
    """Whether ``function`` is a user's formula (parsed, with no known minimizer): its window
    and minimizer are found from its start, not from the default domain."""
    params = getattr(function, "params", None)
    return isinstance(params, dict) and "formula" in params and known_points(function).size == 0


def found_minimizer(function: Any, traces: Sequence[Trace]) -> np.ndarray:
    """For a user formula of 1 or 2 variables: its minimizer found on a grid around the start
    (:func:`optimlab.viz._window.grid_minimizer`) as a (1, d) array; empty otherwise or when
    the lowest point of the searched box lies on its edge."""
    if not user_formula(function) or not traces:
        return np.zeros((0, 2))
    p = np.asarray(traces[0].params, dtype=float)
    if p.ndim != 2 or p.shape[1] not in (1, 2):
        return np.zeros((0, 2))
    allp = np.concatenate([np.asarray(t.params, dtype=float) for t in traces])
    allp = allp[np.isfinite(allp).all(axis=1)]
    extent = np.abs(allp - p[0]).max(axis=0) if len(allp) else None
    found = grid_minimizer(lambda x: call_function(function, x), *search_box(p[0], extent))
    return np.zeros((0, p.shape[1])) if found is None else found[0][None, :]


def known_f_min(function: Any = None, traces: Sequence[Trace] = ()) -> float | None:
    """f* from the function object, else from the traces' recorded function config; None if unknown
    or not finite (a saddle is unbounded below: :func:`unbounded_below`)."""
    v = _f_min(function, traces)
    return v if v is not None and math.isfinite(v) else None


def _f_min(function: Any, traces: Sequence[Trace]) -> float | None:
    candidates = [getattr(function, "f_min", None)]
    for t in traces:
        fn = t.config.get("function") if isinstance(t.config, dict) else None
        if isinstance(fn, dict):
            candidates.append(fn.get("f_min"))
    for c in candidates:
        try:
            v = float(c)
        except (TypeError, ValueError):
            continue
        if not math.isnan(v):
            return v
    return None


def unbounded_below(function: Any = None, traces: Sequence[Trace] = ()) -> bool:
    """Whether f* is known to be −∞ (a saddle, a monkey saddle)."""
    return _f_min(function, traces) == -math.inf


def f_star_text(function: Any = None, traces: Sequence[Trace] = ()) -> str:
    """What titles and tables say about f*: ``"f* = −∞ (unbounded below)"``, ``"f* = 0"``,
    or ``""`` when unknown."""
    v = _f_min(function, traces)
    if v is None:
        return ""
    return "f* = −∞ (unbounded below)" if v == -math.inf else f"f* = {format_value(v, 4)}"


def _as_window(domain: Any, name: str = "domain") -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        d = np.asarray(domain.detach().cpu().numpy() if hasattr(domain, "detach") else domain, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be ((x_min, x_max), (y_min, y_max)), got {domain!r}") from None
    if d.shape != (2, 2) or not np.isfinite(d).all() or not (d[:, 0] < d[:, 1]).all():
        raise ValueError(f"{name} must be ((x_min, x_max), (y_min, y_max)) with finite min < max, "
                         f"got {domain!r}")
    return (float(d[0, 0]), float(d[0, 1])), (float(d[1, 0]), float(d[1, 1]))


def plot_window(function: Any, traces: Sequence[Trace], domain: Any = None, pad: float = 0.08,
                extra: np.ndarray | None = None) -> tuple[tuple[float, float], tuple[float, float]]:
    """The window to draw: ``domain`` if given, else the function's ``domain`` (its first two
    coordinates; not for a user formula with paths, whose default domain is arbitrary), else the box
    around the paths, the known minimizers and the ``extra`` points (a found minimizer),
    padded by ``pad``."""
    if domain is not None:
        return _as_window(domain)
    fd = getattr(function, "domain", None)
    if fd is not None and (not user_formula(function) or not traces):  # a formula alone: its default domain
        arr = np.asarray(fd.detach().cpu().numpy() if hasattr(fd, "detach") else fd, dtype=float)
        if arr.ndim == 2 and arr.shape[0] >= 2 and arr.shape[1] == 2:
            return _as_window(arr[:2], "function.domain")
    pts = [known_minimizers(function)]
    if extra is not None and np.size(extra):
        pts.append(np.asarray(extra, dtype=float).reshape(-1, 2))
    for t in traces:
        p = np.asarray(t.params, dtype=float)
        pts.append(p[np.isfinite(p).all(axis=1)][:, :2])
    allp = np.concatenate([p for p in pts if p.size] or [np.zeros((1, 2))])
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    span = np.maximum(hi - lo, 1e-3 * np.maximum(1.0, np.abs(hi)))
    span = np.maximum(span, 0.25 * span.max())  # never a sliver: at least a quarter of the other side
    mid = (lo + hi) / 2
    lo, hi = mid - span * (0.5 + pad), mid + span * (0.5 + pad)
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


_SHORT = {"momentum": "μ", "betas": "β", "alpha": "α", "rho": "ρ", "eps": "ε", "weight_decay": "wd",
          "dampening": "τ", "momentum_form": "form", "lr_decay": "lr decay"}


def format_options(options: Any) -> str:
    """``{"lr": 0.01, "momentum": 0.9}`` → ``"lr=0.01, μ=0.9"`` (short symbols for the usual names).

    A true boolean flag shows as its name alone (``eps_in_sqrt``).
    """
    if not isinstance(options, dict) or not options:
        return ""
    parts = []
    for k, v in options.items():
        if v is True:
            parts.append(str(k))
        elif v is False:
            continue
        else:
            parts.append(f"{_SHORT.get(k, k)}={format_value(v)}")
    return ", ".join(parts)


def plain_text(text: Any) -> str:
    """User text (labels, specs, names) as matplotlib shows it literally: a ``$`` pair would
    otherwise be typeset as mathtext, and ``$^$`` stops the whole picture with a parse error."""
    return str(text).replace("$", r"\$")


def legend_label(trace: Trace, index: int = 0, settings: bool = True) -> str:
    """``label (settings)``: the trace's label, else its optimizer name, followed by the options
    recorded in ``trace.config["options"]``, unless the label states options itself (a spec
    such as ``sgd:lr=0.001``, whose settings would otherwise show twice)."""
    cfg = trace.config if isinstance(trace.config, dict) else {}
    raw = str(trace.label or cfg.get("optimizer") or f"run {index}")
    name = plain_text(raw)
    if not settings or split_spec(raw)[2].strip():
        return name
    opts = cfg.get("options")
    text = plain_text(format_options(opts))
    return f"{name} ({text})" if text else name


def function_title(function: Any) -> str:
    """A short title: the function's name and, when it has one, its LaTeX formula."""
    name = plain_text(getattr(function, "name", None) or getattr(function, "__name__", None) or "f")
    latex = getattr(function, "latex", None)
    if latex and _mathtext_ok(latex):
        return f"{name}: ${latex}$"
    return name


def _mathtext_ok(latex: str) -> bool:
    """Whether matplotlib's mathtext can typeset ``latex`` (it knows a subset of LaTeX)."""
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("agg").parse(f"${latex}$", dpi=72)
    except Exception:  # noqa: BLE001 - any parse failure means: show the name only
        return False
    return True
