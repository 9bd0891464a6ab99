"""Traces made when first read (optimlab.trace_list, runner.traces): each made trace equals the one
the eager list would hold, the bulk columns equal what the made traces say, order and joins hold."""

import numpy as np
import pytest
from test_sweeps import valley

import optimlab
from optimlab import stopping
from optimlab.runner import prepare_batch, run
from optimlab.trace_list import JoinedTraces, TraceList, curve_ends, join, step_counts, stop_reasons


def _batch(record="all", **kw):
    lrs = [0.001, 0.02, 0.3, 3.0]  # the last diverges on the valley
    (b,) = prepare_batch(valley, "sgd", [(2.0, 1.0)] * 4, 15, hyper={"lr": lrs}, record=record,
                         record_params=record == "all", bound=1e6, compile=False, **kw)
    b.run()
    return b.traces(), lrs


@pytest.mark.parametrize("record", ["all", "values", "final"])
def test_columns_are_those_of_the_made_traces(record):
    traces, lrs = _batch(record, stop=stopping.FTol(2.0))
    made = list(traces)
    assert stop_reasons(traces) == [t.stop_reason for t in made] and "diverged" in stop_reasons(traces)
    assert np.array_equal(step_counts(traces), [t.steps for t in made])
    ends, ends_made = curve_ends(traces), curve_ends(made)  # the list path reads each trace
    for k in ("final", "best"):
        np.testing.assert_array_equal(ends[k], ends_made[k])
    for lr, t in zip(lrs, made):  # each made trace is the run alone
        alone = run(valley, ("sgd", {"lr": lr}), start=(2.0, 1.0), steps=15, stop=stopping.FTol(2.0),
                    bound=1e6, compile=False)
        assert t.stop_reason == alone.stop_reason and t.steps == alone.steps and t.label == alone.label
        np.testing.assert_allclose(t.params[-1], alone.params[-1], rtol=1e-12, atol=1e-12)
        if record != "final":
            np.testing.assert_allclose(t.values, alone.values, rtol=1e-12, atol=1e-12)
        else:
            assert t.meta["final_value"] == pytest.approx(alone.values[-1], rel=1e-12, abs=1e-12)


def test_a_trace_is_made_once_and_indexes_like_a_list():
    traces, _ = _batch()
    assert isinstance(traces, TraceList) and len(traces) == 4 and "0 made" in repr(traces)
    t = traces[1]
    t.meta["note"] = 1
    assert traces[1] is t and traces[-3] is t and traces[1:3][0] is t and traces[1].meta["note"] == 1
    with pytest.raises(IndexError, match="index 4 is out of range for 4 traces"):
        traces[4]
    assert traces == list(traces)


def test_joined_traces_follow_their_order():
    a, _ = _batch()
    b, _ = _batch("all", labels=list("wxyz"))
    j = join([a, b], order=[4, 0, 5, 1, 6, 2, 7, 3])
    assert [t.label for t in j][::2] == list("wxyz") and j[1] is a[0] and j[6] is b[3] and j[7] is a[3]
    assert stop_reasons(j) == [t.stop_reason for t in j]
    np.testing.assert_array_equal(curve_ends(j)["best"], curve_ends(list(j))["best"])
    assert join([a]) is a and isinstance(join([a, b]), JoinedTraces) and JoinedTraces([a, [b[0]]]).record is None
    with pytest.raises(ValueError, match="order must be a permutation of the 8"):
        JoinedTraces([a, b], order=[0] * 8)


def test_a_sweep_over_structural_values_puts_each_run_in_its_place():
    grid = {"lr": [0.001, 0.01, 0.1], "nesterov": [False, True]}
    res = optimlab.sweep(valley, "sgd:momentum=0.9", grid=grid, start=(2.0, 1.0), steps=10)
    for cfg, t in zip(res.configs, res.traces):
        alone = run(valley, ("sgd", {"momentum": 0.9, **cfg}), start=(2.0, 1.0), steps=10)
        assert t.config["sweep"] == cfg
        np.testing.assert_allclose(t.values, alone.values, rtol=1e-12, atol=1e-12)
