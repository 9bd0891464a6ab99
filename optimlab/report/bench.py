"""The benchmark's page, rebuilt from the store alone: ``index.html``, ``trials.csv``,
``trials.json`` and the pictures (performance profile, lr sensitivity, best paths)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..bench import optuna_store
from ..bench.profiles import performance_profile
from ..bench.protocol import aggregate
from ..bench.store import TrialStore
from ..functions import get as get_function
from ..record import Trace, to_jsonable
from ..viz import plot_contour, save_figure
from ..viz.sweeps import plot_performance_profile, plot_sensitivity
from .html import Figure, Heading, Text, write_html
from .pages import Page
from .tables import bench_cost_table, bench_summary_table, trials_table, write_csv

__all__ = ["bench_page", "build_report"]


def _read_store(store: str | Path) -> tuple[dict, list[dict]]:
    if "://" in str(store):  # an Optuna storage URL (sqlite:///bench.db, postgresql://...)
        return optuna_store.read_rows(optuna_store.open_storage(str(store), create=False))
    with TrialStore(store, readonly=True) as st:  # a report writes nothing into the store it reads
        desc = st.get_meta("bench")
        rows = list(st)
    if desc is None:
        raise ValueError(f"store {str(store)!r} holds no benchmark description; run optimlab bench with it first")
    return desc, rows


def _intro(desc: dict, agg: dict, n_trials: int) -> Text:
    return Text(f"Suite {desc['suite']}: {len(agg['problems'])} problems × {len(agg['optimizers'])} optimizers. "
                f"Tuning: {desc['search']} search over {desc['budget']} configurations "
                f"(lr in [{desc['lr_range'][0]:g}, {desc['lr_range'][1]:g}]); the best is rerun on "
                f"{desc['seeds']} seeds. Objective: f − f* on test functions, validation loss on training problems. "
                f"Cost = median gradient evaluations to reach the target (∞: the median rerun does not reach it). "
                f"{n_trials} trials in the store.")


def bench_page(store: str | Path, out: str | Path) -> Page:
    """Write ``index.html``, ``trials.csv``, ``trials.json`` and the figures into ``out``
    from the trials in ``store`` (nothing is computed again): a :class:`TrialStore` file,
    or an Optuna storage URL (``sqlite:///bench.db``, ``postgresql://...``) that workers
    may still be filling. ``Page.data`` holds the
    aggregated numbers (:func:`optimlab.bench.aggregate`)."""
    desc, rows = _read_store(store)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    agg = aggregate(rows, desc)
    (out / "trials.json").write_text(json.dumps(to_jsonable(rows)))
    files = [out / "trials.json", write_csv(trials_table(rows), out / "trials.csv")]
    summary = bench_summary_table(agg)
    blocks: list[Any] = [_intro(desc, agg, len(rows)), Heading("Summary"), summary]
    costs = {k: {s: agg["cells"][k][s]["cost"] for s in agg["optimizers"]} for k in agg["problems"]}
    blocks.append(Heading("Performance profile"))
    fig = plot_performance_profile(performance_profile(costs), title=f"performance profile, suite {desc['suite']}")
    blocks.append(Figure(save_figure(fig, out / "profile.png"), "ρ(τ): fraction of problems an optimizer solves "
                         "within τ times the cost of the best optimizer on that problem"))
    blocks.append(bench_cost_table(agg))
    blocks.append(Heading("Learning-rate sensitivity (tuning runs)"))
    blocks += _sensitivity(agg, out)
    paths = _best_paths(agg, out)
    if paths:
        blocks.append(Heading("Best configurations' paths (first rerun seed)"))
        blocks.extend(paths)
    page = write_html(out / "index.html", f"optimlab benchmark: {desc['suite']}", blocks)
    files += [Path(b.path) for b in blocks if isinstance(b, Figure)]
    summary.title = f"benchmark summary ({store}); full table in {page}"
    return Page(page, [*files, page], summary, data=agg)


def build_report(store: str | Path, out: str | Path) -> tuple[Path, dict]:
    """:func:`bench_page` as ``(path of the page, aggregated numbers)``."""
    page = bench_page(store, out)
    return page.index, page.data


def _sensitivity(agg: dict, out: Path) -> list[Figure]:
    figs = []
    for i, k in enumerate(agg["problems"]):
        items = {}
        for s in agg["optimizers"]:
            pts = [(h["lr"], v) for h, v in agg["tuning"][k][s] if "lr" in h]
            if pts:
                items[s] = ([p[0] for p in pts], [p[1] for p in pts])
        if items:
            obj = "final validation loss" if agg["problem_dicts"][i]["kind"] == "training" else "final f − f*"
            fig = plot_sensitivity(items, "lr", title=f"{k}: tuning runs", gap=False, ylabel=obj)
            figs.append(Figure(save_figure(fig, out / f"sensitivity_{i}.png"), f"{k}"))
    return figs


def _best_paths(agg: dict, out: Path) -> list:
    figs: list[Any] = []
    for i, (k, p) in enumerate(zip(agg["problems"], agg["problem_dicts"])):
        if p["kind"] != "function":
            continue
        traces = []
        for s in agg["optimizers"]:
            reruns = agg["cells"][k][s]["reruns"]
            if reruns and "params" in reruns[0]["result"]:
                traces.append(Trace(label=s, series={"params": np.asarray(reruns[0]["result"]["params"])}))
        if not traces:
            continue
        try:
            fig = plot_contour(get_function(p["name"], **p["params"]), traces, title=k)
        except Exception as e:  # noqa: BLE001 - a picture must not lose the report
            figs.append(Text(f"{k}: no path picture ({e})"))
            continue
        figs.append(Figure(save_figure(fig, out / f"path_{i}.png"), k))
    return figs
