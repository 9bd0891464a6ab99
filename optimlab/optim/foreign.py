"""Bring your own optimizer: the spec ``MODULE:CLASS[:KEY=VALUE,...]`` names a
``torch.optim.Optimizer`` subclass in the user's own module, e.g.
``mypkg.mymodule:MyOptimizer:lr=0.1,momentum=0.9``, accepted wherever a registered
name is (:func:`optimlab.optim.parse_spec`, :func:`~optimlab.optim.create`,
``-O`` on the command line, sweeps, the bench).

How it is read (one rule, :func:`split_class_spec`): the spec is a class spec when the
part after its first colon is a bare identifier (the class name) followed by the end or
by another colon and the options. ``adam:lr=0.1`` is never one (an option holds ``=``),
nor is ``adam:lr`` (a registered name comes first: that is a bad option).

How the class is found: ``importlib.import_module(MODULE)`` then ``getattr`` (no code
is evaluated from the spec; importing the module runs it, as any Python import does).
The current directory is searched first, as under ``python -m``, also when optimlab runs
as the ``optimlab`` console script (which does not put it on ``sys.path``); ``sys.path``
is left as it was afterwards.

Tuning ranges: the class attribute ``tune`` (``{key: (lo, hi)}`` or
:class:`~optimlab.optim.registry.Tune`), read as :func:`~optimlab.optim.register_optimizer`'s
``tune`` argument. A foreign class takes no tensor hyperparameters, so the runner does
each of its runs alone (:func:`optimlab.runner.takes_tensor_hyper`).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any

import torch

from .._spec import did_you_mean

__all__ = ["split_class_spec", "is_class_spec_name", "load_class"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CLASS_SPEC = re.compile(rf"({_IDENT}(?:\.{_IDENT})*)\s*:\s*({_IDENT})\s*(?::(.*))?", re.S)


def split_class_spec(spec: str) -> tuple[str, str] | None:
    """``("MODULE:CLASS", options text)`` for a class spec (see the module docstring), else ``None``."""
    m = _CLASS_SPEC.fullmatch(spec.strip())
    return (f"{m[1]}:{m[2]}", m[3] or "") if m else None


def is_class_spec_name(name: str) -> bool:
    """True for a ``MODULE:CLASS`` name (registered names never hold a colon)."""
    return ":" in name


def _import(module_name: str, name: str) -> Any:
    here = os.getcwd()
    added = "" not in sys.path and here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        if module_name not in sys.modules:
            importlib.invalidate_caches()  # a module file written since the last import is found
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise ValueError(f"optimizer {name!r}: no module named {e.name!r} (looked in the current directory "
                             f"and sys.path; a registered name takes options as NAME:KEY=VALUE)") from None
        raise ValueError(f"optimizer {name!r}: importing module {module_name!r} failed: {e}") from None
    except Exception as e:  # the user's module raised while it was imported
        raise ValueError(f"optimizer {name!r}: importing module {module_name!r} raised "
                         f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    finally:
        if added and here in sys.path:
            sys.path.remove(here)


def load_class(name: str) -> type:
    """The ``torch.optim.Optimizer`` subclass a ``MODULE:CLASS`` name stands for; a one-line
    ``ValueError`` when the module is not found, has no such class, or it is no optimizer class."""
    module_name, _, class_name = name.partition(":")
    module = _import(module_name, name)
    if not hasattr(module, class_name):
        classes = [k for k, v in vars(module).items() if isinstance(v, type)]
        raise ValueError(f"optimizer {name!r}: module {module_name!r} has no class {class_name!r}"
                         f"{did_you_mean(class_name, classes)}")
    cls = getattr(module, class_name)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise ValueError(f"optimizer {name!r}: {class_name} is not a torch.optim.Optimizer subclass "
                         f"(it is a {type(cls).__name__})")
    return cls
