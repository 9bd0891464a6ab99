"""JSON data from what optimlab's records hold: numbers, tensors, arrays, containers and
any object with a ``to_dict()`` (a :class:`~optimlab.record.Trace`, a test function)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Turn numbers, tensors, arrays, tuples, records and nested containers into JSON data.

    Non-finite floats become the strings ``"nan"``, ``"inf"`` and ``"-inf"`` (JSON has no
    literal for them); anything else unknown becomes its ``repr``.

    >>> to_jsonable({"lr": np.float32(0.5), "start": (1, torch.tensor(2.0)), "f": float("inf")})
    {'lr': 0.5, 'start': [1, 2.0], 'f': 'inf'}
    """
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and not isinstance(obj, type):
        return obj.to_dict()
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist() if obj.ndim else obj.item())  # NaN/inf inside become strings too
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)
