"""AdEMAMix against ``pytorch-optimizer`` 4.1.0 (``AdEMAMix``; the authors publish no package),
step for step in float64, and its two warm-up schedules against the paper's formulas."""

from __future__ import annotations

import math

import pytest
import torch
from modern_suite import assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory
from pytorch_optimizer import AdEMAMix as RefAdEMAMix

import optimlab.optim as oo
from optimlab.optim.ademamix import alpha_schedule, beta3_schedule

pytestmark = pytest.mark.usefixtures("float64")

OPTIONS = [
    {},
    dict(lr=0.01, t_alpha_beta3=20),  # the warm-up ends at step 20 of 32: both sides of the min
    dict(lr=0.01, betas=(0.8, 0.99, 0.999), alpha=8.0, weight_decay=0.1, weight_decouple=True),
    dict(lr=0.01, weight_decay=0.1, weight_decouple=True, fixed_decay=True, eps=1e-3),
    dict(lr=0.02, weight_decay=0.2, t_alpha_beta3=10, maximize=True),  # L2 in the gradient
]


@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
@pytest.mark.parametrize("kw", OPTIONS, ids=range(len(OPTIONS)))
def test_ademamix_equals_pytorch_optimizer(kw, foreach):
    p0 = start()
    ours = trajectory(lambda ps: oo.AdEMAMix(ps, **kw), p0)
    ref = trajectory(lambda ps: RefAdEMAMix(ps, foreach=foreach, **kw), p0)
    assert_same(ours, ref)
    assert ours[-1][0].sub(p0[0]).abs().max() > 1e-3


def test_the_schedules_are_the_papers():
    """α(t) = min(tα/T, α); β₃(t) runs from β₁ (t = 0) to β₃ (t = T), the half-life ln ½/ln β growing linearly."""
    assert alpha_schedule(5.0, 3, 10) == pytest.approx(1.5, abs=1e-15) and alpha_schedule(5.0, 30, 10) == 5.0
    assert beta3_schedule(0.9, 0.9999, 0, 100) == pytest.approx(0.9, abs=1e-15)
    assert beta3_schedule(0.9, 0.9999, 100, 100) == pytest.approx(0.9999, abs=1e-15)
    half = [math.log(0.5) / math.log(beta3_schedule(0.9, 0.9999, t, 100)) for t in (0, 25, 50)]
    assert half[1] - half[0] == pytest.approx(half[2] - half[1], rel=1e-12) and half[2] > 10 * half[0]
    tensor = beta3_schedule(torch.tensor([[0.9], [0.5]]), torch.tensor([[0.9999], [0.99]]), 40, 100)
    assert tensor[1, 0].item() == pytest.approx(beta3_schedule(0.5, 0.99, 40, 100), abs=1e-15)


def test_ademamix_batched_runs_equal_the_runs_alone():
    runs_equal_alone(oo.AdEMAMix, dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.8], [0.999, 0.9, 0.5],
                                                                       [0.9999, 0.99, 0.9]),
                                       alpha=[5.0, 1.0, 0.0], eps=[1e-8, 1e-3, 0.1], weight_decay=[0.0, 0.1, 0.3]),
                     dict(t_alpha_beta3=20))
    runs_equal_alone(oo.AdEMAMix, dict(lr=[0.01, 0.001, 0.05], weight_decay=[0.0, 0.1, 0.3]),
                     dict(weight_decouple=True))


def test_ademamix_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.AdEMAMix(ps, lr=0.01, t_alpha_beta3=20, weight_decay=0.1))


def test_ademamix_bad_values_name_the_argument():
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^betas\[2\] must be in \[0, 1\), got 1\.0$"):
        oo.AdEMAMix(w, betas=(0.9, 0.999, 1.0))
    with pytest.raises(ValueError, match=r"^t_alpha_beta3 must be > 0, got 0"):
        oo.AdEMAMix(w, t_alpha_beta3=0)
    with pytest.raises(ValueError, match=r"^alpha must be >= 0, got -1\.0$"):
        oo.AdEMAMix(w, alpha=-1.0)
    with pytest.raises(ValueError, match=r"^weight_decouple must be True or False"):
        oo.AdEMAMix(w, weight_decouple="yes")
