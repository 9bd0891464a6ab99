"""Datasets for the training lab: bundled, synthetic, and the user's own.

Every loader returns ``(X, y, task, info)`` as NumPy arrays: ``X`` of shape (N, d)
(features), ``y`` of shape (N,) (class indices for classification, numbers for
regression), ``task`` one of ``"binary"``, ``"multiclass"``, ``"regression"``, and
``info`` a dict of facts (feature names, class names, source). Nothing is downloaded:
the real datasets are the ones that ship inside scikit-learn.

:func:`split` turns them into train / validation / test ``TensorDataset`` s with a
seed, standardizing features (and regression targets) with the *training* statistics
only, so no information from validation or test leaks into training.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

__all__ = ["digits", "breast_cancer", "iris", "wine", "diabetes", "moons", "spirals", "linreg",
           "from_arrays", "read_csv", "split", "Splits", "DATASETS", "TASKS", "dataset_tensors", "as_tensor"]

TASKS = ("binary", "multiclass", "regression")


def _sk(loader: str, task: str) -> tuple[np.ndarray, np.ndarray, str, dict]:
    import sklearn.datasets as skd

    b = getattr(skd, loader)()
    info = {"source": f"sklearn.datasets.{loader}", "feature_names": [str(f) for f in b.feature_names]}
    if task != "regression":
        info["classes"] = [str(c) for c in b.target_names]
    return np.asarray(b.data, dtype=np.float64), np.asarray(b.target), task, info


def digits(**_: Any):
    """8×8 images of handwritten digits, 1797 examples, 10 classes (UCI; scikit-learn)."""
    X, y, task, info = _sk("load_digits", "multiclass")
    info["image_shape"] = (1, 8, 8)
    return X, y, task, info


def breast_cancer(**_: Any):
    """Wisconsin diagnostic breast cancer, 569 examples, 30 features, 2 classes."""
    return _sk("load_breast_cancer", "binary")


def iris(**_: Any):
    """Fisher's iris, 150 examples, 4 features, 3 classes."""
    return _sk("load_iris", "multiclass")


def wine(**_: Any):
    """Wine recognition, 178 examples, 13 features, 3 classes."""
    return _sk("load_wine", "multiclass")


def diabetes(**_: Any):
    """Diabetes progression (Efron et al. 2004), 442 examples, 10 features, regression."""
    return _sk("load_diabetes", "regression")


def moons(n: int = 1000, noise: float = 0.2, seed: int = 0, **_: Any):
    """Two interleaving half circles (2-D, 2 classes) with Gaussian noise."""
    from sklearn.datasets import make_moons

    _check_n(n)
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return X.astype(np.float64), y, "binary", {"source": "two moons", "noise": noise}


def spirals(n: int = 1000, classes: int = 3, noise: float = 0.2, turns: float = 1.0, seed: int = 0, **_: Any):
    """``classes`` interleaved Archimedean spirals in the plane (a classic MLP test).

    Point i of arm k: radius r ∈ [0.1, 1], angle ``2π·turns·r + 2πk/classes`` plus noise.
    """
    _check_n(n)
    if int(classes) < 2:
        raise ValueError(f"classes must be >= 2, got {classes!r}")
    rng = np.random.default_rng(seed)
    per = n // classes
    X, y = [], []
    for k in range(classes):
        m = per + (1 if k < n - per * classes else 0)
        r = np.linspace(0.1, 1.0, m)
        t = 2 * math.pi * turns * r + 2 * math.pi * k / classes + rng.normal(0.0, noise, m)
        X.append(np.stack([r * np.cos(t), r * np.sin(t)], axis=1))
        y.append(np.full(m, k))
    return np.concatenate(X), np.concatenate(y), "multiclass", {"source": "spirals", "noise": noise}


def linreg(n: int = 500, d: int = 10, condition: float = 100.0, noise: float = 0.1, seed: int = 0,
           train_fraction: float = 0.6, **_: Any):
    r"""Linear regression whose *training* loss has a chosen condition number and a known optimum.

    The first ``round(train_fraction·n)`` rows (the training rows; :func:`split` keeps
    them in order for this dataset) are built exactly: centered columns with
    :math:`\frac1N X^\top X = V\,\mathrm{diag}(λ)\,V^\top`, λ log-spaced in
    [1, ``condition``]. The mean squared error :math:`L(w, b) = \frac1N\|Xw + b - y\|^2`
    then has Hessian :math:`2\,\mathrm{diag}(\frac1N X^\top X, 1)` with condition number
    exactly ``condition``. ``info["optimum"]`` holds the least-squares minimizer
    ``(w*, b*)`` of the training loss and ``info["f_star"]`` its value.
    """
    _check_n(n)
    if not (isinstance(condition, (int, float)) and condition >= 1):
        raise ValueError(f"condition must be a number >= 1, got {condition!r}")
    rng = np.random.default_rng(seed)
    n_train = int(round(train_fraction * n))
    if n_train <= d + 1:
        raise ValueError(f"n={n} gives {n_train} training rows; need more than d + 1 = {d + 1}")
    lam = np.geomspace(1.0, float(condition), d)
    V, _ = np.linalg.qr(rng.normal(size=(d, d)))
    G = rng.normal(size=(n_train, d))
    Q, _ = np.linalg.qr(G - G.mean(axis=0))  # orthonormal, centered columns
    X_train = math.sqrt(n_train) * Q @ np.diag(np.sqrt(lam)) @ V.T
    cov = V @ np.diag(lam) @ V.T
    X_rest = rng.multivariate_normal(np.zeros(d), cov, size=n - n_train)
    X = np.concatenate([X_train, X_rest])
    w_true, b_true = rng.normal(size=d), float(rng.normal())
    y = X @ w_true + b_true + noise * rng.normal(size=n)
    A = np.concatenate([X_train, np.ones((n_train, 1))], axis=1)
    opt, *_ = np.linalg.lstsq(A, y[:n_train], rcond=None)
    f_star = float(np.mean((A @ opt - y[:n_train]) ** 2))
    info = {"source": "synthetic linear regression", "condition": float(condition), "noise": noise,
            "w_true": w_true.tolist(), "b_true": b_true, "optimum": opt.tolist(), "f_star": f_star,
            "n_train": n_train, "exact_train_rows": True}
    return X, y, "regression", info


def _check_n(n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise ValueError(f"n must be an integer >= 4, got {n!r}")


DATASETS: dict[str, Callable[..., tuple]] = {
    "digits": digits, "breast-cancer": breast_cancer, "iris": iris, "wine": wine, "diabetes": diabetes,
    "moons": moons, "spirals": spirals, "linreg": linreg,
}


# ----------------------------------------------------------------------- user data
def infer_task(y: np.ndarray) -> str:
    """``binary``/``multiclass`` for integer-valued targets with few values, else ``regression``."""
    y = np.asarray(y)
    if y.dtype.kind in ("U", "S", "O", "b"):
        return "binary" if len(np.unique(y)) == 2 else "multiclass"
    vals = np.unique(y)
    if np.all(np.mod(vals, 1) == 0) and len(vals) <= max(20, int(0.05 * len(y))) and len(vals) < len(y):
        return "binary" if len(vals) == 2 else "multiclass"
    return "regression"


def from_arrays(X: Any, y: Any, task: str | None = None, feature_names: list[str] | None = None):
    """Check the user's arrays and return them in the loader format ``(X, y, task, info)``.

    Class labels of any type (strings, numbers) are mapped to ``0..C-1`` in sorted order;
    ``info["classes"]`` keeps the original labels.
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"X must be numeric (an array of numbers), got {type(X).__name__}: {e}") from None
    y = np.asarray(y)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, d), got {X.shape}")
    if len(X) == 0:
        raise ValueError("X is empty: the dataset has no rows")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must have shape (N,) with N = {len(X)} rows of X, got {y.shape}")
    if not np.isfinite(X).all():
        row = int(np.argwhere(~np.isfinite(X))[0][0])
        raise ValueError(f"X contains NaN or inf (first in row {row}); clean or impute the data first")
    task = task or infer_task(y)
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    info: dict[str, Any] = {"source": "arrays"}
    if feature_names is not None:
        info["feature_names"] = list(feature_names)
    if task == "regression":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError("task='regression' needs numeric y") from None
        if not np.isfinite(y).all():
            raise ValueError(f"y contains NaN or inf (first in row {int(np.argwhere(~np.isfinite(y))[0][0])})")
    else:
        classes, y = np.unique(y, return_inverse=True)
        if task == "binary" and len(classes) != 2:
            raise ValueError(f"task='binary' needs exactly 2 classes in y, found {len(classes)}")
        info["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
    return X, y, task, info


def read_csv(path: str | Path, target: str | int, task: str | None = None):
    """Read a CSV file with a header row; ``target`` is the column to predict (name or index).

    Every other column must be numeric. Returns ``(X, y, task, info)``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"CSV file {str(path)!r} does not exist")
    with path.open(newline="") as f:
        numbered = [(f_line, r) for f_line, r in enumerate(csv.reader(f), start=1) if any(c.strip() for c in r)]
    lines = [n for n, _ in numbered]  # a file's line of each row (blank lines skipped)
    rows = [r for _, r in numbered]
    if len(rows) < 2:
        raise ValueError(f"CSV file {str(path)!r} is empty: it needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if isinstance(target, int) or (isinstance(target, str) and target not in header and target.isdigit()):
        t = int(target)
        if not 0 <= t < len(header):
            raise ValueError(f"target column index {t} is out of range 0..{len(header) - 1}")
    elif target in header:
        t = header.index(target)
    else:
        raise ValueError(f"target column {target!r} not in {str(path)!r}; columns: {', '.join(header)}")
    X, y = [], []
    for i, r in zip(lines[1:], rows[1:]):
        if len(r) != len(header):
            raise ValueError(f"{path.name}, line {i}: {len(r)} fields, the header has {len(header)}")
        feats = []
        for j, c in enumerate(r):
            if j == t:
                continue
            v = _finite_number(c)
            if v is None:
                raise ValueError(f"{path.name}, line {i}, column {header[j]!r}: {c!r} is not a number "
                                 f"(cells must be finite numbers; only the target column may hold labels)")
            feats.append(v)
        X.append(feats)
        y.append(r[t].strip())
    y_arr = _target_values(y, lines[1:], task, f"{path.name}", header[t])
    names = [h for j, h in enumerate(header) if j != t]
    X_, y_, task_, info = from_arrays(np.asarray(X, dtype=np.float64), y_arr, task, names)
    info["source"] = str(path)
    info["target"] = header[t]
    return X_, y_, task_, info


def _finite_number(text: str) -> float | None:
    """The finite number an ASCII cell holds, else None ("", "NA", "nan", "inf", "٣")."""
    if not text.isascii():
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def _target_values(cells: list[str], lines: list[int], task: str | None, file: str, column: str) -> np.ndarray:
    """Numbers when every cell is one; labels when the cells are words. A numeric column with
    one blank, ``NA`` or ``nan`` cell is an error naming its line: read as labels it would
    silently turn a regression into a classification with one class per value."""
    values = [_finite_number(c) for c in cells]
    bad = [k for k, v in enumerate(values) if v is None]
    if not bad:
        return np.asarray(values, dtype=np.float64)
    if len(bad) < len(cells) and task not in ("binary", "multiclass"):
        k = bad[0]
        raise ValueError(f"{file}, line {lines[k]}, target column {column!r}: {cells[k]!r} is not a number, "
                         f"but {len(cells) - len(bad)} of its {len(cells)} cells are numbers ({len(bad)} are not); "
                         f"fill or drop those rows, or pass task='binary' or 'multiclass' to read the cells as labels")
    return np.asarray(cells)


# --------------------------------------------------------------------------- split
class Splits:
    """Train / validation / test ``TensorDataset`` s plus what the split did."""

    def __init__(self, train: TensorDataset, val: TensorDataset, test: TensorDataset, info: dict):
        self.train, self.val, self.test, self.info = train, val, test, info


def split(X: np.ndarray, y: np.ndarray, task: str, info: dict, *, seed: int = 0, val: float = 0.2,
          test: float = 0.2, standardize: bool = True, dtype: torch.dtype = torch.float32,
          image_shape: tuple | None = None) -> Splits:
    """Split by ``seed`` (stratified for classification), standardize with training statistics.

    Features: ``(x − mean_train) / std_train`` per column (a constant column keeps std 1).
    Regression targets are standardized the same way (``info["y_mean"]``, ``info["y_std"]``
    undo it). Class targets become ``int64`` indices, binary targets ``float`` of shape
    (N, 1) (for a one-logit model), regression targets shape (N, 1).
    Datasets that declare ``exact_train_rows`` (:func:`linreg`) keep their first
    ``n_train`` rows as the training set and are not standardized (that would change the
    condition number they were built with).
    """
    for name, v in (("val", val), ("test", test)):
        if not (isinstance(v, (int, float)) and 0 <= v < 1):
            raise ValueError(f"{name} must be a fraction in [0, 1), got {v!r}")
    if val + test >= 1:
        raise ValueError(f"val + test must be below 1 (something must remain to train on), got {val + test}")
    n = len(X)
    info = dict(info)
    if info.get("exact_train_rows"):
        n_train = info["n_train"]
        rest = np.random.default_rng(seed).permutation(np.arange(n_train, n))
        n_val = int(round(len(rest) * val / (val + test))) if val + test > 0 else 0
        idx_tr, idx_va, idx_te = np.arange(n_train), rest[:n_val], rest[n_val:]
        standardize = False
    else:
        from sklearn.model_selection import train_test_split

        idx = np.arange(n)
        strat = y if task != "regression" and np.bincount(y).min() >= 3 else None
        idx_tr, idx_rest = (idx, idx[:0]) if val + test == 0 else train_test_split(
            idx, test_size=val + test, random_state=seed, stratify=strat)
        if len(idx_rest) and val > 0 and test > 0:
            strat2 = y[idx_rest] if strat is not None and np.bincount(y[idx_rest]).min() >= 2 else None
            idx_va, idx_te = train_test_split(idx_rest, test_size=test / (val + test), random_state=seed,
                                              stratify=strat2)
        elif val > 0:
            idx_va, idx_te = idx_rest, idx_rest[:0]
        else:
            idx_va, idx_te = idx_rest[:0], idx_rest
    X = X.astype(np.float64)
    y_out = y.astype(np.float64) if task == "regression" else y
    if standardize:
        mu, sd = X[idx_tr].mean(axis=0), X[idx_tr].std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        X = (X - mu) / sd
        info["x_mean"], info["x_std"] = mu.tolist(), sd.tolist()
        if task == "regression":
            ym, ys = float(y_out[idx_tr].mean()), float(y_out[idx_tr].std() or 1.0)
            y_out = (y_out - ym) / ys
            info["y_mean"], info["y_std"] = ym, ys
    info["split"] = {"seed": seed, "train": len(idx_tr), "val": len(idx_va), "test": len(idx_te)}

    def ds(ix: np.ndarray) -> TensorDataset:
        xt = torch.as_tensor(X[ix], dtype=dtype)
        if image_shape is not None:
            xt = xt.reshape(len(ix), *image_shape)
        if task == "multiclass":
            yt = torch.as_tensor(y_out[ix], dtype=torch.int64)
        else:
            yt = torch.as_tensor(y_out[ix], dtype=dtype).reshape(-1, 1)
        return TensorDataset(xt, yt)

    return Splits(ds(idx_tr), ds(idx_va), ds(idx_te), info)


# ------------------------------------------------------------------ data as tensors
def as_tensor(a: Any, name: str) -> torch.Tensor:
    """A numeric array or tensor as a tensor (no copy where NumPy and torch allow)."""
    if isinstance(a, torch.Tensor):
        return a.detach()
    try:
        arr = np.asarray(a)
    except Exception as e:  # pragma: no cover - numpy accepts almost anything
        raise TypeError(f"{name} must be an array or tensor, got {type(a).__name__}: {e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    return torch.from_numpy(np.ascontiguousarray(arr))


def dataset_tensors(data: Any, y: Any = None, name: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)`` as two tensors with one row per example, from any form the
    lab takes: a ``TensorDataset`` of two tensors (used without copying), an ``(X, y)``
    pair of arrays/tensors, ``X`` with ``y=...``, or a dataset of ``(x, y)`` pairs (any
    ``Dataset``, or an object with ``len`` and indexing). ``name`` is the argument
    named in errors (empty data, row counts that differ, a form it cannot read)."""
    if y is not None:
        X, Y = as_tensor(data, name), as_tensor(y, "y")
    elif isinstance(data, TensorDataset):
        if len(data.tensors) != 2:
            raise ValueError(f"{name} must hold (inputs, targets); this TensorDataset has "
                             f"{len(data.tensors)} tensors")
        X, Y = data.tensors
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        X, Y = as_tensor(data[0], f"{name}[0]"), as_tensor(data[1], f"{name}[1]")
    elif type(data).__name__ == "Problem":
        raise TypeError(f"{name} is a Problem; pass its datasets: fit(problem.train, validation_data=problem.val)")
    elif isinstance(data, Dataset) or (hasattr(data, "__len__") and hasattr(data, "__getitem__")
                                       and not isinstance(data, (str, bytes, np.ndarray, torch.Tensor))):
        n = len(data)  # type: ignore[arg-type]
        if n == 0:
            raise ValueError(f"{name} is empty: the dataset has no examples")
        items = [data[i] for i in range(n)]
        X = torch.stack([torch.as_tensor(a) for a, _ in items])
        Y = torch.stack([torch.as_tensor(b) for _, b in items])
    else:
        raise TypeError(f"{name} must be a Dataset, an (X, y) pair, or X with y=...; got {type(data).__name__}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: it has no examples")
    if len(X) != len(Y):
        raise ValueError(f"{name}: inputs have {len(X)} rows but targets have {len(Y)}; they must match")
    return X, Y
