"""JSON data from what optimlab's records hold: numbers, tensors, arrays, containers and
any object with a ``to_dict()`` (a :class:`~optimlab.record.Trace`, a test function)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

__all__ = ["to_jsonable", "read_json_object", "require_keys"]


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


def read_json_object(path: str | Path, what: str) -> dict:
    """The JSON object in ``path``; a ValueError of one line naming the file and what is
    wrong (missing, not UTF-8 text, damaged JSON and where, a list instead of an object)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{what} file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{str(path)!r} cannot be read as a {what}: {type(e).__name__}: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{str(path)!r} is not a valid {what}: its JSON is damaged at line {e.lineno} column "
                         f"{e.colno} ({e.msg}); the file was cut short or edited") from None
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} is not a {what}: it holds a JSON {type(data).__name__}, not an object")
    return data


def require_keys(data: dict, keys: Iterable[str], where: str) -> None:
    """A ValueError naming ``where`` and the keys ``data`` lacks, if any."""
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(repr(k) for k in missing)}")
