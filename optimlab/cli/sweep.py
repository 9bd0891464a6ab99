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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ._common import CLIError, check_out, console, err_console, fail, one_line, parse_number, parse_numbers
from .bench import HEARTBEAT_HELP, SAMPLED, STORAGE_HELP, add_bench, bench_on_optuna, parse_lr_range, print_bench_page

GRID_HELP = ("Swept argument, repeatable: NAME=log:LO:HI:N (log-spaced), NAME=lin:LO:HI:N (evenly spaced) "
             "or NAME=V1,V2,... (values; true/false allowed).")


# ------------------------------------------------------------------------- parsing
def parse_grid(items: list[str]) -> dict[str, list]:
    """``["lr=log:1e-4:1:50", "momentum=0,0.5,0.9"]`` → ``{"lr": [...50 values], "momentum": [0.0, 0.5, 0.9]}``."""
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
            try:
                grid[name] = (logspace if kind == "log" else linspace)(lo, hi, n)
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


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def _optional_start(text: str | None) -> list[float] | None:
    return None if text is None else parse_numbers(text, "--start")


# ------------------------------------------------------------------------- sweep
def sweep_command(
    problem: str = typer.Argument(..., help="Test function name or formula, or problem:NAME for a training problem."),
    optimizer: str = typer.Option("adam", "--optimizer", "-O",
                                  help="Optimizer spec NAME[:KEY=VALUE,...] (fixed options)."),
    grid: List[str] = typer.Option([], "--grid", "-g", help=GRID_HELP),
    steps: int = typer.Option(200, "--steps", "-n", help="Updates per run."),
    seeds: Optional[int] = typer.Option(None, "--seeds",
                                        help="Seeds 0..K-1 per configuration (start perturbation or noise stream)."),
    start: Optional[str] = typer.Option(None, "--start",
                                        help="Start point x,y (default: the function's suggested start)."),
    noise: float = typer.Option(0.0, "--noise", help="Gradient noise σ (test functions)."),
    target: Optional[float] = typer.Option(None, "--target", help="Report steps until f − f* ≤ TARGET."),
    out: Path = typer.Option(Path("sweep-out"), "--out", "-o",
                             help="Folder for sweep.json, table.csv, pictures and index.html."),
    top: int = typer.Option(10, "--top", help="Rows of the summary table."),
    max_runs: int = typer.Option(100_000, "--max-runs", help="Refuse a sweep of more runs (configurations × "
                                 "seeds): it is one batch in memory."),
) -> None:
    """Run every configuration of a grid as ONE batched computation; table, heatmap, sensitivity, best path."""
    try:
        g = parse_grid(grid)
        if not g:
            raise CLIError("give at least one --grid NAME=..., e.g. --grid lr=log:1e-4:1:50")
        if top < 1:
            raise CLIError(f"--top must be >= 1 (rows of the summary table), got {top}")
        if target is not None and not math.isfinite(target):
            raise CLIError(f"--target must be a finite level of f − f*, got {target}")
        check_out(out)
        x0 = _optional_start(start)
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
        with _progress() as bar:
            task = bar.add_task(f"sweep: {n_runs} runs", total=steps)

            def tick(k: int, total: int) -> None:
                bar.update(task, completed=k, total=total)

            res = sweep(prob, optimizer, grid=g, seeds=seeds, steps=steps, start=x0, progress=tick, max_runs=max_runs)
    except CLIError as e:
        fail(str(e))
        return
    except (ValueError, TypeError, KeyError, FloatingPointError) as e:
        fail(one_line(e))
        return
    _sweep_outputs(res, out, target, top)


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
    optimizers: Optional[str] = typer.Option(None, "--optimizers", "-O", help="Comma-separated optimizer specs, "
                                             "e.g. sgd,momentum,adam:amsgrad=true."),
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
) -> None:
    """Tune each optimizer on each problem of a suite, rerun the best on seeds, report; resumable."""
    if ctx.invoked_subcommand is not None:
        return  # optimlab bench worker / report / import
    if storage is not None or search in SAMPLED:
        return bench_on_optuna(storage, suite, optimizers, budget, seeds, search, search_seed, lr_range, steps, out,
                               report_only, max_trials, workers, batch, heartbeat)
    from .. import bench  # lazy: keeps --help free of torch

    try:
        check_out(out)
    except CLIError as e:
        fail(str(e))
    if not report_only:
        try:
            if suite is None or optimizers is None:
                raise CLIError("give --suite and --optimizers (or --report-only --store FILE)")
            lr = parse_lr_range(lr_range)
            bench.protocol.describe(suite, optimizers, budget, seeds, search, search_seed, lr, steps,
                                    max_trials)  # validate early
        except CLIError as e:
            fail(str(e))
            return
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
            with _progress() as bar:
                task = bar.add_task("bench", total=None)

                def tick(done: int, total: int, what: str) -> None:
                    bar.update(task, completed=done, total=total, description=what[:60])

                run = bench.run_bench(suite, optimizers, budget=budget, seeds=seeds, store=store, search=search,
                                      search_seed=search_seed, lr_range=lr, steps=steps, progress=tick,
                                      max_trials=max_trials)
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
