"""Lookahead against ``pytorch_optimizer.Lookahead`` (pytorch-optimizer 4.1.0; the authors published
no package), step for step in float64, wrapping optimlab's and torch's optimizers."""

from __future__ import annotations

import pytest
import torch
from modern_suite import STEPS, assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory
from pytorch_optimizer import Lookahead as RefLookahead

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")


@pytest.mark.parametrize("inner,inner_kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05))])
@pytest.mark.parametrize("kw", [{}, dict(k=3, alpha=0.8, pullback_momentum="reset"),
                                dict(k=4, alpha=0.3, pullback_momentum="pullback")], ids=range(3))
def test_lookahead_equals_pytorch_optimizer(inner, inner_kw, kw):
    """optimlab's inner class against torch's twin inside the reference wrapper."""
    p0 = start()
    ours = trajectory(lambda ps: oo.Lookahead(getattr(oo, inner)(ps, **inner_kw), **kw), p0)
    ref = trajectory(lambda ps: RefLookahead(getattr(torch.optim, inner)(ps, foreach=False, **inner_kw), **kw), p0)
    assert_same(ours, ref)
    plain = trajectory(lambda ps: getattr(oo, inner)(ps, **inner_kw), p0)
    assert (plain[-1][0] - ours[-1][0]).abs().max() > 1e-3  # the slow steps changed the path


def test_lookahead_built_by_name_or_class_is_the_same_optimizer():
    p0 = start()
    by_instance = trajectory(lambda ps: oo.Lookahead(oo.Adam(ps, lr=0.05), k=3), p0)
    by_name = trajectory(lambda ps: oo.create(ps, "lookahead", base="adam", lr=0.05, k=3), p0)
    by_class = trajectory(lambda ps: oo.Lookahead(oo.Adam, params=ps, lr=0.05, k=3), p0)
    assert_same(by_instance, by_name)
    assert_same(by_instance, by_class)


def test_lookahead_slow_weights_for_evaluation_and_state_dict_interchange():
    ps = [p.clone().requires_grad_() for p in start()]
    opt = oo.Lookahead(oo.SGD(ps, lr=0.1, momentum=0.9), k=4)
    for k in range(STEPS // 2 + 1):
        for p in ps:
            p.grad = torch.sin(p.detach() + k)
        opt.step()
    fast = [p.detach().clone() for p in ps]
    opt.backup_and_load_cache()
    assert_same([[p.detach() for p in ps]], [[opt.state[p]["slow_params"] for p in ps]])
    opt.clear_and_load_backup()
    assert_same([[p.detach() for p in ps]], [fast])
    qs = [p.detach().clone().requires_grad_() for p in ps]
    ref = RefLookahead(torch.optim.SGD(qs, lr=0.1, momentum=0.9), k=4)
    ref.load_state_dict(opt.state_dict())  # the same layout as the reference's
    assert ref.param_groups[0]["counter"] == opt.param_groups[0]["counter"] == 1
    assert_same([[ref.state[q]["slow_params"] for q in qs]], [[opt.state[p]["slow_params"] for p in ps]])


def test_lookahead_batched_runs_equal_the_runs_alone():
    runs_equal_alone(oo.Lookahead, dict(lr=[0.05, 0.01, 0.1], alpha=[0.5, 0.2, 0.9]), dict(base="adam", k=3))


def test_lookahead_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.Lookahead(oo.SGD(ps, lr=0.1, momentum=0.9), k=5,
                                                  pullback_momentum="pullback"))


def test_lookahead_bad_arguments_name_the_argument():
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^alpha must be in \[0, 1\], got 1\.5$"):
        oo.Lookahead(oo.SGD(w, lr=0.1), alpha=1.5)
    with pytest.raises(ValueError, match=r"^k must be a whole number of steps >= 1, got 2\.5$"):
        oo.Lookahead(oo.SGD(w, lr=0.1), k=2.5)
    with pytest.raises(ValueError, match=r"^k must be >= 1, got 0$"):
        oo.Lookahead(oo.SGD(w, lr=0.1), k=0)
    with pytest.raises(ValueError, match=r"^pullback_momentum must be one of 'none', 'reset', 'pullback'; got 'x'$"):
        oo.Lookahead(oo.SGD(w, lr=0.1), pullback_momentum="x")
    with pytest.raises(ValueError, match=r"^Lookahead: an optimizer instance takes no further arguments"):
        oo.Lookahead(oo.SGD(w, lr=0.1), lr=0.5)


def test_lookahead_by_name_checks_the_inner_optimizers_options():
    ps = [torch.zeros(2, requires_grad=True)]
    opt = oo.create(ps, "lookahead", base="sgd", LR=0.1, momentum=0.9, k=3)
    assert opt.optimizer.param_groups[0]["lr"] == 0.1 and opt.optimizer.param_groups[0]["momentum"] == 0.9
    with pytest.raises(ValueError, match=r"unknown option 'lrr' for lookahead; .*did you mean 'lr'"):
        oo.create(ps, "lookahead", base="sgd", lrr=0.1)
