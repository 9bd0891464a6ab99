"""Bring your own optimizer (issue 13 item 7): a ``torch.optim.Optimizer`` subclass in the
user's own module, named ``MODULE:CLASS[:KEY=VALUE,...]``, is run, swept and benchmarked
like a built-in one; it takes no tensor hyperparameters, so each run is computed alone."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

import optimlab
import optimlab.optim as oo
from optimlab.bench import split_specs, tune_configs
from optimlab.bench.protocol import trial_result
from optimlab.bench.store import TrialStore
from optimlab.cli import main
from optimlab.runner import run_batch, runs_layout, takes_tensor_hyper

MODULE = "byo_foreign_optimizers"
SOURCE = '''
import torch


class MySGD(torch.optim.Optimizer):
    """Heavy-ball SGD written as a plain torch optimizer: b <- mu*b + g, p <- p - lr*b."""

    tune = {"momentum": (0.0, 0.99)}

    def __init__(self, params, lr=0.01, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "b" not in state:
                    state["b"] = p.grad.clone()
                else:
                    state["b"].mul_(group["momentum"]).add_(p.grad)
                p.add_(state["b"], alpha=-group["lr"])  # alpha must be a number: no tensor hyperparameters


class BadTune(MySGD):
    tune = {"momentum": ("low", 1.0)}


not_a_class = 3
'''


@pytest.fixture()
def foreign(tmp_path, monkeypatch):
    (tmp_path / f"{MODULE}.py").write_text(textwrap.dedent(SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{MODULE}:MySGD"
    sys.modules.pop(MODULE, None)


def heavy_ball(x0, lr: float, mu: float, steps: int) -> np.ndarray:
    """NumPy transcription of heavy-ball momentum on booth (f = a² + b², a = x+2y−7, b = 2x+y−5)."""
    x, buf = np.array(x0, dtype=float), None
    for _ in range(steps):
        a, b = x[0] + 2 * x[1] - 7, 2 * x[0] + x[1] - 5
        g = np.array([2 * a + 4 * b, 4 * a + 2 * b])
        buf = g if buf is None else mu * buf + g
        x = x - lr * buf
    return x


def booth(x: np.ndarray) -> float:
    return float((x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2)


def test_a_class_spec_is_read_split_and_tuned_from_its_attribute(foreign):
    assert oo.parse_spec(f"{foreign}:lr=0.1,momentum=0.5") == (foreign, {"lr": 0.1, "momentum": 0.5})
    assert oo.get(foreign).__name__ == "MySGD" and oo.tuning(foreign) == {"momentum": (0.0, 0.99)}
    # the comma rule of -O and --optimizers: a KEY=VALUE after a comma stays with its spec
    assert split_specs(f"adam,{foreign}:lr=0.1,momentum=0.5,{foreign}") == \
        ["adam", f"{foreign}:lr=0.1,momentum=0.5", foreign]
    cfgs = tune_configs(foreign, 3, search="random", search_seed=1)
    assert len({c["momentum"] for c in cfgs}) == 3 and all(0.0 <= c["momentum"] <= 0.99 for c in cfgs)
    assert not takes_tensor_hyper(foreign) and runs_layout(foreign) == "alone"
    assert takes_tensor_hyper("momentum") and runs_layout("momentum") == "elementwise"
    assert [n for n in oo.available() if not takes_tensor_hyper(n)] == []  # every registered class stays batched


def test_runs_with_different_hyperparameters_are_each_the_run_alone(foreign):
    lrs, mus = [0.01, 0.02, 0.03], [0.9, 0.5, 0.0]
    batch = run_batch("booth", foreign, [1.0, -2.0], 7, hyper={"lr": lrs, "momentum": mus})
    for t, lr, mu in zip(batch, lrs, mus):
        alone = optimlab.run("booth", f"{foreign}:lr={lr},momentum={mu}", start=[1.0, -2.0], steps=7)
        np.testing.assert_array_equal(t.params, alone.params)
        np.testing.assert_allclose(t.params[-1], heavy_ball([1.0, -2.0], lr, mu, 7), rtol=1e-12, atol=1e-12)


def test_the_bench_command_equals_builtin_momentum_on_the_same_lr_grid(foreign, tmp_path, capsys):
    store = tmp_path / "b.sqlite"
    with pytest.raises(SystemExit) as done:
        main(["bench", "--suite", "booth", "-O", f"{foreign},momentum", "--budget", "3", "--seeds", "1",
              "--steps", "6", "--lr-range", "1e-3:0.05", "--store", str(store), "--out", str(tmp_path / "out")])
    assert done.value.code in (0, None), capsys.readouterr()
    with TrialStore(store) as st:
        rows = [st.get(i) for i in st.ids()]
    finals: dict[str, dict[float, float]] = {}
    for r in rows:
        if r["trial"]["phase"] == "tune":
            lr, final = r["trial"]["hyper"]["lr"], trial_result(r)["final"]
            finals.setdefault(r["trial"]["optimizer"], {})[lr] = final
            start = np.asarray(r["trace"].params)[0]  # the suite's start point for booth
            assert final == pytest.approx(booth(heavy_ball(start, lr, 0.9, 6)), rel=1e-12, abs=1e-12)
    assert set(finals) == {foreign, "momentum"} and len(finals[foreign]) == 3
    assert set(finals[foreign]) == set(finals["momentum"])  # the same lr grid; numbers equal to rounding
    for lr, final in finals[foreign].items():  # (torch's SGD multiplies by a tensor lr, MySGD by a float)
        assert final == pytest.approx(finals["momentum"][lr], rel=1e-12)


@pytest.mark.parametrize("spec,shown", [
    ("byo_no_such_module:MySGD", "optimizer 'byo_no_such_module:MySGD': no module named 'byo_no_such_module'"),
    (f"{MODULE}:MySDG", f"optimizer '{MODULE}:MySDG': module '{MODULE}' has no class 'MySDG' "
                        "(did you mean 'MySGD'?)"),
    (f"{MODULE}:not_a_class", f"optimizer '{MODULE}:not_a_class': not_a_class is not a torch.optim.Optimizer "
                              "subclass (it is a int)"),
    (f"{MODULE}:BadTune", f"{MODULE}:BadTune.tune['momentum'] must be a pair (lo, hi) of numbers"),
    (f"{MODULE}:MySGD:mu=0.9", f"unknown option 'mu' for {MODULE}:MySGD; accepted: lr, momentum"),
    ("adam:lr", "bad option 'lr' in optimizer spec 'adam:lr': write KEY=VALUE"),  # a registered name wins
])
def test_errors_are_one_line(foreign, capsys, tmp_path, spec, shown):
    with pytest.raises(SystemExit) as done:
        main(["bench", "--suite", "booth", "-O", spec, "--budget", "1", "--seeds", "1",
              "--store", str(tmp_path / "b.sqlite"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2 and len(err.splitlines()) == 1 and shown in err, err
    assert not (tmp_path / "out").exists()


def test_a_training_sweep_computes_each_configuration_alone(foreign):
    both = optimlab.sweep("problem:iris-softmax", foreign, grid={"lr": [0.01, 0.05]}, steps=4)
    builtin = optimlab.sweep("problem:iris-softmax", "momentum", grid={"lr": [0.01, 0.05]}, steps=4)
    alone = optimlab.sweep("problem:iris-softmax", foreign, grid={"lr": [0.05]}, steps=4).traces[0]
    np.testing.assert_array_equal(both.traces[1].values, alone.values)
    for t, ref in zip(both.traces, builtin.traces):
        np.testing.assert_allclose(t.values, ref.values, rtol=1e-6)  # float32: equal to rounding
