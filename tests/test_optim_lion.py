"""Lion against the authors' package ``lion-pytorch`` (0.2.5), step for step in float64."""

from __future__ import annotations

import pytest
import torch
from lion_pytorch import Lion as RefLion
from modern_suite import assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")

OPTIONS = [
    {},
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=3e-3, betas=(0.95, 0.98), weight_decay=0.5),
    dict(lr=0.02, weight_decay=1e-3, decoupled_weight_decay=True),
]


@pytest.mark.parametrize("kw", OPTIONS, ids=[str(k) for k in OPTIONS])
def test_lion_equals_lion_pytorch(kw):
    p0 = start()
    ours = trajectory(lambda ps: oo.Lion(ps, **kw), p0)
    ref = trajectory(lambda ps: RefLion(ps, **kw), p0)
    assert_same(ours, ref)
    assert ours[-1][0].sub(p0[0]).abs().max() > 0


def test_lion_param_groups_and_a_scheduled_lr_follow_lion_pytorch():
    """The fully decoupled decay divides by the constructor's lr in every group, also after
    a scheduler changed the lr (lion_pytorch's _init_lr)."""
    def run(cls):
        ps = [p.clone().requires_grad_() for p in start()]
        opt = cls([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}], lr=0.01, weight_decay=0.02,
                  decoupled_weight_decay=True)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
        out = []
        for k in range(30):
            for p in ps:
                p.grad = torch.sin(p.detach() + k)
            opt.step()
            sched.step()
            out.append([p.detach().clone() for p in ps])
        return out
    assert_same(run(oo.Lion), run(RefLion))


def test_lion_batched_runs_equal_the_runs_alone():
    runs_equal_alone(oo.Lion, dict(lr=[0.01, 0.001, 0.05], betas=([0.9, 0.5, 0.0], [0.99, 0.9, 0.5]),
                                   weight_decay=[0.0, 0.1, 1.0]), {})
    runs_equal_alone(oo.Lion, dict(lr=[0.01, 0.001, 0.05], weight_decay=[0.0, 0.1, 1.0]),
                     dict(decoupled_weight_decay=True))


def test_lion_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.Lion(ps, lr=0.01, weight_decay=0.1))


def test_lion_bad_hyperparameters_name_the_argument():
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^lr must be >= 0, got -0\.1 \(torch: Invalid learning rate: -0\.1\)$"):
        oo.Lion(w, lr=-0.1)
    with pytest.raises(ValueError, match=r"^betas\[1\] must be in \[0, 1\], got 1\.5$"):
        oo.Lion(w, betas=(0.9, 1.5))
    with pytest.raises(ValueError, match=r"^decoupled_weight_decay=True needs lr > 0 in the constructor"):
        oo.Lion(w, lr=0.0, weight_decay=0.1, decoupled_weight_decay=True)
    with pytest.raises(ValueError, match=r"^use_triton must be True or False"):
        oo.Lion(w, use_triton="yes")
