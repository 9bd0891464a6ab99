"""The pages of the lab, as functions: a run, a sweep, a training comparison.

Each page function takes records that already exist (nothing here runs an optimizer),
writes them and their pictures into a folder with an ``index.html``, and returns a
:class:`Page`: the page's path, every file written, the main :class:`Table` (the
command line prints it) and notes about pictures that could not be drawn. The
benchmark's page is :func:`optimlab.report.bench_page`.

>>> import optimlab
>>> from optimlab import report
>>> traces = optimlab.compare("beale", {"Adam": "adam:lr=0.1", "SGD": "sgd:lr=0.001"}, (1, 1.5), 300)
>>> page = report.run_page("beale", traces, "beale-out")              # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .._spec import split_spec, unique_slugs
from ..record import EVAL_SERIES, Trace
from ..viz import (
    animate_paths,
    function_dim,
    plot_contour,
    plot_convergence,
    plot_function_1d,
    resolve_function,
    save_figure,
)
from ..viz.sweeps import plot_best_path, plot_heatmap, plot_sensitivity
from ..viz.training import training_figures
from .html import PAGE_WIDTH, Figure, Heading, Text, write_html
from .tables import Table, sweep_table, trace_table, training_table, write_csv

__all__ = ["Page", "run_page", "sweep_page", "training_page", "training_html"]


@dataclass
class Page:
    """What a page function wrote: ``index`` (the HTML page), ``files`` (all of them, the
    page last), ``table`` (its main table), ``notes`` (pictures skipped, and why) and
    ``data`` (numbers behind the page, e.g. a benchmark's aggregate)."""

    index: Path
    files: list[Path]
    table: Table
    notes: list[str] = field(default_factory=list)
    data: Any = None


# ----------------------------------------------------------------------- a run
def run_page(function: Any, traces: Mapping[str, Trace], out: str | Path, *, domain: Any = None,
             animate: bool = False, frames: int = 100, title: str | None = None) -> Page:
    """Runs from one start on a function: one trace file per run (``<label>.npz``),
    ``convergence.png`` (and ``convergence_evals.png``, per gradient evaluation, when a run
    counted its evaluations: :data:`optimlab.record.EVAL_SERIES`), ``paths.png`` (2-D
    functions), ``paths.gif`` with ``animate``, and ``index.html`` with the table and the pictures.

    ``function``: the function object, a registered name or a formula; ``traces``:
    ``{label: Trace}`` (as :func:`optimlab.compare` returns); ``domain``: the plot window
    ``((x0, x1), (y0, y1))``; a bad one raises ValueError from the picture (the traces are
    saved by then).
    """
    fn = resolve_function(function)
    if not traces:
        raise ValueError("traces is empty: give {label: Trace} of at least one run")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [t.save(out / f"{stem}.npz") for t, stem in zip(traces.values(), unique_slugs(list(traces)))]
    start = next(iter(traces.values())).params[0]
    name = getattr(fn, "name", None) or (function if isinstance(function, str) else "f")
    table = trace_table(traces, fn, title=title or f"{name} from ({', '.join(f'{v:g}' for v in start)})")
    pictures = [(save_figure(plot_convergence(traces, function=fn), out / "convergence.png"),
                 "f − f* and ‖∇f‖ per step")]
    if any(EVAL_SERIES[1] in t.series for t in traces.values()):  # line searches, Hessians: cost is not steps
        pictures.append((save_figure(plot_convergence(traces, function=fn, per="evals"),
                                     out / "convergence_evals.png"),
                         "f − f* and ‖∇f‖ per gradient evaluation (the cost of line-search and higher-order methods)"))
    notes = []
    if len(start) == 2 and function_dim(fn) in (None, 2):
        pictures.append((save_figure(plot_contour(fn, traces, domain=domain), out / "paths.png", dpi=110),
                         "level lines and paths; ○ start, ★ minimum"))
        if animate:
            pictures.append((animate_paths(fn, traces, out / "paths.gif", frames=frames, domain=domain),
                             "the paths, animated"))
    elif len(start) == 1:
        pictures.append((save_figure(plot_function_1d(fn, traces), out / "paths.png", dpi=110),
                         "f(x) with each run's points on it; ○ start, ★ minimum"))
        if animate:
            notes.append("the animation draws functions of 2 variables only; none written for this 1-variable one")
    else:
        notes.append(f"{name}: {len(start)} variables, so no paths.png{' or paths.gif' if animate else ''} "
                     f"(they draw 1 or 2)")
    files += [p for p, _ in pictures]
    # the settings column only where it adds something: not when every label is a spec stating them
    said = all(not r[1] or split_spec(str(r[0]))[2].strip() for r in table.rows)
    shown = table.select([c for c in table.columns if c != "settings"]) if said else table
    blocks = [Text(f"{len(traces)} run(s) of {name}; trace files: {', '.join(p.name for p in files[:len(traces)])} "
                   f"(read them with optimlab.record.Trace.load)."), Heading("Results"), shown]
    blocks += [Figure(p, caption) for p, caption in pictures]
    blocks += [Text(f"Note: {n}.") for n in notes]
    page = write_html(out / "index.html", f"optimlab run: {table.title}", blocks)
    return Page(page, [*files, page], table, notes)


# ----------------------------------------------------------------------- a sweep
def _sweep_pictures(result: Any, out: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    grid = result.grid
    numeric = [k for k, v in grid.items() if len(v) > 1 and all(isinstance(x, (int, float)) and
                                                               not isinstance(x, bool) for x in v)]
    pics, notes = [], []
    x = "lr" if "lr" in numeric else (numeric[0] if numeric else None)
    try:
        if len(numeric) >= 2:
            y = next(k for k in numeric if k != x)
            pics.append((save_figure(plot_heatmap(result, x, y), out / "heatmap.png"),
                         f"final value over {x} × {y} (median over seeds; hatched ✕: diverged)"))
        if x is not None:
            pics.append((save_figure(plot_sensitivity({result.optimizer["name"]: result}, x), out / "sensitivity.png"),
                         f"final value versus {x}"))
        if (result.problem.get("type") == "function" and result.problem.get("dim", 2) == 2
                and not result.diverged.all()):
            pics.append((save_figure(plot_best_path(result), out / "best_path.png"), "the best configuration's path"))
    except (ValueError, TypeError) as e:  # a picture must not lose the computed sweep
        notes.append(f"a picture was skipped: {' '.join(str(e).split())}")
    return pics, notes


def sweep_page(result: Any, out: str | Path, *, target: float | None = None, top: int = 10) -> Page:
    """A :class:`~optimlab.sweeps.SweepResult`: ``sweep.json`` (the result, loadable with
    ``SweepResult.load``), ``table.csv`` (every run), ``heatmap.png`` (two numeric swept
    arguments), ``sensitivity.png``, ``best_path.png`` (2-D functions) and ``index.html``
    with the ``top`` best runs. ``target``: a level of ``f − f*`` for a steps-to-target column.
    """
    if top < 1:
        raise ValueError(f"top must be >= 1 (rows of the summary table), got {top}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [result.save(out / "sweep.json")]
    table = sweep_table(result, target)
    files.append(write_csv(table, out / "table.csv"))
    pics, notes = _sweep_pictures(result, out)
    files += [p for p, _ in pics]
    best = table.head(top)
    best.title = f"{table.title}; best {len(best.rows)}"
    blocks = [Text(f"{len(table.rows)} runs, {int(result.diverged.sum())} diverged, computed as one batch in "
                   f"{result.wall_time:.2f} s."), Heading("Best runs"), best]
    blocks += [Figure(p, cap) for p, cap in pics]
    page = write_html(out / "index.html", f"optimlab sweep: {result.optimizer['name']} on "
                      f"{result.problem.get('name', '')}", blocks)
    return Page(page, [*files, page], best, notes)


# ----------------------------------------------------------------------- training
def training_html(comparison: Any, path: str | Path, title: str | None = None) -> Path:
    """The page of a :class:`~optimlab.training.TrainingComparison` at ``path``: settings,
    the table and the curves (means over seeds, drawn into ``<stem>_figures/``)."""
    path = Path(path)
    histories = {label: comparison.mean_history(label) for label, hs in comparison.histories.items() if hs}
    figs = training_figures(histories, path.parent / (path.stem + "_figures"), monitor=comparison.monitor,
                            seeds=len(comparison.seeds), width_px=PAGE_WIDTH) if histories else []
    s = comparison.settings
    blocks: list[Any] = [
        Text(f"Problem {comparison.problem} ({s.get('task')}, data: {s.get('source')}, train/validation/test "
             f"examples {s.get('split')}, model {s.get('model')}, loss {s.get('loss')}). "
             f"{s.get('epochs')} epochs, batch size {s.get('batch_size')} "
             f"({s.get('iterations_per_epoch')} iterations per epoch), seeds {comparison.seeds}. "
             f"Numbers are mean ± sample standard deviation over seeds; curves are means over seeds."),
        *_interrupted_note(comparison),
        Heading("Summary"), training_table(comparison), Heading("Curves"),
        *[Figure(p, caption) for p, caption in figs],
    ]
    return write_html(path, title or f"Training comparison: {comparison.problem}", blocks)


def _interrupted_note(comparison: Any) -> list[Any]:
    if not getattr(comparison, "interrupted", False):
        return []
    total = len(comparison.seeds) * len(comparison.histories)
    return [Text(f"Interrupted: {comparison.n_finished} of {total} runs finished; the numbers and curves are "
                 f"those of the finished runs only, the stop column names the seeds that did not finish.")]


def training_page(comparison: Any, out: str | Path, *, title: str | None = None) -> Page:
    """A training comparison: every History (``histories/``, loadable with
    ``TrainingComparison.load``), the curves and ``index.html``."""
    out = Path(out)
    files = comparison.save(out / "histories")
    page = training_html(comparison, out / "index.html", title)
    figures = sorted((out / "index_figures").glob("*.png"))
    table = training_table(comparison)
    return Page(page, [*files, *figures, page], table)

