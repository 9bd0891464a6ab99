"""What a fresh Python process loads and keeps: the checks that need an interpreter of their own
(this test process imported torch._dynamo and optimlab.training, registered plugins and picked
matplotlib's backend long before).

The checks share one interpreter, started once by the ``probe`` fixture (each check started its
own: 2-3.5 s of CPU apiece on the 2-core CI machine, about 10 s for the four). Its parts run one
after the other, in an order where what an earlier part loads can only make a later check fail,
never pass: every check is that something is *not* loaded or *not* changed, or that a table is
the registry's. Each part's exit status, output and result are kept apart, so a failing part
fails its own test only. (The check that the command line's light paths load no torch stays in
tests/test_cli_conventions.py, in a process of its own: it calls the entry point, which picks
the Agg backend, and it must run before anything loads torch.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from optimlab.record import History

ROOT = Path(__file__).resolve().parents[1]

# The parts, in the order they run; each one prints its result (one JSON value) as its last line.
PARTS = {
    # History lives in optimlab.record beside Trace: Trace.load knows it without optimlab.training
    "history": """
        from optimlab.record import Trace
        t = Trace.load(FOLDER + "/h.npz")
        npz = [type(t).__name__, t.values.tolist(), list(t.history["loss"])]
        t = Trace.load(FOLDER + "/h.json")
        print(json.dumps({"npz": npz, "json": [type(t).__name__, t.iterations_per_epoch, t.values.tolist()],
                          "training": "optimlab.training" in sys.modules}))
    """,
    # torch.optim.Optimizer wraps add_param_group, zero_grad, state_dict and load_state_dict in
    # torch._disable_dynamo, whose first call imports torch._dynamo (2-3 s per process)
    "no_dynamo": """
        import torch
        import optimlab.optim as oo
        names = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam"]
        for name in names:
            p = torch.nn.Parameter(torch.randn(3))
            opt = getattr(oo, name)([p], lr=0.1)
            opt.add_param_group({"params": [torch.nn.Parameter(torch.randn(2))]})
            for _ in range(2):
                opt.zero_grad()
                (p ** 2).sum().backward()
                opt.step()
            opt.load_state_dict(opt.state_dict())
        print(json.dumps("torch._dynamo" in sys.modules))
    """,
    # the command line's name table, without the plugins that other tests register
    "name_table": """
        from pathlib import Path
        import optimlab
        from optimlab.cli import _index
        from optimlab.optim import registry

        assert (Path(_index.__file__).parent / "_index_data.py").read_text() == _index.index_source(), (
            "the optimizer table is stale: run python tools/cli_index.py")
        for bad in ("sgd:foo=1", "adam:LRR=0.1", "adamm", "Keras.Adamm:lr=1", "sgd:lr=0.1,momentm=0.9",
                    "lion:betas2=1"):
            try:
                registry.parse_spec(bad)
            except ValueError as e:
                assert _index.quick_spec_error(bad, index=True) == str(e), bad
            else:
                raise AssertionError(bad)
        for fine_or_for_the_registry in ("adam:LR=0.1", "keras.adam:learning_rate=0.1", "lookahead:base=sgd,lr=0.1",
                                         "mymodule:MyOptimizer", "mymodule:MyOptimizer:lr=0.1", "sgd:lr=(", "sgd:=1"):
            assert _index.quick_spec_error(fine_or_for_the_registry, index=True) is None, fine_or_for_the_registry
        for bad in ("bael", "Rosenbrok", "pi", "sin", "x_y"):
            try:
                optimlab.functions.resolve(bad)
            except ValueError as e:
                assert _index.quick_function_error(bad, index=True) == str(e), bad
            else:
                raise AssertionError(bad)
        for fine_or_for_the_registry in ("beale", "Six-Hump Camel", "x", "x**2 + y", "x-y", "bael:dim=3", "e"):
            assert _index.quick_function_error(fine_or_for_the_registry, index=True) is None, fine_or_for_the_registry
        print(json.dumps("ok"))
    """,
    # a notebook sets its backend (MPLBACKEND=module://matplotlib_inline...); importing any optimlab
    # module, pictures and pages included, must not switch it to Agg (the process runs with MPLBACKEND=svg)
    "backend": """
        import matplotlib, optimlab, optimlab.viz, optimlab.viz.sweeps, optimlab.viz.training
        import optimlab.report, optimlab.demo, optimlab.cli, optimlab.bench
        import matplotlib.pyplot as plt
        print(json.dumps(matplotlib.get_backend()))
    """,
}

# Runs the parts in order, each with its stdout and stderr (file descriptors 1 and 2) in files of
# its own; a part that raises is reported by its exit status 1 and its traceback, and the next runs.
RUNNER = """
import json, os, sys, traceback
FOLDER, PARTS = sys.argv[1], json.loads(sys.stdin.read())
for name, code in PARTS.items():
    saved = os.dup(1), os.dup(2)
    with open(f"{FOLDER}/{name}.out", "w") as out, open(f"{FOLDER}/{name}.err", "w") as err:
        os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)
        status = 0
        try:
            exec(compile(code, name, "exec"), {"json": json, "sys": sys, "FOLDER": FOLDER})
        except BaseException:
            traceback.print_exc()
            status = 1
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
    with open(f"{FOLDER}/{name}.status", "w") as fh:
        fh.write(str(status))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """``{part: (exit status, stdout, stderr)}`` of the parts, run in one fresh interpreter."""
    folder = tmp_path_factory.mktemp("fresh")
    History(label="x", series={"loss": [3.0, 2.0], "lr": [0.1, 0.1], "time": [0.0, 1.0], "epoch": [0, 0]},
            epochs={"loss": [2.5]}).save(folder / "h.npz")
    History(label="run", series={"loss": np.array([3.0, 2.0])}, epochs={"loss": np.array([2.5])},
            meta={"iterations_per_epoch": 2}).save(folder / "h.json")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "svg"}
    parts = {name: textwrap.dedent(code) for name, code in PARTS.items()}
    p = subprocess.run([sys.executable, "-c", RUNNER, str(folder)], input=json.dumps(parts), env=env,
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    return {name: (int((folder / f"{name}.status").read_text()), (folder / f"{name}.out").read_text(),
                   (folder / f"{name}.err").read_text()) for name in PARTS}


def result(probe, part):
    """The JSON value that ``part`` printed last (after checking that it ran to its end)."""
    status, out, err = probe[part]
    assert status == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh Python process (one for this module's tests)
def test_a_saved_history_loads_as_a_history_in_a_fresh_process(probe):
    assert result(probe, "history") == {"npz": ["History", [3.0, 2.0], [2.5]], "json": ["History", 2, [3.0, 2.0]],
                                        "training": False}


@pytest.mark.slow  # a fresh Python process (one for this module's tests)
def test_creating_stepping_and_saving_an_optimizer_does_not_import_torch_dynamo(probe):
    assert result(probe, "no_dynamo") is False


def test_the_command_lines_name_table_is_current_and_says_what_the_registry_says(probe):
    assert result(probe, "name_table") == "ok"


@pytest.mark.slow  # a fresh Python process (one for this module's tests)
def test_importing_optimlab_keeps_the_users_matplotlib_backend(probe):
    assert result(probe, "backend").lower() == "svg"
