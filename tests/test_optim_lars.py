"""LARS against ``pytorch_optimizer.LARS`` (pytorch-optimizer 4.1.0; the authors published no
package), step for step in float64, on a matrix (trust ratio) and a vector (none)."""

from __future__ import annotations

import pytest
import torch
from modern_suite import assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory
from pytorch_optimizer import LARS as RefLARS

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")

OPTIONS = [
    {},
    dict(lr=0.1, weight_decay=0.1, trust_coefficient=0.02),
    dict(lr=0.1, weight_decay=0.01, momentum=0.5, dampening=0.3, nesterov=True),
    dict(lr=0.05, momentum=0.0, weight_decay=0.05),
]


@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
@pytest.mark.parametrize("kw", OPTIONS, ids=range(len(OPTIONS)))
def test_lars_equals_pytorch_optimizer(kw, foreach):
    p0 = start()
    ours = trajectory(lambda ps: oo.LARS(ps, **kw), p0)
    ref = trajectory(lambda ps: RefLARS(ps, foreach=foreach, **kw), p0)
    assert_same(ours, ref)
    assert ours[-1][0].sub(p0[0]).abs().max() > 1e-4


def test_lars_trust_ratio_is_one_at_a_zero_weight():
    """‖θ‖ = 0 (a zero-initialised layer): ratio 1, as in the reference."""
    p0 = [torch.zeros(3, 2, dtype=torch.float64)]
    assert_same(trajectory(lambda ps: oo.LARS(ps, lr=0.1, weight_decay=0.1), p0, steps=3),
                trajectory(lambda ps: RefLARS(ps, lr=0.1, weight_decay=0.1), p0, steps=3))


def test_lars_batched_runs_equal_the_runs_alone():
    """Per-run norms: parameters (R, 2, 3) are R layers of shape (2, 3)."""
    runs_equal_alone(oo.LARS, dict(lr=[0.1, 0.01, 0.5], momentum=[0.9, 0.5, 0.0], weight_decay=[0.0, 0.1, 0.3],
                                   trust_coefficient=[1e-3, 0.02, 0.1], dampening=[0.0, 0.2, 0.5]), {},
                     shape=(3, 2, 3))
    runs_equal_alone(oo.LARS, dict(lr=[0.1, 0.01, 0.5], momentum=[0.9, 0.5, 0.1]), dict(nesterov=True))


def test_lars_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.LARS(ps, lr=0.1, weight_decay=0.1))


def test_lars_bad_hyperparameters_name_the_argument():
    w = [torch.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\), got 1\.0$"):
        oo.LARS(w, momentum=1.0)
    with pytest.raises(ValueError, match=r"^trust_coefficient must be >= 0, got -1"):
        oo.LARS(w, trust_coefficient=-1)
    with pytest.raises(ValueError, match=r"LARS sums over each run, so a tensor hyperparameter must hold one value "
                                         r"per run"):
        oo.LARS(w, lr=torch.ones(1, 2))
