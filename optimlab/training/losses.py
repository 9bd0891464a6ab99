"""What the training lab's ``compile`` takes: losses and metrics by name, and the optimizer."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..runner import resolve_optimizer
from .tools import unwrap

__all__ = ["LOSSES", "METRICS", "resolve_loss", "resolve_metrics", "make_optimizer", "check_targets"]


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


def check_targets(model: nn.Module, loss_name: str, loss_fn: Callable, loss_kind: str | None, X: torch.Tensor,
                  Y: torch.Tensor, name: str, dtype: torch.dtype) -> torch.Tensor:
    """Check the model and loss accept (X, Y); reshape (N,) targets to (N, 1) where that is meant
    (regression and binary losses on one output); ``dtype`` is the model's floating type."""
    model = unwrap(model)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(X[:2])
    except RuntimeError as e:
        raise ValueError(f"{name}: the model cannot take inputs of shape {tuple(X.shape[1:])} "
                         f"(per example): {str(e).splitlines()[0]}") from None
    finally:
        model.train(was)
    kind = loss_kind
    if kind == "multiclass":
        if out.dim() != 2:
            raise ValueError(f"loss {loss_name!r} needs model outputs of shape (N, classes), got "
                             f"{tuple(out.shape)} for 2 examples")
        C = out.shape[1]
        if Y.dim() == 1:
            if Y.is_floating_point():
                if not bool((Y == Y.round()).all()):
                    raise ValueError(f"{name}: targets for {loss_name!r} must be class indices; got "
                                     f"non-integer values")
                Y = Y.long()
            lo, hi = int(Y.min()), int(Y.max())
            if lo < 0 or hi >= C:
                raise ValueError(f"{name}: class indices must be in [0, {C}) for a model with {C} outputs; "
                                 f"found {lo if lo < 0 else hi}")
        elif tuple(Y.shape[1:]) != (C,):
            raise ValueError(f"{name}: targets of shape {tuple(Y.shape)} do not match model outputs "
                             f"(N, {C}); give class indices (N,) or probabilities (N, {C})")
    elif kind in ("binary", "regression"):
        if Y.dim() == 1 and out.dim() == 2 and out.shape[1] == 1:
            Y = Y.reshape(-1, 1)
        if not Y.is_floating_point():
            Y = Y.to(dtype)
        if tuple(Y.shape[1:]) != tuple(out.shape[1:]):
            raise ValueError(f"{name}: targets of shape {tuple(Y.shape)} (per example {tuple(Y.shape[1:])}) "
                             f"do not match model outputs per example {tuple(out.shape[1:])} for loss "
                             f"{loss_name!r}")
        if kind == "binary" and (bool((Y < 0).any()) or bool((Y > 1).any())):
            raise ValueError(f"{name}: targets for {loss_name!r} must lie in [0, 1]")
    else:
        try:
            v = loss_fn(out, Y[:2])
        except Exception as e:
            raise ValueError(f"{name}: the loss cannot compare model outputs {tuple(out.shape)} with targets "
                             f"{tuple(Y[:2].shape)}: {e}") from None
        if not isinstance(v, torch.Tensor) or v.numel() != 1:
            raise ValueError("loss must return a scalar tensor (the mean over the batch)")
    return Y
