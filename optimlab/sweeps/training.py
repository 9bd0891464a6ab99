"""A sweep on a training problem: R stacked model copies trained at once with :mod:`torch.func`."""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap

from ..engine import (
    RECORD_CHUNK,
    EpochBatches,
    EpochMean,
    Freezer,
    RunState,
    divergent,
    grown,
    hessian_refresh,
    optimizer_mode,
    pick_threads,
    run_generators,
    torch_threads,
)
from ..problems.data import dataset_tensors
from ..record import Trace, to_jsonable
from ..runner import resolve_optimizer, run_label, runs_layout, runs_options, takes_tensor_hyper
from ..training.curvature import loss_terms, sampler
from ..training.losses import resolve_loss
from .grids import hyper_values

__all__ = ["TrainSweep"]


def _loss_fn(loss: Any) -> Callable:
    """A loss callable: the problem's own, or a name of the training lab (``"cross_entropy"``, ...)."""
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
    if callable(getattr(problem, "new_model", None)) and getattr(problem, "model_fn", True) is not None:
        return problem.new_model(int(seed)).to(dtype)
    model = copy.deepcopy(problem.model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return model.to(dtype)


class TrainSweep:
    r"""A sweep on a training problem, set up once and computed a chunk of runs at a time:
    :meth:`run` trains the given runs' R stacked model copies at once with :mod:`torch.func`.

    Row j (configuration c_j, seed s_j) is exactly this loop run alone: model
    ``_init_model(problem, s_j)``; optimizer ``create(model.parameters(), name,
    **options, **c_j)``; epoch e visits the training set in the order
    ``torch.randperm(N, generator=g_j)`` (``g_j = Generator().manual_seed(s_j)``, one
    permutation per epoch), batches of ``batch_size`` (the last one smaller); at each
    epoch's end (and after the last step) the objective is evaluated and the epoch's
    training ``loss`` recorded as ``Σ_b n_b·loss_b / Σ_b n_b`` over its batches (the
    mean over examples, as :class:`~optimlab.training.Trainer` logs it). Rows are
    independent, so a split of the runs into chunks trains each row the same way. An
    optimizer with ``update_hessian()`` (Sophia) is stepped and refreshed as
    :meth:`~optimlab.training.Trainer.fit` does it, row j's labels drawn from
    ``Generator().manual_seed(s_j)`` (a second one).
    """

    def __init__(self, problem: Any, optimizer: Any, *, numeric: list[str], structural: list[str], steps: int,
                 batch_size: int | None, dtype: torch.dtype, threads: Any = None):
        self.factory, self.opt_name, self.options = resolve_optimizer(optimizer)
        self.problem_obj, self.numeric, self.steps, self.dtype = problem, numeric, steps, dtype
        self.threads = threads
        self.data = _Data(problem, dtype, batch_size)
        if structural:
            raise ValueError(f"a training sweep puts every swept argument on the runs dimension; "
                             f"{', '.join(structural)} hold non-numbers: sweep them one value at a time")
        self.alone = not takes_tensor_hyper(optimizer)  # a foreign class: one run at a time, plain numbers
        if runs_layout(optimizer) == "alone" and not self.alone:
            raise ValueError(f"{self.opt_name} cannot be swept on a training problem: it treats all parameters as "
                             "one vector and steps with a closure; train each configuration with Trainer instead")
        self.runs_options = runs_options(optimizer)
        self.pname = getattr(problem, "name", type(problem).__name__)
        self.problem = {"type": "training", "name": self.pname}
        self.optimizer_dict = {"name": self.opt_name, "options": to_jsonable(self.options)}
        self.f_min = float("nan")

    def numbers_per_run(self, record_params: bool) -> int:
        """About how many numbers one run holds while it is trained: its per-step losses
        and per-epoch curves, and its model's parameters with their gradients and
        optimizer state (about 4 copies)."""
        n_params = sum(p.numel() for p in self.problem_obj.model.parameters())
        return self.steps + 2 * (self.steps // self.data.per_epoch + 1) + 4 * n_params

    def run(self, rows: Sequence[dict], record_params: bool, progress: Callable | None) -> list[Trace]:
        """The traces of ``rows``, in order (``record_params`` is for function sweeps)."""
        rows = list(rows)
        if self.alone and len(rows) > 1:
            return [t for r in rows for t in self.run([r], record_params, progress)]
        data, opt_name, options, steps = self.data, self.opt_name, self.options, self.steps
        row_seeds = [r.get("seed", 0) if r.get("seed") is not None else 0 for r in rows]
        models = _StackedModels(self.problem_obj, row_seeds, self.dtype)
        # (R, 1, ...) values override the options
        opt = self.factory(models.groups(hyper_values(rows, self.numeric, options), plain=self.alone),
                           **self.runs_options)
        work = sum(p.numel() for p in models.params.values()) * data.B  # the stacked parameters hold all R runs
        with torch_threads(pick_threads(self.threads, work)):
            losses, objective, train_loss, state = _train(models, opt, data, row_seeds, steps, progress)
        traces = []
        for j, r in enumerate(rows):
            n_ep = int(np.sum(np.isfinite(objective[:, j]))) if objective.size else 0
            epochs = {"objective": objective[:n_ep, j].copy(), "loss": train_loss[:n_ep, j].copy()}
            if data.Xv is not None:
                epochs["val_loss"] = objective[:n_ep, j].copy()
            cfg = {"optimizer": opt_name,
                   "options": to_jsonable({**options, **{k: v for k, v in r.items() if k != "seed"}}),
                   "problem": {"name": self.pname}, "seed": r.get("seed"), "batch_size": data.B,
                   "steps_per_epoch": data.per_epoch, "steps_limit": int(steps), "sweep": to_jsonable(r)}
            traces.append(Trace(label=run_label(opt_name, r), config=cfg,
                                series={"values": losses[:state.last[j], j].copy()},
                                epochs=epochs, stop_reason=str(state.reason[j]), steps=int(state.last[j])))
        return traces


class _Data:
    """The problem's training (and validation) tensors, inputs in ``dtype``, and the batch size."""

    def __init__(self, problem: Any, dtype: torch.dtype, batch_size: int | None):
        X, self.Y = dataset_tensors(problem.train, name="problem.train")
        val = getattr(problem, "val", None)
        Xv, self.Yv = dataset_tensors(val, name="problem.val") if val is not None and len(val) else (None, None)
        self.X = X.to(dtype) if X.is_floating_point() else X
        self.Xv = Xv.to(dtype) if Xv is not None and Xv.is_floating_point() else Xv
        N = self.X.shape[0]
        self.B = int(batch_size) if batch_size is not None else min(32, N)
        if self.B < 1 or self.B > N:
            raise ValueError(f"batch_size must be in [1, {N}] (the training set size), got {batch_size!r}")
        self.per_epoch = -(-N // self.B)

    def objective(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What each epoch's end evaluates: the validation set, else the training set."""
        return (self.Xv, self.Yv) if self.Xv is not None else (self.X, self.Y)


class _StackedModels:
    """R model copies (one per run, initial weights from its seed) as stacked (R, ...) parameters."""

    def __init__(self, problem: Any, row_seeds: list[int], dtype: torch.dtype):
        models = {s: _init_model(problem, s, dtype) for s in sorted(set(row_seeds))}
        base = models[row_seeds[0]]
        params, self.buffers = stack_module_state([models[s] for s in row_seeds])
        self.params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        self.R = len(row_seeds)
        loss_fn = _loss_fn(problem.loss)
        self.loss_name = resolve_loss(problem.loss)[0]

        def one(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return loss_fn(functional_call(base, (p, b), (x,)), y)

        self.batched = vmap(one, in_dims=(0, 0, 0, 0))  # run j on its own batch
        self.on_all = vmap(one, in_dims=(0, 0, None, None))  # every run on the same data
        # for curvature refreshes (_Curvature): each run's outputs on its batch, each run's loss on given labels
        self.outputs = vmap(lambda p, b, x: functional_call(base, (p, b), (x,)), in_dims=(0, 0, 0))
        self.losses = vmap(loss_fn, in_dims=(0, 0))

    def groups(self, hyper: dict[str, list], plain: bool = False) -> list[dict]:
        """One parameter group per stacked tensor, each swept value as an (R, 1, ...) tensor
        (``plain``: one run, its values as plain numbers, for a class that takes no tensors)."""
        groups = []
        for p in self.params.values():
            shape = (self.R,) + (1,) * (p.ndim - 1)
            g: dict[str, Any] = {"params": [p]}
            for k, vals in hyper.items():
                if plain:
                    g[k] = tuple(map(float, vals[0])) if k == "betas" else float(vals[0])
                    continue
                arr = torch.tensor(vals, dtype=p.dtype)
                g[k] = (arr[:, 0].reshape(shape), arr[:, 1].reshape(shape)) if k == "betas" else arr.reshape(shape)
            groups.append(g)
        return groups

    def evaluate(self, X: torch.Tensor, Y: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            v = self.on_all({k: p.detach() for k, p in self.params.items()}, self.buffers, X, Y)
        return v.cpu().numpy().astype(float)


class _Curvature:
    """The refreshes of an optimizer with ``update_hessian()`` (Sophia) in a training sweep: those of
    :meth:`Trainer.fit` (:mod:`optimlab.training.curvature`) for every run at once, each run's labels
    drawn from a generator seeded with its seed, so that a row is its run alone."""

    def __init__(self, opt: torch.optim.Optimizer, models: _StackedModels, data: _Data, row_seeds: list[int]):
        self.opt, self.models, self.refresh = opt, models, hessian_refresh(opt)
        self.sample = None if self.refresh is None else sampler(opt, self.refresh, models.loss_name)
        self.generators = [torch.Generator().manual_seed(int(s)) for s in row_seeds]
        self.terms = 1  # loss terms per example, for step(bs=B)
        if self.sample is not None:
            with torch.no_grad():
                first = data.X[:1]
                probe = self.models.outputs(models.params, models.buffers, first.expand(models.R, *first.shape))
            self.terms = loss_terms(self.sample, probe[0])

    def step_kwargs(self, batch: int) -> dict[str, Any]:
        return {} if self.sample is None else self.refresh.step_kwargs(batch * self.terms)

    def after_step(self, steps_done: int, xb: torch.Tensor, yb: torch.Tensor, freezer: Freezer) -> None:
        """After the update that made ``steps_done`` steps, on its batches (R, B, ...): refresh when due."""
        if self.refresh is None or not self.refresh.due(steps_done):
            return
        params = list(self.models.params.values())
        for p in params:
            p.grad = None
        with torch.enable_grad():
            out = self.models.outputs(self.models.params, self.models.buffers, xb)
            if self.sample is not None:
                labels = torch.stack([self.sample(out[j], generator=g) for j, g in enumerate(self.generators)])
                self.models.losses(out, labels).sum().backward()
                freezer.zero_grads()  # the runs that stopped
            else:  # autograd.grad: backward(create_graph=True) would tie each p and p.grad in a cycle
                grads = torch.autograd.grad(self.models.losses(out, yb).sum(), params, create_graph=True)
                for p, g in zip(params, grads):
                    p.grad = g
        self.opt.update_hessian()
        for p in params:
            p.grad = None


def _train(models: _StackedModels, opt: torch.optim.Optimizer, data: _Data, row_seeds: list[int], steps: int,
           progress: Callable | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, RunState]:
    """The loop: per-step batch losses (at least the steps taken, R; grown in chunks, so a
    huge ``steps`` reserves nothing up front), per-epoch objective and training loss
    (epochs, R; NaN once a run stopped) and the runs' state, by the rules of :mod:`optimlab.engine`."""
    R, params = models.R, models.params
    batches = EpochBatches(len(data.X), data.B, *run_generators(row_seeds))
    nb = batches.per_epoch
    losses = np.full((min(steps, RECORD_CHUNK), R), np.nan)
    obj: list[np.ndarray] = []
    tr_loss: list[np.ndarray] = []
    state, freezer, epoch_loss = RunState(R), Freezer(list(params.values())), EpochMean(R)
    curvature = _Curvature(opt, models, data, row_seeds)  # Sophia's update_hessian() every k steps
    epoch: list = []
    for k in range(steps):
        b = k % nb
        if b == 0:
            epoch = batches.epoch()
        idx = epoch[b]  # (R, batch)
        optimizer_mode(opt, "train")  # schedule-free methods: gradients at y, the objective at x
        for p in params.values():
            p.grad = None
        f = models.batched(params, models.buffers, data.X[idx], data.Y[idx])
        f.sum().backward()
        fv = f.detach().cpu().numpy().astype(float)
        state.stop(divergent(fv), "diverged")
        active = state.active
        if k >= len(losses):
            losses = grown(losses, k + 1, steps)
            losses[k:] = np.nan
        losses[k, active] = fv[active]
        epoch_loss.add(fv, idx.shape[1], active)
        freezer.hold(active)
        if active.any():
            opt.step(**curvature.step_kwargs(idx.shape[1]))
        freezer.release()
        curvature.after_step(k + 1, data.X[idx], data.Y[idx], freezer)
        state.record(k + 1)
        if b == nb - 1 or k == steps - 1:
            optimizer_mode(opt, "eval")
            ev = models.evaluate(*data.objective())
            ev[~state.active] = np.nan
            obj.append(ev)
            tr_loss.append(np.where(state.active, epoch_loss.mean(), np.nan))
            epoch_loss.reset()
            state.stop(divergent(ev), "diverged")
        if progress is not None:
            progress(k + 1, steps)
        if not state.active.any():
            break
    optimizer_mode(opt, "eval")
    state.finish("max_steps")
    objective = np.array(obj) if obj else np.zeros((0, R))
    train_loss = np.array(tr_loss) if tr_loss else np.zeros((0, R))
    return losses, objective, train_loss, state
