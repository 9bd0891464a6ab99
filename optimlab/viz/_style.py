"""One look per method in every picture: colour by method, line style by repeat, layers by order.

Colours come from the palette of Okabe & Ito ("Color Universal Design: how to make figures
and presentations that are friendly to colorblind people", 2008,
https://jfly.uni-koeln.de/color/; recommended for figures by B. Wong, "Points of view:
Color blindness", Nature Methods 8, 441, 2011), whose colours stay distinct for the
three common kinds of colour-vision deficiency. Its yellow is left out (invisible on a
pale background); the lecture's seven methods take the other seven, so a lecture
picture never repeats a colour. Further known methods take colours of Paul Tol's
"muted" scheme, also designed to stay apart for colour-blind readers (P. Tol,
"Colour Schemes", SRON technical note, 2021, https://personal.sron.nl/~pault/).

The colour belongs to the *method* (:func:`method_key`: the registry's class behind the
name, with SGD split into plain SGD, momentum and Nesterov), not to a position in a
list, so SGD is the same vermillion in the demo, in ``optimlab run``, in training
curves, sweeps and the benchmark. The same method with other hyperparameters keeps
its hue and gets another line style and a lighter shade (:func:`run_styles`).
"""

from __future__ import annotations

import zlib
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.colors import to_hex, to_rgb

from .._spec import name_key, split_spec
from ..optim import registry
from ..record import Trace

__all__ = ["OKABE_ITO", "METHOD_COLORS", "EXTRA_COLORS", "MARKERS", "LINESTYLES", "method_key", "trace_method",
           "method_color", "run_styles"]

OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7"}

METHOD_COLORS = {
    "sgd": OKABE_ITO["vermillion"], "momentum": OKABE_ITO["orange"], "nag": OKABE_ITO["reddish purple"],
    "adagrad": OKABE_ITO["blue"], "rmsprop": OKABE_ITO["bluish green"], "adadelta": OKABE_ITO["sky blue"],
    "adam": OKABE_ITO["black"],
    # Tol's muted scheme for the other registered methods
    "adamw": "#882255", "nadam": "#999933", "adamax": "#332288", "radam": "#44AA99",
}
# for methods this table does not know (a user's own optimizer): picked by a hash of the name
EXTRA_COLORS = ("#AA4499", "#117733", "#CC6677", "#88CCEE", "#DDCC77", "#777777")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "p")
LINESTYLES = ("-", (0, (6, 2)), (0, (3, 1.5, 1, 1.5)), (0, (1.2, 1.2)), (0, (8, 2, 1, 2, 1, 2)))
_SHADES = (0.0, 0.35, 0.55, 0.2, 0.45)  # how far a repeat's colour is mixed towards white


def method_key(name: Any, options: Mapping[str, Any] | None = None) -> str:
    """The method behind an optimizer name and its options, as a colour key.

    A registered name gives its class (``"gd"``, ``"sgd"``, ``"keras.sgd"`` → ``"sgd"``;
    ``"rmsprop"`` → ``"rmsprop"``), except that SGD with momentum is ``"momentum"`` and
    with ``nesterov=True`` is ``"nag"`` (the lectures' methods). Anything else is its
    normalised name.
    """
    text = str(name)
    try:
        entry = registry.lookup(text)
    except (ValueError, TypeError):
        return name_key(text)
    merged = {**entry.presets, **dict(options or {})}
    cls = entry.cls.__name__.lower()
    if cls == "sgd":
        if _on(merged.get("nesterov")):
            return "nag"
        if _on(merged.get("momentum")):
            return "momentum"
    return cls


def _on(v: Any) -> bool:
    try:
        return bool(v) and float(v) != 0.0
    except (TypeError, ValueError):
        return bool(v)  # a list of per-run values: on when given


def trace_method(trace: Trace) -> str:
    """:func:`method_key` of a trace: from ``config["optimizer"]`` and ``config["options"]``,
    else from its label read as a spec (``"adam:lr=0.1"``), else the label itself."""
    cfg = trace.config if isinstance(trace.config, dict) else {}
    if cfg.get("optimizer"):
        return method_key(cfg["optimizer"], cfg.get("options") if isinstance(cfg.get("options"), dict) else None)
    return label_method(trace.label or "")


def label_method(label: str) -> str:
    """:func:`method_key` of a label that is a spec (``"momentum:lr=0.01"``) or a name."""
    try:
        name, kwargs = registry.parse_spec(label)
    except (ValueError, TypeError, KeyError, SyntaxError):
        return method_key(split_spec(label)[0] if label.strip() else label)
    return method_key(name, kwargs)


def method_color(key: str) -> str:
    """The colour of a method key (:func:`method_key`): fixed for the known methods, a
    stable pick from :data:`EXTRA_COLORS` for others."""
    k = name_key(key)
    if k in METHOD_COLORS:
        return METHOD_COLORS[k]
    return EXTRA_COLORS[zlib.crc32(k.encode()) % len(EXTRA_COLORS)]


def _shade(color: str, amount: float) -> str:
    """Another shade of ``color``: towards white for a dark colour, towards black for a light one
    (a lighter orange would vanish on the pale background)."""
    r, g, b = to_rgb(color)
    if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45:
        return to_hex((r * (1 - amount), g * (1 - amount), b * (1 - amount)))
    return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


def overlapping(paths: Sequence[Any], tol: float = 0.012) -> list[int | None]:
    """For each path (an ``(n, 2)`` array) the index of an earlier path it mostly covers, or None:
    when half its points lie within ``tol`` × the pictures' diagonal of that path (RMSProp and
    Adam on 5x² + y² run on one line)."""
    pts = [np.asarray(p, dtype=float).reshape(len(p), -1) for p in paths]
    pts = [np.pad(p, ((0, 0), (0, 1))) if p.shape[1] == 1 else p[:, :2] for p in pts]  # a 1-D path: (x, 0)
    pts = [p[np.isfinite(p).all(axis=1)][:: max(1, len(p) // 200)] for p in pts]
    allp = np.concatenate([p for p in pts if len(p)] or [np.zeros((1, 2))])
    diag = float(np.hypot(*(allp.max(axis=0) - allp.min(axis=0)))) or 1.0
    out: list[int | None] = []
    for j, q in enumerate(pts):
        hit = None
        for i in range(j):
            if len(q) > 1 and len(pts[i]):
                d = np.sqrt(((q[:, None, :] - pts[i][None, :, :]) ** 2).sum(axis=-1)).min(axis=1)
                if np.median(d) < tol * diag:
                    hit = i
                    break
        out.append(hit)
    return out


def run_styles(traces: Sequence[Trace], styles: Sequence[dict | None] | None = None, *, path: bool = True,
               lw: tuple[float, float] = (1.4, 3.0), marks: int = 25) -> list[dict]:
    """Matplotlib line options for each trace of one picture.

    * colour: the method's (:func:`method_color`); the k-th run of a method already in the
      picture keeps the hue, gets :data:`LINESTYLES` ``[k]`` and a lighter shade. Two
      different methods that a user's table maps to one colour get the next free colour;
    * layers: the first run is drawn lowest and widest (``lw[1]``), the last on top and
      thinnest (``lw[0]``), so a path under another still shows on both sides of it;
    * ``path=True``: a marker per run (:data:`MARKERS`), one every ``len/marks`` points,
      the runs' markers shifted against each other so that identical paths show them all;
      a path that runs on top of an earlier one (:func:`overlapping`) is dashed and the one
      under it widened, so both stay visible.

    ``styles[i]`` (when given) overrides the computed options of run ``i``.
    """
    n = len(traces)
    seen: dict[str, int] = {}
    used: dict[str, str] = {}  # colour -> method that has it
    out = []
    for i, t in enumerate(traces):
        key = trace_method(t)
        repeat = seen.get(key, 0)
        seen[key] = repeat + 1
        color = method_color(key)
        if used.get(color, key) != key:  # two methods on one colour: take a free one
            free = [c for c in (*METHOD_COLORS.values(), *EXTRA_COLORS) if c not in used]
            color = free[0] if free else color
        used.setdefault(color, key)
        width = lw[1] - (lw[1] - lw[0]) * (i / (n - 1) if n > 1 else 1.0)
        s: dict[str, Any] = {"color": _shade(color, _SHADES[repeat % len(_SHADES)]),
                             "ls": LINESTYLES[repeat % len(LINESTYLES)], "lw": round(width, 2), "zorder": 3 + 0.01 * i}
        if path:
            length = len(t.series["params"]) if "params" in t.series else 1
            every = max(1, -(-length // marks))
            shift = (i * every) // n if every >= n else i % every  # the runs' markers fall on different points
            s["marker"] = MARKERS[i % len(MARKERS)]
            s["markevery"] = (min(length - 1, shift), every) if length > 1 else None
        out.append(s)
    if path:
        for j, i in enumerate(overlapping([t.series["params"] if "params" in t.series else np.zeros((0, 2))
                                           for t in traces])):
            if i is not None:
                if out[j]["ls"] == "-":
                    out[j]["ls"] = (0, (5, 3))
                out[i]["lw"] = max(out[i]["lw"], out[j]["lw"] + 2.0)
    for i, s in enumerate(out):
        if styles and i < len(styles) and styles[i]:
            s.update(styles[i])
    return out
