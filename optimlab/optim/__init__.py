"""optimlab.optim: exact first-order optimizers, drop-in ``torch.optim.Optimizer`` subclasses.

Every class has torch's argument names, defaults and numbers; options select the
variants written in the lectures and frameworks (see each docstring). Any
hyperparameter may be a tensor that broadcasts against the parameter: a parameter
of shape ``(R, ...)`` with ``lr`` of shape ``(R, 1, ...)`` is R independent runs.

>>> import torch, optimlab.optim as oo
>>> w = torch.zeros(3, requires_grad=True)
>>> opt = oo.create([w], "adam", lr=0.1)
"""

from ._base import Optimizer, check_range
from .adam import Adam, AdamW, Adamax, NAdam, RAdam
from .adaptive import Adadelta, Adagrad, RMSprop
from .registry import available, create, describe, get, parse_spec, register, spec_to_kwargs
from .sgd import NAG, SGD

__all__ = ["Optimizer", "SGD", "NAG", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax",
           "NAdam", "RAdam", "get", "create", "available", "describe", "parse_spec", "register", "check_range", "spec_to_kwargs"]
