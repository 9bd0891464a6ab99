"""How the pictures and tables look to a reader (issue 14, items 10, 11, 13): one colour per
method in every kind of figure, overlapping paths kept visible, legends that do not repeat
themselves, windows that fit a user's formula, the saddle said as such, sizes that match the
page, tables that keep numbers whole at 80 columns.

Traces are written by hand (a few lines of NumPy) or by tiny runs; figures use Agg.
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from optimlab.cli import app
from optimlab.functions import get, parse
from optimlab.record import Trace
from optimlab.report import Table, render_html, to_rich, trace_table
from optimlab.report.html import PAGE_WIDTH
from optimlab.viz import (
    animate_paths,
    method_color,
    method_key,
    plot_contour,
    plot_convergence,
    plot_curves,
    plot_function_1d,
    run_styles,
)
from optimlab.viz._common import legend_label
from optimlab.viz.sweeps import plot_performance_profile, plot_sensitivity
from optimlab.viz.training import training_figures


def gd_trace(lr, steps, start=(5.0, 5.0), label=None, optimizer="sgd", options=None, grad=None):
    """Gradient descent written out in NumPy (default f = 5x² + y²)."""
    grad = grad or (lambda p: np.array([10 * p[0], 2 * p[1]]))
    p = np.array(start, float)
    ps = [p.copy()]
    for _ in range(steps):
        p = p - lr * grad(p)
        ps.append(p.copy())
    ps = np.array(ps)
    vals = 5 * ps[:, 0] ** 2 + (ps[:, 1] ** 2 if ps.shape[1] > 1 else 0)
    return Trace(label=label or f"{optimizer}:lr={lr:g}", config={"optimizer": optimizer,
                                                                  "options": options or {"lr": lr}},
                 series={"params": ps, "values": vals, "grad_norms": np.abs(vals) + 1, "lrs": np.full(steps, lr)},
                 epochs={"loss": vals[1::max(1, steps // 5)][:5]}, steps=steps, stop_reason="max_steps")


def path_lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_gid() == "path"]


# ------------------------------------------------------------------ colours
def test_a_method_has_one_colour_in_every_kind_of_figure():
    adam = gd_trace(0.01, 20, optimizer="adam")
    sgd = gd_trace(0.01, 20, optimizer="gd")  # the lectures' name of SGD
    mom = gd_trace(0.01, 20, optimizer="sgd", options={"lr": 0.01, "momentum": 0.9})
    contour = {ln.get_label(): to_hex(ln.get_color()) for ln in path_lines(plot_contour(get("lecture-quadratic"),
               [sgd, mom, adam]).axes[0])}
    curves = [to_hex(ln.get_color()) for ln in plot_curves([adam, mom, sgd], "loss", per="epoch").axes[0].lines]
    conv = [to_hex(ln.get_color()) for ln in plot_convergence([mom, adam]).axes[0].lines]
    profile = plot_performance_profile((np.array([1.0, 2.0]), np.array([[0.5, 1.0]] * 3), ["momentum", "adam", "sgd"]))
    prof = [to_hex(ln.get_color()) for ln in profile.axes[0].lines]
    sens = plot_sensitivity({"adam:lr=0.1": ([0.1, 1.0], [1.0, 2.0]), "sgd": ([0.1, 1.0], [1.0, 3.0])})
    sens_c = [to_hex(ln.get_color()) for ln in sens.axes[0].lines]
    a, s, m = (to_hex(method_color(k)) for k in ("adam", "sgd", "momentum"))
    assert len({a, s, m}) == 3
    assert contour == {"gd:lr=0.01": s, "sgd:lr=0.01": m, "adam:lr=0.01": a}
    assert curves == [a, m, s] and conv == [m, a] and prof == [m, a, s] and sens_c == [a, s]
    assert a == "#000000" and s == "#d55e00"  # Okabe–Ito black and vermillion
    plt.close("all")


def test_method_keys_follow_the_registry():
    assert method_key("gd") == method_key("SGD") == method_key("keras.sgd") == "sgd"
    assert method_key("heavyball") == method_key("sgd", {"momentum": 0.9}) == "momentum"
    assert method_key("nesterov") == method_key("nag") == "nag"
    assert method_key("RMSProp") == method_key("rmsprop") and method_key("my-own") == "myown"


def test_identical_paths_stay_apart_by_style():
    one, two = gd_trace(0.01, 30), gd_trace(0.01, 30)  # the same method, the same path
    other = gd_trace(0.01, 30, optimizer="rmsprop")  # another method on the same path
    s1, s2, s3 = run_styles([one, two, other])
    assert s1["color"] != s2["color"] and s1["ls"] != s2["ls"] and s1["marker"] != s2["marker"]
    assert s1["markevery"] != s2["markevery"]  # markers of identical paths do not sit on each other
    assert s3["ls"] != "-" and s1["lw"] > s3["lw"] + 1.5  # on top: dashed; underneath: wider
    # the hue is kept: a repeat of one method is a shade of its colour, not another colour
    c1, c2 = np.array(plt.matplotlib.colors.to_rgb(s1["color"])), np.array(plt.matplotlib.colors.to_rgb(s2["color"]))
    assert np.argmax(c1) == np.argmax(c2)


# ------------------------------------------------------------------ legends
def test_legend_labels_do_not_repeat_a_specs_settings():
    t = gd_trace(0.001, 5, label="sgd:lr=0.001")
    assert legend_label(t) == "sgd:lr=0.001"
    t.label = "SGD"
    assert legend_label(t) == "SGD (lr=0.001)"


def test_long_labels_go_below_the_axes():
    long = gd_trace(0.01, 10, label="adam:lr=0.1,betas=(0.9,0.99),eps=1e-08,weight_decay=0.01", optimizer="adam")
    fig = plot_contour(get("lecture-quadratic"), [long, gd_trace(0.01, 10)])
    assert fig.legends and not fig.axes[0].get_legend()
    fig.canvas.draw()
    box = fig.axes[0].get_position()
    assert box.width > 0.75 and fig.legends[0].get_window_extent().y1 < box.y0 * fig.bbox.height + 1
    plt.close(fig)


# ------------------------------------------------------------------ windows
def test_a_formula_gets_a_window_around_its_start_and_its_minimizer():
    f = parse("(x - 7)**2 + 2*(y + 4)**2")
    t = gd_trace(0.05, 5, start=(9.0, 1.0), grad=lambda p: np.array([2 * (p[0] - 7), 4 * (p[1] + 4)]))
    fig = plot_contour(f, [t])
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < 7 < x1 and y0 < -4 < y1 and x0 < 9 < x1 and y0 < 1 < y1
    assert (x0, x1) != (-5.0, 5.0) and x1 < 12  # not the default [-5, 5]² nor far beyond
    (found,) = [ln for ln in ax.get_lines() if ln.get_label() == "minimum (found on a grid)"]
    np.testing.assert_allclose(np.ravel(found.get_data()), [7.0, -4.0], atol=1e-3)
    assert plot_contour(f).axes[0].get_xlim() == (-5.0, 5.0)  # no path: the formula's default domain
    plt.close("all")


def test_where_a_formula_is_undefined_is_hatched():
    f = parse("sqrt(x) + y**2")
    fig = plot_contour(f, [gd_trace(0.1, 3, start=(0.5, 1.0), grad=lambda p: np.array([0.5 / np.sqrt(p[0]),
                                                                                             2 * p[1]]))],
                       domain=((-1, 1), (-1, 1)))
    hatched = [c for c in fig.axes[0].collections if any(h for h in getattr(c, "hatches", None) or [] if h)]
    assert hatched
    plt.close(fig)


def test_the_saddle_is_marked_and_its_f_star_said():
    fn = get("saddle")
    t = gd_trace(0.05, 10, start=(1.0, 1e-3), grad=lambda p: np.array([2 * p[0], -2 * p[1]]))
    fig = plot_contour(fn, [t])
    (sp,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "saddle point"]
    assert np.ravel(sp.get_data()).tolist() == [0.0, 0.0]
    assert "f* = −∞ (unbounded below)" in fig.axes[0].get_title()
    assert "f* = −∞" in plot_convergence([t], function=fn).axes[0].get_title()
    assert "f* = −∞ (unbounded below)" in trace_table({"sgd": t}, fn, title="saddle").title
    plt.close("all")


# ------------------------------------------------------------------ sizes
def test_gif_frames_are_at_least_900_px_wide(tmp_path):
    out = animate_paths(get("lecture-quadratic"), [gd_trace(0.01, 4)], tmp_path / "a.gif", hold=0)
    with Image.open(out) as im:
        assert im.size[0] >= 900


def test_training_figures_are_as_wide_as_the_page_with_integer_epochs(tmp_path):
    hs = {"sgd": gd_trace(0.01, 20), "adam": gd_trace(0.02, 20, optimizer="adam")}
    for h in hs.values():
        h.epochs = {"val_loss": h.values[:7], "loss": h.values[:7]}
    figs = training_figures(hs, tmp_path, width_px=PAGE_WIDTH)
    assert figs and f"max-width:{PAGE_WIDTH}px" in render_html("p", [])
    for path, _ in figs:
        with Image.open(path) as im:
            assert im.size[0] == PAGE_WIDTH
    ax = plot_curves(hs, "loss", per="epoch").axes[0]
    ticks = [v for v in ax.get_xticks() if ax.get_xlim()[0] <= v <= ax.get_xlim()[1]]
    assert ticks and all(float(v).is_integer() for v in ticks)
    plt.close("all")


def test_sensitivity_says_what_is_below_its_bottom():
    fig = plot_sensitivity({"adam": ([1e-3, 1e-2, 1e-1], [1.0, 3e-59, 0.5])}, gap=False)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    (note,) = [t for t in texts if t.startswith("below")]
    bottom = float(re.search(r"below (\S+)", note).group(1))
    assert bottom > 3e-59 and ax.get_ylim()[0] == pytest.approx(bottom, rel=0.5)
    plt.close(fig)


def test_one_footer_per_page():
    page = render_html("p", [Table(["a"], [[1.0]])], footer="Made by a test.")
    assert page.count("<footer") == 1 and "Made with optimlab" not in page


# ------------------------------------------------------------------ one variable and more
def test_a_one_variable_function_is_drawn_as_a_curve_with_the_path():
    f = parse("(x - 1)**2")
    t = gd_trace(0.2, 8, start=(3.0,), grad=lambda p: 2 * (p - 1))
    t.series["values"] = (t.params[:, 0] - 1) ** 2
    fig = plot_function_1d(f, [t])
    assert len(fig.axes) == 1
    (line,) = path_lines(fig.axes[0])
    np.testing.assert_array_equal(line.get_xdata(), t.params[:, 0])
    np.testing.assert_allclose(line.get_ydata(), (t.params[:, 0] - 1) ** 2)
    (found,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "minimum (found on a grid)"]
    assert float(np.ravel(found.get_xdata())[0]) == pytest.approx(1.0, abs=1e-3)
    plt.close(fig)


cli = CliRunner()


@pytest.mark.slow  # end to end: two runs of the real command, pages and pictures written (~3 s)
def test_cli_draws_a_one_variable_formula_and_says_what_a_3d_function_skips(tmp_path):
    r = cli.invoke(app, ["run", "x**2", "--start", "3", "-O", "sgd:lr=0.1", "--steps", "5", "--out",
                         str(tmp_path / "one")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "one" / "paths.png") as im:
        assert im.size[0] > 600
    r = cli.invoke(app, ["run", "rosenbrock:dim=3", "--start", "1,2,3", "-O", "sgd:lr=0.001", "--steps", "3",
                         "--out", str(tmp_path / "three")], catch_exceptions=False, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "3 variables" in notes[0] and "paths.png" in notes[0]
    assert not (tmp_path / "three" / "paths.png").exists()


# ------------------------------------------------------------------ tables
def test_tables_at_80_columns_keep_every_number_whole():
    spec = "adam:lr=0.1,betas=(0.9,0.99)"
    t = Table(["optimizer", "final f", "f − f*", "‖∇f‖", "steps", "stop reason", "final point"],
              [[spec, 1.2345e-7, 1.2345e-7, 3.3e-4, 100, "max_steps", "(0.0001234, -2.345e-05)"],
               ["momentum:lr=0.01,momentum=0.7,momentum_form=velocity", 12.5, 12.5, 0.5, 100, "grad_tol", "(1, 2)"]],
              text_columns=("optimizer", "stop reason", "final point"))
    console = Console(width=80, record=True, color_system=None)
    console.print(to_rich(t))
    lines = console.export_text().splitlines()
    assert max(len(ln) for ln in lines) <= 80
    for number in ("1.235e-07", "3.300e-04", "12.5", "0.0001234", "-2.345e-05", "0.99", "0.7"):
        assert any(number in ln for ln in lines), number
    # the spec folds only after a separator: its pieces, joined, give it back
    pieces = [ln.split("│")[1].strip() for ln in lines if ln.startswith("│")][:4]
    pieces = [p for p in pieces if p]
    assert "".join(pieces).startswith(spec[:20]) and all(p[-1] in ":,=(" for p in pieces[:-1])


def test_html_number_cells_never_wrap():
    page = render_html("p", [Table(["scene", "final f", "final point"], [["beale", 1.2345e-7, "(1.5, -2)"]])])
    assert "td.num{white-space:nowrap}" in page
    assert "<td class='num'>1.235e-07</td>" in page and "<td class='num'>(1.5, -2)</td>" in page
    assert "<td>beale</td>" in page
