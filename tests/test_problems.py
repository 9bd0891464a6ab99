"""optimlab.problems: datasets, splits, standardization, models and the named problems."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import optimlab.problems as P


def test_every_named_problem_builds_with_consistent_shapes():
    for name in P.names():
        p = P.get(name, seed=0)
        n = len(p.train) + len(p.val) + len(p.test)
        assert p.info["split"] == {"seed": 0, "train": len(p.train), "val": len(p.val), "test": len(p.test)}
        X, y = p.train.tensors
        with torch.no_grad():
            out = p.model(X[:3])
        if p.task == "multiclass":
            assert y.dtype == torch.int64 and out.shape == (3, p.info["n_outputs"])
            assert p.loss == "cross_entropy" and p.metrics == ["accuracy"]
        else:
            assert y.shape == (len(X), 1) and out.shape == (3, 1)
        assert n == {"digits": 1797, "breast": 569, "iris": 150, "wine": 178, "diabetes": 442}.get(
            name.split("-")[0], n)


def test_split_sizes_stratification_and_train_only_standardization():
    p = P.get("iris-softmax", seed=3, val=0.2, test=0.2)
    assert (len(p.train), len(p.val), len(p.test)) == (90, 30, 30)
    for ds in (p.train, p.val, p.test):  # stratified: iris has 50 per class
        counts = np.bincount(ds.tensors[1].numpy(), minlength=3)
        assert counts.max() - counts.min() <= 1
    from sklearn.datasets import load_iris

    raw = load_iris().data
    Xtr = p.train.tensors[0].double().numpy()
    mu, sd = np.array(p.info["x_mean"]), np.array(p.info["x_std"])
    np.testing.assert_allclose(Xtr.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(Xtr.std(0), 1, atol=1e-6)
    # the statistics are those of the raw training rows, nothing else: undoing them gives raw rows back
    back = Xtr * sd + mu
    matches = [np.abs(raw - r).sum(1).min() for r in back]
    assert max(matches) < 1e-4
    Xva = p.val.tensors[0].double().numpy() * sd + mu
    assert max(np.abs(raw - r).sum(1).min() for r in Xva) < 1e-4
    assert np.abs(p.val.tensors[0].double().numpy().mean(0)).max() > 1e-3  # val is not re-centered


def test_regression_targets_are_standardized_and_recoverable():
    p = P.get("diabetes-linreg", seed=0)
    from sklearn.datasets import load_diabetes

    y_raw = load_diabetes().target
    ytr = p.train.tensors[1].double().numpy().ravel()
    assert abs(ytr.mean()) < 1e-6 and abs(ytr.std() - 1) < 1e-6
    back = ytr * p.info["y_std"] + p.info["y_mean"]
    assert all(np.isclose(y_raw, v, atol=1e-3).any() for v in back)


def test_seed_fixes_split_and_weights_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    a, b, c = P.get("wine-mlp", seed=1), P.get("wine-mlp", seed=1), P.get("wine-mlp", seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.train.tensors[0], b.train.tensors[0])
    for (_, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y)
    assert not torch.equal(a.model[0].weight, c.model[0].weight)
    assert not torch.equal(a.train.tensors[1], c.train.tensors[1]) or not torch.equal(
        a.train.tensors[0], c.train.tensors[0])
    m = a.new_model(7)
    assert type(m) is type(a.model) and not torch.equal(m[0].weight, a.model[0].weight)


def test_linreg_has_the_chosen_condition_number_and_known_optimum():
    p = P.get("linreg-synthetic", seed=2, d=6, condition=250.0, noise=0.5, dtype=torch.float64)
    X, Y = (t.numpy() for t in p.train.tensors)
    A = np.c_[X, np.ones(len(X))]
    H = 2 * A.T @ A / len(X)  # Hessian of the mean squared error in (w, b)
    ev = np.linalg.eigvalsh(H)
    assert ev.max() / ev.min() == pytest.approx(250.0, rel=1e-9)
    opt = np.array(p.info["optimum"])
    np.testing.assert_allclose(A.T @ (A @ opt - Y.ravel()), 0, atol=1e-8)  # gradient vanishes
    assert p.info["f_star"] == pytest.approx(np.mean((A @ opt - Y.ravel()) ** 2), rel=1e-12)


def test_synthetic_datasets_have_the_requested_classes():
    p = P.get("spirals-mlp", seed=0, n=300, classes=4)
    y = np.concatenate([d.tensors[1].numpy() for d in (p.train, p.val, p.test)])
    assert np.bincount(y).tolist() == [75, 75, 75, 75]
    assert p.model[-1].out_features == 4
    p = P.get("moons-logreg", seed=0, n=200)
    assert p.task == "binary" and isinstance(p.model, nn.Linear) and p.model.out_features == 1


def test_cnn_gets_images():
    p = P.get("digits-cnn", seed=0)
    assert p.train.tensors[0].shape[1:] == (1, 8, 8)
    assert p.model(p.train.tensors[0][:2]).shape == (2, 10)


def test_user_arrays_with_string_labels_and_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    p = P.from_arrays(X, y, model="logreg", seed=0)
    assert p.task == "binary" and p.info["classes"] == ["no", "yes"] and p.loss == "binary_crossentropy"
    path = tmp_path / "d.csv"
    lines = ["f1,target,f2"] + [f"{a},{'cat' if a > 0 else 'dog'},{b}" for a, b in X[:, :2]]
    path.write_text("\n".join(lines) + "\n")
    q = P.from_csv(path, "target", model="mlp")
    assert q.task == "binary" and q.info["feature_names"] == ["f1", "f2"] and q.info["classes"] == ["cat", "dog"]
    assert len(q.train) + len(q.val) + len(q.test) == 60
    r = P.from_arrays(X, X @ [1.0, 2.0, 3.0], model="linreg")
    assert r.task == "regression" and r.loss == "mse"


def test_problem_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="unknown problem 'digit-mlp'.*Did you mean 'digits-mlp'"):
        P.get("digit-mlp")
    with pytest.raises(ValueError, match="model 'logreg' does not fit a multiclass task"):
        P.get("iris-logreg")
    with pytest.raises(ValueError, match="'cnn' needs 8×8 images"):
        P.get("wine-cnn")
    X = np.ones((10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf.*row 3"):
        P.from_arrays(X, np.arange(10) % 2)
    with pytest.raises(ValueError, match="empty"):
        P.from_arrays(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) with N = 5"):
        P.from_arrays(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="val \\+ test must be below 1"):
        P.get("iris-softmax", val=0.5, test=0.5)
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    with pytest.raises(ValueError, match="target column 'c'.*columns: a, b"):
        P.from_csv(path, "c")
    with pytest.raises(ValueError, match="column 'b'.*not a number"):
        P.from_csv(path, "a")
    with pytest.raises(ValueError, match="activation must be one of"):
        P.get("moons-mlp", activation="swishy")
    with pytest.raises(ValueError, match="condition must be a number >= 1"):
        P.get("linreg-synthetic", condition=0.5)


def test_dataset_tensors_reads_every_form_the_lab_takes():
    from torch.utils.data import Dataset, TensorDataset

    from optimlab.problems.data import dataset_tensors

    X = torch.arange(12.0).reshape(6, 2)
    y = torch.tensor([0, 1, 0, 1, 1, 0])

    class Pairs(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return X[i], y[i]

    ds = TensorDataset(X, y)
    assert dataset_tensors(ds)[0] is X  # a TensorDataset is used without copying
    for data, target in ((ds, None), ((X.numpy(), y.numpy()), None), (X.numpy(), y.numpy()), (Pairs(), None),
                         ([(X[i], y[i]) for i in range(6)], None)):
        Xt, yt = dataset_tensors(data, target)
        assert torch.equal(Xt, X) and torch.equal(yt, y)
    for data, target, err, match in (
            (TensorDataset(X[:0], y[:0]), None, ValueError, "train is empty"),
            ((X, y[:5]), None, ValueError, "inputs have 6 rows but targets have 5"),
            (TensorDataset(X), None, ValueError, "this TensorDataset has 1 tensors"),
            ("abc", None, TypeError, "train must be a Dataset"),
            ((np.array(["a", "b"]), y[:2]), None, TypeError, r"train\[0\] must be numeric")):
        with pytest.raises(err, match=match):
            dataset_tensors(data, target, name="train")
    with pytest.raises(TypeError, match="train is a Problem"):
        dataset_tensors(P.get("iris-softmax"), name="train")
