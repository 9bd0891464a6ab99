"""The benchmark report, rebuilt from the store alone: HTML (through
:func:`optimlab.report.write_html`), ``trials.csv`` and ``trials.json``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from ..record import to_jsonable
from .profiles import performance_profile
from .protocol import aggregate
from .store import TrialStore

__all__ = ["build_report", "summary_rows", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["problem", "optimizer", "tuned", "median final", "min", "max", "solved", "median steps",
                   "median time [s]", "cost"]


def _num(v: float) -> Any:
    return "∞" if v == math.inf else ("—" if isinstance(v, float) and math.isnan(v) else v)


def summary_rows(agg: dict) -> list[list]:
    rows = []
    for k in agg["problems"]:
        for s in agg["optimizers"]:
            c = agg["cells"][(k, s)]
            hp = c["best_hyper"] or {}
            hyper = ", ".join(f"{a}={hp[a]:.3g}" for a in sorted(hp, key=lambda a: (a != "lr", a)))
            rows.append([k, s, hyper or "—", _num(c["median"]), _num(c["min"]), _num(c["max"]),
                         f"{c['solved']}/{c['runs']}", _num(c["median_steps"]), _num(c["median_time"]),
                         _num(c["cost"])])
    return rows


def _write_trials(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "trials.json").write_text(json.dumps(to_jsonable(rows)))
    with open(out / "trials.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "phase", "problem", "optimizer", "hyper", "seed", "final", "best", "steps", "stop_reason",
                    "finished"])
        from .suites import problem_key

        for r in rows:
            t, res = r["trial"], r["result"]
            w.writerow([r["id"], t["phase"], problem_key(t["problem"]), t["optimizer"], json.dumps(t["hyper"]),
                        t["seed"], res["final"], res["best"], res["steps"], res["stop_reason"], r["finished"]])


def build_report(store: str | Path, out: str | Path) -> tuple[Path, dict]:
    """Write ``index.html``, ``trials.csv``, ``trials.json`` and the figures into ``out``
    from the trials in ``store``; returns (path of the page, aggregated numbers)."""
    from ..report import Figure, Heading, Table, Text, write_html
    from ..viz.curves import save_figure
    from ..viz.sweeps import plot_performance_profile, plot_sensitivity

    path = Path(store)
    if not path.exists():
        raise ValueError(f"store {str(store)!r} does not exist")
    out = Path(out)
    with TrialStore(path) as st:
        desc = st.get_meta("bench")
        rows = list(st)
    if desc is None:
        raise ValueError(f"store {str(store)!r} holds no benchmark description; run optimlab bench with it first")
    agg = aggregate(rows, desc)
    _write_trials(rows, out)
    blocks: list[Any] = [
        Text(f"Suite {desc['suite']}: {len(agg['problems'])} problems × {len(agg['optimizers'])} optimizers. "
             f"Tuning: {desc['search']} search over {desc['budget']} configurations "
             f"(lr in [{desc['lr_range'][0]:g}, {desc['lr_range'][1]:g}]); the best is rerun on "
             f"{desc['seeds']} seeds. Objective: f − f* on test functions, validation loss on training problems. "
             f"Cost = median gradient evaluations to reach the target (∞: the median rerun does not reach it). "
             f"{len(rows)} trials in the store."),
        Heading("Summary"),
        Table(SUMMARY_COLUMNS, summary_rows(agg), caption="median, min and max of the final objective over reruns"),
    ]
    costs = {k: {s: agg["cells"][(k, s)]["cost"] for s in agg["optimizers"]} for k in agg["problems"]}
    blocks.append(Heading("Performance profile"))
    taus, rho, names = performance_profile(costs)
    fig = plot_performance_profile((taus, rho, names), title=f"performance profile, suite {desc['suite']}")
    blocks.append(Figure(save_figure(fig, out / "profile.png"), "ρ(τ): fraction of problems an optimizer solves "
                         "within τ times the cost of the best optimizer on that problem"))
    blocks.append(Table(["problem", "target", *agg["optimizers"]],
                        [[k, agg["targets"][k], *[_num(costs[k][s]) for s in agg["optimizers"]]] for k in agg["problems"]],
                        caption="cost (gradient evaluations to the target) per problem"))
    blocks.append(Heading("Learning-rate sensitivity (tuning runs)"))
    for i, k in enumerate(agg["problems"]):
        items = {}
        for s in agg["optimizers"]:
            pts = [(h["lr"], v) for h, v in agg["tuning"][(k, s)] if "lr" in h]
            if pts:
                items[s] = ([p[0] for p in pts], [p[1] for p in pts])
        if items:
            obj = "final validation loss" if agg["problem_dicts"][i]["kind"] == "training" else "final f − f*"
            fig = plot_sensitivity(items, "lr", title=f"{k}: tuning runs", gap=False, ylabel=obj)
            blocks.append(Figure(save_figure(fig, out / f"sensitivity_{i}.png"), f"{k}"))
    paths = _best_paths(agg, out)
    if paths:
        blocks.append(Heading("Best configurations' paths (first rerun seed)"))
        blocks.extend(paths)
    page = write_html(out / "index.html", f"optimlab benchmark: {desc['suite']}", blocks)
    return page, agg


def _best_paths(agg: dict, out: Path) -> list:
    from ..record import Trace
    from ..report import Figure
    from ..viz.curves import save_figure

    figs = []
    for i, (k, p) in enumerate(zip(agg["problems"], agg["problem_dicts"])):
        if p["kind"] != "function":
            continue
        traces = []
        for s in agg["optimizers"]:
            reruns = agg["cells"][(k, s)]["reruns"]
            if reruns and "params" in reruns[0]["result"]:
                import numpy as np

                traces.append(Trace(label=s, series={"params": np.asarray(reruns[0]["result"]["params"])}))
        if not traces:
            continue
        try:
            from ..functions import get

            from ..viz import plot_contour

            fig = plot_contour(get(p["name"], **p["params"]), traces, title=k)
        except Exception as e:  # a picture must not lose the report
            figs.append(_text(f"{k}: no path picture ({e})"))
            continue
        figs.append(Figure(save_figure(fig, out / f"path_{i}.png"), k))
    return figs


def _text(s: str) -> Any:
    from ..report import Text

    return Text(s)
