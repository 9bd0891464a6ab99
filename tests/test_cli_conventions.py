"""The command line's conventions (issue 14), through the real entry point ``optimlab.cli.main``:
one-line errors with exit status 2 in every subcommand, ``--version``, no torch before the
arguments are read, ``-O`` lists, the default start, and a new output folder per run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import call, one_line_error

import optimlab
from optimlab.cli import main
from optimlab.record import Trace

ROOT = Path(__file__).resolve().parents[1]


ACCEPTED_SGD = "accepted: lr, momentum, dampening, weight_decay, nesterov, momentum_form, maximize"
# every subcommand that takes optimizer specs, with the rest of a valid command line
COMMANDS = {
    "run": ["run", "beale", "--steps", "2"],
    "train": ["train", "iris-softmax", "--epochs", "1"],
    "sweep": ["sweep", "beale", "--grid", "eps=1e-8,1e-6", "--steps", "2"],
    "bench": ["bench", "--suite", "beale", "--budget", "1", "--seeds", "1"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("spec,shown", [
    ("sgd:foo=1", f"unknown option 'foo' for sgd; {ACCEPTED_SGD}"),
    ("sgd:lr=0.1,momentm=0.9", "(did you mean 'momentum' or 'momentum_form'?)"),
    ("adam:betas=0.9", "option 'betas' of adam wants a pair like (0.9, 0.999), got 0.9"),
])
def test_a_bad_spec_option_is_one_line_naming_the_accepted_names(capsys, tmp_path, command, spec, shown):
    text = one_line_error(capsys, *COMMANDS[command], "-O", spec, "--out", str(tmp_path / "out"))
    assert shown in text
    assert not (tmp_path / "out").exists()  # refused before anything is written


@pytest.mark.parametrize("argv,shown", [
    (["run"], "optimlab run: Missing argument 'FUNCTION_OR_FORMULA'. (see optimlab run --help)"),
    (["run", "beale", "-O", "adam", "--stpes", "3"], "No such option: --stpes (did you mean --steps or --stop?)"),
    (["run", "beale", "-O", "adam", "--zzz"], "No such option: --zzz; accepted: --optimizer, --start, --steps"),
    (["rn", "beale"], "No such command 'rn'. Did you mean 'run'?"),
    (["run", "beale", "-O", "adam", "--steps", "many"], "Invalid value for '--steps' / '-n': "),
    (["list", "problms"], "cannot list 'problms': choose functions, optimizers, problems, suites, schedules "
                          "(did you mean 'problems'?)"),
    (["run", "bael", "-O", "adam"], "unknown function 'bael'. Did you mean 'beale'"),
    (["train", "iris-sofmax"], "unknown problem 'iris-sofmax'. Did you mean 'iris-softmax'"),
    (["train"], "missing argument PROBLEM"),
    (["train", "iris-mlp", "--model", "softmax"], "--model is for CSV files; a named problem says its model "
                                                  "(DATASET-MODEL, e.g. iris-softmax), got --model softmax"),
    (["sweep", "beale", "-O", "adam", "-O", "sgd", "--grid", "lr=0.1,0.01"],
     "--optimizer: a sweep takes one optimizer (its options are swept by --grid), got 2: adam, sgd"),
    (["bench", "--suite", "beale"], "give --suite and -O/--optimizer"),
    (["run", "x**2 + y**2", "-O", "adam"], "--start is needed: x**2 + y**2 suggests no start point"),
])
def test_parser_and_name_errors_are_one_line(capsys, argv, shown):
    assert shown in one_line_error(capsys, *argv)


def test_an_out_folder_under_a_file_is_one_line_for_every_command(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for argv in (*COMMANDS.values(), ["demo"]):
        text = one_line_error(capsys, *argv, *(["-O", "adam"] if argv[0] != "demo" else []),
                              "--out", str(afile / "sub"))
        assert text == f"error: --out {str(afile / 'sub')!r} lies under {str(afile)!r}, which is a file"


def test_version(capsys):
    assert call(capsys, "--version") == (0, f"optimlab {optimlab.__version__}\n", "")


def test_help_version_and_argument_errors_load_no_torch_numpy_or_matplotlib():
    script = """
import json, sys
from optimlab.cli import main
codes = []
for argv in (["--help"], ["--version"], ["run", "--help"], ["run"], ["rn"], ["list", "colours"],
             ["run", "beale", "-O", "adam", "--start", "1,a"], ["train", "x", "--threads", "100000"],
             ["sweep", "beale", "--top", "0", "--grid", "lr=0.1"], ["bench", "--suite", "beale"],
             ["run", "beale", "-O", "sgd:foo=1"], ["train", "iris-softmax", "-O", "adamm"],
             ["sweep", "beale", "-O", "adam:betaz=(0.9,0.99)", "--grid", "lr=0.1"], ["run", "bael", "-O", "adam"],
             ["sweep", "Rosenbrok", "-O", "sgd", "--grid", "lr=0.1"]):
    try:
        main(argv)
    except SystemExit as e:
        codes.append(e.code)
print(json.dumps({"codes": codes, "loaded": sorted(m for m in ("torch", "numpy", "matplotlib") if m in sys.modules)}))
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result == {"codes": [0, 0, 0] + [2] * 12, "loaded": []}, r.stderr
    assert "unknown option 'foo' for sgd; accepted: lr, momentum" in r.stderr and "Did you mean 'adam'" in r.stderr


def printed_folder(stdout: str) -> Path:
    """The folder named by run's last line, ``Wrote N files to FOLDER (open FOLDER/index.html)``."""
    return Path(stdout.strip().splitlines()[-1].split(" files to ")[1].split(" (open ")[0])


@pytest.mark.slow
def test_comma_lists_the_default_start_and_a_new_folder_per_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stdout, err = call(capsys, "run", "beale", "-O", "sgd:lr=0.001,adam:LR=0.1,betas=(0.9,0.99)",
                             "-O", "momentum:lr=0.001", "--steps", "4")
    assert code == 0, err
    first = printed_folder(stdout)
    traces = {t.label: t for t in map(Trace.load, sorted(first.glob("*.npz")))}
    assert sorted(traces) == ["adam:LR=0.1,betas=(0.9,0.99)", "momentum:lr=0.001", "sgd:lr=0.001"]
    start = np.asarray(optimlab.functions.get("beale").starts[0], dtype=float)
    for label, spec in [("sgd:lr=0.001", "sgd:lr=0.001"),
                        ("adam:LR=0.1,betas=(0.9,0.99)", "adam:lr=0.1,betas=(0.9,0.99)")]:
        reference = optimlab.run("beale", spec, start=tuple(start), steps=4)  # the Python API, its own start
        np.testing.assert_array_equal(traces[label].params, reference.params)
    np.testing.assert_array_equal(traces["momentum:lr=0.001"].params[0], start)

    code, stdout, err = call(capsys, "run", "beale", "-O", "nag:lr=0.001", "--steps", "2")  # a second run
    assert code == 0, err
    second = printed_folder(stdout)
    assert first != second and first.parent == second.parent == Path("optimlab-out/run")
    assert sorted(p.parent for p in Path("optimlab-out/run").glob("*/index.html")) == sorted([first, second])
    for folder in (first, second):
        assert re.fullmatch(r"beale-\d{8}-\d{6}(-\d+)?", folder.name), folder
    assert [p.stem for p in second.glob("*.npz")] == ["nag_lr=0.001"]  # its own trace only, none of the first's


@pytest.mark.slow
def test_list_problems_and_suites_and_train_list(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one table row per line
    code, problems_out, err = call(capsys, "list", "problems")
    assert code == 0, err
    code, train_out, err = call(capsys, "train", "--list")
    assert code == 0, err
    assert train_out == problems_out.rsplit("\n", 2)[0] + "\n"  # the same table, less list's last hint line
    rows = {line.split("│")[1].strip(): line for line in problems_out.splitlines() if line.count("│") > 3}
    assert sorted(rows) == sorted(optimlab.problems.names())
    p = optimlab.problems.get("iris-softmax")
    assert f"{len(p.train)}/{len(p.val)}/{len(p.test)}" in rows["iris-softmax"]
    assert f"{p.info['source']} (4 features, 3 classes), Linear 4→3" in rows["iris-softmax"]
    code, suites_out, err = call(capsys, "list", "suites")
    from optimlab.bench.suites import SUITES
    for name, text in SUITES.items():
        assert any(name in line and text in line for line in suites_out.splitlines()), name


def test_ctrl_c_and_unexpected_errors_in_a_command(capsys, monkeypatch, tmp_path):
    from optimlab import runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run", interrupted)
    with pytest.raises(SystemExit) as e:
        main(["run", "booth", "-O", "sgd", "--quiet", "--out", str(tmp_path / "a")])
    assert e.value.code == 130  # typer's status for Ctrl-C, no traceback

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(runner, "run", broken)  # not a CLI error: it reaches the caller as itself
    with pytest.raises(OSError, match="disk on fire"):
        main(["run", "booth", "-O", "sgd", "--quiet", "--out", str(tmp_path / "b")])
