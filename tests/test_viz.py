"""optimlab.viz: the pictures draw what the records hold (paths, values, levels, frames).

The traces here are made by hand (or by a few lines of NumPy gradient descent written
in the test), so the pictures are checked against numbers computed independently of
the runner.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb
from PIL import Image

from optimlab.record import Trace
from optimlab.viz import (
    animate_paths,
    contour_levels,
    frame_steps,
    method_color,
    plot_contour,
    plot_convergence,
    plot_lr,
    plot_surface,
    save_figure,
)
from optimlab.viz._common import format_options, legend_label, plot_window


class Quad:
    """5x² + y² with the attributes of a test function (duck-typed)."""

    name = "quad"
    dim = 2
    domain = np.array([[-7.0, 7.0], [-7.0, 7.0]])
    minimizers = np.array([[0.0, 0.0]])
    f_min = 0.0
    latex = "5x^2 + y^2"

    def __call__(self, p):
        return 5 * p[..., 0] ** 2 + p[..., 1] ** 2


def gd_trace(lr: float, steps: int, start=(5.0, 5.0), label="GD", momentum=0.0) -> Trace:
    """Heavy-ball GD on 5x² + y², written out in NumPy."""
    p, v = np.array(start, float), np.zeros(2)
    ps = [p.copy()]
    for _ in range(steps):
        v = momentum * v - lr * np.array([10 * p[0], 2 * p[1]])
        p = p + v
        ps.append(p.copy())
    ps = np.array(ps)
    vals = 5 * ps[:, 0] ** 2 + ps[:, 1] ** 2
    gn = np.hypot(10 * ps[:, 0], 2 * ps[:, 1])
    options = {"lr": lr, "momentum": momentum} if momentum else {"lr": lr}
    return Trace(label=label, config={"optimizer": "sgd", "options": options},
                 series={"params": ps, "values": vals, "grad_norms": gn, "lrs": np.full(steps, lr)},
                 steps=steps, stop_reason="max_steps")


@pytest.fixture(scope="module")
def traces():
    return [gd_trace(0.01, 60, label="SGD"), gd_trace(0.01, 40, label="Momentum", momentum=0.9),
            gd_trace(0.05, 30, start=(-4.0, 6.0), label="fast")]


def path_lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_gid() == "path"]


# ------------------------------------------------------------------------ levels
def test_log_levels_are_geometric_in_f_minus_min():
    Z = np.array([[1.0, 2.0], [11.0, 1001.0]])
    lv = contour_levels(Z, 5, log=True)
    d = lv - 1.0
    assert d[-1] == pytest.approx(1000.0)
    ratios = d[1:] / d[:-1]
    np.testing.assert_allclose(ratios, ratios[0])
    assert (np.diff(lv) > 0).all()


def test_levels_handle_negative_values_nan_and_a_lower_f_min():
    Z = np.array([[-3.0, np.nan], [-2.0, 97.0]])
    lv = contour_levels(Z, 4, log=True, f_min=-5.0)
    assert lv[-1] == pytest.approx(97.0)
    assert lv[0] > -5.0 and np.isfinite(lv).all()
    np.testing.assert_allclose(contour_levels(Z, 3, log=False), [-3.0, 47.0, 97.0])
    with pytest.raises(ValueError, match="undefined"):
        contour_levels(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="levels"):
        contour_levels(Z, 1)


# ------------------------------------------------------------------------ contour
def test_contour_draws_one_line_per_trace_through_the_recorded_points(traces):
    fig = plot_contour(Quad(), traces)
    ax = fig.axes[0]
    lines = path_lines(ax)
    assert len(lines) == 3
    for ln, t in zip(lines, traces):
        np.testing.assert_array_equal(np.column_stack(ln.get_data()), t.params)
    assert len({ln.get_color() for ln in lines}) == 3 and len({ln.get_marker() for ln in lines}) == 3
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["SGD (lr=0.01)", "Momentum (lr=0.01, μ=0.9)", "fast (lr=0.05)"]
    assert "start" in labels and "minimum" in labels
    start = [ln for ln in ax.get_lines() if ln.get_label() == "start"][0]
    assert sorted(map(tuple, np.column_stack(start.get_data()))) == [(-4.0, 6.0), (5.0, 5.0)]
    assert ax.get_xlim() == (-7.0, 7.0) and ax.get_ylim() == (-7.0, 7.0)


def test_contour_of_a_plain_callable_with_an_undefined_region(tmp_path):
    # √x is NaN for x < 0: the picture leaves it blank (hatched) instead of failing
    f = lambda p: (p[..., 0] - 3) ** 2 + torch.sqrt(p[..., 0]) + p[..., 1] ** 2  # noqa: E731
    t = gd_trace(0.01, 5, start=(2.0, 1.0))
    fig = plot_contour(f, t, domain=((-2, 6), (-3, 3)), title="sqrt")
    ax = fig.axes[0]
    assert len(path_lines(ax)) == 1 and ax.get_title() == "sqrt"
    assert not [ln for ln in ax.get_lines() if ln.get_label() == "minimum"]  # nothing known
    out = save_figure(fig, tmp_path / "c.png")
    with Image.open(out) as im:
        assert im.size[0] > 300


def test_window_from_paths_when_the_function_has_no_domain():
    t = gd_trace(0.01, 10, start=(2.0, -1.0))
    (x0, x1), (y0, y1) = plot_window(lambda p: p[..., 0] ** 2, [t])
    assert x0 < 2 * 0.9 ** 10 and x1 > 2.0 and y0 < -1.0 and y1 > -0.98 ** 10


def test_contour_rejects_bad_input(traces):
    with pytest.raises(ValueError, match="domain"):
        plot_contour(Quad(), traces, domain=((1, 0), (0, 1)))
    three = Trace(label="3d", series={"params": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="shape"):
        plot_contour(Quad(), three)

    class Cube(Quad):
        dim = 3

    with pytest.raises(ValueError, match="dim=3"):
        plot_contour(Cube(), traces)
    with pytest.raises(TypeError, match="Trace"):
        plot_contour(Quad(), [np.zeros((3, 2))])


def test_legend_text_from_config():
    assert format_options({"lr": 0.1, "betas": (0.9, 0.999), "eps_in_sqrt": True, "amsgrad": False}) == \
        "lr=0.1, β=(0.9, 0.999), eps_in_sqrt"
    t = Trace(config={"optimizer": "adam", "options": {"lr": 0.1}})
    assert legend_label(t) == "adam (lr=0.1)" and legend_label(t, settings=False) == "adam"


# ------------------------------------------------------------------------ animation
def test_frame_steps():
    np.testing.assert_array_equal(frame_steps(10, 3), [0, 3, 6, 9, 10])
    np.testing.assert_array_equal(frame_steps(10, 1, frames=6), [0, 2, 4, 6, 8, 10])
    assert len(frame_steps(1000, 1, frames=100)) <= 100
    with pytest.raises(ValueError, match="stride"):
        frame_steps(10, 0)


def test_gif_has_one_frame_per_shown_step_and_the_paths_grow(tmp_path, traces):
    out = animate_paths(Quad(), traces, tmp_path / "a.gif", stride=2, hold=0, dpi=50)
    shown = frame_steps(60, 2, 100)
    with Image.open(out) as im:
        assert im.n_frames == len(shown) == 31
        im.seek(0)
        first = np.asarray(im.convert("RGB")).astype(int)
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB")).astype(int)
    # the SGD path (its method's colour) covers many more pixels at the end than at the start
    red = np.array(to_rgb(method_color("sgd"))) * 255

    def count(img):
        return int((np.abs(img - red).sum(axis=-1) < 90).sum())

    assert count(last) > 3 * count(first) + 20
    assert (np.abs(last - first).sum(axis=-1) > 60).sum() > 500  # the other paths grew too
    with pytest.raises(ValueError, match=".gif or .mp4"):
        animate_paths(Quad(), traces, tmp_path / "a.avi")


# ------------------------------------------------------------------------ 3-D, curves
def test_surface_lifts_paths_to_their_values(traces):
    fig = plot_surface(Quad(), traces[:2], grid=30)
    ax = fig.axes[0]
    lines = path_lines(ax)
    assert len(lines) == 2
    x, y, z = lines[0].get_data_3d()
    np.testing.assert_allclose(z, 5 * np.asarray(x) ** 2 + np.asarray(y) ** 2)
    fig = plot_surface(Quad(), traces[:1], grid=30, log_z=True)
    x, y, z = path_lines(fig.axes[0])[0].get_data_3d()
    v = traces[0].values
    assert z[0] == pytest.approx(np.log10(v[0]), rel=1e-3)  # f − min + δ ≈ f where f ≫ δ
    np.testing.assert_array_equal(np.argsort(z), np.argsort(v))  # heights increase with f


def test_convergence_plots_f_minus_fstar_and_grad_norm(traces):
    fig = plot_convergence(traces, f_min=-1.0)
    a1, a2 = fig.axes[:2]
    assert len(a1.get_lines()) == len(a2.get_lines()) == 3
    np.testing.assert_allclose(a1.get_lines()[0].get_ydata(), traces[0].values + 1.0)
    np.testing.assert_allclose(a2.get_lines()[1].get_ydata(), traces[1].grad_norms)
    assert a1.get_yscale() == a2.get_yscale() == "log"
    # f* from the function; a saddle (f* = -inf) gets f on a linear axis
    fig = plot_convergence(traces, function=Quad())
    np.testing.assert_allclose(fig.axes[0].get_lines()[2].get_ydata(), traces[2].values)
    fig = plot_convergence(traces, f_min=float("-inf"))
    assert fig.axes[0].get_yscale() == "linear"


def test_lr_plot_starts_at_update_one(traces):
    fig = plot_lr(traces[:2])
    ln = fig.axes[0].get_lines()[0]
    assert ln.get_xdata()[0] == 1 and len(ln.get_xdata()) == 60
    np.testing.assert_allclose(ln.get_ydata(), 0.01)


def test_mp4_needs_ffmpeg(tmp_path, traces, monkeypatch):
    import optimlab.viz.animation as anim

    monkeypatch.setattr(anim.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="ffmpeg"):
        animate_paths(Quad(), traces, tmp_path / "a.mp4")
    assert not (tmp_path / "a.mp4").exists()


def test_function_by_name_and_formula(traces):
    fig = plot_contour("lecture-quadratic", traces[:1], levels=12)
    ax = fig.axes[0]
    assert ax.get_xlim() == (-7.0, 7.0)  # the registry's domain
    assert [ln.get_label() for ln in ax.get_lines() if ln.get_label() == "minimum"] == ["minimum"]
    fig = plot_contour("5*x**2 + y**2", traces[:1], levels=np.array([1.0, 10.0, 100.0]))
    assert len(path_lines(fig.axes[0])) == 1


def _levels(ax):
    return [c.levels for c in ax.collections if hasattr(c, "levels") and not c.filled][0]


def test_levels_default_to_log_unless_unbounded_below(traces):
    lv = _levels(plot_contour(Quad(), traces[:1], levels=8).axes[0])
    # base = f* = 0 (below the grid's minimum): the levels themselves form a geometric sequence
    ratios = lv[1:] / lv[:-1]
    assert np.allclose(ratios, ratios[0]) and ratios[0] > 1.5
    assert lv[-1] == pytest.approx(5 * 49 + 49)

    class Saddle(Quad):
        f_min = float("-inf")
        minimizers = np.zeros((0, 2))

        def __call__(self, p):
            return p[..., 0] ** 2 - p[..., 1] ** 2

    lv = _levels(plot_contour(Saddle(), traces[:1], levels=8).axes[0])
    np.testing.assert_allclose(np.diff(lv), np.diff(lv)[0])
    lv = _levels(plot_contour(Saddle(), traces[:1], levels=8, log_levels=True).axes[0])
    assert not np.allclose(np.diff(lv), np.diff(lv)[0])
