"""Every table of optimlab, built once here and written three ways.

A :class:`Table` holds columns and rows of plain values (numbers stay numbers); it is
rendered as HTML by :mod:`optimlab.report.html`, as a rich table on the terminal by
:func:`to_rich`, as Markdown by :func:`to_markdown` and as CSV (raw values) by
:func:`write_csv`. Cells are formatted by :func:`format_number` only.

The builders turn records into tables: :func:`trace_table` (runs on a function: the
``optimlab run`` table and the demo's), :func:`sweep_table`, :func:`training_table`,
:func:`bench_summary_table`, :func:`bench_cost_table`, :func:`trials_table`, and the
listings of the registries (:func:`function_list_table`, :func:`optimizer_list_table`,
:func:`problem_list_table`).
"""

from __future__ import annotations

import csv
import inspect
import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import functions, problems, schedules
from .._spec import format_value
from ..bench.protocol import trial_result
from ..bench.suites import SUITES, problem_key
from ..optim import registry
from ..record import Trace
from ..viz import f_star_text, format_options, known_f_min

__all__ = ["Table", "format_number", "format_mean_std", "to_rich", "fold_text", "FittedTable", "to_markdown",
           "write_csv",
           "TRACE_COLUMNS", "trace_table", "sweep_table", "training_table", "BENCH_SUMMARY_COLUMNS",
           "bench_summary_table", "bench_cost_table", "trials_table", "function_list_table",
           "optimizer_list_table", "optimizer_defaults", "problem_list_table", "suite_list_table"]


@dataclass
class Table:
    """Columns and rows of plain values; ``title`` heads it on the terminal, ``caption`` on a page."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""
    title: str = ""
    text_columns: Sequence[str] = field(default_factory=tuple)  # left-aligned and wrapped on the terminal

    def select(self, columns: Sequence[str]) -> "Table":
        """The same table with only ``columns`` (in that order)."""
        idx = [list(self.columns).index(c) for c in columns]
        return replace(self, columns=list(columns), rows=[[r[i] for i in idx] for r in self.rows])

    def head(self, n: int) -> "Table":
        """The first ``n`` rows."""
        return replace(self, rows=list(self.rows)[:n])

    def records(self) -> list[dict]:
        """One ``{column: value}`` per row."""
        return [dict(zip(self.columns, r)) for r in self.rows]


# ----------------------------------------------------------------------- cells
def format_number(v: Any) -> str:
    """A table cell: floats with 4 significant digits (scientific outside [1e-3, 1e5)),
    NaN as an em dash, infinities as ∞; anything else as ``str``."""
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "—"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        return f"{v:.4g}" if v == 0 or 1e-3 <= abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


def format_mean_std(mean: float, std: float, n: int, scale: float = 1.0) -> str:
    """``mean ± std`` of ``n`` runs (the mean alone for one run; — when there is none),
    both multiplied by ``scale`` (1e3 for milliseconds)."""
    if not math.isfinite(mean):
        return "—"
    return format_number(float(mean * scale)) + (f" ± {std * scale:.2g}" if n > 1 else "")


# ----------------------------------------------------------------------- writers
def _numeric(table: Table, i: int) -> bool:
    col = table.columns[i]
    return col not in table.text_columns and all(
        isinstance(r[i], (int, float, np.number)) and not isinstance(r[i], bool) for r in table.rows)


def to_rich(table: Table) -> Any:
    """A rich renderable of ``table`` that fits the console it is printed on: numbers
    right-aligned and never wrapped; text cells and headers folded only at separators
    (spaces, ``:``, ``,``, ``;``, ``/``, ``_``, ``=``, ``(``), so that a spec such as
    ``adam:lr=0.1,betas=(0.9,0.99)`` breaks between its options and a number inside a
    text cell (``0.12 ± 0.01``) stays whole when the column can hold it."""
    return FittedTable(table)


# a line may end after one of these (after "(" only when no number follows: "(0.5" stays whole)
_BREAK = re.compile(r"(?<=[:,;/ _=])|(?<=\()(?![-+−\d.])")


def fold_text(text: str, width: int) -> str:
    """``text`` with line breaks after separators so that no line is longer than ``width``
    (a piece longer than ``width`` with no separator in it is cut)."""
    lines: list[str] = []
    for para in str(text).split("\n"):
        line = ""
        for piece in _BREAK.split(para):
            while len(piece) > width:  # no separator inside: cut it
                if line:
                    lines.append(line.rstrip())
                    line = ""
                lines.append(piece[:width])
                piece = piece[width:]
            if len(line) + len(piece.rstrip()) > width and line:
                lines.append(line.rstrip())
                line = ""
            line += piece
        lines.append(line.rstrip())
    return "\n".join(lines)


def _longest_piece(text: str) -> int:
    return max((len(p.strip()) for p in _BREAK.split(str(text))), default=0)


def column_widths(natural: Sequence[int], least: Sequence[int], room: int) -> list[int]:
    """Widths of the text columns within ``room`` characters: each its ``natural`` width when
    all fit; else (water-filling) a column keeps its natural width when that is below a fair
    share of what is left, takes its ``least`` width (its longest number or header word) when
    that is above it, and the others share the rest equally."""
    widths = list(natural)
    if sum(widths) <= room:
        return widths
    left, rest = set(range(len(widths))), room
    while left:
        fair = max(1, rest // len(left))
        done = {i for i in left if natural[i] <= fair or least[i] >= fair}
        if not done:
            for k, i in enumerate(sorted(left)):
                widths[i] = fair + (1 if k < rest - fair * len(left) else 0)
            break
        for i in done:
            widths[i] = natural[i] if natural[i] <= fair else least[i]
            rest -= widths[i]
        left -= done
    return widths


_NUMBER = re.compile(r"[-+−]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _least(header: str, cells: Sequence[str]) -> int:
    """The narrowest a text column may be: its longest piece with a number in it (a number is
    never cut), its header's longest word, and at least 8 characters of words."""
    numbers = [len(p.strip()) for c in cells for p in _BREAK.split(c) if _NUMBER.search(p)]
    return max([_longest_piece(header), min(8, max((_longest_piece(c) for c in cells), default=0)), *numbers])


class FittedTable:
    """What :func:`to_rich` returns: laid out for the console's width when printed."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield self.build(options.max_width)

    def build(self, width: int) -> Any:
        """The ``rich.table.Table`` for a console ``width`` characters wide."""
        from rich.table import Table as RichTable  # the terminal's renderer, needed only here
        from rich.text import Text  # the terminal's renderer, needed only here

        table = self.table
        cells = [[format_number(v) for v in r] for r in table.rows]
        ncol = len(table.columns)
        numeric = [_numeric(table, i) for i in range(ncol)]
        text_idx = [i for i in range(ncol) if not numeric[i]]
        fixed = sum(max([len(str(table.columns[i]))] + [len(r[i]) for r in cells]) for i in range(ncol)
                    if numeric[i])
        room = width - (3 * ncol + 1) - fixed  # borders and one space of padding each side
        natural = [max([len(str(table.columns[i]))] + [max(map(len, r[i].split("\n"))) for r in cells])
                   for i in text_idx]
        least = [_least(str(table.columns[i]), [r[i] for r in cells]) for i in text_idx]
        fitted = dict(zip(text_idx, column_widths(natural, least, room)))
        # every title, header and cell is a Text: user text ("rate[/s]", ":thumbs_down:") is never markup
        t = RichTable(title=Text(table.title) if table.title else None, header_style="bold", title_justify="left")
        for i, c in enumerate(table.columns):
            head = str(c) if numeric[i] else fold_text(str(c), fitted[i])
            t.add_column(Text(head), justify="right" if numeric[i] else "left", no_wrap=True,
                         overflow="fold")
        for r in cells:
            t.add_row(*(Text(v if numeric[i] else fold_text(v, fitted[i])) for i, v in enumerate(r)))
        return t


def to_markdown(table: Table) -> str:
    """A GitHub Markdown table (``|`` inside cells escaped)."""
    def cell(v: Any) -> str:
        return format_number(v).replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, table.columns)) + " |",
             "|" + "|".join("---:" if _numeric(table, i) else "---" for i in range(len(table.columns))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in table.rows]
    return "\n".join(lines) + "\n"


def write_csv(table: Table, path: str | Path) -> Path:
    """The raw values (not formatted) as CSV; dicts and lists as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(table.columns)
        for r in table.rows:
            w.writerow([json.dumps(v) if isinstance(v, (dict, list)) else v for v in r])
    return path


# ----------------------------------------------------------------------- runs on functions
TRACE_COLUMNS = ("optimizer", "settings", "final f", "f − f*", "‖∇f‖", "steps", "stop reason", "final point")


def trace_table(traces: Mapping[str, Trace], function: Any = None, title: str = "") -> Table:
    """One row per run (see :data:`TRACE_COLUMNS`). f* comes from ``function`` or each trace's
    recorded function; ``f − f*`` is NaN when it is unknown or −∞ (a saddle: the title then
    says ``f* = −∞ (unbounded below)``)."""
    rows = []
    for label, t in traces.items():
        f_star = known_f_min(function, [t])
        final = float(t.values[-1])
        point = "(" + ", ".join(f"{v:.4g}" for v in t.params[-1]) + ")" if "params" in t.series else ""
        rows.append([label, format_options(t.config.get("options", {})), final,
                     final - f_star if f_star is not None else float("nan"), float(t.grad_norms[-1]),
                     int(t.steps), t.stop_reason, point])
    note = f_star_text(function, list(traces.values()))
    if "−∞" in note:
        title = f"{title}; {note}" if title else note
    return Table(list(TRACE_COLUMNS), rows, title=title, text_columns=("optimizer", "settings", "stop reason",
                                                                       "final point"))


# ----------------------------------------------------------------------- sweeps
def sweep_table(result: Any, target: float | None = None) -> Table:
    """Every run of a :class:`~optimlab.sweeps.SweepResult`, best final value first (NaN
    last): its configuration, final and best value, steps, stop reason and, with ``target``
    (a level of ``f − f*``), the steps to reach it."""
    f_min = result.f_min if math.isfinite(result.f_min) else 0.0
    rows = result.table(None if target is None else target + f_min)
    cols = list(rows[0].keys()) if rows else []
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["final"] != rows[i]["final"], rows[i]["final"]))
    n_div = int(result.diverged.sum())
    title = (f"{result.optimizer['name']} on {result.problem.get('name', '')}: {len(rows)} runs ({n_div} diverged) "
             f"in {result.wall_time:.2f} s")
    return Table(cols, [[rows[i][c] for c in cols] for i in order], title=title, text_columns=("stop_reason",))


# ----------------------------------------------------------------------- training
def training_table(comparison: Any) -> Table:
    """The :class:`~optimlab.training.TrainingComparison` summary: mean ± sample std over seeds."""
    m = comparison.monitor
    tgt = "—" if comparison.target is None else f"{comparison.target:.4g}"
    reach_col = f"epochs to {m} {'≥' if comparison.mode == 'max' else '≤'} {tgt}"
    cols = ["optimizer", f"final {m}", f"best {m}", "best epoch", reach_col, "time/epoch (ms)", "final train loss",
            "stop"]
    rows = []
    for r in comparison.summary():
        n = r["runs"]
        reach = format_mean_std(*r["epochs_to_target"], r["reached"])
        if r["reached"] < n:
            reach = f"{reach} ({r['reached']}/{n} runs)"
        rows.append([r["label"], format_mean_std(*r["final"], n), format_mean_std(*r["best"], n),
                     format_mean_std(*r["best_epoch"], n), reach, format_mean_std(*r["time_per_epoch"], n, 1e3),
                     format_mean_std(*r["final_loss"], n), _stop_text(r, len(comparison.seeds))])
    s = comparison.settings
    title = (f"{comparison.problem}: {s.get('epochs')} epochs, batch {s.get('batch_size')}, "
             f"{len(comparison.seeds)} seed(s)")
    return Table(cols, rows, title=title, text_columns=tuple(cols))


def _stop_text(row: Mapping, n_seeds: int) -> str:
    """How an optimizer's runs ended: ``epochs_done``, and after Ctrl-C which seeds did not
    finish (``epochs_done (1 of 3 seeds); interrupted: seed 1; not started: seed 2``)."""
    parts = [", ".join(row["stop_reasons"])] if row["stop_reasons"] else []
    unfinished = row.get("unfinished") or {}
    if unfinished:
        if parts:
            parts[0] += f" ({row['runs']} of {n_seeds} seeds)"
        for status in ("interrupted", "not started"):
            seeds = [str(s) for s, v in unfinished.items() if v == status]
            if seeds:
                parts.append(f"{status}: seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)}")
    return "; ".join(parts)


# ----------------------------------------------------------------------- benchmarks
BENCH_SUMMARY_COLUMNS = ["problem", "optimizer", "tuned", "median final", "min", "max", "solved", "median steps",
                         "median time [s]", "cost"]


def _hyper_text(hp: Mapping[str, Any] | None) -> str:
    hp = hp or {}
    return ", ".join(f"{a}={format_value(hp[a], 3)}" for a in sorted(hp, key=lambda a: (a != "lr", a))) or "—"


def bench_summary_table(agg: Mapping) -> Table:
    """One row per (problem, optimizer) of :func:`optimlab.bench.aggregate`'s numbers."""
    rows = []
    for k in agg["problems"]:
        for s in agg["optimizers"]:
            c = agg["cells"][k][s]
            rows.append([k, s, _hyper_text(c["best_hyper"]), c["median"], c["min"], c["max"],
                         f"{c['solved']}/{c['runs']}", c["median_steps"], c["median_time"], c["cost"]])
    return Table(BENCH_SUMMARY_COLUMNS, rows, caption="median, min and max of the final objective over reruns",
                 text_columns=("problem", "optimizer", "tuned"))


def bench_cost_table(agg: Mapping) -> Table:
    """Cost (gradient evaluations to the target) per problem and optimizer."""
    rows = [[k, agg["targets"][k], *[agg["cells"][k][s]["cost"] for s in agg["optimizers"]]]
            for k in agg["problems"]]
    return Table(["problem", "target", *agg["optimizers"]], rows,
                 caption="cost (gradient evaluations to the target) per problem")


TRIALS_COLUMNS = ["id", "phase", "problem", "optimizer", "hyper", "seed", "final", "best", "steps", "stop_reason",
                  "finished"]


def trials_table(rows: Sequence[Mapping]) -> Table:
    """One row per stored trial (the store's rows as :class:`optimlab.bench.TrialStore` yields them)."""
    out = []
    for r in rows:
        t, res = r["trial"], trial_result(r)
        out.append([r["id"], t["phase"], problem_key(t["problem"]), t["optimizer"], json.dumps(t["hyper"]),
                    t["seed"], res["final"], res["best"], res["steps"], res["stop_reason"], r["finished"]])
    return Table(TRIALS_COLUMNS, out)


# ----------------------------------------------------------------------- the registries
def _point(p: Any) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in p) + ")"


def function_list_table() -> Table:
    """Every registered test function: formula, dimension, f*, minimizers and suggested start."""
    rows = []
    for name in functions.names():
        fn = functions.get(name)
        text = getattr(fn, "description", "") or getattr(fn, "latex", "") or ""
        m = getattr(fn, "minimizers", None)
        mins = start = ""
        try:
            arr = np.asarray(m, dtype=float).reshape(-1, int(fn.dim)) if m is not None else np.zeros((0, 1))
            mins = "; ".join(_point(row) for row in arr[:2]) + (f" (+{len(arr) - 2})" if len(arr) > 2 else "")
            starts = getattr(fn, "starts", None)
            if starts is not None and len(starts):
                start = "(" + ", ".join(f"{v:g}" for v in np.asarray(starts, dtype=float)[0]) + ")"
        except (TypeError, ValueError):
            pass
        f_min = getattr(fn, "f_min", None)
        rows.append([name, str(text), str(getattr(fn, "dim", "")), "" if f_min is None else float(f_min), mins, start])
    cols = ["name", "formula / description", "dim", "f*", "minimizer", "start"]
    return Table(cols, rows, title="optimlab test functions (optimlab.functions.get(name))",
                 text_columns=tuple(cols))


def optimizer_defaults(cls: type, presets: dict | None = None) -> str:
    """``lr=0.001, betas=(0.9, 0.999), eps=1e-08``: the constructor's numeric defaults with the
    name's presets applied; zero defaults (weight decay, dampening, ...) are left out."""
    presets = presets or {}
    parts = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in ("self", "params") or p.default is inspect.Parameter.empty:
            continue
        d = presets.get(p.name, p.default)
        if isinstance(d, bool) or d is None or (isinstance(d, (int, float)) and d == 0):
            continue
        if isinstance(d, (int, float, tuple)):
            parts.append(f"{p.name}={format_value(d)}")
    return ", ".join(parts)


def optimizer_list_table() -> Table:
    """Every registered optimizer name: its class, preset options, defaults and description."""
    rows = [[name, cls_name, format_options(presets), optimizer_defaults(registry.get(name), presets),
             description.split(";")[0]] for name, cls_name, presets, description in registry.describe()]
    cols = ["name", "class", "preset", "defaults", "description"]
    return Table(cols, rows, title="optimlab optimizers (spec NAME[:KEY=VALUE,...])", text_columns=tuple(cols))


def _model_text(model: Any) -> str:
    """``MLP 64→64→10``: a model's class and the widths of its linear layers."""
    linear = [m for m in model.modules() if hasattr(m, "in_features") and hasattr(m, "out_features")]
    widths = [linear[0].in_features, *(m.out_features for m in linear)] if linear else []
    return type(model).__name__ + (" " + "→".join(map(str, widths)) if widths else "")


def problem_list_table() -> Table:
    """Every named training problem: a one-line description, task, loss and the sizes of its split."""
    rows = []
    for name in problems.names():
        p = problems.get(name)
        classes = p.info.get("classes")
        what = f"{p.info.get('n_features', '?')} features" + (f", {len(classes)} classes" if classes else "")
        text = f"{p.info.get('source', name)} ({what}), {_model_text(p.model)}"
        rows.append([name, text, p.task, p.loss, f"{len(p.train)}/{len(p.val)}/{len(p.test)}"])
    return Table(["problem", "description", "task", "loss", "train/val/test"], rows,
                 text_columns=("problem", "description", "task", "loss"))


def suite_list_table() -> Table:
    """The bench's built-in suites with a one-line description each."""
    return Table(["suite", "description"], [[k, v] for k, v in SUITES.items()], text_columns=("suite", "description"))


def schedule_list_table() -> Table:
    """The learning-rate schedules ``--schedule`` names (:data:`optimlab.schedules.SCHEDULES`):
    aliases, class, what it does, and the reason a spec cannot build it where it cannot."""
    rows = []
    for name, (cls, aliases, text) in schedules.SCHEDULES.items():
        refused = schedules.REFUSED.get(name)
        rows.append([name, ", ".join(aliases), f"{cls.__module__}.{cls.__qualname__}",
                     text if refused is None else f"{text}; Python only: {refused}"])
    return Table(["schedule", "aliases", "class", "description"], rows,
                 text_columns=("schedule", "aliases", "class", "description"))
