"""A new optimizer is one module (issue 9): the toy optimizer below is declared and
registered in this file only, and the command line, the spec syntax, sweeps and the
bench find it by its name, with its declared ranges checked and tuned."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import optimlab
import optimlab.optim as oo
from optimlab.bench import run_bench, tune_configs
from optimlab.bench.protocol import trial_result
from optimlab.bench.store import TrialStore
from optimlab.cli import app
from optimlab.optim.hparams import Range
from optimlab.record import Trace


@oo.register_optimizer("clipped-descent", tune={"clip": (0.5, 2.0)})
class ToyClip(oo.Optimizer):
    """Clipped gradient descent (a test optimizer): θ ← θ − lr·clamp(g, −clip, clip)."""

    hparams = {"clip": Range(0.0, lo_open=True)}

    def __init__(self, params: Any, lr: Any = 0.1, clip: Any = 1.0, **options: Any) -> None:
        super().__init__(params, dict(lr=lr, clip=clip), **options)

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return False

    def _init_state(self, p: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        pass

    def _update(self, p: torch.Tensor, g: torch.Tensor, state: dict[str, Any], group: dict[str, Any],
                lr: Any) -> None:
        c = torch.as_tensor(group["clip"], dtype=g.dtype)
        p.sub_(lr * torch.maximum(torch.minimum(g, c), -c))


@pytest.fixture(scope="module", autouse=True)
def _forget_the_toy_afterwards():
    yield
    oo.unregister(ToyClip)


def booth_grad(x: np.ndarray) -> np.ndarray:
    a, b = x[0] + 2 * x[1] - 7, 2 * x[0] + x[1] - 5  # booth: f = a² + b², f* = 0
    return np.array([2 * a + 4 * b, 4 * a + 2 * b])


def booth(x: np.ndarray) -> float:
    return float((x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2)


def by_hand(x0, lr: float, clip: float, steps: int) -> np.ndarray:
    x = np.array(x0, dtype=float)
    for _ in range(steps):
        x = x - lr * np.clip(booth_grad(x), -clip, clip)
    return x


def test_found_by_name_and_validated_from_its_table():
    assert oo.get("toyclip") is ToyClip and oo.get("Clipped_Descent") is ToyClip
    assert oo.tuning("toyclip") == {"clip": (0.5, 2.0)}
    with pytest.raises(ValueError, match=r"^clip must be > 0, got -1\.0$"):
        oo.create([torch.zeros(2, requires_grad=True)], "toyclip", clip=-1.0)
    with pytest.raises(ValueError, match=r"^maximize must be True or False"):  # the base table applies too
        ToyClip([torch.zeros(2, requires_grad=True)], maximize="no")


def test_listed_and_run_by_the_command_line(tmp_path):
    r = CliRunner().invoke(app, ["list", "optimizers"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "toyclip" in r.output and "clippeddescent" in r.output, r.output
    r = CliRunner().invoke(app, ["run", "booth", "-O", "toyclip:lr=0.1,clip=0.5", "--start", "1,-2", "--steps", "6",
                                 "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    (saved,) = tmp_path.glob("*.npz")
    trace = Trace.load(saved)
    np.testing.assert_allclose(trace.params[-1], by_hand([1.0, -2.0], 0.1, 0.5, 6), rtol=1e-12, atol=1e-12)


def test_swept_on_the_runs_dimension():
    res = optimlab.sweep("booth", "toyclip", grid={"lr": [0.05, 0.1], "clip": [0.5, 3.0]}, steps=5, start=(1, -2))
    assert len(res) == 4
    for cfg, final in zip(res.configs, res.final_values):
        assert final == pytest.approx(booth(by_hand([1.0, -2.0], cfg["lr"], cfg["clip"], 5)), rel=1e-12, abs=1e-12)


def test_the_bench_tunes_its_declared_range(tmp_path):
    cfgs = tune_configs("toyclip", 4, search="random", search_seed=3)
    assert all(0.5 <= c["clip"] <= 2.0 for c in cfgs) and len({c["clip"] for c in cfgs}) == 4
    suite = [{"kind": "function", "name": "booth", "params": {}, "noise": 0.0, "start": [1.0, -2.0], "steps": 500,
              "target": 1e-6}]
    run_bench(suite, "toyclip", budget=2, seeds=1, steps=6, search="random", lr_range=(1e-3, 0.05),
              store=tmp_path / "b.sqlite")
    with TrialStore(tmp_path / "b.sqlite") as st:
        tuned = [r for r in (st.get(i) for i in st.ids()) if r["trial"]["phase"] == "tune"]
    assert len(tuned) == 2
    for r in tuned:
        hyper = r["trial"]["hyper"]
        assert set(hyper) == {"lr", "clip"} and 0.5 <= hyper["clip"] <= 2.0
        final = booth(by_hand([1.0, -2.0], hyper["lr"], hyper["clip"], 6))
        assert trial_result(r)["final"] == pytest.approx(final, rel=1e-9, abs=1e-12)
