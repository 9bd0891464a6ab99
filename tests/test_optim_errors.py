"""Bad input and bad gradients: validation messages, the non-finite-gradient policy,
and the registry (get / create / available / parse_spec)."""

from __future__ import annotations

import copy
import re
import warnings

import pytest
import torch

import optimlab.optim as oo

ALL = ["SGD", "NAG", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam", "RAdam"]
ADAM = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]


def w():
    return torch.zeros(2, 3, requires_grad=True)


# ------------------------------------------------------------------ validation
def raises(match, cls, **kw):
    with pytest.raises(ValueError, match=match):
        getattr(oo, cls)([w()], **kw)


@pytest.mark.parametrize("cls", ALL)
def test_lr_and_weight_decay_ranges(cls):
    """optimlab's sentence first, then torch's own (what torch's test_errors matches)."""
    raises(r"^lr must be >= 0, got -0\.1 \(torch: Invalid learning rate: -0\.1\)$", cls, lr=-0.1)
    raises(r"^weight_decay must be >= 0, got -1 \(torch: Invalid weight_decay value: -1\)$", cls, weight_decay=-1)
    raises(r"^lr_decay must be >= 0, got -0\.5 \(torch: Invalid lr_decay value: -0\.5\)$", cls, lr_decay=-0.5)
    raises(r"^lr must be finite, got nan$", cls, lr=float("nan"))
    raises(r"^lr must be a number or a tensor of numbers, got '0\.1'$", cls, lr="0.1")


@pytest.mark.parametrize("cls", ADAM)
def test_betas_and_eps(cls):
    raises(r"^betas\[0\] must be in \[0, 1\), got 1\.0 \(torch: Invalid beta parameter at index 0: 1\.0\)$", cls,
           betas=(1.0, 0.999))
    raises(r"^betas\[1\] must be in \[0, 1\), got -0\.1 \(torch: Invalid beta parameter at index 1: -0\.1\)$", cls,
           betas=(0.9, -0.1))
    raises(r"^eps must be >= 0, got -1e-08 \(torch: Invalid epsilon value: -1e-08\)$", cls, eps=-1e-8)


@pytest.mark.parametrize("cls,arg,value,rng,torch_says", [
    ("SGD", "momentum", -0.9, ">= 0", "Invalid momentum value"), ("SGD", "dampening", -0.1, ">= 0", ""),
    ("NAG", "momentum", -0.9, ">= 0", "Invalid momentum value"),
    ("RMSprop", "momentum", -0.9, ">= 0", "Invalid momentum value"),
    ("RMSprop", "alpha", -0.5, ">= 0", "Invalid alpha value"),
    ("RMSprop", "eps", -1.0, ">= 0", "Invalid epsilon value"),
    ("Adagrad", "eps", -1.0, ">= 0", "Invalid epsilon value"),
    ("Adagrad", "initial_accumulator_value", -0.1, ">= 0", "Invalid initial_accumulator_value value"),
    ("Adadelta", "rho", 1.5, r"in \[0, 1\]", "Invalid rho value"),
    ("Adadelta", "eps", -1.0, ">= 0", "Invalid epsilon value"),
    ("NAdam", "momentum_decay", -0.004, ">= 0", "Invalid momentum_decay value"),
])
def test_each_hyperparameter_names_argument_value_and_range(cls, arg, value, rng, torch_says):
    also = re.escape(f" (torch: {torch_says}: {value})") if torch_says else ""
    raises(rf"^{arg} must be {rng}, got {re.escape(repr(value))}{also}$", cls, **{arg: value})


def test_nesterov_needs_momentum_and_no_dampening():
    raises(r"nesterov=True needs momentum > 0, got momentum=0", "SGD", lr=0.1, nesterov=True)
    raises(r"nesterov=True needs dampening=0 in the torch form, got dampening=0\.5", "SGD", lr=0.1, momentum=0.9,
           nesterov=True, dampening=0.5)
    oo.SGD([w()], lr=0.1, momentum=0.9, nesterov=True, dampening=0.5, momentum_form="velocity")  # allowed there
    raises(r"nesterov=True needs momentum > 0", "SGD", lr=0.1, nesterov=True,
           momentum=torch.tensor([[0.9], [0.0]]))


def test_a_tensor_hyperparameter_with_a_bad_element():
    raises(r"^lr must be >= 0 in every element, got a tensor of shape \(3, 1\) whose element \(2, 0\) is -1\.0$",
           "Adam", lr=torch.tensor([[0.1], [0.2], [-1.0]]))
    raises(r"^betas\[1\] must be in \[0, 1\) in every element, got a tensor of shape \(2, 1\) whose element \(0, 0\) "
           r"is 1\.0$", "Adam", betas=(0.9, torch.tensor([[1.0], [0.9]])))
    raises(r"^momentum must be finite", "SGD", momentum=torch.tensor([0.9, float("inf")]))


def test_choices_and_incompatible_options():
    raises(r"^momentum_form must be one of 'torch', 'velocity'; got 'keras'$", "SGD", momentum_form="keras")
    raises(r"^nonfinite must be one of 'raise', 'skip', 'ignore'; got 'warn'$", "Adam", nonfinite="warn")
    raises(r"eps_in_sqrt=True and eps_hat=True exclude each other", "Adam", eps_in_sqrt=True, eps_hat=True)
    raises(r"give at most one of clipvalue, clipnorm and global_clipnorm", "Adam", clipvalue=1.0, clipnorm=1.0)
    raises(r"^clipnorm must be > 0, got 0\.0$", "Adam", clipnorm=0.0)
    raises(r"fused=True: RMSprop has no fused kernel", "RMSprop", fused=True)
    with pytest.raises(ValueError, match=r"fused=True is not possible here: eps_in_sqrt=True"):
        opt = oo.Adam([p := w()], fused=True, eps_in_sqrt=True)
        p.grad = torch.ones_like(p)
        opt.step()
    with pytest.raises(TypeError, match="momentun"):
        oo.SGD([w()], lr=0.1, momentun=0.9)
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        oo.Adam([w()], differentiable=True, fused=True)


def test_a_sparse_gradient_is_refused_without_change():
    p = torch.ones(3, requires_grad=True)
    opt = oo.Adam([p], lr=0.1)  # as torch's Adam; SGD and Adagrad take sparse gradients
    p.grad = torch.sparse_coo_tensor([[0]], [1.0], (3,), check_invariants=True)
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()
    assert torch.equal(p.detach(), torch.ones(3))


# -------------------------------------------------------------- non-finite grads
KW = {"SGD": dict(lr=0.1, momentum=0.9), "NAG": dict(lr=0.1), "RMSprop": dict(momentum=0.5, centered=True),
      "Adam": dict(amsgrad=True)}


def two_groups(cls, policy):
    g = torch.Generator().manual_seed(0)
    a, b, c = (torch.randn(3, 2, generator=g, dtype=torch.float64).requires_grad_() for _ in range(3))
    opt = getattr(oo, cls)([{"params": [a]}, {"params": [b, c], "lr": 0.05}], nonfinite=policy, **KW.get(cls, {}))
    return opt, [a, b, c]


def step(opt, ps, grads):
    def closure():
        for p, gr in zip(ps, grads):
            p.grad = gr.clone()
        return 0.0
    if isinstance(opt, oo.NAG):
        return opt.step(closure)
    closure()
    return opt.step()


def good(ps, k):
    return [torch.sin(p.detach() + k) for p in ps]


def bad(ps, k, value):
    gs = good(ps, k)
    gs[2][1, 0] = value  # in the last parameter of the second group: the first ones are fine
    return gs


def state_copy(opt):
    return copy.deepcopy(opt.state_dict()["state"])


def same_state(s1, s2):
    assert s1.keys() == s2.keys()
    for k in s1:
        assert s1[k].keys() == s2[k].keys()
        for name in s1[k]:
            assert torch.equal(torch.as_tensor(s1[k][name]), torch.as_tensor(s2[k][name])), (k, name)


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_default_raises_and_changes_nothing(cls, value):
    opt, ps = two_groups(cls, "raise")
    for k in range(3):
        step(opt, ps, good(ps, k))
    before, state = [p.detach().clone() for p in ps], state_copy(opt)
    with pytest.raises(FloatingPointError, match=r"non-finite gradient .* parameter 1 of param group 1 .*"
                                                 r"no parameter or state was changed"):
        step(opt, ps, bad(ps, 3, value))
    for p, q in zip(ps, before):
        assert torch.equal(p.detach(), q)
    same_state(state_copy(opt), state)


def test_a_huge_but_finite_gradient_is_not_flagged():
    """The cheap check sums the gradients; a sum that overflows must not raise by itself."""
    ps32 = [torch.zeros(3, 2, requires_grad=True) for _ in range(3)]
    big = [torch.full_like(p, 3e38) for p in ps32]  # float32: the sum overflows to inf
    opt = oo.SGD(ps32, lr=1e-30)
    for p, g in zip(ps32, big):
        p.grad = g
    opt.step()
    assert all(torch.isfinite(p).all() for p in ps32)


@pytest.mark.parametrize("cls", ALL)
def test_skip_skips_the_whole_step_with_a_warning(cls):
    opt, ps = two_groups(cls, "skip")
    ref, ref_ps = two_groups(cls, "raise")
    for k in range(3):
        step(opt, ps, good(ps, k))
        step(ref, ref_ps, good(ref_ps, k))
    state = state_copy(opt)
    with pytest.warns(RuntimeWarning, match="the step was skipped"):
        step(opt, ps, bad(ps, 3, float("nan")))
    same_state(state_copy(opt), state)  # step counts too
    for k in range(3, 8):  # then it goes on as if the bad step never happened
        step(opt, ps, good(ps, k))
        step(ref, ref_ps, good(ref_ps, k))
    for p, q in zip(ps, ref_ps):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize("cls", [c for c in ALL if c != "NAG"])
def test_ignore_is_torchs_behaviour(cls):
    opt, ps = two_groups(cls, "ignore")
    g = torch.Generator().manual_seed(0)
    tps = [torch.randn(3, 2, generator=g, dtype=torch.float64).requires_grad_() for _ in range(3)]
    ref = getattr(torch.optim, cls)([{"params": [tps[0]]}, {"params": tps[1:], "lr": 0.05}], **KW.get(cls, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        for k in range(4):
            grads = bad(ps, k, float("nan")) if k == 2 else good(ps, k)
            step(opt, ps, grads)
            step(ref, tps, grads)
    for p, q in zip(ps, tps):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert torch.isnan(ps[2]).any()


# ---------------------------------------------------------------------- registry
def test_get_is_case_insensitive_and_knows_keras_and_lecture_names():
    for name in ["sgd", "SGD", "rmsprop", "RMSProp", "rms_prop", "RMS-Prop", "adagrad", "adadelta", "adam", "Adam",
                 "adamw", "adamax", "nadam", "Nadam", "radam"]:
        assert oo.get(name).__name__.lower() == re.sub(r"[-_ ]", "", name).lower()
    assert oo.get("gd") is oo.SGD and oo.get("momentum") is oo.SGD and oo.get("nesterov") is oo.SGD
    assert oo.get("nag") is oo.NAG and oo.get("NAG") is oo.NAG and oo.get("amsgrad") is oo.Adam
    assert {"sgd", "nag", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "adamax", "nadam", "radam", "gd",
            "momentum", "nesterov", "amsgrad"} <= set(oo.available())
    assert oo.available() == sorted(oo.available())


def test_create_applies_the_names_presets_and_user_arguments_win():
    opt = oo.create([w()], "momentum", lr=0.1)
    assert isinstance(opt, oo.SGD) and opt.defaults["momentum"] == 0.9
    opt = oo.create([w()], "nesterov", lr=0.1, momentum=0.5)
    assert opt.defaults["nesterov"] is True and opt.defaults["momentum"] == 0.5
    assert oo.create([w()], "AMSGrad").defaults["amsgrad"] is True
    assert dict((n, c) for n, c, _, _ in oo.describe())["nag"] == "NAG"


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ValueError, match=r"unknown optimizer 'adamm'\. Did you mean 'adam'.*Available: .*sgd"):
        oo.get("adamm")
    with pytest.raises(ValueError, match=r"Did you mean 'rmsprop'"):
        oo.create([w()], "rmsprob")
    with pytest.raises(TypeError, match="must be a string"):
        oo.get(3)


def test_parse_spec():
    assert oo.parse_spec("adam") == ("adam", {})
    assert oo.parse_spec("Adam:lr=0.1,betas=(0.9,0.99),amsgrad=true") == \
        ("Adam", {"lr": 0.1, "betas": (0.9, 0.99), "amsgrad": True})
    assert oo.parse_spec(" momentum : lr=1e-2 , momentum=0.7, momentum_form=velocity, clipnorm=none") == \
        ("momentum", {"lr": 0.01, "momentum": 0.7, "momentum_form": "velocity", "clipnorm": None})
    name, kw = oo.parse_spec("sgd:lr=0.5,momentum=0.9,nesterov=True")
    opt = oo.create([w()], name, **kw)
    assert (opt.defaults["lr"], opt.defaults["nesterov"]) == (0.5, True)
    assert oo.spec_to_kwargs("adam:eps=1e-7") == {"eps": 1e-7}
    for bad_spec, msg in [("", "empty"), ("adamm:lr=1", "Did you mean"), ("adam:lr", "KEY=VALUE"),
                          ("adam:lr=1,lr=2", "given twice"), ("adam:lr=__import__('os')", "cannot read value"),
                          ("adam:lr=1+1j", "must be a number")]:
        with pytest.raises(ValueError, match=msg):
            oo.parse_spec(bad_spec)


def test_spec_option_names_are_the_constructors_case_insensitive():
    assert oo.parse_spec("adam:LR=0.1,Betas=(0.9,0.99)") == ("adam", {"lr": 0.1, "betas": (0.9, 0.99)})
    assert oo.parse_spec("keras.adam:Learning_Rate=0.1") == ("keras.adam", {"learning_rate": 0.1})
    # the names offered are the constructor's own (its signature, through **options to the base class)
    import inspect
    own = [n for n in inspect.signature(oo.SGD.__init__).parameters if n not in ("self", "params", "options")]
    base = [n for n in inspect.signature(oo.Optimizer.__init__).parameters if n not in ("self", "params", "defaults")]
    assert oo.registry.options("momentum") == own + [n for n in base if n not in own]
    with pytest.raises(ValueError) as e:
        oo.parse_spec("sgd:lr=0.1,momentm=0.9")
    assert str(e.value) == (f"unknown option 'momentm' for sgd; accepted: {', '.join(own + base)} "
                            f"(did you mean 'momentum' or 'momentum_form'?)")
    with pytest.raises(ValueError, match=r"^option 'betas' of adam wants a pair like \(0\.9, 0\.999\), got 0\.9$"):
        oo.parse_spec("adam:betas=0.9")
    with pytest.raises(ValueError, match="given twice"):
        oo.parse_spec("adam:lr=0.1,LR=0.2")
    with pytest.raises(ValueError, match="unknown option 'foo' for sgd"):  # the Python API too
        oo.create([w()], "sgd", foo=1)


def test_register(monkeypatch):
    from optimlab.optim import registry
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # leave the real one as it was

    class Mine(torch.optim.SGD):
        pass
    oo.register("My SGD", Mine, "a test optimizer", momentum=0.3)
    assert oo.get("my_sgd") is Mine and oo.create([w()], "mysgd", lr=0.1).defaults["momentum"] == 0.3
    with pytest.raises(TypeError, match="torch.optim.Optimizer subclass"):
        oo.register("bad", dict)
