"""optimlab: exact first-order optimizers for PyTorch and a lab to run, compare, sweep,
benchmark and draw them.

Layers (see docs/architecture.md in the repository): ``optimlab.optim`` (the algorithms),
``optimlab.keras`` (Keras-numerics constructors), ``optimlab.schedules`` and
``optimlab.stopping``, ``optimlab.functions`` (test functions and the formula parser),
``optimlab.problems`` (training problems), ``optimlab.runner`` / ``optimlab.training`` /
``optimlab.sweeps`` / ``optimlab.bench`` (runs produce :class:`optimlab.record.Trace`
records), ``optimlab.viz`` and ``optimlab.report`` (pictures and HTML), ``optimlab.cli``.

The most used entry points are importable from the top level, lazily so that
``import optimlab`` stays cheap: ``run``, ``compare``, ``Trace``, ``Trainer``,
``History``, ``compare_training``, ``sweep``, ``logspace``.
"""

from __future__ import annotations

import importlib
from typing import Any


def _read_version() -> str:
    """The installed distribution's version (written once, in pyproject.toml); read on first use of
    ``optimlab.__version__``, since importlib.metadata costs a tenth of a second at every start."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("optimlab")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


_LAZY = {
    "Trace": "optimlab.record",
    "run": "optimlab.runner",
    "compare": "optimlab.runner",
    "Trainer": "optimlab.training",
    "History": "optimlab.training",
    "compare_training": "optimlab.training",
    "sweep": "optimlab.sweeps",
    "logspace": "optimlab.sweeps",
}

__all__ = ["__version__", *_LAZY]


_SUBMODULES = ("optim", "keras", "functions", "runner", "stopping", "schedules", "record", "viz", "report",
               "problems", "training", "sweeps", "bench", "demo", "cli")


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = value = _read_version()
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"optimlab.{name}")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optimlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})
