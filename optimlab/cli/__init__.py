"""The ``optimlab`` command line: thin, it parses arguments, calls the library and prints.

Each group of commands lives in its own module with a ``register(app)`` function;
this module only assembles them, so one failing optional import never breaks the
other commands.
"""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="optimlab",
    help="Exact first-order optimizers and a lab to run, compare, sweep and draw them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# module name -> commands it registers (lab: demo/run/list, train: train, sweep: sweep/bench)
_COMMAND_MODULES = ("lab", "train", "sweep")


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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``optimlab`` script."""
    import matplotlib  # the script writes picture files: it picks a file backend; the library never does

    matplotlib.use("Agg")
    app(args=argv if argv is not None else sys.argv[1:], prog_name="optimlab")
