"""``optimlab train``: compare optimizers on a training problem; table + curves into an HTML page."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.markup import escape

from ._common import (
    SCHEDULE_HELP,
    CLIError,
    check_out,
    console,
    default_out,
    err_console,
    fail,
    one_line,
    run_labels,
    schedule_option,
    spec_list,
)
from ._progress import QUIET_HELP, Bar

DEFAULT_OPTIMIZERS = ["sgd:lr=0.01", "momentum:lr=0.01", "rmsprop:lr=0.001", "adam:lr=0.001"]
OPTIMIZER_HELP = ("Optimizer spec NAME[:KEY=VALUE,...], e.g. adam:lr=0.01; repeat for several or give a comma list "
                  "(a comma starts a new spec unless a KEY=VALUE follows it); default: "
                  + ", ".join(DEFAULT_OPTIMIZERS) + ".")
TRAIN_ROOT = Path("optimlab-train")


def train(
    problem: Optional[str] = typer.Argument(None, help="Named problem (see --list or `optimlab list problems`), or "
                                                       "a CSV file with --target COLUMN."),
    optimizer: Optional[List[str]] = typer.Option(
        None, "--optimizer", "-O",
        help=OPTIMIZER_HELP),
    epochs: int = typer.Option(10, "--epochs", "-e", min=1, help="Epochs per run."),
    batch_size: int = typer.Option(32, "--batch-size", "-b", min=1, help="Examples per iteration."),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Runs per optimizer (seeds 0..K-1): mean ± std."),
    schedule: Optional[str] = typer.Option(None, "--schedule", help=SCHEDULE_HELP + " Every run gets its own."),
    schedule_per: str = typer.Option("epoch", "--schedule-per", help="When --schedule steps: epoch (after every "
                                     "epoch, torch's convention; ReduceLROnPlateau on val_loss) or step (after "
                                     "every update)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for index.html, figures and histories "
                                       f"(default: a new folder {TRAIN_ROOT}/PROBLEM-YYYYmmdd-HHMMSS for each run)."),
    target: Optional[str] = typer.Option(None, "--target", help="CSV only: the column to predict."),
    model: str = typer.Option("mlp", "--model", help="CSV only: linreg, logreg, softmax or mlp."),
    reach: Optional[float] = typer.Option(None, "--reach", help="Level of the validation metric for "
                                                                 "'epochs to target' (default: reached by all)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1,
                                          help="torch intra-op threads (default: $OPTIMLAB_THREADS, else one "
                                               "thread for a small model, the fastest there, else torch's own)."),
    list_: bool = typer.Option(False, "--list", help="List the named problems and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="One line per epoch of every run."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Train PROBLEM with each optimizer and write a comparison page (table and curves).

    Without --out each run gets a new folder optimlab-train/PROBLEM-YYYYmmdd-HHMMSS
    (-2, -3, ... when that exists), printed at the end.

    Ctrl-C stops the whole command: the finished runs are kept (table, page, histories),
    the others are marked, and the same command with --out set to that folder resumes
    (exit code 130).
    """
    cores = os.cpu_count() or 1
    try:  # what needs no library first: these errors answer before torch loads
        if threads is not None and threads > cores:  # torch crashes on a huge count; more are only slower
            raise CLIError(f"--threads must be at most the {cores} cores of this machine, got {threads}")
        if not list_ and problem is None:
            raise CLIError("missing argument PROBLEM: a named problem (optimlab train --list) or a CSV file "
                           "with --target COLUMN")
        if reach is not None and not math.isfinite(reach):
            raise CLIError(f"--reach must be a finite level of the validation metric, got {reach}")
        if out is not None:
            check_out(out)
        specs = spec_list(optimizer) or DEFAULT_OPTIMIZERS
        sched, schedule_per = _schedule(schedule, schedule_per)
    except CLIError as e:
        fail(str(e))
        return
    # heavy (torch, the training lab, matplotlib): imported by the command, so --help stays fast

    from .. import problems as P  # lazy: keeps --help free of torch
    from .. import report  # lazy: keeps --help free of torch
    from ..optim.registry import parse_spec  # lazy: keeps --help free of torch

    if list_:
        console.print(report.to_rich(report.problem_list_table()))
        return
    assert problem is not None
    try:
        for s in specs:
            try:
                parse_spec(s)
            except (ValueError, TypeError) as e:
                raise CLIError(f"--optimizer {s!r}: {one_line(e)}") from None
        if problem.lower().endswith(".csv") or Path(problem).is_file():
            if not target:
                fail("a CSV problem needs --target COLUMN (the column to predict)")
            prob = P.from_csv(problem, target, model=model)
        else:
            if target:
                fail("--target is for CSV files; named problems know their target")
            if model != "mlp":
                fail(f"--model is for CSV files; a named problem says its model (DATASET-MODEL, e.g. "
                     f"{problem.rpartition('-')[0] or 'iris'}-{model}), got --model {model}")
            P.parse_name(problem)  # lazy: keeps --help free of torch
            prob = problem
        name = Path(problem).stem if isinstance(prob, P.Problem) else problem
        folder = out or default_out(TRAIN_ROOT, name)
        check_out(folder)
        runs = dict(zip(run_labels(specs), specs))
        previous = _interrupted(folder, prob, list(runs), seeds, epochs, batch_size, sched, schedule_per)
        cmp = _train_runs(prob, runs, previous, quiet or verbose, epochs=epochs, seeds=seeds, batch_size=batch_size,
                          target=reach, verbose=2 if verbose else 0, threads=threads, schedule=sched,
                          schedule_per=schedule_per)
    except CLIError as e:
        fail(str(e))
        return
    except (ValueError, TypeError, KeyError) as e:
        fail(one_line(e))
        return
    try:
        page = report.training_page(cmp, folder)
    except OSError as e:  # checked before training, but a disk can still fill up or a folder vanish
        fail(f"cannot write to {str(folder)!r}: {e.strerror or e}")
        return
    console.print(report.to_rich(page.table))
    console.print(f"wrote {escape(str(page.index))}", soft_wrap=True)
    if cmp.interrupted:
        total = len(cmp.seeds) * len(cmp.histories)
        err_console.print(f"interrupted: {cmp.n_finished} of {total} runs finished, kept in "
                          f"{escape(str(folder))}; run the same command with --out {escape(str(folder))} "
                          f"to resume", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(code=130)


def _schedule(text: str | None, per: str) -> tuple[Any, str]:
    """``--schedule`` as ``(cls, kwargs)`` (or None) and ``--schedule-per``, checked."""
    per = per.strip().lower()
    if per not in ("epoch", "step"):
        raise CLIError(f"--schedule-per must be epoch or step, got {per!r}")
    return schedule_option(text, functions=False), per


def _interrupted(folder: Path, prob: Any, labels: list[str], seeds: int, epochs: int, batch_size: int,
                 sched: Any, schedule_per: str) -> Any:
    """The interrupted comparison saved in ``folder`` by the same command (schedule included), to
    resume; else None. ``prob``: a problem name, or a Problem (from a CSV file: its model and loss
    must match too)."""
    from ..training import TrainingComparison  # lazy: keeps --help free of torch
    from ..training.compare import schedule_text  # lazy: as above

    if not (folder / "histories" / "comparison.json").is_file():
        return None
    try:
        previous = TrainingComparison.load(folder / "histories")
    except (ValueError, KeyError, TypeError, OSError):
        return None
    if not previous.interrupted:
        return None
    named = isinstance(prob, str)
    diff = previous.differs_from(prob if named else prob.name, labels, list(range(seeds)), epochs, batch_size,
                                 None if named else type(prob.model).__name__,
                                 None if named or not isinstance(prob.loss, str) else prob.loss,
                                 schedule_text(sched), schedule_per)
    if diff:
        err_console.print(f"note: {escape(str(folder))} holds an interrupted comparison with other settings "
                          f"({escape(diff)}); training afresh", highlight=False, soft_wrap=True)
        return None
    err_console.print(f"resuming: {previous.n_finished} finished runs found in {escape(str(folder))}", highlight=False,
                      soft_wrap=True)
    return previous


def _train_runs(prob: Any, runs: dict, previous: Any, quiet: bool, **options: Any) -> Any:
    """``compare_training`` with a progress bar over every epoch of every run."""
    from ..training import LambdaCallback, compare_training  # lazy: keeps --help free of torch

    epochs, n_runs = int(options["epochs"]), len(runs) * int(options["seeds"])
    with Bar(quiet, n_runs * epochs, f"training: {n_runs} runs", "epochs") as bar:
        done = [0]

        def begin(trainer: Any) -> None:
            h = trainer.history
            bar.update(done[0] * epochs, description=f"{h.label} seed {h.config.get('seed')}", force=True)

        def finished(label: str, seed: int, h: Any) -> None:
            done[0] += 1
            bar.update(done[0] * epochs, force=True)

        tick = LambdaCallback(on_train_begin=begin,
                              on_epoch_end=lambda trainer, epoch, logs: bar.update(done[0] * epochs + epoch + 1))
        return compare_training(prob, runs, resume=previous, callbacks=bar.hook(lambda: [tick]),
                                on_run=bar.hook(finished), **options)


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to the optimlab CLI."""
    app.command("train")(train)
