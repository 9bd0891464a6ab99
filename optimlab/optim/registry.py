"""Optimizers by name: ``get``, ``create``, ``available``, ``register``, and the spec syntax.

An optimizer class registers itself, in its own module, with the class decorator
:func:`register_optimizer`: its class name, further names, aliases (a name with
preset arguments) and the ranges the bench's random search draws for it
(:func:`tuning`)::

    @register_optimizer(aliases={"momentum": alias("heavy-ball momentum", momentum=0.9)},
                        tune={"momentum": Tune(0.0, 0.99, only_if_on=True)})
    class SGD(Optimizer): ...

Nothing else in optimlab lists optimizer classes: the command line, sweeps and the
bench find a registered class by its names.

Names are case-insensitive and ``-``, ``_`` and spaces are ignored, so ``"RMSProp"``,
``"rms_prop"`` and ``"rmsprop"`` are one name. Besides the class names there are the
lectures' names (``"gd"``, ``"momentum"``, ``"nesterov"``, ``"nag"``) and Keras' names
(``"sgd"``, ``"rmsprop"``, ``"nadam"``, ...). A name may carry preset arguments:
``create(params, "momentum")`` is ``SGD(params, momentum=0.9)``.

The spec syntax, used by the command line: ``NAME[:KEY=VALUE[,KEY=VALUE...]]``, e.g.
``adam:lr=0.1,betas=(0.9,0.99),amsgrad=true`` or ``momentum:lr=0.01,momentum=0.7``.
Values are numbers, ``true``/``false``/``none``, tuples in parentheses, or bare words
(strings, e.g. ``momentum_form=velocity``).

A spec may name the user's own class instead, ``MODULE:CLASS[:KEY=VALUE,...]``
(``mypkg.mymodule:MyOptimizer:lr=0.1``; :mod:`optimlab.optim.foreign`): it is imported,
not registered, and its class attribute ``tune`` gives its tuning ranges.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch

from .._spec import format_value, name_key, parse_options, split_spec, unknown_name, unknown_option
from .foreign import is_class_spec_name, load_class, split_class_spec

__all__ = ["get", "create", "available", "register", "register_optimizer", "unregister", "alias", "Tune",
           "tuning", "parse_spec", "spec_to_kwargs", "describe", "lookup", "options", "option_defaults",
           "check_options"]


@dataclass(frozen=True)
class Tune:
    """A range the bench's random search draws a hyperparameter from, uniformly in [lo, hi]
    (the learning rate is always drawn, log-uniformly over the bench's ``lr_range``).

    ``only_if_on``: drawn only when the spec turns the option on (its value, from the
    spec or the name's presets, is given and non-zero), so plain SGD stays plain: SGD's
    momentum. The key is a sweep argument (``"beta1"`` sets ``betas[0]``)."""

    lo: float
    hi: float
    only_if_on: bool = False


@dataclass(frozen=True)
class Entry:
    """What a registered name stands for."""

    cls: type
    presets: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    tune: dict[str, Tune] = field(default_factory=dict)


_REGISTRY: dict[str, Entry] = {}


def _first_line(cls: type) -> str:
    return (cls.__doc__ or "").strip().split("\n")[0]


def _check_class(cls: Any) -> None:
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise TypeError(f"register: cls must be a torch.optim.Optimizer subclass, got {cls!r}")


def register(name: str, cls: type, description: str = "", **presets: Any) -> None:
    """Make ``cls`` (a ``torch.optim.Optimizer`` subclass) available under ``name``.

    ``presets`` are constructor arguments the name implies (the user's own
    arguments override them). :func:`register_optimizer` is the class decorator.
    """
    _check_class(cls)
    _REGISTRY[name_key(name)] = Entry(cls, dict(presets), description or _first_line(cls))


def alias(description: str, **presets: Any) -> tuple[str, dict[str, Any]]:
    """An alias for :func:`register_optimizer`: a description and the arguments the name presets."""
    return description, presets


def _tune_ranges(tune: Any, what: str) -> dict[str, Tune]:
    """``{key: Tune}`` from ``{key: Tune or (lo, hi)}``; ``what`` names it in errors."""
    if tune is None:
        return {}
    if not isinstance(tune, Mapping):
        raise ValueError(f"{what} must be a dict {{key: (lo, hi)}}, got {type(tune).__name__}")
    ranges = {}
    for k, v in tune.items():
        try:
            t = v if isinstance(v, Tune) else Tune(*v)
            ordered = t.lo <= t.hi
        except TypeError:
            raise ValueError(f"{what}[{k!r}] must be a pair (lo, hi) of numbers, got {v!r}") from None
        if not ordered:
            raise ValueError(f"{what}[{k!r}] must have lo <= hi, got {t}")
        ranges[str(k)] = t
    return ranges


def register_optimizer(*names: str, aliases: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
                       tune: Mapping[str, Tune | tuple[float, float]] | None = None,
                       description: str = "", class_name: bool = True) -> Callable[[type], type]:
    """Class decorator: register the class under its class name (unless ``class_name=False``)
    and ``names``, and each alias (``{name: alias(description, **presets)}``); ``tune``: the
    ranges the bench's random search draws for it (:class:`Tune`, or ``(lo, hi)``).
    ``description`` defaults to the docstring's first line. Returns the class."""
    ranges = _tune_ranges(tune, "tune")

    def decorate(cls: type) -> type:
        _check_class(cls)
        text = description or _first_line(cls)
        for n in ((cls.__name__,) if class_name else ()) + names:
            _REGISTRY[name_key(n)] = Entry(cls, {}, text, ranges)
        for n, (alias_text, presets) in (aliases or {}).items():
            _REGISTRY[name_key(n)] = Entry(cls, dict(presets), alias_text, ranges)
        return cls

    return decorate


def unregister(name_or_cls: str | type) -> None:
    """Remove a name (or every name of a class) from the registry."""
    if isinstance(name_or_cls, str):
        _REGISTRY.pop(name_key(name_or_cls), None)
        return
    for k in [k for k, e in _REGISTRY.items() if e.cls is name_or_cls]:
        del _REGISTRY[k]


def _with_keras() -> None:
    """Importing optimlab.keras registers its constructors as ``keras.sgd``, ``keras.adam``, ...
    (done on first use: optimlab.keras itself imports this package)."""
    import optimlab.keras  # noqa: F401  # lazy: optimlab.keras imports this package (a circle at the top)


def lookup(name: str) -> Entry:
    """The :class:`Entry` (class, presets, description, tuning ranges) behind ``name``."""
    _with_keras()
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a string, got {type(name).__name__}")
    if is_class_spec_name(name):  # MODULE:CLASS, the user's own class (optimlab.optim.foreign)
        cls = load_class(name)
        return Entry(cls, {}, _first_line(cls), _tune_ranges(getattr(cls, "tune", None), f"{name}.tune"))
    k = name_key(name)
    if k not in _REGISTRY:
        raise ValueError(unknown_name("optimizer", name, {c: c for c in _REGISTRY}, available()))
    return _REGISTRY[k]


def get(name: str) -> type:
    """The optimizer class behind ``name`` (case-insensitive; lecture and Keras names too)."""
    return lookup(name).cls


def create(params: Any, name: str, **kwargs: Any) -> torch.optim.Optimizer:
    """Construct the optimizer ``name`` on ``params`` with the name's presets and ``kwargs``."""
    entry = lookup(name)
    return entry.cls(params, **{**entry.presets, **check_options(name, kwargs)})


def available() -> list[str]:
    """Every registered name (normalized: lower case, no separators)."""
    _with_keras()
    return sorted(_REGISTRY)


def describe() -> list[tuple[str, str, dict[str, Any], str]]:
    """(name, class name, presets, one-line description) for every registered name."""
    _with_keras()
    return [(k, e.cls.__name__, dict(e.presets), e.description) for k, e in sorted(_REGISTRY.items())]


def tuning(spec: str) -> dict[str, tuple[float, float]]:
    """The ranges the bench's random search draws for optimizer ``spec`` besides the
    learning rate, in declared order (see :class:`Tune`)."""
    name, kwargs = parse_spec(spec)
    entry = lookup(name)
    merged = {**entry.presets, **kwargs}
    return {k: (t.lo, t.hi) for k, t in entry.tune.items() if not t.only_if_on or merged.get(k, 0.0)}


_NOT_OPTIONS = ("self", "params", "defaults")


@functools.lru_cache(maxsize=None)
def _constructor_options(cls: type) -> dict[str, Any] | None:
    """``{argument: default}`` of what ``cls(params, ...)`` accepts: its ``__init__``'s named
    arguments and, through ``**kwargs``, those of the bases it passes them to; ``None``
    when the chain ends in a ``**kwargs`` no class names (then anything may be right)."""
    found: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        for p in parameters:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in _NOT_OPTIONS:
                found.setdefault(p.name, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return found
    return None


def options(name: str) -> list[str] | None:
    """The option names optimizer ``name`` accepts (its constructor's arguments), or ``None``
    for a class whose arguments cannot be read."""
    found = _constructor_options(lookup(name).cls)
    return None if found is None else list(found)


def option_defaults(name: str) -> dict[str, Any] | None:
    """``{option: default}`` of what optimizer ``name`` accepts, with the name's presets applied
    (``momentum`` → ``{"momentum": 0.9, ...}``; an argument without a default maps to
    ``inspect.Parameter.empty``), or ``None`` for a class whose arguments cannot be read."""
    entry = lookup(name)
    found = _constructor_options(entry.cls)
    return None if found is None else {k: entry.presets.get(k, v) for k, v in found.items()}


def _accepted_options(name: str, kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """What optimizer ``name`` accepts; a wrapper that passes its other arguments to an inner
    optimizer (class attribute ``inner_optimizer_option = (argument, default name)``, e.g.
    Lookahead's ``base``) also accepts the options of the inner optimizer ``kwargs`` names."""
    cls = lookup(name).cls
    accepted = _constructor_options(cls)
    inner = getattr(cls, "inner_optimizer_option", None)
    if accepted is None or inner is None:
        return accepted
    arg, default = inner
    given = {k.lower(): v for k, v in kwargs.items()}
    inner_name = given.get(arg, default) or default
    if not isinstance(inner_name, str):
        return None
    inner_accepted = _constructor_options(lookup(inner_name).cls)
    return None if inner_accepted is None else {**inner_accepted, **accepted}


def check_options(name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` for optimizer ``name`` with each key matched to an accepted option, case-insensitively
    (``LR`` is ``lr``); ``ValueError`` naming an unknown key with the accepted names and the closest
    ones, or a tuple option (``betas``) given something else than a tuple of its length."""
    accepted = _accepted_options(name, kwargs)
    if accepted is None:
        return dict(kwargs)
    lower = {k.lower(): k for k in accepted}
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        real = key if key in accepted else lower.get(str(key).lower())
        if real is None:
            raise ValueError(unknown_option(name, key, accepted))
        if real in out:
            raise ValueError(f"option {real!r} of {name} is given twice (as {key!r} too)")
        default = accepted[real]
        if isinstance(default, tuple) and not (isinstance(value, (tuple, list)) and len(value) == len(default)):
            wanted = "a pair" if len(default) == 2 else f"a tuple of {len(default)} values"
            raise ValueError(f"option {real!r} of {name} wants {wanted} like {format_value(default)}, "
                             f"got {format_value(value)}")
        out[real] = value
    return out


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Read ``NAME[:KEY=VALUE,...]`` (or ``MODULE:CLASS[:KEY=VALUE,...]``) into ``(name, kwargs)``;
    the name and the option names are checked (:func:`check_options`: keys come back spelled as the
    constructor spells them)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("optimizer spec is empty; write NAME[:KEY=VALUE,...], e.g. adam:lr=0.01")
    name, _, rest = split_spec(spec)
    own = split_class_spec(spec)
    if own is not None and name_key(name) not in _REGISTRY:  # a registered name wins: "adam:lr" is a bad option
        name, rest = own
    lookup(name)
    return name, check_options(name, parse_options(rest, spec, "optimizer"))


def spec_to_kwargs(spec: str) -> dict[str, Any]:
    """Only the options of a spec (see :func:`parse_spec`)."""
    return parse_spec(spec)[1]
