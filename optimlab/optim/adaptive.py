"""Per-coordinate adaptive methods: Adagrad, RMSprop, Adadelta."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import _lists as L
from ._base import Optimizer
from ._fused import group_by_device_dtype, kernel_lr
from ._ops import add_, is_nonzero, scalar_dtype
from .hparams import Choice, Flag, Range
from .registry import Tune, register_optimizer
from .sgd import MOMENTUM_FORMS

__all__ = ["Adagrad", "RMSprop", "Adadelta"]


def _root(vs: list[Tensor], eps: Any, eps_in_sqrt: bool) -> list[Tensor]:
    """√(v + ε) when ``eps_in_sqrt`` else √v + ε, as new tensors."""
    if eps_in_sqrt:
        return L.sqrt_(L.add_scalar(vs, eps))
    return L.sqrt_eps(vs, eps)


@register_optimizer(tune={"initial_accumulator_value": Tune(0.0, 0.1)})
class Adagrad(Optimizer):
    r"""Adagrad: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online
    Learning and Stochastic Optimization", JMLR 2011.

    .. math::
        G_t = G_{t-1} + g_t ⊙ g_t,\qquad
        θ_t = θ_{t-1} - \frac{\mathrm{lr}_t}{\sqrt{G_t} + ε} ⊙ g_t,\qquad
        \mathrm{lr}_t = \frac{\mathrm{lr}}{1 + (t-1)\,\mathrm{lr\_decay}}

    with ``G_0 = initial_accumulator_value``. Defaults are torch's (lr 0.01, ε 1e−10).

    Variants of the lectures:
      * ``eps_in_sqrt=True``: √(G + ε) (lectures 000, 001; Keras);
      * the default ε outside the root is lecture 004's form; ``eps=0`` is 003's;
      * lecture 002's σᵗ = √(Σg²/(t+1)) with η/√(t+1) is the same update (the
        √(t+1) cancels);
      * lecture 000's defaults: ``lr=0.01, eps=1e-8, eps_in_sqrt=True``.
    """

    _has_fused = True
    _fused_incompatible = {"eps_in_sqrt": False, "decoupled_weight_decay": False}
    hparams = {"eps": Range(0.0, torch="Invalid epsilon value"),
               "initial_accumulator_value": Range(0.0, torch="Invalid initial_accumulator_value value"),
               "eps_in_sqrt": Flag()}
    _supports_sparse = True

    def __init__(self, params: Any, lr: Any = 1e-2, lr_decay: Any = 0.0, weight_decay: Any = 0.0,
                 initial_accumulator_value: Any = 0.0, eps: Any = 1e-10, foreach: bool | None = None, *,
                 eps_in_sqrt: bool = False, **options: Any) -> None:
        defaults = dict(lr=lr, weight_decay=weight_decay, initial_accumulator_value=initial_accumulator_value,
                        eps=eps, eps_in_sqrt=eps_in_sqrt)
        super().__init__(params, defaults, lr_decay=lr_decay, foreach=foreach, **options)


    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=torch.float32 if group["fused"] else scalar_dtype())  # torch's dtypes
        init = group["initial_accumulator_value"]
        if p.is_complex():  # both parts of a complex coordinate start there, as torch does
            init = torch.complex(init, init) if isinstance(init, Tensor) else complex(init, init)
        if isinstance(init, Tensor):  # one value per run (the runs dimension)
            state["sum"] = torch.zeros_like(p, memory_format=torch.preserve_format).add_(init)
        else:
            state["sum"] = torch.full_like(p, init, memory_format=torch.preserve_format)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        if any(g.is_sparse for g in gs):
            dense = [i for i, g in enumerate(gs) if not g.is_sparse]
            for p, g, state, lr in zip(ps, gs, states, lrs):
                if g.is_sparse:
                    self._sparse_update(p, g, state["sum"], group, lr)
            ps, gs, states, lrs = ([seq[i] for i in dense] for seq in (ps, gs, states, lrs))
            if not ps:
                return
        sums = [state["sum"] for state in states]
        L.addcmul_(sums, gs, gs, 1.0)
        L.addcdiv_(ps, gs, _root(sums, group["eps"], group["eps_in_sqrt"]), L.neg(lrs))

    @staticmethod
    def _sparse_update(p: Tensor, g: Tensor, s: Tensor, group: dict[str, Any], lr: Any) -> None:
        """The same update on the coordinates a sparse gradient holds (torch supports it)."""
        if is_nonzero(group["weight_decay"]) and not group["decoupled_weight_decay"]:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        g = g.coalesce()
        s.add_(g * g)
        root, = _root([s.sparse_mask(g)._values()], group["eps"], group["eps_in_sqrt"])
        # the indices are those of the gradient, already coalesced by torch
        step = torch.sparse_coo_tensor(g._indices(), g._values() / root, g.shape, is_coalesced=True,
                                       check_invariants=False)
        add_(p, step, -lr)

    def _fused_step(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                    states: list[dict[str, Any]]) -> None:
        sums = [s["sum"] for s in states]
        steps = [s["step"] for s in states]
        for dp, dg, ds, dt in group_by_device_dtype(params, grads, sums, steps):
            torch._foreach_add_(dt, 1)
            torch._fused_adagrad_(dp, dg, ds, dt, lr=kernel_lr(group["lr"], dp[0].device), lr_decay=group["lr_decay"],
                                  weight_decay=group["weight_decay"], eps=group["eps"],
                                  maximize=group["maximize"], grad_scale=None, found_inf=None)


@register_optimizer(tune={"alpha": Tune(0.9, 0.999)})
class RMSprop(Optimizer):
    r"""RMSprop: Hinton, Srivastava & Swersky, "Neural Networks for Machine Learning",
    lecture 6e, 2012; centered form: Graves, "Generating Sequences With Recurrent
    Neural Networks", 2013.

    .. math::
        E_t = α E_{t-1} + (1-α) g_t^2,\qquad
        \bar g_t = α \bar g_{t-1} + (1-α) g_t \;(\text{centered}),\qquad
        d_t = \sqrt{E_t - \bar g_t^2} + ε

    without momentum ``θ_t = θ_{t-1} − lr·g_t/d_t``; with momentum μ,
    ``momentum_form="torch"``: ``b_t = μb_{t-1} + g_t/d_t``, ``θ_t = θ_{t-1} − lr·b_t``;
    ``momentum_form="velocity"`` (Keras: lr inside): ``b_t = μb_{t-1} + lr·g_t/d_t``,
    ``θ_t = θ_{t-1} − b_t``.

    A momentum that is 0 at the first step and raised later (OneCycleLR, CyclicLR)
    takes effect then, its buffer starting at 0.

    ``alpha`` is the decay the lectures call γ or ρ. Defaults are torch's (lr 0.01,
    α 0.99, ε 1e−8). ``eps_in_sqrt=True`` puts ε under the root (lecture 003, Keras);
    lecture 000/001's settings are ``lr=0.001, alpha=0.9``.
    """

    hparams = {"alpha": Range(0.0, torch="Invalid alpha value"), "eps": Range(0.0, torch="Invalid epsilon value"),
               "momentum": Range(0.0, torch="Invalid momentum value"), "centered": Flag(), "eps_in_sqrt": Flag(),
               "momentum_form": Choice(MOMENTUM_FORMS)}

    def __init__(self, params: Any, lr: Any = 1e-2, alpha: Any = 0.99, eps: Any = 1e-8, weight_decay: Any = 0.0,
                 momentum: Any = 0.0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False, *,
                 eps_in_sqrt: bool = False, momentum_form: str = "torch", **options: Any) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, eps_in_sqrt=eps_in_sqrt, momentum_form=momentum_form)
        super().__init__(params, defaults, capturable=capturable, foreach=foreach, maximize=maximize,
                         differentiable=differentiable, **options)


    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if is_nonzero(group["momentum"]):
            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["centered"]:
            state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
        sqs = [state["square_avg"] for state in states]
        L.addcmul_(L.mul_(sqs, alpha), gs, gs, 1 - alpha)
        if group["centered"]:
            gas = [state["grad_avg"] for state in states]
            L.lerp_(gas, gs, 1 - alpha)
            var = L.addcmul(sqs, gas, gas, -1)
            denom = L.sqrt_(L.add_scalar_(var, eps)) if group["eps_in_sqrt"] else L.sqrt_eps(var, eps, fresh=True)
        else:
            denom = _root(sqs, eps, group["eps_in_sqrt"])
        if not is_nonzero(momentum):
            L.addcdiv_(ps, gs, denom, L.neg(lrs))
            return
        for p, state in zip(ps, states):
            # created here too when momentum was 0 at the first step and a scheduler
            # (OneCycleLR, CyclicLR) raised it later; torch fails on a missing buffer then
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        bufs = [state["momentum_buffer"] for state in states]
        if group["momentum_form"] == "torch":
            L.addcdiv_(L.mul_(bufs, momentum), gs, denom)
            L.add_(ps, bufs, L.neg(lrs))
        else:
            L.addcdiv_(L.mul_(bufs, momentum), gs, denom, lrs)
            L.add_(ps, bufs, -1.0)


@register_optimizer(tune={"rho": Tune(0.85, 0.99)})
class Adadelta(Optimizer):
    r"""Adadelta: Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012.

    .. math::
        E[g^2]_t = ρE[g^2]_{t-1} + (1-ρ)g_t^2,\qquad
        Δ_t = \frac{\sqrt{E[Δ^2]_{t-1} + ε}}{\sqrt{E[g^2]_t + ε}}\, g_t,\qquad
        E[Δ^2]_t = ρE[Δ^2]_{t-1} + (1-ρ)Δ_t^2,\qquad θ_t = θ_{t-1} - \mathrm{lr}\,Δ_t

    The paper's and lecture 000's Adadelta has no learning rate: that is ``lr=1.0``,
    torch's default. Keras uses ``lr=0.001, rho=0.95, eps=1e-7``.
    """

    hparams = {"rho": Range(0.0, 1.0, torch="Invalid rho value"), "eps": Range(0.0, torch="Invalid epsilon value")}

    def __init__(self, params: Any, lr: Any = 1.0, rho: Any = 0.9, eps: Any = 1e-6, weight_decay: Any = 0.0,
                 foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False, **options: Any) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults, foreach=foreach, capturable=capturable, maximize=maximize,
                         differentiable=differentiable, **options)


    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["acc_delta"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> Any:
        rho, eps = group["rho"], group["eps"]
        sqs, accs = [state["square_avg"] for state in states], [state["acc_delta"] for state in states]
        L.addcmul_(L.mul_(sqs, rho), gs, gs, 1 - rho)
        std = L.sqrt_(L.add_scalar(sqs, eps))
        if torch.is_grad_enabled():  # differentiable=True: the roots' backward needs the roots
            deltas = [r / d * g for r, d, g in zip(L.sqrt_(L.add_scalar(accs, eps)), std, gs)]
        else:
            deltas = L.mul_by_(L.div_(L.sqrt_(L.add_scalar(accs, eps)), std), gs)
        L.addcmul_(L.mul_(accs, rho), deltas, deltas, 1 - rho)
        L.add_(ps, deltas, L.neg(lrs))
        return std, deltas  # the loop holds them until the next run has its own (Optimizer._update)
