"""optimlab.schedules against their closed forms, and Trace persistence."""


import numpy as np
import pytest
import torch

import optimlab
from optimlab.record import Trace
from optimlab.schedules import ExponentialDecay, InverseTimeDecay, PiecewiseConstant, Warmup


def _lrs(make, n=12, lr=0.5):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


def test_closed_forms():
    t = np.arange(12)
    np.testing.assert_allclose(_lrs(lambda o: InverseTimeDecay(o, 0.3)), 0.5 / (1 + 0.3 * t))
    np.testing.assert_allclose(_lrs(lambda o: InverseTimeDecay(o, 0.3, decay_steps=4, staircase=True)),
                               0.5 / (1 + 0.3 * np.floor(t / 4)))
    np.testing.assert_allclose(_lrs(lambda o: ExponentialDecay(o, 0.9)), 0.5 * 0.9 ** t)
    np.testing.assert_allclose(_lrs(lambda o: ExponentialDecay(o, 0.5, decay_steps=3, staircase=True)),
                               0.5 * 0.5 ** np.floor(t / 3))
    np.testing.assert_allclose(_lrs(lambda o: PiecewiseConstant(o, [3, 7], [0.1, 0.01, 0.001])),
                               [0.1] * 4 + [0.01] * 4 + [0.001] * 4)
    np.testing.assert_allclose(_lrs(lambda o: Warmup(o, 4, start_factor=0.2)),
                               0.5 * (0.2 + 0.8 * np.minimum(t, 4) / 4))


def test_inverse_time_decay_is_keras2_decay():
    # lr_t = lr/(1 + decay·t): the scheduler and the optimizer option give the same path
    f = lambda x: (x ** 4).sum(-1)  # noqa: E731
    a = optimlab.run(f, "sgd:lr=0.1,lr_decay=0.2", (1.5, -1.0), 30)
    b = optimlab.run(f, "sgd:lr=0.1", (1.5, -1.0), 30, schedule=(InverseTimeDecay, {"decay_rate": 0.2}))
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-15)


@pytest.mark.parametrize("make,match", [
    (lambda o: InverseTimeDecay(o, -1), "decay_rate"),
    (lambda o: ExponentialDecay(o, 0.9, decay_steps=0), "decay_steps"),
    (lambda o: PiecewiseConstant(o, [3, 2], [1, 2, 3]), "boundaries"),
    (lambda o: PiecewiseConstant(o, [3], [1]), "values"),
    (lambda o: Warmup(o, 0), "warmup_steps"),
])
def test_schedule_errors(make, match):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=match):
        make(opt)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_trace_round_trip(tmp_path, suffix):
    t = Trace(label="adam(lr=0.1)", config={"optimizer": "adam", "options": {"lr": 0.1}, "start": [1.0, 2.0]},
              series={"params": np.random.rand(5, 2), "values": np.array([1.0, 0.5, np.nan, np.inf, -np.inf])},
              epochs={"val_accuracy": np.array([0.5, 0.75])}, stop_reason="diverged", steps=4, meta={"k": [1, 2]})
    path = t.save(tmp_path / f"trace{suffix}")
    u = Trace.load(path)
    assert (u.label, u.config, u.stop_reason, u.steps, u.meta) == (t.label, t.config, t.stop_reason, t.steps, t.meta)
    np.testing.assert_array_equal(u.params, t.params)
    np.testing.assert_array_equal(u.values, t.values)
    np.testing.assert_array_equal(u.epochs["val_accuracy"], t.epochs["val_accuracy"])


def test_trace_subclass_is_restored(tmp_path):
    class Special(Trace):
        kind = "special-test"

    s = Special(label="x", series={"values": np.arange(3.0)})
    assert type(Trace.load(s.save(tmp_path / "s.npz"))) is Special
    with pytest.raises(KeyError, match="no series 'grad_norms'"):
        _ = s.grad_norms


def test_run_trace_saves(tmp_path):
    t = optimlab.run(lambda x: (x ** 2).sum(-1), "adam:lr=0.1", (1.0, 2.0), 10)
    u = Trace.load(t.save(tmp_path / "run.npz"))
    np.testing.assert_array_equal(u.params, t.params)
    assert u.config == t.config
