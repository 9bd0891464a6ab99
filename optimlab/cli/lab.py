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

from ._common import (
    CLIError,
    check_out,
    console,
    err_console,
    fail,
    one_line,
    parse_numbers,
    run_labels,
    shorten,
)
from ._progress import QUIET_HELP, Bar

SPEC_HELP = "Optimizer spec NAME[:KEY=VALUE,...]; repeat for several (syntax above)."
STOP_HELP = (
    "Extra stopping rule KIND=VALUE, repeatable (the first that fires wins; --steps is always a limit): "
    "f_tol=EPS (f − f* ≤ EPS), rel_f_tol=EPS (f ≤ EPS·f(start)), grad_tol=EPS (‖∇f‖ ≤ EPS·‖∇f(start)‖), "
    "time_limit=SECONDS, max_steps=N."
)


# ----------------------------------------------------------------- argument parsing
def parse_stop(items: list[str]) -> list[Any]:
    """``["grad_tol=1e-6", "time_limit=2"]`` → rules of :mod:`optimlab.stopping`."""
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


def _function(name_or_formula: str) -> Any:
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
    and a saddle point with SGD, Momentum, NAG, Adagrad, RMSProp, Adadelta and Adam.
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
    table = report.Table(RESULT_COLUMNS, result["rows"], text_columns=("scene", "optimizer", "settings", "stop reason"))
    for key in dict.fromkeys(row[0] for row in result["rows"]):
        part = report.Table(table.columns, [r for r in table.rows if r[0] == key], title=key,
                            text_columns=table.text_columns)
        console.print(report.to_rich(part.select([c for c in RESULT_COLUMNS[1:] if wide or c != "settings"])))
    console.print(f"Wrote {len(result['files'])} files and [bold]{escape(str(result['index']))}[/] "
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
      optimlab run rosenbrock -O adam:lr=0.01 --start=-1.5,2 --steps 5000 --stop grad_tol=1e-6

    Writes OUT/paths.png (level lines and paths), OUT/convergence.png, OUT/paths.gif with
    --animate, one trace file per optimizer (OUT/<spec>.npz, read it with
    optimlab.record.Trace.load) and OUT/index.html (optimlab.report.run_page).
    """
    from .. import (
        report,  # lazy: keeps --help free of torch
        runner,  # lazy: keeps --help free of torch
    )

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
        check_out(out)
        resolved = []
        for spec in optimizer:
            try:
                runner.resolve_optimizer(spec)
            except (ValueError, TypeError) as e:
                raise CLIError(f"--optimizer {shorten(spec)!r}: {one_line(e)}") from None
            resolved.append(spec)
    except CLIError as e:
        fail(str(e))
        return
    traces = _run_all(fn, resolved, x0, steps, rules, quiet)
    try:
        page = report.run_page(fn, traces, out, domain=window, animate=animate)
    except ValueError as e:
        fail(one_line(e))
        return
    for note in page.notes:
        err_console.print(f"note: {escape(note)}")
    console.print(report.to_rich(page.table.select([c for c in page.table.columns if c != "settings"])))
    console.print(f"Wrote {len(page.files)} files to {escape(str(out))} (open {page.index.name})", highlight=False)


def _run_all(fn: Any, specs: list[str], x0: list[float], steps: int, rules: list, quiet: bool) -> dict:
    """``{label: Trace}`` of every spec, with a progress bar over all their steps."""
    from .. import runner  # lazy: keeps --help free of torch

    traces = {}
    with Bar(quiet, len(specs) * steps, "run", "steps") as bar:
        for i, (label, spec) in enumerate(zip(run_labels(specs), specs)):
            bar.update(i * steps, description=shorten(label, 40), force=True)
            try:
                traces[label] = runner.run(fn, spec, x0, steps, stop=rules or None, label=label,
                                           progress=bar.hook(lambda k, i=i: bar.update(i * steps + k)))
            except (ValueError, TypeError, RuntimeError) as e:
                fail(f"--optimizer {shorten(spec)!r}: {one_line(e)}")
        bar.update(len(specs) * steps, force=True)
    return traces


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
    from .. import report  # lazy: keeps --help free of torch
    console.print(report.to_rich(report.function_list_table()))
    console.print("A formula works wherever a name does, e.g. optimlab run \"x**2 + 10*y**2\" -O sgd:lr=0.05 "
                  "--start 2,1", highlight=False)


def _list_optimizers() -> None:
    from .. import report  # lazy: keeps --help free of torch
    console.print(report.to_rich(report.optimizer_list_table()))
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
