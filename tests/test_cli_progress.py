"""Progress bars of the long commands: drawn on a terminal only, never with --quiet (through
the CLI: tests/test_training_interrupt.py, with the train bar's counts); the library's hooks
that feed them count what was done."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

import optimlab
from optimlab.cli import _progress, app
from optimlab.stopping import FTol


@pytest.fixture
def terminal(monkeypatch):
    """A fake terminal for the bars: returns what was drawn on it (without colour codes)."""
    buf = io.StringIO()
    monkeypatch.setattr(_progress, "bar_console", Console(file=buf, force_terminal=True, width=120))
    return lambda: re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "160"})


def test_run_draws_a_bar_over_every_step_on_a_terminal(terminal, tmp_path):
    r = invoke("run", "lecture-quadratic", "-O", "sgd:lr=0.01", "-O", "adam:lr=0.1", "--start", "5,5", "--steps", "40",
               "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    drawn = terminal()
    assert "80/80" in drawn and "steps/s" in drawn and "adam:lr=0.1" in drawn
    assert "steps/s" not in r.output  # stdout carries the table, not the bar


def test_a_bar_is_drawn_on_a_terminal_only_and_never_with_quiet(monkeypatch):
    for console, quiet, drawn in [(Console(file=io.StringIO(), force_terminal=True), False, True),
                                  (Console(file=io.StringIO(), force_terminal=True), True, False),
                                  (Console(file=io.StringIO()), False, False)]:  # a pipe: isatty() is False
        monkeypatch.setattr(_progress, "bar_console", console)
        with _progress.Bar(quiet, 3, "work", "steps") as bar:
            assert bar.on is drawn and (bar.hook(print) is print) is drawn
            for k in range(1, 4):
                bar.update(k)
        assert ("3/3" in console.file.getvalue()) is drawn and (console.file.getvalue() == "") is not drawn


def test_the_hooks_get_the_counts_of_work_done():
    steps: list[int] = []
    t = optimlab.run("lecture-quadratic", "sgd:lr=0.1", (5, 5), 50, stop=FTol(1e-3), progress=steps.append)
    assert t.stop_reason == "f_tol" and steps == list(range(1, t.steps + 1)) and t.steps < 50
    calls: list[tuple] = []
    optimlab.compare("lecture-quadratic", ["sgd", "adam"], (5, 5), 3, progress=lambda *a: calls.append(a))
    # the two share the function's evaluations (runner.shared): they step in lockstep
    assert calls == [("sgd", 1), ("adam", 1), ("sgd", 2), ("adam", 2), ("sgd", 3), ("adam", 3)]
    calls.clear()
    optimlab.compare("lecture-quadratic", ["sgd", "adam"], (5, 5), 3, progress=lambda *a: calls.append(a),
                     share=False)
    assert calls == [("sgd", 1), ("sgd", 2), ("sgd", 3), ("adam", 1), ("adam", 2), ("adam", 3)]
    swept: list[tuple] = []
    optimlab.sweep("lecture-quadratic", "momentum", grid={"lr": [0.01, 0.1], "nesterov": [False, True]}, steps=2,
                   progress=lambda k, n: swept.append((k, n)))
    assert swept == [(1, 4), (2, 4), (3, 4), (4, 4)]  # two batches (nesterov is structural) of 2 steps
