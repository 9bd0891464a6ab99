"""What the playground's page asks and is told: the lists it shows (functions, optimizers with
their hyperparameter controls, presets) and the validation of every request it sends.

Nothing here is a table written by hand: the functions come from
:mod:`optimlab.functions`, the optimizers and their options from the registry
(:func:`optimlab.optim.registry.option_defaults`) and each class's declared ``hparams``
table (:mod:`optimlab.optim.hparams`; a Keras constructor's ``keras_args``), the
tuning ranges from the registry, the presets from :mod:`optimlab.demo`'s scenes.

Every request is checked before anything is computed (:func:`paths_request`,
:func:`map_request`, :func:`landscape_request`); a bad one raises :class:`RequestError`,
which names the field and carries the library's own message (a formula's error with its
caret position), and the server answers it as JSON.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch

from .. import functions, schedules, stopping
from .._spec import run_labels
from ..demo import NOTEBOOK_NONCONVEX, NOTEBOOK_QUADRATIC
from ..demo import SCENES as DEMO_SCENES
from ..functions import FormulaError
from ..optim import registry
from ..optim.hparams import Choice, Flag, Items, Range
from ..runner import run_label, runs_options
from ..viz import method_color, method_key

__all__ = ["LIMITS", "RequestError", "PathsRequest", "MapRequest", "LandscapeRequest", "Spec", "function_list",
           "optimizer_list", "optimizer_controls", "map_axes", "presets", "default_start", "paths_request",
           "map_request", "landscape_request", "first_line", "nulls", "json_numbers", "STOP_RULES", "SCHEDULES",
           "NO_EFFECT"]

LIMITS = {
    "formula_chars": 500,  # a formula longer than this is refused (the parser itself allows 1000)
    "steps": 5000,  # steps of one path
    "optimizers": 12,  # paths in one view
    "map_side": 64,  # cells per axis of the stability map
    "map_cells": 64 * 64,
    "map_steps": 2000,
    "grid": 300,  # points per axis of the level-line grid
    "body_bytes": 200_000,  # one request's JSON
}

# options that change nothing in the numbers (kernels, graph recording): no control for them
NO_EFFECT = ("foreach", "fused", "differentiable", "capturable", "print_change_log")

# the stopping rules a view may add (optimlab.stopping), by the command line's names (optimlab run --stop)
STOP_RULES = {"f_tol": stopping.FTol, "rel_f_tol": stopping.RelFTol, "grad_tol": stopping.GradTol}

# learning-rate schedules the page offers, by optimlab.schedules' names (the command line's --schedule),
# with the arguments the page sets and their defaults; the classes come from that one table
SCHEDULES = {kind: (schedules.schedule_class(kind)[1], defaults) for kind, defaults in {
    "exponential": {"gamma": 0.99},
    "step": {"step_size": 50, "gamma": 0.5},
    "cosine": {"T_max": 100, "eta_min": 0.0},
    "inverse_time": {"decay_steps": 1, "decay_rate": 0.01},
}.items()}

# the stability map's second axis, in order of preference: momentum, else the first β
MAP_AXES = ("momentum", "beta1", "beta_1", "rho", "alpha")


class RequestError(ValueError):
    """A bad request: ``field`` names what is wrong; ``detail`` may hold more lines (a
    formula with a caret under ``position``)."""

    def __init__(self, field: str, message: str, *, detail: str = "", position: int | None = None):
        super().__init__(message)
        self.field, self.message, self.detail, self.position = field, message, detail, position

    def to_json(self) -> dict:
        out = {"error": self.message, "field": self.field}
        if self.detail:
            out["detail"] = self.detail
        if self.position is not None:
            out["position"] = self.position
        return out


def first_line(e: BaseException) -> str:
    """An exception's message on one line (a KeyError's without its quotes)."""
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[0].split()) if lines else type(e).__name__


def nulls(value: Any) -> Any:
    """JSON data with every NaN and infinity written as ``None`` (in lists, tuples, dicts)."""
    if isinstance(value, (list, tuple)):
        return [nulls(v) for v in value]
    if isinstance(value, dict):
        return {k: nulls(v) for k, v in value.items()}
    return None if isinstance(value, float) and not math.isfinite(value) else value


def json_numbers(value: Any) -> Any:
    """An array as nested lists of floats, ``None`` where not finite."""
    return nulls(np.asarray(value, dtype=float).tolist())


# ------------------------------------------------------------------ what the page lists
def function_list() -> list[dict]:
    """Every named test function of two variables, with its formula (LaTeX), domain,
    minimizers, f* and suggested start."""
    out = []
    for name in functions.names():
        fn = functions.get(name)
        if fn.dim != 2:
            continue
        out.append({"name": name, "latex": fn.latex, "description": fn.description,
                    "domain": fn.domain.tolist(), "minimizers": fn.minimizers.tolist(),
                    "f_min": nulls(float(fn.f_min)), "start": fn.starts[0].tolist() if len(fn.starts) else None})
    return out


def _declared(cls: type) -> dict[str, Any]:
    """The class's declared specs: its ``hparams`` tables (with its bases') and, for a Keras
    constructor, its ``keras_args`` under Keras' names."""
    table = dict(cls.hparam_table()[0]) if hasattr(cls, "hparam_table") else {}
    table.update(getattr(cls, "keras_args", {}))
    return table


def _number_control(option: str, default: Any, spec: Any, tune: Any) -> dict:
    lo = getattr(spec, "lo", None)
    hi = getattr(spec, "hi", None)
    c = {"kind": "number", "name": option, "default": default, "lo": lo, "hi": hi,
         "lo_open": bool(getattr(spec, "lo_open", False)), "hi_open": bool(getattr(spec, "hi_open", False)),
         "optional": bool(getattr(spec, "optional", False)) or default is None,
         "integer": isinstance(default, int) and not isinstance(default, bool), "log": False, "slider": None}
    if c["integer"]:
        return c
    if lo is not None and hi is not None:
        top = hi - 1e-3 * (hi - lo) if c["hi_open"] else hi
        c["slider"] = [float(lo), float(top)]
    elif tune is not None:  # the bench's search range, down to the declared bound (momentum 0: off)
        c["slider"] = [float(min(tune.lo, lo)) if lo is not None else float(tune.lo), float(tune.hi)]
    elif isinstance(default, (int, float)) and default > 0:  # a scale (lr, eps): eight decades around it, log
        a, b = default * 1e-4, default * 1e4
        if hi is not None:
            b = min(b, hi)
        c.update(slider=[float(a), float(b)], log=True)
    return c


def _control(option: str, default: Any, spec: Any, tune: Any) -> dict:
    """One option's control: its kind (number, flag, choice, tuple, text), default and ranges.
    A number's slider is its declared range when finite, else the bench's tuning range
    (from the declared lower bound), else (a positive scale such as a learning rate or ε)
    a log slider over eight decades around its default; other numbers get a field."""
    if default is inspect.Parameter.empty:
        default = None
    if isinstance(spec, Flag) or isinstance(default, bool):
        return {"kind": "flag", "name": option, "default": default}
    if isinstance(spec, Choice):
        return {"kind": "choice", "name": option, "default": default, "choices": list(spec.choices)}
    if isinstance(spec, Items) or isinstance(default, tuple):
        specs = spec.specs if isinstance(spec, Items) else (None,) * len(default)
        items = [_control(f"{option}[{i}]", d, s, None) for i, (d, s) in enumerate(zip(default, specs))]
        return {"kind": "tuple", "name": option, "default": list(default), "items": items}
    if isinstance(spec, Range) or isinstance(default, (int, float)):
        return _number_control(option, default, spec, tune)
    return {"kind": "text", "name": option, "default": default if isinstance(default, str) else None}


def _accepts(name: str, option: str, default: Any) -> bool:
    """Whether optimizer ``name`` takes ``option`` at its default: the constructor's own answer
    (a Keras constructor's ``**kwargs`` reach optimlab's class in the signature, but it
    refuses that class's options, e.g. ``betas``)."""
    if default is inspect.Parameter.empty:
        return True
    try:
        registry.create([torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)], name, **{option: default})
    except (ValueError, TypeError, RuntimeError, NotImplementedError):
        return False
    return True


_CONTROLS: dict[tuple, list[dict]] = {}  # (name, class, presets) -> controls: probing costs ~10 ms a name


def optimizer_controls(name: str) -> list[dict]:
    """The controls of optimizer ``name``'s options: all it accepts (:func:`_accepts`) but
    :data:`NO_EFFECT`. Kept per registered class and presets (a name registered anew is
    probed anew); the caller must not change them."""
    entry = registry.lookup(name)
    key = (name, entry.cls, repr(sorted(entry.presets.items())))
    if key not in _CONTROLS:
        defaults = registry.option_defaults(name) or {}
        table = _declared(entry.cls)
        _CONTROLS[key] = [_control(k, v, table.get(k), entry.tune.get(k)) for k, v in defaults.items()
                          if k not in NO_EFFECT and _accepts(name, k, v)]
    return _CONTROLS[key]


def map_axes(controls: list[dict]) -> list[str]:
    """The options the stability map can put on its second axis (momentum, a β, ρ, α), in
    order of preference; ``beta1`` stands for ``betas[0]`` (the sweep's name for it)."""
    numbers = {c["name"] for c in controls if c["kind"] == "number" and not c["integer"]}
    tuples = {c["name"] for c in controls if c["kind"] == "tuple"}
    return [a for a in MAP_AXES if a in numbers or (a == "beta1" and "betas" in tuples)]


def optimizer_list() -> list[dict]:
    """Every registered optimizer name: class, presets, description, controls, map axes, colour."""
    out = []
    for key, cls_name, presets, description in registry.describe():
        controls = optimizer_controls(key)
        out.append({"name": key, "class": cls_name, "presets": presets, "description": description,
                    "controls": controls, "map_axes": map_axes(controls),
                    "color": method_color(method_key(key, presets))})
    return out


def presets() -> list[dict]:
    """The lectures' scenes as views: the notebook's two experiments, Beale, the long valley,
    the saddle (:mod:`optimlab.demo`'s settings, unchanged)."""
    chosen = [s for s in DEMO_SCENES if s in (NOTEBOOK_QUADRATIC, NOTEBOOK_NONCONVEX)
              or s.key in ("beale", "long-valley", "saddle")]
    out = []
    for s in chosen:
        fn = functions.get(s.function)
        window = [list(w) for w in s.window] if s.window else fn.domain.tolist()
        out.append({"key": s.key, "title": s.title, "lesson": s.lesson, "function": s.function,
                    "start": list(s.start), "steps": s.steps, "window": window,
                    "optimizers": [{"label": label, "name": name, "options": {k: list(v) if isinstance(v, tuple)
                                                                               else v for k, v in opts.items()},
                                    "color": method_color(method_key(name, opts))}
                                   for label, (name, opts) in s.methods.items()]})
    return out


# ------------------------------------------------------------------ requests
@dataclass
class Spec:
    """One optimizer of a request: label, registered name and options (tuples as tuples)."""

    label: str
    name: str
    options: dict


@dataclass
class LandscapeRequest:
    function: Any
    text: str
    window: list
    grid: int


@dataclass
class PathsRequest:
    function: Any
    text: str
    window: list
    start: list
    steps: int
    optimizers: list[Spec]
    stop: dict = field(default_factory=dict)  # {kind: value} of STOP_RULES
    schedule: dict | None = None  # {"kind": ..., args}
    rules: list = field(default_factory=list)  # the stopping rules built from ``stop``
    scheduler: Any = None  # (SchedulerClass, kwargs) from ``schedule``


@dataclass
class MapRequest:
    function: Any
    text: str
    start: list
    steps: int
    optimizer: Spec
    axis: str
    lr: list  # [lo, hi], log-spaced
    y: list  # [lo, hi], evenly spaced
    n: list  # [cells along lr, cells along the axis]


def _body(body: Any) -> Mapping:
    if not isinstance(body, Mapping):
        raise RequestError("body", f"the request must be a JSON object, got {type(body).__name__}")
    return body


def _function(body: Mapping) -> tuple[Any, str]:
    text = body.get("function")
    if not isinstance(text, str) or not text.strip():
        raise RequestError("function", "function is missing: give a function name or a formula in x and y")
    if len(text) > LIMITS["formula_chars"]:
        raise RequestError("function", f"the formula has {len(text)} characters; the playground takes at most "
                                       f"{LIMITS['formula_chars']}")
    try:
        fn = functions.resolve(text)
    except FormulaError as e:
        raise RequestError("function", first_line(e), detail=str(e), position=e.position) from None
    except (ValueError, TypeError, KeyError) as e:
        raise RequestError("function", first_line(e)) from None
    if fn.dim != 2:
        raise RequestError("function", f"the playground draws functions of two variables (x, y); {text.strip()!r} "
                                       f"has {fn.dim}")
    return fn, text.strip()


def _number(value: Any, what: str, lo: float | None = None, hi: float | None = None, integer: bool = False) -> Any:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if integer:
        ok = ok and float(value).is_integer()
    if not ok or (lo is not None and value < lo) or (hi is not None and value > hi):
        kind = "an integer" if integer else "a finite number"
        bounds = f" in [{lo:g}, {hi:g}]" if lo is not None and hi is not None else (
            f" >= {lo:g}" if lo is not None else "")
        raise RequestError(what, f"{what} must be {kind}{bounds}, got {value!r}")
    return int(value) if integer else float(value)


def _point(value: Any, what: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RequestError(what, f"{what} must be two numbers [x, y], got {value!r}")
    return [_number(v, what) for v in value]


def _window(body: Mapping, fn: Any) -> list:
    w = body.get("window")
    if w is None:
        return fn.domain.tolist()
    if not isinstance(w, (list, tuple)) or len(w) != 2:
        raise RequestError("window", f"window must be [[x0, x1], [y0, y1]], got {w!r}")
    rows = [_point(r, "window") for r in w]
    if not all(a < b for a, b in rows):
        raise RequestError("window", f"window must have x0 < x1 and y0 < y1, got {w!r}")
    return rows


def default_start(fn: Any, window: list) -> list[float]:
    """The function's suggested start, else (a formula) a point 80 % of the way across the
    window in x and y, away from the centre where a formula's minimum often lies."""
    if len(fn.starts):
        return fn.starts[0].tolist()
    return [a + 0.8 * (b - a) for a, b in window]


def _start(body: Mapping, fn: Any, window: list) -> list[float]:
    if body.get("start") is not None:
        return _point(body["start"], "start")
    return default_start(fn, window)


def _options(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RequestError(what, f"{what} must be an object {{option: value}}, got {value!r}")
    return {str(k): tuple(v) if isinstance(v, list) else v for k, v in value.items()}


def _spec(item: Any, where: str) -> Spec:
    """One optimizer, checked by the library itself: its name and option names by the
    registry, its values by building it once on a point laid out as the runner lays out
    one run (the optimizer's own validator, with the runner's runs options)."""
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise RequestError(where, f"{where} must be an object with a name, got {item!r}")
    name = item["name"]
    try:
        options = registry.check_options(name, _options(item.get("options"), f"{where}.options"))
        registry.create([torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)], name, **options,
                        **runs_options((name, options)))
    except RequestError:
        raise
    except (ValueError, TypeError, KeyError, RuntimeError, NotImplementedError) as e:
        raise RequestError(where, f"{name}: {first_line(e)}") from None
    label = item.get("label") if isinstance(item.get("label"), str) and item["label"].strip() else \
        run_label(name, options)
    return Spec(label[:80], name, options)


def _steps(body: Mapping, limit: int, default: int = 100) -> int:
    return _number(body.get("steps", default), "steps", 0, limit, integer=True)


def _stop(value: Any) -> tuple[dict, list]:
    given = _options(value, "stop")
    rules = []
    for kind, v in given.items():
        if kind not in STOP_RULES:
            raise RequestError("stop", f"stop rule {kind!r} is not one of {', '.join(STOP_RULES)}")
        try:
            rules.append(STOP_RULES[kind](_number(v, f"stop.{kind}")))
        except (ValueError, TypeError) as e:
            if isinstance(e, RequestError):
                raise
            raise RequestError(f"stop.{kind}", first_line(e)) from None
    return given, rules


def _schedule(value: Any) -> tuple[dict | None, Any]:
    if value is None or value == {} or (isinstance(value, Mapping) and value.get("kind") in (None, "", "none")):
        return None, None
    if not isinstance(value, Mapping) or value.get("kind") not in SCHEDULES:
        raise RequestError("schedule", f"schedule kind must be one of none, {', '.join(SCHEDULES)}; got {value!r}")
    cls, defaults = SCHEDULES[value["kind"]]
    args = {}
    for k, d in defaults.items():
        v = value.get(k, d)
        args[k] = _number(v, f"schedule.{k}", integer=isinstance(d, int))
    try:  # the command line's checks: the scheduler's own, on a throw-away optimizer
        schedules.check_schedule(value["kind"], cls, args)
    except ValueError as e:
        raise RequestError("schedule", first_line(e)) from None
    return {"kind": value["kind"], **args}, (cls, args)


def landscape_request(body: Any) -> LandscapeRequest:
    body = _body(body)
    fn, text = _function(body)
    return LandscapeRequest(fn, text, _window(body, fn), _number(body.get("grid", 120), "grid", 10, LIMITS["grid"],
                                                                  integer=True))


def paths_request(body: Any) -> PathsRequest:
    """A view's paths: function, window, start, steps, optimizers, stopping rules, schedule."""
    body = _body(body)
    fn, text = _function(body)
    window = _window(body, fn)
    items = body.get("optimizers")
    if not isinstance(items, list):
        raise RequestError("optimizers", "optimizers must be a list of {name, options, label}")
    if len(items) > LIMITS["optimizers"]:
        raise RequestError("optimizers", f"{len(items)} optimizers: the playground draws at most "
                                         f"{LIMITS['optimizers']} at once")
    specs = [_spec(item, f"optimizers[{i}]") for i, item in enumerate(items)]
    for s, label in zip(specs, run_labels([s.label for s in specs])):
        s.label = label
    stop, rules = _stop(body.get("stop"))
    schedule, scheduler = _schedule(body.get("schedule"))
    return PathsRequest(fn, text, window, _start(body, fn, window), _steps(body, LIMITS["steps"]), specs,
                        stop, schedule, rules, scheduler)


def map_request(body: Any) -> MapRequest:
    """A stability map: one optimizer, its lr range (log) and second axis range, cells, steps."""
    body = _body(body)
    fn, text = _function(body)
    spec = _spec(body.get("optimizer"), "optimizer")
    axes = map_axes(optimizer_controls(spec.name))
    axis = body.get("axis") or (axes[0] if axes else None)
    if axis not in axes:
        allowed = ", ".join(axes) if axes else "(none: it has no momentum, β, ρ or α)"
        raise RequestError("axis", f"axis for {spec.name} must be one of {allowed}; got {axis!r}")
    lr = [_number(v, "lr", 0.0) for v in _point(body.get("lr", [1e-4, 1.0]), "lr")]
    y = _point(body.get("y", [0.0, 0.99]), "y")
    n = body.get("n", [32, 32])
    if not isinstance(n, (list, tuple)) or len(n) != 2:
        raise RequestError("n", f"n must be [cells along lr, cells along {axis}], got {n!r}")
    n = [_number(v, "n", 2, LIMITS["map_side"], integer=True) for v in n]
    if n[0] * n[1] > LIMITS["map_cells"]:
        raise RequestError("n", f"{n[0]} × {n[1]} cells: the map has at most {LIMITS['map_cells']}")
    if not (0 < lr[0] < lr[1]) or not (y[0] < y[1]):
        raise RequestError("lr", f"lr must be [lo, hi] with 0 < lo < hi and y [lo, hi] with lo < hi; got {lr}, {y}")
    window = _window(body, fn)
    return MapRequest(fn, text, _start(body, fn, window), _steps(body, LIMITS["map_steps"], 300), spec, axis, lr, y,
                      n)
