"""A sweep on a test function: every configuration × seed as rows of :func:`optimlab.runner.run_batch`."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..record import Trace, to_jsonable
from ..runner import prepare_batch, resolve_function, resolve_optimizer
from ..trace_list import join
from .grids import column, hyper_values, with_options

__all__ = ["FunctionSweep"]


class FunctionSweep:
    """A sweep on a test function, set up once and computed a chunk of runs at a time.

    :meth:`run` computes the given runs (dicts of swept values, ``"seed"`` when seeded)
    and returns their traces; rows are independent, so any split of the runs into chunks
    gives the same traces as one batch (tested bit for bit in float64)."""

    def __init__(self, problem: Any, optimizer: Any, *, numeric: list[str], structural: list[str], seeded: bool,
                 steps: int, start: Any, stop: Any, schedule: Any, start_spread: float, dtype: torch.dtype,
                 bound: float, threads: Any = None, compile: Any = "auto", record: str = "all"):
        self.fn = fn = resolve_function(problem)
        _, self.opt_name, self.options = resolve_optimizer(optimizer)
        if start is None:
            starts = getattr(fn, "starts", None)
            if starts is None or len(starts) == 0:
                raise ValueError(f"start is required: {getattr(fn, 'name', 'the function')} suggests no start point")
            start = starts[0]
        self.x0 = np.asarray(start, dtype=float)
        if self.x0.ndim != 1 or not np.isfinite(self.x0).all():
            raise ValueError(f"start must be d finite numbers, got {start!r}")
        self.d = self.x0.size
        self.noise = float(getattr(fn, "noise", 0.0) or 0.0)
        self.optimizer, self.numeric, self.structural, self.seeded = optimizer, numeric, structural, seeded
        self.steps, self.start_spread, self.threads, self.compile = steps, start_spread, threads, compile
        self.record = record  # what run_batch keeps of each step: a "final" sweep's memory does not grow with steps
        self.run_kw = {"stop": stop, "schedule": schedule, "dtype": dtype, "bound": bound}
        self._noisy_dicts: dict[int, dict] = {}
        fdict = to_jsonable(fn.to_dict()) if hasattr(fn, "to_dict") else {"name": str(problem)}
        self.problem = {"type": "function", **fdict}
        self.optimizer_dict = {"name": self.opt_name, "options": to_jsonable(self.options)}
        self.f_min = float(getattr(fn, "f_min", float("nan")))

    def numbers_per_run(self, record_params: bool) -> int:
        """About how many float64 numbers one run holds while it is computed: what its
        ``record`` keeps per step (values, gradient norms and learning rates, the points when
        recorded; the values alone, copied once; nothing) and a few (R, d) tensors of state."""
        per_step = {"all": 3 + (self.d if record_params else 0), "values": 2, "final": 0}[self.record]
        return (self.steps + 1) * per_step + 8 * self.d

    def compiled_from_start(self, rows: Sequence[dict]) -> bool:
        """Whether a batch of these rows runs compiled from its second step on (a program to
        be built, ``compile=True``, or one built already under ``"auto"``): two runs made ready,
        not stepped, tell (:attr:`optimlab.runner.loop.BatchRun.compiled_from_start`)."""
        if self.compile is False or len(rows) < 2 or self.noise > 0:
            return False
        two = rows[:2]
        batch_opt = with_options(self.optimizer, {k: two[0][k] for k in self.structural})
        try:
            batches = prepare_batch(self.fn, batch_opt, np.repeat(self.x0[None, :], 2, axis=0), self.steps,
                                    hyper=hyper_values(two, self.numeric, self.options), record_params=False,
                                    threads=self.threads, compile=self.compile, record="final", **self.run_kw)
        except ValueError:  # NotCompilable under compile=True: the sweep's own batch says why
            return False
        return len(batches) == 1 and batches[0].compiled_from_start

    def run(self, rows: Sequence[dict], record_params: bool, progress: Callable | None) -> Sequence[Trace]:
        """The traces of ``rows``, in order (each made when first read,
        :mod:`optimlab.trace_list`): one batched computation per distinct combination of
        structural (non-number) values."""
        R, steps = len(rows), self.steps
        batches: dict[str, list[int]] = {}
        if not self.structural:
            batches[""] = list(range(R))
        for i, r in enumerate(rows if self.structural else ()):
            batches.setdefault(json.dumps([r.get(k) for k in self.structural], default=str), []).append(i)
        parts, positions = [], []
        n_batches = len(batches)
        for b, idx in enumerate(batches.values()):
            sub = rows if n_batches == 1 else [rows[i] for i in idx]  # one batch: the rows stay lazy

            def cb(k: int, b: int = b) -> None:
                progress(b * steps + k, n_batches * steps)

            parts.append(self._batch(sub, record_params, cb if progress is not None else None))
            positions.extend(idx)
        in_order = n_batches <= 1
        return join(parts, None if in_order else np.argsort(np.asarray(positions), kind="stable"))

    def _batch(self, sub: Sequence[dict], record_params: bool, progress: Callable | None) -> Sequence[Trace]:
        """One batch of runs (:func:`optimlab.runner.prepare_batch`) over runs that share their
        structural values, its traces made when first read."""
        fn, x0, d = self.fn, self.x0, self.d
        batch_opt = with_options(self.optimizer, {k: sub[0][k] for k in self.structural})
        hyper = hyper_values(sub, self.numeric, self.options)
        starts = np.repeat(x0[None, :], len(sub), axis=0)
        batch_fn = fn
        seeds_here = column(sub, "seed")
        if self.noise > 0:
            batch_fn = fn.with_run_noise([s if s is not None else int(fn.seed) for s in seeds_here])
        elif self.seeded:
            for j, s in enumerate(seeds_here):
                g = torch.Generator().manual_seed(int(s))
                starts[j] = x0 + self.start_spread * torch.randn(d, generator=g, dtype=torch.float64).numpy()
        batches = prepare_batch(batch_fn, batch_opt, starts, self.steps, hyper=hyper, record_params=record_params,
                                progress=progress, threads=self.threads, compile=self.compile, record=self.record,
                                **self.run_kw)
        parts, offset = [], 0
        for b in batches:
            b.run()
            out = b.traces()
            out.extra = functools.partial(self._extra, sub, seeds_here, offset)
            parts.append(out)
            offset += len(out)
        return join(parts)

    def _extra(self, sub: Sequence[dict], seeds: list, offset: int, i: int) -> dict:
        """What a sweep adds to the configuration of run ``offset + i`` of ``sub``: its seed,
        its swept values and, on a noisy function, the function as it ran alone (its noise seed)."""
        r, s = sub[offset + i], seeds[offset + i]
        extra: dict = {}
        if self.noise > 0:
            s = s if s is not None else int(self.fn.seed)
            if s not in self._noisy_dicts:
                self._noisy_dicts[s] = to_jsonable(self.fn.with_noise(self.noise, s).to_dict())
            extra["function"] = self._noisy_dicts[s]
        extra["seed"] = r.get("seed")
        extra["sweep"] = {k: list(v) if isinstance(v, tuple) else v for k, v in r.items()}
        return extra
