"""AdaBelief against the authors' package ``adabelief-pytorch`` (0.2.1), step for step in float64."""

from __future__ import annotations

import pytest
import torch
from adabelief_pytorch import AdaBelief as RefAdaBelief
from modern_suite import assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")

OPTIONS = [
    {},  # the package's defaults: eps 1e-16, decoupled decay, rectified, SGD steps before rho reaches 5
    dict(lr=0.01, rectify=False),  # the paper's Algorithm 2
    dict(lr=0.01, rectify=False, amsgrad=True, eps=1e-8),
    dict(lr=0.01, amsgrad=True, betas=(0.8, 0.9)),
    dict(lr=0.01, weight_decay=0.1, weight_decouple=False, betas=(0.5, 0.99)),
    dict(lr=0.01, weight_decay=0.05, fixed_decay=True),
    dict(lr=0.01, weight_decay=0.1, degenerated_to_sgd=False),
]


@pytest.mark.parametrize("kw", OPTIONS, ids=[str(k) for k in OPTIONS])
def test_adabelief_equals_adabelief_pytorch(kw, capsys):
    p0 = start()
    ours = trajectory(lambda ps: oo.AdaBelief(ps, **kw), p0)
    ref = trajectory(lambda ps: RefAdaBelief(ps, print_change_log=False, **kw), p0)
    assert_same(ours, ref)
    assert ours[-1][0].sub(p0[0]).abs().max() > 1e-3
    capsys.readouterr()  # the package prints which options are on
    oo.AdaBelief([torch.zeros(1, requires_grad=True)], print_change_log=True)
    assert capsys.readouterr().out == ""  # ours prints nothing


def test_adabelief_batched_runs_equal_the_runs_alone():
    # β₂ 0.999 / 0.9 / 0.5: the rectification starts at different steps in each run
    runs_equal_alone(oo.AdaBelief, dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.0], [0.999, 0.9, 0.5]),
                                        eps=[1e-16, 1e-8, 1e-3], weight_decay=[0.0, 0.1, 0.3]), {})
    runs_equal_alone(oo.AdaBelief, dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.0], [0.999, 0.9, 0.5])),
                     dict(degenerated_to_sgd=False))
    runs_equal_alone(oo.AdaBelief, dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.0], [0.999, 0.9, 0.5])),
                     dict(rectify=False, amsgrad=True))


def test_adabelief_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.AdaBelief(ps, lr=0.01, amsgrad=True, rectify=False))
    state_dict_round_trip(lambda ps: oo.AdaBelief(ps, lr=0.01, weight_decay=0.1))


def test_adabelief_bad_hyperparameters_name_the_argument():
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^betas\[0\] must be in \[0, 1\), got 1\.0 \(torch: Invalid beta "
                                         r"parameter at index 0: 1\.0\)$"):
        oo.AdaBelief(w, betas=(1.0, 0.999))
    with pytest.raises(ValueError, match=r"^eps must be >= 0, got -1e-08 \(torch: Invalid epsilon value: -1e-08\)$"):
        oo.AdaBelief(w, eps=-1e-8)
    with pytest.raises(ValueError, match=r"^rectify must be True or False"):
        oo.AdaBelief(w, rectify="no")
    with pytest.raises(ValueError, match=r"^weight_decouple must be True or False"):
        oo.AdaBelief(w, weight_decouple=None)
