"""Records in Jupyter (``_repr_html_``, ``len``) and ``compare`` with a list of specs."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import optimlab
from optimlab.record import Trace
from optimlab.training import Trainer


def quad(x):  # the notebook's 5x² + y²: SGD's path is x_k = 5(1 − 10η)^k, y_k = 5(1 − 2η)^k
    return 5 * x[..., 0] ** 2 + x[..., 1] ** 2


quad.dim = 2


def closed_form_f(lr: float, k: int) -> float:
    return 5 * (5 * (1 - 10 * lr) ** k) ** 2 + (5 * (1 - 2 * lr) ** k) ** 2


def _cells(html: str) -> dict[str, str]:
    return dict(re.findall(r"<th style='text-align:left'>(.*?)</th><td>(.*?)</td>", html))


def test_a_trace_shows_its_numbers_and_a_small_plot():
    t = optimlab.run(quad, "sgd:lr=0.01", (5, 5), 10, label="<b>sgd</b> & co")
    html = t._repr_html_()
    cells = _cells(html)
    assert cells["final f"] == format(closed_form_f(0.01, 10), ".6g") and cells["steps"] == "10"
    assert cells["best f"] == cells["final f"] and cells["start"] == "5, 5" and cells["stop reason"] == "max_steps"
    assert "&lt;b&gt;sgd&lt;/b&gt; &amp; co" in html and "<b>sgd</b>" not in html  # user text is escaped
    points = re.findall(r"points='([^']*)'", html)
    assert len(points) == 1 and len(points[0].split()) == 11 and len(t) == 11
    long = optimlab.run(quad, "sgd:lr=0.001", (5, 5), 600)
    assert len(long) == 601 and len(re.findall(r"points='([^']*)'", long._repr_html_())[0].split()) == 300
    assert len(long._repr_html_()) < 8000 and bool(Trace()) and len(Trace()) == 0


def test_a_history_shows_its_last_epoch_and_its_loss_curves():
    X, y = torch.randn(24, 4, generator=torch.Generator().manual_seed(0)), torch.arange(24) % 3
    h = Trainer(torch.nn.Linear(4, 3), loss="cross_entropy", optimizer="sgd:lr=0.1", metrics=["accuracy"]).fit(
        (X, y), batch_size=8, epochs=3, validation_split=0.25, seed=0, verbose=0)
    cells = _cells(h._repr_html_())
    assert cells["epochs"] == "3" and cells["iterations"] == "9" and len(h) == 9
    assert cells["final val_accuracy"] == format(h.epochs["val_accuracy"][-1], ".6g")
    assert cells["final loss"] == format(h.epochs["loss"][-1], ".6g")
    assert len(re.findall("<polyline", h._repr_html_())) == 2  # loss and val_loss


def test_a_sweep_result_ranks_its_configurations_in_the_table():
    res = optimlab.sweep(quad, "sgd", grid={"lr": [0.01, 0.1, 0.5]}, steps=20, start=(5, 5))
    assert len(res) == 3 and res.stop_reasons[2] == "diverged"  # |1 − 10·0.5| = 4: 5·4^20 passes the bound
    html = res._repr_html_()
    body = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    assert body == [("0.1", format(closed_form_f(0.1, 20), ".6g"), "1"),
                    ("0.01", format(closed_form_f(0.01, 20), ".6g"), "1"), ("0.5", "inf", "1")]
    assert _cells(html)["runs"] == "3" and _cells(html)["diverged"] == "1" and "<svg" in html


def test_compare_takes_a_list_of_specs_labelled_by_themselves():
    out = optimlab.compare(quad, ["sgd:lr=0.01", "adam:lr=0.1", "sgd:lr=0.01", ("sgd", {"lr": 0.1})], (5, 5), 5)
    assert list(out) == ["sgd:lr=0.01", "adam:lr=0.1", "sgd:lr=0.01 #2", "sgd(lr=0.1)"]
    np.testing.assert_array_equal(out["sgd:lr=0.01"].values, out["sgd:lr=0.01 #2"].values)
    assert out["sgd(lr=0.1)"].final_value == pytest.approx(closed_form_f(0.1, 5), rel=1e-12)
    for bad in ("adam", [], {}):
        with pytest.raises(ValueError, match="optimizers must be a non-empty mapping"):
            optimlab.compare(quad, bad, (5, 5), 1)
    cmp = optimlab.compare_training("iris-softmax", ["sgd:lr=0.1", "sgd:lr=0.1"], epochs=1, batch_size=60)
    assert list(cmp.histories) == ["sgd:lr=0.1", "sgd:lr=0.1 #2"]  # before: the second run overwrote the first
    np.testing.assert_array_equal(*(hs[0].values for hs in cmp.histories.values()))
