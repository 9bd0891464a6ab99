"""``optimlab run``, ``optimlab list`` and ``optimlab demo`` through typer's CliRunner."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from optimlab.cli import _progress, app
from optimlab.record import Trace

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "160"})


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    text = result.stderr.strip()
    assert text.startswith("error:"), text
    assert len(text.splitlines()) == 1, text
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in text, (f, text)


def test_run_writes_traces_and_pictures_that_match_the_closed_form(tmp_path):
    out = tmp_path / "run"
    r = invoke("run", "lecture-quadratic", "-O", "sgd:lr=0.01", "-O", "adam:lr=0.1,betas=(0.9,0.99)",
               "--start", "5,5", "--steps", "20", "--out", str(out), "--animate")
    assert r.exit_code == 0, r.output
    t = Trace.load(out / "sgd_lr=0.01.npz")
    steps = np.arange(21)
    np.testing.assert_allclose(t.params, np.column_stack([5 * 0.9 ** steps, 5 * 0.98 ** steps]), atol=1e-12)
    adam = Trace.load(next(out.glob("adam*.npz")))
    assert adam.config["options"] == {"lr": 0.1, "betas": [0.9, 0.99]}
    with Image.open(out / "paths.png") as im:
        im.load()
    with Image.open(out / "paths.gif") as im:
        assert im.n_frames >= 21
    assert (out / "convergence.png").exists()
    final = 5 * (5 * 0.9 ** 20) ** 2 + (5 * 0.98 ** 20) ** 2
    assert f"{final:.4g}" in r.output and "max_steps" in r.output


def test_run_a_formula_with_a_stopping_rule(tmp_path):
    r = invoke("run", "x**2 + 10*y**2", "-O", "gd:lr=0.05", "--start=-2,1", "--steps", "500",
               "--stop", "grad_tol=1e-3", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    t = Trace.load(tmp_path / "gd_lr=0.05.npz")
    assert t.stop_reason == "grad_tol"
    # x_t = −2·0.9^t, y_t = 0.0^t: ‖∇f‖ = 4·0.9^t ≤ 1e-3·‖∇f(x0)‖ first at t = ceil(log(1e-3·√416/4)/log 0.9)
    g0 = np.hypot(4.0, 20.0)
    assert t.steps == int(np.ceil(np.log(1e-3 * g0 / 4.0) / np.log(0.9)))


def test_run_the_lectures_nag(tmp_path):
    r = invoke("run", "lecture-quadratic", "-O", "nag:lr=0.01,momentum=0.9", "--start", "5,5", "--steps", "30",
               "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    t = Trace.load(next(tmp_path.glob("nag*.npz")))
    th, nu = np.array([5.0, 5.0]), np.zeros(2)  # lecture 000: gradient at θ − γν
    for _ in range(30):
        look = th - 0.9 * nu
        nu = 0.9 * nu + 0.01 * np.array([10 * look[0], 2 * look[1]])
        th = th - nu
    np.testing.assert_allclose(t.params[-1], th, rtol=0, atol=1e-12)


@pytest.mark.parametrize("args,fragments", [
    (["run", "bael", "-O", "adam", "--start", "1,1"], ["unknown function 'bael'", "beale"]),
    (["run", "beale", "-O", "adamm:lr=0.1", "--start", "1,1"], ["adamm", "Did you mean", "adam"]),
    (["run", "beale", "-O", "adam:lr", "--start", "1,1"], ["--optimizer 'adam:lr'", "KEY=VALUE"]),
    (["run", "beale", "-O", "adam:lr=-1", "--start", "1,1"], ["lr must be >= 0"]),
    (["run", "beale", "-O", "adam", "--start", "1,a"], ["--start", "'1,a'"]),
    (["run", "beale", "-O", "adam", "--start", "1,2,3"], ["3 coordinates", "beale takes 2"]),
    (["run", "x**2 + __import__('os')", "-O", "adam", "--start", "1,1"], ["position"]),
    (["run", "beale", "-O", "adam", "--start", "1,1", "--stop", "speed=3"], ["--stop 'speed=3'", "grad_tol"]),
    (["run", "beale", "-O", "adam", "--start", "1,1", "--domain", "1,0,0,1"], ["--domain"]),
    (["list", "colours"], ["choose functions, optimizers, problems, suites"]),
])
def test_bad_arguments_get_one_line_and_exit_2(tmp_path, args, fragments):
    assert_one_line_error(invoke(*args, *(["--out", str(tmp_path)] if args[0] == "run" else [])), *fragments)


def test_list_functions_and_optimizers():
    from optimlab import functions

    r = invoke("list", "functions")
    assert r.exit_code == 0, r.output
    for name in functions.names():
        assert name in r.output
    r = invoke("list", "optimizers")
    assert r.exit_code == 0
    for name in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "amsgrad"):
        assert name in r.output
    assert "betas=(0.9, 0.999)" in r.output  # Adam's defaults


@pytest.mark.slow  # two demo scenes through the CLI (about 4 s)
def test_demo_command_writes_the_page_and_prints_the_table(tmp_path, monkeypatch):
    # the whole demo runs in test_demo.py; here two scenes check the command's wiring
    import optimlab.demo as demo

    monkeypatch.setattr(demo, "SCENES", (demo.NOTEBOOK_QUADRATIC, demo.SADDLE))
    tiny = dataclasses.replace(demo.AFTER_ADAM, epochs=1, methods=dict(list(demo.AFTER_ADAM.methods.items())[:2]))
    monkeypatch.setattr(demo, "TRAINING_SCENES", (tiny,))
    bar = io.StringIO()  # the progress bar goes to a terminal (stderr) only: a fake one here
    monkeypatch.setattr(_progress, "bar_console", Console(file=bar, force_terminal=True, width=120))
    r = invoke("demo", "--out", str(tmp_path), "--quick")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "index.html").exists()
    for scene in ("notebook-quadratic", "saddle"):
        assert scene in r.output
        assert (tmp_path / f"{scene}.gif").exists()
    assert "beale" not in r.output
    assert "stop reason" in r.output and "Adadelta" in r.output and "7/7" not in r.output
    assert "7/7" in bar.getvalue()
    assert "after-adam" in r.output and "val accuracy" in r.output and "AdamW" in r.output
