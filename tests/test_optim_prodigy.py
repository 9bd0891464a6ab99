"""Prodigy against the authors' package ``prodigyopt`` (1.1.2), step for step in float64."""

from __future__ import annotations

import copy

import pytest
import torch
from modern_suite import assert_same, grad_field, runs_equal_alone, start, state_dict_round_trip, trajectory
from prodigyopt import Prodigy as RefProdigy

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")

OPTIONS = [
    {},
    dict(lr=0.5, betas=(0.8, 0.99), beta3=0.9, weight_decay=0.1),  # decoupled decay
    dict(weight_decay=0.1, decouple=False, use_bias_correction=True),
    dict(safeguard_warmup=True, d0=1e-3, d_coef=0.5, growth_rate=1.05, eps=1e-6),
    dict(betas=(0.0, 0.9)),  # no first moment: the step uses g
    dict(slice_p=3),  # s, p0 and the sums on every 3rd element of the flattened parameter
    dict(slice_p=11, weight_decay=0.1, decouple=False, use_bias_correction=True),
]


@pytest.mark.parametrize("kw", OPTIONS, ids=[str(k) for k in OPTIONS])
def test_prodigy_equals_prodigyopt(kw, capsys):
    p0 = start()
    ours = trajectory(lambda ps: oo.Prodigy(ps, **kw), p0)
    ref = trajectory(lambda ps: RefProdigy(ps, **kw), p0)
    assert_same(ours, ref)
    assert ours[-1][0].sub(p0[0]).abs().max() > 1e-5  # d grows from d0 = 1e-6: small moves at first


@pytest.mark.parametrize("kw", [OPTIONS[0], OPTIONS[4], OPTIONS[6]], ids=["default", "beta1 0", "slice_p 11"])
def test_prodigy_with_kept_temporaries_equals_prodigyopt(kw, monkeypatch):
    """One parameter per run and every temporary in the buffers the optimizer keeps (what a CPU
    parameter of 2^18+ elements gets): the same numbers, alone and as batched runs."""
    monkeypatch.setattr(oo.Prodigy, "_KEPT_MIN", 1)
    monkeypatch.setattr(oo.Prodigy, "_chunk_elements", 1)
    p0 = start()
    assert_same(trajectory(lambda ps: oo.Prodigy(ps, **kw), p0), trajectory(lambda ps: RefProdigy(ps, **kw), p0))
    runs_equal_alone(oo.Prodigy, dict(lr=[1.0, 0.5, 0.1], d0=[1e-6, 1e-3, 1e-2]), kw)


def test_prodigy_groups_share_d_and_follow_prodigyopt():
    """Two groups (one with lr 0: frozen moments, still stepped), a zero gradient at the
    first step (nothing but the moments changes), the group keys after the run."""
    def run(cls):
        ps = [p.clone().requires_grad_() for p in start()]
        opt = cls([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.0, "weight_decay": 0.2}], weight_decay=0.05)
        for k in range(30):
            for p in ps:
                p.grad = torch.zeros_like(p) if k == 0 else torch.sin(3 * p.detach() + k)
            opt.step()
        return opt, [p.detach().clone() for p in ps]
    ours, x = run(oo.Prodigy)
    ref, x_ref = run(RefProdigy)
    assert_same([x], [x_ref])
    for g, h in zip(ours.param_groups, ref.param_groups):
        assert g["k"] == h["k"] == 29
        for key in ("d", "d_max", "d_numerator", "d_denom", "d_hat"):
            assert g[key] == pytest.approx(h[key], rel=1e-12, abs=0), key


def test_prodigy_refuses_unequal_group_lrs_before_anything_changes():
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = oo.Prodigy([{"params": [a]}, {"params": [b], "lr": 0.5}])
    a.grad, b.grad = torch.ones(2), torch.ones(2)
    with pytest.raises(RuntimeError, match=r"param group 1 has lr=0\.5; setting different lr values in different "
                                           r"parameter groups is only supported for values of 0"):
        opt.step()
    assert not opt.state and a.detach().eq(1).all()


def test_prodigy_batched_runs_equal_the_runs_alone():
    """Each run has its own d: the sums run over each run's elements (with slice_p, every k-th)."""
    runs_equal_alone(oo.Prodigy, dict(lr=[1.0, 0.5, 0.1], betas=([0.9, 0.5, 0.0], [0.999, 0.9, 0.5]),
                                      d0=[1e-6, 1e-3, 1e-2], weight_decay=[0.0, 0.1, 0.3]), {})
    # slice_p: every 3rd element of each run's p[r] flattened (state (R, ⌈n/3⌉)); a run with lr 0 keeps its s
    runs_equal_alone(oo.Prodigy, dict(lr=[1.0, 0.0, 0.1], d_coef=[1.0, 0.5, 2.0], growth_rate=[1.02, 1.5, 10.0]),
                     dict(use_bias_correction=True, safeguard_warmup=True, decouple=False, weight_decay=0.1, slice_p=3),
                     shape=(3, 2, 5))


def test_prodigy_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.Prodigy(ps, weight_decay=0.1, growth_rate=1.1))
    state_dict_round_trip(lambda ps: oo.Prodigy(ps, slice_p=3))


@pytest.mark.parametrize("slice_p", [1, 3])
def test_prodigy_resumes_a_prodigyopt_checkpoint(slice_p):
    """prodigyopt keeps s and p0 flattened (p0 0-d for a parameter that was all zeros): ours
    loads that state and goes on with the reference's iterates."""
    p0 = start() + [torch.zeros(2, 3)]
    ps = [p.clone().requires_grad_() for p in p0]
    ref = RefProdigy(ps, slice_p=slice_p)
    for k in range(32):
        if k == 12:
            qs = [p.detach().clone().requires_grad_() for p in ps]
            ours = oo.Prodigy(qs, slice_p=slice_p)
            ours.load_state_dict(copy.deepcopy(ref.state_dict()))
        for p in ps + (qs if k >= 12 else []):
            p.grad = grad_field(p.detach(), k)
        ref.step()
        if k >= 12:
            ours.step()
    assert ref.state[ps[2]]["p0"].dim() == 0
    assert_same([[q.detach() for q in qs]], [[p.detach() for p in ps]])


def test_prodigy_refuses_a_sliced_state_of_another_size():
    w = torch.zeros(3, 4, requires_grad=True)
    opt = oo.Prodigy([w], slice_p=3)
    w.grad = torch.ones(3, 4)
    opt.step()
    saved = copy.deepcopy(opt.state_dict())
    assert saved["state"][0]["s"].shape == (4,)
    saved["state"][0]["s"] = torch.zeros(5)
    with pytest.raises(RuntimeError, match=r"state\[0\]\['s'\] \(parameter 0 of shape \(3, 4\)\): the size of the "
                                           r"state tensor \(5,\)"):
        oo.Prodigy([w], slice_p=3).load_state_dict(saved)


def test_prodigy_bad_hyperparameters_name_the_argument():
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^d0 must be > 0, got 0\.0 \(torch: Invalid d0 value: 0\.0\)$"):
        oo.Prodigy(w, d0=0.0)
    with pytest.raises(ValueError, match=r"^eps must be > 0, got 0\.0 \(torch: Invalid epsilon value: 0\.0\)$"):
        oo.Prodigy(w, eps=0.0)
    with pytest.raises(ValueError, match=r"^growth_rate must be > 0, got -1"):
        oo.Prodigy(w, growth_rate=-1)
    with pytest.raises(ValueError, match=r"^slice_p must be an integer >= 1, got 0$"):
        oo.Prodigy(w, slice_p=0)
    with pytest.raises(ValueError, match=r"^slice_p must be an integer >= 1, got 2\.0$"):
        oo.Prodigy(w, slice_p=2.0)
    with pytest.raises(ValueError, match=r"^fsdp_in_use must be one of False; got True$"):
        oo.Prodigy(w, fsdp_in_use=True)
    with pytest.raises(ValueError, match=r"^lr_decay must be 0.0 here \(Prodigy estimates"):
        oo.Prodigy(w, lr_decay=0.1)
    with pytest.raises(ValueError, match=r"Prodigy sums over each run, so a tensor hyperparameter must hold one value "
                                         r"per run, shape \(R, 1, \.\.\.\)"):
        oo.Prodigy([torch.zeros(2, 3, requires_grad=True)], lr=torch.ones(1, 3))
