"""A training-sweep row's model as the documented loop makes it: the problem's model copied,
initialized again after ``torch.manual_seed(seed)``, in float64."""

from __future__ import annotations

import copy

import torch


def row_model(problem, seed: int) -> torch.nn.Module:
    """``problem.model`` copied, every module with ``reset_parameters`` reset after
    ``torch.manual_seed(seed)``, then ``.double()``."""
    model = copy.deepcopy(problem.model)
    torch.manual_seed(seed)
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return model.double()
