"""One schedule over per-run learning rates (a sweep over lr) gives each run the learning rates
the schedule gives that lr alone (optimlab.runner.run_schedule), for schedules proportional to
their base lr and for those with learning rates of their own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import optimlab
from optimlab.runner import NotCompilable
from optimlab.runner.run_schedule import RunSchedule, known_proportional
from optimlab.schedules import PiecewiseConstant

L = torch.optim.lr_scheduler
START, STEPS = (1.0, -2.0), 25
SCHEDULES = {
    "step": (L.StepLR, {"step_size": 5, "gamma": 0.5}),
    "factory": lambda opt: L.LambdaLR(opt, lambda t: 0.9 ** t),
    "cosine eta_min": (L.CosineAnnealingLR, {"T_max": 20, "eta_min": 0.001}),  # proportional at t=0 only
    "piecewise absolute": (PiecewiseConstant, {"boundaries": [8, 16], "values": [0.02, 0.01, 0.001]}),
    "onecycle": (L.OneCycleLR, {"max_lr": 0.05, "total_steps": 40, "cycle_momentum": False}),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_a_sweep_over_lr_equals_each_run_alone(name):
    schedule = SCHEDULES[name]
    res = optimlab.sweep("booth", "momentum", grid={"lr": [0.001, 0.01, 0.003], "momentum": [0.5, 0.9]},
                         steps=STEPS, start=START, schedule=schedule, compile=False)
    for config, trace in zip(res.configs, res.traces):
        alone = optimlab.run("booth", ("momentum", config), START, STEPS, schedule=schedule, compile=False)
        np.testing.assert_allclose(trace.lrs, alone.lrs, rtol=1e-15)
        np.testing.assert_allclose(trace.params, alone.params, rtol=1e-13, atol=1e-15)


def test_the_probes_find_where_a_schedule_stops_being_proportional_and_replay_to_it():
    base = torch.tensor([[0.01], [0.002], [0.01]], dtype=torch.float64)
    rs = RunSchedule((L.CosineAnnealingLR, {"T_max": 10, "eta_min": 1e-3}), base)
    assert rs.proportional  # lr_0 = base: the factor 1
    np.testing.assert_array_equal(rs.lr(), base)
    rs.step()
    assert not rs.proportional  # eta_min + (lr_0 - eta_min)(1 + cos(pi/10))/2 is not lr_0 * f(1)
    want = [1e-3 + (v - 1e-3) * (1 + np.cos(np.pi / 10)) / 2 for v in (0.01, 0.002, 0.01)]
    np.testing.assert_allclose(rs.lr().reshape(-1).numpy(), want, rtol=1e-14)
    assert len(rs.per_value[1]) == 2  # one scheduler per distinct lr


def test_known_proportional_says_what_the_formulas_say():
    assert known_proportional((L.StepLR, {"step_size": 3})) and known_proportional(L.ExponentialLR)
    assert known_proportional((L.CosineAnnealingLR, {"T_max": 5})) is True
    assert not known_proportional((L.CosineAnnealingLR, {"T_max": 5, "eta_min": 1e-3}))
    assert known_proportional((PiecewiseConstant, {"boundaries": [2], "values": [1, 0.1], "relative": True}))
    assert not known_proportional((PiecewiseConstant, {"boundaries": [2], "values": [0.1, 0.01]}))
    assert not known_proportional(SCHEDULES["factory"]) and not known_proportional(SCHEDULES["onecycle"])
    # known by the formula: one probe, never checked; the others are watched step by step
    assert len(RunSchedule(SCHEDULES["step"], torch.ones(2, 1)).probes) == 1
    assert len(RunSchedule(SCHEDULES["factory"], torch.ones(2, 1)).probes) == 2


def test_a_schedule_that_cycles_the_momentum_is_refused_over_per_run_learning_rates():
    with pytest.raises(ValueError, match="OneCycleLR with cycle_momentum=True also sets the optimizer's momentum"):
        optimlab.sweep("booth", "momentum", grid={"lr": [0.01, 0.02]}, steps=3, start=START,
                       schedule=(L.OneCycleLR, {"max_lr": 0.05, "total_steps": 40}))
    # a number lr: the scheduler drives the optimizer itself, momentum included, as alone
    res = optimlab.sweep("booth", "momentum", grid={"momentum": [0.5, 0.9]}, steps=5, start=START,
                         schedule=(L.OneCycleLR, {"max_lr": 0.05, "total_steps": 40}), compile=False)
    assert len(res.traces) == 2


def test_compiled_runs_take_only_schedules_known_to_scale_with_the_lr(monkeypatch):
    from optimlab.runner import compiled

    monkeypatch.setattr(compiled, "BACKEND", "graph")  # no C++ compiler needed to decide
    with pytest.raises(NotCompilable, match="not known to scale with the base lr"):
        optimlab.sweep("booth", "adam", grid={"lr": [0.01, 0.02]}, steps=3, start=START, compile=True,
                       schedule=SCHEDULES["piecewise absolute"])
    auto = optimlab.sweep("booth", "adam", grid={"lr": [0.01, 0.02]}, steps=3, start=START, compile="auto",
                          schedule=SCHEDULES["piecewise absolute"])  # eagerly, the same numbers
    eager = optimlab.sweep("booth", "adam", grid={"lr": [0.01, 0.02]}, steps=3, start=START, compile=False,
                           schedule=SCHEDULES["piecewise absolute"])
    for a, b in zip(auto.traces, eager.traces):
        np.testing.assert_array_equal(a.params, b.params)
