"""SOAP against ``pytorch-optimizer`` 4.1.0 (``SOAP``, a port of the authors' code; they publish no
package), step for step in float64 over 32 steps: three basis refreshes (eigh, then power
iteration and QR), tensors of 1, 2 and 3 dimensions; ``merge_dims`` on 3-D and 4-D tensors."""

from __future__ import annotations

import pytest
import torch
from modern_suite import R, assert_same, runs_equal_alone, start, state_dict_round_trip, trajectory
from pytorch_optimizer import SOAP as RefSOAP

import optimlab.optim as oo

pytestmark = pytest.mark.usefixtures("float64")

TOL = 1e-12

OPTIONS = [
    {},
    dict(lr=0.01, precondition_frequency=5, weight_decay=0.1),
    dict(lr=0.01, betas=(0.9, 0.99), shampoo_beta=0.8, precondition_1d=True, eps=1e-3),
    dict(lr=0.01, correct_bias=False, normalize_gradient=True, max_precondition_dim=3, maximize=True),
]


def three(seed: int = 2) -> list[torch.Tensor]:
    """A 3×4 matrix, a vector of 3 and a 2×3×2 tensor (one basis per dimension)."""
    g = torch.Generator().manual_seed(seed)
    return start() + [torch.randn(2, 3, 2, generator=g, dtype=torch.float64)]


@pytest.mark.parametrize("kw", OPTIONS, ids=range(len(OPTIONS)))
def test_soap_equals_pytorch_optimizer(kw):
    p0 = three()
    ours = trajectory(lambda ps: oo.SOAP(ps, **kw), p0)
    ref = trajectory(lambda ps: RefSOAP(ps, **kw), p0)
    assert_same(ours, ref, TOL)
    assert all(o.sub(p).abs().max() > 1e-3 for o, p in zip(ours[-1], p0))


def merged_start(seed: int = 5) -> list[torch.Tensor]:
    """With max_precondition_dim 6 and channels_last: (3, 2, 4, 3) merges as (3, 3, 2, 4) to
    (3, 6, 4), (7, 2, 3) to (1, 7, 6) (7 stays identity). No merged size exceeds the product
    of the others, so every first eigenbasis is unique (a larger one has repeated zero
    eigenvalues, whose eigenvectors depend on rounding)."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=g, dtype=torch.float64) for shape in ((3, 2, 4, 3), (7, 2, 3))]


def test_soap_merge_dims_equals_pytorch_optimizer():
    """Seven basis refreshes on the merged shapes, the same iterates; not those unmerged."""
    kw = dict(lr=0.01, merge_dims=True, max_precondition_dim=6, data_format="channels_last", precondition_frequency=4,
              weight_decay=0.1, normalize_gradient=True)
    p0 = merged_start()
    ours = trajectory(lambda ps: oo.SOAP(ps, **kw), p0)
    assert_same(ours, trajectory(lambda ps: RefSOAP(ps, **kw), p0), TOL)
    unmerged = trajectory(lambda ps: oo.SOAP(ps, **dict(kw, merge_dims=False)), p0)
    assert all((o - u).abs().max() > 1e-3 for o, u in zip(ours[-1], unmerged[-1]))


def test_soap_merge_dims_where_the_reference_fails():
    """A tensor that fits in one merged size is preconditioned as one vector (the reference's
    [1] fails to reshape it); a vector is not merged."""
    p0 = start()
    merged = trajectory(lambda ps: oo.SOAP(ps[:1], lr=0.01, merge_dims=True), p0[:1])
    flat = trajectory(lambda ps: oo.SOAP(ps, lr=0.01, precondition_1d=True), [p0[0].reshape(-1)])
    assert_same([[x[0].reshape(-1)] for x in merged], flat, TOL)
    vector = trajectory(lambda ps: oo.SOAP(ps, lr=0.01, merge_dims=True, precondition_1d=True), p0[1:])
    assert_same(vector, trajectory(lambda ps: oo.SOAP(ps, lr=0.01, precondition_1d=True), p0[1:]), TOL)


def test_the_basis_is_not_the_identity_in_these_tests():
    """Adam in SOAP's basis is not Adam: the rotation changes the iterates."""
    p0 = three()
    soap = trajectory(lambda ps: oo.SOAP(ps, lr=0.01, weight_decay=0.0), p0)
    adamish = trajectory(lambda ps: oo.SOAP(ps, lr=0.01, weight_decay=0.0, max_precondition_dim=1), p0)
    assert (soap[-1][0] - adamish[-1][0]).abs().max() > 1e-4


def test_soap_batched_runs_equal_the_runs_alone():
    """Each run has its own statistics and eigendecompositions (batched eigh and QR)."""
    per_run = dict(lr=[0.01, 0.001, 0.05], betas=([0.95, 0.5, 0.9], [0.95, 0.9, 0.99]), weight_decay=[0.0, 0.1, 0.3],
                   eps=[1e-8, 1e-3, 1e-6])
    runs_equal_alone(oo.SOAP, per_run, dict(precondition_frequency=4), TOL, shape=(R, 3, 4))
    runs_equal_alone(oo.SOAP, dict(lr=[0.01, 0.001, 0.05]), dict(normalize_gradient=True, precondition_1d=True),
                     TOL)  # a vector per run, with its own basis and RMS
    p0 = start(1, 3, 4)[:1]  # runs=True (what the runner passes) with one run: its (3, 4) matrix alone
    one = trajectory(lambda ps: oo.SOAP(ps, lr=0.01, runs=True), p0)
    assert_same([[s[0][0]] for s in one], trajectory(lambda ps: oo.SOAP(ps, lr=0.01), [p0[0][0]]), TOL)
    runs_equal_alone(oo.SOAP, dict(lr=[0.01, 0.001, 0.05]), dict(merge_dims=True, max_precondition_dim=6,
                                                                 data_format="channels_last", precondition_frequency=4),
                     TOL, shape=(R, 3, 2, 4, 3))  # each run's (3, 2, 4, 3) merged as alone


def test_soap_state_dict_round_trip():
    state_dict_round_trip(lambda ps: oo.SOAP(ps, lr=0.01, precondition_frequency=4))
    state_dict_round_trip(lambda ps: oo.SOAP(ps, lr=0.01, precondition_frequency=4, merge_dims=True))  # a 12 x 12 basis


def test_soap_bad_values_name_the_argument():
    w = [torch.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^merge_dims must be True or False \(true/false in a spec\), got 'yes'$"):
        oo.SOAP(w, merge_dims="yes")
    with pytest.raises(ValueError, match=r"^precondition_frequency must be an integer >= 1, got 2\.5$"):
        oo.SOAP(w, precondition_frequency=2.5)
    with pytest.raises(ValueError, match=r"^precondition_frequency must be >= 1, got 0$"):
        oo.SOAP(w, precondition_frequency=0)
    with pytest.raises(ValueError, match=r"^shampoo_beta must be in \[0, 1\), got 1\.0$"):
        oo.SOAP(w, shampoo_beta=1.0)
    z = torch.zeros(2, 2, dtype=torch.complex128, requires_grad=True)
    z.grad = torch.ones_like(z)
    with pytest.raises(RuntimeError, match=r"^SOAP does not support complex parameters$"):
        oo.SOAP([z]).step()
    opt = oo.SOAP(w)
    w[0].grad = torch.ones(2, 2)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["precond_q_1"] = torch.zeros(3, 3)
    with pytest.raises(RuntimeError, match=r"must be a real square matrix \(or one per run\) of a size of the "
                                           r"parameter \(or a product of consecutive sizes\), got a torch\.float64 "
                                           r"tensor of shape \(3, 3\); nothing"):
        oo.SOAP([torch.zeros(2, 2, requires_grad=True)]).load_state_dict(sd)
