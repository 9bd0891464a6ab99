"""torch's intra-op threads during a run: one for small problems, overridable, the caller's count restored."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import optimlab
from optimlab import engine
from optimlab.engine import THREADS_ENV, pick_threads
from optimlab.training import LambdaCallback, Trainer

CORES = os.cpu_count() or 1
pytestmark = pytest.mark.skipif(CORES < 2, reason="telling 1 thread from the caller's needs 2 cores")


@pytest.fixture
def caller_has_two_threads(monkeypatch):
    """The caller's setting is 2 threads (the tests' default is 1, set by conftest.py); no OPTIMLAB_THREADS."""
    monkeypatch.delenv(THREADS_ENV, raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _fit_threads(**fit_options) -> list[int]:
    """torch.get_num_threads() seen by a callback at each epoch end of a tiny fit."""
    seen: list[int] = []
    X, y = torch.randn(24, 4, generator=torch.Generator().manual_seed(0)), torch.arange(24) % 3
    trainer = Trainer(torch.nn.Linear(4, 3), loss="cross_entropy", optimizer="sgd:lr=0.1")
    trainer.fit((X, y), batch_size=8, epochs=2, seed=0, verbose=0,
                callbacks=[LambdaCallback(on_epoch_end=lambda t, e, logs: seen.append(torch.get_num_threads()))],
                **fit_options)
    return seen


def test_a_small_fit_runs_on_one_thread_and_gives_the_callers_count_back(caller_has_two_threads, monkeypatch):
    assert _fit_threads() == [1, 1] and torch.get_num_threads() == 2
    assert _fit_threads(threads=2) == [2, 2] and torch.get_num_threads() == 2
    monkeypatch.setenv(THREADS_ENV, "2")
    assert _fit_threads() == [2, 2]
    assert _fit_threads(threads=1) == [1, 1]  # the argument wins over the environment
    monkeypatch.setenv(THREADS_ENV, "auto")
    assert _fit_threads() == [1, 1]
    # a large problem keeps the caller's setting: here "large" is anything above 10 multiply-adds per step
    monkeypatch.setattr(engine, "SMALL_WORK", 10)
    assert _fit_threads() == [2, 2] and torch.get_num_threads() == 2


def test_runs_and_sweeps_choose_alike_and_restore_even_after_an_error(caller_has_two_threads):
    seen: list[int] = []
    optimlab.run("lecture-quadratic", "sgd:lr=0.01", (5, 5), 3, progress=lambda k: seen.append(torch.get_num_threads()))
    optimlab.compare("lecture-quadratic", ["adam"], (5, 5), 2, threads=2,
                     progress=lambda label, k: seen.append(torch.get_num_threads()))
    optimlab.sweep("lecture-quadratic", "sgd", grid={"lr": [0.01, 0.02]}, steps=2,
                   progress=lambda k, n: seen.append(torch.get_num_threads()))
    optimlab.sweep("problem:iris-softmax", "sgd", grid={"lr": [0.01, 0.1]}, steps=2, threads=2,
                   progress=lambda k, n: seen.append(torch.get_num_threads()))
    assert seen == [1, 1, 1, 2, 2, 1, 1, 2, 2] and torch.get_num_threads() == 2

    def stop(k):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        optimlab.run("lecture-quadratic", "sgd", (5, 5), 5, progress=stop)
    assert torch.get_num_threads() == 2


def test_pick_threads_and_its_errors(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert pick_threads(None, engine.SMALL_WORK) == 1 and pick_threads(None, engine.SMALL_WORK + 1) is None
    assert pick_threads(2, 0) == 2 and pick_threads("auto", 10**12) is None and pick_threads(np.int64(1)) == 1
    for bad in (0, CORES + 1, 1.5, True, "two", -1):
        with pytest.raises(ValueError, match=rf"threads must be an integer from 1 to {CORES} .* got {bad!r}"):
            pick_threads(bad)
    monkeypatch.setenv(THREADS_ENV, "many")
    with pytest.raises(ValueError, match=rf"OPTIMLAB_THREADS must be an integer from 1 to {CORES}.*'many'"):
        pick_threads()
    with pytest.raises(ValueError, match="threads must be"):  # checked before anything runs
        optimlab.sweep("lecture-quadratic", "sgd", grid={"lr": [0.1]}, steps=1, threads=0)


def test_optimlab_train_leaves_the_choice_to_the_library(caller_has_two_threads, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from optimlab.cli import app
    from optimlab.training import compare as compare_mod

    seen: list = []
    real = compare_mod.compare_training

    def spy(*args, **kwargs):
        seen.append(kwargs.get("threads"))
        return real(*args, **kwargs)

    monkeypatch.setattr(compare_mod, "compare_training", spy)
    monkeypatch.setattr("optimlab.training.compare_training", spy)
    args = ["train", "iris-softmax", "-O", "sgd:lr=0.1", "--epochs", "1", "--quiet"]
    assert CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")]).exit_code == 0
    assert CliRunner().invoke(app, [*args, "--threads", "2", "--out", str(tmp_path / "b")]).exit_code == 0
    assert seen == [None, 2] and torch.get_num_threads() == 2  # None: $OPTIMLAB_THREADS or the small-model rule
