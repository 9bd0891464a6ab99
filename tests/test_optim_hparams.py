"""Hyperparameter contract with torch (issue 8, items 5, 9, 11, 12): one-element tensors
are scalars, torch's own error inputs fail as in torch, booleans are booleans, and a
tensor that cannot broadcast as runs is refused before anything changes."""

from __future__ import annotations

import copy
import re
import warnings

import pytest
import torch
from torch_optim_db import OptimizerErrorEnum, optim_db

import optimlab.optim as oo

TWINS = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam", "RAdam"]
STEPS = 4


def grads(p: torch.Tensor, k: int) -> torch.Tensor:
    return torch.sin(3.0 * p.detach() + 0.7 * k) + 0.5 * p.detach()


def trajectory(make, p0: torch.Tensor) -> torch.Tensor:
    p = p0.clone().requires_grad_()
    opt = make([p])
    out = []
    for k in range(STEPS):
        p.grad = grads(p, k)
        opt.step()
        out.append(p.detach().clone())
    return torch.stack(out)


# ---------------------------------------------------- item 5: one element is a scalar
@pytest.mark.parametrize("name", TWINS)
@pytest.mark.parametrize("shape", [(1, 1), (1,), (1, 1, 1)])
def test_a_one_element_lr_of_any_shape_is_torchs_scalar_lr(name, shape):
    p0 = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lr = torch.full(shape, 0.05, dtype=torch.float64)
    ours = trajectory(lambda ps: getattr(oo, name)(ps, lr=lr), p0)
    theirs = trajectory(lambda ps: getattr(torch.optim, name)(ps, lr=lr.clone()), p0)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    assert ours.shape == (STEPS, 5)


def test_one_element_betas_and_momentum_are_scalars_too():
    p0 = torch.randn(4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    betas = (torch.tensor([[0.8]], dtype=torch.float64), torch.tensor([[0.99]], dtype=torch.float64))
    torch.testing.assert_close(trajectory(lambda ps: oo.Adam(ps, lr=0.1, betas=betas), p0),
                               trajectory(lambda ps: torch.optim.Adam(ps, lr=0.1, betas=(0.8, 0.99)), p0),
                               rtol=1e-12, atol=1e-12)
    mu = torch.tensor([[0.9]], dtype=torch.float64)
    torch.testing.assert_close(trajectory(lambda ps: oo.SGD(ps, lr=0.1, momentum=mu), p0),
                               trajectory(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), p0),
                               rtol=1e-12, atol=1e-12)


def test_the_given_tensor_still_drives_the_lr():
    """The group keeps a 0-d view of the one-element tensor: changing the tensor in place
    (as torch's schedulers do with a tensor lr) changes the lr."""
    lr = torch.tensor([[0.1]])
    p = torch.ones(3, requires_grad=True)
    opt = oo.SGD([p], lr=lr)
    assert opt.param_groups[0]["lr"].shape == () and opt.param_groups[0]["lr"].data_ptr() == lr.data_ptr()
    lr.fill_(0.5)
    p.grad = torch.ones(3)
    opt.step()
    torch.testing.assert_close(p.detach(), torch.full((3,), 0.5))


# ------------------------------------------------------ item 9: torch's test_errors
def _torch_error_inputs():
    for info in optim_db:
        name = info.optim_cls.__name__
        if name in TWINS and info.optim_error_inputs_func is not None:
            for e in info.optim_error_inputs_func(device="cpu", dtype=torch.float32):
                yield pytest.param(name, e, id=f"{name}-{e.optimizer_error_input.desc}")


@pytest.mark.parametrize("name,error_input", list(_torch_error_inputs()))
def test_torchs_own_error_inputs(name, error_input):
    """torch 2.13's TestOptimRenewed.test_errors with optimlab's class in place of torch's."""
    cls = getattr(oo, name)
    given = error_input.optimizer_error_input
    kind, regex = error_input.error_type, error_input.error_regex
    construct = error_input.error_on == OptimizerErrorEnum.CONSTRUCTION_ERROR
    if issubclass(kind, Warning):
        with pytest.warns(kind, match=regex):
            opt = cls(given.params, **given.kwargs)
            if not construct:
                opt.step()
        return
    with pytest.raises(kind, match=regex):
        opt = cls(given.params, **given.kwargs)
        if not construct:
            opt.step()


def test_a_tensor_that_broadcasts_as_runs_is_accepted_where_torch_would_refuse():
    w = torch.zeros(2, 3, requires_grad=True)
    runs = torch.tensor([[0.1], [0.2]])
    assert oo.Adam([w], lr=runs).param_groups[0]["lr"] is runs
    assert oo.Adam([w], betas=(0.9, torch.tensor([[0.99], [0.9]]))).param_groups[0]["betas"][0] == 0.9
    with pytest.raises(ValueError, match=r"betas must be all numbers or all tensors.*torch: betas must be either "
                                         r"both floats or both Tensors"):
        oo.Adam([w], betas=(0.9, torch.tensor([0.99])))
    with pytest.raises(ValueError, match=r"torch: lr as a Tensor is not supported for capturable=False and "
                                         r"foreach=True"):
        oo.AdamW([w], lr=runs, foreach=True)


# -------------------------------------------------------- item 11: booleans only
FLAGS = [("SGD", "nesterov"), ("SGD", "maximize"), ("SGD", "decoupled_weight_decay"), ("NAG", "maximize"),
         ("Adagrad", "eps_in_sqrt"), ("RMSprop", "centered"), ("RMSprop", "eps_in_sqrt"), ("Adadelta", "maximize"),
         ("Adam", "amsgrad"), ("Adam", "eps_in_sqrt"), ("Adam", "eps_hat"), ("Adam", "bias_correction"),
         ("AdamW", "amsgrad"), ("Adamax", "eps_inside_max"), ("Adamax", "bias_correction"),
         ("NAdam", "eps_in_sqrt"), ("NAdam", "bias_correction"), ("NAdam", "decoupled_weight_decay"),
         ("RAdam", "eps_in_sqrt"), ("RAdam", "decoupled_weight_decay"), ("Adam", "foreach"), ("Adam", "fused")]


@pytest.mark.parametrize("name,flag", FLAGS, ids=[f"{n}-{f}" for n, f in FLAGS])
@pytest.mark.parametrize("value", ["no", "False", 1, 0.0])
def test_a_boolean_option_takes_only_a_boolean(name, flag, value):
    w = torch.zeros(3, requires_grad=True)
    kw = {"momentum": 0.9} if name == "SGD" else {}
    with pytest.raises(ValueError, match=rf"^{flag} must be True or False \(true/false in a spec\), "
                                         rf"got {re.escape(repr(value))}"):
        getattr(oo, name)([w], **kw, **{flag: value})
    opt = getattr(oo, name)([w], **kw, **{flag: False})
    assert opt.param_groups[0][flag] is False


def test_spec_words_true_and_false_are_booleans_and_others_are_errors():
    w = torch.zeros(3, requires_grad=True)
    name, kw = oo.parse_spec("rmsprop:centered=true,eps_in_sqrt=False")
    opt = oo.create([w], name, **kw)
    assert (opt.param_groups[0]["centered"], opt.param_groups[0]["eps_in_sqrt"]) == (True, False)
    for spec, arg in [("rmsprop:centered=no", "centered"), ("adam:amsgrad=no", "amsgrad"),
                      ("adam:bias_correction=off", "bias_correction"), ("nadam:eps_in_sqrt=yes", "eps_in_sqrt")]:
        name, kw = oo.parse_spec(spec)
        with pytest.raises(ValueError, match=rf"^{arg} must be True or False"):
            oo.create([w], name, **kw)


# ------------------------------------------- item 12: refused before anything moves
def test_a_tensor_lr_that_does_not_broadcast_is_refused_at_construction():
    a, b = torch.ones(3, requires_grad=True), torch.ones(4, requires_grad=True)
    lr = torch.tensor([0.1, 0.2, 0.3])
    for name in TWINS + ["NAG"]:
        with pytest.raises(ValueError, match=r"^lr is a tensor of shape \(3,\), which does not broadcast against "
                                             r"parameter 1 of its param group \(shape \(4,\)\).*torch: Tensor lr "
                                             r"must be 1-element"):
            getattr(oo, name)([a, b], lr=lr)
    # the runs layout with a parameter of another rank in the same group: (R, 1) against (R,)
    w, bias = torch.zeros(2, 3, requires_grad=True), torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"^momentum is a tensor of shape \(2, 1\).*parameter 1 .*shape \(2,\)"):
        oo.SGD([w, bias], lr=0.1, momentum=torch.tensor([[0.9], [0.5]]))
    with pytest.raises(ValueError, match=r"^betas\[1\] is a tensor of shape \(2,\).*Tensor betas\[1\] must be "
                                         r"1-element"):
        oo.Adam([w], betas=(0.9, torch.tensor([0.9, 0.99])))


def test_add_param_group_refuses_a_group_the_tensor_lr_cannot_reach_and_changes_nothing():
    a, b = torch.ones(3, requires_grad=True), torch.ones(4, requires_grad=True)
    opt = oo.Adam([a], lr=torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"^lr is a tensor of shape \(3,\).*shape \(4,\)"):
        opt.add_param_group({"params": [b]})
    assert len(opt.param_groups) == 1 and b not in opt.state
    a.grad, b.grad = torch.ones(3), torch.ones(4)
    opt.step()  # the optimizer is as it was: a moves by its own lr, b is not touched
    torch.testing.assert_close(a.detach(), 1 - torch.tensor([0.1, 0.2, 0.3]))
    assert torch.equal(b.detach(), torch.ones(4)) and not opt.state[b]


@pytest.mark.parametrize("name", TWINS + ["NAG"])
def test_a_tensor_lr_set_after_construction_that_does_not_broadcast_refuses_the_step_whole(name):
    """A scheduler or a user may replace a group's lr later: a step it cannot run changes no
    parameter and no state (before: the first parameter moved, the second's state advanced)."""
    a, b = torch.ones(3, requires_grad=True), torch.ones(4, requires_grad=True)
    opt = getattr(oo, name)([a, b], lr=0.1, momentum=0.9) if name in ("SGD", "NAG") else getattr(oo, name)([a, b])
    a.grad, b.grad = torch.full((3,), 0.5), torch.full((4,), 0.5)
    opt.step(lambda: 0.0) if name == "NAG" else opt.step()
    before = [a.detach().clone(), b.detach().clone(), copy.deepcopy(opt.state_dict()["state"])]
    opt.param_groups[0]["lr"] = torch.tensor([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"^lr is a tensor of shape \(3,\), which does not broadcast against "
                                         r"parameter 1 of its param group \(shape \(4,\)\)"):
        opt.step(lambda: 0.0) if name == "NAG" else opt.step()
    assert torch.equal(a, before[0]) and torch.equal(b, before[1])
    after = opt.state_dict()["state"]
    for i, s in before[2].items():
        for k, v in s.items():
            assert torch.equal(torch.as_tensor(after[i][k]), torch.as_tensor(v)), (i, k)


def test_the_documented_runs_shapes_are_accepted():
    for p, lr in [(torch.zeros(4, 2, 3), torch.ones(4, 1, 1)), (torch.zeros(4, 3), torch.ones(4, 1)),
                  (torch.zeros(3), torch.ones(3)), (torch.zeros(2, 3), torch.ones(3))]:
        assert oo.SGD([p.requires_grad_()], lr=lr).param_groups[0]["lr"] is lr
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        oo.Adam([torch.zeros(2, 3, requires_grad=True)], lr=torch.tensor(0.1))  # 0-d: kept as given


@pytest.mark.parametrize("name", TWINS)
def test_a_one_element_lr_of_any_shape_set_after_construction_is_the_scalar_lr(name):
    """torch takes a one-element tensor lr of any shape whenever it is set (its _to_scalar at use)."""
    p0 = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def later(lib):
        def make(params):
            opt = getattr(lib, name)(params, lr=0.1)
            opt.param_groups[0]["lr"] = torch.full((1, 1), 0.05, dtype=torch.float64)
            return opt
        return make

    torch.testing.assert_close(trajectory(later(oo), p0), trajectory(later(torch.optim), p0), rtol=1e-12, atol=1e-12)
