"""``optimlab sweep`` and ``optimlab bench`` on the command line.

Thin: arguments are parsed here; :func:`optimlab.sweep` and :mod:`optimlab.bench` do
the work, :func:`optimlab.report.sweep_page` and :func:`optimlab.report.bench_page`
write the pages and build the tables printed here. Bad arguments end with one line on stderr
(``error: ...``) and exit status 2.

Grid syntax (``--grid``, repeatable, one swept argument each)::

    NAME=log:LO:HI:N     N values log-spaced from LO to HI (both included)
    NAME=lin:LO:HI:N     N values evenly spaced from LO to HI
    NAME=V1,V2,...       the listed values (numbers, true/false)
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.markup import escape

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
    parse_number,
    parse_numbers,
    schedule_option,
    spec_list,
)
from ._index import quick_function_error
from ._progress import QUIET_HELP, Bar
from .bench import HEARTBEAT_HELP, SAMPLED, STORAGE_HELP, add_bench, bench_on_optuna, parse_lr_range, print_bench_page

SWEEP_ROOT = Path("sweep-out")
RECORDS = ("all", "values", "final")  # optimlab.record.RECORDS, written here so --help loads no torch
GRID_HELP = ("Swept argument, repeatable: NAME=log:LO:HI:N (log-spaced), NAME=lin:LO:HI:N (evenly spaced) "
             "or NAME=V1,V2,... (values; true/false allowed).")


# ------------------------------------------------------------------------- parsing
def parse_grid(items: list[str], max_runs: int = 100_000) -> dict[str, list]:
    """``["lr=log:1e-4:1:50", "momentum=0,0.5,0.9"]`` → ``{"lr": [...50 values], "momentum": [0.0, 0.5, 0.9]}``.

    A range of more than ``max_runs`` values (``--max-runs``: each value is at least one
    run) is refused before it is built."""
    from ..sweeps import linspace, logspace  # lazy: keeps --help free of torch

    grid: dict[str, list] = {}
    for item in items:
        name, eq, spec = item.partition("=")
        name, spec = name.strip(), spec.strip()
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not spec:
            raise CLIError(f"--grid {item!r}: write NAME=log:LO:HI:N, NAME=lin:LO:HI:N or NAME=V1,V2,...")
        if name in grid:
            raise CLIError(f"--grid {item!r}: {name!r} is swept twice")
        kind = spec.split(":", 1)[0].lower()
        if kind in ("log", "lin"):
            parts = spec.split(":")
            if len(parts) != 4:
                raise CLIError(f"--grid {item!r}: {kind} needs LO:HI:N, e.g. {name}={kind}:1e-4:1:50")
            lo = parse_number(parts[1], f"--grid {item!r} LO")
            hi = parse_number(parts[2], f"--grid {item!r} HI")
            try:
                if not parts[3].isascii():
                    raise ValueError(parts[3])
                n = int(parts[3])
            except ValueError:
                raise CLIError(f"--grid {item!r}: N must be an integer, got {parts[3]!r}") from None
            if n > max_runs:
                raise CLIError(f"--grid {item!r}: {n:,} values are more than --max-runs {max_runs:,} (each value "
                               f"is at least one run); raise --max-runs to allow them")
            try:
                grid[name] = (logspace if kind == "log" else linspace)(lo, hi, n, limit=max(max_runs, 1))
            except ValueError as e:
                raise CLIError(f"--grid {item!r}: {one_line(e)}") from None
        else:
            vals: list[Any] = []
            for v in spec.split(","):
                v = v.strip()
                if v.lower() in ("true", "false"):
                    vals.append(v.lower() == "true")
                elif not v:
                    raise CLIError(f"--grid {item!r}: empty value in the list")
                else:
                    vals.append(parse_number(v, f"--grid {item!r}"))
            grid[name] = vals
    return grid


def _optional_start(text: str | None) -> list[float] | None:
    return None if text is None else parse_numbers(text, "--start")


# ------------------------------------------------------------------------- sweep
def sweep_command(
    problem: str = typer.Argument(..., help="Test function name or formula, or problem:NAME for a training problem."),
    optimizer: List[str] = typer.Option(["adam"], "--optimizer", "-O",
                                        help="Optimizer spec NAME[:KEY=VALUE,...] (its fixed options); one per sweep "
                                             "(the grid sweeps its options)."),
    grid: List[str] = typer.Option([], "--grid", "-g", help=GRID_HELP),
    steps: int = typer.Option(200, "--steps", "-n", help="Updates per run."),
    seeds: Optional[int] = typer.Option(None, "--seeds",
                                        help="Seeds 0..K-1 per configuration (start perturbation or noise stream)."),
    start: Optional[str] = typer.Option(None, "--start",
                                        help="Start point x,y (default: the function's suggested start)."),
    noise: float = typer.Option(0.0, "--noise", help="Gradient noise σ (test functions)."),
    target: Optional[float] = typer.Option(None, "--target", help="Report steps until f − f* ≤ TARGET."),
    schedule: Optional[str] = typer.Option(None, "--schedule", help=SCHEDULE_HELP + " Test functions only; "
                                           "stepped after every update of every run."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Folder for sweep.json, table.csv, pictures and index.html (default: a "
                                            f"new folder {SWEEP_ROOT}/PROBLEM-YYYYmmdd-HHMMSS for each sweep)."),
    top: int = typer.Option(10, "--top", help="Rows of the summary table."),
    max_runs: int = typer.Option(100_000, "--max-runs", help="Refuse a sweep of more runs (configurations × "
                                 "seeds), counted before any is built."),
    record: str = typer.Option("all", "--record", help="What each run keeps: all (every series; points when "
                               "small), values (the per-step values), final (start, last point, final and best "
                               "value: the least memory; no --target)."),
    chunk_size: Optional[int] = typer.Option(None, "--chunk-size", min=1, help="Runs computed together (default: "
                                             "as many as fit in 2 GiB; the results are the same for any size)."),
    compile: str = typer.Option("auto", "--compile", help=COMPILE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Run every configuration of a grid as batched computations; table, heatmap, sensitivity, best path."""
    try:  # what needs no library first: these errors answer before torch loads
        if not grid:
            raise CLIError("give at least one --grid NAME=..., e.g. --grid lr=log:1e-4:1:50")
        compiled = compile_choice(compile)
        record = record.strip().lower()
        if record not in RECORDS:
            raise CLIError(f"--record must be one of {', '.join(RECORDS)}, got {record!r}")
        if record == "final" and target is not None:
            raise CLIError("--target needs every run's curve; --record final keeps only the final values: "
                           "use --record values")
        if top < 1:
            raise CLIError(f"--top must be >= 1 (rows of the summary table), got {top}")
        if target is not None and not math.isfinite(target):
            raise CLIError(f"--target must be a finite level of f − f*, got {target}")
        if out is not None:
            check_out(out)
        x0 = _optional_start(start)
        specs = spec_list(optimizer)
        if len(specs) != 1:
            raise CLIError(f"--optimizer: a sweep takes one optimizer (its options are swept by --grid), got "
                           f"{len(specs)}: {', '.join(specs)}; run one sweep per optimizer, or compare them with "
                           f"optimlab bench")
        spec = specs[0]
        if error := quick_function_error(problem):  # a mistyped name answers before torch loads
            raise CLIError(error)
        out = out or default_out(SWEEP_ROOT, problem.removeprefix("problem:"))
        check_out(out)
        g = parse_grid(grid, max_runs)
        sched = _schedule(schedule, problem)
        prob: Any = problem
        if not problem.startswith("problem:"):
            from ..runner import resolve_function  # lazy: keeps --help free of torch

            prob = resolve_function(problem)
            if noise:
                if not hasattr(prob, "with_noise"):
                    raise CLIError("--noise needs a registered test function or a formula")
                prob = prob.with_noise(noise, 0)
        from ..sweeps import sweep  # lazy: keeps --help free of torch

        n_runs = math.prod(len(v) for v in g.values()) * (seeds or 1)
        if n_runs > max_runs:
            raise CLIError(f"the sweep has {n_runs:,} runs ({' × '.join(str(len(v)) for v in g.values())} "
                           f"configurations × {seeds or 1} seeds), more than --max-runs {max_runs:,}")
        with Bar(quiet, steps, f"sweep: {n_runs} runs", "steps") as bar:
            res = sweep(prob, spec, grid=g, seeds=seeds, steps=steps, start=x0, max_runs=max_runs, schedule=sched,
                        record=record, chunk_size=chunk_size, compile=compiled,
                        progress=bar.hook(lambda k, total: bar.update(k, total)))
    except CLIError as e:
        fail(str(e))
        return
    except (ValueError, TypeError, KeyError, FloatingPointError) as e:
        fail(one_line(e))
        return
    _sweep_outputs(res, out, target, top)


def _schedule(text: str | None, problem: str) -> Any:
    """``--schedule`` as ``(cls, kwargs)`` (or None), for test functions only (each run gets the
    learning rates the schedule gives its own lr: :class:`optimlab.runner.run_schedule.RunSchedule`)."""
    if text is not None and problem.startswith("problem:"):
        raise CLIError(f"--schedule applies to test functions only; {problem!r} is a training problem "
                       f"(optimlab train takes --schedule)")
    return schedule_option(text, functions=True)


def _sweep_outputs(res: Any, out: Path, target: float | None, top: int) -> None:
    from .. import report  # lazy: keeps --help free of torch
    try:
        page = report.sweep_page(res, out, target=target, top=top)
    except OSError as e:
        fail(f"cannot write to {str(out)!r}: {one_line(e)}")
    console.print(report.to_rich(page.table))
    for note in page.notes:
        err_console.print(f"[yellow]warning:[/] {escape(note)}")
    console.print(f"wrote {escape(str(page.index))} (and {escape(', '.join(p.name for p in page.files[:-1]))})")


# ------------------------------------------------------------------------- bench
def bench_command(
    ctx: typer.Context,
    suite: Optional[str] = typer.Option(None, "--suite",
                                        help="functions-2d, noisy-functions, training, or a comma-separated list "
                                             "of problems (NAME[:noise=σ,steps=N,target=ε], problem:NAME)."),
    optimizers: Optional[List[str]] = typer.Option(None, "--optimizer", "--optimizers", "-O",
                                                   help="Optimizer spec, repeatable, each also a comma list "
                                                        "(a comma starts a new spec unless a KEY=VALUE follows it), "
                                                        "e.g. -O sgd,momentum -O adam:amsgrad=true."),
    budget: int = typer.Option(20, "--budget", help="Configurations tried per optimizer and problem when tuning."),
    seeds: int = typer.Option(3, "--seeds", help="Reruns of the best configuration."),
    search: str = typer.Option("grid", "--search", help="grid (log grid of lr), random (lr and the optimizer's "
                               "registered ranges), or with Optuna: tpe, qmc, cmaes."),
    search_seed: int = typer.Option(0, "--search-seed", help="Seed of the random search."),
    lr_range: str = typer.Option("1e-4:1", "--lr-range", help="LO:HI of the learning rates tried."),
    steps: Optional[int] = typer.Option(None, "--steps", "-n", help="Override every problem's step count."),
    store: Path = typer.Option(Path("bench.sqlite"), "--store", help="SQLite results store (resumes from it)."),
    out: Path = typer.Option(Path("bench-out"), "--out", "-o",
                             help="Folder for index.html, trials.csv, trials.json, pictures."),
    report_only: bool = typer.Option(False, "--report-only",
                                     help="Rebuild the report from --store alone; compute nothing."),
    max_trials: int = typer.Option(100_000, "--max-trials", help="Refuse a benchmark of more trials (problems × "
                                   "optimizers × (budget + seeds))."),
    storage: Optional[str] = typer.Option(None, "--storage", help=STORAGE_HELP),
    workers: int = typer.Option(1, "--workers", help="Worker processes on this machine (with --storage)."),
    batch: int = typer.Option(16, "--batch", help="Trials a worker computes as one batch (with --storage)."),
    heartbeat: int = typer.Option(10, "--heartbeat", help=HEARTBEAT_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Tune each optimizer on each problem of a suite, rerun the best on seeds, report; resumable."""
    if ctx.invoked_subcommand is not None:
        return  # optimlab bench worker / report / import
    if storage is not None or search in SAMPLED:
        return bench_on_optuna(storage, suite, optimizers, budget, seeds, search, search_seed, lr_range, steps, out,
                               report_only, max_trials, workers, batch, heartbeat, quiet)
    try:  # what needs no library first: these errors answer before torch loads
        check_out(out)
        if not report_only:
            if suite is None or not optimizers:
                raise CLIError("give --suite and -O/--optimizer (or --report-only --store FILE)")
            specs = spec_list(optimizers)
            lr = parse_lr_range(lr_range)
    except CLIError as e:
        fail(str(e))
    from .. import bench  # lazy: keeps --help and argument errors fast

    if not report_only:
        try:
            bench.protocol.describe(suite, specs, budget, seeds, search, search_seed, lr, steps,
                                    max_trials)  # validate early
        except (ValueError, TypeError, KeyError) as e:
            fail(one_line(e))
            return
        n_before = 0
        if store.exists():
            try:
                with bench.TrialStore(store, readonly=True) as st:
                    n_before = len(st)
            except ValueError as e:
                fail(one_line(e))
                return
        try:
            with Bar(quiet, None, "bench", "trials") as bar:
                run = bench.run_bench(suite, specs, budget=budget, seeds=seeds, store=store, search=search,
                                      search_seed=search_seed, lr_range=lr, steps=steps, max_trials=max_trials,
                                      progress=bar.hook(lambda done, total, what: bar.update(done, total, what[:60])))
        except KeyboardInterrupt:
            with bench.TrialStore(store, readonly=True) as st:
                n = len(st)
            err_console.print(f"interrupted: {n} trials are stored in {escape(str(store))} ({n - n_before} new); "
                              f"run the same "
                              f"command again to resume")
            raise typer.Exit(code=130) from None
        except (ValueError, TypeError, KeyError, FloatingPointError) as e:
            fail(one_line(e))
            return
        console.print(f"{run.computed} trials computed, {run.reused} found in {escape(str(store))}, {run.total} in all "
                      f"({run.wall_time:.1f} s)")
    print_bench_page(store, out)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` and ``bench`` (with its subcommands, :mod:`optimlab.cli.bench`) to the optimlab command line."""
    app.command("sweep", help="Sweep a grid of hyperparameters (× seeds) as one batched computation.")(sweep_command)
    add_bench(app, bench_command)
