"""What every command module shares: one-line errors, consoles, reading numbers."""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from .._spec import run_labels, split_items  # run_labels: one rule for the lab and the command line
from ._index import quick_spec_error

__all__ = ["console", "err_console", "CLIError", "fail", "one_line", "parse_number", "parse_numbers", "run_labels",
           "check_out", "shorten", "usage_message", "default_out", "spec_list", "COMPILE_HELP", "compile_choice",
           "SCHEDULE_HELP", "schedule_option"]

# emoji=False: user text such as "log:-1:1" must print as written, not as an emoji code (":-1:")
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


class CLIError(Exception):
    """A bad argument: printed as one line, exit status 2."""


COMPILE_HELP = ("auto, on or off: run the steps as a program compiled ahead of time (the same numbers; "
                "docs/sweeps.md, \"Compiled runs\"). auto uses one already built and builds one only for long "
                "work; on builds it (10-30 s, once per machine: it is kept in ~/.cache/optimlab).")


SCHEDULE_HELP = ("Learning-rate schedule NAME[:KEY=VALUE,...] (`optimlab list schedules`), e.g. "
                 "step:step_size=100,gamma=0.5, exponential:gamma=0.99, cosine:T_max=500, "
                 "piecewise:boundaries=(100,200),values=(0.1,0.01,0.001); KEY is an argument of the scheduler.")


def schedule_option(text: str | None, *, functions: bool) -> Any:
    """``--schedule`` as ``(SchedulerClass, kwargs)`` (None when not given), or a ``CLIError``
    naming it; ``functions``: for the function lab (no ReduceLROnPlateau there)."""
    if text is None:
        return None
    from ..schedules import parse_schedule  # lazy: loads torch, which --help and argument errors need not

    try:
        return parse_schedule(text, functions=functions)
    except ValueError as e:
        raise CLIError(f"--schedule {shorten(text)!r}: {one_line(e)}") from None


def compile_choice(value: str) -> Any:
    """``--compile`` as the library's ``compile=`` value; a ``CLIError`` otherwise."""
    v = value.strip().lower()
    if v not in ("auto", "on", "off"):
        raise CLIError(f"--compile must be one of auto, on, off, got {value!r}")
    return "auto" if v == "auto" else v == "on"


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on one line (the message is text, never markup) and exit with 2."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def one_line(e: BaseException) -> str:
    """An exception's message on one line (a formula error's later lines show the formula and a caret)."""
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[0].split()) if lines else type(e).__name__


def ascii_float(text: str) -> float:
    """``float`` of a number written in ASCII: Python's ``float`` also reads other scripts'
    digits ("٣" is 3.0) and full-width ones, which no option of the lab means."""
    if not text.isascii():
        raise ValueError(f"could not convert string to float: {text!r}")
    return float(text)


def parse_number(text: str, what: str) -> float:
    """A finite number, or a ``CLIError`` naming ``what``."""
    try:
        v = ascii_float(text)
    except ValueError:
        raise CLIError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise CLIError(f"{what}: {text!r} must be finite")
    return v


def parse_numbers(text: str, option: str = "--start") -> list[float]:
    """``"1.5,-2"`` → ``[1.5, -2.0]``; a ``CLIError`` naming ``option`` otherwise."""
    parts = [p.strip() for p in text.strip().strip("()[]").split(",")]
    try:
        values = [ascii_float(p) for p in parts]
    except ValueError:
        raise CLIError(f"{option} must be numbers separated by commas, like 5,-2; got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise CLIError(f"{option} must be finite numbers separated by commas, like 5,-2; got {text!r}")
    return values


def check_out(out: Path, option: str = "--out") -> None:
    """A ``CLIError`` now, before any computing, when the output folder cannot be made or
    written: it is a file, lies under a file, or its nearest existing folder is not writable."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise CLIError(f"{option} {str(out)!r} is a file, not a folder")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise CLIError(f"{option} {str(out)!r} lies under {str(existing)!r}, which is a file")
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise CLIError(f"{option} {str(out)!r}: the folder {str(existing)!r} is not writable")


def shorten(text: str, width: int = 80) -> str:
    """User text quoted in a message, cut to ``width`` characters (a 2 MB spec stays one short line)."""
    return text if len(text) <= width else text[: width - 3] + "..."


def usage_message(e: Any) -> str:
    """A parser error (typer's click exception) as one line: the command, what is wrong
    and the accepted names (``did you mean`` when one is close)."""
    ctx = getattr(e, "ctx", None)
    where = f"{ctx.command_path}: " if ctx is not None else ""
    unknown_option = bool(getattr(e, "option_name", None)) and hasattr(e, "possibilities")
    message = " ".join(str(e.message if unknown_option else e.format_message()).split())
    options = getattr(e, "possibilities", None)
    if unknown_option and ctx is not None:
        if options:
            message += f" (did you mean {' or '.join(sorted(options))}?)"
        else:
            names = [o for p in ctx.command.params for o in p.opts if o.startswith("--")]
            message += f"; accepted: {', '.join(names)}"
    help_hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
    return f"{where}{message}{help_hint}"


def default_out(root: Path, name: str) -> Path:
    """A new folder for one run: ``root/<name>-<YYYYmmdd-HHMMSS>``, with ``-2``, ``-3``, ...
    when that exists already, so outputs of two runs never mix."""
    stem = re.sub(r"[^A-Za-z0-9.\-]+", "_", str(name)).strip("_.")[:60] or "run"
    base = Path(root) / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def spec_list(values: list[str] | None, option: str = "--optimizer") -> list[str]:
    """The optimizer specs of a repeatable ``-O``, each value also a comma-separated list
    (``-O sgd,adam:lr=0.1,betas=(0.9,0.99)`` is two specs: a comma starts a new spec unless
    what follows is a ``KEY=VALUE`` option; :func:`optimlab._spec.split_items`)."""
    specs = [s for v in values or [] for s in split_items(v)]
    if values and not specs:
        raise CLIError(f"{option} is empty: give a spec NAME[:KEY=VALUE,...], e.g. adam:lr=0.01")
    for spec in specs:  # a mistyped name or option answers now, before torch loads
        problem = quick_spec_error(spec)
        if problem:
            raise CLIError(f"{option} {shorten(spec)!r}: {problem}")
    return specs
