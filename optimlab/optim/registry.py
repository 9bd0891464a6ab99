"""Optimizers by name: ``get``, ``create``, ``available``, ``register``, and the spec syntax.

Names are case-insensitive and ``-``, ``_`` and spaces are ignored, so ``"RMSProp"``,
``"rms_prop"`` and ``"rmsprop"`` are one name. Besides the class names there are the
lectures' names (``"gd"``, ``"momentum"``, ``"nesterov"``, ``"nag"``) and Keras' names
(``"sgd"``, ``"rmsprop"``, ``"nadam"``, ...). A name may carry preset arguments:
``create(params, "momentum")`` is ``SGD(params, momentum=0.9)``.

The spec syntax, used by the command line: ``NAME[:KEY=VALUE[,KEY=VALUE...]]``, e.g.
``adam:lr=0.1,betas=(0.9,0.99),amsgrad=true`` or ``momentum:lr=0.01,momentum=0.7``.
Values are numbers, ``true``/``false``/``none``, tuples in parentheses, or bare words
(strings, e.g. ``momentum_form=velocity``).
"""

from __future__ import annotations

import difflib
from typing import Any

import torch

from .._spec import name_key, parse_options, split_spec
from .adam import Adam, AdamW, Adamax, NAdam, RAdam
from .adaptive import Adadelta, Adagrad, RMSprop
from .sgd import NAG, SGD

__all__ = ["get", "create", "available", "register", "parse_spec", "spec_to_kwargs", "describe"]

_REGISTRY: dict[str, tuple[type, dict[str, Any], str]] = {}




def register(name: str, cls: type, description: str = "", **presets: Any) -> None:
    """Make ``cls`` (a ``torch.optim.Optimizer`` subclass) available under ``name``.

    ``presets`` are constructor arguments the name implies (the user's own
    arguments override them).
    """
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise TypeError(f"register: cls must be a torch.optim.Optimizer subclass, got {cls!r}")
    _REGISTRY[name_key(name)] = (cls, dict(presets), description or (cls.__doc__ or "").strip().split("\n")[0])


for _cls in (SGD, NAG, Adagrad, RMSprop, Adadelta, Adam, AdamW, Adamax, NAdam, RAdam):
    register(_cls.__name__, _cls)
register("gd", SGD, "gradient descent (SGD without momentum)")
register("momentum", SGD, "heavy-ball momentum, SGD with momentum 0.9 (lectures)", momentum=0.9)
register("heavyball", SGD, "heavy-ball momentum, SGD with momentum 0.9", momentum=0.9)
register("nesterov", SGD, "SGD with Nesterov momentum 0.9 (torch/Keras reformulation)", momentum=0.9,
         nesterov=True)
register("amsgrad", Adam, "Adam with AMSGrad (Reddi et al. 2018)", amsgrad=True)


def _with_keras() -> None:
    """Importing optimlab.keras registers its constructors as ``keras.sgd``, ``keras.adam``, ...
    (done on first use: optimlab.keras itself imports this package)."""
    import optimlab.keras  # noqa: F401


def _lookup(name: str) -> tuple[type, dict[str, Any], str]:
    _with_keras()
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a string, got {type(name).__name__}")
    k = name_key(name)
    if k not in _REGISTRY:
        close = difflib.get_close_matches(k, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown optimizer {name!r}.{hint} Available: {', '.join(available())}")
    return _REGISTRY[k]


def get(name: str) -> type:
    """The optimizer class behind ``name`` (case-insensitive; lecture and Keras names too)."""
    return _lookup(name)[0]


def create(params: Any, name: str, **kwargs: Any) -> torch.optim.Optimizer:
    """Construct the optimizer ``name`` on ``params`` with the name's presets and ``kwargs``."""
    cls, presets, _ = _lookup(name)
    return cls(params, **{**presets, **kwargs})


def available() -> list[str]:
    """Every registered name (normalized: lower case, no separators)."""
    _with_keras()
    return sorted(_REGISTRY)


def describe() -> list[tuple[str, str, dict[str, Any], str]]:
    """(name, class name, presets, one-line description) for every registered name."""
    _with_keras()
    return [(k, c.__name__, dict(p), d) for k, (c, p, d) in sorted(_REGISTRY.items())]


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Read ``NAME[:KEY=VALUE,...]`` into ``(name, kwargs)``; the name is checked."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("optimizer spec is empty; write NAME[:KEY=VALUE,...], e.g. adam:lr=0.01")
    name, _, rest = split_spec(spec)
    _lookup(name)
    return name, parse_options(rest, spec, "optimizer")


def spec_to_kwargs(spec: str) -> dict[str, Any]:
    """Only the options of a spec (see :func:`parse_spec`)."""
    return parse_spec(spec)[1]
