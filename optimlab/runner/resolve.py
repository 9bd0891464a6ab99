"""What a run is made of: the function (a name, a formula, a callable), the optimizer (a
spec, a class, an instance's recipe) and how it takes many runs at once (its runs layout),
a scheduler, the start points and the per-run hyperparameters as tensors;
:mod:`optimlab.runner.loop` runs them."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .. import functions
from ..optim import Optimizer as _OptimlabOptimizer
from ..optim import registry

__all__ = ["resolve_function", "resolve_optimizer", "needs_closure", "make_scheduler", "runs_layout", "runs_options",
           "takes_tensor_hyper", "run_label", "suggested_start", "one_start", "start_points",
           "new_params", "hyper_tensors"]


# ------------------------------------------------------------------- the function
class _Callable:
    """Wrap a plain callable on tensors (..., d) with the metadata a runner uses."""

    def __init__(self, f: Callable, name: str | None = None):
        self._f = f
        self.name = name or getattr(f, "__name__", "function")
        self.f_min = float(getattr(f, "f_min", float("nan")))
        self.dim = getattr(f, "dim", None)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self._f(x)

    def to_dict(self) -> dict:
        return {"name": self.name}


def resolve_function(function: Any) -> Any:
    """A TestFunction, a name (``"rosenbrock:dim=5"``), a formula string, or a callable on tensors (..., d)."""
    if isinstance(function, str):
        return functions.resolve(function)
    if callable(function):
        return function if hasattr(function, "to_dict") else _Callable(function)
    raise TypeError(f"function must be a name, a formula or a callable on tensors (..., d); got {function!r}")


# ------------------------------------------------------------------- the optimizer
def resolve_optimizer(optimizer: Any) -> tuple[Callable[..., torch.optim.Optimizer], str, dict]:
    """Return ``(factory(params, **extra), name, options)`` for any accepted optimizer form.

    Accepted: a name or spec string (``"adam"``, ``"momentum:lr=0.01,momentum=0.7"``),
    a ``(name_or_class, kwargs)`` pair, a ``torch.optim.Optimizer`` subclass, or a
    factory ``params -> optimizer`` (then ``extra`` hyperparameters cannot be injected).
    """
    if isinstance(optimizer, str):
        name, kwargs = registry.parse_spec(optimizer)
        return (lambda params, **extra: registry.create(params, name, **{**kwargs, **extra})), name, kwargs
    if isinstance(optimizer, tuple) and len(optimizer) == 2 and isinstance(optimizer[1], Mapping):
        head, kwargs = optimizer[0], dict(optimizer[1])
        if isinstance(head, str):
            registry.get(head)  # validates the name early
            return (lambda params, **extra: registry.create(params, head, **{**kwargs, **extra})), head, kwargs
        if isinstance(head, type) and issubclass(head, torch.optim.Optimizer):
            return (lambda params, **extra: head(params, **{**kwargs, **extra})), head.__name__, kwargs
        raise TypeError(f"optimizer pair must be (name or Optimizer class, kwargs), got {optimizer!r}")
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return (lambda params, **extra: optimizer(params, **extra)), optimizer.__name__, {}
    if isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("pass an optimizer name, spec, (name, kwargs), class or factory, not an optimizer "
                        "instance: the runner creates the optimizer on its own parameters")
    if callable(optimizer):
        def factory(params: Any, **extra: Any) -> torch.optim.Optimizer:
            if extra:
                raise TypeError("a factory optimizer cannot take batched hyperparameters; pass a name or "
                                "(name, kwargs) to run_batch with hyper=...")
            opt = optimizer(params)
            if not isinstance(opt, torch.optim.Optimizer):
                raise TypeError(f"the optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}")
            return opt
        return factory, getattr(optimizer, "__name__", "custom"), {}
    raise TypeError(f"optimizer must be a name/spec string, (name, kwargs), an Optimizer class or a factory; "
                    f"got {optimizer!r}")


def needs_closure(opt: torch.optim.Optimizer) -> bool:
    """True for methods that evaluate the function themselves and so need ``step(closure)``:
    any optimizer whose class says ``requires_closure = True`` (the lectures' NAG: the
    gradient at the look-ahead point; L-BFGS, BFGS, CG, Newton, Levenberg–Marquardt), and
    torch's L-BFGS (a line search), which cannot say so itself. The others use the
    gradient already computed. The runner's closure (:meth:`_FunctionLoop.closure`) counts
    the evaluations into the trace (:data:`optimlab.record.EVAL_SERIES`)."""
    return bool(getattr(opt, "requires_closure", False)) or isinstance(opt, torch.optim.LBFGS)


def _optimizer_class(optimizer: Any) -> type | None:
    """The class behind an optimizer argument of :func:`resolve_optimizer` (None for a factory)."""
    head = optimizer[0] if isinstance(optimizer, tuple) and len(optimizer) == 2 else optimizer
    if isinstance(head, str):
        return registry.get(registry.parse_spec(head)[0])
    return head if isinstance(head, type) else None


def takes_tensor_hyper(optimizer: Any) -> bool:
    """Whether the optimizer takes per-run hyperparameters as (R, 1, ...) tensors: optimlab's
    own classes do, and any class that declares its ``runs_layout``; another
    ``torch.optim.Optimizer`` (a foreign class, ``MODULE:CLASS``) is not assumed to, so each of
    its runs is computed alone with plain numbers (:func:`runs_layout` ``"alone"``), the same
    numbers as running it by itself. A factory takes none (it is given no hyperparameters)."""
    cls = _optimizer_class(optimizer)
    return cls is None or issubclass(cls, _OptimlabOptimizer) or hasattr(cls, "runs_layout")


def runs_layout(optimizer: Any) -> str:
    """How an optimizer takes R runs stacked as (R, ...) parameters (its class's ``runs_layout``):
    ``"elementwise"`` (the default: hyperparameters broadcast, nothing to declare),
    ``"leading"`` (the method reduces over a whole parameter, as Adafactor's RMS and Muon's
    orthogonalization do: the runs must be declared by hyperparameters of shape (R, 1, ...),
    see :func:`runs_options`) or ``"alone"`` (L-BFGS: the parameters are one vector and
    one line search steps them all, so each run is done by itself; also a class that takes no
    tensor hyperparameters, :func:`takes_tensor_hyper`)."""
    cls = _optimizer_class(optimizer)
    if cls is None:
        return "elementwise"
    return getattr(cls, "runs_layout", "elementwise" if takes_tensor_hyper(optimizer) else "alone")


def runs_options(optimizer: Any) -> dict[str, Any]:
    """The constructor options that tell a ``"leading"`` optimizer (:func:`runs_layout`) that the
    leading dimension of its parameters counts runs (``runs=True``), so that it reduces over
    each run's part alone: a batched run then equals the runs alone. Empty for the others."""
    return {"runs": True} if runs_layout(optimizer) == "leading" else {}


def schedule_parts(schedule: Any) -> tuple[type, dict] | None:
    """``(SchedulerClass, kwargs)`` of a schedule given as that pair or as a class; None for a
    factory or no schedule (what :func:`make_scheduler` cannot look into)."""
    if isinstance(schedule, tuple) and len(schedule) == 2 and isinstance(schedule[1], Mapping) \
            and isinstance(schedule[0], type):
        return schedule[0], dict(schedule[1])
    if isinstance(schedule, type):
        return schedule, {}
    return None


def make_scheduler(schedule: Any, opt: torch.optim.Optimizer) -> Any:
    """A scheduler on ``opt`` from ``(SchedulerClass, kwargs)``, a class, or a factory ``opt -> scheduler``."""
    if schedule is None:
        return None
    if isinstance(schedule, tuple) and len(schedule) == 2 and isinstance(schedule[1], Mapping):
        return schedule[0](opt, **schedule[1])
    if isinstance(schedule, type):
        return schedule(opt)
    if callable(schedule):
        return schedule(opt)
    raise TypeError(f"schedule must be (SchedulerClass, kwargs), a scheduler class or a factory "
                    f"optimizer -> scheduler; got {schedule!r}")


def run_label(name: str, options: Mapping) -> str:
    """``name(k=v, ...)``, or the bare name without options: how a run is labelled."""
    if not options:
        return name
    return f"{name}(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"


# ------------------------------------------------------------------- the start
def hyper_tensors(hyper: Mapping[str, Sequence], R: int, dtype: torch.dtype) -> dict[str, Any]:
    """``{name: (R, 1) tensor}`` of per-run hyperparameters (``"betas"``: a pair of them)."""
    out: dict[str, Any] = {}
    for k, vals in hyper.items():
        arr = np.asarray(vals, dtype=float)
        if k == "betas":
            if arr.shape != (R, 2):
                raise ValueError(f"hyper['betas'] must have shape ({R}, 2), got {arr.shape}")
            out[k] = (torch.tensor(arr[:, :1], dtype=dtype), torch.tensor(arr[:, 1:], dtype=dtype))
        else:
            if arr.shape != (R,):
                raise ValueError(f"hyper[{k!r}] must hold one value per run ({R}), got shape {arr.shape}")
            out[k] = torch.tensor(arr[:, None], dtype=dtype)
    return out


def start_points(starts: Any, hyper: Mapping[str, Sequence], fn: Any) -> np.ndarray:
    """(R, d) finite start points that fit the function."""
    x0 = np.asarray(starts, dtype=float)
    if x0.ndim == 1:
        R = len(next(iter(hyper.values()))) if hyper else 1
        x0 = np.repeat(x0[None, :], R, axis=0)
    if x0.ndim != 2 or x0.shape[0] == 0 or x0.shape[1] == 0:
        raise ValueError(f"starts must be a point (d,) or points (R, d), got shape {np.shape(starts)}")
    if not np.isfinite(x0).all():
        raise ValueError("start contains NaN or inf")
    fdim = getattr(fn, "dim", None)
    if fdim is not None and fdim != x0.shape[1]:
        raise ValueError(f"start has {x0.shape[1]} coordinates but {getattr(fn, 'name', 'the function')} "
                         f"takes {fdim}")
    return x0


def new_params(x0: np.ndarray, hyper: Mapping[str, Sequence], dtype: torch.dtype) -> tuple[list, dict]:
    """``([x], hyper tensors)``: the (R, d) parameter and the (R, 1) hyperparameters, for the factory."""
    x = torch.tensor(x0, dtype=dtype, requires_grad=True)
    return [x], hyper_tensors(hyper, len(x0), dtype)


def suggested_start(function: Any) -> list[float]:
    """The function's first suggested start point (``starts[0]``): the default ``start`` of
    :func:`run`, :func:`compare` and ``optimlab run``; ``ValueError`` naming ``start`` when the
    function suggests none (a user formula or callable)."""
    fn = resolve_function(function)
    starts = getattr(fn, "starts", None)
    if starts is None or len(starts) == 0:
        name = getattr(fn, "name", None) or "this function"
        raise ValueError(f"start is needed: {name} suggests no start point (user formulas and callables have "
                         f"none); give start=(x, y), or --start X,Y on the command line")
    return [float(v) for v in np.asarray(starts, dtype=float)[0]]


def one_start(start: Any) -> np.ndarray:
    """``start`` (d numbers) as the (1, d) starts of one run, else a ValueError naming ``start``."""
    start_arr = np.asarray(start, dtype=float)
    if start_arr.ndim != 1:
        raise ValueError(f"start must be one point (d numbers), got shape {start_arr.shape}; "
                         "use run_batch for several")
    return start_arr[None, :]
