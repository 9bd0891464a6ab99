"""The ``optimlab`` command line: thin, it parses arguments, calls the library and prints.

Each group of commands lives in its own module with a ``register(app)`` function;
this module only assembles them, so one failing optional import never breaks the
other commands.

Fast answers: nothing here or in the command modules imports torch, numpy or
matplotlib at load time (the library is imported inside each command, after its
arguments are read), so ``--help``, ``--version`` and argument errors answer at once
(``benchmarks/cli_latency.py`` measures it). Parser errors (a missing argument, an
unknown option or command, a bad value) print as one line ``error: ...`` with exit
status 2, like every other bad argument.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer
from typer import _click as click  # typer's own copy of click: its exception classes are what it raises
from typer.core import TyperGroup

from ._common import fail, usage_message


class _OneLineErrors(TyperGroup):
    """typer's group, with parser errors as one ``error:`` line (not a boxed panel)."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:  # no arguments at all: the help page (rich prints it
            if e.message:  # while building it; plain click returns it)
                print(e.message)
            code = e.exit_code
        except click.exceptions.ClickException as e:
            try:
                fail(usage_message(e))
            except typer.Exit as stop:
                code = stop.exit_code if isinstance(e, click.exceptions.UsageError) else e.exit_code
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="optimlab",
    cls=_OneLineErrors,
    help="Exact first-order optimizers and a lab to run, compare, sweep and draw them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version  # costs 0.1 s: only for --version

        try:  # read as optimlab.__version__ reads it (the CLI may not import the top-level package)
            number = version("optimlab")
        except PackageNotFoundError:
            number = "0+unknown"
        print(f"optimlab {number}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", "-V", is_eager=True, callback=_print_version,
                                       help="Print the version (optimlab X.Y.Z) and exit.")) -> None:
    """Exact first-order optimizers and a lab to run, compare, sweep and draw them."""


# module name -> commands it registers (lab: demo/run/list, train: train, sweep: sweep/bench, play: play)
_COMMAND_MODULES = ("lab", "train", "sweep", "play")


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"optimlab.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"optimlab.cli.{name}":
                continue  # that group of commands is not part of this build
            raise
        mod.register(app)


_register_all()


def _file_backend() -> None:
    """The script writes picture files: it picks matplotlib's file backend (the library never
    does), without importing matplotlib before the arguments are read."""
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:
        matplotlib.use("Agg")
    else:
        os.environ["MPLBACKEND"] = "Agg"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``optimlab`` script."""
    _file_backend()
    app(args=argv if argv is not None else sys.argv[1:], prog_name="optimlab")
