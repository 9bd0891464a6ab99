"""``optimlab bench`` on an Optuna storage, and its subcommands ``worker``, ``report`` and
``import`` (:mod:`optimlab.bench.workers`, :mod:`optimlab.bench.optuna_store`).

``optimlab bench --storage URL ...`` lays a benchmark out in the storage and computes it
(``--workers N`` processes here); ``optimlab bench worker --storage URL`` joins it from
any machine; ``optimlab bench report --storage URL`` writes the page from the database
alone; ``optimlab bench import --store FILE --storage URL`` copies a store of the
built-in format in. Optuna is optional: without it these end with one line saying
``pip install "optimlab[optuna]"``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer
from rich.markup import escape

from ._common import CLIError, check_out, console, err_console, fail, one_line, parse_number, spec_list
from ._progress import Bar

__all__ = ["add_bench", "bench_on_optuna", "parse_lr_range", "print_bench_page", "SAMPLED", "STORAGE_HELP",
           "HEARTBEAT_HELP"]

SAMPLED = ("tpe", "qmc", "cmaes")  # searches only Optuna's samplers do (optimlab.bench.optuna_store.SAMPLED)
STORAGE_HELP = ("Optuna storage URL: sqlite:///bench.db or postgresql://user@host/db (needs optimlab[optuna]); "
                "without it the built-in --store file is used.")
HEARTBEAT_HELP = ("Seconds between a worker's heartbeats; a worker silent for twice that is taken for dead and "
                  "its trials are retried.")
_ERRORS = (ValueError, TypeError, KeyError, FloatingPointError, RuntimeError)


def parse_lr_range(text: str) -> tuple[float, float]:
    """``--lr-range LO:HI`` → ``(lo, hi)``."""
    lo_hi = text.split(":")
    if len(lo_hi) != 2:
        raise CLIError(f"--lr-range must be LO:HI, e.g. 1e-4:1; got {text!r}")
    return parse_number(lo_hi[0], "--lr-range LO"), parse_number(lo_hi[1], "--lr-range HI")


def print_bench_page(store: Any, out: Path) -> None:
    """Write the benchmark's page from ``store`` (a file or a storage URL) and print its table."""
    from .. import report  # lazy: keeps --help free of torch

    try:
        page = report.bench_page(store, out)
    except _ERRORS as e:
        fail(one_line(e))
        return
    console.print(report.to_rich(page.table.select(["problem", "optimizer", "tuned", "median final", "min", "max",
                                                    "solved", "median steps", "cost"])))
    console.print(f"wrote {escape(str(page.index))} (and trials.csv, trials.json)")


def _url(storage: str | None, search: str) -> str:
    from ..bench import optuna_store  # lazy: keeps --help free of torch

    optuna_store.require_optuna("--storage" if storage is not None else f"--search {search}")
    return optuna_store.storage_url(storage if storage is not None else "sqlite:///bench.db")


def _interrupted(url: str) -> None:
    from ..bench.optuna_store import open_storage  # lazy: keeps --help free of torch
    from ..bench.workers import count_finished  # lazy: keeps --help free of torch

    n = count_finished(open_storage(url))
    err_console.print(f"interrupted: {n} trials are finished in {escape(url)}; run the same command (or optimlab "
                      f"bench worker --storage URL) to resume")
    raise typer.Exit(code=130)


def bench_on_optuna(storage: str | None, suite: str | None, optimizers: list[str] | None, budget: int, seeds: int,
                    search: str, search_seed: int, lr_range: str, steps: int | None, out: Path, report_only: bool,
                    max_trials: int, workers: int, batch: int, heartbeat: int, quiet: bool = False) -> None:
    """``optimlab bench`` with ``--storage`` (or an Optuna-only ``--search``)."""
    try:
        check_out(out)
        url = _url(storage, search)
        if not report_only:
            if suite is None or not optimizers:
                raise CLIError("give --suite and -O/--optimizer (or --report-only --storage URL)")
            specs = spec_list(optimizers)
            lr = parse_lr_range(lr_range)
            from ..bench.workers import optuna_bench  # lazy: keeps --help free of torch

            with Bar(quiet, None, "bench", "trials") as bar:
                run = optuna_bench(suite, specs, storage=url, budget=budget, seeds=seeds, search=search,
                                   search_seed=search_seed, lr_range=lr, steps=steps, batch=batch, workers=workers,
                                   heartbeat=heartbeat, max_trials=max_trials,
                                   progress=bar.hook(lambda d, t, w: bar.update(d, t, w[:60])))
            console.print(f"{run.computed} trials computed, {run.reused} found in {escape(url)}, {run.total} in all "
                          f"({run.wall_time:.1f} s)")
    except CLIError as e:
        fail(str(e))
    except KeyboardInterrupt:
        _interrupted(url)
    except _ERRORS as e:
        fail(one_line(e))
    print_bench_page(url, out)


# ------------------------------------------------------------------------- subcommands
def worker_command(
    storage: str = typer.Option(..., "--storage", help=STORAGE_HELP),
    suite: Optional[str] = typer.Option(None, "--suite", help="Lay this suite out if the storage holds no "
                                        "benchmark yet (else the stored one is joined; a different one is refused)."),
    optimizers: Optional[List[str]] = typer.Option(None, "--optimizer", "--optimizers", "-O",
                                                   help="With --suite: optimizer specs, repeatable, each also a "
                                                        "comma list."),
    budget: int = typer.Option(20, "--budget", help="With --suite: trials per optimizer and problem when tuning."),
    seeds: int = typer.Option(3, "--seeds", help="With --suite: reruns of the best configuration."),
    search: str = typer.Option("grid", "--search", help="With --suite: grid, random, tpe, qmc or cmaes."),
    search_seed: int = typer.Option(0, "--search-seed", help="With --suite: seed of the search."),
    lr_range: str = typer.Option("1e-4:1", "--lr-range", help="With --suite: LO:HI of the learning rates."),
    steps: Optional[int] = typer.Option(None, "--steps", "-n", help="With --suite: every problem's step count."),
    max_trials: int = typer.Option(100_000, "--max-trials", help="With --suite: refuse a larger benchmark."),
    batch: int = typer.Option(16, "--batch", help="Trials computed as one batch."),
    heartbeat: int = typer.Option(10, "--heartbeat", help=HEARTBEAT_HELP),
    seed_offset: Optional[int] = typer.Option(None, "--seed-offset", help="tpe/cmaes: this worker's sampler seed "
                                              "is the search seed + this (default: the process id)."),
) -> None:
    """Compute trials of the benchmark in --storage until it is finished; start one on every machine."""
    try:
        url = _url(storage, search)
        from ..bench import optuna_store, workers  # lazy: keeps --help free of torch

        st = optuna_store.open_storage(url, heartbeat)
        if suite is not None or optimizers:
            if suite is None or not optimizers:
                raise CLIError("give both --suite and -O/--optimizer, or neither (to join the stored benchmark)")
            desc = optuna_store.describe_search(suite, spec_list(optimizers), budget, seeds, search, search_seed,
                                                parse_lr_range(lr_range), steps, max_trials)
            optuna_store.prepare(st, desc)
        run = workers.run_worker(st, batch=batch, heartbeat=heartbeat,
                                 seed_offset=os.getpid() if seed_offset is None else seed_offset)
    except CLIError as e:
        fail(str(e))
    except KeyboardInterrupt:
        _interrupted(url)
    except _ERRORS as e:
        fail(one_line(e))
    console.print(f"this worker computed {run.computed} trials in {run.batches} batches ({run.wall_time:.1f} s)"
                  + (f"; {run.lost} were taken over by others" if run.lost else ""))


def report_command(
    storage: str = typer.Option(..., "--storage", help=STORAGE_HELP),
    out: Path = typer.Option(Path("bench-out"), "--out", "-o", help="Folder for index.html, trials.csv, "
                             "trials.json, pictures."),
) -> None:
    """Write the benchmark's page and profiles from --storage alone (while workers run, or after)."""
    try:
        check_out(out)
        url = _url(storage, "")
    except CLIError as e:
        fail(str(e))
    except _ERRORS as e:
        fail(one_line(e))
    print_bench_page(url, out)


def import_command(
    store: Path = typer.Option(..., "--store", help="An optimlab SQLite results store (the built-in format)."),
    storage: str = typer.Option(..., "--storage", help=STORAGE_HELP),
) -> None:
    """Copy a benchmark from a --store file into an Optuna --storage, computing nothing."""
    try:
        url = _url(storage, "")
        from ..bench import optuna_store  # lazy: keeps --help free of torch

        n = optuna_store.import_store(store, optuna_store.open_storage(url))
    except _ERRORS as e:
        fail(one_line(e))
    console.print(f"imported {n} trials from {escape(str(store))} into {escape(url)}")


def add_bench(app: typer.Typer, main: Callable[..., None]) -> None:
    """Add ``bench`` (``main`` runs it; it returns at once when a subcommand is given) and
    its subcommands to the command line."""
    group = typer.Typer(help="Benchmark optimizers on a suite: tune, rerun on seeds, performance profile, HTML report; "
                             "resumable from a SQLite store, or shared by many workers through an Optuna storage.",
                        add_completion=False, pretty_exceptions_enable=False)
    group.callback(invoke_without_command=True)(main)
    group.command("worker", help="Join the benchmark in an Optuna storage and compute its trials.")(worker_command)
    group.command("report", help="Rebuild the page and profiles from an Optuna storage alone.")(report_command)
    group.command("import", help="Import a built-in SQLite store into an Optuna storage, computing "
                                 "nothing.")(import_command)
    app.add_typer(group, name="bench")

