"""Progress bars of the long commands (``run``, ``train``, ``sweep``, ``bench``, ``demo``).

A bar is drawn on stderr, and only when stderr is a terminal and ``--quiet`` is not
given: pipes, files and tests see no bar (nor its final state). The library reports
progress through plain callables (``progress=`` of :func:`optimlab.run`,
:func:`optimlab.sweep`, :func:`optimlab.bench.run_bench`, callbacks of the
:class:`~optimlab.training.Trainer`); this module turns them into a rich bar, updated at
most ten times a second so that a hook called every step costs next to nothing.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

__all__ = ["bar_console", "QUIET_HELP", "Bar"]

bar_console = Console(stderr=True, emoji=False)
"""Where bars go; replaced by tests with a ``Console(force_terminal=True)``."""

QUIET_HELP = "No progress bar (there is none anyway when stderr is not a terminal)."


class RateColumn(ProgressColumn):
    """Units done per second (``120 steps/s``)."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if not speed else f"{speed:,.4g} {self.unit}/s", style="progress.data.speed")


class Bar:
    """A progress bar over ``total`` units (steps, epochs, runs, trials), or nothing at all.

    ``on`` says whether it is drawn; when it is not, :meth:`hook` gives ``None`` so the
    library is called without a progress callable. Use as a context manager.
    """

    def __init__(self, quiet: bool, total: int | None, what: str, unit: str):
        self.on = not quiet and bar_console.is_terminal
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  RateColumn(unit), TimeElapsedColumn(), console=bar_console,
                                  disable=not self.on, transient=False)
        self._task = self._progress.add_task(what, total=total)
        self._last = 0.0
        self._pending: dict[str, Any] = {}

    def __enter__(self) -> "Bar":
        if self.on:
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.on:
            if self._pending:  # the last state, even if it came within 0.1 s of the one before
                self._progress.update(self._task, **self._pending)
            self._progress.refresh()
            self._progress.stop()

    def update(self, completed: int | None = None, total: int | None = None, description: str | None = None,
               force: bool = False) -> None:
        """Move the bar (at most every 0.1 s unless ``force``)."""
        if not self.on:
            return
        kw = {"completed": completed, "total": total, "description": description}
        self._pending.update({k: v for k, v in kw.items() if v is not None})
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self._progress.update(self._task, **self._pending)
        self._pending = {}

    def hook(self, fn: Callable[..., Any]) -> Callable[..., Any] | None:
        """``fn`` when the bar is drawn, else None (the library then skips its calls)."""
        return fn if self.on else None
