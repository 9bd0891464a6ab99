"""The one place where the playground computes: a validated request (:mod:`optimlab.play.api`)
in, the library's records out, as JSON data for the page.

* paths: :func:`optimlab.runner.compare` (each optimizer from the same start; its traces
  are exactly what ``optimlab.run`` gives);
* the stability map: :func:`optimlab.sweep` over a learning-rate × momentum-or-β grid,
  one batched computation, keeping only each run's final value (``record="final"``);
* level lines: the function's own batched evaluation on a grid, levels by
  :func:`optimlab.viz.contour_levels` (log-spaced in f − min, as the pictures draw them),
  the lines traced by ``contourpy`` (marching squares, as matplotlib draws them) so that
  the page draws polylines, not a contour plot it would recompute on every slider move;
* the GIF: :func:`optimlab.viz.animate_paths`.

``check`` (given by the server) is called after every step of every run; it raises when a
newer request has superseded this one, which stops the computation at once.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import contourpy  # matplotlib's own contouring (one of its dependencies), without matplotlib
import numpy as np

from ..optim import registry
from ..runner import NotCompilable, compare
from ..runner.loop import BatchRun, prepare_batch
from ..runner.shared import goes_compiled, run_together
from ..sweeps import linspace, logspace, sweep
from ..viz import animate_paths, contour_levels
from .api import LandscapeRequest, MapRequest, PathsRequest, default_start, json_numbers, nulls

__all__ = ["landscape", "level_lines", "paths", "trace_answers", "stability_map", "gif_bytes", "npz_bytes",
           "json_export", "view_json", "plain_options", "per_run", "build_later", "BUILD", "N_LEVELS",
           "GAP_FLOOR"]

N_LEVELS = 30
GAP_FLOOR = 1e-16  # the map shows log10(f − f*) down to this: a run at f* exactly would flatten the colours


def _f_min(fn: Any) -> float:
    return float(getattr(fn, "f_min", math.nan))


def landscape(req: LandscapeRequest) -> dict:
    """The grid of values for the level lines: ``f`` on ``grid × grid`` points of the window,
    and ``level``, the same grid mapped piecewise linearly so that level value i of
    :func:`~optimlab.viz.contour_levels` is the number i (Plotly draws evenly spaced
    contours only: lines at 0, 1, ..., N−1 of ``level`` are exactly the log-spaced levels)."""
    (x0, x1), (y0, y1) = req.window
    xs, ys = np.linspace(x0, x1, req.grid), np.linspace(y0, y1, req.grid)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        Z = np.asarray(req.function(np.stack([X, Y], axis=-1)), dtype=float)  # one batched evaluation, no graph
    Z = np.where(np.isfinite(Z), Z, np.nan)
    f_min = _f_min(req.function)
    log = f_min != -math.inf
    if np.isfinite(Z).any():
        levels = contour_levels(Z, N_LEVELS, log=log, f_min=f_min if math.isfinite(f_min) else None)
        level = np.interp(Z, levels, np.arange(len(levels)), left=-1.0, right=float(len(levels)))
        level = np.where(np.isfinite(Z), level, np.nan)
    else:
        levels, level = np.zeros(0), Z
    fn = req.function
    return {"function": req.text, "x": xs.tolist(), "y": ys.tolist(), "f": json_numbers(Z),
            "level": json_numbers(level), "levels": json_numbers(levels), "log_levels": log,
            "lines": level_lines(xs, ys, Z, levels),
            "window": req.window, "minimizers": fn.minimizers.tolist(), "f_min": nulls(f_min),
            "latex": getattr(fn, "latex", ""), "start": default_start(fn, req.window)}


def level_lines(xs: np.ndarray, ys: np.ndarray, Z: np.ndarray, levels: np.ndarray) -> list[dict]:
    """The lines ``f = levels[i]`` on the grid (NaN cells left out): per level, its pieces'
    points joined into one ``x`` and one ``y`` list with ``None`` between pieces."""
    if not len(levels):
        return []
    gen = contourpy.contour_generator(xs, ys, Z)
    out = []
    for i, value in enumerate(levels):
        pieces = gen.lines(float(value))
        x: list = []
        y: list = []
        for piece in pieces:
            x += piece[:, 0].tolist() + [None]
            y += piece[:, 1].tolist() + [None]
        out.append({"level": i, "value": float(value), "x": x[:-1], "y": y[:-1]})
    return out


def paths(req: PathsRequest, check: Callable[[], None] | None = None, compile: Any = False) -> dict:
    """``{label: Trace}`` of every optimizer of the view, from one start.

    ``compile=False``: ``optimlab.compare``, exactly what ``optimlab.run`` gives. ``True`` or
    ``"auto"``: each optimizer's number options are per-run hyperparameters (:func:`per_run`)
    of one :func:`optimlab.runner.run_batch` with ``compile=`` that value, so one compiled
    program (built once per method and choice of flags) answers every slider position; the
    same numbers within 1e-12. Under ``"auto"`` a missing program is built in the background
    (:func:`build_later`) while the paths are computed eagerly. Either way the runs that step
    eagerly (a method that cannot be compiled, a program not built yet) share the function's
    evaluations, as ``compare`` does (:func:`optimlab.runner.shared.run_together`)."""
    if compile is False:
        progress = None if check is None else (lambda label, step: check())
        return compare(req.function, {s.label: (s.name, s.options) for s in req.optimizers}, req.start, req.steps,
                       stop=req.rules or None, schedule=req.scheduler, progress=progress)

    def prepare(s: Any, choice: Any) -> BatchRun:
        fixed, hyper = per_run(s.options)
        return prepare_batch(req.function, (s.name, fixed), [req.start], req.steps, hyper=hyper,
                             stop=req.rules or None, schedule=req.scheduler, labels=[s.label], compile=choice,
                             progress=None if check is None else (lambda step: check()))[0]

    batches, eager = {}, []
    for s in req.optimizers:
        try:
            b = prepare(s, compile)
        except NotCompilable:  # this method runs eagerly (docs/sweeps.md says which and why); the others compiled
            b = prepare(s, False)
        if compile == "auto":
            build_later(req.text, s.name, *per_run(s.options), list(req.start))
        batches[s.label] = b
        if not goes_compiled(b):
            eager.append(b)
            continue
        try:  # compiled after its first step, by itself
            b.run()
        except NotCompilable:  # found at its first step (it cannot be traced): eagerly, with the others
            batches[s.label] = b = prepare(s, False)
            eager.append(b)
    run_together(eager)
    return {label: b.traces()[0] for label, b in batches.items()}


BUILD = """import json, sys
from optimlab.runner import NotCompilable, run_batch
a = json.loads(sys.argv[1])
try:
    run_batch(a["function"], (a["name"], a["fixed"]), [a["start"]], 1, hyper=a["hyper"], compile=True)
except NotCompilable:
    pass
"""
"""The background build of :func:`build_later`: one step of a run with ``compile=True``, which
builds the method's program into the disk cache (or finds it there) and exits."""

_ASKED: set[str] = set()


def build_later(function: str, name: str, fixed: dict, hyper: dict, start: list) -> subprocess.Popen | None:
    """Start building, in a separate low-priority process, the program that ``compile="auto"``
    would use for this function, method and choice of flags, once per server process: the
    paths are answered eagerly meanwhile, and from the compiled program once it is on disk
    (:mod:`optimlab.runner.compiled` finds it there). A separate process, so that tracing
    never touches the server's own computations. Returns the process (None: asked before)."""
    what = json.dumps({"function": function, "name": name, "fixed": fixed, "hyper": sorted(hyper)}, sort_keys=True,
                      default=list)  # the program's name depends on these, not on the start or the values
    if what in _ASKED:
        return None
    _ASKED.add(what)
    job = json.dumps({"function": function, "name": name, "fixed": fixed, "hyper": hyper, "start": start},
                     default=list)
    nice = (lambda: os.nice(10)) if hasattr(os, "nice") else None  # the build must not slow the answers down
    return subprocess.Popen([sys.executable, "-c", BUILD, job], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=nice)


def per_run(options: dict) -> tuple[dict, dict]:
    """``(fixed options, {name: [value]})``: the number options (and a pair of numbers such as
    ``betas``) as one run's tensor hyperparameters, the rest (flags, words) fixed."""
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    hyper = {k: [v] for k, v in options.items() if number(v) or (isinstance(v, (tuple, list)) and len(v) == 2
                                                                 and all(map(number, v)))}
    return {k: v for k, v in options.items() if k not in hyper}, hyper


def plain_options(options: dict) -> dict:
    """Options as JSON data (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def trace_answers(req: PathsRequest, traces: dict) -> dict:
    """The traces as the page draws them: points, f, ‖∇f‖, lr per step, stop reason."""
    out = []
    for s in req.optimizers:
        t = traces[s.label]
        out.append({"label": s.label, "name": s.name, "options": plain_options(s.options),
                    "params": json_numbers(t.params), "values": json_numbers(t.values),
                    "grad_norms": json_numbers(t.grad_norms), "lrs": json_numbers(t.lrs),
                    "stop_reason": t.stop_reason, "steps": int(t.steps)})
    return {"function": req.text, "start": req.start, "steps": req.steps, "f_min": nulls(_f_min(req.function)),
            "traces": out}


def lr_option(name: str) -> str:
    """The learning rate's name for optimizer ``name``: Keras' ``learning_rate`` where the
    constructor takes it (its ``lr`` is Keras 2's alias), else ``lr``."""
    return "learning_rate" if "learning_rate" in (registry.option_defaults(name) or {}) else "lr"


def stability_map(req: MapRequest, check: Callable[[], None] | None = None) -> dict:
    """The final value of every (lr, axis) cell, one batched :func:`optimlab.sweep`.

    ``z[j][i]``: log10(max(f − f*, :data:`GAP_FLOOR`)) at the end of the run with ``lr[i]``
    and ``axis[j]`` (when f* is unknown or −∞: f less the lowest final f of the map);
    ``None`` where the run diverged."""
    lrs = logspace(req.lr[0], req.lr[1], req.n[0])
    ys = linspace(req.y[0], req.y[1], req.n[1])
    lr_key = lr_option(req.optimizer.name)
    options = {k: v for k, v in req.optimizer.options.items() if k != lr_key}
    progress = None if check is None else (lambda step, total: check())
    t0 = time.perf_counter()
    res = sweep(req.function, (req.optimizer.name, options), grid={lr_key: lrs, req.axis: ys},
                steps=req.steps, start=req.start, record="final", progress=progress)
    seconds = time.perf_counter() - t0
    final = np.asarray(res.summary["final"], dtype=float)
    f_min = _f_min(req.function)
    where = {(float(c[lr_key]), float(c[req.axis])): i for i, c in enumerate(res.configs)}
    z = np.full((len(ys), len(lrs)), np.nan)
    for j, y in enumerate(ys):
        for i, lr in enumerate(lrs):
            z[j, i] = final[where[(float(lr), float(y))]]
    diverged = ~np.isfinite(z)
    known = math.isfinite(f_min)
    base = f_min if known else (float(np.min(z[~diverged])) if (~diverged).any() else 0.0)
    with np.errstate(all="ignore"):
        shown = np.log10(np.maximum(z - base, GAP_FLOOR))
    return {"lr": lrs, "lr_option": lr_key, "axis": req.axis, "y": ys, "z": json_numbers(shown),
            "final": json_numbers(z),
            "z_label": "log10(f − f*)" if known else "log10(f − lowest f of the map)",
            "diverged": int(diverged.sum()), "optimizer": req.optimizer.name, "steps": req.steps,
            "sweep_seconds": seconds}


def gif_bytes(req: PathsRequest, traces: dict, frames: int = 60) -> bytes:
    """The animation of the view's paths over its level lines (a GIF, :func:`optimlab.viz.animate_paths`)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = animate_paths(req.function, list(traces.values()), Path(tmp) / "paths.gif", frames=frames,
                             domain=req.window)
        return path.read_bytes()


def npz_bytes(req: PathsRequest, traces: dict) -> bytes:
    """Every trace's series in one NumPy archive: ``labels``, and ``params_i``, ``values_i``,
    ``grad_norms_i``, ``lrs_i`` for trace i; ``view``: the request as JSON text."""
    arrays: dict[str, Any] = {"labels": np.array(list(traces))}
    for i, t in enumerate(traces.values()):
        arrays.update({f"params_{i}": t.params, f"values_{i}": t.values, f"grad_norms_{i}": t.grad_norms,
                       f"lrs_{i}": t.lrs})
    arrays["view"] = np.array(json.dumps(view_json(req)))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def view_json(req: PathsRequest) -> dict:
    """The view a request describes, as plain JSON (what the page's URL holds)."""
    return {"function": req.text, "window": req.window, "start": req.start, "steps": req.steps,
            "optimizers": [{"label": s.label, "name": s.name, "options": plain_options(s.options)}
                           for s in req.optimizers],
            "stop": req.stop, "schedule": req.schedule}


def json_export(req: PathsRequest, traces: dict) -> dict:
    """The view and every trace as the library's own JSON record (``Trace.from_dict`` reads each back)."""
    return {"view": view_json(req), "traces": [t.to_dict() for t in traces.values()]}
