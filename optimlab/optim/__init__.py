"""optimlab.optim: exact first-order optimizers, drop-in ``torch.optim.Optimizer`` subclasses.

Every class has torch's argument names, defaults and numbers; options select the
variants written in the lectures and frameworks (see each docstring). Any
hyperparameter may be a tensor: one element (any shape) is one value, as in torch;
more elements must broadcast against every parameter of the group without changing
its shape: a parameter of shape ``(R, ...)`` with ``lr`` of shape ``(R, 1, ...)`` is
R independent runs (:mod:`optimlab.optim.hparams`). A new optimizer is one module:
a class with its ``hparams`` table, registered by :func:`register_optimizer`.

>>> import torch, optimlab.optim as oo
>>> w = torch.zeros(3, requires_grad=True)
>>> opt = oo.create([w], "adam", lr=0.1)
"""

from ._base import Optimizer
from ._state import check_loaded_state
from .adafactor import Adafactor
from .adam import Adam, Adamax, AdamW, NAdam, RAdam
from .adaptive import Adadelta, Adagrad, RMSprop
from .asgd import ASGD
from .hparams import check_range
from .lbfgs import LBFGS
from .muon import Muon
from .registry import (
                       Tune,
                       alias,
                       available,
                       create,
                       describe,
                       get,
                       parse_spec,
                       register,
                       register_optimizer,
                       spec_to_kwargs,
                       tuning,
                       unregister,
)
from .rprop import Rprop
from .sgd import NAG, SGD
from .sparse_adam import SparseAdam

__all__ = ["Optimizer", "SGD", "NAG", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax",
           "NAdam", "RAdam", "ASGD", "Rprop", "LBFGS", "Adafactor", "Muon", "SparseAdam",
           "get", "create", "available", "describe", "parse_spec", "register", "check_range",
           "spec_to_kwargs", "register_optimizer", "alias", "Tune", "tuning", "unregister",
           "check_loaded_state"]

# modern methods (issue 10): importing each module registers its classes
from .adabelief import AdaBelief  # noqa: E402
from .ademamix import AdEMAMix  # noqa: E402
from .adopt import ADOPT  # noqa: E402
from .ftrl import Ftrl  # noqa: E402
from .lamb import LAMB  # noqa: E402
from .lars import LARS  # noqa: E402
from .lion import Lion  # noqa: E402
from .lookahead import Lookahead  # noqa: E402
from .mars import MARS  # noqa: E402
from .prodigy import Prodigy  # noqa: E402
from .schedule_free import AdamWScheduleFree, RAdamScheduleFree, SGDScheduleFree  # noqa: E402
from .soap import SOAP  # noqa: E402
from .sophia import Sophia  # noqa: E402

__all__ += ["Lion", "AdaBelief", "SGDScheduleFree", "AdamWScheduleFree", "RAdamScheduleFree", "Prodigy", "ADOPT",
            "LARS", "Lookahead", "LAMB", "Ftrl", "Sophia", "AdEMAMix", "MARS", "SOAP"]

# higher-order methods for the function lab (issue 10 item 4)
from .bfgs import BFGS  # noqa: E402
from .cg import CG  # noqa: E402
from .levenberg_marquardt import LevenbergMarquardt  # noqa: E402
from .newton import Newton  # noqa: E402

__all__ += ["Newton", "BFGS", "CG", "LevenbergMarquardt"]
