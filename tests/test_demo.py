"""optimlab demo: the notebook's experiments with its settings and arithmetic, end to end.

The reference paths are the notebook's (lecture 001) NumPy loops, transcribed here
line by line; Adam is the bias-corrected Kingma & Ba update (the notebook's version
steps with the uncorrected moments, a bug the demo must not copy).
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
import torch
from PIL import Image

from optimlab import problems
from optimlab.demo import (
    AFTER_ADAM,
    AFTER_ADAM_METHODS,
    BEALE,
    LECTURE_METHODS,
    LONG_VALLEY,
    NOTEBOOK_NONCONVEX,
    NOTEBOOK_QUADRATIC,
    ORDERS_METHODS,
    RESULT_COLUMNS,
    SADDLE,
    SCENES,
    TRAINING_COLUMNS,
    TRAINING_SCENES,
    run_demo,
)
from optimlab.training import compare_training


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    calls = []
    # quick: the same runs, smaller pictures (20-frame GIFs, coarser grids): half the time
    result = run_demo(out, quick=True, progress=lambda done, total, what: calls.append((done, total, what)))
    result["calls"] = calls
    return result


# ----------------------------------------------------------- the notebook's loops (001)
def grad_quadratic(p):
    return np.array([10 * p[0], 2 * p[1]])


def grad_nonconvex(p):
    x, y = p
    return np.array([2 * (x - 3) + 1 / (2 * np.sqrt(x)) + y * np.cos(x * y), 32 * (y - 5) ** 3 + x * np.cos(x * y)])


def nb_sgd(p, grad, lr, n):
    p, hist = p.copy(), [p.copy()]
    for _ in range(n):
        p += -lr * grad(p)
        hist.append(p.copy())
    return np.array(hist)


def nb_momentum(p, grad, lr, mu, n):
    p, hist, diff = p.copy(), [p.copy()], np.zeros_like(p)
    for _ in range(n):
        diff = mu * diff - lr * grad(p)
        p += diff
        hist.append(p.copy())
    return np.array(hist)


def nb_adagrad(p, grad, lr, eps, n):
    p, hist, norm = p.copy(), [p.copy()], np.zeros_like(p)
    for _ in range(n):
        g = grad(p)
        norm += g ** 2
        p -= lr * g / np.sqrt(norm + eps)
        hist.append(p.copy())
    return np.array(hist)


def nb_rmsprop(p, grad, lr, mu, eps, n):
    p, hist, norm = p.copy(), [p.copy()], np.zeros_like(p)
    for _ in range(n):
        g = grad(p)
        norm = mu * norm + (1 - mu) * g ** 2
        p -= lr * g / np.sqrt(norm + eps)
        hist.append(p.copy())
    return np.array(hist)


def adam_corrected(p, grad, lr, beta, mu, eps, n):
    """The notebook's Adam with the bug fixed: step with m̂ = m/(1−β^t), v̂ = v/(1−μ^t)."""
    p, hist, m, v = p.copy(), [p.copy()], np.zeros_like(p), np.zeros_like(p)
    for t in range(1, n + 1):
        g = grad(p)
        m = beta * m + (1 - beta) * g
        v = mu * v + (1 - mu) * g ** 2
        p = p - lr * (m / (1 - beta ** t)) / (np.sqrt(v / (1 - mu ** t)) + eps)
        hist.append(p.copy())
    return np.array(hist)


def adam_notebook_bug(p, grad, lr, beta, mu, eps, n):
    p, hist, m, v = p.copy(), [p.copy()], np.zeros_like(p), np.zeros_like(p)
    for _ in range(n):
        g = grad(p)
        m = beta * m + (1 - beta) * g
        v = mu * v + (1 - mu) * g ** 2
        p = p - lr * m / (np.sqrt(v) + eps)
        hist.append(p.copy())
    return np.array(hist)


# ----------------------------------------------------------- settings (SEEDS_DIGEST §7)
def test_notebook_settings_are_the_digests():
    assert NOTEBOOK_QUADRATIC.function == "lecture-quadratic"
    assert NOTEBOOK_QUADRATIC.start == (5.0, 5.0) and NOTEBOOK_QUADRATIC.steps == 100
    assert NOTEBOOK_QUADRATIC.window == ((-7, 7), (-7, 7))
    assert NOTEBOOK_QUADRATIC.methods == {
        "SGD": ("sgd", {"lr": 0.01}),
        "Momentum μ=0.9": ("sgd", {"lr": 0.01, "momentum": 0.9, "momentum_form": "velocity"}),
        "Momentum μ=0.7": ("sgd", {"lr": 0.01, "momentum": 0.7, "momentum_form": "velocity"}),
        "Adagrad": ("adagrad", {"lr": 0.1, "eps": 1e-6, "eps_in_sqrt": True}),
        "RMSProp": ("rmsprop", {"lr": 0.1, "alpha": 0.9, "eps": 1e-6, "eps_in_sqrt": True}),
        "Adam": ("adam", {"lr": 0.1, "betas": (0.9, 0.9), "eps": 1e-6}),
    }
    assert NOTEBOOK_NONCONVEX.function == "lecture-nonconvex"
    assert NOTEBOOK_NONCONVEX.start == (5.0, -2.0) and NOTEBOOK_NONCONVEX.steps == 100
    assert NOTEBOOK_NONCONVEX.window == ((0, 10), (-5, 10))
    nc = NOTEBOOK_NONCONVEX.methods
    assert nc["SGD"] == ("sgd", {"lr": 2e-4})
    assert nc["Momentum μ=0.9"][1]["lr"] == nc["Momentum μ=0.7"][1]["lr"] == 2e-4
    assert {k: nc[k] for k in ("Adagrad", "RMSProp", "Adam")} == \
        {k: NOTEBOOK_QUADRATIC.methods[k] for k in ("Adagrad", "RMSProp", "Adam")}
    for scene in (BEALE, LONG_VALLEY, SADDLE):
        assert tuple(scene.methods) == LECTURE_METHODS


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_recorded_configs_are_the_settings(demo):
    for scene in SCENES:
        traces = demo["traces"][scene.key]
        assert list(traces) == list(scene.methods)
        for label, (name, options) in scene.methods.items():
            cfg = traces[label].config
            assert cfg["optimizer"] == name
            assert cfg["options"] == {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
            assert cfg["start"] == list(scene.start)
            assert traces[label].steps == scene.steps


# ----------------------------------------------------------- the notebook's numbers
@pytest.mark.slow  # uses the demo run (about 7 s)
def test_notebook_sgd_is_the_closed_form(demo):
    p = demo["traces"]["notebook-quadratic"]["SGD"].params
    t = np.arange(101)
    np.testing.assert_allclose(p[:, 0], 5 * 0.9 ** t, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p[:, 1], 5 * 0.98 ** t, rtol=0, atol=1e-12)


# On the non-convex function RMSProp bounces across the sin(xy) ripples, which amplifies
# rounding differences (torch's fused arithmetic vs NumPy's) from 1e-15 to 1e-9 by step ~75:
# there the whole path is compared up to step 60, and the rest loosely.
@pytest.mark.parametrize("scene,grad,exact", [(NOTEBOOK_QUADRATIC, grad_quadratic, 101),
                                              (NOTEBOOK_NONCONVEX, grad_nonconvex, 61)])
@pytest.mark.slow  # uses the demo run (about 7 s)
def test_notebook_paths_follow_the_notebooks_loops(demo, scene, grad, exact):
    traces = demo["traces"][scene.key]
    x0, n = np.array(scene.start), scene.steps
    lr = scene.methods["SGD"][1]["lr"]
    expected = {
        "SGD": nb_sgd(x0, grad, lr, n),
        "Momentum μ=0.9": nb_momentum(x0, grad, lr, 0.9, n),
        "Momentum μ=0.7": nb_momentum(x0, grad, lr, 0.7, n),
        "Adagrad": nb_adagrad(x0, grad, 0.1, 1e-6, n),
        "RMSProp": nb_rmsprop(x0, grad, 0.1, 0.9, 1e-6, n),
        "Adam": adam_corrected(x0, grad, 0.1, 0.9, 0.9, 1e-6, n),
    }
    for label, ref in expected.items():
        got = traces[label].params
        assert got.shape == ref.shape, label
        np.testing.assert_allclose(got[:exact], ref[:exact], rtol=1e-9, atol=1e-9, err_msg=label)
        np.testing.assert_allclose(got, ref, rtol=1e-2, atol=1e-2, err_msg=label)


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_adam_is_bias_corrected_not_the_notebooks_bug(demo):
    got = demo["traces"]["notebook-quadratic"]["Adam"].params
    buggy = adam_notebook_bug(np.array([5.0, 5.0]), grad_quadratic, 0.1, 0.9, 0.9, 1e-6, 100)
    # first corrected step: m̂/√v̂ = g/|g| → lr per coordinate; the bug gives lr·0.1/√0.1 ≈ 0.0316
    np.testing.assert_allclose(got[1], [4.9, 4.9], atol=1e-6)
    assert abs(buggy[1, 0] - 5.0) == pytest.approx(0.1 * 0.1 / np.sqrt(0.1), rel=1e-4)
    assert np.abs(got - buggy).max() > 0.01


# ----------------------------------------------------------- the files
@pytest.mark.slow  # uses the demo run (about 7 s)
def test_every_picture_opens_and_gifs_animate(demo):
    out = demo["out_dir"]
    pngs, gifs = sorted(out.glob("*.png")), sorted(out.glob("*.gif"))
    assert len(gifs) == len(SCENES)
    assert len(pngs) == 2 * len(SCENES) + sum(s.surface for s in SCENES) + 2 * len(TRAINING_SCENES)
    for path in pngs + gifs:
        with Image.open(path) as im:
            im.load()
            assert im.size[0] >= 400 and im.size[1] >= 250, path.name
    for scene in SCENES:
        with Image.open(out / f"{scene.key}.gif") as im:
            assert im.n_frames >= min(scene.steps, 19) // 2, scene.key  # quick: 20 frames (100 in optimlab demo)
            assert im.n_frames <= 21
    traces = sorted((out / "traces").glob("*.npz"))
    assert len(traces) == sum(len(s.methods) for s in SCENES + TRAINING_SCENES)


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_index_embeds_every_picture_and_the_table(demo):
    out = demo["out_dir"]
    html = demo["index"].read_text(encoding="utf-8")
    embedded = [base64.b64decode(b) for b in re.findall(r'src="data:image/[a-z]+;base64,([^"]+)"', html)]
    for path in sorted(out.glob("*.png")) + sorted(out.glob("*.gif")):
        assert path.read_bytes() in embedded, path.name
    for col in RESULT_COLUMNS:
        assert f"<th>{col}</th>" in html
    assert "bias-corrected" in html
    assert html.count("<tr>") >= 2 * len(demo["rows"])  # per-scene tables and the full table
    # one footer, the demo's own; the saddle's table says that f* = −∞
    assert html.count("<footer") == 1 and "Made by optimlab demo in" in html and "Made with optimlab" not in html
    assert "f* = −∞ (unbounded below): f − f* is not defined" in html


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_results_table_rows(demo):
    rows = demo["rows"]
    assert len(rows) == sum(len(s.methods) for s in SCENES)
    for row in rows:
        scene, label = row[0], row[1]
        t = demo["traces"][scene][label]
        assert row[3] == t.values[-1] and row[5] == t.grad_norms[-1] and row[6] == t.steps
        assert row[7] == t.stop_reason
    beale_sgd = next(r for r in rows if r[:2] == ["beale", "SGD"])
    assert beale_sgd[4] == beale_sgd[3]  # f* = 0
    saddle = [r for r in rows if r[0] == "saddle"]
    assert all(np.isnan(r[4]) for r in saddle)  # no minimum


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_progress_reports_every_step(demo):
    calls = demo["calls"]
    assert [c[0] for c in calls] == list(range(1, calls[0][1] + 1))
    assert calls[-1][2] == "wrote index.html"


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_saddle_scene_teaches_the_escape(demo):
    """The lesson of the saddle picture holds: the adaptive methods leave the ridge, plain SGD does not."""
    tr = demo["traces"]["saddle"]
    assert abs(tr["SGD"].params[-1, 1]) < 0.5
    for label in ("Adagrad", "RMSProp", "Adam"):
        assert abs(tr[label].params[-1, 1]) > 1.0, label


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_orders_scenes_count_evaluations_and_teach_the_orders(demo):
    """The orders scenes: first-order methods take one gradient per step; CG, BFGS and Newton
    count their line-search trials (and Newton its Hessians), and they reach the minimum
    that the first-order methods are still far from."""
    for key in ("orders-long-valley", "orders-rosenbrock"):
        tr = demo["traces"][key]
        assert tuple(tr) == ORDERS_METHODS
        for label in ("GD", "Momentum", "Adam"):
            assert "evals_grad" not in tr[label].series and tr[label].values[-1] > 1.0, (key, label)
        for label in ("CG", "BFGS", "Newton"):
            t = tr[label]
            assert t.values[-1] < 1e-12, (key, label, t.values[-1])
            evals, k = t.series["evals_grad"], int(np.flatnonzero(t.values < 1e-12)[0])
            assert (np.diff(evals) >= 0).all() and evals[k] >= k, (key, label)  # ≥ one per step until there
        np.testing.assert_array_equal(tr["Newton"].series["evals_hess"], np.arange(tr["Newton"].steps + 1))


# ----------------------------------------------------------- after Adam (a training problem)
def test_after_adam_scene_settings():
    assert TRAINING_SCENES == (AFTER_ADAM,)
    assert tuple(AFTER_ADAM.methods) == AFTER_ADAM_METHODS
    assert [name for name, _ in AFTER_ADAM.methods.values()] == [
        "adam", "adamw", "lion", "adabelief", "adamw_schedulefree", "prodigy", "adopt"]
    assert AFTER_ADAM.methods["Prodigy"] == ("prodigy", {"lr": 1.0})  # untuned, as its authors advise
    assert AFTER_ADAM.methods["AdamW"][1]["lr"] == AFTER_ADAM.methods["Adam"][1]["lr"]
    assert AFTER_ADAM.problem in problems.names()


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_after_adam_runs_each_method_with_its_settings(demo):
    hist = demo["traces"][AFTER_ADAM.key]
    assert list(hist) == list(AFTER_ADAM.methods)
    for label, (name, options) in AFTER_ADAM.methods.items():
        h = hist[label]
        assert h.config["problem"] == AFTER_ADAM.problem and h.config["n_train"] == 600  # 60% of 1000 points
        per_epoch = -(-600 // AFTER_ADAM.batch_size)
        assert h.config["optimizer"] == name and h.config["options"] == options
        assert h.config["seed"] == AFTER_ADAM.seed and h.config["batch_size"] == AFTER_ADAM.batch_size
        assert h.steps == AFTER_ADAM.epochs * per_epoch and h.stop_reason == "epochs_done"
        assert len(h.epochs["val_loss"]) == AFTER_ADAM.epochs
    # torch's own Adam from the same weights and batches: the same losses (float32 rounding)
    ref = compare_training(AFTER_ADAM.problem, {"Adam": (torch.optim.Adam, AFTER_ADAM.methods["Adam"][1])},
                           epochs=AFTER_ADAM.epochs, seeds=[AFTER_ADAM.seed], batch_size=AFTER_ADAM.batch_size)
    np.testing.assert_allclose(hist["Adam"].series["loss"], ref.histories["Adam"][0].series["loss"],
                               rtol=1e-4, atol=1e-5)
    rows = demo["training_rows"]
    assert demo["training_columns"] == TRAINING_COLUMNS
    assert [r[:2] for r in rows] == [[AFTER_ADAM.key, label] for label in AFTER_ADAM.methods]
    for row in rows:
        h = hist[row[1]]
        assert row[3:] == [h.epochs["loss"][-1], h.epochs["val_loss"][-1], h.epochs["val_accuracy"][-1], h.steps,
                           h.stop_reason]
    html = demo["index"].read_text(encoding="utf-8")
    assert AFTER_ADAM.title in html and "<th>val accuracy</th>" in html


@pytest.mark.slow  # uses the demo run (about 7 s)
def test_after_adam_scene_teaches_its_lesson(demo):
    """What the lesson says: schedule-free AdamW ends lowest, then Lion; Adam jumps back up in the last
    epoch, and AdamW stays on Adam's curve."""
    val = {label: np.asarray(h.epochs["val_loss"]) for label, h in demo["traces"][AFTER_ADAM.key].items()}
    ranked = sorted(val, key=lambda label: val[label][-1])
    assert ranked[:2] == ["AdamW schedule-free", "Lion"], val
    assert val["Adam"][-1] > 3 * val["Adam"].min() and val["Adam"].min() < val["Lion"][:-1].min()
    np.testing.assert_allclose(val["AdamW"], val["Adam"], rtol=0.3)
