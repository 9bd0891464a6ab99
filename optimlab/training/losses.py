"""What the training lab's ``compile`` takes: losses and metrics by name, and the optimizer."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..runner import resolve_optimizer

__all__ = ["LOSSES", "METRICS", "resolve_loss", "resolve_metrics", "make_optimizer"]


LOSSES: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "mse": (nn.MSELoss, "regression"), "mean_squared_error": (nn.MSELoss, "regression"),
    "mae": (nn.L1Loss, "regression"), "mean_absolute_error": (nn.L1Loss, "regression"),
    "l1": (nn.L1Loss, "regression"), "huber": (nn.HuberLoss, "regression"),
    "cross_entropy": (nn.CrossEntropyLoss, "multiclass"), "ce": (nn.CrossEntropyLoss, "multiclass"),
    "categorical_crossentropy": (nn.CrossEntropyLoss, "multiclass"),
    "sparse_categorical_crossentropy": (nn.CrossEntropyLoss, "multiclass"),
    "nll": (nn.NLLLoss, "multiclass"),
    "binary_crossentropy": (nn.BCEWithLogitsLoss, "binary"), "bce": (nn.BCEWithLogitsLoss, "binary"),
}
"""Loss names: the model outputs logits for the classification losses (they apply
softmax / sigmoid inside, the numerically stable form). Keras names work too."""


def _accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Number of correct predictions: argmax of ≥ 2 logits, or logit > 0 for one logit."""
    if out.dim() >= 2 and out.shape[1] > 1:
        pred = out.argmax(1)
        target = y if y.dim() == 1 else y.argmax(1)
        return (pred == target).sum()
    return ((out.reshape(-1) > 0) == (y.reshape(-1) > 0.5)).sum()


def _sq_err(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((out - y) ** 2).reshape(len(out), -1).mean(1).sum()


def _abs_err(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (out - y).abs().reshape(len(out), -1).mean(1).sum()


METRICS: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], str]] = {
    "accuracy": (_accuracy, "classification"), "acc": (_accuracy, "classification"),
    "mse": (_sq_err, "regression"), "mean_squared_error": (_sq_err, "regression"),
    "mae": (_abs_err, "regression"), "mean_absolute_error": (_abs_err, "regression"),
}
"""Metric name → (sum over the examples given, kind). Training metrics are computed once
per epoch on all the batch outputs of the epoch (the example-weighted mean of the batch
values); validation metrics on the whole validation set."""


def resolve_loss(loss: Any) -> tuple[str, Callable, str | None]:
    if isinstance(loss, str):
        key = loss.strip().lower().replace("-", "_")
        if key not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)} or a callable "
                             f"loss(output, target) -> scalar")
        cls, kind = LOSSES[key]
        return key, cls(), kind
    if callable(loss):
        return getattr(loss, "__name__", type(loss).__name__), loss, None
    raise TypeError(f"loss must be a name ({', '.join(LOSSES)}) or a callable, got {type(loss).__name__}")


def resolve_metrics(metrics: Any, loss_kind: str | None, loss_name: str = "") -> list[tuple[str, Callable, bool]]:
    """[(name, fn, fn_is_sum)]. User callables return the batch mean.

    A named metric must fit the loss: accuracy needs a classification loss, the
    regression metrics (mse, mae) need a regression loss (a classifier's logits and
    class indices have different shapes). A callable loss accepts every metric."""
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    out = []
    for m in metrics:
        if isinstance(m, str):
            key = m.strip().lower()
            if key not in METRICS:
                raise ValueError(f"unknown metric {m!r} in metrics; use one of {', '.join(METRICS)} "
                                 f"or a callable metric(output, target) -> batch mean")
            fn, kind = METRICS[key]
            wanted = "classification" if loss_kind in ("multiclass", "binary") else loss_kind
            if wanted is not None and kind != wanted:
                allowed = [k for k, (_, kd) in METRICS.items() if kd == wanted]
                raise ValueError(f"metric {m!r} needs a {kind} loss, but the loss {loss_name!r} is a {wanted} "
                                 f"loss; with it use one of {', '.join(allowed)} or a callable metric")
            name = "accuracy" if key == "acc" else key
            out.append((name, fn, True))
        elif callable(m):
            out.append((getattr(m, "__name__", type(m).__name__), m, False))
        else:
            raise TypeError(f"metrics must hold names or callables, got {m!r}")
    names = [n for n, _, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"metrics has duplicate names: {names}")
    return out


# ============================================================================ optimizer
def make_optimizer(params: Sequence[torch.Tensor], optimizer: Any) -> tuple[torch.optim.Optimizer, dict]:
    """Build an optimizer from any accepted form; returns ``(optimizer, config)``.

    Forms: those of the function lab (:func:`optimlab.runner.resolve_optimizer`: a name
    or spec string such as ``"momentum:lr=0.01,momentum=0.7"``, a ``(name_or_class,
    kwargs)`` pair, an optimizer class, a factory ``params -> optimizer``) and, as in
    Keras' ``compile``, an optimizer instance already built on these parameters.
    """
    params = list(params)
    if isinstance(optimizer, torch.optim.Optimizer):
        own = {id(p) for g in optimizer.param_groups for p in g["params"]}
        if not {id(p) for p in params} <= own:
            raise ValueError("optimizer instance was built on other parameters than the model's; "
                             "build it on model.parameters() or pass a name/spec")
        opts = {k: v for k, v in optimizer.defaults.items() if isinstance(v, (int, float, bool, tuple, str))}
        return optimizer, {"optimizer": type(optimizer).__name__, "options": opts}
    factory, name, options = resolve_optimizer(optimizer)
    return factory(params), {"optimizer": name, "options": dict(options)}
