"""Sophia: clipped momentum over a diagonal Hessian EMA the user refreshes every k steps (Liu et al. 2023)."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from . import _lists as L
from ._base import Optimizer
from ._guard import all_finite
from ._ops import addcmul_, scalar_dtype
from .hparams import Choice, Flag, Items, Range, SameKind, check_range
from .registry import Tune, register_optimizer

__all__ = ["Sophia"]

ESTIMATORS = ("gnb", "hutchinson")
DEFAULT_BS = {"gnb": 5120, "hutchinson": 1}  # the authors' step(bs=5120); the paper's Sophia-H has no batch factor


def _check_real(p: Tensor) -> None:
    if p.is_complex():
        raise RuntimeError("Sophia does not support complex parameters")


@register_optimizer(tune={"rho": Tune(0.01, 0.1)},
                    description="Sophia-G/H (Liu et al. 2023): momentum over a diagonal Hessian EMA, clipped per "
                                "coordinate, refreshed every hess_interval steps (language-model pre-training)")
class Sophia(Optimizer):
    r"""Sophia: Liu, Li, Hall, Liang & Ma, "Sophia: A Scalable Stochastic Second-order
    Optimizer for Language Model Pre-training", ICLR 2024 (Algorithm 3).

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1) g_t,\qquad
        h_t = β_2 h_{t-k} + (1-β_2)\,\hat h_t \ \text{(only when } t \bmod k = 1\text{)},

        θ_t = θ_{t-1}(1 - \mathrm{lr}\,λ) - \mathrm{lr}\,\operatorname{sign}(m_t)\,
              \min\!\Big(1, \frac{|m_t|}{ρ\,B\max(h_t, 0) + ε}\Big)

    The refresh of h is :meth:`update_hessian`, which the training loop calls every k
    steps (the paper's k = 10), after a backward pass that holds the estimator's gradient,
    as in the authors' code; :meth:`step` only moves θ. ``estimator`` chooses ĥ:

    - ``"gnb"`` (Sophia-G, Gauss–Newton–Bartlett, Algorithm 2): the gradient ĝ of the loss
      on labels *sampled from the model's own prediction*, ``ĥ = ĝ ⊙ ĝ``; the batch size B
      of that estimate is the factor ``bs`` of ``step(bs=5120)``, exactly the authors' code.
    - ``"hutchinson"`` (Sophia-H, Algorithm 1): ``ĥ = u ⊙ (∇²L u)`` with ``u ~ N(0, I)``,
      from gradients of ``loss.backward(create_graph=True)`` (``update_hessian(generator=...)``
      makes u reproducible); ``step`` then takes B = 1 unless given.

    With zero curvature (the first steps, before any refresh) each coordinate moves by
    ±lr, like signSGD; so does a coordinate whose Hutchinson estimate is negative (the
    paper's ``max(γh, ε)``; a Gauss–Newton–Bartlett h is never negative, and there the
    formula is the authors' ``ρBh + ε``). Constructor, defaults and numbers are those of the authors' SophiaG
    (``Liuhong99/Sophia``, installed as its packaging ``sophia-opt`` 0.2.2; checked step
    for step for G): lr 1e−4, β (0.965, 0.99), ρ 0.04, λ 0.1 always decoupled as there,
    ε 1e−15 (a constant there). The authors publish no Sophia-H code; it is checked against a
    transcription of Algorithm 1 with the exact Hessian in the tests. With ``maximize`` the
    Hutchinson estimate is that of −L (the Gauss–Newton–Bartlett square has no sign).
    Element-wise, so hyperparameters of shape (R, 1, ...) are R independent runs; with
    ``runs=True`` (what the runner passes) the leading dimension of each parameter counts runs
    and every run gets the same Hutchinson draws u, so a batched run equals the runs alone.
    ``hess_interval`` (k, default 10 as the authors' training loop) is read by optimlab's loops,
    which refresh h as that loop does (:func:`optimlab.engine.hessian_refresh`): ``Trainer.fit``
    and training sweeps with labels sampled from the model (G) or the batch loss' Hessian (H), the
    function lab with the Gauss–Newton–Bartlett estimate of a sum of squares (G) or the
    function's Hessian (H); a compiled run (``compile=``) refuses it.
    A non-finite estimate follows ``nonfinite`` (raise before h changes, skip the refresh, or ignore).
    """

    runs_layout = "leading"  # runs=True: the Hutchinson draws are per run (optimlab.runner.runs_layout)
    hparams = {"betas": Items((Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 0"),
                               Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 1"))),
               "rho": Range(0.0, torch="Invalid rho parameter at index 1"), "eps": Range(0.0),
               "estimator": Choice(ESTIMATORS), "runs": Flag()}
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),)

    def __init__(self, params: Any, lr: Any = 1e-4, betas: tuple[Any, Any] = (0.965, 0.99), rho: Any = 0.04,
                 weight_decay: Any = 1e-1, *, estimator: str = "gnb", eps: Any = 1e-15,
                 decoupled_weight_decay: bool = True, hess_interval: int = 10, runs: bool = False,
                 **options: Any) -> None:
        if isinstance(hess_interval, bool) or not isinstance(hess_interval, (int, np.integer)) or hess_interval < 1:
            raise ValueError(f"hess_interval must be an integer >= 1, got {hess_interval!r}")
        defaults = dict(lr=lr, betas=tuple(betas), rho=rho, weight_decay=weight_decay, estimator=estimator, eps=eps,
                        runs=runs)
        self._bs: Any = None
        super().__init__(params, defaults, decoupled_weight_decay=decoupled_weight_decay, **options)
        self.hess_interval = int(hess_interval)  # k: read by the lab's loops (optimlab.engine.hessian_refresh)

    @property
    def hessian_estimator(self) -> str:
        """``"gnb"`` or ``"hutchinson"``: the estimator of every param group (the loops' protocol)."""
        kinds = {g["estimator"] for g in self.param_groups}
        if len(kinds) > 1:
            raise ValueError("estimator must be the same in every param group, got " + " and ".join(sorted(kinds)))
        return kinds.pop()

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        _check_real(p)
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["hessian"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def step(self, closure: Callable[[], Any] | None = None, bs: Any = None) -> Any:
        """One update of θ (h unchanged). ``bs``: the batch size B of the Gauss–Newton–Bartlett
        estimate (default 5120, the authors'; 1 for the Hutchinson estimator)."""
        if bs is not None:
            check_range("bs", bs, 0.0, lo_open=True)
        self._bs = bs
        return super().step(closure)

    @torch.no_grad()
    def update_hessian(self, generator: torch.Generator | None = None) -> None:
        """``h ← β₂h + (1−β₂)ĥ`` for every parameter with a gradient (the estimator's, see the
        class docstring); call it every k steps. ``generator``: for the Hutchinson draws of u."""
        work = [(p, g) for g in self.param_groups for p in g["params"] if p.grad is not None]
        for p, _ in work:
            _check_real(p)
        estimates = self._estimates([p for p, _ in work], generator)  # may refuse: nothing has changed yet
        if not self._estimates_ok(work, estimates):
            return
        for (p, group), (a, b) in zip(work, estimates):
            if not self.state[p]:
                self._init_state(p, self.state[p], group)
            beta2 = group["betas"][1]
            addcmul_(self.state[p]["hessian"].mul_(beta2), a, b, 1 - beta2)

    def _estimates_ok(self, work: list[tuple[Tensor, dict[str, Any]]], estimates: list[tuple[Tensor, Tensor]]) -> bool:
        """The ``nonfinite`` policy for the estimates, before h changes: raise, or skip the refresh."""
        checked = [(p, g, a * b) for (p, g), (a, b) in zip(work, estimates) if g["nonfinite"] != "ignore"]
        if not checked or all_finite([h for _, _, h in checked]):
            return True
        p, group, _ = next(c for c in checked if not bool(torch.isfinite(c[2]).all()))
        msg = ("Sophia.update_hessian: non-finite Hessian estimate (NaN or inf) for a parameter of shape "
               f"{tuple(p.shape)}")
        if group["nonfinite"] == "raise":
            raise FloatingPointError(msg + "; h was not changed. Pass nonfinite='skip' to skip such refreshes or "
                                           "'ignore' to let it in")
        warnings.warn(msg + "; the refresh was skipped (nonfinite='skip')", RuntimeWarning, stacklevel=3)
        return False

    def _estimates(self, params: list[Tensor], generator: torch.Generator | None) -> list[tuple[Tensor, Tensor]]:
        """ĥ of each parameter as a pair (a, b), ĥ = a ⊙ b: (ĝ, ĝ) or (u, ∇²L u)."""
        groups = {id(p): g for g in self.param_groups for p in g["params"]}
        kinds = {groups[id(p)]["estimator"] for p in params}
        if len(kinds) > 1:
            raise ValueError("estimator must be the same in every param group, got " + " and ".join(sorted(kinds)))
        if kinds != {"hutchinson"}:
            return [(p.grad, p.grad) for p in params]
        grads = [p.grad for p in params]
        if not all(g.requires_grad for g in grads):
            raise RuntimeError("Sophia(estimator='hutchinson').update_hessian() needs gradients that autograd can "
                               "differentiate again: call loss.backward(create_graph=True) first")
        us = [self._draw(p, groups[id(p)]["runs"], generator) for p in params]
        with torch.enable_grad():
            hus = torch.autograd.grad(grads, params, grad_outputs=us, allow_unused=True)
        return [(-u if groups[id(p)]["maximize"] else u, torch.zeros_like(u) if hu is None else hu)
                for p, u, hu in zip(params, us, hus)]

    @staticmethod
    def _draw(p: Tensor, runs: bool, generator: torch.Generator | None) -> Tensor:
        """u ~ N(0, I) of p's shape; with ``runs``, one run's draw shared by the runs of the leading dimension."""
        shape = p.shape[1:] if runs and p.dim() > 0 else p.shape
        return torch.randn(shape, generator=generator, dtype=p.dtype, device=p.device).expand_as(p)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        beta1 = group["betas"][0]
        ms, hs = [s["exp_avg"] for s in states], [s["hessian"] for s in states]
        bs = DEFAULT_BS[group["estimator"]] if self._bs is None else self._bs
        L.add_(L.mul_(ms, beta1), gs, 1 - beta1)
        # max(h, 0): a Hutchinson h can be negative; a Gauss–Newton–Bartlett h averages squares, never is
        curvature = L.clamp_min(hs, 0.0) if group["estimator"] == "hutchinson" else hs
        denom = L.add_scalar_(L.mul(curvature, group["rho"] * bs), group["eps"])
        # sign(m)·min(1, |m|/denom) is clip(m/denom, −1, 1) exactly (denom > 0): the authors' README form
        L.add_(ps, L.clamp_(L.quotient_into_(ms, denom), -1.0, 1.0), L.neg(lrs))
