"""Traces made when first read: :class:`TraceList`, a sequence of R traces whose records live
in shared arrays (a batch of runs), and the per-run columns a sweep asks of all of them.

A sweep of 100,000 runs holds its records in a few arrays; building 100,000 :class:`Trace`
objects, their dicts and labels took longer than the runs' compiled steps, and most are
never looked at one by one. A :class:`TraceList` makes trace i when it is first read and
keeps it (reading it again gives the same object, so a change to it stays); the columns
(:func:`stop_reasons`, :func:`step_counts`, :func:`curve_ends`) come from the arrays without
making any trace. Any other sequence of traces (a list) gets the same answers by reading
each trace.
"""

from __future__ import annotations

import operator
from typing import Any, Iterator, Sequence

import numpy as np

from .record import Trace

__all__ = ["TraceList", "JoinedTraces", "join", "stop_reasons", "step_counts", "curve_ends", "objective_curve",
           "records_kept"]


class TraceList(Sequence):
    """R traces, trace i made by :meth:`make` when first read, then kept.

    A subclass gives :meth:`make` and the columns from its arrays: :meth:`stop_reasons`,
    :meth:`step_counts` and :meth:`curve_ends`. ``record`` says what each trace keeps
    (:data:`optimlab.record.RECORDS`)."""

    record = "all"

    def __init__(self, n: int):
        self._made: list[Trace | None] = [None] * n

    def make(self, i: int) -> Trace:
        raise NotImplementedError

    def stop_reasons(self) -> list[str]:
        raise NotImplementedError

    def step_counts(self) -> np.ndarray:
        raise NotImplementedError

    def curve_ends(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._made)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n, j = len(self._made), operator.index(i)
        if j < 0:
            j += n
        if not 0 <= j < n:
            raise IndexError(f"trace index {i} is out of range for {n} traces")
        t = self._made[j]
        if t is None:
            t = self._made[j] = self.make(j)
        return t

    def __iter__(self) -> Iterator[Trace]:
        return (self[j] for j in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == len(self) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        made = sum(t is not None for t in self._made)
        return f"{type(self).__name__}({len(self):,} traces, {made:,} made so far)"


class JoinedTraces(TraceList):
    """Several sequences of traces as one (a sweep's chunks and batches), in ``order``:
    trace i is trace ``order[i]`` of the parts laid end to end (default: as they come)."""

    def __init__(self, parts: Sequence[Sequence[Trace]], order: Sequence[int] | None = None):
        self.parts = list(parts)
        self._ends = np.cumsum([0] + [len(p) for p in self.parts])
        self.order = None if order is None else np.asarray(order, dtype=np.int64)
        n = int(self._ends[-1])
        if self.order is not None and (len(self.order) != n or (n and not np.array_equal(np.sort(self.order),
                                                                                          np.arange(n)))):
            raise ValueError(f"order must be a permutation of the {n} traces' positions")
        super().__init__(n)
        kinds = {getattr(p, "record", None) if isinstance(p, TraceList) else None for p in self.parts}
        self.record = kinds.pop() if len(kinds) == 1 and None not in kinds else None

    def make(self, i: int) -> Trace:
        c = i if self.order is None else int(self.order[i])
        p = int(np.searchsorted(self._ends, c, side="right")) - 1
        return self.parts[p][c - int(self._ends[p])]

    def _joined(self, column: Any) -> np.ndarray:
        out = np.concatenate([np.asarray(column(p)) for p in self.parts]) if self.parts else np.zeros(0)
        return out if self.order is None else out[self.order]

    def stop_reasons(self) -> list[str]:
        return self._joined(lambda p: np.asarray(stop_reasons(p), dtype=object)).tolist()

    def step_counts(self) -> np.ndarray:
        return self._joined(step_counts).astype(np.int64)

    def curve_ends(self) -> dict[str, np.ndarray]:
        ends = [curve_ends(p) for p in self.parts]
        out = {}
        for k in ("final", "best"):
            v = np.concatenate([e[k] for e in ends]) if ends else np.zeros(0)
            out[k] = v if self.order is None else v[self.order]
        return out


def join(parts: Sequence[Sequence[Trace]], order: Sequence[int] | None = None) -> Sequence[Trace]:
    """The parts as one sequence (:class:`JoinedTraces`); one part in its own order is itself."""
    if len(parts) == 1 and order is None:
        return parts[0]
    return JoinedTraces(parts, order)


def stop_reasons(traces: Sequence[Trace]) -> list[str]:
    """Each trace's ``stop_reason``."""
    if isinstance(traces, TraceList):
        return traces.stop_reasons()
    return [t.stop_reason for t in traces]


def step_counts(traces: Sequence[Trace]) -> np.ndarray:
    """Each trace's ``steps`` (updates done)."""
    if isinstance(traces, TraceList):
        return traces.step_counts()
    return np.array([int(t.steps) for t in traces], dtype=np.int64)


def objective_curve(t: Trace) -> np.ndarray:
    """The objective of a run's curve: a training run's per-epoch ``objective``, else its ``values``."""
    if "objective" in t.epochs:
        return np.asarray(t.epochs["objective"], dtype=float)
    return np.asarray(t.series.get("values", []), dtype=float)


def curve_ends(traces: Sequence[Trace]) -> dict[str, np.ndarray]:
    """Per run: ``"final"``, the last value of its curve (NaN when empty), and ``"best"``,
    its lowest finite value (NaN when none). The curve is a training run's per-epoch
    ``objective``, else the per-step ``values``; a run that kept no curve
    (``run_batch(record="final")``) has both in its ``meta``."""
    if isinstance(traces, TraceList):
        return traces.curve_ends()
    final, best = np.full(len(traces), np.nan), np.full(len(traces), np.nan)
    for i, t in enumerate(traces):
        if "final_value" in t.meta and "values" not in t.series:
            final[i], best[i] = t.meta["final_value"], t.meta["best_value"]
            continue
        c = objective_curve(t)
        if len(c):
            final[i] = c[-1]
        c = c[np.isfinite(c)]
        if c.size:
            best[i] = c.min()
    return {"final": final, "best": best}


def records_kept(traces: Sequence[Trace]) -> str | None:
    """What every trace of a :class:`TraceList` keeps (``"all"``, ``"values"``, ``"final"``), or
    None when that is not known without reading them."""
    return traces.record if isinstance(traces, TraceList) else None
