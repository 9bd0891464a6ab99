"""The function lab on the command line: ``optimlab demo``, ``optimlab run``, ``optimlab list``.

Thin: arguments are parsed here, the work is done by :mod:`optimlab.demo`,
:mod:`optimlab.runner` and :mod:`optimlab.viz`, and results are printed with rich.
Bad arguments end with one line on stderr (``error: ...``) and exit status 2.
"""

from __future__ import annotations

import inspect
import re
import time
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..report import format_number
from ._common import CLIError, console, err_console, fail, one_line, parse_numbers


SPEC_HELP = "Optimizer spec NAME[:KEY=VALUE,...]; repeat for several (syntax above)."
STOP_HELP = (
    "Extra stopping rule KIND=VALUE, repeatable (the first that fires wins; --steps is always a limit): "
    "f_tol=EPS (f − f* ≤ EPS), rel_f_tol=EPS (f ≤ EPS·f(start)), grad_tol=EPS (‖∇f‖ ≤ EPS·‖∇f(start)‖), "
    "time_limit=SECONDS, max_steps=N."
)


# ----------------------------------------------------------------- argument parsing
def parse_stop(items: list[str]) -> list[Any]:
    """``["grad_tol=1e-6", "time_limit=2"]`` → rules of :mod:`optimlab.stopping`."""
    from .. import stopping

    kinds = {"f_tol": stopping.FTol, "rel_f_tol": stopping.RelFTol, "grad_tol": stopping.GradTol,
             "time_limit": stopping.TimeLimit, "max_steps": stopping.MaxSteps}
    rules = []
    for item in items:
        kind, eq, value = item.partition("=")
        kind = kind.strip().lower().replace("-", "_")
        if not eq or kind not in kinds:
            raise CLIError(f"--stop {item!r}: write KIND=VALUE with KIND one of {', '.join(kinds)}")
        try:
            number = int(value) if kind == "max_steps" else float(value)
            rules.append(kinds[kind](number))
        except (TypeError, ValueError) as e:
            raise CLIError(f"--stop {item!r}: {one_line(e)}") from None
    return rules


def _function(name_or_formula: str) -> Any:
    from ..runner import resolve_function

    try:
        return resolve_function(name_or_formula)
    except (ValueError, TypeError, KeyError, SyntaxError) as e:
        base = name_or_formula.split(":")[0].strip()
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_\- ]*", base) and not re.fullmatch(r"x\d*|y|z", base):
            from ..functions import get  # a bare word: the registry's error names close matches

            try:
                get(base)
            except (ValueError, KeyError) as name_error:
                raise CLIError(one_line(name_error)) from None
        raise CLIError(one_line(e)) from None


def _labels(specs: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for s in specs:
        seen[s] = seen.get(s, 0) + 1
        out.append(s if seen[s] == 1 else f"{s} #{seen[s]}")
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=]+", "_", text).strip("_").lower() or "run"


# ----------------------------------------------------------------- commands
def demo(out: Path = typer.Option(Path("optimlab-out"), "--out", "-o", help="Folder for the pictures, traces "
                                  "and index.html (created)."),
         quick: bool = typer.Option(False, "--quick", help="Smaller animations and coarser grids.")) -> None:
    """Run the lectures' experiments and write pictures, animations and an HTML page.

    The course notebook's two experiments with its exact settings (f = 5x² + y² from
    (5, 5) and (x−3)² + 8(y−5)⁴ + √x + sin(xy) from (5, −2), 100 iterations of SGD,
    Momentum 0.9/0.7, Adagrad, RMSProp, Adam), then Beale's function, a long valley
    and a saddle point with SGD, Momentum, NAG, Adagrad, RMSProp, Adadelta and Adam.
    Open OUT/index.html to see them.
    """
    from ..demo import RESULT_COLUMNS, run_demo

    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("optimlab demo", total=None)

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        try:
            result = run_demo(out, quick=quick, progress=progress)
        except OSError as e:
            fail(f"cannot write to {str(out)!r}: {one_line(e)}")
    wide = console.width >= 110  # the settings column only where it fits
    for key in dict.fromkeys(row[0] for row in result["rows"]):
        table = Table(title=key, header_style="bold", title_justify="left")
        columns = [c for c in RESULT_COLUMNS[1:] if wide or c != "settings"]
        for c in columns:
            numeric = c not in ("optimizer", "settings", "stop reason")
            table.add_column(c, justify="right" if numeric else "left", no_wrap=c != "settings")
        for row in result["rows"]:
            if row[0] == key:
                cells = dict(zip(RESULT_COLUMNS, row))
                table.add_row(*(format_number(cells[c]) for c in columns))
        console.print(table)
    console.print(f"Wrote {len(result['files'])} files and [bold]{result['index']}[/] "
                  f"in {time.perf_counter() - t0:.1f} s.", highlight=False)


def run_cmd(
    function: str = typer.Argument(..., metavar="FUNCTION_OR_FORMULA",
                                   help="A registered function (`optimlab list functions`) or a formula in x, y "
                                        "(x1..xn), e.g. \"(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)\"."),
    optimizer: List[str] = typer.Option(..., "--optimizer", "-O", help=SPEC_HELP),
    start: str = typer.Option(..., "--start", "-s", help="Start point X,Y (d numbers, comma-separated; write "
                                                          "--start=-1,2 when it begins with a minus)."),
    steps: int = typer.Option(100, "--steps", "-n", min=0, help="Number of updates (a limit)."),
    stop: List[str] = typer.Option([], "--stop", help=STOP_HELP),
    animate: bool = typer.Option(False, "--animate", help="Also write an animation (GIF)."),
    out: Path = typer.Option(Path("optimlab-out/run"), "--out", "-o", help="Folder for pictures and traces."),
    domain: Optional[str] = typer.Option(None, "--domain", help="Plot window X0,X1,Y0,Y1 (default: the "
                                                                "function's domain or the paths' box)."),
) -> None:
    """Run optimizers from one start on a function; print a table, draw the paths, save the traces.

    Optimizer spec: NAME[:KEY=VALUE,...]. NAME is any name of `optimlab list optimizers` (case-insensitive; the lectures' gd, momentum, nesterov, amsgrad too); KEY is a constructor argument; VALUE is a number, true/false/none, a tuple in parentheses or a word. Quote specs that contain parentheses.

    \b
    Examples:
      optimlab run beale -O adam:lr=0.1 -O momentum:lr=0.001 --start 1,1.5 --steps 300 --animate
      optimlab run lecture-quadratic -O sgd:lr=0.01 -O "adam:lr=0.1,betas=(0.9,0.99)" --start 5,5
      optimlab run "x**2 + 10*y**2" -O momentum:lr=0.01,momentum=0.7,momentum_form=velocity --start=-2,1
      optimlab run rosenbrock -O adam:lr=0.01 --start=-1.5,2 --steps 5000 --stop grad_tol=1e-6

    Writes OUT/paths.png (level lines and paths), OUT/convergence.png, OUT/paths.gif with --animate, and one trace file per optimizer (OUT/<spec>.npz, read it with optimlab.record.Trace.load).
    """
    from .. import runner

    try:
        fn = _function(function)
        x0 = parse_numbers(start)
        dim = getattr(fn, "dim", None)
        if isinstance(dim, int) and dim != len(x0):
            raise CLIError(f"--start has {len(x0)} coordinate{'s' if len(x0) != 1 else ''} but "
                           f"{getattr(fn, 'name', function)!s} takes {dim}")
        rules = parse_stop(stop)
        window = None
        if domain is not None:
            w = parse_numbers(domain, "--domain")
            if len(w) != 4 or not (w[0] < w[1] and w[2] < w[3]):
                raise CLIError(f"--domain must be X0,X1,Y0,Y1 with X0 < X1 and Y0 < Y1; got {domain!r}")
            window = ((w[0], w[1]), (w[2], w[3]))
        resolved = []
        for spec in optimizer:
            try:
                runner.resolve_optimizer(spec)
            except (ValueError, TypeError) as e:
                raise CLIError(f"--optimizer {spec!r}: {one_line(e)}") from None
            resolved.append(spec)
    except CLIError as e:
        fail(str(e))
        return
    traces = {}
    for label, spec in zip(_labels(resolved), resolved):
        try:
            traces[label] = runner.run(fn, spec, x0, steps, stop=rules or None, label=label)
        except (ValueError, TypeError, RuntimeError) as e:
            fail(f"--optimizer {spec!r}: {one_line(e)}")
    out.mkdir(parents=True, exist_ok=True)
    written = [t.save(out / f"{_slug(label)}.npz") for label, t in traces.items()]

    from ..viz import animate_paths, plot_contour, plot_convergence, save_figure
    from ..viz._common import known_f_min

    f_star = known_f_min(fn, list(traces.values()))
    written.append(save_figure(plot_convergence(traces, function=fn), out / "convergence.png"))
    if len(x0) == 2:
        try:
            written.append(save_figure(plot_contour(fn, traces, domain=window), out / "paths.png", dpi=110))
            if animate:
                written.append(animate_paths(fn, traces, out / "paths.gif", frames=100, domain=window))
        except ValueError as e:
            fail(one_line(e))
    elif animate:
        err_console.print("note: --animate draws 2-D functions only; no animation written")

    table = Table(title=f"{getattr(fn, 'name', function)} from ({', '.join(f'{v:g}' for v in x0)})",
                  header_style="bold")
    for c in ("optimizer", "final f", "f − f*", "‖∇f‖", "steps", "stop reason", "final point"):
        text = c in ("optimizer", "stop reason", "final point")
        table.add_column(c, justify="left" if text else "right", no_wrap=not text, overflow="fold")
    for label, t in traces.items():
        final = float(t.values[-1])
        point = ", ".join(f"{v:.4g}" for v in t.params[-1])
        table.add_row(label, format_number(final), format_number(final - f_star if f_star is not None else float("nan")),
                      format_number(float(t.grad_norms[-1])), str(t.steps), t.stop_reason, f"({point})")
    console.print(table)
    console.print(f"Wrote {len(written)} files to {out}", highlight=False)


def list_cmd(what: str = typer.Argument(..., metavar="functions|optimizers",
                                        help="What to list: functions or optimizers.")) -> None:
    """List the registered test functions or optimizers with their formulas and defaults."""
    key = what.strip().lower()
    if key in ("functions", "function", "f"):
        _list_functions()
    elif key in ("optimizers", "optimizer", "o"):
        _list_optimizers()
    else:
        fail(f"cannot list {what!r}: choose functions or optimizers")


def _list_functions() -> None:
    from .. import functions

    table = Table(title="optimlab test functions (optimlab.functions.get(name))", header_style="bold",
                  show_lines=False)
    for c in ("name", "formula / description", "dim", "f*", "minimizer", "start"):
        table.add_column(c, overflow="fold")
    for name in functions.names():
        fn = functions.get(name)
        text = getattr(fn, "description", "") or getattr(fn, "latex", "") or ""
        m = getattr(fn, "minimizers", None)
        mins = ""
        try:
            import numpy as np

            arr = np.asarray(m, dtype=float).reshape(-1, int(fn.dim)) if m is not None else np.zeros((0, 1))
            mins = "; ".join("(" + ", ".join(f"{v:.4g}" for v in row) + ")" for row in arr[:2])
            if len(arr) > 2:
                mins += f" (+{len(arr) - 2})"
            starts = getattr(fn, "starts", None)
            start = ("(" + ", ".join(f"{v:g}" for v in np.asarray(starts, dtype=float)[0]) + ")"
                     if starts is not None and len(starts) else "")
        except (TypeError, ValueError):
            start = ""
        f_min = getattr(fn, "f_min", None)
        table.add_row(name, str(text), str(getattr(fn, "dim", "")), format_number(float(f_min)) if f_min is not None
                      else "", mins, start)
    console.print(table)
    console.print("A formula works wherever a name does, e.g. optimlab run \"x**2 + 10*y**2\" -O sgd:lr=0.05 "
                  "--start 2,1", highlight=False)


def optimizer_defaults(cls: type, presets: dict | None = None) -> str:
    """``lr=0.001, betas=(0.9, 0.999), eps=1e-08``: the constructor's numeric defaults with the
    name's presets applied; zero defaults (weight decay, dampening, ...) are left out."""
    from ..viz._common import _fmt_value

    presets = presets or {}
    parts = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in ("self", "params") or p.default is inspect.Parameter.empty:
            continue
        d = presets.get(p.name, p.default)
        if isinstance(d, bool) or d is None or (isinstance(d, (int, float)) and d == 0):
            continue
        if isinstance(d, (int, float, tuple)):
            parts.append(f"{p.name}={_fmt_value(d)}")
    return ", ".join(parts)


def _list_optimizers() -> None:
    from ..optim import registry

    table = Table(title="optimlab optimizers (spec NAME[:KEY=VALUE,...])", header_style="bold")
    for c in ("name", "class", "preset", "defaults", "description"):
        table.add_column(c, overflow="fold")
    from ..viz._common import format_options

    for name, cls_name, presets, description in registry.describe():
        cls = registry.get(name)
        table.add_row(name, cls_name, format_options(presets), optimizer_defaults(cls, presets),
                      description.split(";")[0])
    console.print(table)
    console.print("Spec example: adam:lr=0.1,betas=(0.9,0.99)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``demo``, ``run`` and ``list`` to the optimlab command line."""
    app.command("demo")(_guard(demo))
    app.command("run")(_guard(run_cmd))
    app.command("list")(_guard(list_cmd))


def _guard(command: Any) -> Any:
    """Turn a library ValueError/TypeError that escaped the checks into one line, not a traceback."""
    import functools

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ValueError, TypeError, KeyError, FloatingPointError) as e:
            fail(one_line(e))

    return wrapper
