"""optimlab.optim against its torch.optim twin, step by step, in float64 to 1e-12.

Each case runs both optimizers for 30 steps on the same parameters with the same
deterministic gradient field and compares every iterate. Both our paths are
checked where a fused kernel exists: ``fused=None`` (uses torch's fused kernel when
the arithmetic is identical) and ``fused=False`` (the readable formula).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimlab.optim as oo

STEPS = 30
TOL = dict(rtol=1e-12, atol=1e-12)


def grad_field(p: torch.Tensor, k: int) -> torch.Tensor:
    """A gradient that depends on the parameter and the step (so paths that drift apart stay apart)."""
    return 0.5 * p + torch.sin(3.0 * p + 0.7 * k) + 0.1 * torch.cos(k * p)


def make_params(seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 3, generator=g, dtype=torch.float64),
            torch.randn(5, generator=g, dtype=torch.float64),
            torch.randn(2, 2, 2, generator=g, dtype=torch.float64)]


def trajectory(cls, kwargs, groups=None, steps=STEPS, seed=0):
    """Iterates of ``cls`` (list over steps of lists of tensors).

    ``groups``: per-group extra hyperparameters; the params are split over them.
    """
    ps = [p.clone().requires_grad_() for p in make_params(seed)]
    if groups:
        chunks = [ps[:1], ps[1:2], ps[2:]][:len(groups)]
        chunks[-1] = ps[len(groups) - 1:]
        opt = cls([{"params": c, **g} for c, g in zip(chunks, groups)], **kwargs)
    else:
        opt = cls(ps, **kwargs)
    out = []
    for k in range(steps):
        for p in ps:
            p.grad = grad_field(p.detach(), k)
        opt.step()
        out.append([p.detach().clone() for p in ps])
    return out


def assert_same_trajectory(a, b, equal_nan=False):
    assert len(a) == len(b) >= STEPS
    for k, (xa, xb) in enumerate(zip(a, b)):
        for x, y in zip(xa, xb):
            torch.testing.assert_close(x, y, **TOL, equal_nan=equal_nan, msg=lambda m, k=k: f"step {k + 1}: {m}")


# Every torch option of every optimizer, alone and combined.
CASES = {
    "SGD": [dict(), dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
            dict(lr=0.05, momentum=0.8, dampening=0.3), dict(lr=0.05, weight_decay=0.1),
            dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True),
            dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)],
    "Adagrad": [dict(), dict(lr=0.1, lr_decay=0.05), dict(lr=0.1, weight_decay=0.1),
                dict(lr=0.1, initial_accumulator_value=0.3, eps=1e-3), dict(lr=0.1, maximize=True),
                dict(lr=0.2, lr_decay=0.1, weight_decay=0.05, initial_accumulator_value=0.1, maximize=True)],
    "RMSprop": [dict(), dict(lr=0.01, alpha=0.9, eps=1e-4), dict(lr=0.01, momentum=0.9),
                dict(lr=0.01, centered=True), dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
                dict(lr=0.01, maximize=True, momentum=0.3)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.8, eps=1e-3), dict(weight_decay=0.1), dict(maximize=True, lr=0.3)],
    "Adam": [dict(), dict(lr=0.01, betas=(0.8, 0.99)), dict(lr=0.01, amsgrad=True), dict(lr=0.01, weight_decay=0.1),
             dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.01, eps=1e-3, maximize=True),
             dict(lr=0.02, amsgrad=True, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)],
    "AdamW": [dict(), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, amsgrad=True),
              dict(lr=0.01, betas=(0.7, 0.9), maximize=True)],
    "Adamax": [dict(), dict(lr=0.01, betas=(0.8, 0.99)), dict(lr=0.01, weight_decay=0.1, eps=1e-3),
               dict(lr=0.01, maximize=True)],
    "NAdam": [dict(), dict(lr=0.01, momentum_decay=0.05), dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
              dict(lr=0.01, maximize=True, betas=(0.8, 0.9))],
    "RAdam": [dict(), dict(lr=0.01, betas=(0.8, 0.9)), dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.01, maximize=True)],
}
FUSED = {"SGD", "Adagrad", "Adam", "AdamW"}
PARAMS = [(name, kw) for name, kws in CASES.items() for kw in kws]


@pytest.mark.parametrize("name,kw", PARAMS, ids=[f"{n}-{i}" for n, kws in CASES.items() for i in range(len(kws))])
@pytest.mark.parametrize("fused", [None, False])
def test_same_iterates_as_torch(name, kw, fused):
    ref = trajectory(getattr(torch.optim, name), kw)
    ours = trajectory(getattr(oo, name), {**kw, "fused": fused})
    assert_same_trajectory(ours, ref)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_path_is_taken_and_matches_torch_fused(name):
    """fused=None really runs torch's fused kernel and agrees with torch's own fused=True;
    fused=False never calls it."""
    kw = dict(lr=0.05, momentum=0.9) if name == "SGD" else dict(lr=0.05)
    kernel = {"SGD": "_fused_sgd_", "Adagrad": "_fused_adagrad_", "Adam": "_fused_adam_",
              "AdamW": "_fused_adamw_"}[name]
    ref = trajectory(getattr(torch.optim, name), {**kw, "fused": True})
    real, calls = getattr(torch, kernel), []

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch, kernel, counting)
        assert_same_trajectory(trajectory(getattr(oo, name), {**kw, "fused": True}), ref)
        assert_same_trajectory(trajectory(getattr(oo, name), kw), ref)
        assert len(calls) == 2 * STEPS
        trajectory(getattr(oo, name), {**kw, "fused": False})
        assert len(calls) == 2 * STEPS


GROUPS = {
    "SGD": [dict(lr=0.1, momentum=0.5), dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.1),
            dict(momentum=0.7, dampening=0.2)],
    "Adagrad": [dict(lr=0.2), dict(lr_decay=0.1, weight_decay=0.1), dict(eps=1e-4, maximize=True)],
    "RMSprop": [dict(alpha=0.9), dict(centered=True, momentum=0.9), dict(lr=0.001, weight_decay=0.1)],
    "Adadelta": [dict(rho=0.5), dict(lr=0.2, eps=1e-3), dict(weight_decay=0.2)],
    "Adam": [dict(lr=0.1, betas=(0.8, 0.9)), dict(amsgrad=True, weight_decay=0.1), dict(eps=1e-2)],
    "AdamW": [dict(lr=0.1, betas=(0.8, 0.9)), dict(amsgrad=True, weight_decay=0.3), dict(weight_decay=0.0)],
    "Adamax": [dict(lr=0.1), dict(betas=(0.5, 0.9), weight_decay=0.1), dict(eps=1e-2)],
    "NAdam": [dict(lr=0.1, momentum_decay=0.1), dict(betas=(0.5, 0.9), weight_decay=0.1), dict(eps=1e-2)],
    "RAdam": [dict(lr=0.1), dict(betas=(0.5, 0.9), weight_decay=0.1), dict(eps=1e-2, betas=(0.9, 0.95))],
}


@pytest.mark.parametrize("name", sorted(GROUPS))
@pytest.mark.parametrize("fused", [None, False])
def test_param_groups_with_different_hyperparameters(name, fused):
    base = dict(lr=0.01)
    ref = trajectory(getattr(torch.optim, name), base, groups=GROUPS[name])
    ours = trajectory(getattr(oo, name), {**base, "fused": fused}, groups=GROUPS[name])
    assert_same_trajectory(ours, ref)


def test_adagrad_honours_a_group_initial_accumulator_value():
    """torch.optim.Adagrad fills every accumulator with the constructor's value and
    ignores a group's own ``initial_accumulator_value``; ours uses the group's value,
    so each group equals a torch Adagrad built with that value."""
    groups = [dict(initial_accumulator_value=0.0), dict(initial_accumulator_value=0.5),
              dict(initial_accumulator_value=2.0)]
    ours = trajectory(oo.Adagrad, dict(lr=0.1), groups=groups)
    for i, g in enumerate(groups):
        ref = trajectory(torch.optim.Adagrad, dict(lr=0.1, **g))
        assert_same_trajectory([[xs[i]] for xs in ours], [[xs[i]] for xs in ref])


# ------------------------------------------------------------------ hypothesis
unit = st.floats(0.0, 0.99)
lrs = st.floats(1e-4, 0.3)
wds = st.sampled_from([0.0, 1e-3, 0.1])
epss = st.sampled_from([1e-10, 1e-8, 1e-3, 0.1])

STRATEGIES = {
    "SGD": st.fixed_dictionaries(dict(lr=lrs, momentum=unit, dampening=st.floats(0.0, 1.0), weight_decay=wds,
                                      maximize=st.booleans())),
    "Adagrad": st.fixed_dictionaries(dict(lr=lrs, lr_decay=st.floats(0.0, 0.5), weight_decay=wds, eps=epss,
                                          initial_accumulator_value=st.floats(0.0, 1.0), maximize=st.booleans())),
    "RMSprop": st.fixed_dictionaries(dict(lr=st.floats(1e-4, 0.05), alpha=unit, eps=epss, weight_decay=wds,
                                          momentum=unit, centered=st.booleans(), maximize=st.booleans())),
    "Adadelta": st.fixed_dictionaries(dict(lr=st.floats(1e-3, 1.0), rho=unit, eps=epss, weight_decay=wds,
                                           maximize=st.booleans())),
    "Adam": st.fixed_dictionaries(dict(lr=lrs, betas=st.tuples(unit, unit), eps=epss, weight_decay=wds,
                                       amsgrad=st.booleans(), maximize=st.booleans(),
                                       decoupled_weight_decay=st.booleans())),
    "AdamW": st.fixed_dictionaries(dict(lr=lrs, betas=st.tuples(unit, unit), eps=epss, weight_decay=wds,
                                        amsgrad=st.booleans(), maximize=st.booleans())),
    "Adamax": st.fixed_dictionaries(dict(lr=lrs, betas=st.tuples(unit, unit), eps=epss, weight_decay=wds,
                                         maximize=st.booleans())),
    "NAdam": st.fixed_dictionaries(dict(lr=lrs, betas=st.tuples(unit, unit), eps=epss, weight_decay=wds,
                                        momentum_decay=st.floats(0.0, 0.5), decoupled_weight_decay=st.booleans(),
                                        maximize=st.booleans())),
    "RAdam": st.fixed_dictionaries(dict(lr=lrs, betas=st.tuples(unit, unit), eps=epss, weight_decay=wds,
                                        decoupled_weight_decay=st.booleans(), maximize=st.booleans())),
}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_random_hyperparameters_match_torch(name):
    @settings(max_examples=10, deadline=None, derandomize=True)
    @given(kw=STRATEGIES[name], fused=st.sampled_from([None, False]), nesterov=st.booleans())
    def check(kw, fused, nesterov):
        if name == "SGD" and nesterov and kw["momentum"] > 0:
            kw = {**kw, "nesterov": True, "dampening": 0.0}
        ref = trajectory(getattr(torch.optim, name), kw, steps=STEPS)
        # nonfinite="ignore" is torch's semantics: degenerate draws (e.g. centered RMSprop
        # with alpha=0 has variance 0 up to rounding, √ of a tiny negative) give the same NaNs
        ours = trajectory(getattr(oo, name), {**kw, "fused": fused, "nonfinite": "ignore"}, steps=STEPS)
        assert_same_trajectory(ours, ref, equal_nan=True)

    check()


def test_every_torch_argument_is_accepted_with_the_same_default():
    import inspect
    base = inspect.signature(oo.Optimizer.__init__).parameters
    for name in CASES:
        theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
        ours = inspect.signature(getattr(oo, name).__init__).parameters
        for arg, p in theirs.items():
            if arg in ("self", "params"):
                continue
            assert arg in ours or arg in base, (name, arg)
            default = ours[arg].default if arg in ours else base[arg].default
            assert default == p.default, (name, arg, default, p.default)
        w = torch.zeros(1, requires_grad=True)
        explicit = {a: p.default for a, p in theirs.items() if a not in ("self", "params")}
        getattr(oo, name)([w], **explicit)  # passing torch's defaults explicitly works
