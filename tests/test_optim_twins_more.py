"""The rest of torch 2.13's optimizers (ASGD, Rprop, LBFGS, Adafactor, Muon, SparseAdam) against
torch's own classes: every sample configuration of torch's ``optim_db`` plus the options it
leaves out, 30 steps in float64 to 1e-12 (parameters and state); state dicts both ways;
the runs dimension (a batched run equals the runs alone); clear errors."""

from __future__ import annotations

import copy

import pytest
import torch
from optim_suite import INFO, close
from torch.nn.functional import embedding

import optimlab.optim as oo

STEPS = 30
TOL = dict(rtol=1e-12, atol=1e-12)
NEW = {oo.ASGD: "ASGD", oo.Rprop: "Rprop", oo.LBFGS: "LBFGS", oo.Adafactor: "Adafactor", oo.Muon: "Muon",
       oo.SparseAdam: "SparseAdam"}
# options torch's optim_db samples leave out
EXTRA = {
    oo.ASGD: [{"t0": 5, "lambd": 1e-2, "alpha": 0.6}, {"t0": 0, "lr": torch.tensor(0.02)}],
    oo.Rprop: [{"lr": torch.tensor(0.03), "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05)}],
    oo.LBFGS: [{"history_size": 3, "max_iter": 4}, {"line_search_fn": "strong_wolfe", "history_size": 2},
               {"line_search_fn": "strong_wolfe", "max_eval": 7, "lr": 0.5}, {"tolerance_change": 1e-3}],
    oo.Adafactor: [{"eps": (1e-3, 1e-2), "lr": torch.tensor(0.05)}, {"beta2_decay": -0.5, "d": 2.0,
                                                                     "weight_decay": 0.3}],
    oo.Muon: [{"nesterov": False}, {"adjust_lr_fn": "original"}, {"adjust_lr_fn": "match_rms_adamw", "lr": 0.02},
              {"momentum": 0.0, "weight_decay": 0.0, "eps": 1e-3}],
    oo.SparseAdam: [{"betas": (0.5, 0.9), "eps": 1e-3}],
}


def configs(cls):
    info = INFO[NEW[cls]]
    samples = [(i.desc, i.kwargs) for i in info.optim_inputs_func(device="cpu", dtype=torch.float64)]
    if cls is oo.LBFGS:  # small learning rates never meet the tolerances: 5 iterations per step, not 20
        samples = [(d, kw if d == "default" else {"max_iter": 5, **kw}) for d, kw in samples]
    return samples + [(f"extra {kw}", kw) for kw in EXTRA[cls]]


CASES = [pytest.param(cls, i, id=f"{cls.__name__}-{i}") for cls in NEW for i in range(len(configs(cls)))]


def _params(cls, seed=0):
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    if cls is oo.Muon:
        return [r(4, 3), r(3, 5)]
    if cls is oo.SparseAdam:
        return [r(6, 3)]
    return [r(4, 3), r(4), r(2, 3, 2), r(())]  # a matrix, a vector, a batch of matrices, a 0-d value


_IDX = torch.tensor([[0, 2, 2, 5], [1, 2, 3, 3]])


def _loss(cls, ps, k):
    """A smooth non-quadratic loss whose gradients change sign (Rprop) and size (Adafactor)."""
    if cls is oo.SparseAdam:
        rows = embedding(_IDX[k % 2], ps[0], sparse=True)
        return (rows.sin() * torch.arange(1.0, 4.0, dtype=rows.dtype)).sum() + (rows ** 4).sum() * 0.1
    return sum(((p - 0.3 * (i + 1)) ** 2 * (1 + p.sin() ** 2)).sum() for i, p in enumerate(ps))


def _run(cls, kw, steps=STEPS, ps=None):
    ps = [p.clone().requires_grad_() for p in (ps or _params(cls if isinstance(cls, type) and
                                                              issubclass(cls, oo.Optimizer) else _ours(cls)))]
    opt = cls(ps, **copy.deepcopy(kw))
    kind = _ours(cls)
    for k in range(steps):
        def closure(k=k):
            opt.zero_grad()
            loss = _loss(kind, ps, k)
            loss.backward()
            return loss
        opt.step(closure)
    return ps, opt


def _ours(cls):
    return next(c for c, name in NEW.items() if c is cls or getattr(torch.optim, name) is cls)


def _torch_kwargs(cls, kw):
    kw = copy.deepcopy(kw)
    if cls in (oo.ASGD, oo.Rprop):
        kw["foreach"] = False
    return kw


def _state_close(a, b, what):
    assert set(a) == set(b), what
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, list):
            assert len(x) == len(y), f"{what} {k}"
            for i, (u, v) in enumerate(zip(x, y)):
                if u is not None:
                    close(torch.as_tensor(u, dtype=torch.float64), torch.as_tensor(v, dtype=torch.float64),
                          what=f"{what} {k}[{i}]", **TOL)
        elif isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            close(torch.as_tensor(x), torch.as_tensor(y), what=f"{what} {k}", check_dtype=False, **TOL)
        else:
            assert x == y, f"{what} {k}"


@pytest.mark.parametrize("cls, index", CASES)
def test_thirty_steps_equal_torch(cls, index):
    desc, kw = configs(cls)[index]
    ours, opt = _run(cls, kw)
    ref, ref_opt = _run(getattr(torch.optim, NEW[cls]), _torch_kwargs(cls, kw))
    for i, (p, q) in enumerate(zip(ours, ref)):
        close(p.detach(), q.detach(), what=f"{desc}: parameter {i}", **TOL)
        if q in ref_opt.state:
            _state_close(opt.state[p], ref_opt.state[q], f"{desc}: state of parameter {i}")
    assert len(opt.state) == len(ref_opt.state), desc
