"""torch's own optimizer test table (``optim_db`` of ``torch.testing._internal.common_optimizers``)
for the tests, imported without the rest of torch's operator test suite.

``common_optimizers`` takes one name, ``DecorateInfo``, from ``common_methods_invocations``, whose
import builds every OpInfo of torch's operator tests and imports ``scipy.signal``: about 2 s of
every test process (each pytest-xdist worker pays it at collection). The table uses the class only
to describe skips and decorators of torch's own test classes, which these tests never apply, so
while ``common_optimizers`` is imported the module is a stand-in whose ``DecorateInfo`` keeps its
arguments; the stand-in is removed afterwards (a later import gets torch's real module). Where
torch's module is loaded already, it is used as it is.
"""

from __future__ import annotations

import sys
import types

_CMI = "torch.testing._internal.common_methods_invocations"


class DecorateInfo:
    """Holds what torch's ``DecorateInfo`` is given; never applied here."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


if "torch.testing._internal.common_optimizers" not in sys.modules and _CMI not in sys.modules:
    stand_in = types.ModuleType(_CMI)
    stand_in.DecorateInfo = DecorateInfo
    sys.modules[_CMI] = stand_in
    try:
        from torch.testing._internal import common_optimizers
    finally:
        del sys.modules[_CMI]
else:
    from torch.testing._internal import common_optimizers

OptimizerErrorEnum = common_optimizers.OptimizerErrorEnum
optim_db = common_optimizers.optim_db
_get_optim_inputs_including_global_cliquey_kwargs = common_optimizers._get_optim_inputs_including_global_cliquey_kwargs
