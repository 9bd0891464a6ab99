"""Schedule-Free SGD, AdamW and RAdam with ``train()``/``eval()`` (Defazio et al. 2024)."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from . import _lists as L
from ._base import Optimizer
from ._ops import is_nonzero
from .hparams import Fixed, Flag, Items, Range, SameKind
from .registry import Tune, register_optimizer

__all__ = ["SGDScheduleFree", "AdamWScheduleFree", "RAdamScheduleFree"]

NOT_IN_TRAIN_MODE = ("Optimizer was not in train mode when step is called. Please insert .train() and .eval() calls "
                     "on the optimizer. See documentation for details.")


def _fit(v: Any, p: Tensor) -> Any:
    """A step-wide number for ``p``: a tensor in p's (real) dtype with p's number of dimensions
    (the real view of a complex parameter has one more); a Python number as it is."""
    if not isinstance(v, Tensor):
        return v
    if v.dim() and v.dim() < p.dim():
        v = v.reshape(*v.shape, *([1] * (p.dim() - v.dim())))
    return v.to(p.real.dtype)


def _maximum(a: Any, b: Any) -> Any:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return torch.maximum(torch.as_tensor(a), torch.as_tensor(b))
    return max(a, b)


def _ratio(weight: Any, total: Any) -> Any:
    """weight/total, 0 where total is 0 (no step has had a positive lr yet)."""
    if isinstance(total, Tensor):
        return torch.where(total > 0, weight / torch.where(total > 0, total, 1.0), 0.0)
    return weight / total if total != 0 else 0.0


class _ScheduleFree(Optimizer):
    r"""The schedule-free averaging the three methods share.

    Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, "The Road Less Scheduled",
    NeurIPS 2024, Algorithm 1. With the base optimizer's direction d_t at the point y_t (the gradient for SGD, the
    Adam-normalised gradient for AdamW and RAdam) plus weight decay at y,
    ``d_t = u(g_t) + λy_t``, β the momentum and ``γ_t`` this step's lr:

    .. math::
        z_{t+1} = z_t - γ_t d_t,\qquad
        x_{t+1} = (1-c_{t+1})\,x_t + c_{t+1} z_{t+1},\qquad
        y_{t+1} = (1-β)\,z_{t+1} + β\,x_{t+1}

        c_{t+1} = \frac{w_{t+1}}{\sum_{i \le t+1} w_i},\qquad
        w_t = t^r\,(\max_{i\le t} γ_i)^{p}

    (p = ``weight_lr_power``). The parameter holds y while training and x, the average
    to evaluate and save, after ``eval()``: ``train()`` and ``eval()`` move it between
    the two (``y = x + (1−β)(z − x)``), and ``step()`` refuses to run in eval mode. The
    optimizer starts in eval mode: call ``train()`` before the first step, as the
    reference requires. As in the reference, x is not stored: the step updates y in
    place, ``y ← y + c(z − y) + γ(β(1 − c) − 1)·d``, then ``z ← z − γd``.

    Group keys, as the reference's: ``k`` (steps taken), ``train_mode``, ``weight_sum``,
    ``lr_max``, ``scheduled_lr`` (this step's γ, for logging). A group none of whose
    parameters has a gradient does not advance its ``k`` (the reference advances it).
    No learning-rate schedule (``lr_decay``) and no other weight decay
    (``decoupled_weight_decay``): the method is its own schedule.
    """

    hparams = {"r": Range(0.0), "weight_lr_power": Range(0.0), "warmup_steps": Range(0.0),
               "lr_decay": Fixed(0.0, "a schedule-free method replaces the schedule"),
               "decoupled_weight_decay": Fixed(False, "a schedule-free method applies its weight decay at y")}
    _group_state = dict(k=0, train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0)
    _step_keys = frozenset(_group_state)

    def __init__(self, params: Any, defaults: dict[str, Any], **options: Any) -> None:
        super().__init__(params, {**defaults, **self._group_state}, **options)

    @staticmethod
    def _momentum(group: dict[str, Any]) -> Any:
        """β of the interpolation y = (1−β)z + βx: SGD's momentum, the Adams' β₁."""
        return group["betas"][0] if "betas" in group else group["momentum"]

    # -- to implement ------------------------------------------------------------------

    def _this_lr(self, group: dict[str, Any], k: int) -> Any:
        """γ of step k + 1 (warmup or rectification times lr)."""
        raise NotImplementedError

    def _directions(self, gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                    k: int) -> list[Tensor]:
        """u(g) of each parameter: the base optimizer's step direction, new tensors or ``gs``
        itself (SGD's u(g) = g; the step never writes into it)."""
        raise NotImplementedError

    # -- train / eval --------------------------------------------------------------------
    @torch.no_grad()
    def eval(self) -> None:
        """Put x (the average, what to evaluate and save) into the parameters."""
        self._move(lambda beta: 1 - 1 / beta, to_train=False)

    @torch.no_grad()
    def train(self) -> None:
        """Put y (where gradients are taken) into the parameters."""
        self._move(lambda beta: 1 - beta, to_train=True)

    def _move(self, weight: Callable[[Any], Any], to_train: bool) -> None:
        for group in self.param_groups:
            if group["train_mode"] == to_train:
                continue
            w = weight(self._momentum(group))
            for p in group["params"]:
                z = self.state[p].get("z")
                if z is not None:
                    wp = _fit(w, p)
                    if isinstance(wp, Tensor) and p.is_complex():
                        wp = wp.to(p.dtype)  # a real weight, as a complex number
                    p.lerp_(z.to(p.device), wp)
            group["train_mode"] = to_train

    # -- the step ------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError(NOT_IN_TRAIN_MODE)
        return super().step(closure)

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return False  # the group's k counts steps, as in the reference

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        return grads  # applied at y after u(g), in _update

    def _group_step(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                    blockers: list[str]) -> None:
        k = group["k"]
        lr = group["scheduled_lr"] = self._this_lr(group, k)
        lr_max = group["lr_max"] = _maximum(lr, group["lr_max"])
        weight = ((k + 1) ** group["r"]) * (lr_max ** group["weight_lr_power"])
        total = group["weight_sum"] = group["weight_sum"] + weight
        self._now = (k, lr, _ratio(weight, total))
        super()._group_step(group, params, grads, blockers)
        group["k"] = k + 1

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["z"] = torch.clone(p, memory_format=torch.preserve_format).detach()
        if "betas" in group:  # the Adams' second moment
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        k, lr, ckp1 = self._now
        if isinstance(lr, Tensor) or isinstance(ckp1, Tensor):  # per-run values, shaped for each parameter
            lr, ckp1 = [_fit(lr, p) for p in ps], [_fit(ckp1, p) for p in ps]
        beta = self._momentum(group)
        ds = self._directions(gs, states, group, k)
        wd = group["weight_decay"]
        if is_nonzero(wd):  # d + λy: into d, or new tensors when d is the gradient itself
            ds = L.add(ds, ps, wd) if ds is gs else L.add_(ds, ps, wd)
        zs = [state["z"] for state in states]
        L.lerp_(ps, zs, ckp1)
        if isinstance(lr, list):
            L.add_(ps, ds, [a * (beta * (1 - c) - 1) for a, c in zip(lr, ckp1)])
        else:
            L.add_(ps, ds, lr * (beta * (1 - ckp1) - 1))
        L.add_(zs, ds, L.neg(lr))


def _scheme(cls: type) -> type:
    """Append the shared scheme (the base class's docstring after its first line) to ``cls``'s docstring."""
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n    " + (_ScheduleFree.__doc__ or "").split("\n", 1)[1].lstrip()
    return cls


def _warmup(group: dict[str, Any], k: int) -> Any:
    """lr·(k+1)/warmup_steps during the warmup, then lr."""
    return group["lr"] * ((k + 1) / group["warmup_steps"] if k < group["warmup_steps"] else 1.0)


_BETAS = Items((Range(0.0, 1.0, lo_open=True, hi_open=True, torch="Invalid beta parameter at index 0"),
                Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 1")))
_BETAS_RULE = SameKind("betas", torch="betas must be either both floats or both Tensors")


def _normalised(gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any], k: int) -> list[Tensor]:
    """Adam's g/(√(v/(1−β₂^{k+1})) + ε), v updated first (shared by AdamW and RAdam)."""
    beta2 = group["betas"][1]
    vs = [state["exp_avg_sq"] for state in states]
    L.addcmul_(L.mul_(vs, beta2), gs, gs, 1 - beta2)
    return L.quotient_into_(gs, L.add_scalar_(L.sqrt_(L.div(vs, 1 - beta2 ** (k + 1))), group["eps"]))


@register_optimizer(tune={"momentum": Tune(0.5, 0.98)},
                    description="Schedule-Free SGD (Defazio et al. 2024): momentum through averaging, no lr schedule "
                                "or training length needed, call train()/eval()")
@_scheme
class SGDScheduleFree(_ScheduleFree):
    r"""Schedule-Free SGD: Defazio et al., "The Road Less Scheduled", NeurIPS 2024; u(g) = g.

    The averaging, ``train()``/``eval()`` and the group keys are those of the shared
    scheme (below). Constructor, defaults and numbers are those of the authors'
    ``schedulefree.SGDScheduleFree`` 1.4.1 (checked step for step): lr 1.0, momentum
    0.9 (in (0, 1)), ``warmup_steps`` (γ_t = lr·t/warmup during the warmup), ``r``,
    ``weight_lr_power`` 2, weight decay λ at y. ``foreach`` is accepted.
    """

    hparams = {"momentum": Range(0.0, 1.0, lo_open=True, hi_open=True,
                                 torch="Momentum must be between 0 and 1 exclusive")}

    def __init__(self, params: Any, lr: Any = 1.0, momentum: Any = 0.9, weight_decay: Any = 0.0,
                 warmup_steps: int = 0, r: Any = 0.0, weight_lr_power: Any = 2.0, foreach: bool | None = None,
                 **options: Any) -> None:
        defaults = dict(lr=lr, momentum=momentum, r=r, warmup_steps=warmup_steps, weight_lr_power=weight_lr_power,
                        weight_decay=weight_decay)
        super().__init__(params, defaults, foreach=foreach, **options)

    # three passes and no temporary (without weight decay): calls of 1M elements, where Python
    # per call of 128k cost more than the cache saved (docs/optimizers.md, issue 10's table)
    _chunk_elements = 1 << 20

    def _this_lr(self, group: dict[str, Any], k: int) -> Any:
        return _warmup(group, k)

    def _directions(self, gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                    k: int) -> list[Tensor]:
        return gs


@register_optimizer(tune={"beta1": Tune(0.5, 0.98)},
                    description="Schedule-Free AdamW (Defazio et al. 2024): AdamW without an lr schedule or a "
                                "training length, call train()/eval()")
@_scheme
class AdamWScheduleFree(_ScheduleFree):
    r"""Schedule-Free AdamW: Defazio et al., "The Road Less Scheduled", NeurIPS 2024;
    u(g) = g/(√v̂ + ε), ``v ← β₂v + (1−β₂)g²``, ``v̂ = v/(1−β₂ᵗ)``, β = β₁.

    Constructor, defaults and numbers are those of the authors'
    ``schedulefree.AdamWScheduleFree`` 1.4.1 (checked step for step): lr 0.0025,
    β (0.9, 0.999) (β₁ in (0, 1): ``eval()`` divides by it), ε 1e−8, ``warmup_steps``,
    ``r``, ``weight_lr_power`` 2, weight decay λ at y after the normalisation (so
    decoupled, as AdamW's). ``foreach`` is accepted.
    """

    hparams = {"betas": _BETAS, "eps": Range(0.0, torch="Invalid epsilon value")}
    hparam_rules = (_BETAS_RULE,)

    def __init__(self, params: Any, lr: Any = 0.0025, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-8,
                 weight_decay: Any = 0.0, warmup_steps: int = 0, r: Any = 0.0, weight_lr_power: Any = 2.0,
                 foreach: bool | None = None, **options: Any) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, r=r, warmup_steps=warmup_steps,
                        weight_lr_power=weight_lr_power, weight_decay=weight_decay)
        super().__init__(params, defaults, foreach=foreach, **options)

    def _this_lr(self, group: dict[str, Any], k: int) -> Any:
        return _warmup(group, k)

    def _directions(self, gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                    k: int) -> list[Tensor]:
        return _normalised(gs, states, group, k)


def _rho(beta2: Any, step: int) -> tuple[Any, Any]:
    """RAdam's (ρ_t, ρ_∞) at ``step``."""
    beta2_t = beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * step * beta2_t / (1 - beta2_t), rho_inf


@register_optimizer(tune={"beta1": Tune(0.5, 0.98)},
                    description="Schedule-Free RAdam: Schedule-Free AdamW with RAdam's rectification in place of a "
                                "warmup, call train()/eval()")
@_scheme
class RAdamScheduleFree(_ScheduleFree):
    r"""Schedule-Free RAdam: the schedule-free scheme of Defazio et al. (NeurIPS 2024) on
    RAdam (Liu et al., ICLR 2020), as the authors' ``schedulefree`` package writes it.

    With ``ρ_t = ρ_∞ − 2tβ₂ᵗ/(1−β₂ᵗ)``: while ``ρ_t > 4``, γ_t = lr·r_t with RAdam's
    ``r_t = √((ρ_t−4)(ρ_t−2)ρ_∞/((ρ_∞−4)(ρ_∞−2)ρ_t))`` and u(g) = g/(√v̂ + ε) (AdamW's);
    before that, with ``silent_sgd_phase=True`` (the default) γ_t = 0, so nothing moves
    but v, else γ_t = lr and u(g) = g (SGD steps). No warmup is needed or taken.

    Constructor, defaults and numbers are those of ``schedulefree.RAdamScheduleFree``
    1.4.1 (checked step for step): lr 0.0025, β (0.9, 0.999), ε 1e−8, ``r``,
    ``weight_lr_power`` 2, ``silent_sgd_phase`` True. ``foreach`` is accepted.
    """

    hparams = {"betas": _BETAS, "eps": Range(0.0, torch="Invalid epsilon value"), "silent_sgd_phase": Flag()}
    hparam_rules = (_BETAS_RULE,)

    def __init__(self, params: Any, lr: Any = 0.0025, betas: tuple[Any, Any] = (0.9, 0.999), eps: Any = 1e-8,
                 weight_decay: Any = 0.0, r: Any = 0.0, weight_lr_power: Any = 2.0, foreach: bool | None = None,
                 silent_sgd_phase: bool = True, **options: Any) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, r=r, weight_lr_power=weight_lr_power,
                        weight_decay=weight_decay, silent_sgd_phase=silent_sgd_phase)
        super().__init__(params, defaults, foreach=foreach, **options)

    def _this_lr(self, group: dict[str, Any], k: int) -> Any:
        rho, rho_inf = _rho(group["betas"][1], k + 1)
        off = float(not group["silent_sgd_phase"])
        if isinstance(rho, Tensor):
            safe = torch.where(rho > 4, rho, 5.0)
            rect = ((safe - 4) * (safe - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe)) ** 0.5
            return group["lr"] * torch.where(rho > 4, rect, off)
        rect = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5 if rho > 4 else off
        return group["lr"] * rect

    def _directions(self, gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                    k: int) -> list[Tensor]:
        rho, _ = _rho(group["betas"][1], k + 1)
        normalised = _normalised(gs, states, group, k)  # v is updated in every step
        if isinstance(rho, Tensor):
            return [torch.where(rho > 4, n, g) for n, g in zip(normalised, gs)]
        return normalised if rho > 4 else gs
