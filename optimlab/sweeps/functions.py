"""A sweep on a test function: every configuration × seed as rows of one :func:`optimlab.runner.run_batch`."""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import torch

from ..engine import no_gc
from ..record import Trace, to_jsonable
from ..runner import resolve_function, resolve_optimizer, run_batch
from .grids import config_rows, hyper_values, split_hyper, with_options
from .result import SweepResult

__all__ = ["function_sweep"]


def function_sweep(problem: Any, optimizer: Any, configs: list[dict], seed_list: list[int] | None, steps: int, *,
                    start: Any, stop: Any, schedule: Any, start_spread: float, dtype: torch.dtype, bound: float,
                    record_params: bool | None, progress: Callable | None, threads: Any = None) -> SweepResult:

    fn = resolve_function(problem)
    _, opt_name, options = resolve_optimizer(optimizer)
    if start is None:
        starts = getattr(fn, "starts", None)
        if starts is None or len(starts) == 0:
            raise ValueError(f"start is required: {getattr(fn, 'name', 'the function')} suggests no start point")
        start = starts[0]
    x0 = np.asarray(start, dtype=float)
    if x0.ndim != 1 or not np.isfinite(x0).all():
        raise ValueError(f"start must be d finite numbers, got {start!r}")
    d = x0.size
    noise = float(getattr(fn, "noise", 0.0) or 0.0)
    rows = config_rows(configs, seed_list)
    R = len(rows)
    numeric, structural = split_hyper(configs, options)
    if record_params is None:
        record_params = R * (steps + 1) * d <= 2e7
    # each distinct combination of structural values is one batched computation
    batches: dict[str, list[int]] = {}
    if not structural:
        batches[""] = list(range(R))
    for i, r in enumerate(rows if structural else ()):
        batches.setdefault(json.dumps([r.get(k) for k in structural], default=str), []).append(i)
    traces: list[Trace | None] = [None] * R
    noisy_dicts: dict[int, dict] = {}
    n_batches = len(batches)
    for b, idx in enumerate(batches.values()):
        sub = [rows[i] for i in idx]
        batch_opt = with_options(optimizer, {k: sub[0][k] for k in structural})
        hyper = hyper_values(sub, numeric, options)
        starts = np.repeat(x0[None, :], len(sub), axis=0)
        batch_fn = fn
        seeds_here = [r.get("seed") for r in sub]
        if noise > 0:
            batch_fn = fn.with_run_noise([s if s is not None else int(fn.seed) for s in seeds_here])
        elif seed_list is not None:
            for j, s in enumerate(seeds_here):
                g = torch.Generator().manual_seed(int(s))
                starts[j] = x0 + start_spread * torch.randn(d, generator=g, dtype=torch.float64).numpy()
        def cb(k: int, b: int = b) -> None:
            progress(b * steps + k, n_batches * steps)

        out = run_batch(batch_fn, batch_opt, starts, steps, hyper=hyper, stop=stop, schedule=schedule,
                        dtype=dtype, bound=bound, record_params=record_params,
                        progress=cb if progress is not None else None, threads=threads)
        with no_gc():  # R small dicts that stay alive
            for j, (i, t) in enumerate(zip(idx, out)):
                if noise > 0:  # the function as it ran alone: with this run's noise seed
                    s = seeds_here[j] if seeds_here[j] is not None else int(fn.seed)
                    if s not in noisy_dicts:
                        noisy_dicts[s] = to_jsonable(fn.with_noise(noise, s).to_dict())
                    t.config["function"] = noisy_dicts[s]
                t.config["seed"] = rows[i].get("seed")
                t.config["sweep"] = {k: list(v) if isinstance(v, tuple) else v for k, v in rows[i].items()}
                traces[i] = t
    fdict = to_jsonable(fn.to_dict()) if hasattr(fn, "to_dict") else {"name": str(problem)}
    return SweepResult(configs=rows, traces=traces, problem={"type": "function", **fdict},
                       optimizer={"name": opt_name, "options": to_jsonable(options)},
                       f_min=float(getattr(fn, "f_min", float("nan"))))
