"""The code that reproduces a playground view: a Python script (``optimlab.compare`` with the
view's function, optimizers, start, steps, stopping rules and schedule) and the
``optimlab run`` line that computes the same traces (``--schedule`` in the names of
:data:`optimlab.schedules.SCHEDULES`, which the page's schedule kinds are).

Numbers are written with ``repr`` (the shortest text that reads back as the same float),
so the script computes the very traces the page drew (tested).
"""

from __future__ import annotations

import shlex
from typing import Any

from .api import STOP_RULES, PathsRequest

__all__ = ["python_code", "cli_line", "spec_text"]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def python_code(req: PathsRequest) -> str:
    """A script that recomputes the view's traces with :func:`optimlab.compare`."""
    imports = ["import optimlab"]
    lines = ["traces = optimlab.compare(", f"    {req.text!r},", "    {"]
    lines += [f"        {s.label!r}: ({s.name!r}, {s.options!r})," for s in req.optimizers]
    lines += ["    },", f"    start={tuple(req.start)!r},", f"    steps={req.steps},"]
    if req.rules:
        imports.append("import optimlab.stopping")
        rules = ", ".join(f"optimlab.stopping.{STOP_RULES[k].__name__}({float(v)!r})" for k, v in req.stop.items())
        lines.append(f"    stop=[{rules}],")
    if req.scheduler is not None:
        cls, args = req.scheduler
        imports.append(f"import {cls.__module__}")
        lines.append(f"    schedule=({_class_path(cls)}, {args!r}),")
    lines.append(")")
    lines += ["for label, trace in traces.items():",
              "    print(label, trace.stop_reason, trace.steps, trace.params[-1].tolist(), trace.values[-1])"]
    return "\n".join(imports + [""] + lines) + "\n"


def _value(v: Any) -> str:
    """A value in the spec syntax, numbers exact (``repr``)."""
    if isinstance(v, bool) or v is None:
        return str(v).lower()
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "(" + ",".join(_value(x) for x in v) + ")"
    return str(v)


def spec_text(name: str, options: dict) -> str:
    """``name:key=value,...`` as ``-O`` takes it."""
    return name + (":" + ",".join(f"{k}={_value(v)}" for k, v in options.items()) if options else "")


def _numbers(values: Any) -> str:
    return ",".join(repr(float(v)) for v in values)


def cli_line(req: PathsRequest) -> tuple[str, str]:
    """``(command, note)``: the ``optimlab run`` line of the view, its schedule as ``--schedule``."""
    words = ["optimlab", "run", req.text]
    for s in req.optimizers:
        words += ["-O", spec_text(s.name, s.options)]
    words += [f"--start={_numbers(req.start)}", "--steps", str(req.steps)]
    for kind, v in req.stop.items():
        words += ["--stop", f"{kind}={float(v)!r}"]
    if req.schedule is not None:
        kind = req.schedule["kind"]
        words += ["--schedule", spec_text(kind, {k: v for k, v in req.schedule.items() if k != "kind"})]
    words += [f"--domain={_numbers([*req.window[0], *req.window[1]])}"]
    note = "labels are the specs on the command line" if any(
        s.label != spec_text(s.name, s.options) for s in req.optimizers) else ""
    return " ".join(shlex.quote(w) for w in words), note
