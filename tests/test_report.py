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
