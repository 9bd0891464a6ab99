"""A sweep on a training problem: R stacked model copies trained at once with :mod:`torch.func`."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ..record import Trace, to_jsonable
from .grids import hyper_values, split_hyper
from .result import SweepResult

__all__ = ["train_sweep"]


def _dataset_tensors(data: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = getattr(data, "tensors", None)
    if tensors is not None and len(tensors) == 2:
        return tensors[0], tensors[1]
    try:
        pairs = [data[i] for i in range(len(data))]
    except TypeError:
        raise TypeError(f"{what} must be a dataset of (x, y) pairs, got {type(data).__name__}") from None
    if not pairs:
        raise ValueError(f"{what} is empty")
    return torch.stack([torch.as_tensor(p[0]) for p in pairs]), torch.stack([torch.as_tensor(p[1]) for p in pairs])


def _loss_fn(loss: Any) -> Callable:
    """A loss callable: the problem's own, or a name of the training lab (``"cross_entropy"``, ...)."""
    from ..training.losses import resolve_loss

    try:
        return resolve_loss(loss)[1]  # (name, callable, kind)
    except (TypeError, ValueError) as e:
        raise type(e)(f"problem.loss: {e}") from None


def _init_model(problem: Any, seed: int, dtype: torch.dtype) -> torch.nn.Module:
    """The problem's model with its initial weights drawn from ``seed``: the training
    lab's ``problem.new_model(seed)`` when it can build one (a problem made from a model
    instance has ``model_fn = None`` and cannot), otherwise a copy of ``problem.model``
    whose submodules' ``reset_parameters()`` are called in module order after
    ``torch.manual_seed(seed)`` (the global RNG is left alone)."""
    import copy

    if callable(getattr(problem, "new_model", None)) and getattr(problem, "model_fn", True) is not None:
        return problem.new_model(int(seed)).to(dtype)
    model = copy.deepcopy(problem.model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return model.to(dtype)


def train_sweep(problem: Any, optimizer: Any, configs: list[dict], seed_list: list[int] | None, steps: int, *,
                 batch_size: int | None, dtype: torch.dtype, progress: Callable | None) -> SweepResult:
    r"""Train R stacked model copies at once with :mod:`torch.func`.

    Row j (configuration c_j, seed s_j) is exactly this loop run alone: model
    ``_init_model(problem, s_j)``; optimizer ``create(model.parameters(), name,
    **options, **c_j)``; epoch e visits the training set in the order
    ``torch.randperm(N, generator=g_j)`` (``g_j = Generator().manual_seed(s_j)``, one
    permutation per epoch), batches of ``batch_size`` (the last one smaller); at each
    epoch's end (and after the last step) the objective is evaluated and the epoch's
    training ``loss`` recorded as ``Σ_b n_b·loss_b / Σ_b n_b`` over its batches (the
    mean over examples, as :class:`~optimlab.training.Trainer` logs it).
    """
    from torch.func import functional_call, stack_module_state, vmap

    from ..runner import resolve_optimizer

    factory, opt_name, options = resolve_optimizer(optimizer)
    X, Y = _dataset_tensors(problem.train, "problem.train")
    val = getattr(problem, "val", None)
    Xv, Yv = _dataset_tensors(val, "problem.val") if val is not None and len(val) else (None, None)
    X = X.to(dtype) if X.is_floating_point() else X
    if Xv is not None and Xv.is_floating_point():
        Xv = Xv.to(dtype)
    N = X.shape[0]
    B = int(batch_size) if batch_size is not None else min(32, N)
    if B < 1 or B > N:
        raise ValueError(f"batch_size must be in [1, {N}] (the training set size), got {batch_size!r}")
    nb = -(-N // B)
    rows: list[dict] = []
    for c in configs:
        for s in (seed_list if seed_list is not None else [None]):
            rows.append({**c, **({"seed": s} if s is not None else {})})
    R = len(rows)
    row_seeds = [r.get("seed", 0) if r.get("seed") is not None else 0 for r in rows]
    numeric, structural = split_hyper(configs, options)
    if structural:
        raise ValueError(f"a training sweep puts every swept argument on the runs dimension; "
                         f"{', '.join(structural)} hold non-numbers: sweep them one value at a time")
    hyper = hyper_values(rows, numeric, options)
    models = {s: _init_model(problem, s, dtype) for s in sorted(set(row_seeds))}
    base = models[row_seeds[0]]
    params, buffers = stack_module_state([models[s] for s in row_seeds])
    params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    loss_fn = _loss_fn(problem.loss)

    def one(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_call(base, (p, b), (x,)), y)

    batched = vmap(one, in_dims=(0, 0, 0, 0))
    on_all = vmap(one, in_dims=(0, 0, None, None))
    groups = []
    for name_p, p in params.items():
        shape = (R,) + (1,) * (p.ndim - 1)
        g = {"params": [p]}
        for k, vals in hyper.items():
            if k == "betas":
                arr = torch.tensor(vals, dtype=p.dtype)
                g[k] = (arr[:, 0].reshape(shape), arr[:, 1].reshape(shape))
            else:
                g[k] = torch.tensor(vals, dtype=p.dtype).reshape(shape)
        groups.append(g)
    opt = factory(groups)  # per-group (R, 1, ...) hyperparameters override the fixed options

    uniq = sorted(set(row_seeds))
    gens = {s: torch.Generator().manual_seed(int(s)) for s in uniq}
    row_of = torch.tensor([uniq.index(s) for s in row_seeds])
    losses = np.full((steps, R), np.nan)
    obj: list[np.ndarray] = []
    tr_loss: list[np.ndarray] = []
    active = np.ones(R, dtype=bool)
    last_step = np.zeros(R, dtype=int)
    reason = np.full(R, "", dtype=object)
    perms = None

    def evaluate() -> np.ndarray:
        with torch.no_grad():
            xe, ye = (Xv, Yv) if Xv is not None else (X, Y)
            v = on_all({k: p.detach() for k, p in params.items()}, buffers, xe, ye)
        return v.cpu().numpy().astype(float)

    epoch_sum, epoch_n = np.zeros(R), 0  # Σ (batch size × batch mean loss), examples seen this epoch
    for k in range(steps):
        e, b = divmod(k, nb)
        if b == 0:
            perms = torch.stack([torch.randperm(N, generator=gens[s]) for s in uniq])
        idx = perms[row_of, b * B:(b + 1) * B]  # (R, batch)
        for p in params.values():
            p.grad = None
        f = batched(params, buffers, X[idx], Y[idx])
        f.sum().backward()
        fv = f.detach().cpu().numpy().astype(float)
        bad = active & ~np.isfinite(fv)
        reason[bad] = "diverged"
        active &= ~bad
        losses[k, active] = fv[active]
        epoch_sum += np.where(active, fv, 0.0) * idx.shape[1]  # weighted by examples, as the Trainer
        epoch_n += idx.shape[1]
        with torch.no_grad():
            inactive = torch.from_numpy(~active)
            frozen = {n: p.detach().clone() for n, p in params.items()} if inactive.any() else None
            for p in params.values():
                p.grad[inactive] = 0.0
        if active.any():
            opt.step()
        with torch.no_grad():
            if frozen is not None:
                for n, p in params.items():
                    p[inactive] = frozen[n][inactive]
        last_step[active] = k + 1
        if b == nb - 1 or k == steps - 1:
            ev = evaluate()
            ev[~active] = np.nan
            obj.append(ev)
            tr_loss.append(np.where(active, epoch_sum / epoch_n, np.nan))
            epoch_sum, epoch_n = np.zeros(R), 0
            div = active & ~np.isfinite(ev)
            reason[div] = "diverged"
            active &= ~div
        if progress is not None:
            progress(k + 1, steps)
        if not active.any():
            break
    reason[reason == ""] = "max_steps"
    O = np.array(obj) if obj else np.zeros((0, R))
    TL = np.array(tr_loss) if tr_loss else np.zeros((0, R))
    pname = getattr(problem, "name", type(problem).__name__)
    traces = []
    for j, r in enumerate(rows):
        n_ep = int(np.sum(np.isfinite(O[:, j]))) if O.size else 0
        epochs = {"objective": O[:n_ep, j].copy(), "loss": TL[:n_ep, j].copy()}
        if Xv is not None:
            epochs["val_loss"] = O[:n_ep, j].copy()
        cfg = {"optimizer": opt_name, "options": to_jsonable({**options, **{k: v for k, v in r.items() if k != "seed"}}),
               "problem": {"name": pname}, "seed": r.get("seed"), "batch_size": B, "steps_per_epoch": nb, "steps_limit": int(steps),
               "sweep": to_jsonable(r)}
        label = f"{opt_name}(" + ", ".join(f"{k}={v}" for k, v in r.items()) + ")"
        traces.append(Trace(label=label, config=cfg, series={"values": losses[:last_step[j], j].copy()},
                            epochs=epochs, stop_reason=str(reason[j]), steps=int(last_step[j])))
    return SweepResult(configs=rows, traces=traces, problem={"type": "training", "name": pname},
                       optimizer={"name": opt_name, "options": to_jsonable(options)})
