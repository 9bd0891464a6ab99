"""The one record type of optimlab: a :class:`Trace`.

Every run produces one, whether an optimizer walks a 2-D test function
(``optimlab.run``), trains a model (``Trainer.fit`` returns a ``History``, a
subclass), or is one configuration of a sweep or a benchmark trial. Plots and
reports read traces and never re-run anything.

A trace holds

* ``series``: per-step arrays, first axis the step. Conventions for the
  function lab: ``params`` (steps + 1, d) with the start first, ``values`` and
  ``grad_norms`` (steps + 1,), ``times`` (steps + 1,) seconds since the start,
  ``lrs`` (steps,) the learning rate used by each update.
* ``epochs``: per-epoch arrays (training), e.g. ``loss``, ``val_accuracy``.
* ``config``: plain JSON data that says what ran (optimizer name and
  hyperparameters, function or problem, start point, seed, ...).
* ``stop_reason`` and ``steps`` (number of updates done).

Traces save to a single ``.npz`` file (arrays plus a JSON header) and to JSON
(for the web), and load back exactly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Trace", "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Turn numbers, tensors, arrays, tuples and nested containers into JSON data."""
    try:
        import torch

        if isinstance(obj, torch.Tensor):
            obj = obj.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist() if obj.ndim else obj.item())  # NaN/inf inside become strings too
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # "nan", "inf", "-inf": JSON has no literal for them
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


@dataclass
class Trace:
    """Record of one run. See the module docstring for the conventions."""

    label: str = ""
    config: dict = field(default_factory=dict)
    series: dict = field(default_factory=dict)
    epochs: dict = field(default_factory=dict)
    stop_reason: str = ""
    steps: int = 0
    meta: dict = field(default_factory=dict)

    kind = "trace"

    # -- the function lab's names -------------------------------------------------
    def _get(self, key: str) -> np.ndarray:
        if key not in self.series:
            raise KeyError(f"this {self.kind} has no series {key!r}; it has {sorted(self.series)}")
        return self.series[key]

    @property
    def params(self) -> np.ndarray:
        return self._get("params")

    @property
    def values(self) -> np.ndarray:
        return self._get("values")

    @property
    def grad_norms(self) -> np.ndarray:
        return self._get("grad_norms")

    @property
    def lrs(self) -> np.ndarray:
        return self._get("lrs")

    @property
    def times(self) -> np.ndarray:
        return self._get("times")

    @property
    def final_value(self) -> float:
        v = self.values
        return float(v[-1]) if len(v) else float("nan")

    # -- persistence ------------------------------------------------------------------
    def _header(self) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "config": to_jsonable(self.config),
            "stop_reason": self.stop_reason,
            "steps": int(self.steps),
            "meta": to_jsonable(self.meta),
        }

    def save(self, path: str | Path) -> Path:
        """Save to ``path``: ``.json`` writes JSON, anything else a ``.npz`` archive."""
        path = Path(path)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict()))
            return path
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        arrays = {f"series/{k}": np.asarray(v) for k, v in self.series.items()}
        arrays.update({f"epochs/{k}": np.asarray(v) for k, v in self.epochs.items()})
        arrays["header"] = np.array(json.dumps(self._header()))
        np.savez_compressed(path, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Trace":
        """Load a trace saved by :meth:`save` (``.npz`` or ``.json``)."""
        path = Path(path)
        if path.suffix == ".json":
            return cls.from_dict(json.loads(path.read_text()))
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                series = {k[len("series/"):]: z[k] for k in z.files if k.startswith("series/")}
                epochs = {k[len("epochs/"):]: z[k] for k in z.files if k.startswith("epochs/")}
        except (OSError, ValueError, KeyError) as e:  # not an archive, pickled data, no header
            raise ValueError(f"{str(path)!r} is not an optimlab trace (.npz from Trace.save): {e}") from None
        return cls._build(header, series, epochs)

    def to_dict(self) -> dict:
        """Plain JSON data (arrays become nested lists; NaN/inf become strings)."""
        d = self._header()
        d["series"] = {k: to_jsonable(np.asarray(v)) for k, v in self.series.items()}
        d["epochs"] = {k: to_jsonable(np.asarray(v)) for k, v in self.epochs.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Trace":
        def arr(v):
            a = np.asarray(v, dtype=object)
            try:
                return np.asarray(a.tolist(), dtype=float) if a.dtype == object else np.asarray(v)
            except (TypeError, ValueError):
                return np.asarray(v)

        series = {k: arr(v) for k, v in d.get("series", {}).items()}
        epochs = {k: arr(v) for k, v in d.get("epochs", {}).items()}
        return cls._build(d, series, epochs)

    @classmethod
    def _build(cls, header: dict, series: dict, epochs: dict) -> "Trace":
        target = _KINDS.get(header.get("kind", "trace"), cls)
        if not issubclass(target, cls):
            target = cls
        return target(
            label=header.get("label", ""),
            config=header.get("config", {}),
            series=series,
            epochs=epochs,
            stop_reason=header.get("stop_reason", ""),
            steps=int(header.get("steps", 0)),
            meta=header.get("meta", {}),
        )

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        _KINDS[cls.kind] = cls

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in self.series.items())
        return (f"{type(self).__name__}(label={self.label!r}, steps={self.steps}, "
                f"stop_reason={self.stop_reason!r}, series=[{keys}])")


_KINDS: dict[str, type] = {"trace": Trace}
