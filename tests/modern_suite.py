"""Shared by the tests of the modern optimizers (issue 10, item 2): the same gradients fed to
optimlab's class and to its reference (the authors' package or a NumPy transcription), step
for step; batched runs against the runs alone; state_dict round trips.

Gradients come from a fixed non-quadratic field of the parameter and the step number, so
each step depends on the previous iterate; the parameters are tiny (a few elements) and the
runs take 30+ steps in float64.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch

STEPS = 32
R, D = 3, 4


def grad_field(p: torch.Tensor, k: int) -> torch.Tensor:
    """A gradient that depends on the iterate and the step (never exactly zero)."""
    return 0.5 * p + torch.sin(3.0 * p + 0.7 * k) + 0.1 * torch.cos(k * p) + 0.05


def start(*shape: int, seed: int = 1) -> list[torch.Tensor]:
    """Two parameters (a matrix and a vector) in float64."""
    g = torch.Generator().manual_seed(seed)
    shape = shape or (R, D)
    return [torch.randn(*shape, generator=g, dtype=torch.float64),
            torch.randn(shape[0], generator=g, dtype=torch.float64)]


def trajectory(make: Callable[[list[torch.Tensor]], Any], p0: list[torch.Tensor], steps: int = STEPS,
               before: Callable[[Any], None] | None = None, after: Callable[[Any], None] | None = None
               ) -> list[list[torch.Tensor]]:
    """The iterates of ``make(params)`` on :func:`grad_field`; ``before``/``after`` each step
    (e.g. ``train()``/``eval()`` of a schedule-free optimizer; the iterates are read after ``after``)."""
    ps = [p.clone().requires_grad_() for p in p0]
    opt = make(ps)
    out = []
    for k in range(steps):
        if before:
            before(opt)
        for p in ps:
            p.grad = grad_field(p.detach(), k)
        opt.step()
        if after:
            after(opt)
        out.append([p.detach().clone() for p in ps])
    return out


def assert_same(a: list[list[torch.Tensor]], b: list[list[torch.Tensor]], tol: float = 1e-12, what: str = ""):
    assert len(a) == len(b)
    for k, (xs, ys) in enumerate(zip(a, b)):
        for i, (x, y) in enumerate(zip(xs, ys)):
            torch.testing.assert_close(x, y, rtol=tol, atol=tol,
                                       msg=lambda m, k=k, i=i: f"{what} step {k + 1}, parameter {i}: {m}")


def column(values: list[float], rank: int = 2) -> torch.Tensor:
    """One value per run, shaped (R, 1, ...) for a parameter of ``rank`` dimensions."""
    return torch.tensor(values, dtype=torch.float64).reshape(-1, *([1] * (rank - 1)))


def runs_equal_alone(cls: type, per_run: dict[str, Any], fixed: dict[str, Any], tol: float = 1e-12,
                     before: Callable[[Any], None] | None = None, shape: tuple[int, ...] = (R, D)) -> None:
    """A parameter of ``shape`` (R, ...) with hyperparameters of shape (R, 1, ...) equals R runs
    on its slices alone. ``per_run``: name -> R values (``betas``: a tuple of R-lists)."""
    def kw_for(r: int | None) -> dict[str, Any]:
        kw = dict(fixed)
        for name, vals in per_run.items():
            if isinstance(vals, tuple):
                kw[name] = tuple(column(v, len(shape)) if r is None else v[r] for v in vals)
            else:
                kw[name] = column(vals, len(shape)) if r is None else vals[r]
        return kw

    p0 = start(*shape)[:1]
    batched = trajectory(lambda ps: cls(ps, **kw_for(None)), p0, before=before)
    for r in range(R):
        alone = trajectory(lambda ps, r=r: cls(ps, **kw_for(r)), [p0[0][r]], before=before)
        assert_same([[s[0][r]] for s in batched], alone, tol, what=f"run {r} of {cls.__name__}")


def state_dict_round_trip(make: Callable[[list[torch.Tensor]], Any], split: int = 12,
                          before: Callable[[Any], None] | None = None) -> None:
    """Steps 1..split, save, load into a fresh optimizer on copied parameters, continue: the
    same iterates as an uninterrupted run (and the loaded state is a copy, not shared)."""
    p0 = start()
    whole = trajectory(make, p0, before=before)
    ps = [p.clone().requires_grad_() for p in p0]
    opt = make(ps)
    for k in range(split):
        if before:
            before(opt)
        for p in ps:
            p.grad = grad_field(p.detach(), k)
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    qs = [p.detach().clone().requires_grad_() for p in ps]
    fresh = make(qs)
    fresh.load_state_dict(saved)
    rest = []
    for k in range(split, STEPS):
        if before:
            before(fresh)
        for q in qs:
            q.grad = grad_field(q.detach(), k)
        fresh.step()
        rest.append([q.detach().clone() for q in qs])
    assert_same(whole[split:], rest, what="after load_state_dict:")
