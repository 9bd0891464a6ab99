"""The traces of one batch of runs, made when first read (:class:`BatchTraces`): each run's
series are views into the batch's shared step-major records, its configuration and label
made from the batch's when its trace is asked for (:mod:`optimlab.trace_list`)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..record import EVAL_SERIES, Trace, to_jsonable
from ..trace_list import TraceList
from .resolve import run_label

__all__ = ["BatchTraces"]


class BatchTraces(TraceList):
    """The R traces of a finished function loop (:class:`optimlab.runner.loop.BatchRun`).

    Trace i's series are views into the loop's buffers (no copies: each run owns its
    column; the clock is one read-only row for all runs); ``config`` is the batch's with the
    run's hyperparameters and start, plus ``extra(i)`` when set (a sweep's seed and swept
    values). The columns (stop reasons, steps, final and best values) come from the buffers."""

    def __init__(self, loop: Any, base_config: dict, name: str, options: Mapping, hyper: Mapping[str, Sequence],
                 labels: Sequence[str] | None):
        R = len(loop.x0)
        super().__init__(R)
        self.record = loop.record_mode
        self.record_params, self.closure_step = loop.record_params, loop.closure_step
        loop.T.setflags(write=False)
        self.P, self.V, self.G, self.T = loop.P, loop.V, loop.G, loop.T
        # lrs: one row per step once the lr changed; a constant lr is one read-only broadcast view
        self.lr_run_major = loop.LR is None
        if self.lr_run_major:
            row = loop.lr_const[1] if loop.lr_const is not None else np.zeros(R)
            self.LR = np.broadcast_to(np.asarray(row)[:, None], (R, max(loop.steps, 0)))
        else:
            self.LR = loop.LR
        self.evals = np.array(loop.evals) if loop.closure_step else None
        self.x0, self.last, self.reason = loop.x0, loop.state.last, loop.state.reason
        self.last_v, self.best_v = loop.last_v, loop.best_v
        self.base_config, self.name, self.options = base_config, name, options
        self.options_json = to_jsonable(options)
        self.hyper = {k: np.asarray(v, dtype=float) for k, v in hyper.items()}  # (R,) each, betas (R, 2)
        self.labels = labels
        self.extra: Callable[[int], dict] | None = None

    def make(self, i: int) -> Trace:
        n = int(self.last[i])
        hyper_i = {k: v[i].tolist() for k, v in self.hyper.items()}
        label = self.labels[i] if self.labels is not None else run_label(self.name, {**self.options, **hyper_i})
        P, meta = self.P, {}
        if self.record == "all":
            series = {
                "params": P[: n + 1, i] if self.record_params else P[:, i],
                "values": self.V[: n + 1, i],
                "grad_norms": self.G[: n + 1, i],
                "times": self.T[: n + 1],
                "lrs": self.LR[i, :n] if self.lr_run_major else self.LR[:n, i],
            }
            if self.closure_step:
                series.update({k: self.evals[: n + 1, j] for j, k in enumerate(EVAL_SERIES)})
        elif self.record == "values":
            series = {"values": self.V[: n + 1, i], "params": P[:, i]}
        else:
            series = {"params": P[:, i]}
            meta = {"final_value": float(self.last_v[i]), "best_value": self._best_final()[i]}
        config = {**self.base_config, "options": {**self.options_json, **hyper_i}, "start": self.x0[i].tolist()}
        if self.extra is not None:
            config.update(self.extra(i))
        return Trace(label=label, config=config, series=series, stop_reason=str(self.reason[i]), steps=n, meta=meta)

    def _best_final(self) -> np.ndarray:
        """record="final": each run's lowest finite value, NaN when it recorded none."""
        return np.where(np.isinf(self.best_v), np.nan, self.best_v)

    def stop_reasons(self) -> list[str]:
        return [str(r) for r in self.reason.tolist()]

    def step_counts(self) -> np.ndarray:
        return np.asarray(self.last, dtype=np.int64).copy()

    def curve_ends(self) -> dict[str, np.ndarray]:
        """Each run's last recorded value and its lowest finite one (NaN when none), read from
        the value records (rows 0 .. last of its column) or, with record="final", kept as it ran."""
        if self.record == "final":
            return {"final": self.last_v.astype(float), "best": self._best_final()}
        R = len(self.last)
        if R == 0:
            return {"final": np.zeros(0), "best": np.zeros(0)}
        rows = int(self.last.max()) + 1
        V = self.V[:rows]
        final = V[self.last, np.arange(R)].astype(float)
        kept = (np.arange(rows)[:, None] <= self.last[None, :]) & np.isfinite(V)
        low = np.where(kept, V, np.inf).min(axis=0)
        return {"final": final, "best": np.where(np.isinf(low), np.nan, low)}
