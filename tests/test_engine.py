"""The engine's rules against hand-written expectations, and the loops that follow them."""

import numpy as np
import pytest
import torch

import optimlab
from optimlab.engine import (
    EpochBatches,
    EpochMean,
    Freezer,
    RunState,
    chunks,
    divergent,
    grads_finite,
    none_diverged,
    parse_seeds,
    run_generators,
)
from optimlab.functions import GradNoise, NoiseStreams


# ---------------------------------------------------------------- seeds and generators
def test_parse_seeds_reads_a_count_or_a_list():
    assert parse_seeds(None) is None
    assert parse_seeds(3) == [0, 1, 2]
    assert parse_seeds([4, 2.0, np.int64(7)]) == [4, 2, 7]
    for bad in (0, -1, [], [1.5], [True], "ab"):
        with pytest.raises(ValueError, match="seeds must be a count >= 1"):
            parse_seeds(bad)


def test_runs_with_one_seed_share_one_generator():
    gens, rows = run_generators([5, 2, 5])
    assert len(gens) == 2 and rows.tolist() == [1, 0, 1]  # distinct seeds in increasing order: 2, 5
    assert torch.equal(torch.randn(3, generator=gens[1]), torch.randn(3, generator=torch.Generator().manual_seed(5)))


# ---------------------------------------------------------------------- epoch batches
def test_one_run_visits_each_epoch_in_the_generators_order_last_batch_smaller():
    g, ref = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    eb = EpochBatches(10, 4, g)
    assert eb.per_epoch == 3
    for _ in range(2):  # a new permutation each epoch, drawn at its start
        perm = torch.randperm(10, generator=ref)
        batches = eb.epoch()
        assert [b.tolist() for b in batches] == [perm[:4].tolist(), perm[4:8].tolist(), perm[8:].tolist()]


def test_without_shuffling_the_batches_are_the_examples_in_order():
    assert EpochBatches(5, 2).epoch() == [slice(0, 2), slice(2, 4), slice(4, 6)]
    assert chunks(7, 3) == [slice(0, 3), slice(3, 6), slice(6, 9)] and chunks(2, 1024) == [slice(0, 1024)]


def test_runs_take_rows_of_their_generators_permutation():
    gens, rows = run_generators([1, 0, 1])
    eb = EpochBatches(7, 3, gens, rows)
    b0, b1, b2 = eb.epoch()
    p0 = torch.randperm(7, generator=torch.Generator().manual_seed(0))
    p1 = torch.randperm(7, generator=torch.Generator().manual_seed(1))
    full = torch.cat([b0, b1, b2], dim=1)
    assert b0.shape == (3, 3) and b2.shape == (3, 1)
    assert full[0].tolist() == p1.tolist() and full[2].tolist() == p1.tolist() and full[1].tolist() == p0.tolist()


def test_a_shard_keeps_every_world_th_example_of_the_order():
    ref = torch.randperm(9, generator=torch.Generator().manual_seed(4))
    eb = EpochBatches(9, 2, torch.Generator().manual_seed(4), shard=(1, 3))
    assert eb.n_local == 3 and eb.per_epoch == 2
    assert torch.cat(eb.epoch()).tolist() == ref[1::3].tolist()
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 3\]"):
        EpochBatches(9, 4, None, shard=(1, 3))


# ------------------------------------------------------------------------- epoch loss
def test_epoch_loss_weights_batch_means_by_batch_size():
    m = EpochMean()
    for loss, n in ((1.0, 8), (2.0, 8), (3.0, 8), (4.0, 8), (10.0, 5)):  # 37 examples, last batch of 5
        m.add(loss, n)
    assert m.n == 37 and m.mean() == pytest.approx((8 * (1 + 2 + 3 + 4) + 5 * 10) / 37, rel=1e-15)
    assert m.mean() != pytest.approx(np.mean([1, 2, 3, 4, 10]))  # not the plain mean of batch means
    m.reset()
    assert m.n == 0


def test_epoch_loss_of_many_runs_leaves_out_stopped_runs():
    m = EpochMean(runs=2)
    m.add(np.array([1.0, 5.0]), 4)
    m.add(np.array([3.0, np.nan]), 2, active=np.array([True, False]))
    np.testing.assert_allclose(m.mean(), [(4 * 1 + 2 * 3) / 6, 4 * 5 / 6], rtol=1e-15)


# ------------------------------------------------------------------------- divergence
def test_divergent_flags_non_finite_and_out_of_bound_runs():
    assert divergent(np.array([1.0, -2.0])) is None
    assert divergent(1e300) is None  # no bound: only NaN/inf
    np.testing.assert_array_equal(divergent(np.array([1.0, np.nan, np.inf, -np.inf])), [False, True, True, True])
    np.testing.assert_array_equal(divergent(np.array([1.0, 5.0]), bound=4.0), [False, True])
    pts = np.array([[0.0, 1.0], [0.0, 9.0], [np.nan, 0.0]])
    np.testing.assert_array_equal(divergent(np.zeros(3), points=pts, bound=4.0), [False, True, True])
    np.testing.assert_array_equal(divergent(np.zeros(2), grad_norms=np.array([1.0, np.inf])), [False, True])
    # an infinite bound still stops a non-finite value or point (it passed the bound test before)
    np.testing.assert_array_equal(divergent(np.array([1.0, np.inf]), bound=np.inf), [False, True])
    np.testing.assert_array_equal(divergent(np.zeros(2), points=np.array([[0.0, -np.inf], [1.0, 2.0]]),
                                            bound=np.inf), [True, False])
    # a block of steps at once: (K, R) values and (K, R, d) points, any finite entry out of bound
    blk, p3 = np.ones((3, 4)), np.zeros((3, 4, 2))
    assert none_diverged(blk, grad_norms=blk, points=p3, bound=4.0)
    p3[2, 1, 0] = 5.0
    assert not none_diverged(blk, grad_norms=blk, points=p3, bound=4.0) and none_diverged(blk, points=p3)
    # magnitudes (the compiled program's largest |value| and |coordinate| per run): only their largest counts
    tops = np.array([[1.0, 3.9], [0.0, 2.0]])
    assert none_diverged(tops, bound=4.0, magnitudes=True) and not none_diverged(-tops, bound=3.0)
    for bad in (4.5, np.nan, np.inf):
        tops[1, 0] = bad
        assert not none_diverged(tops, bound=4.0, magnitudes=True)
        assert none_diverged(tops, magnitudes=True) == (bad == 4.5)  # without a bound only NaN and inf fail
    opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0)
    opt.param_groups[0]["params"][0].grad = torch.tensor([1.0, float("nan")])
    assert not grads_finite(opt)


def test_run_state_keeps_the_finite_prefix_of_a_diverging_run():
    values = np.array([[1.0, 1.0], [2.0, 4.0], [3.0, np.inf], [4.0, 7.0]])  # run 1 diverges at step 2
    st = RunState(2)
    for k, v in enumerate(values):
        st.stop(divergent(v), "diverged")
        st.record(k)
    st.finish("max_steps")
    assert st.last.tolist() == [3, 1] and st.reason.tolist() == ["max_steps", "diverged"]
    assert values[: st.last[1] + 1, 1].tolist() == [1.0, 4.0]  # later values (7.0) are not its record


def test_a_run_stopped_by_a_rule_keeps_its_reason():
    st = RunState(3)
    st.stop(np.array([False, True, True]), np.array(["", "f_tol", "grad_tol"], dtype=object))
    assert st.stop(np.array([True, True, False]), "diverged").tolist() == [True, False, False]
    assert st.reason.tolist() == ["diverged", "f_tol", "grad_tol"] and not st.active.any()


# --------------------------------------------------------------------------- freezing
def test_a_frozen_run_does_not_move_even_with_momentum_and_a_nan_gradient():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1, momentum=0.9)
    fz = Freezer([x])
    x.grad = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    fz.hold(np.array([True, True]))
    opt.step()
    fz.release()
    after_one = x.detach().clone()  # both moved by −0.1·g: [[0.9, 1.9], [2.9, 3.9]]
    np.testing.assert_allclose(after_one.numpy(), [[0.9, 1.9], [2.9, 3.9]], rtol=1e-15)
    x.grad = torch.tensor([[2.0, 2.0], [float("nan"), 1.0]], dtype=torch.float64)
    fz.hold(np.array([True, False]))
    assert x.grad[1].tolist() == [0.0, 0.0]  # no NaN reaches the step
    opt.step()
    fz.release()
    # run 0: velocity v = 0.9·1 + 2 = 2.9, x −= 0.1·2.9; run 1: unchanged although its velocity is 0.9
    np.testing.assert_allclose(x[0].detach().numpy(), [0.9 - 0.29, 1.9 - 0.29], rtol=1e-15)
    assert torch.equal(x[1].detach(), after_one[1])


# ------------------------------------------------------------- the loops follow the rules
def test_run_batch_diverges_when_the_value_passes_the_bound_and_keeps_the_prefix():
    """f = x², SGD lr 1.5: x_k = (−2)^k, f_k = 4^k exceeds 1e12 first at k = 20."""
    sq = lambda x: (x ** 2).sum(-1)  # noqa: E731
    good, bad = optimlab.runner.run_batch(sq, "sgd", np.array([[1.0], [1.0]]), 30, hyper={"lr": [0.25, 1.5]})
    assert bad.stop_reason == "diverged" and bad.steps == 19
    np.testing.assert_array_equal(bad.values, 4.0 ** np.arange(20))
    np.testing.assert_array_equal(bad.params[:, 0], (-2.0) ** np.arange(20))
    np.testing.assert_allclose(good.params[:, 0], 0.5 ** np.arange(31), rtol=0, atol=0)  # x −= 0.25·2x


def test_noise_streams_draw_what_each_seed_draws_alone():
    s = NoiseStreams([3, 5, 3])
    g3, g5 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(5)
    for _ in range(2):
        d3, d5 = torch.randn((1, 2), generator=g3), torch.randn((1, 2), generator=g5)
        got = s.draw(torch.Size((3, 2)), torch.float32)
        assert torch.equal(got, torch.cat([d3, d5, d3]))
    s.reset()
    assert torch.equal(s.draw(torch.Size((3, 2)), torch.float32)[0], torch.randn(
        (1, 2), generator=torch.Generator().manual_seed(3))[0])
    x = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    GradNoise.apply(x, 0.5, NoiseStreams([1, 2, 1])).sum().backward()
    n1 = torch.randn((1, 2), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    n2 = torch.randn((1, 2), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    np.testing.assert_array_equal(x.grad.numpy(), (1 + 0.5 * torch.cat([n1, n2, n1])).numpy())


def test_run_noise_needs_a_noisy_function():
    with pytest.raises(ValueError, match="with_run_noise needs a noisy function"):
        optimlab.functions.get("booth").with_run_noise([0, 1])


@pytest.mark.parametrize("bound", [None, 1e10])
@pytest.mark.parametrize("value", [1.0, -3e9, 2e10, float("nan"), float("inf"), -float("inf")])
def test_one_float_loss_diverges_exactly_as_an_array_of_one(value, bound):
    """The Trainer's per-iteration check takes a float; the answer is the array rule's."""
    as_float, as_array = divergent(value, bound=bound), divergent(np.array([value]), bound=bound)
    assert (as_float is None) == (as_array is None)
    if as_array is not None:
        np.testing.assert_array_equal(as_float, as_array)
