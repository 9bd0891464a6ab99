"""The rest of torch 2.13's optimizers (ASGD, Rprop, LBFGS, Adafactor, Muon, SparseAdam) against
torch's own classes: every sample configuration of torch's ``optim_db`` plus the options it
leaves out, 30 steps in float64 to 1e-12 (parameters and state); state dicts both ways;
the runs dimension (a batched run equals the runs alone); clear errors."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from optim_suite import INFO, assert_error_as_torch, close, error_cases
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
    if cls is oo.LBFGS:  # small learning rates never meet the tolerances: 3 iterations per step, not 20
        samples = [(d, kw if d == "default" else {"max_iter": 3, **kw}) for d, kw in samples]
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
        opt.step(_closure(opt, kind, ps, k))
    return ps, opt


def _closure(opt, kind, ps, k):
    def closure():
        opt.zero_grad()
        loss = _loss(kind, ps, k)
        loss.backward()
        return loss
    return closure


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


# ------------------------------------------------------------------- state dicts
MAIN = {oo.ASGD: {"t0": 3}, oo.Rprop: {}, oo.LBFGS: {"line_search_fn": "strong_wolfe", "history_size": 3},
        oo.Adafactor: {"weight_decay": 0.1}, oo.Muon: {"nesterov": False}, oo.SparseAdam: {}}


@pytest.mark.parametrize("cls", list(NEW), ids=lambda c: c.__name__)
@pytest.mark.parametrize("first", ["ours", "torch"])
def test_state_dict_moves_to_the_twin_and_back(cls, first):
    """10 steps with one class, its state_dict loaded into the other, 10 more steps there: the
    same iterates as 20 steps with the first class alone."""
    ref_cls = getattr(torch.optim, NEW[cls])
    a, b = (cls, ref_cls) if first == "ours" else (ref_cls, cls)
    kw = MAIN[cls]
    whole, _ = _run(a, _torch_kwargs(cls, kw) if a is ref_cls else kw, steps=20)
    ps, opt = _run(a, _torch_kwargs(cls, kw) if a is ref_cls else kw, steps=10)
    other = b([p for p in ps], **(_torch_kwargs(cls, kw) if b is ref_cls else copy.deepcopy(kw)))
    other.load_state_dict(copy.deepcopy(opt.state_dict()))
    kind = _ours(cls)
    for k in range(10, 20):
        other.step(_closure(other, kind, ps, k))
    for i, (p, q) in enumerate(zip(ps, whole)):
        close(p.detach(), q.detach(), what=f"{first} first: parameter {i}", **TOL)
    if cls is oo.SparseAdam:  # torch's plain-integer step survives the move
        assert all(type(s["step"]) is int for s in other.state.values())


@pytest.mark.parametrize("cls", list(NEW), ids=lambda c: c.__name__)
def test_weights_only_round_trip_resumes_exactly(cls):
    """torch.save / torch.load(weights_only=True) of the state (L-BFGS's lists and numbers too)."""
    whole, _ = _run(cls, MAIN[cls], steps=8)
    ps, opt = _run(cls, MAIN[cls], steps=4)
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    again = cls(ps, **MAIN[cls])
    again.load_state_dict(torch.load(buf, weights_only=True))
    for k in range(4, 8):
        again.step(_closure(again, cls, ps, k))
    close([p.detach() for p in ps], [p.detach() for p in whole], **TOL)


# ---------------------------------------------------------------------- runs
RUNS = {oo.ASGD: {"lambd": 1e-2, "t0": 4}, oo.Rprop: {}, oo.Adafactor: {"weight_decay": 0.1},
        oo.Muon: {"ns_dtype": "float64"}, oo.SparseAdam: {}}


@pytest.mark.parametrize("cls", list(RUNS), ids=lambda c: c.__name__)
def test_a_batched_run_equals_the_runs_alone(cls):
    """R = 3 runs, parameters stacked as (R, ...) and lr of shape (R, 1, ...), against each
    run with its own float lr (Adafactor's RMS and factors and Muon's Newton–Schulz per run)."""
    lrs = [0.01, 0.03, 0.002] if cls is not oo.Rprop else [0.01, 0.05, 0.001]
    alone = [_run(cls, {**RUNS[cls], "lr": lr}, steps=12, ps=_params(cls, seed=r))[0] for r, lr in enumerate(lrs)]
    stacked = [torch.stack([_params(cls, seed=r)[i] for r in range(3)]) for i in range(len(_params(cls)))]
    ps = [p.clone().requires_grad_() for p in stacked]
    groups = [{"params": [p], "lr": torch.tensor(lrs, dtype=torch.float64).reshape((3,) + (1,) * (p.dim() - 1))}
              for p in ps]
    opt = cls(groups, **RUNS[cls])
    for k in range(12):
        opt.zero_grad()
        if cls is oo.SparseAdam:  # a sparse gradient per run (autograd cannot select from one), stacked
            leaves = [[p[r].detach().clone().requires_grad_() for p in ps] for r in range(3)]
            for r in range(3):
                _loss(cls, leaves[r], k).backward()
            for i, p in enumerate(ps):
                p.grad = torch.stack([leaves[r][i].grad for r in range(3)])
        else:
            sum(_loss(cls, [p[r] for p in ps], k) for r in range(3)).backward()
        opt.step()
    for r in range(3):
        for i, p in enumerate(ps):
            close(p[r].detach(), alone[r][i].detach(), what=f"run {r} parameter {i}", **TOL)


def test_muon_bfloat16_batched_equals_alone_to_bfloat16_precision():
    """torch's bfloat16 Newton–Schulz, batched over runs, against each run alone."""
    w = torch.randn(3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    g = torch.randn(3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    out = oo.muon.newton_schulz(g)
    for r in range(3):
        close(out[r].double(), oo.muon.newton_schulz(g[r]).double(), rtol=0, atol=1e-2)
    assert out.dtype == torch.bfloat16 and w.shape == out.shape


# -------------------------------------------------------------------- errors
# ASGD, Rprop and Adafactor: in test_optim_torch_suite.py (TWINS)
@pytest.mark.parametrize("cls, index", error_cases({c: NEW[c] for c in (oo.LBFGS, oo.Muon, oo.SparseAdam)}))
def test_torch_error_inputs_fail_as_in_torch(cls, index):
    assert_error_as_torch(cls, NEW[cls], index)


def _w(*shape):
    return [torch.zeros(*shape, requires_grad=True)]


BAD = [
    (oo.ASGD, {"lambd": -1.0}, ValueError, r"lambd must be >= 0, got -1.0"),
    (oo.ASGD, {"t0": float("nan")}, ValueError, r"t0 must be finite"),
    (oo.Rprop, {"etas": (0.5, 0.9)}, ValueError, r"etas must satisfy 0 < etas\[0\] < 1 < etas\[1\], got \(0.5, 0.9\)"),
    (oo.Rprop, {"step_sizes": (-1.0, 50)}, ValueError, r"step_sizes\[0\] must be >= 0"),
    (oo.Rprop, {"lr_decay": 0.1}, ValueError, r"lr_decay must be 0.0 here \(Rprop's lr only sets"),
    (oo.Adafactor, {"d": 0.5}, ValueError, r"d must be >= 1, got 0.5 \(torch: Clipping threshold"),
    (oo.Adafactor, {"decoupled_weight_decay": True}, ValueError, r"decoupled_weight_decay must be False here"),
    (oo.Adafactor, {"eps": (None,)}, ValueError, r"eps must be a tuple of 2 values"),
    (oo.Muon, {"ns_dtype": "half"}, ValueError, r"ns_dtype must be one of 'bfloat16', 'float32', 'float64'"),
    (oo.Muon, {"ns_steps": 2.5}, ValueError, r"ns_steps must be an integer"),
    (oo.Muon, {"fallback": "adamz"}, ValueError, r"unknown optimizer 'adamz'"),
    (oo.Muon, {"fallback": "muon"}, ValueError, r"fallback='muon' would hand"),
    (oo.Muon, {"ns_coefficients": (torch.tensor(3.4), -4.7, 2.0)}, ValueError,
     r"ns_coefficients\[0\] is a tensor, but must be a number"),
    (oo.LBFGS, {"line_search_fn": "armijo"}, ValueError, r"line_search_fn must be one of None, 'strong_wolfe'"),
    (oo.LBFGS, {"max_iter": 2.5}, ValueError, r"max_iter must be an integer >= 1"),
    (oo.LBFGS, {"maximize": True}, ValueError, r"maximize must be False here"),
    (oo.LBFGS, {"lr": torch.full((2, 1), 0.1)}, ValueError, r"L-BFGS has no runs dimension"),
    (oo.SparseAdam, {"eps": 0.0}, ValueError, r"eps must be > 0, got 0.0 \(torch: Invalid epsilon value"),
    (oo.SparseAdam, {"betas": (torch.full((2, 1), 0.9), 0.99)}, ValueError, r"betas\[0\] is a tensor of shape"),
]


@pytest.mark.parametrize("cls, kw, kind, match", BAD, ids=lambda v: getattr(v, "__name__", None))
def test_bad_hyperparameters_name_the_argument(cls, kw, kind, match):
    params = _w(2, 1)
    with pytest.raises(kind, match=match):
        cls(params, **kw)


@pytest.mark.parametrize("cls", [oo.LBFGS, oo.Muon], ids=lambda c: c.__name__)
def test_lr_schedulers_as_the_twin(cls):
    """StepLR and a warm-up then cosine decay change the lr of both classes in the same way."""
    results = []
    for c in (cls, getattr(torch.optim, NEW[cls])):
        ps = [p.clone().requires_grad_() for p in _params(cls)]
        opt = c(ps, lr=0.05, **({"max_iter": 4} if cls is oo.LBFGS else {}))
        scheds = [torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
                  torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.3, total_iters=4)]
        for k in range(8):
            opt.step(_closure(opt, cls, ps, k))
            for s in scheds:
                s.step()
        results.append([p.detach() for p in ps])
    close(results[0], results[1], **TOL)


def test_step_errors():
    muon = _w(2, 3) + _w(3)
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters.*fallback='adamw'"):
        oo.Muon(muon)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        oo.LBFGS([{"params": _w(2)}, {"params": _w(2)}])
    with pytest.raises(RuntimeError, match="needs a closure"):
        oo.LBFGS(_w(2)).step()
    p = _w(4, 2)
    p[0].grad = torch.ones(4, 2)
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
        oo.SparseAdam(p).step()
    muon = oo.Muon(_w(2, 3))
    with pytest.raises(ValueError, match=r"Muon only supports 2D.*build Muon with fallback='adamw'"):
        muon.add_param_group({"params": _w(3)})
    assert len(muon.param_groups) == 1
    muon = oo.Muon(_w(2, 3) + _w(3), fallback="adamw")
    muon.add_param_group({"params": _w(4, 2) + _w(2), "lr": 0.5})
    assert [len(g["params"]) for g in muon.param_groups] == [1, 1] and muon.param_groups[1]["lr"] == 0.5
    assert [len(g["params"]) for g in muon.fallback.param_groups] == [1, 1]
    lbfgs = oo.LBFGS(_w(2))
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        lbfgs.add_param_group({"params": _w(2)})
    assert len(lbfgs.param_groups) == 1
    q = _w(2)
    q[0].grad = torch.tensor([1.0, float("nan")])
    with pytest.warns(RuntimeWarning, match="the step was skipped"):
        oo.LBFGS(q, nonfinite="skip").step(lambda: torch.tensor(1.0))
    assert q[0].detach().eq(0).all()
    opt = oo.LBFGS(q)
    with pytest.raises(FloatingPointError, match="no parameter or state was changed"):
        opt.step(lambda: torch.tensor(1.0))
    assert not opt.state[q[0]].get("d") is not None and q[0].detach().eq(0).all()


def test_muon_fallback_steps_the_other_parameters_as_adamw_and_saves_them():
    """Muon on a Linear layer: the weight by Muon (as torch's Muon on it alone), the bias by
    the fallback AdamW (as torch's AdamW on it alone); the fallback's state travels in state_dict."""
    torch.manual_seed(9)
    layer = torch.nn.Linear(3, 4).double()
    w, b = (p.detach().clone().requires_grad_() for p in (layer.weight, layer.bias))
    opt = oo.Muon(layer.parameters(), lr=0.02, fallback="adamw:lr=0.01")
    ref_w, ref_b = torch.optim.Muon([w], lr=0.02), torch.optim.AdamW([b], lr=0.01, foreach=False)
    x = torch.randn(5, 3, dtype=torch.float64)
    for _ in range(5):
        opt.zero_grad()
        ref_w.zero_grad()
        ref_b.zero_grad()
        layer(x).pow(2).sum().backward()
        torch.nn.functional.linear(x, w, b).pow(2).sum().backward()
        opt.step()
        ref_w.step()
        ref_b.step()
    close(layer.weight.detach(), w.detach(), **TOL)
    close(layer.bias.detach(), b.detach(), **TOL)
    sd = opt.state_dict()
    again = oo.Muon(layer.parameters(), lr=0.02, fallback="adamw:lr=0.01")
    again.load_state_dict(copy.deepcopy(sd))
    close(again.fallback.state[layer.bias]["exp_avg"], ref_b.state[b]["exp_avg"], **TOL)
    with pytest.raises(ValueError, match="has a fallback optimizer's state and this Muon does not"):
        oo.Muon([layer.weight]).load_state_dict(sd)


@pytest.mark.parametrize("cls, kw", [(oo.Rprop, {}), (oo.ASGD, {"lambd": 0.1, "t0": 1})], ids=["Rprop", "ASGD"])
def test_differentiable_unrolled_steps_pass_gradcheck_in_the_start(cls, kw):
    """d θ₃ / d θ₀ through three recorded steps (the lr takes no gradient in these two, as in torch)."""
    c = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)

    def unrolled(p0):
        p = p0.clone()
        opt = cls([p], lr=0.05, differentiable=True, **kw)
        for _ in range(3):
            p.grad = c * p - 1
            opt.step()
        return p

    assert torch.autograd.gradcheck(unrolled, (torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64,
                                                            requires_grad=True),))


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_complex_parameters_as_torch(line_search_fn):
    """Complex parameters are (real, imaginary) pairs in the flat vector, as in torch."""
    c = torch.tensor([1 + 2j, -0.5 + 0.3j, 2 - 1j], dtype=torch.complex128)
    runs = []
    for cls in (oo.LBFGS, torch.optim.LBFGS):
        z = torch.zeros(3, dtype=torch.complex128, requires_grad=True)
        w = torch.ones(2, dtype=torch.float64, requires_grad=True)
        opt = cls([z, w], lr=0.5, max_iter=4, line_search_fn=line_search_fn)

        def closure(opt=opt, z=z, w=w):
            opt.zero_grad()
            loss = ((z - c).abs() ** 4).sum() + ((w - 2) ** 2 * (w.sin() + 2)).sum()
            loss.backward()
            return loss
        for _ in range(6):
            opt.step(closure)
        runs.append((z.detach(), w.detach()))
    close(runs[0], runs[1], **TOL)


@pytest.mark.parametrize("cls", [oo.LBFGS, oo.Muon, oo.SparseAdam], ids=lambda c: c.__name__)
def test_float32_as_torch(cls):
    """The three twins outside the shared suite, in float32 too (Muon's bfloat16 Newton–Schulz included)."""
    start = [p.float() for p in _params(cls)]
    kw = {"max_iter": 4} if cls is oo.LBFGS else {}
    ours, _ = _run(cls, kw, steps=10, ps=start)
    ref, _ = _run(getattr(torch.optim, NEW[cls]), kw, steps=10, ps=start)
    close([p.detach() for p in ours], [p.detach() for p in ref], rtol=1e-6, atol=1e-6)


def test_registry_names_and_tuning_ranges():
    names = {"asgd": oo.ASGD, "rprop": oo.Rprop, "lbfgs": oo.LBFGS, "adafactor": oo.Adafactor, "muon": oo.Muon,
             "sparse_adam": oo.SparseAdam, "Sparse-Adam": oo.SparseAdam, "L-BFGS": oo.LBFGS}
    assert {n: oo.get(n) for n in names} == names
    assert oo.tuning("asgd") == {"lambd": (0.0, 1e-3), "alpha": (0.5, 1.0)}
    assert oo.tuning("muon") == {"momentum": (0.8, 0.99)} and oo.tuning("lbfgs") == {}
    described = {name: text for name, _, _, text in oo.describe()}
    assert described["muon"].startswith("Muon: SGD-momentum whose update is orthogonalized")
