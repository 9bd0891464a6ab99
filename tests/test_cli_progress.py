"""Progress bars of the long commands: drawn on a terminal, never with --quiet (nor into a pipe,
and the train bar's counts: tests/test_training_interrupt.py); the library's hooks that feed
them count what was done."""

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


def test_run_draws_a_bar_over_every_step_on_a_terminal_and_none_with_quiet(terminal, tmp_path):
    args = ["run", "lecture-quadratic", "-O", "sgd:lr=0.01", "-O", "adam:lr=0.1", "--start", "5,5", "--steps", "40"]
    r = invoke(*args, "--out", str(tmp_path / "a"))
    assert r.exit_code == 0, r.output
    drawn = terminal()
    assert "80/80" in drawn and "steps/s" in drawn and "adam:lr=0.1" in drawn
    assert "steps/s" not in r.output  # stdout carries the table, not the bar
    before = len(drawn)
    assert invoke(*args, "--out", str(tmp_path / "b"), "--quiet").exit_code == 0
    assert len(terminal()) == before  # nothing more drawn


def test_the_hooks_get_the_counts_of_work_done():
    steps: list[int] = []
    t = optimlab.run("lecture-quadratic", "sgd:lr=0.1", (5, 5), 50, stop=FTol(1e-3), progress=steps.append)
    assert t.stop_reason == "f_tol" and steps == list(range(1, t.steps + 1)) and t.steps < 50
    calls: list[tuple] = []
    optimlab.compare("lecture-quadratic", ["sgd", "adam"], (5, 5), 3, progress=lambda *a: calls.append(a))
    assert calls == [("sgd", 1), ("sgd", 2), ("sgd", 3), ("adam", 1), ("adam", 2), ("adam", 3)]
    swept: list[tuple] = []
    optimlab.sweep("lecture-quadratic", "momentum", grid={"lr": [0.01, 0.1], "nesterov": [False, True]}, steps=2,
                   progress=lambda k, n: swept.append((k, n)))
    assert swept == [(1, 4), (2, 4), (3, 4), (4, 4)]  # two batches (nesterov is structural) of 2 steps
