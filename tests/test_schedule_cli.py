"""Learning-rate schedules by name (``optimlab.schedules.parse_schedule``) and ``--schedule`` on
``optimlab run``, ``sweep`` and ``train`` through the real entry point: the same numbers as the
library's ``schedule=(cls, kwargs)``, learning rates equal to the closed forms, one-line errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from cli_helpers import call, one_line_error
from torch.optim import lr_scheduler as L

import optimlab
from optimlab import schedules
from optimlab.record import Trace
from optimlab.schedules import PiecewiseConstant, parse_schedule
from optimlab.sweeps import SweepResult
from optimlab.training import TrainingComparison


# ------------------------------------------------------------------ names and specs
def test_every_torch_scheduler_has_a_row_and_names_ignore_case_and_separators():
    torch_classes = {n for n in L.__all__ if inspect.isclass(getattr(L, n)) and n != "LRScheduler"}
    assert torch_classes <= set(schedules.SCHEDULES)
    for text in ("steplr", "StepLR", "step_lr", "Step-LR", "step"):
        assert parse_schedule(text + ":step_size=3") == (L.StepLR, {"step_size": 3})
    assert parse_schedule("piecewise:boundaries=[100,200],values=[0.1,0.01,0.001]") == (
        PiecewiseConstant, {"boundaries": (100, 200), "values": (0.1, 0.01, 0.001)})
    assert parse_schedule("onecycle:max_lr=0.1,total_steps=50")[0] is L.OneCycleLR
    assert parse_schedule("plateau:patience=2") == (L.ReduceLROnPlateau, {"patience": 2})  # training may


@pytest.mark.parametrize("spec,shown", [
    ("stepp:step_size=2", "--schedule 'stepp:step_size=2': unknown schedule 'stepp'. Did you mean 'step'"),
    ("stepp", "Available: step, StepLR, multistep, MultiStepLR,"),
    ("step:step_size=2,gama=0.5", "unknown option 'gama' for step; accepted: step_size, gamma, last_epoch "
                                  "(did you mean 'gamma'?)"),
    ("inverse_time:decay_steps=1,rate=0.01", "accepted: decay_rate, decay_steps, staircase, last_epoch"),
    ("cosine", "cosine needs T_max; accepted: T_max, eta_min, last_epoch"),
    ("cosine_restarts:T_0=0", "cosine_restarts: Expected positive integer T_0, but got 0"),  # torch's own words
    ("lambda", "LambdaLR cannot be given as a spec: it needs a function lr_lambda"),
    ("sequential", "SequentialLR cannot be given as a spec: it needs scheduler objects"),
    ("plateau", "ReduceLROnPlateau needs one: use it in training"),
])
def test_a_bad_schedule_is_one_line_naming_the_option(capsys, tmp_path, spec, shown):
    text = one_line_error(capsys, "run", "beale", "-O", "sgd", "--steps", "2", "--schedule", spec,
                      "--out", str(tmp_path / "out"))
    assert shown in text, text
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_other_commands_refuse_a_bad_schedule_in_the_same_words(capsys, tmp_path):
    out = str(tmp_path / "o")
    assert "unknown schedule 'stepp'" in one_line_error(capsys, "sweep", "beale", "--grid", "lr=0.1", "--steps", "2",
                                                    "--schedule", "stepp", "-o", out)
    assert "LambdaLR cannot be given" in one_line_error(capsys, "train", "iris-softmax", "--epochs", "1",
                                                    "--schedule", "lambda", "-o", out)
    assert one_line_error(capsys, "train", "iris-softmax", "--schedule-per", "batch", "-o", out) == (
        "error: --schedule-per must be epoch or step, got 'batch'")
    assert "--schedule applies to test functions only" in one_line_error(
        capsys, "sweep", "problem:iris-softmax", "--grid", "lr=0.1", "--schedule", "step:step_size=2", "-o", out)


# ------------------------------------------------------------------ the numbers
def test_run_with_a_schedule_is_the_library_run_and_its_lrs_are_the_closed_form(capsys, tmp_path):
    code, _, err = call(capsys, "run", "beale", "-O", "sgd:lr=0.01", "--start", "1,1.5", "--steps", "12",
                        "--schedule", "StepLR:step_size=5,gamma=0.5", "--out", str(tmp_path), "-q")
    assert code == 0, err
    cli = Trace.load(tmp_path / "sgd_lr=0.01.npz")
    lib = optimlab.run("beale", "sgd:lr=0.01", (1.0, 1.5), 12, schedule=(L.StepLR, {"step_size": 5, "gamma": 0.5}))
    assert np.array_equal(cli.params, lib.params) and np.array_equal(cli.values, lib.values)
    np.testing.assert_allclose(cli.lrs, 0.01 * 0.5 ** np.floor(np.arange(12) / 5), rtol=1e-15)


@pytest.mark.parametrize("relative", [True, False])  # factors of each run's lr; learning rates of its own
def test_sweep_with_a_schedule_is_the_library_run_of_each_configuration(capsys, tmp_path, relative):
    values = (1, 0.5, 0.1) if relative else (0.004, 0.002, 0.001)
    spec = f"piecewise:boundaries=(3,6),values=({','.join(map(str, values))}),relative={str(relative).lower()}"
    code, _, err = call(capsys, "sweep", "beale", "-O", "sgd", "--grid", "lr=0.01,0.002", "--start", "1,1.5",
                        "--steps", "10", "--schedule", spec, "--out", str(tmp_path), "-q")
    assert code == 0, err
    res = SweepResult.load(tmp_path / "sweep.json")
    piece = np.array([values[0]] * 4 + [values[1]] * 3 + [values[2]] * 3)  # values[i] for b[i-1] < t <= b[i]
    schedule = (PiecewiseConstant, {"boundaries": (3, 6), "values": values, "relative": relative})
    assert len(res.traces) == 2
    for config, trace in zip(res.configs, res.traces):
        lib = optimlab.run("beale", ("sgd", config), (1.0, 1.5), 10, schedule=schedule)
        np.testing.assert_allclose(trace.values, lib.values, rtol=1e-12)
        np.testing.assert_allclose(trace.lrs, config["lr"] * piece if relative else piece, rtol=1e-12)


def test_train_steps_the_schedule_per_update_when_asked(capsys, tmp_path):
    # per epoch (the default) is Trainer's own, tested with it; here the option reaches every run
    code, _, err = call(capsys, "train", "iris-softmax", "-O", "sgd:lr=0.1", "--epochs", "2",
                        "--schedule", "exponential:gamma=0.5", "--schedule-per", "step", "--out", str(tmp_path), "-q")
    assert code == 0, err
    h = TrainingComparison.load(tmp_path / "histories").histories["sgd:lr=0.1"][0]
    assert h.iterations_per_epoch > 1  # so that per step and per epoch differ
    np.testing.assert_allclose(h.lrs, 0.1 * 0.5 ** np.arange(2 * h.iterations_per_epoch), rtol=1e-15)


def test_list_schedules_names_each_with_its_class_and_why_some_are_python_only(capsys):
    code, out, _ = call(capsys, "list", "schedules")
    assert code == 0
    rows: dict[str, list[str]] = {}  # first cell -> the row's cells, a wrapped row's lines joined
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 4 and cells[0]:
            rows[cells[0]] = cells
        elif len(cells) == 4:
            last = rows[list(rows)[-1]]
            last[:] = [f"{a}{b}" if a.endswith(("_", "-")) else f"{a} {b}".strip() for a, b in zip(last, cells)]
    assert list(rows) == list(schedules.SCHEDULES)  # every row, in the table's order
    assert rows["CosineAnnealingLR"][1:3] == ["cosine", "torch.optim.lr_scheduler.CosineAnnealingLR"]
    assert rows["LambdaLR"][3].endswith("Python only: it needs a function lr_lambda, which a spec cannot give")
    assert rows["Warmup"][2] == "optimlab.schedules.Warmup"


def test_a_comparison_resumes_only_with_the_schedule_it_was_trained_with():
    step = (L.StepLR, {"step_size": 1, "gamma": 0.5})
    cmp = optimlab.compare_training("iris-softmax", {"SGD": "sgd:lr=0.1"}, epochs=1, seeds=1, schedule=step)
    assert cmp.settings["schedule"] == "StepLR {'gamma': 0.5, 'step_size': 1}"
    assert cmp.settings["schedule_per"] == "epoch"
    again = optimlab.compare_training("iris-softmax", {"SGD": "sgd:lr=0.1"}, epochs=1, seeds=1, schedule=step,
                                      resume=cmp)  # the same settings: the finished run is taken as it is
    assert again.histories["SGD"][0] is cmp.histories["SGD"][0]
    for other in (None, (L.StepLR, {"step_size": 2, "gamma": 0.5})):
        with pytest.raises(ValueError, match="resume: the saved comparison has schedule=.*StepLR"):
            optimlab.compare_training("iris-softmax", {"SGD": "sgd:lr=0.1"}, epochs=1, seeds=1, schedule=other,
                                      resume=cmp)
    with pytest.raises(ValueError, match="schedule_per='epoch', this one schedule_per='step'"):
        optimlab.compare_training("iris-softmax", {"SGD": "sgd:lr=0.1"}, epochs=1, seeds=1, schedule=step,
                                  schedule_per="step", resume=cmp)
    # a factory cannot be compared; a comparison saved before schedules were recorded resumes as before
    assert cmp.differs_from("iris-softmax", ["SGD"], [0], 1, cmp.settings["batch_size"], schedule="a factory") == ""
    del cmp.settings["schedule"], cmp.settings["schedule_per"]
    assert cmp.differs_from("iris-softmax", ["SGD"], [0], 1, cmp.settings["batch_size"], schedule="none") == ""
