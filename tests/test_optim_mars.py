"""MARS against ``pytorch-optimizer`` 4.1.0 (``MARS``, a port of the authors' code; they publish
no package), step for step in float64, the three MARS types and the AdamW of 1-D parameters."""

from __future__ import annotations

import pytest
import torch
from modern_suite import R, assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory
from pytorch_optimizer import MARS as RefMARS

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")

OPTIONS = [
    {},
    dict(lr=0.01, gamma=0.1, weight_decay=0.1, weight_decay_1d=0.0),
    dict(lr=0.01, mars_type="lion", weight_decay=0.05),
    dict(lr=0.01, optimize_1d=True, betas=(0.9, 0.999), eps=1e-3, ams_bound=True),
    dict(lr=0.02, lr_1d=0.05, betas_1d=(0.8, 0.9), fixed_decay=True, weight_decay=0.01, maximize=True),
]


def big_start():
    """A 3×4 matrix whose corrected gradient has a norm above 1 (the clip acts) and a vector (1-D path)."""
    return [4.0 * p for p in start()]


@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
@pytest.mark.parametrize("kw", OPTIONS, ids=range(len(OPTIONS)))
def test_mars_equals_pytorch_optimizer(kw, foreach):
    for p0 in (start(), big_start()):
        ours = trajectory(lambda ps: oo.MARS(ps, **kw), p0)
        ref = trajectory(lambda ps: RefMARS(ps, foreach=foreach, **kw), p0)
        assert_same(ours, ref)
        assert ours[-1][0].sub(p0[0]).abs().max() > 1e-3


SHAMPOO = [
    ((3, 4), {}),
    ((5, 3), dict(lr=0.01, optimize_1d=True, weight_decay=0.1)),  # tall; the vector by adamw
    ((4, 2, 3), dict(lr=0.02, gamma=0.1, maximize=True, weight_decay=0.05)),  # a 4 x 6 matrix, factor sqrt(4/2)
]


@pytest.mark.parametrize("shape, kw", SHAMPOO, ids=[str(s) for s, _ in SHAMPOO])
def test_mars_shampoo_equals_pytorch_optimizer(shape, kw):
    """The reference's bfloat16 Newton–Schulz, reproduced operation for operation: the same iterates."""
    p0 = [4.0 * p for p in start(*shape)]
    ours = trajectory(lambda ps: oo.MARS(ps, mars_type="shampoo", **kw), p0)
    ref = trajectory(lambda ps: RefMARS(ps, mars_type="shampoo", **kw), p0)
    assert_same(ours, ref)
    adamw = trajectory(lambda ps: oo.MARS(ps, **kw), p0)
    assert (ours[-1][0] - adamw[-1][0]).abs().max() > 1e-3  # the shampoo rule acts


def test_the_norm_clip_and_the_correction_act_in_these_tests():
    """Without γ (plain AdamW on g, clipped) and without the clip the iterates differ."""
    p0 = big_start()
    base = trajectory(lambda ps: oo.MARS(ps, lr=0.01), p0)
    plain = trajectory(lambda ps: oo.MARS(ps, lr=0.01, gamma=0.0), p0)
    assert (base[-1][0] - plain[-1][0]).abs().max() > 1e-4
    ps = [p.clone().requires_grad_() for p in p0]
    opt = oo.MARS(ps, lr=0.01)
    ps[0].grad, ps[1].grad = torch.full((R, 4), 2.0), torch.zeros(R)
    opt.step()  # c = 2(1 + γβ/(1−β)) everywhere, norm > 1: m = (1−β₁)·c/‖c‖
    c = 2.0 * (1 + 0.025 * 0.95 / 0.05)
    torch.testing.assert_close(opt.state[ps[0]]["exp_avg"], torch.full((R, 4), 0.05 * c / (c * 12 ** 0.5)))


def test_mars_batched_runs_equal_the_runs_alone():
    """Each run clips its own corrected gradient (the norm is per run)."""
    per_run = dict(lr=[0.01, 0.001, 0.05], betas=([0.95, 0.5, 0.9], [0.99, 0.9, 0.5]), gamma=[0.025, 0.1, 0.0],
                   weight_decay=[0.0, 0.1, 0.3])
    runs_equal_alone(oo.MARS, per_run, {}, shape=(R, 3, 4))
    runs_equal_alone(oo.MARS, per_run, dict(mars_type="lion"), shape=(R, 3, 4))
    runs_equal_alone(oo.MARS, dict(lr=[0.01, 0.001, 0.05], gamma=[0.025, 0.1, 0.0]), dict(optimize_1d=True))


def test_mars_shampoo_batched_runs_equal_the_runs_alone_to_bfloat16_precision():
    """One batched Newton–Schulz for the runs: its bfloat16 result may differ from a single
    matrix's in the last bit (as Muon's), so 1e-4 on steps of lr ≤ 0.01."""
    per_run = dict(lr=[0.01, 0.001, 0.005], betas=([0.95, 0.5, 0.9], [0.99, 0.9, 0.5]), weight_decay=[0.0, 0.1, 0.3])
    runs_equal_alone(oo.MARS, per_run, dict(mars_type="shampoo"), shape=(R, 5, 2, 3), tol=1e-4)  # 5 x 6 per run


def test_mars_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.MARS(ps, lr=0.01, weight_decay=0.1, ams_bound=True))
    state_dict_round_trip(lambda ps: oo.MARS(ps, lr=0.01, mars_type="shampoo", optimize_1d=True))


def test_mars_bad_values_name_the_argument():
    w = [torch.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^mars_type must be one of 'adamw', 'lion', 'shampoo'; got 'muon'$"):
        oo.MARS(w, mars_type="muon")
    with pytest.raises(ValueError, match=r"^decoupled_weight_decay must be True here \(MARS's weight decay is "
                                         r"decoupled; weight_decouple=False is not supported\), got False$"):
        oo.MARS(w, weight_decouple=False)
    with pytest.raises(ValueError, match=r"^cautious must be False here"):
        oo.MARS(w, cautious=True)
    with pytest.raises(ValueError, match=r"^lr must be > 0 for MARS unless optimize_1d=True"):
        oo.MARS(w, lr=0.0)
    with pytest.raises(ValueError, match=r"^gamma must be >= 0, got -1\.0$"):
        oo.MARS(w, gamma=-1.0)
