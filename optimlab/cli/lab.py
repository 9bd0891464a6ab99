"""The function lab on the command line: ``optimlab demo``, ``optimlab run``, ``optimlab list``.

Thin: arguments are parsed here, the work is done by :mod:`optimlab.demo`,
:mod:`optimlab.runner` and :mod:`optimlab.report` (which writes the pages and builds
the tables printed here).
Bad arguments end with one line on stderr (``error: ...``) and exit status 2.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.markup import escape

from .._spec import did_you_mean
from ._common import (
    COMPILE_HELP,
    SCHEDULE_HELP,
    CLIError,
    check_out,
    compile_choice,
    console,
    default_out,
    err_console,
    fail,
    one_line,
    parse_numbers,
    run_labels,
    schedule_option,
    shorten,
    spec_list,
)
from ._index import quick_function_error
from ._progress import QUIET_HELP, Bar

SPEC_HELP = ("Optimizer spec NAME[:KEY=VALUE,...]; repeat for several, or give a comma list "
             "(-O sgd,adam:lr=0.1: a comma starts a new spec unless a KEY=VALUE follows it).")
RUN_ROOT = Path("optimlab-out/run")
STOP_HELP = (
    "Extra stopping rule KIND=VALUE, repeatable (the first that fires wins; --steps is always a limit): "
    "f_tol=EPS (f − f* ≤ EPS), rel_f_tol=EPS (f ≤ EPS·f(start)), grad_tol=EPS (‖∇f‖ ≤ EPS·‖∇f(start)‖), "
    "time_limit=SECONDS, max_steps=N."
)


# ----------------------------------------------------------------- argument parsing
def parse_stop(items: list[str]) -> list[Any]:
    """``["grad_tol=1e-6", "time_limit=2"]`` → rules of :mod:`optimlab.stopping`."""
    if not items:
        return []
    from .. import stopping  # lazy: keeps --help free of torch

    kinds = {"f_tol": stopping.FTol, "rel_f_tol": stopping.RelFTol, "grad_tol": stopping.GradTol,
             "time_limit": stopping.TimeLimit, "max_steps": stopping.MaxSteps}
    rules = []
    for item in items:
        kind, eq, value = item.partition("=")
        kind = kind.strip().lower().replace("-", "_")
        if not eq or kind not in kinds:
            raise CLIError(f"--stop {item!r}: write KIND=VALUE with KIND one of {', '.join(kinds)}")
        try:
            if not value.isascii():
                raise ValueError(f"{value!r} is not a number")
            number = int(value) if kind == "max_steps" else float(value)
            rules.append(kinds[kind](number))
        except (TypeError, ValueError) as e:
            raise CLIError(f"--stop {item!r}: {one_line(e)}") from None
    return rules


def _window(domain: str | None) -> tuple | None:
    """``--domain X0,X1,Y0,Y1`` → ``((X0, X1), (Y0, Y1))``."""
    if domain is None:
        return None
    w = parse_numbers(domain, "--domain")
    if len(w) != 4 or not (w[0] < w[1] and w[2] < w[3]):
        raise CLIError(f"--domain must be X0,X1,Y0,Y1 with X0 < X1 and Y0 < Y1; got {domain!r}")
    return (w[0], w[1]), (w[2], w[3])


def _start_point(fn: Any, function: str, x0: list[float] | None) -> list[float]:
    """``--start`` checked against the function's dimension; the suggested start when not given."""
    from ..runner import suggested_start  # lazy: keeps --help and argument errors fast

    if x0 is None:
        try:
            x0 = suggested_start(fn)
        except ValueError:
            raise CLIError(f"--start is needed: {shorten(function)} suggests no start point (a formula has "
                           f"none); give --start X,Y") from None
    dim = getattr(fn, "dim", None)
    if isinstance(dim, int) and dim != len(x0):
        raise CLIError(f"--start has {len(x0)} coordinate{'s' if len(x0) != 1 else ''} but "
                       f"{getattr(fn, 'name', function)!s} takes {dim}")
    return x0


def _checked_specs(specs: list[str]) -> list[str]:
    """Every ``-O`` spec resolved once (name and options checked), or a ``CLIError`` naming it."""
    from ..runner import resolve_optimizer  # lazy: keeps --help and argument errors fast

    for spec in specs:
        try:
            resolve_optimizer(spec)
        except (ValueError, TypeError) as e:
            raise CLIError(f"--optimizer {shorten(spec)!r}: {one_line(e)}") from None
    return specs


def _function(name_or_formula: str) -> Any:
    problem = quick_function_error(name_or_formula)  # a mistyped name answers before torch loads
    if problem:
        raise CLIError(problem)
    from ..runner import resolve_function  # lazy: keeps --help free of torch

    try:
        return resolve_function(name_or_formula)
    except (ValueError, TypeError, KeyError, SyntaxError) as e:
        base = name_or_formula.split(":")[0].strip()
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_\- ]*", base) and not re.fullmatch(r"x\d*|y|z", base):
            from ..functions import get  # lazy: keeps --help free of torch

            try:
                get(base)
            except (ValueError, KeyError) as name_error:
                raise CLIError(one_line(name_error)) from None
        raise CLIError(one_line(e)) from None


# ----------------------------------------------------------------- commands
def demo(out: Path = typer.Option(Path("optimlab-out"), "--out", "-o", help="Folder for the pictures, traces "
                                  "and index.html (created)."),
         quick: bool = typer.Option(False, "--quick", help="Smaller animations and coarser grids."),
         quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP)) -> None:
    """Run the lectures' experiments and write pictures, animations and an HTML page.

    The course notebook's two experiments with its exact settings (f = 5x² + y² from
    (5, 5) and (x−3)² + 8(y−5)⁴ + √x + sin(xy) from (5, −2), 100 iterations of SGD,
    Momentum 0.9/0.7, Adagrad, RMSProp, Adam), then Beale's function, a long valley
    and a saddle point with SGD, Momentum, NAG, Adagrad, RMSProp, Adadelta and Adam,
    the orders of methods (GD to Newton), and the methods after Adam training an MLP.
    Open OUT/index.html to see them.
    """
    from .. import report  # lazy: keeps --help free of torch
    from ..demo import RESULT_COLUMNS, run_demo  # lazy: keeps --help free of torch

    try:
        check_out(out)
    except CLIError as e:
        fail(str(e))
    t0 = time.perf_counter()
    with Bar(quiet, None, "optimlab demo", "pictures") as bar:
        try:
            result = run_demo(out, quick=quick, progress=bar.hook(
                lambda done, total, what: bar.update(done, total, what, force=True)))
        except OSError as e:
            fail(f"cannot write to {str(out)!r}: {one_line(e)}")
    wide = console.width >= 110  # the settings column only where it fits
    for columns, rows in ((RESULT_COLUMNS, result["rows"]), (result["training_columns"], result["training_rows"])):
        table = report.Table(columns, rows, text_columns=("scene", "optimizer", "settings", "stop reason"))
        for key in dict.fromkeys(row[0] for row in rows):
            part = report.Table(table.columns, [r for r in table.rows if r[0] == key], title=key,
                                text_columns=table.text_columns)
            console.print(report.to_rich(part.select([c for c in columns[1:] if wide or c != "settings"])))
    console.print(f"Wrote {len(result['files'])} files and [bold]{escape(str(result['index']))}[/] "
                  f"in {time.perf_counter() - t0:.1f} s.", highlight=False)


def run_cmd(
    function: str = typer.Argument(..., metavar="FUNCTION_OR_FORMULA",
                                   help="A registered function (`optimlab list functions`) or a formula in x, y "
                                        "(x1..xn), e.g. \"(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)\"."),
    optimizer: List[str] = typer.Option(..., "--optimizer", "-O", help=SPEC_HELP),
    start: Optional[str] = typer.Option(None, "--start", "-s", help="Start point X,Y (d numbers, comma-separated; "
                                        "write --start=-1,2 when it begins with a minus). Default: the "
                                        "function's suggested start (`optimlab list functions`)."),
    steps: int = typer.Option(100, "--steps", "-n", min=0, help="Number of updates (a limit)."),
    stop: List[str] = typer.Option([], "--stop", help=STOP_HELP),
    schedule: Optional[str] = typer.Option(None, "--schedule", help=SCHEDULE_HELP + " Stepped after every update."),
    animate: bool = typer.Option(False, "--animate", help="Also write an animation (GIF)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for pictures and traces (default: a new "
                                       f"folder {RUN_ROOT}/FUNCTION-YYYYmmdd-HHMMSS for each run)."),
    domain: Optional[str] = typer.Option(None, "--domain", help="Plot window X0,X1,Y0,Y1 (default: the "
                                                                "function's domain or the paths' box)."),
    compile: str = typer.Option("auto", "--compile", help=COMPILE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Run optimizers from one start on a function; print a table, draw the paths, save the traces.

    Optimizer spec: NAME[:KEY=VALUE,...]. NAME is any name of `optimlab list optimizers`
    (case-insensitive; the lectures' gd, momentum, nesterov, amsgrad too); KEY is a
    constructor argument; VALUE is a number, true/false/none, a tuple in parentheses or a
    word. Quote specs that contain parentheses.

    \b
    Examples:
      optimlab run beale -O adam:lr=0.1 -O momentum:lr=0.001 --start 1,1.5 --steps 300 --animate
      optimlab run lecture-quadratic -O sgd:lr=0.01 -O "adam:lr=0.1,betas=(0.9,0.99)" --start 5,5
      optimlab run "x**2 + 10*y**2" -O momentum:lr=0.01,momentum=0.7,momentum_form=velocity --start=-2,1
      optimlab run rosenbrock -O adam:lr=0.01 -O sgd:lr=0.001 --steps 200
      optimlab run rosenbrock -O sgd:lr=0.002 --steps 300 --schedule step:step_size=100,gamma=0.5

    Without --start the function's suggested start is used. Without --out each run
    gets a new folder optimlab-out/run/FUNCTION-YYYYmmdd-HHMMSS (-2, -3, ... when
    that exists), printed at the end. Writes OUT/paths.png (level lines and paths),
    OUT/convergence.png, OUT/paths.gif with --animate, one trace file per optimizer
    (OUT/<spec>.npz, read it with optimlab.record.Trace.load) and OUT/index.html
    (optimlab.report.run_page).
    """
    try:  # what needs no library first: these errors answer before torch loads
        x0 = None if start is None else parse_numbers(start)
        window = _window(domain)
        if out is not None:
            check_out(out)
        specs = spec_list(optimizer)
        rules = parse_stop(stop)
        compiled = compile_choice(compile)
        fn = _function(function)
        x0 = _start_point(fn, function, x0)
        resolved = _checked_specs(specs)
        sched = schedule_option(schedule, functions=True)
        if out is None:
            out = default_out(RUN_ROOT, getattr(fn, "name", None) or function)
    except CLIError as e:
        fail(str(e))
        return
    from .. import report  # lazy: keeps --help and argument errors fast

    traces = _run_all(fn, resolved, x0, steps, rules, quiet, compiled, sched)
    try:
        page = report.run_page(fn, traces, out, domain=window, animate=animate)
    except ValueError as e:
        fail(one_line(e))
        return
    for note in page.notes:
        err_console.print(f"note: {escape(note)}")
    console.print(report.to_rich(page.table.select([c for c in page.table.columns if c != "settings"])))
    console.print(f"Wrote {len(page.files)} files to {escape(str(out))} (open {escape(str(page.index))})",
                  highlight=False, soft_wrap=True)


def _run_all(fn: Any, specs: list[str], x0: list[float], steps: int, rules: list, quiet: bool,
             compiled: Any = "auto", schedule: Any = None) -> dict:
    """``{label: Trace}`` of every spec, with a progress bar over all their steps."""
    from .. import runner  # lazy: keeps --help free of torch

    traces = {}
    with Bar(quiet, len(specs) * steps, "run", "steps") as bar:
        for i, (label, spec) in enumerate(zip(run_labels(specs), specs)):
            bar.update(i * steps, description=shorten(label, 40), force=True)
            try:
                tick = bar.hook(lambda k, i=i: bar.update(i * steps + k))
                traces[label] = runner.run(fn, spec, x0, steps, stop=rules or None, schedule=schedule, label=label,
                                           compile=compiled, progress=tick)
            except (ValueError, TypeError, RuntimeError) as e:
                fail(f"--optimizer {shorten(spec)!r}: {one_line(e)}")
        bar.update(len(specs) * steps, force=True)
    return traces



LISTS = {"functions": "the registered test functions: formula, dimension, f*, minimizers, suggested start",
         "optimizers": "the optimizer names: class, presets, defaults, description",
         "problems": "the named training problems (optimlab train PROBLEM): description, task, loss, split sizes",
         "suites": "the bench's built-in suites (optimlab bench --suite NAME)",
         "schedules": "the learning-rate schedules (--schedule NAME:KEY=VALUE,...): aliases, class, description"}


def list_cmd(what: str = typer.Argument(..., metavar="|".join(LISTS),
                                        help="What to list: " + "; ".join(f"{k}: {v}" for k, v in LISTS.items()))
             ) -> None:
    """List the registered test functions, optimizers, training problems, bench suites or lr schedules."""
    key = what.strip().lower()
    matches = [k for k in LISTS if k == key or k.rstrip("s") == key or (len(key) == 1 and k.startswith(key))]
    if not matches:
        fail(f"cannot list {what!r}: choose {', '.join(LISTS)}{did_you_mean(what, LISTS)}")
    from .. import report  # lazy: keeps --help free of torch

    table = {"functions": report.function_list_table, "optimizers": report.optimizer_list_table,
             "problems": report.problem_list_table, "suites": report.suite_list_table,
             "schedules": report.schedule_list_table}[matches[0]]()
    console.print(report.to_rich(table))
    console.print({"functions": "A formula works wherever a name does, e.g. optimlab run \"x**2 + 10*y**2\" "
                                "-O sgd:lr=0.05 --start 2,1",
                   "optimizers": "Spec example: adam:lr=0.1,betas=(0.9,0.99)",
                   "problems": "Any DATASET-MODEL pair works too; a CSV file with --target COLUMN as well.",
                   "suites": "A suite may also be a comma list of problems: rosenbrock,beale:noise=0.1,"
                             "problem:iris-softmax",
                   "schedules": "Spec example: --schedule step:step_size=100,gamma=0.5 (KEY: the scheduler's "
                                "arguments)"}[matches[0]], highlight=False)


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
