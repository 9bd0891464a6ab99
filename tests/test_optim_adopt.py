"""ADOPT against the authors' package ``torch-adopt`` (0.1.0, ``adopt.ADOPT``), step for step in float64."""

from __future__ import annotations

import pytest
import torch
from adopt import ADOPT as RefADOPT
from modern_suite import assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory

import optimlab.optim as oo

pytestmark = [pytest.mark.usefixtures("float64"),  # the package calls a deprecated torch function:
              pytest.mark.filterwarnings("ignore:`torch._utils.is_compiling` is deprecated:UserWarning"),
              pytest.mark.filterwarnings("ignore:Use _accelerator_graph_capture_health_check:DeprecationWarning")]

OPTIONS = [
    {},
    dict(lr=0.01, weight_decay=0.1, decouple=True),
    dict(lr=0.01, weight_decay=0.1, betas=(0.5, 0.9), eps=1e-3),  # L2, also in v at the first step
    dict(lr=0.01, clip_lambda=None),  # the paper's first, unclipped version
    dict(lr=0.01, clip_lambda=lambda step: 0.5 + step ** 0.5),
]


@pytest.mark.parametrize("foreach", [False, True], ids=["loop", "foreach"])
@pytest.mark.parametrize("kw", OPTIONS, ids=range(len(OPTIONS)))
def test_adopt_equals_the_authors_package(kw, foreach):
    p0 = start()
    ours = trajectory(lambda ps: oo.ADOPT(ps, **kw), p0)
    ref = trajectory(lambda ps: RefADOPT(ps, foreach=foreach, **kw), p0)
    assert_same(ours, ref)
    assert ours[-1][0].sub(p0[0]).abs().max() > 1e-3


def test_adopt_clipping_is_active_in_these_tests():
    """The default clip c_t = (t−1)^¼ limits the normalised gradient here: without it the steps differ."""
    p0 = start()
    clipped = trajectory(lambda ps: oo.ADOPT(ps, lr=0.01), p0)
    free = trajectory(lambda ps: oo.ADOPT(ps, lr=0.01, clip_lambda=None), p0)
    assert (clipped[-1][0] - free[-1][0]).abs().max() > 1e-6


def test_adopt_batched_runs_equal_the_runs_alone():
    runs_equal_alone(oo.ADOPT, dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.0], [0.9999, 0.9, 0.5]),
                                    eps=[1e-6, 1e-3, 0.1], weight_decay=[0.0, 0.1, 0.3]), {})
    runs_equal_alone(oo.ADOPT, dict(lr=[0.01, 0.001, 0.05], weight_decay=[0.0, 0.1, 0.3]), dict(decouple=True))


def test_adopt_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.ADOPT(ps, lr=0.01, weight_decay=0.1, decouple=True))


def test_adopt_bad_hyperparameters_name_the_argument():
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^betas\[1\] must be in \[0, 1\), got 1\.0 \(torch: Invalid beta "
                                         r"parameter at index 1: 1\.0\)$"):
        oo.ADOPT(w, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"^eps must be >= 0, got -1\.0 \(torch: Invalid epsilon value: -1\.0\)$"):
        oo.ADOPT(w, eps=-1.0)
    with pytest.raises(ValueError, match=r"^clip_lambda must be a function of the step count or None, got 0\.25$"):
        oo.ADOPT(w, clip_lambda=0.25)
