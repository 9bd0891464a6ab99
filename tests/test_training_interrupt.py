"""Ctrl-C in a training comparison: the whole comparison stops, the finished runs are kept
(table, files), the others marked and left out of mean ± std, and the same call resumes."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import optimlab
from optimlab import report
from optimlab.cli import _progress, app
from optimlab.training import LambdaCallback, TrainingComparison, trainer

SPECS = ["sgd:lr=0.1", "adam:lr=0.05"]
OPTIONS = {"epochs": 2, "seeds": 2, "batch_size": 60}
# runs go seed by seed: (0, sgd), (0, adam), (1, sgd), (1, adam); two epochs each
MARKS = {"sgd:lr=0.1": "epochs_done (1 of 2 seeds); interrupted: seed 1",
         "adam:lr=0.05": "epochs_done (1 of 2 seeds); not started: seed 1"}


def _ctrl_c_at(n: int):
    """A callbacks factory whose callback raises KeyboardInterrupt at the n-th epoch end of the comparison."""
    count = [0]

    def epoch_end(trainer, epoch, logs):
        count[0] += 1
        if count[0] == n:
            raise KeyboardInterrupt

    return lambda: [LambdaCallback(on_epoch_end=epoch_end)]


@pytest.fixture(scope="module")
def full():
    return optimlab.compare_training("iris-softmax", SPECS, **OPTIONS)


def _same_runs(a: TrainingComparison, b: TrainingComparison) -> None:
    assert list(a.histories) == list(b.histories)
    for label in a.histories:
        assert len(a.histories[label]) == len(b.histories[label])
        for ha, hb in zip(a.histories[label], b.histories[label]):
            np.testing.assert_array_equal(ha.values, hb.values)
            np.testing.assert_array_equal(ha.epochs["val_accuracy"], hb.epochs["val_accuracy"])


def test_ctrl_c_keeps_the_finished_runs_marks_the_others_and_resumes(full, tmp_path):
    cmp = optimlab.compare_training("iris-softmax", SPECS, callbacks=_ctrl_c_at(5), **OPTIONS)
    assert cmp.interrupted and cmp.n_finished == 2
    assert cmp.unfinished == {"sgd:lr=0.1": {1: "interrupted"}, "adam:lr=0.05": {1: "not started"}}
    seed0 = TrainingComparison(full.problem, {k: hs[:1] for k, hs in full.histories.items()}, [0], full.monitor,
                               None, full.settings)
    _same_runs(cmp, seed0)
    for row in cmp.summary():  # the means are those of seed 0 alone, not mixed with the cut run
        h0 = full.histories[row["label"]][0]
        assert row["runs"] == 1 and row["final"] == (h0.epochs["val_accuracy"][-1], 0.0)
    table = report.training_table(cmp)
    assert {r[0]: r[-1] for r in table.rows} == MARKS
    saved = cmp.save(tmp_path)
    assert sorted(p.name for p in saved) == ["adam_lr=0.05-seed0.npz", "sgd_lr=0.1-seed0.npz"]
    loaded = TrainingComparison.load(tmp_path)
    assert loaded.unfinished == cmp.unfinished
    resumed = optimlab.compare_training("iris-softmax", SPECS, resume=loaded, **OPTIONS)
    assert not resumed.interrupted
    _same_runs(resumed, full)
    with pytest.raises(ValueError, match=r"resume: the saved comparison has epochs=2, this one epochs=3; resume"):
        optimlab.compare_training("iris-softmax", SPECS, resume=loaded, **{**OPTIONS, "epochs": 3})


def test_cli_train_ctrl_c_exits_130_with_the_finished_runs_and_the_same_command_resumes(full, tmp_path, monkeypatch):
    quiet = io.StringIO()  # a terminal, but --quiet: no progress bar
    monkeypatch.setattr(_progress, "bar_console", Console(file=quiet, force_terminal=True))
    logs, calls = trainer.Trainer._epoch_logs, [0]

    def epoch_logs(self, *args):
        calls[0] += 1
        if calls[0] == 5:
            raise KeyboardInterrupt
        return logs(self, *args)

    args = ["train", "iris-softmax", "-O", SPECS[0], "-O", SPECS[1], "--epochs", "2", "--seeds", "2",
            "--batch-size", "60", "--out", str(tmp_path)]
    with monkeypatch.context() as m:
        m.setattr(trainer.Trainer, "_epoch_logs", epoch_logs)
        r = CliRunner(env={"COLUMNS": "250"}).invoke(app, [*args, "--quiet"])
    assert r.exit_code == 130, r.output
    text = " ".join(r.output.split())
    for mark in MARKS.values():
        assert mark in text
    assert (f"interrupted: 2 of 4 runs finished, kept in {tmp_path}; run the same command with --out {tmp_path} "
            f"to resume" in text)
    assert sorted(p.name for p in (tmp_path / "histories").glob("*.npz")) == ["adam_lr=0.05-seed0.npz",
                                                                              "sgd_lr=0.1-seed0.npz"]
    assert (tmp_path / "index.html").is_file() and "Interrupted: 2 of 4 runs" in (tmp_path / "index.html").read_text()
    assert quiet.getvalue() == ""
    terminal = io.StringIO()  # the second time on a terminal: the bar counts every epoch of the 4 runs
    monkeypatch.setattr(_progress, "bar_console", Console(file=terminal, force_terminal=True, width=120))
    r = CliRunner(env={"COLUMNS": "250"}).invoke(app, args)
    assert r.exit_code == 0, r.output
    assert f"resuming: 2 finished runs found in {tmp_path}" in " ".join(r.output.split())
    _same_runs(TrainingComparison.load(tmp_path / "histories"), full)
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.getvalue())
    assert "training: 4 runs" in drawn and "8/8" in drawn and "epochs/s" in drawn and "8/8" not in r.output
