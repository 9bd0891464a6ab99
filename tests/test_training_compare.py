"""compare_training and the ``optimlab train`` command."""

from __future__ import annotations

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

import optimlab
from optimlab import report
from optimlab.training import EarlyStopping


@pytest.fixture(scope="module")
def cmp():
    return optimlab.compare_training("iris-softmax", {"SGD": "sgd:lr=0.1", "Adam": "adam:lr=0.05"}, epochs=6,
                                     seeds=[0, 1, 2], batch_size=16)


def test_every_optimizer_starts_from_the_same_weights_and_batches(cmp):
    for i in range(3):
        first = {label: hs[i].values[0] for label, hs in cmp.histories.items()}
        assert first["SGD"] == first["Adam"]  # same init, same first batch: same loss before any update
    assert cmp.histories["SGD"][0].values[0] != cmp.histories["SGD"][1].values[0]  # seeds differ


def test_table_numbers_are_means_and_sample_stds_of_the_histories(cmp):
    t = report.training_table(cmp)
    cols, rows = list(t.columns), [list(r) for r in t.rows]
    assert cols[0] == "optimizer" and cols[1] == "final val_accuracy"
    summary = {r["label"]: r for r in cmp.summary()}
    for label, hs in cmp.histories.items():
        final = np.array([h.history["val_accuracy"][-1] for h in hs])
        best = np.array([max(h.history["val_accuracy"]) for h in hs])
        assert summary[label]["final"] == pytest.approx((final.mean(), final.std(ddof=1)))
        assert summary[label]["best"] == pytest.approx((best.mean(), best.std(ddof=1)))
        reach = [next((e + 1 for e, v in enumerate(h.history["val_accuracy"]) if v >= cmp.target), None)
                 for h in hs]
        assert summary[label]["reached"] == sum(r is not None for r in reach)
    # default target: the lower of the two mean best accuracies, so every optimizer reached it on average
    means = [summary[k]["best"][0] for k in summary]
    assert cmp.target == pytest.approx(min(means))
    assert [r[0] for r in rows] == ["SGD", "Adam"]


def test_html_page_has_table_and_figures(cmp, tmp_path):
    page = report.training_html(cmp, tmp_path / "index.html")
    html = page.read_text()
    assert "<table>" in html and "final val_accuracy" in html and html.count("data:image/png;base64,") >= 3
    saved = cmp.save(tmp_path / "h")
    assert len(saved) == 6
    h = optimlab.Trace.load(saved[0])
    assert isinstance(h, optimlab.History) and h.config["problem"] == "iris-softmax"
    mean = cmp.mean_history("SGD")
    np.testing.assert_allclose(mean.epochs["val_loss"],
                               np.mean([h.epochs["val_loss"] for h in cmp.histories["SGD"]], axis=0))


def test_compare_with_callbacks_and_bad_arguments():
    c = optimlab.compare_training("moons-logreg", ["sgd:lr=0.5"], epochs=30, seeds=1, batch_size=600,
                                  callbacks=lambda: [EarlyStopping("val_loss", patience=0, min_delta=1.0)])
    h = c.histories["sgd:lr=0.5"][0]
    assert h.stop_reason == "early_stopping" and h.n_epochs == 2
    with pytest.raises(ValueError, match="seeds"):
        optimlab.compare_training("iris-softmax", ["adam"], seeds=0)
    # before: [1.5] was silently truncated to seed 1
    for bad in ([1.5], [0, 2.5], [], None, ["a"], 2.0):
        with pytest.raises(ValueError, match="seeds must be a count >= 1 or a non-empty list of integers"):
            optimlab.compare_training("iris-softmax", ["adam"], seeds=bad)
    assert optimlab.compare_training("iris-softmax", ["sgd"], epochs=1, seeds=[3.0, np.int64(4)]).seeds == [3, 4]
    with pytest.raises(ValueError, match="optimizers is empty"):
        optimlab.compare_training("iris-softmax", {})
    with pytest.raises(ValueError, match="unknown problem"):
        optimlab.compare_training("iris-svm", ["adam"])


def _app():
    from optimlab.cli import train

    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, as in the full optimlab app
        pass

    train.register(app)
    return app


def test_cli_train_writes_the_page_and_histories(tmp_path):
    args = ["train", "iris-softmax", "-O", "sgd:lr=0.1", "--optimizer", "adam:lr=0.05", "--epochs", "3",
            "--batch-size", "30", "--seeds", "2", "--out", str(tmp_path / "o")]
    res = CliRunner(env={"COLUMNS": "200"}).invoke(_app(), args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "index.html").is_file()
    assert len(list((tmp_path / "o" / "histories").glob("*.npz"))) == 4
    assert "sgd:lr=0.1" in res.output and "epochs to" in res.output


def test_cli_train_on_a_csv_and_clear_errors(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    csv = tmp_path / "d.csv"
    csv.write_text("x1,x2,y\n" + "\n".join(f"{a},{b},{int(a + b > 0)}" for a, b in X) + "\n")
    r = CliRunner().invoke(_app(), ["train", str(csv), "--target", "y", "-O", "adam", "--epochs", "2",
                                    "--batch-size", "8", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    for args, msg in [(["train", str(csv)], "needs --target"),
                      (["train", str(csv), "--target", "z"], "target column 'z'"),
                      (["train", "iris-softmax", "-O", "adamm"], "unknown optimizer 'adamm'"),
                      (["train", "iris-softmax", "--batch-size", "1000"], "batch_size must be in"),
                      (["train", "irs-softmax"], "unknown problem")]:
        r = CliRunner().invoke(_app(), args)
        assert r.exit_code == 2 and msg in " ".join(r.output.split()), (args, r.output)
        assert "Traceback" not in r.output


def test_compare_on_a_problem_without_validation_split_ranks_by_the_training_quantity(tmp_path):
    # before: "validation_data is empty" from fit, as the empty val set was passed on
    import optimlab.problems as P
    from optimlab.training import Trainer

    prob = P.get("iris-softmax", seed=0, val=0)
    assert len(prob.val) == 0
    c = optimlab.compare_training("iris-softmax", {"SGD": "sgd:lr=0.1"}, epochs=3, seeds=[0], batch_size=16, val=0)
    h = c.histories["SGD"][0]
    assert c.monitor == "accuracy" and sorted(h.epochs) == ["accuracy", "loss", "lr", "time"]
    # the same run by hand: no validation pass, the training accuracy ranks it
    ref = Trainer(prob.new_model(0), loss=prob.loss, optimizer="sgd:lr=0.1", metrics=["accuracy"]).fit(
        prob.train, batch_size=16, epochs=3, seed=0, verbose=0)
    np.testing.assert_array_equal(h.values, ref.values)
    np.testing.assert_array_equal(h.epochs["accuracy"], ref.epochs["accuracy"])
    assert c.summary()[0]["final"][0] == ref.epochs["accuracy"][-1]
    assert report.training_html(c, tmp_path / "p.html").is_file()
    assert optimlab.compare_training(prob, ["sgd:lr=0.1"], epochs=1, monitor="loss").monitor == "loss"
    with pytest.raises(ValueError, match="monitor 'val_loss' needs validation data.*use 'loss'"):
        optimlab.compare_training(prob, ["sgd:lr=0.1"], epochs=1, monitor="val_loss")
