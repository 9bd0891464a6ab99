"""optimlab.report pages and optimlab.record JSON."""


def test_a_linked_figure_resolves_from_the_page(tmp_path, monkeypatch):
    from optimlab.report import Figure, write_html

    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"png")
    page = write_html("out/index.html", "t", [Figure("out/a.png", embed=False)])
    assert 'src="a.png"' in page.read_text()


def test_trace_json_is_valid_json_with_nan_inside_arrays(tmp_path):
    import json

    import numpy as np

    from optimlab.record import Trace

    t = Trace(series={"values": np.array([1.0, np.nan, np.inf])})
    text = json.dumps(t.to_dict(), allow_nan=False)  # raises on a bare NaN
    assert Trace.from_dict(json.loads(text)).values.tolist()[0] == 1.0
    u = Trace.load(t.save(tmp_path / "t.json"))
    assert np.isnan(u.values[1]) and u.values[2] == np.inf


def test_loading_something_else_names_the_file(tmp_path):
    import numpy as np
    import pytest

    from optimlab.record import Trace

    (tmp_path / "x.npz").write_text("not an archive")
    np.savez(tmp_path / "y.npz", a=np.arange(3))
    for name in ("x.npz", "y.npz"):
        with pytest.raises(ValueError, match="is not an optimlab trace"):
            Trace.load(tmp_path / name)


def test_plot_curves_takes_a_mapping_without_changing_the_traces():
    import numpy as np
    import pytest

    from optimlab.record import Trace
    from optimlab.viz import plot_curves

    t = Trace(series={"values": np.array([3.0, 2.0, 1.0])})
    fig = plot_curves({"mine": t})
    assert [line.get_label() for line in fig.axes[0].lines] == ["mine"] and t.label == ""
    with pytest.raises(ValueError, match="empty"):
        plot_curves({})


def test_only_the_cli_entry_point_picks_a_backend():
    import pathlib
    import re

    import optimlab

    root = pathlib.Path(optimlab.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                   if re.search(r"matplotlib\.use\(", p.read_text(encoding="utf-8")))
    assert users == ["cli/__init__.py"]
    # and the command modules build no tables of their own: report.tables does
    for p in (root / "cli").glob("*.py"):
        assert "rich.table" not in p.read_text(encoding="utf-8"), p.name


# ---------------------------------------------------------------- tables: one Table, three writers
def test_a_table_renders_the_same_cells_in_html_markdown_rich_and_csv(tmp_path):
    import csv
    import math

    from rich.console import Console

    from optimlab.report import Table, render_html, to_markdown, to_rich, write_csv

    t = Table(["optimizer", "final", "steps"], [["a|b", 1.23456789e-7, 12], ["sgd", math.inf, 3],
                                                ["adam", math.nan, 0]], title="T")
    md = to_markdown(t).splitlines()
    assert md[0] == "| optimizer | final | steps |" and md[1] == "|---|---:|---:|"
    assert md[2:] == ["| a\\|b | 1.235e-07 | 12 |", "| sgd | ∞ | 3 |", "| adam | — | 0 |"]
    html = render_html("p", [t])
    for cell in ("<td>a|b</td>", "<td class='num'>1.235e-07</td>", "<td class='num'>∞</td>",
                 "<td class='num'>—</td>", "<caption>T</caption>"):
        assert cell in html
    console = Console(record=True, width=100)
    console.print(to_rich(t))
    text = console.export_text()
    assert "1.235e-07" in text and "∞" in text and "—" in text
    with open(write_csv(t, tmp_path / "t.csv")) as fh:
        rows = list(csv.reader(fh))
    assert rows[1] == ["a|b", repr(1.23456789e-7), "12"]  # raw values, not the formatted cells


def test_mean_std_cells():
    import math

    from optimlab.report import format_mean_std, format_number

    assert format_mean_std(0.5, 0.01234, 3) == "0.5 ± 0.012"
    assert format_mean_std(0.5, 0.01234, 1) == "0.5"
    assert format_mean_std(0.0123, 0.002, 2, scale=1e3) == "12.3 ± 2"
    assert format_mean_std(math.nan, 0.0, 3) == "—"
    assert format_number(2.5e5) == "2.500e+05" and format_number(-math.inf) == "−∞"


# ---------------------------------------------------------------- pages as Python functions
def test_run_page_from_python_writes_traces_pictures_and_the_table(tmp_path):
    import re

    import numpy as np

    import optimlab
    from optimlab import report
    from optimlab.record import Trace

    traces = optimlab.compare("lecture-quadratic", {"SGD": "sgd:lr=0.01", "Adam": "adam:lr=0.1"}, (5.0, 5.0), 20)
    page = report.run_page("lecture-quadratic", traces, tmp_path / "run", animate=True, frames=5)
    names = sorted(p.name for p in page.files)
    assert names == sorted(["sgd.npz", "adam.npz", "convergence.png", "paths.png", "paths.gif", "index.html"])
    assert page.index == tmp_path / "run" / "index.html"
    # the table's numbers are the traces' (f* = 0 for 5x² + y²)
    rows = {r[0]: dict(zip(page.table.columns, r)) for r in page.table.rows}
    final = 5 * (5 * 0.9 ** 20) ** 2 + (5 * 0.98 ** 20) ** 2
    assert rows["SGD"]["final f"] == rows["SGD"]["f − f*"] == traces["SGD"].values[-1]
    np.testing.assert_allclose(rows["SGD"]["final f"], final, rtol=1e-12)
    assert rows["Adam"]["steps"] == 20 and rows["Adam"]["stop reason"] == "max_steps"
    html = page.index.read_text()
    assert f"<td class='num'>{final:.4g}</td>" in html and len(re.findall("data:image/", html)) == 3
    np.testing.assert_array_equal(Trace.load(tmp_path / "run" / "sgd.npz").params, traces["SGD"].params)


def test_sweep_page_from_python(tmp_path):
    import csv

    import optimlab
    from optimlab import report
    from optimlab.sweeps import SweepResult

    res = optimlab.sweep("ill-conditioned", "sgd", grid={"lr": optimlab.logspace(1e-3, 0.5, 6),
                                                        "momentum": [0.0, 0.9]}, steps=30)
    page = report.sweep_page(res, tmp_path / "s", top=3, target=1e-3)
    assert {p.name for p in page.files} >= {"sweep.json", "table.csv", "heatmap.png", "sensitivity.png",
                                            "best_path.png", "index.html"}
    finals = sorted(r["final"] for r in res.table())
    assert [r[page.table.columns.index("final")] for r in page.table.rows] == finals[:3]
    with open(tmp_path / "s" / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(float(r["final"]) for r in rows) == finals and "steps_to_target" in rows[0]
    back = SweepResult.load(tmp_path / "s" / "sweep.json")
    assert back.final_values.tolist() == res.final_values.tolist()
    import pytest

    with pytest.raises(ValueError, match="top must be >= 1"):
        report.sweep_page(res, tmp_path / "s2", top=0)
