"""torch's own optimizer test table (``optim_db`` of ``torch.testing._internal.common_optimizers``)
for the tests, imported without the rest of torch's test machinery.

``common_optimizers`` takes three names from two heavy modules: ``DecorateInfo`` from
``common_methods_invocations``, whose import builds every OpInfo of torch's operator tests and
imports ``scipy.signal`` (about 2 s), and ``tol`` and ``toleranceOverride`` from
``common_device_type``, whose import loads the compiler stack (``torch._inductor`` and
``torch._dynamo``: 1-1.5 s). Every test process pays what this module imports while it collects
(each pytest-xdist worker), and only the compile tests need that stack. The table uses the three
only to describe skips, decorators and tolerances of torch's own test classes, which these tests
never apply, so while ``common_optimizers`` is imported the two modules are stand-ins whose
classes keep their arguments; the stand-ins are removed afterwards (a later import gets torch's
real modules). A module of torch's that is loaded already is used as it is.
"""

from __future__ import annotations

import sys
import types
from collections import namedtuple

_CMI = "torch.testing._internal.common_methods_invocations"
_CDT = "torch.testing._internal.common_device_type"


class DecorateInfo:
    """Holds what torch's ``DecorateInfo`` is given; never applied here."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class toleranceOverride:  # noqa: N801 (torch's name)
    """Holds the ``{dtype: tol}`` that torch's ``toleranceOverride`` is given; never applied here."""

    def __init__(self, d):
        self.d = d


tol = namedtuple("tol", ["atol", "rtol"])


def _stand_in(name: str, **names) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(names)
    return module


# a module of torch's that is loaded already is used as it is; the others are stood in for
_stand_ins = {} if "torch.testing._internal.common_optimizers" in sys.modules else {
    name: _stand_in(name, **names) for name, names in (
        (_CMI, {"DecorateInfo": DecorateInfo}), (_CDT, {"tol": tol, "toleranceOverride": toleranceOverride}))
    if name not in sys.modules}
sys.modules.update(_stand_ins)
try:
    from torch.testing._internal import common_optimizers
finally:
    for _name in _stand_ins:
        del sys.modules[_name]

OptimizerErrorEnum = common_optimizers.OptimizerErrorEnum
optim_db = common_optimizers.optim_db
_get_optim_inputs_including_global_cliquey_kwargs = common_optimizers._get_optim_inputs_including_global_cliquey_kwargs
