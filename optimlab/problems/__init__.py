"""optimlab.problems: training problems = a dataset split three ways + a model + a loss.

Named problems are ``DATASET-MODEL``::

    >>> import optimlab.problems as P
    >>> p = P.get("digits-mlp", seed=0)
    >>> p.loss, p.task, len(p.train), len(p.val), len(p.test)
    ('cross_entropy', 'multiclass', 1078, 359, 360)
    >>> P.names()[:4]        # the curated list; any compatible DATASET-MODEL works
    ['digits-mlp', 'digits-cnn', 'digits-softmax', 'breast-cancer-logreg']

Datasets (nothing is downloaded): ``digits``, ``breast-cancer``, ``iris``, ``wine``,
``diabetes`` (bundled with scikit-learn), ``moons``, ``spirals``, ``linreg`` (synthetic;
``linreg`` has a chosen condition number and a known optimum). Models: ``linreg``
(linear), ``logreg`` (logistic, binary), ``softmax`` (multiclass), ``mlp`` (``hidden``,
``activation``), ``cnn`` (8×8 images: digits). The user's own data:
:func:`from_arrays` and :func:`from_csv` (``target`` = column to predict), with any
model name above or any ``torch.nn.Module``.

The seed fixes the split and the model's initial weights (drawn in a forked RNG, so
the global torch RNG is left alone); two problems made with the same name and seed are
identical, which is what makes optimizer comparisons fair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from .data import DATASETS, read_csv, split
from .data import from_arrays as _from_arrays
from .models import MLP, DigitsCNN, linear, logistic, softmax

__all__ = ["Problem", "get", "names", "datasets", "models", "make", "from_arrays", "from_csv",
           "MLP", "DigitsCNN", "linear", "logistic", "softmax", "split", "parse_name"]

LOSS_FOR_TASK = {"regression": "mse", "binary": "binary_crossentropy", "multiclass": "cross_entropy"}
METRICS_FOR_TASK = {"regression": ["mae"], "binary": ["accuracy"], "multiclass": ["accuracy"]}
MODEL_TASKS = {"linreg": ("regression",), "logreg": ("binary",), "softmax": ("multiclass",),
               "mlp": ("regression", "binary", "multiclass"), "cnn": ("multiclass",)}
_HIDDEN = {"digits": (64,), "breast-cancer": (32,), "iris": (16,), "wine": (32,), "diabetes": (32,),
           "moons": (32, 32), "spirals": (64, 64)}
_ALIASES = {"linreg-synthetic": "linreg-linreg"}
_CURATED = ["digits-mlp", "digits-cnn", "digits-softmax", "breast-cancer-logreg", "breast-cancer-mlp",
            "iris-softmax", "iris-mlp", "wine-softmax", "wine-mlp", "diabetes-linreg", "diabetes-mlp",
            "moons-logreg", "moons-mlp", "spirals-mlp", "linreg-synthetic"]


@dataclass
class Problem:
    """A training problem: ``model``, ``loss`` (a name :class:`optimlab.Trainer` knows),
    ``train``/``val``/``test`` (``TensorDataset`` s), ``task`` (``"binary"``,
    ``"multiclass"``, ``"regression"``), ``metrics`` (names), ``seed`` and ``info``
    (dataset facts, split sizes, standardization statistics, the optimum for ``linreg``).

    ``new_model(seed)`` builds a fresh model with other initial weights (same
    architecture); ``trainer(optimizer, ...)`` is ``Trainer(model, loss, optimizer, metrics)``.
    """

    name: str
    model: nn.Module
    loss: str
    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    task: str
    metrics: list = field(default_factory=list)
    seed: int = 0
    info: dict = field(default_factory=dict)
    model_fn: Callable[[], nn.Module] | None = field(default=None, repr=False)

    def new_model(self, seed: int | None = None) -> nn.Module:
        """A freshly initialized model (initial weights drawn from ``seed``, default the problem's)."""
        if self.model_fn is None:
            raise ValueError(f"problem {self.name!r} was given a model instance; it cannot build a new one")
        return _seeded(self.model_fn, self.seed if seed is None else seed)

    @property
    def monitor(self) -> str:
        """The validation quantity that says how good a run is: ``val_accuracy`` or ``val_loss``."""
        return "val_accuracy" if "accuracy" in self.metrics else "val_loss"

    def __repr__(self) -> str:
        return (f"Problem({self.name!r}, task={self.task!r}, loss={self.loss!r}, train={len(self.train)}, "
                f"val={len(self.val)}, test={len(self.test)}, model={type(self.model).__name__})")


def _seeded(fn: Callable[[], nn.Module], seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return fn()


def datasets() -> list[str]:
    """Names of the datasets."""
    return list(DATASETS)


def models() -> list[str]:
    """Names of the model kinds."""
    return list(MODEL_TASKS)


def names() -> list[str]:
    """The curated named problems (any compatible ``DATASET-MODEL`` pair also works)."""
    return list(_CURATED)


def _model_fn(kind: Any, task: str, d_in: int, d_out: int, dtype: torch.dtype, hidden: Any,
              activation: str, info: dict) -> Callable[[], nn.Module]:
    if isinstance(kind, nn.Module):
        raise TypeError("internal: module instances are handled by make()")
    if callable(kind) and not isinstance(kind, str):
        return lambda: kind().to(dtype)
    if kind not in MODEL_TASKS:
        raise ValueError(f"model must be one of {', '.join(MODEL_TASKS)} or a torch.nn.Module; got {kind!r}")
    if task not in MODEL_TASKS[kind]:
        raise ValueError(f"model {kind!r} does not fit a {task} task; it fits {', '.join(MODEL_TASKS[kind])}")
    if kind == "cnn" and "image_shape" not in info:
        raise ValueError("model 'cnn' needs 8×8 images (the digits dataset)")
    build = {"linreg": lambda: linear(d_in, d_out), "logreg": lambda: logistic(d_in),
             "softmax": lambda: softmax(d_in, d_out), "mlp": lambda: MLP(d_in, hidden, d_out, activation),
             "cnn": lambda: DigitsCNN(d_out)}[kind]
    return lambda: build().to(dtype)


def make(X: np.ndarray, y: np.ndarray, task: str, info: dict, model: Any = "mlp", *, name: str = "custom",
         seed: int = 0, val: float = 0.2, test: float = 0.2, standardize: bool = True,
         hidden: Any = (64,), activation: str = "relu", dtype: torch.dtype = torch.float32) -> Problem:
    """Build a :class:`Problem` from loader output ``(X, y, task, info)`` and a model.

    ``model``: a model kind (``"linreg"``, ``"logreg"``, ``"softmax"``, ``"mlp"``,
    ``"cnn"``), a zero-argument callable returning a module (fresh weights per seed), or
    a ``torch.nn.Module`` instance (used as is).
    """
    image = info.get("image_shape") if model == "cnn" else None
    s = split(X, y, task, info, seed=seed, val=val, test=test, standardize=standardize, dtype=dtype,
              image_shape=image)
    d_in = X.shape[1]
    d_out = {"regression": 1, "binary": 1}.get(task) or len(info.get("classes", np.unique(y)))
    s.info.update(n_features=d_in, n_outputs=d_out, model=model if isinstance(model, str) else type(model).__name__)
    if isinstance(model, nn.Module):
        fn, mod = None, model
    else:
        fn = _model_fn(model, task, d_in, d_out, dtype, hidden, activation, info)
        mod = _seeded(fn, seed)
    return Problem(name=name, model=mod, loss=LOSS_FOR_TASK[task], train=s.train, val=s.val, test=s.test,
                   task=task, metrics=list(METRICS_FOR_TASK[task]), seed=seed, info=s.info, model_fn=fn)


def parse_name(name: str) -> tuple[str, str]:
    """``(dataset, model)`` of a problem name ``DATASET-MODEL``; a clear error for an unknown one."""
    if not isinstance(name, str):
        raise TypeError(f"problem name must be a string, got {type(name).__name__}")
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    ds, _, model = key.rpartition("-")
    if ds not in DATASETS or model not in MODEL_TASKS:
        import difflib

        close = difflib.get_close_matches(name, _CURATED, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown problem {name!r}.{hint} Write DATASET-MODEL with DATASET in "
                         f"{', '.join(DATASETS)} and MODEL in {', '.join(MODEL_TASKS)}; named problems: "
                         f"{', '.join(_CURATED)}")
    return ds, model


def get(name: str, seed: int = 0, *, val: float = 0.2, test: float = 0.2, hidden: Any = None,
        activation: str = "relu", dtype: torch.dtype = torch.float32, **dataset_options: Any) -> Problem:
    """The named problem ``DATASET-MODEL`` (see :func:`names`), split and initialized by ``seed``.

    ``dataset_options`` go to the dataset (e.g. ``n``, ``noise`` for moons/spirals;
    ``n``, ``d``, ``condition``, ``noise`` for linreg). ``hidden`` and ``activation``
    shape an MLP.

    >>> p = get("linreg-synthetic", seed=1, d=5, condition=1000.0)
    >>> len(p.info["optimum"]), round(p.info["f_star"], 6)   # 5 weights and the bias; the loss at the optimum
    (6, 0.00822)
    """
    ds, model = parse_name(name)
    loader = DATASETS[ds]
    opts = dict(dataset_options)
    if ds in ("moons", "spirals", "linreg"):
        opts.setdefault("seed", seed)
    if ds == "linreg":
        opts.setdefault("train_fraction", 1 - val - test)
    X, y, task, info = loader(**opts)
    return make(X, y, task, info, model, name=name, seed=seed, val=val, test=test,
                hidden=_HIDDEN.get(ds, (64,)) if hidden is None else hidden, activation=activation, dtype=dtype)


def from_arrays(X: Any, y: Any, model: Any = "mlp", *, task: str | None = None, seed: int = 0,
                name: str = "arrays", **kw: Any) -> Problem:
    """A problem from the user's arrays: ``X`` (N, d), ``y`` (N,) labels or numbers.

    ``task`` is inferred when not given (integer labels with few values → classification).
    Remaining keywords as in :func:`make` (``val``, ``test``, ``hidden``, ``activation``, ...).
    """
    X, y, task, info = _from_arrays(X, y, task)
    return make(X, y, task, info, model, name=name, seed=seed, **kw)


def from_csv(path: Any, target: str | int, model: Any = "mlp", *, task: str | None = None, seed: int = 0,
             **kw: Any) -> Problem:
    """A problem from a CSV file with a header row; ``target`` names the column to predict."""
    X, y, task, info = read_csv(path, target, task)
    return make(X, y, task, info, model, name=f"{info['source']}:{info['target']}", seed=seed, **kw)
