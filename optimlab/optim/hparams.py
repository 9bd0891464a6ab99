"""Declared hyperparameters and the one validator that checks them.

Every optimizer class states what its arguments may be in a table, its class
attribute ``hparams`` (``{argument: spec}``), and the combinations it refuses in
``hparam_rules``; the tables of its base classes apply too. :func:`check_values`
reads a table and checks a set of values against it: the optimizers call it for
every param group, ``optimlab.keras`` for the Keras arguments. An error names the
argument, the value and what is allowed; where ``torch.optim`` refuses the same
value it also carries torch's own sentence (e.g. ``Invalid learning rate: -1``).

Specs: :class:`Range` (a number or a tensor of numbers in an interval),
:class:`Flag` (``True`` or ``False`` only: a string such as ``"no"`` is an error,
never a true value), :class:`Choice` (one of some words), :class:`Items` (a tuple
such as ``betas``, each entry with its own spec), :class:`Fixed` (an option the method
has no use for, accepted only at its default). Rules: :class:`AtMostOne`,
:class:`Requires`, :class:`SameKind`, :class:`NoTensorWithForeach`, :class:`NumbersOnly`.

**Tensor hyperparameters and runs.** A hyperparameter may be a tensor:

* a tensor of **one element**, whatever its shape (``()``, ``(1,)``, ``(1, 1)``, ...),
  is one value for every parameter, as in torch; it is kept as a 0-d view of the
  given tensor (torch's ``_to_scalar``), so it never changes a parameter's shape;
* a tensor of **more than one element** gives each element of the parameters its
  own value, the *runs dimension*: it must broadcast against **every** parameter of
  its param group without changing that parameter's shape, i.e.
  ``torch.broadcast_shapes(h.shape, p.shape) == p.shape``. The usual case is
  parameters of shape ``(R, ...)`` with hyperparameters of shape ``(R, 1, ...)``
  (as many trailing 1s as the parameter has further dimensions): R independent runs.
  Any other tensor is refused when the optimizer is built or the group added, so a
  step never half-applies.

torch itself accepts only one-element tensors ("Tensor lr must be 1-element"); the
second case is optimlab's extension, and the refusal says both.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Number
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["Range", "Flag", "Choice", "Items", "Fixed", "AtMostOne", "Requires", "SameKind", "NoTensorWithForeach",
           "NumbersOnly", "check_values", "check_tensors", "shaped_tensors_key", "check_range", "check_choice",
           "check_flag", "describe_value"]


def describe_value(value: Any) -> str:
    """A value as errors show it: numbers by ``repr``, a one-element tensor by its number,
    a larger tensor by its shape."""
    if isinstance(value, Tensor):
        if value.numel() == 1:
            return repr(value.item())
        return f"a tensor of shape {tuple(value.shape)}"
    return repr(value)


def _torch_text(value: Any) -> str:
    """How torch's messages print a value (``f"{value}"``)."""
    return str(value.item()) if isinstance(value, Tensor) and value.numel() == 1 else str(value)


def _bounds_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is None:
        return f"at most {hi:g}" if not hi_open else f"below {hi:g}"
    if hi is None:
        return f">= {lo:g}" if not lo_open else f"> {lo:g}"
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def check_range(name: str, value: Any, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False, torch_message: str = "") -> None:
    """Raise ``ValueError`` naming ``name`` unless every element of ``value`` lies in the range.

    ``value`` may be a Python number or a tensor (all its elements are checked).
    ``torch_message``: torch's wording for the same refusal (``"Invalid learning
    rate"``), appended as ``(torch: Invalid learning rate: -1)`` for a number or a
    one-element tensor.
    """
    if isinstance(value, bool) or not isinstance(value, (Number, Tensor)):
        raise ValueError(f"{name} must be a number or a tensor of numbers, got {value!r}")
    # a Python number is checked in float64: in float32 a momentum of 1e-300 would read as 0
    t = value.detach() if isinstance(value, Tensor) else torch.tensor(float(value), dtype=torch.float64)
    if t.is_complex() or not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite, got {describe_value(value)}")
    bad = torch.zeros_like(t, dtype=torch.bool)
    if lo is not None:
        bad |= (t <= lo) if lo_open else (t < lo)
    if hi is not None:
        bad |= (t >= hi) if hi_open else (t > hi)
    if not bad.any():
        return
    rng = _bounds_text(lo, hi, lo_open, hi_open)
    if t.numel() == 1:
        also = f" (torch: {torch_message}: {_torch_text(value)})" if torch_message else ""
        raise ValueError(f"{name} must be {rng}, got {describe_value(value)}{also}")
    index = tuple(bad.nonzero()[0].tolist())
    raise ValueError(f"{name} must be {rng} in every element, got {describe_value(value)} whose element "
                     f"{index} is {t[index].item()!r}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if isinstance(value, Tensor) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def check_flag(name: str, value: Any, hint: str = "") -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is ``True`` or ``False``
    (a NumPy bool too): ``"no"``, ``1`` or ``None`` are errors, not truth values."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False (true/false in a spec), got {value!r}{hint}")


# ---------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class Range:
    """A number, or a tensor of numbers (see the module docstring), in an interval.

    ``optional``: ``None`` is allowed too (the option is off). ``torch``: torch's
    wording when it refuses the same value, e.g. ``"Invalid learning rate"``.
    """

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    optional: bool = False
    torch: str = ""

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        check_range(name, value, self.lo, self.hi, self.lo_open, self.hi_open, self.torch)
        return _as_scalar(value)


@dataclass(frozen=True)
class Flag:
    """``True`` or ``False`` (``optional``: or ``None``, torch's "let me choose"); ``hint``
    is added to the error."""

    optional: bool = False
    hint: str = ""

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        check_flag(name, value, self.hint)
        return bool(value)


@dataclass(frozen=True)
class Choice:
    """One of ``choices``."""

    choices: tuple

    def check(self, name: str, value: Any) -> Any:
        check_choice(name, value, self.choices)
        return value


@dataclass(frozen=True)
class Items:
    """A tuple of fixed length, entry ``i`` checked by ``specs[i]`` and named ``name[i]``."""

    specs: tuple

    def check(self, name: str, value: Any) -> Any:
        n = len(self.specs)
        if isinstance(value, Tensor) or not isinstance(value, Sequence) or len(value) != n:
            raise ValueError(f"{name} must be a tuple of {n} values, got {describe_value(value)}")
        return tuple(s.check(f"{name}[{i}]", v) for i, (s, v) in enumerate(zip(self.specs, value)))


@dataclass(frozen=True)
class Fixed:
    """An option the class accepts only at ``value`` (a common option that its method has no
    use for, e.g. ``lr_decay`` for Rprop, whose lr only sets the first step sizes);
    ``reason`` says why."""

    value: Any
    reason: str

    def check(self, name: str, value: Any) -> Any:
        # 0 is 0.0, but False is not 0: a flag stays a flag
        if isinstance(value, Tensor) or value != self.value or isinstance(value, bool) != isinstance(self.value, bool):
            raise ValueError(f"{name} must be {self.value!r} here ({self.reason}), got {describe_value(value)}")
        return value


def _as_scalar(value: Any) -> Any:
    """A one-element tensor as a 0-d view of itself (torch's ``_to_scalar``); anything else as it is."""
    if isinstance(value, Tensor) and value.numel() == 1 and value.dim() > 0:
        return value.reshape(())
    return value


# ---------------------------------------------------------------------------- rules
def _on(v: Any) -> bool:
    return v is not None and v is not False


@dataclass(frozen=True)
class AtMostOne:
    """At most one of ``names`` may be on (not ``None`` and not ``False``)."""

    names: tuple
    message: str

    def check(self, values: Mapping[str, Any]) -> None:
        if sum(_on(values.get(n)) for n in self.names) > 1:
            given = ", ".join(f"{n}={values[n]!r}" for n in self.names if _on(values.get(n)))
            raise ValueError(f"{self.message}; got {given}")


@dataclass(frozen=True)
class Requires:
    """With option ``flag`` on (and every ``when`` item equal), ``name`` must satisfy ``spec``;
    the error says ``{flag}=True needs {text}``."""

    flag: str
    name: str
    spec: Range
    text: str
    when: tuple = ()
    torch: str = ""

    def check(self, values: Mapping[str, Any]) -> None:
        if not values.get(self.flag) or any(values.get(k) != v for k, v in self.when):
            return
        try:
            self.spec.check(self.name, values[self.name])
        except ValueError:
            also = f" (torch: {self.torch})" if self.torch else ""
            raise ValueError(f"{self.flag}=True needs {self.text}, got {self.name}="
                             f"{describe_value(values[self.name])}{also}") from None


@dataclass(frozen=True)
class SameKind:
    """torch's rule for a tuple such as ``betas``: numbers, or one-element tensors, not
    both mixed. A tensor of several elements (runs) may sit beside a number."""

    name: str
    torch: str

    def check(self, values: Mapping[str, Any]) -> None:
        items = values.get(self.name) or ()
        scalar_tensors = [isinstance(v, Tensor) and v.numel() == 1 for v in items]
        numbers = [not isinstance(v, Tensor) for v in items]
        if any(scalar_tensors) and any(numbers):
            raise ValueError(f"{self.name} must be all numbers or all tensors, got {tuple(items)!r} "
                             f"(torch: {self.torch})")


@dataclass(frozen=True)
class NumbersOnly:
    """Options (or tuple options) a method needs as numbers: a tensor is refused, or with
    ``one_element`` only a tensor of more than one element (a per-run value). ``why`` is
    added to the error."""

    names: tuple
    why: str
    one_element: bool = False

    def check(self, values: Mapping[str, Any]) -> None:
        for name in self.names:
            v = values.get(name)
            entries = [(f"{name}[{i}]", e) for i, e in enumerate(v)] if isinstance(v, tuple) else [(name, v)]
            for label, e in entries:
                if isinstance(e, Tensor) and not (self.one_element and e.numel() == 1):
                    kind = f"a tensor of shape {tuple(e.shape)}" if e.numel() > 1 else "a tensor"
                    allowed = "a number or a one-element tensor" if self.one_element else "a number"
                    raise ValueError(f"{label} is {kind}, but must be {allowed} ({self.why})")


@dataclass(frozen=True)
class NoTensorWithForeach:
    """torch refuses a tensor ``lr`` (or ``betas[i]``) with ``foreach=True``; so do we
    (optimlab has no foreach kernels: ``foreach`` is accepted for compatibility)."""

    names: tuple

    def check(self, values: Mapping[str, Any]) -> None:
        if values.get("foreach") is not True:
            return
        for name in self.names:
            v = values.get(name)
            entries = [(f"{name}[{i}]", e) for i, e in enumerate(v)] if isinstance(v, tuple) else [(name, v)]
            for label, e in entries:
                if isinstance(e, Tensor):
                    raise ValueError(f"{label} is a tensor, which foreach=True does not allow (torch: {label} as a "
                                     f"Tensor is not supported for capturable=False and foreach=True); pass "
                                     f"foreach=None: optimlab runs tensor hyperparameters in its readable path")


# ------------------------------------------------------------------------ validator
def check_values(table: Mapping[str, Any], values: dict[str, Any], rules: Sequence[Any] = (),
                 params: Sequence[Tensor] | None = None) -> dict[str, Any]:
    """Check ``values`` against a table of specs and rules; return the normalized values.

    Only the names present in ``values`` are checked. Normalized: one-element tensors
    become 0-d views, NumPy bools Python bools. ``params``: the tensors of the param
    group the values are for; every tensor of several elements must broadcast against
    each of them without changing its shape (module docstring).
    """
    out = dict(values)
    for name, spec in table.items():
        if name in out:
            out[name] = spec.check(name, out[name])
    for rule in rules:
        rule.check(out)
    if params is not None:
        for name in table:
            if name in out:
                _check_broadcast(name, out[name], params)
    return out


def _shaped(value: Any) -> bool:
    """A tensor with dimensions (not 0-d), or a tuple holding one (betas)."""
    if isinstance(value, tuple):
        return any(_shaped(v) for v in value)
    return isinstance(value, Tensor) and value.dim() > 0


def _identity(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_identity(v) for v in value)
    return (id(value), tuple(value.shape)) if isinstance(value, Tensor) else None


def shaped_tensors_key(group: Mapping[str, Any]) -> Any:
    """``None`` when no value of ``group`` is a tensor with dimensions; else what identifies
    those values and the group's parameters (identity and shape), so that
    :func:`check_tensors` need not run again for values it has already checked."""
    found = tuple((k, _identity(v)) for k, v in group.items() if k != "params" and _shaped(v))
    return (found, id(group["params"]), len(group["params"])) if found else None


def check_tensors(table: Mapping[str, Any], group: dict[str, Any], params: Sequence[Tensor]) -> None:
    """For a group whose values may have been replaced since construction (a user or a
    scheduler setting ``group["lr"]``): one-element tensors among the ``table``'s names
    become 0-d views, in place, as :func:`check_values` makes them; a tensor of several
    elements must broadcast against each of ``params`` (module docstring), else
    ``ValueError`` before anything changes. The optimizers call it before a step whose
    group holds such tensors not checked before (:func:`shaped_tensors_key`)."""
    for name in table:
        if name in group and _shaped(group[name]):
            v = group[name]
            group[name] = tuple(_as_scalar(x) for x in v) if isinstance(v, tuple) else _as_scalar(v)
            _check_broadcast(name, group[name], params)


def broadcasts_to(shape: Sequence[int], target: Sequence[int]) -> bool:
    """True when a tensor of ``shape`` broadcasts against ``target`` without changing it:
    the runs rule for a tensor hyperparameter (module docstring), also used for loaded state."""
    try:  # numpy's rule is torch's; torch.broadcast_shapes imports its symbolic-shape machinery (0.3 s)
        return np.broadcast_shapes(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False


def _check_broadcast(name: str, value: Any, params: Sequence[Tensor]) -> None:
    entries = [(f"{name}[{i}]", e) for i, e in enumerate(value)] if isinstance(value, tuple) else [(name, value)]
    for label, v in entries:
        if not isinstance(v, Tensor) or v.numel() == 1:
            continue
        if not params:
            raise ValueError(f"{label} is a tensor of shape {tuple(v.shape)} but there are no parameters it could "
                             f"broadcast against as runs (torch: Tensor {label} must be 1-element)")
        for i, p in enumerate(params):
            if not broadcasts_to(v.shape, p.shape):
                trailing = ", 1" * max(p.dim() - 1, 0)
                raise ValueError(
                    f"{label} is a tensor of shape {tuple(v.shape)}, which does not broadcast against parameter {i} "
                    f"of its param group (shape {tuple(p.shape)}) without changing that shape. A tensor "
                    f"hyperparameter is either one-element (torch: Tensor {label} must be 1-element) or, for "
                    f"independent runs, broadcasts against every parameter of its group, e.g. shape "
                    f"({p.shape[0] if p.dim() else 1}{trailing}) here")
