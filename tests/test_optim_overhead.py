"""What a step costs beyond its arithmetic: host reads of the guard (that a step imports no
torch._dynamo is checked in a fresh process by tests/test_fresh_process.py)."""


import pytest
import torch

import optimlab.optim as oo
from optimlab.optim._fused import SCALAR_STATE
from optimlab.optim._guard import BATCH_MAX, all_finite
from optimlab.optim._lists import CHUNK_ELEMENTS, _one, cache_sized, fast

# --------------------------------------------------- host reads of the non-finite check
READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")
CLASSES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam", "RAdam"]
KW = {"SGD": dict(lr=0.01, momentum=0.9)}


def model_params():
    """Many small tensors and a few large ones (above the batched check's size), two dtypes."""
    shapes = [(7,), (3, 5), (64,), (300, 250), (BATCH_MAX + 3,)] * 4
    ps = [torch.randn(s, generator=torch.Generator().manual_seed(i)).requires_grad_() for i, s in enumerate(shapes)]
    return ps + [torch.randn(9, dtype=torch.float64, requires_grad=True)]


def count_host_reads(monkeypatch, opt):
    """Host reads of tensors during one step, not counting the optimizer's scalar state (step
    counts, NAdam's Πμ): torch keeps those on the CPU on every device, so reading them never
    waits for a device. Every Python-level way to turn a tensor into a host value is counted."""
    read = []
    for name in READS:
        original = getattr(torch.Tensor, name)

        def spy(t, *a, _original=original, **k):
            read.append(t)
            return _original(t, *a, **k)
        monkeypatch.setattr(torch.Tensor, name, spy)
    try:
        opt.step()
    finally:
        monkeypatch.undo()
    scalars = {id(v) for s in opt.state.values() for k, v in s.items() if k in SCALAR_STATE}
    return len([t for t in read if id(t) not in scalars])


@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize("cls", CLASSES)
def test_the_check_reads_the_host_once_per_step_and_ignore_never(monkeypatch, cls, fused):
    for policy, reads in (("raise", 1), ("skip", 1), ("ignore", 0)):
        ps = model_params()
        opt = getattr(oo, cls)([{"params": ps[:10]}, {"params": ps[10:], "lr": 1e-3}], nonfinite=policy,
                               fused=fused, **KW.get(cls, {}))
        for step in range(3):
            for p in ps:
                p.grad = torch.sin(p.detach() + step)
            assert count_host_reads(monkeypatch, opt) == reads, (policy, step)


def test_the_counter_sees_a_read():  # the spy above is not blind: a per-tensor check would count 21
    ps = model_params()
    opt = oo.Adam(ps)
    for p in ps:
        p.grad = torch.ones_like(p)

    def per_tensor_step():
        for p in ps:
            bool(torch.isfinite(p.grad).all())
    opt.step = per_tensor_step
    assert count_host_reads(pytest.MonkeyPatch(), opt) == len(ps)


# ------------------------------------------------------------- what the check sees
def grads_with(value, where):
    g = torch.Generator().manual_seed(3)
    gs = [torch.randn(5, generator=g), torch.randn(BATCH_MAX + 1, generator=g),
          torch.randn(6, 4, generator=g).t(),  # not contiguous: summed, not batched
          torch.randn(4, dtype=torch.complex64, generator=g), torch.randn(8, generator=g).to(torch.bfloat16),
          torch.randn(2, 3, 4, 5, generator=g).to(memory_format=torch.channels_last),
          torch.sparse_coo_tensor([[1, 3]], torch.randn(2, generator=g), (6,), check_invariants=True)]
    if where is not None:
        t = gs[where]
        if t.is_sparse:
            t._values()[1] = value
        elif t.is_complex():
            torch.view_as_real(t)[2, 1] = value
        else:
            t[tuple(n - 1 for n in t.shape)] = value
    return gs


@pytest.mark.parametrize("where", range(7))
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_all_finite_finds_a_non_finite_value_in_every_kind_of_gradient(where, value):
    assert all_finite(grads_with(value, None))
    assert not all_finite(grads_with(value, where))
    assert all_finite(grads_with(value, None)[where:where + 1])  # alone (a large one: its sum alone)
    assert not all_finite(grads_with(value, where)[where:where + 1])


@pytest.mark.parametrize("value", [1.0, float("nan")])
def test_a_gradient_off_the_cpu_after_cpu_ones_sends_the_whole_list_to_the_general_check(value):
    # the CPU walk stops at the meta gradient; the values already walked are checked all the same
    big = torch.full((BATCH_MAX,), 0.5)
    big[-1] = value
    gs = [torch.ones(3), big, torch.empty(4, device="meta"), torch.ones(2)]
    assert all_finite(gs) is (value == 1.0)


def bits(t):
    t = t.coalesce()._values() if t.is_sparse else t
    t = torch.view_as_real(t) if t.is_complex() else t
    return t.contiguous().view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()])


def test_the_check_leaves_the_gradients_bit_for_bit_as_they_were():
    gs = grads_with(float("nan"), 0) + [torch.tensor([-0.0, 1e-45, -3e38, 5e-324], dtype=torch.float64),
                                        torch.tensor([-0.0, 1e-40, 6e-8], dtype=torch.float16)]
    before = [g.clone() for g in gs]
    versions = [g._version for g in gs]
    all_finite(gs)
    for g, b in zip(gs, before):
        assert torch.equal(bits(g), bits(b))
    assert [g._version for g in gs] == versions


def test_a_gradient_that_records_autograd_is_checked_without_error():
    g = torch.ones(4, requires_grad=True) * 2.0
    assert all_finite([g]) and not all_finite([g * float("inf")])


# ------------------------------------------- the fused path's remembered layout checks
@pytest.mark.parametrize("change", ["state", "param", "grad"])
def test_a_layout_changed_after_the_first_steps_still_keeps_a_parameter_from_the_kernel(change):
    # the kernels walk memory order: a state tensor (or parameter) with other strides than its
    # gradient, fused, would mix up coordinates. fusable() remembers its verdict per parameter,
    # so the remembered verdict must notice the change.
    def run(cls, **kw):
        w = torch.arange(12.0, dtype=torch.float64).reshape(3, 4).sin().requires_grad_()
        opt = cls([w], lr=0.1, **kw)
        for k in range(4):
            if k == 2:
                if change == "state":
                    opt.state[w]["exp_avg"] = opt.state[w]["exp_avg"].t().contiguous().t()
                else:
                    w.data = w.data.t().contiguous().t()
            w.grad = torch.arange(12.0, dtype=torch.float64).reshape(3, 4).cos() * (k + 1)
            if k >= 2 and change == "grad":  # same values, the other memory order
                w.grad = w.grad.t().contiguous().t()
            opt.step()
        return w.detach().clone()
    torch.testing.assert_close(run(oo.Adam), run(torch.optim.Adam, foreach=False), rtol=1e-12, atol=1e-12)


# ------------------------------------------------- rules written once over lists
def test_cache_sized_runs_keep_order_and_put_a_large_parameter_alone():
    n = CHUNK_ELEMENTS
    ps = [torch.zeros(s) for s in (n // 2, n // 2, 1, n + 5, 3, 4)]
    assert cache_sized([0, 1, 2, 3, 4, 5], ps) == [[0, 1], [2], [3], [4, 5]]
    assert cache_sized([2, 4], ps) == [[2, 4]]
    assert cache_sized([], ps) == []
    assert cache_sized([0, 1, 2, 3, 4, 5], ps, limit=n + 5) == [[0, 1, 2], [3], [4, 5]]  # a rule's own limit
    assert cache_sized(range(6), ps) == [[0, 1], [2], [3], [4, 5]]  # any sequence of indices


def test_list_hyperparameters_go_to_foreach_only_as_numbers():
    t = torch.ones(2)
    assert _one([0.1, 0.1, 0.1]) == 0.1 and _one([0.1, 0.2]) == [0.1, 0.2] and _one([]) == []
    assert _one([t, t]) == [t, t] and _one(0.5) == 0.5  # a list holding tensors stays a list
    with torch.no_grad():
        assert fast(0.1, [0.1, 0.2]) and not fast([0.1, t]) and not fast(t)
    assert not fast(0.1)  # autograd records: tensor by tensor


@pytest.mark.parametrize("cls, kw", [
    ("Adagrad", dict(lr_decay=0.01)), ("Adadelta", dict(weight_decay=0.1)),
    ("RMSprop", dict(momentum=0.9, centered=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(weight_decay=0.1, amsgrad=True)), ("AdamW", dict(maximize=True)),
    ("Adamax", dict(weight_decay=0.1)), ("NAdam", dict(decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", dict(betas=(0.9, 0.9), weight_decay=0.1))])  # ρ_t passes 5 at the 6th step
def test_a_list_rule_takes_torchs_foreach_path_and_gives_torchs_numbers(monkeypatch, cls, kw):
    calls = []
    for name in ("_foreach_addcdiv_", "_foreach_add_"):
        original = getattr(torch, name)
        monkeypatch.setattr(torch, name, lambda *a, _o=original, _n=name, **k: (calls.append(_n), _o(*a, **k))[1])
    g = torch.Generator().manual_seed(1)
    shapes = [(3,), (40, 50), (CHUNK_ELEMENTS + 7,), (5, 2)]  # a large one: a run of its own
    start = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    grads = [[torch.randn(s, generator=g, dtype=torch.float64) for s in shapes] for _ in range(7)]
    ps, qs = ([t.clone().requires_grad_() for t in start] for _ in range(2))
    ours, theirs = getattr(oo, cls)(ps, fused=False, **kw), getattr(torch.optim, cls)(qs, foreach=False, **kw)
    for step in grads:
        for p, q, gr in zip(ps, qs, step):
            p.grad, q.grad = gr.clone(), gr.clone()
        ours.step()
        n = len(calls)
        theirs.step()
        assert len(calls) == n  # torch's for-loop: no foreach call of its own
    assert calls  # ours did take them
    for p, q in zip(ps, qs):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_list_times_a_number_gives_the_numbers_of_torchs_call_with_the_number(dtype):
    # _lists hands torch's CPU foreach a 0-d tensor in place of the Python number (no per-tensor
    # wrapping): the numbers must stay those of the call with the number, bit for bit
    from optimlab.optim import _lists as L
    g = torch.Generator().manual_seed(3)
    ts = [(torch.randn(64, generator=g, dtype=torch.float64) * 10.0 ** torch.randint(-40, 38, (64,), generator=g))
          .to(dtype) for _ in range(3)]
    for x in [1 / 3, -2.5e-8, 0.999, 3e38, 1e-42, float(torch.randn((), generator=g, dtype=torch.float64))]:
        for ours, torchs in [(L.mul(ts, x), torch._foreach_mul(ts, x)), (L.div(ts, x), torch._foreach_div(ts, x)),
                             (L.add_scalar(ts, x), torch._foreach_add(ts, x))]:
            for a, b in zip(ours, torchs):
                assert torch.equal(a.nan_to_num(), b.nan_to_num()) and a.dtype == b.dtype, x

        for a, b in zip(L.mul(L.mul(ts, x), x), torch._foreach_mul(torch._foreach_mul(ts, x), x)):  # made once,
            assert torch.equal(a.nan_to_num(), b.nan_to_num()), x  # read again from the kept 0-d tensor


def test_the_kept_number_tensors_tell_zero_from_minus_zero():
    from optimlab.optim import _lists as L
    ts = [torch.ones(2), torch.ones(3)]
    plus, minus = L.mul(ts, 0.0), L.mul(ts, -0.0)
    assert [bool(torch.signbit(t).any()) for t in plus + minus] == [False, False, True, True]


# ------------------------------------------------- a steady-state step re-validates nothing
def test_a_group_is_checked_again_only_when_its_options_change(monkeypatch):
    import optimlab.optim._base as base
    checks = []
    monkeypatch.setattr(base, "check_tensors", lambda *a, _o=base.check_tensors: (checks.append(1), _o(*a))[1])
    w, u = torch.ones(4, 2, requires_grad=True), torch.ones(3, requires_grad=True)
    opt = oo.Adam([w], lr=0.1)

    def steps(n):
        before = len(checks)
        for _ in range(n):
            w.grad, u.grad = torch.full_like(w, 0.5), torch.full_like(u, 0.5)
            opt.step()
        return len(checks) - before
    assert steps(3) == 1
    opt.param_groups[0]["lr"] = 0.05  # a scheduler's number lr: nothing to check
    assert steps(2) == 0
    opt.param_groups[0]["lr"] = torch.full((4, 1), 0.05)  # a tensor: checked once
    assert steps(2) == 1
    opt.param_groups[0]["betas"] = (0.8, 0.99)
    assert steps(2) == 1
    opt.add_param_group({"params": [u]})
    assert steps(2) == 1  # the new group only
    opt.load_state_dict(opt.state_dict())
    assert steps(2) == 2  # both groups, as loaded
    opt.param_groups[0]["lr"] = torch.full((5, 1), 0.05)  # the plan is not a way around the check
    with pytest.raises(ValueError, match="does not broadcast"):
        steps(1)


@pytest.mark.parametrize("cls, option", [("SGDScheduleFree", "momentum"), ("Prodigy", "d_coef")])
def test_the_group_keys_a_method_rewrites_each_step_do_not_make_it_check_again(monkeypatch, cls, option):
    import optimlab.optim._base as base
    checks = []
    monkeypatch.setattr(base, "check_tensors", lambda *a, _o=base.check_tensors: (checks.append(1), _o(*a))[1])
    w = torch.ones(4, 2, requires_grad=True)
    opt = getattr(oo, cls)([w])
    getattr(opt, "train", lambda: None)()

    def steps(n):
        before = len(checks)
        for _ in range(n):
            w.grad = torch.full_like(w, 0.5)
            opt.step()
        return len(checks) - before
    assert steps(3) == 1  # k, weight_sum, d, ... change at every step
    opt.param_groups[0][option] = 0.5  # a hyperparameter: checked again
    assert steps(2) == 1


def test_all_finite_of_no_gradients_is_true():
    assert all_finite([]) is True  # a group whose parameters have no gradient this step
