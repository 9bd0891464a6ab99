"""Benchmark suites: lists of problems, each plain data.

A problem is a dict:

* a test function: ``{"kind": "function", "name": "rosenbrock", "params": {...},
  "noise": 0.0, "start": [x, y], "steps": 500, "target": 1e-6}`` — ``target`` is the
  gap ``f − f*`` to reach; the start defaults to the function's first suggested one;
* a training problem: ``{"kind": "training", "name": "digits-mlp", "steps": 300,
  "batch_size": 32, "target": None}`` — the objective is the validation loss; with
  ``target`` None it is set from the results (see :mod:`optimlab.bench.protocol`).

In a suite given as a list of dicts only ``kind`` and ``name`` are required; the other
keys default to the values shown (``noise`` 0, ``target`` 1e-6, or 1e-2 with noise).

Built-in suites: ``"functions-2d"``, ``"noisy-functions"`` and ``"training"`` (when
the training lab, ``optimlab.problems``, is part of this build). A user's suite is a
comma-separated list of problem names: ``"rosenbrock,beale:noise=0.1,problem:digits-mlp"``
(``NAME[:noise=σ,steps=N,target=ε]``, ``problem:NAME`` for a training problem).
"""

from __future__ import annotations

import math
from typing import Any

from .. import problems as lab
from .._spec import split_items, split_top
from ..functions import get

__all__ = ["SUITES", "suite_names", "get_suite", "finish_suite", "split_items", "parse_problem", "problem_key"]

_FUNCTIONS_2D = ["lecture-quadratic", "ill-conditioned", "rosenbrock", "beale", "booth", "matyas", "himmelblau",
                 "three-hump-camel", "long-valley"]
_NOISY = ["lecture-quadratic", "ill-conditioned", "sphere", "rosenbrock", "beale", "matyas"]

SUITES: dict[str, str] = {
    "functions-2d": "9 noiseless 2-D test functions from their suggested starts; target f − f* ≤ 1e-6; 500 steps",
    "noisy-functions": "6 test functions with Gaussian gradient noise σ = 0.1; target f − f* ≤ 1e-2; 500 steps",
    "training": "the training lab's named problems (validation loss; 300 mini-batch steps of 32)",
}


def suite_names() -> list[str]:
    return list(SUITES)


def _function(name: str, noise: float = 0.0, steps: int = 500, target: float = 1e-6, **params: Any) -> dict:
    return {"kind": "function", "name": name, "params": params, "noise": float(noise), "start": None,
            "steps": int(steps), "target": float(target)}


def get_suite(name: str, steps: int | None = None) -> list[dict]:
    """The problems of a built-in suite or of a comma-separated list of problem names."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"suite must be one of {', '.join(SUITES)} or a comma-separated list of problems; "
                         f"got {name!r}")
    if name == "functions-2d":
        probs = [_function(n) for n in _FUNCTIONS_2D]
    elif name == "noisy-functions":
        probs = [_function(n, noise=0.1, target=1e-2) for n in _NOISY]
    elif name == "training":
        probs = [{"kind": "training", "name": n, "steps": 300, "batch_size": 32, "target": None}
                 for n in lab.names()]
    else:
        probs = [parse_problem(p) for p in split_items(name)]
    return finish_suite(probs, steps)


def finish_suite(problems: list[dict], steps: int | None = None) -> list[dict]:
    """Check every problem dict (built-in, parsed or the user's own), fill in the keys a
    user's dict leaves out (the defaults of the module docstring) and apply the ``steps``
    override to all of them; returns new dicts, the given ones are left alone."""
    if isinstance(problems, (str, dict)) or not hasattr(problems, "__iter__"):
        raise TypeError(f"suite must be a name, a comma-separated list of problems or a list of problem dicts; "
                        f"got {type(problems).__name__}")
    probs = []
    for p in problems:
        if not isinstance(p, dict):
            raise TypeError(f"a suite's problems must be dicts, got {p!r}")
        kind = p.get("kind")
        if kind not in ("function", "training") or "name" not in p:
            raise ValueError(f"a problem needs a 'name' and a 'kind' ('function' or 'training'), got {p!r}")
        if kind == "function":  # the defaults of a parsed NAME[:noise=σ,...]
            noise = float(p.get("noise", 0.0))
            probs.append({"params": {}, "noise": noise, "start": None, "steps": 500,
                          "target": 1e-2 if noise else 1e-6, **p})
        else:
            probs.append({"steps": 300, "batch_size": 32, "target": None, **p})
    if not probs:
        raise ValueError("suite is empty: give at least one problem")
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        for p in probs:
            p["steps"] = steps
    for p in probs:
        _check(p)
    return probs


def parse_problem(text: str) -> dict:
    """``NAME[:key=value,...]`` or ``problem:NAME[:key=value,...]`` → a problem dict."""
    text = text.strip()
    kind = "function"
    if text.startswith("problem:"):
        kind, text = "training", text[len("problem:"):]
    name, _, rest = text.partition(":")
    opts: dict[str, Any] = {}

    for item in split_top(rest):
        k, eq, v = item.partition("=")
        if not eq:
            raise ValueError(f"bad option {item!r} in problem {text!r}: write KEY=VALUE")
        try:
            opts[k.strip()] = int(v) if v.strip().lstrip("-").isdigit() else float(v)
        except ValueError:
            raise ValueError(f"option {k.strip()!r} of problem {text!r} must be a number, got {v!r}") from None
    if kind == "training":
        allowed = {"steps", "batch_size", "target"}
        bad = set(opts) - allowed
        if bad:
            raise ValueError(f"unknown option(s) {sorted(bad)} for training problem {name!r}; "
                             f"allowed: {sorted(allowed)}")
        return {"kind": "training", "name": name, "steps": int(opts.get("steps", 300)),
                "batch_size": int(opts.get("batch_size", 32)), "target": opts.get("target")}
    noise = float(opts.pop("noise", 0.0))
    steps = int(opts.pop("steps", 500))
    target = float(opts.pop("target", 1e-2 if noise else 1e-6))
    return _function(name, noise=noise, steps=steps, target=target, **opts)


def _check(p: dict) -> None:
    if isinstance(p["steps"], bool) or not isinstance(p["steps"], int) or p["steps"] < 1:
        raise ValueError(f"steps must be an integer >= 1, got {p['steps']!r} in problem {p['name']!r}")
    for key, least in (("target", None), ("noise", 0.0)):
        v = p.get(key)
        if v is None and (key == "noise" or p["kind"] == "training"):
            continue  # a training problem's target is set from the results
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or \
                (least is not None and v < least):
            raise ValueError(f"{key} must be a finite number{' >= 0' if least is not None else ''}, got {v!r} "
                             f"in problem {p['name']!r}")
    if p["kind"] == "function":
        fn = get(p["name"], **p["params"])
        if not math.isfinite(fn.f_min):
            raise ValueError(f"problem {p['name']!r} has no finite known minimum f*; a benchmark needs one for "
                             f"its target f − f* ≤ ε")
    elif p["kind"] == "training":
        if p["name"] not in lab.names():
            raise ValueError(f"unknown training problem {p['name']!r}; available: {', '.join(lab.names())}")


def problem_key(p: dict) -> str:
    """A short readable name for a problem (used in tables and plots)."""
    if p["kind"] == "training":
        return p["name"]
    extra = ",".join(f"{k}={v}" for k, v in sorted(p.get("params", {}).items()))
    s = p["name"] + (f"({extra})" if extra else "")
    return s + (f"+noise{p['noise']:g}" if p.get("noise") else "")
